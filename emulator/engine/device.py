"""One emulated product instance: its whole licensing state, the rules that change it, and its jobs.

The engine is pure: no sockets, no front-end imports. Every public operation runs under the device lock,
first runs the jobs that fell due up to now, then changes the in-memory state, then commits those
changes to the store in one transaction. If anything fails the in-memory state is reloaded from the
store, so a rejected operation leaves the device exactly as it was.
"""

from __future__ import annotations

import secrets
import threading
from collections import deque
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from ..profiles import Entitlement, Profile, load_profile
from ..store import Store
from . import artifacts, messages
from .artifacts import ArtifactError
from .authority import AuthorityMixin
from .errors import DeviceError
from .clock import Clock
from .flash import Flash, FlashError
from .messages import Event, Syslog
from .policy import (GROUPS, Policy, cisco_default, custom_policy, group_of,
                     min_positive)
from .release import Release
from .reports import MEASUREMENT_INTERVAL, Report, Summary, summarize
from .timefmt import DAY

CORE_SCHEMA = 1
LOG_KEEP = 4096                   # syslog / event-log entries kept per device
REPORT_STORAGE_LIMIT = 1000       # reports holding data (EXIST) before the oldest are purged (Q19)
REPORT_TIME_LIMIT = 400 * DAY     # reports older than this are purged / forgotten (Q19)
CLOSE_PERIOD = DAY                # open reports close at least daily (Q5, R22)
FIRST_PUSH_DELAY = 120.0          # `Next report push` = t0 + 2 minutes (R13)
CLOCK_SKEW_TOLERANCE = DAY        # signed artefacts from further in the future fail "timestamp mismatch"
REMINDER_DAYS_BEFORE = (30, 14, 7, 1)  # REPORTING_REQUIRED reminders before the deadline, then daily (Q6)

DEFAULT_CALLHOME_URL = "https://tools.cisco.com/its/service/oddce/services/DDCEService"
SMART_DEFAULT_URL = "https://smartreceiver.cisco.com/licservice/license"
CSLU_URL_AFTER_DEFAULT = "https://cslu-local:8182/cslu/v1/pi"
CSLU_URL_AFTER_NO = "http://cslu-local:8182/cslu/v1/pi"
TRANSPORTS = ("cslu", "smart", "callhome", "off")

CUSTOMER_INFO_FIELDS = ("id", "name", "street", "city", "state", "country", "postalcode")

CONFIG_DEFAULTS: dict = {
    "enable": False,               # `license smart enable` has no effect on SLP; devices report false
    "transport": "cslu",
    "url_cslu": None,             # None: `Cslu address: <empty>`, discovery through cslu-local
    "url_smart": None,
    "url_callhome": DEFAULT_CALLHOME_URL,
    "url_utility": None,
    "proxy_address": None,
    "proxy_port": None,
    "vrf": None,
    "server_identity_check": True,
    "usage_interval": None,       # None: not configured (policy decides; shown as 30 days)
    "customer_tag1": None, "customer_tag2": None, "customer_tag3": None, "customer_tag4": None,
    "privacy_hostname": False,
    "privacy_version": False,
    "utility_enabled": False,
    **{f"customer_info_{f}": None for f in CUSTOMER_INFO_FIELDS},
    "custom_id": None,
    "reservation": False,
}


FAULT_KINDS = ("unreachable", "timeout", "http-error", "malformed")
FAULT_TARGETS = ("cslu", "cssm", "any")

SYSTEM_DEFAULTS: dict = {
    "ip_http_server": False,
    "ip_http_secure_server": True,
    "ip_http_authentication_local": True,
    "ip_http_max_connections": 5,
    "netconf_yang": True,
    "restconf": True,
    "ip_scp_server": True,
    "logging_console": True,
}


@dataclass(frozen=True)
class UsageRecord:
    entitlement: Entitlement
    count: int
    since: float
    status: str            # IN USE | NOT AUTHORIZED
    export_status: str     # NOT RESTRICTED | RESTRICTED - ALLOWED | RESTRICTED - NOT ALLOWED


@dataclass(frozen=True)
class ImportResult:
    message: str
    return_code: str = "success"
    confirmation_codes: str | None = None


@dataclass(frozen=True)
class Timers:
    """`show license status` → Usage Reporting (L12213-12222), as epoch seconds or None."""
    last_ack: float | None
    ack_deadline: float | None
    push_interval_days: int
    next_ack_push_check: float | None
    next_report_push: float | None
    last_report_push: float | None
    last_report_file_write: float | None
    last_report_pull: float | None


def _check_str(value, length: tuple[int, int], what: str) -> str:
    if not isinstance(value, str) or not (length[0] <= len(value) <= length[1]):
        raise DeviceError(f"% Invalid {what}: expected {length[0]}..{length[1]} characters")
    return value


def _check_bool(value, what: str) -> bool:
    if not isinstance(value, bool):
        raise DeviceError(f"% Invalid {what}: expected true or false")
    return value


