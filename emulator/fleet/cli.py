"""`slpemu fleet …`: serve a fleet, control a running one, write inventories for the tools that drive it."""

from __future__ import annotations

import http.client
import json
import socket
import sys
import time
from pathlib import Path
from urllib.parse import urlparse

import click

from ..runtime import wait_for_stop

DEFAULT_STATE = "./slpemu-fleet"


# ============================================================================================== client
class _UnixConnection(http.client.HTTPConnection):
    def __init__(self, path: str, timeout: float):
        super().__init__("localhost", timeout=timeout)
        self._path = path

    def connect(self):
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        sock.settimeout(self.timeout)
        sock.connect(self._path)
        self.sock = sock


class ControlClient:
    """Talks to a running fleet: its local control socket (`<state dir>/control.sock`) or its management URL."""

    def __init__(self, state_dir: str | None = None, url: str | None = None, timeout: float = 30.0):
        self.state_dir, self.url, self.timeout = state_dir, url, timeout

    def _conn(self):
        if self.url:
            u = urlparse(self.url if "://" in self.url else f"http://{self.url}")
            return http.client.HTTPConnection(u.hostname, u.port or 80, timeout=self.timeout)
        path = Path(self.state_dir or DEFAULT_STATE) / "control.sock"
        if not path.exists():
            raise click.ClickException(f"no fleet is running on {path.parent} (no {path.name}); "
                                       "start one with `slpemu fleet serve` or give --url")
        return _UnixConnection(str(path), self.timeout)

    def request(self, method: str, path: str, body: dict | None = None) -> tuple[int, dict]:
        conn = self._conn()
        try:
            data = json.dumps(body).encode() if body is not None else None
            conn.request(method, path, body=data, headers={"Content-Type": "application/json"} if data else {})
            resp = conn.getresponse()
            raw = resp.read()
        except OSError as exc:
            raise click.ClickException(f"cannot reach the fleet: {exc}") from None
        finally:
            conn.close()
        try:
            return resp.status, json.loads(raw or b"{}")
        except ValueError:
            raise click.ClickException(f"the fleet answered {resp.status} with a body that is not JSON") from None

    def run(self, op: str, data: dict | None = None, progress_label: str | None = None, quiet: bool = False) -> dict:
        status, job = self.request("POST", "/api/jobs", {"op": op, "input": data or {}})
        if status != 202:
            raise click.ClickException(_error_text(job))
        bar = _Progress(progress_label or op, quiet=quiet)
        try:
            while True:
                status, job = self.request("GET", f"/api/jobs/{job['id']}")
                if status != 200:
                    raise click.ClickException(_error_text(job))
                bar.update(job["done"], job["total"])
                if job["state"] != "running":
                    break
                time.sleep(0.2)
        finally:
            bar.close()
        if job["state"] == "failed":
            raise click.ClickException(job["error"])
        return job["result"]


def _error_text(body: dict) -> str:
    try:
        return body["ietf-restconf:errors"]["error"][0]["error-message"]
    except (KeyError, IndexError, TypeError):
        return json.dumps(body)


class _Progress:
    """A rich progress bar on a terminal (nothing when quiet or not a terminal)."""

    def __init__(self, label: str, quiet: bool = False):
        self._progress = None
        self._task = None
        if quiet or not sys.stderr.isatty():
            return
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
        from rich.console import Console
        self._progress = Progress(TextColumn("[bold]{task.description}"), BarColumn(), MofNCompleteColumn(),
                                  TimeElapsedColumn(), console=Console(stderr=True), transient=False)
        self._progress.start()
        self._task = self._progress.add_task(label, total=None)

    def update(self, done: int, total: int, label: str | None = None) -> None:
        if self._progress is not None:
            kwargs = {"completed": done, "total": total or None}
            if label:
                kwargs["description"] = label
            self._progress.update(self._task, **kwargs)

    def close(self) -> None:
        if self._progress is not None:
            self._progress.stop()


def _client_options(fn):
    fn = click.option("--state-dir", default=DEFAULT_STATE, show_default=True,
                      type=click.Path(file_okay=False), help="State dir of the running fleet (its control socket).")(fn)
    fn = click.option("--url", default=None, help="Management URL of the fleet instead (http://127.1.255.254/).")(fn)
    fn = click.option("--quiet", "-q", is_flag=True, help="No progress bar.")(fn)
    return fn


def _devices_option(fn):
    return click.option("--devices", default=None, help="Comma-separated device ids (default: every device).")(fn)


