"""The guide's configuration procedures typed command by command into the CLI, as a network engineer or a
script following the guide does: every command is accepted (no `% Invalid input`), lands in
`show running-config` in IOS's order and indentation, goes away with its `no` form, and does what it does on
a router (`ip host cslu-local` for the push client, `aaa` for the login privilege, `ip http`, ...).

Where the guide's example cannot be typed as printed on any IOS device, the test says so next to the step:
- `end` where the guide says "exits interface configuration mode and enters global configuration mode" is
  typed as `exit` (what does that; `end` leaves configuration mode, L7913, L7996);
- `vrf forwarding <vrf>` needs the VRF defined first (`vrf definition`), which the procedures assume;
- `ip name-server vrf Mgmt-vrf 192.168.1.100 192.168.1.200 192.168.1.300` (L7991): the last is no IPv4
  address and IOS refuses it; the test checks that refusal and types the first two.
"""

from __future__ import annotations

import pytest

from emulator.engine.netconfig import HostEntry
from test_cli_support import router, router_factory  # noqa: F401

ERRORS = ("% Invalid input", "% Incomplete command", "% Ambiguous command", "% Unrecognized")


def walk(sh, steps):
    """Types each (guide line, command); returns {command: output}. Fails on any IOS parser error."""
    out = {}
    for line_no, command in steps:
        text = sh.run(command)
        assert not any(e in text for e in ERRORS), f"L{line_no} {command!r}: {text}"
        out[command] = text
    return out


def copy_run_start(sh) -> str:
    """`copy running-config startup-config`, answering its `Destination filename [startup-config]?` with Enter."""
    sh.send("copy running-config startup-config\n")
    sh.read_until(lambda b: b.endswith("Destination filename [startup-config]? "))
    text = sh.raw("").replace("\r\n", "\n")
    return text[:text.rindex("\n") + 1].lstrip("\n")


def running(sh) -> str:
    return sh.run("show running-config")


def section(text: str, head: str) -> list[str]:
    lines = text.split("\n")
    i = lines.index(head)
    out = [head]
    for ln in lines[i + 1:]:
        if not ln.startswith(" "):
            break
        out.append(ln)
    return out


def test_L8099_setting_up_a_connection_to_cssm(router):
    sh = router.shell(quiet=True)
    walk(sh, [
        (8107, "configure terminal"),
        (8108, "ip name-server 209.165.201.1 209.165.200.225 209.165.201.14 209.165.200.230"),
        (8109, "ip name-server vrf SLP_VRF 209.165.201.1 209.165.200.225 209.165.201.14 209.165.200.230"),
        (8114, "license smart vrf SLP_VRF"),
        (8115, "ip domain lookup source-interface Vlan100"),
        (8116, "ip domain name example.com"),
        (8117, "ip host tools.cisco.com 209.165.201.30"),
        (8118, "interface Vlan100"),
        (8118, "ip address 192.0.2.10 255.255.255.0"),
        (8118, "exit"),
        (8119, "ntp server 198.51.100.100 version 2 prefer"),
        (8127, "ip route 192.0.2.0 255.255.255.255 192.0.2.1"),
        (8128, "ip http client source-interface Vlan100"),
        (8131, "exit"),
    ])
    assert sh.prompt == "Router#"
    assert copy_run_start(sh) == "Building configuration...\n[OK]\n"
    rc = running(sh)
    lines = rc.split("\n")
    expected_order = [
        "ip name-server 209.165.201.1 209.165.200.225 209.165.201.14 209.165.200.230",
        "ip name-server vrf SLP_VRF 209.165.201.1 209.165.200.225 209.165.201.14 209.165.200.230",
        "ip host tools.cisco.com 209.165.201.30",
        "ip domain lookup source-interface Vlan100",
        "ip domain name example.com",
        "interface Vlan100",
        " ip address 192.0.2.10 255.255.255.0",
        "ip http client source-interface Vlan100",
        "ip route 192.0.2.0 255.255.255.255 192.0.2.1",
        "license smart vrf SLP_VRF",
        "ntp server 198.51.100.100 version 2 prefer",
    ]
    positions = [lines.index(x) for x in expected_order]
    assert positions == sorted(positions), rc
    st = router.device.st.system
    assert [h.name for h in st.hosts] == ["tools.cisco.com"]
    # every one of them goes away with its `no` form
    sh.run("configure terminal")
    walk(sh, [(0, "no ip name-server"), (0, "no ip name-server vrf SLP_VRF 209.165.201.1 209.165.200.225 "
                                             "209.165.201.14 209.165.200.230"),
              (0, "no ip domain lookup source-interface"), (0, "no ip domain name"),
              (0, "no ip host tools.cisco.com"), (0, "no interface Vlan100"),
              (0, "no ntp server 198.51.100.100"), (0, "no ip route 192.0.2.0 255.255.255.255 192.0.2.1"),
              (0, "no ip http client source-interface"), (0, "no license smart vrf"), (0, "end")])
    rc = running(sh)
    for text in expected_order:
        assert text not in rc.split("\n"), text
    assert router.device.st.system.hosts == () and router.device.st.system.interfaces == ()


