"""The fleet's shared servers: one SSH server (NETCONF and CLI/SCP/SFTP of every device) and one HTTPS
server (RESTCONF and the native API of every device), each with one listening socket per device address
and port, all watched by one selector thread; the device is picked per connection from the connection's
local address and port.

Why a listener per address, not one wildcard listener choosing by local address: a wildcard socket would
listen beyond the configured addresses (the fleet must not), and the measured costs are alike
(`benchmarks/fleet_bench.py`, `docs/scale.md`): a listening socket costs a file descriptor and ~1 kB of
kernel memory, epoll watches thousands at no per-event cost, and the device lookup is one dict access by
(address, port) either way.

Per-device state (NETCONF server, CLI grammars, Flask application) is built when a device is first
contacted and dropped when the fleet evicts the device (`pool.Fleet`). Work runs on bounded pools: the
HTTPS server's worker threads (`https_threads`) and at most `max_connections` SSH and HTTPS connections
each. Both servers are the single device's, hardened alike (`frontends/ssh.py`, `frontends/restconf/http.py`:
silent and slow clients cost a socket, not a thread; framing checks; caps per client address, counted per
device), with each device's SSH algorithms and login protection.
"""

from __future__ import annotations

import logging
import os
import selectors
import socket
import threading
from pathlib import Path

from cheroot import wsgi
from cheroot.ssl.builtin import BuiltinSSLAdapter

from ..engine.errors import DeviceError
from ..frontends.restconf.http import GuardedConnectionManager, GuardedServer
from ..frontends.restconf.server import APP_MAX_BODY, MAX_BODY, SOCKET_TIMEOUT
from ..frontends.login import login_guard_for
from ..frontends.ssh import (LISTENER, AUTHORIZED_KEYS_NAME, HOST_KEY_NAME, MAX_PENDING, MAX_STARTUPS, SSHServer,
                             algorithms_of)

log = logging.getLogger(__name__)

LISTEN_BACKLOG = 64


def bind_listener(address: str, port: int) -> socket.socket:
    family = socket.AF_INET6 if ":" in address else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((address, port))
        sock.listen(LISTEN_BACKLOG)
        sock.setblocking(False)
    except OSError as exc:
        sock.close()
        raise OSError(exc.errno, f"cannot listen on {address} port {port}: {exc.strerror}") from None
    return sock


# ============================================================================================== SSH
class _Target:
    """What one connection talks to: a device's users, handlers, subsystems, SSH algorithms and login
    protection (see `SSHServer.connection_target`)."""

    def __init__(self, server: "FleetSSHServer", device, port: int, *, shell=None, exec_=None, subsystems=None):
        self._server = server
        self.port = port
        self.authenticate_password = device.check_password
        self.authorized_keys_path = server.authorized_keys_path
        self.known_user = device.privilege_of
        self.login_guard = login_guard_for(device)
        self.algorithms = lambda: algorithms_of(device.system)
        self.shell_handler = shell
        self.exec_handler = exec_
        self.subsystems = subsystems or {}

    key_privilege = SSHServer.key_privilege

    def _spawn(self, target, *args) -> None:
        self._server._spawn(target, *args)

    def __getattr__(self, name):
        return getattr(self._server, name)


