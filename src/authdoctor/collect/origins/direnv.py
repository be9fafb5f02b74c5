"""direnv: the ``.envrc`` that applies to a folder, and the ``.env`` files it loads.

When a shell enters a folder, direnv looks for the nearest ``.envrc`` from
that folder up to ``/`` and, if the person allowed it (``direnv allow``),
runs it with bash plus direnv's standard library and exports into the shell
whatever it ends up exporting.  Only that nearest ``.envrc`` runs; it can pull
in others (``source_env``, ``source_up``) and ``.env`` files (``dotenv``,
``dotenv_if_exists``).

The ``.envrc`` is read as bash with the shared parser (``shell.py``, tree-sitter),
so comments, heredocs and strings are not mistaken for exports.  direnv's own
commands (``dotenv``, ``source_env``, ``source_up`` …) are functions of its
standard library, which that parser does not know; they are found per line.

An ``.envrc`` that was never allowed (or was edited since: the grant is the
SHA-256 of its path and content, in ``~/.local/share/direnv/allow``) does not
run; its settings are listed as conditional with a note.

The Host has no working directory, so the scan takes one (by default the one
authdoctor runs in).

Most checks find no ``.envrc``: the evaluation (``_direnv_eval.py``) is
imported only when there is one.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from authdoctor._hash import sha256_hex
from authdoctor.collect.origins._textfile import is_regular, read_raw, xdg_data_home
from authdoctor.collect.origins.model import OriginScan, ScanNote, Trail

if TYPE_CHECKING:
    from authdoctor.host import Host

ENVRC = ".envrc"
MAX_DEPTH = 8
MAX_UPWARD = 64


def context_for(directory: Path) -> str:
    return f"shells in {directory} (direnv)"


def allowed(host: Host, envrc: Path, data: bytes) -> bool:
    """Whether ``direnv allow`` was run on this exact content (direnv's ``fileHash``)."""
    digest = sha256_hex(str(envrc.absolute()).encode("utf-8", "surrogateescape") + b"\n" + data)
    return host.stat(xdg_data_home(host) / "direnv" / "allow" / digest) is not None


def find_up(host: Host, start: Path, name: str = ENVRC) -> Path | None:
    here = start.absolute()
    for _ in range(MAX_UPWARD):
        candidate = here / name
        if is_regular(host, candidate):
            return candidate
        if here.parent == here:
            return None
        here = here.parent
    return None


class DirenvSource:
    """The nearest ``.envrc`` above the working directory and what it loads."""

    name = "direnv"

    def __init__(self, cwd: Path | None = None) -> None:
        self.cwd = cwd

    def scan(self, host: Host, names: frozenset[str]) -> OriginScan:
        if host.is_windows or host.root != Path("/"):
            return OriginScan(self.name)  # an image has no working directory of ours
        envrc = find_up(host, self.cwd if self.cwd is not None else Path.cwd())
        if envrc is None:
            return OriginScan(self.name)
        from authdoctor.collect.origins._direnv_eval import Evaluator

        notes: list[ScanNote] = []
        ev = Evaluator(host, names, notes)
        data = read_raw(host, envrc, notes)
        if data is None:
            return OriginScan(self.name, (), tuple(notes))
        ok = allowed(host, envrc, data)
        ev.envrc(envrc, (), not ok)
        if not ok and ev.settings:
            notes.append(
                ScanNote(envrc, "not-allowed", f"{envrc} is not allowed (or changed since `direnv allow`), so direnv does not load it yet")
            )
        trail = Trail(context_for(envrc.parent), tuple(ev.settings), tuple(dict.fromkeys(ev.files)))
        return OriginScan(self.name, (trail,), tuple(notes))
