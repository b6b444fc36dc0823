"""The shell as people and scripts use it: modes, abbreviations, help, IOS errors, `no` forms, users,
syslog on the terminal, paging, exec requests, SCP/SFTP, concurrent sessions, and guide examples."""

from __future__ import annotations

import os
import shutil
import subprocess
import threading
import time
from datetime import datetime, timezone

import paramiko
import pytest

from emulator.cssm import Cssm
from emulator.engine import Clock, Device, Flash
from emulator.frontends.cli import CliServer
from emulator.store import Store
from test_cli_genie import use_licences
from test_cli_support import PASSWORD, USER, Shell, exec_command, import_ack, router_factory, router  # noqa: F401


# ---------------------------------------------------------------------------------------------- parser
def test_abbreviations_and_ios_errors(router):
    sh = router.shell(quiet=True)
    assert sh.run("sh lic sum") == sh.run("show license summary")
    assert sh.run("sh lic udi") == f"\nUDI: {router.device.udi}\n"
    prompt = "Router#"
    out = sh.run("sh lic foo")
    assert out == " " * (len(prompt) + len("sh lic ")) + "^\n% Invalid input detected at '^' marker.\n"
    assert sh.run("show license tech") == "% Incomplete command.\n"
    assert sh.run("di") == '% Ambiguous command:  "di"\n'
    assert sh.run("show license eventlog 99999999999") .endswith("% Invalid input detected at '^' marker.\n")
    assert sh.run("") == ""


def test_question_mark_help(router):
    sh = router.shell(quiet=True)
    sh.send("show license ?")
    text = sh.read_until(lambda b: b.rstrip().endswith("Router#show license")).replace("\r\n", "\n")
    assert "  summary        Show license summary\n" in text
    assert "  tech           Show license tech information\n" in text
    sh.send("\x15")                                 # Ctrl-U clears the redisplayed line
    sh.send("show license s?")
    text = sh.read_until(lambda b: b.endswith("Router#show license s")).replace("\r\n", "\n")
    assert "status  summary" in text
    sh.send("\x15")
    assert router.exec("show license udi ?") == "  <cr>  <cr>\n\n"
    sh.run("configure terminal")
    sh.send("license smart transport ?")
    text = sh.read_until(lambda b: b.endswith("(config)#license smart transport ")).replace("\r\n", "\n")
    for kw in ("automatic", "callhome", "cslu", "off", "smart"):
        assert f"  {kw}" in text
    sh.send("\x15")
    sh.run("end")


def test_modes_prompts_and_end(router):
    sh = router.shell(quiet=True)
    assert sh.run("configure terminal") == "Enter configuration commands, one per line.  End with CNTL/Z.\n"
    assert sh.prompt == "Router(config)#"
    sh.run("line vty 0 4")
    assert sh.prompt == "Router(config-line)#"
    sh.run("exit")
    assert sh.prompt == "Router(config)#"
    sh.run("hostname R2")
    assert sh.prompt == "R2(config)#" and router.device.hostname == "R2"
    assert sh.run("do show license udi") == f"\nUDI: {router.device.udi}\n"
    sh.send("\x1a")                                   # Ctrl-Z
    sh.read_until_prompt()
    sh.raw("")
    assert sh.prompt == "R2#"
    sh.run("conf t")
    sh.run("no hostname")
    sh.run("end")
    assert sh.prompt == "Router#"


