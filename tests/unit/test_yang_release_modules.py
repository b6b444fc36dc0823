"""YANG modules true to the release (issue 12): every Cisco-named module@revision served is Cisco's schema of
that revision (normalized listing derived from Cisco's published module, tests/data/cisco-yang/, with its
source) or a revision of our own Cisco never published; and for each emulated release the NETCONF
capabilities and the YANG library list exactly the revisions docs/yang-modules.md documents for it."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from lxml import etree

from emulator.frontends.netconf.server import NetconfServer
from emulator.tools.yanglisting import listing
from emulator.tools.yangpaths import YANG_DIR, ietf_module_dir
from emulator.yangdata.library import yang_library
from emulator.yangdata.releases import DEVICE_REVISIONS, served_revisions

REPO = Path(__file__).resolve().parents[2]
DATA = REPO / "tests" / "data" / "cisco-yang"
DOC = REPO / "docs" / "yang-modules.md"
PUBLISHED = json.loads((DATA / "published-revisions.json").read_text())["published"]
RELEASES = {"17.3": "17.3.2", "17.4": "17.4.1a", "17.5": "17.5.1a", "17.6": "17.6.1a", "17.7": "17.7.1a",
            "17.8": "17.8.1a", "17.9": "17.9.1a", "17.10": "17.10.1a", "17.11": "17.11.1a", "17.12": "17.12.1a"}


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


@pytest.mark.parametrize("name", sorted(served_revisions(), key=str.lower))
def test_every_served_cisco_named_module_is_ciscos_schema_or_our_own_revision(name):
    rev = served_revisions()[name]
    ours_path = YANG_DIR / f"{name}@{rev}.yang"
    assert ours_path.is_file()
    if rev in PUBLISHED[name]:
        cisco = json.loads((DATA / f"{name}@{rev}.json").read_text())
        assert cisco["source"].startswith("github:YangModels/yang@")
        ours = listing(ours_path, [YANG_DIR, ietf_module_dir()])
        assert _comparable(ours) == _comparable(cisco), f"{name}@{rev} differs from Cisco's schema"
    else:
        assert rev not in PUBLISHED[name]                  # a revision of ours, never one of Cisco's
        assert "slpemu" in ours_path.read_text()           # and the module says whose it is


def test_the_docs_table_is_the_release_table():
    rows = doc_rows()
    assert {r[0] for r in rows} == set(DEVICE_REVISIONS) == set(RELEASES)
    served = served_revisions()
    for release, module, real, ours, kind in rows:
        assert DEVICE_REVISIONS[release][module] == real, (release, module)
        assert served[module] == ours, (release, module)
        assert kind == ("Cisco's schema (listing-checked)" if ours in PUBLISHED[module] else "slpemu's own revision")
    assert len(rows) == sum(len(m) for m in DEVICE_REVISIONS.values())


@pytest.mark.parametrize("train", sorted(RELEASES, key=lambda t: int(t.split(".")[1])))
def test_capabilities_and_yang_library_list_the_documented_revisions(make_device, train):
    documented = {module: ours for release, module, _, ours, _ in doc_rows() if release == train}
    dev = make_device(release=RELEASES[train])
    hello = etree.fromstring(NetconfServer(dev).hello(1))
    caps = [c.text for c in hello.iter("{urn:ietf:params:xml:ns:netconf:base:1.0}capability")]
    advertised = {}
    for cap in caps:
        m = re.search(r"[?&]module=([^&]+)&revision=([0-9-]+)", cap)
        if m:
            advertised[m.group(1)] = m.group(2)
    for module, rev in documented.items():
        if module in ("Cisco-IOS-XE-license", "cisco-smart-license-errors"):
            continue                                      # submodules are not capabilities (RFC 7950 §5.6.4)
        assert advertised[module] == rev, (train, module)
    for proto in ("netconf", "restconf"):
        lib = yang_library(proto).yang_library()
        found = {}
        for mod in lib["module-set"][0]["module"] + lib["module-set"][0]["import-only-module"]:
            found[mod["name"]] = mod.get("revision")
            for sub in mod.get("submodule", []):
                found[sub["name"]] = sub["revision"]
        assert {m: found[m] for m in documented} == documented, (train, proto)
        state = {m["name"]: m["revision"] for m in yang_library(proto).modules_state()["module"]}
        assert {m: state[m] for m in documented if m in state} == \
            {m: r for m, r in documented.items() if m in state}


def test_the_listing_tells_a_changed_enum_or_range(tmp_path):
    text = (YANG_DIR / "cisco-smart-license@2021-03-01.yang").read_text()
    base = _comparable(listing(YANG_DIR / "cisco-smart-license@2021-03-01.yang", [YANG_DIR, ietf_module_dir()]))
    changed = re.sub(r"enum (\S+) \{", r"enum \1-x {", text, count=1)
    assert changed != text
    (tmp_path / "cisco-smart-license@2021-03-01.yang").write_text(changed)
    other = _comparable(listing(tmp_path / "cisco-smart-license@2021-03-01.yang", [YANG_DIR, ietf_module_dir()]))
    assert other != base
