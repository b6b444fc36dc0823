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
HTTPS server's worker threads (`https_threads`) and at most `max_connections` SSH connections at once.
"""

from __future__ import annotations

import logging
import os
import selectors
import socket
import threading
import time
from pathlib import Path

from cheroot import connections, wsgi
from cheroot.ssl.builtin import BuiltinSSLAdapter

from ..engine.errors import DeviceError
from ..frontends.restconf.server import MAX_BODY, SOCKET_TIMEOUT
from ..frontends.ssh import AUTHORIZED_KEYS_NAME, HOST_KEY_NAME, SSHServer

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
    """What one connection talks to: a device's users, handlers and subsystems (see
    `SSHServer.connection_target`)."""

    def __init__(self, server: "FleetSSHServer", device, *, shell=None, exec_=None, subsystems=None):
        self._server = server
        self.authenticate_password = device.check_password
        self.authorized_keys_path = server.authorized_keys_path
        self.known_user = device.privilege_of
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
    exec, SCP, SFTP) on its ssh port."""

    def __init__(self, fleet, *, max_connections: int = 1024):
        state_dir = Path(fleet.state_dir)
        super().__init__("fleet", 0, host_key_path=state_dir / HOST_KEY_NAME,
                         authenticate_password=lambda user, password: None,
                         authorized_keys_path=state_dir / AUTHORIZED_KEYS_NAME, name="fleet-ssh",
                         max_connections=max_connections)
        self.fleet = fleet
        self._selector = selectors.DefaultSelector()
        self._listeners: dict[tuple[str, int], socket.socket] = {}
        self._local = threading.local()

    # ------------------------------------------------------------------ listeners
    def listen(self, address: str, port: int) -> None:
        sock = bind_listener(address, port)
        with self._lock:
            self._listeners[(address, port)] = sock
        self._selector.register(sock, selectors.EVENT_READ)

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
        self.port = None
        self._thread = threading.Thread(target=self._accept_loop, name="fleet-ssh-accept", daemon=True)
        self._thread.start()
        return self

    def stop(self, timeout: float = 5.0) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout)
            self._thread = None
        for key in list(self._listeners):
            self.unlisten(*key)
        super().stop(timeout)
        self._selector.close()

    def _accept_loop(self) -> None:
        while not self._stop.is_set():
            try:
                events = self._selector.select(0.5)
            except (OSError, ValueError):
                if self._stop.is_set():
                    break
                time.sleep(0.05)
                continue
            for key, _ in events:
                sock = key.fileobj
                for _ in range(64):                    # drain what is queued on this listener
                    try:
                        conn, addr = sock.accept()
                    except (BlockingIOError, InterruptedError):
                        break
                    except OSError:
                        break
                    with self._lock:
                        busy = len(self._transports) >= self.max_connections
                    if busy:
                        conn.close()
                        continue
                    conn.setblocking(True)
                    try:                 # SSH set-up is many small writes: no Nagle/delayed-ACK stalls
                        conn.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
                    except OSError:
                        pass
                    th = threading.Thread(target=self._serve_connection, args=(conn, addr),
                                          name="fleet-ssh-conn", daemon=True)
                    with self._lock:
                        self._threads.add(th)
                    th.start()

    # ------------------------------------------------------------------ per connection
    def _serve_connection(self, conn: socket.socket, addr) -> None:
        try:
            local = conn.getsockname()[:2]
        except OSError:
            conn.close()
            return
        entry = self.fleet.endpoints.get((local[0], local[1]))
        if entry is None:
            conn.close()
            with self._lock:
                self._threads.discard(threading.current_thread())
            return
        slot, role = entry
        try:
            with self.fleet.use(slot) as device:
                self._local.target = self._target(slot, role, device)
                super()._serve_connection(conn, addr)
        except DeviceError:
            try:
                conn.close()
            except OSError:
                pass
        finally:
            self._local.target = None
            with self._lock:
                self._threads.discard(threading.current_thread())

    def _target(self, slot, role: str, device) -> _Target:
        if role == "netconf":
            from ..frontends.netconf import NetconfSubsystem
            netconf = self.fleet.frontend(slot, "netconf")
            return _Target(self, device, subsystems={"netconf": (NetconfSubsystem, (netconf,), {})})
        cli = self.fleet.frontend(slot, "cli")
        return _Target(self, device, shell=cli.ssh.shell_handler, exec_=cli.ssh.exec_handler,
                       subsystems=dict(cli.ssh.subsystems))

    def connection_target(self, conn):
        return getattr(self._local, "target", None) or self


