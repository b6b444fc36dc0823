"""NETCONF latency: the emulator beside a minimal paramiko NETCONF responder, measured in the same run.

Bars (SPEC.md): on an open session, `<get>` filtered to licensing/state median within 2x, and the full
`<get>` within 2.5x, of a minimal paramiko NETCONF responder returning a pre-rendered reply of the same size,
measured with a lean client.

Both servers run on the same shared SSH server class (emulator.frontends.ssh) on loopback; the responder's
`netconf` subsystem sends a pre-rendered hello and answers every request with the emulator's own reply
bytes for that request (message-id spliced in), so the two differ only by the NETCONF server's work. The
lean client is a paramiko channel speaking chunked framing. ncclient is measured separately: its session
loop polls every 100 ms (TICK in ncclient/transport/session.py), which dominates its figures.

    .venv/bin/python benchmarks/netconf_bench.py [--requests 300] [--sessions 30]
"""

from __future__ import annotations

import argparse
import re
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path

import paramiko

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from emulator.frontends.netconf import NetconfService  # noqa: E402
from emulator.frontends.netconf.framing import FrameReader, frame_chunked, frame_eom  # noqa: E402
from emulator.frontends.ssh import SSHServer  # noqa: E402
from emulator.runtime import DeviceOptions, open_device  # noqa: E402

NC = "urn:ietf:params:xml:ns:netconf:base:1.0"
CSL = "http://cisco.com/ns/yang/cisco-smart-license"
CLIENT_HELLO = frame_eom(f'<hello xmlns="{NC}"><capabilities><capability>urn:ietf:params:netconf:base:1.0'
                         "</capability><capability>urn:ietf:params:netconf:base:1.1</capability></capabilities>"
                         "</hello>".encode())
FILTERED = (f'<rpc xmlns="{NC}" message-id="1"><get><filter type="subtree"><licensing xmlns="{CSL}"><state/>'
            "</licensing></filter></get></rpc>").encode()
FULL = f'<rpc xmlns="{NC}" message-id="1"><get/></rpc>'.encode()
MID = re.compile(rb'message-id="([^"]*)"')


# ---------------------------------------------------------------------------------------------- responder

class Responder(paramiko.SubsystemHandler):
    """The floor: pre-rendered hello, then one pre-rendered reply per request (looked up by request bytes)."""

    def __init__(self, channel, name, server, hello: bytes, replies: dict[bytes, bytes], default: bytes):
        super().__init__(channel, name, server)
        self.hello, self.replies, self.default = hello, replies, default

    def start_subsystem(self, name, transport, channel):
        import socket
        transport.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        channel.sendall(frame_eom(self.hello))
        reader = FrameReader()
        chunked = False
        while True:
            data = channel.recv(65536)
            if not data:
                return
            reader.feed(data)
            while (msg := reader.next_message()) is not None:
                if not chunked:
                    chunked = True
                    reader.switch_to_chunked()
                    continue
                mid = MID.search(msg[:300])
                if b"<close-session" in msg:
                    channel.sendall(frame_chunked(f'<rpc-reply xmlns="{NC}" message-id="'.encode()
                                                  + (mid.group(1) if mid else b"") + b'"><ok/></rpc-reply>'))
                    channel.close()
                    return
                reply = self.replies.get(re.sub(MID, b'message-id="1"', msg, count=1), self.default)
                if mid:
                    reply = reply.replace(b'message-id="1"', b'message-id="' + mid.group(1) + b'"', 1)
                channel.sendall(frame_chunked(reply))


# ---------------------------------------------------------------------------------------------- lean client

class Lean:
    def __init__(self, port: int):
        self.client = paramiko.SSHClient()
        self.client.set_missing_host_key_policy(paramiko.AutoAddPolicy())
        self.client.connect("127.0.0.1", port=port, username="admin", password="admin", look_for_keys=False,
                            allow_agent=False, timeout=10)
        self.client.get_transport().sock.setsockopt(6, 1, 1)        # TCP_NODELAY
        self.chan = self.client.get_transport().open_session()
        self.chan.settimeout(30)
        self.chan.invoke_subsystem("netconf")
        self.reader = FrameReader(max_message=64 * 1024 * 1024)
        self.hello = self._read()
        self.chan.sendall(CLIENT_HELLO)
        self.reader.switch_to_chunked()

    def _read(self) -> bytes:
        while (msg := self.reader.next_message()) is None:
            data = self.chan.recv(1 << 20)
            if not data:
                raise EOFError("session closed")
            self.reader.feed(data)
        return msg

    def rpc(self, request: bytes) -> bytes:
        self.chan.sendall(frame_chunked(request))
        return self._read()

    def close(self):
        self.client.close()


def stats(samples: list[float]) -> tuple[float, float]:
    s = sorted(samples)
    return statistics.median(s) * 1000, s[min(len(s) - 1, int(round(0.95 * (len(s) - 1))))] * 1000


def time_requests(port: int, request: bytes, n: int) -> list[float]:
    c = Lean(port)
    for _ in range(5):
        c.rpc(request)                                          # warm up
    out = []
    for _ in range(n):
        t = time.perf_counter()
        c.rpc(request)
        out.append(time.perf_counter() - t)
    c.close()
    return out


