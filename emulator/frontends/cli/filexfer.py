"""SCP (legacy `scp -t` / `scp -f` exec protocol) and SFTP on the CLI's SSH port, reading and writing the
device flash (`ip scp server enable` semantics; both follow that setting).

Paths: `bootflash:name`, `flash:name`, `harddisk:name`, `/bootflash/name`, or a bare `name` (bootflash:).
The SFTP root `/` lists the file systems as folders.
"""

from __future__ import annotations

import io
import os
import shlex
import stat
import time

import paramiko

from ...engine.flash import FILESYSTEMS, FlashError

SCP_DISABLED = "scp: the SCP server of this device is disabled (ip scp server enable)\n"


def flash_path(path: str) -> str | None:
    """A client path as a flash path string; None for the root or a bare file system (a folder)."""
    p = path.strip()
    if p in ("", ".", "/", "./"):
        return None
    if ":" in p:
        fs, _, rest = p.partition(":")
        rest = rest.lstrip("/")
        return f"{fs}:{rest}" if rest else None
    parts = [x for x in p.split("/") if x not in ("", ".")]
    if not parts:
        return None
    fs = {"flash": "bootflash"}.get(parts[0], parts[0])
    if fs in FILESYSTEMS:
        rest = "/".join(parts[1:])
        return f"{fs}:{rest}" if rest else None
    return "bootflash:" + "/".join(parts)


def is_folder(flash, path: str) -> str | None:
    """The file-system name if `path` names a file system (a folder), else None."""
    p = path.strip().rstrip("/")
    if p in ("", ".", "/"):
        return "bootflash"
    if p.endswith(":"):
        p = p[:-1]
    name = {"flash": "bootflash"}.get(p.lstrip("/"), p.lstrip("/"))
    return name if name in FILESYSTEMS else None


# ====================================================================== SCP
class ScpError(Exception):
    pass


def _read_line(chan, limit: int = 4096) -> bytes:
    buf = b""
    while not buf.endswith(b"\n"):
        ch = chan.recv(1)
        if not ch:
            if buf:
                raise ScpError("unexpected end of input")
            return b""
        buf += ch
        if len(buf) > limit:
            raise ScpError("protocol line too long")
    return buf


def _read_exact(chan, n: int) -> bytes:
    chunks = []
    while n > 0:
        data = chan.recv(min(n, 32768))
        if not data:
            raise ScpError("unexpected end of input")
        chunks.append(data)
        n -= len(data)
    return b"".join(chunks)


def _expect_ok(chan) -> None:
    b = chan.recv(1)
    if b != b"\0":
        raise ScpError("peer refused the transfer")


def run_scp(device, chan, command: str) -> int:
    """Serves one `scp -t <path>` (upload) or `scp -f <path>` (download) exec request."""
    chan.settimeout(60)
    try:
        argv = shlex.split(command)
    except ValueError:
        argv = command.split()
    opts = [a for a in argv[1:] if a.startswith("-")]
    args = [a for a in argv[1:] if not a.startswith("-")]
    if not device.system.ip_scp_server:
        chan.sendall(b"\x01" + SCP_DISABLED.encode())
        return 1
    target = args[-1] if args else "bootflash:"
    try:
        if "-t" in opts:
            return _scp_sink(device, chan, target)
        if "-f" in opts:
            return _scp_source(device, chan, target)
        chan.sendall(b"\x01scp: unsupported mode\n")
        return 1
    except (ScpError, FlashError, OSError, EOFError) as exc:
        try:
            chan.sendall(b"\x01scp: " + str(exc).encode() + b"\n")
        except Exception:
            pass
        return 1


def _scp_sink(device, chan, target: str) -> int:
    flash = device.flash
    folder = is_folder(flash, target)
    chan.sendall(b"\0")
    written = 0
    while True:
        line = _read_line(chan)
        if not line:
            return 0 if written else 1
        kind = line[:1]
        if kind == b"T":              # times (-p): acknowledged, not kept
            chan.sendall(b"\0")
            continue
        if kind in (b"D", b"E"):
            chan.sendall(b"\x01scp: directories are not supported\n")
            return 1
        if kind != b"C":
            raise ScpError("protocol error")
        try:
            _mode, size_text, name = line[1:].decode().rstrip("\n").split(" ", 2)
            size = int(size_text)
        except ValueError:
            raise ScpError("protocol error") from None
        if size > 16 * 1024 * 1024:
            chan.sendall(b"\x01scp: file too large\n")
            return 1
        dest = f"{folder}:{name}" if folder else flash_path(target)
        flash.parse(dest)           # reject bad names before reading the data
        chan.sendall(b"\0")
        data = _read_exact(chan, size)
        _expect_ok(chan)
        flash.write(dest, data)
        written += 1
        chan.sendall(b"\0")


def _scp_source(device, chan, target: str) -> int:
    path = flash_path(target)
    if path is None:
        raise ScpError(f"{target}: not a regular file")
    data = device.flash.read(path)
    _expect_ok(chan)
    # the name the client asked for (OpenSSH checks that it matches its request)
    name = target.rstrip("/").split("/")[-1] or path.split(":", 1)[1].split("/")[-1]
    chan.sendall(f"C0644 {len(data)} {name}\n".encode())
    _expect_ok(chan)
    chan.sendall(data + b"\0")
    _expect_ok(chan)
    return 0


