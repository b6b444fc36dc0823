"""The device's state and configuration as YANG instance data (plain dicts following `schema`), for the
modules the device implements. NETCONF and RESTCONF both answer from these trees.

Trees are rendered from a published snapshot and cached per snapshot, so repeated reads cost a dict
lookup and never take the device lock; only the clock container, which moves on its own, is rendered on
each read. The configuration trees are derived from the settings table (`engine.settings`)."""

from __future__ import annotations

import threading

from ..engine import Device, Snapshot, artifacts, settings
from ..engine.policy import KIND_CISCO_DEFAULT, KIND_CONTROLLER, KIND_CUSTOM, KIND_PLR, KIND_PRODUCT_DEFAULT
from ..engine.timefmt import yang_time
from .decode import check_value
from .errors import YangError
from .schema import get_schema

POLICY_TYPE_ENUM = {KIND_CISCO_DEFAULT: "policy-type-cisco-default", KIND_CUSTOM: "policy-type-custom",
                    KIND_PLR: "policy-type-plr", KIND_CONTROLLER: "policy-type-controller",
                    KIND_PRODUCT_DEFAULT: "policy-type-factory-installed"}
REPORT_STATE_ENUM = {"OPEN": "rum-report-state-open", "CLOSED": "rum-report-state-closed",
                     "PENDING": "rum-report-state-pending", "UNACK": "rum-report-state-unacknowledged",
                     "ACK": "rum-report-state-acknowledged"}
ENFORCEMENT_TYPE_ENUM = {"unenforced": "license-enforcement-type-unenforced",
                         "enforced": "license-enforcement-type-enforced",
                         "export": "license-enforcement-type-export"}
GROUP_CONTAINERS = {"enforced": "policy-enforced", "export": "policy-export",
                    "subscription": "policy-subscription", "perpetual": "policy-perpetual"}


def _prune(data):
    """Drops None values and empty containers so that absent data is absent on the wire."""
    if isinstance(data, dict):
        out = {}
        for k, v in data.items():
            v = _prune(v)
            if v is None or v == {} or v == []:
                continue
            out[k] = v
        return out
    if isinstance(data, list):
        return [_prune(v) for v in data]
    return data


def udi_data(pid: str, sn: str) -> dict:
    return {"pid": pid, "sn": sn}


def _key_udi(member) -> str:
    return artifacts.long_udi(member.pid, member.sn)


def _put(tree: dict, path: tuple[str, ...], value) -> None:
    for name in path[:-1]:
        tree = tree.setdefault(name, {})
    tree[path[-1]] = value


def _fits(node, value) -> bool:
    """Whether the value is valid for the leaf (a setting's range may be wider than one model's)."""
    if node is None or isinstance(value, (bool, str)):
        return True
    try:
        check_value(node, value, from_json=True)
    except YangError:
        return False
    return True


def settings_tree(cfg, model: str, root) -> dict:
    """The configuration tree of one model (`cisco`: licensing/config with effective values, `native`:
    native/license/smart with what is configured, as running-config shows it) from the settings table."""
    tree: dict = {}
    for setting in settings.SETTINGS:
        path = getattr(setting, model)
        if path is None:
            continue
        if model == "cisco":
            if setting.cisco_when is not None and not setting.cisco_when(cfg):
                continue
            value = settings.transport(cfg) if setting.name == "transport" else settings.value(cfg, setting.name)
        else:
            value = getattr(cfg, setting.name)
        if value is None:
            continue
        enum = setting.cisco_enum if model == "cisco" else setting.native_enum
        value = enum.get(value, value)
        node = root
        for name in path:
            node = node.child(name) if node is not None else None
        if node is not None and node.type is not None and node.type.base == "empty":
            if not value:
                continue
            value = True
        if _fits(node, value):
            _put(tree, path, value)
    return tree


def _config_root(qname: str, *path: str):
    node = get_schema().find(qname)
    for name in path:
        node = node.child(name)
    return node


def licensing_config(s: Snapshot) -> dict:
    return settings_tree(s.config, "cisco", _config_root("cisco-smart-license:licensing", "config"))


