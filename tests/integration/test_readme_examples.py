"""The README's own examples, run as a reader runs them: every shell command it shows (the lines of its
```sh blocks, and the commands quoted inline in its prose) is either run here verbatim against a device
started with `slpemu serve` and its default ports, or named below with the reason it is not.

The device listens on a free 127.x.y.z loopback address instead of 127.0.0.1 (which another device or test
may hold), so that address is the one substitution made in the commands; ports, users and paths are the
README's. The device runs in a scratch directory, where `./slpemu-state` (the default state dir) and
`.venv` (a link to the running virtual environment) are what the README's relative paths expect. ssh's
two prompts (the new host key, the password) are answered through SSH_ASKPASS, as a person would type
them; the known_hosts file ssh writes is restored afterwards."""

from __future__ import annotations

import json
import os
import pwd
import random
import re
import shutil
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
import requests

ROOT = Path(__file__).resolve().parents[2]
README = ROOT / "README.md"
README_ADDRESS = "127.0.0.1"
PORTS = (2830, 8443, 2022)                  # --netconf-port, --restconf-port, --cli-port defaults
RUN = ("curl ", "ssh ", "netconf-console2 ", ".venv/bin/slpemu ")
NOT_RUN = {
    "./scripts/run-device.sh": "installs and starts a device, which this test does itself with `slpemu serve`",
    "./scripts/run-tests.sh": "runs the test suite this test belongs to",
}
ADVANCE_CLOCK_XFAIL = pytest.mark.xfail(
    strict=False, reason="the decoder takes a uint64 only as a JSON string (RFC 7951); accepting a JSON "
                         "number too is a colleague's decoder fix on another branch (issue 9)")

pytestmark = pytest.mark.filterwarnings("ignore::urllib3.exceptions.InsecureRequestWarning")


def readme_commands() -> list[str]:
    text = README.read_text()
    # the fleet section's commands run against a fleet: tests/integration/test_fleet_tools.py runs them
    text = re.sub(r"^## Fleets\n.*?(?=^## )", "", text, flags=re.S | re.M)
    commands = []
    for block in re.findall(r"^```sh\n(.*?)^```", text, re.S | re.M):
        commands += [line.strip() for line in block.splitlines() if line.strip() and not line.strip().startswith("#")]
    commands += re.findall(r"`((?:curl|ssh|netconf-console2) [^`]+)`", text)
    return list(dict.fromkeys(commands))


def runnable() -> list:
    out = []
    for command in readme_commands():
        if command.startswith(RUN):
            marks = [ADVANCE_CLOCK_XFAIL] if "slpemu-control:advance-clock" in command else []
            out.append(pytest.param(command, marks=marks, id=command[:60]))
    return out


def test_every_readme_command_is_run_or_named():
    commands = readme_commands()
    assert commands, "no ```sh block found in the README"
    for command in commands:
        assert command.startswith(RUN) or command.split()[0] in NOT_RUN, f"README command neither run nor named: {command}"
        if command.startswith(RUN):
            expectation(command)                 # each one has a check of its result
    assert {c.split()[0] for c in commands} >= {"curl", "ssh", "netconf-console2"}


# ---------------------------------------------------------------------------------------------- the device

class Device:
    def __init__(self, address: str, workdir: Path, env: dict):
        self.address, self.workdir, self.env = address, workdir, env
        self.url = f"https://{address}:8443"
        self.http = requests.Session()
        self.http.trust_env = False
        self.http.verify = False
        self.http.auth = ("admin", "admin")

    def rpc(self, qname: str, data: dict | None = None) -> dict:
        module = qname.split(":")[0]
        resp = self.http.post(f"{self.url}/restconf/operations/{qname}", json={f"{module}:input": data or {}},
                              headers={"Content-Type": "application/yang-data+json"}, timeout=30)
        assert resp.status_code in (200, 204), resp.text
        return resp.json()[f"{module}:output"] if resp.status_code == 200 else {}

    def run(self, command: str) -> subprocess.CompletedProcess:
        return subprocess.run(["bash", "-c", command.replace(README_ADDRESS, self.address)], cwd=self.workdir,
                              env=self.env, stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=120)


def _free_loopback() -> str:
    rng = random.Random()
    for _ in range(50):
        address = f"127.{rng.randint(1, 254)}.{rng.randint(0, 255)}.{rng.randint(1, 254)}"
        try:
            for port in PORTS:
                with socket.socket() as s:
                    s.bind((address, port))
        except OSError:
            continue
        return address
    raise RuntimeError("no free loopback address for the README's default ports")


@pytest.fixture(scope="module")
def known_hosts():
    """ssh records the device's host key in the user's known_hosts (it takes no $HOME): put it back."""
    path = Path(pwd.getpwuid(os.getuid()).pw_dir) / ".ssh" / "known_hosts"
    dir_existed = path.parent.exists()
    before = path.read_bytes() if path.exists() else None
    yield
    if before is not None:
        path.write_bytes(before)
    elif path.exists():
        path.unlink()
    for leftover in (path.with_name("known_hosts.old"),):
        if before is None and leftover.exists():
            leftover.unlink()
    if not dir_existed and path.parent.exists() and not any(path.parent.iterdir()):
        path.parent.rmdir()


