"""Tests of the platform profiles (emulator/profiles/*.yaml) and their loader."""

from __future__ import annotations

import copy
import dataclasses
import hashlib
import json
import re
import uuid
from pathlib import Path

import pytest
import yaml

from emulator.profiles import (
    FAMILIES,
    Entitlement,
    Profile,
    ProfileError,
    clear_cache,
    load_profile,
    parse_release,
    profile_names,
    synthetic_full_tag,
    synthetic_uuid,
)

PROFILE_DIR = Path(__file__).resolve().parents[2] / "emulator" / "profiles"
FULL_TAG_RE = re.compile(r"^regid\.(\d{4}-\d{2})\.com\.cisco\.[^,]+,1\.0_([0-9a-f-]{36})$")
DNA_HSEC_FULL = "regid.2019-03.com.cisco.DNA_HSEC,1.0_509c41ab-05a8-431f-95fe-ec28086e8844"
REQUIRED = {
    "C8000V": "C8000V.yaml",
    "C8300-1N1S-6T": "C8300-1N1S-6T.yaml",
    "C8200-1N-4T": "C8200-1N-4T.yaml",
    "C8500-12X": "C8500-12X.yaml",
    "ISR4331/K9": "ISR4331.yaml",
    "ISR4431/K9": "ISR4431.yaml",
    "C1111-8P": "C1111-8P.yaml",
    "ASR1001-X": "ASR1001-X.yaml",
}
C8000_FAMILIES = {"C8200", "C8300", "C8500", "C8000V", "CSR1000V"}
ALL = profile_names()


# --------------------------------------------------------------------------- bundled catalogue


def test_required_profiles_are_bundled_as_files():
    for pid, fname in REQUIRED.items():
        assert (PROFILE_DIR / fname).is_file(), fname
        assert pid in ALL
    assert ALL == sorted(ALL)
    assert len(ALL) == len(set(ALL))


@pytest.mark.parametrize("pid", ALL)
def test_profile_loads_and_validates(pid):
    p = load_profile(pid)
    assert isinstance(p, Profile)
    assert p.pid == pid
    assert p.family in FAMILIES
    assert p.entitlements and all(isinstance(e, Entitlement) for e in p.entitlements)

    names = [e.name.lower() for e in p.entitlements]
    tags = [e.tag.lower() for e in p.entitlements]
    full = [e.full_tag for e in p.entitlements]
    assert len(names) == len(set(names)), "duplicate entitlement names"
    assert len(tags) == len(set(tags)), "duplicate tags"
    assert len(full) == len(set(full)), "duplicate full tags"

    for e in p.entitlements:
        assert FULL_TAG_RE.match(e.full_tag), e.full_tag
        assert f".com.cisco.{e.tag},1.0_" in e.full_tag
        assert e.enforcement in {"unenforced", "enforced", "export"}
        assert e.term in {"perpetual", "subscription"}
        assert e.license_type_display in {"Perpetual", "Subscription", "Export"}
        assert e.version == "1.0"
        assert e.hseck9 == (e.enforcement == "export") == (e.enforcement_display == "EXPORT RESTRICTED")
        if not e.hseck9:
            assert e.license_type_display == {"perpetual": "Perpetual", "subscription": "Subscription"}[e.term]
        # every lookup key leads back to its entitlement
        for key in (e.name, e.tag, e.full_tag, *e.aliases):
            assert p.entitlement(key) is e

    # exactly the HSEC entitlements are flagged hseck9
    hsec_like = {e.tag for e in p.entitlements if e.tag == "DNA_HSEC" or re.search(r"_HSEC$", e.tag, re.I)}
    assert {e.tag for e in p.entitlements if e.hseck9} == hsec_like
    expected = {"DNA_HSEC"} | ({p.hseck9.device_specific} if p.hseck9.device_specific else set())
    assert hsec_like == expected
    assert p.dna_hsec.full_tag == DNA_HSEC_FULL
    assert p.dna_hsec.license_type_display == "Export"
    assert p.entitlement("hseck9").hseck9

    # identity
    assert re.fullmatch(r"[0-9A-Z]{11}", p.default_serial)
    assert p.default_serial.startswith(p.serial_prefix)
    if p.virtual:
        assert p.default_serial.startswith("9") and p.serial_prefix == "9"
    assert FULL_TAG_RE.match(p.software_id)
    assert parse_release(p.min_release) >= (17, 3, 2)

    # throughput rule R3
    assert p.throughput.slac_threshold_mbps == 250
    assert p.throughput.traffic == ("combined" if p.family in {"C8000V", "CSR1000V"} else "encrypted")
    assert p.throughput.default.requires_slac is False
    for lv in p.throughput.levels:
        if p.throughput.level_scope == "cef":
            assert lv.requires_slac is False
        else:
            assert lv.requires_slac == (lv.mbps is None or lv.mbps > 250), lv


