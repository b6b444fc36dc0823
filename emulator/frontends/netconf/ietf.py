"""What the NETCONF server advertises: the hello capabilities (protocol capabilities, then one per module of
the device's YANG library, `emulator.yangdata.library`), and the namespaces of the IETF modules whose
operations and data the server implements itself."""

from __future__ import annotations

from emulator.yangdata.library import NETCONF, YangLibrary, yang_library

BASE_NS = "urn:ietf:params:xml:ns:netconf:base:1.0"
NCM_NS = "urn:ietf:params:xml:ns:yang:ietf-netconf-monitoring"
DS_NS = "urn:ietf:params:xml:ns:yang:ietf-datastores"
WD_NS = "urn:ietf:params:xml:ns:yang:ietf-netconf-with-defaults"
NOTIF_NS = "urn:ietf:params:xml:ns:netconf:notification:1.0"
NETMOD_NOTIF_NS = "urn:ietf:params:xml:ns:netmod:notification"

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
YANG_LIBRARY_1_0_REVISION = "2016-06-21"        # RFC 7895, announced with the module-set-id


def netconf_library(release=None) -> YangLibrary:
    """The NETCONF server's library for a release (the newest when None)."""
    return yang_library(NETCONF, release)


def capabilities(library: YangLibrary) -> list[str]:
    """The capabilities of the hello and of netconf-state/capabilities (RFC 6241 §8, RFC 8526 §2)."""
    return list(BASE_CAPABILITIES) + [
        f"urn:ietf:params:netconf:capability:yang-library:1.0?revision={YANG_LIBRARY_1_0_REVISION}"
        f"&module-set-id={library.content_id}",
        f"urn:ietf:params:netconf:capability:yang-library:1.1?revision={library.yang_library_revision}"
        f"&content-id={library.content_id}",
    ] + library.capabilities()
