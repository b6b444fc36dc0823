"""Fleet figures of issue 13, each beside its bar and, where the bar is a ratio, beside a 1-device fleet
measured in the same run (these shared machines are noisy).

    .venv/bin/python benchmarks/fleet_bench.py [--devices 1000] [--samples 300] [--concurrent 200] [--days 365]

Both fleets run as `slpemu fleet serve` subprocesses (their resident memory is read with psutil); the
clients run here. Figures:

1. bad input: duplicate address, unknown platform, malformed YAML → one error line naming the entry,
   exit status 1, and no socket left listening;
2. listeners: a socket per address (what the fleet does) against one wildcard listener that picks the
   device by the connection's local address (measured in a private network namespace, `unshare -n`, so
   that it listens on nothing but that namespace's loopback);
3. N devices (60/30/10 platform mix, three releases): every listener accepting (< 30 s), resident memory
   after start (< 1 GB) and after every device answered one RESTCONF GET and one NETCONF <get> (< 1.5 GB);
4. RESTCONF GET …/licensing/state on a random device, median, against the 1-device fleet (≤ 1.3x); NETCONF
   session set-up + filtered <get> likewise (≤ 1.3x);
5. concurrent NETCONF sessions on different devices, all served, median;
6. the whole fleet advanced 365 days with 2 licences in use per device (< 120 s), memory afterwards.
"""

from __future__ import annotations

import argparse
import concurrent.futures as cf
import http.client
import json
import os
import random
import shutil
import socket
import ssl
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import paramiko
import psutil

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from emulator.frontends.netconf.framing import FrameReader, frame_chunked, frame_eom  # noqa: E402

NC = "urn:ietf:params:xml:ns:netconf:base:1.0"
CSL = "http://cisco.com/ns/yang/cisco-smart-license"
CLIENT_HELLO = frame_eom(f'<hello xmlns="{NC}"><capabilities><capability>urn:ietf:params:netconf:base:1.0'
                         "</capability><capability>urn:ietf:params:netconf:base:1.1</capability></capabilities>"
                         "</hello>".encode())
FILTERED = (f'<rpc xmlns="{NC}" message-id="1"><get><filter type="subtree"><licensing xmlns="{CSL}"><state/>'
            "</licensing></filter></get></rpc>").encode()
STATE_PATH = "/restconf/data/cisco-smart-license:licensing/state"
AUTH = {"Authorization": "Basic YWRtaW46YWRtaW4=", "Accept": "application/yang-data+json"}
PLATFORM_MIX = "C8000V:60,ISR4331/K9:30,C8300-1N1S-6T:10"
RELEASE_MIX = "17.12.1a:40,17.9.1a:30,17.6.1a:30"
LICENCES = {"C8000V": ["network-advantage", "dna-advantage"],
            "ISR4331/K9": ["appxk9", "securityk9"], "C8300-1N1S-6T": ["network-advantage", "dna-advantage"]}

ROWS: list[tuple[str, str, str, str]] = []
FLEETS: list = []


def row(name: str, value: str, bar: str = "", verdict: str = "") -> None:
    ROWS.append((name, value, bar, verdict))
    print(f"  {name:<62} {value:<34} {bar:<14} {verdict}", flush=True)


def ok(flag: bool) -> str:
    return "OK" if flag else "MISSED"


def median_ms(samples: list[float]) -> float:
    return statistics.median(samples) * 1000


