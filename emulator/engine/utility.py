"""Utility mode (behaviour.md §1.10, R52–R55; Catalyst 8000V from 17.9.1a): transport and trust checks at
once and weekly, the 30-day ACK rule, subscription ids from ACKs."""

from __future__ import annotations

from dataclasses import replace

from . import messages
from .context import UTILITY, Context, Job
from .state import UtilityState
from .timefmt import DAY
from .view import UTILITY_ACK_DAYS

WEEK = 7 * DAY


class Utility:
    def __init__(self, ctx: Context):
        self.ctx = ctx
        ctx.add_jobs(self.jobs)

    def _set(self, **changes) -> None:
        self.ctx.put(utility=replace(self.ctx.st.utility, **changes))

    def config_changed(self, before, now: float) -> None:
        """After a configuration change: `before` is the previous LicensingConfig."""
        ctx = self.ctx
        enabled, was = bool(ctx.st.config.utility_enabled), bool(before.utility_enabled)
        if enabled != was:
            for rid in ctx.open.values():      # the reports being collected now change flag too
                ctx.set_report(replace(ctx.reports[rid], utility=enabled))
        if enabled and not was:
            ctx.put(utility=UtilityState(enabled_at=now))
            ctx.event(now, "UTILITY_ENABLED")
            self._checks(now)
            if ctx.st.subscriptions:
                self.subscriptions_changed(now)
        elif was and not enabled:
            ctx.put(utility=None)
            ctx.syslog(now, messages.utility_stopped())
        elif enabled and ctx.transport != (before.transport or "cslu"):
            self._checks(now)

    def _checks(self, now: float) -> None:
        """Immediate transport and trust checks (R52 step 1, R53), repeated weekly by the jobs."""
        ctx = self.ctx
        if ctx.transport == "callhome":
            self._warn_transport(now)
        if ctx.transport == "smart" and not ctx.has_usable_trust(ctx.udi):
            self._warn_trust(now)

    def _warn_transport(self, t: float) -> None:
        self._set(last_transport_warn=t)
        self.ctx.syslog(t, messages.utility_transport_not_config())

    def _warn_trust(self, t: float) -> None:
        self._set(last_trust_warn=t)
        self.ctx.syslog(t, messages.utility_trust_code())

    def subscriptions_changed(self, now: float) -> None:
        ctx = self.ctx
        state = ctx.st.utility
        if state is None:
            return
        subs = ctx.st.subscriptions
        if subs and not state.started:
            self._set(started=True)
            ctx.syslog(now, messages.utility_started())
        for rec in ctx.usage():           # an ACK that drops a known id warns at once (R54)
            if rec.entitlement.full_tag not in subs and rec.entitlement.name not in ctx.st.utility.warned \
                    and ctx.st.utility.started and not ctx.authorized(rec.entitlement):
                self._warn_subscription(rec.entitlement.name, now)
        self._set(last_noack=None)

    def _warn_subscription(self, name: str, t: float) -> None:
        self._set(warned=(*self.ctx.st.utility.warned, name))
        self.ctx.syslog(t, messages.utility_subscription_license(name))

    def _no_ack(self, t: float) -> None:
        state = self.ctx.st.utility
        base = max(self.ctx.st.reporting.last_ack or 0.0, state.enabled_at)
        self._set(last_noack=t)
        self.ctx.syslog(t, messages.utility_no_ack(round((t - base) / DAY)))

    def jobs(self):
        ctx = self.ctx
        state = ctx.st.utility
        if state is None or not ctx.st.config.utility_enabled:
            return
        if ctx.transport == "callhome":
            yield Job((state.last_transport_warn or state.enabled_at) + WEEK, UTILITY, self._warn_transport)
        if ctx.transport == "smart" and not ctx.has_usable_trust(ctx.udi):
            yield Job((state.last_trust_warn or state.enabled_at) + WEEK, UTILITY, self._warn_trust)
        base = state.last_noack or max(ctx.st.reporting.last_ack or 0.0, state.enabled_at)
        yield Job(base + UTILITY_ACK_DAYS * DAY, UTILITY, self._no_ack)
        subs = ctx.st.subscriptions
        for name, rec in ctx.st.usage.items():
            ent = ctx.profile.entitlement(name)
            if name not in state.warned and ent.full_tag not in subs and not ctx.authorized(ent):
                yield Job(max(rec.since, state.enabled_at) + UTILITY_ACK_DAYS * DAY, UTILITY,
                          lambda t, name=name: self._warn_subscription(name, t))
