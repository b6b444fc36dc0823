"""Accepted configuration edits, checked once more against the pyangbind classes generated from our YANG
modules (`bindings/`, `scripts/generate-bindings.sh`): the configuration a NETCONF or RESTCONF edit would
leave is loaded into the generated class of the configuration container before the engine applies it, so
any value the data layer's own typing let through and the generated classes refuse is an invalid-value.

Only the configuration containers are instantiated (about 4 ms each; the whole module tree would cost
40 ms), and only for edits, which are rare next to reads."""

from __future__ import annotations

import importlib
import json

from pyangbind.lib.serialise import pybindJSONDecoder

from .codec import json_member
from .errors import YangError
from .schema import SNode

# top-level node → (paths of the configuration containers below it, bindings module)
CONTAINERS = {
    "cisco-smart-license:licensing": ((("config",),), "bindings.cisco_smart_license"),
    "Cisco-IOS-XE-native:native": ((("license", "smart"), ("license", "boot", "level")),
                                   "bindings.cisco_ios_xe_native"),
}


def _binding_class(top: SNode, path: tuple[str, ...], module_name: str):
    """pyangbind names a container's class yc_<name>_<module>__<path>."""
    module = importlib.import_module(module_name)
    name = f"yc_{path[-1]}_{top.module.replace('-', '_')}__{'_'.join((top.name,) + path)}"
    return getattr(module, name)


def check(top: SNode, tree: dict) -> None:
    """Raises YangError invalid-value when the generated classes refuse the configuration `tree` of `top`."""
    entry = CONTAINERS.get(top.qname)
    if entry is None:
        return
    paths, module_name = entry
    whole = json_member(top, tree)[top.qname]
    for path in paths:
        doc = whole
        for name in path:
            doc = doc.get(name)
            if doc is None:
                break
        if doc is None:
            continue
        try:
            pybindJSONDecoder.load_ietf_json(json.loads(json.dumps(doc)), None, None,
                                             obj=_binding_class(top, path, module_name)())
        except (ValueError, TypeError, KeyError, AttributeError) as exc:
            raise YangError("invalid-value", f"the configuration does not load into the YANG bindings: {exc}",
                            path=f"/{top.qname}/" + "/".join(path)) from None
