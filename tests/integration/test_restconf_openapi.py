"""Schemathesis against the OpenAPI document of both APIs (generated from the YANG modules, see
emulator/frontends/restconf/openapi.py), on a real HTTPS server, with a few positive and negative examples
per operation: every operation of the root resources, the native API and the RPCs, the data resources
down to the second level, and a fixed sample of the deeper ones (they are served by the same code), so
that the run takes well under a minute. SLPEMU_SCHEMATHESIS_ALL=1 runs every operation (~3 minutes).

Checks: schemathesis's own (documented statuses and content types, responses valid against the schemas,
negative data refused, ...), with two RESTCONF refinements:
- no 5xx but 501, which RFC 8040 gives an RPC (input) that the device does not implement;
- data valid by the schema may still be refused by a rule of the device that the YANG model does not
  express (a URL the device does not accept, utility mode on a platform without it, an unknown licence
  name, the software version): as a 400 invalid-value for that reason, never as a YANG-level refusal
  (missing-element, unknown-element, malformed-message, ...) nor as a type check of the value."""

import base64
import os
import zlib
from pathlib import Path

import pytest
import requests
import yaml
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis.errors import Unsatisfiable

import schemathesis
from emulator.frontends.restconf import start_restconf
from emulator.frontends.restconf.app import OPENAPI_PATH
from schemathesis import GenerationMode
from schemathesis.core.failures import Failure
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import positive_data_acceptance

pytestmark = pytest.mark.filterwarnings("ignore::urllib3.exceptions.InsecureRequestWarning",
                                        "ignore::DeprecationWarning")

EXAMPLES = int(os.environ.get("SLPEMU_SCHEMATHESIS_EXAMPLES", "2"))
DERANDOMIZE = os.environ.get("SLPEMU_SCHEMATHESIS_RANDOM") != "1"   # 1: a new sample each run
# A generated clock move may span centuries of licensing jobs; the clock RPCs are exercised by the API tests.
SKIPPED = {"slpemu-control:advance-clock", "slpemu-control:set-clock"}
ONLY = os.environ.get("SLPEMU_SCHEMATHESIS_ONLY")           # a substring of the paths to test (reproducing)
ALL = os.environ.get("SLPEMU_SCHEMATHESIS_ALL") == "1"
SAMPLE = 6                      # one deeper data operation in SAMPLE, by a hash of its label


def selected(operation) -> bool:
    path = operation.path
    if path.rsplit("/", 1)[-1] in SKIPPED or ONLY and ONLY not in path:
        return False
    if ALL or not path.startswith("/restconf/data/") or operation.method == "post" and "/" not in path[15:]:
        return True                                    # not a data resource, or an RPC in the data form
    depth = path[len("/restconf/data/"):].count("/")
    return depth <= 1 or zlib.crc32(operation.label.encode()) % SAMPLE == 0


def test_openapi_document_is_served_and_matches_the_repo(make_device, tmp_path):
    dev = make_device()
    servers = start_restconf(dev, host="127.0.0.1", port=0, state_dir=tmp_path)
    try:
        resp = requests.get(servers.https.url + "/openapi.yaml", verify=False, timeout=10)
        assert resp.status_code == 200 and resp.content == OPENAPI_PATH.read_bytes()
        doc = yaml.load(resp.content, Loader=yaml.CSafeLoader)
        assert doc["openapi"].startswith("3.") and "/smartlic-service/all-reports" in doc["paths"]
    finally:
        servers.stop()


class RestconfCheckFailed(Failure):
    """A RESTCONF refinement of a schemathesis check failed."""


def _error(response) -> dict:
    try:
        return (response.json().get("ietf-restconf:errors") or {}).get("error", [{}])[0]
    except (ValueError, AttributeError):
        return {}


def refused_only_by_device_rules(ctx, response, case):
    if case.meta is None or not case.meta.generation.mode.is_positive or response.status_code != 400:
        return None
    error = _error(response)
    message = error.get("error-message", "")
    # check_value's refusals read "invalid value ... for <leaf>": a type the document got wrong
    if error.get("error-tag") == "invalid-value" and not message.startswith("invalid value"):
        return None
    raise RestconfCheckFailed(operation=case.operation.label, title="Schema-valid data refused by the YANG layer",
                              message=f"400 {error.get('error-tag')}: {message}")


def no_server_error_but_not_implemented(ctx, response, case):
    if response.status_code < 500:
        return None
    if response.status_code == 501 and _error(response).get("error-tag") == "operation-not-supported":
        return None
    raise RestconfCheckFailed(operation=case.operation.label, title="Server error",
                              message=f"{response.status_code}: {response.text[:300]}")


def test_schemathesis(make_device, tmp_path):
    dev = make_device()
    dev.set_user("admin", "admin", 15)
    dev.set_usage("network-advantage", 1)
    dev.advance_clock(86400 * 2)
    servers = start_restconf(dev, host="127.0.0.1", port=0, state_dir=tmp_path)
    session = requests.Session()
    session.trust_env = False
    session.verify = False
    # credentials as a header, not session.auth: schemathesis swaps the header to check refused logins
    auth = {"Authorization": "Basic " + base64.b64encode(b"admin:admin").decode()}
    schema = schemathesis.openapi.from_path(Path(OPENAPI_PATH))
    failures = []
    ran = 0
    try:
        for result in schema.get_all_operations():
            operation = result.ok()
            if not selected(operation):
                continue
            excluded, additional = [], []
            if operation.path.startswith("/restconf"):
                excluded = [positive_data_acceptance, not_a_server_error]
                additional = [refused_only_by_device_rules, no_server_error_but_not_implemented]
            elif operation.path == "/smartlic-service/import":
                excluded = [positive_data_acceptance]   # the body must be a signed document, which no schema can generate
            for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):
                strategy = operation.as_strategy(generation_mode=mode)

                @settings(max_examples=EXAMPLES, deadline=None, database=None, derandomize=DERANDOMIZE,
                          phases=[Phase.explicit, Phase.generate], suppress_health_check=list(HealthCheck))
                @given(case=strategy)
                def run(case):
                    case.call_and_validate(excluded_checks=excluded, additional_checks=additional,
                                           base_url=servers.https.url, session=session, headers=auth, verify=False,
                                           timeout=10)

                try:
                    run()
                    ran += 1
                except Unsatisfiable:
                    continue                 # no negative input exists (an operation without parameters)
                except (Exception, BaseExceptionGroup) as exc:  # collect every operation's failure
                    failures.append(f"{operation.label} [{mode.value}]: {_summary(exc)}")
    finally:
        session.close()
        servers.stop()
    assert ran > 0
    assert not failures, "\n\n".join(failures)
    # the device is still consistent and serving
    assert dev.check_password("admin", "admin") == 15


def _summary(exc: BaseException) -> str:
    """The failed checks' titles and the request to reproduce, not the whole report."""
    parts = [exc]
    while any(isinstance(p, BaseExceptionGroup) for p in parts):
        parts = [q for p in parts for q in (p.exceptions if isinstance(p, BaseExceptionGroup) else [p])]
    text = "\n".join(f"{type(p).__name__}: {p}" for p in parts)
    lines = [ln.strip(" |+-") for ln in text.splitlines()]
    keep = [ln for ln in lines if ln.startswith(("- ", "curl ", "[", "schemathesis.", "Failed", "JsonSchema",
                                                   "Undocumented", "API ", "Unsupported", "Server", "Response", "Invalid component",
                                                   "Received", "Documented", "Schema-valid", "400 ", "50"))]
    return "; ".join(dict.fromkeys(keep))[:1500] + " || " + text[:1500]
