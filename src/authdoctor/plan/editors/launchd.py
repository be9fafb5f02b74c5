"""Remove variables from a user LaunchAgent plist (``~/Library/LaunchAgents/*.plist``).

People make ``launchctl setenv`` survive a logout with an agent like::

    <key>ProgramArguments</key>
    <array>
        <string>/bin/launchctl</string> <string>setenv</string>
        <string>A</string> <string>1</string>
        <string>CODEX_ACCESS_TOKEN</string> <string>…</string>
    </array>

A plist is structured data, not lines, so the editor reads it with
``plistlib``, removes the variable's ``NAME VALUE`` pair from the
``launchctl setenv`` arguments (directly, or behind ``env``), or its key from
the job's ``EnvironmentVariables`` dictionary, and writes the plist back in
its own format: XML stays XML (``plistlib.dumps(fmt=FMT_XML)``), binary stays
binary, keys keep their order.  The edit is one :class:`Edit` replacing the
whole file.  An XML plist is re-serialised, so comments and layout in it are
not kept; the values are.

Refused:

- an agent that would be left running ``launchctl setenv`` with nothing to
  set (``whole-agent``): it exists only for this variable.  Deleting files is
  not an editor's job; the person unloads it and removes it (the refusal's
  detail says how), which the planner turns into a manual step;
- ``sh -c "…"`` scripts (``shell-script``), unless the script is exactly one
  ``launchctl setenv`` command of plain words: editing shell code inside a
  plist is left to the person;
- blockers other than ``plist`` (the scanner's mark for a user agent, which
  this editor is for): ``system-file`` (``/Library``) and ``live-session``
  (the running session's ``launchctl getenv`` value: ``launchctl unsetenv``
  clears it, and the next login would bring it back only through an agent).

An edited agent takes effect at the next login (or ``launchctl bootout`` +
``bootstrap``); the value the running session already holds is the separate
``live-session`` setting.  The result is checked by reading it back the way
the scanner does: the same ``setenv`` calls less the removed ones.
"""

from __future__ import annotations

import plistlib
import shlex
from collections.abc import Sequence
from pathlib import PurePosixPath
from typing import TYPE_CHECKING, Any

from authdoctor.collect.origins.launchd import _SHELLS, _split_commands, _words, setenv_calls
from authdoctor.plan.editors.base import EditContext, EditorResult, Refusal
from authdoctor.plan.model import Edit

if TYPE_CHECKING:
    from authdoctor.collect.origins.model import Setting

_OURS = (None, "plist")
_JOB_ENV = "EnvironmentVariables"


class _Refused(Exception):
    def __init__(self, reason: str, detail: str) -> None:
        super().__init__(reason)
        self.reason = reason
        self.detail = detail


class LaunchdEditor:
    def edit(self, data: bytes, settings: Sequence[Setting], ctx: EditContext) -> EditorResult:
        refused: list[Refusal] = []
        mine: list[Setting] = []
        for s in settings:
            if s.blocker not in _OURS:
                refused.append(Refusal(s, s.blocker or "not-editable"))
            else:
                mine.append(s)
        if not mine:
            return EditorResult((), tuple(refused))
        binary = data.startswith(b"bplist")
        try:
            plist = plistlib.loads(data)
        except Exception:  # noqa: BLE001 - plistlib raises several unrelated types on bad input
            return EditorResult((), tuple(refused) + tuple(Refusal(s, "parse-error") for s in mine))
        if not isinstance(plist, dict):
            return EditorResult((), tuple(refused) + tuple(Refusal(s, "parse-error") for s in mine))

        # The scanner words job-only settings "EnvironmentVariables NAME=…"; the rest come from ProgramArguments.
        job = {s.var for s in mine if s.text.startswith(_JOB_ENV + " ")}
        session = {s.var for s in mine if not s.text.startswith(_JOB_ENV + " ")}
        try:
            changed = dict(plist)
            if session:
                _drop_setenv(changed, session, mine[0])
            if job:
                _drop_job_env(changed, job)
        except _Refused as exc:
            return EditorResult((), tuple(refused) + tuple(Refusal(s, exc.reason, exc.detail) for s in mine))
        if changed == plist:
            return EditorResult((), tuple(refused) + tuple(Refusal(s, "unknown-span", "the plist does not set it") for s in mine))
        new = plistlib.dumps(changed, fmt=plistlib.FMT_BINARY if binary else plistlib.FMT_XML, sort_keys=False)
        if not _reads_back(plist, new, session, job):
            detail = "the edited plist does not read back as expected"
            return EditorResult((), tuple(refused) + tuple(Refusal(s, "would-break", detail) for s in mine))
        return EditorResult((Edit(0, len(data), new),), tuple(refused))


