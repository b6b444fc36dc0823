"""The IOS command parser, output filters and table geometry, without sockets."""

import pytest

from emulator.frontends.cli.parser import Grammar, ParseError, apply_pipes, split_pipe
from emulator.frontends.cli.render import summary_row, truncate


def grammar():
    g = Grammar({"show": "Show running system information", "license": "Smart licensing Commands"})
    g.add("show license summary", "summary")
    g.add("show license status", "status")
    g.add("show license eventlog", "eventlog")
    g.add("show license eventlog <0-2147483647>:days", "eventlog-days")
    g.add("show logging", "logging")
    g.add("hostname WORD:name", "hostname")
    g.add("license smart usage customer-tags tag1:tag LINE:value", "tag")
    return g


def test_abbreviations_exact_match_and_arguments():
    g = grammar()
    m = g.parse("sh lic sum")
    assert m.action == "summary" and m.words == ["show", "license", "summary"]
    assert g.parse("SHOW LICENSE STATUS").action == "status"
    assert g.parse("show license eventlog 2").args == {"days": 2}
    assert g.parse("hostname R1").args == {"name": "R1"}
    assert g.parse("license smart usage customer-tags tag1 SA/VA:01 x").args["value"] == "SA/VA:01 x"


@pytest.mark.parametrize("line,kind,column", [
    ("show license foo", "invalid", 13),
    ("show lic summary extra", "invalid", 17),
    ("show license eventlog 2147483648", "invalid", 22),
    ("show license", "incomplete", None),
    ("sh l", "ambiguous", None),
    ("show license s", "ambiguous", None),
])
def test_errors(line, kind, column):
    with pytest.raises(ParseError) as exc:
        grammar().parse(line)
    assert exc.value.kind == kind
    if column is not None:
        assert exc.value.column == column
        assert exc.value.lines(len("Router#"), line) == [" " * (7 + column) + "^",
                                                         "% Invalid input detected at '^' marker."]
    if kind == "ambiguous":
        assert exc.value.lines(7, line) == [f'% Ambiguous command:  "{line}"']
    if kind == "incomplete":
        assert exc.value.lines(7, line) == ["% Incomplete command."]


def test_help_and_completion():
    g = grammar()
    lines, err = g.help("show license ")
    assert err is None
    assert lines[0].startswith("  eventlog") and any("summary" in ln for ln in lines)
    assert g.help("show license s")[0] == ["status  summary  "]
    assert g.help("show license eventlog ")[0] == ["  <0-2147483647>", "  <cr>            <cr>"]
    assert g.help("show license x")[1] == "% Unrecognized command"
    assert g.complete("sh") == "show "
    assert g.complete("show license su") == "show license summary "
    assert g.complete("show license s") is None


def test_pipes():
    text = "Transport:\n  Type: cslu\nPolicy:\n  Policy in use: x\nUsage Reporting:\n  Last ACK received: <none>\n"
    cmd, pipes, bad = split_pipe("show license status | include Type")
    assert (cmd, bad) == ("show license status ", None)
    assert apply_pipes(text, pipes) == "  Type: cslu\n"
    assert apply_pipes(text, split_pipe("x | begin Policy")[1]).startswith("Policy:\n")
    assert apply_pipes(text, split_pipe("x | section Policy")[1]) == "Policy:\n  Policy in use: x\n"
    assert apply_pipes(text, split_pipe("x | exclude Type|in use|ACK")[1]) == "Transport:\nPolicy:\nUsage Reporting:\n"
    assert apply_pipes(text, split_pipe("x | count Type")[1]) == "Number of lines which match regexp = 1\n"
    assert split_pipe("x | frobnicate y")[2] is not None
    assert split_pipe("x | include")[2] == -1


def test_summary_row_geometry_and_truncation():
    # widths of real captures: name 24, "(tag)" 30, count right-aligned in 5
    assert summary_row("network-advantage", "C9300-24 Network Advantage", 2, "IN USE") == \
        "  network-advantage       (C9300-24 Network Advan...)       2 IN USE"
    assert summary_row("Router US Export Lic. for DNA", "DNA_HSEC", 1, "IN USE") == \
        "  Router US Export Lic... (DNA_HSEC)                        1 IN USE"
    assert truncate("ISR_4351_400M_Performance", 22, 25) == "ISR_4351_400M_Performance"
    assert truncate("ISR_4331_UnifiedCommunication", 22, 25) == "ISR_4331_UnifiedCommun..."
