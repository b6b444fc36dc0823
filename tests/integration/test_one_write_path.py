"""Issue 9: one configuration write path. A NETCONF <lock> on running, taken over a real NETCONF session,
excludes every other writer: RESTCONF answers 409 in-use (RFC 8040 §7) and the CLI refuses configuration
commands; nothing changes; after <unlock> the same writes go through. Running-config and the native model
agree line for line on the transport, so configuring it twice changes nothing the second time."""

import pytest
from lxml import etree

from emulator.frontends.cli import CliServer
from emulator.frontends.netconf import NetconfService
from emulator.frontends.restconf import start_restconf
from tests.integration.test_cli_support import Shell
from tests.integration.test_restconf_api import Client, errors_of

ncclient = pytest.importorskip("ncclient.manager")
NATIVE = "/restconf/data/Cisco-IOS-XE-native:native"
NATIVE_NS = "http://cisco.com/ns/yang/Cisco-IOS-XE-native"


@pytest.fixture
def stack(make_device, tmp_path):
    dev = make_device()
    dev.set_user("admin", "admin", 15)
    rest = start_restconf(dev, host="127.0.0.1", port=0, state_dir=tmp_path / "rc")
    netconf = NetconfService(dev, "127.0.0.1", 0, tmp_path / "nc").start()
    cli = CliServer(dev, host="127.0.0.1", port=0, state_dir=tmp_path / "cli").start()
    client = Client(rest.https.url)
    try:
        yield dev, client, netconf, cli
    finally:
        client.s.close()
        cli.stop()
        netconf.stop()
        rest.stop()


def _netconf(netconf):
    return ncclient.connect(host="127.0.0.1", port=netconf.port, username="admin", password="admin",
                            hostkey_verify=False, look_for_keys=False, allow_agent=False, timeout=10)


def test_netconf_lock_excludes_restconf_and_cli_writers(stack):
    dev, rc, netconf, cli = stack
    shell = Shell(cli.port)
    try:
        with _netconf(netconf) as m:
            m.lock("running")
            before = rc.get(NATIVE).json()
            put = rc.request("PUT", f"{NATIVE}/hostname", body={"Cisco-IOS-XE-native:hostname": "taken"})
            assert put.status_code == 409
            [err] = errors_of(put)
            assert (err["error-type"], err["error-tag"]) == ("protocol", "in-use")
            patch = rc.request("PATCH", "/restconf/data/cisco-smart-license:licensing/config",
                               body={"cisco-smart-license:config": {"custom-id": "taken"}})
            assert patch.status_code == 409 and errors_of(patch)[0]["error-tag"] == "in-use"
            # the CLI cannot enter configuration mode, and a write through `do`-less paths is refused too
            assert shell.run("configure terminal").startswith("% Configuration mode is locked by netconf:")
            assert rc.get(NATIVE).json() == before and dev.hostname == "Router" and dev.config.custom_id is None
            # the lock holder itself writes
            m.edit_config(target="running", config=f'<config xmlns="urn:ietf:params:xml:ns:netconf:base:1.0">'
                                                   f'<native xmlns="{NATIVE_NS}"><hostname>holder</hostname>'
                                                   "</native></config>")
            assert dev.hostname == "holder"
            m.unlock("running")
        put = rc.request("PUT", f"{NATIVE}/hostname", body={"Cisco-IOS-XE-native:hostname": "free"})
        assert put.status_code == 204 and dev.hostname == "free"
    finally:
        shell.close()


def test_transport_line_agrees_between_running_config_and_native_model(stack):
    """`license smart transport cslu` (the default value, configured explicitly) shows in running-config and
    in the native model; applying it again is no change (Ansible's ios_config stays idempotent)."""
    dev, rc, netconf, cli = stack
    shell = Shell(cli.port)
    try:
        assert "license smart transport" not in shell.run("show running-config | include license smart")
        assert "transport-type" not in rc.get(f"{NATIVE}/license/smart").text
        shell.run("configure terminal")
        assert shell.run("license smart transport cslu") == ""
        shell.run("end")
        assert shell.run("show running-config | include license smart") == "license smart transport cslu\n"
        assert rc.get(f"{NATIVE}/license/smart/transport-type").json() == {
            "Cisco-IOS-XE-native:transport-type": "cslu"}
        revision = dev.snapshot().revision
        shell.run("configure terminal")
        assert shell.run("license smart transport cslu") == ""
        shell.run("end")
        assert [e.name for e in dev.events() if e.name == "CONFIG_PERSISTED"] == ["CONFIG_PERSISTED"]
        assert dev.snapshot().revision == revision + 1        # committed, but the configuration is the same
        with _netconf(netconf) as m:
            native = etree.fromstring(m.get_config("running").xml.encode()).find(f".//{{{NATIVE_NS}}}native")
            assert native.findtext(f"{{{NATIVE_NS}}}license/{{{NATIVE_NS}}}smart/{{{NATIVE_NS}}}transport-type") \
                == "cslu"
    finally:
        shell.close()


def test_url_default_reads_back_as_default(stack):
    dev, rc, netconf, cli = stack
    body = {"Cisco-IOS-XE-native:smart": {"transport-type": "smart", "url": {"default": [None]}}}
    assert rc.request("PUT", f"{NATIVE}/license/smart", body=body).status_code == 201      # created
    assert rc.get(f"{NATIVE}/license/smart").json() == body
    assert dev.smart_url == "https://smartreceiver.cisco.com/licservice/license" and dev.cslu_url is None
    shell = Shell(cli.port)
    try:
        lines = shell.run("show running-config | include license smart").splitlines()
        assert lines == ["license smart transport smart", "license smart url default"]
    finally:
        shell.close()
