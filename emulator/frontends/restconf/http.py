"""HTTP/1.1 hardening of the WSGI server (cheroot) under the RESTCONF / native REST application.

cheroot hands a connection to a worker thread as soon as it is readable and lets the worker read the
request line and headers at the client's pace; its TLS handshake runs in the accept loop. So a dozen slow
clients (one header line every few seconds, or a TCP connection that never starts TLS) held every worker,
and the accept loop, and RESTCONF stopped answering. Here:

* **Requests are read before a worker sees them.** The selector thread does the TLS handshake and reads a
  connection's bytes without blocking until the whole request head (and a body of up to PREREAD_BODY
  bytes) is there; only then does a worker get it. Slow or silent clients cost a socket and a buffer, not a
  thread. The head must arrive within HEADER_TIMEOUT seconds of the connection (or of the first byte of a
  keep-alive request); a larger body within BODY_TIMEOUT plus one second per MIN_BODY_RATE bytes.
* **Caps.** At most PER_ADDRESS connections per client address and MAX_CONNECTIONS in all; more are closed
  at once. Idle keep-alive connections count only against these caps.
* **Framing (RFC 9112).** Content-Length together with Transfer-Encoding, a Transfer-Encoding in HTTP/1.0
  or whose last coding is not chunked, a malformed or conflicting Content-Length, whitespace or any
  non-token byte in a header name, obsolete line folding, NUL/CR/LF in a header value and control bytes or
  an encoded NUL in the request target are refused with 400 and the connection closed. A chunked body is
  read here, up to the application's limit: a larger one gets 413 and the connection is closed (what is
  left of the body is never read as a next request); a malformed one gets 400 and is closed.
"""

from __future__ import annotations

import io
import logging
import re
import socket
import ssl
import threading
import time
from collections import Counter

from cheroot import connections, errors, server, wsgi
from cheroot.makefile import MakeFile

log = logging.getLogger(__name__)

HEADER_TIMEOUT = 10.0          # seconds for the request line and headers (TLS handshake included)
BODY_TIMEOUT = 10.0            # seconds for a body, plus one per MIN_BODY_RATE bytes
MIN_BODY_RATE = 64 * 1024
PREREAD_BODY = 256 * 1024      # bodies up to this size are read before a worker is involved
MAX_HEADER = 64 * 1024         # request line + headers
PER_ADDRESS = 16               # open connections per client address
MAX_CONNECTIONS = 512          # open connections in all

_TOKEN = re.compile(rb"[!#$%&'*+\-.^_`|~0-9A-Za-z]+")
_CL = re.compile(rb"^content-length[ \t]*:[ \t]*([^\r\n]*)", re.I | re.M)
_TE = re.compile(rb"^transfer-encoding[ \t]*:", re.I | re.M)
_CTL = re.compile(rb"[\x00-\x20\x7f]")


class GuardedSocket:
    """A connection's socket as cheroot's reader sees it: bytes already read (`prefix`) come first, and a
    read past `deadline` (time.monotonic) times out."""

    def __init__(self, sock, prefix: bytes = b""):
        self._sock = sock
        self.prefix = bytearray(prefix)
        self.deadline: float | None = None

    def __getattr__(self, name):
        return getattr(self._sock, name)

    def _before_read(self) -> None:
        if self.deadline is not None:
            left = self.deadline - time.monotonic()
            if left <= 0:
                raise socket.timeout("timed out")
            self._sock.settimeout(min(left, self._timeout))

    def recv_into(self, buffer, nbytes: int = 0, flags: int = 0) -> int:
        if self.prefix:
            n = min(len(buffer), nbytes or len(buffer), len(self.prefix))
            buffer[:n] = self.prefix[:n]
            del self.prefix[:n]
            return n
        self._before_read()
        return self._sock.recv_into(buffer, nbytes or len(buffer), flags)

    def recv(self, bufsize: int, flags: int = 0) -> bytes:
        if self.prefix:
            data = bytes(self.prefix[:bufsize])
            del self.prefix[:bufsize]
            return data
        self._before_read()
        return self._sock.recv(bufsize, flags)

    _timeout = 10.0

    def settimeout(self, value) -> None:
        self._timeout = value if value is not None else 3600.0
        self._sock.settimeout(value)

    def fileno(self) -> int:
        return self._sock.fileno()