# Digest of every field of each loaded profile (entitlements, levels, specs, inferred lists...; the
# source file by name).  It pins what the YAML files *mean*, so that reorganising them (family
# bases, `extends`, comments) is proven not to change a platform.  A deliberate catalogue change
# updates the digest: the failure message prints the new one.
PROFILE_DIGESTS = {
    "ASR1001-X": "33d48d610d93b157",
    "C1111-8P": "2fd433fda9d09cbe",
    "C8000V": "70b28f572e6cb886",
    "C8200-1N-4T": "a4c5909a971bcc16",
    "C8300-1N1S-4T2X": "833bf4ef9c8f6125",
    "C8300-1N1S-6T": "ce451614df288525",
    "C8500-12X": "4b7042f6f223b0db",
    "CSR1000V": "797625e75a124f85",
    "ISR4331/K9": "0f59d73ab5bf80ca",
    "ISR4351/K9": "d4a669a0e6718835",
    "ISR4431/K9": "800d0cf048bd076f",
    "ISR4461/K9": "e16791a6e1744d70",
}


def _profile_digest(p: Profile) -> str:
    data = dataclasses.asdict(p)
    del data["_index"], data["_index_ci"]
    data["source"] = Path(p.source).name
    return hashlib.sha256(json.dumps(data, sort_keys=True, separators=(",", ":")).encode()).hexdigest()[:16]


def test_bundled_platforms_are_exactly_the_pinned_ones():
    assert ALL == sorted(PROFILE_DIGESTS)


@pytest.mark.parametrize("pid", ALL)
def test_loaded_profile_matches_its_pinned_digest(pid):
    digest = _profile_digest(load_profile(pid))
    assert digest == PROFILE_DIGESTS[pid], f"{pid}: loaded profile changed (new digest {digest})"


@pytest.mark.parametrize("pid", ALL)
def test_inferred_full_tags_are_synthetic_and_guide_ones_are_not(pid):
    for e in load_profile(pid).entitlements:
        regid_date, tag_uuid = FULL_TAG_RE.match(e.full_tag).groups()
        version = uuid.UUID(tag_uuid).version
        if "full_tag" in e.inferred:
            assert tag_uuid == synthetic_uuid(e.tag)
            assert e.full_tag == synthetic_full_tag(e.tag, regid_date)
            assert version == 5
        else:
            assert version == 4, f"{e.tag}: a guide full tag should be a real (random) UUID"


def test_same_tag_has_same_full_tag_on_every_platform():
    seen: dict[str, str] = {}
    for pid in ALL:
        for e in load_profile(pid).entitlements:
            assert seen.setdefault(e.tag, e.full_tag) == e.full_tag, e.tag


def test_inferred_full_tags_are_marked_in_the_yaml_text():
    for path in sorted(PROFILE_DIR.glob("*.yaml")):
        text = path.read_text()
        raw = yaml.safe_load(text)
        for ent in [e for key in ("entitlements", "entitlements_prepend", "entitlements_append") for e in raw.get(key) or []]:
            line = next(ln for ln in text.splitlines() if ln.strip().startswith("full_tag:") and ent["full_tag"] in ln)
            if "full_tag" in (ent.get("inferred") or []):
                assert "# inferred" in line, (path.name, ent["name"])
            else:
                assert "inferred" not in line, (path.name, ent["name"])


