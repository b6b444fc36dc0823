"""The command grammars of every mode and their actions.

Actions only parse arguments, call the engine and render: licensing rules live in the engine. An action
gets the `Ctx` and the parsed arguments and returns the text to print (or None). A refusal from the engine
(`DeviceError`) is printed as the router's message; `CliError` carries a CLI-level error line.
"""

from __future__ import annotations

from datetime import datetime, timezone

from ...engine import DeviceError, settings
from ...engine.flash import FlashError
from . import devcmds, netcopy
from . import render as R
from .parser import Grammar
from ..ssh import ALGORITHM_NAMES, DEFAULT_ALGORITHMS  # noqa: I001 - the SSH server's algorithm names

CONFIG_BANNER = "Enter configuration commands, one per line.  End with CNTL/Z."

KEYWORD_HELP = {
    # exec
    "show": "Show running system information",
    "license": "Smart licensing Commands",
    "enable": "Turn on privileged commands",
    "disable": "Turn off privileged commands",
    "exit": "Exit from the EXEC",
    "logout": "Exit from the EXEC",
    "quit": "Exit from the EXEC",
    "end": "Exit from configure mode",
    "configure": "Enter configuration mode",
    "terminal": "Set terminal line parameters",
    "write": "Write running configuration to memory, network, or terminal",
    "copy": "Copy from one file to another",
    "dir": "List files on a filesystem",
    "more": "Display the contents of a file",
    "verify": "Verify a file",
    "/md5": "MD5 signature",
    "delete": "Delete a file",
    "reload": "Halt and perform a cold restart",
    "do": "To run exec commands in config mode",
    "smart": "Smart licensing",
    # show
    "running-config": "Current operating configuration",
    "startup-config": "Contents of startup configuration",
    "version": "System hardware and software status",
    "clock": "Display the system clock",
    "logging": "Show the contents of logging buffers",
    "platform": "Show platform information",
    "ip": "IP information",
    "all": "Show license all information",
    "status": "Show license status information",
    "summary": "Show license summary",
    "usage": "Show license usage information",
    "udi": "Show license udi information",
    "authorization": "Show license authorization information",
    "reservation": "Show license reservation information",
    "rum": "Show license RUM reports",
    "eventlog": "Show license eventlog",
    "history": "Show license history",
    "tech": "Show license tech information",
    "data": "License data",
    "message": "Show license history message",
    "support": "Show license tech support information",
    "conversion": "Show license data conversion information",
    "detail": "Detailed view",
    "id": "Select by report id",
    "feature": "Select by feature name",
    "save": "Save",
    # license smart exec
    "clear": "Clear license info",
    "import": "Import a file",
    "file": "Save to a file",
    "unreported": "Save unreported usage",
    "days": "Save usage for the last number of days",
    "rum-id": "Save usage for a single RUM report",
    # license smart config
    "custom_id": "Custom Identification",
    "privacy": "Smart Licensing Privacy",
    "hostname": "Set system's network name",
    "proxy": "Smart licensing proxy",
    "address": "Proxy address",
    "port": "Proxy port",
    "server-identity-check": "Enable or Disable the HTTP Secure Server Identity Check",
    "transport": "Smart licensing transport",
    "automatic": "Automatic transport (CSLU)",
    "callhome": "Call home transport",
    "cslu": "Cisco Smart License Utility transport",
    "off": "Turn off communication",
    "url": "Smart licensing URL",
    "default": "Default URL for the configured transport",
    "utility": "Utility settings",
    "customer-tags": "Customer tags",
    "interval": "Usage reporting interval in days",
    "vrf": "VRF used for licensing traffic",
    "customer_info": "Customer information",
    "username": "Establish User Name Authentication",
    "privilege": "Set user privilege level",
    "password": "Specify the password for the user",
    "secret": "Specify the secret for the user",
    "netconf-yang": "Configure NETCONF-YANG",
    "restconf": "Enable RESTCONF",
    "http": "HTTP server configuration",
    "server": "Enable HTTP server",
    "secure-server": "Enable HTTP secure server",
    "authentication": "Set http server authentication method",
    "local": "Use local username and passwords",
    "max-connections": "Set maximum number of concurrent http server connections",
    "scp": "Scp commands",
    "line": "Configure a terminal line",
    "no": "Negate a command or set its defaults",
    "exec-timeout": "Set the EXEC timeout",
    "exec": "Configure EXEC",
    "prompt": "EXEC prompt",
    "timestamp": "Print timestamps for show commands",
    "monitor": "Copy debug output to the current terminal line",
    "length": "Set number of lines on a screen",
    "width": "Set width of the display terminal",
    "memory": "Write to NV memory",
    "service": "Modify use of network based services",
    "console": "Set console logging parameters",
    "synchronous": "Synchronized message output",
    "login": "Enable password checking",
    "block-for": "Set quiet-mode active time period",
    "attempts": "Set max number of fail attempts",
    "within": "Watch period for repeated login failures",
    "delay": "Set delay between successive fail login",
    "ssh": "Configure ssh options",
    "algorithm": "Configure ssh algorithms",
    "encryption": "Configure encryption algorithms",
    "mac": "Configure mac algorithms",
    "kex": "Configure KEX algorithms",
    "hostkey": "Configure hostkey algorithms",
    "vty": "Virtual terminal",
    "sync": "Synchronize with CSSM, CSLU or SSM On-Prem",
    "trust": "Trust commands",
    "idtoken": "Install a trust code with an ID token",
    "force": "Overwrite an existing trust code",
    "trust-request": "Save a trust code request",
    "request": "Request",
    "return": "Return",
    "add": "Add to the existing authorization codes",
    "replace": "Replace the existing authorization codes",
    "online": "Return online",
    "offline": "Return offline",
    "export": "Export controlled license",
    "factory": "Factory reset",
    "reset": "Remove all licensing information except the licenses in use",
    "cancel": "Cancel a reservation request",
    "install": "Install a reservation authorization code",
    "hardware": "Show hardware information",
    "throughput": "Throughput",
    "level": "Throughput level",
    "crypto": "Crypto throughput",
}


