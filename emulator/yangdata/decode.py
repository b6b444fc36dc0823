"""Incoming instance data (NETCONF XML, RFC 7951 JSON) checked against the schema and turned into edit
trees: the nodes a request names, their values (typed by the leaf's LeafType) and their edit operations.
A node given twice where the schema allows one instance (a leaf, a container, list entries with the same
keys, a JSON member) is a bad-element."""

from __future__ import annotations

import json
from dataclasses import dataclass, field

from lxml import etree

from .errors import YangError
from .schema import JsonNumber, SNode

NC_NS = "urn:ietf:params:xml:ns:netconf:base:1.0"
NC_OPERATION = f"{{{NC_NS}}}operation"
OPERATIONS = ("merge", "replace", "create", "delete", "remove")
_SMALL_INT_DIGITS = 40          # JSON integers longer than this stay text (int() of 4,300+ digits raises)


@dataclass
class EditNode:
    schema: SNode
    op: str | None = None                  # explicit operation on this node, else inherited
    value: object = None                   # leaves: the checked value (see schema.LeafType)
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

def check_value(node: SNode, text, *, from_json: bool = False, nsmap: dict | None = None):
    """The typed value of a leaf from its XML text (`nsmap`: the element's namespaces, for identities) or
    its RFC 7951 JSON value, or YangError invalid-value. Any failure to convert the input (ValueError,
    ArithmeticError: Python's int() of 4,300+ digits, decimal conversions) is an invalid value too."""
    try:
        if from_json:
            return node.type.from_json(text)
        return node.type.from_text(text, nsmap)
    except (ValueError, ArithmeticError) as exc:
        raise YangError("invalid-value", f"invalid value {_shown(text)} for {node.name}: {exc}", path=node.path(),
                        error_type="protocol") from None


def _shown(value) -> str:
    text = repr(value)
    return text if len(text) <= 60 else f"{text[:40]}...({len(text)} characters)"


def refuse_duplicates(children: list[EditNode]) -> None:
    """bad-element for a leaf or container given twice among siblings (or top-level nodes of one request), two
    list entries with the same keys, or nodes of two cases of one choice (RFC 7950 §7.9: only one case
    exists; a node given to be deleted or removed does not count)."""
    if len(children) < 2:
        return
    seen: set = set()
    cases: dict[str, tuple[str, str]] = {}          # choice → (case, first node given from it)
    for c in children:
        node = c.schema
        keyword = node.keyword
        if node.choice is not None and c.op not in ("delete", "remove"):
            choice, case = node.choice
            first = cases.setdefault(choice, (case, node.name))
            if first[0] != case:
                raise YangError("bad-element", f"{first[1]} and {node.name} are cases of the same choice "
                                f"{choice}: only one may be given", path=node.path(), error_type="protocol",
                                info={"bad-element": node.name})
        if keyword == "leaf-list":
            continue
        if keyword == "list":
            keys = [c.child(k) for k in node.keys]
            if not keys or None in keys:
                continue                    # a missing key is reported by whoever needs the entry's keys
            ident = (id(node), tuple(k.value for k in keys))
        else:
            ident = id(node)
        if ident in seen:
            what = (f"two {node.name} entries have the same keys ({', '.join(map(str, ident[1]))})"
                    if keyword == "list" else f"{node.name} is given twice")
            raise YangError("bad-element", what, path=node.path(), error_type="protocol",
                            info={"bad-element": node.name})
        seen.add(ident)


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
        edit.value = check_value(node, el.text, nsmap=el.nsmap if node.type.uses_prefixes else None)
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
    refuse_duplicates(edit.children)
    return edit


# ---------------------------------------------------------------------------------------------- JSON

def load_json(text: str | bytes):
    """RFC 7951 JSON text as Python values: a member name given twice in one object is a bad-element, NaN
    and Infinity are not JSON (ValueError), and numbers other than small integers are JsonNumber, read by
    the leaf's type (a decimal64 keeps every digit; a 5,000-digit integer is out of range, not a crash)."""
    return json.loads(text, object_pairs_hook=_json_members, parse_float=JsonNumber, parse_int=_json_int,
                      parse_constant=_json_constant)


def _json_members(pairs: list[tuple[str, object]]) -> dict:
    obj = dict(pairs)
    if len(obj) != len(pairs):
        seen: set[str] = set()
        name = next(k for k, _ in pairs if k in seen or seen.add(k))
        raise YangError("bad-element", f"the member {name!r} is given twice in one JSON object",
                        error_type="protocol", info={"bad-element": name})
    return obj


def _json_int(text: str):
    return int(text) if len(text) <= _SMALL_INT_DIGITS else JsonNumber(text)


def _json_constant(name: str):
    raise ValueError(f"{name} is not a JSON value")


def decode_json(node: SNode, value) -> list[EditNode]:
    """RFC 7951 JSON for `node` (one EditNode, or one per entry of a list / leaf-list), as load_json reads it."""
    if node.keyword in ("list", "leaf-list"):
        if not isinstance(value, list):
            raise YangError("invalid-value", f"{node.name} must be a JSON array", path=node.path())
        if node.keyword == "leaf-list":
            return [EditNode(node, value=check_value(node, v, from_json=True)) for v in value]
        entries = [_json_object(node, item) for item in value]
        refuse_duplicates(entries)
        return entries
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
    refuse_duplicates(edit.children)
    return edit
