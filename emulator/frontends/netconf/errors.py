"""<rpc-error> (RFC 6241 §4.3, Appendix A): every failure of the NETCONF server becomes one of these."""

from __future__ import annotations

from xml.sax.saxutils import escape, quoteattr

from emulator.yangdata.errors import YangError

BASE_NS = "urn:ietf:params:xml:ns:netconf:base:1.0"
ERROR_TYPES = ("transport", "rpc", "protocol", "application")
INFO_ORDER = ("bad-attribute", "bad-element", "ok-element", "err-element", "noop-element", "bad-namespace",
              "session-id")


class RpcError(Exception):
    def __init__(self, tag: str, message: str, *, error_type: str = "protocol", path: str | None = None,
                 app_tag: str | None = None, info: dict | None = None, severity: str = "error",
                 namespaces: dict[str, str] | None = None):
        super().__init__(message)
        assert error_type in ERROR_TYPES, error_type
        self.tag = tag
        self.message = message
        self.error_type = error_type
        self.path = path
        self.app_tag = app_tag
        self.info = dict(info or {})
        self.severity = severity
        self.namespaces = dict(namespaces or {})      # prefix → namespace used in error-path

    @classmethod
    def from_yang(cls, err: YangError, schema=None) -> "RpcError":
        path, namespaces = yang_path_to_xpath(err.path, schema) if err.path else (None, {})
        return cls(err.tag, err.message, error_type=err.error_type if err.error_type in ERROR_TYPES else "application",
                   path=path, app_tag=err.app_tag, info=err.info, namespaces=namespaces)

    def xml(self) -> str:
        parts = [f"<rpc-error><error-type>{self.error_type}</error-type><error-tag>{escape(self.tag)}</error-tag>"
                 f"<error-severity>{self.severity}</error-severity>"]
        if self.app_tag:
            parts.append(f"<error-app-tag>{escape(self.app_tag)}</error-app-tag>")
        if self.path:
            decls = "".join(f" xmlns:{p}={quoteattr(ns)}" for p, ns in sorted(self.namespaces.items()))
            parts.append(f"<error-path{decls}>{escape(self.path)}</error-path>")
        parts.append(f'<error-message xml:lang="en">{escape(self.message)}</error-message>')
        info = [(k, v) for k, v in self.info.items() if v is not None]
        if info:
            info.sort(key=lambda kv: INFO_ORDER.index(kv[0]) if kv[0] in INFO_ORDER else len(INFO_ORDER))
            parts.append("<error-info>")
            for k, v in info:
                parts.append(f"<{k}>{escape(str(v))}</{k}>")
            parts.append("</error-info>")
        parts.append("</rpc-error>")
        return "".join(parts)


def yang_path_to_xpath(path: str, schema=None) -> tuple[str, dict[str, str]]:
    """'/cisco-smart-license:licensing/config/usage' → '/cisco-smart-license:licensing/cisco-smart-license:config/...'
    with the prefixes (module names) bound to their namespaces."""
    namespaces: dict[str, str] = {}
    out = []
    module = None
    for step in [s for s in path.split("/") if s]:
        if ":" in step:
            module, _, name = step.partition(":")
        else:
            name = step
        if module is None:
            out.append(name)
            continue
        ns = _namespace_of(module, schema)
        if ns is None:
            out.append(f"{module}:{name}" if ":" in step else name)
            continue
        namespaces[module] = ns
        out.append(f"{module}:{name}")
    return "/" + "/".join(out), namespaces


def _namespace_of(module: str, schema) -> str | None:
    if schema is None:
        return None
    info = schema.modules.get(module)
    return info.namespace if info else None