class CliError(Exception):
    """An error line the CLI prints itself."""


class InvalidAt(Exception):
    """`% Invalid input detected` with the caret under the given token (index into the line's tokens)."""

    def __init__(self, token_index: int):
        super().__init__(token_index)
        self.token_index = token_index


def fs_name(path: str) -> str:
    return path.split(":", 1)[0] if ":" in path else "bootflash"


# ====================================================================== exec actions
def a_show_version(ctx, a):
    return R.show_version(ctx.snap)


def a_show_clock(ctx, a):
    return R.show_clock(ctx.snap)


def a_show_logging(ctx, a):
    return R.show_logging(ctx.snap)


def a_show_running(ctx, a):
    return running_config(ctx)


def a_show_startup(ctx, a):
    if not ctx.server.startup_written:
        return "startup-config is not present\n"
    return running_config(ctx, startup=True)


def a_lic(fn):
    return lambda ctx, a: fn(ctx.snap)


def a_show_eventlog(ctx, a):
    return R.show_license_eventlog(ctx.snap, a.get("days"))


def a_show_rum(tech: bool):
    def action(ctx, a):
        by = "id" if "rum_id" in a or a.get("by") == "id" else "feature"
        key = a.get("rum_id", a.get("feature", "all"))
        text = R.show_license_rum(ctx.snap, by, key, "detail" in ctx.words, tech=tech)
        if "path" in a:
            try:
                ctx.device.flash.write(a["path"], text.encode())
            except FlashError as exc:
                raise CliError(str(exc)) from None
            return None
        return text
    return action


def a_show_sl_infra(ctx, a):
    return R.show_sl_infra(ctx.snap, a["which"])


def a_show_http_modules(ctx, a):
    return R.show_ip_http_session_module(ctx.snap)


def a_terminal_length(ctx, a):
    ctx.session.length = a["n"]


def a_terminal_width(ctx, a):
    ctx.session.width = a["n"]


def a_terminal_monitor(on: bool):
    def action(ctx, a):
        ctx.session.monitor = on
    return action


def a_terminal_timestamp(on: bool):
    def action(ctx, a):
        ctx.session.timestamps = on
    return action


def a_enable(ctx, a):
    level = a.get("level", 15)
    if ctx.session.login_privilege >= level:
        ctx.session.set_privilege(level)
        return None
    answer = ctx.ask("Password: ", secret=True)
    if answer is not None and ctx.server.enable_password_ok(answer):
        ctx.session.set_privilege(level)
        return None
    raise CliError("% Access denied")


def a_disable(ctx, a):
    ctx.session.set_privilege(min(1, ctx.session.login_privilege))


def a_exit(ctx, a):
    ctx.session.closing = True


def config_lock_error(ctx) -> str | None:
    holder = ctx.device.config_locked_by()
    if holder is not None and holder != ctx.owner:
        return f"% Configuration mode is locked by {holder}. Please try later."
    return None


def a_configure(ctx, a):
    err = config_lock_error(ctx)
    if err:
        raise CliError(err)
    ctx.session.mode = "config"
    return CONFIG_BANNER + "\n"


def a_write(ctx, a):
    ctx.device.write_memory()
    ctx.server.startup_written = True
    return "Building configuration...\n[OK]\n"


def _names(text: str, forms: tuple, keyword: str) -> bool:
    """`text` is one of `forms` or an abbreviation of `keyword` (`copy run start`)."""
    return text in forms or (len(text) >= 3 and keyword.startswith(text))


RUNNING = ("running-config", "system:running-config", "system:/running-config")
STARTUP = ("startup-config", "nvram:startup-config", "nvram:/startup-config", "nvram:")


