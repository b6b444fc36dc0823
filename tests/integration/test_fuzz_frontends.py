"""Issue 14 suite: bounded property-based fuzzing of every front-end (hypothesis, loopback only).

* NETCONF: framing (1.0 end-of-message, 1.1 chunks, broken both ways), XML shaped from the YANG schema
  (filters, edit-config trees, RPC inputs with random values), hostile XML (DTDs, entities, deep nesting,
  illegal characters, bad encodings) and XPath filters.
* RESTCONF / native REST over HTTPS: methods, api-paths from the schema, query parameters, headers, JSON and
  XML bodies (schema-shaped and hostile).
* CLI: lines walked from the command grammars of every mode with random arguments, abbreviations, control
  characters and over-long tokens; a few through a real SSH terminal.

Each input must get the protocol's own answer (an rpc-reply with <ok/>/<data>/<rpc-error>, or the session
closed for broken framing; an HTTP status below 500 with an RFC 8040 error body on RESTCONF; CLI output, a
`%` line for a refusal), never an internal error; the device keeps serving; and every refused input leaves
the device's state as it was (snapshots compared). Budget: SLPEMU_FUZZ_EXAMPLES examples per strategy
(default 500; SSH: an eighth, at most 40), derandomized unless SLPEMU_FUZZ_RANDOM=1. The figures go to the `figures` fixture.
"""

from __future__ import annotations

import dataclasses
import json
import os
import random
import string
import time

import pytest
import requests
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from lxml import etree

from emulator.frontends.cli import CliServer
from emulator.frontends.cli.session import CliSession
from emulator.frontends.netconf.framing import FrameReader, frame_chunked, frame_eom
from emulator.frontends.netconf.server import NetconfServer
from emulator.frontends.restconf import start_restconf
from test_hardening_ssh import netconf_channel
from emulator.frontends.ssh import SSHSession
from test_cli_support import Shell

pytestmark = [pytest.mark.fuzz,
              pytest.mark.filterwarnings("ignore::urllib3.exceptions.InsecureRequestWarning")]

EXAMPLES = int(os.environ.get("SLPEMU_FUZZ_EXAMPLES", "500"))
DERANDOMIZE = os.environ.get("SLPEMU_FUZZ_RANDOM") != "1"
FUZZ = settings(max_examples=EXAMPLES, deadline=None, database=None, derandomize=DERANDOMIZE,
                phases=[Phase.explicit, Phase.generate], suppress_health_check=list(HealthCheck))

NC = "urn:ietf:params:xml:ns:netconf:base:1.0"
CSL = "http://cisco.com/ns/yang/cisco-smart-license"
CTL = "urn:slpemu:control"
HELLO_10 = (f'<hello xmlns="{NC}"><capabilities><capability>urn:ietf:params:netconf:base:1.0</capability>'
            "</capabilities></hello>").encode()
HELLO_11 = (f'<hello xmlns="{NC}"><capabilities><capability>urn:ietf:params:netconf:base:1.0</capability>'
            "<capability>urn:ietf:params:netconf:base:1.1</capability></capabilities></hello>").encode()


# ============================================================================================ shared

def essence(device):
    """The device's state without what a refusal may legitimately leave behind (its syslog/event
    sequence numbers, statistics, import history) or what time moves."""
    st_ = device.snapshot().st
    return dataclasses.replace(st_, seq=None, counters=None, imports=None, clock=None, comm=None)


class Tally:
    def __init__(self, figures: dict, name: str):
        self.figures, self.name = figures, name
        self.inputs = self.errors = self.accepted = self.closed = self.crashes = self.wrong_changes = 0

    def save(self) -> None:
        self.figures[self.name] = {"inputs": self.inputs, "errors_returned": self.errors,
                                   "accepted": self.accepted, "sessions_closed": self.closed,
                                   "crashes": self.crashes, "wrong_state_changes": self.wrong_changes}