class FleetSSHServer(SSHServer):
    """One SSH server for every device of a fleet: NETCONF on each device's netconf port, the CLI (shell,
    exec, SCP, SFTP) on its ssh port. The single device's limits apply per device: connections waiting for
    their banner or authenticating are counted per client address and device."""

    def __init__(self, fleet, *, max_connections: int = 1024):
        state_dir = Path(fleet.state_dir)
        super().__init__("fleet", 0, host_key_path=state_dir / HOST_KEY_NAME,
                         authenticate_password=lambda user, password: None,
                         authorized_keys_path=state_dir / AUTHORIZED_KEYS_NAME, name="fleet-ssh",
                         max_connections=max_connections)
        self.fleet = fleet
        self.max_pending = max(MAX_PENDING, 2 * max_connections)
        self.max_startups = max(MAX_STARTUPS, max_connections // 4)
        self._listeners: dict[tuple[str, int], socket.socket] = {}
        self._local = threading.local()

    # ------------------------------------------------------------------ listeners
    def listen(self, address: str, port: int) -> None:
        sock = bind_listener(address, port)
        with self._lock:
            self._listeners[(address, port)] = sock
        self._selector.register(sock, selectors.EVENT_READ, LISTENER)

    def unlisten(self, address: str, port: int) -> None:
        with self._lock:
            sock = self._listeners.pop((address, port), None)
        if sock is not None:
            try:
                self._selector.unregister(sock)
            except (KeyError, ValueError):
                pass
            sock.close()

    def added(self, slot) -> None:
        spec = slot.spec
        self.listen(spec.address, spec.ports.ssh)
        try:
            self.listen(spec.address, spec.ports.netconf)
        except OSError:
            self.unlisten(spec.address, spec.ports.ssh)
            raise

    def removed(self, slot) -> None:
        spec = slot.spec
        for port in (spec.ports.ssh, spec.ports.netconf):
            self.unlisten(spec.address, port)

    @property
    def listener_count(self) -> int:
        return len(self._listeners)

    # ------------------------------------------------------------------ lifecycle
    def start(self) -> "FleetSSHServer":
        """Accepts on the listeners `listen()` adds to the selector (the fleet has no socket of its own)."""
        return self._start_accepting()

    def stop(self, timeout: float = 5.0) -> None:
        super().stop(timeout)
        with self._lock:
            listeners, self._listeners = list(self._listeners.values()), {}
        for sock in listeners:
            sock.close()

    # ------------------------------------------------------------------ per connection
    def client_key(self, conn: socket.socket, host: str):
        return host, conn.getsockname()[:2]

    def _serve_transport(self, conn: socket.socket, addr, state: dict) -> None:
        try:
            local = conn.getsockname()[:2]
        except OSError:
            conn.close()
            return
        entry = self.fleet.endpoints.get((local[0], local[1]))
        if entry is None:
            conn.close()
            return
        slot, role = entry
        try:
            with self.fleet.use(slot) as device:
                self._local.target = self._target(slot, role, device, local[1])
                super()._serve_transport(conn, addr, state)
        except DeviceError:
            try:
                conn.close()
            except OSError:
                pass
        finally:
            self._local.target = None

    def _target(self, slot, role: str, device, port: int) -> _Target:
        if role == "netconf":
            from ..frontends.netconf import NetconfSubsystem
            netconf = self.fleet.frontend(slot, "netconf")
            return _Target(self, device, port, subsystems={"netconf": (NetconfSubsystem, (netconf,), {})})
        cli = self.fleet.frontend(slot, "cli")
        return _Target(self, device, port, shell=cli.ssh.shell_handler, exec_=cli.ssh.exec_handler,
                       subsystems=dict(cli.ssh.subsystems))

    def connection_target(self, conn):
        return getattr(self._local, "target", None) or self


# ============================================================================================== HTTPS
class _Listener:
    """A device's HTTPS listening socket in the connection manager's selector (never expires)."""
    __slots__ = ("sock", "addr", "last_used")

    def __init__(self, sock: socket.socket, addr: tuple[str, int]):
        self.sock = sock
        self.addr = addr
        self.last_used = float("inf")

    def close(self) -> None:
        self.sock.close()


class _Connections(GuardedConnectionManager):
    """The single device's hardened connection manager (requests read before a worker sees them, TLS
    handshakes without blocking, caps, timeouts) with any number of device listening sockets in its
    selector; a connection remembers the device address it came in on, and the per-address cap counts
    per client address and device."""

    def add_listener(self, listener: _Listener) -> None:
        self._selector.register(listener.sock.fileno(), selectors.EVENT_READ, data=listener)

    def remove_listener(self, listener: _Listener) -> None:
        try:
            self._selector.unregister(listener.sock.fileno())
        except (KeyError, ValueError):
            pass
        listener.close()

    def accept_from(self, listener: _Listener) -> None:
        """Called in the selector thread when a device listener is readable (cheroot has unregistered it)."""
        for _ in range(64):                                # what is queued on this listener
            try:
                sock, addr = listener.sock.accept()
            except OSError:                                # nothing more (non-blocking), or closed
                break
            self.adopt(sock, addr, listener.addr)
        if listener.sock.fileno() >= 0:
            self.add_listener(listener)


class _Server(GuardedServer):
    ConnectionManagerClass = _Connections

    def process_conn(self, conn):
        if isinstance(conn, _Listener):
            self._connections.accept_from(conn)
            return
        super().process_conn(conn)


class _Gateway(wsgi.Gateway_10):
    """cheroot's WSGI 1.0 gateway, with the address and port the connection came in on."""

    def get_environ(self):
        env = super().get_environ()
        local = getattr(self.req.conn, "slpemu_local", None)
        if local is not None:
            env["SERVER_NAME"], env["SERVER_PORT"] = local[0], str(local[1])
            env["slpemu.local"] = local
        return env


class DeviceDispatch:
    """The WSGI application of the fleet's HTTPS server: the device's own Flask application, chosen by the
    local address of the request's connection (built on first use, dropped on eviction)."""

    def __init__(self, fleet):
        self.fleet = fleet

    def __call__(self, environ, start_response):
        entry = self.fleet.endpoints.get(environ.get("slpemu.local"))
        if entry is None:
            body = b"no device at this address\n"
            start_response("404 Not Found", [("Content-Type", "text/plain"), ("Content-Length", str(len(body)))])
            return [body]
        slot, _role = entry
        try:
            with self.fleet.use(slot):
                app = self.fleet.frontend(slot, "app")
                # the body is produced while the device is held (Flask responses are buffered bytes)
                return list(app(environ, start_response))
        except DeviceError:
            body = b"device removed\n"
            start_response("503 Service Unavailable", [("Content-Type", "text/plain"),
                                                       ("Content-Length", str(len(body)))])
            return [body]


class FleetHttpsServer:
    """One cheroot server (one worker pool) for the HTTPS endpoints of every device. cheroot's own socket
    is an abstract UNIX socket (reachable by no network address); the devices' TCP listeners are added
    to its selector."""

    def __init__(self, fleet, cert: str | Path, key: str | Path, threads: int = 16,
                 max_connections: int = 4096):
        self.fleet = fleet
        self.dispatch = DeviceDispatch(fleet)
        self.server = _Server(f"\0slpemu-fleet-https-{os.getpid()}-{id(self):x}", self.dispatch,
                              numthreads=threads, timeout=SOCKET_TIMEOUT, server_name="slpemu",
                              shutdown_timeout=2, max_body=APP_MAX_BODY, max_connections=max_connections)
        self.server.gateway = _Gateway
        self.server.max_request_body_size = MAX_BODY
        self.server.ssl_adapter = BuiltinSSLAdapter(str(cert), str(key))
        self.server.error_log = self._error_log
        self._listeners: dict[tuple[str, int], _Listener] = {}
        self._pending: list[_Listener] = []
        self._thread: threading.Thread | None = None

    @staticmethod
    def _error_log(msg: str = "", level: int = logging.INFO, traceback: bool = False) -> None:
        log.log(logging.ERROR if traceback else logging.DEBUG, "%s", msg, exc_info=traceback)

    def listen(self, address: str, port: int) -> None:
        listener = _Listener(bind_listener(address, port), (address, port))
        self._listeners[(address, port)] = listener
        manager = getattr(self.server, "_connections", None)
        if isinstance(manager, _Connections):
            manager.add_listener(listener)
        else:
            self._pending.append(listener)

    def unlisten(self, address: str, port: int) -> None:
        listener = self._listeners.pop((address, port), None)
        if listener is None:
            return
        manager = getattr(self.server, "_connections", None)
        if isinstance(manager, _Connections):
            manager.remove_listener(listener)
        else:
            listener.close()

    def added(self, slot) -> None:
        self.listen(slot.spec.address, slot.spec.ports.https)

    def removed(self, slot) -> None:
        self.unlisten(slot.spec.address, slot.spec.ports.https)

    @property
    def listener_count(self) -> int:
        return len(self._listeners)

    def start(self) -> "FleetHttpsServer":
        self.server.prepare()
        manager = self.server._connections
        for listener in self._pending:
            manager.add_listener(listener)
        self._pending = []
        self._thread = threading.Thread(target=self._serve, name="fleet-https", daemon=True)
        self._thread.start()
        return self

    def _serve(self) -> None:
        try:
            self.server.serve()
        except Exception:                                   # pragma: no cover
            log.exception("fleet HTTPS server stopped")

    def stop(self) -> None:
        self.server.stop()
        if self._thread is not None:
            self._thread.join(timeout=5)
        for listener in list(self._listeners.values()):
            listener.close()
        self._listeners.clear()