def a_copy(ctx, a):
    src, dst = a["src"], a["dst"]
    lsrc, ldst = src.lower(), dst.lower()
    if _names(lsrc, RUNNING, "running-config") and _names(ldst, STARTUP, "startup-config"):
        # `copy run start`, `copy system:running-config nvram:startup-config`; the prompt stays (L8131)
        answer = ctx.ask("Destination filename [startup-config]? ", default="")
        if answer not in ("", "startup-config"):
            raise CliError("%Error opening nvram:" + answer + " (Permission denied)")
        return a_write(ctx, a)
    if netcopy.is_remote(src) or netcopy.is_remote(dst):
        try:
            return netcopy.copy(ctx, src, dst, running_config)
        except netcopy.CopyError as exc:
            raise CliError(str(exc)) from None
    if lsrc in ("running-config", "startup-config") or ldst in ("running-config", "startup-config"):
        raise CliError("%Error: copying between configurations and files is not supported by this device")
    flash = ctx.device.flash
    try:
        data = flash.read(src)
        target = flash.parse(dst)
        if dst.endswith(":") or dst.endswith("/"):
            target = flash.parse(f"{dst.rstrip('/')}{'' if dst.endswith(':') else '/'}"
                                 f"{flash.parse(src).name.split('/')[-1]}")
        default = target.name.split("/")[-1]
        answer = ctx.ask(f"Destination filename [{default}]? ", default="")
        if answer:
            target = flash.parse(f"{target.filesystem}:{answer}")
        flash.write(str(target), data)
    except FlashError as exc:
        raise CliError(str(exc)) from None
    return f"{len(data)} bytes copied in 0.001 secs ({len(data) * 1000} bytes/sec)\n"


def a_dir(ctx, a):
    flash = ctx.device.flash
    target = a.get("fs", "bootflash:")
    try:
        fs, folder = flash.folder(target)
    except FlashError as exc:
        fs, _, name = target.partition(":")
        if not name.strip("/") or "(No such file or directory)" not in str(exc):
            raise CliError(str(exc)) from None
        try:                                                # `dir bootflash:/<file>` (netmiko)
            return netcopy.dir_file(flash, {"flash": "bootflash"}.get(fs.lower(), fs.lower()), name.strip("/"))
        except netcopy.CopyError as err:
            raise CliError(str(err)) from None
    try:
        files = flash.listdir(f"{fs}:{folder}")
        usage = flash.usage(fs)
    except FlashError as exc:
        raise CliError(str(exc)) from None
    lines = [f"Directory of {fs}:/{folder + '/' if folder else ''}", ""]
    for idx, (name, size, mtime) in enumerate(files, start=11):
        stamp = datetime.fromtimestamp(mtime, tz=timezone.utc).strftime("%b %d %Y %H:%M:%S")
        lines.append(f"{idx:<6} -rw- {size:>14}  {stamp} +00:00  {name}")
    if not files:
        lines.append("No files in directory")
    lines += ["", f"{usage.total} bytes total ({usage.free} bytes free)"]
    return "\n".join(lines) + "\n"


def a_verify_md5(ctx, a):
    try:
        return netcopy.verify_md5(ctx.device.flash, a["path"], a.get("md5"))
    except netcopy.CopyError as exc:
        raise CliError(str(exc)) from None


def a_more(ctx, a):
    try:
        data = ctx.device.flash.read(a["path"])
    except FlashError as exc:
        raise CliError(str(exc)) from None
    text = data.decode("utf-8", "replace")
    return text if text.endswith("\n") else text + "\n"


def a_delete(ctx, a):
    path = a["path"]
    force = "/force" in ctx.words
    flash = ctx.device.flash
    try:
        fp = flash.parse(path)
        if not force:
            answer = ctx.ask(f"Delete filename [{fp.name}]? ", default="")
            if answer:
                fp = flash.parse(f"{fp.filesystem}:{answer}")
            if not ctx.confirm(f"Delete {fp}? [confirm]"):
                return None
        flash.delete(str(fp))
    except FlashError as exc:
        raise CliError(str(exc)) from None
    return None


def a_reload(ctx, a):
    if not ctx.confirm("Proceed with reload? [confirm]"):
        return None
    ctx.device.reload()
    ctx.session.closing = True
    return None


def a_clear_eventlog(ctx, a):
    ctx.device.clear_eventlog()


def a_import(ctx, a):
    return ctx.device.import_file(a["path"]).message + "\n"


def a_save_usage(ctx, a):
    selector = a["selector"]
    ctx.device.save_usage(selector, a["path"], days=a.get("days"), rum_id=a.get("rum_id"))


def a_sync(ctx, a):
    ctx.device.sync(all_members=a["scope"] == "all")


def a_trust(ctx, a):
    ctx.device.trust_idtoken(a["token"], all_members=a["scope"] == "all", force="force" in ctx.words[5:])


def a_save_trust(ctx, a):
    ctx.device.save_trust_request(a["path"])


