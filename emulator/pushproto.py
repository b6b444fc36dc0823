"""The device-facing push protocol: what a product instance sends to CSSM (`license smart transport smart`,
`license smart url smart https://<host>/licservice/license`; Call Home's DDCEService URL), to CSLU
(`license smart url cslu http://<host>:8182/cslu/v1/pi`) and to SSM On-Prem
(`.../cslu/v1/pi/<tenant>-1`), and what they answer. Cisco has not published these messages; this module
defines them once (device client, CSSM receiver and CSLU receiver all use it), modelled on the CSSM
Smart Licensing REST API v2 shapes Cisco's own tooling uses (interfaces.md §C.4): a `{"data": {...}}`
request with `timestamp` and `nonce`, an answer with `status`, `poll_id`, `message` and base64 documents
in `data`. `docs/push-protocol.md` is the reader's version of this docstring.

Every message is one HTTP POST of JSON to the configured URL itself::

    POST <url>                    Content-Type: application/json
    {"data": {"type": <kind>, "version": "1.3", "timestamp": <ms>, "nonce": "<16 characters>",
              "sudi": {"udi_pid": "...", "udi_serial_number": "..."}, "hostname": "...", <kind's members>}}

    kind            members                                          answer (HTTP 200)
    usage           smart_license: base64 usage document (the text   OK_POLL / OK_TRY_AGAIN + poll_id
                    `license smart save usage` writes, trust and     (the ACK is fetched with `poll`)
                    SLAC requests included)
    trust           id_token, force (bool), smart_license: base64    COMPLETE, data.smart_license = trust
                    trust request                                    code (+ policy)
    authorization   smart_license: base64 SLAC request               COMPLETE, data.smart_license = SLAC
    return          smart_license: base64 SLAC return                COMPLETE, data.smart_license = return
                                                                     acknowledgement
    poll            poll_id, action: "acknowledgements"              OK_POLL / OK_TRY_AGAIN (message "")
                                                                     while not ready; then COMPLETE,
                                                                     data.smart_license = the ACK

    answer:  {"status": "OK_POLL" | "OK_TRY_AGAIN" | "COMPLETE" | "FAILED", "poll_id": "...",
              "message": "", "message_code": "...", "data": {"smart_license": "<base64 XML>"}}

CSSM answers a deferred result with `OK_POLL` (as its REST API does), CSLU and SSM On-Prem with
`OK_TRY_AGAIN` (the capability CSLU_V1 devices announce, `show license tech` "Last Response: OK_TRY_AGAIN").
`FAILED` is a refusal the device logs (e.g. "Invalid Polling Id 7 provided in the polling request", an
unknown ID token): HTTP 200 with the reason in `message`. A request the receiver cannot read (not JSON,
missing members, bad base64, unknown kind) gets HTTP 400 with the same error shape
`{"status": "FAILED", "message": ..., "message_code": ...}` and changes nothing; the device logs it as a
communication failure ("Server error occurred: HTTP 400 BAD REQUEST").
"""

from __future__ import annotations

import base64
import binascii
import json
import secrets
import string
import time
from dataclasses import dataclass

VERSION = "1.3"                       # `Message Version: 1.3` of show license tech
KINDS = ("usage", "trust", "authorization", "return", "poll")
OK_POLL = "OK_POLL"
OK_TRY_AGAIN = "OK_TRY_AGAIN"
COMPLETE = "COMPLETE"
FAILED = "FAILED"
DEFERRED = (OK_POLL, OK_TRY_AGAIN)
MAX_MESSAGE = 8 * 1024 * 1024         # a receiver refuses larger bodies

_NONCE_CHARS = string.ascii_letters + string.digits


class ProtocolError(ValueError):
    """A message that does not follow this protocol: `code` is its message_code."""

    def __init__(self, message: str, code: str = "BAD_REQUEST"):
        super().__init__(message)
        self.message = message
        self.code = code


def nonce() -> str:
    return "".join(secrets.choice(_NONCE_CHARS) for _ in range(16))


def b64(text: str | bytes) -> str:
    return base64.b64encode(text.encode() if isinstance(text, str) else text).decode()


def unb64(value, what: str = "smart_license") -> str:
    if not isinstance(value, str) or not value:
        raise ProtocolError(f"{what} is missing or not a string")
    try:
        return base64.b64decode(value, validate=True).decode("utf-8")
    except (binascii.Error, ValueError, UnicodeDecodeError):
        raise ProtocolError(f"{what} is not base64 of UTF-8 text") from None


# ---------------------------------------------------------------------------------------------- requests

