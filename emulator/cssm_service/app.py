"""The CSSM service's Flask application: Blueprints for the OAuth2 token endpoint, Cisco's Smart Licensing
REST API (under a configurable base path), the devices' push receiver (`/licservice/license` for smart
transport, the Call Home DDCEService path), the test controls and the Product Instances web page."""

from __future__ import annotations

import base64
import json
import time

from flask import Blueprint, Flask, Response, current_app, request
from markupsafe import escape
from werkzeug.exceptions import HTTPException

from .. import pushproto
from .core import ApiError, CssmService

DEFAULT_BASE_PATH = "/services/api/smart-accounts-and-licensing"
DEFAULT_TOKEN_PATH = "/as/token.oauth2"
SMART_PATH = "/licservice/license"
CALLHOME_PATH = "/its/service/oddce/services/DDCEService"
CONTROL_PATH = "/slpemu-control"
MAX_BODY = 8 * 1024 * 1024
EXTENSION = "slpemu.cssm"


def service() -> CssmService:
    return current_app.extensions[EXTENSION]


def json_response(obj, status: int = 200, headers: dict | None = None) -> Response:
    resp = Response(json.dumps(obj) + "\n", status=status, mimetype="application/json")
    if headers:
        resp.headers.update(headers)
    return resp


def api_error(exc: ApiError) -> Response:
    return json_response({"status": "FAILED", "message": exc.message, "message_code": exc.code}, exc.status,
                         exc.headers)


def normalise_path(path: str) -> str:
    path = "/" + path.strip().strip("/")
    return "" if path == "/" else path


# ---------------------------------------------------------------------------------------------- blueprints

def oauth_blueprint(token_path: str) -> Blueprint:
    bp = Blueprint("oauth", __name__)

    @bp.post(token_path)
    def token():
        try:
            return json_response(service().issue_access_token(request.form.to_dict()),
                                 headers={"Cache-Control": "no-store"})
        except ApiError as exc:            # RFC 6749 §5.2 error shape
            return json_response({"error": exc.code, "error_description": exc.message}, exc.status,
                                 {"Cache-Control": "no-store"})
    return bp


def api_blueprint(base_path: str) -> Blueprint:
    bp = Blueprint("api", __name__, url_prefix=base_path or None)

    @bp.before_request
    def _auth():
        service().check_bearer(request.headers.get("Authorization"))

    @bp.get("/v2/accounts/search")
    def accounts_search():
        return json_response(service().accounts_search())

    @bp.post("/v2/devices/reportusage")
    def report_usage():
        return json_response(service().report_usage(request.headers, request.get_data(cache=False)))

    @bp.post("/v2/devices/authrequest")
    def auth_request():
        return json_response(service().auth_request(request.headers, request.get_data(cache=False)))

    @bp.post("/v2/accounts/poll")
    def poll():
        return json_response(service().poll(request.get_data(cache=False)))

    return bp


def device_blueprint() -> Blueprint:
    bp = Blueprint("device", __name__)

    def receive(channel: str):
        try:
            return json_response(service().device_message(request.get_data(cache=False), channel))
        except pushproto.ProtocolError as exc:
            return json_response(pushproto.failed(exc.message, exc.code), 400)

    bp.add_url_rule(SMART_PATH, "smart", lambda: receive("smart"), methods=["POST"])
    bp.add_url_rule(CALLHOME_PATH, "callhome", lambda: receive("callhome"), methods=["POST"])
    return bp


def control_blueprint() -> Blueprint:
    """Test controls (never in Cisco's paths): the service clock and the processing delay. HTTP Basic
    with an API client's id and secret, or a Bearer access token."""
    bp = Blueprint("control", __name__, url_prefix=CONTROL_PATH)

    @bp.before_request
    def _auth():
        auth = request.authorization
        if auth is not None and auth.type == "basic":
            if service().check_client(auth.username or "", auth.password or ""):
                return None
            raise ApiError(401, "Wrong client id or secret", "UNAUTHORIZED", {"WWW-Authenticate": 'Basic realm="CSSM"'})
        service().check_bearer(request.headers.get("Authorization"))

    @bp.get("/clock")
    def clock():
        svc = service()
        return json_response({"now": svc.now(), "processing_delay": svc.delay})

    @bp.post("/advance-clock")
    def advance():
        body = json_body()
        return json_response({"now": service().advance(body.get("seconds"))})

    @bp.post("/processing-delay")
    def delay():
        body = json_body()
        service().set_delay(body.get("seconds"))
        return json_response({"processing_delay": service().delay})

    @bp.get("/inventory")
    def inventory():
        svc = service()
        return json_response({"product_instances": [{**i, "reports": svc.reports_of(i["udi"])}
                                                     for i in svc.inventory()]})

    return bp


def json_body(error: type[Exception] = ApiError) -> dict:
    """The request's JSON object (an empty body is {}); anything else is `error(400, message, code)`, the
    service's error shape (the CSLU service passes its own)."""
    try:
        body = json.loads(request.get_data(cache=False) or b"{}")
    except ValueError:
        raise error(400, "The request body is not valid JSON", "MALFORMED_JSON") from None
    if not isinstance(body, dict):
        raise error(400, "The request body is a JSON object", "MALFORMED_REQUEST")
    return body