# --------------------------------------------------------------------------- guide facts


def test_c8300_tier_licences_from_the_guide():
    p = load_profile("C8300-1N1S-6T")
    na = p.entitlement("network-advantage_T2")
    assert na.tag == "NWSTACK_T2_A"
    assert na.full_tag == "regid.2020-10.com.cisco.NWSTACK_T2_A,1.0_83edc508-0ee4-468e-8962-0a4fde995e80"
    assert (na.display_name, na.description, na.feature_name, na.feature_description) == ("network-advantage_T2",) * 4
    assert (na.enforcement_display, na.license_type_display) == ("NOT ENFORCED", "Perpetual")
    assert na.inferred == ("min_release",)
    da = p.entitlement("DSTACK_T2_A")
    assert da.name == "dna-advantage_T2"
    assert da.full_tag == "regid.2020-10.com.cisco.DSTACK_T2_A,1.0_b072e613-aa2c-4ed0-ab46-ae91ddc7dfb5"
    assert (da.term, da.license_type_display) == ("subscription", "Subscription")
    assert p.entitlement("network-advantage_10M").full_tag == (
        "regid.2018-12.com.cisco.ESR_P_10M_A,1.0_8946a476-b904-4d0a-9d0b-2b1e5de891a3"
    )
    assert p.entitlement("dna-advantage_10M").tag == "DNA_P_10M_A"
    assert p.entitlement("network-advantage_250M").tag == "ESR_P_250M_A"
    assert "full_tag" in p.entitlement("network-advantage_250M").inferred
    assert p.software_id == "regid.2020-05.com.cisco.C8300BE,1.0_5b66594f-27ab-4615-9d15-4aad4969497f"
    assert p.throughput.command == "platform hardware throughput crypto"
    assert p.throughput_entitlement("network-advantage", "T2") is na
    assert p.throughput_entitlement("dna-advantage", "t2") is da


def test_dna_hsec_fields():
    e = load_profile("C8300-1N1S-6T").entitlement("DNA_HSEC")
    assert e.full_tag == DNA_HSEC_FULL
    assert e.name == "hseck9" and e.feature_name == "hseck9"
    assert e.display_name == "Router US Export Lic. for DNA"
    assert e.description == "U.S. Export Restriction Compliance license for DNA based Routers"
    assert e.enforcement_display == "EXPORT RESTRICTED"
    assert e.display_for((17, 7, 1)) == ("Router US Export Lic. for DNA", e.description)
    assert e.display_for("17.6.1") == ("hseck9", "hseck9")  # CSR1000V 17.6.1, L4559
    assert load_profile("CSR1000V").entitlement("hseck9").full_tag == DNA_HSEC_FULL


@pytest.mark.parametrize(
    "pid, device_specific",
    [
        ("ISR4431/K9", "ISR_4400_Hsec"),
        ("ISR4461/K9", "ISR_4400_Hsec"),
        ("ISR4331/K9", "ISR_4331_Hsec"),
        ("ISR4351/K9", "ISR_4351_Hsec"),
        ("C1111-8P", "ISR_1100_8P_Hsec"),
    ],
)
def test_hseck9_naming_by_release_on_isr(pid, device_specific):
    p = load_profile(pid)
    assert p.hseck9.dna_hsec_from == "17.6.1a"
    assert p.hseck9.device_specific == device_specific
    assert p.hseck9_entitlement((17, 3, 2)).tag == device_specific
    assert p.hseck9_entitlement((17, 5, 1)).tag == device_specific
    assert p.hseck9_entitlement((17, 6, 1)).tag == "DNA_HSEC"
    assert p.hseck9_entitlement("17.6.1a").tag == "DNA_HSEC"
    assert p.hseck9_entitlement((17, 9, 1)).tag == "DNA_HSEC"
    ds = p.entitlement(device_specific)
    assert ds.hseck9 and ds.display_name == "hseck9" and ds.license_type_display == "Perpetual"
    assert ds.available_in((17, 5, 1)) and not ds.available_in((17, 6, 1))
    assert not p.dna_hsec.available_in((17, 5, 1)) and p.dna_hsec.available_in((17, 6, 1))
    # the set-usage name `hseck9` follows the release
    assert p.resolve("hseck9", (17, 5, 1)) is ds
    assert p.resolve("HSECK9", (17, 6, 1)) is p.dna_hsec
    assert p.resolve(device_specific, (17, 9, 1)) is ds  # an explicit tag is honoured


