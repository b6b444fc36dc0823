"""NETCONF (ncclient over SSH) and RESTCONF (requests over HTTPS) set, replace and delete `license boot level`
(native/license/boot/level of Cisco-IOS-XE-license) as the CLI command does, through the engine's one write
path: the CLI sees it in `show running-config`, and in `show version` after save-config (`write memory`)
and a reload. A level or addon the platform does not offer, and two levels at once, are refused with the
protocol's error and change nothing. Platforms: a C8000V (network-essentials / network-advantage /
network-premier with dna-* addons; network-premier and dna-premier are CLI-only, the model lacks them) and
an ISR4331 (appxk9, uck9, securityk9; no addons)."""

import pytest
from lxml import etree
from ncclient.operations import RPCError

from emulator.frontends.netconf import NetconfService
from emulator.frontends.restconf import start_restconf
from test_cli_support import router_factory  # noqa: F401  (fixture)
from tests.integration.test_netconf_ncclient import connect, data_of
from tests.integration.test_restconf_api import XML, Client, errors_of

pytestmark = pytest.mark.filterwarnings("ignore::urllib3.exceptions.InsecureRequestWarning")

NC = "urn:ietf:params:xml:ns:netconf:base:1.0"
NATIVE_NS = "http://cisco.com/ns/yang/Cisco-IOS-XE-native"
CTL = "urn:slpemu:control"
N = f"{{{NATIVE_NS}}}"
LEVEL_URL = "/restconf/data/Cisco-IOS-XE-native:native/license/boot/level"
LEVEL_PATH = "/Cisco-IOS-XE-native:native/license/boot/level"
NC_LEVEL_PATH = ("/Cisco-IOS-XE-native:native/Cisco-IOS-XE-native:license/Cisco-IOS-XE-native:boot"
                 "/Cisco-IOS-XE-native:level")
BOOT_FILTER = f'<native xmlns="{NATIVE_NS}"><license><boot/></license></native>'


class Stack:
    """One device with its CLI (SSH), NETCONF (SSH) and RESTCONF (HTTPS) servers."""

    def __init__(self, router, tmp_path):
        self.router = router
        self.device = router.device
        self.netconf = NetconfService(self.device, "127.0.0.1", 0, tmp_path / "nc").start()
        self.rest = start_restconf(self.device, host="127.0.0.1", port=0, state_dir=tmp_path / "rc")
        self.rc = Client(self.rest.https.url)

    def stop(self):
        self.rc.s.close()
        self.rest.stop()
        self.netconf.stop()

    def running_boot_lines(self) -> list[str]:
        return [line for line in self.router.exec("show running-config").splitlines()
                if line.startswith("license boot level")]

    def version_lines(self) -> list[str]:
        return [line for line in self.router.exec("show version").splitlines()
                if "icense Level" in line or "icense level" in line]

    def configured(self):
        return self.device.configured_boot_level()


@pytest.fixture
def stack(router_factory, tmp_path):  # noqa: F811
    made = []

    def make(platform):
        s = Stack(router_factory(platform=platform), tmp_path / f"s{len(made)}")
        made.append(s)
        return s
    yield make
    for s in made:
        s.stop()


def nc_level(inner: str, op: str | None = None) -> str:
    attr = f' xmlns:nc="{NC}" nc:operation="{op}"' if op else ""
    return (f'<config xmlns="{NC}"><native xmlns="{NATIVE_NS}"><license><boot><level{attr}>{inner}</level>'
            "</boot></license></native></config>")


def nc_boot_level(m) -> list:
    """The cases under native/license/boot/level in <get-config>: [(name, addon or None), ...]."""
    data = data_of(m.get_config("running", filter=("subtree", BOOT_FILTER)))
    level = data.find(f"{N}native/{N}license/{N}boot/{N}level")
    if level is None:
        return []
    return [(etree.QName(c).localname, c.findtext(f"{N}addon")) for c in level]


