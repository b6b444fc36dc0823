"""Issue 14 #2: an XPath filter cannot freeze the device. Extension functions (EXSLT `re:test` and the
like; IOS XE's XPath has none) are refused with operation-not-supported, every <get> filter evaluation is
bounded in time (resource-denied), and other sessions (NETCONF, RESTCONF) are served while one evaluates."""

from __future__ import annotations

import sys
import threading
import time
from pathlib import Path

import pytest
import requests
from lxml import etree

from emulator.frontends.netconf.server import NetconfServer
from emulator.frontends.restconf import start_restconf

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "unit"))
from test_netconf_session import CSL, NC, Client  # noqa: E402

pytestmark = pytest.mark.filterwarnings("ignore::urllib3.exceptions.InsecureRequestWarning")
RE = "http://exslt.org/regular-expressions"
# four nested count() over //*: hours of libxml2 work on a device's <get> data
HEAVY = "//*[count(//*[count(//*[count(//*[. = 'x']) = 0]) = 0]) = 0]"


def xpath_get(select: str, prefixes: str = "") -> str:
    select = select.replace("&", "&amp;").replace("<", "&lt;").replace('"', "&quot;")
    return f'<get><filter type="xpath"{prefixes} select="{select}"/></get>'


@pytest.fixture
def device(make_device):
    dev = make_device()
    dev.set_user("admin", "admin", 15)
    dev.configure({"custom_id": "a" * 22 + "!"})
    return dev


@pytest.mark.parametrize("select, prefixes", [
    ("//*[re:test(text(), '^(a+)+$')]", f' xmlns:re="{RE}"'),
    ("//*[re:match(., '(a|aa)+$')]", f' xmlns:re="{RE}"'),
    ("//*[str:tokenize(., 'a')]", ' xmlns:str="http://exslt.org/strings"'),
    ("dyn:evaluate('//*')", ' xmlns:dyn="http://exslt.org/dynamic"'),
    ("/csl:licensing[math:max(//*) > 0]", f' xmlns:csl="{CSL}" xmlns:math="http://exslt.org/math"'),
])
def test_extension_functions_are_refused_at_once(device, select, prefixes):
    server = NetconfServer(device)
    c = Client(server)
    revision = device.snapshot().revision
    started = time.monotonic()
    err = c.error(xpath_get(select, prefixes), "operation-not-supported", "application")
    assert time.monotonic() - started < 1.0
    assert "extension function" in err.findtext(f"{{{NC}}}error-message")
    assert device.snapshot().revision == revision
    c.ok(xpath_get("/licensing/config/custom-id"))                  # the session goes on


def test_a_slow_filter_is_bounded_and_others_are_served_meanwhile(device, tmp_path):
    server = NetconfServer(device, xpath_timeout=1.5)
    web = start_restconf(device, host="127.0.0.1", port=0, state_dir=tmp_path / "web")
    try:
        slow, other = Client(server), Client(server)
        result = {}

        def heavy():
            started = time.monotonic()
            result["reply"] = slow.rpc(xpath_get(HEAVY))
            result["took"] = time.monotonic() - started
        worker = threading.Thread(target=heavy)
        worker.start()
        time.sleep(0.3)                                              # it is evaluating now
        latencies = []
        session = requests.Session()
        session.verify, session.trust_env, session.auth = False, False, ("admin", "admin")
        while worker.is_alive() and len(latencies) < 20:
            t = time.monotonic()
            other.ok(f'<get><filter type="subtree"><licensing xmlns="{CSL}"><state/></licensing></filter></get>')
            r = session.get(web.https.url + "/restconf/data/cisco-smart-license:licensing/state", timeout=10,
                            headers={"Accept": "application/yang-data+json"})
            assert r.status_code == 200
            latencies.append(time.monotonic() - t)
        worker.join(30)
        assert latencies and max(latencies) < 1.0, latencies
        err = result["reply"].find(f"{{{NC}}}rpc-error")
        assert err is not None and err.findtext(f"{{{NC}}}error-tag") == "resource-denied", \
            etree.tostring(result["reply"])
        assert 1.5 <= result["took"] < 4.0
        slow.ok(xpath_get("/licensing/config/custom-id"))             # the session and the evaluator go on
    finally:
        web.stop()


def test_ordinary_xpath_filters_still_work(device):
    server = NetconfServer(device)
    c = Client(server)
    reply = c.ok(xpath_get("/licensing/config/custom-id"))
    assert reply.findtext(f".//{{{CSL}}}custom-id") == "a" * 22 + "!"
    reply = c.ok(xpath_get("/csl:licensing/csl:config[csl:custom-id = 'nope']", f' xmlns:csl="{CSL}"'))
    assert reply.find(f".//{{{CSL}}}config") is None
    c.error(xpath_get("count(//*)"), "invalid-value", "application")
    c.error(xpath_get("//*[$x]"), "invalid-value", "application")
    c.error(xpath_get("//*[foo()]"), "invalid-value", "application")