def test_L7904_cslu_product_instance_initiated_reachability(router):
    sh = router.shell(quiet=True)
    walk(sh, [
        (7917, "configure terminal"),
        (0, "vrf definition SLP_VRF"), (0, "address-family ipv4"), (0, "exit-address-family"), (0, "exit"),
        (7918, "interface gigabitethernet0/0"),
        (7919, "vrf forwarding SLP_VRF"),
        (7920, "ip address 192.168.0.1 255.255.0.0"),
        (7921, "negotiation auto"),
        (7922, "exit"),
        (7923, "ip http client source-interface gigabitethernet0/0"),
        (7924, "ip route vrf SLP_VRF 192.168.0.1 255.255.0.0 192.168.255.1"),
        (7925, "ip name-server vrf SLP_VRF 173.37.137.85"),
        (7929, "license smart vrf SLP_VRF"),
        (7930, "ip domain lookup source-interface gigabitethernet0/0"),
        (7931, "ip domain name example.com"),
        (0, "end"),
    ])
    rc = running(sh)
    assert section(rc, "vrf definition SLP_VRF") == ["vrf definition SLP_VRF", " !", " address-family ipv4",
                                                     " exit-address-family"]
    assert section(rc, "interface GigabitEthernet0/0") == [
        "interface GigabitEthernet0/0", " vrf forwarding SLP_VRF", " ip address 192.168.0.1 255.255.0.0",
        " negotiation auto"]
    assert "ip http client source-interface GigabitEthernet0/0" in rc.split("\n")
    assert "ip route vrf SLP_VRF 192.168.0.1 255.255.0.0 192.168.255.1" in rc.split("\n")


def test_L7981_cslu_initiated_reachability_and_aaa(router):
    sh = router.shell(quiet=True)
    walk(sh, [
        (7988, "configure terminal"),
        (7989, "aaa new model"),
        (7990, "aaa authentication login default local"),
        (7991, "aaa authorization exec default local"),
        (7996, "ip routing"),
    ])
    refused = sh.run("ip name-server vrf Mgmt-vrf 192.168.1.100 192.168.1.200 192.168.1.300")
    assert refused.endswith("% Invalid input detected at '^' marker.\n")
    assert refused.index("^") == len("Router(config)#ip name-server vrf Mgmt-vrf 192.168.1.100 192.168.1.200 ")
    walk(sh, [
        (7997, "ip name-server vrf Mgmt-vrf 192.168.1.100 192.168.1.200"),
        (7998, "ip domain lookup source-interface gigabitethernet0/0"),
        (7999, "ip domain name vrf Mgmt-vrf cisco.com"),
        (8000, "no username admin"),
        (8005, "username admin privilege 15 password 0 lab"),
        (0, "vrf definition Mgmt-vrf"), (0, "exit"),
        (8006, "interface gigabitethernet0/0"),
        (8007, "vrf forwarding Mgmt-vrf"),
        (8008, "ip address 192.168.0.1 255.255.0.0"),
        (8009, "negotiation auto"),
        (8010, "no shutdown"),
        (8013, "exit"),
        (8014, "ip http server"),
        (8015, "ip http authentication local"),
        (8016, "ip http secure-server"),
        (8017, "ip http max-connections 16"),
        (8018, "ip tftp source-interface GigabitEthernet0/0"),
        (8019, "ip route vrf mgmt-vrf 192.168.0.1 255.255.0.0 192.168.255.1"),
        (8020, "logging host 172.25.33.20 vrf Mgmt-vrf"),
        (8021, "end"),
    ])
    out = sh.run("show ip http server session-module")
    assert "SL_HTTP" in out
    lines = running(sh).split("\n")
    block = lines[lines.index("aaa new-model"):lines.index("aaa session-id common") + 1]
    assert block == ["aaa new-model", "!", "!", "aaa authentication login default local",
                     "aaa authorization exec default local", "!", "!", "aaa session-id common"]
    for text in ("ip name-server vrf Mgmt-vrf 192.168.1.100 192.168.1.200", "ip domain name vrf Mgmt-vrf cisco.com",
                 "username admin privilege 15 password 0 lab", "ip http server", "ip http authentication local",
                 "ip http secure-server", "ip http max-connections 16", "ip tftp source-interface GigabitEthernet0/0",
                 "ip route vrf mgmt-vrf 192.168.0.1 255.255.0.0 192.168.255.1", "logging host 172.25.33.20 vrf Mgmt-vrf"):
        assert text in lines, text
    assert lines.index("ip http secure-server") < lines.index("ip tftp source-interface GigabitEthernet0/0")
    # the new password is the one that logs in, with privilege 15 (aaa authorization exec default local)
    sh2 = router.shell(password="lab")
    assert sh2.prompt == "Router#"


