"""The licensing engine: state, rules and clock of emulated product instances (no sockets, no front-ends)."""

from .clock import Clock
from .device import DeviceError, Device, ImportResult, Timers, UsageRecord
from .flash import Flash, FlashError
from .release import Release

__all__ = ["Clock", "Device", "DeviceError", "Flash", "FlashError", "ImportResult", "Release", "Timers",
           "UsageRecord"]
