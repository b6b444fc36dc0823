"""Fleets driven by the tools controller teams use: three shard processes (the StatefulSet's pods, here on
loopback address ranges) merged into one inventory and driven through it; a pyATS testbed loaded with
`load()` and two devices connected with unicon; the fleet page in headless Chromium; the README's fleet
section at a small size."""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest
import requests
import urllib3

from emulator.pytest_plugin import slpemu_fleet  # noqa: F401

urllib3.disable_warnings()
ROOT = Path(__file__).resolve().parents[2]
ENV = {**os.environ, "PYTHONPATH": str(ROOT)}


def slpemu(*args, timeout=120):
    return subprocess.run([sys.executable, "-m", "emulator.cli_main", *args], cwd=ROOT, capture_output=True,
                          text=True, timeout=timeout, env=ENV)


class Shard:
    """`slpemu fleet serve deploy/k8s/inventory.yaml` as a StatefulSet pod runs it, on a loopback address."""

    def __init__(self, tmp: Path, name: str, address: str, port_start: int):
        self.name, self.address, self.state = name, address, tmp / name
        self.management = f"http://{address}:{port_start - 1}"
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "emulator.cli_main", "fleet", "serve", str(ROOT / "deploy/k8s/inventory.yaml"),
             "--state-dir", str(self.state), "--single-address", address, "--port-start", str(port_start),
             "--shard", name, "--frozen-clock", "--quiet"],
            cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=ENV)

    def wait(self, deadline: float) -> None:
        while not (self.state / "control.sock").exists():
            if self.proc.poll() is not None or time.monotonic() > deadline:
                self.stop()
                pytest.fail(f"shard {self.name} did not start: {self.proc.stdout.read()}")
            time.sleep(0.1)

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(30)
            except subprocess.TimeoutExpired:
                self.proc.kill()


@pytest.fixture
def three_shards(tmp_path):
    block = 80 + os.getpid() % 40
    shards = [Shard(tmp_path, f"slpemu-{i}", f"127.{block}.0.{i + 1}", 31000 + 100 * i) for i in range(3)]
    try:
        for shard in shards:
            shard.wait(time.monotonic() + 60)
        yield shards
    finally:
        for shard in shards:
            shard.stop()


def test_three_shards_through_one_merged_inventory(three_shards, tmp_path):
    urls = ",".join(s.management for s in three_shards)
    out = slpemu("fleet", "inventory", "--format", "json", "--shards", urls)
    assert out.returncode == 0, out.stderr
    merged = json.loads(out.stdout)["device"]
    assert len(merged) == 30 and {d["shard"] for d in merged} == {"slpemu-0", "slpemu-1", "slpemu-2"}
    assert len({d["sn"] for d in merged}) == 30 and len({(d["address"], d["ports"]["https"]) for d in merged}) == 30
    # drive every device through the merged inventory: each answers as itself
    for d in merged:
        r = requests.get(f"https://{d['address']}:{d['ports']['https']}/restconf/data/cisco-smart-license:licensing/"
                         "state/state-info/udi", auth=(d["credentials"]["username"], d["credentials"]["password"]),
                         verify=False, timeout=30)
        assert r.json()["cisco-smart-license:udi"] == {"pid": d["pid"], "sn": d["sn"]}, d["hostname"]
    # control through each shard's management address: one licence on one device of every shard
    for shard in three_shards:
        mine = [d for d in merged if d["shard"] == shard.name and d["pid"] == "C8000V"][0]
        r = requests.post(f"{shard.management}/restconf/operations/slpemu-control:fleet-set-usage",
                          json={"slpemu-control:input": {"license": "network-advantage", "devices": [mine["id"]]}},
                          timeout=30)
        assert r.json()["slpemu-control:output"]["failed"] == 0
    pyats = slpemu("fleet", "inventory", "--format", "pyats", "--shards", urls, "--out", str(tmp_path / "tb.yaml"))
    assert pyats.returncode == 0, pyats.stderr
    from pyats.topology import loader
    testbed = loader.load(str(tmp_path / "tb.yaml"))
    assert len(testbed.devices) == 30
    # a shard restarted with the same identity and volume is the same routers
    first = three_shards[0]
    before = sorted((d["hostname"], d["sn"]) for d in merged if d["shard"] == first.name)
    first.stop()
    again = Shard(tmp_path, first.name, first.address, 31000)
    try:
        again.wait(time.monotonic() + 60)
        r = requests.post(f"{again.management}/restconf/operations/slpemu-control:fleet-list", json={}, timeout=30)
        after = sorted((d["hostname"], d["sn"]) for d in r.json()["slpemu-control:output"]["device"])
        assert after == before
        in_use = [d for d in r.json()["slpemu-control:output"]["device"] if d["licenses-in-use"]]
        assert len(in_use) == 1
    finally:
        again.stop()


