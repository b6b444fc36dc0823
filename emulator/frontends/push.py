"""The device's push client: the `Outbound` the engine calls, over the network. It sends reports, trust,
authorization requests and returns to the URL configured for the device's transport (CSLU, SSM On-Prem,
CSSM smart or Call Home) in the messages of `emulator.pushproto`, through `license smart proxy` when one
is configured, and turns every way a network exchange fails into the reason `%SMART_LIC-3-COMM_FAILED`
logs:

    the host name does not resolve          Unable to resolve server hostname/domain name   (L4963-4965)
    nothing listens (connection refused)    Unable to connect to the server: Connection refused
    no answer in time                       Connection timed out
    an HTTP error status                    Server error occurred: HTTP <status> <reason>
    an empty or unreadable answer           Received empty response from server
    TLS handshake / certificate failure     TLS/SSL handshake failure with the server

A peer that answers and refuses (`"status": "FAILED"`) is a refusal, not a communication failure.
Injected faults (`inject-fault`) are applied by the engine before this client is called, so they still
work on top of a real peer. The engine sends without the device lock for operations and the scheduler;
`advance-clock` sends from inside its operation, one attempt per due job.

Host names resolve through the device's own host table first (`--ip-host NAME=ADDRESS`, as IOS
`ip host`), then the system resolver; a failed lookup is remembered for `DNS_NEGATIVE_TTL` seconds of
real time, as a resolver caches NXDOMAIN, so fast-forwarding a device through days of 15-minute retries
does not send one query per retry.
"""

from __future__ import annotations

import http.client
import socket
import ssl
import threading
import time
from urllib.parse import urlsplit

from .. import pushproto
from ..engine import artifacts
from ..engine.comm import CommError, Refusal

DNS_FAILED = "Unable to resolve server hostname/domain name"
REFUSED = "Unable to connect to the server: Connection refused"
TIMED_OUT = "Connection timed out"
EMPTY = "Received empty response from server"
TLS_FAILED = "TLS/SSL handshake failure with the server"
DNS_NEGATIVE_TTL = 30.0
CONNECT_TIMEOUT = 5.0
TIMEOUT = 20.0
MAX_ANSWER = 16 * 1024 * 1024


def http_error(status: int, reason: str) -> str:
    return f"Server error occurred: HTTP {status} {reason}".rstrip()


class Resolver:
    """The device's name lookup: its host table, then the system resolver with a negative cache."""

    def __init__(self, hosts: dict[str, str] | None = None, negative_ttl: float = DNS_NEGATIVE_TTL):
        self.hosts = {k.lower(): v for k, v in (hosts or {}).items()}
        self.negative_ttl = negative_ttl
        self._failed: dict[str, float] = {}
        self._lock = threading.Lock()

    def known_failure(self, host: str) -> bool:
        """Whether looking `host` up fails without asking anybody: RFC 6761 `.invalid`, or a failure still
        in the negative cache."""
        name = host.lower().rstrip(".")
        if name in self.hosts:
            return False
        if name == "invalid" or name.endswith(".invalid"):
            return True
        with self._lock:
            until = self._failed.get(name)
        return until is not None and until > time.monotonic()

    def resolve(self, host: str, port: int) -> list[tuple]:
        name = host.lower().rstrip(".")
        if name in self.hosts:
            host = self.hosts[name]
        if name == "invalid" or name.endswith(".invalid"):      # RFC 6761 §6.4: never resolves, no query
            raise CommError(DNS_FAILED)
        with self._lock:
            until = self._failed.get(name)
            if until is not None and until > time.monotonic():
                raise CommError(DNS_FAILED)
        try:
            infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
        except (socket.gaierror, UnicodeError):
            with self._lock:
                self._failed[name] = time.monotonic() + self.negative_ttl
            raise CommError(DNS_FAILED) from None
        return [info[4][:2] for info in infos]