def a_auth_request(ctx, a):
    ctx.device.authorization_request(a["mode"], a["feature"], all_members=a["scope"] == "all",
                                     count=a.get("count"))


def a_auth_request_save(ctx, a):
    ctx.device.authorization_request_save(a["path"])


def a_auth_return(ctx, a):
    result = ctx.device.authorization_return(all_members=a["scope"] == "all", online=a["how"] == "online",
                                             path=a.get("path"))
    return R.authorization_return(result)


def a_export_return(ctx, a):
    return R.authorization_return(ctx.device.export_return(a["scope"] == "all", a["feature"]))


def a_factory_reset(ctx, a):
    ctx.device.factory_reset()


def a_resv_request(ctx, a):
    result = keyword_refused(ctx, ctx.device.reservation_request, all_members=a["scope"] == "all")
    return "\n" + R.reservation_request(result) + "\n"


def a_resv_cancel(ctx, a):
    keyword_refused(ctx, ctx.device.reservation_cancel, all_members=a.get("scope") == "all")


def a_resv_install(ctx, a):
    keyword_refused(ctx, ctx.device.reservation_install, a["code"])
    return "Reservation install successful\n"


def a_resv_install_file(ctx, a):
    keyword_refused(ctx, ctx.device.reservation_install_file, a["path"])
    return "Reservation install successful\n"


def a_resv_return(ctx, a):
    if not ctx.snap.config.reservation:
        raise InvalidAt(2)
    text = ("This command will remove the license authorization code.\n"
            "Some features may not function properly.\n\n")
    ctx.session.print(text)
    answer = ctx.ask("Do you want to continue? [yes/no]: ", default="yes")
    if (answer or "").strip().lower() not in ("yes", "y"):
        return None
    result = ctx.device.reservation_return(all_members=a.get("scope") == "all")
    return R.reservation_return(result) + "\n"


def a_show_throughput(crypto: bool):
    def action(ctx, a):
        return R.show_throughput(ctx.device, crypto)
    return action


def a_do(ctx, a):
    return ctx.session.run_exec_line(a["line"], from_config=True)


# ====================================================================== config actions
def keyword_refused(ctx, fn, *args, **kwargs):
    """Calls the engine for a command whose refusal IOS reports as a keyword this device does not offer
    (`% Invalid input detected at '^' marker.` under the last keyword)."""
    try:
        return fn(*args, **kwargs)
    except DeviceError as exc:
        if exc.code in ("notsupported", "BadInputParams", "notreservationmode"):
            raise InvalidAt(len(ctx.words) - 1) from None
        raise


def configure(ctx, **changes):
    """A licensing configuration change through the engine's one configuration path."""
    ctx.device.configure(changes, owner=ctx.owner, privilege=ctx.session.privilege)


def a_setting(setting: settings.Setting, positive: bool):
    """The action of one settings-table command: its positive form sets the value (flags: on), its `no`
    form restores the default (flags: off)."""
    def action(ctx, a):
        if setting.kind in ("flag", "bool"):
            configure(ctx, **{setting.name: positive})
        else:
            configure(ctx, **{setting.name: a["v"] if positive else None})
    return action


def a_privacy_all(on: bool):
    def action(ctx, a):
        configure(ctx, privacy_hostname=on, privacy_version=on)
    return action


def a_feature_hseck9(on: bool):
    def action(ctx, a):
        keyword_refused(ctx, ctx.device.set_feature_hseck9, on, owner=ctx.owner)
        return f"% use 'write' command to {'enable' if on else 'disable'} 'hseck9' license on next boot\n"
    return action


def a_boot_level(ctx, a):
    keyword_refused(ctx, ctx.device.set_boot_level, a.get("level"), a.get("addon"), owner=ctx.owner)
    return "% use 'write' command to make license boot config take effect on next boot\n"


def a_throughput(ctx, a):
    return R.throughput_level(keyword_refused(ctx, ctx.device.set_throughput, a["level"], owner=ctx.owner)) + "\n"


def a_no_throughput(ctx, a):
    keyword_refused(ctx, ctx.device.set_throughput, None, owner=ctx.owner)


def a_noop(ctx, a):
    return None


def a_hostname(ctx, a):
    ctx.device.configure(hostname=a["name"], owner=ctx.owner)


def a_no_hostname(ctx, a):
    ctx.device.configure(hostname="Router", owner=ctx.owner)


def a_username(ctx, a):
    password = a.get("password", "")
    if a.get("enc") not in (None, "0"):
        raise CliError("% Only unencrypted (type 0) passwords can be configured on this device")
    ctx.device.set_user(a["user"], password, a.get("level", 1), owner=ctx.owner)


def a_no_username(ctx, a):
    ctx.device.remove_user(a["user"], owner=ctx.owner)


def sysc(key: str, value):
    def action(ctx, a):
        ctx.device.configure(system={key: value}, owner=ctx.owner)
    return action


