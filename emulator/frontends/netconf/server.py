"""The NETCONF server of one device, independent of the transport: sessions, hello, framing, operations.

`NetconfServer(device)` holds what sessions share (the data layer, the running lock, counters, the
notification fan-out); `server.open_session(send, close, ...)` gives a `NetconfSession` that the transport
feeds with received bytes (`session.receive(data)` returns False once the session has ended) and that
writes framed messages through `send(bytes)`. The SSH subsystem (`.ssh`) is one such transport; unit
tests drive sessions directly.

Operations (RFC 6241 unless noted): get, get-config (running), edit-config (running), validate, lock,
unlock, close-session, kill-session, get-schema (RFC 6022), create-subscription (RFC 5277) and every RPC
of the device's YANG modules through the shared data layer. Operation <name> is the session method
`rpc_<name>` (dashes as underscores) of the base namespace, or of the namespace `@operation` gives it.
candidate/startup/url are not advertised and are refused with an rpc-error; copy-config, delete-config,
commit, discard-changes and cancel-commit answer operation-not-supported.

An operation that fails unexpectedly is answered with one rpc-error (application, operation-failed, no
details) and logged with its traceback; the session goes on. Only broken framing, a bad hello or a failure
outside any operation ends a session.
"""

from __future__ import annotations

import copy
import itertools
import logging
import queue
import re
import threading
from collections import OrderedDict
from dataclasses import dataclass
from typing import Callable
from xml.sax.saxutils import escape, quoteattr

from lxml import etree

from emulator.engine.timefmt import parse_yang_time, yang_time
from emulator.xmlsafe import UnsafeXmlError, parse_xml
from emulator.yangdata import DataLayer, YangError, decode_xml, to_xml
from emulator.yangdata.codec import xml_string

from . import filters
from .errors import RpcError
from .framing import FrameReader, FramingError, frame_chunked, frame_eom
from .ietf import (BASE_NS, DS_NS, NCM_NS, NETMOD_NOTIF_NS, NOTIF_NS, WD_NS, WITH_DEFAULTS_MODES, capabilities,
                   netconf_library)
from .notifications import notifications_for

log = logging.getLogger(__name__)

BASE_10 = "urn:ietf:params:netconf:base:1.0"
BASE_11 = "urn:ietf:params:netconf:base:1.1"
# Tops the data layer caches per device revision; their rendering is cached the same way.
CACHEABLE = frozenset({"cisco-smart-license:licensing", "Cisco-IOS-XE-native:native"})
# Tops that never change while the process runs (the module set).
STATIC = frozenset({"ietf-yang-library:yang-library", "ietf-yang-library:modules-state"})
NETCONF_STATE = "ietf-netconf-monitoring:netconf-state"
WRITE_PRIVILEGE = 15
MAX_MESSAGE = 4 * 1024 * 1024
MAX_SESSION_ID = 2 ** 32 - 1         # ietf-netconf session-id-type: uint32 1..max
OK = "<ok/>"


class _Reply(Exception):
    """Raised by an operation to answer with several rpc-errors at once."""

    def __init__(self, errors: list[RpcError]):
        super().__init__(errors[0].message)
        self.errors = errors


@dataclass(frozen=True)
class _Then:
    """An operation's reply body and what to do once it is sent (close-session, create-subscription)."""
    body: str
    action: Callable[[], None]


def operation(namespace: str):
    """Marks an `rpc_<name>` method as the operation <name> of `namespace` (default: the base namespace)."""
    def mark(method):
        method.namespace = namespace
        return method
    return mark


