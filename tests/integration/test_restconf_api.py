"""RESTCONF over HTTPS against a real server on loopback: discovery, reads in JSON and XML, query
parameters, configuration round trips (checked through the shared data layer NETCONF reads too), every RPC
in both URL forms, and the RFC 8040 error statuses."""

import json

import pytest
import requests
from lxml import etree

from emulator.cssm import Cssm
from emulator.frontends.restconf import start_restconf
from emulator.yangdata import DataLayer, json_member
from tests.conftest import DAY

pytestmark = pytest.mark.filterwarnings("ignore::urllib3.exceptions.InsecureRequestWarning")

CSL = "http://cisco.com/ns/yang/cisco-smart-license"
RC = "urn:ietf:params:xml:ns:yang:ietf-restconf"
JSON = "application/yang-data+json"
XML = "application/yang-data+xml"
LIC = "/restconf/data/cisco-smart-license:licensing"


class Client:
    """A requests session on the device's HTTPS port (trust_env off: REQUESTS_CA_BUNDLE would override
    verify=False)."""

    def __init__(self, base, auth=("admin", "admin")):
        self.base = base
        self.s = requests.Session()
        self.s.trust_env = False
        self.s.verify = False
        self.s.auth = auth

    def request(self, method, path, *, accept=JSON, body=None, ctype=None, headers=None, **kw):
        h = {"Accept": accept} if accept else {}
        if body is not None:
            if not isinstance(body, (str, bytes)):
                body = json.dumps(body)
                ctype = ctype or JSON
            h["Content-Type"] = ctype or JSON
        h.update(headers or {})
        return self.s.request(method, self.base + path, data=body, headers=h, timeout=10, **kw)

    def get(self, path, **kw):
        return self.request("GET", path, **kw)


@pytest.fixture
def device(make_device):
    dev = make_device()
    dev.set_user("admin", "admin", 15)
    dev.set_user("oper", "oper", 1)
    return dev


@pytest.fixture
def server(device, tmp_path):
    servers = start_restconf(device, host="127.0.0.1", port=0, state_dir=tmp_path / "state", http_port=0)
    yield servers
    servers.stop()


@pytest.fixture
def rc(server):
    client = Client(server.https.url)
    yield client
    client.s.close()


def errors_of(resp):
    assert resp.headers["Content-Type"].startswith(JSON), resp.text
    return resp.json()["ietf-restconf:errors"]["error"]


def busy(device, tmp_path):
    device.set_usage("network-advantage", 2)
    device.set_usage("dna-advantage", 1)
    device.advance_clock(2 * DAY)
    device.save_usage("all", "u.txt")
    ack = Cssm(state_path=tmp_path / "cssm.json").process_usage(device.flash.read("u.txt"), now=device.now(),
                                                               policy="SLE Policy")
    device.import_data(ack.encode())
    device.advance_clock(DAY)


# ---------------------------------------------------------------------------------------------- discovery

def test_discovery(rc, server):
    meta = rc.get("/.well-known/host-meta", accept=None)
    assert meta.status_code == 200 and meta.headers["Content-Type"].startswith("application/xrd+xml")
    link = etree.fromstring(meta.content).find("{http://docs.oasis-open.org/ns/xri/xrd-1.0}Link")
    assert link.get("rel") == "restconf" and link.get("href") == "/restconf"
    root = rc.get("/restconf")
    assert root.json() == {"ietf-restconf:restconf": {"data": {}, "operations": {},
                                                      "yang-library-version": "2019-01-04"}}
    root_xml = etree.fromstring(rc.get("/restconf", accept=XML).content)
    assert root_xml.tag == f"{{{RC}}}restconf" and root_xml.findtext(f"{{{RC}}}yang-library-version") == "2019-01-04"
    assert rc.get("/restconf/yang-library-version").json() == {"ietf-restconf:yang-library-version": "2019-01-04"}
    lib = rc.get("/restconf/data/ietf-yang-library:yang-library").json()["ietf-yang-library:yang-library"]
    modules = {m["name"]: m for m in lib["module-set"][0]["module"]}
    assert modules["cisco-smart-license"]["revision"] == "2021-03-01"
    assert modules["cisco-smart-license"]["namespace"] == CSL
    assert modules["Cisco-IOS-XE-native"]["submodule"][0]["name"] == "Cisco-IOS-XE-license"
    assert {"ietf-yang-library", "slpemu-control", "Cisco-IOS-XE-rpc"} <= set(modules)
    assert {d["name"] for d in lib["datastore"]} == {"ietf-datastores:running", "ietf-datastores:operational"}
    # the module text is where the library says
    location = modules["cisco-smart-license"]["location"][0]
    assert location.startswith(server.https.url)
    text = rc.get(location[len(server.https.url):], accept=None)
    assert text.status_code == 200 and "module cisco-smart-license" in text.text
    state = rc.get("/restconf/data/ietf-yang-library:modules-state").json()["ietf-yang-library:modules-state"]
    conformance = {m["name"]: m["conformance-type"] for m in state["module"]}
    assert conformance["cisco-smart-license"] == "implement" and conformance["ietf-yang-types"] == "import"
    caps = rc.get("/restconf/data/ietf-restconf-monitoring:restconf-state/capabilities/capability").json()
    assert "urn:ietf:params:restconf:capability:depth:1.0" in caps["ietf-restconf-monitoring:capability"]
    ops = rc.get("/restconf/operations").json()["ietf-restconf:operations"]
    assert ops["cisco-smart-license:import-file"] == [None] and "slpemu-control:advance-clock" in ops


