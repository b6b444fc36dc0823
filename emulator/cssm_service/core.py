"""The CSSM service's state and rules, without HTTP: accounts and API clients, OAuth2 access tokens, ID
tokens, the product-instance inventory, the reports received, poll ids with their processing delay on the
service's own clock, and the answers to Cisco's REST API and to the devices' push protocol. All state is
in SQLite under the state directory (`cssm.db`); the issuing itself is `emulator.cssm.Cssm`'s."""

from __future__ import annotations

import json
import secrets
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from .. import pushproto
from ..cssm import POLICY_PRESETS, CssmError, CssmRefusal, make_token
from ..engine import artifacts
from ..engine.artifacts import ArtifactError
from ..engine.clock import Clock
from ..svcdb import META_SCHEMA, Db
from .issuer import ServiceIssuer, ack_summary, usage_document

DB_NAME = "cssm.db"
DEFAULT_DELAY = 180.0                  # "the ACK can take several minutes" (interfaces.md §C.4)
ACCESS_TOKEN_LIFETIME = 3600
OVERDUE_DAYS = 90                      # no report for this long: "Usage reporting overdue"
DAY = 86400.0

SCHEMA = META_SCHEMA + """
CREATE TABLE IF NOT EXISTS smart_accounts (account_id INTEGER PRIMARY KEY, domain TEXT UNIQUE NOT NULL,
    name TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS virtual_accounts (virtual_account_id INTEGER PRIMARY KEY,
    account_id INTEGER NOT NULL, name TEXT NOT NULL, UNIQUE(account_id, name));
CREATE TABLE IF NOT EXISTS clients (client_id TEXT PRIMARY KEY, client_secret TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS access_tokens (token TEXT PRIMARY KEY, client_id TEXT NOT NULL, expires REAL NOT NULL);
CREATE TABLE IF NOT EXISTS id_tokens (token TEXT PRIMARY KEY, virtual_account_id INTEGER NOT NULL,
    created REAL NOT NULL, expires REAL, description TEXT);
CREATE TABLE IF NOT EXISTS instances (udi TEXT PRIMARY KEY, pid TEXT NOT NULL, sn TEXT NOT NULL, hostname TEXT,
    virtual_account_id INTEGER, created REAL NOT NULL, last_report REAL, last_ack REAL, trusted REAL,
    licenses TEXT NOT NULL DEFAULT '{}', authorized TEXT NOT NULL DEFAULT '{}', source TEXT);
CREATE TABLE IF NOT EXISTS reports (seq INTEGER PRIMARY KEY AUTOINCREMENT, udi TEXT NOT NULL, report_id INTEGER,
    entitlement TEXT, count INTEGER, start_time REAL, end_time REAL, received REAL NOT NULL, status TEXT NOT NULL,
    channel TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS reports_udi ON reports(udi);
CREATE TABLE IF NOT EXISTS polls (poll_id TEXT PRIMARY KEY, kind TEXT NOT NULL, created REAL NOT NULL,
    ready_at REAL NOT NULL, result TEXT NOT NULL, udis TEXT NOT NULL, fetched INTEGER NOT NULL DEFAULT 0);
"""


class ApiError(Exception):
    """An answer in the API's error shape: HTTP `status`, {"status": "FAILED", "message", "message_code"}."""

    def __init__(self, status: int, message: str, code: str = "BAD_REQUEST", headers: dict | None = None):
        super().__init__(message)
        self.status = status
        self.message = message
        self.code = code
        self.headers = headers or {}


# ---------------------------------------------------------------------------------------------- accounts

