"""The static scan of POSIX shell start-up files agrees with the real shells.

Each case writes start-up files into a temporary HOME, runs real shells on it
(``bash -lic 'printenv X'``, ``zsh -ic …``, ``dash -lc …``, ``ksh -lic …``) with
an environment built from scratch, stdin closed and a timeout, and checks that
the winner of the static scan for the matching context has exactly the value
the shell exports -- or that both say it is not exported.  The system files
(``/etc/profile``, ``/etc/bash.bashrc``, ``/etc/zsh/*``) are real and read by
both sides, as on the person's machine.

Locally a missing shell skips its checks; on CI (``CI`` set) it fails.
"""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Callable, Mapping
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import NamedTuple

import pytest

from authdoctor.collect.origins.model import OriginScan, Setting, winner
from authdoctor.collect.origins.posix import scan_posix
from authdoctor.host import Host
from authdoctor.sandbox import api_key, personal_access_token, write_private
from tests.conftest import IN_CI

pytestmark = pytest.mark.shell

VAR = "CODEX_ACCESS_TOKEN"
NAMES = frozenset({VAR, "OPENAI_API_KEY", "CODEX_HOME", "OPENAI_BASE_URL"})
START, END = "@@authdoctor-start@@", "@@authdoctor-end@@"


class Run(NamedTuple):
    """One way to start a shell and the scan context that models it."""

    shell: str  # program name
    flags: str  # -lic, -ic, -lc, -c
    context: str


BASH_LI = Run("bash", "-lic", "bash login+interactive shell")
BASH_I = Run("bash", "-ic", "bash interactive shell")
BASH_L = Run("bash", "-lc", "bash login shell")
BASH_C = Run("bash", "-c", "bash non-interactive (BASH_ENV)")
ZSH_LI = Run("zsh", "-lic", "zsh login+interactive shell")
ZSH_I = Run("zsh", "-ic", "zsh interactive shell")
ZSH_L = Run("zsh", "-lc", "zsh login shell")
DASH_L = Run("dash", "-lc", "sh login shell")
DASH_LI = Run("dash", "-lic", "sh login+interactive shell")
DASH_I = Run("dash", "-ic", "sh interactive shell")
KSH_L = Run("ksh", "-lc", "ksh login shell")
KSH_LI = Run("ksh", "-lic", "ksh login+interactive shell")
KSH_I = Run("ksh", "-ic", "ksh interactive shell")
ALL_RUNS = (BASH_LI, BASH_I, BASH_L, ZSH_LI, ZSH_I, ZSH_L, DASH_L, DASH_LI, DASH_I, KSH_L, KSH_LI, KSH_I)


def shell_env(home: Path, shell: str, extra: Mapping[str, str]) -> dict[str, str]:
    path = shutil.which(shell) or shell
    return {"HOME": str(home), "PATH": "/usr/local/bin:/usr/bin:/bin", "TERM": "dumb", "LANG": "C.UTF-8", "SHELL": path, **extra}


def real_values(home: Path, run: Run, names: tuple[str, ...], extra: Mapping[str, str]) -> dict[str, str | None]:
    """What the real shell exports for each name (None: not exported)."""
    program = shutil.which(run.shell)
    if program is None:
        if IN_CI:
            pytest.fail(f"{run.shell} is required on CI")
        pytest.skip(f"{run.shell} is not installed")
    # Markers keep the value apart from whatever start-up files print; printenv
    # shows exactly what a child process gets and fails when it is not exported.
    script = "; ".join(f"printf '{START}'; printenv {var}; printf '{END}%s' $?" for var in names)
    proc = subprocess.run(
        [program, run.flags, script],
        env=shell_env(home, run.shell, extra),
        cwd=home,
        stdin=subprocess.DEVNULL,
        capture_output=True,
        timeout=20,
        check=False,
    )
    out = proc.stdout.decode("utf-8", "surrogateescape")
    if START not in out:
        # The start-up files ended the shell (dash exits when ``.`` cannot open
        # a file): no command, so no process, gets anything.
        assert proc.returncode != 0, f"{run.shell} {run.flags} ran nothing: {proc.stderr[-300:]!r}"
        return dict.fromkeys(names)
    values: dict[str, str | None] = {}
    for var, chunk in zip(names, out.split(START)[1:], strict=True):
        body, _, rc = chunk.rpartition(END)
        values[var] = (body[:-1] if body.endswith("\n") else body) if rc.startswith("0") else None
    return values


