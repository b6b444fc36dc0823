"""Renderers of the show commands: engine state in, the exact text a router prints out.

Every function takes the `Device` (and arguments) and returns text with "\n" line ends; the session turns
them into "\r\n". Formats follow spec/cli.md §5 (templates, the PDF-damage fixes of §0) and the real
captures; release differences go through `Fmt`. Nothing here changes state.
"""

from __future__ import annotations

from datetime import datetime, timezone

from ...engine.settings import CUSTOMER_INFO_FIELDS, SMART_DEFAULT_URL
from ...engine.state import AuthorizationCodes, FlowStats
from ...engine.timefmt import DAY, show_time

NO_CODES = AuthorizationCodes()

NONE = "<none>"
EMPTY = "<empty>"

GROUP_TITLES = (
    ("perpetual", "Unenforced/Non-Export Perpetual Attributes:"),
    ("subscription", "Unenforced/Non-Export Subscription Attributes:"),
    ("enforced", "Enforced (Perpetual/Subscription) License Attributes:"),
    ("export", "Export (Perpetual/Subscription) License Attributes:"),
)

POLICY_IN_USE = {
    "cisco-default": "Merged from multiple sources.",
    "product-default": "Product default",
    "plr": "Permanent License Reservation",
    "slr": "Merged from multiple sources.",             # an SLR-migrated device (L3416)
    "pak": "PAK license",
    "controller": "Controller",
}

HISTORY_MESSAGES = ("Trust Establishment", "Usage Reporting", "Result Polling", "Authorization Request",
                    "Authorization Return", "Trust Sync")
HISTORY_IMPORTS = ("POLICY", "AUTH", "TRUST CODE", "RUM ACK", "CONVERSION ACK", "ACCOUNT INFO")

COMM_CATEGORIES = ("Trust Establishment", "Trust Acknowledgement", "Usage Reporting", "Result Polling",
                   "Authorization Request", "Authorization Confirmation", "Authorization Return", "Trust Sync",
                   "Hello Message")


class Fmt:
    """Release-dependent output details (cli.md §5 variations, §9.3)."""

    def __init__(self, release):
        r = release
        self.account_info = r.at_least("17.7.1")            # Account Information, Usage Report Summary
        self.rum = r.at_least("17.7.1")                     # show license rum / tech rum
        self.vrf = r.at_least("17.7.1")                     # VRF: block in status/all
        self.vrf_one_line = r.at_least("17.12.1")           # `  VRF: <empty>`
        self.interval_two_spaces = r.at_least("17.6.1")     # `Reporting push interval: 30  days`
        self.reporting_mode = r.at_least("17.11.1")         # `  Reporting Mode: STANDARD`
        self.conversion_v2 = r.at_least("17.10.1")          # Last Data Push / Last File Export
        self.auth_status_indent = 4 if r.at_least("17.12.1") else 6
        self.rum_detail_gap = 4 if r.at_least("17.9.1") else 6   # after `Previous Report Id: n,`
        self.derived_licenses = not r.at_least("17.5.1")    # 17.3/17.4 authorization view
        self.telemetry = r.at_least("17.9.1")               # tech: Telemetry Reporting statistics
        self.tech_ip_mode = r.at_least("17.12.1")           # tech: IP Mode, Trust Point
        self.tech_conversion = r.at_least("17.7.1")         # tech prints License Conversion (L12585, 17.7.1a)
        self.tech_trust_line = r.at_least("17.10.1")        # tech prints Trust Code Installed
        self.trust_per_udi = r.at_least("17.9.1")           # `Trust Code Installed:` + `  Active: PID:…` lines


def banner(title: str, length: int | None = None) -> list[str]:
    return [title, "=" * (length or len(title))]


def t(value) -> str:
    return show_time(value)


def truncate(text: str, keep: int, limit: int) -> str:
    return text if len(text) <= limit else text[:keep] + "..."


def yes_no(flag: bool) -> str:
    return "yes" if flag else "no"


def enabled(flag: bool) -> str:
    return "ENABLED" if flag else "DISABLED"


def _join(lines: list[str]) -> str:
    return "\n".join(lines) + "\n"


def member_udis(device) -> list[tuple[str, str]]:
    return [(m.role, f"PID:{m.pid},SN:{m.sn}") for m in device.members]


def display(device, ent) -> tuple[str, str]:
    return ent.display_for(device.release.key)


# ====================================================================== status blocks
def utility_last_attempt(device) -> float | None:
    """The last usage report sent (or tried) since utility mode was enabled (L12178)."""
    state = device.st.utility
    st = device.st.comm.stats.get("Usage Reporting")
    if state is None or st is None:
        return None
    times = [x for x in (st.last_success, st.last_failure) if x is not None and x >= state.enabled_at]
    return max(times, default=None)


def utility_block(device) -> list[str]:
    cfg = device.config
    lines = ["Utility:", f"  Status: {enabled(cfg.utility_enabled)}"]
    if cfg.utility_enabled:
        lines.append(f"  Utility report: Last attempt: {t(utility_last_attempt(device))}")
        lines.append("  Customer Information:")
        for key in CUSTOMER_INFO_FIELDS:
            label = "Postal Code" if key == "postalcode" else key.title()
            lines.append(f"    {label}: {getattr(cfg, 'customer_info_' + key) or EMPTY}")
    return lines


def slp_block(device, fmt: Fmt) -> list[str]:
    lines = ["Smart Licensing Using Policy:", "  Status: ENABLED"]
    if fmt.reporting_mode:
        lines.append("  Reporting Mode: STANDARD")
    return lines


def account_block(device) -> list[str]:
    acct = device.account
    if acct:
        sa = f"{acct.smart_account} As of {t(acct.as_of)}"
        va = acct.virtual_account
    else:
        sa = va = NONE
    return ["Account Information:", f"  Smart Account: {sa}", f"  Virtual Account: {va}"]


def privacy_block(device) -> list[str]:
    cfg = device.config
    host = bool(cfg.privacy_hostname)
    return ["Data Privacy:", f"  Sending Hostname: {yes_no(not host)}",
            f"    Callhome hostname privacy: {enabled(host)}",
            f"    Smart Licensing hostname privacy: {enabled(host)}",
            f"  Version privacy: {enabled(bool(cfg.privacy_version))}"]