def a_http_max(ctx, a):
    ctx.device.configure(system={"ip_http_max_connections": a["n"]}, owner=ctx.owner)


def a_login_block(on: bool):
    def action(ctx, a):
        values = (a["block"], a["attempts"], a["within"]) if on else (0, 0, 0)
        ctx.device.configure(system=dict(zip(("login_block_for", "login_block_attempts", "login_block_within"),
                                             values)), owner=ctx.owner)
    return action


def a_login_delay(ctx, a):
    ctx.device.configure(system={"login_delay": a.get("delay", 0)}, owner=ctx.owner)


def a_ssh_algorithm(kind: str, on: bool):
    def action(ctx, a):
        names = tuple(a["algs"].split()) if on else ()
        for i, name in enumerate(names):
            if name not in ALGORITHM_NAMES[kind]:
                raise InvalidAt(4 + i)
        if on and kind == "hostkey" and not set(names) & set(DEFAULT_ALGORITHMS["hostkey"]):
            raise CliError("% The host key of this device is ecdsa-sha2-nistp256; keep it in the list")
        ctx.device.configure(system={f"ssh_{kind}": tuple(dict.fromkeys(names))}, owner=ctx.owner)
    return action


def a_line(ctx, a):
    ctx.session.mode = "config-line"


def a_exec_timestamp(on: bool):
    def action(ctx, a):
        ctx.session.timestamps = on
    return action


def a_logging_console(on: bool):
    def action(ctx, a):
        ctx.device.configure(system={"logging_console": on}, owner=ctx.owner)
    return action


def a_config_exit(ctx, a):
    ctx.session.mode = devcmds.SUBMODE_PARENTS.get(ctx.session.mode, "config") if ctx.session.mode != "config" \
        else "exec"


def a_config_end(ctx, a):
    ctx.session.mode = "exec"


# ====================================================================== running-config
def running_config(ctx, startup: bool = False) -> str:
    d = ctx.snap
    sysc = d.system
    rel = d.release
    lines = ["!", f"version {rel.major}.{rel.minor}",
             "service timestamps debug datetime msec", "service timestamps log datetime msec",
             *devcmds.head_lines(d),
             "!", f"hostname {d.hostname}", "!", "boot-start-marker", "boot-end-marker", "!", "!",
             *devcmds.vrf_lines(d), *devcmds.aaa_lines(d), "!"]
    ip = devcmds.ip_lines(d)
    if ip:
        lines += ip + ["!"]
    pki = devcmds.pki_lines(d)
    if pki:
        lines += pki
    if d.profile.virtual:
        lines.append(f"license udi pid {d.pid} sn {d.sn}")
    boot_line = settings.BOOT_LEVEL.cli_line(*d.boot_level())
    if boot_line:
        lines.append(boot_line)
    lines.append("!")
    for name, user in sorted(d.users.items()):
        lines.append(f"username {name} privilege {user.privilege} password 0 {user.password}")
    lines.append("!")
    lines += devcmds.interface_lines(d)
    lines.append("ip http server" if sysc.ip_http_server else "no ip http server")
    if sysc.ip_http_authentication_local:
        lines.append("ip http authentication local")
    lines.append("ip http secure-server" if sysc.ip_http_secure_server else "no ip http secure-server")
    if sysc.ip_http_max_connections != 5:
        lines.append(f"ip http max-connections {sysc.ip_http_max_connections}")
    lines += devcmds.ip_service_lines(d)
    if sysc.ip_scp_server:
        lines.append("ip scp server enable")
    for kind in ("encryption", "mac", "kex", "hostkey"):
        chosen = getattr(sysc, f"ssh_{kind}", ())
        if chosen:
            lines.append(f"ip ssh server algorithm {kind} {' '.join(chosen)}")
    if sysc.login_block_for:
        lines.append(f"login block-for {sysc.login_block_for} attempts {sysc.login_block_attempts} "
                     f"within {sysc.login_block_within}")
    if sysc.login_delay:
        lines.append(f"login delay {sysc.login_delay}")
    lines.append("!")
    logging = devcmds.logging_lines(d)
    if logging:
        lines += logging + ["!"]
    lines += devcmds.call_home_lines(d)
    lines += license_lines(d)
    lines += ["!", "line con 0", " stopbits 1", "line vty 0 4", *devcmds.vty_lines(d), "!"]
    ntp = devcmds.ntp_lines(d)
    if ntp:
        lines += ntp + ["!"]
    if sysc.netconf_yang:
        lines.append("netconf-yang")
    if sysc.restconf:
        lines.append("restconf")
    lines.append("end")
    body = "\n".join(lines) + "\n"
    head = ["Building configuration...", "", f"Current configuration : {len(body)} bytes"]
    if startup:
        head = [f"Using {len(body)} out of 33554432 bytes"]
    return "\n".join(head) + "\n" + body


