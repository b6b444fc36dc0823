"""Every licensing syslog message the device emits, with the guide's exact text (tasks-messages.md §2),
and the `SAEVT_...` event-log records (behaviour.md §1.12).

Where chapter 7 and real device logs disagree, real logs win (tasks-messages.md §2.2 conflict table):
COMM_RESTORED is -5-, trust success is TRUST_INSTALL_SUCCESS, UTILITY_STARTED is -6-, and the success
texts of AUTHORIZATION_INSTALL_SUCCESS / POLICY_INSTALL_SUCCESS follow the examples."""

from __future__ import annotations

from dataclasses import dataclass

from .timefmt import eventlog_stamp, syslog_stamp

CSLU_NAME = "Cisco Smart License Utility (CSLU)"
CSSM_NAME = "Cisco Smart Software Manager (CSSM)"


@dataclass(frozen=True)
class Syslog:
    time: float
    facility: str
    severity: int
    mnemonic: str
    text: str
    seq: int = 0          # position in the device's log, increasing (what replay and streaming key on)

    @property
    def tag(self) -> str:
        return f"%{self.facility}-{self.severity}-{self.mnemonic}"

    def line(self) -> str:
        """The console form: `*Jan 31 05:18:00.804: %SMART_LIC-6-...: text`."""
        return f"{syslog_stamp(self.time)}: {self.tag}: {self.text}"

    def to_dict(self) -> dict:
        return {"time": self.time, "facility": self.facility, "severity": self.severity,
                "mnemonic": self.mnemonic, "text": self.text, "seq": self.seq}


@dataclass(frozen=True)
class Event:
    time: float
    name: str
    attrs: tuple[tuple[str, str], ...] = ()

    def line(self) -> str:
        rendered = "".join(f' {k}="{v}"' for k, v in self.attrs)
        return f"{eventlog_stamp(self.time)} SAEVT_{self.name}{rendered}"


def _msg(severity: int, mnemonic: str, text: str, facility: str = "SMART_LIC") -> tuple[str, int, str, str]:
    return facility, severity, mnemonic, text


# Each function returns (facility, severity, mnemonic, text).
def reporting_required(days: int):
    return _msg(6, "REPORTING_REQUIRED", f"A Usage report acknowledgement will be required in {days} days.")


def policy_install_success():
    return _msg(6, "POLICY_INSTALL_SUCCESS", "A new licensing policy was successfully installed")


def policy_install_failed(reason: str):
    return _msg(3, "POLICY_INSTALL_FAILED", f"The installation of a new licensing policy has failed: {reason}.")


def policy_removed():
    return _msg(3, "POLICY_REMOVED", "The licensing policy has been removed.")


def authorization_install_success(udi: str):
    return _msg(6, "AUTHORIZATION_INSTALL_SUCCESS",
                f"A new licensing authorization code was successfully installed on {udi}")


def authorization_install_failed(udi: str, reason: str):
    return _msg(3, "AUTHORIZATION_INSTALL_FAILED",
                f"The install of a new licensing authorization code has failed on {udi}: {reason}.")


def authorization_removed(udi: str):
    return _msg(6, "AUTHORIZATION_REMOVED", f"A licensing authorization code has been removed from {udi}.")


def trust_install_success(udi: str):
    return _msg(6, "TRUST_INSTALL_SUCCESS", f"A new licensing trust code was successfully installed on {udi}.")


def trust_install_failed(udi: str, reason: str):
    return _msg(3, "TRUST_CODE_INSTALL_FAILED",
                f"The install of a new licensing trust code has failed on {udi}: {reason}.")


def comm_failed(peer: str, reason: str):
    return _msg(3, "COMM_FAILED", f"Communications failure with the {peer} : {reason}")


def comm_restored(peer: str):
    return _msg(5, "COMM_RESTORED", f"Communications with {peer} restored.")


def reporting_not_supported():
    return _msg(4, "REPORTING_NOT_SUPPORTED",
                "The CSSM OnPrem that this product instance is connected to is down rev and does not support "
                "the enhanced policy and usage reporting mode.")


def export_controlled(allowed: bool, feature: str = "hseck9"):
    if allowed:
        return _msg(6, "EXPORT_CONTROLLED", f"Usage of export controlled features is allowed for feature {feature}")
    return _msg(6, "EXPORT_CONTROLLED", "Usage of export controlled features is not allowed")


def sip_licensing_acknowledged():
    return _msg(1, "LICENSING", "SIP service is Up. License report acknowledged.", facility="SIP")


def agent_enabled():
    return _msg(6, "AGENT_ENABLED", "Smart Agent for Licensing is enabled")


def utility_trust_code():
    return _msg(4, "UTILITY_TRUST_CODE",
                "Trust establishment with an ID TOKEN is required before utility usage reporting can start.")


def utility_subscription_license(license_name: str):
    return _msg(4, "UTILITY_SUBSCRIPTION_LICENSE",
                f"Utility mode is in use with a license that does not have a subscription id: {license_name}")


def utility_no_ack(days: int):
    return _msg(4, "UTILITY_NO_ACK",
                f"A Usage report acknowledgement has not been received in the last {days} days. "
                "An Acknowledgement is required every 30 days.")


def utility_transport_not_config():
    return _msg(4, "UTILITY_TRANSPORT_NOT_CONFIG",
                "To support utility mode the transport must be set to 'smart transport' or 'cslu'.")


def utility_report_failed():
    return _msg(3, "UTILITY_REPORT_FAILED", "Smart Agent for Licensing Utility has failed to send usage Report.")


def utility_started():
    return _msg(6, "UTILITY_STARTED", "Smart Agent for Licensing Utility has started sending usage reports")


def utility_stopped():
    return _msg(6, "UTILITY_STOPPED", "Smart Agent for Licensing Utility has stopped sending usage reports")


def reserved_installed(udi: str):
    return _msg(6, "RESERVED_INSTALLED", f"Specific License Reservation Authorization code installed for udi {udi}")


def reserve_auth_failed(udi: str):
    return _msg(6, "RESERVE_AUTH_FAILED",
                f"Failed to validate the Universal Reservation Authorization Code for udi {udi}. "
                "Changing to the unregistered state.")


def system_restarted():
    return _msg(5, "RESTART", "System restarted --", facility="SYS")
