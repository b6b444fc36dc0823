"""The devices of a fleet in one process: held lazily, scheduled together, stored in one SQLite file.

* **Slots.** Every inventory entry has a `Slot`; its engine `Device` (and the per-device front-end state:
  NETCONF server, CLI grammars, Flask application) is loaded on first contact or when a job falls due,
  and evicted when idle (no connection for `idle_seconds`, or beyond `max_loaded`, least recently used
  first). Snapshots make reads lock-free, so a loaded device costs only its memory.
* **One scheduler.** A heap of (next due time, device) across the fleet; one thread pops what is due and
  runs `Device.tick()`. A device with nothing due is never touched, loaded or not.
* **One clock.** The fleet has one clock (real time + offset, or frozen). A device follows it: when it is
  loaded after the fleet clock moved on, it catches up (running what fell due); `advance_clock` moves
  the fleet clock and runs every due job, devices in the order of their next due time, in steps.
* **One store.** Device state, the fleet registry (entries, next due times, page summaries) and the fleet
  clock live in `<state_dir>/slpemu.db`.
"""

from __future__ import annotations

import heapq
import itertools
import logging
import os
import threading
import time
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Iterable

from ..engine import Clock, Device, Flash
from ..engine import artifacts
from ..engine.errors import DeviceError
from ..store import Store
from .inventory import Allocator, DeviceSpec, FleetPlan, InventoryError, device_spec

log = logging.getLogger(__name__)

DB_NAME = "slpemu.db"
CLOCK_ROW = "#clock"
# Front-end objects are built one at a time: building a Flask application compiles its URL rules from
# Python AST objects, and CPython 3.11 (before 3.11.8, gh-106905) can fail such compiles run on two threads at
# once ("SystemError: AST constructor recursion depth mismatch").
_BUILD_LOCK = threading.Lock()
NEW_SUMMARY = {"licenses": [], "licenses-in-use": 0, "compliance": "NO LICENSES IN USE"}   # never contacted yet
DAY = 86400.0


@dataclass
class FleetOptions:
    max_loaded: int = 5000            # devices kept in memory at most (least recently used evicted first)
    idle_seconds: float = 900.0       # a device without connections this long is evicted
    frozen_clock: bool = False        # a new fleet starts with its clock frozen
    trust_anchor: str | None = None   # PEM path of the CSSM public key devices trust
    workers: int = 0                  # processes for fleet-wide clock advances (0: one per CPU when it pays)
    profile_dirs: list[Path] = field(default_factory=list)


class Slot:
    """One fleet member: its inventory entry and, while loaded, its engine device and front-end state."""

    __slots__ = ("spec", "lock", "device", "front", "users", "last_used", "due", "summary", "unsubscribe",
                 "removed", "__weakref__")

    def __init__(self, spec: DeviceSpec):
        self.spec = spec
        self.lock = threading.RLock()
        self.device: Device | None = None
        self.front: dict = {}             # "netconf" / "cli" / "app" → lazily built front-end objects
        self.users = 0                    # connections and requests in progress
        self.last_used = 0.0
        self.due: float | None = None     # next job time on the fleet clock (None: nothing scheduled)
        self.summary: dict = {}
        self.unsubscribe: Callable[[], None] | None = None
        self.removed = False

    @property
    def id(self) -> str:
        return self.spec.id


class FleetClock:
    """Real time plus an offset, or frozen; the clock every device of the fleet follows."""

    def __init__(self, offset: float = 0.0, frozen_at: float | None = None):
        self.offset = offset
        self.frozen_at = frozen_at

    def now(self) -> float:
        return self.frozen_at if self.frozen_at is not None else time.time() + self.offset

    def advance(self, seconds: float) -> float:
        if self.frozen_at is not None:
            self.frozen_at += seconds
        else:
            self.offset += seconds
        return self.now()

    def to_dict(self) -> dict:
        return {"offset": self.offset, "frozen_at": self.frozen_at}


