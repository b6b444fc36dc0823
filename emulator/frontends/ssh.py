"""The shared SSH server of the front-ends (paramiko): host key, authentication, accept loop, dispatch.

One `SSHServer` listens on one address and port. Each connection gets a paramiko Transport on its own
thread; each session channel on it is dispatched by what the client asks for:

* ``shell``      -> ``shell_handler(session)``                (interactive CLI)
* ``exec``       -> ``exec_handler(session, command)``        (``ssh host 'show version'``, ``scp -t``)
* ``subsystem``  -> the paramiko ``SubsystemHandler`` class registered under that name
                    (``sftp`` here; the NETCONF server registers ``netconf`` on its own port)

Handlers run on their own daemon thread and must close nothing but their channel; the server closes the
transport when the client goes away or at `stop()`.

Authentication: passwords through ``authenticate_password(user, password) -> privilege | None`` (the
device's users, ``Device.check_password``), public keys from an OpenSSH ``authorized_keys`` file (read
at every attempt, so edits apply at once). A key line whose comment names a user logs in only as that
user; a key without a comment logs in as any of the device's users (``known_user``). Privilege of a key
login: the device user's, else 15.

The host key is kept in the state directory (created on first start, mode 0600), so clients see the same
key across restarts.

Resource use (issue 14): a connection costs a thread only once the client has sent its SSH identification
string; until then (the server's own string is sent at once, as IOS does: some clients wait for it before
sending theirs) the accept loop watches it with a selector (BANNER_TIMEOUT seconds, MAX_PENDING in all,
PENDING_PER_ADDRESS per address), so silent or bare TCP connections use no slot and log at most one
debug line. Connections in the handshake/authentication phase are capped (MAX_STARTUPS, STARTUPS_PER_ADDRESS)
and timed (HANDSHAKE_TIMEOUT, AUTH_TIMEOUT); a connection may open MAX_CHANNELS session channels and a user
MAX_SESSIONS_PER_USER sessions on one server; AUTH_RETRIES failed passwords end a connection. paramiko's
own logging is silenced: a failed connection is one line of ours.

With a `device`, the server applies its settings: the SSH algorithms offered (`ip ssh server algorithm
encryption|mac|kex|hostkey`, IOS XE 17.x's defaults otherwise: no CBC, 3DES, MD5 or SHA-1) and IOS's login
protection (`.login`), shared by every server of that device. The accept loop watches any number of
listening sockets (a fleet's server has one per device endpoint and counts its caps per client address
and device, `client_key`).
"""

from __future__ import annotations

import base64
import logging
import os
import selectors
import socket
import threading
import time
import weakref
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import paramiko

from .login import login_guard_for

log = logging.getLogger(__name__)

BANNER_TIMEOUT = 10.0          # seconds a new connection has to send its SSH identification string
HANDSHAKE_TIMEOUT = 10.0       # seconds for the key exchange after it
AUTH_TIMEOUT = 30.0            # seconds to authenticate
MAX_PENDING = 512              # connections waiting for their identification string (no thread)
PENDING_PER_ADDRESS = 256
MAX_STARTUPS = 32              # connections in the handshake/authentication phase (2 threads each)
STARTUPS_PER_ADDRESS = 10
MAX_CHANNELS = 8               # session channels on one connection
MAX_SESSIONS_PER_USER = 16     # session channels of one user on one server
AUTH_RETRIES = 3               # failed password attempts before the connection is closed (ip ssh authentication-retries)
SERVER_VERSION = "SSH-2.0-Cisco-1.25"   # IOS XE's identification string, sent as soon as a client connects
LISTENER = "listener"          # selector data of a listening socket

