#!/usr/bin/env python3
"""Time the shell trace against the shell's own start-up on the same files.

What a trace costs depends on whether the static reading was right.  The
shell source (``confirm.ConfirmedShellSource``) first starts the shell once
and compares the exported values it ends with against the static reading;
only a disagreement pays for the line-by-line trace.  So three rows per shell:

- "confirmed": the source on this home, where reading was right (the common case);
- "line trace": ``trace_shell`` alone, the file:line xtrace;
- "confirm+trace": the source on a second home whose ``eval "$(…)"`` generates
  a watched variable no line names: the probe, then the line trace.

A throwaway home gets realistic start-up files (a few hundred lines: a sourced
chain, aliases, functions, PATH loops, conf.d snippets, an ``eval "$(…)"`` and
the seed's stale ``CODEX_ACCESS_TOKEN`` export).  Each round times, in shuffled order, the bare
``SHELL -l -i -c exit`` and these rows (in this process: spawning, reading
and parsing included), so drift in machine load hits all alike.  Prints
median, p90 and minimum wall times and the ratios to the bare start-up.
The target: "confirmed" median ratio <= 1.3.

    python bench/bench_trace.py [--runs 31] [--shells bash,zsh,ksh,dash,fish]

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
from authdoctor.collect.origins import confirm as C  # noqa: E402
from authdoctor.collect.origins import scan_origins  # noqa: E402
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


# As `eval "$(tool env)"` does: no line names the variable, so only running the shell finds it.
GENERATED = "eval \"$(printf 'export OPENAI_%s=%s\\n' API_KEY sk-generated)\"\n"


FISH_CONFIG = (
    "# ~/.config/fish/config.fish\n"
    + "".join(f"set -gx BENCH_VAR_{i} value-{i}\n" for i in range(40))
    + "".join(f"alias a{i} 'ls -la --color=auto {i}'\n" for i in range(20))
    + "for d in $HOME/bin $HOME/.local/bin /opt/tool/bin\n"
    + "    if test -d $d; and not contains $d $PATH\n        set -gx PATH $d $PATH\n    end\nend\n"
    + "if test (uname -s) = Darwin\n    set -gx CLICOLOR 1\nelse\n    set -gx LS_COLORS 'di=34:ln=35'\nend\n"
    + "printf 'set -gx TOOL_HOME %s\\n' $HOME/.tool | source\n"
    + f"set -gx CODEX_ACCESS_TOKEN {TOKEN}\n"
)
FISH_GENERATED = "printf 'set -gx OPENAI_%s %s\\n' API_KEY sk-generated | source\n"
# ksh: a login reads ~/.profile, an interactive one then ~/.kshrc.
PROFILE = """# ~/.profile
export EDITOR=vi
export PAGER=less
. "$HOME/.config/shell/common.sh"
"""
KSHRC = """# ~/.kshrc
HISTSIZE=10000
set -o emacs
. "$HOME/.config/shell/aliases.sh"
PS1='$ '
"""
# Where each shell's home exports the stale token (the sanity check).
EXPECTED = {"fish": ".config/fish/config.fish"}


def build_home(home: Path, extra: str = "") -> int:
    files = {
        ".profile": PROFILE,
        ".kshrc": KSHRC,
        ".config/fish/config.fish": FISH_CONFIG + (FISH_GENERATED if extra else ""),
        ".bash_profile": BASH_PROFILE,
        ".bashrc": BASHRC,
        ".zshenv": ZSHENV,
        ".zprofile": ZPROFILE,
        ".zshrc": ZSHRC,
        ".config/shell/common.sh": COMMON + extra,
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
    parser.add_argument("--shells", default="bash,zsh,ksh,dash,fish")
    args = parser.parse_args(argv)

    shells = {name: path for name in args.shells.split(",") if (path := shutil.which(name))}
    root = hasattr(os, "geteuid") and os.geteuid() == 0
    base = Path(tempfile.mkdtemp(prefix="authdoctor-bench-trace-"))
    names = frozenset(WHERE_VARS)
    try:
        home = base / "home"
        home.mkdir()
        lines = build_home(home)
        other = base / "other"
        other.mkdir()
        build_home(other, GENERATED)
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

        def confirmed(path: str, at: Path) -> Callable[[], None]:
            # As `where` runs it: the static sources have already read the files.
            h = Host(env={**env, "HOME": str(at), "SHELL": path}, home=at, uid=uid)
            static = scan_origins(h, names, execute=False)
            source = C.ConfirmedShellSource(static)

            def go() -> None:
                source.scan(h, names)

            return go

        commands: dict[str, Callable[[], None]] = {}
        for name, path in shells.items():
            commands[f"{name} -lic exit"] = run([path, "-l", "-i", "-c", "exit"], bare_env)
            commands[f"{name} confirmed"] = confirmed(path, home)
            commands[f"{name} confirm+trace"] = confirmed(path, other)
            if name not in T.SHELLS:
                continue  # no line trace (fish traces through trace_fish; see the confirm rows)
            commands[f"{name} line trace"] = traced(path)

        # Sanity: both homes give the export, with nothing to report, and the generated value.
        for name, path in shells.items():
            for at in (home, other):
                h = Host(env={**env, "HOME": str(at), "SHELL": path}, home=at, uid=uid)
                scan = C.ConfirmedShellSource(scan_origins(h, names, execute=False)).scan(h, names)
                won = winner(scan.trails[0].settings, "CODEX_ACCESS_TOKEN")
                assert won is not None and won.path == at / EXPECTED.get(name, ".config/shell/common.sh"), (name, won, scan.notes)
                # dash cannot trace lines: a generated value is the shell's word plus a note.
                assert [n.kind for n in scan.notes] == (["trace-mismatch"] if name == "dash" and at == other else []), scan.notes
                assert (winner(scan.trails[0].settings, "OPENAI_API_KEY") is not None) == (at == other), name

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
        bare = medians[f"{name} -lic exit"]
        ratio = medians[f"{name} confirmed"] / bare
        worst = max(worst, ratio)
        # The minimum is what the work costs when nothing else competes for the CPU.
        best = min(samples[f"{name} confirmed"]) / min(samples[f"{name} -lic exit"])
        both = medians[f"{name} confirm+trace"] / bare
        line = f" line trace alone {medians[f'{name} line trace'] / bare:5.2f}" if f"{name} line trace" in medians else ""
        print(f"ratio to {name} -lic exit: confirmed median {ratio:5.2f} (min {best:5.2f});  confirm+trace {both:5.2f};{line}")
    verdict = "meets" if worst <= 1.3 else "MISSES"
    print(f"\n{verdict} the target when reading was right (confirmed <= 1.3 x the shell's own start-up)")
    print("when reading was wrong, the line trace runs after the probe (the confirm+trace column)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
