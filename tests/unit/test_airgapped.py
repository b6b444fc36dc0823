"""The air-gapped round trip: save usage → CSSM (library and `slpemu cssm process`) → import."""

import json
import subprocess
import sys
import time

from click.testing import CliRunner

from emulator.cli_main import main
from emulator.cssm import Cssm, CssmError, make_upload_bundle, _read_tar
from emulator.engine import artifacts
from tests.conftest import DAY, T0

import pytest


def test_saved_usage_file_has_the_real_envelope(make_device):
    dev = make_device(release="17.9.1a")
    dev.set_usage("network-advantage", 1)
    dev.advance_clock(DAY / 2)
    dev.save_usage("all", "bootflash:all_rum.txt")
    text = dev.flash.read("bootflash:all_rum.txt").decode()
    assert text.startswith("<smartLicense>") and "<RUMReport>\n<![CDATA[{" in text
    usage = artifacts.parse_usage(text)
    [env] = usage.envelopes
    assert env.header is None                                   # 17.7.1+: no header (the real 17.9.2 report)
    assert env.signature["signing_type"] == "builtin" and env.signature["sudi"] == {
        "udi_pid": "C8000V", "udi_serial_number": dev.sn}
    payload = json.loads(env.payload)
    assert payload["version"] == "2.0"
    assert payload["asset_identification"]["report_id"] == int(T0)
    assert payload["meta"]["entitlement_tag"] == dev.usage()[0].entitlement.full_tag
    assert "software_version" not in payload["meta"]          # 17.9.1: versions travel in the privacy data
    [m] = payload["measurements"]
    assert (m["start_time"], m["end_time"], m["value"]) == (int(T0), int(T0 + DAY / 2), {"type": "COUNT", "value": "1"})
    assert usage.privacy == [{"udi": {"udi_pid": "C8000V", "udi_serial_number": dev.sn}, "hostname": "Router",
                              "software_version": "17.09.01a", "agent_version": dev.agent_version}]
    assert artifacts.builtin_verify(dev.software_tag, env.payload, env.signature["value"])
    assert [r.state for r in dev.report_list()] == ["UNACK", "OPEN"]
    assert dev.timers().last_report_file_write == T0 + DAY / 2
    # The payload is byte-stable: saving again writes the same report text.
    dev.save_usage("rum-id", "bootflash:one.txt", rum_id=int(T0))
    assert artifacts.parse_usage(dev.flash.read("bootflash:one.txt")).envelopes[0].payload == env.payload


def test_version_in_rum_on_17_7_unless_private(make_device):
    dev = make_device(release="17.7.1a")
    dev.set_usage("network-advantage", 1)
    dev.advance_clock(60)
    dev.save_usage("all", "a.txt")
    assert json.loads(artifacts.parse_usage(dev.flash.read("a.txt")).envelopes[0].payload)["meta"][
        "software_version"] == "17.07.01a"
    dev.apply_config({"privacy_version": True})
    dev.advance_clock(60)
    dev.save_usage("unreported", "b.txt")
    envelopes = artifacts.parse_usage(dev.flash.read("b.txt")).envelopes
    # A closed report is immutable: the one saved before keeps its version, the newly closed one has none.
    assert ["software_version" in json.loads(e.payload)["meta"] for e in envelopes] == [True, False]


def test_cssm_rejects_a_tampered_usage_file(make_device, tmp_path):
    dev = make_device()
    dev.set_usage("network-advantage", 1)
    dev.advance_clock(60)
    dev.save_usage("all", "u.txt")
    text = dev.flash.read("u.txt").decode().replace('\\"value\\":\\"1\\"', '\\"value\\":\\"9\\"')
    with pytest.raises(CssmError, match="altered"):
        Cssm().process_usage(text)


def test_round_trip_through_the_command_line(make_device, tmp_path):
    dev = make_device(now=time.time())          # the command-line CSSM signs with the real time
    dev.set_usage("network-advantage", 1)
    dev.set_usage("dna-advantage", 3)
    dev.advance_clock(DAY + 5)
    path = dev.save_usage("unreported", "bootflash:usage.txt")
    assert path == "bootflash:usage.txt"
    usage_path = dev.flash.local(path)
    ack_path = tmp_path / "ack.txt"
    result = CliRunner().invoke(main, ["cssm", "process", str(usage_path), "--out", str(ack_path),
                                       "--policy", "SLE Policy", "--smart-account", "SA-1",
                                       "--virtual-account", "VA-1", "--state", str(tmp_path / "cssm.json")])
    assert result.exit_code == 0, result.output
    dev.flash.write("bootflash:ack.txt", ack_path.read_bytes())
    assert dev.import_file("bootflash:ack.txt").message == "Import Data Successful"
    assert {r.state for r in dev.report_list()} == {"ACK", "OPEN"}
    assert dev.account.smart_account == "SA-1" and dev.policy_in_use().name == "SLE Policy"


def test_console_script_runs(tmp_path, make_device):
    dev = make_device()
    dev.set_usage("network-advantage", 1)
    path = dev.flash.local(dev.save_usage("all", "u.txt"))
    out = tmp_path / "ack.txt"
    proc = subprocess.run([sys.executable, "-m", "emulator.cli_main", "cssm", "process", str(path), "--out",
                           str(out), "--state", str(tmp_path / "c.json")], capture_output=True, text=True,
                          timeout=60)
    assert proc.returncode == 0, proc.stderr
    assert "<smartLicenseRumAck>" in out.read_text()


def test_offline_bundle_round_trip(make_device, tmp_path):
    devices = [make_device(device_id=f"d{i}", serial=f"9AAAAAAAAA{i}", now=time.time()) for i in range(3)]
    files = {}
    for dev in devices:
        dev.set_usage("network-advantage", 1)
        dev.advance_clock(60)
        files[dev.sn] = dev.flash.read(dev.save_usage("all", "u.txt"))
    name, bundle = make_upload_bundle(files, stamp=1700000000)
    assert name == "UD_SA_1700000000.tar.gz"
    answer = Cssm(state_path=tmp_path / "c.json").process_bundle(bundle)
    outer = _read_tar(answer)
    assert list(outer) == ["ACK_UD_VA_1700000000.tar.gz"]
    inner = _read_tar(outer["ACK_UD_VA_1700000000.tar.gz"])
    assert sorted(inner) == [f"ACK_dev_{i}_1700000000.txt" for i in (1, 2, 3)]
    for i, dev in enumerate(devices, start=1):
        dev.import_data(inner[f"ACK_dev_{i}_1700000000.txt"])
        assert [r.state for r in dev.report_list()] == ["ACK", "OPEN"]
