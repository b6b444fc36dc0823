"""Fleet inventories: what devices a fleet holds, at which addresses and ports, with which identity.

A fleet is described by an inventory YAML file or by a quick-start count and mixes. Either way the result
is a list of `DeviceSpec`, checked in full before anything starts: a duplicate address or serial, an
unknown platform, a release the platform does not run, or malformed YAML raise `InventoryError` with one
line naming the entry.

Inventory file (every key optional except that some device must come out of it)::

    name: lab-a                 # seeds generated serials (with the shard), so they are stable
    addressing: per-device      # per-device (own loopback address, standard ports) | single-address
    address_start: 127.1.0.1    # per-device: first device address (then .2, .3 …, skipping .0/.255)
    address: 127.0.0.1          # single-address: the one address
    port_base: 0                # per-device: ports are 22/830/443 + port_base (non-root: e.g. 20000)
    port_start: 30000           # single-address: device i uses port_start + 3*i + (0 ssh, 1 netconf, 2 https)
    management_address: 127.1.255.254   # fleet page + control RPCs, HTTP on 80 + port_base
    users: {admin: admin}       # privilege-15 users on every device
    builtin_cssm: false         # online requests answered by the bundled CSSM simulator
    cssm_url: null              # configures `license smart transport smart` + `url smart URL` on new devices
    defaults: {platform: C8000V, release: 17.12.1a}
    groups:
      - {name: edge, count: 60, platform: C8000V, release: 17.12.1a, hostname: "edge-{n:03d}"}
      - {name: branch, count: 30, platform: ISR4331/K9, release: 17.9.1a}
    devices:
      - {hostname: core-1, platform: C8300-1N1S-6T, address: 127.1.9.1, serial: FDO2349A0X1}

A group's `hostname` is a pattern (`{n}` 1-based index in the group, `{i}` in the fleet, `{group}`, `{shard}`:
the shard identity, so that shards of one inventory have different hostnames).
The hostname is the device's id in the store and in the control API, so it must be unique.
"""

from __future__ import annotations

import hashlib
import ipaddress
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from ..engine.release import Release
from ..profiles import ProfileError, load_profile

STANDARD_PORTS = {"ssh": 22, "netconf": 830, "https": 443}
MANAGEMENT_PORT = 80
PORT_STRIDE = 3                       # single-address mode: ssh, netconf, https per device
DEFAULT_ADDRESS_START = "127.1.0.1"
DEFAULT_MANAGEMENT = "127.1.255.254"
DEFAULT_RELEASE = "17.12.1a"
DEFAULT_PLATFORM = "C8000V"
DEFAULT_USERS = {"admin": "admin"}
MAX_DEVICES = 200_000

_FLEET_KEYS = {"name", "addressing", "address_start", "address", "port_base", "port_start", "management_address",
               "management_port", "users", "builtin_cssm", "builtin_cssm_policy", "cssm_url", "defaults", "groups",
               "devices", "shard"}
_DEVICE_KEYS = {"hostname", "platform", "release", "serial", "address", "ports", "users", "builtin_cssm",
                "builtin_cssm_policy", "cssm_url"}
_GROUP_KEYS = _DEVICE_KEYS | {"name", "count"}


class InventoryError(ValueError):
    """A bad inventory: the message is one line that names the entry."""


@dataclass(frozen=True)
class Ports:
    ssh: int
    netconf: int
    https: int

    def as_dict(self) -> dict:
        return {"ssh": self.ssh, "netconf": self.netconf, "https": self.https}


