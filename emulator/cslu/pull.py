"""CSLU-initiated (pull) collection from product instances, the three ways CSLU and SSM On-Prem reach a
device (L465, L8439-8446):

- `rest` — the device's native SLP REST API over HTTPS with Basic auth, exactly as Cisco's sample client
  does it: `POST /smartlic-service/close-reports`, `GET /smartlic-service/all-reports` (the reports as
  JSON envelopes); the ACK goes back with `POST /smartlic-service/import`.
- `restconf` / `netconf` — the `cisco-smart-license` RPCs: `rum-save-usage-unreported` writes the usage
  file to the device's bootflash, fetched over SFTP on the device's SSH port; the ACK is put on bootflash
  over SFTP and installed with the `import-file` RPC (the Cisco DNA Center workflow, L600-637).

Each collector returns what it got: a list of report envelopes (rest) or a usage document (the others)."""

from __future__ import annotations

import base64
import json
import ssl
import time
import urllib.error
import urllib.request
from dataclasses import dataclass

import paramiko

METHODS = ("rest", "restconf", "netconf")
DEFAULT_PORTS = {"rest": 443, "restconf": 443, "netconf": 830}
TIMEOUT = 15.0
NS = "http://cisco.com/ns/yang/cisco-smart-license"


class PullError(Exception):
    pass


@dataclass
class Target:
    name: str
    host: str
    method: str = "rest"
    port: int | None = None
    username: str = "admin"
    password: str = "admin"
    file_port: int | None = None          # SSH port for SFTP (restconf/netconf); default 22

    @property
    def api_port(self) -> int:
        return self.port or DEFAULT_PORTS[self.method]


@dataclass
class Collected:
    envelopes: list[dict] | None = None   # rest
    document: str | None = None           # restconf / netconf


def _context() -> ssl.SSLContext:
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)        # devices present self-signed certificates
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    return ctx


def _http(target: Target, method: str, path: str, body: bytes | None = None,
          content_type: str = "application/json") -> tuple[int, bytes]:
    host = f"[{target.host}]" if ":" in target.host else target.host
    url = f"https://{host}:{target.api_port}{path}"
    auth = base64.b64encode(f"{target.username}:{target.password}".encode()).decode()
    headers = {"Authorization": f"Basic {auth}", "Accept": "application/json"}
    if body is not None:
        headers["Content-Type"] = content_type
    req = urllib.request.Request(url, data=body, method=method, headers=headers)
    try:
        with urllib.request.urlopen(req, timeout=TIMEOUT, context=_context()) as resp:
            return resp.status, resp.read()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read()
    except (urllib.error.URLError, OSError) as exc:
        raise PullError(f"{target.name}: cannot reach {url}: {getattr(exc, 'reason', exc)}") from None


# ---------------------------------------------------------------------------------------------- files over SFTP

def _sftp(target: Target):
    client = paramiko.SSHClient()
    client.set_missing_host_key_policy(paramiko.AutoAddPolicy())
    try:
        client.connect(target.host, port=target.file_port or 22, username=target.username,
                       password=target.password, timeout=TIMEOUT, allow_agent=False, look_for_keys=False)
        return client, client.open_sftp()
    except (paramiko.SSHException, OSError) as exc:
        client.close()
        raise PullError(f"{target.name}: SFTP to {target.host}:{target.file_port or 22} failed: {exc}") from None


def fetch_file(target: Target, name: str) -> str:
    client, sftp = _sftp(target)
    try:
        with sftp.open(f"/bootflash/{name}", "rb") as f:
            return f.read().decode("utf-8")
    except (OSError, paramiko.SSHException) as exc:
        raise PullError(f"{target.name}: cannot fetch bootflash:{name}: {exc}") from None
    finally:
        client.close()


def put_file(target: Target, name: str, text: str) -> None:
    client, sftp = _sftp(target)
    try:
        with sftp.open(f"/bootflash/{name}", "wb") as f:
            f.write(text.encode())
    except (OSError, paramiko.SSHException) as exc:
        raise PullError(f"{target.name}: cannot write bootflash:{name}: {exc}") from None
    finally:
        client.close()