@pytest.fixture(scope="module")
def device(tmp_path_factory, known_hosts):
    workdir = tmp_path_factory.mktemp("readme")
    (workdir / ".venv").symlink_to(Path(sys.prefix), target_is_directory=True)
    askpass = workdir / "askpass"
    askpass.write_text('#!/bin/sh\ncase "$1" in *yes/no*) echo yes ;; *) echo admin ;; esac\n')
    askpass.chmod(0o755)
    env = {**os.environ, "PYTHONPATH": str(ROOT), "PYTHONUNBUFFERED": "1",
           "PATH": f"{Path(sys.prefix) / 'bin'}{os.pathsep}{os.environ.get('PATH', '')}",
           "SSH_ASKPASS": str(askpass), "SSH_ASKPASS_REQUIRE": "force", "DISPLAY": ":0",
           "NO_PROXY": "*", "no_proxy": "*"}
    for name in ("http_proxy", "https_proxy", "HTTP_PROXY", "HTTPS_PROXY", "CURL_CA_BUNDLE"):
        env.pop(name, None)
    address = _free_loopback()
    serve = subprocess.Popen([str(workdir / ".venv" / "bin" / "slpemu"), "serve", "--host", address], cwd=workdir,
                             env=env, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                             text=True)
    output: list[str] = []
    reader = threading.Thread(target=lambda: output.extend(serve.stdout), daemon=True)
    reader.start()
    deadline = time.monotonic() + 60
    while not any("Press Ctrl+C to stop." in line for line in output):
        if serve.poll() is not None or time.monotonic() > deadline:
            serve.kill()
            pytest.fail("slpemu serve did not start:\n" + "".join(output))
        time.sleep(0.1)
    dev = Device(address, workdir, env)
    # something to report: a licence in use for two days (the clock moved with a JSON string, RFC 7951)
    dev.rpc("slpemu-control:set-usage", {"license": "network-advantage", "count": 2})
    dev.rpc("slpemu-control:advance-clock", {"seconds": str(2 * 86400)})
    try:
        yield dev
    finally:
        dev.http.close()
        serve.terminate()
        try:
            serve.wait(timeout=20)
        except subprocess.TimeoutExpired:
            serve.kill()
            serve.wait(timeout=10)
        reader.join(timeout=5)


# ---------------------------------------------------------------------------------------------- checks

def _json(result):
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def check_show_license_summary(device, result):
    assert result.returncode == 0, result.stderr
    assert "License Usage:" in result.stdout and "network-advantage" in result.stdout, result.stdout


def check_netconf_get(device, result):
    assert result.returncode == 0, result.stderr
    assert '<licensing xmlns="http://cisco.com/ns/yang/cisco-smart-license">' in result.stdout, result.stdout[:500]
    assert "<state-info>" in result.stdout


def check_udi(device, result):
    udi = _json(result)["cisco-smart-license:udi"]
    assert udi["pid"] == "C8000V" and udi["sn"]


def check_all_reports(device, result):
    usage = _json(result)["usage"]
    assert usage and all(set(r) >= {"payload", "header", "signature"} for r in usage)


def check_advance_clock(device, result):
    out = _json(result)
    assert "slpemu-control:output" in out, out
    assert out["slpemu-control:output"]["now"].endswith("+00:00")


def prepare_usage_file(device):
    """What the block's first comment asks for: usage saved to bootflash (RESTCONF rpc
    `rum-save-usage-unreported`), after another day of use so that there is something unreported."""
    device.rpc("slpemu-control:advance-clock", {"seconds": "86400"})
    assert device.rpc("cisco-smart-license:rum-save-usage-unreported",
                      {"file-path": "bootflash:u.txt"})["return-code"] == "success"
    assert (device.workdir / "slpemu-state/flash/device/bootflash/u.txt").exists()


def check_cssm_process(device, result):
    assert result.returncode == 0, result.stdout + result.stderr
    ack = device.workdir / "ack.txt"
    assert ack.exists() and b"<smartLicenseRumAck" in ack.read_bytes(), "no RUM ACK written"
    # "copy ack.txt to bootflash and `license smart import bootflash:ack.txt` → Import Data Successful"
    shutil.copy(ack, device.workdir / "slpemu-state/flash/device/bootflash/ack.txt")
    imported = device.run("ssh -p 2022 admin@127.0.0.1 'license smart import bootflash:ack.txt'")
    assert imported.returncode == 0 and "Import Data Successful" in imported.stdout, imported.stdout + imported.stderr


EXPECTATIONS = [   # (a piece of the command, what must be prepared first, the check of its result)
    ("'show license summary'", None, check_show_license_summary),
    ("netconf-console2 ", None, check_netconf_get),
    ("/state-info/udi", None, check_udi),
    ("/smartlic-service/all-reports", None, check_all_reports),
    ("slpemu-control:advance-clock", None, check_advance_clock),
    ("slpemu cssm process ", prepare_usage_file, check_cssm_process),
]


def expectation(command: str):
    found = [(prepare, check) for piece, prepare, check in EXPECTATIONS if piece in command]
    assert len(found) == 1, f"no (or more than one) check of the README command {command!r}"
    return found[0]


@pytest.mark.parametrize("command", runnable())
def test_readme_command(device, command):
    prepare, check = expectation(command)
    if prepare is not None:
        prepare(device)
    check(device, device.run(command))
