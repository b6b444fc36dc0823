"""The transaction context every collaborator of a device works in: the state an operation is building,
the report records, the messages it logs, and the scheduler's job list.

Only the device façade starts, commits and rolls back operations (`Device._op`); collaborators change the
state through `put` / `update` and log through `syslog` / `event`."""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass
from typing import Callable, Iterable, Mapping

from ..profiles import Profile
from .clock import Clock
from .flash import Flash
from .messages import Event, Syslog
from .records import evolve
from .release import Release
from .reports import Report
from .state import DeviceState, ImportRecord
from .view import StateView


# Jobs due at the same instant run in this order (a push before the reminder it may make moot).
CLOSE, POLL, PUSH, REMINDER, UTILITY = range(5)


@dataclass(frozen=True)
class Exchange:
    """A job's online exchange in two halves: `prepare(t)` under the device lock returns the Outgoing
    message (or None), `finish(out, outcome, t)` applies the answer in the next operation."""
    prepare: Callable
    finish: Callable


@dataclass(frozen=True)
class Job:
    """A time-driven step: `run(t)` at time `at`; `order` breaks ties between jobs due at once. A job
    that talks to the peer also has its `exchange`, so the scheduler can send without the lock."""
    at: float
    order: int
    run: Callable[[float], None]
    exchange: Exchange | None = None


class Context(StateView):
    def __init__(self, st: DeviceState, reports: Mapping[int, Report], profile: Profile, release: Release,
                 clock: Clock, flash: Flash, signing_key, trust_anchor):
        self.profile = profile
        self.release = release
        self.clock = clock
        self.flash = flash
        self.signing_key = signing_key
        self.trust_anchor = trust_anchor
        self.outbound = None
        self._job_sources: list[Callable[[], Iterable[Job]]] = []
        self.reset(st, reports)

    def reset(self, st: DeviceState, reports: Mapping[int, Report]) -> None:
        """Starts over from committed state (after a commit, or to undo a refused operation)."""
        self.st = st
        self.reports: dict[int, Report] = dict(reports)
        self.open: dict[str, int] = {r.feature: r.id for r in self.reports.values() if r.state == "OPEN"}
        holding = sorted((r for r in self.reports.values() if r.storage == "EXIST" and r.state != "OPEN"),
                         key=lambda r: (r.end, r.id))
        self.holding: deque[int] = deque(r.id for r in holding)   # closed reports holding data, oldest first
        self.holding_live = len(holding)
        self.clear_pending()

    def clear_pending(self) -> None:
        self.dirty: set[int] = set()
        self.deleted: set[int] = set()
        self.new_syslog: list[Syslog] = []
        self.new_events: list[tuple[int, Event]] = []
        self.clear_events = False
        # Changes that stand even when the operation fails (an injected fault is used up by the attempt).
        self.sticky: list[Callable] = []

    # ------------------------------------------------------------------ state changes
    def put(self, **areas) -> None:
        self.st = evolve(self.st, **areas)

    def update(self, area: str, **changes) -> None:
        self.st = evolve(self.st, **{area: evolve(getattr(self.st, area), **changes)})

    def set_report(self, report: Report) -> Report:
        self.reports[report.id] = report
        self.dirty.add(report.id)
        return report

    def drop_report(self, report_id: int) -> None:
        del self.reports[report_id]
        self.dirty.discard(report_id)
        self.deleted.add(report_id)

    def now(self) -> float:
        return self.clock.now()

    # ------------------------------------------------------------------ logs
    def syslog(self, now: float, msg: tuple[str, int, str, str]) -> None:
        facility, severity, mnemonic, text = msg
        seq = self.st.seq.syslog + 1
        self.update("seq", syslog=seq)
        self.new_syslog.append(Syslog(now, facility, severity, mnemonic, text, seq))

    def event(self, now: float, name: str, /, **attrs: str) -> None:
        seq = self.st.seq.event + 1
        self.update("seq", event=seq)
        self.new_events.append((seq, Event(now, name, tuple(attrs.items()))))

    def record_import(self, now: float, kind: str, result: str) -> None:
        kind = {"ack": "RUM ACK", "policy": "POLICY"}.get(kind, kind)
        history = (*self.st.imports.get(kind, ()), ImportRecord(now, result))[-10:]
        self.put(imports={**self.st.imports, kind: history})

    # ------------------------------------------------------------------ scheduler
    def add_jobs(self, source: Callable[[], Iterable[Job]]) -> None:
        """Registers a collaborator's job source: it lists the jobs due next given the current state."""
        self._job_sources.append(source)

    def next_job(self) -> Job | None:
        best = None
        for source in self._job_sources:
            for job in source():
                if best is None or (job.at, job.order) < (best.at, best.order):
                    best = job
        return best

    def run_due(self, until: float, exchanges: bool = False) -> Job | None:
        """Runs every job due up to `until`, in time order, moving the clock to each job's time. A job that
        talks to the peer runs here only with `exchanges` (advance-clock); otherwise it is returned for
        the scheduler to run in halves around the exchange."""
        while True:
            job = self.next_job()
            if job is None or job.at > until:
                return None
            if job.exchange is not None and not exchanges:
                return job
            if self.clock.now() < job.at:
                self.clock.jump_to(job.at)
            job.run(job.at)
