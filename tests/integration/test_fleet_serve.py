"""A fleet on loopback: every device at its own address answers RESTCONF, NETCONF and the CLI as itself,
through one SSH server and one HTTPS server; nothing listens beyond the configured addresses; the control
RPCs on the management address; `slpemu fleet serve` and the control commands as a user runs them."""

from __future__ import annotations

import json
import os
import re
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import paramiko
import psutil
import pytest
import requests
import urllib3

from emulator.pytest_plugin import slpemu_device, slpemu_fleet  # noqa: F401  (also an installed plugin)

urllib3.disable_warnings()
ROOT = Path(__file__).resolve().parents[2]
CSL = "http://cisco.com/ns/yang/cisco-smart-license"
UDI_FILTER = f'<licensing xmlns="{CSL}"><state><state-info><udi/></state-info></state></licensing>'


def restconf_udi(dev) -> dict:
    r = requests.get(f"{dev.restconf_url}/data/cisco-smart-license:licensing/state/state-info/udi",
                     auth=(dev.username, dev.password), verify=False, timeout=30)
    assert r.status_code == 200, r.text
    return r.json()["cisco-smart-license:udi"]


def cli(dev, command: str) -> str:
    client = paramiko.SSHClient()
    client.set_missing_host_key_policy(paramiko.AutoAddPolicy())
    client.connect(dev.host, dev.ssh_port, dev.username, dev.password, look_for_keys=False, allow_agent=False,
                   timeout=30)
    try:
        _, out, _ = client.exec_command(command, timeout=30)
        return out.read().decode()
    finally:
        client.close()


def netconf_udi(dev) -> str:
    from ncclient import manager
    with manager.connect(host=dev.host, port=dev.netconf_port, username=dev.username, password=dev.password,
                         hostkey_verify=False, look_for_keys=False, allow_agent=False, timeout=30) as m:
        return str(m.get(filter=("subtree", UDI_FILTER)))


def rpc(fleet, op: str, data: dict | None = None, status: int = 200) -> dict:
    r = requests.post(f"{fleet.management_url}/restconf/operations/slpemu-control:fleet-{op}",
                      json={"slpemu-control:input": data or {}}, timeout=60)
    assert r.status_code == status, r.text
    return r.json()


@pytest.mark.slpemu_fleet(count=3, platform_mix="C8000V:2,ISR4331/K9:1", release_mix="17.12.1a:2,17.9.1a:1")
def test_each_device_answers_as_itself_on_its_own_address(slpemu_fleet):
    devices = slpemu_fleet.devices
    assert len({d.host for d in devices}) == 3 and len({d.serial for d in devices}) == 3
    for dev in devices:
        assert restconf_udi(dev) == {"pid": dev.pid, "sn": dev.serial}
        assert f"UDI: PID:{dev.pid},SN:{dev.serial}" in cli(dev, "show license udi")
    for dev in devices[:2]:
        assert f"<sn>{dev.serial}</sn>" in netconf_udi(dev)
    version = cli(devices[2], "show version")
    assert devices[2].release in version and devices[2].hostname in version
    # shared machinery: one SSH server and one HTTPS server with a listener per device endpoint
    service = slpemu_fleet.service
    assert service.ssh.listener_count == 6 and service.https.listener_count == 3


@pytest.mark.slpemu_fleet(count=2)
def test_a_client_silent_in_the_tls_handshake_holds_up_no_other_device(slpemu_fleet):
    silent = [socket.create_connection((slpemu_fleet[0].host, slpemu_fleet[0].https_port), timeout=5)
              for _ in range(3)]
    try:
        time.sleep(0.3)
        t = time.monotonic()
        assert restconf_udi(slpemu_fleet[1])["sn"] == slpemu_fleet[1].serial
        assert restconf_udi(slpemu_fleet[0])["sn"] == slpemu_fleet[0].serial
        assert time.monotonic() - t < 5
    finally:
        for sock in silent:
            sock.close()


