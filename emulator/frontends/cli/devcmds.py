"""The IOS configuration commands around licensing that the guide's procedures use (network reachability,
HTTP client, AAA, PKI trustpoint, Call Home, NTP, VRFs, interfaces, SSH, vty lines), their sub-modes, and
their lines of `show running-config`.

Each action reads the device's current settings from one snapshot, builds the new record(s) and hands them
to the engine's one configuration path, `Device.configure(system=...)`, which checks them in full before
anything changes (engine/netconfig.py)."""

from __future__ import annotations

import base64
import binascii
import hashlib
from dataclasses import replace

from ...engine import DeviceError
from ...engine.netconfig import (CallHome, check_ipv4, CallHomeProfile, DomainName, HostEntry, Interface, LoggingHost,
                                 NameServers, NtpServer, Route, Trustpoint, VrfDefinition, interface_name)
from .parser import Grammar

HELP = {
    "name-server": "Specify address of name server to use",
    "domain": "IP DNS Resolver",
    "domain-name": "Define the default domain name",
    "lookup": "Enable IP Domain Name System hostname translation",
    "source-interface": "Specify interface for source address in connections",
    "host": "Add an entry to the ip hostname table",
    "interface": "Select an interface to configure",
    "description": "Interface specific description",
    "shutdown": "Shutdown the selected interface",
    "negotiation": "Select Autonegotiation mode",
    "forwarding": "Configure forwarding table",
    "definition": "VRF definition",
    "rd": "Specify Route Distinguisher",
    "address-family": "Enter Address Family command mode",
    "exit-address-family": "Exit from Address Family configuration mode",
    "route": "Establish static routes",
    "routing": "Enable IP routing",
    "ntp": "Configure NTP",
    "client": "HTTP client configuration",
    "proxy-server": "Configure HTTP client proxy server",
    "proxy-port": "Proxy port",
    "secure-trustpoint": "Set secure http client trustpoint",
    "tftp": "tftp configuration commands",
    "logging": "Modify message logging facilities",
    "aaa": "Authentication, Authorization and Accounting.",
    "new-model": "Enable NEW access control commands and functions.(Disables OLD commands.)",
    "authorization": "Authorization configurations parameters.",
    "crypto": "Encryption module",
    "pki": "Public Key components",
    "trustpoint": "Define a CA trustpoint",
    "enrollment": "Enrollment parameters",
    "revocation-check": "Revocation checking options",
    "authenticate": "Get the certification authority certificate",
    "call-home": "Enter call-home configuration mode",
    "contact-email-addr": "System Contact's email address",
    "http-proxy": "http proxy server address and port",
    "profile": "Enter call-home profile configuration mode",
    "active": "Activate the current profile",
    "destination": "Message destination related configuration",
    "transport-method": "To specify transport method for this profile",
    "ssh": "Configure ssh options",
    "transport": "Define transport protocols for line",
    "input": "Define which protocols to use when connecting to the terminal server",
}

SUBMODE_PROMPTS = {"config-if": "(config-if)#", "config-vrf": "(config-vrf)#", "config-vrf-af": "(config-vrf-af)#",
                   "ca-trustpoint": "(ca-trustpoint)#", "config-call-home": "(config-call-home)#",
                   "cfg-call-home-profile": "(cfg-call-home-profile)#"}
# A command a sub-mode does not know is tried in its parent mode, which it then enters (IOS behaviour).
SUBMODE_PARENTS = {"config-vrf-af": "config-vrf", "cfg-call-home-profile": "config-call-home",
                   "config-if": "config", "config-vrf": "config", "ca-trustpoint": "config",
                   "config-call-home": "config", "config-line": "config"}


# ====================================================================== helpers
def _sys(ctx):
    return ctx.device.snapshot().system


def _set(ctx, **changes):
    ctx.device.configure(system=changes, owner=ctx.owner, privilege=ctx.session.privilege)


def _target(ctx) -> str:
    return ctx.session.submode.get(ctx.session.mode, "")


def _enter(ctx, mode: str, target: str) -> None:
    ctx.session.submode[mode] = target
    ctx.session.mode = mode


def _replace_item(items: tuple, match, new) -> tuple:
    """`items` with the first item `match` accepts replaced by `new` (appended when none; removed when new
    is None)."""
    out, done = [], False
    for item in items:
        if not done and match(item):
            done = True
            if new is not None:
                out.append(new)
            continue
        out.append(item)
    if not done and new is not None:
        out.append(new)
    return tuple(out)


