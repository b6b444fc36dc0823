"""Input the data layer refuses on every channel, checked end to end on one device served by NETCONF (ncclient
over SSH, and raw frames in-process) and RESTCONF (HTTPS): XML-illegal characters, duplicate leaves and JSON
members, over-long integers. Each refusal leaves the configuration as it was, and the device keeps serving
NETCONF <get-config> and RESTCONF XML afterwards. Also: 64-bit integers as JSON numbers (IOS XE clients)."""

import json

import pytest
from lxml import etree
from ncclient.operations import RPCError

from emulator.engine.timefmt import parse_yang_time
from emulator.frontends.netconf import NetconfService
from emulator.frontends.restconf import start_restconf
from emulator.runtime import DeviceOptions, open_device
from tests.integration.test_netconf_ncclient import connect
from tests.integration.test_restconf_api import JSON, XML, Client, errors_of
from tests.unit.test_netconf_session import Client as RawNetconf

pytestmark = pytest.mark.filterwarnings("ignore::urllib3.exceptions.InsecureRequestWarning")

NC = "urn:ietf:params:xml:ns:netconf:base:1.0"
CSL = "http://cisco.com/ns/yang/cisco-smart-license"
CTL = "urn:slpemu:control"
CONFIG = "/restconf/data/cisco-smart-license:licensing/config"
CUSTOM_ID = "/cisco-smart-license:licensing/config/custom-id"
INTERVAL = "/cisco-smart-license:licensing/config/usage/interval"
ILLEGAL = ["\u0000", "\u0001", "\u001f", "\ufffe", "\uffff", "\ud800", "\udfff"]
HUGE = "9" * 5000


@pytest.fixture
def device(tmp_path):
    dev = open_device(tmp_path / "state", DeviceOptions(users={"admin": "admin"}, frozen_clock=True))
    yield dev
    dev.store.close()


@pytest.fixture
def netconf(device, tmp_path):
    svc = NetconfService(device, "127.0.0.1", 0, tmp_path / "state").start()
    yield svc
    svc.stop()


@pytest.fixture
def rc(device, tmp_path):
    servers = start_restconf(device, host="127.0.0.1", port=0, state_dir=tmp_path / "state")
    client = Client(servers.https.url)
    resp = client.request("PATCH", CONFIG, body={"cisco-smart-license:config": {
        "custom-id": "lab-7", "usage": {"interval": 20}}})
    assert resp.status_code == 204, resp.text
    yield client
    client.s.close()
    servers.stop()


def lic_config(inner: str) -> str:
    return f'<config><licensing xmlns="{CSL}"><config>{inner}</config></licensing></config>'


def json_body(obj) -> str:
    """JSON text as a client sends it: non-ASCII characters (and lone surrogates) escaped as \\uXXXX."""
    return json.dumps(obj)


def clock_now(rc) -> str:
    return rc.get("/restconf/data/slpemu-control:clock/now").json()["slpemu-control:now"]


def assert_unchanged_and_serving(netconf, rc, custom_id="lab-7", interval=20):
    """The configuration is as the fixture set it, read through NETCONF <get-config> and RESTCONF XML."""
    with connect(netconf) as m:
        reply = etree.fromstring(m.get_config("running").data_xml.encode())
        assert reply.findtext(f".//{{{CSL}}}config/{{{CSL}}}custom-id") == custom_id
        assert reply.findtext(f".//{{{CSL}}}usage/{{{CSL}}}interval") == str(interval)
    resp = rc.get("/restconf/data/cisco-smart-license:licensing", accept=XML)
    assert resp.status_code == 200, resp.text
    root = etree.fromstring(resp.content)
    assert root.findtext(f"{{{CSL}}}config/{{{CSL}}}custom-id") == custom_id
    assert root.findtext(f"{{{CSL}}}config/{{{CSL}}}usage/{{{CSL}}}interval") == str(interval)
    assert rc.get("/restconf/data", accept=XML).status_code == 200


def rc_error(resp, status=400):
    assert resp.status_code == status, resp.text
    (err,) = errors_of(resp)
    return err


# ============================================================================================ characters