class Pending:
    """A connection whose next request is not complete yet: owned by the selector thread, read without
    blocking. `conn` is the keep-alive HTTPConnection it came back as, or None for a new connection."""

    def __init__(self, manager: "GuardedConnectionManager", sock, addr, conn=None, prefix: bytes = b"",
                 local=None):
        self.manager = manager
        self.sock = sock
        self.addr = addr                   # what the caps count by (`GuardedConnectionManager.client_key`)
        self.local = local                 # the listening address it came in on, when not the server's own
        self.conn = conn
        self.buf = bytearray(prefix)
        self.tls = conn is None and manager.server.ssl_adapter is not None
        self.handshaken = not self.tls
        self.ssl_env: dict = {}
        now = time.monotonic()
        # a new connection has HEADER_TIMEOUT for TLS and its head; an idle keep-alive one the server's
        # keep-alive timeout until its next request starts, then HEADER_TIMEOUT for that request's head
        self.deadline = now + (HEADER_TIMEOUT if conn is None or prefix else manager.server.timeout)
        self.started = conn is None or bool(prefix)
        self.closed = False
        self.last_used = time.time()

    def fileno(self) -> int:
        return self.sock.fileno()

    def complete(self) -> bool:
        end = self.buf.find(b"\r\n\r\n")
        if end < 0:
            return len(self.buf) > MAX_HEADER            # cheroot answers the oversized head
        head = bytes(self.buf[:end + 2])
        if _TE.search(head):
            return True                                  # chunked: read by the worker, within its deadline
        m = _CL.search(head)
        if m is None:
            return True
        value = m.group(1).strip()
        if not value.isdigit() or int(value) > PREREAD_BODY:
            return True                                  # refused by the request, or read by the worker
        return len(self.buf) >= end + 4 + int(value)

    def advance(self) -> str:
        """Reads what arrived: "ready" (a request is complete), "wait" or "close"."""
        if not self.handshaken:
            try:
                self.sock.do_handshake()
            except (ssl.SSLWantReadError, ssl.SSLWantWriteError):
                return "wait"
            except (ssl.SSLError, OSError, ValueError):
                return "close"
            self.handshaken = True
            try:
                self.ssl_env = self.manager.server.ssl_adapter.get_environ(self.sock)
            except Exception:                            # noqa: BLE001 - environ extras only
                self.ssl_env = {}
        while len(self.buf) <= MAX_HEADER + PREREAD_BODY:
            try:
                data = self.sock.recv(65536)
            except (BlockingIOError, ssl.SSLWantReadError, ssl.SSLWantWriteError, InterruptedError):
                break
            except (OSError, ssl.SSLError, ValueError):
                return "close"
            if not data:
                return "close"
            if not self.started:
                self.started = True
                self.deadline = time.monotonic() + HEADER_TIMEOUT
            self.buf += data
        return "ready" if self.buf and self.complete() else "wait"

    def close(self) -> None:
        if self.closed:
            return
        self.closed = True
        if self.conn is not None:
            self.conn.close()
        else:
            try:
                self.sock.close()
            except OSError:
                pass
            self.manager.release(self.addr)


class GuardedConnection(server.HTTPConnection):
    """An HTTPConnection that gives its address slot back when closed and clears its body deadline after
    each request."""

    manager: "GuardedConnectionManager | None" = None
    addr = None
    slpemu_local = None            # the device address it came in on (a fleet's server)
    _released = False

    def communicate(self):
        try:
            return super().communicate()
        finally:
            if isinstance(self.socket, GuardedSocket):
                self.socket.deadline = None

    def close(self):
        try:
            super().close()
        finally:
            if not self._released and self.manager is not None:
                self._released = True
                self.manager.release(self.addr)


