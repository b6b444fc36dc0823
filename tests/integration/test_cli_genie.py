"""Cisco's genie parsers read the live CLI output, and what they read equals the engine's state."""

from __future__ import annotations

import pytest
from genie.metaparser.util.exceptions import SchemaEmptyParserError
from genie.libs.parser.iosxe import show_license as SL
from genie.libs.parser.iosxe.cat9k.c9300.show_platform import ShowLicenseAuthorization

from emulator.engine.timefmt import show_time
from emulator.frontends.cli.render import GROUP_TITLES, truncate
from test_cli_support import genie, import_ack, router_factory, router  # noqa: F401

GENIE_GROUP_KEYS = {
    "perpetual": "unenforced_non_export_perpetual_attributes",
    "subscription": "unenforced_non_export_subscription_attributes",
    "enforced": "enforced_perpetual_subscription_license_attributes",
    "export": "export_perpetual_subscription_license_attributes",
}


def tech_for_genie(text: str) -> str:
    """17.7-17.9 tech support prints `License Conversion:` with `  Status: Not started` as the guide shows
    (L12585-12588); genie's ShowLicenseTechSupport schema has no key for that line (it rejects the real
    device's output too), so it is left out of what genie is given and checked here instead."""
    block = "License Conversion:\n  Automatic Conversion Enabled: True\n  Status: Not started\n"
    if block in text:
        return text.replace(block, "License Conversion:\n  Automatic Conversion Enabled: True\n")
    return text

def use_licences(device, n_extra: int = 1):
    """A perpetual and a subscription licence of the platform plus its HSECK9 licence, in use."""
    rel = device.release.key
    ents = [e for e in device.profile.entitlements if e.available_in(rel) and e.enforcement == "unenforced"]
    perpetual = [e for e in ents if e.term == "perpetual"]
    subscription = [e for e in ents if e.term == "subscription"]
    device.set_usage(perpetual[0].name, 2)
    device.set_usage((subscription or perpetual[1:])[0].name, 1)
    device.set_usage("hseck9", 1)
    device.advance_clock(3600)


def src(attr) -> str:
    return "Customer Policy" if attr.custom else "CISCO default"


def check_status(parsed: dict, device) -> None:
    cfg = device.config
    tm = device.timers()
    ur = parsed["usage_reporting"]
    assert ur["last_ack_received"] == show_time(tm.last_ack)
    assert ur["next_ack_deadline"] == show_time(tm.ack_deadline)
    assert ur["next_report_push"] == show_time(tm.next_report_push)
    assert ur["last_report_push"] == show_time(tm.last_report_push)
    assert ur["last_report_file_write"] == show_time(tm.last_report_file_write)
    interval = ur["reporting_push_interval"]
    assert interval.split()[0] == str(tm.push_interval_days)
    pol = device.policy_in_use()
    p = parsed["policy"]
    assert p["reporting_ack_required"] == f"{'yes' if pol.ack_required.days else 'no'} ({src(pol.ack_required)})"
    if pol.kind == "custom":
        assert p["policy_in_use"] == f"Installed On {show_time(pol.installed_at)}"
        assert p["policy_name"] == pol.name
    else:
        assert p["policy_in_use"] == {"cisco-default": "Merged from multiple sources.",
                                      "slr": "Merged from multiple sources.", "pak": "PAK license",
                                      "plr": "Permanent License Reservation"}[pol.kind]
    for group, key in GENIE_GROUP_KEYS.items():
        gp = pol.group(group)
        assert p[key] == {"first_report_requirement_days": f"{gp.first.days} ({src(gp.first)})",
                          "reporting_frequency_days": f"{gp.frequency.days} ({src(gp.frequency)})",
                          "report_on_change_days": f"{gp.on_change.days} ({src(gp.on_change)})"}
    dp = parsed["data_privacy"]
    assert dp["sending_hostname"] == ("no" if device.setting("privacy_hostname") else "yes")
    assert dp["version_privacy"] == ("ENABLED" if device.setting("privacy_version") else "DISABLED")
    tr = parsed["transport"]
    pol_kind = pol.kind
    assert tr["type"] == {"cslu": "cslu", "smart": "Smart", "callhome": "Callhome", "off": "Transport Off"}[
        device.setting("transport")]
    if device.setting("transport") == "cslu":
        assert tr["cslu_address"] == (device.cslu_url or "<empty>")
    if device.setting("transport") == "smart":
        assert tr["url"] == device.smart_url
    if "account_information" in parsed:
        acct = device.account
        ai = parsed["account_information"]
        if acct:
            assert ai == {"smart_account": f"{acct.smart_account} As of {show_time(acct.as_of)}",
                          "virtual_account": acct.virtual_account}
        else:
            assert ai == {"smart_account": "<none>", "virtual_account": "<none>"}
    assert parsed["utility"]["status"] == ("ENABLED" if device.setting("utility_enabled") else "DISABLED")
    trust = device.trust_codes()
    got = parsed.get("trust_code_installed")
    if not trust:
        if isinstance(got, dict):        # HA: one `<none>` per member
            assert all(v.get("info", "<none>") == "<none>" for v in got.values() if isinstance(v, dict))
        else:
            assert got is None or got.strip() == "<none>"
    elif isinstance(got, dict) and not device.release.at_least("17.9.1") and len(device.members) == 1:
        pass    # genie ShowLicenseAll's reading of the one-line form (see check_all)
    elif isinstance(got, dict):          # per-UDI form (17.9+ and HA)
        for role, member in zip(("active", "standby"), device.members):
            key = f"PID:{member.pid},SN:{member.sn}"
            assert got[role]["sn"] == member.sn
            want = f"INSTALLED on {show_time(trust[key].installed_at)}" if key in trust else "<none>"
            assert got[role].get("info", "<none>") == want
    else:
        assert got.strip() == show_time(trust[device.udi].installed_at)


