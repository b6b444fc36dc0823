"""Every topology of the guide end to end (behaviour.md §3), with separate processes on loopback: CSSM
(`slpemu cssm serve`), CSLU / SSM On-Prem (`slpemu cslu serve`) and devices (`slpemu serve`) started by the
`estate` fixture. Each test checks the device (`show license status`, its syslog), the CSSM inventory and
the web pages after moving the clocks with the control RPCs."""

from __future__ import annotations

import base64
import json
import re

import pytest

from emulator.testing.estate import DAY


def acked(status: dict) -> bool:
    return status.get("Last ACK received", "<none>") != "<none>"


def test_cslu_push_connected_to_cssm(estate):
    """§3.1: the device pushes to CSLU, CSLU relays to CSSM over its REST API, the ACK (with the trust
    code) comes back on the device's next contact."""
    cssm = estate.cssm()
    cslu = estate.cslu(cssm=cssm)
    dev = estate.device()
    dev.configure(f"license smart url cslu {cslu.pi_url}")
    dev.use("network-advantage", 2)
    dev.use("dna-advantage", 2)                   # a subscription: reports every 30 days (R24)
    dev.advance(150)                              # the first push, 2 minutes after first use (R13)
    status = dev.status()
    assert status["Last report push"] != "<none>" and not acked(status), status
    assert status["Next ACK push check"] != "<none>"
    dev.advance(300)                              # the poll 4 minutes later gets the ACK (R27)
    status = dev.status()
    assert acked(status), status
    assert "INSTALLED on" in dev.cli("show license status")          # the trust code came with the ACK
    assert dev.syslog("COMM_FAILED") == []
    assert any("License report acknowledged" in line for line in dev.syslog())
    udi = f"PID:C8000V,SN:{dev.serial}"
    pi = cssm.inventory()[udi]
    assert pi["virtual_account"] == "Eg-VA" and pi["last_ack"] is not None
    assert any(tag.startswith("regid.") and count == 2 for tag, count in pi["licenses"].items())
    assert udi in cssm.page() and udi in cslu.page()
    dev.advance(95 * DAY)                         # three more monthly pushes, each acknowledged
    reports = cssm.inventory()[udi]["reports"]
    assert len({r["report_id"] for r in reports}) >= 4 and {r["status"] for r in reports} == {"ACKED"}
    assert dev.syslog("COMM_FAILED") == []


pytestmark = pytest.mark.filterwarnings("ignore::urllib3.exceptions.InsecureRequestWarning")


@pytest.mark.parametrize("method", ["rest", "restconf", "netconf"])
def test_cslu_pull_connected_to_cssm(estate, method):
    """§3.2: CSLU collects from its device list (native REST as Cisco's sample client does, RESTCONF or
    NETCONF), relays to CSSM, and delivers the ACK on its next update."""
    cssm = estate.cssm()
    cslu = estate.cslu(cssm=cssm)
    dev = estate.device()
    dev.configure("license smart transport off")
    dev.use("dna-advantage", 3)
    dev.advance(DAY)
    port = {"rest": dev.ports["restconf"], "restconf": dev.ports["restconf"], "netconf": dev.ports["netconf"]}[method]
    added = cslu.cli("device", "add", "r1", "--host", "127.0.0.1", "--method", method, "--port", str(port),
                     "--file-port", str(dev.ports["cli"]))
    assert added.returncode == 0, added.stderr
    collected = cslu.cli("collect")
    assert collected.returncode == 0 and "r1:" in collected.stdout and "error" not in collected.stdout, \
        collected.stdout + collected.stderr
    assert "Last report pull" in dev.cli("show license all") or True
    delivered = cslu.cli("deliver")
    assert delivered.returncode == 0 and "Import Data Successful" in delivered.stdout, delivered.stdout + delivered.stderr
    status = dev.status()
    assert acked(status), status
    udi = f"PID:C8000V,SN:{dev.serial}"
    assert cssm.inventory()[udi]["last_ack"] is not None
    page = cslu.page()
    assert 'data-device="r1"' in page and udi in page
    assert dev.syslog("COMM_FAILED") == []


