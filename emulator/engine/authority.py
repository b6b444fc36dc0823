"""Who the device trusts and what it is authorized to use (behaviour.md §1.3–§1.4, §1.9, R32–R70): trust
codes, authorization codes (SLAC), throughput and HSECK9, PLR/SLR/PAK, utility mode, HA members,
`license smart sync` and factory reset. Mixed into `Device`; every public method is one engine operation."""

from __future__ import annotations

import secrets
from dataclasses import dataclass

from . import artifacts, messages
from .artifacts import ArtifactError
from .errors import DeviceError
from .comm import FAULT_REASONS, NO_ROUTE, CommError, Outbound, Refusal, fault_target, new_stats, peer_name
from .timefmt import DAY

WEEK = 7 * DAY
RETRY_PERIOD = 15 * 60.0          # retry cadence of a failed scheduled push (R28, Q21)
FIRST_POLL_DELAY = 240.0          # the ACK is fetched about 4 minutes after a push (R27, L2572-2577)
POLL_PERIOD = DAY                 # then once a day while the peer still says OK_POLL (Q22)
OK_POLL = "OK_POLL"
UTILITY_ACK_DAYS = 30
ROLES = ("Active", "Standby", "Member")


@dataclass(frozen=True)
class ReturnResult:
    """What `license smart authorization return` / `reservation return` prints, and the codes per UDI."""
    text: str
    codes: dict[str, str]