# ---------------------------------------------------------------------------------------------- reads

def test_leaf_reads_the_way_real_clients_do(rc, device):
    headers = {"FOXY-API-VERSION": "1", "Content-Type": JSON, "Cache-Control": "no-cache"}
    pid = rc.get(f"{LIC}/state/state-info/udi/pid", headers=headers)
    assert pid.status_code == 200 and pid.headers["Content-Type"] == JSON
    assert pid.json() == {"cisco-smart-license:pid": "C8000V"}
    assert rc.get(f"{LIC}/state/state-info/udi/sn").json() == {"cisco-smart-license:sn": device.sn}
    assert rc.get(f"{LIC}/state/state-info/registration/registration-state").json() == {
        "cisco-smart-license:registration-state": "reg-state-not-registered"}
    assert rc.get("/restconf/data/native/version").json() == {"Cisco-IOS-XE-native:version": "17.12"}
    xml = etree.fromstring(rc.get(f"{LIC}/state/state-info/udi/pid", accept=XML).content)
    assert xml.tag == f"{{{CSL}}}pid" and xml.text == "C8000V"


def test_whole_tree_json_and_xml(rc, device, tmp_path):
    busy(device, tmp_path)
    data = rc.get("/restconf/data").json()["ietf-restconf:data"]
    assert {"cisco-smart-license:licensing", "Cisco-IOS-XE-native:native", "slpemu-control:clock",
            "ietf-yang-library:yang-library"} <= set(data)
    lic = rc.get(LIC).json()["cisco-smart-license:licensing"]
    info = lic["state"]["state-info"]
    assert {u["short-name"]: u["count"] for u in info["usage"]} == {"network-advantage_250M": 2,
                                                                    "dna-advantage_250M": 1}
    assert info["policy"]["policy-name"] == "SLE Policy"
    assert info["rum-ack"]["last-received-time"] == "2024-01-03T00:00:00+00:00"   # +00:00, no fraction
    layer = DataLayer(device)
    assert lic == json_member(layer.schema.top["cisco-smart-license:licensing"],
                              layer.get()["cisco-smart-license:licensing"])["cisco-smart-license:licensing"]
    root = etree.fromstring(rc.get("/restconf/data", accept=XML).content)
    assert root.tag == f"{{{RC}}}data"
    usage = root.findall(f"{{{CSL}}}licensing/{{{CSL}}}state/{{{CSL}}}state-info/{{{CSL}}}usage")
    assert sorted(u.findtext(f"{{{CSL}}}short-name") for u in usage) == ["dna-advantage_250M",
                                                                         "network-advantage_250M"]
    keys = root.find(f".//{{{CSL}}}rum-reports-closed-keys")
    assert etree.QName(keys[0]).localname == "rum-report-key"            # key first in XML
    state_xml = etree.fromstring(rc.get(f"{LIC}/state", accept=XML).content)
    assert state_xml.tag == f"{{{CSL}}}state"
    assert state_xml.findtext(f"{{{CSL}}}state-info/{{{CSL}}}policy/{{{CSL}}}policy-name") == "SLE Policy"


def test_accept_negotiation(rc):
    assert rc.get(f"{LIC}/state/state-info/udi/pid", accept="application/json").headers["Content-Type"] == JSON
    assert rc.get(f"{LIC}/state/state-info/udi/pid", accept="application/xml").headers["Content-Type"] == XML
    mixed = rc.get(f"{LIC}/state/state-info/udi/pid", accept=f"{JSON};q=0.5, {XML};q=0.9")
    assert mixed.headers["Content-Type"] == XML
    assert rc.get(f"{LIC}/state/state-info/udi/pid", accept="*/*").headers["Content-Type"] == JSON
    refused = rc.get(f"{LIC}/state/state-info/udi/pid", accept="text/html")
    assert refused.status_code == 406 and errors_of(refused)[0]["error-tag"] == "invalid-value"


