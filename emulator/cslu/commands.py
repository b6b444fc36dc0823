"""`slpemu cslu …`: run CSLU / SSM On-Prem as a service, and drive a running one (device list, collect,
deliver, export, import) over its administration API."""

from __future__ import annotations

import base64
import json
import urllib.error
import urllib.request
from pathlib import Path

import click
import yaml


@click.group("cslu")
def cslu() -> None:
    """Cisco Smart License Utility (and SSM On-Prem) as a service, and its tools."""


def _tenant(value: str, default_sa: str) -> tuple[str, tuple[str, str]]:
    name, sep, account = value.partition("=")
    if not name:
        raise click.BadParameter(f"--tenant takes NAME or NAME=SMART_ACCOUNT/VIRTUAL_ACCOUNT, not {value!r}")
    if not sep:
        return name, (default_sa, name)
    sa, slash, va = account.partition("/")
    if not slash or not sa or not va:
        raise click.BadParameter(f"--tenant takes NAME=SMART_ACCOUNT/VIRTUAL_ACCOUNT, not {value!r}")
    return name, (sa, va)


def load_devices(path: str) -> list[dict]:
    try:
        raw = yaml.safe_load(Path(path).read_text()) or {}
    except (OSError, yaml.YAMLError) as exc:
        raise click.ClickException(f"cannot read the device list {path}: {exc}") from None
    devices = raw.get("devices") if isinstance(raw, dict) else raw
    if not isinstance(devices, list) or not all(isinstance(d, dict) and d.get("name") and d.get("host")
                                                for d in devices):
        raise click.ClickException("the device list is `devices: [{name, host, method, port, file_port, "
                                   "username, password, tenant}]`")
    return devices


@cslu.command("serve")
@click.option("--state-dir", default="./slpemu-cslu-state", show_default=True, type=click.Path(file_okay=False),
              help="Where the service keeps its state (cslu.db, SQLite).")
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option("--port", default=8182, show_default=True, type=click.IntRange(0, 65535),
              help="Port (8182 is the only port CSLU uses, L9005-9008; 0: any free port).")
@click.option("--tls", is_flag=True, help="Serve HTTPS (SSM On-Prem) with --tls-cert/--tls-key or a self-signed "
                                         "certificate kept in the state dir as cslu-cert.pem.")
@click.option("--hostname", default=None, help="Host name in the certificate and printed URLs (default: --host).")
@click.option("--tls-cert", default=None, type=click.Path(dir_okay=False, exists=True), help="PEM certificate.")
@click.option("--tls-key", default=None, type=click.Path(dir_okay=False, exists=True), help="Its PEM private key.")
@click.option("--cssm-url", default=None,
              help="Connected mode: base URL of CSSM's Smart Licensing REST API, e.g. https://127.0.0.1:8444/"
                   "services/api/smart-accounts-and-licensing (without it: disconnected, use export/import).")
@click.option("--cssm-token-url", default=None,
              help="OAuth2 token endpoint (default: the --cssm-url host's /as/token.oauth2).")
@click.option("--cssm-client-id", default="slpemu", show_default=True, help="API client id at CSSM.")
@click.option("--cssm-client-secret", default="slpemu-secret", show_default=True, help="API client secret.")
@click.option("--cssm-ca", default=None, type=click.Path(dir_okay=False, exists=True),
              help="PEM certificate(s) to trust for CSSM's HTTPS (e.g. its state dir's cssm-cert.pem).")
@click.option("--cssm-insecure", is_flag=True, help="Do not verify CSSM's certificate.")
@click.option("--smart-account", default="Eg-SA", show_default=True,
              help="Smart account (name or domain) reports go to.")
@click.option("--virtual-account", default="Eg-VA", show_default=True, help="Virtual account reports go to.")
@click.option("--onprem", is_flag=True,
              help="SSM On-Prem: devices use https://HOST/cslu/v1/pi/<tenant>-1 of a --tenant local account.")
@click.option("--tenant", "tenants", multiple=True,
              help="A local account (On-Prem tenant): NAME (virtual account NAME of --smart-account) or "
                   "NAME=SMART_ACCOUNT/VIRTUAL_ACCOUNT; repeat. Its CSLU Transport URL ends in /cslu/v1/pi/NAME-1.")
@click.option("--devices", "devices_file", default=None, type=click.Path(dir_okay=False, exists=True),
              help="YAML device list for CSLU-initiated collection: devices: [{name, host, method: rest|restconf|"
                   "netconf, port, file_port (SSH/SFTP, restconf/netconf), username, password, tenant}].")
