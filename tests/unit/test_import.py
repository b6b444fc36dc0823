"""ACK and policy import (R6–R9, R30–R31, Q25) and bad input that must leave the state unchanged."""

import pytest

from emulator.cssm import Cssm
from emulator.engine import DeviceError, artifacts
from tests.conftest import DAY, T0, texts


def _state(dev):
    return (dev.st, [r.to_dict() for r in dev.report_list()], dev.policy_in_use())


def _save_and_ack(dev, cssm, **kwargs):
    dev.save_usage("all", "bootflash:usage.txt")
    usage = dev.flash.read("bootflash:usage.txt")
    ack = cssm.process_usage(usage, now=dev.now(), **kwargs)
    dev.flash.write("bootflash:ack.txt", ack.encode())
    return dev.import_file("bootflash:ack.txt")


@pytest.fixture
def cssm(tmp_path):
    return Cssm(state_path=tmp_path / "cssm.json")


def test_ack_import_acknowledges_reports_and_resets_the_deadline(make_device, cssm):
    dev = make_device()
    dev.set_usage("network-advantage", 1)
    dev.set_usage("dna-advantage", 1)
    dev.advance_clock(2 * DAY)
    result = _save_and_ack(dev, cssm)
    assert result.message == "Import Data Successful"
    acked = [r for r in dev.report_list() if r.state == "ACK"]
    assert len(acked) == 4                           # 4 daily-closed; the reports opened at the save hold no data
    assert all(r.reason == "ACKED" and r.storage == "DELETED" and r.storage_reason == "PROCESSED"
               and r.flag == "N" and r.payload is None for r in acked)
    t = dev.timers()
    assert t.last_ack == T0 + 2 * DAY
    assert t.ack_deadline == T0 + 2 * DAY + 90 * DAY          # R14: min frequency in use (subscription 90)
    assert (dev.account.smart_account, dev.account.virtual_account) == ("Eg-SA", "Eg-VA")
    assert dev.account.as_of == pytest.approx(T0 + 2 * DAY)
    assert texts(dev, "LICENSING") == ["SIP service is Up. License report acknowledged."]
    assert dev.report_summary().acknowledged == 4


def test_a_report_sent_twice_is_dropped_with_an_error_flag(make_device, cssm):
    dev = make_device()
    dev.set_usage("network-advantage", 1)
    dev.advance_clock(60)
    dev.save_usage("all", "bootflash:first.txt")
    first = dev.flash.read("bootflash:first.txt")
    cssm.process_usage(first, now=dev.now())            # CSSM has now received that report
    ack = cssm.process_usage(first, now=dev.now())      # ... and receives it again
    dev.flash.write("bootflash:ack.txt", ack.encode())
    dev.import_file("bootflash:ack.txt")
    [dropped] = [r for r in dev.report_list() if r.state == "ACK"]
    assert (dropped.flag, dropped.reason, dropped.transaction_message) == ("E", "DROPPED", "Report already received.")


def test_custom_policy_in_ack_is_installed(make_device, cssm):
    dev = make_device()
    dev.set_usage("network-advantage", 1)
    _save_and_ack(dev, cssm, policy="SLE Policy")
    policy = dev.policy_in_use()
    assert (policy.kind, policy.name, policy.installed_at) == ("custom", "SLE Policy", T0)
    assert (policy.group("perpetual").first.days, policy.group("perpetual").frequency.days) == (30, 60)
    assert policy.group("perpetual").frequency.custom is True
    assert dev.timers().ack_deadline == T0 + 60 * DAY           # perpetual frequency 60
    assert texts(dev, "POLICY_INSTALL_SUCCESS") == ["A new licensing policy was successfully installed"]


def test_policy_file_with_partial_values_keeps_cisco_defaults(make_device, cssm):
    dev = make_device()
    text = cssm.policy_file("Custom Policy", now=T0)
    dev.flash.write("bootflash:policy.xml", text.encode())
    assert dev.import_file("bootflash:policy.xml").message == "Import Data Successful"
    policy = dev.policy_in_use()
    assert policy.group("export").first.days == 0 and policy.group("export").first.custom is False
    assert policy.group("subscription").frequency.days == 30 and policy.group("subscription").frequency.custom


