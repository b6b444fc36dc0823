"""The YANG data layer: rendered state validates against the bindings; edits and RPCs reach the engine."""

import json

import pyangbind.lib.pybindJSON as pybind_json
import pytest
from lxml import etree
from pyangbind.lib.serialise import pybindIETFXMLDecoder

import bindings.cisco_ios_xe_native as native_bindings
import bindings.cisco_smart_license as csl_bindings
import bindings.slpemu_control as control_bindings
from emulator.cssm import Cssm
from emulator.engine.settings import CSLU_DISCOVERY_URL as CSLU_URL_AFTER_NO
from emulator.yangdata import DataLayer, YangError, decode_json, decode_xml, json_member, to_xml
from emulator.yangdata.codec import xml_string
from tests.conftest import DAY, T0

CSL = "http://cisco.com/ns/yang/cisco-smart-license"
NATIVE = "http://cisco.com/ns/yang/Cisco-IOS-XE-native"
BINDINGS = {"cisco-smart-license:licensing": (csl_bindings, "cisco_smart_license"),
            "Cisco-IOS-XE-native:native": (native_bindings, "Cisco_IOS_XE_native"),
            "slpemu-control:clock": (control_bindings, "slpemu_control")}


def _busy_device(make_device, tmp_path):
    dev = make_device()
    dev.set_usage("network-advantage", 2)
    dev.set_usage("dna-advantage", 1)
    dev.set_usage("hseck9", 1)
    dev.advance_clock(2 * DAY)
    dev.save_usage("all", "u.txt")
    cssm = Cssm(state_path=tmp_path / "c.json")
    dev.flash.write("a.txt", cssm.process_usage(dev.flash.read("u.txt"), now=dev.now(), policy="SLE Policy").encode())
    dev.import_file("a.txt")
    dev.advance_clock(DAY)
    dev.apply_config({"transport": "smart", "url_default": True, "customer_tag1": "SA/VA:01",
                      "usage_interval": 20, "privacy_hostname": True})
    return dev


def _authorized_ha_device(make_device, tmp_path):
    from emulator.cssm import LibraryOutbound
    dev = make_device(platform="C8300-1N1S-6T")
    dev.attach_outbound(LibraryOutbound(Cssm(state_path=tmp_path / "c.json"), dev.now))
    dev.ha_add_member("C8300-1N1S-6T", "FDO0000STBY", "Standby")
    dev.set_usage("network-advantage", 1)
    dev.authorization_request("add", "hseck9", all_members=True)
    dev.set_usage("hseck9", 1)
    dev.apply_config({"utility_enabled": False, "custom_id": "lab-7"})
    return dev


def _plr_device(make_device, tmp_path):
    dev = make_device(device_id="plr", platform="C8000V", release="17.10.1a")
    dev.apply_config({"reservation": True})
    [code] = dev.reservation_request().codes.values()
    dev.reservation_install(Cssm.plr_authorization(code))
    dev.set_usage("hseck9", 1)
    return dev


STATES = {"fresh": lambda make_device, tmp_path: make_device(), "busy": _busy_device,
          "authorized-ha": _authorized_ha_device, "plr": _plr_device,
          # older releases serve older cisco-smart-license revisions, subsets of the one the bindings are of
          "busy-17.3": lambda make_device, tmp_path: _busy_device(lambda: make_device(release="17.3.2"), tmp_path),
          "busy-17.4": lambda make_device, tmp_path: _busy_device(lambda: make_device(release="17.4.1a"), tmp_path)}


@pytest.mark.parametrize("state", sorted(STATES))
def test_rendered_trees_validate_against_the_bindings(make_device, tmp_path, state):
    dev = STATES[state](make_device, tmp_path)
    layer = DataLayer(dev)
    for qname, value in layer.get().items():
        node = layer.schema.top[qname]
        module, name = BINDINGS[qname]
        doc = json_member(node, value)
        loaded = pybind_json.loads_ietf(json.dumps(doc), module, name)     # type checks every leaf
        assert json.loads(pybind_json.dumps(loaded, mode="ietf")) == doc
        xml = "<data>" + xml_string(to_xml(node, value)) + "</data>"
        from_xml = pybindIETFXMLDecoder.decode(xml, module, name)
        assert json.loads(pybind_json.dumps(from_xml, mode="ietf")) == doc


