"""The engine calls the native REST API needs. `Device.collect_reports()` covers `all-reports`; closing
open reports on their own and collecting a selection (last n days, one report) have no public engine method
yet, so the fallbacks below run the same steps through the engine's operation internals. When the engine
grows `close_reports()` and `collect_reports(days=..., rum_id=...)` these use them instead."""

from __future__ import annotations

import inspect

from ...engine import artifacts

_TERMINATION = "CurrentUsageRequested"


def _has_param(fn, name: str) -> bool:
    try:
        return name in inspect.signature(fn).parameters
    except (TypeError, ValueError):
        return False


def close_reports(device) -> int:
    """Closes every open RUM report (successors open for licences still in use); returns how many."""
    if hasattr(device, "close_reports"):
        return device.close_reports()
    with device._op():
        return device._close_all(device.clock.now(), reason="NONE", termination=_TERMINATION)


def collect(device, *, days: int | None = None, rum_id: int | None = None) -> list[artifacts.RumEnvelope]:
    """A data-model pull of a selection: reports with data in the last `days` days, or report `rum_id`.
    Closes open reports first (a pull does, Q28), moves what it returns to UNACK, sets Last report pull.
    Raises DeviceError("notfound") for an unknown or purged report id."""
    if days is None and rum_id is None:
        return device.collect_reports()
    kwarg = "days" if days is not None else "rum_id"
    if _has_param(device.collect_reports, kwarg):
        return device.collect_reports(**{kwarg: days if days is not None else rum_id})
    with device._op():
        now = device.clock.now()
        device._close_all(now, reason="NONE", termination=_TERMINATION)
        if days is not None:
            chosen = device._select_reports("days", now, days, None)
        else:
            chosen = device._select_reports("rum-id", now, None, rum_id)
        device._mark_reported(chosen)
        device.core["reporting"]["last_pull"] = now
        return [device._envelope(r) for r in chosen]
