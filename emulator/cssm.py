"""The CSSM issuing library: what Cisco Smart Software Manager does with what a device sends it.

It verifies usage reports by their builtin signatures (so the first upload of a product instance it has
never seen is accepted, and the product instance is added to the inventory of the Virtual Account it was
uploaded to), remembers which reports it has already received (answering a repeat with DROPPED, "Report
already received."), answers trust requests, SLAC requests and SLAC returns, and signs ACKs, policies,
trust codes and SLACs with its own key. An HTTP service and the `slpemu cssm process` command wrap it;
`Cssm.process` tells the kinds of file a user uploads apart by their content.

Offline bundles follow Cisco's sample tooling (interfaces.md §C.4): an upload `UD_SA_<ts>.tar.gz` holds a
`manifest.mf` and `UD_VA_<ts>.tar.gz`, which holds one `dev_<id>_<ts>.txt` usage file per device; the
answer is a tar.gz holding `ACK_UD_VA_<ts>.tar.gz`, which holds one `ACK_dev_<id>_<ts>.txt` per device file.
"""

from __future__ import annotations

import base64
import copy
import io
import json
import secrets
import tarfile
import threading
import time
from contextlib import contextmanager
from pathlib import Path

from .engine import artifacts
from .engine.artifacts import ArtifactError

# Named custom policies `slpemu cssm process --policy NAME` can attach. "SLE Policy" holds the values of
# the guide's C8300 example (L12233-12257); "Custom Policy" is a short-cycle policy for tests.
POLICY_PRESETS: dict[str, dict] = {
    "SLE Policy": {"ack_required": True, "groups": {
        "perpetual": {"first": 30, "frequency": 60, "on_change": 60},
        "subscription": {"first": 120, "frequency": 111, "on_change": 111},
        "enforced": {"first": 30, "frequency": 90, "on_change": 60},
        "export": {"first": 30, "frequency": 30, "on_change": 30}}},
    "Custom Policy": {"ack_required": True, "groups": {
        "perpetual": {"first": 60, "frequency": 60, "on_change": 30},
        "subscription": {"first": 30, "frequency": 30, "on_change": 30}}},
    "No ACK Policy": {"ack_required": False, "groups": {}},
}

MAX_BUNDLE_MEMBER = 16 * 1024 * 1024
MAX_BUNDLE_MEMBERS = 10000


class CssmError(ValueError):
    pass


class CssmRefusal(CssmError):
    """CSSM answered, and said no: `reason` is what the device logs (e.g. in TRUST_CODE_INSTALL_FAILED)."""

    def __init__(self, reason: str, udi: str | None = None):
        super().__init__(reason)
        self.reason = reason
        self.udi = udi


def make_token(smart_account: str, virtual_account: str) -> str:
    """An ID token of a Virtual Account (CSSM > General > New Token); tokens are reusable by every product
    instance of the VA (L1538)."""
    raw = f"slpemu:{smart_account}:{virtual_account}:{secrets.token_hex(8)}".encode()
    return base64.b64encode(raw).decode().replace("=", "%3D")


def token_account(token: str) -> tuple[str, str] | None:
    try:
        raw = base64.b64decode(token.replace("%3D", "=").replace("%0A", ""), validate=True).decode()
    except (ValueError, UnicodeDecodeError):
        return None
    parts = raw.split(":")
    return (parts[1], parts[2]) if len(parts) == 4 and parts[0] == "slpemu" else None


