"""The engine's refusal, shared by the device and its mixins."""

from __future__ import annotations


class DeviceError(Exception):
    """A refused operation. `code` is the cisco-smart-license error-enum name for RPC outputs; the
    message is what the CLI prints."""

    def __init__(self, message: str, code: str = "BadInputParams", syslog=None, aftermath=()):
        super().__init__(message)
        self.code = code
        # What the refusal leaves behind although the operation changed nothing: syslog message tuples,
        # or callables (device, now), committed after the rollback (a router logs failures too).
        self.aftermath = ([syslog] if syslog is not None else []) + list(aftermath)
