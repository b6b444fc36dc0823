"""One YANG library for both servers: NETCONF's hello, netconf-state/schemas, get-schema and yang-library, and
RESTCONF's ietf-yang-library and /restconf/schema all come from `emulator.yangdata.library` and agree."""

import base64
import json
from pathlib import Path
from types import SimpleNamespace
from urllib.parse import parse_qs, urlsplit

import pytest
from lxml import etree

from emulator.frontends.netconf.server import NetconfServer
from emulator.frontends.restconf.app import create_app
from emulator.frontends.restconf.library import YANG_LIBRARY_REVISION
from emulator.yangdata.library import (NETCONF, RESTCONF, SERVER_MODULES, ProtocolSchema, YangLibrary,
                                       served_modules, yang_library)
from emulator.yangdata.schema import ModuleInfo
from tests.unit.test_netconf_session import NCM, NS, Client, get

YL = "urn:ietf:params:xml:ns:yang:ietf-yang-library"
BASE_URL = "https://192.0.2.1:8443"
PROTOCOL_OWN = {NETCONF: {"ietf-netconf", "ietf-netconf-monitoring"},
                RESTCONF: {"ietf-restconf", "ietf-restconf-monitoring"}}


@pytest.fixture
def device(make_device):
    dev = make_device()
    dev.set_user("admin", "admin", 15)
    return dev


@pytest.fixture
def netconf(device):
    srv = NetconfServer(device)
    yield Client(srv)
    srv.close()


@pytest.fixture
def restconf(device):
    client = create_app(device, secure=True).test_client()
    auth = {"Authorization": "Basic " + base64.b64encode(b"admin:admin").decode()}

    def fetch(path, accept="application/yang-data+json"):
        return client.get(path, headers={**auth, "Accept": accept}, base_url=BASE_URL)
    return fetch


def _hello_modules(client) -> dict[str, dict]:
    out = {}
    for cap in client.server_hello.iter("{urn:ietf:params:xml:ns:netconf:base:1.0}capability"):
        url = urlsplit(cap.text)
        query = parse_qs(url.query)
        if "module" not in query:
            continue
        name = query["module"][0]
        out[name] = {"namespace": cap.text.split("?")[0], "revision": query["revision"][0],
                     "features": sorted(query.get("features", [""])[0].split(",")) if "features" in query else [],
                     "deviations": sorted(query["deviations"][0].split(",")) if "deviations" in query else []}
    return out


def _restconf_modules(restconf) -> dict[str, dict]:
    state = restconf("/restconf/data/ietf-yang-library:modules-state").get_json()["ietf-yang-library:modules-state"]
    return {m["name"]: {"namespace": m["namespace"], "revision": m["revision"],
                        "features": sorted(m.get("feature", [])),
                        "deviations": sorted(d["name"] for d in m.get("deviation", [])),
                        "conformance": m["conformance-type"],
                        "submodules": sorted((s["name"], s["revision"]) for s in m.get("submodule", []))}
            for m in state["module"]}


def test_netconf_hello_and_restconf_yang_library_list_the_same_modules(netconf, restconf):
    hello = _hello_modules(netconf)
    rc = _restconf_modules(restconf)
    assert set(hello) - set(rc) == PROTOCOL_OWN[NETCONF]
    assert set(rc) - set(hello) == PROTOCOL_OWN[RESTCONF]
    assert {"cisco-smart-license", "Cisco-IOS-XE-native", "slpemu-control", "ietf-yang-library"} <= set(hello)
    for name in set(hello) & set(rc):
        assert hello[name] == {k: rc[name][k] for k in hello[name]}, name
    # RFC 8525 yang-library holds the same modules as RFC 7895 modules-state, with the same conformance
    lib = restconf("/restconf/data/ietf-yang-library:yang-library").get_json()["ietf-yang-library:yang-library"]
    module_set = lib["module-set"][0]
    implemented = {m["name"] for m in module_set["module"]}
    imported = {m["name"] for m in module_set["import-only-module"]}
    assert implemented | imported == set(rc) and not implemented & imported
    assert imported == {n for n, m in rc.items() if m["conformance"] == "import"}
    assert lib["content-id"] == restconf("/restconf/data/ietf-yang-library:modules-state").get_json()[
        "ietf-yang-library:modules-state"]["module-set-id"]


