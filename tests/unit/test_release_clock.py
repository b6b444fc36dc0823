import pytest

from emulator.engine import Clock, Release


def test_release_parse_and_order():
    r = Release.parse("17.12.1a")
    assert (r.major, r.minor, r.patch, r.suffix) == (17, 12, 1, "a")
    assert str(r) == "17.12.1a" and r.display == "17.12.01a"
    assert Release.parse("17.9.1a") < Release.parse("17.10.1a")
    with pytest.raises(ValueError):
        Release.parse("seventeen")


@pytest.mark.parametrize("release,throttled", [
    ("17.3.2", False), ("17.3.6", True), ("17.6.3", False), ("17.6.4", True), ("17.7.1a", False),
    ("17.8.1", False), ("17.9.1a", True), ("17.12.1a", True)])
def test_throttling_gate_follows_backports(release, throttled):
    assert Release.parse(release).rum_throttling is throttled


def test_feature_gates():
    assert not Release.parse("17.6.1").account_info and Release.parse("17.7.1").account_info
    assert Release.parse("17.8.1").version_in_rum and not Release.parse("17.9.1").version_in_rum
    assert Release.parse("17.9.1").privacy_message and not Release.parse("17.7.1").privacy_message
    assert Release.parse("17.10.1a").plr and not Release.parse("17.9.1a").plr


def test_clock_frozen_and_offset():
    fake = [1000.0]
    clock = Clock(source=lambda: fake[0])
    assert clock.now() == 1000.0
    clock.jump_to(5000.0)
    fake[0] = 1010.0
    assert clock.now() == 5010.0          # real time keeps running with the offset
    clock.freeze()
    fake[0] = 2000.0
    assert clock.now() == 5010.0
    clock.jump_to(6000.0)
    assert clock.now() == 6000.0
    clock.unfreeze()
    fake[0] = 2005.0
    assert clock.now() == 6005.0
    restored = Clock(source=lambda: fake[0])
    restored.restore(clock.to_dict())
    assert restored.now() == 6005.0
