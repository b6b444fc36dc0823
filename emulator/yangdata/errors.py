"""Protocol-neutral errors of the YANG data layer: NETCONF turns them into <rpc-error>, RESTCONF into
RFC 8040 error bodies with the status of RFC 8040 §7. Their texts quote client input, so characters XML
1.0 does not allow are escaped (\\uXXXX): an error is always serialisable as XML and as JSON."""

from __future__ import annotations

from .schema import xml_safe

# RFC 8040 §7, table of error-tag → HTTP status.
HTTP_STATUS = {
    "in-use": 409, "invalid-value": 400, "too-big": 413, "missing-attribute": 400, "bad-attribute": 400,
    "unknown-attribute": 400, "bad-element": 400, "unknown-element": 400, "unknown-namespace": 400,
    "access-denied": 401, "lock-denied": 409, "resource-denied": 409, "rollback-failed": 500,
    "data-exists": 409, "data-missing": 409, "operation-not-supported": 405, "operation-failed": 500,
    "partial-operation": 500, "malformed-message": 400, "missing-element": 400,
}


class YangError(Exception):
    def __init__(self, tag: str, message: str, *, error_type: str = "application", path: str | None = None,
                 app_tag: str | None = None, info: dict | None = None, status: int | None = None):
        message = xml_safe(message)
        super().__init__(message)
        self.tag = tag
        self.message = message
        self.error_type = error_type
        self.path = xml_safe(path) if path is not None else None
        self.app_tag = app_tag
        self.info = {k: xml_safe(v) if isinstance(v, str) else v for k, v in (info or {}).items()}
        self._status = status

    @property
    def http_status(self) -> int:
        return self._status or HTTP_STATUS.get(self.tag, 400)

    def __repr__(self) -> str:
        return f"YangError({self.tag!r}, {self.message!r}, path={self.path!r})"


class UnknownDataError(YangError):
    """Data to encode holds a key its schema node does not have: a renderer and the YANG modules disagree."""

    def __init__(self, message: str, *, path: str | None = None):
        super().__init__("operation-failed", message, path=path)


def from_device_error(exc, path: str | None = None) -> YangError:
    """A refused configuration value or control request: invalid-value with the router's message (and
    `path`, the node of the refused input, as error-path); the configuration lock held by another session
    is in-use (RFC 6241 §7.5, RFC 8040 409) and a missing privilege access-denied."""
    message = str(exc).lstrip("% ").strip()
    if exc.code == "in-use":
        holder = exc.holder.split(":")[-1] if exc.holder.startswith("netconf:") else "0"
        return YangError("in-use", message, error_type="protocol", info={"session-id": holder})
    if exc.code == "access-denied":
        return YangError("access-denied", message, error_type="protocol", status=403)
    return YangError("invalid-value", message, app_tag=exc.code, path=path)
