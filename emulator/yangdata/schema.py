"""A compact schema tree built once from our YANG modules with pyang: the data layer's map of every node
(name, module, namespace, keyword, config, keys, type) used to render, parse, filter and check data.

Choices and cases do not appear in instance data, so their children are lifted into the parent; each
lifted node remembers its choice and case so that an edit can drop the other cases."""

from __future__ import annotations

import functools
import re
import threading
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path

from ..tools.yangpaths import YANG_DIR, ietf_module_dir

# The modules the device implements (module name → file stem prefix in yang/ or pyang's IETF dir).
IMPLEMENTED = ("cisco-smart-license", "Cisco-IOS-XE-native", "Cisco-IOS-XE-rpc", "slpemu-control", "cisco-ia")
SUPPORTING = ("cisco-semver", "ietf-yang-types", "ietf-inet-types")

INT_RANGES = {
    "int8": (-2 ** 7, 2 ** 7 - 1), "int16": (-2 ** 15, 2 ** 15 - 1), "int32": (-2 ** 31, 2 ** 31 - 1),
    "int64": (-2 ** 63, 2 ** 63 - 1), "uint8": (0, 2 ** 8 - 1), "uint16": (0, 2 ** 16 - 1),
    "uint32": (0, 2 ** 32 - 1), "uint64": (0, 2 ** 64 - 1),
}
JSON_STRING_INTS = ("int64", "uint64")


@dataclass
class TypeInfo:
    base: str                                   # built-in YANG type name
    name: str = ""                              # the typedef name as written (e.g. yang:date-and-time)
    enums: dict[str, int] = field(default_factory=dict)
    ranges: list[tuple[int, int]] = field(default_factory=list)
    lengths: list[tuple[int, int]] = field(default_factory=list)
    patterns: list[re.Pattern] = field(default_factory=list)
    members: list["TypeInfo"] = field(default_factory=list)   # union


@dataclass
class SNode:
    name: str
    keyword: str                    # container, list, leaf, leaf-list, rpc, input, output, notification
    module: str
    namespace: str
    prefix: str
    config: bool = True
    presence: bool = False
    keys: tuple[str, ...] = ()
    type: TypeInfo | None = None
    default: str | None = None
    mandatory: bool = False
    choice: tuple[str, str] | None = None      # (choice name, case name) this node was lifted from
    children: dict[str, "SNode"] = field(default_factory=dict)
    parent: "SNode | None" = field(default=None, repr=False)

    @property
    def qname(self) -> str:
        return f"{self.module}:{self.name}"

    @property
    def is_leaf(self) -> bool:
        return self.keyword in ("leaf", "leaf-list")

    @cached_property
    def ordered_children(self) -> list["SNode"]:
        """Children in instance-data order: list keys first (RFC 7950 §7.8.5), then schema order."""
        keys = [self.children[k] for k in self.keys]
        return keys + [c for c in self.children.values() if c.name not in self.keys]

    def child(self, name: str, module: str | None = None) -> "SNode | None":
        node = self.children.get(name)
        if node is not None and module is not None and node.module != module:
            return None
        return node

    def path(self) -> str:
        parts = []
        node = self
        while node is not None and node.keyword not in ("input", "output"):
            parts.append(node.qname if node.parent is None or node.parent.module != node.module else node.name)
            node = node.parent
        return "/" + "/".join(reversed(parts))


@dataclass
class ModuleInfo:
    name: str
    revision: str
    namespace: str
    prefix: str
    path: Path
    submodules: list[tuple[str, str, Path]]      # (name, revision, path)
    features: list[str]
    implemented: bool


