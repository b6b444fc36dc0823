"""Reporting requirement, timers and reminders (behaviour.md R11–R18, R24–R25, §5 cross-checks)."""

import pytest

from emulator.engine import DeviceError
from emulator.engine.timefmt import show_time
from tests.conftest import DAY, T0, texts


def test_never_consumed_needs_no_reporting(make_device):
    dev = make_device()
    t = dev.timers()
    assert t.ack_deadline is None and t.next_report_push is None and t.push_interval_days == 0
    assert texts(dev, "REPORTING_REQUIRED") == []      # R12


def test_perpetual_only_first_report_365_days(make_device):
    dev = make_device()
    dev.set_usage("network-advantage", 1)
    t = dev.timers()
    assert t.ack_deadline == T0 + 365 * DAY           # cross-check 1
    assert t.next_report_push == T0 + 120
    assert t.push_interval_days == 30
    assert t.last_ack is None
    assert texts(dev, "REPORTING_REQUIRED") == ["A Usage report acknowledgement will be required in 365 days."]
    assert show_time(t.ack_deadline) == "Dec 31 00:00:00 2024 UTC"


def test_subscription_in_use_gives_90_days(make_device):
    dev = make_device()
    dev.set_usage("network-advantage", 1)
    dev.advance_clock(10 * DAY)
    dev.set_usage("dna-advantage", 1)                 # subscription: first report 90 (from t0), on change 90
    assert dev.timers().ack_deadline == T0 + 90 * DAY  # cross-check 2


def test_export_licence_alone_on_default_policy_requires_nothing(make_device):
    dev = make_device()
    dev.set_usage("hseck9", 1)                        # Export group: 0/0/0 on the Cisco default
    assert dev.timers().ack_deadline is None
    assert texts(dev, "EXPORT_CONTROLLED") == ["Usage of export controlled features is not allowed"]
    rec = dev.usage()[0]
    assert (rec.status, rec.export_status) == ("NOT AUTHORIZED", "RESTRICTED - NOT ALLOWED")


def test_reminders_count_down_then_repeat_daily_when_overdue(make_device):
    dev = make_device()
    dev.set_usage("dna-advantage", 1)                 # deadline T0 + 90 days
    dev.advance_clock(95 * DAY)
    msgs = [(round((m.time - T0) / DAY, 3), m.text) for m in dev.syslog() if m.mnemonic == "REPORTING_REQUIRED"]
    required = "A Usage report acknowledgement will be required in {} days."
    assert msgs == [(0, required.format(90)), (60, required.format(30)), (76, required.format(14)),
                    (83, required.format(7)), (89, required.format(1)), (90, required.format(0)),
                    (91, required.format(0)), (92, required.format(0)), (93, required.format(0)),
                    (94, required.format(0)), (95, required.format(0))]


def test_usage_interval_semantics(make_device):
    dev = make_device()
    dev.set_usage("dna-advantage", 1)
    assert dev.timers().push_interval_days == 30      # not configured: 30 days (L10324)
    dev.apply_config({"usage_interval": 20})
    assert dev.timers().push_interval_days == 20
    dev.apply_config({"usage_interval": 0})
    t = dev.timers()
    assert t.push_interval_days == 0 and t.next_report_push is None      # R25: 0 never sends
    dev.apply_config({"usage_interval": 200, "transport": "off"})
    assert dev.timers().push_interval_days == 90      # off: min(interval, policy frequency 90)
    with pytest.raises(DeviceError):
        dev.apply_config({"usage_interval": 3651})
    assert dev.setting("usage_interval") == 200 and dev.setting("transport") == "off"   # unchanged


def test_removing_every_licence_is_a_change_that_needs_a_report(make_device):
    dev = make_device()
    dev.set_usage("network-advantage", 1)
    dev.advance_clock(100 * DAY)
    dev.set_usage("network-advantage", 0)             # ≥1 to 0 is a change: report on change 90 days
    assert dev.timers().ack_deadline == T0 + 190 * DAY
    assert dev.usage() == []


def test_unknown_licence_and_bad_count_are_refused(make_device):
    dev = make_device()
    with pytest.raises(DeviceError) as exc:
        dev.set_usage("no-such-license", 1)
    assert exc.value.code == "notfound"
    with pytest.raises(DeviceError):
        dev.set_usage("network-advantage", -1)
    assert dev.usage() == [] and dev.report_list() == []


def test_url_default_follows_the_transport_set_in_the_same_change(make_device):
    dev = make_device()
    dev.apply_config({"url_default": True, "transport": "smart"})
    assert dev.smart_url == "https://smartreceiver.cisco.com/licservice/license"
    dev.apply_config({"transport": "cslu"})
    dev.apply_config({"url_default": True})
    assert dev.cslu_url == "https://cslu-local:8182/cslu/v1/pi"                      # L10293-10298
    dev.apply_config({"url_cslu": "http://10.0.0.1:8182/cslu/v1/pi"})
    dev.apply_config({"url_cslu": None})
    assert dev.setting("url_cslu") == "http://cslu-local:8182/cslu/v1/pi"            # `no ... url cslu`, L10272
    dev.apply_config({"url_default": False})
    with pytest.raises(DeviceError):
        dev.apply_config({"transport": "off", "url_default": True})
    assert dev.setting("transport") == "cslu"
