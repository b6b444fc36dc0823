"""What a RESTCONF GET returns: instance data cut by `content`, `fields`, `depth` and `with-defaults`
(RFC 8040 §4.8, RFC 6243), encoded as RFC 7951 JSON or as XML."""

from __future__ import annotations

import json

from flask import request
from lxml import etree
from werkzeug.datastructures import MIMEAccept

from ...yangdata import SNode, select_content, to_json_value, to_xml
from ...yangdata.decode import check_value
from .apipath import Query

RESTCONF_NS = "urn:ietf:params:xml:ns:yang:ietf-restconf"
JSON_TYPE = "application/yang-data+json"
XML_TYPE = "application/yang-data+xml"
# Besides RFC 8040's types, IOS XE (ConfD) accepts the draft forms and the vnd.yang forms, in Accept and in
# Content-Type; replies always carry RFC 8040's types.
JSON_TYPES = (JSON_TYPE, "application/json", "application/yang.data+json", "application/vnd.yang.data+json")
XML_TYPES = (XML_TYPE, "application/xml", "text/xml", "application/yang.data+xml", "application/vnd.yang.data+xml")
OFFERED = [JSON_TYPE, XML_TYPE, *JSON_TYPES[1:], *XML_TYPES[1:]]   # by preference


def accepted():
    """The request's Accept without media-type parameters (`; charset=utf-8` must not prevent a match)."""
    return MIMEAccept([(value.split(";", 1)[0].strip(), q) for value, q in request.accept_mimetypes])
WD_NS = "urn:ietf:params:xml:ns:netconf:default:1.0"
WD_JSON = "ietf-netconf-with-defaults:default"


# ---------------------------------------------------------------------------------------------- shaping

def _default_value(node: SNode):
    if node.default is None or node.keyword != "leaf":
        return None
    try:
        return check_value(node, node.default)
    except Exception:
        return None


def _case_active(parent: SNode, data: dict, node: SNode) -> bool:
    if node.choice is None:
        return True
    return any(s.choice == node.choice and s.name in data for s in parent.children.values() if s is not node)


def with_defaults(node: SNode, value, mode: str):
    """report-all / report-all-tagged add absent leaves that have a default (in the containers and entries
    present); trim drops leaves equal to their default; explicit leaves the data as the device has it."""
    if mode == "explicit" or value is None or node.is_leaf:
        return value
    if node.keyword == "list" and isinstance(value, list):
        return [with_defaults(node, e, mode) for e in value]
    if not isinstance(value, dict):
        return value
    out = {}
    for child in node.ordered_children:
        if child.name in value:
            v = value[child.name]
            if child.keyword == "leaf" and mode == "trim":
                d = _default_value(child)
                if d is not None and d == v:
                    continue
            out[child.name] = with_defaults(child, v, mode) if not child.is_leaf else v
        elif mode != "trim" and child.keyword == "leaf" and child.default is not None \
                and _case_active(node, value, child):
            d = _default_value(child)
            if d is not None:
                out[child.name] = d
    return out


def select_fields(node: SNode, value, sel: dict):
    """Keeps the selected descendants (a fields tree from apipath.parse_fields)."""
    if node.keyword == "list" and isinstance(value, list):
        return [select_fields(node, e, sel) for e in value]
    if not isinstance(value, dict):
        return value
    out = {}
    for name, sub in sel.items():
        if name in value:
            child = node.children[name]
            out[name] = value[name] if sub is None else select_fields(child, value[name], sub)
    return out


def limit_depth(node: SNode, value, depth: int, level: int = 1):
    """Drops data nodes deeper than `depth`, the requested node being at level 1 (RFC 8040 §4.8.2)."""
    if node.is_leaf:
        return value
    if node.keyword == "list" and isinstance(value, list):
        return [limit_depth(node, e, depth, level) for e in value]
    if not isinstance(value, dict):
        return value
    if level >= depth:
        return {}
    return {name: limit_depth(node.children[name], v, depth, level + 1) for name, v in value.items()
            if name in node.children}


