"""A client of CSSM's Smart Licensing REST API as Cisco's sample tooling uses it (interfaces.md §C.4): the
OAuth2 client-credentials token, `v2/accounts/search` to find the smart and virtual account ids, then
`v2/devices/reportusage`, `v2/devices/authrequest` and `v2/accounts/poll` with the X-CSW headers. CSLU
(and SSM On-Prem) relay to CSSM through it; it works against `slpemu cssm serve` or any service with
Cisco's shapes."""

from __future__ import annotations

import json
import ssl
import time
import urllib.error
import urllib.parse
import urllib.request

from .. import pushproto

TIMEOUT = 15.0


class CssmUnavailable(Exception):
    """CSSM could not be reached or answered with an error: the relay is retried later."""


class CssmClient:
    def __init__(self, base_url: str, *, client_id: str, client_secret: str, smart_account: str,
                 virtual_account: str, token_url: str | None = None, ca_file: str | None = None,
                 verify: bool = True, timeout: float = TIMEOUT):
        self.base_url = base_url.rstrip("/") + "/"
        if token_url is None:
            parts = urllib.parse.urlsplit(self.base_url)
            token_url = f"{parts.scheme}://{parts.netloc}/as/token.oauth2"
        self.token_url = token_url
        self.client_id = client_id
        self.client_secret = client_secret
        self.smart_account = smart_account
        self.virtual_account = virtual_account
        self.timeout = timeout
        if verify:
            self.context = ssl.create_default_context(cafile=ca_file)
        else:
            self.context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
            self.context.check_hostname = False
            self.context.verify_mode = ssl.CERT_NONE
        self._token: str | None = None
        self._token_expires = 0.0
        self._ids: dict[tuple[str, str], tuple[str, str]] = {}

    # ------------------------------------------------------------------ HTTP
    def _call(self, method: str, url: str, body: bytes | None, headers: dict) -> tuple[int, dict]:
        req = urllib.request.Request(url, data=body, method=method, headers=headers)
        try:
            with urllib.request.urlopen(req, timeout=self.timeout, context=self.context) as resp:
                status, data = resp.status, resp.read()
        except urllib.error.HTTPError as exc:
            status, data = exc.code, exc.read()
        except (urllib.error.URLError, OSError, ssl.SSLError) as exc:
            raise CssmUnavailable(f"CSSM is not reachable at {url}: {getattr(exc, 'reason', exc)}") from None
        try:
            obj = json.loads(data) if data else {}
        except ValueError:
            raise CssmUnavailable(f"CSSM answered {status} with a body that is not JSON") from None
        return status, obj if isinstance(obj, dict) else {}

    def token(self) -> str:
        if self._token and time.time() < self._token_expires - 60:
            return self._token
        form = urllib.parse.urlencode({"client_id": self.client_id, "client_secret": self.client_secret,
                                       "grant_type": "client_credentials"}).encode()
        status, obj = self._call("POST", self.token_url, form,
                                 {"Content-Type": "application/x-www-form-urlencoded"})
        if status != 200 or not isinstance(obj.get("access_token"), str):
            raise CssmUnavailable(f"CSSM refused the API credentials: {obj.get('error_description') or status}")
        self._token = obj["access_token"]
        self._token_expires = time.time() + float(obj.get("expires_in") or 3600)
        return self._token

    def _api(self, method: str, path: str, payload: dict | None = None, headers: dict | None = None,
             retry: bool = True) -> dict:
        body = json.dumps(payload).encode() if payload is not None else None
        hdrs = {"Authorization": f"Bearer {self.token()}", "Accept": "application/json", **(headers or {})}
        if body is not None:
            hdrs["Content-Type"] = "application/json"
        status, obj = self._call(method, self.base_url + path, body, hdrs)
        if status == 401 and retry:
            self._token = None
            return self._api(method, path, payload, headers, retry=False)
        if status != 200:
            raise CssmApiError(status, obj.get("message") or f"HTTP {status}", obj.get("message_code"))
        return obj

    # ------------------------------------------------------------------ accounts
    def account_ids(self, smart_account: str | None = None, virtual_account: str | None = None) -> tuple[str, str]:
        sa, va = smart_account or self.smart_account, virtual_account or self.virtual_account
        if (sa, va) in self._ids:
            return self._ids[(sa, va)]
        for account in self._api("GET", "v2/accounts/search").get("accounts") or []:
            if sa.lower() in (str(account.get("domain", "")).lower(), str(account.get("name", "")).lower()):
                for v in account.get("virtual_accounts") or []:
                    if v.get("name") == va:
                        self._ids[(sa, va)] = (str(account["account_id"]), str(v["virtual_account_id"]))
                        return self._ids[(sa, va)]
        raise CssmApiError(404, f"CSSM has no virtual account {va} in smart account {sa}", "ACCOUNT_NOT_FOUND")

    def _device_headers(self, sudi: dict, account: tuple[str, str] | None) -> dict:
        sa_id, va_id = self.account_ids(*(account or (None, None)))
        return {"X-CSW-SMART-ACCOUNT-ID": sa_id, "X-CSW-VIRTUAL-ACCOUNT-ID": va_id,
                "X-CSW-REQUESTING-SYSTEM": json.dumps(sudi)}

    # ------------------------------------------------------------------ the calls
    def report_usage(self, reports: list[dict], account: tuple[str, str] | None = None) -> dict:
        """`reports`: [{"sudi", "usage": [envelopes], ["smart_license": base64 usage file]}] → the answer
        ({"status": "OK_POLL", "poll_id"} or {"status": "FAILED", "message"})."""
        data = {"data": {"timestamp": int(time.time() * 1000), "nonce": pushproto.nonce(), "reports": reports}}
        try:
            return self._api("POST", "v2/devices/reportusage", data, self._device_headers(reports[0]["sudi"], account))
        except CssmApiError as exc:
            if exc.status == 400:
                return {"status": "FAILED", "message": exc.message, "message_code": exc.code}
            raise

    def auth_request(self, licenses: list[dict], account: tuple[str, str] | None = None) -> dict:
        data = {"data": {"timestamp": int(time.time() * 1000), "nonce": pushproto.nonce(), "licenses": licenses}}
        try:
            return self._api("POST", "v2/devices/authrequest", data, self._device_headers(licenses[0]["sudi"], account))
        except CssmApiError as exc:
            if exc.status == 400:
                return {"status": "FAILED", "message": exc.message, "message_code": exc.code}
            raise

    def poll(self, poll_id: str, action: str = "acknowledgements") -> dict:
        data = {"data": {"timestamp": str(int(time.time() * 1000)), "nonce": pushproto.nonce(), "poll_id": poll_id,
                         "action": action}}
        return self._api("POST", "v2/accounts/poll", data)


class CssmApiError(CssmUnavailable):
    def __init__(self, status: int, message: str, code: str | None = None):
        super().__init__(message)
        self.status = status
        self.message = message
        self.code = code or ""
