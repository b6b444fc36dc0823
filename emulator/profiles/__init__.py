"""Platform profiles: the licence catalogue of each emulated router platform.

A profile is a YAML data file in this directory (``<name>.yaml``; the file stem is the PID
without ``/K9``).  Drop a file here -- or in a directory passed as ``extra_dirs`` -- to add a
platform; no code change is needed.  Each file is parsed once (YAML safe loader) and cached.
This docstring is the schema of those files; each file starts with a short header naming its
platform and sources.

Public API::

    from emulator.profiles import load_profile, profile_names, Profile, Entitlement, ProfileError
    p = load_profile("C8000V")                 # PID or file stem, case-insensitive
    p = load_profile("ISR4331/K9", extra_dirs=["/my/profiles"])   # extra dirs are searched first
    profile_names() -> list[str]              # PIDs of the bundled profiles, sorted
    p.entitlement(key) -> Entitlement         # name, alias, short tag, full tag (KeyError if unknown)
    p.hseck9_entitlement((17, 6, 1)) -> Entitlement   # DNA_HSEC or the device-specific HSEC licence
    p.entitlements -> tuple[Entitlement, ...]

Sources: ``spec/profiles.md`` (extracted from Cisco's guide "Smart Licensing Using Policy for Cisco
Enterprise Routing Platforms"; ``Lnnnn`` = guide line, ``[C:file]`` = ``spec/captures/file``).
Values the guide does not print are marked ``# inferred`` in the YAML *and* listed in the
``inferred`` field of the mapping that holds them (profile level, section level or entitlement
level), so code can tell facts from assumptions.  Releases are quoted strings (``"17.10.1a"``: an
unquoted 17.10 would be read as the float 17.1).

Profile fields (YAML key = attribute)
-------------------------------------
pid                 PID as in the UDI, e.g. ``C8300-1N1S-6T``, ``ISR4331/K9``.
family              ISR1K, ISR4K, ASR1K, C8200, C8300, C8500, C8000V, CSR1000V, ISRV, ISR1100TSG.
description         Product description (``show version``/inventory style text).
virtual             True for the virtual platforms (C8000V, CSR1000V).
serial_prefix       First characters of serials (FDO, FGL, JAD...; ``9`` for virtual platforms).
default_serial      A serial of that family printed in the guide; 11 characters (virtual: starts
                    with ``9``; physical: starts with ``serial_prefix``).
min_release         First SLP release for the platform (``"17.3.2"``, ``"17.4.1"``).
supports_plr        PLR v3 supported (C8000V / CSR1000V only); ``plr_min_release`` (``"17.10.1a"``).
supports_utility    Utility mode (MSLA) supported (C8000V autonomous only); ``utility_min_release``.
slac_return_allowed False where a SLAC cannot be returned by the user (C8500, L8801).
dlc_supported       Device Led Conversion (ISR1K, ISR4K, ASR1K; L2260).
pak_supported       PAK licences can exist (ISR1K, ISR4K, ASR1K, CSR1000V; L1267-1276).
cssm_product_type   CSSM "Product Type" column (``CAT8300``, ``4400ISR``...).
software_id         ``Software ID:`` of ``show license tech`` / RUM asset name (full regid form).
hseck9              :class:`HseckSpec` -- ``dna_hsec_from`` (``"17.6.1a"`` on ISR1K/ISR4K,
                    ``always`` elsewhere), ``device_specific`` (tag of the device-specific HSEC
                    licence, e.g. ``ISR_4400_Hsec``, or null), ``license_feature`` (the
                    ``license feature hseck9`` config command exists, L8625).
throughput          :class:`ThroughputSpec` -- the SLAC rule R3 (``traffic``: ``encrypted`` or
                    ``combined``; ``slac_threshold_mbps``: 250), ``level_scope`` (what the level
                    command throttles: ``crypto`` = encrypted traffic, ``total`` = all traffic,
                    ``cef`` = unencrypted forwarding, licence-gated, not subject to the SLAC rule),
                    ``command``, ``levels`` (:class:`ThroughputLevel`: ``keyword``, ``help``,
                    ``mbps`` (bidirectional; null = unthrottled), ``suffix`` (licence-name suffix),
                    ``entitlement`` (licence that unlocks the level), ``min_release``,
                    ``requires_slac`` (unless given: scope is not ``cef`` and ``mbps`` is null or
                    above the threshold)), ``default_level`` and ``auto_slac_levels`` (levels
                    whose configuration requests a SLAC itself).
agent_version       :class:`AgentVersionSpec` -- ``default`` and ``by_release``
                    (``{"17.3": "5.0.6_rel/47", ...}``; the greatest train <= release wins).
boot_levels         :class:`BootLevels` -- ``levels``, ``addons``, ``default_level``,
                    ``default_addon`` (``license boot level`` is not in the guide: inferred).
show_version        :class:`ShowVersionSpec` -- ``software_name`` (``ISR Software``),
                    ``image`` (``X86_64_LINUX_IOSD-UNIVERSALK9-M``), ``image_file`` (with a
                    ``{version}`` placeholder, e.g. ``17.03.02``), ``processor_line``.
filesystems         ``{name: bytes total}`` of the device's file systems as ``dir`` shows them
                    (``bootflash``, ``harddisk``, ``nvram``); optional, each name defaults to the
                    emulator's (a C8000V's 8 GB disk, 32 MiB NVRAM).
entitlements        tuple of :class:`Entitlement`.
inferred            profile fields that are assumptions, not guide facts; nested ones are listed
                    with their section (``throughput.default_level``, ``agent_version.default``).
source              path of the YAML file (not a YAML key).

Entitlement fields
------------------
name                unique key; the ``show license summary`` License column / RUM feature name
                    (``network-advantage_T2``, ``hseck9``).  Where two entitlements would share
                    one (device-specific HSEC next to DNA_HSEC), the device-specific one is keyed
                    by its tag.
aliases             other names accepted by ``entitlement()`` (e.g. ``network-advantage`` for the
                    variant of the default throughput level).
display_name        name before the parentheses in ``show license usage``/``all`` (default: name).
tag / full_tag      short tag and ``regid.YYYY-MM.com.cisco.<TAG>,1.0_<uuid>``.  When the guide
                    never prints the full tag it is synthetic: same regid date as its siblings,
                    UUID = uuid5(NAMESPACE_DNS, "<TAG>.entitlement.slpemu.invalid") -- a version-5
                    UUID, recognisable next to Cisco's random (version-4) ones.  A YAML entry may
                    give ``regid_date`` instead of ``full_tag`` to have it generated.
description, feature_name, feature_description, version ("1.0")
enforcement         ``unenforced`` | ``enforced`` | ``export`` (``enforcement_display`` gives
                    ``NOT ENFORCED`` / ``ENFORCED`` / ``EXPORT RESTRICTED``).
term                ``perpetual`` | ``subscription``.
license_type_display  ``Perpetual`` | ``Subscription`` | ``Export`` (``License type:`` line).
hseck9              True for HSECK9 licences (DNA_HSEC and device-specific ones), which are
                    exactly the ``export`` ones.
min_release         first release in which the licence can be used (inclusive).
max_release         first release in which it can no longer be *newly* requested (exclusive);
                    a licence already in use keeps working (L1158).
throughput_mbps, throughput_level, boot_level   for throughput/tier variants.
cssm_name, cssm_description   name and description in CSSM / SLAC / authorization views
                    (default: display_name / description).
display_overrides   release-dependent display: ``[{before: "17.7.1", display_name, description}]``.
inferred            entitlement fields that are assumptions.

YAML defaults: display_name = name; description = display_name; feature_name = name;
feature_description = feature_name; version = "1.0"; enforcement = export if hseck9 else
unenforced; term = perpetual; license_type_display from term; cssm_* from display_name/description.

Inheritance
-----------
A file may ``extends: <name>`` another one: mappings are merged key by key, lists and scalars
replaced; ``entitlements_remove`` (names), then ``entitlements_prepend`` and
``entitlements_append`` (each replacing inherited entries of the same name) edit the inherited
entitlement list.  A file in an extra directory may extend the bundled profile of the same name.

A file whose name starts with ``_`` (``_catalyst8000.yaml``) is a family base: it holds what
several platforms share, needs no ``pid``, and is reached only through ``extends: _catalyst8000``
-- it is not a platform (:func:`profile_names` skips it and :func:`load_profile` refuses it).
"""

