#!/usr/bin/env python3
"""Time ``authdoctor check --json`` against the real ``codex login status`` and ``codex doctor``.

All three run on the same throwaway home (the seed setup: a ChatGPT login plus
an expired CODEX_ACCESS_TOKEN), in paired rounds whose order is shuffled each
time, so drift in machine load hits every command alike.  Prints median and
p90 wall times and the ratios.  The target: authdoctor's median is no slower
than ``codex login status`` (ratio <= 1.0).

    python bench/bench_check.py [--runs 21] [--codex PATH]
"""

from __future__ import annotations

import argparse
import os
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "src"))

from authdoctor.sandbox import build_seed_home  # noqa: E402


def find_codex(explicit: str | None) -> str | None:
    for candidate in (explicit, os.environ.get("AUTHDOCTOR_CODEX"), shutil.which("codex")):
        if candidate and Path(candidate).exists():
            return candidate
    return None


def native_codex(launcher: str) -> str | None:
    """The platform binary the npm launcher spawns (skips node's start-up)."""
    root = Path(os.path.realpath(launcher)).parent.parent
    for path in sorted(root.parent.rglob("codex")) if root.name == "codex" else []:
        if path.is_file() and path.stat().st_size > 1_000_000 and os.access(path, os.X_OK):
            return str(path)
    return None


def authdoctor_argv() -> list[str]:
    script = shutil.which("authdoctor")
    return [script] if script else [sys.executable, "-m", "authdoctor"]


def time_once(argv: list[str], env: dict[str, str]) -> float:
    # No timeout: with one, Python polls the child with growing sleeps, which
    # rounds every measurement up to the next ~8 ms step.
    start = time.perf_counter()
    proc = subprocess.Popen(argv, env=env, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    proc.wait()
    return time.perf_counter() - start


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=21)
    parser.add_argument("--codex", help="path to the codex launcher (default: $AUTHDOCTOR_CODEX or PATH)")
    args = parser.parse_args(argv)

    codex = find_codex(args.codex)
    # Not under /tmp: Codex refuses to create helper links there and prints a warning.
    base = Path(tempfile.mkdtemp(prefix="authdoctor-bench-", dir=os.environ.get("AUTHDOCTOR_BENCH_DIR", str(Path.home()))))
    try:
        home = base / "home"
        home.mkdir()
        seed = build_seed_home(home, datetime.now(UTC))
        path = os.pathsep.join([str(Path(sys.executable).parent), "/usr/local/bin", "/usr/bin", "/bin"])
        # The seed user's shell is zsh: its .zshrc exports the token.
        env = {"HOME": str(home), "PATH": path, "LANG": "C.UTF-8", "SHELL": "/bin/zsh", "CODEX_ACCESS_TOKEN": seed.access_token}
        if not shutil.which("authdoctor", path=path):
            env["PYTHONPATH"] = str(REPO / "src")

        commands: dict[str, list[str]] = {"authdoctor check --json": [*authdoctor_argv(), "check", "--json"]}
        if codex:
            commands["codex login status"] = [codex, "login", "status"]
            commands["codex doctor --json"] = [codex, "doctor", "--json"]
            native = native_codex(codex)
            if native:
                commands["codex login status (native binary)"] = [native, "login", "status"]
        else:
            print("codex not found: only authdoctor is timed (set AUTHDOCTOR_CODEX or put codex on PATH)")

        for argv_ in commands.values():  # warm the page cache and .pyc files
            time_once(argv_, env)
        samples: dict[str, list[float]] = {name: [] for name in commands}
        for _ in range(args.runs):
            order = list(commands)
            random.shuffle(order)
            for name in order:
                samples[name].append(time_once(commands[name], env))
    finally:
        shutil.rmtree(base, ignore_errors=True)

    def p90(xs: list[float]) -> float:
        return sorted(xs)[max(0, round(0.9 * len(xs)) - 1)]

    print(f"{args.runs} paired rounds, shuffled order, same home (seed setup)\n")
    print(f"{'command':40} {'median ms':>10} {'p90 ms':>10}")
    medians = {name: statistics.median(xs) for name, xs in samples.items()}
    for name, xs in samples.items():
        print(f"{name:40} {medians[name] * 1000:10.1f} {p90(xs) * 1000:10.1f}")
    ours = medians["authdoctor check --json"]
    print()
    for name, value in medians.items():
        if name.startswith("codex"):
            print(f"ratio authdoctor / {name:32} {ours / value:6.2f}")
    target = medians.get("codex login status")
    if target is not None:
        verdict = "meets" if ours <= target else "MISSES"
        print(f"\n{verdict} the target (authdoctor median <= codex login status median)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
