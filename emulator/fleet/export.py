"""Inventories for the tools that drive fleets, from the fleet's device list (a running fleet's, an
inventory file's, or several shards' merged):

* ``pyats``      pyATS testbed YAML: os iosxe, a ``cli`` (ssh, unicon), ``netconf`` and ``rest`` connection
                 per device, credentials of the fleet's first user;
* ``ansible``    Ansible YAML inventory: ``ansible_network_os: cisco.ios.ios``, ``network_cli`` on the SSH
                 port (``ansible_port``), the NETCONF and RESTCONF ports as ``slpemu_netconf_port`` /
                 ``slpemu_restconf_port`` (for ``ansible.netcommon.netconf``/``httpapi``), a group per platform;
* ``csv``        Catalyst Center's device-import CSV layout (one device per row: type, IP, SNMP (empty),
                 CLI transport and credentials, NETCONF port, HTTP(S) credentials and port);
* ``netbox-csv`` NetBox's device bulk-import CSV (name, role, manufacturer, device_type, platform, serial,
                 status, site, description with the endpoints);
* ``json``       the device list itself.
"""

from __future__ import annotations

import csv
import io
import json

import yaml

FORMATS = ("pyats", "ansible", "csv", "netbox-csv", "json")

CATALYST_CENTER_COLUMNS = [
    "Device Type", "Device IP / DNS Name", "Snmp Version", "Snmp ROCommunity", "Snmp RWCommunity", "Snmp Retry",
    "Snmp Timeout", "Cli Transport", "Cli Username", "Cli Password", "Cli Enable Password", "Snmpv3 User Name",
    "Snmpv3 Auth Type", "Snmpv3 Auth Password", "Snmpv3 Privacy Type", "Snmpv3 Privacy Password", "Netconf Port",
    "HTTP Username", "HTTP Password", "HTTP Port", "HTTP Protocol"]

NETBOX_COLUMNS = ["name", "role", "manufacturer", "device_type", "platform", "serial", "status", "site",
                  "description"]

SSH_OPTIONS = "-o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null -o LogLevel=ERROR"


class ExportError(ValueError):
    pass


def _credentials(device: dict, users: dict | None) -> tuple[str, str]:
    cred = device.get("credentials")
    if cred:
        return cred["username"], cred["password"]
    if users:
        name = sorted(users)[0]
        return name, users[name]
    return "admin", "admin"


def render_inventory(devices: list[dict], fmt: str, *, name: str = "slpemu", users: dict | None = None) -> str:
    if fmt not in FORMATS:
        raise ExportError(f"unknown inventory format {fmt!r}; known: {', '.join(FORMATS)}")
    devices = sorted(devices, key=lambda d: d["id"])
    return {"pyats": _pyats, "ansible": _ansible, "csv": _catalyst_center, "netbox-csv": _netbox,
            "json": _json}[fmt](devices, name, users)


def _pyats(devices, name, users) -> str:
    out = {"testbed": {"name": name}, "devices": {}}
    for d in devices:
        user, password = _credentials(d, users)
        p = d["ports"]
        out["devices"][d["hostname"]] = {
            "os": "iosxe", "type": "router", "platform": _pyats_platform(d["pid"]),
            "credentials": {"default": {"username": user, "password": password},
                            "enable": {"password": password}},
            "custom": {"pid": d["pid"], "serial": d["sn"], "release": d.get("release"), "slpemu_id": d["id"]},
            "connections": {
                "defaults": {"class": "unicon.Unicon", "via": "cli"},
                "cli": {"protocol": "ssh", "ip": d["address"], "port": p["ssh"], "ssh_options": SSH_OPTIONS,
                        "settings": {"POST_DISCONNECT_WAIT_SEC": 0, "GRACEFUL_DISCONNECT_WAIT_SEC": 0.2}},
                "netconf": {"class": "yang.connector.Netconf", "protocol": "netconf", "ip": d["address"],
                            "port": p["netconf"]},
                "rest": {"class": "rest.connector.Rest", "protocol": "https", "ip": d["address"],
                         "port": p["https"], "verify": False},
            },
        }
    return yaml.safe_dump(out, sort_keys=False)


