"""Behaviours where the emulator differed from the guide (issue 12): each test names the guide's lines."""

import pytest

from emulator.cssm import Cssm
from emulator.engine import DeviceError
from emulator.frontends.cli import render as R
from tests.conftest import DAY, T0, texts


@pytest.fixture
def cssm(tmp_path):
    return Cssm(state_path=tmp_path / "cssm.json")


def test_L3256_L3447_slr_migrated_first_ack_deadline_is_365_days(make_device):
    dev = make_device(platform="C1111-8P", release="17.3.2")
    dev.migrate_legacy("slr", {"hseck9": 1})
    assert dev.timers().ack_deadline == T0 + 365 * DAY          # L3447: Next ACK deadline a year on
    dev.reload()
    assert "A Usage report acknowledgement will be required in 365 days." in texts(dev, "REPORTING_REQUIRED")


def test_L3416_slr_migrated_policy_in_use_is_merged_from_multiple_sources(make_device):
    dev = make_device(platform="C1111-8P", release="17.3.2")
    dev.migrate_legacy("slr", {"hseck9": 1})
    assert "  Policy in use: Merged from multiple sources.\n" in R.show_license_status(dev.snapshot())


def test_L3995_slr_migrated_after_ack_deadline_is_last_ack_plus_frequency(make_device, cssm):
    dev = make_device(platform="C1111-8P", release="17.3.2")
    dev.migrate_legacy("slr", {"hseck9": 1})
    dev.advance_clock(DAY)
    dev.save_usage("all", "bootflash:u.txt")
    dev.import_data(cssm.process_usage(dev.flash.read("bootflash:u.txt"), now=dev.now(), policy="SLE Policy"))
    tm = dev.timers()
    assert tm.last_ack == T0 + DAY
    assert tm.ack_deadline == T0 + DAY + 30 * DAY                 # the export group's 30-day frequency


def test_L8673_L8690_no_license_feature_hseck9_and_reload_leaves_hseck9_not_in_use(make_device, cssm):
    from emulator.cssm import LibraryOutbound
    dev = make_device(platform="ISR4331/K9", release="17.3.2")
    dev.attach_outbound(LibraryOutbound(cssm, dev.now))
    dev.apply_config({"url_cslu": "http://192.168.0.1:8182/cslu/v1/pi"})
    dev.authorization_request("add", "hseck9")
    dev.sync()
    dev.set_feature_hseck9(True)
    dev.write_memory()
    dev.reload()
    summary = R.show_license_summary(dev.snapshot())
    [line] = [ln for ln in summary.split("\n") if "(ISR_4331_Hsec)" in ln]
    assert line.split() == ["hseck9", "(ISR_4331_Hsec)", "1", "IN", "USE"]
    dev.set_feature_hseck9(False)
    dev.write_memory()
    dev.reload()
    summary = R.show_license_summary(dev.snapshot())
    [line] = [ln for ln in summary.split("\n") if "(ISR_4331_Hsec)" in ln]
    assert line.split() == ["hseck9", "(ISR_4331_Hsec)", "0", "NOT", "IN", "USE"]
    assert "hseck9" not in [r.entitlement.name for r in dev.usage()]      # the engine's usage is unchanged


def test_L2733_L12438_throughput_level_boost_puts_booster_performance_in_use(make_device):
    dev = make_device(platform="ISR4331/K9", release="17.3.2")
    dev.set_throughput("boost")
    assert [(r.entitlement.name, r.count, r.status) for r in dev.usage()] == [("booster_performance", 1, "IN USE")]
    summary = R.show_license_summary(dev.snapshot())
    [line] = [ln for ln in summary.split("\n") if "(ISR_4331_BOOST)" in ln]
    assert line.split() == ["booster_performance", "(ISR_4331_BOOST)", "1", "IN", "USE"]
    dev.set_throughput("300000")                    # another level: its own licence instead
    assert [r.entitlement.name for r in dev.usage()] == ["throughput"]
    dev.set_throughput("100000")                    # the base level has no licence
    assert dev.usage() == []
    dev.set_throughput("boost")
    dev.set_throughput(None)                        # `no platform hardware throughput level`
    assert dev.usage() == []


