"""The RESTCONF (RFC 8040) Blueprint: root discovery, `/restconf`, `{+restconf}/data`, `/operations`,
`/yang-library-version` and the module texts under `/schema`.

Each resource kind is a `MethodView`; the HTTP methods it defines are the methods it allows, so the `Allow`
header of a 405 reply and of OPTIONS is derived from the class. Routes pass every method to their view,
which answers 405 itself once a data path or an operation is resolved (an unknown one is a 404 whatever the
method). A data resource's kind depends on the node its api-path names (`data_kind`, which the OpenAPI
generator uses too): a configuration container or list (`ConfigNode`), a configuration leaf
(`ConfigLeaf`), state or the server's own modules (`StateNode`), an RPC in the form IOS XE clients use
(`DataRpc`), or the datastore itself (`Datastore`).

The views only translate: api-paths and bodies become data-layer reads, edit trees and RPC calls
(`emulator.yangdata`, shared with NETCONF). GET replies are cached per device revision, so a repeated read
costs a dictionary lookup."""

from __future__ import annotations

import logging
import secrets
import threading
import time
from contextlib import contextmanager
from urllib.parse import quote, urlsplit

from flask import Blueprint, Response, current_app, g, request
from flask.views import MethodView
from lxml import etree
from werkzeug.http import http_date, parse_date

from ...xmlsafe import UnsafeXmlError, parse_xml
from ...yangdata import (DataLayer, EditNode, SNode, YangError, decode_json, decode_xml, select_content,
                         to_json_value, to_xml)
from ...yangdata.decode import load_json
from .apipath import Query, Step, Target, bad_request, find, not_found, parse_query, resolve, split_segments
from .errors import RestconfError, error, restconf_error_response
from .library import YANG_LIBRARY_REVISION, get_server_schema, library_data, module_text
from .render import (JSON_TYPE, JSON_TYPES, OFFERED, accepted, RESTCONF_NS, XML_TYPE, XML_TYPES, dumps, json_datastore,
                     json_target, shape, shape_datastore, xml_bytes, xml_datastore, xml_target)

log = logging.getLogger(__name__)

EXTENSION = "slpemu.restconf"            # app.extensions key of the device's Restconf
# every method a route passes to its view, which answers 405 with the Allow header of its class
ROUTED_METHODS = ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS", "TRACE"]
VOLATILE_TOPS = {"slpemu-control:clock", "slpemu-control:faults"}   # change without a new revision
CACHE_LIMIT = 512
HOST_META = (b"<?xml version='1.0' encoding='UTF-8'?>\n"
             b"<XRD xmlns='http://docs.oasis-open.org/ns/xri/xrd-1.0'>\n"
             b"  <Link rel='restconf' href='/restconf'/>\n</XRD>\n")

blueprint = Blueprint("restconf", __name__)


class Restconf:
    """What the RESTCONF server keeps for one device: its data layer, the entity-tag and Last-Modified of
    the datastore, the reply cache and the YANG library per base URL."""

    def __init__(self, device):
        self.device = device
        self.layer = DataLayer(device)
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

    def snapshot(self):
        """The device snapshot this request renders from (one per request; a write starts a new one)."""
        snap = g.get("slpemu_snapshot")
        if snap is None:
            snap = g.slpemu_snapshot = self.device.snapshot()
        return snap

    def etag(self) -> str:
        return f'"{self.boot}-{self.snapshot().revision}"'

    def validators(self) -> dict:
        return {"ETag": self.etag(), "Last-Modified": http_date(int(self.last_modified))}

    def library(self, base_url: str) -> dict:
        lib = self._library.get(base_url)
        if lib is None:
            if len(self._library) > 16:
                self._library.clear()
            lib = self._library[base_url] = library_data(base_url, self.device.release)
        return lib

    def top_data(self, qname: str):
        if qname in self.server_schema.top:
            return self.library(request.host_url.rstrip("/"))[qname]
        return self.layer.data.top(qname, self.snapshot())

    def config_value(self, target: Target):
        return find(target, self.layer.data.top(target.top.qname, self.snapshot()))

    def cached(self, key, render) -> bytes:
        """The reply body for `key` at the current revision, rendered once per revision."""
        revision = self.snapshot().revision
        with self._cache_lock:
            if self._cache_rev != revision:
                self._cache.clear()
                self._cache_rev = revision
            hit = self._cache.get(key)
        if hit is not None:
            return hit
        body = render()
        with self._cache_lock:
            if self._cache_rev == revision:
                if len(self._cache) >= CACHE_LIMIT:
                    self._cache.clear()
                self._cache[key] = body
        return body


