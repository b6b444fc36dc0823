"""SQLite persistence: one database file (WAL) holding any number of devices, keyed by device id.

The engine keeps its state in memory and hands every operation's changes to `commit`, which writes them
in one transaction: a process killed at any moment leaves the last committed operation's state."""

from __future__ import annotations

import fcntl
import json
import os
import sqlite3
import threading
from pathlib import Path

SCHEMA_VERSION = 1

_SCHEMA = """
CREATE TABLE IF NOT EXISTS device (
    id TEXT PRIMARY KEY,
    core TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS report (
    device_id TEXT NOT NULL,
    id INTEGER NOT NULL,
    body TEXT NOT NULL,
    PRIMARY KEY (device_id, id)
);
CREATE TABLE IF NOT EXISTS syslog (
    device_id TEXT NOT NULL,
    seq INTEGER NOT NULL,
    body TEXT NOT NULL,
    PRIMARY KEY (device_id, seq)
);
CREATE TABLE IF NOT EXISTS event (
    device_id TEXT NOT NULL,
    seq INTEGER NOT NULL,
    body TEXT NOT NULL,
    PRIMARY KEY (device_id, seq)
);
"""


class StoreError(RuntimeError):
    pass


class StateDirInUse(StoreError):
    """Another process (or another device in this one) holds the state dir."""


class StateDirLock:
    """An exclusive OS lock (flock) on `<state dir>/slpemu.lock`, holding the owner's process id. The kernel
    releases it when the process ends, however it ends (kill -9 included)."""

    NAME = "slpemu.lock"

    def __init__(self, state_dir: str | Path):
        self.state_dir = Path(state_dir)
        self.path = self.state_dir / self.NAME
        self._fd: int | None = None

    def acquire(self) -> "StateDirLock":
        self.state_dir.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            holder = os.pread(fd, 64, 0).decode("ascii", "replace").strip()
            os.close(fd)
            raise StateDirInUse(f"state dir {self.state_dir.resolve()} is in use by process {holder or '?'} "
                                f"({_command_of(holder)}); stop it or choose another --state-dir") from None
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"{os.getpid()}\n".encode(), 0)
        self._fd = fd
        return self

    def release(self) -> None:
        fd, self._fd = self._fd, None
        if fd is not None:
            try:
                fcntl.flock(fd, fcntl.LOCK_UN)
            finally:
                os.close(fd)


def _command_of(pid: str) -> str:
    """The command line of a process, shortened (Linux /proc; "unknown command" elsewhere)."""
    try:
        raw = Path(f"/proc/{int(pid)}/cmdline").read_bytes()
    except (OSError, ValueError):
        return "unknown command"
    text = " ".join(part.decode("utf-8", "replace") for part in raw.split(b"\0") if part)
    return text if len(text) <= 120 else text[:117] + "..."


