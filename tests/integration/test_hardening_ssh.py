"""Issue 14 #4 and #11 (SSH side): silent or banner-only connections cost no slot and time out quickly, a
real client logs in while 200 silent connections are open, channels per connection and sessions per user
are capped, bare connects log one line at most, IOS's login block-for / login delay work with their
syslogs, the algorithms offered are IOS XE 17.x's (and `ip ssh server algorithm` changes them), and NETCONF
sessions have an idle timeout and a per-message deadline."""

from __future__ import annotations

import logging
import socket
import statistics
import time

import paramiko
import pytest
from ncclient import manager

from emulator.frontends.netconf import NetconfService
from emulator.frontends.netconf.framing import frame_eom
from test_cli_support import PASSWORD, USER, exec_command, router, router_factory  # noqa: F401

CSL = "http://cisco.com/ns/yang/cisco-smart-license"
NC = "urn:ietf:params:xml:ns:netconf:base:1.0"
HELLO = (f'<hello xmlns="{NC}"><capabilities><capability>urn:ietf:params:netconf:base:1.0</capability>'
         "</capabilities></hello>").encode()


@pytest.fixture
def netconf(make_device, tmp_path):
    device = make_device()
    device.set_user("admin", "admin", 15)
    svc = NetconfService(device, "127.0.0.1", 0, tmp_path / "nc").start()
    yield svc
    svc.stop()


def nc_get(port: int) -> float:
    """Seconds for an ncclient login + filtered <get> + close."""
    t = time.monotonic()
    with manager.connect(host="127.0.0.1", port=port, username="admin", password="admin", hostkey_verify=False,
                         look_for_keys=False, allow_agent=False, timeout=20, device_params={"name": "iosxe"}) as m:
        m.get(filter=("subtree", f'<licensing xmlns="{CSL}"><state><version/></state></licensing>'))
    return time.monotonic() - t


def connect_from(port: int, source: str) -> socket.socket:
    return socket.create_connection(("127.0.0.1", port), timeout=10, source_address=(source, 0))


def still_open(socks) -> int:
    n = 0
    for s in socks:
        s.setblocking(False)
        try:
            n += 0 if s.recv(1) == b"" else 1
        except BlockingIOError:
            n += 1
        except OSError:
            pass
    return n


def transport_to(port: int, host: str = "127.0.0.1", **options) -> paramiko.Transport:
    t = paramiko.Transport(socket.create_connection((host, port), timeout=10))
    sec = t.get_security_options()
    for name, value in options.items():
        setattr(sec, name, value)
    t.start_client(timeout=10)
    return t


# ============================================================================================ #4 slots

def test_a_real_client_logs_in_while_200_silent_connections_are_open(netconf, figures):
    port = netconf.port
    nc_get(port)                                              # warm up (the session's first renders)
    idle = statistics.median(nc_get(port) for _ in range(5))
    silent = [connect_from(port, f"127.0.0.{2 + i // 50}") for i in range(200)]
    try:
        time.sleep(0.5)
        loaded = statistics.median(nc_get(port) for _ in range(5))
        assert still_open(silent) == 200
    finally:
        for s in silent:
            s.close()
    figures["netconf_silent_connections"] = {"connections": 200, "idle_median_ms": round(idle * 1000, 1),
                                             "loaded_median_ms": round(loaded * 1000, 1),
                                             "ratio": round(loaded / idle, 2)}
    assert loaded < 3 * idle, (idle, loaded)


def test_the_server_sends_its_identification_string_first(netconf):
    """Clients that wait for the server's identification string before sending theirs (banner grabbers,
    health checks, some SSH libraries) get it at once, and the connection then works as usual."""
    s = socket.create_connection(("127.0.0.1", netconf.port), timeout=5)
    started = time.monotonic()
    banner = s.recv(256)
    assert banner == b"SSH-2.0-Cisco-1.25\r\n" and time.monotonic() - started < 1.0
    s.sendall(b"SSH-2.0-Waiting_Client\r\n")
    packet = b""
    while len(packet) < 6:
        packet += s.recv(4096)
    assert packet[5] == 20                                    # then the key exchange: SSH_MSG_KEXINIT
    s.close()
    assert nc_get(netconf.port) < 5                           # and a client that speaks first is served


def test_silent_and_banner_only_connections_time_out(netconf):
    from emulator.frontends import ssh as shared
    assert shared.BANNER_TIMEOUT <= 10 and shared.HANDSHAKE_TIMEOUT <= 10 and shared.AUTH_TIMEOUT <= 30
    assert (netconf.ssh.banner_timeout, netconf.ssh.handshake_timeout) == (shared.BANNER_TIMEOUT,
                                                                           shared.HANDSHAKE_TIMEOUT)
    netconf.ssh.banner_timeout = 1.5                         # the same, faster
    netconf.ssh.handshake_timeout = 1.5
    silent = connect_from(netconf.port, "127.0.0.7")
    banner = connect_from(netconf.port, "127.0.0.7")
    banner.sendall(b"SSH-2.0-OpenSSH_9.0\r\n")
    started = time.monotonic()
    for s in (silent, banner):
        s.settimeout(6)
        data = b""
        try:
            while chunk := s.recv(4096):
                data += chunk
        except OSError:
            pass
        assert time.monotonic() - started < 5, "a silent or banner-only connection held its slot"
        s.close()


