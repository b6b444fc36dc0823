"""The device's file systems (`bootflash:`, `flash:`, `harddisk:`, `nvram:`) as folders under its state dir.

Every path any front-end gives resolves inside one of these folders or is refused with IOS's
`%Error opening <path> (...)` text: `..` and `.` components, host paths and symbolic links (which only
someone on the host can create) never lead outside. Each file system has the platform's size (profile
data, `set_sizes`): `usage()` gives the real used and free bytes that `dir` shows, and a write that would
go past the size fails with `%Error writing <path> (No space left on device)`.

Writes are atomic and streamed: `open_writer()` gives a `FlashWriter` that writes a staging file outside
the file systems (so it is never listed), counts its bytes against the quota while it grows, and on
`commit()` renames it into place (a reader sees the old file or the whole new one); `abort()` or a failed
write removes it, so no partial file is ever left behind.
"""

from __future__ import annotations

import os
import re
import stat
import tempfile
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator, Mapping

from .errors import DeviceError

FILESYSTEMS = ("bootflash", "harddisk", "nvram")
ALIASES = {"flash": "bootflash"}          # on these routers flash: is bootflash:
NETWORK_SCHEMES = ("tftp", "ftp", "http", "https", "scp", "sftp", "rcp")
# Bytes total of each file system when the profile gives none (a C8000V's 8 GB disk; NVRAM as
# `show startup-config` reports it).
DEFAULT_SIZES = {"bootflash": 7897796608, "harddisk": 7897796608, "nvram": 33554432}
MAX_FILE_BYTES = 16 * 1024 * 1024         # what is read whole into memory (more, import, copy)
STAGING = ".staging"                      # under the flash root, beside (never inside) the file systems
_NAME_RE = re.compile(r"^[A-Za-z0-9_.\-+/]+$")


class FlashError(DeviceError, ValueError):
    def __init__(self, message: str, code: str = "BadInputParams"):
        super().__init__(message, code)


@dataclass(frozen=True)
class FlashPath:
    filesystem: str
    name: str

    def __str__(self) -> str:
        return f"{self.filesystem}:{self.name}"


@dataclass(frozen=True)
class Usage:
    total: int
    used: int

    @property
    def free(self) -> int:
        return max(0, self.total - self.used)


def _split(path: str) -> tuple[str, str, str]:
    """(file system, name, the text as given) of `fs:name` or a bare name (bootflash:)."""
    text = path.strip()
    fs, sep, name = text.partition(":")
    if not sep:
        fs, name = "bootflash", text
    return ALIASES.get(fs.lower(), fs.lower()), name, text


