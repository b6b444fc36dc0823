"""A normalized listing of a YANG module's schema: what a client can rely on, without any of its text.

One entry per schema node (data nodes, choices and cases, RPCs with input and output, notifications,
actions), by schema path, with its keyword and the facts that decide what instances are valid: the resolved
type (built-in base, typedef name, ranges, lengths, patterns, enum names and values, bits, union members,
leafref paths, identity bases), config, mandatory, presence, keys, default, min/max elements, ordered-by and
if-feature. Module-level facts: namespace, prefix, yang-version, features, identities, extensions and the
submodules' names. Two modules have the same schema when their listings are equal.

    python -m emulator.tools.yanglisting FILE [--path DIR ...]     # prints the listing as JSON

Used to compare the modules this project writes with the listing derived from Cisco's published module of
the same name and revision (tests/data/cisco-yang/), without copying Cisco's text.
"""

from __future__ import annotations

import argparse
import json
import os
from pathlib import Path

from pyang import context, repository

SCHEMA_KEYWORDS = ("container", "list", "leaf", "leaf-list", "choice", "case", "rpc", "action", "input",
                   "output", "notification", "anydata", "anyxml")


def _type(stmt) -> dict | None:
    t = stmt.search_one("type")
    if t is None:
        return None
    return _type_spec(t)


def _type_spec(t) -> dict:
    out: dict = {"name": t.arg}
    typedef = getattr(t, "i_typedef", None)
    base = t
    chain = []
    while typedef is not None:
        chain.append(typedef.arg)
        base = typedef.search_one("type")
        typedef = getattr(base, "i_typedef", None)
    out["base"] = base.arg.split(":")[-1]
    for stmt in [t] + [typedef_of(t, i) for i in range(len(chain))]:
        if stmt is None:
            continue
        for kw in ("range", "length"):
            sub = stmt.search_one(kw)
            if sub is not None:
                out.setdefault(kw, []).append(sub.arg.replace(" ", ""))
        pats = [p.arg for p in stmt.search("pattern")]
        if pats:
            out.setdefault("pattern", []).extend(pats)
    enums = base.search("enum") or t.search("enum")
    if enums:
        spec = getattr(t, "i_type_spec", None)
        while spec is not None and not hasattr(spec, "enums"):
            spec = getattr(spec, "base", None)
        out["enums"] = [[n, v] for n, v in spec.enums] if spec is not None else [e.arg for e in enums]
    bits = base.search("bit") or t.search("bit")
    if bits:
        out["bits"] = [b.arg for b in bits]
    if out["base"] == "union":
        out["members"] = [_type_spec(m) for m in base.search("type")]
    path = base.search_one("path") or t.search_one("path")
    if path is not None:
        out["path"] = path.arg
    for b in (base.search("base") or t.search("base")):
        out.setdefault("identity-base", []).append(b.arg.split(":")[-1])
    fd = base.search_one("fraction-digits")
    if fd is not None:
        out["fraction-digits"] = fd.arg
    return out


def typedef_of(t, depth: int):
    """The `type` statement inside the typedef `depth` levels down the chain (for its restrictions)."""
    stmt = t
    for _ in range(depth + 1):
        td = getattr(stmt, "i_typedef", None)
        if td is None:
            return None
        stmt = td.search_one("type")
    return stmt


def _node(stmt, path: str) -> dict:
    entry: dict = {"path": path, "keyword": stmt.keyword}
    t = _type(stmt) if stmt.keyword in ("leaf", "leaf-list") else None
    if t:
        entry["type"] = t
    if stmt.keyword in ("container", "list", "leaf", "leaf-list", "choice", "anydata", "anyxml"):
        entry["config"] = bool(getattr(stmt, "i_config", True))
    for kw in ("mandatory", "presence", "default", "min-elements", "max-elements", "ordered-by", "units"):
        sub = stmt.search_one(kw)
        if sub is not None:
            entry[kw] = sub.arg
    if stmt.keyword == "list":
        key = stmt.search_one("key")
        entry["key"] = key.arg.split() if key is not None else []
        uniq = [u.arg for u in stmt.search("unique")]
        if uniq:
            entry["unique"] = uniq
    feats = sorted(f.arg.split(":")[-1] for f in stmt.search("if-feature"))
    if feats:
        entry["if-feature"] = feats
    return entry