def test_L8132_smart_transport_through_an_https_proxy(router):
    sh = router.shell(quiet=True)
    walk(sh, [(8142, "configure terminal"), (8143, "license smart transport smart"),
              (8144, "license smart url default"), (8149, "license smart proxy address 192.168.0.1"),
              (8149, "license smart proxy port 3128"), (8150, "exit")])
    assert copy_run_start(sh) == "Building configuration...\n[OK]\n"
    cfg = router.device.st.config
    assert (cfg.proxy_address, cfg.proxy_port) == ("192.168.0.1", 3128)


def test_L8154_call_home_service_for_direct_cloud_access(router):
    sh = router.shell(quiet=True)
    walk(sh, [
        (8169, "configure terminal"),
        (8170, "license smart transport callhome"),
        (8171, "license smart url https://tools.cisco.com/its/service/other/services/DDEService"),
        (8172, "service call-home"),
        (8173, "call-home"),
        (8173, "contact-email-addr username@example.com"),
        (8174, "profile CiscoTAC-1"),
        (8179, "active"),
        (8179, "destination transport-method http"),
        (8179, "no destination transport-method email"),
        (8180, "destination address http https://tools.cisco.com/its/service/otbe/services/DCEService"),
        (8181, "exit"),
        (8182, "end"),
    ])
    assert sh.prompt == "Router#"
    rc = running(sh)
    assert "service call-home" in rc.split("\n")[:8]
    assert section(rc, "call-home") == [
        "call-home", " contact-email-addr username@example.com", ' profile "CiscoTAC-1"',
        "  destination transport-method http", "  no destination transport-method email",
        "  destination address http https://tools.cisco.com/its/service/otbe/services/DCEService"]
    sh.run("configure terminal")
    walk(sh, [(8180, "call-home"), (8180, "profile CiscoTAC-1"),
              (8180, "no destination address http https://tools.cisco.com/its/service/otbe/services/DCEService"),
              (0, "no active"), (0, "end")])
    assert section(running(sh), "call-home")[2:] == [' profile "CiscoTAC-1"', "  no active",
                                                     "  destination transport-method http",
                                                     "  no destination transport-method email"]
    # through a proxy (L8185-8215)
    sh.run("configure terminal")
    walk(sh, [(8201, "license smart transport callhome"), (8202, "service call-home"), (8203, "call-home"),
              (8204, "http-proxy 198.51.100.10 port 5000"), (8207, "exit"), (8208, "exit")])
    assert ' http-proxy "198.51.100.10" port 5000' in section(running(sh), "call-home")
    sh.run("configure terminal")
    walk(sh, [(0, "no call-home"), (0, "no service call-home"), (0, "end")])
    rc = running(sh)
    assert "call-home" not in rc.split("\n") and "service call-home" not in rc.split("\n")


@pytest.mark.parametrize("first", [8258, 8471])
def test_ssm_on_prem_reachability_and_trustpoint(router, first):
    """L8258-8296 (product instance-initiated, steps 14-17) and L8471-8530 (SSM On-Prem-initiated, steps
    25-28), and the troubleshooting snippet L13509-13514."""
    sh = router.shell(quiet=True)
    walk(sh, [(first, "configure terminal"),
              (8291, "crypto pki trustpoint SLA-TrustPoint"),
              (8292, "enrollment terminal"),
              (8293, "revocation-check none"),
              (8296, "exit"), (8296, "exit")])
    assert sh.prompt == "Router#"
    assert copy_run_start(sh) == "Building configuration...\n[OK]\n"
    assert section(running(sh), "crypto pki trustpoint SLA-TrustPoint") == [
        "crypto pki trustpoint SLA-TrustPoint", " enrollment terminal", " revocation-check none"]
    sh.run("configure terminal")
    walk(sh, [(13510, "crypto pki trustpoint SLA-TrustPoint"), (13511, "enrollment terminal"),
              (13512, "revocation-check none"), (13513, "end")])
    assert sh.prompt == "Router#"


