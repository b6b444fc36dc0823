"""NETCONF over SSH driven by ncclient, as controllers do: a real device and server on loopback."""

import json
import re
import socket
import threading
import time
from pathlib import Path

import paramiko
import pytest
from lxml import etree
from ncclient import manager
from ncclient.devices.default import DefaultDeviceHandler
from ncclient.devices.iosxe import IosxeDeviceHandler
from ncclient.operations import RPCError
from ncclient.transport.errors import AuthenticationError, SSHError
from ncclient.transport.session import NetconfBase

from emulator.cssm import Cssm
from emulator.engine.timefmt import yang_time
from emulator.frontends.netconf import NetconfService
from emulator.frontends.netconf.framing import FrameReader, frame_chunked, frame_eom
from emulator.runtime import DeviceOptions, open_device

NC = "urn:ietf:params:xml:ns:netconf:base:1.0"
CSL = "http://cisco.com/ns/yang/cisco-smart-license"
NATIVE = "http://cisco.com/ns/yang/Cisco-IOS-XE-native"
CTL = "urn:slpemu:control"
NS = {"nc": NC, "csl": CSL, "n": NATIVE, "ctl": CTL}
DAY = 86400


class Base10Default(DefaultDeviceHandler):
    def get_capabilities(self):
        return [c for c in super().get_capabilities() if c != "urn:ietf:params:netconf:base:1.1"]


class Base10Iosxe(IosxeDeviceHandler):
    def get_capabilities(self):
        return [c for c in super().get_capabilities() if c != "urn:ietf:params:netconf:base:1.1"]


DEVICE_PARAMS = {
    "iosxe-1.1": {"name": "iosxe"},
    "default-1.1": {"name": "default"},
    "iosxe-1.0": {"handler": Base10Iosxe},
    "default-1.0": {"handler": Base10Default},
}


@pytest.fixture
def service(tmp_path):
    device = open_device(tmp_path / "state", DeviceOptions(users={"admin": "admin"}, frozen_clock=True))
    svc = NetconfService(device, "127.0.0.1", 0, tmp_path / "state").start()
    yield svc
    svc.stop()
    device.store.close()


def connect(svc, params=None, user="admin", password="admin", **kwargs):
    return manager.connect(host="127.0.0.1", port=svc.port, username=user, password=password,
                           hostkey_verify=False, look_for_keys=False, allow_agent=False, timeout=20,
                           device_params=params or {"name": "iosxe"}, **kwargs)


def lic(inner):
    return f'<licensing xmlns="{CSL}">{inner}</licensing>'


def data_of(reply):
    return etree.fromstring(reply.data_xml.encode() if isinstance(reply.data_xml, str) else reply.data_xml)


def rpc(m, xml):
    return etree.fromstring(m.dispatch(etree.fromstring(xml)).xml.encode())


@pytest.mark.parametrize("flavour", list(DEVICE_PARAMS))
def test_session_values_and_licences(service, flavour):
    dev = service.netconf.device
    with connect(service, DEVICE_PARAMS[flavour]) as m:
        assert m.session_id and int(m.session_id) >= 1
        assert ("urn:ietf:params:netconf:base:1.1" in m.server_capabilities)
        assert m._session._base == (NetconfBase.BASE_11 if flavour.endswith("1.1") else NetconfBase.BASE_10)
        caps = list(m.server_capabilities)
        assert f"{CSL}?module=cisco-smart-license&revision=2021-03-01" in caps
        udi = data_of(m.get(filter=("subtree", lic("<state><state-info><udi/></state-info></state>"))))
        assert udi.findtext(".//csl:udi/csl:pid", namespaces=NS) == "C8000V"
        assert udi.findtext(".//csl:udi/csl:sn", namespaces=NS) == dev.sn
        # licences in use after set-usage
        out = rpc(m, f'<set-usage xmlns="{CTL}"><license>network-advantage</license><count>2</count></set-usage>')
        assert out.findtext("ctl:count", namespaces=NS) == "2"
        rpc(m, f'<set-usage xmlns="{CTL}"><license>dna-advantage</license><count>1</count></set-usage>')
        usage = data_of(m.get(filter=("subtree", lic("<state><state-info><usage/></state-info></state>"))))
        counts = {u.findtext("csl:short-name", namespaces=NS): u.findtext("csl:count", namespaces=NS)
                  for u in usage.iterfind(".//csl:usage", NS)}
        assert counts == {"network-advantage_250M": "2", "dna-advantage_250M": "1"}
        # policy values of the Cisco default policy
        policy = data_of(m.get(filter=("xpath", "/licensing/state/state-info/policy")))
        assert policy.findtext(".//csl:policy/csl:policy-type", namespaces=NS) == "policy-type-cisco-default"
        perpetual = policy.find(".//csl:policy-perpetual", NS)      # Cisco default: first report in 365 days
        assert [perpetual.findtext(f"csl:{k}", namespaces=NS) for k in
                ("reporting-first-time", "reporting-ongoing", "reporting-macd")] == ["365", "0", "90"]
        # report keys after advance-clock
        rpc(m, f'<advance-clock xmlns="{CTL}"><seconds>{2 * DAY}</seconds></advance-clock>')
        keys = data_of(m.get(filter=("subtree", lic("<state><state-info><rum-reports-closed-keys/>"
                                                     "</state-info></state>"))))
        entries = keys.findall(".//csl:rum-reports-closed-keys", NS)
        assert entries and all(etree.QName(e[0]).localname == "rum-report-key" for e in entries)
        assert {e.findtext("csl:report-state", namespaces=NS) for e in entries} == {"rum-report-state-closed"}
        if "iosxe" in flavour:
            assert "successful" in m.save_config().xml


