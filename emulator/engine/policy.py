"""Licensing policy: the Cisco default (behaviour.md §1.5), custom policies, and the reporting
requirement computed from them (R11–R16)."""

from __future__ import annotations

from dataclasses import dataclass, field, replace

GROUPS = ("perpetual", "subscription", "enforced", "export")
ATTRIBUTES = ("first", "frequency", "on_change")

# (first report, reporting frequency, report on change) in days; 0 = not required.
CISCO_DEFAULT_VALUES = {
    "export": (0, 0, 0),
    "enforced": (0, 0, 0),
    "perpetual": (365, 0, 90),
    "subscription": (90, 90, 90),
}

# Policy kinds as `show license status` prints `Policy in use:` and the YANG policy-types-enum names them.
KIND_CISCO_DEFAULT = "cisco-default"
KIND_CUSTOM = "custom"
KIND_PLR = "plr"
KIND_SLR = "slr"
KIND_PAK = "pak"
KIND_CONTROLLER = "controller"
KIND_PRODUCT_DEFAULT = "product-default"


@dataclass(frozen=True)
class Attribute:
    days: int
    custom: bool = False  # False: "(CISCO default)", True: "(Customer Policy)"


@dataclass(frozen=True)
class GroupPolicy:
    first: Attribute
    frequency: Attribute
    on_change: Attribute


@dataclass(frozen=True)
class Policy:
    kind: str = KIND_CISCO_DEFAULT
    name: str | None = None
    installed_at: float | None = None
    ack_required: Attribute = Attribute(True)
    groups: dict[str, GroupPolicy] = field(default_factory=dict)
    issued: int | None = None          # CSSM's timestamp (ms) of a policy from CSSM

    @property
    def is_default(self) -> bool:
        return self.kind == KIND_CISCO_DEFAULT

    def group(self, name: str) -> GroupPolicy:
        return self.groups[name]

    def to_dict(self) -> dict:
        return {
            "kind": self.kind, "name": self.name, "installed_at": self.installed_at,
            "ack_required": [self.ack_required.days, self.ack_required.custom],
            "groups": {g: {a: [getattr(gp, a).days, getattr(gp, a).custom] for a in ATTRIBUTES}
                       for g, gp in self.groups.items()},
            "issued": self.issued,
        }

    @classmethod
    def from_dict(cls, data: dict) -> "Policy":
        groups = {g: GroupPolicy(**{a: Attribute(int(v[a][0]), bool(v[a][1])) for a in ATTRIBUTES})
                  for g, v in data["groups"].items()}
        ack = data["ack_required"]
        return cls(kind=data["kind"], name=data.get("name"), installed_at=data.get("installed_at"),
                   ack_required=Attribute(bool(ack[0]), bool(ack[1])), groups=groups, issued=data.get("issued"))


def cisco_default() -> Policy:
    return Policy(groups={g: GroupPolicy(*(Attribute(v) for v in CISCO_DEFAULT_VALUES[g])) for g in GROUPS})


def custom_policy(name: str, installed_at: float, values: dict[str, dict[str, int]],
                  ack_required: bool | None = None, kind: str = KIND_CUSTOM, issued: int | None = None) -> Policy:
    """A policy from CSSM. `values` maps group -> {attribute: days}; attributes it leaves out keep the
    Cisco default and are shown as such (L2548-2570)."""
    base = cisco_default()
    groups = {}
    for g in GROUPS:
        given = values.get(g, {})
        groups[g] = GroupPolicy(**{a: (Attribute(int(given[a]), True) if a in given else getattr(base.groups[g], a))
                                   for a in ATTRIBUTES})
    ack = Attribute(bool(ack_required), True) if ack_required is not None else base.ack_required
    return replace(base, kind=kind, name=name, installed_at=installed_at, ack_required=ack, groups=groups,
                   issued=issued)


def group_of(enforcement: str, term: str) -> str:
    """R11: which policy group an entitlement falls under."""
    if enforcement == "export":
        return "export"
    if enforcement == "enforced":
        return "enforced"
    return "subscription" if term == "subscription" else "perpetual"


def min_positive(values) -> int | None:
    positive = [v for v in values if v > 0]
    return min(positive) if positive else None
