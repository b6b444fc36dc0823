"""YANG modules true to the release (issue 12): every Cisco-named module@revision served on any release is Cisco's
schema of that revision (normalized listing derived from Cisco's published module, tests/data/cisco-yang/, with its
source) or a revision of our own Cisco never published; and for each emulated release the NETCONF capabilities,
netconf-state/schemas, <get-schema>, the YANG library and /restconf/schema list and serve exactly the revisions
docs/yang-modules.md documents for it."""

from __future__ import annotations

import base64
import json
import re
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest
from lxml import etree

from emulator.frontends.netconf.server import NetconfServer
from emulator.frontends.restconf.app import create_app
from emulator.tools.yanglisting import listing
from emulator.tools.yangpaths import YANG_DIR, ietf_module_dir
from emulator.yangdata.releases import DEVICE_REVISIONS, served_revisions

REPO = Path(__file__).resolve().parents[2]
DATA = REPO / "tests" / "data" / "cisco-yang"
DOC = REPO / "docs" / "yang-modules.md"
PUBLISHED = json.loads((DATA / "published-revisions.json").read_text())["published"]
RELEASES = {"17.3": "17.3.2", "17.4": "17.4.1a", "17.5": "17.5.1a", "17.6": "17.6.1a", "17.7": "17.7.1a",
            "17.8": "17.8.1a", "17.9": "17.9.1a", "17.10": "17.10.1a", "17.11": "17.11.1a", "17.12": "17.12.1a"}
TRAINS = sorted(RELEASES, key=lambda t: int(t.split(".")[1]))
SUBMODULES = ("Cisco-IOS-XE-license", "cisco-smart-license-errors")
NCM = "urn:ietf:params:xml:ns:yang:ietf-netconf-monitoring"
NC = "urn:ietf:params:xml:ns:netconf:base:1.0"
BASE_URL = "https://192.0.2.1:8443"
# every Cisco-named module or submodule revision some release serves
SERVED = sorted({(name, rev) for train in TRAINS for name, rev in served_revisions("netconf", train).items()},
                key=lambda p: (p[0].lower(), p[1]))


def doc_rows() -> list[tuple[str, str, str, str, str]]:
    rows = []
    for line in DOC.read_text().splitlines():
        m = re.match(r"^\| (17\.\d+) \| (\S+) \| (\S+) \| (\S+) \| (.+) \|$", line)
        if m:
            rows.append(m.groups())
    return rows


def _comparable(lst: dict) -> dict:
    out = {k: v for k, v in lst.items() if k not in ("source", "note", "nodes")}
    out["nodes"] = {n["path"]: n for n in lst["nodes"]}
    return json.loads(json.dumps(out))


def test_the_older_cisco_revisions_are_served():
    assert ("cisco-smart-license", "2019-07-01") in SERVED and ("cisco-smart-license", "2020-11-01") in SERVED
    assert ("cisco-smart-license-errors", "2019-07-01") in SERVED
    assert served_revisions("netconf", "17.3")["cisco-smart-license"] == "2019-07-01"
    assert served_revisions("netconf", "17.4")["cisco-smart-license"] == "2020-11-01"
    assert served_revisions("restconf", "17.5")["cisco-smart-license"] == "2021-03-01"
    # a release outside the documented trains takes the nearest one
    assert served_revisions("netconf", "17.2")["cisco-smart-license"] == "2019-07-01"
    assert served_revisions("netconf", "17.18")["cisco-smart-license"] == "2021-03-01"


@pytest.mark.parametrize("name,rev", SERVED, ids=[f"{n}@{r}" for n, r in SERVED])
def test_every_served_cisco_named_module_is_ciscos_schema_or_our_own_revision(name, rev):
    ours_path = YANG_DIR / f"{name}@{rev}.yang"
    assert ours_path.is_file()
    if rev in PUBLISHED[name]:
        cisco = json.loads((DATA / f"{name}@{rev}.json").read_text())
        assert cisco["source"].startswith("github:YangModels/yang@")
        assert cisco["source"].endswith(f"/{name}.yang") and cisco["revision"] == rev
        ours = listing(ours_path, [YANG_DIR, ietf_module_dir()])
        assert ours["revision"] == rev
        assert _comparable(ours) == _comparable(cisco), f"{name}@{rev} differs from Cisco's schema"
    else:
        assert rev not in PUBLISHED[name]                  # a revision of ours, never one of Cisco's
        assert "slpemu" in ours_path.read_text()           # and the module says whose it is


def test_every_listing_kept_is_of_a_served_revision():
    kept = {tuple(p.stem.split("@")) for p in DATA.glob("*@*.json")}
    assert kept == {(n, r) for n, r in SERVED if r in PUBLISHED[n]}


