"""`copy` to and from real servers on loopback as IOS XE does it (TFTP, FTP, HTTP, HTTPS with the server's
certificate verified against the device's trustpoints, SCP), `dir <file>`, `verify /md5`, and netmiko's
`file_transfer` (put and get, MD5 verified) against the CLI unchanged."""

from __future__ import annotations

import datetime
import hashlib
import http.server
import socket
import ssl
import threading
import time
from pathlib import Path

import pytest

from test_cli_support import PASSWORD, USER, router, router_factory  # noqa: F401
from tests.certs import make_ca, make_server_cert, pem
from tests.conftest import T0, texts

PAYLOAD = b"".join(b"line %05d of the usage report\n" % i for i in range(600))      # 18 KB, > one block


# ---------------------------------------------------------------------------------------------- servers
@pytest.fixture
def tftp_server(tmp_path):
    tftpy = pytest.importorskip("tftpy")
    import logging
    logging.getLogger("tftpy").setLevel(logging.WARNING)
    root = tmp_path / "tftp"
    root.mkdir()
    server = tftpy.TftpServer(str(root))
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    sock.close()
    thread = threading.Thread(target=server.listen, args=("127.0.0.1", port), kwargs={"timeout": 2}, daemon=True)
    thread.start()
    for _ in range(100):
        if server.sock is not None:
            break
        time.sleep(0.02)
    yield root, port
    server.stop(now=True)
    thread.join(timeout=10)


@pytest.fixture
def ftp_server(tmp_path):
    from pyftpdlib.authorizers import DummyAuthorizer
    from pyftpdlib.handlers import FTPHandler
    from pyftpdlib.servers import ThreadedFTPServer
    root = tmp_path / "ftp"
    root.mkdir()
    auth = DummyAuthorizer()
    auth.add_user("lab", "secret", str(root), perm="elradfmw")
    handler = type("H", (FTPHandler,), {"authorizer": auth, "passive_ports": None})
    server = ThreadedFTPServer(("127.0.0.1", 0), handler)
    port = server.socket.getsockname()[1]
    thread = threading.Thread(target=server.serve_forever, kwargs={"timeout": 0.2, "blocking": True}, daemon=True)
    thread.start()
    yield root, port
    server.close_all()
    thread.join(timeout=10)


@pytest.fixture
def http_server(tmp_path):
    root = tmp_path / "www"
    root.mkdir()

    class Handler(http.server.SimpleHTTPRequestHandler):
        def __init__(self, *args, **kw):
            super().__init__(*args, directory=str(root), **kw)

        def do_PUT(self):
            length = int(self.headers["Content-Length"])
            (root / self.path.lstrip("/")).write_bytes(self.rfile.read(length))
            self.send_response(201)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, *args):
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.1}, daemon=True)
    thread.start()
    yield root, server.server_address[1]
    server.shutdown()
    server.server_close()
    thread.join(timeout=10)


def interactive_copy(sh, command: str, answers: list[tuple[str, str]]) -> str:
    """Types `command`, answers each prompt (ending) with its reply, returns what follows up to the prompt."""
    sh.send(command + "\n")
    seen = ""
    for ending, reply in answers:
        seen += sh.read_until(lambda b, e=ending: b.rstrip(" ").endswith(e.rstrip(" ")))
        sh.send(reply + "\n")
    text = (seen + sh.read_until_prompt()).replace("\r\n", "\n")
    return text


def put_on_flash(router, name: str, data: bytes) -> None:
    router.device.flash.write(f"bootflash:{name}", data)


