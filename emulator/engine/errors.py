"""The engine's refusal, shared by the device and its mixins."""

from __future__ import annotations


class DeviceError(Exception):
    """A refused operation. `code` is the cisco-smart-license error-enum name for RPC outputs; the
    message is what the CLI prints. `field` names the refused input of a configuration change when one is
    to blame (a licensing setting's name, `boot_level`, `boot_addon`), so that a front-end can point at it
    (NETCONF and RESTCONF error-path)."""

    def __init__(self, message: str, code: str = "BadInputParams", syslog=None, aftermath=(),
                 field: str | None = None):
        super().__init__(message)
        self.code = code
        self.field = field
        # What the refusal leaves behind although the operation changed nothing: syslog message tuples,
        # or callables (device, now), committed after the rollback (a router logs failures too).
        self.aftermath = ([syslog] if syslog is not None else []) + list(aftermath)