def test_list_entries_by_key(rc, device, tmp_path):
    busy(device, tmp_path)
    info = DataLayer(device).get()["cisco-smart-license:licensing"]["state"]["state-info"]
    tag = info["usage"][0]["entitlement-tag"]
    from urllib.parse import quote
    entry = rc.get(f"{LIC}/state/state-info/usage={quote(tag, safe='')}")
    assert entry.status_code == 200
    assert entry.json() == {"cisco-smart-license:usage": [info["usage"][0]]}
    count = rc.get(f"{LIC}/state/state-info/usage={quote(tag, safe='')}/count")
    assert count.json() == {"cisco-smart-license:count": info["usage"][0]["count"]}
    key = info["rum-reports-closed-keys"][0]["rum-report-key"]
    report = rc.get(f"{LIC}/state/state-info/rum-reports-closed-keys={key}").json()
    assert report["cisco-smart-license:rum-reports-closed-keys"][0]["report-id"] == key       # uint64: a JSON string (RFC 7951 §6.1)
    xml = etree.fromstring(rc.get(f"{LIC}/state/state-info/rum-reports-closed-keys={key}", accept=XML).content)
    assert xml.tag == f"{{{CSL}}}rum-reports-closed-keys" and xml.findtext(f"{{{CSL}}}rum-report-key") == key
    whole = rc.get(f"{LIC}/state/state-info/usage").json()["cisco-smart-license:usage"]
    assert len(whole) == 2
    missing = rc.get(f"{LIC}/state/state-info/usage=nonexistent")
    assert missing.status_code == 404 and errors_of(missing)[0]["error-tag"] == "invalid-value"


def test_query_parameters(rc, device, tmp_path):
    busy(device, tmp_path)
    assert rc.get(f"{LIC}?content=config").json() == {
        "cisco-smart-license:licensing": {"config": DataLayer(device).get()["cisco-smart-license:licensing"]["config"]}}
    nonconfig = rc.get(f"{LIC}?content=nonconfig").json()["cisco-smart-license:licensing"]
    assert set(nonconfig) == {"state"}
    assert rc.get(f"{LIC}?depth=1").json() == {"cisco-smart-license:licensing": {}}
    assert rc.get(f"{LIC}?depth=2").json() == {"cisco-smart-license:licensing": {"config": {}, "state": {}}}
    depth3 = rc.get(f"{LIC}/state?depth=2").json()["cisco-smart-license:state"]
    assert depth3["always-enabled"] is True and depth3["state-info"] == {}
    fields = rc.get(f"{LIC}/state/state-info?fields=udi/pid;usage(short-name;count)").json()
    assert fields == {"cisco-smart-license:state-info": {
        "udi": {"pid": "C8000V"},
        "usage": [{"short-name": "network-advantage_250M", "count": 2},
                  {"short-name": "dna-advantage_250M", "count": 1}]}} or \
        sorted(fields["cisco-smart-license:state-info"]["usage"], key=lambda u: u["count"]) == [
            {"short-name": "dna-advantage_250M", "count": 1}, {"short-name": "network-advantage_250M", "count": 2}]
    top_fields = rc.get("/restconf/data?fields=cisco-smart-license:licensing/state/state-info/udi").json()
    assert top_fields == {"ietf-restconf:data": {"cisco-smart-license:licensing": {
        "state": {"state-info": {"udi": {"pid": "C8000V", "sn": device.sn}}}}}}
    for mode in ("explicit", "report-all", "trim", "report-all-tagged"):
        assert rc.get(f"{LIC}/config?with-defaults={mode}").status_code == 200
    clock = rc.get("/restconf/data/slpemu-control:clock").json()["slpemu-control:clock"]
    assert clock["now"] == "2024-01-04T00:00:00+00:00" and clock["frozen"] is True
    for bad in ("depth=0", "depth=x", "content=some", "with-defaults=all", "fields=nosuch", "fields=udi(",
                "unknown=1", "depth=1&depth=2", "filter=x", "insert=first"):
        resp = rc.get(f"{LIC}/state/state-info?{bad}")
        assert resp.status_code == 400, bad
        assert errors_of(resp)[0]["error-type"] == "protocol"


