"""RUM reports signed as real devices sign them (issue 10): `"signing_type": "builtin"`, key = the software
tag, a 32-byte keyed digest (44 base64 characters) that any CSSM verifies without having seen the device;
saved usage files and report envelopes shaped like the real capture; tampering still detected."""

import base64
import json
import re
from pathlib import Path

import pytest
from lxml import etree

from emulator.cssm import Cssm, CssmError
from emulator.engine import artifacts
from emulator.xmlsafe import parse_xml
from tests.conftest import DAY, T0

CAPTURE = Path(__file__).resolve().parents[3] / "shared" / "spec" / "captures" / "RUMReport__c9800-17.09.02.xml"


def capture():
    """The real report: its element, its envelope (JSON in CDATA) and its payload."""
    root = parse_xml(CAPTURE.read_bytes())
    envelope = json.loads(root.text, object_pairs_hook=lambda pairs: dict(pairs))
    return root, envelope, json.loads(envelope["payload"])


def keys(obj) -> list[str]:
    return list(obj)


def saved(dev, selector="all", path="bootflash:u.txt"):
    dev.save_usage(selector, path)
    return dev.flash.read(path).decode()


def test_report_envelope_members_match_the_real_capture(make_device):
    root, real, real_payload = capture()
    dev = make_device(release="17.9.1a")
    dev.set_usage("network-advantage", 1)
    dev.advance_clock(DAY / 2)
    text = saved(dev)
    [element] = parse_xml(text.encode()).findall("RUMReport")
    assert element.tag == root.tag == "RUMReport"
    ours = json.loads(element.text)
    # the envelope: the same members in the same order (17.9: no header), the same signature members
    assert keys(ours) == keys(real) == ["payload", "signature"]
    assert keys(ours["signature"]) == keys(real["signature"]) == ["sudi", "signing_type", "key", "value"]
    assert keys(ours["signature"]["sudi"]) == keys(real["signature"]["sudi"])
    assert ours["signature"]["signing_type"] == real["signature"]["signing_type"] == "builtin"
    assert ours["signature"]["key"] == dev.software_tag
    assert ours["signature"]["sudi"] == {"udi_pid": "C8000V", "udi_serial_number": dev.sn}
    value = ours["signature"]["value"]
    assert len(value) == len(real["signature"]["value"]) == 44 and len(base64.b64decode(value)) == 32
    # the payload: the same members, in the same order, at every level
    payload = json.loads(ours["payload"])
    assert keys(payload) == keys(real_payload) == ["version", "asset_identification", "signature", "meta",
                                                   "measurements"]
    assert payload["version"] == real_payload["version"] == "2.0"
    assert keys(payload["asset_identification"]) == keys(real_payload["asset_identification"])
    assert payload["asset_identification"]["asset"]["name"] == dev.software_tag == ours["signature"]["key"]
    assert keys(payload["signature"]) == keys(real_payload["signature"])
    assert len(payload["signature"]["value"]) == len(real_payload["signature"]["value"]) == 44
    # From 17.9.1 the guide keeps the software version out of RUM reports (L10357, privacy data travel
    # separately); the C9800 capture still has it. Every other meta member is the capture's, in its order.
    assert keys(payload["meta"]) == [k for k in keys(real_payload["meta"]) if k != "software_version"]
    assert [keys(m) for m in payload["measurements"]] == [keys(real_payload["measurements"][0])]
    assert keys(payload["measurements"][0]["value"]) == keys(real_payload["measurements"][0]["value"])
    # and the payload is compact JSON, like the capture's
    assert ", " not in ours["payload"] and ": " not in ours["payload"]
    assert ", " not in real["payload"]


def test_17_7_1_reports_carry_the_version_where_the_capture_has_it(make_device):
    _, _, real_payload = capture()
    dev = make_device(release="17.7.1a")
    dev.set_usage("network-advantage", 1)
    dev.advance_clock(60)
    ours = json.loads(parse_xml(saved(dev).encode()).find("RUMReport").text)
    assert keys(ours) == ["payload", "signature"]
    assert keys(json.loads(ours["payload"])["meta"]) == keys(real_payload["meta"])


