"""NETCONF filters: subtree (RFC 6241 §6) over the plain instance data of the data layer, and XPath
(RFC 6241 §8.9) evaluated with lxml on the rendered XML.

Subtree filtering works on {qname: value} data with the schema nodes, so only the selected parts are ever
encoded. Elements of a filter without a namespace match nodes of any namespace (as IOS XE does); a
namespace that no node has selects nothing. Output list entries always carry their keys.

XPath: prefixes are those declared on the <filter> element (and its ancestors); an unprefixed name test
matches an element of any namespace with that local name, so `--get -x /licensing` works as it does on a
real device. IOS XE's XPath is XPath 1.0 without extensions: a prefixed function (EXSLT `re:test`,
`str:`, `dyn:evaluate`...) is refused with operation-not-supported, and variables with invalid-value.
Even core XPath 1.0 can be made polynomially slow (nested `//*` predicates), so a <get> filter is evaluated
by `xpath_bounded` in a separate process (`xpath_worker.py`, kept for the next filter, lxml only) that is
killed after `XPATH_TIMEOUT` seconds (resource-denied): the evaluation never holds this process's GIL, so
every other session is served meanwhile, and at most `XPATH_CONCURRENCY` run at once.
"""

from __future__ import annotations

import atexit
import copy
import json
import logging
import os
import re
import select
import struct
import subprocess
import sys
import threading
import time
from pathlib import Path

from lxml import etree

from emulator.yangdata.codec import leaf_text
from emulator.yangdata.schema import SNode

from .errors import RpcError

log = logging.getLogger(__name__)

XPATH_TIMEOUT = 2.0          # seconds one XPath filter may evaluate
XPATH_CONCURRENCY = 2        # evaluations at once (process-wide); others wait, within their own timeout
WORKER_SCRIPT = Path(__file__).with_name("xpath_worker.py")

# ============================================================================================ subtree


def _text(el: etree._Element) -> str:
    return (el.text or "").strip()


def _elements(el: etree._Element) -> list[etree._Element]:
    return [c for c in el if isinstance(c.tag, str)]


def _qname(el: etree._Element) -> tuple[str | None, str]:
    q = etree.QName(el)
    return q.namespace, q.localname


def select_tops(filter_el: etree._Element, tops: dict[str, SNode]) -> list[tuple[SNode, etree._Element]]:
    """The top-level schema nodes each element of a subtree filter names."""
    out = []
    for f in _elements(filter_el):
        ns, name = _qname(f)
        for node in tops.values():
            if node.name == name and (ns is None or ns == node.namespace):
                out.append((node, f))
    return out


def subtree(filter_el: etree._Element, tops: dict[str, SNode], provide) -> dict[str, object]:
    """Filtered data {qname: value}; `provide(qname)` returns a top's data (or None)."""
    out: dict[str, object] = {}
    cache: dict[str, object] = {}
    for node, f in select_tops(filter_el, tops):
        if node.qname not in cache:
            cache[node.qname] = provide(node.qname)
        value = cache[node.qname]
        if value is None:
            continue
        result = filter_node(node, value, f)
        if result is None:
            continue
        out[node.qname] = merge(node, out[node.qname], result) if node.qname in out else result
    return out


def _leaf_matches(node: SNode, value, text: str) -> bool:
    return (leaf_text(node, value) or "") == text


def filter_node(node: SNode, value, f: etree._Element):
    """The part of `value` (the data of `node`, a list entry for lists) that filter element `f` selects,
    or None when nothing matches."""
    children = _elements(f)
    if node.is_leaf:
        text = _text(f)
        if children:
            return None
        if not text:
            return value
        if node.keyword == "leaf-list":
            kept = [v for v in value if _leaf_matches(node, v, text)]
            return kept or None
        return value if _leaf_matches(node, value, text) else None
    if not children:
        return value                      # selection node
    if not isinstance(value, dict):
        return None
    matches: list[tuple[SNode, str]] = []
    others: list[tuple[SNode | None, etree._Element]] = []
    for c in children:
        ns, name = _qname(c)
        child = node.children.get(name)
        if child is not None and ns is not None and ns != child.namespace:
            child = None
        is_match = not _elements(c) and bool(_text(c))
        if is_match:
            if child is None or not child.is_leaf:
                return None               # a content match on a node that cannot match
            matches.append((child, _text(c)))
        else:
            others.append((child, c))
    out: dict = {}
    for child, text in matches:
        have = value.get(child.name)
        if have is None:
            return None
        if child.keyword == "leaf-list":
            kept = [v for v in have if _leaf_matches(child, v, text)]
            if not kept:
                return None
            out[child.name] = kept
        elif not _leaf_matches(child, have, text):
            return None
        else:
            out[child.name] = have
    if not others:
        return value                      # content match nodes only: the whole sibling set
    selected = False
    for child, c in others:
        if child is None or child.name not in value:
            continue
        have = value[child.name]
        if child.keyword == "list":
            entries = [r for r in (filter_node(child, e, c) for e in have) if r is not None]
            if not entries:
                continue
            result = entries
        else:
            result = filter_node(child, have, c)
            if result is None:
                continue
        selected = True
        out[child.name] = merge(child, out[child.name], result) if child.name in out else result
    if not selected and not matches:
        return None
    if node.keyword == "list":
        for k in node.keys:
            if k in value:
                out[k] = value[k]
    return out