class Cssm:
    def __init__(self, private_key=None, state_path: str | Path | None = None,
                 smart_account: str = "Eg-SA", virtual_account: str = "Eg-VA"):
        self.key = private_key or artifacts.simulator_private_key()
        self.state_path = Path(state_path) if state_path else None
        self.smart_account = smart_account
        self.virtual_account = virtual_account
        self._lock = threading.Lock()
        self._seen: dict[str, list[int]] = {}
        self._trusted: dict[str, dict] = {}          # UDI → {"account": [sa, va], "public_key": b64}
        self._slacs: dict[str, list[dict]] = {}      # UDI → entitlements of its current SLAC
        self._devices: dict[str, dict] = {}          # UDI → the product instance in the inventory
        self._deferred = 0                            # inside a transaction: saved once at its end
        self._busy = threading.RLock()                # one transaction (`process`) at a time
        if self.state_path and self.state_path.exists():
            state = json.loads(self.state_path.read_text())
            self._seen = state.get("seen_reports", {})
            self._trusted = state.get("trusted", {})
            self._slacs = state.get("slacs", {})
            self._devices = state.get("devices", {})

    @property
    def public_key(self):
        return self.key.public_key()

    def _save(self) -> None:
        if self.state_path and not self._deferred:
            self.state_path.parent.mkdir(parents=True, exist_ok=True)
            tmp = self.state_path.with_suffix(".tmp")
            tmp.write_text(json.dumps({"seen_reports": self._seen, "trusted": self._trusted, "slacs": self._slacs,
                                       "devices": self._devices}))
            tmp.replace(self.state_path)

    # ------------------------------------------------------------------ inventory
    def devices(self) -> dict[str, dict]:
        """The product instances CSSM knows (Inventory > Product Instances), by `PID:…,SN:…`."""
        with self._lock:
            return {k: dict(v) for k, v in self._devices.items()}

    def _account_of(self, pid: str, sn: str, smart_account: str | None, virtual_account: str | None,
                    now) -> tuple[tuple[str, str], bool]:
        """The account of a product instance, adding it to the inventory on first sight (a file uploaded to
        a Virtual Account puts the product instance there). Returns ((sa, va), created). Call locked."""
        key = artifacts.long_udi(pid, sn)
        known = self._devices.get(key)
        sa = smart_account or (known or {}).get("smart_account") or self.smart_account
        va = virtual_account or (known or {}).get("virtual_account") or self.virtual_account
        if known is None or (known["smart_account"], known["virtual_account"]) != (sa, va):
            self._devices[key] = {"pid": pid, "sn": sn, "smart_account": sa, "virtual_account": va,
                                  "added": (known or {}).get("added", _ms(now))}
        return (sa, va), known is None

    # ------------------------------------------------------------------ policies
    def policy_data(self, name: str, now: float | None = None, groups: dict | None = None,
                    ack_required: bool | None = None) -> dict:
        if groups is None:
            if name not in POLICY_PRESETS:
                raise CssmError(f"unknown policy {name!r}; known: {', '.join(POLICY_PRESETS)}")
            preset = POLICY_PRESETS[name]
            groups, ack_required = preset["groups"], preset["ack_required"]
        return artifacts.policy_data(name, _ms(now), groups, ack_required)

    def policy_file(self, name: str, now: float | None = None, groups: dict | None = None,
                    ack_required: bool | None = None) -> str:
        return artifacts.build_policy_file(self.key, self.policy_data(name, now, groups, ack_required))

    # ------------------------------------------------------------------ usage → ACK
    def process_usage(self, text: str | bytes, *, now: float | None = None, policy: str | None = None,
                      smart_account: str | None = None, virtual_account: str | None = None) -> str:
        """Answers one usage file with the signed ACK a real CSSM would return. Reports are verified by
        their builtin signatures, so a product instance CSSM has never seen is accepted and added to the
        inventory; the requests the file carries (trust, SLAC) are answered inside the ACK. A file with
        neither is answered only when its privacy data name the product instance."""
        try:
            usage = artifacts.parse_usage(text)
        except ArtifactError as exc:
            raise CssmError(f"the usage file cannot be read: {exc}") from None
        udis = []
        for env in usage.envelopes:
            try:
                udis.append(artifacts.check_rum_signature(env))
                env.report_id
            except ArtifactError as exc:
                if exc.code == "verifysignaturefailed":
                    raise CssmError("the usage file has been altered: a RUM report signature does not verify") \
                        from None
                raise CssmError(str(exc)) from None
            except (KeyError, ValueError, TypeError):
                raise CssmError("a RUM report payload is malformed") from None
        for request in usage.requests:
            self._verify_request(request)
        if udis:
            pid, sn = udis[0]
        elif usage.requests:
            pid, sn = _request_udi(usage.requests[0])
        else:
            ident = next((p.get("udi") for p in usage.privacy if isinstance(p, dict)), None)
            if not isinstance(ident, dict) or not all(isinstance(ident.get(k), str)
                                                      for k in ("udi_pid", "udi_serial_number")):
                raise CssmError("the usage file holds no RUM report")
            pid, sn = ident["udi_pid"], ident["udi_serial_number"]
        acknowledgements = []
        with self._lock:
            account, _ = self._account_of(pid, sn, smart_account, virtual_account, now)
            seen = self._seen.setdefault(f"{pid}/{sn}", [])
            seen_set = set(seen)
            for env in usage.envelopes:
                rid = env.report_id
                if rid in seen_set:
                    acknowledgements.append({"report_id": rid, "status": "DROPPED",
                                             "message": "Report already received."})
                else:
                    acknowledgements.append({"report_id": rid, "status": "ACKED"})
                    seen.append(rid)
                    seen_set.add(rid)
            self._save()
        sa, va = account
        policy_doc = self.policy_data(policy, now) if policy else None
        extras = []
        for request in usage.requests:
            if request.tag == "smartLicenseTrustRequest":
                # trust requested inside a report follows the report's account (R35); no idtoken refusals
                extras.extend(self._trust_elements(request.data, now, (sa, va), force=True))
            elif request.tag == "smartLicenseAuthorizationRequest":
                extras.extend(self._slac_elements(request.data, now, (sa, va)))
        subscriptions = {}
        for env in usage.envelopes:
            meta = env.payload_obj.get("meta", {})
            if meta.get("utility_enabled"):
                tag = meta.get("entitlement_tag", "")
                subscriptions[tag] = "Sub" + artifacts.confirmation_code(f"{va}|{tag}").upper()
        return artifacts.build_ack(key=self.key, pid=pid, sn=sn, timestamp_ms=_ms(now),
                                   acknowledgements=acknowledgements, account={"smart_account": sa,
                                                                               "virtual_account": va},
                                   transaction_id=str(secrets.randbelow(10 ** 18)), policy=policy_doc,
                                   subscriptions=subscriptions, extra_elements=extras)

    # ------------------------------------------------------------------ trust codes
    def _verify_request(self, request: artifacts.SignedDocument) -> None:
        """A device request is signed with the key whose public half it carries (the trust code issued
        for it names that key, so only that device can install it)."""
        key_text = request.data.get("public_key")
        try:
            key = artifacts.public_key_from_raw_b64(key_text) if isinstance(key_text, str) else None
        except (ValueError, TypeError):
            key = None
        if key is None or not request.verify(key):
            raise CssmError(f"the {request.tag} has been altered: its signature does not verify")
        udis = request.data.get("udis") if "udis" in request.data else [request.data.get("udi")]
        if not udis or not all(isinstance(u, dict) and isinstance(u.get("pid"), str) and isinstance(u.get("sn"), str)
                               for u in udis):
            raise CssmError(f"the {request.tag} names no product instance")

    def _trust_elements(self, data: dict, now, account: tuple[str, str], force: bool) -> list[str]:
        """Trust codes for the UDIs of a trust request. Without `force`, CSSM refuses a UDI that already
        has a trust code (trust codes are node-locked, L8892-8895) or that belongs to another account."""
        udis = data.get("udis") or []
        public_key = data.get("public_key")
        out = []
        with self._lock:
            for udi in udis:
                key = f"{udi['pid']}/{udi['sn']}"
                known = self._trusted.get(key)
                if known and not force and list(known["account"]) != list(account):
                    raise CssmRefusal("Smart Account/Virtual Account mismatch", f"PID:{udi['pid']},SN:{udi['sn']}")
                if known and not force:
                    raise CssmRefusal("A trust code is already installed for this product instance",
                                      f"PID:{udi['pid']},SN:{udi['sn']}")
            for udi in udis:
                key = f"{udi['pid']}/{udi['sn']}"
                self._trusted[key] = {"account": list(account), "public_key": public_key}
                self._account_of(udi["pid"], udi["sn"], *account, now)
                out.append(artifacts.signed_element("smartLicenseTrustCode", {
                    "type": "trust_code", "timestamp": _ms(now), "udi": {"pid": udi["pid"], "sn": udi["sn"]},
                    "account": {"smart_account": account[0], "virtual_account": account[1]},
                    "public_key": public_key, "trust_id": secrets.token_hex(8)}, self.key))
            self._save()
        return out

    def establish_trust(self, token: str, request: artifacts.SignedDocument, *, force: bool = False,
                        now: float | None = None, policy: str | None = None) -> str:
        """`license smart trust idtoken`: validates the token and answers with trust codes for the UDIs
        of the signed trust request, and the account's policy when it has one (R10)."""
        self._verify_request(request)
        account = token_account(token) or (self.smart_account, self.virtual_account)
        if not token.strip():
            raise CssmRefusal("Invalid ID token")
        elements = self._trust_elements(request.data, now, account, force)
        if policy:
            elements.append(artifacts.signed_element("smartLicensePolicy", self.policy_data(policy, now), self.key))
        return artifacts.signed_file(elements)

    def process_trust_request(self, text: str | bytes, now: float | None = None) -> str:
        """A trust request file (`license smart save trust-request`) uploaded to CSSM: the trust code file.
        An upload is an explicit request for a new code, so an existing one is replaced."""
        requests = _read_requests(text, "smartLicenseTrustRequest")
        out = []
        for request in requests:
            self._verify_request(request)
            out.extend(self._trust_elements(request.data, now, (self.smart_account, self.virtual_account), True))
        return artifacts.signed_file(out)

    # ------------------------------------------------------------------ authorization codes
    def _slac_elements(self, data: dict, now, account: tuple[str, str]) -> list[str]:
        udis = data.get("udis") or []
        wanted = data.get("entitlements") or []
        if not udis or not isinstance(wanted, list):
            raise CssmError("the authorization request names no product instance or licence")
        out = []
        with self._lock:
            for udi in udis:
                key = f"{udi['pid']}/{udi['sn']}"
                self._account_of(udi["pid"], udi["sn"], *account, now)
                current = {e["tag"]: e for e in self._slacs.get(key, [])} if data.get("mode") == "add" else {}
                for ent in wanted:
                    current[ent["tag"]] = {"tag": ent["tag"], "full_tag": ent.get("full_tag", ent["tag"]),
                                           "name": ent.get("name", ent["tag"]),
                                           "count": int(ent.get("count") or 1), "license_type": "PERPETUAL"}
                self._slacs[key] = list(current.values())
                out.append(artifacts.signed_element("smartLicenseAuthorization", {
                    "type": "authorization", "timestamp": _ms(now), "udi": {"pid": udi["pid"], "sn": udi["sn"]},
                    "confirmation_code": artifacts.confirmation_code(f"{key}|{secrets.token_hex(4)}"),
                    "entitlements": self._slacs[key],
                    "account": {"smart_account": account[0], "virtual_account": account[1]}}, self.key))
            self._save()
        return out

    def authorize(self, request: artifacts.SignedDocument, now: float | None = None) -> str:
        """An online SLAC request (`license smart authorization request`)."""
        self._verify_request(request)
        return artifacts.signed_file(self._slac_elements(request.data, now, (self.smart_account,
                                                                             self.virtual_account)))

    def process_authorization_request(self, text: str | bytes, now: float | None = None) -> str:
        out = []
        for request in _read_requests(text, "smartLicenseAuthorizationRequest"):
            self._verify_request(request)
            out.extend(self._slac_elements(request.data, now, (self.smart_account, self.virtual_account)))
        return artifacts.signed_file(out)

    def return_authorization(self, request: artifacts.SignedDocument, now: float | None = None) -> str:
        """A returned SLAC (online, or the file of `authorization return ... offline <path>`): CSSM puts the
        licences back in the pool and acknowledges."""
        self._verify_request(request)
        udi = request.data.get("udi") or {}
        with self._lock:
            self._slacs.pop(f"{udi.get('pid')}/{udi.get('sn')}", None)
            self._save()
        return artifacts.signed_file([artifacts.signed_element("smartLicenseAuthorizationReturnAck", {
            "type": "authorization_return_ack", "timestamp": _ms(now), "udi": udi,
            "return_code": request.data.get("return_code")}, self.key)])

    def process_authorization_return(self, text: str | bytes, now: float | None = None) -> str:
        answers = [self.return_authorization(r, now) for r in _read_requests(text, "smartLicenseAuthorizationReturn")]
        return answers[0] if len(answers) == 1 else artifacts.signed_file(
            [a.split("\n", 1)[1].rsplit("</smartLicense>", 1)[0] for a in answers])

    # ------------------------------------------------------------------ PLR
    @staticmethod
    def plr_authorization(request_code: str) -> str:
        """The PLR v3 authorization code for a reservation request code (CSSM > Licenses > Reserve)."""
        if not request_code.startswith("DB-Z"):
            raise CssmError("not a reservation request code")
        return artifacts.plr_authorization_code(request_code)

    # ------------------------------------------------------------------ any file
    def process(self, data: bytes, *, now: float | None = None, policy: str | None = None,
                smart_account: str | None = None, virtual_account: str | None = None,
                commit=None) -> tuple[str, bytes, str]:
        """Answers whatever a user uploads to CSSM, told apart by its content: a usage file or an offline
        upload bundle (→ ACK / ACK bundle), a trust request (→ trust code), a SLAC request (→ SLAC) or a
        SLAC return (→ return acknowledgement). Returns (kind, answer, one line saying what was done);
        anything else is a CssmError saying what was expected. All or nothing: CSSM remembers what it
        answered only once `commit(answer)` (e.g. writing the answer out) has succeeded."""
        with self._transaction():
            kind, answer, what = self._process(data, now, policy, smart_account, virtual_account)
            if commit is not None:
                commit(answer)
        return kind, answer, what

    @contextmanager
    def _transaction(self):
        with self._busy:
            with self._lock:
                saved = copy.deepcopy((self._seen, self._trusted, self._slacs, self._devices))
                self._deferred += 1
            try:
                yield
            except BaseException:
                with self._lock:
                    self._seen, self._trusted, self._slacs, self._devices = saved
                raise
            finally:
                with self._lock:
                    self._deferred -= 1
            self._save()

    def _process(self, data: bytes, now, policy, smart_account, virtual_account) -> tuple[str, bytes, str]:
        usage = {"now": now, "policy": policy, "smart_account": smart_account, "virtual_account": virtual_account}
        if data[:2] == b"\x1f\x8b":
            answer, count = self._bundle(data, usage)
            return "ack-bundle", answer, f"ACK bundle for {count} product instance{'s' if count != 1 else ''}"
        kind = file_kind(data)
        if kind == "usage":
            text = self.process_usage(data, **usage)
            return "ack", text.encode(), _describe_ack(text)
        if kind == "trust-request":
            return "trust-code", self.process_trust_request(data, now).encode(), "trust code"
        if kind == "authorization-request":
            return "authorization", self.process_authorization_request(data, now).encode(), \
                "authorization code (SLAC)"
        if kind == "authorization-return":
            return "return-ack", self.process_authorization_return(data, now).encode(), \
                "authorization return acknowledgement"
        raise CssmError(NOT_ACCEPTED)

    # ------------------------------------------------------------------ offline bundles
    def process_bundle(self, data: bytes, **kwargs) -> bytes:
        """Answers CSSM's offline upload bundle with its ACK bundle."""
        return self._bundle(data, kwargs)[0]

    def _bundle(self, data: bytes, usage: dict) -> tuple[bytes, int]:
        outer = _read_tar(data)
        inner_name = next((n for n in outer if n.startswith("UD_VA_") and n.endswith(".tar.gz")), None)
        if "manifest.mf" not in outer or inner_name is None:
            raise CssmError("not an offline usage bundle: manifest.mf or UD_VA_*.tar.gz is missing")
        inner = _read_tar(outer[inner_name])
        names = sorted(n for n in inner if n.startswith("dev_") and n.endswith(".txt"))
        if not names:
            raise CssmError("the bundle holds no device usage file")
        answers = {}
        for name in names:
            try:
                answers[f"ACK_{name}"] = self.process_usage(inner[name], **usage).encode()
            except CssmError as exc:
                raise CssmError(f"{name}: {exc}") from None
        return _write_tar({f"ACK_{inner_name}": _write_tar(answers)}), len(answers)


