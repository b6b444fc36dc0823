"""The OpenAPI document: the committed openapi.yaml is what the generator makes from the YANG modules and
openapi-base.yaml, and it agrees with the application: every documented path answers OPTIONS with exactly
the documented methods, every RESTCONF resource of the schema is documented, and every route of the
application is (Flask test client, no server)."""

import base64
import re
import subprocess
import sys

import pytest
import yaml

from emulator.frontends.restconf.app import create_app
from emulator.frontends.restconf.openapi import OPENAPI_PATH, render
from emulator.frontends.restconf.views import data_kind
from emulator.yangdata import get_schema

AUTH = {"Authorization": "Basic " + base64.b64encode(b"admin:admin").decode()}
HTTP_METHODS = {"get", "put", "post", "patch", "delete"}


@pytest.fixture(scope="module")
def doc():
    return yaml.load(OPENAPI_PATH.read_text(), Loader=yaml.CSafeLoader)


def test_committed_document_is_fresh():
    assert OPENAPI_PATH.read_text() == render(), (
        "openapi.yaml is stale: run `python -m emulator.frontends.restconf.openapi` and commit it")


def test_check_mode_of_the_generator():
    run = subprocess.run([sys.executable, "-m", "emulator.frontends.restconf.openapi", "--check"],
                         capture_output=True, text=True, timeout=120)
    assert run.returncode == 0, run.stderr


def _concrete(doc: dict, path: str, operation: dict) -> str:
    """The path with a value of each path parameter (the first enum value, else a placeholder)."""
    params = {p["name"]: p.get("schema", {}) for p in operation.get("parameters", []) if p.get("in") == "path"}

    def value(match):
        schema = params[match.group(1)]
        if "$ref" in schema:
            schema = doc["components"]["schemas"][schema["$ref"].rsplit("/", 1)[1]]
        schema = schema.get("anyOf", [schema])[0]
        if "enum" in schema:
            return str(schema["enum"][0])
        if schema.get("type") == "integer":
            return "1"
        patterns = [schema.get("pattern", "")] + [p["pattern"] for p in schema.get("allOf", [])]
        return next(v for v in ("x", "2019-01-04") if all(re.search(p, v) for p in patterns))
    return re.sub(r"\{([^}]+)\}", value, path)


def test_documented_methods_are_the_allowed_methods(make_device, doc):
    dev = make_device()
    dev.set_user("admin", "admin", 15)
    client = create_app(dev).test_client()
    for path, item in doc["paths"].items():
        methods = {m for m in item if m in HTTP_METHODS}
        op = next(iter(item.values()))
        url = _concrete(doc, path, op)
        resp = client.options(url, headers=AUTH)
        assert resp.status_code == 200, (path, resp.status_code, resp.data[:200])
        allowed = {m.strip().lower() for m in resp.headers["Allow"].split(",")} - {"head", "options"}
        assert allowed == methods, (path, sorted(allowed), sorted(methods))


def test_every_schema_resource_and_route_is_documented(make_device, doc):
    schema = get_schema()
    paths = set(doc["paths"])
    missing = []

    def walk(node, path):
        writable = data_kind(node, schema.top).__name__ != "StateNode"
        if not node.is_leaf or writable:
            if path not in paths:
                missing.append(path)
        if node.keyword == "list":
            entry = [p for p in paths if p.startswith(path + "=") and "/" not in p[len(path):]]
            if not entry:
                missing.append(path + "=<keys>")
            path = entry[0] if entry else path
        for child in node.ordered_children:
            name = child.name if child.module == node.module else child.qname
            walk(child, f"{path}/{name}")

    for top in schema.top.values():
        walk(top, f"/restconf/data/{top.qname}")
    for qname in schema.rpcs:
        for path in (f"/restconf/operations/{qname}", f"/restconf/data/{qname}"):
            if path not in paths:
                missing.append(path)
    assert not missing, missing
    # and every route the application serves, with its data and operation trees as one documented family
    app = create_app(make_device())
    for rule in app.url_map.iter_rules():
        if rule.endpoint == "static":
            continue
        documented = re.sub(r"<(?:path:)?([^>]+)>", r"{\1}", rule.rule)
        family = [p for p in paths if p == documented or p.startswith(documented.split("{")[0].rstrip("/") + "/")
                  or documented.endswith("{api_path}") and p.startswith("/restconf/data/")]
        assert family or documented in paths, rule.rule