# ---------------------------------------------------------------------------------------------- TFTP
def test_copy_flash_to_tftp_and_back(router, tftp_server):
    root, port = tftp_server
    put_on_flash(router, "usage.txt", PAYLOAD)
    sh = router.shell(quiet=True)
    out = interactive_copy(sh, f"copy bootflash:usage.txt tftp://127.0.0.1:{port}/usage.txt",
                           [("Address or name of remote host [127.0.0.1]? ", ""),
                            ("Destination filename [usage.txt]? ", "")])
    assert (root / "usage.txt").read_bytes() == PAYLOAD
    assert "\n!!!!!\n" in out
    assert f"{len(PAYLOAD)} bytes copied in " in out
    (root / "ack.txt").write_bytes(b"<smartLicense>ack</smartLicense>\n")
    out = interactive_copy(sh, f"copy tftp://127.0.0.1:{port}/ack.txt bootflash:",
                           [("Destination filename [ack.txt]? ", "")])
    assert f"Accessing tftp://127.0.0.1:{port}/ack.txt...\n" in out
    assert "Loading ack.txt from 127.0.0.1 (via GigabitEthernet1): !\n[OK - 33 bytes]\n" in out
    assert router.device.flash.read("bootflash:ack.txt") == b"<smartLicense>ack</smartLicense>\n"
    # absent remote file: IOS's error, nothing written
    out = interactive_copy(sh, f"copy tftp://127.0.0.1:{port}/nope.txt bootflash:nope.txt",
                           [("Destination filename [nope.txt]? ", "")])
    assert f"%Error opening tftp://127.0.0.1:{port}/nope.txt (No such file or directory)" in out
    assert not router.device.flash.local("bootflash:nope.txt").exists()


def test_copy_to_tftp_through_ip_host_name(router, tftp_server):
    root, port = tftp_server
    put_on_flash(router, "r.txt", b"abc")
    sh = router.shell(quiet=True)
    sh.run("configure terminal")
    sh.run("ip host tftp-lab 127.0.0.1")
    sh.run("end")
    out = interactive_copy(sh, f"copy bootflash:r.txt tftp://tftp-lab:{port}/r.txt",
                           [("Address or name of remote host [tftp-lab]? ", ""), ("Destination filename [r.txt]? ", "")])
    assert "3 bytes copied" in out and (root / "r.txt").read_bytes() == b"abc"


def test_copy_to_a_silent_tftp_server_times_out(router, monkeypatch):
    from emulator.frontends.cli import netcopy
    monkeypatch.setattr(netcopy, "TFTP_TIMEOUT", 0.5)
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.bind(("127.0.0.1", 0))                 # bound, never answers
    port = sock.getsockname()[1]
    try:
        put_on_flash(router, "r.txt", b"abc")
        out = router.exec(f"copy bootflash:r.txt tftp://127.0.0.1:{port}/r.txt", timeout=30)
        assert out == f"%Error opening tftp://127.0.0.1:{port}/r.txt (Timed out)\n"
    finally:
        sock.close()


# ---------------------------------------------------------------------------------------------- FTP
def test_copy_flash_to_ftp_and_back(router, ftp_server):
    root, port = ftp_server
    put_on_flash(router, "usage.txt", PAYLOAD)
    sh = router.shell(quiet=True)
    out = interactive_copy(sh, f"copy bootflash:usage.txt ftp://lab:secret@127.0.0.1:{port}/usage.txt",
                           [("Address or name of remote host [127.0.0.1]? ", ""),
                            ("Destination filename [usage.txt]? ", "")])
    assert "Writing usage.txt !!!!!\n" in out and f"{len(PAYLOAD)} bytes copied" in out
    assert (root / "usage.txt").read_bytes() == PAYLOAD
    (root / "policy.xml").write_bytes(b"<policy/>")
    out = interactive_copy(sh, f"copy ftp://lab:secret@127.0.0.1:{port}/policy.xml bootflash:policy.xml",
                           [("Destination filename [policy.xml]? ", "")])
    assert "[OK - 9 bytes]" in out and router.device.flash.read("bootflash:policy.xml") == b"<policy/>"
    out = router.exec(f"copy bootflash:usage.txt ftp://lab:wrong@127.0.0.1:{port}/x.txt")
    assert out == f"%Error opening ftp://lab@127.0.0.1:{port}/x.txt (Permission denied)\n"


