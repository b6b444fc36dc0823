"""Issue 14 #6: one server per state dir. A second server on a state dir in use refuses to start with one
clear line naming the process that holds it (an OS file lock, released even when the holder is killed)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from emulator.runtime import DeviceOptions, open_device

ROOT = Path(__file__).resolve().parents[2]


def serve(state: Path) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "emulator.cli_main", "serve", "--state-dir", str(state),
                             "--host", "127.0.0.1", "--netconf-port", "0", "--restconf-port", "0", "--cli-port", "0"],
                            cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def wait_started(proc: subprocess.Popen, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        line = proc.stdout.readline()
        if not line:
            raise AssertionError(f"the server ended: {proc.stderr.read()}")
        if line.startswith("Press Ctrl+C"):
            return
    raise AssertionError("the server did not start")


def test_a_second_device_on_the_same_state_dir_is_refused_in_process(tmp_path):
    from emulator.store import StateDirInUse
    first = open_device(tmp_path / "state", DeviceOptions(users={"admin": "admin"}))
    try:
        with pytest.raises(StateDirInUse) as info:
            open_device(tmp_path / "state", DeviceOptions(users={"admin": "admin"}))
        assert f"is in use by process {os.getpid()} " in str(info.value)
        assert str((tmp_path / "state").resolve()) in str(info.value)
    finally:
        first.store.close()
    again = open_device(tmp_path / "state", DeviceOptions(users={"admin": "admin"}))     # released by close()
    again.store.close()


def test_a_second_server_refuses_to_start_with_one_line(tmp_path):
    state = tmp_path / "state"
    first = serve(state)
    try:
        wait_started(first)
        second = serve(state)
        try:
            out, err = second.communicate(timeout=60)
        finally:
            if second.poll() is None:           # it started: the defect
                second.kill()
                second.communicate(timeout=30)
        assert second.returncode == 1
        lines = err.strip().splitlines()
        assert len(lines) == 1, err
        assert lines[0].startswith(f"Error: state dir {state.resolve()} is in use by process {first.pid} ("), err
        assert "Traceback" not in err and "Press Ctrl+C" not in out
        os.kill(first.pid, signal.SIGKILL)                       # the lock dies with its holder
        first.wait(timeout=30)
        third = serve(state)
        try:
            wait_started(third)
        finally:
            third.terminate()
            third.communicate(timeout=30)
    finally:
        if first.poll() is None:
            first.kill()
        first.communicate(timeout=30)


# ============================================================================================ #11 TLS files

@pytest.mark.parametrize("case", ["not-pem", "key-of-another", "cert-only", "key-is-a-cert"])
def test_a_bad_tls_pair_is_one_line_and_exit_status_2(tmp_path, case):
    from emulator.frontends.restconf.tls import self_signed
    cert, key = self_signed("Router", "127.0.0.1")
    _, other_key = self_signed("Other", "127.0.0.1")
    (tmp_path / "cert.pem").write_bytes(cert)
    (tmp_path / "key.pem").write_bytes({"not-pem": b"garbage\n", "key-of-another": other_key,
                                        "cert-only": key, "key-is-a-cert": cert}[case])
    if case == "not-pem":
        (tmp_path / "cert.pem").write_bytes(b"-----BEGIN CERTIFICATE-----\nnot base64\n")
    args = ["--tls-cert", str(tmp_path / "cert.pem")]
    if case != "cert-only":
        args += ["--tls-key", str(tmp_path / "key.pem")]
    proc = subprocess.run([sys.executable, "-m", "emulator.cli_main", "serve", "--state-dir", str(tmp_path / "s"),
                           "--netconf-port", "0", "--restconf-port", "0", "--cli-port", "0", *args],
                          cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert proc.returncode == 2, proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("Error: --tls-cert/--tls-key: "), proc.stderr
    assert "Traceback" not in proc.stderr and not (tmp_path / "s").exists()
