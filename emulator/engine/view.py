"""Every derived fact about a device, computed from its typed state: the one implementation that the
engine's rules (on the state an operation is building) and the readers (on a published snapshot) share."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Mapping

from ..profiles import Entitlement, Profile
from . import artifacts, settings
from .netconfig import exec_privilege, resolve_url
from .policy import Policy, cisco_default, group_of, min_positive
from .release import Release
from .reports import Report, Summary, summarize
from .state import Authorization, DeviceState, Member, Udi
from .timefmt import DAY

FIRST_PUSH_DELAY = 120.0          # `Next report push` = t0 + 2 minutes (R13)
REMINDER_DAYS_BEFORE = (30, 14, 7, 1)  # REPORTING_REQUIRED reminders before the deadline, then daily (Q6)
UTILITY_ACK_DAYS = 30
_CISCO_DEFAULT = cisco_default()


@dataclass(frozen=True)
class UsageRecord:
    entitlement: Entitlement
    count: int
    since: float
    status: str            # IN USE | NOT AUTHORIZED
    export_status: str     # NOT RESTRICTED | RESTRICTED - ALLOWED | RESTRICTED - NOT ALLOWED


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


@dataclass(frozen=True)
class Throughput:
    """Configured and effective throughput (R3, R4)."""
    configured: str | None
    effective_kbps: int | None        # None: unthrottled
    clamped: bool


SLR_FIRST_REPORT_DAYS = 365


class StateView:
    """Read-only queries over (state, profile, release, reports)."""

    st: DeviceState
    profile: Profile
    release: Release
    reports: Mapping[int, Report]

    # ------------------------------------------------------------------ identity
    @property
    def members(self) -> tuple[Member, ...]:
        return self.st.identity.members

    @property
    def active(self) -> Member:
        """The HA member that is active now (the device itself when standalone)."""
        return next(m for m in self.st.identity.members if m.role == "Active")

    @property
    def pid(self) -> str:
        return self.active.pid

    @property
    def sn(self) -> str:
        return self.active.sn

    @property
    def udi(self) -> str:
        return artifacts.long_udi(self.pid, self.sn)

    @property
    def hostname(self) -> str:
        return self.st.identity.hostname

    @property
    def agent_version(self) -> str:
        return self.profile.agent_version.for_release(self.release.key)

    @property
    def software_tag(self) -> str:
        """The ISO 19770 software id tag RUM reports are signed under (their `asset.name`)."""
        return self.profile.software_id

    @property
    def booted_at(self) -> float:
        return self.st.booted_at

    def member_udis(self, all_members: bool) -> list[Udi]:
        """Distinct UDIs covered by `all` (every member) or `local` (the active) (R56, R59)."""
        chosen = self.members if all_members else [self.active]
        seen: dict[tuple[str, str], Udi] = {}
        for m in chosen:
            seen.setdefault((m.pid, m.sn), Udi(m.pid, m.sn))
        return list(seen.values())

    # ------------------------------------------------------------------ configuration
    @property
    def config(self):
        return self.st.config

    @property
    def transport(self) -> str:
        return settings.transport(self.st.config)

    def setting(self, name: str):
        return settings.value(self.st.config, name)

    @property
    def smart_url(self) -> str:
        return self.st.config.url_smart or settings.SMART_DEFAULT_URL

    @property
    def cslu_url(self) -> str | None:
        """`Cslu address`: configured, set by `url default`, or None (`<empty>`: discovery via cslu-local)."""
        cfg = self.st.config
        if cfg.url_cslu:
            return cfg.url_cslu
        if cfg.url_default and self.transport == "cslu":
            return settings.CSLU_URL_AFTER_DEFAULT
        return None

    @property
    def callhome_url(self) -> str:
        return self.st.config.url_callhome or settings.DEFAULT_CALLHOME_URL

    def transport_url(self) -> str:
        """Where online requests go with the current transport, its host name mapped through the `ip host`
        table (in the licensing VRF, else the global one): `ip host cslu-local <ip>` is how the push client
        finds CSLU without DNS (L1402-1412)."""
        transport = self.transport
        if transport == "cslu":
            url = self.cslu_url or settings.CSLU_DISCOVERY_URL
        elif transport == "smart":
            url = self.smart_url
        else:
            url = self.callhome_url
        return resolve_url(self.st.system, url, self.st.config.vrf)

    def exec_privilege(self, level: int) -> int:
        """The privilege level an EXEC login with a user of `level` gets (`aaa authorization exec`)."""
        return exec_privilege(self.st.system, level)

    @property
    def system(self):
        return self.st.system

    @property
    def users(self):
        return self.st.users

    def privilege_of(self, user: str) -> int | None:
        """The privilege level of a local user, None for an unknown name."""
        found = self.st.users.get(user)
        return found.privilege if found is not None else None

    @property
    def platform_settings(self):
        return self.st.platform

    # ------------------------------------------------------------------ usage and authorization
    def usage(self) -> list[UsageRecord]:
        out = []
        for name, rec in self.st.usage.items():
            ent = self.profile.entitlement(name)
            status, export = self.status_of(ent)
            out.append(UsageRecord(ent, rec.count, rec.since, status, export))
        return out

    def shown_usage(self) -> list[UsageRecord]:
        """The licences `show license summary|usage|all` list: those in use, and those an installed SLAC
        still authorizes with count 0."""
        out = self.usage()
        # A SLAC stays installed when its licence is no longer configured: the licence is listed with count 0,
        # NOT IN USE (`no license feature hseck9` + reload, L8673, L8690-8703).
        auth = self.st.authorizations.get(self.udi)
        if auth is not None and auth.kind == "slac":
            for ent in self.profile.entitlements:
                if ent.tag in auth.entitlements and ent.name not in self.st.usage \
                        and ent.enforcement in ("export", "enforced"):
                    export = "RESTRICTED - ALLOWED" if ent.enforcement == "export" else "NOT RESTRICTED"
                    out.append(UsageRecord(ent, 0, auth.installed_at, "NOT IN USE", export))
        return out

    def status_of(self, ent: Entitlement) -> tuple[str, str]:
        if ent.enforcement in ("export", "enforced"):
            if self.authorized(ent):
                return "IN USE", ("RESTRICTED - ALLOWED" if ent.enforcement == "export" else "NOT RESTRICTED")
            return "NOT AUTHORIZED", ("RESTRICTED - NOT ALLOWED" if ent.enforcement == "export"
                                      else "NOT RESTRICTED")
        return "IN USE", "NOT RESTRICTED"

    def authorized(self, ent: Entitlement) -> bool:
        """Whether an installed authorization covers this entitlement: PLR covers everything (R50); a SLAC,
        SLR or PAK of the active covers its listed licences."""
        if self.st.plr is not None:
            return True
        auth = self.st.authorizations.get(self.udi)
        return bool(auth and ent.tag in auth.entitlements)

    def plr_covers(self, udi: str) -> bool:
        return self.st.plr is not None and self.st.plr.covers(udi)

    @property
    def plr(self):
        return self.st.plr

    def authorization(self, udi: str) -> Authorization | None:
        return self.st.authorizations.get(udi)

    def authorizations(self) -> Mapping[str, Authorization]:
        return self.st.authorizations

    def legacy_kind(self) -> str | None:
        """`slr` or `pak` when the active runs on a migrated legacy licence (R17)."""
        auth = self.st.authorizations.get(self.udi)
        return auth.kind if auth is not None and auth.kind in ("slr", "pak") else None

    def export_allowed(self) -> bool:
        return any(r.entitlement.enforcement == "export" and r.status == "IN USE" for r in self.usage())

    def groups_in_use(self) -> set[str]:
        return {group_of(e.enforcement, e.term) for e in (self.profile.entitlement(n) for n in self.st.usage)}

    # ------------------------------------------------------------------ trust
    def trust_codes(self):
        return self.st.trust

    def has_usable_trust(self, udi: str) -> bool:
        trust = self.st.trust.get(udi)
        return bool(trust and trust.usable)

    def members_needing_trust(self) -> list[Udi]:
        return [u for u in self.member_udis(True) if not self.has_usable_trust(artifacts.long_udi(u.pid, u.sn))]

    # ------------------------------------------------------------------ policy and deadlines
    @property
    def policy(self) -> Policy:
        return self.st.policy or _CISCO_DEFAULT

    def policy_in_use(self) -> Policy:
        return self.policy

    def ack_deadline(self) -> float | None:
        """`Next ACK deadline` (R12–R16, Q1, Q16)."""
        rep = self.st.reporting
        policy = self.policy
        if rep.t0 is None or not policy.ack_required.days or self.st.plr is not None:
            return None                                   # R12; R16; PLR never reports (R17, R50)
        groups = self.groups_in_use()
        candidates = []
        if self.legacy_kind() == "pak" and rep.last_ack is None:
            pass                                          # PAK reports only on a change (R17)
        elif rep.last_ack is None:
            first = min_positive(policy.group(g).first.days for g in groups)
            if not first and self.legacy_kind() == "slr":
                first = SLR_FIRST_REPORT_DAYS             # an SLR-migrated device: 365 days (L3256, L3447)
            if first:
                candidates.append(rep.t0 + first * DAY)
        else:
            freq = min_positive(policy.group(g).frequency.days for g in groups)
            if freq:
                candidates.append(rep.last_ack + freq * DAY)
        if rep.change_deadline is not None:
            candidates.append(rep.change_deadline)
        if self.st.config.utility_enabled:
            candidates.append((rep.last_ack or rep.t0) + UTILITY_ACK_DAYS * DAY)
        return min(candidates) if candidates else None

    def push_interval_days(self) -> int:
        """`Reporting push interval` (R24, R25)."""
        configured = self.st.config.usage_interval
        if configured == 0:
            return 0
        if configured is None:
            return 30 if self.ack_deadline() is not None else 0
        if self.transport == "off":
            freq = min_positive(self.policy.group(g).frequency.days for g in self.groups_in_use())
            if freq:
                return min(configured, freq)
        return configured

    def timers(self) -> Timers:
        rep = self.st.reporting
        interval = self.push_interval_days()
        next_push = None
        if interval and rep.t0 is not None:
            next_push = rep.t0 + FIRST_PUSH_DELAY if rep.last_push is None else rep.last_push + interval * DAY
        if rep.trigger is not None and self.transport != "off":
            next_push = rep.trigger if next_push is None else min(next_push, rep.trigger)
        if rep.retry_at is not None:
            next_push = rep.retry_at
        return Timers(last_ack=rep.last_ack, ack_deadline=self.ack_deadline(), push_interval_days=interval,
                      next_ack_push_check=rep.next_ack_check, next_report_push=next_push,
                      last_report_push=rep.last_push, last_report_file_write=rep.last_file_write,
                      last_report_pull=rep.last_pull)

    def next_reminder(self) -> float | None:
        deadline = self.ack_deadline()
        if deadline is None:
            return None
        after = self.st.reporting.reminder_cursor
        if after is None:
            after = self.st.reporting.t0
        for days in REMINDER_DAYS_BEFORE:
            t = deadline - days * DAY
            if t > after:
                return t
        if deadline > after:
            return deadline
        return deadline + (int((after - deadline) // DAY) + 1) * DAY

    # ------------------------------------------------------------------ reports
    def report_list(self) -> list[Report]:
        return [self.reports[i] for i in sorted(self.reports)]

    def report_summary(self) -> Summary:
        c = self.st.counters
        return summarize(self.reports.values(), c.total, c.purged)

    def privacy_info(self) -> dict | None:
        if not self.release.privacy_message:
            return None
        cfg = self.st.config
        info: dict = {"udi": artifacts.sudi(self.pid, self.sn)}
        if not cfg.privacy_hostname:
            info["hostname"] = self.hostname
        if not cfg.privacy_version:
            info["software_version"] = self.release.display
            info["agent_version"] = self.agent_version
        return info

    # ------------------------------------------------------------------ platform
    def throughput_level(self):
        keyword = self.st.platform.throughput
        spec = self.profile.throughput
        if spec is None or keyword is None:
            return None
        return spec.level(keyword)

    def throughput_authorized(self) -> bool:
        if self.st.plr is not None:
            return True
        hsec = [e for e in self.profile.entitlements if e.hseck9]
        return any(self.authorized(e) for e in hsec) or any(
            auth.kind in ("slr", "pak") and any(e.tag in auth.entitlements for e in hsec)
            for auth in self.st.authorizations.values())

    def throughput(self) -> Throughput:
        """Above 250 Mbps needs an authorization, else it is held at 250 Mbps until one is installed."""
        spec = self.profile.throughput
        level = self.throughput_level() or (spec.default if spec else None)
        if level is None:
            return Throughput(None, None, False)
        clamped = level.requires_slac and not self.throughput_authorized()
        kbps = spec.slac_threshold_mbps * 1000 if clamped else level.kbps
        return Throughput(level.keyword, kbps, clamped)

    def configured_boot_level(self) -> tuple[str | None, str | None]:
        """The (level, addon) of `license boot level` as configured ((None, None): not configured)."""
        p = self.st.platform
        return p.boot_level, p.boot_addon

    def boot_level(self) -> tuple[str | None, str | None]:
        """The configured (level, addon), falling back to the platform's defaults."""
        p = self.st.platform
        spec = self.profile.boot_levels
        if p.boot_level:
            return p.boot_level, p.boot_addon
        return spec.default_level, spec.default_addon

    def booted_level(self) -> tuple[str | None, str | None]:
        """The (level, addon) the device booted with at its last reload."""
        booted = self.st.platform.booted_level
        spec = self.profile.boot_levels
        return tuple(booted) if booted else (spec.default_level, spec.default_addon)

    def next_boot_level(self) -> tuple[str | None, str | None]:
        """The (level, addon) the next reload boots with: what `write` saved, else the current one."""
        startup = self.st.platform.startup
        if startup is not None and startup.boot_level:
            return startup.boot_level, startup.boot_addon
        return self.booted_level()

    # ------------------------------------------------------------------ the rest
    @property
    def account(self):
        return self.st.account

    def import_history(self):
        return self.st.imports

    def comm_statistics(self):
        return self.st.comm.stats

    @property
    def codes(self):
        return self.st.codes

    @property
    def subscriptions(self) -> Mapping[str, str]:
        return self.st.subscriptions

    def faults(self, now: float):
        """Injected faults still active at `now`."""
        return [f for f in self.st.faults.active if f.active(now)]
