"""The NETCONF server core without SSH: sessions fed bytes in-process, replies decoded from the frames."""

import time

import pytest
from lxml import etree

from emulator.cssm import Cssm
from emulator.frontends.netconf.framing import FrameReader, frame_chunked, frame_eom
from emulator.frontends.netconf.server import NetconfServer
from tests.conftest import DAY

NC = "urn:ietf:params:xml:ns:netconf:base:1.0"
CSL = "http://cisco.com/ns/yang/cisco-smart-license"
NATIVE = "http://cisco.com/ns/yang/Cisco-IOS-XE-native"
CTL = "urn:slpemu:control"
NCM = "urn:ietf:params:xml:ns:yang:ietf-netconf-monitoring"
NOTIF = "urn:ietf:params:xml:ns:netconf:notification:1.0"
NS = {"nc": NC, "csl": CSL, "n": NATIVE, "ctl": CTL, "ncm": NCM, "notif": NOTIF}


class Client:
    """One in-process NETCONF session (base:1.1 unless told otherwise)."""

    def __init__(self, server: NetconfServer, version="1.1", privilege=15, hello=True):
        self.out: list[bytes] = []
        self.closed = False
        self.session = server.open_session(self.out.append, self._close, username="admin", privilege=privilege)
        self.reader = FrameReader()
        self.version = version
        self.server_hello = self._messages()[0]
        self.mid = 0
        self.notes: list[etree._Element] = []
        if hello:
            caps = "".join(f"<capability>urn:ietf:params:netconf:base:{v}</capability>"
                           for v in (("1.0", "1.1") if version == "1.1" else ("1.0",)))
            self.send_raw(frame_eom(f'<hello xmlns="{NC}"><capabilities>{caps}</capabilities></hello>'.encode()))
            if version == "1.1":
                self.reader.switch_to_chunked()

    def _close(self):
        self.closed = True

    def _messages(self) -> list[etree._Element]:
        data, self.out[:] = b"".join(self.out), []
        self.reader.feed(data)
        msgs = []
        while (m := self.reader.next_message()) is not None:
            el = etree.fromstring(m)
            if etree.QName(el).localname == "notification":
                self.notes.append(el)
            else:
                msgs.append(el)
        return msgs

    def send_raw(self, data: bytes) -> list[etree._Element]:
        self.session.receive(data)
        return self._messages()

    def send(self, body: str, attrs: str | None = None) -> list[etree._Element]:
        self.mid += 1
        attrs = f' message-id="{self.mid}"' if attrs is None else attrs
        msg = f'<rpc xmlns="{NC}"{attrs}>{body}</rpc>'.encode()
        return self.send_raw(frame_chunked(msg) if self.version == "1.1" else frame_eom(msg))

    def rpc(self, body: str) -> etree._Element:
        msgs = self.send(body)
        assert len(msgs) == 1, msgs
        return msgs[0]

    def ok(self, body: str) -> etree._Element:
        reply = self.rpc(body)
        assert reply.find("nc:rpc-error", NS) is None, etree.tostring(reply)
        return reply

    def error(self, body: str, tag: str, error_type: str | None = None) -> etree._Element:
        reply = self.rpc(body)
        err = reply.find("nc:rpc-error", NS)
        assert err is not None, etree.tostring(reply)
        assert err.findtext("nc:error-tag", namespaces=NS) == tag, etree.tostring(err)
        assert err.findtext("nc:error-severity", namespaces=NS) == "error"
        assert err.findtext("nc:error-message", namespaces=NS)
        if error_type:
            assert err.findtext("nc:error-type", namespaces=NS) == error_type
        return err


@pytest.fixture
def server(make_device):
    dev = make_device()
    dev.set_user("admin", "admin", 15)
    srv = NetconfServer(dev)
    yield srv
    srv.close()


def lic(inner: str) -> str:
    return f'<licensing xmlns="{CSL}">{inner}</licensing>'


def get(filter_xml: str = "", kind="subtree") -> str:
    if kind == "xpath":
        return f'<get><filter type="xpath" select="{filter_xml}"/></get>'
    return f"<get><filter>{filter_xml}</filter></get>" if filter_xml else "<get/>"


def edit(config: str, **params) -> str:
    extra = "".join(f"<{k.replace('_', '-')}>{v}</{k.replace('_', '-')}>" for k, v in params.items())
    return f"<edit-config><target><running/></target>{extra}<config>{config}</config></edit-config>"


# ============================================================================================ hello

def test_server_hello_capabilities_and_session_id(server):
    c = Client(server, hello=False)
    hello = c.server_hello
    caps = [e.text for e in hello.iterfind("nc:capabilities/nc:capability", NS)]
    for cap in ("urn:ietf:params:netconf:base:1.0", "urn:ietf:params:netconf:base:1.1",
                "urn:ietf:params:netconf:capability:writable-running:1.0",
                "urn:ietf:params:netconf:capability:xpath:1.0",
                "urn:ietf:params:netconf:capability:validate:1.1",
                "urn:ietf:params:netconf:capability:notification:1.0",
                "urn:ietf:params:netconf:capability:interleave:1.0",
                "urn:ietf:params:netconf:capability:with-defaults:1.0?basic-mode=explicit"
                "&also-supported=report-all-tagged,report-all",
                f"{CSL}?module=cisco-smart-license&revision=2021-03-01",
                f"{NATIVE}?module=Cisco-IOS-XE-native&revision=2026-11-27",
                "http://cisco.com/ns/yang/Cisco-IOS-XE-rpc?module=Cisco-IOS-XE-rpc&revision=2026-11-27",
                f"{CTL}?module=slpemu-control&revision=2026-11-27",
                "http://cisco.com/yang/cisco-ia?module=cisco-ia&revision=2018-03-21",
                f"{NCM}?module=ietf-netconf-monitoring&revision=2010-10-04"):
        assert cap in caps, cap
    lib = [c for c in caps if c.startswith("urn:ietf:params:netconf:capability:yang-library:1.1?")]
    assert len(lib) == 1 and "revision=2019-01-04" in lib[0] and "content-id=" in lib[0]
    assert not any(":candidate" in c or ":startup" in c or ":url" in c for c in caps)
    assert int(hello.findtext("nc:session-id", namespaces=NS)) == c.session.id
    Client(server).ok("<close-session/>")
    assert int(Client(server, hello=False).server_hello.findtext("nc:session-id", namespaces=NS)) > c.session.id


