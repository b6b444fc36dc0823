"""RESTCONF (RFC 8040) and the device's native SLP REST API `/smartlic-service` over HTTPS, from one Flask
application under cheroot; optionally the native API over plain HTTP too (`ip http server`).

    servers = start_restconf(device, host="127.0.0.1", port=8443, state_dir=Path("state"))
    servers.https.url     # https://127.0.0.1:8443
    servers.stop()
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from .app import create_app
from .server import WsgiServer
from .views import EXTENSION
from .tls import ensure_certificate

__all__ = ["RestconfServers", "create_app", "ensure_certificate", "start_restconf"]


@dataclass
class RestconfServers:
    https: WsgiServer
    http: WsgiServer | None = None
    apps: list = field(default_factory=list)

    def describe(self) -> list[str]:
        lines = [f"RESTCONF and /smartlic-service on {self.https.url}"]
        if self.http is not None:
            lines.append(f"/smartlic-service (plain HTTP) on {self.http.url}")
        return lines

    def stop(self) -> None:
        for server in (self.http, self.https):
            if server is not None:
                server.stop()
        for app in self.apps:
            rc = app.extensions.get(EXTENSION)
            if rc is not None:
                rc.close()


def start_restconf(device, *, host: str, port: int, state_dir: str | Path, http_port: int | None = None,
                   cert: str | Path | None = None, key: str | Path | None = None) -> RestconfServers:
    """Starts the HTTPS listener (RESTCONF + native API) and, if `http_port` is given, a plain-HTTP listener
    for the native API; giving `http_port` turns the device's `ip http server` on, as configuring it would."""
    cert_path, key_path = ensure_certificate(state_dir, hostname=device.hostname, host=host, cert=cert, key=key)
    app = create_app(device, restconf=True, secure=True)
    https = WsgiServer(app, host, port, cert=cert_path, key=key_path, name="slpemu-https").start()
    servers = RestconfServers(https=https, apps=[app])
    if http_port is not None:
        try:
            if not device.system.ip_http_server:
                device.apply_system_config({"ip_http_server": True})
            plain = create_app(device, restconf=False, secure=False)
            servers.http = WsgiServer(plain, host, http_port, name="slpemu-http").start()
            servers.apps.append(plain)
        except BaseException:
            servers.stop()
            raise
    return servers