def test_isr4431_full_values():
    p = load_profile("ISR4431/K9")
    assert p.entitlement("ISR_4400_Hsec").cssm_description == "U.S. Export Restriction Compliance license for 4400 series"
    assert p.entitlement("appxk9").full_tag == (
        "regid.2015-01.com.cisco.ISR_4400_Application,1.0_da87444e-68bb-4821-8aab-63f8531a0430"
    )
    assert p.entitlement("booster_performance").tag == "ISR_4431_BOOST"
    assert p.entitlement("ISR_4431_1G_Performance").cssm_description == "Performance on Demand License for 4430 Series"
    assert p.throughput.level("boost").entitlement == "booster_performance"
    assert p.family == "ISR4K" and p.dlc_supported and p.pak_supported


def test_isr4331_and_c1111_guide_tags():
    p = load_profile("ISR4331")
    assert p.entitlement("ISR_4331_Hsec").full_tag == (
        "regid.2015-02.com.cisco.ISR_4331_Hsec,1.0_7998f136-248d-4ee9-94be-2b561c04a51e"
    )
    assert p.entitlement("uck9").tag == "ISR_4331_UnifiedCommunication"
    c = load_profile("C1111-8P")
    assert c.entitlement("ISR_1100_8P_Hsec").full_tag == (
        "regid.2017-08.com.cisco.ISR_1100_8P_Hsec,1.0_34a5e7e7-722a-41ab-bdad-d53d5a3cac14"
    )
    assert c.entitlement("FoundationSuiteK9").full_tag.endswith("_6f4a1f6f-b607-45cb-8bd0-d672ac06a314")
    assert c.throughput.default.mbps is None and c.show_version.image == "ARMV8EL_LINUX_IOSD-UNIVERSALK9-M"


def test_platform_flags():
    c8500 = load_profile("C8500-12X")
    assert c8500.slac_return_allowed is False
    assert c8500.hseck9.license_feature is False
    assert load_profile("C8300-1N1S-6T").slac_return_allowed is True

    v = load_profile("C8000V")
    assert v.virtual and v.supports_plr and v.supports_utility
    assert v.plr_min_release == "17.10.1a" and v.utility_min_release == "17.9.1a"
    assert not v.plr_available((17, 9, 1)) and v.plr_available((17, 10, 1))
    assert v.utility_available((17, 9, 1)) and not v.utility_available((17, 8, 1))
    assert v.min_release == "17.4.1"
    assert v.default_serial == "96QKIABBZ1H"
    assert v.throughput.traffic == "combined"
    assert set(v.throughput.auto_slac_levels) == {"500", "1000", "2500", "5000"}

    for pid in ALL:
        p = load_profile(pid)
        if p.family not in {"C8000V", "CSR1000V"}:
            assert not p.supports_plr, pid
        if p.family != "C8000V":
            assert not p.supports_utility, pid
        assert p.dlc_supported == (p.family in {"ISR1K", "ISR4K", "ASR1K"}), pid
        assert (p.hseck9.dna_hsec_from == "17.6.1a") == (p.family in {"ISR1K", "ISR4K"}), pid
        assert p.slac_return_allowed == (p.family != "C8500"), pid


def test_min_releases():
    assert load_profile("C8300-1N1S-6T").min_release == "17.3.2"
    assert load_profile("C8200-1N-4T").min_release == "17.4.1"
    assert load_profile("ISR4431/K9").min_release == "17.3.2"
    assert load_profile("ASR1001-X").min_release == "17.3.2"