def test_L11693_L11800_event_log_names_and_fields(make_device, cssm):
    from emulator.cssm import LibraryOutbound
    from emulator.engine.artifacts import long_udi  # noqa: F401
    dev = make_device(platform="C8000V", release="17.10.1a")
    lines = [e.line() for e in dev.events()]
    assert any(ln.endswith(' SAEVT_EXPORT_FLAG exportAllowed="False"') for ln in lines)        # L11733
    dev.apply_config({"reservation": True})
    request = dev.reservation_request()
    [request_code] = request.codes.values()
    dev.reservation_install(Cssm.plr_authorization(request_code))
    hsec = dev.profile.hseck9_entitlement(dev.release.key)
    lines = [e.line() for e in dev.events()]
    tail = [ln.split(" UTC ", 1)[1] for ln in lines[-4:]]
    assert tail == [f'SAEVT_RESERVE_INSTALL_START udi="{dev.udi}"',
                    f'SAEVT_TAG_EXPORT exportAllowed="False" count="0" entitlementTag="{hsec.full_tag}"',
                    f'SAEVT_TAG_EXPORT exportAllowed="True" count="0" entitlementTag="{hsec.full_tag}"',
                    "SAEVT_STATE_RESERVE_AUTHORIZED"]                                   # L11782-11798
    dev.reservation_return()
    assert [e.line() for e in dev.events()][-1].endswith(f'SAEVT_RESERVE_RETURN_START udi="{dev.udi}"')  # L11799
    # a SLAC: one TAG_AUTHORIZED per licence, count and entitlementTag (L11746)
    other = make_device(device_id="slac", platform="ISR4331/K9", release="17.3.2")
    other.attach_outbound(LibraryOutbound(cssm, other.now))
    other.apply_config({"url_cslu": "http://192.168.0.1:8182/cslu/v1/pi"})
    other.authorization_request("add", "hseck9")
    other.sync()
    [lic] = other.authorizations()[other.udi].entitlements.values()
    tag = lic.full_tag
    assert "ISR_4331_Hsec" in tag
    assert any(e.line().endswith(f'SAEVT_TAG_AUTHORIZED count="1" entitlementTag="{tag}"') for e in other.events())


def test_L12780_usage_reporting_last_response_ok_poll_and_L12585_license_conversion(make_device, cssm):
    from emulator.cssm import LibraryOutbound
    dev = make_device(platform="C8300-1N1S-4T2X", release="17.7.1a")
    dev.attach_outbound(LibraryOutbound(cssm, dev.now))
    dev.apply_config({"url_cslu": "http://192.168.0.1:8182/cslu/v1/pi"})
    dev.set_usage("network-advantage", 1)
    dev.sync()
    tech = R.show_license_tech_support(dev.snapshot())
    usage = tech[tech.index("Usage Reporting:\n  Attempts:"):]
    assert usage.split("\n")[2] == "  Last Response: OK_POLL on Jan 01 00:00:00 2024 UTC"
    assert "License Conversion:\n  Automatic Conversion Enabled: True\n  Status: Not started\n" in tech


def test_L12221_last_report_pull_is_set_by_a_pull(make_device):
    dev = make_device()
    dev.set_usage("network-advantage", 1)
    assert dev.timers().last_report_pull is None
    dev.advance_clock(DAY)
    dev.collect_reports()
    assert dev.timers().last_report_pull == T0 + DAY
    assert "  Last report pull: Jan 02 00:00:00 2024 UTC\n" in R.show_license_status(dev.snapshot())


def test_show_license_answers_and_genie_parses_it(make_device):
    """`show license` without a keyword (was `% Incomplete command.`): the licences in use in the layout
    genie's ShowLicense parses (L6114-6153)."""
    from unittest.mock import Mock

    from genie.libs.parser.iosxe.show_license import ShowLicense
    dev = make_device(platform="ISR4331/K9", release="17.3.2")
    assert R.show_license(dev.snapshot()) == ""
    dev.set_usage("appxk9", 1)
    dev.set_throughput("boost")
    parsed = ShowLicense(device=Mock()).parse(output=R.show_license(dev.snapshot()))
    assert parsed == {"licenses": {
        1: {"feature": "appxk9", "period_left": "Life time", "license_type": "Permanent",
            "license_state": "Active, In Use", "count": "Non-Counted", "license_priority": "Medium"},
        2: {"feature": "booster_performance", "period_left": "Life time", "license_type": "Permanent",
            "license_state": "Active, In Use", "count": "Non-Counted", "license_priority": "Medium"}}}


