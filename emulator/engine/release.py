"""The emulated IOS XE release and the behaviour it switches on (behaviour.md §0)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache, total_ordering

_RELEASE_RE = re.compile(r"^(\d+)\.(\d+)\.(\d+)([a-z]?)$")


@total_ordering
@dataclass(frozen=True)
class Release:
    major: int
    minor: int
    patch: int
    suffix: str = ""

    @classmethod
    def parse(cls, text: str) -> "Release":
        return _parse(text)

    @property
    def key(self) -> tuple[int, int, int]:
        return (self.major, self.minor, self.patch)

    def __lt__(self, other: "Release") -> bool:
        return self.key < other.key

    def __str__(self) -> str:
        return f"{self.major}.{self.minor}.{self.patch}{self.suffix}"

    def at_least(self, text: str) -> bool:
        return self.key >= Release.parse(text).key

    def at_least_in_train(self, *firsts: str) -> bool:
        """True when this release is at or past the first release with a feature, where the feature was
        backported to older trains: e.g. ("17.3.6", "17.6.4", "17.9.1") means 17.3.6+ in 17.3.x, 17.6.4+ in
        17.6.x and every release from 17.9.1 on."""
        releases = sorted(Release.parse(f) for f in firsts)
        newest = releases[-1]
        if self.key >= newest.key:
            return True
        return any(self.major == r.major and self.minor == r.minor and self.patch >= r.patch for r in releases)

    @property
    def display(self) -> str:
        """Zero-padded form used in RUM payloads and `show version` (17.09.02)."""
        return f"{self.major}.{self.minor:02d}.{self.patch:02d}{self.suffix}"

    # Feature gates (behaviour.md §0, tasks-messages.md §3).
    @property
    def rum_throttling(self) -> bool:
        return self.at_least_in_train("17.3.6", "17.6.4", "17.9.1")

    @property
    def account_info(self) -> bool:
        return self.at_least("17.7.1")

    @property
    def trust_request_in_reports(self) -> bool:
        return self.at_least("17.7.1")

    @property
    def trust_in_pull_mode(self) -> bool:
        return self.at_least("17.9.1")

    @property
    def version_in_rum(self) -> bool:
        """17.7.1 puts the versions into the RUM report; 17.9.1 moves them to a separate privacy message."""
        return self.at_least("17.7.1") and not self.at_least("17.9.1")

    @property
    def privacy_message(self) -> bool:
        return self.at_least("17.9.1")

    @property
    def new_rum_format(self) -> bool:
        return self.at_least("17.7.1")

    @property
    def dna_hsec_only(self) -> bool:
        return self.at_least("17.6.1")

    @property
    def utility_mode(self) -> bool:
        return self.at_least("17.9.1")

    @property
    def plr(self) -> bool:
        return self.at_least("17.10.1")

    @property
    def slac_files(self) -> bool:
        return self.at_least("17.7.1")


@lru_cache(maxsize=256)
def _parse(text: str) -> Release:
    """Releases are parsed often (every release gate names one) and are immutable: parse each text once."""
    m = _RELEASE_RE.match(text.strip())
    if not m:
        raise ValueError(f"not an IOS XE release: {text!r} (expected e.g. 17.12.1a)")
    major, minor, patch, suffix = m.groups()
    return Release(int(major), int(minor), int(patch), suffix)
