"""Which files each POSIX shell reads, in which order, and what the scan makes of them.

Every test builds its own machine under ``tmp_path`` and scans it as a
``--root`` image, so the real ``/etc`` and the real home never play a part
(``test_posix_real_shells.py`` checks the same logic against the real shells).
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from authdoctor.collect.origins import posix as P
from authdoctor.collect.origins import shell as S
from authdoctor.collect.origins.model import EXPORT, SET, UNSET, OriginScan, Setting, Trail, winner
from authdoctor.host import Host
from authdoctor.sandbox import personal_access_token, write_private

X = "CODEX_ACCESS_TOKEN"
NAMES = frozenset({X, "OPENAI_API_KEY", "CODEX_HOME"})
CONTEXTS = {
    "bash login shell",
    "bash interactive shell",
    "bash login+interactive shell",
    "zsh login shell",
    "zsh interactive shell",
    "zsh login+interactive shell",
    "sh login shell",
    "sh interactive shell",
    "sh login+interactive shell",
    "ksh login shell",
    "ksh interactive shell",
    "ksh login+interactive shell",
}


class Box:
    """A machine image: ``root/etc`` and ``root/home/u``."""

    def __init__(self, tmp_path: Path, **env: str) -> None:
        self.root = tmp_path / "root"
        self.home = self.root / "home" / "u"
        self.home.mkdir(parents=True)
        (self.root / "etc").mkdir()
        self.env = {"HOME": "/home/u", **env}

    def write(self, where: str, content: str | bytes) -> Path:
        path = self.root / where.lstrip("/") if where.startswith("/") else self.home / where
        return write_private(path, content, 0o644)

    def host(self) -> Host:
        return Host(env=dict(self.env), home=self.home, root=self.root, platform="linux")

    def scan(self, names: frozenset[str] = NAMES, host: Host | None = None) -> OriginScan:
        return P.PosixShellSource().scan(host or self.host(), names)


def trail(scan: OriginScan, context: str) -> Trail:
    found = [t for t in scan.trails if t.context == context]
    assert len(found) == 1, [t.context for t in scan.trails]
    return found[0]


def won(scan: OriginScan, context: str, var: str = X) -> str | None:
    w = winner(trail(scan, context).settings, var)
    if w is None:
        return None
    assert w.value is not None
    return w.value.reveal()


def settings(scan: OriginScan, context: str, var: str = X) -> list[Setting]:
    return [s for s in trail(scan, context).settings if s.var == var]


# --- the source itself ----------------------------------------------------------------------------


def test_source_protocol_and_contexts(tmp_path: Path) -> None:
    box = Box(tmp_path)
    source = P.PosixShellSource()
    assert source.name == P.SOURCE_NAME == "posix shells"
    result = box.scan()
    assert result.source == "posix shells"
    assert {t.context for t in result.trails} == CONTEXTS
    assert result.notes == ()
    assert all(t.settings == () for t in result.trails)


def test_bash_env_adds_a_context(tmp_path: Path) -> None:
    box = Box(tmp_path, BASH_ENV="$HOME/.benv")
    box.write(".benv", f"export {X}=benv\n")
    box.write(".profile", f"export {X}=profile\n")
    result = box.scan()
    assert won(result, "bash non-interactive (BASH_ENV)") == "benv"
    # A non-interactive login shell reads BASH_ENV after the profile; an interactive one never.
    assert won(result, "bash login shell") == "benv"
    assert won(result, "bash login+interactive shell") == "profile"


def test_windows_has_no_posix_shells(tmp_path: Path) -> None:
    box = Box(tmp_path)
    box.write(".profile", f"export {X}=x\n")
    host = box.host()._replace(platform="win32")
    assert box.scan(host=host) == OriginScan("posix shells")


# --- start-up orders ------------------------------------------------------------------------------


def test_bash_login_reads_the_first_existing_profile_only(tmp_path: Path) -> None:
    box = Box(tmp_path)
    box.write("/etc/profile", "PATH=/bin\n")
    box.write(".bash_login", f"export {X}=login\n")
    box.write(".profile", f"export {X}=profile\n")
    result = box.scan()
    assert won(result, "bash login+interactive shell") == "login"
    assert [p.name for p in trail(result, "bash login shell").files] == ["profile", ".bash_login"]
    assert won(result, "sh login shell") == "profile"
    assert won(result, "bash interactive shell") is None


def test_bash_interactive_reads_bash_bashrc_then_bashrc(tmp_path: Path) -> None:
    box = Box(tmp_path)
    box.write("/etc/bash.bashrc", f"export {X}=system\n")
    box.write(".bashrc", f'export OPENAI_API_KEY=k\n[ -n "$PS1" ] || return\nexport {X}=user\n')
    result = box.scan()
    got = settings(result, "bash interactive shell")
    assert [(s.path, s.line) for s in got] == [(box.root / "etc/bash.bashrc", 1), (box.home / ".bashrc", 3)]
    assert got[0].blocker == "system-file" and not got[0].editable
    assert got[1].editable and got[1].blocker is None
    assert won(result, "bash interactive shell") == "user"


def test_debian_skel_profile_reads_bashrc_in_bash_only(tmp_path: Path) -> None:
    box = Box(tmp_path)
    box.write(".profile", 'if [ -n "$BASH_VERSION" ]; then\n  if [ -f "$HOME/.bashrc" ]; then\n    . "$HOME/.bashrc"\n  fi\nfi\n')
    box.write(".bashrc", f"case $- in\n  *i*) ;;\n  *) return;;\nesac\nexport {X}=rc\n")
    result = box.scan()
    assert won(result, "bash login+interactive shell") == "rc"
    (s,) = settings(result, "bash login+interactive shell")
    assert s.chain == (box.home / ".profile",)
    assert not s.conditional  # every test on the way was decided
    assert won(result, "bash login shell") is None  # .bashrc returns when not interactive
    assert won(result, "sh login+interactive shell") is None
    assert won(result, "ksh login+interactive shell") is None


def test_zsh_order_and_unset_in_zshrc(tmp_path: Path) -> None:
    box = Box(tmp_path)
    (box.root / "etc/zsh").mkdir()
    box.write("/etc/zsh/zshenv", "")
    box.write(".zshenv", f"export {X}=env\n")
    box.write(".zprofile", f"export {X}=profile\n")
    box.write(".zshrc", f"unset {X}\n")
    box.write(".zlogin", "")
    result = box.scan()
    names = [p.name for p in trail(result, "zsh login+interactive shell").files]
    assert names == ["zshenv", ".zshenv", ".zprofile", ".zshrc", ".zlogin"]
    assert [s.action for s in settings(result, "zsh login+interactive shell")] == [EXPORT, EXPORT, UNSET]
    assert won(result, "zsh login+interactive shell") is None
    assert won(result, "zsh login shell") == "profile"
    assert won(result, "zsh interactive shell") is None


def test_zsh_without_etc_zsh_uses_etc(tmp_path: Path) -> None:
    box = Box(tmp_path)
    box.write("/etc/zshenv", f"export {X}=etc\n")
    result = box.scan()
    assert won(result, "zsh interactive shell") == "etc"


def test_zdotdir_set_in_zshenv_relocates_later_files(tmp_path: Path) -> None:
    box = Box(tmp_path)
    box.write(".zshenv", 'export ZDOTDIR="${XDG_CONFIG_HOME:-$HOME/.config}/zsh"\n')
    box.write(".config/zsh/.zshrc", f"export {X}=relocated\n")
    box.write(".config/zsh/.zshenv", f"export {X}=never-read\n")
    box.write(".zshrc", f"export {X}=home\n")
    result = box.scan()
    assert won(result, "zsh interactive shell") == "relocated"
    assert [s.path for s in settings(result, "zsh interactive shell")] == [box.home / ".config/zsh/.zshrc"]


def test_zdotdir_from_the_environment(tmp_path: Path) -> None:
    box = Box(tmp_path, ZDOTDIR="/home/u/zd")
    box.write("zd/.zshenv", f"export {X}=zd\n")
    box.write(".zshenv", f"export {X}=home\n")
    assert won(box.scan(), "zsh login shell") == "zd"


def test_no_rcs_skips_the_rest(tmp_path: Path) -> None:
    box = Box(tmp_path)
    box.write(".zshenv", "setopt NO_RCS\n")
    box.write(".zshrc", f"export {X}=x\n")
    assert won(box.scan(), "zsh interactive shell") is None


def test_no_global_rcs_skips_etc_files_only(tmp_path: Path) -> None:
    box = Box(tmp_path)
    box.write("/etc/zshrc", f"export {X}=etc\n")
    box.write(".zshenv", "unsetopt GLOBAL_RCS\n")
    box.write(".zshrc", "export OPENAI_API_KEY=k\n")
    result = box.scan()
    assert won(result, "zsh interactive shell") is None
    assert won(result, "zsh interactive shell", "OPENAI_API_KEY") == "k"


def test_env_for_dash_from_profile_and_from_environment(tmp_path: Path) -> None:
    box = Box(tmp_path)
    box.write(".profile", "ENV=$HOME/.shrc\n")
    box.write(".shrc", f"export {X}=shrc\n")
    result = box.scan()
    assert won(result, "sh login+interactive shell") == "shrc"
    assert won(result, "sh login shell") is None
    assert won(result, "sh interactive shell") is None  # ENV is not in this environment
    box.env["ENV"] = "/home/u/.shrc"
    assert won(box.scan(), "sh interactive shell") == "shrc"


def test_ksh_reads_etc_kshrc_and_defaults_env_to_kshrc(tmp_path: Path) -> None:
    box = Box(tmp_path)
    box.write("/etc/ksh.kshrc", f"export {X}=etc\n")
    box.write(".kshrc", "export OPENAI_API_KEY=k\n")
    result = box.scan()
    assert won(result, "ksh interactive shell") == "etc"
    assert won(result, "ksh interactive shell", "OPENAI_API_KEY") == "k"
    assert won(result, "ksh login shell") is None
    assert won(result, "sh interactive shell", "OPENAI_API_KEY") is None
    box.env["ENV"] = ""  # set but empty: no rc file at all
    assert won(box.scan(), "ksh interactive shell", "OPENAI_API_KEY") is None


def test_same_file_in_several_contexts_appears_in_each(tmp_path: Path) -> None:
    box = Box(tmp_path)
    box.write(".profile", f"export {X}=p\n")
    result = box.scan()
    having = {t.context for t in result.trails if any(s.var == X for s in t.settings)}
    assert having == {
        "bash login shell",
        "bash login+interactive shell",
        "sh login shell",
        "sh login+interactive shell",
        "ksh login shell",
        "ksh login+interactive shell",
    }
    fams = {s.family for t in result.trails for s in t.settings}
    assert fams == {"bash", "posix"}


# --- values and state -------------------------------------------------------------------------------


def test_assign_then_export_records_both_states(tmp_path: Path) -> None:
    box = Box(tmp_path)
    tok = personal_access_token()
    box.write(".zshrc", f"{X}={tok}\nexport {X}\n")
    got = settings(box.scan(), "zsh interactive shell")
    assert [(s.action, s.exported, s.line) for s in got] == [(SET, False, 1), (EXPORT, True, 2)]
    assert all(s.value is not None and s.value.reveal() == tok for s in got)
    assert got[1].text == f"export {X}"


def test_assigned_but_never_exported_does_not_win(tmp_path: Path) -> None:
    box = Box(tmp_path)
    box.write(".zshrc", f"{X}=local-only\n")
    result = box.scan()
    assert [s.exported for s in settings(result, "zsh interactive shell")] == [False]
    assert winner(trail(result, "zsh interactive shell").settings, X) is None


def test_export_attribute_survives_a_later_plain_assignment(tmp_path: Path) -> None:
    box = Box(tmp_path)
    box.write(".zshrc", f"export {X}\n{X}=later\n")
    got = settings(box.scan(), "zsh interactive shell")
    # ``export X`` before any value changes nothing a child sees: not an origin.
    assert [(s.action, s.line, s.value.reveal() if s.value else None) for s in got] == [(EXPORT, 2, "later")]


def test_set_a_around_a_sourced_file_exports_its_assignments(tmp_path: Path) -> None:
    box = Box(tmp_path)
    box.write(".profile", "set -a\n. ~/.secrets.env\nset +a\nAFTER=1\n")
    box.write(".secrets.env", f"{X}=from-env-file\n")
    box.write(".zshrc", f"setopt allexport\nsource ~/.secrets.env\nunsetopt allexport\n{X}=plain\n")
    result = box.scan()
    (s,) = settings(result, "sh login shell")
    assert (s.action, s.exported, s.path, s.chain) == (EXPORT, True, box.home / ".secrets.env", (box.home / ".profile",))
    # Assigned after ``set +a`` but already exported: it stays exported.
    assert won(result, "zsh interactive shell") == "plain"


def test_home_based_values_are_expanded(tmp_path: Path) -> None:
    box = Box(tmp_path)
    box.write(".profile", 'export CODEX_HOME="$HOME/.codex-work"\nexport OPENAI_API_KEY=$(cat ~/.k)\n')
    result = box.scan()
    assert won(result, "sh login shell", "CODEX_HOME") == "/home/u/.codex-work"
    (key,) = settings(result, "sh login shell", "OPENAI_API_KEY")
    assert key.value is None and key.exported


def test_variables_from_this_terminal_are_never_borrowed_for_watched_names(tmp_path: Path) -> None:
    box = Box(tmp_path, OPENAI_API_KEY="from-terminal", DOTFILES="/home/u/dots")
    box.write(".profile", 'export CODEX_ACCESS_TOKEN="$OPENAI_API_KEY"\n. "$DOTFILES/extra.sh"\n')
    box.write("dots/extra.sh", "export CODEX_HOME=/x\n")
    result = box.scan()
    (s,) = settings(result, "sh login shell")
    assert s.value is None
    assert won(result, "sh login shell", "CODEX_HOME") == "/x"


# --- source chains ------------------------------------------------------------------------------------


def test_relative_and_quoted_source_paths(tmp_path: Path) -> None:
    box = Box(tmp_path)
    box.write(".profile", '. .sh/one\nsource "${HOME}/.sh/two"\nD=$HOME/.sh\n. "$D/three"\n')
    for i, name in enumerate(("one", "two", "three")):
        box.write(f".sh/{name}", f"export {X}={i}\n")
    got = settings(box.scan(), "bash login shell")
    assert [(s.path.name, s.value.reveal() if s.value else None) for s in got] == [("one", "0"), ("two", "1"), ("three", "2")]


def test_etc_profile_d_loop(tmp_path: Path) -> None:
    box = Box(tmp_path)
    box.write(
        "/etc/profile",
        "if [ -d /etc/profile.d ]; then\n  for i in /etc/profile.d/*.sh; do\n    if [ -r $i ]; then\n      . $i\n    fi\n  done\nfi\n",
    )
    box.write("/etc/profile.d/a.sh", f"export {X}=a\n")
    box.write("/etc/profile.d/b.sh", f"export {X}=b\n")
    box.write("/etc/profile.d/c.csh", f"setenv {X} c\n")
    result = box.scan()
    got = settings(result, "sh login shell")
    assert [s.path for s in got] == [box.root / "etc/profile.d/a.sh", box.root / "etc/profile.d/b.sh"]
    assert all(s.conditional and s.blocker == "system-file" and s.chain == (box.root / "etc/profile",) for s in got)
    assert won(result, "sh login shell") == "b"


def test_symlinked_dotfile_is_reported_where_the_shell_opened_it(tmp_path: Path) -> None:
    box = Box(tmp_path)
    target = box.write("dotfiles/zshrc", f"export {X}=linked\n")
    (box.home / ".zshrc").symlink_to(target)
    host = box.host()
    (s,) = settings(box.scan(host=host), "zsh interactive shell")
    assert s.path == box.home / ".zshrc"
    assert host.realpath(s.path) == target.resolve()  # what a fixer edits
    assert s.editable


def test_source_cycle_is_noted_and_stopped(tmp_path: Path) -> None:
    box = Box(tmp_path)
    box.write(".bashrc", f". ~/.a\nexport {X}=rc\n")
    box.write(".a", ". ~/.b\n")
    box.write(".b", "export OPENAI_API_KEY=b\n. ~/.bashrc\n")
    result = box.scan()
    assert won(result, "bash interactive shell") == "rc"
    cycles = [n for n in result.notes if n.kind == "cycle"]
    assert len(cycles) == 1 and cycles[0].path == box.home / ".bashrc"
    assert str(box.home / ".b") in cycles[0].message


def test_cycle_through_a_symlink(tmp_path: Path) -> None:
    box = Box(tmp_path)
    box.write(".bashrc", f"export {X}=1\n. ~/.alias-of-bashrc\n")
    (box.home / ".alias-of-bashrc").symlink_to(box.home / ".bashrc")
    result = box.scan()
    assert [n.kind for n in result.notes] == ["cycle"]


def test_missing_sourced_file_is_noted_only_when_it_is_really_sourced(tmp_path: Path) -> None:
    box = Box(tmp_path)
    box.write(".zshrc", f"[ -f ~/.maybe ] && . ~/.maybe\nsource ~/.gone\nexport {X}=after\n")
    result = box.scan()
    assert [(n.kind, n.path) for n in result.notes] == [("missing", box.home / ".gone")]
    assert won(result, "zsh interactive shell") == "after"


def test_missing_sourced_file_ends_dash_and_the_ksh_profile(tmp_path: Path) -> None:
    box = Box(tmp_path)
    box.write(".profile", f"export {X}=before\n. ~/.gone\nexport {X}=after\n")
    result = box.scan()
    assert won(result, "bash login shell") == "after"
    assert won(result, "ksh login shell") == "before"
    assert won(result, "ksh login+interactive shell") == "after"
    assert won(result, "sh login+interactive shell") == "before"
    assert any(n.kind == "exit" and n.message.startswith("sh login shell:") for n in result.notes)


class _Unreadable(Host):
    """A Host that cannot read one file, as an unprivileged user could not (tests run as root)."""

    def read_bytes(self, path: Path, limit: int = 16 * 1024 * 1024) -> bytes:
        if path.name == ".secrets":
            raise PermissionError(13, "Permission denied", str(path))
        return Host.read_bytes(self, path, limit)


def test_unreadable_file_is_noted(tmp_path: Path) -> None:
    box = Box(tmp_path)
    box.write(".zshrc", ". ~/.secrets\nexport OPENAI_API_KEY=k\n")
    box.write(".secrets", f"export {X}=hidden\n")
    base = box.host()
    host = _Unreadable(base.env, base.home, base.root, base.platform)
    result = box.scan(host=host)
    assert won(result, "zsh interactive shell") is None
    assert won(result, "zsh interactive shell", "OPENAI_API_KEY") == "k"
    (note,) = result.notes
    assert (note.kind, note.path) == ("unreadable", box.home / ".secrets")
    assert "permission denied" in note.message


def test_unreadable_startup_file_is_noted(tmp_path: Path) -> None:
    box = Box(tmp_path)
    box.write(".secrets", "")
    base = box.host()
    box.env["ENV"] = "/home/u/.secrets"
    host = _Unreadable(dict(box.env), base.home, base.root, base.platform)
    result = box.scan(host=host)
    assert {(n.kind, n.path) for n in result.notes} == {("unreadable", box.home / ".secrets")}


def test_huge_file_is_not_read(tmp_path: Path) -> None:
    box = Box(tmp_path)
    big = box.home / ".zshrc"
    with big.open("wb") as fh:
        fh.write(f"export {X}=x\n".encode())
        fh.truncate(16 * 1024 * 1024 + 1)
    result = box.scan()
    assert [(n.kind, n.path) for n in result.notes] == [("too-large", big)]
    assert won(result, "zsh interactive shell") is None


def test_a_directory_where_a_file_should_be(tmp_path: Path) -> None:
    box = Box(tmp_path)
    (box.home / ".zshrc").mkdir()
    result = box.scan()
    assert [(n.kind, n.message) for n in result.notes] == [("unreadable", "it is a directory")]


def test_crlf_source_path_is_missing_like_in_the_shells(tmp_path: Path) -> None:
    box = Box(tmp_path)
    box.write(".profile", b". ~/.x\r\n")
    box.write(".x", f"export {X}=x\n")
    result = box.scan()
    assert won(result, "sh login shell") is None
    (note, *_) = result.notes
    assert note.kind == "missing" and "carriage return" in note.message


# --- editability and conditions -----------------------------------------------------------------------


def test_foreign_blocks_and_the_files_they_pull_in(tmp_path: Path) -> None:
    box = Box(tmp_path)
    box.write(".profile", f'. "$HOME/.cargo/env"\n# >>> conda initialize >>>\nexport {X}=conda\n# <<< conda initialize <<<\n')
    box.write(".cargo/env", "export CODEX_HOME=/rust\n")
    result = box.scan()
    home, tok = settings(result, "sh login shell", "CODEX_HOME"), settings(result, "sh login shell")
    assert (home[0].blocker, home[0].editable) == ("foreign-block:rustup", False)
    assert (tok[0].blocker, tok[0].editable) == ("foreign-block:conda", False)


def test_eval_and_multi_line_are_not_editable(tmp_path: Path) -> None:
    box = Box(tmp_path)
    box.write(".zshrc", f'eval "$(secret-tool env {X})"\neval "$(pyenv init -)"  # {X}\nexport OPENAI_API_KEY=\\\n  k\n')
    result = box.scan()
    (ev,) = settings(result, "zsh interactive shell")
    assert (ev.blocker, ev.editable, ev.value, ev.action) == ("eval", False, None, EXPORT)
    (ml,) = settings(result, "zsh interactive shell", "OPENAI_API_KEY")
    assert (ml.blocker, ml.editable) == ("multi-line", False)


def test_undecidable_conditions_are_marked_and_count(tmp_path: Path) -> None:
    box = Box(tmp_path)
    box.write(".zshrc", f"if command -v codex >/dev/null; then\n  export {X}=maybe\nfi\n")
    result = box.scan()
    (s,) = settings(result, "zsh interactive shell")
    assert s.conditional
    assert won(result, "zsh interactive shell") == "maybe"


def test_decided_conditions(tmp_path: Path) -> None:
    box = Box(tmp_path)
    box.write(".profile", f'[ -n "$ZSH_VERSION" ] && export {X}=zsh\n[ "${{BASH-}}" ] && export {X}=bash\n')
    result = box.scan()
    assert won(result, "bash login shell") == "bash"
    assert won(result, "sh login shell") is None
    (s,) = settings(result, "bash login shell")
    assert not s.conditional


def test_function_bodies_run_only_when_called(tmp_path: Path) -> None:
    box = Box(tmp_path)
    box.write(".zshrc", f"load() {{\n  export {X}=loaded\n}}\nhelper() {{ export OPENAI_API_KEY=never; }}\nload\n")
    result = box.scan()
    (s,) = settings(result, "zsh interactive shell")
    assert (s.line, s.conditional) == (2, False)
    assert settings(result, "zsh interactive shell", "OPENAI_API_KEY") == []


def test_exit_ends_the_trail(tmp_path: Path) -> None:
    box = Box(tmp_path)
    box.write(".zshenv", "export OPENAI_API_KEY=k\nexit\n")
    box.write(".zshrc", f"export {X}=x\n")
    result = box.scan()
    assert won(result, "zsh interactive shell") is None
    assert any(n.kind == "exit" for n in result.notes)


def test_bom_is_noted(tmp_path: Path) -> None:
    box = Box(tmp_path)
    box.write(".profile", b"\xef\xbb\xbf" + f"export {X}=x\n".encode())
    result = box.scan()
    assert won(result, "sh login shell") is None
    assert [n.kind for n in result.notes] == ["parse-error"]


def test_text_and_notes_never_hold_a_value(tmp_path: Path) -> None:
    box = Box(tmp_path)
    tok = personal_access_token()
    box.write(".zshrc", f"export A={tok} {X}='{tok}'\n{X}=${{(s.:.){tok}}}\n. ~/.gone\n")
    result = box.scan()
    assert tok not in repr(result)
    assert all(tok not in s.text for t in result.trails for s in t.settings)


# --- the pre-pass ----------------------------------------------------------------------------------------


def spy_parse(monkeypatch: pytest.MonkeyPatch) -> list[bytes]:
    """Record every file the scan parses."""
    seen: list[bytes] = []
    real = S.parse

    def spy(data: bytes, names: frozenset[str]) -> S.Parsed:
        seen.append(data)
        return real(data, names)

    monkeypatch.setattr(S, "parse", spy)
    return seen


def test_nothing_to_find_needs_no_parse(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    box = Box(tmp_path)
    box.write(".zshrc", "export PATH=$HOME/bin:$PATH\n. ~/.aliases\n")
    box.write(".aliases", "alias ll='ls -l'\n")
    calls = spy_parse(monkeypatch)
    result = box.scan()
    assert calls == []
    assert [p.name for p in trail(result, "zsh interactive shell").files] == [".zshrc", ".aliases"]
    box.write(".aliases", f"export {X}=x\n")
    assert won(box.scan(), "zsh interactive shell") == "x"
    assert len(calls) == 2  # .zshrc (it sources a file of interest) and .aliases


def test_only_the_chain_that_matters_is_parsed(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    box = Box(tmp_path)
    box.write(".zshrc", ". ~/.a\n. ~/.b\n")
    box.write(".a", "alias x=y\n")
    box.write(".b", ". ~/.c\n")
    box.write(".c", f"export {X}=deep\n")
    parsed = spy_parse(monkeypatch)
    result = box.scan()
    assert won(result, "zsh interactive shell") == "deep"
    (s,) = settings(result, "zsh interactive shell")
    assert s.chain == (box.home / ".zshrc", box.home / ".b")
    assert sorted(parsed) == sorted([b". ~/.a\n. ~/.b\n", b". ~/.c\n", f"export {X}=deep\n".encode()])


@pytest.mark.skipif(not hasattr(os, "symlink"), reason="needs symlinks")
def test_root_maps_absolute_source_paths(tmp_path: Path) -> None:
    box = Box(tmp_path)
    box.write("/etc/profile", ". /etc/site.sh\n")
    box.write("/etc/site.sh", f"export {X}=site\n")
    (s,) = settings(box.scan(), "sh login shell")
    assert s.path == box.root / "etc/site.sh"
    assert s.chain == (box.root / "etc/profile",)
