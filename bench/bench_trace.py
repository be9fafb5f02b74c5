#!/usr/bin/env python3
"""Time the shell trace against the shell's own start-up on the same files.

A throwaway home gets realistic start-up files (a few hundred lines: a sourced
chain, aliases, functions, PATH loops, conf.d snippets, an ``eval "$(…)"`` and
the seed's stale ``CODEX_ACCESS_TOKEN`` export).  Each round times, in shuffled
order, a bare ``bash -lic exit`` and ``zsh -lic exit`` and the trace of the same
shell (``trace_shell``, login+interactive, in this process: spawning, reading
and parsing included), so drift in machine load hits all alike.  A third row
per shell, "xtrace only", runs the same traced start-up with the trace going
to /dev/null: the shell's own cost of tracing, which no reader can go below.
Prints median, p90 and minimum wall times and the traced/bare ratios (the
minimum is what the work costs when nothing else competes for the CPU).  The
target: median ratio <= 1.3.

    python bench/bench_trace.py [--runs 31] [--shells bash,zsh]

As root, bash is traced through the start-up emulation (bash ignores PS4 from
the environment for root); the bare run is the real ``bash -lic exit``.
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
from collections.abc import Callable
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "src"))

from authdoctor.codex.knowledge import WHERE_VARS  # noqa: E402
from authdoctor.collect.origins import trace as T  # noqa: E402
from authdoctor.collect.origins.model import winner  # noqa: E402
from authdoctor.host import Host  # noqa: E402

TOKEN = "at-STALE-" + "x" * 40

EXPORTS = "".join(f'export BENCH_VAR_{i}="value-{i}"\n' for i in range(40))
ALIASES = "".join(f"alias a{i}='ls -la --color=auto {i}'\n" for i in range(60))
FUNCTIONS = "".join(
    f"""fn_{i}() {{
    local arg="$1"
    if [ -n "$arg" ]; then
        printf '%s\\n' "fn_{i}: $arg"
    else
        return 1
    fi
}}
"""
    for i in range(25)
)
COMMON = f"""# shared by bash and zsh
{EXPORTS}
for d in "$HOME/bin" "$HOME/.local/bin" "$HOME/.cargo/bin" "$HOME/go/bin" /opt/tool/bin /usr/local/sbin; do
    case ":$PATH:" in
        *":$d:"*) ;;
        *) [ -d "$d" ] && PATH="$d:$PATH" ;;
    esac
done
export PATH
if [ "$(uname -s)" = Darwin ]; then
    export CLICOLOR=1
else
    export LS_COLORS='di=34:ln=35:so=32:pi=33:ex=31'