def restconf() -> Restconf:
    return current_app.extensions[EXTENSION]


# ---------------------------------------------------------------------------------------------- requests

def reply_format() -> str:
    """json or xml from the Accept header (RFC 8040 §5.2); 406 when nothing offered is acceptable."""
    accept = request.headers.get("Accept")
    if not accept:
        return "xml" if request.mimetype in XML_TYPES else "json"
    best = accepted().best_match(OFFERED)
    if best is None:
        raise RestconfError(error(406, f"cannot reply in any of the media types accepted ({accept}); "
                                       f"offered: {JSON_TYPE}, {XML_TYPE}"))
    return "xml" if best in XML_TYPES else "json"


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
        raise RestconfError(error(415, f"unsupported media type {ctype!r}; send {JSON_TYPE} or {XML_TYPE}"
                                  + (" (YANG Patch is not supported)" if "yang-patch" in ctype else "")))
    if fmt == "json":
        try:
            value = load_json(data.decode("utf-8"))
        except YangError as exc:
            raise RestconfError(exc) from None
        except (UnicodeDecodeError, ValueError, RecursionError) as exc:
            raise RestconfError(error(400, f"malformed JSON: {exc}", "malformed-message")) from None
        if not isinstance(value, dict):
            raise RestconfError(error(400, "the body must be a JSON object (RFC 7951)", "malformed-message"))
        return "json", value
    try:
        return "xml", parse_xml(data)
    except (UnsafeXmlError, etree.XMLSyntaxError, ValueError) as exc:
        raise RestconfError(error(400, f"malformed or unsafe XML: {exc}", "malformed-message")) from None


@contextmanager
def decoding():
    """Around the decoding of a body: a value Python cannot convert (an integer of more than 4,300 digits
    raises ValueError in int()) is the client's invalid value, not a server failure."""
    try:
        yield
    except ValueError as exc:
        reason = str(exc).split(";")[0]
        raise RestconfError(bad_request(f"invalid value in the request body: {reason}")) from None


def reply(obj_or_el, fmt: str, status: int = 200, headers: dict | None = None) -> Response:
    if fmt == "xml":
        body, ctype = xml_bytes(obj_or_el), XML_TYPE
    else:
        body, ctype = dumps(obj_or_el), JSON_TYPE
    return Response(body, status=status, content_type=ctype, headers=headers)


def check_preconditions(rc: Restconf, read: bool) -> Response | None:
    """304 for a read whose validators still match; 412 for a write whose If-Match / If-Unmodified-Since
    fails (RFC 8040 §3.5.2, RFC 7232)."""
    etag = rc.etag()
    if read:
        inm = request.headers.get("If-None-Match")
        if inm is not None:
            if inm.strip() == "*" or etag in [t.strip() for t in inm.split(",")]:
                return Response(status=304, headers=rc.validators())
            return None
        ims = request.headers.get("If-Modified-Since")
        if ims:
            when = parse_date(ims)
            if when is not None and int(rc.last_modified) <= when.timestamp():
                return Response(status=304, headers=rc.validators())
        return None
    im = request.headers.get("If-Match")
    if im is not None and im.strip() != "*" and etag not in [t.strip() for t in im.split(",")]:
        raise RestconfError(error(412, f"If-Match {im} does not match the datastore entity-tag {etag}",
                                  "operation-failed"))
    ius = request.headers.get("If-Unmodified-Since")
    if ius:
        when = parse_date(ius)
        if when is not None and int(rc.last_modified) > when.timestamp():
            raise RestconfError(error(412, "the datastore was modified after If-Unmodified-Since",
                                      "operation-failed"))
    return None