def real_value(home: Path, run: Run, var: str, extra: Mapping[str, str]) -> str | None:
    return real_values(home, run, (var,), extra)[var]


def static_value(scan: OriginScan, context: str, var: str) -> tuple[str | None, Setting | None]:
    trails = {t.context: t for t in scan.trails}
    assert context in trails, f"no trail {context!r}; have {sorted(trails)}"
    won = winner(trails[context].settings, var)
    if won is None:
        return None, None
    assert won.value is not None, f"the winner {won.where} has no static value"
    return won.value.reveal(), won


class Case(NamedTuple):
    name: str
    files: Callable[[dict[str, str]], dict[str, str | bytes]]  # tokens -> {relative path: content}
    runs: tuple[Run, ...] = ALL_RUNS
    names: tuple[str, ...] = (VAR,)
    env: Callable[[Path], dict[str, str]] = lambda home: {}


# Debian's /etc/skel files, trimmed to what matters: .profile sources .bashrc in
# bash only; .bashrc returns at once when the shell is not interactive.
SKEL_PROFILE = """\
# ~/.profile: executed by the command interpreter for login shells.
if [ -n "$BASH_VERSION" ]; then
    # include .bashrc if it exists
    if [ -f "$HOME/.bashrc" ]; then
\t. "$HOME/.bashrc"
    fi
fi
if [ -d "$HOME/bin" ] ; then
    PATH="$HOME/bin:$PATH"
fi
"""
SKEL_BASHRC_HEAD = """\
# If not running interactively, don't do anything
case $- in
    *i*) ;;
      *) return;;
esac
HISTCONTROL=ignoreboth
"""

