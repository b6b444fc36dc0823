"""The native SLP REST API `/smartlic-service` against a real server on loopback: the collection-and-import
cycle with the CSSM issuing library answering, with the headers and body shapes of Cisco's published
examples, and its refusals."""

import base64
import json

import pytest

from emulator.cssm import Cssm
from emulator.engine import artifacts
from tests.conftest import DAY
from tests.integration.test_restconf_api import Client, device, server  # noqa: F401  (fixtures)

pytestmark = pytest.mark.filterwarnings("ignore::urllib3.exceptions.InsecureRequestWarning")

FOXY = {"FOXY-API-VERSION": "1", "Accept": "application/yang-data+json",
        "Content-Type": "application/yang-data+json", "Cache-Control": "no-cache"}


@pytest.fixture
def api(server):
    client = Client(server.https.url)
    yield client
    client.s.close()


def get(api, path, headers=None):
    return api.s.get(api.base + path, headers=headers or {"Content-Type": "application/json"}, timeout=10)


def post(api, path, data=None, headers=None):
    return api.s.post(api.base + path, data=data, headers=headers or {"Content-Type": "application/json"},
                      timeout=10)


def test_collection_and_import_cycle(api, device, tmp_path):
    device.set_usage("network-advantage", 2)
    device.set_usage("dna-advantage", 1)
    device.advance_clock(3600)
    assert {r.state for r in device.report_list()} == {"OPEN"}
    # Cisco's sample: close-reports with a form body under a JSON content type
    closed = post(api, "/smartlic-service/close-reports", data={"test": ""})
    assert closed.status_code == 200 and closed.json() == {"status": "SUCCESS", "closed_reports": 2}
    listing = get(api, "/smartlic-service/list", FOXY)
    assert listing.status_code == 200
    usage_list = listing.json()["usage_list"]
    closed_ids = sorted(r.id for r in device.report_list() if r.state == "CLOSED")
    assert sorted(e["report_id"] for e in usage_list) == closed_ids
    assert {e["state"] for e in usage_list} == {"CLOSED"}
    assert all(e["end_time"] - e["start_time"] == 3600 for e in usage_list)
    assert get(api, "/smartlic-service/list-reports").json() == listing.json()
    assert device.timers().last_report_pull is None

    device.advance_clock(600)
    pulled = get(api, "/smartlic-service/all-reports")
    assert pulled.status_code == 200
    members = pulled.json()["usage"]
    # the two closed reports and the two that the pull closed, each signed the builtin way, then the trust
    # request a 17.9.1a+ device without a trust code offers to the collector (L429, L1484)
    assert [m.get("header", {}).get("type", "rum") for m in members] == ["rum"] * 4 + ["trust_request"]
    usage = members[:4]
    for report in usage:
        assert list(report) == ["payload", "signature"]
        assert artifacts.builtin_verify(device.software_tag, report["payload"], report["signature"]["value"])
        assert report["signature"]["sudi"] == {"udi_pid": "C8000V", "udi_serial_number": device.sn}
    ids = sorted(json.loads(r["payload"])["asset_identification"]["report_id"] for r in usage)
    states = {r.id: r.state for r in device.report_list()}
    assert all(states[i] == "UNACK" for i in ids)                     # a data-model pull: REPORTING
    assert device.timers().last_report_pull == device.now()
    # exactly the envelopes `license smart save usage` writes: the stored signed payload, byte for byte
    stored = {r.id: r for r in device.report_list()}
    for report in usage:
        record = stored[json.loads(report["payload"])["asset_identification"]["report_id"]]
        assert report["payload"] == record.payload and report["signature"] == record.signature

    # CSSM answers the usage file built from the pulled reports; the ACK goes back through /import the way
    # Cisco's sample sends it: the raw XML under application/json
    usage_file = artifacts.usage_file([artifacts.RumEnvelope(r["payload"], r["signature"], r.get("header"))
                                       for r in members])
    cssm = Cssm(state_path=tmp_path / "cssm.json")
    ack = cssm.process_usage(usage_file, now=device.now(), policy="Custom Policy")
    imported = post(api, "/smartlic-service/import", data=ack.replace("'", '"'))
    assert imported.status_code == 200, imported.text
    assert imported.json()["status"] == "SUCCESS" and imported.json()["message"] == "Import Data Successful"
    states = {r.id: r.state for r in device.report_list()}
    assert all(states[i] == "ACK" for i in ids)
    assert device.timers().last_ack == device.now()
    assert device.policy_in_use().name == "Custom Policy"
    assert device.trust_codes()[device.udi].source == "ack"
    again = get(api, "/smartlic-service/all-reports").json()["usage"]       # acknowledged reports are gone
    assert not {json.loads(r["payload"])["asset_identification"]["report_id"] for r in again} & set(ids)
    assert all("header" not in r for r in again)                         # and trust is no longer requested


