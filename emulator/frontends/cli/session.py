"""One CLI session (an SSH shell or one exec request): modes, prompts, dispatch, errors, syslog display."""

from __future__ import annotations

import itertools
from functools import cached_property

from ...engine import DeviceError
from . import commands as C
from . import render as R
from .parser import ParseError, apply_pipes, split_pipe, tokenize
from .terminal import MAX_LINE, Disconnected, MessageQueue, Terminal


class Ctx:
    """What an action sees."""

    def __init__(self, session: "CliSession", words: list[str]):
        self.session = session
        self.server = session.server
        self.device = session.server.device
        self.owner = session.owner
        self.words = words

    @cached_property
    def snap(self):
        """The device as this command sees it: one snapshot for the whole command."""
        return self.device.snapshot()

    def ask(self, prompt: str, default: str = "", secret: bool = False) -> str | None:
        return self.session.ask(prompt, default, secret)

    def confirm(self, prompt: str) -> bool:
        return self.session.confirm(prompt)


class CliSession:
    _numbers = itertools.count(1)

    def __init__(self, server, ssh_session, interactive: bool):
        self.owner = f"cli:{next(self._numbers)}"     # who writes and holds configuration mode, for the engine
        self.server = server
        self.device = server.device
        self.ssh = ssh_session
        self.interactive = interactive
        self.login_privilege = ssh_session.privilege      # the user's level; `enable` raises the session's
        # `aaa new-model` without `aaa authorization exec default local` gives a login level 1
        self.privilege = self.device.snapshot().exec_privilege(ssh_session.privilege)
        self.enabled = self.privilege >= 15
        self.mode = "exec"
        self.submode: dict[str, str] = {}            # config sub-mode → what it configures (interface, ...)
        self.length = 24 if interactive and ssh_session.pty else 0
        self.width = ssh_session.width if ssh_session.pty else 0
        self.monitor = False
        self.timestamps = False
        self.closing = False
        self.messages = MessageQueue()
        self.term = Terminal(ssh_session.channel, pty=ssh_session.pty and interactive,
                             stop_event=server.stop_event, width=lambda: self.width)
        ssh_session.resize_listeners.append(self._resized)

    def _resized(self, width: int, height: int) -> None:
        if self.length:
            self.length = height
        self.width = width

    def set_privilege(self, level: int) -> None:
        """`enable [level]` / `disable`: the session's privilege level (privileged EXEC at 15)."""
        self.privilege = level
        self.enabled = level >= 15

    # ------------------------------------------------------------------ prompts and grammars
    @property
    def prompt(self) -> str:
        host = self.device.hostname
        if self.mode == "exec":
            return f"{host}{'#' if self.enabled else '>'}"
        return host + C.MODE_PROMPTS[self.mode]

    def grammar(self, mode: str | None = None):
        mode = mode or self.mode
        g = self.server.grammars(self.device.release)
        if mode == "exec":
            return g["exec" if self.enabled else "user"]
        return g[mode]

    # ------------------------------------------------------------------ questions asked by actions
    def ask(self, prompt: str, default: str = "", secret: bool = False) -> str | None:
        if not self.interactive:
            return default
        self.term.write(prompt)
        line = self.term.read_line("", echo=not secret, history=False)
        if secret and self.term.pty:
            self.term.write("\r\n")
        if line is None:
            return None
        return line.strip() or default

    def confirm(self, prompt: str) -> bool:
        if not self.interactive:
            return True
        self.term.write(prompt)
        key = self.term.read_key()
        self.term.write("\r\n")
        return key in ("\r", "\n", "y", "Y")

    # ------------------------------------------------------------------ syslog to the terminal
    def on_device_event(self, kind: str, obj) -> None:
        if kind == "syslog" and (self.monitor or self.device.system.logging_console):
            self.messages.put(obj.line())

    def pending_messages(self) -> str:
        lines = self.messages.drain()
        return "\n".join(lines) + "\n" if lines else ""

    # ------------------------------------------------------------------ running commands
    def execute(self, line: str) -> str:
        """Runs one line in the current mode; returns the text to print ("\n" ends)."""
        if not line.strip() or line.lstrip().startswith("!"):
            return ""
        if line.rstrip().endswith("?"):
            return self.help_text(line.rstrip()[:-1])
        if self.mode == "exec":
            return self.run_exec_line(line)
        return self.run_config_line(line)

    def _error(self, err: ParseError, line: str) -> str:
        if err.kind == "empty":
            return ""
        prompt_len = len(self.prompt) if self.interactive else 0
        return "\n".join(err.lines(prompt_len, line)) + "\n"

    def _call(self, match, line: str) -> str:
        tokens = tokenize(line)
        try:
            out = match.action(Ctx(self, match.words), match.args)
        except C.CliError as exc:
            return C.error_text(exc)
        except C.InvalidAt as exc:
            col = tokens[min(exc.token_index, len(tokens) - 1)][1] if tokens else 0
            return self._error(ParseError("invalid", col), line)
        except DeviceError as exc:
            return C.error_text(exc)
        return out or ""

    def print(self, text: str) -> None:
        """Output an action shows before it asks a question."""
        self.term.write_lines(text)

    def run_exec_line(self, line: str, from_config: bool = False) -> str:
        cmd, pipes, bad = split_pipe(line)
        grammar = self.grammar("exec")
        try:
            match = grammar.parse(cmd)
        except ParseError as err:
            return self._error(err, line)
        if bad is not None:
            if bad < 0:
                return self._error(ParseError("incomplete"), line)
            return self._error(ParseError("invalid", bad), line)
        if pipes and match.words[:1] != ["show"] and match.words[:1] != ["more"]:
            return self._error(ParseError("invalid", line.index("|")), line)
        out = self._call(match, cmd)
        if pipes:
            out = apply_pipes(out, pipes)
        if self.timestamps and not from_config and match.words[:1] == ["show"]:
            out = R.prompt_timestamp_header(self.device.snapshot()) + out
        return out

    def run_config_line(self, line: str) -> str:
        err = C.config_lock_error(Ctx(self, []))
        if err and not line.strip().lower().startswith(("do ", "end", "exit")):
            return err + "\n"
        grammar = self.grammar()
        try:
            match = grammar.parse(line)
        except ParseError as err:
            if self.mode == "config" or err.kind != "invalid":
                return self._error(err, line)
            # a sub-mode falls back to its parent modes up to global configuration, and enters the one
            # that knows the command
            mode, match = self.mode, None
            while mode != "config" and match is None:
                mode = C.devcmds.SUBMODE_PARENTS.get(mode, "config")
                try:
                    match = self.grammar(mode).parse(line)
                except ParseError:
                    match = None
            if match is None:
                return self._error(err, line)
            self.mode = mode
        return self._call(match, line)

    def help_text(self, before: str) -> str:
        grammar = self.grammar()
        lines, error = grammar.help(before)
        if error is not None and self.mode != "exec" and not before.strip().startswith("do"):
            lines, error = self.grammar("config").help(before) if self.mode != "config" else (lines, error)
        if error:
            return error + "\n"
        return "\n".join(lines) + "\n\n"

    # ------------------------------------------------------------------ the shell
    def run_shell(self) -> None:
        unsubscribe = self.device.subscribe(self.on_device_event)
        try:
            if self.term.pty:
                self.term.write("\r\n")
            while not self.closing:
                prompt = self.prompt
                self.term.write(prompt)
                line = self.term.read_line(prompt, on_help=self._interactive_help,
                                           on_complete=self._complete, on_idle=self.pending_messages)
                if line is None:          # Ctrl-Z
                    if self.mode != "exec":
                        self.mode = "exec"
                    continue
                out = self.execute(line)
                if out:
                    self.term.page(out, self.length)
                if self.closing:
                    break
                msgs = self.pending_messages()
                if msgs:
                    self.term.write_lines(msgs)
        except Disconnected:
            pass
        finally:
            unsubscribe()
            self._close(0)

    def _interactive_help(self, before: str) -> str:
        return self.help_text(before)

    def _complete(self, line: str) -> str | None:
        return self.grammar().complete(line)

    def run_exec(self, command: str) -> None:
        try:
            out = self.execute(command[:MAX_LINE])          # what IOS's input buffer holds
            if out:
                self.term.write_lines(out)
        except Disconnected:
            pass
        finally:
            self._close(0)

    def _close(self, status: int) -> None:
        chan = self.ssh.channel
        try:
            chan.send_exit_status(status)
        except Exception:
            pass
        try:
            chan.shutdown_write()
        except Exception:
            pass
        try:
            chan.close()
        except Exception:
            pass
