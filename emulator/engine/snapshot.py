"""What readers see: an immutable snapshot of a device, published by every commit. Rendering from a
snapshot needs no lock and never sees an operation half-way or a refused one."""

from __future__ import annotations

import time
from typing import Callable, Mapping

from ..profiles import Profile
from .messages import Event, Syslog
from .release import Release
from .reports import Report
from .state import DeviceState
from .view import StateView


class Snapshot(StateView):
    def __init__(self, st: DeviceState, reports: Mapping[int, Report], profile: Profile, release: Release,
                 revision: int, syslog: tuple[Syslog, ...], events: tuple[tuple[int, Event], ...],
                 lock_holder: str | None, time_source: Callable[[], float] = time.time):
        self.st = st
        self.reports = reports
        self.profile = profile
        self.release = release
        self.revision = revision
        self._syslog = syslog
        self._events = events
        self.config_locked_by = lock_holder
        self._time_source = time_source

    def now(self) -> float:
        """The device clock (it moves on between commits unless frozen)."""
        clock = self.st.clock
        return clock.frozen_at if clock.frozen_at is not None else self._time_source() + clock.offset

    @property
    def clock(self):
        return self.st.clock

    def syslog(self, limit: int | None = None) -> list[Syslog]:
        items = list(self._syslog)
        return items[-limit:] if limit else items

    def syslog_since(self, seq: int) -> list[Syslog]:
        return [m for m in self._syslog if m.seq > seq]

    def events(self, since: float | None = None) -> list[Event]:
        return [e for _, e in self._events if since is None or e.time >= since]
