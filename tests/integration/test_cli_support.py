"""Shared pieces of the CLI integration tests: a device on a frozen clock with its CLI server on an
ephemeral loopback port, and a paramiko-driven interactive shell. Imported by the test_cli_* modules."""

from __future__ import annotations

import re
import time
from unittest.mock import Mock

import paramiko
import pytest

from emulator.cssm import Cssm
from emulator.engine import Clock, Device, Flash
from emulator.frontends.cli import CliServer
from emulator.store import Store

T0 = 1704067200.0          # 2024-01-01 00:00:00 UTC
USER, PASSWORD = "admin", "admin"
PROMPT_RE = re.compile(r"(?:^|\n)([A-Za-z0-9_.-]+(?:\([a-z-]+\))?[>#]) ?$")


class Shell:
    """An interactive SSH shell (with a pty), command by command."""

    def __init__(self, port: int, user: str = USER, password: str = PASSWORD, timeout: float = 10.0,
                 host: str = "127.0.0.1"):
        self.client = paramiko.SSHClient()
        self.client.set_missing_host_key_policy(paramiko.AutoAddPolicy())
        self.client.connect(host, port, user, password, look_for_keys=False, allow_agent=False,
                            timeout=timeout, banner_timeout=timeout, auth_timeout=timeout)
        self.chan = self.client.invoke_shell(width=200, height=50)
        self.chan.settimeout(timeout)
        self.timeout = timeout
        self.banner = self.last = self.read_until_prompt()

    def read_until(self, predicate, timeout: float | None = None) -> str:
        buf = ""
        deadline = time.monotonic() + (timeout or self.timeout)
        while time.monotonic() < deadline:
            if self.chan.recv_ready():
                buf += self.chan.recv(65536).decode("utf-8", "replace")
                if predicate(buf):
                    return buf
            elif self.chan.closed or self.chan.exit_status_ready():
                return buf
            else:
                time.sleep(0.01)
        raise TimeoutError(f"no match within {timeout or self.timeout}s; got {buf[-400:]!r}")

    def read_until_prompt(self, timeout: float | None = None) -> str:
        return self.read_until(lambda b: PROMPT_RE.search(b) is not None, timeout)

    @property
    def prompt(self) -> str:
        return PROMPT_RE.search(self.last).group(1)

    def send(self, text: str) -> None:
        self.chan.sendall(text.encode())

    def raw(self, line: str) -> str:
        """Sends a line; returns everything up to and including the next prompt ("\r\n" kept)."""
        self.send(line + "\n")
        self.last = self.read_until_prompt()
        return self.last

    def run(self, line: str) -> str:
        """Sends a line; returns its output without the echo and the prompt, with "\n" line ends."""
        text = self.raw(line).replace("\r\n", "\n")
        m = PROMPT_RE.search(text)
        body = text[:m.start(1)]
        first, _, rest = body.partition("\n")
        assert first.endswith(line), (first, line)
        return rest

    def close(self) -> None:
        self.client.close()


def exec_command(port: int, command: str, user: str = USER, password: str = PASSWORD, timeout: float = 10.0) -> str:
    client = paramiko.SSHClient()
    client.set_missing_host_key_policy(paramiko.AutoAddPolicy())
    client.connect("127.0.0.1", port, user, password, look_for_keys=False, allow_agent=False, timeout=timeout,
                   banner_timeout=timeout, auth_timeout=timeout)
    try:
        _, out, _ = client.exec_command(command, timeout=timeout)
        return out.read().decode().replace("\r\n", "\n")
    finally:
        client.close()


class Router:
    """A device and its CLI server."""

    def __init__(self, tmp_path, platform="C8000V", release="17.12.1a", hostname="Router"):
        self.tmp = tmp_path
        self.store = Store(tmp_path / "slpemu.db")
        self.device = Device.create_or_load(self.store, "device", Flash(tmp_path / "flash"), platform=platform,
                                            release=release, hostname=hostname, clock=Clock(frozen_at=T0))
        self.device.set_user(USER, PASSWORD, 15)
        self.server = CliServer(self.device, host="127.0.0.1", port=0, state_dir=tmp_path).start()
        self.port = self.server.port
        self.shells: list[Shell] = []

    def shell(self, quiet: bool = False, **kw) -> Shell:
        """An interactive shell; `quiet` sets `terminal length 0` and `no logging console` as unicon does,
        so that syslog lines cannot land inside the next command's output."""
        sh = Shell(self.port, **kw)
        self.shells.append(sh)
        if quiet:
            sh.run("terminal length 0")
            sh.run("configure terminal")
            sh.run("no logging console")
            sh.run("end")
        return sh

    def exec(self, command: str, **kw) -> str:
        return exec_command(self.port, command, **kw)

    def stop(self) -> None:
        for sh in self.shells:
            sh.close()
        self.server.stop()
        self.store.close()


@pytest.fixture
def router_factory(tmp_path):
    made: list[Router] = []

    def make(**kw) -> Router:
        r = Router(tmp_path / f"r{len(made)}", **kw)
        made.append(r)
        return r
    yield make
    for r in made:
        r.stop()


@pytest.fixture
def router(router_factory):
    return router_factory()


def genie(parser_class, text: str, **kw) -> dict:
    return parser_class(device=Mock()).parse(output=text, **kw)


def import_ack(router: Router, shell: Shell, policy: str | None = None) -> str:
    """Saves usage through the CLI, has the CSSM simulator answer it, copies the ACK onto bootflash and
    imports it through the CLI. Returns the import command's output."""
    device = router.device
    assert shell.run("license smart save usage unreported file bootflash:usage.txt") == ""
    ack = Cssm().process_usage(device.flash.read("bootflash:usage.txt"), now=device.now(), policy=policy)
    device.flash.write("bootflash:ack.txt", ack.encode())
    return shell.run("license smart import bootflash:ack.txt")