def test_edit_config_round_trip_as_controllers_send_it(service):
    dev = service.netconf.device
    url = "http://10.1.1.1/cslu/v1/pi/SA-VA-1"
    with connect(service) as m:
        # xaviervalette/cisco-iosxe-netconf-smart-licensing-cslu: conf/cslu.xml through the iosxe handler
        m.edit_config(target="running", config=f'<config><licensing xmlns="{CSL}"><config><transport>'
                      f"<transport-cslu><url-cslu>{url}</url-cslu></transport-cslu></transport></config>"
                      "</licensing></config>")
        assert dev.setting("url_cslu") == url
        cfg = data_of(m.get_config("running"))
        assert cfg.findtext(".//csl:transport-cslu/csl:url-cslu", namespaces=NS) == url
        assert cfg.findtext(".//n:native/n:license/n:smart/n:url/n:cslu", namespaces=NS) == url
        # terraform-style native edit, seen through cisco-smart-license
        m.edit_config(target="running", config=f'<config><native xmlns="{NATIVE}"><license><smart>'
                      "<transport-type>Off</transport-type><usage><interval>45</interval></usage>"
                      "</smart></license></native></config>")
        cfg = data_of(m.get_config("running", filter=("subtree", lic("<config/>"))))
        assert cfg.findtext(".//csl:transport/csl:transport-type", namespaces=NS) == "transport-type-off"
        assert cfg.findtext(".//csl:usage/csl:interval", namespaces=NS) == "45"
        m.edit_config(target="running", test_option="test-only",
                      config=f"<config>{lic('<config><custom-id>NOPE</custom-id></config>')}</config>")
        assert dev.setting("custom_id") is None
        m.edit_config(target="running", default_operation="merge",
                      config=f'<config><licensing xmlns="{CSL}" xmlns:nc="{NC}"><config><usage>'
                      '<interval nc:operation="delete"/></usage></config></licensing></config>')
        assert dev.setting("usage_interval") is None
    # persisted: a new server on the same state sees it
    assert dev.store.load_core(dev.device_id)["state"]["config"]["url_cslu"] == url


BAD_INTERVAL = f'<config><licensing xmlns="{CSL}"><config><usage><interval>0</interval></usage></config></licensing></config>'


def test_errors_reach_ncclient_as_rpc_errors(service):
    with connect(service) as m:
        cases = [
            (lambda: m.edit_config(target="running", config=BAD_INTERVAL), "invalid-value"),
            (lambda: m.edit_config(target="running", config="<config><x xmlns='urn:nowhere'/></config>"),
             "unknown-namespace"),
            (lambda: m.edit_config(target="candidate", config=f"<config>{lic('')}</config>"), "invalid-value"),
            (lambda: m.get_config("startup"), "invalid-value"),
            (lambda: m.lock(), "invalid-value"),                       # ncclient's default target: candidate
            (lambda: m.get_schema("no-such-module"), "invalid-value"),
            (lambda: m.dispatch(etree.fromstring(f'<frob xmlns="{CSL}"/>')), "operation-not-supported"),
            (lambda: m.dispatch(etree.fromstring('<frob xmlns="urn:nowhere"/>')), "unknown-namespace"),
            (lambda: m.dispatch(etree.fromstring(f'<rum-save-usage-all xmlns="{CSL}"/>')), "missing-element"),
            (lambda: m.get(filter=("xpath", "/licensing[")), "invalid-value"),
            (lambda: m.kill_session("9999"), "invalid-value"),
        ]
        for call, tag in cases:
            with pytest.raises(RPCError) as info:
                call()
            assert info.value.tag == tag, (tag, info.value.xml)
            assert info.value.severity == "error" and info.value.message
        err = pytest.raises(RPCError, lambda: m.edit_config(
            target="running", config=f"<config>{lic('<config><usage><interval>400</interval></usage></config>')}"
                                     "</config>")).value
        assert err.path.endswith("cisco-smart-license:interval") and err.type == "protocol"
        m.get()                                                        # the session is still fine