def check_summary(parsed: dict, device) -> None:
    usage = device.usage()
    rows = parsed.get("license_usage", {})
    assert len(rows) == len(usage)
    for rec in usage:
        tag = truncate(rec.entitlement.tag, 22, 25)
        name = truncate(rec.entitlement.display_for(device.release.key)[0], 20, 23)
        assert rows[tag] == {"license": name, "entitlement": tag, "count": str(rec.count), "status": rec.status}


def check_usage_blocks(blocks: dict, device) -> None:
    usage = device.usage()
    assert len(blocks) == len(usage)
    for rec in usage:
        ent = rec.entitlement
        name, desc = ent.display_for(device.release.key)
        b = blocks[f"{name} ({ent.tag}):"]
        assert b == {"description": desc, "count": rec.count, "version": ent.version, "status": rec.status,
                     "export_status": rec.export_status, "feature_name": ent.feature_name,
                     "feature_description": ent.feature_description,
                     "enforcement_type": ent.enforcement_display, "license_type": ent.license_type_display}


def check_all(parsed: dict, device) -> None:
    check_status(parsed["smart_licensing_status"], device)
    check_usage_blocks(parsed.get("license_usage", {}).get("license_name", {}), device)
    assert parsed["product_information"]["udi"] == {"pid": device.pid, "sn": device.sn}
    assert parsed["agent_version"]["smart_agent_for_licensing"] == device.agent_version
    trust = device.trust_codes().get(device.udi)
    if trust and not device.release.at_least("17.9.1") and len(device.members) == 1:
        # 17.7/17.8 print the guide's one-line `Trust Code Installed: <time>`; genie's ShowLicenseAll then
        # files the next `Active:` line (License Authorizations) under the trust code, as for a real router.
        assert parsed["smart_licensing_status"]["trust_code_installed"]["active"]["sn"] == device.sn
        return
    active = parsed["license_authorizations"]["overall_status"]["active"]
    assert (active["pid"], active["sn"]) == (device.pid, device.sn)
    if device.usage():   # genie records the status only after a License Usage block
        auth = device.authorizations().get(device.udi)
        assert active["status"] == (f"SMART AUTHORIZATION INSTALLED on {show_time(auth.installed_at)}"
                                    if auth else "NOT INSTALLED")
    if device.release.account_info:
        s = device.report_summary()
        assert parsed["usage_report_summary"] == {
            "total": str(s.total), "purged": str(s.purged), "total_acknowledged_received": str(s.acknowledged),
            "waiting_for_ack": str(s.waiting_for_ack), "available_to_report": str(s.available_to_report),
            "collecting_data": str(s.collecting_data)}