def test_ip_host_cslu_local_resolves_for_the_push_client(router):
    """L1402-1412: the push client finds CSLU at `cslu-local` (or `cslu-local.<domain>`)."""
    dev = router.device
    assert dev.snapshot().transport_url() == "http://cslu-local:8182/cslu/v1/pi"
    sh = router.shell(quiet=True)
    walk(sh, [(0, "configure terminal"), (0, "ip host cslu-local 127.0.0.5"), (0, "end")])
    assert "ip host cslu-local 127.0.0.5" in running(sh).split("\n")
    assert dev.snapshot().transport_url() == "http://127.0.0.5:8182/cslu/v1/pi"
    sh.run("configure terminal")
    walk(sh, [(0, "no ip host cslu-local"), (0, "ip domain name example.com"),
              (0, "ip host cslu-local.example.com 127.0.0.6"), (0, "end")])
    assert dev.snapshot().transport_url() == "http://127.0.0.6:8182/cslu/v1/pi"
    # a mapping in the licensing VRF wins over the global one
    dev.configure({"vrf": "SLP_VRF"}, system={"hosts": dev.st.system.hosts + (HostEntry("cslu-local", "127.0.0.7",
                                                                                        "SLP_VRF"),)})
    assert dev.snapshot().transport_url() == "http://127.0.0.7:8182/cslu/v1/pi"

    class Recorder:
        urls = []

        def report_usage(self, url, usage):
            self.urls.append(url)
            return "OK_POLL:1"

        def __getattr__(self, name):
            def call(url, *args):
                self.urls.append(url)
                raise __import__("emulator.engine.comm", fromlist=["CommError"]).CommError("refused")
            return call
    rec = Recorder()
    dev.attach_outbound(rec)
    try:
        dev.sync()
    except Exception:
        pass
    assert rec.urls and set(rec.urls) == {"http://127.0.0.7:8182/cslu/v1/pi"}


def test_aaa_new_model_without_exec_authorization_lands_at_level_1(router):
    sh = router.shell(quiet=True)
    walk(sh, [(0, "configure terminal"), (0, "aaa new-model"), (0, "aaa authentication login default local"),
              (0, "end")])
    sh2 = router.shell()
    assert sh2.prompt == "Router>"                 # privilege 15 is not handed out without exec authorization
    sh.run("configure terminal")
    walk(sh, [(0, "aaa authorization exec default local"), (0, "end")])
    assert router.shell().prompt == "Router#"
    sh.run("configure terminal")
    walk(sh, [(0, "no aaa new-model"), (0, "end")])
    assert "no aaa new-model" in running(sh).split("\n")
    # without aaa new-model the method lists are not offered
    sh.run("configure terminal")
    assert sh.run("aaa authorization exec default local").endswith("% Invalid input detected at '^' marker.\n")
    sh.run("end")


def test_management_commands_ssh_vty_netconf_restconf(router):
    sh = router.shell(quiet=True)
    walk(sh, [(0, "configure terminal"), (0, "ip ssh version 2"), (0, "line vty 0 4"), (0, "transport input ssh"),
              (0, "login local"), (0, "exit"), (0, "no netconf-yang"), (0, "no restconf"), (0, "end")])
    rc = running(sh).split("\n")
    assert "ip ssh version 2" in rc
    vty = rc.index("line vty 0 4")
    assert rc[vty + 1:vty + 3] == [" login local", " transport input ssh"]
    assert "netconf-yang" not in rc and "restconf" not in rc
    st = router.device.st.system
    assert (st.netconf_yang, st.restconf, st.ssh_version) == (False, False, 2)
    sh.run("configure terminal")
    walk(sh, [(0, "netconf-yang"), (0, "restconf"), (0, "no ip ssh version"), (0, "line vty 0 4"),
              (0, "transport input all"), (0, "end")])
    rc = running(sh).split("\n")
    assert rc[-4:-1] == ["netconf-yang", "restconf", "end"] and "ip ssh version 2" not in rc
    assert " transport input all" in rc


