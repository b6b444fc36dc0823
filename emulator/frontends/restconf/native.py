"""The device's native SLP REST API, `/smartlic-service` (interfaces.md §C.2; Cisco DevNet "IOS-XE SLP REST
APIs" 1.0.0), as CSLU, SSM On-Prem and Cisco's sample scripts call it in pull mode: a Blueprint of one
MethodView per endpoint, whose methods are the ones it allows.

    GET  /smartlic-service/list            {"usage_list": [{"report_id", "state", "start_time", "end_time"}]}
    GET  /smartlic-service/list-reports    the same
    GET  /smartlic-service/all-reports     {"usage": [<signed RUM report>, ...]}  (a data-model pull)
    GET  /smartlic-service/days            reports of the last 90 days, same shape (a pull)
    GET  /smartlic-service/days/<n>        reports of the last n days (a pull)
    GET  /smartlic-service/rum-report-id/<id>   one report, same shape (a pull)
    POST /smartlic-service/close-reports   closes the open reports: {"status": "SUCCESS", "closed_reports": n}
    POST /smartlic-service/import          an ACK / policy / SLAC / trust code: {"status", "message"}

A signed report is exactly the envelope `license smart save usage` writes in a <RUMReport> element:
{"payload": "<JSON text, signed>", "signature": {...}} (before 17.7.1 with "header": {"type": "rum"} between
them). `all-reports` and `days` are a collector's pull: after the reports come the device's pending requests,
as members with a request header type (the trust request on 17.9.1a+, a pending SLAC request; see
engine/artifacts.py), so that a collector copying every member into the upload carries them to CSSM and the
ACK brings back the trust code and the SLAC. Times in `usage_list`
are epoch seconds, like the report payload's own. The import body may be the raw XML (under any content
type, as Cisco's sample sends it under application/json), its base64 encoding (the DevNet workflow), or a
JSON string or one-member JSON object holding either."""

from __future__ import annotations

import base64
import binascii
import json

from flask import Blueprint, Response, current_app, request
from flask.views import MethodView

from ...engine import DeviceError
from .apipath import bounded_uint, shown

DEFAULT_DAYS = 90
MAX_DAYS = 0xFFFFFFFF
MAX_REPORT_ID = 2 ** 64 - 1
EXTENSION = "slpemu.device"              # app.extensions key of the device the API serves


class NativeError(Exception):
    def __init__(self, status: int, message: str, code: str = "BadInputParams"):
        super().__init__(message)
        self.status = status
        self.message = message
        self.code = code


def json_response(obj, status: int = 200) -> Response:
    return Response(json.dumps(obj, indent=2) + "\n", status=status, mimetype="application/json")


def error_response(status: int, message: str, code: str) -> Response:
    return json_response({"status": "FAILED", "message": message, "code": code}, status)


_TEXT_CACHE: dict[str, str] = {}
_TEXT_CACHE_LIMIT = 20000


def _envelope_text(env) -> str:
    """The envelope's JSON text, as `save usage` writes it. A closed report never changes, so its text is
    kept (keyed by its signature) and a pull of 100 reports costs no JSON encoding."""
    key = str(env.signature.get("value")) if isinstance(env.signature, dict) else None
    text = _TEXT_CACHE.get(key) if key else None
    if text is None:
        text = env.to_json()
        if key:
            if len(_TEXT_CACHE) >= _TEXT_CACHE_LIMIT:
                _TEXT_CACHE.clear()
            _TEXT_CACHE[key] = text
    return text


def _usage(envelopes) -> Response:
    # The envelope's own JSON text keeps the member order the device signs and saves.
    parts = ",\n".join(_envelope_text(env) for env in envelopes)
    return Response('{"usage": [' + parts + "]}\n", mimetype="application/json")


