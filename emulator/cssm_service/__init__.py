"""`slpemu cssm serve`: CSSM as an HTTPS service (Flask under cheroot, TLS), with its own state in SQLite
under its own state directory and the issuing code of `emulator.cssm`.

    svc = CssmService("cssm-state", delay=0)
    server = start_cssm(svc, host="127.0.0.1", port=8444)
    server.url            # https://127.0.0.1:8444
    server.stop()
"""

from __future__ import annotations

from pathlib import Path

from ..frontends.restconf.server import WsgiServer
from ..frontends.restconf.tls import _write
from .app import DEFAULT_BASE_PATH, DEFAULT_TOKEN_PATH, create_app
from .core import AccountsConfig, ApiError, CssmService

__all__ = ["AccountsConfig", "ApiError", "CssmService", "create_app", "service_certificate", "start_cssm"]


def service_certificate(state_dir: str | Path, prefix: str, *, hostname: str, host: str,
                        cert: str | Path | None = None, key: str | Path | None = None) -> tuple[Path, Path]:
    """The service's TLS certificate: the given pair, else `<prefix>-cert.pem` / `<prefix>-key.pem` in the
    state directory, self-signed for `hostname` (and the listening address) on first start."""
    if cert or key:
        if not (cert and key):
            raise ValueError("a TLS certificate needs its key, and a key its certificate")
        return Path(cert), Path(key)
    state_dir = Path(state_dir)
    cert_path, key_path = state_dir / f"{prefix}-cert.pem", state_dir / f"{prefix}-key.pem"
    if not (cert_path.is_file() and key_path.is_file()):
        state_dir.mkdir(parents=True, exist_ok=True)
        cert_pem, key_pem = self_signed_for(hostname, [hostname, host])
        _write(key_path, key_pem, 0o600)
        _write(cert_path, cert_pem, 0o644)
    return cert_path, key_path


def start_cssm(svc: CssmService, *, host: str, port: int, hostname: str | None = None,
               base_path: str = DEFAULT_BASE_PATH, token_path: str = DEFAULT_TOKEN_PATH,
               cert: str | Path | None = None, key: str | Path | None = None, tls: bool = True) -> WsgiServer:
    app = create_app(svc, base_path=base_path, token_path=token_path)
    if not tls:
        return WsgiServer(app, host, port, name="slpemu-cssm").start()
    cert_path, key_path = service_certificate(svc.state_dir, "cssm", hostname=hostname or host, host=host,
                                              cert=cert, key=key)
    return WsgiServer(app, host, port, cert=cert_path, key=key_path, name="slpemu-cssm").start()


def self_signed_for(common_name: str, names: list[str]) -> tuple[bytes, bytes]:
    """A self-signed P-256 certificate valid for `names` (host names or addresses) plus localhost and
    127.0.0.1, usable as its own trust anchor (`--ca-file` of a client)."""
    import datetime
    import ipaddress

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    private = ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name[:64]),
                         x509.NameAttribute(NameOID.ORGANIZATION_NAME, "slpemu")])
    sans: list[x509.GeneralName] = []
    seen = set()
    for name in [*names, "localhost", "127.0.0.1"]:
        if not name or name in seen or name in ("0.0.0.0", "::"):
            continue
        seen.add(name)
        try:
            sans.append(x509.IPAddress(ipaddress.ip_address(name)))
        except ValueError:
            sans.append(x509.DNSName(name))
    now = datetime.datetime.now(datetime.timezone.utc)
    cert = (x509.CertificateBuilder().subject_name(subject).issuer_name(subject)
            .public_key(private.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(days=1)).not_valid_after(now + datetime.timedelta(days=3650))
            .add_extension(x509.SubjectAlternativeName(sans), critical=False)
            .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
            .sign(private, hashes.SHA256()))
    key_pem = private.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                    serialization.NoEncryption())
    return cert.public_bytes(serialization.Encoding.PEM), key_pem
