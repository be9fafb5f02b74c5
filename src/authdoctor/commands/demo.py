"""``authdoctor demo``: the seed story on a throwaway home.

It builds a home with a valid ChatGPT login and an expired CODEX_ACCESS_TOKEN
exported from ``.zshrc``, starts a real zsh on it (when zsh is installed) to
get the environment a new terminal would have, and tells the whole story:
the real ``codex login status`` failing, the check, the fix (with its diff and
verification), a fresh shell without the variable, ``codex login status``
using the ChatGPT login again, and the undo restoring every byte.
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
from authdoctor.report.model import CheckReport
from authdoctor.sandbox import SeedHome, build_seed_home
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
    from authdoctor.verify import env_after

    res = host.run([zsh, "-i", "-c", f"printf %s {_MARK}; env -0"], timeout=10, env=base, cwd=home)
    printed = env_after(res.stdout, _MARK.encode())
    if res.returncode != 0 or printed is None:
        return base, "zsh did not start cleanly in the sandbox; the environment below is the sandbox's own"
    env: dict[str, str] = {}
    for key, value in printed.items():
        env[key.decode("utf-8", "replace")] = text = value.decode("utf-8", "replace")
        Secret(text)  # register, so nothing this shell printed can be echoed
    return env, "a real `zsh -i` started on the sandbox home (its .zshrc ran) gave this environment"


def codex_status(env: dict[str, str], home: Path) -> str | None:
    """What the real ``codex login status`` says on the sandbox (None when Codex is not installed)."""
    import os
    import subprocess

    codex = os.environ.get("AUTHDOCTOR_CODEX") or shutil.which("codex")
    if codex is None:
        return None
    try:
        proc = subprocess.run(  # noqa: S603 - a fixed argv, the sandbox environment, no shell
            [codex, "login", "status"], env=env, cwd=home, stdin=subprocess.DEVNULL, capture_output=True, timeout=30, check=False
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        return f"(codex could not run: {type(exc).__name__})"
    text = (proc.stdout + proc.stderr).decode("utf-8", "replace")
    lines = [line for line in text.splitlines() if line.strip() and not line.startswith("WARNING:")]
    return "\n".join(lines[:3]) or f"(no output, exit status {proc.returncode})"


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
        )
        write(sys.stdout, intro)
        status_before = codex_status(env, home)
        if status_before is not None:
            write(sys.stdout, f"$ codex login status        # the real Codex CLI, in a new terminal\n{status_before}\n\n")
        write(sys.stdout, f"$ authdoctor check\n{render(report, args)}\n")
        return _repair(args, host, report, seed, status_before is not None)
    finally:
        if args.keep:
            write(sys.stderr, f"authdoctor: kept the sandbox at {sandbox}\n")
        else:
            shutil.rmtree(sandbox, ignore_errors=True)


def _repair(args: argparse.Namespace, host: Host, report: CheckReport, seed: SeedHome, has_codex: bool) -> int:
    """Fix, prove it with a fresh shell and the real Codex, then undo -- and prove the bytes came back."""
    from authdoctor._hash import sha256_hex
    from authdoctor.apply.journal import Journal, journal_root
    from authdoctor.apply.undo import undo
    from authdoctor.cli import write
    from authdoctor.commands.fix import apply_and_verify, style_for
    from authdoctor.plan.planner import make_plan, select
    from authdoctor.report.fix_report import render_outcome_text, render_plan_text

    home = seed.home
    original = seed.zshrc.read_bytes()
    style = style_for(args)
    plan = make_plan(host, report.diagnosis, select(report.findings), stamp=host.now().strftime("%Y-%m-%d"))
    write(sys.stdout, "$ authdoctor fix --yes\n" + render_plan_text(plan, home, style))
    outcome = apply_and_verify(host, plan, execute=True)
    write(sys.stdout, render_outcome_text(outcome, style) + "\n")

    fresh, _how = new_terminal_env(Host(env=sandbox_env(home), home=home, keyring=NoKeyringProbe()), home)
    still = "CODEX_ACCESS_TOKEN" in fresh
    write(sys.stdout, "$ zsh -i -c 'printenv CODEX_ACCESS_TOKEN'   # a brand-new terminal\n")
    write(sys.stdout, ("(still set!)" if still else "(not set: the variable is gone)") + "\n\n")
    if has_codex:
        after = codex_status(fresh, home)
        write(sys.stdout, f"$ codex login status        # the real Codex CLI, in that new terminal\n{after}\n\n")

    done = undo(Journal(journal_root(host)), outcome.journal_entry)
    same = sha256_hex(seed.zshrc.read_bytes()) == sha256_hex(original)
    write(
        sys.stdout,
        f"$ authdoctor undo --yes\nRestored {len(done.restored)} file(s); ~/.zshrc is "
        f"{'byte-for-byte identical to before the fix' if same else 'NOT identical (a bug: please report it)'}.\n\n",
    )
    outro = (
        "What this shows: Codex reads CODEX_ACCESS_TOKEN before the stored login, so the fresh ChatGPT\n"
        "login was never used. Reinstalling or deleting ~/.codex cannot help: the token comes from the shell.\n"
        "`authdoctor fix` commented out the export (with a backup), a new terminal no longer has it, Codex\n"
        "uses the ChatGPT login again, and `authdoctor undo` put every byte back.\n"
        f"(Check exit code on the broken setup: {exit_code(report)}.)\n"
    )
    write(sys.stdout, outro)
    return ExitCode.OK if not still and same else ExitCode.FINDINGS
