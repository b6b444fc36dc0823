"""What the device is authorized to use (behaviour.md §1.4, §1.9, R37–R51): authorization codes (SLAC)
requested online or by file, installed and returned; PLR (request, install, cancel, return); the SLR and PAK
licences a device migrated with."""

from __future__ import annotations

import secrets
from dataclasses import dataclass, replace

from . import artifacts, messages, settings
from .context import Context
from .errors import DeviceError
from .policy import KIND_PAK, KIND_SLR, cisco_default
from .state import (Authorization, AuthorizationCodes, AuthorizationRequest, AuthorizedLicense, Plr,
                    RequestedLicense, Udi)
from .trust import udi_key


@dataclass(frozen=True)
class ReturnResult:
    """The return codes per UDI of `license smart authorization return` / `reservation return`; `file` is
    the flash path written when the codes went to a file."""
    codes: dict[str, str]
    file: str | None = None


@dataclass(frozen=True)
class ReservationRequest:
    """The request code per UDI of `license smart reservation request`."""
    codes: dict[str, str]


class Authorizations:
    def __init__(self, ctx: Context):
        self.ctx = ctx

    def _set_codes(self, key: str, **changes) -> None:
        codes = self.ctx.st.codes
        self.ctx.put(codes={**codes, key: replace(codes.get(key, AuthorizationCodes()), **changes)})

    # ================================================================== SLAC
    def requested(self, feature: str, count: int | None) -> list[RequestedLicense]:
        ctx = self.ctx
        try:
            ent = ctx.profile.resolve(feature, ctx.release.key)
        except KeyError:
            raise DeviceError(f"% {feature} is not a licence of this device", "taginvalid") from None
        return [RequestedLicense(ent.tag, ent.full_tag, ent.name, count or 1)]

    def prepare_request(self, mode: str, feature: str, all_members: bool, count: int | None, now: float):
        """`license smart authorization request {add|replace} <feature> {all|local} [count]` (R38): the
        request is staged, and with a transport it goes online (the returned message); with transport off it
        waits for `authorization request save` (R40)."""
        ctx = self.ctx
        if mode not in ("add", "replace"):
            raise DeviceError(f"% Invalid request mode {mode!r}")
        if count is not None and (isinstance(count, bool) or not isinstance(count, int)
                                  or not 0 <= count <= 0xFFFFFFFF):
            raise DeviceError("% Invalid request count")
        wanted = self.requested(feature, count)
        udis = ctx.member_udis(all_members)
        if mode == "replace":
            self._check_replace(udis, {w.tag for w in wanted})
        request = AuthorizationRequest(int(now * 1000), mode, tuple(udis), tuple(wanted))
        ctx.put(auth_request=request)
        ctx.event(now, "AUTH_REQUEST", feature=feature, mode=mode)
        if ctx.transport == "off":
            return None
        if ctx.transport == "smart" and not all(ctx.has_usable_trust(udi_key(u)) for u in udis):
            raise DeviceError("% Authorization requests to CSSM need a trust code: "
                              "use license smart trust idtoken first", "notregistered")
        return ctx.comms.prepare("Authorization Request", now, "request_authorization", self._element(request))

    def finish_request(self, out, outcome, now: float) -> None:
        """Installs the SLAC (and a policy) CSSM answers with; the request is no longer pending."""
        ctx = self.ctx
        answer = ctx.comms.finish(out, outcome, now)
        docs = ctx.comms.read_answer(answer, ("smartLicenseAuthorization", "smartLicensePolicy"))
        ctx.imports.install_documents(docs, now)
        ctx.put(auth_request=None)

    def _document(self, request: AuthorizationRequest) -> artifacts.SignedDocument:
        ctx = self.ctx
        data = {"type": "authorization_request", "timestamp": request.timestamp, "mode": request.mode,
                "udis": [{"pid": u.pid, "sn": u.sn} for u in request.udis],
                "entitlements": [{"tag": e.tag, "full_tag": e.full_tag, "name": e.name, "count": e.count}
                                 for e in request.entitlements],
                "public_key": artifacts.public_key_raw_b64(ctx.signing_key.public_key())}
        return artifacts.signed_document("smartLicenseAuthorizationRequest", data, ctx.signing_key)

    def _element(self, request: AuthorizationRequest) -> str:
        return self._document(request).to_xml()

    def pending_request_documents(self) -> list[artifacts.SignedDocument]:
        request = self.ctx.st.auth_request
        return [self._document(request)] if request is not None else []

    def pending_request_elements(self) -> list[str]:
        return [d.to_xml() for d in self.pending_request_documents()]

    def _check_replace(self, udis: list[Udi], keep: set[str]) -> None:
        ctx = self.ctx
        in_use = {r.entitlement.tag for r in ctx.usage()}
        for u in udis:
            current = ctx.st.authorizations.get(udi_key(u))
            if current is None:
                continue
            busy = sorted((set(current.entitlements) - keep) & in_use)
            if busy:
                names = ", ".join(current.entitlements[t].name for t in busy)
                raise DeviceError(f"% Error: the licenses to be returned are in use ({names}); "
                                  "disable the corresponding features first", "invalidrequest")

    def save_request(self, target: str, now: float) -> str:
        """`license smart authorization request save <path>` (17.7.1a+): the staged request as a file."""
        ctx = self.ctx
        if not ctx.release.slac_files:
            raise DeviceError("% Saving a SLAC request needs 17.7.1a or later", "notsupported")
        elements = self.pending_request_elements()
        if not elements:
            raise DeviceError("% No authorization request is pending: use license smart authorization "
                              "request add|replace first", "notfound")
        ctx.flash.write(target, artifacts.signed_file(elements).encode())
        ctx.event(now, "AUTH_REQUEST_SAVE", file=target)
        return target

    def check_code(self, doc: artifacts.SignedDocument, now: float, all_docs) -> tuple[str, dict]:
        """R41: signature and clock, every UDI a member, every enforced/export licence in use covered."""
        ctx = self.ctx
        udi = doc.data.get("udi") or {}
        key = artifacts.long_udi(str(udi.get("pid")), str(udi.get("sn")))
        ctx.reporting.verify(doc, now, lambda reason: messages.authorization_install_failed(key, reason))
        members = {udi_key(u) for u in ctx.member_udis(True)}
        file_udis = {artifacts.long_udi(str((d.data.get("udi") or {}).get("pid")),
                                        str((d.data.get("udi") or {}).get("sn"))) for d in all_docs}
        if not file_udis <= members:
            raise DeviceError("% Import Data Failed: UDI mismatch", "matchidentifier",
                              syslog=messages.authorization_install_failed(ctx.udi, "UDI mismatch"))
        ents = doc.data.get("entitlements")
        if not isinstance(ents, list) or not all(isinstance(e, dict) and isinstance(e.get("tag"), str) for e in ents):
            raise DeviceError("% Import Data Failed: malformed authorization code", "msgparse",
                              syslog=messages.authorization_install_failed(key, "malformed authorization code"))
        current = ctx.st.authorizations.get(key)
        if current is not None and current.kind == "slac" and (
                current.confirmation_code == doc.data.get("confirmation_code")
                or (current.issued is not None and doc.data["timestamp"] < current.issued)):
            reason = "The authorization code is already installed"      # a replay: not re-installed
            raise DeviceError(f"% Import Data Failed: {reason}", "duplicatedentry",
                              syslog=messages.authorization_install_failed(key, reason))
        if key == ctx.udi:
            covered = {e["tag"] for e in ents}
            missing = [r.entitlement.name for r in ctx.usage()
                       if r.entitlement.enforcement in ("export", "enforced") and r.entitlement.tag not in covered
                       and ctx.authorized(r.entitlement)]
            if missing:
                reason = "Not enough licenses with authorization for currently configured features"
                raise DeviceError(f"% Import Data Failed: {reason}", "reservationmismatch",
                                  syslog=messages.authorization_install_failed(key, reason))
        # tech support prints the installed code, as one line (L12849)
        kid = f' keyId="{doc.key_id}"' if doc.key_id else ""
        code = (f"<{doc.tag}><data><![CDATA[{doc.text}]]></data>"
                f'<signature{kid} algorithm="ed25519">{doc.signature}</signature></{doc.tag}>')
        return key, {**doc.data, "code_text": code}

    def install(self, key: str, data: dict, now: float) -> None:
        ctx = self.ctx
        was_allowed = ctx.export_allowed()
        entitlements = {e["tag"]: AuthorizedLicense(e.get("full_tag", e["tag"]), e.get("name", e["tag"]),
                                                    int(e.get("count", 1)), e.get("license_type", "PERPETUAL"))
                        for e in data["entitlements"]}
        account = {str(k): str(v) for k, v in (data.get("account") or {}).items()}
        auth = Authorization("slac", now, data.get("confirmation_code"), entitlements, account,
                             issued=int(data["timestamp"]), code=data.get("code_text"))
        ctx.put(authorizations={**ctx.st.authorizations, key: auth})
        self._settle_request(key, set(entitlements))
        self._set_codes(key, last_confirmation_code=data.get("confirmation_code"))
        ctx.syslog(now, messages.authorization_install_success(key))
        for lic in entitlements.values():                 # as the guide's event log prints them (L11746)
            ctx.event(now, "TAG_AUTHORIZED", count=str(lic.count), entitlementTag=lic.full_tag)
        ctx.record_import(now, "AUTH", "Success")
        if key == ctx.udi:
            self._tag_export_events(now)
        if ctx.export_allowed() and not was_allowed:
            ctx.syslog(now, messages.export_controlled(True))
        ctx.platform.throughput_changed(now)

    def _tag_export_events(self, now: float, before: bool | None = None) -> None:
        """`SAEVT_TAG_EXPORT exportAllowed= count= entitlementTag=` for each export-controlled licence of the
        platform, before (not allowed) and after (allowed) an authorization arrives (L11794-11797)."""
        ctx = self.ctx
        for ent in ctx.profile.entitlements:
            if ent.enforcement != "export" or not ent.available_in(ctx.release.key):
                continue
            if before is False:
                ctx.event(now, "TAG_EXPORT", exportAllowed="False", count="0", entitlementTag=ent.full_tag)
            ctx.event(now, "TAG_EXPORT", exportAllowed=str(ctx.authorized(ent)), count="0",
                      entitlementTag=ent.full_tag)

    def _settle_request(self, key: str, installed: set[str]) -> None:
        """A SLAC that grants what the pending request asked for a UDI answers it for that UDI, whichever
        way it came (online, in an ACK, from a file); the request stays pending for the UDIs still waiting."""
        request = self.ctx.st.auth_request
        if request is None:
            return
        wanted = {e.tag for e in request.entitlements}
        left = tuple(u for u in request.udis if not (udi_key(u) == key and wanted <= installed))
        if left != request.udis:
            self.ctx.put(auth_request=AuthorizationRequest(request.timestamp, request.mode, left,
                                                           request.entitlements) if left else None)

    def return_codes(self, all_members: bool, online: bool, target: str | None,
                     now: float) -> tuple[ReturnResult, list[str]]:
        """`license smart authorization return {all|local} {online | offline [path]}` (R42, R43): the codes
        are removed here; returns them and, online, the return files the device then sends to CSSM."""
        ctx = self.ctx
        if not ctx.profile.slac_return_allowed:
            raise DeviceError(f"% The authorization code cannot be returned from a {ctx.profile.family}: "
                              "open a case with Cisco TAC", "notsupported")
        if target is not None and not ctx.release.slac_files:
            raise DeviceError("% Writing the return code to a file needs 17.7.1a or later", "notsupported")
        auths = ctx.st.authorizations
        udis = [u for u in ctx.member_udis(all_members) if udi_key(u) in auths]
        if not udis:
            raise DeviceError("% No authorization code is installed", "noauthorizationinstalled")
        self._check_not_in_use(udis)
        codes, elements = {}, []
        for u in udis:
            key = udi_key(u)
            code = artifacts.grouped_code(f"return|{key}|{now}|{secrets.token_hex(4)}", 8, 3)
            codes[key] = code
            elements.append(artifacts.signed_element("smartLicenseAuthorizationReturn", {
                "type": "authorization_return", "timestamp": int(now * 1000), "udi": {"pid": u.pid, "sn": u.sn},
                "return_code": code, "confirmation_code": auths[key].confirmation_code,
                "public_key": artifacts.public_key_raw_b64(ctx.signing_key.public_key())}, ctx.signing_key))
        remaining = dict(auths)
        for u in udis:
            key = udi_key(u)
            del remaining[key]
            self._set_codes(key, last_return_code=codes[key])
            ctx.syslog(now, messages.authorization_removed(key))
            ctx.event(now, "AUTH_RETURN", udi=key)
        ctx.put(authorizations=remaining)
        ctx.platform.throughput_changed(now)
        if target is not None:
            ctx.flash.write(target, artifacts.signed_file(elements).encode())
        returns = [artifacts.signed_file([element]) for element in elements] if online else []
        return ReturnResult(codes, target), returns

    def _check_not_in_use(self, udis: list[Udi]) -> None:
        """A SLAC in use cannot be returned (L292): HSECK9 / enforced licences or throughput above 250."""
        ctx = self.ctx
        covered = set()
        for u in udis:
            covered |= set(ctx.st.authorizations[udi_key(u)].entitlements)
        busy = [r.entitlement.name for r in ctx.usage()
                if r.entitlement.tag in covered and r.entitlement.enforcement in ("export", "enforced")]
        level = ctx.throughput_level()
        if level is not None and level.requires_slac and ctx.st.plr is None:
            busy.append(f"throughput {level.keyword}")
        if busy:
            raise DeviceError(f"% The authorization code is in use ({', '.join(busy)}): disable the feature "
                              "first", "invalidrequest")

    def check_export_return(self, feature: str) -> bool:
        """`license smart export return {all|local} <feature>` (Q27) returns an export-controlled
        authorization, online when a transport is configured (returned)."""
        ent = self.requested(feature, None)[0]
        if self.ctx.profile.entitlement(ent.name).enforcement != "export":
            raise DeviceError(f"% {feature} is not an export-controlled licence", "taginvalid")
        return self.ctx.transport != "off"

    # ================================================================== PLR (R50)
    def _require_reservation(self) -> None:
        if not self.ctx.st.config.reservation:
            raise DeviceError("% license smart reservation is not configured", "notreservationmode")

    def reservation_request(self, all_members: bool, now: float) -> ReservationRequest:
        ctx = self.ctx
        self._require_reservation()
        requests = dict(ctx.st.reservation_requests)
        codes = {}
        for u in ctx.member_udis(all_members):
            key = udi_key(u)
            codes[key] = requests[key] = artifacts.plr_request_code(u.pid, u.sn, secrets.token_hex(8))
            self._set_codes(key, request_code=codes[key])
        ctx.put(reservation_requests=requests)
        ctx.event(now, "RESERVE_REQUEST")
        return ReservationRequest(codes)

    def reservation_cancel(self, all_members: bool) -> None:
        ctx = self.ctx
        self._require_reservation()
        requests = dict(ctx.st.reservation_requests)
        for u in ctx.member_udis(all_members):
            requests.pop(udi_key(u), None)
            self._set_codes(udi_key(u), request_code=None)
        ctx.put(reservation_requests=requests)

    def reservation_install(self, code: str, now: float) -> None:
        """`license smart reservation install <code>`: a version-3 PLR code for a pending request."""
        ctx = self.ctx
        self._require_reservation()
        code = code.strip()
        if not settings.reservation_available(ctx.profile, ctx.release):
            raise DeviceError("% Permanent License Reservation is not supported on this platform or release",
                              "notsupported")
        if not artifacts.PLR_CODE_RE.match(code):
            raise DeviceError("% Reservation install failed: the code is not a valid version 3 reservation "
                              "authorization code", "reservationinstallparsefail")
        requests = ctx.st.reservation_requests
        match = next((k for k, req in requests.items() if artifacts.plr_authorization_code(req) == code), None)
        if match is None:
            raise DeviceError("% Reservation install failed: the code does not match the reservation "
                              "request", "reservationmismatch")
        ctx.event(now, "RESERVE_INSTALL_START", udi=match)
        ctx.put(plr=Plr(now, code, tuple(requests)), reservation_requests={})
        self._tag_export_events(now, before=False)
        ctx.event(now, "STATE_RESERVE_AUTHORIZED")
        ctx.platform.throughput_changed(now)

    def reservation_return(self, all_members: bool, now: float) -> ReturnResult:
        ctx = self.ctx
        self._require_reservation()
        if ctx.st.plr is None:
            raise DeviceError("% No reservation authorization code is installed", "noreservationauthcode")
        ctx.event(now, "RESERVE_RETURN_START", udi=ctx.udi)
        codes = {}
        for u in ctx.member_udis(all_members):
            key = udi_key(u)
            codes[key] = artifacts.grouped_code(f"plr-return|{key}|{now}", 5, 3)
            self._set_codes(key, last_return_code=codes[key])
        ctx.put(plr=None)
        ctx.platform.throughput_changed(now)       # above 250 Mbps falls back to 250 (L9652)
        return ReturnResult(codes)

    # ================================================================== migrated legacy licences (R49, R51)
    def migrate_legacy(self, kind: str, licences: dict, now: float) -> None:
        """Starts the device as upgraded from a pre-SLP release with an SLR or PAK licences in use:
        SLR → `SPECIFIC INSTALLED`, transport off, reservation enabled (R51); PAK → `Status:PAK` with the
        transport kept at cslu (R62). Both report only on a change of usage (R17)."""
        ctx = self.ctx
        if kind not in ("slr", "pak"):
            raise DeviceError("% kind must be slr or pak")
        if kind == "pak" and not ctx.profile.pak_supported:
            raise DeviceError(f"% {ctx.profile.family} has no PAK licences", "notsupported")
        ents = {ctx.reporting.resolve(name): count for name, count in licences.items()}
        auth = Authorization(kind, now, artifacts.confirmation_code(f"{kind}{now}"),
                             {e.tag: AuthorizedLicense(e.full_tag, e.name, c) for e, c in ents.items()})
        ctx.put(authorizations={**ctx.st.authorizations, ctx.udi: auth},
                policy=replace(cisco_default(), kind=KIND_SLR if kind == "slr" else KIND_PAK))
        if kind == "slr":
            ctx.update("config", transport="off", reservation=True)
            ctx.syslog(now, messages.reserved_installed(ctx.udi))
        for ent, count in ents.items():
            ctx.reporting.set_usage(ent, count, now)
        ctx.event(now, "LEGACY_MIGRATED", kind=kind)