def test_no_forms_reach_the_engine_and_running_config(router):
    d = router.device
    sh = router.shell(quiet=True)
    sh.run("conf t")
    for cmd in ("license smart transport smart", "license smart url smart https://smartreceiver.cisco.com/licservice/license",
                "license smart privacy version", "license smart usage interval 20",
                "license smart usage customer-tags tag1 SA/VA:01", "license smart proxy address 192.0.2.1",
                "license smart proxy port 3128", "license smart vrf SLP_VRF", "no license smart server-identity-check",
                "ip http server", "no restconf"):
        assert sh.run(cmd) == "", cmd
    assert (d.setting("transport"), d.setting("privacy_version"), d.setting("usage_interval"), d.setting("customer_tag1"), d.setting("vrf")) == \
        ("smart", True, 20, "SA/VA:01", "SLP_VRF")
    assert d.system.ip_http_server is True and d.system.restconf is False
    sh.run("end")
    run = sh.run("show running-config")
    for line in ("license smart transport smart",
                 "license smart url smart https://smartreceiver.cisco.com/licservice/license",
                 "license smart url https://smartreceiver.cisco.com/licservice/license",
                 "license smart privacy version", "license smart usage interval 20",
                 "license smart usage customer-tags tag1 SA/VA:01", "license smart proxy address 192.0.2.1",
                 "license smart proxy port 3128", "license smart vrf SLP_VRF",
                 "no license smart server-identity-check", "ip http server", f"username {USER} privilege 15 password 0 {PASSWORD}"):
        assert f"\n{line}\n" in run, line
    assert "\nrestconf\n" not in run and "\nnetconf-yang\n" in run
    sh.run("conf t")
    for cmd in ("no license smart transport", "no license smart url smart",
                "no license smart url https://smartreceiver.cisco.com/licservice/license", "no license smart privacy version",
                "no license smart usage interval", "no license smart usage customer-tags tag1",
                "no license smart proxy address", "no license smart proxy port", "no license smart vrf",
                "license smart server-identity-check", "no ip http server", "restconf"):
        assert sh.run(cmd) == "", cmd
    sh.run("end")
    assert (d.setting("transport"), d.setting("privacy_version"), d.setting("usage_interval"), d.setting("customer_tag1"), d.setting("vrf"),
            d.setting("proxy_address"), d.setting("proxy_port"), d.setting("server_identity_check")) == \
        ("cslu", False, None, None, None, None, None, True)
    assert "license smart" not in sh.run("show running-config | include license smart")
    # refusals print the engine's message and change nothing
    sh.run("conf t")
    before = d.config
    assert sh.run("license smart url default").startswith("%") is False or d.config == before
    assert sh.run("license smart conversion automatic").endswith("% Invalid input detected at '^' marker.\n")
    sh.run("end")


def test_users_enable_and_public_key_login(router, tmp_path):
    sh = router.shell(quiet=True)
    sh.run("conf t")
    assert sh.run("username bob privilege 1 password 0 bobpw") == ""
    sh.run("end")
    assert router.device.check_password("bob", "bobpw") == 1
    bob = Shell(router.port, user="bob", password="bobpw")
    try:
        assert bob.prompt == "Router>"
        assert bob.run("configure terminal").endswith("% Invalid input detected at '^' marker.\n")
        bob.send("enable\n")
        bob.read_until(lambda b: b.endswith("Password: "))
        bob.send(f"{PASSWORD}\n")
        bob.last = bob.read_until_prompt()
        assert bob.prompt == "Router#"
    finally:
        bob.close()
    with pytest.raises(paramiko.AuthenticationException):
        Shell(router.port, user="bob", password="wrong")
    key = paramiko.ECDSAKey.generate(bits=256)
    (router.tmp / "authorized_keys").write_text(f"{key.get_name()} {key.get_base64()} {USER}\n")
    client = paramiko.SSHClient()
    client.set_missing_host_key_policy(paramiko.AutoAddPolicy())
    client.connect("127.0.0.1", router.port, USER, pkey=key, look_for_keys=False, allow_agent=False, timeout=10)
    _, out, _ = client.exec_command("show license udi", timeout=10)
    assert out.read().decode().replace("\r\n", "\n") == f"\nUDI: {router.device.udi}\n"
    client.close()
    sh.run("conf t")
    sh.run("no username bob")
    sh.run("end")
    assert "bob" not in router.device.users


