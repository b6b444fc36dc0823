"""`copy` between the device flash and network servers (TFTP, FTP, HTTP(S), SCP) as IOS XE does it, and the
file commands automation uses around it: `dir <fs>:/<file>` and `verify /md5`.

The transfers use well-kept client libraries (tftpy, ftplib, requests, paramiko with the `scp` package),
each bounded by a timeout; a host name in a URL is looked up in the device's `ip host` table first. Output
follows IOS: the prompts (`Address or name of remote host [..]?`, `Destination filename [..]?`, user name and
password for SCP/FTP when the URL has none), a `!` per block transferred, the byte counts, and
`%Error opening <url> (<reason>)` on failure. A URL may carry a port (`tftp://127.0.0.1:6969/x`), which lets
tests and labs use unprivileged servers.

`https:` verifies the server as IOS XE's HTTPS client does, before any request is sent: the certificate chain
the server presents must end at a CA certificate `crypto pki authenticate` installed in a trustpoint (the one
`ip http client secure-trustpoint` names, if any), be valid at the device's clock and name the URL's host
(`engine.netconfig.check_server_certificate`). A refused server is `%Error opening <url> (I/O error)`, the
line IOS prints for a failed HTTP(S) transfer, with IOS's %PKI-3-CERTIFICATE_INVALID_* syslog when the chain
itself fails (sources in docs/security.md).
"""

from __future__ import annotations

import base64
import ftplib
import hashlib
import http.client
import io
import ipaddress
import logging
import os
import socket
import ssl
import tempfile
import time
from dataclasses import dataclass
from datetime import datetime, timezone
from urllib.parse import quote, unquote, urlsplit

from ...engine.flash import MAX_FILE_BYTES, FlashError
from ...engine.netconfig import CertificateRejected, check_server_certificate, resolve

SCHEMES = ("tftp", "ftp", "http", "https", "scp", "sftp")
DEFAULT_PORTS = {"tftp": 69, "ftp": 21, "http": 80, "https": 443, "scp": 22, "sftp": 22}
TIMEOUT = 10.0
TFTP_TIMEOUT = 3.0                            # seconds per TFTP packet (tftpy retries a few times)
BLOCK = 4096                                  # one `!` per block


class CopyError(Exception):
    """A transfer failed: the text is the `%Error ...` line IOS prints."""


class CertificateRefused(Exception):
    """The HTTPS server's certificate did not pass the device's verification."""

    def __init__(self, rejection: CertificateRejected):
        super().__init__(rejection.reason)
        self.rejection = rejection


@dataclass
class Remote:
    scheme: str
    host: str
    port: int
    path: str                                  # without the leading "/"
    user: str | None = None
    password: str | None = None

    def url(self) -> str:
        auth = f"{self.user}@" if self.user else ""
        port = f":{self.port}" if self.port != DEFAULT_PORTS[self.scheme] else ""
        return f"{self.scheme}://{auth}{self.host}{port}/{self.path}"


def is_remote(text: str) -> bool:
    return text.split(":", 1)[0].lower() in SCHEMES and ":" in text


def parse_remote(text: str) -> Remote:
    scheme = text.split(":", 1)[0].lower()
    rest = text[len(scheme) + 1:]
    if not rest.startswith("//"):
        return Remote(scheme, "", DEFAULT_PORTS[scheme], rest.lstrip("/"))
    try:
        parts = urlsplit(scheme + ":" + rest)
        port = parts.port or DEFAULT_PORTS[scheme]
    except ValueError:
        raise CopyError(f"%Error parsing filename ({text})") from None
    return Remote(scheme, parts.hostname or "", port, unquote(parts.path.lstrip("/")),
                  unquote(parts.username) if parts.username else None,
                  unquote(parts.password) if parts.password else None)


