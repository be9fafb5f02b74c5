"""What the rules that read running processes say about the ones they could not see."""

from __future__ import annotations

from collections.abc import Sequence

from authdoctor.collect.processes import CodexProcess


def unseen(processes: Sequence[CodexProcess] | None, what: str) -> list[str]:
    """Sentences naming the processes whose environment could not be read, and why; ``what`` is what stays unknown."""
    if processes is None:
        return [f"Running Codex processes could not be checked on this system, so {what} is unknown."]
    hidden = [p for p in processes if not p.environ_readable]
    if not hidden:
        return []
    reasons = dict.fromkeys(p.hidden or "they belong to another user" for p in hidden)
    n = len(hidden)
    return [
        f"{n} Codex process{'es' if n != 1 else ''} ({', '.join(f'pid {p.pid}' for p in hidden[:5])}) could not be inspected "
        f"({'; '.join(reasons)}), so {what} is unknown."
    ]
