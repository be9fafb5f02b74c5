"""direnv: the nearest .envrc (read as bash), its direnv directives, and whether it is allowed."""

from __future__ import annotations

import os
from pathlib import Path

from authdoctor._hash import sha256_hex
from authdoctor.collect.origins import direnv as D
from authdoctor.collect.origins.model import EXPORT, SET, UNSET, OriginScan, Setting, winner
from authdoctor.host import Host
from authdoctor.sandbox import api_key, personal_access_token, write_private

NAME = "CODEX_ACCESS_TOKEN"
OTHER = "OPENAI_API_KEY"
NAMES = frozenset({NAME, OTHER, "CODEX_HOME"})


class World:
    def __init__(self, tmp_path: Path) -> None:
        self.home = tmp_path / "home"
        self.home.mkdir()
        self.project = self.home / "src" / "project"
        self.project.mkdir(parents=True)

    def host(self) -> Host:
        return Host(env={"HOME": str(self.home)}, home=self.home, platform="linux")

    def write(self, path: Path, text: str) -> Path:
        return write_private(path, text, 0o644)

    def allow(self, envrc: Path) -> None:
        digest = sha256_hex(str(envrc).encode() + b"\n" + envrc.read_bytes())
        write_private(self.home / ".local/share/direnv/allow" / digest, str(envrc) + "\n", 0o644)

    def scan(self, cwd: Path | None = None) -> OriginScan:
        return D.DirenvSource(cwd=cwd or self.project).scan(self.host(), NAMES)


def settings_of(result: OriginScan) -> tuple[Setting, ...]:
    [trail] = result.trails
    return trail.settings


def test_nearest_envrc_only_and_context(tmp_path: Path) -> None:
    w = World(tmp_path)
    w.write(w.home / "src/.envrc", f"export {OTHER}=outer\n")
    envrc = w.write(w.project / ".envrc", f"export {NAME}=inner\n")
    w.allow(envrc)
    sub = w.project / "pkg" / "deep"
    sub.mkdir(parents=True)
    result = w.scan(sub)
    [trail] = result.trails
    assert trail.context == f"shells in {w.project} (direnv)"
    assert trail.files == (envrc,)
    [s] = trail.settings
    assert (s.var, s.action, s.exported, s.path, s.line, s.family, s.conditional) == (NAME, EXPORT, True, envrc, 1, "direnv", False)
    assert s.text == f"export {NAME}=<redacted>" and s.editable
    assert result.notes == ()


def test_not_allowed_is_conditional_with_a_note(tmp_path: Path) -> None:
    w = World(tmp_path)
    envrc = w.write(w.project / ".envrc", f"export {NAME}=x\n")
    w.allow(envrc)
    envrc.write_text(f"export {NAME}=changed\n")  # edited after `direnv allow`: the grant no longer matches
    result = w.scan()
    [s] = settings_of(result)
    assert s.conditional
    assert [n.kind for n in result.notes] == ["not-allowed"]


def test_shell_semantics(tmp_path: Path) -> None:
    w = World(tmp_path)
    envrc = w.write(
        w.project / ".envrc",
        "# export CODEX_HOME=/comment\n"
        "cat <<EOF\nexport CODEX_HOME=/heredoc\nEOF\n"
        f"{OTHER}=only-assigned\n"
        f"{NAME}=a\n"
        f"export {NAME}\n"
        "set -a\n"
        "CODEX_HOME=/auto\n"
        "set +a\n",
    )
    w.allow(envrc)
    settings = settings_of(w.scan())
    other = winner(settings, OTHER)
    assert other is None  # assigned, never exported: direnv does not export it
    assert [s.action for s in settings if s.var == OTHER] == [SET]
    tok = winner(settings, NAME)
    assert tok is not None and tok.line == 7 and tok.action == EXPORT
    assert tok.value is not None and tok.value.reveal() == "a"  # `X=a; export X` exports a
    home = winner(settings, "CODEX_HOME")
    assert home is not None and home.value is not None and home.value.reveal() == "/auto"


def test_unset_and_source(tmp_path: Path) -> None:
    w = World(tmp_path)
    secrets = w.write(w.project / "secrets.sh", f"export {NAME}=from-secrets\n")
    envrc = w.write(w.project / ".envrc", f"export {OTHER}=x\nunset {OTHER}\nsource ./secrets.sh\n")
    w.allow(envrc)
    settings = settings_of(w.scan())
    assert winner(settings, OTHER) is None and [s.action for s in settings if s.var == OTHER] == [EXPORT, UNSET]
    tok = winner(settings, NAME)
    assert tok is not None and tok.path == secrets and tok.chain == (envrc,)


def test_dotenv_directives(tmp_path: Path) -> None:
    w = World(tmp_path)
    token = personal_access_token()
    dot = w.write(w.project / ".env", f"# comment\n{NAME}={token}\n")
    local = w.write(w.project / ".env.local", f"{OTHER}=local\n")
    envrc = w.write(w.project / ".envrc", "dotenv\ndotenv_if_exists .env.local\ndotenv_if_exists .env.missing\ndotenv nope.env\n")
    w.allow(envrc)
    result = w.scan()
    settings = settings_of(result)
    tok = winner(settings, NAME)
    assert tok is not None and (tok.path, tok.line, tok.family, tok.chain) == (dot, 2, "dotenv", (envrc,))
    assert tok.value is not None and tok.value.reveal() == token
    assert f"loaded by `dotenv` at {envrc}:1" in tok.text and token not in tok.text
    assert dot.read_bytes()[tok.span[0] : tok.span[1]] == f"{NAME}={token}".encode()
    other = winner(settings, OTHER)
    assert other is not None and other.path == local
    assert [(n.kind, n.path.name) for n in result.notes] == [("missing", "nope.env")]
    assert result.trails[0].files == (envrc, dot, local)


