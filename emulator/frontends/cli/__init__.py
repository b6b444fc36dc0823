"""The IOS-style CLI of one device over SSH (`slpemu serve --cli-port`, default 2022), with SCP and SFTP to
the device flash on the same port.

    server = CliServer(device, host="127.0.0.1", port=0, state_dir=path).start()
    server.port            # the bound port
    server.stop()

Interactive shells get the IOS prompts and modes (`Router>`, `Router#`, `Router(config)#`,
`Router(config-line)#`), line editing, `?` help and the IOS error messages; `ssh host 'show ...'` runs
one command. Users and passwords are the device's own; public keys come from `<state_dir>/authorized_keys`
(see `emulator.frontends.ssh`). The host key is kept in `<state_dir>/ssh_host_ecdsa_key`.

Syslog messages reach a shell when `logging console` is on (the default; `no logging console` turns it
off for every session, as unicon does at connect) or when the session said `terminal monitor`. They are
printed when the session is idle at its prompt or right after a command's output.
"""

from __future__ import annotations

import threading
from pathlib import Path

from ..ssh import AUTHORIZED_KEYS_NAME, HOST_KEY_NAME, SSHServer
from . import commands as C
from .filexfer import FlashSFTP, run_scp
from .session import CliSession


class CliServer:
    def __init__(self, device, host: str = "127.0.0.1", port: int = 2022, state_dir: str | Path = ".",
                 idle_timeout: float = 0.0):
        self.device = device
        self.state_dir = Path(state_dir)
        self.startup_written = True
        self.stop_event = threading.Event()
        self.idle_timeout = idle_timeout
        self._grammar_cache: dict = {}
        self._lock = threading.Lock()
        self.ssh = SSHServer(host, port, host_key_path=self.state_dir / HOST_KEY_NAME,
                             authenticate_password=device.check_password,
                             authorized_keys_path=self.state_dir / AUTHORIZED_KEYS_NAME,
                             known_user=device.privilege_of,
                             shell_handler=self._shell, exec_handler=self._exec,
                             subsystems={"sftp": (_sftp_server_class(), FlashSFTP, device)}, name="cli",
                             device=device)

    @property
    def port(self) -> int | None:
        return self.ssh.port

    @property
    def host(self) -> str:
        return self.ssh.host

    def start(self) -> "CliServer":
        self.ssh.start()
        return self

    def stop(self) -> None:
        self.stop_event.set()
        self.ssh.stop()

    def describe(self) -> str:
        return f"CLI (SSH, SCP, SFTP) on {self.host}:{self.port}"

    # ------------------------------------------------------------------ grammars per release
    def grammars(self, release) -> dict:
        key = str(release)
        with self._lock:
            cached = self._grammar_cache.get(key)
            if cached is None:
                cached = {"user": C.exec_grammar(self.device, privileged=False),
                          "exec": C.exec_grammar(self.device, privileged=True),
                          "config": C.config_grammar(self.device),
                          "config-line": C.line_grammar(),
                          **C.devcmds.submode_grammars(C.KEYWORD_HELP, C.a_do)}
                self._grammar_cache = {key: cached}
            return cached

    def enable_password_ok(self, password: str) -> bool:
        return any(u.privilege >= 15 and u.password == password for u in self.device.users.values())

    # ------------------------------------------------------------------ SSH handlers
    def _shell(self, ssh_session) -> None:
        CliSession(self, ssh_session, interactive=True).run_shell()

    def _exec(self, ssh_session, command: str) -> None:
        text = command.strip()
        if text.split(" ", 1)[0] == "scp":
            status = 1
            try:
                status = run_scp(self.device, ssh_session.channel, text, privilege=ssh_session.privilege)
            finally:
                chan = ssh_session.channel
                try:
                    chan.send_exit_status(status)
                    chan.shutdown_write()
                    chan.close()
                except Exception:
                    pass
            return
        CliSession(self, ssh_session, interactive=False).run_exec(text)


def _sftp_server_class():
    import paramiko

    from .filexfer import _Handle

    class FlashSFTPServer(paramiko.SFTPServer):
        """paramiko's SFTP server, ending with an exit status as OpenSSH's scp (SFTP mode) expects; a file
        the client never closed (it went away mid-upload) is dropped, not kept half-written; a failure the
        flash explained (`%Error writing ... (No space left on device)`) is the status message."""

        def _send_status(self, request_number, code, desc=None):
            iface = getattr(self, "server", None)
            if code != paramiko.SFTP_OK and desc is None and getattr(iface, "last_error", None):
                desc, iface.last_error = iface.last_error, None
            return super()._send_status(request_number, code, desc)

        def finish_subsystem(self):
            for handle in list(self.file_table.values()):
                if isinstance(handle, _Handle):
                    handle.abort()
                    handle.writer = None
            try:
                self.get_channel().send_exit_status(0) if hasattr(self, "get_channel") else \
                    self.sock.send_exit_status(0)
            except Exception:
                pass
            super().finish_subsystem()
    return FlashSFTPServer