@pytest.mark.slpemu_fleet(count=3)
def test_nothing_listens_beyond_the_configured_addresses(slpemu_fleet):
    plan = slpemu_fleet.plan
    wanted = {(d.address, p) for d in plan.devices for p in d.ports.as_dict().values()}
    wanted.add((plan.management_address, plan.management_port))
    listening = {(c.laddr.ip, c.laddr.port) for c in psutil.Process().net_connections("inet")
                 if c.status == psutil.CONN_LISTEN}
    mine = {ep for ep in listening if ep[0].startswith(plan.devices[0].address.rsplit(".", 1)[0] + ".")}
    assert mine == wanted
    assert not any(ip in ("0.0.0.0", "::") for ip, _ in listening)
    # the HTTPS server's own cheroot socket is an abstract UNIX socket, not a network address
    assert all(ep in wanted or not ep[0].startswith("127.") or ep not in mine for ep in listening)


@pytest.mark.slpemu_fleet(count=2, platform_mix="C8000V")
def test_control_rpcs_on_the_management_address(slpemu_fleet):
    status = rpc(slpemu_fleet, "status")["slpemu-control:output"]
    assert status["devices"] == 2 and status["ssh-listeners"] == 4 and status["https-listeners"] == 2
    out = rpc(slpemu_fleet, "set-usage", {"license": "network-advantage", "count": 1})["slpemu-control:output"]
    assert out["devices"] == 2 and out["failed"] == 0
    start = status["clock"]["now"]
    out = rpc(slpemu_fleet, "advance-clock", {"days": 3})["slpemu-control:output"]
    assert out["now"] == pytest.approx(start + 3 * 86400) and out["devices-run"] == 2
    listed = rpc(slpemu_fleet, "list")["slpemu-control:output"]["device"]
    assert [d["licenses-in-use"] for d in listed] == [1, 1]
    assert {d["compliance"] for d in listed} == {"IN COMPLIANCE"}
    # the device itself sees the new time and its reports
    dev = slpemu_fleet.devices[0]
    r = requests.get(f"{dev.restconf_url}/data/slpemu-control:clock", auth=(dev.username, dev.password),
                     verify=False, timeout=30)
    assert r.status_code == 200
    injected = rpc(slpemu_fleet, "faults", {"action": "inject", "kind": "timeout", "count": 2, "devices": [dev.id]})
    assert injected["slpemu-control:output"]["failed"] == 0
    faults = rpc(slpemu_fleet, "faults", {"devices": [dev.id]})["slpemu-control:output"]["results"][0]["result"]
    assert faults[0]["kind"] == "timeout" and faults[0]["remaining"] == 2
    # add: listens when the RPC returns; remove: stops listening
    added = rpc(slpemu_fleet, "add", {"device": {"hostname": "extra-1", "platform": "C8500-12X"}})
    new = added["slpemu-control:output"]["device"][0]
    assert new["pid"] == "C8500-12X" and new["sn"].startswith("JAD")
    r = requests.get(f"https://{new['address']}:{new['ports']['https']}/restconf/data/cisco-smart-license:licensing/"
                     "state/state-info/udi", auth=("admin", "admin"), verify=False, timeout=30)
    assert r.json()["cisco-smart-license:udi"]["sn"] == new["sn"]
    rpc(slpemu_fleet, "remove", {"id": "extra-1"})
    with pytest.raises(OSError):
        socket.create_connection((new["address"], new["ports"]["https"]), timeout=2).close()
    # bad input: an RFC 8040 error naming the entry, and nothing changes
    err = rpc(slpemu_fleet, "add", {"device": {"hostname": "x", "platform": "C9999"}}, status=400)
    message = err["ietf-restconf:errors"]["error"][0]["error-message"]
    assert message.startswith("add (x): unknown platform profile 'C9999'")
    err = rpc(slpemu_fleet, "add", {"device": {"hostname": "y", "address": dev.host}}, status=400)
    assert "is already used by" in err["ietf-restconf:errors"]["error"][0]["error-message"]
    err = rpc(slpemu_fleet, "set-usage", {"license": "network-advantage", "devices": ["nope"]}, status=400)
    assert err["ietf-restconf:errors"]["error"][0]["error-message"] == "device 'nope': no such device in this fleet"
    rpc(slpemu_fleet, "frobnicate", status=404)
    r = requests.post(f"{slpemu_fleet.management_url}/restconf/operations/slpemu-control:fleet-status",
                      data=b"{not json", timeout=30)
    assert r.status_code == 400
    assert rpc(slpemu_fleet, "status")["slpemu-control:output"]["devices"] == 2


