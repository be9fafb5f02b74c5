"""network-failure: Codex's auth requests failed in transit (network, DNS, TLS, proxy), which is not a dead login.

A refresh that never reached the server looks like a refresh failure in the
terminal ("Failed to refresh token: error sending request for url …"), but the
refresh token is fine: signing in again would not help, fixing the network does.
Model traffic failing while offline is ordinary, so only failing *auth* requests
(refresh, login exchange, agent identity) count, plus region blocks and
server-side refresh errors.

Two kinds of evidence, one finding that says both when both exist:

* the logs, since the current login (what already went wrong);
* the opt-in ``--online`` probe, which went through the stages Codex's client
  goes through (DNS, TCP, proxy tunnel, TLS with Codex's CA settings, a
  credential-free HTTP request) with the proxy and CA settings Codex would use
  (what goes wrong now, and at which stage).  A host the probe did not test (an
  HTTPS or SOCKS4 proxy) is not a failure.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING, NamedTuple

from authdoctor.codex import signatures as S
from authdoctor.diagnose.finding import Finding, Fix, Origin, Severity
from authdoctor.diagnose.rules import _logs as L
from authdoctor.diagnose.rules.base import Facts, Rule, env_origins, remove_hint

if TYPE_CHECKING:
    from authdoctor.collect.online import OnlineEvidence, TargetResult

ID = "network-failure"
TITLE = "Codex could not reach the auth server (network trouble, not a dead login)"
ONLINE_TITLE = "Codex cannot reach its servers from this environment (network trouble, not a dead login)"


class _Part(NamedTuple):
    detail: str
    fix: Fix
    origins: tuple[Origin, ...] = ()
    short: str = ""  # the gist, to append to the other part's detail


def check(f: Facts) -> Iterable[Finding]:
    logged = _from_logs(f)
    online = _from_online(f)
    if online is None:
        if logged is None:
            return []
        return [Finding(id=ID, severity=Severity.WARNING, title=TITLE, detail=logged.detail, fix=logged.fix, origins=logged.origins)]
    if logged is None:
        return [Finding(id=ID, severity=Severity.WARNING, title=ONLINE_TITLE, detail=online.detail, fix=online.fix, origins=online.origins)]
    # Both: the logs say what went wrong, the probe says what is wrong now and where; its fix is the precise one.
    commands = tuple(dict.fromkeys((*online.fix.commands, *logged.fix.commands)))
    return [
        Finding(
            id=ID,
            severity=Severity.WARNING,
            title=TITLE,
            detail=f"{logged.detail} The online check (--online) confirms it now: {online.short}",
            fix=Fix(summary=online.fix.summary, commands=commands),
            origins=(*online.origins, *logged.origins),
        )
    ]


def _from_logs(f: Facts) -> _Part | None:
    logs = f.ev.logs
    if logs is None:
        return None
    found = L.summaries(logs, (S.TRANSPORT,), auth_only=True) + L.summaries(logs, (S.REGION, S.SERVER))
    found = [s for s in found if S.BY_ID[s.signature].finding == ID]
    if not found:
        return None
    sig = L.most_specific(found)
    dead = L.summaries(logs, (S.REFRESH,))
    verdict = (
        "The refresh token itself may be fine: no request reached the auth server and was rejected."
        if not dead
        else "Some refreshes did reach the server and were rejected too (see refresh-failed)."
    )
    return _Part(
        detail=(
            f"Codex logged {L.count(found)} failed auth request(s) {L.since_words(logs, f.now)}, {L.when(found, f.now)} "
            f"in {L.where(found[0])}: {sig.cause} {verdict}"
        ),
        fix=Fix(summary=sig.next_step, commands=sig.commands),
        origins=L.origins(found),
    )


# --- the online probe ---------------------------------------------------------------------


def _from_online(f: Facts) -> _Part | None:
    online = f.ev.online
    if online is None:
        return None
    from authdoctor.collect import online as P  # only when --online asked for it

    failed = [r for r in online.targets if r.error is not None and r.kind not in (None, P.PROBE_FAILED)]
    if not failed:
        return None
    # Which failure the fix addresses first: the most decisive, local and certain cause.
    priority = (
        *(P.CA_UNUSABLE, P.PROXY_UNREACHABLE, P.PROXY_AUTH, P.PROXY_GARBLED, P.PROXY_DENIED, P.TLS_UNTRUSTED, P.TLS_CLOCK),
        *(P.DNS_NO_ADDRESS, P.DNS_FAILED, P.TCP_REFUSED, P.TCP_TIMEOUT, P.TCP_FAILED, P.TLS_FAILED),
        *(P.HTTP_FORBIDDEN, P.HTTP_CHALLENGE, P.HTTP_FAILED, P.OUT_OF_TIME),
    )
    worst = min(failed, key=lambda r: priority.index(r.kind) if r.kind in priority else len(priority))
    reached = [r.host for r in online.targets if r.reached]
    failures = "; ".join(f"{r.where}: {_sentence(r.error or 'failed')}" for r in failed)
    ok = f" It reached {_and(reached)}." if reached else ""
    short = f"it failed for {len(failed)} of {len(online.targets)} host(s), {_route_words(failed)}: {failures}.{ok}"
    detail = (
        f"The online check (--online), made {_route_words(failed)} with the CA settings Codex would use, failed for "
        f"{len(failed)} of {len(online.targets)} host(s): {failures}.{ok} Codex's logins, token refreshes and requests fail "
        "the same way until this is fixed; the login itself may be fine."
    )
    summary, commands, variable = _online_fix(f, online, worst)
    origins = [Origin(context="online", text=f"{r.where}: {r.error}") for r in failed]
    if variable is not None:
        origins.extend(env_origins(f, variable))
    return _Part(detail=detail, fix=Fix(summary=summary, commands=commands), origins=tuple(origins), short=short)


def _online_fix(f: Facts, online: OnlineEvidence, r: TargetResult) -> tuple[str, tuple[str, ...], str | None]:
    """``(summary, commands, the variable to trace)`` for one failure."""
    from authdoctor.collect import online as P

    kind = r.kind
    proxy = r.proxy
    if kind == P.CA_UNUSABLE and online.ca_bundle is not None:
        var, _ = online.ca_bundle
        return (
            f"Point {var} at a readable PEM file with your organisation's CA certificates, or remove it so Codex uses the "
            f"system's certificates: {_lower_first(remove_hint(f, var))}.",
            (f"authdoctor where {var}",),
            var,
        )
    if proxy is not None and kind in (P.PROXY_UNREACHABLE, P.PROXY_AUTH, P.PROXY_GARBLED, P.PROXY_DENIED):
        var, address = proxy.variable, proxy.url.address
        if kind == P.PROXY_AUTH:
            return (
                f"The proxy at {address} wants a user name and password: put them in {var} "
                f"(`{proxy.url.scheme}://USER:PASSWORD@{address}`, special characters percent-encoded), or ask your IT "
                "department which proxy Codex should use, then restart Codex.",
                (f"authdoctor where {var}",),
                var,
            )
        if kind == P.PROXY_GARBLED:
            return (
                f"Codex signs in and refreshes tokens only through an HTTP proxy (it sends HTTP CONNECT even to a socks5h:// "
                f"one): point {var} at an HTTP proxy, such as the 'mixed' HTTP port of Clash or v2ray, instead of {address}, "
                "then restart Codex.",
                (f"authdoctor where {var}",),
                var,
            )
        if kind == P.PROXY_DENIED:
            return (
                f"The proxy at {address} refuses to connect to OpenAI: ask its administrator to allow auth.openai.com, "
                "chatgpt.com and api.openai.com on port 443, or, if they are reachable without it, add them to NO_PROXY.",
                (f"authdoctor where {var} NO_PROXY no_proxy",),
                var,
            )
        return (
            f"Start the proxy at {address}, or stop using it: {_lower_first(remove_hint(f, var))}.",
            (f"authdoctor where {var}",),
            var,
        )
    if kind == P.TLS_UNTRUSTED:
        issuer = f"'{r.tls_issuer}'" if r.tls_issuer else "an unknown issuer"
        if online.ca_bundle is not None:
            var, path = online.ca_bundle
            return (
                f"TLS interception by {issuer}? {var} ({path}) does not hold the CA that issued the server's certificate: "
                f"set CODEX_CA_CERTIFICATE to your organisation's CA bundle (a PEM file that includes {issuer}), or remove a "
                "stale one, then restart Codex.",
                ("export CODEX_CA_CERTIFICATE=/path/to/organisation-ca.pem",),
                var,
            )
        return (
            f"TLS interception by {issuer}? Set CODEX_CA_CERTIFICATE to your organisation's CA bundle (a PEM file that "
            "includes that CA; your IT department has it), then restart Codex.",
            ("export CODEX_CA_CERTIFICATE=/path/to/organisation-ca.pem",),
            None,
        )
    if kind == P.TLS_CLOCK:
        return (
            "The server's certificate is not valid at this machine's time: check the clock (see clock-skew if it is listed) "
            "and resync it, or, behind a TLS-inspecting proxy, ask IT to renew its certificate.",
            (),
            None,
        )
    if kind in (P.DNS_NO_ADDRESS, P.DNS_FAILED):
        lookup = {"darwin": f"dscacheutil -q host -a name {r.host}", "win32": f"nslookup {r.host}"}.get(
            f.ev.platform, f"getent hosts {r.host}"
        )
        return (
            f"Check the network and DNS (`{lookup}`); on a VPN or under WSL, check its DNS settings; if your network only "
            "reaches the web through a proxy, set HTTPS_PROXY to it.",
            (lookup,),
            None,
        )
    if kind in (P.TCP_REFUSED, P.TCP_TIMEOUT, P.TCP_FAILED):
        return (
            f"Something blocks outgoing HTTPS (port 443) to {r.host}: check the firewall or VPN; if your network only "
            "reaches the web through a proxy, set HTTPS_PROXY to it.",
            (),
            None,
        )
    if kind == P.TLS_FAILED:
        return (
            "Something on the path broke the TLS handshake (a firewall, an antivirus or a proxy that inspects traffic): "
            "check it, or set HTTPS_PROXY to your organisation's proxy.",
            (),
            None,
        )
    if kind == P.HTTP_FORBIDDEN:
        return (
            "The service refuses requests from this network (a region it does not serve, or a VPN exit it blocks): use a "
            "supported network path or change the VPN exit, then retry.",
            (),
            None,
        )
    if kind == P.HTTP_CHALLENGE:
        return (
            "Cloudflare challenges requests from this network (common for datacenter and VPN addresses): change the VPN "
            "exit or network, or wait and retry.",
            (),
            None,
        )
    return ("The connection is too slow or unstable: check the network, then run `authdoctor check --online` again.", (), None)


def _route_words(failed: Sequence[TargetResult]) -> str:
    routes = dict.fromkeys(f"through {r.proxy.variable} ({r.proxy.url.address})" if r.proxy else "directly" for r in failed)
    return " and ".join(routes)


def _sentence(text: str) -> str:
    return text.rstrip(". ")


def _lower_first(text: str) -> str:
    return text[:1].lower() + text[1:]


def _and(items: Sequence[str]) -> str:
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + " and " + items[-1]


RULE = Rule(ID, check, "no auth request failed in transit since the current login")