@dataclass(frozen=True)
class DeviceSpec:
    id: str                       # = hostname at creation; the key in the store and the control API
    platform: str                 # the profile's PID
    release: str
    serial: str
    address: str
    ports: Ports
    users: tuple[tuple[str, str], ...] = (("admin", "admin"),)
    builtin_cssm: bool = False
    builtin_cssm_policy: str | None = None
    cssm_url: str | None = None
    group: str | None = None

    @property
    def hostname(self) -> str:
        return self.id

    def to_dict(self) -> dict:
        return {"id": self.id, "hostname": self.id, "platform": self.platform, "release": self.release,
                "serial": self.serial, "address": self.address, "ports": self.ports.as_dict(),
                "users": dict(self.users), "builtin_cssm": self.builtin_cssm,
                "builtin_cssm_policy": self.builtin_cssm_policy, "cssm_url": self.cssm_url, "group": self.group}

    @classmethod
    def from_dict(cls, d: dict) -> "DeviceSpec":
        return cls(id=d["id"], platform=d["platform"], release=d["release"], serial=d["serial"],
                   address=d["address"], ports=Ports(**d["ports"]), users=tuple(sorted(d["users"].items())),
                   builtin_cssm=bool(d.get("builtin_cssm")), builtin_cssm_policy=d.get("builtin_cssm_policy"),
                   cssm_url=d.get("cssm_url"), group=d.get("group"))


@dataclass
class FleetPlan:
    """A checked inventory: the devices and where the fleet's management endpoint listens."""
    name: str
    devices: list[DeviceSpec]
    management_address: str
    management_port: int
    addressing: str = "per-device"
    port_base: int = 0
    port_start: int = 30000
    address_start: str = DEFAULT_ADDRESS_START
    address: str = "127.0.0.1"
    shard: str = ""
    defaults: dict = field(default_factory=dict)

    def allocator(self) -> "Allocator":
        """Hands out addresses/ports for devices added later, avoiding those in use."""
        return Allocator(self)


# ---------------------------------------------------------------------------------------------- parsing
def load_inventory(path: str | Path, **overrides) -> FleetPlan:
    """Parses and checks an inventory file; `overrides` (port_base, shard, management_address…) win."""
    path = Path(path)
    try:
        text = path.read_text()
    except OSError as exc:
        raise InventoryError(f"{path}: cannot read the inventory: {exc.strerror or exc}") from None
    try:
        raw = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" line {mark.line + 1} column {mark.column + 1}" if mark is not None else ""
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        raise InventoryError(f"{path}:{where}: malformed YAML: {problem}") from None
    if raw is None:
        raw = {}
    if not isinstance(raw, dict):
        raise InventoryError(f"{path}: the inventory must be a mapping (name, groups, devices …), "
                             f"not a {type(raw).__name__}")
    for key, value in overrides.items():
        if value is not None:
            raw[key] = value
    return plan_from_mapping(raw, source=str(path))


def quick_plan(count: int, platform_mix: str | None = None, release_mix: str | None = None, **options) -> FleetPlan:
    """`--count N --platform-mix C8000V:60,ISR4331/K9:30 --release-mix 17.12.1a:50,17.9.1a:50`."""
    if isinstance(count, bool) or not isinstance(count, int) or count < 1 or count > MAX_DEVICES:
        raise InventoryError(f"--count: {count!r} is not a number of devices from 1 to {MAX_DEVICES}")
    platforms = _parse_mix(platform_mix or DEFAULT_PLATFORM, "--platform-mix")
    releases = _parse_mix(release_mix or DEFAULT_RELEASE, "--release-mix")
    plat_seq = _spread(platforms, count)
    rel_seq = _spread(releases, count)
    width = max(4, len(str(count)))
    prefix = f"rtr-{options['shard']}-" if options.get("shard") not in (None, "") else "rtr-"
    devices = [{"hostname": f"{prefix}{i + 1:0{width}d}", "platform": plat_seq[i], "release": rel_seq[i]}
               for i in range(count)]
    raw = {k: v for k, v in options.items() if v is not None}
    raw["devices"] = devices
    return plan_from_mapping(raw, source="--count")


def _parse_mix(text: str, option: str) -> list[tuple[str, float]]:
    out = []
    for part in str(text).split(","):
        part = part.strip()
        if not part:
            continue
        name, sep, weight = part.rpartition(":")
        if not sep:
            name, weight = part, "1"
        try:
            w = float(weight)
        except ValueError:
            raise InventoryError(f"{option}: {part!r}: the weight after ':' must be a number") from None
        if w <= 0:
            raise InventoryError(f"{option}: {part!r}: the weight must be positive")
        out.append((name.strip(), w))
    if not out:
        raise InventoryError(f"{option}: empty mix")
    return out