@pytest.mark.slpemu_fleet(count=3, platform_mix="C8000V:2,ISR4331/K9:1")
def test_pyats_testbed_loads_and_connects_to_two_devices(slpemu_fleet, tmp_path):
    from pyats.topology import loader
    testbed = loader.load(str(slpemu_fleet.testbed(tmp_path / "testbed.yaml")))
    assert sorted(testbed.devices) == sorted(d.hostname for d in slpemu_fleet)
    for handle in slpemu_fleet.devices[1:3]:
        dev = testbed.devices[handle.hostname]
        dev.connect(log_stdout=False, learn_hostname=True, connection_timeout=60, init_exec_commands=None)
        try:
            version = dev.parse("show version")
            assert version["version"]["hostname"] == handle.hostname
            assert version["version"]["version"] == handle.release
            udi = dev.execute("show license udi")
            assert f"SN:{handle.serial}" in udi
        finally:
            dev.disconnect()


# ---------------------------------------------------------------------------------------------- fleet page
def _chromium() -> tuple[str, str]:
    browser = shutil.which("chromium") or shutil.which("chromium-browser")
    driver = shutil.which("chromedriver")
    if (not browser or not driver) and os.geteuid() == 0 and shutil.which("apt-get"):
        env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
        subprocess.run(["apt-get", "update", "-qq"], capture_output=True, timeout=600, env=env)
        subprocess.run(["apt-get", "install", "-y", "-qq", "chromium", "chromium-driver"], capture_output=True,
                       timeout=900, env=env)
        browser = shutil.which("chromium") or shutil.which("chromium-browser")
        driver = shutil.which("chromedriver")
    if not browser or not driver:
        pytest.skip("chromium and chromium-driver are not installed and cannot be installed here")
    return browser, driver


@pytest.fixture
def chrome(tmp_path):
    pytest.importorskip("selenium")
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service
    browser, driver = _chromium()
    options = webdriver.ChromeOptions()
    options.binary_location = browser
    for arg in ("--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                "--disable-component-update", "--disable-sync", "--no-first-run", "--disable-dev-shm-usage",
                f"--user-data-dir={tmp_path / ('chrome-' + uuid.uuid4().hex)}"):
        options.add_argument(arg)
    os.environ.setdefault("SE_AVOID_STATS", "true")
    drv = webdriver.Chrome(service=Service(executable_path=driver), options=options)
    drv.set_page_load_timeout(60)
    try:
        yield drv
    finally:
        drv.quit()


