"""The process that evaluates NETCONF XPath filters (see `filters.xpath_bounded`).

Run as a script (`python -I xpath_worker.py`): it imports nothing but lxml, reads requests from stdin and
answers on stdout, one at a time, until stdin closes. The server kills it when an evaluation overruns its
time budget, so a filter that would run for minutes costs this process, never the server's.

Request: 8 bytes (two big-endian uint32: length of the JSON head, length of the XML data), the JSON head
{"select": <XPath 1.0, already checked and rewritten by the server>, "namespaces": {prefix: uri}}, then
the rendered <data> document. Reply: a big-endian uint32 length and JSON: {"ok": [[top index, [child
indexes...]], ...]} for the picked elements (each top-level data node is the root of its own document),
or {"error": message}.
"""

from __future__ import annotations

import copy
import json
import struct
import sys

from lxml import etree


def evaluate(head: dict, data: bytes, parser: etree.XMLParser) -> list:
    root = etree.fromstring(data, parser=parser)
    docs = [etree.ElementTree(copy.deepcopy(top)).getroot() for top in root if isinstance(top.tag, str)]
    expr = etree.XPath(head["select"], namespaces=head.get("namespaces") or {}, regexp=False,
                       smart_strings=False)
    picked = []
    for i, doc in enumerate(docs):
        result = expr(doc)
        if not isinstance(result, list):
            raise ValueError("the expression does not select nodes")
        for item in result:
            el = item if isinstance(item, etree._Element) else getattr(item, "getparent", lambda: None)()
            if el is None or not isinstance(el.tag, str):
                continue
            path = []
            parent = el.getparent()
            while parent is not None:
                path.append(parent.index(el))
                el, parent = parent, parent.getparent()
            path.reverse()
            picked.append([i, path])
    return picked


def _read(stream, n: int) -> bytes:
    chunks = []
    while n > 0:
        chunk = stream.read(n)
        if not chunk:
            raise EOFError
        chunks.append(chunk)
        n -= len(chunk)
    return b"".join(chunks)


def main() -> None:
    inp, out = sys.stdin.buffer, sys.stdout.buffer
    parser = etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False, huge_tree=True)
    while True:
        try:
            n_head, n_data = struct.unpack(">II", _read(inp, 8))
            head = json.loads(_read(inp, n_head))
            data = _read(inp, n_data)
        except EOFError:
            return
        try:
            reply = {"ok": evaluate(head, data, parser)}
        except (etree.XPathError, etree.XMLSyntaxError, ValueError, TypeError) as exc:
            reply = {"error": str(exc) or type(exc).__name__}
        body = json.dumps(reply).encode()
        out.write(struct.pack(">I", len(body)) + body)
        out.flush()


if __name__ == "__main__":
    main()
