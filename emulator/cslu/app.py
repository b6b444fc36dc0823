"""The CSLU (and SSM On-Prem) service's Flask application: the product-instance receiver at `/cslu/v1/pi`
(`/cslu/v1/pi/<tenant>-1` for On-Prem), the administration API under `/api/v1` (devices, collect, deliver,
export, import; HTTP Basic), test controls under `/slpemu-control`, and the web page at `/`."""

from __future__ import annotations

import time

from flask import Blueprint, Flask, Response, current_app, request
from markupsafe import escape

from .. import pushproto
from ..cssm_service.app import json_body, json_errors, json_response
from . import pull
from .core import CsluError, CsluService

PI_PATH = "/cslu/v1/pi"
EXTENSION = "slpemu.cslu"
MAX_BODY = 64 * 1024 * 1024


def service() -> CsluService:
    return current_app.extensions[EXTENSION]


def pi_blueprint() -> Blueprint:
    bp = Blueprint("pi", __name__)

    def receive(segment=None):
        try:
            return json_response(service().pi_message(request.get_data(cache=False), segment))
        except pushproto.ProtocolError as exc:
            return json_response(pushproto.failed(exc.message, exc.code), 400)

    bp.add_url_rule(PI_PATH, "pi", receive, methods=["POST"])
    bp.add_url_rule(f"{PI_PATH}/<segment>", "pi_tenant", receive, methods=["POST"])
    return bp


def admin_blueprint(user: str, password: str) -> Blueprint:
    bp = Blueprint("admin", __name__)

    @bp.before_request
    def _auth():
        auth = request.authorization
        if auth is None or auth.type != "basic" or auth.username != user or auth.password != password:
            raise CsluError(401, "HTTP Basic authentication with the administrator's credentials is required",
                            "UNAUTHORIZED")

    @bp.get("/api/v1/devices")
    def devices():
        return json_response({"devices": service().devices()})

    @bp.post("/api/v1/devices")
    def add_device():
        body = json_body(CsluError)
        try:
            target = pull.Target(name=str(body["name"]), host=str(body["host"]), method=str(body.get("method", "rest")),
                                 port=_port(body.get("port")), username=str(body.get("username", "admin")),
                                 password=str(body.get("password", "admin")), file_port=_port(body.get("file_port")))
        except KeyError as exc:
            raise CsluError(400, f"a device needs its {exc.args[0]}") from None
        service().add_device(target, str(body.get("tenant") or ""))
        return json_response({"status": "SUCCESS"})

    @bp.delete("/api/v1/devices/<name>")
    def remove_device(name):
        if not service().remove_device(name):
            raise CsluError(404, f"no device {name!r}", "UNKNOWN_DEVICE")
        return json_response({"status": "SUCCESS"})

    @bp.post("/api/v1/collect")
    def collect():
        names = json_body(CsluError).get("devices")
        return json_response({"results": service().collect(names if isinstance(names, list) else None)})

    @bp.post("/api/v1/deliver")
    def deliver():
        names = json_body(CsluError).get("devices")
        return json_response({"results": service().deliver(names if isinstance(names, list) else None)})

    @bp.get("/api/v1/export")
    def export():
        name, data, _ = service().export_bundle()
        return Response(data, mimetype="application/gzip",
                        headers={"Content-Disposition": f'attachment; filename="{name}"'})

    @bp.post("/api/v1/import")
    def import_():
        count = service().import_bundle(request.get_data(cache=False))
        return json_response({"status": "SUCCESS", "acks": count})

    @bp.get("/slpemu-control/clock")
    def clock():
        return json_response({"now": service().now()})

    @bp.post("/slpemu-control/advance-clock")
    def advance():
        return json_response({"now": service().advance(json_body(CsluError).get("seconds"))})

    return bp


def _port(value):
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or not 0 < value < 65536:
        raise CsluError(400, "a port is a number 1..65535")
    return value