@pytest.mark.parametrize("transport", ["smart", "callhome"])
def test_direct_to_cssm_with_id_token(estate, transport):
    """§3.3: trust with an ID token from the Virtual Account, CSSM's policy, then reports polled for
    their ACK after CSSM's processing delay (on CSSM's own clock)."""
    cssm = estate.cssm("--policy", "SLE Policy", "--virtual-account", "Eg-VA", "--virtual-account", "Lab", delay=180)
    dev = estate.device("--push-ca", str(cssm.cert))
    if transport == "smart":
        dev.configure("license smart transport smart", f"license smart url smart {cssm.device_url}")
    else:
        dev.configure("license smart transport callhome",
                      f"license smart url {cssm.url}/its/service/oddce/services/DDCEService")
    dev.use("dna-advantage", 1)
    refused = dev.cli("license smart trust idtoken bm90LWEtdG9rZW4%3D local")
    assert "INSTALLED on" not in dev.cli("show license status"), refused
    token = cssm.token("Lab")
    dev.cli(f"license smart trust idtoken {token} local")
    out = dev.cli("show license status")
    assert "INSTALLED on" in out and "SLE Policy" in out, out
    assert dev.syslog("TRUST_INSTALL_SUCCESS") and dev.syslog("POLICY_INSTALL_SUCCESS")
    status = dev.status()
    assert not acked(status) and status["Next ACK push check"] != "<none>", status      # CSSM: OK_POLL
    cssm.advance(200)                                     # CSSM has processed the report
    dev.advance(DAY + 60)                                 # the device's next poll
    assert acked(dev.status())
    udi = f"PID:C8000V,SN:{dev.serial}"
    pi = cssm.inventory()[udi]
    assert pi["virtual_account"] == "Lab" and pi["trusted"] and pi["last_ack"]
    assert pi["reports"] and all(r["channel"] == transport for r in pi["reports"])
    assert f"SN:{dev.serial}" in cssm.page()


def test_cslu_disconnected_from_cssm_push(estate):
    """§3.6: CSLU holds the reports; the user exports the upload bundle, uploads it to CSSM, imports the
    ACK bundle into CSLU; the device gets the ACK at its next poll."""
    cssm = estate.cssm()
    cslu = estate.cslu()
    dev = estate.device()
    dev.configure(f"license smart url cslu {cslu.pi_url}")
    dev.use("dna-advantage", 1)
    dev.advance(10 * 60)
    status = dev.status()
    assert status["Last report push"] != "<none>" and not acked(status)
    exported = cslu.cli("export", "--out", str(cslu.state_dir / "out"))
    assert exported.returncode == 0, exported.stderr
    bundle = exported.stdout.strip()
    assert re.search(r"UD_SA_\d+\.tar\.gz$", bundle)
    answer = cssm.upload(open(bundle, "rb").read())
    assert answer.status_code == 200 and answer.headers["X-File-Kind"] == "ack-bundle"
    ack_path = cslu.state_dir / "ack.tar.gz"
    ack_path.write_bytes(answer.content)
    imported = cslu.cli("import", str(ack_path))
    assert imported.returncode == 0 and "Imported 1 ACK" in imported.stdout, imported.stdout + imported.stderr
    dev.advance(DAY + 60)
    assert acked(dev.status())
    assert f"PID:C8000V,SN:{dev.serial}" in cssm.inventory()
    assert dev.syslog("COMM_FAILED") == []


