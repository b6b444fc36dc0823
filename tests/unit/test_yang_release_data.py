"""The cisco-smart-license data of a release follows the revision that release serves (issue 12): a 17.3 device
(2019-07-01) and a 17.4 device (2020-11-01) render only nodes and enumeration values of their revision, checked
against the normalized listing of Cisco's module of that revision (tests/data/cisco-yang/); edits, RPCs and
RESTCONF paths their revision lacks are refused with the protocol's error."""

from __future__ import annotations

import base64
import json
from pathlib import Path

import pytest
from lxml import etree

from emulator.frontends.netconf.server import NetconfServer
from emulator.frontends.restconf.app import create_app
from emulator.yangdata import DataLayer, get_schema
from emulator.yangdata.licensing import conform
from tests.unit.test_netconf_session import CSL, NS, Client, edit, get, lic

DATA = Path(__file__).resolve().parents[1] / "data" / "cisco-yang"
LICENSING = "cisco-smart-license:licensing"
BASE_URL = "https://192.0.2.1:8443"
JSON = "application/yang-data+json"


def cisco_data_nodes(revision: str) -> dict[str, dict]:
    """Data path (choices and cases left out, as in instance data) → node of Cisco's listing."""
    nodes = json.loads((DATA / f"cisco-smart-license@{revision}.json").read_text())["nodes"]
    by_path = {n["path"]: n for n in nodes}
    out = {}
    for n in nodes:
        if n["keyword"] in ("choice", "case"):
            continue
        parts = n["path"].split("/")[1:]
        kept = [p for i, p in enumerate(parts)
                if by_path.get("/" + "/".join(parts[:i + 1]), {}).get("keyword") not in ("choice", "case")]
        out["/" + "/".join(kept)] = n
    return out


def data_leaves(value, path: str):
    """(path, value) of every leaf of an instance tree, paths in the listing's form (every step qualified)."""
    if isinstance(value, dict):
        for name, child in value.items():
            yield from data_leaves(child, f"{path}/cisco-smart-license:{name}")
    elif isinstance(value, list) and value and isinstance(value[0], dict):
        for entry in value:
            yield from data_leaves(entry, path)
    else:
        yield path, value


def outside(tree: dict, revision: str) -> list[str]:
    """The leaves of a cisco-smart-license tree that Cisco's module of `revision` does not have (node or
    enumeration value)."""
    nodes = cisco_data_nodes(revision)
    bad = []
    for path, value in data_leaves(tree, "/" + LICENSING):
        node = nodes.get(path)
        if node is None:
            bad.append(path)
            continue
        enums = [e[0] for e in node.get("type", {}).get("enums", [])]
        if enums and value not in enums:
            bad.append(f"{path}={value}")
    return bad


@pytest.fixture
def devices(make_device):
    """One device per revision, each using licences (so that usage, trust codes, policy... have data)."""
    out = {}
    for release in ("17.3.2", "17.4.1a", "17.12.1a"):
        dev = make_device(release=release, device_id=release)
        dev.set_user("admin", "admin", 15)
        dev.set_usage("network-advantage", 2)
        out[release] = dev
    return out


def test_each_release_renders_only_its_revisions_nodes(devices):
    trees = {rel: DataLayer(dev).get()[LICENSING] for rel, dev in devices.items()}
    full = trees["17.12.1a"]["state"]["state-info"]
    # what the newest revision has and the older ones do not, with data on this device
    assert {"policy", "trust-code", "conversion", "rum-ack", "imported-authorizations"} <= set(full)
    assert full["transport"] == {"transport-type": "transport-type-cslu"}
    assert outside(trees["17.12.1a"], "2021-03-01") == []
    assert "/cisco-smart-license:licensing/cisco-smart-license:state/cisco-smart-license:state-info/" \
        "cisco-smart-license:policy/cisco-smart-license:policy-type" in outside(trees["17.12.1a"], "2020-11-01")

    assert outside(trees["17.4.1a"], "2020-11-01") == []
    info = trees["17.4.1a"]["state"]["state-info"]
    assert set(info) == {"registration", "authorization", "utility", "transport", "privacy", "evaluation", "udi",
                         "usage", "trust-code"}
    assert info["transport"] == {"transport-type": "transport-type-cslu"}
    assert trees["17.4.1a"]["config"]["transport"] == {"transport-type": "transport-type-cslu"}

    assert outside(trees["17.3.2"], "2019-07-01") == []
    info = trees["17.3.2"]["state"]["state-info"]
    assert set(info) == {"registration", "authorization", "utility", "privacy", "evaluation", "udi", "usage"}
    # 2019-07-01 knows only the callhome and smart transports: the CSLU transport cannot be told
    assert "transport" not in info and "transport" not in trees["17.3.2"]["config"]
    assert info["usage"][0]["count"] == 2
    assert trees["17.3.2"]["state"]["version"] == trees["17.12.1a"]["state"]["version"]


