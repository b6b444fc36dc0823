"""The device's native SLP REST API, `/smartlic-service` (interfaces.md §C.2; Cisco DevNet "IOS-XE SLP REST
APIs" 1.0.0), as CSLU, SSM On-Prem and Cisco's sample scripts call it in pull mode.

    GET  /smartlic-service/list            {"usage_list": [{"report_id", "state", "start_time", "end_time"}]}
    GET  /smartlic-service/list-reports    the same
    GET  /smartlic-service/all-reports     {"usage": [<signed RUM report>, ...]}  (a data-model pull)
    GET  /smartlic-service/days            reports of the last 90 days, same shape (a pull)
    GET  /smartlic-service/days/<n>        reports of the last n days (a pull)
    GET  /smartlic-service/rum-report-id/<id>   one report, same shape (a pull)
    POST /smartlic-service/close-reports   closes the open reports: {"status": "SUCCESS", "closed_reports": n}
    POST /smartlic-service/import          an ACK / policy / SLAC / trust code: {"status", "message"}

A signed report is exactly the envelope `license smart save usage` writes in a <RUMReport> element:
{"payload": "<JSON text, signed>", "header": {"type": "rum"}, "signature": {...}}. Times in `usage_list`
are epoch seconds, like the report payload's own. The import body may be the raw XML (under any content
type, as Cisco's sample sends it under application/json), its base64 encoding (the DevNet workflow), or a
JSON string or one-member JSON object holding either."""

from __future__ import annotations

import base64
import binascii
import json

from flask import Response, request

from ...engine import DeviceError

DEFAULT_DAYS = 90
MAX_DAYS = 0xFFFFFFFF
REPORT_STATES = {"OPEN": "OPEN", "CLOSED": "CLOSED", "PENDING": "PENDING", "UNACK": "UNACK", "ACK": "ACK"}


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


def register(app, device) -> None:
    """Adds the /smartlic-service routes to the Flask app."""

    def report_list() -> Response:
        usage = [{"report_id": r.id, "state": r.state, "start_time": int(r.start),
                  "end_time": int(r.end) if r.end is not None else None}
                 for r in device.report_list() if r.storage == "EXIST" and r.state != "OPEN"]
        return json_response({"usage_list": usage})

    def all_reports() -> Response:
        return _usage(device.collect_reports())

    def days(n: str | None = None) -> Response:
        if n is None:
            count = DEFAULT_DAYS
        elif n.isascii() and n.isdigit() and int(n) <= MAX_DAYS:
            count = int(n)
        else:
            raise NativeError(400, f"the number of days must be 0..{MAX_DAYS}, not {n!r}")
        return _usage(device.collect_reports(days=count))

    def one_report(rid: str) -> Response:
        if not (rid.isascii() and rid.isdigit()) or int(rid) >= 2 ** 64:
            raise NativeError(400, f"a RUM report id is a number, not {rid!r}")
        try:
            return _usage(device.collect_reports(rum_id=int(rid)))
        except DeviceError as exc:
            if exc.code == "notfound":
                raise NativeError(404, f"RUM report {rid} is not available", "notfound") from None
            raise

    def close_reports() -> Response:
        request.get_data(cache=False)          # any body (Cisco's sample sends a form) is ignored
        closed = device.close_reports()
        return json_response({"status": "SUCCESS", "closed_reports": closed})

    def import_data() -> Response:
        document = decode_import_body(request.get_data(cache=False))
        try:
            result = device.import_data(document)
        except DeviceError as exc:
            raise NativeError(400, str(exc).lstrip("% ").strip(), exc.code) from None
        body = {"status": "SUCCESS", "message": result.message}
        codes = getattr(result, "confirmation_codes", None)
        if codes:
            body["confirmation_codes"] = codes
        return json_response(body)

    base = "/smartlic-service"
    app.add_url_rule(f"{base}/list", "slp_list", report_list, methods=["GET"])
    app.add_url_rule(f"{base}/list-reports", "slp_list_reports", report_list, methods=["GET"])
    app.add_url_rule(f"{base}/all-reports", "slp_all_reports", all_reports, methods=["GET"])
    app.add_url_rule(f"{base}/days", "slp_days", days, methods=["GET"])
    app.add_url_rule(f"{base}/days/<n>", "slp_days_n", days, methods=["GET"])
    app.add_url_rule(f"{base}/rum-report-id/<rid>", "slp_report", one_report, methods=["GET"])
    app.add_url_rule(f"{base}/close-reports", "slp_close", close_reports, methods=["POST"])
    app.add_url_rule(f"{base}/import", "slp_import", import_data, methods=["POST"])

    @app.errorhandler(NativeError)
    def _native_error(exc: NativeError):
        return error_response(exc.status, exc.message, exc.code)