def merge(node: SNode, a, b):
    """Union of two filter results for the same node."""
    if a is b:
        return a
    if node.keyword == "leaf-list":
        return a + [v for v in b if v not in a]
    if node.is_leaf:
        return b
    if node.keyword == "list":
        out = list(a)
        for entry in b:
            key = tuple(entry.get(k) for k in node.keys)
            idx = next((i for i, e in enumerate(out) if node.keys and tuple(e.get(k) for k in node.keys) == key),
                       None)
            if idx is None:
                out.append(entry)
            else:
                out[idx] = _merge_dict(node, out[idx], entry)
        return out
    return _merge_dict(node, a, b)


def _merge_dict(node: SNode, a: dict, b: dict) -> dict:
    out = dict(a)
    for k, v in b.items():
        child = node.children.get(k)
        out[k] = merge(child, out[k], v) if k in out and child is not None else v
    return out


# ============================================================================================ XPath

_TOKEN = re.compile(r"""
    (?P<ws>\s+)
  | (?P<literal>"[^"]*"|'[^']*')
  | (?P<number>\d+(?:\.\d*)?|\.\d+)
  | (?P<dots>\.\.|\.)
  | (?P<op>//|/|::|!=|<=|>=|[=<>|+\-()\[\],@*$])
  | (?P<name>[A-Za-z_][\w.\-]*(?::(?:[A-Za-z_][\w.\-]*|\*))?)
""", re.VERBOSE)
_OPERATOR_NAMES = {"and", "or", "mod", "div"}
_NO_OPERATOR_BEFORE = {"@", "::", "(", "[", ",", "/", "//", "|", "+", "-", "=", "!=", "<", "<=", ">", ">=",
                       "and", "or", "mod", "div", "*op"}


def rewrite_unprefixed(expr: str) -> str:
    """Rewrites each unprefixed element name test `n` into `*[local-name()='n']` (XPath 1.0 would match
    only elements in no namespace)."""
    tokens: list[tuple[str, str]] = []
    pos = 0
    while pos < len(expr):
        m = _TOKEN.match(expr, pos)
        if m is None:
            raise RpcError("invalid-value", f"invalid XPath expression at {expr[pos:pos + 20]!r}",
                           error_type="application", info={"bad-element": "select"})
        pos = m.end()
        kind = m.lastgroup
        tokens.append((kind, m.group()))
    out = []
    prev = None                            # previous significant token (value), "*op" for operator names
    significant = [(k, v) for k, v in tokens if k != "ws"]
    sig_index = 0
    for kind, val in tokens:
        if kind == "ws":
            out.append(val)
            continue
        nxt = significant[sig_index + 1][1] if sig_index + 1 < len(significant) else None
        sig_index += 1
        operator_position = prev is not None and prev not in _NO_OPERATOR_BEFORE
        if kind == "op" and val == "*" and operator_position:
            out.append(val)
            prev = "*op"
            continue
        if kind == "name":
            if operator_position and val in _OPERATOR_NAMES:
                out.append(val)
                prev = "*op"
                continue
            if nxt == "(" and ":" in val and prev != "::":
                raise RpcError("operation-not-supported", f"the XPath function {val}() is an extension "
                               "function; this device's XPath 1.0 has none (EXSLT included)",
                               error_type="application", info={"bad-element": "select"})
            if prev == "$":
                raise RpcError("invalid-value", f"the XPath variable ${val} is not defined; variables are not "
                               "supported", error_type="application", info={"bad-element": "select"})
            if nxt == "(" or nxt == "::" or ":" in val or prev == "@" or prev == "$":
                out.append(val)
            elif prev == "::" and tokens and _axis_before(out) == "attribute":
                out.append(val)
            else:
                out.append(f"*[local-name()='{val}']")
            prev = val
            continue
        out.append(val)
        prev = val
    return "".join(out)