class Fleet:
    """The devices of one fleet (or shard); see the module docstring."""

    def __init__(self, state_dir: str | Path, plan: FleetPlan, options: FleetOptions | None = None):
        self.state_dir = Path(state_dir)
        self.plan = plan
        self.options = options or FleetOptions()
        self.state_dir.mkdir(parents=True, exist_ok=True)
        self.store: Store | None = None
        self.slots: dict[str, Slot] = {}
        self.endpoints: dict[tuple[str, int], tuple[Slot, str]] = {}   # (address, port) → (slot, role)
        self.clock = FleetClock()
        self.allocator: Allocator = plan.allocator()
        self._heap: list[tuple[float, int, str]] = []
        self._seq = itertools.count()
        self._lock = threading.RLock()                 # slots, endpoints, heap
        self._wake = threading.Condition(self._lock)
        self._op_lock = threading.Lock()               # one fleet-wide operation (advance, add, remove) at a time
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._loaded: dict[str, Slot] = {}             # insertion order ≈ least recently loaded first
        self._cssm = None
        self._anchor = None
        self.listeners: list = []                      # objects with added(slot) / removed(slot)
        self.stats = {"loads": 0, "evictions": 0, "jobs_runs": 0, "started": time.time()}

    # ================================================================== opening
    def open(self, progress: Callable[[int, int], None] | None = None) -> "Fleet":
        """Opens the store and registers the devices (nothing listens yet, nothing is loaded: a device is
        created in the store on first contact, from its inventory entry). Devices added at run time (`add`)
        in an earlier run come back; a device removed stays removed unless the inventory names it."""
        self.store = Store(self.state_dir / DB_NAME)
        if self.options.trust_anchor:
            self._anchor = artifacts.public_key_from_pem(Path(self.options.trust_anchor).read_bytes())
        rows = self.store.fleet_rows()
        clock = rows.get(CLOCK_ROW)
        if clock is not None:
            self.clock = FleetClock(clock["offset"], clock["frozen_at"])
        elif self.options.frozen_clock:
            self.clock = FleetClock(0.0, time.time())
        specs = list(self.plan.devices)
        planned = {s.id for s in specs}
        for key, row in sorted(rows.items()):
            if key.startswith("#") or key in planned or row.get("origin") != "added":
                continue
            spec = DeviceSpec.from_dict(row["spec"])
            try:
                self.allocator.claim(spec.address, spec.ports, f"added device {spec.id}")
            except InventoryError:
                log.warning("added device %s: its address is taken by the inventory now; not served", spec.id)
                continue
            specs.append(spec)
        # endpoints of the inventory are claimed by the plan's own allocator already (generated ones too)
        for spec in self.plan.devices:
            for port in spec.ports.as_dict().values():
                self.allocator.used[(spec.address, port)] = spec.id
        dirty: dict[str, dict] = {CLOCK_ROW: self.clock.to_dict()}
        total = len(specs)
        for n, spec in enumerate(specs, 1):
            slot = Slot(spec)
            self._register(slot)
            row = rows.get(spec.id)
            if row is not None:
                slot.due = row.get("due")
                slot.summary = row.get("summary") or {}
                if row.get("spec") != spec.to_dict():
                    dirty[spec.id] = {**row, "spec": spec.to_dict()}
                self._push(slot)
            # a device never contacted yet is created on first contact (its identity is in its entry)
            if progress and (n % 100 == 0 or n == total):
                progress(n, total)
        self.store.fleet_put(dirty)
        return self

    def _register(self, slot: Slot) -> None:
        with self._lock:
            self.slots[slot.id] = slot
            spec = slot.spec
            for role, port in spec.ports.as_dict().items():
                self.endpoints[(spec.address, port)] = (slot, role)

    def _row(self, slot: Slot, origin: str = "inventory") -> dict:
        return {"spec": slot.spec.to_dict(), "due": slot.due, "summary": slot.summary, "origin": origin}

    # ================================================================== loading and eviction
    @contextmanager
    def use(self, slot: Slot, create: bool = False):
        """The slot's device, loaded if needed, held (not evicted) for the duration."""
        with slot.lock:
            if slot.removed:
                raise DeviceError(f"% Device {slot.id} was removed from the fleet")
            if slot.device is None:
                self._load(slot, create)
            slot.users += 1
            slot.last_used = time.monotonic()
        try:
            yield slot.device
        finally:
            with slot.lock:
                slot.users -= 1
                slot.last_used = time.monotonic()

    def _load(self, slot: Slot, create: bool = False) -> None:
        spec = slot.spec
        clock = Clock(self.clock.offset, self.clock.frozen_at)      # a new device starts on the fleet clock
        flash = Flash(self.state_dir / "flash" / spec.id)
        new = self.store.load_core(spec.id) is None
        device = Device.create_or_load(self.store, spec.id, flash, platform=spec.platform, release=spec.release,
                                       hostname=spec.hostname, serial=spec.serial, clock=clock,
                                       trust_anchor=self._anchor, profile_dirs=self.options.profile_dirs)
        if new:
            self._initialise(device, spec)
        if spec.builtin_cssm:
            device.attach_outbound(self._library_outbound(device, spec))
        self._follow_clock(device)
        slot.device = device
        slot.unsubscribe = device.subscribe(lambda kind, _obj, s=slot: self._changed(s) if kind == "change" else None)
        self.stats["loads"] += 1
        if new:
            self.stats["created"] = self.stats.get("created", 0) + 1
            slot.summary = summarize(device)
            self.store.fleet_put({slot.id: self._row_update(slot)})
        with self._lock:
            self._loaded[slot.id] = slot
        self._reschedule(slot)

    def _initialise(self, device: Device, spec: DeviceSpec) -> None:
        """What a new fleet device gets once: its users, and the CSSM URL of the inventory."""
        for name, password in spec.users:
            if device.check_password(name, password) != 15:
                device.set_user(name, password, 15)
        if spec.cssm_url:
            device.configure({"transport": "smart", "url_smart": spec.cssm_url})

    def _library_outbound(self, device: Device, spec: DeviceSpec):
        from ..cssm import Cssm, LibraryOutbound
        with self._lock:
            if self._cssm is None:
                self._cssm = Cssm(state_path=self.state_dir / "builtin-cssm.json")
        return LibraryOutbound(self._cssm, device.now, policy=spec.builtin_cssm_policy)

    def _follow_clock(self, device: Device) -> None:
        """Brings a device that was not loaded while the fleet clock moved up to the fleet clock."""
        now = self.clock.now()
        frozen = self.clock.frozen_at is not None
        if device.now() < now - 0.001 or device.clock.frozen != frozen:
            device.set_clock(now=max(now, device.now()), frozen=frozen)

    def _evict(self, slot: Slot) -> bool:
        """Drops a loaded device that nobody uses (its state is in the store). Returns whether it did."""
        with slot.lock:
            if slot.device is None or slot.users > 0:
                return False
            netconf = slot.front.get("netconf")
            if netconf is not None and netconf.sessions():
                return False
            slot.summary = summarize(slot.device)
            self._reschedule(slot)
            if slot.unsubscribe:
                slot.unsubscribe()
            for key, obj in slot.front.items():
                closer = getattr(obj, "close", None) if key != "cli" else None
                if key == "app":
                    from ..frontends.restconf.views import EXTENSION
                    rc = obj.extensions.get(EXTENSION)
                    closer = rc.close if rc is not None else None
                if closer:
                    try:
                        closer()
                    except Exception:                       # pragma: no cover - best effort
                        log.exception("closing %s of %s", key, slot.id)
            slot.front = {}
            slot.device = None
            slot.unsubscribe = None
            self.stats["evictions"] += 1
        with self._lock:
            self._loaded.pop(slot.id, None)
        return True

    def evict_idle(self, now: float | None = None) -> int:
        """Evicts devices idle longer than `idle_seconds`, and the least recently used beyond `max_loaded`."""
        now = time.monotonic() if now is None else now
        with self._lock:
            loaded = sorted(self._loaded.values(), key=lambda s: s.last_used)
        over = len(loaded) - self.options.max_loaded
        evicted = 0
        dirty = {}
        for slot in loaded:
            if over > 0 or now - slot.last_used > self.options.idle_seconds:
                if self._evict(slot):
                    evicted += 1
                    over -= 1
                    dirty[slot.id] = self._row_update(slot)
        if dirty:
            self.store.fleet_put(dirty)
        return evicted

    def _row_update(self, slot: Slot) -> dict:
        return {"spec": slot.spec.to_dict(), "due": slot.due, "summary": slot.summary,
                "origin": "added" if slot.spec.group == "(added)" else "inventory"}

    def loaded_count(self) -> int:
        with self._lock:
            return len(self._loaded)

    # ================================================================== front-end state per device
    def frontend(self, slot: Slot, kind: str):
        """The device's NETCONF server, CLI server object or Flask application, built on first use (the
        caller holds the slot through `use`)."""
        obj = slot.front.get(kind)
        if obj is not None:
            return obj
        with slot.lock, _BUILD_LOCK:
            obj = slot.front.get(kind)
            if obj is None:
                device = slot.device
                if kind == "netconf":
                    from ..frontends.netconf import NetconfServer
                    obj = NetconfServer(device)
                elif kind == "cli":
                    from ..frontends.cli import CliServer
                    obj = CliServer(device, host=slot.spec.address, port=slot.spec.ports.ssh,
                                    state_dir=self.state_dir)
                elif kind == "app":
                    from ..frontends.restconf import create_app
                    obj = create_app(device, restconf=True, secure=True)
                else:
                    raise KeyError(kind)
                slot.front[kind] = obj
        return obj

    # ================================================================== scheduler
    def _changed(self, slot: Slot) -> None:
        self._reschedule(slot)

    def _reschedule(self, slot: Slot) -> None:
        device = slot.device
        if device is None:
            return
        with device._lock:
            job = device.ctx.next_job()
            due = None if job is None else job.at - (device.now() - self.clock.now())
        self._set_due(slot, due)

    def _set_due(self, slot: Slot, due: float | None) -> None:
        with self._lock:
            changed = due != slot.due
            slot.due = due
            if due is not None and changed:
                self._push(slot)
                self._wake.notify()

    def _push(self, slot: Slot) -> None:
        if slot.due is not None:
            heapq.heappush(self._heap, (slot.due, next(self._seq), slot.id))

    def _pop_due(self, until: float) -> Slot | None:
        """The slot with the earliest due time ≤ until (stale heap entries are dropped)."""
        with self._lock:
            while self._heap and self._heap[0][0] <= until:
                due, _, sid = heapq.heappop(self._heap)
                slot = self.slots.get(sid)
                if slot is not None and slot.due == due and not slot.removed:
                    slot.due = None
                    return slot
            return None

    def next_due(self) -> float | None:
        with self._lock:
            while self._heap:
                due, _, sid = self._heap[0]
                slot = self.slots.get(sid)
                if slot is not None and slot.due == due and not slot.removed:
                    return due
                heapq.heappop(self._heap)
            return None

    def run_due(self, limit: int = 10_000) -> int:
        """Runs the jobs of every device due by now on the fleet clock; returns how many devices ran."""
        ran = 0
        while ran < limit and not self._stop.is_set():
            slot = self._pop_due(self.clock.now())
            if slot is None:
                break
            was_loaded = slot.device is not None
            try:
                with self.use(slot) as device:
                    device.tick()
                self._reschedule(slot)
            except DeviceError:
                continue
            except Exception:
                log.exception("jobs of %s failed", slot.id)
                continue
            ran += 1
            self.stats["jobs_runs"] += 1
            if not was_loaded:
                self._evict_or_keep(slot)
        return ran

    def _evict_or_keep(self, slot: Slot) -> None:
        """A device loaded only to run its jobs goes back to the store at once."""
        if self._evict(slot):
            self.store.fleet_put({slot.id: self._row_update(slot)})

    def start(self, period: float = 1.0) -> "Fleet":
        self._thread = threading.Thread(target=self._scheduler, args=(period,), name="slpemu-fleet-scheduler",
                                        daemon=True)
        self._thread.start()
        return self

    def _scheduler(self, period: float) -> None:
        last_evict = time.monotonic()
        while not self._stop.is_set():
            with self._lock:
                due = self.next_due()
                wait = period if due is None else max(0.0, min(period, due - self.clock.now()))
                if wait > 0:
                    self._wake.wait(wait)
            if self._stop.is_set():
                break
            if not self._op_lock.locked():
                try:
                    self.run_due(limit=500)
                except Exception:                           # pragma: no cover - logged, the loop goes on
                    log.exception("fleet scheduler")
            if time.monotonic() - last_evict > min(30.0, self.options.idle_seconds / 4 + 0.1):
                last_evict = time.monotonic()
                try:
                    self.evict_idle()
                except Exception:                           # pragma: no cover
                    log.exception("fleet eviction")

    def stop(self) -> None:
        self._stop.set()
        with self._lock:
            self._wake.notify_all()
        if self._thread is not None:
            self._thread.join(timeout=10)
        if self.store is not None:
            with self._lock:
                loaded = list(self._loaded.values())
            rows = {}
            for slot in loaded:
                if slot.device is not None:
                    slot.summary = summarize(slot.device)
                    rows[slot.id] = self._row_update(slot)
            rows[CLOCK_ROW] = self.clock.to_dict()
            try:
                self.store.fleet_put(rows)
            finally:
                self.store.close()
                self.store = None

    # ================================================================== fleet-wide operations
    def advance_clock(self, seconds: float, step: float | None = None,
                      progress: Callable[[int, int], None] | None = None) -> dict:
        """Moves the fleet clock forward by `seconds` and runs every job that falls due, in time order: the
        fleet moves in steps (`step` seconds; default the whole span), and within a step the devices run in
        the order of their next due time (a device runs all its jobs of the step in one operation, in its
        own time order). Devices with nothing due are not touched: they catch up when next loaded."""
        if isinstance(seconds, bool) or not isinstance(seconds, (int, float)) or not 0 <= seconds <= 100 * 365 * DAY:
            raise DeviceError("% Invalid number of seconds")
        if step is not None and (isinstance(step, bool) or not isinstance(step, (int, float)) or step <= 0):
            raise DeviceError("% Invalid step")
        with self._op_lock:
            start = self.clock.now()
            target = start + seconds
            steps = max(1, int(-(-seconds // step))) if step else 1
            edges = [min(target, start + (k + 1) * (step or seconds)) for k in range(steps)]
            planned = self._count_due(target)
            done = 0
            ran = 0
            t0 = time.perf_counter()
            for edge in edges:
                self.clock.advance(edge - self.clock.now())
                due_slots = []
                while True:
                    slot = self._pop_due(edge)
                    if slot is None:
                        break
                    due_slots.append(slot)
                ran += self._run_slots(due_slots, edge, lambda n: progress and progress(min(done + n, planned), planned))
                done += len(due_slots)
            # loaded devices with nothing due follow the clock too (their clock objects are live); the others
            # catch up when next loaded
            with self._lock:
                loaded = [s for s in self._loaded.values() if s.device is not None]
            for slot in loaded:
                try:
                    with self.use(slot) as device:
                        if device.now() < target - 0.001:
                            device.set_clock(now=target)
                except DeviceError:
                    pass
            self.store.fleet_put({CLOCK_ROW: self.clock.to_dict()})
            if progress:
                progress(planned, planned)
            return {"now": self.clock.now(), "devices-run": ran, "seconds": round(time.perf_counter() - t0, 3)}

    def _count_due(self, until: float) -> int:
        with self._lock:
            return sum(1 for s in self.slots.values() if s.due is not None and s.due <= until and not s.removed)

    def _run_slots(self, slots: list[Slot], edge: float, progress: Callable[[int], None]) -> int:
        workers = self.options.workers
        if workers == 0:
            workers = os.cpu_count() or 1
            if len(slots) < 64:
                workers = 1
        if workers > 1 and not any(s.spec.builtin_cssm for s in slots):
            from .advance import advance_in_processes
            return advance_in_processes(self, slots, edge, workers, progress)
        n = 0
        for slot in slots:
            was_loaded = slot.device is not None
            try:
                with self.use(slot) as device:
                    if device.now() < edge:
                        device.set_clock(now=edge)
                    device.tick()
                self._reschedule(slot)
            except DeviceError as exc:
                log.warning("advance %s: %s", slot.id, exc)
            n += 1
            if not was_loaded:
                self._evict_or_keep(slot)
            progress(n)
        return n

    def resolve(self, ids: Iterable[str] | None) -> list[Slot]:
        """The slots named (all when `ids` is empty or None); an unknown id is an error naming it."""
        with self._lock:
            if not ids:
                return [s for s in self.slots.values() if not s.removed]
            out = []
            for i in ids:
                slot = self.slots.get(i)
                if slot is None or slot.removed:
                    raise InventoryError(f"device {i!r}: no such device in this fleet")
                out.append(slot)
            return out

    def each(self, ids, fn: Callable[[Device], object], progress: Callable[[int, int], None] | None = None) -> dict:
        """Runs fn(device) on each named device (all by default); returns {id: result or error}."""
        slots = self.resolve(ids)
        out = {}
        for n, slot in enumerate(slots, 1):
            was_loaded = slot.device is not None
            try:
                with self.use(slot) as device:
                    out[slot.id] = {"ok": True, "result": fn(device)}
            except DeviceError as exc:
                out[slot.id] = {"ok": False, "error": str(exc)}
            if not was_loaded:
                self._evict_or_keep(slot)
            if progress:
                progress(n, len(slots))
        return out

    def add(self, fields: dict) -> Slot:
        """Adds a device (inventory fields: hostname, platform, release, serial, address, ports, users …),
        checked like an inventory entry; it is created at once and listens when this returns."""
        if not isinstance(fields, dict) or not fields.get("hostname"):
            raise InventoryError("add: a device needs at least a hostname")
        label = f"add ({fields.get('hostname')})"
        from .inventory import _check_keys, _DEVICE_KEYS, _valid_hostname
        _check_keys(fields, _DEVICE_KEYS, label)
        with self._op_lock:
            hostname = str(fields["hostname"])
            if not _valid_hostname(hostname):
                raise InventoryError(f"{label}: hostname {hostname!r} must be 1-63 letters, digits, '-', '_' or '.'")
            with self._lock:
                if hostname in self.slots and not self.slots[hostname].removed:
                    raise InventoryError(f"{label}: hostname {hostname} is already in the fleet")
                taken = {s.spec.serial: s.id for s in self.slots.values() if not s.removed}
            merged = {**self.plan.defaults, **fields, "group": "(added)"}
            spec = device_spec(merged, self.plan, self.allocator, label, seen_serials=dict(taken))
            if spec.serial in taken and fields.get("serial"):
                self.allocator.release(spec.address, spec.ports)
                raise InventoryError(f"{label}: serial {spec.serial} is already used by {taken[spec.serial]}")
            slot = Slot(spec)
            try:
                if self.store.load_core(spec.id) is not None:
                    self.store.delete_device(spec.id)            # a removed device of the same name: start afresh
                with self.use(slot, create=True):
                    pass
                self._register(slot)
                for listener in self.listeners:
                    listener.added(slot)
            except BaseException:
                with self._lock:
                    if self.slots.get(spec.id) is slot:
                        del self.slots[spec.id]
                    for port in spec.ports.as_dict().values():
                        if self.endpoints.get((spec.address, port), (None,))[0] is slot:
                            del self.endpoints[(spec.address, port)]
                self.allocator.release(spec.address, spec.ports)
                slot.removed = True
                if slot.device is not None:
                    slot.device = None
                raise
            self.store.fleet_put({spec.id: {**self._row(slot, origin="added")}})
            return slot

    def remove(self, device_id: str) -> DeviceSpec:
        """Stops serving a device and deletes its state."""
        with self._op_lock:
            [slot] = self.resolve([device_id])
            for listener in self.listeners:
                listener.removed(slot)
            with slot.lock:
                slot.removed = True
                if slot.device is not None:
                    netconf = slot.front.get("netconf")
                    if netconf is not None:
                        netconf.close()
                    if slot.unsubscribe:
                        slot.unsubscribe()
                    slot.device = None
                    slot.front = {}
            with self._lock:
                self.slots.pop(slot.id, None)
                self._loaded.pop(slot.id, None)
                for port in slot.spec.ports.as_dict().values():
                    self.endpoints.pop((slot.spec.address, port), None)
            self.allocator.release(slot.spec.address, slot.spec.ports)
            self.store.delete_device(slot.id)
            self.store.fleet_delete(slot.id)
            return slot.spec

    # ================================================================== views
    def device_summary(self, slot: Slot) -> dict:
        device = slot.device
        summary = summarize(device) if device is not None else dict(slot.summary or NEW_SUMMARY)
        spec = slot.spec
        return {"id": spec.id, "hostname": summary.get("hostname", spec.hostname), "address": spec.address,
                "ports": spec.ports.as_dict(), "pid": spec.platform, "sn": spec.serial,
                "release": summary.get("release", spec.release), "group": spec.group,
                "loaded": device is not None,
                "credentials": {"username": spec.users[0][0], "password": spec.users[0][1]},
                **{k: v for k, v in summary.items() if k not in ("hostname", "release")}}

    def devices(self) -> list[dict]:
        with self._lock:
            slots = [s for s in self.slots.values() if not s.removed]
        return [self.device_summary(s) for s in slots]

    def status(self) -> dict:
        try:
            import psutil
            rss = psutil.Process().memory_info().rss
        except Exception:                                   # pragma: no cover
            rss = None
        with self._lock:
            count = sum(1 for s in self.slots.values() if not s.removed)
            loaded = len(self._loaded)
        return {"name": self.plan.name, "shard": self.plan.shard, "devices": count, "loaded": loaded,
                "listeners": len(self.endpoints), "clock": {"now": self.clock.now(), "frozen": self.clock.frozen_at is not None,
                                                            "offset": self.clock.offset},
                "next-due": self.next_due(), "rss-bytes": rss, "threads": threading.active_count(),
                "loads": self.stats["loads"], "evictions": self.stats["evictions"],
                "uptime": round(time.time() - self.stats["started"], 1),
                "management": f"{self.plan.management_address}:{self.plan.management_port}",
                "addressing": self.plan.addressing}


def summarize(device: Device) -> dict:
    """What the fleet page shows of a device, from its latest snapshot."""
    snap = device.snapshot()
    now = snap.now()
    usage = snap.usage()
    deadline = snap.ack_deadline()
    rep = snap.st.reporting
    last = max((t for t in (rep.last_push, rep.last_pull, rep.last_file_write) if t is not None), default=None)
    if not usage:
        compliance = "NO LICENSES IN USE"
    elif any(r.status != "IN USE" for r in usage):
        compliance = "NOT AUTHORIZED"
    elif deadline is not None and now > deadline:
        compliance = "ACK OVERDUE"
    else:
        compliance = "IN COMPLIANCE"
    return {"hostname": snap.hostname, "release": str(snap.release), "udi": snap.udi,
            "licenses": sorted(r.entitlement.name for r in usage), "licenses-in-use": sum(r.count for r in usage),
            "compliance": compliance, "next-ack-deadline": deadline, "last-report": last,
            "last-ack": rep.last_ack, "now": now}