def check_tech(parsed: dict, device) -> None:
    sls = parsed["smart_licensing_status"]
    assert sls["data_privacy"]["sending_hostname"] == ("no" if device.setting("privacy_hostname") else "yes")
    assert parsed["product_information"]["udi"] == {"pid": device.pid, "sn": device.sn}
    assert parsed["agent_version"]["smart_agent_for_licensing"] == device.agent_version
    handles = parsed["license_usage"]["handle"]
    usage = sorted(device.usage(), key=lambda r: (r.since, r.entitlement.name))
    assert len(handles) == len(usage)
    reports = device.report_list()
    for i, rec in enumerate(usage, start=1):
        h = handles[i]
        ent = rec.entitlement
        assert h["entitlement_tag"] == ent.full_tag
        assert h["count"] == rec.count
        assert h["license"] == ent.display_for(device.release.key)[0]
        open_ids = [r.id for r in reports if r.feature == ent.name and r.state == "OPEN"]
        assert h["measurements"]["entitlement"]["current_report"] == (open_ids[-1] if open_ids else 0)
        assert h["measurements"]["entitlement"]["current_value"] == rec.count
    if device.release.account_info:
        s = device.report_summary()
        urs = parsed["usage_report_summary"]
        assert (urs["total"], urs["in_storage"], urs["collecting_data"]) == (s.total, s.in_storage, s.collecting_data)


def check_rum(shell, device) -> None:
    reports = device.report_list()
    parsed = genie(SL.ShowLicenseRumIdAll, shell.run("show license rum id all"))
    assert {int(k): (v["state"], v["flag"], v["feature_name"]) for k, v in parsed["smart_license_usage_reports"].items()} == {
        r.id: (r.state, r.flag, r.feature) for r in reports}
    for r in (reports[0], reports[-1]):
        out = shell.run(f"show license rum id {r.id} detail")
        d = genie(SL.ShowLicenseRumIdDetail, out, report=str(r.id))["report_id"][str(r.id)]
        assert d["feature_name"] == r.feature and d["metric_value"] == r.tag
        assert (d["state"], d["state_change_reason"], d["storage_state"]) == (r.state, r.reason, r.storage)
        assert (d["previous_report_id"], d["next_report_id"]) == (str(r.prev_id), str(r.next_id))
        assert d["start_time"] == show_time(r.start)
        assert d["udi"] == {"pid": r.pid, "sn": r.sn}
        assert d["transaction_message"] == (r.transaction_message or "<none>")


def check_all_parsers(shell, device, with_usage: bool) -> None:
    check_status(genie(SL.ShowLicenseStatus, shell.run("show license status")), device)
    summary = shell.run("show license summary")
    if device.usage() or device.release.account_info:
        check_summary(genie(SL.ShowLicenseSummary, summary), device)
    else:   # only the table header: genie finds nothing, as with a real router in that state
        with pytest.raises(SchemaEmptyParserError):
            genie(SL.ShowLicenseSummary, summary)
    check_all(genie(SL.ShowLicenseAll, shell.run("show license all")), device)
    udi = genie(SL.ShowLicenseUdi, shell.run("show license udi"))
    assert udi["udi_details"] == {"pid": device.pid, "sn": device.sn}
    auth = genie(ShowLicenseAuthorization, shell.run("show license authorization"))
    assert auth["overall status"]["active"]["pid"].rstrip(",") == device.pid
    assert auth["overall status"]["active"]["sn"] == device.sn
    assert auth["status"] == "NOT INSTALLED"
    assert auth["purchased_licenses"] == "No Purchase Information Available"
    events = genie(SL.ShowLicenseEventlog2, shell.run("show license eventlog 2"))
    expected = [e.line().split(" ", 3)[3] for e in device.events(device.now() - 2 * 86400)]
    assert [e["log_message"] for e in events["event_log"]] == expected
    hist = genie(SL.ShowLicenseHistoryMessage, shell.run("show license history message"))
    assert set(hist["message_history"].values()) == {"No past history"}
    history = device.import_history()
    for kind, key in (("POLICY", "policy"), ("RUM ACK", "rum_ack"), ("ACCOUNT INFO", "account_info"),
                      ("AUTH", "auth"), ("TRUST CODE", "trust_code")):
        records = history.get(kind)
        want = ("Failure" if records[-1].result.startswith("%") else "Success") if records else \
            "No past Import history"
        assert hist["import_message_history"][key] == want
    if with_usage:
        check_usage_blocks(genie(SL.ShowLicenseUsage, shell.run("show license usage"))["license_name"], device)
        check_tech(genie(SL.ShowLicenseTechSupport, tech_for_genie(shell.run("show license tech support"))), device)
        if device.release.at_least("17.7.1"):
            check_rum(shell, device)


