"""What every rule shares: the :class:`Rule` record, the :class:`Facts` it reads, and wording helpers."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from datetime import datetime
from types import MappingProxyType
from typing import NamedTuple

from authdoctor.codex import knowledge as K
from authdoctor.codex.tokens import relative
from authdoctor.collect.evidence import Evidence
from authdoctor.collect.origins.model import UNSET
from authdoctor.diagnose.finding import Finding, Origin
from authdoctor.diagnose.precedence import Credential, Resolution
from authdoctor.diagnose.where import VariableReport
from authdoctor.secret import REDACTED


class Facts(NamedTuple):
    """The input of every rule: the evidence, the precedence verdict and where each variable is set.  No I/O."""

    ev: Evidence
    res: Resolution
    origins: Mapping[str, VariableReport] = MappingProxyType({})

    @property
    def now(self) -> datetime:
        return self.ev.now


def _always(_: Facts) -> bool:
    return True


class Rule(NamedTuple):
    """One finding id: a pure ``check`` and the sentence it confirms when quiet."""

    id: str
    check: Callable[[Facts], Iterable[Finding]]
    passed: str
    applies: Callable[[Facts], bool] = _always


# --- wording ------------------------------------------------------------------

_KIND_WORDS = {
    "chatgpt": "ChatGPT",
    "chatgpt-host-managed": "ChatGPT (app-managed)",
    "api-key": "API key",
    "agent-identity": "agent identity",
    "personal-access-token": "personal access token",
    "bedrock-api-key": "Amazon Bedrock API key",
    "unknown": "stored",
    "invalid": "invalid",
}


def kind_words(kind: str) -> str:
    return _KIND_WORDS.get(kind, kind)


def source_words(c: Credential) -> str:
    if c.source.startswith("file:"):
        return c.source[len("file:") :]
    if c.source.startswith("env:"):
        return f"the {c.source[len('env:') :]} environment variable"
    if c.source == "keyring":
        return "the OS keyring"
    return "nowhere"


def describe_login(c: Credential, now: datetime) -> str:
    """``the ChatGPT login for a@example.com (plus) in ~/.codex/auth.json, refreshed 2 days ago``."""
    who = f" for {c.email}" if c.email else (f" for account {c.account_id}" if c.account_id else "")
    plan = f" ({c.plan})" if c.plan else ""
    refreshed = f", refreshed {relative(c.last_refresh, now)}" if c.last_refresh else ""
    return f"the {kind_words(c.kind)} login{who}{plan} in {source_words(c)}{refreshed}"


def expiry_words(c: Credential, now: datetime) -> str | None:
    if c.expires_at is None:
        return None
    verb = "expired" if c.expires_at <= now else "expires"
    return f"{verb} {relative(c.expires_at, now)} ({c.expires_at:%Y-%m-%d %H:%M} UTC)"


def env_origins(f: Facts, name: str) -> tuple[Origin, ...]:
    """Every place ``name`` is set, the one in effect marked active.

    The live environment is listed only when no start-up source explains the
    value this terminal holds (then it came from tmux, an IDE, `sudo`, a parent shell …).
    """
    value = f.ev.env.get(name)
    if value is not None and value.source == "dotenv":
        return (Origin(context="dotenv", text=f"{name}={REDACTED}", path=str(f.ev.dotenv.path), line=value.line),)
    found: list[Origin] = []
    explained = False
    report = f.origins.get(name)
    for rec in report.records if report is not None else ():
        s = rec.setting
        if s.action == UNSET:
            continue
        active = rec.status == "wins"
        found.append(Origin(context=s.family, text=s.text, path=str(s.path), line=s.line or None, active=active))
        if active and value is not None and s.value is not None and s.value == value.value:
            explained = True
    if value is not None and value.source == "environment" and not explained:
        likely = f" (set in this terminal, not by any start-up file; most likely from {f.ev.parent_chain})" if f.ev.parent_chain else ""
        found.append(Origin(context="environment", text=f"{name}={REDACTED}{likely}"))
    return tuple(found) or (Origin(context="environment", text=f"{name}={REDACTED}"),)


def places(f: Facts, name: str) -> list[str]:
    """``~/.zshrc:3``-style places whose setting is in effect somewhere, editable ones first."""
    report = f.origins.get(name)
    records = [r for r in (report.records if report is not None else ()) if r.status == "wins" and r.setting.action != UNSET]
    return [r.setting.where for r in sorted(records, key=lambda r: not r.setting.editable)]


def a_or_an(word: str) -> str:
    """``an agent identity`` / ``a personal access token``."""
    return f"{'an' if word[:1].lower() in 'aeiou' else 'a'} {word}"


_SHELL_SAFE = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789@%+=:,./-_")


def shell_quote(path: object) -> str:
    """A path as it must appear in a command the person copies (home folders can hold spaces).

    Same result as ``shlex.quote``, without importing it (start-up time)."""
    text = str(path)
    if text and all(c in _SHELL_SAFE for c in text):
        return text
    return "'" + text.replace("'", "'\"'\"'") + "'"


def from_dotenv(ev: Evidence, name: str) -> bool:
    value = ev.env.get(name)
    return value is not None and value.source == "dotenv"


def remove_hint(f: Facts, name: str) -> str:
    """How to get rid of a variable, wherever it comes from: the exact lines when they are known."""
    ev = f.ev
    value = ev.env.get(name)
    if value is not None and value.source == "dotenv":
        return f"Delete line {value.line} ({name}=…) from {ev.dotenv.path}, which Codex loads at start-up, then restart Codex"
    where = places(f, name)
    if where:
        lines = ", ".join(where)
        now = f"run `unset {name}` in this terminal, " if value is not None and value.source == "environment" else ""
        return (
            f"Comment out or delete the line that sets it ({lines}; `authdoctor where {name}` lists every place), "
            f"{now}then open a new terminal and restart Codex"
        )
    return unset_hint(name)


def unset_hint(name: str) -> str:
    return (
        f"Run `unset {name}` in this terminal, delete the line that sets it from your shell start-up files "
        f"(~/.zshrc, ~/.bashrc, ~/.profile, ~/.config/fish) or from {K.DOTENV_FILENAME} files, then open a new terminal and restart Codex"
    )
