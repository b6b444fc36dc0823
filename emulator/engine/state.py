"""The typed state of one product instance: frozen records per area, one `DeviceState` holding them.

The engine never changes a record in place: an operation replaces records (`dataclasses.replace`), so a
published snapshot keeps the records it was built from and a refused operation is undone by going back
to the last committed `DeviceState`. Persistence goes through `to_stored` / `from_stored`, with an
explicit `migrate` step from every older stored version."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Mapping, Optional

import cattrs

from .comm import FLOWS
from .netconfig import (CallHome, DomainName, HostEntry, Interface, LoggingHost, NameServers, NtpServer, Route,
                        Trustpoint, VrfDefinition)
from .policy import Policy
from .settings import LicensingConfig

STATE_VERSION = 3


@dataclass(frozen=True)
class Member:
    role: str                 # Active | Standby | Member
    pid: str
    sn: str


@dataclass(frozen=True)
class Identity:
    platform: str
    hostname: str
    release: str
    members: tuple[Member, ...]


@dataclass(frozen=True)
class ClockState:
    offset: float = 0.0
    frozen_at: Optional[float] = None


@dataclass(frozen=True)
class Usage:
    count: int
    since: float


@dataclass(frozen=True)
class Reporting:
    """Reporting timers (R12–R16, R24–R29); epoch seconds or None."""
    t0: Optional[float] = None                 # first use: starts the first-report clock
    last_ack: Optional[float] = None
    change_deadline: Optional[float] = None    # report-on-change deadline (R15)
    last_push: Optional[float] = None
    last_auto_push: Optional[float] = None
    last_pull: Optional[float] = None
    last_file_write: Optional[float] = None
    reminder_cursor: Optional[float] = None    # REPORTING_REQUIRED reminders already given up to here
    last_close: Optional[float] = None
    trigger: Optional[float] = None            # a push triggered by a reload or an HA event (R29)
    retry_at: Optional[float] = None           # a failed scheduled push is retried then (R28)
    poll_id: Optional[str] = None
    next_ack_check: Optional[float] = None
    ack_issued: Optional[int] = None           # CSSM's timestamp (ms) of the last ACK installed: older ones
    ack_transaction: Optional[str] = None      # and that one again are replays, refused


@dataclass(frozen=True)
class Counters:
    total: int = 0
    purged: int = 0
    next_report_id: int = 0


@dataclass(frozen=True)
class Sequences:
    syslog: int = 0
    event: int = 0


@dataclass(frozen=True)
class Account:
    smart_account: str
    virtual_account: str
    as_of: float


@dataclass(frozen=True)
class TrustCode:
    installed_at: float
    source: str               # idtoken | ack | file | sync | factory
    usable: bool = True       # a factory trust code cannot be used with CSSM (R34)
    account: Mapping[str, str] = field(default_factory=dict)
    issued: Optional[int] = None       # CSSM's timestamp (ms) and id of the code: the same code or an older
    trust_id: Optional[str] = None     # one imported again is a replay, refused


@dataclass(frozen=True)
class AuthorizedLicense:
    full_tag: str
    name: str
    count: int
    license_type: str = "PERPETUAL"


@dataclass(frozen=True)
class Authorization:
    """An installed authorization of one UDI: a SLAC, or the SLR / PAK a device migrated with."""
    kind: str                 # slac | slr | pak
    installed_at: float
    confirmation_code: Optional[str]
    entitlements: Mapping[str, AuthorizedLicense]      # by entitlement tag
    account: Mapping[str, str] = field(default_factory=dict)
    code: Optional[str] = None                         # the SLAC as installed (tech support prints it)
    issued: Optional[int] = None       # CSSM's timestamp (ms) of a SLAC: an older one is a replay, refused


@dataclass(frozen=True)
class AuthorizationCodes:
    """Codes shown by `show license tech` per UDI after the authorization they belong to is gone."""
    last_confirmation_code: Optional[str] = None
    last_return_code: Optional[str] = None
    request_code: Optional[str] = None


@dataclass(frozen=True)
class RequestedLicense:
    tag: str
    full_tag: str
    name: str
    count: int


@dataclass(frozen=True)
class Udi:
    pid: str
    sn: str


@dataclass(frozen=True)
class AuthorizationRequest:
    """A SLAC request waiting to go out or to be saved to a file (R38, R40)."""
    timestamp: int
    mode: str                 # add | replace
    udis: tuple[Udi, ...]
    entitlements: tuple[RequestedLicense, ...]


@dataclass(frozen=True)
class Plr:
    installed_at: float
    code: str
    udis: tuple[str, ...]

    def covers(self, udi: str) -> bool:
        return udi in self.udis


@dataclass(frozen=True)
class Startup:
    """What `write memory` saved for the next reload."""
    feature_hseck9: bool = False
    boot_level: Optional[str] = None
    boot_addon: Optional[str] = None


@dataclass(frozen=True)
class Platform:
    throughput: Optional[str] = None           # configured level keyword
    feature_hseck9: bool = False
    boot_level: Optional[str] = None
    boot_addon: Optional[str] = None
    startup: Optional[Startup] = None
    booted_level: Optional[tuple[Optional[str], Optional[str]]] = None
    boot_usage: tuple[str, ...] = ()
    effective_kbps: Optional[int] = None
    effective_known: bool = False              # effective_kbps has been computed once


@dataclass(frozen=True)
class UtilityState:
    enabled_at: float
    last_transport_warn: Optional[float] = None
    last_trust_warn: Optional[float] = None
    last_noack: Optional[float] = None
    warned: tuple[str, ...] = ()
    started: bool = False


@dataclass(frozen=True)
class FlowStats:
    """One flow of `show license tech` → Communication Statistics."""
    total: int = 0
    success: int = 0
    fail: int = 0
    ongoing: int = 0
    last_response: Optional[str] = None
    failure_reason: Optional[str] = None
    last_success: Optional[float] = None
    last_failure: Optional[float] = None


@dataclass(frozen=True)
class Comm:
    failing: bool = False
    stats: Mapping[str, FlowStats] = field(default_factory=lambda: {f: FlowStats() for f in FLOWS})


@dataclass(frozen=True)
class Fault:
    id: int
    kind: str
    target: str
    remaining: Optional[int]
    expires: Optional[float]

    def active(self, now: float) -> bool:
        return self.expires is None or self.expires > now


@dataclass(frozen=True)
class Faults:
    next_id: int = 1
    active: tuple[Fault, ...] = ()


@dataclass(frozen=True)
class User:
    password: str
    privilege: int


@dataclass(frozen=True)
class SystemSettings:
    """Non-licensing device settings the front-ends honour."""
    # IOS login protection (`login block-for <s> attempts <n> within <s>`, `login delay <s>`): 0 = off
    login_block_for: int = 0
    login_block_attempts: int = 0
    login_block_within: int = 0
    login_delay: int = 0
    # `ip ssh server algorithm encryption|mac|kex|hostkey ...`: () = IOS XE's defaults
    ssh_encryption: tuple[str, ...] = ()
    ssh_mac: tuple[str, ...] = ()
    ssh_kex: tuple[str, ...] = ()
    ssh_hostkey: tuple[str, ...] = ()
    ip_http_server: bool = False
    ip_http_secure_server: bool = True
    ip_http_authentication_local: bool = True
    ip_http_max_connections: int = 5
    netconf_yang: bool = True
    restconf: bool = True
    ip_scp_server: bool = True
    logging_console: bool = True
    # The IOS configuration around licensing the guide's procedures enter (engine/netconfig.py).
    service_call_home: bool = False
    call_home: Optional[CallHome] = None                 # None: no `call-home` section
    aaa_new_model: bool = False
    aaa_authentication_login: Optional[str] = None       # method list, e.g. "default local"
    aaa_authorization_exec: Optional[str] = None
    ip_routing: bool = True
    vrfs: tuple[VrfDefinition, ...] = ()
    name_servers: tuple[NameServers, ...] = ()
    hosts: tuple[HostEntry, ...] = ()
    domain_lookup: bool = True
    domain_lookup_source: Optional[str] = None
    domain_names: tuple[DomainName, ...] = ()
    trustpoints: tuple[Trustpoint, ...] = ()
    interfaces: tuple[Interface, ...] = ()
    http_client_source: Optional[str] = None
    http_client_proxy: Optional[tuple[str, int]] = None
    http_client_trustpoint: Optional[str] = None         # `ip http client secure-trustpoint <name>`
    tftp_source: Optional[str] = None
    routes: tuple[Route, ...] = ()
    ssh_version: Optional[int] = None
    logging_hosts: tuple[LoggingHost, ...] = ()
    ntp_servers: tuple[NtpServer, ...] = ()
    vty_login_local: bool = True
    vty_transport_input: str = "ssh"


@dataclass(frozen=True)
class ImportRecord:
    time: float
    result: str


@dataclass(frozen=True)
class DeviceState:
    identity: Identity
    signing_key: str                           # PEM of the device's report-signing key
    booted_at: float
    clock: ClockState = ClockState()
    config: LicensingConfig = LicensingConfig()
    usage: Mapping[str, Usage] = field(default_factory=dict)
    policy: Optional[Policy] = None            # None: Cisco default
    reporting: Reporting = Reporting()
    account: Optional[Account] = None
    counters: Counters = Counters()
    seq: Sequences = Sequences()
    imports: Mapping[str, tuple[ImportRecord, ...]] = field(default_factory=dict)
    trust: Mapping[str, TrustCode] = field(default_factory=dict)
    authorizations: Mapping[str, Authorization] = field(default_factory=dict)
    codes: Mapping[str, AuthorizationCodes] = field(default_factory=dict)
    auth_request: Optional[AuthorizationRequest] = None
    reservation_requests: Mapping[str, str] = field(default_factory=dict)
    plr: Optional[Plr] = None
    subscriptions: Mapping[str, str] = field(default_factory=dict)
    platform: Platform = Platform()
    utility: Optional[UtilityState] = None
    comm: Comm = Comm()
    faults: Faults = Faults()
    system: SystemSettings = SystemSettings()
    users: Mapping[str, User] = field(default_factory=dict)


# ---------------------------------------------------------------------------------------------- storage
_converter = cattrs.Converter(forbid_extra_keys=True)
_converter.register_unstructure_hook(Policy, lambda p: p.to_dict())
_converter.register_structure_hook(Policy, lambda d, _: Policy.from_dict(d))
_converter.register_unstructure_hook(LicensingConfig, lambda c: {k: v for k, v in vars(c).items() if v is not None})
_converter.register_structure_hook(LicensingConfig, lambda d, _: LicensingConfig(**d))


def to_stored(state: DeviceState) -> dict:
    return {"version": STATE_VERSION, "state": _converter.unstructure(state)}


def from_stored(stored: dict) -> DeviceState:
    version = stored.get("version", stored.get("schema", 1))
    if version > STATE_VERSION:
        raise ValueError(f"stored state version {version} is newer than this emulator's ({STATE_VERSION})")
    data = migrate(stored, version)
    return _converter.structure(data, DeviceState)


def migrate(stored: dict, version: int) -> dict:
    """The `state` mapping of STATE_VERSION from a stored document of `version`, one version at a time."""
    if version == STATE_VERSION:
        return stored["state"]
    if version == 1:
        return _from_v2(_from_v1(stored))
    if version == 2:
        return _from_v2(stored["state"])
    raise ValueError(f"no migration from stored state version {version}")


def _from_v2(state: dict) -> dict:
    """Version 3 records what CSSM issued the installed ACK, policy, trust codes and SLACs (timestamp, id),
    so that a replayed or older artefact is refused. What a version 2 device installed carries none: the
    first artefact imported after the upgrade is taken, and sets them."""
    state = dict(state)
    reporting = dict(state.get("reporting") or {})
    reporting.setdefault("ack_issued", None)
    reporting.setdefault("ack_transaction", None)
    state["reporting"] = reporting
    if state.get("policy") is not None:
        state["policy"] = {**state["policy"], "issued": state["policy"].get("issued")}
    state["trust"] = {k: {**v, "issued": v.get("issued"), "trust_id": v.get("trust_id")}
                      for k, v in (state.get("trust") or {}).items()}
    state["authorizations"] = {k: {**v, "issued": v.get("issued")}
                               for k, v in (state.get("authorizations") or {}).items()}
    return state


_V1_CONFIG_DEFAULTS = {"enable": False, "server_identity_check": True, "privacy_hostname": False,
                       "privacy_version": False, "utility_enabled": False, "reservation": False,
                       "transport": "cslu",
                       "url_callhome": "https://tools.cisco.com/its/service/oddce/services/DDCEService"}


def _from_v1(core: dict) -> dict:
    """Version 1 was one untyped document (`core`): same areas, looser shapes, settings stored with their
    defaults filled in."""
    ident = core["identity"]
    config = {k: v for k, v in core["config"].items()
              if v is not None and _V1_CONFIG_DEFAULTS.get(k, object()) != v}
    platform = dict(core.get("platform") or {})
    if "effective_kbps" in platform:
        platform["effective_known"] = True
    utility = core.get("utility")
    comm = core.get("comm") or {}
    codes = {k: {f: v.get(f) for f in ("last_confirmation_code", "last_return_code", "request_code")}
             for k, v in (core.get("auth_meta") or {}).items()}
    request = core.get("auth_request")
    if request is not None:
        request = {"timestamp": request["timestamp"], "mode": request["mode"], "udis": request["udis"],
                   "entitlements": request["entitlements"]}
    return {
        "identity": {"platform": ident["platform"], "hostname": ident["hostname"], "release": ident["release"],
                     "members": ident["members"]},
        "signing_key": core["signing_key"],
        "booted_at": core.get("booted_at") or 0.0,
        "clock": core.get("clock") or {},
        "config": config,
        "usage": core.get("usage") or {},
        "policy": core.get("policy"),
        "reporting": {k: v for k, v in (core.get("reporting") or {}).items()},
        "account": core.get("account"),
        "counters": core.get("counters") or {},
        "seq": core.get("seq") or {},
        "imports": core.get("imports") or {},
        "trust": core.get("trust") or {},
        "authorizations": core.get("authorizations") or {},
        "codes": codes,
        "auth_request": request,
        "reservation_requests": core.get("reservation_requests") or {},
        "plr": core.get("plr") or None,
        "subscriptions": core.get("subscriptions") or {},
        "platform": platform,
        "utility": ({k: utility[k] for k in ("enabled_at", "last_transport_warn", "last_trust_warn",
                                             "last_noack", "warned", "started")} if utility else None),
        "comm": {"failing": bool(comm.get("failing")), "stats": comm.get("stats") or {}} if comm else {},
        "faults": core.get("faults") or {},
        "system": core.get("system") or {},
        "users": core.get("users") or {},
    }
