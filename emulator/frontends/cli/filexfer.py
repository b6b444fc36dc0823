"""SCP (legacy `scp -t` / `scp -f` exec protocol) and SFTP on the CLI's SSH port, reading and writing the
device flash (`ip scp server enable` semantics; both follow that setting). File transfer needs privilege
level 15, as on IOS.

Paths: `bootflash:name`, `flash:name`, `harddisk:name`, `nvram:name`, `/bootflash/name`, or a bare `name`
(bootflash:). The SFTP root `/` lists the file systems as folders. Every path stays inside the device's
file systems (`emulator.engine.flash`); what does not is refused with IOS's `%Error opening` text (SCP) or
an SFTP permission/no-such-file status.

Uploads stream to disk through `Flash.open_writer` (memory stays bounded whatever the file size), count
against the file system's size as they grow, and leave nothing behind when they fail or the client goes
away before closing the file: a full file system answers `%Error writing <path> (No space left on
device)`. Downloads stream from disk too.
"""

from __future__ import annotations

import os
import shlex
import stat
import time

import paramiko

from ...engine.flash import ALIASES, FILESYSTEMS, NETWORK_SCHEMES, FlashError

SCP_DISABLED = "scp: the SCP server of this device is disabled (ip scp server enable)\n"
PRIVILEGE_NEEDED = 15
CHUNK = 32768


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
    fs = ALIASES.get(parts[0], parts[0])
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
    name = ALIASES.get(p.lstrip("/"), p.lstrip("/"))
    return name if name in FILESYSTEMS else None


def _folder_of(flash, target: str) -> str | None:
    """`fs:folder` when the target names an existing folder (a file system or a folder in one)."""
    fs = is_folder(flash, target)
    if fs is not None:
        return f"{fs}:"
    path = flash_path(target)
    if path is None:
        return None
    try:
        fs, folder = flash.folder(path)
    except FlashError:
        return None
    return f"{fs}:{folder}/" if folder else f"{fs}:"


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


def _expect_ok(chan) -> None:
    b = chan.recv(1)
    if b != b"\0":
        raise ScpError("peer refused the transfer")


def run_scp(device, chan, command: str, privilege: int = 15) -> int:
    """Serves one `scp -t <path>` (upload) or `scp -f <path>` (download) exec request."""
    chan.settimeout(60)
    try:
        argv = shlex.split(command)
    except ValueError:
        argv = command.split()
    opts = [a for a in argv[1:] if a.startswith("-")]
    args = [a for a in argv[1:] if not a.startswith("-")]
    if privilege < PRIVILEGE_NEEDED:
        chan.sendall(f"\x01scp: %Error: file transfer needs privilege level {PRIVILEGE_NEEDED}\n".encode())
        return 1
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
    folder = _folder_of(flash, target)
    if folder is None:
        _check_target(target)
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
        if size < 0 or "/" in name or name in ("", ".", ".."):
            raise ScpError("protocol error")
        dest = f"{folder}{name}" if folder else flash_path(target)
        writer = flash.open_writer(dest)          # refuses bad names before reading the data
        try:
            if size > flash.usage(writer.path.filesystem).free:
                raise FlashError(f"%Error writing {dest} (No space left on device)", "nospace")
            chan.sendall(b"\0")
            left = size
            while left > 0:
                data = chan.recv(min(left, CHUNK))
                if not data:
                    raise ScpError("unexpected end of input")
                writer.write(data)
                left -= len(data)
            _expect_ok(chan)
            writer.commit()
        finally:
            writer.abort()                       # nothing when committed; the staging file otherwise
        written += 1
        chan.sendall(b"\0")


def _check_target(target: str) -> None:
    """IOS's error for an upload target that is neither an existing folder nor a file path of the device."""
    text = target.strip()
    if ":" in text:
        fs = text.split(":", 1)[0].lower()
        fs = ALIASES.get(fs, fs)
        if fs in NETWORK_SCHEMES:
            raise FlashError(f"%Error opening {text} (Network file systems are not reachable from this device)")
        if fs not in FILESYSTEMS:
            raise FlashError(f"%Error opening {text} (Invalid file system)")
    if text.endswith("/") or flash_path(text) is None:
        raise FlashError(f"%Error opening {text} (No such file or directory)")


def _scp_source(device, chan, target: str) -> int:
    path = flash_path(target)
    if path is None:
        raise ScpError(f"{target}: not a regular file")
    flash = device.flash
    with flash.open_read(path) as f:
        size = os.fstat(f.fileno()).st_size
        _expect_ok(chan)
        # the name the client asked for (OpenSSH checks that it matches its request)
        name = target.rstrip("/").split("/")[-1] or path.split(":", 1)[1].split("/")[-1]
        chan.sendall(f"C0644 {size} {name}\n".encode())
        _expect_ok(chan)
        left = size
        while left > 0:
            data = f.read(min(left, CHUNK))
            if not data:
                break
            chan.sendall(data)
            left -= len(data)
    chan.sendall(b"\0")
    _expect_ok(chan)
    return 0