# ====================================================================== global configuration actions
def a_name_server(positive: bool):
    def action(ctx, a):
        words = (a.get("servers") or "").split()
        vrf = None
        if words[:1] == ["vrf"]:
            if len(words) < 2:
                raise DeviceError("% Incomplete command.")
            vrf, words = words[1], words[2:]
        # the caret goes under the first bad address (ctx.words holds the LINE parameter as one word)
        first = len(ctx.words) - 1 + len((a.get("servers") or "").split()) - len(words)
        for i, word in enumerate(words):
            try:
                check_ipv4(word)
            except DeviceError:
                from .commands import InvalidAt
                raise InvalidAt(first + i) from None
        current = _sys(ctx).name_servers
        entry = next((n for n in current if n.vrf == vrf), None)
        if positive:
            if not words:
                raise DeviceError("% Incomplete command.")
            servers = tuple(dict.fromkeys((entry.servers if entry else ()) + tuple(words)))
            new = NameServers(servers, vrf)
        else:
            servers = tuple(s for s in (entry.servers if entry else ()) if words and s not in words)
            new = NameServers(servers, vrf) if servers else None
        _set(ctx, name_servers=_replace_item(current, lambda n: n.vrf == vrf, new))
    return action


def a_domain_name(positive: bool):
    def action(ctx, a):
        vrf = a.get("vrf")
        current = _sys(ctx).domain_names
        new = DomainName(a["name"], vrf) if positive else None
        _set(ctx, domain_names=_replace_item(current, lambda d: d.vrf == vrf, new))
    return action


def a_domain_lookup(positive: bool):
    def action(ctx, a):
        _set(ctx, domain_lookup=positive)
    return action


def a_domain_lookup_source(positive: bool):
    def action(ctx, a):
        _set(ctx, domain_lookup_source=interface_name(a["intf"]) if positive else None)
    return action


def a_ip_host(positive: bool):
    def action(ctx, a):
        vrf, name = a.get("vrf"), a["name"]
        current = _sys(ctx).hosts
        same = lambda h: h.vrf == vrf and h.name.lower() == name.lower()  # noqa: E731
        if positive:
            _set(ctx, hosts=_replace_item(current, same, HostEntry(name, a["address"], vrf)))
        else:
            if not any(same(h) for h in current):
                raise DeviceError(f"% Host {name} not found")
            _set(ctx, hosts=_replace_item(current, same, None))
    return action


def a_interface(ctx, a):
    name = interface_name(a["intf"])
    current = _sys(ctx).interfaces
    if not any(i.name == name for i in current):
        _set(ctx, interfaces=current + (Interface(name),))
    _enter(ctx, "config-if", name)


def a_no_interface(ctx, a):
    name = interface_name(a["intf"])
    current = _sys(ctx).interfaces
    if not any(i.name == name for i in current):
        raise DeviceError(f"% Interface {name} is not configured")
    _set(ctx, interfaces=tuple(i for i in current if i.name != name))


def _edit_interface(ctx, **changes):
    name = _target(ctx)
    current = _sys(ctx).interfaces
    intf = next((i for i in current if i.name == name), Interface(name))
    _set(ctx, interfaces=_replace_item(current, lambda i: i.name == name, replace(intf, **changes)))


def a_if_address(positive: bool):
    def action(ctx, a):
        _edit_interface(ctx, address=(a["address"], a["mask"]) if positive else None)
    return action


def a_if_vrf(positive: bool):
    def action(ctx, a):
        vrf = a.get("vrf")
        if positive and not any(v.name == vrf for v in _sys(ctx).vrfs):
            raise DeviceError(f"% VRF {vrf} not configured.")
        # IOS removes the interface's IP address when its VRF changes
        _edit_interface(ctx, vrf=vrf if positive else None, address=None)
        if positive:
            return f"% Interface {_target(ctx)} IPv4 disabled and address(es) removed due to enabling VRF {vrf}\n"
        return None
    return action


def a_if_flag(field: str, value):
    def action(ctx, a):
        _edit_interface(ctx, **{field: value})
    return action


def a_if_description(positive: bool):
    def action(ctx, a):
        _edit_interface(ctx, description=a["text"] if positive else None)
    return action


def a_vrf_definition(ctx, a):
    name = a["vrf"]
    current = _sys(ctx).vrfs
    if not any(v.name == name for v in current):
        _set(ctx, vrfs=current + (VrfDefinition(name),))
    _enter(ctx, "config-vrf", name)