CASES: list[Case] = [
    Case("seed-zshrc", lambda t: {".zshrc": f"# seed\nexport CODEX_ACCESS_TOKEN={t['a']}\nalias ll='ls -l'\n"}),
    Case(
        "zshenv-then-zshrc-unsets",
        lambda t: {".zshenv": f"export CODEX_ACCESS_TOKEN={t['a']}\n", ".zshrc": "unset CODEX_ACCESS_TOKEN\n"},
    ),
    Case("bashrc-only", lambda t: {".bashrc": f"export CODEX_ACCESS_TOKEN={t['a']}\n"}),
    Case(
        "debian-skel",
        lambda t: {".profile": SKEL_PROFILE, ".bashrc": SKEL_BASHRC_HEAD + f"export CODEX_ACCESS_TOKEN={t['a']}\n"},
    ),
    Case("multi-assign", lambda t: {".profile": f"export A=1 CODEX_ACCESS_TOKEN={t['a']} B=2\n", ".zshrc": "export A=1 B=2\n"}),
    Case(
        "assign-then-export",
        lambda t: {
            ".profile": f"CODEX_ACCESS_TOKEN={t['a']}; export CODEX_ACCESS_TOKEN\n",
            ".zshrc": f'CODEX_ACCESS_TOKEN="{t["b"]}"\nexport CODEX_ACCESS_TOKEN\n',
        },
    ),
    Case("assigned-never-exported", lambda t: {".profile": f"CODEX_ACCESS_TOKEN={t['a']}\n", ".zshrc": f"CODEX_ACCESS_TOKEN={t['a']}\n"}),
    Case(
        "set-a-sourced-secrets",
        lambda t: {
            ".profile": "set -a\n. ~/.config/secrets.env\nset +a\n",
            ".zshrc": "set -o allexport\nsource ~/.config/secrets.env\nset +o allexport\n",
            ".config/secrets.env": f"CODEX_ACCESS_TOKEN={t['a']}\nOTHER=1\n",
        },
    ),
    Case(
        "source-chain-two-deep",
        lambda t: {
            ".profile": ". ~/.config/sh/one.sh\n",
            ".bashrc": 'source "$HOME/.config/sh/one.sh"\n',
            ".zshrc": "source ${ZDOTDIR:-$HOME}/.config/sh/one.sh\n",
            ".config/sh/one.sh": ". ~/.config/sh/two.sh\n",
            ".config/sh/two.sh": f"export CODEX_ACCESS_TOKEN='{t['a']}'\n",
        },
    ),
    Case(
        "zdotdir",
        lambda t: {
            ".zshenv": "ZDOTDIR=$HOME/.config/zsh\n",
            ".config/zsh/.zshrc": f"export CODEX_ACCESS_TOKEN={t['a']}\n",
            ".zshrc": f"export CODEX_ACCESS_TOKEN={t['b']}\n",
            ".config/zsh/.zshenv": f"export CODEX_ACCESS_TOKEN={t['c']}\n",
        },
        runs=(ZSH_LI, ZSH_I, ZSH_L),
    ),
    Case(
        "later-override",
        lambda t: {
            ".profile": f"export CODEX_ACCESS_TOKEN={t['a']}\nexport CODEX_ACCESS_TOKEN={t['b']}\n",
            ".zprofile": f"export CODEX_ACCESS_TOKEN={t['a']}\n",
            ".zshrc": f"export CODEX_ACCESS_TOKEN={t['b']}\n",
            ".zlogin": f"export CODEX_ACCESS_TOKEN={t['c']}\n",
        },
    ),
    Case(
        "conditional-true-branch",
        lambda t: {
            ".profile": f'if [ -d "$HOME" ]; then\n  export CODEX_ACCESS_TOKEN={t["a"]}\nelse\n  export CODEX_ACCESS_TOKEN={t["b"]}\nfi\n',
            ".zshrc": f"[ -f ~/.zshrc ] && export CODEX_ACCESS_TOKEN={t['c']}\n[ -f ~/.nope ] && export CODEX_ACCESS_TOKEN={t['b']}\n",
            ".bashrc": f"[[ $- == *i* ]] && export CODEX_ACCESS_TOKEN={t['a']}\n",
        },
    ),
    Case(
        "interactive-guards",
        lambda t: {
            ".zshenv": (
                f"[[ -o interactive ]] || export CODEX_ACCESS_TOKEN={t['a']}\n"
                f'if [ -n "$PS1" ]; then export CODEX_ACCESS_TOKEN={t["b"]}; fi\n'
            ),
            ".profile": f"case $- in *i*) export CODEX_ACCESS_TOKEN={t['c']};; *) export CODEX_ACCESS_TOKEN={t['a']};; esac\n",
        },
    ),
    Case(
        "traps-heredoc-comment-echo-alias",
        lambda t: {
            f: (
                f"# export CODEX_ACCESS_TOKEN={t['a']}\n"
                f"cat >/dev/null <<'EOF'\nexport CODEX_ACCESS_TOKEN={t['a']}\nEOF\n"
                f'echo "export CODEX_ACCESS_TOKEN={t["a"]}" >/dev/null\n'
                f"alias CODEX_ACCESS_TOKEN='echo {t['a']}'\n"
                f"CODEX_ACCESS_TOKEN={t['a']} true\n"
                f"( export CODEX_ACCESS_TOKEN={t['a']} )\n"
                f"greet() {{ export CODEX_ACCESS_TOKEN={t['a']}; }}\n"
            )
            for f in (".profile", ".bashrc", ".zshrc", ".zshenv")
        },
    ),
    Case(
        "crlf",
        lambda t: {
            ".profile": f"export CODEX_ACCESS_TOKEN={t['a']}\r\nexport OTHER=1\r\n".encode(),
            ".zshrc": f'export CODEX_ACCESS_TOKEN="{t["b"]}"\r\n'.encode(),
        },
    ),
    Case(
        "bom-and-latin1",
        lambda t: {
            ".profile": b"\xef\xbb\xbf" + f"export CODEX_ACCESS_TOKEN={t['a']}\nexport OPENAI_API_KEY={t['k']}\n".encode(),
            ".zshrc": b"# caf\xe9 cr\xe8me\n" + f"export CODEX_ACCESS_TOKEN={t['b']}\n".encode() + b"echo '\xff' >/dev/null\n",
        },
        names=(VAR, "OPENAI_API_KEY"),
    ),
    Case(
        "declare-typeset",
        lambda t: {
            ".bashrc": f"declare -x CODEX_ACCESS_TOKEN={t['a']}\n",
            ".profile": f"readonly R=1\ntypeset -x CODEX_ACCESS_TOKEN={t['b']}\n",
            ".zshrc": f"typeset -gx CODEX_ACCESS_TOKEN={t['c']}\n",
        },
        runs=(BASH_LI, BASH_I, ZSH_LI, ZSH_I, KSH_LI, KSH_L),
    ),
    Case(
        "unset-after-export",
        lambda t: {
            ".profile": f"export CODEX_ACCESS_TOKEN={t['a']}\nunset -v CODEX_ACCESS_TOKEN\n",
            ".zshrc": f"export CODEX_ACCESS_TOKEN={t['a']}\nunset CODEX_ACCESS_TOKEN\nCODEX_ACCESS_TOKEN={t['b']}\n",
        },
    ),
    Case(
        "export-then-assign-stays-exported",
        lambda t: {
            ".profile": f"export CODEX_ACCESS_TOKEN={t['a']}\nCODEX_ACCESS_TOKEN={t['b']}\n",
            ".zshrc": f"export CODEX_ACCESS_TOKEN\nCODEX_ACCESS_TOKEN={t['c']}\n",
        },
    ),
    Case(
        "symlinked-zshrc",
        lambda t: {
            "dotfiles/zshrc": f"export CODEX_ACCESS_TOKEN={t['a']}\n",
            "dotfiles/profile": f"export CODEX_ACCESS_TOKEN={t['b']}\n",
            ".zshrc": "->dotfiles/zshrc",
            ".profile": "->dotfiles/profile",
        },
    ),
    Case(
        "guarded-source-cycle",
        lambda t: {
            ".profile": ". ~/.a.sh\n",
            ".zshrc": ". ~/.a.sh\n",
            ".a.sh": f'[ -n "$A_DONE" ] && return\nA_DONE=1\nexport CODEX_ACCESS_TOKEN={t["a"]}\n. ~/.b.sh\n',
            ".b.sh": f". ~/.a.sh\nexport CODEX_ACCESS_TOKEN={t['b']}\n",
        },
    ),
    Case(
        "missing-sourced-file",
        lambda t: {
            ".profile": f"export CODEX_ACCESS_TOKEN={t['a']}\n. ~/.nope\nexport CODEX_ACCESS_TOKEN={t['b']}\n",
            ".zshrc": f"source ~/.nope\nexport CODEX_ACCESS_TOKEN={t['c']}\n",
        },
    ),
    Case(
        "source-without-a-slash",
        lambda t: {
            ".profile": f"export CODEX_ACCESS_TOKEN={t['c']}\n. .sec-a\n",
            ".zshenv": "source .sec-a\n",
            ".zshrc": ". .sec-b\n",
            ".sec-a": f"export CODEX_ACCESS_TOKEN={t['a']}\n",
            ".sec-b": f"export CODEX_ACCESS_TOKEN={t['b']}\n",
        },
    ),
    Case(
        "bash-profile-precedence",
        lambda t: {
            ".bash_profile": f"export CODEX_ACCESS_TOKEN={t['a']}\n",
            ".bash_login": f"export CODEX_ACCESS_TOKEN={t['b']}\n",
            ".profile": f"export CODEX_ACCESS_TOKEN={t['c']}\n",
        },
    ),
    Case(
        "bash-env",
        lambda t: {".benv": f"export CODEX_ACCESS_TOKEN={t['a']}\n", ".profile": f"export CODEX_ACCESS_TOKEN={t['b']}\n"},
        runs=(BASH_C, BASH_L, BASH_LI),
        env=lambda home: {"BASH_ENV": str(home / ".benv")},
    ),
    Case(
        "dash-env-from-profile",
        lambda t: {".profile": "ENV=$HOME/.shrc\n", ".shrc": f"export CODEX_ACCESS_TOKEN={t['a']}\n"},
        runs=(DASH_L, DASH_LI, DASH_I, KSH_L, KSH_LI, KSH_I),
    ),
    Case(
        "env-inherited",
        lambda t: {".shrc": f"export CODEX_ACCESS_TOKEN={t['a']}\n", ".kshrc": f"export CODEX_ACCESS_TOKEN={t['b']}\n"},
        runs=(DASH_I, DASH_LI, KSH_I, KSH_LI),
        env=lambda home: {"ENV": "$HOME/.shrc"},
    ),
    Case(
        "ksh-default-kshrc",
        lambda t: {".kshrc": f"export CODEX_ACCESS_TOKEN={t['a']}\n", ".profile": f"export CODEX_ACCESS_TOKEN={t['b']}\n"},
        runs=(KSH_I, KSH_LI, KSH_L, DASH_LI),
    ),
    Case(
        "eval-literal-and-function-call",
        lambda t: {
            ".profile": f"eval 'export CODEX_ACCESS_TOKEN={t['a']}'\n",
            ".zshrc": f"load_tokens() {{\n  export CODEX_ACCESS_TOKEN={t['b']}\n}}\nload_tokens\n",
        },
    ),
    Case(
        "loop-over-profile-d",
        lambda t: {
            ".profile": 'for f in "$HOME"/.profile.d/*.sh; do\n  [ -r "$f" ] && . "$f"\ndone\nunset f\n',
            ".zshrc": "for f in ~/.profile.d/*.sh; do source $f; done\n",
            ".profile.d/10-a.sh": f"export CODEX_ACCESS_TOKEN={t['a']}\n",
            ".profile.d/20-b.sh": f"export CODEX_ACCESS_TOKEN={t['b']}\n",
            ".profile.d/30-c.txt": f"export CODEX_ACCESS_TOKEN={t['c']}\n",
        },
    ),
    Case(
        "zsh-only-syntax-elsewhere",
        lambda t: {
            ".zshrc": (
                "typeset -U path\n"
                "parts=(${(s.:.)PATH})\n"
                f"export CODEX_ACCESS_TOKEN={t['a']}\n"
                "for f (~/.nothing/*(N)) source $f\n"
                f"export OPENAI_API_KEY={t['k']}\n"
            ),
        },
        runs=(ZSH_LI, ZSH_I),
        names=(VAR, "OPENAI_API_KEY"),
    ),
    Case(
        "zsh-heavy-zshrc",
        lambda t: {
            ".zshrc": (
                "typeset -A key\n"
                'key=(\n  Home "${terminfo[khome]}"\n  End "${terminfo[kend]}"\n)\n'
                "if (( ${+terminfo[smkx]} )) && (( ${+terminfo[rmkx]} )); then\n"
                "  function zle-line-init () { emulate -L zsh; printf '%s' ${terminfo[smkx]} }\n"
                "else\n"
                "  for i in {s,r}mkx; do (( ${+terminfo[$i]} )) || missing+=($i); done\n"
                "fi\n"
                "(( ${+aliases[run-help]} )) && unalias run-help\n"
                'if (( ${${(@f)"$(</etc/os-release)"}[(I)ID*=*ubuntu]} )) &&\n'
                '   [[ "$skip" != "1" ]]; then\n'
                "  autoload -U compinit\n"
                "fi\n"
                "zstyle ':completion:*' list-colors ${(s.:.)LS_COLORS}\n"
                'precmd() { print -Pn "\\e]0;%~\\a" }\n'
                "for f (~/.zsh.d/*.zsh(N)) source $f\n"
                f"export CODEX_ACCESS_TOKEN={t['a']}\n"
                "typeset -U path\n"
                f'export OPENAI_API_KEY="{t["k"]}"\n'
            ),
            ".zsh.d/a.zsh": f"export CODEX_HOME=$HOME/.codex-{t['c']}\n",
        },
        runs=(ZSH_LI, ZSH_I),
        names=(VAR, "OPENAI_API_KEY"),
    ),
    Case(
        "multi-line-continuation",
        lambda t: {
            ".profile": f"export CODEX_ACCESS_TOKEN=\\\n{t['a']}\n",
            ".zshrc": f"export A=1 \\\n  CODEX_ACCESS_TOKEN='{t['b']}' \\\n  B=2\n",
        },
    ),
    Case(
        "home-based-value",
        lambda t: {".profile": "export CODEX_HOME=$HOME/.codex-work\n", ".zshrc": 'export CODEX_HOME="${HOME}/.codex-z"\n'},
        names=("CODEX_HOME",),
    ),
    Case(
        "everyday-forms",
        lambda t: {
            ".profile": (
                f"{{ export CODEX_ACCESS_TOKEN={t['a']}; }}\n"
                "test -r ~/.p1 && . ~/.p1\n"
                "if [ -f ~/.p2 ]; then . ~/.p2; fi\n"
                f"readonly OPENAI_API_KEY={t['k']}; export OPENAI_API_KEY\n"
            ),
            ".p1": f"export CODEX_ACCESS_TOKEN={t['b']}\nunset CODEX_ACCESS_TOKEN\n",
            ".p2": f"set -o allexport\nCODEX_ACCESS_TOKEN={t['c']}\nset +o allexport\n",
            ".zshrc": (
                "[[ -f ~/.z1 ]] && source ~/.z1\n"
                "[[ ! -f ~/.nope ]] || source ~/.nope\n"
                f"export CODEX_ACCESS_TOKEN={t['a']}; unset CODEX_ACCESS_TOKEN; export CODEX_ACCESS_TOKEN={t['b']}\n"
            ),
            ".z1": f"typeset -x OPENAI_API_KEY={t['k']}\n",
        },
        names=(VAR, "OPENAI_API_KEY"),
    ),
    Case(
        # tree-sitter-bash #228: a line of bare assignments, then a newline, is read as the prefix of the
        # next line's command; the shells end the command at the newline.
        "assignments-line-then-declaration",
        lambda t: {
            ".profile": f"HISTSIZE=1 HISTFILESIZE=2\nexport CODEX_ACCESS_TOKEN={t['a']}\n",
            ".bashrc": f"CODEX_ACCESS_TOKEN={t['b']} A=1\ndeclare -x CODEX_ACCESS_TOKEN\n",
            ".zshrc": (
                f"A=1 B=2\ntypeset -x CODEX_ACCESS_TOKEN={t['c']}\nA=1 B=2\nreadonly OPENAI_API_KEY={t['k']}\nexport OPENAI_API_KEY\n"
            ),
            ".kshrc": (
                f"export OPENAI_API_KEY={t['k']}\nA=1 OPENAI_API_KEY=2\nunset OPENAI_API_KEY\nA=1 B=2\nexport CODEX_ACCESS_TOKEN={t['b']}\n"
            ),
        },
        names=(VAR, "OPENAI_API_KEY"),
    ),
    Case(
        "assignments-line-then-other-command",
        lambda t: {
            # Plain shell variables, not the prefix environment of the next command: not exported ...
            ".profile": f"CODEX_ACCESS_TOKEN={t['a']} A=1\necho hi >/dev/null\n",
            ".zshenv": f"CODEX_ACCESS_TOKEN={t['b']} A=1\necho hi >/dev/null\n",
            # ... until something exports them.
            ".kshrc": "export CODEX_ACCESS_TOKEN\n",
            ".zshrc": f"A=1 CODEX_ACCESS_TOKEN={t['c']}\ntrue && export CODEX_ACCESS_TOKEN\n",
        },
    ),
    Case(
        # tree-sitter-bash reads `<<EOF;` as a heredoc that ends at a line `EOF;`; the shells end the
        # delimiter at the `;`, run the rest of the line and go on after the line `EOF`.
        "heredoc-then-more-on-its-line",
        lambda t: {
            ".profile": (
                f"cat >/dev/null <<EOF; export CODEX_ACCESS_TOKEN={t['a']}\nexport CODEX_ACCESS_TOKEN={t['b']}\nEOF\n"
                f"export OPENAI_API_KEY={t['k']}\n"
            ),
            ".bashrc": f"cat >/dev/null <<'EOF'; export CODEX_ACCESS_TOKEN={t['c']}\nexport CODEX_ACCESS_TOKEN={t['a']}\nEOF\n",
            ".zshrc": (
                f"cat <<EOF >/dev/null; export CODEX_ACCESS_TOKEN={t['b']}\nexport CODEX_ACCESS_TOKEN={t['a']}\nEOF\n"
                f"cat >/dev/null <<EOF && export OPENAI_API_KEY={t['k']}\nEOF\n"
            ),
            ".kshrc": (
                f"cat >/dev/null <<-E1; cat >/dev/null <<E2; export CODEX_ACCESS_TOKEN={t['c']}\n"
                f"\texport CODEX_ACCESS_TOKEN={t['a']}\n\tE1\nexport OPENAI_API_KEY={t['k']}\nE2\n"
            ),
        },
        names=(VAR, "OPENAI_API_KEY"),
    ),
    Case(
        "append-and-quotes",
        lambda t: {
            ".profile": f"CODEX_ACCESS_TOKEN='{t['a'][:10]}'\nCODEX_ACCESS_TOKEN+=\"{t['a'][10:]}\"\nexport CODEX_ACCESS_TOKEN\n",
            ".zshrc": f"export CODEX_ACCESS_TOKEN=$'{t['b']}'\n",
        },
        runs=(BASH_LI, BASH_L, ZSH_LI, ZSH_I, KSH_LI),
    ),
]