class GuardedConnectionManager(connections.ConnectionManager):
    def __init__(self, srv, *, max_connections: int = MAX_CONNECTIONS):
        super().__init__(srv)
        self._counts = threading.Lock()       # not the selector's: cheroot closes connections holding that
        self.per_address: Counter = Counter()
        self.total = 0
        self.pending = 0
        self.max_connections = max_connections

    # ------------------------------------------------------------------ caps
    def release(self, addr) -> None:
        with self._counts:
            self.total -= 1
            self.per_address[addr] -= 1
            if self.per_address[addr] <= 0:
                del self.per_address[addr]

    @property
    def can_add_keepalive_connection(self):
        limit = self.server.keep_alive_conn_limit
        return limit is None or self._num_connections - self.pending < limit

    # ------------------------------------------------------------------ accepting
    @staticmethod
    def client_key(host: str, local):
        """What the per-address cap counts by: the client's address, and the device's listening address
        when one server serves several devices (each real router counts its own clients)."""
        return host if local is None else (host, local)

    def _from_server_socket(self, server_socket):
        try:
            sock, addr = server_socket.accept()
        except (socket.timeout, BlockingIOError, InterruptedError):
            return None
        except OSError as exc:
            if exc.args and exc.args[0] in errors.socket_errors_to_ignore:
                return None
            raise
        self.adopt(sock, addr)
        return None

    def adopt(self, sock, addr, local=None) -> None:
        """Takes an accepted connection: refused beyond the caps, else watched until its first request
        is complete (TLS handshake included)."""
        host = addr[0] if isinstance(addr, tuple) else addr
        key = self.client_key(host, local)
        with self._counts:
            refused = self.total >= self.max_connections or self.per_address[key] >= PER_ADDRESS
            if not refused:
                self.total += 1
                self.per_address[key] += 1
        if refused:
            log.info("HTTP: connection from %s refused (%d open from that address, %d in all)", host,
                     self.per_address[key], self.total)
            sock.close()
            return
        try:
            connections.prevent_socket_inheritance(sock)
            sock.setblocking(False)
            if self.server.nodelay and sock.family in (socket.AF_INET, socket.AF_INET6):
                sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            if self.server.ssl_adapter is not None:
                sock = self.server.ssl_adapter.context.wrap_socket(sock, server_side=True,
                                                                   do_handshake_on_connect=False)
        except (OSError, ssl.SSLError):
            sock.close()
            self.release(key)
            return
        pending = Pending(self, sock, key, local=local)
        pending.remote = addr
        self._watch(pending)

    def _watch(self, pending: Pending) -> None:
        with self._counts:
            self.pending += 1
        self._selector.register(pending.fileno(), connections.selectors.EVENT_READ, data=pending)

    def _unwatched(self) -> None:
        with self._counts:
            self.pending -= 1

    def advance(self, pending: Pending) -> None:
        """Called in the selector thread when a pending connection is readable (it is unregistered)."""
        self._unwatched()
        state = pending.advance()
        if state == "wait":
            self._watch(pending)
            return
        if state == "close":
            pending.close()
            return
        pending.sock.settimeout(self.server.timeout)
        conn = pending.conn
        if conn is None:
            gsock = GuardedSocket(pending.sock, bytes(pending.buf))
            gsock.settimeout(self.server.timeout)
            makefile = self.server.ssl_adapter.makefile if self.server.ssl_adapter is not None else MakeFile
            conn = self.server.ConnectionClass(self.server, gsock, makefile)
            conn.manager, conn.addr = self, pending.addr
            conn.slpemu_local = pending.local
            remote = getattr(pending, "remote", None)
            if isinstance(remote, tuple):
                conn.remote_addr, conn.remote_port = remote[0], remote[1]
            conn.ssl_env = pending.ssl_env
        else:
            conn.socket.prefix += pending.buf
            conn.socket.settimeout(self.server.timeout)
        conn.last_used = time.time()
        self.server.process_conn(conn)

    # ------------------------------------------------------------------ keep-alive connections come back
    def put(self, conn):
        conn.last_used = time.time()
        if not isinstance(conn.socket, GuardedSocket):
            return super().put(conn)
        prefix = b""
        if conn.rfile.has_data():               # pipelined bytes cheroot's reader already holds
            prefix = conn.rfile.peek(0)
            conn.rfile.read(len(prefix))
        raw = conn.socket._sock
        pending = Pending(self, raw, conn.addr, conn=conn, prefix=prefix)
        try:
            raw.setblocking(False)
        except OSError:
            conn.close()
            return
        if prefix or (isinstance(raw, ssl.SSLSocket) and raw.pending()):
            # bytes that are already here would never wake the selector
            state = pending.advance()
            if state == "close":
                pending.close()
                return
            if state == "ready":
                raw.settimeout(self.server.timeout)
                conn.socket.prefix += pending.buf
                conn.socket.settimeout(self.server.timeout)
                self.server.process_conn(conn)
                return
        self._watch(pending)

    # ------------------------------------------------------------------ timeouts
    def _expire(self, threshold):
        now = time.monotonic()
        expired = []
        for sock_fd, conn in self._selector.connections:
            if conn is self.server:
                continue
            if isinstance(conn, Pending):
                if now > conn.deadline:
                    expired.append((sock_fd, conn))
            elif conn.last_used < threshold:
                expired.append((sock_fd, conn))
        for sock_fd, conn in expired:
            self._selector.unregister(sock_fd)
            if isinstance(conn, Pending):
                self._unwatched()
                if conn.started and conn.buf:
                    log.info("HTTP: request from %s not complete within %g s; connection closed", conn.addr,
                             HEADER_TIMEOUT)
            conn.close()