def raw_api_path(decoded: str) -> str:
    """The api-path after /restconf/data/ as the client sent it, still percent-encoded: a key value may
    hold an encoded `/` or `,` (RFC 8040 §3.5.3), which the routed (decoded) path has lost."""
    raw = request.environ.get("REQUEST_URI") or request.environ.get("RAW_URI")
    prefix = "/restconf/data/"
    if raw:
        raw = raw.split("?", 1)[0]
        if raw.startswith(("http://", "https://")):
            raw = urlsplit(raw).path
        if raw.startswith(prefix):
            return raw[len(prefix):]
    return decoded


# ---------------------------------------------------------------------------------------------- resources

class Resource(MethodView):
    """A RESTCONF resource. The methods a subclass defines (get, post, put, patch, delete; HEAD with GET,
    and OPTIONS always) are the ones it allows."""

    def dispatch_request(self, **route):
        self.rc = restconf()
        self.locate(**route)
        return self.respond(**route)

    def locate(self, **route) -> None:
        """Resolves the resource the route names when it must be known before the method is checked
        (an unknown RPC is a 404 whatever the method)."""

    def respond(self, **route) -> Response:
        method = request.method
        handler = getattr(self, method.lower(), None)
        if handler is None and method == "HEAD":
            handler = getattr(self, "get", None)
        if handler is None:
            raise RestconfError(error(405, f"{method} is not allowed on this resource", "operation-not-supported"),
                                headers={"Allow": self.allow()})
        if handler == self.options:
            return handler()
        return handler(**route)

    @classmethod
    def allow(cls) -> str:
        methods = set(cls.methods or ())
        if "GET" in methods:
            methods.add("HEAD")
        return ", ".join(sorted(methods))

    def options(self) -> Response:
        headers = {"Allow": self.allow()}
        if "PATCH" in self.methods:
            headers["Accept-Patch"] = f"{JSON_TYPE}, {XML_TYPE}"
        return Response(status=200, headers=headers)


def route(rule: str, endpoint: str):
    def register(view: type[MethodView]):
        blueprint.add_url_rule(rule, view_func=view.as_view(endpoint), methods=ROUTED_METHODS,
                               provide_automatic_options=False)
        return view
    return register


@route("/.well-known/host-meta", "host_meta")
class HostMeta(Resource):
    """Root resource discovery (RFC 8040 §3.1, RFC 6415)."""

    def get(self):
        return Response(HOST_META, content_type="application/xrd+xml")


@route("/restconf", "root")
class Root(Resource):
    def get(self):
        fmt = reply_format()
        if fmt == "xml":
            root = etree.Element(f"{{{RESTCONF_NS}}}restconf", nsmap={None: RESTCONF_NS})
            etree.SubElement(root, f"{{{RESTCONF_NS}}}data")
            etree.SubElement(root, f"{{{RESTCONF_NS}}}operations")
            etree.SubElement(root, f"{{{RESTCONF_NS}}}yang-library-version").text = YANG_LIBRARY_REVISION
            return reply(root, fmt)
        return reply({"ietf-restconf:restconf": {"data": {}, "operations": {},
                                                 "yang-library-version": YANG_LIBRARY_REVISION}}, fmt)


@route("/restconf/yang-library-version", "yang_library_version")
class YangLibraryVersion(Resource):
    def get(self):
        fmt = reply_format()
        if fmt == "xml":
            el = etree.Element(f"{{{RESTCONF_NS}}}yang-library-version", nsmap={None: RESTCONF_NS})
            el.text = YANG_LIBRARY_REVISION
            return reply(el, fmt)
        return reply({"ietf-restconf:yang-library-version": YANG_LIBRARY_REVISION}, fmt)


@route("/restconf/schema/<path:name>", "schema")
class ModuleText(Resource):
    """The text of a module or submodule, where the YANG library's `location` points:
    /restconf/schema/<name>/<revision>, /restconf/schema/<name>@<revision> or /restconf/schema/<name>."""

    def get(self, name: str):
        module, _, rev = name.partition("/")
        if "@" in name and not rev:
            module, _, rev = name.partition("@")
        text = module_text(module, rev or None, self.rc.device.release) if module else None
        if text is None:
            raise RestconfError(not_found(f"no YANG module or submodule {name!r}"))
        return Response(text, content_type="application/yang")


