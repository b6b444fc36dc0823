"""Leaf values typed by pyang's resolved type specs: every YANG built-in type in XML and RFC 7951 JSON
(tests/unit/yang/slpemu-typing*.yang has one leaf of each), XML-illegal characters, over-long numbers,
duplicate leaves and members, and the strict encoder."""

import json
import threading
from decimal import Decimal
from pathlib import Path

import pytest
from lxml import etree

from emulator.xmlsafe import parse_xml
from emulator.yangdata import YangError, decode_json, decode_xml, to_json_value, to_xml
from emulator.yangdata.codec import xml_string
from emulator.yangdata.decode import load_json
from emulator.yangdata.schema import Schema

YANG = Path(__file__).parent / "yang"
TT = "urn:slpemu:test:typing"
TB = "urn:slpemu:test:typing-base"
REFUSED = object()
TOP_PATH = "/slpemu-typing:top"


class TypingSchema(Schema):
    implemented = ("slpemu-typing",)
    supporting = ("slpemu-typing-base",)


@pytest.fixture(scope="module")
def schema():
    return TypingSchema(directories=(YANG,))


@pytest.fixture(scope="module")
def top(schema):
    return schema.top["slpemu-typing:top"]


def from_xml(top, inner: str, nsdecl: str = ""):
    el = parse_xml(f'<top xmlns="{TT}"{nsdecl}>{inner}</top>')
    return decode_xml(top, el, allow_ops=False).to_data()


def xml_leaf(top, name, text, nsdecl=""):
    return from_xml(top, f"<{name}>{text}</{name}>", nsdecl)[name]


class Raw(str):
    """A member value given as JSON text (numbers json.dumps cannot write)."""


def json_leaf(top, name, value):
    """The decoded value of one member, sent through the RFC 7951 loader as a client's text would be."""
    text = value if isinstance(value, Raw) else json.dumps(value)
    return decode_json(top, load_json("{" + json.dumps(name) + ":" + text + "}"))[0].to_data()[name]


def refusal(fn, tag="invalid-value") -> YangError:
    with pytest.raises(YangError) as info:
        fn()
    assert info.value.tag == tag, info.value
    assert len(info.value.message) < 400
    return info.value


# ============================================================================================ XML values

XML_CASES = [
    ("ratio", "1.5", Decimal("1.5")), ("ratio", "100", Decimal("100")), ("ratio", "+007.50", Decimal("7.5")),
    ("ratio", "100.01", REFUSED), ("ratio", "1.555", REFUSED), ("ratio", "-0.5", REFUSED), ("ratio", "abc", REFUSED),
    ("ratio", "1.", REFUSED), ("ratio", "9" * 5000 + ".5", REFUSED),
    ("big", "-9223372036854775808", -2 ** 63), ("big", " 42 ", 42), ("big", "017", 17), ("big", "+5", 5),
    ("big", "0" * 5000 + "1", 1),
    ("big", "9223372036854775808", REFUSED), ("big", "0x10", REFUSED), ("big", "1_000", REFUSED),
    ("big", "\u0663", REFUSED), ("big", "1.0", REFUSED), ("big", "", REFUSED), ("big", "9" * 5000, REFUSED),
    ("ubig", "18446744073709551615", 2 ** 64 - 1), ("ubig", "0", REFUSED), ("ubig", "18446744073709551616", REFUSED),
    ("small", "10", 10), ("small", "-5", -5), ("small", "6", REFUSED), ("small", "-6", REFUSED),
    ("flag", "true", True), ("flag", "false", False), ("flag", "yes", REFUSED), ("flag", "1", REFUSED),
    ("marker", "", True), ("marker", "x", REFUSED),
    ("colour", "green", "green"), ("colour", "blue", REFUSED),
    ("flags", "gamma alpha", "alpha gamma"), ("flags", "beta", "beta"), ("flags", "", ""),
    ("flags", "alpha delta", REFUSED),
    ("name", "ab-c.d", "ab-c.d"), ("name", "_x", "_x"), ("name", "a:b", REFUSED), ("name", "1abc", REFUSED),
    ("name", "a" * 17, REFUSED),
    ("letters", "\u00e9t\u00e9", "\u00e9t\u00e9"), ("letters", "abc1", REFUSED),
    ("consonants", "bcd", "bcd"), ("consonants", "abc", REFUSED),
    ("not-admin", "root", "root"), ("not-admin", "admin", REFUSED),
    ("mixed", "5", 5), ("mixed", "unbounded", "unbounded"), ("mixed", "ABC", "ABC"), ("mixed", "11", REFUSED),
    ("mixed", "abc", REFUSED),
    ("wide", "5", 5), ("wide", "five", "five"),
    ("ref", "12", 12), ("ref", "x", REFUSED),
    ("target", "/tt:top/tt:count", "/tt:top/tt:count"),
    ("blob", "AAEC", "AAEC"), ("blob", "AAECAwQ=", REFUSED), ("blob", "!!!!", REFUSED),
    ("text", " two  spaces ", " two  spaces "),
]