class GuardedRequest(server.HTTPRequest):
    """An HTTP request with RFC 9112 framing checks, a body deadline and chunked bodies read whole (and
    refused with 413 beyond the application's limit)."""

    def _refuse(self, status: str, message: str) -> None:
        """Answers and closes the connection: the stream may be out of step with the requests."""
        self.close_connection = True
        body = message.encode("ISO-8859-1", "replace")
        head = (f"{self.server.protocol} {status}\r\nContent-Length: {len(body)}\r\n"
                "Content-Type: text/plain\r\nConnection: close\r\n\r\n").encode("ISO-8859-1")
        try:
            self.conn.wfile.write(head + body)
        except OSError:
            pass

    def read_request_line(self):
        if not super().read_request_line():
            return False
        if _CTL.search(self.uri) or b"\x00" in self.path or b"%00" in self.qs:
            self._refuse("400 Bad Request", "Illegal character in the request target")
            return False
        return True

    def read_request_headers(self):
        if not super().read_request_headers():
            return False
        headers = self.inheaders
        cl, te = headers.get(b"Content-Length"), headers.get(b"Transfer-Encoding")
        if cl is not None and te is not None:
            self._refuse("400 Bad Request", "Content-Length and Transfer-Encoding in one request")
            return False
        if cl is not None and not cl.isdigit():
            self._refuse("400 Bad Request", "Malformed Content-Length")
            return False
        if te is not None:
            codings = [c.strip().lower() for c in te.split(b",") if c.strip()]
            if self.request_protocol == b"HTTP/1.0" or not codings or codings[-1] != b"chunked":
                self._refuse("400 Bad Request", "Unsupported Transfer-Encoding")
                return False
        size = int(cl) if cl is not None else (self.server.max_body if te is not None else 0)
        if size > 0 and isinstance(self.conn.socket, GuardedSocket):
            self.conn.socket.deadline = time.monotonic() + BODY_TIMEOUT + size / MIN_BODY_RATE
        return True

    def respond(self):
        if not self.chunked_read:
            return super().respond()
        try:
            body = read_chunked(self.conn.rfile, self.server.max_body)
        except BodyTooLarge:
            self._refuse("413 Request Entity Too Large",
                         f"The request body is larger than {self.server.max_body} bytes.")
            return
        except (ValueError, OSError) as exc:
            self._refuse("400 Bad Request", f"Bad chunked transfer coding: {exc}")
            return
        self.chunked_read = False
        del self.inheaders[b"Transfer-Encoding"]
        self.inheaders[b"Content-Length"] = str(len(body)).encode()
        self.rfile = server.KnownLengthRFile(io.BytesIO(body), len(body))
        self.server.gateway(self).respond()
        self.ready and self.ensure_headers_sent()
        if self.chunked_write:
            self.conn.wfile.write(b"0\r\n\r\n")


