"""The IOS configuration around licensing that the guide's procedures enter (network reachability, HTTP
server and client, AAA, PKI trustpoint, Call Home, NTP, VRFs, interfaces): frozen records held by
`SystemSettings` (engine/state.py) and set only through `Device.configure(system=...)`.

Every record checks its own values (`check()` raises DeviceError with the router's message); the engine
calls it before anything changes. What the emulator does with them: `resolve()` maps a host name of an
outbound URL through the `ip host` table (`cslu-local`, `cslu-local.<domain>`, L1402-1412),
`exec_privilege()` applies `aaa new-model` / `aaa authorization exec` to a login's privilege level, and
`check_server_certificate()` is the HTTPS client's verdict on a server (`copy https:`): its chain against the
CA certificates `crypto pki authenticate` installed (`ip http client secure-trustpoint` picks one trustpoint),
its validity at the device's clock, and the host name or address of the URL."""

from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Optional
from urllib.parse import urlsplit, urlunsplit

from .errors import DeviceError

_NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.\-]{0,62}$")
_IFNAME_RE = re.compile(r"^[A-Za-z][A-Za-z\-]*[0-9][0-9/.:]*$")
# IOS interface types, by the lowercase prefix a user may type (the longest match wins).
INTERFACE_TYPES = ("GigabitEthernet", "TenGigabitEthernet", "TwentyFiveGigE", "FortyGigabitEthernet",
                   "HundredGigE", "FastEthernet", "Ethernet", "Loopback", "Vlan", "Tunnel", "Port-channel",
                   "VirtualPortGroup", "BDI", "Dialer", "Cellular", "Serial")
_IF_ABBREV = {"gi": "GigabitEthernet", "gig": "GigabitEthernet", "g": "GigabitEthernet", "te": "TenGigabitEthernet",
              "fa": "FastEthernet", "lo": "Loopback", "vl": "Vlan", "tu": "Tunnel", "po": "Port-channel",
              "eth": "Ethernet", "e": "Ethernet", "vp": "VirtualPortGroup"}


def check_ipv4(text: str, what: str = "IP address") -> str:
    try:
        return str(ipaddress.IPv4Address(text))
    except (ValueError, TypeError):
        raise DeviceError(f"% Invalid {what}: {text}") from None


def check_mask(text: str) -> str:
    mask = check_ipv4(text, "subnet mask")
    bits = int(ipaddress.IPv4Address(mask))
    if bits and (~bits & 0xFFFFFFFF) & ((~bits & 0xFFFFFFFF) + 1):
        raise DeviceError(f"% Bad mask 0x{bits:X} for address")
    return mask


def check_host(text: str, what: str = "host") -> str:
    """An IPv4 address or a host name."""
    if isinstance(text, str) and re.fullmatch(r"[0-9.]+", text):
        return check_ipv4(text, what)
    if not isinstance(text, str) or not re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9.\-]{0,252}", text):
        raise DeviceError(f"% Invalid {what}: {text}")
    return text


def check_word(text, what: str, limit: int = 63) -> str:
    if not isinstance(text, str) or not _NAME_RE.match(text) or len(text) > limit:
        raise DeviceError(f"% Invalid {what}: {text}")
    return text


def interface_name(text: str) -> str:
    """The IOS spelling of an interface name: `gigabitethernet0/0` → `GigabitEthernet0/0`,
    `GigabitEthernet 0/0/0` (two tokens joined by the caller) → `GigabitEthernet0/0/0`, `vlan100` → `Vlan100`."""
    text = (text or "").replace(" ", "")
    m = re.match(r"^([A-Za-z\-]+)([0-9].*)$", text)
    if not m or not _IFNAME_RE.match(text):
        raise DeviceError(f"% Invalid interface name: {text}")
    word, number = m.group(1).lower(), m.group(2)
    full = next((t for t in INTERFACE_TYPES if t.lower() == word), None)
    if full is None:
        full = _IF_ABBREV.get(word)
    if full is None:
        matches = [t for t in INTERFACE_TYPES if t.lower().startswith(word)]
        if len(matches) != 1:
            raise DeviceError(f"% Invalid interface type and number: {text}")
        full = matches[0]
    return full + number


