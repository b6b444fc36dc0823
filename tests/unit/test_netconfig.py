"""The IOS configuration records around licensing (engine/netconfig.py): checked in full by the one
configuration path, kept across a restart, and their effects (name resolution, EXEC privilege)."""

import pytest

from emulator.engine import DeviceError
from emulator.engine.netconfig import (CallHome, CallHomeProfile, DomainName, HostEntry, Interface, LoggingHost,
                                       NameServers, NtpServer, Route, Trustpoint, VrfDefinition,
                                       check_server_certificate, exec_privilege, https_client_anchors,
                                       interface_name, resolve_url)
from emulator.engine.state import from_stored, to_stored
from tests.certs import make_ca, pem

CA_PEM = pem(make_ca("Licensing Root CA")[1])
FULL = dict(
    service_call_home=True,
    call_home=CallHome("a@example.com", ("198.51.100.10", 5000),
                       (CallHomeProfile("CiscoTAC-1", True, True, False, ("https://x.example/y",)),)),
    aaa_new_model=True, aaa_authentication_login="default local", aaa_authorization_exec="default local",
    vrfs=(VrfDefinition("SLP_VRF", "1:1", True),), name_servers=(NameServers(("192.0.2.1",), "SLP_VRF"),),
    hosts=(HostEntry("cslu-local", "127.0.0.5"),), domain_names=(DomainName("example.com"),),
    trustpoints=(Trustpoint("SLA-TrustPoint", True, "none", ca_certificate=CA_PEM),),
    http_client_trustpoint="SLA-TrustPoint",
    interfaces=(Interface("GigabitEthernet1", "uplink", "SLP_VRF", ("192.0.2.10", "255.255.255.0"), False, True),),
    http_client_source="GigabitEthernet1", http_client_proxy=("192.0.2.99", 3128), tftp_source="GigabitEthernet1",
    routes=(Route("0.0.0.0", "0.0.0.0", "192.0.2.1", "SLP_VRF"),), ssh_version=2,
    logging_hosts=(LoggingHost("192.0.2.50", "SLP_VRF"),), ntp_servers=(NtpServer("198.51.100.100", None, 2, True),),
)


def test_every_record_survives_a_restart(make_device):
    dev = make_device()
    dev.configure(system=FULL)
    again = make_device()
    for key, value in FULL.items():
        assert getattr(again.st.system, key) == value, key
    assert from_stored(to_stored(again.st)).system == again.st.system


@pytest.mark.parametrize("key, value", [
    ("hosts", (HostEntry("cslu-local", "300.1.1.1"),)),
    ("hosts", [HostEntry("cslu-local", "127.0.0.1")]),
    ("interfaces", (Interface("gigabitethernet1"),)),
    ("interfaces", (Interface("GigabitEthernet1", address=("10.0.0.1", "255.0.255.0")),)),
    ("routes", (Route("10.0.0.0", "255.0.0.0", "not an address!"),)),
    ("ntp_servers", (NtpServer("198.51.100.1", version=9),)),
    ("http_client_proxy", ("192.0.2.1", 0)),
    ("call_home", CallHome("no-at-sign")),
    ("trustpoints", (Trustpoint("SLA-TrustPoint", revocation_check="maybe"),)),
    ("name_servers", (NameServers(tuple(f"192.0.2.{i}" for i in range(7))),)),
    ("ssh_version", 3),
    ("aaa_new_model", "yes"),
    ("trustpoints", (Trustpoint("LAB", True, "none", ca_certificate="-----BEGIN CERTIFICATE-----\nnope\n"),)),
    ("http_client_trustpoint", "no spaces allowed"),
])
def test_bad_values_are_refused_and_change_nothing(make_device, key, value):
    dev = make_device()
    before = dev.st
    with pytest.raises(DeviceError):
        dev.configure(system={key: value, "ip_routing": False})
    assert dev.st == before


def test_interface_names_take_the_ios_spelling():
    assert interface_name("gigabitethernet0/0") == "GigabitEthernet0/0"
    assert interface_name("GigabitEthernet 0/0/0") == "GigabitEthernet0/0/0"
    assert interface_name("vlan100") == "Vlan100"
    assert interface_name("gi1") == "GigabitEthernet1"
    with pytest.raises(DeviceError):
        interface_name("bogus")


