"""RUM report records (behaviour.md §1.6, R19–R23) and the usage-report summary counters."""

from __future__ import annotations

from dataclasses import dataclass, fields

from .records import evolve

# States in lifecycle order; a report only ever moves forward in this list.
STATES = ("OPEN", "CLOSED", "PENDING", "UNACK", "ACK")
STATE_RANK = {s: i for i, s in enumerate(STATES)}

MEASUREMENT_INTERVAL = 900  # seconds; "Interval: 00:15:00" (L12495)


@dataclass(frozen=True)
class Report:
    id: int
    feature: str                 # licence (feature) name, e.g. network-advantage_T2
    tag: str                     # full entitlement tag: the report's "Metric Value"
    pid: str
    sn: str
    count: int
    start: float
    prev_id: int = 0
    next_id: int = 0
    state: str = "OPEN"
    flag: str = "N"              # N normal, P purged, E error
    reason: str = "None"         # State Change Reason as `show license rum` prints it
    end: float | None = None     # None while OPEN (shown as "now")
    storage: str = "EXIST"       # EXIST | DELETED | PURGED | MISSING
    storage_reason: str = "None"  # None | PROCESSED | LIMIT_STORAGE | LIMIT_TIME
    transaction_id: str = "0"
    transaction_message: str | None = None
    termination: str | None = None  # measurement termination reason in the payload
    payload: str | None = None   # signed JSON text once CLOSED (byte-stable)
    signature: dict | None = None
    utility: bool = False

    @property
    def udi(self) -> str:
        return f"PID:{self.pid},SN:{self.sn}"

    def end_or(self, now: float) -> float:
        return now if self.end is None else self.end

    def advanced(self, state: str, reason: str | None = None, **changes) -> "Report":
        """This report moved forward to `state` (a report never moves back)."""
        if STATE_RANK[state] < STATE_RANK[self.state]:
            raise ValueError(f"report {self.id}: {self.state} -> {state} goes backwards")
        return evolve(self, state=state, reason=self.reason if reason is None else reason, **changes)

    def to_dict(self) -> dict:
        return {name: getattr(self, name) for name in _FIELDS}

    @classmethod
    def from_dict(cls, data: dict) -> "Report":
        known = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in data.items() if k in known})


_FIELDS = tuple(f.name for f in fields(Report))


@dataclass(frozen=True)
class Summary:
    """The `Usage Report Summary` block (L12504-12528)."""
    total: int
    purged: int
    acknowledged: int
    waiting_for_ack: int
    available_to_report: int
    collecting_data: int
    maximum_display: int
    in_storage: int
    mia: int


def summarize(reports, total: int, purged: int) -> Summary:
    acked = unack = available = collecting = stored = mia = tracked = 0
    for r in reports:
        tracked += 1
        if r.state == "ACK":
            acked += 1
        elif r.state in ("UNACK", "PENDING"):
            unack += 1
        elif r.state in ("OPEN", "CLOSED"):
            available += 1
        if r.state == "OPEN":
            collecting += 1
        if r.storage == "EXIST":
            stored += 1
        elif r.storage == "MISSING":
            mia += 1
    return Summary(total=total, purged=purged, acknowledged=acked, waiting_for_ack=unack,
                   available_to_report=available, collecting_data=collecting, maximum_display=tracked,
                   in_storage=stored, mia=mia)
