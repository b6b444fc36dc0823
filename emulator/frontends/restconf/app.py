"""The Flask application: RESTCONF (RFC 8040) and the native `/smartlic-service` API of one device.

The web layer only translates: api-paths and bodies become data-layer reads, edit trees and RPC calls
(`emulator.yangdata`, shared with NETCONF), and the native API calls the engine. GET replies are cached
per device revision, so a repeated read costs a dictionary lookup."""

from __future__ import annotations

import json
import logging
import secrets
import threading
import time
from pathlib import Path
from urllib.parse import unquote, urlsplit

from flask import Flask, Response, request
from lxml import etree
from werkzeug.datastructures import MIMEAccept
from werkzeug.exceptions import HTTPException
from werkzeug.http import http_date, parse_date

from ...xmlsafe import UnsafeXmlError, parse_xml
from ...yangdata import (DataLayer, EditNode, SNode, YangError, decode_json, decode_xml, select_content,
                         to_json_value, to_xml)
from . import native
from .apipath import Query, Target, bad_request, find, not_found, parse_query, resolve, split_segments
from .library import YANG_LIBRARY_REVISION, get_server_schema, library_data, module_text
from .render import (RESTCONF_NS, dumps, json_datastore, json_target, shape, shape_datastore, xml_bytes,
                     xml_datastore, xml_target)

log = logging.getLogger(__name__)

MAX_BODY = 4 * 1024 * 1024
DRAIN_LIMIT = 16 * 1024 * 1024   # an oversized body up to this is read and dropped so that the client sees the 413
JSON_TYPE = "application/yang-data+json"
XML_TYPE = "application/yang-data+xml"
# Besides RFC 8040's types, IOS XE (ConfD) accepts the draft forms and the vnd.yang forms, in Accept and in
# Content-Type; replies always carry RFC 8040's types.
JSON_TYPES = (JSON_TYPE, "application/json", "application/yang.data+json", "application/vnd.yang.data+json")
XML_TYPES = (XML_TYPE, "application/xml", "text/xml", "application/yang.data+xml", "application/vnd.yang.data+xml")
OFFERED = [JSON_TYPE, XML_TYPE, *JSON_TYPES[1:], *XML_TYPES[1:]]
ALL_METHODS = ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"]
READ_ALLOW = "GET, HEAD, OPTIONS"
WRITE_ALLOW = "DELETE, GET, HEAD, OPTIONS, PATCH, POST, PUT"
VOLATILE_TOPS = {"slpemu-control:clock", "slpemu-control:faults"}   # change without a new revision
CACHE_LIMIT = 512
OPENAPI_PATH = Path(__file__).with_name("openapi.yaml")
HOST_META = (b"<?xml version='1.0' encoding='UTF-8'?>\n"
             b"<XRD xmlns='http://docs.oasis-open.org/ns/xri/xrd-1.0'>\n"
             b"  <Link rel='restconf' href='/restconf'/>\n</XRD>\n")
STATUS_TAGS = {400: "malformed-message", 401: "access-denied", 403: "access-denied", 404: "invalid-value",
               405: "operation-not-supported", 406: "invalid-value", 409: "in-use", 412: "operation-failed",
               413: "too-big", 415: "invalid-value", 500: "operation-failed", 501: "operation-not-supported",
               503: "resource-denied"}


class RestconfError(Exception):
    """An RFC 8040 error reply: one or more YangErrors, the HTTP status and extra headers."""

    def __init__(self, error: YangError, headers: dict | None = None):
        super().__init__(error.message)
        self.error = error
        self.headers = headers or {}


def _error(status: int, message: str, tag: str | None = None, error_type: str = "protocol",
           path: str | None = None) -> YangError:
    return YangError(tag or STATUS_TAGS.get(status, "operation-failed"), message, error_type=error_type,
                     path=path, status=status)


