"""RESTCONF resource identifiers (RFC 8040 §3.5.3) and query parameters (§4.8) resolved against the schema.

An api-path is `module:node/child/list=key1,key2/leaf`: the first node and every node whose module
differs from its parent's carry their module name; list keys follow `=` percent-encoded and separated by
commas; a list named without keys means all its entries (a read only). Top-level nodes may also be named
without their module when the name is unambiguous (IOS XE clients call `/restconf/data/native/version`)."""

from __future__ import annotations

from dataclasses import dataclass, field
from urllib.parse import unquote

from ...yangdata import SNode, YangError
from ...yangdata.decode import check_value


def not_found(message: str, path: str | None = None) -> YangError:
    return YangError("invalid-value", message, error_type="protocol", path=path, status=404)


def bad_request(message: str, tag: str = "invalid-value", path: str | None = None) -> YangError:
    return YangError(tag, message, error_type="protocol", path=path, status=400)


def bounded_uint(text: str, maximum: int) -> int | None:
    """The value of a decimal number 0..maximum, or None. Never calls int() on more digits than `maximum`
    has, so that a 5,000-digit number is refused instead of raising ValueError (Python's int() limit of
    4,300 digits); leading zeros are allowed (000…01 is 1)."""
    if not (text.isascii() and text.isdigit()):
        return None
    significant = text.lstrip("0") or "0"
    if len(significant) > len(str(maximum)):
        return None
    value = int(significant)
    return value if value <= maximum else None


def shown(text: str, limit: int = 40) -> str:
    """A client's value for an error message, cut short."""
    return repr(text) if len(text) <= limit else repr(text[:limit]) + f"… ({len(text)} characters)"


def checked(node: SNode, text, path: str | None = None):
    """check_value of a key in a URL: an identity is named as in JSON, `module:identity` (RFC 8040 §3.5.3),
    every other type by its text."""
    try:
        return check_value(node, text, from_json=node.type.uses_prefixes)
    except YangError:
        raise
    except ValueError:
        raise bad_request(f"invalid value {shown(str(text))} for {node.name}", path=path) from None


@dataclass
class Step:
    node: SNode
    keys: dict | None = None          # list entry: key name -> typed value; leaf-list entry: {"": value}


@dataclass
class Target:
    """A resolved api-path: the steps from a top-level node down to the target (empty: the datastore)."""
    steps: list[Step] = field(default_factory=list)
    rpc: SNode | None = None          # POST /restconf/data/<module>:<rpc> (the form IOS XE clients use)

    @property
    def node(self) -> SNode | None:
        return self.steps[-1].node if self.steps else None

    @property
    def top(self) -> SNode | None:
        return self.steps[0].node if self.steps else None

    @property
    def is_entry(self) -> bool:
        """The target is one list (or leaf-list) entry named by its keys."""
        return bool(self.steps) and self.steps[-1].keys is not None

    def path(self) -> str:
        """The target as an RFC 7951 instance identifier (for error-path)."""
        parts = []
        parent_module = None
        for step in self.steps:
            node = step.node
            name = node.qname if node.module != parent_module else node.name
            parent_module = node.module
            if step.keys:
                if node.keyword == "leaf-list":
                    name += f"[.='{step.keys['']}']"
                else:
                    name += "".join(f"[{k}='{v}']" for k, v in step.keys.items())
            parts.append(name)
        return "/" + "/".join(parts)


def split_segments(raw: str) -> list[str]:
    """The api-path's segments, still percent-encoded (a `/` inside a key value arrives as %2F)."""
    raw = raw.strip("/")
    return raw.split("/") if raw else []


def _identifier(text: str, what: str) -> tuple[str | None, str]:
    module, sep, name = text.partition(":")
    if not sep:
        module, name = None, text
    if not name or (sep and not module):
        raise bad_request(f"malformed {what} {text!r}")
    return module, name