def decode_import_body(data: bytes) -> bytes:
    """The XML document in an import request body (see the module docstring for the shapes)."""
    text = data.lstrip(b"\xef\xbb\xbf").strip()
    if not text:
        raise NativeError(400, "the request body is empty: send the ACK, policy, SLAC or trust code")
    if text[:1] == b"<":
        return text
    if text[:1] in (b'"', b"{"):
        try:
            obj = json.loads(text)
        except (ValueError, RecursionError):
            raise NativeError(400, "the request body is neither XML, base64 nor JSON") from None
        if isinstance(obj, dict):
            strings = [v for v in obj.values() if isinstance(v, str)]
            if len(obj) != 1 or len(strings) != 1:
                raise NativeError(400, "a JSON import body must be one member holding the document")
            obj = strings[0]
        if not isinstance(obj, str):
            raise NativeError(400, "a JSON import body must hold the document as a string")
        return decode_import_body(obj.encode())
    try:
        decoded = base64.b64decode(b"".join(text.split()), validate=True)
    except (binascii.Error, ValueError):
        raise NativeError(400, "the request body is neither XML, base64 nor JSON") from None
    decoded = decoded.lstrip(b"\xef\xbb\xbf").strip()
    if decoded[:1] != b"<":
        raise NativeError(400, "the base64 body does not hold an XML document")
    return decoded


def device():
    return current_app.extensions[EXTENSION]


class NativeView(MethodView):
    """An endpoint of the API: the methods a subclass defines are the ones it allows (routing answers the
    others 405 with them in `Allow`), and OPTIONS lists them."""

    def options(self, **_route):
        methods = set(self.methods) | ({"HEAD"} if "GET" in self.methods else set())
        return Response(status=200, headers={"Allow": ", ".join(sorted(methods))})


class ReportList(NativeView):
    """The RUM reports the device holds (closed and later), with their ids and times."""

    def get(self):
        usage = [{"report_id": r.id, "state": r.state, "start_time": int(r.start),
                  "end_time": int(r.end) if r.end is not None else None}
                 for r in device().report_list() if r.storage == "EXIST" and r.state != "OPEN"]
        return json_response({"usage_list": usage})


class AllReports(NativeView):
    def get(self):
        return _usage(device().collect_reports(with_requests=True))


class Days(NativeView):
    def get(self, n: str | None = None):
        count = DEFAULT_DAYS if n is None else bounded_uint(n, MAX_DAYS)
        if count is None:
            raise NativeError(400, f"the number of days must be 0..{MAX_DAYS}, not {shown(n)}")
        return _usage(device().collect_reports(days=count, with_requests=True))


class OneReport(NativeView):
    def get(self, rid: str):
        number = bounded_uint(rid, MAX_REPORT_ID)
        if number is None:
            raise NativeError(400, f"a RUM report id is a number 0..{MAX_REPORT_ID}, not {shown(rid)}")
        try:
            return _usage(device().collect_reports(rum_id=number))
        except DeviceError as exc:
            if exc.code == "notfound":
                raise NativeError(404, f"RUM report {rid} is not available", "notfound") from None
            raise


class CloseReports(NativeView):
    def post(self):
        request.get_data(cache=False)          # any body (Cisco's sample sends a form) is ignored
        return json_response({"status": "SUCCESS", "closed_reports": device().close_reports()})


class Import(NativeView):
    def post(self):
        document = decode_import_body(request.get_data(cache=False))
        try:
            result = device().import_data(document)
        except DeviceError as exc:
            raise NativeError(400, str(exc).lstrip("% ").strip(), exc.code) from None
        body = {"status": "SUCCESS", "message": result.message}
        codes = getattr(result, "confirmation_codes", None)
        if codes:
            body["confirmation_codes"] = codes
        return json_response(body)


blueprint = Blueprint("smartlic_service", __name__, url_prefix="/smartlic-service")
for rule, view, endpoint in [("/list", ReportList, "list"), ("/list-reports", ReportList, "list_reports"),
                             ("/all-reports", AllReports, "all_reports"), ("/days", Days, "days"),
                             ("/days/<n>", Days, "days_n"), ("/rum-report-id/<rid>", OneReport, "report"),
                             ("/close-reports", CloseReports, "close_reports"), ("/import", Import, "import")]:
    blueprint.add_url_rule(rule, view_func=view.as_view(endpoint))


@blueprint.errorhandler(NativeError)
def _native_error(exc: NativeError):
    return error_response(exc.status, exc.message, exc.code)
