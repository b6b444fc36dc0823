"""Issue 14 #1, #7, #10: every file path from every front-end stays inside the device's file systems, each
file system has the platform's size with real used/free figures and IOS's out-of-space error, uploads stream
to disk and leave nothing behind when they fail, and every SCP/SFTP target works or gets IOS's error text."""

from __future__ import annotations

import os
import re
import socket
import time

import paramiko
import pytest

from emulator.engine.flash import Flash, FlashError
from test_cli_support import PASSWORD, USER, router, router_factory  # noqa: F401


def sftp_client(port: int, user: str = USER, password: str = PASSWORD):
    client = paramiko.SSHClient()
    client.set_missing_host_key_policy(paramiko.AutoAddPolicy())
    client.connect("127.0.0.1", port, user, password, look_for_keys=False, allow_agent=False, timeout=10,
                   banner_timeout=10, auth_timeout=10)
    return client, client.open_sftp()


def scp_upload(port: int, target: str, name: str, data: bytes, user: str = USER, password: str = PASSWORD):
    """Runs `scp -t <target>` by hand; returns (status, what the server said)."""
    client = paramiko.SSHClient()
    client.set_missing_host_key_policy(paramiko.AutoAddPolicy())
    client.connect("127.0.0.1", port, user, password, look_for_keys=False, allow_agent=False, timeout=10,
                   banner_timeout=10, auth_timeout=10)
    try:
        chan = client.get_transport().open_session(timeout=10)
        chan.settimeout(10)
        chan.exec_command(f"scp -t {target}")
        said = b""
        first = chan.recv(1)
        if first != b"\0":
            said = first + _drain(chan)
            return chan.recv_exit_status(), said.decode("utf-8", "replace")
        chan.sendall(f"C0644 {len(data)} {name}\n".encode())
        ack = chan.recv(1)
        if ack != b"\0":
            said = ack + _drain(chan)
            return chan.recv_exit_status(), said.decode("utf-8", "replace")
        chan.sendall(data + b"\0")
        ack = chan.recv(1)
        if ack != b"\0":
            said = ack + _drain(chan)
        chan.shutdown_write()
        said += _drain(chan)
        return chan.recv_exit_status(), said.decode("utf-8", "replace")
    finally:
        client.close()


def _drain(chan) -> bytes:
    out = b""
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        try:
            data = chan.recv(4096)
        except OSError:
            break
        if not data:
            break
        out += data
        if out.endswith(b"\n"):
            break
    return out


# ============================================================================================ #1 confinement

@pytest.mark.parametrize("arg", ["../..", "../../..", "/etc/ssh", "/proc/self/cwd", "bootflash:../..",
                                 "bootflash:/../../..", "flash:/etc", "harddisk:../../.."])
def test_dir_never_lists_host_paths(router, arg):
    sh = router.shell(quiet=True)
    out = sh.run(f"dir {arg}")
    assert out.startswith("%Error opening "), out
    assert out.rstrip("\n").endswith("(No such file or directory)"), out
    for host_name in ("slpemu.db", "restconf-key.pem", "ssh_host_ecdsa_key", "sshd_config", "authorized_keys"):
        assert host_name not in out


def test_dir_of_the_file_systems_and_a_folder(router):
    flash = router.device.flash
    flash.write("bootflash:sub/inner.txt", b"12345")
    flash.write("bootflash:top.txt", b"abc")
    sh = router.shell(quiet=True)
    out = sh.run("dir bootflash:")
    assert out.startswith("Directory of bootflash:/\n")
    assert re.search(r"-rw- +3 .* top\.txt\n", out) and re.search(r"-rw- +5 .* sub/inner\.txt\n", out)
    sub = sh.run("dir bootflash:sub")
    assert sub.startswith("Directory of bootflash:/sub/\n") and "inner.txt" in sub and "top.txt" not in sub
    assert sh.run("dir nosuch:") == "%Error opening nosuch:/ (No such device)\n"
    assert sh.run("dir nvram:").startswith("Directory of nvram:/\n")