def license_lines(d) -> list[str]:
    out = settings.running_config_lines(d.config)
    platform = d.platform_settings
    if platform.feature_hseck9:
        out.append("license feature hseck9")
    spec = d.profile.throughput
    if spec is not None and spec.command and platform.throughput:
        out.append(f"{spec.command} {platform.throughput}")
    return out


# ====================================================================== grammars
def _shows(g: Grammar, device, privileged: bool) -> None:
    fmt = R.Fmt(device.release)
    H = {"days": "Number of days"}
    g.add("show version", a_show_version)
    g.add("show clock", a_show_clock)
    if not privileged:                 # user EXEC (privilege 1): every `show license` is privileged EXEC
        return
    g.add("show license", a_lic(R.show_license))
    g.add("show license status", a_lic(R.show_license_status))
    g.add("show license all", a_lic(R.show_license_all))
    g.add("show license summary", a_lic(R.show_license_summary))
    g.add("show license usage", a_lic(R.show_license_usage))
    g.add("show license udi", a_lic(R.show_license_udi))
    g.add("show license authorization", a_lic(R.show_license_authorization))
    g.add("show license reservation", a_lic(R.show_license_reservation))
    g.add("show license eventlog", a_show_eventlog)
    g.add("show license eventlog <0-2147483647>:days", a_show_eventlog, H)
    g.add("show license history message", a_lic(R.show_license_history))
    g.add("show license data conversion", a_lic(R.show_license_data_conversion))
    g.add("show license tech support", a_lic(R.show_license_tech_support))
    g.add("show license tech message", a_lic(R.show_license_tech_message))
    if fmt.rum:
        for prefix, tech in (("show license rum", False), ("show license tech rum", True)):
            action = a_show_rum(tech)
            helps = {"rum_id": "Report id", "feature": "License name", "path": "File path and name"}
            for sel in ("id all:rum_id", "id <0-18446744073709551615>:rum_id", "feature all:feature",
                        "feature WORD:feature"):
                for tail in ("", " detail"):
                    g.add(f"{prefix} {sel}{tail}", action, helps)
                    g.add(f"{prefix} {sel}{tail} save WORD:path", action, helps)
    g.add("show platform software sl-infra all:which", a_show_sl_infra)
    g.add("show platform software sl-infra current:which", a_show_sl_infra)
    g.add("show platform software sl-infra debug:which", a_show_sl_infra)
    g.add("show platform software sl-infra stored:which", a_show_sl_infra)
    g.add("show ip http server session-module", a_show_http_modules)
    spec = device.profile.throughput
    if spec is not None:
        g.add("show platform hardware throughput level", a_show_throughput(False))
        if spec.command and spec.command.endswith(" MB"):
            g.add("show platform hardware throughput level MB", a_show_throughput(False))
        if spec.level_scope == "crypto" or (spec.command or "").endswith("crypto"):
            g.add("show platform hardware throughput crypto", a_show_throughput(True))
    if privileged:                     # (always true here; kept for the reader)
        g.add("show running-config", a_show_running)
        g.add("show startup-config", a_show_startup)
        g.add("show logging", a_show_logging)


def _terminal(g: Grammar) -> None:
    H = {"n": "Number of lines on screen (0 for no pausing)"}
    g.add("terminal length <0-512>:n", a_terminal_length, H)
    g.add("terminal width <0-512>:n", a_terminal_width, {"n": "Number of characters on a screen line"})
    g.add("terminal monitor", a_terminal_monitor(True))
    g.add("terminal no monitor", a_terminal_monitor(False))
    g.add("terminal exec prompt timestamp", a_terminal_timestamp(True))
    g.add("terminal no exec prompt timestamp", a_terminal_timestamp(False))


