"""One emulated product instance: a thin façade over the collaborators that hold its rules.

Every public operation runs under the device lock: it first runs the jobs that fell due, then lets the
collaborators change the state of one transaction context, then commits those changes to the store in one
transaction and publishes an immutable `Snapshot`. A refused operation goes back to the last committed
state and commits only its aftermath (its syslogs). Readers use `snapshot()` (or the read queries of this
façade, which read the latest snapshot) and never take the lock."""

from __future__ import annotations

import threading
from collections import deque
from contextlib import contextmanager
from dataclasses import dataclass, replace
from pathlib import Path
from types import MappingProxyType
from typing import Callable

from ..profiles import Entitlement, load_profile
from ..store import Store
from . import artifacts, messages, settings
from .authorizations import Authorizations, ReservationRequest, ReturnResult
from .clock import Clock
from .context import Context
from .errors import DeviceError
from .flash import Flash, FlashError
from .imports import Imports
from .messages import Event, Syslog
from .online import FAULT_KINDS, FAULT_TARGETS, Comms, Outgoing, apply_aftermath, send
from .platform import PlatformSettings
from .release import Release
from .reporting import Reporting, check_int
from .reports import Report
from .snapshot import Snapshot
from .state import ClockState, DeviceState, Identity, Member, from_stored, to_stored
from .system import ConfigLock, NotAuthorized, System, check_password
from .trust import Trust
from .utility import Utility
from .view import FIRST_PUSH_DELAY, StateView

LOG_KEEP = 4096                   # syslog / event-log entries kept per device
# One clock move runs every job on the way under the device lock: ten years (a few seconds of work) at most,
# so that one request cannot hold the device for hours (or past year 9999).
MAX_CLOCK_STEP = 10 * 365 * 86400


@dataclass(frozen=True)
class ImportResult:
    message: str
    return_code: str = "success"
    confirmation_codes: str | None = None


def _builtin_signed(report: Report, software_tag: str) -> Report:
    """A report closed by an emulator before builtin signatures carries a per-device Ed25519 signature; its
    payload is unchanged, so it is signed again the way real reports are (in memory: it is deterministic)."""
    sig = report.signature
    if report.payload is None or not isinstance(sig, dict) \
            or len(str(sig.get("value", ""))) == artifacts.BUILTIN_SIGNATURE_LENGTH:
        return report
    return replace(report, signature=artifacts.sign_rum_payload(
        report.payload, pid=report.pid, sn=report.sn, software_tag=str(sig.get("key") or software_tag)))


