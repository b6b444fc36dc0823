"""NETCONF over SSH (RFC 6241, 6242, 6022, 5277, 6243, 8525) for one emulated device.

    service = NetconfService(device, "127.0.0.1", 2830, state_dir).start()   # SSH subsystem `netconf`
    service.port; service.stop()

`server.NetconfServer` is the transport-independent core (sessions, operations, ietf-netconf-monitoring);
`framing` the RFC 6242 framing; `ssh` hosts it on an SSH server; `filters` implements subtree and XPath
filtering; `ietf` the hello capabilities (the modules come from the YANG library shared with RESTCONF,
`emulator.yangdata.library`); `notifications` maps device syslogs to notifications.
"""

from .server import NetconfServer, NetconfSession
from .ssh import NetconfService, NetconfSubsystem

__all__ = ["NetconfServer", "NetconfService", "NetconfSession", "NetconfSubsystem"]
