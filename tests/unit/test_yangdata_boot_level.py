"""`license boot level` in the YANG data layer (native/license/boot/level, Cisco-IOS-XE-license): rendered
from the engine's boot level (the profile's default when none is configured, as running-config shows it),
and edited through the engine's one write path (`Device.configure(boot_level=...)`), the row declared once in
`engine.settings.BOOT_LEVEL`."""

import json

import pyangbind.lib.pybindJSON as pybind_json
import pytest
from lxml import etree

import bindings.cisco_ios_xe_native as native_bindings
from emulator.yangdata import DataLayer, EditNode, YangError, decode_json, decode_xml, json_member, to_xml
from emulator.yangdata import bindcheck
from emulator.yangdata.codec import xml_string

NC = "urn:ietf:params:xml:ns:netconf:base:1.0"
NATIVE = "http://cisco.com/ns/yang/Cisco-IOS-XE-native"
TOP = "Cisco-IOS-XE-native:native"
LEVEL = "/Cisco-IOS-XE-native:native/license/boot/level"


def native_edit(layer, level_xml: str, extra: str = ""):
    el = etree.fromstring(f'<native xmlns="{NATIVE}" xmlns:nc="{NC}">{extra}<license><boot><level>{level_xml}'
                          "</level></boot></license></native>")
    return decode_xml(layer.schema.top[TOP], el)


def json_edit(layer, level: dict):
    return decode_json(layer.schema.top[TOP], {"license": {"boot": {"level": level}}})[0]


def rendered_level(layer, content="all"):
    return layer.get(content)[TOP].get("license", {}).get("boot", {}).get("level")


def configured(dev):
    return dev.configured_boot_level()


# ============================================================================================ rendering

def test_c8000v_renders_the_default_level_as_running_config_shows_it(make_device):
    layer = DataLayer(make_device(platform="C8000V"))
    assert rendered_level(layer) == {"network-advantage": {"addon": "dna-advantage"}}
    assert rendered_level(layer, "config") == {"network-advantage": {"addon": "dna-advantage"}}


def test_isr4331_has_no_default_level(make_device):
    layer = DataLayer(make_device(platform="ISR4331"))
    assert rendered_level(layer) is None


def test_configured_levels_are_rendered_as_their_case(make_device):
    dev = make_device(platform="C8000V")
    layer = DataLayer(dev)
    dev.set_boot_level("network-essentials")
    assert rendered_level(layer) == {"network-essentials": {}}           # a presence container, kept empty
    assert rendered_level(layer, "config") == {"network-essentials": {}}
    node = layer.schema.top[TOP]
    xml = xml_string(to_xml(node, layer.get("config")[TOP]))
    assert "<boot><level><network-essentials/></level></boot>" in xml
    assert json_member(node, layer.get()[TOP])[TOP]["license"]["boot"] == {"level": {"network-essentials": {}}}
    isr = make_device(platform="ISR4331", device_id="isr")
    isr_layer = DataLayer(isr)
    isr.set_boot_level("appxk9")
    assert rendered_level(isr_layer) == {"appxk9": True}                 # an empty leaf of the choice
    assert json_member(node, isr_layer.get()[TOP])[TOP]["license"]["boot"] == {"level": {"appxk9": [None]}}
    isr.set_boot_level("uck9")
    assert rendered_level(isr_layer) == {"uck9": {}}


def test_what_the_model_lacks_is_not_rendered(make_device):
    """`network-premier` and the `dna-premier` addon are CLI-only (docs/yang-modules.md, "Boot levels")."""
    dev = make_device(platform="C8000V")
    layer = DataLayer(dev)
    dev.set_boot_level("network-premier", "dna-premier")
    assert rendered_level(layer) is None
    dev.set_boot_level("network-advantage", "dna-premier")
    assert rendered_level(layer) == {"network-advantage": {}}


@pytest.mark.parametrize("platform,level,addon", [("C8000V", "network-essentials", "dna-essentials"),
                                                  ("C8000V", None, None), ("ISR4331", "securityk9", None),
                                                  ("ISR4331", "uck9", None)])
def test_rendered_levels_load_into_the_bindings(make_device, platform, level, addon):
    dev = make_device(platform=platform)
    if level:
        dev.set_boot_level(level, addon)
    layer = DataLayer(dev)
    doc = json_member(layer.schema.top[TOP], layer.get()[TOP])
    loaded = pybind_json.loads_ietf(json.dumps(doc), native_bindings, "Cisco_IOS_XE_native")
    assert json.loads(pybind_json.dumps(loaded, mode="ietf")) == doc


# ============================================================================================ edits