def test_channels_per_connection_and_sessions_per_user_are_capped(netconf):
    import threading as th
    from emulator.frontends import ssh as shared
    before = th.active_count()
    client = paramiko.SSHClient()
    client.set_missing_host_key_policy(paramiko.AutoAddPolicy())
    client.connect("127.0.0.1", netconf.port, "admin", "admin", look_for_keys=False, allow_agent=False, timeout=10)
    opened, refused = [], 0
    try:
        for _ in range(200):
            try:
                chan = client.get_transport().open_session(timeout=5)
                chan.invoke_subsystem("netconf")
                opened.append(chan)
            except paramiko.ChannelException:
                refused += 1
        assert len(opened) == shared.MAX_CHANNELS and refused == 200 - shared.MAX_CHANNELS
        assert th.active_count() - before <= shared.MAX_CHANNELS + 4
    finally:
        client.close()
    clients, sessions, kept = [], 0, []
    try:
        for _ in range(3):
            c = paramiko.SSHClient()
            c.set_missing_host_key_policy(paramiko.AutoAddPolicy())
            c.connect("127.0.0.1", netconf.port, "admin", "admin", look_for_keys=False, allow_agent=False,
                      timeout=10)
            clients.append(c)
            for _ in range(shared.MAX_CHANNELS):
                try:
                    chan = c.get_transport().open_session(timeout=5)
                    chan.invoke_subsystem("netconf")
                    kept.append(chan)                       # a channel object dropped is closed
                    sessions += 1
                except paramiko.ChannelException:
                    pass
        assert sessions == shared.MAX_SESSIONS_PER_USER
    finally:
        for c in clients:
            c.close()


# ============================================================================================ #11 operations

def test_bare_connects_log_one_line_at_most(netconf, caplog):
    caplog.set_level(logging.DEBUG)
    for i in range(100):
        s = socket.create_connection(("127.0.0.1", netconf.port), timeout=5)
        if i % 4 == 1:
            s.sendall(b"GET / HTTP/1.1\r\n\r\n")
        elif i % 4 == 2:
            s.sendall(b"SSH-2.0-x\r\n")
        elif i % 4 == 3:
            s.sendall(b"SSH-2.0-x\r\n" + b"\x00" * 64)
        s.close()
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and len(caplog.records) < 100:
        time.sleep(0.1)
    time.sleep(0.5)
    records = [r for r in caplog.records if r.name.startswith(("emulator", "paramiko"))]
    text = "\n".join(r.getMessage() for r in records)
    assert len(records) <= 100, text[-2000:]
    assert not any(r.exc_info for r in records) and "Traceback" not in text
    assert len(text) < 100 * 200


def test_login_block_for_and_login_delay(router):
    r = router
    sh = r.shell(quiet=True)
    sh.run("conf t")
    assert sh.run("login block-for 3 attempts 2 within 30") == ""
    sh.run("end")
    assert "login block-for 3 attempts 2 within 30\n" in sh.run("show running-config")

    def login(password: str) -> tuple[bool, float]:
        c = paramiko.SSHClient()
        c.set_missing_host_key_policy(paramiko.AutoAddPolicy())
        t = time.monotonic()
        try:
            c.connect("127.0.0.1", r.port, USER, password, look_for_keys=False, allow_agent=False, timeout=10,
                      banner_timeout=10, auth_timeout=10)
            return True, time.monotonic() - t
        except paramiko.AuthenticationException:
            return False, time.monotonic() - t
        finally:
            c.close()

    assert login("wrong1")[0] is False
    ok, took = login("wrong2")
    assert ok is False and took >= 1.0                      # block-for brings IOS's 1 s login delay
    on = [m for m in r.device.syslog() if m.mnemonic == "QUIET_MODE_ON"]
    assert len(on) == 1 and on[0].facility == "SEC_LOGIN" and on[0].severity == 1
    assert on[0].text.startswith("Still timeleft for watching failures is ")
    assert f"[user: {USER}] [Source: 127.0.0.1] [localport: {r.port}] [Reason: Login Authentication Failed] " \
           "[ACL: sl_def_acl] at 00:00:00 UTC Mon Jan 1 2024" in on[0].text
    assert login(PASSWORD)[0] is False                      # quiet mode refuses even the right password
    time.sleep(3.2)
    off = [m for m in r.device.syslog() if m.mnemonic == "QUIET_MODE_OFF"]
    assert [m.text for m in off] == ["Quiet Mode is OFF, because block period timed out at 00:00:00 UTC Mon Jan 1 2024"]
    assert login(PASSWORD)[0] is True
    sh.run("conf t")
    sh.run("no login block-for")
    sh.run("login delay 2")
    sh.run("end")
    ok, took = login(PASSWORD)
    assert ok and took >= 2.0
    sh.run("conf t")
    sh.run("no login delay")
    sh.run("end")
    ok, took = login(PASSWORD)
    assert ok and took < 1.5


