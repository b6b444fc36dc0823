"""A served device pushes over the network to the URL of its transport: the guide's COMM_FAILED reasons
for each way the network fails, the failure schedule (retries, 15 minutes after 4 hours, L10393),
COMM_RESTORED, injected faults on top of a real peer, and `license smart proxy`."""

from __future__ import annotations

import socket
import threading
from datetime import datetime, timezone

import pytest

from emulator.testing.estate import DAY, free_port

pytestmark = pytest.mark.filterwarnings("ignore::urllib3.exceptions.InsecureRequestWarning")

CSLU = "Cisco Smart License Utility (CSLU)"


def shown_time(text: str) -> float:
    return datetime.strptime(text, "%b %d %H:%M:%S %Y UTC").replace(tzinfo=timezone.utc).timestamp()


def failures(dev) -> list[str]:
    return [line.split("COMM_FAILED: ", 1)[1] for line in dev.syslog("COMM_FAILED")]


def test_unreachable_cslu_fails_in_the_first_push_window_and_never_lies_about_the_next_push(estate):
    port = free_port()
    dev = estate.device()
    dev.configure(f"license smart url cslu http://127.0.0.1:{port}/cslu/v1/pi")
    dev.use("dna-advantage", 1)
    dev.advance(3 * 60)                              # the first push is due 2 minutes after first use
    assert failures(dev) == [f"Communications failure with the {CSLU} : Unable to connect to the server: "
                             "Connection refused"]
    status = dev.status()
    assert shown_time(status["Next report push"]) >= dev.now() - 1, status
    # the guide's schedule: retried for 4 hours, then every 15 minutes until it works (L10393)
    dev.advance(5 * 3600)
    count = len(failures(dev))
    assert 20 <= count <= 22, count
    assert shown_time(dev.status()["Next report push"]) >= dev.now() - 1
    stats = dev.cli("show license tech support")
    assert "Connection refused" in stats
    # CSLU comes up on that port: the next retry succeeds, COMM_RESTORED, the configured interval again
    cslu = estate.cslu("--port", str(port))
    dev.advance(16 * 60)
    assert dev.syslog("COMM_RESTORED")[-1].endswith(f"Communications with {CSLU} restored.")
    status = dev.status()
    last = shown_time(status["Last report push"])
    assert shown_time(status["Next report push"]) == last + 30 * DAY
    assert "SN:" in cslu.page()


def test_a_host_name_that_does_not_resolve(estate):
    dev = estate.device()
    dev.configure("license smart url cslu http://cslu.invalid:8182/cslu/v1/pi")
    dev.use("dna-advantage", 1)
    out = dev.cli("license smart sync local")
    assert failures(dev) == [f"Communications failure with the {CSLU} : Unable to resolve server hostname/domain name"], out


def test_cslu_local_through_the_device_host_table(estate):
    """With no URL the device looks for cslu-local (L1400-1422); `--ip-host` is its `ip host` entry."""
    port = free_port()
    cslu = estate.cslu("--port", str(port))
    dev = estate.device("--ip-host", "cslu-local=127.0.0.1")
    dev.configure(f"license smart url cslu http://cslu-local:{port}/cslu/v1/pi")
    dev.use("dna-advantage", 1)
    dev.advance(3 * 60)
    assert failures(dev) == []
    assert f"SN:{dev.serial}" in cslu.page()


def test_a_peer_that_does_not_answer_in_time(estate):
    silent = socket.socket()
    silent.bind(("127.0.0.1", 0))
    silent.listen(8)
    try:
        dev = estate.device("--push-timeout", "1")
        dev.configure(f"license smart url cslu http://127.0.0.1:{silent.getsockname()[1]}/cslu/v1/pi")
        dev.use("dna-advantage", 1)
        dev.cli("license smart sync local")
        assert failures(dev) == [f"Communications failure with the {CSLU} : Connection timed out"]
    finally:
        silent.close()