from __future__ import annotations

import re
import threading
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable, Mapping, Sequence, Union

import yaml

# libyaml's safe loader when present (about 10x faster), else PyYAML's pure-Python one.
_YAML_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)

__all__ = [
    "AgentVersionSpec",
    "BootLevels",
    "DisplayOverride",
    "Entitlement",
    "FAMILIES",
    "HseckSpec",
    "Profile",
    "ProfileError",
    "Release",
    "ShowVersionSpec",
    "ThroughputLevel",
    "ThroughputSpec",
    "clear_cache",
    "load_profile",
    "parse_release",
    "profile_names",
    "synthetic_full_tag",
    "synthetic_uuid",
]

BUNDLED_DIR = Path(__file__).resolve().parent

FAMILIES = frozenset(
    {"ISR1K", "ISR4K", "ASR1K", "C8200", "C8300", "C8500", "C8000V", "CSR1000V", "ISRV", "ISR1100TSG"}
)
ENFORCEMENT_DISPLAY = {"unenforced": "NOT ENFORCED", "enforced": "ENFORCED", "export": "EXPORT RESTRICTED"}
TERM_DISPLAY = {"perpetual": "Perpetual", "subscription": "Subscription"}
LICENSE_TYPE_DISPLAYS = frozenset({"Perpetual", "Subscription", "Export"})
TRAFFIC_KINDS = frozenset({"encrypted", "combined"})
LEVEL_SCOPES = frozenset({"crypto", "total", "cef"})
DNA_HSEC_TAG = "DNA_HSEC"
HSECK9 = "hseck9"

FULL_TAG_RE = re.compile(r"^regid\.(\d{4}-\d{2})\.com\.cisco\.([^,]+),1\.0_([0-9a-f-]{36})$")
_RELEASE_RE = re.compile(r"^(\d+)\.(\d+)(?:\.(\d+))?[a-z]*$")
_TRAIN_RE = re.compile(r"^(\d+)\.(\d+)$")
_SYNTHETIC_NS = "entitlement.slpemu.invalid"

Release = tuple[int, int, int]
ReleaseLike = Union[str, Sequence[int]]


class ProfileError(ValueError):
    """A profile cannot be found, or its YAML is invalid."""


# --------------------------------------------------------------------------- helpers


def parse_release(value: ReleaseLike) -> Release:
    """``"17.6.1a"`` / ``"17.10.1"`` / ``(17, 6, 1)`` -> ``(17, 6, 1)``; letter suffixes are ignored."""
    if isinstance(value, str):
        m = _RELEASE_RE.match(value.strip())
        if not m:
            raise ValueError(f"not a release: {value!r}")
        return (int(m.group(1)), int(m.group(2)), int(m.group(3) or 0))
    if isinstance(value, (tuple, list)) and 2 <= len(value) <= 3 and all(isinstance(v, int) for v in value):
        parts = tuple(value) + (0,) * (3 - len(value))
        return (parts[0], parts[1], parts[2])
    raise ValueError(f"not a release: {value!r}")


def synthetic_uuid(tag: str) -> str:
    """Deterministic UUID for a tag whose real UUID the guide never prints."""
    return str(uuid.uuid5(uuid.NAMESPACE_DNS, f"{tag}.{_SYNTHETIC_NS}"))


def synthetic_full_tag(tag: str, regid_date: str) -> str:
    """``regid.<regid_date>.com.cisco.<tag>,1.0_<synthetic uuid>``."""
    return f"regid.{regid_date}.com.cisco.{tag},1.0_{synthetic_uuid(tag)}"


def _rel_ge(release: ReleaseLike, bound: str | None) -> bool:
    return bound is None or parse_release(release) >= parse_release(bound)


def _rel_lt(release: ReleaseLike, bound: str | None) -> bool:
    return bound is None or parse_release(release) < parse_release(bound)


# --------------------------------------------------------------------------- dataclasses


@dataclass(frozen=True)
class DisplayOverride:
    """Display name/description used for releases strictly before ``before``."""

    before: str
    display_name: str
    description: str


