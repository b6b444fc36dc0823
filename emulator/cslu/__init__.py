"""`slpemu cslu serve`: CSLU (and SSM On-Prem, the same service with tenants and the On-Prem URL form) as
its own process; see `core.py` for what it does and `app.py` for its HTTP interface."""

from __future__ import annotations

from pathlib import Path

from ..frontends.restconf.server import WsgiServer
from .app import PI_PATH, create_app
from .core import CsluError, CsluService

__all__ = ["CsluError", "CsluService", "PI_PATH", "create_app", "start_cslu"]


def start_cslu(svc: CsluService, *, host: str, port: int, tls: bool = False, hostname: str | None = None,
               cert: str | Path | None = None, key: str | Path | None = None, admin_user: str = "admin",
               admin_password: str = "admin") -> WsgiServer:
    app = create_app(svc, admin_user=admin_user, admin_password=admin_password)
    if not tls:
        return WsgiServer(app, host, port, name="slpemu-cslu").start()
    from ..cssm_service import service_certificate
    cert_path, key_path = service_certificate(svc.state_dir, "cslu", hostname=hostname or host, host=host,
                                              cert=cert, key=key)
    return WsgiServer(app, host, port, cert=cert_path, key=key_path, name="slpemu-cslu").start()