# ====================================================================== SFTP
class _Handle(paramiko.SFTPHandle):
    def __init__(self, flags, flash, path: str, data: bytes | None):
        super().__init__(flags)
        self.flash = flash
        self.path = path
        self.buffer = io.BytesIO(data or b"")
        self.writing = bool(flags & (os.O_WRONLY | os.O_RDWR))
        self.dirty = False
        if flags & os.O_APPEND:
            self.buffer.seek(0, io.SEEK_END)

    def read(self, offset, length):
        self.buffer.seek(offset)
        return self.buffer.read(length)

    def write(self, offset, data):
        if not self.writing:
            return paramiko.SFTP_PERMISSION_DENIED
        if offset + len(data) > 16 * 1024 * 1024:
            return paramiko.SFTP_FAILURE
        self.buffer.seek(offset)
        self.buffer.write(data)
        self.dirty = True
        return paramiko.SFTP_OK

    def stat(self):
        attr = paramiko.SFTPAttributes()
        attr.st_size = len(self.buffer.getvalue())
        attr.st_mode = stat.S_IFREG | 0o644
        attr.st_mtime = int(time.time())
        return attr

    def chattr(self, attr):
        return paramiko.SFTP_OK

    def close(self):
        if self.writing and (self.dirty or self.path):
            try:
                self.flash.write(self.path, self.buffer.getvalue())
            except FlashError:
                pass
        super().close()


class FlashSFTP(paramiko.SFTPServerInterface):
    """SFTP over the device flash. Constructed by paramiko with (server, device)."""

    def __init__(self, server, device, *args, **kwargs):
        super().__init__(server, *args, **kwargs)
        self.device = device
        self.flash = device.flash

    def _allowed(self) -> bool:
        return bool(self.device.system.ip_scp_server)

    def canonicalize(self, path):
        p = flash_path(path)
        if p is None:
            fs = is_folder(self.flash, path)
            return "/" if path.strip() in ("", ".", "/") else f"/{fs or 'bootflash'}"
        fs, name = p.split(":", 1)
        fs = {"flash": "bootflash"}.get(fs, fs)
        return f"/{fs}/{name}"

    def _dir_attr(self, name: str) -> paramiko.SFTPAttributes:
        attr = paramiko.SFTPAttributes()
        attr.filename = name
        attr.st_mode = stat.S_IFDIR | 0o755
        attr.st_size = 0
        attr.st_mtime = int(time.time())
        return attr

    def list_folder(self, path):
        if not self._allowed():
            return paramiko.SFTP_PERMISSION_DENIED
        if path.strip() in ("/", ""):
            return [self._dir_attr(fs) for fs in FILESYSTEMS]
        fs = is_folder(self.flash, path)
        if fs is None:
            return paramiko.SFTP_NO_SUCH_FILE
        out = []
        for name, size, mtime in self.flash.listdir(fs):
            attr = paramiko.SFTPAttributes()
            attr.filename = name
            attr.st_size = size
            attr.st_mode = stat.S_IFREG | 0o644
            attr.st_mtime = int(mtime)
            out.append(attr)
        return out

    def stat(self, path):
        if not self._allowed():
            return paramiko.SFTP_PERMISSION_DENIED
        if path.strip() in ("/", "") or (flash_path(path) is None and is_folder(self.flash, path)):
            return self._dir_attr(path.strip("/") or "/")
        try:
            local = self.flash.local(flash_path(path))
        except FlashError:
            return paramiko.SFTP_NO_SUCH_FILE
        if not local.is_file():
            return paramiko.SFTP_NO_SUCH_FILE
        return paramiko.SFTPAttributes.from_stat(local.stat(), local.name)

    lstat = stat

    def open(self, path, flags, attr):
        if not self._allowed():
            return paramiko.SFTP_PERMISSION_DENIED
        p = flash_path(path)
        if p is None:
            return paramiko.SFTP_FAILURE
        try:
            self.flash.parse(p)
        except FlashError:
            return paramiko.SFTP_PERMISSION_DENIED
        writing = bool(flags & (os.O_WRONLY | os.O_RDWR))
        data = None
        if not (flags & os.O_TRUNC) or not writing:
            try:
                data = self.flash.read(p)
            except FlashError:
                if not writing or not (flags & os.O_CREAT):
                    return paramiko.SFTP_NO_SUCH_FILE
        handle = _Handle(flags, self.flash, p if writing else "", data)
        handle.filename = p
        return handle

    def remove(self, path):
        if not self._allowed():
            return paramiko.SFTP_PERMISSION_DENIED
        p = flash_path(path)
        try:
            self.flash.delete(p)
        except (FlashError, TypeError):
            return paramiko.SFTP_NO_SUCH_FILE
        return paramiko.SFTP_OK

    def rename(self, oldpath, newpath):
        if not self._allowed():
            return paramiko.SFTP_PERMISSION_DENIED
        try:
            data = self.flash.read(flash_path(oldpath))
            self.flash.write(flash_path(newpath), data)
            self.flash.delete(flash_path(oldpath))
        except (FlashError, TypeError):
            return paramiko.SFTP_FAILURE
        return paramiko.SFTP_OK

    posix_rename = rename

    def chattr(self, path, attr):
        return paramiko.SFTP_OK

    def mkdir(self, path, attr):
        return paramiko.SFTP_OP_UNSUPPORTED

    def rmdir(self, path):
        return paramiko.SFTP_OP_UNSUPPORTED
