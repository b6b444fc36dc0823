"""How the device talks to CSSM, CSLU or SSM On-Prem: the `Outbound` interface the engine calls (the HTTP
push client and the in-process CSSM adapter implement it), injected faults, COMM_FAILED / COMM_RESTORED,
and the communication statistics of `show license tech`."""

from __future__ import annotations

from typing import Protocol

from . import messages

# Flows of `show license tech` → Communication Statistics (L12762-12827).
FLOWS = ("Trust Establishment", "Trust Acknowledgement", "Usage Reporting", "Result Polling",
         "Authorization Request", "Authorization Confirmation", "Authorization Return", "Trust Sync",
         "Hello Message")

FAULT_REASONS = {
    "unreachable": "Unable to resolve server hostname/domain name",
    "timeout": "Connection timed out",
    "http-error": "Server error occurred: HTTP 500 Internal Server Error",
    "malformed": "Received empty response from server",
}
NO_ROUTE = FAULT_REASONS["unreachable"]


class CommError(Exception):
    """The peer could not be reached or answered nonsense: `reason` goes into COMM_FAILED."""

    def __init__(self, reason: str):
        super().__init__(reason)
        self.reason = reason


class Refusal(Exception):
    """The peer answered and refused (e.g. a trust code already exists): `reason` is logged."""

    def __init__(self, reason: str, udi: str | None = None):
        super().__init__(reason)
        self.reason = reason
        self.udi = udi


class Outbound(Protocol):
    """What a device asks of CSSM / CSLU / SSM On-Prem online. Every call takes the URL the device is
    configured with and XML documents of `artifacts`; it returns the peer's signed answer (XML text) or
    raises CommError / Refusal."""

    def establish_trust(self, url: str, token: str, trust_request: str, force: bool) -> str: ...

    def request_authorization(self, url: str, request: str) -> str: ...

    def return_authorization(self, url: str, return_request: str) -> str: ...

    def report_usage(self, url: str, usage: str) -> str:
        """The ACK, or `OK_POLL:<poll id>` when the ACK is to be fetched later with `poll`."""

    def poll(self, url: str, poll_id: str) -> str:
        """The ACK of an earlier push, or `OK_POLL` while it is not ready yet."""

    def known_failure(self, url: str) -> str | None:
        """Optional, asked under the device lock, without I/O: the reason an attempt to `url` would fail
        now (e.g. a host name the resolver has just failed to look up), so that nothing is assembled for
        it; None when only trying tells."""


def peer_name(transport: str) -> str:
    return messages.CSLU_NAME if transport == "cslu" else messages.CSSM_NAME


def fault_target(transport: str) -> str:
    return "cslu" if transport == "cslu" else "cssm"
