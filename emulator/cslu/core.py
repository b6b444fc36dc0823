"""The CSLU service's state and rules, without HTTP (the same service is SSM On-Prem with tenants):

- product-instance-initiated: the receiver of `emulator.pushproto` messages at `/cslu/v1/pi` (On-Prem:
  `/cslu/v1/pi/<tenant>-1`): a usage report is stored, relayed to CSSM when connected, and answered
  `OK_TRY_AGAIN` with a poll id; the device's later poll gets the ACK once CSSM (or an imported ACK
  bundle) has produced it; SLAC requests and returns are relayed at once (connected only).
- CSLU-initiated: a device list, `collect` (pull the reports of each device, as Cisco's sample client
  does) and `deliver` (install the ACKs on the devices).
- connected to CSSM (its REST API, `cssm_client`) or disconnected: `export_bundle` writes CSSM's offline
  upload bundle of the reports not yet sent, `import_bundle` reads CSSM's ACK bundle.

All state is in SQLite (`cslu.db`) under the state directory, so the command-line tools
(`slpemu cslu device add`, `collect`, `export`, …) and the running service share it."""

from __future__ import annotations

import io
import json
import secrets
import tarfile
import threading
import time
from dataclasses import asdict
from pathlib import Path, PurePosixPath
from urllib.parse import unquote

from .. import pushproto
from ..cssm import make_upload_bundle
from ..cssm_service.issuer import usage_document
from ..engine import artifacts
from ..engine.artifacts import ArtifactError
from ..engine.clock import Clock
from ..svcdb import META_SCHEMA, Db
from . import pull
from .cssm_client import CssmApiError, CssmClient, CssmUnavailable

DB_NAME = "cslu.db"
DEFAULT_TENANT = ""                    # the one SA/VA of a plain CSLU (NX-OS guide: one SA/VA per CSLU)
MAX_BUNDLE = 64 * 1024 * 1024

SCHEMA = META_SCHEMA + """
CREATE TABLE IF NOT EXISTS tenants (name TEXT PRIMARY KEY, smart_account TEXT NOT NULL, virtual_account TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS devices (name TEXT PRIMARY KEY, host TEXT NOT NULL, method TEXT NOT NULL, port INTEGER,
    file_port INTEGER, username TEXT NOT NULL, password TEXT NOT NULL, tenant TEXT NOT NULL DEFAULT '',
    added REAL NOT NULL, udi TEXT, last_collection REAL, last_delivery REAL, last_error TEXT);
CREATE TABLE IF NOT EXISTS products (udi TEXT PRIMARY KEY, hostname TEXT, tenant TEXT NOT NULL DEFAULT '',
    source TEXT NOT NULL, first_seen REAL NOT NULL, last_contact REAL NOT NULL);
CREATE TABLE IF NOT EXISTS reports (seq INTEGER PRIMARY KEY AUTOINCREMENT, udi TEXT NOT NULL, tenant TEXT NOT NULL,
    device TEXT, source TEXT NOT NULL, received REAL NOT NULL, document TEXT NOT NULL, envelopes TEXT,
    state TEXT NOT NULL, cssm_poll TEXT, error TEXT, ack_seq INTEGER, poll_id TEXT UNIQUE);
CREATE TABLE IF NOT EXISTS acks (seq INTEGER PRIMARY KEY AUTOINCREMENT, udi TEXT NOT NULL, tenant TEXT NOT NULL,
    received REAL NOT NULL, document TEXT NOT NULL, source TEXT NOT NULL, delivered REAL);
"""


class CsluError(Exception):
    """An answer in the service's error shape: HTTP `status`, {"status": "FAILED", "message", "message_code"}."""

    def __init__(self, status: int, message: str, code: str = "BAD_REQUEST"):
        super().__init__(message)
        self.status = status
        self.message = message
        self.code = code


