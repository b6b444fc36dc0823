"""The CSSM and CSLU services' interfaces: Cisco's Smart Licensing REST API as Cisco's sample tooling calls
it (only the base URL changed), every option documented in --help, and bad requests answered in the API's
error shape with nothing changed."""

from __future__ import annotations

import base64
import json
import re

import pytest

from emulator.testing.estate import DAY, _session

pytestmark = pytest.mark.filterwarnings("ignore::urllib3.exceptions.InsecureRequestWarning")

NONCE = "ABCDEFGHijklmnop"


def failed_shape(resp, status: int) -> dict:
    assert resp.status_code == status, resp.text
    body = resp.json()
    assert body["status"] == "FAILED" and body["message"] and body["message_code"], body
    return body


@pytest.fixture
def api_device(estate):
    """A CSSM service, and a device's saved usage file with two reports."""
    cssm = estate.cssm(delay=30)
    dev = estate.device()
    dev.configure("license smart transport off")
    dev.use("dna-advantage", 2)
    dev.advance(DAY)
    dev.cli("license smart save usage unreported file bootflash:u.txt")
    return cssm, dev, dev.sftp_get("u.txt").decode()


def sample_client(cssm):
    """What Cisco's sample client does first: the token, then the account ids (interfaces.md §C.4)."""
    s = _session()
    token = s.post(f"{cssm.url}/as/token.oauth2", data={"client_id": "slpemu", "client_secret": "slpemu-secret",
                                                        "grant_type": "client_credentials"},
                   headers={"Content-Type": "application/x-www-form-urlencoded"})
    assert token.status_code == 200 and set(token.json()) >= {"access_token", "token_type", "expires_in"}
    s.headers["Authorization"] = f"Bearer {token.json()['access_token']}"
    accounts = s.get(f"{cssm.api_url}/v2/accounts/search").json()["accounts"]
    sa = next(a for a in accounts if a["domain"] == "eg-sa.example.com")
    va = next(v for v in sa["virtual_accounts"] if v["name"] == "Eg-VA")
    return s, sa["account_id"], va["virtual_account_id"]


def report_body(usage_text: str, sn: str, with_file: bool = True) -> dict:
    envelopes = [json.loads(el) for el in re.findall(r"<RUMReport>\s*<!\[CDATA\[(.*?)\]\]>\s*</RUMReport>", usage_text, re.S)]
    item = {"sudi": {"udi_pid": "C8000V", "udi_serial_number": sn}, "usage": envelopes}
    if with_file:
        item["smart_license"] = base64.b64encode(usage_text.encode()).decode()
    return {"data": {"timestamp": 1700000000000, "nonce": NONCE, "reports": [item]}}


def test_the_sample_client_flow_report_poll_ack(api_device):
    cssm, dev, usage = api_device
    s, sa_id, va_id = sample_client(cssm)
    headers = {"Content-Type": "application/json", "X-CSW-SMART-ACCOUNT-ID": sa_id, "X-CSW-VIRTUAL-ACCOUNT-ID": va_id,
               "X-CSW-REQUESTING-SYSTEM": json.dumps({"udi_pid": "C8000V", "udi_serial_number": dev.serial})}
    sent = s.post(f"{cssm.api_url}/v2/devices/reportusage", data=json.dumps(report_body(usage, dev.serial)),
                  headers=headers).json()
    assert sent["status"] != "FAILED" and sent["poll_id"]
    poll = {"data": {"timestamp": "1", "nonce": NONCE, "poll_id": sent["poll_id"], "action": "acknowledgements"}}
    waiting = s.post(f"{cssm.api_url}/v2/accounts/poll", data=json.dumps(poll), headers=headers).json()
    assert waiting["status"] == "OK_POLL" and waiting["message"] == ""
    cssm.advance(31)
    done = s.post(f"{cssm.api_url}/v2/accounts/poll", data=json.dumps(poll), headers=headers).json()
    assert done["status"] == "COMPLETE"
    ack = base64.b64decode(done["data"]["acknowledgements"][0]["smart_license"])
    dev.sftp_put("ack.txt", ack)
    assert "Import Data Successful" in dev.cli("license smart import bootflash:ack.txt")
    # the same reports again: FAILED with a message, nothing changed
    before = cssm.inventory()
    again = s.post(f"{cssm.api_url}/v2/devices/reportusage", data=json.dumps(report_body(usage, dev.serial)),
                   headers=headers).json()
    assert again["status"] == "FAILED" and "already received" in again["message"]
    assert cssm.inventory() == before