class Flash:
    def __init__(self, root: str | Path, sizes: Mapping[str, int] | None = None):
        self.root = Path(root)
        self.sizes: dict[str, int] = dict(DEFAULT_SIZES)
        self._lock = threading.Lock()
        self._staged: dict[str, int] = {}          # file system -> bytes held by writers not yet committed
        for fs in FILESYSTEMS:
            (self.root / fs).mkdir(parents=True, exist_ok=True)
        self._staging = self.root / STAGING
        self._staging.mkdir(parents=True, exist_ok=True)
        for leftover in self._staging.iterdir():      # uploads a killed process left unfinished
            try:
                leftover.unlink()
            except OSError:
                pass
        if sizes:
            self.set_sizes(sizes)

    def set_sizes(self, sizes: Mapping[str, int]) -> None:
        """The platform's file-system sizes (bytes total); file systems not named keep theirs."""
        for fs, size in sizes.items():
            if fs in FILESYSTEMS and isinstance(size, int) and size >= 0:
                self.sizes[fs] = size

    # ------------------------------------------------------------------ names
    @staticmethod
    def parse(path: str) -> FlashPath:
        """`bootflash:x.txt`, `flash:x.txt`, `harddisk:/dir/x`, `nvram:x`, or a bare name (bootflash:)."""
        fs, name, text = _split(path)
        if fs in NETWORK_SCHEMES:
            raise FlashError(f"%Error opening {text} (Network file systems are not reachable from this device)",
                             "notsupported")
        if fs not in FILESYSTEMS:
            raise FlashError(f"%Error opening {text} (Invalid file system)")
        name = name.lstrip("/")
        parts = name.split("/")
        if not name or not _NAME_RE.match(name) or any(p in ("", ".", "..") for p in parts):
            raise FlashError(f"%Error opening {text} (Invalid file name)")
        return FlashPath(fs, name)

    def _confined(self, fp: FlashPath, text: str) -> Path:
        """The host path of `fp`, refusing one that passes through a symbolic link (or a non-folder)."""
        base = self.root / fp.filesystem
        cur = base
        parts = fp.name.split("/")
        for i, part in enumerate(parts):
            cur = cur / part
            try:
                st = os.lstat(cur)
            except FileNotFoundError:
                return base.joinpath(*parts)
            except OSError:
                raise FlashError(f"%Error opening {text} (Permission denied)", "notfound") from None
            if stat.S_ISLNK(st.st_mode):
                raise FlashError(f"%Error opening {text} (Permission denied)", "notfound")
            if i < len(parts) - 1 and not stat.S_ISDIR(st.st_mode):
                raise FlashError(f"%Error opening {text} (Not a directory)", "notfound")
        return cur

    def local(self, path: str | FlashPath) -> Path:
        fp = path if isinstance(path, FlashPath) else self.parse(path)
        return self._confined(fp, str(path))

    def _regular(self, path: str, verb: str = "opening") -> tuple[Path, os.stat_result]:
        p = self.local(path)
        try:
            st = os.lstat(p)
        except OSError:
            raise FlashError(f"%Error {verb} {path} (No such file or directory)", "notfound") from None
        if not stat.S_ISREG(st.st_mode):
            raise FlashError(f"%Error {verb} {path} (No such file or directory)", "notfound")
        return p, st

    # ------------------------------------------------------------------ reading
    def read(self, path: str) -> bytes:
        p, st = self._regular(path)
        if st.st_size > MAX_FILE_BYTES:
            raise FlashError(f"%Error opening {path} (File too large)")
        return _read_nofollow(p)

    def size(self, path: str) -> int:
        return self._regular(path)[1].st_size

    def open_read(self, path: str):
        """A binary file object of a flash file (for streaming it out)."""
        p, _ = self._regular(path)
        fd = os.open(p, os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0))
        return os.fdopen(fd, "rb")

    def exists(self, path: str) -> bool:
        try:
            self._regular(path)
        except FlashError:
            return False
        return True

    # ------------------------------------------------------------------ writing
    def open_writer(self, path: str) -> "FlashWriter":
        fp = self.parse(path)
        target = self._confined(fp, path)
        if target.is_dir():
            raise FlashError(f"%Error opening {path} (Is a directory)")
        fd, tmp = tempfile.mkstemp(dir=self._staging, prefix=f"{fp.filesystem}-")
        return FlashWriter(self, fp, str(path), fd, Path(tmp))

    def write(self, path: str, data: bytes) -> FlashPath:
        """Atomic: a reader sees the old file or the whole new one. Fails without a trace when the file
        system has no room."""
        with self.open_writer(path) as writer:
            writer.write(data)
            writer.commit()
        return writer.path

    def delete(self, path: str) -> None:
        p, _ = self._regular(path, "deleting")
        p.unlink()

    # ------------------------------------------------------------------ space
    def _used_on_disk(self, fs: str) -> int:
        return sum(size for _, size, _ in self._walk(self.root / fs))

    def usage(self, filesystem: str = "bootflash") -> Usage:
        fs = ALIASES.get(filesystem, filesystem)
        with self._lock:
            return Usage(self.sizes[fs], self._used_on_disk(fs) + self._staged.get(fs, 0))

    def _reserve(self, fp: FlashPath, text: str, delta: int) -> None:
        if delta <= 0:
            with self._lock:
                self._staged[fp.filesystem] = self._staged.get(fp.filesystem, 0) + delta
            return
        fs = fp.filesystem
        with self._lock:
            staged = self._staged.get(fs, 0)
            if self._used_on_disk(fs) + staged + delta > self.sizes[fs]:
                raise FlashError(f"%Error writing {text} (No space left on device)", "nospace")
            self._staged[fs] = staged + delta

    # ------------------------------------------------------------------ listing
    @staticmethod
    def _walk(base: Path) -> Iterator[tuple[str, int, float]]:
        """(relative name, size, mtime) of every regular file under `base`; symbolic links are neither
        listed nor followed."""
        stack = [base]
        while stack:
            folder = stack.pop()
            try:
                entries = list(os.scandir(folder))
            except OSError:
                continue
            for entry in entries:
                try:
                    st = entry.stat(follow_symlinks=False)
                except OSError:
                    continue
                if stat.S_ISDIR(st.st_mode):
                    stack.append(Path(entry.path))
                elif stat.S_ISREG(st.st_mode):
                    yield os.path.relpath(entry.path, base), st.st_size, st.st_mtime

    def folder(self, path: str = "bootflash:") -> tuple[str, str]:
        """(file system, folder inside it, "" for its root) that `dir <path>` lists: `bootflash:`,
        `flash:`, `harddisk:/sub`, a bare file-system name, or a folder of bootflash:. FlashError with IOS's
        `%Error opening` text for anything else (host paths, `..`, links, missing folders)."""
        bare = path.strip()
        if ":" not in bare and ALIASES.get(bare.lower(), bare.lower()) in FILESYSTEMS:
            bare += ":"                    # `bootflash`: the file system itself
        fs, name, text = _split(bare)
        if fs not in FILESYSTEMS:
            raise FlashError(f"%Error opening {fs}:/ (No such device)", "notfound")
        name = name.strip("/")
        if name:
            shown = text if ":" in text else f"{fs}:{text}"
            parts = name.split("/")
            if not _NAME_RE.match(name) or any(p in ("", ".", "..") for p in parts):
                raise FlashError(f"%Error opening {shown} (No such file or directory)", "notfound")
            if not self._confined(FlashPath(fs, name), shown).is_dir():
                raise FlashError(f"%Error opening {shown} (No such file or directory)", "notfound")
        return fs, name

    def listdir(self, path: str = "bootflash") -> list[tuple[str, int, float]]:
        """(name, size, mtime) of the files under a folder (see `folder`), names relative to it."""
        fs, name = self.folder(path)
        base = self.root / fs / name if name else self.root / fs
        return sorted(self._walk(base))


