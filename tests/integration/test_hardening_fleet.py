"""Issue 14 on a fleet: the fleet's shared SSH and HTTPS servers defend each device as the single device's
servers do (silent SSH connections cost no thread or slot, slow HTTP clients are read before a worker sees
them, RFC 9112 framing, caps per client address counted per device), and each device's own SSH algorithms
and `login block-for` apply to its addresses only."""

from __future__ import annotations

import base64
import socket
import statistics
import threading
import time

import paramiko
import pytest
from ncclient import manager

from emulator.pytest_plugin import slpemu_fleet  # noqa: F401  (also an installed plugin)
from test_cli_support import Shell
from test_hardening_http import read_all
from test_hardening_http import tls_socket as tls_to
from test_hardening_ssh import still_open, transport_to

CSL = "http://cisco.com/ns/yang/cisco-smart-license"
LIC = "/restconf/data/cisco-smart-license:licensing/state/state-info/udi"


def nc_login(dev) -> float:
    """Seconds for an ncclient login + filtered <get> + close."""
    t = time.monotonic()
    with manager.connect(host=dev.host, port=dev.netconf_port, username=dev.username, password=dev.password,
                         hostkey_verify=False, look_for_keys=False, allow_agent=False, timeout=20,
                         device_params={"name": "iosxe"}) as m:
        reply = m.get(filter=("subtree", f'<licensing xmlns="{CSL}"><state><state-info><udi/></state-info>'
                                         "</state></licensing>"))
        assert f"<sn>{dev.serial}</sn>" in str(reply)
    return time.monotonic() - t


def tls_socket(host: str, port: int, source: str = "127.0.0.1", handshake: bool = True):
    return tls_to(port, source, handshake, host=host)


def silent_connections(host: str, port: int, count: int, per_source: int = 50) -> list[socket.socket]:
    return [socket.create_connection((host, port), timeout=10, source_address=(f"127.0.0.{2 + i // per_source}", 0))
            for i in range(count)]


def get_median(dev, n: int = 20) -> float:
    """Median seconds of a RESTCONF GET, each on a new connection (TLS handshake included)."""
    auth = base64.b64encode(f"{dev.username}:{dev.password}".encode()).decode()
    times = []
    for _ in range(n):
        t = time.monotonic()
        s = tls_socket(dev.host, dev.https_port)
        s.sendall(f"GET {LIC} HTTP/1.1\r\nHost: x\r\nAuthorization: Basic {auth}\r\n"
                  "Accept: application/yang-data+json\r\nConnection: close\r\n\r\n".encode())
        got, closed = read_all(s, timeout=5)
        s.close()
        times.append(time.monotonic() - t)
        assert got.startswith(b"HTTP/1.1 200 ") and f'"sn": "{dev.serial}"'.encode() in got and closed, got
    return statistics.median(times)


def ssh_login(dev, password: str) -> bool:
    c = paramiko.SSHClient()
    c.set_missing_host_key_policy(paramiko.AutoAddPolicy())
    try:
        c.connect(dev.host, dev.ssh_port, dev.username, password, look_for_keys=False, allow_agent=False,
                  timeout=10, banner_timeout=10, auth_timeout=10)
        return True
    except paramiko.AuthenticationException:
        return False
    finally:
        c.close()


def configure(dev, *lines: str) -> None:
    sh = Shell(dev.ssh_port, dev.username, dev.password, host=dev.host)
    try:
        sh.run("configure terminal")
        for line in lines:
            assert sh.run(line) == "", line
        sh.run("end")
    finally:
        sh.close()


# ============================================================================================== SSH
@pytest.mark.slpemu_fleet(count=2)
def test_silent_connections_to_a_fleet_device_cost_no_thread_and_a_client_still_logs_in(slpemu_fleet, figures):
    a, b = slpemu_fleet.devices
    nc_login(a)                                               # warm up (the device's front-ends are built)
    idle = statistics.median(nc_login(a) for _ in range(3))
    threads = threading.active_count()
    silent = silent_connections(a.host, a.netconf_port, 300)   # more than the fleet's 256 connection slots
    try:
        time.sleep(0.5)
        assert threading.active_count() - threads < 10          # a socket each, no thread
        loaded = statistics.median(nc_login(a) for _ in range(3))
        nc_login(b)
        assert still_open(silent) == 300
    finally:
        for s in silent:
            s.close()
    figures["fleet_netconf_silent_connections"] = {"connections": 300, "idle_median_ms": round(idle * 1000, 1),
                                                   "loaded_median_ms": round(loaded * 1000, 1),
                                                   "ratio": round(loaded / idle, 2)}
    assert loaded < 3 * idle, (idle, loaded)


