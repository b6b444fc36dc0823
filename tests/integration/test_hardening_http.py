"""Issue 14 #3 and #8: the HTTPS server of RESTCONF / native REST against slow clients and broken framing.
Slow or silent connections never hold a worker (50 of them leave the GET median within 3x of idle), the
request head has a deadline, connections are capped per address, and RFC 9112 framing errors get 400/413
with the connection closed."""

from __future__ import annotations

import socket
import ssl
import statistics
import threading
import time

import pytest
import requests

from emulator.frontends.restconf import start_restconf

pytestmark = pytest.mark.filterwarnings("ignore::urllib3.exceptions.InsecureRequestWarning")
LIC = "/restconf/data/cisco-smart-license:licensing/state"
AUTH = "Authorization: Basic YWRtaW46YWRtaW4=\r\n"            # admin:admin
PER_ADDRESS = 16                                              # emulator.frontends.restconf.http.PER_ADDRESS


@pytest.fixture
def web(make_device, tmp_path):
    device = make_device()
    device.set_user("admin", "admin", 15)
    servers = start_restconf(device, host="127.0.0.1", port=0, state_dir=tmp_path / "web")
    servers.device = device
    yield servers
    servers.stop()


TLS = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)      # made once: a default context loads the CA store (~30 ms)
TLS.check_hostname, TLS.verify_mode = False, ssl.CERT_NONE


def tls_socket(port: int, source: str = "127.0.0.1", handshake: bool = True, timeout: float = 10,
               host: str = "127.0.0.1"):
    raw = socket.create_connection((host, port), timeout=timeout, source_address=(source, 0))
    return TLS.wrap_socket(raw, server_hostname="localhost") if handshake else raw


def read_all(s, timeout: float = 10) -> tuple[bytes, bool]:
    """Everything the server sends within `timeout` (the first byte within the socket's own timeout), and
    whether it then closed the connection."""
    got = b""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            chunk = s.recv(65536)
        except socket.timeout:
            return got, False
        except (ConnectionResetError, ssl.SSLError):
            return got, True
        if not chunk:
            return got, True
        got += chunk
        s.settimeout(max(0.1, min(1.0, deadline - time.monotonic())))
    return got, False


def exchange(port: int, data: bytes, timeout: float = 10) -> tuple[bytes, bool]:
    """Sends raw bytes; returns everything the server sent and whether it then closed the connection."""
    s = tls_socket(port, timeout=timeout)
    try:
        s.sendall(data)
        return read_all(s, timeout)
    finally:
        s.close()


def statuses(data: bytes) -> list[int]:
    return [int(line.split()[1]) for line in data.split(b"\r\n") if line.startswith(b"HTTP/1.1 ")]


# ============================================================================================ #8 framing

def test_content_length_with_transfer_encoding_is_refused_and_closed(web):
    body = b'{"x": 1}'
    req = (f"POST {LIC} HTTP/1.1\r\nHost: x\r\n{AUTH}Content-Type: application/yang-data+json\r\n"
           f"Content-Length: {len(body)}\r\nTransfer-Encoding: chunked\r\n\r\n").encode()
    got, closed = exchange(web.https.port, req + b"8\r\n" + body + b"\r\n0\r\n\r\n")
    assert statuses(got) == [400] and closed, got


def test_an_oversized_chunked_body_gets_413_and_the_rest_is_never_a_request(web):
    smuggled = f"GET {LIC} HTTP/1.1\r\nHost: x\r\n{AUTH}\r\n".encode()
    chunk = b"x" * 65536
    body = b"".join(b"%x\r\n%s\r\n" % (len(chunk), chunk) for _ in range(70))   # 4.4 MB > the 4 MiB limit
    req = (f"PATCH {LIC} HTTP/1.1\r\nHost: x\r\n{AUTH}Content-Type: application/yang-data+json\r\n"
           "Transfer-Encoding: chunked\r\n\r\n").encode()
    got, closed = exchange(web.https.port, req + body + b"%x\r\n" % len(smuggled) + smuggled + b"\r\n0\r\n\r\n"
                           + smuggled)
    assert statuses(got) == [413] and closed, got[:300]


def test_a_chunked_body_within_the_limit_is_accepted(web):
    body = b'{"cisco-smart-license:config": {"custom-id": "CHUNKED"}}'
    req = (f"PATCH /restconf/data/cisco-smart-license:licensing/config HTTP/1.1\r\nHost: x\r\n{AUTH}"
           "Content-Type: application/yang-data+json\r\nTransfer-Encoding: chunked\r\n\r\n").encode()
    chunked = b"".join(b"%x\r\n%s\r\n" % (len(body[i:i + 10]), body[i:i + 10]) for i in range(0, len(body), 10))
    got, _ = exchange(web.https.port, req + chunked + b"0\r\n\r\n", timeout=3)
    assert statuses(got) == [204], got
    assert web.device.setting("custom_id") == "CHUNKED"


