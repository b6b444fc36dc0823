"""The NETCONF-specific modules: what the server advertises (hello capabilities, RFC 8525 YANG library,
RFC 6022 schema list) and the SNode trees of ietf-netconf-monitoring and ietf-yang-library, so that their
data is rendered, filtered and encoded like the device's own (`emulator.yangdata.codec`).

The device's modules come from the shared data layer schema; the IETF modules the NETCONF server itself
implements (ietf-netconf, ietf-netconf-monitoring, ietf-netconf-with-defaults, ietf-yang-library) and
their imports are read from pyang's bundled IETF module directory.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from pathlib import Path

from emulator.yangdata.schema import Schema, SNode, get_schema, once

BASE_NS = "urn:ietf:params:xml:ns:netconf:base:1.0"
NCM_NS = "urn:ietf:params:xml:ns:yang:ietf-netconf-monitoring"
YANGLIB_NS = "urn:ietf:params:xml:ns:yang:ietf-yang-library"
DS_NS = "urn:ietf:params:xml:ns:yang:ietf-datastores"
WD_NS = "urn:ietf:params:xml:ns:yang:ietf-netconf-with-defaults"
NOTIF_NS = "urn:ietf:params:xml:ns:netconf:notification:1.0"
NETMOD_NOTIF_NS = "urn:ietf:params:xml:ns:netmod:notification"

# Modules the NETCONF server implements itself, and the features of ietf-netconf it supports.
IETF_IMPLEMENTED = ("ietf-netconf", "ietf-netconf-monitoring", "ietf-netconf-with-defaults", "ietf-yang-library")
IETF_IMPORT_ONLY = ("ietf-datastores",)
NETCONF_FEATURES = ("writable-running", "validate", "xpath")

BASE_CAPABILITIES = (
    "urn:ietf:params:netconf:base:1.0",
    "urn:ietf:params:netconf:base:1.1",
    "urn:ietf:params:netconf:capability:writable-running:1.0",
    "urn:ietf:params:netconf:capability:xpath:1.0",
    "urn:ietf:params:netconf:capability:validate:1.0",
    "urn:ietf:params:netconf:capability:validate:1.1",
    "urn:ietf:params:netconf:capability:notification:1.0",
    "urn:ietf:params:netconf:capability:interleave:1.0",
    # basic-mode as IOS XE advertises it (YangModels capability-cat9k.xml of 17.18.1)
    "urn:ietf:params:netconf:capability:with-defaults:1.0?basic-mode=explicit"
    "&also-supported=report-all-tagged,report-all",
)
WITH_DEFAULTS_MODES = ("explicit", "report-all", "report-all-tagged")


@dataclass
class Advertised:
    name: str
    revision: str
    namespace: str
    prefix: str
    path: Path
    submodules: list[tuple[str, str, Path]] = field(default_factory=list)
    features: list[str] = field(default_factory=list)
    implemented: bool = True

    def capability(self) -> str:
        uri = f"{self.namespace}?module={self.name}&revision={self.revision}"
        if self.features:
            uri += "&features=" + ",".join(self.features)
        return uri


class _IetfSchema(Schema):
    """SNode trees of the IETF modules the NETCONF server implements (same builder as the data layer)."""
    implemented = IETF_IMPLEMENTED
    supporting = ("ietf-yang-types", "ietf-inet-types") + IETF_IMPORT_ONLY


class ServerModules:
    """Everything the server advertises, computed once per process."""

    def __init__(self) -> None:
        self.schema = get_schema()
        self.ietf = _IetfSchema()
        mods: list[Advertised] = []
        for info in self.schema.modules.values():
            mods.append(Advertised(info.name, info.revision, info.namespace, info.prefix, info.path,
                                   list(info.submodules), list(info.features), info.implemented))
        for name, info in self.ietf.modules.items():
            if name in self.schema.modules:
                continue
            features = list(NETCONF_FEATURES) if name == "ietf-netconf" else []
            mods.append(Advertised(name, info.revision, info.namespace, info.prefix, info.path, [], features,
                                   info.implemented))
        self.modules = sorted(mods, key=lambda m: m.name)
        digest = hashlib.sha256()
        for m in self.modules:
            digest.update(f"{m.name}@{m.revision}:{int(m.implemented)}:{','.join(m.features)};".encode())
            for s in m.submodules:
                digest.update(f"{s[0]}@{s[1]};".encode())
        self.content_id = digest.hexdigest()[:16]
        self.capabilities = list(BASE_CAPABILITIES) + [
            "urn:ietf:params:netconf:capability:yang-library:1.0?revision=2016-06-21"
            f"&module-set-id={self.content_id}",
            f"urn:ietf:params:netconf:capability:yang-library:1.1?revision=2019-01-04&content-id={self.content_id}",
        ] + [m.capability() for m in self.modules]
        self.top: dict[str, SNode] = {q: n for q, n in self.ietf.top.items()
                                      if n.module in ("ietf-netconf-monitoring", "ietf-yang-library")}

    def module_text(self, identifier: str, version: str | None) -> list[tuple[str, str, str]]:
        """(name, revision, text) of every module or submodule matching identifier (and version)."""
        out = []
        for m in self.modules:
            for name, rev, path in [(m.name, m.revision, m.path)] + m.submodules:
                if name == identifier and version in (None, "", rev):
                    out.append((name, rev, Path(path).read_text()))
        return out

    # ------------------------------------------------------------------ data
    def schemas_data(self) -> list[dict]:
        out = []
        for m in self.modules:
            for name, rev, _ in [(m.name, m.revision, m.path)] + m.submodules:
                out.append({"identifier": name, "version": rev, "format": "yang", "namespace": m.namespace,
                            "location": ["NETCONF"]})
        return out

    def yang_library(self) -> dict:
        impl = [m for m in self.modules if m.implemented]
        imp = [m for m in self.modules if not m.implemented]
        return {
            "module-set": [{
                "name": "all",
                "module": [_lib_module(m) for m in impl],
                "import-only-module": [{"name": m.name, "revision": m.revision, "namespace": m.namespace}
                                       for m in imp],
            }],
            "schema": [{"name": "complete", "module-set": ["all"]}],
            "datastore": [{"name": "ds:running", "schema": "complete"},
                          {"name": "ds:operational", "schema": "complete"}],
            "content-id": self.content_id,
        }

    def modules_state(self) -> dict:
        entries = []
        for m in self.modules:
            entry = {"name": m.name, "revision": m.revision, "namespace": m.namespace,
                     "conformance-type": "implement" if m.implemented else "import"}
            if m.features:
                entry["feature"] = list(m.features)
            if m.submodules:
                entry["submodule"] = [{"name": s[0], "revision": s[1]} for s in m.submodules]
            entries.append(entry)
        return {"module-set-id": self.content_id, "module": entries}


def _lib_module(m: Advertised) -> dict:
    entry = {"name": m.name, "revision": m.revision, "namespace": m.namespace}
    if m.submodules:
        entry["submodule"] = [{"name": s[0], "revision": s[1]} for s in m.submodules]
    if m.features:
        entry["feature"] = list(m.features)
    return entry


@once
def server_modules() -> ServerModules:
    return ServerModules()