def test_before_17_7_1_the_old_format_has_a_header(make_device):
    """The old RUM format (a real 17.6.2 C8000V report, gve-sw README): `header` between payload and
    signature, the report id in meta, the payload's own signature in asset_identification."""
    dev = make_device(release="17.6.1a")
    dev.set_usage("network-advantage", 1)
    dev.advance_clock(60)
    ours = json.loads(parse_xml(saved(dev).encode()).find("RUMReport").text)
    assert keys(ours) == ["payload", "header", "signature"] and ours["header"] == {"type": "rum"}
    payload = json.loads(ours["payload"])
    assert keys(payload) == ["asset_identification", "meta", "measurements"]
    assert keys(payload["asset_identification"]) == ["asset", "instance", "signature"]
    assert keys(payload["meta"]) == ["entitlement_tag", "report_id", "ha_udi"]
    assert payload["meta"]["report_id"] == int(T0)
    assert artifacts.builtin_verify(dev.software_tag, ours["payload"], ours["signature"]["value"])


def test_saved_usage_file_holds_only_what_real_ones_hold(make_device):
    _, real, _ = capture()
    dev = make_device(release="17.9.1a")
    dev.set_usage("network-advantage", 1)
    dev.set_usage("dna-advantage", 2)
    dev.advance_clock(DAY / 2)
    text = saved(dev)
    root = parse_xml(text.encode())
    children = [c.tag for c in root]
    # <smartLicense> with <RUMReport> elements, the trust request (17.7.1+, no trust code yet) and the
    # privacy data (17.9.1+, L10385): no device identity or key of our own
    assert root.tag == "smartLicense"
    assert children == ["RUMReport", "RUMReport", "smartLicenseTrustRequest", "PrivacyInfo"]
    assert "DeviceIdentity" not in text and "public_key\":\"" not in text.split("<smartLicenseTrustRequest>")[0]
    # each report element is laid out like the capture: the CDATA on its own line, JSON indented by 2
    real_layout = re.sub(r"\s+", " ", CAPTURE.read_text().split("{", 1)[0])
    for element in re.findall(r"<RUMReport>.*?</RUMReport>", text, re.S):
        assert re.sub(r"\s+", " ", element.split("{", 1)[0]) == real_layout
        assert element.endswith("}]]>\n</RUMReport>")
        assert '\n  "payload": "' in element and '\n  "signature": {\n    "sudi": {' in element
    # a device with a trust code sends no trust request; 17.6 has neither trust requests nor privacy data
    old = make_device(device_id="old", release="17.6.1a", serial="9AAAAAAAAAA")
    old.set_usage("network-advantage", 1)
    old.advance_clock(60)
    assert [c.tag for c in parse_xml(saved(old).encode())] == ["RUMReport"]


def test_signature_is_a_keyed_digest_of_the_payload(make_device):
    dev = make_device()
    dev.set_usage("network-advantage", 1)
    dev.advance_clock(60)
    dev.close_reports()
    [report] = [r for r in dev.report_list() if r.state == "CLOSED"]
    sig = report.signature
    assert sig == {"sudi": {"udi_pid": dev.pid, "udi_serial_number": dev.sn}, "signing_type": "builtin",
                   "key": dev.software_tag, "value": sig["value"]}
    assert artifacts.builtin_verify(dev.software_tag, report.payload, sig["value"])
    # the same key for every device of the product, not a per-device key: another device's report verifies
    # the same way, and a different software tag does not verify it
    other = make_device(device_id="other", serial="9BBBBBBBBBB")
    other.set_usage("network-advantage", 1)
    other.advance_clock(60)
    other.close_reports()
    [theirs] = [r for r in other.report_list() if r.state == "CLOSED"]
    assert artifacts.builtin_verify(other.software_tag, theirs.payload, theirs.signature["value"])
    assert not artifacts.builtin_verify("regid.2019-10.com.cisco.OTHER,1.0_x", report.payload, sig["value"])
    flipped = report.payload.replace('"value":"1"', '"value":"2"')
    assert flipped != report.payload and not artifacts.builtin_verify(dev.software_tag, flipped, sig["value"])