def test_over_long_integers_are_bad_requests(rc, device, tmp_path):
    """5,000 digits is past Python's int() limit (ValueError): an RFC 8040 400, never a 500."""
    busy(device, tmp_path)
    digits = "9" * 5000
    for path in (f"{LIC}?depth={digits}", f"/restconf/data/slpemu-control:faults/fault={digits}",   # a uint32 key
                 f"/restconf/data?depth={digits}"):
        resp = rc.get(path)
        assert resp.status_code == 400, (path[:60], resp.status_code, resp.text[:300])
        assert errors_of(resp)[0]["error-tag"] == "invalid-value"
    assert len(rc.get(f"{LIC}?depth={digits}").text) < 1000          # the message does not echo 5,000 digits
    assert rc.get(f"{LIC}?depth={'0' * 5000}1").json() == {"cisco-smart-license:licensing": {}}   # 000…01 is 1
    resp = rc.get(f"{LIC}?depth={digits}", accept=XML)
    assert resp.status_code == 400
    assert etree.fromstring(resp.content).findtext(f"{{{RC}}}error/{{{RC}}}error-tag") == "invalid-value"
    # in a body, as a JSON string (RFC 7951 uint64) and as an XML leaf
    resp = rc.request("POST", "/restconf/operations/slpemu-control:advance-clock",
                      body={"slpemu-control:input": {"seconds": digits}})
    assert resp.status_code == 400 and errors_of(resp)[0]["error-tag"] == "invalid-value"
    resp = rc.request("POST", "/restconf/operations/slpemu-control:advance-clock", ctype=XML,
                      body=f'<input xmlns="urn:slpemu:control"><seconds>{digits}</seconds></input>')
    assert resp.status_code == 400 and errors_of(resp)[0]["error-tag"] == "invalid-value"
    resp = rc.request("PATCH", f"{LIC}/config", body=f'{{"cisco-smart-license:config": {{"usage": {{"interval": {digits}}}}}}}')
    assert resp.status_code == 400
    assert rc.get(f"{LIC}?depth=2").status_code == 200


def test_etag_and_last_modified(rc, device):
    first = rc.get(f"{LIC}/config")
    etag, modified = first.headers["ETag"], first.headers["Last-Modified"]
    assert rc.get(f"{LIC}/config", headers={"If-None-Match": etag}).status_code == 304
    assert rc.get(f"{LIC}/config", headers={"If-Modified-Since": modified}).status_code == 304
    stale = rc.request("PATCH", f"{LIC}/config", body={"cisco-smart-license:config": {"custom-id": "x"}},
                       headers={"If-Match": '"nope"'})
    assert stale.status_code == 412
    assert "custom-id" not in DataLayer(device).get()["cisco-smart-license:licensing"]["config"]
    ok = rc.request("PATCH", f"{LIC}/config", body={"cisco-smart-license:config": {"custom-id": "x"}},
                    headers={"If-Match": etag})
    assert ok.status_code == 204 and ok.headers["ETag"] != etag
    assert rc.get(f"{LIC}/config", headers={"If-None-Match": etag}).status_code == 200
    late = rc.request("PATCH", f"{LIC}/config", body={"cisco-smart-license:config": {"custom-id": "y"}},
                      headers={"If-Unmodified-Since": "Mon, 01 Jan 2001 00:00:00 GMT"})
    assert late.status_code == 412


# ---------------------------------------------------------------------------------------------- edits

def test_config_round_trips(rc, device):
    layer = DataLayer(device)           # what NETCONF reads
    url = "http://10.0.0.1:8182/cslu/v1/pi"
    patch = rc.request("PATCH", f"{LIC}/config", body={"cisco-smart-license:config": {
        "transport": {"transport-cslu": {"url-cslu": url}}, "usage": {"interval": 20}}})
    assert patch.status_code == 204, patch.text
    assert device.setting("url_cslu") == url and device.setting("usage_interval") == 20
    assert layer.get()["Cisco-IOS-XE-native:native"]["license"]["smart"]["url"]["cslu"] == url
    assert rc.get(f"{LIC}/config/transport/transport-cslu/url-cslu").json() == {
        "cisco-smart-license:url-cslu": url}
    # PUT of a leaf that does not exist yet creates it (201), then replaces it (204)
    created = rc.request("PUT", f"{LIC}/config/custom-id", body={"cisco-smart-license:custom-id": "lab-7"})
    assert created.status_code == 201
    assert rc.request("PUT", f"{LIC}/config/custom-id",
                      body={"cisco-smart-license:custom-id": "lab-8"}).status_code == 204
    assert layer.get()["cisco-smart-license:licensing"]["config"]["custom-id"] == "lab-8"
    # DELETE removes it; a second DELETE finds nothing
    assert rc.request("DELETE", f"{LIC}/config/custom-id").status_code == 204
    assert "custom-id" not in layer.get()["cisco-smart-license:licensing"]["config"]
    assert rc.request("DELETE", f"{LIC}/config/custom-id").status_code == 404
    # POST creates a child; creating it again is a conflict
    post = rc.request("POST", f"{LIC}/config", body={"cisco-smart-license:custom-id": "made"})
    assert post.status_code == 201 and post.headers["Location"].endswith(f"{LIC}/config/custom-id")
    again = rc.request("POST", f"{LIC}/config", body={"cisco-smart-license:custom-id": "made"})
    assert again.status_code == 409 and errors_of(again)[0]["error-tag"] == "data-exists"
    # PUT of the whole config container replaces it: what it leaves out goes back to defaults
    config = rc.get(f"{LIC}/config").json()["cisco-smart-license:config"]
    config.pop("usage", None)
    config["privacy"] = {"hostname": True, "version": False}
    assert rc.request("PUT", f"{LIC}/config", body={"cisco-smart-license:config": config}).status_code == 204
    assert device.setting("privacy_hostname") is True and device.setting("usage_interval") != 20
    # XML bodies, and the native model
    xml = ('<license xmlns="http://cisco.com/ns/yang/Cisco-IOS-XE-native"><smart><transport-type>smart'
           "</transport-type></smart></license>")
    resp = rc.request("PATCH", "/restconf/data/Cisco-IOS-XE-native:native/license", body=xml, ctype=XML)
    assert resp.status_code == 204, resp.text
    assert device.setting("transport") == "smart"
    assert layer.get()["cisco-smart-license:licensing"]["config"]["transport"]["transport-type"] == \
        "transport-type-smart"
    # the datastore resource takes several modules at once
    both = rc.request("PATCH", "/restconf/data", body={"ietf-restconf:data": {
        "cisco-smart-license:licensing": {"config": {"custom-id": "both"}},
        "Cisco-IOS-XE-native:native": {"hostname": "edge-9"}}})
    assert both.status_code == 204, both.text
    assert device.hostname == "edge-9" and device.setting("custom_id") == "both"


