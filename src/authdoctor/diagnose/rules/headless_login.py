"""headless-login: you need to sign in from a session whose localhost no browser can reach (FM-02, FM-03).

``codex login`` listens on 127.0.0.1:1455 and the sign-in page's last step
sends the *browser* to ``http://localhost:1455/auth/callback``.  Over SSH, in a
container, a Codespace or a Linux session with no display, the browser runs
elsewhere and its localhost is another machine.  WSL 2 is not headless by
itself: Windows forwards localhost to it, unless ``localhostForwarding=false``.

Many servers and CI machines are headless and logged in fine, so the rule
speaks only when a sign-in is due: nothing is logged in (and no credential
comes from the environment), or the logs show the refresh token rejected.
"""

from __future__ import annotations

from collections.abc import Iterable

from authdoctor.codex import signatures as S
from authdoctor.collect.network import NetworkEvidence
from authdoctor.diagnose.finding import Finding, Fix, Origin, Severity
from authdoctor.diagnose.rules import _logs as L
from authdoctor.diagnose.rules.base import Facts, Rule
from authdoctor.diagnose.rules.not_logged_in import keyring_unknown

ID = "headless-login"
DEVICE_AUTH = "codex login --device-auth"
CALLBACK = "http://localhost:1455/auth/callback"

_KIND_WORDS = {
    "ssh": "an SSH session",
    "no-display": "a Linux session without a display",
    "container": "a container",
    "codespaces": "a GitHub Codespace",
    "dev-container": "a VS Code dev container",
    "gitpod": "a Gitpod workspace",
    "devpod": "a DevPod workspace",
    "vscode-remote": "VS Code's remote terminal",
}


def _why_sign_in(f: Facts) -> str | None:
    """Why a sign-in from this session is due, or None when it is not."""
    res = f.res
    if res.stored is None and not res.interactive.present and not res.exec.present and not keyring_unknown(f):
        return "Codex is not logged in here, so you will have to sign in from this session."
    if res.stored is not None and L.summaries(f.ev.logs, (S.REFRESH,)):
        return (
            "The Codex logs show the auth server rejecting this login's refresh token, so you will have to sign in again from this session."
        )
    return None


def _wsl_blocked(net: NetworkEvidence) -> bool:
    wsl = net.wsl
    return wsl is not None and wsl.nat and not wsl.localhost_forwarding


def check(f: Facts) -> Iterable[Finding]:
    net = f.ev.network
    if net is None or not (net.markers or _wsl_blocked(net)):
        return []
    why = _why_sign_in(f)
    if why is None:
        return []
    kinds = list(dict.fromkeys(_KIND_WORDS.get(m.kind, m.kind) for m in net.markers if m.kind != "vscode-remote"))
    parts = [why]
    if kinds:
        seen = "; ".join(m.text for m in net.markers)
        parts.append(
            f"This is {' and '.join(kinds)} ({seen}). `codex login` signs you in through a browser page whose last step sends the "
            f"browser to {CALLBACK}, where `codex login` waits. Here the browser runs on another machine (or outside the container), "
            "so that localhost is not this one: the page ends with `localhost refused to connect` and `codex login` keeps waiting."
        )
    if _wsl_blocked(net) and net.wsl is not None:
        config = net.wsl.windows_path(net.wsl.wslconfig) or ".wslconfig"
        parts.append(
            f"This is WSL 2 with `localhostForwarding=false` in {config}: the Windows browser's request to {CALLBACK} never reaches "
            "WSL, so a browser sign-in started here cannot finish."
        )
    if any(m.kind == "vscode-remote" for m in net.markers):
        parts.append(
            "VS Code forwards ports of this session to your computer: if its Ports panel shows 1455, the browser sign-in can work as is."
        )
    steps = [
        f"Run `{DEVICE_AUTH}`: it shows a code to enter at https://auth.openai.com/codex/device in any browser (first turn on device "
        "code authorization for Codex in ChatGPT Settings → Security, or ask your workspace admin to allow it)"
    ]
    commands = [DEVICE_AUTH]
    if any(m.kind == "ssh" for m in net.markers):
        target = net.ssh_login or "user@host"
        tunnel = f"ssh -L 1455:localhost:1455 {target}"
        steps.append(
            f"Or forward the port: on your own computer run `{tunnel}`, then run `codex login` in that SSH session and open its link there"
        )
        commands.append(tunnel)
    if _wsl_blocked(net):
        steps.append("Or remove `localhostForwarding=false` from .wslconfig, run `wsl --shutdown` in Windows and sign in again")
    origins = tuple(
        Origin(context="file", text=m.text, path=m.path) if m.path else Origin(context="environment", text=m.text) for m in net.markers
    )
    return [
        Finding(
            id=ID,
            severity=Severity.INFO,
            title=f"Sign in with `{DEVICE_AUTH}`: a browser cannot reach this session's localhost",
            detail=" ".join(parts),
            fix=Fix(summary=". ".join(steps) + ".", commands=tuple(commands)),
            origins=origins,
        )
    ]


def _applies(f: Facts) -> bool:
    net = f.ev.network
    return net is not None and bool(net.markers or _wsl_blocked(net))


RULE = Rule(
    ID,
    check,
    "no sign-in is due from this remote or headless session (Codex is logged in and its refresh token is not being rejected)",
    _applies,
)
