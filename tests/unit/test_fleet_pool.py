"""The fleet's devices without sockets: lazy loading and eviction, one scheduler heap, one fleet clock, one
store, fleet-wide operations (also on worker processes), add and remove, restarts."""

from __future__ import annotations

import pytest

from emulator.engine.errors import DeviceError
from emulator.fleet import Fleet, FleetOptions, InventoryError, quick_plan

DAY = 86400.0


def open_fleet(tmp_path, n=4, **options):
    plan = quick_plan(n, "C8000V:1,C8300-1N1S-6T:1", port_base=20000)
    return Fleet(tmp_path / "fleet", plan, FleetOptions(frozen_clock=True, workers=1, **options)).open()


def test_devices_are_created_once_then_held_lazily(tmp_path):
    fleet = open_fleet(tmp_path)
    try:
        assert fleet.loaded_count() == 0 and fleet.store.device_ids() == []    # created on first contact
        assert fleet.device_summary(fleet.slots["rtr-0001"])["licenses-in-use"] == 0
        slot = fleet.slots["rtr-0002"]
        with fleet.use(slot) as device:
            assert device.sn == slot.spec.serial and device.pid == "C8300-1N1S-6T"
            assert device.check_password("admin", "admin") == 15
            assert fleet.loaded_count() == 1
        assert fleet.store.device_ids() == ["rtr-0002"]
        assert fleet.evict_idle(now=float("inf")) == 1 and fleet.loaded_count() == 0
    finally:
        fleet.stop()


def test_a_device_in_use_is_never_evicted_and_max_loaded_evicts_least_recent(tmp_path):
    fleet = open_fleet(tmp_path, n=4, max_loaded=2, idle_seconds=3600)
    try:
        slots = [fleet.slots[s.id] for s in fleet.plan.devices]
        with fleet.use(slots[0]):
            for s in slots[1:]:
                with fleet.use(s):
                    pass
            assert fleet.loaded_count() == 4
            fleet.evict_idle()
            assert fleet.loaded_count() == 2
            assert slots[0].device is not None                # held: kept although least recently used
            assert slots[3].device is not None
    finally:
        fleet.stop()


def test_scheduler_heap_runs_only_devices_that_are_due(tmp_path):
    fleet = open_fleet(tmp_path)
    try:
        assert fleet.next_due() is None                          # nothing in use: nothing scheduled
        fleet.each(["rtr-0001"], lambda d: d.set_usage("network-advantage", 1))
        due = fleet.next_due()
        assert due is not None and due > fleet.clock.now()
        assert fleet.slots["rtr-0001"].due == due and fleet.slots["rtr-0002"].due is None
        assert fleet.run_due() == 0                              # not due yet
        fleet.clock.advance(due - fleet.clock.now() + 1)
        assert fleet.run_due() == 1                              # rtr-0001 only
        assert fleet.slots["rtr-0001"].due > due
        assert fleet.loaded_count() == 0                         # loaded for its jobs, then evicted again
    finally:
        fleet.stop()


def test_advance_clock_moves_the_fleet_and_runs_due_jobs_in_time_order(tmp_path):
    fleet = open_fleet(tmp_path)
    try:
        start = fleet.clock.now()
        fleet.each(["rtr-0001", "rtr-0003"], lambda d: d.set_usage("network-advantage", 1))
        seen = []
        result = fleet.advance_clock(10 * DAY, step=DAY, progress=lambda done, total: seen.append((done, total)))
        assert result["now"] == pytest.approx(start + 10 * DAY)
        assert result["devices-run"] == 20                        # two devices due on each of ten days
        assert seen[-1][0] == seen[-1][1]
        with fleet.use(fleet.slots["rtr-0001"]) as device:
            assert device.now() == pytest.approx(start + 10 * DAY)
            assert device.report_summary().total >= 10
        # a device with nothing due was not touched, and follows the fleet clock when next loaded
        with fleet.use(fleet.slots["rtr-0002"]) as device:
            assert device.now() == pytest.approx(start + 10 * DAY)
        summary = fleet.device_summary(fleet.slots["rtr-0003"])
        assert summary["licenses-in-use"] == 1 and summary["compliance"] == "IN COMPLIANCE"
    finally:
        fleet.stop()


