"""Automatic reporting of a device with a peer (R24–R28): the push at `Next report push`, the 15-minute
retries after a failure, COMM_FAILED / COMM_RESTORED, the once-a-day throttle, and no push with transport off."""

import pytest

from emulator.cssm import Cssm, LibraryOutbound
from tests.conftest import DAY, T0, texts


@pytest.fixture
def connected(make_device, tmp_path):
    def make(release="17.12.1a", **kw):
        dev = make_device(release=release, **kw)
        dev.attach_outbound(LibraryOutbound(Cssm(state_path=tmp_path / f"cssm-{release}.json"), dev.now))
        dev.apply_config({"url_cslu": "http://192.168.0.1:8182/cslu/v1/pi"})
        return dev
    return make


def test_first_push_two_minutes_after_first_use_then_every_interval(connected):
    dev = connected()
    dev.set_usage("dna-advantage", 1)
    dev.advance_clock(180)
    t = dev.timers()                                  # pushed; the ACK is fetched 4 minutes later (R27)
    assert t.last_report_push == T0 + 120 and t.last_ack is None and t.next_ack_push_check == T0 + 360
    assert {r.state for r in dev.report_list() if r.end} == {"UNACK"}
    dev.advance_clock(3600)
    t = dev.timers()
    assert t.last_ack == T0 + 360 and t.next_ack_push_check is None
    assert dev.comm_statistics()["Result Polling"].success == 1
    assert t.next_report_push == T0 + 120 + 30 * DAY
    assert texts(dev, "LICENSING") == ["SIP service is Up. License report acknowledged."]
    dev.advance_clock(31 * DAY)
    assert dev.timers().last_report_push == T0 + 120 + 30 * DAY
    assert len(texts(dev, "LICENSING")) == 2
    last = dev.timers().last_report_push
    assert all(r.state == "ACK" for r in dev.report_list() if r.end is not None and r.end <= last)


def test_failed_push_retries_every_15_minutes(connected):
    dev = connected()
    dev.inject_fault("unreachable", "cslu", count=3)
    dev.set_usage("dna-advantage", 1)
    dev.advance_clock(120 + 60)
    assert texts(dev, "COMM_FAILED") == ["Communications failure with the Cisco Smart License Utility (CSLU) : "
                                         "Unable to resolve server hostname/domain name"]
    assert dev.timers().next_report_push == T0 + 120 + 900          # the retry
    assert dev.timers().last_report_push is None
    dev.advance_clock(3600)
    assert len(texts(dev, "COMM_FAILED")) == 3
    assert texts(dev, "COMM_RESTORED") == ["Communications with Cisco Smart License Utility (CSLU) restored."]
    assert dev.timers().last_report_push == T0 + 120 + 3 * 900
    stats = dev.comm_statistics()["Usage Reporting"]
    assert (stats.total, stats.success, stats.fail) == (4, 1, 3)


def test_automatic_pushes_are_throttled_to_one_a_day(connected):
    dev = connected(release="17.12.1a")
    dev.set_usage("dna-advantage", 1)
    dev.advance_clock(600)
    dev.reload()                                   # a reload asks for a report two minutes later (R29)
    assert dev.timers().next_report_push == T0 + 600 + 120
    dev.advance_clock(3600)
    assert dev.timers().last_report_push == T0 + 120                # held back by the throttle (R26)
    dev.advance_clock(DAY)
    assert dev.timers().last_report_push == T0 + 120 + DAY
    old = connected(release="17.6.1a", device_id="old", serial="9OLD0000001")
    old.set_usage("dna-advantage", 1)
    old.advance_clock(600)
    old.reload()
    old.advance_clock(3600)
    assert old.timers().last_report_push == T0 + 600 + 120          # no throttling before 17.6.4


def test_transport_off_never_pushes(connected):
    dev = connected()
    dev.apply_config({"transport": "off"})
    dev.set_usage("dna-advantage", 1)
    dev.advance_clock(40 * DAY)
    assert dev.timers().last_report_push is None and texts(dev, "LICENSING") == []