def shape(node: SNode, value, q: Query, *, entry: bool = False, content_done: bool = False):
    """The target's data after every query parameter; None when nothing is left."""
    if not content_done and q.content != "all":
        if entry and node.keyword == "list":
            value = select_content(node, [value], q.content)
            value = value[0] if value else None
        else:
            value = select_content(node, value, q.content)
        if value is None:
            return None
    if q.with_defaults in ("report-all", "report-all-tagged", "trim"):
        value = with_defaults(node, value, q.with_defaults)
    if q.fields is not None:
        value = select_fields(node, value, q.fields)
    if q.depth is not None:
        value = limit_depth(node, value, q.depth)
    return value


def shape_datastore(tops: dict[str, SNode], data: dict[str, object], q: Query) -> dict:
    """The datastore's top-level nodes (data already cut by content) after fields/depth/with-defaults."""
    out = {}
    for qname, value in data.items():
        node = tops[qname]
        if q.fields is not None:
            if qname not in q.fields:
                continue
            sub = q.fields[qname]
            q_node = Query(content="all", depth=q.depth, fields=sub, with_defaults=q.with_defaults)
        else:
            q_node = Query(content="all", depth=q.depth, with_defaults=q.with_defaults)
        value = shape(node, value, q_node, content_done=True)
        if value is not None:
            out[qname] = value
    return out


# ---------------------------------------------------------------------------------------------- JSON

def _tag_json(node: SNode, obj) -> None:
    """report-all-tagged in JSON: "@leaf": {"ietf-netconf-with-defaults:default": true} (RFC 8040 §4.8.9)."""
    if node.keyword == "list" and isinstance(obj, list):
        for e in obj:
            _tag_json(node, e)
        return
    if not isinstance(obj, dict):
        return
    for child in node.children.values():
        name = child.name if child.module == node.module else child.qname
        if name not in obj:
            continue
        if child.keyword == "leaf":
            d = _default_value(child)
            if d is not None and obj[name] == to_json_value(child, d):
                obj["@" + name] = {WD_JSON: True}
        elif not child.is_leaf:
            _tag_json(child, obj[name])


def json_target(node: SNode, value, *, entry: bool, tagged: bool = False) -> dict:
    if entry:
        encoded = to_json_value(node, [value])
    else:
        encoded = to_json_value(node, value)
    if tagged and not node.is_leaf:
        _tag_json(node, encoded)
    return {node.qname: encoded}


def json_datastore(tops: dict[str, SNode], data: dict, tagged: bool = False) -> dict:
    body = {}
    for qname, value in data.items():
        encoded = to_json_value(tops[qname], value)
        if tagged:
            _tag_json(tops[qname], encoded)
        body[qname] = encoded
    return {"ietf-restconf:data": body}


def dumps(obj) -> bytes:
    return json.dumps(obj, indent=2, ensure_ascii=False).encode() + b"\n"


# ---------------------------------------------------------------------------------------------- XML

def _tag_xml(node: SNode, el: etree._Element) -> None:
    for child_el in el:
        child = node.children.get(etree.QName(child_el).localname)
        if child is None:
            continue
        if child.keyword == "leaf":
            d = _default_value(child)
            if d is not None and child_el.text == _xml_text(child, d):
                child_el.set(f"{{{WD_NS}}}default", "true")
        elif not child.is_leaf:
            _tag_xml(child, child_el)


def _xml_text(node: SNode, value) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def xml_target(node: SNode, value, *, entry: bool, tagged: bool = False) -> etree._Element:
    if entry:
        elements = to_xml(node, [value])
    else:
        elements = to_xml(node, value)
    if tagged and not node.is_leaf:
        for el in elements:
            _tag_xml(node, el)
    if len(elements) == 1:
        return elements[0]
    wrapper = etree.Element(f"{{{RESTCONF_NS}}}data", nsmap={None: RESTCONF_NS})
    wrapper.extend(elements)
    return wrapper


def xml_datastore(tops: dict[str, SNode], data: dict, tagged: bool = False) -> etree._Element:
    root = etree.Element(f"{{{RESTCONF_NS}}}data", nsmap={None: RESTCONF_NS})
    for qname, value in data.items():
        for el in to_xml(tops[qname], value, RESTCONF_NS):
            if tagged:
                _tag_xml(tops[qname], el)
            root.append(el)
    return root


def xml_bytes(el: etree._Element) -> bytes:
    return etree.tostring(el, encoding="utf-8", xml_declaration=False, pretty_print=True)