def test_base10_session_stays_on_eom(server):
    c = Client(server, version="1.0")
    reply = c.ok(get(lic("<state><state-info><udi/></state-info></state>")))
    assert reply.findtext(".//csl:udi/csl:pid", namespaces=NS) == "C8000V"
    assert not c.session.chunked


@pytest.mark.parametrize("hello", [
    b"<rpc/>", b"not xml at all",
    f'<hello xmlns="{NC}"><capabilities><capability>urn:x</capability></capabilities></hello>'.encode(),
    f'<hello xmlns="{NC}"><capabilities><capability>urn:ietf:params:netconf:base:1.1</capability>'
    f"</capabilities><session-id>4</session-id></hello>".encode(),
])
def test_bad_hello_closes_the_session_only(server, hello):
    c = Client(server, hello=False)
    c.send_raw(frame_eom(hello))
    assert c.closed and c.session.closed
    assert server.stats["in-bad-hellos"] == 1
    Client(server).ok(get())


def test_rpc_before_hello_is_a_bad_hello(server):
    c = Client(server, hello=False)
    c.send_raw(frame_eom(f'<rpc xmlns="{NC}" message-id="1"><get/></rpc>'.encode()))
    assert c.closed


# ============================================================================================ retrieval

def test_get_returns_state_and_config_and_monitoring(server):
    server.device.set_usage("network-advantage", 2)
    data = Client(server).ok(get()).find("nc:data", NS)
    tops = {etree.QName(e).localname for e in data}
    assert {"licensing", "native", "clock", "netconf-state", "yang-library", "modules-state"} <= tops
    usage = data.find("csl:licensing/csl:state/csl:state-info/csl:usage", NS)
    assert usage.findtext("csl:short-name", namespaces=NS) == "network-advantage_250M"
    assert usage.findtext("csl:count", namespaces=NS) == "2"


def test_get_config_holds_config_only(server):
    data = Client(server).ok("<get-config><source><running/></source></get-config>").find("nc:data", NS)
    assert {etree.QName(e).localname for e in data} == {"licensing", "native"}
    assert data.find("csl:licensing/csl:state", NS) is None
    assert data.findtext("csl:licensing/csl:config/csl:enable", namespaces=NS) == "false"
    # the default transport is not configuration: neither running-config nor the native model shows it
    assert data.find("n:native/n:license/n:smart/n:transport-type", NS) is None


def test_subtree_selection_containment_and_content_match(server):
    dev = server.device
    for name, count in (("network-advantage", 2), ("dna-advantage", 1)):
        dev.set_usage(name, count)
    c = Client(server)
    data = c.ok(get(lic("<state><state-info><usage><short-name>dna-advantage_250M</short-name><count/>"
                        "</usage></state-info></state>"))).find("nc:data", NS)
    usages = data.findall(".//csl:usage", NS)
    assert len(usages) == 1
    # keys first, the content match node, the selection; nothing else
    assert [etree.QName(e).localname for e in usages[0]] == ["entitlement-tag", "short-name", "count"]
    assert usages[0].findtext("csl:count", namespaces=NS) == "1"
    # content match only: the whole entry
    whole = c.ok(get(lic("<state><state-info><usage><short-name>network-advantage_250M</short-name></usage>"
                         "</state-info></state>"))).find(".//csl:usage", NS)
    assert whole.findtext("csl:license-name", namespaces=NS) and whole.findtext("csl:count", namespaces=NS) == "2"
    # a content match that fails: nothing
    none = c.ok(get(lic("<state><state-info><usage><short-name>nope</short-name></usage></state-info></state>")))
    assert len(none.find("nc:data", NS)) == 0
    # two containment nodes for two tops, and a leaf content match on a container level
    both = c.ok(get(lic("<state><smart-enabled>true</smart-enabled></state>")
                    + f'<native xmlns="{NATIVE}"><hostname/></native>')).find("nc:data", NS)
    assert both.findtext("csl:licensing/csl:state/csl:version", namespaces=NS)
    assert [etree.QName(e).localname for e in both.find("n:native", NS)] == ["hostname"]


def test_subtree_namespaces(server):
    c = Client(server)
    # no namespace: matches the node of any module (as IOS XE does)
    loose = c.ok(get('<licensing xmlns=""><state><state-info><udi/></state-info></state></licensing>'))
    assert loose.findtext(".//csl:udi/csl:pid", namespaces=NS) == "C8000V"
    # a wrong namespace selects nothing (not an error)
    wrong = c.ok(get('<licensing xmlns="urn:other"><state/></licensing>'))
    assert len(wrong.find("nc:data", NS)) == 0
    # prefixed filter elements
    pref = c.ok(get(f'<x:licensing xmlns:x="{CSL}"><x:state><x:state-info><x:udi><x:sn/></x:udi></x:state-info>'
                    "</x:state></x:licensing>"))
    assert pref.findtext(".//csl:udi/csl:sn", namespaces=NS) == server.device.sn
    assert pref.find(".//csl:udi/csl:pid", NS) is None


