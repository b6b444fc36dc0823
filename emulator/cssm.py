"""The CSSM issuing library: what Cisco Smart Software Manager does with what a device sends it.

It verifies usage reports, remembers which reports it has already received (answering a repeat with
DROPPED, "Report already received."), and signs ACKs and policies with its own key. An HTTP service and the
`slpemu cssm process` command wrap it.

Offline bundles follow Cisco's sample tooling (interfaces.md §C.4): an upload `UD_SA_<ts>.tar.gz` holds a
`manifest.mf` and `UD_VA_<ts>.tar.gz`, which holds one `dev_<id>_<ts>.txt` usage file per device; the
answer is a tar.gz holding `ACK_UD_VA_<ts>.tar.gz`, which holds one `ACK_dev_<id>_<ts>.txt` per device file.
"""

from __future__ import annotations

import io
import json
import secrets
import tarfile
import threading
import time
from pathlib import Path

from .engine import artifacts
from .engine.artifacts import ArtifactError

# Named custom policies `slpemu cssm process --policy NAME` can attach. "SLE Policy" holds the values of
# the guide's C8300 example (L12233-12257); "Custom Policy" is a short-cycle policy for tests.
POLICY_PRESETS: dict[str, dict] = {
    "SLE Policy": {"ack_required": True, "groups": {
        "perpetual": {"first": 30, "frequency": 60, "on_change": 60},
        "subscription": {"first": 120, "frequency": 111, "on_change": 111},
        "enforced": {"first": 30, "frequency": 90, "on_change": 60},
        "export": {"first": 30, "frequency": 30, "on_change": 30}}},
    "Custom Policy": {"ack_required": True, "groups": {
        "perpetual": {"first": 60, "frequency": 60, "on_change": 30},
        "subscription": {"first": 30, "frequency": 30, "on_change": 30}}},
    "No ACK Policy": {"ack_required": False, "groups": {}},
}

MAX_BUNDLE_MEMBER = 16 * 1024 * 1024
MAX_BUNDLE_MEMBERS = 10000


class CssmError(ValueError):
    pass


