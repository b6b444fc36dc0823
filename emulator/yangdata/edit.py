"""Configuration edits (NETCONF edit-config, RESTCONF PUT/PATCH/POST/DELETE): edit trees are applied to
the current configuration trees with RFC 6241 operation semantics, the leaves that changed are mapped to
engine settings, and the engine applies them in one atomic operation."""

from __future__ import annotations

import copy

from ..engine import Device, DeviceError, settings
from . import bindcheck
from .decode import EditNode
from .errors import YangError, from_device_error
from .licensing import DeviceData
from .schema import SNode

MISSING = object()

# Leaf paths (below licensing/config, and below native/license/smart) → licensing setting, from the table.
LICENSING_MAP = {s.cisco: s for s in settings.SETTINGS if s.cisco}
NATIVE_SMART_MAP = {s.native: s for s in settings.SETTINGS if s.native}
NATIVE = "/Cisco-IOS-XE-native:native"
BOOT = settings.BOOT_LEVEL
BOOT_PATH = f"{NATIVE}/{'/'.join(BOOT.native)}"           # the choice of levels, edited as one value


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


def _engine_value(setting: settings.Setting, value, enum: dict):
    if value is MISSING:
        return False if setting.kind == "flag" else None
    inverse = {v: k for k, v in enum.items()}
    return inverse.get(value, value)


def _map_changes(changes: dict[tuple, object], table: dict, where: str, model: str,
                 paths: dict[str, str]) -> dict:
    """Engine setting → value for the changed leaves; `paths` gets each setting's leaf path (error-path of
    the engine's refusal)."""
    out = {}
    for path, value in changes.items():
        setting = table.get(path)
        if setting is None:
            raise YangError("operation-not-supported", f"{where}/{'/'.join(path)} is not supported by this device",
                            path=f"{where}/{'/'.join(path)}")
        out[setting.name] = _engine_value(setting, value, getattr(setting, f"{model}_enum"))
        paths[setting.name] = f"{where}/{'/'.join(path)}"
    return out


def _subtree(tree: dict, path: tuple[str, ...]):
    for name in path:
        if not isinstance(tree, dict) or name not in tree:
            return MISSING
        tree = tree[name]
    return tree


def _without(tree: dict, path: tuple[str, ...]) -> dict:
    """A copy of `tree` without the node at `path` (containers left empty by it dropped too)."""
    if _subtree(tree, path) is MISSING:
        return tree
    out = dict(tree)
    if len(path) == 1:
        out.pop(path[0])
    else:
        rest = _without(tree[path[0]], path[1:])
        if rest:
            out[path[0]] = rest
        else:
            out.pop(path[0])
    return out


def _boot_level_change(old: dict, new: dict, configured: tuple, paths: dict[str, str]) -> tuple | None:
    """The (level, addon) an edit of native/license/boot/level asks for (settings.BOOT_LEVEL), None when the
    level choice is as it was (or is removed where nothing is `configured`). `paths` gets the level's and the
    addon's paths (error-path of a refusal)."""
    before, after = _subtree(old, BOOT.native), _subtree(new, BOOT.native)
    if before == after or after is MISSING and configured == (None, None):
        return None
    try:
        level, addon = BOOT.from_native(None if after is MISSING else after, BOOT_PATH)
    except KeyError as exc:
        where = f"{BOOT_PATH}/{exc.args[0]}"
        raise YangError("operation-not-supported", f"{where} is not supported by this device", path=where) from None
    except ValueError as exc:
        raise YangError("bad-element", str(exc), path=BOOT_PATH, error_type="protocol") from None
    if level is not None:
        paths["boot_level"] = f"{BOOT_PATH}/{level}"
        paths["boot_addon"] = f"{BOOT_PATH}/{level}/{BOOT.native_addon}"
    return level, addon


class ConfigEditor:
    """Applies edit trees to one device's configuration."""

    def __init__(self, device: Device, data: DeviceData):
        self.device = device
        self.data = data

    def current(self, top: SNode, snap):
        if top.qname == "cisco-smart-license:licensing":
            return {"config": self.data.licensing(snap).get("config", {})}
        if top.qname == "Cisco-IOS-XE-native:native":
            return self.data.native(snap)
        raise YangError("invalid-value", f"{top.qname} holds no configuration", path=top.path())

    def edit(self, edits: list[EditNode], default_operation: str = "merge", test_only: bool = False,
             owner: str | None = None, privilege: int = 15) -> bool:
        """Applies edits to top-level nodes atomically through the engine's one configuration path (lock,
        validation, privilege). `test_only` runs the same path and keeps nothing. Returns True if anything
        changed."""
        config: dict = {}
        hostname = None
        boot_level = None
        paths: dict[str, str] = {}            # engine input → the path it came from
        snap = self.data.snapshot()
        for edit in edits:
            top = edit.schema
            old = self.current(top, snap)
            new = apply_edit(old, edit, default_operation)
            if new is MISSING:
                new = {}
            bindcheck.check(top, new)
            if top.qname == "cisco-smart-license:licensing":
                changed = _changed_leaves(old.get("config", {}), new.get("config", {}))
                mapped = _map_changes(changed, LICENSING_MAP, "/cisco-smart-license:licensing/config", "cisco",
                                      paths)
            else:
                boot_level = _boot_level_change(old, new, snap.configured_boot_level(), paths)
                changed = _changed_leaves(_without(old, BOOT.native), _without(new, BOOT.native))
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
                mapped = _map_changes(smart, NATIVE_SMART_MAP, "/Cisco-IOS-XE-native:native/license/smart", "native",
                                      paths)
            for key, value in mapped.items():
                if key in config and config[key] != value:
                    raise YangError("invalid-value", f"conflicting values for the same setting ({key})")
                config[key] = value
        if not config and hostname is None and boot_level is None:
            return False
        try:
            self.device.configure(config or None, hostname=hostname, boot_level=boot_level, owner=owner,
                                  privilege=privilege, dry_run=test_only)
        except DeviceError as exc:
            raise from_device_error(exc, path=paths.get(exc.field)) from None
        return not test_only