@dataclass(frozen=True)
class Entitlement:
    name: str
    tag: str
    full_tag: str
    display_name: str
    description: str
    feature_name: str
    feature_description: str
    version: str
    enforcement: str
    term: str
    license_type_display: str
    hseck9: bool = False
    aliases: tuple[str, ...] = ()
    min_release: str | None = None
    max_release: str | None = None
    throughput_mbps: int | None = None
    throughput_level: str | None = None
    boot_level: str | None = None
    cssm_name: str = ""
    cssm_description: str = ""
    display_overrides: tuple[DisplayOverride, ...] = ()
    inferred: tuple[str, ...] = ()

    @property
    def enforcement_display(self) -> str:
        """``NOT ENFORCED`` / ``ENFORCED`` / ``EXPORT RESTRICTED``."""
        return ENFORCEMENT_DISPLAY[self.enforcement]

    @property
    def export_controlled(self) -> bool:
        return self.enforcement == "export"

    def available_in(self, release: ReleaseLike) -> bool:
        """Can the licence be newly requested/used on ``release`` (min <= release < max)?"""
        return _rel_ge(release, self.min_release) and _rel_lt(release, self.max_release)

    def display_for(self, release: ReleaseLike | None = None) -> tuple[str, str]:
        """``(display_name, description)`` as shown by ``release`` (None = newest form)."""
        if release is not None:
            for ov in self.display_overrides:
                if _rel_lt(release, ov.before):
                    return ov.display_name, ov.description
        return self.display_name, self.description


@dataclass(frozen=True)
class HseckSpec:
    dna_hsec_from: str  # "always" or a release string
    device_specific: str | None = None  # tag of the device-specific HSEC licence
    license_feature: bool = False  # `license feature hseck9` config command exists


@dataclass(frozen=True)
class ThroughputLevel:
    keyword: str
    help: str
    mbps: int | None  # None = unthrottled
    suffix: str | None = None
    entitlement: str | None = None
    min_release: str | None = None
    requires_slac: bool = False
    inferred: tuple[str, ...] = ()

    @property
    def kbps(self) -> int | None:
        return None if self.mbps is None else self.mbps * 1000


@dataclass(frozen=True)
class ThroughputSpec:
    traffic: str  # encrypted | combined (which traffic the 250 Mbps SLAC rule counts)
    slac_threshold_mbps: int
    level_scope: str  # crypto | total | cef
    command: str | None
    levels: tuple[ThroughputLevel, ...]
    default_level: str
    auto_slac_levels: tuple[str, ...] = ()
    inferred: tuple[str, ...] = ()

    def level(self, keyword: str) -> ThroughputLevel:
        """The level for a CLI keyword (case-insensitive); KeyError if the CLI does not offer it."""
        for lv in self.levels:
            if lv.keyword == keyword:
                return lv
        low = str(keyword).lower()
        for lv in self.levels:
            if lv.keyword.lower() == low:
                return lv
        raise KeyError(keyword)

    @property
    def default(self) -> ThroughputLevel:
        return self.level(self.default_level)


@dataclass(frozen=True)
class AgentVersionSpec:
    default: str
    by_release: tuple[tuple[str, str], ...] = ()  # (train "17.3", version), ascending

    def for_release(self, release: ReleaseLike | None = None) -> str:
        if release is None:
            return self.default
        rel = parse_release(release)
        best = None
        for train, version in self.by_release:
            major, minor = (int(x) for x in train.split("."))
            if (major, minor) <= rel[:2]:
                best = version
        return best if best is not None else self.default


@dataclass(frozen=True)
class BootLevels:
    levels: tuple[str, ...] = ()
    addons: tuple[str, ...] = ()
    default_level: str | None = None
    default_addon: str | None = None


@dataclass(frozen=True)
class ShowVersionSpec:
    software_name: str
    image: str
    image_file: str
    processor_line: str


@dataclass(frozen=True)
class Profile:
    pid: str
    family: str
    description: str
    virtual: bool
    serial_prefix: str
    default_serial: str
    min_release: str
    supports_plr: bool
    plr_min_release: str | None
    supports_utility: bool
    utility_min_release: str | None
    slac_return_allowed: bool
    dlc_supported: bool
    pak_supported: bool
    cssm_product_type: str
    software_id: str
    hseck9: HseckSpec
    throughput: ThroughputSpec
    agent_version: AgentVersionSpec
    boot_levels: BootLevels
    show_version: ShowVersionSpec
    entitlements: tuple[Entitlement, ...]
    inferred: tuple[str, ...] = ()
    filesystems: Mapping[str, int] = field(default_factory=dict, hash=False)
    source: str = ""
    _index: Mapping[str, Entitlement] = field(default_factory=dict, repr=False, compare=False, hash=False)
    _index_ci: Mapping[str, Entitlement] = field(default_factory=dict, repr=False, compare=False, hash=False)

    # -- lookups ---------------------------------------------------------------
    def find_entitlement(self, key: str) -> Entitlement | None:
        """Like :meth:`entitlement` but returns None when unknown."""
        if not isinstance(key, str):
            return None
        key = key.strip()
        return self._index.get(key) or self._index_ci.get(key.lower())

    def entitlement(self, key: str) -> Entitlement:
        """Entitlement by name, alias, short tag, full tag or (unique) feature name; KeyError if unknown.

        Exact matches win over case-insensitive ones.
        """
        ent = self.find_entitlement(key)
        if ent is None:
            raise KeyError(f"{self.pid}: unknown entitlement {key!r}")
        return ent

    def resolve(self, key: str, release: ReleaseLike | None = None) -> Entitlement:
        """Entitlement a user means by ``key`` on ``release`` (for the ``set-usage`` test RPC).

        The generic name ``hseck9`` follows the release (:meth:`hseck9_entitlement`); every other
        key resolves as :meth:`entitlement`.
        """
        if release is not None and isinstance(key, str) and key.strip().lower() == HSECK9:
            return self.hseck9_entitlement(release)
        return self.entitlement(key)

    @property
    def dna_hsec(self) -> Entitlement:
        return self.entitlement(DNA_HSEC_TAG)

    def hseck9_entitlement(self, release: ReleaseLike) -> Entitlement:
        """The HSECK9 licence newly requested on ``release``: DNA_HSEC, or the device-specific tag
        on ISR1K/ISR4K before ``hseck9.dna_hsec_from`` (17.6.1a; L1154)."""
        spec = self.hseck9
        if spec.device_specific and spec.dna_hsec_from != "always" and not _rel_ge(release, spec.dna_hsec_from):
            return self.entitlement(spec.device_specific)
        return self.dna_hsec

    def throughput_entitlement(self, boot_level: str, level: str) -> Entitlement:
        """The ``<boot_level>_<suffix>`` licence for a throughput level keyword; KeyError if none."""
        lv = self.throughput.level(level)
        for e in self.entitlements:
            if e.boot_level == boot_level and e.throughput_level == lv.keyword:
                return e
        raise KeyError(f"{self.pid}: no {boot_level} licence for throughput level {level!r}")

    # -- release-dependent features ----------------------------------------------
    def plr_available(self, release: ReleaseLike) -> bool:
        return self.supports_plr and _rel_ge(release, self.plr_min_release)

    def utility_available(self, release: ReleaseLike) -> bool:
        return self.supports_utility and _rel_ge(release, self.utility_min_release)