def a_no_vrf_definition(ctx, a):
    name = a["vrf"]
    sysc = _sys(ctx)
    if not any(v.name == name for v in sysc.vrfs):
        raise DeviceError(f"% VRF {name} not configured")
    interfaces = tuple(replace(i, vrf=None, address=None) if i.vrf == name else i for i in sysc.interfaces)
    _set(ctx, vrfs=tuple(v for v in sysc.vrfs if v.name != name), interfaces=interfaces)


def _edit_vrf(ctx, **changes):
    name = ctx.session.submode.get("config-vrf", "")
    current = _sys(ctx).vrfs
    vrf = next((v for v in current if v.name == name), VrfDefinition(name))
    _set(ctx, vrfs=_replace_item(current, lambda v: v.name == name, replace(vrf, **changes)))


def a_vrf_rd(ctx, a):
    _edit_vrf(ctx, rd=a["rd"])


def a_vrf_af(ctx, a):
    family = a["family"]
    _edit_vrf(ctx, **{family: True})
    _enter(ctx, "config-vrf-af", family)


def a_no_vrf_af(ctx, a):
    _edit_vrf(ctx, **{a["family"]: False})


def a_exit_af(ctx, a):
    ctx.session.mode = "config-vrf"


def a_ip_route(positive: bool):
    def action(ctx, a):
        vrf = a.get("vrf")
        route = Route(a["prefix"], a["mask"], a["hop"], vrf)
        current = _sys(ctx).routes
        same = lambda r: (r.vrf, r.prefix, r.mask, r.next_hop) == (vrf, a["prefix"], a["mask"], a["hop"])  # noqa
        if positive:
            _set(ctx, routes=_replace_item(current, same, route))
        elif not any(same(r) for r in current):
            raise DeviceError("%No matching route to delete")
        else:
            _set(ctx, routes=_replace_item(current, same, None))
    return action


def a_ip_routing(positive: bool):
    def action(ctx, a):
        _set(ctx, ip_routing=positive)
    return action


def a_ntp_server(positive: bool):
    def action(ctx, a):
        vrf, host = a.get("vrf"), a["host"]
        current = _sys(ctx).ntp_servers
        same = lambda n: n.vrf == vrf and n.address == host  # noqa: E731
        if positive:
            new = NtpServer(host, vrf, a.get("version"), "prefer" in ctx.words)
            _set(ctx, ntp_servers=_replace_item(current, same, new))
        else:
            _set(ctx, ntp_servers=_replace_item(current, same, None))
    return action


def a_http_client_source(positive: bool):
    def action(ctx, a):
        _set(ctx, http_client_source=interface_name(a["intf"]) if positive else None)
    return action


def a_http_client_proxy(positive: bool):
    def action(ctx, a):
        _set(ctx, http_client_proxy=(a["proxy"], a["port"]) if positive else None)
    return action


def a_http_client_trustpoint(positive: bool):
    def action(ctx, a):
        _set(ctx, http_client_trustpoint=a["tp"] if positive else None)
    return action


def a_tftp_source(positive: bool):
    def action(ctx, a):
        _set(ctx, tftp_source=interface_name(a["intf"]) if positive else None)
    return action


def a_logging_host(positive: bool):
    def action(ctx, a):
        host, vrf = a["host"], a.get("vrf")
        current = _sys(ctx).logging_hosts
        same = lambda h: h.address == host and h.vrf == vrf  # noqa: E731
        _set(ctx, logging_hosts=_replace_item(current, same, LoggingHost(host, vrf) if positive else None))
    return action


def a_aaa_new_model(positive: bool):
    def action(ctx, a):
        _set(ctx, aaa_new_model=positive)
    return action


def a_aaa_list(field: str, positive: bool):
    def action(ctx, a):
        if not _sys(ctx).aaa_new_model:
            from .commands import InvalidAt          # without aaa new-model IOS does not offer these
            raise InvalidAt(1 + (not positive))
        _set(ctx, **{field: f"{a['list']} local" if positive else None})
    return action


def a_ssh_version(positive: bool):
    def action(ctx, a):
        _set(ctx, ssh_version=a["v"] if positive else None)
    return action


# ---------------------------------------------------------------------- crypto pki
def a_trustpoint(ctx, a):
    name = a["tp"]
    current = _sys(ctx).trustpoints
    if not any(t.name == name for t in current):
        _set(ctx, trustpoints=current + (Trustpoint(name),))
    _enter(ctx, "ca-trustpoint", name)