def test_import_body_shapes(api, device, tmp_path):
    cssm = Cssm(state_path=tmp_path / "cssm.json")
    policy = cssm.policy_file("Custom Policy", now=device.now())
    shapes = [
        (policy.encode(), "application/xml"),
        (base64.b64encode(policy.encode()), "application/json"),           # the DevNet workflow
        (json.dumps(policy).encode(), "application/json"),
        (json.dumps({"import": base64.b64encode(policy.encode()).decode()}).encode(), "application/yang-data+json"),
        (b"\xef\xbb\xbf" + policy.encode(), "application/octet-stream"),
    ]
    for body, ctype in shapes:
        resp = post(api, "/smartlic-service/import", data=body, headers={"Content-Type": ctype, **FOXY} | {
            "Content-Type": ctype})
        assert resp.status_code == 200, (ctype, body[:40], resp.text)
        assert resp.json()["message"] == "Import Data Successful"
    assert device.policy_in_use().name == "Custom Policy"


def test_refusals_change_nothing(api, device, tmp_path):
    device.set_usage("network-advantage", 1)
    device.advance_clock(DAY + 1)
    device.save_usage("all", "bootflash:u.txt")
    ack = Cssm(state_path=tmp_path / "cssm.json").process_usage(device.flash.read("bootflash:u.txt"),
                                                                now=device.now())
    tampered = ack.replace('"ACKED"', '"ACKED" ')
    before = [(r.id, r.state) for r in device.report_list()]
    for body, status in [(tampered, 400), ("", 400), ("not xml nor base64!", 400), ("<smartLicense>", 400),
                         ('{"a": "x", "b": "y"}', 400), (base64.b64encode(b"plain text").decode(), 400),
                         ('<!DOCTYPE x [<!ENTITY e "e">]><smartLicense>&e;</smartLicense>', 400)]:
        resp = post(api, "/smartlic-service/import", data=body)
        assert resp.status_code == status, (body[:30], resp.text)
        assert resp.json()["status"] == "FAILED" and resp.json()["message"]
    assert [(r.id, r.state) for r in device.report_list()] == before
    big = post(api, "/smartlic-service/import", data=b"<" + b"a" * (5 * 1024 * 1024))
    assert big.status_code == 413 and big.json()["status"] == "FAILED"
    assert post(api, "/smartlic-service/import", data=ack).status_code == 200


def test_days_and_single_reports(api, device):
    device.set_usage("network-advantage", 1)
    for _ in range(3):
        device.advance_clock(DAY)
    reports = sorted((r for r in device.report_list() if r.state == "CLOSED"), key=lambda r: r.id)
    assert len(reports) == 3
    one = get(api, f"/smartlic-service/rum-report-id/{reports[0].id}").json()["usage"]
    assert len(one) == 1 and json.loads(one[0]["payload"])["asset_identification"]["report_id"] == reports[0].id
    assert {r.id: r.state for r in device.report_list()}[reports[0].id] == "UNACK"
    last_day = get(api, "/smartlic-service/days/1").json()["usage"]
    got = {json.loads(r["payload"])["asset_identification"]["report_id"] for r in last_day if "header" not in r}
    assert reports[-1].id in got and reports[0].id not in got
    assert [r["header"]["type"] for r in last_day if "header" in r] == ["trust_request"]
    assert len(get(api, "/smartlic-service/days").json()["usage"]) >= 3      # 90 days by default
    assert get(api, "/smartlic-service/rum-report-id/12345").status_code == 404
    assert get(api, "/smartlic-service/rum-report-id/abc").status_code == 400
    assert get(api, "/smartlic-service/days/-1").status_code == 400
    assert get(api, "/smartlic-service/nothing").status_code == 404
    assert post(api, "/smartlic-service/list").status_code == 405
    anonymous = api.s.get(api.base + "/smartlic-service/list", auth=("admin", "nope"), timeout=10)
    assert anonymous.status_code == 401 and "Basic" in anonymous.headers["WWW-Authenticate"]


def test_plain_http_port(server, device):
    plain = Client(server.http.url)
    device.set_usage("network-advantage", 1)
    device.advance_clock(DAY + 1)
    resp = plain.s.get(plain.base + "/smartlic-service/all-reports", timeout=10)
    # the daily close and the pull's, then the trust request
    assert resp.status_code == 200 and len(resp.json()["usage"]) == 3


def test_over_long_numbers_are_bad_input(api, device):
    """5,000 digits is past Python's int() limit (ValueError, not a 500): the native API's error shape.
    Leading zeros do not make a number long: 000…01 is 1."""
    device.set_usage("network-advantage", 1)
    device.advance_clock(DAY + 1)
    digits = "9" * 5000
    for path in (f"/smartlic-service/days/{digits}", f"/smartlic-service/rum-report-id/{digits}"):
        resp = get(api, path)
        assert resp.status_code == 400, (path[:40], resp.status_code, resp.text[:200])
        assert resp.json()["status"] == "FAILED" and resp.json()["message"]
        assert len(resp.text) < 1000                      # the message does not echo 5,000 digits
    assert get(api, f"/smartlic-service/days/{'0' * 5000}1").status_code == 200
    missing = get(api, f"/smartlic-service/rum-report-id/{'0' * 4999}7")
    assert missing.status_code == 404 and missing.json()["status"] == "FAILED"
    assert get(api, "/smartlic-service/list").status_code == 200