def test_xpath_filters(server):
    server.device.set_usage("network-advantage", 1)
    c = Client(server)
    data = c.ok(get("/licensing/state/state-info/udi", "xpath")).find("nc:data", NS)
    assert data.findtext("csl:licensing/csl:state/csl:state-info/csl:udi/csl:pid", namespaces=NS) == "C8000V"
    assert data.find("csl:licensing/csl:config", NS) is None
    pref = c.ok(f'<get><filter type="xpath" xmlns:l="{CSL}" '
                'select="/l:licensing/l:state/l:state-info/l:usage[l:count=1]/l:license-name"/></get>')
    usage = pref.find(".//csl:usage", NS)
    assert [etree.QName(e).localname for e in usage] == ["entitlement-tag", "license-name"]   # key kept
    union = c.ok(get("/licensing/state/state-info/registration | /licensing/state/state-info/authorization",
                     "xpath"))
    info = union.find(".//csl:state-info", NS)
    assert [etree.QName(e).localname for e in info] == ["registration", "authorization"]
    whole = c.ok(get("/licensing", "xpath")).find("nc:data", NS)
    assert [etree.QName(e).localname for e in whole] == ["licensing"]
    assert whole.find("csl:licensing/csl:config", NS) is not None
    c.error('<get><filter type="xpath" select="/licensing[["/></get>', "invalid-value")
    c.error('<get><filter type="xpath" select="count(/licensing)"/></get>', "invalid-value")
    c.error('<get><filter type="xpath"/></get>', "missing-attribute")
    c.error('<get><filter type="regex" select="x"/></get>', "bad-attribute")


def test_with_defaults(server):
    c = Client(server)
    wd = "urn:ietf:params:xml:ns:yang:ietf-netconf-with-defaults"
    for mode in ("explicit", "report-all", "report-all-tagged"):
        reply = c.ok(f'<get-config><source><running/></source><with-defaults xmlns="{wd}">{mode}</with-defaults>'
                     "</get-config>")
        assert reply.findtext(".//csl:config/csl:privacy/csl:hostname", namespaces=NS) == "false"
    c.error(f'<get><with-defaults xmlns="{wd}">trim</with-defaults></get>', "invalid-value")


def test_monitoring_and_yang_library(server):
    c = Client(server)
    other = Client(server)
    data = c.ok(get(f'<netconf-state xmlns="{NCM}"><sessions/><schemas/></netconf-state>'))
    sessions = data.findall(".//ncm:session", NS)
    assert {int(s.findtext("ncm:session-id", namespaces=NS)) for s in sessions} == {c.session.id, other.session.id}
    assert sessions[0].findtext("ncm:username", namespaces=NS) == "admin"
    schemas = {s.findtext("ncm:identifier", namespaces=NS): s for s in data.iterfind(".//ncm:schema", NS)}
    assert schemas["cisco-smart-license"].findtext("ncm:version", namespaces=NS) == "2021-03-01"
    assert schemas["cisco-smart-license-errors"].findtext("ncm:format", namespaces=NS) == "yang"
    assert schemas["Cisco-IOS-XE-license"].findtext("ncm:location", namespaces=NS) == "NETCONF"
    lib = c.ok(get('<yang-library xmlns="urn:ietf:params:xml:ns:yang:ietf-yang-library"/>'))
    content_id = lib.findtext(".//{urn:ietf:params:xml:ns:yang:ietf-yang-library}content-id")
    cap = [e.text for e in c.server_hello.iter(f"{{{NC}}}capability") if "yang-library:1.1" in e.text][0]
    assert cap.endswith(f"content-id={content_id}")
    names = [e.text for e in lib.iter("{urn:ietf:params:xml:ns:yang:ietf-yang-library}name")]
    assert "cisco-smart-license" in names and "ds:running" in names


def test_get_schema(server):
    c = Client(server)
    for ident, version in (("cisco-smart-license", "2021-03-01"), ("cisco-smart-license-errors", None),
                           ("ietf-netconf-monitoring", None), ("slpemu-control", "2026-11-27")):
        v = f"<version>{version}</version>" if version else ""
        reply = c.ok(f'<get-schema xmlns="{NCM}"><identifier>{ident}</identifier>{v}<format>yang</format>'
                     "</get-schema>")
        text = reply.findtext("ncm:data", namespaces=NS)
        assert text.lstrip().startswith(("module", "submodule")) and ident in text.split("{")[0]
    c.error(f'<get-schema xmlns="{NCM}"><identifier>nope</identifier></get-schema>', "invalid-value")
    c.error(f'<get-schema xmlns="{NCM}"><identifier>cisco-smart-license</identifier><version>1999-01-01</version>'
            "</get-schema>", "invalid-value")
    c.error(f'<get-schema xmlns="{NCM}"><identifier>cisco-ia</identifier><format>yin</format></get-schema>',
            "invalid-value")
    c.error(f'<get-schema xmlns="{NCM}"/>', "missing-element")


# ============================================================================================ edit-config