def test_host_key_persists(tmp_path):
    store = Store(tmp_path / "db")
    device = Device.create_or_load(store, "d", Flash(tmp_path / "flash"), clock=Clock(frozen_at=1704067200.0))
    keys = []
    for _ in range(2):
        server = CliServer(device, port=0, state_dir=tmp_path).start()
        keys.append(server.ssh.host_key.get_fingerprint())
        server.stop()
    store.close()
    assert keys[0] == keys[1]
    assert oct((tmp_path / "ssh_host_ecdsa_key").stat().st_mode & 0o777) == "0o600"


# ---------------------------------------------------------------------------------------------- terminal
def test_syslog_on_terminal_and_terminal_monitor(router):
    d = router.device
    use_licences(d)
    console = router.shell()                           # logging console is on by default
    console.run("terminal length 0")
    out = import_ack(router, console)
    lines = out.splitlines()
    assert lines[0] == "Import Data Successful"
    assert any("%SIP-1-LICENSING: SIP service is Up. License report acknowledged." in ln for ln in lines[1:])
    assert all(ln.startswith("*") for ln in lines[1:])
    other = router.shell(quiet=True)                  # `no logging console` now; no terminal monitor
    console.run("terminal monitor")
    d.advance_clock(86400)
    assert import_ack(router, other) == "Import Data Successful\n"
    text = console.raw("").replace("\r\n", "\n")       # the monitor session shows the messages
    deadline = time.monotonic() + 5
    while "%SIP-1-LICENSING" not in text and time.monotonic() < deadline:
        text += console.raw("").replace("\r\n", "\n")
    assert "%SIP-1-LICENSING" in text


def test_exec_prompt_timestamp_and_paging(router):
    sh = router.shell()
    sh.run("configure terminal")
    sh.run("no logging console")
    sh.run("line vty 0 4")
    sh.run("exec prompt timestamp")
    sh.run("end")
    out = sh.run("show license udi")
    assert out.startswith("Load for five secs: 1%/0%; one minute: 0%; five minutes: 0%\n"
                          "No time source, *00:00:00.000 UTC Mon Jan 01 2024\n\n")
    sh.run("terminal no exec prompt timestamp")
    sh.run("terminal length 10")
    sh.send("show license status\n")
    first = sh.read_until(lambda b: "--More--" in b)
    assert first.count("\r\n") <= 11
    sh.send(" ")
    sh.read_until(lambda b: "--More--" in b)
    sh.send("q")
    sh.read_until(lambda b: b.endswith("Router#"))


def test_exec_requests(router):
    assert router.exec("show license udi") == f"\nUDI: {router.device.udi}\n"
    assert router.exec("show clock") == "*00:00:00.000 UTC Mon Jan 01 2024\n"
    assert router.exec("sh lic nonsense").endswith("% Invalid input detected at '^' marker.\n")
    assert "Cisco IOS XE Software, Version 17.12.01a" in router.exec("show version")


def test_two_concurrent_sessions(router):
    a, b = router.shell(quiet=True), router.shell(quiet=True)
    a.run("conf t")
    a.run("hostname EDGE1")
    b.raw("")
    assert b.prompt == "EDGE1#"
    results, errors = {}, []

    def work(name, sh, cmd):
        try:
            results[name] = [sh.run(cmd) for _ in range(5)]
        except Exception as exc:      # pragma: no cover - reported below
            errors.append(exc)
    a.run("end")
    threads = [threading.Thread(target=work, args=("a", a, "show license status")),
               threading.Thread(target=work, args=("b", b, "show license tech support"))]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert not errors
    assert len(set(results["a"])) == 1 and "Smart Licensing Using Policy:" in results["a"][0]
    assert "Smart Licensing Tech Support info" in results["b"][0]


def test_config_lock_held_by_netconf_refuses_configure(router):
    d = router.device
    if not hasattr(d, "lock_config"):
        pytest.skip("engine without a configuration lock")
    sh = router.shell(quiet=True)
    assert d.lock_config("NETCONF session 7") is None
    try:
        out = sh.run("configure terminal")
        assert out.startswith("% Configuration mode is locked by NETCONF session 7")
        assert sh.prompt == "Router#"
    finally:
        d.unlock_config("NETCONF session 7")
    assert sh.run("configure terminal").startswith("Enter configuration commands")
    sh.run("end")