@pytest.mark.parametrize("leaf, text, expected", XML_CASES, ids=[f"{c[0]}={c[1][:20]!r}" for c in XML_CASES])
def test_xml_leaf_values(top, leaf, text, expected):
    if expected is REFUSED:
        err = refusal(lambda: xml_leaf(top, leaf, text))
        assert err.path == f"{TOP_PATH}/{leaf}"
    else:
        value = xml_leaf(top, leaf, text)
        assert value == expected and type(value) is type(expected)


IDENTITY_CASES = [
    (f' xmlns:b="{TB}"', "b:smart", "slpemu-typing-base:smart"),
    (f' xmlns:other="{TB}"', "other:cslu", "slpemu-typing-base:cslu"),   # any prefix bound to the namespace
    (f' xmlns:t="{TT}"', "t:off", "slpemu-typing:off"),
    ("", "off", "slpemu-typing:off"),                                     # the default namespace's module
    (f' xmlns:b="{TB}"', "b:red", REFUSED),                               # not derived from tb:transport
    (f' xmlns:b="{TB}"', "b:transport", REFUSED),                         # the base itself
    (f' xmlns:b="{TB}"', "b:nothing", REFUSED),
    ("", "smart", REFUSED),                                               # smart is not in slpemu-typing
    ("", "x:smart", REFUSED),                                             # undeclared prefix
    (' xmlns:u="urn:unknown"', "u:smart", REFUSED),
]


@pytest.mark.parametrize("nsdecl, text, expected", IDENTITY_CASES)
def test_identityref_prefixes_resolve_through_xml_namespaces(top, nsdecl, text, expected):
    if expected is REFUSED:
        refusal(lambda: xml_leaf(top, "transport", text, nsdecl))
    else:
        assert xml_leaf(top, "transport", text, nsdecl) == expected


def test_identityref_default_uses_the_modules_own_prefixes(top):
    from emulator.yangdata.decode import check_value
    node = top.children["defaulted"]
    assert check_value(node, node.default) == "slpemu-typing-base:smart"


# ============================================================================================ JSON values

JSON_CASES = [
    ("ratio", "1.5", Decimal("1.5")), ("ratio", Raw("1.5"), Decimal("1.5")), ("ratio", 100, Decimal("100")),
    ("ratio", Raw("1e1"), Decimal("10")), ("ratio", Raw("1e999999999"), REFUSED), ("ratio", Raw("1e-999999999"), REFUSED),
    ("ratio", True, REFUSED), ("ratio", "1.555", REFUSED),
    ("big", 864000, 864000), ("big", "864000", 864000), ("big", "-5", -5), ("big", True, REFUSED),
    ("big", Raw("1.0"), REFUSED), ("big", "0x10", REFUSED), ("big", " 5", REFUSED),
    ("big", Raw("9" * 5000), REFUSED), ("big", "9" * 5000, REFUSED), ("big", Raw("-" + "9" * 5000), REFUSED),
    ("ubig", 2 ** 64 - 1, 2 ** 64 - 1), ("ubig", str(2 ** 64 - 1), 2 ** 64 - 1), ("ubig", 2 ** 64, REFUSED),
    ("count", 5, 5), ("count", "5", REFUSED), ("count", -1, REFUSED), ("count", Raw("9" * 5000), REFUSED),
    ("flag", True, True), ("flag", "true", REFUSED), ("flag", 1, REFUSED),
    ("marker", [None], True), ("marker", None, REFUSED), ("marker", "", REFUSED),
    ("colour", "red", "red"), ("colour", 7, REFUSED),
    ("transport", "slpemu-typing-base:smart", "slpemu-typing-base:smart"), ("transport", "off", "slpemu-typing:off"),
    ("transport", "slpemu-typing:off", "slpemu-typing:off"), ("transport", "smart", REFUSED),
    ("transport", "slpemu-typing-base:red", REFUSED), ("transport", "nope:smart", REFUSED),
    ("flags", "beta alpha", "alpha beta"), ("flags", ["alpha"], REFUSED),
    ("mixed", 5, 5), ("mixed", "ABC", "ABC"), ("mixed", "unbounded", "unbounded"), ("mixed", "5", REFUSED),
    ("mixed", 11, REFUSED),
    ("wide", 5, 5), ("wide", "5", 5), ("wide", "five", "five"),
    ("ref", 12, 12), ("ref", "12", REFUSED),
    ("text", "\U0001f600 \t\n\r \U0010ffff \ud7ff \ue000 \ufffd", "\U0001f600 \t\n\r \U0010ffff \ud7ff \ue000 \ufffd"),
    ("text", 5, REFUSED), ("text", None, REFUSED),
]