def a_no_trustpoint(ctx, a):
    name = a["tp"]
    current = _sys(ctx).trustpoints
    if not any(t.name == name for t in current):
        raise DeviceError(f"% Trustpoint {name} not found")
    if not ctx.confirm("% Removing an enrolled trustpoint will destroy all certificates\n"
                       "received from the related Certificate Authority.\n\n"
                       "Are you sure you want to do this? [yes/no]: "):
        return None
    _set(ctx, trustpoints=tuple(t for t in current if t.name != name))


def _edit_trustpoint(ctx, **changes):
    name = _target(ctx)
    current = _sys(ctx).trustpoints
    tp = next((t for t in current if t.name == name), Trustpoint(name))
    _set(ctx, trustpoints=_replace_item(current, lambda t: t.name == name, replace(tp, **changes)))


def a_enrollment_terminal(positive: bool):
    def action(ctx, a):
        _edit_trustpoint(ctx, enrollment_terminal=positive)
    return action


def a_revocation(positive: bool):
    def action(ctx, a):
        _edit_trustpoint(ctx, revocation_check=a["method"] if positive else None)
    return action


def _fingerprint(digest: bytes) -> str:
    h = digest.hex().upper()
    return " ".join(h[i:i + 8] for i in range(0, len(h), 8))


def a_pki_authenticate(ctx, a):
    """`crypto pki authenticate <trustpoint>`: the CA certificate pasted in base64 or PEM (enrollment terminal),
    kept in the trustpoint for the HTTPS client to verify servers against."""
    from cryptography import x509
    from cryptography.hazmat.primitives import serialization
    name = a["tp"]
    tp = next((t for t in _sys(ctx).trustpoints if t.name == name), None)
    if tp is None:
        raise DeviceError(f"% Could not find trustpoint {name}")
    if not tp.enrollment_terminal:
        raise DeviceError(f"% Error in receiving Certificate: trustpoint {name} has no enrollment method")
    ctx.session.print("\nEnter the base 64 encoded CA certificate.\n"
                      "End with a blank line or the word \"quit\" on a line by itself\n\n")
    lines = []
    for _ in range(2000):
        line = ctx.ask("", default="")
        if line is None or not line.strip() or line.strip().lower() == "quit":
            break
        lines.append(line.strip())
    body = "".join(ln for ln in lines if not ln.startswith("-----"))
    try:
        der = base64.b64decode(body, validate=True)
        cert = x509.load_der_x509_certificate(der)
    except (binascii.Error, ValueError):
        raise DeviceError("% Error in receiving Certificate\n% Certificate not in the correct format") from None
    md5 = _fingerprint(hashlib.md5(der).digest())
    sha1 = _fingerprint(hashlib.sha1(der).digest())
    ctx.session.print(f"\nCertificate has the following attributes:\n       Fingerprint MD5: {md5} \n"
                      f"      Fingerprint SHA1: {sha1} \n\n")
    answer = ctx.ask("% Do you accept this certificate? [yes/no]: ", default="yes")
    if (answer or "").strip().lower() not in ("yes", "y"):
        return "% Certificate not accepted\n"
    pem = cert.public_bytes(serialization.Encoding.PEM).decode()
    _edit_trustpoint_named(ctx, name, ca_fingerprint=md5, ca_subject=cert.subject.rfc4514_string(),
                           ca_certificate=pem)
    return "Trustpoint CA certificate accepted.\n% Certificate successfully imported\n"


def _edit_trustpoint_named(ctx, name, **changes):
    current = _sys(ctx).trustpoints
    tp = next(t for t in current if t.name == name)
    _set(ctx, trustpoints=_replace_item(current, lambda t: t.name == name, replace(tp, **changes)))


# ---------------------------------------------------------------------- call-home
def a_service_call_home(positive: bool):
    def action(ctx, a):
        _set(ctx, service_call_home=positive)
    return action


def a_call_home(ctx, a):
    if _sys(ctx).call_home is None:
        _set(ctx, call_home=CallHome())
    _enter(ctx, "config-call-home", "call-home")


def a_no_call_home(ctx, a):
    _set(ctx, call_home=None)


def _edit_call_home(ctx, **changes):
    ch = _sys(ctx).call_home or CallHome()
    _set(ctx, call_home=replace(ch, **changes))


def a_contact_email(positive: bool):
    def action(ctx, a):
        _edit_call_home(ctx, contact_email=a["email"] if positive else None)
    return action


