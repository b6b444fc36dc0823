"""Issue 14 #9: CLI input limits. A command line holds at most MAX_LINE characters (IOS's input buffer),
and editing a long line sends only what changed on the screen row, not the whole line per keystroke."""

from __future__ import annotations

import time

from test_cli_support import Shell, exec_command, router, router_factory  # noqa: F401


MAX_LINE = 4096                 # characters of one command line (emulator.frontends.cli.terminal.MAX_LINE)


def drain(sh: Shell, quiet: float = 0.5, limit: float = 30.0) -> bytes:
    """Everything the server sends until it has been quiet for `quiet` seconds."""
    got = bytearray()
    last = time.monotonic()
    end = last + limit
    while time.monotonic() < end:
        if sh.chan.recv_ready():
            got += sh.chan.recv(1 << 20)
            last = time.monotonic()
        elif time.monotonic() - last > quiet:
            break
        else:
            time.sleep(0.01)
    return bytes(got)


def test_a_megabyte_line_is_capped(router):
    sh = router.shell(quiet=True)
    sh.send("a" * 1_000_000)
    echoed = drain(sh, quiet=1.0, limit=120)
    assert echoed.count(b"\x07") == 1                         # one bell when the buffer is full
    assert len(echoed) < 2 * 80 * 4                           # the row, not the line (80 columns)
    sh.send("\x15show version\r")                             # Ctrl-U: the editor is still sane
    out = sh.read_until(lambda b: "Cisco IOS XE Software" in b and b.rstrip().endswith("Router#"), timeout=30)
    assert "% Invalid input" not in out


def test_editing_a_long_line_redraws_only_what_changed(router_factory):
    r = router_factory()
    sh = Shell(r.port)                                        # a 200-column pty
    try:
        sh.run("terminal length 0")
        sh.send("x" * 20_000)
        drain(sh)
        sh.send("\x01")                                       # Ctrl-A
        for key in ["\x06"] * 100 + ["\x7f"] * 50 + ["b"] * 50:   # Ctrl-F, Backspace, typing
            sh.send(key)
        sent = drain(sh)
        # at most the row twice per key (rewrite + cursor back): 200 keys x 2 x 200 columns; the whole
        # line per key (the defect) was 8 MB
        assert len(sent) < 200 * 2 * 200, f"{len(sent)} bytes for 201 keystrokes"
        sh.send("\x15show clock\r")
        out = sh.read_until(lambda b: b.rstrip().endswith("Router#"), timeout=30)
        assert "UTC" in out and "% Invalid input" not in out
    finally:
        sh.close()


def test_the_line_holds_max_line_characters(router):
    from emulator.frontends.cli import terminal
    assert terminal.MAX_LINE == MAX_LINE
    sh = router.shell(quiet=True)
    arg = "y" * (MAX_LINE - len("show clock "))
    sh.send(f"show clock {arg}{'z' * 100}\r")                 # the z's do not fit
    out = sh.read_until(lambda b: b.rstrip().endswith("Router#"), timeout=30)
    assert "% Invalid input detected at '^' marker." in out
    assert "z" not in out
    long_exec = exec_command(r_port := router.port, "show version" + " " * (MAX_LINE + 10) + "junk")
    assert "Cisco IOS XE Software" in long_exec and r_port