def _check_int(value, lo: int, hi: int, what: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not lo <= value <= hi:
        raise DeviceError(f"% Invalid {what}: expected {lo}..{hi}")
    return value


def _validate_config_value(key: str, value):
    if value is None:
        return None
    if key in ("enable", "server_identity_check", "privacy_hostname", "privacy_version", "utility_enabled",
               "reservation"):
        return _check_bool(value, key)
    if key == "transport":
        if value == "automatic":          # `automatic` selects cslu (L10224-10236)
            return "cslu"
        if value not in TRANSPORTS:
            raise DeviceError(f"% Invalid transport {value!r}")
        return value
    if key == "usage_interval":
        return _check_int(value, 0, 3650, "usage interval")
    if key == "proxy_port":
        return _check_int(value, 1, 65535, "proxy port")
    if key.startswith("customer_tag"):
        return _check_str(value, (1, 127), key)
    if key.startswith("customer_info_"):
        return _check_str(value, (1, 250), key)
    if key.startswith("url_"):
        value = _check_str(value, (1, 1024), key)
        if any(c.isspace() for c in value):
            raise DeviceError(f"% Invalid URL {value!r}")
        return value
    return _check_str(value, (1, 255), key)


class Device(AuthorityMixin):
    """The licensing state and rules of one product instance."""

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
        self.revision = 0
        self._load()

    # ================================================================== creation and loading
    @classmethod
    def create_or_load(cls, store: Store, device_id: str, flash: Flash, *, platform: str = "C8000V",
                       release: str = "17.12.1a", hostname: str | None = None, serial: str | None = None,
                       clock: Clock | None = None, trust_anchor=None, profile_dirs: list[Path] = ()) -> "Device":
        """Loads the stored device, or creates a new one from the given identity. A stored device keeps
        its identity; a different `release` is taken as an upgrade to it."""
        core = store.load_core(device_id)
        if core is None:
            profile = load_profile(platform, extra_dirs=profile_dirs)
            Release.parse(release)
            clock = clock or Clock()
            now = clock.now()
            sn = serial or profile.default_serial
            core = {
                "schema": CORE_SCHEMA,
                "identity": {"platform": profile.pid, "pid": profile.pid, "sn": sn,
                             "hostname": hostname or "Router", "release": release,
                             "members": [{"role": "Active", "pid": profile.pid, "sn": sn}]},
                "clock": clock.to_dict(),
                "config": dict(CONFIG_DEFAULTS),
                "usage": {},
                "policy": None,
                "reporting": {"t0": None, "last_ack": None, "change_deadline": None, "last_push": None,
                              "last_pull": None, "last_file_write": None, "reminder_cursor": None,
                              "last_close": None, "next_ack_check": None},
                "account": None,
                "counters": {"total": 0, "purged": 0, "next_report_id": 0},
                "signing_key": artifacts.private_key_to_pem(artifacts.generate_private_key()),
                "seq": {"syslog": 0, "event": 0},
                "imports": {},
                "booted_at": now,
            }
            store.commit(device_id, core)
            device = cls(store, device_id, flash, clock=clock, trust_anchor=trust_anchor,
                         profile_dirs=profile_dirs)
            device._boot(first=True)
            return device
        if clock is not None:
            clock.restore(core.get("clock", {}))
        device = cls(store, device_id, flash, clock=clock, trust_anchor=trust_anchor, profile_dirs=profile_dirs)
        if release and release != device.core["identity"]["release"]:
            Release.parse(release)
            with device._op():
                device.core["identity"]["release"] = release
                device._event(device.clock.now(), "SW_VERSION_CHANGE", version=release)
        return device

    def _load(self) -> None:
        core = self.store.load_core(self.device_id)
        if core is None:
            raise DeviceError(f"no device {self.device_id!r} in {self.store.path}")
        self.core = core
        self.clock.restore(core.get("clock", {}))
        ident = core["identity"]
        self.profile: Profile = load_profile(ident["platform"], extra_dirs=self.profile_dirs)
        self.release = Release.parse(ident["release"])
        self.reports: dict[int, Report] = {r["id"]: Report.from_dict(r) for r in self.store.load_reports(self.device_id)}
        self._open: dict[str, Report] = {r.feature: r for r in self.reports.values() if r.state == "OPEN"}
        holding = sorted((r for r in self.reports.values() if r.storage == "EXIST" and r.state != "OPEN"),
                         key=lambda r: (r.end, r.id))
        self._holding: deque[int] = deque(r.id for r in holding)
        self._holding_live = len(holding)
        self.policy = Policy.from_dict(core["policy"]) if core["policy"] else cisco_default()
        self._signing_key = artifacts.private_key_from_pem(core["signing_key"])
        self.syslog_buffer: deque[tuple[int, Syslog]] = deque(
            ((seq, Syslog(**{**b, "seq": seq})) for seq, b in self.store.load_log("syslog", self.device_id, LOG_KEEP)),
            maxlen=LOG_KEEP)
        self.event_buffer: deque[tuple[int, Event]] = deque(
            ((seq, Event(b["time"], b["name"], tuple(tuple(a) for a in b["attrs"])))
             for seq, b in self.store.load_log("event", self.device_id, LOG_KEEP)),
            maxlen=LOG_KEEP)
        self._reset_pending()

    def _reset_pending(self) -> None:
        self._dirty: set[int] = set()
        self._deleted: set[int] = set()
        self._new_syslog: list[tuple[int, Syslog]] = []
        self._new_events: list[tuple[int, Event]] = []
        self._clear_events = False
        # Changes that stand even when the operation fails (an injected fault is used up by the attempt).
        self._sticky: list[Callable] = []

    # ================================================================== operations
    @contextmanager
    def _op(self):
        """One operation: due jobs, the change, one commit. On failure the state is reloaded from the store
        and only the failure's aftermath (its syslogs, history) is committed."""
        notify = False
        try:
            with self._lock:
                outer = self._depth == 0
                self._depth += 1
                try:
                    if outer:
                        self._run_due(self.clock.now())
                    yield
                    if outer:
                        self._commit()
                        notify = True
                except BaseException as exc:
                    if outer:
                        sticky = self._sticky
                        self._load()
                        aftermath = sticky + list(getattr(exc, "aftermath", None) or [])
                        if aftermath:
                            self._apply_aftermath(aftermath, self.clock.now())
                            self._commit()
                            notify = True
                    raise
                finally:
                    self._depth -= 1
        finally:
            if notify:
                self._notify()

    def _apply_aftermath(self, items, now: float) -> None:
        """What a refusal leaves behind: syslog message tuples, or callables (device, now)."""
        for item in items:
            item(self, now) if callable(item) else self._syslog(now, item)

    def _attempt(self, now: float, fn, *args) -> DeviceError | None:
        """Runs a step whose refusal must not undo the operation around it (a SLAC requested on the side,
        a scheduled push): the refusal's aftermath is applied and the refusal returned."""
        try:
            fn(*args)
        except DeviceError as exc:
            self._apply_aftermath(exc.aftermath, now)
            return exc
        return None

    def _commit(self) -> None:
        self.core["clock"] = self.clock.to_dict()
        self.core["policy"] = None if self.policy.is_default else self.policy.to_dict()
        reports = [self.reports[i].to_dict() for i in sorted(self._dirty) if i in self.reports]
        self.store.commit(self.device_id, self.core, reports=reports, deleted_reports=sorted(self._deleted),
                          syslog=[(seq, m.to_dict()) for seq, m in self._new_syslog],
                          events=[(seq, {"time": e.time, "name": e.name, "attrs": list(e.attrs)})
                                  for seq, e in self._new_events],
                          log_keep=LOG_KEEP, clear_events=self._clear_events)
        if self._clear_events:
            self.event_buffer.clear()
        self.syslog_buffer.extend(self._new_syslog)
        self.event_buffer.extend(self._new_events)
        self._published = self._new_syslog
        self.revision += 1
        self._reset_pending()

    def _notify(self) -> None:
        published, self._published = getattr(self, "_published", []), []
        for listener in list(self._listeners):
            for _, msg in published:
                listener("syslog", msg)
            listener("change", self.revision)

    def subscribe(self, listener: Callable[[str, object], None]) -> Callable[[], None]:
        """listener(kind, obj): ("syslog", Syslog) for each new message, ("change", revision) after every
        committed operation. Returns the unsubscribe function."""
        self._listeners.append(listener)
        return lambda: self._listeners.remove(listener) if listener in self._listeners else None

    def tick(self) -> None:
        """Runs whatever fell due by now (front-ends call this before reading; `serve` calls it every second)."""
        with self._lock:
            nxt = self._next_due()
            if nxt is None or nxt[0] > self.clock.now():
                return
        with self._op():
            pass

    # ================================================================== identity and simple reads
    @property
    def active(self) -> dict:
        """The HA member that is active now (the device itself when standalone)."""
        return next(m for m in self.core["identity"]["members"] if m["role"] == "Active")

    @property
    def pid(self) -> str:
        return self.active["pid"]

    @property
    def sn(self) -> str:
        return self.active["sn"]

    @property
    def udi(self) -> str:
        return artifacts.long_udi(self.pid, self.sn)

    @property
    def hostname(self) -> str:
        return self.core["identity"]["hostname"]

    @property
    def members(self) -> list[dict]:
        return self.core["identity"]["members"]

    @property
    def config(self) -> dict:
        return self.core["config"]

    @property
    def booted_at(self) -> float:
        return self.core.get("booted_at") or self.clock.now()

    @property
    def plr(self) -> dict | None:
        """The installed PLR (`installed_at`, `code`, `udis`), or None."""
        return self.core.get("plr") or None

    @property
    def platform_settings(self) -> dict:
        """Configured platform settings: `throughput` (level keyword), `feature_hseck9`, `startup`."""
        return dict(self.core.get("platform") or {})

    @property
    def account(self) -> dict | None:
        return self.core["account"]

    @property
    def agent_version(self) -> str:
        return self.profile.agent_version.for_release(self.release.key)

    @property
    def software_tag(self) -> str:
        """The ISO 19770 software id tag RUM reports are signed under (their `asset.name`)."""
        return self.profile.software_id

    @property
    def signing_public_key(self):
        return self._signing_key.public_key()

    def now(self) -> float:
        return self.clock.now()

    def syslog(self, limit: int | None = None) -> list[Syslog]:
        with self._lock:
            items = [m for _, m in self.syslog_buffer]
        return items[-limit:] if limit else items

    def syslog_since(self, seq: int) -> list[tuple[int, Syslog]]:
        with self._lock:
            return [(s, m) for s, m in self.syslog_buffer if s > seq]

    def events(self, since: float | None = None) -> list[Event]:
        with self._lock:
            return [e for _, e in self.event_buffer if since is None or e.time >= since]

    # ================================================================== usage
    def usage(self) -> list[UsageRecord]:
        with self._lock:
            out = []
            for name, rec in self.core["usage"].items():
                ent = self.profile.entitlement(name)
                status, export = self._status_of(ent)
                out.append(UsageRecord(ent, rec["count"], rec["since"], status, export))
            return out

    def _status_of(self, ent: Entitlement) -> tuple[str, str]:
        if ent.enforcement in ("export", "enforced"):
            if self._authorized(ent):
                return "IN USE", ("RESTRICTED - ALLOWED" if ent.enforcement == "export" else "NOT RESTRICTED")
            return "NOT AUTHORIZED", ("RESTRICTED - NOT ALLOWED" if ent.enforcement == "export"
                                      else "NOT RESTRICTED")
        return "IN USE", "NOT RESTRICTED"

    def _authorized(self, ent: Entitlement) -> bool:
        """Whether an installed authorization covers this entitlement: PLR covers everything (R50); a SLAC,
        SLR or PAK of the active covers its listed licences."""
        if self.core.get("plr"):
            return True
        auth = self.core.get("authorizations", {}).get(self.udi)
        return bool(auth and ent.tag in auth.get("entitlements", {}))

    def _groups_in_use(self) -> set[str]:
        groups = set()
        for name in self.core["usage"]:
            ent = self.profile.entitlement(name)
            groups.add(group_of(ent.enforcement, ent.term))
        return groups

    def set_usage(self, license_name: str, count: int) -> Entitlement:
        """What configuring (count > 0) or removing (count 0) a feature does on a router."""
        if isinstance(count, bool) or not isinstance(count, int) or not 0 <= count <= 0xFFFFFFFF:
            raise DeviceError(f"% Invalid count {count!r}")
        try:
            ent = self.profile.resolve(license_name, self.release.key)
        except KeyError:
            raise DeviceError(f"% Unknown license {license_name!r} on {self.pid}", "notfound") from None
        with self._op():
            self._set_usage_now(ent, count, self.clock.now())
            return ent

    def _set_usage_now(self, ent: Entitlement, count: int, now: float, quiet: bool = False) -> None:
        """`quiet`: a change applied while booting, whose syslogs the boot sequence itself prints."""
        usage = self.core["usage"]
        if usage.get(ent.name, {}).get("count", 0) != count:
            rep = self.core["reporting"]
            deadline_before = self.ack_deadline()
            first_use = rep["t0"] is None and count > 0
            if first_use:
                rep["t0"] = now
            if count:
                usage[ent.name] = {"count": count, "since": usage.get(ent.name, {}).get("since", now)}
            else:
                usage.pop(ent.name, None)
            self._event(now, "ENDPOINT_USAGE", count=str(count), entitlementTag=ent.full_tag)
            open_report = self._open_report_for(ent.name)
            if open_report is not None:
                self._close_report(open_report, now, reason="NONE" if count else "DECONFIG",
                                   termination="UsageChanged" if count else "Deconfigured")
                if count:
                    self._start_report(ent, count, now, prev=open_report)
            elif count:
                self._start_report(ent, count, now)
            self._usage_changed(ent, now, first_use=first_use)
            deadline = self.ack_deadline()
            if deadline is not None and (deadline_before is None or deadline < deadline_before):
                if not quiet:
                    self._announce_deadline(now)   # a new, nearer requirement is announced at once
            if ent.enforcement == "export" and not quiet:
                self._syslog(now, messages.export_controlled(self._authorized(ent), ent.feature_name or "hseck9"))

    def _usage_changed(self, ent: Entitlement, now: float, first_use: bool) -> None:
        """R15: a change of usage requires a report within the group's report-on-change days. The very
        first use starts the first-report clock instead (R13: 365 days for perpetual licences)."""
        rep = self.core["reporting"]
        roc = self.policy.group(group_of(ent.enforcement, ent.term)).on_change.days
        if roc > 0 and not first_use:
            candidate = now + roc * DAY
            if rep["change_deadline"] is None or candidate < rep["change_deadline"]:
                rep["change_deadline"] = candidate
        rep["reminder_cursor"] = now

    def _announce_deadline(self, now: float) -> None:
        deadline = self.ack_deadline()
        if deadline is not None:
            days = max(0, round((deadline - now) / DAY))
            self._syslog(now, messages.reporting_required(days))

    # ================================================================== reporting requirement and timers
    def ack_deadline(self) -> float | None:
        """`Next ACK deadline` (R12–R16, Q1, Q16)."""
        rep = self.core["reporting"]
        if rep["t0"] is None or not self.policy.ack_required.days or self.core.get("plr"):
            return None                                   # R12; R16; PLR never reports (R17, R50)
        groups = self._groups_in_use()
        candidates = []
        legacy = self.core.get("authorizations", {}).get(self.udi, {}).get("kind") in ("slr", "pak")
        if legacy:
            pass                                          # SLR and PAK report only on a change (R17)
        elif rep["last_ack"] is None:
            first = min_positive(self.policy.group(g).first.days for g in groups)
            if first:
                candidates.append(rep["t0"] + first * DAY)
        else:
            freq = min_positive(self.policy.group(g).frequency.days for g in groups)
            if freq:
                candidates.append(rep["last_ack"] + freq * DAY)
        if rep["change_deadline"] is not None:
            candidates.append(rep["change_deadline"])
        if self.config["utility_enabled"]:
            candidates.append((rep["last_ack"] or rep["t0"]) + 30 * DAY)
        return min(candidates) if candidates else None

    def push_interval_days(self) -> int:
        """`Reporting push interval` (R24, R25)."""
        configured = self.config["usage_interval"]
        if configured == 0:
            return 0
        if configured is None:
            return 30 if self.ack_deadline() is not None else 0
        if self.config["transport"] == "off":
            freq = min_positive(self.policy.group(g).frequency.days for g in self._groups_in_use())
            if freq:
                return min(configured, freq)
        return configured

    def timers(self) -> Timers:
        with self._lock:
            rep = self.core["reporting"]
            interval = self.push_interval_days()
            next_push = None
            if interval and rep["t0"] is not None:
                next_push = (rep["t0"] + FIRST_PUSH_DELAY if rep["last_push"] is None
                             else rep["last_push"] + interval * DAY)
            if rep.get("trigger") is not None and self.config["transport"] != "off":
                next_push = rep["trigger"] if next_push is None else min(next_push, rep["trigger"])
            if rep.get("retry_at") is not None:
                next_push = rep["retry_at"]
            return Timers(last_ack=rep["last_ack"], ack_deadline=self.ack_deadline(), push_interval_days=interval,
                          next_ack_push_check=rep.get("next_ack_check"), next_report_push=next_push,
                          last_report_push=rep["last_push"], last_report_file_write=rep["last_file_write"],
                          last_report_pull=rep["last_pull"])

    # ================================================================== jobs and the clock
    def _next_due(self) -> tuple[float, str] | None:
        candidates = []
        rep = self.core["reporting"]
        if rep["last_close"] is not None and self._open:
            candidates.append((rep["last_close"] + CLOSE_PERIOD, "close"))
        reminder = self._next_reminder()
        if reminder is not None:
            candidates.append((reminder, "reminder"))
        candidates.extend(self._utility_due())
        push = self._next_push()
        if push is not None:
            candidates.append((push, "push"))
        poll = self._next_poll()
        if poll is not None:
            candidates.append((poll, "poll"))
        return min(candidates) if candidates else None

    def _next_reminder(self) -> float | None:
        deadline = self.ack_deadline()
        if deadline is None:
            return None
        after = self.core["reporting"]["reminder_cursor"]
        if after is None:
            after = self.core["reporting"]["t0"]
        for days in REMINDER_DAYS_BEFORE:
            t = deadline - days * DAY
            if t > after:
                return t
        if deadline > after:
            return deadline
        return deadline + (int((after - deadline) // DAY) + 1) * DAY

    def _run_due(self, until: float) -> None:
        while True:
            nxt = self._next_due()
            if nxt is None or nxt[0] > until:
                return
            t, job = nxt
            if self.clock.now() < t:
                self.clock.jump_to(t)
            if job == "close":
                self._close_all(t, reason="NONE", termination="PeriodicClose")
                self._apply_retention(t)
            elif job == "reminder":
                deadline = self.ack_deadline()
                self.core["reporting"]["reminder_cursor"] = t
                self._syslog(t, messages.reporting_required(max(0, round((deadline - t) / DAY))))
            elif job == "push":
                self._push_job(t)
            elif job == "poll":
                self._poll_job(t)
            else:
                self._run_utility_job(job, t)

    def advance_clock(self, seconds: float) -> float:
        """Moves the clock forward, running every job that falls due, in time order. Returns the new now."""
        if isinstance(seconds, bool) or not isinstance(seconds, (int, float)) or seconds < 0:
            raise DeviceError("% Invalid number of seconds")
        with self._op():
            target = self.clock.now() + seconds
            self._run_due(target)
            if self.clock.now() < target:
                self.clock.jump_to(target)
            return target

    def set_clock(self, now: float | None = None, frozen: bool | None = None) -> float:
        """Jumps forward to an absolute time (never back: the device's records only move forward) and/or
        freezes or releases the clock."""
        with self._op():
            if now is not None:
                if now < self.clock.now():
                    raise DeviceError("% The emulated clock cannot go backwards", "invalidrequest")
                self._run_due(now)
                self.clock.jump_to(now)
            if frozen is True:
                self.clock.freeze()
            elif frozen is False:
                self.clock.unfreeze()
            return self.clock.now()

    # ================================================================== RUM reports
    def _open_report_for(self, feature: str) -> Report | None:
        return self._open.get(feature)

    def report_list(self) -> list[Report]:
        with self._lock:
            return [self.reports[i] for i in sorted(self.reports)]

    def report_summary(self) -> Summary:
        with self._lock:
            c = self.core["counters"]
            return summarize(self.reports.values(), c["total"], c["purged"])

    def _new_report_id(self, now: float) -> int:
        c = self.core["counters"]
        # IDs count up by one, seeded from epoch seconds like the guide's examples (Q5).
        if not c["next_report_id"]:
            c["next_report_id"] = int(now)
        rid = c["next_report_id"]
        c["next_report_id"] += 1
        c["total"] += 1
        return rid

    def _start_report(self, ent: Entitlement, count: int, now: float, prev: Report | None = None) -> Report:
        report = Report(id=self._new_report_id(now), feature=ent.name, tag=ent.full_tag, pid=self.pid,
                        sn=self.sn, count=count, start=now, prev_id=prev.id if prev else 0,
                        utility=bool(self.config["utility_enabled"]))
        if prev is not None:
            prev.next_id = report.id
            self._dirty.add(prev.id)
        rep = self.core["reporting"]
        if not self._open:              # the first open report starts a new close cycle
            rep["last_close"] = now
        self.reports[report.id] = report
        self._open[report.feature] = report
        self._dirty.add(report.id)
        return report

    def _close_report(self, report: Report, now: float, reason: str, termination: str) -> None:
        report.end = now
        report.advance("CLOSED", reason)
        self._open.pop(report.feature, None)
        report.termination = termination
        report.payload = self._build_payload(report)
        report.signature = artifacts.sign_rum_payload(self._signing_key, report.payload, pid=report.pid,
                                                      sn=report.sn, software_tag=self.software_tag)
        self._holding.append(report.id)
        self._holding_live += 1
        self._dirty.add(report.id)

    def _close_all(self, now: float, reason: str, termination: str) -> int:
        """Closes every OPEN report and opens its successor for licences still in use (R19)."""
        closed = 0
        for report in sorted(self._open.values(), key=lambda r: r.id):
            if report.start >= now and termination == "CurrentUsageRequested":
                continue                 # nothing measured yet: a pull or save at this instant has no data
            self._close_report(report, now, reason, termination)
            closed += 1
            rec = self.core["usage"].get(report.feature)
            if rec:
                self._start_report(self.profile.entitlement(report.feature), rec["count"], now, prev=report)
        self.core["reporting"]["last_close"] = now
        return closed

    def _build_payload(self, report: Report) -> str:
        duration = max(0, int(report.end - report.start))
        measurement = {
            "log_time": int(report.end), "metric_name": "ENTITLEMENT", "start_time": int(report.start),
            "end_time": int(report.end), "sample_interval": duration,
            "num_samples": duration // MEASUREMENT_INTERVAL + 1,
            "meta": {"termination_reason": report.termination, "close_reason": report.termination},
            "value": {"type": "COUNT", "value": str(report.count)},
        }
        version = None
        if self.release.version_in_rum and not self.config["privacy_version"]:
            version = self.release.display
        ha_udi = [{"role": m["role"], "sudi": artifacts.sudi(m["pid"], m["sn"])} for m in self.members]
        return artifacts.build_rum_payload(
            report_id=report.id, software_tag=self.software_tag, pid=report.pid, sn=report.sn,
            entitlement_tag=report.tag, software_version=version, utility_enabled=report.utility,
            ha_udi=ha_udi, measurements=[measurement])

    def _envelope(self, report: Report) -> artifacts.RumEnvelope:
        return artifacts.RumEnvelope(payload=report.payload, signature=report.signature, header={"type": "rum"})

    def _apply_retention(self, now: float) -> None:
        """Purges the oldest unacknowledged data beyond the storage limit or the time limit, and forgets
        records past the time limit (R21, Q19); acknowledged reports have already released their data.
        Amortised O(1) per closed report: `_holding` lists closed reports holding data, oldest first."""
        cutoff = now - REPORT_TIME_LIMIT
        while self._holding:
            report = self.reports.get(self._holding[0])
            if report is None or report.storage != "EXIST":
                self._holding.popleft()           # acknowledged or purged since it was queued
                continue
            if self._holding_live > REPORT_STORAGE_LIMIT:
                self._purge(report, "LIMIT_STORAGE")
            elif report.end < cutoff:
                self._purge(report, "LIMIT_TIME")
            else:
                break
            self._holding.popleft()
        for report in list(self.reports.values()):
            if report.end is None or report.end >= cutoff:
                break                             # records are kept in id order, oldest first
            if report.storage != "EXIST":
                del self.reports[report.id]
                self._dirty.discard(report.id)
                self._deleted.add(report.id)

    def _purge(self, report: Report, why: str) -> None:
        self._release_data(report)
        report.flag = "P"
        report.storage = "PURGED"
        report.storage_reason = why
        self.core["counters"]["purged"] += 1
        self._dirty.add(report.id)

    def _release_data(self, report: Report) -> None:
        if report.storage == "EXIST" and report.state != "OPEN":
            self._holding_live -= 1
        report.payload = None
        report.signature = None

    def _select_reports(self, selector: str, now: float, days: int | None, rum_id: int | None) -> list[Report]:
        holding = [r for r in sorted(self.reports.values(), key=lambda r: r.id)
                   if r.storage == "EXIST" and r.state != "OPEN"]
        if selector == "all":
            return holding
        if selector == "unreported":
            return [r for r in holding if r.state in ("CLOSED", "UNACK")]
        if selector == "days":
            return [r for r in holding if r.end is not None and r.end >= now - days * DAY]
        if selector == "rum-id":
            report = self.reports.get(rum_id)
            if report is None or report.storage != "EXIST":
                raise DeviceError(f"% RUM report {rum_id} is not available", "notfound")
            return [report]
        raise DeviceError(f"% Invalid selection {selector!r}")

    def _mark_reported(self, reports: list[Report], transaction_id: str = "0") -> None:
        for report in reports:
            if report.state in ("CLOSED", "PENDING"):
                report.advance("UNACK", "REPORTING")
                report.transaction_id = transaction_id
                self._dirty.add(report.id)

    def _privacy_info(self) -> dict | None:
        if not self.release.privacy_message:
            return None
        info: dict = {"udi": artifacts.sudi(self.pid, self.sn)}
        if not self.config["privacy_hostname"]:
            info["hostname"] = self.hostname
        if not self.config["privacy_version"]:
            info["software_version"] = self.release.display
            info["agent_version"] = self.agent_version
        return info

    def save_usage(self, selector: str, path: str, days: int | None = None, rum_id: int | None = None) -> str:
        """`license smart save usage {all | unreported | days N | rum-id ID} file <path>`. Returns the
        flash path written."""
        if selector == "days":
            days = _check_int(days, 0, 0xFFFFFFFF, "number of days")
        if selector == "rum-id":
            rum_id = _check_int(rum_id, 0, 0xFFFFFFFFFFFFFFFF, "RUM report id")
        target = self._flash_target(path)
        with self._op():
            now = self.clock.now()
            self._close_all(now, reason="NONE", termination="CurrentUsageRequested")
            chosen = self._select_reports(selector, now, days, rum_id)
            text = artifacts.usage_file([self._envelope(r) for r in chosen], pid=self.pid, sn=self.sn,
                                        device_public_key=self.signing_public_key,
                                        privacy_info=self._privacy_info(),
                                        requests=self._usage_file_requests(now))
            self.flash.write(str(target), text.encode())
            self._mark_reported(chosen)
            self.core["reporting"]["last_file_write"] = now
            self._event(now, "RUM_SAVE", file=str(target), reports=str(len(chosen)))
            return str(target)

    def _flash_target(self, path: str):
        try:
            return self.flash.parse(path)
        except FlashError as exc:
            raise DeviceError(str(exc), exc.code) from None

    def collect_reports(self, days: int | None = None, rum_id: int | None = None) -> list[artifacts.RumEnvelope]:
        """A data-model pull (CSLU / SSM On-Prem / controller): closes OPEN reports (Q28), returns the reports
        still holding data that are not yet acknowledged — or those of the last `days` days, or report
        `rum_id` — moves them to UNACK and sets Last report pull."""
        selector = "days" if days is not None else "rum-id" if rum_id is not None else "unreported"
        if days is not None:
            days = _check_int(days, 0, 0xFFFFFFFF, "number of days")
        if rum_id is not None:
            rum_id = _check_int(rum_id, 0, 0xFFFFFFFFFFFFFFFF, "RUM report id")
        with self._op():
            now = self.clock.now()
            self._close_all(now, reason="NONE", termination="CurrentUsageRequested")
            chosen = self._select_reports(selector, now, days, rum_id)
            self._mark_reported(chosen)
            self.core["reporting"]["last_pull"] = now
            return [self._envelope(r) for r in chosen]

    def close_reports(self) -> int:
        """Closes every OPEN report now (successors open for licences still in use); returns how many."""
        with self._op():
            return self._close_all(self.clock.now(), reason="NONE", termination="CurrentUsageRequested")

    def reload(self) -> int:
        """What a reload does to licensing: open reports close with reason RELOAD, successors open, boot
        syslogs. Returns the number of reports closed."""
        with self._op():
            now = self.clock.now()
            closed = self._close_all(now, reason="RELOAD", termination="ProductReload")
            self._apply_startup(now)
            self.core["booted_at"] = now
            self.core["reporting"]["trigger"] = now + FIRST_PUSH_DELAY      # a reload triggers reporting (R29)
            self._boot_messages(now)
            return closed

    def _boot(self, first: bool) -> None:
        with self._op():
            now = self.clock.now()
            self._event(now, "INIT_START", version=self.agent_version)
            self._boot_messages(now)
            if first:
                self._event(now, "INIT_COMPLETE")

    def _boot_messages(self, now: float) -> None:
        self._event(now, "READY")
        self._event(now, "ENABLED")
        self._syslog(now, messages.agent_enabled())
        for rec in self.usage():
            if rec.entitlement.enforcement == "export":
                self._syslog(now, messages.export_controlled(rec.status == "IN USE",
                                                             rec.entitlement.feature_name or "hseck9"))
        self._syslog(now, messages.system_restarted())
        self._announce_deadline(now)
        self.core["reporting"]["reminder_cursor"] = now

    # ================================================================== configuration
    def configure(self, config: dict | None = None, hostname: str | None = None,
                  system: dict | None = None) -> None:
        """One atomic configuration change spanning licensing settings, the hostname and device settings
        (what a NETCONF edit-config or a RESTCONF PUT does): everything is checked before anything changes."""
        with self._op():
            if config:
                self.apply_config(config)
            if hostname is not None:
                self.set_hostname(hostname)
            if system:
                self.apply_system_config(system)

    def apply_config(self, changes: dict) -> None:
        """Applies licensing configuration changes atomically: every value is checked first; a `None`
        value restores the default. Keys are those of CONFIG_DEFAULTS plus the actions `url_default`
        (bool; `license smart url default`) and `privacy_all` (bool)."""
        validated = {}
        if changes.get("utility_enabled"):
            self._check_utility_allowed()
        if changes.get("reservation") and not (self.profile.supports_plr and self.release.plr):
            raise DeviceError("% license smart reservation is available only on a Catalyst 8000V from 17.10.1a",
                              "notsupported")
        for key, value in changes.items():
            if key in ("url_default", "privacy_all"):
                validated[key] = _check_bool(value, key)
            elif key not in CONFIG_DEFAULTS:
                raise DeviceError(f"% Unknown licensing setting {key!r}")
            else:
                validated[key] = _validate_config_value(key, value)
        with self._op():
            now = self.clock.now()
            cfg = self.config
            before = dict(cfg)
            # `url default` depends on the transport, so it comes after a transport change in the same edit
            for key, value in sorted(validated.items(), key=lambda kv: kv[0] == "url_default"):
                if key == "privacy_all":
                    cfg["privacy_hostname"] = cfg["privacy_version"] = value
                elif key == "url_default":
                    if value:
                        self._apply_url_default()
                elif value is None:
                    # `no license smart url cslu` leaves the discovery URL, not an empty one (L10267-10272)
                    cfg[key] = (CSLU_URL_AFTER_NO if key == "url_cslu" and before["url_cslu"] is not None
                                else CONFIG_DEFAULTS[key])
                else:
                    cfg[key] = value
                    if key == "url_smart":
                        cfg["url_callhome"] = value   # `url smart X` also fills `license smart url` (L10300-10312)
            self._utility_config_changed(before, now)
            if (cfg["privacy_hostname"], cfg["privacy_version"]) != (before["privacy_hostname"],
                                                                     before["privacy_version"]):
                self._event(now, "PRIVACY_CHANGED", hostname=str(cfg["privacy_hostname"]).lower(),
                            version=str(cfg["privacy_version"]).lower())
            if cfg != before:
                self._event(now, "CONFIG_PERSISTED")

    def _apply_url_default(self) -> None:
        cfg = self.config
        if cfg["transport"] == "smart":
            cfg["url_smart"] = SMART_DEFAULT_URL
            cfg["url_callhome"] = SMART_DEFAULT_URL
        elif cfg["transport"] == "cslu":
            cfg["url_cslu"] = CSLU_URL_AFTER_DEFAULT
        else:
            raise DeviceError("% license smart url default is available only with transport smart or cslu",
                              "transporttype")

    # ================================================================== configuration lock
    def lock_config(self, owner: str) -> str | None:
        """Takes the device-wide configuration lock (NETCONF <lock> on running excludes every management
        agent, RFC 6241 §7.5). Returns None when taken, else the current holder."""
        with self._lock:
            holder = getattr(self, "_config_lock_owner", None)
            if holder is not None and holder != owner:
                return holder
            self._config_lock_owner = owner
            return None

    def unlock_config(self, owner: str) -> bool:
        with self._lock:
            if getattr(self, "_config_lock_owner", None) != owner:
                return False
            self._config_lock_owner = None
            return True

    def config_locked_by(self) -> str | None:
        """The holder of the configuration lock, if any; front-ends refuse writes from anyone else."""
        return getattr(self, "_config_lock_owner", None)

    # ================================================================== injected faults (test control)
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
            count = _check_int(count, 1, 0xFFFFFFFF, "count")
        if seconds is not None and (isinstance(seconds, bool) or not isinstance(seconds, (int, float))
                                    or seconds <= 0):
            raise DeviceError("% Invalid duration")
        with self._op():
            faults = self.core.setdefault("faults", {"next_id": 1, "active": []})
            fid = faults["next_id"]
            faults["next_id"] += 1
            faults["active"].append({"id": fid, "kind": kind, "target": target, "remaining": count,
                                     "expires": None if seconds is None else self.clock.now() + seconds})
            return fid

    def clear_faults(self) -> int:
        with self._op():
            faults = self.core.setdefault("faults", {"next_id": 1, "active": []})
            cleared = len(faults["active"])
            faults["active"] = []
            return cleared

    def faults(self) -> list[dict]:
        """Active injected faults (expired ones are left out)."""
        with self._lock:
            now = self.clock.now()
            active = self.core.get("faults", {}).get("active", [])
            return [dict(f) for f in active if f["expires"] is None or f["expires"] > now]

    # ================================================================== device services and users
    @property
    def system(self) -> dict:
        """Non-licensing device settings the front-ends honour (`ip http ...`, `netconf-yang`, ...)."""
        return {**SYSTEM_DEFAULTS, **self.core.get("system", {})}

    def apply_system_config(self, changes: dict) -> None:
        for key, value in changes.items():
            if key not in SYSTEM_DEFAULTS:
                raise DeviceError(f"% Unknown device setting {key!r}")
            if value is not None and type(value) is not type(SYSTEM_DEFAULTS[key]):
                raise DeviceError(f"% Invalid value for {key}")
        with self._op():
            system = self.core.setdefault("system", {})
            for key, value in changes.items():
                if value is None:
                    system.pop(key, None)
                else:
                    system[key] = value

    def users(self) -> dict[str, dict]:
        """Local users: name → {"password": ..., "privilege": 0..15}."""
        with self._lock:
            return {k: dict(v) for k, v in self.core.get("users", {}).items()}

    def set_user(self, name: str, password: str, privilege: int = 15) -> None:
        name = _check_str(name, (1, 64), "username")
        password = _check_str(password, (1, 127), "password")
        privilege = _check_int(privilege, 0, 15, "privilege level")
        if any(c.isspace() for c in name):
            raise DeviceError("% Invalid username")
        with self._op():
            self.core.setdefault("users", {})[name] = {"password": password, "privilege": privilege}

    def remove_user(self, name: str) -> None:
        with self._op():
            if self.core.setdefault("users", {}).pop(name, None) is None:
                raise DeviceError(f"% User {name} does not exist", "notfound")

    def check_password(self, name: str, password: str) -> int | None:
        """The user's privilege level if the credentials are right, else None."""
        with self._lock:
            user = self.core.get("users", {}).get(name)
        if user is None or not secrets.compare_digest(user["password"].encode(), password.encode()):
            return None
        return user["privilege"]

    def set_hostname(self, hostname: str) -> None:
        hostname = _check_str(hostname, (1, 63), "hostname")
        if any(c.isspace() for c in hostname):
            raise DeviceError("% Invalid hostname")
        with self._op():
            if hostname != self.hostname:
                self.core["identity"]["hostname"] = hostname
                self._event(self.clock.now(), "HOSTNAME_CHANGE", hostname=hostname)

    # ================================================================== import (ACK, policy)
    def import_file(self, path: str) -> ImportResult:
        """`license smart import <path>` / RPC import-file."""
        try:
            data = self.flash.read(path)
        except FlashError as exc:
            raise DeviceError(str(exc), exc.code) from None
        return self.import_data(data)

    def import_data(self, data: bytes | str) -> ImportResult:
        """Imports an ACK or policy document; everything is checked before anything is installed."""
        try:
            bundle = artifacts.parse_import(data)
        except ArtifactError as exc:
            raise DeviceError(f"% Import Data Failed: {exc}", exc.code) from None
        with self._op():
            now = self.clock.now()
            try:
                plan = self._check_bundle(bundle, now)
            except DeviceError as exc:
                # A refused import leaves its syslog and its history entry behind, nothing else.
                message = str(exc)
                exc.aftermath.append(lambda dev, t: dev._record_import(t, bundle.kind, message))
                raise
            for step in plan:
                step()
            return ImportResult("Import Data Successful")

    def _verify(self, doc: artifacts.SignedDocument, now: float, failure_syslog=None) -> None:
        def refuse(message: str, reason: str):
            raise DeviceError(f"% Import Data Failed: {message}", "verifysignaturefailed",
                              failure_syslog(reason) if failure_syslog else None)
        if not doc.verify(self.trust_anchor):
            refuse("signature verification failed", "signature mismatch")
        ts = doc.data.get("timestamp")
        if isinstance(ts, bool) or not isinstance(ts, (int, float)) or ts / 1000.0 > now + CLOCK_SKEW_TOLERANCE:
            refuse("timestamp mismatch", "timestamp mismatch")

    def _check_bundle(self, bundle: artifacts.ImportBundle, now: float) -> list[Callable[[], None]]:
        plan: list[Callable[[], None]] = []
        ack = bundle.first("smartLicenseRumAck")
        if ack is not None:
            self._verify(ack, now)
            udi = ack.data.get("udi") or {}
            if not any(udi.get("pid") == m["pid"] and udi.get("sn") == m["sn"] for m in self.members):
                raise DeviceError(f"% Import Data Failed: the ACK is for PID:{udi.get('pid')},SN:{udi.get('sn')}, "
                                  f"not this device ({self.udi})", "matchidentifier")
            acks = ack.data.get("acknowledgements")
            if not isinstance(acks, list) or not all(isinstance(a, dict) and isinstance(a.get("report_id"), int)
                                                     for a in acks):
                raise DeviceError("% Import Data Failed: malformed acknowledgement list", "msgparse")
            plan.append(lambda: self._apply_ack(ack.data, now))
        plan.extend(self._documents_plan(bundle.documents, now, trust_source="ack" if ack else "file"))
        return plan

    def _documents_plan(self, docs: list[artifacts.SignedDocument], now: float,
                        trust_source: str) -> list[Callable[[], None]]:
        """Checks policies, trust codes and authorization codes; returns the steps that install them."""
        plan: list[Callable[[], None]] = []
        slacs = [d for d in docs if d.tag == "smartLicenseAuthorization"]
        for doc in docs:
            if doc.tag == "smartLicensePolicy":
                self._verify(doc, now, messages.policy_install_failed)
                policy = self._policy_from(doc.data, now)
                plan.append(lambda policy=policy: self._install_policy(policy, now))
            elif doc.tag == "smartLicenseTrustCode":
                key, data = self._check_trust(doc, now)
                plan.append(lambda key=key, data=data: self._install_trust(key, data, now, trust_source))
            elif doc.tag == "smartLicenseAuthorization":
                key, data = self._check_authorization(doc, now, slacs)
                plan.append(lambda key=key, data=data: self._install_authorization(key, data, now))
            elif doc.tag == "smartLicenseAuthorizationReturnAck":
                self._verify(doc, now)
                plan.append(lambda: self._record_import(now, "AUTH", "Return acknowledged"))
        return plan

    def _install_documents(self, docs: list[artifacts.SignedDocument], now: float, trust_source: str = "ack") -> None:
        for step in self._documents_plan(docs, now, trust_source):
            step()

    def _policy_from(self, data: dict, now: float) -> Policy:
        def malformed(detail: str):
            raise DeviceError(f"% Import Data Failed: {detail}", "msgparse",
                              messages.policy_install_failed("malformed policy"))
        groups = data.get("groups")
        if not isinstance(data.get("name"), str) or not isinstance(groups, dict):
            malformed("malformed policy")
        values: dict[str, dict[str, int]] = {}
        for group, attrs in groups.items():
            if group not in GROUPS or not isinstance(attrs, dict):
                malformed(f"unknown policy group {group!r}")
            values[group] = {}
            for attr, days in attrs.items():
                if attr not in ("first", "frequency", "on_change") or isinstance(days, bool) \
                        or not isinstance(days, int) or not 0 <= days <= 0xFFFFFFFF:
                    malformed(f"bad policy value {group}/{attr}")
                values[group][attr] = days
        ack_required = data.get("ack_required")
        return custom_policy(data["name"], now, values,
                             ack_required=ack_required if isinstance(ack_required, bool) else None)

    def _install_policy(self, policy: Policy, now: float) -> None:
        self.policy = policy
        self.core["reporting"]["reminder_cursor"] = now
        self._syslog(now, messages.policy_install_success())
        self._event(now, "POLICY_INSTALL", name=policy.name or "")
        self._record_import(now, "POLICY", "Success")

    def _apply_ack(self, data: dict, now: float) -> None:
        transaction = str(data.get("transaction_id", "0"))
        for entry in data["acknowledgements"]:
            report = self.reports.get(entry["report_id"])
            if report is None:
                self._event(now, "RUM_ACK_UNKNOWN", reportId=str(entry["report_id"]))
                continue
            dropped = entry.get("status") == "DROPPED"
            if report.state == "ACK" or dropped:
                report.flag = "E"
                if report.state != "ACK":
                    report.advance("ACK", "DROPPED")
                report.transaction_message = entry.get("message") or "Report already received."
            else:
                report.advance("ACK", "ACKED")
                self._release_data(report)
                report.storage = "DELETED"
                report.storage_reason = "PROCESSED"
            report.transaction_id = "0"
            self._dirty.add(report.id)
        rep = self.core["reporting"]
        rep["last_ack"] = now
        rep["change_deadline"] = None
        rep["reminder_cursor"] = now
        account = data.get("account")
        if self.release.account_info and isinstance(account, dict):
            stamp = data["timestamp"] / 1000.0
            current = self.core["account"]
            if current is None or stamp > current["as_of"]:
                self.core["account"] = {"smart_account": str(account.get("smart_account", "")),
                                        "virtual_account": str(account.get("virtual_account", "")),
                                        "as_of": stamp}
                self._record_import(now, "ACCOUNT INFO", "Success")
        subscriptions = data.get("subscriptions")
        if isinstance(subscriptions, dict):
            self.core["subscriptions"] = {str(k): str(v) for k, v in subscriptions.items()}
            self._utility_subscriptions_changed(now)
        self._syslog(now, messages.sip_licensing_acknowledged())
        for rec in self.usage():
            if rec.entitlement.enforcement == "export" and rec.status == "IN USE":
                self._syslog(now, messages.export_controlled(True, rec.entitlement.feature_name or "hseck9"))
        self._event(now, "RUM_ACK", transactionId=transaction)
        self._record_import(now, "RUM ACK", "Success")

    def _record_import(self, now: float, kind: str, result: str) -> None:
        kind = {"ack": "RUM ACK", "policy": "POLICY"}.get(kind, kind)
        history = self.core["imports"].setdefault(kind, [])
        history.append({"time": now, "result": result})
        del history[:-10]

    def import_history(self) -> dict[str, list[dict]]:
        with self._lock:
            return {k: list(v) for k, v in self.core["imports"].items()}

    # ================================================================== logs
    def _syslog(self, now: float, msg: tuple[str, int, str, str]) -> None:
        facility, severity, mnemonic, text = msg
        self.core["seq"]["syslog"] += 1
        seq = self.core["seq"]["syslog"]
        self._new_syslog.append((seq, Syslog(now, facility, severity, mnemonic, text, seq)))

    def _event(self, now: float, name: str, /, **attrs: str) -> None:
        self.core["seq"]["event"] += 1
        self._new_events.append((self.core["seq"]["event"], Event(now, name, tuple(attrs.items()))))

    def clear_eventlog(self) -> None:
        with self._op():
            self._clear_events = True
            self._new_events.clear()

    # ================================================================== policy reads
    def policy_in_use(self) -> Policy:
        with self._lock:
            return self.policy
