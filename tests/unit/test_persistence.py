"""SQLite persistence: a restarted device has exactly the state it had; failures commit nothing."""

import json
import sqlite3

import pytest

from emulator.cssm import Cssm
from emulator.engine import DeviceError
from emulator.store import SCHEMA_VERSION, Store, StoreError
from tests.conftest import DAY, T0


def _snapshot(dev):
    return (dev.st, [r.to_dict() for r in dev.report_list()], dev.policy_in_use(), dev.timers(),
            [m.line() for m in dev.syslog()], [e.line() for e in dev.events()])


def test_restart_restores_everything(make_device, tmp_path):
    dev = make_device()
    dev.set_usage("network-advantage", 2)
    dev.set_usage("dna-advantage", 1)
    dev.apply_config({"transport": "off", "usage_interval": 20, "customer_tag1": "SA/VA:01"})
    dev.advance_clock(3 * DAY)
    cssm = Cssm(state_path=tmp_path / "c.json")
    dev.save_usage("unreported", "bootflash:u.txt")
    dev.flash.write("bootflash:a.txt", cssm.process_usage(dev.flash.read("bootflash:u.txt"), now=dev.now(),
                                                          policy="SLE Policy").encode())
    dev.import_file("bootflash:a.txt")
    before = _snapshot(dev)
    dev.store.close()
    again = make_device()                    # same device id and state dir: loads, does not create
    assert _snapshot(again) == before
    assert again.now() == T0 + 3 * DAY       # the emulated clock survives too


def test_a_failing_operation_commits_nothing(make_device, monkeypatch):
    dev = make_device()
    dev.set_usage("network-advantage", 1)
    before = _snapshot(dev)

    def boom(*args, **kwargs):
        raise RuntimeError("disk on fire")
    monkeypatch.setattr(dev.flash, "write", boom)
    with pytest.raises(RuntimeError):
        dev.save_usage("all", "bootflash:u.txt")        # closes reports in memory, then fails
    assert _snapshot(dev) == before
    dev.store.close()
    assert _snapshot(make_device()) == before


def test_interrupted_transaction_leaves_the_last_committed_state(make_device, tmp_path):
    dev = make_device()
    dev.set_usage("network-advantage", 1)
    before = _snapshot(dev)
    # A second connection starts writing and dies before COMMIT, as a killed process would.
    raw = sqlite3.connect(tmp_path / "slpemu.db", isolation_level=None)
    raw.execute("BEGIN IMMEDIATE")
    raw.execute("DELETE FROM report")
    raw.execute("UPDATE device SET core='{}'")
    raw.close()                                         # closed without COMMIT: rolled back
    dev.store.close()
    assert _snapshot(make_device()) == before


def test_schema_version_is_recorded_and_checked(tmp_path):
    store = Store(tmp_path / "x.db")
    assert store._db.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
    store._db.execute(f"PRAGMA user_version={SCHEMA_VERSION + 1}")
    store.close()
    with pytest.raises(StoreError):
        Store(tmp_path / "x.db")


def test_refused_config_is_not_persisted(make_device):
    dev = make_device()
    with pytest.raises(DeviceError):
        dev.apply_config({"usage_interval": 10, "transport": "carrier-pigeon"})
    dev.store.close()
    again = make_device()
    assert again.setting("usage_interval") is None and again.setting("transport") == "cslu"
