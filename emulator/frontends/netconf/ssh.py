"""NETCONF over SSH (RFC 6242): the `netconf` subsystem on the device's NETCONF port.

`NetconfSubsystem` is a paramiko subsystem handler: it runs one `NetconfSession` on its channel. The SSH
server is the front-ends' shared one (`emulator.frontends.ssh`: host key kept in the state directory,
password authentication against the device's users, public keys from `<state dir>/authorized_keys`), on
its own port and offering only the `netconf` subsystem.
"""

from __future__ import annotations

import socket
from pathlib import Path

import paramiko

from ..ssh import AUTHORIZED_KEYS_NAME, HOST_KEY_NAME, SSHServer
from .server import NetconfServer

HELLO_TIMEOUT = 60.0          # seconds a client has to send its hello
RECV_SIZE = 65536


class NetconfSubsystem(paramiko.SubsystemHandler):
    """Serves one NETCONF session on an SSH channel. Extra argument: the device's NetconfServer."""

    def __init__(self, channel, name, server, netconf: NetconfServer, *args, **kwargs):
        super().__init__(channel, name, server)
        self.netconf = netconf

    def start_subsystem(self, name, transport, channel):
        iface = self.get_server()
        username = getattr(iface, "username", None) or ""
        privilege = getattr(iface, "privilege", 15)
        peer = getattr(iface, "peer", None) or transport.getpeername()
        if not self.netconf.device.system.netconf_yang:
            channel.close()                                    # `no netconf-yang`
            return
        try:                          # replies are small and latency-bound: no Nagle delay
            transport.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        except (OSError, AttributeError):
            pass
        session = self.netconf.open_session(channel.sendall, channel.close, username=username,
                                            privilege=privilege, source_host=str(peer[0]) if peer else "")
        channel.settimeout(HELLO_TIMEOUT)
        try:
            while not session.closed:
                try:
                    data = channel.recv(RECV_SIZE)
                except socket.timeout:
                    if not session.hello_done:
                        break                                  # no hello in time
                    continue
                if not data:
                    break
                if not session.receive(data):
                    break
                if session.hello_done and channel.gettimeout() is not None:
                    channel.settimeout(None)
        except (OSError, EOFError, paramiko.SSHException):
            pass
        finally:
            session.transport_closed()
            try:
                channel.close()
            except Exception:
                pass


class NetconfService:
    """The NETCONF front-end of one device: NetconfServer + SSH listener."""

    def __init__(self, device, host: str, port: int, state_dir: Path):
        state_dir = Path(state_dir)
        self.netconf = NetconfServer(device)

        self.ssh = SSHServer(host, port, host_key_path=state_dir / HOST_KEY_NAME,
                             authenticate_password=device.check_password,
                             authorized_keys_path=state_dir / AUTHORIZED_KEYS_NAME,
                             known_user=device.privilege_of,
                             subsystems={"netconf": (NetconfSubsystem, self.netconf)}, name="netconf")

    @property
    def port(self) -> int | None:
        return self.ssh.port

    def start(self) -> "NetconfService":
        self.ssh.start()
        return self

    def stop(self) -> None:
        self.netconf.close()
        self.ssh.stop()

    def describe(self) -> str:
        return f"NETCONF (SSH subsystem netconf) on {self.ssh.host}:{self.ssh.port}"
