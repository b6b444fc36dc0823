"""Fleet inventories: quick-start mixes, serials in the platforms' real shapes, addressing, the one-line
errors naming the entry, and the inventories written for the tools that drive fleets."""

from __future__ import annotations

import csv
import io
import json
import re
import shutil
import subprocess
import sys
from collections import Counter
from pathlib import Path

import pytest
import yaml

from emulator.fleet.export import (CATALYST_CENTER_COLUMNS, NETBOX_COLUMNS, ExportError, merge_shards, plan_devices,
                                   render_inventory)
from emulator.fleet.inventory import InventoryError, load_inventory, quick_plan


def test_quick_plan_spreads_the_mixes_and_interleaves_them():
    plan = quick_plan(100, "C8000V:60,ISR4331/K9:30,C8300-1N1S-6T:10", "17.12.1a:50,17.9.1a:30,17.6.1a:20")
    assert Counter(d.platform for d in plan.devices) == {"C8000V": 60, "ISR4331/K9": 30, "C8300-1N1S-6T": 10}
    assert Counter(d.release for d in plan.devices) == {"17.12.1a": 50, "17.9.1a": 30, "17.6.1a": 20}
    first_ten = Counter(d.platform for d in plan.devices[:10])
    assert first_ten == {"C8000V": 6, "ISR4331/K9": 3, "C8300-1N1S-6T": 1}     # any slice has the mix
    assert [d.id for d in plan.devices[:2]] == ["rtr-0001", "rtr-0002"]


def test_serials_have_the_platforms_shapes_are_unique_and_stable():
    plan = quick_plan(300, "C8000V:1,ISR4331/K9:1,C8300-1N1S-6T:1,ASR1001-X:1")
    serials = [d.serial for d in plan.devices]
    assert len(set(serials)) == len(serials)
    for d in plan.devices:
        assert len(d.serial) == 11 and d.serial.isalnum() and d.serial.isupper() or d.serial[1:].isdigit()
        if d.platform == "C8000V":
            assert d.serial.startswith("9")
        else:
            prefix = {"ISR4331/K9": "FDO", "C8300-1N1S-6T": "FDO", "ASR1001-X": "NWG"}[d.platform]
            assert re.fullmatch(prefix + r"(1[7-9]|2[0-4])(0[1-9]|[1-4]\d|5[0-2])[A-Z0-9]{4}", d.serial), d.serial
    again = quick_plan(300, "C8000V:1,ISR4331/K9:1,C8300-1N1S-6T:1,ASR1001-X:1")
    assert [d.serial for d in again.devices] == serials                          # stable across restarts
    other_shard = quick_plan(300, "C8000V:1,ISR4331/K9:1,C8300-1N1S-6T:1,ASR1001-X:1", shard="1")
    assert not set(d.serial for d in other_shard.devices) & set(serials)


def test_addresses_skip_network_and_broadcast_bytes_and_ports_follow_the_base():
    plan = quick_plan(300, port_base=20000)
    addrs = [d.address for d in plan.devices]
    assert addrs[0] == "127.1.0.1" and addrs[253] == "127.1.0.254" and addrs[254] == "127.1.1.1"
    assert len(set(addrs)) == 300 and not any(a.endswith((".0", ".255")) for a in addrs)
    assert plan.devices[0].ports.as_dict() == {"ssh": 20022, "netconf": 20830, "https": 20443}
    assert (plan.management_address, plan.management_port) == ("127.1.255.254", 20080)
    standard = quick_plan(2)
    assert standard.devices[1].ports.as_dict() == {"ssh": 22, "netconf": 830, "https": 443}


def test_single_address_mode_gives_each_device_a_port_block():
    plan = quick_plan(3, addressing="single-address", address="127.0.0.1", port_start=31000)
    assert {d.address for d in plan.devices} == {"127.0.0.1"}
    assert [d.ports.as_dict() for d in plan.devices] == [
        {"ssh": 31000, "netconf": 31001, "https": 31002}, {"ssh": 31003, "netconf": 31004, "https": 31005},
        {"ssh": 31006, "netconf": 31007, "https": 31008}]
    assert (plan.management_address, plan.management_port) == ("127.0.0.1", 30999)


INVENTORY = """
name: lab
port_base: 20000
users: {netops: s3cret}
defaults: {release: 17.9.1a}
groups:
  - {name: edge, count: 3, platform: C8000V, hostname: "edge-{n:02d}"}
  - {name: branch, count: 2, platform: ISR4331/K9, release: 17.6.1a}
devices:
  - {hostname: core-1, platform: C8300-1N1S-6T, address: 127.1.0.2, serial: FDO2349A0X1, release: 17.12.1a}
"""


