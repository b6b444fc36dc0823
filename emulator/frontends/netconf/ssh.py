"""NETCONF over SSH (RFC 6242): the `netconf` subsystem on the device's NETCONF port.

`NetconfSubsystem` is a paramiko subsystem handler: it runs one `NetconfSession` on its channel. The SSH
server is the front-ends' shared one (`emulator.frontends.ssh`: host key kept in the state directory,
password authentication against the device's users, public keys from `<state dir>/authorized_keys`), on
its own port and offering only the `netconf` subsystem.
"""

from __future__ import annotations

import logging
import socket
import time
from dataclasses import dataclass
from pathlib import Path

import paramiko

from ..ssh import AUTHORIZED_KEYS_NAME, HOST_KEY_NAME, SSHServer
from .server import NetconfServer

log = logging.getLogger(__name__)

HELLO_TIMEOUT = 60.0          # seconds a client has to send its hello
IDLE_TIMEOUT = 1800.0         # seconds a session may stay without a complete message (none while subscribed)
MESSAGE_TIMEOUT = 60.0        # seconds a message may take to arrive once its first byte has
POLL = 0.5
RECV_SIZE = 65536


@dataclass
class Limits:
    """Time limits of the NETCONF sessions of one server (0 = none)."""
    hello_timeout: float = HELLO_TIMEOUT
    idle_timeout: float = IDLE_TIMEOUT
    message_timeout: float = MESSAGE_TIMEOUT


class NetconfSubsystem(paramiko.SubsystemHandler):
    """Serves one NETCONF session on an SSH channel. Extra arguments: the device's NetconfServer and the
    session time limits (a session is closed when it sends no hello in time, stays idle, without a
    notification subscription, longer than the idle timeout, or trickles one message for longer than the
    message timeout)."""

    def __init__(self, channel, name, server, netconf: NetconfServer, limits: Limits | None = None, *args,
                 **kwargs):
        super().__init__(channel, name, server)
        self.netconf = netconf
        self.limits = limits or Limits()

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
        limits = self.limits
        channel.settimeout(POLL)
        opened = last = time.monotonic()      # last: when the last complete message was handled
        started = None                        # when the message now arriving began
        why = None
        try:
            while not session.closed:
                try:
                    data = channel.recv(RECV_SIZE)
                except socket.timeout:
                    now = time.monotonic()
                    if not session.hello_done:
                        if limits.hello_timeout and now - opened > limits.hello_timeout:
                            why = "sent no hello in time"
                            break
                    elif started is not None and limits.message_timeout and now - started > limits.message_timeout:
                        why = f"took more than {limits.message_timeout:g} s to send one message"
                        break
                    elif limits.idle_timeout and session.subscription is None and now - last > limits.idle_timeout:
                        why = f"was idle for {limits.idle_timeout:g} s"
                        break
                    continue
                if not data:
                    break
                if started is None:
                    started = time.monotonic()
                if not session.receive(data):
                    break
                if not session.reader.partial:
                    started = None
                    last = time.monotonic()
                elif session.reader.completed:
                    started = last = time.monotonic()      # one done, the next one under way
                session.reader.completed = 0
        except (OSError, EOFError, paramiko.SSHException):
            pass
        finally:
            if why is not None:
                log.info("NETCONF session %s from %s %s; closed", session.id, peer[0] if peer else "?", why)
            session.transport_closed()
            try:
                channel.close()
            except Exception:
                pass


class NetconfService:
    """The NETCONF front-end of one device: NetconfServer + SSH listener."""

    def __init__(self, device, host: str, port: int, state_dir: Path, limits: Limits | None = None):
        state_dir = Path(state_dir)
        self.netconf = NetconfServer(device)
        self.limits = limits or Limits()

        self.ssh = SSHServer(host, port, host_key_path=state_dir / HOST_KEY_NAME,
                             authenticate_password=device.check_password,
                             authorized_keys_path=state_dir / AUTHORIZED_KEYS_NAME,
                             known_user=device.privilege_of,
                             subsystems={"netconf": (NetconfSubsystem, self.netconf, self.limits)}, name="netconf",
                             device=device)

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