# ============================================================================================ NETCONF

def test_netconf_edit_config_sets_the_boot_level_on_a_c8000v(stack):
    s = stack("C8000V")
    with connect(s.netconf) as m:
        assert nc_boot_level(m) == [("network-advantage", "dna-advantage")]          # the default, as configured
        m.edit_config(target="running", config=nc_level(
            "<network-essentials><addon>dna-essentials</addon></network-essentials>"))
        assert s.configured() == ("network-essentials", "dna-essentials")
        assert nc_boot_level(m) == [("network-essentials", "dna-essentials")]
        assert s.running_boot_lines() == ["license boot level network-essentials addon dna-essentials"]
        # nothing saved yet: the next reload boots as before
        assert s.version_lines() == ["License Level: network-advantage",
                                     "Next reload license Level: network-advantage",
                                     "Addon License Level: dna-advantage",
                                     "Next reload addon license Level: dna-advantage"]
        assert "successful" in m.save_config().xml                                  # write memory
        assert s.version_lines() == ["License Level: network-advantage",
                                     "Next reload license Level: network-essentials",
                                     "Addon License Level: dna-advantage",
                                     "Next reload addon license Level: dna-essentials"]
        m.dispatch(etree.fromstring(f'<reload xmlns="{CTL}"/>'))
        assert s.version_lines() == ["License Level: network-essentials",
                                     "Next reload license Level: network-essentials",
                                     "Addon License Level: dna-essentials",
                                     "Next reload addon license Level: dna-essentials"]
        assert sorted(u.entitlement.name for u in s.device.usage()) == ["dna-essentials_250M",
                                                                          "network-essentials_250M"]
        # replace: the level alone, without its addon
        m.edit_config(target="running", config=nc_level("<network-advantage/>", op="replace"))
        assert s.configured() == ("network-advantage", None)
        assert nc_boot_level(m) == [("network-advantage", None)]
        assert s.running_boot_lines() == ["license boot level network-advantage"]
        # delete: `no license boot level`, back to the platform's default
        m.edit_config(target="running", config=nc_level("", op="delete"))
        assert s.configured() == (None, None)
        assert nc_boot_level(m) == [("network-advantage", "dna-advantage")]
        assert s.running_boot_lines() == ["license boot level network-advantage addon dna-advantage"]


@pytest.mark.parametrize("inner,tag,error_type,path,message", [
    # levels of the model the profile does not offer: the engine's refusal, the CLI's message
    ("<appxk9/>", "invalid-value", "application", "/Cisco-IOS-XE-native:appxk9", "Unknown boot level 'appxk9'"),
    ("<ipbasek9><addon>dna-essentials</addon></ipbasek9>", "invalid-value", "application",
     "/Cisco-IOS-XE-native:ipbasek9", "Unknown boot level 'ipbasek9'"),
    # an addon the level's enumeration lacks: the model's typing
    ("<network-essentials><addon>dna-advantage</addon></network-essentials>", "invalid-value", "protocol",
     "/Cisco-IOS-XE-native:network-essentials/Cisco-IOS-XE-native:addon", None),
    # two levels at once
    ("<network-essentials/><network-advantage/>", "bad-element", "protocol",
     "/Cisco-IOS-XE-native:network-advantage", None),
])
def test_netconf_refusals_on_a_c8000v(stack, inner, tag, error_type, path, message):
    s = stack("C8000V")
    s.device.set_boot_level("network-essentials", "dna-essentials")
    with connect(s.netconf) as m:
        with pytest.raises(RPCError) as info:
            m.edit_config(target="running", config=nc_level(inner))
        err = info.value
        assert (err.tag, err.type, err.path) == (tag, error_type, NC_LEVEL_PATH + path), err.xml
        if message:
            assert err.message == message
        assert nc_boot_level(m) == [("network-essentials", "dna-essentials")]
    assert s.configured() == ("network-essentials", "dna-essentials")
    assert s.running_boot_lines() == ["license boot level network-essentials addon dna-essentials"]


