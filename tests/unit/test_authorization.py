"""Authorization codes (R38–R48), throughput, PLR (R50), SLR/PAK (R49, R51), factory reset (R69)."""

import pytest

from emulator.cssm import Cssm, LibraryOutbound, make_token
from emulator.engine import DeviceError, Throughput
from emulator.engine.artifacts import PLR_CODE_RE
from emulator.engine.settings import BOOT_LEVEL
from emulator.engine.state import AuthorizationRequest, RequestedLicense, Udi
from tests.conftest import DAY, T0, texts


@pytest.fixture
def cssm(tmp_path):
    return Cssm(state_path=tmp_path / "cssm.json")


def _cslu(dev, cssm):
    dev.attach_outbound(LibraryOutbound(cssm, dev.now))
    dev.apply_config({"url_cslu": "http://192.168.0.1:8182/cslu/v1/pi"})


def _state(dev):
    return (repr(dev.authorizations()), [u for u in dev.usage()], dev.throughput(), dev.codes)


def test_c8300_hseck9_and_crypto_throughput_scenario(make_device, cssm):
    dev = make_device(platform="C8300-1N1S-6T", release="17.7.1a")
    dev.set_usage("network-advantage", 1)
    assert dev.set_throughput("1G") == Throughput("1G", 250000, True)                      # clamped (R4)
    assert dev.throughput() == Throughput("1G", 250000, True)
    _cslu(dev, cssm)
    dev.set_feature_hseck9(True)
    auth = dev.authorizations()[dev.udi]                                                  # R39: requested and installed
    assert auth.kind == "slac" and list(auth.entitlements) == ["DNA_HSEC"]
    assert len(auth.confirmation_code) == 8
    assert dev.throughput() == Throughput("1G", 1000000, False)   # restored
    assert texts(dev, "AUTHORIZATION_INSTALL_SUCCESS") == [
        f"A new licensing authorization code was successfully installed on PID:C8300-1N1S-6T,SN:{dev.sn}"]
    dev.write_memory()
    dev.reload()
    [hsec] = [u for u in dev.usage() if u.entitlement.hseck9]
    assert (hsec.entitlement.tag, hsec.status, hsec.export_status) == ("DNA_HSEC", "IN USE", "RESTRICTED - ALLOWED")
    with pytest.raises(DeviceError) as exc:                                               # in use: no return (L292)
        dev.authorization_return(online=True)
    assert exc.value.code == "invalidrequest" and "hseck9" in str(exc.value)
    dev.set_throughput("250M")
    dev.set_feature_hseck9(False)
    dev.write_memory()
    dev.reload()
    assert [u.entitlement.name for u in dev.usage()] == ["network-advantage_250M"]
    result = dev.authorization_return(online=True)
    [code] = result.codes.values()
    assert result.codes == {f"PID:C8300-1N1S-6T,SN:{dev.sn}": code} and result.file is None
    assert len(code) == 59 and code.count("-") == 8
    assert dev.authorizations() == {} and dev.codes[dev.udi].last_return_code == code
    assert texts(dev, "AUTHORIZATION_REMOVED") == [
        f"A licensing authorization code has been removed from PID:C8300-1N1S-6T,SN:{dev.sn}."]


def test_airgapped_slac_request_and_return_files(make_device, cssm):
    dev = make_device(platform="ISR4431/K9", release="17.7.1a")
    dev.apply_config({"transport": "off"})
    dev.authorization_request("add", "hseck9", all_members=False)          # staged only (transport off)
    assert dev.authorizations() == {}
    dev.authorization_request_save("bootflash:slac.txt")
    slac = cssm.process_authorization_request(dev.flash.read("bootflash:slac.txt"), now=dev.now())
    dev.flash.write("bootflash:slac_code.txt", slac.encode())
    assert dev.import_file("bootflash:slac_code.txt").message == "Import Data Successful"
    assert list(dev.authorizations()[dev.udi].entitlements) == ["DNA_HSEC"]
    dev.authorization_return(path="bootflash:auth_return.txt")
    answer = cssm.process_authorization_return(dev.flash.read("bootflash:auth_return.txt"), now=dev.now())
    assert dev.import_data(answer).message == "Import Data Successful"