def test_netconf_yang_library_and_schemas_agree_with_the_hello_and_restconf(netconf, restconf):
    hello = _hello_modules(netconf)
    data = netconf.ok(get(f'<yang-library xmlns="{YL}"/>'))
    module_set = data.find(f".//{{{YL}}}module-set")
    nc_entries = {}
    for kind in ("module", "import-only-module"):
        for m in module_set.iterfind(f"{{{YL}}}{kind}"):
            nc_entries[m.findtext(f"{{{YL}}}name")] = (kind, m.findtext(f"{{{YL}}}revision"),
                                                     m.find(f"{{{YL}}}location") is None)
    assert set(nc_entries) == set(hello)
    assert all(rev == hello[name]["revision"] and no_location for name, (_, rev, no_location) in nc_entries.items())
    content_id = data.findtext(f".//{{{YL}}}content-id")
    caps = [e.text for e in netconf.server_hello.iter("{urn:ietf:params:xml:ns:netconf:base:1.0}capability")]
    assert any(c.endswith(f"content-id={content_id}") for c in caps)
    assert any(c.endswith(f"module-set-id={content_id}") for c in caps)
    # the datastore identities carry a declared prefix
    names = [e for e in data.iter(f"{{{YL}}}name") if (e.text or "").startswith("ds:")]
    assert {e.text for e in names} == {"ds:running", "ds:operational"}
    assert all(e.nsmap["ds"] == "urn:ietf:params:xml:ns:yang:ietf-datastores" for e in names)
    rc_lib = restconf("/restconf/data/ietf-yang-library:yang-library").get_json()["ietf-yang-library:yang-library"]
    rc_set = rc_lib["module-set"][0]
    rc_entries = {m["name"]: kind for kind in ("module", "import-only-module") for m in rc_set[kind]}
    common = set(nc_entries) & set(rc_entries)
    assert {n: nc_entries[n][0] for n in common} == {n: rc_entries[n] for n in common}
    # netconf-state/schemas: every module and submodule, each fetchable with get-schema, same text as RESTCONF's
    state = netconf.ok(get(f'<netconf-state xmlns="{NCM}"><schemas/></netconf-state>'))
    schemas = {(s.findtext("ncm:identifier", namespaces=NS), s.findtext("ncm:version", namespaces=NS))
               for s in state.iterfind(".//ncm:schema", NS)}
    rc = _restconf_modules(restconf)
    expected = {(n, m["revision"]) for n, m in hello.items()}
    expected |= {sub for n in hello if n in rc for sub in rc[n]["submodules"]}
    assert schemas == expected
    for name, rev in sorted(schemas):
        text = netconf.ok(f'<get-schema xmlns="{NCM}"><identifier>{name}</identifier><version>{rev}</version>'
                          "</get-schema>").findtext("ncm:data", namespaces=NS)
        assert text.lstrip().startswith(("module " + name, "submodule " + name))
        if name not in PROTOCOL_OWN[NETCONF]:
            served = restconf(f"/restconf/schema/{name}/{rev}")
            assert served.status_code == 200 and served.get_data(as_text=True) == text, name


def test_every_module_restconf_lists_has_a_location_that_serves_its_text(restconf):
    lib = restconf("/restconf/data/ietf-yang-library:yang-library").get_json()["ietf-yang-library:yang-library"]
    module_set = lib["module-set"][0]
    entries = module_set["module"] + module_set["import-only-module"]
    entries += [s for m in module_set["module"] for s in m.get("submodule", [])]
    assert {"ietf-restconf", "ietf-netconf-with-defaults", "Cisco-IOS-XE-license"} <= {e["name"] for e in entries}
    for entry in entries:
        [location] = entry["location"]
        assert location == f"{BASE_URL}/restconf/schema/{entry['name']}/{entry['revision']}"
        reply = restconf(location[len(BASE_URL):])
        assert reply.status_code == 200, entry["name"]
        assert f"module {entry['name']}" in reply.get_data(as_text=True) or \
            f"submodule {entry['name']}" in reply.get_data(as_text=True)
    state = restconf("/restconf/data/ietf-yang-library:modules-state").get_json()["ietf-yang-library:modules-state"]
    assert all(m["schema"].startswith(f"{BASE_URL}/restconf/schema/") for m in state["module"])


def test_the_announced_yang_library_revision_is_the_module_served(restconf):
    assert YANG_LIBRARY_REVISION == yang_library(RESTCONF).yang_library_revision \
        == yang_library(NETCONF).yang_library_revision
    assert restconf("/restconf/yang-library-version").get_json() == {
        "ietf-restconf:yang-library-version": YANG_LIBRARY_REVISION}