def test_authorization_request_and_return_through_the_api(api_device):
    cssm, dev, _ = api_device
    s, sa_id, va_id = sample_client(cssm)
    headers = {"X-CSW-SMART-ACCOUNT-ID": sa_id, "X-CSW-VIRTUAL-ACCOUNT-ID": va_id,
               "X-CSW-REQUESTING-SYSTEM": json.dumps({"udi_pid": "C8000V", "udi_serial_number": dev.serial})}
    tag = "regid.2019-03.com.cisco.DNA_HSEC,1.0_509c41ab-05a8-431f-95fe-ec28086e8844"
    lic = {"sudi": {"udi_pid": "C8000V", "udi_serial_number": dev.serial}, "hostname": "Router",
           "keys": [{"entitlement": tag, "count": "1"}]}
    sent = s.post(f"{cssm.api_url}/v2/devices/authrequest", json={"data": {"timestamp": 1, "nonce": NONCE,
                                                                              "licenses": [lic]}}, headers=headers).json()
    done = s.post(f"{cssm.api_url}/v2/accounts/poll", json={"data": {"timestamp": "1", "nonce": NONCE,
                                                                        "poll_id": sent["poll_id"],
                                                                        "action": "authorizations"}}).json()
    entry = done["data"]["authorizations"][0]
    assert done["status"] == "COMPLETE" and entry["status"] != "FAILED" and entry["error_code"] is None
    slac = base64.b64decode(entry["smart_license"])
    assert b"smartLicenseAuthorization" in slac
    assert cssm.inventory()[f"PID:C8000V,SN:{dev.serial}"]["authorized"] == {tag: 1}
    lic = {**lic, "keys": [], "remove_code": "Ugo7Nv-..."}
    sent = s.post(f"{cssm.api_url}/v2/devices/authrequest", json={"data": {"timestamp": 1, "nonce": NONCE,
                                                                              "licenses": [lic]}}, headers=headers).json()
    done = s.post(f"{cssm.api_url}/v2/accounts/poll", json={"data": {"timestamp": "1", "nonce": NONCE,
                                                                        "poll_id": sent["poll_id"],
                                                                        "action": "authorizations"}}).json()
    assert done["data"]["authorizations"][0]["error_code"] is None
    assert cssm.inventory()[f"PID:C8000V,SN:{dev.serial}"]["authorized"] == {}