def test_slac_install_checks(make_device, cssm, tmp_path):
    dev = make_device(platform="C8300-1N1S-6T")
    dev.apply_config({"transport": "off"})
    dev.authorization_request("add", "hseck9")
    dev.authorization_request_save("req.txt")
    slac = cssm.process_authorization_request(dev.flash.read("req.txt"), now=dev.now())
    dev.import_data(slac)
    dev.set_usage("hseck9", 1)
    before = (repr(dev.authorizations()), dev.usage())
    # a SLAC for another device: UDI mismatch
    other = make_device(device_id="o", platform="C8300-1N1S-6T", serial="FDO0000000X")
    other.apply_config({"transport": "off"})
    other.authorization_request("add", "hseck9")
    other.authorization_request_save("req.txt")
    with pytest.raises(DeviceError) as exc:
        dev.import_data(cssm.process_authorization_request(other.flash.read("req.txt"), now=dev.now()))
    assert exc.value.code == "matchidentifier"
    assert texts(dev, "AUTHORIZATION_INSTALL_FAILED")[-1] == (
        f"The install of a new licensing authorization code has failed on PID:C8300-1N1S-6T,SN:{dev.sn}: "
        "UDI mismatch.")
    # a new SLAC that does not cover hseck9, which is in use: not enough licences (R41)
    dev.authorization_request("replace", "network-advantage") if False else None
    forged = Cssm(state_path=tmp_path / "other.json")
    assert dev.st.auth_request is None                  # the SLAC installed answered the request
    with dev._op() as ctx:          # a request for another licence than the one in use
        ctx.put(auth_request=AuthorizationRequest(int(dev.now() * 1000), "add", (Udi(dev.pid, dev.sn),),
                                                  (RequestedLicense("ESR_P_250M_A", "x", "n", 1),)))
    dev.authorization_request_save("req2.txt")
    with pytest.raises(DeviceError) as exc:
        dev.import_data(forged.process_authorization_request(dev.flash.read("req2.txt"), now=dev.now()))
    assert texts(dev, "AUTHORIZATION_INSTALL_FAILED")[-1].endswith(
        "Not enough licenses with authorization for currently configured features.")
    assert (repr(dev.authorizations()), dev.usage()) == before


def test_replace_refused_while_returned_licences_are_in_use(make_device, cssm):
    dev = make_device(platform="C8300-1N1S-6T")
    _cslu(dev, cssm)
    dev.authorization_request("add", "hseck9")
    dev.set_usage("hseck9", 1)
    with pytest.raises(DeviceError) as exc:
        dev.authorization_request("replace", "network-advantage_T2")
    assert exc.value.code == "invalidrequest" and "disable the corresponding features" in str(exc.value)


def test_c8500_cannot_return(make_device, cssm):
    dev = make_device(platform="C8500-12X")
    _cslu(dev, cssm)
    dev.authorization_request("add", "hseck9")
    with pytest.raises(DeviceError) as exc:
        dev.authorization_return(online=True)
    assert exc.value.code == "notsupported"
    assert dev.authorizations()


def test_c8000v_throughput_level_requests_slac(make_device, cssm):
    dev = make_device(platform="C8000V")
    dev.set_usage("network-advantage", 1)
    _cslu(dev, cssm)
    assert dev.set_throughput("1000").effective_kbps == 1000000                          # R39 auto SLAC
    assert dev.set_throughput("T1").effective_kbps == 100000
    assert dev.set_throughput("T4").effective_kbps is None                               # unthrottled
    with pytest.raises(DeviceError):
        dev.set_throughput("42")