def test_inventory_file_groups_devices_patterns_and_explicit_addresses(tmp_path):
    path = tmp_path / "fleet.yaml"
    path.write_text(INVENTORY)
    plan = load_inventory(path)
    ids = [d.id for d in plan.devices]
    assert ids == ["edge-01", "edge-02", "edge-03", "branch-0001", "branch-0002", "core-1"]
    core = plan.devices[-1]
    assert (core.address, core.serial, core.release, core.platform) == ("127.1.0.2", "FDO2349A0X1", "17.12.1a",
                                                                        "C8300-1N1S-6T")
    # generated addresses go around the explicit one
    assert [d.address for d in plan.devices[:3]] == ["127.1.0.1", "127.1.0.3", "127.1.0.4"]
    assert plan.devices[0].release == "17.9.1a" and plan.devices[3].release == "17.6.1a"
    assert dict(plan.devices[0].users) == {"netops": "s3cret"}
    assert plan.devices[0].group == "edge"


@pytest.mark.parametrize("text, message", [
    ("devices:\n  - {hostname: a, address: 127.9.0.1}\n  - {hostname: b, address: 127.9.0.1}\n",
     r"devices\[1\] \(b\): address 127\.9\.0\.1 port 22 is already used by devices\[0\] \(a\)"),
    ("groups:\n  - {name: edge, count: 3, platform: C9999X}\n",
     r"groups\[0\] \(edge\) device 1: unknown platform profile 'C9999X'"),
    ("devices:\n  - {hostname: a, platform: C8000V\n  - hostname: b\n", r"line 3 column \d+: malformed YAML"),
    ("devices:\n  - {hostname: a}\n  - {hostname: a}\n", r"devices\[1\] \(a\): hostname a is already used by"),
    ("devices:\n  - {hostname: a, serial: FDO2349A0X1, platform: ISR4331/K9}\n"
     "  - {hostname: b, serial: FDO2349A0X1, platform: ISR4331/K9}\n", r"devices\[1\] \(b\): serial FDO2349A0X1 is already"),
    ("devices:\n  - {hostname: a, platform: C8000V, release: 17.3.2}\n",
     r"devices\[0\] \(a\): C8000V runs Smart Licensing Using Policy from 17\.4\.1, not 17\.3\.2"),
    ("devices:\n  - {hostname: a, colour: red}\n", r"devices\[0\] \(a\): unknown key 'colour'"),
    ("devices:\n  - {hostname: a, release: seventeen}\n", r"devices\[0\] \(a\): not an IOS XE release"),
    ("port_base: 70000\ndevices: [{hostname: a}]\n", r"port_base: 70000 is not a port number"),
    ("groups:\n  - {name: g, count: 2, hostname: same}\n", r"groups\[0\] \(g\): hostname 'same' has no \{n\}"),
    ("- just\n- a list\n", r"the inventory must be a mapping"),
    ("name: empty\n", r"holds no device"),
    ("devices:\n  - {hostname: a, address: 127.0.0.999}\n", r"devices\[0\] \(a\): address: '127.0.0.999' is not an IP"),
    ("devices:\n  - {hostname: 'bad name'}\n", r"devices\[0\] \(bad name\): hostname 'bad name' must be"),
])
def test_bad_inventories_fail_with_one_line_naming_the_entry(tmp_path, text, message):
    path = tmp_path / "bad.yaml"
    path.write_text(text)
    with pytest.raises(InventoryError) as err:
        load_inventory(path)
    line = str(err.value)
    assert "\n" not in line
    assert re.search(message, line), line
    assert line.startswith(str(path))


def test_bad_quick_start_options_name_the_option():
    with pytest.raises(InventoryError, match=r"--platform-mix: 'C8000V:x': the weight"):
        quick_plan(3, "C8000V:x")
    with pytest.raises(InventoryError, match=r"--count: 0 is not"):
        quick_plan(0)
    with pytest.raises(InventoryError, match=r"unknown platform profile 'NOPE'"):
        quick_plan(2, "NOPE:1")


# ---------------------------------------------------------------------------------------------- exports
@pytest.fixture
def devices():
    return plan_devices(quick_plan(4, "C8000V:1,ISR4331/K9:1", port_base=20000, name="lab"))


