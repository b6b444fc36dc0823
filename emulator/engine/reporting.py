"""Usage and RUM reporting (behaviour.md §1.5–§1.7, R11–R23): licences in use, report chains and their
lifecycle, retention, the REPORTING_REQUIRED countdown, saved usage files, pulls, and the import of ACKs and
policies."""

from __future__ import annotations


from typing import Callable

from ..profiles import Entitlement
from . import artifacts, messages
from .artifacts import ArtifactError
from .context import CLOSE, REMINDER, Context, Job
from .errors import DeviceError
from .policy import GROUPS, Policy, custom_policy, group_of
from .records import evolve
from .reports import MEASUREMENT_INTERVAL, Report
from .state import Account, Usage
from .timefmt import DAY

REPORT_STORAGE_LIMIT = 1000       # reports holding data (EXIST) before the oldest are purged (Q19)
REPORT_TIME_LIMIT = 400 * DAY     # reports older than this are purged / forgotten (Q19)
CLOSE_PERIOD = DAY                # open reports close at least daily (Q5, R22)
CLOCK_SKEW_TOLERANCE = DAY        # signed artefacts from further in the future fail "timestamp mismatch"


def check_int(value, lo: int, hi: int, what: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not lo <= value <= hi:
        raise DeviceError(f"% Invalid {what}: expected {lo}..{hi}")
    return value


class Reporting:
    def __init__(self, ctx: Context):
        self.ctx = ctx
        ctx.add_jobs(self.jobs)

    def jobs(self):
        ctx = self.ctx
        if ctx.st.reporting.last_close is not None and ctx.open:
            yield Job(ctx.st.reporting.last_close + CLOSE_PERIOD, CLOSE, self._periodic_close)
        reminder = ctx.next_reminder()
        if reminder is not None:
            yield Job(reminder, REMINDER, self._remind)

    def _periodic_close(self, t: float) -> None:
        self.close_all(t, reason="NONE", termination="PeriodicClose")
        self.apply_retention(t)

    def _remind(self, t: float) -> None:
        deadline = self.ctx.ack_deadline()
        self.ctx.update("reporting", reminder_cursor=t)
        self.ctx.syslog(t, messages.reporting_required(max(0, round((deadline - t) / DAY))))

    # ================================================================== usage
    def resolve(self, license_name: str) -> Entitlement:
        try:
            return self.ctx.profile.resolve(license_name, self.ctx.release.key)
        except KeyError:
            raise DeviceError(f"% Unknown license {license_name!r} on {self.ctx.pid}", "notfound") from None

    def set_usage(self, ent: Entitlement, count: int, now: float, quiet: bool = False) -> None:
        """What configuring (count > 0) or removing (count 0) a feature does. `quiet`: a change applied
        while booting, whose syslogs the boot sequence itself prints."""
        ctx = self.ctx
        current = ctx.st.usage.get(ent.name)
        if (current.count if current else 0) == count:
            return
        deadline_before = ctx.ack_deadline()
        first_use = ctx.st.reporting.t0 is None and count > 0
        if first_use:
            ctx.update("reporting", t0=now)
        usage = dict(ctx.st.usage)
        if count:
            usage[ent.name] = Usage(count, current.since if current else now)
        else:
            usage.pop(ent.name, None)
        ctx.put(usage=usage)
        ctx.event(now, "ENDPOINT_USAGE", count=str(count), entitlementTag=ent.full_tag)
        open_id = ctx.open.get(ent.name)
        if open_id is not None:
            closed = self.close_report(ctx.reports[open_id], now, reason="NONE" if count else "DECONFIG",
                                       termination="UsageChanged" if count else "Deconfigured")
            if count:
                self.start_report(ent, count, now, prev=closed)
        elif count:
            self.start_report(ent, count, now)
        self._usage_changed(ent, now, first_use=first_use)
        deadline = ctx.ack_deadline()
        if deadline is not None and (deadline_before is None or deadline < deadline_before) and not quiet:
            self.announce_deadline(now)   # a new, nearer requirement is announced at once
        if ent.enforcement == "export" and not quiet:
            ctx.syslog(now, messages.export_controlled(ctx.authorized(ent), ent.feature_name or "hseck9"))

    def _usage_changed(self, ent: Entitlement, now: float, first_use: bool) -> None:
        """R15: a change of usage requires a report within the group's report-on-change days. The very
        first use starts the first-report clock instead (R13: 365 days for perpetual licences)."""
        ctx = self.ctx
        rep = ctx.st.reporting
        roc = ctx.policy.group(group_of(ent.enforcement, ent.term)).on_change.days
        change_deadline = rep.change_deadline
        if roc > 0 and not first_use:
            candidate = now + roc * DAY
            if change_deadline is None or candidate < change_deadline:
                change_deadline = candidate
        ctx.update("reporting", change_deadline=change_deadline, reminder_cursor=now)

    def announce_deadline(self, now: float) -> None:
        deadline = self.ctx.ack_deadline()
        if deadline is not None:
            self.ctx.syslog(now, messages.reporting_required(max(0, round((deadline - now) / DAY))))

    # ================================================================== RUM reports
    def _new_report_id(self, now: float) -> int:
        c = self.ctx.st.counters
        # IDs count up by one, seeded from epoch seconds like the guide's examples (Q5).
        rid = c.next_report_id or int(now)
        self.ctx.update("counters", next_report_id=rid + 1, total=c.total + 1)
        return rid

    def start_report(self, ent: Entitlement, count: int, now: float, prev: Report | None = None) -> Report:
        ctx = self.ctx
        report = Report(id=self._new_report_id(now), feature=ent.name, tag=ent.full_tag, pid=ctx.pid, sn=ctx.sn,
                        count=count, start=now, prev_id=prev.id if prev else 0,
                        utility=bool(ctx.st.config.utility_enabled))
        if prev is not None:
            ctx.set_report(evolve(ctx.reports[prev.id], next_id=report.id))
        if not ctx.open:              # the first open report starts a new close cycle
            ctx.update("reporting", last_close=now)
        ctx.set_report(report)
        ctx.open[report.feature] = report.id
        return report

    def close_report(self, report: Report, now: float, reason: str, termination: str) -> Report:
        ctx = self.ctx
        report = evolve(report, end=now, termination=termination)
        payload = self._build_payload(report)
        signature = artifacts.sign_rum_payload(payload, pid=report.pid, sn=report.sn, software_tag=ctx.software_tag)
        report = ctx.set_report(report.advanced("CLOSED", reason, payload=payload, signature=signature))
        ctx.open.pop(report.feature, None)
        ctx.holding.append(report.id)
        ctx.holding_live += 1
        return report

    def close_all(self, now: float, reason: str, termination: str) -> int:
        """Closes every OPEN report and opens its successor for licences still in use (R19)."""
        ctx = self.ctx
        closed = 0
        for rid in sorted(ctx.open.values()):
            report = ctx.reports[rid]
            if report.start >= now and termination == "CurrentUsageRequested":
                continue                 # nothing measured yet: a pull or save at this instant has no data
            report = self.close_report(report, now, reason, termination)
            closed += 1
            rec = ctx.st.usage.get(report.feature)
            if rec:
                self.start_report(ctx.profile.entitlement(report.feature), rec.count, now, prev=report)
        ctx.update("reporting", last_close=now)
        return closed

    def _build_payload(self, report: Report) -> str:
        ctx = self.ctx
        duration = max(0, int(report.end - report.start))
        measurement = {
            "log_time": int(report.end), "metric_name": "ENTITLEMENT", "start_time": int(report.start),
            "end_time": int(report.end), "sample_interval": duration,
            "num_samples": duration // MEASUREMENT_INTERVAL + 1,
            "meta": {"termination_reason": report.termination, "close_reason": report.termination},
            "value": {"type": "COUNT", "value": str(report.count)},
        }
        version = None
        if ctx.release.version_in_rum and not ctx.st.config.privacy_version:
            version = ctx.release.display
        ha_udi = [{"role": m.role, "sudi": artifacts.sudi(m.pid, m.sn)} for m in ctx.members]
        return artifacts.build_rum_payload(
            report_id=report.id, software_tag=ctx.software_tag, pid=report.pid, sn=report.sn,
            entitlement_tag=report.tag, software_version=version, utility_enabled=report.utility,
            ha_udi=ha_udi, measurements=[measurement], new_format=ctx.release.new_rum_format)

    @staticmethod
    def envelope(report: Report) -> artifacts.RumEnvelope:
        return artifacts.rum_envelope(report.payload, report.signature)

    def apply_retention(self, now: float) -> None:
        """Purges the oldest unacknowledged data beyond the storage limit or the time limit, and forgets
        records past the time limit (R21, Q19); acknowledged reports have already released their data.
        Amortised O(1) per closed report: `holding` lists closed reports holding data, oldest first."""
        ctx = self.ctx
        cutoff = now - REPORT_TIME_LIMIT
        while ctx.holding:
            report = ctx.reports.get(ctx.holding[0])
            if report is None or report.storage != "EXIST":
                ctx.holding.popleft()           # acknowledged or purged since it was queued
                continue
            if ctx.holding_live > REPORT_STORAGE_LIMIT:
                self._purge(report, "LIMIT_STORAGE")
            elif report.end < cutoff:
                self._purge(report, "LIMIT_TIME")
            else:
                break
            ctx.holding.popleft()
        for report in list(ctx.reports.values()):
            if report.end is None or report.end >= cutoff:
                break                             # records are kept in id order, oldest first
            if report.storage != "EXIST":
                ctx.drop_report(report.id)

    def _purge(self, report: Report, why: str) -> None:
        self.ctx.set_report(evolve(self._released(report), flag="P", storage="PURGED", storage_reason=why))
        self.ctx.update("counters", purged=self.ctx.st.counters.purged + 1)

    def _released(self, report: Report) -> Report:
        """The report without its data (its payload and signature)."""
        if report.storage == "EXIST" and report.state != "OPEN":
            self.ctx.holding_live -= 1
        return evolve(report, payload=None, signature=None)

    def select(self, selector: str, now: float, days: int | None = None, rum_id: int | None = None) -> list[Report]:
        holding = [r for r in sorted(self.ctx.reports.values(), key=lambda r: r.id)
                   if r.storage == "EXIST" and r.state != "OPEN"]
        if selector == "all":
            return holding
        if selector == "unreported":
            return [r for r in holding if r.state in ("CLOSED", "UNACK")]
        if selector == "days":
            return [r for r in holding if r.end is not None and r.end >= now - days * DAY]
        if selector == "rum-id":
            report = self.ctx.reports.get(rum_id)
            if report is None or report.storage != "EXIST":
                raise DeviceError(f"% RUM report {rum_id} is not available", "notfound")
            return [report]
        raise DeviceError(f"% Invalid selection {selector!r}")

    def mark_reported(self, reports: list[Report], transaction_id: str = "0") -> None:
        for report in reports:
            if report.state in ("CLOSED", "PENDING"):
                self.ctx.set_report(report.advanced("UNACK", "REPORTING", transaction_id=transaction_id))

    def usage_document(self, reports: list[Report], requests: list[str], push: bool = False) -> str:
        """A usage file; `push`: the message of an online sync, which names its sender even when it has
        nothing else to say (CSSM's reportusage message carries the sender's sudi beside the reports)."""
        privacy = self.ctx.privacy_info()
        if push and privacy is None and not reports and not requests:
            privacy = {"udi": artifacts.sudi(self.ctx.pid, self.ctx.sn)}
        return artifacts.usage_file([self.envelope(r) for r in reports], privacy_info=privacy, requests=requests)

    def requests(self, now: float, channel: str) -> list[artifacts.SignedDocument]:
        """The device's pending requests a saved usage file (`file`), a collector's pull (`pull`) or a push
        (`push`) carries along with the reports: the trust request (R35) and a pending SLAC request (R40; in
        files from 17.7.1a, when SLAC requests can be saved)."""
        ctx = self.ctx
        docs = ctx.trust.pending_documents(now, channel)
        if channel != "file" or ctx.release.slac_files:
            docs += ctx.authority.pending_request_documents()
        return docs

    def save_usage(self, selector: str, target: str, now: float, days: int | None, rum_id: int | None) -> str:
        """`license smart save usage {all | unreported | days N | rum-id ID} file <path>`."""
        self.close_all(now, reason="NONE", termination="CurrentUsageRequested")
        chosen = self.select(selector, now, days, rum_id)
        requests = [d.to_xml() for d in self.requests(now, "file")]
        self.ctx.flash.write(target, self.usage_document(chosen, requests).encode())
        self.mark_reported(chosen)
        self.ctx.update("reporting", last_file_write=now)
        self.ctx.event(now, "RUM_SAVE", file=target, reports=str(len(chosen)))
        return target

    def collect(self, now: float, days: int | None, rum_id: int | None,
                with_requests: bool = False) -> list[artifacts.RumEnvelope]:
        """A data-model pull (CSLU / SSM On-Prem / controller): closes OPEN reports (Q28), returns the reports
        still holding data that are not yet acknowledged — or those of the last `days` days, or report
        `rum_id` — moves them to UNACK and sets Last report pull. `with_requests`: the device's pending
        requests follow the reports as further members (the trust request on 17.9.1a+, L429, L493, L1484;
        a pending SLAC request), so that the ACK brings back the trust code and the SLAC (L1482-1486)."""
        ctx = self.ctx
        selector = "days" if days is not None else "rum-id" if rum_id is not None else "unreported"
        self.close_all(now, reason="NONE", termination="CurrentUsageRequested")
        chosen = self.select(selector, now, days, rum_id)
        self.mark_reported(chosen)
        ctx.update("reporting", last_pull=now)
        envelopes = [self.envelope(ctx.reports[r.id]) for r in chosen]
        if with_requests:
            envelopes += [artifacts.request_envelope(d, ctx.pid, ctx.sn) for d in self.requests(now, "pull")]
        return envelopes

    # ================================================================== import (ACK, policy)
    def verify(self, doc: artifacts.SignedDocument, now: float, failure_syslog=None) -> None:
        def refuse(message: str, reason: str):
            raise DeviceError(f"% Import Data Failed: {message}", "verifysignaturefailed",
                              failure_syslog(reason) if failure_syslog else None)
        if not doc.verify(self.ctx.trust_anchor):
            refuse("signature verification failed", "signature mismatch")
        ts = doc.data.get("timestamp")
        if isinstance(ts, bool) or not isinstance(ts, (int, float)) or ts / 1000.0 > now + CLOCK_SKEW_TOLERANCE:
            refuse("timestamp mismatch", "timestamp mismatch")

    def check_ack(self, ack: artifacts.SignedDocument, now: float) -> Callable[[], None]:
        ctx = self.ctx
        self.verify(ack, now)
        udi = ack.data.get("udi") or {}
        if not any(udi.get("pid") == m.pid and udi.get("sn") == m.sn for m in ctx.members):
            raise DeviceError(f"% Import Data Failed: the ACK is for PID:{udi.get('pid')},SN:{udi.get('sn')}, "
                              f"not this device ({ctx.udi})", "matchidentifier")
        acks = ack.data.get("acknowledgements")
        if not isinstance(acks, list) or not all(isinstance(a, dict) and isinstance(a.get("report_id"), int)
                                                 for a in acks):
            raise DeviceError("% Import Data Failed: malformed acknowledgement list", "msgparse")
        rep = ctx.st.reporting
        issued, transaction = int(ack.data["timestamp"]), str(ack.data.get("transaction_id", "0"))
        if rep.ack_issued is not None and issued < rep.ack_issued:
            raise DeviceError("% Import Data Failed: the ACK is older than the ACK installed", "duplicatedentry")
        if rep.ack_issued == issued and rep.ack_transaction == transaction:
            raise DeviceError("% Import Data Failed: the ACK is already installed", "duplicatedentry")
        return lambda: self._apply_ack(ack.data, now)

    def check_policy(self, doc: artifacts.SignedDocument, now: float, stale_ok: bool = False) -> Callable[[], None]:
        """A policy older than the one installed is a replay: refused with POLICY_INSTALL_FAILED and nothing
        changes; `stale_ok` (a policy that comes with an ACK or a trust code): such a policy is passed over
        and the rest of the answer installed. The installed policy again is installed again, as the guide's
        log shows for the policy of the ACK that follows trust establishment (L5591-5595)."""
        self.verify(doc, now, messages.policy_install_failed)
        policy = self._policy_from(doc.data, now)
        current = self.ctx.st.policy
        if current is not None and current.issued is not None and policy.issued < current.issued:
            if stale_ok:
                return lambda: None
            reason = "A newer policy is already installed"
            raise DeviceError(f"% Import Data Failed: {reason}", "duplicatedentry",
                              messages.policy_install_failed(reason))
        return lambda: self._install_policy(policy, now)

    def _policy_from(self, data: dict, now: float) -> Policy:
        def malformed(detail: str):
            raise DeviceError(f"% Import Data Failed: {detail}", "msgparse",
                              messages.policy_install_failed("malformed policy"))
        groups = data.get("groups")
        if not isinstance(data.get("name"), str) or not isinstance(groups, dict):
            malformed("malformed policy")
        values: dict[str, dict[str, int]] = {}
        for group, attrs in groups.items():
            if group not in GROUPS or not isinstance(attrs, dict):
                malformed(f"unknown policy group {group!r}")
            values[group] = {}
            for attr, days in attrs.items():
                if attr not in ("first", "frequency", "on_change") or isinstance(days, bool) \
                        or not isinstance(days, int) or not 0 <= days <= 0xFFFFFFFF:
                    malformed(f"bad policy value {group}/{attr}")
                values[group][attr] = days
        ack_required = data.get("ack_required")
        return custom_policy(data["name"], now, values,
                             ack_required=ack_required if isinstance(ack_required, bool) else None,
                             issued=int(data["timestamp"]))

    def _install_policy(self, policy: Policy, now: float) -> None:
        ctx = self.ctx
        ctx.put(policy=policy)
        ctx.update("reporting", reminder_cursor=now)
        ctx.syslog(now, messages.policy_install_success())
        ctx.event(now, "POLICY_INSTALL", name=policy.name or "")
        ctx.record_import(now, "POLICY", "Success")

    def _apply_ack(self, data: dict, now: float) -> None:
        ctx = self.ctx
        transaction = str(data.get("transaction_id", "0"))
        ctx.update("reporting", ack_issued=int(data["timestamp"]), ack_transaction=transaction)
        for entry in data["acknowledgements"]:
            report = ctx.reports.get(entry["report_id"])
            if report is None:
                ctx.event(now, "RUM_ACK_UNKNOWN", reportId=str(entry["report_id"]))
                continue
            dropped = entry.get("status") == "DROPPED"
            if report.state == "ACK" or dropped:
                message = entry.get("message") or "Report already received."
                if report.state != "ACK":
                    report = report.advanced("ACK", "DROPPED")
                report = evolve(report, flag="E", transaction_message=message)
            else:
                report = evolve(self._released(report), storage="DELETED", storage_reason="PROCESSED")
                report = report.advanced("ACK", "ACKED")
            ctx.set_report(evolve(report, transaction_id="0"))
        ctx.update("reporting", last_ack=now, change_deadline=None, reminder_cursor=now)
        account = data.get("account")
        if ctx.release.account_info and isinstance(account, dict):
            stamp = data["timestamp"] / 1000.0
            current = ctx.st.account
            if current is None or stamp > current.as_of:
                ctx.put(account=Account(str(account.get("smart_account", "")),
                                        str(account.get("virtual_account", "")), stamp))
                ctx.record_import(now, "ACCOUNT INFO", "Success")
        subscriptions = data.get("subscriptions")
        if isinstance(subscriptions, dict):
            ctx.put(subscriptions={str(k): str(v) for k, v in subscriptions.items()})
            ctx.utility.subscriptions_changed(now)
        ctx.syslog(now, messages.sip_licensing_acknowledged())
        for rec in ctx.usage():
            if rec.entitlement.enforcement == "export" and rec.status == "IN USE":
                ctx.syslog(now, messages.export_controlled(True, rec.entitlement.feature_name or "hseck9"))
        ctx.event(now, "RUM_ACK", transactionId=transaction)
        ctx.record_import(now, "RUM ACK", "Success")

    def parse_import(self, data: bytes | str) -> artifacts.ImportBundle:
        try:
            return artifacts.parse_import(data)
        except ArtifactError as exc:
            raise DeviceError(f"% Import Data Failed: {exc}", exc.code) from None