def test_plr_request_install_return(make_device):
    dev = make_device(platform="C8000V", release="17.10.1a")
    with pytest.raises(DeviceError):
        dev.reservation_request()                                   # needs `license smart reservation`
    dev.apply_config({"reservation": True})
    request = dev.reservation_request()
    assert list(request.codes) == [f"PID:C8000V,SN:{dev.sn}"]
    [request_code] = request.codes.values()
    assert request_code.startswith(f"DB-ZC8000V:{dev.sn}-")
    code = Cssm.plr_authorization(request_code)
    assert len(code) == 58 and PLR_CODE_RE.match(code)
    with pytest.raises(DeviceError) as exc:
        dev.reservation_install(code[:-2] + ("aa" if code[-2:] != "aa" else "bb"))
    assert exc.value.code == "reservationmismatch"
    dev.set_usage("network-advantage", 1)
    dev.set_usage("hseck9", 1)
    dev.set_throughput("2500")
    dev.reservation_install(code)
    assert dev.throughput().effective_kbps == 2500000
    assert {u.status for u in dev.usage()} == {"IN USE"}
    assert dev.timers().ack_deadline is None                       # PLR needs no reporting (R50)
    result = dev.reservation_return()
    [ret] = result.codes.values()
    assert len(ret) == 38 and list(result.codes) == [dev.udi]
    assert dev.throughput().effective_kbps == 250000            # back to 250 Mbps (L9652)


def test_plr_only_on_c8000v_from_17_10(make_device):
    with pytest.raises(DeviceError):
        make_device(platform="C8000V", release="17.9.1a").apply_config({"reservation": True})
    with pytest.raises(DeviceError):
        make_device(device_id="x", platform="C8300-1N1S-6T", release="17.12.1a").apply_config({"reservation": True})


def test_migrated_slr_and_pak(make_device):
    slr = make_device(platform="C1111-8P", release="17.3.2")
    other = next(e.name for e in slr.profile.entitlements if not e.hseck9)
    slr.migrate_legacy("slr", {"hseck9": 1})
    assert slr.setting("transport") == "off" and slr.setting("reservation") is True
    [hsec] = slr.usage()
    assert hsec.export_status == "RESTRICTED - ALLOWED" and hsec.entitlement.tag == "ISR_1100_8P_Hsec"
    assert slr.policy_in_use().kind == "slr"
    # an SLR-migrated device needs its first ACK within 365 days (L3256, L3447), not 90
    assert slr.timers().ack_deadline == T0 + 365 * DAY
    assert texts(slr, "RESERVED_INSTALLED") == [
        f"Specific License Reservation Authorization code installed for udi PID:C1111-8P,SN:{slr.sn}"]
    slr.set_usage(other, 1)                                         # a change: perpetual, report on change 90
    assert slr.timers().ack_deadline == T0 + 90 * DAY
    pak = make_device(device_id="pak", platform="ISR4331/K9", release="17.3.2")
    pak.migrate_legacy("pak", {pak.profile.entitlements[0].name: 1})
    assert pak.setting("transport") == "cslu" and pak.authorizations()[pak.udi].kind == "pak"


def test_factory_reset_keeps_only_licences_in_use(make_device, cssm):
    dev = make_device(platform="C8300-1N1S-6T")
    _cslu(dev, cssm)
    dev.set_usage("network-advantage", 1)
    dev.authorization_request("add", "hseck9")
    dev.sync()
    dev.import_data(cssm.policy_file("SLE Policy", now=dev.now()))
    dev.advance_clock(2 * DAY)
    dev.factory_reset()
    assert dev.authorizations() == {} and dev.trust_codes() == {} and dev.account is None
    assert dev.policy_in_use().is_default
    assert [(u.entitlement.name, u.count) for u in dev.usage()] == [("network-advantage_250M", 1)]
    assert [r.state for r in dev.report_list()] == ["OPEN"]
    assert dev.timers().last_ack is None
    assert texts(dev, "POLICY_REMOVED") == ["The licensing policy has been removed."]
    assert texts(dev, "AUTHORIZATION_REMOVED")[-1].startswith("A licensing authorization code has been removed")
    dev.store.close()
    again = make_device(platform="C8300-1N1S-6T")
    assert [r.state for r in again.report_list()] == ["OPEN"]


def test_license_boot_level_applies_after_write_and_reload(make_device):
    dev = make_device(platform="C8000V")
    assert dev.boot_level() == ("network-advantage", "dna-advantage")          # the profile's default
    dev.set_boot_level("network-essentials", "dna-essentials")
    dev.reload()
    assert dev.usage() == []                                                    # not written yet
    dev.write_memory()
    dev.reload()
    assert sorted(u.entitlement.name for u in dev.usage()) == ["dna-essentials_250M", "network-essentials_250M"]
    dev.set_boot_level("network-advantage")
    dev.write_memory()
    dev.reload()
    assert [u.entitlement.name for u in dev.usage()] == ["network-advantage_250M"]
    with pytest.raises(DeviceError):
        dev.set_boot_level("ipbase")