def test_edit_config_operations_round_trip(server):
    dev = server.device
    c = Client(server)
    url = "http://10.0.0.1:8182/cslu/v1/pi"
    c.ok(edit(lic(f"<config><transport><transport-cslu><url-cslu>{url}</url-cslu></transport-cslu></transport>"
                  "<usage><interval>20</interval><customer-tags><tag1>SA/VA:01</tag1></customer-tags></usage>"
                  "</config>")))
    assert dev.setting("url_cslu") == url and dev.setting("usage_interval") == 20
    native = c.ok("<get-config><source><running/></source></get-config>").find(".//n:native/n:license/n:smart", NS)
    assert native.findtext("n:url/n:cslu", namespaces=NS) == url          # the same setting in both models
    op = f'xmlns:nc="{NC}"'
    c.ok(edit(f'<licensing xmlns="{CSL}" {op}><config><usage><customer-tags nc:operation="delete"/></usage>'
              "</config></licensing>"))
    assert dev.setting("customer_tag1") is None
    c.error(edit(f'<licensing xmlns="{CSL}" {op}><config><custom-id nc:operation="delete"/></config></licensing>'),
            "data-missing")
    c.ok(edit(f'<licensing xmlns="{CSL}" {op}><config><custom-id nc:operation="remove"/></config></licensing>'))
    c.ok(edit(f'<licensing xmlns="{CSL}" {op}><config><custom-id nc:operation="create">C1</custom-id></config>'
              "</licensing>"))
    assert dev.setting("custom_id") == "C1"
    c.error(edit(f'<licensing xmlns="{CSL}" {op}><config><custom-id nc:operation="create">C2</custom-id>'
                 "</config></licensing>"), "data-exists")
    c.ok(edit(f'<licensing xmlns="{CSL}" {op}><config><usage nc:operation="replace"><interval>7</interval></usage>'
              "</config></licensing>"))
    assert dev.setting("usage_interval") == 7
    # native model edit, seen through cisco-smart-license
    c.ok(edit(f'<native xmlns="{NATIVE}"><license><smart><transport-type>Off</transport-type></smart></license>'
              "</native>"))
    assert c.ok(get(lic("<config><transport><transport-type/></transport></config>"))).findtext(
        ".//csl:transport-type", namespaces=NS) == "transport-type-off"


def test_edit_config_parameters(server):
    dev = server.device
    c = Client(server)
    c.ok(edit(lic("<config><custom-id>T1</custom-id></config>"), test_option="test-only"))
    assert dev.setting("custom_id") is None
    c.ok(edit(lic("<config><custom-id>T2</custom-id></config>"), default_operation="none"))
    assert dev.setting("custom_id") is None                  # none: nothing without an explicit operation
    c.ok(edit(lic("<config><custom-id>T3</custom-id></config>"), test_option="set", error_option="stop-on-error"))
    assert dev.setting("custom_id") == "T3"
    c.error(edit(lic(""), default_operation="overwrite"), "invalid-value")
    c.error(edit(lic(""), test_option="maybe"), "invalid-value")
    c.error(edit(lic(""), error_option="ignore"), "invalid-value")
    # atomic: one bad value refuses the whole edit
    c.error(edit(lic("<config><custom-id>T4</custom-id><usage><interval>0</interval></usage></config>")),
            "invalid-value")
    assert dev.setting("custom_id") == "T3"
    # continue-on-error applies what it can and reports the rest
    reply = c.rpc(edit(lic("<config><custom-id>T5</custom-id></config>")
                       + f'<native xmlns="{NATIVE}"><license><smart><usage><interval>999</interval></usage>'
                         "</smart></license></native>", error_option="continue-on-error"))
    assert [e.findtext("nc:error-tag", namespaces=NS) for e in reply.findall("nc:rpc-error", NS)] == ["invalid-value"]
    assert dev.setting("custom_id") == "T5"


@pytest.mark.parametrize("config,tag", [
    (lic("<config><usage><interval>366</interval></usage></config>"), "invalid-value"),
    (lic("<config><transport><transport-type>pigeon</transport-type></transport></config>"), "invalid-value"),
    (lic("<config><nonsense/></config>"), "unknown-element"),
    (lic('<config><privacy xmlns="urn:other"/></config>'), "unknown-namespace"),
    (lic("<state><always-enabled>true</always-enabled></state>"), "invalid-value"),
    ('<clock xmlns="urn:slpemu:control"/>', "invalid-value"),
    ('<gadget xmlns="urn:unknown"/>', "unknown-namespace"),
    (f'<gadget xmlns="{CSL}"/>', "unknown-element"),
    (lic(f'<config xmlns:nc="{NC}" nc:operation="explode"/>'), "bad-attribute"),
])
def test_bad_edits_are_rpc_errors_and_change_nothing(server, config, tag):
    before = server.device.config
    err = Client(server).error(edit(config), tag)
    assert server.device.config == before
    if tag == "invalid-value" and "interval" in config:
        path = err.find("nc:error-path", NS)
        assert path.text == ("/cisco-smart-license:licensing/cisco-smart-license:config/cisco-smart-license:usage/"
                             "cisco-smart-license:interval")
        assert path.nsmap["cisco-smart-license"] == CSL


def test_edit_config_refusals(server):
    c = Client(server)
    c.error("<edit-config><config/></edit-config>", "missing-element")
    c.error("<edit-config><target><running/></target></edit-config>", "missing-element")
    c.error("<edit-config><target><candidate/></target><config/></edit-config>", "invalid-value")
    c.error("<edit-config><target><startup/></target><config/></edit-config>", "invalid-value")
    c.error("<edit-config><target><running/></target><url>file:///x</url></edit-config>", "operation-not-supported")
    c.ok("<validate><source><running/></source></validate>")
    c.ok(f"<validate><source><config>{lic('<config><custom-id>V</custom-id></config>')}</config></source></validate>")
    c.error(f"<validate><source><config>{lic('<config><usage><interval>0</interval></usage></config>')}</config>"
            "</source></validate>", "invalid-value")
    assert server.device.setting("custom_id") is None
    for op in ("commit", "discard-changes", "copy-config", "delete-config"):
        c.error(f"<{op}/>", "operation-not-supported")
    c.error("<get-config><source><startup/></source></get-config>", "invalid-value")
    c.error("<get-config/>", "missing-element")
    c.error("<get><source><running/></source></get>", "unknown-element")


