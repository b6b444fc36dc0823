"""Fleet-wide clock advances on several processes: the engine work of a long advance (signing and storing
hundreds of RUM reports per device) is CPU-bound, so the devices due are shared out among worker
processes that open the same SQLite store (WAL: one writer at a time, commits are short). The devices are
held (their slots locked, not loaded here) while the workers run, so no connection sees them half-way."""

from __future__ import annotations

import concurrent.futures as cf
import logging
import multiprocessing
from contextlib import ExitStack
from pathlib import Path

from .inventory import DeviceSpec

log = logging.getLogger(__name__)


def advance_in_processes(fleet, slots, edge: float, workers: int, progress) -> int:
    remote, local = [], []
    with ExitStack() as held:
        for slot in slots:
            held.enter_context(slot.lock)
            if slot.device is None or fleet._evict(slot):
                remote.append(slot)
            else:
                local.append(slot)
        done = 0
        if remote:
            chunk = max(1, min(50, len(remote) // (workers * 4) or 1))
            batches = [remote[i:i + chunk] for i in range(0, len(remote), chunk)]
            anchor = fleet.options.trust_anchor
            dirs = [str(d) for d in fleet.options.profile_dirs]
            ctx = multiprocessing.get_context("spawn")
            by_id = {s.id: s for s in remote}
            rows = {}
            try:
                with cf.ProcessPoolExecutor(max_workers=min(workers, len(batches)), mp_context=ctx) as pool:
                    futures = [pool.submit(advance_batch, str(fleet.store.path), str(fleet.state_dir),
                                           [s.spec.to_dict() for s in batch], edge, anchor, dirs)
                               for batch in batches]
                    for fut in cf.as_completed(futures):
                        for sid, due, summary in fut.result():
                            slot = by_id.pop(sid)
                            slot.summary = summary
                            fleet._set_due(slot, due)
                            rows[sid] = fleet._row_update(slot)
                            done += 1
                        progress(done)
            except Exception:                   # a worker that cannot start or dies: the rest run here
                log.warning("fleet advance workers failed; %d devices advance in-process", len(by_id),
                            exc_info=True)
                local = list(by_id.values()) + local
            fleet.store.fleet_put(rows)
            fleet.stats["advanced_in_workers"] = fleet.stats.get("advanced_in_workers", 0) + len(remote)
        for slot in local:
            with fleet.use(slot) as device:
                if device.now() < edge:
                    device.set_clock(now=edge)
            fleet._reschedule(slot)
            done += 1
            progress(done)
    return done


def advance_batch(db_path: str, state_dir: str, specs: list[dict], edge: float, anchor: str | None,
                  profile_dirs: list[str]) -> list[tuple[str, float | None, dict]]:
    """In a worker process: load each device, move its clock to `edge` running every job due, and return
    (id, next due time, summary)."""
    from ..engine import Clock, Device, Flash, artifacts
    from ..store import Store
    from .pool import summarize
    trust = artifacts.public_key_from_pem(Path(anchor).read_bytes()) if anchor else None
    store = Store(db_path)
    out = []
    try:
        for raw in specs:
            spec = DeviceSpec.from_dict(raw)
            device = Device.create_or_load(store, spec.id, Flash(Path(state_dir) / "flash" / spec.id),
                                           platform=spec.platform, release=spec.release, hostname=spec.hostname,
                                           serial=spec.serial, clock=Clock(), trust_anchor=trust,
                                           profile_dirs=[Path(d) for d in profile_dirs])
            if device.now() < edge:
                device.set_clock(now=edge)
            job = device.ctx.next_job()
            due = None if job is None else job.at - (device.now() - edge)
            out.append((spec.id, due, summarize(device)))
    finally:
        store.close()
    return out
