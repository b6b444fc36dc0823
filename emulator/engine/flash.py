"""The device's file systems (`bootflash:`, `flash:`, `harddisk:`) as folders under its state dir."""

from __future__ import annotations

import os
import re
import tempfile
from dataclasses import dataclass
from pathlib import Path

FILESYSTEMS = ("bootflash", "harddisk")
ALIASES = {"flash": "bootflash"}          # on these routers flash: is bootflash:
NETWORK_SCHEMES = ("tftp", "ftp", "http", "https", "scp", "sftp", "rcp")
MAX_FILE_BYTES = 16 * 1024 * 1024
_NAME_RE = re.compile(r"^[A-Za-z0-9_.\-+/]+$")


class FlashError(ValueError):
    def __init__(self, message: str, code: str = "BadInputParams"):
        super().__init__(message)
        self.code = code


@dataclass(frozen=True)
class FlashPath:
    filesystem: str
    name: str

    def __str__(self) -> str:
        return f"{self.filesystem}:{self.name}"


class Flash:
    def __init__(self, root: str | Path):
        self.root = Path(root)
        for fs in FILESYSTEMS:
            (self.root / fs).mkdir(parents=True, exist_ok=True)

    @staticmethod
    def parse(path: str) -> FlashPath:
        """`bootflash:x.txt`, `flash:x.txt`, `harddisk:/dir/x`, or a bare name (bootflash:)."""
        text = path.strip()
        fs, sep, name = text.partition(":")
        if not sep:
            fs, name = "bootflash", text
        fs = ALIASES.get(fs.lower(), fs.lower())
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

    def local(self, path: str | FlashPath) -> Path:
        fp = path if isinstance(path, FlashPath) else self.parse(path)
        return self.root / fp.filesystem / fp.name

    def read(self, path: str) -> bytes:
        p = self.local(path)
        if not p.is_file():
            raise FlashError(f"%Error opening {path} (No such file or directory)", "notfound")
        if p.stat().st_size > MAX_FILE_BYTES:
            raise FlashError(f"%Error opening {path} (File too large)")
        return p.read_bytes()

    def write(self, path: str, data: bytes) -> FlashPath:
        """Atomic: a reader sees the old file or the whole new one."""
        fp = self.parse(path)
        target = self.local(fp)
        target.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=".tmp-")
        try:
            with os.fdopen(fd, "wb") as f:
                f.write(data)
                f.flush()
                os.fsync(f.fileno())
            os.replace(tmp, target)
        except BaseException:
            if os.path.exists(tmp):
                os.unlink(tmp)
            raise
        return fp

    def delete(self, path: str) -> None:
        p = self.local(path)
        if not p.is_file():
            raise FlashError(f"%Error deleting {path} (No such file or directory)", "notfound")
        p.unlink()

    def listdir(self, filesystem: str = "bootflash") -> list[tuple[str, int, float]]:
        fs = ALIASES.get(filesystem, filesystem)
        base = self.root / fs
        out = []
        for p in sorted(base.rglob("*")):
            if p.is_file() and not p.name.startswith(".tmp-"):
                st = p.stat()
                out.append((str(p.relative_to(base)), st.st_size, st.st_mtime))
        return out
