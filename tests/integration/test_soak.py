"""Issue 14 suite: the soak. A real `slpemu serve` process takes mixed NETCONF, RESTCONF, CLI and SFTP writes
while it is killed with SIGKILL at random moments and restarted, for SLPEMU_SOAK_SECONDS (default 60; the
issue's 2-minute run is SLPEMU_SOAK_SECONDS=120). After every kill, before the restart, the database must
pass `PRAGMA integrity_check` and hold every write a client had seen acknowledged (and nothing but whole
files in the flash); at the end the restarted server serves that state over its own protocols."""

from __future__ import annotations

import os
import random
import re
import signal
import socket
import sqlite3
import subprocess
import sys
import threading
import time
from pathlib import Path

import paramiko
import pytest
import requests

from emulator.engine.state import from_stored
from emulator.frontends.netconf.framing import frame_eom
from test_cli_support import Shell

pytestmark = [pytest.mark.soak, pytest.mark.filterwarnings("ignore::urllib3.exceptions.InsecureRequestWarning")]

SECONDS = float(os.environ.get("SLPEMU_SOAK_SECONDS", "60"))
ROOT = Path(__file__).resolve().parents[2]
NC = "urn:ietf:params:xml:ns:netconf:base:1.0"
CSL = "http://cisco.com/ns/yang/cisco-smart-license"
HELLO = (f'<hello xmlns="{NC}"><capabilities><capability>urn:ietf:params:netconf:base:1.0</capability>'
         "</capabilities></hello>").encode()


def free_ports(n: int) -> list[int]:
    socks = [socket.socket() for _ in range(n)]
    for s in socks:
        s.bind(("127.0.0.1", 0))
    ports = [s.getsockname()[1] for s in socks]
    for s in socks:
        s.close()
    return ports


class Server:
    def __init__(self, state: Path, log: Path):
        self.state, self.log = state, log
        self.netconf, self.restconf, self.cli = free_ports(3)
        self.proc: subprocess.Popen | None = None
        self.starts = 0

    def start(self) -> None:
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "emulator.cli_main", "serve", "--state-dir", str(self.state), "--host", "127.0.0.1",
             "--netconf-port", str(self.netconf), "--restconf-port", str(self.restconf), "--cli-port", str(self.cli)],
            cwd=ROOT, stdout=subprocess.PIPE, stderr=open(self.log, "a"), text=True)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            line = self.proc.stdout.readline()
            if not line:
                raise AssertionError(f"the server ended at start: {self.log.read_text()[-2000:]}")
            if line.startswith("Press Ctrl+C"):
                self.starts += 1
                return
        raise AssertionError("the server did not start within 60 s")

    def kill(self) -> None:
        os.kill(self.proc.pid, signal.SIGKILL)
        self.proc.wait(30)
        self.proc.stdout.close()

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(30)


class Writer(threading.Thread):
    """One client writing numbered values in sequence: `attempted` is the last number sent, `acked` the
    last one the server confirmed; `acked_all` every confirmed number."""

    def __init__(self, name: str, server: Server, stop: threading.Event):
        super().__init__(name=name, daemon=True)
        self.server, self.stop_event = server, stop
        self.attempted = self.acked = 0
        self.acked_all: list[int] = []
        self.errors = 0
        self.conn = None

    def run(self) -> None:
        n = 0
        while not self.stop_event.is_set():
            try:
                if self.conn is None:
                    self.conn = self.connect()
                n += 1
                self.attempted = n
                if self.write(n):
                    self.acked = n
                    self.acked_all.append(n)
            except Exception:                       # the server was killed: reconnect when it is back
                self.errors += 1
                self.drop()
                time.sleep(0.2)

    def drop(self) -> None:
        conn, self.conn = self.conn, None
        if conn is not None:
            try:
                (conn[0] if isinstance(conn, tuple) else conn).close()
            except Exception:
                pass


class NetconfWriter(Writer):
    def connect(self):
        client = paramiko.SSHClient()
        client.set_missing_host_key_policy(paramiko.AutoAddPolicy())
        client.connect("127.0.0.1", self.server.netconf, "admin", "admin", look_for_keys=False, allow_agent=False,
                       timeout=5, banner_timeout=5, auth_timeout=5)
        chan = client.get_transport().open_session(timeout=5)
        chan.invoke_subsystem("netconf")
        chan.settimeout(10)
        self.read(chan)
        chan.sendall(frame_eom(HELLO))
        return client, chan

    @staticmethod
    def read(chan) -> bytes:
        got = b""
        while b"]]>]]>" not in got:
            chunk = chan.recv(65536)
            if not chunk:
                raise EOFError
            got += chunk
        return got

    def write(self, n: int) -> bool:
        chan = self.conn[1]
        chan.sendall(frame_eom(
            f'<rpc xmlns="{NC}" message-id="{n}"><edit-config><target><running/></target><config>'
            f'<licensing xmlns="{CSL}"><config><custom-id>nc-{n}</custom-id></config></licensing></config>'
            "</edit-config></rpc>".encode()))
        return b"<ok/>" in self.read(chan)