# ============================================================================================== fleets
class FleetProcess:
    def __init__(self, args: list[str], state: Path, log: Path):
        self.state, self.log = state, log
        self.proc = subprocess.Popen([sys.executable, "-m", "emulator.cli_main", "fleet", "serve", *args,
                                      "--state-dir", str(state), "--quiet"],
                                     cwd=ROOT, stdout=log.open("w"), stderr=subprocess.STDOUT,
                                     env={**os.environ, "PYTHONPATH": str(ROOT)})
        self.ps = psutil.Process(self.proc.pid)

    def rss_mb(self) -> float:
        return self.ps.memory_info().rss / 1e6

    def rpc(self, mgmt: tuple[str, int], op: str, data: dict, timeout: float = 900) -> dict:
        conn = http.client.HTTPConnection(*mgmt, timeout=timeout)
        conn.request("POST", f"/restconf/operations/slpemu-control:fleet-{op}",
                     body=json.dumps({"slpemu-control:input": data}), headers={"Content-Type": "application/json"})
        resp = conn.getresponse()
        body = json.loads(resp.read())
        conn.close()
        if resp.status != 200:
            raise RuntimeError(f"{op}: {body}")
        return body["slpemu-control:output"]

    def stop(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(30)
        except subprocess.TimeoutExpired:
            self.proc.kill()


def _cpu(ps) -> float:
    t = ps.cpu_times()
    return t.user + t.system + t.children_user + t.children_system


def device_endpoints(n: int, address_start: str, port_base: int) -> list[tuple[str, dict]]:
    from emulator.fleet.inventory import quick_plan
    plan = quick_plan(n, PLATFORM_MIX, RELEASE_MIX, port_base=port_base, address_start=address_start)
    return [(s.address, {"ssh": s.ports.ssh, "netconf": s.ports.netconf, "https": s.ports.https, "pid": s.platform,
                         "id": s.id}) for s in plan.devices]


async def _answers(addr: str, port: int, https: bool, sem, ctx) -> bool:
    """The listener serves its protocol: an SSH banner, or a completed TLS handshake (a bound socket that
    nobody accepts on would complete the TCP handshake alone)."""
    import asyncio
    async with sem:
        try:
            reader, writer = await asyncio.wait_for(
                asyncio.open_connection(addr, port, ssl=ctx if https else None,
                                        server_hostname=addr if https else None), 10)
        except (OSError, asyncio.TimeoutError, ssl.SSLError):
            return False
        try:
            if https:
                return True
            line = await asyncio.wait_for(reader.readline(), 10)
            return line.startswith(b"SSH-2.0-")
        except (OSError, asyncio.TimeoutError):
            return False
        finally:
            writer.close()


def wait_accepting(endpoints: list[tuple[str, int]], deadline: float, proc: "FleetProcess | None" = None,
                   https_ports: set[int] = frozenset()) -> bool:
    import asyncio
    ctx = ssl.create_default_context()
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE

    async def check(pending):
        sem = asyncio.Semaphore(64)
        return await asyncio.gather(*(_answers(a, p, p in https_ports, sem, ctx) for a, p in pending))

    pending = list(endpoints)
    while pending and time.monotonic() < deadline:
        if proc is not None and proc.proc.poll() is not None:
            raise SystemExit(f"the fleet exited: {proc.log.read_text().strip()}")
        served = asyncio.run(check(pending))
        pending = [ep for ep, good in zip(pending, served) if not good]
        if pending:
            time.sleep(0.2)
    return not pending


# ============================================================================================== clients
class Https:
    def __init__(self, address: str, port: int):
        ctx = ssl.create_default_context()
        ctx.check_hostname = False
        ctx.verify_mode = ssl.CERT_NONE
        self.conn = http.client.HTTPSConnection(address, port, context=ctx, timeout=30)

    def get(self, path: str = STATE_PATH) -> bytes:
        self.conn.request("GET", path, headers=AUTH)
        resp = self.conn.getresponse()
        body = resp.read()
        if resp.status != 200:
            raise RuntimeError(f"GET {path}: {resp.status}")
        return body

    def close(self) -> None:
        self.conn.close()


class Netconf:
    def __init__(self, address: str, port: int):
        self.client = paramiko.SSHClient()
        self.client.set_missing_host_key_policy(paramiko.AutoAddPolicy())
        sock = socket.create_connection((address, port), timeout=30)
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.client.connect(address, port=port, username="admin", password="admin", look_for_keys=False,
                            allow_agent=False, timeout=30, banner_timeout=30, auth_timeout=30, sock=sock)
        self.chan = self.client.get_transport().open_session()
        self.chan.settimeout(60)
        self.chan.invoke_subsystem("netconf")
        self.reader = FrameReader(max_message=64 * 1024 * 1024)
        self._read()
        self.chan.sendall(CLIENT_HELLO)
        self.reader.switch_to_chunked()

    def _read(self) -> bytes:
        while (msg := self.reader.next_message()) is None:
            data = self.chan.recv(1 << 20)
            if not data:
                raise EOFError("session closed")
            self.reader.feed(data)
        return msg

    def rpc(self, request: bytes = FILTERED) -> bytes:
        self.chan.sendall(frame_chunked(request))
        reply = self._read()
        if b"<rpc-error" in reply:
            raise RuntimeError(reply[:300])
        return reply

    def close(self) -> None:
        self.client.close()


def netconf_once(address: str, port: int) -> float:
    t = time.perf_counter()
    c = Netconf(address, port)
    c.rpc()
    elapsed = time.perf_counter() - t
    c.close()
    return elapsed


def restconf_latency(devices: list[tuple[str, dict]], samples: int, rng: random.Random, pool: int = 12) -> list[float]:
    """GET on keep-alive connections to `pool` random devices, one random connection per sample (the
    1-device fleet gets them all: `pool` stays below a device's connection cap per client address)."""
    chosen = [devices[rng.randrange(len(devices))] for _ in range(pool)]
    conns = [Https(addr, d["https"]) for addr, d in chosen]
    for c in conns:
        c.get()                                       # connect + warm up
    out = []
    for _ in range(samples):
        c = conns[rng.randrange(len(conns))]
        t = time.perf_counter()
        c.get()
        out.append(time.perf_counter() - t)
    for c in conns:
        c.close()
    return out


def netconf_latency(devices: list[tuple[str, dict]], samples: int, rng: random.Random) -> list[float]:
    out = []
    for _ in range(samples):
        addr, d = devices[rng.randrange(len(devices))]
        out.append(netconf_once(addr, d["netconf"]))
    return out


# ============================================================================================== sections
def bad_input(tmp: Path) -> None:
    print("\n1. bad input: one clear error line naming the entry, nothing started", flush=True)
    cases = {
        "duplicate address": "devices:\n  - {hostname: a, address: 127.9.0.1}\n  - {hostname: b, address: 127.9.0.1}\n",
        "unknown platform": "groups:\n  - {name: edge, count: 3, platform: C9999X}\n",
        "malformed YAML": "devices:\n  - {hostname: a, platform: C8000V\n  - hostname: b\n",
    }
    for label, text in cases.items():
        inv = tmp / f"bad-{label.replace(' ', '-')}.yaml"
        inv.write_text(text)
        state = tmp / f"bad-state-{label.replace(' ', '-')}"
        proc = subprocess.run([sys.executable, "-m", "emulator.cli_main", "fleet", "serve", str(inv), "--state-dir",
                               str(state), "--port-base", "43000", "--management-address", "127.9.255.254", "-q"],
                              cwd=ROOT, capture_output=True, text=True, timeout=60,
                              env={**os.environ, "PYTHONPATH": str(ROOT)})
        lines = [ln for ln in (proc.stdout + proc.stderr).splitlines() if ln.strip()]
        listening = any(_listening("127.9.0.1", p) for p in (43022, 43830, 43443)) or _listening("127.9.255.254", 43080)
        good = proc.returncode == 1 and len(lines) == 1 and not listening and not (state / "slpemu.db").exists()
        row(f"{label}", f"exit {proc.returncode}, {len(lines)} line", "1 line, none", ok(good))
        print(f"      {lines[0] if lines else ''}")


def _listening(addr: str, port: int) -> bool:
    try:
        socket.create_connection((addr, port), timeout=0.3).close()
        return True
    except OSError:
        return False


LISTENER_PROBE = r"""
import selectors, socket, sys, time, resource, statistics
n, mode, base = int(sys.argv[1]), sys.argv[2], int(sys.argv[3])
resource.setrlimit(resource.RLIMIT_NOFILE, (max(4096, 3 * n + 512), resource.getrlimit(resource.RLIMIT_NOFILE)[1]))
def rss(): return int(open('/proc/self/statm').read().split()[1]) * 4096
addrs = [f"127.4.{i // 250}.{i % 250 + 1}" for i in range(n)]
r0 = rss(); t = time.perf_counter()
sel = selectors.DefaultSelector()
socks = []
if mode == "per-address":
    for a in addrs:
        s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1); s.bind((a, base)); s.listen(64)
        s.setblocking(False); sel.register(s, selectors.EVENT_READ); socks.append(s)
else:
    s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1); s.bind(("0.0.0.0", base)); s.listen(1024)
    s.setblocking(False); sel.register(s, selectors.EVENT_READ); socks.append(s)
bind = time.perf_counter() - t; mem = rss() - r0
table = {(a, base): i for i, a in enumerate(addrs)}
lat = []
for k in range(2000):
    a = addrs[(k * 7919) % n]
    t = time.perf_counter()
    c = socket.create_connection((a, base))
    for key, _ in sel.select(1.0):
        conn, _ = key.fileobj.accept()
        dev = table[conn.getsockname()[:2]]
        conn.close()
    lat.append(time.perf_counter() - t)
    c.close()
print(f"{bind * 1000:.1f} {mem / 1024:.0f} {statistics.median(lat) * 1e6:.1f}")
"""


def listeners(n: int) -> None:
    print(f"\n2. listeners for {n} devices x 3 ports: a socket per address vs one wildcard listener", flush=True)
    results = {}
    for mode in ("per-address", "wildcard"):
        count = 3 * n if mode == "per-address" else 1
        cmd = [sys.executable, "-c", LISTENER_PROBE, str(n), mode, "44000"]
        if mode == "wildcard":
            if not shutil.which("unshare"):
                row("wildcard listener", "unshare missing: not measured")
                continue
            cmd = ["unshare", "-n", "sh", "-c", "ip link set lo up 2>/dev/null || ifconfig lo up; exec \"$0\" \"$@\"",
                   *cmd]
        try:
            out = subprocess.run(cmd, capture_output=True, text=True, timeout=120)
            bind_ms, mem_kb, accept_us = out.stdout.split()
        except Exception as exc:                              # pragma: no cover
            row(f"{mode}", f"not measured ({exc})")
            continue
        scale = 3 if mode == "per-address" else 1
        results[mode] = float(accept_us)
        row(f"{mode}: bind {n if mode == 'per-address' else 1} sockets (x{scale} ports)",
            f"{float(bind_ms) * scale:.0f} ms, {int(mem_kb) * scale} kB", "", "")
        row(f"{mode}: connect + accept + device lookup, median", f"{accept_us} µs", "", "")
    if len(results) == 2:
        row("choice", f"per-address ({results['per-address'] / results['wildcard']:.2f}x the wildcard's accept)",
            "", "listens only on configured addresses")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--devices", type=int, default=1000)
    ap.add_argument("--samples", type=int, default=300)
    ap.add_argument("--netconf-samples", type=int, default=100)
    ap.add_argument("--concurrent", type=int, default=200)
    ap.add_argument("--days", type=int, default=365)
    ap.add_argument("--skip-advance", action="store_true")
    ap.add_argument("--advance-only", action="store_true", help="start the fleet and run section 6 only")
    args = ap.parse_args()
    n = args.devices
    rng = random.Random(13)
    tmp = Path(tempfile.mkdtemp(prefix="fleet-bench-"))
    print(f"fleet_bench: {n} devices ({PLATFORM_MIX}; {RELEASE_MIX}), {os.cpu_count()} CPUs, state in {tmp}")
    if not args.advance_only:
        bad_input(tmp)
        listeners(n)

    print(f"\n3. {n} devices in one process", flush=True)
    base_eps = device_endpoints(1, "127.3.0.1", 40000)
    base = FleetProcess(["--count", "1", "--platform-mix", "C8000V", "--port-base", "40000", "--address-start",
                         "127.3.0.1", "--management-address", "127.3.255.254", "--frozen-clock"],
                        tmp / "base", tmp / "base.log")
    t0 = time.monotonic()
    big = FleetProcess(["--count", str(n), "--platform-mix", PLATFORM_MIX, "--release-mix", RELEASE_MIX,
                        "--port-base", "41000", "--address-start", "127.1.0.1", "--management-address",
                        "127.1.255.254", "--frozen-clock"], tmp / "big", tmp / "big.log")
    eps = device_endpoints(n, "127.1.0.1", 41000)
    every = [(a, d[k]) for a, d in eps for k in ("ssh", "netconf", "https")]
    FLEETS.extend([base, big])
    while "started in" not in big.log.read_text():
        if big.proc.poll() is not None or time.monotonic() - t0 > 300:
            raise SystemExit(f"the fleet did not start: {big.log.read_text()}")
        time.sleep(0.05)
    ready_s = time.monotonic() - t0
    accepting = wait_accepting(every, time.monotonic() + 300, big, {41443})
    start_s = time.monotonic() - t0
    row("fleet serving (process start to 'started')", f"{ready_s:.1f} s", "", "")
    row("every listener answered its protocol (SSH banner / TLS)", f"{start_s:.1f} s ({len(every)} listeners)",
        "< 30 s", ok(accepting and start_s < 30))
    if not wait_accepting([(a, d[k]) for a, d in base_eps for k in ("ssh", "netconf", "https")], time.monotonic() + 60,
                          base, {40443}):
        raise SystemExit("the 1-device fleet did not start")
    time.sleep(1.0)
    rss_start = big.rss_mb()
    row("resident memory after start", f"{rss_start:.0f} MB (1-device fleet {base.rss_mb():.0f} MB)", "< 1024 MB",
        ok(rss_start < 1024))

    if args.advance_only:
        return advance(args, big, eps, rng)
    t = time.monotonic()

    def touch(ep):
        addr, d = ep
        h = Https(addr, d["https"])
        h.get()
        h.close()
        netconf_once(addr, d["netconf"])
    with cf.ThreadPoolExecutor(8) as pool:
        list(pool.map(touch, eps))
    rss_all = big.rss_mb()
    row(f"resident after every device answered GET + <get> ({time.monotonic() - t:.0f} s)", f"{rss_all:.0f} MB",
        "< 1536 MB", ok(rss_all < 1536))

    print("\n4. latency on a random device vs the 1-device fleet (same run)", flush=True)
    for label, fn, samples in (("RESTCONF GET licensing/state", restconf_latency, args.samples),
                               ("NETCONF session set-up + filtered <get>", netconf_latency, args.netconf_samples)):
        one, many = [], []
        for _ in range(2):                      # interleaved halves against drift
            one += fn(base_eps, samples // 2, rng)
            many += fn(eps, samples // 2, rng)
        ratio = median_ms(many) / median_ms(one)
        row(f"{label}, median", f"{median_ms(many):.2f} ms vs {median_ms(one):.2f} ms = {ratio:.2f}x",
            "≤ 1.3x", ok(ratio <= 1.3))

    print(f"\n5. {args.concurrent} concurrent NETCONF sessions on {args.concurrent} different devices", flush=True)
    chosen = rng.sample(eps, min(args.concurrent, len(eps)))
    barrier = threading.Barrier(len(chosen))
    setup, gets, errors = [], [], []

    def session(ep):
        addr, d = ep
        try:
            t = time.perf_counter()
            c = Netconf(addr, d["netconf"])
            setup.append(time.perf_counter() - t)
            barrier.wait(120)
            t = time.perf_counter()
            c.rpc()
            gets.append(time.perf_counter() - t)
            c.close()
        except Exception as exc:
            errors.append(repr(exc))
            try:
                barrier.abort()
            except Exception:
                pass
    threads = [threading.Thread(target=session, args=(ep,)) for ep in chosen]
    for th in threads:
        th.start()
    for th in threads:
        th.join(300)
    row("sessions served", f"{len(gets)} of {len(chosen)}", "all", ok(len(gets) == len(chosen)))
    if gets:
        row("median set-up / filtered <get> (all at once)",
            f"{median_ms(setup):.0f} ms / {median_ms(gets):.1f} ms", "", "")
    if errors:
        print("      first error:", errors[0])

    if not args.skip_advance:
        advance(args, big, eps, rng)
    big.stop()
    base.stop()
    print("\nsummary")
    for name, value, bar, verdict in ROWS:
        if bar:
            print(f"  {verdict:<7} {name}: {value} (bar {bar})")
    shutil.rmtree(tmp, ignore_errors=True)


def advance(args, big, eps, rng) -> None:
    if True:
        print(f"\n6. the whole fleet advanced {args.days} days with 2 licences in use per device", flush=True)
        mgmt = ("127.1.255.254", 41080)
        by_pid: dict[str, list[str]] = {}
        for _, d in eps:
            by_pid.setdefault(d["pid"], []).append(d["id"])
        t = time.monotonic()
        for pid, ids in by_pid.items():
            for lic in LICENCES[pid]:
                r = big.rpc(mgmt, "set-usage", {"license": lic, "count": 1, "devices": ids})
                if r["failed"]:
                    print("      set-usage failed:", r["errors"][:2])
        row("2 licences in use on every device", f"{time.monotonic() - t:.1f} s", "", "")
        t = time.monotonic()
        cpu0 = _cpu(big.ps)
        load0 = os.getloadavg()[0]
        r = big.rpc(mgmt, "advance-clock", {"days": args.days}, timeout=3600)
        elapsed = time.monotonic() - t
        cpu = _cpu(big.ps) - cpu0
        row(f"advance {args.days} days fleet-wide", f"{elapsed:.1f} s ({r['devices-run']} devices ran)", "< 120 s",
            ok(elapsed < 120))
        row("  CPU used (fleet + its worker processes) / load before", f"{cpu:.0f} CPU-s, {cpu / elapsed:.2f} cores "
            f"busy / {load0:.1f}", "", "")
        row("resident memory afterwards", f"{big.rss_mb():.0f} MB", "", "")
        st = big.rpc(mgmt, "status", {})
        row("devices loaded afterwards / threads", f"{st['loaded']} / {st['threads']}", "", "")
        # a device answers from its new state
        addr, d = eps[rng.randrange(len(eps))]
        body = json.loads(Https(addr, d["https"]).get(STATE_PATH + "/state-info/usage"))
        row("a random device answers after the advance", f"{len(json.dumps(body))} bytes of usage", "", "")


if __name__ == "__main__":
    try:
        main()
    finally:
        for fleet in FLEETS:
            if fleet.proc.poll() is None:
                fleet.stop()
