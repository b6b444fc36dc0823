"""Trust codes (R32–R37): ID token online, trust request → trust code file, automatic requests in reports,
factory trust codes, and every failure with its syslog and the state unchanged."""

import pytest

from emulator.cssm import Cssm, LibraryOutbound, make_token
from emulator.engine import DeviceError
from tests.conftest import DAY, T0, texts


@pytest.fixture
def cssm(tmp_path):
    return Cssm(state_path=tmp_path / "cssm.json")


def _direct(dev, cssm, policy="SLE Policy"):
    dev.attach_outbound(LibraryOutbound(cssm, dev.now, policy=policy))
    dev.apply_config({"transport": "smart", "url_default": True})


def test_idtoken_installs_trust_then_policy_then_reports(make_device, cssm):
    """The guide's log (L5587-5595): COMM_RESTORED, the policy, the trust code, at once; the report goes out
    and its ACK (with the policy again) arrives minutes later, when the device polls for the result."""
    dev = make_device(platform="ISR4331/K9", release="17.4.1a")
    _direct(dev, cssm)
    dev.set_usage(dev.profile.entitlements[0].name, 1)
    dev.advance_clock(60)
    seq = dev.syslog()[-1].seq
    dev.trust_idtoken(make_token("Eg-SA", "Eg-VA"), all_members=False)
    trust = dev.trust_codes()[dev.udi]
    assert trust.installed_at == T0 + 60 and trust.source == "idtoken" and trust.usable
    assert trust.account == {"smart_account": "Eg-SA", "virtual_account": "Eg-VA"}
    assert [(m.mnemonic, m.time) for m in dev.syslog_since(seq)] == [
        ("COMM_RESTORED", T0 + 60), ("POLICY_INSTALL_SUCCESS", T0 + 60), ("TRUST_INSTALL_SUCCESS", T0 + 60)]
    assert texts(dev, "COMM_RESTORED") == ["Communications with Cisco Smart Software Manager (CSSM) restored."]
    assert texts(dev, "TRUST_INSTALL_SUCCESS") == [
        f"A new licensing trust code was successfully installed on P:ISR4331/K9,S:{dev.sn}."]
    assert dev.policy_in_use().name == "SLE Policy"
    # the report went out with the trust; the ACK is fetched by the result poll 4 minutes later
    t = dev.timers()
    assert t.last_report_push == T0 + 60 and t.last_ack is None and t.next_ack_push_check == T0 + 60 + 240
    assert {r.state for r in dev.report_list()} == {"UNACK", "OPEN"}
    dev.advance_clock(300)                              # the simulated clock skips the wait
    assert [(m.mnemonic, m.time) for m in dev.syslog_since(seq)][3:] == [
        ("LICENSING", T0 + 300), ("POLICY_INSTALL_SUCCESS", T0 + 300)]
    assert dev.timers().last_ack == T0 + 300
    assert {r.state for r in dev.report_list()} == {"ACK", "OPEN"}
    assert dev.comm_statistics()["Result Polling"].success == 1


def test_second_idtoken_without_force_is_refused(make_device, cssm):
    dev = make_device()
    _direct(dev, cssm)
    dev.trust_idtoken(make_token("SA", "VA"))
    other = make_device(device_id="clone", serial=dev.sn)          # another key claiming the same UDI
    _direct(other, cssm)
    with pytest.raises(DeviceError) as exc:
        other.trust_idtoken(make_token("SA", "VA"))
    assert exc.value.code == "responsefailed"
    assert texts(other, "TRUST_CODE_INSTALL_FAILED") == [
        f"The install of a new licensing trust code has failed on P:C8000V,S:{dev.sn}: "
        "A trust code is already installed for this product instance."]
    assert other.trust_codes() == {}
    other.trust_idtoken(make_token("SA", "VA"), force=True)
    assert other.trust_codes()[other.udi].source == "idtoken"


def test_token_of_another_virtual_account_needs_force(make_device, cssm):
    dev = make_device()
    _direct(dev, cssm)
    dev.trust_idtoken(make_token("SA", "VA-1"))
    with pytest.raises(DeviceError):
        dev.trust_idtoken(make_token("SA", "VA-2"))
    assert texts(dev, "TRUST_CODE_INSTALL_FAILED")[-1].endswith("Smart Account/Virtual Account mismatch.")
    dev.trust_idtoken(make_token("SA", "VA-2"), force=True)
    assert dev.trust_codes()[dev.udi].account["virtual_account"] == "VA-2"


def test_idtoken_needs_direct_transport_and_reachability(make_device, cssm):
    dev = make_device()
    with pytest.raises(DeviceError) as exc:
        dev.trust_idtoken("token")                     # transport cslu
    assert exc.value.code == "transporttype"
    dev.apply_config({"transport": "smart"})           # no route to CSSM at all
    with pytest.raises(DeviceError) as exc:
        dev.trust_idtoken("token")
    assert exc.value.code == "commsend"
    assert texts(dev, "COMM_FAILED") == ["Communications failure with the Cisco Smart Software Manager (CSSM) : "
                                         "Unable to resolve server hostname/domain name"]
    assert dev.comm_statistics()["Trust Establishment"].fail == 1
    _direct(dev, cssm)
    dev.inject_fault("timeout", "cssm", count=1)
    with pytest.raises(DeviceError):
        dev.trust_idtoken("token")
    assert texts(dev, "COMM_FAILED")[-1].endswith(": Connection timed out")
    dev.trust_idtoken("token")                         # the fault was used up
    assert texts(dev, "COMM_RESTORED") == ["Communications with Cisco Smart Software Manager (CSSM) restored."]
    assert dev.trust_codes()


