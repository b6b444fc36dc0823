"""The `slpemu` command: run an emulated device, and the CSSM issuing tools for air-gapped workflows."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from . import __version__
from .cssm import POLICY_PRESETS, Cssm, CssmError
from .engine import artifacts
from .runtime import DeviceOptions, Ticker, open_device, wait_for_stop


@click.group()
@click.version_option(__version__)
def main() -> None:
    """Emulator of the Smart Licensing Using Policy subsystem of Cisco IOS XE routers."""


@main.command()
@click.option("--platform", default="C8000V", show_default=True, help="Platform profile (PID).")
@click.option("--release", default="17.12.1a", show_default=True, help="Emulated IOS XE release.")
@click.option("--state-dir", default="./slpemu-state", show_default=True, type=click.Path(file_okay=False))
@click.option("--hostname", default=None, help="Hostname of a new device (default Router).")
@click.option("--serial", default=None, help="Serial number of a new device (default: the profile's).")
@click.option("--host", default="127.0.0.1", show_default=True, help="Address the front-ends listen on.")
@click.option("--netconf-port", default=2830, show_default=True, type=int)
@click.option("--restconf-port", default=8443, show_default=True, type=int)
@click.option("--cli-port", default=2022, show_default=True, type=int)
@click.option("--http-port", default=None, type=int,
              help="Also serve the native /smartlic-service API over plain HTTP here (turns on `ip http server`).")
@click.option("--tls-cert", default=None, type=click.Path(dir_okay=False, exists=True),
              help="PEM certificate of the HTTPS port (default: a self-signed one kept in the state dir).")
@click.option("--tls-key", default=None, type=click.Path(dir_okay=False, exists=True), help="Its PEM private key.")
@click.option("--user", default="admin", show_default=True)
@click.option("--password", default="admin", show_default=True)
@click.option("--cssm-trust-anchor", default=None, type=click.Path(dir_okay=False, exists=True),
              help="PEM public key of the CSSM that signs ACKs (default: the bundled simulator's).")
@click.option("--frozen-clock", is_flag=True, help="Start with the device clock frozen.")
@click.option("--factory-trust", is_flag=True, help="A new device ships with a factory trust code (17.7.1a+).")
@click.option("--migrated-from", type=click.Choice(["slr", "pak"]), default=None,
              help="A new device upgraded from pre-SLP licensing with an SLR or PAK licences.")
@click.option("--migrated-license", "migrated_licences", multiple=True,
              help="A licence in use under --migrated-from (repeat; e.g. hseck9).")
@click.option("--builtin-cssm", is_flag=True,
              help="Answer online requests (trust, authorization, sync) from the bundled CSSM simulator "
                   "in-process, as if the configured URL reached it.")
@click.option("--builtin-cssm-policy", type=click.Choice(sorted(POLICY_PRESETS)), default=None,
              help="Custom policy the built-in CSSM hands out.")
@click.option("--push-ca", default=None, type=click.Path(dir_okay=False, exists=True),
              help="PEM certificate(s) the device trusts for HTTPS to CSSM / CSLU / SSM On-Prem (default: the "
                   "system's; `no license smart server-identity-check` skips the check).")
@click.option("--push-timeout", default=20.0, show_default=True, type=click.FloatRange(0.1, 600),
              help="Seconds a push, poll or request to the peer may take before COMM_FAILED (timeout).")
@click.option("--ip-host", "ip_hosts", multiple=True,
              help="NAME=ADDRESS in the device's host table, as IOS `ip host` (e.g. cslu-local=127.0.0.1); repeat.")
def serve(platform, release, state_dir, hostname, serial, host, netconf_port, restconf_port, cli_port, http_port,
          tls_cert, tls_key, user, password, cssm_trust_anchor, frozen_clock, factory_trust, migrated_from,
          migrated_licences, builtin_cssm, builtin_cssm_policy, push_ca, push_timeout, ip_hosts) -> None:
    """Run one emulated device until interrupted."""
    if tls_cert or tls_key:             # a bad pair is one line and exit status 2, before anything starts
        from .frontends.restconf.tls import check_pair
        try:
            if not (tls_cert and tls_key):
                raise ValueError("give both --tls-cert and --tls-key")
            check_pair(tls_cert, tls_key)
        except ValueError as exc:
            click.echo(f"Error: --tls-cert/--tls-key: {exc}", err=True)
            sys.exit(2)
    options = DeviceOptions(platform=platform, release=release, hostname=hostname, serial=serial,
                            trust_anchor=cssm_trust_anchor, frozen_clock=frozen_clock, users={user: password},
                            factory_trust=factory_trust, migrated_from=migrated_from,
                            migrated_licences=tuple(migrated_licences), builtin_cssm=builtin_cssm,
                            builtin_cssm_policy=builtin_cssm_policy)
    try:
        device = open_device(state_dir, options)
    except Exception as exc:  # a bad profile, release or state dir: say why and stop
        raise click.ClickException(str(exc)) from None
    if not builtin_cssm:     # online requests and pushes go over the network to the configured URL
        from .frontends.push import HttpOutbound, parse_hosts
        try:
            device.attach_outbound(HttpOutbound(device, ca_file=push_ca, timeout=push_timeout,
                                                hosts=parse_hosts(ip_hosts)))
        except ValueError as exc:
            raise click.ClickException(str(exc)) from None
    ticker = Ticker([device]).start()
    click.echo(f"slpemu {__version__}: {device.hostname} {device.udi} IOS XE {device.release} "
               f"({device.profile.family}), state in {Path(state_dir).resolve()}")
    from .frontends import start_frontends
    servers = start_frontends(device, host=host, netconf_port=netconf_port, restconf_port=restconf_port,
                              cli_port=cli_port, state_dir=Path(state_dir), http_port=http_port,
                              tls_cert=tls_cert, tls_key=tls_key)
    for line in servers.describe():
        click.echo(line)
    click.echo("Press Ctrl+C to stop.")
    try:
        wait_for_stop()
    finally:
        servers.stop()
        ticker.stop()
        device.store.close()


@main.group()
def cssm() -> None:
    """The CSSM issuing library on the command line (air-gapped workflows)."""


@cssm.command("process")
@click.argument("in_file", type=click.Path(dir_okay=False, exists=True))
@click.option("--out", "out_file", required=True, type=click.Path(dir_okay=False),
              help="Where to write CSSM's answer (ACK, ACK bundle, trust code, SLAC or return acknowledgement).")
@click.option("--policy", default=None, type=click.Choice(sorted(POLICY_PRESETS)),
              help="Attach this custom policy to the ACK.")
@click.option("--smart-account", default=None, help="Smart Account the file is uploaded to (default Eg-SA).")
@click.option("--virtual-account", default=None, help="Virtual Account the file is uploaded to (default Eg-VA).")
@click.option("--key", default=None, type=click.Path(dir_okay=False, exists=True),
              help="CSSM private key (PEM; default: the bundled simulator's).")
@click.option("--state", default="./slpemu-cssm.json", show_default=True, type=click.Path(dir_okay=False),
              help="Where CSSM keeps its inventory and the reports it has received.")
def cssm_process(in_file, out_file, policy, smart_account, virtual_account, key, state) -> None:
    """Answer what a user uploads to CSSM, as CSSM does: a usage file or an offline upload bundle
    (UD_SA_*.tar.gz) with an ACK (bundle), a trust request with a trust code, an authorization request with
    a SLAC, an authorization return with its acknowledgement. Nothing is written for anything else."""
    private = artifacts.private_key_from_pem(Path(key).read_bytes()) if key else None
    issuer = Cssm(private, state_path=state)
    known = set(issuer.devices())

    def write(answer: bytes) -> None:
        try:
            Path(out_file).write_bytes(answer)
        except OSError as exc:
            raise CssmError(f"cannot write {out_file}: {exc.strerror}") from None

    try:
        _, _, what = issuer.process(Path(in_file).read_bytes(), policy=policy, smart_account=smart_account,
                                    virtual_account=virtual_account, commit=write)
    except CssmError as exc:
        raise click.ClickException(f"{in_file}: {_one_line(exc)}") from None
    for udi, info in sorted(issuer.devices().items()):
        if udi not in known:
            click.echo(f"Added {udi} to Smart Account {info['smart_account']}, "
                       f"Virtual Account {info['virtual_account']}")
    click.echo(f"Wrote {out_file}: {what}")


@cssm.command("plr")
@click.argument("request_code")
@click.option("--out", "out_file", default=None, type=click.Path(dir_okay=False),
              help="Also write the authorization code to this file (CSSM's Download as File).")
def cssm_plr(request_code, out_file) -> None:
    """The Permanent License Reservation authorization code (version 3) CSSM issues for the request code of
    `license smart reservation request local`; install it with `license smart reservation install`."""
    try:
        code = Cssm.plr_authorization(request_code)
    except CssmError as exc:
        raise click.ClickException(_one_line(exc)) from None
    if out_file:
        try:
            Path(out_file).write_text(code + "\n")
        except OSError as exc:
            raise click.ClickException(f"cannot write {out_file}: {exc.strerror}") from None
    click.echo(code)


def _one_line(exc: Exception) -> str:
    return " ".join(str(exc).split())


@cssm.command("policy")
@click.argument("name", type=click.Choice(sorted(POLICY_PRESETS)))
@click.option("--out", "out_file", required=True, type=click.Path(dir_okay=False))
@click.option("--key", default=None, type=click.Path(dir_okay=False, exists=True))
def cssm_policy(name, out_file, key) -> None:
    """Write a signed policy file, as downloaded from CSSM > Reports > Reporting Policy."""
    private = artifacts.private_key_from_pem(Path(key).read_bytes()) if key else None
    Path(out_file).write_text(Cssm(private).policy_file(name))
    click.echo(f"Wrote {out_file}")


@cssm.command("keygen")
@click.option("--out", "out_prefix", required=True, help="Writes PREFIX.key (private) and PREFIX.pub (public).")
def cssm_keygen(out_prefix) -> None:
    """Create a CSSM key pair; give PREFIX.pub to `slpemu serve --cssm-trust-anchor`."""
    key = artifacts.generate_private_key()
    Path(f"{out_prefix}.key").write_text(artifacts.private_key_to_pem(key))
    Path(f"{out_prefix}.pub").write_text(artifacts.public_key_to_pem(key.public_key()))
    click.echo(f"Wrote {out_prefix}.key and {out_prefix}.pub")


from .cli_services import register as _register_services  # noqa: E402  (CSSM / CSLU services and tools)

_register_services(main, cssm)

from .fleet.cli import fleet as _fleet  # noqa: E402  (`slpemu fleet …`)

main.add_command(_fleet)


if __name__ == "__main__":
    sys.exit(main())
