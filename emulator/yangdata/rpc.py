"""RPCs of the implemented modules, dispatched to the engine. Input and output are plain instance data
(dicts following the RPC's input/output schema); NETCONF and RESTCONF only decode and encode them.

Licensing RPCs of cisco-smart-license report refusals in `return-code` (error-enum names), as the device
does; Cisco-IOS-XE-rpc `license` puts what the CLI would print into `result`; slpemu-control RPCs raise
YangError on bad input."""

from __future__ import annotations

from typing import Callable

from ..engine import Device, DeviceError
from ..engine.timefmt import parse_yang_time, yang_time
from .errors import YangError, from_device_error
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
            "cisco-smart-license:id-token-trust": self._id_token_trust,
            "cisco-smart-license:trust-request-save": lambda i: self._licensing_call(
                self.device.save_trust_request, i["file-path"]),
            "cisco-smart-license:authorization-request-online": lambda i: self._licensing_call(
                self.device.authorization_request, "add" if i.get("add", True) else "replace",
                i["feature-name"], not i.get("local", True)),
            "cisco-smart-license:authorization-code-return-online": lambda i: self._return(i, online=True),
            "cisco-smart-license:authorization-code-return-offline": lambda i: self._return(i, online=False),
            "Cisco-IOS-XE-rpc:license": self._xe_license,
            "cisco-ia:save-config": self._save_config,
            "slpemu-control:advance-clock": self._advance_clock,
            "slpemu-control:set-clock": self._set_clock,
            "slpemu-control:set-usage": self._set_usage,
            "slpemu-control:reload": lambda i: {"closed-reports": self.device.reload()},
            "slpemu-control:inject-fault": self._inject_fault,
            "slpemu-control:clear-faults": lambda i: {"cleared": self.device.clear_faults()},
            "slpemu-control:ha-add-member": lambda i: self._control(
                self.device.ha_add_member, i["pid"], i["sn"], i.get("role", "standby").capitalize()) or {},
            "slpemu-control:ha-remove-member": lambda i: self._control(self.device.ha_remove_member, i["sn"]) or {},
            "slpemu-control:ha-switchover": lambda i: self._control(self.device.ha_switchover) or {},
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

    def _id_token_trust(self, data: dict) -> dict:
        out = self._licensing_call(self.device.trust_idtoken, data["id-token"], data.get("all-ha", False),
                                   data.get("force", False))
        # the model documents the normal answer of this asynchronous RPC as registrationinprogress
        return {"return-code": "registrationinprogress"} if out["return-code"] == "success" else out

    def _return(self, data: dict, online: bool) -> dict:
        def run():
            result = self.device.authorization_return(not data.get("local", True), online=online,
                                                      path=None if online else data["file-path"])
            return {"authorization-return-string": " ".join(result.codes.values())}
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
            if "trust-request" in save:
                self.device.save_trust_request(save["trust-request"])
                return ""
            raise DeviceError("% Incomplete command.")
        if "import" in smart:
            return self.device.import_file(smart["import"]).message
        if "trust" in smart:
            trust = smart["trust"]
            self.device.trust_idtoken(trust["idtoken"], "all" in trust, "force" in trust)
            return ""
        if "authorization" in smart:
            auth = smart["authorization"]
            if "request" in auth:
                req = auth["request"]
                mode = "add" if "add" in req else "replace" if "replace" in req else None
                if mode is None:
                    raise DeviceError("% Incomplete command.")
                self.device.authorization_request(mode, req[mode], "all" in req)
                return ""
            ret = auth.get("return", {})
            if "online" not in ret and "offline" not in ret:
                raise DeviceError("% Incomplete command.")
            result = self.device.authorization_return("all" in ret, online="online" in ret,
                                                      path=ret.get("offline") or None)
            return result.text
        # register / deregister / renew: classic Smart Licensing, gone since 17.3.2 (L10662)
        return "% Invalid input detected at '^' marker."

    # ------------------------------------------------------------------ cisco-ia
    def _save_config(self, data: dict) -> dict:
        """`write memory`: what applies at the next reload (`license boot level`, `license feature hseck9`)."""
        self.device.write_memory()
        return {"result": "Save running-config successful"}

    # ------------------------------------------------------------------ slpemu-control
    def _control(self, fn, *args, **kwargs):
        try:
            return fn(*args, **kwargs)
        except DeviceError as exc:
            raise from_device_error(exc) from None

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