# --------------------------------------------------------------------------- building / validation

_PROFILE_KEYS = {
    "pid", "family", "description", "virtual", "serial_prefix", "default_serial", "min_release",
    "supports_plr", "plr_min_release", "supports_utility", "utility_min_release",
    "slac_return_allowed", "dlc_supported", "pak_supported", "cssm_product_type", "software_id",
    "hseck9", "throughput", "agent_version", "boot_levels", "show_version", "entitlements", "inferred",
    "filesystems",
}
_MERGE_KEYS = {"extends", "entitlements_prepend", "entitlements_append", "entitlements_remove"}
_ENT_KEYS = {
    "name", "aliases", "display_name", "tag", "full_tag", "regid_date", "description", "feature_name",
    "feature_description", "version", "enforcement", "term", "license_type_display", "hseck9",
    "min_release", "max_release", "throughput_mbps", "throughput_level", "boot_level", "cssm_name",
    "cssm_description", "display_overrides", "inferred",
}
_LEVEL_KEYS = {"keyword", "help", "mbps", "suffix", "entitlement", "min_release", "requires_slac", "inferred"}
_THROUGHPUT_KEYS = {
    "traffic", "slac_threshold_mbps", "level_scope", "command", "levels", "default_level",
    "auto_slac_levels", "inferred",
}
_HSECK9_KEYS = {"dna_hsec_from", "device_specific", "license_feature", "inferred"}
_AGENT_KEYS = {"default", "by_release", "inferred"}
_BOOT_KEYS = {"levels", "addons", "default_level", "default_addon", "inferred"}
_SHOW_FIELDS = ("software_name", "image", "image_file", "processor_line")
_FILESYSTEM_NAMES = {"bootflash", "harddisk", "nvram"}


class _Ctx:
    def __init__(self, where: str):
        self.where = where

    def fail(self, msg: str) -> ProfileError:
        return ProfileError(f"{self.where}: {msg}")

    def mapping(self, value: Any, what: str) -> dict:
        if not isinstance(value, dict):
            raise self.fail(f"{what} must be a mapping")
        return value

    def keys(self, raw: dict, allowed: set, required: Iterable[str], what: str) -> None:
        unknown = sorted(set(raw) - allowed)
        if unknown:
            raise self.fail(f"{what}: unknown key(s) {unknown}")
        missing = [k for k in required if k not in raw]
        if missing:
            raise self.fail(f"{what}: missing key(s) {missing}")

    def string(self, value: Any, what: str, optional: bool = False) -> str | None:
        if value is None and optional:
            return None
        if not isinstance(value, str) or not value:
            raise self.fail(f"{what} must be a non-empty string, got {value!r}")
        return value

    def boolean(self, value: Any, what: str) -> bool:
        if not isinstance(value, bool):
            raise self.fail(f"{what} must be true/false, got {value!r}")
        return value

    def integer(self, value: Any, what: str, optional: bool = False) -> int | None:
        if value is None and optional:
            return None
        if isinstance(value, bool) or not isinstance(value, int) or value < 0:
            raise self.fail(f"{what} must be a non-negative integer, got {value!r}")
        return value

    def release(self, value: Any, what: str, optional: bool = False) -> str | None:
        if value is None and optional:
            return None
        if not isinstance(value, str):
            raise self.fail(f"{what} must be a quoted release string like \"17.6.1a\", got {value!r}")
        try:
            parse_release(value)
        except ValueError:
            raise self.fail(f"{what}: bad release {value!r}") from None
        return value

    def strings(self, value: Any, what: str) -> tuple[str, ...]:
        if value is None:
            return ()
        if not isinstance(value, list) or not all(isinstance(v, str) and v for v in value):
            raise self.fail(f"{what} must be a list of strings")
        return tuple(value)


