"""Incoming instance data (NETCONF XML, RFC 7951 JSON) checked against the schema and turned into edit
trees: the nodes a request names, their values (type-checked) and their edit operations."""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from lxml import etree

from .errors import YangError
from .schema import INT_RANGES, SNode, TypeInfo

NC_NS = "urn:ietf:params:xml:ns:netconf:base:1.0"
NC_OPERATION = f"{{{NC_NS}}}operation"
OPERATIONS = ("merge", "replace", "create", "delete", "remove")
_DECIMAL_RE = re.compile(r"^[+-]?\d+$")


@dataclass
class EditNode:
    schema: SNode
    op: str | None = None                  # explicit operation on this node, else inherited
    value: object = None                   # leaves: the checked value (bool/int/str; empty: True)
    children: list["EditNode"] = field(default_factory=list)

    def child(self, name: str) -> "EditNode | None":
        return next((c for c in self.children if c.schema.name == name), None)

    def keys(self) -> tuple:
        """The key values of a list entry, in key order."""
        out = []
        for k in self.schema.keys:
            c = self.child(k)
            if c is None:
                raise YangError("missing-element", f"list entry lacks its key {k}", path=self.schema.path(),
                                info={"bad-element": k})
            out.append(c.value)
        return tuple(out)

    def to_data(self):
        """Plain instance data (dicts/lists/scalars), as RPC inputs need."""
        if self.schema.is_leaf:
            return self.value
        out: dict = {}
        for c in self.children:
            if c.schema.keyword in ("list", "leaf-list"):
                out.setdefault(c.schema.name, []).append(c.to_data())
            else:
                out[c.schema.name] = c.to_data()
        return out


# ---------------------------------------------------------------------------------------------- values

def check_value(node: SNode, text, *, from_json: bool = False):
    """The typed value of a leaf, or YangError invalid-value."""
    try:
        return _check(node.type, text, from_json)
    except _Invalid as exc:
        raise YangError("invalid-value", f"invalid value {text!r} for {node.name}: {exc}", path=node.path(),
                        error_type="protocol" if not from_json else "protocol") from None


class _Invalid(ValueError):
    pass


def _check(t: TypeInfo, raw, from_json: bool):
    base = t.base
    if base == "union":
        for member in t.members:
            try:
                return _check(member, raw, from_json)
            except _Invalid:
                continue
        raise _Invalid("matches no member type of the union")
    if base == "empty":
        if from_json and raw == [None]:
            return True
        if not from_json and (raw is None or raw == ""):
            return True
        raise _Invalid("an empty leaf takes no value")
    if base == "boolean":
        if from_json:
            if isinstance(raw, bool):
                return raw
            raise _Invalid("expected true or false")
        if raw in ("true", "false"):
            return raw == "true"
        raise _Invalid("expected true or false")
    if base in INT_RANGES:
        if from_json and base not in ("int64", "uint64"):
            if isinstance(raw, bool) or not isinstance(raw, int):
                raise _Invalid("expected a number")
            value = raw
        else:
            if not isinstance(raw, str) or not _DECIMAL_RE.match(raw.strip()):
                raise _Invalid("expected an integer")
            value = int(raw.strip())
        lo, hi = INT_RANGES[base]
        if not lo <= value <= hi:
            raise _Invalid(f"out of range {lo}..{hi}")
        if t.ranges and not any(a <= value <= b for a, b in t.ranges):
            raise _Invalid("out of range " + " | ".join(f"{a}..{b}" for a, b in t.ranges))
        return value
    if not isinstance(raw, str):
        if raw is None and not from_json:
            raw = ""
        else:
            raise _Invalid("expected a string")
    if base == "enumeration":
        if raw not in t.enums:
            raise _Invalid("not one of " + ", ".join(t.enums))
        return raw
    if t.lengths and not any(a <= len(raw) <= b for a, b in t.lengths):
        raise _Invalid("length out of " + " | ".join(f"{a}..{b}" for a, b in t.lengths))
    for pattern in t.patterns:
        if not pattern.match(raw):
            raise _Invalid(f"does not match the pattern of {t.name}")
    return raw


