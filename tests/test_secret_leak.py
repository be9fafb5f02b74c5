"""Plant secrets in every source, run every command in every format, and find none of them.

Besides the planted values, every output is searched for anything shaped like
a credential (a JWT, an ``sk-`` key, an ``at-`` token, a refresh token), so the
demo's own made-up tokens are covered too.
"""

from __future__ import annotations

import json
import re
import secrets
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from authdoctor import cli
from authdoctor.sandbox import agent_identity_jwt, api_key, chatgpt_auth, personal_access_token, write_auth, write_private
from authdoctor.secret import Secret
from tests.conftest import clean_env

SHAPES = [
    re.compile(r"eyJ[A-Za-z0-9_-]{8,}\.eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}"),  # a JWT
    re.compile(r"sk-[A-Za-z0-9_-]{20,}"),
    re.compile(r"\bat-[A-Za-z0-9_-]{20,}"),
    re.compile(r"\brt_[A-Za-z0-9_-]{20,}"),
]


def _secret_word() -> str:
    return "S3CRET" + secrets.token_hex(12)


class Planted:
    def __init__(self, tmp: Path) -> None:
        now = datetime.now(UTC)
        self.home = tmp / "home"
        self.codex = self.home / ".codex"
        self.codex.mkdir(parents=True)
        auth = chatgpt_auth(now, api_key=api_key(), access_expires_in=-timedelta(days=30), last_refresh_ago=timedelta(days=40))
        write_auth(self.codex, auth, mode=0o644)
        self.url_password = _secret_word()
        self.bearer = _secret_word()
        write_private(
            self.codex / "config.toml",
            f'openai_base_url = "https://user:{self.url_password}@api.openai.com/v1?key={self.url_password}"\n'
            f'forced_chatgpt_workspace_id = "ws-other"\n'
            f'[model_providers.relay]\nbase_url = "https://relay.example"\nexperimental_bearer_token = "{self.bearer}"\n',
        )
        self.dotenv_key = api_key()
        self.dotenv_token = personal_access_token()
        write_private(
            self.codex / ".env",
            f"OPENAI_API_KEY={self.dotenv_key}\nCODEX_ACCESS_TOKEN={self.dotenv_token}\n"
            f"OPENAI_BASE_URL=https://u:{self.url_password}@proxy.example\nNOT A LINE {self.bearer}\n",
        )
        self.env_access = agent_identity_jwt(now, expires_in=-timedelta(days=300))
        self.env_api = api_key()
        self.env_openai = api_key()
        tokens = auth["tokens"]
        self.values = [
            tokens["id_token"], tokens["access_token"], tokens["refresh_token"], auth["OPENAI_API_KEY"],
            self.url_password, self.bearer, self.dotenv_key, self.dotenv_token,
            self.env_access, self.env_api, self.env_openai,
        ]  # fmt: skip
        # Distinctive pieces too: a JWT's payload and signature segments.
        for jwt in (tokens["id_token"], tokens["access_token"], self.env_access):
            self.values += jwt.split(".")[1:]
        self._plant_logs(now, tokens["refresh_token"])

    def _plant_logs(self, now: datetime, refresh_token: str) -> None:
        """Codex logs quoting secrets: the current tokens, and an old refresh token authdoctor never read."""
        import os

        from tests.logtools import REUSED, add_rows, create_db, tracing_line, write_text_log

        self.old_refresh = "rt_" + secrets.token_urlsafe(40).replace("-", "A")
        self.values.append(self.old_refresh)
        quoting = [
            f'Failed to refresh token: 401 Unauthorized: {{"refresh_token":"{refresh_token}"}}',
            f"Failed to refresh token: {REUSED} old={self.old_refresh}",
            f"Token exchange failed: error sending request for url (https://auth.openai.com/oauth/token?code={self.bearer})",
            f"agent identity bootstrap unavailable: Authorization: Bearer {self.env_access}",
        ]
        at = now - timedelta(minutes=30)
        self.tui_log = write_text_log(self.codex / "log" / "codex-tui.log", [tracing_line(at, m) for m in quoting])
        write_text_log(self.codex / "app-server-daemon" / "daemon.stderr.log", [tracing_line(at, m) for m in quoting])
        add_rows(create_db(self.codex / "logs_2.sqlite"), [(at, m) for m in quoting])
        # The login was stored before these lines, so they all count.
        stamp = (now - timedelta(days=41)).timestamp()
        os.utime(self.codex / "auth.json", (stamp, stamp))

    def env(self, **extra: str) -> dict[str, str]:
        return clean_env(
            self.home,
            CODEX_ACCESS_TOKEN=self.env_access,
            CODEX_API_KEY=self.env_api,
            OPENAI_API_KEY=self.env_openai,
            **extra,
        )

    def assert_clean(self, text: str, what: str) -> None:
        for value in self.values:
            assert value not in text, f"{what} leaks a planted secret"
        for shape in SHAPES:
            assert not shape.search(text), f"{what} contains something shaped like a credential: {shape.pattern}"


@pytest.fixture
def planted(tmp_path: Path) -> Planted:
    return Planted(tmp_path)