def test_source_env_and_source_up(tmp_path: Path) -> None:
    w = World(tmp_path)
    parent = w.write(w.home / "src/.envrc", f"export {NAME}=parent\n")
    shared = w.write(w.home / "shared/.envrc", f"export {OTHER}=shared\n")
    envrc = w.write(w.project / ".envrc", "source_up\nsource_env ../../shared\nsource_env_if_exists nothing-here\n")
    w.allow(envrc)
    result = w.scan()
    settings = settings_of(result)
    tok, oth = winner(settings, NAME), winner(settings, OTHER)
    assert tok is not None and tok.path == parent and tok.chain == (envrc,)
    assert oth is not None and oth.path == shared
    assert result.notes == ()


def test_cycle(tmp_path: Path) -> None:
    w = World(tmp_path)
    envrc = w.write(w.project / ".envrc", "source_env .\n")
    w.allow(envrc)
    assert [n.kind for n in w.scan().notes] == ["cycle"]


def test_no_envrc_windows_and_images(tmp_path: Path) -> None:
    w = World(tmp_path)
    assert w.scan() == OriginScan("direnv")
    w.write(w.project / ".envrc", f"export {NAME}=x\n")
    win = Host(env={}, home=w.home, platform="win32")
    assert D.DirenvSource(cwd=w.project).scan(win, NAMES) == OriginScan("direnv")
    image = Host(env={}, home=w.home, root=tmp_path, platform="linux")
    assert D.DirenvSource(cwd=w.project).scan(image, NAMES) == OriginScan("direnv")


def test_crlf_and_redaction(tmp_path: Path) -> None:
    w = World(tmp_path)
    key = api_key()
    envrc = w.write(w.project / ".envrc", f"export {OTHER}={key}\r\n")
    w.allow(envrc)
    result = w.scan()
    [s] = settings_of(result)
    assert s.value is not None and s.value.reveal() in (key, key + "\r")  # bash keeps the \r, as shell.py reports
    for x in settings_of(result):
        assert key not in x.text
    for n in result.notes:
        assert key not in n.message


def test_envrc_outside_home_is_editable_unless_owned_by_someone_else(tmp_path: Path) -> None:
    w = World(tmp_path)
    project = tmp_path / "work" / "repo"  # a project outside the home is still the person's own
    envrc = w.write(project / ".envrc", f"export {NAME}=x\n")
    w.allow(envrc)
    [s] = settings_of(D.DirenvSource(cwd=project).scan(w.host()._replace(uid=os.getuid()), NAMES))
    assert s.editable and s.blocker is None
    [s] = settings_of(D.DirenvSource(cwd=project).scan(w.host()._replace(uid=os.getuid() + 1), NAMES))
    assert not s.editable and s.blocker == "other-owner"


# --- load_dotenv: a .env can be the folder's file ------------------------------------------------


def _config(w: World, text: str, name: str = "direnv.toml") -> None:
    w.write(w.home / ".config/direnv" / name, text)


def test_load_dotenv_makes_a_dotenv_the_folders_file(tmp_path: Path) -> None:
    w = World(tmp_path)
    _config(w, "[global]\nload_dotenv = true\n")
    tok = personal_access_token()
    env = w.write(w.project / ".env", f"# project\n{NAME}={tok}\n")
    w.allow(env)
    result = w.scan()
    [trail] = result.trails
    assert trail.context == f"shells in {w.project} (direnv)"
    [s] = trail.settings
    assert (s.var, s.path, s.line, s.family, s.conditional) == (NAME, env, 2, "dotenv", False)
    assert s.value is not None and s.value.reveal() == tok
    assert tok not in s.text and "load_dotenv" in s.text
    assert result.notes == ()


def test_without_load_dotenv_a_dotenv_alone_is_not_loaded(tmp_path: Path) -> None:
    w = World(tmp_path)
    w.write(w.project / ".env", f"{NAME}=x\n")
    assert w.scan() == OriginScan("direnv")
    _config(w, "[global]\nload_dotenv = false\n")
    assert w.scan() == OriginScan("direnv")


def test_envrc_first_in_the_same_folder_but_a_nearer_dotenv_wins(tmp_path: Path) -> None:
    w = World(tmp_path)
    _config(w, "[global]\nload_dotenv = true\n", name="config.toml")
    envrc = w.write(w.project / ".envrc", f"export {NAME}=from-envrc\n")
    w.write(w.project / ".env", f"{NAME}=from-dotenv\n")
    w.allow(envrc)
    [s] = settings_of(w.scan())
    assert s.path == envrc
    sub = w.project / "sub"
    sub.mkdir()
    near = w.write(sub / ".env", f"{OTHER}=near\n")
    result = w.scan(sub)
    [s] = settings_of(result)
    assert (s.var, s.path, s.conditional) == (OTHER, near, True)  # not allowed yet
    assert [n.kind for n in result.notes] == ["not-allowed"]


def test_direnv_config_folder_and_a_broken_config(tmp_path: Path) -> None:
    w = World(tmp_path)
    elsewhere = tmp_path / "cfg"
    w.write(elsewhere / "direnv.toml", "[global]\nload_dotenv = true\n")
    env = w.write(w.project / ".env", f"{NAME}=x\n")
    w.allow(env)
    host = w.host()._replace(env={"HOME": str(w.home), "DIRENV_CONFIG": str(elsewhere)})
    [trail] = D.DirenvSource(cwd=w.project).scan(host, NAMES).trails
    assert [s.path for s in trail.settings] == [env]
    _config(w, "[global\nload_dotenv = true\n")
    result = w.scan()
    assert result.trails == ()
    [note] = result.notes
    assert note.kind == "parse-error" and "direnv.toml" in note.message