@dataclass(frozen=True)
class NameServers:
    servers: tuple[str, ...]
    vrf: Optional[str] = None

    def check(self) -> None:
        if not 1 <= len(self.servers) <= 6:
            raise DeviceError("% Up to six name servers can be configured")
        for s in self.servers:
            check_ipv4(s, "name server address")
        if self.vrf is not None:
            check_word(self.vrf, "VRF name", 32)


@dataclass(frozen=True)
class HostEntry:
    name: str
    address: str
    vrf: Optional[str] = None

    def check(self) -> None:
        check_host(self.name, "host name")
        check_ipv4(self.address)
        if self.vrf is not None:
            check_word(self.vrf, "VRF name", 32)


@dataclass(frozen=True)
class DomainName:
    name: str
    vrf: Optional[str] = None

    def check(self) -> None:
        check_host(self.name, "domain name")
        if self.vrf is not None:
            check_word(self.vrf, "VRF name", 32)


@dataclass(frozen=True)
class Route:
    prefix: str
    mask: str
    next_hop: str
    vrf: Optional[str] = None

    def check(self) -> None:
        check_ipv4(self.prefix)
        check_mask(self.mask)
        if not re.match(r"^[0-9.]+$", self.next_hop):
            interface_name(self.next_hop)
        else:
            check_ipv4(self.next_hop, "next hop")
        if self.vrf is not None:
            check_word(self.vrf, "VRF name", 32)


@dataclass(frozen=True)
class VrfDefinition:
    name: str
    rd: Optional[str] = None
    ipv4: bool = False
    ipv6: bool = False

    def check(self) -> None:
        check_word(self.name, "VRF name", 32)
        if self.rd is not None and not re.fullmatch(r"[0-9.]+:[0-9]+", self.rd):
            raise DeviceError(f"% Invalid route distinguisher {self.rd}")


@dataclass(frozen=True)
class Interface:
    name: str
    description: Optional[str] = None
    vrf: Optional[str] = None
    address: Optional[tuple[str, str]] = None
    shutdown: bool = False
    negotiation_auto: bool = False

    def check(self) -> None:
        if interface_name(self.name) != self.name:
            raise DeviceError(f"% Invalid interface name: {self.name}")
        if self.description is not None and (not isinstance(self.description, str)
                                             or not 1 <= len(self.description) <= 240):
            raise DeviceError("% Invalid description")
        if self.vrf is not None:
            check_word(self.vrf, "VRF name", 32)
        if self.address is not None:
            check_ipv4(self.address[0])
            check_mask(self.address[1])


@dataclass(frozen=True)
class NtpServer:
    address: str
    vrf: Optional[str] = None
    version: Optional[int] = None
    prefer: bool = False

    def check(self) -> None:
        check_host(self.address, "NTP server")
        if self.version is not None and self.version not in (1, 2, 3, 4):
            raise DeviceError("% Invalid NTP version")
        if self.vrf is not None:
            check_word(self.vrf, "VRF name", 32)


@dataclass(frozen=True)
class LoggingHost:
    address: str
    vrf: Optional[str] = None

    def check(self) -> None:
        check_host(self.address, "logging host")
        if self.vrf is not None:
            check_word(self.vrf, "VRF name", 32)


@dataclass(frozen=True)
class Trustpoint:
    name: str
    enrollment_terminal: bool = False
    revocation_check: Optional[str] = None        # none | crl | ocsp
    ca_fingerprint: Optional[str] = None          # MD5 of the CA certificate `crypto pki authenticate` took
    ca_subject: Optional[str] = None
    ca_certificate: Optional[str] = None          # that CA certificate (PEM): what the HTTPS client trusts

    def check(self) -> None:
        check_word(self.name, "trustpoint name", 64)
        if self.revocation_check not in (None, "none", "crl", "ocsp"):
            raise DeviceError(f"% Invalid revocation check method {self.revocation_check}")
        if self.ca_certificate is not None:
            load_pem_certificate(self.ca_certificate)


def load_pem_certificate(text):
    """The X.509 certificate of a PEM text, or IOS's refusal of a certificate it cannot read."""
    from cryptography import x509
    try:
        if not isinstance(text, str) or len(text) > 65536:
            raise ValueError(text)
        return x509.load_pem_x509_certificate(text.encode())
    except ValueError:
        raise DeviceError("% Error in receiving Certificate\n% Certificate not in the correct format") from None