def test_resolution_through_ip_host():
    from emulator.engine.state import SystemSettings
    s = SystemSettings(hosts=(HostEntry("cslu-local", "127.0.0.5"), HostEntry("cslu-local", "127.0.0.9", "V")),
                       domain_names=(DomainName("example.com"),))
    assert resolve_url(s, "http://cslu-local:8182/cslu/v1/pi") == "http://127.0.0.5:8182/cslu/v1/pi"
    assert resolve_url(s, "http://cslu-local:8182/cslu/v1/pi", "V") == "http://127.0.0.9:8182/cslu/v1/pi"
    assert resolve_url(s, "https://smartreceiver.cisco.com/licservice/license") == \
        "https://smartreceiver.cisco.com/licservice/license"
    s2 = SystemSettings(hosts=(HostEntry("cslu-local.example.com", "127.0.0.6"),),
                        domain_names=(DomainName("example.com"),))
    assert resolve_url(s2, "http://cslu-local:8182/x") == "http://127.0.0.6:8182/x"


def test_exec_privilege_follows_aaa():
    from emulator.engine.state import SystemSettings
    assert exec_privilege(SystemSettings(), 15) == 15
    assert exec_privilege(SystemSettings(aaa_new_model=True), 15) == 1
    assert exec_privilege(SystemSettings(aaa_new_model=True, aaa_authorization_exec="default local"), 15) == 15


# ---------------------------------------------------------------------------------------------- HTTPS client
def _system(*trustpoints, secure=None):
    from emulator.engine.state import SystemSettings
    return SystemSettings(trustpoints=tuple(trustpoints), http_client_trustpoint=secure)


def _der(cert) -> bytes:
    from cryptography.hazmat.primitives import serialization
    return cert.public_bytes(serialization.Encoding.DER)


def test_https_client_trusts_the_authenticated_ca_certificates():
    lab, other = make_ca("Lab Root CA")[1], make_ca("Other Root CA")[1]
    both = (Trustpoint("LAB", True, ca_certificate=pem(lab)), Trustpoint("OTHER", True, ca_certificate=pem(other)),
            Trustpoint("EMPTY", True))
    assert https_client_anchors(_system()) == ()
    assert https_client_anchors(_system(*both)) == (pem(lab), pem(other))
    assert https_client_anchors(_system(*both, secure="OTHER")) == (pem(other),)
    assert https_client_anchors(_system(*both, secure="EMPTY")) == ()
    assert https_client_anchors(_system(*both, secure="ABSENT")) == ()


def test_server_certificate_check_chain_name_and_device_clock():
    import datetime

    from tests.certs import AT, make_server_cert
    ca = make_ca("Lab Root CA")
    window = (AT - datetime.timedelta(days=10), AT + datetime.timedelta(days=10))
    leaf = _der(make_server_cert(ca, ["files.lab.example"], ["127.0.0.1"], *window, serial=0x3E)[1])
    trusted = _system(Trustpoint("LAB", True, ca_certificate=pem(ca[1])))
    now = AT.timestamp()
    assert check_server_certificate(trusted, "files.lab.example", [leaf], now) is None
    assert check_server_certificate(trusted, "FILES.lab.example", [leaf], now) is None
    assert check_server_certificate(trusted, "127.0.0.1", [leaf], now) is None
    untrusted = check_server_certificate(_system(), "127.0.0.1", [leaf], now)
    assert untrusted.syslog == ("PKI", 3, "CERTIFICATE_INVALID_UNAUTHORIZED",
                                "Certificate chain validation has failed. Unauthorized")
    wrong_ca = _system(Trustpoint("X", True, ca_certificate=pem(make_ca("Lab Root CA")[1])))  # same name, other key
    assert check_server_certificate(wrong_ca, "127.0.0.1", [leaf], now).syslog[2] == "CERTIFICATE_INVALID_UNAUTHORIZED"
    for host in ("other.lab.example", "127.0.0.2", "lab.example"):
        refused = check_server_certificate(trusted, host, [leaf], now)
        assert refused is not None and refused.syslog is None, host
    late = check_server_certificate(trusted, "127.0.0.1", [leaf], (AT + datetime.timedelta(days=11)).timestamp())
    assert late.syslog == ("PKI", 3, "CERTIFICATE_INVALID_EXPIRED",
                           "Certificate chain validation has failed. The certificate (SN: 3E) has expired. "
                           "Validity period ended on 00:00:00 UTC Jan 11 2024")
    early = check_server_certificate(trusted, "127.0.0.1", [leaf], (AT - datetime.timedelta(days=11)).timestamp())
    assert early.syslog == ("PKI", 3, "CERTIFICATE_INVALID_NOT_YET_VALID",
                            "Certificate chain validation has failed. The certificate (SN: 3E) is not yet valid "
                            "Validity period starts on 00:00:00 UTC Dec 22 2023")
    assert check_server_certificate(trusted, "127.0.0.1", [], now).syslog[2] == "CERTIFICATE_INVALID_UNAUTHORIZED"
    assert check_server_certificate(trusted, "127.0.0.1", [b"not DER"], now).syslog[2] == \
        "CERTIFICATE_INVALID_UNAUTHORIZED"
