"""The HTTPS server's certificate: a self-signed one generated into the state directory on first start
(kept across restarts, so clients that pinned it keep working), or a certificate and key the user gives."""

from __future__ import annotations

import datetime
import ipaddress
import os
import ssl
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

CERT_NAME = "restconf-cert.pem"
KEY_NAME = "restconf-key.pem"
VALID_DAYS = 3650


def ensure_certificate(state_dir: str | Path, *, hostname: str = "Router", host: str = "127.0.0.1",
                       cert: str | Path | None = None, key: str | Path | None = None) -> tuple[Path, Path]:
    """(certificate path, key path): the given pair, else the pair in `state_dir`, created if missing."""
    if cert or key:
        if not (cert and key):
            raise ValueError("a TLS certificate needs its key, and a key its certificate")
        cert, key = Path(cert), Path(key)
        for path in (cert, key):
            if not path.is_file():
                raise FileNotFoundError(f"{path} does not exist")
        check_pair(cert, key)
        return cert, key
    state_dir = Path(state_dir)
    cert_path, key_path = state_dir / CERT_NAME, state_dir / KEY_NAME
    if cert_path.is_file() and key_path.is_file():
        return cert_path, key_path
    state_dir.mkdir(parents=True, exist_ok=True)
    cert_pem, key_pem = self_signed(hostname, host)
    _write(key_path, key_pem, 0o600)
    _write(cert_path, cert_pem, 0o644)
    return cert_path, key_path


def check_pair(cert: str | Path, key: str | Path) -> None:
    """ValueError with a one-line reason unless `cert` is a PEM certificate and `key` its unencrypted PEM
    private key, loadable by the TLS server."""
    cert, key = Path(cert), Path(key)
    try:
        certificate = x509.load_pem_x509_certificate(cert.read_bytes())
    except (OSError, ValueError) as exc:
        raise ValueError(f"{cert} is not a PEM certificate ({_reason(exc)})") from None
    try:
        private = serialization.load_pem_private_key(key.read_bytes(), password=None)
    except TypeError:
        raise ValueError(f"{key} is an encrypted private key; give an unencrypted one") from None
    except (OSError, ValueError) as exc:
        raise ValueError(f"{key} is not a PEM private key ({_reason(exc)})") from None
    public = serialization.PublicFormat.SubjectPublicKeyInfo
    if (private.public_key().public_bytes(serialization.Encoding.DER, public)
            != certificate.public_key().public_bytes(serialization.Encoding.DER, public)):
        raise ValueError(f"the private key {key} does not belong to the certificate {cert}")
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    try:
        context.load_cert_chain(str(cert), str(key))
    except (ssl.SSLError, OSError) as exc:
        raise ValueError(f"the TLS server cannot use {cert} with {key} ({_reason(exc)})") from None


def _reason(exc: Exception) -> str:
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    return text[:200]


def self_signed(hostname: str, host: str) -> tuple[bytes, bytes]:
    """A P-256 self-signed certificate for the device (CN = hostname; SANs: localhost, 127.0.0.1, host)."""
    private = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, hostname),
                      x509.NameAttribute(NameOID.ORGANIZATION_NAME, "slpemu")])
    sans: list[x509.GeneralName] = [x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]
    try:
        addr = ipaddress.ip_address(host)
        if addr != ipaddress.ip_address("127.0.0.1") and not addr.is_unspecified:
            sans.append(x509.IPAddress(addr))
    except ValueError:
        if host and host != "localhost":
            sans.append(x509.DNSName(host))
    now = datetime.datetime.now(datetime.timezone.utc)
    certificate = (x509.CertificateBuilder()
                   .subject_name(name).issuer_name(name)
                   .public_key(private.public_key())
                   .serial_number(x509.random_serial_number())
                   .not_valid_before(now - datetime.timedelta(days=1))
                   .not_valid_after(now + datetime.timedelta(days=VALID_DAYS))
                   .add_extension(x509.SubjectAlternativeName(sans), critical=False)
                   .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
                   .sign(private, hashes.SHA256()))
    key_pem = private.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                    serialization.NoEncryption())
    return certificate.public_bytes(serialization.Encoding.PEM), key_pem


def _write(path: Path, data: bytes, mode: int) -> None:
    tmp = path.with_name(path.name + ".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, mode)
    with os.fdopen(fd, "wb") as f:
        f.write(data)
    os.replace(tmp, path)
