"""Where the emulator's YANG module texts live.

``YANG_DIR``        the repository's ``yang/`` directory (our own modules).
``ietf_module_dir()``  pyang's bundled IETF modules (ietf-yang-types, ...).

Both are used by the bindings generator and by code that serves module
texts (NETCONF <get-schema>, RESTCONF schema download).
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

__all__ = ["YANG_DIR", "ietf_module_dir", "module_files"]

# A module that must exist in our yang/ directory; used to recognise it.
_MARKER_GLOB = "cisco-smart-license@*.yang"


def _is_yang_dir(path: Path) -> bool:
    return path.is_dir() and any(path.glob(_MARKER_GLOB))


def _find_yang_dir() -> Path:
    """Locate yang/.

    Order: $SLPEMU_YANG_DIR; a ``yang`` directory next to any ancestor of this
    file (source checkout or editable install: emulator/tools/ -> repo root);
    ``<prefix>/share/slpemu/yang`` for a data-files install. Falls back to the
    checkout-relative location even if it does not exist, so the value is
    always a sensible path.
    """
    env = os.environ.get("SLPEMU_YANG_DIR")
    if env and _is_yang_dir(Path(env)):
        return Path(env).resolve()
    here = Path(__file__).resolve()
    for parent in here.parents:
        cand = parent / "yang"
        if _is_yang_dir(cand):
            return cand
    for prefix in dict.fromkeys((sys.prefix, sys.base_prefix)):
        cand = Path(prefix) / "share" / "slpemu" / "yang"
        if _is_yang_dir(cand):
            return cand
    return here.parents[2] / "yang"


YANG_DIR: Path = _find_yang_dir()


def ietf_module_dir() -> Path:
    """Directory holding pyang's bundled IETF modules (ietf-yang-types.yang, ...).

    Looks in ``sys.prefix/share/yang/modules/ietf`` (where pip puts pyang's
    data files, also inside a virtualenv), the same under ``sys.base_prefix``
    and the user base, then relative to the installed ``pyang`` package.
    Raises FileNotFoundError if none holds ietf-yang-types.yang.
    """
    candidates: list[Path] = []
    prefixes = [sys.prefix, sys.base_prefix]
    try:
        import site

        prefixes.append(site.getuserbase())
    except Exception:  # pragma: no cover - site may be unavailable
        pass
    for prefix in dict.fromkeys(prefixes):
        candidates.append(Path(prefix) / "share" / "yang" / "modules" / "ietf")
    try:
        import pyang

        pkg = Path(pyang.__file__).resolve().parent
        # <prefix>/lib/pythonX.Y/site-packages/pyang -> <prefix>/share/...
        for up in (3, 4):
            if len(pkg.parents) > up:
                candidates.append(pkg.parents[up] / "share" / "yang" / "modules" / "ietf")
        # some distributions ship the modules inside the package
        candidates.append(pkg / "modules" / "ietf")
        candidates.append(pkg / "share" / "yang" / "modules" / "ietf")
    except ImportError:  # pragma: no cover
        pass
    for cand in candidates:
        if (cand / "ietf-yang-types.yang").is_file():
            return cand
    raise FileNotFoundError(
        "pyang's IETF YANG modules not found; looked in: "
        + ", ".join(str(c) for c in candidates)
    )


def module_files() -> dict[str, Path]:
    """Map ``name@revision`` -> file for every module/submodule in YANG_DIR."""
    return {p.stem: p for p in sorted(YANG_DIR.glob("*.yang"))}
