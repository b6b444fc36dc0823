"""The licensing settings table: every `license smart …` setting declared once.

A row names the setting, its type and default, where it lives in `cisco-smart-license`
(`licensing/config/…`) and in `Cisco-IOS-XE-native` (`native/license/smart/…`), its global-configuration
command and whether the platform and release offer it. The engine's configuration record, its validation,
the YANG edit maps and renderers, the CLI grammar and `show running-config` are all derived from it, so a
new setting is a new row (plus its YANG leaves and a test).

Values are stored as entered: None means "not configured" (running-config shows no line and the engine
applies the setting's effective default).

`license boot level <level> [addon <addon>]` is declared here too (`BOOT_LEVEL`): its value is a pair taken
from the platform's profile (`boot_levels`), held by the platform settings (`Platform.boot_level`,
`boot_addon`) and checked by `PlatformSettings.check_boot_level`; the CLI grammar, `show running-config` and
the native model's `license/boot/level` (edits and renderings) derive from the row."""

from __future__ import annotations

import re
from dataclasses import dataclass, field, make_dataclass
from typing import Callable, Optional

from .errors import DeviceError

TRANSPORTS = ("cslu", "smart", "callhome", "off")
DEFAULT_TRANSPORT = "cslu"
CUSTOMER_INFO_FIELDS = ("id", "name", "street", "city", "state", "country", "postalcode")

DEFAULT_CALLHOME_URL = "https://tools.cisco.com/its/service/oddce/services/DDCEService"
SMART_DEFAULT_URL = "https://smartreceiver.cisco.com/licservice/license"
CSLU_URL_AFTER_DEFAULT = "https://cslu-local:8182/cslu/v1/pi"
CSLU_DISCOVERY_URL = "http://cslu-local:8182/cslu/v1/pi"


# What XML 1.0 cannot hold (C0 controls but tab/LF/CR, U+FFFE/U+FFFF, lone surrogates): a value the device
# stores must be writable to NETCONF and RESTCONF XML alike, whatever channel it came in by.
NOT_XML_TEXT = re.compile("[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")


def check_text(value: str, what: str) -> str:
    if NOT_XML_TEXT.search(value):
        raise DeviceError(f"% Invalid {what}: it holds a character XML cannot carry")
    return value


def _always(profile, release) -> bool:
    return True


def utility_available(profile, release) -> bool:
    """Utility mode: Catalyst 8000V from 17.9.1a (R52)."""
    return bool(release.utility_mode and profile.utility_available(release.key))


def reservation_available(profile, release) -> bool:
    """PLR (`license smart reservation`): Catalyst 8000V from 17.10.1a (R50)."""
    return bool(release.plr and profile.plr_available(release.key))


def vrf_available(profile, release) -> bool:
    return release.at_least("17.9.1")


@dataclass(frozen=True)
class Setting:
    name: str
    kind: str                                  # flag | bool | str | int | enum
    default: object = None                     # the value when not configured (None: absent)
    length: tuple[int, int] = (1, 255)         # str
    range: tuple[int, int] = (0, 0)            # int
    choices: tuple[str, ...] = ()              # enum
    aliases: dict = field(default_factory=dict)  # enum input words that select another value
    no_space: bool = False                     # str: no white space (URLs, identifiers)
    cisco: tuple[str, ...] | None = None       # leaf below cisco-smart-license licensing/config
    cisco_enum: dict = field(default_factory=dict)
    cisco_when: Callable | None = None         # config → whether the cisco leaf is present (choice cases)
    native: tuple[str, ...] | None = None      # leaf below Cisco-IOS-XE-native native/license/smart
    native_enum: dict = field(default_factory=dict)
    cli: str | None = None                     # the configuration command, without its value
    cli_value: str = "WORD"                    # WORD | LINE (takes the rest of the line)
    cli_help: str | None = None                # help name of the value token
    cli_choices: dict = field(default_factory=dict)  # enum: keyword → help text
    available: Callable = _always              # (profile, release) → offered on this device

    def check(self, value):
        """The value as stored, or DeviceError. None restores the default."""
        if value is None:
            return None
        if self.kind in ("flag", "bool"):
            if not isinstance(value, bool):
                raise DeviceError(f"% Invalid {self.name}: expected true or false")
            return value
        if self.kind == "int":
            lo, hi = self.range
            if isinstance(value, bool) or not isinstance(value, int) or not lo <= value <= hi:
                raise DeviceError(f"% Invalid {self.name}: expected {lo}..{hi}")
            return value
        if self.kind == "enum":
            value = self.aliases.get(value, value)
            if value not in self.choices:
                raise DeviceError(f"% Invalid {self.name} {value!r}")
            return value
        lo, hi = self.length
        if not isinstance(value, str) or not lo <= len(value) <= hi:
            raise DeviceError(f"% Invalid {self.name}: expected {lo}..{hi} characters")
        if self.no_space and any(c.isspace() for c in value):
            raise DeviceError(f"% Invalid {self.name} {value!r}")
        return check_text(value, self.name)

    def cli_line(self, value) -> str | None:
        """The running-config line for a stored value (None: no line)."""
        if self.cli is None or value is None or value == self.default:
            return None
        if self.kind in ("flag", "bool"):
            return self.cli if value else f"no {self.cli}"
        return f"{self.cli} {value}"