# ---------------------------------------------------------------------------------------------- HTTP
def test_copy_flash_to_http_and_back(router, http_server):
    root, port = http_server
    put_on_flash(router, "usage.txt", PAYLOAD)
    out = router.exec(f"copy bootflash:usage.txt http://127.0.0.1:{port}/up.txt")
    assert out.startswith("!!!!!\n") and f"{len(PAYLOAD)} bytes copied" in out
    assert (root / "up.txt").read_bytes() == PAYLOAD
    (root / "code.txt").write_bytes(b"SLR-CODE")
    out = router.exec(f"copy http://127.0.0.1:{port}/code.txt bootflash:code.txt")
    assert f"Loading http://127.0.0.1:{port}/code.txt !\n[OK - 8 bytes]" in out
    assert router.device.flash.read("bootflash:code.txt") == b"SLR-CODE"
    out = router.exec(f"copy http://127.0.0.1:{port}/missing.txt bootflash:m.txt")
    assert out.endswith(f"%Error opening http://127.0.0.1:{port}/missing.txt (No such file or directory)\n")


# ---------------------------------------------------------------------------------------------- HTTPS
DEVICE_NOW = datetime.datetime.fromtimestamp(T0, datetime.timezone.utc)   # the routers' frozen clock: 2024-01-01


class HttpsServer:
    """A loopback HTTPS file server with the given certificate; `requests` counts what reached HTTP."""

    def __init__(self, root: Path, key, cert):
        from cryptography.hazmat.primitives import serialization
        self.root = root
        self.requests: list[str] = []
        keyfile, certfile = root.parent / f"{root.name}.key", root.parent / f"{root.name}.crt"
        keyfile.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                              serialization.NoEncryption()))
        certfile.write_text(pem(cert))
        server = self

        class Handler(http.server.SimpleHTTPRequestHandler):
            def __init__(self, *args, **kw):
                super().__init__(*args, directory=str(root), **kw)

            def do_GET(self):
                server.requests.append(f"GET {self.path}")
                super().do_GET()

            def do_PUT(self):
                server.requests.append(f"PUT {self.path}")
                length = int(self.headers["Content-Length"])
                (root / self.path.lstrip("/")).write_bytes(self.rfile.read(length))
                self.send_response(201)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args):
                pass

        tls = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        tls.load_cert_chain(certfile, keyfile)
        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.socket = tls.wrap_socket(self.httpd.socket, server_side=True)
        self.port = self.httpd.server_address[1]
        self.thread = threading.Thread(target=self.httpd.serve_forever, kwargs={"poll_interval": 0.1}, daemon=True)
        self.thread.start()

    def stop(self):
        self.httpd.shutdown()
        self.httpd.server_close()
        self.thread.join(timeout=10)


@pytest.fixture
def https_servers(tmp_path):
    """https_servers(cert_key_pair) -> a running HttpsServer serving tmp_path/<n>/."""
    made: list[HttpsServer] = []

    def make(key_cert) -> HttpsServer:
        root = tmp_path / f"www{len(made)}"
        root.mkdir()
        made.append(HttpsServer(root, *key_cert))
        return made[-1]
    yield make
    for srv in made:
        srv.stop()


def authenticate(sh, trustpoint: str, ca_cert) -> str:
    """`crypto pki trustpoint` + `enrollment terminal` + `crypto pki authenticate` with the CA certificate
    pasted as PEM, accepted; returns what the device printed after the answer."""
    sh.run("configure terminal")
    sh.run(f"crypto pki trustpoint {trustpoint}")
    sh.run("enrollment terminal")
    sh.run("revocation-check none")
    sh.run("exit")
    sh.send(f"crypto pki authenticate {trustpoint}\n")
    sh.read_until(lambda b: 'End with a blank line or the word "quit" on a line by itself' in b)
    for line in pem(ca_cert).strip().split("\n"):
        sh.send(line + "\n")
    sh.send("\n")
    sh.read_until(lambda b: b.endswith("% Do you accept this certificate? [yes/no]: "))
    out = sh.raw("yes").replace("\r\n", "\n")
    sh.run("end")
    return out


