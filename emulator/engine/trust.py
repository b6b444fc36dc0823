"""Trust codes (behaviour.md §1.3, R32–R36): ID-token trust with CSSM, trust requests in files, reports and
pulls, trust codes from ACKs and files, factory trust, trust sync for new HA members."""

from __future__ import annotations

from . import artifacts, messages
from .context import Context
from .errors import DeviceError
from .state import TrustCode, Udi


DIRECT_TRANSPORTS = ("smart", "callhome")      # connected directly to CSSM


def udi_key(u: Udi) -> str:
    return artifacts.long_udi(u.pid, u.sn)


class Trust:
    def __init__(self, ctx: Context):
        self.ctx = ctx

    def request_document(self, udis: list[Udi], now: float) -> artifacts.SignedDocument:
        ctx = self.ctx
        data = {"type": "trust_request", "timestamp": int(now * 1000),
                "udis": [{"pid": u.pid, "sn": u.sn} for u in udis],
                "public_key": artifacts.public_key_raw_b64(ctx.signing_key.public_key()), "hostname": ctx.hostname}
        return artifacts.signed_document("smartLicenseTrustRequest", data, ctx.signing_key)

    def request_element(self, udis: list[Udi], now: float) -> str:
        return self.request_document(udis, now).to_xml()

    def save_request(self, target: str, now: float) -> str:
        """`license smart save trust-request <path>` (R36): a signed trust request for the active."""
        text = artifacts.signed_file([self.request_element(self.ctx.member_udis(False), now)])
        self.ctx.flash.write(target, text.encode())
        self.ctx.event(now, "TRUST_REQUEST_SAVE", file=target)
        return target

    def check_idtoken(self, token: str) -> None:
        if not isinstance(token, str) or not 1 <= len(token) <= 255 or any(c.isspace() for c in token):
            raise DeviceError("% Invalid ID token")
        if self.ctx.transport not in DIRECT_TRANSPORTS:
            raise DeviceError("% Trust establishment with an ID token needs license smart transport smart",
                              "transporttype")

    def prepare_idtoken(self, token: str, all_members: bool, force: bool, now: float):
        """`license smart trust idtoken <token> {local|all} [force]` (R33): the trust request for CSSM."""
        ctx = self.ctx
        self.check_idtoken(token)
        udis = ctx.member_udis(all_members)
        return ctx.comms.prepare("Trust Establishment", now, "establish_trust", token,
                                 self.request_element(udis, now), force, udis=tuple(udis))

    def finish_idtoken(self, out, outcome, now: float) -> None:
        """Installs CSSM's answer: trust is established, so communication with CSSM is restored
        (COMM_RESTORED), then the policy CSSM answers with (R10) and the trust code, in the order of the
        guide's log (L5587-5591). A refusal (e.g. a trust code already installed without `force`, L8892-8895)
        logs TRUST_CODE_INSTALL_FAILED per UDI and changes nothing."""
        ctx = self.ctx
        was_failing = ctx.st.comm.failing
        try:
            answer = ctx.comms.finish(out, outcome, now)
        except DeviceError as exc:
            if exc.code == "responsefailed":
                reason = str(exc).lstrip("% ")
                for u in out.carried["udis"]:
                    exc.aftermath.append(messages.trust_install_failed(artifacts.short_udi(u.pid, u.sn), reason))
            raise
        docs = ctx.comms.read_answer(answer, ("smartLicenseTrustCode", "smartLicensePolicy"))
        for doc in docs:
            ctx.reporting.verify(doc, now, lambda reason: messages.trust_install_failed(ctx.udi, reason))
        if not was_failing:           # comms.finish logged it already when the last exchange had failed
            ctx.syslog(now, messages.comm_restored(out.peer))
            ctx.event(now, "COMM_RESTORED")
        docs.sort(key=lambda d: d.tag != "smartLicensePolicy")
        ctx.imports.install_documents(docs, now, trust_source="idtoken")

    def check_code(self, doc: artifacts.SignedDocument, now: float) -> tuple[str, dict]:
        ctx = self.ctx
        udi = doc.data.get("udi") or {}
        key = artifacts.long_udi(str(udi.get("pid")), str(udi.get("sn")))
        short = artifacts.short_udi(str(udi.get("pid")), str(udi.get("sn")))
        ctx.reporting.verify(doc, now, lambda reason: messages.trust_install_failed(short, reason))
        if key not in {udi_key(u) for u in ctx.member_udis(True)}:
            raise DeviceError(f"% Import Data Failed: the trust code is for {key}, not this device",
                              "matchidentifier", syslog=messages.trust_install_failed(short, "UDI mismatch"))
        if doc.data.get("public_key") != artifacts.public_key_raw_b64(ctx.signing_key.public_key()):
            raise DeviceError("% Import Data Failed: the trust code was issued to another device key",
                              "matchidentifier", syslog=messages.trust_install_failed(short, "signature mismatch"))
        current = ctx.st.trust.get(key)
        if current is not None and current.issued is not None and (
                doc.data["timestamp"] < current.issued or doc.data.get("trust_id") == current.trust_id):
            # the code installed (or an older one) again: not re-installed (L13593)
            reason = "A trust code is already installed"
            raise DeviceError(f"% Import Data Failed: {reason}", "duplicatedentry",
                              syslog=messages.trust_install_failed(short, reason))
        return key, doc.data

    def install(self, key: str, data: dict, now: float, source: str) -> None:
        ctx = self.ctx
        account = {str(k): str(v) for k, v in (data.get("account") or {}).items()}
        trust_id = data.get("trust_id")
        ctx.put(trust={**ctx.st.trust, key: TrustCode(now, source, True, account, int(data["timestamp"]),
                                                      str(trust_id) if trust_id is not None else None)})
        pid, sn = key[4:].split(",SN:")
        ctx.syslog(now, messages.trust_install_success(artifacts.short_udi(pid, sn)))
        ctx.event(now, "TRUST_INSTALL", udi=key)
        ctx.record_import(now, "TRUST CODE", "Success")

    def install_factory(self, now: float) -> None:
        """A factory-installed trust code (17.7.1a+ hardware; cannot be used with CSSM, R34)."""
        ctx = self.ctx
        ctx.put(trust={**ctx.st.trust, **{udi_key(u): TrustCode(now, "factory", False)
                                          for u in ctx.member_udis(True)}})

    def sync_new_member(self, new_udi: Udi, now: float) -> None:
        """R58: on direct CSSM a new HA member gets a trust code when the active has one."""
        ctx = self.ctx
        if ctx.transport != "smart" or not ctx.has_usable_trust(ctx.udi) or ctx.has_usable_trust(udi_key(new_udi)):
            return

        def trust_sync():
            request = self.request_element([new_udi], now)
            answer = ctx.comms.call("Trust Sync", now, "establish_trust", "trust-sync", request, False)
            ctx.imports.install_documents(ctx.comms.read_answer(answer, ("smartLicenseTrustCode",)), now,
                                          trust_source="sync")
        ctx.comms.attempt(now, trust_sync)

    def pending_documents(self, now: float, channel: str) -> list[artifacts.SignedDocument]:
        """The trust request for members without a usable trust code (R35) that a saved usage file carries
        (`file`, 17.7.1+), a push to CSLU / SSM On-Prem carries (`push`, 17.7.1+) or a collector's pull
        offers (`pull`, 17.9.1+, L429, L493, L1484). Directly connected to CSSM (transport smart or callhome)
        a device gets its trust code only with an ID token (L519-525): its pushes carry no trust request."""
        ctx = self.ctx
        if channel == "pull":
            offered = ctx.release.trust_in_pull_mode
        elif channel == "push":
            offered = ctx.release.trust_request_in_reports and ctx.transport not in DIRECT_TRANSPORTS
        else:
            offered = ctx.release.trust_request_in_reports
        lacking = ctx.members_needing_trust() if offered else []
        return [self.request_document(lacking, now)] if lacking else []

    def required_for_reporting(self) -> bool:
        """Directly connected to CSSM, nothing is reported before trust is established with an ID token
        (L519-525; UTILITY_TRUST_CODE says the same of utility reporting)."""
        ctx = self.ctx
        return ctx.transport in DIRECT_TRANSPORTS and not ctx.has_usable_trust(ctx.udi)