def test_locks_between_two_sessions(service):
    with connect(service) as a, connect(service, {"name": "default"}) as b:
        a.lock("running")
        with pytest.raises(RPCError) as info:
            b.lock("running")
        assert info.value.tag == "lock-denied"
        assert info.value.xml.findtext(f"{{{NC}}}error-info/{{{NC}}}session-id") == a.session_id
        with pytest.raises(RPCError) as info:
            b.edit_config(target="running", config=f"<config>{lic('<config><custom-id>B</custom-id></config>')}"
                          "</config>")
        assert info.value.tag == "in-use"
        a.edit_config(target="running", config=f"<config>{lic('<config><custom-id>A</custom-id></config>')}"
                      "</config>")
        a.unlock("running")
        with b.locked("running"):
            with pytest.raises(RPCError):
                a.lock("running")
        a.lock("running")
    with connect(service) as c:                                        # a's session ended: lock released
        c.lock("running")
        c.unlock("running")


def test_kill_session_releases_the_victims_lock(service):
    with connect(service) as a:
        b = connect(service)
        b.lock("running")
        a.kill_session(b.session_id)
        deadline = time.monotonic() + 5
        while b.connected and time.monotonic() < deadline:
            time.sleep(0.05)
        assert not b.connected
        a.lock("running")


def test_get_schema_for_every_advertised_module(service):
    with connect(service) as m:
        modules = [c for c in m.server_capabilities if "?module=" in c]
        assert len(modules) >= 10
        for cap in modules:
            name = cap.split("module=")[1].split("&")[0]
            revision = cap.split("revision=")[1].split("&")[0]
            text = m.get_schema(name, version=revision, format="yang").data
            assert text.lstrip().startswith("module " + name), name
        sub = m.get_schema("Cisco-IOS-XE-license").data
        assert sub.lstrip().startswith("submodule Cisco-IOS-XE-license")
        schemas = data_of(m.get(filter=("subtree", '<netconf-state xmlns="urn:ietf:params:xml:ns:yang:'
                                                   'ietf-netconf-monitoring"><schemas/></netconf-state>')))
        assert len(schemas.findall(".//{urn:ietf:params:xml:ns:yang:ietf-netconf-monitoring}schema")) > len(modules)


def test_notification_after_an_import(service, tmp_path):
    dev = service.netconf.device
    with connect(service) as m:
        rpc(m, f'<set-usage xmlns="{CTL}"><license>network-advantage</license><count>1</count></set-usage>')
        rpc(m, f'<advance-clock xmlns="{CTL}"><seconds>{DAY}</seconds></advance-clock>')
        out = rpc(m, f'<rum-save-usage-all xmlns="{CSL}"><file-path>bootflash:usage.txt</file-path>'
                     "</rum-save-usage-all>")
        assert out.findtext("csl:return-code", namespaces=NS) == "success"
        ack = Cssm(state_path=tmp_path / "cssm.json").process_usage(dev.flash.read("bootflash:usage.txt"),
                                                                     now=dev.now(), policy="SLE Policy")
        dev.flash.write("bootflash:ack.xml", ack.encode())
        m.create_subscription()
        out = rpc(m, f'<import-file xmlns="{CSL}"><file-path>bootflash:ack.xml</file-path></import-file>')
        assert out.findtext("csl:return-code", namespaces=NS) == "success"
        seen = []
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and "POLICY_INSTALL_SUCCESS" not in seen:
            n = m.take_notification(block=True, timeout=1)
            if n is None:
                continue
            root = etree.fromstring(n.notification_xml.encode())
            seen.append(root.findtext(".//ctl:mnemonic", namespaces=NS))
        assert "POLICY_INSTALL_SUCCESS" in seen
        policy = data_of(m.get(filter=("subtree", lic("<state><state-info><policy/></state-info></state>"))))
        assert policy.findtext(".//csl:policy-name", namespaces=NS) == "SLE Policy"
        ack = data_of(m.get(filter=("subtree", lic("<state><state-info><rum-ack/></state-info></state>"))))
        assert ack.findtext(".//csl:rum-ack/csl:last-received-time", namespaces=NS) == yang_time(dev.now())


