"""`slpemu cssm process` answers every file a user uploads to CSSM, told apart by its content, and `slpemu
cssm plr` turns a PLR request code into its authorization code; anything else gets one clear line, a
non-zero exit and nothing written (issue 10)."""

import io
import json
import tarfile
import time

import pytest
from click.testing import CliRunner

from emulator.cli_main import main
from emulator.cssm import Cssm, _read_tar, make_upload_bundle
from emulator.yangdata import DataLayer
from tests.conftest import DAY

EXPECTED = ("expected a usage file (license smart save usage) or an offline upload bundle (UD_SA_*.tar.gz), a "
            "trust request (license smart save trust-request), an authorization request (license smart "
            "authorization request save) or an authorization return (license smart authorization return ... "
            "offline)")


@pytest.fixture
def cli(tmp_path):
    """cli(in_file, *options) → (exit code, output, the answer written or None); CSSM state in tmp_path."""
    state = tmp_path / "cssm.json"

    def run(path, *options, out=None):
        out = out or tmp_path / "answer.out"
        if out.exists():
            out.unlink()
        result = CliRunner().invoke(main, ["cssm", "process", str(path), "--out", str(out), "--state", str(state),
                                           *options])
        return result.exit_code, result.output, (out.read_bytes() if out.exists() else None)
    run.state = state
    return run


def on_flash(dev, path):
    return dev.flash.local(path)


def test_usage_file_of_a_new_device(make_device, cli):
    dev = make_device(release="17.9.1a", now=time.time())
    dev.set_usage("network-advantage", 1)
    dev.advance_clock(DAY)
    dev.save_usage("unreported", "bootflash:u.txt")
    code, output, answer = cli(on_flash(dev, "bootflash:u.txt"), "--virtual-account", "Lab")
    assert code == 0, output
    assert output.splitlines() == [
        f"Added {dev.udi} to Smart Account Eg-SA, Virtual Account Lab",
        f"Wrote {cli.state.parent / 'answer.out'}: ACK for {dev.udi} (1 report acknowledged)"]
    assert b"<smartLicenseRumAck>" in answer and b"<smartLicenseTrustCode>" in answer
    assert dev.import_data(answer).message == "Import Data Successful"
    assert dev.trust_codes()[dev.udi].source == "ack" and dev.account.virtual_account == "Lab"
    assert {r.state for r in dev.report_list()} == {"ACK", "OPEN"}
    assert list(json.loads(cli.state.read_text())["devices"]) == [dev.udi]


def test_offline_bundle(make_device, cli, tmp_path):
    devices = [make_device(device_id=f"d{i}", serial=f"9AAAAAAAAA{i}", now=time.time()) for i in range(2)]
    files = {}
    for dev in devices:
        dev.set_usage("network-advantage", 1)
        dev.advance_clock(60)
        files[dev.sn] = dev.flash.read(dev.save_usage("all", "u.txt"))
    name, bundle = make_upload_bundle(files, stamp=1700000000)
    (tmp_path / name).write_bytes(bundle)
    code, output, answer = cli(tmp_path / name)
    assert code == 0, output
    assert output.splitlines()[-1].endswith(": ACK bundle for 2 product instances")
    inner = _read_tar(_read_tar(answer)["ACK_UD_VA_1700000000.tar.gz"])
    for i, dev in enumerate(devices, start=1):
        dev.import_data(inner[f"ACK_dev_{i}_1700000000.txt"])
        assert [r.state for r in dev.report_list()] == ["ACK", "OPEN"]


def test_trust_request_gets_a_trust_code(make_device, cli):
    dev = make_device(now=time.time())
    dev.save_trust_request("bootflash:trust_request.txt")
    code, output, answer = cli(on_flash(dev, "bootflash:trust_request.txt"))
    assert code == 0, output
    assert output.splitlines()[-1].endswith(": trust code")
    assert answer.count(b"<smartLicenseTrustCode>") == 1 and b"smartLicenseRumAck" not in answer
    dev.flash.write("bootflash:trust_code.txt", answer)
    out = DataLayer(dev).invoke(DataLayer(dev).schema.rpcs["cisco-smart-license:import-file"],
                                {"file-path": "bootflash:trust_code.txt"})               # the RPC
    assert out == {"return-code": "success"}
    assert dev.trust_codes()[dev.udi].source == "file"