def test_cssm_accepts_the_first_upload_of_a_device_it_never_saw(make_device, tmp_path):
    """What a collector pulls (no file from the device, no earlier exchange) is enough: CSSM verifies the
    builtin signatures, creates the product instance in the Virtual Account and acknowledges."""
    dev = make_device()
    dev.set_usage("network-advantage", 1)
    dev.advance_clock(60)
    pulled = [e for e in dev.collect_reports(with_requests=True)]
    # Cisco's sample client: one <RUMReport> per member of `usage`, json.dumps'ed (spaces after separators)
    upload = "<smartLicense>" + "".join(f"<RUMReport><![CDATA[{json.dumps(e.to_dict())}]]></RUMReport>"
                                        for e in pulled) + "</smartLicense>"
    cssm = Cssm(state_path=tmp_path / "cssm.json", smart_account="Acme", virtual_account="Lab")
    assert cssm.devices() == {}
    ack = cssm.process_usage(upload, now=dev.now())
    assert cssm.devices() == {dev.udi: {"pid": dev.pid, "sn": dev.sn, "smart_account": "Acme",
                                        "virtual_account": "Lab", "added": int(dev.now() * 1000)}}
    assert Cssm(state_path=tmp_path / "cssm.json").devices() == cssm.devices()       # CSSM remembers it
    assert dev.import_data(ack).message == "Import Data Successful"
    assert [r.state for r in dev.report_list()] == ["ACK", "OPEN"]
    assert dev.trust_codes()[dev.udi].source == "ack"         # the pulled trust request was answered too


@pytest.mark.parametrize("tamper", [
    lambda t: t.replace('\\"value\\":\\"1\\"', '\\"value\\":\\"9\\"'),                 # the count
    lambda t: t.replace('\\"start_time\\":', '\\"start_time\\": '),                     # one byte of layout
    lambda t: re.sub(r'("signature": \{.*?"value": ")(.)', lambda m: m.group(1) + ("A" if m.group(2) != "A"
                                                                                    else "B"), t, 1, re.S),
    lambda t: re.sub(r'"udi_serial_number": "[^"]+"', '"udi_serial_number": "9ZZZZZZZZZZ"', t, 1),
    lambda t: t.replace('"signing_type": "builtin"', '"signing_type": "none"', 1),
])
def test_cssm_detects_any_tampering(make_device, tmp_path, tamper):
    dev = make_device()
    dev.set_usage("network-advantage", 1)
    dev.advance_clock(60)
    text = saved(dev)
    tampered = tamper(text)
    assert tampered != text
    cssm = Cssm(state_path=tmp_path / "cssm.json")
    with pytest.raises(CssmError, match="altered"):
        cssm.process_usage(tampered, now=dev.now())
    assert cssm.devices() == {} and not (tmp_path / "cssm.json").exists()
    cssm.process_usage(text, now=dev.now())                    # the genuine file is accepted


def test_reports_stored_with_an_older_signature_are_signed_again(make_device, tmp_path):
    """A state dir from before builtin signatures holds reports signed with a per-device Ed25519 key;
    their payloads are unchanged, so after an upgrade they go out signed the builtin way."""
    dev = make_device()
    dev.set_usage("network-advantage", 1)
    dev.advance_clock(60)
    dev.close_reports()
    [report] = [r for r in dev.report_list() if r.state == "CLOSED"]
    legacy = {**report.signature, "value": base64.b64encode(b"\x01" * 64).decode()}        # 88 characters
    dev.store.commit(dev.device_id, dev.store.load_core(dev.device_id),
                     reports=[{**report.to_dict(), "signature": legacy}])
    again = make_device()
    [reloaded] = [r for r in again.report_list() if r.id == report.id]
    assert reloaded.signature == report.signature
    Cssm(state_path=tmp_path / "c.json").process_usage(saved(again), now=again.now())


def test_a_sync_with_nothing_to_report_names_its_sender(make_device, tmp_path):
    """Reports no longer carry a device identity of ours; the online message of a sync with nothing new
    (before 17.9.1, no privacy data either) still names its sender, as CSSM's reportusage does."""
    from emulator.cssm import LibraryOutbound
    dev = make_device(release="17.6.1a")
    dev.attach_outbound(LibraryOutbound(Cssm(state_path=tmp_path / "c.json"), dev.now))
    dev.set_usage("network-advantage", 1)
    dev.advance_clock(3600)
    dev.sync()
    assert dev.timers().last_ack == dev.now()
    before = dev.comm_statistics()["Usage Reporting"]
    dev.sync()                                    # at the same instant: the message holds no report
    after = dev.comm_statistics()["Usage Reporting"]
    assert (after.success, after.fail) == (before.success + 1, 0)
    # a usage *file* holding nothing is not something CSSM answers
    with pytest.raises(CssmError, match="holds no RUM report|no usage data"):
        Cssm().process_usage("<smartLicense>\n</smartLicense>\n")
