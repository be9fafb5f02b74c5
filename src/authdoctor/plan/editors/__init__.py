"""One editor per family of places, each in its own module: ``posix`` (bash, zsh, sh, .envrc), ``fish``,
``fish_universal``, ``powershell``, ``keyvalue`` (environment.d, ~/.pam_environment, $CODEX_HOME/.env),
``vscode`` (settings JSON), ``launchd`` (plists) -- and ``editor_for(family)`` to find them."""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from authdoctor.plan.editors.base import Editor

# family (Setting.family) -> module under authdoctor.plan.editors
_BY_FAMILY = {
    "bash": "posix",
    "zsh": "posix",
    "posix": "posix",
    "direnv": "posix",
    "fish": "fish",
    "fish-universal": "fish_universal",
    "powershell": "powershell",
    "pam": "keyvalue",
    "environment.d": "keyvalue",
    "dotenv": "keyvalue",
    "vscode": "vscode",
    "launchd": "launchd",
}


def editor_for(family: str) -> Editor | None:
    """The editor for a family, or None when authdoctor never edits it (trace, tmux, registry -- handled apart)."""
    module = _BY_FAMILY.get(family)
    if module is None:
        return None
    try:
        found: Editor = importlib.import_module(f"authdoctor.plan.editors.{module}").EDITOR
    except ModuleNotFoundError:
        return None
    return found