@dataclass(frozen=True)
class CallHomeProfile:
    name: str
    active: bool = True
    http: bool = False                           # destination transport-method http
    email: bool = True                           # destination transport-method email (the default)
    http_addresses: tuple[str, ...] = ()

    def check(self) -> None:
        check_word(self.name, "profile name", 31)
        for url in self.http_addresses:
            parts = urlsplit(url)
            if parts.scheme not in ("http", "https") or not parts.hostname:
                raise DeviceError(f"% Invalid URL {url}")


@dataclass(frozen=True)
class CallHome:
    contact_email: Optional[str] = None
    http_proxy: Optional[tuple[str, int]] = None
    profiles: tuple[CallHomeProfile, ...] = ()

    def check(self) -> None:
        if self.contact_email is not None and not re.fullmatch(r"[^\s@]{1,64}@[^\s@]{1,190}", self.contact_email):
            raise DeviceError(f"% Invalid email address {self.contact_email}")
        if self.http_proxy is not None:
            check_host(self.http_proxy[0], "proxy address")
            if not 1 <= self.http_proxy[1] <= 65535:
                raise DeviceError("% Invalid proxy port")
        names = [p.name for p in self.profiles]
        if len(set(names)) != len(names):
            raise DeviceError("% Duplicate Call Home profile")
        for p in self.profiles:
            p.check()

    def profile(self, name: str) -> Optional[CallHomeProfile]:
        return next((p for p in self.profiles if p.name == name), None)


# ---------------------------------------------------------------------------------------------- effects
def resolve(system, host: str, vrf: Optional[str] = None) -> Optional[str]:
    """The address `ip host` maps `host` to (in `vrf`, else the global table), also trying
    `host.<ip domain name>` for an unqualified name (DNS discovery of `cslu-local.<domain>`, L1410);
    None when the static table does not know it."""
    tables = [vrf, None] if vrf else [None]
    names = [host.lower()]
    if "." not in host:
        for d in system.domain_names:
            if d.vrf in tables:
                names.append(f"{host.lower()}.{d.name.lower()}")
    for table in tables:
        for name in names:
            for entry in system.hosts:
                if entry.vrf == table and entry.name.lower() == name:
                    return entry.address
    return None