def transport_block(device, fmt: Fmt, tech: bool = False) -> list[str]:
    cfg = device.config
    kind = device.transport
    lines = ["Transport:"]
    if kind == "smart":
        lines += ["  Type: Smart", f"  URL: {device.smart_url}"]
    elif kind == "cslu":
        lines += ["  Type: cslu", f"  Cslu address: {device.cslu_url or EMPTY}"]
    elif kind == "callhome":
        lines += ["  Type: Callhome"]
    else:
        lines += ["  Type: Transport Off"]
    if kind not in ("smart", "cslu"):
        return lines
    address, port = cfg.proxy_address, cfg.proxy_port
    lines.append("  Proxy:")
    if tech or address or port:
        lines += [f"    Address: {address or EMPTY}", f"    Port: {port if port is not None else EMPTY}",
                  f"    Username: {EMPTY}", f"    Password: {EMPTY}"]
    else:
        lines.append("    Not Configured")
    if tech:
        lines.append(f"  Server Identity Check: {device.setting('server_identity_check')}")
    if tech or fmt.vrf_one_line:
        lines.append(f"  VRF: {cfg.vrf or EMPTY}")
    elif fmt.vrf:
        lines += ["  VRF:", f"    {cfg.vrf or 'Not Configured'}"]
    if tech and fmt.tech_ip_mode:
        lines += ["  IP Mode: IPv4 ONLY", "  Trust Point: SLA-TrustPoint"]
    return lines


def policy_block(device) -> list[str]:
    pol = device.policy_in_use()
    if pol.kind == "custom":
        in_use = f"Installed On {t(pol.installed_at)}"
    else:
        in_use = POLICY_IN_USE.get(pol.kind, POLICY_IN_USE["cisco-default"])
    src = lambda a: "Customer Policy" if a.custom else "CISCO default"   # noqa: E731
    lines = ["Policy:", f"  Policy in use: {in_use}"]
    if pol.name and pol.kind != "cisco-default":
        lines.append(f"  Policy name: {pol.name}")
    lines.append(f"  Reporting ACK required: {yes_no(bool(pol.ack_required.days))} ({src(pol.ack_required)})")
    for group, title in GROUP_TITLES:
        gp = pol.group(group)
        lines += [f"  {title}",
                  f"    First report requirement (days): {gp.first.days} ({src(gp.first)})",
                  f"    Reporting frequency (days): {gp.frequency.days} ({src(gp.frequency)})",
                  f"    Report on change (days): {gp.on_change.days} ({src(gp.on_change)})"]
    return lines


def misc_block(device) -> list[str]:
    return ["Miscellaneous:", f"  Custom Id: {EMPTY}"]


def interval_text(device, fmt: Fmt, tech: bool = False) -> str:
    timers = device.timers()
    n = timers.push_interval_days
    if n == 0:
        text = "0 (no reporting)"
    else:
        text = f"{n}{'  ' if fmt.interval_two_spaces else ' '}days"
    if tech:
        pol = device.policy_in_use()
        freq = [pol.group(g).frequency.days for g in ("perpetual", "subscription", "enforced", "export")]
        in_policy = min([f for f in freq if f > 0], default=0)
        text += f" State({4 if timers.last_ack else 2}) InPolicy({in_policy})"
    return text


def usage_reporting_block(device, fmt: Fmt, tech: bool = False) -> list[str]:
    tm = device.timers()
    return ["Usage Reporting:",
            f"  Last ACK received: {t(tm.last_ack)}",
            f"  Next ACK deadline: {t(tm.ack_deadline)}",
            f"  Reporting push interval: {interval_text(device, fmt, tech)}",
            f"  Next ACK push check: {t(tm.next_ack_push_check)}",
            f"  Next report push: {t(tm.next_report_push)}",
            f"  Last report push: {t(tm.last_report_push)}",
            f"  Last report file write: {t(tm.last_report_file_write)}"] + (
        # a data-model pull (CSLU, SSM On-Prem, a controller) happened (L12221)
        [f"  Last report pull: {t(tm.last_report_pull)}"] if tm.last_report_pull is not None else [])


def trust_lines(device, key: str) -> str:
    trust = device.trust_codes().get(key)
    return f"INSTALLED on {t(trust.installed_at)}" if trust else NONE


def trust_block(device) -> list[str]:
    members = member_udis(device)
    per_udi = Fmt(device.release).trust_per_udi and device.trust_codes()
    if len(members) <= 1 and not per_udi:
        trust = device.trust_codes().get(device.udi)
        return [f"Trust Code Installed: {t(trust.installed_at) if trust else NONE}"]
    lines = ["Trust Code Installed:"]
    for role, udi in members:
        lines += [f"  {role}: {udi}", f"    {trust_lines(device, udi)}"]
    return lines


def reservation_enabled(device) -> bool:
    return bool(device.config.reservation)


# ====================================================================== show license status / all / summary
def show_license_status(device) -> str:
    fmt = Fmt(device.release)
    lines = [""] + utility_block(device) + [""] + slp_block(device, fmt) + [""]
    if fmt.account_info:
        lines += account_block(device)
        if reservation_enabled(device):
            lines.append("License Reservation is ENABLED")
        lines.append("")
    elif reservation_enabled(device):
        lines.insert(-1, "License Reservation is ENABLED")
    lines += privacy_block(device) + [""] + transport_block(device, fmt) + [""] + policy_block(device) + [""]
    lines += misc_block(device) + [""] + usage_reporting_block(device, fmt) + [""] + trust_block(device)
    return _join(lines)