def _build_entitlement(raw: Any, ctx: _Ctx, idx: int) -> Entitlement:
    what = f"entitlements[{idx}]"
    raw = ctx.mapping(raw, what)
    ctx.keys(raw, _ENT_KEYS, ("name", "tag"), what)
    name = ctx.string(raw["name"], f"{what}.name")
    what = f"entitlement {name!r}"
    tag = ctx.string(raw["tag"], f"{what}.tag")
    inferred = list(ctx.strings(raw.get("inferred"), f"{what}.inferred"))
    hseck9 = ctx.boolean(raw.get("hseck9", False), f"{what}.hseck9")

    if "full_tag" in raw:
        full_tag = ctx.string(raw["full_tag"], f"{what}.full_tag")
        if "regid_date" in raw:
            raise ctx.fail(f"{what}: give full_tag or regid_date, not both")
    elif "regid_date" in raw:
        date = ctx.string(raw["regid_date"], f"{what}.regid_date")
        if not re.fullmatch(r"\d{4}-\d{2}", date):
            raise ctx.fail(f"{what}.regid_date must look like 2018-12")
        full_tag = synthetic_full_tag(tag, date)
        if "full_tag" not in inferred:
            inferred.append("full_tag")
    else:
        raise ctx.fail(f"{what}: full_tag (or regid_date) is required")
    m = FULL_TAG_RE.match(full_tag)
    if not m:
        raise ctx.fail(f"{what}: malformed full_tag {full_tag!r}")
    if m.group(2) != tag:
        raise ctx.fail(f"{what}: full_tag {full_tag!r} does not carry tag {tag!r}")

    bad = sorted(set(inferred) - (_ENT_KEYS - {"inferred", "regid_date"}))
    if bad:
        raise ctx.fail(f"{what}.inferred names unknown field(s) {bad}")

    display_name = ctx.string(raw.get("display_name", name), f"{what}.display_name")
    description = ctx.string(raw.get("description", display_name), f"{what}.description")
    feature_name = ctx.string(raw.get("feature_name", name), f"{what}.feature_name")
    feature_description = ctx.string(raw.get("feature_description", feature_name), f"{what}.feature_description")
    version = raw.get("version", "1.0")
    if version != "1.0":
        raise ctx.fail(f"{what}.version must be the string \"1.0\" (got {version!r})")
    enforcement = raw.get("enforcement", "export" if hseck9 else "unenforced")
    if enforcement not in ENFORCEMENT_DISPLAY:
        raise ctx.fail(f"{what}.enforcement must be one of {sorted(ENFORCEMENT_DISPLAY)}")
    if hseck9 != (enforcement == "export"):
        raise ctx.fail(f"{what}: hseck9 licences, and only they, are export-controlled")
    term = raw.get("term", "perpetual")
    if term not in TERM_DISPLAY:
        raise ctx.fail(f"{what}.term must be one of {sorted(TERM_DISPLAY)}")
    ltd = raw.get("license_type_display", TERM_DISPLAY[term])
    if ltd not in LICENSE_TYPE_DISPLAYS:
        raise ctx.fail(f"{what}.license_type_display must be one of {sorted(LICENSE_TYPE_DISPLAYS)}")
    if ltd == "Export" and not hseck9:
        raise ctx.fail(f"{what}: license_type_display Export is for HSECK9 licences only")

    overrides = []
    for j, ov in enumerate(raw.get("display_overrides") or []):
        ov = ctx.mapping(ov, f"{what}.display_overrides[{j}]")
        ctx.keys(ov, {"before", "display_name", "description"}, ("before", "display_name"), f"{what}.display_overrides[{j}]")
        od = ctx.string(ov["display_name"], f"{what}.display_overrides[{j}].display_name")
        overrides.append(
            DisplayOverride(
                before=ctx.release(ov["before"], f"{what}.display_overrides[{j}].before"),
                display_name=od,
                description=ctx.string(ov.get("description", od), f"{what}.display_overrides[{j}].description"),
            )
        )

    min_release = ctx.release(raw.get("min_release"), f"{what}.min_release", optional=True)
    max_release = ctx.release(raw.get("max_release"), f"{what}.max_release", optional=True)
    if min_release and max_release and parse_release(min_release) >= parse_release(max_release):
        raise ctx.fail(f"{what}: min_release must be below max_release")

    return Entitlement(
        name=name,
        tag=tag,
        full_tag=full_tag,
        display_name=display_name,
        description=description,
        feature_name=feature_name,
        feature_description=feature_description,
        version=version,
        enforcement=enforcement,
        term=term,
        license_type_display=ltd,
        hseck9=hseck9,
        aliases=ctx.strings(raw.get("aliases"), f"{what}.aliases"),
        min_release=min_release,
        max_release=max_release,
        throughput_mbps=ctx.integer(raw.get("throughput_mbps"), f"{what}.throughput_mbps", optional=True),
        throughput_level=ctx.string(raw.get("throughput_level"), f"{what}.throughput_level", optional=True),
        boot_level=ctx.string(raw.get("boot_level"), f"{what}.boot_level", optional=True),
        cssm_name=ctx.string(raw.get("cssm_name", display_name), f"{what}.cssm_name"),
        cssm_description=ctx.string(raw.get("cssm_description", description), f"{what}.cssm_description"),
        display_overrides=tuple(overrides),
        inferred=tuple(inferred),
    )


def _build_throughput(raw: Any, ctx: _Ctx) -> ThroughputSpec:
    raw = ctx.mapping(raw, "throughput")
    ctx.keys(raw, _THROUGHPUT_KEYS, ("traffic", "slac_threshold_mbps", "level_scope", "levels", "default_level"), "throughput")
    traffic = raw["traffic"]
    if traffic not in TRAFFIC_KINDS:
        raise ctx.fail(f"throughput.traffic must be one of {sorted(TRAFFIC_KINDS)}")
    scope = raw["level_scope"]
    if scope not in LEVEL_SCOPES:
        raise ctx.fail(f"throughput.level_scope must be one of {sorted(LEVEL_SCOPES)}")
    threshold = ctx.integer(raw["slac_threshold_mbps"], "throughput.slac_threshold_mbps")
    if not isinstance(raw["levels"], list) or not raw["levels"]:
        raise ctx.fail("throughput.levels must be a non-empty list")
    levels = []
    seen: set[str] = set()
    for i, lr in enumerate(raw["levels"]):
        w = f"throughput.levels[{i}]"
        lr = ctx.mapping(lr, w)
        ctx.keys(lr, _LEVEL_KEYS, ("keyword", "mbps"), w)
        kw = lr["keyword"]
        if isinstance(kw, int) and not isinstance(kw, bool):
            kw = str(kw)
        kw = ctx.string(kw, f"{w}.keyword")
        if kw.lower() in seen:
            raise ctx.fail(f"{w}: duplicate keyword {kw!r}")
        seen.add(kw.lower())
        lv_inferred = ctx.strings(lr.get("inferred"), f"{w}.inferred")
        if set(lv_inferred) - (_LEVEL_KEYS - {"inferred"}):
            raise ctx.fail(f"{w}.inferred names unknown field(s) {sorted(set(lv_inferred) - _LEVEL_KEYS)}")
        mbps = ctx.integer(lr["mbps"], f"{w}.mbps", optional=True)
        if "requires_slac" in lr:
            requires = ctx.boolean(lr["requires_slac"], f"{w}.requires_slac")
        else:
            requires = scope != "cef" and (mbps is None or mbps > threshold)
        levels.append(
            ThroughputLevel(
                keyword=kw,
                help=ctx.string(lr.get("help", kw), f"{w}.help"),
                mbps=mbps,
                suffix=ctx.string(lr.get("suffix"), f"{w}.suffix", optional=True),
                entitlement=ctx.string(lr.get("entitlement"), f"{w}.entitlement", optional=True),
                min_release=ctx.release(lr.get("min_release"), f"{w}.min_release", optional=True),
                requires_slac=requires,
                inferred=lv_inferred,
            )
        )
    default_level = raw["default_level"]
    if isinstance(default_level, int) and not isinstance(default_level, bool):
        default_level = str(default_level)
    spec = ThroughputSpec(
        traffic=traffic,
        slac_threshold_mbps=threshold,
        level_scope=scope,
        command=ctx.string(raw.get("command"), "throughput.command", optional=True),
        levels=tuple(levels),
        default_level=ctx.string(default_level, "throughput.default_level"),
        auto_slac_levels=tuple(str(v) for v in (raw.get("auto_slac_levels") or [])),
        inferred=ctx.strings(raw.get("inferred"), "throughput.inferred"),
    )
    try:
        spec.default
    except KeyError:
        raise ctx.fail(f"throughput.default_level {spec.default_level!r} is not one of the levels") from None
    for kw in spec.auto_slac_levels:
        try:
            spec.level(kw)
        except KeyError:
            raise ctx.fail(f"throughput.auto_slac_levels: unknown level {kw!r}") from None
    return spec