def _pyats_platform(pid: str) -> str:
    pid = pid.upper()
    for prefix, platform in (("C8000V", "cat8k"), ("C8", "cat8k"), ("ISR4", "isr4k"), ("C11", "isr1k"),
                             ("ASR1", "asr1k"), ("CSR1000V", "csr1000v")):
        if pid.startswith(prefix):
            return platform
    return "iosxe"


def _group_name(pid: str) -> str:
    return "pid_" + "".join(c.lower() if c.isalnum() else "_" for c in pid)


def _ansible(devices, name, users) -> str:
    first_user, first_password = _credentials(devices[0], users) if devices else ("admin", "admin")
    hosts, groups = {}, {}
    for d in devices:
        user, password = _credentials(d, users)
        p = d["ports"]
        host = {"ansible_host": d["address"], "ansible_port": p["ssh"], "slpemu_netconf_port": p["netconf"],
                "slpemu_restconf_port": p["https"], "slpemu_pid": d["pid"], "slpemu_serial": d["sn"],
                "slpemu_release": d.get("release")}
        if (user, password) != (first_user, first_password):
            host.update({"ansible_user": user, "ansible_password": password, "ansible_become_password": password})
        hosts[d["hostname"]] = host
        groups.setdefault(_group_name(d["pid"]), {})[d["hostname"]] = None
    inventory = {"all": {"vars": {"ansible_network_os": "cisco.ios.ios",
                                  "ansible_connection": "ansible.netcommon.network_cli",
                                  "ansible_user": first_user, "ansible_password": first_password,
                                  "ansible_become": True, "ansible_become_method": "enable",
                                  "ansible_become_password": first_password,
                                  "ansible_host_key_checking": False},
                         "children": {name if name.isidentifier() else "slpemu": {"hosts": hosts},
                                      **{g: {"hosts": h} for g, h in sorted(groups.items())}}}}
    return yaml.safe_dump(inventory, sort_keys=False)


def _catalyst_center(devices, name, users) -> str:
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(CATALYST_CENTER_COLUMNS)
    for d in devices:
        user, password = _credentials(d, users)
        p = d["ports"]
        w.writerow(["NETWORK_DEVICE", d["address"], "", "", "", "", "", "SSH2", user, password, password,
                    "", "", "", "", "", p["netconf"], user, password, p["https"], "https"])
    return buf.getvalue()


def _netbox(devices, name, users) -> str:
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(NETBOX_COLUMNS)
    for d in devices:
        p = d["ports"]
        w.writerow([d["hostname"], "router", "Cisco", d["pid"], "cisco-ios-xe", d["sn"], "active", name,
                    f"slpemu {d['address']} ssh {p['ssh']} netconf {p['netconf']} https {p['https']} "
                    f"IOS XE {d.get('release', '')}"])
    return buf.getvalue()


def _json(devices, name, users) -> str:
    keep = ("id", "hostname", "address", "ports", "pid", "sn", "release", "group", "shard", "credentials")
    return json.dumps({"fleet": name, "device": [{k: d[k] for k in keep if k in d} for d in devices]}, indent=1) + "\n"


def merge_shards(shards: list[tuple[str, list[dict]]]) -> list[dict]:
    """One device list from several shards' lists; a hostname or an endpoint found twice is an error naming
    both shards."""
    seen_ids: dict[str, str] = {}
    seen_ep: dict[tuple[str, int], str] = {}
    out = []
    for shard, devices in shards:
        for d in devices:
            if d["hostname"] in seen_ids:
                raise ExportError(f"shard {shard}: hostname {d['hostname']} is also in shard {seen_ids[d['hostname']]}")
            seen_ids[d["hostname"]] = shard
            for port in d["ports"].values():
                key = (d["address"], port)
                if key in seen_ep:
                    raise ExportError(f"shard {shard}: {d['hostname']} at {d['address']} port {port} collides with "
                                      f"shard {seen_ep[key]}")
                seen_ep[key] = shard
            out.append({**d, "shard": shard})
    return out


def plan_devices(plan) -> list[dict]:
    """The device list of an inventory that is not running (addresses and serials are deterministic)."""
    out = []
    for spec in plan.devices:
        user, password = spec.users[0]
        out.append({"id": spec.id, "hostname": spec.hostname, "address": spec.address, "ports": spec.ports.as_dict(),
                    "pid": spec.platform, "sn": spec.serial, "release": spec.release, "group": spec.group,
                    "credentials": {"username": user, "password": password}})
    return out
