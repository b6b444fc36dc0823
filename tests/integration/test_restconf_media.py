"""RESTCONF media types as IOS XE answers them: a 204 carries no body and no Content-Type (RFC 9110 §15.3.5),
and the Accept / Content-Type variants IOS XE (ConfD) accepts besides RFC 8040's: the draft forms
`application/yang.data+json|xml`, the `vnd.yang.data` forms, plain application/json|xml, with parameters."""

import json

import pytest

from test_restconf_api import JSON, LIC, Client, device, rc, server  # noqa: F401

pytestmark = pytest.mark.filterwarnings("ignore::urllib3.exceptions.InsecureRequestWarning")


def test_204_replies_have_no_content_type(rc):
    resp = rc.request("PATCH", f"{LIC}/config", body={"cisco-smart-license:config": {"custom-id": "lab-1"}})
    assert resp.status_code == 204, resp.text
    assert "Content-Type" not in resp.headers
    assert resp.content == b""
    resp = rc.request("DELETE", f"{LIC}/config/custom-id")
    assert resp.status_code == 204 and "Content-Type" not in resp.headers
    resp = rc.request("POST", "/restconf/operations/cisco-ia:save-config")
    assert resp.status_code in (200, 204)
    if resp.status_code == 204:
        assert "Content-Type" not in resp.headers


@pytest.mark.parametrize("accept, fmt", [
    ("application/yang-data+json", "json"),
    ("application/yang.data+json", "json"),
    ("application/vnd.yang.data+json", "json"),
    ("application/json", "json"),
    ("application/yang-data+json; charset=utf-8", "json"),
    ("application/yang-data+xml", "xml"),
    ("application/yang.data+xml", "xml"),
    ("application/vnd.yang.data+xml", "xml"),
    ("application/xml", "xml"),
    ("*/*", "json"),
])
def test_accept_variants(rc, accept, fmt):
    resp = rc.get(f"{LIC}/config/transport", accept=accept)
    assert resp.status_code == 200, resp.text
    if fmt == "json":
        assert resp.headers["Content-Type"].startswith("application/yang-data+json")
        assert list(json.loads(resp.text)) == ["cisco-smart-license:transport"]
    else:
        assert resp.headers["Content-Type"].startswith("application/yang-data+xml")
        assert resp.text.lstrip().startswith("<transport")


@pytest.mark.parametrize("ctype", ["application/yang.data+json", "application/vnd.yang.data+json",
                                   "application/yang-data+json; charset=utf-8"])
def test_content_type_variants_are_accepted_on_writes(rc, device, ctype):
    resp = rc.request("PATCH", f"{LIC}/config", body=json.dumps({"cisco-smart-license:config": {"custom-id": "v"}}),
                      ctype=ctype)
    assert resp.status_code == 204, resp.text
    assert device.st.config.custom_id == "v"


def test_unacceptable_accept_is_406(rc):
    resp = rc.get(f"{LIC}/config", accept="image/png")
    assert resp.status_code == 406