# valid at the device's clock (2024-01-01), expired by the wall clock: only the device's time decides
WINDOW = (DEVICE_NOW - datetime.timedelta(days=180), DEVICE_NOW + datetime.timedelta(days=150))


def test_copy_https_verifies_the_server_against_the_authenticated_ca(router, https_servers):
    ca = make_ca("Lab Root CA")
    srv = https_servers(make_server_cert(ca, ["files.lab.example"], ["127.0.0.1"], *WINDOW))
    (srv.root / "ack.txt").write_bytes(b"<smartLicense>ack</smartLicense>\n")
    url = f"https://127.0.0.1:{srv.port}/ack.txt"
    # no trustpoint holds the server's CA: IOS's error, nothing written, no request sent, a PKI syslog
    out = router.exec(f"copy {url} bootflash:ack.txt")
    assert out == f"Accessing {url}...\n%Error opening {url} (I/O error)\n"
    assert not router.device.flash.local("bootflash:ack.txt").exists()
    assert srv.requests == []
    assert texts(router.device, "CERTIFICATE_INVALID_UNAUTHORIZED") == [
        "Certificate chain validation has failed. Unauthorized"]
    put_on_flash(router, "usage.txt", PAYLOAD)
    up = f"https://127.0.0.1:{srv.port}/usage.txt"
    assert router.exec(f"copy bootflash:usage.txt {up}") == f"%Error opening {up} (I/O error)\n"
    assert srv.requests == [] and not (srv.root / "usage.txt").exists()

    sh = router.shell(quiet=True)
    accepted = authenticate(sh, "LAB", ca[1])
    assert "Trustpoint CA certificate accepted.\n% Certificate successfully imported\n" in accepted
    [tp] = router.device.st.system.trustpoints
    assert tp.ca_certificate == pem(ca[1])
    out = router.exec(f"copy {url} bootflash:ack.txt")
    assert out.startswith(f"Accessing {url}...\nLoading {url} !\n[OK - 33 bytes]\n")
    assert router.device.flash.read("bootflash:ack.txt") == b"<smartLicense>ack</smartLicense>\n"
    assert srv.requests == ["GET /ack.txt"]
    assert f"{len(PAYLOAD)} bytes copied in " in router.exec(f"copy bootflash:usage.txt {up}")
    assert (srv.root / "usage.txt").read_bytes() == PAYLOAD
    # by the name in the certificate, through `ip host`
    sh.run("configure terminal")
    sh.run("ip host files.lab.example 127.0.0.1")
    sh.run("end")
    named = f"https://files.lab.example:{srv.port}/ack.txt"
    assert "[OK - 33 bytes]" in router.exec(f"copy {named} bootflash:ack2.txt")
    assert router.device.flash.read("bootflash:ack2.txt") == b"<smartLicense>ack</smartLicense>\n"


def test_copy_https_refuses_a_certificate_for_another_name(router, https_servers):
    ca = make_ca("Lab Root CA")
    srv = https_servers(make_server_cert(ca, ["other.example"], [], *WINDOW))
    (srv.root / "ack.txt").write_bytes(b"ACK")
    sh = router.shell(quiet=True)
    authenticate(sh, "LAB", ca[1])
    sh.run("configure terminal")
    sh.run("ip host files.lab.example 127.0.0.1")
    sh.run("ip host other.example 127.0.0.1")
    sh.run("end")
    for host in ("127.0.0.1", "files.lab.example"):
        url = f"https://{host}:{srv.port}/ack.txt"
        assert router.exec(f"copy {url} bootflash:ack.txt") == f"Accessing {url}...\n%Error opening {url} (I/O error)\n"
        assert not router.device.flash.local("bootflash:ack.txt").exists()
    assert srv.requests == []
    assert texts(router.device, "CERTIFICATE_INVALID_UNAUTHORIZED") == []     # the chain itself is good
    url = f"https://other.example:{srv.port}/ack.txt"                           # the name it was issued for
    assert "[OK - 3 bytes]" in router.exec(f"copy {url} bootflash:ack.txt")