COMMANDS = [
    ["check"],
    ["check", "--json"],
    ["check", "--verbose"],
    ["check", "--json", "--verbose", "--strict"],
    ["check", "--ascii", "--no-color"],
    ["explain", "--file", "{tui_log}"],
    ["explain", "--file", "{tui_log}", "--json"],
    ["explain", "Failed to refresh token: 401 old={old_refresh}"],
    ["explain", "--json", "nothing Codex ever said {old_refresh}"],
    ["fix", "--dry-run", "--no-exec"],
    ["demo"],
    ["demo", "--json"],
    ["--help"],
    ["check", "--help"],
]


@pytest.mark.parametrize("args", COMMANDS, ids=lambda a: " ".join(a))
def test_no_command_prints_a_secret(planted: Planted, args: list[str]) -> None:
    args = [a.format(tui_log=planted.tui_log, old_refresh=planted.old_refresh) for a in args]
    proc = subprocess.run(
        [sys.executable, "-m", "authdoctor", *args],
        env=planted.env(FORCE_COLOR="1"),
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert proc.returncode in (0, 1), proc.stderr
    if args[0] in ("check", "explain"):
        assert proc.stdout.strip(), f"{args} printed nothing to search"
    planted.assert_clean(proc.stdout, f"stdout of {args}")
    planted.assert_clean(proc.stderr, f"stderr of {args}")


def test_the_planted_setup_really_exercises_every_source(planted: Planted) -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "authdoctor", "--json"], env=planted.env(), capture_output=True, text=True, timeout=60, check=False
    )
    ids = {f["id"] for f in json.loads(proc.stdout)["findings"]}
    expected = {
        "access-token-overrides-login", "access-token-invalid", "api-key-env-overrides-login",
        "openai-api-key-ignored", "base-url-override", "dotenv-override", "auth-file-permissions",
        "refresh-failed", "network-failure", "logged-error",  # the planted logs
    }  # fmt: skip
    assert expected <= ids