def a_http_proxy(positive: bool):
    def action(ctx, a):
        _edit_call_home(ctx, http_proxy=(a["proxy"].strip('"'), a["port"]) if positive else None)
    return action


def a_profile(ctx, a):
    name = a["profile"].strip('"')
    ch = _sys(ctx).call_home or CallHome()
    if ch.profile(name) is None:
        _set(ctx, call_home=replace(ch, profiles=ch.profiles + (CallHomeProfile(name, active=True),)))
    _enter(ctx, "cfg-call-home-profile", name)


def a_no_profile(ctx, a):
    name = a["profile"].strip('"')
    ch = _sys(ctx).call_home or CallHome()
    if ch.profile(name) is None:
        raise DeviceError(f"% Profile {name} does not exist")
    _set(ctx, call_home=replace(ch, profiles=tuple(p for p in ch.profiles if p.name != name)))


def _edit_profile(ctx, **changes):
    name = ctx.session.submode.get("cfg-call-home-profile", "")
    ch = _sys(ctx).call_home or CallHome()
    prof = ch.profile(name) or CallHomeProfile(name)
    profiles = _replace_item(ch.profiles, lambda p: p.name == name, replace(prof, **changes))
    _set(ctx, call_home=replace(ch, profiles=profiles))


def a_profile_active(positive: bool):
    def action(ctx, a):
        _edit_profile(ctx, active=positive)
    return action


def a_transport_method(positive: bool):
    def action(ctx, a):
        _edit_profile(ctx, **{a["method"]: positive})
    return action


def a_destination_http(positive: bool):
    def action(ctx, a):
        name = ctx.session.submode.get("cfg-call-home-profile", "")
        ch = _sys(ctx).call_home or CallHome()
        prof = ch.profile(name) or CallHomeProfile(name)
        urls = prof.http_addresses
        if positive:
            urls = tuple(dict.fromkeys(urls + (a["url"],)))
        elif a["url"] not in urls:
            raise DeviceError(f"% Address {a['url']} is not configured")
        else:
            urls = tuple(u for u in urls if u != a["url"])
        _edit_profile(ctx, http_addresses=urls)
    return action


# ---------------------------------------------------------------------- line vty
def a_vty_transport(ctx, a):
    _set(ctx, vty_transport_input=a["proto"])


def a_vty_login_local(positive: bool):
    def action(ctx, a):
        _set(ctx, vty_login_local=positive)
    return action


def a_sub_exit(ctx, a):
    parent = SUBMODE_PARENTS.get(ctx.session.mode, "config")
    ctx.session.mode = parent


def a_sub_end(ctx, a):
    ctx.session.mode = "exec"