def test_state_values_follow_the_engine(make_device, tmp_path):
    dev = _busy_device(make_device, tmp_path)
    state = DataLayer(dev).get()["cisco-smart-license:licensing"]["state"]["state-info"]
    assert state["udi"] == {"pid": "C8000V", "sn": dev.sn}
    assert {u["short-name"]: u["count"] for u in state["usage"]} == {
        "network-advantage_250M": 2, "dna-advantage_250M": 1, "hseck9": 1}
    assert state["policy"]["policy-name"] == "SLE Policy" and state["policy"]["policy-type"] == "policy-type-custom"
    assert state["policy"]["policy-perpetual"] == {"reporting-first-time": 30, "reporting-ongoing": 60,
                                                   "reporting-macd": 60}
    assert state["rum-ack"]["last-received-time"] == "2024-01-03T00:00:00+00:00"
    assert state["transport"] == {"transport-type": "transport-type-smart", "url-settings": {
        "url-registration": "https://smartreceiver.cisco.com/licservice/license"}}
    keys = state["rum-reports-closed-keys"]          # the day after the ACK: one closed report per licence
    assert len(keys) == 3 and all(k["report-state"] == "rum-report-state-closed" for k in keys)
    assert {k["report-end-time"] for k in keys} == {"2024-01-04T00:00:00+00:00"}
    dev.save_usage("unreported", "again.txt")
    keys = DataLayer(dev).get()["cisco-smart-license:licensing"]["state"]["state-info"]["rum-reports-closed-keys"]
    assert len(keys) == 3 and {k["report-state"] for k in keys} == {"rum-report-state-unacknowledged"}


def test_list_keys_come_first_in_xml(make_device):
    dev = make_device()
    dev.set_usage("network-advantage", 1)
    dev.advance_clock(DAY + 1)
    layer = DataLayer(dev)
    node = layer.schema.top["cisco-smart-license:licensing"]
    root = to_xml(node, layer.get()["cisco-smart-license:licensing"])[0]
    entry = root.find(f"{{{CSL}}}state/{{{CSL}}}state-info/{{{CSL}}}rum-reports-closed-keys")
    assert [etree.QName(c).localname for c in entry][:2] == ["rum-report-key", "report-id"]


def test_content_selection(make_device):
    layer = DataLayer(make_device())
    config = layer.get("config")
    assert set(config["cisco-smart-license:licensing"]) == {"config"}
    assert "slpemu-control:clock" not in config
    state = layer.get("nonconfig")
    assert set(state["cisco-smart-license:licensing"]) == {"state"}
    assert state["slpemu-control:clock"]["now"] == "2024-01-01T00:00:00+00:00"


def _xml_edit(layer, xml):
    el = etree.fromstring(xml)
    node = layer.schema.top_by_namespace(etree.QName(el).namespace, etree.QName(el).localname)
    return decode_xml(node, el)


def test_edit_config_through_both_models(make_device):
    dev = make_device()
    layer = DataLayer(dev)
    layer.edit([_xml_edit(layer, f'<licensing xmlns="{CSL}"><config><transport><transport-cslu>'
                                 "<url-cslu>http://192.168.0.1:8182/cslu/v1/pi</url-cslu>"
                                 "</transport-cslu></transport></config></licensing>")])
    assert dev.setting("url_cslu") == "http://192.168.0.1:8182/cslu/v1/pi"
    assert layer.get()["Cisco-IOS-XE-native:native"]["license"]["smart"]["url"]["cslu"] == \
        "http://192.168.0.1:8182/cslu/v1/pi"
    layer.edit([_xml_edit(layer, f'<native xmlns="{NATIVE}"><hostname>edge-1</hostname><license><smart>'
                                 "<transport-type>Off</transport-type><usage><interval>20</interval></usage>"
                                 "</smart></license></native>")])
    assert (dev.hostname, dev.setting("transport"), dev.setting("usage_interval")) == ("edge-1", "off", 20)
    assert layer.get()["cisco-smart-license:licensing"]["config"]["transport"]["transport-type"] == "transport-type-off"
    nc = "urn:ietf:params:xml:ns:netconf:base:1.0"
    layer.edit([_xml_edit(layer, f'<licensing xmlns="{CSL}" xmlns:nc="{nc}"><config><transport><transport-cslu>'
                                 '<url-cslu nc:operation="delete"/></transport-cslu></transport></config></licensing>')])
    assert dev.setting("url_cslu") == CSLU_URL_AFTER_NO       # what `no license smart url cslu` leaves


def test_json_edit_and_choice_cases(make_device):
    dev = make_device()
    layer = DataLayer(dev)
    node = layer.schema.top["cisco-smart-license:licensing"]
    body = {"config": {"transport": {"transport-type": "transport-type-smart",
                                     "transport-smart": {"urls": {"url-registration": "https://cssm.example/x"}}}}}
    layer.edit(decode_json(node, body))
    assert dev.setting("transport") == "smart" and dev.setting("url_smart") == "https://cssm.example/x"
    layer.edit(decode_json(node, {"config": {"transport": {"transport-smart": {"url-default": True}}}}))
    assert dev.smart_url == "https://smartreceiver.cisco.com/licservice/license" and dev.config.url_default