def test_unparsable_auth_json_holding_a_token_is_not_quoted(planted: Planted) -> None:
    token = planted.values[2]
    (planted.codex / "auth.json").write_text('{"tokens": {"refresh_token": "' + token + '", oops')
    proc = subprocess.run(
        [sys.executable, "-m", "authdoctor", "check", "--verbose"],
        env=planted.env(),
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert "auth.json cannot be read" in proc.stdout
    planted.assert_clean(proc.stdout + proc.stderr, "unparsable auth.json report")


def test_a_crash_message_holding_a_secret_is_scrubbed(
    planted: Planted, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from authdoctor.commands import check

    token = planted.env_access
    Secret(token)  # as it would have been registered when read

    def boom(*_: object, **__: object) -> None:
        raise ValueError(f"could not handle {token}")

    monkeypatch.setattr(check, "build_report", boom)
    for args in (["check", "--home", str(planted.home)], ["check", "--home", str(planted.home), "--verbose"]):
        assert cli.main(args) == 2
        captured = capsys.readouterr()
        planted.assert_clean(captured.out + captured.err, f"crash output of {args}")


def test_secret_repr_never_shows_the_value() -> None:
    value = api_key()
    s = Secret(value)
    assert value not in repr(s)
    assert value not in str(s)
    assert value not in f"{s!r} {s}"
    with pytest.raises(TypeError):
        import pickle

        pickle.dumps(s)


def test_fix_undo_and_the_journal_hold_no_secret(planted: Planted) -> None:
    """The fix shows diffs of lines that hold secrets; the journal records paths and hashes only."""
    other = _secret_word()  # a secret authdoctor knows nothing about, on the same line as the token
    planted.values.append(other)
    rc = planted.home / ".zshrc"
    rc.write_text(f"export EDITOR=vim\nexport A=1 CODEX_ACCESS_TOKEN={planted.env_access} GITHUB_TOKEN={other} B=2\n")
    rc.chmod(0o600)
    runs = [
        ["fix", "--dry-run"],
        ["fix"],  # not a terminal: shows the plan, changes nothing
        ["fix", "--dry-run", "--json"],
        ["fix", "--yes", "--verbose"],
        ["undo", "--list"],
        ["undo", "--list", "--json"],
        ["undo", "--yes", "--json"],
        ["fix", "--yes", "--json"],
        ["undo", "--yes"],
        ["undo", "--yes"],  # already undone
    ]
    # The planted logs make refresh-failed move auth.json aside too.
    originals = {rc.read_bytes(), (planted.codex / "auth.json").read_bytes()}
    for args in runs:
        proc = subprocess.run(
            [sys.executable, "-m", "authdoctor", *args],
            env=planted.env(SHELL="/bin/zsh", FORCE_COLOR="1"),
            stdin=subprocess.DEVNULL,
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
        assert proc.returncode in (0, 1), (args, proc.stderr)
        planted.assert_clean(proc.stdout, f"stdout of {args}")
        planted.assert_clean(proc.stderr, f"stderr of {args}")
    journal = planted.home / ".local" / "state" / "authdoctor" / "journal"
    entries = [p for p in journal.iterdir() if p.is_dir()]
    assert len(entries) == 2
    assert journal.stat().st_mode & 0o777 == 0o700
    for entry in entries:
        assert entry.stat().st_mode & 0o777 == 0o700
        for f in entry.iterdir():
            assert f.stat().st_mode & 0o777 == 0o600
            planted.assert_clean(f.name, f"journal file name {f.name}")
            if f.name == "entry.json":
                planted.assert_clean(f.read_text(), "entry.json")
            else:
                # A backup holds the file as it was -- secrets included -- which is why it is private.
                assert f.read_bytes() in originals


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="stand-in processes need /proc")
def test_live_state_holds_no_secret(planted: Planted, tmp_path: Path) -> None:
    """The running machine too: a Codex process, a tmux server and proxies holding planted secrets."""
    from tests.proctools import TUI, env_for, stand_ins
    from tests.tmuxtools import tmux_servers

    proxy_password = _secret_word()
    planted.values.append(proxy_password)
    process_token = personal_access_token()
    tmux_key = api_key()
    planted.values += [process_token, tmux_key]
    with tmux_servers() as servers, stand_ins(tmp_path) as stand:
        servers.start(CODEX_API_KEY=tmux_key, HTTPS_PROXY=f"http://me:{proxy_password}@127.0.0.1:9")
        stand.start(TUI, env=env_for(planted.home, CODEX_ACCESS_TOKEN=process_token))
        env = planted.env(
            TMUX_TMPDIR=str(servers.tmpdir),
            HTTPS_PROXY=f"http://me:{proxy_password}@127.0.0.1:9",
            https_proxy=f"http://other:{proxy_password}@127.0.0.1:8",
            SSL_CERT_FILE=f"/nowhere/{process_token}.pem",
        )
        seen: set[str] = set()
        for args in (["check"], ["check", "--json", "--verbose"], ["fix", "--dry-run", "--no-exec", "tmux-stale-environment"]):
            proc = subprocess.run(
                [sys.executable, "-m", "authdoctor", *args],
                env=env,
                stdin=subprocess.DEVNULL,
                capture_output=True,
                text=True,
                timeout=60,
                check=False,
            )
            assert proc.returncode in (0, 1), proc.stderr
            planted.assert_clean(proc.stdout + proc.stderr, f"output of {args}")
            if args[1:2] == ["--json"]:
                seen = {f["id"] for f in json.loads(proc.stdout)["findings"]}
    assert {"stale-process-environment", "tmux-stale-environment", "proxy-misconfigured"} <= seen


# Start-up files per shell: a plain export (the probe confirms it), a value only an eval
# generates (the line trace runs), and noise printed on stdout and stderr.
_POSIX_STARTUP = "export CODEX_ACCESS_TOKEN={a}\necho {a}; echo {b} >&2\neval \"$(printf 'export OPENAI_%s=%s' API_KEY {b})\"\n"
_STARTUP = {
    "bash": (".bashrc", _POSIX_STARTUP),
    "zsh": (".zshrc", _POSIX_STARTUP),
    "ksh": (".profile", _POSIX_STARTUP),
    "dash": (".profile", _POSIX_STARTUP),
    "fish": (
        ".config/fish/config.fish",
        "set -gx CODEX_ACCESS_TOKEN {a}\necho {a}; echo {b} >&2\nprintf 'set -gx OPENAI_%s %s\\n' API_KEY {b} | source\n",
    ),
}


@pytest.mark.shell
@pytest.mark.parametrize("shell", sorted(_STARTUP))
def test_running_the_shell_leaks_nothing(planted: Planted, shell: str) -> None:
    """`where` starts each shell (probe, then line trace): the values it prints and exports stay out of every output."""
    import shutil

    program = shutil.which(shell)
    if program is None:
        pytest.skip(f"{shell} is not installed")
    a, b = personal_access_token(), api_key()
    planted.values += [a, b]
    if shell == "bash":
        write_private(planted.home / ".bash_profile", '. "$HOME/.bashrc"\n')
    rel, text = _STARTUP[shell]
    write_private(planted.home / rel, text.format(a=a, b=b))
    for args in (["where"], ["where", "--json"], ["where", "--verbose", "OPENAI_API_KEY"], ["check", "--json", "--verbose"]):
        proc = subprocess.run(
            [sys.executable, "-m", "authdoctor", *args],
            env=planted.env(SHELL=program),
            stdin=subprocess.DEVNULL,
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
        assert proc.returncode in (0, 1), (args, proc.stderr[-500:])
        planted.assert_clean(proc.stdout, f"stdout of {shell} {args}")
        planted.assert_clean(proc.stderr, f"stderr of {shell} {args}")
        if args == ["where", "--json"]:
            # The generated value was found by running the shell, and placed on its line (dash cannot name one).
            [var] = [v for v in json.loads(proc.stdout)["variables"] if v["name"] == "OPENAI_API_KEY"]
            lines = {o["line"] for o in var["origins"] if o["family"] == "trace"}
            assert lines == ({None} if shell == "dash" else {3}), var["origins"]