class Restconf:
    """The RESTCONF server of one device."""

    def __init__(self, device, layer: DataLayer | None = None):
        self.device = device
        self.layer = layer or DataLayer(device)
        self.server_schema = get_server_schema()
        self.tops: dict[str, SNode] = {**self.layer.schema.top, **self.server_schema.top}
        self.rpcs: dict[str, SNode] = dict(self.layer.schema.rpcs)
        self.boot = secrets.token_hex(4)
        self.last_modified = time.time()
        self._cache: dict = {}
        self._cache_rev = -1
        self._cache_lock = threading.Lock()
        self._library: dict[str, dict] = {}
        self._unsubscribe = device.subscribe(self._changed)

    def close(self) -> None:
        self._unsubscribe()

    def _changed(self, kind: str, _obj) -> None:
        if kind == "change":
            self.last_modified = time.time()

    # ------------------------------------------------------------------ helpers
    def etag(self) -> str:
        return f'"{self.boot}-{self.device.revision}"'

    def validators(self) -> dict:
        return {"ETag": self.etag(), "Last-Modified": http_date(int(self.last_modified))}

    def library(self, base_url: str) -> dict:
        lib = self._library.get(base_url)
        if lib is None:
            if len(self._library) > 16:
                self._library.clear()
            lib = self._library[base_url] = library_data(base_url)
        return lib

    def top_data(self, qname: str):
        if qname in self.server_schema.top:
            return self.library(request.host_url.rstrip("/"))[qname]
        return self.layer.data.top(qname)

    # ------------------------------------------------------------------ negotiation and bodies
    @staticmethod
    def reply_format() -> str:
        """json or xml from the Accept header (RFC 8040 §5.2); 406 when nothing offered is acceptable."""
        accept = request.headers.get("Accept")
        if not accept:
            return "xml" if request.mimetype in XML_TYPES else "json"
        best = _accepted().best_match(OFFERED)
        if best is None:
            raise RestconfError(_error(406, f"cannot reply in any of the media types accepted ({accept}); "
                                            f"offered: {JSON_TYPE}, {XML_TYPE}"))
        if best in ("*/*",):
            return "json"
        return "xml" if best in XML_TYPES else "json"

    @staticmethod
    def read_body():
        """(format, parsed body) of the request; (None, None) when it has none."""
        data = request.get_data(cache=True)
        if not data.strip():
            return None, None
        ctype = request.mimetype
        if ctype in JSON_TYPES:
            fmt = "json"
        elif ctype in XML_TYPES:
            fmt = "xml"
        elif not ctype:
            fmt = "xml" if data.lstrip()[:1] == b"<" else "json"
        else:
            raise RestconfError(_error(415, f"unsupported media type {ctype!r}; send {JSON_TYPE} or {XML_TYPE}"
                                       + (" (YANG Patch is not supported)" if "yang-patch" in ctype else "")))
        if fmt == "json":
            try:
                value = json.loads(data.decode("utf-8"))
            except (UnicodeDecodeError, ValueError, RecursionError) as exc:
                raise RestconfError(_error(400, f"malformed JSON: {exc}", "malformed-message")) from None
            if not isinstance(value, dict):
                raise RestconfError(_error(400, "the body must be a JSON object (RFC 7951)", "malformed-message"))
            return "json", value
        try:
            return "xml", parse_xml(data)
        except (UnsafeXmlError, etree.XMLSyntaxError, ValueError) as exc:
            raise RestconfError(_error(400, f"malformed or unsafe XML: {exc}", "malformed-message")) from None

    def reply(self, obj_or_el, fmt: str, status: int = 200, headers: dict | None = None) -> Response:
        if fmt == "xml":
            body, ctype = xml_bytes(obj_or_el), XML_TYPE
        else:
            body, ctype = dumps(obj_or_el), JSON_TYPE
        return Response(body, status=status, content_type=ctype, headers=headers)

    # ------------------------------------------------------------------ conditional requests
    def check_preconditions(self, read: bool) -> Response | None:
        """304 for a read whose validators still match; 412 for a write whose If-Match / If-Unmodified-Since
        fails (RFC 8040 §3.5.2, RFC 7232)."""
        etag = self.etag()
        if read:
            inm = request.headers.get("If-None-Match")
            if inm is not None:
                if inm.strip() == "*" or etag in [t.strip() for t in inm.split(",")]:
                    return Response(status=304, headers=self.validators())
                return None
            ims = request.headers.get("If-Modified-Since")
            if ims:
                when = parse_date(ims)
                if when is not None and int(self.last_modified) <= when.timestamp():
                    return Response(status=304, headers=self.validators())
            return None
        im = request.headers.get("If-Match")
        if im is not None and im.strip() != "*" and etag not in [t.strip() for t in im.split(",")]:
            raise RestconfError(_error(412, f"If-Match {im} does not match the datastore entity-tag {etag}",
                                       "operation-failed"))
        ius = request.headers.get("If-Unmodified-Since")
        if ius:
            when = parse_date(ius)
            if when is not None and int(self.last_modified) > when.timestamp():
                raise RestconfError(_error(412, "the datastore was modified after If-Unmodified-Since",
                                           "operation-failed"))
        return None

    # ------------------------------------------------------------------ dispatch
    def handle(self, rest: str) -> Response:
        raw = request.environ.get("REQUEST_URI") or request.environ.get("RAW_URI")
        if raw:
            raw = raw.split("?", 1)[0]
            if raw.startswith(("http://", "https://")):
                raw = urlsplit(raw).path
            path = raw[len("/restconf"):] if raw.startswith("/restconf") else "/" + rest
        else:
            path = "/" + rest
        parts = path.strip("/").split("/", 1)
        head, tail = parts[0], (parts[1] if len(parts) > 1 else "")
        method = request.method
        if head == "":
            return self.root(method)
        if head == "data":
            return self.data(method, tail)
        if head == "operations":
            return self.operations(method, tail)
        if head == "yang-library-version" and not tail:
            self.allow(method, READ_ALLOW)
            if method == "OPTIONS":
                return self.options(READ_ALLOW)
            fmt = self.reply_format()
            if fmt == "xml":
                el = etree.Element(f"{{{RESTCONF_NS}}}yang-library-version", nsmap={None: RESTCONF_NS})
                el.text = YANG_LIBRARY_REVISION
                return self.reply(el, fmt)
            return self.reply({"ietf-restconf:yang-library-version": YANG_LIBRARY_REVISION}, fmt)
        if head == "schema":
            return self.schema_text(method, tail)
        raise RestconfError(not_found(f"no resource /restconf/{head}"))

    @staticmethod
    def allow(method: str, allowed: str) -> None:
        if method not in [m.strip() for m in allowed.split(",")]:
            raise RestconfError(_error(405, f"{method} is not allowed on this resource", "operation-not-supported"),
                                headers={"Allow": allowed})

    @staticmethod
    def options(allowed: str, patch: bool = False) -> Response:
        headers = {"Allow": allowed}
        if patch:
            headers["Accept-Patch"] = f"{JSON_TYPE}, {XML_TYPE}"
        return Response(status=200, headers=headers)

    def root(self, method: str) -> Response:
        self.allow(method, READ_ALLOW)
        if method == "OPTIONS":
            return self.options(READ_ALLOW)
        fmt = self.reply_format()
        if fmt == "xml":
            root = etree.Element(f"{{{RESTCONF_NS}}}restconf", nsmap={None: RESTCONF_NS})
            etree.SubElement(root, f"{{{RESTCONF_NS}}}data")
            etree.SubElement(root, f"{{{RESTCONF_NS}}}operations")
            etree.SubElement(root, f"{{{RESTCONF_NS}}}yang-library-version").text = YANG_LIBRARY_REVISION
            return self.reply(root, fmt)
        return self.reply({"ietf-restconf:restconf": {"data": {}, "operations": {},
                                                      "yang-library-version": YANG_LIBRARY_REVISION}}, fmt)

    def schema_text(self, method: str, tail: str) -> Response:
        self.allow(method, READ_ALLOW)
        if method == "OPTIONS":
            return self.options(READ_ALLOW)
        name, _, rev = tail.partition("/")
        name = name.split("@")[0] if "@" in name and not rev else name
        if "@" in tail and not rev:
            name, _, rev = tail.partition("@")
        text = module_text(name, rev or None) if name else None
        if text is None:
            raise RestconfError(not_found(f"no YANG module or submodule {tail!r}"))
        return Response(text, content_type="application/yang")

    # ------------------------------------------------------------------ operations
    def operations(self, method: str, tail: str) -> Response:
        if not tail:
            self.allow(method, READ_ALLOW)
            if method == "OPTIONS":
                return self.options(READ_ALLOW)
            fmt = self.reply_format()
            if fmt == "xml":
                root = etree.Element(f"{{{RESTCONF_NS}}}operations", nsmap={None: RESTCONF_NS})
                for rpc in self.rpcs.values():
                    root.append(etree.Element(f"{{{rpc.namespace}}}{rpc.name}", nsmap={None: rpc.namespace}))
                return self.reply(root, fmt)
            return self.reply({"ietf-restconf:operations": {q: [None] for q in self.rpcs}}, fmt)
        tail = unquote(tail)
        rpc = self.rpcs.get(tail)
        if rpc is None or "/" in tail:
            raise RestconfError(not_found(f"no operation {tail!r}; see GET /restconf/operations"))
        allowed = "GET, HEAD, OPTIONS, POST"
        self.allow(method, allowed)
        if method == "OPTIONS":
            return self.options(allowed)
        if method in ("GET", "HEAD"):
            fmt = self.reply_format()
            if fmt == "xml":
                return self.reply(etree.Element(f"{{{rpc.namespace}}}{rpc.name}", nsmap={None: rpc.namespace}), fmt)
            return self.reply({rpc.qname: [None]}, fmt)
        return self.invoke(rpc, data_form=False)

    def invoke(self, rpc: SNode, data_form: bool) -> Response:
        """POST of an RPC: RFC 8040 §3.6 `{"module:input": {...}}`, or (data_form, as IOS XE clients send it
        to /restconf/data/module:rpc) `{"module:rpc": {...}}`; output `{"module:output": {...}}`."""
        if request.args:
            raise RestconfError(bad_request("an operation takes no query parameters"))
        fmt_in, body = self.read_body()
        fmt = self.reply_format() if request.headers.get("Accept") else (fmt_in or "json")
        input_node = rpc.children.get("input")
        data: dict = {}
        if body is not None:
            names_json = {f"{rpc.module}:input", "input", rpc.qname} if data_form else {f"{rpc.module}:input", "input"}
            names_xml = {"input", rpc.name} if data_form else {"input"}
            if fmt_in == "json":
                if not isinstance(body, dict) or len(body) > 1:
                    raise RestconfError(bad_request(f"the body must be one member {rpc.module}:input",
                                                    "malformed-message"))
                if body:
                    (member, value), = body.items()
                    if member not in names_json:
                        raise RestconfError(bad_request(f"unexpected member {member!r}: the input of {rpc.qname} "
                                                        f"is sent as {rpc.module}:input", "unknown-element"))
                    if not isinstance(value, dict):
                        raise RestconfError(bad_request(f"{member} must be a JSON object", "malformed-message"))
                    if value:
                        if input_node is None:
                            raise RestconfError(bad_request(f"{rpc.qname} takes no input", "unknown-element"))
                        data = self._decode_input_json(input_node, value)
            else:
                q = etree.QName(body)
                if q.localname not in names_xml or q.namespace != rpc.namespace:
                    raise RestconfError(bad_request(f"unexpected element {body.tag}: the input of {rpc.qname} is "
                                                    f"<input xmlns=\"{rpc.namespace}\">", "unknown-element"))
                if len(body):
                    if input_node is None:
                        raise RestconfError(bad_request(f"{rpc.qname} takes no input", "unknown-element"))
                    data = decode_xml(input_node, body, allow_ops=False).to_data()
        try:
            out = self.layer.invoke(rpc, data)
        except YangError as exc:
            if exc.tag == "operation-not-supported" and exc.http_status == 405:
                # an RPC of the model this device does not implement: 501, not "method not allowed"
                raise RestconfError(YangError(exc.tag, exc.message, error_type=exc.error_type, path=exc.path,
                                              app_tag=exc.app_tag, info=exc.info, status=501)) from None
            raise
        except Exception as exc:       # an engine failure must not take the server down
            log.exception("RPC %s failed", rpc.qname)
            raise RestconfError(_error(500, f"{rpc.qname} failed: {exc}", "operation-failed",
                                       "application")) from None
        output = rpc.children.get("output")
        if not out or output is None:
            return Response(status=204)
        if fmt == "xml":
            return self.reply(to_xml(output, out)[0], fmt)
        return self.reply({f"{rpc.module}:output": to_json_value(output, out)}, fmt)

    @staticmethod
    def _decode_input_json(input_node: SNode, value) -> dict:
        if not isinstance(value, dict):
            raise RestconfError(bad_request("the input must be a JSON object", "malformed-message"))
        # members of the input may be qualified with the RPC's module (RFC 7951 allows it at any level)
        plain = {}
        for k, v in value.items():
            module, sep, name = k.partition(":")
            if sep and module == input_node.module:
                k = name
            plain[k] = v
        return decode_json(input_node, plain)[0].to_data()

    # ------------------------------------------------------------------ data
    def data(self, method: str, tail: str) -> Response:
        target = resolve(split_segments(tail), self.tops, self.rpcs)
        if target.rpc is not None:
            self.allow(method, "OPTIONS, POST")
            if method == "OPTIONS":
                return self.options("OPTIONS, POST")
            return self.invoke(target.rpc, data_form=True)
        node = target.node
        writable = node is None or (node.config and target.top.qname in self.layer.schema.top)
        allowed = WRITE_ALLOW if writable else READ_ALLOW
        if node is None:
            allowed = "GET, HEAD, OPTIONS, PATCH, POST, PUT"
        self.allow(method, allowed)
        if method == "OPTIONS":
            return self.options(allowed, patch="PATCH" in allowed)
        if method in ("GET", "HEAD"):
            return self.read(target)
        return self.write(method, target)

    def read(self, target: Target) -> Response:
        q = parse_query(request.args, request.method, target.node, self.tops)
        fmt = self.reply_format()
        not_modified = self.check_preconditions(read=True)
        if not_modified is not None:
            return not_modified
        volatile = target.node is None or target.top.qname in VOLATILE_TOPS
        revision = self.device.revision
        key = None
        if not volatile:
            key = (request.full_path, fmt, request.host)
            with self._cache_lock:
                if self._cache_rev != revision:
                    self._cache.clear()
                    self._cache_rev = revision
                hit = self._cache.get(key)
            if hit is not None:
                return Response(hit, content_type=XML_TYPE if fmt == "xml" else JSON_TYPE,
                                headers=self.validators())
        body = self.render(target, q, fmt)
        if key is not None:
            with self._cache_lock:
                if self._cache_rev == revision:
                    if len(self._cache) >= CACHE_LIMIT:
                        self._cache.clear()
                    self._cache[key] = body
        return Response(body, content_type=XML_TYPE if fmt == "xml" else JSON_TYPE, headers=self.validators())

    def render(self, target: Target, q: Query, fmt: str) -> bytes:
        tagged = q.with_defaults == "report-all-tagged"
        if target.node is None:
            data = self.layer.get(q.content)
            for qname, node in self.server_schema.top.items():
                value = select_content(node, self.top_data(qname), q.content)
                if value:
                    data[qname] = value
            data = shape_datastore(self.tops, data, q)
            if fmt == "xml":
                return xml_bytes(xml_datastore(self.tops, data, tagged))
            return dumps(json_datastore(self.tops, data, tagged))
        node = target.node
        value = find(target, self.top_data(target.top.qname))
        if value is None:
            raise RestconfError(not_found(f"no data at {target.path()}", path=target.path()))
        entry = target.is_entry
        value = shape(node, value, q, entry=entry)
        if value is None:
            raise RestconfError(not_found(f"no {q.content} data at {target.path()}", path=target.path()))
        if fmt == "xml":
            return xml_bytes(xml_target(node, value, entry=entry, tagged=tagged))
        return dumps(json_target(node, value, entry=entry, tagged=tagged))

    # ------------------------------------------------------------------ edits
    def write(self, method: str, target: Target) -> Response:
        parse_query(request.args, method, target.node, self.tops)
        self.check_preconditions(read=False)
        fmt_in, body = self.read_body()
        if body is None and method in ("PUT", "PATCH", "POST"):
            raise RestconfError(bad_request(f"{method} needs a body", "malformed-message"))
        if target.node is None:
            edits, status, location = self._datastore_edits(method, fmt_in, body)
        else:
            edits, status, location = self._resource_edits(method, target, fmt_in, body)
        self.layer.edit(edits, owner=f"restconf:{request.authorization.username}")
        headers = self.validators()
        if location:
            headers["Location"] = request.host_url.rstrip("/") + location
        return Response(status=status, headers=headers)

    def _config_value(self, target: Target):
        top = target.top.qname
        data = self.layer.data.top(top)
        return find(target, data)

    def _decode_for(self, node: SNode, fmt: str, body, *, what: str) -> list[EditNode]:
        """The edit nodes for `node` from a one-member body naming it."""
        if fmt == "json":
            if not isinstance(body, dict) or len(body) != 1:
                raise RestconfError(bad_request(f"the body must be one member naming {what}", "malformed-message"))
            (member, value), = body.items()
            if member not in (node.qname, node.name):
                raise RestconfError(bad_request(f"the body names {member!r}, expected {node.qname}",
                                                "unknown-element"))
            if member == node.name and node.parent is not None and node.parent.module != node.module:
                raise RestconfError(bad_request(f"{node.name} must be qualified as {node.qname}", "unknown-element"))
            if node.keyword == "list" and isinstance(value, dict):
                value = [value]
            return decode_json(node, value)
        q = etree.QName(body)
        if q.localname != node.name or q.namespace != node.namespace:
            raise RestconfError(bad_request(f"the body's root element is {body.tag}, expected "
                                            f"{{{node.namespace}}}{node.name}", "unknown-element"))
        return [decode_xml(node, body, allow_ops=False)]

    def _resource_edits(self, method: str, target: Target, fmt: str, body):
        node = target.node
        if node.keyword in ("list", "leaf-list") and not target.is_entry and method != "POST":
            raise RestconfError(bad_request(f"{node.name} is a list: name one entry by its keys "
                                            f"({', '.join(node.keys) or 'value'})", path=target.path()))
        exists = self._config_value(target) is not None
        status, location = 204, None
        if method == "DELETE":
            if not exists:
                raise RestconfError(not_found(f"no data at {target.path()}", path=target.path()))
            edit = EditNode(node, op="delete")
            if target.is_entry:
                if node.keyword == "leaf-list":
                    edit.value = target.steps[-1].keys[""]
                else:
                    for k, v in target.steps[-1].keys.items():
                        edit.children.append(EditNode(node.children[k], value=v))
            return self._wrap(target.steps[:-1], [edit]), 204, None
        if method == "POST":
            if node.is_leaf or (node.keyword == "list" and not target.is_entry):
                raise RestconfError(bad_request(f"POST creates a child of a container or list entry; "
                                                f"{node.name} is a {node.keyword}", path=target.path()))
            if not exists:
                raise RestconfError(not_found(f"no data at {target.path()}", path=target.path()))
            if fmt == "json":
                if not isinstance(body, dict) or len(body) != 1:
                    raise RestconfError(bad_request("the body must be one member naming the child to create",
                                                    "malformed-message"))
                member = next(iter(body))
                module, _, name = member.rpartition(":")
            else:
                name = etree.QName(body).localname
            child = node.children.get(name)
            if child is None or child.keyword in ("input", "output"):
                raise RestconfError(bad_request(f"{node.name} has no child {name!r}", "unknown-element",
                                                path=target.path()))
            if not child.config:
                raise RestconfError(_error(405, f"{child.name} is state data and cannot be created",
                                           "operation-not-supported"), headers={"Allow": READ_ALLOW})
            edits = self._decode_for(child, fmt, body, what=child.qname)
            for e in edits:
                e.op = "create"
            location = self._location(target, child, edits[0])
            return self._wrap(target.steps, edits), 201, location
        edits = self._decode_for(node, fmt, body, what=node.qname)
        if target.is_entry:
            if len(edits) != 1:
                raise RestconfError(bad_request("the body must hold exactly the one entry the URI names"))
            want = target.steps[-1].keys
            if node.keyword == "leaf-list":
                if edits[0].value != want[""]:
                    raise RestconfError(bad_request("the value in the body differs from the one in the URI"))
            elif edits[0].keys() != tuple(want[k] for k in node.keys):
                raise RestconfError(bad_request("the key values in the body differ from those in the URI"))
        if method == "PUT":
            for e in edits:
                e.op = "replace"
            status = 204 if exists else 201
        else:   # PATCH: plain merge into an existing resource (RFC 8040 §4.6.1)
            if not exists:
                raise RestconfError(not_found(f"no data at {target.path()} to patch", path=target.path()))
            for e in edits:
                e.op = "merge"
        return self._wrap(target.steps[:-1], edits), status, location

    def _location(self, target: Target, child: SNode, edit: EditNode) -> str:
        from urllib.parse import quote
        segs = []
        parent_module = None
        for step in target.steps:
            n = step.node
            seg = n.qname if n.module != parent_module else n.name
            parent_module = n.module
            if step.keys:
                seg += "=" + ",".join(quote(str(v), safe="") for v in step.keys.values())
            segs.append(seg)
        seg = child.qname if child.module != parent_module else child.name
        if child.keyword == "list":
            seg += "=" + ",".join(quote(str(v), safe="") for v in edit.keys())
        segs.append(seg)
        return "/restconf/data/" + "/".join(segs)

    @staticmethod
    def _wrap(ancestors, edits: list[EditNode]) -> list[EditNode]:
        """The edit tree from the top-level node down to `edits` (list ancestors carry their keys)."""
        for step in reversed(ancestors):
            node = EditNode(step.node)
            if step.node.keyword == "list":
                for k, v in step.keys.items():
                    node.children.append(EditNode(step.node.children[k], value=v))
            node.children.extend(edits)
            edits = [node]
        return edits

    def _datastore_edits(self, method: str, fmt: str, body):
        if method == "DELETE":
            raise RestconfError(_error(405, "the datastore cannot be deleted", "operation-not-supported"),
                                headers={"Allow": "GET, HEAD, OPTIONS, PATCH, POST, PUT"})
        if method == "POST":
            if fmt == "json":
                if not isinstance(body, dict) or len(body) != 1:
                    raise RestconfError(bad_request("the body must be one top-level member", "malformed-message"))
                qname = next(iter(body))
                node = self.layer.schema.top.get(qname)
            else:
                q = etree.QName(body)
                node = self.layer.schema.top_by_namespace(q.namespace, q.localname)
                qname = node.qname if node else body.tag
            if node is None or not node.config:
                raise RestconfError(bad_request(f"{qname} is not a configurable top-level node", "unknown-element"))
            if self._config_value(Target([_step(node)])) is not None:
                raise RestconfError(YangError("data-exists", f"{node.qname} already exists", path=f"/{node.qname}"))
            edits = self._decode_for(node, fmt, body, what=node.qname)
            for e in edits:
                e.op = "create"
            return edits, 201, f"/restconf/data/{node.qname}"
        # PUT / PATCH of the datastore: {"ietf-restconf:data": {...}} or <data xmlns="...ietf-restconf">
        op = "replace" if method == "PUT" else "merge"
        edits = []
        if fmt == "json":
            if not isinstance(body, dict) or set(body) - {"ietf-restconf:data"} or not isinstance(
                    body.get("ietf-restconf:data"), dict):
                raise RestconfError(bad_request("the body must be {\"ietf-restconf:data\": {...}}", "malformed-message"))
            for qname, value in body["ietf-restconf:data"].items():
                node = self.layer.schema.top.get(qname)
                if node is None or not node.config:
                    raise RestconfError(bad_request(f"{qname} is not a configurable top-level node", "unknown-element"))
                for e in decode_json(node, value):
                    e.op = op
                    edits.append(e)
        else:
            if etree.QName(body).localname != "data" or etree.QName(body).namespace != RESTCONF_NS:
                raise RestconfError(bad_request(f"the body's root must be <data xmlns=\"{RESTCONF_NS}\">",
                                                "unknown-element"))
            for child in body:
                if not isinstance(child.tag, str):
                    continue
                q = etree.QName(child)
                node = self.layer.schema.top_by_namespace(q.namespace, q.localname)
                if node is None or not node.config:
                    raise RestconfError(bad_request(f"{child.tag} is not a configurable top-level node",
                                                    "unknown-element"))
                e = decode_xml(node, child, allow_ops=False)
                e.op = op
                edits.append(e)
        return edits, 204, None