# ---------------------------------------------------------------------------------------------- operations

@route("/restconf/operations", "operations")
class Operations(Resource):
    """The RPCs the server supports (RFC 8040 §3.3.2)."""

    def get(self):
        fmt = reply_format()
        if fmt == "xml":
            root = etree.Element(f"{{{RESTCONF_NS}}}operations", nsmap={None: RESTCONF_NS})
            for rpc in self.rc.rpcs.values():
                root.append(etree.Element(f"{{{rpc.namespace}}}{rpc.name}", nsmap={None: rpc.namespace}))
            return reply(root, fmt)
        return reply({"ietf-restconf:operations": {q: [None] for q in self.rc.rpcs}}, fmt)


@route("/restconf/operations/<path:name>", "operation")
class Operation(Resource):
    """One RPC: GET names it, POST invokes it (RFC 8040 §3.6) with `{"module:input": {...}}`."""

    def locate(self, name: str) -> None:
        self.rpc = self.rc.rpcs.get(name)
        if self.rpc is None or "/" in name:
            raise RestconfError(not_found(f"no operation {name!r}; see GET /restconf/operations"))

    def get(self, name: str):
        rpc, fmt = self.rpc, reply_format()
        if fmt == "xml":
            return reply(etree.Element(f"{{{rpc.namespace}}}{rpc.name}", nsmap={None: rpc.namespace}), fmt)
        return reply({rpc.qname: [None]}, fmt)

    def post(self, name: str):
        return invoke(self.rc, self.rpc, data_form=False)


def invoke(rc: Restconf, rpc: SNode, data_form: bool) -> Response:
    """POST of an RPC: RFC 8040 §3.6 `{"module:input": {...}}`, or (data_form, as IOS XE clients send it
    to /restconf/data/module:rpc) `{"module:rpc": {...}}`; output `{"module:output": {...}}`."""
    if request.args:
        raise RestconfError(bad_request("an operation takes no query parameters"))
    fmt_in, body = read_body()
    fmt = reply_format() if request.headers.get("Accept") else (fmt_in or "json")
    input_node = rpc.children.get("input")
    data: dict = {}
    if body is not None:
        names_json = {f"{rpc.module}:input", "input", rpc.qname} if data_form else {f"{rpc.module}:input", "input"}
        names_xml = {"input", rpc.name} if data_form else {"input"}
        if fmt_in == "json":
            if len(body) > 1:
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
                    data = _decode_input_json(input_node, value)
        else:
            q = etree.QName(body)
            if q.localname not in names_xml or q.namespace != rpc.namespace:
                raise RestconfError(bad_request(f"unexpected element {body.tag}: the input of {rpc.qname} is "
                                                f"<input xmlns=\"{rpc.namespace}\">", "unknown-element"))
            if len(body):
                if input_node is None:
                    raise RestconfError(bad_request(f"{rpc.qname} takes no input", "unknown-element"))
                with decoding():
                    data = decode_xml(input_node, body, allow_ops=False).to_data()
    try:
        out = rc.layer.invoke(rpc, data)
    except YangError as exc:
        if exc.tag == "operation-not-supported" and exc.http_status == 405:
            # an RPC of the model this device does not implement: 501, not "method not allowed"
            raise RestconfError(YangError(exc.tag, exc.message, error_type=exc.error_type, path=exc.path,
                                          app_tag=exc.app_tag, info=exc.info, status=501)) from None
        raise
    except Exception as exc:       # an engine failure must not take the server down
        log.exception("RPC %s failed", rpc.qname)
        raise RestconfError(error(500, f"{rpc.qname} failed: {exc}", "operation-failed", "application")) from None
    output = rpc.children.get("output")
    if not out or output is None:
        return Response(status=204)
    if fmt == "xml":
        return reply(to_xml(output, out)[0], fmt)
    return reply({f"{rpc.module}:output": to_json_value(output, out)}, fmt)