def _spread(mix: list[tuple[str, float]], count: int) -> list[str]:
    """Largest-remainder counts for each name, interleaved (smooth weighted round robin), so any slice of
    the fleet has about the mix's proportions."""
    total = sum(w for _, w in mix)
    exact = [count * w / total for _, w in mix]
    counts = [int(x) for x in exact]
    for idx in sorted(range(len(mix)), key=lambda j: exact[j] - counts[j], reverse=True)[:count - sum(counts)]:
        counts[idx] += 1
    current = [0.0] * len(mix)
    left = counts[:]
    out = []
    for _ in range(count):
        for j in range(len(mix)):
            if left[j]:
                current[j] += counts[j]
        j = max((j for j in range(len(mix)) if left[j]), key=lambda j: current[j])
        current[j] -= count
        left[j] -= 1
        out.append(mix[j][0])
    return out


def plan_from_mapping(raw: dict, source: str = "inventory") -> FleetPlan:
    unknown = sorted(set(map(str, raw)) - _FLEET_KEYS)
    if unknown:
        raise InventoryError(f"{source}: unknown key {unknown[0]!r} (known: {', '.join(sorted(_FLEET_KEYS))})")
    addressing = str(raw.get("addressing") or "per-device")
    if addressing not in ("per-device", "single-address"):
        raise InventoryError(f"{source}: addressing {addressing!r} must be per-device or single-address")
    port_base = _port_number(raw.get("port_base", 0), f"{source}: port_base", allow_zero=True)
    port_start = _port_number(raw.get("port_start", 30000), f"{source}: port_start")
    address_start = _address(raw.get("address_start", DEFAULT_ADDRESS_START), f"{source}: address_start")
    single = _address(raw.get("address", "127.0.0.1"), f"{source}: address")
    shard = str(raw.get("shard") or "")
    name = str(raw.get("name") or "slpemu")
    if addressing == "per-device":
        mgmt_default, mgmt_port_default = DEFAULT_MANAGEMENT, MANAGEMENT_PORT + port_base
    else:
        mgmt_default, mgmt_port_default = single, max(1, port_start - 1)
    management = _address(raw.get("management_address") or mgmt_default, f"{source}: management_address")
    management_port = _port_number(raw.get("management_port") or mgmt_port_default, f"{source}: management_port")
    top_users = _users(raw.get("users", DEFAULT_USERS), f"{source}: users")
    defaults = raw.get("defaults") or {}
    if not isinstance(defaults, dict):
        raise InventoryError(f"{source}: defaults must be a mapping")
    _check_keys(defaults, _DEVICE_KEYS, f"{source}: defaults")
    base = {"users": top_users, "builtin_cssm": raw.get("builtin_cssm", False),
            "builtin_cssm_policy": raw.get("builtin_cssm_policy"), "cssm_url": raw.get("cssm_url")}
    base.update(defaults)

    entries: list[tuple[str, dict]] = []          # (label naming the entry, merged fields)
    groups = raw.get("groups") or []
    if not isinstance(groups, list):
        raise InventoryError(f"{source}: groups must be a list")
    for gi, group in enumerate(groups):
        label = f"{source}: groups[{gi}]"
        if not isinstance(group, dict):
            raise InventoryError(f"{label}: a group must be a mapping")
        gname = str(group.get("name") or f"group{gi + 1}")
        label = f"{label} ({gname})"
        _check_keys(group, _GROUP_KEYS, label)
        count = group.get("count", 1)
        if isinstance(count, bool) or not isinstance(count, int) or not 1 <= count <= MAX_DEVICES:
            raise InventoryError(f"{label}: count {count!r} must be a number from 1 to {MAX_DEVICES}")
        pattern = str(group.get("hostname") or f"{gname}-{{n:04d}}")
        for n in range(1, count + 1):
            fields = {**base, **{k: v for k, v in group.items() if k not in ("name", "count")}, "group": gname}
            try:
                fields["hostname"] = pattern.format(n=n, i=len(entries) + 1, group=gname, shard=shard)
            except (KeyError, IndexError, ValueError) as exc:
                raise InventoryError(f"{label}: hostname pattern {pattern!r} is not valid: {exc}") from None
            if count > 1 and fields["hostname"] == pattern:
                raise InventoryError(f"{label}: hostname {pattern!r} has no {{n}}: {count} devices would share it")
            entries.append((f"{label} device {n}", fields))
            fields["_short"] = f"groups[{gi}] ({gname}) device {n}"
    devices = raw.get("devices") or []
    if not isinstance(devices, list):
        raise InventoryError(f"{source}: devices must be a list")
    for di, dev in enumerate(devices):
        label = f"{source}: devices[{di}]"
        if not isinstance(dev, dict):
            raise InventoryError(f"{label}: a device must be a mapping")
        if dev.get("hostname"):
            label = f"{label} ({dev['hostname']})"
        _check_keys(dev, _DEVICE_KEYS, label)
        fields = {**base, **dev}
        fields.setdefault("hostname", f"rtr-{len(entries) + 1:04d}")
        fields["_short"] = f"devices[{di}]" + (f" ({dev['hostname']})" if dev.get("hostname") else "")
        entries.append((label, fields))
    if not entries:
        raise InventoryError(f"{source}: the inventory holds no device (add groups or devices)")
    if len(entries) > MAX_DEVICES:
        raise InventoryError(f"{source}: {len(entries)} devices; at most {MAX_DEVICES} per shard")

    plan = FleetPlan(name=name, devices=[], management_address=management, management_port=management_port,
                     addressing=addressing, port_base=port_base, port_start=port_start,
                     address_start=address_start, address=single, shard=shard, defaults=base)
    alloc = plan.allocator()
    seen_ids: dict[str, str] = {}
    seen_serials: dict[str, str] = {}
    # Explicit addresses and serials are claimed first, so generated ones never take them.
    explicit: dict[tuple[str, int], str] = {(management, management_port): "the management endpoint"}
    for label, fields in entries:
        if fields.get("address") is not None or fields.get("ports") is not None:
            addr, ports = _explicit_endpoint(fields, plan, label)
            for port in ports.as_dict().values():
                if (addr, port) in explicit:
                    raise InventoryError(f"{label}: address {addr} port {port} is already used by "
                                         f"{explicit[(addr, port)]}")
                explicit[(addr, port)] = fields["_short"]
            fields["_endpoint"] = (addr, ports)
        if fields.get("serial"):
            serial = str(fields["serial"])
            if serial in seen_serials:
                raise InventoryError(f"{label}: serial {serial} is already used by {seen_serials[serial]}")
            seen_serials[serial] = fields["_short"]
    alloc.reserve(explicit)
    for label, fields in entries:
        hostname = str(fields["hostname"])
        if not _valid_hostname(hostname):
            raise InventoryError(f"{label}: hostname {hostname!r} must be 1-63 letters, digits, '-', '_' or '.'")
        if hostname in seen_ids:
            raise InventoryError(f"{label}: hostname {hostname} is already used by {seen_ids[hostname]}")
        seen_ids[hostname] = fields["_short"]
        spec = device_spec(fields, plan, alloc, label, seen_serials)
        plan.devices.append(spec)
    return plan


