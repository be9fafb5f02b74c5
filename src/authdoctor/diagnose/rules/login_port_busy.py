"""login-port-busy: something holds the port ``codex login`` needs for the browser's callback (FM-10).

Codex 0.169 binds ``127.0.0.1:1455``; when that is taken it asks an earlier
Codex login server there to quit (``GET /cancel``), retries, and after 10
tries falls back to ``127.0.0.1:1457``.  So only both ports taken stops the
browser login, but one taken is still worth knowing: the fallback is gone, an
older Codex fails outright, and whatever holds the port is often a forgotten
login -- one suspended with Ctrl-Z cannot even answer the cancel request.  A
listener on ``::1`` does not stop Codex from binding (it listens on IPv4
only), but a browser that resolves ``localhost`` to ``::1`` first delivers
the callback, with its sign-in code, to that program instead.  On Windows an
excluded port range (Hyper-V, WSL 2, Docker through WinNAT) makes the bind
fail with WSAEACCES (os error 10013) although nothing listens.

There is no ``--login-port`` option; ``codex login --device-auth`` needs no
local port at all.  When this system does not let authdoctor see listeners,
the rule says nothing, and claims nothing either.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import NamedTuple

from authdoctor.collect.ports import Listener, PortEvidence
from authdoctor.diagnose.finding import Finding, Fix, Origin, Severity
from authdoctor.diagnose.rules.base import Facts, Rule

ID = "login-port-busy"
DEVICE_AUTH = "codex login --device-auth"
WINNAT_RESTART = "net stop winnat && net start winnat"

# Programs reported holding the login port (FM-10), by process name (lower case, without .exe).
_APPS = {
    "cursor": "Cursor",
    "code": "VS Code",
    "code-insiders": "VS Code",
    "code - insiders": "VS Code",
    "codium": "VSCodium",
    "windsurf": "Windsurf",
    "zed": "Zed",
    "zed-editor": "Zed",
    "cli-proxy-api": "CLIProxyAPI",
    "cliproxyapi": "CLIProxyAPI",
    "cockpit-tools": "cockpit-tools",
    "codex-manager": "codex-manager",
}
_JETBRAINS = frozenset(
    {"idea", "pycharm", "webstorm", "goland", "clion", "rider", "phpstorm", "rubymine", "datagrip", "rustrover", "studio", "fleet"}
)
# Where an IDE's or an app's helper process lives, when its own name says little ("java", "node", "Electron").
_APP_PATHS = (
    ("cursor", "Cursor"),
    ("windsurf", "Windsurf"),
    ("visual studio code", "VS Code"),
    ("/vscode", "VS Code"),
    ("jetbrains", "a JetBrains IDE"),
    ("codex.app/", "the Codex desktop app"),
    ("openai.codex", "the Codex desktop app"),
)
_ROLE_WORDS = {
    "tui": "an interactive codex on its sign-in screen",
    "app-server": "codex app-server",
    "managed-daemon": "the codex app-server daemon",
    "exec": "codex exec",
    "mcp-server": "codex mcp-server",
}


class _Holder(NamedTuple):
    """Everything on the watched ports that one process (or one unseen owner) holds."""

    sockets: tuple[Listener, ...]
    kind: str  # "login" | "codex" | "app" | "program" | "unseen"
    name: str  # how the title names it: "a stopped `codex login` (pid 4242)", "Cursor (pid 77)" …
    why: str  # what it is and why it holds the port

    @property
    def answers_cancel(self) -> bool:
        """A running Codex login server: a new `codex login` asks it to quit (``GET /cancel``) and takes its port."""
        return self.kind in ("login", "codex") and not self.first.stopped

    @property
    def first(self) -> Listener:
        return self.sockets[0]


def check(f: Facts) -> Iterable[Finding]:
    ev = f.ev.ports
    if ev is None or not (ev.listeners or ev.excluded):
        return []
    holders = _holders(ev.listeners)
    reserved = [p for p in ev.ports if any(a <= p <= b for a, b in ev.excluded)]
    order = ev.ports.index
    blocked = sorted({li.port for h in holders if not h.answers_cancel for li in h.sockets if li.blocks} | set(reserved), key=order)
    # Held only by a Codex login server that gives the port up when asked.
    waiting = sorted({li.port for h in holders if h.answers_cancel for li in h.sockets if li.blocks} - set(blocked), key=order)

    parts = [f"{_sockets(h.sockets)} {'is' if len(h.sockets) == 1 else 'are'} held by {h.why}." for h in holders]
    if ev.excluded:
        ranges = ", ".join(f"{a}-{b}" for a, b in ev.excluded)
        parts.append(
            f"Windows reserves ports {ranges} (an excluded port range: Hyper-V, WSL 2 and Docker reserve such ranges through WinNAT), "
            f"which covers {_and(reserved)}: binding there fails with WSAEACCES (os error 10013) although nothing listens."
        )
    parts.append(_consequence(ev, blocked, waiting))
    parts.append(f"There is no `--login-port` option to choose another port; `{DEVICE_AUTH}` signs in without any local port.")
    if ev.note:
        parts.append(ev.note)

    steps: list[str] = []
    commands: list[str] = []
    for h in holders:
        step, cmds = _step(h, f.ev.platform)
        steps.append(step)
        commands += cmds
    if ev.excluded:
        steps.append(
            f"In an administrator prompt, restart WinNAT to give the reserved ports back (`{WINNAT_RESTART}`; WSL, Docker and Hyper-V "
            "networking drop for a moment), then check again"
        )
        commands.append(WINNAT_RESTART)
    steps.append(f"Or sign in with `{DEVICE_AUTH}`, which needs no local port")
    commands.append(DEVICE_AUTH)

    return [
        Finding(
            id=ID,
            severity=Severity.WARNING,
            title=_title(ev, holders, blocked, waiting, reserved),
            detail=" ".join(parts),
            fix=Fix(summary=". ".join(steps) + ".", automatic=False, commands=tuple(dict.fromkeys(commands))),
            origins=_origins(holders, ev, f.ev.platform),
        )
    ]


# --- who ----------------------------------------------------------------------------


def _holders(listeners: Sequence[Listener]) -> list[_Holder]:
    groups: dict[tuple[object, ...], list[Listener]] = {}
    for li in listeners:
        key: tuple[object, ...] = ("pid", li.pid) if li.pid is not None else ("unseen", li.uid)
        groups.setdefault(key, []).append(li)
    return [_describe(tuple(g)) for g in groups.values()]


def _describe(sockets: tuple[Listener, ...]) -> _Holder:
    li = sockets[0]
    if li.pid is None:
        if li.uid is not None and li.user is not None:
            who = f"uid {li.uid}, {li.user}"
            return _Holder(sockets, "unseen", "another user's process", f"a process of another user ({who}), which authdoctor cannot see")
        return _Holder(sockets, "unseen", "a process authdoctor cannot see", "a process whose owner this system does not show")
    pid = li.pid
    program = li.program or "a process"
    if li.role == "login":
        if li.stopped:
            return _Holder(
                sockets,
                "login",
                f"a stopped `codex login` (pid {pid})",
                f"a stopped `codex login` (pid {pid}), a sign-in suspended with Ctrl-Z and never finished. Stopped, it can neither "
                "answer the browser nor quit when a new `codex login` asks it to, so it keeps the port",
            )
        return _Holder(
            sockets,
            "login",
            f"a running `codex login` (pid {pid})",
            f"a `codex login` that is still running (pid {pid}), a sign-in in progress waiting for the browser. A new `codex login` asks "
            "it to quit and takes the port over, and the browser tab the old one opened then fails",
        )
    app = _app(li)
    if app is not None:
        stopped = " (stopped)" if li.stopped else ""
        return _Holder(
            sockets,
            "app",
            f"{app} (pid {pid})",
            f"{app} ({program}, pid {pid}){stopped}, which uses this port for a sign-in of its own",
        )
    if li.role is not None or _is_codex(li):
        what = _ROLE_WORDS.get(li.role or "", "a Codex process")
        via = f", run by the {li.via}" if li.via else ""
        stopped = " It is stopped (suspended), so it cannot give the port back" if li.stopped else ""
        return _Holder(
            sockets,
            "codex",
            f"{what} (pid {pid})",
            f"{what} (pid {pid}{via}), signing in through the same login server as `codex login`.{stopped}".rstrip("."),
        )
    stopped = ", stopped (suspended)" if li.stopped else ""
    return _Holder(sockets, "program", f"{program} (pid {pid})", f"{program} (pid {pid}{stopped}), a program authdoctor does not recognise")


def _is_codex(li: Listener) -> bool:
    return (li.program or "").lower().removesuffix(".exe") == "codex"


def _app(li: Listener) -> str | None:
    name = (li.program or "").lower().removesuffix(".exe")
    # "Cursor Helper (Plugin)", "pycharm64", "Code - Insiders": the first word, without a 64-bit suffix.
    for candidate in dict.fromkeys((name, name.split(" ", 1)[0], name.removesuffix("64"))):
        if candidate in _APPS:
            return _APPS[candidate]
        if candidate in _JETBRAINS:
            return "a JetBrains IDE"
    if li.role is not None:
        return None  # a Codex process: its role says more than its folder
    path = (li.path or "").lower().replace("\\", "/")
    return next((app for marker, app in _APP_PATHS if marker in path), None)


# --- what it means ------------------------------------------------------------------


def _consequence(ev: PortEvidence, blocked: Sequence[int], waiting: Sequence[int]) -> str:
    ports = ev.ports
    first, rest = ports[0], ports[1:]
    order = f"Codex 0.169 binds 127.0.0.1:{first}" + (f" and, when that is taken, falls back to {_or(rest)}" if rest else "")
    if blocked and set(blocked) >= set(ports):
        both = "both" if len(ports) == 2 else "all of them"
        said = f"{order}; with {both} taken, the browser login fails (`Port 127.0.0.1:{ports[-1]} is already in use`)."
    elif first in blocked:
        free = _or(p for p in rest if p not in blocked)
        said = (
            f"{order}, so the browser login still works (on {free} instead); an older Codex without the fallback fails with "
            f"`Port 127.0.0.1:{first} is already in use`."
        )
    elif blocked:
        said = f"{order}; {first} is free, so the browser login works now, but there is no fallback left if {first} is taken too."
    elif waiting:
        said = (
            f"A new `codex login` asks the Codex login server on {_and(waiting)} to quit and takes the port over, so the browser "
            "login still starts, but the sign-in that one was waiting for ends."
        )
    else:
        said = "Codex listens on 127.0.0.1 (IPv4) only, so its login server still starts."
    # Codex can still bind where only ::1 is taken, but the browser may knock on ::1 first.
    used = next((p for p in ports if p not in blocked), None)
    ipv6 = sorted({li.port for li in ev.listeners if not li.blocks and li.port not in blocked and li.port not in waiting}, key=ports.index)
    if used in ipv6:
        said += (
            f" But the browser is sent to `http://localhost:{used}/auth/callback`: a browser that resolves localhost to ::1 first "
            "delivers the callback, with its sign-in code, to the program on ::1 instead of Codex."
        )
    elif ipv6:
        said += (
            f" Should Codex fall back to {_or(ipv6)}, a browser that resolves localhost to ::1 first would deliver the callback "
            "to the program on ::1 instead of Codex."
        )
    return said


def _title(ev: PortEvidence, holders: Sequence[_Holder], blocked: Sequence[int], waiting: Sequence[int], reserved: Sequence[int]) -> str:
    ports = ev.ports
    by = ""
    blocking = [h for h in holders if not h.answers_cancel and any(li.blocks for li in h.sockets)]
    if len(blocking) == 1 and not reserved:
        by = f" by {blocking[0].name}"
    elif not blocking and reserved:
        by = " by a Windows excluded port range"
    if blocked and set(blocked) >= set(ports):
        taken = f"Ports {_and(ports)} are {'both' if len(ports) == 2 else 'all'} taken" if len(ports) > 1 else f"Port {ports[0]} is taken"
        return f"{taken}{by}: `codex login` cannot start its browser sign-in"
    if ports[0] in blocked:
        return f"Port {ports[0]} is taken{by}: `codex login` has to fall back to {_or(p for p in ports[1:] if p not in blocked)}"
    if blocked:
        taken = f"Port {blocked[0]} is taken" if len(blocked) == 1 else f"Ports {_and(blocked)} are taken"
        return f"{taken}{by}: no fallback is left if {ports[0]} is busy"
    if waiting:
        servers = [h for h in holders if h.answers_cancel]
        who = _cap(servers[0].name) if len(servers) == 1 else "A Codex sign-in"
        return f"{who} is waiting on port {_and(waiting)}: a new `codex login` cancels it"
    who = _cap(holders[0].name) if len(holders) == 1 else "Several programs"
    port = holders[0].first.port if holders else ports[0]
    return f"{who} listens on [::1]:{port}: a browser that resolves localhost to ::1 may send the sign-in there"


# --- what to do ----------------------------------------------------------------------


def _step(h: _Holder, platform: str) -> tuple[str, list[str]]:
    li = h.first
    pid = li.pid
    if pid is None:
        find = _find_command(platform, li.port)
        return f"Find out what holds port {li.port} with `{find}` and close it", [find]
    windows = platform.startswith("win")
    kill = f"taskkill /PID {pid}" if windows else f"kill {pid}"
    if h.kind == "login" and li.stopped:
        return (
            f"Bring the stopped login back with `fg` in the terminal where it was suspended and finish it, or end it with `kill {pid}` "
            f"then `kill -CONT {pid}` (a stopped process acts on the signal only once it is continued)",
            [f"kill {pid}", f"kill -CONT {pid}"],
        )
    if h.kind == "login":
        return (
            f"Finish the sign-in in the browser tab `codex login` (pid {pid}) opened, or stop it (Ctrl-C in its terminal, or `{kill}`)",
            [kill],
        )
    if li.stopped and not windows:
        return (
            f"{_cap(h.name)} is stopped: end it with `kill {pid}` then `kill -CONT {pid}` (or resume it with "
            f"`kill -CONT {pid}` and close it)",
            [f"kill {pid}", f"kill -CONT {pid}"],
        )
    if h.kind in ("app", "codex"):
        via = f" (the {li.via} runs it)" if li.via else ""
        return f"Close {_the(h.name)}{via} or run `{kill}`, then run `codex login` again", [kill]
    return f"Stop {h.name} if you do not need it (`{kill}`)", [kill]


def _find_command(platform: str, port: int) -> str:
    if platform.startswith("win"):
        return f"netstat -ano | findstr :{port}"
    if platform == "darwin":
        return f"sudo lsof -nP -iTCP:{port} -sTCP:LISTEN"
    return f"sudo ss -ltnp 'sport = :{port}'"


def _origins(holders: Sequence[_Holder], ev: PortEvidence, platform: str) -> tuple[Origin, ...]:
    found: list[Origin] = []
    for h in holders:
        for li in h.sockets:
            where = f"/proc/{li.pid}" if li.pid is not None and platform.startswith("linux") else None
            found.append(Origin(context="listener", text=f"{_socket(li)} held by {h.name}", path=where))
    found += [
        Origin(context="excluded-port-range", text=f"ports {a}-{b} reserved (netsh interface ipv4 show excludedportrange protocol=tcp)")
        for a, b in ev.excluded
    ]
    return tuple(found)


# --- words ---------------------------------------------------------------------------


def _socket(li: Listener) -> str:
    host = f"[{li.address}]" if ":" in li.address else li.address
    wide = " (all addresses)" if li.address in ("0.0.0.0", "::", "::ffff:0.0.0.0") else ""  # noqa: S104
    return f"{host}:{li.port}{wide}"


def _sockets(sockets: Sequence[Listener]) -> str:
    return _and(_socket(li) for li in sockets)


def _and(items: Iterable[object]) -> str:
    words = [str(i) for i in items]
    return words[0] if len(words) == 1 else ", ".join(words[:-1]) + " and " + words[-1]


def _or(items: Iterable[object]) -> str:
    words = [str(i) for i in items]
    return words[0] if len(words) == 1 else ", ".join(words[:-1]) + " or " + words[-1]


def _the(words: str) -> str:
    """``a JetBrains IDE (pid 7)`` -> ``the JetBrains IDE (pid 7)``: once named, it is that one."""
    for article in ("a ", "an "):
        if words.startswith(article):
            return "the " + words[len(article) :]
    return words


def _cap(words: str) -> str:
    return words[:1].upper() + words[1:]


def _applies(f: Facts) -> bool:
    """The passed sentence says the ports are free: only when authdoctor could see them."""
    return f.ev.ports is not None and f.ev.ports.visible


RULE = Rule(ID, check, "nothing listens on the login callback ports (127.0.0.1:1455, :1457)", _applies)