@dataclass
class AccountsConfig:
    """Smart accounts (domain → name, virtual account names) and API clients (id → secret)."""
    smart_accounts: list[dict] = field(default_factory=list)
    clients: dict[str, str] = field(default_factory=dict)

    @classmethod
    def load(cls, path: str | Path | None = None, *, smart_account: str | None = None, domain: str | None = None,
             virtual_accounts: tuple[str, ...] = (), client_id: str | None = None,
             client_secret: str | None = None) -> "AccountsConfig":
        """From a YAML file (see `slpemu cssm serve --help`) and/or the command-line options; defaults to
        Smart Account Eg-SA (example.com) with Virtual Account Eg-VA and client slpemu / slpemu-secret."""
        cfg = cls()
        if path:
            try:
                raw = yaml.safe_load(Path(path).read_text()) or {}
            except (OSError, yaml.YAMLError) as exc:
                raise ValueError(f"cannot read the accounts file {path}: {exc}") from None
            if not isinstance(raw, dict):
                raise ValueError("the accounts file holds a mapping")
            for sa in raw.get("smart_accounts") or []:
                if not isinstance(sa, dict) or not isinstance(sa.get("name"), str):
                    raise ValueError("each smart account has a name")
                vas = sa.get("virtual_accounts") or ["DEFAULT"]
                if not all(isinstance(v, str) and v for v in vas):
                    raise ValueError(f"the virtual accounts of {sa['name']} are names")
                cfg.smart_accounts.append({"name": sa["name"], "domain": str(sa.get("domain") or _domain(sa["name"])),
                                           "virtual_accounts": list(vas)})
            for client in raw.get("clients") or []:
                if not isinstance(client, dict) or not client.get("client_id") or not client.get("client_secret"):
                    raise ValueError("each client has a client_id and a client_secret")
                cfg.clients[str(client["client_id"])] = str(client["client_secret"])
        if smart_account or virtual_accounts or not cfg.smart_accounts:
            name = smart_account or "Eg-SA"
            existing = next((sa for sa in cfg.smart_accounts if sa["name"] == name), None)
            if existing is None:
                existing = {"name": name, "domain": domain or _domain(name), "virtual_accounts": []}
                cfg.smart_accounts.append(existing)
            for va in virtual_accounts or (() if existing["virtual_accounts"] else ("Eg-VA",)):
                if va not in existing["virtual_accounts"]:
                    existing["virtual_accounts"].append(va)
        if client_id or not cfg.clients:
            cfg.clients[client_id or "slpemu"] = client_secret or "slpemu-secret"
        return cfg


def _domain(name: str) -> str:
    return "".join(c for c in name.lower() if c.isalnum() or c in ".-") + ".example.com"


# ---------------------------------------------------------------------------------------------- the service