@pytest.mark.slpemu_device(platform="C8300-1N1S-6T", release="17.9.1a")
def test_slpemu_device_fixture(slpemu_device):
    dev = slpemu_device
    assert dev.pid == "C8300-1N1S-6T" and dev.release == "17.9.1a"
    assert restconf_udi(dev)["sn"] == dev.serial
    with dev.engine() as device:
        assert str(device.release) == "17.9.1a"


@pytest.mark.parametrize("slpemu_fleet", [{"count": 2, "platform_mix": "ISR4331/K9"}], indirect=True)
def test_slpemu_fleet_fixture_parametrized(slpemu_fleet):
    assert [d.pid for d in slpemu_fleet] == ["ISR4331/K9", "ISR4331/K9"]
    slpemu_fleet.set_usage("appxk9")
    slpemu_fleet.advance_clock(days=2)
    with slpemu_fleet.engine(slpemu_fleet[0].id) as device:
        assert device.report_summary().total >= 2


# ---------------------------------------------------------------------------------------------- the command
def slpemu(*args, timeout=120, **kw):
    return subprocess.run([sys.executable, "-m", "emulator.cli_main", *args], cwd=ROOT, capture_output=True,
                          text=True, timeout=timeout, env={**os.environ, "PYTHONPATH": str(ROOT)}, **kw)


@pytest.fixture
def served_fleet(tmp_path):
    """`slpemu fleet serve` from an inventory file, on port base 2x000 and a 127.77.x block."""
    inv = tmp_path / "fleet.yaml"
    inv.write_text("name: lab\naddress_start: 127.77.0.1\nmanagement_address: 127.77.0.254\n"
                   "groups:\n  - {name: edge, count: 2, platform: C8000V}\n"
                   "devices:\n  - {hostname: core-1, platform: ISR4331/K9, release: 17.9.1a}\n")
    state = tmp_path / "state"
    base = 24000 + os.getpid() % 20 * 100
    proc = subprocess.Popen([sys.executable, "-m", "emulator.cli_main", "fleet", "serve", str(inv), "--state-dir",
                             str(state), "--port-base", str(base), "--frozen-clock", "-q"], cwd=ROOT,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                            env={**os.environ, "PYTHONPATH": str(ROOT)})
    deadline = time.monotonic() + 60
    while not (state / "control.sock").exists():
        if proc.poll() is not None or time.monotonic() > deadline:
            proc.kill()
            pytest.fail(f"fleet did not start: {proc.stdout.read()}")
        time.sleep(0.1)
    try:
        yield state, base, inv
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(30)
        except subprocess.TimeoutExpired:
            proc.kill()


