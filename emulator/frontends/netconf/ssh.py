"""NETCONF over SSH (RFC 6242): the `netconf` subsystem on the device's NETCONF port.

`NetconfSubsystem` is a paramiko subsystem handler: it runs one `NetconfSession` on its channel. The SSH
server itself (host key kept in the state directory, password authentication against the device's users,
public keys from `<state dir>/authorized_keys`) is the small `NetconfSSHServer` below, with the same
constructor shape as the shared front-end SSH server so that either can host the subsystem.
"""

from __future__ import annotations

import base64
import logging
import os
import socket
import threading
from pathlib import Path

import paramiko

from .server import NetconfServer

log = logging.getLogger(__name__)

HOST_KEY_NAME = "ssh_host_ecdsa_key"
AUTHORIZED_KEYS_NAME = "authorized_keys"
HELLO_TIMEOUT = 60.0          # seconds a client has to send its hello
RECV_SIZE = 65536

_KEY_CLASSES = {"ssh-rsa": paramiko.RSAKey, "ssh-ed25519": paramiko.Ed25519Key,
                "ecdsa-sha2-nistp256": paramiko.ECDSAKey, "ecdsa-sha2-nistp384": paramiko.ECDSAKey,
                "ecdsa-sha2-nistp521": paramiko.ECDSAKey}


class NetconfSubsystem(paramiko.SubsystemHandler):
    """Serves one NETCONF session on an SSH channel. Extra argument: the device's NetconfServer."""

    def __init__(self, channel, name, server, netconf: NetconfServer, *args, **kwargs):
        super().__init__(channel, name, server)
        self.netconf = netconf

    def start_subsystem(self, name, transport, channel):
        iface = self.get_server()
        username = getattr(iface, "username", None) or ""
        privilege = getattr(iface, "privilege", 15)
        peer = getattr(iface, "peer", None) or transport.getpeername()
        if not self.netconf.device.system.get("netconf_yang", True):
            channel.close()                                    # `no netconf-yang`
            return
        session = self.netconf.open_session(channel.sendall, channel.close, username=username,
                                            privilege=privilege, source_host=str(peer[0]) if peer else "")
        channel.settimeout(HELLO_TIMEOUT)
        try:
            while not session.closed:
                try:
                    data = channel.recv(RECV_SIZE)
                except socket.timeout:
                    if not session.hello_done:
                        break                                  # no hello in time
                    continue
                if not data:
                    break
                if not session.receive(data):
                    break
                if session.hello_done and channel.gettimeout() is not None:
                    channel.settimeout(None)
        except (OSError, EOFError, paramiko.SSHException):
            pass
        finally:
            session.transport_closed()
            try:
                channel.close()
            except Exception:
                pass

    def finish_subsystem(self):
        super().finish_subsystem()


