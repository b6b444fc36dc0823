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
"""

from __future__ import annotations

import base64
import logging
import os
import socket
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import paramiko

log = logging.getLogger(__name__)

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
        try:
            privilege = self.server.authenticate_password(username, password)
        except Exception:
            privilege = None
        if privilege is None:
            self.failures += 1
            return paramiko.AUTH_FAILED
        self.username, self.privilege = username, privilege
        return paramiko.AUTH_SUCCESSFUL

    def check_auth_publickey(self, username, key):
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
    def check_channel_request(self, kind, chanid):
        if kind == "session":
            return paramiko.OPEN_SUCCEEDED
        return paramiko.OPEN_FAILED_ADMINISTRATIVELY_PROHIBITED

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


class SSHServer:
    """A paramiko SSH server on one address/port; see the module docstring."""

    def __init__(self, host: str, port: int, *, host_key_path: str | Path,
                 authenticate_password: Callable[[str, str], int | None],
                 authorized_keys_path: str | Path | None = None,
                 known_user: Callable[[str], int | None] | None = None,
                 shell_handler: Callable[[SSHSession], None] | None = None,
                 exec_handler: Callable[[SSHSession, str], None] | None = None,
                 subsystems: dict[str, tuple] | None = None,
                 name: str = "ssh", handshake_timeout: float = 15.0, auth_timeout: float = 30.0,
                 max_connections: int = 64):
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
        self.max_connections = max_connections
        self._sock: socket.socket | None = None
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._transports: set[paramiko.Transport] = set()
        self._lock = threading.Lock()
        self._threads: set[threading.Thread] = set()

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
        subsystems, _spawn). This server itself; a fleet's server picks the device by local address."""
        return self

    def start(self) -> "SSHServer":
        family = socket.AF_INET6 if ":" in self.host else socket.AF_INET
        sock = socket.socket(family, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((self.host, self.requested_port))
        sock.listen(32)
        sock.settimeout(0.5)
        self._sock = sock
        self.port = sock.getsockname()[1]
        self._thread = threading.Thread(target=self._accept_loop, name=f"{self.name}-accept", daemon=True)
        self._thread.start()
        return self

    def stop(self, timeout: float = 5.0) -> None:
        self._stop.set()
        if self._sock is not None:
            try:
                self._sock.close()
            except OSError:
                pass
        if self._thread is not None:
            self._thread.join(timeout)
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
        while not self._stop.is_set():
            try:
                conn, addr = self._sock.accept()
            except socket.timeout:
                continue
            except OSError:
                break
            with self._lock:
                busy = len(self._transports) >= self.max_connections
            if busy:
                conn.close()
                continue
            conn.settimeout(None)
            try:                      # interactive and request/response traffic: no Nagle delay
                conn.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            except OSError:
                pass
            th = threading.Thread(target=self._serve_connection, args=(conn, addr),
                                  name=f"{self.name}-conn", daemon=True)
            with self._lock:
                self._threads.add(th)
            th.start()

    def _serve_connection(self, conn: socket.socket, addr) -> None:
        transport = None
        try:
            transport = paramiko.Transport(conn)
            transport.local_version = "SSH-2.0-Cisco-1.25"
            transport.handshake_timeout = self.handshake_timeout
            transport.auth_timeout = self.auth_timeout
            transport.banner_timeout = self.handshake_timeout
            transport.add_server_key(self.host_key)
            target = self.connection_target(conn)
            for name, spec in target.subsystems.items():
                handler_class, args, kwargs = spec
                transport.set_subsystem_handler(name, handler_class, *args, **kwargs)
            with self._lock:
                self._transports.add(transport)
            iface = _Interface(target, transport, addr)
            try:
                transport.start_server(server=iface)
            except (paramiko.SSHException, EOFError, OSError):
                return
            # Channels are served from the request callbacks; accept() drains the queue. The accepted
            # channels are kept referenced: paramiko closes a channel object that is garbage-collected.
            waited = 0.0
            channels: list = []
            while transport.is_active() and not self._stop.is_set():
                chan = transport.accept(timeout=0.5)
                channels = [c for c in channels if not c.closed]
                if chan is not None:
                    channels.append(chan)
                if not transport.is_authenticated():
                    waited += 0.5
                    if waited > self.auth_timeout:
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
            with self._lock:
                self._threads.discard(threading.current_thread())