@pytest.mark.parametrize("xml,tag", [
    (f'<licensing xmlns="{CSL}"><config><usage><interval>366</interval></usage></config></licensing>', "invalid-value"),
    (f'<licensing xmlns="{CSL}"><config><transport><transport-type>pigeon</transport-type></transport></config></licensing>',
     "invalid-value"),
    (f'<licensing xmlns="{CSL}"><config><nonsense/></config></licensing>', "unknown-element"),
    (f'<licensing xmlns="{CSL}"><config><privacy xmlns="urn:other"/></config></licensing>', "unknown-namespace"),
    (f'<licensing xmlns="{CSL}"><state><always-enabled>true</always-enabled></state></licensing>', "invalid-value"),
    (f'<licensing xmlns="{CSL}" xmlns:nc="urn:ietf:params:xml:ns:netconf:base:1.0"><config>'
     '<custom-id nc:operation="delete"/></config></licensing>', "data-missing"),
    (f'<licensing xmlns="{CSL}" xmlns:nc="urn:ietf:params:xml:ns:netconf:base:1.0"><config>'
     '<enable nc:operation="create">true</enable></config></licensing>', "data-exists"),
])
def test_bad_edits_are_refused_and_change_nothing(make_device, xml, tag):
    dev = make_device()
    layer = DataLayer(dev)
    before = dev.config
    with pytest.raises(YangError) as exc:
        layer.edit([_xml_edit(layer, xml)])
    assert exc.value.tag == tag
    assert dev.config == before


def test_edits_of_two_models_are_atomic(make_device):
    dev = make_device()
    layer = DataLayer(dev)
    good = _xml_edit(layer, f'<licensing xmlns="{CSL}"><config><custom-id>abc</custom-id></config></licensing>')
    bad = _xml_edit(layer, f'<native xmlns="{NATIVE}"><hostname>has space</hostname></native>')
    with pytest.raises(YangError):
        layer.edit([good, bad])
    assert dev.setting("custom_id") is None and dev.hostname == "Router"


def test_rpcs_reach_the_engine(make_device, tmp_path):
    dev = make_device()
    layer = DataLayer(dev)
    rpc = layer.schema.rpcs
    out = layer.invoke(rpc["slpemu-control:set-usage"], {"license": "network-advantage", "count": 3})
    assert out == {"entitlement-tag": dev.usage()[0].entitlement.full_tag, "count": 3}
    assert layer.invoke(rpc["slpemu-control:advance-clock"], {"seconds": 86400}) == {"now": "2024-01-02T00:00:00+00:00"}
    assert layer.invoke(rpc["cisco-smart-license:rum-save-usage-all"], {"file-path": "bootflash:u.txt"}) == {
        "return-code": "success"}
    assert layer.invoke(rpc["cisco-smart-license:import-file"], {"file-path": "bootflash:none.txt"}) == {
        "return-code": "notfound"}
    ack = Cssm(state_path=tmp_path / "c.json").process_usage(dev.flash.read("u.txt"), now=dev.now())
    dev.flash.write("bootflash:ack.txt", ack.encode())
    out = layer.invoke(rpc["Cisco-IOS-XE-rpc:license"], {"smart": {"import": "bootflash:ack.txt"}})
    assert out == {"result": "Import Data Successful"}
    assert layer.invoke(rpc["cisco-smart-license:register-id-token"], {"id-token": "x"}) == {"return-code": "notsupported"}
    with pytest.raises(YangError) as exc:
        layer.invoke(rpc["slpemu-control:set-usage"], {"license": "nope", "count": 1})
    assert exc.value.tag == "invalid-value"
    with pytest.raises(YangError) as exc:
        layer.invoke(rpc["cisco-smart-license:import-file"], {})
    assert exc.value.tag == "missing-element"
    fid = layer.invoke(rpc["slpemu-control:inject-fault"], {"kind": "timeout", "count": 2})["fault-id"]
    assert [f.id for f in dev.faults()] == [fid]
    assert layer.invoke(rpc["slpemu-control:clear-faults"], {}) == {"cleared": 1}