# ====================================================================== grammars
def add_config(g: Grammar) -> None:
    """The global-configuration commands of this module."""
    H = {"servers": "Domain server IP address (maximum of 6)", "name": "Name", "vrf": "VPN Routing/Forwarding instance name",
         "address": "Host IP address", "intf": "Interface type and number", "prefix": "Destination prefix",
         "mask": "Destination prefix mask", "hop": "Forwarding router's address or interface", "host": "IP address of peer",
         "port": "Port number", "proxy": "Proxy server IP address or name", "list": "Named authentication list",
         "tp": "Trustpoint name", "v": "Protocol version"}
    for no, pos in (("", True), ("no ", False)):
        g.add(f"{no}ip name-server LINE:servers", a_name_server(pos), H)
        g.add(f"{no}ip domain name WORD:name", a_domain_name(pos), H)
        g.add(f"{no}ip domain name vrf WORD:vrf WORD:name", a_domain_name(pos), H)
        g.add(f"{no}ip domain-name WORD:name", a_domain_name(pos), H)
        g.add(f"{no}ip domain lookup", a_domain_lookup(pos))
        g.add(f"{no}ip domain-lookup", a_domain_lookup(pos), hidden=True)
        g.add(f"{no}ip host WORD:name WORD:address", a_ip_host(pos), H)
        g.add(f"{no}ip host vrf WORD:vrf WORD:name WORD:address", a_ip_host(pos), H)
        g.add(f"{no}ip route WORD:prefix WORD:mask WORD:hop", a_ip_route(pos), H)
        g.add(f"{no}ip route vrf WORD:vrf WORD:prefix WORD:mask WORD:hop", a_ip_route(pos), H)
        g.add(f"{no}ip routing", a_ip_routing(pos))
        g.add(f"{no}ip http client source-interface LINE:intf", a_http_client_source(pos), H)
        g.add(f"{no}ip tftp source-interface LINE:intf", a_tftp_source(pos), H)
        g.add(f"{no}aaa new-model", a_aaa_new_model(pos))
        g.add(f"{no}aaa new model", a_aaa_new_model(pos), hidden=True)     # as the guide prints it (L7989)
        g.add(f"{no}service call-home", a_service_call_home(pos))
        for vrf in ("", "vrf WORD:vrf "):
            g.add(f"{no}ntp server {vrf}WORD:host", a_ntp_server(pos), H)
        g.add(f"{no}logging host WORD:host", a_logging_host(pos), H)
        g.add(f"{no}logging host WORD:host vrf WORD:vrf", a_logging_host(pos), H)
    g.add("no ip name-server", a_name_server(False))
    g.add("no ip domain name", a_domain_name(False))
    g.add("no ip host WORD:name", a_ip_host(False), H)
    g.add("no ip host vrf WORD:vrf WORD:name", a_ip_host(False), H)
    g.add("ip domain lookup source-interface LINE:intf", a_domain_lookup_source(True), H)
    g.add("no ip domain lookup source-interface", a_domain_lookup_source(False))
    g.add("no ip domain lookup source-interface LINE:intf", a_domain_lookup_source(False), H)
    g.add("no ip http client source-interface", a_http_client_source(False))
    g.add("ip http client proxy-server WORD:proxy proxy-port <1-65535>:port", a_http_client_proxy(True), H)
    g.add("no ip http client proxy-server", a_http_client_proxy(False))
    g.add("no ip http client proxy-server LINE:rest", a_http_client_proxy(False))
    g.add("ip http client secure-trustpoint WORD:tp", a_http_client_trustpoint(True), H)
    g.add("no ip http client secure-trustpoint", a_http_client_trustpoint(False))
    g.add("no ip http client secure-trustpoint WORD:tp", a_http_client_trustpoint(False), H)
    g.add("no ip tftp source-interface", a_tftp_source(False))
    for vrf in ("", "vrf WORD:vrf "):
        g.add(f"ntp server {vrf}WORD:host prefer", a_ntp_server(True), H)
        g.add(f"ntp server {vrf}WORD:host version <1-4>:version", a_ntp_server(True), H)
        g.add(f"ntp server {vrf}WORD:host version <1-4>:version prefer", a_ntp_server(True), H)
    for kind, field in (("authentication login", "aaa_authentication_login"),
                        ("authorization exec", "aaa_authorization_exec")):
        g.add(f"aaa {kind} default:list local", a_aaa_list(field, True), H)
        g.add(f"aaa {kind} WORD:list local", a_aaa_list(field, True), H)
        g.add(f"no aaa {kind} default:list", a_aaa_list(field, False), H)
        g.add(f"no aaa {kind} WORD:list", a_aaa_list(field, False), H)
        g.add(f"no aaa {kind} WORD:list local", a_aaa_list(field, False), H)
    g.add("interface LINE:intf", a_interface, H)
    g.add("no interface LINE:intf", a_no_interface, H)
    g.add("vrf definition WORD:vrf", a_vrf_definition, H)
    g.add("no vrf definition WORD:vrf", a_no_vrf_definition, H)
    g.add("crypto pki trustpoint WORD:tp", a_trustpoint, H)
    g.add("no crypto pki trustpoint WORD:tp", a_no_trustpoint, H)
    g.add("crypto pki authenticate WORD:tp", a_pki_authenticate, H)
    g.add("call-home", a_call_home)
    g.add("no call-home", a_no_call_home)
    g.add("ip ssh version <1-2>:v", a_ssh_version(True), H)
    g.add("no ip ssh version", a_ssh_version(False))
    g.add("no ip ssh version <1-2>:v", a_ssh_version(False), H)


def _common(g: Grammar, do_action) -> None:
    g.add("exit", a_sub_exit)
    g.add("end", a_sub_end)
    g.add("do LINE:line", do_action, {"line": "Exec Command"})