def test_bad_edits_change_nothing(rc, device):
    before = device.config
    cases = [
        ("PATCH", f"{LIC}/config", {"cisco-smart-license:config": {"usage": {"interval": 366}}}, 400, "invalid-value"),
        ("PATCH", f"{LIC}/config", {"cisco-smart-license:config": {"nonsense": 1}}, 400, "unknown-element"),
        ("PATCH", f"{LIC}/config", {"cisco-smart-license:state": {}}, 400, "unknown-element"),
        ("PUT", f"{LIC}/config/custom-id", {"cisco-smart-license:custom-id": 5}, 400, "invalid-value"),
        ("PATCH", "/restconf/data", {"ietf-restconf:data": {
            "cisco-smart-license:licensing": {"config": {"custom-id": "ok"}},
            "Cisco-IOS-XE-native:native": {"hostname": "has space"}}}, 400, "invalid-value"),
    ]
    for method, path, body, status, tag in cases:
        resp = rc.request(method, path, body=body)
        assert resp.status_code == status, (path, body, resp.text)
        assert errors_of(resp)[0]["error-tag"] == tag
    assert device.config == before and device.hostname == "Router"
    state = rc.request("PUT", f"{LIC}/state/smart-enabled", body={"cisco-smart-license:smart-enabled": False})
    assert state.status_code == 405 and "PUT" not in state.headers["Allow"]
    options = rc.request("OPTIONS", f"{LIC}/config")
    assert options.status_code == 200 and "PATCH" in options.headers["Allow"]


# ---------------------------------------------------------------------------------------------- RPCs

