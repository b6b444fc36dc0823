"""Issue 14 #5: IOS's privilege model on every front-end. NETCONF and RESTCONF need privilege 15, file
transfer (SCP, SFTP) needs 15, EXEC commands follow their IOS level (user EXEC: show version, show clock,
terminal, enable, exit; everything else, every `show license` included, is privileged EXEC)."""

from __future__ import annotations

import sys
from pathlib import Path

import paramiko
import pytest
from ncclient import manager
from ncclient.operations import RPCError

from emulator.frontends.netconf import NetconfService
from emulator.frontends.netconf.server import NetconfServer
from test_cli_support import PASSWORD, USER, Shell, exec_command, router, router_factory  # noqa: F401
from test_hardening_flash import scp_upload, sftp_client

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "unit"))
from test_netconf_session import CSL, NC, Client as NcClient  # noqa: E402

LOW, LOW_PW = "oper", "operpw"


@pytest.fixture
def low_router(router):
    router.device.set_user(LOW, LOW_PW, 1)
    router.device.flash.write("bootflash:keep.txt", b"keep me\n")
    return router


def test_netconf_needs_privilege_15(make_device):
    device = make_device()
    server = NetconfServer(device)
    low = NcClient(server, privilege=1)
    revision = device.snapshot().revision
    for body in (f'<get><filter type="subtree"><licensing xmlns="{CSL}"><state/></licensing></filter></get>',
                 "<get-config><source><running/></source></get-config>",
                 f'<get-schema xmlns="urn:ietf:params:xml:ns:yang:ietf-netconf-monitoring">'
                 "<identifier>cisco-smart-license</identifier></get-schema>",
                 f'<create-subscription xmlns="urn:ietf:params:xml:ns:netconf:notification:1.0"/>',
                 "<lock><target><running/></target></lock>",
                 "<kill-session><session-id>99</session-id></kill-session>"):
        err = low.error(body, "access-denied", "application")
        assert err.findtext("{%s}error-message" % NC).startswith("user admin has privilege 1; NETCONF needs 15")
    assert device.snapshot().revision == revision
    low.ok("<close-session/>")
    admin = NcClient(server, privilege=15)
    admin.ok(f'<get><filter type="subtree"><licensing xmlns="{CSL}"><state/></licensing></filter></get>')


def test_netconf_over_ssh_refuses_a_privilege_1_user(tmp_path, make_device):
    device = make_device()
    device.set_user("admin", "admin", 15)
    device.set_user(LOW, LOW_PW, 1)
    svc = NetconfService(device, "127.0.0.1", 0, tmp_path / "nc").start()
    try:
        with manager.connect(host="127.0.0.1", port=svc.port, username=LOW, password=LOW_PW, hostkey_verify=False,
                             look_for_keys=False, allow_agent=False, timeout=20,
                             device_params={"name": "iosxe"}) as m:
            with pytest.raises(RPCError) as info:
                m.get(filter=("subtree", f'<licensing xmlns="{CSL}"><state/></licensing>'))
            assert info.value.tag == "access-denied"
    finally:
        svc.stop()


def test_file_transfer_needs_privilege_15(low_router):
    r = low_router
    client, sftp = sftp_client(r.port, LOW, LOW_PW)
    try:
        for attempt in (lambda: sftp.listdir("/bootflash"), lambda: sftp.open("/bootflash/keep.txt").read(),
                        lambda: sftp.open("/bootflash/new.txt", "w").write(b"x"),
                        lambda: sftp.remove("/bootflash/keep.txt"), lambda: sftp.stat("/bootflash/keep.txt")):
            with pytest.raises(PermissionError):
                attempt()
    finally:
        client.close()
    status, said = scp_upload(r.port, "bootflash:", "new.txt", b"x", LOW, LOW_PW)
    assert status == 1 and said == "\x01scp: %Error: file transfer needs privilege level 15\n"
    assert [n for n, _, _ in r.device.flash.listdir("bootflash")] == ["keep.txt"]
    assert r.device.flash.read("bootflash:keep.txt") == b"keep me\n"
    status, said = scp_upload(r.port, "bootflash:", "new.txt", b"x")            # admin may
    assert status == 0 and r.device.flash.read("bootflash:new.txt") == b"x"


@pytest.mark.parametrize("command", [
    "show license rum id all save bootflash:x.txt", "show license rum feature all save bootflash:x.txt",
    "show license status", "show license summary", "show license all", "show license usage",
    "show license tech support", "show platform software sl-infra all", "show ip http server session-module",
    "dir bootflash:", "more bootflash:keep.txt", "copy bootflash:keep.txt bootflash:x.txt",
    "delete /force bootflash:keep.txt", "configure terminal", "license smart sync local",
    "license smart save usage all file bootflash:x.txt", "write memory", "reload"])
def test_privileged_exec_commands_are_invalid_at_privilege_1(low_router, command):
    r = low_router
    revision = r.device.snapshot().revision
    out = exec_command(r.port, command, LOW, LOW_PW)
    assert out.endswith("% Invalid input detected at '^' marker.\n"), out
    assert r.device.snapshot().revision == revision
    assert [n for n, _, _ in r.device.flash.listdir("bootflash")] == ["keep.txt"]


def test_user_exec_commands_and_enable(low_router):
    r = low_router
    assert "Cisco IOS XE Software" in exec_command(r.port, "show version", LOW, LOW_PW)
    sh = Shell(r.port, user=LOW, password=LOW_PW)
    try:
        assert sh.prompt == "Router>"
        assert sh.run("terminal length 0") == ""
        assert sh.run("show license status").endswith("% Invalid input detected at '^' marker.\n")
        sh.send("enable\n")
        sh.read_until(lambda b: b.endswith("Password: "))
        sh.send(f"{PASSWORD}\n")
        sh.last = sh.read_until_prompt()
        assert sh.prompt == "Router#"
        assert "Smart Licensing Using Policy:" in sh.run("show license status")
        sh.run("configure terminal")
        assert sh.run("license smart privacy hostname") == ""           # privilege 15 once enabled
        sh.run("end")
        assert r.device.setting("privacy_hostname") is True
        sh.run("disable")
        assert sh.prompt == "Router>"
        assert sh.run("show license status").endswith("% Invalid input detected at '^' marker.\n")
    finally:
        sh.close()
