"""RESTCONF pieces without a server: api-path resolution, query parameters, the fields grammar, depth and
with-defaults shaping, import body decoding, the generated certificate."""

import base64
import json

import pytest
from cryptography import x509
from werkzeug.datastructures import MultiDict

from emulator.frontends.restconf import ensure_certificate
from emulator.frontends.restconf.apipath import find, parse_fields, parse_query, resolve, split_segments
from emulator.frontends.restconf.native import NativeError, decode_import_body
from emulator.frontends.restconf.render import limit_depth, shape, with_defaults
from emulator.yangdata import YangError, get_schema


@pytest.fixture(scope="module")
def tops():
    return get_schema().top


def test_resolve_paths(tops):
    t = resolve(split_segments("cisco-smart-license:licensing/state/state-info/usage=a%2Cb%2Fc/count"), tops)
    assert [s.node.name for s in t.steps] == ["licensing", "state", "state-info", "usage", "count"]
    assert t.steps[3].keys == {"entitlement-tag": "a,b/c"}
    assert t.path() == "/cisco-smart-license:licensing/state/state-info/usage[entitlement-tag='a,b/c']/count"
    assert resolve(["native", "version"], tops).top.qname == "Cisco-IOS-XE-native:native"
    rpc = resolve(["cisco-smart-license:de-register"], tops, get_schema().rpcs).rpc
    assert rpc.qname == "cisco-smart-license:de-register"
    for bad, status in [(["nosuch:licensing"], 404), (["cisco-smart-license:licensing", "nothing"], 404),
                        (["cisco-smart-license:licensing", "state", "state-info", "usage=a=b,c"], 400),
                        (["cisco-smart-license:licensing", "state", "state-info", "usage", "count"], 400),
                        (["cisco-smart-license:licensing", "state", "always-enabled", "x"], 404),
                        (["cisco-smart-license:licensing=1"], 400), ([":licensing"], 400)]:
        with pytest.raises(YangError) as exc:
            resolve(bad, tops)
        assert exc.value.http_status == status, bad


def test_find(tops):
    data = {"state": {"state-info": {"usage": [{"entitlement-tag": "a", "count": 1},
                                               {"entitlement-tag": "b", "count": 2}]}}}
    t = resolve(split_segments("cisco-smart-license:licensing/state/state-info/usage=b/count"), tops)
    assert find(t, data) == 2
    t = resolve(split_segments("cisco-smart-license:licensing/state/state-info/usage=z"), tops)
    assert find(t, data) is None


def test_fields_grammar(tops):
    state_info = tops["cisco-smart-license:licensing"].children["state"].children["state-info"]
    assert parse_fields("udi/pid;usage(short-name;count)", state_info, tops) == {
        "udi": {"pid": None}, "usage": {"short-name": None, "count": None}}
    assert parse_fields("udi;udi/pid", state_info, tops) == {"udi": None}
    assert parse_fields("cisco-smart-license:licensing(state/version)", None, tops) == {
        "cisco-smart-license:licensing": {"state": {"version": None}}}
    for bad in ("", "udi(", "udi)", "nothing", "udi(pid;;sn)", "x:udi", "udi//pid"):
        with pytest.raises(YangError):
            parse_fields(bad, state_info, tops)


def test_query_checks(tops):
    node = tops["cisco-smart-license:licensing"]
    q = parse_query(MultiDict([("depth", "3"), ("content", "config"), ("with-defaults", "trim")]), "GET", node, tops)
    assert (q.depth, q.content, q.with_defaults) == (3, "config", "trim")
    assert parse_query(MultiDict([("depth", "unbounded")]), "GET", node, tops).depth is None
    for args, method in [([("depth", "0")], "GET"), ([("depth", "65536")], "GET"), ([("content", "x")], "GET"),
                         ([("depth", "1")], "PUT"), ([("x", "1")], "GET"), ([("depth", "1"), ("depth", "2")], "GET")]:
        with pytest.raises(YangError) as exc:
            parse_query(MultiDict(args), method, node, tops)
        assert exc.value.http_status == 400


def test_depth_and_defaults():
    rpc = get_schema().rpcs["cisco-smart-license:register-id-token"].children["input"]
    assert with_defaults(rpc, {"id-token": "x"}, "report-all") == {"id-token": "x", "force": False}
    assert with_defaults(rpc, {"id-token": "x", "force": False}, "trim") == {"id-token": "x"}
    assert with_defaults(rpc, {"id-token": "x"}, "explicit") == {"id-token": "x"}
    lic = get_schema().top["cisco-smart-license:licensing"]
    data = {"config": {"enable": True, "privacy": {"hostname": False}}, "state": {"always-enabled": True}}
    assert limit_depth(lic, data, 1) == {}
    assert limit_depth(lic, data, 2) == {"config": {}, "state": {}}
    assert limit_depth(lic, data, 3) == {"config": {"enable": True, "privacy": {}}, "state": {"always-enabled": True}}
    from emulator.frontends.restconf.apipath import Query
    assert shape(lic, data, Query(content="config")) == {"config": data["config"]}


def test_import_bodies():
    doc = b"<smartLicensePolicy><data>x</data></smartLicensePolicy>"
    assert decode_import_body(doc) == doc
    assert decode_import_body(b"  \n" + base64.b64encode(doc) + b"\n") == doc
    assert decode_import_body(json.dumps(doc.decode()).encode()) == doc
    assert decode_import_body(json.dumps({"data": base64.b64encode(doc).decode()}).encode()) == doc
    for bad in (b"", b"!!", b"{}", b'{"a": 1}', b"[1]", base64.b64encode(b"text"), b'"' * 3):
        with pytest.raises(NativeError):
            decode_import_body(bad)


def test_certificate_is_made_once_and_kept(tmp_path):
    cert, key = ensure_certificate(tmp_path, hostname="edge-1", host="127.0.0.2")
    loaded = x509.load_pem_x509_certificate(cert.read_bytes())
    assert loaded.subject.rfc4514_string().startswith("O=slpemu,CN=edge-1") or "CN=edge-1" in loaded.subject.rfc4514_string()
    sans = loaded.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert {str(ip) for ip in sans.get_values_for_type(x509.IPAddress)} == {"127.0.0.1", "127.0.0.2"}
    assert (key.stat().st_mode & 0o777) == 0o600
    again = ensure_certificate(tmp_path, hostname="other")
    assert again == (cert, key) and cert.read_bytes() == again[0].read_bytes()
    with pytest.raises(ValueError):
        ensure_certificate(tmp_path, cert=cert)
    assert ensure_certificate(tmp_path / "x", cert=cert, key=key) == (cert, key)