def test_slac_request_gets_a_slac_and_the_return_its_acknowledgement(make_device, cli):
    dev = make_device(platform="C8300-1N1S-6T", release="17.9.1a", now=time.time())
    dev.apply_config({"transport": "off"})
    dev.authorization_request("add", "hseck9")
    dev.authorization_request_save("bootflash:slac_request.txt")
    code, output, answer = cli(on_flash(dev, "bootflash:slac_request.txt"))
    assert code == 0, output
    assert output.splitlines()[-1].endswith(": authorization code (SLAC)")
    dev.flash.write("bootflash:slac.txt", answer)
    assert dev.import_file("bootflash:slac.txt").message == "Import Data Successful"       # the CLI's call
    assert dev.authorizations()[dev.udi].kind == "slac" and dev.st.auth_request is None
    result = dev.authorization_return(online=False, path="bootflash:auth_return.txt")
    code, output, answer = cli(on_flash(dev, "bootflash:auth_return.txt"))
    assert code == 0, output
    assert output.splitlines()[-1].endswith(": authorization return acknowledgement")
    assert b"<smartLicenseAuthorizationReturnAck>" in answer and result.codes[dev.udi].encode() in answer
    dev.flash.write("bootflash:return_ack.txt", answer)
    assert dev.import_file("bootflash:return_ack.txt").message == "Import Data Successful"
    assert dev.import_history()["AUTH"][-1].result == "Return acknowledged"


def _tar(files: dict[str, bytes]) -> bytes:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w:gz") as tar:
        for name, body in files.items():
            info = tarfile.TarInfo(name)
            info.size = len(body)
            tar.addfile(info, io.BytesIO(body))
    return buf.getvalue()


@pytest.mark.parametrize("name,content,why", [
    ("notes.txt", b"hello, this is not for CSSM\n", EXPECTED),
    ("empty.txt", b"", EXPECTED),
    ("policy.xml", "POLICY", EXPECTED),
    ("ack.txt", "ACK", EXPECTED),
    ("other.xml", b"<smartLicense><somethingElse/></smartLicense>", EXPECTED),
    ("evil.xml", b'<!DOCTYPE x [<!ENTITY e SYSTEM "file:///etc/passwd">]><smartLicense>&e;</smartLicense>', EXPECTED),
    ("random.tar.gz", _tar({"readme.txt": b"x"}), "not an offline usage bundle: manifest.mf or UD_VA_*.tar.gz is "
                                                  "missing"),
    ("broken.tar.gz", b"\x1f\x8b\x08\x00garbage", "not a tar.gz bundle"),
    ("empty_usage.txt", b"<smartLicense>\n</smartLicense>\n", EXPECTED),
    ("tampered.txt", "TAMPERED", "the usage file has been altered: a RUM report signature does not verify"),
])
def test_anything_else_is_refused_with_one_line_and_nothing_written(make_device, cli, tmp_path, name, content,
                                                                     why):
    dev = make_device(now=time.time())
    dev.set_usage("network-advantage", 1)
    dev.advance_clock(60)
    if content == "POLICY":
        content = Cssm().policy_file("SLE Policy").encode()
    elif content == "ACK":
        dev.save_usage("all", "u.txt")
        content = Cssm().process_usage(dev.flash.read("u.txt")).encode()
    elif content == "TAMPERED":
        dev.save_usage("all", "u.txt")
        content = dev.flash.read("u.txt").replace(b'\\"value\\":\\"1\\"', b'\\"value\\":\\"7\\"')
    path = tmp_path / name
    path.write_bytes(content)
    cli.state.write_text('{"seen_reports": {}}')
    before = cli.state.read_bytes()
    code, output, answer = cli(path)
    assert code != 0
    assert answer is None and cli.state.read_bytes() == before
    [line] = output.splitlines()
    assert line.startswith(f"Error: {path}: ") and why in line, line


def test_a_bundle_with_one_bad_device_file_writes_nothing(make_device, cli, tmp_path):
    good = make_device(device_id="good", serial="9AAAAAAAAA1", now=time.time())
    good.set_usage("network-advantage", 1)
    good.advance_clock(60)
    name, bundle = make_upload_bundle({"a": good.flash.read(good.save_usage("all", "u.txt")),
                                       "b": b"<smartLicense><x/></smartLicense>"}, stamp=1700000001)
    (tmp_path / name).write_bytes(bundle)
    code, output, answer = cli(tmp_path / name)
    assert code == 1 and answer is None and not cli.state.exists()
    assert "dev_2_1700000001.txt:" in output and len(output.splitlines()) == 1
    code, output, answer = cli(on_flash(good, "u.txt"))        # CSSM had not seen its reports: all ACKED
    assert code == 0 and b'"status":"DROPPED"' not in answer


def test_plr_code_from_the_command_line_installs(make_device, tmp_path):
    dev = make_device(platform="C8000V", release="17.10.1a")
    dev.apply_config({"reservation": True})
    [request_code] = dev.reservation_request().codes.values()
    result = CliRunner().invoke(main, ["cssm", "plr", request_code, "--out", str(tmp_path / "plr.txt")])
    assert result.exit_code == 0, result.output
    [code] = result.output.splitlines()
    assert len(code) == 58 and code.startswith("D")                       # L9439-9442
    assert (tmp_path / "plr.txt").read_text() == code + "\n"
    dev.reservation_install(code)
    assert dev.plr.code == code
    bad = CliRunner().invoke(main, ["cssm", "plr", "not-a-request-code"])
    assert bad.exit_code == 1 and bad.output == "Error: not a reservation request code\n"
