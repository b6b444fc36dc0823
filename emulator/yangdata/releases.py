"""Which revision of each Cisco-named module a real IOS XE router of each release advertises, and which one
the emulator serves (docs/yang-modules.md documents both, with their source).

The real revisions come from the public record of what devices advertise: the YangModels/yang repository's
`vendor/cisco/xe/<release>/capability-<platform>.xml` (NETCONF hello) and, from 17.10 on,
`yang-set-<platform>.xml` (YANG library), for ISR 1000, ISR 4000, ASR 1000 and Catalyst 8000V/8300, which
agree on these modules. The emulator serves a module under Cisco's revision only when its schema is Cisco's
module of that revision (checked against a normalized listing in tests/data/cisco-yang/); a module the
emulator writes as a subset carries a revision of its own that Cisco never published.

The modules of `PER_RELEASE` are served in the revision a device of the emulated release advertises (yang/ holds
each of those revisions; its includes name their submodule's revision); the others in one revision on every
release. A release outside the documented trains takes the nearest train (before 17.3: 17.3; after 17.12: 17.12).

    module_revisions("17.3.2")            # {"cisco-smart-license": "2019-07-01"}: what the schema loads
    served_revisions("netconf", "17.3")   # every Cisco-named module and submodule → revision served"""

from __future__ import annotations

SOURCE = ("github:YangModels/yang@6795d9c68 vendor/cisco/xe/<release>/capability-{isr1k,isr4k,asr1k,c8000v}.xml "
          "and yang-set-*.xml (17.10+)")

# release train → module (or submodule) → the revision a real device advertises
DEVICE_REVISIONS: dict[str, dict[str, str]] = {
    "17.3": {"cisco-smart-license": "2019-07-01", "cisco-smart-license-errors": "2019-07-01",
             "Cisco-IOS-XE-native": "2020-07-01", "Cisco-IOS-XE-license": "2019-07-01",
             "Cisco-IOS-XE-rpc": "2020-07-01", "cisco-ia": "2020-03-01", "cisco-semver": "2019-03-20"},
    "17.4": {"cisco-smart-license": "2020-11-01", "cisco-smart-license-errors": "2020-11-01",
             "Cisco-IOS-XE-native": "2020-11-01", "Cisco-IOS-XE-license": "2020-11-01",
             "Cisco-IOS-XE-rpc": "2020-11-01", "cisco-ia": "2020-03-01", "cisco-semver": "2019-03-20"},
    "17.5": {"cisco-smart-license": "2021-03-01", "cisco-smart-license-errors": "2020-11-01",
             "Cisco-IOS-XE-native": "2021-03-01", "Cisco-IOS-XE-license": "2020-11-01",
             "Cisco-IOS-XE-rpc": "2021-03-01", "cisco-ia": "2020-03-01", "cisco-semver": "2019-03-20"},
    "17.6": {"cisco-smart-license": "2021-03-01", "cisco-smart-license-errors": "2020-11-01",
             "Cisco-IOS-XE-native": "2021-07-01", "Cisco-IOS-XE-license": "2020-11-01",
             "Cisco-IOS-XE-rpc": "2021-03-01", "cisco-ia": "2021-07-01", "cisco-semver": "2019-03-20"},
    "17.7": {"cisco-smart-license": "2021-03-01", "cisco-smart-license-errors": "2020-11-01",
             "Cisco-IOS-XE-native": "2021-11-01", "Cisco-IOS-XE-license": "2020-11-01",
             "Cisco-IOS-XE-rpc": "2021-03-01", "cisco-ia": "2021-11-01", "cisco-semver": "2019-03-20"},
    "17.8": {"cisco-smart-license": "2021-03-01", "cisco-smart-license-errors": "2020-11-01",
             "Cisco-IOS-XE-native": "2022-03-01", "Cisco-IOS-XE-license": "2020-11-01",
             "Cisco-IOS-XE-rpc": "2021-07-01", "cisco-ia": "2021-11-01", "cisco-semver": "2019-03-20"},
    "17.9": {"cisco-smart-license": "2021-03-01", "cisco-smart-license-errors": "2020-11-01",
             "Cisco-IOS-XE-native": "2022-07-01", "Cisco-IOS-XE-license": "2020-11-01",
             "Cisco-IOS-XE-rpc": "2021-07-01", "cisco-ia": "2021-11-01", "cisco-semver": "2019-03-20"},
    "17.10": {"cisco-smart-license": "2021-03-01", "cisco-smart-license-errors": "2020-11-01",
              "Cisco-IOS-XE-native": "2022-11-01", "Cisco-IOS-XE-license": "2022-11-01",
              "Cisco-IOS-XE-rpc": "2022-11-01", "cisco-ia": "2021-11-01", "cisco-semver": "2019-03-20"},
    "17.11": {"cisco-smart-license": "2021-03-01", "cisco-smart-license-errors": "2020-11-01",
              "Cisco-IOS-XE-native": "2023-03-01", "Cisco-IOS-XE-license": "2022-11-01",
              "Cisco-IOS-XE-rpc": "2022-11-01", "cisco-ia": "2021-11-01", "cisco-semver": "2019-03-20"},
    "17.12": {"cisco-smart-license": "2021-03-01", "cisco-smart-license-errors": "2020-11-01",
              "Cisco-IOS-XE-native": "2023-07-01", "Cisco-IOS-XE-license": "2022-11-01",
              "Cisco-IOS-XE-rpc": "2022-11-01", "cisco-ia": "2021-11-01", "cisco-semver": "2019-03-20"},
}

CISCO_NAMED = tuple(DEVICE_REVISIONS["17.12"])
# Served in the revision of the emulated release (with their submodules, which the module files name).
PER_RELEASE = ("cisco-smart-license",)
TRAINS = tuple(sorted(DEVICE_REVISIONS, key=lambda t: tuple(int(p) for p in t.split("."))))
NEWEST = TRAINS[-1]


def train(release) -> str:
    """The documented train of a release (a Release, "17.3.2", "17.3" or None for the newest), clamped to
    the documented ones."""
    if release is None:
        return NEWEST
    if isinstance(release, str):
        major, minor = (int(p) for p in release.split(".")[:2])
    else:
        major, minor = release.major, release.minor
    key = (major, minor)
    known = [tuple(int(p) for p in t.split(".")) for t in TRAINS]
    if key <= known[0]:
        return TRAINS[0]
    if key >= known[-1]:
        return TRAINS[-1]
    return max(t for t, k in zip(TRAINS, known) if k <= key)


def module_revisions(release=None) -> dict[str, str]:
    """module → the revision the schema of `release` loads, for the modules served per release."""
    t = train(release)
    return {name: DEVICE_REVISIONS[t][name] for name in PER_RELEASE}


def served_revisions(protocol: str = "netconf", release=None) -> dict[str, str]:
    """Cisco-named module or submodule → the revision the emulator serves on `release` (default: the newest)."""
    from .library import yang_library
    out = {}
    for m in yang_library(protocol, release).modules:
        for name, rev, _ in m.files():
            if name in CISCO_NAMED:
                out[name] = rev
    return out
