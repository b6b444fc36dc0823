"""The `slpemu cssm serve`, `slpemu cssm token create` and `slpemu cslu …` commands: Cisco's side of the
licensing estate as services (CSSM, CSLU / SSM On-Prem) and their tools. Registered on the `slpemu` group
by `register(main, cssm)`."""

from __future__ import annotations

from pathlib import Path

import click

from .cssm import POLICY_PRESETS
from .runtime import wait_for_stop


def _url_host(host: str) -> str:
    return f"[{host}]" if ":" in host else host


# ---------------------------------------------------------------------------------------------- CSSM

@click.command("serve")
@click.option("--state-dir", default="./slpemu-cssm-state", show_default=True, type=click.Path(file_okay=False),
              help="Where the service keeps its state (cssm.db, SQLite) and its TLS certificate.")
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option("--port", default=8444, show_default=True, type=click.IntRange(0, 65535),
              help="HTTPS port (443 on Cisco's cloud; 0: any free port).")
@click.option("--hostname", default=None,
              help="Host name the service is reached by (certificate and printed URLs; default: --host).")
@click.option("--base-path", default="/services/api/smart-accounts-and-licensing", show_default=True,
              help="Base path of the Smart Licensing REST API (Cisco: https://swapi.cisco.com<base-path>/v2/...).")
@click.option("--token-path", default="/as/token.oauth2", show_default=True,
              help="Path of the OAuth2 client-credentials token endpoint (Cisco: https://cloudsso.cisco.com/as/token.oauth2).")
@click.option("--accounts", "accounts_file", default=None, type=click.Path(dir_okay=False, exists=True),
              help="YAML file of accounts and API clients: `smart_accounts: [{name, domain, virtual_accounts: "
                   "[names]}]`, `clients: [{client_id, client_secret}]`.")
@click.option("--smart-account", default=None, help="A smart account (added to --accounts; default Eg-SA).")
@click.option("--domain", default=None, help="Domain of --smart-account (default derived from its name).")
@click.option("--virtual-account", "virtual_accounts", multiple=True,
              help="A virtual account of --smart-account (repeat; default Eg-VA).")
@click.option("--client-id", default=None, help="API client id (default slpemu).")
@click.option("--client-secret", default=None, help="API client secret (default slpemu-secret).")
@click.option("--processing-delay", default=None, type=click.FloatRange(min=0),
              help="Seconds of the service clock before a usage report's ACK is ready to poll (default 180 on "
                   "a new state dir, then as stored; 0 for tests).")
@click.option("--policy", default=None, type=click.Choice(sorted(POLICY_PRESETS)),
              help="Custom policy the service hands out with trust codes and ACKs.")
@click.option("--key", default=None, type=click.Path(dir_okay=False, exists=True),
              help="CSSM signing key (PEM; default: the bundled simulator's, which devices trust by default).")
@click.option("--tls-cert", default=None, type=click.Path(dir_okay=False, exists=True),
              help="PEM certificate (default: a self-signed one kept in the state dir as cssm-cert.pem).")
@click.option("--tls-key", default=None, type=click.Path(dir_okay=False, exists=True), help="Its PEM private key.")
def cssm_serve(state_dir, host, port, hostname, base_path, token_path, accounts_file, smart_account, domain,
               virtual_accounts, client_id, client_secret, processing_delay, policy, key, tls_cert, tls_key) -> None:
    """Run CSSM as an HTTPS service until interrupted: Cisco's Smart Licensing REST API (OAuth2 token,
    v2/accounts/search, v2/devices/reportusage, v2/devices/authrequest, v2/accounts/poll), the receiver of
    directly connected devices (license smart url smart https://HOST/licservice/license), test controls
    under /slpemu-control and the Product Instances page at /."""
    from .cssm_service import AccountsConfig, CssmService, start_cssm
    from .cssm_service.app import CALLHOME_PATH, CONTROL_PATH, SMART_PATH
    from .engine import artifacts

    try:
        accounts = None
        if accounts_file or smart_account or virtual_accounts or client_id or client_secret:
            accounts = AccountsConfig.load(accounts_file, smart_account=smart_account, domain=domain,
                                           virtual_accounts=tuple(virtual_accounts), client_id=client_id,
                                           client_secret=client_secret)
        private = artifacts.private_key_from_pem(Path(key).read_bytes()) if key else None
        svc = CssmService(state_dir, accounts, private_key=private, delay=processing_delay, policy=policy)
        server = start_cssm(svc, host=host, port=port, hostname=hostname, base_path=base_path,
                            token_path=token_path, cert=tls_cert, key=tls_key)
    except (ValueError, OSError) as exc:
        raise click.ClickException(str(exc)) from None
    name = hostname or host
    base = f"https://{_url_host(name)}:{server.port}"
    click.echo(f"slpemu CSSM on {server.url}, state in {Path(state_dir).resolve()}")
    click.echo(f"  OAuth2 token:   POST {base}{'/' + token_path.strip('/')}")
    click.echo(f"  REST API base:  {base}{'/' + base_path.strip('/') if base_path.strip('/') else ''}/")
    click.echo(f"  devices:        license smart url smart {base}{SMART_PATH}   (Call Home: {base}{CALLHOME_PATH})")
    click.echo(f"  web page:       {base}/   controls: {base}{CONTROL_PATH}/")
    click.echo("  accounts:       " + "; ".join(f"{a['name']} ({a['domain']}): " + ", ".join(v['name'] for v in a['virtual_accounts'])
                                            for a in svc.accounts_search()["accounts"]))
    click.echo(f"  processing delay: {svc.delay:g} s")
    click.echo("Press Ctrl+C to stop.")
    try:
        wait_for_stop()
    finally:
        server.stop()
        svc.close()


@click.group("token")
def cssm_token() -> None:
    """ID tokens of virtual accounts (CSSM > Inventory > General > New Token)."""


@cssm_token.command("create")
@click.option("--va", "virtual_account", required=True, help="Virtual account the token registers devices to.")
@click.option("--sa", "smart_account", default=None, help="Smart account of --va (name or domain) if ambiguous.")
@click.option("--state-dir", default="./slpemu-cssm-state", show_default=True, type=click.Path(file_okay=False),
              help="State directory of the CSSM service (`slpemu cssm serve --state-dir`).")
@click.option("--description", default="", help="Description kept with the token.")
@click.option("--expires-days", default=365, show_default=True, type=click.IntRange(1, 365 * 10),
              help="Days (of the service clock) the token is valid.")
def cssm_token_create(virtual_account, smart_account, state_dir, description, expires_days) -> None:
    """Print a new ID token for `license smart trust idtoken TOKEN local` on a device whose
    `license smart url smart` reaches this service."""
    from .cssm_service import CssmService

    try:
        svc = CssmService(state_dir)
        try:
            token = svc.create_id_token(virtual_account, smart_account, description, expires_days)
        finally:
            svc.close()
    except ValueError as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(token)


def register(main: click.Group, cssm: click.Group) -> None:
    cssm.add_command(cssm_serve)
    cssm.add_command(cssm_token)
    from .cslu.commands import cslu
    main.add_command(cslu)