def test_access_denied_below_privilege_15(server):
    c = Client(server, privilege=1)
    c.error(get(lic("<state><version/></state>")), "access-denied", "application")     # NETCONF needs 15
    c.error(edit(lic("<config><custom-id>X</custom-id></config>")), "access-denied", "application")
    c.error("<lock><target><running/></target></lock>", "access-denied")
    c.error(f'<set-usage xmlns="{CTL}"><license>network-advantage</license><count>1</count></set-usage>',
            "access-denied")


# ============================================================================================ locks, sessions

def test_locks_between_sessions(server):
    a, b = Client(server), Client(server)
    a.ok("<lock><target><running/></target></lock>")
    err = b.error("<lock><target><running/></target></lock>", "lock-denied", "protocol")
    assert err.findtext("nc:error-info/nc:session-id", namespaces=NS) == str(a.session.id)
    b.error(edit(lic("<config><custom-id>B</custom-id></config>")), "in-use")
    b.error("<unlock><target><running/></target></unlock>", "lock-denied")
    a.ok(edit(lic("<config><custom-id>A</custom-id></config>")))
    locks = b.ok(get(f'<netconf-state xmlns="{NCM}"><datastores/></netconf-state>'))
    assert locks.findtext(".//ncm:locked-by-session", namespaces=NS) == str(a.session.id)
    a.ok("<unlock><target><running/></target></unlock>")
    a.error("<unlock><target><running/></target></unlock>", "operation-failed")
    b.ok("<lock><target><running/></target></lock>")
    b.ok("<close-session/>")                  # ending the session releases its lock
    assert b.closed
    a.ok("<lock><target><running/></target></lock>")
    a.error("<lock><target><running/></target></lock>", "lock-denied")   # even for the owner
    a.error("<lock><target><candidate/></target></lock>", "invalid-value")


def test_lock_is_device_wide(server):
    device = server.device
    a = Client(server)
    a.ok("<lock><target><running/></target></lock>")
    assert device.config_locked_by() == f"netconf:{a.session.id}"     # CLI and RESTCONF see it
    assert device.lock_config("cli:vty0") == f"netconf:{a.session.id}"
    a.ok("<unlock><target><running/></target></unlock>")
    assert device.config_locked_by() is None
    assert device.lock_config("cli:vty0") is None                   # another agent holds it now
    err = a.error("<lock><target><running/></target></lock>", "lock-denied", "protocol")
    assert "cli:vty0" in err.findtext("nc:error-message", namespaces=NS)
    device.unlock_config("cli:vty0")


def test_kill_session(server):
    a, b = Client(server), Client(server)
    b.ok("<lock><target><running/></target></lock>")
    a.error("<kill-session><session-id>999</session-id></kill-session>", "invalid-value")
    a.error(f"<kill-session><session-id>{a.session.id}</session-id></kill-session>", "invalid-value")
    a.error("<kill-session/>", "missing-element")
    a.ok(f"<kill-session><session-id>{b.session.id}</session-id></kill-session>")
    assert b.closed and server.session(b.session.id) is None
    a.ok("<lock><target><running/></target></lock>")


def test_attributes_are_echoed(server):
    c = Client(server)
    reply = c.send("<get/>", attrs=' message-id="x-1" user-tag="abc"')[0]
    assert reply.get("message-id") == "x-1" and reply.get("user-tag") == "abc"


# ============================================================================================ RPCs

def test_licensing_and_control_rpcs(server, tmp_path):
    dev = server.device
    c = Client(server)
    out = c.ok(f'<set-usage xmlns="{CTL}"><license>network-advantage</license><count>3</count></set-usage>')
    assert out.findtext("ctl:count", namespaces=NS) == "3"
    assert out.findtext("ctl:entitlement-tag", namespaces=NS).startswith("regid.")
    out = c.ok(f'<advance-clock xmlns="{CTL}"><seconds>{int(2 * DAY)}</seconds></advance-clock>')
    assert out.findtext("ctl:now", namespaces=NS) == "2024-01-03T00:00:00+00:00"
    keys = c.ok(get(lic("<state><state-info><rum-reports-closed-keys/></state-info></state>")))
    assert keys.findall(".//csl:rum-reports-closed-keys", NS)
    out = c.ok(f'<rum-save-usage-all xmlns="{CSL}"><file-path>bootflash:usage.txt</file-path></rum-save-usage-all>')
    assert out.findtext("csl:return-code", namespaces=NS) == "success"
    assert dev.flash.read("bootflash:usage.txt")
    out = c.ok(f'<register-id-token xmlns="{CSL}"><id-token>abc</id-token></register-id-token>')
    assert out.findtext("csl:return-code", namespaces=NS) == "notsupported"
    out = c.ok(f'<import-file xmlns="{CSL}"><file-path>bootflash:missing.xml</file-path></import-file>')
    assert out.findtext("csl:return-code", namespaces=NS) not in (None, "success")
    out = c.ok('<save-config xmlns="http://cisco.com/yang/cisco-ia"/>')
    assert out.findtext("{http://cisco.com/yang/cisco-ia}result")
    out = c.ok('<license xmlns="http://cisco.com/ns/yang/Cisco-IOS-XE-rpc"><smart><import>bootflash:missing.xml'
               "</import></smart></license>")
    assert "%" in out.findtext("{http://cisco.com/ns/yang/Cisco-IOS-XE-rpc}result")
    c.error(f'<rum-save-usage-all xmlns="{CSL}"/>', "missing-element")
    c.error(f'<set-usage xmlns="{CTL}"><license>network-advantage</license><count>-1</count></set-usage>',
            "invalid-value")
    c.error(f'<set-usage xmlns="{CTL}"><license>no-such-licence</license><count>1</count></set-usage>',
            "invalid-value")
    c.error(f'<reload xmlns="{CTL}"><now/></reload>', "unknown-element")
    c.error(f'<frobnicate xmlns="{CSL}"/>', "operation-not-supported")


