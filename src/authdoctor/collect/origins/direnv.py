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

With ``load_dotenv = true`` in ``direnv.toml`` (``[global]``), direnv also
takes a ``.env`` as the folder's file: in each folder upward, ``.envrc``
first, then ``.env``, and the first found is the one that loads (direnv's
``findEnvUp``).  It is read as a ``.env`` file and needs ``direnv allow`` too.

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
from authdoctor.collect.origins._textfile import is_regular, read_raw, xdg_config_home, xdg_data_home
from authdoctor.collect.origins.model import OriginScan, ScanNote, Trail

if TYPE_CHECKING:
    from authdoctor.host import Host

ENVRC = ".envrc"
DOTENV = ".env"
MAX_DEPTH = 8
MAX_UPWARD = 64


def context_for(directory: Path) -> str:
    return f"shells in {directory} (direnv)"


def allowed(host: Host, envrc: Path, data: bytes) -> bool:
    """Whether ``direnv allow`` was run on this exact content (direnv's ``fileHash``)."""
    digest = sha256_hex(str(envrc.absolute()).encode("utf-8", "surrogateescape") + b"\n" + data)
    return host.stat(xdg_data_home(host) / "direnv" / "allow" / digest) is not None


def find_up(host: Host, start: Path, name: str = ENVRC, *also: str) -> Path | None:
    """The nearest ``name`` (or, in the same folder, one of ``also``, in that order) from ``start`` up."""
    here = start.absolute()
    for _ in range(MAX_UPWARD):
        for each in (name, *also):
            candidate = here / each
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
        notes: list[ScanNote] = []
        dotenv = (DOTENV,) if load_dotenv(host, notes) else ()
        envrc = find_up(host, self.cwd if self.cwd is not None else Path.cwd(), ENVRC, *dotenv)
        if envrc is None:
            return OriginScan(self.name, (), tuple(notes))
        from authdoctor.collect.origins._direnv_eval import Evaluator

        ev = Evaluator(host, names, notes)
        data = read_raw(host, envrc, notes)
        if data is None:
            return OriginScan(self.name, (), tuple(notes))
        ok = allowed(host, envrc, data)
        if envrc.name == DOTENV:
            ev.dotenv_file(envrc, not ok, "loaded by direnv: load_dotenv")
        else:
            ev.envrc(envrc, (), not ok)
        if not ok and ev.settings:
            notes.append(
                ScanNote(envrc, "not-allowed", f"{envrc} is not allowed (or changed since `direnv allow`), so direnv does not load it yet")
            )
        trail = Trail(context_for(envrc.parent), tuple(ev.settings), tuple(dict.fromkeys(ev.files)))
        return OriginScan(self.name, (trail,), tuple(notes))


def load_dotenv(host: Host, notes: list[ScanNote]) -> bool:
    """``[global] load_dotenv`` in direnv's ``direnv.toml`` (``$DIRENV_CONFIG`` or ``$XDG_CONFIG_HOME/direnv``)."""
    raw = host.env.get("DIRENV_CONFIG")
    folder = host.path(raw) if raw and Path(raw).is_absolute() else xdg_config_home(host) / "direnv"
    for name in ("direnv.toml", "config.toml"):  # config.toml: the name before direnv 2.21
        path = folder / name
        if not is_regular(host, path):
            continue
        data = read_raw(host, path, notes)
        if data is None or b"load_dotenv" not in data:
            return False
        import tomllib

        try:
            config = tomllib.loads(data.decode("utf-8"))
        except (UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
            # direnv refuses to start with a broken config; say so rather than guess.
            notes.append(ScanNote(path, "parse-error", f"{path} is not valid TOML ({type(exc).__name__}), so direnv stops at it"))
            return False
        section = config.get("global")
        return isinstance(section, dict) and section.get("load_dotenv") is True
    return False