def device_spec(fields: dict, plan: FleetPlan, alloc: "Allocator", label: str,
                seen_serials: dict[str, str] | None = None) -> DeviceSpec:
    """One checked device from merged inventory fields (also what `fleet add` sends)."""
    platform = str(fields.get("platform") or DEFAULT_PLATFORM)
    try:
        profile = load_profile(platform)
    except ProfileError as exc:
        raise InventoryError(f"{label}: {exc}") from None
    release = str(fields.get("release") or DEFAULT_RELEASE)
    try:
        rel = Release.parse(release)
    except ValueError as exc:
        raise InventoryError(f"{label}: {exc}") from None
    if not rel.at_least(profile.min_release):
        raise InventoryError(f"{label}: {profile.pid} runs Smart Licensing Using Policy from {profile.min_release}, "
                             f"not {release}")
    hostname = str(fields["hostname"])
    seen_serials = seen_serials if seen_serials is not None else {}
    serial = fields.get("serial")
    if serial:
        serial = str(serial)
        if not (len(serial) == 11 and serial.isalnum() and serial.upper() == serial):
            raise InventoryError(f"{label}: serial {serial!r} must be 11 upper-case letters and digits")
        if profile.virtual and not serial.startswith("9"):
            raise InventoryError(f"{label}: serial {serial} of a virtual platform starts with 9")
    else:
        serial = generate_serial(profile, f"{plan.name}/{plan.shard}/{hostname}", taken=seen_serials)
        seen_serials[serial] = fields.get("_short", label)
    if "_endpoint" in fields:
        address, ports = fields["_endpoint"]
    elif fields.get("address") is not None or fields.get("ports") is not None:
        address, ports = _explicit_endpoint(fields, plan, label)
        alloc.claim(address, ports, fields.get("_short", label))
    else:
        address, ports = alloc.next()
    users = _users(fields.get("users", DEFAULT_USERS), f"{label}: users")
    policy = fields.get("builtin_cssm_policy")
    if policy is not None:
        from ..cssm import POLICY_PRESETS
        if policy not in POLICY_PRESETS:
            raise InventoryError(f"{label}: builtin_cssm_policy {policy!r} is not one of {', '.join(sorted(POLICY_PRESETS))}")
    cssm_url = fields.get("cssm_url")
    if cssm_url is not None and not str(cssm_url).startswith(("http://", "https://")):
        raise InventoryError(f"{label}: cssm_url {cssm_url!r} must be an http(s) URL")
    return DeviceSpec(id=hostname, platform=profile.pid, release=release, serial=serial, address=address,
                      ports=ports, users=tuple(sorted(users.items())), builtin_cssm=bool(fields.get("builtin_cssm")),
                      builtin_cssm_policy=policy, cssm_url=str(cssm_url) if cssm_url else None,
                      group=fields.get("group"))