def status_section(device, fmt: Fmt, tech: bool = False) -> list[str]:
    """The `Smart Licensing Status` part of show license all / tech support."""
    lines = banner("Smart Licensing Status") + ["", "Smart Licensing is ENABLED"]
    if reservation_enabled(device):
        lines.append("License Reservation is ENABLED")
    if not tech or fmt.tech_conversion:
        lines += ["", "License Conversion:", "  Automatic Conversion Enabled: "
                  f"{'False' if fmt.conversion_v2 else 'True'}"]
        if fmt.conversion_v2:
            lines += [f"  Last Data Push: {NONE}", f"  Last File Export: {NONE}"]
        else:
            lines.append("  Status: Not started")
    lines += ["", "Export Authorization Key:", "  Features Authorized:", f"    {NONE}", ""]
    lines += utility_block(device) + [""] + slp_block(device, fmt) + [""]
    if fmt.account_info:
        lines += account_block(device) + [""]
    lines += privacy_block(device) + [""] + transport_block(device, fmt, tech) + [""]
    lines += misc_block(device) + [""] + policy_block(device) + [""] + usage_reporting_block(device, fmt, tech)
    if not tech or fmt.tech_trust_line:
        lines += [""] + trust_block(device)
    return lines


def slr_entitlements(device) -> dict | None:
    """The entitlements of an installed SLR (migrated from a pre-SLP release), if any."""
    auth = device.authorizations().get(device.udi)
    return auth.entitlements if auth and auth.kind == "slr" else None


def usage_entry(device, rec) -> list[str]:
    ent = rec.entitlement
    name, desc = display(device, ent)
    reservation = []
    slr = slr_entitlements(device)
    if slr is not None:                  # SLR-migrated devices keep the Reservation sub-block (L3557-3604)
        if ent.tag not in slr:
            reservation = ["  Reservation:", "    Reservation status: NOT INSTALLED"]
        elif ent.enforcement == "export":
            reservation = ["  Reservation:", "    Reservation status: SPECIFIC EXPORT AUTHORIZATION KEY INSTALLED",
                           "    Total reserved count: UNLIMITED"]
        else:
            reservation = ["  Reservation:", "    Reservation status: SPECIFIC INSTALLED",
                           f"    Total reserved count: {slr[ent.tag].count}"]
    return [f"{name} ({ent.tag}):",
            f"  Description: {desc}",
            f"  Count: {rec.count}",
            f"  Version: {ent.version}",
            f"  Status: {rec.status}",
            f"  Export status: {rec.export_status}",
            f"  Feature Name: {ent.feature_name}",
            f"  Feature Description: {ent.feature_description}",
            f"  Enforcement type: {ent.enforcement_display}",
            f"  License type: {ent.license_type_display}"] + reservation


def show_license(device) -> str:
    """`show license` (no keyword): the licences in use, one `Index n Feature:` block each, in the layout IOS
    keeps from its pre-SLP CSL output (L6114-6153; genie's ShowLicense parses it)."""
    lines = []
    for index, rec in enumerate(sorted_usage(device), start=1):
        if rec.status != "IN USE":
            continue
        ent = rec.entitlement
        lines += [f"Index {index} Feature: {ent.name:<30}",
                  "        Period left: Life time",
                  "        License Type: Permanent",
                  "        License State: Active, In Use",
                  f"        License Count: {rec.count}/0 (In-use/Violation)" if ent.enforcement != "unenforced"
                  else "        License Count: Non-Counted",
                  "        License Priority: Medium"]
    return _join(lines) if lines else ""


def sorted_usage(device):
    return sorted(device.shown_usage(), key=lambda r: (r.since, r.entitlement.name))


def product_info(device) -> list[str]:
    lines = banner("Product Information") + [f"UDI: {device.udi}"]
    members = member_udis(device)
    if len(members) > 1:
        lines += ["", "HA UDI List:"] + [f"    {role}:{udi}" for role, udi in members]
    return lines


def auth_status(device, udi: str) -> tuple[str, list[str]]:
    """(`Status:` value, extra lines) of one UDI in the authorization views."""
    auth = device.authorizations().get(udi)
    if device.plr_covers(udi):
        return f"UNIVERSAL INSTALLED on {t(device.plr.installed_at)}", []
    if auth is None:
        return "NOT INSTALLED", []
    if auth.kind == "slr":
        return f"SPECIFIC INSTALLED on {t(auth.installed_at)}", []
    if auth.kind == "pak":
        return "NOT INSTALLED", ["Status:PAK"]
    return f"SMART AUTHORIZATION INSTALLED on {t(auth.installed_at)}", []


def cssm_names(device, tag: str, info) -> tuple[str, str, str]:
    ent = device.profile.find_entitlement(tag) or device.profile.find_entitlement(info.name)
    if ent is None:
        return info.name, info.name, "NOT ENFORCED"
    return ent.cssm_name or ent.display_name, ent.cssm_description or ent.description, ent.enforcement_display


def authorization_body(device, fmt: Fmt, tech: bool = False) -> list[str]:
    lines = ["Overall status:"]
    pad = " " * fmt.auth_status_indent
    meta = device.codes
    auths = device.authorizations()
    for role, udi in member_udis(device):
        status, extra = auth_status(device, udi)
        lines += [f"  {role}: {udi}", f"{pad}Status: {status}"] + [pad + x for x in extra]
        m = meta.get(udi, NO_CODES)
        if udi in auths and m.last_confirmation_code:
            lines.append(f"{pad}Last Confirmation code: {m.last_confirmation_code}")
        if m.last_return_code:
            lines.append(f"{pad}Last return code: {m.last_return_code}")
    sections = {"slac": [], "slr": [], "pak": []}
    for role, udi in member_udis(device):
        auth = auths.get(udi)
        if not auth:
            continue
        kind = auth.kind
        for tag, info in auth.entitlements.items():
            sections.setdefault(kind, []).append((role, udi, tag, info, auth))
    if sections["slac"]:
        lines += ["", "Authorizations:"]
        for role, udi, tag, info, auth in sections["slac"]:
            name, desc, enforcement = cssm_names(device, tag, info)
            lines += [f"  {name} ({tag}):", f"    Description: {desc}",
                      f"    Total available count: {info.count}",
                      f"    Enforcement type: {enforcement}", "    Term information:",
                      f"      {role}: {udi}", "      Authorization type: SMART AUTHORIZATION INSTALLED",
                      f"      License type: {info.license_type}"]
            if tech:
                lines += [f"      Start Date: {NONE}", f"      End Date: {NONE}"]
            lines.append(f"      Term Count: {info.count}")
            if tech:
                lines.append(f"      Subscription ID: {NONE}")
    if sections["slr"]:
        lines += ["", "Specified license reservations:"]
        for role, udi, tag, info, auth in sections["slr"]:
            name, desc, enforcement = cssm_names(device, tag, info)
            lines += [f"  {name} ({tag}):", f"    Description: {desc}",
                      f"    Total reserved count: {info.count}",
                      f"    Enforcement type: {enforcement}", "    Term information:",
                      f"      {role}: {udi}",
                      f"      Authorization type: SPECIFIC INSTALLED on {t(auth.installed_at)}",
                      f"      License type: {info.license_type}",
                      f"      Term Count: {info.count}"]
    lines += ["", "Purchased Licenses:", "  No Purchase Information Available"]
    if sections["pak"]:
        lines += ["", "Legacy License Info:"]
        for role, udi, tag, info, auth in sections["pak"]:
            name, desc, _ = cssm_names(device, tag, info)
            lines += ["", f"{info.full_tag}:", "", f"  DisplayName: {info.name}",
                      f"  Description: {info.name}",
                      f"  Total available count: {info.count}", "  Term information:",
                      f"    {role}: {udi}", "    License type: PERPETUAL", f"    Term Count: {info.count}"]
    usage = sorted_usage(device)
    if fmt.derived_licenses and usage and not tech:
        lines += ["", "Derived Licenses:"]
        for rec in usage:
            lines.append(f"  Entitlement Tag: {rec.entitlement.full_tag}")
    return lines


