"""Fleets: many emulated devices in one process, each at its own address (or its own ports), on shared
servers, one scheduler and one store. See docs/scale.md.

    plan = load_inventory("fleet.yaml", port_base=20000)          # or quick_plan(1000, "C8000V:60,…")
    service = FleetService("state", plan).start()
    service.fleet.advance_clock(30 * 86400)
    service.stop()
"""

from .inventory import DeviceSpec, FleetPlan, InventoryError, Ports, load_inventory, quick_plan
from .pool import Fleet, FleetOptions
from .service import FleetError, FleetService

__all__ = ["DeviceSpec", "Fleet", "FleetError", "FleetOptions", "FleetPlan", "FleetService", "InventoryError",
           "Ports", "load_inventory", "quick_plan"]
