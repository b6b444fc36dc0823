"""The YANG data layer NETCONF and RESTCONF share: rendering a device's data, applying configuration
edits, dispatching RPCs and building errors. Front-ends add only their transport and encoding.

    layer = DataLayer(device)
    layer.get(content="all")            # {"cisco-smart-license:licensing": {...}, ...}
    layer.edit([edit_tree, ...])        # edit trees from decode.decode_xml / decode_json
    layer.invoke(rpc_node, input_data)  # output data
"""

from __future__ import annotations

from ..engine import Device
from .codec import json_member, to_json_value, to_xml, unknown_keys
from .decode import EditNode, decode_json, decode_xml, refuse_duplicates
from .edit import ConfigEditor
from .errors import YangError
from .licensing import DeviceData, conform
from .rpc import RpcDispatcher
from .schema import Schema, SNode, get_schema

__all__ = ["DataLayer", "EditNode", "Schema", "SNode", "YangError", "decode_json", "decode_xml", "get_schema",
           "json_member", "select_content", "to_json_value", "to_xml"]


def select_content(node: SNode, value, content: str):
    """Keeps config nodes (content="config") or state nodes and their ancestors ("nonconfig"), or all
    (RFC 8040 §4.8.1). Returns None when nothing remains."""
    if content == "all":
        return value
    want_config = content == "config"
    if node.is_leaf:
        return value if node.config == want_config else None
    if not node.config:
        return None if want_config else value
    if node.keyword == "list":
        entries = [_select_children(node, entry, content) for entry in value]
        return [e for e in entries if e] or None
    return _select_children(node, value, content)


def _select_children(node: SNode, value: dict, content: str) -> dict | None:
    out = {}
    found = 0
    for child in node.children.values():
        if child.name in value:
            found += 1
            sub = select_content(child, value[child.name], content)
            if sub not in (None, {}, []) or sub == {} and child.presence:
                out[child.name] = sub
    if found != len(value):
        raise unknown_keys(node, value)       # as the encoder would: the data does not follow the schema
    return out if out or node.presence and node.config == (content == "config") else None


class DataLayer:
    def __init__(self, device: Device):
        self.device = device
        self.schema = get_schema(device.release)        # the module revisions of the device's release
        self.data = DeviceData(device, self.schema)
        self.editor = ConfigEditor(device, self.data)
        self.rpcs = RpcDispatcher(device)

    def get(self, content: str = "all") -> dict[str, dict]:
        """Every top-level node's data from one snapshot, keyed by qualified name, restricted to
        config/nonconfig content."""
        out = {}
        snap = self.data.snapshot()
        for qname, node in self.schema.top.items():
            value = self.data.top(qname, snap)
            if value is None:
                continue
            value = select_content(node, value, content)
            if value:
                out[qname] = value
        return out

    def edit(self, edits: list[EditNode], default_operation: str = "merge", test_only: bool = False,
             owner: str | None = None, privilege: int = 15) -> bool:
        refuse_duplicates(edits)
        return self.editor.edit(edits, default_operation, test_only, owner=owner, privilege=privilege)

    def invoke(self, rpc: SNode, data: dict) -> dict:
        out = self.rpcs.invoke(rpc, data)
        output = rpc.children.get("output")
        if out and output is not None and self.data.conforms:
            out = conform(output, out) or {}          # e.g. a return code an older revision lacks
        return out