@pytest.fixture
def device(make_device):
    dev = make_device()
    dev.set_user("admin", "admin", 15)
    dev.set_usage("network-advantage", 1)
    return dev


TEXT = st.text(alphabet=st.characters(codec="utf-8", exclude_categories=("Cs",)), max_size=40)
HOSTILE_VALUES = st.sampled_from([
    "", " ", "0", "-1", "1" * 40, "18446744073709551616", "-9223372036854775809", "1e309", "NaN", "true",
    "false", "&#0;", "&#x1;", "&#xFFFE;", "&#xD800;", "a" * 5000, "é" * 10, "\u202e", "x\ty", "1.5",
    "2024-13-45T99:99:99Z", "enable", "cslu", "smart", "off", "ÿ", "<", ">", "]]>]]>", "\n#5\n",
])


def leaf_value(node) -> st.SearchStrategy[str]:
    t = node.type
    choices = [HOSTILE_VALUES, TEXT.map(lambda s: s.replace("&", "&amp;").replace("<", "&lt;"))]
    if t is not None and t.enums:
        choices.append(st.sampled_from(sorted(t.enums)))
    if t is not None and t.base in ("uint8", "uint16", "uint32", "uint64", "int8", "int16", "int32", "int64"):
        choices.append(st.integers(-2 ** 70, 2 ** 70).map(str))
    if t is not None and t.base == "boolean":
        choices.append(st.sampled_from(["true", "false", "True", "1"]))
    return st.one_of(*choices)


def schema_xml(node, depth: int = 0) -> st.SearchStrategy[str]:
    """An XML element shaped like `node` (children picked at random, values random)."""
    attrs = st.sampled_from(["", "", "", ' operation="merge"', ' operation="replace"', ' operation="delete"',
                             ' operation="remove"', ' operation="create"', ' operation="bogus"',
                             ' xmlns:nc="urn:ietf:params:xml:ns:netconf:base:1.0" nc:operation="delete"'])
    if node.is_leaf:
        return st.tuples(attrs, leaf_value(node)).map(lambda t: f"<{node.name}{t[0]}>{t[1]}</{node.name}>")
    children = [c for c in node.children.values()]
    if not children or depth > 4:
        return attrs.map(lambda a: f"<{node.name}{a}/>")
    return st.tuples(attrs, st.lists(st.deferred(lambda: st.sampled_from(children).flatmap(
        lambda c: schema_xml(c, depth + 1))), max_size=4)).map(
        lambda t: f"<{node.name}{t[0]}>{''.join(t[1])}</{node.name}>")


def top_xml(schema, tops) -> st.SearchStrategy[str]:
    nodes = list(tops.values())
    return st.sampled_from(nodes).flatmap(
        lambda n: schema_xml(n).map(lambda body, n=n: body.replace(f"<{n.name}", f'<{n.name} xmlns="{n.namespace}"', 1)))


# ============================================================================================ NETCONF

