"""Instance data (plain dicts following the schema) to NETCONF XML and RFC 7951 JSON.

Data form: a container is a dict of child name → value, a list is a list of dicts, a leaf-list a list of
scalars, a leaf a value as schema.LeafType describes it (str / int / bool / Decimal; `empty` leaves: True);
a key the schema does not have is an error. Node names are plain; the schema supplies modules and
namespaces. Keys are emitted first in XML (RFC 7950 §7.8.5); member names are module-qualified in JSON
where the module changes (RFC 7951 §4); 64-bit integers and decimal64 are JSON strings (RFC 7951 §6.1)."""

from __future__ import annotations

import json

from lxml import etree

from .errors import UnknownDataError
from .schema import SNode, xml_safe


def leaf_text(node: SNode, value) -> str | None:
    return node.type.xml_text(value)


def leaf_json(node: SNode, value):
    return node.type.json_value(value)


def _child_items(node: SNode, data: dict):
    """(child node, value) for the data's keys in instance-data order, None values skipped. A key the schema
    does not have is an UnknownDataError: data the encoder cannot place is a renderer's bug, not a detail."""
    found = 0
    for child in node.ordered_children:
        if child.name in data:
            found += 1
            value = data[child.name]
            if value is not None:
                yield child, value
    if found != len(data):
        raise unknown_keys(node, data)


def unknown_keys(node: SNode, data: dict) -> UnknownDataError:
    """The error for data holding keys `node` has no child for."""
    unknown = ", ".join(sorted(str(k) for k in data if k not in node.children))
    return UnknownDataError(f"{node.path()} has no child {unknown}: the data does not follow the schema",
                            path=node.path())


# ---------------------------------------------------------------------------------------------- XML

def to_xml(node: SNode, value, parent_ns: str | None = None) -> list[etree._Element]:
    """Elements for one node (several for a list or leaf-list)."""
    if node.keyword in ("list", "leaf-list"):
        return [_element(node, item, parent_ns) for item in value]
    return [_element(node, value, parent_ns)]


def _element(node: SNode, value, parent_ns: str | None) -> etree._Element:
    nsmap = {None: node.namespace} if node.namespace != parent_ns else None
    if node.is_leaf:
        leaf_type = node.type
        if leaf_type.uses_prefixes:
            nsmap = {**(nsmap or {}), **(leaf_type.xml_namespaces(value) or {})}
        el = etree.Element(f"{{{node.namespace}}}{node.name}", nsmap=nsmap)
        text = leaf_type.xml_text(value)
        try:
            el.text = text
        except ValueError:         # lxml refuses what XML 1.0 forbids: a value stored by older code or the CLI
            el.text = xml_safe(text)
        return el
    el = etree.Element(f"{{{node.namespace}}}{node.name}", nsmap=nsmap)
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