def test_the_boot_level_row_declares_the_command_and_the_model_path():
    assert (BOOT_LEVEL.cli, BOOT_LEVEL.native, BOOT_LEVEL.native_addon) == (
        "license boot level", ("license", "boot", "level"), "addon")
    assert BOOT_LEVEL.cli_line("network-advantage", "dna-advantage") == \
        "license boot level network-advantage addon dna-advantage"
    assert BOOT_LEVEL.cli_line("appxk9", None) == "license boot level appxk9"
    assert BOOT_LEVEL.cli_line(None, None) is None
    assert BOOT_LEVEL.cli_commands(["network-advantage"], ["dna-advantage"]) == [
        "license boot level network-advantage:level",
        "license boot level network-advantage:level addon dna-advantage:addon",
        "no license boot level", "no license boot level LINE:rest"]
    assert BOOT_LEVEL.to_native("network-essentials", None) == {"network-essentials": {}}
    assert BOOT_LEVEL.from_native({"network-advantage": {"addon": "dna-advantage"}}) == (
        "network-advantage", "dna-advantage")
    assert BOOT_LEVEL.from_native({"appxk9": True}) == ("appxk9", None)
    assert BOOT_LEVEL.from_native({}) == (None, None)


def test_configure_sets_the_boot_level_in_the_one_write_path(make_device):
    """`Device.configure(boot_level=...)`: atomic with the other settings, checked in full (dry_run too), the
    refused input named (`DeviceError.field`) for the front-ends' error-path."""
    dev = make_device(platform="C8000V")
    dev.configure({"custom_id": "lab"}, boot_level=("network-essentials", "dna-essentials"), dry_run=True)
    assert dev.configured_boot_level() == (None, None) and dev.config.custom_id is None
    with pytest.raises(DeviceError) as exc:                    # a bad level refuses the whole change
        dev.configure({"custom_id": "lab"}, boot_level=("appxk9", None))
    assert (str(exc.value), exc.value.field) == ("% Unknown boot level 'appxk9'", "boot_level")
    with pytest.raises(DeviceError) as exc:
        dev.configure(boot_level=("network-essentials", "appxk9"))
    assert exc.value.field == "boot_addon"
    with pytest.raises(DeviceError) as exc:
        dev.configure({"usage_interval": 5000})
    assert exc.value.field == "usage_interval"
    assert dev.configured_boot_level() == (None, None) and dev.config.custom_id is None
    dev.configure({"custom_id": "lab"}, boot_level=("network-essentials", "dna-essentials"))
    assert dev.configured_boot_level() == ("network-essentials", "dna-essentials") and dev.config.custom_id == "lab"
    assert dev.boot_level() == ("network-essentials", "dna-essentials")
    dev.configure(boot_level=(None, None))                     # `no license boot level`
    assert dev.configured_boot_level() == (None, None)
    assert dev.boot_level() == ("network-advantage", "dna-advantage")


def test_c8000v_licence_follows_the_throughput_tier(make_device):
    dev = make_device(platform="C8000V")
    dev.set_usage("network-advantage", 1)
    dev.set_usage("dna-advantage", 1)
    dev.advance_clock(3600)
    dev.set_throughput("T2")
    assert sorted(u.entitlement.name for u in dev.usage()) == ["dna-advantage_T2", "network-advantage_T2"]
    ended = [r for r in dev.report_list() if r.feature.endswith("_250M")]
    assert [(r.state, r.reason, r.next_id) for r in ended] == [("CLOSED", "DECONFIG", 0)] * 2
    assert dev.throughput() == Throughput("T2", 250000, True)
    dev.set_throughput(None)                                     # `no platform hardware throughput level`
    assert sorted(u.entitlement.name for u in dev.usage()) == ["dna-advantage_250M", "network-advantage_250M"]