class NetconfServer:
    """What the NETCONF sessions of one device share: the data layer, the library, the running lock, the
    monitoring counters and the notification fan-out."""

    def __init__(self, device, *, max_message: int = MAX_MESSAGE, xpath_timeout: float = filters.XPATH_TIMEOUT):
        self.device = device
        self.xpath_timeout = xpath_timeout
        self.layer = DataLayer(device)
        self.schema = self.layer.schema
        self.library = netconf_library(device.release)      # the module revisions of the device's release
        self.capabilities = capabilities(self.library)
        self.max_message = max_message
        self._lock = threading.RLock()
        self._sessions: dict[int, NetconfSession] = {}
        self._ids = itertools.count(1)
        self.locks: dict[str, tuple[int, float]] = {}            # datastore → (session id, device time)
        self.start_time = device.now()
        self.stats = {"in-bad-hellos": 0, "in-sessions": 0, "dropped-sessions": 0, "in-rpcs": 0,
                      "in-bad-rpcs": 0, "out-rpc-errors": 0, "out-notifications": 0}
        self._render_cache: OrderedDict = OrderedDict()
        self._unsubscribe = device.subscribe(self._on_device_event)
        self.tops = dict(self.schema.top)
        self.tops.update(self.library.top)
        self.yang_rpcs = {(r.namespace, r.name): r for r in self.schema.rpcs.values()}
        # The parts of netconf-state that never change, as data and as rendered elements (most of its size)
        self._state_static = {"capabilities": {"capability": list(self.capabilities)},
                              "schemas": {"schema": self.library.schemas()}}
        [rendered] = to_xml(self.tops[NETCONF_STATE], self._state_static)
        self._state_static_xml = {etree.QName(el).localname: el for el in rendered}

    # ------------------------------------------------------------------ sessions
    def open_session(self, send: Callable[[bytes], None], close: Callable[[], None] | None = None, *,
                     username: str = "", privilege: int = 15, source_host: str = "",
                     transport: str = "netconf-ssh") -> "NetconfSession":
        with self._lock:
            sid = next(self._ids)
            session = NetconfSession(self, sid, send, close, username=username, privilege=privilege,
                                     source_host=source_host, transport=transport)
            self._sessions[sid] = session
            self.stats["in-sessions"] += 1
        session.start()
        return session

    def session(self, sid: int) -> "NetconfSession | None":
        with self._lock:
            return self._sessions.get(sid)

    def sessions(self) -> list["NetconfSession"]:
        with self._lock:
            return list(self._sessions.values())

    def _forget(self, session: "NetconfSession", dropped: bool) -> None:
        with self._lock:
            if self._sessions.pop(session.id, None) is None:
                return
            for ds, (owner, _) in list(self.locks.items()):
                if owner == session.id:
                    del self.locks[ds]
                    self.device.unlock_config(session.owner)
            if dropped:
                self.stats["dropped-sessions"] += 1

    def count(self, key: str, n: int = 1) -> None:
        with self._lock:
            self.stats[key] += n

    def close(self) -> None:
        self._unsubscribe()
        for s in self.sessions():
            s.terminate()

    # ------------------------------------------------------------------ notifications
    def _on_device_event(self, kind: str, obj) -> None:
        if kind != "syslog":
            return
        for s in self.sessions():
            if s.subscription is not None:
                s.subscription.live(obj)

    # ------------------------------------------------------------------ hello
    def hello(self, session_id: int) -> bytes:
        caps = "".join(f"<capability>{escape(c)}</capability>" for c in self.capabilities)
        return (f'<?xml version="1.0" encoding="UTF-8"?><hello xmlns="{BASE_NS}"><capabilities>{caps}'
                f"</capabilities><session-id>{session_id}</session-id></hello>").encode()

    # ------------------------------------------------------------------ data
    def provider(self, content: str):
        """provide(qname) → data of one top for this request (device data read once per request)."""
        device_data: dict | None = None

        def provide(qname: str):
            nonlocal device_data
            if qname in self.schema.top:
                if device_data is None:
                    device_data = self.layer.get(content)
                return device_data.get(qname)
            if content == "config":
                return None
            return self.ietf_data(qname)
        return provide

    def ietf_data(self, qname: str):
        if qname == NETCONF_STATE:
            return self.netconf_state()
        if qname == "ietf-yang-library:yang-library":
            return self.library.yang_library()
        if qname == "ietf-yang-library:modules-state":
            return self.library.modules_state()
        return None

    def netconf_state(self) -> dict:
        with self._lock:
            lock = self.locks.get("running")
            sessions = list(self._sessions.values())
            stats = dict(self.stats)
        running = {"name": "running"}
        if lock:
            running["locks"] = {"global-lock": {"locked-by-session": lock[0], "locked-time": yang_time(lock[1])}}
        return {
            "capabilities": self._state_static["capabilities"],
            "datastores": {"datastore": [running]},
            "schemas": self._state_static["schemas"],
            "sessions": {"session": [s.monitoring() for s in sessions if s.hello_done]},
            "statistics": {"netconf-start-time": yang_time(self.start_time), **stats},
        }

    def render(self, qname: str, value) -> str:
        node = self.tops[qname]
        if qname == NETCONF_STATE:
            return self._render_netconf_state(node, value)
        text = xml_string(to_xml(node, value))
        if qname == "ietf-yang-library:yang-library":
            # datastore names are identityrefs, held in their RFC 7951 form; XML needs a declared prefix
            text = text.replace("<name>ietf-datastores:", f'<name xmlns:ds="{DS_NS}">ds:')
        return text

    def _render_netconf_state(self, node, value: dict) -> str:
        """netconf-state with its unchanging parts (still the same objects after a subtree filter) copied from
        their one rendering instead of encoded again."""
        reused = [name for name, data in self._state_static.items() if value.get(name) is data]
        [el] = to_xml(node, {k: v for k, v in value.items() if k not in reused})
        order = [c.name for c in node.ordered_children]
        for name in reused:
            later = next((i for i, child in enumerate(el)
                          if order.index(etree.QName(child).localname) > order.index(name)), len(el))
            el.insert(later, copy.deepcopy(self._state_static_xml[name]))
        return etree.tostring(el, encoding="unicode")

    def cached_render(self, key, build: Callable[[], str]) -> str:
        """Renderings of revision-cached data, keyed by what determines them (device revision first)."""
        with self._lock:
            hit = self._render_cache.get(key)
            if hit is not None:
                self._render_cache.move_to_end(key)
                return hit
        text = build()
        with self._lock:
            self._render_cache[key] = text
            while len(self._render_cache) > 64:
                self._render_cache.popitem(last=False)
        return text


