"""The CSSM issuing library (`emulator.cssm.Cssm`) as the service uses it: its memory (reports received,
trust codes, SLACs, known devices) kept in the service's SQLite database instead of a JSON file, changes
made all-or-nothing, and the two things Cisco's REST API asks of CSSM that no device file carries: a SLAC
for licences named by a tool (`v2/devices/authrequest` with `keys`) and a SLAC removal by its return code
(`keys: []` + `remove_code`). Everything else is the library's own code."""

from __future__ import annotations

import copy
import json
import secrets
from contextlib import contextmanager

from ..cssm import Cssm, CssmError
from ..engine import artifacts

MEMORY_KEY = "issuer-memory"
# The library's memory, by attribute (the names of the versions of the library this service runs with).
MEMORY = ("_seen", "_trusted", "_slacs", "_keys", "_devices")


class ServiceIssuer(Cssm):
    def __init__(self, db, private_key=None, smart_account: str = "Eg-SA", virtual_account: str = "Eg-VA"):
        super().__init__(private_key, state_path=None, smart_account=smart_account, virtual_account=virtual_account)
        self._db = db
        stored = db.get(MEMORY_KEY) or {}
        for name, value in stored.items():
            if name in MEMORY and isinstance(getattr(self, name, None), dict):
                setattr(self, name, value)

    def _save(self) -> None:
        """The library saves after each change; the service stores the memory in its own transaction."""

    def memory(self) -> dict:
        return {name: getattr(self, name) for name in MEMORY if isinstance(getattr(self, name, None), dict)}

    @contextmanager
    def atomic(self):
        """A library call whose changes stand only if the block completes: on any exception the memory is
        put back as it was, and on success it is written in the caller's database transaction."""
        saved = copy.deepcopy(self.memory())
        try:
            yield
            self._db.put(MEMORY_KEY, self.memory())
        except BaseException:
            for name, value in saved.items():
                setattr(self, name, value)
            raise

    # ------------------------------------------------------------------ what only the REST API asks
    def issue_slac(self, pid: str, sn: str, keys: list[dict], account: tuple[str, str], now: float) -> str:
        """A SLAC for licences named by entitlement tag (`keys: [{"entitlement", "count"}]`)."""
        entitlements = []
        for key in keys:
            tag = key.get("entitlement") if isinstance(key, dict) else None
            if not isinstance(tag, str) or not tag:
                raise CssmError("each key names its entitlement")
            try:
                count = int(key.get("count", 1))
            except (TypeError, ValueError):
                raise CssmError(f"the count of {tag} is not a number") from None
            if count < 1:
                raise CssmError(f"the count of {tag} must be at least 1")
            entitlements.append({"tag": tag, "count": count})
        data = {"udis": [{"pid": pid, "sn": sn}], "entitlements": entitlements, "mode": "add"}
        return artifacts.signed_file(self._slac_elements(data, now, account))

    def remove_slac(self, pid: str, sn: str, remove_code: str, now: float) -> str:
        """Puts a product instance's authorized licences back in the pool (`keys: []`, `remove_code`)."""
        if not isinstance(remove_code, str) or not remove_code.strip():
            raise CssmError("a removal names its remove_code (license smart authorization return ... online)")
        key = f"{pid}/{sn}"
        with self._lock:
            if key not in self._slacs:
                raise CssmError(f"PID:{pid},SN:{sn} has no authorization code to return")
            self._slacs.pop(key, None)
        return artifacts.signed_file([artifacts.signed_element("smartLicenseAuthorizationReturnAck", {
            "type": "authorization_return_ack", "timestamp": int(now * 1000), "udi": {"pid": pid, "sn": sn},
            "return_code": remove_code, "transaction_id": secrets.token_hex(8)}, self.key)])


def ack_summary(ack_text: str) -> dict:
    """What the web page and the REST answers say about an ACK: its UDI, account and per-report status."""
    doc = artifacts.parse_import(ack_text).first("smartLicenseRumAck")
    data = doc.data if doc is not None else {}
    return {"udi": data.get("udi") or {}, "account": data.get("account") or {},
            "acknowledgements": data.get("acknowledgements") or []}


def usage_document(envelopes: list[dict], requests: list[str] = ()) -> str:
    """A usage document from the report envelopes of a REST `reportusage` (Cisco's sample client sends the
    `<RUMReport>` members of a usage file this way): the file Cisco's tooling writes, which the library
    reads."""
    parts = ["<smartLicense>"]
    for env in envelopes:
        text = json.dumps(env, indent=2).replace("]]>", "]]\\u003e")
        parts.append(f"<RUMReport><![CDATA[{text}]]></RUMReport>")
    parts.extend(requests)
    parts.append("</smartLicense>")
    return "\n".join(parts) + "\n"
