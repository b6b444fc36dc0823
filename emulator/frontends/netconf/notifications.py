"""RFC 5277 notifications from the device's syslog.

Every licensing syslog message becomes a `slpemu-control:syslog-message` notification, and those that
match a `cisco-smart-license` notification also become that notification (listed before the
syslog-message one, same eventTime):

    %SMART_LIC-6-AGENT_ENABLED                 ready, enabled
    %SMART_LIC-3-COMM_FAILED                   communications-fail   (reason general-failure, message)
    %SMART_LIC-5-COMM_RESTORED                 communications-restored
    %SMART_LIC-6-UTILITY_STARTED               utility-reporting-started
    %SMART_LIC-6-UTILITY_STOPPED               utility-reporting-stopped
    %SMART_LIC-3-UTILITY_REPORT_FAILED         utility-RUM-fail      (reason general-failure, message)
    %SMART_LIC-6-TRUST_INSTALL_SUCCESS         registration-success  (trust establishment is SLP's registration)
    %SMART_LIC-3-TRUST_CODE_INSTALL_FAILED     registration-fail     (reason general-failure, message)
    %SMART_LIC-6-AUTHORIZATION_INSTALL_SUCCESS authorization-renew-success
    %SMART_LIC-3-AUTHORIZATION_INSTALL_FAILED  authorization-renew-fail (reason general-failure, message)
    %SMART_LIC-6-RESERVED_INSTALLED            enforcement-mode      (mode auth-state-authorized-reservation)

Events the Cisco model has no notification for (RUM ACK import, policy install, reporting reminders,
export-control messages) arrive only as syslog-message.
"""

from __future__ import annotations

from emulator.engine.messages import Syslog
from emulator.engine.timefmt import yang_time

CSL = "cisco-smart-license"
CONTROL = "slpemu-control"


def _failure(msg: Syslog) -> dict:
    return {"reason": "general-failure", "message": msg.text[:255]}


SYSLOG_TO_NOTIFICATIONS = {
    "AGENT_ENABLED": [("ready", None), ("enabled", None)],
    "COMM_FAILED": [("communications-fail", _failure)],
    "COMM_RESTORED": [("communications-restored", None)],
    "UTILITY_STARTED": [("utility-reporting-started", None)],
    "UTILITY_STOPPED": [("utility-reporting-stopped", None)],
    "UTILITY_REPORT_FAILED": [("utility-RUM-fail", _failure)],
    "TRUST_INSTALL_SUCCESS": [("registration-success", None)],
    "TRUST_CODE_INSTALL_FAILED": [("registration-fail", _failure)],
    "AUTHORIZATION_INSTALL_SUCCESS": [("authorization-renew-success", None)],
    "AUTHORIZATION_INSTALL_FAILED": [("authorization-renew-fail", _failure)],
    "RESERVED_INSTALLED": [("enforcement-mode", lambda m: {"mode": "auth-state-authorized-reservation"})],
}


def notifications_for(msg: Syslog, schema) -> list[tuple[object, dict]]:
    """(notification SNode, data) pairs for one syslog message, in delivery order."""
    out = []
    if msg.facility == "SMART_LIC":
        for name, build in SYSLOG_TO_NOTIFICATIONS.get(msg.mnemonic, ()):
            node = schema.notifications.get(f"{CSL}:{name}")
            if node is not None:
                out.append((node, build(msg) if build else {}))
    node = schema.notifications.get(f"{CONTROL}:syslog-message")
    if node is not None:
        out.append((node, {"time": yang_time(msg.time), "facility": msg.facility, "severity": msg.severity,
                           "mnemonic": msg.mnemonic, "text": msg.text}))
    return out