def test_server_modules_and_features():
    for protocol, own in PROTOCOL_OWN.items():
        assert set(SERVER_MODULES[protocol]) == own
        assert set(yang_library(protocol).top) >= {"ietf-yang-library:yang-library",
                                                    "ietf-yang-library:modules-state"}
    assert set(ProtocolSchema.implemented) >= set(SERVER_MODULES[NETCONF]) | set(SERVER_MODULES[RESTCONF])
    netconf_mod = yang_library(NETCONF).module("ietf-netconf")
    assert netconf_mod.features == ("writable-running", "validate", "xpath")      # no candidate, startup, url
    assert "features=writable-running,validate,xpath" in netconf_mod.capability()
    assert yang_library(RESTCONF).module("ietf-netconf") is None
    assert yang_library(NETCONF).module("ietf-restconf-monitoring") is None
    with pytest.raises(ValueError):
        served_modules("snmp")


DEVIATING = """module acme-deviations {
  yang-version 1.1;
  namespace "urn:acme:deviations";
  prefix acme-dev;
  import cisco-smart-license { prefix csl; }
  import ietf-yang-library { prefix yanglib; }
  revision 2024-05-01;
  deviation "/csl:licensing/csl:config/csl:privacy" {
    deviate not-supported;
  }
  deviation /yanglib:modules-state {
    deviate not-supported;
  }
}
"""


def _info(name, revision, path, implemented=True, namespace="urn:x", features=()):
    return ModuleInfo(name, revision, namespace, name, Path(path), [], list(features), implemented)


def test_deviations_are_derived_from_the_deviation_statements(tmp_path):
    dev = tmp_path / "acme-deviations@2024-05-01.yang"
    dev.write_text(DEVIATING)
    plain = tmp_path / "cisco-smart-license.yang"
    plain.write_text("module cisco-smart-license { namespace urn:csl; prefix csl; }\n")
    yl = tmp_path / "ietf-yang-library.yang"
    yl.write_text("module ietf-yang-library { namespace urn:yl; prefix yanglib; }\n")
    schema = SimpleNamespace(modules={
        "acme-deviations": _info("acme-deviations", "2024-05-01", dev, namespace="urn:acme:deviations"),
        "cisco-smart-license": _info("cisco-smart-license", "2021-03-01", plain, features=["f1"]),
        "ietf-yang-library": _info("ietf-yang-library", "2019-01-04", yl),
        "ietf-netconf-monitoring": _info("ietf-netconf-monitoring", "2010-10-04", yl),
    })
    lib = YangLibrary(RESTCONF, schemas=(schema,))
    assert [m.name for m in lib.modules] == ["acme-deviations", "cisco-smart-license", "ietf-yang-library"]
    csl = lib.module("cisco-smart-license")
    assert csl.deviations == (("acme-deviations", "2024-05-01"),)
    assert csl.capability() == "urn:x?module=cisco-smart-license&revision=2021-03-01&features=f1" \
                               "&deviations=acme-deviations"
    assert lib.module("ietf-yang-library").deviations == (("acme-deviations", "2024-05-01"),)
    assert lib.module("acme-deviations").deviations == ()
    state = {m["name"]: m for m in lib.modules_state()["module"]}
    assert state["cisco-smart-license"]["deviation"] == [{"name": "acme-deviations", "revision": "2024-05-01"}]
    module_set = lib.yang_library()["module-set"][0]
    assert {m["name"]: m.get("deviation") for m in module_set["module"]}["cisco-smart-license"] == \
        ["acme-deviations"]
    # without a location function, no locations; the texts are served all the same
    assert "location" not in json.dumps(module_set)
    assert lib.text("acme-deviations", "2024-05-01") == DEVIATING
    assert lib.texts("acme-deviations", "1999-01-01") == []


def test_restconf_error_paths_still_resolve_server_module_prefixes(restconf):
    for path, prefix, namespace in [
            ("/restconf/data/ietf-yang-library:modules-state/nothing", "yanglib", YL),
            ("/restconf/data/ietf-restconf-monitoring:restconf-state/capabilities/x", "rcmon",
             "urn:ietf:params:xml:ns:yang:ietf-restconf-monitoring")]:
        reply = restconf(path, accept="application/yang-data+xml")
        assert reply.status_code == 404
        error_path = etree.fromstring(reply.get_data()).find(".//{*}error-path")
        assert error_path.text.startswith(f"/{prefix}:") and error_path.nsmap[prefix] == namespace