def test_throughput_levels():
    c8300 = load_profile("C8300-1N1S-6T").throughput
    assert [lv.keyword for lv in c8300.levels][:3] == ["100M", "10M", "15M"]  # CLI order, L8716
    assert c8300.level("250M").requires_slac is False
    assert c8300.level("500M").requires_slac is True
    assert c8300.level("T1").requires_slac is False
    assert c8300.level("T2").requires_slac is True and c8300.level("T2").help == "T2(up to 2 gbps) aggregate thput"
    v = load_profile("C8000V").throughput
    assert v.level("T1").kbps == 100000  # L8794
    assert v.level("T4").mbps is None and v.level("T4").requires_slac
    assert v.level("2500").suffix == "2.5G"
    with pytest.raises(KeyError):
        c8300.level("T4")
    isr = load_profile("ISR4331/K9").throughput
    assert isr.level_scope == "cef" and isr.traffic == "encrypted"


def test_agent_versions():
    c8300, c8200 = load_profile("C8300-1N1S-6T"), load_profile("C8200-1N-4T")
    assert c8300.agent_version.for_release((17, 7, 1)) == "5.3.16_rel/55"
    assert c8200.agent_version.for_release("17.7.1a") == "5.3.15_rel/49"
    assert c8300.agent_version.for_release((17, 9, 1)) == "5.3.16_rel/55"
    assert load_profile("ISR4461/K9").agent_version.for_release((17, 3, 2)) == "5.0.6_rel/47"
    assert load_profile("C1111-8P").agent_version.for_release((17, 4, 1)) == "5.0.6_rel/47"
    assert c8300.agent_version.for_release(None) == c8300.agent_version.default


# --------------------------------------------------------------------------- aliases / lookups


@pytest.mark.parametrize("pid, default_level", [("C8000V", "250"), ("C8300-1N1S-6T", "250M")])
def test_set_usage_aliases_on_c8000(pid, default_level):
    p = load_profile(pid)
    suffix = p.throughput.level(default_level).suffix
    assert p.entitlement("network-advantage").name == f"network-advantage_{suffix}"
    assert p.entitlement("dna-advantage").name == f"dna-advantage_{suffix}"
    assert p.entitlement("hseck9").tag == "DNA_HSEC"
    assert p.resolve("hseck9", (17, 12, 1)).tag == "DNA_HSEC"
    assert p.entitlement("Router US Export Lic. for DNA").tag == "DNA_HSEC"
    assert p.entitlement("NETWORK-ADVANTAGE_T2").tag == "NWSTACK_T2_A"  # case-insensitive fallback
    assert p.entitlement(DNA_HSEC_FULL).name == "hseck9"
    with pytest.raises(KeyError):
        p.entitlement("no-such-licence")
    assert p.find_entitlement("no-such-licence") is None


@pytest.mark.parametrize("pid", ALL)
def test_generic_aliases_point_at_the_default_level(pid):
    p = load_profile(pid)
    levels = set(p.boot_levels.levels) | set(p.boot_levels.addons)
    for e in p.entitlements:
        for alias in e.aliases:
            if alias in levels and e.throughput_level is not None:
                assert e.throughput_level == p.throughput.default_level, (e.name, alias)
                assert e.boot_level == alias
    if p.family in C8000_FAMILIES | {"ASR1K"}:
        for boot in p.boot_levels.levels[:3] + p.boot_levels.addons:
            ent = p.entitlement(boot)
            assert ent is p.throughput_entitlement(boot, p.throughput.default_level)
            # every level the CLI offers has a licence for every boot level
            for lv in p.throughput.levels:
                assert p.throughput_entitlement(boot, lv.keyword).throughput_mbps == lv.mbps


def test_profile_lookup_is_case_insensitive_and_cached():
    a = load_profile("ISR4331/K9")
    assert load_profile("isr4331") is a
    assert load_profile("  Isr4331/k9 ") is a
    assert load_profile("c8000v") is load_profile("C8000V")