# ====================================================================== SFTP
class _Handle(paramiko.SFTPHandle):
    """An open flash file: reads come from the file on disk, writes go to a `FlashWriter`."""

    def __init__(self, flags, sftp: "FlashSFTP", path: str, reader=None, writer=None):
        super().__init__(flags)
        self.sftp = sftp
        self.path = path
        self.reader = reader
        self.writer = writer
        self.failed = False

    def read(self, offset, length):
        if self.reader is None:
            return paramiko.SFTP_PERMISSION_DENIED
        return os.pread(self.reader.fileno(), min(length, 1 << 20), offset)

    def write(self, offset, data):
        if self.writer is None:
            return paramiko.SFTP_PERMISSION_DENIED
        if self.failed:
            return paramiko.SFTP_FAILURE
        try:
            self.writer.write(data, offset)
        except FlashError as exc:           # the writer removed what it had written
            self.failed = True
            self.sftp.last_error = str(exc)
            return paramiko.SFTP_FAILURE
        return paramiko.SFTP_OK

    def stat(self):
        attr = paramiko.SFTPAttributes()
        if self.writer is not None:
            attr.st_size = self.writer.size
        else:
            attr.st_size = os.fstat(self.reader.fileno()).st_size
        attr.st_mode = stat.S_IFREG | 0o644
        attr.st_mtime = int(time.time())
        return attr

    def chattr(self, attr):
        return paramiko.SFTP_OK

    def abort(self) -> None:
        """The client went away without closing the file: nothing of it is kept."""
        if self.writer is not None:
            self.writer.abort()
        if self.reader is not None:
            self.reader.close()

    def close(self):
        if self.writer is not None and not self.writer.done:
            try:
                self.writer.commit()
            except FlashError as exc:
                self.sftp.last_error = str(exc)
        if self.reader is not None:
            self.reader.close()
        super().close()


class FlashSFTP(paramiko.SFTPServerInterface):
    """SFTP over the device flash. Constructed by paramiko with (server, device); `server` is the SSH
    server interface of the connection (its `privilege` is the user's)."""

    def __init__(self, server, device, *args, **kwargs):
        super().__init__(server, *args, **kwargs)
        self.device = device
        self.flash = device.flash
        self.privilege = getattr(server, "privilege", 15)
        self.last_error: str | None = None

    def _allowed(self) -> bool:
        return self.privilege >= PRIVILEGE_NEEDED and bool(self.device.system.ip_scp_server)

    def canonicalize(self, path):
        p = flash_path(path)
        if p is None:
            fs = is_folder(self.flash, path)
            return "/" if path.strip() in ("", ".", "/") else f"/{fs or 'bootflash'}"
        fs, name = p.split(":", 1)
        fs = ALIASES.get(fs, fs)
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
        folder = _folder_of(self.flash, path)
        if folder is None:
            return paramiko.SFTP_NO_SUCH_FILE
        try:
            files = self.flash.listdir(folder)
        except FlashError:
            return paramiko.SFTP_NO_SUCH_FILE
        out = []
        for name, size, mtime in files:
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
        if path.strip() in ("/", ""):
            return self._dir_attr("/")
        folder = _folder_of(self.flash, path)
        if folder is not None:
            return self._dir_attr(path.strip("/"))
        p = flash_path(path)
        try:
            local = self.flash.local(p)
            st = os.lstat(local)
        except (FlashError, OSError, TypeError):
            return paramiko.SFTP_NO_SUCH_FILE
        if not stat.S_ISREG(st.st_mode):
            return paramiko.SFTP_NO_SUCH_FILE
        return paramiko.SFTPAttributes.from_stat(st, local.name)

    lstat = stat

    def open(self, path, flags, attr):
        if not self._allowed():
            return paramiko.SFTP_PERMISSION_DENIED
        p = flash_path(path)
        if p is None:
            return paramiko.SFTP_FAILURE
        writing = bool(flags & (os.O_WRONLY | os.O_RDWR))
        try:
            self.flash.parse(p)
            if not writing:
                return _Handle(flags, self, p, reader=self.flash.open_read(p))
            exists = self.flash.exists(p)
            if not exists and not flags & os.O_CREAT:
                return paramiko.SFTP_NO_SUCH_FILE
            if exists and flags & os.O_EXCL:
                return paramiko.SFTP_FAILURE
            writer = self.flash.open_writer(p)
        except FlashError as exc:
            self.last_error = str(exc)
            return paramiko.SFTP_NO_SUCH_FILE if exc.code == "notfound" else paramiko.SFTP_PERMISSION_DENIED
        try:
            if exists and not flags & os.O_TRUNC:       # keep what is there (append, read-write)
                with self.flash.open_read(p) as old:
                    while True:
                        chunk = old.read(1 << 20)
                        if not chunk:
                            break
                        writer.write(chunk)
            reader = open(writer._tmp, "rb") if flags & os.O_RDWR else None
        except (FlashError, OSError) as exc:
            writer.abort()
            self.last_error = str(exc)
            return paramiko.SFTP_FAILURE
        handle = _Handle(flags, self, p, reader=reader, writer=writer)
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
        old, new = flash_path(oldpath), flash_path(newpath)
        try:
            if old is None or new is None:
                raise FlashError("%Error renaming (Invalid file name)")
            with self.flash.open_read(old) as src, self.flash.open_writer(new) as writer:
                while True:
                    chunk = src.read(1 << 20)
                    if not chunk:
                        break
                    writer.write(chunk)
                writer.commit()
            self.flash.delete(old)
        except FlashError as exc:
            self.last_error = str(exc)
            return paramiko.SFTP_FAILURE
        return paramiko.SFTP_OK

    posix_rename = rename

    def chattr(self, path, attr):
        return paramiko.SFTP_OK

    def mkdir(self, path, attr):
        return paramiko.SFTP_OP_UNSUPPORTED

    def rmdir(self, path):
        return paramiko.SFTP_OP_UNSUPPORTED

    def symlink(self, target_path, path):
        return paramiko.SFTP_OP_UNSUPPORTED

    def readlink(self, path):
        return paramiko.SFTP_OP_UNSUPPORTED
