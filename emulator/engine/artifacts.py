"""Signed licensing artefacts exchanged between the device and CSSM: their wire formats, signing and checks.

RUM reports are signed as real devices sign them (interfaces.md §C.4; the real report in
`spec/captures/RUMReport__c9800-17.09.02.xml`): `"signing_type": "builtin"`, `"key"` = the software id tag
of the product, `"value"` = a 32-byte keyed digest (HMAC-SHA256, base64: 44 characters) of the exact UTF-8
bytes of the `payload` string, under a built-in key per software tag that every emulated device and the
emulator's CSSM share. CSSM therefore verifies the reports of a device it has never seen, and a single
changed payload byte fails verification.

Usage file (what `license smart save usage ... file <path>` writes; the reports a pull returns are the same
envelopes)::

    <smartLicense>
    <RUMReport>
    <![CDATA[{
      "payload": "<JSON text>",
      "signature": {"sudi": {...}, "signing_type": "builtin", "key": "<software tag>", "value": "<44 chars>"}
    }]]>
    </RUMReport>
    ...
    <smartLicenseTrustRequest> ... </smartLicenseTrustRequest>          (17.7.1+, no usable trust code)
    <smartLicenseAuthorizationRequest> ... </smartLicenseAuthorizationRequest>   (17.7.1+, one pending)
    <PrivacyInfo><![CDATA[{"udi": ..., "hostname": ..., "software_version": ...}]]></PrivacyInfo>  (17.9.1+)
    </smartLicense>

Before 17.7.1 (the old RUM format, R65) the envelope also carries `"header": {"type": "rum"}` between
`payload` and `signature`, and the payload keeps `report_id` in `meta` and its own signature inside
`asset_identification` (a real 17.6.2 report, gve-sw README); from 17.7.1 the payload is version "2.0" as in
the 17.9.2 capture and the envelope has no header.

The requests a device signs itself (trust request, SLAC request, SLAC return) and the documents CSSM signs
(ACK, policy, trust code, SLAC) share one shape: a `data` element holding JSON text and a `signature`
element with the base64 Ed25519 signature and the signer's key id; a device request carries the device's
public key in its data, CSSM's documents verify against the device's configured CSSM trust anchor::

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

A collector pulling over the native API (`/smartlic-service/all-reports`) gets the device's pending requests
as further members of the `usage` list, so that a collector that copies every member into `<RUMReport>`
elements (Cisco's sample client does) carries them to CSSM: `{"payload": "<the request's data text>",
"header": {"type": "trust_request" | "authorization_request"}, "signature": {"sudi": {...},
"signing_type": "device", "key": "<key id>", "value": "<its Ed25519 signature>"}}`.
"""

from __future__ import annotations

import base64
import functools
import hashlib
import json
import re
from dataclasses import dataclass
from importlib import resources

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, hmac, serialization
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

# The built-in secret every emulated device and the emulator's CSSM share; the key of a software tag is
# derived from it, as a real CSSM knows the built-in key of each Cisco product.
_BUILTIN_SECRET = bytes.fromhex("b6a4c2d31827719eab1343cb28cb22c49b8f3105a08fddb6484858d9b1947abe")
BUILTIN_SIGNATURE_LENGTH = 44            # base64 of a 32-byte digest


@functools.lru_cache(maxsize=256)
def builtin_key(software_tag: str) -> bytes:
    mac = hmac.HMAC(_BUILTIN_SECRET, hashes.SHA256())
    mac.update(b"slpemu builtin rum key|" + software_tag.encode("utf-8"))
    return mac.finalize()


def builtin_digest(software_tag: str, text: str) -> str:
    """The builtin signature value of `text`: base64 of HMAC-SHA256 under the tag's built-in key."""
    mac = hmac.HMAC(builtin_key(software_tag), hashes.SHA256())
    mac.update(text.encode("utf-8"))
    return base64.b64encode(mac.finalize()).decode()


def builtin_verify(software_tag: str, text: str, value: str) -> bool:
    try:
        digest = base64.b64decode(value, validate=True)
    except (ValueError, TypeError):
        return False
    mac = hmac.HMAC(builtin_key(software_tag), hashes.SHA256())
    mac.update(text.encode("utf-8"))
    try:
        mac.verify(digest)
        return True
    except InvalidSignature:
        return False