HOSTILE_XML = st.sampled_from([
    b'<?xml version="1.0"?><!DOCTYPE r [<!ENTITY x SYSTEM "file:///etc/passwd">]><rpc xmlns="%s" message-id="1">'
    b"<get>&x;</get></rpc>" % NC.encode(),
    b'<!DOCTYPE r [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;">'
    b'<!ENTITY c "&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;">]><rpc xmlns="%s" message-id="1"><get>&c;</get></rpc>' % NC.encode(),
    (f'<rpc xmlns="{NC}" message-id="1">' + "<a>" * 5000 + "</a>" * 5000 + "</rpc>").encode(),
    (f'<rpc xmlns="{NC}" message-id="1"><get ' + " ".join(f'a{i}="{i}"' for i in range(3000)) + "/></rpc>").encode(),
    f'<rpc xmlns="{NC}" message-id="1"><get><filter type="subtree">&#0;</filter></get></rpc>'.encode(),
    f'<rpc xmlns="{NC}" message-id="1"><get>\x01</get></rpc>'.encode(),
    f'<rpc xmlns="{NC}" message-id="1"><get/></rpc>'.encode("utf-16"),
    b'<?xml version="1.0" encoding="UTF-16"?>' + f'<rpc xmlns="{NC}" message-id="1"><get/></rpc>'.encode(),
    f'<rpc xmlns="{NC}" message-id="\xff"><x:get/></rpc>'.encode("latin-1"),
    f'<rpc xmlns="{NC}" message-id="1"><![CDATA[<get/>]]></rpc>'.encode(),
    f'<?pi x?><rpc xmlns="{NC}" message-id="1"><!-- c --><get/></rpc>'.encode(),
    f'<rpc xmlns="{NC}" message-id="1"><get/><get/></rpc>'.encode(),
    f'<rpc xmlns="{NC}"><get/></rpc>'.encode(),
    b'<rpc xmlns="urn:other" message-id="1"><get/></rpc>',
    b"<hello/>", b"", b"\x00\x00\x00", b"<rpc", "<rpc>é".encode("latin-1"), b"\xef\xbb\xbf<rpc/>",
    (f'<rpc xmlns="{NC}" message-id="1"><edit-config><target><running/></target><config>'
     f'<licensing xmlns="{CSL}"><config><custom-id>a</custom-id><custom-id>b</custom-id></config></licensing>'
     "</config></edit-config></rpc>").encode(),
])

XPATHS = st.one_of(
    st.sampled_from(["/licensing", "/licensing/state//*", "//*", "/*[1]", "//usage[count > 0]", "/a:b",
                     "re:test(., 'a')", "count(//*)", "//*[", "]]", "$x", "//*[name() = 'x']", "/",
                     "//*[string-length(.) > 3]", "id('x')", "//@*", "//text()", "//comment()", "..",
                     "//*[position() = last()]", "/licensing[1]/state[1]/*[2]", "(//*)[1]|(//*)[2]"]),
    st.text(alphabet="/*[]()@.:'=<>|abcdefgilnrst0123456789 $", max_size=30),
)


def rpc_bodies(server: NetconfServer) -> st.SearchStrategy[bytes]:
    schema = server.schema
    tops = dict(schema.top)
    config_tops = {k: v for k, v in tops.items() if v.config}
    rpcs = list(schema.rpcs.values())
    filter_ = top_xml(schema, server.tops).map(lambda x: f'<filter type="subtree">{x}</filter>')
    xpath = XPATHS.map(lambda x: '<filter type="xpath" select="%s"/>' % x.replace("&", "&amp;")
                       .replace("<", "&lt;").replace('"', "&quot;"))
    ops = st.one_of(
        st.one_of(filter_, xpath, st.just("")).map(lambda f: f"<get>{f}</get>"),
        st.one_of(filter_, st.just("")).map(lambda f: f"<get-config><source><running/></source>{f}</get-config>"),
        st.tuples(st.sampled_from(["", "<default-operation>replace</default-operation>",
                                   "<default-operation>none</default-operation>", "<test-option>test-only</test-option>",
                                   "<error-option>continue-on-error</error-option>", "<default-operation>x</default-operation>"]),
                  top_xml(schema, config_tops)).map(
            lambda t: f"<edit-config><target><running/></target>{t[0]}<config>{t[1]}</config></edit-config>"),
        st.sampled_from(rpcs).flatmap(lambda r: st.lists(st.sampled_from(
            list((r.children.get("input").children.values()) if r.children.get("input") else [])
            or [r]), max_size=3).flatmap(lambda kids, r=r: st.tuples(*[schema_xml(k) for k in kids]).map(
                lambda parts, r=r: f'<{r.name} xmlns="{r.namespace}">{"".join(parts)}</{r.name}>'))),
        st.sampled_from(["<lock><target><running/></target></lock>", "<unlock><target><running/></target></unlock>",
                         "<lock><target><candidate/></target></lock>", "<kill-session><session-id>0</session-id></kill-session>",
                         "<kill-session><session-id>999999999999</session-id></kill-session>",
                         "<validate><source><running/></source></validate>", "<commit/>", "<nosuchop/>",
                         '<get-schema xmlns="urn:ietf:params:xml:ns:yang:ietf-netconf-monitoring"><identifier>'
                         "../../etc/passwd</identifier></get-schema>",
                         '<create-subscription xmlns="urn:ietf:params:xml:ns:netconf:notification:1.0">'
                         "<startTime>garbage</startTime></create-subscription>", ""]),
    )
    attrs = st.sampled_from([' message-id="1"', ' message-id="1"', ' message-id=""', "", ' message-id="1" x="y"'])
    return st.one_of(
        st.tuples(attrs, ops).map(lambda t: f'<rpc xmlns="{NC}"{t[0]}>{t[1]}</rpc>'.encode("utf-8", "replace")),
        HOSTILE_XML,
        st.binary(max_size=200),
    )


