"""C8000V on 17.12.1a uses network-advantage and dna-advantage for 400 days; the ACK is imported on day 200
(air-gapped: save usage → CSSM → import). Deadlines, reports and syslogs follow the guide."""

from emulator.cssm import Cssm
from emulator.engine.timefmt import show_time
from tests.conftest import DAY, T0

REQUIRED = "A Usage report acknowledgement will be required in {} days."


def _day(t):
    return round((t - T0) / DAY, 6)


def test_400_days(make_device, tmp_path):
    dev = make_device(platform="C8000V", release="17.12.1a")
    dev.apply_config({"transport": "off"})
    dev.set_usage("network-advantage", 1)       # perpetual: first report 365 days
    dev.set_usage("dna-advantage", 1)           # subscription: first report 90 days, on change 90
    t = dev.timers()
    assert _day(t.ack_deadline) == 90
    assert t.push_interval_days == 30 and t.next_report_push == T0 + 120

    dev.advance_clock(200 * DAY)
    reminders = [(_day(m.time), m.text) for m in dev.syslog() if m.mnemonic == "REPORTING_REQUIRED"]
    assert reminders[:7] == [(0, REQUIRED.format(365)), (0, REQUIRED.format(90)), (60, REQUIRED.format(30)), (76, REQUIRED.format(14)),
                             (83, REQUIRED.format(7)), (89, REQUIRED.format(1)), (90, REQUIRED.format(0))]
    assert reminders[7:] == [(d, REQUIRED.format(0)) for d in range(91, 201)]      # overdue: daily
    # Reports closed every day for both licences: 200 closed days per licence plus the open pair.
    summary = dev.report_summary()
    assert (summary.total, summary.collecting_data, summary.available_to_report) == (402, 2, 402)

    dev.save_usage("unreported", "bootflash:usage_day200.txt")
    cssm = Cssm(state_path=tmp_path / "cssm.json")
    ack = cssm.process_usage(dev.flash.read("bootflash:usage_day200.txt"), now=dev.now())
    dev.flash.write("bootflash:ack_day200.txt", ack.encode())
    assert dev.import_file("bootflash:ack_day200.txt").message == "Import Data Successful"
    t = dev.timers()
    assert _day(t.last_ack) == 200
    assert _day(t.ack_deadline) == 290           # R14: last ACK + min frequency in use (subscription 90)
    summary = dev.report_summary()
    # the reports opened by the day-200 close hold no data yet, so the save leaves them open
    assert (summary.acknowledged, summary.waiting_for_ack, summary.collecting_data) == (400, 0, 2)
    assert show_time(t.last_ack) == "Jul 19 00:00:00 2024 UTC"

    dev.advance_clock(200 * DAY)
    assert dev.now() == T0 + 400 * DAY
    after = [(_day(m.time), m.text) for m in dev.syslog() if m.mnemonic == "REPORTING_REQUIRED" and m.time > T0 + 200 * DAY]
    assert after[:5] == [(260, REQUIRED.format(30)), (276, REQUIRED.format(14)), (283, REQUIRED.format(7)),
                         (289, REQUIRED.format(1)), (290, REQUIRED.format(0))]
    assert after[5:] == [(d, REQUIRED.format(0)) for d in range(291, 401)]
    reports = dev.report_list()
    # Reports acknowledged more than 400 days ago would be forgotten; none is that old yet.
    assert len(reports) == 802
    assert [r.state for r in reports[-2:]] == ["OPEN", "OPEN"]
    assert sum(r.state == "CLOSED" for r in reports) == 400
    assert dev.syslog()[-1].text == REQUIRED.format(0)
    assert [m.text for m in dev.syslog() if m.mnemonic == "LICENSING"] == [
        "SIP service is Up. License report acknowledged."]