def exec_grammar(device, privileged: bool) -> Grammar:
    g = Grammar(KEYWORD_HELP)
    _shows(g, device, privileged)
    _terminal(g)
    g.add("exit", a_exit)
    g.add("logout", a_exit)
    g.add("quit", a_exit, hidden=True)
    g.add("enable", a_enable)
    g.add("enable <0-15>:level", a_enable)
    g.add("disable", a_disable)
    if not privileged:
        return g
    g.add("configure terminal", a_configure)
    g.add("write", a_write)
    g.add("write memory", a_write)
    g.add("copy WORD:src WORD:dst", a_copy, {"src": "Source file", "dst": "Destination file"})
    g.add("dir", a_dir)
    g.add("dir WORD:fs", a_dir, {"fs": "File system (bootflash:, flash:, harddisk:, nvram:)"})
    g.add("more WORD:path", a_more, {"path": "File to display"})
    g.add("verify /md5 WORD:path", a_verify_md5, {"path": "File to verify"})
    g.add("verify /md5 WORD:path WORD:md5", a_verify_md5, {"path": "File to verify", "md5": "MD5 signature"})
    g.add("delete WORD:path", a_delete, {"path": "File to delete"})
    g.add("delete /force WORD:path", a_delete, {"path": "File to delete"})
    g.add("reload", a_reload)
    # license smart (privileged EXEC), as far as the engine supports them
    g.add("license smart clear eventlog", a_clear_eventlog)
    g.add("license smart import WORD:path", a_import, {"path": "filepath_filename"})
    P = {"path": "filepath_filename", "days": "Number of days", "rum_id": "RUM report id"}
    g.add("license smart save usage all:selector file WORD:path", a_save_usage, P)
    g.add("license smart save usage unreported:selector file WORD:path", a_save_usage, P)
    g.add("license smart save usage days:selector <0-4294967295>:days file WORD:path", a_save_usage, P)
    g.add("license smart save usage rum-id:selector <0-18446744073709551615>:rum_id file WORD:path",
          a_save_usage, P)
    rel = device.release
    S = {"all": "All devices in the HA set", "local": "This device only",
         "token": "id_token_value", "feature": "feature_name", "count": "request_count",
         "path": "filepath_filename", "code": "Reservation authorization code"}
    for scope in ("all", "local"):
        g.add(f"license smart sync {scope}:scope", a_sync, S)
        g.add(f"license smart trust idtoken WORD:token {scope}:scope", a_trust, S)
        g.add(f"license smart trust idtoken WORD:token {scope}:scope force", a_trust, S)
        for mode in ("add", "replace"):
            g.add(f"license smart authorization request {mode}:mode WORD:feature {scope}:scope", a_auth_request, S)
            g.add(f"license smart authorization request {mode}:mode WORD:feature {scope}:scope "
                  "<0-4294967295>:count", a_auth_request, S)
        g.add(f"license smart authorization return {scope}:scope online:how", a_auth_return, S)
        g.add(f"license smart authorization return {scope}:scope offline:how", a_auth_return, S)
        if rel.slac_files:
            g.add(f"license smart authorization return {scope}:scope offline:how WORD:path", a_auth_return, S)
        g.add(f"license smart export return {scope}:scope WORD:feature", a_export_return, S)
    if rel.slac_files:
        g.add("license smart authorization request save WORD:path", a_auth_request_save, S)
    g.add("license smart save trust-request WORD:path", a_save_trust, S)
    g.add("license smart factory reset", a_factory_reset)
    if settings.reservation_available(device.profile, rel):
        g.add("license smart reservation cancel", a_resv_cancel)
        for scope in ("all", "local"):
            g.add(f"license smart reservation cancel {scope}:scope", a_resv_cancel, S)
            g.add(f"license smart reservation request {scope}:scope", a_resv_request, S)
            g.add(f"license smart reservation return {scope}:scope", a_resv_return, S)
        g.add("license smart reservation return", a_resv_return)
        g.add("license smart reservation install WORD:code", a_resv_install, S)
        g.add("license smart reservation install file WORD:path", a_resv_install_file, S)
    return g


