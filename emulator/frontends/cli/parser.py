"""IOS-style command trees: keyword abbreviation, parameters, `?` help and the IOS error messages.

A mode's grammar is a tree of `Node`s. Keywords match any unambiguous prefix (case-insensitive; an exact
match wins); parameters are WORD (one token), LINE (the rest of the line) or an integer range. A node with
an `action` ends a complete command. Matching one input line yields either a `Match` (action plus the
collected arguments) or a `ParseError` carrying the exact IOS text (`% Invalid input detected at '^'
marker.` with the caret column, `% Incomplete command.`, `% Ambiguous command:  "..."`).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Callable

INVALID = "% Invalid input detected at '^' marker."
INCOMPLETE = "% Incomplete command."
UNRECOGNIZED = "% Unrecognized command"

_INT_RE = re.compile(r"^<(\d+)-(\d+)>$")


class Node:
    """One token position of a grammar. kind: kw | word | line | int."""

    __slots__ = ("token", "help", "kind", "children", "action", "name", "lo", "hi", "hidden", "check")

    def __init__(self, token: str, help: str = "", kind: str = "kw", name: str | None = None,
                 lo: int = 0, hi: int = 0, hidden: bool = False, check: Callable[[str], bool] | None = None):
        self.token = token
        self.help = help
        self.kind = kind
        self.children: list[Node] = []
        self.action: Callable | None = None
        self.name = name
        self.lo, self.hi = lo, hi
        self.hidden = hidden
        self.check = check   # extra validity test for WORD values

    # ------------------------------------------------------------------ matching one token
    def accepts(self, text: str) -> bool:
        if self.kind == "kw":
            return self.token.lower().startswith(text.lower())
        if self.kind == "int":
            # ASCII digits only, and no longer than the bound (int() of 4,300+ digits raises)
            return (text.isascii() and text.isdigit() and len(text.lstrip("0")) <= len(str(self.hi))
                    and self.lo <= int(text) <= self.hi)
        if self.kind == "word":
            return self.check(text) if self.check else True
        return True

    @property
    def label(self) -> str:
        if self.kind == "int":
            return f"<{self.lo}-{self.hi}>"
        return self.token

    def child(self, token: str, kind: str) -> "Node | None":
        for c in self.children:
            if c.token == token and c.kind == kind:
                return c
        return None


@dataclass
class Match:
    action: Callable
    args: dict
    words: list[str]          # the full keywords and values, in order


@dataclass
class ParseError(Exception):
    kind: str                 # invalid | incomplete | ambiguous
    column: int = 0           # caret column within the input line (invalid)
    text: str = ""

    def lines(self, prompt_len: int, line: str) -> list[str]:
        if self.kind == "invalid":
            return [" " * (prompt_len + self.column) + "^", INVALID]
        if self.kind == "incomplete":
            return [INCOMPLETE]
        return [f'% Ambiguous command:  "{line.strip()}"']


def tokenize(line: str) -> list[tuple[str, int]]:
    """Tokens with their start column."""
    return [(m.group(), m.start()) for m in re.finditer(r"\S+", line)]


class Grammar:
    """The command tree of one mode."""

    def __init__(self, keyword_help: dict[str, str] | None = None):
        self.root = Node("", kind="root")
        self.keyword_help = keyword_help if keyword_help is not None else {}

    def add(self, syntax: str, action: Callable, helps: dict[str, str] | None = None, hidden: bool = False) -> None:
        """`syntax`: space-separated tokens. `word` is a keyword; `WORD:name` one-token parameter;
        `LINE:name` the rest of the line; `<lo-hi>:name` an integer. `helps` overrides help texts by
        token (for parameters: by name)."""
        helps = helps or {}
        node = self.root
        for tok in syntax.split():
            label, _, name = tok.partition(":")
            m = _INT_RE.match(label)
            if m:
                kind, key = "int", label
            elif label in ("WORD", "LINE"):
                kind, key = label.lower(), label
            else:
                kind, key = "kw", label
            nxt = node.child(key, kind)
            if nxt is None:
                help_text = helps.get(name or label) or helps.get(label) or self.keyword_help.get(label, "")
                nxt = Node(key, help_text, kind=kind, name=name or None, hidden=hidden and kind == "kw")
                if m:
                    nxt.lo, nxt.hi = int(m.group(1)), int(m.group(2))
                node.children.append(nxt)
            elif helps.get(name or label):
                nxt.help = helps[name or label]
            node = nxt
        node.action = action

    def set_check(self, syntax: str, check: Callable[[str], bool]) -> None:
        node = self.root
        for tok in syntax.split():
            label = tok.partition(":")[0]
            kind = "int" if _INT_RE.match(label) else label.lower() if label in ("WORD", "LINE") else "kw"
            node = node.child(label, kind)
        node.check = check

    # ------------------------------------------------------------------ parsing
    def _step(self, node: Node, tok: str, col: int, line: str) -> list[Node]:
        kws = [c for c in node.children if c.kind == "kw" and c.accepts(tok)]
        exact = [c for c in kws if c.token.lower() == tok.lower()]
        if exact:
            return exact[:1]
        visible = [c for c in kws if not c.hidden] or kws
        if len(visible) > 1:
            raise ParseError("ambiguous", col, line)
        if visible:
            return visible
        params = [c for c in node.children if c.kind != "kw" and c.accepts(tok)]
        if params:
            return params[:1]
        raise ParseError("invalid", col)

    def parse(self, line: str) -> Match:
        tokens = tokenize(line)
        node = self.root
        args: dict = {}
        words: list[str] = []
        i = 0
        while i < len(tokens):
            tok, col = tokens[i]
            nxt = self._step(node, tok, col, line)[0]
            if nxt.kind == "line":
                value = line[col:].rstrip()
                args[nxt.name or "line"] = value
                words.append(value)
                node = nxt
                break
            if nxt.kind == "kw":
                words.append(nxt.token)
                if nxt.name:
                    args[nxt.name] = nxt.token
            elif nxt.kind == "int":
                args[nxt.name or "value"] = int(tok)
                words.append(tok)
            else:
                args[nxt.name or "word"] = tok
                words.append(tok)
            node = nxt
            i += 1
        if node.action is None:
            if node is self.root:
                raise ParseError("empty")
            raise ParseError("incomplete", len(line.rstrip()))
        return Match(node.action, args, words)

    # ------------------------------------------------------------------ help and completion
    def help(self, line: str) -> tuple[list[str], str | None]:
        """`?` typed at the end of `line`. Returns (lines to print, error) — error is an IOS error
        line set when the text before `?` does not parse."""
        partial = not line.endswith(" ") and line.strip() != ""
        tokens = tokenize(line)
        done = tokens[:-1] if partial else tokens
        node = self.root
        try:
            for tok, col in done:
                nxt = self._step(node, tok, col, line)[0]
                if nxt.kind == "line":
                    return (["  LINE    <cr>"] if partial else ["  <cr>"]), None
                node = nxt
        except ParseError as err:
            if err.kind == "ambiguous":
                return [], f'% Ambiguous command:  "{line.strip()}"'
            return [], UNRECOGNIZED
        if partial:
            prefix = tokens[-1][0]
            names = [c.label for c in node.children if c.kind == "kw" and not c.hidden and c.accepts(prefix)]
            params = [c for c in node.children if c.kind != "kw" and c.accepts(prefix)]
            if not names and not params:
                return [], UNRECOGNIZED
            out = sorted(names) + [c.label for c in params if c.kind == "int"]
            if not out:  # only a free-form parameter accepts it
                return [f"  {c.label}" for c in params], None
            return ["  ".join(out) + "  "], None
        entries = [(c.label, c.help) for c in node.children if not c.hidden]
        entries.sort(key=lambda e: (e[0].startswith("<") or e[0].isupper(), e[0].lower()))
        if node.action is not None:
            entries.append(("<cr>", "<cr>"))
        if not entries:
            return [], UNRECOGNIZED
        width = max(len(e[0]) for e in entries)
        return [f"  {label.ljust(width)}  {text}".rstrip() for label, text in entries], None

    def complete(self, line: str) -> str | None:
        """Tab: the line with its last keyword completed (plus a space), or None."""
        if not line or line.endswith(" "):
            return None
        tokens = tokenize(line)
        node = self.root
        try:
            for tok, col in tokens[:-1]:
                node = self._step(node, tok, col, line)[0]
                if node.kind == "line":
                    return None
        except ParseError:
            return None
        tok, col = tokens[-1]
        kws = [c for c in node.children if c.kind == "kw" and not c.hidden and c.accepts(tok)]
        exact = [c for c in kws if c.token.lower() == tok.lower()]
        if exact:
            kws = exact
        if len(kws) != 1:
            return None
        return line[:col] + kws[0].token + " "


@dataclass
class Pipe:
    kind: str                 # include | exclude | begin | section | count
    pattern: str


PIPE_KINDS = ("append", "begin", "count", "exclude", "include", "redirect", "section", "tee")


def split_pipe(line: str) -> tuple[str, list[Pipe], int | None]:
    """Splits `cmd | include regex`: IOS takes one filter, and the whole rest of the line is its regex
    (`| include a|b` matches a or b). Returns (command, pipes, error column, or -1 when incomplete)."""
    if "|" not in line:
        return line, [], None
    cmd, _, part = line.partition("|")
    offset = len(cmd) + 1
    tokens = tokenize(part)
    if not tokens:
        return cmd, [], offset + len(part)
    word, col = tokens[0]
    kinds = [k for k in ("begin", "count", "exclude", "include", "section") if k.startswith(word.lower())]
    if len(kinds) != 1:
        return cmd, [], offset + col
    rest = part[col + len(word):].strip()
    if kinds[0] != "count" and not rest:
        return cmd, [], -1
    return cmd, [Pipe(kinds[0], rest)], None


def _regex(pattern: str):
    try:
        return re.compile(pattern)
    except re.error:
        return re.compile(re.escape(pattern))


def apply_pipes(text: str, pipes: list[Pipe]) -> str:
    """IOS output filters on the rendered lines."""
    lines = text.split("\n")
    for pipe in pipes:
        rx = _regex(pipe.pattern)
        if pipe.kind == "include":
            lines = [ln for ln in lines if rx.search(ln)]
        elif pipe.kind == "exclude":
            lines = [ln for ln in lines if not rx.search(ln)]
        elif pipe.kind == "begin":
            for i, ln in enumerate(lines):
                if rx.search(ln):
                    lines = lines[i:]
                    break
            else:
                lines = []
        elif pipe.kind == "section":
            out, keep = [], False
            for ln in lines:
                top = ln[:1] not in (" ", "")
                if top:
                    keep = bool(rx.search(ln))
                elif not keep and rx.search(ln):
                    out.append(ln)
                    continue
                if keep and ln.strip():
                    out.append(ln)
            lines = out
        elif pipe.kind == "count":
            n = sum(1 for ln in lines if rx.search(ln)) if pipe.pattern else len([ln for ln in lines if ln])
            lines = [f"Number of lines which match regexp = {n}"]
    out = "\n".join(lines)
    return out + ("\n" if out and not out.endswith("\n") else "")


@dataclass
class ModeDef:
    name: str
    grammar: Grammar
    prompt_suffix: str        # ">" "#" "(config)#" ...
    parent: str | None = None  # for config sub-modes: fall back to this mode's grammar
    extras: dict = field(default_factory=dict)