# ============================================================================================== commands
@click.group("fleet")
def fleet() -> None:
    """Many emulated devices in one process, each at its own address; control and inventories."""


@fleet.command("serve")
@click.argument("inventory", required=False, type=click.Path(dir_okay=False))
@click.option("--count", type=int, default=None, help="Quick start: this many devices (no inventory file).")
@click.option("--platform-mix", default=None, help="With --count: e.g. C8000V:60,ISR4331/K9:30,C8300-1N1S-6T:10.")
@click.option("--release-mix", default=None, help="With --count: e.g. 17.12.1a:50,17.9.1a:30,17.6.1a:20.")
@click.option("--state-dir", default=DEFAULT_STATE, show_default=True, type=click.Path(file_okay=False))
@click.option("--port-base", type=int, default=None,
              help="Ports are 22/830/443 (+80 management) plus this (non-root: e.g. 20000).")
@click.option("--address-start", default=None, help="First device address (default 127.1.0.1).")
@click.option("--single-address", default=None,
              help="All devices on this one address, each with its own ports (from --port-start, 3 per device).")
@click.option("--port-start", type=int, default=None, help="With --single-address: first device's first port.")
@click.option("--management-address", default=None, help="Fleet page and control RPCs (default 127.1.255.254).")
@click.option("--management-port", type=int, default=None)
@click.option("--name", default=None, help="Fleet name (seeds generated serials).")
@click.option("--shard", default=None, help="Shard identity (seeds serials; e.g. the StatefulSet ordinal).")
@click.option("--user", default=None, help="Privilege-15 user on every device (default admin).")
@click.option("--password", default=None)
@click.option("--builtin-cssm", is_flag=True, default=None, help="Devices reach the bundled CSSM simulator.")
@click.option("--frozen-clock", is_flag=True, help="A new fleet starts with its clock frozen.")
@click.option("--max-loaded", type=int, default=5000, show_default=True, help="Devices kept in memory at most.")
@click.option("--idle-seconds", type=float, default=900.0, show_default=True,
              help="A device without connections this long goes back to the store.")
@click.option("--https-threads", type=int, default=16, show_default=True, help="HTTPS worker pool size.")
@click.option("--max-connections", type=int, default=1024, show_default=True, help="SSH connections at once, and HTTPS connections at once.")
@click.option("--workers", type=int, default=0, show_default=True,
              help="Processes for long clock advances (0: one per CPU when it pays; 1: in-process).")