class _Subscription:
    """One create-subscription: replay from the device's log buffer, then live events until the session
    ends (or stopTime passes)."""

    def __init__(self, session: "NetconfSession", start: float | None, stop: float | None, filt):
        self.session = session
        self.start = start
        self.stop = stop
        self.filter = filt            # (kind, element) or None
        self.queue: queue.Queue = queue.Queue(maxsize=10000)
        self.replaying = True
        self._held: list = []
        self._lock = threading.Lock()
        self.done = False

    def live(self, msg) -> None:
        with self._lock:
            if self.replaying:
                self._held.append(msg)
                return
        self._put(("event", msg))

    def _put(self, item) -> None:
        try:
            self.queue.put_nowait(item)
        except queue.Full:            # a client that does not read loses events, not the device
            pass

    def begin(self) -> None:
        device = self.session.server.device
        replayed = set()
        if self.start is not None:
            for msg in device.syslog():
                if msg.time >= self.start and (self.stop is None or msg.time <= self.stop):
                    replayed.add(msg.seq)
                    self._put(("event", msg))
            self._put(("replay-complete", None))
            if self.stop is not None and self.stop <= device.now():
                self._put(("complete", None))
        with self._lock:
            self.replaying = False
            held, self._held = self._held, []
        for msg in held:
            if msg.seq not in replayed:
                self._put(("event", msg))
        threading.Thread(target=self._run, name=f"netconf-notify-{self.session.id}", daemon=True).start()

    def cancel(self) -> None:
        self.done = True
        self._put(("stop", None))

    def _run(self) -> None:
        while not self.done:
            kind, msg = self.queue.get()
            if kind == "stop" or self.session.closed:
                return
            if kind == "replay-complete":
                self.session.send_notification(yang_time(self.session.server.device.now()),
                                               f'<replayComplete xmlns="{NETMOD_NOTIF_NS}"/>')
                continue
            if kind == "complete":
                self.session.send_notification(yang_time(self.session.server.device.now()),
                                               f'<notificationComplete xmlns="{NETMOD_NOTIF_NS}"/>')
                self.done = True
                self.session.subscription_ended(self)
                return
            if self.stop is not None and msg.time > self.stop:
                self._put(("complete", None))
                continue
            try:
                bodies = [self._filtered(node, data)
                          for node, data in notifications_for(msg, self.session.server.schema)]
            except Exception:        # one event that cannot be rendered is lost, not the subscription
                log.exception("NETCONF session %s: cannot render the notification of %s", self.session.id, msg)
                continue
            for body in bodies:
                if body is not None:
                    self.session.send_notification(yang_time(msg.time), body)

    def _filtered(self, node, data) -> str | None:
        if self.filter is None:
            return xml_string(to_xml(node, data))
        kind, el = self.filter
        if kind == "subtree":
            for n, f in filters.select_tops(el, {node.qname: node}):
                result = filters.filter_node(n, data, f)
                if result is not None:
                    return xml_string(to_xml(node, result))
            return None
        # the notification's content is the root of its own document: select="/enabled" picks <enabled>
        [element] = to_xml(node, data)
        try:
            picked = filters.xpath_select([element], el.get("select") or "", el.nsmap)
        except RpcError:
            return None
        return etree.tostring(element, encoding="unicode") if picked else None