def test_bad_requests_to_cssm_change_nothing(api_device):
    cssm, dev, usage = api_device
    s, sa_id, va_id = sample_client(cssm)
    headers = {"X-CSW-SMART-ACCOUNT-ID": sa_id, "X-CSW-VIRTUAL-ACCOUNT-ID": va_id}
    db = cssm.state_dir / "cssm.db"
    # wrong client credentials, wrong grant type (OAuth2's error shape, RFC 6749 §5.2)
    bad = _session().post(f"{cssm.url}/as/token.oauth2", data={"client_id": "slpemu", "client_secret": "nope",
                                                               "grant_type": "client_credentials"})
    assert bad.status_code == 401 and bad.json()["error"] == "invalid_client"
    bad = _session().post(f"{cssm.url}/as/token.oauth2", data={"client_id": "slpemu", "client_secret": "slpemu-secret",
                                                               "grant_type": "password"})
    assert bad.status_code == 400 and bad.json()["error"] == "unsupported_grant_type"
    before = cssm.inventory()
    # no token, a wrong token
    failed_shape(_session().get(f"{cssm.api_url}/v2/accounts/search"), 401)
    failed_shape(_session().post(f"{cssm.api_url}/v2/devices/reportusage", headers={"Authorization": "Bearer x"},
                                 data=json.dumps(report_body(usage, dev.serial))), 401)
    # malformed JSON, missing members, unknown account, unknown poll id
    failed_shape(s.post(f"{cssm.api_url}/v2/devices/reportusage", data=b"{not json", headers=headers), 400)
    failed_shape(s.post(f"{cssm.api_url}/v2/devices/reportusage", json={"data": {"reports": "x"}}, headers=headers), 400)
    failed_shape(s.post(f"{cssm.api_url}/v2/devices/reportusage", json=report_body(usage, dev.serial),
                        headers={"X-CSW-SMART-ACCOUNT-ID": "999", "X-CSW-VIRTUAL-ACCOUNT-ID": "999"}), 404)
    failed_shape(s.post(f"{cssm.api_url}/v2/accounts/poll", json={"data": {"poll_id": "12345",
                                                                            "action": "acknowledgements"}}), 404)
    failed_shape(s.post(f"{cssm.api_url}/v2/devices/authrequest", json={"data": {"licenses": [{"sudi": {}}]}},
                        headers=headers), 400)
    # a tampered report: one payload byte changed
    tampered = usage.replace('\\"count\\"', '\\"count\\" ', 1) if '\\"count\\"' in usage else usage.replace("COUNT", "COUNTS", 1)
    assert tampered != usage
    failed_shape(s.post(f"{cssm.api_url}/v2/devices/reportusage", json=report_body(tampered, dev.serial),
                        headers=headers), 400)
    # the device-facing receiver: not JSON, unknown kind, unknown poll id
    failed_shape(_session().post(cssm.device_url, data=b"<xml/>"), 400)
    failed_shape(_session().post(cssm.device_url, json={"data": {"type": "hello", "nonce": "x", "timestamp": 1}}), 400)
    unknown = _session().post(cssm.device_url, json={"data": {"type": "poll", "nonce": "x", "timestamp": 1,
                                                              "poll_id": "42"}})
    assert unknown.status_code == 200 and unknown.json()["status"] == "FAILED"
    assert "Invalid Polling Id 42" in unknown.json()["message"]
    # an unknown path and method get the same shape
    failed_shape(s.get(f"{cssm.url}/nowhere"), 404)
    failed_shape(s.get(f"{cssm.api_url}/v2/devices/reportusage"), 405)
    assert cssm.inventory() == before == {}
    assert db.exists()


def test_bad_requests_to_cslu_change_nothing(estate):
    cslu = estate.cslu("--onprem", "--tenant", "Lab")
    before = cslu.page()
    anon = _session()
    failed_shape(anon.post(f"{cslu.url}/cslu/v1/pi/Lab-1", data=b"{broken"), 400)
    failed_shape(anon.post(f"{cslu.url}/cslu/v1/pi/Lab-1", json={"data": {"type": "usage", "nonce": "n",
                                                                           "timestamp": 1, "smart_license": "%%%"}}), 400)
    failed_shape(anon.post(f"{cslu.url}/cslu/v1/pi/Nobody-1", json={"data": {}}), 404)
    failed_shape(anon.post(f"{cslu.url}/cslu/v1/pi", json={"data": {}}), 404)            # On-Prem needs a tenant
    failed_shape(anon.get(f"{cslu.url}/api/v1/devices"), 401)
    failed_shape(cslu.api("POST", "import", data=b"not a bundle"), 400)
    failed_shape(cslu.api("GET", "export"), 409)
    failed_shape(cslu.api("POST", "devices", json={"host": "x"}), 400)
    failed_shape(cslu.api("POST", "devices", json={"name": "a", "host": "h", "method": "telnet"}), 400)
    failed_shape(cslu.api("DELETE", "devices/none"), 404)
    assert cslu.page() == before


@pytest.mark.parametrize("command", [("cssm", "serve"), ("cslu", "serve"), ("cssm", "token", "create"),
                                     ("cslu", "device", "add")])
def test_help_documents_every_option(command):
    from click.testing import CliRunner

    from emulator.cli_main import main

    cmd = main
    for name in command:
        cmd = cmd.commands[name]
    for param in cmd.params:
        if param.param_type_name == "option":
            assert param.help, f"{' '.join(command)} {param.opts[0]} has no help"
    out = CliRunner().invoke(main, [*command, "--help"]).output
    for param in cmd.params:
        if param.param_type_name == "option":
            assert param.opts[-1] in out
