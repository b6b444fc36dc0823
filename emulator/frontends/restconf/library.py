"""The RESTCONF server's own modules: ietf-yang-library (RFC 8525 `yang-library` and the RFC 7895
`modules-state` older clients read) and ietf-restconf-monitoring (`restconf-state/capabilities`, RFC 8040
§9.1). Their schema trees come from the same builder as the device's modules; their data is computed
once from the schemas (module locations depend on the address the client used)."""

from __future__ import annotations

import hashlib

from ...yangdata.schema import Schema, get_schema, once

YANG_LIBRARY_REVISION = "2019-01-04"

CAPABILITIES = (
    "urn:ietf:params:restconf:capability:defaults:1.0?basic-mode=explicit",
    "urn:ietf:params:restconf:capability:depth:1.0",
    "urn:ietf:params:restconf:capability:fields:1.0",
    "urn:ietf:params:restconf:capability:with-defaults:1.0",
)


class ServerSchema(Schema):
    implemented = ("ietf-yang-library", "ietf-restconf-monitoring")
    supporting = ("ietf-yang-types", "ietf-inet-types", "ietf-datastores")


# Modules announced in the library besides the device's: the protocol's own.
PROTOCOL_MODULES = ("ietf-yang-library", "ietf-restconf-monitoring", "ietf-datastores", "ietf-yang-types",
                    "ietf-inet-types")
EXTRA_MODULES = {  # modules RESTCONF implements without data nodes: name -> (revision, namespace)
    "ietf-restconf": ("2017-01-26", "urn:ietf:params:xml:ns:yang:ietf-restconf"),
    "ietf-netconf-with-defaults": ("2011-06-01", "urn:ietf:params:xml:ns:yang:ietf-netconf-with-defaults"),
}

@once
def get_server_schema() -> ServerSchema:
    return ServerSchema()


def all_modules() -> list[tuple[str, str, str, list, list, bool]]:
    """(name, revision, namespace, submodules [(name, revision)], features, implemented) of every module
    the server knows, sorted by name."""
    out = {}
    for schema in (get_schema(), get_server_schema()):
        for m in schema.modules.values():
            implemented = m.implemented or m.name in PROTOCOL_MODULES and m.name in get_server_schema().implemented
            prev = out.get(m.name)
            if prev is None or implemented and not prev[5]:
                out[m.name] = (m.name, m.revision, m.namespace, [(s[0], s[1]) for s in m.submodules],
                               list(m.features), implemented)
    for name, (rev, ns) in EXTRA_MODULES.items():
        out.setdefault(name, (name, rev, ns, [], [], True))
    return [out[k] for k in sorted(out)]


def module_text(name: str, revision: str | None) -> str | None:
    for schema in (get_schema(), get_server_schema()):
        text = schema.module_text(name, revision)
        if text is not None:
            return text
    return None


def _content_id(mods) -> str:
    return hashlib.sha256(repr(mods).encode()).hexdigest()[:16]


def library_data(base_url: str) -> dict[str, dict]:
    """The data of the server modules' top nodes, keyed by qualified name. `base_url`: scheme://host:port
    under which /restconf/schema/... serves the module texts."""
    mods = all_modules()

    def location(name, rev):
        return f"{base_url}/restconf/schema/{name}/{rev}" if rev else f"{base_url}/restconf/schema/{name}"

    implemented = [m for m in mods if m[5]]
    imported = [m for m in mods if not m[5]]
    module_set = {"name": "complete", "module": [], "import-only-module": []}
    for name, rev, ns, subs, features, _ in implemented:
        entry = {"name": name, "namespace": ns}
        if rev:
            entry["revision"] = rev
        if module_text(name, rev):
            entry["location"] = [location(name, rev)]
        if subs:
            entry["submodule"] = [{"name": s, "revision": r, "location": [location(s, r)]} for s, r in subs]
        if features:
            entry["feature"] = features
        module_set["module"].append(entry)
    for name, rev, ns, subs, _, _ in imported:
        entry = {"name": name, "revision": rev, "namespace": ns}
        if module_text(name, rev):
            entry["location"] = [location(name, rev)]
        module_set["import-only-module"].append(entry)
    cid = _content_id(mods)
    yang_library = {
        "module-set": [module_set],
        "schema": [{"name": "complete", "module-set": ["complete"]}],
        "datastore": [{"name": "ietf-datastores:running", "schema": "complete"},
                      {"name": "ietf-datastores:operational", "schema": "complete"}],
        "content-id": cid,
    }
    modules_state = {"module-set-id": cid, "module": []}
    for name, rev, ns, subs, features, impl in mods:
        entry = {"name": name, "revision": rev, "namespace": ns,
                 "conformance-type": "implement" if impl else "import"}
        if module_text(name, rev):
            entry["schema"] = location(name, rev)
        if features:
            entry["feature"] = features
        if subs:
            entry["submodule"] = [{"name": s, "revision": r, "schema": location(s, r)} for s, r in subs]
        modules_state["module"].append(entry)
    return {"ietf-yang-library:yang-library": yang_library,
            "ietf-yang-library:modules-state": modules_state,
            "ietf-restconf-monitoring:restconf-state": {"capabilities": {"capability": list(CAPABILITIES)}}}
