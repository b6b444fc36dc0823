"""The controller loop against real servers on loopback (issue 10): what a collector pulls over the native
API, NETCONF and RESTCONF goes through `slpemu cssm process` (a CSSM that has never seen the device) and
what comes back is installed over the same channels; Cisco's published sample client's offline flow runs
verbatim; SLACs without the CLI; replays refused on every channel with the state unchanged."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tarfile
from datetime import datetime
from pathlib import Path

import paramiko
import pytest
import requests
from lxml import etree
from ncclient import manager

from emulator.frontends.cli import CliServer
from emulator.frontends.netconf import NetconfService
from emulator.frontends.restconf import start_restconf
from emulator.runtime import DeviceOptions, open_device

pytestmark = pytest.mark.filterwarnings("ignore::urllib3.exceptions.InsecureRequestWarning")

ROOT = Path(__file__).resolve().parents[2]
CSL = "http://cisco.com/ns/yang/cisco-smart-license"
USER, PASSWORD = "admin", "admin"
DAY = 86400


class Router:
    """One device with its NETCONF, RESTCONF/native and CLI (SSH, SFTP) listeners on ephemeral ports."""

    def __init__(self, path: Path, **options):
        self.device = open_device(path, DeviceOptions(users={USER: PASSWORD}, frozen_clock=True, **options))
        self.netconf = NetconfService(self.device, "127.0.0.1", 0, path).start()
        self.cli = CliServer(self.device, host="127.0.0.1", port=0, state_dir=path).start()
        self.web = start_restconf(self.device, host="127.0.0.1", port=0, state_dir=path)
        self.url = self.web.https.url
        self.http = requests.Session()
        self.http.trust_env = False
        self.http.verify = False
        self.http.auth = (USER, PASSWORD)

    def close(self):
        self.http.close()
        self.web.stop()
        self.cli.stop()
        self.netconf.stop()
        self.device.store.close()

    # ---------------------------------------------------------------- the channels
    def nc(self):
        return manager.connect(host="127.0.0.1", port=self.netconf.port, username=USER, password=PASSWORD,
                               hostkey_verify=False, look_for_keys=False, allow_agent=False, timeout=30,
                               device_params={"name": "iosxe"})

    def nc_rpc(self, m, name: str, **leaves) -> str:
        body = "".join(f"<{k.replace('_', '-')}>{v}</{k.replace('_', '-')}>" for k, v in leaves.items())
        reply = etree.fromstring(m.dispatch(etree.fromstring(f'<{name} xmlns="{CSL}">{body}</{name}>')).xml.encode())
        return reply.findtext(f".//{{{CSL}}}return-code")

    def rc_rpc(self, name: str, **leaves) -> str:
        resp = self.http.post(f"{self.url}/restconf/operations/cisco-smart-license:{name}",
                              json={"cisco-smart-license:input": {k.replace("_", "-"): v for k, v in leaves.items()}},
                              headers={"Content-Type": "application/yang-data+json",
                                       "Accept": "application/yang-data+json"}, timeout=30)
        assert resp.status_code == 200, resp.text
        return resp.json()["cisco-smart-license:output"]["return-code"]

    def rc_state(self) -> dict:
        resp = self.http.get(f"{self.url}/restconf/data/cisco-smart-license:licensing/state",
                             headers={"Accept": "application/yang-data+json"}, timeout=30)
        assert resp.status_code == 200, resp.text
        return resp.json()

    def ssh(self, command: str) -> str:
        client = paramiko.SSHClient()
        client.set_missing_host_key_policy(paramiko.AutoAddPolicy())
        client.connect("127.0.0.1", self.cli.port, USER, PASSWORD, look_for_keys=False, allow_agent=False,
                       timeout=20)
        try:
            _, out, _ = client.exec_command(command, timeout=30)
            return out.read().decode().replace("\r\n", "\n")
        finally:
            client.close()

    def sftp_get(self, path: str) -> bytes:
        return self._sftp(lambda s: s.open(path).read())

    def sftp_put(self, path: str, data: bytes) -> None:
        def put(s):
            with s.open(path, "w") as f:
                f.write(data)
        self._sftp(put)

    def _sftp(self, fn):
        transport = paramiko.Transport(("127.0.0.1", self.cli.port))
        transport.connect(username=USER, password=PASSWORD)
        sftp = paramiko.SFTPClient.from_transport(transport)
        try:
            return fn(sftp)
        finally:
            sftp.close()
            transport.close()

    def seen(self) -> tuple[str, dict]:
        """What a user sees: `show license all` over SSH and the RESTCONF licensing state."""
        return self.ssh("show license all"), self.rc_state()


@pytest.fixture
def router(tmp_path):
    made = []

    def make(name="r", **options):
        r = Router(tmp_path / name, **options)
        made.append(r)
        return r
    yield make
    for r in made:
        r.close()


def cssm_process(in_file: Path, out_file: Path, state: Path, *options) -> subprocess.CompletedProcess:
    """The real command line, as a user runs it."""
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    return subprocess.run([sys.executable, "-m", "emulator.cli_main", "cssm", "process", str(in_file), "--out",
                           str(out_file), "--state", str(state), *options], capture_output=True, text=True,
                          env=env, timeout=120)


# ---------------------------------------------------------------------------------------------- Cisco's sample

def sample_offline_rum(devices: dict[int, Router], work: Path) -> Path:
    """`run_offline_rum` of CiscoDevNet/xe-sip-api-code slp_api_sample.py: close-reports, all-reports, one
    dev_<id>_<time>.txt of <RUMReport> members per device, the manifest, UD_VA_…_py.tar.gz inside
    UD_SA_…_py.tar.gz, each step as the sample does it."""
    curr_time = datetime.now().strftime("%y%b%d_%H_%M_%S_%f")[:-3]
    work_path = work / f"tmp_{curr_time}"
    work_path.mkdir(parents=True)
    mfname = work_path / "manifest.mf"
    mfname.write_text('Manifest-Version: 1.0\nCreated-By: "{\\"uuid\\": \\"foofoo\\"}"\nSmart-Account:\n'
                      'Smart-Account-ID:\n\nName: /UD_VA_' + curr_time + '.ta.gz\nSpecification-VA: \n'
                      'Specification-VA-ID: \n')
    names = []
    for dev_id, r in devices.items():
        closed = r.http.post(f"{r.url}/smartlic-service/close-reports", headers={"Content-Type": "application/json"},
                             data={"test": ""}, timeout=5)
        assert closed.status_code == 200
        resp_json = r.http.get(f"{r.url}/smartlic-service/all-reports",
                               headers={"Content-Type": "application/json"}, timeout=5).json()
        assert "usage" in resp_json
        cssm_msg = "<smartLicense>"
        for rum in resp_json["usage"]:
            cssm_msg += "<RUMReport><![CDATA[" + json.dumps(rum) + "]]></RUMReport>"
        cssm_msg += "</smartLicense>"
        fname = work_path / f"dev_{dev_id}_{curr_time}.txt"
        fname.write_text(cssm_msg)
        names.append(fname)
    va_tar_name = work_path / f"UD_VA_{curr_time}_py.tar.gz"
    sa_tar_name = work_path / f"UD_SA_{curr_time}_py.tar.gz"
    with tarfile.open(va_tar_name, "w:gz") as va_tar:
        for name in names:
            va_tar.add(name, arcname=name.name)
    with tarfile.open(sa_tar_name, "w:gz") as sa_tar:
        sa_tar.add(mfname, arcname=mfname.name)
        sa_tar.add(va_tar_name, arcname=va_tar_name.name)
    return sa_tar_name


def sample_offline_ack(devices: dict[int, Router], in_fname: Path, dir_name: Path) -> list[int]:
    """`run_offline_ack`: extract the ACK bundle, find ACK_UD_VA, then each ACK_dev_<id>_… → its device's
    POST /smartlic-service/import (`Import_str`: the XML text, quotes swapped, under application/json)."""
    statuses = []
    va_tar_name = None
    with tarfile.open(in_fname, "r:gz") as tar:
        for tarinfo in tar:
            tar.extract(tarinfo, dir_name)
            if "ACK_UD_VA" in tarinfo.name and ".tar.gz" in tar.name:
                va_tar_name = dir_name / tarinfo.name
    with tarfile.open(va_tar_name, "r:gz") as vatar:
        for vatarinfo in vatar:
            vatar.extract(vatarinfo, dir_name)
            if "ACK_dev_" in vatarinfo.name:
                dev_id = int(vatarinfo.name.split("_")[2])
                str_import = (dir_name / vatarinfo.name).read_text()
                assert "<smartLicenseRumAck>" in str_import and "<data>" in str_import
                my_json = str_import.encode().decode("utf8").replace("'", '"')
                r = devices[dev_id]
                resp = r.http.post(f"{r.url}/smartlic-service/import", headers={"Content-Type": "application/json"},
                                   data=my_json, timeout=5)
                statuses.append(resp.status_code)
    return statuses


def test_cisco_sample_client_offline_flow_end_to_end(router, tmp_path):
    devices = {1: router("a", release="17.7.1a", serial="9AAAAAAAAA1"),
               2: router("b", release="17.9.1a", serial="9AAAAAAAAA2"),
               3: router("c", release="17.12.1a", serial="9AAAAAAAAA3")}
    for r in devices.values():
        r.device.set_usage("network-advantage", 2)
        r.device.advance_clock(DAY + 3600)
    bundle = sample_offline_rum(devices, tmp_path / "rum")
    state = tmp_path / "cssm.json"
    assert not state.exists()                                     # a CSSM that has never seen them
    done = cssm_process(bundle, tmp_path / "ack.tar.gz", state)
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert lines[-1] == f"Wrote {tmp_path / 'ack.tar.gz'}: ACK bundle for 3 product instances"
    assert sorted(lines[:-1]) == sorted(f"Added PID:C8000V,SN:9AAAAAAAAA{i} to Smart Account Eg-SA, Virtual "
                                        f"Account Eg-VA" for i in (1, 2, 3))
    assert sample_offline_ack(devices, tmp_path / "ack.tar.gz", tmp_path / "acks") == [200, 200, 200]
    for dev_id, r in devices.items():
        dev = r.device
        assert dev.timers().last_ack == dev.now()                 # Last ACK received set
        assert {x.state for x in dev.report_list()} == {"ACK", "OPEN"}
        assert all(x.reason == "ACKED" for x in dev.report_list() if x.state == "ACK")
        assert "Last ACK received: " in r.ssh("show license status")
        # the pulled trust request travelled in the bundle from 17.9.1a (L429, L493); not on 17.7 (L489)
        trust = dev.trust_codes().get(dev.udi)
        assert (trust.source if trust else None) == (None if dev_id == 1 else "ack")
        assert dev.account.smart_account == "Eg-SA"


# ---------------------------------------------------------------------------------------------- NETCONF / RESTCONF

def test_netconf_pull_brings_trust_and_a_slac_without_the_cli(router, tmp_path):
    """A controller on NETCONF alone (with the flash over SFTP, as DNA Center does): the online SLAC request
    fails (no CSLU), stays pending (guide: sync sends pending data; the ACK carries the SLAC, L1482-1486), the
    saved usage carries it with the trust request, CSSM answers both in the ACK, import-file installs all."""
    r = router(platform="C8300-1N1S-6T", release="17.9.1a")
    dev = r.device
    dev.set_usage("network-advantage", 1)
    dev.advance_clock(DAY)
    with r.nc() as m:
        assert r.nc_rpc(m, "authorization-request-online", feature_name="hseck9") == "commsend"
        assert dev.syslog()[-1].mnemonic == "COMM_FAILED"
        assert dev.st.auth_request is not None                          # still pending
        assert r.nc_rpc(m, "rum-save-usage-unreported", file_path="bootflash:pull.txt") == "success"
        pulled = r.sftp_get("/bootflash/pull.txt")
        assert b"<smartLicenseTrustRequest>" in pulled and b"<smartLicenseAuthorizationRequest>" in pulled
        (tmp_path / "pull.txt").write_bytes(pulled)
        done = cssm_process(tmp_path / "pull.txt", tmp_path / "ack.txt", tmp_path / "cssm.json")
        assert done.returncode == 0, done.stderr
        ack = (tmp_path / "ack.txt").read_bytes()
        assert b"<smartLicenseTrustCode>" in ack and b"<smartLicenseAuthorization>" in ack
        r.sftp_put("/bootflash/ack.txt", ack)
        assert r.nc_rpc(m, "import-file", file_path="bootflash:ack.txt") == "success"
    assert dev.trust_codes()[dev.udi].source == "ack"
    assert dev.authorizations()[dev.udi].kind == "slac" and dev.st.auth_request is None
    assert "SMART AUTHORIZATION INSTALLED" in r.ssh("show license authorization")
    assert {x.state for x in dev.report_list()} == {"ACK", "OPEN"}
    assert dev.timers().last_ack == dev.now()
    # the replay of that ACK, on every channel: refused, nothing a user sees changes
    dev.advance_clock(3600)
    before = r.seen()
    with r.nc() as m:
        assert r.nc_rpc(m, "import-file", file_path="bootflash:ack.txt") == "duplicatedentry"
    assert r.rc_rpc("import-file", file_path="bootflash:ack.txt") == "duplicatedentry"
    assert r.ssh("license smart import bootflash:ack.txt") == "% Import Data Failed: the ACK is already installed\n"
    native = r.http.post(f"{r.url}/smartlic-service/import", data=ack, headers={"Content-Type": "application/json"},
                         timeout=10)
    assert native.status_code == 400 and native.json() == {
        "status": "FAILED", "message": "Import Data Failed: the ACK is already installed", "code": "duplicatedentry"}
    assert r.seen() == before


def test_restconf_slac_return_and_request_files(router, tmp_path):
    """RESTCONF alone: the SLAC return file (authorization-code-return-offline) goes to CSSM, its answer back
    through import-file; then a new request over the RPC, its SLAC through the native import."""
    r = router(platform="C8300-1N1S-6T", release="17.9.1a")
    dev = r.device
    dev.apply_config({"transport": "off"})
    assert r.rc_rpc("authorization-request-online", feature_name="hseck9") == "success"     # staged (R40)
    assert r.rc_rpc("rum-save-usage-all", file_path="bootflash:req.txt") == "success"
    (tmp_path / "req.txt").write_bytes(dev.flash.read("bootflash:req.txt"))
    assert cssm_process(tmp_path / "req.txt", tmp_path / "ack.txt", tmp_path / "c.json").returncode == 0
    dev.flash.write("bootflash:ack.txt", (tmp_path / "ack.txt").read_bytes())
    assert r.rc_rpc("import-file", file_path="bootflash:ack.txt") == "success"
    assert dev.authorizations()[dev.udi].kind == "slac" and dev.trust_codes()[dev.udi].source == "ack"
    assert r.rc_rpc("authorization-code-return-offline", file_path="bootflash:return.txt") == "success"
    assert dev.authorizations() == {}
    (tmp_path / "return.txt").write_bytes(dev.flash.read("bootflash:return.txt"))
    done = cssm_process(tmp_path / "return.txt", tmp_path / "return_ack.txt", tmp_path / "c.json")
    assert done.returncode == 0 and done.stdout.strip().endswith(": authorization return acknowledgement")
    dev.flash.write("bootflash:return_ack.txt", (tmp_path / "return_ack.txt").read_bytes())
    assert r.rc_rpc("import-file", file_path="bootflash:return_ack.txt") == "success"
    assert dev.import_history()["AUTH"][-1].result == "Return acknowledged"
    # a new request; the collector pulls it over the native API with the reports, the SLAC comes back there
    assert r.rc_rpc("authorization-request-online", feature_name="hseck9") == "success"
    members = r.http.get(f"{r.url}/smartlic-service/all-reports", timeout=10).json()["usage"]
    assert [m["header"]["type"] for m in members if "header" in m] == ["authorization_request"]   # trusted now
    upload = "<smartLicense>" + "".join(f"<RUMReport><![CDATA[{json.dumps(m)}]]></RUMReport>"
                                        for m in members) + "</smartLicense>"
    (tmp_path / "pulled.txt").write_text(upload)
    assert cssm_process(tmp_path / "pulled.txt", tmp_path / "ack2.txt", tmp_path / "c.json").returncode == 0
    resp = r.http.post(f"{r.url}/smartlic-service/import", data=(tmp_path / "ack2.txt").read_bytes(), timeout=10)
    assert resp.status_code == 200, resp.text
    assert dev.authorizations()[dev.udi].kind == "slac" and dev.st.auth_request is None


# ---------------------------------------------------------------------------------------------- the CLI

def test_cli_air_gapped_requests_through_cssm(router, tmp_path):
    """The guide's air-gapped procedures from the CLI: a SLAC request left pending by a failed online
    request, saved and answered (L8630-8652); a trust request (L10644); a PLR code (L9244-9450)."""
    r = router(platform="C8000V", release="17.10.1a")
    dev = r.device
    out = r.ssh("license smart authorization request add hseck9 local")
    assert out.startswith("% Communications failure with the Cisco Smart License Utility (CSLU)")
    assert r.ssh("license smart authorization request save bootflash:slac.txt") == ""
    (tmp_path / "slac.txt").write_bytes(r.sftp_get("/bootflash/slac.txt"))
    assert cssm_process(tmp_path / "slac.txt", tmp_path / "slac_code.txt", tmp_path / "c.json").returncode == 0
    r.sftp_put("/bootflash/slac_code.txt", (tmp_path / "slac_code.txt").read_bytes())
    assert r.ssh("license smart import bootflash:slac_code.txt") == "Import Data Successful\n"
    assert dev.authorizations()[dev.udi].kind == "slac"
    assert r.ssh("license smart save trust-request bootflash:trust.txt") == ""
    (tmp_path / "trust.txt").write_bytes(r.sftp_get("/bootflash/trust.txt"))
    assert cssm_process(tmp_path / "trust.txt", tmp_path / "trust_code.txt", tmp_path / "c.json").returncode == 0
    r.sftp_put("/bootflash/trust_code.txt", (tmp_path / "trust_code.txt").read_bytes())
    assert r.ssh("license smart import bootflash:trust_code.txt") == "Import Data Successful\n"
    assert dev.trust_codes()[dev.udi].source == "file"
    before = r.seen()
    assert r.ssh("license smart import bootflash:trust_code.txt") == \
        "% Import Data Failed: A trust code is already installed\n"
    assert r.ssh("license smart import bootflash:slac_code.txt") == \
        "% Import Data Failed: The authorization code is already installed\n"
    assert r.seen() == before