def rpc_cases(device, tmp_path):
    """(qualified RPC, input, check of the output) for every RPC the device implements."""
    device.set_usage("network-advantage", 1)
    device.advance_clock(DAY)
    device.save_usage("all", "bootflash:for-ack.txt")
    ack = Cssm(state_path=tmp_path / "c.json").process_usage(device.flash.read("bootflash:for-ack.txt"),
                                                             now=device.now())
    device.flash.write("bootflash:ack.txt", ack.encode())
    return [
        ("cisco-smart-license:register-id-token", {"id-token": "tok"}, lambda o: o["return-code"] == "notsupported"),
        ("cisco-smart-license:de-register", None, lambda o: o["return-code"] == "notsupported"),
        ("cisco-smart-license:renew-id", None, lambda o: o["return-code"] == "notsupported"),
        ("cisco-smart-license:renew-auth", None, lambda o: o["return-code"] == "notsupported"),
        ("cisco-smart-license:id-token-trust", {"id-token": "tok"}, lambda o: "return-code" in o),
        ("cisco-smart-license:rum-save-usage-all", {"file-path": "bootflash:a.txt"},
         lambda o: o["return-code"] == "success"),
        ("cisco-smart-license:rum-save-usage-unreported", {"file-path": "bootflash:b.txt"},
         lambda o: o["return-code"] == "success"),
        ("cisco-smart-license:rum-save-usage-days", {"file-path": "bootflash:c.txt", "days": 5},
         lambda o: o["return-code"] == "success"),
        ("cisco-smart-license:trust-request-save", {"file-path": "bootflash:t.txt"}, lambda o: "return-code" in o),
        ("cisco-smart-license:authorization-request-online", {"feature-name": "hseck9"},
         lambda o: "return-code" in o),
        ("cisco-smart-license:authorization-code-return-online", None, lambda o: "return-code" in o),
        ("cisco-smart-license:authorization-code-return-offline", {"file-path": "bootflash:r.txt"},
         lambda o: "return-code" in o),
        ("cisco-smart-license:import-file", {"file-path": "bootflash:nothing.txt"},
         lambda o: o["return-code"] == "notfound"),
        ("Cisco-IOS-XE-rpc:license", {"smart": {"save": {"usage": {"unreported": {"file": "bootflash:x.txt"}}}}},
         lambda o: "result" in o),
        ("cisco-ia:save-config", None, lambda o: o["result"] == "Save running-config successful"),
        ("slpemu-control:set-usage", {"license": "dna-advantage", "count": 1}, lambda o: o["count"] == 1),
        ("slpemu-control:advance-clock", {"seconds": "60"}, lambda o: o["now"].endswith("+00:00")),
        ("slpemu-control:set-clock", {"frozen": True}, lambda o: "now" in o),
        ("slpemu-control:inject-fault", {"kind": "timeout", "count": 1}, lambda o: o["fault-id"] >= 1),
        ("slpemu-control:clear-faults", None, lambda o: "cleared" in o),
        ("slpemu-control:reload", None, lambda o: "closed-reports" in o),
    ]


def test_every_rpc_in_both_url_forms(rc, device, tmp_path):
    cases = rpc_cases(device, tmp_path)
    layer = DataLayer(device)
    known = {c[0] for c in cases}
    assert known <= set(layer.schema.rpcs)
    for qname in sorted(set(layer.schema.rpcs) - known):
        # RPCs added to the model after this test: each form answers with a result or an RFC 8040 error
        for path in (f"/restconf/operations/{qname}", f"/restconf/data/{qname}"):
            resp = rc.request("POST", path)
            assert resp.status_code in (200, 204, 400, 501), (qname, resp.text)
            if resp.status_code >= 400:
                assert errors_of(resp)[0]["error-tag"]
    for qname, data, check in cases:
        module, name = qname.split(":")
        body = {f"{module}:input": data} if data is not None else None
        resp = rc.request("POST", f"/restconf/operations/{qname}", body=body)
        if not layer.rpcs.supports(layer.schema.rpcs[qname]):
            # in the model, not (yet) in the data layer: RFC 8040 operation-not-supported, 501
            assert resp.status_code == 501 and errors_of(resp)[0]["error-tag"] == "operation-not-supported"
            assert rc.request("POST", f"/restconf/data/{qname}", body=body).status_code == 501
            continue
        assert resp.status_code == 200, (qname, resp.text)
        out = resp.json()
        assert list(out) == [f"{module}:output"] and check(out[f"{module}:output"]), (qname, out)
        # the form IOS XE clients use: POST /restconf/data/<module>:<rpc> {"<module>:<rpc>": {...}}
        body = {qname: data} if data is not None else None
        resp = rc.request("POST", f"/restconf/data/{qname}", body=body)
        assert resp.status_code == 200, (qname, resp.text)
        assert check(resp.json()[f"{module}:output"]), (qname, resp.text)


def test_rpc_import_of_an_ack_and_xml_rpcs(rc, device, tmp_path):
    device.set_usage("network-advantage", 1)
    device.advance_clock(DAY)
    resp = rc.request("POST", "/restconf/data/cisco-smart-license:rum-save-usage-all",
                      body={"cisco-smart-license:rum-save-usage-all": {"file-path": "bootflash:usage.txt"}})
    assert resp.json() == {"cisco-smart-license:output": {"return-code": "success"}}
    ack = Cssm(state_path=tmp_path / "c.json").process_usage(device.flash.read("bootflash:usage.txt"),
                                                             now=device.now())
    device.flash.write("bootflash:ack.txt", ack.encode())
    xml_in = f'<input xmlns="{CSL}"><file-path>bootflash:ack.txt</file-path></input>'
    resp = rc.request("POST", "/restconf/operations/cisco-smart-license:import-file", body=xml_in, ctype=XML,
                      accept=XML)
    assert resp.status_code == 200, resp.text
    out = etree.fromstring(resp.content)
    assert out.tag == f"{{{CSL}}}output" and out.findtext(f"{{{CSL}}}return-code") == "success"
    assert rc.get(f"{LIC}/state/state-info/rum-ack/last-received-time").json() == {
        "cisco-smart-license:last-received-time": "2024-01-02T00:00:00+00:00"}
    # the smart-license-app de-register call: empty body
    resp = rc.request("POST", "/restconf/data/cisco-smart-license:de-register", body="", ctype=JSON)
    assert resp.json()["cisco-smart-license:output"]["return-code"] == "notsupported"