def test_netconf_on_an_isr4331_and_test_only_and_lock(stack):
    s = stack("ISR4331")
    with connect(s.netconf) as m:
        assert nc_boot_level(m) == [] and s.running_boot_lines() == []               # no default level
        with pytest.raises(RPCError) as info:                                        # a C8000V level
            m.edit_config(target="running", config=nc_level("<network-advantage/>"))
        assert (info.value.tag, info.value.path) == ("invalid-value",
                                                     NC_LEVEL_PATH + "/Cisco-IOS-XE-native:network-advantage")
        assert info.value.message == "Unknown boot level 'network-advantage'"
        m.edit_config(target="running", config=nc_level("<securityk9/>"), test_option="test-only")
        assert s.configured() == (None, None) and nc_boot_level(m) == []
        m.edit_config(target="running", config=nc_level("<securityk9/>"))
        assert nc_boot_level(m) == [("securityk9", None)]
        assert s.running_boot_lines() == ["license boot level securityk9"]
        m.lock("running")
        put = s.rc.request("PUT", LEVEL_URL, body={"Cisco-IOS-XE-native:level": {"uck9": {}}})
        assert put.status_code == 409 and errors_of(put)[0]["error-tag"] == "in-use"
        m.edit_config(target="running", config=nc_level("<uck9/>"))                 # the holder writes
        m.unlock("running")
        assert s.running_boot_lines() == ["license boot level uck9"]
        m.edit_config(target="running", config=nc_level("<uck9/>", op="delete"))
        assert nc_boot_level(m) == [] and s.running_boot_lines() == []


# ============================================================================================ RESTCONF

def test_restconf_patch_get_put_delete_on_a_c8000v(stack):
    s = stack("C8000V")
    rc = s.rc
    assert rc.get(LEVEL_URL).json() == {"Cisco-IOS-XE-native:level": {
        "network-advantage": {"addon": "dna-advantage"}}}
    resp = rc.request("PATCH", "/restconf/data/Cisco-IOS-XE-native:native", body={"Cisco-IOS-XE-native:native": {
        "license": {"boot": {"level": {"network-essentials": {"addon": "dna-essentials"}}}}}})
    assert resp.status_code == 204, resp.text
    assert s.configured() == ("network-essentials", "dna-essentials")
    assert rc.get(LEVEL_URL).json() == {"Cisco-IOS-XE-native:level": {
        "network-essentials": {"addon": "dna-essentials"}}}
    xml = etree.fromstring(rc.get(LEVEL_URL, accept=XML).content)
    assert [etree.QName(c).localname for c in xml] == ["network-essentials"]
    assert xml.findtext(f"{N}network-essentials/{N}addon") == "dna-essentials"
    assert s.running_boot_lines() == ["license boot level network-essentials addon dna-essentials"]
    # PUT replaces the choice: the level without an addon, as an empty presence container
    resp = rc.request("PUT", LEVEL_URL, body={"Cisco-IOS-XE-native:level": {"network-advantage": {}}})
    assert resp.status_code == 204, resp.text
    assert rc.get(LEVEL_URL).json() == {"Cisco-IOS-XE-native:level": {"network-advantage": {}}}
    assert rc.get(f"{LEVEL_URL}/network-advantage").json() == {"Cisco-IOS-XE-native:network-advantage": {}}
    assert s.running_boot_lines() == ["license boot level network-advantage"]
    # the addon alone (created: 201)
    resp = rc.request("PUT", f"{LEVEL_URL}/network-advantage/addon",
                      body={"Cisco-IOS-XE-native:addon": "dna-advantage"})
    assert resp.status_code == 201, resp.text
    assert s.configured() == ("network-advantage", "dna-advantage")
    # DELETE: `no license boot level`
    assert rc.request("DELETE", LEVEL_URL).status_code == 204
    assert s.configured() == (None, None)
    assert rc.get(LEVEL_URL).json() == {"Cisco-IOS-XE-native:level": {
        "network-advantage": {"addon": "dna-advantage"}}}
    assert s.running_boot_lines() == ["license boot level network-advantage addon dna-advantage"]