class NetconfSession:
    def __init__(self, server: NetconfServer, sid: int, send, close, *, username: str, privilege: int,
                 source_host: str, transport: str):
        self.server = server
        self.id = sid
        self.owner = f"netconf:{sid}"       # who holds the configuration lock / writes, for the engine
        self._send_raw = send
        self._close_transport = close
        self.username = username
        self.privilege = privilege
        self.source_host = source_host
        self.transport = transport
        self.login_time = server.device.now()
        self.reader = FrameReader(server.max_message)
        self.hello_done = False
        self.chunked = False
        self.closed = False
        self.subscription: _Subscription | None = None
        self._send_lock = threading.Lock()
        self.counters = {"in-rpcs": 0, "in-bad-rpcs": 0, "out-rpc-errors": 0, "out-notifications": 0}

    # ------------------------------------------------------------------ life cycle
    def start(self) -> None:
        self._write(self.server.hello(self.id))

    def receive(self, data: bytes) -> bool:
        """Feeds received bytes; returns False once the session is over (the transport then closes)."""
        if self.closed:
            return False
        self.reader.feed(data)
        while not self.closed:
            try:
                msg = self.reader.next_message()
            except FramingError as exc:
                self._fatal(RpcError("malformed-message" if self.chunked else "operation-failed",
                                     f"framing error: {exc}; the session is closed", error_type="rpc"))
                return False
            if msg is None:
                break
            try:
                self._handle(msg)
            except OSError:                 # the transport failed while sending: the client is gone
                self.terminate(dropped=True)
                return False
            except Exception:
                # Failures inside an operation are answered by _handle; this is one outside any (the hello,
                # sending), after which the session's state is unknown.
                log.exception("NETCONF session %s: unexpected failure outside an operation", self.id)
                self._fatal(RpcError("operation-failed", "internal error; the session is closed",
                                     error_type="application"))
                return False
        return not self.closed

    def terminate(self, dropped: bool = False) -> None:
        """Ends the session (close-session, kill-session, transport gone): locks released."""
        if self.closed:
            return
        self.closed = True
        if self.subscription is not None:
            self.subscription.cancel()
        self.server._forget(self, dropped)
        if self._close_transport is not None:
            try:
                self._close_transport()
            except Exception:
                pass

    def transport_closed(self) -> None:
        """The client went away without close-session."""
        self.terminate(dropped=True)

    def _fatal(self, err: RpcError) -> None:
        try:
            self._write(f'<rpc-reply xmlns="{BASE_NS}">{err.xml()}</rpc-reply>'.encode("utf-8", "replace"))
        except Exception:
            pass
        self.terminate(dropped=True)

    def monitoring(self) -> dict:
        return {"session-id": self.id, "transport": self.transport, "username": self.username or None,
                "source-host": self.source_host or None, "login-time": yang_time(self.login_time),
                **self.counters}

    # ------------------------------------------------------------------ output
    def _write(self, data: bytes) -> None:
        framed = frame_chunked(data) if self.chunked else frame_eom(data)
        with self._send_lock:
            self._send_raw(framed)

    def send_notification(self, event_time: str, body: str) -> None:
        if self.closed:
            return
        try:
            data = (f'<notification xmlns="{NOTIF_NS}"><eventTime>{event_time}</eventTime>{body}'
                    f"</notification>").encode()
        except UnicodeEncodeError:
            log.exception("NETCONF session %s: a notification that cannot be encoded is dropped", self.id)
            return
        try:
            self._write(data)
        except Exception:            # the transport is gone
            self.terminate(dropped=True)
            return
        self.counters["out-notifications"] += 1
        self.server.count("out-notifications")

    def subscription_ended(self, sub: _Subscription) -> None:
        if self.subscription is sub:
            self.subscription = None

    # ------------------------------------------------------------------ input
    def _handle(self, msg: bytes) -> None:
        # Whitespace before the XML declaration (classic scrapli-netconf sends "\n<?xml ...") is outside the
        # document: RFC 6242 frames bytes, and an XML parser only refuses a declaration that is not first.
        msg = msg.lstrip(b" \t\r\n")
        if not self.hello_done:
            self._hello(msg)
            return
        try:
            root = parse_xml(msg, self.server.max_message)
        except (UnsafeXmlError, etree.XMLSyntaxError, ValueError) as exc:
            self._count_bad()
            tag = "malformed-message" if self.chunked else "operation-failed"
            self._reply("", RpcError(tag, f"the message is not acceptable XML: {exc}", error_type="rpc"))
            return
        qn = etree.QName(root)
        if qn.namespace != BASE_NS or qn.localname != "rpc":
            self._count_bad()
            if qn.localname == "hello":
                self._reply("", RpcError("operation-failed", "hello already exchanged", error_type="rpc"))
            else:
                self._reply("", RpcError("unknown-element", f"expected <rpc>, got <{qn.localname}>",
                                         error_type="rpc", info={"bad-element": qn.localname}))
            return
        attrs = _echo_attributes(root)
        if root.get("message-id") is None:
            self._count_bad()
            self._reply(attrs, RpcError("missing-attribute", "the rpc has no message-id attribute",
                                        error_type="rpc", info={"bad-attribute": "message-id",
                                                                "bad-element": "rpc"}))
            return
        self.counters["in-rpcs"] += 1
        self.server.count("in-rpcs")
        ops = [c for c in root if isinstance(c.tag, str)]
        if not ops:
            self._count_bad()
            self._reply(attrs, RpcError("missing-element", "the rpc names no operation", error_type="rpc",
                                        info={"bad-element": "rpc"}))
            return
        if len(ops) > 1:
            self._count_bad()
            self._reply(attrs, RpcError("unknown-element", "an rpc carries exactly one operation",
                                        error_type="rpc", info={"bad-element": etree.QName(ops[1]).localname}))
            return
        op = ops[0]
        try:
            answer = self._dispatch(op)
            then = answer.action if isinstance(answer, _Then) else None
            body = answer.body if isinstance(answer, _Then) else answer
            reply = f'<rpc-reply xmlns="{BASE_NS}"{attrs}>{body}</rpc-reply>'.encode()
        except RpcError as err:
            self._reply(attrs, err)
            return
        except _Reply as many:
            self._reply(attrs, *many.errors)
            return
        except YangError as err:
            self._reply(attrs, RpcError.from_yang(err, self.server.schema))
            return
        except Exception:               # a bug in one operation costs that operation, not the session
            name = etree.QName(op).localname
            log.exception("NETCONF session %s: unexpected failure in <%s>", self.id, name)
            self._reply(attrs, RpcError("operation-failed", f"internal error while processing {name}",
                                        error_type="application"))
            return
        self._write(reply)
        if then is not None:
            then()

    def _count_bad(self) -> None:
        self.counters["in-bad-rpcs"] += 1
        self.server.count("in-bad-rpcs")

    def _reply(self, attrs: str, *errors: RpcError) -> None:
        self.counters["out-rpc-errors"] += 1
        self.server.count("out-rpc-errors")
        body = "".join(e.xml() for e in errors)
        self._write(f'<rpc-reply xmlns="{BASE_NS}"{attrs}>{body}</rpc-reply>'.encode("utf-8", "replace"))

    def _hello(self, msg: bytes) -> None:
        try:
            root = parse_xml(msg, self.server.max_message)
        except (UnsafeXmlError, etree.XMLSyntaxError, ValueError):
            root = None
        caps: list[str] = []
        good = root is not None and root.tag == f"{{{BASE_NS}}}hello"
        if good:
            caps = [(c.text or "").strip() for c in root.iter(f"{{{BASE_NS}}}capability")]
            if root.find(f"{{{BASE_NS}}}session-id") is not None:   # RFC 6241 §8.1: a client sends none
                good = False
            if BASE_10 not in caps and BASE_11 not in caps:
                good = False
        if not good:
            self.server.count("in-bad-hellos")
            self.terminate(dropped=True)
            return
        self.hello_done = True
        if BASE_11 in caps:
            self.chunked = True
            self.reader.switch_to_chunked()

    # ------------------------------------------------------------------ dispatch
    def _dispatch(self, op: etree._Element) -> str | _Then:
        """Operation <name> of namespace ns is the method `rpc_<name>` (dashes as underscores) marked with
        that namespace; the RPCs of the device's YANG modules go through the shared data layer."""
        q = etree.QName(op)
        ns, name = q.namespace, q.localname
        if self.privilege < WRITE_PRIVILEGE and (ns, name) != (BASE_NS, "close-session"):
            # IOS XE: NETCONF-YANG is for privilege-15 users (NACM denies everything else to the others)
            raise RpcError("access-denied", f"user {self.username} has privilege {self.privilege}; NETCONF needs "
                           f"{WRITE_PRIVILEGE}", error_type="application", info={"bad-element": name})
        handler = getattr(self, "rpc_" + name.replace("-", "_"), None) if "_" not in name else None
        if handler is not None and getattr(handler, "namespace", BASE_NS) == ns:
            return handler(op)
        rpc = self.server.yang_rpcs.get((ns, name))
        if rpc is not None:
            return self._yang_rpc(rpc, op)
        if ns == BASE_NS:
            raise RpcError("unknown-element", f"unknown operation {name}", info={"bad-element": name})
        if self.server.schema.module_by_namespace(ns) is not None or ns in (NCM_NS, NOTIF_NS):
            raise RpcError("operation-not-supported", f"unknown operation {name} in {ns}",
                           info={"bad-element": name})
        raise RpcError("unknown-namespace", f"unknown namespace {ns!s} of operation {name}",
                       info={"bad-element": name, "bad-namespace": ns or ""})

    def _not_supported(self, op) -> str:
        name = etree.QName(op).localname
        raise RpcError("operation-not-supported", f"{name} is not supported by this device "
                       "(only the running datastore, without :candidate, :startup or :url)",
                       info={"bad-element": name})

    rpc_copy_config = rpc_delete_config = rpc_commit = rpc_discard_changes = rpc_cancel_commit = _not_supported

    def _require_write(self, what: str) -> None:
        if self.privilege < WRITE_PRIVILEGE:
            raise RpcError("access-denied", f"{what} needs privilege level {WRITE_PRIVILEGE}; "
                           f"user {self.username} has {self.privilege}", error_type="application")

    # ------------------------------------------------------------------ retrieval
    def rpc_get(self, op) -> str:
        return self._retrieve(op, "all", allowed=("filter", "with-defaults"))

    def rpc_get_config(self, op) -> str:
        source = _child(op, "source")
        if source is None:
            raise RpcError("missing-element", "get-config needs a source", info={"bad-element": "source"})
        _datastore(source, "source")
        return self._retrieve(op, "config", allowed=("source", "filter", "with-defaults"))

    def _retrieve(self, op, content: str, allowed: tuple[str, ...]) -> str:
        filt = None
        for c in op:
            if not isinstance(c.tag, str):
                continue
            q = etree.QName(c)
            if q.localname == "with-defaults" and q.namespace == WD_NS:
                mode = (c.text or "").strip()
                if mode not in WITH_DEFAULTS_MODES:
                    raise RpcError("invalid-value", f"with-defaults mode {mode!r} is not supported "
                                   f"(supported: {', '.join(WITH_DEFAULTS_MODES)})",
                                   info={"bad-element": "with-defaults"})
                continue
            if q.namespace != BASE_NS or q.localname not in allowed:
                raise RpcError("unknown-element", f"unexpected parameter {q.localname}",
                               info={"bad-element": q.localname})
            if q.localname == "filter":
                filt = c
        # The YANG models have no default statements on data nodes, so every with-defaults mode returns the
        # same data (and report-all-tagged tags nothing).
        return "<data>" + self._data(content, filt) + "</data>"

    def _data(self, content: str, filt) -> str:
        server = self.server
        provide = server.provider(content)
        tops = server.tops if content == "all" else server.schema.top
        if filt is None:
            return self._render_all(content, tops, provide)
        kind = filt.get("type", "subtree")
        if kind == "subtree":
            return self._subtree(content, filt, tops, provide)
        if kind == "xpath":
            select = filt.get("select")
            if select is None:
                raise RpcError("missing-attribute", "an xpath filter needs a select attribute",
                               info={"bad-attribute": "select", "bad-element": "filter"})
            rendered = ("<data>" + self._render_all(content, tops, provide) + "</data>").encode()
            # evaluated in another process, within the server's time budget (our rendering, whatever its size)
            picked = filters.xpath_bounded(rendered, select, filt.nsmap, self.server.xpath_timeout)
            out = filters.xpath_output(picked, self._node_of)
            return "".join(etree.tostring(e, encoding="unicode") for e in out)
        raise RpcError("bad-attribute", f"unknown filter type {kind!r}",
                       info={"bad-attribute": "type", "bad-element": "filter"})

    def _node_of(self, chain):
        top = chain[0]
        q = etree.QName(top)
        node = next((n for n in self.server.tops.values() if n.namespace == q.namespace and n.name == q.localname),
                    None)
        for el in chain[1:]:
            if node is None:
                return None
            node = node.children.get(etree.QName(el).localname)
        return node

    def _revision(self) -> int:
        return self.server.device.snapshot().revision

    def _render_all(self, content: str, tops, provide) -> str:
        parts = []
        rev = self._revision()
        for qname in tops:
            if qname in CACHEABLE or qname in STATIC:
                def build(qname=qname):
                    value = provide(qname)
                    return "" if value is None else self.server.render(qname, value)
                key = ("static", qname) if qname in STATIC else (rev, "all", content, qname)
                parts.append(self.server.cached_render(key, build))
                continue
            value = provide(qname)
            if value is not None and value != {}:
                parts.append(self.server.render(qname, value))
        return "".join(parts)

    def _subtree(self, content: str, filt, tops, provide) -> str:
        selected = filters.select_tops(filt, tops)
        if all(node.qname in CACHEABLE for node, _ in selected):
            rev = self._revision()
            key = (rev, "subtree", content, etree.tostring(filt))

            def build():
                data = filters.subtree(filt, tops, provide)
                return "".join(self.server.render(q, v) for q, v in data.items())
            return self.server.cached_render(key, build)
        data = filters.subtree(filt, tops, provide)
        return "".join(self.server.render(q, v) for q, v in data.items())

    # ------------------------------------------------------------------ configuration
    def _check_lock(self) -> None:
        held = self.server.locks.get("running")
        if held is not None and held[0] != self.id:
            raise RpcError("in-use", f"the running datastore is locked by session {held[0]}",
                           info={"session-id": held[0]})

    def rpc_edit_config(self, op) -> str:
        target = _child(op, "target")
        if target is None:
            raise RpcError("missing-element", "edit-config needs a target", info={"bad-element": "target"})
        _datastore(target, "target")
        default_op = _param(op, "default-operation", ("merge", "replace", "none"), "merge")
        test_option = _param(op, "test-option", ("test-then-set", "set", "test-only"), "test-then-set")
        error_option = _param(op, "error-option", ("stop-on-error", "continue-on-error", "rollback-on-error"),
                              "stop-on-error")
        if _child(op, "url") is not None:
            raise RpcError("operation-not-supported", "edit-config from a url is not supported (:url is not "
                           "advertised)", info={"bad-element": "url"})
        config = _child(op, "config", any_ns=True)
        if config is None:
            raise RpcError("missing-element", "edit-config needs config", info={"bad-element": "config"})
        for c in op:
            if isinstance(c.tag, str) and etree.QName(c).localname not in (
                    "target", "default-operation", "test-option", "error-option", "config"):
                raise RpcError("unknown-element", f"unexpected parameter {etree.QName(c).localname}",
                               info={"bad-element": etree.QName(c).localname})
        self._require_write("edit-config")
        self._check_lock()
        elements = [el for el in config if isinstance(el.tag, str)]
        test_only = test_option == "test-only"
        layer = self.server.layer
        if error_option == "continue-on-error" and len(elements) > 1:
            # each top-level node is its own atomic edit; the failures are reported together
            errors = []
            for el in elements:
                try:
                    layer.edit([self._decode_top(el)], default_op, test_only, owner=self.owner, privilege=self.privilege)
                except YangError as err:
                    errors.append(RpcError.from_yang(err, self.server.schema))
                except RpcError as err:
                    errors.append(err)
            if errors:
                raise _Reply(errors)
            return OK
        edits = [self._decode_top(el) for el in elements]
        if edits:
            layer.edit(edits, default_op, test_only, owner=self.owner, privilege=self.privilege)
        return OK

    def _decode_top(self, el):
        schema = self.server.schema
        q = etree.QName(el)
        node = schema.top_by_namespace(q.namespace, q.localname) if q.namespace else None
        if node is None:
            if q.namespace is None or schema.module_by_namespace(q.namespace) is not None:
                raise RpcError("unknown-element", f"unknown element {q.localname}", error_type="application",
                               info={"bad-element": q.localname})
            raise RpcError("unknown-namespace", f"unknown namespace {q.namespace}", error_type="application",
                           info={"bad-element": q.localname, "bad-namespace": q.namespace})
        if not node.config:
            raise RpcError("invalid-value", f"{node.qname} is state data and cannot be edited",
                           error_type="application", path=f"/{node.qname}",
                           namespaces={node.module: node.namespace}, info={"bad-element": node.name})
        return decode_xml(node, el)

    def rpc_validate(self, op) -> str:
        source = _child(op, "source")
        if source is None:
            raise RpcError("missing-element", "validate needs a source", info={"bad-element": "source"})
        config = _child(source, "config", any_ns=True)
        if config is None:
            _datastore(source, "source")
            return OK
        edits = [self._decode_top(el) for el in config if isinstance(el.tag, str)]
        if edits:
            self.server.layer.edit(edits, "merge", test_only=True, owner=self.owner, privilege=self.privilege)
        return OK

    def rpc_lock(self, op) -> str:
        target = _child(op, "target")
        if target is None:
            raise RpcError("missing-element", "lock needs a target", info={"bad-element": "target"})
        ds = _datastore(target, "target")
        self._require_write("lock")
        with self.server._lock:
            held = self.server.locks.get(ds)
            if held is not None:
                raise RpcError("lock-denied", f"the {ds} datastore is already locked by session {held[0]}",
                               info={"session-id": held[0]})
            # the lock excludes every management agent (RFC 6241 §7.5): CLI and RESTCONF honour it too
            other = self.server.device.lock_config(self.owner)
            if other is not None:
                raise RpcError("lock-denied", f"the {ds} datastore is locked by {other}", info={"session-id": 0})
            self.server.locks[ds] = (self.id, self.server.device.now())
        return OK

    def rpc_unlock(self, op) -> str:
        target = _child(op, "target")
        if target is None:
            raise RpcError("missing-element", "unlock needs a target", info={"bad-element": "target"})
        ds = _datastore(target, "target")
        with self.server._lock:
            held = self.server.locks.get(ds)
            if held is None:
                raise RpcError("operation-failed", f"the {ds} datastore is not locked", error_type="protocol")
            if held[0] != self.id:
                raise RpcError("lock-denied", f"the {ds} datastore is locked by session {held[0]}",
                               info={"session-id": held[0]})
            del self.server.locks[ds]
            self.server.device.unlock_config(self.owner)
        return OK

    def rpc_close_session(self, op) -> _Then:
        return _Then(OK, self.terminate)

    def rpc_kill_session(self, op) -> str:
        el = _child(op, "session-id")
        if el is None:
            raise RpcError("missing-element", "kill-session needs a session-id", info={"bad-element": "session-id"})
        sid = _session_id(el)
        if sid == self.id:
            raise RpcError("invalid-value", "a session cannot kill itself (use close-session)",
                           info={"bad-element": "session-id"})
        self._require_write("kill-session")
        other = self.server.session(sid)
        if other is None:
            raise RpcError("invalid-value", f"no session {sid}", info={"bad-element": "session-id"})
        other.terminate(dropped=False)
        return OK

    # ------------------------------------------------------------------ RFC 6022, RFC 5277
    @operation(NCM_NS)
    def rpc_get_schema(self, op) -> str:
        ident = _child(op, "identifier", ns=NCM_NS)
        if ident is None or not (ident.text or "").strip():
            raise RpcError("missing-element", "get-schema needs an identifier", info={"bad-element": "identifier"})
        version = _child(op, "version", ns=NCM_NS)
        fmt = _child(op, "format", ns=NCM_NS)
        if fmt is not None and (fmt.text or "").strip().rpartition(":")[2] != "yang":
            raise RpcError("invalid-value", f"schema format {(fmt.text or '').strip()!r} is not available "
                           "(only yang)", error_type="application", info={"bad-element": "format"})
        found = self.server.library.texts(ident.text.strip(), (version.text or "").strip()
                                                if version is not None else None)
        if not found:
            raise RpcError("invalid-value", f"no schema {ident.text.strip()!r}"
                           + (f" revision {version.text.strip()!r}" if version is not None and version.text else ""),
                           error_type="application", info={"bad-element": "identifier"})
        if len({(n, r) for n, r, _ in found}) > 1:
            raise RpcError("operation-failed", "more than one revision matches; give a version",
                           error_type="application", app_tag="data-not-unique")
        return f'<data xmlns="{NCM_NS}">{escape(found[0][2])}</data>'

    @operation(NOTIF_NS)
    def rpc_create_subscription(self, op) -> _Then:
        if self.subscription is not None:
            raise RpcError("in-use", "this session already has a subscription", error_type="protocol")
        stream = _child(op, "stream", ns=NOTIF_NS)
        if stream is not None and (stream.text or "").strip() != "NETCONF":
            raise RpcError("invalid-value", f"unknown stream {(stream.text or '').strip()!r} (only NETCONF)",
                           error_type="application", info={"bad-element": "stream"})
        start = self._time_param(op, "startTime")
        stop = self._time_param(op, "stopTime")
        now = self.server.device.now()
        if stop is not None and start is None:
            raise RpcError("missing-element", "stopTime needs a startTime", info={"bad-element": "startTime"})
        if start is not None and start > now:
            raise RpcError("bad-element", "startTime is in the future", info={"bad-element": "startTime"})
        if stop is not None and stop < start:
            raise RpcError("bad-element", "stopTime is before startTime", info={"bad-element": "stopTime"})
        filt = None
        f = _child(op, "filter", ns=NOTIF_NS)
        if f is None:
            f = _child(op, "filter", ns=BASE_NS)
        if f is not None:
            kind = f.get("type", "subtree")
            if kind not in ("subtree", "xpath"):
                raise RpcError("bad-attribute", f"unknown filter type {kind!r}",
                               info={"bad-attribute": "type", "bad-element": "filter"})
            if kind == "xpath":
                filters.rewrite_unprefixed(f.get("select") or "")     # syntax check now
            filt = (kind, f)
        sub = _Subscription(self, start, stop, filt)
        self.subscription = sub
        return _Then(OK, lambda: self._begin(sub))

    def _begin(self, sub: _Subscription) -> None:
        """Starts a subscription once its <ok/> is sent; one that cannot start ends, not the session."""
        try:
            sub.begin()
        except Exception:
            log.exception("NETCONF session %s: the subscription could not start", self.id)
            sub.cancel()
            self.subscription_ended(sub)

    @staticmethod
    def _time_param(op, name: str) -> float | None:
        el = _child(op, name, ns=NOTIF_NS)
        if el is None:
            return None
        try:
            return parse_yang_time((el.text or "").strip())
        except ValueError:
            raise RpcError("bad-element", f"invalid {name} {(el.text or '').strip()!r}",
                           info={"bad-element": name}) from None

    # ------------------------------------------------------------------ YANG RPCs
    def _yang_rpc(self, rpc, op) -> str:
        self._require_write(rpc.qname)
        input_node = rpc.children.get("input")
        try:
            if input_node is not None:
                data = decode_xml(input_node, op, allow_ops=False).to_data()
            else:
                extra = [c for c in op if isinstance(c.tag, str)]
                if extra:
                    raise RpcError("unknown-element", f"{rpc.name} takes no input",
                                   info={"bad-element": etree.QName(extra[0]).localname})
                data = {}
            output = self.server.layer.invoke(rpc, data) or {}
        except YangError as err:
            raise _rpc_input_error(err, rpc) from None
        out_node = rpc.children.get("output")
        if not output or out_node is None:
            return OK
        parts = []
        for child in out_node.ordered_children:
            if child.name in output and output[child.name] is not None:
                parts.extend(to_xml(child, output[child.name]))
        return "".join(etree.tostring(p, encoding="unicode") for p in parts) or OK


