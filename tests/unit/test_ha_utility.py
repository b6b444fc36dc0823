"""HA members (R56–R60) and utility mode (R52–R55)."""

import pytest

from emulator.cssm import Cssm, LibraryOutbound, make_token
from emulator.engine import DeviceError
from tests.conftest import DAY, T0, texts


@pytest.fixture
def cssm(tmp_path):
    return Cssm(state_path=tmp_path / "cssm.json")


def test_c8000v_ha_scenario(make_device, cssm):
    dev = make_device(platform="C8000V", release="17.12.1a")
    dev.attach_outbound(LibraryOutbound(cssm, dev.now))
    dev.apply_config({"transport": "smart", "url_default": True})
    dev.set_usage("network-advantage", 1)
    dev.trust_idtoken(make_token("SA", "VA"), all_members=True)
    dev.ha_add_member("C8000V", "9STANDBY001", "Standby")
    assert [m.role for m in dev.members] == ["Active", "Standby"]
    # R58: direct CSSM → trust sync installs a trust code on the new member
    assert set(dev.trust_codes()) == {dev.udi, "PID:C8000V,SN:9STANDBY001"}
    assert dev.comm_statistics()["Trust Sync"].success == 1
    # R29: the HA event closed the reports and triggers reporting two minutes later
    assert dev.timers().next_report_push == T0 + 120
    # `all` covers every distinct UDI (R59): one authorization per UDI (R56)
    dev.authorization_request("add", "hseck9", all_members=True)
    assert set(dev.authorizations()) == {dev.udi, "PID:C8000V,SN:9STANDBY001"}
    dev.ha_switchover()
    assert dev.udi == f"PID:C8000V,SN:{dev.members[0].sn}" and dev.members[0].sn == "9STANDBY001"
    assert any(e.name == "HA_ROLE" for e in dev.events())
    dev.ha_remove_member(dev.members[1].sn)
    assert len(dev.members) == 1
    with pytest.raises(DeviceError):
        dev.ha_switchover()


def test_shared_udi_needs_one_code(make_device, cssm):
    dev = make_device(platform="C8500-12X")
    dev.ha_add_member(dev.pid, dev.sn, "Standby")        # the UDI lives on the chassis (L13030-13035)
    dev.attach_outbound(LibraryOutbound(cssm, dev.now))
    dev.authorization_request("add", "hseck9", all_members=True)
    assert list(dev.authorizations()) == [dev.udi]


def test_utility_mode_rules(make_device, cssm):
    with pytest.raises(DeviceError):
        make_device(device_id="old", release="17.6.1a").apply_config({"utility_enabled": True})
    with pytest.raises(DeviceError):
        make_device(device_id="c8300", platform="C8300-1N1S-6T").apply_config({"utility_enabled": True})
    dev = make_device(platform="C8000V", release="17.9.1a")
    dev.apply_config({"transport": "callhome"})
    dev.set_usage("network-advantage", 1)
    dev.apply_config({"utility_enabled": True})
    assert texts(dev, "UTILITY_TRANSPORT_NOT_CONFIG") == [
        "To support utility mode the transport must be set to 'smart transport' or 'cslu'."]
    dev.advance_clock(7 * DAY)                               # weekly until fixed (R52)
    assert len(texts(dev, "UTILITY_TRANSPORT_NOT_CONFIG")) == 2
    dev.apply_config({"transport": "smart"})                 # smart without trust: UTILITY_TRUST_CODE (R53)
    assert texts(dev, "UTILITY_TRUST_CODE") == [
        "Trust establishment with an ID TOKEN is required before utility usage reporting can start."]
    assert dev.timers().ack_deadline == T0 + 30 * DAY        # an ACK every 30 days (Q16)
    dev.advance_clock(24 * DAY)                              # day 31
    assert texts(dev, "UTILITY_NO_ACK") == ["A Usage report acknowledgement has not been received in the last "
                                            "30 days. An Acknowledgement is required every 30 days."]
    assert texts(dev, "UTILITY_SUBSCRIPTION_LICENSE") == [
        "Utility mode is in use with a license that does not have a subscription id: network-advantage_250M"]
    # directly connected to CSSM, nothing is reported before trust is established with an ID token
    dev.attach_outbound(LibraryOutbound(cssm, dev.now))
    with pytest.raises(DeviceError) as exc:
        dev.sync()
    assert exc.value.code == "notregistered" and dev.trust_codes() == {}
    assert dev.timers().last_report_push is None
    # an ACK with subscription ids starts utility reporting: the report follows the trust code at once, its
    # ACK comes with the result poll minutes later
    dev.trust_idtoken(make_token("SA", "VA"))
    assert dev.trust_codes()[dev.udi].source == "idtoken" and texts(dev, "UTILITY_STARTED") == []
    dev.advance_clock(300)
    assert texts(dev, "UTILITY_STARTED") == ["Smart Agent for Licensing Utility has started sending usage reports"]
    assert dev.subscriptions
    reports = [r for r in dev.report_list() if r.state == "ACK"]
    assert reports and all(r.utility for r in reports)
    dev.apply_config({"utility_enabled": False})
    assert texts(dev, "UTILITY_STOPPED") == ["Smart Agent for Licensing Utility has stopped sending usage reports"]
