"""A compact schema tree built once from our YANG modules with pyang: the data layer's map of every node
(name, module, namespace, keyword, config, keys, type) used to render, parse, filter and check data. One tree
per set of module revisions a release serves (`get_schema(release)`, releases.py); most releases share one.

Choices and cases do not appear in instance data, so their children are lifted into the parent; each
lifted node remembers its choice and case so that an edit can drop the other cases.

A leaf's type is pyang's resolved type spec (`i_type_spec`: every restriction of the typedef chain, patterns
checked by lxml's XML Schema regex engine) in a LeafType, which adds what instance data needs on top of it:
the lexical forms of XML and of RFC 7951 JSON, and identities named by XML prefix or by module name."""

from __future__ import annotations

import base64
import binascii
import functools
import re
import threading
from dataclasses import dataclass, field
from decimal import Decimal
from functools import cached_property
from pathlib import Path

from pyang import types as pytypes
from pyang import util as pyutil

from ..tools.yangpaths import YANG_DIR, ietf_module_dir

# The modules the device implements (module name → file stem prefix in yang/ or pyang's IETF dir).
IMPLEMENTED = ("cisco-smart-license", "Cisco-IOS-XE-native", "Cisco-IOS-XE-rpc", "slpemu-control", "cisco-ia")
SUPPORTING = ("cisco-semver", "ietf-yang-types", "ietf-inet-types")

INTEGER_TYPES = frozenset(("int8", "int16", "int32", "int64", "uint8", "uint16", "uint32", "uint64"))
JSON_STRING_NUMBERS = frozenset(("int64", "uint64", "decimal64"))        # RFC 7951 §6.1
_INTEGER = re.compile(r"([+-]?)0*([0-9]+)")                              # RFC 7950 §9.2.1, decimal only
_DECIMAL = re.compile(r"([+-]?)0*([0-9]+)(?:\.([0-9]+))?")               # RFC 7950 §9.3.1
_MAX_INTEGER_DIGITS = 20            # of the widest YANG integer, 2**64 - 1
_MAX_DECIMAL_DIGITS = 19            # of 2**63 - 1: a decimal64's integer part has fewer
_MAX_FRACTION_DIGITS = 18
# XML 1.0 §2.2 Char: what a string may hold to be written as XML (and so as JSON too).
_NOT_XML_CHAR = re.compile("[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")

# pyang's pattern checks share one lxml element between all patterns (XSDPattern._avalue) and its schema
# loading shares one schema document: both run under this lock (so do identity look-ups, which may note
# missing prefixes in pyang's module statements).
PYANG_LOCK = threading.Lock()


class InvalidValue(ValueError):
    """A value a leaf's type refuses; the message says why."""


class JsonNumber:
    """A JSON number that is not a small integer (a fraction, an exponent, or more digits than any YANG
    integer has), kept as its text for the leaf's type to read."""
    __slots__ = ("text",)

    def __init__(self, text: str):
        self.text = text

    def __repr__(self) -> str:
        return self.text if len(self.text) <= 40 else f"{self.text[:20]}...({len(self.text)} characters)"


def xml_illegal_character(text: str) -> str | None:
    """The first character of `text` XML 1.0 does not allow (C0 controls but tab, LF and CR; U+FFFE, U+FFFF;
    lone surrogates), or None."""
    m = _NOT_XML_CHAR.search(text)
    return m.group() if m else None


def xml_safe(text: str) -> str:
    """`text` with every character XML 1.0 does not allow written as \\uXXXX."""
    return _NOT_XML_CHAR.sub(lambda m: f"\\u{ord(m.group()):04x}", text)


class _Modules:
    """The pyang module statements of one schema by name and by namespace (identityref values name them)."""

    def __init__(self, ctx):
        mods = [m for m in ctx.modules.values() if m.keyword == "module"]
        self.by_name = {m.arg: m for m in mods}
        self.by_namespace = {m.search_one("namespace").arg: m for m in mods}