def test_controller_mode_answers_as_a_router_without_sd_wan(router):
    sh = router.shell(quiet=True)
    out = sh.run("controller-mode enable")
    assert out == " " * len("Router#") + "^\n% Invalid input detected at '^' marker.\n"


def test_bad_values_are_refused_and_change_nothing(router):
    sh = router.shell(quiet=True)
    sh.run("configure terminal")
    before = router.device.st.system
    assert sh.run("ip host cslu-local 1.2.3").startswith("% Invalid")
    assert sh.run("interface Vlan100").strip() == ""
    assert sh.run("ip address 10.0.0.1 255.0.255.0").startswith("% Bad mask")
    assert sh.run("vrf forwarding NOPE") == "% VRF NOPE not configured.\n"
    sh.run("end")
    after = router.device.st.system
    assert after.hosts == before.hosts
    assert [i.address for i in after.interfaces] == [None]


@pytest.mark.filterwarnings("ignore::urllib3.exceptions.InsecureRequestWarning")
def test_ip_http_netconf_yang_and_restconf_commands_turn_the_front_ends_on_and_off(router, tmp_path):
    """`ip http server|secure-server`, `restconf` and `netconf-yang` typed on the CLI decide what the HTTP
    listeners and the NETCONF server answer (guide L8014-8016: the native REST CSLU pulls from)."""
    import paramiko
    import requests
    from emulator.frontends.netconf import NetconfService
    from emulator.frontends.restconf import start_restconf
    dev = router.device
    web = start_restconf(dev, host="127.0.0.1", port=0, state_dir=tmp_path / "web", http_port=0)
    nc = NetconfService(dev, "127.0.0.1", 0, tmp_path / "nc").start()
    s = requests.Session()
    s.trust_env, s.verify, s.auth = False, False, ("admin", "admin")

    def status(url, path):
        return s.get(url + path, timeout=10).status_code

    def netconf_hello() -> bool:
        t = paramiko.Transport(("127.0.0.1", nc.port))
        try:
            t.connect(username="admin", password="admin")
            ch = t.open_session(timeout=10)
            try:
                ch.invoke_subsystem("netconf")
            except paramiko.SSHException:                    # `no netconf-yang`: the channel is closed
                return False
            ch.settimeout(10)
            data = b""
            while b"]]>]]>" not in data:
                chunk = ch.recv(65536)
                if not chunk:
                    return False
                data += chunk
            return b"<hello" in data
        finally:
            t.close()
    try:
        sh = router.shell(quiet=True)
        assert status(web.https.url, "/smartlic-service/list") == 200
        assert status(web.http.url, "/smartlic-service/list") == 200
        assert netconf_hello()
        walk(sh, [(0, "configure terminal"), (0, "no ip http server"), (0, "no ip http secure-server"),
                  (0, "no restconf"), (0, "no netconf-yang"), (0, "end")])
        assert status(web.http.url, "/smartlic-service/list") == 503
        assert status(web.https.url, "/smartlic-service/list") == 503
        assert not netconf_hello()
        walk(sh, [(0, "configure terminal"), (8014, "ip http server"), (8016, "ip http secure-server"),
                  (0, "end")])
        assert status(web.http.url, "/smartlic-service/list") == 200
        assert status(web.https.url, "/restconf/data/cisco-smart-license:licensing") == 404   # no restconf
        walk(sh, [(0, "configure terminal"), (0, "restconf"), (0, "netconf-yang"), (0, "end")])
        assert status(web.https.url, "/restconf/data/cisco-smart-license:licensing/state/state-info/udi") == 200
        assert netconf_hello()
    finally:
        nc.stop()
        web.stop()


