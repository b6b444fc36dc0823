"""RPCs of the implemented modules, dispatched to the engine. Input and output are plain instance data
(dicts following the RPC's input/output schema); NETCONF and RESTCONF only decode and encode them.

Licensing RPCs of cisco-smart-license report refusals in `return-code` (error-enum names), as the device
does; Cisco-IOS-XE-rpc `license` puts what the CLI would print into `result`; slpemu-control RPCs raise
YangError on bad input."""

from __future__ import annotations

from typing import Callable

from ..engine import Device, DeviceError
from ..engine.timefmt import parse_yang_time, yang_time
from .errors import YangError
from .schema import SNode

# The classic (pre-SLP) registration RPCs are still in the model; a SLP device no longer registers.
CLASSIC_RPCS = ("register-id-token", "de-register", "renew-id", "renew-auth")


class RpcDispatcher:
    def __init__(self, device: Device):
        self.device = device
        self._handlers: dict[str, Callable[[dict], dict]] = {
            "cisco-smart-license:rum-save-usage-all": lambda i: self._save("all", i),
            "cisco-smart-license:rum-save-usage-unreported": lambda i: self._save("unreported", i),
            "cisco-smart-license:rum-save-usage-days": lambda i: self._save("days", i),
            "cisco-smart-license:import-file": self._import_file,
            "Cisco-IOS-XE-rpc:license": self._xe_license,
            "cisco-ia:save-config": self._save_config,
            "slpemu-control:advance-clock": self._advance_clock,
            "slpemu-control:set-clock": self._set_clock,
            "slpemu-control:set-usage": self._set_usage,
            "slpemu-control:reload": lambda i: {"closed-reports": self.device.reload()},
            "slpemu-control:inject-fault": self._inject_fault,
            "slpemu-control:clear-faults": lambda i: {"cleared": self.device.clear_faults()},
        }
        for name in CLASSIC_RPCS:
            self._handlers[f"cisco-smart-license:{name}"] = lambda i: {"return-code": "notsupported"}

    def register(self, qname: str, handler: Callable[[dict], dict]) -> None:
        self._handlers[qname] = handler

    def supports(self, rpc: SNode) -> bool:
        return rpc.qname in self._handlers

    def invoke(self, rpc: SNode, data: dict) -> dict:
        handler = self._handlers.get(rpc.qname)
        if handler is None:
            raise YangError("operation-not-supported", f"{rpc.qname} is not supported by this device",
                            error_type="protocol", path=f"/{rpc.qname}")
        _check_mandatory(rpc.children.get("input"), data)
        return handler(data)

    # ------------------------------------------------------------------ cisco-smart-license
    def _licensing_call(self, fn, *args, **kwargs) -> dict:
        try:
            result = fn(*args, **kwargs)
        except DeviceError as exc:
            return {"return-code": exc.code}
        out = {"return-code": "success"}
        if isinstance(result, dict):
            out.update(result)
        return out

    def _save(self, selector: str, data: dict) -> dict:
        days = data.get("days", 0) if selector == "days" else None
        return self._licensing_call(self.device.save_usage, selector, data["file-path"], days=days)

    def _import_file(self, data: dict) -> dict:
        def run():
            result = self.device.import_file(data["file-path"])
            return {"confirmation-codes": result.confirmation_codes} if result.confirmation_codes else None
        return self._licensing_call(run)

    # ------------------------------------------------------------------ Cisco-IOS-XE-rpc license
    def _xe_license(self, data: dict) -> dict:
        smart = data.get("smart")
        try:
            if smart is None:
                raise YangError("operation-not-supported", "only `license smart` commands are supported",
                                error_type="protocol")
            return {"result": self._xe_smart(smart)}
        except DeviceError as exc:
            return {"result": str(exc)}

    def _xe_smart(self, smart: dict) -> str:
        if "save" in smart:
            save = smart["save"]
            if "usage" in save:
                usage = save["usage"]
                if "all" in usage:
                    selector, path, days = "all", usage["all"].get("file"), None
                elif "unreported" in usage:
                    selector, path, days = "unreported", usage["unreported"].get("file"), None
                elif "days" in usage:
                    selector, path, days = "days", usage.get("file"), usage["days"]
                else:
                    raise DeviceError("% Incomplete command.")
                if not path:
                    raise DeviceError("% Incomplete command.")
                self.device.save_usage(selector, path, days=days)
                return ""
            raise YangError("operation-not-supported", "license smart save trust-request is not supported yet",
                            error_type="protocol")
        if "import" in smart:
            return self.device.import_file(smart["import"]).message
        raise YangError("operation-not-supported", "this license smart command is not supported by this device",
                        error_type="protocol")

    # ------------------------------------------------------------------ cisco-ia
    def _save_config(self, data: dict) -> dict:
        return {"result": "Save running-config successful"}

    # ------------------------------------------------------------------ slpemu-control
    def _control(self, fn, *args, **kwargs):
        try:
            return fn(*args, **kwargs)
        except DeviceError as exc:
            raise YangError("invalid-value", str(exc).lstrip("% ").strip(), app_tag=exc.code) from None

    def _advance_clock(self, data: dict) -> dict:
        return {"now": yang_time(self._control(self.device.advance_clock, data["seconds"]))}

    def _set_clock(self, data: dict) -> dict:
        now = parse_yang_time(data["now"]) if "now" in data else None
        return {"now": yang_time(self._control(self.device.set_clock, now, data.get("frozen")))}

    def _set_usage(self, data: dict) -> dict:
        ent = self._control(self.device.set_usage, data["license"], data["count"])
        return {"entitlement-tag": ent.full_tag, "count": data["count"]}

    def _inject_fault(self, data: dict) -> dict:
        return {"fault-id": self._control(self.device.inject_fault, data["kind"], data.get("target", "any"),
                                          data.get("count"), data.get("seconds"))}


def _check_mandatory(node: SNode | None, data: dict) -> None:
    if node is None:
        return
    for child in node.children.values():
        if child.mandatory and child.choice is None and child.name not in data:
            raise YangError("missing-element", f"{child.name} is mandatory", error_type="protocol",
                            path=child.path(), info={"bad-element": child.name})
        if child.default is not None and child.name not in data and child.type is not None:
            from .decode import check_value
            data[child.name] = check_value(child, child.default)