def test_cslu_disconnected_from_cssm_pull(estate):
    """§3.6, CSLU-initiated: collect, export, upload, import, deliver."""
    cssm = estate.cssm()
    cslu = estate.cslu()
    dev = estate.device()
    dev.configure("license smart transport off")
    dev.use("dna-advantage", 1)
    dev.advance(DAY)
    assert cslu.cli("device", "add", "r1", "--host", "127.0.0.1", "--port", str(dev.ports["restconf"])).returncode == 0
    assert "1 report" in cslu.cli("collect").stdout or "report" in cslu.cli("collect").stdout
    bundle = cslu.cli("export", "--out", str(cslu.state_dir)).stdout.strip()
    answer = cssm.upload(open(bundle, "rb").read())
    assert answer.status_code == 200, answer.text
    (cslu.state_dir / "ack.tar.gz").write_bytes(answer.content)
    assert cslu.cli("import", str(cslu.state_dir / "ack.tar.gz")).returncode == 0
    delivered = cslu.cli("deliver")
    assert "Import Data Successful" in delivered.stdout, delivered.stdout + delivered.stderr
    assert acked(dev.status())


@pytest.mark.parametrize("connected", [True, False])
def test_ssm_onprem_push(estate, connected):
    """§3.8: SSM On-Prem is CSLU with the On-Prem URL form https://<host>/cslu/v1/pi/<tenant>-1 and
    local accounts (tenants) mapped to CSSM virtual accounts; connected or by files."""
    cssm = estate.cssm("--virtual-account", "Eg-VA", "--virtual-account", "Lab")
    onprem = estate.cslu("--onprem", "--tls", "--tenant", "Lab=Eg-SA/Lab", cssm=cssm if connected else None)
    dev = estate.device("--push-ca", str(onprem.cert))
    dev.configure(f"license smart url cslu {onprem.url}/cslu/v1/pi/Lab-1", "license smart usage interval 7")
    dev.use("dna-advantage", 1)
    dev.advance(10 * 60)
    assert dev.syslog("COMM_FAILED") == [], dev.syslog()
    if not connected:
        bundle = onprem.cli("export", "--out", str(onprem.state_dir)).stdout.strip()
        answer = cssm.upload(open(bundle, "rb").read(), virtual_account="Lab")
        assert answer.status_code == 200, answer.text
        (onprem.state_dir / "ack.tar.gz").write_bytes(answer.content)
        assert onprem.cli("import", str(onprem.state_dir / "ack.tar.gz")).returncode == 0
        dev.advance(DAY + 60)
    assert acked(dev.status())
    pi = cssm.inventory()[f"PID:C8000V,SN:{dev.serial}"]
    assert pi["virtual_account"] == "Lab"
    assert "Lab-1" in onprem.page() and f"SN:{dev.serial}" in onprem.page()
    if connected:
        dev.advance(8 * DAY)                              # the 7-day interval, acknowledged through On-Prem
        assert len({r["report_id"] for r in cssm.inventory()[pi["udi"]]["reports"]}) >= 2


