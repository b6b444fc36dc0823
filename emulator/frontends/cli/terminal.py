"""The terminal side of a CLI session: reading keys from an SSH channel, line editing, echo, paging.

A pty session (what ssh, PuTTY, unicon and netmiko ask for) gets echo and editing keys: Backspace,
Ctrl-A/E/B/F, arrows, Ctrl-U/W/K, history (Ctrl-P/N, Up/Down), Tab completion, `?` help, Ctrl-C, Ctrl-Z.
A session without a pty reads plain lines without echo. Output goes out with "\r\n" line ends, paged with
` --More-- ` when the terminal length is non-zero.

A line holds at most MAX_LINE characters (more are refused with a bell, as IOS's input buffer does). The
line is drawn on one screen row: one longer than the terminal width scrolls horizontally as on IOS, with a
`$` where text is hidden, and every keystroke sends only what changed on that row, so editing a long line
costs a few dozen bytes per key, never the whole line.
"""

from __future__ import annotations

import queue
import socket
from collections import deque
from typing import Callable

MORE = " --More-- "
MAX_LINE = 4096            # characters of one command line (IOS's input buffer)
SCROLL = 10                # characters a long line scrolls by when the cursor leaves the row
DEFAULT_WIDTH = 80


class Disconnected(Exception):
    """The client closed the channel (or the server is stopping)."""


class Terminal:
    def __init__(self, channel, pty: bool, poll: Callable[[], None] | None = None,
                 idle_timeout: float = 0.0, stop_event=None, width: Callable[[], int] | None = None):
        self.channel = channel
        self.pty = pty
        self.poll = poll                 # called every poll period while waiting for input
        self.idle_timeout = idle_timeout  # 0 = never
        self.stop_event = stop_event
        self.width = width or (lambda: DEFAULT_WIDTH)   # the terminal's width (0: IOS's widest, 512)
        self.pending: deque[str] = deque()
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
        return self.pending.popleft()

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
        """Reads one line (the prompt is already on the screen). Returns None for Ctrl-Z (end).
        `on_help(buffer)` -> text to show for `?`; `on_complete(buffer)` -> new buffer or None;
        `on_idle()` -> lines to show above the prompt."""
        buf = list(initial[:MAX_LINE])
        cur = len(buf)
        hist_pos = len(self.history)
        echo = echo and self.pty
        view = _Row(self, prompt) if echo else None
        refused = False

        def redraw() -> None:
            if view is not None:
                view.update(buf, cur)

        def show_above(lines: str) -> None:
            if echo:
                self.write("\r\n")
            self.write_lines(lines)
            if echo:
                self.write(prompt)
                view.reset()
                redraw()

        redraw()
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
                full = len(buf) >= MAX_LINE
                if not self.pty:
                    if (ch >= " " or ch == "\t") and not full:
                        buf.append(ch)
                    continue
                if ch >= " " and ch != "\x7f" and (ch != "?" or on_help is None):
                    if full:                             # IOS's buffer is full: a bell, once
                        if echo and not refused:
                            self.write("\x07")
                        refused = True
                        continue
                    buf.insert(cur, ch)
                    cur += 1
                    refused = False
                    redraw()
                    continue
                refused = False
                if ch in ("\x7f", "\x08"):
                    if cur > 0:
                        del buf[cur - 1]
                        cur -= 1
                        redraw()
                elif ch == "\x01":                       # Ctrl-A
                    cur = 0
                    redraw()
                elif ch == "\x05":                       # Ctrl-E
                    cur = len(buf)
                    redraw()
                elif ch == "\x02":                       # Ctrl-B
                    if cur > 0:
                        cur -= 1
                        redraw()
                elif ch == "\x06":                       # Ctrl-F
                    if cur < len(buf):
                        cur += 1
                        redraw()
                elif ch == "\x15":                       # Ctrl-U
                    del buf[:]
                    cur = 0
                    redraw()
                elif ch == "\x0b":                       # Ctrl-K
                    del buf[cur:]
                    redraw()
                elif ch == "\x17":                       # Ctrl-W
                    j = cur
                    while j > 0 and buf[j - 1] == " ":
                        j -= 1
                    while j > 0 and buf[j - 1] != " ":
                        j -= 1
                    del buf[j:cur]
                    cur = j
                    redraw()
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
                    redraw()
                elif ch == "\x1b":
                    seq = self._escape()
                    if seq in ("A", "B"):
                        hist_pos, buf, cur = self._history_move(hist_pos, -1 if seq == "A" else 1, buf, redraw)
                        redraw()
                    elif seq == "C" and cur < len(buf):
                        cur += 1
                        redraw()
                    elif seq == "D" and cur > 0:
                        cur -= 1
                        redraw()
                    elif seq == "H":
                        cur = 0
                        redraw()
                    elif seq == "F":
                        cur = len(buf)
                        redraw()
                    elif seq == "3~" and cur < len(buf):
                        del buf[cur]
                        redraw()
                elif ch == "\t":
                    if on_complete is not None and cur == len(buf):
                        new = on_complete("".join(buf))
                        if new is not None:
                            buf = list(new[:MAX_LINE])
                            cur = len(buf)
                            redraw()
                elif ch == "?" and on_help is not None:
                    text = on_help("".join(buf[:cur]))
                    if echo:
                        self.write("?\r\n")
                    self.write_lines(text)
                    del buf[cur:]
                    cur = len(buf)
                    if echo:
                        self.write(prompt)
                        view.reset()
                        redraw()
        finally:
            self.poll = old_poll

    def _escape(self) -> str:
        """The rest of an escape sequence after ESC. A control key (Enter, Ctrl-U...) ends a broken sequence
        and still counts as a key, as on a terminal; ESC followed by a printable key drops both."""
        first = self.read_char(timeout=0.5)
        if first is not None and (first < " " or first == "\x7f"):
            self.pending.appendleft(first)
            return ""
        if first not in ("[", "O"):
            return ""
        seq = ""
        while True:
            ch = self.read_char(timeout=0.5)
            if ch is None:
                return seq
            if ch < " " or ch == "\x7f":
                self.pending.appendleft(ch)
                return ""
            seq += ch
            if ch.isalpha() or ch == "~" or len(seq) > 4:
                return seq

    def _history_move(self, pos: int, step: int, buf: list[str], redraw):
        new = max(0, min(len(self.history), pos + step))
        if new == pos:
            return pos, buf, len(buf)
        text = self.history[new] if new < len(self.history) else ""
        buf[:] = list(text[:MAX_LINE])
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