class RestconfWriter(Writer):
    def connect(self):
        s = requests.Session()
        s.trust_env, s.verify, s.auth = False, False, ("admin", "admin")
        return s

    def write(self, n: int) -> bool:
        r = self.conn.patch(f"https://127.0.0.1:{self.server.restconf}/restconf/data/cisco-smart-license:licensing/config",
                            json={"cisco-smart-license:config": {"usage": {"customer-tags": {"tag1": f"rc-{n}"}}}},
                            headers={"Content-Type": "application/yang-data+json"}, timeout=10)
        return r.status_code == 204


class CliWriter(Writer):
    def connect(self):
        sh = Shell(self.server.cli, timeout=10)
        sh.run("terminal length 0")
        sh.run("configure terminal")
        return sh

    def write(self, n: int) -> bool:
        return self.conn.run(f"username soak{n} privilege 1 password 0 pw{n}") == ""


class SftpWriter(Writer):
    def connect(self):
        client = paramiko.SSHClient()
        client.set_missing_host_key_policy(paramiko.AutoAddPolicy())
        client.connect("127.0.0.1", self.server.cli, "admin", "admin", look_for_keys=False, allow_agent=False,
                       timeout=5, banner_timeout=5, auth_timeout=5)
        client.get_transport().sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        return client, client.open_sftp()

    def write(self, n: int) -> bool:
        with self.conn[1].open(f"/bootflash/soak-{n}.txt", "w") as f:
            f.write(content(n))
        return True


def content(n: int) -> bytes:
    return f"soak file {n}\n".encode() * (1 + n % 50)


def check_store(state: Path, writers: dict[str, Writer]) -> dict:
    """After a kill, before the restart: integrity, and every acknowledged write present."""
    db = sqlite3.connect(str(state / "slpemu.db"))
    try:
        assert db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        core = __import__("json").loads(db.execute("SELECT core FROM device WHERE id='device'").fetchone()[0])
    finally:
        db.close()
    st = from_stored(core)
    lost = 0
    for name, value, prefix in (("netconf", st.config.custom_id, "nc-"), ("restconf", st.config.customer_tag1, "rc-")):
        w = writers[name]
        got = int(value[len(prefix):]) if value and value.startswith(prefix) else 0
        if not w.acked <= got <= w.attempted:
            lost += 1
        assert w.acked <= got <= w.attempted, (name, w.acked, got, w.attempted)
    users = {int(u[4:]) for u in st.users if u.startswith("soak")}
    missing_users = [n for n in writers["cli"].acked_all if n not in users]
    lost += len(missing_users)
    assert not missing_users, missing_users
    flash = state / "flash" / "device" / "bootflash"
    files = {int(p.name[5:-4]): p for p in flash.glob("soak-*.txt")}
    missing_files = [n for n in writers["sftp"].acked_all if n not in files]
    lost += len(missing_files)
    assert not missing_files, missing_files
    for n, p in files.items():                     # acknowledged or not: whole files only
        assert p.read_bytes() == content(n), p
    return {"lost": lost, "users": len(users), "files": len(files)}


def test_soak_kill_and_restart(tmp_path, figures):
    state = tmp_path / "state"
    server = Server(state, tmp_path / "server.log")
    server.start()
    stop = threading.Event()
    writers = {"netconf": NetconfWriter("netconf", server, stop), "restconf": RestconfWriter("restconf", server, stop),
               "cli": CliWriter("cli", server, stop), "sftp": SftpWriter("sftp", server, stop)}
    for w in writers.values():
        w.start()
    rnd = random.Random(int(os.environ.get("SLPEMU_SOAK_SEED", "14")))
    kills, lost = 0, 0
    end = time.monotonic() + SECONDS
    try:
        while time.monotonic() < end:
            time.sleep(min(rnd.uniform(2.0, 7.0), max(0.0, end - time.monotonic())))
            if time.monotonic() >= end:
                break
            server.kill()
            kills += 1
            lost += check_store(state, writers)["lost"]
            server.start()
    finally:
        stop.set()
        for w in writers.values():
            w.join(30)
        acked = {name: len(w.acked_all) for name, w in writers.items()}
        try:
            if server.proc is not None and server.proc.poll() is None:
                server.kill()
                kills += 1
                final = check_store(state, writers)
                lost += final["lost"]
                server.start()
        finally:
            figures["soak"] = {"seconds": SECONDS, "kills": kills, "starts": server.starts,
                               "acknowledged_writes": acked, "writes_lost": lost,
                               "client_errors_while_down": {n: w.errors for n, w in writers.items()}}
    try:
        # the restarted server serves what was acknowledged, over its own protocols
        r = requests.get(f"https://127.0.0.1:{server.restconf}/restconf/data/cisco-smart-license:licensing/config",
                         auth=("admin", "admin"), verify=False, headers={"Accept": "application/yang-data+json"},
                         timeout=10)
        config = r.json()["cisco-smart-license:config"]
        assert int(config["custom-id"][3:]) >= writers["netconf"].acked
        assert int(config["usage"]["customer-tags"]["tag1"][3:]) >= writers["restconf"].acked
        shell = Shell(server.cli)
        shell.run("terminal length 0")
        running = shell.run("show running-config")
        shell.close()
        for n in writers["cli"].acked_all:
            assert re.search(rf"^username soak{n} privilege 1 password 0 pw{n}$", running, re.M), n
    finally:
        server.stop()
    assert kills >= 1 and lost == 0
    assert all(len(w.acked_all) > 0 for w in writers.values()), {n: w.acked for n, w in writers.items()}
