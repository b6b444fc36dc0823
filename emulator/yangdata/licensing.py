"""The device's state and configuration as YANG instance data (plain dicts following `schema`), for the
modules the device implements. NETCONF and RESTCONF both answer from these trees.

Trees are cached per device revision (every committed operation bumps it), so repeated reads cost a
dict lookup; only the clock container, which moves on its own, is rendered on each read."""

from __future__ import annotations

import threading

from ..engine import Device
from ..engine.device import CUSTOMER_INFO_FIELDS, DEFAULT_CALLHOME_URL
from ..engine.policy import KIND_CISCO_DEFAULT, KIND_CONTROLLER, KIND_CUSTOM, KIND_PLR, KIND_PRODUCT_DEFAULT
from ..engine.timefmt import yang_time

TRANSPORT_ENUM = {"callhome": "transport-type-callhome", "smart": "transport-type-smart",
                  "cslu": "transport-type-cslu", "off": "transport-type-off"}
NATIVE_TRANSPORT = {"callhome": "callhome", "smart": "smart", "cslu": "cslu", "off": "Off"}
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


def _customer_info(cfg: dict) -> dict:
    """Utility customer information as cisco-smart-license names it (config and state alike)."""
    return {("postal-code" if f == "postalcode" else f): cfg[f"customer_info_{f}"] for f in CUSTOMER_INFO_FIELDS}


def licensing_config(device: Device) -> dict:
    cfg = device.config
    transport = cfg["transport"]
    transport_data: dict = {"transport-type": TRANSPORT_ENUM[transport]}
    if transport == "smart":
        transport_data["transport-smart"] = {"urls": {"url-registration": cfg["url_smart"],
                                                      "url-utility": cfg["url_utility"]}}
    transport_data["transport-cslu"] = {"url-cslu": cfg["url_cslu"]}
    interval = cfg["usage_interval"]
    return _prune({
        "enable": cfg["enable"],
        "custom-id": cfg["custom_id"],
        "privacy": {"hostname": cfg["privacy_hostname"], "version": cfg["privacy_version"]},
        "utility": {"utility-enable": cfg["utility_enabled"],
                    "customer-info": _customer_info(cfg)},
        "usage": {"interval": interval if interval is not None and 1 <= interval <= 365 else None,
                  "customer-tags": {f"tag{i}": cfg[f"customer_tag{i}"] for i in range(1, 5)}},
        "transport": transport_data,
    })