# ---------------------------------------------------------------------------------------------- helpers

def _child(el, name: str, ns: str | None = BASE_NS, any_ns: bool = False):
    for c in el:
        if not isinstance(c.tag, str):
            continue
        q = etree.QName(c)
        if q.localname == name and (any_ns or q.namespace == ns):
            return c
    return None


def _session_id(el) -> int:
    """A session-id parameter (uint32, 1..max), refused as invalid-value before any int() of a long text."""
    text = (el.text or "").strip()
    if re.fullmatch(r"[0-9]{1,10}", text) is None or not 0 < int(text) <= MAX_SESSION_ID:
        shown = text if len(text) <= 20 else f"{text[:20]}... ({len(text)} characters)"
        raise RpcError("invalid-value", f"invalid session-id {shown!r} (1 to {MAX_SESSION_ID})",
                       info={"bad-element": "session-id"})
    return int(text)


def _param(op, name: str, allowed: tuple[str, ...], default: str) -> str:
    el = _child(op, name)
    if el is None:
        return default
    value = (el.text or "").strip()
    if value not in allowed:
        raise RpcError("invalid-value", f"{name} {value!r} is not one of {', '.join(allowed)}",
                       info={"bad-element": name})
    return value


def _datastore(parent, role: str) -> str:
    """The datastore named inside <source>/<target>; only running exists here."""
    names = [etree.QName(c).localname for c in parent if isinstance(c.tag, str)]
    if not names:
        raise RpcError("missing-element", f"{role} names no datastore", info={"bad-element": role})
    name = names[0]
    if name == "running":
        return name
    if name in ("candidate", "startup"):
        raise RpcError("invalid-value", f"the {name} datastore is not supported by this device (only running; "
                       f":{name} is not advertised)", info={"bad-element": name})
    if name == "url":
        raise RpcError("operation-not-supported", "url sources and targets are not supported (:url is not "
                       "advertised)", info={"bad-element": "url"})
    raise RpcError("unknown-element", f"unknown datastore {name}", info={"bad-element": name})


def _rpc_input_error(err: YangError, rpc) -> RpcError:
    """An error about an RPC's input, with its error-path below /nc:rpc/<module>:<rpc>."""
    out = RpcError.from_yang(err)
    steps = [s.rpartition(":")[2] for s in (err.path or "").split("/") if s]
    if steps and steps[0] == rpc.name:
        steps = steps[1:]
    p = rpc.module
    out.path = f"/nc:rpc/{p}:{rpc.name}" + "".join(f"/{p}:{s}" for s in steps)
    out.namespaces = {"nc": BASE_NS, p: rpc.namespace}
    return out


def _echo_attributes(rpc) -> str:
    """The attributes of <rpc>, for <rpc-reply> (RFC 6241 §4.2), with the prefixes they need."""
    out = []
    for key, value in rpc.attrib.items():
        q = etree.QName(key)
        if q.namespace is None:
            out.append(f" {q.localname}={quoteattr(value)}")
            continue
        prefix = next((p for p, n in rpc.nsmap.items() if n == q.namespace and p), None)
        if prefix is None:
            continue
        out.append(f" xmlns:{prefix}={quoteattr(q.namespace)} {prefix}:{q.localname}={quoteattr(value)}")
    return "".join(out)