class _Row:
    """The command line as drawn after the prompt: one screen row (no wrap), scrolled horizontally like
    IOS when the line is longer than the row (`$` marks hidden text). `update` sends only the difference
    between what the row shows and what it should show."""

    def __init__(self, term: Terminal, prompt: str):
        self.term = term
        self.prompt = prompt
        self.shown = ""            # the characters on the row after the prompt
        self.col = 0               # the cursor's position among them
        self.offset = 0            # index in the line of the first character shown

    def reset(self) -> None:
        """The prompt was just written again on a fresh row."""
        self.shown, self.col = "", 0

    def _window(self, buf: list[str], cur: int) -> tuple[str, int]:
        width = self.term.width() or 512
        avail = max(10, width - len(self.prompt) - 1)
        n = len(buf)
        if n <= avail:
            self.offset = 0
            return "".join(buf), cur
        room = avail - 2                         # both ends may show a `$`
        step = min(SCROLL, room // 2)
        off = self.offset
        if cur < off:
            off = max(0, cur - step)
        elif cur > off + room:
            off = cur - room + step
        off = max(0, min(off, n - room))
        self.offset = off
        left = "$" if off > 0 else ""
        right = "$" if off + room < n else ""
        return left + "".join(buf[off:off + room]) + right, len(left) + cur - off

    def update(self, buf: list[str], cur: int) -> None:
        text, col = self._window(buf, cur)
        old, at = self.shown, self.col
        same = 0
        limit = min(len(old), len(text))
        while same < limit and old[same] == text[same]:
            same += 1
        out = []
        if same < at:
            out.append("\b" * (at - same))
        elif same > at:
            out.append(text[at:same])            # move right over what is already there
        out.append(text[same:])
        end = len(text)
        if len(old) > end:                       # blank what the old row had beyond the new one
            out.append(" " * (len(old) - end))
            end = len(old)
        out.append("\b" * (end - col))
        self.shown, self.col = text, col
        self.term.write("".join(out))


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