def _step(node):
    from .apipath import Step
    return Step(node)


# ---------------------------------------------------------------------------------------------- errors

def _xml_instance_identifier(path: str) -> tuple[str, dict[str, str]]:
    """An RFC 7951 instance-identifier (`/module:a/b[k='v']`) as the XML form (`/p:a/p:b[p:k='v']`, RFC 7950
    §9.13) with the namespaces its prefixes need; unknown modules are left as they are."""
    from ...yangdata import get_schema
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
        best = _accepted().best_match(OFFERED)
        if best in XML_TYPES:
            return "xml"
        if best is not None:
            return "json"
    return "xml" if request.mimetype in XML_TYPES else "json"


def _accepted() -> MIMEAccept:
    """The request's Accept without media-type parameters (`; charset=utf-8` must not prevent a match)."""
    return MIMEAccept([(value.split(";", 1)[0].strip(), q) for value, q in request.accept_mimetypes])


def restconf_error_response(error: YangError, headers: dict | None = None) -> Response:
    body, ctype = error_document([error], _error_format())
    if request.method == "HEAD":
        body = b""
    return Response(body, status=error.http_status, content_type=ctype, headers=headers)


# ---------------------------------------------------------------------------------------------- the app

def create_app(device, *, restconf: bool = True, secure: bool = True, layer: DataLayer | None = None) -> Flask:
    """The application of one device. `restconf=False` serves only the native API (the plain-HTTP port);
    `secure` tells which of the device's `ip http [secure-]server` settings gates the listener."""
    app = Flask("slpemu.restconf")
    app.config["MAX_CONTENT_LENGTH"] = MAX_BODY
    app.url_map.strict_slashes = False
    rc = Restconf(device, layer) if restconf else None
    app.extensions["slpemu.restconf"] = rc
    public = {"/.well-known/host-meta", "/openapi.yaml"}

    def is_restconf() -> bool:
        return request.path.startswith("/restconf") or request.path.startswith("/.well-known")

    def fail(status: int, message: str, headers: dict | None = None) -> Response:
        if is_restconf():
            return restconf_error_response(_error(status, message), headers)
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
        if request.path in public:
            return None
        if is_restconf() and not system.restconf:
            return fail(404, "RESTCONF is not enabled on this device (no restconf)")
        auth = request.authorization
        privilege = None
        if auth is not None and auth.type == "basic" and auth.username is not None:
            privilege = device.check_password(auth.username, auth.password or "")
        if privilege is None:
            return fail(401, "authentication required: HTTP Basic with a device user",
                        {"WWW-Authenticate": 'Basic realm="slpemu"'})
        if privilege < 15:
            return fail(403, f"user {auth.username} has privilege {privilege}; privilege 15 is required")
        return None

    if rc is not None:
        @app.route("/.well-known/host-meta", methods=["GET", "HEAD"])
        def _host_meta():
            return Response(HOST_META, content_type="application/xrd+xml")

        def _restconf(rest: str = ""):
            return rc.handle(rest)

        app.add_url_rule("/restconf", "restconf_root", _restconf, methods=ALL_METHODS,
                         provide_automatic_options=False)
        app.add_url_rule("/restconf/<path:rest>", "restconf", _restconf, methods=ALL_METHODS,
                         provide_automatic_options=False)

        @app.errorhandler(RestconfError)
        def _rc_error(exc: RestconfError):
            return restconf_error_response(exc.error, exc.headers)

        @app.errorhandler(YangError)
        def _yang_error(exc: YangError):
            if is_restconf():
                return restconf_error_response(exc)
            return native.error_response(exc.http_status, exc.message, exc.tag)

    native.register(app, device)

    @app.after_request
    def _no_body_no_type(resp: Response) -> Response:
        if resp.status_code in (204, 304):        # no content: no Content-Type either (IOS XE sends none)
            resp.headers.pop("Content-Type", None)
        return resp

    @app.route("/openapi.yaml", methods=["GET"])
    def _openapi():
        return Response(OPENAPI_PATH.read_bytes(), content_type="application/yaml")

    @app.errorhandler(HTTPException)
    def _http_error(exc: HTTPException):
        headers = {}
        if exc.code == 405:
            allowed = exc.get_response().headers.get("Allow")
            if allowed:
                headers["Allow"] = allowed
        message = exc.description or exc.name
        if exc.code == 413:
            message = f"the request body is larger than {MAX_BODY} bytes"
        return fail(exc.code or 500, message, headers)

    @app.errorhandler(Exception)
    def _unexpected(exc: Exception):
        if isinstance(exc, HTTPException):
            return _http_error(exc)
        log.exception("unexpected error on %s %s", request.method, request.path)
        return fail(500, f"internal error: {type(exc).__name__}")

    return app