def test_unknown_pid_raises_profile_error_listing_known_ones():
    with pytest.raises(ProfileError) as exc:
        load_profile("C9999-NOPE")
    msg = str(exc.value)
    assert "C9999-NOPE" in msg
    for pid in REQUIRED:
        assert pid in msg
    with pytest.raises(ProfileError):
        load_profile("")


def test_profiles_are_frozen():
    p = load_profile("C8000V")
    with pytest.raises(dataclasses.FrozenInstanceError):
        p.pid = "X"  # type: ignore[misc]
    with pytest.raises(dataclasses.FrozenInstanceError):
        p.entitlements[0].name = "X"  # type: ignore[misc]
    assert isinstance(p.entitlements, tuple)
    hash(p.entitlements[0])


def test_extends_variants():
    base, variant = load_profile("C8300-1N1S-6T"), load_profile("C8300-1N1S-4T2X")
    assert variant.default_serial == "FDO2250A0J5"
    assert variant.entitlements == base.entitlements
    assert variant.show_version.processor_line == "cisco C8300-1N1S-4T2X (1RU) processor"
    assert variant.show_version.software_name == base.show_version.software_name
    csr = load_profile("CSR1000V")
    assert csr.family == "CSR1000V" and not csr.supports_utility and csr.supports_plr
    assert csr.entitlement("ax_10G").license_type_display == "Subscription"
    assert len(csr.entitlements) == len(load_profile("C8000V").entitlements) + 1


def test_parse_release():
    assert parse_release("17.6.1a") == (17, 6, 1)
    assert parse_release("17.10.1a") == (17, 10, 1)
    assert parse_release((17, 3)) == (17, 3, 0)
    assert parse_release([17, 3, 2]) == (17, 3, 2)
    with pytest.raises(ValueError):
        parse_release("seventeen")


# --------------------------------------------------------------------------- extra directories


def _minimal(pid="TEST-RTR1") -> dict:
    return {
        "pid": pid,
        "family": "C8300",
        "description": "Test router",
        "virtual": False,
        "serial_prefix": "TST",
        "default_serial": "TST12345678",
        "min_release": "17.3.2",
        "cssm_product_type": "TEST",
        "software_id": synthetic_full_tag("TESTRTR", "2020-05"),
        "hseck9": {"dna_hsec_from": "always", "device_specific": None, "license_feature": True},
        "throughput": {
            "traffic": "encrypted",
            "slac_threshold_mbps": 250,
            "level_scope": "crypto",
            "command": "platform hardware throughput crypto",
            "default_level": "T1",
            "levels": [{"keyword": "T1", "help": "T1", "mbps": 100, "suffix": "T1"}],
        },
        "agent_version": {"default": "5.3.16_rel/55"},
        "show_version": {"software_name": "x", "image": "y", "image_file": "z", "processor_line": "cisco TEST"},
        "entitlements": [
            {"name": "hseck9", "tag": "DNA_HSEC", "full_tag": DNA_HSEC_FULL, "hseck9": True,
             "license_type_display": "Export"},
            {"name": "test-advantage_T1", "aliases": ["test-advantage"], "tag": "TEST_T1_A",
             "regid_date": "2020-10", "throughput_level": "T1", "throughput_mbps": 100},
        ],
    }


def _replace_regid(ent: dict, full_tag: str) -> None:
    ent.pop("regid_date")
    ent["full_tag"] = full_tag


def _write(directory: Path, name: str, data) -> Path:
    path = directory / name
    path.write_text(data if isinstance(data, str) else yaml.safe_dump(data, sort_keys=False))
    return path


