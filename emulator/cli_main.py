"""The `slpemu` command: run an emulated device, and the CSSM issuing tools for air-gapped workflows."""

from __future__ import annotations

import signal
import sys
import threading
from pathlib import Path

import click

from . import __version__
from .cssm import POLICY_PRESETS, Cssm, CssmError
from .engine import artifacts
from .runtime import DeviceOptions, Ticker, open_device


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
def serve(platform, release, state_dir, hostname, serial, host, netconf_port, restconf_port, cli_port, http_port,
          tls_cert, tls_key, user, password, cssm_trust_anchor, frozen_clock, factory_trust, migrated_from,
          migrated_licences, builtin_cssm, builtin_cssm_policy) -> None:
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
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    try:
        while not stop.wait(0.5):
            pass
    except KeyboardInterrupt:
        pass
    finally:
        servers.stop()
        ticker.stop()
        device.store.close()


@main.group()
def cssm() -> None:
    """The CSSM issuing library on the command line (air-gapped workflows)."""


@cssm.command("process")
@click.argument("in_file", type=click.Path(dir_okay=False, exists=True))
@click.option("--out", "out_file", required=True, type=click.Path(dir_okay=False), help="ACK file to write.")
@click.option("--policy", default=None, type=click.Choice(sorted(POLICY_PRESETS)),
              help="Attach this custom policy to the ACK.")
@click.option("--smart-account", default=None, help="Smart Account named in the ACK (default Eg-SA).")
@click.option("--virtual-account", default=None, help="Virtual Account named in the ACK (default Eg-VA).")
@click.option("--key", default=None, type=click.Path(dir_okay=False, exists=True),
              help="CSSM private key (PEM; default: the bundled simulator's).")
@click.option("--state", default="./slpemu-cssm.json", show_default=True, type=click.Path(dir_okay=False),
              help="Where CSSM remembers the reports it has received.")
def cssm_process(in_file, out_file, policy, smart_account, virtual_account, key, state) -> None:
    """Answer a usage file (or an offline upload bundle, .tar.gz) with CSSM's signed ACK (bundle)."""
    private = artifacts.private_key_from_pem(Path(key).read_bytes()) if key else None
    issuer = Cssm(private, state_path=state)
    data = Path(in_file).read_bytes()
    kwargs = {"policy": policy, "smart_account": smart_account, "virtual_account": virtual_account}
    try:
        if data[:2] == b"\x1f\x8b":
            Path(out_file).write_bytes(issuer.process_bundle(data, **kwargs))
        else:
            Path(out_file).write_text(issuer.process_usage(data, **kwargs))
    except CssmError as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(f"Wrote {out_file}")


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


if __name__ == "__main__":
    sys.exit(main())