def time_concurrent(port: int, request: bytes, n: int, sessions: int = 4) -> list[float]:
    results: list[list[float]] = [[] for _ in range(sessions)]
    clients = [Lean(port) for _ in range(sessions)]
    barrier = threading.Barrier(sessions)

    def work(i):
        c = clients[i]
        c.rpc(request)
        barrier.wait()
        for _ in range(n):
            t = time.perf_counter()
            c.rpc(request)
            results[i].append(time.perf_counter() - t)
    threads = [threading.Thread(target=work, args=(i,)) for i in range(sessions)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    for c in clients:
        c.close()
    return [x for r in results for x in r]


def time_sessions(port: int, n: int) -> list[float]:
    out = []
    for _ in range(n):
        t = time.perf_counter()
        c = Lean(port)
        c.rpc(f'<rpc xmlns="{NC}" message-id="1"><close-session/></rpc>'.encode())
        out.append(time.perf_counter() - t)
        c.close()
    return out


def time_ncclient(port: int, n: int) -> list[float]:
    from ncclient import manager
    out = []
    with manager.connect(host="127.0.0.1", port=port, username="admin", password="admin", hostkey_verify=False,
                         look_for_keys=False, allow_agent=False, timeout=30, device_params={"name": "iosxe"}) as m:
        filt = ("subtree", f'<licensing xmlns="{CSL}"><state/></licensing>')
        m.get(filter=filt)
        for _ in range(n):
            t = time.perf_counter()
            m.get(filter=filt)
            out.append(time.perf_counter() - t)
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--requests", type=int, default=300)
    ap.add_argument("--sessions", type=int, default=30)
    ap.add_argument("--ncclient", type=int, default=20)
    args = ap.parse_args()
    import logging
    logging.getLogger("paramiko").setLevel(logging.CRITICAL)      # clients hanging up are not news

    tmp = Path(tempfile.mkdtemp(prefix="netconf-bench-"))
    device = open_device(tmp / "state", DeviceOptions(users={"admin": "admin"}, frozen_clock=True))
    for name, count in (("network-advantage", 2), ("dna-advantage", 2), ("hseck9", 1)):
        device.set_usage(name, count)
    device.advance_clock(3 * 86400)
    emu = NetconfService(device, "127.0.0.1", 0, tmp / "state").start()

    # Capture the emulator's replies: the responder sends the same bytes.
    probe = Lean(emu.port)
    hello = probe.hello
    filtered_reply = probe.rpc(FILTERED)
    full_reply = probe.rpc(FULL)
    probe.close()
    floor = SSHServer("127.0.0.1", 0, host_key_path=tmp / "state" / "ssh_host_ecdsa_key",
                      authenticate_password=lambda u, p: 15 if (u, p) == ("admin", "admin") else None,
                      subsystems={"netconf": (Responder, hello, {FILTERED: filtered_reply, FULL: full_reply},
                                              filtered_reply)}, name="floor").start()

    print(f"reply sizes: filtered <get> {len(filtered_reply)} B, full <get> {len(full_reply)} B")
    print(f"{'measure (lean client, ms)':44} {'emulator med/p95':>18} {'responder med/p95':>18} {'ratio':>6}")
    rows = [
        ("session establishment (SSH+hello+close)", lambda p: time_sessions(p, args.sessions)),
        ("<get> filtered to licensing/state", lambda p: time_requests(p, FILTERED, args.requests)),
        ("full <get>", lambda p: time_requests(p, FULL, max(50, args.requests // 3))),
        ("filtered <get>, 4 concurrent sessions", lambda p: time_concurrent(p, FILTERED, args.requests // 2)),
        ("full <get>, 4 concurrent sessions", lambda p: time_concurrent(p, FULL, max(25, args.requests // 6))),
    ]
    ratios = {}
    for label, fn in rows:
        e_med, e_p95 = stats(fn(emu.port))
        f_med, f_p95 = stats(fn(floor.port))
        ratios[label] = e_med / f_med
        print(f"{label:44} {e_med:8.2f} /{e_p95:8.2f} {f_med:8.2f} /{f_p95:8.2f} {e_med / f_med:6.1f}x")
    n_med, n_p95 = stats(time_ncclient(emu.port, args.ncclient))
    f_med, f_p95 = stats(time_ncclient(floor.port, args.ncclient))
    print(f"{'ncclient filtered <get> (TICK = 0.1 s loop)':44} {n_med:8.2f} /{n_p95:8.2f} {f_med:8.2f} /{f_p95:8.2f}"
          f" {n_med / f_med:6.1f}x")
    for label, bar in (("<get> filtered to licensing/state", 2.0), ("full <get>", 2.5)):
        print(f"bar: {label} median within {bar}x of the bare responder: {ratios[label]:.2f}x "
              f"{'OK' if ratios[label] <= bar else 'MISSED'}")
    floor.stop()
    emu.stop()
    device.store.close()


if __name__ == "__main__":
    main()