def usage_report_summary(device, tech: bool = False) -> list[str]:
    s = device.report_summary()
    lines = banner("Usage Report Summary:")
    if tech:
        lines += [f"Total: {s.total},  Purged: {s.purged}({s.purged})",
                  f"Total Acknowledged Received: {s.acknowledged},  Waiting for Ack: "
                  f"{s.waiting_for_ack}({s.available_to_report + s.waiting_for_ack})",
                  f"Available to Report: {s.available_to_report}  Collecting Data: {s.collecting_data}",
                  f"Maximum Display: {s.maximum_display}  In Storage: {s.in_storage},  MIA: {s.mia}({s.mia})",
                  "Report Module Status: Ready"]
    else:
        lines += [f"Total: {s.total},  Purged: {s.purged}",
                  f"Total Acknowledged Received: {s.acknowledged},  Waiting for Ack: {s.waiting_for_ack}",
                  f"Available to Report: {s.available_to_report}  Collecting Data: {s.collecting_data}"]
    return lines


def show_license_all(device) -> str:
    fmt = Fmt(device.release)
    lines = [""] + status_section(device, fmt) + [""] + banner("License Usage")
    for rec in sorted_usage(device):
        lines += usage_entry(device, rec) + [""]
    if not device.usage():
        lines.append("")
    lines += product_info(device) + [""]
    lines += banner("Agent Version") + [f"Smart Agent for Licensing: {device.agent_version}", ""]
    lines += banner("License Authorizations") + authorization_body(device, fmt)
    if fmt.account_info:
        lines += [""] + usage_report_summary(device)
    return _join(lines)


SUMMARY_RULER = "  " + "-" * 77


def summary_row(name: str, tag: str, count: int, status: str) -> str:
    name = truncate(name, 20, 23)
    tag = truncate(tag, 22, 25)
    return "  " + name.ljust(24) + f"({tag})".ljust(30) + str(count).rjust(5) + " " + status


def show_license_summary(device) -> str:
    fmt = Fmt(device.release)
    lines = [""]
    if fmt.account_info:
        lines += account_block(device) + [""]
    if reservation_enabled(device):
        lines += ["License Reservation is ENABLED", ""]
    lines += ["License Usage:", "  " + "License".ljust(24) + "Entitlement Tag".ljust(30) + "Count Status",
              SUMMARY_RULER]
    for rec in sorted_usage(device):
        lines.append(summary_row(display(device, rec.entitlement)[0], rec.entitlement.tag, rec.count, rec.status))
    return _join(lines)


def show_license_usage(device) -> str:
    lines = ["", "License Authorization:", "  Status: Not Applicable", ""]
    for rec in sorted_usage(device):
        lines += usage_entry(device, rec) + [""]
    return _join(lines)


def show_license_udi(device) -> str:
    lines = ["", f"UDI: {device.udi}"]
    members = member_udis(device)
    if len(members) > 1:
        lines += ["", "HA UDI List:"] + [f"    {role}:{udi}" for role, udi in members]
    return _join(lines)


def show_license_authorization(device) -> str:
    return _join(authorization_body(device, Fmt(device.release)))


def reservation_status_lines(device, tech: bool = False) -> list[str]:
    lines = ["Overall status:"]
    meta = device.codes
    auths = device.authorizations()
    for role, udi in member_udis(device):
        status, _ = auth_status(device, udi)
        m = meta.get(udi, NO_CODES)
        lines += [f"  {role}: {udi}", f"    Reservation status: {status}"]
        if tech:
            code = device.plr.code if status.startswith("UNIVERSAL") else None
            if status.startswith("SMART AUTHORIZATION INSTALLED") and auths.get(udi) is not None:
                code = auths[udi].code and "\n" + auths[udi].code.strip()          # the SLAC XML (L12849)
            lines += [f"    Request code: {m.request_code or NONE}",
                      f"    Last return code: {m.last_return_code or NONE}",
                      f"    Last Confirmation code: "
                      f"{(m.last_confirmation_code if udi in auths else None) or NONE}",
                      ("    Reservation authorization code:" + code) if code and code.startswith("\n")
                      else f"    Reservation authorization code: {code or NONE}"]
    return lines


def show_license_reservation(device) -> str:
    lines = [f"License reservation: {enabled(reservation_enabled(device))}", ""]
    return _join(lines + reservation_status_lines(device))


# ====================================================================== rum
def select_reports(device, by: str, key, limit: int = 200):
    reports = device.report_list()
    if by == "id" and key != "all":
        reports = [r for r in reports if r.id == key]
    elif by == "feature" and key != "all":
        reports = [r for r in reports if r.feature == key or display_name_of(device, r.feature) == key]
    return reports[-limit:]


def display_name_of(device, feature: str) -> str | None:
    ent = device.profile.find_entitlement(feature)
    return display(device, ent)[0] if ent else None