def _axis_before(out: list[str]) -> str | None:
    significant = [t for t in out if not t.isspace()]
    return significant[-2] if len(significant) >= 2 and significant[-1] == "::" else None


def _compile(select: str, nsmap: dict[str | None, str]) -> etree.XPath:
    namespaces = {k: v for k, v in nsmap.items() if k}
    try:
        # regexp=False: no EXSLT regular expressions (the prefix check refuses every extension anyway)
        return etree.XPath(rewrite_unprefixed(select), namespaces=namespaces, regexp=False, smart_strings=False)
    except (etree.XPathError, TypeError, ValueError) as exc:
        raise RpcError("invalid-value", f"invalid XPath expression {select!r}: {exc}", error_type="application",
                       info={"bad-element": "select"}) from None


def xpath_select(tops: list[etree._Element], select: str, nsmap: dict[str | None, str]) -> list[etree._Element]:
    """Elements of the rendered data that `select` picks, in document order, evaluated in this process
    (for small documents such as one notification; a <get> uses `xpath_bounded`). Each top-level data
    node is the root of its own document, so that `/licensing/...` addresses it as it does on a device."""
    expr = _compile(select, nsmap)
    picked: list[etree._Element] = []
    for top in tops:
        try:
            result = expr(top)
        except (etree.XPathError, TypeError, ValueError) as exc:
            raise RpcError("invalid-value", f"invalid XPath expression {select!r}: {exc}",
                           error_type="application", info={"bad-element": "select"}) from None
        if not isinstance(result, list):
            raise RpcError("invalid-value", f"the XPath expression {select!r} does not select nodes",
                           error_type="application", info={"bad-element": "select"})
        for item in result:
            el = item if isinstance(item, etree._Element) else getattr(item, "getparent", lambda: None)()
            if el is None or not isinstance(el.tag, str):
                continue
            picked.append(el)
    return picked


def _documents(data: bytes) -> list[etree._Element]:
    """The top-level elements of a rendered <data> document, each the root of its own document."""
    from emulator.xmlsafe import parse_xml
    full = parse_xml(data, max_bytes=len(data))
    return [etree.ElementTree(copy.deepcopy(top)).getroot() for top in full if isinstance(top.tag, str)]


class _Worker:
    """One evaluation process (`xpath_worker.py`, run with -I: lxml only, nothing of the server)."""

    def __init__(self):
        self.proc = subprocess.Popen([sys.executable, "-I", str(WORKER_SCRIPT)], stdin=subprocess.PIPE,
                                     stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, close_fds=True)

    def ask(self, head: dict, data: bytes, deadline: float) -> dict:
        """The worker's reply; TimeoutError at the deadline, OSError/EOFError when it died."""
        body = json.dumps(head).encode()
        self.proc.stdin.write(struct.pack(">II", len(body), len(data)) + body + data)
        self.proc.stdin.flush()
        size = struct.unpack(">I", self._read(4, deadline))[0]
        return json.loads(self._read(size, deadline))

    def _read(self, n: int, deadline: float) -> bytes:
        fd = self.proc.stdout.fileno()
        chunks = []
        while n > 0:
            left = deadline - time.monotonic()
            if left <= 0 or not select.select([fd], [], [], left)[0]:
                raise TimeoutError
            chunk = os.read(fd, n)
            if not chunk:
                raise EOFError
            chunks.append(chunk)
            n -= len(chunk)
        return b"".join(chunks)

    def kill(self) -> None:
        try:
            self.proc.kill()
        except OSError:
            pass
        for stream in (self.proc.stdin, self.proc.stdout):
            try:
                stream.close()
            except OSError:
                pass
        try:
            self.proc.wait(5)
        except subprocess.TimeoutExpired:
            pass