def test_netconf_merge_sets_the_level_through_the_engine(make_device):
    dev = make_device(platform="C8000V")
    layer = DataLayer(dev)
    assert layer.edit([native_edit(layer, "<network-essentials><addon>dna-essentials</addon></network-essentials>")])
    assert configured(dev) == ("network-essentials", "dna-essentials")
    assert rendered_level(layer) == {"network-essentials": {"addon": "dna-essentials"}}
    # another case of the choice replaces the level (and its addon), as `license boot level <other>` does
    assert layer.edit([native_edit(layer, "<network-advantage/>")])
    assert configured(dev) == ("network-advantage", None)
    assert rendered_level(layer) == {"network-advantage": {}}
    # the addon alone
    assert layer.edit([native_edit(layer, "<network-advantage><addon>dna-advantage</addon></network-advantage>")])
    assert configured(dev) == ("network-advantage", "dna-advantage")
    assert layer.edit([native_edit(layer, '<network-advantage><addon nc:operation="delete"/></network-advantage>')])
    assert configured(dev) == ("network-advantage", None)
    # merging what is there changes nothing
    assert not layer.edit([native_edit(layer, "<network-advantage/>")])


def _level_node(layer):
    return layer.schema.top[TOP].child("license").child("boot").child("level")


def _wrapped(layer, level_edit):
    """native/license/boot/<level_edit>, as RESTCONF wraps the edit of a target below the top."""
    top = layer.schema.top[TOP]
    lic = top.child("license")
    boot = lic.child("boot")
    return EditNode(top, children=[EditNode(lic, children=[EditNode(boot, children=[level_edit])])])


def test_replace_and_delete_of_the_level_container(make_device):
    """What a RESTCONF PUT and DELETE of native/license/boot/level send to the data layer."""
    dev = make_device(platform="C8000V")
    layer = DataLayer(dev)
    [put] = decode_json(_level_node(layer), {"network-essentials": {"addon": "dna-essentials"}})
    put.op = "replace"
    assert layer.edit([_wrapped(layer, put)])
    assert configured(dev) == ("network-essentials", "dna-essentials")
    assert layer.edit([_wrapped(layer, EditNode(_level_node(layer), op="delete"))])
    assert configured(dev) == (None, None)                       # `no license boot level`
    assert dev.boot_level() == ("network-advantage", "dna-advantage")
    assert rendered_level(layer) == {"network-advantage": {"addon": "dna-advantage"}}
    isr = make_device(platform="ISR4331", device_id="isr")
    isr_layer = DataLayer(isr)
    with pytest.raises(YangError) as exc:                        # nothing configured, no default: nothing to delete
        isr_layer.edit([_wrapped(isr_layer, EditNode(_level_node(isr_layer), op="delete"))])
    assert (exc.value.tag, exc.value.path) == ("data-missing", LEVEL)


def test_removing_the_default_level_where_none_is_configured_changes_nothing(make_device):
    """A replace of native without boot/level (or a delete of the rendered default) is `no license boot
    level` on a device with none configured: no change, no new revision."""
    dev = make_device(platform="C8000V")
    layer = DataLayer(dev)
    native = {k: v for k, v in layer.get("config")[TOP].items() if k != "license"}
    assert native == {"hostname": "Router", "version": "17.12"}
    [edit] = decode_json(layer.schema.top[TOP], native)
    revision = dev.snapshot().revision
    assert not layer.edit([edit], default_operation="replace")
    assert not layer.edit([_wrapped(layer, EditNode(_level_node(layer), op="delete"))])
    assert dev.snapshot().revision == revision and configured(dev) == (None, None)
    dev.set_boot_level("network-advantage", "dna-advantage")              # configured as the default is
    assert layer.edit([edit], default_operation="replace")
    assert configured(dev) == (None, None)


def test_isr_levels_are_empty_leaves_and_presence_containers(make_device):
    dev = make_device(platform="ISR4331")
    layer = DataLayer(dev)
    assert layer.edit([json_edit(layer, {"securityk9": [None]})])
    assert configured(dev) == ("securityk9", None)
    assert rendered_level(layer) == {"securityk9": True}
    assert layer.edit([json_edit(layer, {"uck9": {}})])
    assert configured(dev) == ("uck9", None)
    assert layer.edit([native_edit(layer, '<uck9 nc:operation="delete"/>')])
    assert configured(dev) == (None, None)
    assert rendered_level(layer) is None