class CsluService:
    def __init__(self, state_dir: str | Path, *, cssm: CssmClient | None = None, onprem: bool = False,
                 tenants: dict[str, tuple[str, str]] | None = None):
        self.state_dir = Path(state_dir)
        self.state_dir.mkdir(parents=True, exist_ok=True)
        self.db = Db(self.state_dir / DB_NAME, SCHEMA)
        self.lock = threading.RLock()
        self.cssm = cssm
        self.onprem = onprem
        self.clock = Clock()
        self.clock.restore(self.db.get("clock") or {})
        with self.db.transaction():
            for name, (sa, va) in (tenants or {}).items():
                self.db.execute("INSERT INTO tenants(name, smart_account, virtual_account) VALUES(?, ?, ?) "
                                "ON CONFLICT(name) DO UPDATE SET smart_account = excluded.smart_account, "
                                "virtual_account = excluded.virtual_account", (name, sa, va))

    @property
    def connected(self) -> bool:
        return self.cssm is not None

    def now(self) -> float:
        return self.clock.now()

    def advance(self, seconds) -> float:
        if isinstance(seconds, bool) or not isinstance(seconds, (int, float)) or seconds < 0:
            raise CsluError(400, "seconds is a number, 0 or more")
        with self.lock:
            self.clock.jump_to(self.clock.now() + seconds)
            self.db.put("clock", self.clock.to_dict())
            return self.clock.now()

    # ------------------------------------------------------------------ tenants (SSM On-Prem)
    def tenants(self) -> list[dict]:
        return [dict(r) | {"transport_id": transport_id(r["name"])}
                for r in self.db.query("SELECT * FROM tenants ORDER BY name")]

    def tenant_of_path(self, segment: str | None) -> str:
        """The tenant a PI URL names: none for CSLU's /cslu/v1/pi; `<tenant>-1` for SSM On-Prem."""
        if segment is None:
            if self.onprem:
                raise CsluError(404, "SSM On-Prem takes /cslu/v1/pi/<tenant>-1 (the CSLU Transport URL of a "
                                     "local account)", "UNKNOWN_TENANT")
            return DEFAULT_TENANT
        name = unquote(segment)
        for t in self.tenants():
            if name in (t["transport_id"], t["name"]):
                return t["name"]
        raise CsluError(404, f"No local account with CSLU transport id {name!r}", "UNKNOWN_TENANT")

    def _account(self, tenant: str) -> tuple[str, str] | None:
        if not tenant:
            return None
        row = self.db.one("SELECT * FROM tenants WHERE name = ?", (tenant,))
        return (row["smart_account"], row["virtual_account"]) if row else None

    # ------------------------------------------------------------------ product-instance-initiated
    def pi_message(self, body: bytes, segment: str | None = None) -> dict:
        tenant = self.tenant_of_path(segment)
        msg = pushproto.parse_request(body)
        if msg.udi is None:
            raise pushproto.ProtocolError("a message to CSLU names its sender (sudi)")
        udi = artifacts.long_udi(*msg.udi)
        with self.lock:
            now = self.now()
            with self.db.transaction():
                self._contact(udi, msg.hostname, tenant, "push", now)
            if msg.kind == "usage":
                try:
                    parsed = artifacts.parse_usage(msg.document)
                except ArtifactError as exc:
                    return pushproto.failed(f"The usage report cannot be read: {exc}", "INVALID_REPORT")
                poll_id = str(secrets.randbelow(2 ** 31 - 1) + 1)
                with self.db.transaction():
                    seq = self._store_report(udi, tenant, None, "push", now, msg.document,
                                             [json.loads(e.to_json()) for e in parsed.envelopes], poll_id)
                if self.connected:
                    self._relay(seq)
                return pushproto.deferred(poll_id, pushproto.OK_TRY_AGAIN)
            if msg.kind == "poll":
                return self._pi_poll(msg.poll_id, udi)
            if msg.kind == "trust":
                return pushproto.failed("Trust establishment with an ID token is done with CSSM directly "
                                        "(license smart transport smart)", "NOT_SUPPORTED")
            if not self.connected:
                return pushproto.failed(f"{'SSM On-Prem' if self.onprem else 'CSLU'} is not connected to CSSM: "
                                        "import the authorization code from CSSM instead", "DISCONNECTED")
            return self._relay_authorization(msg, tenant)

    def _contact(self, udi: str, hostname: str | None, tenant: str, source: str, now: float) -> None:
        self.db.execute("INSERT INTO products(udi, hostname, tenant, source, first_seen, last_contact) "
                        "VALUES(?, ?, ?, ?, ?, ?) ON CONFLICT(udi) DO UPDATE SET last_contact = excluded.last_contact, "
                        "hostname = COALESCE(excluded.hostname, products.hostname), tenant = excluded.tenant, "
                        "source = excluded.source", (udi, hostname, tenant, source, now, now))

    def _store_report(self, udi, tenant, device, source, now, document, envelopes, poll_id=None) -> int:
        cur = self.db.execute("INSERT INTO reports(udi, tenant, device, source, received, document, envelopes, state, "
                              "poll_id) VALUES(?, ?, ?, ?, ?, ?, ?, 'pending', ?)",
                              (udi, tenant, device, source, now, document, json.dumps(envelopes), poll_id))
        return cur.lastrowid

    def _pi_poll(self, poll_id: str, udi: str) -> dict:
        row = self.db.one("SELECT * FROM reports WHERE poll_id = ? AND udi = ?", (poll_id, udi))
        if row is None:
            return pushproto.failed(f"Invalid Polling Id {poll_id} provided in the polling request", "INVALID_POLL_ID")
        if row["ack_seq"] is None and self.connected:
            if row["state"] == "pending":
                self._relay(row["seq"])
            self._fetch_ack(row["seq"])
            row = self.db.one("SELECT * FROM reports WHERE seq = ?", (row["seq"],))
        if row["ack_seq"] is None:
            return pushproto.deferred(poll_id, pushproto.OK_TRY_AGAIN)
        ack = self.db.one("SELECT * FROM acks WHERE seq = ?", (row["ack_seq"],))
        with self.db.transaction():
            self.db.execute("UPDATE acks SET delivered = ? WHERE seq = ?", (self.now(), ack["seq"]))
            self.db.execute("UPDATE reports SET state = 'acked' WHERE seq = ?", (row["seq"],))
        return pushproto.complete(ack["document"], poll_id)

    def _relay_authorization(self, msg: pushproto.Message, tenant: str) -> dict:
        """A SLAC request or return relayed to CSSM's `v2/devices/authrequest` and polled at once."""
        try:
            tag = "smartLicenseAuthorizationRequest" if msg.kind == "authorization" else "smartLicenseAuthorizationReturn"
            doc = artifacts.parse_signed_file(msg.document, (tag,))[0]
        except ArtifactError as exc:
            return pushproto.failed(f"The request cannot be read: {exc}", "INVALID_REQUEST")
        licenses = []
        if msg.kind == "authorization":
            keys = [{"entitlement": e.get("tag"), "count": str(e.get("count") or 1)}
                    for e in doc.data.get("entitlements") or [] if isinstance(e, dict)]
            for u in doc.data.get("udis") or []:
                licenses.append({"sudi": artifacts.sudi(u["pid"], u["sn"]), "hostname": msg.hostname or "",
                                 "keys": keys})
        else:
            u = doc.data.get("udi") or {}
            licenses.append({"sudi": artifacts.sudi(u.get("pid", msg.udi[0]), u.get("sn", msg.udi[1])),
                             "hostname": msg.hostname or "", "keys": [],
                             "remove_code": str(doc.data.get("return_code") or "")})
        if not licenses:
            return pushproto.failed("The request names no product instance", "INVALID_REQUEST")
        try:
            answer = self.cssm.auth_request(licenses, self._account(tenant))
            if answer.get("status") == "FAILED":
                return pushproto.failed(answer.get("message") or "CSSM refused the request", "REFUSED")
            result = self.cssm.poll(str(answer.get("poll_id")), "authorizations")
        except CssmUnavailable as exc:
            return pushproto.failed(f"CSSM could not be reached: {exc}", "CSSM_UNAVAILABLE")
        entries = (result.get("data") or {}).get("authorizations") or []
        if result.get("status") != "COMPLETE" or not entries:
            return pushproto.failed("CSSM has not answered the request yet: try again", "PENDING")
        if entries[0].get("status") == "FAILED":
            return pushproto.failed(entries[0].get("status_message") or "CSSM refused the request", "REFUSED")
        documents = [pushproto.unb64(e.get("smart_license")) for e in entries]
        if len(documents) == 1:
            return pushproto.complete(documents[0])
        elements = []
        for d in documents:
            body = d.strip()
            if body.startswith("<smartLicense>"):
                body = body[len("<smartLicense>"):].rsplit("</smartLicense>", 1)[0]
            elements.append(body.strip())
        return pushproto.complete(artifacts.signed_file(elements))

    # ------------------------------------------------------------------ CSSM relay (connected)
    def _relay(self, seq: int) -> None:
        """Sends one stored report to CSSM's reportusage; on failure it stays pending (retried)."""
        row = self.db.one("SELECT * FROM reports WHERE seq = ?", (seq,))
        pid, sn = _split_udi(row["udi"])
        item = {"sudi": artifacts.sudi(pid, sn), "usage": json.loads(row["envelopes"] or "[]")}
        if row["source"] in ("push", "pull-file") or not item["usage"]:
            item["smart_license"] = pushproto.b64(row["document"])       # the device's own file (docs/push-protocol.md)
        if not item["usage"]:
            del item["usage"]
        try:
            answer = self.cssm.report_usage([item], self._account(row["tenant"]))
        except CssmUnavailable as exc:
            with self.db.transaction():
                self.db.execute("UPDATE reports SET error = ? WHERE seq = ?", (str(exc), seq))
            return
        with self.db.transaction():
            if answer.get("status") == "FAILED":
                self.db.execute("UPDATE reports SET state = 'failed', error = ? WHERE seq = ?",
                                (answer.get("message") or "refused", seq))
            else:
                self.db.execute("UPDATE reports SET state = 'sent', cssm_poll = ?, error = NULL WHERE seq = ?",
                                (str(answer.get("poll_id")), seq))

    def _fetch_ack(self, seq: int) -> bool:
        row = self.db.one("SELECT * FROM reports WHERE seq = ?", (seq,))
        if row["state"] != "sent" or not row["cssm_poll"]:
            return False
        try:
            result = self.cssm.poll(row["cssm_poll"], "acknowledgements")
        except CssmApiError as exc:
            if exc.status == 404:
                with self.db.transaction():
                    self.db.execute("UPDATE reports SET state = 'pending', cssm_poll = NULL, error = ? WHERE seq = ?",
                                    (exc.message, seq))
            return False
        except CssmUnavailable:
            return False
        if result.get("status") != "COMPLETE":
            return False
        entries = (result.get("data") or {}).get("acknowledgements") or []
        with self.db.transaction():
            for entry in entries:
                self._store_ack(pushproto.unb64(entry.get("smart_license")), row["tenant"], "cssm", [seq])
        return True

    def _store_ack(self, document: str, tenant: str, source: str, report_seqs: list[int]) -> int:
        try:
            data = artifacts.parse_import(document).first("smartLicenseRumAck").data
            udi = artifacts.long_udi(data["udi"]["pid"], data["udi"]["sn"])
        except (ArtifactError, AttributeError, KeyError, TypeError):
            raise CsluError(400, "an ACK of the bundle cannot be read", "INVALID_ACK") from None
        cur = self.db.execute("INSERT INTO acks(udi, tenant, received, document, source) VALUES(?, ?, ?, ?, ?)",
                              (udi, tenant, self.now(), document, source))
        for seq in report_seqs:
            self.db.execute("UPDATE reports SET ack_seq = ?, state = CASE WHEN state = 'acked' THEN state "
                            "ELSE 'ack-ready' END WHERE seq = ? AND udi = ?", (cur.lastrowid, seq, udi))
        return cur.lastrowid

    def sync_cssm(self) -> dict:
        """Relays what is pending and fetches the ACKs CSSM has ready (connected mode)."""
        if not self.connected:
            return {"relayed": 0, "acks": 0}
        with self.lock:
            pending = [r["seq"] for r in self.db.query("SELECT seq FROM reports WHERE state = 'pending'")]
            for seq in pending:
                self._relay(seq)
            sent = [r["seq"] for r in self.db.query("SELECT seq FROM reports WHERE state = 'sent'")]
            acks = sum(1 for seq in sent if self._fetch_ack(seq))
        return {"relayed": len(pending), "acks": acks}

    # ------------------------------------------------------------------ CSLU-initiated (pull)
    def add_device(self, target: pull.Target, tenant: str = DEFAULT_TENANT) -> None:
        if target.method not in pull.METHODS:
            raise CsluError(400, f"method is one of {', '.join(pull.METHODS)}")
        if not target.name or not target.host:
            raise CsluError(400, "a device has a name and a host")
        if tenant and self._account(tenant) is None:
            raise CsluError(404, f"no tenant {tenant!r}", "UNKNOWN_TENANT")
        with self.db.transaction():
            self.db.execute("INSERT INTO devices(name, host, method, port, file_port, username, password, tenant, added) "
                            "VALUES(?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT(name) DO UPDATE SET host = excluded.host, "
                            "method = excluded.method, port = excluded.port, file_port = excluded.file_port, "
                            "username = excluded.username, password = excluded.password, tenant = excluded.tenant",
                            (target.name, target.host, target.method, target.port, target.file_port,
                             target.username, target.password, tenant, self.now()))

    def remove_device(self, name: str) -> bool:
        with self.db.transaction():
            return self.db.execute("DELETE FROM devices WHERE name = ?", (name,)).rowcount > 0

    def devices(self) -> list[dict]:
        out = []
        for row in self.db.query("SELECT * FROM devices ORDER BY name"):
            d = dict(row)
            d.pop("password", None)
            out.append(d)
        return out

    def _target(self, row) -> pull.Target:
        return pull.Target(row["name"], row["host"], row["method"], row["port"], row["username"], row["password"],
                           row["file_port"])

    def collect(self, names: list[str] | None = None) -> list[dict]:
        """Pulls the reports of the listed devices (all by default); relays them when connected."""
        rows = self._device_rows(names)
        results = []
        for row in rows:
            target = self._target(row)
            try:
                got = pull.collect(target)
            except pull.PullError as exc:
                with self.db.transaction():
                    self.db.execute("UPDATE devices SET last_error = ? WHERE name = ?", (str(exc), row["name"]))
                results.append({"device": row["name"], "error": str(exc)})
                continue
            with self.lock:
                now = self.now()
                with self.db.transaction():
                    if got.envelopes is not None:
                        envelopes = got.envelopes
                        document = usage_document(envelopes)
                    else:
                        document = got.document
                        try:
                            envelopes = [json.loads(e.to_json()) for e in artifacts.parse_usage(document).envelopes]
                        except ArtifactError as exc:
                            results.append({"device": row["name"], "error": f"unreadable usage file: {exc}"})
                            continue
                    udi = _udi_of(envelopes, document) or row["udi"]
                    seq = None
                    if udi and (envelopes or got.document):
                        if envelopes or "<smartLicenseTrustRequest>" in document or "<smartLicenseAuthorizationRequest>" in document:
                            source = "pull" if got.envelopes is not None else "pull-file"
                            seq = self._store_report(udi, row["tenant"], row["name"], source, now, document, envelopes)
                        self._contact(udi, None, row["tenant"], "pull", now)
                    self.db.execute("UPDATE devices SET last_collection = ?, last_error = NULL, udi = COALESCE(?, udi) "
                                    "WHERE name = ?", (now, udi, row["name"]))
                if seq is not None and self.connected:
                    self._relay(seq)
            results.append({"device": row["name"], "udi": udi, "reports": len(envelopes), "stored": seq is not None})
        return results

    def deliver(self, names: list[str] | None = None) -> list[dict]:
        """Installs the ACKs waiting for the listed devices (fetching ready ones from CSSM first)."""
        self.sync_cssm()
        results = []
        for row in self._device_rows(names):
            if not row["udi"]:
                continue
            acks = self.db.query("SELECT * FROM acks WHERE udi = ? AND delivered IS NULL ORDER BY seq", (row["udi"],))
            for ack in acks:
                try:
                    message = pull.deliver(self._target(row), ack["document"])
                except pull.PullError as exc:
                    with self.db.transaction():
                        self.db.execute("UPDATE devices SET last_error = ? WHERE name = ?", (str(exc), row["name"]))
                    results.append({"device": row["name"], "error": str(exc)})
                    break
                with self.db.transaction():
                    now = self.now()
                    self.db.execute("UPDATE acks SET delivered = ? WHERE seq = ?", (now, ack["seq"]))
                    self.db.execute("UPDATE reports SET state = 'acked' WHERE ack_seq = ?", (ack["seq"],))
                    self.db.execute("UPDATE devices SET last_delivery = ?, last_error = NULL WHERE name = ?",
                                    (now, row["name"]))
                results.append({"device": row["name"], "delivered": ack["seq"], "message": message})
        return results

    def _device_rows(self, names):
        rows = self.db.query("SELECT * FROM devices ORDER BY name")
        if names:
            unknown = set(names) - {r["name"] for r in rows}
            if unknown:
                raise CsluError(404, f"no device {', '.join(sorted(unknown))} in the device list", "UNKNOWN_DEVICE")
            rows = [r for r in rows if r["name"] in names]
        return rows

    # ------------------------------------------------------------------ disconnected: files
    def export_bundle(self) -> tuple[str, bytes, int]:
        """CSSM's offline upload bundle of every report not yet sent to CSSM (Download All For Cisco)."""
        with self.lock, self.db.transaction():
            rows = self.db.query("SELECT * FROM reports WHERE state = 'pending' ORDER BY seq")
            if not rows:
                raise CsluError(409, "There is no usage data to send to Cisco", "NOTHING_TO_EXPORT")
            stamp = int(self.now())
            name, data = make_upload_bundle({f"r{r['seq']}": r["document"].encode() for r in rows}, stamp)
            mapping = {str(i): r["seq"] for i, r in enumerate(rows, start=1)}
            exports = self.db.get("exports", {})
            exports[str(stamp)] = mapping
            self.db.put("exports", exports)
            for r in rows:
                self.db.execute("UPDATE reports SET state = 'exported' WHERE seq = ?", (r["seq"],))
        return name, data, len(rows)

    def import_bundle(self, data: bytes) -> int:
        """CSSM's ACK bundle (Upload From Cisco): each ACK waits for its device's next contact (push) or
        the next `deliver` (pull)."""
        files = _read_ack_bundle(data)
        exports = self.db.get("exports", {})
        with self.lock, self.db.transaction():
            count = 0
            for name, body in files.items():
                # ACK_dev_<id>_<stamp>.txt answers dev_<id>_<stamp>.txt of the export with that stamp
                parts = PurePosixPath(name).stem.split("_")
                seqs = []
                if len(parts) >= 4 and parts[0] == "ACK" and parts[1] == "dev":
                    seq = exports.get(parts[3], {}).get(parts[2])
                    if seq is not None:
                        seqs = [seq]
                row = self.db.one("SELECT tenant FROM reports WHERE seq = ?", (seqs[0],)) if seqs else None
                self._store_ack(body.decode("utf-8", errors="replace"), row["tenant"] if row else "", "import", seqs)
                count += 1
        if not count:
            raise CsluError(400, "the bundle holds no ACK", "INVALID_BUNDLE")
        return count

    # ------------------------------------------------------------------ the web page
    def overview(self) -> dict:
        products = [dict(r) for r in self.db.query("SELECT * FROM products ORDER BY first_seen, udi")]
        for p in products:
            p["pending_acks"] = self.db.one("SELECT COUNT(*) AS n FROM acks WHERE udi = ? AND delivered IS NULL",
                                            (p["udi"],))["n"]
            p["reports"] = self.db.one("SELECT COUNT(*) AS n FROM reports WHERE udi = ?", (p["udi"],))["n"]
            p["waiting"] = self.db.one("SELECT COUNT(*) AS n FROM reports WHERE udi = ? AND state IN "
                                       "('pending', 'sent', 'exported')", (p["udi"],))["n"]
        return {"products": products, "devices": self.devices(), "tenants": self.tenants(),
                "reports": [dict(r) for r in self.db.query(
                    "SELECT seq, udi, tenant, device, source, received, state, error, ack_seq FROM reports "
                    "ORDER BY seq DESC LIMIT 200")]}

    def close(self) -> None:
        self.db.close()


