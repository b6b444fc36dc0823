"""The Flask application of one device: the RESTCONF Blueprint (`views.py`) and the native
`/smartlic-service` Blueprint (`native.py`) behind one gate (the device's `ip http [secure-]server` and
`restconf` settings, the body size limit, HTTP Basic authentication against the device's users, counted by
its `login block-for` protection), plus the
OpenAPI document. Errors not raised by a view (routing, authentication, size) get the error body of the
API the path belongs to."""

from __future__ import annotations

import logging
from pathlib import Path

from flask import Flask, Response, request
from werkzeug.exceptions import HTTPException

from ..login import login_guard_for
from . import native, views
from .errors import STATUS_TAGS, error, restconf_error_response

log = logging.getLogger(__name__)

MAX_BODY = 4 * 1024 * 1024
DRAIN_LIMIT = 16 * 1024 * 1024   # an oversized body up to this is read and dropped so that the client sees the 413
OPENAPI_PATH = Path(__file__).with_name("openapi.yaml")
PUBLIC = {"/.well-known/host-meta", "/openapi.yaml"}


def create_app(device, *, restconf: bool = True, secure: bool = True) -> Flask:
    """The application of one device. `restconf=False` serves only the native API (the plain-HTTP port);
    `secure` tells which of the device's `ip http [secure-]server` settings gates the listener."""
    app = Flask("slpemu.restconf")
    app.config["MAX_CONTENT_LENGTH"] = MAX_BODY
    app.url_map.strict_slashes = False
    app.extensions[native.EXTENSION] = device
    guard = login_guard_for(device)
    app.extensions[views.EXTENSION] = views.Restconf(device) if restconf else None
    if restconf:
        app.register_blueprint(views.blueprint)
    app.register_blueprint(native.blueprint)

    @app.after_request
    def _no_body_no_type(resp: Response) -> Response:
        if resp.status_code in (204, 304):        # no content: no Content-Type either (IOS XE sends none)
            resp.headers.pop("Content-Type", None)
        return resp

    def is_restconf() -> bool:
        return request.path.startswith(("/restconf", "/.well-known"))

    def fail(status: int, message: str, headers: dict | None = None) -> Response:
        if is_restconf():
            return restconf_error_response(error(status, message), headers)
        resp = native.error_response(status, message, STATUS_TAGS.get(status, "error"))
        if headers:
            resp.headers.update(headers)
        return resp

    @app.before_request
    def _gate():
        system = device.system
        if secure and not system.ip_http_secure_server:
            return fail(503, "the HTTP secure server is disabled (no ip http secure-server)")
        if not secure and not system.ip_http_server:
            return fail(503, "the HTTP server is disabled (no ip http server)")
        length = request.content_length
        if length is not None and length > MAX_BODY:
            if length <= DRAIN_LIMIT:
                stream, left = request.environ["wsgi.input"], length
                while left > 0:
                    chunk = stream.read(min(left, 65536))
                    if not chunk:
                        break
                    left -= len(chunk)
            return fail(413, f"the request body is larger than {MAX_BODY} bytes")
        if request.path in PUBLIC:
            return None
        if is_restconf() and not system.restconf:
            return fail(404, "RESTCONF is not enabled on this device (no restconf)")
        auth = request.authorization
        privilege = None
        challenge = {"WWW-Authenticate": 'Basic realm="slpemu"'}
        if auth is not None and auth.type == "basic" and auth.username is not None:
            if guard.quiet():
                return fail(401, "login refused: Quiet Mode is on (login block-for)", challenge)
            privilege = device.check_password(auth.username, auth.password or "")
            if privilege is None:
                guard.failed(auth.username, request.remote_addr or "", int(request.environ.get("SERVER_PORT") or 0))
        if privilege is None:
            return fail(401, "authentication required: HTTP Basic with a device user", challenge)
        if privilege < 15:
            return fail(403, f"user {auth.username} has privilege {privilege}; privilege 15 is required")
        return None

    @app.get("/openapi.yaml")
    def _openapi():
        return Response(OPENAPI_PATH.read_bytes(), content_type="application/yaml")

    @app.errorhandler(HTTPException)
    def _http_error(exc: HTTPException):
        headers = {}
        message = exc.description or exc.name
        if exc.code == 405:
            # the methods of the routes matching the path (a view's methods: MethodView derives them)
            headers["Allow"] = ", ".join(sorted(exc.valid_methods or ()))
            message = f"{request.method} is not allowed on this resource"
        if exc.code == 404:
            message = f"no resource {request.path}"
        if exc.code == 413:
            message = f"the request body is larger than {MAX_BODY} bytes"
        return fail(exc.code or 500, message, headers)

    @app.errorhandler(Exception)
    def _unexpected(exc: Exception):
        log.exception("unexpected error on %s %s", request.method, request.path)
        return fail(500, f"internal error: {type(exc).__name__}")

    return app
