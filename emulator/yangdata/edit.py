"""Configuration edits (NETCONF edit-config, RESTCONF PUT/PATCH/POST/DELETE): edit trees are applied to
the current configuration trees with RFC 6241 operation semantics, the leaves that changed are mapped to
engine settings, and the engine applies them in one atomic operation."""

from __future__ import annotations

import copy

from ..engine import Device, DeviceError
from .decode import EditNode
from .errors import YangError, from_device_error
from .licensing import DeviceData
from .schema import SNode

MISSING = object()

# Leaf paths (below licensing/config) → engine setting.
LICENSING_MAP = {
    ("enable",): "enable",
    ("custom-id",): "custom_id",
    ("privacy", "hostname"): "privacy_hostname",
    ("privacy", "version"): "privacy_version",
    ("utility", "utility-enable"): "utility_enabled",
    **{("utility", "customer-info", f): f"customer_info_{f.replace('postal-code', 'postalcode')}"
       for f in ("id", "name", "street", "city", "state", "country", "postal-code")},
    ("usage", "interval"): "usage_interval",
    **{("usage", "customer-tags", f"tag{i}"): f"customer_tag{i}" for i in range(1, 5)},
    ("transport", "transport-type"): "transport",
    ("transport", "transport-smart", "url-default"): "url_default",
    ("transport", "transport-smart", "urls", "url-registration"): "url_smart",
    ("transport", "transport-smart", "urls", "url-utility"): "url_utility",
    ("transport", "transport-cslu", "url-cslu"): "url_cslu",
}
# Leaf paths (below native/license/smart) → engine setting.
NATIVE_SMART_MAP = {
    ("transport-type",): "transport",
    ("privacy", "hostname"): "privacy_hostname",
    ("privacy", "version"): "privacy_version",
    ("utility", "enable"): "utility_enabled",
    **{("utility", "customer-info", f): f"customer_info_{f}"
       for f in ("city", "country", "id", "name", "postalcode", "state", "street")},
    ("usage", "interval"): "usage_interval",
    **{("usage", "customer-tags", f"tag{i}"): f"customer_tag{i}" for i in range(1, 5)},
    ("url", "cslu"): "url_cslu",
    ("url", "default"): "url_default",
    ("url", "name"): "url_callhome",
    ("url", "utility"): "url_utility",
    ("customer-id",): "custom_id",
}
TRANSPORT_FROM_ENUM = {"transport-type-callhome": "callhome", "transport-type-smart": "smart",
                       "transport-type-cslu": "cslu", "transport-type-off": "off",
                       "transport-type-automatic": "automatic",
                       "callhome": "callhome", "smart": "smart", "cslu": "cslu", "Off": "off", "automatic": "automatic"}
EMPTY_FLAGS = {"privacy_hostname", "privacy_version", "utility_enabled", "url_default"}


# ---------------------------------------------------------------------------------------------- tree edits

def _entry_keys(schema: SNode, entry: dict) -> tuple:
    return tuple(entry.get(k) for k in schema.keys)


def _drop_other_cases(schema: SNode, data: dict, child: SNode) -> None:
    if child.choice is None:
        return
    for name, sibling in schema.children.items():
        if sibling.choice is not None and sibling.choice[0] == child.choice[0] and sibling.choice[1] != child.choice[1]:
            data.pop(name, None)


def _build(edit: EditNode):
    """New data from an edit subtree (create/replace/merge into nothing)."""
    if edit.schema.is_leaf:
        return edit.value
    out: dict = {}
    for c in edit.children:
        if (c.op or "merge") in ("delete", "remove"):
            if c.op == "delete":
                raise YangError("data-missing", f"{c.schema.name} does not exist", path=c.schema.path())
            continue
        if c.schema.keyword == "list":
            out.setdefault(c.schema.name, []).append(_build(c))
        elif c.schema.keyword == "leaf-list":
            out.setdefault(c.schema.name, []).append(c.value)
        else:
            _drop_other_cases(edit.schema, out, c.schema)
            out[c.schema.name] = _build(c)
    return out


def apply_edit(current, edit: EditNode, inherited: str):
    """The node's new value (MISSING when deleted) after applying `edit` to `current` (MISSING if absent).
    `inherited` is the operation in effect from above (or the default-operation: merge/replace/none)."""
    op = edit.op or inherited
    schema = edit.schema
    if not schema.config:
        raise YangError("invalid-value", f"{schema.name} is state data and cannot be edited", path=schema.path())
    exists = current is not MISSING
    if op == "create":
        if exists and not schema.is_leaf or exists and schema.is_leaf:
            raise YangError("data-exists", f"{schema.name} already exists", path=schema.path())
        return _build(edit)
    if op == "delete":
        if not exists:
            raise YangError("data-missing", f"{schema.name} does not exist", path=schema.path())
        return MISSING
    if op == "remove":
        return MISSING
    if op == "replace":
        return _build(edit)
    if schema.is_leaf:
        return edit.value if op == "merge" else current
    # merge, or none: descend
    data = copy.deepcopy(current) if exists else {}
    for c in edit.children:
        cs = c.schema
        child_op = c.op or op
        if cs.keyword == "list":
            entries = data.setdefault(cs.name, [])
            keys = c.keys()
            idx = next((i for i, e in enumerate(entries) if _entry_keys(cs, e) == keys), None)
            new = apply_edit(entries[idx] if idx is not None else MISSING, c, child_op)
            if new is MISSING:
                if idx is not None:
                    entries.pop(idx)
            elif idx is None:
                entries.append(new)
            else:
                entries[idx] = new
            if not entries:
                data.pop(cs.name)
        elif cs.keyword == "leaf-list":
            values = data.setdefault(cs.name, [])
            present = c.value in values
            if child_op == "create" and present:
                raise YangError("data-exists", f"{cs.name} {c.value} already exists", path=cs.path())
            if child_op == "delete" and not present:
                raise YangError("data-missing", f"{cs.name} {c.value} does not exist", path=cs.path())
            if child_op in ("delete", "remove"):
                if present:
                    values.remove(c.value)
            elif not present and child_op != "none":
                values.append(c.value)
            if not values:
                data.pop(cs.name)
        else:
            before = data.get(cs.name, MISSING)
            if child_op == "none" and before is MISSING and not cs.is_leaf:
                new = apply_edit(MISSING, c, "none") if _has_ops(c) else MISSING
            elif child_op == "none" and cs.is_leaf:
                new = before
            else:
                new = apply_edit(before, c, child_op)
            if new is MISSING:
                data.pop(cs.name, None)
            else:
                _drop_other_cases(schema, data, cs)
                data[cs.name] = new
    return data