def licensing_state(device: Device) -> dict:
    cfg = device.config
    timers = device.timers()
    usage = device.usage()
    policy = device.policy_in_use()
    members = device.members

    if device.core.get("plr"):
        auth = {"authorization-state": "auth-state-authorized-reservation",
                "authorization-authorized-reservation": {"reservation-time": yang_time(device.core["plr"]["installed_at"])}}
    elif usage:
        auth = {"authorization-state": "auth-state-authorized",
                "authorization-authorized": {
                    "last-comm-status-success": timers.last_ack is not None,
                    "last-comm-time": yang_time(timers.last_ack),
                    "next-comm-time": yang_time(timers.next_report_push),
                    "comm-deadline-time": yang_time(timers.ack_deadline)}}
    else:
        auth = {"authorization-state": "auth-state-none"}

    utility_reporting = "utility-reporting-type-subscription" if cfg["utility_enabled"] else "utility-reporting-type-none"
    state_info = {
        "registration": {"registration-state": "reg-state-not-registered",
                         "export-control-allowed": any(u.export_status == "RESTRICTED - ALLOWED" for u in usage)},
        "authorization": auth,
        "utility": {"enabled": cfg["utility_enabled"], "reporting": utility_reporting,
                    "customer-info": _customer_info(cfg)},
        "custom-id": cfg["custom_id"],
        "transport": {"transport-type": TRANSPORT_ENUM[cfg["transport"]],
                      "url-settings": ({"url-registration": cfg["url_smart"], "url-utility": cfg["url_utility"]}
                                       if cfg["transport"] == "smart" else None)},
        "privacy": {"hostname": cfg["privacy_hostname"], "version": cfg["privacy_version"]},
        "evaluation": {"eval-in-use": False, "eval-expired": False},
        "udi": udi_data(device.pid, device.sn),
        "usage": [{
            "entitlement-tag": u.entitlement.full_tag,
            "short-name": u.entitlement.name,
            "license-name": u.entitlement.display_name,
            "description": u.entitlement.description,
            "count": u.count,
            "enforcement-mode": ("enforcement-in-compliance" if u.status == "IN USE"
                                 else "enforcement-out-of-compliance"),
            "post-paid": False,
            "subscription-id": device.core.get("subscriptions", {}).get(u.entitlement.tag),
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
        "trust-code": [_trust_entry(device, m) for m in members],
        "conversion": [{"key_udi": _key_udi(m), "status": _conversion_status(device),
                        "udi": udi_data(m["pid"], m["sn"])} for m in members],
        "rum-reports-closed-keys": [{
            "rum-report-key": str(r.id), "report-id": r.id, "udi": udi_data(r.pid, r.sn),
            "report-start-time": yang_time(r.start), "report-end-time": yang_time(r.end),
            "report-state": REPORT_STATE_ENUM[r.state],
        } for r in device.report_list() if r.state in ("CLOSED", "PENDING", "UNACK")],
        "rum-ack": {"last-received-time": yang_time(timers.last_ack),
                    "next-report-deadline": yang_time(timers.ack_deadline)},
        "imported-authorizations": _imported_authorizations(device),
    }
    return _prune({"always-enabled": True, "smart-enabled": True, "version": device.agent_version,
                   "state-info": state_info})


INSTALL_TYPE_ENUM = {"slac": "authorization-type-auth-code", "slr": "authorization-type-slr",
                     "pak": "authorization-type-pak", "plr": "authorization-type-plr"}


def _imported_authorizations(device: Device) -> dict:
    auths = device.core.get("authorizations", {})
    plr = device.core.get("plr")
    overall = []
    for member in device.members:
        key = _key_udi(member)
        if any(e["key_udi"] == key for e in overall):
            continue
        installed = []
        if key in auths:
            installed.append({"install-type": INSTALL_TYPE_ENUM[auths[key]["kind"]],
                              "install-time": yang_time(auths[key]["installed_at"])})
        if plr and key in plr.get("udis", [key]):
            installed.append({"install-type": "authorization-type-plr", "install-time": yang_time(plr["installed_at"])})
        overall.append({"key_udi": key, "udi": udi_data(member["pid"], member["sn"]),
                        "installed-list": installed or [{"install-type": "authorization-type-none"}]})
    totals: dict[str, dict] = {}
    for auth in auths.values():
        for tag, ent in auth["entitlements"].items():
            try:
                profile_ent = device.profile.entitlement(tag)
            except KeyError:
                profile_ent = None
            entry = totals.setdefault(tag, {
                "entitlement-tag": ent["full_tag"], "short-name": ent["name"],
                "license-name": profile_ent.display_name if profile_ent else ent["name"],
                "description": profile_ent.description if profile_ent else None, "total-count": 0,
                "license-enforcement-type": ENFORCEMENT_TYPE_ENUM[profile_ent.enforcement] if profile_ent else None})
            entry["total-count"] += ent["count"]
    return {"overall-status": overall, "authorization-list": list(totals.values())}


def _key_udi(member: dict) -> str:
    return f"PID:{member['pid']},SN:{member['sn']}"


def _trust_entry(device: Device, member: dict) -> dict:
    trust = device.core.get("trust", {}).get(_key_udi(member))
    return {"key_udi": _key_udi(member), "is-installed": trust is not None,
            "time-installed": yang_time(trust["installed_at"]) if trust else None,
            "udi": udi_data(member["pid"], member["sn"])}


def _conversion_status(device: Device) -> str:
    return "conversion-status-not-started" if getattr(device.profile, "dlc_supported", False) \
        else "conversion-status-not-supported"


def native_data(device: Device) -> dict:
    cfg = device.config
    smart = {
        "transport-type": NATIVE_TRANSPORT[cfg["transport"]],
        "privacy": {"hostname": True if cfg["privacy_hostname"] else None,
                    "version": True if cfg["privacy_version"] else None},
        "utility": {"enable": True if cfg["utility_enabled"] else None,
                    "customer-info": {f: cfg[f"customer_info_{f}"] for f in ("city", "country", "id", "name",
                                                                             "postalcode", "state", "street")}},
        "usage": {"interval": cfg["usage_interval"] if cfg["usage_interval"] and cfg["usage_interval"] <= 365
                  else None,
                  "customer-tags": {f"tag{i}": cfg[f"customer_tag{i}"] for i in range(1, 5)}},
        "url": {"cslu": cfg["url_cslu"],
                "name": cfg["url_callhome"] if cfg["url_callhome"] != DEFAULT_CALLHOME_URL else None,
                "utility": cfg["url_utility"]},
        "customer-id": cfg["custom_id"],
    }
    return _prune({"hostname": device.hostname, "version": f"{device.release.major}.{device.release.minor}",
                   "license": {"smart": smart}})


def clock_data(device: Device) -> dict:
    return {"now": yang_time(device.now()), "offset-seconds": int(round(device.clock.offset)),
            "frozen": device.clock.frozen}


def faults_data(device: Device) -> dict:
    return _prune({"fault": [{"id": f["id"], "target": f["target"], "kind": f["kind"],
                              "remaining-count": f["remaining"], "expires": yang_time(f["expires"])}
                             for f in device.faults()]})


class DeviceData:
    """The trees of one device, cached per revision."""

    def __init__(self, device: Device):
        self.device = device
        self._lock = threading.Lock()
        self._cache: dict[str, tuple[int, object]] = {}

    def cached(self, key: str, build):
        """build() is re-run only when the device has changed since the last call for this key."""
        self.device.tick()
        revision = self.device.revision
        with self._lock:
            hit = self._cache.get(key)
            if hit is not None and hit[0] == revision:
                return hit[1]
        value = build()
        with self._lock:
            self._cache[key] = (revision, value)
        return value

    def licensing(self) -> dict:
        return self.cached("licensing", lambda: {"config": licensing_config(self.device),
                                                 "state": licensing_state(self.device)})

    def native(self) -> dict:
        return self.cached("native", lambda: native_data(self.device))

    def clock(self) -> dict:
        return clock_data(self.device)

    def top(self, qname: str) -> dict | None:
        """The data of one top-level node by its qualified name, or None if the device has none."""
        if qname == "cisco-smart-license:licensing":
            return self.licensing()
        if qname == "Cisco-IOS-XE-native:native":
            return self.native()
        if qname == "slpemu-control:clock":
            return self.clock()
        if qname == "slpemu-control:faults":
            return faults_data(self.device)
        return None
