"""Schemathesis against the OpenAPI document of both APIs, on a real HTTPS server (bounded: a few positive
and negative examples per operation, so that the run takes seconds)."""

import base64
import os
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
from schemathesis.specs.openapi.checks import positive_data_acceptance

pytestmark = pytest.mark.filterwarnings("ignore::urllib3.exceptions.InsecureRequestWarning",
                                        "ignore::DeprecationWarning")

EXAMPLES = 6
DERANDOMIZE = os.environ.get("SLPEMU_SCHEMATHESIS_RANDOM") != "1"   # 1: a new sample each run


def test_openapi_document_is_served_and_matches_the_repo(make_device, tmp_path):
    dev = make_device()
    servers = start_restconf(dev, host="127.0.0.1", port=0, state_dir=tmp_path)
    try:
        resp = requests.get(servers.https.url + "/openapi.yaml", verify=False, timeout=10)
        assert resp.status_code == 200 and resp.content == OPENAPI_PATH.read_bytes()
        doc = yaml.safe_load(resp.content)
        assert doc["openapi"].startswith("3.") and "/smartlic-service/all-reports" in doc["paths"]
    finally:
        servers.stop()


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
            # an import body must be a signed document, which no schema can generate
            excluded = [positive_data_acceptance] if operation.path == "/smartlic-service/import" else []
            for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):
                strategy = operation.as_strategy(generation_mode=mode)

                @settings(max_examples=EXAMPLES, deadline=None, database=None, derandomize=DERANDOMIZE,
                          phases=[Phase.explicit, Phase.generate], suppress_health_check=list(HealthCheck))
                @given(case=strategy)
                def run(case):
                    case.call_and_validate(excluded_checks=excluded,
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
                                                   "Received", "Documented"))]
    return "; ".join(dict.fromkeys(keep))[:1500] + " || " + text[:1500]
