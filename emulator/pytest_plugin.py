"""pytest fixtures for controller teams: emulated routers for a test, each on its own loopback address.

Installed with slpemu (entry point ``pytest11``: ``slpemu = emulator.pytest_plugin``), so the fixtures are
there in any test suite of a virtualenv that has slpemu:

``slpemu_fleet``
    A running fleet (shared SSH/HTTPS servers, one scheduler, frozen clock) for one test. Size and mixes
    come from ``@pytest.mark.slpemu_fleet(count=5, platform_mix="C8000V:60,ISR4331/K9:40",
    release_mix="17.12.1a,17.9.1a", builtin_cssm=False)`` or from indirect parametrization
    (``@pytest.mark.parametrize("slpemu_fleet", [{"count": 20}], indirect=True)``). It yields a
    `FleetHandle`: ``.devices`` (address, ports, credentials, serial, PID of each), ``.advance_clock(days=)``,
    ``.set_usage(license)``, ``.inventory("pyats")``, ``.testbed(path)``, ``.engine(id)`` (the engine device,
    for assertions), ``.management_url``.
``slpemu_device``
    One device (a 1-device fleet): a `DeviceHandle` with ``host``, ``ssh_port``, ``netconf_port``,
    ``https_port``, ``restconf_url``, ``username``/``password``; parametrize it like ``slpemu_fleet``
    (``platform``, ``release``).

``slpemu_cssm``
    A running ``slpemu cssm serve`` (its own process, state dir and free port; processing delay 0): a
    `emulator.testing.estate.Cssm` with ``.api_url`` (Cisco's REST API), ``.device_url`` (what
    ``license smart url smart`` takes), ``.token(va)`` (an ID token), ``.api_token()`` (OAuth2),
    ``.inventory()``, ``.advance(seconds)``, ``.page()``.
``slpemu_cslu``
    A running ``slpemu cslu serve`` connected to ``slpemu_cssm``: a `emulator.testing.estate.Cslu` with
    ``.pi_url`` (what ``license smart url cslu`` takes), ``.cli(...)`` (device add, collect, deliver, ...),
    ``.api(...)``, ``.advance(seconds)``, ``.page()``.
``slpemu_estate``
    Starts more of them on demand (``.cssm()``, ``.cslu(cssm=...)``, ``.device()`` as ``slpemu serve``
    processes) and stops everything at the end of the test.

Each fleet gets a random 127.x.y.0/24 block and a port base above 20000, so tests run unprivileged and
side by side; a fleet can also answer online requests in-process with ``builtin_cssm=True``.
"""

from __future__ import annotations

import random
import tempfile
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest

DEFAULT_COUNT = 3


@dataclass(frozen=True)
class DeviceHandle:
    id: str
    hostname: str
    host: str
    ssh_port: int
    netconf_port: int
    https_port: int
    pid: str
    serial: str
    release: str
    username: str
    password: str
    fleet: "FleetHandle | None" = None

    @property
    def restconf_url(self) -> str:
        return f"https://{self.host}:{self.https_port}/restconf"

    @property
    def base_url(self) -> str:
        return f"https://{self.host}:{self.https_port}"

    @property
    def udi(self) -> str:
        return f"PID:{self.pid},SN:{self.serial}"

    def engine(self):
        """The engine device (context manager) for assertions on its state."""
        return self.fleet.engine(self.id)


class FleetHandle:
    def __init__(self, service):
        self.service = service
        self.fleet = service.fleet
        self.plan = service.plan
        self.state_dir = service.state_dir
        self.devices = [self._handle(s) for s in self.plan.devices]

    def _handle(self, spec) -> DeviceHandle:
        user, password = spec.users[0]
        return DeviceHandle(spec.id, spec.hostname, spec.address, spec.ports.ssh, spec.ports.netconf, spec.ports.https,
                            spec.platform, spec.serial, spec.release, user, password, self)

    def __len__(self) -> int:
        return len(self.devices)

    def __iter__(self):
        return iter(self.devices)

    def __getitem__(self, key):
        if isinstance(key, str):
            return next(d for d in self.devices if d.id == key)
        return self.devices[key]

    @property
    def management_url(self) -> str:
        return f"http://{self.plan.management_address}:{self.plan.management_port}"

    @contextmanager
    def engine(self, device_id: str):
        [slot] = self.fleet.resolve([device_id])
        with self.fleet.use(slot) as device:
            yield device

    def advance_clock(self, days: float = 0, seconds: float = 0, step_days: float | None = None) -> dict:
        return self.fleet.advance_clock(days * 86400 + seconds, step=step_days * 86400 if step_days else None)

    def set_usage(self, license_name: str, count: int = 1, devices: list[str] | None = None) -> dict:
        return self.fleet.each(devices, lambda d: d.set_usage(license_name, count).name)

    def inventory(self, fmt: str = "pyats") -> str:
        from .fleet.export import render_inventory
        return render_inventory(self.fleet.devices(), fmt, name=self.plan.name)

    def testbed(self, path: str | Path) -> Path:
        """Writes the pyATS testbed of the fleet to `path`; returns it."""
        path = Path(path)
        path.write_text(self.inventory("pyats"))
        return path