def test_the_17_3_errors_submodule_lacks_the_two_later_codes():
    old = json.loads((DATA / "cisco-smart-license-errors@2019-07-01.json").read_text())["typedefs"]["error-enum"]
    new = json.loads((DATA / "cisco-smart-license-errors@2020-11-01.json").read_text())["typedefs"]["error-enum"]
    assert old["enums"][-3:] == [["thirdparty", 141], ["transporttype", 142], ["max", 143]]
    assert new["enums"][-3:] == [["requesteditemnotfound", 143], ["noreservationauthcode", 144], ["max", 145]]


def _enum_names(node: dict) -> set[str]:
    return {e[0] for e in node.get("type", {}).get("enums", [])}


def test_older_served_revisions_are_subsets_of_the_newest():
    """Every node of an older served revision is in the newest with the same facts (an enumeration may have
    fewer names, with the same values): the bindings generated from the newest (bindings/) check the edits
    and renderings of every release, and the data layer renders the newest and prunes."""
    newest = {n["path"]: n for n in listing(YANG_DIR / "cisco-smart-license@2021-03-01.yang",
                                             [YANG_DIR, ietf_module_dir()])["nodes"]}
    for rev in ("2019-07-01", "2020-11-01"):
        older = listing(YANG_DIR / f"cisco-smart-license@{rev}.yang", [YANG_DIR, ietf_module_dir()])["nodes"]
        assert older and len(older) < len(newest)
        for node in older:
            new = newest[node["path"]]
            assert {k: v for k, v in node.items() if k != "type"} == {k: v for k, v in new.items() if k != "type"}
            if "type" in node:
                assert _enum_names(node) <= _enum_names(new), node["path"]
                old_values = dict(map(tuple, node["type"].get("enums", [])))
                new_values = dict(map(tuple, new["type"].get("enums", [])))
                assert {k: v for k, v in old_values.items() if k != "max"} == \
                    {k: v for k, v in new_values.items() if k in old_values and k != "max"}, node["path"]
                assert {k: v for k, v in node["type"].items() if k != "enums"} == \
                    {k: v for k, v in new["type"].items() if k != "enums"}, node["path"]


def test_the_docs_table_is_the_release_table():
    rows = doc_rows()
    assert {r[0] for r in rows} == set(DEVICE_REVISIONS) == set(RELEASES)
    for release, module, real, ours, kind in rows:
        served = served_revisions("netconf", release)
        assert DEVICE_REVISIONS[release][module] == real, (release, module)
        assert served[module] == ours, (release, module)
        assert served_revisions("restconf", release)[module] == ours, (release, module)
        assert kind == ("Cisco's schema (listing-checked)" if ours in PUBLISHED[module] else "slpemu's own revision")
    assert len(rows) == sum(len(m) for m in DEVICE_REVISIONS.values())
    # the release's own cisco-smart-license, as a device of that release advertises it
    assert {(r, o) for r, m, real, o, _ in rows if m.startswith("cisco-smart-license")} == \
        {(r, real) for r, m, real, o, _ in rows if m.startswith("cisco-smart-license")}


def _documented(train: str) -> dict[str, str]:
    return {module: ours for release, module, _, ours, _ in doc_rows() if release == train}


def _pairs(pairs, documented) -> set[tuple[str, str]]:
    """The (name, revision) pairs of the documented modules among `pairs`: exactly one per module expected."""
    return {(n, r) for n, r in pairs if n in documented}