def web_blueprint() -> Blueprint:
    bp = Blueprint("web", __name__)

    @bp.get("/")
    def index():
        return Response(render_page(service()), mimetype="text/html")

    return bp


def _t(value) -> str:
    return "-" if value is None else time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime(value))


def render_page(svc: CsluService) -> str:
    view = svc.overview()
    title = "SSM On-Prem" if svc.onprem else "Cisco Smart License Utility"
    mode = (f"Connected to CSSM ({escape(svc.cssm.base_url)})" if svc.connected else "Disconnected from CSSM")
    products = "".join(
        f'<tr data-udi="{escape(p["udi"])}"><td>{escape(p["udi"])}</td><td>{escape(p["hostname"] or "")}</td>'
        f'<td>{escape(p["tenant"] or "-")}</td><td>{escape(p["source"])}</td><td>{_t(p["last_contact"])}</td>'
        f'<td class="reports">{p["reports"]}</td><td class="waiting">{p["waiting"]}</td>'
        f'<td class="pending-acks">{p["pending_acks"]}</td></tr>' for p in view["products"])
    devices = "".join(
        f'<tr data-device="{escape(d["name"])}"><td>{escape(d["name"])}</td><td>{escape(d["host"])}</td>'
        f'<td>{escape(d["method"])}</td><td>{escape(d["udi"] or "-")}</td><td class="last-collection">'
        f'{_t(d["last_collection"])}</td><td>{_t(d["last_delivery"])}</td><td>{escape(d["last_error"] or "")}</td></tr>'
        for d in view["devices"])
    tenants = "".join(f"<li>{escape(t['name'])} — {escape(t['smart_account'])} / {escape(t['virtual_account'])} — "
                      f"CSLU Transport URL …{PI_PATH}/{escape(t['transport_id'])}</li>" for t in view["tenants"])
    return (
        f"<!DOCTYPE html><html><head><meta charset=\"utf-8\"><title>{title}</title><style>"
        "body{font-family:sans-serif;margin:1.5em}table{border-collapse:collapse;margin-bottom:1em}"
        "td,th{border:1px solid #bbb;padding:.25em .6em;text-align:left}th{background:#efe}</style></head><body>"
        f"<h1>{title}</h1><p id=\"mode\">{mode}</p>"
        + (f"<h2>Local accounts</h2><ul id=\"tenants\">{tenants}</ul>" if view["tenants"] else "")
        + "<h2>Product instances</h2><table id=\"product-instances\"><thead><tr><th>UDI</th><th>Hostname</th>"
        "<th>Account</th><th>Connect method</th><th>Last contact</th><th>Reports</th><th>Waiting for ACK</th>"
        f"<th>Pending ACKs</th></tr></thead><tbody>{products}</tbody></table>"
        "<h2>Devices (CSLU-initiated)</h2><table id=\"devices\"><thead><tr><th>Name</th><th>Host</th><th>Method</th>"
        "<th>UDI</th><th>Last collection</th><th>Last delivery</th><th>Last error</th></tr></thead>"
        f"<tbody>{devices}</tbody></table></body></html>\n")


def create_app(svc: CsluService, *, admin_user: str = "admin", admin_password: str = "admin") -> Flask:
    app = Flask("slpemu.cslu")
    app.config["MAX_CONTENT_LENGTH"] = MAX_BODY
    app.url_map.strict_slashes = False
    app.extensions[EXTENSION] = svc
    app.register_blueprint(pi_blueprint())
    app.register_blueprint(admin_blueprint(admin_user, admin_password))
    app.register_blueprint(web_blueprint())

    @app.errorhandler(CsluError)
    def _error(exc: CsluError):
        headers = {"WWW-Authenticate": 'Basic realm="CSLU"'} if exc.status == 401 else None
        return json_response({"status": "FAILED", "message": exc.message, "message_code": exc.code}, exc.status,
                             headers)

    json_errors(app, "CSLU")
    return app