def test_advance_on_worker_processes_matches_in_process(tmp_path):
    fleet = open_fleet(tmp_path / "a", n=4)
    fleet.options.workers = 2
    try:
        fleet.each(None, lambda d: d.set_usage("network-advantage", 1))
        with fleet.use(fleet.slots["rtr-0004"]):               # a device in use is advanced in-process
            result = fleet.advance_clock(30 * DAY)
        assert result["devices-run"] == 4
        assert fleet.stats["advanced_in_workers"] == 3
        totals = {}
        for sid, slot in fleet.slots.items():
            with fleet.use(slot) as device:
                assert device.now() == pytest.approx(fleet.clock.now())
                totals[sid] = device.report_summary().total
        assert len(set(totals.values())) == 1 and totals["rtr-0001"] >= 30
        assert all(slot.due is not None for slot in fleet.slots.values())
    finally:
        fleet.stop()


def test_the_store_keeps_devices_clock_and_added_devices_across_restarts(tmp_path):
    fleet = open_fleet(tmp_path)
    fleet.each(["rtr-0001"], lambda d: d.set_usage("network-advantage", 1))
    fleet.advance_clock(3 * DAY)
    added = fleet.add({"hostname": "extra-1", "platform": "C8500-12X"})
    assert added.spec.address == "127.1.0.5" and added.spec.serial.startswith("JAD")
    fleet.remove("rtr-0004")
    now, serial = fleet.clock.now(), added.spec.serial
    fleet.stop()

    again = open_fleet(tmp_path)
    try:
        assert again.clock.now() == pytest.approx(now)
        assert "extra-1" in again.slots and again.slots["extra-1"].spec.serial == serial
        assert "rtr-0004" in again.slots          # in the inventory: created afresh (its old state was deleted)
        with again.use(again.slots["rtr-0001"]) as device:
            assert [r.entitlement.name for r in device.usage()] == ["network-advantage_250M"]
            assert device.now() == pytest.approx(now)
        assert again.slots["rtr-0001"].due is not None
    finally:
        again.stop()


def test_add_and_remove_check_their_input(tmp_path):
    fleet = open_fleet(tmp_path)
    try:
        with pytest.raises(InventoryError, match=r"add \(rtr-0001\): hostname rtr-0001 is already in the fleet"):
            fleet.add({"hostname": "rtr-0001"})
        with pytest.raises(InventoryError, match=r"unknown platform profile 'C1'"):
            fleet.add({"hostname": "x", "platform": "C1"})
        with pytest.raises(InventoryError, match=r"address 127\.1\.0\.1 port 20022 is already used by"):
            fleet.add({"hostname": "y", "address": "127.1.0.1"})
        with pytest.raises(InventoryError, match=r"unknown key 'color'"):
            fleet.add({"hostname": "z", "color": "red"})
        with pytest.raises(InventoryError, match=r"device 'nope': no such device"):
            fleet.remove("nope")
        assert sorted(fleet.slots) == ["rtr-0001", "rtr-0002", "rtr-0003", "rtr-0004"]
        spec = fleet.remove("rtr-0002")
        assert "rtr-0002" not in fleet.slots and ("127.1.0.2", 20022) not in fleet.endpoints
        assert fleet.store.load_core("rtr-0002") is None
        again = fleet.add({"hostname": "rtr-0002b"})
        assert again.spec.address == spec.address                 # the freed address is handed out again
        with pytest.raises(DeviceError, match="Invalid number of seconds"):
            fleet.advance_clock(-1)
    finally:
        fleet.stop()