class LeafType:
    """The type of a leaf or leaf-list: `spec` is pyang's resolved type spec of its type statement; a leafref
    takes the type of the leaf it refers to (RFC 7951 §6.7; the reference itself is not checked), a union
    has its `members` in order, an instance-identifier is kept as its string.

    Values: integers int, decimal64 Decimal, boolean bool, empty True, identityref "module:identity" (the
    RFC 7951 form), bits the names in position order separated by one space, binary canonical base64, the
    other types str. `from_text` reads the XML lexical form (also URL keys and YANG defaults), `from_json` an
    RFC 7951 JSON value; both raise InvalidValue. Only input is checked: rendering trusts the engine."""

    def __init__(self, stmt, modules: _Modules, leaf_module: str):
        self.name = stmt.arg                    # as written (e.g. yang:date-and-time)
        while isinstance(stmt.i_type_spec, pytypes.PathTypeSpec) and \
                getattr(stmt.i_type_spec, "i_target_node", None) is not None:
            stmt = stmt.i_type_spec.i_target_node.search_one("type")
        self.stmt = stmt
        self.spec = stmt.i_type_spec
        self.base = self.spec.name               # the built-in type every restriction derives from
        self.modules = modules
        self.leaf_module = leaf_module
        self.members = [LeafType(t, modules, leaf_module) for t in self.spec.types] if self.base == "union" else []
        self.uses_prefixes = self.base == "identityref" or any(m.uses_prefixes for m in self.members)
        self._has_patterns = any(isinstance(s, pytypes.PatternTypeSpec) for s in _chain(self.spec))

    def __repr__(self) -> str:
        return f"LeafType({self.name!r}, base={self.base!r})"

    # ------------------------------------------------------------------ restrictions, for generated documents
    @cached_property
    def enums(self) -> dict[str, int]:
        """An enumeration's names and values, in order."""
        return dict(self.spec.enums) if isinstance(self.spec, pytypes.EnumTypeSpec) else {}

    @cached_property
    def ranges(self) -> list[tuple]:
        """The allowed intervals of a numeric type, min and max resolved (the type's bounds without a range)."""
        spec = next((s for s in _chain(self.spec) if isinstance(s, pytypes.RangeTypeSpec)), None)
        if spec is None:
            bounds = next((s for s in _chain(self.spec) if hasattr(s, "min")), None)
            return [(bounds.min, bounds.max)] if bounds is not None and self.base != "string" else []
        return _resolved(spec.ranges, spec)

    @cached_property
    def lengths(self) -> list[tuple[int, int]]:
        """The allowed lengths of a string or binary type, min and max resolved ([] without a length)."""
        spec = next((s for s in _chain(self.spec) if isinstance(s, pytypes.LengthTypeSpec)), None)
        if spec is None:
            return []
        return _resolved(spec.lengths, spec)

    @cached_property
    def identities(self) -> list[str]:
        """An identityref's allowed values in RFC 7951 form ("module:identity"), sorted."""
        if self.base != "identityref":
            return []
        bases = [b.i_identity for b in self.spec.idbases]
        with PYANG_LOCK:
            return sorted(f"{name}:{ident.arg}" for name, module in self.modules.by_name.items()
                          for ident in module.i_identities.values()
                          if all(pytypes.is_derived_from(ident, base) for base in bases))

    @cached_property
    def patterns(self) -> list[str]:
        """The XSD patterns a value must match, every restriction of the typedef chain (invert-match ones are
        left out: a value must not match those)."""
        return [p.spec for s in _chain(self.spec) if isinstance(s, pytypes.PatternTypeSpec)
                for p in s.res if not p.invert_match]

    # ------------------------------------------------------------------ input
    def from_text(self, text: str | None, nsmap: dict | None = None):
        """The value of an XML leaf's text; `nsmap` (the element's) resolves identity prefixes, else the
        prefixes of the module that defines the type (YANG default statements)."""
        text = text or ""
        self._check_characters(text)
        base = self.base
        if base == "union":
            return self._first_member(lambda m: m.from_text(text, nsmap))
        if base == "empty":
            if text:
                raise InvalidValue("an empty leaf takes no value")
            return True
        if base == "boolean":
            if text not in ("true", "false"):
                raise InvalidValue("expected true or false")
            return text == "true"
        if base in INTEGER_TYPES:
            return self._integer(text.strip())
        if base == "decimal64":
            return self._decimal(text.strip())
        return self._string(text, nsmap, json=False)

    def from_json(self, raw):
        """The value of an RFC 7951 JSON member (as decode.load_json reads it: numbers other than small
        integers are JsonNumber). int64, uint64 and decimal64 take a string or a number."""
        base = self.base
        if isinstance(raw, str):
            self._check_characters(raw)
            if base == "string":
                return self._validated(raw)
        if base == "union":
            return self._first_member(lambda m: m.from_json(raw))
        if base == "empty":
            if raw != [None]:
                raise InvalidValue("an empty leaf is [null] in JSON")
            return True
        if base == "boolean":
            if not isinstance(raw, bool):
                raise InvalidValue("expected true or false")
            return raw
        numeric = base in INTEGER_TYPES or base == "decimal64"
        if numeric and isinstance(raw, str) and base in JSON_STRING_NUMBERS:
            return self._integer(raw) if base != "decimal64" else self._decimal(raw)
        if numeric and isinstance(raw, (int, JsonNumber)) and not isinstance(raw, bool):
            if base == "decimal64":
                return self._decimal(str(raw) if isinstance(raw, int) else _plain_decimal(raw.text))
            if isinstance(raw, int):
                return self._validated(raw)
            return self._integer(raw.text)
        if numeric:
            raise InvalidValue("expected a number" + (" or a string" if base in JSON_STRING_NUMBERS else ""))
        if not isinstance(raw, str):
            raise InvalidValue("expected a string")
        return self._string(raw, None, json=True)

    def _check_characters(self, text: str) -> None:
        bad = xml_illegal_character(text)
        if bad is not None:
            raise InvalidValue(f"U+{ord(bad):04X} is not a character XML 1.0 allows")

    def _first_member(self, parse):
        for member in self.members:
            try:
                return parse(member)
            except InvalidValue:
                continue
        raise InvalidValue("matches no member type of the union")

    def _integer(self, text: str) -> int:
        # pyang's IntTypeSpec.str_to_val reads YANG statement syntax (0x.. hex, 0.. octal); instance data is
        # decimal (RFC 7950 §9.2.1), and more digits than uint64 has are out of range before int() sees them
        m = _INTEGER.fullmatch(text)
        if m is None:
            raise InvalidValue("not an integer")
        sign, digits = m.groups()
        if len(digits) > _MAX_INTEGER_DIGITS:
            raise InvalidValue(f"out of range ({len(digits)} digits)")
        return self._validated(int(sign + digits))

    def _decimal(self, text: str) -> Decimal:
        m = _DECIMAL.fullmatch(text)
        if m is None:
            raise InvalidValue("not a decimal number")
        sign, whole, fraction = m.groups()
        if len(whole) > _MAX_DECIMAL_DIGITS:
            raise InvalidValue(f"out of range ({len(whole)} digits)")
        if fraction is not None and len(fraction) > _MAX_FRACTION_DIGITS:
            raise InvalidValue("too many fraction digits")
        canonical = ("-" if sign == "-" else "") + whole + (f".{fraction}" if fraction is not None else "")
        value = self._validated(self._str_to_val(canonical))
        return Decimal(value.value).scaleb(-_fraction_digits(self.spec))

    def _string(self, text: str, nsmap: dict | None, *, json: bool):
        base = self.base
        if base == "identityref":
            return self._identity(text, nsmap, json=json)
        if base == "bits":
            names = text.split()
            if len(set(names)) != len(names):
                raise InvalidValue("a bit is named twice")
            self._validated(names)
            return " ".join(sorted(names, key=self.spec.get_position))
        if base == "binary":
            try:
                data = base64.b64decode("".join(text.split()), validate=True)
            except (binascii.Error, ValueError):
                raise InvalidValue("not base64") from None
            self._validated(data)
            return base64.b64encode(data).decode("ascii")
        if base in ("instance-identifier", "leafref"):
            return text
        return self._validated(text)

    def _identity(self, text: str, nsmap: dict | None, *, json: bool) -> str:
        prefix, sep, name = text.rpartition(":")
        if json:
            module = self.modules.by_name.get(prefix if sep else self.leaf_module)
        elif nsmap is not None:
            module = self.modules.by_namespace.get(nsmap.get(prefix if sep else None))
        else:
            with PYANG_LOCK:
                module = pyutil.prefix_to_module(self.stmt.i_module, prefix, self.stmt.pos, [])
        if module is None:
            raise InvalidValue(f"no module {'is named' if json else 'has the prefix'} {prefix!r}"
                               if sep else "no module in scope")
        identity = self._str_to_val(name, module)
        return f"{identity.i_module.i_modulename}:{identity.arg}"

    def _str_to_val(self, text: str, module=None):
        errors: list = []
        with PYANG_LOCK:
            value = self.spec.str_to_val(errors, self.stmt.pos, text, module or self.stmt.i_module)
        if value is None or errors:
            raise InvalidValue(self._reason(errors))
        return value

    def _validated(self, value):
        errors: list = []
        if self._has_patterns:
            with PYANG_LOCK:
                ok = self.spec.validate(errors, self.stmt.pos, value, self.stmt.i_module)
        else:
            ok = self.spec.validate(errors, self.stmt.pos, value, self.stmt.i_module)
        if ok is False or errors:
            raise InvalidValue(self._reason(errors))
        return value

    def _reason(self, errors: list) -> str:
        """pyang's TYPE_VALUE reason ("range error for range defined at <file:line>") in the terms of the type."""
        args = errors[0][2] if errors and isinstance(errors[0][2], tuple) else ()
        reason = str(args[2]).split(" for ")[0].strip() if len(args) > 2 else "invalid"
        if reason == "range error":
            return f"out of range {_bounds(self.ranges)}"
        if reason in ("length error", "lengths error"):
            return "length out of " + (_bounds(self.lengths) if self.lengths else "range")
        if reason == "pattern mismatch":
            patterns = [p for s in _chain(self.spec) if isinstance(s, pytypes.PatternTypeSpec) for p in s.res]
            failed = next((p for p in patterns if f"defined at {p.pos}" in str(args[2])), None)
            if failed is None:
                return "does not match its pattern"
            return f"{'matches' if failed.invert_match else 'does not match'} the pattern '{failed.spec}'"
        if reason == "enum not defined":
            return "not one of " + ", ".join(self.enums)
        return reason

    # ------------------------------------------------------------------ output
    def json_value(self, value):
        """The RFC 7951 JSON form of a value."""
        base = self.base
        if base == "empty":
            return [None]
        if base in JSON_STRING_NUMBERS:
            return decimal_text(value) if isinstance(value, Decimal) else str(value)
        if base == "union":
            member = self._member_for(value)
            return member.json_value(value) if member is not None else value
        return value

    def xml_text(self, value) -> str | None:
        """The XML text of a value (an identity's prefix: see xml_namespaces)."""
        if value is True and self.base == "empty":
            return None
        if isinstance(value, bool):
            return "true" if value else "false"
        if isinstance(value, Decimal):
            return decimal_text(value)
        if self.uses_prefixes and isinstance(value, str):
            module, name = self._identity_module(value)
            if module is not None:
                return f"{module.i_prefix}:{name}"
        return str(value)

    def xml_namespaces(self, value) -> dict | None:
        """{prefix: namespace} an identityref value's XML text needs declared, or None."""
        if self.uses_prefixes and isinstance(value, str):
            module, _ = self._identity_module(value)
            if module is not None:
                return {module.i_prefix: module.search_one("namespace").arg}
        return None

    def _identity_module(self, value: str):
        """(pyang module, identity name) of an identityref value "module:identity", else (None, None)."""
        leaf_type = self._member_for(value) if self.base == "union" else self
        if leaf_type is None or leaf_type.base != "identityref":
            return None, None
        module, sep, name = value.partition(":")
        return (self.modules.by_name.get(module), name) if sep else (None, None)

    def _member_for(self, value) -> "LeafType | None":
        """The first member type (unions unfolded) a value of this Python type belongs to: the one it was
        read as, since from_text and from_json try the members in the same order."""
        for member in self.members:
            if member.base == "union":
                found = member._member_for(value)
                if found is not None:
                    return found
            elif _holds(member.base, value):
                return member
        return None