def _build_profile(raw: dict, path: Path) -> Profile:
    ctx = _Ctx(str(path))
    ctx.keys(
        raw,
        _PROFILE_KEYS,
        (
            "pid", "family", "description", "virtual", "serial_prefix", "default_serial", "min_release",
            "hseck9", "throughput", "agent_version", "entitlements",
        ),
        "profile",
    )
    pid = ctx.string(raw["pid"], "pid")
    ctx.where = f"{path} ({pid})"
    family = raw["family"]
    if family not in FAMILIES:
        raise ctx.fail(f"family must be one of {sorted(FAMILIES)}, got {family!r}")
    virtual = ctx.boolean(raw["virtual"], "virtual")
    prefix = ctx.string(raw["serial_prefix"], "serial_prefix")
    serial = ctx.string(raw["default_serial"], "default_serial")
    if not re.fullmatch(r"[0-9A-Z]{11}", serial):
        raise ctx.fail(f"default_serial {serial!r} must be 11 upper-case alphanumerics")
    if virtual and not (prefix == "9" and serial.startswith("9")):
        raise ctx.fail("virtual platforms have serial_prefix 9 and serials starting with 9")
    if not serial.startswith(prefix):
        raise ctx.fail(f"default_serial {serial!r} does not start with serial_prefix {prefix!r}")

    bad = sorted(set(ctx.strings(raw.get("inferred"), "inferred")) - (_PROFILE_KEYS - {"inferred", "entitlements"}))
    if bad:
        raise ctx.fail(f"inferred names unknown profile field(s) {bad}")

    # entitlements
    if not isinstance(raw["entitlements"], list) or not raw["entitlements"]:
        raise ctx.fail("entitlements must be a non-empty list")
    ents = tuple(_build_entitlement(e, ctx, i) for i, e in enumerate(raw["entitlements"]))

    index: dict[str, Entitlement] = {}
    owner_ci: dict[str, Entitlement] = {}
    for e in ents:
        keys = {e.name, e.tag, e.full_tag, *e.aliases}
        for k in keys:
            other = owner_ci.get(k.lower())
            if other is not None and other is not e:
                raise ctx.fail(f"{k!r} names both {other.name!r} and {e.name!r}")
            owner_ci[k.lower()] = e
            index[k] = e
    # feature names: only when unambiguous and not shadowing another key
    by_feature: dict[str, list[Entitlement]] = {}
    for e in ents:
        by_feature.setdefault(e.feature_name.lower(), []).append(e)
    for fname, group in by_feature.items():
        if len(group) == 1 and fname not in owner_ci:
            owner_ci[fname] = group[0]
            index.setdefault(group[0].feature_name, group[0])

    # hseck9
    hr = ctx.mapping(raw["hseck9"], "hseck9")
    ctx.keys(hr, _HSECK9_KEYS, ("dna_hsec_from",), "hseck9")
    dna_from = hr["dna_hsec_from"]
    if dna_from != "always":
        dna_from = ctx.release(dna_from, "hseck9.dna_hsec_from")
    hspec = HseckSpec(
        dna_hsec_from=dna_from,
        device_specific=ctx.string(hr.get("device_specific"), "hseck9.device_specific", optional=True),
        license_feature=ctx.boolean(hr.get("license_feature", False), "hseck9.license_feature"),
    )
    dna = [e for e in ents if e.tag == DNA_HSEC_TAG]
    if len(dna) != 1 or not dna[0].hseck9:
        raise ctx.fail("exactly one DNA_HSEC entitlement flagged hseck9 is required")
    expected_hsec = {DNA_HSEC_TAG}
    if hspec.device_specific:
        ds = index.get(hspec.device_specific)
        if ds is None or ds.tag != hspec.device_specific or not ds.hseck9:
            raise ctx.fail(f"hseck9.device_specific {hspec.device_specific!r} is not an hseck9 entitlement tag")
        expected_hsec.add(hspec.device_specific)
    elif dna_from != "always":
        raise ctx.fail("hseck9.device_specific is required when dna_hsec_from is a release")
    flagged = {e.tag for e in ents if e.hseck9}
    if flagged != expected_hsec:
        raise ctx.fail(f"hseck9-flagged entitlements {sorted(flagged)} != {sorted(expected_hsec)}")

    # throughput
    tspec = _build_throughput(raw["throughput"], ctx)
    level_kws = {lv.keyword for lv in tspec.levels}
    for lv in tspec.levels:
        if lv.entitlement and lv.entitlement not in index:
            raise ctx.fail(f"throughput level {lv.keyword!r}: unknown entitlement {lv.entitlement!r}")
    for e in ents:
        if e.throughput_level is not None and e.throughput_level not in level_kws:
            raise ctx.fail(f"entitlement {e.name!r}: throughput_level {e.throughput_level!r} is not a throughput level")

    # agent version
    ar = ctx.mapping(raw["agent_version"], "agent_version")
    ctx.keys(ar, _AGENT_KEYS, ("default",), "agent_version")
    pairs = []
    for train, ver in (ctx.mapping(ar.get("by_release") or {}, "agent_version.by_release")).items():
        if not isinstance(train, str) or not _TRAIN_RE.match(train):
            raise ctx.fail(f"agent_version.by_release key {train!r} must be a quoted train like \"17.3\"")
        pairs.append((train, ctx.string(ver, f"agent_version.by_release[{train}]")))
    pairs.sort(key=lambda p: tuple(int(x) for x in p[0].split(".")))
    aspec = AgentVersionSpec(default=ctx.string(ar["default"], "agent_version.default"), by_release=tuple(pairs))

    # boot levels
    br = ctx.mapping(raw.get("boot_levels") or {}, "boot_levels")
    ctx.keys(br, _BOOT_KEYS, (), "boot_levels")
    bspec = BootLevels(
        levels=ctx.strings(br.get("levels"), "boot_levels.levels"),
        addons=ctx.strings(br.get("addons"), "boot_levels.addons"),
        default_level=ctx.string(br.get("default_level"), "boot_levels.default_level", optional=True),
        default_addon=ctx.string(br.get("default_addon"), "boot_levels.default_addon", optional=True),
    )
    if bspec.default_level and bspec.default_level not in bspec.levels:
        raise ctx.fail("boot_levels.default_level is not one of boot_levels.levels")
    if bspec.default_addon and bspec.default_addon not in bspec.addons:
        raise ctx.fail("boot_levels.default_addon is not one of boot_levels.addons")
    all_boot = set(bspec.levels) | set(bspec.addons)
    for e in ents:
        if e.boot_level is not None and e.boot_level not in all_boot:
            raise ctx.fail(f"entitlement {e.name!r}: boot_level {e.boot_level!r} is not in boot_levels")

    # show version
    sr = ctx.mapping(raw.get("show_version") or {}, "show_version")
    ctx.keys(sr, {*_SHOW_FIELDS, "inferred"}, _SHOW_FIELDS, "show_version")
    sspec = ShowVersionSpec(**{k: ctx.string(sr[k], f"show_version.{k}") for k in _SHOW_FIELDS})

    nested: list[str] = []
    for section, sraw, allowed in (
        ("hseck9", hr, _HSECK9_KEYS),
        ("throughput", raw["throughput"], _THROUGHPUT_KEYS),
        ("agent_version", ar, _AGENT_KEYS),
        ("boot_levels", br, _BOOT_KEYS),
        ("show_version", sr, set(_SHOW_FIELDS)),
    ):
        for item in ctx.strings(sraw.get("inferred"), f"{section}.inferred"):
            if item.split(".", 1)[0] not in allowed - {"inferred"}:
                raise ctx.fail(f"{section}.inferred names unknown field {item!r}")
            nested.append(f"{section}.{item}")
    nested_inferred = tuple(nested)

    supports_plr = ctx.boolean(raw.get("supports_plr", False), "supports_plr")
    supports_utility = ctx.boolean(raw.get("supports_utility", False), "supports_utility")
    plr_min = ctx.release(raw.get("plr_min_release"), "plr_min_release", optional=True)
    util_min = ctx.release(raw.get("utility_min_release"), "utility_min_release", optional=True)
    if supports_plr and not plr_min:
        raise ctx.fail("supports_plr needs plr_min_release")
    if supports_utility and not util_min:
        raise ctx.fail("supports_utility needs utility_min_release")
    fsr = ctx.mapping(raw.get("filesystems") or {}, "filesystems")
    filesystems = {}
    for fs_name, size in fsr.items():
        if fs_name not in _FILESYSTEM_NAMES or isinstance(size, bool) or not isinstance(size, int) or size < 0:
            raise ctx.fail(f"filesystems: {fs_name!r}: {size!r} is not a file system of "
                           f"{sorted(_FILESYSTEM_NAMES)} with a size in bytes")
        filesystems[fs_name] = size
    software_id = ctx.string(raw.get("software_id"), "software_id")
    if not FULL_TAG_RE.match(software_id):
        raise ctx.fail(f"software_id {software_id!r} is not a regid tag")

    return Profile(
        pid=pid,
        family=family,
        description=ctx.string(raw["description"], "description"),
        virtual=virtual,
        serial_prefix=prefix,
        default_serial=serial,
        min_release=ctx.release(raw["min_release"], "min_release"),
        supports_plr=supports_plr,
        plr_min_release=plr_min,
        supports_utility=supports_utility,
        utility_min_release=util_min,
        slac_return_allowed=ctx.boolean(raw.get("slac_return_allowed", True), "slac_return_allowed"),
        dlc_supported=ctx.boolean(raw.get("dlc_supported", False), "dlc_supported"),
        pak_supported=ctx.boolean(raw.get("pak_supported", False), "pak_supported"),
        cssm_product_type=ctx.string(raw.get("cssm_product_type"), "cssm_product_type"),
        software_id=software_id,
        hseck9=hspec,
        throughput=tspec,
        agent_version=aspec,
        boot_levels=bspec,
        show_version=sspec,
        entitlements=ents,
        filesystems=filesystems,
        inferred=ctx.strings(raw.get("inferred"), "inferred") + nested_inferred,
        source=str(path),
        _index=index,
        _index_ci=owner_ci,
    )