@pytest.mark.parametrize("head", [
    f"GET {LIC} HTTP/1.1\r\nHost: x\r\nAuthorization : Basic YWRtaW46YWRtaW4=\r\n\r\n",     # space before ':'
    f"GET {LIC} HTTP/1.1\r\nHost: x\r\n Authorization: Basic YWRtaW46YWRtaW4=\r\n\r\n",    # folded first line
    f"GET {LIC} HTTP/1.1\r\nHost: x\r\n{AUTH}X-A: 1\r\n  folded\r\n\r\n",                 # obs-fold
    f"GET {LIC} HTTP/1.1\r\nHost: x\r\n{AUTH}Bad\x01Name: 1\r\n\r\n",
    f"GET {LIC} HTTP/1.1\r\nHost: x\r\n{AUTH}X-A: a\x00b\r\n\r\n",
    f"GET {LIC}%00 HTTP/1.1\r\nHost: x\r\n{AUTH}\r\n",
    f"GET {LIC}/\x00x HTTP/1.1\r\nHost: x\r\n{AUTH}\r\n",
    f"GET {LIC}?depth=1%00 HTTP/1.1\r\nHost: x\r\n{AUTH}\r\n",
    f"POST {LIC} HTTP/1.1\r\nHost: x\r\n{AUTH}Content-Length: 5\r\nContent-Length: 6\r\n\r\nhello!",
    f"POST {LIC} HTTP/1.1\r\nHost: x\r\n{AUTH}Content-Length: -5\r\n\r\n",
    f"POST {LIC} HTTP/1.1\r\nHost: x\r\n{AUTH}Content-Length: +5\r\n\r\nhello",
    f"POST {LIC} HTTP/1.0\r\nHost: x\r\n{AUTH}Transfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
    f"POST {LIC} HTTP/1.1\r\nHost: x\r\n{AUTH}Transfer-Encoding: chunked, gzip\r\n\r\n0\r\n\r\n",
    f"POST {LIC} HTTP/1.1\r\nHost: x\r\n{AUTH}Transfer-Encoding: chunked\r\n\r\nzz\r\nhello\r\n0\r\n\r\n",
])
def test_malformed_requests_get_400_and_the_connection_closes(web, head):
    revision = web.device.snapshot().revision
    got, closed = exchange(web.https.port, head.encode("latin-1"))
    assert statuses(got)[:1] == [400] and closed, got[:300]
    assert web.device.snapshot().revision == revision


# ============================================================================================ #3 slow clients

def _get_median(url: str, n: int = 30) -> float:
    session = requests.Session()
    session.verify, session.trust_env, session.auth = False, False, ("admin", "admin")
    times = []
    for _ in range(n):
        t = time.monotonic()
        r = session.get(url + LIC, headers={"Accept": "application/yang-data+json"}, timeout=5)
        assert r.status_code == 200
        times.append(time.monotonic() - t)
    session.close()
    return statistics.median(times)


class Slowloris:
    """`count` connections from 127.0.0.2.. (`per_address` each): half complete TLS and send one header line
    a second, half stay silent TCP connections."""

    def __init__(self, port: int, count: int, per_address: int = 5):
        self.socks = []
        self.stop = threading.Event()
        for i in range(count):
            source = f"127.0.0.{2 + i // per_address}"
            if i % 2:
                self.socks.append(tls_socket(port, source))
                self.socks[-1].sendall(f"GET {LIC} HTTP/1.1\r\nHost: x\r\n".encode())
            else:
                self.socks.append(tls_socket(port, source, handshake=False))
        self.thread = threading.Thread(target=self._trickle, daemon=True)
        self.thread.start()

    def _trickle(self):
        n = 0
        while not self.stop.wait(1.0):
            n += 1
            for s in self.socks[1::2]:
                try:
                    s.sendall(f"X-Slow-{n}: {n}\r\n".encode())
                except OSError:
                    pass

    def alive(self) -> int:
        """How many of the connections the server still holds open."""
        open_ = 0
        for s in self.socks:
            try:
                s.setblocking(False)
                data = s.recv(1) if not isinstance(s, ssl.SSLSocket) else s.recv(1)
                open_ += 0 if data == b"" else 1
            except (BlockingIOError, ssl.SSLWantReadError):
                open_ += 1
            except OSError:
                pass
            finally:
                try:
                    s.setblocking(True)
                except OSError:
                    pass
        return open_

    def close(self):
        self.stop.set()
        self.thread.join(5)
        for s in self.socks:
            s.close()


def test_fifty_slow_connections_leave_get_within_3x_of_idle(web, figures):
    url = web.https.url
    _get_median(url, 5)                                       # warm up: caches, TLS session
    idle = _get_median(url)
    slow = Slowloris(web.https.port, 50)
    try:
        time.sleep(1.5)                                       # they are all in, trickling
        loaded = _get_median(url)
        assert slow.alive() == 50                             # within the caps and the header deadline
    finally:
        slow.close()
    figures["restconf_slowloris"] = {"connections": 50, "idle_median_ms": round(idle * 1000, 2),
                                     "loaded_median_ms": round(loaded * 1000, 2),
                                     "ratio": round(loaded / idle, 2)}
    assert loaded <= 3 * idle, (idle, loaded)