def show_license_rum(device, by: str, key, detail: bool, tech: bool = False) -> str:
    reports = select_reports(device, by, key)
    fmt = Fmt(device.release)
    if not detail:
        lines = ["Smart Licensing Usage Report:", "=" * 36,
                 "Report Id,          State,    Flag, Feature Name"]
        for r in reports:
            lines.append(f"{str(r.id):<20}{r.state:<10}{r.flag:<6}{r.feature}")
        return _join(lines)
    now = device.now()
    gap = " " * fmt.rum_detail_gap
    lines = ["Smart Licensing Usage Report Detail:", "=" * 36]
    for r in reports:
        lines += [f"Report Id: {r.id}",
                  "  Metric Name: ENTITLEMENT",
                  f"  Feature Name: {r.feature}",
                  f"  Metric Value: {r.tag}",
                  f"  UDI: {r.udi}",
                  f"  Previous Report Id: {r.prev_id},{gap}Next Report Id: {r.next_id}"]
        if tech:
            lines.append("  Version: 2.0")
        lines += [f"  State: {r.state},      State Change Reason: {r.reason}",
                  f"  Start Time: {t(r.start)},      End Time: {t(r.end_or(now))}"]
        if tech:
            lines.append(f"  Storage State: {r.storage}, Storage State Change Reason: {r.storage_reason}")
        else:
            lines.append(f"  Storage State: {r.storage}")
        lines += [f"  Transaction ID: {r.transaction_id}",
                  f"  Transaction Message: {r.transaction_message or NONE}"]
        if tech:
            size = len(r.payload or "")
            lines.append(f"  Report Size: {size}({size})")
        lines.append("")
    return _join(lines)


# ====================================================================== eventlog / history / data conversion
def show_license_eventlog(device, days: int | None = None) -> str:
    since = None if days is None else device.now() - days * DAY
    events = device.events(since)
    if not events:
        return _join([" No EventLog Found."])
    return _join(["**** Event Log ****", ""] + [e.line() for e in events])


def show_license_history(device) -> str:
    lines = ["", "Message History (oldest to newest):", "=" * 52]
    for name in HISTORY_MESSAGES:
        lines += [f"{name}:", "  No past history"]
    lines += ["", "Import Message History (oldest to newest):", "=" * 52]
    history = device.import_history()
    for i, kind in enumerate(HISTORY_IMPORTS):
        lines.append(f"Import {kind}:")
        records = history.get(kind) or []
        if not records:
            lines.append("  No past Import history")
        for rec in records:
            ok = not str(rec.result).startswith("%")
            lines.append("  Success" if ok else "  Failure")
            result = str(rec.result).lstrip("% ")
            detail = t(rec.time) if result == "Success" else f"{t(rec.time)}: {result}"
            lines.append(f"    {detail}")
        if i < len(HISTORY_IMPORTS) - 1:
            lines.append("")
    return _join(lines)


def show_license_data_conversion(device) -> str:
    title = "Smart Licensing Data - Conversion"
    return _join([title, "=" * len(title), "=" * len(title)])


# ====================================================================== tech support
def _remaining(seconds: float) -> str:
    seconds = max(0, int(seconds))
    parts = []
    for unit, size in (("days", 86400), ("hours", 3600), ("minutes", 60)):
        n, seconds = divmod(seconds, size)
        if n:
            parts.append(f"{n} {unit}")
    if seconds or not parts:
        parts.append(f"{seconds} seconds")
    return ", ".join(parts) + " remaining"


def _job(name: str, when: float | None, now: float) -> str:
    if when is None or when < now:
        return f"{name}: Expired Not Rescheduled"
    return f"{name}: {t(when)} ({_remaining(when - now)})"