# ---------------------------------------------------------------------------------------------- files
def scp_upload(port: int, path: str, name: str, data: bytes) -> int:
    client = paramiko.SSHClient()
    client.set_missing_host_key_policy(paramiko.AutoAddPolicy())
    client.connect("127.0.0.1", port, USER, PASSWORD, look_for_keys=False, allow_agent=False, timeout=10)
    try:
        chan = client.get_transport().open_session(timeout=10)
        chan.settimeout(10)
        chan.exec_command(f"scp -t {path}")
        assert chan.recv(1) == b"\0"
        chan.sendall(f"C0644 {len(data)} {name}\n".encode())
        assert chan.recv(1) == b"\0"
        chan.sendall(data + b"\0")
        assert chan.recv(1) == b"\0"
        chan.shutdown_write()
        return chan.recv_exit_status()
    finally:
        client.close()


def scp_download(port: int, path: str) -> bytes:
    client = paramiko.SSHClient()
    client.set_missing_host_key_policy(paramiko.AutoAddPolicy())
    client.connect("127.0.0.1", port, USER, PASSWORD, look_for_keys=False, allow_agent=False, timeout=10)
    try:
        chan = client.get_transport().open_session(timeout=10)
        chan.settimeout(10)
        chan.exec_command(f"scp -f {path}")
        chan.sendall(b"\0")
        header = b""
        while not header.endswith(b"\n"):
            header += chan.recv(1)
        size = int(header.split()[1])
        chan.sendall(b"\0")
        data = b""
        while len(data) < size + 1:
            data += chan.recv(size + 1 - len(data))
        chan.sendall(b"\0")
        return data[:size]
    finally:
        client.close()


def test_scp_and_sftp_round_trip_with_import(router):
    d = router.device
    use_licences(d)
    sh = router.shell(quiet=True)
    assert sh.run("license smart save usage unreported file bootflash:usage.txt") == ""
    usage = scp_download(router.port, "bootflash:usage.txt")           # a controller fetches the usage file
    assert usage == d.flash.read("bootflash:usage.txt")
    ack = Cssm().process_usage(usage, now=d.now()).encode()
    assert scp_upload(router.port, "bootflash:", "ack.txt", ack) == 0   # ... and copies the ACK back
    listing = sh.run("dir bootflash:")
    assert "ack.txt" in listing and "usage.txt" in listing
    assert sh.run("license smart import bootflash:ack.txt") == "Import Data Successful\n"
    assert d.timers().last_ack == d.now()
    # SFTP on the same port
    t = paramiko.Transport(("127.0.0.1", router.port))
    t.connect(username=USER, password=PASSWORD)
    sftp = paramiko.SFTPClient.from_transport(t)
    try:
        assert {"bootflash", "harddisk"} <= set(sftp.listdir("/"))
        assert "ack.txt" in sftp.listdir("/bootflash")
        with sftp.open("/bootflash/usage.txt") as f:
            assert f.read() == usage
        with sftp.open("/bootflash/policy.txt", "w") as f:
            f.write(Cssm().policy_file("SLE Policy", now=d.now()))
        sftp.remove("/bootflash/ack.txt")
    finally:
        sftp.close()
        t.close()
    assert sh.run("license smart import bootflash:policy.txt") == "Import Data Successful\n"
    assert d.policy_in_use().name == "SLE Policy"
    assert "ack.txt" not in sh.run("dir bootflash:")
    assert sh.run("more bootflash:usage.txt").startswith(usage.decode()[:40])
    sh.send("delete bootflash:usage.txt\n")
    sh.read_until(lambda b: b.endswith("? "))
    sh.send("\n")
    sh.read_until(lambda b: b.endswith("[confirm]"))
    sh.send("\n")
    sh.last = sh.read_until_prompt()
    assert "usage.txt" not in sh.run("dir bootflash:")
    assert sh.run("more bootflash:usage.txt") == "%Error opening bootflash:usage.txt (No such file or directory)\n"


