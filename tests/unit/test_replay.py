"""Replayed artefacts are refused with the state unchanged (issue 10): an ACK older than the one installed
or the same ACK again, a policy older than the installed one, a trust code or SLAC already installed. Each
check compares the whole `show license all` and the RESTCONF `licensing/state` before and after."""

import json

import pytest

from emulator.cssm import Cssm
from emulator.engine import DeviceError
from emulator.engine.state import STATE_VERSION, from_stored, to_stored
from emulator.frontends.cli import render
from emulator.yangdata import DataLayer
from tests.conftest import DAY, texts


@pytest.fixture
def cssm(tmp_path):
    return Cssm(state_path=tmp_path / "cssm.json")


def observed(dev):
    """What a user sees: `show license all` and the RESTCONF licensing state."""
    state = DataLayer(dev).get()["cisco-smart-license:licensing"]["state"]
    return render.show_license_all(dev), json.dumps(state, sort_keys=True)


def refused(dev, text, code="duplicatedentry", path="bootflash:replay.txt"):
    """Imports `text` on every channel the device offers: the engine call behind the CLI's `license smart
    import` and POST /smartlic-service/import, the cisco-smart-license import-file RPC and the
    Cisco-IOS-XE-rpc `license smart import`. Each must refuse and leave what a user sees unchanged."""
    before = observed(dev)
    dev.flash.write(path, text.encode() if isinstance(text, str) else text)
    with pytest.raises(DeviceError) as exc:
        dev.import_file(path)
    assert exc.value.code == code, str(exc.value)
    message = str(exc.value)
    with pytest.raises(DeviceError) as again:
        dev.import_data(text)
    assert again.value.code == code
    layer = DataLayer(dev)
    assert layer.invoke(layer.schema.rpcs["cisco-smart-license:import-file"], {"file-path": path}) == {
        "return-code": code}
    assert layer.invoke(layer.schema.rpcs["Cisco-IOS-XE-rpc:license"], {"smart": {"import": path}}) == {
        "result": message}
    assert observed(dev) == before
    return message


def usage_ack(dev, cssm, name, **kwargs):
    dev.save_usage("unreported", f"bootflash:{name}_usage.txt")
    return cssm.process_usage(dev.flash.read(f"bootflash:{name}_usage.txt"), now=dev.now(), **kwargs)


def test_an_older_ack_or_the_same_ack_again_changes_nothing(make_device, cssm):
    dev = make_device()
    dev.set_usage("network-advantage", 1)
    dev.advance_clock(DAY)
    ack1 = usage_ack(dev, cssm, "one", policy="SLE Policy")
    dev.import_data(ack1)
    dev.advance_clock(DAY)
    ack2 = usage_ack(dev, cssm, "two")
    dev.import_data(ack2)
    last_ack = dev.timers().last_ack
    dev.advance_clock(50 * DAY)
    deadline = dev.timers().ack_deadline
    assert refused(dev, ack1) == "% Import Data Failed: the ACK is older than the ACK installed"
    assert refused(dev, ack2) == "% Import Data Failed: the ACK is already installed"
    assert (dev.timers().last_ack, dev.timers().ack_deadline) == (last_ack, deadline)
    # a newer ACK is taken as ever
    dev.import_data(usage_ack(dev, cssm, "three"))
    assert dev.timers().last_ack == dev.now()


def test_an_older_policy_is_refused(make_device, cssm):
    dev = make_device()
    older = cssm.policy_file("Custom Policy", now=dev.now())
    dev.advance_clock(DAY)
    newer = cssm.policy_file("SLE Policy", now=dev.now())
    dev.import_data(newer)
    installed = dev.policy_in_use()
    dev.advance_clock(DAY)
    assert refused(dev, older) == "% Import Data Failed: A newer policy is already installed"
    assert texts(dev, "POLICY_INSTALL_FAILED")[-1] == (
        "The installation of a new licensing policy has failed: A newer policy is already installed.")
    assert dev.policy_in_use() == installed
    # an ACK that carries an older policy is taken, its policy passed over
    dev.set_usage("network-advantage", 1)
    dev.advance_clock(60)
    dev.save_usage("unreported", "u.txt")
    ack = Cssm(state_path=None).process_usage(dev.flash.read("u.txt"), now=dev.now())
    stale = ack.replace("</smartLicense>", older.replace("\n", "") + "\n</smartLicense>")
    assert dev.import_data(stale).message == "Import Data Successful"
    assert dev.policy_in_use() == installed and dev.timers().last_ack == dev.now()