def scheduled_jobs(device) -> list[str]:
    now = device.now()
    tm = device.timers()
    booted = device.booted_at
    daily = booted + DAY * (int((now - booted) // DAY) + 1)
    lines = banner("Upcoming Scheduled Jobs") + [f"Current time: {t(now)}"]
    lines.append(_job("Daily", daily, now))
    lines.append(_job("Authorization Renewal", None, now))
    lines.append(_job("Init Flag Check", None, now))
    lines.append(_job("Reservation configuration mismatch between nodes in HA mode", None, now))
    lines.append(_job("Retrieve data processing result", tm.next_ack_push_check, now))
    lines.append(_job("Start Utility Measurements", now + 900 - (now - booted) % 900, now))
    lines.append(_job("Send Utility RUM reports", tm.next_report_push, now))
    lines.append(_job("Save unreported RUM Reports", now + 3600 - (now - booted) % 3600, now))
    lines.append(_job("Process Utility RUM reports", daily, now))
    lines.append(_job("Data Synchronization", None, now))
    lines.append(_job("External Event", tm.ack_deadline, now))
    lines.append(_job("Operational Model", None, now))
    return lines


def _last_response(st: dict) -> str:
    resp = st.last_response
    if not resp:
        return NONE
    if str(resp).startswith("FAILED"):
        return f"NO REPLY on {t(st.last_failure)}"
    return f"{resp} on {t(st.last_success)}"


def comm_statistics(device, fmt: Fmt) -> list[str]:
    kind = device.transport
    level = "DIRECT" if kind in ("smart", "callhome") else "INDIRECT"
    lines = ["Communication Statistics:", "=" * 23, f"Communication Level Allowed: {level}",
             f"Overall State: {EMPTY}"]
    stats = device.comm_statistics()
    blank = FlowStats()
    cats = list(stats) or list(COMM_CATEGORIES)
    if fmt.telemetry and "Telemetry Reporting" not in cats:
        cats.append("Telemetry Reporting")
    for cat in cats:
        st = stats.get(cat, blank)
        lines += [f"{cat}:",
                  f"  Attempts: Total={st.total}, Success={st.success}, Fail={st.fail}  "
                  f"Ongoing Failure: Overall={st.ongoing} Communication={st.ongoing}",
                  f"  Last Response: {_last_response(st)}",
                  f"    Failure Reason: {st.failure_reason or NONE}",
                  f"  Last Success Time: {t(st.last_success)}",
                  f"  Last Failure Time: {t(st.last_failure)}"]
    return lines


def tech_usage(device) -> list[str]:
    lines = banner("License Usage")
    reports = device.report_list()
    for handle, rec in enumerate(sorted_usage(device), start=1):
        ent = rec.entitlement
        name, desc = display(device, ent)
        chain = [r for r in reports if r.feature == ent.name]
        current = next((r.id for r in reversed(chain) if r.state == "OPEN"), 0)
        previous = next((r.id for r in reversed(chain) if r.state != "OPEN"), 0)
        code = "IN USE(15)" if rec.status == "IN USE" else f"{rec.status}(1)"
        lines += [f"Handle: {handle}",
                  f"  License: {name}",
                  f"  Entitlement Tag: {ent.full_tag}",
                  f"  Description: {desc}",
                  f"  Count: {rec.count}",
                  f"  Version: {ent.version}",
                  f"  Status: {code}",
                  f"  Status time: {t(rec.since)}",
                  f"  Request Time: {t(rec.since)}",
                  f"  Export status: {rec.export_status}",
                  f"  Feature Name: {ent.feature_name}",
                  f"  Feature Description: {ent.feature_description}",
                  f"  Enforcement type: {ent.enforcement_display}",
                  f"  License type: {ent.license_type_display}",
                  "  Measurements:",
                  "    ENTITLEMENT:",
                  "      Interval: 00:15:00",
                  f"      Current Value: {rec.count}",
                  f"      Current Report: {current}       Previous: {previous}"]
        if ent.enforcement == "unenforced":
            lines.append("  Soft Enforced: True")
        lines.append("")
    return lines


def other_info(device) -> list[str]:
    cfg = device.config
    kind = device.transport
    transport = {"smart": "Smart", "cslu": "cslu", "callhome": "Callhome", "off": "Transport Off"}[kind]
    lines = banner("Other Info") + [
        f"Software ID: {device.software_tag}",
        f"Agent State: {'authorized' if device.timers().last_ack else 'unidentified'}",
        "TS enable: True",
        f"Transport: {transport}"]
    if kind == "smart":
        lines.append(f"  Default URL: {SMART_DEFAULT_URL}")
    elif kind == "cslu":
        lines.append(f"  Default URL: {device.cslu_url or EMPTY}")
    lines += ["Locale: en_US.UTF-8", "Debug flags: 0x7",
              f"Privacy Send Hostname: {not cfg.privacy_hostname}", "Privacy Send IP: True",
              "Build type:: Production", "sizeof(char)  : 1", "sizeof(int)   : 4", "sizeof(long)  : 4",
              "sizeof(char *): 8", "sizeof(time_t): 4", "sizeof(size_t): 8", "Endian: Big",
              "Write Erase Occurred: False", "XOS version: 0.12.0.0", "Config Persist Received: True",
              "Message Version: 1.3",
              f"connect_info.name: {EMPTY}", f"connect_info.version: {EMPTY}",
              f"connect_info.additional: {EMPTY}", "connect_info.prod: False",
              f"connect_info.capabilities: {EMPTY}",
              "agent.capabilities: UTILITY, DLC, AppHA, MULTITIER, EXPORT_2, OK_TRY_AGAIN, POLICY_USAGE",
              "Check Point Interface: True", "Config Management Interface: False", "License Map Interface: True",
              "HA Interface: True", "Trusted Store Interface: True", "Platform Data Interface: True",
              "Crypto Version 2 Interface: False", "SAPluginMgmtInterfaceMutex: True",
              "SAPluginMgmtIPDomainName: True", "SmartTransportVRFSupport: True",
              "SmartAgentClientWaitForServer: 2000", "SmartAgentCmReTrySend: True",
              "SmartAgentClientIsUnified: True", "SmartAgentCmClient: True",
              "SmartAgentClientName: UnifiedClient", "builtInEncryption: True", "enableOnInit: True",
              "routingReadyByEvent: True", "systemInitByEvent: True",
              f"SmartTransportServerIdCheck: {device.setting('server_identity_check')}",
              "SmartTransportProxySupport: True", "SmartAgentPolicyDisplayFormat: 0",
              "SmartAgentReportOnUpgrade: False", "SmartAgentIndividualRUMEncrypt: 2",
              "SmartAgentMaxRumMemory: 50", "SmartAgentConcurrentThreadMax: 10",
              "SmartAgentPolicyControllerModel: False", "SmartAgentPolicyModel: True",
              "SmartAgentFederalLicense: True", "SmartAgentMultiTenant: False", "attr365DayEvalSyslog: True",
              "checkPointWriteOnly: False", "SmartAgentDelayCertValidation: False", "enableByDefault: False",
              "conversionAutomatic: False", "conversionAllowed: False", "storageEncryptDisable: False",
              "storageLoadUnencryptedDisable: False", "TSPluginDisable: False", "bypassUDICheck: False",
              "loggingAddTStamp: False", "loggingAddTid: True",
              "HighAvailabilityOverrideEvent: UnknownPlatformEvent",
              "platformIndependentOverrideEvent: UnknownPlatformEvent",
              "platformOverrideEvent: UnknownPlatformEvent", "WaitForHaRole: False", "standbyIsHot: False",
              "chkPtType: 2", "delayCommInit: False", "roleByEvent: True", "maxTraceLength: 150",
              "traceAlwaysOn: True", "debugFlags: 0", "Event log max size: 5120 KB",
              f"Event log current size: {max(1, sum(len(e.line()) + 1 for e in device.events()) // 1024)} KB"]
    trust = device.trust_codes()
    for m in device.members:
        if f"PID:{m.pid},SN:{m.sn}" in trust:
            lines.append(f"Local Device: P:{m.pid},S:{m.sn}, state[2], Trust Data INSTALLED TrustId:256")
        else:
            lines.append(f"Local Device: P:{m.pid},S:{m.sn}: No Trust Data")
    lines += ["Overall Trust: INSTALLED (2)" if device.udi in trust else "Overall Trust: No ID",
              "Clock sync-ed with NTP: False"]
    return lines


def mapping_table(device) -> list[str]:
    lines = banner("Platform Provided Mapping Table") + [
        f"{device.pid}: Total licenses found: {len(device.profile.entitlements)}"]
    enforced = [e for e in device.profile.entitlements if e.enforcement != "unenforced"
                and e.available_in(device.release.key)]
    lines.append("Enforced Licenses:")
    for m in device.members:
        lines.append(f"  P:{m.pid},S:{m.sn}:")
        if not enforced:
            lines.append("    No PD enforced licenses")
        for e in enforced:
            lines.append(f"    {e.feature_name}: {e.full_tag} (3)")
    return lines


def show_license_tech_support(device) -> str:
    fmt = Fmt(device.release)
    lines = ["", "Smart Licensing Tech Support info", ""] + status_section(device, fmt, tech=True) + [""]
    lines += tech_usage(device)
    if not device.usage():
        lines.append("")
    lines += product_info(device) + [""]
    lines += banner("Agent Version") + [f"Smart Agent for Licensing: {device.agent_version}", ""]
    lines += scheduled_jobs(device) + [""]
    lines += comm_statistics(device, fmt) + [""]
    lines += banner("License Certificates") + ["Production Cert: True", "Not registered. No certificates installed", ""]
    lines += banner("HA Info", 10) + ["RP Role: Active", "Chassis Role: Active", "Behavior Role: Active",
                                      "RMF: True", "CF: True", "CF State: Stateless",
                                      f"Message Flow Allowed: {device.transport != 'off'}", ""]
    lines += banner("Reservation Info") + [f"License reservation: {enabled(reservation_enabled(device))}"]
    if fmt.conversion_v2:
        lines += [f"Last Data Push: {NONE}", f"Last File Export: {NONE}"]
    lines += [""] + reservation_status_lines(device, tech=True)
    body = authorization_body(device, fmt, tech=True)
    lines += body[body.index("Purchased Licenses:") - 1 if "Authorizations:" not in body
                  else body.index("Authorizations:") - 1:] + [""]
    if fmt.account_info:
        lines += usage_report_summary(device, tech=True) + [""]
    lines += other_info(device) + [""]
    lines += mapping_table(device)
    return _join(lines)


def show_license_tech_message(device) -> str:
    return show_license_history(device)


# ====================================================================== platform and system shows
def show_sl_infra(device, which: str) -> str:
    rel = device.release
    lines = []
    if which in ("all", "current"):
        lines += ["sl-infra Current Information", "=" * 28,
                  f"Platform: {device.pid}", f"Serial number: {device.sn}",
                  f"Software version: {rel.display}",
                  "Smart Licensing Using Policy: ENABLED",
                  f"Licenses in use: {len(device.usage())}"]
        for rec in sorted_usage(device):
            lines.append(f"  {rec.entitlement.name}: count {rec.count}, {rec.status}")
        lines.append("")
    if which in ("all", "debug"):
        lines += ["sl-infra Debug Information", "=" * 26, "Debug flags: 0x0", ""]
    if which in ("all", "stored"):
        lines += ["sl-infra Stored Information", "=" * 27,
                  f"Stored RUM reports: {device.report_summary().in_storage}",
                  f"Event log entries: {len(device.events())}", ""]
    return _join(lines[:-1] if lines and lines[-1] == "" else lines)


def show_throughput(device, crypto: bool = False) -> str:
    kbps = device.throughput().effective_kbps
    what = "crypto level" if crypto else "throughput level"
    if kbps is None:
        return _join([f"The current {what} is unthrottled"])
    return _join([f"The current {what} is {kbps} kb/s"])


def show_ip_http_session_module(device) -> str:
    sysc = device.system
    on = sysc.ip_http_server or sysc.ip_http_secure_server
    state = "Active" if on else "Inactive"
    sec = "Active" if sysc.ip_http_secure_server else "Inactive"
    lines = ["HTTP server application session modules:",
             " Session module Name  Handle Status   Secure-status        Description",
             f" {'SL_HTTP':<20} {'2':<6} {state:<8} {sec:<20} HTTP REST IOS-XE Smart License Server",
             f" {'HOME_PAGE':<20} {'4':<6} {state:<8} {sec:<20} IOS Homepage Server",
             f" {'NETCONF_YANG' if sysc.netconf_yang else 'BANNER_PAGE':<20} {'5':<6} {state:<8} {sec:<20} "
             + ("NETCONF-YANG" if sysc.netconf_yang else "HTTP Banner Page Server"),
             f" {'RESTCONF' if sysc.restconf else 'WEB_EXEC':<20} {'9':<6} "
             f"{('Active' if sysc.restconf and sysc.ip_http_secure_server else state):<8} {sec:<20} "
             + ("RESTCONF" if sysc.restconf else "HTTP based IOS EXEC Server")]
    return _join(lines)


TRAINS = ((17, 3, "Amsterdam"), (17, 4, "Bengaluru"), (17, 7, "Cupertino"), (17, 10, "Dublin"), (17, 13, "IOSXE"))


def train_name(release) -> str:
    name = "Amsterdam"
    for major, minor, train in TRAINS:
        if (release.major, release.minor) >= (major, minor):
            name = train
    return name


def _uptime(seconds: float) -> str:
    seconds = max(60, int(seconds))
    parts = []
    for unit, size in (("year", 365 * 86400), ("week", 7 * 86400), ("day", 86400), ("hour", 3600),
                       ("minute", 60)):
        n, seconds = divmod(seconds, size)
        if n:
            parts.append(f"{n} {unit}{'s' if n != 1 else ''}")
    return ", ".join(parts)


def show_version(device) -> str:
    rel = device.release
    sv = device.profile.show_version
    now = device.now()
    booted = device.booted_at
    year = datetime.fromtimestamp(now, tz=timezone.utc).year
    image = sv.image_file.replace("{version}", rel.display)
    hostname = device.hostname
    lines = [f"Cisco IOS XE Software, Version {rel.display}",
             f"Cisco IOS Software [{train_name(rel)}], {sv.software_name} ({sv.image}), Version {rel}, "
             "RELEASE SOFTWARE (fc1)",
             "Technical Support: http://www.cisco.com/techsupport",
             f"Copyright (c) 1986-{year} by Cisco Systems, Inc.",
             "Compiled by mcpre",
             "",
             "",
             f"Cisco IOS-XE software, Copyright (c) 2005-{year} by cisco Systems, Inc.",
             "All rights reserved.  Certain components of Cisco IOS-XE software are",
             "licensed under the GNU General Public License (\"GPL\") Version 2.0.  The",
             "software code licensed under GPL Version 2.0 is free software that comes",
             "with ABSOLUTELY NO WARRANTY.  You can redistribute and/or modify such",
             "GPL code under the terms of GPL Version 2.0.  For more details, see the",
             "documentation or \"License Notice\" file accompanying the IOS-XE software,",
             "or the applicable URL provided on the flyer accompanying the IOS-XE",
             "software.",
             "",
             "",
             "ROM: IOS-XE ROMMON",
             f"{hostname} uptime is {_uptime(now - booted)}",
             f"Uptime for this control processor is {_uptime(now - booted)}",
             "System returned to ROM by reload",
             f"System image file is \"bootflash:{image}\"",
             "Last reload reason: reload",
             "",
             "",
             "",
             "This product contains cryptographic features and is subject to United",
             "States and local country laws governing import, export, transfer and",
             "use. Delivery of Cisco cryptographic products does not imply",
             "third-party authority to import, export, distribute or use encryption.",
             "Importers, exporters, distributors and users are responsible for",
             "compliance with U.S. and local country laws. By using this product you",
             "agree to comply with applicable laws and regulations. If you are unable",
             "to comply with U.S. and local laws, return this product immediately.",
             "",
             "A summary of U.S. laws governing Cisco cryptographic products may be found at:",
             "http://www.cisco.com/wwl/export/crypto/tool/stqrg.html",
             "",
             "If you require further assistance please contact us by sending email to",
             "export@cisco.com.",
             ""]
    level, addon = device.booted_level()
    next_level, next_addon = device.next_boot_level()
    if level:
        lines += [f"License Level: {level}", "License Type: Perpetual",
                  f"Next reload license Level: {next_level}", ""]
        if addon or next_addon:
            lines += [f"Addon License Level: {addon or 'None'}", "Addon License Type: Subscription",
                      f"Next reload addon license Level: {next_addon or 'None'}", ""]
    else:
        lines += ["Technology Package License Information:", ""]
    spec = device.profile.throughput
    if spec is not None:
        kbps = device.throughput().effective_kbps
        level = "unthrottled" if kbps is None else f"{kbps} kbps"
        what = "crypto throughput level" if spec.level_scope == "crypto" else "throughput level"
        lines += [f"The current {what} is {level}", ""]
    lines += ["", "Smart Licensing Status: Smart Licensing Using Policy", "",
              f"{sv.processor_line} with 1900130K/3075K bytes of memory.",
              f"Processor board ID {device.sn}",
              "Router operating mode: Autonomous",
              "3 Gigabit Ethernet interfaces",
              "32768K bytes of non-volatile configuration memory.",
              "3965316K bytes of physical memory.",
              "11526144K bytes of virtual hard disk at bootflash:.",
              "",
              "Configuration register is 0x2102"]
    return _join(lines)


def show_clock(device) -> str:
    now = device.now()
    d = datetime.fromtimestamp(now, tz=timezone.utc)
    return _join([f"*{d.strftime('%H:%M:%S')}.{d.microsecond // 1000:03d} UTC {d.strftime('%a %b %d %Y')}"])


def prompt_timestamp_header(device) -> str:
    now = device.now()
    d = datetime.fromtimestamp(now, tz=timezone.utc)
    return _join(["Load for five secs: 1%/0%; one minute: 0%; five minutes: 0%",
                  f"No time source, *{d.strftime('%H:%M:%S')}.{d.microsecond // 1000:03d} UTC "
                  f"{d.strftime('%a %b %d %Y')}", ""])


def show_logging(device, buffer_lines: int = 4096) -> str:
    msgs = device.syslog(buffer_lines)
    lines = ["Syslog logging: enabled (0 messages dropped, 0 messages rate-limited, 0 flushes, "
             "0 overruns, xml disabled, filtering disabled)", "",
             "No Active Message Discriminator.", "", "", "No Inactive Message Discriminator.", "", "",
             "    Console logging: level debugging, "
             f"{len(msgs)} messages logged, xml disabled,",
             "                     filtering disabled",
             "    Monitor logging: level debugging, 0 messages logged, xml disabled,",
             "                     filtering disabled",
             "    Buffer logging:  level debugging, "
             f"{len(msgs)} messages logged, xml disabled,",
             "                    filtering disabled",
             "    Exception Logging: size (4096 bytes)",
             "    Count and timestamp logging messages: disabled",
             "    Persistent logging: disabled",
             "",
             "No active filter modules.",
             "",
             "    Trap logging: level informational, 0 message lines logged",
             "        Logging Source-Interface:       VRF Name:",
             "",
             f"Log Buffer ({buffer_lines * 100} bytes):",
             ""]
    lines += [m.line() for m in msgs]
    return _join(lines)


# ====================================================================== results of EXEC commands
def authorization_return(result) -> str:
    """`license smart authorization return …`: the codes to enter in CSSM (nothing when written to a file)."""
    if result.file is not None:
        return ""
    lines = ["", "Enter this return code in Cisco Smart Software Manager portal:"]
    for udi, code in result.codes.items():
        lines += [f"UDI: {udi}", f"  Return code: {code}"]
    return "\n".join(lines + [""])


def reservation_request(result) -> str:
    lines = ["Enter this request code in the Cisco Smart Software Manager portal:", ""]
    for udi, code in result.codes.items():
        lines += [f"UDI: {udi}", f"Request code: {code}"]
    return "\n".join(lines)


def reservation_return(result) -> str:
    lines = ["Enter this return code in Cisco Smart Software Manager portal:"]
    for udi, code in result.codes.items():
        lines += [f"UDI: {udi}", f"    Return code: {code}"]
    return "\n".join(lines)


def throughput_level(throughput) -> str:
    """What `platform hardware throughput level …` prints."""
    kbps = throughput.effective_kbps
    return ("The current throughput level is unthrottled" if kbps is None
            else f"The current throughput level is {kbps} kb/s")