@pytest.mark.parametrize("train", TRAINS)
def test_capabilities_and_yang_library_list_the_documented_revisions(make_device, train):
    documented = _documented(train)
    assert len(documented) == 7
    dev = make_device(release=RELEASES[train])
    dev.set_user("admin", "admin", 15)
    server = NetconfServer(dev)
    try:
        hello = etree.fromstring(server.hello(1))
        caps = [c.text for c in hello.iter(f"{{{NC}}}capability")]
        advertised = []
        for cap in caps:
            query = parse_qs(urlsplit(cap).query)
            if "module" in query:
                advertised.append((query["module"][0], query["revision"][0]))
        # submodules are not capabilities (RFC 7950 §5.6.4)
        assert _pairs(advertised, documented) == {(m, r) for m, r in documented.items() if m not in SUBMODULES}
        assert len(_pairs(advertised, documented)) == len([p for p in advertised if p[0] in documented])
        # netconf-state/schemas: modules and submodules, each once
        schemas = [(s["identifier"], s["version"]) for s in server.library.schemas()]
        assert _pairs(schemas, documented) == set(documented.items())
        assert len([p for p in schemas if p[0] in documented]) == len(documented)
        # NETCONF ietf-yang-library and modules-state
        assert _pairs(_library_pairs(server.library.yang_library()), documented) == set(documented.items())
        assert _pairs(_state_pairs(server.library.modules_state()), documented) == set(documented.items())
        # <get-schema> without a version gives the release's text; another release's revision is not served
        for module, rev in documented.items():
            found = server.library.texts(module, None)
            assert [(n, r) for n, r, _ in found] == [(module, rev)]
            assert _first_revision(found[0][2]) == rev
    finally:
        server.close()
    # RESTCONF ietf-yang-library, modules-state and /restconf/schema
    client = create_app(dev, secure=True).test_client()
    auth = {"Authorization": "Basic " + base64.b64encode(b"admin:admin").decode(),
            "Accept": "application/yang-data+json"}
    lib = client.get("/restconf/data/ietf-yang-library:yang-library", headers=auth, base_url=BASE_URL).get_json()
    assert _pairs(_library_pairs(lib["ietf-yang-library:yang-library"]), documented) == set(documented.items())
    state = client.get("/restconf/data/ietf-yang-library:modules-state", headers=auth, base_url=BASE_URL).get_json()
    assert _pairs(_state_pairs(state["ietf-yang-library:modules-state"]), documented) == set(documented.items())
    for module, rev in documented.items():
        for path in (f"/restconf/schema/{module}/{rev}", f"/restconf/schema/{module}@{rev}",
                     f"/restconf/schema/{module}"):
            reply = client.get(path, headers=auth, base_url=BASE_URL)
            assert reply.status_code == 200, path
            assert _first_revision(reply.get_data(as_text=True)) == rev
    other = "2021-03-01" if documented["cisco-smart-license"] != "2021-03-01" else "2019-07-01"
    reply = client.get(f"/restconf/schema/cisco-smart-license/{other}", headers=auth, base_url=BASE_URL)
    assert reply.status_code == 404
    assert reply.get_json()["ietf-restconf:errors"]["error"][0]["error-tag"] == "invalid-value"


def _library_pairs(lib: dict) -> list[tuple[str, str]]:
    out = []
    for mod in lib["module-set"][0]["module"] + lib["module-set"][0]["import-only-module"]:
        out.append((mod["name"], mod.get("revision")))
        out += [(sub["name"], sub["revision"]) for sub in mod.get("submodule", [])]
    return out


def _state_pairs(state: dict) -> list[tuple[str, str]]:
    return [(m["name"], m["revision"]) for m in state["module"]] + \
        [(s["name"], s["revision"]) for m in state["module"] for s in m.get("submodule", [])]


def _first_revision(text: str) -> str:
    return re.search(r"^\s*revision\s+\"?(\d{4}-\d{2}-\d{2})", text, re.M).group(1)


def test_get_schema_on_a_17_3_device(make_device):
    from tests.unit.test_netconf_session import Client
    dev = make_device(release="17.3.2")
    dev.set_user("admin", "admin", 15)
    server = NetconfServer(dev)
    try:
        c = Client(server)
        text = c.ok(f'<get-schema xmlns="{NCM}"><identifier>cisco-smart-license</identifier></get-schema>'
                    ).findtext(f"{{{NCM}}}data")
        assert _first_revision(text) == "2019-07-01"
        assert "rpc import-file" not in text and "revision-date 2019-07-01" in text
        sub = c.ok(f'<get-schema xmlns="{NCM}"><identifier>cisco-smart-license-errors</identifier>'
                   "<version>2019-07-01</version></get-schema>").findtext(f"{{{NCM}}}data")
        assert _first_revision(sub) == "2019-07-01" and "noreservationauthcode" not in sub
        c.error(f'<get-schema xmlns="{NCM}"><identifier>cisco-smart-license</identifier>'
                "<version>2021-03-01</version></get-schema>", "invalid-value")
    finally:
        server.close()


def test_the_listing_tells_a_changed_enum_or_range(tmp_path):
    text = (YANG_DIR / "cisco-smart-license@2021-03-01.yang").read_text()
    base = _comparable(listing(YANG_DIR / "cisco-smart-license@2021-03-01.yang", [YANG_DIR, ietf_module_dir()]))
    changed = re.sub(r"enum (\S+) \{", r"enum \1-x {", text, count=1)
    assert changed != text
    (tmp_path / "cisco-smart-license@2021-03-01.yang").write_text(changed)
    other = _comparable(listing(tmp_path / "cisco-smart-license@2021-03-01.yang", [YANG_DIR, ietf_module_dir()]))
    assert other != base