@pytest.mark.skipif(shutil.which("scp") is None or shutil.which("ssh-keygen") is None, reason="no OpenSSH client")
def test_openssh_scp_with_public_key(router, tmp_path):
    key = tmp_path / "id_ed25519"
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(key)], check=True, timeout=30)
    (router.tmp / "authorized_keys").write_text(key.with_suffix(".pub").read_text().rsplit(" ", 1)[0] + "\n")
    src = tmp_path / "ack.txt"
    src.write_text("hello flash\n")
    opts = ["-o", "StrictHostKeyChecking=no", "-o", "UserKnownHostsFile=/dev/null", "-o", "BatchMode=yes",
            "-o", "LogLevel=ERROR", "-i", str(key), "-P", str(router.port)]
    for legacy in (["-O"], []):                       # legacy SCP protocol, then SCP over SFTP
        router.device.flash.write("bootflash:placeholder", b"")
        subprocess.run(["scp", *legacy, *opts, str(src), f"{USER}@127.0.0.1:bootflash:copied.txt"],
                       check=True, timeout=30, capture_output=True)
        assert router.device.flash.read("bootflash:copied.txt") == b"hello flash\n"
        back = tmp_path / "back.txt"
        subprocess.run(["scp", *legacy, *opts, f"{USER}@127.0.0.1:bootflash:copied.txt", str(back)],
                       check=True, timeout=30, capture_output=True)
        assert back.read_text() == "hello flash\n"
        router.device.flash.delete("bootflash:copied.txt")


def test_write_memory_and_copy(router):
    sh = router.shell(quiet=True)
    assert sh.run("write memory") == "Building configuration...\n[OK]\n"
    sh.send("copy running-config startup-config\n")
    sh.read_until(lambda b: b.endswith("Destination filename [startup-config]? "))
    sh.send("\n")
    out = sh.read_until_prompt().replace("\r\n", "\n")
    assert "Building configuration...\n[OK]\n" in out
    assert exec_command(router.port, "copy running-config startup-config") == "Building configuration...\n[OK]\n"


# ---------------------------------------------------------------------------------------------- guide examples
def test_guide_running_config_include_tag1(router):
    """L10545-10548, verbatim."""
    sh = router.shell(quiet=True)
    sh.run("configure terminal")
    sh.run("license smart usage customer-tags tag1 SA/VA:01")
    sh.run("exit")
    assert sh.run("show running-config | include tag1") == "license smart usage customer-tags tag1 SA/VA:01\n"


def test_guide_show_license_udi_isr4331(router_factory):
    """L13018-13022: `UDI: PID:ISR4331/K9,SN:FDO224917Q6` (after the usual blank line)."""
    r = router_factory(platform="ISR4331", release="17.3.2")
    r.device  # noqa: B018
    assert "UDI: PID:ISR4331/K9,SN:" in r.exec("show license udi")


