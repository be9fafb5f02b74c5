"""The real command, run as a subprocess on a temporary home with an environment built from scratch."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from authdoctor import cli
from authdoctor.sandbox import agent_identity_jwt, build_seed_home, chatgpt_auth, write_auth
from tests.conftest import clean_env, load_json
from tests.conftest import run_authdoctor as run

TOP_KEYS = {"schema_version", "tool", "target", "credential", "shadowed", "findings", "online"}
CREDENTIAL_KEYS = {
    "source", "kind", "fingerprint", "expires_at", "issued_at", "status", "email", "plan",
    "account_id", "last_refresh", "last_refresh_age_days", "used_by", "problem", "note",
}  # fmt: skip
FINDING_KEYS = {"id", "severity", "title", "detail", "origins", "fix"}
ORIGIN_KEYS = {"path", "line", "context", "active", "text"}


@pytest.fixture
def home(tmp_path: Path) -> Path:
    h = tmp_path / "home"
    h.mkdir()
    return h


def healthy(home: Path) -> dict[str, str]:
    codex = home / ".codex"
    codex.mkdir()
    write_auth(codex, chatgpt_auth(datetime.now(UTC)))
    return clean_env(home)


def test_seed_setup_exits_1_and_names_the_override(home: Path) -> None:
    seed = build_seed_home(home, datetime.now(UTC))
    env = clean_env(home, CODEX_ACCESS_TOKEN=seed.access_token, SHELL="/bin/zsh")
    proc = run(["check", "--json"], env)
    assert proc.returncode == 1, proc.stderr
    report = load_json(proc.stdout)
    assert set(report) == TOP_KEYS
    assert report["schema_version"] == 1
    assert report["tool"] == {"name": "authdoctor", "version": "0.1.0"}
    assert report["target"]["product"] == "codex"
    assert report["target"]["codex_home"] == str(seed.codex_home)
    cred = report["credential"]
    assert set(cred) == CREDENTIAL_KEYS
    assert cred["source"] == "env:CODEX_ACCESS_TOKEN"
    assert cred["kind"] == "agent-identity"
    assert cred["status"] == "expired"
    assert cred["fingerprint"].startswith("sha256:")
    [stored] = [c for c in report["shadowed"] if c["source"].startswith("file:")]
    assert stored["source"] == f"file:{seed.codex_home / 'auth.json'}"
    assert stored["kind"] == "chatgpt"
    assert stored["account_id"] == "acct-sandbox-1"
    assert 0 < stored["last_refresh_age_days"] < 1
    ids = [f["id"] for f in report["findings"]]
    assert "access-token-overrides-login" in ids
    for finding in report["findings"]:
        assert set(finding) == FINDING_KEYS
        assert set(finding["fix"]) == {"automatic", "summary", "commands"}
        for origin in finding["origins"]:
            assert set(origin) == ORIGIN_KEYS
    [override] = [f for f in report["findings"] if f["id"] == "access-token-overrides-login"]
    assert override["severity"] == "error"
    # The one precise answer: the file and line, and nothing vaguer beside it.
    assert override["origins"] == [
        {
            "path": str(seed.zshrc),
            "line": seed.export_line,
            "context": "zsh",
            "active": True,
            "text": "export CODEX_ACCESS_TOKEN=<redacted>",
        }
    ]
    assert f"{seed.zshrc}:{seed.export_line}" in override["fix"]["summary"]


def test_a_token_only_new_terminals_get_still_counts(home: Path) -> None:
    seed = build_seed_home(home, datetime.now(UTC))
    proc = run(["check", "--json", "--no-exec"], clean_env(home, SHELL="/bin/zsh"))
    assert proc.returncode == 1
    report = load_json(proc.stdout)
    assert report["credential"]["source"] == "env:CODEX_ACCESS_TOKEN"
    [override] = [f for f in report["findings"] if f["id"] == "access-token-overrides-login"]
    assert "not set in this terminal" in override["detail"]
    assert override["origins"][0]["path"] == str(seed.zshrc)


def test_default_command_is_check_and_text_report(home: Path) -> None:
    seed = build_seed_home(home, datetime.now(UTC))
    proc = run([], clean_env(home, CODEX_ACCESS_TOKEN=seed.access_token))
    assert proc.returncode == 1
    assert "CODEX_ACCESS_TOKEN overrides your ChatGPT login" in proc.stdout
    assert "[access-token-overrides-login]" in proc.stdout
    assert "\033[" not in proc.stdout  # not a terminal: no colour
    assert proc.stderr == ""


def test_healthy_home_exits_0(home: Path) -> None:
    proc = run(["check"], healthy(home))
    assert proc.returncode == 0, proc.stdout
    assert "No problems found" in proc.stdout
    report = load_json(run(["--json"], clean_env(home)).stdout)
    assert report["credential"]["kind"] == "chatgpt"
    assert report["findings"] == []


def test_not_logged_in_exits_1(home: Path) -> None:
    report = load_json(run(["--json"], clean_env(home)).stdout)
    assert report["credential"]["source"] == "none"
    assert [f["id"] for f in report["findings"] if f["severity"] != "info"] == ["not-logged-in"]


def test_strict_turns_warnings_into_failure(home: Path) -> None:
    env = healthy(home)
    env["OPENAI_API_KEY"] = "sk-test-" + "x" * 30
    assert run(["check"], env).returncode == 0
    assert run(["check", "--strict"], env).returncode == 1


@pytest.mark.parametrize(
    ("extra", "args", "coloured"),
    [
        ({"FORCE_COLOR": "1"}, [], True),
        ({"FORCE_COLOR": "1", "NO_COLOR": ""}, [], False),
        ({"FORCE_COLOR": "1"}, ["--no-color"], False),
    ],
)
def test_colour_switches(home: Path, extra: dict[str, str], args: list[str], coloured: bool) -> None:
    env = {**healthy(home), **extra}
    out = run(["check", *args], env).stdout
    assert ("\033[" in out) is coloured


def test_ascii_fallback_when_the_stream_cannot_encode_marks(home: Path) -> None:
    seed = build_seed_home(home, datetime.now(UTC))
    env = clean_env(home, CODEX_ACCESS_TOKEN=seed.access_token, PYTHONIOENCODING="ascii", LANG="C")
    proc = run(["check"], env)
    assert proc.returncode == 1
    assert "[x]" in proc.stdout
    assert "✗" not in proc.stdout
    assert "Traceback" not in proc.stderr
    assert run(["check", "--ascii"], clean_env(home)).stdout.isascii()


def test_missing_home_is_a_one_line_error(home: Path) -> None:
    proc = run(["check", "--home", str(home / "nope")], clean_env(home))
    assert proc.returncode == 2
    assert proc.stdout == ""
    assert proc.stderr.startswith("authdoctor: error: --home")
    assert "hint:" in proc.stderr
    assert "Traceback" not in proc.stderr


def test_bad_usage_exits_2(home: Path) -> None:
    proc = run(["check", "--no-such-flag"], clean_env(home))
    assert proc.returncode == 2
    assert "usage:" in proc.stderr


def test_home_option_redirects(home: Path, tmp_path: Path) -> None:
    other = tmp_path / "other"
    other.mkdir()
    healthy(other)
    report = load_json(run(["check", "--json", "--home", str(other)], clean_env(home)).stdout)
    assert report["target"]["codex_home"] == str(other / ".codex")
    assert report["credential"]["kind"] == "chatgpt"


def test_root_option_diagnoses_an_image_without_the_live_environment(home: Path, tmp_path: Path) -> None:
    image = tmp_path / "image"
    user_home = image / "home" / "tester"
    (user_home / ".codex").mkdir(parents=True)
    write_auth(user_home / ".codex", chatgpt_auth(datetime.now(UTC)))
    token = agent_identity_jwt(datetime.now(UTC), expires_in=timedelta(days=-1))
    env = clean_env(home, CODEX_ACCESS_TOKEN=token)
    env["HOME"] = "/home/tester"
    proc = run(["check", "--json", "--root", str(image)], env)
    report = load_json(proc.stdout)
    assert report["target"]["codex_home"] == str(user_home / ".codex")
    # The token in this terminal says nothing about the image.
    assert report["credential"]["kind"] == "chatgpt"
    assert proc.returncode == 0


def test_version() -> None:
    proc = run(["--version"], clean_env(Path("/nonexistent")))
    assert proc.stdout.strip() == "authdoctor 0.1.0"


def test_internal_error_is_one_line_without_traceback(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], home: Path
) -> None:
    from authdoctor.commands import check

    def boom(*_: object, **__: object) -> None:
        raise RuntimeError("kaput")

    monkeypatch.setattr(check, "build_report", boom)
    assert cli.main(["check", "--home", str(home)]) == 2
    err = capsys.readouterr().err
    assert err.startswith("authdoctor: internal error: RuntimeError: kaput")
    assert "Traceback" not in err
    assert cli.main(["check", "--home", str(home), "--verbose"]) == 2
    assert "Traceback" in capsys.readouterr().err
