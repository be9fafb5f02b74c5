"""Origins: every place that sets a watched variable, one source module per family.

``scan_origins`` runs each source through the Host and never lets one broken
source stop the others: a failure becomes a :class:`ScanNote`.  Sources are
imported by name, only when they run, so a check pays only for what it uses.
"""

from __future__ import annotations

import importlib
from pathlib import Path
from typing import TYPE_CHECKING

from authdoctor.collect.origins.model import OriginScan, ScanNote
from authdoctor.secret import scrub

if TYPE_CHECKING:
    from authdoctor.host import Host

# (module, class) per family, in the order a report lists them.  The shell
# trace runs the user's start-up code, so it is separate and optional; it
# starts the shell once to confirm what the static sources read, and traces
# line by line only where they were wrong (confirm.py).
STATIC_SOURCES: tuple[tuple[str, str], ...] = (
    ("authdoctor.collect.origins.system", "SystemEnvironmentSource"),
    ("authdoctor.collect.origins.posix", "PosixShellSource"),
    ("authdoctor.collect.origins.fish", "FishSource"),
    ("authdoctor.collect.origins.powershell", "PowerShellSource"),
    ("authdoctor.collect.origins.launchd", "LaunchdSource"),
    ("authdoctor.collect.origins.registry", "RegistrySource"),
    ("authdoctor.collect.origins.editors", "EditorSource"),
    ("authdoctor.collect.origins.direnv", "DirenvSource"),
    ("authdoctor.collect.origins.codex_dotenv", "CodexDotenvSource"),
    ("authdoctor.collect.origins.provenance", "ProvenanceSource"),
)
TRACE_SOURCE = ("authdoctor.collect.origins.confirm", "ConfirmedShellSource")


# Sources that can only apply on one platform are not even imported elsewhere.
_ONLY_ON = {"RegistrySource": "win", "LaunchdSource": "darwin"}


_POSIX_SHELLS = ("bash", "zsh", "sh", "ksh")


def scan_origins(host: Host, names: frozenset[str], *, execute: bool = True, focus: str | None = None) -> tuple[OriginScan, ...]:
    """Scan every family for ``names``; with ``execute``, also trace the user's login shell.

    ``focus`` (the user's shell, for ``check``) skips the start-up files of
    other shells: Codex and its IDE extension inherit from ``$SHELL`` only.
    """
    static = [(m, c) for m, c in STATIC_SOURCES if host.platform.startswith(_ONLY_ON.get(c, ""))]
    if focus is not None:
        keep = {
            "PosixShellSource": focus in _POSIX_SHELLS,
            "FishSource": focus == "fish",
            "PowerShellSource": focus == "powershell",
            # Without tmux or direnv in this terminal there is nothing live to read.
            "ProvenanceSource": bool(host.env.get("TMUX") or host.env.get("DIRENV_DIFF")),
        }
        static = [(m, c) for m, c in static if keep.get(c, True)]
    kwargs: dict[str, object] = {"shells": (focus,)} if focus in _POSIX_SHELLS else {}
    scans = tuple(run_source(host, names, module, cls, kwargs if cls == "PosixShellSource" else {}) for module, cls in static)
    if not execute:
        return scans
    return (*scans, run_source(host, names, *TRACE_SOURCE, {"static": scans}))


def run_source(host: Host, names: frozenset[str], module: str, cls: str, kwargs: dict[str, object] | None = None) -> OriginScan:
    label = module.rsplit(".", 1)[-1]
    try:
        source = getattr(importlib.import_module(module), cls)(**(kwargs or {}))
        scan: OriginScan = source.scan(host, names)
    except Exception as exc:  # noqa: BLE001 - one broken source must not hide the others
        note = ScanNote(Path(label), "crash", scrub(f"authdoctor could not scan {label}: {type(exc).__name__}: {exc}"))
        return OriginScan(label, (), (note,))
    return scan