def _decode_input_json(input_node: SNode, value: dict) -> dict:
    with decoding():
        return decode_json(input_node, value)[0].to_data()


# ---------------------------------------------------------------------------------------------- data

class DataResource(MethodView):
    """{+restconf}/data/<api-path>: resolves the path, then answers as the resource kind of its node."""

    def dispatch_request(self, api_path: str = ""):
        rc = restconf()
        target = resolve(split_segments(raw_api_path(api_path)), rc.tops, rc.rpcs)
        if target.rpc is not None:
            kind = DataRpc
        elif target.node is None:
            kind = Datastore
        else:
            kind = data_kind(target.node, rc.layer.schema.top)
        view = kind()
        view.rc, view.target = rc, target
        return view.respond()


blueprint.add_url_rule("/restconf/data", view_func=DataResource.as_view("datastore"), methods=ROUTED_METHODS,
                       provide_automatic_options=False)
blueprint.add_url_rule("/restconf/data/<path:api_path>", view_func=DataResource.as_view("data"),
                       methods=ROUTED_METHODS, provide_automatic_options=False)


class DataRpc(Resource):
    """POST /restconf/data/<module>:<rpc> with `{"<module>:<rpc>": {...}}`, the form IOS XE clients use."""

    def post(self):
        return invoke(self.rc, self.target.rpc, data_form=True)


class StateNode(Resource):
    """A data resource that is read only: state data, and the server's own modules (YANG library,
    restconf-state)."""
    target: Target

    def get(self):
        rc, target = self.rc, self.target
        q = parse_query(request.args, request.method, target.node, rc.tops)
        fmt = reply_format()
        not_modified = check_preconditions(rc, read=True)
        if not_modified is not None:
            return not_modified
        volatile = target.node is None or target.top.qname in VOLATILE_TOPS
        if volatile:
            body = self.render(q, fmt)
        else:
            body = rc.cached((request.full_path, fmt, request.host), lambda: self.render(q, fmt))
        return Response(body, content_type=XML_TYPE if fmt == "xml" else JSON_TYPE, headers=rc.validators())

    def render(self, q: Query, fmt: str) -> bytes:
        rc, target = self.rc, self.target
        tagged = q.with_defaults == "report-all-tagged"
        node = target.node
        value = find(target, rc.top_data(target.top.qname))
        if value is None:
            raise RestconfError(not_found(f"no data at {target.path()}", path=target.path()))
        entry = target.is_entry
        value = shape(node, value, q, entry=entry)
        if value is None:
            raise RestconfError(not_found(f"no {q.content} data at {target.path()}", path=target.path()))
        if fmt == "xml":
            return xml_bytes(xml_target(node, value, entry=entry, tagged=tagged))
        return dumps(json_target(node, value, entry=entry, tagged=tagged))

    def edit(self, edits_of) -> Response:
        """A write: query and preconditions checked, the body read, `edits_of(fmt, body)` turned into
        (edit trees, status, Location path), applied through the data layer."""
        rc = self.rc
        parse_query(request.args, request.method, self.target.node, rc.tops)
        check_preconditions(rc, read=False)
        fmt_in, body = read_body()
        if body is None and request.method in ("PUT", "PATCH", "POST"):
            raise RestconfError(bad_request(f"{request.method} needs a body", "malformed-message"))
        with decoding():
            edits, status, location = edits_of(fmt_in, body)
        rc.layer.edit(edits, owner=f"restconf:{request.authorization.username}")
        g.slpemu_snapshot = None
        headers = rc.validators()
        if location:
            headers["Location"] = request.host_url.rstrip("/") + location
        return Response(status=status, headers=headers)