def resolve_url(system, url: str, vrf: Optional[str] = None) -> str:
    """`url` with its host name replaced by the `ip host` mapping, when there is one."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return url
    host = parts.hostname
    if not host:
        return url
    address = resolve(system, host, vrf)
    if address is None:
        return url
    netloc = address + (f":{parts.port}" if parts.port else "")
    if parts.username:
        netloc = f"{parts.username}{':' + parts.password if parts.password else ''}@{netloc}"
    return urlunsplit((parts.scheme, netloc, parts.path, parts.query, parts.fragment))


def exec_privilege(system, level: int) -> int:
    """The privilege level an EXEC login gets: the user's own level, except that under `aaa new-model` only
    `aaa authorization exec default local` hands it out (without it a login lands at level 1)."""
    if system.aaa_new_model and system.aaa_authorization_exec != "default local":
        return min(level, 1)
    return level


# ---------------------------------------------------------------------------------------------- HTTPS client
@dataclass(frozen=True)
class CertificateRejected:
    """Why the HTTPS client refuses a server; `syslog` is the (facility, severity, mnemonic, text) IOS's PKI
    logs for a chain that fails validation (none for a name that does not match)."""
    reason: str
    syslog: Optional[tuple[str, int, str, str]] = None


# The texts of IOS XE's PKI messages. %PKI-3-CERTIFICATE_INVALID_EXPIRED and _NOT_YET_VALID as devices print
# them ("Certificate chain validation has failed. The certificate (SN: 1DF9761C0000001C9621) has expired.
# Validity period ended on 11:53:58 UTC Jun 1 2025"; "... The certificate (SN: 3E) is not yet valid Validity
# period starts on 00:51:51 UTC Feb 23 2026": public lab notes found by the code search of issue 12, see
# docs/security.md). _UNAUTHORIZED, the same family's message for a chain that ends at no trusted CA, was found
# in no source searched: its text is an assumption.
_CHAIN_FAILED = "Certificate chain validation has failed."
UNAUTHORIZED = CertificateRejected("no trusted CA certificate issued the server's certificate",
                                   ("PKI", 3, "CERTIFICATE_INVALID_UNAUTHORIZED", f"{_CHAIN_FAILED} Unauthorized"))


def https_client_anchors(system) -> tuple[str, ...]:
    """The CA certificates (PEM) the HTTPS client verifies servers against: that of the trustpoint
    `ip http client secure-trustpoint` names, else those of every trustpoint `crypto pki authenticate`
    gave a CA certificate. (IOS XE also trusts its built-in PKI trustpool of Cisco's CAs: not emulated.)"""
    points = system.trustpoints
    if system.http_client_trustpoint is not None:
        points = tuple(t for t in points if t.name == system.http_client_trustpoint)
    return tuple(t.ca_certificate for t in points if t.ca_certificate)


def _ios_time(moment: datetime) -> str:
    return f"{moment:%H:%M:%S} UTC {moment:%b} {moment.day} {moment.year}"


def check_server_certificate(system, host: str, chain: list[bytes], now: float) -> Optional[CertificateRejected]:
    """None if the HTTPS client accepts a server whose TLS handshake presented `chain` (DER, the server's
    certificate first) for a URL naming `host`, at the device's time `now`: the server's certificate is valid
    then, chains (through the certificates the server sent) to a CA certificate of `https_client_anchors()`,
    and names `host` (an IP address in an iPAddress subjectAltName, a host name in a dNSName one, `*.` for
    one label; the common name when there is no subjectAltName). Else why not."""
    from cryptography import x509
    from cryptography.x509 import verification

    try:
        certs = [x509.load_der_x509_certificate(der) for der in chain]
        anchors = [load_pem_certificate(text) for text in https_client_anchors(system)]
    except (ValueError, TypeError, DeviceError):
        return UNAUTHORIZED
    if not certs or not anchors:
        return UNAUTHORIZED
    leaf = certs[0]
    at = datetime.fromtimestamp(now, timezone.utc)
    serial = f"{leaf.serial_number:X}"
    if at < leaf.not_valid_before_utc:
        return CertificateRejected("the server's certificate is not yet valid", (
            "PKI", 3, "CERTIFICATE_INVALID_NOT_YET_VALID", f"{_CHAIN_FAILED} The certificate (SN: {serial}) is not "
            f"yet valid Validity period starts on {_ios_time(leaf.not_valid_before_utc)}"))
    if at > leaf.not_valid_after_utc:
        return CertificateRejected("the server's certificate has expired", (
            "PKI", 3, "CERTIFICATE_INVALID_EXPIRED", f"{_CHAIN_FAILED} The certificate (SN: {serial}) has expired. "
            f"Validity period ended on {_ios_time(leaf.not_valid_after_utc)}"))
    policy = verification.ExtensionPolicy
    verifier = (verification.PolicyBuilder().store(verification.Store(anchors)).time(at)
                .extension_policies(ca_policy=policy.webpki_defaults_ca(), ee_policy=policy.permit_all())
                .build_client_verifier())
    try:
        verifier.verify(leaf, certs[1:])
    except verification.VerificationError:
        return UNAUTHORIZED
    if not _names_host(leaf, host):
        return CertificateRejected(f"the server's certificate does not name {host}")
    return None


def _names_host(cert, host: str) -> bool:
    from cryptography import x509
    from cryptography.x509.oid import NameOID
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        address = None
    try:
        san = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    except x509.ExtensionNotFound:
        names = [a.value for a in cert.subject.get_attributes_for_oid(NameOID.COMMON_NAME)]
        return any(n == str(address) if address is not None else _dns_match(n, host) for n in names)
    if address is not None:
        return address in san.get_values_for_type(x509.IPAddress)
    return any(_dns_match(n, host) for n in san.get_values_for_type(x509.DNSName))


def _dns_match(pattern, host: str) -> bool:
    if not isinstance(pattern, str):
        return False
    pattern, host = pattern.lower().rstrip("."), host.lower().rstrip(".")
    if pattern.startswith("*."):
        first, _, rest = host.partition(".")
        return bool(first) and rest == pattern[2:] and "*" not in rest
    return pattern == host