def _argv(plist: dict[str, Any]) -> list[str] | None:
    argv = plist.get("ProgramArguments")
    if isinstance(argv, list) and all(isinstance(a, str) for a in argv):
        return list(argv)
    return None


def _drop_setenv(plist: dict[str, Any], names: set[str], setting: Setting) -> None:
    """Remove ``NAME VALUE`` pairs from the job's ``launchctl setenv`` (in place in ``plist``)."""
    argv = _argv(plist)
    if argv is None:
        raise _Refused("unknown-span", "the agent's ProgramArguments could not be read")
    prog = PurePosixPath(argv[0]).name if argv else ""
    if prog in _SHELLS:
        plist["ProgramArguments"] = _drop_in_script(argv, names, setting)
        return
    at = _launchctl_at(argv)
    if at is None:
        raise _Refused("unknown-span", "the agent does not run `launchctl setenv` directly")
    kept = _without_pairs(argv[at + 2 :], names)
    if not kept:
        raise _Refused("whole-agent", _bootout(setting))
    plist["ProgramArguments"] = [*argv[: at + 2], *kept]


def _launchctl_at(argv: list[str]) -> int | None:
    """Index of ``launchctl`` in ``launchctl setenv …`` or ``env [-i] [A=1] launchctl setenv …``."""
    for i, a in enumerate(argv):
        if PurePosixPath(a).name == "launchctl":
            head_ok = i == 0 or (PurePosixPath(argv[0]).name == "env" and all("=" in x or x.startswith("-") for x in argv[1:i]))
            if head_ok and argv[i + 1 : i + 2] == ["setenv"]:
                return i
            return None
    return None


def _without_pairs(args: list[str], names: set[str]) -> list[str]:
    if len(args) % 2:
        raise _Refused("unknown-span", "`launchctl setenv` has an odd number of arguments")
    out: list[str] = []
    for i in range(0, len(args), 2):
        if args[i] not in names:
            out += args[i : i + 2]
    return out


def _drop_in_script(argv: list[str], names: set[str], setting: Setting) -> list[str]:
    """``sh -c "launchctl setenv A 1 X 2"``: only a script that is exactly one plain setenv command."""
    refuse = _Refused("shell-script", "the agent runs a shell script; remove the variable from the script by hand")
    at = next((i + 1 for i, a in enumerate(argv[:-1]) if a.startswith("-") and not a.startswith("--") and "c" in a[1:]), None)
    if at is None:
        raise refuse
    script = argv[at]
    parts = _split_commands(script)
    words = _words(parts[0]) if len(parts) == 1 else None
    if words is None or any(computed for _, computed in words) or len(words) < 2:
        raise refuse
    plain = [w for w, _ in words]
    if PurePosixPath(plain[0]).name != "launchctl" or plain[1] != "setenv":
        raise refuse
    kept = _without_pairs(plain[2:], names)
    if not kept:
        raise _Refused("whole-agent", _bootout(setting))
    return [*argv[:at], shlex.join([*plain[:2], *kept]), *argv[at + 1 :]]


def _drop_job_env(plist: dict[str, Any], names: set[str]) -> None:
    env = plist.get(_JOB_ENV)
    if not isinstance(env, dict):
        raise _Refused("unknown-span", "the agent has no EnvironmentVariables dictionary")
    kept = {k: v for k, v in env.items() if k not in names}
    if kept:
        plist[_JOB_ENV] = kept
    else:
        del plist[_JOB_ENV]  # an empty dictionary means the same as none


def _bootout(setting: Setting) -> str:
    path = shlex.quote(str(setting.path))
    return f"the agent only sets this variable: unload it with `launchctl bootout gui/$(id -u) {path}`, then delete {path}"


def _reads_back(before: dict[str, Any], new: bytes, session: set[str], job: set[str]) -> bool:
    try:
        after = plistlib.loads(new)
    except Exception:  # noqa: BLE001 - plistlib raises several unrelated types on bad input
        return False
    if not isinstance(after, dict):
        return False
    old_argv, new_argv = _argv(before) or [], _argv(after) or []
    want = [c for c in setenv_calls(old_argv) if not (c[0] == "setenv" and c[1] in session)]
    if setenv_calls(new_argv) != want:
        return False
    old_env, new_env = before.get(_JOB_ENV), after.get(_JOB_ENV, {})
    if isinstance(old_env, dict) and {k: v for k, v in old_env.items() if k not in job} != new_env:
        return False
    rest = {k: v for k, v in after.items() if k not in ("ProgramArguments", _JOB_ENV)}
    return rest == {k: v for k, v in before.items() if k not in ("ProgramArguments", _JOB_ENV)}


EDITOR = LaunchdEditor()
