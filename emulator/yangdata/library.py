"""The device's YANG library: the one place that knows which modules the management servers serve.

Each module's name, revision, namespace, features, deviations, submodules, conformance and where its text
lives is read once per process and module set from the schemas pyang compiled (the device's modules from
`schema.get_schema(release)`, whose release decides the revision of some Cisco modules (releases.py); the IETF
modules the servers implement themselves from pyang's bundled IETF directory). Everything a client learns about
the module set is derived from here:

- NETCONF: the module capabilities of the hello, `netconf-state/schemas` (RFC 6022) and `<get-schema>`;
- RESTCONF: `/restconf/schema/...` and, like NETCONF, ietf-yang-library: RFC 8525 `yang-library` and the
  RFC 7895 `modules-state` older clients read.

Both servers serve the same modules except their own protocol modules (`SERVER_MODULES`): NETCONF
implements ietf-netconf and ietf-netconf-monitoring, RESTCONF ietf-restconf and ietf-restconf-monitoring.

    lib = yang_library("netconf", release)        # or "restconf"; built once per module set, shared
    lib.capabilities(); lib.schemas(); lib.texts("cisco-smart-license", None)
    lib.yang_library(location); lib.modules_state(location)     # location(name, revision) -> URL or None
"""

from __future__ import annotations

import hashlib
import re
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from .releases import module_revisions
from .schema import ModuleInfo, Schema, SNode, get_schema, once

NETCONF = "netconf"
RESTCONF = "restconf"

# The protocol modules each server implements, with the features it supports when that is fewer than the
# module defines (None: every feature the module defines).
SERVER_MODULES: dict[str, dict[str, tuple[str, ...] | None]] = {
    NETCONF: {"ietf-netconf": ("writable-running", "validate", "xpath"), "ietf-netconf-monitoring": None},
    RESTCONF: {"ietf-restconf": None, "ietf-restconf-monitoring": None},
}
# IETF modules both servers implement (ietf-yang-library's data; with-defaults on retrieval), and those
# their modules import.
COMMON_MODULES = ("ietf-yang-library", "ietf-netconf-with-defaults")
IMPORT_ONLY = ("ietf-yang-types", "ietf-inet-types", "ietf-datastores")

_DEVIATION = re.compile(r"^\s*deviation\s", re.M)

Location = Callable[[str, str], "str | None"]


class ProtocolSchema(Schema):
    """SNode trees of the IETF modules the servers implement themselves (same builder as the device's). The
    order gives the order of their data in a whole-datastore reply: netconf-state, yang-library,
    modules-state, restconf-state."""
    implemented = tuple(SERVER_MODULES[NETCONF]) + COMMON_MODULES + tuple(SERVER_MODULES[RESTCONF])
    supporting = IMPORT_ONLY


@once
def get_protocol_schema() -> ProtocolSchema:
    return ProtocolSchema()


@dataclass(frozen=True)
class Submodule:
    name: str
    revision: str
    path: Path


@dataclass(frozen=True)
class Module:
    name: str
    revision: str
    namespace: str
    prefix: str
    path: Path | None                                  # where the text is; None when it cannot be served
    submodules: tuple[Submodule, ...] = ()
    features: tuple[str, ...] = ()
    deviations: tuple[tuple[str, str], ...] = ()       # (module, revision) of the modules deviating this one
    implemented: bool = True

    def capability(self) -> str:
        """The module's NETCONF capability URI (RFC 7950 §5.6.4)."""
        uri = f"{self.namespace}?module={self.name}&revision={self.revision}"
        if self.features:
            uri += "&features=" + ",".join(self.features)
        if self.deviations:
            uri += "&deviations=" + ",".join(name for name, _ in self.deviations)
        return uri

    def files(self) -> list[tuple[str, str, Path | None]]:
        """(name, revision, path) of the module and each of its submodules."""
        return [(self.name, self.revision, self.path)] + [(s.name, s.revision, s.path) for s in self.submodules]