def test_guide_c8300_status_first_half(tmp_path):
    """show license status, C8300 17.7.1a (L12234-12266): the part the PDF left intact, rendered from a
    device whose policy was installed Dec 03 08:23:45 2021 and whose last ACK carried the account at
    15:26:02, as in the example."""
    t_policy = datetime(2021, 12, 3, 8, 23, 45, tzinfo=timezone.utc).timestamp()
    t_account = datetime(2021, 12, 3, 15, 26, 2, tzinfo=timezone.utc).timestamp()
    store = Store(tmp_path / "db")
    device = Device.create_or_load(store, "d", Flash(tmp_path / "flash"), platform="C8300-1N1S-4T2X",
                                   release="17.7.1a", clock=Clock(frozen_at=t_policy - 3600))
    device.set_user(USER, PASSWORD, 15)
    server = CliServer(device, port=0, state_dir=tmp_path).start()
    try:
        device.set_usage("hseck9", 1)
        device.apply_config({"transport": "smart", "url_smart": "https://smartreceiver.cisco.com/licservice/license"})
        cssm = Cssm()
        for when, policy in ((t_policy, "SLE Policy"), (t_account, None)):
            device.set_clock(when)
            device.save_usage("all", "bootflash:u.txt")
            device.flash.write("bootflash:a.txt",
                               cssm.process_usage(device.flash.read("bootflash:u.txt"), now=when, policy=policy).encode())
            device.import_file("bootflash:a.txt")
        out = exec_command(server.port, "show license status")
    finally:
        server.stop()
        store.close()
    expected = """
Utility:
  Status: DISABLED

Smart Licensing Using Policy:
  Status: ENABLED

Account Information:
  Smart Account: Eg-SA As of Dec 03 15:26:02 2021 UTC
  Virtual Account: Eg-VA

Data Privacy:
  Sending Hostname: yes
    Callhome hostname privacy: DISABLED
    Smart Licensing hostname privacy: DISABLED
  Version privacy: DISABLED

Transport:
  Type: Smart
  URL: https://smartreceiver.cisco.com/licservice/license
  Proxy:
    Not Configured
  VRF:
    Not Configured

Policy:
  Policy in use: Installed On Dec 03 08:23:45 2021 UTC
  Policy name: SLE Policy
  Reporting ACK required: yes (Customer Policy)
  Unenforced/Non-Export Perpetual Attributes:
    First report requirement (days): 30 (Customer Policy)
    Reporting frequency (days): 60 (Customer Policy)
    Report on change (days): 60 (Customer Policy)
  Unenforced/Non-Export Subscription Attributes:
    First report requirement (days): 120 (Customer Policy)
    Reporting frequency (days): 111 (Customer Policy)
    Report on change (days): 111 (Customer Policy)
  Enforced (Perpetual/Subscription) License Attributes:
    First report requirement (days): 30 (Customer Policy)
    Reporting frequency (days): 90 (Customer Policy)
    Report on change (days): 60 (Customer Policy)
  Export (Perpetual/Subscription) License Attributes:
    First report requirement (days): 30 (Customer Policy)
    Reporting frequency (days): 30 (Customer Policy)
    Report on change (days): 30 (Customer Policy)

Miscellaneous:
  Custom Id: <empty>
"""
    assert out.startswith(expected)


def test_guide_hseck9_and_throughput_messages(router_factory):
    """L8676-8678 and L8794, verbatim."""
    r = router_factory(platform="C8300-1N1S-4T2X", release="17.7.1a")
    sh = r.shell(quiet=True)
    sh.run("configure terminal")
    assert sh.run("no license feature hseck9") == "% use 'write' command to disable 'hseck9' license on next boot\n"
    sh.run("end")
    r2 = router_factory(platform="C8000V", release="17.12.1a")
    sh2 = r2.shell(quiet=True)
    sh2.run("configure terminal")
    assert sh2.run("platform hardware throughput level MB T1") == "The current throughput level is 100000 kb/s\n"


# ---------------------------------------------------------------------------------------------- other commands
def test_other_show_commands(router):
    d = router.device
    use_licences(d)
    sh = router.shell(quiet=True)
    assert sh.run("show license data conversion") == (
        "Smart Licensing Data - Conversion\n" + "=" * 33 + "\n" + "=" * 33 + "\n")
    assert "sl-infra Current Information" in sh.run("show platform software sl-infra all")
    modules = sh.run("show ip http server session-module")
    assert "SL_HTTP" in modules and "Active" in modules
    log = sh.run("show logging")
    assert d.syslog()[-1].line() in log
    feature = d.report_list()[0].feature
    simple = sh.run(f"show license rum feature {feature}")
    assert simple.startswith("Smart Licensing Usage Report:\n====================================\n"
                             "Report Id,          State,    Flag, Feature Name\n")
    assert all(line.rstrip().endswith(feature) for line in simple.splitlines()[3:])
    assert sh.run("show license rum feature all save bootflash:rum.txt") == ""
    assert d.flash.read("bootflash:rum.txt").decode() == sh.run("show license rum feature all")
    tech = sh.run(f"show license tech rum id {d.report_list()[0].id} detail")
    assert "  Version: 2.0\n" in tech and "Storage State Change Reason:" in tech and "Report Size:" in tech
    assert sh.run("license smart clear eventlog") == ""
    assert sh.run("show license eventlog") == " No EventLog Found.\n"
    sh.run("conf t")
    assert sh.run("platform hardware throughput level MB 1000") .startswith("The current throughput level is")
    sh.run("end")
    assert "\nplatform hardware throughput level MB 1000\n" in sh.run("show running-config")
    version = sh.run("show version")
    assert version.startswith(f"Cisco IOS XE Software, Version {d.release.display}\n")
    assert "Smart Licensing Status: Smart Licensing Using Policy" in version