@pytest.mark.parametrize("platform,release", [("C8000V", "17.12.1a"), ("C8300-1N1S-4T2X", "17.7.1a"),
                                              ("ISR4331", "17.3.2")])
def test_states_fresh_in_use_ack_custom_policy(router_factory, platform, release):
    r = router_factory(platform=platform, release=release)
    sh = r.shell(quiet=True)
    device = r.device
    check_all_parsers(sh, device, with_usage=False)               # fresh
    use_licences(device)
    check_all_parsers(sh, device, with_usage=True)                # licences in use
    assert import_ack(r, sh).splitlines()[0] == "Import Data Successful"
    assert device.timers().last_ack is not None
    check_all_parsers(sh, device, with_usage=True)                # after an ACK
    device.advance_clock(86400)
    assert import_ack(r, sh, policy="SLE Policy").splitlines()[0] == "Import Data Successful"
    assert device.policy_in_use().name == "SLE Policy"
    check_all_parsers(sh, device, with_usage=True)                # custom policy


def test_cslu_transport_with_url_and_privacy(router):
    sh = router.shell(quiet=True)
    device = router.device
    sh.run("configure terminal")
    assert sh.run("license smart transport cslu") == ""
    assert sh.run("license smart url cslu http://192.0.2.10:8182/cslu/v1/pi") == ""
    assert sh.run("license smart privacy hostname") == ""
    assert sh.run("license smart proxy address 192.0.2.1") == ""
    assert sh.run("license smart proxy port 3128") == ""
    sh.run("end")
    assert device.setting("url_cslu") == "http://192.0.2.10:8182/cslu/v1/pi"
    parsed = genie(SL.ShowLicenseStatus, sh.run("show license status"))
    check_status(parsed, device)
    assert parsed["transport"]["cslu_address"] == "http://192.0.2.10:8182/cslu/v1/pi"
    assert parsed["data_privacy"]["smart_licensing_hostname_privacy"] == "ENABLED"
    use_licences(device)
    tech = genie(SL.ShowLicenseTechSupport, tech_for_genie(sh.run("show license tech support")))
    proxy = tech["smart_licensing_status"]["transport"]["proxy"]
    assert (proxy["address"], str(proxy["port"])) == ("192.0.2.1", "3128")
    check_all(genie(SL.ShowLicenseAll, sh.run("show license all")), device)


def test_smart_transport_url_default(router):
    sh = router.shell(quiet=True)
    sh.run("conf t")
    sh.run("license smart transport smart")
    sh.run("license smart url default")
    sh.run("end")
    parsed = genie(SL.ShowLicenseStatus, sh.run("show license status"))
    check_status(parsed, router.device)
    assert parsed["transport"]["url"] == "https://smartreceiver.cisco.com/licservice/license"


def test_prompt_timestamp_header_is_tolerated(router):
    sh = router.shell(quiet=True)
    sh.run("terminal exec prompt timestamp")
    out = sh.run("show license summary")
    assert out.startswith("Load for five secs: ")
    assert "No time source, *00:00:00.000 UTC Mon Jan 01 2024" in out
    parsed = genie(SL.ShowLicenseStatus, sh.run("show license status"))
    check_status(parsed, router.device)
    genie(SL.ShowLicenseSummary, out)


def test_exec_request_output_parses(router):
    use_licences(router.device)
    out = router.exec("show license summary")
    check_summary(genie(SL.ShowLicenseSummary, out), router.device)
