"""RUM report lifecycle (R19–R22, Q5) and the summary counters."""

from tests.conftest import DAY, T0


def _by_feature(dev, feature):
    return [r for r in dev.report_list() if r.feature == feature]


def test_first_use_opens_a_report_with_an_epoch_seeded_id(make_device):
    dev = make_device()
    ent = dev.set_usage("network-advantage", 2)
    [r] = dev.report_list()
    assert r.id == int(T0) and r.state == "OPEN" and r.reason == "None" and r.flag == "N"
    assert (r.feature, r.tag, r.count, r.prev_id, r.next_id) == (ent.name, ent.full_tag, 2, 0, 0)
    assert r.udi == dev.udi and r.storage == "EXIST"


def test_reports_close_daily_and_chain(make_device):
    dev = make_device()
    dev.set_usage("network-advantage", 1)
    dev.advance_clock(3 * DAY + 60)
    chain = dev.report_list()
    assert [r.state for r in chain] == ["CLOSED", "CLOSED", "CLOSED", "OPEN"]
    assert [r.id for r in chain] == [int(T0) + i for i in range(4)]
    for prev, nxt in zip(chain, chain[1:]):
        assert prev.next_id == nxt.id and nxt.prev_id == prev.id and nxt.start == prev.end
    assert chain[0].end == T0 + DAY and chain[0].reason == "NONE"
    assert chain[0].payload is not None and chain[-1].payload is None


def test_count_change_and_removal(make_device):
    dev = make_device()
    dev.set_usage("dna-advantage", 1)
    dev.advance_clock(3600)
    dev.set_usage("dna-advantage", 5)
    first, second = dev.report_list()
    assert (first.state, first.count, second.state, second.count) == ("CLOSED", 1, "OPEN", 5)
    dev.advance_clock(3600)
    dev.set_usage("dna-advantage", 0)
    last = dev.report_list()[-1]
    assert (last.state, last.reason, last.next_id) == ("CLOSED", "DECONFIG", 0)
    dev.advance_clock(5 * DAY)
    assert len(dev.report_list()) == 2                # nothing in use: no new reports


def test_reload_closes_with_reason_reload(make_device):
    dev = make_device()
    dev.set_usage("network-advantage", 1)
    dev.set_usage("dna-advantage", 1)
    assert dev.reload() == 2
    states = [(r.feature, r.state, r.reason) for r in dev.report_list()]
    assert states[:2] == [(r, "CLOSED", "RELOAD") for r in (states[0][0], states[1][0])]
    assert [s[1] for s in states[2:]] == ["OPEN", "OPEN"]
    assert any(m.mnemonic == "AGENT_ENABLED" for m in dev.syslog())


def test_summary_counters(make_device):
    dev = make_device()
    dev.set_usage("network-advantage", 1)
    dev.set_usage("dna-advantage", 1)
    dev.advance_clock(2 * DAY + 1)                    # 2 closes: 4 closed, 2 open
    s = dev.report_summary()
    assert (s.total, s.purged, s.acknowledged, s.waiting_for_ack, s.available_to_report,
            s.collecting_data, s.in_storage, s.mia) == (6, 0, 0, 0, 6, 2, 6, 0)     # R22's shape


def test_storage_limit_purges_oldest_unacknowledged(make_device, monkeypatch):
    import emulator.engine.reporting as reporting_module
    monkeypatch.setattr(reporting_module, "REPORT_STORAGE_LIMIT", 5)
    dev = make_device()
    dev.set_usage("network-advantage", 1)
    dev.advance_clock(8 * DAY + 1)
    reports = dev.report_list()
    purged = [r for r in reports if r.flag == "P"]
    assert [r.id for r in purged] == [int(T0) + i for i in range(3)]
    assert all(r.storage == "PURGED" and r.storage_reason == "LIMIT_STORAGE" and r.payload is None
               for r in purged)
    assert dev.report_summary().purged == 3