def _has_ops(edit: EditNode) -> bool:
    return edit.op is not None or any(_has_ops(c) for c in edit.children)


# ---------------------------------------------------------------------------------------------- engine mapping

def _leaves(data, prefix=()):
    if isinstance(data, dict):
        for k, v in data.items():
            yield from _leaves(v, prefix + (k,))
    else:
        yield prefix, data


def _changed_leaves(old: dict, new: dict) -> dict[tuple, object]:
    """path → new value (MISSING if removed) for every leaf that differs."""
    before = dict(_leaves(old))
    after = dict(_leaves(new))
    return {p: after.get(p, MISSING) for p in set(before) | set(after) if before.get(p, MISSING) != after.get(p, MISSING)}


def _engine_value(key: str, value):
    if value is MISSING:
        return False if key in EMPTY_FLAGS else None
    if key == "transport":
        return TRANSPORT_FROM_ENUM[value]
    return value


def _map_changes(changes: dict[tuple, object], table: dict, where: str) -> dict:
    out = {}
    for path, value in changes.items():
        key = table.get(path)
        if key is None:
            raise YangError("operation-not-supported", f"{where}/{'/'.join(path)} is not supported by this device",
                            path=f"{where}/{'/'.join(path)}")
        value = _engine_value(key, value)
        if key == "url_default" and not value:
            continue            # removing the `default` choice leaves the URLs as they are
        out[key] = value
    if out.get("url_default"):
        # choosing the `default` case drops the explicit URLs; the default URL replaces them
        for key in ("url_smart", "url_utility", "url_callhome"):
            if out.get(key, "") is None:
                del out[key]
    return out


class ConfigEditor:
    """Applies edit trees to one device's configuration."""

    def __init__(self, device: Device, data: DeviceData):
        self.device = device
        self.data = data

    def current(self, top: SNode):
        if top.qname == "cisco-smart-license:licensing":
            return {"config": self.data.licensing()["config"]}
        if top.qname == "Cisco-IOS-XE-native:native":
            return self.data.native()
        raise YangError("invalid-value", f"{top.qname} holds no configuration", path=top.path())

    def edit(self, edits: list[EditNode], default_operation: str = "merge", test_only: bool = False) -> bool:
        """Applies edits to top-level nodes atomically. Returns True if anything changed."""
        config: dict = {}
        hostname = None
        for edit in edits:
            top = edit.schema
            old = self.current(top)
            new = apply_edit(old, edit, default_operation)
            if new is MISSING:
                new = {}
            if top.qname == "cisco-smart-license:licensing":
                changed = _changed_leaves(old.get("config", {}), new.get("config", {}))
                mapped = _map_changes(changed, LICENSING_MAP, "/cisco-smart-license:licensing/config")
            else:
                changed = _changed_leaves(old, new)
                if ("version",) in changed:
                    raise YangError("invalid-value", "the software version cannot be configured",
                                    path="/Cisco-IOS-XE-native:native/version")
                if ("hostname",) in changed:
                    value = changed.pop(("hostname",))
                    if value is MISSING:
                        raise YangError("invalid-value", "the hostname cannot be removed",
                                        path="/Cisco-IOS-XE-native:native/hostname")
                    hostname = value
                smart = {p[2:]: v for p, v in changed.items() if p[:2] == ("license", "smart")}
                other = [p for p in changed if p[:2] != ("license", "smart")]
                if other:
                    raise YangError("operation-not-supported",
                                    f"/native/{'/'.join(other[0])} is not supported by this device",
                                    path="/Cisco-IOS-XE-native:native/" + "/".join(other[0]))
                mapped = _map_changes(smart, NATIVE_SMART_MAP, "/Cisco-IOS-XE-native:native/license/smart")
            for key, value in mapped.items():
                if key in config and config[key] != value:
                    raise YangError("invalid-value", f"conflicting values for the same setting ({key})")
                config[key] = value
        if test_only or (not config and hostname is None):
            self._check(config, hostname)
            return False
        try:
            self.device.configure(config=config or None, hostname=hostname)
        except DeviceError as exc:
            raise from_device_error(exc) from None
        return True

    def _check(self, config: dict, hostname) -> None:
        """Validation without applying (test-option test-only)."""
        from ..engine.device import CONFIG_DEFAULTS, _validate_config_value
        try:
            for key, value in config.items():
                if key in CONFIG_DEFAULTS:
                    _validate_config_value(key, value)
        except DeviceError as exc:
            raise from_device_error(exc) from None