@click.option("--quiet", "-q", is_flag=True, help="No progress bars.")
def serve(inventory, count, platform_mix, release_mix, state_dir, port_base, address_start, single_address, port_start,
          management_address, management_port, name, shard, user, password, builtin_cssm, frozen_clock, max_loaded,
          idle_seconds, https_threads, max_connections, workers, quiet) -> None:
    """Run a fleet from an INVENTORY file, or --count N devices, until interrupted."""
    import logging
    logging.basicConfig(level=logging.WARNING, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    # a client that drops its SSH connection before or during the handshake is not the fleet's error
    logging.getLogger("paramiko.transport").setLevel(logging.CRITICAL)
    from .inventory import InventoryError, load_inventory, quick_plan
    from .pool import FleetOptions
    from .service import FleetError, FleetService
    overrides = {"port_base": port_base, "address_start": address_start, "management_address": management_address,
                 "management_port": management_port, "name": name, "shard": shard, "port_start": port_start,
                 "builtin_cssm": builtin_cssm}
    if single_address:
        overrides.update(addressing="single-address", address=single_address)
    if user or password:
        overrides["users"] = {user or "admin": password or "admin"}
    try:
        if inventory and count:
            raise InventoryError("give an inventory file or --count, not both")
        if inventory:
            plan = load_inventory(inventory, **overrides)
        elif count:
            plan = quick_plan(count, platform_mix, release_mix, **overrides)
        else:
            raise InventoryError("give an inventory file or --count N")
    except InventoryError as exc:
        raise click.ClickException(str(exc)) from None
    options = FleetOptions(max_loaded=max_loaded, idle_seconds=idle_seconds, frozen_clock=frozen_clock,
                           workers=workers)
    service = FleetService(state_dir, plan, options, https_threads=https_threads, max_connections=max_connections)
    bar = _Progress("starting", quiet=quiet)
    labels = {"listen": "binding listeners", "devices": "opening devices"}
    t0 = time.monotonic()
    try:
        service.start(progress=lambda phase, done, total: bar.update(done, total, labels.get(phase, phase)))
    except (FleetError, InventoryError) as exc:
        bar.close()
        raise click.ClickException(str(exc)) from None
    bar.close()
    click.echo(f"slpemu fleet {plan.name}{' shard ' + plan.shard if plan.shard else ''}: started in "
               f"{time.monotonic() - t0:.1f} s, state in {Path(state_dir).resolve()}")
    for line in service.describe():
        click.echo(line)
    click.echo("Press Ctrl+C to stop.")
    try:
        wait_for_stop()
    finally:
        service.stop()


@fleet.command("status")
@_client_options
@click.option("--json", "as_json", is_flag=True)
def status(state_dir, url, quiet, as_json) -> None:
    """What the running fleet holds: devices, loaded devices, listeners, clock, memory."""
    st = ControlClient(state_dir, url).run("status", quiet=True)
    if as_json:
        click.echo(json.dumps(st, indent=1))
        return
    from .control import iso
    rss = f"{st['rss-bytes'] / 1e6:.0f} MB" if st.get("rss-bytes") else "?"
    click.echo(f"fleet {st['name']}{' shard ' + st['shard'] if st['shard'] else ''}: {st['devices']} devices, "
               f"{st['loaded']} loaded, {st['listeners']} listeners, clock {iso(st['clock']['now'])}"
               f"{' (frozen)' if st['clock']['frozen'] else ''}, {rss} resident, {st['threads']} threads")
    if st.get("management-url"):
        click.echo(f"fleet page: {st['management-url']}")


@fleet.command("list")
@_client_options
@_devices_option
@click.option("--json", "as_json", is_flag=True)
def list_devices(state_dir, url, quiet, devices, as_json) -> None:
    """The devices: address, PID, serial, release, licences in use, compliance, next ACK deadline."""
    result = ControlClient(state_dir, url).run("list", {"devices": devices} if devices else {}, quiet=True)
    rows = result["device"]
    if as_json:
        click.echo(json.dumps(rows, indent=1))
        return
    from rich.console import Console
    from rich.table import Table
    from .control import iso
    table = Table("hostname", "address", "PID", "SN", "release", "licences", "compliance", "next ACK deadline")
    for d in rows:
        table.add_row(d["hostname"], d["address"], d["pid"], d["sn"], d.get("release", ""),
                      str(d.get("licenses-in-use", "")), d.get("compliance", ""), iso(d.get("next-ack-deadline")))
    Console(width=200).print(table)


@fleet.command("add")
@_client_options
@click.option("--hostname", required=True)
@click.option("--platform", default=None)
@click.option("--release", default=None)
@click.option("--serial", default=None)
@click.option("--address", default=None)
def add(state_dir, url, quiet, hostname, platform, release, serial, address) -> None:
    """Add a device to the running fleet (it listens when this returns)."""
    fields = {k: v for k, v in {"hostname": hostname, "platform": platform, "release": release, "serial": serial,
                                "address": address}.items() if v is not None}
    d = ControlClient(state_dir, url).run("add", {"device": fields}, quiet=True)["device"][0]
    click.echo(f"added {d['hostname']} {d['pid']} {d['sn']} at {d['address']} "
               f"(ssh {d['ports']['ssh']}, netconf {d['ports']['netconf']}, https {d['ports']['https']})")


@fleet.command("remove")
@_client_options
@click.argument("device_id")
def remove(state_dir, url, quiet, device_id) -> None:
    """Remove a device from the running fleet (its state is deleted)."""
    r = ControlClient(state_dir, url).run("remove", {"id": device_id}, quiet=True)
    click.echo(f"removed {r['removed']} ({r['address']})")


@fleet.command("advance-clock")
@_client_options
@click.option("--days", type=float, default=None)
@click.option("--seconds", type=float, default=None)
@click.option("--step-days", type=float, default=None,
              help="Move the fleet in steps of this many days (every device finishes a step before the next).")
def advance_clock(state_dir, url, quiet, days, seconds, step_days) -> None:
    """Move every device's clock forward, running every due job in time order across the fleet."""
    if days is None and seconds is None:
        raise click.ClickException("give --days or --seconds")
    data = {"days": days or 0, "seconds": seconds or 0}
    if step_days:
        data["step-seconds"] = step_days * 86400
    r = ControlClient(state_dir, url).run("advance-clock", data, "advancing the fleet clock", quiet=quiet)
    from .control import iso
    click.echo(f"fleet clock now {iso(r['now'])}; {r['devices-run']} devices ran their jobs in {r['seconds']} s")


def _report(result: dict, what: str) -> None:
    click.echo(f"{what}: {result['devices'] - result['failed']} of {result['devices']} devices")
    for e in result["errors"]:
        click.echo(f"  {e['id']}: {e['error']}", err=True)
    if result["failed"]:
        sys.exit(1)


@fleet.command("set-usage")
@_client_options
@_devices_option
@click.argument("license_name")
@click.option("--count", type=int, default=1, show_default=True, help="0 stops using it.")
def set_usage(state_dir, url, quiet, devices, license_name, count) -> None:
    """Put a licence in use (what configuring its feature does) on every device, or those given."""
    data = {"license": license_name, "count": count, **({"devices": devices} if devices else {})}
    _report(ControlClient(state_dir, url).run("set-usage", data, f"set-usage {license_name}", quiet=quiet), "set-usage")


@fleet.command("reload")
@_client_options
@_devices_option
def reload(state_dir, url, quiet, devices) -> None:
    """Reload (licensing-wise) every device, or those given."""
    _report(ControlClient(state_dir, url).run("reload", {"devices": devices} if devices else {}, "reload",
                                              quiet=quiet), "reloaded")


@fleet.command("faults")
@_client_options
@_devices_option
@click.argument("action", type=click.Choice(["list", "inject", "clear"]), default="list")
@click.option("--kind", type=click.Choice(["unreachable", "timeout", "http-error", "malformed"]), default="unreachable")
@click.option("--target", type=click.Choice(["cslu", "cssm", "any"]), default="any")
@click.option("--count", type=int, default=None, help="For this many attempts.")
@click.option("--seconds", type=float, default=None, help="For this long.")
def faults(state_dir, url, quiet, devices, action, kind, target, count, seconds) -> None:
    """Inject, clear or list outbound communication faults on every device, or those given."""
    data = {"action": action, **({"devices": devices} if devices else {})}
    if action == "inject":
        data.update(kind=kind, target=target)
        if count is not None:
            data["count"] = count
        if seconds is not None:
            data["seconds"] = seconds
    result = ControlClient(state_dir, url).run("faults", data, f"faults {action}", quiet=quiet)
    if action == "list":
        for r in result["results"]:
            if r["result"]:
                click.echo(f"{r['id']}: {json.dumps(r['result'])}")
        return
    _report(result, f"faults {action}")


@fleet.command("inventory")
@click.option("--format", "fmt", type=click.Choice(["pyats", "ansible", "csv", "netbox-csv", "json"]),
              default="pyats", show_default=True)
@click.option("--state-dir", default=None, type=click.Path(file_okay=False), help="A running fleet's state dir.")
@click.option("--url", default=None, help="A running fleet's management URL.")
@click.option("--shards", default=None,
              help="Comma-separated management URLs of running shards: one merged inventory.")
@click.option("--from-inventory", "from_inventory", default=None, type=click.Path(dir_okay=False),
              help="An inventory file (no fleet needs to run: addresses and serials are deterministic).")
@click.option("--port-base", type=int, default=None, help="With --from-inventory: the port base it is served with.")
@click.option("--name", default=None, help="Testbed / site name.")
@click.option("--out", "out_file", default=None, type=click.Path(dir_okay=False), help="Write here (default stdout).")
def inventory(fmt, state_dir, url, shards, from_inventory, port_base, name, out_file) -> None:
    """Write an inventory of the fleet for pyATS, Ansible, Catalyst Center (CSV), NetBox (CSV) or as JSON."""
    from .export import ExportError, merge_shards, plan_devices, render_inventory
    from .inventory import InventoryError, load_inventory
    try:
        if shards:
            parts = []
            for u in [s.strip() for s in shards.split(",") if s.strip()]:
                st = ControlClient(url=u).run("status", quiet=True)
                devs = ControlClient(url=u).run("list", quiet=True)["device"]
                parts.append((st.get("shard") or u, devs))
            devices = merge_shards(parts)
        elif from_inventory:
            plan = load_inventory(from_inventory, port_base=port_base)
            devices = plan_devices(plan)
            name = name or plan.name
        else:
            devices = ControlClient(state_dir or DEFAULT_STATE, url).run("list", quiet=True)["device"]
        text = render_inventory(devices, fmt, name=name or "slpemu")
    except (ExportError, InventoryError) as exc:
        raise click.ClickException(str(exc)) from None
    if out_file:
        Path(out_file).write_text(text)
        click.echo(f"Wrote {out_file} ({len(devices)} devices)")
    else:
        click.echo(text, nl=False)