def test_rpc_errors(rc):
    missing = rc.request("POST", "/restconf/operations/cisco-smart-license:import-file",
                         body={"cisco-smart-license:input": {}})
    assert missing.status_code == 400 and errors_of(missing)[0]["error-tag"] == "missing-element"
    bad_type = rc.request("POST", "/restconf/operations/slpemu-control:set-usage",
                          body={"slpemu-control:input": {"license": "network-advantage", "count": "two"}})
    assert bad_type.status_code == 400 and errors_of(bad_type)[0]["error-tag"] == "invalid-value"
    refused = rc.request("POST", "/restconf/operations/slpemu-control:set-usage",
                         body={"slpemu-control:input": {"license": "no-such-licence", "count": 1}})
    assert refused.status_code == 400
    unknown = rc.request("POST", "/restconf/operations/cisco-smart-license:nope", body={})
    assert unknown.status_code == 404
    wrong_member = rc.request("POST", "/restconf/operations/cisco-smart-license:import-file",
                              body={"other:input": {}})
    assert wrong_member.status_code == 400
    assert rc.request("PUT", "/restconf/operations/cisco-ia:save-config", body={}).status_code == 405
    assert rc.request("GET", "/restconf/data/cisco-smart-license:de-register").status_code == 405


# ---------------------------------------------------------------------------------------------- errors

def test_error_statuses(rc, server, device):
    anonymous = requests.get(server.https.url + LIC, verify=False, timeout=10)
    assert anonymous.status_code == 401 and anonymous.headers["WWW-Authenticate"].startswith("Basic")
    assert errors_of(anonymous)[0]["error-tag"] == "access-denied"
    wrong = Client(server.https.url, auth=("admin", "wrong")).get(LIC)
    assert wrong.status_code == 401
    low = Client(server.https.url, auth=("oper", "oper")).get(LIC)
    assert low.status_code == 403
    assert rc.get("/restconf/data/cisco-smart-license:nothing").status_code == 404
    assert rc.get("/restconf/data/nosuchmodule:licensing").status_code == 404
    assert rc.get("/restconf/nothing").status_code == 404
    assert rc.get(f"{LIC}/state/state-info/usage=a,b").status_code == 400        # wrong key count
    assert rc.request("DELETE", "/restconf").status_code == 405
    assert rc.request("DELETE", "/restconf/data").status_code == 405
    malformed = rc.request("PATCH", f"{LIC}/config", body="{not json", ctype=JSON)
    assert malformed.status_code == 400 and errors_of(malformed)[0]["error-tag"] == "malformed-message"
    xxe = ('<?xml version="1.0"?><!DOCTYPE c [<!ENTITY x SYSTEM "file:///etc/passwd">]>'
           f'<config xmlns="{CSL}"><custom-id>&x;</custom-id></config>')
    assert rc.request("PATCH", f"{LIC}/config", body=xxe, ctype=XML).status_code == 400
    bomb = "[" * 100000 + "]" * 100000
    assert rc.request("PATCH", f"{LIC}/config", body=bomb, ctype=JSON).status_code in (400, 413)
    assert rc.request("PATCH", f"{LIC}/config", body="x", ctype="text/plain").status_code == 415
    assert rc.request("PATCH", f"{LIC}/config", body="{}", ctype="application/yang-patch+json").status_code == 415
    huge = rc.request("PATCH", f"{LIC}/config", body=b"{" + b" " * (5 * 1024 * 1024) + b"}", ctype=JSON)
    assert huge.status_code == 413
    xml_error = rc.get("/restconf/data/cisco-smart-license:nothing", accept=XML)
    root = etree.fromstring(xml_error.content)
    assert root.tag == f"{{{RC}}}errors" and root.findtext(f"{{{RC}}}error/{{{RC}}}error-tag") == "invalid-value"
    bad_key = rc.get(f"{LIC}/state/state-info/usage=nothing/count", accept=XML)
    path_el = etree.fromstring(bad_key.content).find(f"{{{RC}}}error/{{{RC}}}error-path")
    assert bad_key.status_code == 404 and path_el.text.startswith("/cisco-smart-license:licensing/")
    assert path_el.nsmap["cisco-smart-license"] == CSL            # an XML instance-identifier: prefixes bound
    # the device keeps serving
    assert rc.get(f"{LIC}/state/state-info/udi/pid").status_code == 200