class ConfigLeaf(StateNode):
    """A configuration leaf or leaf-list: replaced, merged or deleted; it has no children to create with
    POST (RFC 8040 §4.4.1)."""

    def put(self):
        return self.edit(self._replace_or_merge)

    def patch(self):            # plain patch: a merge into an existing resource (RFC 8040 §4.6.1)
        return self.edit(self._replace_or_merge)

    def delete(self):
        return self.edit(self._delete)

    def _whole_list(self) -> None:
        node = self.target.node
        if node.keyword in ("list", "leaf-list") and not self.target.is_entry:
            raise RestconfError(bad_request(f"{node.name} is a list: name one entry by its keys "
                                            f"({', '.join(node.keys) or 'value'})", path=self.target.path()))

    def _exists(self) -> bool:
        return self.rc.config_value(self.target) is not None

    def _delete(self, fmt, body):
        target, node = self.target, self.target.node
        self._whole_list()
        if not self._exists():
            raise RestconfError(not_found(f"no data at {target.path()}", path=target.path()))
        edit = EditNode(node, op="delete")
        if target.is_entry:
            if node.keyword == "leaf-list":
                edit.value = target.steps[-1].keys[""]
            else:
                for k, v in target.steps[-1].keys.items():
                    edit.children.append(EditNode(node.children[k], value=v))
        return wrap(target.steps[:-1], [edit]), 204, None

    def _replace_or_merge(self, fmt, body):
        target, node = self.target, self.target.node
        self._whole_list()
        exists = self._exists()
        edits = decode_for(node, fmt, body)
        if target.is_entry:
            if len(edits) != 1:
                raise RestconfError(bad_request("the body must hold exactly the one entry the URI names"))
            want = target.steps[-1].keys
            if node.keyword == "leaf-list":
                if edits[0].value != want[""]:
                    raise RestconfError(bad_request("the value in the body differs from the one in the URI"))
            elif edits[0].keys() != tuple(want[k] for k in node.keys):
                raise RestconfError(bad_request("the key values in the body differ from those in the URI"))
        if request.method == "PUT":
            op, status = "replace", 204 if exists else 201
        else:
            if not exists:
                raise RestconfError(not_found(f"no data at {target.path()} to patch", path=target.path()))
            op, status = "merge", 204
        for e in edits:
            e.op = op
        return wrap(target.steps[:-1], edits), status, None


class ConfigNode(ConfigLeaf):
    """A configuration container or list (RFC 8040 §4.4–4.7): POST creates a child of a container or of a
    list entry."""

    def post(self):
        return self.edit(self._create_child)

    def _create_child(self, fmt, body):
        target, node = self.target, self.target.node
        if node.keyword == "list" and not target.is_entry:
            raise RestconfError(bad_request(f"POST creates a child of a container or list entry; "
                                            f"{node.name} is a {node.keyword}", path=target.path()))
        if not self._exists():
            raise RestconfError(not_found(f"no data at {target.path()}", path=target.path()))
        if fmt == "json":
            if len(body) != 1:
                raise RestconfError(bad_request("the body must be one member naming the child to create",
                                                "malformed-message"))
            name = next(iter(body)).rpartition(":")[2]
        else:
            name = etree.QName(body).localname
        child = node.children.get(name)
        if child is None or child.keyword in ("input", "output"):
            raise RestconfError(bad_request(f"{node.name} has no child {name!r}", "unknown-element",
                                            path=target.path()))
        if not child.config:
            raise RestconfError(error(405, f"{child.name} is state data and cannot be created",
                                      "operation-not-supported"), headers={"Allow": StateNode.allow()})
        edits = decode_for(child, fmt, body)
        for e in edits:
            e.op = "create"
        return wrap(target.steps, edits), 201, location_of(target, child, edits[0])