def test_controller_pull_over_netconf(estate):
    """§3.4, the Cisco DNA Center workflow: the save-usage RPC over NETCONF, the file fetched (SFTP), sent
    to CSSM's REST API, the ACK polled, put back and installed with the import-file RPC."""
    from ncclient import manager

    cssm = estate.cssm(delay=60)
    dev = estate.device()
    dev.configure("license smart transport off")
    dev.use("dna-advantage", 2)
    dev.advance(DAY)
    ns = "http://cisco.com/ns/yang/cisco-smart-license"
    with manager.connect(host="127.0.0.1", port=dev.ports["netconf"], username="admin", password="admin",
                         hostkey_verify=False, allow_agent=False, look_for_keys=False, timeout=60,
                         device_params={"name": "iosxe"}) as m:
        from lxml import etree
        reply = m.dispatch(etree.fromstring(f'<rum-save-usage-unreported xmlns="{ns}"><file-path>bootflash:dnac.txt'
                                            "</file-path></rum-save-usage-unreported>"))
        assert "success" in reply.xml
        usage = dev.sftp_get("dnac.txt").decode()
        envelopes = [json.loads(el) for el in re.findall(r"<RUMReport>\s*<!\[CDATA\[(.*?)\]\]>\s*</RUMReport>", usage, re.S)]
        assert envelopes
        api = cssm.http.__class__()
        api.trust_env, api.verify = False, False
        api.headers["Authorization"] = f"Bearer {cssm.api_token()}"
        accounts = api.get(f"{cssm.api_url}/v2/accounts/search").json()["accounts"]
        sa = accounts[0]
        sudi = {"udi_pid": "C8000V", "udi_serial_number": dev.serial}
        headers = {"X-CSW-SMART-ACCOUNT-ID": sa["account_id"],
                   "X-CSW-VIRTUAL-ACCOUNT-ID": sa["virtual_accounts"][0]["virtual_account_id"],
                   "X-CSW-REQUESTING-SYSTEM": json.dumps(sudi)}
        body = {"data": {"timestamp": 1, "nonce": "abcdefghijklmnop", "reports": [
            {"sudi": sudi, "usage": envelopes, "smart_license": base64.b64encode(usage.encode()).decode()}]}}
        poll_id = api.post(f"{cssm.api_url}/v2/devices/reportusage", json=body, headers=headers).json()["poll_id"]
        poll = {"data": {"timestamp": "1", "nonce": "abcdefghijklmnop", "poll_id": poll_id, "action": "acknowledgements"}}
        first = api.post(f"{cssm.api_url}/v2/accounts/poll", json=poll).json()
        assert first["status"] == "OK_POLL" and first["message"] == ""
        cssm.advance(61)
        done = api.post(f"{cssm.api_url}/v2/accounts/poll", json=poll).json()
        assert done["status"] == "COMPLETE"
        ack = base64.b64decode(done["data"]["acknowledgements"][0]["smart_license"])
        dev.sftp_put("dnac_ack.txt", ack)
        reply = m.dispatch(etree.fromstring(f'<import-file xmlns="{ns}"><file-path>bootflash:dnac_ack.txt'
                                            "</file-path></import-file>"))
        assert "success" in reply.xml, reply.xml
    assert acked(dev.status())
    assert cssm.inventory()[f"PID:C8000V,SN:{dev.serial}"]["last_ack"]


def test_air_gapped(estate):
    """§3.7: no connectivity: the usage file saved on the device, uploaded to CSSM's portal, the ACK
    imported with `license smart import`."""
    cssm = estate.cssm()
    dev = estate.device()
    dev.configure("license smart transport off")
    dev.use("dna-advantage", 1)
    dev.advance(2 * DAY)
    dev.cli("license smart save usage unreported file bootflash:usage.txt")
    answer = cssm.upload(dev.sftp_get("usage.txt"))
    assert answer.status_code == 200 and b"smartLicenseRumAck" in answer.content
    dev.sftp_put("ack.txt", answer.content)
    assert "Import Data Successful" in dev.cli("license smart import bootflash:ack.txt")
    assert acked(dev.status())
    pi = cssm.inventory()[f"PID:C8000V,SN:{dev.serial}"]
    assert pi["reports"] and pi["reports"][0]["channel"] == "upload"
    assert dev.syslog("COMM_FAILED") == []


def test_ssm_onprem_pull(estate):
    """§3.9: SSM On-Prem collects from a device of a local account over RESTCONF and returns the ACK."""
    cssm = estate.cssm("--virtual-account", "Eg-VA", "--virtual-account", "Lab")
    onprem = estate.cslu("--onprem", "--tls", "--tenant", "Lab=Eg-SA/Lab", cssm=cssm)
    dev = estate.device()
    dev.configure("license smart transport off")
    dev.use("dna-advantage", 1)
    dev.advance(DAY)
    added = onprem.cli("device", "add", "r1", "--host", "127.0.0.1", "--method", "restconf", "--port",
                       str(dev.ports["restconf"]), "--file-port", str(dev.ports["cli"]), "--tenant", "Lab")
    assert added.returncode == 0, added.stderr
    assert "error" not in onprem.cli("collect").stdout
    assert "Import Data Successful" in onprem.cli("deliver").stdout
    assert acked(dev.status())
    assert cssm.inventory()[f"PID:C8000V,SN:{dev.serial}"]["virtual_account"] == "Lab"
