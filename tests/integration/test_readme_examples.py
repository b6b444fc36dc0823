"""The README's own examples, run as a reader runs them: every shell command it shows (the lines of its
```sh blocks, and the commands quoted inline in its prose) is either run here verbatim against a device
started with `slpemu serve` and its default ports, or named below with the reason it is not. A block that
starts with `# walkthrough: <name>` is a copy-paste sequence: it is run whole, as pasted into a shell, with
`set -e -o pipefail`, against a new device of its own, and its output checked step by step.

The device listens on a free 127.x.y.z loopback address instead of 127.0.0.1 (which another device or test
may hold), so that address is the one substitution made in the commands; ports, users and paths are the
README's. The device runs in a scratch directory, where `./slpemu-state` (the default state dir) and
`.venv` (a link to the running virtual environment) are what the README's relative paths expect. ssh's
two prompts (the new host key, the password) are answered through SSH_ASKPASS, as a person would type
them; the known_hosts file ssh writes is restored afterwards."""

from __future__ import annotations

import contextlib
import json
import os
import pwd
import random
import re
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

pytestmark = pytest.mark.filterwarnings("ignore::urllib3.exceptions.InsecureRequestWarning")


WALKTHROUGH = re.compile(r"^# walkthrough: (.+)$", re.M)
WALKTHROUGH_RUN = RUN + ("scp ", "python3 ")


def sh_blocks(text: str | None = None) -> list[str]:
    return re.findall(r"^```sh\n(.*?)^```", README.read_text() if text is None else text, re.S | re.M)


def walkthroughs() -> dict[str, str]:
    """name → the block, for the blocks that open with `# walkthrough: <name>`."""
    return {m.group(1).strip(): block for block in sh_blocks() if (m := WALKTHROUGH.match(block))}


def readme_commands() -> list[str]:
    text = README.read_text()
    # the fleet section's commands run against a fleet: tests/integration/test_fleet_tools.py runs them
    text = re.sub(r"^## Fleets\n.*?(?=^## )", "", text, flags=re.S | re.M)
    commands = []
    for block in sh_blocks(text):
        if WALKTHROUGH.match(block):
            continue
        commands += [line.strip() for line in block.splitlines() if line.strip() and not line.strip().startswith("#")]
    commands += re.findall(r"`((?:curl|ssh|netconf-console2) [^`]+)`", text)
    return list(dict.fromkeys(commands))


def is_service(command: str) -> bool:
    """The long-running commands of "The whole estate on one machine" (each in its own terminal): run by
    test_whole_estate_on_one_machine, in order, each until it says it is ready."""
    return command.startswith(".venv/bin/slpemu ") and " serve " in f"{command} "


def runnable() -> list:
    out = []
    for command in readme_commands():
        if command.startswith(RUN) and not is_service(command):
            out.append(pytest.param(command, id=command[:60]))
    return out


def test_every_readme_command_is_run_or_named():
    commands = readme_commands()
    assert commands, "no ```sh block found in the README"
    for command in commands:
        assert command.startswith(RUN) or command.split()[0] in NOT_RUN, f"README command neither run nor named: {command}"
        if command.startswith(RUN) and not is_service(command):
            expectation(command)                 # each one has a check of its result
    assert {c.split()[0] for c in commands} >= {"curl", "ssh", "netconf-console2"}
    assert set(walkthroughs()) == set(WALKTHROUGH_CHECKS), "a walkthrough without its check, or a check without one"
    for name, block in walkthroughs().items():
        for line in block.splitlines():
            if line.strip() and not line.startswith("#"):
                assert line.startswith(WALKTHROUGH_RUN), f"walkthrough {name!r}: what runs {line!r}?"


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


def _free_loopback(ports=PORTS) -> str:
    """A random loopback address on which every one of `ports` is free (the README's defaults)."""
    rng = random.Random()
    for _ in range(50):
        address = f"127.{rng.randint(1, 254)}.{rng.randint(0, 255)}.{rng.randint(1, 254)}"
        try:
            for port in ports:
                with socket.socket() as s:
                    s.bind((address, port))
        except OSError:
            continue
        return address
    raise RuntimeError(f"no free loopback address for ports {ports}")


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