# ============================================================================================== HTTPS
class _Listener:
    """A device's HTTPS listening socket in cheroot's selector (never expires)."""
    __slots__ = ("sock", "addr", "last_used")

    def __init__(self, sock: socket.socket, addr: tuple[str, int]):
        self.sock = sock
        self.addr = addr
        self.last_used = float("inf")

    def close(self) -> None:
        self.sock.close()


class _Accepted:
    """A connection accepted already, shaped as the listening socket cheroot's accept path takes."""

    def __init__(self, sock: socket.socket, addr):
        self._pair = (sock, addr)

    def accept(self):
        return self._pair


class _Connections(connections.ConnectionManager):
    """cheroot's connection manager with any number of extra listening sockets in its selector: a new
    connection on one is accepted at once, and its TLS handshake runs on a small pool of its own (not on
    the selector thread, as cheroot does for its own socket: a client stalling in the handshake would hold
    up every device's new connections); the connection remembers the local address it came in on."""

    HANDSHAKE_THREADS = 8

    def __init__(self, server):
        super().__init__(server)
        import concurrent.futures
        self._handshakes = concurrent.futures.ThreadPoolExecutor(self.HANDSHAKE_THREADS,
                                                                 thread_name_prefix="fleet-tls")

    def _handshake(self, sock: socket.socket, addr, local) -> None:
        try:
            new_conn = self._from_server_socket(_Accepted(sock, addr))
        except Exception:                                   # pragma: no cover - cheroot logs what it knows
            log.debug("TLS handshake from %s failed", addr, exc_info=True)
            sock.close()
            return
        if new_conn is None:
            sock.close()
            return
        new_conn.slpemu_local = local
        new_conn.remote_addr, new_conn.remote_port = addr[0], addr[1]
        self.server.process_conn(new_conn)

    def close(self):
        self._handshakes.shutdown(wait=False, cancel_futures=True)
        super().close()

    def add_listener(self, listener: _Listener) -> None:
        self._selector.register(listener.sock.fileno(), selectors.EVENT_READ, data=listener)

    def remove_listener(self, listener: _Listener) -> None:
        try:
            self._selector.unregister(listener.sock.fileno())
        except (KeyError, ValueError):
            pass
        listener.close()

    def _run(self, expiration_interval):
        last_expiration_check = time.time()
        while not self._stop_requested:
            try:
                active_list = self._selector.select(timeout=expiration_interval)
            except OSError:
                self._remove_invalid_sockets()
                continue
            for sock_fd, conn in active_list:
                if conn is self.server:
                    new_conn = self._from_server_socket(self.server.socket)
                    if new_conn is not None:
                        self.server.process_conn(new_conn)
                elif isinstance(conn, _Listener):
                    for _ in range(64):                    # what is queued on this listener
                        try:
                            sock, addr = conn.sock.accept()
                        except OSError:                    # nothing more (non-blocking), or closed
                            break
                        self._handshakes.submit(self._handshake, sock, addr, conn.addr)
                else:
                    self._selector.unregister(sock_fd)
                    self.server.process_conn(conn)
            now = time.time()
            if (now - last_expiration_check) > expiration_interval:
                self._expire(threshold=now - self.server.timeout)
                last_expiration_check = now


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

    def __init__(self, fleet, cert: str | Path, key: str | Path, threads: int = 16):
        self.fleet = fleet
        self.dispatch = DeviceDispatch(fleet)
        self.server = wsgi.Server(f"\0slpemu-fleet-https-{os.getpid()}-{id(self):x}", self.dispatch,
                                  numthreads=threads, timeout=SOCKET_TIMEOUT, server_name="slpemu",
                                  shutdown_timeout=2)
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
        default = self.server._connections
        manager = _Connections(self.server)
        default._selector.close()
        self.server._connections = manager
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
