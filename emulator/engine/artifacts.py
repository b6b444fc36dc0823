"""Signed licensing artefacts exchanged between the device and CSSM: their wire formats, signing and checks.

Signatures are Ed25519 over the exact UTF-8 bytes of a JSON text carried inside the artefact, so no XML
canonicalisation is involved and a single changed byte fails verification.

Usage file / RUM reports (what `license smart save usage ... file <path>` writes; interfaces.md §C.4)::

    <smartLicense>
      <DeviceIdentity><![CDATA[{"udi": {...}, "public_key": "<base64 raw Ed25519>"}]]></DeviceIdentity>
      <RUMReport><![CDATA[{"payload": "<JSON text>", "header": {"type": "rum"},
                           "signature": {"sudi": {...}, "signing_type": "builtin", "key": "<software tag>",
                                         "value": "<base64 Ed25519 signature of payload>"}}]]></RUMReport>
      ...
      <PrivacyInfo><![CDATA[{"udi": ..., "hostname": ..., "software_version": ...}]]></PrivacyInfo>  (17.9.1+)
    </smartLicense>

`DeviceIdentity` is this emulator's addition: it carries the device's report-signing public key so that
the CSSM simulator can verify each report (a real CSSM knows the builtin key of a real device).

Documents CSSM signs (ACK, policy) share one shape: a `data` element holding JSON text and a `signature`
element with the base64 signature and the signer's key id::

    <smartLicense>
      <smartLicenseRumAck>
        <data><![CDATA[{"type": "rum_ack", "version": "1.0", "timestamp": <ms>, "udi": {"pid":..,"sn":..},
                        "acknowledgements": [{"report_id": 1, "status": "ACKED"},
                                             {"report_id": 2, "status": "DROPPED",
                                              "message": "Report already received."}],
                        "account": {"smart_account": "..", "virtual_account": ".."},
                        "transaction_id": "<digits>"}]]></data>
        <signature keyId="<hex>" algorithm="ed25519">base64</signature>
      </smartLicenseRumAck>
      <smartLicensePolicy> ... </smartLicensePolicy>          (optional)
    </smartLicense>

    <smartLicensePolicy>
      <data><![CDATA[{"type": "policy", "name": "SLE Policy", "timestamp": <ms>,
                      "ack_required": true,
                      "groups": {"perpetual": {"first": 30, "frequency": 60, "on_change": 60}, ...}}]]></data>
      <signature keyId=".." algorithm="ed25519">base64</signature>
    </smartLicensePolicy>
"""

from __future__ import annotations

import base64
import hashlib
import json
import re
from dataclasses import dataclass
from importlib import resources

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from lxml import etree

from ..xmlsafe import UnsafeXmlError, parse_xml


class ArtifactError(ValueError):
    """An artefact that cannot be accepted. `code` is the cisco-smart-license error-enum name."""

    def __init__(self, message: str, code: str = "msgparse"):
        super().__init__(message)
        self.code = code


# ---------------------------------------------------------------------------------------------- keys

def generate_private_key() -> Ed25519PrivateKey:
    return Ed25519PrivateKey.generate()


def private_key_to_pem(key: Ed25519PrivateKey) -> str:
    return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                             serialization.NoEncryption()).decode()


def private_key_from_pem(pem: str | bytes) -> Ed25519PrivateKey:
    key = serialization.load_pem_private_key(pem.encode() if isinstance(pem, str) else pem, password=None)
    if not isinstance(key, Ed25519PrivateKey):
        raise ValueError("expected an Ed25519 private key")
    return key


def public_key_to_pem(key: Ed25519PublicKey) -> str:
    return key.public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo).decode()


def public_key_from_pem(pem: str | bytes) -> Ed25519PublicKey:
    key = serialization.load_pem_public_key(pem.encode() if isinstance(pem, str) else pem)
    if not isinstance(key, Ed25519PublicKey):
        raise ValueError("expected an Ed25519 public key")
    return key


def public_key_raw_b64(key: Ed25519PublicKey) -> str:
    return base64.b64encode(key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)).decode()


def public_key_from_raw_b64(text: str) -> Ed25519PublicKey:
    return Ed25519PublicKey.from_public_bytes(base64.b64decode(text, validate=True))


def key_id(key: Ed25519PublicKey) -> str:
    raw = key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return hashlib.sha256(raw).hexdigest()[:16]