NOT_ACCEPTED = ("not a file CSSM accepts: expected a usage file (license smart save usage) or an offline "
                "upload bundle (UD_SA_*.tar.gz), a trust request (license smart save trust-request), an "
                "authorization request (license smart authorization request save) or an authorization return "
                "(license smart authorization return ... offline)")


def file_kind(data: bytes | str) -> str | None:
    """What a user uploads to CSSM, from its content: usage | trust-request | authorization-request |
    authorization-return, or None."""
    try:
        root = artifacts.parse_xml_root(data)
    except ArtifactError:
        return None
    children = {c.tag for c in root if isinstance(c.tag, str)} if root.tag == "smartLicense" else {root.tag}
    if root.tag == "smartLicense" and children & {"RUMReport", "PrivacyInfo"}:
        return "usage"
    for tag, kind in (("smartLicenseTrustRequest", "trust-request"),
                      ("smartLicenseAuthorizationRequest", "authorization-request"),
                      ("smartLicenseAuthorizationReturn", "authorization-return")):
        if children == {tag}:
            return kind
    if root.tag == "smartLicense" and children and children <= set(artifacts.REQUEST_TAGS):
        return "usage"                # requests of several kinds: answered together in one ACK
    return None


def _describe_ack(text: str) -> str:
    try:
        data = artifacts.parse_import(text).first("smartLicenseRumAck").data
        udi = f"PID:{data['udi']['pid']},SN:{data['udi']['sn']}"
        count = sum(1 for a in data["acknowledgements"] if a.get("status") == "ACKED")
    except (ArtifactError, AttributeError, KeyError, TypeError):
        return "ACK"
    return f"ACK for {udi} ({count} report{'s' if count != 1 else ''} acknowledged)"


