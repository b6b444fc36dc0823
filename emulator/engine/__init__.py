"""The licensing engine: state, rules and clock of emulated product instances (no sockets, no front-ends)."""

from .authorizations import ReservationRequest, ReturnResult
from .clock import Clock
from .device import Device, ImportResult
from .errors import DeviceError
from .flash import Flash, FlashError
from .release import Release
from .snapshot import Snapshot
from .system import ConfigLocked, NotAuthorized
from .view import Throughput, Timers, UsageRecord

__all__ = ["Clock", "ConfigLocked", "Device", "DeviceError", "Flash", "FlashError", "ImportResult",
           "NotAuthorized", "Release", "ReservationRequest", "ReturnResult", "Snapshot", "Throughput", "Timers",
           "UsageRecord"]