def licensing_state(s: Snapshot, config: dict) -> dict:
    """`config`: licensing_config(s), whose utility customer information the state repeats."""
    cfg = s.config
    timers = s.timers()
    usage = s.usage()
    policy = s.policy_in_use()
    members = s.members

    if s.plr is not None:
        auth = {"authorization-state": "auth-state-authorized-reservation",
                "authorization-authorized-reservation": {"reservation-time": yang_time(s.plr.installed_at)}}
    elif usage:
        auth = {"authorization-state": "auth-state-authorized",
                "authorization-authorized": {
                    "last-comm-status-success": timers.last_ack is not None,
                    "last-comm-time": yang_time(timers.last_ack),
                    "next-comm-time": yang_time(timers.next_report_push),
                    "comm-deadline-time": yang_time(timers.ack_deadline)}}
    else:
        auth = {"authorization-state": "auth-state-none"}

    utility = bool(cfg.utility_enabled)
    transport = s.transport
    state_info = {
        "registration": {"registration-state": "reg-state-not-registered",
                         "export-control-allowed": any(u.export_status == "RESTRICTED - ALLOWED" for u in usage)},
        "authorization": auth,
        "utility": {"enabled": utility,
                    "reporting": "utility-reporting-type-subscription" if utility else "utility-reporting-type-none",
                    "customer-info": config.get("utility", {}).get("customer-info", {})},
        "custom-id": cfg.custom_id,
        "transport": {"transport-type": settings.TRANSPORT_CISCO_ENUM[transport],
                      "url-settings": ({"url-registration": s.smart_url, "url-utility": cfg.url_utility}
                                       if transport == "smart" else None)},
        "privacy": {"hostname": bool(cfg.privacy_hostname), "version": bool(cfg.privacy_version)},
        "evaluation": {"eval-in-use": False, "eval-expired": False},
        "udi": udi_data(s.pid, s.sn),
        "usage": [{
            "entitlement-tag": u.entitlement.full_tag,
            "short-name": u.entitlement.name,
            "license-name": u.entitlement.display_name,
            "description": u.entitlement.description,
            "count": u.count,
            "enforcement-mode": ("enforcement-in-compliance" if u.status == "IN USE"
                                 else "enforcement-out-of-compliance"),
            "post-paid": False,
            "subscription-id": s.subscriptions.get(u.entitlement.tag),
        } for u in usage],
        "policy": {
            "policy-type": POLICY_TYPE_ENUM.get(policy.kind, "policy-type-custom"),
            "policy-name": policy.name,
            "install-time": yang_time(policy.installed_at),
            "ack-required": bool(policy.ack_required.days),
            **{GROUP_CONTAINERS[g]: {"reporting-first-time": gp.first.days,
                                     "reporting-ongoing": gp.frequency.days,
                                     "reporting-macd": gp.on_change.days}
               for g, gp in policy.groups.items()},
        },
        "trust-code": [_trust_entry(s, m) for m in members],
        "conversion": [{"key_udi": _key_udi(m), "status": _conversion_status(s),
                        "udi": udi_data(m.pid, m.sn)} for m in members],
        "rum-reports-closed-keys": [{
            "rum-report-key": str(r.id), "report-id": r.id, "udi": udi_data(r.pid, r.sn),
            "report-start-time": yang_time(r.start), "report-end-time": yang_time(r.end),
            "report-state": REPORT_STATE_ENUM[r.state],
        } for r in s.report_list() if r.state in ("CLOSED", "PENDING", "UNACK")],
        "rum-ack": {"last-received-time": yang_time(timers.last_ack),
                    "next-report-deadline": yang_time(timers.ack_deadline)},
        "imported-authorizations": _imported_authorizations(s),
    }
    return _prune({"always-enabled": True, "smart-enabled": True, "version": s.agent_version,
                   "state-info": state_info})


INSTALL_TYPE_ENUM = {"slac": "authorization-type-auth-code", "slr": "authorization-type-slr",
                     "pak": "authorization-type-pak", "plr": "authorization-type-plr"}


def _imported_authorizations(s: Snapshot) -> dict:
    auths = s.authorizations()
    overall = []
    for member in s.members:
        key = _key_udi(member)
        if any(e["key_udi"] == key for e in overall):
            continue
        installed = []
        if key in auths:
            installed.append({"install-type": INSTALL_TYPE_ENUM[auths[key].kind],
                              "install-time": yang_time(auths[key].installed_at)})
        if s.plr_covers(key):
            installed.append({"install-type": "authorization-type-plr", "install-time": yang_time(s.plr.installed_at)})
        overall.append({"key_udi": key, "udi": udi_data(member.pid, member.sn),
                        "installed-list": installed or [{"install-type": "authorization-type-none"}]})
    totals: dict[str, dict] = {}
    for auth in auths.values():
        for tag, ent in auth.entitlements.items():
            try:
                profile_ent = s.profile.entitlement(tag)
            except KeyError:
                profile_ent = None
            entry = totals.setdefault(tag, {
                "entitlement-tag": ent.full_tag, "short-name": ent.name,
                "license-name": profile_ent.display_name if profile_ent else ent.name,
                "description": profile_ent.description if profile_ent else None, "total-count": 0,
                "license-enforcement-type": ENFORCEMENT_TYPE_ENUM[profile_ent.enforcement] if profile_ent else None})
            entry["total-count"] += ent.count
    return {"overall-status": overall, "authorization-list": list(totals.values())}


def _trust_entry(s: Snapshot, member) -> dict:
    trust = s.trust_codes().get(_key_udi(member))
    return {"key_udi": _key_udi(member), "is-installed": trust is not None,
            "time-installed": yang_time(trust.installed_at) if trust else None,
            "udi": udi_data(member.pid, member.sn)}


def _conversion_status(s: Snapshot) -> str:
    return "conversion-status-not-started" if s.profile.dlc_supported else "conversion-status-not-supported"


