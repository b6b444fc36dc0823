"""A running fleet: the devices (`pool.Fleet`), the shared SSH and HTTPS servers (`servers`), the
management endpoint (page + control RPCs over HTTP) and the local control socket.

Start-up is all or nothing: the inventory is checked before anything is created, every listening socket
is bound before any is served, and a failure stops what was started and raises `FleetError` with one line
naming the entry."""

from __future__ import annotations

import logging
import resource
import threading
from pathlib import Path
from typing import Callable

from .inventory import FleetPlan, InventoryError
from .pool import Fleet, FleetOptions

log = logging.getLogger(__name__)

CONTROL_SOCKET = "control.sock"


class FleetError(RuntimeError):
    """A fleet that cannot start: one line naming what is wrong."""


def raise_fd_limit(wanted: int) -> int:
    """Raises the soft limit of open files towards `wanted` (bounded by the hard limit); returns it."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    target = wanted if hard == resource.RLIM_INFINITY else min(wanted, hard)
    if target > soft:
        resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
        return target
    return soft


class FleetService:
    def __init__(self, state_dir: str | Path, plan: FleetPlan, options: FleetOptions | None = None, *,
                 https_threads: int = 16, max_connections: int = 1024, control_socket: bool = True,
                 management: bool = True, tls_cert=None, tls_key=None):
        self.state_dir = Path(state_dir)
        self.plan = plan
        self.fleet = Fleet(self.state_dir, plan, options)
        self.https_threads = https_threads
        self.max_connections = max_connections
        self.control_socket = control_socket
        self.management = management
        self.tls_cert, self.tls_key = tls_cert, tls_key
        self.ssh = None
        self.https = None
        self.web = None
        self.local = None
        self._started = False

    # ------------------------------------------------------------------ lifecycle
    def start(self, progress: Callable[[str, int, int], None] | None = None) -> "FleetService":
        progress = progress or (lambda phase, done, total: None)
        try:
            self._start(progress)
        except BaseException as exc:
            self.stop()
            if isinstance(exc, (FleetError, InventoryError)):
                raise
            if isinstance(exc, OSError):
                raise FleetError(str(exc)) from None
            raise
        return self

    def _start(self, progress) -> None:
        from ..frontends.restconf.tls import ensure_certificate
        from .servers import FleetHttpsServer, FleetSSHServer
        n = len(self.plan.devices)
        raise_fd_limit(3 * n + 4 * self.max_connections + 256)   # SSH: transports + waiting for a banner; HTTPS
        # 1. every listening socket first: an address in use stops the start before any device is created
        self.ssh = FleetSSHServer(self.fleet, max_connections=self.max_connections)
        cert, key = ensure_certificate(self.state_dir, hostname=f"slpemu-{self.plan.name}",
                                       host=self.plan.management_address, cert=self.tls_cert, key=self.tls_key)
        self.https = FleetHttpsServer(self.fleet, cert, key, threads=self.https_threads,
                                      max_connections=self.max_connections)
        for i, spec in enumerate(self.plan.devices, 1):
            try:
                self.ssh.listen(spec.address, spec.ports.ssh)
                self.ssh.listen(spec.address, spec.ports.netconf)
                self.https.listen(spec.address, spec.ports.https)
            except OSError as exc:
                raise FleetError(f"device {spec.id}: {exc.strerror or exc}") from None
            if i % 50 == 0 or i == n:
                progress("listen", i, n)
        if self.management:
            from ..frontends.restconf.server import WsgiServer
            from .control import create_control_app
            app = create_control_app(self)
            try:
                self.web = WsgiServer(app, self.plan.management_address, self.plan.management_port, threads=4,
                                      name="fleet-management")
                self.web.server.prepare()
            except OSError as exc:
                raise FleetError(f"management endpoint {self.plan.management_address}:{self.plan.management_port}: "
                                 f"{exc.strerror or exc}") from None
        # 2. the devices (created when new; the rest stay in the store until contacted or due)
        self.fleet.open(progress=lambda done, total: progress("devices", done, total))
        # devices added at run time in an earlier run listen too
        planned = {s.id for s in self.plan.devices}
        for slot in list(self.fleet.slots.values()):
            if slot.id not in planned:
                try:
                    self.ssh.added(slot)
                    self.https.added(slot)
                except OSError as exc:
                    raise FleetError(f"device {slot.id}: {exc.strerror or exc}") from None
        self.fleet.listeners = [self]
        # 3. serve
        self.ssh.start()
        self.https.start()
        if self.web is not None:
            self.web._thread = threading.Thread(target=self.web._serve, name="fleet-management", daemon=True)
            self.web._thread.start()
        if self.control_socket:
            self._start_control_socket()
        self.fleet.start()
        self._started = True

    def _start_control_socket(self) -> None:
        from cheroot import wsgi
        from .control import create_control_app
        path = self.state_dir / CONTROL_SOCKET
        self.local = wsgi.Server(str(path), create_control_app(self), numthreads=4, timeout=30,
                                 server_name="slpemu-fleet-control", shutdown_timeout=2)
        self.local.prepare()
        try:
            path.chmod(0o600)
        except OSError:
            pass
        threading.Thread(target=self.local.serve, name="fleet-control", daemon=True).start()

    def stop(self) -> None:
        if self.local is not None:
            self.local.stop()
            self.local = None
            try:
                (self.state_dir / CONTROL_SOCKET).unlink()
            except OSError:
                pass
        if self.web is not None:
            try:
                self.web.stop()
            except Exception:                                # a never-served WsgiServer
                try:
                    self.web.server.stop()
                except Exception:
                    pass
            self.web = None
        if self.https is not None:
            try:
                if self.https._thread is not None:
                    self.https.stop()
                else:
                    for key in list(self.https._listeners):
                        self.https.unlisten(*key)
            finally:
                self.https = None
        if self.ssh is not None:
            self.ssh.stop()
            self.ssh = None
        if self.fleet.store is not None:
            self.fleet.stop()

    # ------------------------------------------------------------------ add/remove hooks (pool.Fleet)
    def added(self, slot) -> None:
        self.ssh.added(slot)
        try:
            self.https.added(slot)
        except OSError:
            self.ssh.removed(slot)
            raise

    def removed(self, slot) -> None:
        self.ssh.removed(slot)
        self.https.removed(slot)

    # ------------------------------------------------------------------ views
    def status(self) -> dict:
        status = self.fleet.status()
        status["ssh-listeners"] = self.ssh.listener_count if self.ssh else 0
        status["https-listeners"] = self.https.listener_count if self.https else 0
        status["management-url"] = (f"http://{self.plan.management_address}:{self.plan.management_port}/"
                                    if self.web is not None else None)
        return status

    def describe(self) -> list[str]:
        lines = [f"{len(self.fleet.slots)} devices; SSH (CLI, SCP, SFTP) and NETCONF on "
                 f"{self.ssh.listener_count} listeners, RESTCONF and /smartlic-service (HTTPS) on "
                 f"{self.https.listener_count}"]
        if self.plan.devices:
            first, last = self.plan.devices[0], self.plan.devices[-1]
            lines.append(f"devices {first.id} at {first.address} (ssh {first.ports.ssh}, netconf {first.ports.netconf}, "
                         f"https {first.ports.https}) … {last.id} at {last.address}")
        if self.web is not None:
            lines.append(f"fleet page and control RPCs on http://{self.plan.management_address}:{self.plan.management_port}/")
        if self.local is not None:
            lines.append(f"local control socket {self.state_dir / CONTROL_SOCKET}")
        return lines