def served_modules(protocol: str, schemas: tuple[Schema, ...] | None = None, release=None) -> tuple[Module, ...]:
    """The modules one server serves, sorted by name: every module of `schemas` (default: the device's of
    `release` and the servers' own) except the protocol modules of the other servers."""
    if protocol not in SERVER_MODULES:
        raise ValueError(f"unknown protocol {protocol!r}")
    if schemas is None:
        schemas = (get_schema(release), get_protocol_schema())
    others = {name for p, mods in SERVER_MODULES.items() if p != protocol for name in mods}
    features = SERVER_MODULES[protocol]
    infos: dict[str, ModuleInfo] = {}
    implemented: set[str] = set()
    for schema in schemas:
        for info in schema.modules.values():
            infos.setdefault(info.name, info)
            if info.implemented:
                implemented.add(info.name)
    deviations = _deviations(schemas)
    out = []
    for name in sorted(infos):
        if name in others:
            continue
        info = infos[name]
        supported = features.get(name)
        out.append(Module(
            name=name, revision=info.revision, namespace=info.namespace, prefix=info.prefix,
            path=info.path if info.path and Path(info.path).is_file() else None,
            submodules=tuple(Submodule(s, r, Path(p)) for s, r, p in info.submodules),
            features=tuple(f for f in info.features if supported is None or f in supported),
            deviations=tuple(sorted(deviations.get(name, ()))),
            implemented=name in implemented))
    return tuple(out)


def _deviations(schemas) -> dict[str, set[tuple[str, str]]]:
    """target module → {(deviating module, revision)}, from the `deviation` statements of every module and
    submodule (the target is the module of the first node of the deviation's path)."""
    from pyang import context, repository, yang_parser
    out: dict[str, set[tuple[str, str]]] = {}
    ctx = None
    for schema in schemas:
        for info in schema.modules.values():
            for path in [info.path] + [p for _, _, p in info.submodules]:
                text = Path(path).read_text() if path and Path(path).is_file() else ""
                if not _DEVIATION.search(text):
                    continue             # parsing every file costs a quarter of a second; few deviate
                ctx = ctx or context.Context(repository.FileRepository("", use_env=False))
                stmt = yang_parser.YangParser().parse(ctx, str(path), text)
                if stmt is None:
                    continue
                own = stmt.search_one("prefix") or stmt.search_one("belongs-to").search_one("prefix")
                modules = {i.search_one("prefix").arg: i.arg for i in stmt.search("import")}
                modules[own.arg] = info.name
                for dev in stmt.search("deviation"):
                    first = dev.arg.strip().lstrip("/").split("/")[0]
                    target = modules.get(first.partition(":")[0]) if ":" in first else info.name
                    if target is not None:
                        out.setdefault(target, set()).add((info.name, info.revision))
    return out