def _request_udi(request: artifacts.SignedDocument) -> tuple[str, str]:
    udis = request.data.get("udis") if "udis" in request.data else [request.data.get("udi")]
    return udis[0]["pid"], udis[0]["sn"]


def _read_requests(text: str | bytes, tag: str) -> list[artifacts.SignedDocument]:
    try:
        return artifacts.parse_signed_file(text, (tag,))
    except ArtifactError as exc:
        raise CssmError(f"the file cannot be read: {exc}") from None


def make_upload_bundle(usage_files: dict[str, bytes], stamp: int | None = None) -> tuple[str, bytes]:
    """Builds the offline upload bundle from per-device usage files (name → content), as Cisco's sample
    tooling does. Returns (file name, bytes)."""
    stamp = stamp or int(time.time())
    devices = {f"dev_{i}_{stamp}.txt": body for i, body in enumerate(usage_files.values(), start=1)}
    inner_name = f"UD_VA_{stamp}.tar.gz"
    manifest = json.dumps({"files": sorted(devices), "source": "slpemu", "timestamp": stamp}).encode()
    outer = _write_tar({"manifest.mf": manifest, inner_name: _write_tar(devices)})
    return f"UD_SA_{stamp}.tar.gz", outer


def _ms(now: float | None) -> int:
    return int((time.time() if now is None else now) * 1000)


