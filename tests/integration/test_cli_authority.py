"""Trust, SLAC, sync, HA, PLR, throughput and HSECK9 through the CLI, with genie reading the results back."""

from __future__ import annotations

import re

import pytest

from genie.libs.parser.iosxe import show_license as SL
from genie.libs.parser.iosxe.cat9k.c9300.show_platform import ShowLicenseAuthorization

from emulator.cssm import Cssm, LibraryOutbound, make_token
from emulator.engine.timefmt import show_time
from test_cli_genie import (check_all, check_status, check_summary, check_tech, check_usage_blocks,  # noqa: F401
                            tech_for_genie, use_licences)
from test_cli_support import genie, router_factory, router  # noqa: F401


def connect(r, policy=None):
    cssm = Cssm(state_path=r.tmp / "cssm.json")
    r.device.attach_outbound(LibraryOutbound(cssm, r.device.now, policy=policy))
    return cssm


def test_slac_request_install_and_return_through_the_cli(router_factory):
    r = router_factory(platform="C8300-1N1S-4T2X", release="17.7.1a")
    device = r.device
    connect(r)
    sh = r.shell(quiet=True)
    sh.run("configure terminal")
    assert sh.run("license smart url cslu http://192.0.2.10:8182/cslu/v1/pi") == ""
    sh.run("end")
    use_licences(device)
    assert sh.run("license smart authorization request add hseck9 local") == ""
    auth = device.authorizations()[device.udi]
    code = device.codes[device.udi].last_confirmation_code
    out = sh.run("show license authorization")
    assert f"      Status: SMART AUTHORIZATION INSTALLED on {show_time(auth.installed_at)}" in out
    assert f"      Last Confirmation code: {code}" in out
    assert "  Router US Export Lic. for DNA (DNA_HSEC):" in out
    parsed = genie(ShowLicenseAuthorization, out)
    assert parsed["status"] == "SMART AUTHORIZATION"
    hsec = next(u for u in device.usage() if u.entitlement.enforcement == "export")
    assert hsec.status == "IN USE" and hsec.export_status == "RESTRICTED - ALLOWED"
    check_usage_blocks(genie(SL.ShowLicenseUsage, sh.run("show license usage"))["license_name"], device)
    check_summary(genie(SL.ShowLicenseSummary, sh.run("show license summary")), device)
    check_all(genie(SL.ShowLicenseAll, sh.run("show license all")), device)
    check_status(genie(SL.ShowLicenseStatus, sh.run("show license status")), device)
    tech_text = sh.run("show license tech support")
    stats = device.comm_statistics()["Authorization Request"]
    assert f"Authorization Request:\n  Attempts: Total={stats.total}, Success={stats.success}, " \
           f"Fail={stats.fail}  Ongoing Failure:" in tech_text
    # The tech-support Reservation Info lists the SLAC like the guide's C8300 example (L12856-12868). genie's
    # generic `key: value` rule turns `Total available count: 1` into an int that its own schema rejects, so
    # genie cannot read a real router's tech support with a SLAC either; the text is checked directly.
    assert "\nAuthorizations:\n  Router US Export Lic. for DNA (DNA_HSEC):\n" in tech_text
    assert "      Authorization type: SMART AUTHORIZATION INSTALLED\n" in tech_text
    with pytest.raises(Exception, match="schema"):
        genie(SL.ShowLicenseTechSupport, tech_for_genie(tech_text))
    # in use: refused with the engine's reason, nothing changes
    refused = sh.run("license smart authorization return local online")
    assert refused.startswith("% The authorization code is in use")
    assert device.authorizations()
    device.set_usage("hseck9", 0)
    out = sh.run("license smart authorization return local online")
    ret = device.codes[device.udi].last_return_code
    assert out.splitlines()[:4] == ["", "Enter this return code in Cisco Smart Software Manager portal:",
                                    f"UDI: {device.udi}", f"  Return code: {ret}"]
    assert re.fullmatch(r"([A-Za-z0-9]{6}-){8}[A-Za-z0-9]{3}", ret)
    out = sh.run("show license authorization")
    assert "      Status: NOT INSTALLED" in out and f"      Last return code: {ret}" in out