def test_faults_are_rendered(make_device):
    dev = make_device()
    dev.inject_fault("http-error", "cslu", count=3)
    dev.inject_fault("unreachable", seconds=60)
    layer = DataLayer(dev)
    faults = layer.get()["slpemu-control:faults"]["fault"]
    assert faults == [{"id": 1, "target": "cslu", "kind": "http-error", "remaining-count": 3},
                      {"id": 2, "target": "any", "kind": "unreachable", "expires": "2024-01-01T00:01:00+00:00"}]
    doc = json_member(layer.schema.top["slpemu-control:faults"], layer.get()["slpemu-control:faults"])
    pybind_json.loads_ietf(json.dumps(doc), control_bindings, "slpemu_control")
    dev.advance_clock(61)
    assert [f.id for f in dev.faults()] == [1]


def test_trust_authorization_and_ha_rpcs(make_device, tmp_path):
    from emulator.cssm import Cssm, LibraryOutbound, make_token
    dev = make_device(platform="C8300-1N1S-6T")
    dev.attach_outbound(LibraryOutbound(Cssm(state_path=tmp_path / "c.json"), dev.now))
    layer = DataLayer(dev)
    rpc = layer.schema.rpcs
    assert layer.invoke(rpc["cisco-smart-license:id-token-trust"], {"id-token": "tok"}) == {
        "return-code": "transporttype"}                           # transport cslu: no direct trust
    dev.apply_config({"transport": "smart", "url_default": True})
    assert layer.invoke(rpc["cisco-smart-license:id-token-trust"], {"id-token": make_token("SA", "VA")}) == {
        "return-code": "registrationinprogress"}
    assert dev.trust_codes()[dev.udi].usable
    assert layer.invoke(rpc["cisco-smart-license:authorization-request-online"], {"feature-name": "hseck9"}) == {
        "return-code": "success"}
    out = layer.invoke(rpc["cisco-smart-license:authorization-code-return-online"], {})
    assert out["return-code"] == "success" and len(out["authorization-return-string"]) == 59
    assert layer.invoke(rpc["cisco-smart-license:trust-request-save"], {"file-path": "bootflash:tr.txt"}) == {
        "return-code": "success"}
    out = layer.invoke(rpc["Cisco-IOS-XE-rpc:license"], {"smart": {"authorization": {"request": {
        "add": "hseck9", "local": True}}}})
    assert out == {"result": ""} and dev.authorizations()
    layer.invoke(rpc["slpemu-control:ha-add-member"], {"pid": "C8300-1N1S-6T", "sn": "FDO0000STBY"})
    assert [m.role for m in dev.members] == ["Active", "Standby"]
    layer.invoke(rpc["slpemu-control:ha-switchover"], {})
    assert dev.sn == "FDO0000STBY"
    with pytest.raises(YangError):
        layer.invoke(rpc["slpemu-control:ha-remove-member"], {"sn": "nope"})


def test_authorizations_are_rendered(make_device, tmp_path):
    dev = _authorized_ha_device(make_device, tmp_path)
    info = DataLayer(dev).get()["cisco-smart-license:licensing"]["state"]["state-info"]
    overall = info["imported-authorizations"]["overall-status"]
    assert [o["key_udi"] for o in overall] == [dev.udi, "PID:C8300-1N1S-6T,SN:FDO0000STBY"]
    assert all(o["installed-list"][0]["install-type"] == "authorization-type-auth-code" for o in overall)
    [hsec] = info["imported-authorizations"]["authorization-list"]
    assert (hsec["short-name"], hsec["total-count"], hsec["license-enforcement-type"]) == (
        "hseck9", 2, "license-enforcement-type-export")
    assert info["registration"]["export-control-allowed"] is True
    plr = DataLayer(_plr_device(make_device, tmp_path / "p")).get()["cisco-smart-license:licensing"]["state"]
    assert plr["state-info"]["authorization"]["authorization-state"] == "auth-state-authorized-reservation"


def test_accepted_edits_are_checked_against_the_bindings(make_device):
    """The configuration an edit leaves is loaded into the pyangbind class of the configuration container
    before the engine applies it (emulator/yangdata/bindcheck.py)."""
    from emulator.yangdata import bindcheck
    dev = make_device()
    dev.configure({"transport": "smart", "url_smart": "https://cssm.example/x", "usage_interval": 20})
    layer = DataLayer(dev)
    config = layer.get(content="config")
    for qname in bindcheck.CONTAINERS:
        bindcheck.check(layer.schema.top[qname], config[qname])          # what the device holds loads
    bad = {"config": {"usage": {"interval": 70000}}}                      # uint16 in the model
    with pytest.raises(YangError) as exc:
        bindcheck.check(layer.schema.top["cisco-smart-license:licensing"], bad)
    assert exc.value.tag == "invalid-value" and exc.value.path == "/cisco-smart-license:licensing/config"
