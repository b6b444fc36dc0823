"""NETCONF driven by classic scrapli-netconf (system transport = OpenSSH would need a TTY; paramiko here):
it sends its hello as "\\n<?xml ...>", which RFC 6241/6242 allow (whitespace before the XML declaration of
a message), and then every RPC."""

import pytest
from lxml import etree

scrapli_netconf = pytest.importorskip("scrapli_netconf")
from scrapli_netconf.driver import NetconfDriver  # noqa: E402

from emulator.frontends.netconf import NetconfService  # noqa: E402
from emulator.runtime import DeviceOptions, open_device  # noqa: E402

CSL = "http://cisco.com/ns/yang/cisco-smart-license"


@pytest.fixture
def service(tmp_path):
    device = open_device(tmp_path / "state", DeviceOptions(users={"admin": "admin"}, frozen_clock=True))
    svc = NetconfService(device, "127.0.0.1", 0, tmp_path / "state").start()
    yield svc
    svc.stop()
    device.store.close()


@pytest.mark.parametrize("strip", [False, True], ids=["base1.1", "base1.0"])
def test_scrapli_netconf_hello_with_leading_newline_then_rpcs(service, strip):
    conn = NetconfDriver(host="127.0.0.1", port=service.port, auth_username="admin", auth_password="admin",
                         auth_strict_key=False, transport="paramiko", timeout_socket=10, timeout_transport=20,
                         timeout_ops=20, strip_namespaces=strip,
                         preferred_netconf_version="1.0" if strip else None)
    conn.open()
    try:
        reply = conn.get(filter_=f'<licensing xmlns="{CSL}"><state><state-info><udi/></state-info></state>'
                                 "</licensing>", filter_type="subtree")
        assert not reply.failed, reply.result
        root = etree.fromstring(reply.result.encode())
        pids = [e.text for e in root.iter() if etree.QName(e).localname == "pid"]
        assert pids == ["C8000V"]
        reply = conn.get_config(source="running")
        assert not reply.failed, reply.result
        assert "<hostname>Router</hostname>" in reply.result
    finally:
        conn.close()