def test_extra_dir_adds_a_profile(tmp_path):
    _write(tmp_path, "test-rtr1.yaml", _minimal())
    assert "TEST-RTR1" in profile_names(extra_dirs=[tmp_path])
    assert "TEST-RTR1" not in profile_names()
    p = load_profile("test-rtr1", extra_dirs=[tmp_path])
    assert p.pid == "TEST-RTR1" and p.source.endswith("test-rtr1.yaml")
    e = p.entitlement("test-advantage")
    assert e.name == "test-advantage_T1"
    assert e.full_tag == synthetic_full_tag("TEST_T1_A", "2020-10") and "full_tag" in e.inferred
    assert e.display_name == e.description == e.feature_name == e.feature_description == "test-advantage_T1"
    assert (e.enforcement, e.term, e.license_type_display, e.version) == ("unenforced", "perpetual", "Perpetual", "1.0")
    with pytest.raises(ProfileError):
        load_profile("test-rtr1")  # not visible without the extra dir


def test_extra_dir_overrides_a_bundled_profile(tmp_path):
    bundled = load_profile("C8000V")
    data = _minimal("C8000V")
    data.update(family="C8000V", virtual=True, serial_prefix="9", default_serial="9ABCDEFGHIJ")
    _write(tmp_path, "C8000V.yaml", data)
    p = load_profile("C8000V", extra_dirs=[tmp_path])
    assert p.default_serial == "9ABCDEFGHIJ" and len(p.entitlements) == 2
    assert load_profile("C8000V") is bundled  # the bundled one is untouched
    assert profile_names(extra_dirs=[tmp_path]).count("C8000V") == 1


def test_extra_dir_can_refine_the_bundled_profile_of_the_same_name(tmp_path):
    _write(
        tmp_path,
        "C8000V.yaml",
        'extends: C8000V\ndefault_serial: "9ZZZZZZZZZZ"\nthroughput: {default_level: "100"}\n'
        "entitlements_remove: [network-essentials_T4]\n",
    )
    p = load_profile("C8000V", extra_dirs=[str(tmp_path)])
    bundled = load_profile("C8000V")
    assert p.pid == "C8000V" and p.default_serial == "9ZZZZZZZZZZ"
    assert profile_names(extra_dirs=[tmp_path]) == ALL
    assert p.throughput.default_level == "100" and p.throughput.command == bundled.throughput.command
    assert len(p.entitlements) == len(bundled.entitlements) - 1
    assert p.find_entitlement("network-essentials_T4") is None


def test_a_family_base_is_shared_but_is_not_a_platform(tmp_path):
    base = _minimal()
    del base["pid"]
    _write(tmp_path, "_testfamily.yaml", base)
    _write(tmp_path, "test-a.yaml", "extends: _testfamily\npid: TEST-A\n")
    _write(tmp_path, "test-b.yaml", 'extends: _testfamily\npid: TEST-B\ndefault_serial: "TSTBBBBBBBB"\n')
    names = profile_names(extra_dirs=[tmp_path])
    assert {"TEST-A", "TEST-B"} <= set(names) and not any("testfamily" in n.lower() for n in names)
    a, b = load_profile("TEST-A", extra_dirs=[tmp_path]), load_profile("test-b", extra_dirs=[tmp_path])
    assert a.entitlements == b.entitlements and b.default_serial == "TSTBBBBBBBB"
    with pytest.raises(ProfileError, match="unknown platform profile"):
        load_profile("_testfamily", extra_dirs=[tmp_path])
    # a platform name is not a base name, nor the other way round
    _write(tmp_path, "test-c.yaml", "extends: testfamily\npid: TEST-C\n")
    with pytest.raises(ProfileError, match="extends unknown profile"):
        load_profile("TEST-C", extra_dirs=[tmp_path])


def test_bundled_bases_are_not_platforms():
    bases = sorted(p.stem for p in PROFILE_DIR.glob("_*.yaml"))
    assert bases, "the bundled platforms share family bases"
    for stem in bases:
        assert not any(stem.lower() in (pid.lower(), pid.split("/")[0].lower()) for pid in ALL)
        with pytest.raises(ProfileError):
            load_profile(stem)


