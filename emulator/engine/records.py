"""`evolve`: dataclasses.replace for the engine's frozen records, without its per-call field walk.

The clock benchmark replaces records some 34,000 times over 400 days; `dataclasses.replace` re-reads every
field of the record each time (DeviceState has 27), `evolve` copies the instance dictionary once."""

from __future__ import annotations

from dataclasses import fields
from typing import TypeVar

T = TypeVar("T")
_FIELDS: dict[type, frozenset[str]] = {}


def evolve(record: T, **changes) -> T:
    """A copy of the frozen dataclass `record` with `changes` (field names are checked)."""
    cls = type(record)
    names = _FIELDS.get(cls)
    if names is None:
        names = _FIELDS[cls] = frozenset(f.name for f in fields(cls))
    if not names.issuperset(changes):
        raise TypeError(f"{cls.__name__} has no field {', '.join(sorted(set(changes) - names))}")
    new = object.__new__(cls)
    new.__dict__.update(record.__dict__)
    new.__dict__.update(changes)
    return new