@pytest.mark.slpemu_fleet(count=2)
def test_login_block_for_and_algorithms_apply_to_the_configured_fleet_device_only(slpemu_fleet):
    a, b = slpemu_fleet.devices
    configure(a, "login block-for 3 attempts 2 within 30", "ip ssh server algorithm encryption aes256-ctr")
    with pytest.raises(paramiko.SSHException):                 # a's algorithms: aes128-ctr is not offered
        transport_to(a.ssh_port, a.host, ciphers=("aes128-ctr",)).close()
    transport_to(b.ssh_port, b.host, ciphers=("aes128-ctr",)).close()           # b keeps IOS XE's defaults
    assert transport_to(a.ssh_port, a.host, ciphers=("aes256-ctr",)).remote_cipher == "aes256-ctr"
    assert not ssh_login(a, "wrong1") and not ssh_login(a, "wrong2")
    assert ssh_login(a, a.password) is False                   # Quiet Mode on a ...
    assert ssh_login(b, b.password) is True                    # ... not on b
    time.sleep(3.2)
    assert ssh_login(a, a.password) is True
    sh = Shell(a.ssh_port, a.username, a.password, host=a.host)
    try:
        sh.run("terminal length 0")
        log = sh.run("show logging")
    finally:
        sh.close()
    assert "%SEC_LOGIN-1-QUIET_MODE_ON: Still timeleft for watching failures is " in log
    assert f"[user: {a.username}] [Source: 127.0.0.1] [localport: {a.ssh_port}] " \
           "[Reason: Login Authentication Failed]" in log
    assert "%SEC_LOGIN-5-QUIET_MODE_OFF: Quiet Mode is OFF, because block period timed out" in log


# ============================================================================================== HTTPS
@pytest.mark.slpemu_fleet(count=2)
def test_fifty_slow_clients_of_a_fleet_device_leave_its_restconf_served(slpemu_fleet, figures):
    a, b = slpemu_fleet.devices
    get_median(a, 5)
    idle = get_median(a)
    slow, stop = [], threading.Event()
    for i in range(50):                                        # half silent TCP, half one header line a second
        source = f"127.0.0.{2 + i // 5}"
        if i % 2:
            s = tls_socket(a.host, a.https_port, source)
            s.sendall(f"GET {LIC} HTTP/1.1\r\nHost: x\r\n".encode())
        else:
            s = tls_socket(a.host, a.https_port, source, handshake=False)
        slow.append(s)

    def trickle():
        n = 0
        while not stop.wait(1.0):
            n += 1
            for s in slow[1::2]:
                try:
                    s.sendall(f"X-Slow-{n}: {n}\r\n".encode())
                except OSError:
                    pass
    thread = threading.Thread(target=trickle, daemon=True)
    thread.start()
    try:
        time.sleep(1.5)
        loaded = get_median(a)
        get_median(b, 3)
    finally:
        stop.set()
        thread.join(5)
        for s in slow:
            s.close()
    figures["fleet_restconf_slowloris"] = {"connections": 50, "idle_median_ms": round(idle * 1000, 2),
                                           "loaded_median_ms": round(loaded * 1000, 2),
                                           "ratio": round(loaded / idle, 2)}
    assert loaded <= 3 * idle, (idle, loaded)


@pytest.mark.slpemu_fleet(count=1)
def test_a_fleet_device_refuses_bad_framing_and_closes(slpemu_fleet):
    a = slpemu_fleet.devices[0]
    s = tls_socket(a.host, a.https_port)
    s.sendall(b"POST /restconf/operations/cisco-smart-license:sync HTTP/1.1\r\nHost: x\r\nContent-Length: 4\r\n"
              b"Transfer-Encoding: chunked\r\n\r\n0\r\n\r\nGET / HTTP/1.1\r\nHost: x\r\n\r\n")
    got, closed = read_all(s)
    s.close()
    assert got.startswith(b"HTTP/1.1 400 ") and got.count(b"HTTP/1.1 ") == 1 and closed
    s = tls_socket(a.host, a.https_port)
    s.sendall(b"GET /restconf/data\x00x HTTP/1.1\r\nHost: x\r\n\r\n")
    got, closed = read_all(s)
    s.close()
    assert got.startswith(b"HTTP/1.1 400 ") and closed


@pytest.mark.slpemu_fleet(count=2)
def test_connections_are_capped_per_client_address_and_device(slpemu_fleet):
    from emulator.frontends.restconf.http import PER_ADDRESS
    a, b = slpemu_fleet.devices
    held = [tls_socket(a.host, a.https_port, "127.0.0.9") for _ in range(PER_ADDRESS)]
    try:
        refused = tls_socket(a.host, a.https_port, "127.0.0.9", handshake=False)
        got, closed = read_all(refused, timeout=3)
        refused.close()
        assert (got, closed) == (b"", True)                    # one more to a from that address: closed
        other = tls_socket(b.host, b.https_port, "127.0.0.9")  # the same client to another device: served
        other.sendall(f"GET {LIC} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n".encode())
        got, _ = read_all(other)
        other.close()
        assert got.startswith(b"HTTP/1.1 401 ")                # answered (no credentials sent)
    finally:
        for s in held:
            s.close()