@pytest.mark.slpemu_fleet(count=4, platform_mix="C8000V:3,ISR4331/K9:1")
def test_fleet_page_lists_devices_and_filters_in_chromium(slpemu_fleet, chrome):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import Select
    slpemu_fleet.set_usage("network-advantage", devices=[d.id for d in slpemu_fleet if d.pid == "C8000V"][:2])
    chrome.get(slpemu_fleet.management_url + "/")
    assert chrome.title.startswith("slpemu fleet")
    rows = chrome.find_elements(By.CSS_SELECTOR, "#devices tbody tr")
    assert len(rows) == 4
    headers = [th.text for th in chrome.find_elements(By.CSS_SELECTOR, "#devices thead th")]
    assert headers == ["Hostname", "Address", "PID", "SN", "Release", "Licenses in use", "Compliance",
                       "Next ACK deadline", "Last report"]
    first = slpemu_fleet.devices[0]
    cells = [td.text for td in rows[0].find_elements(By.TAG_NAME, "td")]
    assert cells[0] == first.hostname and cells[1].startswith(first.host) and cells[2] == first.pid
    assert cells[3] == first.serial and cells[4] == first.release
    assert cells[5].startswith("network-advantage") and cells[6] == "IN COMPLIANCE"
    assert re.fullmatch(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\dZ", cells[7])
    # filter as you type: by serial, by platform; by compliance state
    box = chrome.find_element(By.ID, "filter")
    box.send_keys(slpemu_fleet.devices[2].serial)
    visible = [r for r in chrome.find_elements(By.CSS_SELECTOR, "#devices tbody tr") if r.is_displayed()]
    assert [r.get_attribute("data-id") for r in visible] == [slpemu_fleet.devices[2].id]
    assert chrome.find_element(By.ID, "shown").text == "1"
    box.clear()
    box.send_keys("isr4331")
    visible = [r for r in chrome.find_elements(By.CSS_SELECTOR, "#devices tbody tr") if r.is_displayed()]
    assert [r.get_attribute("data-id") for r in visible] == [d.id for d in slpemu_fleet if d.pid == "ISR4331/K9"]
    box.clear()
    box.send_keys(" ")
    Select(chrome.find_element(By.ID, "compliance")).select_by_value("IN COMPLIANCE")
    assert chrome.find_element(By.ID, "shown").text == "2"
    # ?q= preselects a filter
    chrome.get(slpemu_fleet.management_url + "/?q=" + slpemu_fleet.devices[1].hostname)
    assert chrome.find_element(By.ID, "shown").text == "1"


# ---------------------------------------------------------------------------------------------- README
def readme_fleet_blocks() -> list[str]:
    text = (ROOT / "README.md").read_text()
    section = text.split("## Fleets", 1)[1].split("\n## ", 1)[0]
    return re.findall(r"```sh\n(.*?)```", section, re.S)


def test_readme_fleet_section_runs_at_a_small_size(tmp_path):
    """The README's commands, with 1,000 devices made 4, standard ports made a port base, and the
    addresses moved to a block of their own."""
    blocks = readme_fleet_blocks()
    assert len(blocks) >= 2
    block = 120 + os.getpid() % 40
    base = 27000 + os.getpid() % 20 * 100

    def adapt(cmd: str) -> str:
        cmd = cmd.replace(".venv/bin/python", sys.executable)
        cmd = cmd.replace("--count 1000", "--count 4").replace(".venv/bin/slpemu", f"{sys.executable} -m emulator.cli_main")
        cmd = cmd.replace("fleet serve", f"fleet serve --port-base {base} --address-start 127.{block}.0.1 "
                                         f"--management-address 127.{block}.255.254 --quiet")
        cmd = re.sub(r"https://127\.1\.0\.(\d+)/", lambda m: f"https://127.{block}.0.{m[1]}:{base + 443}/", cmd)
        cmd = cmd.replace("http://127.1.255.254/", f"http://127.{block}.255.254:{base + 80}/")
        return cmd

    serve_lines = [ln for b in blocks for ln in b.splitlines() if "fleet serve" in ln]
    assert serve_lines and "--count 1000" in serve_lines[0]
    server = subprocess.Popen(adapt(serve_lines[0]).rstrip("&").strip(), shell=True, cwd=tmp_path, env=ENV,
                              stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, start_new_session=True)
    try:
        deadline = time.monotonic() + 60
        while not (tmp_path / "slpemu-fleet" / "control.sock").exists():
            if server.poll() is not None or time.monotonic() > deadline:
                pytest.fail(f"README fleet serve did not start: {server.stdout.read()}")
            time.sleep(0.1)
        outputs = {}
        for b in blocks:
            for line in b.splitlines():
                line = line.split("  #")[0].strip()
                if not line or line.startswith("#") or "fleet serve" in line:
                    continue
                out = subprocess.run(adapt(line), shell=True, cwd=tmp_path, env=ENV, capture_output=True, text=True,
                                     timeout=180)
                assert out.returncode == 0, f"{line}\n{out.stdout}\n{out.stderr}"
                outputs[line] = out.stdout
        assert (tmp_path / "testbed.yaml").exists()
        texts = "\n".join(outputs.values())
        assert "UDI: PID:ISR4331/K9" in texts                       # rtr-0002 over unicon/SSH
        assert '"cisco-smart-license:udi"' in texts                 # rtr-0001 over RESTCONF
        assert "set-usage: 2 of 2 devices" in texts
        assert '"devices": 4' in texts
    finally:
        if server.poll() is None:
            os.killpg(server.pid, signal.SIGTERM)
            try:
                server.wait(30)
            except subprocess.TimeoutExpired:
                os.killpg(server.pid, signal.SIGKILL)
