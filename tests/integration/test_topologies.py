"""Every topology of the guide end to end (behaviour.md §3), with separate processes on loopback: CSSM
(`slpemu cssm serve`), CSLU / SSM On-Prem (`slpemu cslu serve`) and devices (`slpemu serve`) started by the
`estate` fixture. Each test checks the device (`show license status`, its syslog), the CSSM inventory and
the web pages after moving the clocks with the control RPCs."""

from __future__ import annotations

import base64
import json
import re
import tarfile
import io

import pytest

from emulator.engine import artifacts
from tests.integration.estate import DAY, run_cli

BUILTIN_SIGNATURES = hasattr(artifacts, "check_rum_signature")


def acked(status: dict) -> bool:
    return status.get("Last ACK received", "<none>") != "<none>"


def test_cslu_push_connected_to_cssm(estate):
    """§3.1: the device pushes to CSLU, CSLU relays to CSSM over its REST API, the ACK (with the trust
    code) comes back on the device's next contact."""
    cssm = estate.cssm()
    cslu = estate.cslu(cssm=cssm)
    dev = estate.device()
    dev.configure(f"license smart url cslu {cslu.pi_url}")
    dev.use("network-advantage", 2)
    dev.use("dna-advantage", 2)                   # a subscription: reports every 30 days (R24)
    dev.advance(150)                              # the first push, 2 minutes after first use (R13)
    status = dev.status()
    assert status["Last report push"] != "<none>" and not acked(status), status
    assert status["Next ACK push check"] != "<none>"
    dev.advance(300)                              # the poll 4 minutes later gets the ACK (R27)
    status = dev.status()
    assert acked(status), status
    assert "INSTALLED on" in dev.cli("show license status")          # the trust code came with the ACK
    assert dev.syslog("COMM_FAILED") == []
    assert any("License report acknowledged" in line for line in dev.syslog())
    udi = f"PID:C8000V,SN:{dev.serial}"
    pi = cssm.inventory()[udi]
    assert pi["virtual_account"] == "Eg-VA" and pi["last_ack"] is not None
    assert any(tag.startswith("regid.") and count == 2 for tag, count in pi["licenses"].items())
    assert udi in cssm.page() and udi in cslu.page()
    dev.advance(95 * DAY)                         # three more monthly pushes, each acknowledged
    reports = cssm.inventory()[udi]["reports"]
    assert len({r["report_id"] for r in reports}) >= 4 and {r["status"] for r in reports} == {"ACKED"}
    assert dev.syslog("COMM_FAILED") == []