@pytest.mark.parametrize("leaf, value, expected", JSON_CASES, ids=[f"{c[0]}={str(c[1])[:20]!r}" for c in JSON_CASES])
def test_json_leaf_values(top, leaf, value, expected):
    if expected is REFUSED:
        err = refusal(lambda: json_leaf(top, leaf, value))
        assert err.path == f"{TOP_PATH}/{leaf}"
    else:
        got = json_leaf(top, leaf, value)
        assert got == expected and type(got) is type(expected)


ILLEGAL = ["\u0000", "\u0001", "\u0008", "\u000b", "\u000c", "\u001f", "\ufffe", "\uffff", "\ud800", "\udfff"]


@pytest.mark.parametrize("char", ILLEGAL, ids=[f"U+{ord(c):04X}" for c in ILLEGAL])
def test_xml_illegal_characters_are_refused_in_every_string_typed_leaf(top, char):
    for leaf in ("text", "name", "letters", "mixed", "wide", "target", "not-admin"):
        err = refusal(lambda: json_leaf(top, leaf, f"A{char}B"))
        assert err.path == f"{TOP_PATH}/{leaf}"
        assert f"U+{ord(char):04X}" in err.message
        etree.Element("m").text = err.message          # the message itself is serialisable
        json.dumps(err.message, ensure_ascii=False).encode("utf-8")
    # a list key and a leaf-list value are leaves too
    refusal(lambda: decode_json(top, load_json(json.dumps({"entry": [{"name": f"a{char}"}]}))))
    refusal(lambda: decode_json(top, load_json(json.dumps({"tags": [f"a{char}"]}))))


# ============================================================================================ 64-bit JSON

def test_64_bit_numbers_are_json_strings_on_output_and_either_on_input(top):
    data = {"big": -5, "ubig": 7, "ratio": Decimal("2"), "wide": 5, "count": 3, "small": -1}
    out = to_json_value(top, data)
    assert out == {"big": "-5", "ubig": "7", "ratio": "2.0", "wide": "5", "count": 3, "small": -1}
    assert to_json_value(top, {"ratio": Decimal("7.50")}) == {"ratio": "7.5"}
    assert to_json_value(top, {"wide": "five"}) == {"wide": "five"}
    for form in (out, {**out, "big": -5, "ubig": 7, "ratio": 2}):
        assert decode_json(top, load_json(json.dumps(form)))[0].to_data() == data


# ============================================================================================ round trips

def test_every_type_round_trips_through_xml_and_json(top):
    data = {"ratio": Decimal("12.5"), "big": -2 ** 63, "ubig": 2 ** 64 - 1, "small": 10, "count": 4, "flag": False,
            "marker": True, "colour": "green", "transport": "slpemu-typing-base:cslu", "flags": "alpha beta",
            "name": "x", "letters": "\u00e9", "consonants": "xyz", "not-admin": "root", "mixed": "unbounded",
            "wide": 9, "ref": 4, "target": "/tt:top", "blob": "AAEC", "text": "\U0001f600",
            "entry": [{"name": "a", "value": 1}, {"name": "b"}], "tags": ["x", "y"]}
    text = xml_string(to_xml(top, data))
    root = etree.fromstring(text)
    transport = root.find(f"{{{TT}}}transport")
    prefix, name = transport.text.split(":")
    assert transport.nsmap[prefix] == TB and name == "cslu"
    assert decode_xml(top, parse_xml(text), allow_ops=False).to_data() == data
    doc = json.dumps(to_json_value(top, data))
    assert json.loads(doc)["transport"] == "slpemu-typing-base:cslu"
    assert decode_json(top, load_json(doc))[0].to_data() == data


# ============================================================================================ duplicates

def test_duplicate_leaf_in_xml_is_a_bad_element(top):
    err = refusal(lambda: from_xml(top, "<count>1</count><count>2</count>"), "bad-element")
    assert err.info == {"bad-element": "count"} and err.path == f"{TOP_PATH}/count"
    refusal(lambda: from_xml(top, "<marker/><marker/>"), "bad-element")