class Cssm:
    def __init__(self, private_key=None, state_path: str | Path | None = None,
                 smart_account: str = "Eg-SA", virtual_account: str = "Eg-VA"):
        self.key = private_key or artifacts.simulator_private_key()
        self.state_path = Path(state_path) if state_path else None
        self.smart_account = smart_account
        self.virtual_account = virtual_account
        self._lock = threading.Lock()
        self._seen: dict[str, list[int]] = {}
        if self.state_path and self.state_path.exists():
            self._seen = json.loads(self.state_path.read_text()).get("seen_reports", {})

    @property
    def public_key(self):
        return self.key.public_key()

    def _save(self) -> None:
        if self.state_path:
            self.state_path.parent.mkdir(parents=True, exist_ok=True)
            tmp = self.state_path.with_suffix(".tmp")
            tmp.write_text(json.dumps({"seen_reports": self._seen}))
            tmp.replace(self.state_path)

    # ------------------------------------------------------------------ policies
    def policy_data(self, name: str, now: float | None = None, groups: dict | None = None,
                    ack_required: bool | None = None) -> dict:
        if groups is None:
            if name not in POLICY_PRESETS:
                raise CssmError(f"unknown policy {name!r}; known: {', '.join(POLICY_PRESETS)}")
            preset = POLICY_PRESETS[name]
            groups, ack_required = preset["groups"], preset["ack_required"]
        return artifacts.policy_data(name, _ms(now), groups, ack_required)

    def policy_file(self, name: str, now: float | None = None, groups: dict | None = None,
                    ack_required: bool | None = None) -> str:
        return artifacts.build_policy_file(self.key, self.policy_data(name, now, groups, ack_required))

    # ------------------------------------------------------------------ usage → ACK
    def process_usage(self, text: str | bytes, *, now: float | None = None, policy: str | None = None,
                      smart_account: str | None = None, virtual_account: str | None = None) -> str:
        """Answers one usage file with the signed ACK a real CSSM would return."""
        try:
            usage = artifacts.parse_usage(text)
        except ArtifactError as exc:
            raise CssmError(f"the usage file cannot be read: {exc}") from None
        if not usage.identities:
            raise CssmError("the usage file does not identify its device")
        identity = usage.identities[0]
        try:
            device_key = artifacts.public_key_from_raw_b64(identity["public_key"])
            pid, sn = identity["udi"]["udi_pid"], identity["udi"]["udi_serial_number"]
        except (KeyError, TypeError, ValueError) as exc:
            raise CssmError(f"the usage file's device identity is malformed: {exc}") from None
        udis = {(i["udi"]["udi_pid"], i["udi"]["udi_serial_number"]) for i in usage.identities}
        for env in usage.envelopes:
            sig = env.signature if isinstance(env.signature, dict) else {}
            report_udi = (sig.get("sudi", {}).get("udi_pid"), sig.get("sudi", {}).get("udi_serial_number"))
            if report_udi not in udis or not artifacts.verify_text(device_key, env.payload, str(sig.get("value", ""))):
                raise CssmError("the usage file has been altered: a RUM report signature does not verify")
        acknowledgements = []
        with self._lock:
            seen = self._seen.setdefault(f"{pid}/{sn}", [])
            seen_set = set(seen)
            for env in usage.envelopes:
                try:
                    rid = env.report_id
                except (KeyError, ValueError, TypeError, json.JSONDecodeError):
                    raise CssmError("a RUM report payload is malformed") from None
                if rid in seen_set:
                    acknowledgements.append({"report_id": rid, "status": "DROPPED",
                                             "message": "Report already received."})
                else:
                    acknowledgements.append({"report_id": rid, "status": "ACKED"})
                    seen.append(rid)
                    seen_set.add(rid)
            self._save()
        account = {"smart_account": smart_account or self.smart_account,
                   "virtual_account": virtual_account or self.virtual_account}
        policy_doc = self.policy_data(policy, now) if policy else None
        return artifacts.build_ack(key=self.key, pid=pid, sn=sn, timestamp_ms=_ms(now),
                                   acknowledgements=acknowledgements, account=account,
                                   transaction_id=str(secrets.randbelow(10 ** 18)), policy=policy_doc)

    # ------------------------------------------------------------------ offline bundles
    def process_bundle(self, data: bytes, **kwargs) -> bytes:
        """Answers CSSM's offline upload bundle with its ACK bundle."""
        outer = _read_tar(data)
        inner_name = next((n for n in outer if n.startswith("UD_VA_") and n.endswith(".tar.gz")), None)
        if "manifest.mf" not in outer or inner_name is None:
            raise CssmError("not an offline usage bundle: manifest.mf or UD_VA_*.tar.gz is missing")
        inner = _read_tar(outer[inner_name])
        answers = {}
        for name, body in sorted(inner.items()):
            if name.startswith("dev_") and name.endswith(".txt"):
                answers[f"ACK_{name}"] = self.process_usage(body, **kwargs).encode()
        if not answers:
            raise CssmError("the bundle holds no device usage file")
        inner_ack = _write_tar(answers)
        return _write_tar({f"ACK_{inner_name}": inner_ack})


def make_upload_bundle(usage_files: dict[str, bytes], stamp: int | None = None) -> tuple[str, bytes]:
    """Builds the offline upload bundle from per-device usage files (name → content), as Cisco's sample
    tooling does. Returns (file name, bytes)."""
    stamp = stamp or int(time.time())
    devices = {f"dev_{i}_{stamp}.txt": body for i, body in enumerate(usage_files.values(), start=1)}
    inner_name = f"UD_VA_{stamp}.tar.gz"
    manifest = json.dumps({"files": sorted(devices), "source": "slpemu", "timestamp": stamp}).encode()
    outer = _write_tar({"manifest.mf": manifest, inner_name: _write_tar(devices)})
    return f"UD_SA_{stamp}.tar.gz", outer


def _ms(now: float | None) -> int:
    return int((time.time() if now is None else now) * 1000)


def _read_tar(data: bytes) -> dict[str, bytes]:
    out: dict[str, bytes] = {}
    try:
        with tarfile.open(fileobj=io.BytesIO(data), mode="r:*") as tar:
            for i, member in enumerate(tar):
                if i >= MAX_BUNDLE_MEMBERS:
                    raise CssmError("too many files in the bundle")
                if not member.isfile():
                    continue
                if member.size > MAX_BUNDLE_MEMBER:
                    raise CssmError(f"{member.name} is too large")
                f = tar.extractfile(member)
                out[Path(member.name).name] = f.read() if f else b""
    except (tarfile.TarError, EOFError, OSError) as exc:
        raise CssmError(f"not a tar.gz bundle: {exc}") from None
    return out


def _write_tar(files: dict[str, bytes]) -> bytes:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w:gz") as tar:
        for name, body in files.items():
            info = tarfile.TarInfo(name)
            info.size = len(body)
            info.mtime = 0
            tar.addfile(info, io.BytesIO(body))
    return buf.getvalue()