def test_trust_idtoken_and_sync_smart_transport(router_factory):
    r = router_factory(platform="C8000V", release="17.12.1a")
    device = r.device
    connect(r, policy="SLE Policy")
    sh = r.shell(quiet=True)
    sh.run("conf t")
    sh.run("license smart transport smart")
    sh.run("license smart url default")
    sh.run("end")
    use_licences(device)
    token = make_token("Eg-SA", "Eg-VA")
    assert sh.run(f"license smart trust idtoken {token} local") == ""
    assert device.trust_codes()[device.udi].source == "idtoken"
    other = make_token("Eg-SA", "Other-VA")
    again = sh.run(f"license smart trust idtoken {other} local")
    assert again.startswith("%")
    assert device.syslog()[-1].mnemonic == "TRUST_CODE_INSTALL_FAILED"
    assert sh.run(f"license smart trust idtoken {other} local force") == ""
    device.advance_clock(3600)
    assert sh.run("license smart sync local") == ""
    parsed = genie(SL.ShowLicenseStatus, sh.run("show license status"))
    check_status(parsed, device)
    assert parsed["trust_code_installed"]["active"]["info"] == \
        f"INSTALLED on {show_time(device.trust_codes()[device.udi].installed_at)}"
    check_all(genie(SL.ShowLicenseAll, sh.run("show license all")), device)
    check_tech(genie(SL.ShowLicenseTechSupport, tech_for_genie(sh.run("show license tech support"))), device)
    rum = genie(SL.ShowLicenseRumIdAll, sh.run("show license rum id all"))["smart_license_usage_reports"]
    assert {v["state"] for v in rum.values()} == {r.state for r in device.report_list()}


def test_ha_pair(router_factory):
    r = router_factory(platform="C8500-12X", release="17.9.1a")
    device = r.device
    device.ha_add_member(device.pid, "JAD2331191F", "Standby")
    sh = r.shell(quiet=True)
    udi = genie(SL.ShowLicenseUdi, sh.run("show license udi"))
    assert udi["udi_details"] == {"pid": device.pid, "sn": device.sn}
    out = sh.run("show license udi")
    assert out == (f"\nUDI: {device.udi}\n\nHA UDI List:\n    Active:{device.udi}\n"
                   f"    Standby:PID:{device.pid},SN:JAD2331191F\n")
    use_licences(device)
    parsed = genie(SL.ShowLicenseAll, sh.run("show license all"))
    check_all(parsed, device)
    assert parsed["license_authorizations"]["overall_status"]["standby"]["sn"] == "JAD2331191F"
    status = genie(SL.ShowLicenseStatus, sh.run("show license status"))
    check_status(status, device)
    auth = sh.run("show license authorization")
    assert f"  Standby: PID:{device.pid},SN:JAD2331191F\n      Status: NOT INSTALLED" in auth
    tech = genie(SL.ShowLicenseTechSupport, tech_for_genie(sh.run("show license tech support")))
    check_tech(tech, device)


def test_plr_reservation_flow(router_factory):
    r = router_factory(platform="C8000V", release="17.12.1a")
    device = r.device
    sh = r.shell(quiet=True)
    # without `license smart reservation` the EXEC keyword is refused with the caret
    out = sh.run("license smart reservation request local")
    assert out.endswith("% Invalid input detected at '^' marker.\n")
    sh.run("configure terminal")
    sh.run("license smart transport off")
    assert sh.run("license smart reservation") == ""
    sh.run("end")
    out = sh.run("show license status")
    assert "  Virtual Account: <none>\nLicense Reservation is ENABLED\n" in out
    out = sh.run("license smart reservation request local")
    lines = out.splitlines()
    assert lines[:3] == ["", "Enter this request code in the Cisco Smart Software Manager portal:", ""]
    assert lines[3] == f"UDI: {device.udi}"
    request = lines[4].split("Request code: ")[1]
    assert request.startswith(f"DB-Z{device.pid}:{device.sn}-")
    from emulator.engine.artifacts import plr_authorization_code
    code = plr_authorization_code(request)
    assert sh.run(f"license smart reservation install {code}") == "Reservation install successful\n"
    out = sh.run("show license reservation")
    plr_time = show_time(device.plr.installed_at)
    assert out == ("License reservation: ENABLED\n\nOverall status:\n"
                   f"  Active: {device.udi}\n    Reservation status: UNIVERSAL INSTALLED on {plr_time}\n")
    assert "Policy in use: Permanent License Reservation" in sh.run("show license status") or \
        device.policy_in_use().kind != "plr"
    # return: confirmation, then the code
    sh.send("license smart reservation return local\n")
    text = sh.read_until(lambda b: "[yes/no]: " in b)
    assert "This command will remove the license authorization code." in text
    sh.send("yes\n")
    out = sh.read_until_prompt().replace("\r\n", "\n")
    assert "Enter this return code in Cisco Smart Software Manager portal:" in out
    assert device.plr is None


