"""The device around licensing: hostname, local users, the management services the front-ends honour
(`ip http …`, `netconf-yang`, `restconf`, …), and the configuration lock every writer meets."""

from __future__ import annotations

import secrets
import threading
import typing
from dataclasses import replace

from .context import Context
from .errors import DeviceError
from .settings import check_text
from .state import SystemSettings, User

SYSTEM_SETTINGS = typing.get_type_hints(SystemSettings)
_INTERFACE_KEYS = ("domain_lookup_source", "http_client_source", "tftp_source")


def _conforms(value, hint) -> bool:
    """Whether `value` has the type `hint` of a SystemSettings field (records, tuples, Optional, scalars)."""
    origin, args = typing.get_origin(hint), typing.get_args(hint)
    if origin in (typing.Union, getattr(__import__("types"), "UnionType", typing.Union)):
        return any(_conforms(value, a) for a in args)
    if hint is type(None):
        return value is None
    if origin is tuple:
        if not isinstance(value, tuple):
            return False
        if len(args) == 2 and args[1] is Ellipsis:
            return all(_conforms(v, args[0]) for v in value)
        return len(value) == len(args) and all(_conforms(v, a) for v, a in zip(value, args))
    if hint is int:
        return isinstance(value, int) and not isinstance(value, bool)
    return isinstance(value, hint)


def check_setting(key: str, value) -> None:
    """Checks one device setting's value in full (type, then each record's own rules)."""
    if not _conforms(value, SYSTEM_SETTINGS[key]):
        raise DeviceError(f"% Invalid value for {key}")
    items = value if isinstance(value, tuple) and value and hasattr(value[0], "check") else (value,)
    for item in items:
        if hasattr(item, "check"):
            item.check()
    if key in _INTERFACE_KEYS and value is not None:
        from .netconfig import interface_name
        if interface_name(value) != value:
            raise DeviceError(f"% Invalid interface name: {value}")
    if key == "ip_http_max_connections" and not 1 <= value <= 16:
        raise DeviceError("% Invalid input: max-connections is 1-16")
    if key == "ssh_version" and value not in (None, 1, 2):
        raise DeviceError("% Invalid SSH version")
    if key == "http_client_proxy" and value is not None:
        from .netconfig import check_host
        check_host(value[0], "proxy address")
        if not 1 <= value[1] <= 65535:
            raise DeviceError("% Invalid proxy port")
    if key == "http_client_trustpoint" and value is not None:
        from .netconfig import check_word
        check_word(value, "trustpoint name", 64)
    if key == "vty_transport_input" and value not in ("ssh", "telnet", "all", "none", "telnet ssh"):
        raise DeviceError(f"% Invalid transport input {value}")


class ConfigLocked(DeviceError):
    """The configuration is locked by another management session (NETCONF <lock>, RFC 6241 §7.5)."""

    def __init__(self, holder: str):
        super().__init__(f"% Configuration mode is locked by {holder}. Please try later.", "in-use")
        self.holder = holder


class NotAuthorized(DeviceError):
    """The user's privilege level does not allow the operation."""

    def __init__(self, what: str = "configuration"):
        super().__init__(f"% Authorization failed: {what} needs privilege level 15", "access-denied")


def check_name(value, length: tuple[int, int], what: str) -> str:
    if not isinstance(value, str) or not length[0] <= len(value) <= length[1] or any(c.isspace() for c in value):
        raise DeviceError(f"% Invalid {what}")
    return check_text(value, what)


class ConfigLock:
    """Who holds the device-wide configuration lock. Not persisted: a lock dies with its session."""

    def __init__(self):
        self._mutex = threading.Lock()
        self.holder: str | None = None

    def take(self, owner: str) -> str | None:
        """Takes the lock; returns None when taken, else the current holder."""
        with self._mutex:
            if self.holder is not None and self.holder != owner:
                return self.holder
            self.holder = owner
            return None

    def release(self, owner: str) -> bool:
        with self._mutex:
            if self.holder != owner:
                return False
            self.holder = None
            return True

    def check(self, owner: str | None) -> None:
        holder = self.holder
        if holder is not None and holder != owner:
            raise ConfigLocked(holder)


class System:
    def __init__(self, ctx: Context):
        self.ctx = ctx

    def set_hostname(self, hostname: str, now: float) -> None:
        hostname = check_name(hostname, (1, 63), "hostname")
        if hostname != self.ctx.hostname:
            self.ctx.update("identity", hostname=hostname)
            self.ctx.event(now, "HOSTNAME_CHANGE", hostname=hostname)

    def apply_settings(self, changes: dict) -> None:
        """None restores a setting's default."""
        defaults = SystemSettings()
        values = {}
        for key, value in changes.items():
            if key not in SYSTEM_SETTINGS:
                raise DeviceError(f"% Unknown device setting {key!r}")
            default = getattr(defaults, key)
            if value is not None:
                check_setting(key, value)
            values[key] = default if value is None else value
        self.ctx.put(system=replace(self.ctx.st.system, **values))

    def set_user(self, name: str, password: str | None, privilege: int | None) -> None:
        """`username <name> [privilege <n>] password <p>`; password None removes the user."""
        name = check_name(name, (1, 64), "username")
        users = dict(self.ctx.st.users)
        if password is None:
            if users.pop(name, None) is None:
                raise DeviceError(f"% User {name} does not exist", "notfound")
        else:
            if not isinstance(password, str) or not 1 <= len(password) <= 127:
                raise DeviceError("% Invalid password")
            check_text(password, "password")
            if isinstance(privilege, bool) or not isinstance(privilege, int) or not 0 <= privilege <= 15:
                raise DeviceError("% Invalid privilege level")
            users[name] = User(password, privilege)
        self.ctx.put(users=users)


def check_password(users, name: str, password: str) -> int | None:
    """The user's privilege level if the credentials are right, else None."""
    user = users.get(name)
    if user is None or not secrets.compare_digest(user.password.encode(), password.encode()):
        return None
    return user.privilege