def web_blueprint() -> Blueprint:
    bp = Blueprint("web", __name__)

    @bp.get("/")
    def index():
        return Response(render_page(service()), mimetype="text/html")

    @bp.post("/usage-data-files")
    def upload():
        """Reports > Usage Data Files > Upload: the file (raw body, or the multipart field `file`) in, its
        answer (ACK, ACK bundle, trust code, SLAC, return acknowledgement) out. HTTP Basic with an API
        client's id and secret; `?virtual_account=NAME` picks the account of new product instances."""
        auth = request.authorization
        if auth is None or auth.type != "basic" or not service().check_client(auth.username or "", auth.password or ""):
            raise ApiError(401, "Log in with an API client's id and secret (HTTP Basic)", "UNAUTHORIZED",
                           {"WWW-Authenticate": 'Basic realm="CSSM"'})
        upload = request.files.get("file")
        data = upload.read() if upload is not None else request.get_data(cache=False)
        kind, answer = service().upload(data, request.args.get("virtual_account"))
        name = {"ack-bundle": "ACK_bundle.tar.gz"}.get(kind, f"{kind}.txt")
        return Response(answer, mimetype="application/gzip" if kind == "ack-bundle" else "application/xml",
                        headers={"Content-Disposition": f'attachment; filename="{name}"', "X-File-Kind": kind})

    return bp


# ---------------------------------------------------------------------------------------------- the page

def _t(value) -> str:
    if value is None:
        return "-"
    return time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime(value))


def render_page(svc: CssmService) -> str:
    inventory = svc.inventory()
    rows = []
    for pi in inventory:
        licences = ", ".join(f"{escape(tag)} ({count})" for tag, count in sorted(pi["licenses"].items())) or "-"
        alerts = "; ".join(escape(a) for a in pi["alerts"]) or "-"
        rows.append(
            f'<tr data-udi="{escape(pi["udi"])}"><td class="pid">{escape(pi["pid"])}</td>'
            f'<td class="sn">{escape(pi["sn"])}</td><td class="hostname">{escape(pi["hostname"])}</td>'
            f'<td class="va">{escape(pi["virtual_account"])}</td><td class="licenses">{licences}</td>'
            f'<td class="last-report">{_t(pi["last_report"])}</td><td class="last-ack">{_t(pi["last_ack"])}</td>'
            f'<td class="alerts">{alerts}</td></tr>')
    sections = []
    for pi in inventory:
        reports = svc.reports_of(pi["udi"])
        lines = "".join(
            f'<tr><td>{r["report_id"]}</td><td>{escape(r["entitlement"] or "")}</td><td>{r["count"] if r["count"] is not None else "-"}</td>'
            f'<td>{_t(r["start_time"])}</td><td>{_t(r["end_time"])}</td><td>{_t(r["received"])}</td>'
            f'<td class="status">{escape(r["status"])}</td><td>{escape(r["channel"])}</td></tr>' for r in reports)
        sections.append(
            f'<h3>{escape(pi["udi"])}</h3><table class="reports" data-udi="{escape(pi["udi"])}">'
            "<thead><tr><th>Report ID</th><th>Entitlement</th><th>Count</th><th>Start</th><th>End</th>"
            f"<th>Received</th><th>Status</th><th>Channel</th></tr></thead><tbody>{lines}</tbody></table>")
    return (
        "<!DOCTYPE html><html><head><meta charset=\"utf-8\"><title>Smart Software Manager — Product Instances"
        "</title><style>body{font-family:sans-serif;margin:1.5em}table{border-collapse:collapse;margin-bottom:1em}"
        "td,th{border:1px solid #bbb;padding:.25em .6em;text-align:left}th{background:#eef}"
        ".alerts{color:#a00}</style></head><body>"
        f"<h1>Smart Software Manager</h1><p id=\"clock\">Service time: {_t(svc.now())}</p>"
        "<h2>Inventory: Product Instances</h2><table id=\"product-instances\"><thead><tr><th>PID</th><th>SN</th>"
        "<th>Hostname</th><th>Virtual Account</th><th>Licenses in use</th><th>Last Report</th><th>Last ACK</th>"
        f"<th>Alerts</th></tr></thead><tbody>{''.join(rows)}</tbody></table>"
        f"<h2>Received usage reports</h2>{''.join(sections) or '<p>No report received yet.</p>'}"
        "</body></html>\n")


# ---------------------------------------------------------------------------------------------- the app

def create_app(svc: CssmService, *, base_path: str = DEFAULT_BASE_PATH, token_path: str = DEFAULT_TOKEN_PATH) -> Flask:
    app = Flask("slpemu.cssm")
    app.config["MAX_CONTENT_LENGTH"] = MAX_BODY
    app.url_map.strict_slashes = False
    app.extensions[EXTENSION] = svc
    app.register_blueprint(oauth_blueprint(normalise_path(token_path) or DEFAULT_TOKEN_PATH))
    app.register_blueprint(api_blueprint(normalise_path(base_path)))
    app.register_blueprint(device_blueprint())
    app.register_blueprint(control_blueprint())
    app.register_blueprint(web_blueprint())

    @app.errorhandler(ApiError)
    def _api_error(exc: ApiError):
        return api_error(exc)

    json_errors(app, "CSSM")
    return app


def json_errors(app: Flask, service: str) -> None:
    """Routing errors and unexpected exceptions of a service's application answered in its JSON error
    shape (`status`, `message`, `message_code`), with `Allow` on a 405."""
    @app.errorhandler(HTTPException)
    def _http_error(exc: HTTPException):
        resp = json_response({"status": "FAILED", "message": exc.description or exc.name,
                              "message_code": exc.name.upper().replace(" ", "_")}, exc.code or 500)
        if exc.code == 405 and getattr(exc, "valid_methods", None):
            resp.headers["Allow"] = ", ".join(exc.valid_methods)
        return resp

    @app.errorhandler(Exception)
    def _internal(exc: Exception):
        current_app.logger.exception("%s service error", service)
        return json_response({"status": "FAILED", "message": "Internal error", "message_code": "INTERNAL"}, 500)


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode()
