"""Checks of our YANG modules (yang/) and the generated bindings (bindings/).

(a) every module passes `pyang --strict` without errors or warnings;
(b) bindings/ is exactly what `python -m emulator.tools.genbindings` produces
    (fails when someone edits yang/ and forgets to regenerate);
(c) spot checks of the schema against the device model
    (docs: shared spec yang-tree.md sections 2, 5.1 and 5.2).
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from pyang import context, repository

from emulator.tools import genbindings
from emulator.tools.yangpaths import YANG_DIR, ietf_module_dir

REPO = Path(__file__).resolve().parents[2]
BINDINGS_DIR = REPO / "bindings"
YANG_FILES = sorted(YANG_DIR.glob("*.yang"))


# --------------------------------------------------------------------------
# helpers


def _pyang(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "pyang", "-p", str(YANG_DIR), "-p", str(ietf_module_dir()), *args],
        capture_output=True,
        text=True,
        cwd=REPO,
    )


@pytest.fixture(scope="module")
def ctx():
    repo = repository.FileRepository(f"{YANG_DIR}{os.pathsep}{ietf_module_dir()}", use_env=False)
    c = context.Context(repo)
    mods = {}
    for name in genbindings.TOP_MODULES:
        path = genbindings.module_file(name)
        mods[name] = c.add_module(str(path), path.read_text(encoding="utf-8"))
    c.validate()
    assert not c.errors, c.errors
    c.slp = mods
    return c


def node(parent, *names):
    """Walk i_children by name; choices and cases are named like data nodes."""
    cur = parent
    for name in names:
        matches = [ch for ch in cur.i_children if ch.arg == name]
        assert matches, f"{name!r} not found under {cur.keyword} {cur.arg!r}"
        cur = matches[0]
    return cur


def enum_values(type_stmt):
    """Resolved (name, value) pairs of an enumeration type (typedefs followed)."""
    spec = type_stmt.i_type_spec
    while not hasattr(spec, "enums"):
        spec = spec.base
    return list(spec.enums)


def typedef(ctx, module, name):
    mod = ctx.slp[module]
    stmts = [mod] + [ctx.get_module(i.arg) for i in mod.search("include")]
    for s in stmts:
        td = s.search_one("typedef", name)
        if td is not None:
            return td
    raise AssertionError(f"typedef {name} not in {module}")


# --------------------------------------------------------------------------
# (a) pyang --strict


@pytest.mark.parametrize("path", YANG_FILES, ids=[p.name for p in YANG_FILES])
def test_pyang_strict_clean(path):
    proc = _pyang("--strict", str(path))
    out = proc.stdout + proc.stderr
    assert proc.returncode == 0, out
    assert "error:" not in out, out
    assert "warning:" not in out, out


def test_pyang_strict_all_top_modules_together():
    files = [str(genbindings.module_file(m)) for m in genbindings.TOP_MODULES]
    proc = _pyang("--strict", *files)
    out = proc.stdout + proc.stderr
    assert proc.returncode == 0 and "error:" not in out, out


@pytest.mark.parametrize("path", YANG_FILES, ids=[p.name for p in YANG_FILES])
def test_file_name_matches_module_and_latest_revision(path):
    text = path.read_text(encoding="utf-8")
    kw, name = re.search(r"^(module|submodule)\s+(\S+)\s*\{", text, re.M).groups()
    revisions = re.findall(r"^\s*revision\s+\"?(\d{4}-\d{2}-\d{2})\"?", text, re.M)
    assert revisions, "no revision statement"
    assert revisions == sorted(revisions, reverse=True), "revisions must be newest first"
    assert path.name == f"{name}@{revisions[0]}.yang"


def test_expected_module_set():
    assert {p.name for p in YANG_FILES} >= {
        "cisco-smart-license@2021-03-01.yang",
        "cisco-smart-license-errors@2020-11-01.yang",
        "Cisco-IOS-XE-native@2026-11-27.yang",
        "Cisco-IOS-XE-license@2026-11-27.yang",
        "Cisco-IOS-XE-rpc@2026-11-27.yang",
        "slpemu-control@2026-11-27.yang",
        "cisco-ia@2018-03-21.yang",
    }
    assert any(p.name.startswith("cisco-semver@") for p in YANG_FILES)


# --------------------------------------------------------------------------
# (b) bindings freshness


def test_bindings_are_fresh(tmp_path):
    out = tmp_path / "bindings"
    proc = subprocess.run(
        [sys.executable, "-m", "emulator.tools.genbindings", str(out)],
        capture_output=True,
        text=True,
        cwd=REPO,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    fresh = {p.name: p.read_bytes() for p in out.iterdir() if p.is_file()}
    committed = {
        p.name: p.read_bytes()
        for p in BINDINGS_DIR.iterdir()
        if p.is_file() and p.suffix == ".py"
    }
    assert set(fresh) == {
        "__init__.py",
        "cisco_smart_license.py",
        "cisco_ios_xe_native.py",
        "cisco_ios_xe_rpc.py",
        "slpemu_control.py",
        "cisco_ia.py",
    }
    assert set(committed) == set(fresh), "bindings/ has missing or extra files"
    stale = sorted(n for n in fresh if fresh[n] != committed[n])
    assert not stale, (
        f"stale bindings {stale}: run `python -m emulator.tools.genbindings bindings`"
    )


def test_bindings_have_no_machine_specific_content():
    for p in BINDINGS_DIR.glob("*.py"):
        text = p.read_text(encoding="utf-8")
        assert str(REPO) not in text and "/tmp/" not in text, p.name


# --------------------------------------------------------------------------
# (c) schema spot checks: cisco-smart-license


def test_csl_header(ctx):
    m = ctx.slp["cisco-smart-license"]
    assert m.search_one("yang-version") is None  # YANG 1.0 like the device
    assert m.search_one("namespace").arg == "http://cisco.com/ns/yang/cisco-smart-license"
    assert m.search_one("prefix").arg == "cisco-smart-license"
    assert [r.arg for r in m.search("revision")] == [
        "2021-03-01", "2020-11-01", "2019-07-01", "2017-10-11",
    ]
    assert {i.arg: i.search_one("prefix").arg for i in m.search("import")} == {
        "cisco-semver": "cisco-semver",
        "ietf-yang-types": "yang",
        "ietf-inet-types": "inet",
    }
    assert [i.arg for i in m.search("include")] == ["cisco-smart-license-errors"]


def test_conversion_status_enum(ctx):
    vals = dict(enum_values(typedef(ctx, "cisco-smart-license", "conversion-status-enum").search_one("type")))
    assert vals["Conversion-status-success"] == 3
    assert "conversion-status-success" not in vals
    assert len(vals) == 7


def test_error_enum(ctx):
    pairs = enum_values(typedef(ctx, "cisco-smart-license", "error-enum").search_one("type"))
    vals = dict(pairs)
    assert len(pairs) == 146
    assert [v for _, v in pairs] == list(range(146))
    assert vals["success"] == 0
    assert vals["BadInputParams"] == 6
    assert vals["communkown"] == 34
    assert vals["notenabled"] == 19
    assert vals["alreadyregistered"] == 40
    assert vals["registrationinprogress"] == 53
    assert vals["noreservationauthcode"] == 144
    assert vals["max"] == 145
    td = typedef(ctx, "cisco-smart-license", "error-enum")
    max_enum = td.search_one("type").search_one("enum", "max")
    assert max_enum.search_one("value") is None  # implicit, like the device model


def test_transport_type_enum(ctx):
    vals = enum_values(typedef(ctx, "cisco-smart-license", "transport-type-enum").search_one("type"))
    assert vals == [
        ("transport-type-callhome", 0),
        ("transport-type-smart", 1),
        ("transport-type-cslu", 2),
        ("transport-type-off", 3),
        ("transport-type-automatic", 4),
    ]


def test_other_enums(ctx):
    def vals(name):
        return dict(enum_values(typedef(ctx, "cisco-smart-license", name).search_one("type")))

    assert vals("registration-state-enum")["reg-state-failed"] == 4
    assert vals("authorization-state-enum")["auth-state-authorization-expired"] == 6
    assert vals("enforcement-mode-enum")["enforcement-disabled"] == 9
    assert vals("policy-types-enum")["policy-type-merged"] == 8
    assert vals("rum-report-state-enum")["rum-report-state-acknowledged"] == 5
    assert vals("license-auth-type-enum")["authorization-type-pak"] == 5
    assert vals("utility-reporting-type-enum") == {
        "utility-reporting-type-none": 0,
        "utility-reporting-type-subscription": 1,
        "utility-reporting-type-certificate": 2,
    }


def test_rum_reports_closed_keys_key_is_last(ctx):
    lst = node(ctx.slp["cisco-smart-license"], "licensing", "state", "state-info", "rum-reports-closed-keys")
    assert lst.keyword == "list"
    assert lst.search_one("key").arg == "rum-report-key"
    assert [c.arg for c in lst.i_children] == [
        "report-id", "udi", "report-start-time", "report-end-time", "report-state", "rum-report-key",
    ]


@pytest.mark.parametrize(
    "path",
    [
        ("trust-code",),
        ("conversion",),
        ("factory-purchase",),
        ("imported-authorizations", "overall-status"),
    ],
)
def test_key_udi_lists(ctx, path):
    lst = node(ctx.slp["cisco-smart-license"], "licensing", "state", "state-info", *path)
    assert lst.search_one("key").arg == "key_udi"
    assert lst.i_children[0].arg == "key_udi"
    udi = node(lst, "udi")
    assert [c.arg for c in udi.i_children] == [
        "pid", "sn", "vid", "uuid", "suvi", "host-identifier", "mac-address",
    ]
    assert node(udi, "uuid").search_one("type").arg == "yang:uuid"
    assert node(udi, "mac-address").search_one("type").arg == "yang:mac-address"


def test_usage_interval(ctx):
    leaf = node(ctx.slp["cisco-smart-license"], "licensing", "config", "usage", "interval")
    t = leaf.search_one("type")
    assert t.arg == "uint32"
    assert t.search_one("range").arg == "1..365"
    assert leaf.search_one("units").arg == "days"


def test_state_is_config_false_and_when_conditions(ctx):
    lic = node(ctx.slp["cisco-smart-license"], "licensing")
    assert node(lic, "state").search_one("config").arg == "false"
    assert node(lic, "state", "state-info", "usage").i_config is False
    assert node(lic, "config", "enable").i_config is True
    assert node(lic, "state", "state-info").search_one("when").arg == "../smart-enabled = 'true'"
    # model bug kept on purpose: the enum literal is really utility-reporting-type-none
    for c in ("reporting-times", "customer-info"):
        w = node(lic, "state", "state-info", "utility", c).search_one("when").arg
        assert w == "../reporting != 'utility-reporting-none'"
    assert (
        node(lic, "config", "transport", "transport-smart").search_one("when").arg
        == "../transport-type = 'transport-type-smart'"
    )
    assert (
        node(lic, "state", "state-info", "trust-code", "time-installed").search_one("when").arg
        == "../is-installed = 'true'"
    )


def test_unused_confirmation_code_grouping(ctx):
    g = ctx.slp["cisco-smart-license"].search_one("grouping", "authorization-confirmation-code-grouping")
    assert g is not None
    assert [c.arg for c in g.substmts if c.keyword in ("container", "leaf")] == ["udi", "confirmation-code"]


CSL_RPCS = [
    "register-id-token", "de-register", "renew-id", "renew-auth", "id-token-trust",
    "rum-save-usage-all", "rum-save-usage-unreported", "rum-save-usage-days",
    "trust-request-save", "authorization-request-online",
    "authorization-code-return-online", "authorization-code-return-offline", "import-file",
]

CSL_NOTIFICATIONS = [
    "ready", "enabled", "registration-fail", "enforcement-mode", "registration-success",
    "registration-expired", "registration-renew-success", "registration-renew-fail",
    "authorization-renew-success", "authorization-renew-fail", "communications-fail",
    "communications-restored", "registration-out-of-range", "evaluation-expiration-warning",
    "evaluation-expired", "registration-expiration-warning", "de-register-success",
    "de-register-fail", "utility-expired", "utility-renewal-fail", "utility-renewal-success",
    "utility-RUM-fail", "utility-reporting-started", "utility-reporting-stopped",
]


def test_rpcs_and_notifications(ctx):
    m = ctx.slp["cisco-smart-license"]
    rpcs = [c.arg for c in m.i_children if c.keyword == "rpc"]
    notifs = [c.arg for c in m.i_children if c.keyword == "notification"]
    assert rpcs == CSL_RPCS and len(rpcs) == 13
    assert notifs == CSL_NOTIFICATIONS and len(notifs) == 24
    for r in rpcs:
        rc = node(m, r, "output", "return-code")
        assert rc.search_one("type").arg == "error-enum"
    tok = node(m, "id-token-trust", "input", "id-token")
    assert tok.search_one("mandatory").arg == "true"
    assert node(m, "register-id-token", "input", "id-token").search_one("mandatory") is None
    assert node(m, "authorization-request-online", "input", "add").search_one("default").arg == "true"
    fp = node(m, "import-file", "input", "file-path").search_one("type")
    assert fp.search_one("length").arg == "1..127"
    assert node(m, "enforcement-mode", "mode").search_one("type").arg == "authorization-state-enum"
    assert [c.arg for c in node(m, "utility-RUM-fail").i_children] == ["reason", "message"]


# --------------------------------------------------------------------------
# (c) native license subtree and the exec RPC


def test_native_license(ctx):
    m = ctx.slp["Cisco-IOS-XE-native"]
    assert m.search_one("yang-version").arg == "1.1"
    assert m.search_one("namespace").arg == "http://cisco.com/ns/yang/Cisco-IOS-XE-native"
    assert m.search_one("prefix").arg == "ios"
    lic = node(m, "native", "license")
    assert [c.arg for c in lic.i_children] == ["udi", "feature", "accept", "boot", "smart"]
    tt = node(lic, "smart", "transport-type").search_one("type")
    assert [n for n, _ in enum_values(tt)] == ["callhome", "smart", "cslu", "Off", "automatic"]
    interval = node(lic, "smart", "usage", "interval")
    assert interval.search_one("type").search_one("range").arg == "1..365"
    assert interval.search_one("units").arg == "days"
    choice = node(lic, "boot", "level", "license-choice")
    cases = [c.arg for c in choice.i_children]
    # the 25 levels of Cisco's module of IOS XE 17.3 to 17.15, on every platform; `advantage` and
    # `essentials` come with 17.17 (docs/yang-modules.md, "Boot levels")
    assert len(cases) == 25
    assert cases[0] == "ipbase-case" and cases[-1] == "FoundationSuiteK9-case"
    assert not {"advantage-case", "essentials-case"} & set(cases)
    na = node(choice, "network-advantage-case", "network-advantage")
    assert na.search_one("presence") is not None
    assert [n for n, _ in enum_values(node(na, "addon").search_one("type"))] == [
        "dna-advantage", "dna-essentials",
    ]
    assert node(choice, "appxk9-case", "appxk9").search_one("type").arg == "empty"
    url = node(lic, "smart", "url")
    assert node(url, "cslu").search_one("type").arg == "inet:uri"
    assert [c.arg for c in node(url, "url-setting").i_children] == ["set-default", "set-urls"]
    assert [c.arg for c in node(lic, "smart", "utility", "customer-info").i_children] == [
        "city", "country", "id", "name", "postalcode", "state", "street",
    ]


def test_rpc_license(ctx):
    m = ctx.slp["Cisco-IOS-XE-rpc"]
    assert m.search_one("yang-version").arg == "1.1"
    assert m.search_one("prefix").arg == "ios-xe-rpc"
    assert [c.arg for c in m.i_children if c.keyword == "rpc"] == ["license"]
    choice = node(m, "license", "input", "license-command-choice")
    assert [c.arg for c in choice.i_children] == ["licese-smart", "license-install", "license-clear"]
    smart = node(choice, "licese-smart", "smart", "smart-choice")
    assert [c.arg for c in smart.i_children] == [
        "smart-save-case", "smart-authorization-case", "import-case", "trust-case",
        "register-case", "deregister-case", "renew-case",
    ]
    usage = node(smart, "smart-save-case", "save", "save-case", "save-usage-case", "usage")
    assert [c.arg for c in usage.i_children] == ["usage-case", "days", "file"]
    assert node(usage, "days").search_one("type").search_one("range").arg == "1..1000000"
    renew = node(smart, "renew-case", "renew", "renew-choice")
    assert renew.search_one("mandatory").arg == "true"
    assert [c.arg for c in node(m, "license", "output").i_children] == ["result"]
    install = node(choice, "license-install", "install")
    pattern = install.search_one("type").i_typedef.search_one("type").search_one("pattern").arg
    assert pattern.startswith("(((bootflash:)|(flash:)") and "(syslog)" in pattern


def test_slpemu_control(ctx):
    m = ctx.slp["slpemu-control"]
    assert m.search_one("namespace").arg == "urn:slpemu:control"
    assert [c.arg for c in m.i_children if c.keyword == "rpc"] == [
        "advance-clock", "set-clock", "set-usage", "reload", "inject-fault", "clear-faults",
        "ha-add-member", "ha-remove-member", "ha-switchover",
    ]
    assert node(m, "clock").i_config is False and node(m, "faults").i_config is False
    assert node(m, "faults", "fault").search_one("key").arg == "id"
    target = node(m, "inject-fault", "input", "target")
    assert target.search_one("default").arg == "any"
    assert [n for n, _ in enum_values(target.search_one("type"))] == ["cslu", "cssm", "any"]
    assert [c.arg for c in node(m, "inject-fault", "input", "duration").i_children] == ["count", "seconds"]


# --------------------------------------------------------------------------
# bindings smoke tests


def test_bindings_smoke():
    from bindings import cisco_ios_xe_native, cisco_ios_xe_rpc, cisco_smart_license, slpemu_control

    root = cisco_smart_license.cisco_smart_license()
    entry = root.licensing.state.state_info.usage.add("x")
    entry._set_count(2)
    assert root.licensing.state.state_info.usage["x"].count == 2
    conv = root.licensing.state.state_info.conversion.add("udi1")
    conv._set_status("Conversion-status-success")
    assert conv.status._restriction_dict["dict_key"]["Conversion-status-success"] == {"value": 3}
    with pytest.raises(ValueError):
        root.licensing.config.usage.interval = 366
    root.licensing.config.usage.interval = 365

    rpc = cisco_smart_license.cisco_smart_license_rpc()
    for name in CSL_RPCS:
        assert hasattr(rpc, name.replace("-", "_")), name
    out = rpc.register_id_token.output
    out._set_return_code("registrationinprogress")
    out._set_return_code("max")
    with pytest.raises(ValueError):
        out._set_return_code("no-such-code")
    assert rpc.register_id_token.input.force._default is False
    notif = cisco_smart_license.cisco_smart_license_notification()
    notif.utility_RUM_fail._set_reason("general-failure")

    native = cisco_ios_xe_native.Cisco_IOS_XE_native()
    native.native.license.smart.transport_type = "Off"
    native.native.license.boot.level.network_advantage._set_present()
    assert native.native.license.boot.level.network_advantage._present()

    xe = cisco_ios_xe_rpc.Cisco_IOS_XE_rpc_rpc()
    xe.license.input.smart.save.usage.all.file = "bootflash:usage.txt"
    with pytest.raises(ValueError):
        xe.license.input.smart.save.usage.all.file = "c:/usage.txt"

    ctl = slpemu_control.slpemu_control_rpc()
    ctl.inject_fault.input.kind = "timeout"
    ctl.advance_clock.input.seconds = 86400
    assert ctl.inject_fault.input.target._default == "any"
    assert slpemu_control.slpemu_control().faults.fault.add(1).id == 1
