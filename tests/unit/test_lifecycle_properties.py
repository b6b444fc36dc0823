"""Hypothesis state machine over the report lifecycle: whatever sequence of usage changes, clock moves,
saves, ACKs and reloads happens, no report is lost, ids are unique and increasing, states only move
forward, and the summary counters agree with the reports."""

import tempfile
from pathlib import Path

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, rule

from emulator.cssm import Cssm
from emulator.engine import Clock, Device, Flash
from emulator.engine.reports import STATE_RANK
from emulator.store import Store
from tests.conftest import T0

LICENCES = ["network-advantage", "dna-advantage", "hseck9", "network-essentials"]


class Lifecycle(RuleBasedStateMachine):
    def __init__(self):
        super().__init__()
        self.dir = Path(tempfile.mkdtemp())
        self.store = Store(self.dir / "db")
        self.dev = Device.create_or_load(self.store, "d", Flash(self.dir / "flash"), clock=Clock(frozen_at=T0))
        self.cssm = Cssm(state_path=self.dir / "cssm.json")
        self.seen: dict[int, str] = {}       # every report id ever observed → last state seen
        self.saves = 0

    @rule(licence=st.sampled_from(LICENCES), count=st.integers(0, 3))
    def use(self, licence, count):
        self.dev.set_usage(licence, count)

    @rule(seconds=st.integers(1, 5 * 86400))
    def wait(self, seconds):
        self.dev.advance_clock(seconds)

    @rule(selector=st.sampled_from(["all", "unreported"]))
    def save(self, selector):
        self.saves += 1
        self.dev.save_usage(selector, f"u{self.saves}.txt")

    @rule()
    def acknowledge(self):
        if not self.saves:
            return
        ack = self.cssm.process_usage(self.dev.flash.read(f"u{self.saves}.txt"), now=self.dev.now())
        self.dev.import_data(ack)

    @rule()
    def reload(self):
        self.dev.reload()

    @rule()
    def restart(self):
        self.store.close()
        self.store = Store(self.dir / "db")
        self.dev = Device.create_or_load(self.store, "d", Flash(self.dir / "flash"), clock=Clock())

    @invariant()
    def lifecycle_holds(self):
        reports = self.dev.report_list()
        ids = [r.id for r in reports]
        assert ids == sorted(set(ids))
        for r in reports:
            if r.id in self.seen:
                assert STATE_RANK[r.state] >= STATE_RANK[self.seen[r.id]], (r.id, self.seen[r.id], r.state)
            self.seen[r.id] = r.state
        assert set(self.seen) == set(ids)                     # nothing seen before has vanished
        summary = self.dev.report_summary()
        assert summary.total == len(reports)
        assert summary.collecting_data == len(self.dev.usage())
        assert summary.collecting_data == sum(r.state == "OPEN" for r in reports)
        assert summary.acknowledged + summary.waiting_for_ack + summary.available_to_report == len(reports)
        assert self.dev.ctx.holding_live == sum(r.storage == "EXIST" and r.state != "OPEN" for r in reports)
        for r in reports:
            if r.state != "OPEN":
                assert r.end is not None and r.end >= r.start
            if r.next_id:
                assert self.dev.reports[r.next_id].prev_id == r.id

    def teardown(self):
        self.store.close()


Lifecycle.TestCase.settings = settings(max_examples=40, stateful_step_count=25, deadline=None,
                                       suppress_health_check=[HealthCheck.too_slow])
TestLifecycle = Lifecycle.TestCase