def tokens() -> dict[str, str]:
    return {"a": personal_access_token(), "b": personal_access_token(), "c": personal_access_token(), "k": api_key()}


def build_home(home: Path, files: dict[str, str | bytes]) -> None:
    for rel, content in files.items():
        target = home / rel
        if isinstance(content, str) and content.startswith("->"):
            target.parent.mkdir(parents=True, exist_ok=True)
            target.symlink_to(home / content[2:])
        else:
            write_private(target, content, 0o644)


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_static_winner_matches_real_shell(tmp_path: Path, case: Case) -> None:
    home = tmp_path / "home"
    home.mkdir()
    toks = tokens()
    build_home(home, case.files(toks))
    extra = case.env(home)
    # The Host sees what a fresh shell would inherit: the same variables.
    host = Host(env=shell_env(home, "bash", extra), home=home, platform="linux")
    scan = scan_posix(host, NAMES)
    runs = [r for r in case.runs if shutil.which(r.shell) or IN_CI]
    if not runs:
        pytest.skip("no shell installed")
    with ThreadPoolExecutor(max_workers=4) as pool:
        real = dict(zip(runs, pool.map(lambda r: real_values(home, r, case.names, extra), runs), strict=True))
    problems = []
    for run in runs:
        exits = any(n.kind == "exit" and n.message.startswith(run.context + ":") for n in scan.notes)
        for var in case.names:
            static, won = static_value(scan, run.context, var)
            if real[run][var] is None and exits:
                continue  # the scan says this shell exits during start-up: no process gets anything
            if static != real[run][var]:
                where = won.where if won else "-"
                problems.append(f"{run.shell} {run.flags} {var}: real {_show(real[run][var], toks)} static {_show(static, toks)} ({where})")
    assert not problems, "\n".join(problems)


def _show(value: str | None, toks: dict[str, str]) -> str:
    """Name the token instead of printing it."""
    if value is None:
        return "unset"
    for key, tok in toks.items():
        value = value.replace(tok, f"<{key}>")
    return repr(value)


def test_crlf_value_keeps_the_carriage_return_like_the_shells(tmp_path: Path) -> None:
    home = tmp_path / "home"
    home.mkdir()
    tok = personal_access_token()
    build_home(home, {".profile": f"export CODEX_ACCESS_TOKEN={tok}\r\n".encode()})
    scan = scan_posix(Host(env=shell_env(home, "bash", {}), home=home, platform="linux"), NAMES)
    value, _ = static_value(scan, "bash login+interactive shell", VAR)
    assert value == tok + "\r"
    assert real_value(home, BASH_LI, VAR, {}) == tok + "\r"