def _options(request, name: str) -> dict:
    opts = {}
    marker = request.node.get_closest_marker(name)
    if marker is not None:
        opts.update(marker.kwargs)
    param = getattr(request, "param", None)
    if isinstance(param, dict):
        opts.update(param)
    elif isinstance(param, int):
        opts["count"] = param
    return opts


@contextmanager
def start_fleet(state_dir: str | Path | None = None, *, count: int = DEFAULT_COUNT, platform_mix: str | None = None,
                release_mix: str | None = None, builtin_cssm: bool = False, frozen_clock: bool = True, tries: int = 8,
                **plan_options):
    """A running fleet on a random loopback block (context manager yielding a FleetHandle)."""
    from .fleet import FleetError, FleetOptions, FleetService, quick_plan
    rng = random.Random()
    owned = None
    if state_dir is None:
        owned = tempfile.TemporaryDirectory(prefix="slpemu-fleet-")
        state_dir = owned.name
    last = None
    try:
        for _ in range(tries):
            block = f"127.{rng.randrange(16, 250)}.{rng.randrange(0, 250)}"
            base = rng.randrange(20, 60) * 1000
            plan = quick_plan(count, platform_mix, release_mix, port_base=base, address_start=f"{block}.1",
                              management_address=f"{block}.254", builtin_cssm=builtin_cssm or None,
                              **plan_options)
            service = FleetService(Path(state_dir) / block, plan, FleetOptions(frozen_clock=frozen_clock, workers=1),
                                   https_threads=8, max_connections=256)
            try:
                service.start()
            except FleetError as exc:                # an address in use: another block
                last = exc
                continue
            try:
                yield FleetHandle(service)
            finally:
                service.stop()
            return
        raise FleetError(f"no free loopback block after {tries} tries: {last}")
    finally:
        if owned is not None:
            owned.cleanup()


MARKERS = ("slpemu_fleet(count=3, platform_mix=None, release_mix=None, builtin_cssm=False): size and mixes of the "
           "slpemu_fleet fixture",
           "slpemu_device(platform='C8000V', release='17.12.1a', builtin_cssm=False): the slpemu_device fixture's device")


def pytest_configure(config):
    for line in MARKERS:
        config.addinivalue_line("markers", line)


@pytest.fixture
def slpemu_fleet(request, tmp_path):
    """A running fleet of emulated routers (see the module docstring)."""
    with start_fleet(tmp_path / "slpemu-fleet", **_options(request, "slpemu_fleet")) as handle:
        yield handle


@pytest.fixture
def slpemu_device(request, tmp_path):
    """One emulated router at its own loopback address (see the module docstring)."""
    opts = _options(request, "slpemu_device")
    platform = opts.pop("platform", None)
    release = opts.pop("release", None)
    with start_fleet(tmp_path / "slpemu-device", count=1, platform_mix=platform, release_mix=release,
                     **opts) as handle:
        yield handle.devices[0]


@pytest.fixture
def slpemu_estate(tmp_path):
    """CSSM, CSLU and device processes on loopback, started on demand and stopped after the test."""
    from .testing.estate import Estate
    estate = Estate(tmp_path / "slpemu-estate")
    try:
        yield estate
    finally:
        estate.close()


@pytest.fixture
def slpemu_cssm(slpemu_estate):
    """A running `slpemu cssm serve` (see the module docstring)."""
    return slpemu_estate.cssm()


@pytest.fixture
def slpemu_cslu(slpemu_estate, slpemu_cssm):
    """A running `slpemu cslu serve` connected to `slpemu_cssm` (see the module docstring)."""
    return slpemu_estate.cslu(cssm=slpemu_cssm)
