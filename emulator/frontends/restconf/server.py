"""The production WSGI server under the Flask application: cheroot (threads, keep-alive), with its built-in
TLS adapter for HTTPS, hardened against slow clients and bad framing (`.http`). One `WsgiServer` listens on
one address and port (0: an ephemeral port)."""

from __future__ import annotations

import logging
import socket
import threading
import time
from pathlib import Path

from cheroot.ssl.builtin import BuiltinSSLAdapter

from .http import GuardedServer

log = logging.getLogger(__name__)

THREADS = 10                 # requests served at once (a router allows 5 HTTP connections by default)
SOCKET_TIMEOUT = 10          # seconds an idle keep-alive connection is kept
MAX_BODY = 16 * 1024 * 1024  # cheroot refuses larger bodies (413, connection closed); the app's limit is lower
APP_MAX_BODY = 4 * 1024 * 1024   # the application's limit, enforced here for chunked bodies (413)


class WsgiServer:
    def __init__(self, app, host: str, port: int, *, cert: str | Path | None = None,
                 key: str | Path | None = None, threads: int = THREADS, name: str = "slpemu-http",
                 max_body: int | None = None):
        if max_body is None:
            max_body = getattr(app, "config", {}).get("MAX_CONTENT_LENGTH") or APP_MAX_BODY
        self.server = GuardedServer((host, port), app, numthreads=threads, timeout=SOCKET_TIMEOUT,
                                    server_name="slpemu", shutdown_timeout=2, max_body=max_body)
        self.server.max_request_body_size = MAX_BODY
        self.server.error_log = self._error_log
        self.tls = cert is not None
        if cert is not None:
            self.server.ssl_adapter = BuiltinSSLAdapter(str(cert), str(key))
        self._name = name
        self._thread: threading.Thread | None = None

    @staticmethod
    def _error_log(msg: str = "", level: int = logging.INFO, traceback: bool = False) -> None:
        # cheroot reports every client that drops a TLS handshake or a connection: debug noise, not errors
        log.log(logging.ERROR if traceback else logging.DEBUG, "%s", msg, exc_info=traceback)

    @property
    def host(self) -> str:
        return self.server.bind_addr[0]

    @property
    def port(self) -> int:
        return self.server.bind_addr[1]

    @property
    def url(self) -> str:
        host = self.host
        if ":" in host:
            host = f"[{host}]"
        return f"{'https' if self.tls else 'http'}://{host}:{self.port}"

    def start(self) -> "WsgiServer":
        self.server.prepare()          # binds; bind_addr now holds the real port
        self._thread = threading.Thread(target=self._serve, name=self._name, daemon=True)
        self._thread.start()
        return self

    def _serve(self) -> None:
        try:
            self.server.serve()
        except Exception:               # pragma: no cover - logged, the device keeps running
            log.exception("%s stopped", self._name)

    def stop(self) -> None:
        # cheroot's selector loop notices a stop request only at its next wake-up (up to 0.5 s): a few
        # connection attempts wake it at once.
        poker = threading.Thread(target=self._poke, name=f"{self._name}-stop", daemon=True)
        poker.start()
        self.server.stop()
        poker.join(timeout=1)
        if self._thread is not None:
            self._thread.join(timeout=5)

    def _poke(self) -> None:
        host, port = self.host, self.port
        if host in ("0.0.0.0", "::"):
            host = "127.0.0.1" if host == "0.0.0.0" else "::1"
        for _ in range(5):
            time.sleep(0.02)
            if self._thread is None or not self._thread.is_alive():
                return
            try:
                with socket.create_connection((host, port), timeout=0.2):
                    pass
            except OSError:
                return
