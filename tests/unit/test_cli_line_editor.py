"""The CLI line editor against a model terminal: what the screen row shows after each edit is the prompt
and the visible part of the line (`$` where text is hidden), and the cursor is where the edit point is."""

from __future__ import annotations

import socket

import pytest

from emulator.frontends.cli.terminal import MAX_LINE, Terminal


class Channel:
    def __init__(self, keys: str):
        self.keys = list(keys)
        self.out = bytearray()

    def settimeout(self, t):
        pass

    def recv(self, n):
        if not self.keys:
            raise socket.timeout()
        k, self.keys = self.keys[:1], self.keys[1:]
        return "".join(k).encode()

    def sendall(self, data):
        self.out += data


def screen(data: bytes) -> tuple[str, int]:
    """The last row of a dumb terminal fed `data`, and the cursor column."""
    row: list[str] = []
    col = 0
    for ch in data.decode():
        if ch == "\r":
            col = 0
        elif ch == "\n":
            row, col = [], 0
        elif ch == "\b":
            col = max(0, col - 1)
        elif ch == "\x07":
            pass
        else:
            if col < len(row):
                row[col] = ch
            else:
                row.extend(" " * (col - len(row)))
                row.append(ch)
            col += 1
    return "".join(row).rstrip(), col


def run(keys: str, width: int = 40, prompt: str = "R#") -> tuple[str, str, int]:
    chan = Channel(keys)
    term = Terminal(chan, pty=True, width=lambda: width)
    term.write(prompt)
    line = term.read_line(prompt)
    # the row before the Enter's "\r\n"
    text, col = screen(bytes(chan.out[:chan.out.rfind(b"\r\n")]))
    return line, text, col


@pytest.mark.parametrize("keys, line, row, col", [
    ("show version\r", "show version", "R#show version", 14),
    ("show vesion\x02\x02\x02\x02r\r", "show version", "R#show version", 10),
    ("show versionn\x7f\x02\x02\x1b[3~o\x1b[C\x1b[C\r", "show version", "R#show version", 14),
    ("abc\x01X\x05Y\r", "XabcY", "R#XabcY", 7),
    ("hello world\x17there\r", "hello there", "R#hello there", 13),
    ("abcdef\x02\x02\x0b\r", "abcd", "R#abcd", 6),
    ("abcdef\x15xy\r", "xy", "R#xy", 4),
])
def test_short_lines(keys, line, row, col):
    assert run(keys) == (line, row, col)


def test_a_long_line_scrolls_like_ios():
    text = "".join(chr(ord("a") + i % 26) for i in range(100))
    line, row, col = run(text + "\r")
    assert line == text
    assert row.startswith("R#$") and row.endswith(text[-(40 - 2 - 1 - 2):]) and len(row) <= 39
    line, row, col = run(text + "\x01\r")                   # Ctrl-A: the start, hidden text to the right
    assert row == "R#" + text[:35] + "$" and col == 2
    line, row, col = run(text + "\x01" + "\x06" * 50 + "\r")
    assert row.startswith("R#$") and row.endswith("$") and len(row) == 39
    shown = row[3:-1]
    assert shown in text and row[col] == text[50]          # the cursor is on the 51st character
    line, row, col = run(text + "\x01" + "\x06" * 50 + "\x7f" * 10 + "XYZ\r")
    assert line == text[:40] + "XYZ" + text[50:]
    assert row[col - 3:col] == "XYZ"


def test_the_line_is_capped_with_one_bell():
    chan = Channel("a" * (MAX_LINE + 50) + "\r")
    term = Terminal(chan, pty=True, width=lambda: 80)
    line = term.read_line("R#")
    assert line == "a" * MAX_LINE
    assert chan.out.count(b"\x07") == 1
    assert len(chan.out) < 2 * MAX_LINE


@pytest.mark.parametrize("keys, line", [
    ("abc\x1bO\x15xy\r", "xy"),          # a control key ends a broken escape sequence and still counts
    ("abc\x1b[\x7f\r", "ab"),
    ("abc\x1b\r", "abc"),
    ("abc\x1bbd\r", "abcd"),             # ESC + a printable key: both dropped (IOS meta keys)
    ("abc\x1b[D\x1b[Dx\r", "axbc"),
])
def test_escape_sequences_never_swallow_control_keys(keys, line):
    assert run(keys)[0] == line
