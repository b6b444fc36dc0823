import pytest

from emulator.engine import Clock, Device, Flash
from emulator.store import Store

# 2024-01-01T00:00:00Z: every unit test starts its device here with the clock frozen.
T0 = 1704067200.0
DAY = 86400.0


@pytest.fixture
def make_device(tmp_path):
    """make_device(platform=..., release=..., device_id=...) -> a fresh device on a frozen clock at T0,
    stored under tmp_path; calling it again with the same device_id reopens the stored device."""
    stores = []

    def make(platform="C8000V", release="17.12.1a", device_id="device", hostname="Router", serial=None,
             now=T0, **kwargs):
        store = Store(tmp_path / "slpemu.db")
        stores.append(store)
        return Device.create_or_load(store, device_id, Flash(tmp_path / "flash" / device_id), platform=platform,
                                     release=release, hostname=hostname, serial=serial,
                                     clock=Clock(frozen_at=now), **kwargs)

    yield make
    for store in stores:
        store.close()


def texts(device, mnemonic=None):
    """The syslog texts of a device, optionally only those of one mnemonic."""
    return [m.text for m in device.syslog() if mnemonic is None or m.mnemonic == mnemonic]


def pytest_configure(config):
    # the markers of the slpemu pytest plugin (emulator.pytest_plugin), also where it is not installed as an
    # entry point (a checkout run without `pip install -e .`)
    from emulator.pytest_plugin import MARKERS
    for line in MARKERS:
        config.addinivalue_line("markers", line)


# ---------------------------------------------------------------------------------------------- figures
# The hardening suites record what they measured (inputs tried, errors, medians...) here; the figures are
# printed at the end of the run and, when SLPEMU_FIGURES names a file, written there as JSON
# (docs/security.md quotes them).
FIGURES: dict = {}


@pytest.fixture(scope="session")
def figures() -> dict:
    return FIGURES


def pytest_terminal_summary(terminalreporter):
    if not FIGURES:
        return
    import json
    import os
    terminalreporter.section("hardening figures")
    for name, value in sorted(FIGURES.items()):
        terminalreporter.write_line(f"{name}: {json.dumps(value, sort_keys=True)}")
    target = os.environ.get("SLPEMU_FIGURES")
    if target:
        with open(target, "w") as f:
            json.dump(FIGURES, f, indent=2, sort_keys=True)