# ============================================================================================ notifications

def _ack_for(dev, tmp_path, policy="SLE Policy"):
    dev.save_usage("all", "u.txt")
    cssm = Cssm(state_path=tmp_path / "cssm.json")
    dev.flash.write("ack.xml", cssm.process_usage(dev.flash.read("u.txt"), now=dev.now(), policy=policy).encode())


def _wait_notifications(client: Client, count: int, timeout=5.0) -> list[etree._Element]:
    deadline = time.monotonic() + timeout
    while len(client.notes) < count and time.monotonic() < deadline:
        client._messages()
        time.sleep(0.01)
    got, client.notes[:] = list(client.notes), []
    return got


def test_notification_after_an_import(server, tmp_path):
    dev = server.device
    dev.set_usage("network-advantage", 1)
    dev.advance_clock(DAY)
    _ack_for(dev, tmp_path)
    c = Client(server)
    c.ok(f'<create-subscription xmlns="{NOTIF}"/>')
    c.error(f'<create-subscription xmlns="{NOTIF}"/>', "in-use")
    reply = c.rpc(f'<import-file xmlns="{CSL}"><file-path>ack.xml</file-path></import-file>')
    assert reply.findtext("csl:return-code", namespaces=NS) == "success"
    notes = _wait_notifications(c, 2)
    syslogs = [n.find("ctl:syslog-message", NS) for n in notes]
    mnemonics = [s.findtext("ctl:mnemonic", namespaces=NS) for s in syslogs if s is not None]
    assert "POLICY_INSTALL_SUCCESS" in mnemonics
    assert all(n.findtext("notif:eventTime", namespaces=NS) == "2024-01-02T00:00:00+00:00" for n in notes)


def test_cisco_notifications_and_replay(server):
    dev = server.device
    c = Client(server)
    c.ok(f'<create-subscription xmlns="{NOTIF}"><startTime>2000-01-01T00:00:00Z</startTime></create-subscription>')
    notes = _wait_notifications(c, 4)
    names = [etree.QName(n[1]).localname for n in notes]
    # boot: ready + enabled (AGENT_ENABLED) with their syslog-message, then the replay marker
    assert names[:3] == ["ready", "enabled", "syslog-message"] and "replayComplete" in names
    assert etree.QName(notes[0][1]).namespace == CSL
    c.error(f'<create-subscription xmlns="{NOTIF}"><stopTime>2030-01-01T00:00:00Z</stopTime>'
            "</create-subscription>", "in-use")
    d = Client(server)
    d.error(f'<create-subscription xmlns="{NOTIF}"><stopTime>2030-01-01T00:00:00Z</stopTime>'
            "</create-subscription>", "missing-element")
    d.error(f'<create-subscription xmlns="{NOTIF}"><startTime>2099-01-01T00:00:00Z</startTime>'
            "</create-subscription>", "bad-element")
    d.error(f'<create-subscription xmlns="{NOTIF}"><startTime>yesterday</startTime></create-subscription>',
            "bad-element")
    d.error(f'<create-subscription xmlns="{NOTIF}"><stream>SNMP</stream></create-subscription>', "invalid-value")
    # a subtree filter on the notification content
    d.ok(f'<create-subscription xmlns="{NOTIF}"><filter type="subtree"><enabled xmlns="{CSL}"/></filter>'
         "<startTime>2000-01-01T00:00:00Z</startTime><stopTime>2024-01-01T00:00:00Z</stopTime>"
         "</create-subscription>")
    notes = _wait_notifications(d, 3)
    assert [etree.QName(n[1]).localname for n in notes] == ["enabled", "replayComplete", "notificationComplete"]


@pytest.mark.parametrize("select, expected", [
    ("/enabled", ["enabled"]),
    ("/csl:enabled", ["enabled"]),
    ("//enabled", ["enabled"]),
    ("/syslog-message[mnemonic='AGENT_ENABLED']", ["syslog-message"]),
    ("/ready | /enabled", ["ready", "enabled"]),
    ("/nothing", []),
])
def test_xpath_filter_on_notifications(server, select, expected):
    c = Client(server)
    c.ok(f'<create-subscription xmlns="{NOTIF}"><filter xmlns:csl="{CSL}" type="xpath" select="{select}"/>'
         "<startTime>2000-01-01T00:00:00Z</startTime><stopTime>2024-01-01T00:00:00Z</stopTime>"
         "</create-subscription>")
    notes = _wait_notifications(c, len(expected) + 2)
    assert [etree.QName(n[1]).localname for n in notes] == expected + ["replayComplete", "notificationComplete"]


# ============================================================================================ errors, hostile input

def test_message_level_errors(server):
    c = Client(server)
    reply = c.send("<get/>", attrs="")[0]
    err = reply.find("nc:rpc-error", NS)
    assert err.findtext("nc:error-tag", namespaces=NS) == "missing-attribute"
    assert err.findtext("nc:error-info/nc:bad-attribute", namespaces=NS) == "message-id"
    c.error("", "missing-element", "rpc")
    c.error('<foo xmlns="urn:nowhere"/>', "unknown-namespace")
    c.error("<frobnicate/>", "unknown-element")
    c.error("<get/><get/>", "unknown-element")
    reply = c.send_raw(frame_chunked(b"<rpc xmlns='" + NC.encode() + b"' message-id='1'><get></rpc>"))[0]
    assert reply.findtext("nc:rpc-error/nc:error-tag", namespaces=NS) == "malformed-message"
    reply = c.send_raw(frame_chunked(b"<notrpc/>"))[0]
    assert reply.findtext("nc:rpc-error/nc:error-tag", namespaces=NS) == "unknown-element"
    c.ok(get())                                            # the session survives all of that
    assert server.stats["in-bad-rpcs"] >= 5