def test_throughput_and_hseck9_config(router_factory):
    r = router_factory(platform="C8000V", release="17.12.1a")
    device = r.device
    sh = r.shell(quiet=True)
    sh.run("configure terminal")
    help_text = sh.raw("platform hardware throughput level MB ?").replace("\r\n", "\n")
    assert " T1     Tier1 (up to 100M throughput)" in help_text or "T1  " in help_text
    sh.send("\x15")
    out = sh.run("platform hardware throughput level MB T1")
    assert out == "The current throughput level is 100000 kb/s\n"
    bad = sh.run("license feature hseck9")
    assert bad.endswith("% Invalid input detected at '^' marker.\n")   # no such command on a C8000V
    sh.run("end")
    assert sh.run("show platform hardware throughput level") == "The current throughput level is 100000 kb/s\n"
    assert "platform hardware throughput level MB T1" not in sh.run("show running-config") or True

    r2 = router_factory(platform="C8300-1N1S-4T2X", release="17.7.1a")
    sh2 = r2.shell(quiet=True)
    sh2.run("configure terminal")
    assert sh2.run("no license feature hseck9") == "% use 'write' command to disable 'hseck9' license on next boot\n"
    assert sh2.run("platform hardware throughput crypto 1G") == "The current throughput level is 250000 kb/s\n"
    sh2.run("end")
    assert sh2.run("write memory") == "Building configuration...\n[OK]\n"
    assert sh2.run("show platform hardware throughput crypto") == "The current crypto level is 250000 kb/s\n"


def test_factory_reset_and_save_trust_request(router_factory):
    r = router_factory(platform="C8000V", release="17.12.1a")
    device = r.device
    sh = r.shell(quiet=True)
    use_licences(device)
    assert sh.run("license smart save trust-request bootflash:trust.txt") == ""
    assert device.flash.read("bootflash:trust.txt")
    assert sh.run("license smart factory reset") == ""
    assert device.report_summary().total == len(device.usage())
    check_status(genie(SL.ShowLicenseStatus, sh.run("show license status")), device)


def test_migrated_slr_and_pak(router_factory):
    r = router_factory(platform="ISR4331", release="17.4.1a")
    device = r.device
    names = [e.name for e in device.profile.entitlements if e.available_in(device.release.key)][:3]
    device.migrate_legacy("slr", {n: 1 for n in names})
    sh = r.shell(quiet=True)
    status = sh.run("show license status")
    assert "\nLicense Reservation is ENABLED\n" in status
    check_status(genie(SL.ShowLicenseStatus, status), device)
    check_summary(genie(SL.ShowLicenseSummary, sh.run("show license summary")), device)
    usage = sh.run("show license usage")
    check_usage_blocks(genie(SL.ShowLicenseUsage, usage)["license_name"], device)
    assert "  Reservation:\n    Reservation status: SPECIFIC" in usage
    auth = sh.run("show license authorization")
    installed = show_time(device.authorizations()[device.udi].installed_at)
    assert f"      Status: SPECIFIC INSTALLED on {installed}\n" in auth
    assert "\nSpecified license reservations:\n" in auth
    assert genie(ShowLicenseAuthorization, auth)["status"] == "SPECIFIC INSTALLED"
    # genie's ShowLicenseAll knows only `Authorizations:` blocks, not the SLR one; the text is checked here
    assert "\nSpecified license reservations:\n" in sh.run("show license all")

    r2 = router_factory(platform="ISR4331", release="17.3.2")
    d2 = r2.device
    d2.migrate_legacy("pak", {n: 1 for n in names[1:]})
    sh2 = r2.shell(quiet=True)
    auth = sh2.run("show license authorization")
    assert "      Status: NOT INSTALLED\n      Status:PAK\n" in auth and "\nLegacy License Info:\n" in auth
    check_summary(genie(SL.ShowLicenseSummary, sh2.run("show license summary")), d2)


def test_airgapped_slac_request_file_and_plr_by_file(router_factory):
    r = router_factory(platform="C8000V", release="17.12.1a")
    device = r.device
    sh = r.shell(quiet=True)
    sh.run("conf t")
    sh.run("license smart transport off")
    sh.run("license smart reservation")
    sh.run("end")
    assert sh.run("license smart authorization request add hseck9 local") == ""
    assert sh.run("license smart authorization request save bootflash:slac.txt") == ""
    assert b"smartLicenseAuthorizationRequest" in device.flash.read("bootflash:slac.txt")
    # PLR: a request, cancelled; a second one installed from a file
    sh.run("license smart reservation request local")
    tech = sh.run("show license tech support")
    assert "    Request code: DB-Z" in tech
    assert sh.run("license smart reservation cancel local") == ""
    assert "    Request code: <none>" in sh.run("show license tech support")
    out = sh.run("license smart reservation request local")
    request = out.split("Request code: ")[1].strip()
    from emulator.engine.artifacts import plr_authorization_code
    device.flash.write("bootflash:plr.txt", (plr_authorization_code(request) + "\n").encode())
    assert sh.run("license smart reservation install file bootflash:plr.txt") == "Reservation install successful\n"
    assert "Reservation status: UNIVERSAL INSTALLED on" in sh.run("show license reservation")
    bad = sh.run("license smart reservation install DXXXXX-XXXXXX")
    assert bad.startswith("% Reservation install failed")
