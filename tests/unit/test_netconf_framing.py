"""RFC 6242 framing: end-of-message and chunked decoding, tolerant of chunk sizes, strict on bad frames."""

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from emulator.frontends.netconf.framing import (EOM, FrameReader, FramingError, frame_chunked, frame_eom)


def _drain(reader: FrameReader) -> list[bytes]:
    out = []
    while (msg := reader.next_message()) is not None:
        out.append(msg)
    return out


def _chunks(message: bytes, size: int) -> bytes:
    parts = [message[i:i + size] for i in range(0, len(message), size)]
    return b"".join(b"\n#%d\n" % len(p) + p for p in parts) + b"\n##\n"


def test_eom_messages_split_anywhere():
    stream = frame_eom(b"<hello/>") + frame_eom(b"<rpc>]]></rpc>")
    reader = FrameReader()
    got = []
    for i in range(len(stream)):                     # one byte at a time: the delimiter straddles reads
        reader.feed(stream[i:i + 1])
        got += _drain(reader)
    assert got == [b"<hello/>", b"<rpc>]]></rpc>"]


@pytest.mark.parametrize("size", [1, 2, 7, 100, 4096, 1_000_000])
def test_chunked_any_chunk_size(size):
    message = b"<rpc message-id='1'>" + b"x" * 5000 + b"</rpc>"
    reader = FrameReader()
    reader.switch_to_chunked()
    reader.feed(_chunks(message, size) * 2)
    assert _drain(reader) == [message, message]


@settings(max_examples=60, deadline=None)
@given(st.binary(min_size=1, max_size=300), st.integers(1, 50), st.integers(1, 64))
def test_chunked_random_chunks_and_reads(message, chunk, read):
    stream = _chunks(message, chunk) + frame_chunked(message)
    reader = FrameReader()
    reader.switch_to_chunked()
    got = []
    for i in range(0, len(stream), read):
        reader.feed(stream[i:i + read])
        got += _drain(reader)
    assert got == [message, message]


def test_switch_after_hello_keeps_buffered_bytes():
    reader = FrameReader()
    reader.feed(frame_eom(b"<hello/>") + frame_chunked(b"<rpc/>"))
    assert reader.next_message() == b"<hello/>"
    reader.switch_to_chunked()
    assert _drain(reader) == [b"<rpc/>"]


@pytest.mark.parametrize("garbage", [
    b"<rpc/>\n##\n",                 # no chunk header
    b"\n#0\n\n##\n",                 # zero chunk size
    b"\n#012\nabcdefghijkl\n##\n",   # leading zero
    b"\n#-3\nabc\n##\n",
    b"\n#abc\n",
    b"\n##\n",                       # end of chunks without chunks
    b"\n#3\nabc\n#x",
    b"\n#3\nabcX##\n",               # data longer than announced
    b"\n#99999999999\n",             # above the RFC's maximum
    b"\n#1234567890123456\n",
    b"#3\nabc\n##\n",
])
def test_malformed_chunks_are_framing_errors(garbage):
    reader = FrameReader()
    reader.switch_to_chunked()
    reader.feed(garbage)
    with pytest.raises(FramingError):
        _drain(reader)


def test_oversize_messages_are_refused():
    reader = FrameReader(max_message=1000)
    reader.feed(b"x" * 2000)
    with pytest.raises(FramingError):
        reader.next_message()
    chunked = FrameReader(max_message=1000)
    chunked.switch_to_chunked()
    chunked.feed(b"\n#600\n" + b"x" * 600 + b"\n#600\n")
    with pytest.raises(FramingError):
        _drain(chunked)


def test_encoders():
    assert frame_eom(b"<a/>") == b"<a/>" + EOM
    assert frame_chunked("é".encode()) == b"\n#2\n\xc3\xa9\n##\n"