@pytest.mark.parametrize("char", ILLEGAL, ids=[f"U+{ord(c):04X}" for c in ILLEGAL])
def test_xml_illegal_characters_are_refused_on_every_channel(netconf, rc, char):
    value = f"lab{char}8"
    puts = [
        ("PUT", f"{CONFIG}/custom-id", {"cisco-smart-license:custom-id": value}),
        ("PATCH", CONFIG, {"cisco-smart-license:config": {"custom-id": value}}),
        ("PATCH", "/restconf/data", {"ietf-restconf:data": {"cisco-smart-license:licensing": {
            "config": {"custom-id": value}}}}),
    ]
    for method, path, body in puts:
        err = rc_error(rc.request(method, path, body=json_body(body)))
        assert err["error-tag"] == "invalid-value" and err["error-path"] == CUSTOM_ID, err
        assert f"U+{ord(char):04X}" in err["error-message"]
    err = rc_error(rc.request("POST", "/restconf/operations/slpemu-control:set-usage",
                              body=json_body({"slpemu-control:input": {"license": f"hseck9{char}", "count": 1}})))
    assert err["error-tag"] == "invalid-value" and err["error-path"].endswith("license")
    # XML cannot carry these characters at all: a character reference is malformed XML on both protocols
    ref = f"&#x{ord(char):X};"
    resp = rc.request("PUT", f"{CONFIG}/custom-id", body=f'<custom-id xmlns="{CSL}">lab{ref}8</custom-id>',
                      ctype=XML)
    assert rc_error(resp)["error-tag"] == "malformed-message"
    raw = RawNetconf(netconf.netconf)
    reply = raw.rpc(f"<edit-config><target><running/></target>{lic_config(f'<custom-id>lab{ref}8</custom-id>')}"
                    "</edit-config>")
    assert reply.findtext(f"{{{NC}}}rpc-error/{{{NC}}}error-tag") == "malformed-message"
    assert not raw.closed
    raw.ok("<get-config><source><running/></source></get-config>")
    assert_unchanged_and_serving(netconf, rc)


# ============================================================================================ duplicates

def test_duplicate_leaf_in_a_netconf_edit_is_a_bad_element(netconf, rc):
    now = clock_now(rc)
    with connect(netconf) as m:
        for inner, name in [("<custom-id>A</custom-id><custom-id>B</custom-id>", "custom-id"),
                            ("<usage><interval>30</interval><interval>40</interval></usage>", "interval"),
                            ("<usage><interval>30</interval></usage><usage><interval>40</interval></usage>",
                             "usage")]:
            with pytest.raises(RPCError) as info:
                m.edit_config(target="running", config=lic_config(inner))
            err = info.value
            assert err.tag == "bad-element", err.xml
            assert err.xml.findtext(f"{{{NC}}}error-info/{{{NC}}}bad-element") == name
            assert err.path.endswith(name)
        twice = (f'<config><licensing xmlns="{CSL}"><config><custom-id>A</custom-id></config></licensing>'
                 f'<licensing xmlns="{CSL}"><config><custom-id>B</custom-id></config></licensing></config>')
        with pytest.raises(RPCError) as info:
            m.edit_config(target="running", config=twice)
        assert info.value.tag == "bad-element" and info.value.path == "/cisco-smart-license:licensing"
        with pytest.raises(RPCError) as info:
            m.dispatch(etree.fromstring(f'<advance-clock xmlns="{CTL}"><seconds>1</seconds>'
                                        "<seconds>2</seconds></advance-clock>"))
        assert info.value.tag == "bad-element"
        m.get_config("running")                                    # the session goes on
    assert clock_now(rc) == now
    assert_unchanged_and_serving(netconf, rc)


def test_duplicate_json_members_are_refused(netconf, rc):
    now = clock_now(rc)
    for method, path, text, name in [
        ("PATCH", CONFIG, '{"cisco-smart-license:config": {"custom-id": "A", "custom-id": "B"}}', "custom-id"),
        ("PATCH", CONFIG, '{"cisco-smart-license:config": {"custom-id": "A", '
                          '"cisco-smart-license:custom-id": "B"}}', "custom-id"),
        ("PUT", f"{CONFIG}/usage", '{"cisco-smart-license:usage": {"interval": 30, "interval": 40}}', "interval"),
        ("PATCH", CONFIG, '{"cisco-smart-license:config": {"custom-id": "A"}, '
                          '"cisco-smart-license:config": {"custom-id": "B"}}', "cisco-smart-license:config"),
        ("POST", "/restconf/operations/slpemu-control:advance-clock",
         '{"slpemu-control:input": {"seconds": 1, "seconds": 2}}', "seconds"),
    ]:
        err = rc_error(rc.request(method, path, body=text, ctype=JSON))
        assert err["error-tag"] == "bad-element", err
        assert err["error-info"]["bad-element"] == name
    rc_ns = "urn:ietf:params:xml:ns:yang:ietf-restconf"
    twice = (f'<data xmlns="{rc_ns}"><licensing xmlns="{CSL}"><config><custom-id>A</custom-id></config></licensing>'
             f'<licensing xmlns="{CSL}"><config><custom-id>B</custom-id></config></licensing></data>')
    err = rc_error(rc.request("PATCH", "/restconf/data", body=twice, ctype=XML))
    assert err["error-tag"] == "bad-element" and err["error-info"]["bad-element"] == "licensing"
    assert clock_now(rc) == now
    assert_unchanged_and_serving(netconf, rc)