def test_trust_request_file_round_trip(make_device, cssm):
    dev = make_device()
    dev.save_trust_request("bootflash:trust_req.txt")
    answer = cssm.process_trust_request(dev.flash.read("bootflash:trust_req.txt"), now=dev.now())
    dev.flash.write("bootflash:trust.txt", answer.encode())
    assert dev.import_file("bootflash:trust.txt").message == "Import Data Successful"
    assert dev.trust_codes()[dev.udi].source == "file"
    # a trust code made for another device key is refused and changes nothing
    other = make_device(device_id="other", serial="9XXXXXXXXXX")
    other.save_trust_request("t.txt")
    forged = cssm.process_trust_request(other.flash.read("t.txt"), now=dev.now()).replace(other.sn, dev.sn)
    with pytest.raises(DeviceError) as exc:
        dev.import_data(forged)
    assert exc.value.code == "verifysignaturefailed"


def test_usage_file_carries_a_trust_request_from_17_7_1(make_device, cssm):
    old = make_device(device_id="old", release="17.6.1a", serial="9AAAAAAAAAA")
    old.set_usage("network-advantage", 1)
    old.save_usage("all", "u.txt")
    assert b"smartLicenseTrustRequest" not in old.flash.read("u.txt")
    dev = make_device(release="17.7.1a")
    dev.install_factory_trust()
    assert dev.trust_codes()[dev.udi].usable is False          # a factory code cannot talk to CSSM (R34)
    dev.set_usage("network-advantage", 1)
    dev.save_usage("all", "u.txt")
    assert b"smartLicenseTrustRequest" in dev.flash.read("u.txt")
    dev.import_data(cssm.process_usage(dev.flash.read("u.txt"), now=dev.now()))
    trust = dev.trust_codes()[dev.udi]
    assert (trust.source, trust.usable) == ("ack", True)     # the ACK's code overwrote it (R32)
    dev.save_usage("unreported", "v.txt")
    assert b"smartLicenseTrustRequest" not in dev.flash.read("v.txt")


def test_second_idtoken_of_the_same_device_needs_force(make_device, cssm):
    """L8892-8895: a UDI with a trust code gets no new one unless `force` is given; CSSM refuses and the
    device logs TRUST_CODE_INSTALL_FAILED, changing nothing. With force, a new code replaces it."""
    from emulator.frontends.cli import render
    dev = make_device()
    _direct(dev, cssm)
    token = make_token("SA", "VA")
    dev.trust_idtoken(token)
    first = dev.trust_codes()[dev.udi]
    dev.advance_clock(DAY)
    before = render.show_license_status(dev)
    with pytest.raises(DeviceError) as exc:
        dev.trust_idtoken(token)
    assert exc.value.code == "responsefailed"
    assert texts(dev, "TRUST_CODE_INSTALL_FAILED") == [
        f"The install of a new licensing trust code has failed on P:C8000V,S:{dev.sn}: "
        "A trust code is already installed for this product instance."]
    assert dev.trust_codes()[dev.udi] == first and render.show_license_status(dev) == before
    dev.trust_idtoken(token, force=True)
    assert dev.trust_codes()[dev.udi].installed_at == T0 + DAY
    assert dev.trust_codes()[dev.udi].trust_id != first.trust_id


@pytest.mark.parametrize("transport", ["smart", "callhome"])
def test_directly_connected_needs_an_id_token(make_device, cssm, transport):
    """L519-525: directly connected to CSSM, a device is trusted only through an ID token. Its scheduled
    pushes do not go out (and carry no trust request) before that; `license smart sync` says why."""
    dev = make_device(release="17.12.1a")
    dev.attach_outbound(LibraryOutbound(cssm, dev.now, policy="SLE Policy"))
    dev.apply_config({"transport": transport})
    dev.set_usage("network-advantage", 1)
    dev.advance_clock(40 * DAY)                        # first push due 2 minutes after first use (R13)
    assert dev.trust_codes() == {} and dev.timers().last_report_push is None
    assert dev.comm_statistics()["Usage Reporting"].total == 0 and cssm.devices() == {}
    with pytest.raises(DeviceError) as exc:
        dev.sync()
    assert exc.value.code == "notregistered"
    assert str(exc.value) == ("% Trust establishment with an ID token is required before usage reporting can "
                              "start: license smart trust idtoken <token> local")
    dev.trust_idtoken(make_token("SA", "VA"))
    assert dev.trust_codes()[dev.udi].source == "idtoken"
    assert dev.timers().last_report_push == dev.now()
    dev.advance_clock(DAY)                            # scheduled pushes go out from now on
    assert dev.timers().last_ack is not None


def test_through_cslu_the_first_push_brings_the_trust_code(make_device, cssm):
    """The contrast (L481-489): through CSLU the push carries the trust request and the ACK the code."""
    dev = make_device(release="17.12.1a")
    dev.attach_outbound(LibraryOutbound(cssm, dev.now))
    dev.set_usage("network-advantage", 1)
    dev.advance_clock(DAY)
    assert dev.trust_codes()[dev.udi].source == "ack"
