"""Platform settings that decide which licences are in use (R3, R4, R39, R56–R60): throughput levels,
`license feature hseck9`, `license boot level`, what `write memory` saves for the next reload, and HA
membership."""

from __future__ import annotations

from dataclasses import replace

from . import artifacts
from .context import Context
from .errors import DeviceError
from .state import Member, Startup, Udi

ROLES = ("Active", "Standby", "Member")


class PlatformSettings:
    def __init__(self, ctx: Context):
        self.ctx = ctx

    # ================================================================== throughput and HSECK9
    def check_throughput(self, keyword: str | None):
        spec = self.ctx.profile.throughput
        if spec is None:
            raise DeviceError("% This platform has no throughput levels", "notsupported")
        if keyword is None:
            return None
        try:
            level = spec.level(keyword)
        except KeyError:
            raise DeviceError(f"% Unknown throughput level {keyword!r}", "BadInputParams") from None
        if level.min_release and not self.ctx.release.at_least(level.min_release):
            raise DeviceError(f"% Throughput level {keyword} needs {level.min_release}", "notsupported")
        return level

    def set_throughput(self, keyword: str | None, now: float) -> bool:
        """`platform hardware throughput level MB <kw>` (C8000V) / `... crypto <kw>`; None = the `no` form.
        Returns whether the level asks for a SLAC (R39), which the device requests after this operation."""
        ctx = self.ctx
        level = self.check_throughput(keyword)
        spec = ctx.profile.throughput
        before = self.check_throughput(ctx.st.platform.throughput) if ctx.st.platform.throughput else None
        ctx.update("platform", throughput=keyword)
        if spec.level_scope == "total":
            self._follow_throughput_tier(keyword or spec.default_level, now)
        else:
            self._follow_level_licence(before, level, now)
        self.throughput_changed(now)
        # the level is kept, clamped, until a SLAC arrives (R4)
        return keyword is not None and keyword in spec.auto_slac_levels and ctx.transport != "off" \
            and not ctx.throughput_authorized()

    def _follow_level_licence(self, before, level, now: float) -> None:
        """A level with its own licence (ISR `boost` → booster_performance, the performance levels →
        throughput) puts that licence in use and releases the previous level's (L2733-2742, L12438-12447)."""
        ctx = self.ctx
        old = before.entitlement if before is not None else None
        new = level.entitlement if level is not None else None
        if old == new:
            return
        if old and old in ctx.st.usage:
            ctx.reporting.set_usage(ctx.profile.entitlement(old), 0, now)
        if new:
            ctx.reporting.set_usage(ctx.profile.entitlement(new), 1, now)

    def _follow_throughput_tier(self, keyword: str, now: float) -> None:
        """On the C8000V the licence in use is the boot level's variant for the throughput level
        (`network-advantage_T2` …, profiles.md §1.7): a new level moves the usage to its variant at once."""
        ctx = self.ctx
        for name, rec in list(ctx.st.usage.items()):
            ent = ctx.profile.entitlement(name)
            if not ent.boot_level or ent.throughput_level == keyword:
                continue
            try:
                variant = ctx.profile.throughput_entitlement(ent.boot_level, keyword)
            except KeyError:
                continue
            ctx.reporting.set_usage(ent, 0, now)
            ctx.reporting.set_usage(variant, rec.count, now)

    def throughput_changed(self, now: float) -> None:
        ctx = self.ctx
        state = ctx.throughput()
        p = ctx.st.platform
        if not p.effective_known or state.effective_kbps != p.effective_kbps:
            ctx.update("platform", effective_kbps=state.effective_kbps, effective_known=True)
            if p.effective_known:
                ctx.event(now, "THROUGHPUT", level=str(state.effective_kbps or "unthrottled"),
                          clamped=str(state.clamped))

    def check_feature_hseck9(self) -> None:
        if not self.ctx.profile.hseck9.license_feature:
            raise DeviceError("% license feature hseck9 is not supported on this platform", "notsupported")

    def set_feature_hseck9(self, enabled: bool, now: float) -> bool:
        """`license feature hseck9` / `no license feature hseck9` (ISR1K, ISR4K, C8200, C8300): takes effect
        at the next reload after `write`; enabling also requests the SLAC when connected (R39), which the
        device does after this operation (returns whether it should)."""
        ctx = self.ctx
        self.check_feature_hseck9()
        ctx.update("platform", feature_hseck9=bool(enabled))
        return bool(enabled) and ctx.transport != "off" and not ctx.throughput_authorized()

    def check_boot_level(self, level: str | None, addon: str | None) -> None:
        spec = self.ctx.profile.boot_levels
        if level is not None and level not in spec.levels:
            raise DeviceError(f"% Unknown boot level {level!r}", "BadInputParams", field="boot_level")
        if addon is not None and (level is None or addon not in spec.addons):
            raise DeviceError(f"% Unknown boot level addon {addon!r}", "BadInputParams", field="boot_addon")

    def set_boot_level(self, level: str | None, addon: str | None) -> None:
        """`license boot level <level> [addon <addon>]` (None: the `no` form, back to the platform's
        default): the licences the next reload after `write` boots with."""
        self.check_boot_level(level, addon)
        self.ctx.update("platform", boot_level=level, boot_addon=addon)

    def write_memory(self) -> None:
        """`write memory` / `copy running-config startup-config`: what applies at the next reload."""
        p = self.ctx.st.platform
        self.ctx.update("platform", startup=Startup(p.feature_hseck9, p.boot_level, p.boot_addon))

    def _boot_entitlement(self, level: str):
        ctx = self.ctx
        spec = ctx.profile.throughput
        keyword = ctx.st.platform.throughput or (spec.default_level if spec else None)
        if keyword is not None:
            try:
                return ctx.profile.throughput_entitlement(level, keyword)
            except KeyError:
                pass
        try:
            return ctx.profile.resolve(level, ctx.release.key)
        except KeyError:
            return None

    def apply_startup(self, now: float) -> None:
        """At reload: the saved boot level and `license feature hseck9` decide the licences in use."""
        ctx = self.ctx
        startup = ctx.st.platform.startup
        if startup is None:
            return
        if startup.boot_level:
            self._apply_boot_level(startup.boot_level, startup.boot_addon, now)
        if not ctx.profile.hseck9.license_feature:
            return
        hsec = ctx.profile.hseck9_entitlement(ctx.release.key)
        in_use = hsec.name in ctx.st.usage
        if startup.feature_hseck9 and not in_use:
            ctx.reporting.set_usage(hsec, 1, now, quiet=True)
        elif not startup.feature_hseck9 and in_use:
            ctx.reporting.set_usage(hsec, 0, now, quiet=True)

    def _apply_boot_level(self, level: str, addon: str | None, now: float) -> None:
        """The boot-level licences replace those of the previous boot level."""
        ctx = self.ctx
        wanted = [e for e in (self._boot_entitlement(level), self._boot_entitlement(addon) if addon else None) if e]
        for name in ctx.st.platform.boot_usage:
            if name not in {e.name for e in wanted} and name in ctx.st.usage:
                ctx.reporting.set_usage(ctx.profile.entitlement(name), 0, now, quiet=True)
        for ent in wanted:
            if ent.name not in ctx.st.usage:
                ctx.reporting.set_usage(ent, 1, now, quiet=True)
        ctx.update("platform", boot_usage=tuple(e.name for e in wanted), booted_level=(level, addon))

    # ================================================================== HA (R56–R60)
    def _set_members(self, members) -> None:
        self.ctx.update("identity", members=tuple(sorted(members, key=lambda m: ROLES.index(m.role))))

    def ha_add_member(self, pid: str, sn: str, role: str, now: float) -> None:
        ctx = self.ctx
        if role not in ("Standby", "Member"):
            raise DeviceError("% role must be Standby or Member")
        if not pid or not sn:
            raise DeviceError("% pid and sn are required")
        if role == "Standby" and any(m.role == "Standby" for m in ctx.members):
            raise DeviceError("% The HA set already has a standby", "alreadyexists")
        ctx.update("identity", members=(*ctx.members, Member(role, pid, sn)))
        ctx.event(now, "HA_EVENT", event="MEMBER_ADDED", udi=artifacts.long_udi(pid, sn), role=role)
        self._ha_changed(now, new_udi=Udi(pid, sn))

    def ha_remove_member(self, sn: str, now: float) -> None:
        ctx = self.ctx
        member = next((m for m in ctx.members if m.sn == sn and m.role != "Active"), None)
        if member is None:
            raise DeviceError(f"% No standby or member with serial {sn}", "notfound")
        ctx.update("identity", members=tuple(m for m in ctx.members if m is not member))
        ctx.event(now, "HA_EVENT", event="MEMBER_REMOVED", udi=artifacts.long_udi(member.pid, sn))
        self._ha_changed(now)

    def ha_switchover(self, now: float) -> None:
        ctx = self.ctx
        standby = next((m for m in ctx.members if m.role == "Standby"), None)
        if standby is None:
            raise DeviceError("% There is no standby to switch over to", "notfound")
        swapped = {"Active": "Standby", "Standby": "Active"}
        self._set_members(replace(m, role=swapped.get(m.role, m.role)) for m in ctx.members)
        ctx.event(now, "HA_ROLE", role="Active", udi=artifacts.long_udi(standby.pid, standby.sn))
        ctx.event(now, "HOSTNAME_CHANGE", hostname=ctx.hostname)    # the hostname is resent (R60)
        self._ha_changed(now)

    def _ha_changed(self, now: float, new_udi: Udi | None = None) -> None:
        """R29: an HA event triggers reporting; R58: on direct CSSM a new member gets a trust code."""
        ctx = self.ctx
        ctx.reporting.close_all(now, reason="NONE", termination="HaEvent")
        ctx.update("reporting", trigger=now + 120.0)
        if new_udi is not None:
            ctx.trust.sync_new_member(new_udi, now)