# IOS XE 17.x's defaults (`show ip ssh`), in paramiko's names; `ip ssh server algorithm ...` changes them
DEFAULT_ALGORITHMS = {
    "encryption": ("aes128-gcm@openssh.com", "aes256-gcm@openssh.com", "aes128-ctr", "aes192-ctr", "aes256-ctr"),
    "mac": ("hmac-sha2-256-etm@openssh.com", "hmac-sha2-512-etm@openssh.com", "hmac-sha2-256", "hmac-sha2-512"),
    "kex": ("ecdh-sha2-nistp256", "ecdh-sha2-nistp384", "ecdh-sha2-nistp521", "diffie-hellman-group14-sha256",
            "diffie-hellman-group16-sha512"),
    "hostkey": ("ecdsa-sha2-nistp256",),
}
# what `ip ssh server algorithm <kind>` accepts (IOS names and the OpenSSH ones), as paramiko names them
ALGORITHM_NAMES = {
    "encryption": {"aes128-ctr": "aes128-ctr", "aes192-ctr": "aes192-ctr", "aes256-ctr": "aes256-ctr",
                   "aes128-gcm": "aes128-gcm@openssh.com", "aes256-gcm": "aes256-gcm@openssh.com",
                   "aes128-gcm@openssh.com": "aes128-gcm@openssh.com",
                   "aes256-gcm@openssh.com": "aes256-gcm@openssh.com",
                   "aes128-cbc": "aes128-cbc", "aes192-cbc": "aes192-cbc", "aes256-cbc": "aes256-cbc",
                   "3des-cbc": "3des-cbc"},
    "mac": {"hmac-sha2-256": "hmac-sha2-256", "hmac-sha2-512": "hmac-sha2-512",
            "hmac-sha2-256-etm@openssh.com": "hmac-sha2-256-etm@openssh.com",
            "hmac-sha2-512-etm@openssh.com": "hmac-sha2-512-etm@openssh.com",
            "hmac-sha1": "hmac-sha1", "hmac-sha1-96": "hmac-sha1-96"},
    "kex": {"ecdh-sha2-nistp256": "ecdh-sha2-nistp256", "ecdh-sha2-nistp384": "ecdh-sha2-nistp384",
            "ecdh-sha2-nistp521": "ecdh-sha2-nistp521",
            "diffie-hellman-group14-sha256": "diffie-hellman-group14-sha256",
            "diffie-hellman-group16-sha512": "diffie-hellman-group16-sha512",
            "curve25519-sha256": "curve25519-sha256@libssh.org",
            "curve25519-sha256@libssh.org": "curve25519-sha256@libssh.org"},
    "hostkey": {"ecdsa-sha2-nistp256": "ecdsa-sha2-nistp256"},
}
_QUIET = logging.getLogger("emulator.frontends.ssh.paramiko")   # paramiko's per-connection chatter
_QUIET.setLevel(logging.CRITICAL + 1)
_QUIET.propagate = False


def algorithms_of(system) -> dict[str, tuple[str, ...]]:
    """The algorithms a device offers: its `ip ssh server algorithm` settings, else the defaults."""
    out = {}
    for kind, default in DEFAULT_ALGORITHMS.items():
        chosen = tuple(getattr(system, f"ssh_{kind}", ()) or ())
        out[kind] = tuple(ALGORITHM_NAMES[kind].get(a, a) for a in chosen) or default
    return out


HOST_KEY_NAME = "ssh_host_ecdsa_key"
AUTHORIZED_KEYS_NAME = "authorized_keys"

_KEY_CLASSES = {
    "ssh-rsa": paramiko.RSAKey,
    "ssh-ed25519": paramiko.Ed25519Key,
    "ecdsa-sha2-nistp256": paramiko.ECDSAKey,
    "ecdsa-sha2-nistp384": paramiko.ECDSAKey,
    "ecdsa-sha2-nistp521": paramiko.ECDSAKey,
}


