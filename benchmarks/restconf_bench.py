"""RESTCONF / native REST API latency beside the bare stack (SPEC.md quality bar).

Bar: GET /restconf/data/cisco-smart-license:licensing/state median within 1.5x of a minimal Flask endpoint
returning a pre-rendered body of the same size, under the same WSGI server (cheroot) and TLS, keep-alive.

For each row the emulator's server and a minimal Flask app (one route returning the emulator's own reply
bytes for that request, same content type, same Basic-auth header sent) run side by side in this process
on the project's WsgiServer class with the same certificate. The client is a lean keep-alive
http.client.HTTPSConnection (requests would add ~0.3 ms of its own per call); the concurrent row runs 4
client threads, each with its own connection.

    .venv/bin/python benchmarks/restconf_bench.py [--requests 500] [--seconds 3]
"""

from __future__ import annotations

import argparse
import base64
import http.client
import ssl
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from flask import Flask, Response  # noqa: E402

from emulator.cssm import Cssm  # noqa: E402
from emulator.frontends.restconf import ensure_certificate, start_restconf  # noqa: E402
from emulator.frontends.restconf.server import WsgiServer  # noqa: E402
from emulator.runtime import DeviceOptions, open_device  # noqa: E402

DAY = 86400
AUTH = {"Authorization": "Basic " + base64.b64encode(b"admin:admin").decode()}
STATE = "/restconf/data/cisco-smart-license:licensing/state"


class Lean:
    """One keep-alive HTTPS connection."""

    def __init__(self, port: int):
        ctx = ssl.create_default_context()
        ctx.check_hostname = False
        ctx.verify_mode = ssl.CERT_NONE
        self.conn = http.client.HTTPSConnection("127.0.0.1", port, context=ctx, timeout=10)

    def get(self, path: str, headers: dict) -> tuple[int, bytes]:
        self.conn.request("GET", path, headers=headers)
        resp = self.conn.getresponse()
        return resp.status, resp.read()

    def close(self):
        self.conn.close()


def timed(port: int, path: str, headers: dict, n: int) -> list[float]:
    client = Lean(port)
    for _ in range(20):                                   # warm-up: handshake, caches
        status, _ = client.get(path, headers)
        assert status == 200, status
    out = []
    for _ in range(n):
        t = time.perf_counter()
        client.get(path, headers)
        out.append((time.perf_counter() - t) * 1000)
    client.close()
    return out


def throughput(port: int, path: str, headers: dict, seconds: float, clients: int = 4) -> float:
    counts = [0] * clients
    stop = time.perf_counter() + seconds

    def worker(i):
        c = Lean(port)
        c.get(path, headers)
        while time.perf_counter() < stop:
            c.get(path, headers)
            counts[i] += 1
        c.close()

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(clients)]
    t0 = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return sum(counts) / (time.perf_counter() - t0)


def minimal_server(body: bytes, ctype: str, cert, key) -> WsgiServer:
    app = Flask("minimal")

    @app.route("/<path:_any>")
    def _any(_any):
        return Response(body, content_type=ctype)

    return WsgiServer(app, "127.0.0.1", 0, cert=cert, key=key, name="minimal").start()


def p95(values):
    return statistics.quantiles(values, n=20)[-1]


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--requests", type=int, default=500)
    ap.add_argument("--seconds", type=float, default=3.0)
    args = ap.parse_args()

    state_dir = Path(tempfile.mkdtemp(prefix="restconf-bench-"))
    device = open_device(state_dir, DeviceOptions(users={"admin": "admin"}, frozen_clock=True))
    # a device with licences in use, an ACK and a custom policy installed
    for name, count in (("network-advantage", 2), ("dna-advantage", 2), ("hseck9", 1)):
        device.set_usage(name, count)
    device.advance_clock(2 * DAY)
    device.save_usage("all", "bootflash:u.txt")
    ack = Cssm(state_path=state_dir / "cssm.json").process_usage(device.flash.read("bootflash:u.txt"),
                                                                 now=device.now(), policy="SLE Policy")
    device.import_data(ack.encode())
    # 100 stored RUM reports for all-reports: one licence closing daily, then no open report left
    for name in ("network-advantage", "dna-advantage", "hseck9"):
        device.set_usage(name, 0)
    device.set_usage("network-essentials", 1)

    def held():
        return sum(1 for r in device.report_list() if r.storage == "EXIST" and r.state != "OPEN")

    while held() < 99:
        device.advance_clock(DAY)
    device.set_usage("network-essentials", 0)
    device.set_usage("network-advantage", 2)       # back in use for the licensing/state rows
    device.set_usage("dna-advantage", 2)

    servers = start_restconf(device, host="127.0.0.1", port=0, state_dir=state_dir)
    cert, key = ensure_certificate(state_dir)
    port = servers.https.port

    rows = []
    json_h = {**AUTH, "Accept": "application/yang-data+json"}
    xml_h = {**AUTH, "Accept": "application/yang-data+xml"}
    cases = [("GET licensing/state JSON", STATE, json_h, "application/yang-data+json"),
             ("GET licensing/state XML", STATE, xml_h, "application/yang-data+xml"),
             ("GET /smartlic-service/all-reports", "/smartlic-service/all-reports",
              {**AUTH, "Content-Type": "application/json"}, "application/json")]
    print(f"restconf_bench: {args.requests} sequential requests per row (keep-alive), "
          f"then 4 concurrent clients for {args.seconds:.0f} s; times in ms", flush=True)
    for label, path, headers, ctype in cases:
        if "all-reports" in path:
            # every pull closes the open reports (a new report per licence in use): keep the store at
            # the reports counted above by leaving no licence in use during this row
            device.set_usage("network-advantage", 0)
            device.set_usage("dna-advantage", 0)
            label = f"GET /smartlic-service/all-reports ({held()} reports)"
        status, body = Lean(port).get(path, headers)
        assert status == 200, (label, status, body[:200])
        minimal = minimal_server(body, ctype, cert, key)
        try:
            # interleave the two sides in halves so that machine noise hits both alike
            emu, bare = [], []
            for _ in range(2):
                emu += timed(port, path, headers, args.requests // 2)
                bare += timed(minimal.port, path, headers, args.requests // 2)
            rps_emu = throughput(port, path, headers, args.seconds)
            rps_bare = throughput(minimal.port, path, headers, args.seconds)
        finally:
            minimal.stop()
        rows.append((label, len(body), statistics.median(emu), p95(emu), statistics.median(bare), p95(bare),
                     rps_emu, rps_bare))

    print(f"{'request':<48}{'bytes':>8}{'median':>9}{'p95':>8}{'bare med':>10}{'bare p95':>10}"
          f"{'ratio':>7}{'req/s':>8}{'bare r/s':>10}")
    for label, size, med, q95, bmed, bq95, rps, brps in rows:
        print(f"{label:<48}{size:>8}{med:>9.3f}{q95:>8.3f}{bmed:>10.3f}{bq95:>10.3f}{med / bmed:>7.2f}"
              f"{rps:>8.0f}{brps:>10.0f}")
    ratio = rows[0][2] / rows[0][4]
    print(f"bar: licensing/state JSON median within 1.5x of the bare stack: {ratio:.2f}x "
          f"{'OK' if ratio <= 1.5 else 'MISSED'}")
    servers.stop()
    device.store.close()


if __name__ == "__main__":
    main()