class AuthorityMixin:
    outbound: Outbound | None = None

    # ================================================================== helpers
    def attach_outbound(self, outbound: Outbound | None) -> None:
        """Connects the device to CSSM / CSLU (the HTTP push client, or an in-process CSSM)."""
        self.outbound = outbound

    def _member_udis(self, all_members: bool) -> list[dict]:
        """Distinct UDIs covered by `all` (every member) or `local` (the active) (R56, R59)."""
        chosen = self.members if all_members else [m for m in self.members if m["role"] == "Active"]
        seen, out = set(), []
        for m in chosen:
            if (m["pid"], m["sn"]) not in seen:
                seen.add((m["pid"], m["sn"]))
                out.append({"pid": m["pid"], "sn": m["sn"]})
        return out

    @staticmethod
    def _udi_key(udi: dict) -> str:
        return artifacts.long_udi(udi["pid"], udi["sn"])

    def _transport_url(self) -> str:
        cfg = self.config
        if cfg["transport"] == "cslu":
            return cfg["url_cslu"] or "http://cslu-local:8182/cslu/v1/pi"
        if cfg["transport"] == "smart":
            return cfg["url_smart"] or "https://smartreceiver.cisco.com/licservice/license"
        return cfg["url_callhome"]

    def _stats(self) -> dict:
        comm = self.core.setdefault("comm", {"failing": False, "stats": new_stats()})
        return comm["stats"]

    def comm_statistics(self) -> dict:
        with self._lock:
            return {k: dict(v) for k, v in self._stats().items()}

    def _take_fault(self, target: str, now: float) -> str | None:
        """The first active fault for `target`, used up by this attempt even if the operation fails."""
        for fault in self.core.get("faults", {}).get("active", []):
            if fault["expires"] is not None and fault["expires"] <= now:
                continue
            if fault["target"] in ("any", target):
                self._use_fault(fault["id"])
                self._sticky.append(lambda dev, t, fid=fault["id"]: dev._use_fault(fid))
                return fault["kind"]
        return None

    def _use_fault(self, fault_id: int) -> None:
        active = self.core.get("faults", {}).get("active", [])
        fault = next((f for f in active if f["id"] == fault_id), None)
        if fault is not None and fault["remaining"] is not None:
            fault["remaining"] -= 1
            if fault["remaining"] <= 0:
                active.remove(fault)

    def _call(self, flow: str, now: float, method: str, *args) -> str:
        """One online exchange with the configured peer. Failures log COMM_FAILED (kept although the
        operation is refused) and raise DeviceError; recovery logs COMM_RESTORED."""
        transport = self.config["transport"]
        if transport == "off":
            raise DeviceError("% Communication is disabled: license smart transport is off", "commdisabled")
        peer = peer_name(transport)
        stats = self._stats()[flow]
        fault = self._take_fault(fault_target(transport), now)
        try:
            if fault is not None and fault != "malformed":
                raise CommError(FAULT_REASONS[fault])
            if self.outbound is None:
                raise CommError(NO_ROUTE)
            # arguments may be built lazily: nothing is assembled for an attempt that cannot go out
            args = tuple(a() if callable(a) else a for a in args)
            answer = getattr(self.outbound, method)(self._transport_url(), *args)
            if fault == "malformed":
                answer = "<smartLicense><data>"
            if not answer or not answer.strip():
                raise CommError(FAULT_REASONS["malformed"])
        except CommError as exc:
            def failed(dev, t, reason=exc.reason, peer=peer, flow=flow):
                st = dev._stats()[flow]
                st["total"] += 1
                st["fail"] += 1
                st["ongoing"] += 1
                st["failure_reason"] = reason
                st["last_failure"] = t
                st["last_response"] = f"FAILED on {t}"
                dev.core["comm"]["failing"] = True
                dev._syslog(t, messages.comm_failed(peer, reason))
                if dev.config["utility_enabled"] and flow == "Usage Reporting":
                    dev._syslog(t, messages.utility_report_failed())
            raise DeviceError(f"% Communications failure with the {peer} : {exc.reason}", "commsend",
                              aftermath=[failed]) from None
        except Refusal as exc:
            def refused(dev, t, reason=exc.reason, flow=flow):
                st = dev._stats()[flow]
                st["total"] += 1
                st["fail"] += 1
                st["failure_reason"] = reason
                st["last_failure"] = t
            raise DeviceError(f"% {exc.reason}", "responsefailed", aftermath=[refused],
                              syslog=getattr(exc, "syslog", None)) from None
        stats["total"] += 1
        stats["success"] += 1
        stats["ongoing"] = 0
        stats["last_success"] = now
        stats["last_response"] = "OK"
        comm = self.core["comm"]
        if comm.get("failing"):
            comm["failing"] = False
            self._syslog(now, messages.comm_restored(peer))
        return answer

    # ================================================================== trust codes
    def trust_codes(self) -> dict[str, dict]:
        with self._lock:
            return {k: dict(v) for k, v in self.core.get("trust", {}).items()}

    def _has_usable_trust(self, udi_key: str) -> bool:
        trust = self.core.get("trust", {}).get(udi_key)
        return bool(trust and trust.get("usable"))

    def _trust_request_element(self, udis: list[dict], now: float) -> str:
        data = {"type": "trust_request", "timestamp": int(now * 1000), "udis": udis,
                "public_key": artifacts.public_key_raw_b64(self.signing_public_key), "hostname": self.hostname}
        return artifacts.signed_element("smartLicenseTrustRequest", data, self._signing_key)

    def _members_needing_trust(self) -> list[dict]:
        return [u for u in self._member_udis(True) if not self._has_usable_trust(self._udi_key(u))]

    def save_trust_request(self, path: str) -> str:
        """`license smart save trust-request <path>` (R36): a signed trust request for the active."""
        target = self._flash_target(path)
        with self._op():
            now = self.clock.now()
            text = artifacts.signed_file([self._trust_request_element(self._member_udis(False), now)])
            self.flash.write(str(target), text.encode())
            self._event(now, "TRUST_REQUEST_SAVE", file=str(target))
            return str(target)

    def trust_idtoken(self, token: str, all_members: bool = False, force: bool = False) -> None:
        """`license smart trust idtoken <token> {local|all} [force]` (R33): trust with CSSM directly."""
        if not isinstance(token, str) or not 1 <= len(token) <= 255 or any(c.isspace() for c in token):
            raise DeviceError("% Invalid ID token")
        with self._op():
            now = self.clock.now()
            if self.config["transport"] not in ("smart", "callhome"):
                raise DeviceError("% Trust establishment with an ID token needs license smart transport smart",
                                  "transporttype")
            udis = self._member_udis(all_members)
            request = self._trust_request_element(udis, now)
            try:
                answer = self._call("Trust Establishment", now, "establish_trust", token, request, force)
            except DeviceError as exc:
                if exc.code == "responsefailed":
                    reason = str(exc).lstrip("% ")
                    for u in udis:
                        exc.aftermath.append(messages.trust_install_failed(
                            artifacts.short_udi(u["pid"], u["sn"]), reason))
                raise
            docs = self._read_answer(answer, ("smartLicenseTrustCode", "smartLicensePolicy"))
            for doc in docs:
                self._verify(doc, now, lambda reason: messages.trust_install_failed(self.udi, reason))
            self._install_documents(docs, now, trust_source="idtoken")
            # CSSM answers trust with its policy (R10), then the device reports (R33)
            self._sync(now, all_members)

    def _read_answer(self, text: str, tags: tuple[str, ...]) -> list[artifacts.SignedDocument]:
        try:
            return artifacts.parse_signed_file(text, tags)
        except ArtifactError as exc:
            reason = FAULT_REASONS["malformed"]
            peer = peer_name(self.config["transport"])
            raise DeviceError(f"% Communications failure with the {peer} : {reason}", "msgparse",
                              syslog=messages.comm_failed(peer, reason)) from exc

    def _check_trust(self, doc: artifacts.SignedDocument, now: float) -> tuple[str, dict]:
        udi = doc.data.get("udi") or {}
        key = artifacts.long_udi(str(udi.get("pid")), str(udi.get("sn")))
        short = artifacts.short_udi(str(udi.get("pid")), str(udi.get("sn")))
        self._verify(doc, now, lambda reason: messages.trust_install_failed(short, reason))
        if key not in {self._udi_key(u) for u in self._member_udis(True)}:
            raise DeviceError(f"% Import Data Failed: the trust code is for {key}, not this device",
                              "matchidentifier", syslog=messages.trust_install_failed(short, "UDI mismatch"))
        if doc.data.get("public_key") != artifacts.public_key_raw_b64(self.signing_public_key):
            raise DeviceError("% Import Data Failed: the trust code was issued to another device key",
                              "matchidentifier", syslog=messages.trust_install_failed(short, "signature mismatch"))
        return key, doc.data

    def _install_trust(self, key: str, data: dict, now: float, source: str) -> None:
        account = data.get("account") or {}
        self.core.setdefault("trust", {})[key] = {"installed_at": now, "source": source, "usable": True,
                                                  "account": account}
        pid, sn = key[4:].split(",SN:")
        self._syslog(now, messages.trust_install_success(artifacts.short_udi(pid, sn)))
        self._event(now, "TRUST_INSTALL", udi=key)
        self._record_import(now, "TRUST CODE", "Success")

    def install_factory_trust(self) -> None:
        """A factory-installed trust code (17.7.1a+ hardware; cannot be used with CSSM, R34)."""
        with self._op():
            now = self.clock.now()
            for u in self._member_udis(True):
                self.core.setdefault("trust", {})[self._udi_key(u)] = {
                    "installed_at": now, "source": "factory", "usable": False, "account": {}}

    # ================================================================== authorization codes (SLAC)
    def authorizations(self) -> dict[str, dict]:
        with self._lock:
            return {k: dict(v) for k, v in self.core.get("authorizations", {}).items()}

    def authorization_meta(self) -> dict[str, dict]:
        with self._lock:
            return {k: dict(v) for k, v in self.core.get("auth_meta", {}).items()}

    def _meta(self, key: str) -> dict:
        return self.core.setdefault("auth_meta", {}).setdefault(key, {})

    def _requested_entitlements(self, feature: str, count: int | None) -> list[dict]:
        try:
            ent = self.profile.resolve(feature, self.release.key)
        except KeyError:
            raise DeviceError(f"% {feature} is not a licence of this device", "taginvalid") from None
        return [{"tag": ent.tag, "full_tag": ent.full_tag, "name": ent.name, "count": count or 1}]

    def authorization_request(self, mode: str, feature: str, all_members: bool = False,
                              count: int | None = None) -> None:
        """`license smart authorization request {add|replace} <feature> {all|local} [count]` (R38). With a
        transport the request goes online and the SLAC is installed; with transport off it is staged for
        `authorization request save` (R40)."""
        if mode not in ("add", "replace"):
            raise DeviceError(f"% Invalid request mode {mode!r}")
        if count is not None and (isinstance(count, bool) or not isinstance(count, int) or not 0 <= count <= 0xFFFFFFFF):
            raise DeviceError("% Invalid request count")
        wanted = self._requested_entitlements(feature, count)
        with self._op():
            now = self.clock.now()
            udis = self._member_udis(all_members)
            if mode == "replace":
                self._check_replace(udis, {w["tag"] for w in wanted})
            request = {"type": "authorization_request", "timestamp": int(now * 1000), "mode": mode,
                       "udis": udis, "entitlements": wanted,
                       "public_key": artifacts.public_key_raw_b64(self.signing_public_key)}
            self.core["auth_request"] = request
            self._event(now, "AUTH_REQUEST", feature=feature, mode=mode)
            if self.config["transport"] == "off":
                return
            element = artifacts.signed_element("smartLicenseAuthorizationRequest", request, self._signing_key)
            if self.config["transport"] == "smart" and not all(
                    self._has_usable_trust(self._udi_key(u)) for u in udis):
                raise DeviceError("% Authorization requests to CSSM need a trust code: "
                                  "use license smart trust idtoken first", "notregistered")
            answer = self._call("Authorization Request", now, "request_authorization", element)
            docs = self._read_answer(answer, ("smartLicenseAuthorization", "smartLicensePolicy"))
            self._install_documents(docs, now)
            self.core.pop("auth_request", None)

    def _check_replace(self, udis: list[dict], keep: set[str]) -> None:
        in_use = {r.entitlement.tag for r in self.usage()}
        for u in udis:
            current = self.core.get("authorizations", {}).get(self._udi_key(u), {})
            returned = set(current.get("entitlements", {})) - keep
            busy = sorted(returned & in_use)
            if busy:
                names = ", ".join(current["entitlements"][t]["name"] for t in busy)
                raise DeviceError(f"% Error: the licenses to be returned are in use ({names}); "
                                  "disable the corresponding features first", "invalidrequest")

    def authorization_request_save(self, path: str) -> str:
        """`license smart authorization request save <path>` (17.7.1a+): the staged request as a file."""
        if not self.release.slac_files:
            raise DeviceError("% Invalid input detected: saving a SLAC request needs 17.7.1a or later",
                              "notsupported")
        target = self._flash_target(path)
        with self._op():
            request = self.core.get("auth_request")
            if request is None:
                raise DeviceError("% No authorization request is pending: use license smart authorization "
                                  "request add|replace first", "notfound")
            element = artifacts.signed_element("smartLicenseAuthorizationRequest", request, self._signing_key)
            self.flash.write(str(target), artifacts.signed_file([element]).encode())
            self._event(self.clock.now(), "AUTH_REQUEST_SAVE", file=str(target))
            return str(target)

    def _check_authorization(self, doc: artifacts.SignedDocument, now: float, all_docs) -> tuple[str, dict]:
        """R41: signature and clock, every UDI a member, every enforced/export licence in use covered."""
        udi = doc.data.get("udi") or {}
        key = artifacts.long_udi(str(udi.get("pid")), str(udi.get("sn")))
        self._verify(doc, now, lambda reason: messages.authorization_install_failed(key, reason))
        members = {self._udi_key(u) for u in self._member_udis(True)}
        file_udis = {artifacts.long_udi(str((d.data.get("udi") or {}).get("pid")),
                                        str((d.data.get("udi") or {}).get("sn"))) for d in all_docs}
        if not file_udis <= members:
            raise DeviceError("% Import Data Failed: UDI mismatch", "matchidentifier",
                              syslog=messages.authorization_install_failed(self.udi, "UDI mismatch"))
        ents = doc.data.get("entitlements")
        if not isinstance(ents, list) or not all(isinstance(e, dict) and isinstance(e.get("tag"), str) for e in ents):
            raise DeviceError("% Import Data Failed: malformed authorization code", "msgparse",
                              syslog=messages.authorization_install_failed(key, "malformed authorization code"))
        if key == self._udi_key(self._member_udis(False)[0]):
            covered = {e["tag"] for e in ents}
            missing = [r.entitlement.name for r in self.usage()
                       if r.entitlement.enforcement in ("export", "enforced") and r.entitlement.tag not in covered
                       and self._authorized(r.entitlement)]
            if missing:
                reason = "Not enough licenses with authorization for currently configured features"
                raise DeviceError(f"% Import Data Failed: {reason}", "reservationmismatch",
                                  syslog=messages.authorization_install_failed(key, reason))
        return key, doc.data

    def _install_authorization(self, key: str, data: dict, now: float) -> None:
        was_allowed = self._export_allowed()
        self.core.setdefault("authorizations", {})[key] = {
            "kind": "slac", "installed_at": now, "confirmation_code": data.get("confirmation_code"),
            "entitlements": {e["tag"]: {"full_tag": e.get("full_tag", e["tag"]), "name": e.get("name", e["tag"]),
                                        "count": int(e.get("count", 1)),
                                        "license_type": e.get("license_type", "PERPETUAL")}
                             for e in data["entitlements"]},
            "account": data.get("account") or {}}
        self._meta(key)["last_confirmation_code"] = data.get("confirmation_code")
        self._syslog(now, messages.authorization_install_success(key))
        self._event(now, "TAG_AUTHORIZED", udi=key)
        self._record_import(now, "AUTH", "Success")
        if self._export_allowed() and not was_allowed:
            self._syslog(now, messages.export_controlled(True))
        self._throughput_changed(now)

    def _export_allowed(self) -> bool:
        return any(r.entitlement.enforcement == "export" and r.status == "IN USE" for r in self.usage())

    def authorization_return(self, all_members: bool = False, online: bool = False,
                             path: str | None = None) -> ReturnResult:
        """`license smart authorization return {all|local} {online | offline [path]}` (R42, R43)."""
        if not self.profile.slac_return_allowed:
            raise DeviceError(f"% The authorization code cannot be returned from a {self.profile.family}: "
                              "open a case with Cisco TAC", "notsupported")
        target = self._flash_target(path) if path else None
        if target is not None and not self.release.slac_files:
            raise DeviceError("% Writing the return code to a file needs 17.7.1a or later", "notsupported")
        with self._op():
            now = self.clock.now()
            auths = self.core.get("authorizations", {})
            udis = [u for u in self._member_udis(all_members) if self._udi_key(u) in auths]
            if not udis:
                raise DeviceError("% No authorization code is installed", "noauthorizationinstalled")
            self._check_not_in_use(udis)
            codes, elements, lines = {}, [], []
            for u in udis:
                key = self._udi_key(u)
                code = artifacts.grouped_code(f"return|{key}|{now}|{secrets.token_hex(4)}", 8, 3)
                codes[key] = code
                elements.append(artifacts.signed_element("smartLicenseAuthorizationReturn", {
                    "type": "authorization_return", "timestamp": int(now * 1000), "udi": u,
                    "return_code": code, "confirmation_code": auths[key].get("confirmation_code"),
                    "public_key": artifacts.public_key_raw_b64(self.signing_public_key)}, self._signing_key))
                lines += [f"UDI: {key}", f"  Return code: {code}"]
            for u in udis:
                key = self._udi_key(u)
                del auths[key]
                self._meta(key)["last_return_code"] = codes[key]
                self._syslog(now, messages.authorization_removed(key))
                self._event(now, "AUTH_RETURN", udi=key)
            self._throughput_changed(now)
            if target is not None:
                self.flash.write(str(target), artifacts.signed_file(elements).encode())
                text = ""
            else:
                text = "\n".join(["", "Enter this return code in Cisco Smart Software Manager portal:", *lines, ""])
            if online:
                for element in elements:       # the code is removed locally either way (one attempt)
                    self._attempt(now, self._call, "Authorization Return", now, "return_authorization",
                                  artifacts.signed_file([element]))
            return ReturnResult(text, codes)

    def _check_not_in_use(self, udis: list[dict]) -> None:
        """A SLAC in use cannot be returned (L292): HSECK9 / enforced licences or throughput above 250."""
        auths = self.core.get("authorizations", {})
        covered = set()
        for u in udis:
            covered |= set(auths[self._udi_key(u)]["entitlements"])
        busy = [r.entitlement.name for r in self.usage()
                if r.entitlement.tag in covered and r.entitlement.enforcement in ("export", "enforced")]
        level = self._throughput_level()
        if level is not None and level.requires_slac and not self.core.get("plr"):
            busy.append(f"throughput {level.keyword}")
        if busy:
            raise DeviceError(f"% The authorization code is in use ({', '.join(busy)}): disable the feature "
                              "first", "invalidrequest")

    def export_return(self, all_members: bool, feature: str) -> ReturnResult:
        """`license smart export return {all|local} <feature>` (Q27): the return of an export-controlled
        authorization."""
        ent = self._requested_entitlements(feature, None)[0]
        if self.profile.entitlement(ent["name"]).enforcement != "export":
            raise DeviceError(f"% {feature} is not an export-controlled licence", "taginvalid")
        return self.authorization_return(all_members, online=self.config["transport"] != "off")

    # ================================================================== throughput and HSECK9
    def _throughput_level(self):
        keyword = self.core.get("platform", {}).get("throughput")
        spec = self.profile.throughput
        if spec is None or keyword is None:
            return None
        return spec.level(keyword)

    def throughput(self) -> dict:
        """Configured and effective throughput (R3, R4): above 250 Mbps needs an authorization, else it is
        held at 250 Mbps until one is installed."""
        with self._lock:
            spec = self.profile.throughput
            level = self._throughput_level() or (spec.default if spec else None)
            if level is None:
                return {"configured": None, "effective_kbps": None, "clamped": False}
            clamped = level.requires_slac and not self._throughput_authorized()
            kbps = spec.slac_threshold_mbps * 1000 if clamped else level.kbps
            return {"configured": level.keyword, "effective_kbps": kbps, "clamped": clamped}

    def _throughput_authorized(self) -> bool:
        if self.core.get("plr"):
            return True
        hsec = [e for e in self.profile.entitlements if e.hseck9]
        return any(self._authorized(e) for e in hsec) or any(
            auth.get("kind") in ("slr", "pak") and any(e.hseck9 and e.tag in auth.get("entitlements", {})
                                                       for e in self.profile.entitlements)
            for auth in self.core.get("authorizations", {}).values())

    def set_throughput(self, keyword: str | None) -> str:
        """`platform hardware throughput level MB <kw>` (C8000V) / `... crypto <kw>`; None = the `no` form.
        Returns the line the CLI prints."""
        spec = self.profile.throughput
        if spec is None:
            raise DeviceError("% Invalid input detected at '^' marker.", "notsupported")
        if keyword is not None:
            try:
                level = spec.level(keyword)
            except KeyError:
                raise DeviceError("% Invalid input detected at '^' marker.", "BadInputParams") from None
            if level.min_release and not self.release.at_least(level.min_release):
                raise DeviceError("% Invalid input detected at '^' marker.", "notsupported")
        with self._op():
            now = self.clock.now()
            self.core.setdefault("platform", {})["throughput"] = keyword
            if spec.level_scope == "total":
                self._follow_throughput_tier(keyword or spec.default_level, now)
            if keyword is not None and keyword in spec.auto_slac_levels and self.config["transport"] != "off" \
                    and not self._throughput_authorized():
                hsec = self.profile.hseck9_entitlement(self.release.key)
                # the level is kept, clamped, until a SLAC arrives (R4)
                self._attempt(now, self.authorization_request, "add", hsec.name, False)
            self._throughput_changed(now)
            state = self.throughput()
            kbps = state["effective_kbps"]
            return ("The current throughput level is unthrottled" if kbps is None
                    else f"The current throughput level is {kbps} kb/s")

    def _follow_throughput_tier(self, keyword: str, now: float) -> None:
        """On the C8000V the licence in use is the boot level's variant for the throughput level
        (`network-advantage_T2` …, profiles.md §1.7): a new level moves the usage to its variant at once."""
        for name, rec in list(self.core["usage"].items()):
            ent = self.profile.entitlement(name)
            if not ent.boot_level or ent.throughput_level == keyword:
                continue
            try:
                variant = self.profile.throughput_entitlement(ent.boot_level, keyword)
            except KeyError:
                continue
            self._set_usage_now(ent, 0, now)
            self._set_usage_now(variant, rec["count"], now)

    def _throughput_changed(self, now: float) -> None:
        state = self.throughput()
        previous = self.core.setdefault("platform", {}).get("effective_kbps", "unset")
        if state["effective_kbps"] != previous:
            self.core["platform"]["effective_kbps"] = state["effective_kbps"]
            if previous != "unset":
                self._event(now, "THROUGHPUT", level=str(state["effective_kbps"] or "unthrottled"),
                            clamped=str(state["clamped"]))

    def set_feature_hseck9(self, enabled: bool) -> str:
        """`license feature hseck9` / `no license feature hseck9` (ISR1K, ISR4K, C8200, C8300): takes effect
        at the next reload after `write`; enabling also requests the SLAC when connected (R39)."""
        if not self.profile.hseck9.license_feature:
            raise DeviceError("% Invalid input detected at '^' marker.", "notsupported")
        with self._op():
            now = self.clock.now()
            self.core.setdefault("platform", {})["feature_hseck9"] = bool(enabled)
            if enabled and self.config["transport"] != "off" and not self._throughput_authorized():
                hsec = self.profile.hseck9_entitlement(self.release.key)
                self._attempt(now, self.authorization_request, "add", hsec.name, False)
            verb = "enable" if enabled else "disable"
            return f"% use 'write' command to {verb} 'hseck9' license on next boot"

    def set_boot_level(self, level: str | None, addon: str | None = None) -> str:
        """`license boot level <level> [addon <addon>]` (None: the `no` form, back to the platform's
        default): the licences the next reload after `write` boots with."""
        spec = self.profile.boot_levels
        if level is not None and level not in spec.levels:
            raise DeviceError("% Invalid input detected at '^' marker.", "BadInputParams")
        if addon is not None and (level is None or addon not in spec.addons):
            raise DeviceError("% Invalid input detected at '^' marker.", "BadInputParams")
        with self._op():
            platform = self.core.setdefault("platform", {})
            platform["boot_level"] = level
            platform["boot_addon"] = addon
            return "% use 'write' command to make license boot config take effect on next boot"

    def boot_level(self) -> tuple[str | None, str | None]:
        """The configured (level, addon), falling back to the platform's defaults."""
        platform = self.core.get("platform") or {}
        spec = self.profile.boot_levels
        if platform.get("boot_level"):
            return platform["boot_level"], platform.get("boot_addon")
        return spec.default_level, spec.default_addon

    def booted_level(self) -> tuple[str | None, str | None]:
        """The (level, addon) the device booted with at its last reload."""
        booted = (self.core.get("platform") or {}).get("booted_level")
        spec = self.profile.boot_levels
        return tuple(booted) if booted else (spec.default_level, spec.default_addon)

    def next_boot_level(self) -> tuple[str | None, str | None]:
        """The (level, addon) the next reload boots with: what `write` saved, else the current one."""
        startup = (self.core.get("platform") or {}).get("startup") or {}
        if startup.get("boot_level"):
            return startup["boot_level"], startup.get("boot_addon")
        return self.booted_level()

    def _boot_entitlement(self, level: str):
        spec = self.profile.throughput
        keyword = (self.core.get("platform") or {}).get("throughput") or (spec.default_level if spec else None)
        if keyword is not None:
            try:
                return self.profile.throughput_entitlement(level, keyword)
            except KeyError:
                pass
        try:
            return self.profile.resolve(level, self.release.key)
        except KeyError:
            return None

    def write_memory(self) -> None:
        """`write memory` / `copy running-config startup-config`: what applies at the next reload."""
        with self._op():
            platform = self.core.setdefault("platform", {})
            platform["startup"] = {"feature_hseck9": platform.get("feature_hseck9", False),
                                   "boot_level": platform.get("boot_level"),
                                   "boot_addon": platform.get("boot_addon")}

    def _apply_startup(self, now: float) -> None:
        """At reload: `license feature hseck9` saved to startup turns the HSECK9 licence on or off."""
        startup = self.core.get("platform", {}).get("startup")
        if startup is None:
            return
        if startup.get("boot_level"):
            self._apply_boot_level(startup["boot_level"], startup.get("boot_addon"), now)
        if not self.profile.hseck9.license_feature:
            return
        hsec = self.profile.hseck9_entitlement(self.release.key)
        in_use = hsec.name in self.core["usage"]
        if startup["feature_hseck9"] and not in_use:
            self._set_usage_now(hsec, 1, now, quiet=True)
        elif not startup["feature_hseck9"] and in_use:
            self._set_usage_now(hsec, 0, now, quiet=True)

    def _apply_boot_level(self, level: str, addon: str | None, now: float) -> None:
        """The boot-level licences replace those of the previous boot level."""
        platform = self.core["platform"]
        wanted = [e for e in (self._boot_entitlement(level), self._boot_entitlement(addon) if addon else None) if e]
        for name in platform.get("boot_usage", []):
            if name not in {e.name for e in wanted} and name in self.core["usage"]:
                self._set_usage_now(self.profile.entitlement(name), 0, now, quiet=True)
        for ent in wanted:
            if ent.name not in self.core["usage"]:
                self._set_usage_now(ent, 1, now, quiet=True)
        platform["boot_usage"] = [e.name for e in wanted]
        platform["booted_level"] = [level, addon]

    # ================================================================== PLR (R50)
    def _require_reservation(self) -> None:
        if not self.config["reservation"]:
            raise DeviceError("% Invalid input detected at '^' marker.", "notreservationmode")

    def reservation_request(self, all_members: bool = False) -> str:
        self._require_reservation()
        with self._op():
            now = self.clock.now()
            requests = self.core.setdefault("reservation_requests", {})
            lines = ["Enter this request code in the Cisco Smart Software Manager portal:", ""]
            for u in self._member_udis(all_members):
                key = self._udi_key(u)
                code = artifacts.plr_request_code(u["pid"], u["sn"], secrets.token_hex(8))
                requests[key] = code
                self._meta(key)["request_code"] = code
                lines += [f"UDI: {key}", f"Request code: {code}"]
            self._event(now, "RESERVE_REQUEST")
            return "\n".join(lines)

    def reservation_cancel(self, all_members: bool = False) -> None:
        self._require_reservation()
        with self._op():
            requests = self.core.setdefault("reservation_requests", {})
            for u in self._member_udis(all_members):
                requests.pop(self._udi_key(u), None)
                self._meta(self._udi_key(u)).pop("request_code", None)

    def reservation_install(self, code: str) -> str:
        """`license smart reservation install <code>`: a version-3 PLR code for a pending request."""
        self._require_reservation()
        code = code.strip()
        with self._op():
            now = self.clock.now()
            if not self.profile.plr_available(self.release.key) if hasattr(self.profile, "plr_available") \
                    else not (self.profile.supports_plr and self.release.plr):
                raise DeviceError("% Permanent License Reservation is not supported on this platform or release",
                                  "notsupported")
            if not artifacts.PLR_CODE_RE.match(code):
                raise DeviceError("% Reservation install failed: the code is not a valid version 3 reservation "
                                  "authorization code", "reservationinstallparsefail")
            requests = self.core.get("reservation_requests", {})
            match = next((k for k, req in requests.items() if artifacts.plr_authorization_code(req) == code), None)
            if match is None:
                raise DeviceError("% Reservation install failed: the code does not match the reservation "
                                  "request", "reservationmismatch")
            self._event(now, "RESERVE_INSTALL_START", udi=match)
            self.core["plr"] = {"installed_at": now, "code": code, "udis": [k for k in requests]}
            self.core["reservation_requests"] = {}
            self._event(now, "STATE_RESERVE_AUTHORIZED")
            self._throughput_changed(now)
            return "Reservation install successful"

    def reservation_install_file(self, path: str) -> str:
        try:
            text = self.flash.read(path).decode("ascii", errors="replace")
        except Exception as exc:
            raise DeviceError(str(exc), getattr(exc, "code", "notfound")) from None
        return self.reservation_install(text.strip().splitlines()[0] if text.strip() else "")

    def reservation_return(self, all_members: bool = False) -> ReturnResult:
        self._require_reservation()
        with self._op():
            now = self.clock.now()
            plr = self.core.get("plr")
            if not plr:
                raise DeviceError("% No reservation authorization code is installed", "noreservationauthcode")
            self._event(now, "RESERVE_RETURN_START")
            codes, lines = {}, []
            for u in self._member_udis(all_members):
                key = self._udi_key(u)
                code = artifacts.grouped_code(f"plr-return|{key}|{now}", 5, 3)
                codes[key] = code
                self._meta(key)["last_return_code"] = code
                lines += [f"UDI: {key}", f"    Return code: {code}"]
            self.core["plr"] = None
            self._throughput_changed(now)       # above 250 Mbps falls back to 250 (L9652)
            text = "\n".join(["Enter this return code in Cisco Smart Software Manager portal:", *lines])
            return ReturnResult(text, codes)

    # ================================================================== HA (R56–R60)
    def ha_add_member(self, pid: str, sn: str, role: str = "Standby") -> None:
        if role not in ("Standby", "Member"):
            raise DeviceError("% role must be Standby or Member")
        if not pid or not sn:
            raise DeviceError("% pid and sn are required")
        with self._op():
            now = self.clock.now()
            if any(m["role"] == "Standby" for m in self.members) and role == "Standby":
                raise DeviceError("% The HA set already has a standby", "alreadyexists")
            self.members.append({"role": role, "pid": pid, "sn": sn})
            self._event(now, "HA_EVENT", event="MEMBER_ADDED", udi=artifacts.long_udi(pid, sn), role=role)
            self._ha_changed(now, new_udi={"pid": pid, "sn": sn})

    def ha_remove_member(self, sn: str) -> None:
        with self._op():
            now = self.clock.now()
            member = next((m for m in self.members if m["sn"] == sn and m["role"] != "Active"), None)
            if member is None:
                raise DeviceError(f"% No standby or member with serial {sn}", "notfound")
            self.members.remove(member)
            self._event(now, "HA_EVENT", event="MEMBER_REMOVED", udi=artifacts.long_udi(member["pid"], sn))
            self._ha_changed(now)

    def ha_switchover(self) -> None:
        with self._op():
            now = self.clock.now()
            standby = next((m for m in self.members if m["role"] == "Standby"), None)
            if standby is None:
                raise DeviceError("% There is no standby to switch over to", "notfound")
            active = next(m for m in self.members if m["role"] == "Active")
            active["role"], standby["role"] = "Standby", "Active"
            self.members.sort(key=lambda m: ROLES.index(m["role"]))
            self._event(now, "HA_ROLE", role="Active", udi=artifacts.long_udi(standby["pid"], standby["sn"]))
            self._event(now, "HOSTNAME_CHANGE", hostname=self.hostname)    # the hostname is resent (R60)
            self._ha_changed(now)

    def _ha_changed(self, now: float, new_udi: dict | None = None) -> None:
        """R29: an HA event triggers reporting; R58: on direct CSSM a new member gets a trust code."""
        self._close_all(now, reason="NONE", termination="HaEvent")
        self.core["reporting"]["trigger"] = now + 120.0
        if new_udi and self.config["transport"] == "smart" and self._has_usable_trust(self.udi) \
                and not self._has_usable_trust(self._udi_key(new_udi)):
            def trust_sync():
                request = self._trust_request_element([new_udi], now)
                answer = self._call("Trust Sync", now, "establish_trust", "trust-sync", request, False)
                self._install_documents(self._read_answer(answer, ("smartLicenseTrustCode",)), now,
                                        trust_source="sync")
            self._attempt(now, trust_sync)

    # ================================================================== sync and pull requests
    def sync(self, all_members: bool = False) -> None:
        """`license smart sync {all|local}`: send pending reports and requests, install what comes back
        (ACK, policy, trust codes, SLACs). Not throttled (R26)."""
        with self._op():
            self._sync(self.clock.now(), all_members)

    def _sync(self, now: float, all_members: bool, poll_now: bool = True) -> None:
        """Sends the unreported reports and pending requests. The peer answers with the ACK, or with a poll
        id (OK_POLL) whose ACK the device fetches at once (`sync`) or 4 minutes later (a scheduled push, R27)."""
        if self.config["transport"] == "off":
            return
        self._close_all(now, reason="NONE", termination="CurrentUsageRequested")
        chosen = self._select_reports("unreported", now, None, None)

        def usage() -> str:
            return artifacts.usage_file([self._envelope(r) for r in chosen], pid=self.pid, sn=self.sn,
                                        device_public_key=self.signing_public_key,
                                        privacy_info=self._privacy_info(),
                                        requests=self._usage_file_requests(now, all_members=all_members))
        answer = self._call("Usage Reporting", now, "report_usage", usage)
        rep = self.core["reporting"]
        self._mark_reported(chosen, transaction_id=str(secrets.randbelow(10 ** 18)))
        rep["last_push"] = now
        rep["trigger"] = None
        if answer.startswith(OK_POLL):
            rep["poll_id"] = answer[len(OK_POLL) + 1:].strip()
            rep["next_ack_check"] = now + (0.0 if poll_now else FIRST_POLL_DELAY)
            if poll_now:
                self._poll(now)
            return
        self._install_answer(answer, now)

    def _poll(self, now: float) -> None:
        """`Result Polling`: fetch the ACK of the last push (Next ACK push check)."""
        rep = self.core["reporting"]
        answer = self._call("Result Polling", now, "poll", rep["poll_id"])
        if answer.strip() == OK_POLL:
            rep["next_ack_check"] = now + POLL_PERIOD
            self._stats()["Result Polling"]["last_response"] = OK_POLL
            return
        rep["poll_id"] = None
        rep["next_ack_check"] = None
        self._install_answer(answer, now)

    def _poll_job(self, t: float) -> None:
        t = max(t, self.clock.now())
        rep = self.core["reporting"]
        exc = self._attempt(t, self._poll, t)
        if exc is not None:
            if exc.code == "responsefailed":       # e.g. "Invalid Polling Id": the reports wait for the next push
                rep["poll_id"] = rep["next_ack_check"] = None
            else:
                rep["next_ack_check"] = t + RETRY_PERIOD

    def _install_answer(self, answer: str, now: float) -> None:
        try:
            bundle = artifacts.parse_import(answer)
        except ArtifactError:
            reason = FAULT_REASONS["malformed"]
            peer = peer_name(self.config["transport"])
            raise DeviceError(f"% Communications failure with the {peer} : {reason}", "msgparse",
                              syslog=messages.comm_failed(peer, reason)) from None
        self._stats()["Result Polling"]["last_response"] = "COMPLETE"
        for step in self._check_bundle(bundle, now):
            step()

    # ================================================================== the push schedule (R24–R28)
    def _next_poll(self) -> float | None:
        rep = self.core["reporting"]
        if self.outbound is None or not rep.get("poll_id") or self.config["transport"] == "off":
            return None
        return rep.get("next_ack_check")

    def _next_push(self) -> float | None:
        """When the device pushes on its own: `Next report push`, or the retry time after a failure, never
        sooner than a day after the last automatic push on throttling releases (R26). Only a device with an
        outbound peer (the push client, or the built-in CSSM) pushes; transport off never does (Q11)."""
        if self.outbound is None or self.config["transport"] == "off":
            return None
        rep = self.core["reporting"]
        if rep.get("retry_at") is not None:
            return rep["retry_at"]
        due = self.timers().next_report_push
        if due is not None and self.release.rum_throttling and rep.get("last_auto_push") is not None:
            due = max(due, rep["last_auto_push"] + DAY)
        return due

    def _push_job(self, t: float) -> None:
        """A scheduled push. A failure logs COMM_FAILED (and UTILITY_REPORT_FAILED in utility mode) and is
        retried every 15 minutes until it succeeds (R28, Q21)."""
        rep = self.core["reporting"]
        t = max(t, self.clock.now())     # a push that fell due while the device was not ticking goes out now
        if self._attempt(t, self._sync, t, False, False) is not None:
            rep["retry_at"] = t + RETRY_PERIOD
            return
        rep["retry_at"] = None
        rep["last_auto_push"] = t

    def _usage_file_requests(self, now: float, all_members: bool = True) -> list[str]:
        """Signed requests a usage file carries: a trust request for members without a usable trust code
        (17.7.1+, R35) and a staged authorization request."""
        out = []
        if self.release.trust_request_in_reports:
            lacking = self._members_needing_trust()
            if lacking:
                out.append(self._trust_request_element(lacking, now))
        request = self.core.get("auth_request")
        if request is not None:
            out.append(artifacts.signed_element("smartLicenseAuthorizationRequest", request, self._signing_key))
        return out

    def pull_requests(self) -> list[str]:
        """Requests a CSLU / SSM On-Prem pull collects with the reports: trust (17.9.1+, R35) and SLAC."""
        with self._lock:
            out = []
            now = self.clock.now()
            if self.release.trust_in_pull_mode and self._members_needing_trust():
                out.append(self._trust_request_element(self._members_needing_trust(), now))
            request = self.core.get("auth_request")
            if request is not None:
                out.append(artifacts.signed_element("smartLicenseAuthorizationRequest", request,
                                                    self._signing_key))
            return out

    # ================================================================== factory reset (R69)
    def factory_reset(self) -> None:
        """`license smart factory reset`: removes all licensing information except the licences in use."""
        with self._op():
            now = self.clock.now()
            for key in list(self.core.get("authorizations", {})):
                self._syslog(now, messages.authorization_removed(key))
            if not self.policy.is_default:
                self._syslog(now, messages.policy_removed())
            from .policy import cisco_default
            self.policy = cisco_default()
            for rid in list(self.reports):
                self._deleted.add(rid)
            self.reports.clear()
            self._open.clear()
            self._holding.clear()
            self._holding_live = 0
            self._dirty.clear()
            for key in ("authorizations", "trust", "auth_request", "reservation_requests", "subscriptions",
                        "imports", "auth_meta"):
                self.core.pop(key, None)
            self.core["plr"] = None
            self.core["account"] = None
            self.core["counters"] = {"total": 0, "purged": 0, "next_report_id": self.core["counters"]["next_report_id"]}
            self.core["comm"] = {"failing": False, "stats": new_stats()}
            rep = self.core["reporting"]
            for key in rep:
                rep[key] = None
            if self.core["usage"]:
                rep["t0"] = now
            for name, rec in self.core["usage"].items():
                self._start_report(self.profile.entitlement(name), rec["count"], now)
            self._event(now, "FACTORY_RESET")
            self._throughput_changed(now)

    # ================================================================== utility mode (R52–R55)
    def _check_utility_allowed(self) -> None:
        if not (self.profile.supports_utility and self.release.utility_mode):
            raise DeviceError("% Utility mode is available only on a Catalyst 8000V from 17.9.1a",
                              "notsupported")

    def _utility_config_changed(self, before: dict, now: float) -> None:
        cfg = self.config
        if cfg["utility_enabled"] != before["utility_enabled"]:
            for report in self._open.values():      # the reports being collected now change flag too
                report.utility = cfg["utility_enabled"]
                self._dirty.add(report.id)
        if cfg["utility_enabled"] and not before["utility_enabled"]:
            self.core["utility"] = {"enabled_at": now, "last_transport_warn": None, "last_trust_warn": None,
                                    "last_noack": None, "warned": [], "started": False}
            self._event(now, "UTILITY_ENABLED")
            self._utility_checks(now)
            if self.core.get("subscriptions"):
                self._utility_subscriptions_changed(now)
        elif not cfg["utility_enabled"] and before["utility_enabled"]:
            self.core["utility"] = None
            self._syslog(now, messages.utility_stopped())
        elif cfg["utility_enabled"] and cfg["transport"] != before["transport"]:
            self._utility_checks(now)

    def _utility_checks(self, now: float) -> None:
        """Immediate transport and trust checks (R52 step 1, R53), repeated weekly by the jobs."""
        state = self.core["utility"]
        if self.config["transport"] == "callhome":
            state["last_transport_warn"] = now
            self._syslog(now, messages.utility_transport_not_config())
        if self.config["transport"] == "smart" and not self._has_usable_trust(self.udi):
            state["last_trust_warn"] = now
            self._syslog(now, messages.utility_trust_code())

    def _utility_subscriptions_changed(self, now: float) -> None:
        state = self.core.get("utility")
        if not state:
            return
        subs = self.core.get("subscriptions", {})
        if subs and not state["started"]:
            state["started"] = True
            self._syslog(now, messages.utility_started())
        for rec in self.usage():           # an ACK that drops a known id warns at once (R54)
            if rec.entitlement.full_tag not in subs and rec.entitlement.name not in state["warned"] \
                    and state["started"] and not self._authorized(rec.entitlement):
                state["warned"].append(rec.entitlement.name)
                self._syslog(now, messages.utility_subscription_license(rec.entitlement.name))
        state["last_noack"] = None

    def _utility_due(self) -> list[tuple[float, str]]:
        state = self.core.get("utility")
        if not state or not self.config["utility_enabled"]:
            return []
        due = []
        if self.config["transport"] == "callhome":
            due.append(((state["last_transport_warn"] or state["enabled_at"]) + WEEK, "utility-transport"))
        if self.config["transport"] == "smart" and not self._has_usable_trust(self.udi):
            due.append(((state["last_trust_warn"] or state["enabled_at"]) + WEEK, "utility-trust"))
        base = state["last_noack"] or max(self.core["reporting"]["last_ack"] or 0.0, state["enabled_at"])
        due.append((base + UTILITY_ACK_DAYS * DAY, "utility-noack"))
        subs = self.core.get("subscriptions", {})
        for name, rec in self.core["usage"].items():
            ent = self.profile.entitlement(name)
            if name not in state["warned"] and ent.full_tag not in subs and not self._authorized(ent):
                due.append((max(rec["since"], state["enabled_at"]) + UTILITY_ACK_DAYS * DAY, f"utility-sub:{name}"))
        return due

    def _run_utility_job(self, job: str, t: float) -> None:
        state = self.core["utility"]
        if job == "utility-transport":
            state["last_transport_warn"] = t
            self._syslog(t, messages.utility_transport_not_config())
        elif job == "utility-trust":
            state["last_trust_warn"] = t
            self._syslog(t, messages.utility_trust_code())
        elif job == "utility-noack":
            base = max(self.core["reporting"]["last_ack"] or 0.0, state["enabled_at"])
            state["last_noack"] = t
            self._syslog(t, messages.utility_no_ack(round((t - base) / DAY)))
        elif job.startswith("utility-sub:"):
            name = job.split(":", 1)[1]
            state["warned"].append(name)
            self._syslog(t, messages.utility_subscription_license(name))

    # ================================================================== migrated legacy licences (R49, R51)
    def migrate_legacy(self, kind: str, licences: dict[str, int]) -> None:
        """Starts the device as upgraded from a pre-SLP release with an SLR or PAK licences in use:
        SLR → `SPECIFIC INSTALLED`, transport off, reservation enabled (R51); PAK → `Status:PAK` with the
        transport kept at cslu (R62). Both report only on a change of usage (R17)."""
        if kind not in ("slr", "pak"):
            raise DeviceError("% kind must be slr or pak")
        if kind == "pak" and not self.profile.pak_supported:
            raise DeviceError(f"% {self.profile.family} has no PAK licences", "notsupported")
        ents = {}
        for name, count in licences.items():
            try:
                ents[self.profile.resolve(name, self.release.key)] = count
            except KeyError:
                raise DeviceError(f"% Unknown license {name!r} on {self.pid}", "notfound") from None
        from .policy import KIND_PAK, KIND_SLR, cisco_default
        from dataclasses import replace
        with self._op():
            now = self.clock.now()
            self.core.setdefault("authorizations", {})[self.udi] = {
                "kind": kind, "installed_at": now, "confirmation_code": artifacts.confirmation_code(f"{kind}{now}"),
                "entitlements": {e.tag: {"full_tag": e.full_tag, "name": e.name, "count": c,
                                         "license_type": "PERPETUAL"} for e, c in ents.items()},
                "account": {}}
            self.policy = replace(cisco_default(), kind=KIND_SLR if kind == "slr" else KIND_PAK)
            if kind == "slr":
                self.config["transport"] = "off"
                self.config["reservation"] = True
                self._syslog(now, messages.reserved_installed(self.udi))
            for ent, count in ents.items():
                self._set_usage_now(ent, count, now)
            self._event(now, "LEGACY_MIGRATED", kind=kind)