def simulator_private_key() -> Ed25519PrivateKey:
    """The bundled CSSM simulator's key: devices trust it unless told otherwise (--cssm-trust-anchor)."""
    return private_key_from_pem(resources.files("emulator").joinpath("data/cssm-simulator-key.pem").read_bytes())


def simulator_public_key() -> Ed25519PublicKey:
    return public_key_from_pem(resources.files("emulator").joinpath("data/cssm-simulator-pub.pem").read_bytes())


def sign_text(key: Ed25519PrivateKey, text: str) -> str:
    return base64.b64encode(key.sign(text.encode("utf-8"))).decode()


def verify_text(key: Ed25519PublicKey, text: str, signature_b64: str) -> bool:
    try:
        key.verify(base64.b64decode(signature_b64, validate=True), text.encode("utf-8"))
        return True
    except (InvalidSignature, ValueError):
        return False


def dumps(obj) -> str:
    """Compact, key-ordered JSON: the byte-stable text that gets signed."""
    # "]]>" can only occur inside a JSON string; escaping its ">" keeps the text CDATA-safe and valid JSON.
    return json.dumps(obj, separators=(",", ":"), ensure_ascii=True).replace("]]>", "]]\\u003e")


# ---------------------------------------------------------------------------------------------- UDIs

def sudi(pid: str, sn: str) -> dict:
    return {"udi_pid": pid, "udi_serial_number": sn}


def long_udi(pid: str, sn: str) -> str:
    return f"PID:{pid},SN:{sn}"


def short_udi(pid: str, sn: str) -> str:
    return f"P:{pid},S:{sn}"


# ---------------------------------------------------------------------------------------------- RUM reports

@dataclass(frozen=True)
class RumEnvelope:
    payload: str
    signature: dict
    header: dict | None = None

    def to_json(self) -> str:
        body = {"payload": self.payload}
        if self.header is not None:
            body["header"] = self.header
        body["signature"] = self.signature
        return json.dumps(body, indent=2)

    @property
    def payload_obj(self) -> dict:
        return json.loads(self.payload)

    @property
    def report_id(self) -> int:
        return int(self.payload_obj["asset_identification"]["report_id"])


def build_rum_payload(*, report_id: int, software_tag: str, pid: str, sn: str, entitlement_tag: str,
                      software_version: str | None, utility_enabled: bool, ha_udi: list[dict],
                      measurements: list[dict]) -> str:
    asset_digest = hashlib.sha256(dumps(measurements).encode()).digest()
    meta = {"entitlement_tag": entitlement_tag, "utility_enabled": utility_enabled}
    if software_version is not None:
        meta["software_version"] = software_version
    meta["ha_udi"] = ha_udi
    payload = {
        "version": "2.0",
        "asset_identification": {"report_id": report_id, "asset": {"name": software_tag},
                                 "instance": {"sudi": sudi(pid, sn)}},
        "signature": {"signing_type": "builtin", "key": software_tag,
                      "value": base64.b64encode(asset_digest).decode()},
        "meta": meta,
        "measurements": measurements,
    }
    return dumps(payload)


def sign_rum_payload(key: Ed25519PrivateKey, payload: str, *, pid: str, sn: str, software_tag: str) -> dict:
    return {"sudi": sudi(pid, sn), "signing_type": "builtin", "key": software_tag,
            "value": sign_text(key, payload)}


def usage_file(envelopes: list[RumEnvelope], *, pid: str, sn: str, device_public_key: Ed25519PublicKey,
               privacy_info: dict | None = None, requests: list[str] = ()) -> str:
    """The text of a saved usage file; `requests` are signed request elements (trust, authorization)."""
    parts = ["<smartLicense>"]
    identity = {"udi": sudi(pid, sn), "public_key": public_key_raw_b64(device_public_key)}
    parts.append(f"<DeviceIdentity><![CDATA[{dumps(identity)}]]></DeviceIdentity>")
    for env in envelopes:
        parts.append(f"<RUMReport><![CDATA[{env.to_json()}]]></RUMReport>")
    parts.extend(requests)
    if privacy_info is not None:
        parts.append(f"<PrivacyInfo><![CDATA[{dumps(privacy_info)}]]></PrivacyInfo>")
    parts.append("</smartLicense>")
    return "\n".join(parts) + "\n"


@dataclass
class ParsedUsage:
    identities: list[dict]
    envelopes: list[RumEnvelope]
    privacy: list[dict]
    requests: list["SignedDocument"]