def test_the_request_head_has_a_deadline(web, monkeypatch):
    from emulator.frontends.restconf import http as guarded
    monkeypatch.setattr(guarded, "HEADER_TIMEOUT", 1.5)
    s = tls_socket(web.https.port)
    s.sendall(f"GET {LIC} HTTP/1.1\r\n".encode())
    started = time.monotonic()
    s.settimeout(0.5)
    closed_after = None
    while time.monotonic() - started < 8:
        try:
            s.sendall(b"X-A: 1\r\n")
            data = s.recv(1024)
            if data == b"":
                closed_after = time.monotonic() - started
                break
        except socket.timeout:
            continue
        except (OSError, ssl.SSLError):
            closed_after = time.monotonic() - started
            break
    s.close()
    assert closed_after is not None and closed_after < 3.5, closed_after
    silent = tls_socket(web.https.port, handshake=False)      # no TLS at all: closed as well
    silent.settimeout(5)
    t = time.monotonic()
    assert silent.recv(1) == b"" and time.monotonic() - t < 3.5
    silent.close()


def test_connections_are_capped_per_address(web):
    from emulator.frontends.restconf import http as guarded
    assert guarded.PER_ADDRESS == PER_ADDRESS
    socks = [tls_socket(web.https.port, "127.0.0.9", handshake=False) for _ in range(PER_ADDRESS + 4)]
    try:
        time.sleep(0.5)
        closed = 0
        for s in socks:
            s.settimeout(0.2)
            try:
                if s.recv(1) == b"":
                    closed += 1
            except socket.timeout:
                pass
            except OSError:
                closed += 1
        assert closed == 4
        assert _get_median(web.https.url, 3) < 1.0             # another address is served
    finally:
        for s in socks:
            s.close()


def test_pipelined_and_keep_alive_requests_are_all_answered(web):
    one = f"GET {LIC} HTTP/1.1\r\nHost: x\r\n{AUTH}Accept: application/yang-data+json\r\n\r\n".encode()
    s = tls_socket(web.https.port)
    try:
        s.sendall(one * 3)                                    # pipelined: three heads in one write
        got = b""
        s.settimeout(5)
        while got.count(b"HTTP/1.1 200") < 3:
            chunk = s.recv(65536)
            assert chunk, got[-300:]
            got += chunk
        time.sleep(0.3)                                       # then idle in keep-alive, then one more
        s.sendall(one[:20])
        time.sleep(0.3)
        s.sendall(one[20:])
        more = b""
        while b"HTTP/1.1 200" not in more:
            chunk = s.recv(65536)
            assert chunk, more[-300:]
            more += chunk
    finally:
        s.close()


# ============================================================================================ #11 logins
def test_login_block_for_counts_failed_http_basic_logins(web):
    """IOS's login protection covers HTTP logins as it covers SSH: failed Basic credentials count toward
    `login block-for`, Quiet Mode then refuses every HTTP and SSH login of the device, with the syslogs."""
    from emulator.frontends.login import login_guard_for
    device = web.device
    device.configure(system={"login_block_for": 2, "login_block_attempts": 3, "login_block_within": 30})
    url = web.https.url + LIC
    headers = {"Accept": "application/yang-data+json"}

    def get(password: str) -> requests.Response:
        return requests.get(url, auth=("admin", password), headers=headers, verify=False, timeout=10)

    assert get("admin").status_code == 200
    for attempt in range(3):
        r = get(f"wrong{attempt}")
        assert r.status_code == 401 and r.headers["WWW-Authenticate"] == 'Basic realm="slpemu"'
    on = [m for m in device.syslog() if m.mnemonic == "QUIET_MODE_ON"]
    assert len(on) == 1 and on[0].facility == "SEC_LOGIN"
    assert f"[user: admin] [Source: 127.0.0.1] [localport: {web.https.port}] [Reason: Login Authentication " \
           "Failed]" in on[0].text
    r = get("admin")                                          # Quiet Mode: the right password is refused too
    assert r.status_code == 401
    assert r.json()["ietf-restconf:errors"]["error"][0]["error-message"] == \
        "login refused: Quiet Mode is on (login block-for)"
    assert login_guard_for(device).quiet()                    # the SSH servers share it
    time.sleep(2.3)
    assert [m.mnemonic for m in device.syslog() if m.facility == "SEC_LOGIN"] == ["QUIET_MODE_ON", "QUIET_MODE_OFF"]
    assert get("admin").status_code == 200


def test_failed_http_logins_count_nothing_without_login_block_for(web):
    for attempt in range(6):
        assert requests.get(web.https.url + LIC, auth=("admin", f"x{attempt}"), verify=False,
                            timeout=10).status_code == 401
    assert not [m for m in web.device.syslog() if m.facility == "SEC_LOGIN"]
    assert requests.get(web.https.url + LIC, auth=("admin", "admin"), verify=False, timeout=10).status_code == 200
