"""Which kinds of process a person cares about, and which trails each one goes through.

Shared by ``check`` (to know what a new terminal inherits) and ``where``.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import PurePath
from typing import NamedTuple

from authdoctor.collect.origins.model import OriginScan, Setting, winner

PAM = "login sessions (PAM)"
SYSTEMD_GUI = "GUI apps (systemd user session)"
LAUNCHD_GUI = "GUI apps (launchd)"
WINDOWS = "Windows processes (started from Explorer)"
TRACED_SUFFIX = " (traced)"


class Context(NamedTuple):
    """A kind of process and the trails (in order) whose settings it goes through."""

    name: str
    trails: tuple[str, ...]


def user_shell(env: Mapping[str, str], platform: str) -> str:
    if platform.startswith("win"):
        return "powershell"
    shell = PurePath(env.get("SHELL") or "bash").name
    return shell if shell in ("bash", "zsh", "fish", "ksh", "sh", "dash") else "bash"


def contexts_for(shell: str, platform: str) -> tuple[Context, ...]:
    """The contexts the report marks a winner for, on this platform and with this login shell."""
    sh = "sh" if shell == "dash" else shell
    if sh == "fish":
        login, interactive = (f"{sh} login shell",), (f"{sh} interactive shell",)
    elif sh == "powershell":
        login = interactive = ("PowerShell",)
    else:
        login, interactive = (f"{sh} login+interactive shell",), (f"{sh} interactive shell",)
    session = () if platform.startswith("win") else (PAM,)
    out = [
        Context(f"new login shell ({sh})", (*session, *login)),
        Context(f"new interactive shell ({sh})", (*session, *interactive)),
    ]
    if platform == "darwin":
        out.append(Context("GUI apps (launchd)", (LAUNCHD_GUI,)))
    elif platform.startswith("win"):
        out.append(Context("Windows processes (Explorer)", (WINDOWS,)))
    else:
        out.append(Context("GUI apps (systemd session)", (PAM, SYSTEMD_GUI)))
    return tuple(out)


def context_settings(trails: tuple[str, ...], by_trail: Mapping[str, list[Setting]]) -> list[Setting]:
    """The settings a context goes through, in order; traced trails replace static ones.

    fish applies its universal variables first and lets an inherited value (PAM,
    the session) override them, so universal settings go before everything else.
    """
    chosen = [f"{t}{TRACED_SUFFIX}" if f"{t}{TRACED_SUFFIX}" in by_trail else t for t in trails]
    settings = [s for t in chosen for s in by_trail.get(t, ())]
    universal = [s for s in settings if s.family == "fish-universal"]
    return [*universal, *(s for s in settings if s.family != "fish-universal")] if universal else settings


def new_terminal_winner(scans: tuple[OriginScan, ...], var: str, env: Mapping[str, str], platform: str) -> Setting | None:
    """The setting a brand-new login terminal ends up with for ``var`` (traced trails beat static ones)."""
    login = contexts_for(user_shell(env, platform), platform)[0]
    by_trail: dict[str, list[Setting]] = {}
    for scan in scans:
        for trail in scan.trails:
            by_trail.setdefault(trail.context, []).extend(trail.settings)
    return winner(context_settings(login.trails, by_trail), var)