def test_a_poll_id_the_peer_does_not_know_is_dropped(connected, tmp_path):
    dev = connected()
    dev.set_usage("dna-advantage", 1)
    dev.advance_clock(180)                               # pushed, waiting to poll
    dev.attach_outbound(LibraryOutbound(Cssm(state_path=tmp_path / "other.json"), dev.now))   # peer lost it
    dev.advance_clock(300)
    stats = dev.comm_statistics()["Result Polling"]
    assert stats.fail == 1 and stats.failure_reason.startswith("Invalid Polling Id")
    assert dev.timers().next_ack_push_check is None
    assert {r.state for r in dev.report_list() if r.end} == {"UNACK"}     # sent again with the next push


def test_the_scheduler_runs_a_push_in_halves_around_the_exchange(make_device):
    """Device.tick (the scheduler thread) runs a due push as prepare → exchange without the lock → finish:
    the push goes out once, a refused exchange is retried 15 minutes later, and tick never spins."""
    from emulator.engine.comm import CommError

    class Down:
        calls = 0

        def report_usage(self, url, usage):
            Down.calls += 1
            raise CommError("Connection refused")

    dev = make_device()
    dev.set_usage("network-advantage", 1)
    dev.attach_outbound(Down())
    due = dev.timers().next_report_push
    dev.set_clock(due - 1)
    dev.clock.jump_to(due + 1)              # time passes without an operation: the scheduler's turn
    dev.tick()
    assert Down.calls == 1
    assert dev.timers().next_report_push == due + 1 + 15 * 60      # retried in 15 minutes (R28)
    assert texts(dev, "COMM_FAILED")[-1].endswith("Connection refused")
    dev.tick()
    assert Down.calls == 1                                          # nothing due: nothing sent


def test_attempts_bound_to_fail_assemble_nothing(make_device, monkeypatch):
    """A device whose CSLU name does not resolve retries every 15 minutes (L10393), each retry closing the
    open reports and carrying every unreported one: attempts the push client knows will fail (a name its
    resolver failed to look up moments ago) build no usage document, so fast-forwarding such a device stays
    linear; what the device logs and counts is the same."""
    from emulator.engine.reporting import Reporting
    from emulator.frontends.push import DNS_FAILED, HttpOutbound
    built = []
    original = Reporting.usage_document
    monkeypatch.setattr(Reporting, "usage_document", lambda self, *a, **k: built.append(1) or original(self, *a, **k))
    dev = make_device()
    outbound = HttpOutbound(dev)
    sent = []
    monkeypatch.setattr(outbound, "report_usage", lambda url, usage, sudi=None: sent.append(url))
    dev.attach_outbound(outbound)
    dev.apply_config({"url_cslu": "http://cslu.invalid:8182/cslu/v1/pi"})    # RFC 6761: never resolves
    dev.set_usage("dna-advantage", 1)
    dev.advance_clock(DAY)
    stats = dev.comm_statistics()["Usage Reporting"]
    assert stats.fail == stats.total == 96 and stats.failure_reason == DNS_FAILED
    assert (built, sent) == ([], [])
    assert texts(dev, "COMM_FAILED")[0] == ("Communications failure with the Cisco Smart License Utility (CSLU) : "
                                            "Unable to resolve server hostname/domain name")
    assert len([r for r in dev.report_list() if r.end is not None]) == 96


def test_the_resolver_knows_a_failure_only_while_it_is_cached(monkeypatch):
    import socket
    import time as time_module
    from emulator.frontends.push import Resolver
    queries = []

    def getaddrinfo(host, port, **kw):
        queries.append(host)
        raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")
    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)
    resolver = Resolver({"cslu-local": "127.0.0.1"}, negative_ttl=30)
    assert not resolver.known_failure("cslu.example") and not resolver.known_failure("cslu-local")
    assert resolver.known_failure("x.invalid")
    with pytest.raises(Exception):
        resolver.resolve("cslu.example", 8182)
    assert resolver.known_failure("CSLU.example.") and queries == ["cslu.example"]
    now = time_module.monotonic()
    monkeypatch.setattr(time_module, "monotonic", lambda: now + 31)
    assert not resolver.known_failure("cslu.example")