def _url(name: str, **kw) -> Setting:
    return Setting(name, "str", length=(1, 1024), no_space=True, **kw)


def _smart_case(cfg) -> bool:
    return cfg.transport == "smart"


TRANSPORT_CISCO_ENUM = {t: f"transport-type-{t}" for t in TRANSPORTS}
TRANSPORT_NATIVE_ENUM = {"callhome": "callhome", "smart": "smart", "cslu": "cslu", "off": "Off"}

SETTINGS: tuple[Setting, ...] = (
    Setting("enable", "bool", default=False, cisco=("enable",)),
    Setting("custom_id", "str", cisco=("custom-id",), native=("customer-id",), cli="license smart custom_id",
            cli_help="ID"),
    Setting("transport", "enum", choices=TRANSPORTS, aliases={"automatic": "cslu", "Off": "off", "transport-type-automatic": "cslu"},
            cisco=("transport", "transport-type"), cisco_enum=TRANSPORT_CISCO_ENUM,
            native=("transport-type",), native_enum=TRANSPORT_NATIVE_ENUM, cli="license smart transport",
            cli_choices={"automatic": "Set the transport mode to automatic (CSLU)",
                         "callhome": "Set the transport mode to Callhome", "cslu": "Set the transport mode to CSLU",
                         "off": "Set the transport mode to off", "smart": "Set the transport mode to Smart"}),
    _url("url_smart", cisco=("transport", "transport-smart", "urls", "url-registration"), cisco_when=_smart_case,
         cli="license smart url smart", cli_help="smart_url"),
    _url("url_callhome", native=("url", "name"), cli="license smart url", cli_help="url"),
    _url("url_cslu", cisco=("transport", "transport-cslu", "url-cslu"), native=("url", "cslu"),
         cli="license smart url cslu", cli_help="cslu_or_on-prem_url"),
    _url("url_utility", cisco=("transport", "transport-smart", "urls", "url-utility"), cisco_when=_smart_case,
         native=("url", "utility"), cli="license smart url utility", cli_help="secondary_url"),
    Setting("url_default", "flag", default=False, cisco=("transport", "transport-smart", "url-default"),
            cisco_when=_smart_case, native=("url", "default"), cli="license smart url default"),
    Setting("proxy_address", "str", no_space=True, cli="license smart proxy address",
            cli_help="address_hostname"),
    Setting("proxy_port", "int", range=(1, 65535), cli="license smart proxy port", cli_help="port"),
    Setting("vrf", "str", no_space=True, cli="license smart vrf", cli_help="vrf_string", available=vrf_available),
    Setting("server_identity_check", "bool", default=True, cli="license smart server-identity-check"),
    Setting("privacy_hostname", "flag", default=False, cisco=("privacy", "hostname"),
            native=("privacy", "hostname"), cli="license smart privacy hostname"),
    Setting("privacy_version", "flag", default=False, cisco=("privacy", "version"),
            native=("privacy", "version"), cli="license smart privacy version"),
    Setting("usage_interval", "int", range=(0, 3650), cisco=("usage", "interval"), native=("usage", "interval"),
            cli="license smart usage interval", cli_help="interval_in_days"),
    *(Setting(f"customer_tag{i}", "str", length=(1, 127), cisco=("usage", "customer-tags", f"tag{i}"),
              native=("usage", "customer-tags", f"tag{i}"), cli=f"license smart usage customer-tags tag{i}",
              cli_value="LINE", cli_help="tag_value") for i in range(1, 5)),
    Setting("utility_enabled", "flag", default=False, cisco=("utility", "utility-enable"),
            native=("utility", "enable"), cli="license smart utility", available=utility_available),
    *(Setting(f"customer_info_{f}", "str", length=(1, 250),
              cisco=("utility", "customer-info", "postal-code" if f == "postalcode" else f),
              native=("utility", "customer-info", f), cli=f"license smart utility customer_info {f}",
              cli_value="LINE", cli_help="value", available=utility_available) for f in CUSTOMER_INFO_FIELDS),
    Setting("reservation", "flag", default=False, cli="license smart reservation", available=reservation_available),
)
SETTING = {s.name: s for s in SETTINGS}