def submode_grammars(keyword_help: dict, do_action) -> dict[str, Grammar]:
    helps = {**keyword_help, **HELP}
    out = {}
    g = Grammar(helps)                                       # interface
    for no, pos in (("", True), ("no ", False)):
        g.add(f"{no}negotiation auto", a_if_flag("negotiation_auto", pos))
        g.add(f"{no}shutdown", a_if_flag("shutdown", pos))
    g.add("ip address WORD:address WORD:mask", a_if_address(True), {"address": "IP address", "mask": "IP subnet mask"})
    g.add("no ip address", a_if_address(False))
    g.add("no ip address LINE:rest", a_if_address(False))
    g.add("vrf forwarding WORD:vrf", a_if_vrf(True), {"vrf": "Table name"})
    g.add("no vrf forwarding", a_if_vrf(False))
    g.add("no vrf forwarding WORD:vrf", a_if_vrf(False))
    g.add("description LINE:text", a_if_description(True), {"text": "Up to 240 characters describing this interface"})
    g.add("no description", a_if_description(False))
    g.add("no description LINE:text", a_if_description(False))
    _common(g, do_action)
    out["config-if"] = g
    g = Grammar(helps)                                       # vrf definition
    g.add("rd WORD:rd", a_vrf_rd, {"rd": "VPN Route Distinguisher"})
    for fam in ("ipv4", "ipv6"):
        g.add(f"address-family {fam}:family", a_vrf_af)
        g.add(f"no address-family {fam}:family", a_no_vrf_af)
    _common(g, do_action)
    out["config-vrf"] = g
    g = Grammar(helps)                                       # vrf address family
    g.add("exit-address-family", a_exit_af)
    _common(g, do_action)
    out["config-vrf-af"] = g
    g = Grammar(helps)                                       # ca-trustpoint
    for no, pos in (("", True), ("no ", False)):
        g.add(f"{no}enrollment terminal", a_enrollment_terminal(pos))
    for method in ("none", "crl", "ocsp"):
        g.add(f"revocation-check {method}:method", a_revocation(True))
    g.add("no revocation-check", a_revocation(False))
    g.add("no revocation-check LINE:rest", a_revocation(False))
    _common(g, do_action)
    out["ca-trustpoint"] = g
    g = Grammar(helps)                                       # call-home
    g.add("contact-email-addr WORD:email", a_contact_email(True), {"email": "Up to 200 characters in email address format"})
    g.add("no contact-email-addr", a_contact_email(False))
    g.add("no contact-email-addr WORD:email", a_contact_email(False))
    g.add("http-proxy WORD:proxy port <1-65535>:port", a_http_proxy(True), {"proxy": "Proxy server IP address or name"})
    g.add("no http-proxy", a_http_proxy(False))
    g.add("no http-proxy LINE:rest", a_http_proxy(False))
    g.add("profile WORD:profile", a_profile, {"profile": "Profile name"})
    g.add("no profile WORD:profile", a_no_profile, {"profile": "Profile name"})
    _common(g, do_action)
    out["config-call-home"] = g
    g = Grammar(helps)                                       # call-home profile
    for no, pos in (("", True), ("no ", False)):
        g.add(f"{no}active", a_profile_active(pos))
        for method in ("http", "email"):
            g.add(f"{no}destination transport-method {method}:method", a_transport_method(pos))
        g.add(f"{no}destination address http WORD:url", a_destination_http(pos), {"url": "URL address"})
    g.add("anonymous-reporting-only", lambda ctx, a: None)
    g.add("no anonymous-reporting-only", lambda ctx, a: None)
    _common(g, do_action)
    out["cfg-call-home-profile"] = g
    return out


def add_line(g: Grammar) -> None:
    """line vty sub-mode commands that are stored (the rest stay in commands.line_grammar)."""
    for proto in ("ssh", "all", "telnet", "none"):
        g.add(f"transport input {proto}:proto", a_vty_transport)
    g.add("transport input telnet ssh", lambda ctx, a: a_vty_transport(ctx, {"proto": "telnet ssh"}))
    g.add("login local", a_vty_login_local(True))
    g.add("no login local", a_vty_login_local(False))
    g.add("no login", a_vty_login_local(False))


# ====================================================================== running-config
def head_lines(d) -> list[str]:
    return ["service call-home"] if d.system.service_call_home else []


def vrf_lines(d) -> list[str]:
    out = []
    for v in d.system.vrfs:
        out.append(f"vrf definition {v.name}")
        if v.rd:
            out.append(f" rd {v.rd}")
        for fam in ("ipv4", "ipv6"):
            if getattr(v, fam):
                out += [" !", f" address-family {fam}", " exit-address-family"]
        out.append("!")
    return out