# --------------------------------------------------------------------------- loading / caching

_lock = threading.RLock()
_raw_cache: dict[Path, dict] = {}
_profile_cache: dict[tuple[Path, tuple[Path, ...]], Profile] = {}
_lookup_cache: dict[tuple[str, tuple[Path, ...]], Path] = {}


def clear_cache() -> None:
    """Forget every parsed file and built profile (for tests editing profile files)."""
    with _lock:
        _raw_cache.clear()
        _profile_cache.clear()
        _lookup_cache.clear()


def _is_base(path: Path) -> bool:
    """A family base (``_<name>.yaml``): reached through ``extends`` only, never a platform."""
    return path.stem.startswith("_")


def _read(path: Path) -> dict:
    with _lock:
        raw = _raw_cache.get(path)
        if raw is None:
            try:
                with open(path, encoding="utf-8") as fh:
                    raw = yaml.load(fh, Loader=_YAML_LOADER)
            except yaml.YAMLError as exc:
                raise ProfileError(f"{path}: invalid YAML: {exc}") from None
            except OSError as exc:
                raise ProfileError(f"{path}: cannot read: {exc}") from None
            if not isinstance(raw, dict):
                raise ProfileError(f"{path}: a profile must be a YAML mapping")
            if not (_is_base(path) or isinstance(raw.get("pid"), str) or isinstance(raw.get("extends"), str)):
                raise ProfileError(f"{path}: missing pid (only a file that 'extends' another may omit it)")
            _raw_cache[path] = raw
        return raw