def _environment(workdir: Path) -> dict:
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
    return env


@contextlib.contextmanager
def serving(workdir: Path):
    """`slpemu serve` with the README's defaults (but a free loopback address) in `workdir`."""
    env = _environment(workdir)
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


@pytest.fixture(scope="module")
def device(tmp_path_factory, known_hosts):
    with serving(tmp_path_factory.mktemp("readme")) as dev:
        # something to report: a licence in use for two days (the clock moved with a JSON string, RFC 7951)
        dev.rpc("slpemu-control:set-usage", {"license": "network-advantage", "count": 2})
        dev.rpc("slpemu-control:advance-clock", {"seconds": str(2 * 86400)})
        yield dev


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
    reports = [r for r in usage if "header" not in r]          # 17.12: reports as real ones, no header
    assert reports and all(list(r) == ["payload", "signature"] and r["signature"]["signing_type"] == "builtin"
                           for r in reports)


def check_advance_clock(device, result):
    out = _json(result)
    assert "slpemu-control:output" in out, out
    assert out["slpemu-control:output"]["now"].endswith("+00:00")


EXPECTATIONS = [   # (a piece of the command, what must be prepared first, the check of its result)
    ("'show license summary'", None, check_show_license_summary),
    ("netconf-console2 ", None, check_netconf_get),
    ("/state-info/udi", None, check_udi),
    ("/smartlic-service/all-reports", None, check_all_reports),
    ("slpemu-control:advance-clock", None, check_advance_clock),
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


# ---------------------------------------------------------------------------------------------- walkthroughs

def json_objects(text: str) -> list:
    """The JSON documents curl printed, in order (the rest of the output is CLI text)."""
    decoder, out, i = json.JSONDecoder(), [], 0
    while (i := text.find("{", i)) >= 0:
        try:
            obj, end = decoder.raw_decode(text, i)
        except ValueError:
            i += 1
            continue
        out.append(obj)
        i = end
    return out


def udi_of(device) -> str:
    udi = device.http.get(f"{device.url}/restconf/data/cisco-smart-license:licensing/state/state-info/udi",
                          timeout=30).json()["cisco-smart-license:udi"]
    return f"PID:{udi['pid']},SN:{udi['sn']}"


def check_air_gapped(device, out: str):
    lines = out.splitlines()
    udi = udi_of(device)
    assert [line for line in lines if line.startswith("Added ")] == [
        f"Added {udi} to Smart Account Eg-SA, Virtual Account Eg-VA"]
    assert f"Wrote ack.txt: ACK for {udi} (2 reports acknowledged)" in lines
    assert "Wrote slac.txt: authorization code (SLAC)" in lines
    assert lines.count("Import Data Successful") == 2
    assert "  Policy name: SLE Policy" in lines and any(line.startswith("  Last ACK received: ") for line in lines)
    trust = lines[lines.index("Trust Code Installed:") + 2]
    assert trust.startswith("    INSTALLED on "), trust
    assert any(line.startswith("    Status: SMART AUTHORIZATION INSTALLED on ") for line in lines)
    assert lines[-1] == "% Import Data Failed: the ACK is already installed"
    state = device.http.get(f"{device.url}/restconf/data/cisco-smart-license:licensing/state/state-info/trust-code",
                            timeout=30).json()["cisco-smart-license:trust-code"]
    assert [t["is-installed"] for t in state] == [True]


def check_controller_pull(device, out: str):
    docs = json_objects(out)
    assert {"cisco-smart-license:output": {"return-code": "commsend"}} in docs       # no CSLU: stays pending
    assert {"status": "SUCCESS", "closed_reports": 1} in docs
    assert {"status": "SUCCESS", "message": "Import Data Successful"} in docs
    assert docs[-1] == {"status": "FAILED", "message": "Import Data Failed: the ACK is already installed",
                        "code": "duplicatedentry"}
    pulled = json.loads((device.workdir / "pulled.json").read_text())["usage"]
    assert [m["header"]["type"] for m in pulled if "header" in m] == ["trust_request", "authorization_request"]
    lines = out.splitlines()
    udi = udi_of(device)
    assert f"Added {udi} to Smart Account Eg-SA, Virtual Account Lab" in lines
    assert any(line.startswith(f"Wrote ack.txt: ACK for {udi} (") for line in lines)
    rum_ack = next(d for d in docs if "cisco-smart-license:rum-ack" in d)["cisco-smart-license:rum-ack"]
    assert rum_ack["last-received-time"].endswith("+00:00")
    assert "  Virtual Account: Lab" in lines
    assert lines[lines.index("Trust Code Installed:") + 2].startswith("    INSTALLED on ")
    assert any(line.startswith("    Status: SMART AUTHORIZATION INSTALLED on ") for line in lines)


WALKTHROUGH_CHECKS = {"air-gapped": check_air_gapped, "controller pull": check_controller_pull}


@pytest.mark.parametrize("name", list(walkthroughs()))
def test_walkthrough(name, tmp_path, known_hosts):
    with serving(tmp_path) as dev:
        result = dev.run("set -e -o pipefail\n" + walkthroughs()[name])
        assert result.returncode == 0, result.stdout + result.stderr
        WALKTHROUGH_CHECKS[name](dev, result.stdout)


# ---------------------------------------------------------------------------------------------- the whole estate

ESTATE_PORTS = (8444, 8182, 2831, 8445, 2023)       # CSSM, CSLU, and the device's NETCONF, RESTCONF, CLI


def test_whole_estate_on_one_machine(tmp_path):
    """The README's three commands, verbatim but for the loopback address, each started as its own
    process; then a licence in use, the clock moved, and the ACK back on the device through CSLU."""
    import paramiko

    commands = [c for c in readme_commands() if is_service(c)]
    assert [c.split()[1] for c in commands] == ["cssm", "cslu", "serve"], commands
    (tmp_path / ".venv").symlink_to(Path(sys.prefix), target_is_directory=True)
    env = {**os.environ, "PYTHONPATH": str(ROOT), "PYTHONUNBUFFERED": "1", "NO_PROXY": "*", "no_proxy": "*"}
    address = _free_loopback(ESTATE_PORTS)
    procs = []
    try:
        for command in commands:
            proc = subprocess.Popen(["bash", "-c", "exec " + command.replace(README_ADDRESS, address)], cwd=tmp_path,
                                    env=env, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                    stderr=subprocess.STDOUT, text=True)
            output: list[str] = []
            threading.Thread(target=lambda p=proc, o=output: o.extend(p.stdout), daemon=True).start()
            procs.append((proc, output))
            deadline = time.monotonic() + 60
            while not any("Press Ctrl+C to stop." in line for line in output):
                if proc.poll() is not None or time.monotonic() > deadline:
                    pytest.fail(f"{command} did not start:\n" + "".join(output))
                time.sleep(0.1)
        http = requests.Session()
        http.trust_env, http.verify, http.auth = False, False, ("admin", "admin")
        device = f"https://{address}:8445/restconf/operations"
        def rpc(name, data):
            resp = http.post(f"{device}/slpemu-control:{name}", json={"slpemu-control:input": data},
                             headers={"Content-Type": "application/yang-data+json"}, timeout=60)
            assert resp.status_code in (200, 204), resp.text
        rpc("set-usage", {"license": "dna-advantage", "count": 2})
        rpc("advance-clock", {"seconds": "600"})            # pushed at +2 min, ACK polled 4 minutes later
        client = paramiko.SSHClient()
        client.set_missing_host_key_policy(paramiko.AutoAddPolicy())
        client.connect(address, port=2023, username="admin", password="admin", allow_agent=False,
                       look_for_keys=False, timeout=30)
        try:
            status = client.exec_command("show license status", timeout=60)[1].read().decode()
        finally:
            client.close()
        assert "Cslu address: <empty>" in status and "INSTALLED on" in status, status
        assert "Last ACK received: <none>" not in status, status
        sn = re.search(r"PID:C8000V,SN:(\w+)", status).group(1)
        cssm_page = http.get(f"https://{address}:8444/", timeout=30).text
        cslu_page = http.get(f"http://{address}:8182/", timeout=30).text
        assert f">{sn}<" in cssm_page and f"SN:{sn}" in cslu_page
    finally:
        for proc, _ in reversed(procs):
            proc.terminate()
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(timeout=10)