def transport_id(tenant: str) -> str:
    """SSM On-Prem's "CSLU Transport URL" id of a local account: its name + `-1` (interfaces.md §C.1)."""
    return f"{tenant}-1"


def _split_udi(udi: str) -> tuple[str, str]:
    pid, _, sn = udi[4:].partition(",SN:")
    return pid, sn


def _udi_of(envelopes: list[dict], document: str | None) -> str | None:
    for env in envelopes:
        sudi = (env.get("signature") or {}).get("sudi") if isinstance(env, dict) else None
        if isinstance(sudi, dict) and sudi.get("udi_pid") and sudi.get("udi_serial_number"):
            return artifacts.long_udi(sudi["udi_pid"], sudi["udi_serial_number"])
    if document:
        try:
            usage = artifacts.parse_usage(document)
        except ArtifactError:
            return None
        for ident in usage.identities + usage.privacy:
            udi = ident.get("udi") if isinstance(ident, dict) else None
            if isinstance(udi, dict) and udi.get("udi_pid"):
                return artifacts.long_udi(udi["udi_pid"], udi["udi_serial_number"])
        for req in usage.requests:
            udis = req.data.get("udis") or [req.data.get("udi")]
            if udis and isinstance(udis[0], dict):
                return artifacts.long_udi(udis[0]["pid"], udis[0]["sn"])
    return None