# ---------------------------------------------------------------------------------------------- serials
_ALNUM = "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"


def generate_serial(profile, seed: str, taken: dict | set = ()) -> str:
    """A serial in the platform's real shape, derived from `seed` (stable across restarts and shards):
    virtual platforms `9` + 10 alphanumerics; hardware the family prefix, year (17-24), week (01-52) and
    four alphanumerics (FDO2349A0J5)."""
    for attempt in range(1000):
        digest = hashlib.sha256(f"{seed}#{attempt}".encode()).digest()
        if profile.virtual:
            serial = "9" + "".join(_ALNUM[b % 36] for b in digest[:10])
        else:
            prefix = profile.serial_prefix[:3]
            year = 17 + digest[0] % 8
            week = 1 + digest[1] % 52
            serial = f"{prefix}{year:02d}{week:02d}" + "".join(_ALNUM[b % 36] for b in digest[2:2 + 11 - len(prefix) - 4])
        if serial not in taken:
            return serial
    raise InventoryError(f"{seed}: no free serial")


# ---------------------------------------------------------------------------------------------- addresses
class Allocator:
    """Addresses and ports of devices: per-device mode walks loopback addresses with the standard ports
    (+ port_base); single-address mode walks port blocks on one address."""

    def __init__(self, plan: FleetPlan):
        self.plan = plan
        self.used: dict[tuple[str, int], str] = {}
        self._cursor = 0

    def reserve(self, used: dict[tuple[str, int], str]) -> None:
        self.used.update(used)

    def claim(self, address: str, ports: Ports, label: str) -> None:
        for port in ports.as_dict().values():
            if (address, port) in self.used:
                raise InventoryError(f"{label}: address {address} port {port} is already used by "
                                     f"{self.used[(address, port)]}")
        for port in ports.as_dict().values():
            self.used[(address, port)] = label

    def release(self, address: str, ports: Ports) -> None:
        for port in ports.as_dict().values():
            self.used.pop((address, port), None)

    def _candidate(self, k: int) -> tuple[str, Ports]:
        plan = self.plan
        if plan.addressing == "per-device":
            addr = _nth_address(int(ipaddress.ip_address(plan.address_start)), k)
            ip = ipaddress.ip_address(addr)
            b = plan.port_base
            return str(ip), Ports(STANDARD_PORTS["ssh"] + b, STANDARD_PORTS["netconf"] + b, STANDARD_PORTS["https"] + b)
        p = plan.port_start + PORT_STRIDE * k
        if p + 2 > 65535:
            raise InventoryError(f"single-address port range from {plan.port_start} is full after {k} devices")
        return plan.address, Ports(p, p + 1, p + 2)

    def next(self) -> tuple[str, Ports]:
        while True:
            addr, ports = self._candidate(self._cursor)
            self._cursor += 1
            if all((addr, p) not in self.used for p in ports.as_dict().values()):
                self.claim(addr, ports, f"device at {addr}")
                return addr, ports


