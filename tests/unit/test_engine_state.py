"""Issue 9: typed engine state with a versioned, migrated store; snapshots (a refused operation is never
visible, readers never wait for the device lock or the network); one configuration path that test-only
reuses; the settings table from which every channel derives its view of a setting."""

import json
import threading
from pathlib import Path

import pytest

from emulator.engine import Clock, Device, DeviceError, Flash, settings
from emulator.engine.state import STATE_VERSION, from_stored
from emulator.frontends.cli import commands
from emulator.store import Store
from emulator.yangdata import DataLayer, YangError, decode_json
from tests.conftest import DAY, T0

V1 = Path(__file__).parent.parent / "data" / "state-v1-c8000v.json"


# ---------------------------------------------------------------------------------------------- storage
def test_a_device_stored_by_the_previous_version_is_migrated(tmp_path):
    """tests/data/state-v1-c8000v.json is what the version-1 engine (untyped `core` document) stored for a
    C8000V in HA with usage, an ACK with a custom policy and a trust code, a throughput level, a pending
    ACK poll, a user and `ip http server`."""
    stored = json.loads(V1.read_text())
    store = Store(tmp_path / "slpemu.db")
    store.commit("dev", stored["core"], reports=stored["reports"], syslog=stored["syslog"], events=stored["events"])
    dev = Device(store, "dev", Flash(tmp_path / "flash"), clock=Clock(frozen_at=T0))
    assert store.load_core("dev")["version"] == STATE_VERSION                      # written back migrated
    assert dev.hostname == "edge-v1" and [m.role for m in dev.members] == ["Active", "Standby"]
    cfg = dev.config
    assert (cfg.url_cslu, cfg.usage_interval, cfg.customer_tag1, cfg.privacy_version) == (
        "http://192.0.2.7:8182/cslu/v1/pi", 20, "SA/VA:01", True)
    assert cfg.transport is None and dev.transport == "cslu"       # v1 stored defaults; now "not configured"
    assert settings.running_config_lines(cfg) == [
        "license smart url cslu http://192.0.2.7:8182/cslu/v1/pi", "license smart privacy version",
        "license smart usage interval 20", "license smart usage customer-tags tag1 SA/VA:01"]
    assert sorted(u.entitlement.name for u in dev.usage()) == ["dna-advantage_T2", "network-advantage_T2"]
    assert dev.policy_in_use().name == "SLE Policy" and dev.account.smart_account == "Eg-SA"
    assert list(dev.trust_codes()) == [dev.udi] and dev.trust_codes()[dev.udi].source == "ack"
    assert dev.throughput().configured == "T2" and dev.st.platform.effective_kbps == 250000
    assert dev.system.ip_http_server is True and dev.privilege_of("ops") == 15
    t = dev.timers()
    assert (t.last_ack, t.next_ack_push_check) == (1704242040.0, 1704326640.0)
    assert dev.st.reporting.poll_id == "390842617"
    assert len(dev.report_list()) == len(stored["reports"]) and dev.syslog() and dev.events()
    # and it goes on working: a reopened device is the same, and it still reports
    again = Device(store, "dev", Flash(tmp_path / "flash"), clock=Clock(frozen_at=T0))
    assert again.st == dev.st
    dev.advance_clock(DAY)
    assert dev.report_summary().total > len(stored["reports"])


def test_stored_state_from_a_newer_emulator_is_refused():
    with pytest.raises(ValueError, match="newer"):
        from_stored({"version": STATE_VERSION + 1, "state": {}})


# ---------------------------------------------------------------------------------------------- snapshots
def test_a_refused_configuration_change_is_never_visible(make_device):
    """Forced interleaving: the change is half-applied in the engine when a reader renders NETCONF/RESTCONF
    data; the reader sees the committed value, and after the refusal nothing changed."""
    dev = make_device()
    dev.configure({"custom_id": "before"})
    layer = DataLayer(dev)
    halfway, release = threading.Event(), threading.Event()
    real = dev.ctx.utility.config_changed

    def stall_then_refuse(before, now):
        real(before, now)
        halfway.set()
        assert release.wait(10)
        raise DeviceError("% refused after the change was applied")
    dev.ctx.utility.config_changed = stall_then_refuse
    writer = threading.Thread(target=lambda: pytest.raises(DeviceError, dev.configure, {"custom_id": "partial"}))
    writer.start()
    try:
        assert halfway.wait(10)
        assert dev.ctx.st.config.custom_id == "partial"                      # the operation's own state
        seen = layer.get()["cisco-smart-license:licensing"]["config"]["custom-id"]
        assert seen == "before" and dev.config.custom_id == "before"          # readers: the last commit
    finally:
        release.set()
        writer.join(10)
    assert dev.config.custom_id == "before"
    assert layer.get()["cisco-smart-license:licensing"]["config"]["custom-id"] == "before"


class SlowPeer:
    """A CSLU that answers a usage report only when told to."""

    def __init__(self):
        self.arrived, self.answer = threading.Event(), threading.Event()

    def report_usage(self, url, usage):
        self.arrived.set()
        assert self.answer.wait(10)
        return "OK_POLL:7"

    def poll(self, url, poll_id):
        return "OK_POLL"


