"""RFC 8040 §7 error replies: the `ietf-restconf:errors` document in JSON or XML, chosen like a reply's
media type (Accept first, else the request's Content-Type)."""

from __future__ import annotations

from flask import Response, request
from lxml import etree

from ...yangdata import YangError, get_schema
from .library import get_server_schema
from .render import JSON_TYPE, OFFERED, accepted, RESTCONF_NS, XML_TYPE, XML_TYPES, dumps, xml_bytes

# The error-tag of a reply whose status comes from HTTP itself (routing, authentication, size limits).
STATUS_TAGS = {400: "malformed-message", 401: "access-denied", 403: "access-denied", 404: "invalid-value",
               405: "operation-not-supported", 406: "invalid-value", 409: "in-use", 412: "operation-failed",
               413: "too-big", 415: "invalid-value", 500: "operation-failed", 501: "operation-not-supported",
               503: "resource-denied"}


class RestconfError(Exception):
    """An RFC 8040 error reply: the YangError (with its HTTP status) and extra headers."""

    def __init__(self, error: YangError, headers: dict | None = None):
        super().__init__(error.message)
        self.error = error
        self.headers = headers or {}


def error(status: int, message: str, tag: str | None = None, error_type: str = "protocol",
          path: str | None = None) -> YangError:
    return YangError(tag or STATUS_TAGS.get(status, "operation-failed"), message, error_type=error_type,
                     path=path, status=status)


def _xml_instance_identifier(path: str) -> tuple[str, dict[str, str]]:
    """An RFC 7951 instance-identifier (`/module:a/b[k='v']`) as the XML form (`/p:a/p:b[p:k='v']`, RFC 7950
    §9.13) with the namespaces its prefixes need; unknown modules are left as they are."""
    modules = {**{m.name: m for m in get_server_schema().modules.values()},
               **{m.name: m for m in get_schema().modules.values()}}
    segments, depth, current = [], 0, ""
    for ch in path.lstrip("/"):
        if ch == "/" and depth == 0:
            segments.append(current)
            current = ""
            continue
        depth += ch == "["
        depth -= ch == "]"
        current += ch
    segments.append(current)
    nsmap, out, module = {}, [], None
    for seg in segments:
        name, bracket, preds = seg.partition("[")
        if ":" in name:
            module, name = name.split(":", 1)
        info = modules.get(module or "")
        if info is None:
            return path, {}
        nsmap[info.prefix] = info.namespace
        preds = (bracket + preds).replace("[", f"[{info.prefix}:").replace(f"[{info.prefix}:.=", "[.=")
        out.append(f"{info.prefix}:{name}{preds}")
    return "/" + "/".join(out), nsmap


def error_document(errors: list[YangError], fmt: str) -> tuple[bytes, str]:
    entries = []
    for e in errors:
        entry = {"error-type": e.error_type, "error-tag": e.tag}
        if e.app_tag:
            entry["error-app-tag"] = e.app_tag
        if e.path:
            entry["error-path"] = e.path
        entry["error-message"] = e.message
        if e.info:
            entry["error-info"] = {k: str(v) for k, v in e.info.items()}
        entries.append(entry)
    if fmt == "xml":
        root = etree.Element(f"{{{RESTCONF_NS}}}errors", nsmap={None: RESTCONF_NS})
        for entry in entries:
            err = etree.SubElement(root, f"{{{RESTCONF_NS}}}error")
            for k, v in entry.items():
                if k == "error-path":
                    v, nsmap = _xml_instance_identifier(v)
                    child = etree.SubElement(err, f"{{{RESTCONF_NS}}}{k}", nsmap=nsmap or None)
                else:
                    child = etree.SubElement(err, f"{{{RESTCONF_NS}}}{k}")
                if isinstance(v, dict):
                    for ik, iv in v.items():
                        etree.SubElement(child, f"{{{RESTCONF_NS}}}{ik}").text = iv
                else:
                    child.text = v
        return xml_bytes(root), XML_TYPE
    return dumps({"ietf-restconf:errors": {"error": entries}}), JSON_TYPE


def _error_format() -> str:
    accept = request.headers.get("Accept", "")
    if accept:
        best = accepted().best_match(OFFERED)
        if best in XML_TYPES:
            return "xml"
        if best is not None:
            return "json"
    return "xml" if request.mimetype in XML_TYPES else "json"


def restconf_error_response(err: YangError, headers: dict | None = None) -> Response:
    body, ctype = error_document([err], _error_format())
    if request.method == "HEAD":
        body = b""
    return Response(body, status=err.http_status, content_type=ctype, headers=headers)