def load_host_key(path: Path) -> paramiko.PKey:
    if path.exists():
        return paramiko.ECDSAKey.from_private_key_file(str(path))
    path.parent.mkdir(parents=True, exist_ok=True)
    key = paramiko.ECDSAKey.generate(bits=256)
    tmp = path.with_name(f"{path.name}.{os.getpid()}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as f:
        key.write_private_key(f)
    try:
        os.link(tmp, path)                                     # first writer wins
    except FileExistsError:
        pass
    finally:
        os.unlink(tmp)
    return paramiko.ECDSAKey.from_private_key_file(str(path))


def _authorized_keys(path: Path | None) -> list[tuple[paramiko.PKey, str | None]]:
    if path is None:
        return []
    try:
        lines = path.read_text().splitlines()
    except OSError:
        return []
    out = []
    for line in lines:
        parts = line.split()
        while parts and parts[0] not in _KEY_CLASSES and not parts[0].startswith("#"):
            parts = parts[1:]                                  # options before the key type
        if len(parts) < 2 or parts[0].startswith("#"):
            continue
        try:
            out.append((_KEY_CLASSES[parts[0]](data=base64.b64decode(parts[1])),
                        parts[2] if len(parts) > 2 else None))
        except Exception:
            continue
    return out


class _Interface(paramiko.ServerInterface):
    def __init__(self, server: "NetconfSSHServer", peer):
        self.server = server
        self.peer = peer
        self.username: str | None = None
        self.privilege = 0

    def get_allowed_auths(self, username):
        return "password,publickey"

    def check_auth_password(self, username, password):
        try:
            privilege = self.server.authenticate_password(username, password)
        except Exception:
            privilege = None
        if privilege is None:
            return paramiko.AUTH_FAILED
        self.username, self.privilege = username, privilege
        return paramiko.AUTH_SUCCESSFUL

    def check_auth_publickey(self, username, key):
        for allowed, comment in _authorized_keys(self.server.authorized_keys_path):
            if allowed.get_name() != key.get_name() or allowed.asbytes() != key.asbytes():
                continue
            if comment is not None and comment.split("@")[0] != username:
                continue
            level = self.server.known_user(username) if self.server.known_user else None
            if level is None and comment is None:
                continue
            self.username, self.privilege = username, 15 if level is None else level
            return paramiko.AUTH_SUCCESSFUL
        return paramiko.AUTH_FAILED

    def check_channel_request(self, kind, chanid):
        return paramiko.OPEN_SUCCEEDED if kind == "session" else paramiko.OPEN_FAILED_ADMINISTRATIVELY_PROHIBITED

    def check_channel_subsystem_request(self, channel, name):
        if name not in self.server.subsystems:
            return False
        return super().check_channel_subsystem_request(channel, name)


class NetconfSSHServer:
    """A paramiko SSH server on one address and port that offers the registered subsystems."""

    def __init__(self, host: str, port: int, *, host_key_path, authenticate_password, authorized_keys_path=None,
                 known_user=None, subsystems: dict | None = None, name: str = "netconf",
                 handshake_timeout: float = 15.0, auth_timeout: float = 30.0, max_connections: int = 64):
        self.host = host
        self.requested_port = port
        self.port: int | None = None
        self.host_key = load_host_key(Path(host_key_path))
        self.authenticate_password = authenticate_password
        self.authorized_keys_path = Path(authorized_keys_path) if authorized_keys_path else None
        self.known_user = known_user
        self.subsystems = dict(subsystems or {})
        self.name = name
        self.handshake_timeout = handshake_timeout
        self.auth_timeout = auth_timeout
        self.max_connections = max_connections
        self._sock: socket.socket | None = None
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self._transports: set[paramiko.Transport] = set()
        self._thread: threading.Thread | None = None

    def start(self) -> "NetconfSSHServer":
        family = socket.AF_INET6 if ":" in self.host else socket.AF_INET
        sock = socket.socket(family, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((self.host, self.requested_port))
        sock.listen(64)
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
            conn.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            threading.Thread(target=self._serve, args=(conn, addr), name=f"{self.name}-conn", daemon=True).start()

    def _serve(self, conn: socket.socket, addr) -> None:
        transport = None
        try:
            transport = paramiko.Transport(conn)
            transport.local_version = "SSH-2.0-Cisco-1.25"
            transport.handshake_timeout = self.handshake_timeout
            transport.auth_timeout = self.auth_timeout
            transport.banner_timeout = self.handshake_timeout
            transport.add_server_key(self.host_key)
            for sub_name, spec in self.subsystems.items():
                transport.set_subsystem_handler(sub_name, spec[0], *spec[1:])
            with self._lock:
                self._transports.add(transport)
            try:
                transport.start_server(server=_Interface(self, addr))
            except (paramiko.SSHException, EOFError, OSError):
                return
            waited = 0.0
            channels = []        # paramiko keeps channels weakly: hold them, or they close when collected
            while transport.is_active() and not self._stop.is_set():
                chan = transport.accept(timeout=0.5)
                if chan is not None:
                    channels = [c for c in channels if not c.closed] + [chan]
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


class NetconfService:
    """The NETCONF front-end of one device: NetconfServer + SSH listener."""

    def __init__(self, device, host: str, port: int, state_dir: Path):
        state_dir = Path(state_dir)
        self.netconf = NetconfServer(device)

        def known_user(name: str):
            user = device.users().get(name)
            return None if user is None else user["privilege"]
        self.ssh = NetconfSSHServer(host, port, host_key_path=state_dir / HOST_KEY_NAME,
                                    authenticate_password=device.check_password,
                                    authorized_keys_path=state_dir / AUTHORIZED_KEYS_NAME,
                                    known_user=known_user,
                                    subsystems={"netconf": (NetconfSubsystem, self.netconf)})

    @property
    def port(self) -> int | None:
        return self.ssh.port

    def start(self) -> "NetconfService":
        self.ssh.start()
        return self

    def stop(self) -> None:
        self.netconf.close()
        self.ssh.stop()

    def describe(self) -> str:
        return f"NETCONF (SSH subsystem netconf) on {self.ssh.host}:{self.ssh.port}"