# ---------------------------------------------------------------------------------------------- the methods

def collect(target: Target) -> Collected:
    if target.method == "rest":
        status, body = _http(target, "POST", "/smartlic-service/close-reports", b"{}")
        if status != 200:
            raise PullError(f"{target.name}: close-reports answered HTTP {status}: {body[:200]!r}")
        status, body = _http(target, "GET", "/smartlic-service/all-reports")
        if status != 200:
            raise PullError(f"{target.name}: all-reports answered HTTP {status}: {body[:200]!r}")
        try:
            usage = json.loads(body).get("usage")
        except (ValueError, AttributeError):
            usage = None
        if not isinstance(usage, list):
            raise PullError(f"{target.name}: all-reports did not answer a usage list")
        return Collected(envelopes=usage)
    name = f"cslu_usage_{int(time.time() * 1000)}.txt"
    rpc(target, "rum-save-usage-unreported", {"file-path": f"bootflash:{name}"})
    return Collected(document=fetch_file(target, name))


def deliver(target: Target, document: str) -> str:
    """Installs an ACK (or SLAC, policy) on the device; returns the device's message."""
    if target.method == "rest":
        status, body = _http(target, "POST", "/smartlic-service/import", document.encode(), "application/xml")
        try:
            obj = json.loads(body)
        except ValueError:
            obj = {}
        if status != 200:
            raise PullError(f"{target.name}: import answered HTTP {status}: {obj.get('message') or body[:200]!r}")
        return str(obj.get("message") or "Import Data Successful")
    name = f"cslu_ack_{int(time.time() * 1000)}.txt"
    put_file(target, name, document)
    rpc(target, "import-file", {"file-path": f"bootflash:{name}"})
    return "Import Data Successful"


def rpc(target: Target, name: str, data: dict) -> dict:
    if target.method == "restconf":
        body = json.dumps({"cisco-smart-license:input": data}).encode()
        status, answer = _http(target, "POST", f"/restconf/operations/cisco-smart-license:{name}", body,
                               "application/yang-data+json")
        if status not in (200, 204):
            raise PullError(f"{target.name}: RESTCONF {name} answered HTTP {status}: {answer[:300]!r}")
        out = json.loads(answer).get("cisco-smart-license:output", {}) if answer.strip() else {}
        code = out.get("return-code", "success")
        if code != "success":
            raise PullError(f"{target.name}: {name} returned {code}")
        return out
    return _netconf_rpc(target, name, data)


def _netconf_rpc(target: Target, name: str, data: dict) -> dict:
    from lxml import etree
    from ncclient import manager
    from ncclient.operations import RPCError

    inner = "".join(f"<{k}>{_xml_text(v)}</{k}>" for k, v in data.items())
    request = f'<{name} xmlns="{NS}">{inner}</{name}>'
    try:
        with manager.connect(host=target.host, port=target.api_port, username=target.username,
                             password=target.password, hostkey_verify=False, allow_agent=False,
                             look_for_keys=False, timeout=TIMEOUT, device_params={"name": "iosxe"}) as m:
            reply = m.dispatch(etree.fromstring(request))
    except RPCError as exc:
        raise PullError(f"{target.name}: NETCONF {name}: {exc}") from None
    except Exception as exc:                      # ncclient raises its own transport errors
        raise PullError(f"{target.name}: NETCONF to {target.host}:{target.api_port} failed: {exc}") from None
    root = etree.fromstring(reply.xml.encode())
    code = root.find(f".//{{{NS}}}return-code")
    if code is not None and code.text != "success":
        raise PullError(f"{target.name}: {name} returned {code.text}")
    return {}


def _xml_text(value) -> str:
    from xml.sax.saxutils import escape
    return escape(str(value).lower() if isinstance(value, bool) else str(value))
