"""The device as a client of CSSM / CSLU / SSM On-Prem: online exchanges, the push schedule (R24–R28), ACK
polling (R27), injected faults and the communication statistics of `show license tech`."""

from __future__ import annotations

import functools

import secrets
from dataclasses import dataclass, field, replace

from . import artifacts, messages
from .artifacts import ArtifactError
from .comm import FAULT_REASONS, NO_ROUTE, CommError, Refusal, fault_target, peer_name
from .context import POLL, PUSH, Exchange, Job
from .errors import DeviceError
from .state import Fault, FlowStats
from .timefmt import DAY


RETRY_PERIOD = 15 * 60.0          # retry cadence of a failed scheduled push (R28, Q21)
FIRST_POLL_DELAY = 240.0          # the ACK is fetched about 4 minutes after a push (R27, L2572-2577)
POLL_PERIOD = DAY                 # then once a day while the peer still says OK_POLL (Q22)
OK_POLL = "OK_POLL"
FAULT_KINDS = ("unreachable", "timeout", "http-error", "malformed")
FAULT_TARGETS = ("cslu", "cssm", "any")


class Comms:
    """Online exchanges with the configured peer, the push schedule (R24–R28), ACK polling (R27), injected
    faults and the communication statistics."""

    def __init__(self, ctx):
        self.ctx = ctx
        ctx.add_jobs(self.jobs)

    # ------------------------------------------------------------------ statistics and faults
    def _flow(self, flow: str, **changes) -> None:
        ctx = self.ctx
        stats = ctx.st.comm.stats
        ctx.update("comm", stats={**stats, flow: replace(stats.get(flow, FlowStats()), **changes)})

    def inject_fault(self, kind: str, target: str, count: int | None, seconds: float | None, now: float) -> int:
        faults = self.ctx.st.faults
        fault = Fault(faults.next_id, kind, target, count, None if seconds is None else now + seconds)
        self.ctx.put(faults=replace(faults, next_id=faults.next_id + 1, active=(*faults.active, fault)))
        return fault.id

    def clear_faults(self) -> int:
        cleared = len(self.ctx.st.faults.active)
        self.ctx.update("faults", active=())
        return cleared

    def _take_fault(self, target: str, now: float) -> str | None:
        """The first active fault for `target`, used up by this attempt even if the operation fails."""
        for fault in self.ctx.faults(now):
            if fault.target in ("any", target):
                self._use_fault(fault.id)
                self.ctx.sticky.append(lambda c, t, fid=fault.id: c.comms._use_fault(fid))
                return fault.kind
        return None

    def _use_fault(self, fault_id: int) -> None:
        active = []
        for fault in self.ctx.st.faults.active:
            if fault.id == fault_id and fault.remaining is not None:
                if fault.remaining <= 1:
                    continue
                fault = replace(fault, remaining=fault.remaining - 1)
            active.append(fault)
        self.ctx.update("faults", active=tuple(active))

    # ------------------------------------------------------------------ one exchange
    def prepare(self, flow: str, now: float, method: str, *args, **carried) -> "Outgoing":
        """What goes out, decided under the device lock: the configured peer and URL, an injected fault
        (used up by this attempt even if the operation fails), and the arguments. Arguments and carried
        values may be built lazily (callables): nothing is assembled for an attempt that cannot go out."""
        ctx = self.ctx
        transport = ctx.transport
        if transport == "off":
            raise DeviceError("% Communication is disabled: license smart transport is off", "commdisabled")
        fault = self._take_fault(fault_target(transport), now)
        url = ctx.transport_url()
        blocked = (fault is not None and fault != "malformed") or ctx.outbound is None
        known_failure = None
        if not blocked and hasattr(ctx.outbound, "known_failure"):
            known_failure = ctx.outbound.known_failure(url)
        if blocked or known_failure:
            args, carried = (), {k: None if callable(v) else v for k, v in carried.items()}
        else:
            args = tuple(a() if callable(a) else a for a in args)
            carried = {k: v() if callable(v) else v for k, v in carried.items()}
        return Outgoing(flow, method, url, args, peer_name(transport), fault, carried, known_failure)

    def finish(self, out: "Outgoing", outcome: "Outcome", now: float) -> str:
        """The answer of an exchange, applied in the operation after it. Failures log COMM_FAILED (kept
        although the operation is refused) and raise DeviceError; recovery logs COMM_RESTORED."""
        ctx = self.ctx
        flow, peer = out.flow, out.peer
        exc = outcome.error
        if isinstance(exc, CommError):
            def failed(c, t, reason=exc.reason):
                st = c.st.comm.stats.get(flow, FlowStats())
                c.comms._flow(flow, total=st.total + 1, fail=st.fail + 1, ongoing=st.ongoing + 1,
                              failure_reason=reason, last_failure=t, last_response=f"FAILED on {t}")
                c.update("comm", failing=True)
                c.syslog(t, messages.comm_failed(peer, reason))
                if c.st.config.utility_enabled and flow == "Usage Reporting":
                    c.syslog(t, messages.utility_report_failed())
            raise DeviceError(f"% Communications failure with the {peer} : {exc.reason}", "commsend",
                              aftermath=[failed])
        if isinstance(exc, Refusal):
            def refused(c, t, reason=exc.reason):
                st = c.st.comm.stats.get(flow, FlowStats())
                c.comms._flow(flow, total=st.total + 1, fail=st.fail + 1, failure_reason=reason, last_failure=t)
            raise DeviceError(f"% {exc.reason}", "responsefailed", aftermath=[refused],
                              syslog=getattr(exc, "syslog", None))
        st = ctx.st.comm.stats.get(flow, FlowStats())
        self._flow(flow, total=st.total + 1, success=st.success + 1, ongoing=0, last_success=now,
                   last_response="OK")
        if ctx.st.comm.failing:
            ctx.update("comm", failing=False)
            ctx.syslog(now, messages.comm_restored(peer))
            ctx.event(now, "COMM_RESTORED")
        return outcome.answer

    def call(self, flow: str, now: float, method: str, *args) -> str:
        """prepare, send and finish in one step, for exchanges that run inside one operation (jobs run by
        advance-clock, steps of a test control)."""
        out = self.prepare(flow, now, method, *args)
        return self.finish(out, send(out, self.ctx.outbound), now)

    def attempt(self, now: float, fn, *args) -> DeviceError | None:
        """Runs a step whose refusal must not undo the operation around it (a SLAC requested on the side,
        a scheduled push): the refusal's aftermath is applied and the refusal returned."""
        try:
            fn(*args)
        except DeviceError as exc:
            apply_aftermath(self.ctx, exc.aftermath, now)
            return exc
        return None

    def read_answer(self, text: str, tags: tuple[str, ...]):
        try:
            return artifacts.parse_signed_file(text, tags)
        except ArtifactError as exc:
            reason = FAULT_REASONS["malformed"]
            peer = peer_name(self.ctx.transport)
            raise DeviceError(f"% Communications failure with the {peer} : {reason}", "msgparse",
                              syslog=messages.comm_failed(peer, reason)) from exc

    # ------------------------------------------------------------------ sync, push and poll
    def prepare_sync(self, now: float, all_members: bool) -> "Outgoing | None":
        """The unreported reports and pending requests, ready to go (None with transport off). Directly
        connected to CSSM, nothing goes out before trust is established with an ID token (L519-525)."""
        ctx = self.ctx
        if ctx.transport == "off":
            return None
        if ctx.trust.required_for_reporting():
            raise DeviceError("% Trust establishment with an ID token is required before usage reporting can "
                              "start: license smart trust idtoken <token> local", "notregistered")
        ctx.reporting.close_all(now, reason="NONE", termination="CurrentUsageRequested")
        chosen = functools.cache(lambda: ctx.reporting.select("unreported", now))
        return self.prepare("Usage Reporting", now, "report_usage",
                            lambda: ctx.reporting.usage_document(
                                chosen(), [d.to_xml() for d in ctx.reporting.requests(now, "push")], push=True),
                            reports=lambda: tuple(r.id for r in chosen()))

    def finish_sync(self, out: "Outgoing", outcome: "Outcome", now: float, poll_now: bool) -> bool:
        """Applies the peer's answer: the ACK, or a poll id (OK_POLL) whose ACK the device fetches at once
        (`sync`) or 4 minutes later (a scheduled push, R27). Returns True when a poll is due now."""
        ctx = self.ctx
        answer = self.finish(out, outcome, now)
        ctx.reporting.mark_reported([ctx.reports[i] for i in out.carried["reports"] if i in ctx.reports],
                                    transaction_id=str(secrets.randbelow(10 ** 18)))
        ctx.update("reporting", last_push=now, trigger=None)
        if answer.startswith(OK_POLL):
            self._flow("Usage Reporting", last_response=OK_POLL)     # `Last Response: OK_POLL on …` (L12780)
            ctx.update("reporting", poll_id=answer[len(OK_POLL) + 1:].strip(),
                       next_ack_check=now + (0.0 if poll_now else FIRST_POLL_DELAY))
            return poll_now
        self.install_answer(answer, now)
        return False

    def sync(self, now: float, all_members: bool, poll_now: bool = True) -> None:
        """Sends the unreported reports and pending requests within the current operation."""
        out = self.prepare_sync(now, all_members)
        if out is not None and self.finish_sync(out, send(out, self.ctx.outbound), now, poll_now):
            self._poll(now)

    def prepare_poll(self, now: float) -> "Outgoing":
        """`Result Polling`: fetch the ACK of the last push (Next ACK push check)."""
        return self.prepare("Result Polling", now, "poll", self.ctx.st.reporting.poll_id)

    def finish_poll(self, out: "Outgoing", outcome: "Outcome", now: float) -> None:
        ctx = self.ctx
        answer = self.finish(out, outcome, now)
        if answer.strip() == OK_POLL:
            ctx.update("reporting", next_ack_check=now + POLL_PERIOD)
            self._flow("Result Polling", last_response=OK_POLL)
            return
        ctx.update("reporting", poll_id=None, next_ack_check=None)
        self.install_answer(answer, now)

    def _poll(self, now: float) -> None:
        out = self.prepare_poll(now)
        self.finish_poll(out, send(out, self.ctx.outbound), now)

    def install_answer(self, answer: str, now: float) -> None:
        try:
            bundle = artifacts.parse_import(answer)
        except ArtifactError:
            reason = FAULT_REASONS["malformed"]
            peer = peer_name(self.ctx.transport)
            raise DeviceError(f"% Communications failure with the {peer} : {reason}", "msgparse",
                              syslog=messages.comm_failed(peer, reason)) from None
        self._flow("Result Polling", last_response="COMPLETE")
        for step in self.ctx.imports.check_bundle(bundle, now):
            step()

    def jobs(self):
        ctx = self.ctx
        if ctx.outbound is None or ctx.transport == "off":
            return
        rep = ctx.st.reporting
        if rep.poll_id and rep.next_ack_check is not None:
            yield Job(rep.next_ack_check, POLL, self._poll_job, Exchange(self._prepare_poll_job, self._finish_poll_job))
        push = self.next_push()
        if push is not None:
            yield Job(push, PUSH, self._push_job, Exchange(self._prepare_push_job, self._finish_push_job))

    def next_push(self) -> float | None:
        """When the device pushes on its own: `Next report push`, or the retry time after a failure, never
        sooner than a day after the last automatic push on throttling releases (R26). Only a device with an
        outbound peer (the push client, or the built-in CSSM) pushes; transport off never does (Q11)."""
        ctx = self.ctx
        rep = ctx.st.reporting
        if ctx.trust.required_for_reporting():
            return None
        if rep.retry_at is not None:
            return rep.retry_at
        due = ctx.timers().next_report_push
        if due is not None and ctx.release.rum_throttling and rep.last_auto_push is not None:
            due = max(due, rep.last_auto_push + DAY)
        return due

    # A job's two halves: prepared under the lock, finished in the operation after the exchange.
    def _prepare_poll_job(self, t: float) -> "Outgoing":
        return self.prepare_poll(max(t, self.ctx.clock.now()))

    def _finish_poll_job(self, out: "Outgoing", outcome: "Outcome", t: float) -> None:
        exc = self.attempt(t, self.finish_poll, out, outcome, t)
        if exc is not None:
            if exc.code == "responsefailed":       # e.g. "Invalid Polling Id": the reports wait for the next push
                self.ctx.update("reporting", poll_id=None, next_ack_check=None)
            else:
                self.ctx.update("reporting", next_ack_check=t + RETRY_PERIOD)

    def _poll_job(self, t: float) -> None:
        t = max(t, self.ctx.clock.now())
        out = self._prepare_poll_job(t)
        self._finish_poll_job(out, send(out, self.ctx.outbound), t)

    def _prepare_push_job(self, t: float) -> "Outgoing | None":
        # a push that fell due while the device was not ticking goes out now
        return self.prepare_sync(max(t, self.ctx.clock.now()), False)

    def finish_push(self, out: "Outgoing", outcome: "Outcome", t: float) -> None:
        """A push the device makes on its own (scheduled, or the report that follows trust establishment):
        its ACK is polled for later (R27); a failure is retried every 15 minutes (R28)."""
        self._finish_push_job(out, outcome, t)

    def _finish_push_job(self, out: "Outgoing", outcome: "Outcome", t: float) -> None:
        """A failed push logs COMM_FAILED (and UTILITY_REPORT_FAILED in utility mode) and is retried every
        15 minutes until it succeeds (R28, Q21)."""
        if self.attempt(t, self.finish_sync, out, outcome, t, False) is not None:
            self.ctx.update("reporting", retry_at=t + RETRY_PERIOD)
            return
        self.ctx.update("reporting", retry_at=None, last_auto_push=t)

    def _push_job(self, t: float) -> None:
        t = max(t, self.ctx.clock.now())
        out = self._prepare_push_job(t)
        if out is not None:
            self._finish_push_job(out, send(out, self.ctx.outbound), t)