def test_netconf_get_on_17_3_holds_only_2019_07_01_nodes(devices):
    server = NetconfServer(devices["17.3.2"])
    try:
        c = Client(server)
        data = c.ok(get(lic("")))
        names = {etree.QName(e).localname for e in data.iter() if etree.QName(e).namespace == CSL}
        assert "usage" in names and "registration" in names
        assert not names & {"policy", "trust-code", "conversion", "rum-ack", "imported-authorizations",
                            "rum-reports-closed-keys", "transport-type", "transport-cslu"}
        # asking for a node the revision lacks selects nothing, as for any node without data
        data = c.ok(get(lic("<state><state-info><policy/></state-info></state>")))
        assert data.find(".//csl:policy", NS) is None
    finally:
        server.close()


@pytest.mark.parametrize("release,config,tag", [
    ("17.3.2", "<config><usage><interval>30</interval></usage></config>", "unknown-element"),
    ("17.3.2", "<config><transport><transport-cslu><url-cslu>http://cslu/</url-cslu></transport-cslu></transport>"
               "</config>", "unknown-element"),
    ("17.3.2", "<config><transport><transport-type>transport-type-cslu</transport-type></transport></config>",
     "invalid-value"),
    ("17.3.2", "<config><transport><transport-type>transport-type-off</transport-type></transport></config>",
     "invalid-value"),
    ("17.4.1a", "<state><state-info><policy/></state-info></state>", "unknown-element"),
])
def test_edits_outside_the_revision_are_refused(devices, release, config, tag):
    dev = devices[release]
    before = dev.config
    server = NetconfServer(dev)
    try:
        Client(server).error(edit(lic(config)), tag)
    finally:
        server.close()
    assert dev.config == before


def test_edits_inside_the_revision_work_on_17_3(devices):
    dev = devices["17.3.2"]
    server = NetconfServer(dev)
    try:
        c = Client(server)
        c.ok(edit(lic("<config><transport><transport-type>transport-type-smart</transport-type></transport>"
                      "<custom-id>C-17-3</custom-id></config>")))
        assert dev.setting("custom_id") == "C-17-3"
        data = c.ok(get(lic("<config><transport/></config>")))
        assert data.findtext(".//csl:transport-type", namespaces=NS) == "transport-type-smart"
    finally:
        server.close()
    state = DataLayer(dev).get()[LICENSING]["state"]["state-info"]
    assert state["transport"]["transport-type"] == "transport-type-smart"
    assert outside(DataLayer(dev).get()[LICENSING], "2019-07-01") == []


def test_rpcs_outside_the_revision_are_refused_on_17_3(devices):
    server = NetconfServer(devices["17.3.2"])
    try:
        c = Client(server)
        for rpc in ("rum-save-usage-all", "import-file", "trust-request-save", "id-token-trust"):
            err = c.error(f'<{rpc} xmlns="{CSL}"><file-path>bootflash:x</file-path></{rpc}>',
                          "operation-not-supported")
            assert err.findtext("nc:error-info/nc:bad-element", namespaces=NS) == rpc
        out = c.ok(f'<register-id-token xmlns="{CSL}"><id-token>abc</id-token></register-id-token>')
        assert out.findtext("csl:return-code", namespaces=NS) == "notsupported"
    finally:
        server.close()
    # the same RPC on 17.4 exists
    server = NetconfServer(devices["17.4.1a"])
    try:
        out = Client(server).ok(f'<rum-save-usage-all xmlns="{CSL}"><file-path>bootflash:u.txt</file-path>'
                                "</rum-save-usage-all>")
        assert out.findtext("csl:return-code", namespaces=NS) == "success"
    finally:
        server.close()


def _restconf(dev):
    client = create_app(dev, secure=True).test_client()
    auth = {"Authorization": "Basic " + base64.b64encode(b"admin:admin").decode(), "Accept": JSON}

    def call(method, path, body=None):
        headers = dict(auth)
        if body is not None:
            headers["Content-Type"] = JSON
        return client.open(path, method=method, headers=headers, base_url=BASE_URL,
                           data=json.dumps(body) if body is not None else None)
    return call


