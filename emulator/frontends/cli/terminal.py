"""The terminal side of a CLI session: reading keys from an SSH channel, line editing, echo, paging.

A pty session (what ssh, PuTTY, unicon and netmiko ask for) gets echo and editing keys: Backspace,
Ctrl-A/E/B/F, arrows, Ctrl-U/W/K, history (Ctrl-P/N, Up/Down), Tab completion, `?` help, Ctrl-C, Ctrl-Z.
A session without a pty reads plain lines without echo. Output goes out with "\r\n" line ends, paged with
` --More-- ` when the terminal length is non-zero.
"""

from __future__ import annotations

import queue
import socket
from typing import Callable

MORE = " --More-- "


class Disconnected(Exception):
    """The client closed the channel (or the server is stopping)."""


class Terminal:
    def __init__(self, channel, pty: bool, poll: Callable[[], None] | None = None,
                 idle_timeout: float = 0.0, stop_event=None):
        self.channel = channel
        self.pty = pty
        self.poll = poll                 # called every poll period while waiting for input
        self.idle_timeout = idle_timeout  # 0 = never
        self.stop_event = stop_event
        self.pending: list[str] = []
        self._skip_lf = False
        self.history: list[str] = []
        channel.settimeout(0.2)

    # ------------------------------------------------------------------ raw IO
    def write(self, text: str) -> None:
        if not text:
            return
        data = text.encode("utf-8", "replace")
        try:
            self.channel.sendall(data)
        except (OSError, EOFError, socket.timeout) as exc:
            raise Disconnected() from exc

    def write_lines(self, text: str) -> None:
        """Writes text with "\n" ends as "\r\n"."""
        self.write(text.replace("\r\n", "\n").replace("\n", "\r\n"))

    def read_char(self, timeout: float | None = None) -> str | None:
        """One character; None on timeout (only when `timeout` is given)."""
        waited = 0.0
        while not self.pending:
            if self.stop_event is not None and self.stop_event.is_set():
                raise Disconnected()
            try:
                data = self.channel.recv(4096)
            except socket.timeout:
                waited += 0.2
                if self.poll is not None:
                    self.poll()
                if timeout is not None and waited >= timeout:
                    return None
                if self.idle_timeout and waited >= self.idle_timeout:
                    raise Disconnected()
                continue
            except (OSError, EOFError) as exc:
                raise Disconnected() from exc
            if not data:
                raise Disconnected()
            self.pending.extend(data.decode("utf-8", "replace"))
        return self.pending.pop(0)

    # ------------------------------------------------------------------ paging
    def page(self, text: str, length: int) -> None:
        """Writes `text` ("\n" ends), pausing every `length - 1` lines when interactive."""
        text = text.replace("\r\n", "\n")
        if not self.pty or length <= 0:
            self.write_lines(text)
            return
        lines = text.split("\n")
        trailing = text.endswith("\n")
        if trailing:
            lines = lines[:-1]
        budget = length - 1
        i = 0
        while i < len(lines):
            chunk = lines[i:i + budget]
            i += len(chunk)
            self.write("\r\n".join(chunk) + ("\r\n" if i < len(lines) or trailing else ""))
            if i >= len(lines):
                break
            self.write(MORE)
            key = self.read_char()
            self.write("\b" * len(MORE) + " " * len(MORE) + "\b" * len(MORE))
            if key == " ":
                budget = length - 1
            elif key in ("\r", "\n"):
                budget = 1
                if key == "\r":
                    self._skip_lf = True
            else:
                return

    # ------------------------------------------------------------------ line editing
    def read_line(self, prompt: str, *, echo: bool = True, on_help=None, on_complete=None,
                  on_idle=None, history: bool = True, initial: str = "") -> str | None:
        """Reads one line. Returns None for Ctrl-Z (end). `on_help(buffer)` -> text to show for `?`;
        `on_complete(buffer)` -> new buffer or None; `on_idle()` -> lines to show above the prompt."""
        buf = list(initial)
        cur = len(buf)
        hist_pos = len(self.history)
        echo = echo and self.pty

        def redraw(clear_extra: int = 0) -> None:
            if not echo:
                return
            text = "".join(buf)
            self.write("\r" + prompt + text + " " * clear_extra + "\b" * (clear_extra + len(buf) - cur))

        def show_above(lines: str) -> None:
            if echo:
                self.write("\r\n")
            self.write_lines(lines)
            if echo:
                self.write(prompt + "".join(buf) + "\b" * (len(buf) - cur))

        if initial and echo:
            self.write("".join(buf))
        old_poll = self.poll

        def poll():
            if old_poll is not None:
                old_poll()
            if on_idle is not None:
                msgs = on_idle()
                if msgs:
                    show_above(msgs)
        self.poll = poll
        try:
            while True:
                ch = self.read_char()
                if self._skip_lf:
                    self._skip_lf = False
                    if ch in ("\n", "\x00"):
                        continue
                if ch in ("\r", "\n"):
                    if ch == "\r":
                        self._skip_lf = True
                    if echo:
                        self.write("\r\n")
                    line = "".join(buf)
                    if history and line.strip() and (not self.history or self.history[-1] != line):
                        self.history.append(line)
                        del self.history[:-20]
                    return line
                if not self.pty:
                    if ch == "?" and on_help is not None:
                        buf.append(ch)
                        continue
                    if ch >= " " or ch == "\t":
                        buf.append(ch)
                    continue
                if ch in ("\x7f", "\x08"):
                    if cur > 0:
                        del buf[cur - 1]
                        cur -= 1
                        if cur == len(buf) and echo:
                            self.write("\b \b")
                        else:
                            redraw(1)
                elif ch == "\x01":                       # Ctrl-A
                    cur = 0
                    redraw()
                elif ch == "\x05":                       # Ctrl-E
                    cur = len(buf)
                    redraw()
                elif ch == "\x02":                       # Ctrl-B
                    if cur > 0:
                        cur -= 1
                        if echo:
                            self.write("\b")
                elif ch == "\x06":                       # Ctrl-F
                    if cur < len(buf):
                        if echo:
                            self.write(buf[cur])
                        cur += 1
                elif ch == "\x15":                       # Ctrl-U
                    extra = len(buf)
                    del buf[:]
                    cur = 0
                    redraw(extra)
                elif ch == "\x0b":                       # Ctrl-K
                    extra = len(buf) - cur
                    del buf[cur:]
                    redraw(extra)
                elif ch == "\x17":                       # Ctrl-W
                    j = cur
                    while j > 0 and buf[j - 1] == " ":
                        j -= 1
                    while j > 0 and buf[j - 1] != " ":
                        j -= 1
                    extra = cur - j
                    del buf[j:cur]
                    cur = j
                    redraw(extra)
                elif ch == "\x03":                       # Ctrl-C: abandon the line
                    if echo:
                        self.write("^C\r\n")
                    return ""
                elif ch == "\x1a":                       # Ctrl-Z: end
                    if echo:
                        self.write("^Z\r\n")
                    return None
                elif ch in ("\x10", "\x0e"):             # Ctrl-P / Ctrl-N
                    hist_pos, buf, cur = self._history_move(hist_pos, -1 if ch == "\x10" else 1, buf, redraw)
                elif ch == "\x1b":
                    seq = self._escape()
                    if seq in ("A", "B"):
                        hist_pos, buf, cur = self._history_move(hist_pos, -1 if seq == "A" else 1, buf, redraw)
                    elif seq == "C" and cur < len(buf):
                        if echo:
                            self.write(buf[cur])
                        cur += 1
                    elif seq == "D" and cur > 0:
                        cur -= 1
                        if echo:
                            self.write("\b")
                    elif seq == "H":
                        cur = 0
                        redraw()
                    elif seq == "F":
                        cur = len(buf)
                        redraw()
                    elif seq == "3~" and cur < len(buf):
                        del buf[cur]
                        redraw(1)
                elif ch == "\t":
                    if on_complete is not None and cur == len(buf):
                        new = on_complete("".join(buf))
                        if new is not None:
                            extra = max(0, len(buf) - len(new))
                            buf = list(new)
                            cur = len(buf)
                            redraw(extra)
                elif ch == "?" and on_help is not None:
                    text = on_help("".join(buf[:cur]))
                    if echo:
                        self.write("?\r\n")
                    self.write_lines(text)
                    del buf[cur:]
                    cur = len(buf)
                    if echo:
                        self.write(prompt + "".join(buf))
                elif ch >= " ":
                    buf.insert(cur, ch)
                    cur += 1
                    if cur == len(buf):
                        if echo:
                            self.write(ch)
                    else:
                        redraw()
        finally:
            self.poll = old_poll

    def _escape(self) -> str:
        first = self.read_char(timeout=0.5)
        if first not in ("[", "O"):
            return ""
        seq = ""
        while True:
            ch = self.read_char(timeout=0.5)
            if ch is None:
                return seq
            seq += ch
            if ch.isalpha() or ch == "~" or len(seq) > 4:
                return seq

    def _history_move(self, pos: int, step: int, buf: list[str], redraw):
        new = max(0, min(len(self.history), pos + step))
        if new == pos:
            return pos, buf, len(buf)
        extra = len(buf)
        text = self.history[new] if new < len(self.history) else ""
        buf[:] = list(text)
        redraw(max(0, extra - len(buf)))
        return new, buf, len(buf)

    def read_key(self) -> str:
        """One keystroke (for `[confirm]` prompts)."""
        ch = self.read_char()
        if self._skip_lf and ch == "\n":
            self._skip_lf = False
            ch = self.read_char()
        if ch == "\r":
            self._skip_lf = True
        return ch


class MessageQueue:
    """Syslog lines waiting for a session's terminal (filled from any thread)."""

    def __init__(self, limit: int = 1000):
        self._q: queue.Queue[str] = queue.Queue(limit)

    def put(self, line: str) -> None:
        try:
            self._q.put_nowait(line)
        except queue.Full:
            pass

    def drain(self) -> list[str]:
        out = []
        while True:
            try:
                out.append(self._q.get_nowait())
            except queue.Empty:
                return out