def aaa_lines(d) -> list[str]:
    s = d.system
    if not s.aaa_new_model:
        return ["no aaa new-model"]
    out = ["aaa new-model", "!", "!"]
    if s.aaa_authentication_login:
        out.append(f"aaa authentication login {s.aaa_authentication_login}")
    if s.aaa_authorization_exec:
        out.append(f"aaa authorization exec {s.aaa_authorization_exec}")
    out += ["!", "!", "aaa session-id common"]
    return out


def ip_lines(d) -> list[str]:
    s = d.system
    out = []
    if not s.ip_routing:
        out.append("no ip routing")
    for n in s.name_servers:
        out.append("ip name-server " + (f"vrf {n.vrf} " if n.vrf else "") + " ".join(n.servers))
    for h in s.hosts:
        out.append("ip host " + (f"vrf {h.vrf} " if h.vrf else "") + f"{h.name} {h.address}")
    if not s.domain_lookup:
        out.append("no ip domain lookup")
    if s.domain_lookup_source:
        out.append(f"ip domain lookup source-interface {s.domain_lookup_source}")
    for dn in s.domain_names:
        out.append("ip domain name " + (f"vrf {dn.vrf} " if dn.vrf else "") + dn.name)
    return out


def pki_lines(d) -> list[str]:
    out = []
    for t in d.system.trustpoints:
        out.append(f"crypto pki trustpoint {t.name}")
        if t.enrollment_terminal:
            out.append(" enrollment terminal")
        if t.revocation_check:
            out.append(f" revocation-check {t.revocation_check}")
        out.append("!")
    return out


def interface_lines(d) -> list[str]:
    out = []
    for i in sorted(d.system.interfaces, key=lambda i: _if_key(i.name)):
        out.append(f"interface {i.name}")
        if i.description:
            out.append(f" description {i.description}")
        if i.vrf:
            out.append(f" vrf forwarding {i.vrf}")
        out.append(f" ip address {i.address[0]} {i.address[1]}" if i.address else " no ip address")
        if i.shutdown:
            out.append(" shutdown")
        if i.negotiation_auto:
            out.append(" negotiation auto")
        out.append("!")
    return out


def _if_key(name: str):
    import re
    m = re.match(r"^([A-Za-z\-]+)(.*)$", name)
    return (m.group(1), [int(x) if x.isdigit() else x for x in re.split(r"[/.:]", m.group(2))])


def ip_service_lines(d) -> list[str]:
    """After `ip http …`: the HTTP client, TFTP, static routes and SSH."""
    s = d.system
    out = []
    if s.http_client_source:
        out.append(f"ip http client source-interface {s.http_client_source}")
    if s.http_client_proxy:
        out.append(f"ip http client proxy-server {s.http_client_proxy[0]} proxy-port {s.http_client_proxy[1]}")
    if s.http_client_trustpoint:
        out.append(f"ip http client secure-trustpoint {s.http_client_trustpoint}")
    if s.tftp_source:
        out.append(f"ip tftp source-interface {s.tftp_source}")
    for r in s.routes:
        out.append("ip route " + (f"vrf {r.vrf} " if r.vrf else "") + f"{r.prefix} {r.mask} {r.next_hop}")
    if s.ssh_version:
        out.append(f"ip ssh version {s.ssh_version}")
    return out


def logging_lines(d) -> list[str]:
    return [f"logging host {h.address}" + (f" vrf {h.vrf}" if h.vrf else "") for h in d.system.logging_hosts]


def call_home_lines(d) -> list[str]:
    ch = d.system.call_home
    if ch is None:
        return []
    out = ["call-home"]
    if ch.contact_email:
        out.append(f" contact-email-addr {ch.contact_email}")
    if ch.http_proxy:
        out.append(f' http-proxy "{ch.http_proxy[0]}" port {ch.http_proxy[1]}')
    for p in ch.profiles:
        out.append(f' profile "{p.name}"')
        if not p.active:
            out.append("  no active")
        if p.http:
            out.append("  destination transport-method http")
        if not p.email:
            out.append("  no destination transport-method email")
        for url in p.http_addresses:
            out.append(f"  destination address http {url}")
    out.append("!")
    return out


def vty_lines(d) -> list[str]:
    s = d.system
    out = [" login local" if s.vty_login_local else " login"]
    out.append(f" transport input {s.vty_transport_input}")
    return out


def ntp_lines(d) -> list[str]:
    out = []
    for n in d.system.ntp_servers:
        line = "ntp server " + (f"vrf {n.vrf} " if n.vrf else "") + n.address
        if n.version:
            line += f" version {n.version}"
        if n.prefer:
            line += " prefer"
        out.append(line)
    return out
