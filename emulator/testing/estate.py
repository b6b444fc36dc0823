"""A licensing estate on loopback for end-to-end tests (the `slpemu_estate`, `slpemu_cssm` and `slpemu_cslu`
fixtures of `emulator.pytest_plugin`, and this project's topology tests): `slpemu cssm serve`, `slpemu cslu serve` and
`slpemu serve` devices started as separate processes, each with its own state dir and free ports, driven
through their public interfaces (the device's SSH CLI and RESTCONF, the services' HTTP APIs), their clocks
moved through the control RPCs. Every wait is bounded; `Estate.close()` stops whatever was started."""

from __future__ import annotations

import json
import os
import re
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import paramiko
import requests
import urllib3

urllib3.disable_warnings(urllib3.exceptions.InsecureRequestWarning)

ROOT = Path(__file__).resolve().parents[2]      # the tree holding the `emulator` package these processes run
START_TIMEOUT = 60
DAY = 86400


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _env() -> dict:
    env = {**os.environ, "PYTHONPATH": str(ROOT), "PYTHONUNBUFFERED": "1", "NO_PROXY": "*", "no_proxy": "*"}
    for name in ("http_proxy", "https_proxy", "HTTP_PROXY", "HTTPS_PROXY"):
        env.pop(name, None)
    return env


class Process:
    """One `python -m emulator.cli_main …` process, started and waited for until it says it is ready."""

    def __init__(self, args: list[str], cwd: Path, name: str):
        self.name = name
        self.output: list[str] = []
        self.proc = subprocess.Popen([sys.executable, "-m", "emulator.cli_main", *args], cwd=cwd, env=_env(),
                                     stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                     text=True)
        self._reader = threading.Thread(target=lambda: self.output.extend(self.proc.stdout), daemon=True)
        self._reader.start()
        deadline = time.monotonic() + START_TIMEOUT
        while not any("Press Ctrl+C to stop." in line for line in self.output):
            if self.proc.poll() is not None or time.monotonic() > deadline:
                self.stop()
                raise RuntimeError(f"{name} did not start:\n" + "".join(self.output))
            time.sleep(0.05)

    def text(self) -> str:
        return "".join(self.output)

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=10)
        self._reader.join(timeout=5)


def _session(auth=None, verify=False) -> requests.Session:
    s = requests.Session()
    s.trust_env = False
    s.verify = verify
    s.auth = auth
    return s


class Service:
    """A CSSM or CSLU service process."""

    def __init__(self, process: Process, state_dir: Path, auth: tuple[str, str]):
        self.process = process
        self.state_dir = state_dir
        match = re.search(r"on (https?://[^,\s]+)", process.text())
        self.url = match.group(1)
        self.http = _session(auth)

    def advance(self, seconds: float) -> float:
        resp = self.http.post(f"{self.url}/slpemu-control/advance-clock", json={"seconds": seconds}, timeout=30)
        assert resp.status_code == 200, resp.text
        return resp.json()["now"]

    def page(self) -> str:
        resp = self.http.get(f"{self.url}/", timeout=30)
        assert resp.status_code == 200
        return resp.text


class Cssm(Service):
    cert: Path

    @property
    def device_url(self) -> str:
        return f"{self.url}/licservice/license"

    @property
    def api_url(self) -> str:
        return f"{self.url}/services/api/smart-accounts-and-licensing"

    def inventory(self) -> dict[str, dict]:
        resp = self.http.get(f"{self.url}/slpemu-control/inventory", timeout=30)
        assert resp.status_code == 200, resp.text
        return {pi["udi"]: pi for pi in resp.json()["product_instances"]}

    def token(self, va: str = "Eg-VA") -> str:
        out = subprocess.run([sys.executable, "-m", "emulator.cli_main", "cssm", "token", "create", "--va", va,
                              "--state-dir", str(self.state_dir)], env=_env(), cwd=ROOT, capture_output=True,
                             text=True, timeout=60)
        assert out.returncode == 0, out.stderr
        return out.stdout.strip()

    def api_token(self) -> str:
        resp = _session().post(f"{self.url}/as/token.oauth2", timeout=30, data={
            "client_id": "slpemu", "client_secret": "slpemu-secret", "grant_type": "client_credentials"})
        assert resp.status_code == 200, resp.text
        return resp.json()["access_token"]

    def upload(self, data: bytes, **params) -> requests.Response:
        return self.http.post(f"{self.url}/usage-data-files", data=data, params=params, timeout=60)


class Cslu(Service):
    @property
    def pi_url(self) -> str:
        return f"{self.url}/cslu/v1/pi"

    def api(self, method: str, path: str, **kw) -> requests.Response:
        return self.http.request(method, f"{self.url}/api/v1/{path}", timeout=120, **kw)

    def cli(self, *args: str) -> subprocess.CompletedProcess:
        return subprocess.run([sys.executable, "-m", "emulator.cli_main", "cslu", *args, "--url", self.url],
                              env=_env(), cwd=ROOT, capture_output=True, text=True, timeout=120)