def _holds(base: str, value) -> bool:
    """Whether a built-in type's values are of the Python type of `value` (see LeafType)."""
    if isinstance(value, bool):
        return base == "boolean" or base == "empty" and value
    if isinstance(value, int):
        return base in INTEGER_TYPES
    if isinstance(value, Decimal):
        return base == "decimal64"
    return base not in INTEGER_TYPES and base not in ("decimal64", "boolean", "empty")


def decimal_text(value: Decimal) -> str:
    """The canonical form of a decimal64 value (RFC 7950 §9.3.2): at least one digit on each side of the
    point, no other leading or trailing zeros."""
    whole, _, fraction = format(value, "f").partition(".")
    return f"{whole}.{fraction.rstrip('0') or '0'}"


def _plain_decimal(text: str) -> str:
    """A JSON number's text without an exponent, or InvalidValue when no decimal64 could hold it."""
    number = Decimal(text)
    if not number.is_finite() or number and number.adjusted() > _MAX_DECIMAL_DIGITS:
        raise InvalidValue("out of range")
    if number.as_tuple().exponent < -_MAX_FRACTION_DIGITS:
        raise InvalidValue("too many fraction digits")
    return format(number, "f")


def _resolved(parts: list[tuple], spec) -> list[tuple]:
    """pyang's (lo, hi) parts of a range or length, "min"/"max" replaced by the spec's bounds, a single value
    (lo, None) as (lo, lo)."""
    def bound(v):
        return spec.min if v == "min" else spec.max if v == "max" else v
    return [(bound(lo), bound(lo if hi is None else hi)) for lo, hi in parts]


