"""Front-ends: thin translators between a protocol and the engine (NETCONF, RESTCONF + native REST, CLI)."""

from __future__ import annotations

from pathlib import Path
from typing import Callable


class Servers:
    """The listeners started for one device: what they serve, and how to stop them."""

    def __init__(self) -> None:
        self._items: list[tuple[str, Callable[[], None]]] = []

    def add(self, description: str, stop: Callable[[], None]) -> None:
        self._items.append((description, stop))

    def describe(self) -> list[str]:
        return [d for d, _ in self._items] or ["No network front-end is built into this version."]

    def stop(self) -> None:
        for _, stop in reversed(self._items):
            stop()
        self._items.clear()


def start_frontends(device, *, host: str, netconf_port: int, restconf_port: int, cli_port: int,
                    state_dir: Path, http_port: int | None = None, tls_cert=None, tls_key=None) -> Servers:
    """Starts every front-end of one device on the given address and ports. Users and passwords are the
    device's own (`device.check_password`)."""
    servers = Servers()
    if netconf_port is not None and netconf_port >= 0:
        from .netconf import NetconfService
        netconf = NetconfService(device, host, netconf_port, state_dir).start()
        servers.add(netconf.describe(), netconf.stop)
    if cli_port is not None and cli_port >= 0:
        from .cli import CliServer
        cli = CliServer(device, host=host, port=cli_port, state_dir=state_dir).start()
        servers.add(cli.describe(), cli.stop)
    if restconf_port is not None and restconf_port >= 0:
        from .restconf import start_restconf
        web = start_restconf(device, host=host, port=restconf_port, state_dir=state_dir, http_port=http_port,
                             cert=tls_cert, key=tls_key)
        servers.add("; ".join(web.describe()), web.stop)
    return servers