def config_grammar(device) -> Grammar:
    g = Grammar(KEYWORD_HELP)
    rel = device.release
    prof = device.profile
    g.add("do LINE:line", a_do, {"line": "Exec Command"})
    g.add("end", a_config_end)
    g.add("exit", a_config_end)
    # ---- license smart (global configuration): the settings table's commands
    for no in ("", "no "):
        g.add(f"{no}license smart enable", a_noop)
        g.add(f"{no}{settings.PRIVACY_ALL}", a_privacy_all(not no))
    for setting in settings.SETTINGS:
        if setting.cli is None or not setting.available(prof, rel):
            continue
        if setting.kind in ("flag", "bool"):
            g.add(setting.cli, a_setting(setting, True))
            g.add(f"no {setting.cli}", a_setting(setting, False))
            continue
        g.add(f"no {setting.cli}", a_setting(setting, False))
        if setting.kind == "enum":
            for word in setting.cli_choices:
                g.add(f"{setting.cli} {word}:v", a_setting(setting, True), setting.cli_choices)
            g.add(f"no {setting.cli} WORD:v", a_setting(setting, False))
            continue
        token = f"<{setting.range[0]}-{setting.range[1]}>" if setting.kind == "int" else setting.cli_value
        g.add(f"{setting.cli} {token}:v", a_setting(setting, True), {"v": setting.cli_help})
        g.add(f"no {setting.cli} {token}:v", a_setting(setting, False), {"v": setting.cli_help})
    for pattern in settings.BOOT_LEVEL.cli_commands(prof.boot_levels.levels, prof.boot_levels.addons):
        g.add(pattern, a_boot_level)
    if prof.hseck9.license_feature:
        g.add("license feature hseck9", a_feature_hseck9(True))
        g.add("no license feature hseck9", a_feature_hseck9(False))
    spec = prof.throughput
    if spec is not None and spec.command:
        levels = [lv for lv in spec.levels if not lv.min_release or rel.at_least(lv.min_release)]
        helps = {lv.keyword: lv.help for lv in levels}
        for lv in levels:
            g.add(f"{spec.command} {lv.keyword}:level", a_throughput, helps)
        g.add(f"no {spec.command}", a_no_throughput)
        g.add(f"no {spec.command} WORD:level", a_no_throughput)
    # ---- device settings
    g.add("hostname WORD:name", a_hostname, {"name": "This system's network name"})
    g.add("no hostname", a_no_hostname)
    g.add("no hostname WORD:name", a_no_hostname)
    UH = {"user": "User name", "level": "User privilege level", "password": "The UNENCRYPTED (cleartext) user password",
          "enc": "Specifies an UNENCRYPTED password will follow"}
    for kw in ("password", "secret"):
        g.add(f"username WORD:user {kw} LINE:password", a_username, UH)
        g.add(f"username WORD:user {kw} 0:enc LINE:password", a_username, UH)
        g.add(f"username WORD:user privilege <0-15>:level {kw} LINE:password", a_username, UH)
        g.add(f"username WORD:user privilege <0-15>:level {kw} 0:enc LINE:password", a_username, UH)
    g.add("no username WORD:user", a_no_username, UH)
    g.add("no username WORD:user LINE:rest", a_no_username, UH)
    for no in ("", "no "):
        val = not no
        g.add(f"{no}ip http server", sysc("ip_http_server", val))
        g.add(f"{no}ip http secure-server", sysc("ip_http_secure_server", val))
        g.add(f"{no}ip http authentication local", sysc("ip_http_authentication_local", val))
        g.add(f"{no}ip scp server enable", sysc("ip_scp_server", val))
        g.add(f"{no}netconf-yang", sysc("netconf_yang", val))
        g.add(f"{no}restconf", sysc("restconf", val))
        g.add(f"{no}logging console", a_logging_console(val))
    LH = {"block": "Quiet-Mode period in seconds", "attempts": "Failed login attempts",
          "within": "Watch period in seconds", "delay": "Delay in seconds between successive login attempts"}
    g.add("login block-for <1-65535>:block attempts <1-65535>:attempts within <1-65535>:within",
          a_login_block(True), LH)
    g.add("no login block-for", a_login_block(False))
    g.add("no login block-for LINE:rest", a_login_block(False))
    g.add("login delay <1-10>:delay", a_login_delay, LH)
    g.add("no login delay", a_login_delay)
    g.add("no login delay <1-10>:delay", a_login_delay)
    for kind in ("encryption", "mac", "kex", "hostkey"):
        g.add(f"ip ssh server algorithm {kind} LINE:algs", a_ssh_algorithm(kind, True),
              {"algs": " ".join(sorted(ALGORITHM_NAMES[kind]))})
        g.add(f"no ip ssh server algorithm {kind}", a_ssh_algorithm(kind, False))
        g.add(f"no ip ssh server algorithm {kind} LINE:algs", a_ssh_algorithm(kind, False))
    g.add("ip http max-connections <1-16>:n", a_http_max, {"n": "Maximum number of connections"})
    g.add("no ip http max-connections", sysc("ip_http_max_connections", None))
    g.add("no ip http max-connections <1-16>:n", sysc("ip_http_max_connections", None))
    g.add("line vty <0-1869>:first", a_line)
    g.add("line vty <0-1869>:first <1-1869>:last", a_line)
    g.add("line console <0-0>:first", a_line)
    g.add("line con <0-0>:first", a_line, hidden=True)
    g.add("service timestamps LINE:rest", a_noop)
    g.keyword_help = {**KEYWORD_HELP, **devcmds.HELP}
    devcmds.add_config(g)
    return g


def line_grammar() -> Grammar:
    g = Grammar(KEYWORD_HELP)
    g.add("exec-timeout <0-35791>:min", a_noop, {"min": "Timeout in minutes"})
    g.add("exec-timeout <0-35791>:min <0-2147483>:sec", a_noop, {"sec": "Timeout in seconds"})
    g.add("no exec-timeout", a_noop)
    g.add("exec prompt timestamp", a_exec_timestamp(True))
    g.add("no exec prompt timestamp", a_exec_timestamp(False))
    g.add("logging synchronous", a_noop)
    g.add("no logging synchronous", a_noop)
    devcmds.add_line(g)
    g.add("length <0-512>:n", a_terminal_length)
    g.add("width <0-512>:n", a_terminal_width)
    g.add("stopbits <1-2>:n", a_noop)
    g.add("exit", a_config_exit)
    g.add("end", a_config_end)
    g.add("do LINE:line", a_do, {"line": "Exec Command"})
    return g


MODE_PROMPTS = {"exec": "#", "config": "(config)#", "config-line": "(config-line)#", **devcmds.SUBMODE_PROMPTS}


def error_text(exc: Exception) -> str:
    if isinstance(exc, DeviceError):
        text = str(exc)
    else:
        text = str(exc)
    return text if text.endswith("\n") else text + "\n"