def parse_usage(text: str | bytes) -> ParsedUsage:
    root = _parse(text)
    if root.tag != "smartLicense":
        raise ArtifactError(f"not a usage file (root element {root.tag})")
    identities, envelopes, privacy, requests = [], [], [], []
    for child in root:
        if not isinstance(child.tag, str):
            continue
        if child.tag in REQUEST_TAGS:
            requests.append(read_signed_element(child))
            continue
        body = (child.text or "").strip()
        try:
            if child.tag == "RUMReport":
                obj = json.loads(body)
                envelopes.append(RumEnvelope(payload=obj["payload"], signature=obj["signature"],
                                             header=obj.get("header")))
            elif child.tag == "DeviceIdentity":
                identities.append(json.loads(body))
            elif child.tag == "PrivacyInfo":
                privacy.append(json.loads(body))
            else:
                raise ArtifactError(f"unexpected element {child.tag} in a usage file")
        except (json.JSONDecodeError, KeyError, TypeError) as exc:
            raise ArtifactError(f"malformed {child.tag}: {exc}") from exc
    if not envelopes and not requests and not identities:
        raise ArtifactError("the file holds no usage data")
    return ParsedUsage(identities, envelopes, privacy, requests)


# ---------------------------------------------------------------------------------------------- signed documents

def signed_element(tag: str, data: dict, key: Ed25519PrivateKey) -> str:
    text = dumps(data)
    sig = sign_text(key, text)
    kid = key_id(key.public_key())
    return (f"<{tag}>\n  <data><![CDATA[{text}]]></data>\n"
            f'  <signature keyId="{kid}" algorithm="ed25519">{sig}</signature>\n</{tag}>')


@dataclass(frozen=True)
class SignedDocument:
    tag: str
    data: dict
    text: str
    signature: str
    key_id: str | None

    def verify(self, key: Ed25519PublicKey) -> bool:
        return verify_text(key, self.text, self.signature)


def _parse(text: str | bytes) -> etree._Element:
    try:
        return parse_xml(text)
    except UnsafeXmlError as exc:
        raise ArtifactError(str(exc)) from exc
    except etree.XMLSyntaxError as exc:
        raise ArtifactError(f"malformed XML: {exc}") from exc


def read_signed_element(el: etree._Element) -> SignedDocument:
    data_el = el.find("data")
    sig_el = el.find("signature")
    if data_el is None or sig_el is None or not (sig_el.text or "").strip():
        raise ArtifactError(f"{el.tag} lacks its data or signature")
    text = data_el.text or ""
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ArtifactError(f"{el.tag} data is not valid: {exc}") from exc
    if not isinstance(data, dict):
        raise ArtifactError(f"{el.tag} data is not an object")
    return SignedDocument(el.tag, data, text, sig_el.text.strip(), sig_el.get("keyId"))


@dataclass
class ImportBundle:
    """Everything a file given to `license smart import` may carry."""
    kind: str                          # "ack" | "policy" | other root tags for later artefact kinds
    documents: list[SignedDocument]

    def first(self, tag: str) -> SignedDocument | None:
        return next((d for d in self.documents if d.tag == tag), None)

    def all(self, tag: str) -> list[SignedDocument]:
        return [d for d in self.documents if d.tag == tag]


# What CSSM signs (the device imports them) and what the device signs (CSSM processes them).
SIGNED_TAGS = ("smartLicenseRumAck", "smartLicensePolicy", "smartLicenseTrustCode", "smartLicenseAuthorization",
               "smartLicenseAuthorizationReturnAck")
REQUEST_TAGS = ("smartLicenseTrustRequest", "smartLicenseAuthorizationRequest", "smartLicenseAuthorizationReturn")


IMPORT_KINDS = {"smartLicenseRumAck": "ack", "smartLicensePolicy": "policy", "smartLicenseTrustCode": "trust",
                "smartLicenseAuthorization": "authorization",
                "smartLicenseAuthorizationReturnAck": "authorization-return"}


def parse_import(text: str | bytes) -> ImportBundle:
    root = _parse(text)
    if root.tag == "smartLicense":
        docs = [read_signed_element(child) for child in root if isinstance(child.tag, str)
                and child.tag in SIGNED_TAGS]
        if not docs:
            raise ArtifactError("the file holds nothing this device can import")
        kind = "ack" if any(d.tag == "smartLicenseRumAck" for d in docs) else IMPORT_KINDS[docs[0].tag]
        return ImportBundle(kind, docs)
    if root.tag in SIGNED_TAGS:
        return ImportBundle(IMPORT_KINDS[root.tag], [read_signed_element(root)])
    raise ArtifactError(f"unrecognised file (root element {root.tag})")