class Device:
    """A `slpemu serve` device: its SSH CLI, RESTCONF and control RPCs."""

    def __init__(self, process: Process, state_dir: Path, ports: dict[str, int]):
        self.process = process
        self.state_dir = state_dir
        self.ports = ports
        self.restconf = f"https://127.0.0.1:{ports['restconf']}"
        self.http = _session(("admin", "admin"))
        self._ssh: paramiko.SSHClient | None = None

    def cli(self, command: str) -> str:
        """One EXEC command (or `configure terminal` lines joined by newlines) over SSH."""
        client = paramiko.SSHClient()
        client.set_missing_host_key_policy(paramiko.AutoAddPolicy())
        client.connect("127.0.0.1", port=self.ports["cli"], username="admin", password="admin", timeout=30,
                       allow_agent=False, look_for_keys=False)
        try:
            _, out, _ = client.exec_command(command, timeout=120)
            return out.read().decode()
        finally:
            client.close()

    def configure(self, *lines: str) -> str:
        """Configuration lines typed in an interactive session (configure terminal … end); the transcript."""
        client = paramiko.SSHClient()
        client.set_missing_host_key_policy(paramiko.AutoAddPolicy())
        client.connect("127.0.0.1", port=self.ports["cli"], username="admin", password="admin", timeout=30,
                       allow_agent=False, look_for_keys=False)
        try:
            chan = client.invoke_shell(width=200)
            chan.settimeout(60)
            chan.sendall(("\n".join(["terminal length 0", "configure terminal", *lines, "end", "exit"]) + "\n").encode())
            out = b""
            deadline = time.monotonic() + 120
            while time.monotonic() < deadline:
                data = chan.recv(65536)
                if not data:
                    break
                out += data
            return out.decode(errors="replace")
        finally:
            client.close()

    def rpc(self, qname: str, data: dict | None = None) -> dict:
        module = qname.split(":")[0]
        resp = self.http.post(f"{self.restconf}/restconf/operations/{qname}", json={f"{module}:input": data or {}},
                              headers={"Content-Type": "application/yang-data+json"}, timeout=300)
        assert resp.status_code in (200, 204), resp.text
        return resp.json()[f"{module}:output"] if resp.status_code == 200 else {}

    def advance(self, seconds: float) -> None:
        self.rpc("slpemu-control:advance-clock", {"seconds": str(int(seconds))})

    def use(self, licence: str = "network-advantage", count: int = 1) -> None:
        self.rpc("slpemu-control:set-usage", {"license": licence, "count": count})

    def status(self) -> dict[str, str]:
        """`show license status` as `key: value` of its indented lines (first occurrence)."""
        out = {}
        for line in self.cli("show license status").splitlines():
            key, sep, value = line.strip().partition(": ")
            if sep and key not in out:
                out[key] = value.strip()
        return out

    def syslog(self, mnemonic: str | None = None) -> list[str]:
        lines = [l for l in self.cli("show logging").splitlines() if ": %" in l]
        return [l for l in lines if mnemonic is None or f"-{mnemonic}:" in l]

    def now(self) -> float:
        resp = self.http.get(f"{self.restconf}/restconf/data/slpemu-control:clock", timeout=30)
        from datetime import datetime
        return datetime.fromisoformat(resp.json()["slpemu-control:clock"]["now"]).timestamp()

    def sftp_get(self, name: str) -> bytes:
        client = paramiko.SSHClient()
        client.set_missing_host_key_policy(paramiko.AutoAddPolicy())
        client.connect("127.0.0.1", port=self.ports["cli"], username="admin", password="admin", timeout=30,
                       allow_agent=False, look_for_keys=False)
        try:
            with client.open_sftp().open(f"/bootflash/{name}", "rb") as f:
                return f.read()
        finally:
            client.close()

    def sftp_put(self, name: str, data: bytes) -> None:
        client = paramiko.SSHClient()
        client.set_missing_host_key_policy(paramiko.AutoAddPolicy())
        client.connect("127.0.0.1", port=self.ports["cli"], username="admin", password="admin", timeout=30,
                       allow_agent=False, look_for_keys=False)
        try:
            with client.open_sftp().open(f"/bootflash/{name}", "wb") as f:
                f.write(data)
        finally:
            client.close()


class Estate:
    def __init__(self, workdir: Path):
        self.workdir = workdir
        self.started: list[Process] = []
        self._n = 0

    def _dir(self, prefix: str) -> Path:
        self._n += 1
        path = self.workdir / f"{prefix}{self._n}"
        path.mkdir(parents=True, exist_ok=True)
        return path

    def _start(self, args: list[str], name: str) -> Process:
        proc = Process(args, self.workdir, name)
        self.started.append(proc)
        return proc

    def cssm(self, *args: str, delay: float = 0) -> Cssm:
        state = self._dir("cssm")
        proc = self._start(["cssm", "serve", "--state-dir", str(state), "--port", "0",
                            "--processing-delay", str(delay), *args], "cssm")
        svc = Cssm(proc, state, ("slpemu", "slpemu-secret"))
        svc.cert = state / "cssm-cert.pem"
        return svc

    def cslu(self, *args: str, cssm: Cssm | None = None) -> Cslu:
        state = self._dir("cslu")
        extra = ["--cssm-url", cssm.api_url, "--cssm-ca", str(cssm.cert)] if cssm else []
        proc = self._start(["cslu", "serve", "--state-dir", str(state), "--port", "0", *extra, *args], "cslu")
        svc = Cslu(proc, state, ("admin", "admin"))
        svc.cert = state / "cslu-cert.pem"
        return svc

    def device(self, *args: str, release: str = "17.12.1a", serial: str | None = None) -> Device:
        state = self._dir("device")
        ports = {"netconf": free_port(), "restconf": free_port(), "cli": free_port()}
        serial = serial or f"9SLP{self._n:07d}"
        proc = self._start(["serve", "--state-dir", str(state), "--release", release, "--serial", serial,
                            "--netconf-port", str(ports["netconf"]), "--restconf-port", str(ports["restconf"]),
                            "--cli-port", str(ports["cli"]), "--push-timeout", "5", *args], f"device {serial}")
        dev = Device(proc, state, ports)
        dev.serial = serial
        return dev

    def close(self) -> None:
        for proc in reversed(self.started):
            proc.stop()


def run_cli(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "emulator.cli_main", *args], env=_env(), cwd=cwd,
                          capture_output=True, text=True, timeout=120)


def jdump(obj) -> str:
    return json.dumps(obj, indent=1)