def test_entitlements_prepend_append_and_remove_keep_the_order(tmp_path):
    _write(tmp_path, "test-rtr1.yaml", _minimal())
    first = {"name": "first", "tag": "FIRST", "regid_date": "2020-10"}
    last = {"name": "last", "tag": "LAST", "regid_date": "2020-10"}
    renamed = {"name": "hseck9", "tag": "DNA_HSEC", "full_tag": DNA_HSEC_FULL, "hseck9": True,
               "license_type_display": "Export", "description": "replaced"}
    _write(tmp_path, "test-rtr2.yaml", {
        "extends": "TEST-RTR1", "pid": "TEST-RTR2", "entitlements_prepend": [first, renamed],
        "entitlements_append": [last], "entitlements_remove": ["test-advantage_T1"],
    })
    p = load_profile("TEST-RTR2", extra_dirs=[tmp_path])
    assert [e.name for e in p.entitlements] == ["first", "hseck9", "last"]
    assert p.entitlement("hseck9").description == "replaced"


@pytest.mark.parametrize(
    "mutate, message",
    [
        (lambda d: d["entitlements"][1].update(tag="DNA_HSEC"), "DNA_HSEC"),
        (lambda d: _replace_regid(d["entitlements"][1], "regid.2020-10.com.cisco.OTHER,1.0_" + "0" * 36),
         "does not carry tag"),
        (lambda d: _replace_regid(d["entitlements"][1], "regid.2020-10.com.cisco.TEST_T1_A,1.0_xyz"), "malformed"),
        (lambda d: d["entitlements"][1].pop("regid_date"), "full_tag"),
        (lambda d: d["entitlements"][1].update(enforcement="export"), "hseck9"),
        (lambda d: d["entitlements"][1].update(term="forever"), "term"),
        (lambda d: d["entitlements"][1].update(colour="red"), "unknown key"),
        (lambda d: d["entitlements"][1].update(aliases=["hseck9"]), "names both"),
        (lambda d: d["entitlements"][1].update(inferred=["colour"]), "inferred"),
        (lambda d: d.update(min_release=17.10), "quoted"),
        (lambda d: d.update(family="C9300"), "family"),
        (lambda d: d.update(default_serial="FOO"), "default_serial"),
        (lambda d: d["hseck9"].update(dna_hsec_from="17.6.1a"), "device_specific"),
        (lambda d: d["throughput"].update(default_level="T9"), "default_level"),
        (lambda d: d["throughput"].update(traffic="some"), "traffic"),
        (lambda d: d.pop("entitlements"), "missing"),
    ],
)
def test_invalid_profiles_are_rejected(tmp_path, mutate, message):
    data = copy.deepcopy(_minimal())
    mutate(data)
    _write(tmp_path, "test-rtr1.yaml", data)
    with pytest.raises(ProfileError, match=message):
        load_profile("TEST-RTR1", extra_dirs=[tmp_path])


def test_missing_extra_dir_is_an_error(tmp_path):
    with pytest.raises(ProfileError, match="does not exist"):
        load_profile("C8000V", extra_dirs=[tmp_path / "nope"])


def test_broken_yaml_and_circular_extends(tmp_path):
    _write(tmp_path, "bad.yaml", "pid: BAD\nentitlements: [\n")
    with pytest.raises(ProfileError, match="invalid YAML"):
        load_profile("BAD", extra_dirs=[tmp_path])
    other = tmp_path / "other"
    other.mkdir()
    _write(other, "a.yaml", "pid: LOOP-A\nextends: LOOP-B\n")
    _write(other, "b.yaml", "pid: LOOP-B\nextends: LOOP-A\n")
    with pytest.raises(ProfileError, match="circular"):
        load_profile("LOOP-A", extra_dirs=[other])


def test_clear_cache_reloads(tmp_path):
    path = _write(tmp_path, "t.yaml", _minimal("TEST-RTR2"))
    first = load_profile("TEST-RTR2", extra_dirs=[tmp_path])
    data = _minimal("TEST-RTR2")
    data["description"] = "changed"
    path.write_text(yaml.safe_dump(data))
    assert load_profile("TEST-RTR2", extra_dirs=[tmp_path]) is first  # each file is read once
    clear_cache()
    assert load_profile("TEST-RTR2", extra_dirs=[tmp_path]).description == "changed"