@click.option("--admin-user", default="admin", show_default=True, help="User of the /api/v1 administration API.")
@click.option("--admin-password", default="admin", show_default=True, help="Its password.")
def serve(state_dir, host, port, tls, hostname, tls_cert, tls_key, cssm_url, cssm_token_url, cssm_client_id,
          cssm_client_secret, cssm_ca, cssm_insecure, smart_account, virtual_account, onprem, tenants, devices_file,
          admin_user, admin_password) -> None:
    """Run CSLU (or SSM On-Prem with --onprem) until interrupted: the product-instance receiver at
    /cslu/v1/pi, CSLU-initiated collection from a device list (native REST, RESTCONF, NETCONF), connected to
    a CSSM service over its REST API or disconnected (offline bundle export/import), and a web page at /."""
    from ..cli_services import _url_host
    from ..runtime import wait_for_stop
    from . import pull, start_cslu
    from .core import CsluService, transport_id
    from .cssm_client import CssmClient

    client = None
    if cssm_url:
        client = CssmClient(cssm_url, client_id=cssm_client_id, client_secret=cssm_client_secret,
                            smart_account=smart_account, virtual_account=virtual_account, token_url=cssm_token_url,
                            ca_file=cssm_ca, verify=not cssm_insecure)
    tenant_map = dict(_tenant(t, smart_account) for t in tenants)
    try:
        svc = CsluService(state_dir, cssm=client, onprem=onprem, tenants=tenant_map)
        for d in (load_devices(devices_file) if devices_file else []):
            svc.add_device(pull.Target(name=str(d["name"]), host=str(d["host"]), method=str(d.get("method", "rest")),
                                       port=d.get("port"), username=str(d.get("username", "admin")),
                                       password=str(d.get("password", "admin")), file_port=d.get("file_port")),
                           str(d.get("tenant") or ""))
        server = start_cslu(svc, host=host, port=port, tls=tls or bool(tls_cert), hostname=hostname, cert=tls_cert,
                            key=tls_key, admin_user=admin_user, admin_password=admin_password)
    except Exception as exc:
        raise click.ClickException(str(exc)) from None
    scheme = "https" if server.tls else "http"
    base = f"{scheme}://{_url_host(hostname or host)}:{server.port}"
    click.echo(f"slpemu {'SSM On-Prem' if onprem else 'CSLU'} on {server.url}, state in {Path(state_dir).resolve()}")
    if onprem:
        for name in tenant_map or {}:
            click.echo(f"  devices ({name}): license smart url cslu {base}/cslu/v1/pi/{transport_id(name)}")
    else:
        click.echo(f"  devices:   license smart url cslu {base}/cslu/v1/pi")
    click.echo(f"  CSSM:      {'connected to ' + cssm_url if cssm_url else 'disconnected (export / import bundles)'}")
    click.echo(f"  web page:  {base}/   administration: {base}/api/v1/")
    click.echo("Press Ctrl+C to stop.")
    try:
        wait_for_stop()
    finally:
        server.stop()
        svc.close()


# ---------------------------------------------------------------------------------------------- driving a running CSLU

def _url_option(f):
    f = click.option("--password", default="admin", show_default=True, help="Administration password.")(f)
    f = click.option("--user", default="admin", show_default=True, help="Administration user.")(f)
    return click.option("--url", default="http://127.0.0.1:8182", show_default=True,
                        help="The running CSLU service (`slpemu cslu serve`).")(f)


def _call(url: str, user: str, password: str, method: str, path: str, body: bytes | None = None,
          content_type: str = "application/json") -> tuple[bytes, dict]:
    import ssl
    auth = base64.b64encode(f"{user}:{password}".encode()).decode()
    headers = {"Authorization": f"Basic {auth}"}
    if body is not None:
        headers["Content-Type"] = content_type
    req = urllib.request.Request(url.rstrip("/") + path, data=body, method=method, headers=headers)
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    try:
        with urllib.request.urlopen(req, timeout=120, context=ctx) as resp:
            return resp.read(), dict(resp.headers)
    except urllib.error.HTTPError as exc:
        data = exc.read()
        try:
            message = json.loads(data).get("message")
        except (ValueError, AttributeError):
            message = data[:200].decode(errors="replace")
        raise click.ClickException(f"CSLU answered HTTP {exc.code}: {message}") from None
    except (urllib.error.URLError, OSError) as exc:
        raise click.ClickException(f"cannot reach CSLU at {url}: {getattr(exc, 'reason', exc)}") from None