class CssmService:
    def __init__(self, state_dir: str | Path, accounts: AccountsConfig | None = None, *, private_key=None,
                 delay: float | None = None, policy: str | None = None):
        self.state_dir = Path(state_dir)
        self.state_dir.mkdir(parents=True, exist_ok=True)
        self.db = Db(self.state_dir / DB_NAME, SCHEMA)
        self.lock = threading.RLock()
        self.clock = Clock()
        self.clock.restore(self.db.get("clock") or {})
        if policy is not None and policy not in POLICY_PRESETS:
            raise ValueError(f"unknown policy {policy!r}; known: {', '.join(POLICY_PRESETS)}")
        if delay is not None and delay < 0:
            raise ValueError("the processing delay is 0 or more seconds")
        with self.db.transaction():
            if delay is not None:
                self.db.put("delay", float(delay))
            if policy is not None:
                self.db.put("policy", policy)
            if accounts is not None:
                self._install_accounts(accounts)
            elif self.db.one("SELECT 1 FROM smart_accounts") is None:
                self._install_accounts(AccountsConfig.load())
        first = self.default_account()
        self.issuer = ServiceIssuer(self.db, private_key, first[0], first[1])

    # ------------------------------------------------------------------ configuration
    def _install_accounts(self, cfg: AccountsConfig) -> None:
        for sa in cfg.smart_accounts:
            row = self.db.one("SELECT account_id FROM smart_accounts WHERE domain = ?", (sa["domain"],))
            if row is None:
                cur = self.db.execute("INSERT INTO smart_accounts(domain, name) VALUES(?, ?)",
                                      (sa["domain"], sa["name"]))
                sa_id = cur.lastrowid
            else:
                sa_id = row["account_id"]
                self.db.execute("UPDATE smart_accounts SET name = ? WHERE account_id = ?", (sa["name"], sa_id))
            for va in sa["virtual_accounts"]:
                self.db.execute("INSERT OR IGNORE INTO virtual_accounts(account_id, name) VALUES(?, ?)", (sa_id, va))
        for cid, secret in cfg.clients.items():
            self.db.execute("INSERT INTO clients(client_id, client_secret) VALUES(?, ?) ON CONFLICT(client_id) "
                            "DO UPDATE SET client_secret = excluded.client_secret", (cid, secret))

    @property
    def delay(self) -> float:
        return float(self.db.get("delay", DEFAULT_DELAY))

    def set_delay(self, seconds: float) -> None:
        if isinstance(seconds, bool) or not isinstance(seconds, (int, float)) or seconds < 0:
            raise ApiError(400, "the processing delay is a number of seconds, 0 or more")
        self.db.put("delay", float(seconds))

    @property
    def policy(self) -> str | None:
        return self.db.get("policy")

    def default_account(self) -> tuple[str, str]:
        row = self.db.one("SELECT s.name AS sa, v.name AS va FROM virtual_accounts v JOIN smart_accounts s "
                          "USING(account_id) ORDER BY s.account_id, v.virtual_account_id LIMIT 1")
        return (row["sa"], row["va"]) if row else ("Eg-SA", "Eg-VA")

    # ------------------------------------------------------------------ clock
    def now(self) -> float:
        return self.clock.now()

    def advance(self, seconds) -> float:
        if isinstance(seconds, bool) or not isinstance(seconds, (int, float)) or seconds < 0:
            raise ApiError(400, "seconds is a number, 0 or more")
        with self.lock:
            self.clock.jump_to(self.clock.now() + seconds)
            self.db.put("clock", self.clock.to_dict())
            return self.clock.now()

    # ------------------------------------------------------------------ accounts, clients, tokens
    def account_of_va(self, name: str, smart_account: str | None = None) -> tuple[int, str, str]:
        sql = ("SELECT v.virtual_account_id AS id, s.name AS sa, v.name AS va FROM virtual_accounts v "
               "JOIN smart_accounts s USING(account_id) WHERE v.name = ?")
        args: tuple = (name,)
        if smart_account:
            sql += " AND (s.name = ? OR s.domain = ?)"
            args += (smart_account, smart_account)
        rows = self.db.query(sql, args)
        if not rows:
            raise ValueError(f"no virtual account {name!r}" + (f" in {smart_account}" if smart_account else ""))
        if len(rows) > 1:
            raise ValueError(f"virtual account {name!r} exists in several smart accounts: name one with --sa")
        return rows[0]["id"], rows[0]["sa"], rows[0]["va"]

    def va_names(self, va_id: int | None) -> tuple[str, str] | None:
        if va_id is None:
            return None
        row = self.db.one("SELECT s.name AS sa, v.name AS va FROM virtual_accounts v JOIN smart_accounts s "
                          "USING(account_id) WHERE v.virtual_account_id = ?", (va_id,))
        return (row["sa"], row["va"]) if row else None

    def create_id_token(self, va: str, smart_account: str | None = None, description: str = "",
                        expires_days: int | None = 365) -> str:
        """CSSM > Inventory > General > New Token: a token of the Virtual Account, reusable by every product
        instance of it (L1538)."""
        va_id, sa_name, va_name = self.account_of_va(va, smart_account)
        token = make_token(sa_name, va_name)
        now = self.now()
        with self.db.transaction():
            self.db.execute("INSERT INTO id_tokens(token, virtual_account_id, created, expires, description) "
                            "VALUES(?, ?, ?, ?, ?)", (token, va_id, now,
                                                      None if expires_days is None else now + expires_days * DAY,
                                                      description))
        return token

    def issue_access_token(self, form: dict) -> dict:
        if form.get("grant_type") != "client_credentials":
            raise ApiError(400, "grant_type must be client_credentials", "unsupported_grant_type")
        cid, secret = form.get("client_id"), form.get("client_secret")
        row = self.db.one("SELECT client_secret FROM clients WHERE client_id = ?", (cid or "",))
        if not cid or row is None or not secrets.compare_digest(row["client_secret"], secret or ""):
            raise ApiError(401, "Client authentication failed", "invalid_client")
        token = secrets.token_urlsafe(32)
        with self.db.transaction():
            self.db.execute("DELETE FROM access_tokens WHERE expires < ?", (time.time(),))
            self.db.execute("INSERT INTO access_tokens(token, client_id, expires) VALUES(?, ?, ?)",
                            (token, cid, time.time() + ACCESS_TOKEN_LIFETIME))
        return {"access_token": token, "token_type": "Bearer", "expires_in": ACCESS_TOKEN_LIFETIME}

    def check_bearer(self, header: str | None) -> str:
        scheme, _, token = (header or "").partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            raise ApiError(401, "A Bearer access token is required", "UNAUTHORIZED",
                           {"WWW-Authenticate": 'Bearer realm="CSSM"'})
        row = self.db.one("SELECT client_id, expires FROM access_tokens WHERE token = ?", (token.strip(),))
        if row is None or row["expires"] < time.time():
            raise ApiError(401, "The access token is invalid or has expired", "UNAUTHORIZED",
                           {"WWW-Authenticate": 'Bearer realm="CSSM", error="invalid_token"'})
        return row["client_id"]

    def check_client(self, client_id: str, secret: str) -> bool:
        row = self.db.one("SELECT client_secret FROM clients WHERE client_id = ?", (client_id,))
        return row is not None and secrets.compare_digest(row["client_secret"], secret)

    def accounts_search(self) -> dict:
        out = []
        for sa in self.db.query("SELECT * FROM smart_accounts ORDER BY account_id"):
            vas = self.db.query("SELECT * FROM virtual_accounts WHERE account_id = ? ORDER BY virtual_account_id",
                                (sa["account_id"],))
            out.append({"domain": sa["domain"], "account_id": str(sa["account_id"]), "name": sa["name"],
                        "account_type": "CUSTOMER", "status": "ACTIVE",
                        "virtual_accounts": [{"name": v["name"], "virtual_account_id": str(v["virtual_account_id"])}
                                             for v in vas]})
        return {"accounts": out}

    def _va_from_headers(self, headers) -> tuple[int, str, str]:
        sa_id, va_id = headers.get("X-CSW-SMART-ACCOUNT-ID"), headers.get("X-CSW-VIRTUAL-ACCOUNT-ID")
        if not sa_id or not va_id:
            raise ApiError(400, "X-CSW-SMART-ACCOUNT-ID and X-CSW-VIRTUAL-ACCOUNT-ID are required", "MISSING_HEADER")
        row = self.db.one("SELECT v.virtual_account_id AS id, s.name AS sa, v.name AS va FROM virtual_accounts v "
                          "JOIN smart_accounts s USING(account_id) WHERE CAST(s.account_id AS TEXT) = ? "
                          "AND CAST(v.virtual_account_id AS TEXT) = ?", (sa_id.strip(), va_id.strip()))
        if row is None:
            raise ApiError(404, f"No virtual account {va_id} in smart account {sa_id}", "ACCOUNT_NOT_FOUND")
        requesting = headers.get("X-CSW-REQUESTING-SYSTEM")
        if requesting:
            try:
                obj = json.loads(requesting)
            except ValueError:
                obj = None
            if not isinstance(obj, dict):
                raise ApiError(400, "X-CSW-REQUESTING-SYSTEM is a JSON object (the requesting system's sudi)",
                               "BAD_HEADER")
        return row["id"], row["sa"], row["va"]

    # ------------------------------------------------------------------ REST: usage, authorizations, poll
    def report_usage(self, headers, body: bytes) -> dict:
        va_id, sa, va = self._va_from_headers(headers)
        data = _data(body)
        reports = data.get("reports")
        if not isinstance(reports, list) or not reports:
            raise ApiError(400, "data.reports is a non-empty list")
        items = []
        for i, item in enumerate(reports):
            sudi = item.get("sudi") if isinstance(item, dict) else None
            if not _is_sudi(sudi):
                raise ApiError(400, f"reports[{i}].sudi holds udi_pid and udi_serial_number")
            if isinstance(item.get("smart_license"), str):
                try:
                    document = pushproto.unb64(item["smart_license"], f"reports[{i}].smart_license")
                except pushproto.ProtocolError as exc:
                    raise ApiError(400, exc.message) from None
            else:
                usage = item.get("usage")
                if not isinstance(usage, list) or not usage or not all(
                        isinstance(u, dict) and isinstance(u.get("payload"), str) and isinstance(u.get("signature"), dict)
                        for u in usage):
                    raise ApiError(400, f"reports[{i}].usage is a list of {{payload, signature}} reports")
                document = usage_document(usage)
            items.append((sudi, document))
        with self.lock, self.db.transaction(), self.issuer.atomic():
            now = self.now()
            results = []
            fresh = 0
            for sudi, document in items:
                try:
                    ack = self.issuer.process_usage(document, now=now, policy=self.policy, smart_account=sa,
                                                    virtual_account=va)
                except CssmError as exc:
                    raise ApiError(400, f"{_udi_text(sudi)}: {exc}", "INVALID_REPORT") from None
                summary = self._record_usage(document, ack, now, "api", va_id, sudi)
                fresh += sum(1 for a in summary["acknowledgements"] if a.get("status") == "ACKED")
                results.append({"sudi": sudi, "smart_license": ack})
            if not fresh:
                raise _Duplicate()
            poll_id = self._new_poll("acknowledgements", now, now + self.delay, results)
        return {"status": "OK_POLL", "poll_id": poll_id, "message": ""}

    def auth_request(self, headers, body: bytes) -> dict:
        va_id, sa, va = self._va_from_headers(headers)
        data = _data(body)
        licenses = data.get("licenses")
        if not isinstance(licenses, list) or not licenses:
            raise ApiError(400, "data.licenses is a non-empty list")
        for i, lic in enumerate(licenses):
            if not isinstance(lic, dict) or not _is_sudi(lic.get("sudi")) or not isinstance(lic.get("keys"), list):
                raise ApiError(400, f"licenses[{i}] holds sudi and keys")
        with self.lock, self.db.transaction(), self.issuer.atomic():
            now = self.now()
            results = []
            for lic in licenses:
                pid, sn = lic["sudi"]["udi_pid"], lic["sudi"]["udi_serial_number"]
                try:
                    if lic["keys"]:
                        answer = self.issuer.issue_slac(pid, sn, lic["keys"], (sa, va), now)
                        self._record_slac(pid, sn, answer, now, va_id, lic.get("hostname"))
                    else:
                        answer = self.issuer.remove_slac(pid, sn, lic.get("remove_code"), now)
                        self._touch(pid, sn, now, va_id, lic.get("hostname"), "api", authorized={})
                except CssmError as exc:
                    raise ApiError(400, f"{_udi_text(lic['sudi'])}: {exc}", "INVALID_REQUEST") from None
                results.append({"sudi": lic["sudi"], "smart_license": answer})
            poll_id = self._new_poll("authorizations", now, now, results)
        return {"status": "OK_POLL", "poll_id": poll_id, "message": ""}

    def poll(self, body: bytes) -> dict:
        data = _data(body)
        poll_id = data.get("poll_id")
        action = data.get("action")
        if not isinstance(poll_id, (str, int)) or isinstance(poll_id, bool) or str(poll_id) == "":
            raise ApiError(400, "data.poll_id is required")
        if action not in ("acknowledgements", "authorizations"):
            raise ApiError(400, 'data.action is "acknowledgements" or "authorizations"')
        with self.lock:
            row = self.db.one("SELECT * FROM polls WHERE poll_id = ?", (str(poll_id),))
            if row is None or row["kind"] not in (action, "device-usage"):
                raise ApiError(404, f"Invalid Polling Id {poll_id} provided in the polling request",
                               "INVALID_POLL_ID")
            if self.now() < row["ready_at"]:
                return {"status": "OK_POLL", "poll_id": str(poll_id), "message": ""}
            results = json.loads(row["result"])
            with self.db.transaction():
                self.db.execute("UPDATE polls SET fetched = fetched + 1 WHERE poll_id = ?", (str(poll_id),))
                if action == "acknowledgements":
                    for r in results:
                        self._acked(r["sudi"], self.now())
        key = "acknowledgements" if action == "acknowledgements" else "authorizations"
        entries = [{"sudi": r["sudi"], "status": "COMPLETE" if key == "acknowledgements" else "SUCCESS",
                    "smart_license": pushproto.b64(r["smart_license"]), "status_message": "", "error_code": None}
                   for r in results]
        return {"status": "COMPLETE", "poll_id": str(poll_id), "message": "", "data": {key: entries}}

    # ------------------------------------------------------------------ the devices' push protocol
    def device_message(self, body: bytes, channel: str = "smart") -> dict:
        """One message of `emulator.pushproto` from a directly connected device. ProtocolError → 400."""
        msg = pushproto.parse_request(body)
        with self.lock:
            now = self.now()
            if msg.kind == "poll":
                row = self.db.one("SELECT * FROM polls WHERE poll_id = ? AND kind = 'device-usage'", (msg.poll_id,))
                if row is None:
                    return pushproto.failed(f"Invalid Polling Id {msg.poll_id} provided in the polling request",
                                            "INVALID_POLL_ID")
                if now < row["ready_at"]:
                    return pushproto.deferred(msg.poll_id, pushproto.OK_POLL)
                results = json.loads(row["result"])
                with self.db.transaction():
                    self.db.execute("UPDATE polls SET fetched = fetched + 1 WHERE poll_id = ?", (msg.poll_id,))
                    self._acked(results[0]["sudi"], now)
                return pushproto.complete(results[0]["smart_license"], msg.poll_id)
            try:
                with self.db.transaction(), self.issuer.atomic():
                    return self._device_request(msg, now, channel)
            except CssmRefusal as exc:
                return pushproto.failed(exc.reason, "REFUSED")
            except (CssmError, ArtifactError) as exc:
                return pushproto.failed(str(exc), "INVALID_REQUEST")

    def _device_request(self, msg: pushproto.Message, now: float, channel: str) -> dict:
        known = self._instance_va(msg.udi)
        if msg.kind == "usage":
            account = self.va_names(known)
            ack = self.issuer.process_usage(msg.document, now=now, policy=self.policy,
                                            smart_account=account[0] if account else None,
                                            virtual_account=account[1] if account else None)
            summary = self._record_usage(msg.document, ack, now, channel, known, msg.sudi, msg.hostname)
            if not any(a.get("status") == "ACKED" for a in summary["acknowledgements"]) and summary["acknowledgements"]:
                pass        # every report already received: the ACK says DROPPED, as the library answers
            poll_id = self._new_poll("device-usage", now, now + self.delay, [{"sudi": msg.sudi, "smart_license": ack}])
            return pushproto.deferred(poll_id, pushproto.OK_POLL)
        if msg.kind == "trust":
            request = artifacts.parse_signed_file(msg.document, ("smartLicenseTrustRequest",))[0]
            va_id = self._token_va(msg.id_token, msg.udi)
            answer = self.issuer.establish_trust(msg.id_token, request, force=msg.force, now=now, policy=self.policy)
            for udi in request.data.get("udis") or []:
                self._touch(udi["pid"], udi["sn"], now, va_id, msg.hostname, channel, trusted=now)
            return pushproto.complete(answer)
        if msg.kind == "authorization":
            request = artifacts.parse_signed_file(msg.document, ("smartLicenseAuthorizationRequest",))[0]
            answer = self.issuer.authorize(request, now=now)
            udi = msg.udi or ("", "")
            self._record_slac(udi[0], udi[1], answer, now, known, msg.hostname)
            return pushproto.complete(answer)
        answer = self.issuer.process_authorization_return(msg.document, now=now)
        if msg.udi:
            self._touch(msg.udi[0], msg.udi[1], now, known, msg.hostname, channel, authorized={})
        return pushproto.complete(answer)

    def _token_va(self, token: str | None, udi) -> int | None:
        if token == "trust-sync":                         # a new HA member of a trusted active (R58)
            return self._instance_va(udi)
        row = self.db.one("SELECT * FROM id_tokens WHERE token = ?", (token or "",))
        if row is None:
            raise CssmRefusal("Invalid ID token")
        if row["expires"] is not None and row["expires"] < self.now():
            raise CssmRefusal("The ID token has expired")
        return row["virtual_account_id"]

    # ------------------------------------------------------------------ inventory
    def _instance_va(self, udi) -> int | None:
        if not udi:
            return None
        row = self.db.one("SELECT virtual_account_id FROM instances WHERE udi = ?", (artifacts.long_udi(*udi),))
        return row["virtual_account_id"] if row else None

    def _touch(self, pid: str, sn: str, now: float, va_id: int | None, hostname: str | None, source: str,
               **changes) -> None:
        key = artifacts.long_udi(pid, sn)
        row = self.db.one("SELECT * FROM instances WHERE udi = ?", (key,))
        if row is None:
            if va_id is None:
                va_id = self.account_of_va(self.issuer.virtual_account)[0] if self._va_exists() else None
            self.db.execute("INSERT INTO instances(udi, pid, sn, hostname, virtual_account_id, created, source) "
                            "VALUES(?, ?, ?, ?, ?, ?, ?)", (key, pid, sn, hostname, va_id, now, source))
        else:
            if hostname:
                self.db.execute("UPDATE instances SET hostname = ? WHERE udi = ?", (hostname, key))
            if va_id is not None and va_id != row["virtual_account_id"]:
                self.db.execute("UPDATE instances SET virtual_account_id = ? WHERE udi = ?", (va_id, key))
        for name, value in changes.items():
            if isinstance(value, dict):
                value = json.dumps(value)
            self.db.execute(f"UPDATE instances SET {name} = ? WHERE udi = ?", (value, key))

    def _va_exists(self) -> bool:
        try:
            self.account_of_va(self.issuer.virtual_account)
            return True
        except ValueError:
            return False

    def _record_usage(self, document: str, ack: str, now: float, channel: str, va_id: int | None, sudi,
                      hostname: str | None = None) -> dict:
        """The instance (created on its first report) and each report received, with what CSSM answered."""
        summary = ack_summary(ack)
        udi = summary["udi"]
        pid, sn = udi.get("pid") or (sudi or {}).get("udi_pid"), udi.get("sn") or (sudi or {}).get("udi_serial_number")
        account = summary["account"]
        if va_id is None and account.get("virtual_account"):
            try:
                va_id = self.account_of_va(account["virtual_account"], account.get("smart_account"))[0]
            except ValueError:
                va_id = None
        status = {a.get("report_id"): a.get("status") for a in summary["acknowledgements"]}
        try:
            usage = artifacts.parse_usage(document)
            envelopes = usage.envelopes
            if hostname is None:               # the privacy data a 17.9.1+ usage file carries (L10352)
                hostname = next((p["hostname"] for p in usage.privacy
                                 if isinstance(p, dict) and isinstance(p.get("hostname"), str)), None)
        except ArtifactError:
            envelopes = []
        self._touch(pid, sn, now, va_id, hostname, channel, last_report=now)
        row = self.db.one("SELECT licenses FROM instances WHERE udi = ?", (artifacts.long_udi(pid, sn),))
        licenses = json.loads(row["licenses"]) if row else {}
        for env in envelopes:
            try:
                payload = env.payload_obj
                rid = env.report_id
            except (ValueError, KeyError, TypeError):
                continue
            if not isinstance(payload, dict) or "measurements" not in payload:
                continue
            meta = payload.get("meta") or {}
            tag = meta.get("entitlement_tag")
            measurements = payload.get("measurements") or []
            last = measurements[-1] if measurements else {}
            try:
                count = int((last.get("value") or {}).get("value"))
            except (TypeError, ValueError):
                count = None
            start = min((m.get("start_time") for m in measurements if isinstance(m.get("start_time"), (int, float))),
                        default=None)
            end = max((m.get("end_time") for m in measurements if isinstance(m.get("end_time"), (int, float))),
                      default=None)
            self.db.execute("INSERT INTO reports(udi, report_id, entitlement, count, start_time, end_time, received, "
                            "status, channel) VALUES(?, ?, ?, ?, ?, ?, ?, ?, ?)",
                            (artifacts.long_udi(pid, sn), rid, tag, count, _secs(start), _secs(end), now,
                             status.get(rid, "ACKED"), channel))
            if tag and status.get(rid) != "DROPPED":
                prev = licenses.get(tag)
                if prev is None or (_secs(end) or 0) >= (prev.get("end") or 0):
                    licenses[tag] = {"count": count, "end": _secs(end)}
        self.db.execute("UPDATE instances SET licenses = ? WHERE udi = ?", (json.dumps(licenses),
                                                                            artifacts.long_udi(pid, sn)))
        return summary

    def _record_slac(self, pid: str, sn: str, answer: str, now: float, va_id, hostname) -> None:
        try:
            docs = artifacts.parse_signed_file(answer, ("smartLicenseAuthorization",))
        except ArtifactError:
            return
        for doc in docs:
            udi = doc.data.get("udi") or {}
            ents = {e.get("tag"): int(e.get("count") or 1) for e in doc.data.get("entitlements") or []}
            self._touch(udi.get("pid", pid), udi.get("sn", sn), now, va_id, hostname, "authorization", authorized=ents)

    def _acked(self, sudi, now: float) -> None:
        if _is_sudi(sudi):
            self.db.execute("UPDATE instances SET last_ack = ? WHERE udi = ?",
                            (now, artifacts.long_udi(sudi["udi_pid"], sudi["udi_serial_number"])))

    def _new_poll(self, kind: str, now: float, ready_at: float, results: list[dict]) -> str:
        poll_id = str(secrets.randbelow(2 ** 31 - 1) + 1)
        udis = [artifacts.long_udi(r["sudi"]["udi_pid"], r["sudi"]["udi_serial_number"])
                for r in results if _is_sudi(r.get("sudi"))]
        self.db.execute("INSERT INTO polls(poll_id, kind, created, ready_at, result, udis) VALUES(?, ?, ?, ?, ?, ?)",
                        (poll_id, kind, now, ready_at, json.dumps(results), json.dumps(udis)))
        return poll_id

    # ------------------------------------------------------------------ files uploaded in the portal
    def upload(self, data: bytes, virtual_account: str | None = None) -> tuple[str, bytes]:
        """Reports > Usage Data Files > Upload (and the other files a user uploads to CSSM): the answer
        `slpemu cssm process` would give, with the product instances added to the inventory. Returns
        (file kind, answer)."""
        if not data:
            raise ApiError(400, "The upload is empty", "EMPTY_FILE")
        account = None
        if virtual_account:
            try:
                account = self.account_of_va(virtual_account)
            except ValueError as exc:
                raise ApiError(404, str(exc), "ACCOUNT_NOT_FOUND") from None
        with self.lock, self.db.transaction(), self.issuer.atomic():
            now = self.now()
            try:
                result = self.issuer.process(data, now=now, policy=self.policy,
                                             smart_account=account[1] if account else None,
                                             virtual_account=account[2] if account else None)
            except CssmError as exc:
                raise ApiError(400, str(exc), "INVALID_FILE") from None
            kind, answer = result[0], result[1]
            if kind == "ack":
                self._record_usage(data.decode("utf-8", errors="replace"), answer.decode(), now, "upload",
                                   account[0] if account else None, None)
            elif kind == "ack-bundle":
                uploads, acks = _tar_files(data), _tar_files(answer)
                for name, ack in acks.items():
                    source = uploads.get(name[len("ACK_"):]) if name.startswith("ACK_") else None
                    if source is not None:
                        self._record_usage(source.decode("utf-8", errors="replace"), ack.decode(), now, "upload",
                                           account[0] if account else None, None)
            return kind, answer

    # ------------------------------------------------------------------ what the web page shows
    def inventory(self) -> list[dict]:
        now = self.now()
        out = []
        for row in self.db.query("SELECT * FROM instances ORDER BY created, udi"):
            names = self.va_names(row["virtual_account_id"]) or ("", "")
            alerts = []
            last = row["last_report"]
            if last is None or now - last > OVERDUE_DAYS * DAY:
                alerts.append("Usage reporting overdue")
            if row["last_report"] is not None and (row["last_ack"] is None or row["last_ack"] < row["last_report"]):
                if now - row["last_report"] > max(self.delay, 3600):
                    alerts.append("Acknowledgement not collected")
            out.append({"udi": row["udi"], "pid": row["pid"], "sn": row["sn"], "hostname": row["hostname"] or "",
                        "smart_account": names[0], "virtual_account": names[1],
                        "licenses": {k: v.get("count") for k, v in json.loads(row["licenses"]).items()},
                        "authorized": json.loads(row["authorized"]), "last_report": row["last_report"],
                        "last_ack": row["last_ack"], "trusted": row["trusted"], "created": row["created"],
                        "alerts": alerts})
        return out

    def reports_of(self, udi: str) -> list[dict]:
        return [dict(r) for r in self.db.query("SELECT * FROM reports WHERE udi = ? ORDER BY seq", (udi,))]

    def close(self) -> None:
        self.db.close()


