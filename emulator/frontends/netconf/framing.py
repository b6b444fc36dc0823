"""RFC 6242 message framing: end-of-message (`]]>]]>`) until both hellos advertise base:1.1, then chunked.

`FrameReader` is an incremental decoder: `feed(bytes)` buffers what arrived, `next_message()` returns the
next complete message (None until there is one) and raises `FramingError` on a malformed frame (the session
must then be closed, RFC 6242 §4.2). Chunks of any size from 1 byte to the RFC's maximum are accepted; a
message larger than `max_message` is a framing error too, so that one client cannot exhaust memory.
"""

from __future__ import annotations

EOM = b"]]>]]>"
END_OF_CHUNKS = b"\n##\n"
MAX_CHUNK_SIZE = 4294967295          # RFC 6242 §4.2
MAX_HEADER = len(b"\n#4294967295\n")


class FramingError(Exception):
    pass


def frame_eom(message: bytes) -> bytes:
    return message + EOM


def frame_chunked(message: bytes) -> bytes:
    """One chunk per message: ncclient decodes chunk by chunk, so a chunk must not split a UTF-8 char."""
    if not message:
        return END_OF_CHUNKS
    return b"\n#%d\n" % len(message) + message + END_OF_CHUNKS


class FrameReader:
    def __init__(self, max_message: int = 4 * 1024 * 1024):
        self.max_message = max_message
        self.chunked = False
        self._buf = bytearray()
        self._parts: list[bytes] = []       # chunks of the message being received (chunked mode)
        self._size = 0                       # bytes in _parts
        self._need = 0                       # bytes still to read of the current chunk
        self._scan = 0                       # EOM mode: where to resume the delimiter search
        self.completed = 0                   # messages returned (the transport resets it to measure activity)

    @property
    def partial(self) -> bool:
        """Bytes of a message not yet complete are buffered."""
        return bool(self._buf) or bool(self._parts) or self._need > 0

    def switch_to_chunked(self) -> None:
        """Called once both hellos are exchanged with base:1.1; bytes already buffered are re-read chunked."""
        self.chunked = True
        self._scan = 0

    def feed(self, data: bytes) -> None:
        self._buf += data

    def next_message(self) -> bytes | None:
        """The next complete message, or None until more data arrives. The caller may switch framing
        between two calls (after the hello)."""
        return self._next_chunked() if self.chunked else self._next_eom()

    def _next_eom(self) -> bytes | None:
        idx = self._buf.find(EOM, max(0, self._scan - len(EOM) + 1))
        if idx < 0:
            self._scan = len(self._buf)
            if len(self._buf) > self.max_message + len(EOM):
                raise FramingError(f"message larger than {self.max_message} bytes")
            return None
        if idx > self.max_message:
            raise FramingError(f"message larger than {self.max_message} bytes")
        msg = bytes(self._buf[:idx])
        del self._buf[:idx + len(EOM)]
        self._scan = 0
        self.completed += 1
        return msg

    def _next_chunked(self) -> bytes | None:
        buf = self._buf
        while True:
            if self._need:
                if not buf:
                    return None
                take = min(self._need, len(buf))
                self._parts.append(bytes(buf[:take]))
                del buf[:take]
                self._need -= take
                self._size += take
                if self._need:
                    return None
                continue
            # A header: "\n#<size>\n" or the end of chunks "\n##\n".
            if len(buf) < 4:
                if bytes(buf[:2]) != b"\n#"[:min(2, len(buf))] or \
                        (len(buf) == 3 and buf[2:3] not in b"#123456789"):
                    raise FramingError("expected a chunk header")
                return None
            if buf[0:2] != b"\n#":
                raise FramingError("expected a chunk header")
            if buf[2:3] == b"#":
                if buf[3:4] != b"\n":
                    raise FramingError("malformed end-of-chunks marker")
                del buf[:4]
                if not self._parts:
                    raise FramingError("end of chunks without any chunk")
                msg = b"".join(self._parts)
                self._parts, self._size = [], 0
                self.completed += 1
                return msg
            end = buf.find(b"\n", 2, MAX_HEADER)
            if end < 0:
                if len(buf) >= MAX_HEADER:
                    raise FramingError("chunk header too long")
                digits = bytes(buf[2:])
                if digits and not digits.isdigit():
                    raise FramingError("chunk size is not a decimal number")
                return None
            digits = bytes(buf[2:end])
            if not digits.isdigit() or digits[:1] == b"0":
                raise FramingError("invalid chunk size")
            size = int(digits)
            if size > MAX_CHUNK_SIZE:
                raise FramingError("chunk size above the maximum")
            if self._size + size > self.max_message:
                raise FramingError(f"message larger than {self.max_message} bytes")
            del buf[:end + 1]
            self._need = size