def load_host_key(path: str | Path) -> paramiko.PKey:
    """The server's host key from `path`, created there (ECDSA P-256, mode 0600) if missing."""
    path = Path(path)
    if path.exists():
        return paramiko.ECDSAKey.from_private_key_file(str(path))
    path.parent.mkdir(parents=True, exist_ok=True)
    key = paramiko.ECDSAKey.generate(bits=256)
    tmp = path.with_name(path.name + ".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as f:
        key.write_private_key(f)
    os.replace(tmp, path)
    return key


def read_authorized_keys(path: str | Path | None) -> list[tuple[paramiko.PKey, str | None]]:
    """(key, comment) for each readable line of an OpenSSH authorized_keys file; bad lines are skipped."""
    if path is None:
        return []
    try:
        text = Path(path).read_text()
    except OSError:
        return []
    keys = []
    for line in text.splitlines():
        parts = line.strip().split()
        if not parts or parts[0].startswith("#"):
            continue
        # Options before the key type (OpenSSH syntax) are skipped.
        while parts and parts[0] not in _KEY_CLASSES:
            parts = parts[1:]
        if len(parts) < 2:
            continue
        try:
            key = _KEY_CLASSES[parts[0]](data=base64.b64decode(parts[1]))
        except Exception:   # a malformed line must not lock everyone out
            continue
        keys.append((key, parts[2] if len(parts) > 2 else None))
    return keys


@dataclass
class SSHSession:
    """What a handler knows about its channel."""
    channel: paramiko.Channel
    username: str
    privilege: int
    peer: tuple
    pty: bool = False
    term: str = "vt100"
    width: int = 80
    height: int = 24
    server: "SSHServer | None" = None
    resize_listeners: list[Callable[[int, int], None]] = field(default_factory=list)

    def on_resize(self, width: int, height: int) -> None:
        self.width, self.height = width, height
        for listener in list(self.resize_listeners):
            listener(width, height)


class _Interface(paramiko.ServerInterface):
    def __init__(self, server: "SSHServer", transport: paramiko.Transport, peer):
        self.server = server
        self.transport = transport
        self.peer = peer
        self.username: str | None = None
        self.privilege = 0
        self.sessions: dict[int, SSHSession] = {}
        self.failures = 0
        self.opened: set[int] = set()
        self.replied: list[threading.Event] = []
        send = transport._send_user_message
        transport_thread = transport

        def send_then_release(message):
            send(message)
            if threading.current_thread() is transport_thread and self.replied:
                for event in self.replied:
                    event.set()
                self.replied.clear()
        transport._send_user_message = send_then_release

    # ------------------------------------------------------------------ authentication
    def get_allowed_auths(self, username):
        return "password,publickey"

    def check_auth_password(self, username, password):
        guard = getattr(self.server, "login_guard", None)
        if self.failures >= AUTH_RETRIES:
            self.transport.close()
            return paramiko.AUTH_FAILED
        if guard is not None and not guard.before_attempt():
            self.failures += 1                       # Quiet Mode: every login is refused
            return paramiko.AUTH_FAILED
        try:
            privilege = self.server.authenticate_password(username, password)
        except Exception:
            privilege = None
        if privilege is None:
            self.failures += 1
            if guard is not None:
                guard.failed(username, str(self.peer[0]) if self.peer else "", self.server.port or 0)
            if self.failures >= AUTH_RETRIES:
                log.info("%s: %s failed %d passwords; connection closed", self.server.name,
                         self.peer[0] if self.peer else "?", self.failures)
                threading.Timer(0.2, self.transport.close).start()
            return paramiko.AUTH_FAILED
        self.username, self.privilege = username, privilege
        return paramiko.AUTH_SUCCESSFUL

    def check_auth_publickey(self, username, key):
        guard = getattr(self.server, "login_guard", None)
        if guard is not None and guard.quiet():
            return paramiko.AUTH_FAILED
        for allowed, comment in read_authorized_keys(self.server.authorized_keys_path):
            if allowed.get_name() != key.get_name() or allowed.asbytes() != key.asbytes():
                continue
            if comment is not None and comment != username and comment.split("@")[0] != username:
                continue
            privilege = self.server.key_privilege(username, comment is not None)
            if privilege is None:
                continue
            self.username, self.privilege = username, privilege
            return paramiko.AUTH_SUCCESSFUL
        return paramiko.AUTH_FAILED

    # ------------------------------------------------------------------ channels
    def open_channels(self) -> int:
        channels = getattr(self.transport, "_channels", None)
        if channels is None:
            return 0
        return sum(1 for cid in self.opened if (ch := channels.get(cid)) is not None and not ch.closed)

    def check_channel_request(self, kind, chanid):
        if kind != "session":
            return paramiko.OPEN_FAILED_ADMINISTRATIVELY_PROHIBITED
        if self.open_channels() >= MAX_CHANNELS:
            log.info("%s: %s asked for more than %d channels on one connection", self.server.name,
                     self.peer[0] if self.peer else "?", MAX_CHANNELS)
            return paramiko.OPEN_FAILED_RESOURCE_SHORTAGE
        if self.server.user_sessions(self.username, getattr(self.server, "authenticate_password", None)) \
                >= MAX_SESSIONS_PER_USER:
            log.info("%s: user %s already has %d sessions", self.server.name, self.username,
                     MAX_SESSIONS_PER_USER)
            return paramiko.OPEN_FAILED_RESOURCE_SHORTAGE
        self.opened.add(chanid)
        return paramiko.OPEN_SUCCEEDED

    def _session(self, channel) -> SSHSession:
        sess = self.sessions.get(channel.get_id())
        if sess is None:
            sess = SSHSession(channel=channel, username=self.username or "", privilege=self.privilege,
                              peer=self.peer, server=self.server)
            self.sessions[channel.get_id()] = sess
        return sess

    def check_channel_pty_request(self, channel, term, width, height, pixelwidth, pixelheight, modes):
        sess = self._session(channel)
        sess.pty = True
        sess.term = term.decode() if isinstance(term, bytes) else str(term)
        sess.width, sess.height = int(width) or 80, int(height) or 24
        return True

    def check_channel_window_change_request(self, channel, width, height, pixelwidth, pixelheight):
        self._session(channel).on_resize(int(width) or 80, int(height) or 24)
        return True

    def check_channel_env_request(self, channel, name, value):
        return False

    def _after_reply(self, target, *args) -> None:
        """Runs a handler once paramiko has sent the reply to the request being checked (the transport
        thread sends it right after this check returns), so that a handler that finishes at once cannot
        close its channel before the client has seen the request succeed."""
        ready = threading.Event()
        self.replied.append(ready)

        def run(*a):
            ready.wait(2.0)
            target(*a)
        self.server._spawn(run, *args)

    def check_channel_shell_request(self, channel):
        if self.server.shell_handler is None:
            return False
        self._after_reply(self.server.shell_handler, self._session(channel))
        return True

    def check_channel_exec_request(self, channel, command):
        if self.server.exec_handler is None:
            return False
        text = command.decode("utf-8", "replace") if isinstance(command, bytes) else str(command)
        self._after_reply(self.server.exec_handler, self._session(channel), text)
        return True

    def check_channel_subsystem_request(self, channel, name):
        if name not in self.server.subsystems:
            return False
        self._session(channel)
        return super().check_channel_subsystem_request(channel, name)


class _Greeted:
    """A connection whose server identification string went out when it was accepted: paramiko's own
    copy of it (the transport's first write) is not sent again."""

    def __init__(self, sock: socket.socket, greeting: bytes):
        self._sock = sock
        self._greeting = greeting

    def send(self, data) -> int:
        if self._greeting:
            sent, self._greeting = self._greeting, b""
            if bytes(data) == sent:
                return len(data)
        return self._sock.send(data)

    def __getattr__(self, name):
        return getattr(self._sock, name)


class SSHServer:
    """A paramiko SSH server on one address/port; see the module docstring."""

    def __init__(self, host: str, port: int, *, host_key_path: str | Path,
                 authenticate_password: Callable[[str, str], int | None],
                 authorized_keys_path: str | Path | None = None,
                 known_user: Callable[[str], int | None] | None = None,
                 shell_handler: Callable[[SSHSession], None] | None = None,
                 exec_handler: Callable[[SSHSession, str], None] | None = None,
                 subsystems: dict[str, tuple] | None = None,
                 name: str = "ssh", handshake_timeout: float = HANDSHAKE_TIMEOUT, auth_timeout: float = AUTH_TIMEOUT,
                 banner_timeout: float = BANNER_TIMEOUT, max_connections: int = 64, device=None):
        self.host = host
        self.requested_port = port
        self.port: int | None = None
        self.host_key = load_host_key(host_key_path)
        self.authenticate_password = authenticate_password
        self.authorized_keys_path = authorized_keys_path
        self.known_user = known_user
        self.shell_handler = shell_handler
        self.exec_handler = exec_handler
        # name -> (paramiko.SubsystemHandler subclass, args tuple, kwargs dict)
        self.subsystems: dict[str, tuple] = {}
        for sub_name, spec in (subsystems or {}).items():
            self.add_subsystem(sub_name, spec[0], *spec[1:])
        self.name = name
        self.handshake_timeout = handshake_timeout
        self.auth_timeout = auth_timeout
        self.banner_timeout = banner_timeout
        self.max_connections = max_connections
        self.device = device
        self.login_guard = login_guard_for(device) if device is not None else None
        self._sock: socket.socket | None = None
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._transports: set[paramiko.Transport] = set()
        self._interfaces: "weakref.WeakSet[_Interface]" = weakref.WeakSet()
        self._lock = threading.Lock()
        self._threads: set[threading.Thread] = set()
        self._startups: Counter = Counter()           # client key -> connections not yet authenticated
        self._selector = selectors.DefaultSelector()   # listening sockets and connections awaiting a banner
        self.max_pending = MAX_PENDING
        self.max_startups = MAX_STARTUPS

    # ------------------------------------------------------------------ limits and settings
    def user_sessions(self, username: str | None, users=None) -> int:
        """Open session channels of `username` on this server, counted per device: `users` is the
        connection's password check (`device.check_password`), which tells a device's connections apart
        when one server serves several devices."""
        return sum(iface.open_channels() for iface in list(self._interfaces)
                   if iface.username == username
                   and (users is None or getattr(iface.server, "authenticate_password", None) == users))

    def algorithms(self) -> dict[str, tuple[str, ...]]:
        return algorithms_of(self.device.system) if self.device is not None else dict(DEFAULT_ALGORITHMS)

    # ------------------------------------------------------------------ lifecycle
    def add_subsystem(self, name: str, handler_class, *args, **kwargs) -> None:
        """Registers a subsystem handler for connections accepted from now on (before `start()`)."""
        self.subsystems[name] = (handler_class, args, kwargs)

    def key_privilege(self, username: str, named: bool) -> int | None:
        level = self.known_user(username) if self.known_user else None
        if level is not None:
            return level
        return 15 if named else None

    def connection_target(self, conn: socket.socket):
        """What serves this connection: its users, handlers and subsystems (the attributes `_Interface`
        reads: authenticate_password, authorized_keys_path, key_privilege, shell_handler, exec_handler,
        subsystems, login_guard, algorithms, _spawn). This server itself; a fleet's server picks the device
        by local address."""
        return self

    def client_key(self, conn: socket.socket, host: str):
        """What the per-address caps count by: the client's address (a fleet's server: the client's
        address and the device it connects to, as each real router counts its own clients)."""
        return host

    def start(self) -> "SSHServer":
        family = socket.AF_INET6 if ":" in self.host else socket.AF_INET
        sock = socket.socket(family, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((self.host, self.requested_port))
        sock.listen(128)
        sock.setblocking(False)
        self._sock = sock
        self.port = sock.getsockname()[1]
        self._selector.register(sock, selectors.EVENT_READ, LISTENER)
        return self._start_accepting()

    def _start_accepting(self) -> "SSHServer":
        self._thread = threading.Thread(target=self._accept_loop, name=f"{self.name}-accept", daemon=True)
        self._thread.start()
        return self

    def stop(self, timeout: float = 5.0) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout)
        if self._sock is not None:
            try:
                self._sock.close()
            except OSError:
                pass
        self._selector.close()
        with self._lock:
            transports = list(self._transports)
        for t in transports:
            try:
                t.close()
            except Exception:
                pass
        with self._lock:
            threads = list(self._threads)
        for th in threads:
            th.join(timeout / max(1, len(threads)))

    def __enter__(self) -> "SSHServer":
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()

    # ------------------------------------------------------------------ internals
    def _spawn(self, target, *args) -> None:
        def run():
            try:
                target(*args)
            except Exception:  # a handler bug must never take the server down
                log.exception("%s handler failed", self.name)
                sess = args[0] if args and isinstance(args[0], SSHSession) else None
                if sess is not None:
                    try:
                        sess.channel.close()
                    except Exception:
                        pass
            finally:
                with self._lock:
                    self._threads.discard(threading.current_thread())
        th = threading.Thread(target=run, name=f"{self.name}-channel", daemon=True)
        with self._lock:
            self._threads.add(th)
        th.start()

    def _accept_loop(self) -> None:
        """Accepts connections on every listening socket of the selector and keeps the ones that have not
        sent their identification string there: a silent connection costs a socket, not a thread."""
        sel = self._selector
        pending: dict[socket.socket, tuple[str, int, float, object]] = {}   # sock -> (host, port, deadline, key)
        per_client: Counter = Counter()

        def drop(conn: socket.socket, why: str | None = None) -> None:
            host, port, _, key = pending.pop(conn)
            per_client[key] -= 1
            if per_client[key] <= 0:
                del per_client[key]
            try:
                sel.unregister(conn)
            except (KeyError, ValueError):
                pass
            if why is not None:
                conn.close()
                log.debug("%s: connection from %s:%s %s", self.name, host, port, why)

        def accept(listener: socket.socket) -> None:
            for _ in range(64):                            # what is queued on this listener
                try:
                    conn, addr = listener.accept()
                except (BlockingIOError, InterruptedError):
                    return
                except OSError:                            # closed (the server stops, a listener is removed)
                    return
                host = str(addr[0])
                try:
                    key = self.client_key(conn, host)
                except OSError:
                    conn.close()
                    continue
                if len(pending) >= self.max_pending or per_client[key] >= PENDING_PER_ADDRESS:
                    log.info("%s: connection from %s refused: too many waiting for their SSH banner",
                             self.name, host)
                    conn.close()
                    continue
                conn.setblocking(False)
                try:              # the server speaks first, as IOS does: some clients wait for it
                    conn.send(f"{SERVER_VERSION}\r\n".encode())
                except OSError:
                    conn.close()
                    continue
                pending[conn] = (host, addr[1], time.monotonic() + self.banner_timeout, key)
                per_client[key] += 1
                sel.register(conn, selectors.EVENT_READ, None)

        try:
            while not self._stop.is_set():
                try:
                    events = sel.select(0.5)
                except (OSError, ValueError):
                    if self._stop.is_set():
                        break
                    time.sleep(0.05)
                    continue
                for sel_key, _ in events:
                    if sel_key.data is LISTENER:
                        accept(sel_key.fileobj)
                        continue
                    conn = sel_key.fileobj
                    if conn not in pending:
                        continue
                    try:
                        head = conn.recv(8, socket.MSG_PEEK)
                    except (BlockingIOError, InterruptedError):
                        continue
                    except OSError:
                        drop(conn, "reset before its SSH banner")
                        continue
                    if not head:
                        drop(conn, "closed before its SSH banner")
                        continue
                    if not (b"SSH-".startswith(head[:4]) and (len(head) < 4 or head.startswith(b"SSH-"))):
                        host, port, _, _ = pending[conn]
                        drop(conn, None)
                        conn.close()
                        log.info("%s: connection from %s:%s is not SSH (it sent %r); closed", self.name, host,
                                 port, head)
                        continue
                    if len(head) < 4:
                        continue
                    host, port, _, key = pending[conn]
                    drop(conn, None)
                    self._hand_over(conn, (host, port), key)
                now = time.monotonic()
                for conn, (host, port, deadline, _) in list(pending.items()):
                    if now > deadline:
                        drop(conn, f"sent no SSH banner within {self.banner_timeout:g} s")
        finally:
            for conn in list(pending):
                drop(conn, "closed: the server stops")

    def _hand_over(self, conn: socket.socket, addr, key) -> None:
        with self._lock:
            busy = (len(self._transports) >= self.max_connections
                    or sum(self._startups.values()) >= self.max_startups
                    or self._startups[key] >= STARTUPS_PER_ADDRESS)
            if not busy:
                self._startups[key] += 1
        if busy:
            log.info("%s: connection from %s refused: too many connections", self.name, addr[0])
            conn.close()
            return
        conn.setblocking(True)
        conn.settimeout(None)
        try:                      # interactive and request/response traffic: no Nagle delay
            conn.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        except OSError:
            pass
        th = threading.Thread(target=self._serve_connection, args=(conn, addr, key), name=f"{self.name}-conn",
                              daemon=True)
        with self._lock:
            self._threads.add(th)
        th.start()

    def _authenticated(self, state: dict) -> None:
        """The connection leaves the handshake/authentication phase (authenticated, or ended)."""
        if not state["startup"]:
            return
        state["startup"] = False
        key = state["key"]
        with self._lock:
            self._startups[key] -= 1
            if self._startups[key] <= 0:
                del self._startups[key]

    def _serve_connection(self, conn: socket.socket, addr, key) -> None:
        state = {"startup": True, "key": key}
        try:
            self._serve_transport(conn, addr, state)
        finally:
            self._authenticated(state)
            with self._lock:
                self._threads.discard(threading.current_thread())

    def _serve_transport(self, conn: socket.socket, addr, state: dict) -> None:
        """Runs the SSH transport of one connection until it ends; closes the connection."""
        transport = None
        host = addr[0]
        try:
            target = self.connection_target(conn)
            transport = paramiko.Transport(_Greeted(conn, f"{SERVER_VERSION}\r\n".encode()))
            transport.set_log_channel(_QUIET.name)
            transport.local_version = SERVER_VERSION
            transport.handshake_timeout = self.handshake_timeout
            transport.auth_timeout = self.auth_timeout
            algorithms = target.algorithms()
            options = transport.get_security_options()
            options.ciphers = algorithms["encryption"]
            options.digests = algorithms["mac"]
            options.kex = algorithms["kex"]
            options.key_types = algorithms["hostkey"]
            transport.banner_timeout = self.banner_timeout
            transport.add_server_key(self.host_key)
            for name, spec in target.subsystems.items():
                handler_class, args, kwargs = spec
                transport.set_subsystem_handler(name, handler_class, *args, **kwargs)
            with self._lock:
                self._transports.add(transport)
            iface = _Interface(target, transport, addr)
            try:
                transport.start_server(server=iface)
                self._interfaces.add(iface)
            except (paramiko.SSHException, EOFError, OSError) as exc:
                log.info("%s: connection from %s:%s ended during the SSH handshake (%s)", self.name, host,
                         addr[1], exc or type(exc).__name__)
                return
            # Channels are served from the request callbacks; accept() drains the queue. The accepted
            # channels are kept referenced: paramiko closes a channel object that is garbage-collected.
            started = time.monotonic()
            channels: list = []
            while transport.is_active() and not self._stop.is_set():
                chan = transport.accept(timeout=0.5)
                channels = [c for c in channels if not c.closed]
                if chan is not None:
                    channels.append(chan)
                if transport.is_authenticated():
                    self._authenticated(state)
                elif time.monotonic() - started > self.auth_timeout:
                    log.info("%s: connection from %s:%s did not authenticate within %g s; closed", self.name,
                             host, addr[1], self.auth_timeout)
                    break
        except Exception:
            log.exception("%s connection from %s failed", self.name, addr)
        finally:
            if transport is not None:
                with self._lock:
                    self._transports.discard(transport)
                try:
                    transport.close()
                except Exception:
                    pass
            else:
                conn.close()