def _nth_address(base: int, k: int) -> int:
    """The k-th address from `base` whose last byte is neither 0 nor 255."""
    while base % 256 in (0, 255):
        base += 1
    block, host = divmod(base, 256)
    idx = host - 1 + k
    return (block + idx // 254) * 256 + 1 + idx % 254


def _explicit_endpoint(fields: dict, plan: FleetPlan, label: str) -> tuple[str, Ports]:
    address = fields.get("address")
    if address is None:
        address = plan.address if plan.addressing == "single-address" else None
    if address is None:
        raise InventoryError(f"{label}: ports without an address")
    address = _address(address, f"{label}: address")
    ports = fields.get("ports")
    if ports is None:
        if plan.addressing == "single-address":
            raise InventoryError(f"{label}: in single-address mode a device with an address needs ports "
                                 "{ssh, netconf, https}")
        b = plan.port_base
        return address, Ports(22 + b, 830 + b, 443 + b)
    if not isinstance(ports, dict) or set(ports) - {"ssh", "netconf", "https"}:
        raise InventoryError(f"{label}: ports must be a mapping of ssh, netconf, https")
    b = plan.port_base
    values = {k: _port_number(ports.get(k, STANDARD_PORTS[k] + b), f"{label}: ports.{k}") for k in STANDARD_PORTS}
    if len(set(values.values())) != 3:
        raise InventoryError(f"{label}: ssh, netconf and https need three different ports")
    return address, Ports(**values)


def _address(value, label: str) -> str:
    try:
        return str(ipaddress.ip_address(str(value).strip()))
    except ValueError:
        raise InventoryError(f"{label}: {value!r} is not an IP address") from None


def _port_number(value, label: str, allow_zero: bool = False) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not (0 if allow_zero else 1) <= value <= 65535:
        raise InventoryError(f"{label}: {value!r} is not a port number")
    return value


def _users(value, label: str) -> dict[str, str]:
    if not isinstance(value, dict) or not value:
        raise InventoryError(f"{label}: users must be a mapping of name: password")
    out = {}
    for name, password in value.items():
        if not isinstance(name, str) or not name or " " in name or password is None:
            raise InventoryError(f"{label}: user {name!r} needs a name without spaces and a password")
        out[name] = str(password)
    return out


def _check_keys(mapping: dict, allowed: set, label: str) -> None:
    unknown = sorted(set(map(str, mapping)) - allowed)
    if unknown:
        raise InventoryError(f"{label}: unknown key {unknown[0]!r} (known: {', '.join(sorted(allowed))})")


def _valid_hostname(name: str) -> bool:
    return 0 < len(name) <= 63 and all(c.isalnum() or c in "-_." for c in name) and name.isascii()
