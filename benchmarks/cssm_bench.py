"""One CSSM service acknowledging the reports of many devices (issue 11): `slpemu cssm serve` in its own
process (processing delay 0), N emulated devices in this process connected directly to it (transport
smart, trust established with an ID token first, not timed), then each device's `license smart sync`:
report → OK_POLL → poll → ACK installed, over HTTPS through the device's push client. Prints the median
and percentiles per device, the total, and the service's resident memory before and after.

    .venv/bin/python benchmarks/cssm_bench.py [--devices 1000]
"""

from __future__ import annotations

import argparse
import os
import re
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from emulator.engine import Clock, Device, Flash  # noqa: E402
from emulator.frontends.push import HttpOutbound  # noqa: E402
from emulator.store import Store  # noqa: E402


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def start_cssm(state: Path) -> tuple[subprocess.Popen, str]:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    proc = subprocess.Popen([sys.executable, "-m", "emulator.cli_main", "cssm", "serve", "--state-dir", str(state),
                             "--port", "0", "--processing-delay", "0"], env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True)
    lines: list[str] = []
    threading.Thread(target=lambda: lines.extend(proc.stdout), daemon=True).start()
    deadline = time.monotonic() + 60
    while not any("Press Ctrl+C" in line for line in lines):
        if proc.poll() is not None or time.monotonic() > deadline:
            raise SystemExit("cssm serve did not start:\n" + "".join(lines))
        time.sleep(0.05)
    return proc, re.search(r"on (https://\S+?),", "".join(lines)).group(1)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--devices", type=int, default=1000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="cssm-bench-") as tmp:
        tmp = Path(tmp)
        proc, url = start_cssm(tmp / "cssm")
        try:
            token = subprocess.run([sys.executable, "-m", "emulator.cli_main", "cssm", "token", "create", "--va",
                                    "Eg-VA", "--state-dir", str(tmp / "cssm")], capture_output=True, text=True,
                                   env={**os.environ, "PYTHONPATH": str(ROOT)}, check=True).stdout.strip()
            rss_start = rss_mb(proc.pid)
            store = Store(tmp / "devices.db")
            t0 = time.perf_counter()
            devices = []
            for i in range(args.devices):
                dev = Device.create_or_load(store, f"d{i}", Flash(tmp / "flash" / f"d{i}"), serial=f"9BENCH{i:05d}",
                                            hostname=f"r{i}", clock=Clock())
                dev.attach_outbound(HttpOutbound(dev, ca_file=str(tmp / "cssm" / "cssm-cert.pem")))
                dev.apply_config({"transport": "smart", "url_smart": f"{url}/licservice/license"})
                dev.set_usage("network-advantage", 1)
                dev.trust_idtoken(token)                 # trust, then the sync that follows it (not timed below)
                dev.set_usage("dna-advantage", 1)        # something new to report
                devices.append(dev)
            setup = time.perf_counter() - t0
            times = []
            t1 = time.perf_counter()
            for dev in devices:
                start = time.perf_counter()
                dev.sync()                               # report → OK_POLL → poll → ACK installed
                times.append(time.perf_counter() - start)
            total = time.perf_counter() - t1
            acked = sum(1 for dev in devices if dev.timers().last_ack is not None)
            rss_end = rss_mb(proc.pid)
            store.close()
        finally:
            proc.terminate()
            proc.wait(timeout=30)
    times.sort()
    q = statistics.quantiles(times, n=100) if len(times) >= 2 else times * 99
    print(f"devices: {args.devices} (set-up incl. trust and first report {setup:.1f} s)")
    print(f"report -> poll -> ACK per device: median {statistics.median(times) * 1000:.1f} ms, "
          f"p90 {q[89] * 1000:.1f} ms, p99 {q[98] * 1000:.1f} ms, max {times[-1] * 1000:.1f} ms")
    print(f"all {args.devices} devices acknowledged in {total:.1f} s; {acked} with Last ACK received set")
    print(f"CSSM service resident memory: {rss_start:.0f} MB at start, {rss_end:.0f} MB after "
          f"{args.devices} product instances")


if __name__ == "__main__":
    main()