# Settings with one meaning in several forms: `license smart privacy all` sets both privacy flags.
PRIVACY_ALL = "license smart privacy all"

LicensingConfig = make_dataclass(
    "LicensingConfig", [(s.name, Optional[object], field(default=None)) for s in SETTINGS], frozen=True,
    namespace={"__doc__": "The licensing configuration as entered (None: not configured); see SETTINGS.",
               "__module__": __name__})


def value(cfg, name: str):
    """The setting's value, its default when not configured (the transport: cslu)."""
    v = getattr(cfg, name)
    if v is None:
        return DEFAULT_TRANSPORT if name == "transport" else SETTING[name].default
    return v


def transport(cfg) -> str:
    return value(cfg, "transport")


def validate(changes: dict, profile, release) -> dict:
    """Checks every change against the table; unknown settings and settings this device does not offer
    are refused. Returns the values as they will be stored."""
    out = {}
    for name, v in changes.items():
        setting = SETTING.get(name)
        if setting is None:
            raise DeviceError(f"% Unknown licensing setting {name!r}")
        if v not in (None, False) and not setting.available(profile, release):
            raise DeviceError(f"% {setting.cli or name} is not supported on this platform or release",
                              "notsupported", field=name)
        try:
            checked = setting.check(v)
        except DeviceError as exc:
            exc.field = exc.field or name
            raise
        out[name] = None if checked == setting.default else checked   # a default is stored as not configured
    return out


def running_config_lines(cfg) -> list[str]:
    """The `license smart …` lines of `show running-config`, in table order."""
    lines = []
    both_private = cfg.privacy_hostname and cfg.privacy_version
    for s in SETTINGS:
        if both_private and s.name in ("privacy_hostname", "privacy_version"):
            if s.name == "privacy_hostname":
                lines.append(PRIVACY_ALL)
            continue
        line = s.cli_line(getattr(cfg, s.name))
        if line is not None:
            lines.append(line)
    return lines


@dataclass(frozen=True)
class BootLevelSetting:
    """`license boot level <level> [addon <addon>]` (None, None: the `no` form, the platform's default
    applies). In Cisco-IOS-XE-native it is the choice `license-choice` of `native/license/boot/level`: one
    case per level, a presence container (with an `addon` leaf where the level takes one) or an empty leaf.
    Levels and addons a model lacks (C8000V `network-premier`, `dna-premier`) are the CLI's alone."""
    name: str = "boot_level"
    cli: str = "license boot level"
    cli_addon: str = "addon"
    native: tuple[str, ...] = ("license", "boot", "level")     # below native/
    native_addon: str = "addon"                                  # the addon leaf of a level's container

    def cli_line(self, level: str | None, addon: str | None) -> str | None:
        """The running-config line of the (level, addon) in effect (None: no line)."""
        if not level:
            return None
        return f"{self.cli} {level}" + (f" {self.cli_addon} {addon}" if addon else "")

    def cli_commands(self, levels, addons) -> list[str]:
        """The configuration commands (grammar patterns, `level`/`addon` arguments) a profile offers."""
        out = []
        for level in levels:
            out.append(f"{self.cli} {level}:level")
            out += [f"{self.cli} {level}:level {self.cli_addon} {addon}:addon" for addon in addons]
        if levels:
            out += [f"no {self.cli}", f"no {self.cli} LINE:rest"]
        return out

    def from_native(self, level: dict | None, where: str = "") -> tuple[str | None, str | None]:
        """The (level, addon) of native `license/boot/level` instance data (a dict with at most one case:
        name → True for an empty leaf, or the container's dict). Raises KeyError naming a member with no
        command behind it (a level's other leaves: `ipbase/switch`, `uck9/disable`, ...)."""
        if not level:
            return None, None
        if len(level) != 1:
            raise ValueError(f"{where}: more than one level: {', '.join(level)}")
        [(name, value)] = level.items()
        if not isinstance(value, dict):
            return name, None
        other = [k for k in value if k != self.native_addon]
        if other:
            raise KeyError(f"{name}/{other[0]}")
        return name, value.get(self.native_addon)

    def to_native(self, level: str | None, addon: str | None) -> dict:
        """native `license/boot/level` instance data for the (level, addon) in effect, before the model
        has had its say (yangdata keeps what the served schema carries)."""
        if not level:
            return {}
        return {level: {self.native_addon: addon} if addon else {}}


BOOT_LEVEL = BootLevelSetting()