def resolve(segments: list[str], tops: dict[str, SNode], rpcs: dict[str, SNode] | None = None) -> Target:
    """Resolves the segments of an api-path (after /restconf/data) against the top-level nodes."""
    target = Target()
    parent: SNode | None = None
    for i, raw in enumerate(segments):
        name_part, eq, key_part = raw.partition("=")
        module, name = _identifier(unquote(name_part), "node name")
        if parent is None:
            node = None
            if module is not None:
                node = tops.get(f"{module}:{name}")
                if node is None and rpcs is not None and f"{module}:{name}" in rpcs:
                    if len(segments) > 1:
                        raise not_found(f"{module}:{name} is an RPC and has no child resources")
                    target.rpc = rpcs[f"{module}:{name}"]
                    return target
            else:
                matches = [n for n in tops.values() if n.name == name]
                if len(matches) == 1:
                    node = matches[0]
                elif len(matches) > 1:
                    raise bad_request(f"{name} is ambiguous: name its module ({', '.join(n.qname for n in matches)})")
            if node is None:
                raise not_found(f"no resource /{raw} in the data tree")
        else:
            node = parent.children.get(name)
            if node is None or node.keyword in ("input", "output"):
                raise not_found(f"{parent.path()} has no child {name}", path=target.path())
            if module is not None and module != node.module:
                raise not_found(f"{name} belongs to module {node.module}, not {module}", path=target.path())
        if parent is not None and node.keyword in ("rpc", "action"):
            raise not_found(f"{name} is not a data resource", path=target.path())
        keys = None
        if eq:
            if node.keyword == "list":
                values = [unquote(v) for v in key_part.split(",")]
                if len(values) != len(node.keys):
                    raise bad_request(f"{node.name} takes {len(node.keys)} key value(s) "
                                      f"({', '.join(node.keys)}), got {len(values)}", path=target.path())
                keys = {}
                for k, v in zip(node.keys, values):
                    keys[k] = checked(node.children[k], v, target.path())
            elif node.keyword == "leaf-list":
                keys = {"": checked(node, unquote(key_part), target.path())}
            else:
                raise bad_request(f"{node.name} is a {node.keyword} and takes no key values", path=target.path())
        target.steps.append(Step(node, keys))
        if node.is_leaf and i < len(segments) - 1:
            raise not_found(f"{node.name} is a leaf and has no child resources", path=target.path())
        if node.keyword in ("list", "leaf-list") and keys is None and i < len(segments) - 1:
            raise bad_request(f"{node.name} is a list: name one entry by its keys ({', '.join(node.keys)}) "
                              "to reach its children", path=target.path())
        parent = node
    return target


def find(target: Target, data):
    """The instance data at the target within the top-level node's data, or None if absent. A list entry
    is returned as its dict (a leaf-list entry as its value); a list without keys as the list."""
    value = data
    for i, step in enumerate(target.steps):
        if i > 0:
            if not isinstance(value, dict) or step.node.name not in value:
                return None
            value = value[step.node.name]
        if step.keys is not None:
            if step.node.keyword == "leaf-list":
                value = step.keys[""] if step.keys[""] in value else None
            else:
                value = next((e for e in value if all(e.get(k) == v for k, v in step.keys.items())), None)
            if value is None:
                return None
    return value


# ---------------------------------------------------------------------------------------------- query

QUERY_PARAMETERS = {"content", "depth", "fields", "filter", "insert", "point", "start-time", "stop-time",
                    "with-defaults"}
GET_ONLY = {"content", "depth", "fields", "with-defaults"}
WITH_DEFAULTS = ("report-all", "trim", "explicit", "report-all-tagged")


@dataclass
class Query:
    content: str = "all"
    depth: int | None = None
    fields: dict | None = None
    with_defaults: str | None = None