def test_copy_https_checks_validity_at_the_device_clock(router, https_servers):
    ca = make_ca("Lab Root CA")
    srv = https_servers(make_server_cert(ca, [], ["127.0.0.1"], *WINDOW, serial=0x1DF9761C))
    (srv.root / "a.txt").write_bytes(b"A")
    authenticate(router.shell(quiet=True), "LAB", ca[1])
    url = f"https://127.0.0.1:{srv.port}/a.txt"
    assert "[OK - 1 bytes]" in router.exec(f"copy {url} bootflash:a.txt")
    router.device.advance_clock(200 * 86400.0)                   # past the server certificate's notAfter
    router.device.flash.delete("bootflash:a.txt")
    assert router.exec(f"copy {url} bootflash:a.txt") == f"Accessing {url}...\n%Error opening {url} (I/O error)\n"
    assert not router.device.flash.local("bootflash:a.txt").exists()
    ended = WINDOW[1].strftime("%H:%M:%S UTC %b %-d %Y")
    assert texts(router.device, "CERTIFICATE_INVALID_EXPIRED") == [
        f"Certificate chain validation has failed. The certificate (SN: 1DF9761C) has expired. "
        f"Validity period ended on {ended}"]


def test_ip_http_client_secure_trustpoint_picks_the_trustpoint(router, https_servers):
    lab, other = make_ca("Lab Root CA"), make_ca("Other Root CA")
    srv = https_servers(make_server_cert(lab, [], ["127.0.0.1"], *WINDOW))
    (srv.root / "a.txt").write_bytes(b"A")
    sh = router.shell(quiet=True)
    authenticate(sh, "LAB", lab[1])
    authenticate(sh, "OTHER", other[1])
    url = f"https://127.0.0.1:{srv.port}/a.txt"
    failed = f"Accessing {url}...\n%Error opening {url} (I/O error)\n"
    sh.run("configure terminal")
    assert sh.run("ip http client secure-trustpoint OTHER") == ""
    sh.run("end")
    assert "ip http client secure-trustpoint OTHER" in sh.run("show running-config").split("\n")
    assert router.exec(f"copy {url} bootflash:a.txt") == failed
    sh.run("configure terminal")
    sh.run("ip http client secure-trustpoint LAB")
    sh.run("end")
    assert "[OK - 1 bytes]" in router.exec(f"copy {url} bootflash:a.txt")
    sh.run("configure terminal")
    sh.run("ip http client secure-trustpoint OTHER")
    sh.run("no ip http client secure-trustpoint")
    sh.run("end")
    assert router.device.st.system.http_client_trustpoint is None
    assert not any("secure-trustpoint" in ln for ln in sh.run("show running-config").split("\n"))
    assert "[OK - 1 bytes]" in router.exec(f"copy {url} bootflash:b.txt")      # every trustpoint again


# ---------------------------------------------------------------------------------------------- SCP
def test_copy_flash_to_scp_and_back(router_factory):
    """The SCP server is a second emulated router's (an SSH server speaking `scp -t/-f`)."""
    local, remote = router_factory(), router_factory()
    put_on_flash(local, "usage.txt", PAYLOAD)
    sh = local.shell(quiet=True)
    out = interactive_copy(sh, f"copy bootflash:usage.txt scp://{USER}@127.0.0.1:{remote.port}/bootflash:u.txt",
                           [("Address or name of remote host [127.0.0.1]? ", ""), ("Password: ", PASSWORD),
                            ("Destination filename [bootflash:u.txt]? ", "")])
    assert f"{len(PAYLOAD)} bytes copied" in out
    assert remote.device.flash.read("bootflash:u.txt") == PAYLOAD
    put_on_flash(remote, "trust.xml", b"<trust/>")
    out = interactive_copy(sh, f"copy scp://{USER}:{PASSWORD}@127.0.0.1:{remote.port}/bootflash:trust.xml "
                               "bootflash:trust.xml", [("Destination filename [trust.xml]? ", "")])
    assert " Sending file modes: C0644 8 trust.xml\n!\n[OK - 8 bytes]" in out
    assert local.device.flash.read("bootflash:trust.xml") == b"<trust/>"
    out = local.exec(f"copy scp://{USER}:wrong@127.0.0.1:{remote.port}/bootflash:trust.xml bootflash:t2.xml")
    assert out.endswith(f"%Error opening scp://{USER}@127.0.0.1:{remote.port}/bootflash:trust.xml "
                        "(Permission denied)\n")