fi
for f in "$HOME"/.config/shell/conf.d/*.sh; do
    [ -r "$f" ] && . "$f"
done
unset f d
eval "$(printf 'export TOOL_HOME=%s\\n' "$HOME/.tool")"
export CODEX_ACCESS_TOKEN={TOKEN}
"""
CONF_D = {f"{i:02d}-snippet.sh": "".join(f"export SNIPPET_{i}_{j}=on\n" for j in range(8)) + f"alias s{i}='echo {i}'\n" for i in range(6)}
BASHRC = """# ~/.bashrc
case $- in *i*) ;; *) return ;; esac
HISTCONTROL=ignoreboth
HISTSIZE=10000
HISTFILESIZE=20000
shopt -s histappend checkwinsize globstar 2>/dev/null
PS1='\\u@\\h:\\w\\$ '
. "$HOME/.config/shell/common.sh"
. "$HOME/.config/shell/aliases.sh"
. "$HOME/.config/shell/functions.sh"
if [ -f /etc/bash_completion ] && false; then
    . /etc/bash_completion
fi
"""
BASH_PROFILE = """# ~/.bash_profile
export EDITOR=vi
export PAGER=less
[ -r "$HOME/.bashrc" ] && . "$HOME/.bashrc"
"""
ZSHENV = "export EDITOR=vi\nexport PAGER=less\n"
ZPROFILE = 'typeset -U path\npath=("$HOME/.local/bin" $path)\n'
ZSHRC = """# ~/.zshrc
HISTFILE="$HOME/.zsh_history"
HISTSIZE=10000
SAVEHIST=10000
setopt append_history share_history hist_ignore_dups auto_cd extended_glob no_beep
bindkey -e
zstyle ':completion:*' menu select
zstyle ':completion:*' matcher-list 'm:{a-z}={A-Z}'
autoload -Uz colors && colors
PROMPT='%n@%m:%~%# '
. "$HOME/.config/shell/common.sh"
. "$HOME/.config/shell/aliases.sh"
. "$HOME/.config/shell/functions.sh"
precmd() { print -Pn "\\e]0;%~\\a" }
"""


def build_home(home: Path) -> int:
    files = {
        ".bash_profile": BASH_PROFILE,
        ".bashrc": BASHRC,
        ".zshenv": ZSHENV,
        ".zprofile": ZPROFILE,
        ".zshrc": ZSHRC,
        ".config/shell/common.sh": COMMON,
        ".config/shell/aliases.sh": ALIASES,
        ".config/shell/functions.sh": FUNCTIONS,
        **{f".config/shell/conf.d/{name}": text for name, text in CONF_D.items()},
    }
    for rel, text in files.items():
        path = home / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    (home / "bin").mkdir()
    return sum(text.count("\n") for text in files.values())


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=31)
    parser.add_argument("--shells", default="bash,zsh")
    args = parser.parse_args(argv)

    shells = {name: path for name in args.shells.split(",") if (path := shutil.which(name))}
    root = hasattr(os, "geteuid") and os.geteuid() == 0
    base = Path(tempfile.mkdtemp(prefix="authdoctor-bench-trace-"))
    names = frozenset(WHERE_VARS)
    try:
        home = base / "home"
        home.mkdir()
        lines = build_home(home)
        env = {"HOME": str(home), "PATH": "/usr/local/bin:/usr/bin:/bin", "LANG": "C.UTF-8"}
        uid = os.getuid() if hasattr(os, "getuid") else None
        host = Host(env=env, home=home, uid=uid)
        bare_env = {**env, "TERM": "dumb"}

        def run(argv: list[str], run_env: dict[str, str]) -> Callable[[], None]:
            def go() -> None:
                # No timeout: with one, Popen.wait polls with growing sleeps and
                # rounds every run up to the next poll (about 8 and 16 ms).
                subprocess.run(
                    argv,
                    env=run_env,
                    cwd=home,
                    stdin=subprocess.DEVNULL,
                    stdout=subprocess.DEVNULL,
                    stderr=subprocess.DEVNULL,
                    check=False,
                )

            return go

        def traced(path: str) -> Callable[[], None]:
            def go() -> None:
                T.trace_shell(host, path, T.LOGIN_INTERACTIVE, names)

            return go

        commands: dict[str, Callable[[], None]] = {}
        for name, path in shells.items():
            commands[f"{name} -lic exit"] = run([path, "-lic", "exit"], bare_env)
            commands[f"{name} traced"] = traced(path)
            # The floor: the same traced start-up writing its trace to /dev/null, nothing read.
            plan = T._plan(name, path, T.LOGIN_INTERACTIVE, names, T.trace_env(host, name, path), "0123abcd", name == "bash" and root)
            commands[f"{name} xtrace only"] = run(
                [a.replace("{fd}", "2") for a in plan.argv], {k: v.replace("{fd}", "2") for k, v in plan.env.items()}
            )

        # Sanity: the trace finds the export, with nothing to report.
        for name, path in shells.items():
            scan = T.trace_shell(host, path, T.LOGIN_INTERACTIVE, names)
            won = winner(scan.trails[0].settings, "CODEX_ACCESS_TOKEN")
            assert won is not None and won.path == home / ".config/shell/common.sh", (name, won, scan.notes)
            assert scan.notes == (), scan.notes

        for fn in commands.values():  # warm the page cache
            fn()
        samples: dict[str, list[float]] = {name: [] for name in commands}
        for _ in range(args.runs):
            order = list(commands)
            random.shuffle(order)
            for name in order:
                t0 = time.perf_counter()
                commands[name]()
                samples[name].append(time.perf_counter() - t0)
    finally:
        shutil.rmtree(base, ignore_errors=True)

    def p90(xs: list[float]) -> float:
        return sorted(xs)[max(0, round(0.9 * len(xs)) - 1)]

    print(f"{args.runs} paired rounds, shuffled order, one home with {lines} lines of start-up files")
    if root and "bash" in shells:
        print("running as root: bash is traced through the start-up emulation")
    print(f"\n{'command':26} {'median ms':>10} {'p90 ms':>10} {'min ms':>10}")
    medians = {name: statistics.median(xs) for name, xs in samples.items()}
    for name, xs in samples.items():
        print(f"{name:26} {medians[name] * 1000:10.1f} {p90(xs) * 1000:10.1f} {min(xs) * 1000:10.1f}")
    print()
    worst = 0.0
    for name in shells:
        ratio = medians[f"{name} traced"] / medians[f"{name} -lic exit"]
        # The minimum is what the work costs when nothing else competes for the CPU.
        best = min(samples[f"{name} traced"]) / min(samples[f"{name} -lic exit"])
        worst = max(worst, ratio)
        floor = medians[f"{name} xtrace only"] / medians[f"{name} -lic exit"]
        print(f"ratio {name} traced / {name} -lic exit: median {ratio:5.2f}   min {best:5.2f}   (xtrace alone: {floor:5.2f})")
    verdict = "meets" if worst <= 1.3 else "MISSES"
    print(f"\n{verdict} the target (traced <= 1.3 x the shell's own start-up)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