def _chain(spec):
    while spec is not None:
        yield spec
        spec = getattr(spec, "base", None)


def _fraction_digits(spec) -> int:
    return next(s.fraction_digits for s in _chain(spec) if hasattr(s, "fraction_digits"))


def _bounds(parts) -> str:
    return " | ".join(f"{lo}..{hi}" if hi != lo else str(lo) for lo, hi in parts)


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
    type: LeafType | None = None
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

    def __init__(self, directories: tuple[Path, ...] = (), revisions: dict[str, str] | None = None) -> None:
        """`directories`: where to look for modules before yang/ and pyang's IETF modules; `revisions`: the
        revision to load of some modules (default: the newest file of each)."""
        import pyang.context
        import pyang.repository
        dirs = (*directories, YANG_DIR, ietf_module_dir())
        repo = pyang.repository.FileRepository(":".join(str(d) for d in dirs), use_env=False)
        ctx = pyang.context.Context(repo)
        ctx.strict = True
        self.modules: dict[str, ModuleInfo] = {}
        self.top: dict[str, SNode] = {}             # "module:name" → top data node
        self.rpcs: dict[str, SNode] = {}            # "module:name" → rpc
        self.notifications: dict[str, SNode] = {}
        loaded = []
        with PYANG_LOCK:
            for name in self.implemented + self.supporting:
                path = _module_path(name, dirs, (revisions or {}).get(name))
                text = path.read_text()
                mod = ctx.add_module(str(path), text)
                if mod is None:
                    raise RuntimeError(f"cannot load YANG module {name} from {path}")
                loaded.append((name, path, mod))
            ctx.validate()
        self._pyang_modules = _Modules(ctx)
        errors = [e for e in ctx.errors if e[1] not in ("UNUSED_IMPORT", "UNUSED_TYPEDEF")
                  and not pyang_is_warning(e[1])]
        if errors:
            raise RuntimeError(f"YANG modules do not validate: {errors[:3]}")
        for name, path, mod in loaded:
            subs = []
            for inc in mod.search("include"):
                date = inc.search_one("revision-date")
                rev = date.arg if date is not None else None
                sub = ctx.get_module(inc.arg, rev) or ctx.search_module(inc.pos, inc.arg, rev)
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
            node.type = LeafType(stmt.search_one("type"), self._pyang_modules, module)
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


def _module_path(name: str, directories, revision: str | None = None) -> Path:
    for base in directories:
        if revision is not None:
            found = sorted(base.glob(f"{name}@{revision}.yang"))
        else:
            found = sorted(base.glob(f"{name}@*.yang")) or sorted(base.glob(f"{name}.yang"))
        if found:
            return found[-1]
    what = f"{name}@{revision}" if revision else name
    raise FileNotFoundError(f"YANG module {what} not found in {', '.join(str(d) for d in directories)}")


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


_SCHEMAS: dict[tuple, Schema] = {}
_SCHEMAS_LOCK = threading.Lock()


def get_schema(release=None) -> Schema:
    """The device schema of a release (a Release, "17.3.2", a train or None for the newest), built once per
    set of module revisions (releases.py: most releases share one)."""
    from .releases import module_revisions
    key = tuple(sorted(module_revisions(release).items()))
    with _SCHEMAS_LOCK:
        schema = _SCHEMAS.get(key)
        if schema is None:
            schema = _SCHEMAS[key] = Schema(revisions=dict(key))
        return schema
