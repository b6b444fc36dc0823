"""The RESTCONF server's own modules, from the device's YANG library (`emulator.yangdata.library`, shared with
NETCONF): ietf-yang-library (RFC 8525 `yang-library` and the RFC 7895 `modules-state` older clients read),
ietf-restconf-monitoring (`restconf-state/capabilities`, RFC 8040 §9.1) and the module texts under
/restconf/schema. Module locations depend on the address the client used, hence `library_data(base_url)`; the
revisions of some Cisco modules depend on the device's release (`release`: None for the newest)."""

from __future__ import annotations

from dataclasses import dataclass

from ...yangdata.library import RESTCONF, YangLibrary, get_protocol_schema, yang_library
from ...yangdata.schema import ModuleInfo, SNode, once

CAPABILITIES = (
    "urn:ietf:params:restconf:capability:defaults:1.0?basic-mode=explicit",
    "urn:ietf:params:restconf:capability:depth:1.0",
    "urn:ietf:params:restconf:capability:fields:1.0",
    "urn:ietf:params:restconf:capability:with-defaults:1.0",
)


# The revision of the ietf-yang-library module served (/restconf/yang-library-version, RFC 8040 §3.3.3); a
# constant so that importing the application does not compile the schemas (a test checks it).
YANG_LIBRARY_REVISION = "2019-01-04"


def restconf_library(release=None) -> YangLibrary:
    return yang_library(RESTCONF, release)


@dataclass(frozen=True)
class ServerSchema:
    """The data nodes RESTCONF answers from the library (`top`) and the modules they belong to."""
    top: dict[str, SNode]
    modules: dict[str, ModuleInfo]


@once
def get_server_schema() -> ServerSchema:
    lib = restconf_library()
    modules = {n: i for n, i in get_protocol_schema().modules.items() if lib.module(n) is not None}
    return ServerSchema(lib.top, modules)


def module_text(name: str, revision: str | None, release=None) -> str | None:
    return restconf_library(release).text(name, revision)


def library_data(base_url: str, release=None) -> dict[str, dict]:
    """The data of the server modules' top nodes, keyed by qualified name. `base_url`: scheme://host:port
    under which /restconf/schema/... serves the module texts."""
    lib = restconf_library(release)

    def location(name: str, rev: str) -> str:
        return f"{base_url}/restconf/schema/{name}/{rev}" if rev else f"{base_url}/restconf/schema/{name}"

    return {"ietf-yang-library:yang-library": lib.yang_library(location),
            "ietf-yang-library:modules-state": lib.modules_state(location),
            "ietf-restconf-monitoring:restconf-state": {"capabilities": {"capability": list(CAPABILITIES)}}}