def test_account_info_is_replaced_only_by_a_newer_ack(make_device, cssm):
    dev = make_device()
    dev.set_usage("network-advantage", 1)
    dev.save_usage("all", "bootflash:u1.txt")
    newer = cssm.process_usage(dev.flash.read("bootflash:u1.txt"), now=T0 + 100, smart_account="New-SA")
    older = cssm.process_usage(dev.flash.read("bootflash:u1.txt"), now=T0 + 50, smart_account="Old-SA")
    for name, text in (("newer.txt", newer), ("older.txt", older)):
        dev.flash.write(name, text.encode())
    dev.advance_clock(200)
    dev.import_file("newer.txt")
    with pytest.raises(DeviceError) as exc:             # an older ACK changes nothing (issue 10)
        dev.import_file("older.txt")
    assert exc.value.code == "duplicatedentry"
    assert dev.account.smart_account == "New-SA"


def test_account_info_needs_17_7_1(make_device, cssm):
    dev = make_device(release="17.6.1a")
    dev.set_usage("network-advantage", 1)
    dev.advance_clock(60)                    # a report to send: CSSM refuses a usage file holding none
    _save_and_ack(dev, cssm)
    assert dev.account is None


def _tampered_ack(cssm, dev):
    dev.save_usage("all", "bootflash:u.txt")
    ack = cssm.process_usage(dev.flash.read("bootflash:u.txt"), now=dev.now())
    return ack.replace('"status":"ACKED"', '"status":"ACKED" ', 1)


@pytest.mark.parametrize("make_bad,code", [
    (lambda cssm, dev: _tampered_ack(cssm, dev), "verifysignaturefailed"),
    (lambda cssm, dev: Cssm(artifacts.generate_private_key()).policy_file("SLE Policy", now=dev.now()),
     "verifysignaturefailed"),
    (lambda cssm, dev: cssm.policy_file("SLE Policy", now=dev.now() + 3 * DAY), "verifysignaturefailed"),
    (lambda cssm, dev: "<smartLicense><smartLicenseRumAck><data>", "msgparse"),
    (lambda cssm, dev: '<?xml version="1.0"?><!DOCTYPE x [<!ENTITY e SYSTEM "file:///etc/passwd">]>'
                       "<smartLicensePolicy><data>&e;</data></smartLicensePolicy>", "msgparse"),
    (lambda cssm, dev: "<somethingElse/>", "msgparse"),
])
def test_bad_imports_leave_the_state_unchanged(make_device, cssm, make_bad, code):
    dev = make_device()
    dev.set_usage("network-advantage", 1)
    dev.advance_clock(60)
    bad = make_bad(cssm, dev)
    before = _state(dev)
    with pytest.raises(DeviceError) as exc:
        dev.import_data(bad)
    assert exc.value.code == code
    assert str(exc.value).startswith("% Import Data Failed")
    after = _state(dev)
    assert after[1] == before[1] and after[2] == before[2]
    assert dev.timers().last_ack is None


def test_policy_failures_log_the_guides_syslog(make_device, cssm):
    dev = make_device()
    future = cssm.policy_file("SLE Policy", now=dev.now() + 3 * DAY)
    forged = Cssm(artifacts.generate_private_key()).policy_file("SLE Policy", now=dev.now())
    for doc in (future, forged):
        with pytest.raises(DeviceError):
            dev.import_data(doc)
    assert texts(dev, "POLICY_INSTALL_FAILED") == [
        "The installation of a new licensing policy has failed: timestamp mismatch.",
        "The installation of a new licensing policy has failed: signature mismatch."]
    assert dev.policy_in_use().is_default


def test_ack_for_another_device_is_refused(make_device, cssm):
    dev = make_device()
    other = make_device(device_id="other", serial="9ZZZZZZZZZZ")
    other.set_usage("network-advantage", 1)
    other.save_usage("all", "bootflash:u.txt")
    ack = cssm.process_usage(other.flash.read("bootflash:u.txt"), now=dev.now())
    with pytest.raises(DeviceError) as exc:
        dev.import_data(ack)
    assert exc.value.code == "matchidentifier"


def test_missing_file_and_network_paths(make_device):
    dev = make_device()
    with pytest.raises(DeviceError) as exc:
        dev.import_file("bootflash:nope.txt")
    assert str(exc.value) == "%Error opening bootflash:nope.txt (No such file or directory)"
    with pytest.raises(DeviceError) as exc:
        dev.save_usage("all", "tftp://10.0.0.1/x")
    assert exc.value.code == "notsupported"
    with pytest.raises(DeviceError):
        dev.save_usage("all", "bootflash:../../etc/passwd")