def _read_ack_bundle(data: bytes) -> dict[str, bytes]:
    """ACK_UD_VA_<ts>.tar.gz inside the answer → its ACK_dev_<id>_<ts>.txt files."""
    if len(data) > MAX_BUNDLE:
        raise CsluError(413, "the bundle is too large", "TOO_LARGE")

    def members(blob: bytes) -> dict[str, bytes]:
        out = {}
        try:
            with tarfile.open(fileobj=io.BytesIO(blob), mode="r:*") as tar:
                for i, m in enumerate(tar):
                    if i > 10000:
                        raise CsluError(400, "too many files in the bundle", "INVALID_BUNDLE")
                    if m.isfile() and m.size <= 16 * 1024 * 1024:
                        f = tar.extractfile(m)
                        out[PurePosixPath(m.name).name] = f.read() if f else b""
        except (tarfile.TarError, EOFError, OSError):
            raise CsluError(400, "not a tar.gz ACK bundle from CSSM", "INVALID_BUNDLE") from None
        return out

    outer = members(data)
    files: dict[str, bytes] = {}
    for name, body in outer.items():
        if name.endswith(".tar.gz"):
            files.update({n: b for n, b in members(body).items() if n.startswith("ACK_") and n.endswith(".txt")})
        elif name.startswith("ACK_") and name.endswith(".txt"):
            files[name] = body
    if not files:
        raise CsluError(400, "the bundle holds no ACK_dev_*.txt file", "INVALID_BUNDLE")
    return files


def target_from_dict(d: dict) -> pull.Target:
    fields = {k: d[k] for k in asdict(pull.Target("", "")).keys() if k in d}
    return pull.Target(**fields)


def now_ms() -> int:
    return int(time.time() * 1000)