def test_concurrent_sessions(service):
    errors = []

    def worker():
        try:
            with connect(service, {"name": "default"}) as m:
                for _ in range(3):
                    data = data_of(m.get(filter=("subtree", lic("<state><state-info><udi/></state-info>"
                                                                 "</state>"))))
                    assert data.findtext(".//csl:pid", namespaces=NS) == "C8000V"
        except Exception as exc:          # noqa: BLE001 - reported below
            errors.append(exc)
    threads = [threading.Thread(target=worker) for _ in range(5)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert not errors and not any(t.is_alive() for t in threads)


# ---------------------------------------------------------------------------------------------- raw SSH

def raw_channel(svc, user="admin", password="admin"):
    client = paramiko.SSHClient()
    client.set_missing_host_key_policy(paramiko.AutoAddPolicy())
    client.connect("127.0.0.1", port=svc.port, username=user, password=password, look_for_keys=False,
                   allow_agent=False, timeout=10)
    chan = client.get_transport().open_session()
    chan.settimeout(10)
    chan.invoke_subsystem("netconf")
    return client, chan


def read_messages(chan, reader, count=1, timeout=10):
    out = []
    deadline = time.monotonic() + timeout
    while len(out) < count and time.monotonic() < deadline:
        while (m := reader.next_message()) is not None:
            out.append(m)
            if len(out) == count:
                return out
        data = chan.recv(65536)
        if not data:
            break
        reader.feed(data)
    return out


def hello(chan, reader, version="1.1"):
    assert read_messages(chan, reader)[0].startswith(b"<?xml")
    caps = "<capability>urn:ietf:params:netconf:base:1.0</capability>"
    if version == "1.1":
        caps += "<capability>urn:ietf:params:netconf:base:1.1</capability>"
    chan.sendall(frame_eom(f'<hello xmlns="{NC}"><capabilities>{caps}</capabilities></hello>'.encode()))
    if version == "1.1":
        reader.switch_to_chunked()


@pytest.mark.parametrize("garbage", [b"\n#zz\n", b"\n#0\n", b"complete nonsense\n##\n", b"\n#3\nabcdef\n##\n"])
def test_garbage_framing_ends_only_that_session(service, garbage):
    with connect(service) as m:
        client, chan = raw_channel(service)
        reader = FrameReader()
        hello(chan, reader)
        chan.sendall(garbage)
        reply = read_messages(chan, reader)
        assert b"malformed-message" in reply[0]
        deadline = time.monotonic() + 5
        while not chan.closed and not chan.exit_status_ready() and time.monotonic() < deadline:
            if chan.recv(1024) == b"":
                break
        client.close()
        assert data_of(m.get(filter=("subtree", lic("<state><version/></state>")))).findtext(
            ".//csl:version", namespaces=NS)


def test_one_byte_chunks_and_hostile_xml(service):
    client, chan = raw_channel(service)
    reader = FrameReader()
    hello(chan, reader)
    msg = (f'<rpc xmlns="{NC}" message-id="7"><get><filter>{lic("<state><state-info><udi/></state-info></state>")}'
           "</filter></get></rpc>").encode()
    chan.sendall(b"".join(b"\n#1\n" + msg[i:i + 1] for i in range(len(msg))) + b"\n##\n")
    reply = read_messages(chan, reader)[0]
    assert b'message-id="7"' in reply and b"<pid>C8000V</pid>" in reply
    xxe = (b'<?xml version="1.0"?><!DOCTYPE r [<!ENTITY x SYSTEM "file:///etc/passwd">]>'
           b'<rpc xmlns="' + NC.encode() + b'" message-id="8"><get>&x;</get></rpc>')
    chan.sendall(frame_chunked(xxe))
    reply = read_messages(chan, reader)[0]
    assert b"malformed-message" in reply and b"root:" not in reply
    big = b"\n#%d\n" % (5 * 1024 * 1024)
    chan.sendall(big + b"x" * 1024)
    reply = read_messages(chan, reader)
    assert reply and b"malformed-message" in reply[0]
    client.close()
    with connect(service) as m:
        m.get()


def test_base10_raw_session(service):
    client, chan = raw_channel(service)
    reader = FrameReader()
    hello(chan, reader, "1.0")
    chan.sendall(frame_eom(f'<rpc xmlns="{NC}" message-id="1"><get-config><source><running/></source>'
                           "</get-config></rpc>".encode()))
    reply = read_messages(chan, reader)[0]
    assert b"<transport-type>transport-type-cslu</transport-type>" in reply
    chan.sendall(frame_eom(f'<rpc xmlns="{NC}" message-id="2"><close-session/></rpc>'.encode()))
    assert b"<ok/>" in read_messages(chan, reader)[0]
    client.close()


def test_authentication(service, tmp_path):
    with pytest.raises(AuthenticationError):
        connect(service, password="wrong")
    dev = service.netconf.device
    dev.set_user("viewer", "secret", 1)
    with connect(service, user="viewer", password="secret") as m:
        with pytest.raises(RPCError) as info:                   # NETCONF needs privilege 15, reads too
            m.get(filter=("subtree", lic("<state><version/></state>")))
        assert info.value.tag == "access-denied"
        with pytest.raises(RPCError) as info:
            m.edit_config(target="running", config=f"<config>{lic('<config><custom-id>V</custom-id></config>')}"
                          "</config>")
        assert info.value.tag == "access-denied"
    key = paramiko.ECDSAKey.generate(bits=256)
    (tmp_path / "state" / "authorized_keys").write_text(f"{key.get_name()} {key.get_base64()} admin\n")
    key.write_private_key_file(str(tmp_path / "id_ecdsa"))
    with manager.connect(host="127.0.0.1", port=service.port, username="admin", key_filename=str(tmp_path / "id_ecdsa"),
                         hostkey_verify=False, look_for_keys=False, allow_agent=False, timeout=20) as m:
        m.get_config("running")


def test_netconf_yang_disabled_refuses_the_subsystem(service):
    dev = service.netconf.device
    dev.apply_system_config({"netconf_yang": False})
    with pytest.raises((SSHError, Exception)):
        connect(service).close_session()
    dev.apply_system_config({"netconf_yang": True})
    with connect(service) as m:
        m.get_config("running")


def test_host_key_persists(tmp_path):
    device = open_device(tmp_path / "state", DeviceOptions(users={"admin": "admin"}))
    keys = []
    for _ in range(2):
        svc = NetconfService(device, "127.0.0.1", 0, tmp_path / "state").start()
        sock = socket.create_connection(("127.0.0.1", svc.port), timeout=10)
        t = paramiko.Transport(sock)
        t.start_client(timeout=10)
        keys.append(t.get_remote_server_key().get_base64())
        t.close()
        svc.stop()
    device.store.close()
    assert keys[0] == keys[1]


def test_an_internal_error_is_answered_and_the_ssh_session_goes_on(service, monkeypatch):
    layer = service.netconf.layer
    original = layer.get
    calls = []

    def fails_once(*args, **kwargs):
        calls.append(1)
        if len(calls) == 1:
            raise RuntimeError("internal detail")
        return original(*args, **kwargs)
    monkeypatch.setattr(layer, "get", fails_once)
    with connect(service) as m:
        with pytest.raises(RPCError) as err:
            m.get(filter=("subtree", lic("<state><version/></state>")))
        assert (err.value.type, err.value.tag, err.value.severity) == ("application", "operation-failed", "error")
        assert "internal detail" not in (err.value.message or "")
        assert m.connected
        assert data_of(m.get(filter=("subtree", lic("<state><version/></state>")))).findtext(
            ".//csl:version", namespaces=NS)


def test_kill_session_with_a_5000_digit_session_id(service):
    with connect(service) as m:
        with pytest.raises(RPCError) as err:
            m.kill_session("9" * 5000)
        assert err.value.tag == "invalid-value"
        assert m.connected
        assert data_of(m.get(filter=("subtree", lic("<state><version/></state>")))).findtext(
            ".//csl:version", namespaces=NS)


def test_a_17_3_device_serves_cisco_smart_license_2019_07_01(estate):
    """`slpemu serve --release 17.3.2`: what a 17.3 router advertises (docs/yang-modules.md), its text through
    get-schema, and data of that revision only (issue 12)."""
    dev = estate.device(release="17.3.2")
    ncm = "urn:ietf:params:xml:ns:yang:ietf-netconf-monitoring"
    with manager.connect(host="127.0.0.1", port=dev.ports["netconf"], username="admin", password="admin",
                         hostkey_verify=False, look_for_keys=False, allow_agent=False, timeout=30,
                         device_params={"name": "iosxe"}) as m:
        caps = [c for c in m.server_capabilities if "module=cisco-smart-license" in c]
        assert caps == [f"{CSL}?module=cisco-smart-license&revision=2019-07-01"]
        text = m.get_schema("cisco-smart-license").data
        assert re.search(r"^\s*revision 2019-07-01 \{", text, re.M)
        assert not re.search(r"^\s*revision 202", text, re.M) and "rpc import-file" not in text
        assert m.get_schema("cisco-smart-license", version="2019-07-01").data == text
        sub = m.get_schema("cisco-smart-license-errors", version="2019-07-01").data
        assert sub.lstrip().startswith("submodule cisco-smart-license-errors") and "noreservationauthcode" not in sub
        with pytest.raises(RPCError) as err:
            m.get_schema("cisco-smart-license", version="2021-03-01")
        assert err.value.tag == "invalid-value"
        schemas = data_of(m.get(filter=("subtree", f'<netconf-state xmlns="{ncm}"><schemas/></netconf-state>')))
        versions = {(s.findtext(f"{{{ncm}}}identifier"), s.findtext(f"{{{ncm}}}version"))
                    for s in schemas.iter(f"{{{ncm}}}schema")}
        assert {v for v in versions if v[0].startswith("cisco-smart-license")} == {
            ("cisco-smart-license", "2019-07-01"), ("cisco-smart-license-errors", "2019-07-01")}

        rpc(m, f'<set-usage xmlns="{CTL}"><license>network-advantage</license><count>2</count></set-usage>')
        data = data_of(m.get(filter=("subtree", lic(""))))
        allowed = _data_paths("2019-07-01")
        seen = set()
        for el in data.iter(f"{{{CSL}}}*"):
            path = "/" + "/".join(f"cisco-smart-license:{etree.QName(e).localname}"
                                  for e in reversed([el, *el.iterancestors()]) if etree.QName(e).namespace == CSL)
            assert path in allowed, path
            seen.add(path.rsplit("/", 1)[-1])
        assert {"cisco-smart-license:usage", "cisco-smart-license:count", "cisco-smart-license:udi"} <= seen
        assert not {"cisco-smart-license:policy", "cisco-smart-license:trust-code"} & seen
        # an RPC 2019-07-01 lacks is refused; so is a transport it cannot name
        with pytest.raises(RPCError) as err:
            rpc(m, f'<rum-save-usage-all xmlns="{CSL}"><file-path>bootflash:u.txt</file-path></rum-save-usage-all>')
        assert err.value.tag == "operation-not-supported"
        with pytest.raises(RPCError) as err:
            m.edit_config(target="running", config=f'<config xmlns="{NC}">' + lic(
                "<config><transport><transport-type>transport-type-cslu</transport-type></transport></config>")
                + "</config>")
        assert err.value.tag == "invalid-value"
    # RESTCONF: the same revision in its YANG library and under /restconf/schema
    lib = dev.http.get(f"{dev.restconf}/restconf/data/ietf-yang-library:modules-state", timeout=30,
                       headers={"Accept": "application/yang-data+json"}).json()["ietf-yang-library:modules-state"]
    [csl] = [mod for mod in lib["module"] if mod["name"] == "cisco-smart-license"]
    assert csl["revision"] == "2019-07-01"
    assert csl["submodule"] == [{"name": "cisco-smart-license-errors", "revision": "2019-07-01",
                                 "schema": csl["submodule"][0]["schema"]}]
    served = dev.http.get(csl["schema"], timeout=30)
    assert served.status_code == 200 and served.text == text


def _data_paths(revision: str) -> set[str]:
    """Data paths (choices and cases left out) of Cisco's cisco-smart-license of `revision`, from the listing
    kept in tests/data/cisco-yang/."""
    nodes = json.loads((Path(__file__).resolve().parents[1] / "data" / "cisco-yang" /
                        f"cisco-smart-license@{revision}.json").read_text())["nodes"]
    kinds = {n["path"]: n["keyword"] for n in nodes}
    out = set()
    for n in nodes:
        if n["keyword"] in ("choice", "case"):
            continue
        parts = n["path"].split("/")[1:]
        out.add("/" + "/".join(p for i, p in enumerate(parts)
                               if kinds.get("/" + "/".join(parts[:i + 1])) not in ("choice", "case")))
    return out