def test_allow_follows_the_resource_kind(rc):
    """OPTIONS and every 405 name the methods of the resource's kind (the MethodView's methods)."""
    kinds = {
        "/restconf": "GET, HEAD, OPTIONS",
        "/restconf/yang-library-version": "GET, HEAD, OPTIONS",
        "/restconf/data": "GET, HEAD, OPTIONS, PATCH, POST, PUT",
        f"{LIC}/config": "DELETE, GET, HEAD, OPTIONS, PATCH, POST, PUT",
        f"{LIC}/config/custom-id": "DELETE, GET, HEAD, OPTIONS, PATCH, PUT",          # a leaf: nothing to POST
        f"{LIC}/state": "GET, HEAD, OPTIONS",
        "/restconf/data/ietf-yang-library:yang-library": "GET, HEAD, OPTIONS",
        "/restconf/data/cisco-ia:save-config": "OPTIONS, POST",
        "/restconf/operations": "GET, HEAD, OPTIONS",
        "/restconf/operations/cisco-ia:save-config": "GET, HEAD, OPTIONS, POST",
        "/restconf/schema/cisco-smart-license": "GET, HEAD, OPTIONS",
        "/.well-known/host-meta": "GET, HEAD, OPTIONS",
    }
    for path, allow in kinds.items():
        options = rc.request("OPTIONS", path, accept=None)
        assert options.status_code == 200 and options.headers["Allow"] == allow, (path, options.headers)
        assert ("Accept-Patch" in options.headers) == ("PATCH" in allow), path
        refused = next(m for m in ("DELETE", "POST", "PUT", "TRACE") if m not in allow)
        resp = rc.request(refused, path)
        assert resp.status_code == 405 and resp.headers["Allow"] == allow, (path, refused, resp.headers)
        assert errors_of(resp)[0]["error-tag"] == "operation-not-supported"
    native = rc.request("DELETE", "/smartlic-service/import")
    assert native.status_code == 405 and native.headers["Allow"] == "OPTIONS, POST"
    assert native.json()["status"] == "FAILED"
    assert rc.request("OPTIONS", "/smartlic-service/list").headers["Allow"] == "GET, HEAD, OPTIONS"
    assert rc.request("OPTIONS", "/smartlic-service/days/3").headers["Allow"] == "GET, HEAD, OPTIONS"


def test_device_settings_gate_the_listeners(rc, server, device):
    device.apply_system_config({"restconf": False})
    assert rc.get(LIC).status_code == 404
    device.apply_system_config({"restconf": None})
    assert rc.get(LIC).status_code == 200
    plain = Client(server.http.url)
    assert plain.get("/smartlic-service/list").status_code == 200
    assert plain.get(LIC).status_code == 404           # RESTCONF is HTTPS only
    device.apply_system_config({"ip_http_server": False})
    assert plain.get("/smartlic-service/list").status_code == 503


def test_config_edits_are_seen_over_netconf(rc, device, tmp_path):
    """A RESTCONF edit lands in the datastore NETCONF serves (get-config over a real NETCONF session)."""
    ncclient = pytest.importorskip("ncclient.manager")
    from emulator.frontends.netconf import NetconfService
    netconf = NetconfService(device, "127.0.0.1", 0, tmp_path / "nc").start()
    try:
        url = "http://192.0.2.7:8182/cslu/v1/pi"
        resp = rc.request("PATCH", f"{LIC}/config", body={"cisco-smart-license:config": {
            "custom-id": "via-restconf", "transport": {"transport-cslu": {"url-cslu": url}}}})
        assert resp.status_code == 204
        with ncclient.connect(host="127.0.0.1", port=netconf.port, username="admin", password="admin",
                              hostkey_verify=False, look_for_keys=False, allow_agent=False, timeout=10) as m:
            reply = m.get_config("running", filter=("subtree", f'<licensing xmlns="{CSL}"><config/></licensing>'))
            root = etree.fromstring(reply.xml.encode())
            config = root.find(f".//{{{CSL}}}licensing/{{{CSL}}}config")
            assert config.findtext(f"{{{CSL}}}custom-id") == "via-restconf"
            assert config.findtext(f"{{{CSL}}}transport/{{{CSL}}}transport-cslu/{{{CSL}}}url-cslu") == url
            # and the other way round: a NETCONF edit is what RESTCONF reads next
            m.edit_config(target="running", config=f'<config xmlns="urn:ietf:params:xml:ns:netconf:base:1.0">'
                                                   f'<licensing xmlns="{CSL}"><config><custom-id>via-netconf'
                                                   "</custom-id></config></licensing></config>")
        assert rc.get(f"{LIC}/config/custom-id").json() == {"cisco-smart-license:custom-id": "via-netconf"}
    finally:
        netconf.stop()