class Schema:
    # The modules this schema loads; a subclass may name others (RESTCONF's ietf-yang-library, ...).
    implemented: tuple[str, ...] = IMPLEMENTED
    supporting: tuple[str, ...] = SUPPORTING

    def __init__(self) -> None:
        import pyang.context
        import pyang.repository
        repo = pyang.repository.FileRepository(f"{YANG_DIR}:{ietf_module_dir()}", use_env=False)
        ctx = pyang.context.Context(repo)
        ctx.strict = True
        self.modules: dict[str, ModuleInfo] = {}
        self.top: dict[str, SNode] = {}             # "module:name" → top data node
        self.rpcs: dict[str, SNode] = {}            # "module:name" → rpc
        self.notifications: dict[str, SNode] = {}
        loaded = []
        for name in self.implemented + self.supporting:
            path = _module_path(name)
            text = path.read_text()
            mod = ctx.add_module(str(path), text)
            if mod is None:
                raise RuntimeError(f"cannot load YANG module {name} from {path}")
            loaded.append((name, path, mod))
        ctx.validate()
        errors = [e for e in ctx.errors if e[1] not in ("UNUSED_IMPORT", "UNUSED_TYPEDEF")
                  and not pyang_is_warning(e[1])]
        if errors:
            raise RuntimeError(f"YANG modules do not validate: {errors[:3]}")
        for name, path, mod in loaded:
            subs = []
            for inc in mod.search("include"):
                sub = ctx.get_module(inc.arg) or ctx.search_module(inc.pos, inc.arg)
                if sub is not None:
                    subs.append((sub.arg, _revision(sub), Path(sub.pos.ref)))
            ns = mod.search_one("namespace").arg
            prefix = mod.search_one("prefix").arg
            self.modules[name] = ModuleInfo(name, _revision(mod), ns, prefix, path, subs,
                                            [f.arg for f in mod.search("feature")], name in self.implemented)
            if name not in self.implemented:
                continue
            for stmt in mod.i_children:
                node = self._build(stmt, None, name, ns, prefix, True, None)
                if node is None:
                    continue
                target = {"rpc": self.rpcs, "notification": self.notifications}.get(node.keyword, self.top)
                target[node.qname] = node

    def _build(self, stmt, parent, module, ns, prefix, config, choice) -> SNode | None:
        kw = stmt.keyword
        if kw in ("choice", "case"):
            raise AssertionError("choices are lifted by the caller")
        if kw not in ("container", "list", "leaf", "leaf-list", "rpc", "input", "output", "notification"):
            return None
        stmt_config = getattr(stmt, "i_config", None)
        node = SNode(name=stmt.arg if kw not in ("input", "output") else kw, keyword=kw, module=module,
                     namespace=ns, prefix=prefix, config=config if stmt_config is None else bool(stmt_config),
                     parent=parent, choice=choice)
        if kw in ("rpc", "input", "output", "notification"):
            node.config = False
        if kw == "container":
            node.presence = stmt.search_one("presence") is not None
        if kw == "list":
            key = stmt.search_one("key")
            node.keys = tuple(key.arg.split()) if key is not None else ()
        if kw in ("leaf", "leaf-list"):
            node.type = _type_info(stmt.search_one("type"))
            default = stmt.search_one("default")
            node.default = default.arg if default is not None else None
            mandatory = stmt.search_one("mandatory")
            node.mandatory = mandatory is not None and mandatory.arg == "true"
        for child in getattr(stmt, "i_children", []):
            self._add_child(node, child, module, ns, prefix, node.config, None)
        return node

    def _add_child(self, node, child, module, ns, prefix, config, choice) -> None:
        if child.keyword == "choice":
            for case in child.i_children:
                if case.keyword == "case":
                    for c in case.i_children:
                        self._add_child(node, c, module, ns, prefix, config, (child.arg, case.arg))
                else:                         # shorthand case: the node itself is the case
                    self._add_child(node, case, module, ns, prefix, config, (child.arg, case.arg))
            return
        cmod = child.i_module.i_modulename if hasattr(child, "i_module") else module
        if cmod != module:
            info = self.modules.get(cmod)
            cns, cprefix = (info.namespace, info.prefix) if info else (ns, prefix)
        else:
            cns, cprefix = ns, prefix
        built = self._build(child, node, cmod, cns, cprefix, config, choice)
        if built is not None:
            node.children[built.name] = built

    def find(self, qname: str) -> SNode | None:
        return self.top.get(qname)

    def top_by_namespace(self, namespace: str, name: str) -> SNode | None:
        return next((n for n in self.top.values() if n.namespace == namespace and n.name == name), None)

    def module_by_namespace(self, namespace: str) -> ModuleInfo | None:
        return next((m for m in self.modules.values() if m.namespace == namespace), None)

    def module_text(self, name: str, revision: str | None = None) -> str | None:
        """The YANG text of a module or submodule we serve (get-schema, RESTCONF schema)."""
        for info in self.modules.values():
            candidates = [(info.name, info.revision, info.path)] + info.submodules
            for n, rev, path in candidates:
                if n == name and (revision in (None, "", rev)):
                    return path.read_text()
        return None