# ---------------------------------------------------------------------------------------------- XML

def _local(el: etree._Element) -> tuple[str | None, str]:
    q = etree.QName(el)
    return q.namespace, q.localname


def _op_of(el: etree._Element) -> str | None:
    op = el.get(NC_OPERATION)
    if op is None:
        return None
    if op not in OPERATIONS:
        raise YangError("bad-attribute", f"unknown operation {op!r}", error_type="protocol",
                        info={"bad-attribute": "operation", "bad-element": etree.QName(el).localname})
    return op


def decode_xml(node: SNode, el: etree._Element, *, allow_ops: bool = True) -> EditNode:
    """One element matching `node` (already resolved by the caller) and everything below it."""
    edit = EditNode(node, op=_op_of(el) if allow_ops else None)
    if node.is_leaf:
        if edit.op in ("delete", "remove") and not (el.text or "").strip():
            return edit
        if len(el):
            raise YangError("bad-element", f"{node.name} is a leaf and has no children", path=node.path(),
                            error_type="protocol", info={"bad-element": node.name})
        edit.value = check_value(node, el.text if el.text is not None else (None if node.type.base == "empty" else ""))
        return edit
    if (el.text or "").strip():
        raise YangError("bad-element", f"{node.name} holds child nodes, not text", path=node.path(),
                        error_type="protocol", info={"bad-element": node.name})
    for child_el in el:
        if not isinstance(child_el.tag, str):
            continue                     # comments, processing instructions
        ns, name = _local(child_el)
        child = node.children.get(name)
        if child is None:
            raise YangError("unknown-element", f"unknown element {name} in {node.name}", path=node.path(),
                            error_type="application", info={"bad-element": name})
        if ns != child.namespace:
            raise YangError("unknown-namespace", f"unknown namespace {ns} for {name}", path=node.path(),
                            error_type="application", info={"bad-element": name, "bad-namespace": ns or ""})
        edit.children.append(decode_xml(child, child_el, allow_ops=allow_ops))
    return edit


# ---------------------------------------------------------------------------------------------- JSON

def decode_json(node: SNode, value, *, parent_module: str | None = None) -> list[EditNode]:
    """RFC 7951 JSON for `node` (one EditNode, or one per entry of a list / leaf-list)."""
    if node.keyword in ("list", "leaf-list"):
        if not isinstance(value, list):
            raise YangError("invalid-value", f"{node.name} must be a JSON array", path=node.path())
        if node.keyword == "leaf-list":
            return [EditNode(node, value=check_value(node, v, from_json=True)) for v in value]
        return [_json_object(node, item) for item in value]
    if node.is_leaf:
        return [EditNode(node, value=check_value(node, value, from_json=True))]
    return [_json_object(node, value)]


def _json_object(node: SNode, obj) -> EditNode:
    if not isinstance(obj, dict):
        raise YangError("invalid-value", f"{node.name} must be a JSON object", path=node.path())
    edit = EditNode(node)
    for member, value in obj.items():
        module, _, name = member.rpartition(":")
        child = node.children.get(name)
        if child is None:
            raise YangError("unknown-element", f"unknown member {member} in {node.name}", path=node.path(),
                            info={"bad-element": name})
        if module and module != child.module:
            raise YangError("unknown-namespace", f"{member}: {name} belongs to {child.module}", path=node.path(),
                            info={"bad-element": name})
        if not module and child.module != node.module:
            raise YangError("unknown-element", f"{name} must be qualified as {child.qname}", path=node.path(),
                            info={"bad-element": name})
        edit.children.extend(decode_json(child, value))
    return edit


def json_top(schema, qname: str):
    """The top-level node of a qualified member name ("module:name") or YangError."""
    module, _, name = qname.partition(":")
    node = schema.top.get(qname) or schema.rpcs.get(qname)
    if node is None:
        raise YangError("unknown-element", f"unknown top-level node {qname}", info={"bad-element": name or qname})
    return node