def parse_query(args, method: str, target_node: SNode | None, schema_tops: dict[str, SNode]) -> Query:
    """Checks and parses the query parameters (RFC 8040 §4.8): unknown, repeated or misplaced ones → 400."""
    q = Query()
    for name in args.keys():
        values = args.getlist(name)
        if name not in QUERY_PARAMETERS:
            raise bad_request(f"unknown query parameter {name!r}", tag="unknown-attribute")
        if len(values) > 1:
            raise bad_request(f"query parameter {name!r} appears more than once")
        if name in ("filter", "start-time", "stop-time"):
            raise bad_request(f"query parameter {name!r} applies to event streams only")
        if name in ("insert", "point"):
            raise bad_request(f"query parameter {name!r} applies to user-ordered lists only; there are none")
        if name in GET_ONLY and method not in ("GET", "HEAD"):
            raise bad_request(f"query parameter {name!r} is allowed with GET and HEAD only")
        value = values[0]
        if name == "content":
            if value not in ("all", "config", "nonconfig"):
                raise bad_request(f"content must be all, config or nonconfig, not {value!r}")
            q.content = value
        elif name == "depth":
            if value == "unbounded":
                q.depth = None
            elif bounded_uint(value, 65535):
                q.depth = bounded_uint(value, 65535)
            else:
                raise bad_request(f"depth must be 1..65535 or unbounded, not {shown(value)}")
        elif name == "with-defaults":
            if value not in WITH_DEFAULTS:
                raise bad_request(f"with-defaults must be one of {', '.join(WITH_DEFAULTS)}, not {value!r}")
            q.with_defaults = value
        elif name == "fields":
            q.fields = parse_fields(value, target_node, schema_tops)
    return q


def parse_fields(text: str, target: SNode | None, tops: dict[str, SNode]) -> dict:
    """`a(b;c/d);e` → {"a": {"b": None, "c": {"d": None}}, "e": None}, names checked against the schema
    below the target (or the top-level nodes when the target is the datastore: keys "module:name")."""
    pos = 0

    def fail(msg):
        raise bad_request(f"fields={text!r}: {msg}")

    def child_of(parent: SNode | None, ident: str) -> tuple[str, SNode]:
        module, name = _identifier(ident, "field")
        if parent is None:
            if module is None:
                matches = [n for n in tops.values() if n.name == name]
                if len(matches) != 1:
                    fail(f"unknown or ambiguous top-level node {ident!r}")
                return matches[0].qname, matches[0]
            node = tops.get(f"{module}:{name}")
            if node is None:
                fail(f"unknown top-level node {ident!r}")
            return node.qname, node
        node = parent.children.get(name)
        if node is None or (module is not None and module != node.module):
            fail(f"{parent.name} has no child {ident!r}")
        return name, node

    def expr(parent: SNode | None, depth: int) -> dict:
        nonlocal pos
        if depth > 32:
            fail("nested too deeply")
        out: dict = {}
        while True:
            # path: identifier *("/" identifier)
            chain = []
            node = parent
            while True:
                start = pos
                while pos < len(text) and text[pos] not in "/();":
                    pos += 1
                ident = text[start:pos]
                if not ident:
                    fail(f"a node name is missing at offset {start}")
                key, node = child_of(node, ident)
                chain.append(key)
                if pos < len(text) and text[pos] == "/":
                    pos += 1
                    continue
                break
            sub = None
            if pos < len(text) and text[pos] == "(":
                pos += 1
                sub = expr(node, depth + 1)
                if pos >= len(text) or text[pos] != ")":
                    fail("an opening parenthesis is not closed")
                pos += 1
            cursor = out
            for key in chain[:-1]:
                nxt = cursor.get(key, {})
                if nxt is None:           # already selected whole
                    break
                cursor[key] = nxt
                cursor = nxt
            else:
                last = chain[-1]
                if last in cursor and (cursor[last] is None or sub is None):
                    cursor[last] = None
                elif last in cursor:
                    cursor[last].update(sub)
                else:
                    cursor[last] = sub
            if pos < len(text) and text[pos] == ";":
                pos += 1
                continue
            return out

    if not text:
        fail("empty")
    result = expr(target, 0)
    if pos != len(text):
        fail(f"unexpected {text[pos]!r} at offset {pos}")
    return result