def _walk(stmt, prefix: str, out: list) -> None:
    for child in getattr(stmt, "i_children", []):
        if child.keyword not in SCHEMA_KEYWORDS:
            continue
        mod = child.i_module.i_modulename if hasattr(child, "i_module") else ""
        name = child.arg if child.keyword not in ("input", "output") else child.keyword
        path = f"{prefix}/{mod}:{name}" if child.keyword not in ("input", "output") else f"{prefix}/{name}"
        out.append(_node(child, path))
        _walk(child, path, out)


def listing(module_path: str | Path, search: list[str | Path] = ()) -> dict:
    """The normalized listing of the module (or submodule) in `module_path`."""
    module_path = Path(module_path)
    dirs = [str(module_path.parent), *map(str, search)]
    repo = repository.FileRepository(os.pathsep.join(dirs), use_env=False)
    ctx = context.Context(repo)
    text = module_path.read_text(encoding="utf-8")
    mod = ctx.add_module(str(module_path), text)
    if mod is None:
        raise ValueError(f"cannot parse {module_path}: {ctx.errors[:3]}")
    ctx.validate()
    top = mod
    if mod.keyword == "submodule":
        belongs = mod.search_one("belongs-to").arg
        top = ctx.get_module(belongs) or ctx.search_module(mod.pos, belongs)
    nodes: list = []
    if mod.keyword == "module":
        _walk(mod, "", nodes)
    else:
        # a submodule's nodes: those of its module whose statements come from the submodule's file
        all_nodes: list = []
        _walk(top, "", all_nodes)
        own = _paths_defined_in(top, mod)
        nodes = [n for n in all_nodes if n["path"] in own]
    revs = [r.arg for r in mod.search("revision")]
    return {
        "module": mod.arg,
        "keyword": mod.keyword,
        "revision": revs[0] if revs else None,
        "yang-version": (mod.search_one("yang-version").arg if mod.search_one("yang-version") else "1"),
        "namespace": (top.search_one("namespace").arg if top is not None else None),
        "prefix": (mod.search_one("prefix") or mod.search_one("belongs-to").search_one("prefix")).arg,
        "features": sorted(f.arg for f in mod.search("feature")),
        "identities": sorted(i.arg for i in mod.search("identity")),
        "extensions": sorted([e.arg, (e.search_one("argument").arg if e.search_one("argument") else None)]
                             for e in mod.search("extension")),
        "submodules": sorted(i.arg for i in mod.search("include")),
        "typedefs": {td.arg: _type_spec(td.search_one("type")) for td in mod.search("typedef")},
        "nodes": nodes,
    }


def _paths_defined_in(top, sub) -> set[str]:
    out: set[str] = set()
    subfile = sub.pos.ref

    def walk(stmt, prefix):
        for child in getattr(stmt, "i_children", []):
            if child.keyword not in SCHEMA_KEYWORDS:
                continue
            mod = child.i_module.i_modulename
            name = child.arg if child.keyword not in ("input", "output") else child.keyword
            path = f"{prefix}/{mod}:{name}" if child.keyword not in ("input", "output") else f"{prefix}/{name}"
            if child.pos.ref == subfile or getattr(getattr(child, "i_uses", [None])[0] if getattr(
                    child, "i_uses", None) else None, "pos", None) and child.i_uses[0].pos.ref == subfile:
                out.add(path)
            walk(child, path)
    walk(top, "")
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("file")
    ap.add_argument("--path", action="append", default=[])
    args = ap.parse_args()
    print(json.dumps(listing(args.file, args.path), indent=1))


if __name__ == "__main__":
    main()