class YangLibrary:
    """What one server of the device serves (NETCONF or RESTCONF), and its renderings."""

    def __init__(self, protocol: str, schemas: tuple[Schema, ...] | None = None, release=None):
        self.protocol = protocol
        self.modules = served_modules(protocol, schemas, release)
        self._by_name = {m.name: m for m in self.modules}
        digest = hashlib.sha256()
        for m in self.modules:
            digest.update(repr((m.name, m.revision, m.namespace, m.features, m.deviations, m.implemented,
                                [(s.name, s.revision) for s in m.submodules])).encode())
        self.content_id = digest.hexdigest()[:16]
        server = get_protocol_schema()
        own = set(COMMON_MODULES) | set(SERVER_MODULES[protocol])
        # The data nodes this server answers from the library and its own monitoring module.
        self.top: dict[str, SNode] = {q: n for q, n in server.top.items() if n.module in own}

    def module(self, name: str) -> Module | None:
        return self._by_name.get(name)

    @property
    def yang_library_revision(self) -> str:
        return self._by_name["ietf-yang-library"].revision

    # ------------------------------------------------------------------ texts
    def texts(self, identifier: str, version: str | None) -> list[tuple[str, str, str]]:
        """(name, revision, text) of every module or submodule called `identifier` (of revision `version`
        when given): RFC 6022 <get-schema> needs all of them to tell an ambiguous request."""
        out = []
        for m in self.modules:
            for name, rev, path in m.files():
                if name == identifier and version in (None, "", rev) and path is not None:
                    out.append((name, rev, path.read_text()))
        return out

    def text(self, name: str, revision: str | None) -> str | None:
        found = self.texts(name, revision)
        return found[0][2] if found else None

    def _has_text(self, name: str, revision: str) -> bool:
        return any(n == name and r == revision and p is not None for m in self.modules for n, r, p in m.files())

    # ------------------------------------------------------------------ NETCONF
    def capabilities(self) -> list[str]:
        """The module capabilities of a NETCONF hello, one per module (implemented or imported)."""
        return [m.capability() for m in self.modules]

    def schemas(self) -> list[dict]:
        """ietf-netconf-monitoring `netconf-state/schemas/schema` entries (RFC 6022 §2.1.3)."""
        return [{"identifier": name, "version": rev, "format": "yang", "namespace": m.namespace,
                 "location": ["NETCONF"]}
                for m in self.modules for name, rev, path in m.files() if path is not None]

    # ------------------------------------------------------------------ ietf-yang-library
    def _locate(self, location: Location | None, name: str, rev: str, always: bool = False) -> str | None:
        if location is None or not (always or self._has_text(name, rev)):
            return None
        return location(name, rev)

    def yang_library(self, location: Location | None = None) -> dict:
        """RFC 8525 `yang-library`: one module set, one schema, the running and operational datastores.
        `location(name, revision)` gives the URL of a module text (RESTCONF); None omits locations."""
        module_set: dict = {"name": "complete", "module": [], "import-only-module": []}
        for m in self.modules:
            entry: dict = {"name": m.name, "namespace": m.namespace}
            if m.revision:
                entry["revision"] = m.revision
            where = self._locate(location, m.name, m.revision)
            if where:
                entry["location"] = [where]
            if not m.implemented:
                module_set["import-only-module"].append(entry)
                continue
            if m.submodules:
                entry["submodule"] = []
                for s in m.submodules:
                    sub: dict = {"name": s.name, "revision": s.revision}
                    where = self._locate(location, s.name, s.revision, always=True)
                    if where:
                        sub["location"] = [where]
                    entry["submodule"].append(sub)
            if m.features:
                entry["feature"] = list(m.features)
            if m.deviations:
                entry["deviation"] = [name for name, _ in m.deviations]
            module_set["module"].append(entry)
        return {
            "module-set": [module_set],
            "schema": [{"name": "complete", "module-set": ["complete"]}],
            "datastore": [{"name": "ietf-datastores:running", "schema": "complete"},
                          {"name": "ietf-datastores:operational", "schema": "complete"}],
            "content-id": self.content_id,
        }

    def modules_state(self, location: Location | None = None) -> dict:
        """RFC 7895 `modules-state` (deprecated by RFC 8525, still what many clients read)."""
        entries = []
        for m in self.modules:
            entry: dict = {"name": m.name, "revision": m.revision, "namespace": m.namespace,
                           "conformance-type": "implement" if m.implemented else "import"}
            where = self._locate(location, m.name, m.revision)
            if where:
                entry["schema"] = where
            if m.features:
                entry["feature"] = list(m.features)
            if m.deviations:
                entry["deviation"] = [{"name": n, "revision": r} for n, r in m.deviations]
            if m.submodules:
                entry["submodule"] = []
                for s in m.submodules:
                    sub: dict = {"name": s.name, "revision": s.revision}
                    where = self._locate(location, s.name, s.revision, always=True)
                    if where:
                        sub["schema"] = where
                    entry["submodule"].append(sub)
            entries.append(entry)
        return {"module-set-id": self.content_id, "module": entries}


_LIBRARIES: dict[tuple, YangLibrary] = {}
_LIBRARIES_LOCK = threading.Lock()


def yang_library(protocol: str, release=None) -> YangLibrary:
    """The library of one server for a release (a Release, "17.3.2", a train or None for the newest), built
    once per process and module set."""
    if protocol not in SERVER_MODULES:
        raise ValueError(f"unknown protocol {protocol!r}")
    key = (protocol, tuple(sorted(module_revisions(release).items())))
    with _LIBRARIES_LOCK:
        lib = _LIBRARIES.get(key)
        if lib is None:
            lib = _LIBRARIES[key] = YangLibrary(protocol, release=release)
        return lib