class HttpOutbound:
    """`Outbound` over HTTP(S) to the configured URL (see the module docstring)."""

    def __init__(self, device, *, ca_file: str | None = None, timeout: float = TIMEOUT,
                 connect_timeout: float = CONNECT_TIMEOUT, hosts: dict[str, str] | None = None):
        self.device = device
        self.ca_file = ca_file
        self.timeout = timeout
        self.connect_timeout = min(connect_timeout, timeout)
        self.resolver = Resolver(hosts)

    # ------------------------------------------------------------------ the Outbound calls
    def known_failure(self, url: str) -> str | None:
        """A host name (the proxy's, when one is configured) whose lookup failed moments ago: a device
        retrying every 15 minutes through a clock advance assembles nothing for attempts bound to fail."""
        host = getattr(self.device.snapshot().st.config, "proxy_address", None) or urlsplit(url).hostname
        return DNS_FAILED if host and self.resolver.known_failure(host) else None

    def establish_trust(self, url: str, token: str, trust_request: str, force: bool) -> str:
        return self._final(self._send(url, "trust", id_token=token, force=bool(force), smart_license=trust_request))

    def request_authorization(self, url: str, request: str) -> str:
        return self._final(self._send(url, "authorization", smart_license=request))

    def return_authorization(self, url: str, return_request: str) -> str:
        return self._final(self._send(url, "return", smart_license=return_request))

    def report_usage(self, url: str, usage: str, sudi: dict | None = None) -> str:
        answer = self._send(url, "usage", smart_license=usage)
        if answer.status in pushproto.DEFERRED:
            if not answer.poll_id:
                raise CommError(EMPTY)
            return f"OK_POLL:{answer.poll_id}"
        return self._final(answer)

    def poll(self, url: str, poll_id: str) -> str:
        answer = self._send(url, "poll", poll_id=poll_id, action="acknowledgements")
        if answer.status in pushproto.DEFERRED:
            return "OK_POLL"
        return self._final(answer)

    # ------------------------------------------------------------------ messages
    def _final(self, answer: pushproto.Answer) -> str:
        if answer.status == pushproto.FAILED:
            raise Refusal(answer.message)
        if answer.status != pushproto.COMPLETE or not answer.document:
            raise CommError(EMPTY)
        return answer.document

    def _send(self, url: str, kind: str, **members) -> pushproto.Answer:
        snap = self.device.snapshot()
        st = snap.st
        member = st.identity.members[0]
        for m in st.identity.members:
            if m.role == "Active":
                member = m
                break
        hostname = None if st.config.privacy_hostname else st.identity.hostname
        message = pushproto.request(kind, artifacts.sudi(member.pid, member.sn), self.device.now(), hostname,
                                    **members)
        body = self.post(url, pushproto_json(message), st.config)
        try:
            return pushproto.parse_answer(body)
        except pushproto.ProtocolError:
            raise CommError(EMPTY) from None

    # ------------------------------------------------------------------ HTTP
    def post(self, url: str, body: bytes, config) -> bytes:
        """One POST; returns the body of a 200 answer or raises CommError with the COMM_FAILED reason."""
        parts = urlsplit(url)
        scheme = parts.scheme.lower()
        if scheme not in ("http", "https") or not parts.hostname:
            raise CommError(f"Invalid URL: {url}")
        try:
            port = parts.port or (443 if scheme == "https" else 80)
        except ValueError:
            raise CommError(f"Invalid URL: {url}") from None
        host = parts.hostname
        path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
        proxy = getattr(config, "proxy_address", None)
        proxy_port = getattr(config, "proxy_port", None) or 80
        deadline = time.monotonic() + self.timeout
        target = (proxy, proxy_port) if proxy else (host, port)
        sock = self._connect(*target, deadline)
        try:
            if proxy and scheme == "https":
                self._tunnel(sock, host, port, deadline)
            if scheme == "https":
                sock = self._tls(sock, host, getattr(config, "server_identity_check", None) is not False)
            conn = http.client.HTTPConnection(host, port, timeout=self.timeout)
            conn.sock = sock
            request_target = url if proxy and scheme == "http" else path
            host_header = host if parts.port is None else f"{host}:{port}"
            try:
                sock.settimeout(max(0.1, deadline - time.monotonic()))
                conn.request("POST", request_target, body=body,
                             headers={"Host": host_header, "Content-Type": "application/json",
                                      "Accept": "application/json", "Connection": "close",
                                      "User-Agent": "slpemu-smart-agent"})
                resp = conn.getresponse()
                data = resp.read(MAX_ANSWER + 1)
            except (socket.timeout, TimeoutError):
                raise CommError(TIMED_OUT) from None
            except ssl.SSLError:
                raise CommError(TLS_FAILED) from None
            except (http.client.HTTPException, ConnectionError, OSError):
                raise CommError(EMPTY) from None
            if resp.status != 200:
                raise CommError(http_error(resp.status, resp.reason or ""))
            if not data.strip() or len(data) > MAX_ANSWER:
                raise CommError(EMPTY)
            return data
        finally:
            try:
                sock.close()
            except OSError:
                pass

    def _connect(self, host: str, port: int, deadline: float) -> socket.socket:
        last: Exception | None = None
        for address in self.resolver.resolve(host, port):
            left = deadline - time.monotonic()
            if left <= 0:
                raise CommError(TIMED_OUT)
            try:
                sock = socket.create_connection(address, timeout=min(self.connect_timeout, left))
                sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)   # headers and body: no Nagle stall
                return sock
            except ConnectionRefusedError as exc:
                last = exc
            except (socket.timeout, TimeoutError):
                raise CommError(TIMED_OUT) from None
            except OSError as exc:
                last = exc
        if isinstance(last, ConnectionRefusedError) or last is None:
            raise CommError(REFUSED)
        raise CommError(f"Unable to connect to the server: {last.strerror or last}")

    def _tunnel(self, sock: socket.socket, host: str, port: int, deadline: float) -> None:
        """CONNECT through the proxy; only the status code of its answer is checked (L10405-10410)."""
        try:
            sock.settimeout(max(0.1, deadline - time.monotonic()))
            sock.sendall(f"CONNECT {host}:{port} HTTP/1.1\r\nHost: {host}:{port}\r\n\r\n".encode())
            head = b""
            while b"\r\n\r\n" not in head:
                chunk = sock.recv(4096)
                if not chunk:
                    raise CommError(EMPTY)
                head += chunk
                if len(head) > 65536:
                    raise CommError(EMPTY)
        except (socket.timeout, TimeoutError):
            raise CommError(TIMED_OUT) from None
        except OSError:
            raise CommError(EMPTY) from None
        fields = head.split(b"\r\n", 1)[0].split()
        if len(fields) < 2 or not fields[1].isdigit() or not 200 <= int(fields[1]) < 300:
            code = fields[1].decode(errors="replace") if len(fields) > 1 else "?"
            raise CommError(f"Proxy error occurred: HTTP {code}")

    def _tls(self, sock: socket.socket, host: str, verify: bool) -> socket.socket:
        if verify:
            context = ssl.create_default_context(cafile=self.ca_file)
        else:                                  # no license smart server-identity-check
            context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
            context.check_hostname = False
            context.verify_mode = ssl.CERT_NONE
        try:
            return context.wrap_socket(sock, server_hostname=host)
        except (socket.timeout, TimeoutError):
            raise CommError(TIMED_OUT) from None
        except (ssl.SSLError, ssl.CertificateError, OSError):
            raise CommError(TLS_FAILED) from None


def pushproto_json(message: dict) -> bytes:
    import json
    return json.dumps(message, separators=(",", ":")).encode()


def parse_hosts(entries) -> dict[str, str]:
    """`NAME=ADDRESS` entries of `--ip-host` → a host table."""
    hosts = {}
    for entry in entries or ():
        name, sep, address = entry.partition("=")
        if not sep or not name.strip() or not address.strip():
            raise ValueError(f"--ip-host takes NAME=ADDRESS, not {entry!r}")
        hosts[name.strip()] = address.strip()
    return hosts
