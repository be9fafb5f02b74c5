"""proxy-misconfigured: the proxy settings Codex reads would send its sign-in and refresh nowhere (FM-08, FM-03).

Codex reads the upper-case variable of each pair first; curl and many other
tools read the lower-case one first, so a pair that disagrees is how "it works
in curl" and fails in Codex (openai/codex#13811).  ``$CODEX_HOME/.env`` sets
variables for Codex alone, and a proxy left there after the proxy program is
gone breaks nothing but Codex (openai/codex#44517).  In WSL 2's default NAT
networking, 127.0.0.1 is WSL's own loopback: a proxy running on Windows is not
there.  What Codex does with each value (ignored, SOCKS spoken as HTTP) was
observed with the real binary; see :mod:`authdoctor.collect.network`.

All of Codex's auth and chat traffic is HTTPS, so only the HTTPS, ALL and NO
pairs matter; ``HTTP_PROXY``/``http_proxy`` disagreeing is left alone.  Proxy
addresses are shown without their user name and password.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence

from authdoctor.codex.netconfig import (
    ALL_PAIR,
    AUTH_HOST,
    CHATGPT_HOST,
    HTTPS_PAIR,
    NO_PAIR,
    first_set,
    no_proxy_matches,
)
from authdoctor.collect.network import BAD_PORT, SOCKS_SCHEMES, UNPARSABLE, UNSUPPORTED, NetworkEvidence, ProxyVar, WslEvidence, choose
from authdoctor.diagnose.finding import Finding, Fix, Origin, Severity
from authdoctor.diagnose.rules.base import Facts, Rule, env_origins, remove_hint
from authdoctor.secret import REDACTED

ID = "proxy-misconfigured"
HOSTS = (AUTH_HOST, CHATGPT_HOST)
SEND_ERROR = f"error sending request for url (https://{AUTH_HOST}/oauth/token)"


def check(f: Facts) -> Iterable[Finding]:
    net = f.ev.network
    if net is None or not net.proxies:
        return []
    found: list[Finding] = []
    done: set[str] = set()
    for name in dict.fromkeys(n for n in (net.auth_proxy, net.chatgpt_proxy) if n):
        p = net.proxy(name)
        if p is None:
            continue
        finding = _unreachable(f, net, p) or _bad_port(f, net, p) or _socks(f, net, p)
        if finding is not None:
            found.append(finding)
            done.add(name)
    ignored: set[tuple[str, str]] = set()
    for pair in (HTTPS_PAIR, ALL_PAIR):
        p = net.proxy(first_set(_present(net), pair))
        if p is not None and p.name not in done and p.problem in (UNPARSABLE, UNSUPPORTED) and p.value:
            # The ignored value's finding also tells what curl uses instead.
            found.append(_ignored(f, net, p, net.proxy(pair[1]) if p.name == pair[0] else None))
            done.update(pair)
            ignored.add(pair)
    for pair in (HTTPS_PAIR, ALL_PAIR):
        finding = None if pair in ignored else _case_split(f, net, pair)
        if finding is not None:
            found.append(finding)
            done.update(pair)
    found.extend(_no_proxy(f, net, done))
    # NO_PROXY in .env matters only when there is a proxy to bypass.
    proxied = any(p.usable and p.name not in NO_PAIR for p in net.proxies)
    dotenv = [
        p for p in net.proxies if p.source == "dotenv" and p.shell_differs and p.name not in done and (proxied or p.name not in NO_PAIR)
    ]
    if dotenv:
        found.append(_dotenv(f, net, dotenv))
    return found


# --- words ---------------------------------------------------------------------------------


def _present(net: NetworkEvidence) -> dict[str, str]:
    """Which variables are set (values not needed): for netconfig.first_set."""
    return {p.name: "" for p in net.proxies}


def codex_env(net: NetworkEvidence) -> dict[str, str]:
    """The proxy variables Codex sees (for NO_PROXY matching and choosing)."""
    return {p.name: p.value.reveal() for p in net.proxies}


def _usable(net: NetworkEvidence) -> set[str]:
    return {p.name for p in net.proxies if p.usable}


def where(net: NetworkEvidence, p: ProxyVar) -> str:
    if p.source == "dotenv":
        return f"{net.dotenv_path} line {p.line}"
    return "in your environment"


def origins(f: Facts, net: NetworkEvidence, p: ProxyVar) -> tuple[Origin, ...]:
    if p.source == "dotenv":
        return (Origin(context="dotenv", text=f"{p.name}={REDACTED}", path=str(net.dotenv_path), line=p.line),)
    return env_origins(f, p.name)


def removal(f: Facts, net: NetworkEvidence, name: str, source: str, line: int | None) -> str:
    """How to get rid of one setting, in a clause that can follow a colon."""
    if source == "dotenv":
        text = f"delete line {line} ({name}=…) from {net.dotenv_path}, which only Codex loads, then restart Codex"
    else:
        text = remove_hint(f, name)
    return text[:1].lower() + text[1:]


def _commands(p: ProxyVar) -> tuple[str, ...]:
    return (f"unset {p.name}",) if p.source == "environment" else ()


def _address(p: ProxyVar) -> str:
    """``the proxy at 127.0.0.1 port 7890``: never the value itself, which the report scrubs as a secret."""
    if p.shown is None or p.host is None:
        return "a proxy"
    kind = f"{p.scheme} proxy" if p.scheme and p.scheme != "http" else "proxy"
    return f"the {kind} at {p.host} port {p.port}"


def _hosts_using(net: NetworkEvidence, name: str) -> str:
    hosts = [h for h, n in ((AUTH_HOST, net.auth_proxy), (CHATGPT_HOST, net.chatgpt_proxy)) if n == name]
    return " and ".join(hosts) or "Codex's servers"


def _describe(net: NetworkEvidence, p: ProxyVar) -> str:
    if not p.value:
        return f"{p.name} is set but empty ({where(net, p)})"
    if p.problem in (UNPARSABLE, UNSUPPORTED):
        return f"{p.name} holds a value Codex cannot use ({where(net, p)})"
    return f"{p.name} names {_address(p)} ({where(net, p)})"


# --- the proxy Codex uses is not there ------------------------------------------------------


def _unreachable(f: Facts, net: NetworkEvidence, p: ProxyVar) -> Finding | None:
    if not p.loopback or p.listening is True:
        return None
    wsl = net.wsl
    if wsl is not None and wsl.nat:
        return _wsl_loopback(f, net, p, wsl)
    if p.listening is not False:
        return None
    detail = (
        f"{p.name} ({where(net, p)}) sends Codex's requests to {_hosts_using(net, p.name)} through {_address(p)} on this machine, "
        f"but nothing listens on port {p.port}: a proxy that is not running. Every request Codex makes then fails with "
        f"`{SEND_ERROR}`, and Codex keeps printing `Reconnecting... 1/5`; signing in again does not help."
    )
    return Finding(
        id=ID,
        severity=Severity.WARNING,
        title=f"Codex's proxy on port {p.port} is not running",
        detail=detail,
        fix=Fix(
            summary=f"Start the proxy program that should listen on port {p.port}, or stop sending Codex through it: "
            f"{removal(f, net, p.name, p.source, p.line)}.",
            commands=_commands(p),
        ),
        origins=origins(f, net, p),
    )


def _wsl_loopback(f: Facts, net: NetworkEvidence, p: ProxyVar, wsl: WslEvidence) -> Finding:
    default = "" if wsl.mode_written else ", the default"
    here = " and nothing in WSL listens on that port" if p.listening is False else ""
    user = wsl.windows_user
    local = wsl.wslconfig or (wsl.users_dir / user / ".wslconfig" if user and wsl.users_dir else None)
    config = wsl.windows_path(local) if local else "%USERPROFILE%\\.wslconfig"
    mapped = f" ({local} in WSL)" if local else ""
    detail = (
        f"{p.name} ({where(net, p)}) sends Codex's requests to {_hosts_using(net, p.name)} through {_address(p)}. This is WSL 2 "
        f"with NAT networking{default}, where {p.host} is WSL's own loopback, not Windows's: a proxy running on Windows cannot be "
        f"reached at that address from here{here}. Every request Codex makes fails with `{SEND_ERROR}`."
    )
    return Finding(
        id=ID,
        severity=Severity.WARNING,
        title=f"Codex's proxy on port {p.port} cannot be reached from WSL",
        detail=detail,
        fix=Fix(
            summary=(
                f"Turn on mirrored networking: add `networkingMode=mirrored` under `[wsl2]` in {config}{mapped}, run `wsl --shutdown` "
                f"in Windows and reopen WSL. Or point {p.name} at the Windows host's address (`ip route show default` shows it after "
                "`via`) and let the Windows proxy accept connections from the local network."
            ),
            commands=("wsl.exe --shutdown",),
        ),
        origins=origins(f, net, p),
    )


def _bad_port(f: Facts, net: NetworkEvidence, p: ProxyVar) -> Finding | None:
    if p.problem != BAD_PORT:
        return None
    return Finding(
        id=ID,
        severity=Severity.WARNING,
        title=f"{p.name} names an impossible port",
        detail=f"{p.name} ({where(net, p)}) is the proxy Codex uses for {_hosts_using(net, p.name)}, but {p.reason}, so every request "
        f"Codex makes fails with `{SEND_ERROR}`.",
        fix=Fix(summary=f"Correct the port, or {removal(f, net, p.name, p.source, p.line)}.", commands=_commands(p)),
        origins=origins(f, net, p),
    )


def _socks(f: Facts, net: NetworkEvidence, p: ProxyVar) -> Finding | None:
    if p.scheme not in SOCKS_SCHEMES:
        return None
    port = f" (port {p.port})" if p.port else ""
    return Finding(
        id=ID,
        severity=Severity.WARNING,
        title=f"Codex speaks HTTP, not SOCKS, to the proxy in {p.name}",
        detail=(
            f"{p.name} ({where(net, p)}) names {_address(p)} for {_hosts_using(net, p.name)}. Codex 0.169.0's HTTP "
            f"client, which signs in and refreshes tokens, has no SOCKS support: it sends that port{port} an HTTP `CONNECT` request "
            "anyway (checked with the real binary). That works only when the port also accepts HTTP proxy requests, as the "
            f"'mixed' ports of Clash or v2ray do; a SOCKS-only proxy (`ssh -D`, Tor) fails with `{SEND_ERROR}`."
        ),
        fix=Fix(
            summary=f"Give Codex the proxy's HTTP port instead: set {p.name} to an http:// URL (for example `http://127.0.0.1:8080` "
            "if your proxy offers HTTP there); for `ssh -D`, use an HTTP proxy or run Codex on the remote side."
        ),
        origins=origins(f, net, p),
    )


# --- values Codex ignores ---------------------------------------------------------------------


def _instead(net: NetworkEvidence) -> str:
    used = net.proxy(net.auth_proxy)
    if used is None:
        return f"connects to {AUTH_HOST} directly"
    return f"uses {used.name} ({_address(used)}) for {AUTH_HOST} instead"


def _ignored(f: Facts, net: NetworkEvidence, p: ProxyVar, lower: ProxyVar | None) -> Finding:
    curl = ""
    if lower is not None and lower.usable:
        curl = (
            f" {lower.name} ({where(net, lower)}) names {_address(lower)}, and curl and many other tools read it first: that is "
            "why they work while Codex does not."
        )
    return Finding(
        id=ID,
        severity=Severity.WARNING,
        title=f"Codex ignores {p.name}: it is not a proxy URL it can use",
        detail=(
            f"{p.name} ({where(net, p)}) cannot be used by Codex: {p.reason}. Codex skips it without a word and "
            f"{_instead(net)}; if your network only lets traffic out through a proxy, sign-in and refresh fail with `{SEND_ERROR}`."
            f"{curl}"
        ),
        fix=Fix(
            summary=f"Write it as a proxy URL such as `http://proxy.example.com:8080`, or {removal(f, net, p.name, p.source, p.line)}.",
            commands=_commands(p),
        ),
        origins=(*origins(f, net, p), *(origins(f, net, lower) if curl and lower is not None else ())),
    )


# --- upper- and lower-case disagree -----------------------------------------------------------


def _same(a: ProxyVar, b: ProxyVar) -> bool:
    """One proxy spelled twice (``HTTP://Proxy:3128/`` and ``http://proxy:3128``), with the same credentials if any."""
    if a.target is not None and b.target is not None:
        if REDACTED in (a.shown or ""):
            return a.target == b.target and _userinfo(a) == _userinfo(b)
        return a.target == b.target
    return a.value == b.value


def _userinfo(p: ProxyVar) -> str:
    raw = p.value.reveal()
    return raw.partition("://")[2].rpartition("@")[0] if "://" in raw else raw.rpartition("@")[0]


def _case_split(f: Facts, net: NetworkEvidence, pair: tuple[str, ...]) -> Finding | None:
    upper, lower = net.proxy(pair[0]), net.proxy(pair[1])
    if upper is None or lower is None or _same(upper, lower):
        return None
    if not upper.value and not lower.value:
        return None
    uses = f"uses {_address(upper)}" if upper.usable else f"skips it as unusable, never looking at {lower.name}"
    if not upper.value:
        uses = f"takes the empty {upper.name} and ignores {lower.name}"
    detail = (
        f"{_describe(net, upper)}, but {_describe(net, lower)}. Codex reads the upper-case {upper.name} first and {uses}; curl and "
        f"many other tools read the lower-case {lower.name} first. That is how a connection works in curl and fails in Codex "
        "(openai/codex#13811)."
    )
    both_here = upper.source == lower.source == "environment"
    commands = (f'export {upper.name}="${lower.name}"',) if both_here and lower.value else ()
    return Finding(
        id=ID,
        severity=Severity.WARNING,
        title=f"{upper.name} and {lower.name} disagree: Codex and curl use different proxies",
        detail=detail,
        fix=Fix(
            summary=(
                f"Decide which proxy is right and give both variables that value (if curl works, copy the lower-case one: "
                f'`export {upper.name}="${lower.name}"` and the same in the file that sets {upper.name}), or remove the wrong one.'
            ),
            commands=commands,
        ),
        origins=(*origins(f, net, upper), *origins(f, net, lower)),
    )


# --- NO_PROXY --------------------------------------------------------------------------------


def _entry(value: str, host: str) -> str | None:
    """The NO_PROXY entry that exempts ``host`` (a host pattern, so safe to show)."""
    for raw in value.split(","):
        entry = raw.strip()
        if entry and no_proxy_matches({"NO_PROXY": entry}, host):
            return entry if all(c.isalnum() or c in ".-*/:" for c in entry) else None
    return None


def _no_proxy(f: Facts, net: NetworkEvidence, done: set[str]) -> list[Finding]:
    env = codex_env(net)
    usable = _usable(net)
    name = first_set(env, NO_PAIR)
    out: list[Finding] = []
    p = net.proxy(name)
    if p is not None and p.name not in done:
        bypassed = [(h, c) for h in HOSTS if (c := choose(env, usable, h, no_proxy=False)) is not None and no_proxy_matches(env, h)]
        if bypassed:
            out.append(_bypass(f, net, p, bypassed))
            done.add(p.name)
    upper, lower = net.proxy(NO_PAIR[0]), net.proxy(NO_PAIR[1])
    proxied = any(choose(env, usable, h, no_proxy=False) for h in HOSTS)
    if upper is not None and lower is not None and not done.intersection(NO_PAIR) and proxied:
        split = _no_split(f, net, upper, lower)
        if split is not None:
            out.append(split)
    return out


def _bypass(f: Facts, net: NetworkEvidence, p: ProxyVar, bypassed: Sequence[tuple[str, str]]) -> Finding:
    name = p.name
    value = p.value.reveal()
    proxy = bypassed[0][1]
    hosts = " and ".join(h for h, _ in bypassed)
    if any(e.strip() == "*" for e in value.split(",")):
        why = f"{name} contains `*`, which turns every proxy off: Codex connects to {hosts} directly and never uses {proxy}"
        title = f"{name}=* turns Codex's proxy off"
    else:
        entries = sorted({e for h, _ in bypassed if (e := _entry(value, h))})
        listed = f" (`{'`, `'.join(entries)}`)" if entries else ""
        them = "them" if len(bypassed) > 1 else "it"
        why = f"{name} exempts {hosts}{listed} from the proxy, so Codex connects to {them} directly instead of through {proxy}"
        title = f"{name} makes Codex bypass its proxy for {hosts}"
    detail = (
        f"{why} ({where(net, p)}). If your network lets traffic out only through that proxy, sign-in and token refresh fail with "
        f"`{SEND_ERROR}` while other programs work."
    )
    return Finding(
        id=ID,
        severity=Severity.WARNING,
        title=title,
        detail=detail,
        fix=Fix(
            summary=f"Remove `*`, {AUTH_HOST}, {CHATGPT_HOST} and openai.com from {name} unless they are reachable without the "
            f"proxy; to drop the variable: {removal(f, net, name, p.source, p.line)}."
        ),
        origins=origins(f, net, p),
    )


def _exempts(value: str, name: str) -> Mapping[str, bool]:
    return {h: no_proxy_matches({name: value}, h) for h in HOSTS}


def _no_split(f: Facts, net: NetworkEvidence, upper: ProxyVar, lower: ProxyVar) -> Finding | None:
    u, lo = _exempts(upper.value.reveal(), upper.name), _exempts(lower.value.reveal(), lower.name)
    differ = [h for h in HOSTS if u[h] != lo[h]]
    if not differ:
        return None
    parts = [
        f"for {h}, Codex (reading {upper.name}) {'bypasses' if u[h] else 'uses'} the proxy while curl (reading {lower.name} first) "
        f"{'bypasses' if lo[h] else 'uses'} it"
        for h in differ
    ]
    return Finding(
        id=ID,
        severity=Severity.WARNING,
        title=f"{upper.name} and {lower.name} disagree about Codex's servers",
        detail=(
            f"{upper.name} ({where(net, upper)}) and {lower.name} ({where(net, lower)}) list different exceptions: "
            f"{'; '.join(parts)}. So a request can work in curl and fail in Codex."
        ),
        fix=Fix(summary=f"Give {upper.name} and {lower.name} the same list of hosts, or remove one of them."),
        origins=(*origins(f, net, upper), *origins(f, net, lower)),
    )


# --- proxies that only Codex sees --------------------------------------------------------------


def _dotenv(f: Facts, net: NetworkEvidence, entries: Sequence[ProxyVar]) -> Finding:
    items = []
    for p in entries:
        value = _address(p) if p.name not in NO_PAIR else "a list of exceptions"
        shell = f"a different {p.name}" if p.shell_set else f"no {p.name} at all"
        items.append(f"line {p.line} sets {p.name} to {value} (your terminal has {shell})")
    lines = ", ".join(str(p.line) for p in entries)
    return Finding(
        id=ID,
        severity=Severity.WARNING,
        title=f"{net.dotenv_path} sets proxy variables for Codex only",
        detail=(
            f"Codex loads {net.dotenv_path} at start-up and lets it override your shell: {'; '.join(items)}. curl, your browser and "
            "every other program do not see these, so when that proxy stops or moves, only Codex fails, with "
            f"`{SEND_ERROR}`. Stale proxies in this file are a known trap (openai/codex#44517)."
        ),
        fix=Fix(
            summary=f"If Codex should use the same network settings as everything else, delete line(s) {lines} from {net.dotenv_path}."
        ),
        origins=tuple(o for p in entries for o in origins(f, net, p)),
    )


def _applies(f: Facts) -> bool:
    return f.ev.network is not None and bool(f.ev.network.proxies)


RULE = Rule(
    ID,
    check,
    "the proxy variables agree across upper and lower case, name a proxy Codex can use (running, when it is on this machine), "
    "leave auth.openai.com and chatgpt.com to it, and none hides in $CODEX_HOME/.env",
    _applies,
)