def test_symbolic_links_cannot_escape(router, tmp_path):
    secret = tmp_path / "host-secret.txt"
    secret.write_text("host secret\n")
    base = router.device.flash.root / "bootflash"
    os.symlink(secret, base / "link.txt")
    os.symlink(tmp_path, base / "linkdir")
    sh = router.shell(quiet=True)
    listing = sh.run("dir bootflash:")
    assert "link.txt" not in listing and "linkdir" not in listing and "host-secret" not in listing
    assert sh.run("more bootflash:link.txt") == "%Error opening bootflash:link.txt (Permission denied)\n"
    assert sh.run("more bootflash:linkdir/host-secret.txt") == \
        "%Error opening bootflash:linkdir/host-secret.txt (Permission denied)\n"
    assert sh.run("dir bootflash:linkdir").startswith("%Error opening bootflash:linkdir (Permission denied)")
    out = sh.run("copy bootflash:link.txt bootflash:copy.txt")
    assert out.startswith("%Error opening bootflash:link.txt (Permission denied)")
    client, sftp = sftp_client(router.port)
    try:
        assert "link.txt" not in sftp.listdir("/bootflash")
        with pytest.raises(IOError):
            sftp.open("/bootflash/link.txt").read()
        with pytest.raises(IOError):
            sftp.open("/bootflash/linkdir/host-secret.txt").read()
        with pytest.raises(IOError):
            with sftp.open("/bootflash/linkdir/new.txt", "w") as f:
                f.write(b"x")
    finally:
        client.close()
    assert not (tmp_path / "new.txt").exists()
    assert secret.read_text() == "host secret\n"


def test_flash_unit_paths_stay_inside(tmp_path):
    flash = Flash(tmp_path / "flash")
    for bad in ("../x", "bootflash:../x", "bootflash:/a/../../x", "nosuch:x", "/etc/passwd/../x", ""):
        with pytest.raises(FlashError):
            flash.write(bad, b"x")
    for bad in ("../..", "/etc", "bootflash:/../..", "/proc/self/cwd"):
        with pytest.raises(FlashError) as info:
            flash.listdir(bad)
        assert str(info.value).startswith("%Error opening ")
    assert list(tmp_path.iterdir()) == [tmp_path / "flash"]


# ============================================================================================ #7 quota

def test_dir_shows_the_platform_size_and_real_free_bytes(router_factory):
    r = router_factory(platform="C1111-8P", release="17.12.1a")
    r.device.flash.write("bootflash:a.bin", b"x" * 1000)
    r.device.flash.write("bootflash:sub/b.bin", b"y" * 234)
    out = r.shell(quiet=True).run("dir bootflash:")
    assert out.endswith("\n2908606464 bytes total (2908605230 bytes free)\n"), out   # the guide's C1100 (L3770)
    nvram = r.shell(quiet=True).run("dir nvram:")
    assert nvram.endswith("\n33554432 bytes total (33554432 bytes free)\n"), nvram


def test_writes_past_the_size_fail_with_the_ios_error_and_leave_nothing(router):
    flash = router.device.flash
    flash.set_sizes({"bootflash": 1_000_000})
    flash.write("bootflash:half.bin", b"h" * 600_000)
    sh = router.shell(quiet=True)
    sh.send("copy bootflash:half.bin bootflash:again.bin\n")
    sh.read_until(lambda b: b.endswith("Destination filename [again.bin]? "))
    out = sh.raw("")                               # take the default name
    assert "%Error writing bootflash:again.bin (No space left on device)\r\n" in out, out
    assert sh.run("dir bootflash:").endswith("1000000 bytes total (400000 bytes free)\n")
    # SCP refuses before the data is sent, with the IOS text
    status, said = scp_upload(router.port, "bootflash:", "big.bin", b"b" * 500_000)
    assert status == 1 and "%Error writing bootflash:big.bin (No space left on device)" in said
    # SFTP: the write that does not fit fails, and no partial file is left behind
    client, sftp = sftp_client(router.port)
    try:
        with pytest.raises(IOError) as info:
            with sftp.open("/bootflash/big.bin", "w") as f:
                f.set_pipelined(False)
                for _ in range(20):
                    f.write(b"z" * 32768)
        assert "No space left on device" in str(info.value)
        assert sorted(sftp.listdir("/bootflash")) == ["half.bin"]
    finally:
        client.close()
    assert sorted(n for n, _, _ in flash.listdir("bootflash")) == ["half.bin"]
    assert flash.usage("bootflash").free == 400_000
    assert os.listdir(flash.root / ".staging") == []
    # the engine's own writes meet the same limit: a refused operation, nothing written
    out = sh.run("license smart save usage all file bootflash:usage.txt")
    assert flash.exists("bootflash:usage.txt") or out == ""
    flash.set_sizes({"bootflash": 600_100})
    out = sh.run("license smart save usage all file bootflash:usage2.txt")
    assert out == "%Error writing bootflash:usage2.txt (No space left on device)\n"
    assert not flash.exists("bootflash:usage2.txt")


