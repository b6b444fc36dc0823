"""`license boot level` per platform as Cisco's published models have it (docs/yang-modules.md, "Boot levels").

Cisco-IOS-XE-license of IOS XE 17.3 to 17.15 (the releases the emulator serves are 17.3 to 17.12) has no
`advantage` or `essentials` level on any platform, ISR 1000 included: neither a when, an if-feature nor a
deviation adds them (they first appear, for every platform alike, in revision 2024-07-10 of 17.17.1). So the
ISR 1000's CLI does not offer them, and a NETCONF or RESTCONF edit naming them is refused on every platform
with the protocol's error, the configuration unchanged."""

import pytest

from emulator.frontends.netconf.server import NetconfServer
from emulator.frontends.restconf import start_restconf
from test_cli_support import router_factory  # noqa: F401  (fixture)
from tests.integration.test_restconf_api import Client, errors_of
from tests.unit.test_netconf_session import NATIVE, Client as NetconfClient, edit

pytestmark = pytest.mark.filterwarnings("ignore::urllib3.exceptions.InsecureRequestWarning")

PLATFORMS = ["C1111-8P", "C8000V", "ISR4331"]


def test_isr1000_cli_offers_its_technology_packages_and_not_advantage(router_factory):  # noqa: F811
    r = router_factory(platform="C1111-8P", release="17.12.1a")
    sh = r.shell(quiet=True)
    sh.run("configure terminal")
    help_text = sh.raw("license boot level ?").replace("\r\n", "\n")
    offered = [line.split()[0] for line in help_text.split("\n")[1:] if line.startswith("  ")]
    assert offered == ["appxk9", "FoundationSuiteK9", "securityk9", "uck9"]
    sh.send("\x15")
    for level in ("advantage", "essentials"):
        out = sh.run(f"license boot level {level}")
        assert out == " " * len("Router(config)#license boot level ") + "^\n% Invalid input detected at '^' marker.\n"
    sh.run("end")
    assert r.device.boot_level() == (None, None)
    assert "license boot level" not in sh.run("show running-config")


@pytest.mark.parametrize("platform", PLATFORMS)
@pytest.mark.parametrize("level", ["advantage", "essentials"])
def test_netconf_edit_of_advantage_or_essentials_is_an_rpc_error(make_device, platform, level):
    dev = make_device(platform=platform, release="17.12.1a")
    dev.set_user("admin", "admin", 15)
    server = NetconfServer(dev)
    try:
        before = (dev.config, dev.boot_level())
        err = NetconfClient(server).error(edit(f'<native xmlns="{NATIVE}"><license><boot><level><{level}/>'
                                               "</level></boot></license></native>"), "unknown-element")
        assert err.findtext("{urn:ietf:params:xml:ns:netconf:base:1.0}error-type") == "application"
        assert (dev.config, dev.boot_level()) == before
    finally:
        server.close()


@pytest.mark.parametrize("platform", PLATFORMS)
def test_restconf_edit_of_advantage_is_a_400(make_device, tmp_path, platform):
    dev = make_device(platform=platform, release="17.12.1a")
    dev.set_user("admin", "admin", 15)
    servers = start_restconf(dev, host="127.0.0.1", port=0, state_dir=tmp_path / "state", http_port=0)
    rc = Client(servers.https.url)
    try:
        before = (dev.config, dev.boot_level())
        for method, path, body in (
                ("PATCH", "/restconf/data/Cisco-IOS-XE-native:native",
                 {"Cisco-IOS-XE-native:native": {"license": {"boot": {"level": {"advantage": [None]}}}}}),
                ("PUT", "/restconf/data/Cisco-IOS-XE-native:native/license/boot/level",
                 {"Cisco-IOS-XE-native:level": {"essentials": [None]}})):
            resp = rc.request(method, path, body=body)
            assert resp.status_code == 400, resp.text
            assert errors_of(resp)[0]["error-tag"] == "unknown-element"
        # not a resource of the model either: RFC 8040's 404 for an unknown target
        assert rc.get("/restconf/data/Cisco-IOS-XE-native:native/license/boot/level/advantage").status_code == 404
        assert (dev.config, dev.boot_level()) == before
    finally:
        rc.s.close()
        servers.stop()