class _Duplicate(ApiError):
    """Every report of a reportusage was received before: FAILED with a message (HTTP 200)."""

    def __init__(self):
        super().__init__(200, "Report already received.", "DUPLICATE_REPORT")


def _tar_files(data: bytes) -> dict[str, bytes]:
    """The files of a (nested) tar.gz bundle by base name."""
    import io
    import tarfile
    from pathlib import PurePosixPath

    out: dict[str, bytes] = {}
    try:
        with tarfile.open(fileobj=io.BytesIO(data), mode="r:*") as tar:
            for member in tar:
                if member.isfile() and member.size <= 16 * 1024 * 1024:
                    f = tar.extractfile(member)
                    body = f.read() if f else b""
                    name = PurePosixPath(member.name).name
                    if name.endswith(".tar.gz"):
                        out.update(_tar_files(body))
                    else:
                        out[name] = body
    except (tarfile.TarError, EOFError, OSError):
        return {}
    return out


def _data(body: bytes) -> dict:
    try:
        obj = json.loads(body)
    except (ValueError, RecursionError):
        raise ApiError(400, "The request body is not valid JSON", "MALFORMED_JSON") from None
    data = obj.get("data") if isinstance(obj, dict) else None
    if not isinstance(data, dict):
        raise ApiError(400, 'The request body holds a "data" object', "MALFORMED_REQUEST")
    return data


def _is_sudi(sudi) -> bool:
    return (isinstance(sudi, dict) and isinstance(sudi.get("udi_pid"), str) and sudi["udi_pid"]
            and isinstance(sudi.get("udi_serial_number"), str) and bool(sudi["udi_serial_number"]))


def _udi_text(sudi: dict) -> str:
    return f"PID:{sudi.get('udi_pid')},SN:{sudi.get('udi_serial_number')}"


def _secs(value) -> float | None:
    """RUM measurement times are epoch seconds (or milliseconds in some captures)."""
    if not isinstance(value, (int, float)):
        return None
    return value / 1000.0 if value > 1e11 else float(value)