# ============================================================================================ big numbers

def test_over_long_integers_are_invalid_values(netconf, rc):
    now = clock_now(rc)
    for body, ctype in [
        ('{"cisco-smart-license:usage": {"interval": ' + HUGE + "}}", JSON),
        ('{"cisco-smart-license:usage": {"interval": -' + HUGE + "}}", JSON),
        ('{"cisco-smart-license:usage": {"interval": "' + HUGE + '"}}', JSON),
        (f'<usage xmlns="{CSL}"><interval>{HUGE}</interval></usage>', XML),
    ]:
        err = rc_error(rc.request("PUT", f"{CONFIG}/usage", body=body, ctype=ctype))
        assert err["error-tag"] == "invalid-value" and err["error-path"] == INTERVAL, err
        assert len(err["error-message"]) < 400
    err = rc_error(rc.request("POST", "/restconf/operations/slpemu-control:advance-clock",
                              body='{"slpemu-control:input": {"seconds": ' + HUGE + "}}", ctype=JSON))
    assert err["error-tag"] == "invalid-value" and err["error-path"].endswith("seconds")
    with connect(netconf) as m:
        with pytest.raises(RPCError) as info:
            m.edit_config(target="running", config=lic_config(f"<usage><interval>{HUGE}</interval></usage>"))
        assert info.value.tag == "invalid-value" and info.value.path.endswith("interval")
        with pytest.raises(RPCError) as info:
            m.dispatch(etree.fromstring(f'<advance-clock xmlns="{CTL}"><seconds>{HUGE}</seconds></advance-clock>'))
        assert info.value.tag == "invalid-value"
        m.get_config("running")
    assert clock_now(rc) == now
    assert_unchanged_and_serving(netconf, rc)


# ============================================================================================ 64-bit JSON

def test_64_bit_integers_accept_json_numbers_and_are_written_as_strings(rc):
    times = [parse_yang_time(clock_now(rc))]
    for seconds in (864000, "864000"):
        resp = rc.request("POST", "/restconf/operations/slpemu-control:advance-clock",
                          body=json_body({"slpemu-control:input": {"seconds": seconds}}))
        assert resp.status_code == 200, resp.text
        times.append(parse_yang_time(resp.json()["slpemu-control:output"]["now"]))
        offset = rc.get("/restconf/data/slpemu-control:clock").json()["slpemu-control:clock"]["offset-seconds"]
        assert isinstance(offset, str) and int(offset) == 0          # int64: an RFC 7951 string
    assert [b - a for a, b in zip(times, times[1:])] == [864000, 864000]


def test_errors_quoting_illegal_characters_are_still_serialisable(netconf, rc):
    """An unknown member named with U+0001: the error names it escaped, in XML as in JSON."""
    body = json_body({"cisco-smart-license:config": {"\u0001x": 1}})
    for accept in (JSON, XML):
        resp = rc.request("PATCH", CONFIG, body=body, accept=accept)
        assert resp.status_code == 400, resp.text
        if accept == XML:
            root = etree.fromstring(resp.content)
            ns = {"rc": "urn:ietf:params:xml:ns:yang:ietf-restconf"}
            assert root.findtext("rc:error/rc:error-tag", namespaces=ns) == "unknown-element"
            assert root.findtext("rc:error/rc:error-info/rc:bad-element", namespaces=ns) == "\\u0001x"
        else:
            assert errors_of(resp)[0]["error-info"]["bad-element"] == "\\u0001x"
    assert_unchanged_and_serving(netconf, rc)


def test_identities_are_written_with_their_prefix_declared(rc):
    resp = rc.get("/restconf/data/ietf-yang-library:yang-library", accept=XML)
    assert resp.status_code == 200
    names = etree.fromstring(resp.content).findall(".//{*}datastore/{*}name")
    assert len(names) == 2
    for name in names:
        prefix, _, identity = name.text.partition(":")
        assert name.nsmap[prefix] == "urn:ietf:params:xml:ns:yang:ietf-datastores"
        assert identity in ("running", "operational")