@cslu.group("device")
def device() -> None:
    """The device list of CSLU-initiated collection."""


@device.command("add")
@click.argument("name")
@click.option("--host", required=True, help="The device's management address.")
@click.option("--method", type=click.Choice(["rest", "restconf", "netconf"]), default="rest", show_default=True,
              help="How CSLU reaches it: native REST (HTTPS, Basic auth), RESTCONF or NETCONF.")
@click.option("--port", type=click.IntRange(1, 65535), default=None,
              help="Its HTTPS (rest, restconf) or NETCONF port (default 443 / 830).")
@click.option("--file-port", type=click.IntRange(1, 65535), default=None,
              help="Its SSH port for SFTP (restconf, netconf; default 22).")
@click.option("--username", default="admin", show_default=True, help="Privilege-15 user on the device.")
@click.option("--device-password", default="admin", show_default=True, help="Its password.")
@click.option("--tenant", default="", help="Local account (SSM On-Prem).")
@_url_option
def device_add(name, host, method, port, file_port, username, device_password, tenant, url, user, password) -> None:
    """Add (or change) a device of the list."""
    body = {"name": name, "host": host, "method": method, "port": port, "file_port": file_port,
            "username": username, "password": device_password, "tenant": tenant}
    _call(url, user, password, "POST", "/api/v1/devices", json.dumps(body).encode())
    click.echo(f"Added {name}")


@device.command("remove")
@click.argument("name")
@_url_option
def device_remove(name, url, user, password) -> None:
    """Remove a device from the list."""
    _call(url, user, password, "DELETE", f"/api/v1/devices/{urllib.request.quote(name, safe='')}")
    click.echo(f"Removed {name}")


@device.command("list")
@_url_option
def device_list(url, user, password) -> None:
    """List the devices."""
    data, _ = _call(url, user, password, "GET", "/api/v1/devices")
    for d in json.loads(data)["devices"]:
        click.echo(f"{d['name']}\t{d['method']}\t{d['host']}:{d['port'] or '-'}\t{d['udi'] or '-'}")


@cslu.command("collect")
@click.option("--device", "names", multiple=True, help="Only these devices (repeat; default: all).")
@_url_option
def collect(names, url, user, password) -> None:
    """Collect usage from the devices of the list (and relay it to CSSM when connected)."""
    data, _ = _call(url, user, password, "POST", "/api/v1/collect", json.dumps({"devices": list(names) or None}).encode())
    for r in json.loads(data)["results"]:
        click.echo(f"{r['device']}: " + (f"error: {r['error']}" if "error" in r else f"{r['reports']} report(s)"))


@cslu.command("deliver")
@click.option("--device", "names", multiple=True, help="Only these devices (repeat; default: all).")
@_url_option
def deliver(names, url, user, password) -> None:
    """Install the ACKs that are ready on the devices of the list."""
    data, _ = _call(url, user, password, "POST", "/api/v1/deliver", json.dumps({"devices": list(names) or None}).encode())
    for r in json.loads(data)["results"]:
        click.echo(f"{r['device']}: " + (f"error: {r['error']}" if "error" in r else r["message"]))


@cslu.command("export")
@click.option("--out", "out_dir", default=".", show_default=True, type=click.Path(file_okay=False),
              help="Directory to write the upload bundle (UD_SA_<ts>.tar.gz) to.")
@_url_option
def export(out_dir, url, user, password) -> None:
    """Download All For Cisco: the offline upload bundle of the usage not yet sent to CSSM."""
    data, headers = _call(url, user, password, "GET", "/api/v1/export")
    disposition = headers.get("Content-Disposition", "")
    name = disposition.split("filename=")[-1].strip('"') if "filename=" in disposition else "UD_SA.tar.gz"
    path = Path(out_dir) / Path(name).name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    click.echo(str(path))


@cslu.command("import")
@click.argument("bundle", type=click.Path(dir_okay=False, exists=True))
@_url_option
def import_(bundle, url, user, password) -> None:
    """Upload From Cisco: CSSM's ACK bundle, delivered on the devices' next contact or `deliver`."""
    data, _ = _call(url, user, password, "POST", "/api/v1/import", Path(bundle).read_bytes(), "application/gzip")
    click.echo(f"Imported {json.loads(data)['acks']} ACK(s)")