# ---------------------------------------------------------------------------------------------- dir, verify
def test_dir_of_one_file_and_verify_md5(router):
    put_on_flash(router, "usage.txt", PAYLOAD)
    out = router.exec("dir bootflash:/usage.txt")
    lines = out.split("\n")
    assert lines[0] == "Directory of bootflash:/usage.txt"
    assert lines[2].split()[1:3] == ["-rw-", str(len(PAYLOAD))] and lines[2].endswith("  usage.txt")
    assert lines[4].endswith("bytes free)")
    assert router.exec("dir bootflash:/absent.txt") == \
        "%Error opening bootflash:/absent.txt (No such file or directory)\n"
    md5 = hashlib.md5(PAYLOAD).hexdigest()
    assert router.exec("verify /md5 bootflash:usage.txt") == f".Done!\nverify /md5 (bootflash:usage.txt) = {md5}\n\n"
    assert router.exec(f"verify /md5 bootflash:usage.txt {md5}") == f".Done!\nVerified (bootflash:usage.txt) = {md5}\n\n"
    assert "%Error verifying bootflash:usage.txt" in router.exec("verify /md5 bootflash:usage.txt 0123")


def test_copy_running_config_startup_config_forms(router):
    sh = router.shell(quiet=True)
    for command in ("copy running-config startup-config", "copy run start",
                    "copy system:running-config nvram:startup-config"):
        sh.send(command + "\n")
        sh.read_until(lambda b: b.endswith("Destination filename [startup-config]? "))
        assert sh.raw("").replace("\r\n", "\n").endswith("Building configuration...\n[OK]\nRouter#")
    # as automation sends it, without a terminal: the default answer
    assert router.exec("copy running-config startup-config") == "Building configuration...\n[OK]\n"


# ---------------------------------------------------------------------------------------------- netmiko
def test_netmiko_file_transfer_put_and_get_with_md5(router, tmp_path):
    netmiko = pytest.importorskip("netmiko")
    src = tmp_path / "ack.txt"
    src.write_bytes(PAYLOAD)
    conn = netmiko.ConnectHandler(device_type="cisco_xe", host="127.0.0.1", port=router.port, username=USER,
                                  password=PASSWORD, fast_cli=False, conn_timeout=20, timeout=30)
    try:
        put = netmiko.file_transfer(conn, source_file=str(src), dest_file="ack.txt", file_system="bootflash:",
                                    direction="put", overwrite_file=True)
        assert put == {"file_exists": True, "file_transferred": True, "file_verified": True}
        assert router.device.flash.read("bootflash:ack.txt") == PAYLOAD
        again = netmiko.file_transfer(conn, source_file=str(src), dest_file="ack.txt", file_system="bootflash:",
                                      direction="put", overwrite_file=True)
        assert again == {"file_exists": True, "file_transferred": False, "file_verified": True}
        put_on_flash(router, "usage.txt", PAYLOAD[::-1])
        dest = tmp_path / "usage.txt"
        get = netmiko.file_transfer(conn, source_file="usage.txt", dest_file=str(dest), file_system="bootflash:",
                                    direction="get", overwrite_file=True)
        assert get == {"file_exists": True, "file_transferred": True, "file_verified": True}
        assert dest.read_bytes() == PAYLOAD[::-1]
    finally:
        conn.disconnect()