def pyang_is_warning(tag: str) -> bool:
    from pyang import error
    try:
        return error.is_warning(error.err_level(tag))
    except Exception:
        return False


def _revision(mod) -> str:
    revs = sorted((r.arg for r in mod.search("revision")), reverse=True)
    return revs[0] if revs else ""


def _module_path(name: str) -> Path:
    for base in (YANG_DIR, ietf_module_dir()):
        found = sorted(base.glob(f"{name}@*.yang")) or sorted(base.glob(f"{name}.yang"))
        if found:
            return found[-1]
    raise FileNotFoundError(f"YANG module {name} not found in {YANG_DIR} or {ietf_module_dir()}")


def _parse_bounds(text: str, lo: int, hi: int) -> list[tuple[int, int]]:
    out = []
    for part in text.split("|"):
        bits = [b.strip() for b in part.split("..")]
        conv = [lo if b == "min" else hi if b == "max" else int(b) for b in bits]
        out.append((conv[0], conv[-1]))
    return out


def _type_info(type_stmt) -> TypeInfo:
    """Resolves a type through its typedef chain, collecting every restriction on the way."""
    info = TypeInfo(base="string", name=type_stmt.arg)
    stmt = type_stmt
    restrictions = []
    while True:
        restrictions.append(stmt)
        typedef = getattr(stmt, "i_typedef", None)
        if typedef is None:
            break
        stmt = typedef.search_one("type")
    base = stmt.arg.split(":")[-1]
    info.base = base
    lo, hi = INT_RANGES.get(base, (0, 2 ** 64))
    for r in restrictions:
        rng = r.search_one("range")
        if rng is not None:
            info.ranges = _parse_bounds(rng.arg, lo, hi)
        length = r.search_one("length")
        if length is not None:
            info.lengths = _parse_bounds(length.arg, 0, 2 ** 64)
        for pat in r.search("pattern"):
            info.patterns.append(re.compile(_xsd_to_python(pat.arg)))
    if base == "enumeration":
        value = 0
        for enum in stmt.search("enum"):
            v = enum.search_one("value")
            value = int(v.arg) if v is not None else value
            info.enums[enum.arg] = value
            value += 1
    if base == "union":
        info.members = [_type_info(t) for t in stmt.search("type")]
    return info


def _xsd_to_python(pattern: str) -> str:
    """XSD patterns are implicitly anchored; the few XSD-only escapes our modules use map directly."""
    return "^(?:" + pattern.replace("\\p{N}", "\\d").replace("\\p{L}", "a-zA-Z") + ")$"


def once(factory):
    """A lazily built, shared instance: `factory` runs once, on first use, whatever the thread."""
    lock = threading.Lock()
    built = []

    @functools.wraps(factory)
    def get():
        with lock:
            if not built:
                built.append(factory())
            return built[0]
    return get


@once
def get_schema() -> Schema:
    return Schema()