def test_an_http_error(estate):
    cssm = estate.cssm()
    dev = estate.device("--push-ca", str(cssm.cert))
    dev.configure("license smart transport smart", f"license smart url smart {cssm.url}/no/such/receiver")
    dev.use("dna-advantage", 1)
    dev.cli(f"license smart trust idtoken {cssm.token()} local")
    assert failures(dev) == ["Communications failure with the Cisco Smart Software Manager (CSSM) : "
                             "Server error occurred: HTTP 404 NOT FOUND"]


def test_an_untrusted_certificate_and_the_server_identity_check(estate):
    cssm = estate.cssm()
    dev = estate.device()                           # no --push-ca: CSSM's self-signed certificate is unknown
    dev.configure("license smart transport smart", f"license smart url smart {cssm.device_url}")
    dev.cli(f"license smart trust idtoken {cssm.token()} local")
    assert failures(dev)[-1].endswith("TLS/SSL handshake failure with the server")
    dev.configure("no license smart server-identity-check")
    dev.cli(f"license smart trust idtoken {cssm.token()} local")
    assert "INSTALLED on" in dev.cli("show license status")


def test_injected_faults_apply_on_top_of_a_real_peer(estate):
    cslu = estate.cslu()
    dev = estate.device()
    dev.configure(f"license smart url cslu {cslu.pi_url}")
    dev.use("dna-advantage", 1)
    dev.rpc("slpemu-control:inject-fault", {"kind": "http-error", "target": "cslu", "count": 1})
    dev.advance(3 * 60)
    assert failures(dev) == [f"Communications failure with the {CSLU} : Server error occurred: HTTP 500 "
                             "Internal Server Error"]
    dev.advance(16 * 60)
    assert dev.syslog("COMM_RESTORED") and dev.status()["Last report push"] != "<none>"
    assert f"SN:{dev.serial}" in cslu.page()


class ConnectProxy:
    """A forward proxy on loopback that tunnels CONNECT and records what it was asked."""

    def __init__(self):
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(16)
        self.port = self.sock.getsockname()[1]
        self.requests: list[str] = []
        self._stop = False
        threading.Thread(target=self._serve, daemon=True).start()

    def _serve(self):
        while not self._stop:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            threading.Thread(target=self._handle, args=(conn,), daemon=True).start()

    def _handle(self, conn):
        with conn:
            head = b""
            while b"\r\n\r\n" not in head:
                chunk = conn.recv(4096)
                if not chunk:
                    return
                head += chunk
            line = head.split(b"\r\n", 1)[0].decode()
            self.requests.append(line)
            method, target, _ = line.split(" ", 2)
            if method != "CONNECT":
                conn.sendall(b"HTTP/1.1 405 Method Not Allowed\r\nContent-Length: 0\r\n\r\n")
                return
            host, port = target.rsplit(":", 1)
            with socket.create_connection((host, int(port)), timeout=10) as up:
                conn.sendall(b"HTTP/1.1 200 Connection established\r\n\r\n")
                done = threading.Event()

                def pipe(a, b):
                    try:
                        while True:
                            data = a.recv(65536)
                            if not data:
                                break
                            b.sendall(data)
                    except OSError:
                        pass
                    done.set()
                threading.Thread(target=pipe, args=(up, conn), daemon=True).start()
                pipe(conn, up)
                done.wait(5)

    def close(self):
        self._stop = True
        self.sock.close()


def test_license_smart_proxy_is_used(estate):
    cssm = estate.cssm()
    proxy = ConnectProxy()
    try:
        dev = estate.device("--push-ca", str(cssm.cert))
        dev.configure("license smart transport smart", f"license smart url smart {cssm.device_url}",
                      "license smart proxy address 127.0.0.1", f"license smart proxy port {proxy.port}")
        dev.use("dna-advantage", 1)
        dev.cli(f"license smart trust idtoken {cssm.token()} local")
        assert "INSTALLED on" in dev.cli("show license status")
        port = cssm.url.rsplit(":", 1)[1]
        assert proxy.requests and all(r.startswith(f"CONNECT 127.0.0.1:{port} ") for r in proxy.requests)
        assert f"SN:{dev.serial}" in cssm.page()
    finally:
        proxy.close()