@pytest.mark.parametrize("platform,level_xml,tag,path", [
    # levels of the model the platform's profile does not offer: the engine refuses them
    ("C8000V", "<appxk9/>", "invalid-value", f"{LEVEL}/appxk9"),
    ("C8000V", "<uck9/>", "invalid-value", f"{LEVEL}/uck9"),
    ("C8000V", "<ipbasek9><addon>dna-advantage</addon></ipbasek9>", "invalid-value", f"{LEVEL}/ipbasek9"),
    ("ISR4331", "<network-advantage/>", "invalid-value", f"{LEVEL}/network-advantage"),
    ("ISR4331", "<network-advantage><addon>dna-advantage</addon></network-advantage>", "invalid-value",
     f"{LEVEL}/network-advantage"),
    # an addon the level's type does not have: refused by the model's typing
    ("C8000V", "<network-essentials><addon>dna-advantage</addon></network-essentials>", "invalid-value",
     f"{LEVEL}/network-essentials/addon"),
    # two levels at once
    ("C8000V", "<network-essentials/><network-advantage/>", "bad-element", f"{LEVEL}/network-advantage"),
    ("ISR4331", "<appxk9/><securityk9/>", "bad-element", f"{LEVEL}/securityk9"),
    # a level's other leaves have no command behind them
    ("ISR4331", "<uck9><disable/></uck9>", "operation-not-supported", f"{LEVEL}/uck9/disable"),
])
def test_refused_levels_change_nothing(make_device, platform, level_xml, tag, path):
    dev = make_device(platform=platform)
    layer = DataLayer(dev)
    before = (configured(dev), dev.hostname, dev.snapshot().revision)
    with pytest.raises(YangError) as exc:
        layer.edit([native_edit(layer, level_xml, extra="<hostname>changed</hostname>")])
    assert (exc.value.tag, exc.value.path) == (tag, path), exc.value
    assert (configured(dev), dev.hostname, dev.snapshot().revision) == before


def test_the_engine_refusal_is_the_cli_message(make_device):
    dev = make_device(platform="C8000V")
    layer = DataLayer(dev)
    with pytest.raises(YangError) as exc:
        layer.edit([native_edit(layer, "<appxk9/>")])
    assert exc.value.message == "Unknown boot level 'appxk9'" and exc.value.app_tag == "BadInputParams"


def test_test_only_lock_and_privilege_as_for_the_other_settings(make_device):
    dev = make_device(platform="C8000V")
    layer = DataLayer(dev)
    revision = dev.snapshot().revision
    assert not layer.edit([native_edit(layer, "<network-essentials/>")], test_only=True)
    assert configured(dev) == (None, None) and dev.snapshot().revision == revision
    with pytest.raises(YangError) as exc:               # test-only checks in full
        layer.edit([native_edit(layer, "<appxk9/>")], test_only=True)
    assert exc.value.tag == "invalid-value"
    with pytest.raises(YangError) as exc:
        layer.edit([native_edit(layer, "<network-essentials/>")], privilege=1)
    assert exc.value.tag == "access-denied"
    assert dev.lock_config("netconf:7") is None
    with pytest.raises(YangError) as exc:
        layer.edit([native_edit(layer, "<network-essentials/>")], owner="restconf:admin")
    assert (exc.value.tag, exc.value.info) == ("in-use", {"session-id": "7"})
    assert configured(dev) == (None, None)
    assert layer.edit([native_edit(layer, "<network-essentials/>")], owner="netconf:7")
    assert configured(dev) == ("network-essentials", None)


def test_hostname_and_level_in_one_atomic_edit(make_device):
    dev = make_device(platform="C8000V")
    layer = DataLayer(dev)
    assert layer.edit([native_edit(layer, "<network-essentials/>", extra="<hostname>edge-9</hostname>")])
    assert (dev.hostname, configured(dev)) == ("edge-9", ("network-essentials", None))


def test_the_bindings_check_the_level_container(make_device):
    layer = DataLayer(make_device(platform="C8000V"))
    assert ("license", "boot", "level") in bindcheck.CONTAINERS[TOP][0]
    bindcheck.check(layer.schema.top[TOP], layer.get("config")[TOP])
    bad = {"license": {"boot": {"level": {"network-essentials": {"addon": "dna-premier"}}}}}
    with pytest.raises(YangError) as exc:
        bindcheck.check(layer.schema.top[TOP], bad)
    assert exc.value.tag == "invalid-value" and exc.value.path == LEVEL


def test_an_engine_refusal_of_a_licensing_setting_points_at_its_leaf(make_device):
    """The same mechanism (DeviceError.field → the path the input came from) serves the settings table."""
    dev = make_device(platform="C8000V", release="17.3.2")            # no utility mode before 17.9.1a
    layer = DataLayer(dev)
    el = etree.fromstring(f'<native xmlns="{NATIVE}"><license><smart><utility><enable/></utility></smart>'
                          "</license></native>")
    with pytest.raises(YangError) as exc:
        layer.edit([decode_xml(layer.schema.top[TOP], el)])
    assert (exc.value.tag, exc.value.app_tag, exc.value.path) == (
        "invalid-value", "notsupported", "/Cisco-IOS-XE-native:native/license/smart/utility/enable")
    assert dev.config.utility_enabled is None