@dataclass(frozen=True)
class RumEnvelope:
    """One member of a usage file or pull: a signed RUM report, or (with a request `header` type) a
    device request carried the same way."""
    payload: str
    signature: dict
    header: dict | None = None

    def to_json(self) -> str:
        return _envelope_json(self.payload, json.dumps(self.signature),
                              None if self.header is None else json.dumps(self.header))

    def to_dict(self) -> dict:
        return json.loads(self.to_json())

    @property
    def kind(self) -> str:
        """"rum", or the request type of a request carried in a pull (REQUEST_ITEM_TYPES)."""
        kind = self.header.get("type") if isinstance(self.header, dict) else None
        return kind if isinstance(kind, str) and kind else "rum"

    @property
    def payload_obj(self) -> dict:
        return json.loads(self.payload)

    @property
    def report_id(self) -> int:
        obj = self.payload_obj
        rid = obj.get("asset_identification", {}).get("report_id")
        if rid is None:                       # the pre-17.7.1 format keeps it in meta
            rid = obj["meta"]["report_id"]
        if isinstance(rid, bool):
            raise ValueError("report_id is not a number")
        return int(rid)


def build_rum_payload(*, report_id: int, software_tag: str, pid: str, sn: str, entitlement_tag: str,
                      software_version: str | None, utility_enabled: bool, ha_udi: list[dict],
                      measurements: list[dict], new_format: bool = True) -> str:
    """The payload text of a report: version 2.0 (17.7.1+, the 17.9.2 capture) or the earlier format."""
    inner = {"signing_type": "builtin", "key": software_tag,
             "value": builtin_digest(software_tag, dumps(measurements))}
    if not new_format:
        meta = {"entitlement_tag": entitlement_tag, "report_id": report_id}
        if software_version is not None:
            meta["software_version"] = software_version
        meta["ha_udi"] = ha_udi
        return dumps({"asset_identification": {"asset": {"name": software_tag},
                                               "instance": {"sudi": sudi(pid, sn)}, "signature": inner},
                      "meta": meta, "measurements": measurements})
    meta = {"entitlement_tag": entitlement_tag, "utility_enabled": utility_enabled}
    if software_version is not None:
        meta["software_version"] = software_version
    meta["ha_udi"] = ha_udi
    payload = {
        "version": "2.0",
        "asset_identification": {"report_id": report_id, "asset": {"name": software_tag},
                                 "instance": {"sudi": sudi(pid, sn)}},
        "signature": inner,
        "meta": meta,
        "measurements": measurements,
    }
    return dumps(payload)


def sign_rum_payload(payload: str, *, pid: str, sn: str, software_tag: str) -> dict:
    """The envelope's signature of a report, members in the order of real reports."""
    return {"sudi": sudi(pid, sn), "signing_type": "builtin", "key": software_tag,
            "value": builtin_digest(software_tag, payload)}


@functools.lru_cache(maxsize=8192)
def _envelope_json(payload: str, signature: str, header: str | None) -> str:
    """An envelope's text. Indented JSON is written by json's pure-Python encoder, and a device that cannot
    deliver sends its unreported reports again at every retry: each report's text is made once."""
    body = {"payload": payload}
    if header is not None:
        body["header"] = json.loads(header)
    body["signature"] = json.loads(signature)
    return json.dumps(body, indent=2)


def rum_envelope(payload: str, signature: dict) -> RumEnvelope:
    """The envelope of a stored report: the old format (no `version` in the payload) has a header."""
    header = None if payload.startswith('{"version":') else {"type": "rum"}
    return RumEnvelope(payload=payload, signature=signature, header=header)


def check_rum_signature(env: RumEnvelope) -> tuple[str, str]:
    """(pid, sn) of a report whose builtin signature verifies; ArtifactError when anything is off."""
    sig = env.signature if isinstance(env.signature, dict) else {}
    try:
        payload = env.payload_obj
        ident = payload["asset_identification"]
        tag = ident["asset"]["name"]
        instance = ident["instance"]["sudi"]
    except (ValueError, KeyError, TypeError, AttributeError):
        raise ArtifactError("a RUM report payload is malformed") from None
    if (sig.get("signing_type") != "builtin" or sig.get("key") != tag or not isinstance(sig.get("sudi"), dict)
            or sig["sudi"] != instance or not isinstance(sig.get("value"), str)
            or not builtin_verify(str(tag), env.payload, sig["value"])):
        raise ArtifactError("a RUM report signature does not verify", "verifysignaturefailed")
    return str(instance.get("udi_pid")), str(instance.get("udi_serial_number"))


# Device requests as members of a pulled `usage` list (see the module docstring).
REQUEST_ITEM_TYPES = {"smartLicenseTrustRequest": "trust_request",
                      "smartLicenseAuthorizationRequest": "authorization_request"}
