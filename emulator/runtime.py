"""Opening an emulated device from a state directory, and the background ticker that runs its jobs on time."""

from __future__ import annotations

import logging
import signal
import threading
from dataclasses import dataclass
from pathlib import Path

from .cssm import Cssm, LibraryOutbound
from .engine import Clock, Device, DeviceError, Flash
from .engine import artifacts
from .store import StateDirLock, Store

DB_NAME = "slpemu.db"


@dataclass
class DeviceOptions:
    platform: str = "C8000V"
    release: str = "17.12.1a"
    hostname: str | None = None
    serial: str | None = None
    trust_anchor: str | None = None     # path to a PEM public key; None: the bundled CSSM simulator's
    frozen_clock: bool = False
    device_id: str = "device"
    users: dict[str, str] | None = None   # ensured to exist with privilege 15 at every start
    factory_trust: bool = False           # a new device ships with a factory trust code (17.7.1a+)
    migrated_from: str | None = None      # "slr" or "pak": a new device upgraded from pre-SLP licensing
    migrated_licences: tuple[str, ...] = ()
    builtin_cssm: bool = False            # online requests reach the bundled CSSM simulator in-process
    builtin_cssm_policy: str | None = None


def open_device(state_dir: str | Path, options: DeviceOptions, store: Store | None = None) -> Device:
    state_dir = Path(state_dir)
    state_dir.mkdir(parents=True, exist_ok=True)
    own_store = store is None
    if own_store:                   # one process per state dir: StateDirInUse names the one holding it
        lock = StateDirLock(state_dir).acquire()
        try:
            store = Store(state_dir / DB_NAME, dir_lock=lock)
        except BaseException:
            lock.release()
            raise
    try:
        return _open(state_dir, options, store)
    except BaseException:
        if own_store:
            store.close()
        raise


def _open(state_dir: Path, options: DeviceOptions, store: Store) -> Device:
    anchor = None
    if options.trust_anchor:
        anchor = artifacts.public_key_from_pem(Path(options.trust_anchor).read_bytes())
    clock = Clock()
    if options.frozen_clock:
        clock.freeze()
    device = Device.create_or_load(store, options.device_id, Flash(state_dir / "flash" / options.device_id),
                                   platform=options.platform, release=options.release,
                                   hostname=options.hostname, serial=options.serial, clock=clock,
                                   trust_anchor=anchor,
                                   profile_dirs=[p for p in [state_dir / "profiles"] if p.is_dir()])
    if device.report_summary().total == 0 and not device.trust_codes() and not device.authorizations():
        if options.factory_trust:
            if not device.release.at_least("17.7.1"):
                raise ValueError("factory trust codes exist from 17.7.1a")
            device.install_factory_trust()
        if options.migrated_from:
            device.migrate_legacy(options.migrated_from, {name: 1 for name in options.migrated_licences})
    if options.builtin_cssm:
        cssm = Cssm(state_path=state_dir / "builtin-cssm.json")
        device.attach_outbound(LibraryOutbound(cssm, device.now, policy=options.builtin_cssm_policy))
    for name, password in (options.users or {}).items():
        if device.check_password(name, password) != 15:
            device.set_user(name, password, 15)
    return device

log = logging.getLogger(__name__)


class Ticker:
    """Runs due jobs of the given devices every `period` seconds on a daemon thread."""

    def __init__(self, devices: list[Device], period: float = 1.0):
        self.devices = devices
        self.period = period
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="slpemu-ticker", daemon=True)

    def start(self) -> "Ticker":
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=5)

    def _run(self) -> None:
        while not self._stop.wait(self.period):
            for device in self.devices:
                try:
                    device.tick()
                except DeviceError:
                    pass                    # a refused job step has been logged on the device already
                except Exception:           # one device's bug must not stop every device's clock
                    log.exception("scheduled jobs of %s failed", device.device_id)


def wait_for_stop() -> None:
    """Blocks a foreground server command until Ctrl+C or SIGTERM (what `docker stop` and kubelet send)."""
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    try:
        while not stop.wait(0.5):
            pass
    except KeyboardInterrupt:
        pass