def test_utility_mode_through_the_cli(router_factory):
    from genie.libs.parser.iosxe import show_license as SL
    from test_cli_genie import check_status
    from test_cli_support import genie
    r = router_factory(platform="C8000V", release="17.9.1a")
    sh = r.shell(quiet=True)
    sh.run("conf t")
    assert sh.run("license smart transport cslu") == ""
    assert sh.run("license smart utility") == ""
    assert sh.run("license smart utility customer_info city San Jose") == ""
    sh.run("end")
    assert r.device.setting("utility_enabled") and r.device.setting("customer_info_city") == "San Jose"
    out = sh.run("show license status")
    assert "Utility:\n  Status: ENABLED\n" in out and "    City: San Jose\n" in out
    check_status(genie(SL.ShowLicenseStatus, out), r.device)
    assert "license smart utility customer_info city San Jose" in sh.run("show running-config | include utility")
    sh.run("conf t")
    sh.run("no license smart utility")
    sh.run("end")
    assert not r.device.setting("utility_enabled")
    # a release without utility mode does not offer the keyword
    r2 = router_factory(platform="C8000V", release="17.6.1a")
    sh2 = r2.shell(quiet=True)
    sh2.run("conf t")
    assert sh2.run("license smart utility").endswith("% Invalid input detected at '^' marker.\n")



def test_license_boot_level(router):
    sh = router.shell(quiet=True)
    sh.run("configure terminal")
    out = sh.run("license boot level network-essentials addon dna-essentials")
    assert out == "% use 'write' command to make license boot config take effect on next boot\n"
    sh.run("end")
    assert "license boot level network-essentials addon dna-essentials\n" in router.exec("show running-config")
    sh.run("write memory")
    version = router.exec("show version")
    assert "License Level: network-advantage\n" in version and "Next reload license Level: network-essentials\n" in version
    router.device.reload()
    version = router.exec("show version")
    assert "License Level: network-essentials\n" in version and "Addon License Level: dna-essentials\n" in version
    assert sorted(u.entitlement.name for u in router.device.usage()) == ["dna-essentials_250M",
                                                                        "network-essentials_250M"]


def test_cli_refuses_what_other_channels_refuse(router):
    """Issue 9: a value with a character XML cannot hold (U+FFFE, U+FFFF) is refused by the engine for the
    CLI as for NETCONF and RESTCONF, and a number far past its bound is `% Invalid input` (the parser never
    converts more digits than the bound has; the line itself is capped at IOS's 4,096 characters); the
    session goes on and nothing changed."""
    sh = router.shell(quiet=True)
    d = router.device
    sh.run("configure terminal")
    for line in ("license smart custom_id bad\ufffevalue", "license smart usage customer-tags tag1 x\uffffy",
                 "hostname r\ufffe1"):
        out = sh.run(line)
        assert out.startswith("% Invalid") and "character XML cannot carry" in out, (line, out)
    out = sh.run("license smart usage interval " + "9" * 60)
    assert out.endswith("% Invalid input detected at '^' marker.\n")
    sh.run("end")
    assert (d.config.custom_id, d.config.customer_tag1, d.config.usage_interval, d.hostname) == (
        None, None, None, "Router")
    assert "License Usage:" in sh.run("show license summary")