@pytest.mark.parametrize("payload", [
    b'<?xml version="1.0"?><!DOCTYPE r [<!ENTITY x SYSTEM "file:///etc/passwd">]>'
    b'<rpc xmlns="urn:ietf:params:xml:ns:netconf:base:1.0" message-id="1"><get>&x;</get></rpc>',
    b'<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;">'
    b'<!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;">]><rpc xmlns="urn:ietf:params:xml:ns:netconf:base:1.0" '
    b'message-id="1"><get>&lol3;</get></rpc>',
])
def test_xxe_and_entity_expansion_are_refused(server, payload):
    c = Client(server)
    reply = c.send_raw(frame_chunked(payload))[0]
    assert reply.findtext("nc:rpc-error/nc:error-tag", namespaces=NS) == "malformed-message"
    assert b"root:" not in etree.tostring(reply)
    c.ok(get())


@pytest.mark.parametrize("garbage", [b"\n#abc\n", b"garbage without framing", b"\n#0\n", b"\n#5\nabcdefgh\n##\n"])
def test_garbage_framing_closes_that_session_only(server, garbage):
    bad, good = Client(server), Client(server)
    msgs = bad.send_raw(garbage)
    assert bad.closed and bad.session.closed
    assert msgs and msgs[0].findtext("nc:rpc-error/nc:error-tag", namespaces=NS) == "malformed-message"
    good.ok(get(lic("<state><version/></state>")))


def test_huge_message_closes_the_session(make_device):
    dev = make_device()
    srv = NetconfServer(dev, max_message=64 * 1024)
    c = Client(srv)
    c.send_raw(b"\n#70000\n" + b"x" * 70000)
    assert c.closed
    c2 = Client(srv, version="1.0")
    c2.send_raw(b"<rpc>" + b"y" * 70000)
    assert c2.closed
    Client(srv).ok(get())
    srv.close()


# ============================================================================================ robustness

def _one_shot_failure(monkeypatch, obj, name, exc):
    """Makes obj.name raise exc on its first call only; later calls go to the original."""
    original = getattr(obj, name)
    calls = []

    def broken(*args, **kwargs):
        calls.append(1)
        if len(calls) == 1:
            raise exc
        return original(*args, **kwargs)
    monkeypatch.setattr(obj, name, broken)
    return calls


def test_an_unexpected_error_is_one_rpc_error_and_the_session_goes_on(server, monkeypatch, caplog):
    c = Client(server)
    calls = _one_shot_failure(monkeypatch, server.layer, "get", RuntimeError("secret internal detail"))
    with caplog.at_level("ERROR", logger="emulator.frontends.netconf.server"):
        reply = c.rpc(get(lic("<state><version/></state>")))
    assert calls == [1]
    assert reply.get("message-id") == str(c.mid)
    errors = reply.findall("nc:rpc-error", NS)
    assert len(errors) == 1
    err = errors[0]
    assert err.findtext("nc:error-type", namespaces=NS) == "application"
    assert err.findtext("nc:error-tag", namespaces=NS) == "operation-failed"
    assert err.findtext("nc:error-severity", namespaces=NS) == "error"
    message = err.findtext("nc:error-message", namespaces=NS)
    assert message and len(message) < 200
    assert "Traceback" not in message and "secret internal detail" not in message
    # the traceback went to the log, once
    logged = [r for r in caplog.records if r.exc_info]
    assert len(logged) == 1 and "secret internal detail" in str(logged[0].exc_info[1])
    # the same session goes on serving
    assert not c.closed and server.session(c.session.id) is c.session
    data = c.ok(get(lic("<state><version/></state>")))
    assert data.findtext(".//csl:version", namespaces=NS)
    stats = c.ok(get(f'<netconf-state xmlns="{NCM}"><statistics/></netconf-state>'))
    assert stats.findtext(".//ncm:out-rpc-errors", namespaces=NS) == "1"
    assert stats.findtext(".//ncm:dropped-sessions", namespaces=NS) == "0"


def test_a_reply_that_cannot_be_encoded_is_an_rpc_error_not_a_closed_session(server, monkeypatch):
    c = Client(server)
    original = server.render
    stats = get(f'<netconf-state xmlns="{NCM}"><statistics/></netconf-state>')

    def render(qname, value):
        return original(qname, value).replace("</in-rpcs>", "\ud800</in-rpcs>", 1)   # a lone surrogate
    monkeypatch.setattr(server, "render", render)
    err = c.error(stats, "operation-failed", "application")
    assert "\ud800" not in err.findtext("nc:error-message", namespaces=NS)
    monkeypatch.setattr(server, "render", original)
    assert c.ok(stats).findtext(".//ncm:in-rpcs", namespaces=NS) == "2"


def test_an_unexpected_error_in_a_yang_rpc_keeps_the_session(server, monkeypatch):
    c = Client(server)
    _one_shot_failure(monkeypatch, server.layer, "invoke", KeyError("boom"))
    c.error(f'<advance-clock xmlns="{CTL}"><seconds>60</seconds></advance-clock>', "operation-failed",
            "application")
    c.ok(f'<advance-clock xmlns="{CTL}"><seconds>60</seconds></advance-clock>')


