"""Instance data (plain dicts following the schema) to NETCONF XML and RFC 7951 JSON.

Data form: a container is a dict of child name → value, a list is a list of dicts, a leaf-list a list of
scalars, a leaf a str / int / bool (`empty` leaves: True). Node names are plain; the schema supplies
modules and namespaces. Keys are emitted first in XML (RFC 7950 §7.8.5); member names are
module-qualified in JSON where the module changes (RFC 7951 §4)."""

from __future__ import annotations

import json

from lxml import etree

from .schema import JSON_STRING_INTS, SNode


def leaf_text(node: SNode, value) -> str | None:
    if value is True and node.type is not None and node.type.base == "empty":
        return None
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def leaf_json(node: SNode, value):
    base = node.type.base if node.type else "string"
    if base == "empty":
        return [None]
    if base in JSON_STRING_INTS or base == "decimal64":
        return str(value)
    if base == "union":
        return value
    return value


def _child_items(node: SNode, data: dict):
    for child in node.ordered_children:
        if child.name in data and data[child.name] is not None:
            yield child, data[child.name]


# ---------------------------------------------------------------------------------------------- XML

def to_xml(node: SNode, value, parent_ns: str | None = None) -> list[etree._Element]:
    """Elements for one node (several for a list or leaf-list)."""
    if node.keyword in ("list", "leaf-list"):
        return [_element(node, item, parent_ns) for item in value]
    return [_element(node, value, parent_ns)]


def _element(node: SNode, value, parent_ns: str | None) -> etree._Element:
    if node.namespace != parent_ns:
        el = etree.Element(f"{{{node.namespace}}}{node.name}", nsmap={None: node.namespace})
    else:
        el = etree.Element(f"{{{node.namespace}}}{node.name}")
    if node.is_leaf:
        el.text = leaf_text(node, value)
        return el
    for child, child_value in _child_items(node, value):
        el.extend(to_xml(child, child_value, node.namespace))
    return el


def xml_string(elements: list[etree._Element]) -> str:
    return "".join(etree.tostring(e, encoding="unicode") for e in elements)


# ---------------------------------------------------------------------------------------------- JSON

def to_json_value(node: SNode, value):
    if node.keyword == "leaf":
        return leaf_json(node, value)
    if node.keyword == "leaf-list":
        return [leaf_json(node, v) for v in value]
    if node.keyword == "list":
        return [_json_object(node, item) for item in value]
    return _json_object(node, value)


def _json_object(node: SNode, data: dict) -> dict:
    out = {}
    for child, child_value in _child_items(node, data):
        name = child.name if child.module == node.module else child.qname
        out[name] = to_json_value(child, child_value)
    return out


def json_member(node: SNode, value, qualified: bool = True) -> dict:
    """{"module:name": value} as a top-level (or module-changing) member."""
    return {node.qname if qualified else node.name: to_json_value(node, value)}


def json_text(obj, pretty: bool = True) -> str:
    return json.dumps(obj, indent=2 if pretty else None, separators=None if pretty else (",", ":"))