def request(kind: str, sudi: dict | None, now: float | None = None, hostname: str | None = None,
            **members) -> dict:
    """A message as the device sends it; document members (`smart_license`) are given as text."""
    if kind not in KINDS:
        raise ValueError(f"unknown message kind {kind!r}")
    data = {"type": kind, "version": VERSION, "timestamp": int((time.time() if now is None else now) * 1000),
            "nonce": nonce()}
    if sudi:
        data["sudi"] = sudi
    if hostname:
        data["hostname"] = hostname
    for name, value in members.items():
        if value is None:
            continue
        data[name] = b64(value) if name == "smart_license" else value
    return {"data": data}


@dataclass(frozen=True)
class Message:
    """A received message, checked."""
    kind: str
    sudi: dict | None
    hostname: str | None
    document: str | None          # the decoded smart_license
    id_token: str | None = None
    force: bool = False
    poll_id: str | None = None

    @property
    def udi(self) -> tuple[str, str] | None:
        if not self.sudi:
            return None
        return self.sudi["udi_pid"], self.sudi["udi_serial_number"]


def parse_request(body: bytes) -> Message:
    """Reads a received message; ProtocolError (→ HTTP 400) for anything that does not follow the protocol."""
    if len(body) > MAX_MESSAGE:
        raise ProtocolError("the message is too large", "TOO_LARGE")
    try:
        obj = json.loads(body)
    except (ValueError, RecursionError):
        raise ProtocolError("the message is not JSON") from None
    data = obj.get("data") if isinstance(obj, dict) else None
    if not isinstance(data, dict):
        raise ProtocolError('the message has no "data" object')
    kind = data.get("type")
    if kind not in KINDS:
        raise ProtocolError(f"unknown message type {kind!r}; expected one of {', '.join(KINDS)}")
    if not isinstance(data.get("nonce"), str) or not isinstance(data.get("timestamp"), (int, str)):
        raise ProtocolError("the message lacks its timestamp or nonce")
    sudi = data.get("sudi")
    if sudi is not None and not (isinstance(sudi, dict) and isinstance(sudi.get("udi_pid"), str)
                                 and isinstance(sudi.get("udi_serial_number"), str)):
        raise ProtocolError("sudi must hold udi_pid and udi_serial_number")
    hostname = data.get("hostname") if isinstance(data.get("hostname"), str) else None
    if kind == "poll":
        poll_id = data.get("poll_id")
        if not isinstance(poll_id, str) or not poll_id:
            raise ProtocolError("a poll names its poll_id")
        return Message(kind, sudi, hostname, None, poll_id=poll_id)
    document = unb64(data.get("smart_license"))
    if kind == "trust":
        token = data.get("id_token")
        if not isinstance(token, str):
            raise ProtocolError("a trust message carries its id_token")
        force = data.get("force", False)
        if not isinstance(force, bool):
            raise ProtocolError("force is true or false")
        return Message(kind, sudi, hostname, document, id_token=token, force=force)
    return Message(kind, sudi, hostname, document)


# ---------------------------------------------------------------------------------------------- answers

def deferred(poll_id: str, status: str = OK_POLL) -> dict:
    return {"status": status, "poll_id": poll_id, "message": ""}


def complete(document: str, poll_id: str | None = None) -> dict:
    out = {"status": COMPLETE, "message": "", "data": {"smart_license": b64(document)}}
    if poll_id:
        out["poll_id"] = poll_id
    return out


def failed(message: str, code: str = "FAILED") -> dict:
    return {"status": FAILED, "message": message, "message_code": code}


@dataclass(frozen=True)
class Answer:
    status: str
    poll_id: str | None = None
    document: str | None = None
    message: str = ""


def parse_answer(body: bytes) -> Answer:
    """What the device reads from a 200 answer; ProtocolError when it is not an answer at all."""
    try:
        obj = json.loads(body)
    except (ValueError, RecursionError):
        raise ProtocolError("not JSON") from None
    if not isinstance(obj, dict) or not isinstance(obj.get("status"), str):
        raise ProtocolError("no status")
    status = obj["status"]
    message = obj.get("message") if isinstance(obj.get("message"), str) else ""
    poll_id = obj.get("poll_id")
    poll_id = str(poll_id) if isinstance(poll_id, (str, int)) and not isinstance(poll_id, bool) else None
    if status == COMPLETE:
        data = obj.get("data")
        if not isinstance(data, dict):
            raise ProtocolError("a COMPLETE answer carries data")
        return Answer(status, poll_id, unb64(data.get("smart_license")), message)
    if status in DEFERRED:
        return Answer(status, poll_id, None, message)
    if status == FAILED:
        return Answer(status, poll_id, None, message or "The request failed")
    raise ProtocolError(f"unknown status {status!r}")