def test_an_exchange_with_the_peer_does_not_hold_the_device(make_device):
    """While `license smart sync` waits for a slow peer, other writers and readers are served."""
    dev = make_device()
    dev.set_usage("network-advantage", 1)
    peer = SlowPeer()
    dev.attach_outbound(peer)
    syncing = threading.Thread(target=dev.sync)
    syncing.start()
    try:
        assert peer.arrived.wait(10)
        done = threading.Event()
        threading.Thread(target=lambda: (dev.configure({"custom_id": "during"}), done.set())).start()
        assert done.wait(5), "a configuration change waited for the network"
        assert dev.snapshot().config.custom_id == "during"
    finally:
        peer.answer.set()
        syncing.join(10)
    assert dev.timers().last_report_push == T0 and dev.st.reporting.poll_id == "7"


# ---------------------------------------------------------------------------------------------- one write path
def test_test_only_runs_the_real_checks_and_keeps_nothing(make_device):
    """test-option test-only reuses the configuration path: utility mode on a C8300 is refused exactly as a
    real edit is (the old hand-written check accepted it), and an acceptable edit changes nothing."""
    dev = make_device(platform="C8300-1N1S-6T", release="17.9.1a")
    layer = DataLayer(dev)
    node = layer.schema.top["cisco-smart-license:licensing"]
    utility = {"config": {"utility": {"utility-enable": True}}}
    with pytest.raises(YangError) as real:
        layer.edit(decode_json(node, utility))
    with pytest.raises(YangError) as dry:
        layer.edit(decode_json(node, utility), test_only=True)
    assert (dry.value.tag, dry.value.app_tag) == (real.value.tag, real.value.app_tag) == ("invalid-value",
                                                                                          "notsupported")
    revision = dev.snapshot().revision
    assert layer.edit(decode_json(node, {"config": {"custom-id": "dry"}}), test_only=True) is False
    assert dev.config.custom_id is None and dev.snapshot().revision == revision


def test_privilege_below_15_cannot_configure(make_device):
    dev = make_device()
    with pytest.raises(DeviceError) as exc:
        dev.configure({"custom_id": "x"}, owner="cli:9", privilege=1)
    assert exc.value.code == "access-denied" and dev.config.custom_id is None


# ---------------------------------------------------------------------------------------------- settings table
SAMPLES = {"str": "lab-7", "int": 20, "enum": "smart", "flag": True, "bool": False}


@pytest.mark.parametrize("setting", [s for s in settings.SETTINGS if s.cli], ids=lambda s: s.name)
def test_every_setting_reaches_every_channel_from_its_row(make_device, setting):
    """Set through the CLI grammar the row generates; running-config shows the row's line; the native
    model (which mirrors running-config) and cisco-smart-license show the value; `no` restores it."""
    dev = make_device(platform="C8000V", release="17.12.1a")
    value = "https://cssm.example/x" if setting.name.startswith("url_") and setting.kind == "str" else \
        SAMPLES[setting.kind]
    assert setting.available(dev.profile, dev.release)   # a C8000V on 17.12 offers every setting
    grammar = commands.config_grammar(dev)
    ctx = type("Ctx", (), {"device": dev, "owner": "cli:1", "session": type("S", (), {"privilege": 15})(),
                           "words": []})()
    line = setting.cli if setting.kind in ("flag", "bool") else f"{setting.cli} {value}"
    if setting.kind == "bool":
        line = f"no {setting.cli}"                       # the line for its non-default value
    match = grammar.parse(line)
    match.action(ctx, match.args)
    assert getattr(dev.config, setting.name) == value
    assert line in settings.running_config_lines(dev.config)
    layer = DataLayer(dev)
    data = layer.get(content="config")
    if setting.native:
        leaf = data["Cisco-IOS-XE-native:native"]["license"]["smart"]
        for name in setting.native:
            leaf = leaf[name]
        assert leaf == ({"smart": "smart"}.get(value) if setting.kind == "enum" else
                        True if setting.kind == "flag" else value)
    undo = grammar.parse(f"no {setting.cli}" if setting.kind != "bool" else setting.cli)
    undo.action(ctx, undo.args)
    # `no license smart url cslu` reverts to the discovery URL (L10267-10272); every other `no` form clears
    assert getattr(dev.config, setting.name) == (settings.CSLU_DISCOVERY_URL if setting.name == "url_cslu" else None)
    assert line not in settings.running_config_lines(dev.config)


def test_every_setting_path_exists_in_the_yang_schema():
    from emulator.yangdata import get_schema
    schema = get_schema()
    roots = {"cisco": schema.find("cisco-smart-license:licensing").child("config"),
             "native": schema.find("Cisco-IOS-XE-native:native").child("license").child("smart")}
    for setting in settings.SETTINGS:
        for model, root in roots.items():
            path = getattr(setting, model)
            if path is None:
                continue
            node = root
            for name in path:
                node = node.child(name)
                assert node is not None, f"{setting.name}: {model} path {'/'.join(path)}"
            assert node.is_leaf and node.config, setting.name