class Store:
    def __init__(self, path: str | Path, dir_lock: StateDirLock | None = None):
        """`dir_lock`: the held lock of the state dir, released by `close()`."""
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.dir_lock = dir_lock
        self._lock = threading.Lock()
        self._db = sqlite3.connect(str(self.path), check_same_thread=False, isolation_level=None)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=NORMAL")
        self._db.execute("PRAGMA foreign_keys=ON")
        self._migrate()

    def _migrate(self) -> None:
        version = self._db.execute("PRAGMA user_version").fetchone()[0]
        if version > SCHEMA_VERSION:
            raise StoreError(f"{self.path} has schema version {version}; this emulator knows up to {SCHEMA_VERSION}")
        if version < SCHEMA_VERSION:
            with self._lock:
                self._db.executescript(f"BEGIN IMMEDIATE;{_SCHEMA}PRAGMA user_version={SCHEMA_VERSION};COMMIT;")

    def close(self) -> None:
        with self._lock:
            self._db.close()
        if self.dir_lock is not None:
            self.dir_lock.release()

    # ------------------------------------------------------------------ reads
    def load_core(self, device_id: str) -> dict | None:
        row = self._db.execute("SELECT core FROM device WHERE id=?", (device_id,)).fetchone()
        return json.loads(row[0]) if row else None

    def load_reports(self, device_id: str) -> list[dict]:
        rows = self._db.execute("SELECT body FROM report WHERE device_id=? ORDER BY id", (device_id,))
        return [json.loads(r[0]) for r in rows]

    def load_log(self, table: str, device_id: str, limit: int) -> list[tuple[int, dict]]:
        assert table in ("syslog", "event")
        rows = self._db.execute(
            f"SELECT seq, body FROM {table} WHERE device_id=? ORDER BY seq DESC LIMIT ?", (device_id, limit))
        return [(seq, json.loads(body)) for seq, body in reversed(rows.fetchall())]

    def device_ids(self) -> list[str]:
        return [r[0] for r in self._db.execute("SELECT id FROM device ORDER BY id")]

    # ------------------------------------------------------------------ the one write path
    def commit(self, device_id: str, core: dict, *, reports: list[dict] = (), deleted_reports: list[int] = (),
               syslog: list[tuple[int, dict]] = (), events: list[tuple[int, dict]] = (),
               log_keep: int | None = None, clear_events: bool = False) -> None:
        with self._lock:
            db = self._db
            db.execute("BEGIN IMMEDIATE")
            try:
                db.execute("INSERT INTO device(id, core) VALUES(?, ?) ON CONFLICT(id) DO UPDATE SET core=excluded.core",
                           (device_id, json.dumps(core)))
                if reports:
                    db.executemany(
                        "INSERT INTO report(device_id, id, body) VALUES(?,?,?) "
                        "ON CONFLICT(device_id, id) DO UPDATE SET body=excluded.body",
                        [(device_id, r["id"], json.dumps(r)) for r in reports])
                if deleted_reports:
                    db.executemany("DELETE FROM report WHERE device_id=? AND id=?",
                                   [(device_id, rid) for rid in deleted_reports])
                if clear_events:
                    db.execute("DELETE FROM event WHERE device_id=?", (device_id,))
                for table, rows in (("syslog", syslog), ("event", events)):
                    if rows:
                        db.executemany(f"INSERT INTO {table}(device_id, seq, body) VALUES(?,?,?)",
                                       [(device_id, seq, json.dumps(body)) for seq, body in rows])
                        if log_keep is not None:
                            db.execute(f"DELETE FROM {table} WHERE device_id=? AND seq<=?",
                                       (device_id, rows[-1][0] - log_keep))
                db.execute("COMMIT")
            except BaseException:
                db.execute("ROLLBACK")
                raise

    # ------------------------------------------------------------------ fleet registry (emulator.fleet)
    # One row per fleet member (its inventory entry, next due time, summary for the fleet page) and a few
    # fleet-wide rows whose id starts with "#" (the fleet clock). Created on first use.
    def _fleet_table(self) -> None:
        if not getattr(self, "_fleet_ready", False):
            self._db.execute("CREATE TABLE IF NOT EXISTS fleet (id TEXT PRIMARY KEY, body TEXT NOT NULL)")
            self._fleet_ready = True

    def fleet_rows(self) -> dict[str, dict]:
        with self._lock:
            self._fleet_table()
            return {r[0]: json.loads(r[1]) for r in self._db.execute("SELECT id, body FROM fleet")}

    def fleet_put(self, rows: dict[str, dict]) -> None:
        """Writes the given fleet rows in one transaction."""
        if not rows:
            return
        with self._lock:
            self._fleet_table()
            self._db.execute("BEGIN IMMEDIATE")
            try:
                self._db.executemany("INSERT INTO fleet(id, body) VALUES(?, ?) "
                                     "ON CONFLICT(id) DO UPDATE SET body=excluded.body",
                                     [(k, json.dumps(v)) for k, v in rows.items()])
                self._db.execute("COMMIT")
            except BaseException:
                self._db.execute("ROLLBACK")
                raise

    def fleet_delete(self, device_id: str) -> None:
        with self._lock:
            self._fleet_table()
            self._db.execute("DELETE FROM fleet WHERE id=?", (device_id,))

    def delete_device(self, device_id: str) -> None:
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")
            for table, col in (("device", "id"), ("report", "device_id"), ("syslog", "device_id"),
                               ("event", "device_id")):
                self._db.execute(f"DELETE FROM {table} WHERE {col}=?", (device_id,))
            self._db.execute("COMMIT")