def _dirs(extra_dirs: Iterable[Union[str, Path]] | None) -> tuple[Path, ...]:
    out: list[Path] = []
    if isinstance(extra_dirs, (str, Path)):
        extra_dirs = [extra_dirs]
    for d in list(extra_dirs or ()) + [BUNDLED_DIR]:
        p = Path(d).expanduser().resolve()
        if p not in out:
            out.append(p)
    return tuple(out)


def _files(directory: Path) -> list[Path]:
    if not directory.is_dir():
        raise ProfileError(f"profile directory {directory} does not exist")
    return sorted(p for p in directory.iterdir() if p.suffix in (".yaml", ".yml") and p.is_file())


def _platform_files(dirs: tuple[Path, ...]) -> list[Path]:
    return [f for d in dirs for f in _files(d) if not _is_base(f)]


def _match_keys(path: Path) -> set[str]:
    """Names a platform file answers to: its stem and its pid (or, without a pid, the profile it extends)."""
    raw = _read(path)
    own = raw.get("pid") if isinstance(raw.get("pid"), str) else raw["extends"]
    return {path.stem.lower(), own.strip().lower()}


def _candidates(name: str, dirs: tuple[Path, ...]) -> list[Path]:
    """Files ``name`` designates, extra dirs first: a base by its stem, platforms by stem or pid."""
    key = name.strip().lower()
    if key.startswith("_"):
        return [f for d in dirs for f in _files(d) if _is_base(f) and f.stem.lower() == key]
    return [f for f in _platform_files(dirs) if key in _match_keys(f)]


def _file_pid(path: Path, dirs: tuple[Path, ...]) -> str:
    raw = _read(path)
    if isinstance(raw.get("pid"), str):
        return raw["pid"]
    pid = _resolved_raw(path, dirs).get("pid")
    if not isinstance(pid, str):
        raise ProfileError(f"{path}: missing pid")
    return pid


def _deep_merge(base: dict, over: dict) -> dict:
    out = dict(base)
    for k, v in over.items():
        if isinstance(v, dict) and isinstance(out.get(k), dict):
            out[k] = _deep_merge(out[k], v)
        else:
            out[k] = v
    return out


def _list_key(raw: dict, key: str, path: Path) -> list:
    value = raw.get(key) or []
    if not isinstance(value, list):
        raise ProfileError(f"{path}: {key} must be a list")
    return value


def _ent_name(entry: Any) -> Any:
    return entry.get("name") if isinstance(entry, dict) else None


def _resolved_raw(path: Path, dirs: tuple[Path, ...], chain: tuple[Path, ...] = ()) -> dict:
    if path in chain:
        raise ProfileError(f"{path}: circular 'extends' ({' -> '.join(str(p) for p in chain + (path,))})")
    raw = _read(path)
    parent_name = raw.get("extends")
    if parent_name is None:
        stray = sorted(_MERGE_KEYS & set(raw))
        if stray:
            raise ProfileError(f"{path}: {stray} need 'extends'")
        return dict(raw)
    if not isinstance(parent_name, str):
        raise ProfileError(f"{path}: extends must be a profile name")
    parents = [p for p in _candidates(parent_name, dirs) if p != path and p not in chain]
    if not parents:
        raise ProfileError(f"{path}: extends unknown profile {parent_name!r}")
    base = _resolved_raw(parents[0], dirs, chain + (path,))
    merged = _deep_merge(base, {k: v for k, v in raw.items() if k not in _MERGE_KEYS})
    remove = _list_key(raw, "entitlements_remove", path)
    prepend = _list_key(raw, "entitlements_prepend", path)
    append = _list_key(raw, "entitlements_append", path)
    replaced = {_ent_name(e) for e in prepend + append} - {None}
    dropped = (set(remove) | replaced) - {None}
    kept = [e for e in merged.get("entitlements") or [] if _ent_name(e) not in dropped]
    merged["entitlements"] = list(prepend) + kept + list(append)
    return merged


def _load_path(path: Path, dirs: tuple[Path, ...]) -> Profile:
    key = (path, dirs)
    with _lock:
        prof = _profile_cache.get(key)
        if prof is None:
            prof = _build_profile(_resolved_raw(path, dirs), path)
            _profile_cache[key] = prof
        return prof


def profile_names(extra_dirs: Iterable[Union[str, Path]] | None = None) -> list[str]:
    """PIDs of every platform profile (bundled, plus those in ``extra_dirs``), sorted; bases excluded."""
    with _lock:
        dirs = _dirs(extra_dirs)
        names = {_file_pid(f, dirs) for f in _platform_files(dirs)}
    return sorted(names)


def load_profile(name: str, extra_dirs: Iterable[Union[str, Path]] | None = None) -> Profile:
    """Load a platform profile by PID or file stem (case-insensitive).

    ``extra_dirs`` are searched before the bundled profiles, so a user file with the same stem
    or PID overrides (or, with ``extends``, refines) a bundled one.  Unknown names -- and family
    bases, which are not platforms -- raise :class:`ProfileError` listing the known PIDs.
    """
    if not isinstance(name, str) or not name.strip():
        raise ProfileError(f"profile name must be a non-empty string, got {name!r}")
    dirs = _dirs(extra_dirs)
    key = (name.strip().lower(), dirs)
    with _lock:
        path = _lookup_cache.get(key)
        if path is None:
            found = [f for f in _candidates(name, dirs) if not _is_base(f)]
            if not found:
                raise ProfileError(
                    f"unknown platform profile {name!r}; known profiles: {', '.join(profile_names(extra_dirs))}"
                )
            path = _lookup_cache[key] = found[0]
        return _load_path(path, dirs)
