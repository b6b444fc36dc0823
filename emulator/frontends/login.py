"""IOS's login protection (`login block-for <s> attempts <n> within <s>`, `login delay <s>`), one per
device, shared by every front-end that checks a password: SSH (CLI, NETCONF) and HTTP Basic (RESTCONF, the
native API), as IOS's Login Enhancements cover SSH, Telnet and HTTP logins."""

from __future__ import annotations

import logging
import threading
import time
import weakref
from collections import deque
from datetime import datetime, timezone

log = logging.getLogger(__name__)


class LoginGuard:
    """IOS's login protection for one device, shared by its SSH and HTTP servers. `login block-for <s>
    attempts <n> within <w>` turns Quiet Mode on after n failures within w seconds, refusing every login
    for s seconds (%SEC_LOGIN-1-QUIET_MODE_ON ... %SEC_LOGIN-5-QUIET_MODE_OFF). `login delay <s>` waits
    before each SSH password check (HTTP Basic authenticates every request: no delay there); with
    block-for configured and no delay, IOS waits 1 s. Durations are real time (the device clock may be
    frozen or advanced)."""

    def __init__(self, device):
        self.device = device
        self._lock = threading.Lock()
        self._failures: deque[float] = deque()
        self._quiet_until = 0.0
        self._timer: threading.Timer | None = None

    def _settings(self) -> tuple[int, int, int, int]:
        sysc = self.device.system
        block = int(getattr(sysc, "login_block_for", 0) or 0)
        attempts = int(getattr(sysc, "login_block_attempts", 0) or 0)
        within = int(getattr(sysc, "login_block_within", 0) or 0)
        delay = int(getattr(sysc, "login_delay", 0) or 0) or (1 if block else 0)
        return block, attempts, within, delay

    def quiet(self) -> bool:
        with self._lock:
            return time.monotonic() < self._quiet_until

    def before_attempt(self) -> bool:
        """Waits the login delay; False when Quiet Mode refuses every login."""
        block, _, _, delay = self._settings()
        if self.quiet():
            return False
        if delay:
            time.sleep(delay)
        return not self.quiet()

    def failed(self, user: str, source: str, localport: int) -> None:
        block, attempts, within, _ = self._settings()
        if not (block and attempts and within):
            return
        now = time.monotonic()
        with self._lock:
            if now < self._quiet_until:
                return
            self._failures.append(now)
            while self._failures and self._failures[0] < now - within:
                self._failures.popleft()
            if len(self._failures) < attempts:
                return
            left = max(1, int(within - (now - self._failures[0])))
            self._failures.clear()
            self._quiet_until = now + block
            timer = self._timer = threading.Timer(block, self._quiet_off)
            timer.daemon = True
            timer.start()
        self._syslog(1, "QUIET_MODE_ON",
                     f"Still timeleft for watching failures is {left} secs, [user: {user}] [Source: {source}] "
                     f"[localport: {localport}] [Reason: Login Authentication Failed] [ACL: sl_def_acl] at "
                     f"{self._stamp()}")

    def _quiet_off(self) -> None:
        with self._lock:
            if time.monotonic() + 0.5 < self._quiet_until:
                return
            self._quiet_until = 0.0
        self._syslog(5, "QUIET_MODE_OFF", f"Quiet Mode is OFF, because block period timed out at {self._stamp()}")

    def _stamp(self) -> str:
        return datetime.fromtimestamp(self.device.now(), tz=timezone.utc).strftime("%H:%M:%S UTC %a %b %-d %Y")

    def _syslog(self, severity: int, mnemonic: str, text: str) -> None:
        try:
            self.device.log_message("SEC_LOGIN", severity, mnemonic, text)
        except Exception:                     # noqa: BLE001 - a log line must not break a login
            log.exception("cannot log %s", mnemonic)


_GUARDS: "weakref.WeakKeyDictionary" = weakref.WeakKeyDictionary()
_GUARDS_LOCK = threading.Lock()


def login_guard_for(device) -> LoginGuard:
    """The one LoginGuard of a device (its CLI, NETCONF and HTTPS servers share it)."""
    with _GUARDS_LOCK:
        guard = _GUARDS.get(device)
        if guard is None:
            guard = _GUARDS[device] = LoginGuard(device)
        return guard