def test_fleet_commands_against_a_served_fleet(served_fleet, tmp_path):
    state, base, inv = served_fleet
    s = ["--state-dir", str(state)]
    out = slpemu("fleet", "status", *s)
    assert out.returncode == 0 and "fleet lab: 3 devices, 0 loaded, 9 listeners" in out.stdout, out.stderr
    out = slpemu("fleet", "set-usage", "network-advantage", "--devices", "edge-0001,edge-0002", *s)
    assert out.returncode == 0 and "set-usage: 2 of 2 devices" in out.stdout, out.stderr
    out = slpemu("fleet", "advance-clock", "--days", "2", *s)
    assert out.returncode == 0 and "2 devices ran their jobs" in out.stdout, out.stderr
    out = slpemu("fleet", "list", "--json", *s)
    listed = {d["hostname"]: d for d in json.loads(out.stdout)}
    assert listed["edge-0001"]["licenses-in-use"] == 1 and listed["core-1"]["release"] == "17.9.1a"
    out = slpemu("fleet", "add", "--hostname", "late-1", "--platform", "C8200-1N-4T", *s)
    assert out.returncode == 0 and re.search(r"added late-1 C8200-1N-4T FGL\w{8} at 127\.77\.0\.4", out.stdout), out
    out = slpemu("fleet", "faults", "inject", "--count", "1", "--devices", "late-1", *s)
    assert "faults inject: 1 of 1 devices" in out.stdout
    out = slpemu("fleet", "reload", "--devices", "core-1", *s)
    assert "reloaded: 1 of 1 devices" in out.stdout
    out = slpemu("fleet", "remove", "late-1", *s)
    assert "removed late-1 (127.77.0.4)" in out.stdout
    out = slpemu("fleet", "set-usage", "network-advantage", "--devices", "core-1", *s)
    assert out.returncode == 1 and "core-1: % Unknown license 'network-advantage' on ISR4331/K9" in out.stderr
    out = slpemu("fleet", "add", "--hostname", "bad", "--platform", "NOPE", *s)
    assert out.returncode == 1 and out.stderr.strip().startswith("Error: add (bad): unknown platform profile 'NOPE'")
    out = slpemu("fleet", "inventory", "--format", "json", *s)
    assert [d["hostname"] for d in json.loads(out.stdout)["device"]] == ["core-1", "edge-0001", "edge-0002"]
    # the inventory file gives the same endpoints without a running fleet
    offline = slpemu("fleet", "inventory", "--format", "json", "--from-inventory", str(inv), "--port-base", str(base))
    assert [(d["address"], d["ports"], d["sn"]) for d in json.loads(offline.stdout)["device"]] == \
        [(d["address"], d["ports"], d["sn"]) for d in json.loads(out.stdout)["device"]]


@pytest.mark.parametrize("text, message", [
    ("devices:\n  - {hostname: a, address: 127.78.0.1}\n  - {hostname: b, address: 127.78.0.1}\n",
     "devices[1] (b): address 127.78.0.1 port 25022 is already used by devices[0] (a)"),
    ("groups:\n  - {name: edge, count: 3, platform: C9999X}\n", "groups[0] (edge) device 1: unknown platform"),
    ("devices:\n  - {hostname: a, platform: C8000V\n  - hostname: b\n", "malformed YAML"),
])
def test_bad_inventory_one_error_line_and_nothing_starts(tmp_path, text, message):
    inv = tmp_path / "bad.yaml"
    inv.write_text(text)
    out = slpemu("fleet", "serve", str(inv), "--state-dir", str(tmp_path / "state"), "--port-base", "25000",
                 "--management-address", "127.78.0.254", "-q")
    lines = [ln for ln in (out.stdout + out.stderr).splitlines() if ln.strip()]
    assert out.returncode == 1 and len(lines) == 1 and message in lines[0], lines
    assert not (tmp_path / "state" / "slpemu.db").exists()
    for port in (25022, 25830, 25443):
        with pytest.raises(OSError):
            socket.create_connection(("127.78.0.1", port), timeout=1).close()


def test_an_address_in_use_stops_the_start_before_anything_serves(tmp_path):
    blocker = socket.socket()
    blocker.bind(("127.79.0.2", 26830))
    blocker.listen(1)
    try:
        out = slpemu("fleet", "serve", "--count", "3", "--address-start", "127.79.0.1", "--port-base", "26000",
                     "--management-address", "127.79.0.254", "--state-dir", str(tmp_path / "s"), "-q")
        lines = [ln for ln in (out.stdout + out.stderr).splitlines() if ln.strip()]
        assert out.returncode == 1 and len(lines) == 1
        assert "device rtr-0002: cannot listen on 127.79.0.2 port 26830" in lines[0]
        with pytest.raises(OSError):
            socket.create_connection(("127.79.0.1", 26022), timeout=1).close()
    finally:
        blocker.close()