def test_login_protection_is_off_by_default(router):
    for _ in range(5):
        c = paramiko.SSHClient()
        c.set_missing_host_key_policy(paramiko.AutoAddPolicy())
        with pytest.raises(paramiko.AuthenticationException):
            c.connect("127.0.0.1", router.port, USER, "nope", look_for_keys=False, allow_agent=False, timeout=10)
        c.close()
    assert not [m for m in router.device.syslog() if m.facility == "SEC_LOGIN"]
    assert "Cisco IOS XE Software" in exec_command(router.port, "show version")


@pytest.mark.parametrize("option, weak", [
    ("ciphers", ("3des-cbc",)), ("ciphers", ("aes128-cbc", "aes192-cbc", "aes256-cbc")),
    ("digests", ("hmac-md5", "hmac-md5-96")), ("digests", ("hmac-sha1", "hmac-sha1-96")),
])
def test_weak_algorithms_are_not_offered(router, option, weak):
    kwargs = {option: weak}
    if option == "digests":                                   # a GCM cipher would need no MAC at all
        kwargs["ciphers"] = ("aes128-ctr",)
    with pytest.raises(paramiko.SSHException):
        transport_to(router.port, **kwargs).close()


def test_the_default_algorithms_and_ip_ssh_server_algorithm(router):
    t = transport_to(router.port)
    assert t.remote_cipher in ("aes128-gcm@openssh.com", "aes256-gcm@openssh.com", "aes128-ctr", "aes192-ctr",
                               "aes256-ctr")
    t.close()
    sh = router.shell(quiet=True)
    sh.run("conf t")
    assert sh.run("ip ssh server algorithm encryption aes256-ctr") == ""
    assert sh.run("ip ssh server algorithm mac hmac-sha2-512").strip() == ""
    assert sh.run("ip ssh server algorithm encryption des-cbc").endswith("% Invalid input detected at '^' marker.\n")
    sh.run("end")
    running = sh.run("show running-config")
    assert "ip ssh server algorithm encryption aes256-ctr\nip ssh server algorithm mac hmac-sha2-512\n" in running
    with pytest.raises(paramiko.SSHException):
        transport_to(router.port, ciphers=("aes128-ctr",)).close()
    t = transport_to(router.port, ciphers=("aes256-ctr", "aes128-ctr"))
    assert (t.remote_cipher, t.remote_mac) == ("aes256-ctr", "hmac-sha2-512")
    t.close()
    sh.run("conf t")
    sh.run("no ip ssh server algorithm encryption")
    sh.run("no ip ssh server algorithm mac")
    sh.run("end")
    transport_to(router.port, ciphers=("aes128-ctr",)).close()


def netconf_channel(port: int, send_hello: bool = True):
    """An SSH client and its netconf channel, the server's hello read (and ours sent)."""
    client = paramiko.SSHClient()
    client.set_missing_host_key_policy(paramiko.AutoAddPolicy())
    client.connect("127.0.0.1", port, "admin", "admin", look_for_keys=False, allow_agent=False, timeout=10)
    chan = client.get_transport().open_session(timeout=10)
    chan.invoke_subsystem("netconf")
    chan.settimeout(10)
    hello = b""
    while b"]]>]]>" not in hello:
        hello += chan.recv(65536)
    if send_hello:
        chan.sendall(frame_eom(HELLO))
    return client, chan


def _closed_after(chan, feed=None, limit: float = 10) -> float | None:
    started = time.monotonic()
    chan.settimeout(0.2)
    while time.monotonic() - started < limit:
        if feed is not None:
            feed()
        try:
            if chan.recv(65536) == b"":
                return time.monotonic() - started
        except socket.timeout:
            pass
        if chan.closed or chan.eof_received:
            return time.monotonic() - started
    return None


def test_netconf_idle_timeout_and_trickled_message(make_device, tmp_path):
    from emulator.frontends.netconf.ssh import Limits
    device = make_device()
    device.set_user("admin", "admin", 15)
    svc = NetconfService(device, "127.0.0.1", 0, tmp_path / "nc", limits=Limits(idle_timeout=2, message_timeout=2))
    svc.start()
    try:
        client, chan = netconf_channel(svc.port)
        took = _closed_after(chan)
        client.close()
        assert took is not None and 1.5 < took < 4.5, took
        client, chan = netconf_channel(svc.port)
        message = f'<rpc xmlns="{NC}" message-id="1"><get/></rpc>]]>]]>'.encode()
        sent = [0]
        last = [0.0]

        def trickle():                                       # one byte every 0.5 s
            if time.monotonic() - last[0] >= 0.5 and sent[0] < len(message):
                chan.sendall(message[sent[0]:sent[0] + 1])
                sent[0] += 1
                last[0] = time.monotonic()
        took = _closed_after(chan, trickle)
        client.close()
        assert took is not None and took < 4.5 and sent[0] < len(message), (took, sent)
    finally:
        svc.stop()