def test_duplicate_list_entries_in_xml_are_a_bad_element(top):
    entries = "<entry><name>a</name><value>1</value></entry><entry><value>2</value><name>a</name></entry>"
    err = refusal(lambda: from_xml(top, entries), "bad-element")
    assert err.info == {"bad-element": "entry"} and err.path == f"{TOP_PATH}/entry"
    assert from_xml(top, "<entry><name>a</name></entry><entry><name>b</name></entry>")["entry"] == [
        {"name": "a"}, {"name": "b"}]


def test_duplicate_rpc_input_leaf_is_a_bad_element(schema):
    rpc = schema.rpcs["slpemu-typing:act"]
    el = parse_xml(f'<act xmlns="{TT}"><seconds>1</seconds><seconds>2</seconds></act>')
    err = refusal(lambda: decode_xml(rpc.children["input"], el, allow_ops=False), "bad-element")
    assert err.info == {"bad-element": "seconds"}


def test_duplicate_json_members_are_refused(top):
    err = refusal(lambda: load_json('{"a": {"b": 1, "c": 2, "b": 1}}'), "bad-element")
    assert err.info == {"bad-element": "b"}
    err = refusal(lambda: decode_json(top, load_json('{"count": 1, "slpemu-typing:count": 2}')), "bad-element")
    assert err.info == {"bad-element": "count"} and err.path == f"{TOP_PATH}/count"
    err = refusal(lambda: decode_json(top, load_json('{"entry": [{"name": "a"}, {"name": "a", "value": 2}]}')),
                  "bad-element")
    assert err.info == {"bad-element": "entry"}
    assert load_json('{"a": [{"b": 1}, {"b": 2}]}') == {"a": [{"b": 1}, {"b": 2}]}


def test_json_loader_refuses_what_rfc_8259_does_not_define():
    for text in ("NaN", '{"a": Infinity}', '{"a": -Infinity}'):
        with pytest.raises(ValueError):
            load_json(text)


# ============================================================================================ the encoder

@pytest.mark.parametrize("data", [
    {"count": 1, "bogus": 2},
    {"entry": [{"name": "a", "bogus": 1}]},
    {"bogus": None},
])
def test_the_encoder_refuses_keys_the_schema_does_not_know(top, data):
    for encode in (lambda: to_json_value(top, data), lambda: to_xml(top, data)):
        err = refusal(encode, "operation-failed")
        assert "bogus" in err.message


# ============================================================================================ threads

def test_patterns_are_checked_correctly_from_many_threads(top):
    """pyang's XSDPattern validates through one shared lxml element; concurrent checks must not mix values."""
    wrong = []

    def worker(leaf, good, bad):
        for _ in range(300):
            try:
                if json_leaf(top, leaf, good) != good:
                    wrong.append((leaf, good))
            except YangError:
                wrong.append((leaf, good))
            try:
                json_leaf(top, leaf, bad)
                wrong.append((leaf, bad))
            except YangError:
                pass

    threads = [threading.Thread(target=worker, args=args) for args in
               [("letters", "\u00e9t\u00e9", "abc1"), ("consonants", "bcd", "abc"), ("name", "ok", "1bad"),
                ("not-admin", "root", "admin")] * 2]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert wrong == []


def test_content_selection_refuses_keys_the_schema_does_not_know(top):
    from emulator.yangdata import select_content
    for content in ("config", "nonconfig"):
        err = refusal(lambda: select_content(top, {"count": 1, "bogus": 2}, content), "operation-failed")
        assert "bogus" in err.message and err.http_status == 500


@pytest.mark.parametrize("char", ILLEGAL, ids=[f"U+{ord(c):04X}" for c in ILLEGAL])
def test_a_stored_string_xml_cannot_hold_is_written_escaped(top, char):
    """Input refuses these characters; a value stored before that (or by another channel) still encodes."""
    root = etree.fromstring(xml_string(to_xml(top, {"text": f"a{char}b"})))
    assert root.findtext(f"{{{TT}}}text") == f"a\\u{ord(char):04x}b"


def test_restrictions_for_generated_documents(top, schema):
    t = {name: top.children[name].type for name in top.children if top.children[name].is_leaf}
    assert t["colour"].enums == {"red": 0, "green": 7}
    assert t["small"].ranges == [(-5, 5), (10, 10)]
    assert t["ubig"].ranges == [(1, 2 ** 64 - 1)] and t["count"].ranges == [(0, 2 ** 32 - 1)]
    assert [(str(a), str(b)) for a, b in t["ratio"].ranges] == [("0", "100")]
    assert t["name"].lengths == [(1, 16)] and t["text"].lengths == [] and t["text"].ranges == []
    assert t["name"].patterns == ["[\\i-[:]][\\c-[:]]*"] and t["not-admin"].patterns == []
    assert t["transport"].base == "identityref" and t["mixed"].members[1].enums == {"unbounded": 0}