def _read_tar(data: bytes) -> dict[str, bytes]:
    out: dict[str, bytes] = {}
    try:
        with tarfile.open(fileobj=io.BytesIO(data), mode="r:*") as tar:
            for i, member in enumerate(tar):
                if i >= MAX_BUNDLE_MEMBERS:
                    raise CssmError("too many files in the bundle")
                if not member.isfile():
                    continue
                if member.size > MAX_BUNDLE_MEMBER:
                    raise CssmError(f"{member.name} is too large")
                f = tar.extractfile(member)
                out[Path(member.name).name] = f.read() if f else b""
    except (tarfile.TarError, EOFError, OSError) as exc:
        raise CssmError(f"not a tar.gz bundle: {exc}") from None
    return out


def _write_tar(files: dict[str, bytes]) -> bytes:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w:gz") as tar:
        for name, body in files.items():
            info = tarfile.TarInfo(name)
            info.size = len(body)
            info.mtime = 0
            tar.addfile(info, io.BytesIO(body))
    return buf.getvalue()


class LibraryOutbound:
    """Connects a device straight to an in-process CSSM, as if CSSM (or a CSLU relaying to it) answered
    at the device's configured URL. The HTTP push client offers the same calls over the network."""

    def __init__(self, cssm: Cssm, clock, policy: str | None = None):
        self.cssm = cssm
        self.clock = clock                 # callable → the time CSSM stamps its answers with
        self.policy = policy               # custom policy CSSM hands out with trust and ACKs
        self._pending: dict[str, str] = {} # poll id → ACK not fetched yet

    def _guard(self, fn):
        from .engine.comm import Refusal
        try:
            return fn()
        except CssmRefusal as exc:
            raise Refusal(exc.reason, exc.udi) from None
        except CssmError as exc:
            raise Refusal(str(exc)) from None

    def establish_trust(self, url: str, token: str, trust_request: str, force: bool) -> str:
        request = _read_requests(trust_request, "smartLicenseTrustRequest")[0]
        return self._guard(lambda: self.cssm.establish_trust(token, request, force=force, now=self.clock(),
                                                             policy=self.policy))

    def request_authorization(self, url: str, request: str) -> str:
        doc = _read_requests(request, "smartLicenseAuthorizationRequest")[0]
        return self._guard(lambda: self.cssm.authorize(doc, now=self.clock()))

    def return_authorization(self, url: str, return_request: str) -> str:
        return self._guard(lambda: self.cssm.process_authorization_return(return_request, now=self.clock()))

    def report_usage(self, url: str, usage: str) -> str:
        """CSSM takes the reports and hands out a poll id; the ACK waits for `poll` (R27)."""
        ack = self._guard(lambda: self.cssm.process_usage(usage, now=self.clock(), policy=self.policy))
        poll_id = str(secrets.randbelow(2 ** 31))
        self._pending[poll_id] = ack
        return f"OK_POLL:{poll_id}"

    def poll(self, url: str, poll_id: str) -> str:
        from .engine.comm import Refusal
        ack = self._pending.pop(poll_id, None)
        if ack is None:
            raise Refusal(f"Invalid Polling Id {poll_id} provided in the polling request")
        return ack