@dataclass(frozen=True)
class Outgoing:
    """One message to the peer, as prepared under the device lock."""
    flow: str
    method: str
    url: str
    args: tuple
    peer: str
    fault: str | None
    carried: dict = field(default_factory=dict)     # what the finishing step needs (e.g. the report ids)
    known_failure: str | None = None                 # the outbound's reason it cannot go out now


@dataclass(frozen=True)
class Outcome:
    answer: str | None = None
    error: Exception | None = None


def send(out: Outgoing, outbound) -> Outcome:
    """The exchange itself; runs without the device lock (a network peer may take seconds)."""
    try:
        if out.fault is not None and out.fault != "malformed":
            raise CommError(FAULT_REASONS[out.fault])
        if outbound is None:
            raise CommError(NO_ROUTE)
        if out.known_failure is not None:
            raise CommError(out.known_failure)
        answer = getattr(outbound, out.method)(out.url, *out.args)
        if out.fault == "malformed":
            answer = "<smartLicense><data>"
        if not answer or not answer.strip():
            raise CommError(FAULT_REASONS["malformed"])
        return Outcome(answer)
    except (CommError, Refusal) as exc:
        return Outcome(error=exc)


def apply_aftermath(ctx, items, now: float) -> None:
    """What a refusal leaves behind: syslog message tuples, or callables (context, now)."""
    for item in items:
        item(ctx, now) if callable(item) else ctx.syslog(now, item)