def boot_level_tree(level: str | None, addon: str | None, root) -> dict:
    """native/license/boot/level (`root`) for the (level, addon) in effect, from `settings.BOOT_LEVEL`: the
    level's case, an empty leaf (True) or a presence container (kept when empty) with its addon. What the
    model lacks is left out: a level it has no case for gives no tree, an addon its enumeration lacks the
    level without it."""
    out = {}
    for name, value in settings.BOOT_LEVEL.to_native(level, addon).items():
        node = root.child(name)
        if node is None:
            continue
        if node.is_leaf:
            out[name] = True
            continue
        out[name] = {k: v for k, v in value.items() if node.child(k) is not None and _valid(node.child(k), v)}
    return out


def native_data(s: Snapshot) -> dict:
    """native: what running-config shows (the boot level in effect, the profile's default included)."""
    smart = settings_tree(s.config, "native", _config_root("Cisco-IOS-XE-native:native", "license", "smart"))
    tree = _prune({"hostname": s.hostname, "version": f"{s.release.major}.{s.release.minor}",
                   "license": {"smart": smart}})
    level = boot_level_tree(*s.boot_level(), _config_root("Cisco-IOS-XE-native:native", *settings.BOOT_LEVEL.native))
    if level:
        _put(tree, settings.BOOT_LEVEL.native, level)          # after _prune: an empty presence container stays
    return tree


def clock_data(s: Snapshot) -> dict:
    return {"now": yang_time(s.now()), "offset-seconds": int(round(s.clock.offset)),
            "frozen": s.clock.frozen_at is not None}


def faults_data(s: Snapshot) -> dict:
    return _prune({"fault": [{"id": f.id, "target": f.target, "kind": f.kind,
                              "remaining-count": f.remaining, "expires": yang_time(f.expires)}
                             for f in s.faults(s.now())]})


def _licensing(s: Snapshot) -> dict:
    config = licensing_config(s)
    return {"config": config, "state": licensing_state(s, config)}


def conform(node, value):
    """`value` (instance data of `node`) restricted to what `node`'s schema has: members the schema does not
    have and leaf values its type refuses are dropped, and so are containers and list entries left empty (a
    list entry that lost a key is dropped whole). The trees are rendered for the newest revision of a module;
    a release serving an older revision (releases.py) gets them through this."""
    if node.is_leaf:
        if node.keyword == "leaf-list":
            kept = [v for v in value if _valid(node, v)]
            return kept or None
        return value if _valid(node, value) else None
    if node.keyword == "list" and isinstance(value, list):
        entries = [conform_entry(node, e) for e in value]
        return [e for e in entries if e] or None
    return conform_entry(node, value)


def conform_entry(node, value: dict) -> dict | None:
    out = {}
    for name, child_value in value.items():
        child = node.children.get(name)
        if child is None:
            continue
        kept = conform(child, child_value)
        if kept is not None:
            out[name] = kept
    if node.keyword == "list" and any(k not in out for k in node.keys):
        return None
    if not out and not node.presence:
        return None
    return out


def _valid(node, value) -> bool:
    """Whether the leaf's type takes the value (checked through its RFC 7951 form)."""
    try:
        node.type.from_json(node.type.json_value(value))
    except (ValueError, ArithmeticError, TypeError):
        return False
    return True


class DeviceData:
    """The trees of one device, rendered from its published snapshots and cached per snapshot. `schema` is
    the device schema of the device's release (schema.get_schema): where it serves an older revision of a
    module than the one the trees are rendered for, the trees are conformed to it."""

    def __init__(self, device: Device, schema=None):
        self.device = device
        self.schema = schema if schema is not None else get_schema(device.release)
        self.conforms = self.schema is not get_schema()
        self._lock = threading.Lock()
        self._cache: dict[str, tuple[Snapshot, object]] = {}

    def snapshot(self) -> Snapshot:
        return self.device.snapshot()

    def cached(self, key: str, snap: Snapshot, build):
        """build(snap) is re-run only for a snapshot this key has not been rendered from."""
        with self._lock:
            hit = self._cache.get(key)
            if hit is not None and hit[0] is snap:
                return hit[1]
        value = build(snap)
        with self._lock:
            self._cache[key] = (snap, value)
        return value

    def licensing(self, snap: Snapshot | None = None) -> dict:
        return self.cached("licensing", snap or self.snapshot(), self._render_licensing)

    def _render_licensing(self, snap: Snapshot) -> dict:
        tree = _licensing(snap)
        if self.conforms:
            tree = conform(self.schema.top["cisco-smart-license:licensing"], tree) or {}
        return tree

    def native(self, snap: Snapshot | None = None) -> dict:
        return self.cached("native", snap or self.snapshot(), native_data)

    def top(self, qname: str, snap: Snapshot | None = None) -> dict | None:
        """The data of one top-level node by its qualified name, or None if the device has none."""
        snap = snap or self.snapshot()
        if qname == "cisco-smart-license:licensing":
            return self.licensing(snap)
        if qname == "Cisco-IOS-XE-native:native":
            return self.native(snap)
        if qname == "slpemu-control:clock":
            return clock_data(snap)
        if qname == "slpemu-control:faults":
            return faults_data(snap)
        return None