def test_L13699_utility_trust_code_needed_means_no_usage_is_sent(make_device, cssm):
    from emulator.cssm import LibraryOutbound, make_token
    dev = make_device(platform="C8000V", release="17.9.1a")
    dev.attach_outbound(LibraryOutbound(cssm, dev.now))
    dev.apply_config({"transport": "smart"})
    dev.set_usage("network-advantage", 1)
    dev.apply_config({"utility_enabled": True})
    assert texts(dev, "UTILITY_TRUST_CODE") == [
        "Trust establishment with an ID TOKEN is required before utility usage reporting can start."]
    dev.advance_clock(2 * DAY)                   # no scheduled push falls due without trust
    with pytest.raises(DeviceError) as exc:      # and a sync says why (L519-525)
        dev.sync()
    assert exc.value.code == "notregistered"
    assert dev.snapshot().st.comm.stats["Usage Reporting"].total == 0
    assert texts(dev, "UTILITY_STARTED") == []
    assert "  Utility report: Last attempt: <none>\n" in R.show_license_status(dev.snapshot())
    dev.trust_idtoken(make_token("SA", "VA"))
    dev.advance_clock(300)                       # the ACK comes with the result poll minutes later
    assert texts(dev, "UTILITY_STARTED") == ["Smart Agent for Licensing Utility has started sending usage reports"]
    assert "  Utility report: Last attempt: Jan 03 00:00:00 2024 UTC\n" in R.show_license_status(dev.snapshot())


def test_L13714_L13725_utility_subscription_license_30_days_after_use_without_an_id(make_device, cssm):
    from emulator.cssm import LibraryOutbound, make_token
    dev = make_device(platform="C8000V", release="17.9.1a")
    dev.apply_config({"transport": "smart", "utility_enabled": True})
    dev.advance_clock(5 * DAY)
    dev.set_usage("network-advantage", 1)            # in use some time after utility was enabled
    dev.advance_clock(30 * DAY - 1)
    assert texts(dev, "UTILITY_SUBSCRIPTION_LICENSE") == []
    dev.advance_clock(1)
    assert texts(dev, "UTILITY_SUBSCRIPTION_LICENSE") == [
        "Utility mode is in use with a license that does not have a subscription id: network-advantage_250M"]
    dev.advance_clock(60 * DAY)
    assert len(texts(dev, "UTILITY_SUBSCRIPTION_LICENSE")) == 1          # once per licence
    # an ACK with the licence's subscription id: no message for a licence configured later either
    other = make_device(device_id="subs", platform="C8000V", release="17.9.1a")
    other.attach_outbound(LibraryOutbound(cssm, other.now))
    other.apply_config({"transport": "smart", "utility_enabled": True})
    other.trust_idtoken(make_token("SA", "VA"))
    other.set_usage("network-advantage", 1)
    other.advance_clock(DAY)
    other.sync()
    assert other.subscriptions
    other.advance_clock(40 * DAY)
    assert texts(other, "UTILITY_SUBSCRIPTION_LICENSE") == []


def test_L12849_tech_support_prints_the_slac_under_reservation_authorization_code(make_device, cssm):
    from emulator.cssm import LibraryOutbound
    dev = make_device(platform="C8300-1N1S-4T2X", release="17.7.1a")
    dev.attach_outbound(LibraryOutbound(cssm, dev.now))
    dev.apply_config({"url_cslu": "http://192.168.0.1:8182/cslu/v1/pi"})
    dev.authorization_request("add", "hseck9")
    dev.sync()
    code = dev.authorizations()[dev.udi].code
    assert code and code.lstrip().startswith("<")
    tech = R.show_license_tech_support(dev.snapshot())
    assert "    Reservation status: SMART AUTHORIZATION INSTALLED on Jan 01 00:00:00 2024 UTC\n" in tech
    assert "    Reservation authorization code:\n" + code.strip() + "\n" in tech
    again = make_device(platform="C8300-1N1S-4T2X", release="17.7.1a")      # kept across a restart
    assert again.authorizations()[again.udi].code == code
