"""Which revision of each Cisco-named module a real IOS XE router of each release advertises, and which one
the emulator serves (docs/yang-modules.md documents both, with their source).

The real revisions come from the public record of what devices advertise: the YangModels/yang repository's
`vendor/cisco/xe/<release>/capability-<platform>.xml` (NETCONF hello) and, from 17.10 on,
`yang-set-<platform>.xml` (YANG library), for ISR 1000, ISR 4000, ASR 1000 and Catalyst 8000V/8300, which
agree on these modules. The emulator serves a module under Cisco's revision only when its schema is Cisco's
module of that revision (checked against a normalized listing in tests/data/cisco-yang/); a module the
emulator writes as a subset carries a revision of its own that Cisco never published."""

from __future__ import annotations

from .library import yang_library

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


def train(release) -> str:
    return f"{release.major}.{release.minor}"


def served_revisions(protocol: str = "netconf") -> dict[str, str]:
    """module or submodule → the revision the emulator serves (the same for every release: see the docs)."""
    out = {}
    for m in yang_library(protocol).modules:
        for name, rev, _ in m.files():
            if name in CISCO_NAMED:
                out[name] = rev
    return out