class Datastore(StateNode):
    """{+restconf}/data itself: every module's data; PUT replaces and PATCH merges several top-level nodes
    (`{"ietf-restconf:data": {...}}`), POST creates one. The datastore cannot be deleted."""

    def render(self, q: Query, fmt: str) -> bytes:
        rc = self.rc
        data = rc.layer.get(q.content)
        for qname, node in rc.server_schema.top.items():
            value = select_content(node, rc.top_data(qname), q.content)
            if value:
                data[qname] = value
        data = shape_datastore(rc.tops, data, q)
        tagged = q.with_defaults == "report-all-tagged"
        if fmt == "xml":
            return xml_bytes(xml_datastore(rc.tops, data, tagged))
        return dumps(json_datastore(rc.tops, data, tagged))

    def put(self):
        return self.edit(self._replace_or_merge)

    def patch(self):
        return self.edit(self._replace_or_merge)

    def post(self):
        return self.edit(self._create_top)

    def _configurable_top(self, node: SNode | None, name: str) -> SNode:
        if node is None or not node.config:
            raise RestconfError(bad_request(f"{name} is not a configurable top-level node", "unknown-element"))
        return node

    def _create_top(self, fmt, body):
        schema = self.rc.layer.schema
        if fmt == "json":
            if len(body) != 1:
                raise RestconfError(bad_request("the body must be one top-level member", "malformed-message"))
            qname = next(iter(body))
            node = self._configurable_top(schema.top.get(qname), qname)
        else:
            q = etree.QName(body)
            node = self._configurable_top(schema.top_by_namespace(q.namespace, q.localname), body.tag)
        if self.rc.config_value(Target([Step(node)])) is not None:
            raise RestconfError(YangError("data-exists", f"{node.qname} already exists", path=f"/{node.qname}"))
        edits = decode_for(node, fmt, body)
        for e in edits:
            e.op = "create"
        return edits, 201, f"/restconf/data/{node.qname}"

    def _replace_or_merge(self, fmt, body):
        schema = self.rc.layer.schema
        op = "replace" if request.method == "PUT" else "merge"
        edits = []
        if fmt == "json":
            if set(body) != {"ietf-restconf:data"} or not isinstance(body["ietf-restconf:data"], dict):
                raise RestconfError(bad_request("the body must be {\"ietf-restconf:data\": {...}}",
                                                "malformed-message"))
            for qname, value in body["ietf-restconf:data"].items():
                node = self._configurable_top(schema.top.get(qname), qname)
                edits.extend(decode_json(node, value))
        else:
            if etree.QName(body).localname != "data" or etree.QName(body).namespace != RESTCONF_NS:
                raise RestconfError(bad_request(f"the body's root must be <data xmlns=\"{RESTCONF_NS}\">",
                                                "unknown-element"))
            for child in body:
                if not isinstance(child.tag, str):
                    continue
                q = etree.QName(child)
                node = self._configurable_top(schema.top_by_namespace(q.namespace, q.localname), child.tag)
                edits.append(decode_xml(node, child, allow_ops=False))
        for e in edits:
            e.op = op
        return edits, 204, None


def data_kind(node: SNode, device_tops: dict[str, SNode]) -> type[StateNode]:
    """The resource kind of a data node: configuration of the device's modules is writable, everything
    else (state, the server's own modules) is read only."""
    top = node
    while top.parent is not None:
        top = top.parent
    if not node.config or top.qname not in device_tops:
        return StateNode
    return ConfigNode if node.keyword in ("container", "list") else ConfigLeaf


def decode_for(node: SNode, fmt: str, body) -> list[EditNode]:
    """The edit nodes for `node` from a one-member body naming it."""
    if fmt == "json":
        if len(body) != 1:
            raise RestconfError(bad_request(f"the body must be one member naming {node.qname}", "malformed-message"))
        (member, value), = body.items()
        if member not in (node.qname, node.name):
            raise RestconfError(bad_request(f"the body names {member!r}, expected {node.qname}", "unknown-element"))
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


def location_of(target: Target, child: SNode, edit: EditNode) -> str:
    """The api-path of a child a POST created (the Location header)."""
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


def wrap(ancestors: list[Step], edits: list[EditNode]) -> list[EditNode]:
    """The edit tree from the top-level node down to `edits` (list ancestors carry their keys)."""
    for step in reversed(ancestors):
        node = EditNode(step.node)
        if step.node.keyword == "list":
            for k, v in step.keys.items():
                node.children.append(EditNode(step.node.children[k], value=v))
        node.children.extend(edits)
        edits = [node]
    return edits


# ---------------------------------------------------------------------------------------------- errors

@blueprint.errorhandler(RestconfError)
def _restconf_error(exc: RestconfError):
    return restconf_error_response(exc.error, exc.headers)


@blueprint.errorhandler(YangError)
def _yang_error(exc: YangError):
    return restconf_error_response(exc)
