"""The pytest plugin as a controller team uses it: a test file of theirs asks for `slpemu_fleet`,
`slpemu_device`, `slpemu_cssm` and `slpemu_cslu` and talks to them; the plugin is declared as a `pytest11` entry point."""

from __future__ import annotations

import importlib.metadata
import os
import subprocess
import sys
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

USER_TESTS = '''
import pytest, requests, urllib3
urllib3.disable_warnings()

@pytest.mark.slpemu_fleet(count=3, platform_mix="C8000V:2,C8300-1N1S-6T:1")
def test_fleet(slpemu_fleet):
    assert len(slpemu_fleet) == 3
    for dev in slpemu_fleet:
        r = requests.get(dev.restconf_url + "/data/cisco-smart-license:licensing/state/state-info/udi",
                         auth=(dev.username, dev.password), verify=False, timeout=30)
        assert r.json()["cisco-smart-license:udi"]["sn"] == dev.serial
    slpemu_fleet.set_usage("network-advantage")
    slpemu_fleet.advance_clock(days=1)

@pytest.mark.parametrize("slpemu_fleet", [{"count": 2, "release_mix": "17.9.1a"}], indirect=True)
def test_fleet_parametrized(slpemu_fleet):
    assert {d.release for d in slpemu_fleet} == {"17.9.1a"}

def test_device(slpemu_device):
    assert slpemu_device.host.startswith("127.") and slpemu_device.https_port > 1024

def test_cssm_and_cslu(slpemu_cssm, slpemu_cslu):
    bearer = {"Authorization": "Bearer " + slpemu_cssm.api_token()}
    accounts = requests.get(slpemu_cssm.api_url + "/v2/accounts/search", headers=bearer, verify=False,
                            timeout=30).json()["accounts"]
    assert accounts and accounts[0]["virtual_accounts"]
    assert slpemu_cslu.pi_url.endswith("/cslu/v1/pi")
    assert "CSLU" in slpemu_cslu.page()
'''


def test_declared_as_a_pytest11_entry_point():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())
    assert project["project"]["entry-points"]["pytest11"] == {"slpemu": "emulator.pytest_plugin"}


def test_a_users_test_file_gets_the_fixtures(tmp_path):
    (tmp_path / "test_with_routers.py").write_text(USER_TESTS)
    installed = any(ep.name == "slpemu" for ep in importlib.metadata.entry_points(group="pytest11"))
    args = [] if installed else ["-p", "emulator.pytest_plugin"]
    out = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", *args, str(tmp_path)],
                         cwd=tmp_path, capture_output=True, text=True, timeout=300,
                         env={**os.environ, "PYTHONPATH": str(ROOT)})
    assert out.returncode == 0, out.stdout + out.stderr
    assert "4 passed" in out.stdout