def _error_tag(reply) -> str:
    return reply.get_json()["ietf-restconf:errors"]["error"][0]["error-tag"]


def test_restconf_on_17_3_follows_2019_07_01(devices):
    rc = _restconf(devices["17.3.2"])
    reply = rc("GET", f"/restconf/data/{LICENSING}")
    assert reply.status_code == 200
    tree = reply.get_json()[LICENSING]
    assert outside(tree, "2019-07-01") == []
    assert tree["state"]["state-info"]["usage"][0]["count"] == 2
    # paths the revision lacks: 404 with an RFC 8040 body
    for path in ("state/state-info/policy", "state/state-info/trust-code", "config/usage/interval"):
        reply = rc("GET", f"/restconf/data/{LICENSING}/{path}")
        assert reply.status_code == 404, path
        assert _error_tag(reply) == "invalid-value"
    reply = rc("PUT", f"/restconf/data/{LICENSING}/config/usage/interval", {"cisco-smart-license:interval": 30})
    assert reply.status_code == 404
    reply = rc("POST", "/restconf/operations/cisco-smart-license:import-file",
               {"cisco-smart-license:input": {"file-path": "bootflash:x"}})
    assert reply.status_code == 404 and _error_tag(reply) == "invalid-value"
    ops = rc("GET", "/restconf/operations").get_json()["ietf-restconf:operations"]
    assert "cisco-smart-license:register-id-token" in ops and "cisco-smart-license:import-file" not in ops
    # bodies with nodes or values the revision lacks: 400
    reply = rc("PATCH", f"/restconf/data/{LICENSING}/config",
               {"cisco-smart-license:config": {"usage": {"interval": 30}}})
    assert reply.status_code == 400 and _error_tag(reply) == "unknown-element"
    reply = rc("PATCH", f"/restconf/data/{LICENSING}/config",
               {"cisco-smart-license:config": {"transport": {"transport-type": "transport-type-cslu"}}})
    assert reply.status_code == 400 and _error_tag(reply) == "invalid-value"
    reply = rc("PATCH", f"/restconf/data/{LICENSING}/config",
               {"cisco-smart-license:config": {"transport": {"transport-type": "transport-type-callhome"}}})
    assert reply.status_code == 204
    state = rc("GET", f"/restconf/data/{LICENSING}/state/state-info/transport").get_json()
    assert state == {"cisco-smart-license:transport": {"transport-type": "transport-type-callhome"}}


def test_restconf_on_17_4_has_trust_codes_but_no_policy(devices):
    rc = _restconf(devices["17.4.1a"])
    reply = rc("GET", f"/restconf/data/{LICENSING}/state/state-info/trust-code")
    assert reply.status_code == 200 and reply.get_json()["cisco-smart-license:trust-code"]
    assert rc("GET", f"/restconf/data/{LICENSING}/state/state-info/policy").status_code == 404
    assert outside(rc("GET", f"/restconf/data/{LICENSING}").get_json()[LICENSING], "2020-11-01") == []


def test_conform_keeps_what_the_schema_has():
    old = get_schema("17.3.2").top[LICENSING]
    # one schema per set of served revisions
    assert get_schema("17.3.2") is get_schema("17.3") and get_schema("17.3") is not get_schema()
    assert get_schema("17.5.1a") is get_schema("17.12.1a") is get_schema() is get_schema("17.18.1")
    assert get_schema("17.4.1a").modules["cisco-smart-license"].revision == "2020-11-01"
    tree = {"config": {"enable": True, "usage": {"interval": 30},
                       "transport": {"transport-type": "transport-type-cslu"}},
            "state": {"state-info": {"usage": [{"entitlement-tag": "t1", "count": 2, "frobs": 1},
                                               {"count": 3}],
                                     "udi": {"pid": "C8000V", "sn": "9X"}, "policy": {"policy-name": "p"}}}}
    assert conform(old, tree) == {"config": {"enable": True},
                                  "state": {"state-info": {"usage": [{"entitlement-tag": "t1", "count": 2}],
                                                           "udi": {"pid": "C8000V", "sn": "9X"}}}}
    newest = get_schema().top[LICENSING]
    assert conform(newest, tree)["config"] == {"enable": True, "usage": {"interval": 30},
                                               "transport": {"transport-type": "transport-type-cslu"}}
