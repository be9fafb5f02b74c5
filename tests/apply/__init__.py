"""Tests of the apply / journal / undo stage, and the small builders they share.

Every "secret" is made at run time, so none is ever written in the source.
"""

from __future__ import annotations

import secrets
from datetime import UTC, datetime, timedelta
from pathlib import Path

from authdoctor.apply.atomic import is_temp_name
from authdoctor.apply.journal import Journal
from authdoctor.plan.model import Change, Edit, FileChange, Plan

FIXED_NOW = datetime(2026, 11, 20, 12, 0, 0, tzinfo=UTC)
CURE = "access-token-overrides-login"
VAR = "CODEX_ACCESS_TOKEN"


def make_secret() -> str:
    return "sk-" + secrets.token_hex(20)


def later(seconds: int) -> datetime:
    return FIXED_NOW + timedelta(seconds=seconds)


def startup_bytes(secret: str, *, newline: bytes = b"\n") -> bytes:
    """A start-up file that exports the token on its second line."""
    lines = [b"# my shell start-up", f"export {VAR}={secret}".encode(), b"alias ll='ls -l'", b""]
    return newline.join(lines)


def comment_out_change(path: Path, *, target: Path | None = None) -> FileChange:
    """A FileChange that comments out the line exporting VAR, as the POSIX editor would."""
    before = (target or path).read_bytes()
    start = before.index(f"export {VAR}=".encode())
    end = before.index(b"\n", start) if b"\n" in before[start:] else len(before)
    if before[start:end].endswith(b"\r"):
        end -= 1
    return FileChange(
        path=path,
        target=target or path.resolve(),
        before=before,
        edits=(Edit(start, end, f"# {VAR} removed by authdoctor".encode()),),
        family="bash",
        removes=(VAR,),
        lines=(before[:start].count(b"\n") + 1,),
        cures=(CURE,),
    )


def write_startup(path: Path, secret: str, *, mode: int = 0o644, newline: bytes = b"\n") -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(startup_bytes(secret, newline=newline))
    path.chmod(mode)
    return path


def plan_of(*changes: Change) -> Plan:
    return Plan(changes=tuple(changes), manual=(), cures=(CURE,), removes=(VAR,))


def new_journal(tmp_path: Path) -> Journal:
    return Journal(tmp_path / "state" / "authdoctor" / "journal")


def temp_files(*folders: Path) -> list[str]:
    return [p.name for folder in folders for p in folder.iterdir() if is_temp_name(p.name)]


def all_text(folder: Path) -> str:
    """Every file name and every entry.json under ``folder``, to search for leaks (backups excluded: they hold the secret)."""
    out = []
    for p in sorted(folder.rglob("*")):
        out.append(str(p))
        if p.name == "entry.json":
            out.append(p.read_text("utf-8"))
    return "\n".join(out)