def frames(bodies: st.SearchStrategy[bytes]) -> st.SearchStrategy[tuple[str, bytes]]:
    """(base version, the bytes sent after the hello): messages framed right or wrong."""
    chunked_ok = bodies.map(frame_chunked)
    chunked_bad = st.tuples(bodies, st.sampled_from([b"\n#0\n", b"\n#-1\n", b"\n#99999999999\n", b"\n#x\n",
                                                      b"#5\n", b"\n##\n", b"\n#4294967296\n", b"\n#1\nab\n##\n"])).map(
        lambda t: t[1] + t[0])
    chunked_split = st.tuples(bodies, st.integers(1, 50)).map(
        lambda t: b"".join(b"\n#%d\n%s" % (len(t[0][i:i + t[1]]), t[0][i:i + t[1]])
                           for i in range(0, len(t[0]), t[1])) + b"\n##\n" if t[0] else b"\n##\n")
    eom = bodies.map(frame_eom)
    eom_bad = bodies.map(lambda b: b + b"]]>]]")
    return st.one_of(st.tuples(st.just("1.1"), st.one_of(chunked_ok, chunked_split, chunked_bad)),
                     st.tuples(st.just("1.0"), st.one_of(eom, eom_bad)),
                     st.tuples(st.sampled_from(["1.0", "1.1"]), st.binary(max_size=300)))


class NcSession:
    def __init__(self, server: NetconfServer, version: str, privilege: int = 15):
        self.out: list[bytes] = []
        self.closed = False
        self.session = server.open_session(self.out.append, self._close, username="fuzz", privilege=privilege)
        self.reader = FrameReader()
        self.session.receive(frame_eom(HELLO_11 if version == "1.1" else HELLO_10))
        if version == "1.1":
            self.reader.switch_to_chunked()
        self._first = True

    def _close(self):
        self.closed = True

    def replies(self) -> list[etree._Element]:
        data, self.out[:] = b"".join(self.out), []
        if self._first:                      # the server's hello, end-of-message framed
            data = data.split(b"]]>]]>", 1)[1] if b"]]>]]>" in data else b""
            self._first = False
        self.reader.feed(data)
        msgs = []
        while (m := self.reader.next_message()) is not None:
            msgs.append(etree.fromstring(m))
        return msgs


def still_serving_netconf(server: NetconfServer) -> None:
    check = NcSession(server, "1.1")
    check.session.receive(frame_chunked(
        f'<rpc xmlns="{NC}" message-id="9"><get><filter type="subtree"><licensing xmlns="{CSL}"><state>'
        "<version/></state></licensing></filter></get></rpc>".encode()))
    [reply] = check.replies()
    assert reply.find(f"{{{NC}}}data") is not None, etree.tostring(reply)
    check.session.terminate()