@pytest.mark.parametrize("method,url,body,tag,path", [
    ("PATCH", "/restconf/data/Cisco-IOS-XE-native:native",
     {"Cisco-IOS-XE-native:native": {"license": {"boot": {"level": {"appxk9": [None]}}}}},
     "invalid-value", f"{LEVEL_PATH}/appxk9"),
    ("PUT", LEVEL_URL, {"Cisco-IOS-XE-native:level": {"uck9": {}}}, "invalid-value", f"{LEVEL_PATH}/uck9"),
    ("PUT", LEVEL_URL, {"Cisco-IOS-XE-native:level": {"network-essentials": {"addon": "dna-advantage"}}},
     "invalid-value", f"{LEVEL_PATH}/network-essentials/addon"),
    ("PUT", LEVEL_URL, {"Cisco-IOS-XE-native:level": {"network-essentials": {}, "network-advantage": {}}},
     "bad-element", f"{LEVEL_PATH}/network-advantage"),
])
def test_restconf_refusals_on_a_c8000v(stack, method, url, body, tag, path):
    s = stack("C8000V")
    s.device.set_boot_level("network-essentials", "dna-essentials")
    resp = s.rc.request(method, url, body=body)
    assert resp.status_code == 400, resp.text
    [err] = errors_of(resp)
    assert (err["error-tag"], err["error-path"]) == (tag, path), err
    assert s.configured() == ("network-essentials", "dna-essentials")
    assert s.rc.get(LEVEL_URL).json() == {"Cisco-IOS-XE-native:level": {
        "network-essentials": {"addon": "dna-essentials"}}}


def test_restconf_on_an_isr4331(stack):
    s = stack("ISR4331")
    rc = s.rc
    assert rc.get(LEVEL_URL).status_code == 404                                     # no level, no default
    # PATCH of a resource that does not exist is a 404 (RFC 8040 §4.6.1): through its parent
    assert rc.request("PATCH", LEVEL_URL, body={"Cisco-IOS-XE-native:level": {"appxk9": [None]}}).status_code == 404
    resp = rc.request("PATCH", "/restconf/data/Cisco-IOS-XE-native:native", body={
        "Cisco-IOS-XE-native:native": {"license": {"boot": {"level": {"network-essentials": {}}}}}})
    assert resp.status_code == 400
    [err] = errors_of(resp)
    assert (err["error-tag"], err["error-path"], err["error-message"]) == (
        "invalid-value", f"{LEVEL_PATH}/network-essentials", "Unknown boot level 'network-essentials'")
    assert s.configured() == (None, None)
    resp = rc.request("PUT", LEVEL_URL, body={"Cisco-IOS-XE-native:level": {"appxk9": [None]}})
    assert resp.status_code == 201, resp.text
    assert rc.get(LEVEL_URL).json() == {"Cisco-IOS-XE-native:level": {"appxk9": [None]}}
    assert s.running_boot_lines() == ["license boot level appxk9"]
    assert rc.request("POST", "/restconf/operations/cisco-ia:save-config").status_code == 200
    assert rc.request("POST", "/restconf/operations/slpemu-control:reload").status_code == 200
    assert "Technology Package License Information:" not in s.router.exec("show version")
    assert s.version_lines() == ["License Level: appxk9", "Next reload license Level: appxk9"]
    assert rc.request("DELETE", LEVEL_URL).status_code == 204
    assert rc.get(LEVEL_URL).status_code == 404 and s.running_boot_lines() == []
    assert rc.request("DELETE", LEVEL_URL).status_code == 404                       # nothing left to delete