def test_an_upload_cut_off_before_close_leaves_no_file(router):
    client, sftp = sftp_client(router.port)
    f = sftp.open("/bootflash/cut.bin", "w")
    f.write(b"c" * 300_000)
    f.flush()
    client.close()                                  # gone without closing the file
    flash = router.device.flash
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and os.listdir(flash.root / ".staging"):
        time.sleep(0.05)
    assert not flash.exists("bootflash:cut.bin")
    assert os.listdir(flash.root / ".staging") == []


def test_no_hidden_files(router):
    client, sftp = sftp_client(router.port)
    try:
        with sftp.open("/bootflash/.tmp-stash", "w") as f:
            f.write(b"s" * 1234)
        assert ".tmp-stash" in sftp.listdir("/bootflash")
    finally:
        client.close()
    out = router.shell(quiet=True).run("dir bootflash:")
    assert re.search(r"-rw- +1234 .* \.tmp-stash\n", out), out
    usage = router.device.flash.usage("bootflash")
    assert usage.used == 1234 and out.endswith(f"{usage.total} bytes total ({usage.total - 1234} bytes free)\n")


def test_uploads_stream_to_disk_with_bounded_memory(router):
    psutil = pytest.importorskip("psutil")
    proc = psutil.Process()
    client, sftp = sftp_client(router.port)
    client.get_transport().sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)   # as OpenSSH does
    handles = [sftp.open(f"/bootflash/up{i}.bin", "w") for i in range(8)]
    chunk = os.urandom(32768)
    before = proc.memory_info().rss
    try:
        for _ in range(256):                         # 8 MiB into each of the 8 open handles
            for f in handles:
                f.write(chunk)
        for f in handles:
            f.flush()
        grown = proc.memory_info().rss - before
        assert grown < 40 * 1024 * 1024, f"the server held {grown} bytes of 64 MiB of uploads in memory"
        for f in handles:
            f.close()
        assert [s for _, s, _ in router.device.flash.listdir("bootflash")] == [8 * 1024 * 1024] * 8
    finally:
        client.close()


# ============================================================================================ #10 every target

def test_scp_to_nvram_and_other_targets(router):
    status, said = scp_upload(router.port, "nvram:", "note.txt", b"in nvram\n")
    assert (status, said) == (0, "")
    assert router.device.flash.read("nvram:note.txt") == b"in nvram\n"
    assert "note.txt" in router.shell(quiet=True).run("dir nvram:")
    for target, name, error in (("nosuch:", "x.txt", "%Error opening nosuch: (Invalid file system)"),
                                ("tftp://10.0.0.1/", "x.txt", "%Error opening tftp://10.0.0.1/ (Network file systems are not "
                                                              "reachable from this device)"),
                                ("bootflash:nodir/", "x.txt", "%Error opening bootflash:nodir/ (No such file or directory)"),
                                ("/etc/", "passwd", "%Error opening /etc/ (No such file or directory)"),
                                ("bootflash:", "..", "scp: protocol error")):
        status, said = scp_upload(router.port, target, name, b"data")
        assert status == 1 and said.startswith("\x01scp: ") and error in said, (target, said)
    client, sftp = sftp_client(router.port)
    try:
        assert "nvram" in sftp.listdir("/")
        assert sftp.open("/nvram/note.txt").read() == b"in nvram\n"
        with sftp.open("/nvram/second.txt", "w") as f:
            f.write(b"2")
    finally:
        client.close()
    assert router.device.flash.read("nvram:second.txt") == b"2"