class FlashWriter:
    """One file being written: a staging file counted against its file system's quota."""

    def __init__(self, flash: Flash, path: FlashPath, text: str, fd: int, tmp: Path):
        self.flash = flash
        self.path = path
        self.text = text
        self._fd = fd
        self._tmp = tmp
        self._size = 0                 # bytes reserved (= the staging file's size)
        self._pos = 0
        self.done = False

    @property
    def size(self) -> int:
        return self._size

    def write(self, data: bytes, offset: int | None = None) -> None:
        """Writes at `offset` (default: after the last write). FlashError (and the file is gone) when the
        file system has no room for it."""
        if self.done:
            raise FlashError(f"%Error writing {self.text} (Bad file descriptor)")
        offset = self._pos if offset is None else offset
        end = offset + len(data)
        if end > self._size:
            try:
                self.flash._reserve(self.path, self.text, end - self._size)
            except FlashError:
                self.abort()
                raise
            self._size = end
        try:
            os.pwrite(self._fd, data, offset)
        except OSError as exc:
            self.abort()
            raise FlashError(f"%Error writing {self.text} ({exc.strerror or exc})", "nospace") from None
        self._pos = end

    def commit(self) -> FlashPath:
        if self.done:
            raise FlashError(f"%Error writing {self.text} (Bad file descriptor)")
        try:
            os.fsync(self._fd)
            os.close(self._fd)
            self._fd = -1
            target = self.flash._confined(self.path, self.text)
            target.parent.mkdir(parents=True, exist_ok=True)
            os.replace(self._tmp, target)
        except FlashError:
            self.abort()
            raise
        except OSError as exc:
            self.abort()
            raise FlashError(f"%Error writing {self.text} ({exc.strerror or exc})") from None
        self.done = True
        self.flash._reserve(self.path, self.text, -self._size)
        return self.path

    def abort(self) -> None:
        if self.done:
            return
        self.done = True
        if self._fd >= 0:
            try:
                os.close(self._fd)
            except OSError:
                pass
            self._fd = -1
        try:
            os.unlink(self._tmp)
        except OSError:
            pass
        self.flash._reserve(self.path, self.text, -self._size)

    def __enter__(self) -> "FlashWriter":
        return self

    def __exit__(self, *exc) -> None:
        if not self.done:
            self.abort()


def _read_nofollow(p: Path) -> bytes:
    fd = os.open(p, os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0))
    with os.fdopen(fd, "rb") as f:
        return f.read()
