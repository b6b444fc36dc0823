"""The device's own YANG modules at the data layer's input and output: the defects of issue 9, each shown
with the functions that existed before it (decode_xml, decode_json, to_json_value, to_xml)."""

import pytest

from emulator.xmlsafe import parse_xml
from emulator.yangdata import YangError, decode_json, decode_xml, get_schema, to_json_value, to_xml

CSL = "http://cisco.com/ns/yang/cisco-smart-license"
ILLEGAL = ["\u0000", "\u0001", "\u001f", "\ufffe", "\uffff", "\ud800", "\udfff"]


@pytest.fixture(scope="module")
def licensing():
    return get_schema().top["cisco-smart-license:licensing"]


def refused(fn, tag):
    with pytest.raises(YangError) as info:
        fn()
    assert info.value.tag == tag, info.value
    return info.value


@pytest.mark.parametrize("char", ILLEGAL, ids=[f"U+{ord(c):04X}" for c in ILLEGAL])
def test_strings_with_xml_illegal_characters_are_invalid_values(licensing, char):
    err = refused(lambda: decode_json(licensing, {"config": {"custom-id": f"lab{char}7"}}), "invalid-value")
    assert err.path == "/cisco-smart-license:licensing/config/custom-id"
    rpc = get_schema().rpcs["cisco-smart-license:import-file"]
    err = refused(lambda: decode_json(rpc.children["input"], {"file-path": f"a{char}.txt"}), "invalid-value")
    assert err.path.endswith("file-path")


def test_a_leaf_given_twice_in_xml_is_a_bad_element(licensing):
    el = parse_xml(f'<licensing xmlns="{CSL}"><config><custom-id>A</custom-id><custom-id>B</custom-id>'
                   "</config></licensing>")
    err = refused(lambda: decode_xml(licensing, el), "bad-element")
    assert err.info == {"bad-element": "custom-id"}
    assert err.path == "/cisco-smart-license:licensing/config/custom-id"


def test_two_cases_of_one_choice_are_a_bad_element(licensing):
    """RFC 7950 §7.9: one case of a choice exists. Given two in one request, the later one used to replace
    the first silently; now it is refused, in XML and JSON alike (a case deleted alongside another is fine)."""
    both = {"config": {"transport": {"transport-smart": {"url-default": True,
                                                         "urls": {"url-registration": "https://x/y"}}}}}
    err = refused(lambda: decode_json(licensing, both), "bad-element")
    assert err.info == {"bad-element": "urls"}
    assert err.path == "/cisco-smart-license:licensing/config/transport/transport-smart/urls"
    el = parse_xml(f'<licensing xmlns="{CSL}"><config><transport><transport-smart><url-default>true</url-default>'
                   "<urls><url-registration>https://x/y</url-registration></urls>"
                   "</transport-smart></transport></config></licensing>")
    assert refused(lambda: decode_xml(licensing, el), "bad-element").info == {"bad-element": "urls"}
    nc = "urn:ietf:params:xml:ns:netconf:base:1.0"
    el = parse_xml(f'<licensing xmlns="{CSL}" xmlns:nc="{nc}"><config><transport><transport-smart>'
                   '<url-default nc:operation="delete"/><urls><url-registration>https://x/y</url-registration>'
                   "</urls></transport-smart></transport></config></licensing>")
    decode_xml(licensing, el)
    rpc = get_schema().rpcs["slpemu-control:inject-fault"].children["input"]
    refused(lambda: decode_json(rpc, {"kind": "timeout", "count": 1, "seconds": 5}), "bad-element")


def test_an_over_long_integer_is_an_invalid_value_not_a_crash(licensing):
    el = parse_xml(f'<licensing xmlns="{CSL}"><config><usage><interval>{"9" * 5000}</interval></usage>'
                   "</config></licensing>")
    err = refused(lambda: decode_xml(licensing, el), "invalid-value")
    assert err.path == "/cisco-smart-license:licensing/config/usage/interval" and len(err.message) < 200
    refused(lambda: decode_json(licensing, {"config": {"usage": {"interval": "9" * 5000}}}), "invalid-value")


def test_uint64_input_takes_a_json_number_or_string_and_is_written_as_a_string():
    schema = get_schema()
    rpc = schema.rpcs["slpemu-control:advance-clock"]
    for seconds in (864000, "864000"):
        assert decode_json(rpc.children["input"], {"seconds": seconds})[0].to_data() == {"seconds": 864000}
    clock = schema.top["slpemu-control:clock"]
    assert to_json_value(clock, {"offset-seconds": -5, "frozen": True}) == {"offset-seconds": "-5", "frozen": True}


@pytest.mark.parametrize("data", [
    {"state": {"state-info": {"renamed-key": 1}}},
    {"config": {"custom-id": "x"}, "bogus": {}},
])
def test_the_encoder_refuses_keys_the_schema_does_not_know(licensing, data):
    for encode in (lambda: to_json_value(licensing, data), lambda: to_xml(licensing, data)):
        err = refused(encode, "operation-failed")
        assert "renamed-key" in err.message or "bogus" in err.message
