"""The netconf-console2 command line (and the older `netconf-console` name) against the emulated device."""

import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from lxml import etree

from emulator.frontends.netconf import NetconfService
from emulator.runtime import DeviceOptions, open_device

CSL = "http://cisco.com/ns/yang/cisco-smart-license"
NS = {"csl": CSL, "nc": "urn:ietf:params:xml:ns:netconf:base:1.0"}
BIN = Path(sys.executable).parent


def _tool(name):
    path = BIN / name
    return str(path) if path.exists() else shutil.which(name)


@pytest.fixture(scope="module")
def service(tmp_path_factory):
    state = tmp_path_factory.mktemp("nc-console")
    device = open_device(state, DeviceOptions(users={"admin": "admin"}, frozen_clock=True))
    device.set_usage("network-advantage", 1)
    svc = NetconfService(device, "127.0.0.1", 0, state).start()
    yield svc
    svc.stop()
    device.store.close()


def run(svc, *args, tool="netconf-console2", check=True):
    exe = _tool(tool)
    if exe is None:
        pytest.skip(f"{tool} is not installed")
    proc = subprocess.run([exe, "--host", "127.0.0.1", "--port", str(svc.port), "-u", "admin", "-p", "admin",
                           *args], capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0 or not check, proc.stderr + proc.stdout
    return proc.stdout


def test_hello(service):
    out = run(service, "--hello")
    caps = [e.text for e in etree.fromstring(out.encode()).iter("{*}capability")]
    assert "urn:ietf:params:netconf:base:1.1" in caps
    assert f"{CSL}?module=cisco-smart-license&revision=2021-03-01" in caps


def test_get_xpath_licensing(service):
    data = etree.fromstring(run(service, "--get", "-x", "/licensing").encode())
    assert data.findtext(".//csl:state-info/csl:udi/csl:pid", namespaces=NS) == "C8000V"
    assert data.findtext(".//csl:usage/csl:short-name", namespaces=NS) == "network-advantage_250M"
    assert data.find(".//{*}native") is None


def test_get_config(service):
    data = etree.fromstring(run(service, "--get-config").encode())
    assert data.findtext(".//csl:config/csl:transport/csl:transport-type", namespaces=NS) == "transport-type-cslu"
    assert data.find(".//csl:state", NS) is None


def test_rpc_file(service, tmp_path):
    rpc = tmp_path / "save.xml"
    rpc.write_text(f'<rum-save-usage-all xmlns="{CSL}"><file-path>bootflash:console.txt</file-path>'
                   "</rum-save-usage-all>")
    out = run(service, "--rpc", str(rpc))
    assert etree.fromstring(out.encode()).findtext(".//csl:return-code", namespaces=NS) == "success"
    assert service.netconf.device.flash.read("bootflash:console.txt")


def test_error_reply_is_printed(service, tmp_path):
    rpc = tmp_path / "bad.xml"
    rpc.write_text(f'<import-file xmlns="{CSL}"/>')
    out = run(service, "--rpc", str(rpc), check=False)          # printed, and the exit status says so
    err = etree.fromstring(out.encode())
    assert err.findtext("nc:error-tag", namespaces=NS) == "missing-element"
    assert err.findtext("nc:error-path", namespaces=NS) == "/nc:rpc/cisco-smart-license:import-file/" \
                                                           "cisco-smart-license:file-path"


def test_lock_unlock(service):
    assert "ok" in run(service, "--lock", "--unlock", "--db", "running")


def test_old_netconf_console_name(service):
    out = run(service, "--hello", tool="netconf-console")
    assert "urn:ietf:params:netconf:base:1.1" in out
