"""``authdoctor demo``: the seed story on a throwaway home.

It builds a home with a valid ChatGPT login and an expired CODEX_ACCESS_TOKEN
exported from ``.zshrc``, starts a real zsh on it (when zsh is installed) to
get the environment a new terminal would have, and runs the check there.
The user's own home is never read or written.
"""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
from datetime import UTC, datetime
from pathlib import Path

from authdoctor.commands.check import build_report, exit_code, render
from authdoctor.errors import AuthdoctorError, ExitCode
from authdoctor.host import Host
from authdoctor.host.keyring import NoKeyringProbe
from authdoctor.sandbox import build_seed_home
from authdoctor.secret import Secret

_MARK = "__AUTHDOCTOR_ENV__"


def sandbox_env(home: Path) -> dict[str, str]:
    """A clean environment for the sandbox: nothing from the real user leaks in."""
    return {"HOME": str(home), "PATH": "/usr/local/bin:/usr/bin:/bin", "TERM": "dumb", "LANG": "C.UTF-8", "SHELL": "/bin/zsh"}


def new_terminal_env(host: Host, home: Path) -> tuple[dict[str, str], str]:
    """What a new interactive zsh on ``home`` ends up with, and how we learned it."""
    base = sandbox_env(home)
    zsh = shutil.which("zsh")
    if zsh is None or host.is_windows:
        return base, "zsh is not installed, so the demo cannot start one; the environment below is the sandbox's own"
    res = host.run([zsh, "-i", "-c", f"printf %s {_MARK}; env -0"], timeout=10, env=base, cwd=home)
    if res.returncode != 0 or _MARK.encode() not in res.stdout:
        return base, "zsh did not start cleanly in the sandbox; the environment below is the sandbox's own"
    env: dict[str, str] = {}
    for item in res.stdout.split(_MARK.encode(), 1)[1].split(b"\0"):
        key, sep, value = item.decode("utf-8", "replace").partition("=")
        if sep and key:
            env[key] = value
            Secret(value)  # register, so nothing this shell printed can be echoed
    return env, "a real `zsh -i` started on the sandbox home (its .zshrc ran) gave this environment"


def run_demo(args: argparse.Namespace) -> int:
    from authdoctor.cli import write

    now = datetime.now(UTC)
    sandbox = Path(tempfile.mkdtemp(prefix="authdoctor-demo-"))
    try:
        home = sandbox / "home"
        home.mkdir(mode=0o700)
        seed = build_seed_home(home, now)
        probe_host = Host(env=sandbox_env(home), home=home, keyring=NoKeyringProbe())
        env, how = new_terminal_env(probe_host, home)
        if "CODEX_ACCESS_TOKEN" not in env:
            # Without zsh we still show the story: the line sets exactly this.
            env["CODEX_ACCESS_TOKEN"] = seed.access_token
        host = Host(env=env, home=home, keyring=NoKeyringProbe(), clock=lambda: now)
        report = build_report(host)
        ids = {f.id for f in report.findings}
        if "access-token-overrides-login" not in ids:
            raise AuthdoctorError("the demo did not reproduce the seed problem", hint="please report this as a bug")
        if args.json:
            write(sys.stdout, render(report, args))
            return ExitCode.OK
        intro = (
            "authdoctor demo\n"
            f"Sandbox: {sandbox}  (your own home is not touched)\n\n"
            "The setup: a valid ChatGPT login in ~/.codex/auth.json, and a stale agent identity token that\n"
            f"~/.zshrc line {seed.export_line} exports as CODEX_ACCESS_TOKEN (it expired 300 days ago).\n"
            f"How the environment was obtained: {how}.\n\n"
            "$ authdoctor check\n"
        )
        write(sys.stdout, intro + render(report, args))
        outro = (
            "\nWhat this shows: Codex reads CODEX_ACCESS_TOKEN before the stored login, so the fresh ChatGPT\n"
            "login is never used and every request fails. Reinstalling or deleting ~/.codex cannot help: the\n"
            "token comes from the shell. Removing the export line and opening a new terminal does.\n"
            f"(Check exit code on this setup: {exit_code(report)}.)\n"
        )
        write(sys.stdout, outro)
        return ExitCode.OK
    finally:
        if args.keep:
            write(sys.stderr, f"authdoctor: kept the sandbox at {sandbox}\n")
        else:
            shutil.rmtree(sandbox, ignore_errors=True)