def parse_signed_file(text: str | bytes, tags: tuple[str, ...]) -> list[SignedDocument]:
    """Every signed element with one of `tags`, from a file whose root is one of them or `smartLicense`."""
    root = _parse(text)
    children = [root] if root.tag in tags else [c for c in root if isinstance(c.tag, str) and c.tag in tags]
    if root.tag not in tags and root.tag != "smartLicense" or not children:
        raise ArtifactError(f"the file holds no {' / '.join(tags)}")
    return [read_signed_element(c) for c in children]


def signed_file(elements: list[str]) -> str:
    return "<smartLicense>\n" + "\n".join(elements) + "\n</smartLicense>\n"


# ---------------------------------------------------------------------------------------------- codes

_ALNUM = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"


def _code_chars(seed: str, n: int) -> str:
    digest = int.from_bytes(hashlib.sha256(seed.encode()).digest(), "big")
    out = []
    for _ in range(n):
        digest, r = divmod(digest, len(_ALNUM))
        out.append(_ALNUM[r])
        if digest < len(_ALNUM):
            digest = int.from_bytes(hashlib.sha256((seed + "".join(out)).encode()).digest(), "big")
    return "".join(out)


def grouped_code(seed: str, groups: int, last: int) -> str:
    """`CrMfaJ-9odPW7-…-gud`: `groups` groups of 6 characters and a last group of `last`."""
    chars = _code_chars(seed, groups * 6 + last)
    parts = [chars[i * 6:(i + 1) * 6] for i in range(groups)] + [chars[groups * 6:]]
    return "-".join(parts)


def confirmation_code(seed: str) -> str:
    """8 lowercase hex digits, as `Last Confirmation code: 5fd33d79`."""
    return hashlib.sha256(seed.encode()).hexdigest()[:8]


def plr_request_code(pid: str, sn: str, nonce: str) -> str:
    """`DB-ZC8000V:96QKIABBZ1H-AYk3ndtp6-F1` (L9255)."""
    return f"DB-Z{pid}:{sn}-{_code_chars(nonce + pid + sn, 9)}-{_code_chars(nonce, 2)}"


def plr_authorization_code(request_code: str) -> str:
    """The 58-character version-3 PLR code CSSM issues for a request code: `D` + 5, then 7 groups of 6 and
    a final group of 2 (`DA3Ks9-WM4yzT-…-z6`, L9439); the final group checks the rest and the request."""
    chars = _code_chars("plr:" + request_code, 47)
    body = "-".join(["D" + chars[:5]] + [chars[5 + i * 6:11 + i * 6] for i in range(7)])
    return f"{body}-{plr_check(body, request_code)}"


def plr_check(body: str, request_code: str) -> str:
    return _code_chars(body + "|" + request_code, 2)


PLR_CODE_RE = re.compile(r"^D[A-Za-z0-9]{5}(-[A-Za-z0-9]{6}){7}-[A-Za-z0-9]{2}$")


def build_ack(*, key: Ed25519PrivateKey, pid: str, sn: str, timestamp_ms: int, acknowledgements: list[dict],
              account: dict | None, transaction_id: str, policy: dict | None = None,
              subscriptions: dict | None = None, extra_elements: list[str] = ()) -> str:
    """An ACK; `extra_elements` are further signed elements it carries (trust codes, SLACs)."""
    data = {"type": "rum_ack", "version": "1.0", "timestamp": timestamp_ms, "udi": {"pid": pid, "sn": sn},
            "acknowledgements": acknowledgements, "transaction_id": transaction_id}
    if account:
        data["account"] = account
    if subscriptions:
        data["subscriptions"] = subscriptions
    parts = ["<smartLicense>", signed_element("smartLicenseRumAck", data, key)]
    if policy is not None:
        parts.append(signed_element("smartLicensePolicy", policy, key))
    parts.extend(extra_elements)
    parts.append("</smartLicense>")
    return "\n".join(parts) + "\n"


def policy_data(name: str, timestamp_ms: int, groups: dict[str, dict[str, int]],
                ack_required: bool | None = True) -> dict:
    data = {"type": "policy", "name": name, "timestamp": timestamp_ms, "groups": groups}
    if ack_required is not None:
        data["ack_required"] = ack_required
    return data


def build_policy_file(key: Ed25519PrivateKey, data: dict) -> str:
    return signed_element("smartLicensePolicy", data, key) + "\n"