class Device(StateView):
    """The licensing state and rules of one product instance. Read queries (StateView) answer from the
    latest published snapshot."""

    def __init__(self, store: Store, device_id: str, flash: Flash, *, clock: Clock | None = None,
                 trust_anchor=None, profile_dirs: list[Path] = ()):
        self.store = store
        self.device_id = device_id
        self.flash = flash
        self.clock = clock or Clock()
        self.trust_anchor = trust_anchor or artifacts.simulator_public_key()
        self.profile_dirs = list(profile_dirs)
        self._lock = threading.RLock()
        self._depth = 0
        self._listeners: list[Callable[[str, object], None]] = []
        self._published: list[Syslog] = []
        self.config_lock = ConfigLock()
        self.revision = 0
        self._load()

    # ================================================================== creation and loading
    @classmethod
    def create_or_load(cls, store: Store, device_id: str, flash: Flash, *, platform: str = "C8000V",
                       release: str = "17.12.1a", hostname: str | None = None, serial: str | None = None,
                       clock: Clock | None = None, trust_anchor=None, profile_dirs: list[Path] = ()) -> "Device":
        """Loads the stored device, or creates a new one from the given identity. A stored device keeps
        its identity; a different `release` is taken as an upgrade to it."""
        stored = store.load_core(device_id)
        if stored is None:
            profile = load_profile(platform, extra_dirs=profile_dirs)
            Release.parse(release)
            clock = clock or Clock()
            now = clock.now()
            sn = serial or profile.default_serial
            st = DeviceState(
                identity=Identity(profile.pid, hostname or "Router", release, (Member("Active", profile.pid, sn),)),
                signing_key=artifacts.private_key_to_pem(artifacts.generate_private_key()),
                booted_at=now, clock=ClockState(clock.offset, clock.frozen_at))
            store.commit(device_id, to_stored(st))
            device = cls(store, device_id, flash, clock=clock, trust_anchor=trust_anchor, profile_dirs=profile_dirs)
            device._boot(first=True)
            return device
        if clock is not None:
            clock.restore(from_stored(stored).clock.__dict__)
        device = cls(store, device_id, flash, clock=clock, trust_anchor=trust_anchor, profile_dirs=profile_dirs)
        if release and release != device.st.identity.release:
            Release.parse(release)
            with device._op() as ctx:
                ctx.update("identity", release=release)
                ctx.release = Release.parse(release)
                ctx.event(ctx.now(), "SW_VERSION_CHANGE", version=release)
        return device

    def _load(self) -> None:
        stored = self.store.load_core(self.device_id)
        if stored is None:
            raise DeviceError(f"no device {self.device_id!r} in {self.store.path}")
        st = from_stored(stored)
        self.clock.restore(st.clock.__dict__)
        profile = load_profile(st.identity.platform, extra_dirs=self.profile_dirs)
        self.flash.set_sizes(profile.filesystems)          # the platform's file-system sizes
        reports = {r["id"]: _builtin_signed(Report.from_dict(r), profile.software_id)
                   for r in self.store.load_reports(self.device_id)}
        self._syslog = deque((Syslog(**{**b, "seq": seq}) for seq, b in
                              self.store.load_log("syslog", self.device_id, LOG_KEEP)), maxlen=LOG_KEEP)
        self._events = deque(((seq, Event(b["time"], b["name"], tuple(tuple(a) for a in b["attrs"])))
                              for seq, b in self.store.load_log("event", self.device_id, LOG_KEEP)), maxlen=LOG_KEEP)
        self.ctx = Context(st, reports, profile, Release.parse(st.identity.release), self.clock, self.flash,
                           artifacts.private_key_from_pem(st.signing_key), self.trust_anchor)
        ctx = self.ctx
        # The collaborators; their order is the order their jobs run in when due at the same time.
        ctx.reporting = Reporting(ctx)
        ctx.utility = Utility(ctx)
        ctx.comms = Comms(ctx)
        ctx.trust = Trust(ctx)
        ctx.authority = Authorizations(ctx)
        ctx.platform = PlatformSettings(ctx)
        ctx.imports = Imports(ctx)
        ctx.management = System(ctx)
        if stored.get("version") != to_stored(st)["version"]:
            self.store.commit(self.device_id, to_stored(st))       # migrated: stored in the current version
        self._publish()

    # ================================================================== reads
    def snapshot(self) -> Snapshot:
        return self._snapshot

    @property
    def st(self) -> DeviceState:
        return self._snapshot.st

    @property
    def reports(self):
        return self._snapshot.reports

    @property
    def profile(self):
        return self.ctx.profile

    @property
    def release(self) -> Release:
        return self._snapshot.release

    def now(self) -> float:
        return self.clock.now()

    @property
    def signing_public_key(self):
        """The public half of the key the device signs its reports and requests with."""
        return self.ctx.signing_key.public_key()

    def syslog(self, limit: int | None = None) -> list[Syslog]:
        return self._snapshot.syslog(limit)

    def syslog_since(self, seq: int) -> list[Syslog]:
        return self._snapshot.syslog_since(seq)

    def events(self, since: float | None = None) -> list[Event]:
        return self._snapshot.events(since)

    def faults(self, now: float | None = None):
        return self._snapshot.faults(self.clock.now() if now is None else now)

    def check_password(self, name: str, password: str) -> int | None:
        return check_password(self._snapshot.users, name, password)

    def config_locked_by(self) -> str | None:
        return self.config_lock.holder

    # ================================================================== operations
    @contextmanager
    def _op(self, owner: str | None = None, config: bool = False, privilege: int = 15, dry_run: bool = False):
        """One operation: due jobs, the change, one commit (or, with dry_run, none). A configuration change
        (`config`) meets the configuration lock and needs privilege 15. On failure the committed state is
        restored and only the failure's aftermath (its syslogs, history) is committed."""
        notify = False
        try:
            with self._lock:
                outer = self._depth == 0
                self._depth += 1
                ctx = self.ctx
                try:
                    if config:
                        if privilege < 15:
                            raise NotAuthorized()
                        self.config_lock.check(owner)
                    if outer:
                        ctx.run_due(self.clock.now())
                    yield ctx
                    if outer:
                        if dry_run:
                            self._rollback()
                        else:
                            self._commit()
                            notify = True
                except BaseException as exc:
                    if outer:
                        sticky = ctx.sticky
                        self._rollback()
                        aftermath = sticky + list(getattr(exc, "aftermath", None) or [])
                        if aftermath:
                            apply_aftermath(ctx, aftermath, self.clock.now())
                            self._commit()
                            notify = True
                    raise
                finally:
                    self._depth -= 1
        finally:
            if notify:
                self._notify()

    def _rollback(self) -> None:
        snap = self._snapshot
        self.clock.restore(snap.st.clock.__dict__)
        self.ctx.reset(snap.st, snap.reports)
        self.ctx.release = snap.release

    def _commit(self) -> None:
        ctx = self.ctx
        ctx.put(clock=ClockState(self.clock.offset, self.clock.frozen_at))
        reports = [ctx.reports[i].to_dict() for i in sorted(ctx.dirty) if i in ctx.reports]
        self.store.commit(self.device_id, to_stored(ctx.st), reports=reports, deleted_reports=sorted(ctx.deleted),
                          syslog=[(m.seq, m.to_dict()) for m in ctx.new_syslog],
                          events=[(seq, {"time": e.time, "name": e.name, "attrs": list(e.attrs)})
                                  for seq, e in ctx.new_events],
                          log_keep=LOG_KEEP, clear_events=ctx.clear_events)
        if ctx.clear_events:
            self._events.clear()
        self._syslog.extend(ctx.new_syslog)
        self._events.extend(ctx.new_events)
        self._published = list(ctx.new_syslog)
        reports_changed = bool(ctx.dirty or ctx.deleted)
        self.revision += 1
        ctx.clear_pending()
        self._publish(reports_changed)

    def _publish(self, reports_changed: bool = True) -> None:
        ctx = self.ctx
        previous = getattr(self, "_snapshot", None)
        reports = (MappingProxyType(dict(ctx.reports)) if reports_changed or previous is None
                   else previous.reports)
        self._snapshot = Snapshot(ctx.st, reports, ctx.profile, ctx.release, self.revision, tuple(self._syslog),
                                  tuple(self._events), self.config_lock.holder)

    def _notify(self) -> None:
        published, self._published = self._published, []
        for listener in list(self._listeners):
            for msg in published:
                listener("syslog", msg)
            listener("change", self.revision)

    def subscribe(self, listener: Callable[[str, object], None]) -> Callable[[], None]:
        """listener(kind, obj): ("syslog", Syslog) for each new message, ("change", revision) after every
        committed operation. Returns the unsubscribe function."""
        self._listeners.append(listener)
        return lambda: self._listeners.remove(listener) if listener in self._listeners else None

    def tick(self) -> None:
        """Runs whatever fell due by now (the scheduler thread calls this; reads never do). A job that talks
        to the peer is prepared in one operation, sent without the lock, and finished in the next."""
        previous = None
        while True:
            with self._lock:
                job = self.ctx.next_job()
                if job is None or job.at > self.clock.now():
                    return
            if (job.at, job.order) == previous:
                return              # the job did not move itself on: leave it to the next tick, never spin
            previous = (job.at, job.order)
            if job.exchange is None:
                with self._op():
                    pass
                continue
            t = max(job.at, self.clock.now())     # a job that fell due between ticks goes out now
            self._exchange(lambda ctx, job=job, t=t: job.exchange.prepare(t),
                           lambda ctx, out, outcome, job=job, t=t: job.exchange.finish(out, outcome, t))

    def _exchange(self, prepare: Callable[[Context], Outgoing | None],
                  finish: Callable[[Context, Outgoing, object], object]):
        """One online exchange with the peer in three steps: `prepare(ctx)` in one operation, the exchange
        without the device lock (a network peer may take seconds; readers and other writers go on), then
        `finish(ctx, out, outcome)` in the next operation. Returns what finish returns (None when nothing
        was prepared)."""
        with self._op() as ctx:
            out = prepare(ctx)
        if out is None:
            return None
        outcome = send(out, self.ctx.outbound)
        with self._op() as ctx:
            return finish(ctx, out, outcome)

    def attach_outbound(self, outbound) -> None:
        """Connects the device to CSSM / CSLU (the HTTP push client, or an in-process CSSM)."""
        with self._lock:
            self.ctx.outbound = outbound

    @property
    def outbound(self):
        return self.ctx.outbound

    def _flash_target(self, path: str) -> str:
        try:
            return str(self.flash.parse(path))
        except FlashError as exc:
            raise DeviceError(str(exc), exc.code) from None

    # ================================================================== configuration (the one write path)
    def configure(self, licensing: dict | None = None, *, hostname: str | None = None, system: dict | None = None,
                  boot_level: tuple[str | None, str | None] | None = None, owner: str | None = None,
                  privilege: int = 15, dry_run: bool = False) -> None:
        """One atomic configuration change spanning licensing settings (names of `settings.SETTINGS`; None
        restores the default), the hostname, `license boot level` (`settings.BOOT_LEVEL`: a (level, addon)
        pair, (None, None) its `no` form) and device settings: what a NETCONF edit-config, a RESTCONF
        write or a CLI configuration command does. The change meets the configuration lock (held by a
        NETCONF <lock>) unless `owner` holds it, needs privilege 15, and is checked in full before anything
        changes; `dry_run` checks it the same way and changes nothing."""
        with self._op(owner, config=True, privilege=privilege, dry_run=dry_run) as ctx:
            now = ctx.now()
            if licensing:
                self._apply_licensing(ctx, licensing, now)
            if hostname is not None:
                ctx.management.set_hostname(hostname, now)
            if boot_level is not None:
                ctx.platform.set_boot_level(*boot_level)
            if system:
                ctx.management.apply_settings(system)

    def _apply_licensing(self, ctx: Context, changes: dict, now: float) -> None:
        values = settings.validate(changes, ctx.profile, ctx.release)
        before = ctx.st.config
        if values.get("url_smart"):
            values["url_callhome"] = values["url_smart"]   # `url smart X` also sets `license smart url X` (L10311)
        if "url_cslu" in values and values["url_cslu"] is None and before.url_cslu is not None:
            values["url_cslu"] = settings.CSLU_DISCOVERY_URL   # `no … url cslu` leaves discovery (L10267-10272)
        ctx.update("config", **values)
        if ctx.st.config.url_default and not before.url_default and ctx.transport not in ("smart", "cslu"):
            raise DeviceError("% license smart url default is available only with transport smart or cslu",
                              "transporttype")
        ctx.utility.config_changed(before, now)
        cfg = ctx.st.config
        if (bool(cfg.privacy_hostname), bool(cfg.privacy_version)) != (bool(before.privacy_hostname),
                                                                       bool(before.privacy_version)):
            ctx.event(now, "PRIVACY_CHANGED", hostname=str(bool(cfg.privacy_hostname)).lower(),
                      version=str(bool(cfg.privacy_version)).lower())
        if cfg != before:
            ctx.event(now, "CONFIG_PERSISTED")

    def apply_config(self, changes: dict, owner: str | None = None) -> None:
        self.configure(changes, owner=owner)

    def apply_system_config(self, changes: dict, owner: str | None = None) -> None:
        self.configure(system=changes, owner=owner)

    def set_hostname(self, hostname: str, owner: str | None = None) -> None:
        self.configure(hostname=hostname, owner=owner)

    def set_user(self, name: str, password: str, privilege: int = 15, owner: str | None = None) -> None:
        with self._op(owner, config=True) as ctx:
            ctx.management.set_user(name, password, privilege)

    def remove_user(self, name: str, owner: str | None = None) -> None:
        with self._op(owner, config=True) as ctx:
            ctx.management.set_user(name, None, None)

    def lock_config(self, owner: str) -> str | None:
        """Takes the device-wide configuration lock (NETCONF <lock> on running excludes every management
        agent, RFC 6241 §7.5). Returns None when taken, else the current holder."""
        with self._lock:
            holder = self.config_lock.take(owner)
            self._publish(reports_changed=False)
            return holder

    def unlock_config(self, owner: str) -> bool:
        with self._lock:
            released = self.config_lock.release(owner)
            self._publish(reports_changed=False)
            return released

    # ================================================================== platform configuration
    def set_throughput(self, keyword: str | None, owner: str | None = None):
        """`platform hardware throughput level …`; returns the effective Throughput."""
        with self._op(owner, config=True) as ctx:
            wants_slac = ctx.platform.set_throughput(keyword, ctx.now())
        self._request_slac_on_the_side(wants_slac)
        return self.throughput()

    def set_feature_hseck9(self, enabled: bool, owner: str | None = None) -> None:
        with self._op(owner, config=True) as ctx:
            wants_slac = ctx.platform.set_feature_hseck9(enabled, ctx.now())
        self._request_slac_on_the_side(wants_slac)

    def set_boot_level(self, level: str | None, addon: str | None = None, owner: str | None = None) -> None:
        """`license boot level <level> [addon <addon>]`; None: `no license boot level`."""
        self.configure(boot_level=(level, addon), owner=owner)

    def write_memory(self) -> None:
        with self._op() as ctx:
            ctx.platform.write_memory()

    # ================================================================== usage, clock, reports
    def set_usage(self, license_name: str, count: int) -> Entitlement:
        """What configuring (count > 0) or removing (count 0) a feature does on a router."""
        check_int(count, 0, 0xFFFFFFFF, "count")
        with self._op() as ctx:
            ent = ctx.reporting.resolve(license_name)
            ctx.reporting.set_usage(ent, count, ctx.now())
            return ent

    def advance_clock(self, seconds: float) -> float:
        """Moves the clock forward, running every job that falls due, in time order. Returns the new now."""
        if isinstance(seconds, bool) or not isinstance(seconds, (int, float)) or not 0 <= seconds <= MAX_CLOCK_STEP:
            raise DeviceError(f"% Invalid number of seconds (0 to {MAX_CLOCK_STEP} in one step)")
        with self._op() as ctx:
            target = self.clock.now() + seconds
            ctx.run_due(target, exchanges=True)
            if self.clock.now() < target:
                self.clock.jump_to(target)
            return target

    def set_clock(self, now: float | None = None, frozen: bool | None = None) -> float:
        """Jumps forward to an absolute time (never back: the device's records only move forward) and/or
        freezes or releases the clock."""
        with self._op() as ctx:
            if now is not None:
                if now > self.clock.now() + MAX_CLOCK_STEP:
                    raise DeviceError(f"% The emulated clock moves at most {MAX_CLOCK_STEP} seconds in one step",
                                      "invalidrequest")
                if now < self.clock.now():
                    raise DeviceError("% The emulated clock cannot go backwards", "invalidrequest")
                ctx.run_due(now, exchanges=True)
                self.clock.jump_to(now)
            if frozen is True:
                self.clock.freeze()
            elif frozen is False:
                self.clock.unfreeze()
            return self.clock.now()

    def save_usage(self, selector: str, path: str, days: int | None = None, rum_id: int | None = None) -> str:
        """`license smart save usage {all | unreported | days N | rum-id ID} file <path>`. Returns the
        flash path written."""
        if selector == "days":
            days = check_int(days, 0, 0xFFFFFFFF, "number of days")
        if selector == "rum-id":
            rum_id = check_int(rum_id, 0, 0xFFFFFFFFFFFFFFFF, "RUM report id")
        target = self._flash_target(path)
        with self._op() as ctx:
            now = ctx.now()
            return ctx.reporting.save_usage(selector, target, now, days, rum_id)

    def collect_reports(self, days: int | None = None, rum_id: int | None = None,
                        with_requests: bool = False) -> list[artifacts.RumEnvelope]:
        """A data-model pull (CSLU / SSM On-Prem / controller); `with_requests`: the pending trust / SLAC
        requests follow the reports (what `/smartlic-service/all-reports` returns)."""
        if days is not None:
            days = check_int(days, 0, 0xFFFFFFFF, "number of days")
        if rum_id is not None:
            rum_id = check_int(rum_id, 0, 0xFFFFFFFFFFFFFFFF, "RUM report id")
        with self._op() as ctx:
            return ctx.reporting.collect(ctx.now(), days, rum_id, with_requests)

    def close_reports(self) -> int:
        """Closes every OPEN report now (successors open for licences still in use); returns how many."""
        with self._op() as ctx:
            return ctx.reporting.close_all(ctx.now(), reason="NONE", termination="CurrentUsageRequested")

    def reload(self) -> int:
        """What a reload does to licensing: open reports close with reason RELOAD, successors open, boot
        syslogs. Returns the number of reports closed."""
        with self._op() as ctx:
            now = ctx.now()
            closed = ctx.reporting.close_all(now, reason="RELOAD", termination="ProductReload")
            ctx.platform.apply_startup(now)
            ctx.put(booted_at=now)
            ctx.update("reporting", trigger=now + FIRST_PUSH_DELAY)      # a reload triggers reporting (R29)
            self._boot_messages(ctx, now)
            return closed

    def _boot(self, first: bool) -> None:
        with self._op() as ctx:
            now = ctx.now()
            ctx.event(now, "INIT_START", version=ctx.agent_version)
            self._boot_messages(ctx, now)
            if first:
                ctx.event(now, "INIT_COMPLETE")

    @staticmethod
    def _boot_messages(ctx: Context, now: float) -> None:
        ctx.event(now, "READY")
        ctx.event(now, "ENABLED")
        if any(e.enforcement == "export" for e in ctx.profile.entitlements):
            ctx.event(now, "EXPORT_FLAG", exportAllowed=str(ctx.export_allowed()))      # L11733
        ctx.syslog(now, messages.agent_enabled())
        for rec in ctx.usage():
            if rec.entitlement.enforcement == "export":
                ctx.syslog(now, messages.export_controlled(rec.status == "IN USE",
                                                           rec.entitlement.feature_name or "hseck9"))
        ctx.syslog(now, messages.system_restarted())
        ctx.reporting.announce_deadline(now)
        ctx.update("reporting", reminder_cursor=now)

    def log_message(self, facility: str, severity: int, mnemonic: str, text: str) -> None:
        """A syslog message of the device around licensing (a front-end's, e.g. %SEC_LOGIN-1-QUIET_MODE_ON)."""
        with self._op() as ctx:
            ctx.syslog(ctx.now(), (facility, severity, mnemonic, text))

    def clear_eventlog(self) -> None:
        with self._op() as ctx:
            ctx.clear_events = True
            ctx.new_events.clear()

    # ================================================================== import
    def import_file(self, path: str) -> ImportResult:
        """`license smart import <path>` / RPC import-file."""
        try:
            data = self.flash.read(path)
        except FlashError as exc:
            raise DeviceError(str(exc), exc.code) from None
        return self.import_data(data)

    def import_data(self, data: bytes | str) -> ImportResult:
        """Imports an ACK, policy or code document; everything is checked before anything is installed."""
        with self._op() as ctx:
            ctx.imports.import_data(data, ctx.now())
            return ImportResult("Import Data Successful")

    # ================================================================== online
    def sync(self, all_members: bool = False) -> None:
        """`license smart sync {all|local}`: send pending reports and requests, install what comes back
        (ACK, policy, trust codes, SLACs), fetching a polled ACK at once. Not throttled (R26)."""
        poll = self._exchange(lambda ctx: ctx.comms.prepare_sync(ctx.now(), all_members),
                              lambda ctx, out, outcome: ctx.comms.finish_sync(out, outcome, ctx.now(), True))
        if poll:
            self._exchange(lambda ctx: ctx.comms.prepare_poll(ctx.now()),
                           lambda ctx, out, outcome: ctx.comms.finish_poll(out, outcome, ctx.now()))

    def inject_fault(self, kind: str, target: str = "any", count: int | None = None,
                     seconds: float | None = None) -> int:
        """Makes the device's outbound licensing communication fail: `kind` unreachable | timeout |
        http-error | malformed, towards `target` cslu | cssm | any, for `count` attempts or `seconds`
        (neither: until cleared). Returns the fault id."""
        if kind not in FAULT_KINDS:
            raise DeviceError(f"% Unknown fault kind {kind!r}")
        if target not in FAULT_TARGETS:
            raise DeviceError(f"% Unknown fault target {target!r}")
        if count is not None and seconds is not None:
            raise DeviceError("% Give a count or a duration, not both")
        if count is not None:
            count = check_int(count, 1, 0xFFFFFFFF, "count")
        if seconds is not None and (isinstance(seconds, bool) or not isinstance(seconds, (int, float))
                                    or seconds <= 0):
            raise DeviceError("% Invalid duration")
        with self._op() as ctx:
            return ctx.comms.inject_fault(kind, target, count, seconds, ctx.now())

    def clear_faults(self) -> int:
        with self._op() as ctx:
            return ctx.comms.clear_faults()

    # ================================================================== trust
    def save_trust_request(self, path: str) -> str:
        target = self._flash_target(path)
        with self._op() as ctx:
            return ctx.trust.save_request(target, ctx.now())

    def trust_idtoken(self, token: str, all_members: bool = False, force: bool = False) -> None:
        """`license smart trust idtoken`: the trust code from CSSM; then, communication being restored, the
        device sends its report at once and polls for the ACK minutes later, as in the guide's log
        (L5587-5595: trust at 03:37:15, the ACK at 03:42:03); advance-clock skips the wait."""
        self._exchange(lambda ctx: ctx.trust.prepare_idtoken(token, all_members, force, ctx.now()),
                       lambda ctx, out, outcome: ctx.trust.finish_idtoken(out, outcome, ctx.now()))
        self._exchange(lambda ctx: ctx.comms.prepare_sync(ctx.now(), all_members),
                       lambda ctx, out, outcome: ctx.comms.finish_push(out, outcome, ctx.now()))

    def install_factory_trust(self) -> None:
        with self._op() as ctx:
            ctx.trust.install_factory(ctx.now())

    # ================================================================== authorizations
    def authorization_request(self, mode: str, feature: str, all_members: bool = False,
                              count: int | None = None) -> None:
        """`license smart authorization request …`: staged (and committed) first, then sent when a
        transport is configured; the SLAC is installed in the operation after the answer."""
        self._exchange(lambda ctx: ctx.authority.prepare_request(mode, feature, all_members, count, ctx.now()),
                       lambda ctx, out, outcome: ctx.authority.finish_request(out, outcome, ctx.now()))

    def _request_slac_on_the_side(self, wanted: bool) -> None:
        """The SLAC a throughput level or `license feature hseck9` asks for (R39): a failure leaves the
        setting in place (clamped until a SLAC arrives, R4) and only logs."""
        if not wanted:
            return
        def prepare(ctx):
            hsec = ctx.profile.hseck9_entitlement(ctx.release.key)
            outs = []
            ctx.comms.attempt(ctx.now(), lambda: outs.append(
                ctx.authority.prepare_request("add", hsec.name, False, None, ctx.now())))
            return outs[0] if outs else None
        self._exchange(prepare, lambda ctx, out, outcome: ctx.comms.attempt(
            ctx.now(), ctx.authority.finish_request, out, outcome, ctx.now()))

    def authorization_request_save(self, path: str) -> str:
        if not self.release.slac_files:
            raise DeviceError("% Saving a SLAC request needs 17.7.1a or later", "notsupported")
        target = self._flash_target(path)
        with self._op() as ctx:
            return ctx.authority.save_request(target, ctx.now())

    def authorization_return(self, all_members: bool = False, online: bool = False,
                             path: str | None = None) -> ReturnResult:
        target = self._flash_target(path) if path else None
        with self._op() as ctx:
            result, returns = ctx.authority.return_codes(all_members, online, target, ctx.now())
        for element in returns:          # the code is removed locally either way (one attempt each)
            self._exchange(lambda ctx: ctx.comms.prepare("Authorization Return", ctx.now(), "return_authorization",
                                                         element),
                           lambda ctx, out, outcome: ctx.comms.attempt(ctx.now(), ctx.comms.finish, out, outcome,
                                                                       ctx.now()))
        return result

    def export_return(self, all_members: bool, feature: str) -> ReturnResult:
        with self._op() as ctx:
            online = ctx.authority.check_export_return(feature)
        return self.authorization_return(all_members, online=online)

    def reservation_request(self, all_members: bool = False) -> ReservationRequest:
        with self._op() as ctx:
            return ctx.authority.reservation_request(all_members, ctx.now())

    def reservation_cancel(self, all_members: bool = False) -> None:
        with self._op() as ctx:
            ctx.authority.reservation_cancel(all_members)

    def reservation_install(self, code: str) -> None:
        with self._op() as ctx:
            ctx.authority.reservation_install(code, ctx.now())

    def reservation_install_file(self, path: str) -> None:
        try:
            text = self.flash.read(path).decode("ascii", errors="replace")
        except FlashError as exc:
            raise DeviceError(str(exc), exc.code) from None
        self.reservation_install(text.strip().splitlines()[0] if text.strip() else "")

    def reservation_return(self, all_members: bool = False) -> ReturnResult:
        with self._op() as ctx:
            return ctx.authority.reservation_return(all_members, ctx.now())

    def migrate_legacy(self, kind: str, licences: dict[str, int]) -> None:
        with self._op() as ctx:
            ctx.authority.migrate_legacy(kind, licences, ctx.now())

    # ================================================================== HA
    def ha_add_member(self, pid: str, sn: str, role: str = "Standby") -> None:
        with self._op() as ctx:
            ctx.platform.ha_add_member(pid, sn, role, ctx.now())

    def ha_remove_member(self, sn: str) -> None:
        with self._op() as ctx:
            ctx.platform.ha_remove_member(sn, ctx.now())

    def ha_switchover(self) -> None:
        with self._op() as ctx:
            ctx.platform.ha_switchover(ctx.now())

    # ================================================================== factory reset (R69)
    def factory_reset(self) -> None:
        """`license smart factory reset`: removes all licensing information except the licences in use."""
        with self._op() as ctx:
            now = ctx.now()
            st = ctx.st
            for key in st.authorizations:
                ctx.syslog(now, messages.authorization_removed(key))
            if st.policy is not None and not st.policy.is_default:
                ctx.syslog(now, messages.policy_removed())
            for rid in list(ctx.reports):
                ctx.drop_report(rid)
            ctx.open.clear()
            ctx.holding.clear()
            ctx.holding_live = 0
            fresh = DeviceState(identity=st.identity, signing_key=st.signing_key, booted_at=st.booted_at)
            ctx.put(policy=None, authorizations={}, trust={}, auth_request=None, reservation_requests={},
                    subscriptions={}, imports={}, codes={}, plr=None, account=None, comm=fresh.comm,
                    counters=replace(fresh.counters, next_report_id=st.counters.next_report_id),
                    reporting=replace(fresh.reporting, t0=now if st.usage else None))
            for name, rec in st.usage.items():
                ctx.reporting.start_report(ctx.profile.entitlement(name), rec.count, now)
            ctx.event(now, "FACTORY_RESET")
            ctx.platform.throughput_changed(now)