class _Evaluator:
    """A small pool of evaluation processes shared by every device of this process: at most
    XPATH_CONCURRENCY evaluate at once; one that overruns its deadline is killed (a fresh one starts on
    the next request)."""

    def __init__(self):
        self._lock = threading.Lock()
        self._idle: list[_Worker] = []
        self.slots = threading.BoundedSemaphore(XPATH_CONCURRENCY)

    def run(self, head: dict, data: bytes, timeout: float) -> dict:
        deadline = time.monotonic() + timeout
        if not self.slots.acquire(timeout=timeout):
            raise TimeoutError
        try:
            with self._lock:
                worker = self._idle.pop() if self._idle else None
            if worker is None or worker.proc.poll() is not None:
                worker = _Worker()
            try:
                reply = worker.ask(head, data, deadline)
            except BaseException:
                worker.kill()
                raise
            with self._lock:
                self._idle.append(worker)
            return reply
        finally:
            self.slots.release()

    def close(self) -> None:
        with self._lock:
            idle, self._idle = self._idle, []
        for worker in idle:
            worker.kill()


_EVALUATOR = _Evaluator()
atexit.register(_EVALUATOR.close)


def xpath_bounded(data: bytes, select: str, nsmap: dict[str | None, str],
                  timeout: float = XPATH_TIMEOUT) -> list[etree._Element]:
    """`xpath_select` over the rendered <data> document `data`, evaluated in an evaluation process and
    refused with resource-denied after `timeout` seconds. Returns elements of a fresh parse of `data` (one
    document per top-level node)."""
    _compile(select, nsmap)                  # syntax, extension functions, variables: refused at once
    head = {"select": rewrite_unprefixed(select), "namespaces": {k: v for k, v in nsmap.items() if k}}
    try:
        reply = _EVALUATOR.run(head, data, timeout)
    except TimeoutError:
        raise RpcError("resource-denied", f"the XPath expression {select!r} did not complete within "
                       f"{timeout:g} s; use a simpler filter", error_type="application",
                       info={"bad-element": "select"}) from None
    except (OSError, EOFError, ValueError) as exc:
        log.warning("XPath evaluation process failed (%s); evaluating in this process", exc)
        return xpath_select(_documents(data), select, nsmap)
    if "error" in reply:
        raise RpcError("invalid-value", f"invalid XPath expression {select!r}: {reply['error']}",
                       error_type="application", info={"bad-element": "select"})
    docs = _documents(data)
    picked = []
    for top, path in reply["ok"]:
        el = docs[top]
        for i in path:
            el = el[i]
        picked.append(el)
    return picked


def xpath_output(picked: list[etree._Element], node_of) -> list[etree._Element]:
    """The selected elements with their ancestors (and the keys of ancestor list entries).
    `node_of(chain)` gives the SNode of the last element of a chain from the top (None if unknown)."""
    copies: dict[etree._Element, etree._Element] = {}
    tops: list[etree._Element] = []
    done: set = set()
    for el in picked:
        chain = []
        cur = el
        while cur is not None:
            chain.append(cur)
            cur = cur.getparent()
        chain.reverse()
        if any(a in done for a in chain):
            continue                       # an ancestor was selected whole
        parent_copy = None
        for i, anc in enumerate(chain):
            if anc is el:
                full = copy.deepcopy(anc)
                if parent_copy is None:
                    tops.append(full)
                else:
                    _replace_shallow(parent_copy, anc, full, copies)
                copies[anc] = full
                done.add(anc)
                break
            existing = copies.get(anc)
            if existing is None:
                existing = etree.Element(anc.tag, nsmap=anc.nsmap)
                snode = node_of(chain[:i + 1])
                if snode is not None and snode.keyword == "list":
                    for k in snode.keys:
                        key_el = anc.find(f"{{{snode.children[k].namespace}}}{k}")
                        if key_el is not None:
                            existing.append(copy.deepcopy(key_el))
                if parent_copy is None:
                    tops.append(existing)
                else:
                    parent_copy.append(existing)
                copies[anc] = existing
            parent_copy = existing
    return tops


def _replace_shallow(parent_copy: etree._Element, original: etree._Element, full: etree._Element,
                     copies: dict) -> None:
    """Appends `full` under `parent_copy`, replacing a key leaf copied earlier for the same element."""
    for child in parent_copy:
        if child.tag == original.tag and copies.get(original) is None and child.text == original.text \
                and not len(original):
            parent_copy.replace(child, full)
            return
    parent_copy.append(full)