_ITEM_TAGS = {v: k for k, v in REQUEST_ITEM_TYPES.items()}


def request_envelope(doc: "SignedDocument", pid: str, sn: str) -> RumEnvelope:
    return RumEnvelope(payload=doc.text, header={"type": REQUEST_ITEM_TYPES[doc.tag]},
                       signature={"sudi": sudi(pid, sn), "signing_type": "device", "key": doc.key_id,
                                  "value": doc.signature})


def envelope_request(env: RumEnvelope) -> "SignedDocument":
    tag = _ITEM_TAGS.get(env.kind)
    sig = env.signature if isinstance(env.signature, dict) else {}
    try:
        data = json.loads(env.payload)
    except (ValueError, TypeError):
        data = None
    if tag is None or not isinstance(data, dict) or not isinstance(sig.get("value"), str):
        raise ArtifactError(f"malformed {env.kind} member")
    return SignedDocument(tag, data, env.payload, sig["value"], sig.get("key"))


def usage_file(envelopes: list[RumEnvelope], *, privacy_info: dict | None = None, requests: list[str] = ()) -> str:
    """The text of a saved usage file; `requests` are signed request elements (trust, authorization)."""
    parts = ["<smartLicense>"]
    for env in envelopes:
        parts.append(f"<RUMReport>\n<![CDATA[{env.to_json()}]]>\n</RUMReport>")
    parts.extend(requests)
    if privacy_info is not None:
        parts.append(f"<PrivacyInfo><![CDATA[{dumps(privacy_info)}]]></PrivacyInfo>")
    parts.append("</smartLicense>")
    return "\n".join(parts) + "\n"


@dataclass
class ParsedUsage:
    envelopes: list[RumEnvelope]
    privacy: list[dict]
    requests: list["SignedDocument"]


def parse_usage(text: str | bytes) -> ParsedUsage:
    """A usage file, or a collector's file of `<RUMReport>` members (Cisco's sample client writes every
    member of a pull into one, requests included)."""
    root = _parse(text)
    if root.tag != "smartLicense":
        raise ArtifactError(f"not a usage file (root element {root.tag})")
    envelopes, privacy, requests = [], [], []
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
                header = obj.get("header")
                env = RumEnvelope(payload=obj["payload"], signature=obj["signature"],
                                  header=header if isinstance(header, dict) else None)
                if not isinstance(env.payload, str):
                    raise TypeError("payload is not a string")
                if env.kind == "rum":
                    envelopes.append(env)
                else:
                    requests.append(envelope_request(env))
            elif child.tag == "PrivacyInfo":
                privacy.append(json.loads(body))
            else:
                raise ArtifactError(f"unexpected element {child.tag} in a usage file")
        except (json.JSONDecodeError, KeyError, TypeError, AttributeError) as exc:
            raise ArtifactError(f"malformed {child.tag}: {exc}") from exc
    if not envelopes and not requests and not privacy:
        raise ArtifactError("the file holds no usage data")
    return ParsedUsage(envelopes, privacy, requests)


# ---------------------------------------------------------------------------------------------- signed documents

def signed_document(tag: str, data: dict, key: Ed25519PrivateKey) -> "SignedDocument":
    text = dumps(data)
    return SignedDocument(tag, data, text, sign_text(key, text), key_id(key.public_key()))


def signed_element(tag: str, data: dict, key: Ed25519PrivateKey) -> str:
    return signed_document(tag, data, key).to_xml()


@dataclass(frozen=True)
class SignedDocument:
    tag: str
    data: dict
    text: str
    signature: str
    key_id: str | None

    def verify(self, key: Ed25519PublicKey) -> bool:
        return verify_text(key, self.text, self.signature)

    def to_xml(self) -> str:
        kid = f' keyId="{self.key_id}"' if self.key_id else ""
        return (f"<{self.tag}>\n  <data><![CDATA[{self.text}]]></data>\n"
                f'  <signature{kid} algorithm="ed25519">{self.signature}</signature>\n</{self.tag}>')


def _parse(text: str | bytes) -> etree._Element:
    try:
        return parse_xml(text)
    except UnsafeXmlError as exc:
        raise ArtifactError(str(exc)) from exc
    except etree.XMLSyntaxError as exc:
        raise ArtifactError(f"malformed XML: {exc}") from exc


def parse_xml_root(text: str | bytes) -> etree._Element:
    """The root element of an artefact, parsed with the project's safe XML settings (ArtifactError)."""
    return _parse(text)


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