def test_crypto_pki_authenticate_takes_a_pasted_ca_certificate(router):
    """`crypto pki authenticate SLA-TrustPoint` after `enrollment terminal`: the CA certificate pasted in
    base64, its fingerprints shown, accepted with yes."""
    import base64
    import datetime
    import hashlib

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "Licensing Root CA")])
    now = datetime.datetime(2024, 1, 1, tzinfo=datetime.timezone.utc)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(1).not_valid_before(now).not_valid_after(now + datetime.timedelta(days=3650))
            .sign(key, hashes.SHA256()))
    der = cert.public_bytes(serialization.Encoding.DER)
    b64 = base64.b64encode(der).decode()
    sh = router.shell(quiet=True)
    walk(sh, [(0, "configure terminal"), (8291, "crypto pki trustpoint SLA-TrustPoint"),
              (8292, "enrollment terminal"), (8293, "revocation-check none"), (0, "exit")])
    sh.send("crypto pki authenticate SLA-TrustPoint\n")
    sh.read_until(lambda b: 'End with a blank line or the word "quit" on a line by itself' in b)
    for i in range(0, len(b64), 64):
        sh.send(b64[i:i + 64] + "\n")
    sh.send("quit\n")
    text = sh.read_until(lambda b: b.endswith("% Do you accept this certificate? [yes/no]: ")).replace("\r\n", "\n")
    md5 = hashlib.md5(der).hexdigest().upper()
    assert "Fingerprint MD5: " + " ".join(md5[i:i + 8] for i in range(0, 32, 8)) in text
    out = sh.raw("yes").replace("\r\n", "\n")
    assert "Trustpoint CA certificate accepted.\n% Certificate successfully imported\n" in out
    [tp] = router.device.st.system.trustpoints
    assert tp.ca_subject == "CN=Licensing Root CA" and tp.ca_fingerprint.replace(" ", "") == md5
    # the certificate itself is kept: the HTTPS client (`copy https:`) verifies servers against it
    assert tp.ca_certificate == cert.public_bytes(serialization.Encoding.PEM).decode()
    sh.run("end")


def test_http_client_proxy_and_interface_name_with_a_space(router):
    sh = router.shell(quiet=True)
    walk(sh, [(0, "configure terminal"), (0, "ip http client proxy-server 192.0.2.99 proxy-port 3128"),
              (10595, "interface GigabitEthernet 0/0/0"), (0, "description uplink to CSLU"),
              (0, "ip address 192.0.2.10 255.255.255.0"), (0, "shutdown"), (0, "exit"),
              (5425, "ip http client source-interface gigabitethernet 0/0/2"), (0, "end")])
    rc = running(sh)
    assert "ip http client proxy-server 192.0.2.99 proxy-port 3128" in rc.split("\n")
    assert "ip http client source-interface GigabitEthernet0/0/2" in rc.split("\n")
    assert section(rc, "interface GigabitEthernet0/0/0") == [
        "interface GigabitEthernet0/0/0", " description uplink to CSLU", " ip address 192.0.2.10 255.255.255.0",
        " shutdown"]
    sh.run("configure terminal")
    walk(sh, [(0, "no ip http client proxy-server"), (0, "interface GigabitEthernet0/0/0"), (0, "no shutdown"),
              (0, "no description"), (0, "no ip address"), (0, "end")])
    rc = running(sh)
    assert section(rc, "interface GigabitEthernet0/0/0") == ["interface GigabitEthernet0/0/0", " no ip address"]
    assert not any(ln.startswith("ip http client proxy-server") for ln in rc.split("\n"))


def test_L10592_example_for_using_vrf(router):
    sh = router.shell(quiet=True)
    walk(sh, [(0, "configure terminal"),
              (10593, "vrf definition SLP_VRF"), (10594, "address-family ipv4"), (10595, "exit"),
              (10596, "interface GigabitEthernet 0/0/0"), (10597, "no shutdown"),
              (10598, "vrf forwarding SLP_VRF"), (10599, "ip address 192.168.0.47 255.255.0.0"), (10600, "exit"),
              (10601, "ip route vrf SLP_VRF 0.0.0.0 0.0.0.0 192.168.0.1"),
              (10602, "ip name-server vrf SLP_VRF 173.37.137.85"),
              (10606, "license smart transport smart"),
              (10607, "license smart url https://smartreceiver.cisco.com/licservice/license"),
              (10608, "license smart vrf SLP_VRF"),
              (10609, "ip http client source-interface GigabitEthernet 0/0/0"), (0, "end")])
    rc = running(sh)
    lines = rc.split("\n")
    assert section(rc, "vrf definition SLP_VRF")[2] == " address-family ipv4"
    assert section(rc, "interface GigabitEthernet0/0/0") == [
        "interface GigabitEthernet0/0/0", " vrf forwarding SLP_VRF", " ip address 192.168.0.47 255.255.0.0"]
    for text in ("ip route vrf SLP_VRF 0.0.0.0 0.0.0.0 192.168.0.1", "ip name-server vrf SLP_VRF 173.37.137.85",
                 "ip http client source-interface GigabitEthernet0/0/0", "license smart vrf SLP_VRF"):
        assert text in lines, text