def _bangs(size: int) -> str:
    return "!" * max(1, -(-size // BLOCK))


def _rate(size: int, secs: float) -> str:
    secs = max(secs, 0.001)
    return f"{size} bytes copied in {secs:.3f} secs ({int(size / secs)} bytes/sec)"


# ====================================================================== the `copy` command
def copy(ctx, src: str, dst: str, running_config) -> str:
    """`copy <src> <dst>` where one side is a network URL. `running_config(ctx)` renders the running
    configuration when it is the source."""
    device = ctx.device
    flash = device.flash
    logging.getLogger("tftpy").setLevel(logging.WARNING)
    if is_remote(src) and is_remote(dst):
        raise CopyError("%Error: copying between two network servers is not supported")
    if is_remote(dst):
        remote = parse_remote(dst)
        if src.lower() in ("running-config", "system:running-config", "startup-config", "nvram:startup-config"):
            data = running_config(ctx).split("\n", 3)[3].encode()
            default_name = f"{device.hostname.lower()}-confg"
        else:
            try:
                data = flash.read(src)
            except FlashError as exc:
                raise CopyError(str(exc)) from None
            default_name = flash.parse(src).name.split("/")[-1]
        return _upload(ctx, remote, data, default_name)
    remote = parse_remote(src)
    return _download(ctx, remote, dst)


def _ask_host(ctx, remote: Remote) -> None:
    answer = ctx.ask(f"Address or name of remote host [{remote.host}]? ", default=remote.host)
    if answer is None:
        raise CopyError("%Error: copy aborted")
    remote.host = answer.strip()
    if not remote.host:
        raise CopyError("%Error parsing filename (remote host)")


def _address(ctx, remote: Remote) -> str:
    """The address to connect to: `ip host` first, then the system resolver."""
    snap = ctx.device.snapshot()
    mapped = resolve(snap.system, remote.host)
    if mapped:
        return mapped
    try:
        return socket.gethostbyname(remote.host)
    except OSError:
        raise CopyError(f"%Error opening {remote.url()} (Unknown host)") from None


def _credentials(ctx, remote: Remote, direction: str) -> None:
    if remote.scheme in ("scp", "sftp"):
        if not remote.user:
            remote.user = (ctx.ask(f"{direction} username [{ctx.session.ssh.username}]? ",
                                   default=ctx.session.ssh.username) or "").strip()
        if remote.password is None:
            remote.password = ctx.ask("Password: ", default="", secret=True) or ""


def _upload(ctx, remote: Remote, data: bytes, default_name: str) -> str:
    _ask_host(ctx, remote)
    if remote.scheme in ("scp", "sftp"):
        _credentials(ctx, remote, "Destination")
    answer = ctx.ask(f"Destination filename [{remote.path or default_name}]? ", default=remote.path or default_name)
    if answer is None:
        raise CopyError("%Error: copy aborted")
    remote.path = answer.strip().lstrip("/") or default_name
    address = _address(ctx, remote)
    start = time.monotonic()
    try:
        SENDERS[remote.scheme](remote, address, data, *_tls_check(ctx, remote))
    except CopyError:
        raise
    except Exception as exc:                   # the library's failure, told as IOS tells it
        raise CopyError(f"%Error opening {remote.url()} ({_reason(exc, upload=True)})") from None
    secs = time.monotonic() - start
    head = "Writing " + remote.path + " " if remote.scheme in ("scp", "ftp", "sftp") else ""
    return f"{head}{_bangs(len(data))}\n{_rate(len(data), secs)}\n"


def _download(ctx, remote: Remote, dst: str) -> str:
    flash = ctx.device.flash
    if not remote.host:
        _ask_host(ctx, remote)
        answer = ctx.ask(f"Source filename [{remote.path}]? ", default=remote.path)
        remote.path = (answer or "").strip().lstrip("/")
    if remote.scheme in ("scp", "sftp"):
        _credentials(ctx, remote, "Source")
    base = remote.path.rstrip("/").split("/")[-1].split(":")[-1]
    try:
        target = flash.parse(dst) if not dst.endswith(":") else None
        fs = target.filesystem if target else flash.parse(dst + "x").filesystem
    except FlashError as exc:
        raise CopyError(str(exc)) from None
    default = target.name if target else base
    answer = ctx.ask(f"Destination filename [{default}]? ", default=default)
    if answer is None:
        raise CopyError("%Error: copy aborted")
    name = answer.strip() or default
    try:
        dest = flash.parse(f"{fs}:{name}")
    except FlashError as exc:
        raise CopyError(str(exc)) from None
    address = _address(ctx, remote)
    lines = [f"Accessing {remote.url()}..."]
    start = time.monotonic()
    try:
        data = FETCHERS[remote.scheme](remote, address, *_tls_check(ctx, remote))
    except CopyError:
        raise
    except Exception as exc:
        raise CopyError("\n".join(lines) + f"\n%Error opening {remote.url()} ({_reason(exc)})") from None
    secs = time.monotonic() - start
    try:
        flash.write(str(dest), data)
    except FlashError as exc:
        raise CopyError(str(exc)) from None
    via = ctx.device.snapshot().system.tftp_source or "GigabitEthernet1"
    if remote.scheme == "tftp":
        lines.append(f"Loading {remote.path} from {address} (via {via}): {_bangs(len(data))}")
    elif remote.scheme in ("http", "https"):
        lines.append(f"Loading {remote.url()} {_bangs(len(data))}")
    elif remote.scheme == "ftp":
        lines.append(f"Loading {remote.path} {_bangs(len(data))}")
    else:
        lines.append(f" Sending file modes: C0644 {len(data)} {base}")
        lines.append(_bangs(len(data)))
    lines += [f"[OK - {len(data)} bytes]", "", _rate(len(data), secs)]
    return "\n".join(lines) + "\n"


def _tls_check(ctx, remote: Remote) -> tuple:
    """For `https:`, the check of the server's certificate chain the transfer makes right after the TLS
    handshake: the device's verdict at its clock, its PKI syslog logged when the chain fails."""
    if remote.scheme != "https":
        return ()
    device = ctx.device

    def check(chain: list[bytes]) -> None:
        rejected = check_server_certificate(device.snapshot().system, remote.host, chain, device.now())
        if rejected is not None:
            if rejected.syslog:
                device.log_message(*rejected.syslog)
            raise CertificateRefused(rejected)
    return (check,)


def _reason(exc: Exception, upload: bool = False) -> str:
    if isinstance(exc, (CertificateRefused, ssl.SSLError)):
        return "I/O error"
    text = str(exc).lower()
    if isinstance(exc, (socket.timeout, TimeoutError)) or "timed out" in text or "timed-out" in text \
            or "timeout" in text:
        return "Timed out"
    if isinstance(exc, ConnectionRefusedError) or "refused" in text:
        return "Connection refused by remote host"
    if "not found" in text or "no such file" in text or "404" in text or "550" in text:
        return "Permission denied" if upload else "No such file or directory"
    if "auth" in text or "login" in text or "530" in text or "401" in text or "403" in text:
        return "Permission denied"
    if "too large" in text:
        return "File too large"
    return "I/O error"


# ====================================================================== protocols
class _Bounded(io.BytesIO):
    def write(self, b) -> int:
        if self.tell() + len(b) > MAX_FILE_BYTES:
            raise ValueError("file too large")
        return super().write(b)


def _tftp_get(remote: Remote, address: str) -> bytes:
    import tftpy
    buf = _Bounded()
    tftpy.TftpClient(address, remote.port).download(remote.path, buf, timeout=TFTP_TIMEOUT)
    return buf.getvalue()


def _tftp_put(remote: Remote, address: str, data: bytes) -> None:
    import tftpy
    tftpy.TftpClient(address, remote.port).upload(remote.path, io.BytesIO(data), timeout=TFTP_TIMEOUT)


def _ftp_session(remote: Remote, address: str) -> ftplib.FTP:
    ftp = ftplib.FTP()
    ftp.connect(address, remote.port, timeout=TIMEOUT)
    ftp.login(remote.user or "anonymous", remote.password or "")
    return ftp


def _ftp_get(remote: Remote, address: str) -> bytes:
    buf = _Bounded()
    with _ftp_session(remote, address) as ftp:
        ftp.retrbinary(f"RETR {remote.path}", buf.write)
    return buf.getvalue()


def _ftp_put(remote: Remote, address: str, data: bytes) -> None:
    with _ftp_session(remote, address) as ftp:
        ftp.storbinary(f"STOR {remote.path}", io.BytesIO(data))


def _http_url(remote: Remote, address: str) -> str:
    return f"{remote.scheme}://{address}:{remote.port}/{remote.path}"


def _session():
    import requests
    s = requests.Session()
    s.trust_env = False
    return s


def _http_get(remote: Remote, address: str) -> bytes:
    auth = (remote.user, remote.password or "") if remote.user else None
    with _session() as s:
        resp = s.get(_http_url(remote, address), auth=auth, timeout=TIMEOUT, stream=True,
                     headers={"Host": remote.host})
        if resp.status_code != 200:
            raise OSError(f"HTTP {resp.status_code}" + (" not found" if resp.status_code == 404 else ""))
        buf = _Bounded()
        for chunk in resp.iter_content(65536):
            buf.write(chunk)
        return buf.getvalue()


def _http_put(remote: Remote, address: str, data: bytes) -> None:
    auth = (remote.user, remote.password or "") if remote.user else None
    with _session() as s:
        resp = s.put(_http_url(remote, address), data=data, auth=auth, timeout=TIMEOUT,
                     headers={"Host": remote.host, "Content-Type": "application/octet-stream"})
        if resp.status_code not in (200, 201, 204):
            raise OSError(f"HTTP {resp.status_code}")


def _peer_chain(sock: ssl.SSLSocket) -> list[bytes]:
    """DER of the certificates the server sent, its own first: Python 3.13's `get_unverified_chain()`, the
    same call of the socket's _ssl object before it, else the server's certificate alone."""
    getter = getattr(sock, "get_unverified_chain", None) or getattr(getattr(sock, "_sslobj", None),
                                                                    "get_unverified_chain", None)
    if getter is not None:
        try:
            import _ssl
            return [c if isinstance(c, bytes) else c.public_bytes(_ssl.ENCODING_DER) for c in (getter() or [])]
        except (AttributeError, ValueError, ssl.SSLError):
            pass
    leaf = sock.getpeercert(binary_form=True)
    return [leaf] if leaf else []


def _https_connect(remote: Remote, address: str, check) -> http.client.HTTPConnection:
    """An HTTP connection over TLS to a server `check` accepted; nothing is sent before it has. OpenSSL only
    carries the handshake: the device's own check decides (its trustpoints, its clock, the URL's host)."""
    tls = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    tls.check_hostname = False
    tls.verify_mode = ssl.CERT_NONE
    tls.minimum_version = ssl.TLSVersion.TLSv1_2
    try:
        ipaddress.ip_address(remote.host)
        sni = None
    except ValueError:
        sni = remote.host
    raw = socket.create_connection((address, remote.port), timeout=TIMEOUT)
    try:
        sock = tls.wrap_socket(raw, server_hostname=sni)
    except BaseException:
        raw.close()
        raise
    try:
        check(_peer_chain(sock))
    except BaseException:
        sock.close()
        raise
    conn = http.client.HTTPConnection(address, remote.port, timeout=TIMEOUT)
    conn.sock = sock
    return conn


def _https_headers(remote: Remote) -> dict:
    headers = {"Host": remote.host, "Connection": "close"}
    if remote.user:
        token = base64.b64encode(f"{remote.user}:{remote.password or ''}".encode()).decode()
        headers["Authorization"] = f"Basic {token}"
    return headers


def _https_get(remote: Remote, address: str, check) -> bytes:
    conn = _https_connect(remote, address, check)
    try:
        conn.request("GET", "/" + quote(remote.path, safe="/:@"), headers=_https_headers(remote))
        resp = conn.getresponse()
        if resp.status != 200:
            raise OSError(f"HTTP {resp.status}" + (" not found" if resp.status == 404 else ""))
        buf = _Bounded()
        while chunk := resp.read(65536):
            buf.write(chunk)
        return buf.getvalue()
    finally:
        conn.close()


def _https_put(remote: Remote, address: str, data: bytes, check) -> None:
    conn = _https_connect(remote, address, check)
    try:
        conn.request("PUT", "/" + quote(remote.path, safe="/:@"), body=data,
                     headers={**_https_headers(remote), "Content-Type": "application/octet-stream"})
        resp = conn.getresponse()
        resp.read()
        if resp.status not in (200, 201, 204):
            raise OSError(f"HTTP {resp.status}")
    finally:
        conn.close()


def _ssh(remote: Remote, address: str):
    import paramiko
    client = paramiko.SSHClient()
    client.set_missing_host_key_policy(paramiko.AutoAddPolicy())
    client.connect(address, remote.port, remote.user or "", remote.password or "", look_for_keys=False,
                   allow_agent=False, timeout=TIMEOUT, banner_timeout=TIMEOUT, auth_timeout=TIMEOUT)
    return client


def _scp_get(remote: Remote, address: str) -> bytes:
    from scp import SCPClient
    client = _ssh(remote, address)
    try:
        with tempfile.TemporaryDirectory() as tmp, SCPClient(client.get_transport(), socket_timeout=TIMEOUT) as scp:
            local = os.path.join(tmp, "file")
            scp.get(remote.path, local)
            if os.path.getsize(local) > MAX_FILE_BYTES:
                raise ValueError("file too large")
            with open(local, "rb") as f:
                return f.read()
    finally:
        client.close()


def _scp_put(remote: Remote, address: str, data: bytes) -> None:
    from scp import SCPClient
    client = _ssh(remote, address)
    try:
        with SCPClient(client.get_transport(), socket_timeout=TIMEOUT) as scp:
            scp.putfo(io.BytesIO(data), remote.path)
    finally:
        client.close()


FETCHERS = {"tftp": _tftp_get, "ftp": _ftp_get, "http": _http_get, "https": _https_get, "scp": _scp_get,
            "sftp": _scp_get}
SENDERS = {"tftp": _tftp_put, "ftp": _ftp_put, "http": _http_put, "https": _https_put, "scp": _scp_put,
           "sftp": _scp_put}


# ====================================================================== dir <file>, verify /md5
def dir_file(flash, fs: str, name: str) -> str:
    """`dir bootflash:/<file>`: that one file, or IOS's error when it is absent."""
    shown = f"{fs}:/{name}"
    try:
        local = flash.local(f"{fs}:{name}")
    except FlashError:
        raise CopyError(f"%Error opening {shown} (No such file or directory)") from None
    if not local.is_file():
        raise CopyError(f"%Error opening {shown} (No such file or directory)")
    st = local.stat()
    usage = flash.usage(fs)
    stamp = datetime.fromtimestamp(st.st_mtime, tz=timezone.utc).strftime("%b %d %Y %H:%M:%S")
    return (f"Directory of {shown}\n\n"
            f"{st.st_ino % 1000000:>6}  -rw- {st.st_size:>14}  {stamp} +00:00  {name}\n\n"
            f"{usage.total} bytes total ({usage.free} bytes free)\n")


def verify_md5(flash, path: str, expected: str | None = None) -> str:
    """`verify /md5 <file> [<md5>]` as IOS prints it (netmiko reads the `= <md5>` at the end)."""
    shown = path if ":" in path else f"bootflash:{path}"
    try:
        data = flash.read(path)
    except FlashError:
        raise CopyError(f"%Error opening {shown} (No such file or directory)") from None
    digest = hashlib.md5(data).hexdigest()
    dots = "." * max(1, min(64, len(data) // 65536 + 1))
    if expected is None:
        return f"{dots}Done!\nverify /md5 ({shown}) = {digest}\n\n"
    if expected.lower() == digest:
        return f"{dots}Done!\nVerified ({shown}) = {digest}\n\n"
    return (f"{dots}Done!\n%Error verifying {shown}\nComputed signature   = {digest}\n"
            f"Submitted signature  = {expected.lower()}\n\n")
