"""Time renderings used by the device: IOS show output, syslog console stamps, YANG date-and-time."""

from __future__ import annotations

from datetime import datetime, timezone

DAY = 86400.0


def _utc(t: float) -> datetime:
    return datetime.fromtimestamp(t, tz=timezone.utc)


def show_time(t: float | None, none: str = "<none>") -> str:
    """`Dec 03 08:34:58 2021 UTC` as in `show license status`."""
    if t is None:
        return none
    return _utc(t).strftime("%b %d %H:%M:%S %Y UTC")


def syslog_stamp(t: float) -> str:
    """`*Jan 31 05:18:00.804` as a router without NTP prints on the console."""
    d = _utc(t)
    return f"*{d.strftime('%b %d %H:%M:%S')}.{d.microsecond // 1000:03d}"


def eventlog_stamp(t: float) -> str:
    """`2021-11-17 03:31:32.920 UTC` as in `show license eventlog`."""
    d = _utc(t)
    return f"{d.strftime('%Y-%m-%d %H:%M:%S')}.{d.microsecond // 1000:03d} UTC"


def yang_time(t: float | None) -> str | None:
    """RFC 6991 date-and-time as IOS XE emits it: second precision with a +00:00 offset."""
    if t is None:
        return None
    return _utc(t).strftime("%Y-%m-%dT%H:%M:%S+00:00")


def parse_yang_time(text: str) -> float:
    text = text.strip()
    if text.endswith("Z"):
        text = text[:-1] + "+00:00"
    d = datetime.fromisoformat(text)
    if d.tzinfo is None:
        d = d.replace(tzinfo=timezone.utc)
    return d.timestamp()