def test_fuzz_netconf(device, figures):
    server = NetconfServer(device, xpath_timeout=2.0)
    tally = Tally(figures, "fuzz_netconf")

    @FUZZ
    @given(case=frames(rpc_bodies(server)), privilege=st.sampled_from([15, 15, 15, 1]))
    def run(case, privilege):
        version, data = case
        before, revision = essence(device), device.snapshot().revision
        s = NcSession(server, version, privilege)
        tally.inputs += 1
        for i in range(0, len(data), 97):                     # delivered in pieces, as TCP may
            if not s.session.receive(data[i:i + 97]):
                break
        replies = s.replies()
        refused = s.closed or not replies
        for reply in replies:
            assert etree.QName(reply).localname == "rpc-reply", etree.tostring(reply)
            errors = reply.findall(f"{{{NC}}}rpc-error")
            for err in errors:
                message = err.findtext(f"{{{NC}}}error-message") or ""
                if "internal error" in message:
                    tally.crashes += 1
                assert "internal error" not in message, etree.tostring(reply)
                assert err.findtext(f"{{{NC}}}error-tag") and err.findtext(f"{{{NC}}}error-type")
            if errors:
                tally.errors += 1
                refused = True
            else:
                tally.accepted += 1
                assert reply.find(f"{{{NC}}}ok") is not None or reply.find(f"{{{NC}}}data") is not None \
                    or len(reply), etree.tostring(reply)
        if s.closed:
            tally.closed += 1
        if refused and (s.closed or all(r.find(f"{{{NC}}}rpc-error") is not None for r in replies)):
            if essence(device) != before:
                tally.wrong_changes += 1
            assert essence(device) == before, f"a refused input changed the device (revision {revision})"
        s.session.terminate()
        still_serving_netconf(server)

    try:
        run()
    finally:
        tally.save()
    assert tally.crashes == 0 and tally.wrong_changes == 0