@pytest.mark.parametrize("sid", ["9" * 5000, "1" + "0" * 4300, "4294967296", "²", "٣", "+3", " -1 ", "0x1"])
def test_kill_session_with_an_unusable_session_id_is_invalid_value(server, sid):
    a, b = Client(server), Client(server)
    err = a.error(f"<kill-session><session-id>{sid}</session-id></kill-session>", "invalid-value")
    assert err.findtext("nc:error-info/nc:bad-element", namespaces=NS) == "session-id"
    assert len(err.findtext("nc:error-message", namespaces=NS)) < 200
    assert not a.closed and not b.closed
    a.ok(get(lic("<state><version/></state>")))
    a.ok(f"<kill-session><session-id> {b.session.id} </session-id></kill-session>")
    assert b.closed


@pytest.mark.parametrize("param", ["startTime", "stopTime"])
def test_create_subscription_time_parameters_with_huge_numbers(server, param):
    start = "" if param == "startTime" else "<startTime>2023-12-31T00:00:00Z</startTime>"
    c = Client(server)
    c.error(f'<create-subscription xmlns="{NOTIF}">{start}<{param}>{"9" * 5000}-01-01T00:00:00Z</{param}>'
            "</create-subscription>", "bad-element")
    assert not c.closed
    c.ok(get(lic("<state><version/></state>")))
    # a long fraction of a second is a valid yang:date-and-time
    c.ok(f'<create-subscription xmlns="{NOTIF}">{start}<{param}>2023-12-31T00:00:01.{"9" * 5000}Z</{param}>'
         "</create-subscription>")


@pytest.mark.parametrize("body, tag", [
    ("<get_config><source><running/></source></get_config>", "unknown-element"),   # no rpc_ name games
    ("<close_session/>", "unknown-element"),
    ("<rpc_get/>", "unknown-element"),
    ("<__class__/>", "unknown-element"),
    ("<copy-config><target><running/></target><source><running/></source></copy-config>",
     "operation-not-supported"),
    ("<commit/>", "operation-not-supported"),
    ("<discard-changes/>", "operation-not-supported"),
    (f'<get xmlns="{NCM}"/>', "operation-not-supported"),                          # right name, wrong namespace
    (f'<close-session xmlns="{NOTIF}"/>', "operation-not-supported"),
    ("<get-schema><identifier>cisco-ia</identifier></get-schema>", "unknown-element"),
    ("<create-subscription/>", "unknown-element"),
    (f'<get-config xmlns="{CSL}"/>', "operation-not-supported"),
])
def test_operations_are_found_by_name_and_namespace(server, body, tag):
    c = Client(server)
    c.error(body, tag)
    assert not c.closed
    c.ok(get(lic("<state><version/></state>")))


def test_yang_rpc_and_edit_with_a_5000_digit_integer_keep_the_session(server):
    # The value check belongs to the shared data layer (decode); whatever it answers, the session lives on.
    c = Client(server)
    reply = c.rpc(f'<advance-clock xmlns="{CTL}"><seconds>{"9" * 5000}</seconds></advance-clock>')
    assert reply.find("nc:rpc-error", NS) is not None
    reply = c.rpc(edit(lic(f'<config><usage><interval>{"9" * 5000}</interval></usage></config>')))
    assert reply.find("nc:rpc-error", NS) is not None
    assert not c.closed
    c.ok(get(lic("<state><version/></state>")))


@pytest.mark.parametrize("filter_xml", [
    "",
    f'<netconf-state xmlns="{NCM}"/>',
    f'<netconf-state xmlns="{NCM}"><schemas/></netconf-state>',
    f'<netconf-state xmlns="{NCM}"><statistics/><capabilities/></netconf-state>',
    f'<netconf-state xmlns="{NCM}"><schemas><schema><identifier>cisco-ia</identifier></schema></schemas>'
    "</netconf-state>",
])
def test_netconf_state_rendering_reuses_its_static_parts_exactly(server, filter_xml):
    """The capabilities and schemas are rendered once; every reply is what encoding the whole data gives."""
    from emulator.frontends.netconf.server import NETCONF_STATE
    from emulator.yangdata import to_xml
    from emulator.yangdata.codec import xml_string
    c = Client(server)
    value = server.netconf_state()
    node = server.tops[NETCONF_STATE]
    assert server.render(NETCONF_STATE, value) == xml_string(to_xml(node, value))
    reply = c.ok(get(filter_xml) if filter_xml else "<get/>")
    state = reply.find(".//ncm:netconf-state", NS)
    assert state is not None
    names = [etree.QName(e).localname for e in state]
    assert names == [n for n in ("capabilities", "datastores", "schemas", "sessions", "statistics") if n in names]
    if "schemas" in filter_xml and "cisco-ia" not in filter_xml:
        assert names == ["schemas"] and len(state.findall(".//ncm:schema", NS)) > 10
    if "cisco-ia" in filter_xml:
        assert [s.findtext("ncm:identifier", namespaces=NS) for s in state.iterfind(".//ncm:schema", NS)] == \
            ["cisco-ia"]
    if not filter_xml:
        assert names == ["capabilities", "datastores", "schemas", "sessions", "statistics"]
        caps = [e.text for e in state.iterfind("ncm:capabilities/ncm:capability", NS)]
        assert caps == [e.text for e in c.server_hello.iter(f"{{{NC}}}capability")]


def test_a_transport_that_fails_while_sending_ends_the_session_quietly(server, caplog):
    c = Client(server)

    def broken(_data):
        raise OSError("connection reset")
    c.session._send_raw = broken
    with caplog.at_level("ERROR", logger="emulator.frontends.netconf.server"):
        assert c.session.receive(frame_chunked(f'<rpc xmlns="{NC}" message-id="1"><get/></rpc>'.encode())) is False
    assert c.session.closed and server.session(c.session.id) is None
    assert server.stats["dropped-sessions"] == 1
    assert not [r for r in caplog.records if r.exc_info]