def test_a_trust_code_already_installed_is_not_installed_again(make_device, cssm):
    dev = make_device()
    dev.save_trust_request("bootflash:trust_request.txt")
    code = cssm.process_trust_request(dev.flash.read("bootflash:trust_request.txt"), now=dev.now())
    dev.import_data(code)
    installed = dev.trust_codes()[dev.udi]
    dev.advance_clock(DAY)
    assert refused(dev, code) == "% Import Data Failed: A trust code is already installed"
    assert texts(dev, "TRUST_CODE_INSTALL_FAILED")[-1] == (
        f"The install of a new licensing trust code has failed on P:C8000V,S:{dev.sn}: "
        "A trust code is already installed.")
    assert dev.trust_codes()[dev.udi] == installed
    # a new trust code (a new request answered) replaces it
    dev.save_trust_request("bootflash:trust_request2.txt")
    dev.import_data(cssm.process_trust_request(dev.flash.read("bootflash:trust_request2.txt"), now=dev.now()))
    assert dev.trust_codes()[dev.udi].installed_at == dev.now()


def test_a_slac_already_installed_is_not_installed_again(make_device, cssm):
    dev = make_device(platform="C8300-1N1S-6T", release="17.9.1a")
    dev.apply_config({"transport": "off"})
    dev.authorization_request("add", "hseck9")
    dev.authorization_request_save("bootflash:slac_request.txt")
    slac = cssm.process_authorization_request(dev.flash.read("bootflash:slac_request.txt"), now=dev.now())
    dev.import_data(slac)
    dev.set_usage("hseck9", 1)
    installed = dev.authorizations()[dev.udi]
    dev.advance_clock(DAY)
    assert refused(dev, slac) == "% Import Data Failed: The authorization code is already installed"
    assert texts(dev, "AUTHORIZATION_INSTALL_FAILED")[-1] == (
        f"The install of a new licensing authorization code has failed on {dev.udi}: "
        "The authorization code is already installed.")
    assert dev.authorizations()[dev.udi] == installed


def test_an_ack_replayed_with_its_trust_code_changes_nothing(make_device, cssm):
    """The ACK that brought the trust code (R35), imported again: refused as a whole."""
    dev = make_device(release="17.9.1a")
    dev.set_usage("network-advantage", 1)
    dev.advance_clock(DAY)
    ack = usage_ack(dev, cssm, "one")
    assert "<smartLicenseTrustCode>" in ack
    dev.import_data(ack)
    assert dev.trust_codes()[dev.udi].source == "ack"
    dev.advance_clock(DAY)
    refused(dev, ack)


def test_state_of_version_2_loads_and_refuses_replays_after_the_upgrade(make_device, cssm):
    """A version 2 document has no issue stamps: it loads (migrate), the first artefact after the upgrade
    is taken and sets them, and a replay of it is refused from then on."""
    dev = make_device()
    dev.set_usage("network-advantage", 1)
    dev.advance_clock(DAY)
    ack1 = usage_ack(dev, cssm, "one", policy="SLE Policy")
    dev.import_data(ack1)
    stored = to_stored(dev.st)
    assert stored["version"] == STATE_VERSION == 3
    v2 = json.loads(json.dumps(stored))
    v2["version"] = 2
    for name in ("ack_issued", "ack_transaction"):
        del v2["state"]["reporting"][name]
    del v2["state"]["policy"]["issued"]
    for code in v2["state"]["trust"].values():
        del code["issued"], code["trust_id"]
    assert from_stored(v2).reporting.ack_issued is None and from_stored(v2).policy.issued is None
    dev.store.commit(dev.device_id, v2)
    upgraded = make_device()
    assert upgraded.st.reporting.ack_issued is None
    assert upgraded.store.load_core(upgraded.device_id)["version"] == 3        # stored in the new version
    upgraded.import_data(ack1)                    # nothing recorded yet: taken once
    refused(upgraded, ack1)