def test_fuzz_netconf_over_ssh(device, tmp_path, figures):
    """The same inputs through the SSH subsystem (fewer: each is a connection), and the server stays up."""

    from emulator.frontends.netconf import NetconfService
    svc = NetconfService(device, "127.0.0.1", 0, tmp_path / "nc").start()
    tally = Tally(figures, "fuzz_netconf_ssh")

    def channel():
        return netconf_channel(svc.port, send_hello=False)

    @settings(FUZZ, max_examples=max(10, min(40, EXAMPLES // 8)))
    @given(case=frames(rpc_bodies(svc.netconf)))
    def run(case):
        version, data = case
        client, chan = channel()
        tally.inputs += 1
        try:
            chan.sendall(frame_eom(HELLO_11 if version == "1.1" else HELLO_10) + data)
            reader = FrameReader()
            if version == "1.1":
                reader.switch_to_chunked()
            chan.settimeout(0.3)
            got = b""
            deadline = time.monotonic() + 3
            while time.monotonic() < deadline:
                try:
                    chunk = chan.recv(65536)
                except OSError:
                    break
                if not chunk:
                    tally.closed += 1
                    break
                got += chunk
            reader.feed(got)
            try:
                while (m := reader.next_message()) is not None:
                    reply = etree.fromstring(m)
                    assert etree.QName(reply).localname == "rpc-reply"
                    assert b"internal error" not in m
                    if reply.find(f"{{{NC}}}rpc-error") is not None:
                        tally.errors += 1
                    else:
                        tally.accepted += 1
            except Exception:
                tally.crashes += 1
                raise
        finally:
            client.close()

    try:
        run()
        client, chan = channel()                       # still serving
        chan.sendall(frame_eom(HELLO_10) + frame_eom(f'<rpc xmlns="{NC}" message-id="1"><get><filter '
                                                     f'type="subtree"><licensing xmlns="{CSL}"><state><version/>'
                                                     "</state></licensing></filter></get></rpc>".encode()))
        got = b""
        while got.count(b"]]>]]>") < 1:
            got += chan.recv(65536)
        assert b"<data>" in got
        client.close()
    finally:
        tally.save()
        svc.stop()
    assert tally.crashes == 0


# ============================================================================================ RESTCONF

def api_paths(schema_tops) -> st.SearchStrategy[str]:
    def walk(node, path, depth):
        out = [path]
        if depth < 4:
            for c in node.children.values():
                seg = f"{path}/{c.name}"
                if c.keyword == "list":
                    seg += "=" + ",".join(["x"] * max(1, len(c.keys)))
                out += walk(c, seg, depth + 1)
        return out
    paths = []
    for q, node in schema_tops.items():
        paths += walk(node, f"/restconf/data/{q}", 0)
    noise = st.sampled_from(["", "/..", "/%2e%2e", "/%00", "=", "=a,b,c", "/x:y", "?", "/%ff", "/" + "a" * 300,
                             "//", "/é", "/restconf", ":", "%", "%zz"])
    fixed = st.sampled_from(["/restconf", "/restconf/data", "/restconf/operations", "/restconf/yang-library-version",
                             "/.well-known/host-meta", "/restconf/data/ietf-yang-library:modules-state",
                             "/smartlic-service/list", "/smartlic-service/all-reports", "/smartlic-service/days/3",
                             "/smartlic-service/days/-1", "/smartlic-service/close-reports", "/smartlic-service/import",
                             "/restconf/operations/cisco-smart-license:register-id-token",
                             "/restconf/operations/slpemu-control:set-usage", "/openapi.yaml", "/nothing"])
    return st.one_of(fixed, st.tuples(st.sampled_from(sorted(set(paths))), noise).map("".join))


def bodies_for(schema_tops) -> st.SearchStrategy[tuple[str | None, bytes]]:
    xml = top_xml(None, schema_tops).map(lambda x: ("application/yang-data+xml", x.encode("utf-8", "replace")))
    json_values = st.recursive(st.one_of(st.none(), st.booleans(), st.integers(-2 ** 70, 2 ** 70), TEXT,
                                         st.floats(allow_nan=True)),
                               lambda inner: st.one_of(st.lists(inner, max_size=3),
                                                       st.dictionaries(st.sampled_from(
                                                           ["cisco-smart-license:config", "custom-id", "privacy",
                                                            "hostname", "utility", "transport-type", "x:y", "",
                                                            "cisco-smart-license:licensing", "input", "count"]),
                                                           inner, max_size=3)), max_leaves=8)
    js = json_values.map(lambda v: ("application/yang-data+json", json.dumps(v).encode()))
    hostile = st.sampled_from([
        ("application/yang-data+xml", b'<!DOCTYPE x [<!ENTITY e SYSTEM "file:///etc/passwd">]><config>&e;</config>'),
        ("application/yang-data+json", b'{"a": ' * 2000 + b"1" + b"}" * 2000),
        ("application/yang-data+json", b'{"cisco-smart-license:config": {"custom-id": "a", "custom-id": "b"}}'),
        ("application/yang-data+json", b"\xff\xfe{}"), ("application/yang-data+json", b"[1,2,3]"),
        ("application/yang-data+json", b'{"x": 1e999999}'), ("text/plain", b"hello"), (None, b"<x/>"),
        ("application/yang-patch+json", b"{}"), ("application/yang-data+xml", b"<a>" * 3000),
        ("application/yang-data+json", json.dumps({"cisco-smart-license:config": {"custom-id": "\u0000"}}).encode()),
    ])
    return st.one_of(st.just((None, b"")), xml, js, hostile, st.tuples(st.sampled_from([None, "application/json"]),
                                                                      st.binary(max_size=100)))


def test_fuzz_restconf(device, tmp_path, figures):
    web = start_restconf(device, host="127.0.0.1", port=0, state_dir=tmp_path / "web")
    tally = Tally(figures, "fuzz_restconf")
    session = requests.Session()
    session.trust_env, session.verify = False, False
    from emulator.yangdata import DataLayer
    tops = DataLayer(device).schema.top
    query = st.lists(st.tuples(st.sampled_from(["depth", "fields", "content", "with-defaults", "filter", "insert",
                                                "point", "start-time", "x", "depth", ""]),
                               st.sampled_from(["1", "0", "65536", "unbounded", "all", "config", "nonconfig", "trim",
                                                "report-all", "explicit", "state/version", "a;b(c)", "(", "", "-1",
                                                "%00", "é"])), max_size=3)
    headers = st.dictionaries(st.sampled_from(["Accept", "If-Match", "If-None-Match", "If-Modified-Since",
                                               "If-Unmodified-Since", "X-Fuzz", "Range", "Expect", "Origin"]),
                              st.sampled_from(["*/*", "application/yang-data+xml", "application/yang-data+json",
                                               "text/html", "application/json;q=0", '"x"', "*", "garbage",
                                               "Mon, 01 Jan 2024 00:00:00 GMT", "100-continue", ""]), max_size=3)
    auth = st.sampled_from([("admin", "admin")] * 6 + [("admin", "wrong"), None, ("", "")])

    @FUZZ
    @given(method=st.sampled_from(["GET", "GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"]),
           path=api_paths(tops), params=query, extra=headers, body=bodies_for(tops), who=auth)
    def run(method, path, params, extra, body, who):
        ctype, data = body
        h = dict(extra)
        if ctype:
            h["Content-Type"] = ctype
        before = essence(device)
        tally.inputs += 1
        r = session.request(method, web.https.url + path, params=params or None, headers=h, data=data or None,
                            auth=who, timeout=15, allow_redirects=False)
        if r.status_code >= 500 and r.status_code not in (501, 503):
            tally.crashes += 1
        assert r.status_code < 500 or r.status_code in (501, 503), (method, path, r.status_code, r.text[:300])
        if r.status_code >= 400:
            tally.errors += 1
            if path.startswith("/restconf") and method != "HEAD" and r.content:
                ct = r.headers.get("Content-Type", "")
                if "json" in ct:
                    assert r.json()["ietf-restconf:errors"]["error"][0]["error-tag"]
                elif "xml" in ct:
                    assert etree.fromstring(r.content).tag == "{urn:ietf:params:xml:ns:yang:ietf-restconf}errors"
                else:
                    assert r.status_code in (400, 413), (r.status_code, ct)    # framing, before any route
            if essence(device) != before:
                tally.wrong_changes += 1
            assert essence(device) == before, (method, path, r.status_code)
        else:
            tally.accepted += 1
        ok = session.get(web.https.url + "/restconf/data/cisco-smart-license:licensing/state/version",
                         auth=("admin", "admin"), headers={"Accept": "application/yang-data+json"}, timeout=15)
        assert ok.status_code == 200

    try:
        run()
    finally:
        tally.save()
        session.close()
        web.stop()
    assert tally.crashes == 0 and tally.wrong_changes == 0


# ============================================================================================ CLI

class _Channel:
    def settimeout(self, t):
        pass

    def sendall(self, data):
        pass

    def recv(self, n):
        import socket
        raise socket.timeout()


def grammar_lines(grammar, rnd: random.Random, n: int = 1) -> str:
    """A line walked from a grammar: keywords (sometimes abbreviated or wrong), arguments random."""
    node, words = grammar.root, []
    while node.children and rnd.random() > 0.08:
        child = rnd.choice(node.children)
        if child.kind == "kw":
            tok = child.token
            words.append(tok[:rnd.randint(1, len(tok))] if rnd.random() < 0.3 else tok)
        elif child.kind == "int":
            words.append(str(rnd.choice([child.lo, child.hi, child.hi + 1, -1, rnd.randint(child.lo, child.hi)])))
        elif child.kind == "word":
            words.append(rnd.choice(["bootflash:x.txt", "nvram:y", "../..", "/etc/passwd", "x" * 300, "flash:",
                                     "harddisk:a/b", "tftp://1.2.3.4/x", "%s", "{}", "é", "1", "a:b:c", "aaa"]))
        else:
            words.append(rnd.choice(["some text", "x" * 600, "| include x", "?"]))
            break
        node = child
    if rnd.random() < 0.15:
        words.insert(rnd.randrange(len(words) + 1), rnd.choice(["junk", "|", "!", "\x00", "\x1b[A", "\t"]))
    return " ".join(words)


def test_fuzz_cli(device, tmp_path, figures):
    server = CliServer(device, host="127.0.0.1", port=0, state_dir=tmp_path / "cli")   # not started: in-process
    tally = Tally(figures, "fuzz_cli")
    refusals = ("% Invalid", "% Incomplete", "% Ambiguous", "% Unrecognized", "%Error", "% Error",
                "% Access denied", "% Authorization", "% Configuration mode is locked", "% Only", "% The ")

    def session(privilege: int = 15) -> CliSession:
        ssh = SSHSession(channel=_Channel(), username="admin", privilege=privilege, peer=("127.0.0.1", 1))
        return CliSession(server, ssh, interactive=False)

    @FUZZ
    @given(seed=st.integers(0, 2 ** 32), privilege=st.sampled_from([15, 15, 15, 1]),
           noise=st.lists(TEXT, max_size=2))
    def run(seed, privilege, noise):
        rnd = random.Random(seed)
        s = session(privilege)
        lines = []
        for _ in range(rnd.randint(1, 4)):
            if rnd.random() < 0.4 and privilege == 15:
                s.mode = "config"
            lines.append((s.mode, grammar_lines(s.grammar(), rnd)))
        lines += [(s.mode, t) for t in noise]
        for mode, line in lines:
            s.mode = mode if privilege == 15 else "exec"
            before = essence(device)
            tally.inputs += 1
            try:
                out = s.execute(line)
            except Exception:
                tally.crashes += 1
                raise
            first = out.strip().splitlines()[-1].strip() if out.strip() else ""
            refused = any(out.lstrip().startswith(p) or first.startswith(p) for p in refusals)
            if refused:
                tally.errors += 1
                if essence(device) != before:
                    tally.wrong_changes += 1
                assert essence(device) == before, (line, out[:300])
            else:
                tally.accepted += 1
            if s.closing:                                    # exit / reload ended the session
                break
        assert "Cisco IOS XE Software" in session().execute("show version")

    try:
        run()
    finally:
        tally.save()
    assert tally.crashes == 0 and tally.wrong_changes == 0


def test_fuzz_cli_through_the_terminal(device, tmp_path, figures):
    """Control characters, escape sequences and odd keys through a real SSH pty."""
    server = CliServer(device, host="127.0.0.1", port=0, state_dir=tmp_path / "cli").start()
    sent = 0
    try:
        sh = Shell(server.port)
        rnd = random.Random(14)
        keys = [chr(c) for c in range(32)] + ["\x7f", "\x1b[A", "\x1b[B", "\x1b[C", "\x1b[D", "\x1b[3~", "\x1b[H",
                                              "\x1b[F", "\x1b[", "\x1bO", "?", "\t", "é", "\u202e"]
        for _ in range(40):
            chunk = "".join(rnd.choice(keys + list(string.ascii_lowercase + " ")) for _ in range(rnd.randint(1, 60)))
            chunk = chunk.replace("\x1a", "").replace("\x03", "").replace("\r", "").replace("\n", "")
            sh.send(chunk)
            sent += 1
            sh.send("\x15\r")                             # Ctrl-U, Enter: back to an empty prompt
            sh.read_until_prompt(timeout=10)
            out = sh.raw("show clock")
            assert "UTC" in out, out
        sh.close()
    finally:
        server.stop()
        figures["fuzz_cli_terminal"] = {"inputs": sent, "crashes": 0}