class StrictHeaderReader(server.HeaderReader):
    """RFC 9110/9112 field lines: a token name directly followed by ':', no obsolete line folding, no
    NUL/CR/LF in a value, one Content-Length."""

    def __call__(self, rfile, hdict=None):
        hdict = {} if hdict is None else hdict
        while True:
            line = rfile.readline()
            if not line:
                raise ValueError("Illegal end of headers.")
            if line == b"\r\n":
                te = hdict.get(b"Transfer-Encoding")
                if te is not None and te.rsplit(b",", 1)[-1].strip().lower() != b"chunked":
                    raise ValueError("Transfer-Encoding whose last coding is not chunked")
                return hdict
            if not line.endswith(b"\r\n"):
                raise ValueError("HTTP requires CRLF terminators")
            if line[:1] in (b" ", b"\t"):
                raise ValueError("Obsolete line folding is not accepted")
            name, sep, value = line[:-2].partition(b":")
            if not sep or not _TOKEN.fullmatch(name):
                raise ValueError("Illegal header name")
            value = value.strip(b" \t")
            if b"\x00" in value or b"\r" in value or b"\n" in value:
                raise ValueError("Illegal header value")
            key = name.title()
            if key == b"Content-Length" and key in hdict and hdict[key] != value:
                raise ValueError("Conflicting Content-Length headers")
            if key in server.comma_separated_headers and hdict.get(key):
                value = b", ".join((hdict[key], value))
            hdict[key] = value


GuardedRequest.header_reader = StrictHeaderReader()
GuardedConnection.RequestHandlerClass = GuardedRequest


class BodyTooLarge(Exception):
    pass


def read_chunked(rfile, limit: int) -> bytes:
    """A whole chunked body (RFC 9112 §7.1) with its trailer section; BodyTooLarge beyond `limit` bytes,
    ValueError when malformed."""
    body = bytearray()
    while True:
        line = rfile.readline(1026)
        if not line.endswith(b"\r\n"):
            raise ValueError("chunk size line")
        size_text = line[:-2].split(b";", 1)[0].strip()
        if not size_text or len(size_text) > 16 or any(c not in b"0123456789abcdefABCDEF" for c in size_text):
            raise ValueError("chunk size")
        size = int(size_text, 16)
        if size == 0:
            break
        if len(body) + size > limit:
            raise BodyTooLarge
        left = size
        while left:
            data = rfile.read(min(left, 65536))
            if not data:
                raise ValueError("the body ended early")
            body += data
            left -= len(data)
        if rfile.read(2) != b"\r\n":
            raise ValueError("chunk data not followed by CRLF")
    for _ in range(100):                          # the trailer section, ignored
        line = rfile.readline(8192)
        if line == b"\r\n":
            return bytes(body)
        if not line.endswith(b"\r\n"):
            raise ValueError("trailer")
    raise ValueError("too many trailer fields")


class GuardedServer(wsgi.Server):
    """cheroot's WSGI server with the connection handling above. `max_body`: the largest request body the
    application accepts (chunked bodies beyond it get 413 here); `max_connections`: open connections in
    all."""

    ConnectionClass = GuardedConnection
    ConnectionManagerClass = GuardedConnectionManager

    def __init__(self, *args, max_body: int, max_connections: int = MAX_CONNECTIONS, **kwargs):
        super().__init__(*args, **kwargs)
        self.max_body = max_body
        self.max_request_header_size = MAX_HEADER
        self.keep_alive_conn_limit = max_connections
        self.max_connections = max_connections

    def prepare(self):
        super().prepare()
        old = self._connections
        self._connections = self.ConnectionManagerClass(self, max_connections=self.max_connections)
        old._selector.close()

    def process_conn(self, conn):
        if isinstance(conn, Pending):
            self._connections.advance(conn)
            return
        super().process_conn(conn)
