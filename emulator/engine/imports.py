"""What the device installs from Cisco (R8–R10, R36, R41): ACKs, policies, trust codes, authorization codes
and return acknowledgements, from a file or from an online answer. Everything in a document is checked
before anything is installed."""

from __future__ import annotations

from typing import Callable

from . import artifacts
from .context import Context
from .errors import DeviceError


class Imports:
    def __init__(self, ctx: Context):
        self.ctx = ctx

    def import_data(self, data: bytes | str, now: float) -> None:
        """`license smart import` / RPC import-file / native import of an ACK, policy or code file."""
        ctx = self.ctx
        bundle = ctx.reporting.parse_import(data)
        try:
            plan = self.check_bundle(bundle, now)
        except DeviceError as exc:
            # A refused import leaves its syslog and its history entry behind, nothing else.
            message = str(exc)
            exc.aftermath.append(lambda c, t: c.record_import(t, bundle.kind, message))
            raise
        for step in plan:
            step()

    def check_bundle(self, bundle: artifacts.ImportBundle, now: float) -> list[Callable[[], None]]:
        plan: list[Callable[[], None]] = []
        ack = bundle.first("smartLicenseRumAck")
        if ack is not None:
            plan.append(self.ctx.reporting.check_ack(ack, now))
        plan.extend(self.documents_plan(bundle.documents, now, trust_source="ack" if ack else "file"))
        return plan

    def documents_plan(self, docs: list[artifacts.SignedDocument], now: float,
                       trust_source: str) -> list[Callable[[], None]]:
        """Checks policies, trust codes and authorization codes; returns the steps that install them."""
        ctx = self.ctx
        plan: list[Callable[[], None]] = []
        slacs = [d for d in docs if d.tag == "smartLicenseAuthorization"]
        for doc in docs:
            if doc.tag == "smartLicensePolicy":
                plan.append(ctx.reporting.check_policy(doc, now, stale_ok=trust_source != "file"))
            elif doc.tag == "smartLicenseTrustCode":
                key, data = ctx.trust.check_code(doc, now)
                plan.append(lambda key=key, data=data: ctx.trust.install(key, data, now, trust_source))
            elif doc.tag == "smartLicenseAuthorization":
                key, data = ctx.authority.check_code(doc, now, slacs)
                plan.append(lambda key=key, data=data: ctx.authority.install(key, data, now))
            elif doc.tag == "smartLicenseAuthorizationReturnAck":
                ctx.reporting.verify(doc, now)
                plan.append(lambda: ctx.record_import(now, "AUTH", "Return acknowledged"))
        return plan

    def install_documents(self, docs: list[artifacts.SignedDocument], now: float, trust_source: str = "ack") -> None:
        for step in self.documents_plan(docs, now, trust_source):
            step()