def test_pyats_testbed_loads_with_pyats(tmp_path, devices):
    from pyats.topology import loader
    path = tmp_path / "testbed.yaml"
    path.write_text(render_inventory(devices, "pyats", name="lab"))
    testbed = loader.load(str(path))
    assert testbed.name == "lab"
    assert sorted(testbed.devices) == sorted(d["hostname"] for d in devices)
    dev = testbed.devices[devices[1]["hostname"]]
    assert dev.os == "iosxe"
    assert str(dev.connections.cli.ip) == devices[1]["address"] and dev.connections.cli.port == 20022
    assert dev.connections.netconf.port == 20830 and dev.connections.rest.port == 20443
    assert dev.custom["serial"] == devices[1]["sn"]


def test_ansible_inventory_lists_with_ansible(tmp_path, devices):
    exe = shutil.which("ansible-inventory") or str(Path(sys.executable).with_name("ansible-inventory"))
    if not Path(exe).exists():
        pytest.skip("ansible-core is not installed (test extras)")
    path = tmp_path / "hosts.yaml"
    path.write_text(render_inventory(devices, "ansible", name="lab"))
    out = subprocess.run([exe, "-i", str(path), "--list"], capture_output=True, text=True, timeout=120,
                         env={"PATH": str(Path(exe).parent) + ":/usr/bin:/bin", "ANSIBLE_LOCAL_TEMP": str(tmp_path),
                              "HOME": str(tmp_path), "ANSIBLE_INVENTORY_ENABLED": "yaml"})
    assert out.returncode == 0, out.stderr
    listed = json.loads(out.stdout)
    hostvars = listed["_meta"]["hostvars"]
    first = devices[0]
    assert hostvars[first["hostname"]]["ansible_host"] == first["address"]
    assert hostvars[first["hostname"]]["ansible_port"] == 20022
    assert hostvars[first["hostname"]]["slpemu_netconf_port"] == 20830
    assert hostvars[first["hostname"]]["ansible_network_os"] == "cisco.ios.ios"
    assert sorted(listed["lab"]["hosts"]) == sorted(d["hostname"] for d in devices)
    assert sorted(listed["pid_isr4331_k9"]["hosts"]) == sorted(d["hostname"] for d in devices if d["pid"] == "ISR4331/K9")


def test_catalyst_center_and_netbox_csv_layouts(devices):
    rows = list(csv.DictReader(io.StringIO(render_inventory(devices, "csv"))))
    assert list(rows[0]) == CATALYST_CENTER_COLUMNS and len(rows) == 4
    assert rows[0]["Device IP / DNS Name"] == devices[0]["address"] and rows[0]["Cli Transport"] == "SSH2"
    assert rows[0]["Netconf Port"] == "20830" and rows[0]["HTTP Port"] == "20443"
    nb = list(csv.DictReader(io.StringIO(render_inventory(devices, "netbox-csv", name="lab"))))
    assert list(nb[0]) == NETBOX_COLUMNS
    assert {r["serial"] for r in nb} == {d["sn"] for d in devices}
    assert nb[0]["manufacturer"] == "Cisco" and nb[0]["site"] == "lab"


def test_json_inventory_and_shard_merge(devices):
    data = json.loads(render_inventory(devices, "json", name="lab"))
    assert [d["hostname"] for d in data["device"]] == sorted(d["hostname"] for d in devices)
    other = plan_devices(quick_plan(2, port_base=20000, address_start="127.2.0.1", shard="1"))
    merged = merge_shards([("0", devices), ("1", other)])
    assert len(merged) == 6 and {d["shard"] for d in merged} == {"0", "1"}
    assert other[0]["hostname"] == "rtr-1-0001"                  # a shard's quick-start hostnames name it
    with pytest.raises(ExportError, match=r"shard 1: hostname rtr-0001 is also in shard 0"):
        merge_shards([("0", devices), ("1", devices)])
    clash = [dict(other[0], hostname="x1", id="x1", address=devices[0]["address"])]
    with pytest.raises(ExportError, match=r"shard 1: x1 at 127\.1\.0\.1 port 20022 collides with shard 0"):
        merge_shards([("0", devices), ("1", clash)])
    with pytest.raises(ExportError, match="unknown inventory format"):
        render_inventory(devices, "xml")


def test_pyats_testbed_is_valid_yaml_with_three_connections(devices):
    tb = yaml.safe_load(render_inventory(devices, "pyats"))
    conns = tb["devices"][devices[0]["hostname"]]["connections"]
    assert set(conns) == {"defaults", "cli", "netconf", "rest"}
