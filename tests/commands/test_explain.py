"""``authdoctor explain``: every indexed error string, whole real logs, unknown text, the local cross-check, secrets."""

from __future__ import annotations

import argparse
import io
import json
import re
import subprocess
import sys
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from authdoctor import cli
from authdoctor.codex import signatures as S
from authdoctor.commands.explain import closest_causes, exit_code, explain
from authdoctor.errors import AuthdoctorError, ExitCode
from authdoctor.report.explain_report import explain_json, render_explain_text
from authdoctor.report.style import ASCII, Style
from authdoctor.sandbox import agent_identity_jwt, api_key, build_seed_home, chatgpt_auth, make_jwt, personal_access_token
from authdoctor.secret import REGISTRY, redact_tokens
from tests.conftest import FIXED_NOW, REPO, Machine, clean_env, load_json

FIXTURES = REPO / "tests" / "fixtures" / "codex-0.169.0"
PLAIN = Style(color=False, **ASCII)

# The error-string index of the failure-modes reference, as given: "a | b | c -> FM".
INDEX = """\
refresh token was already used | refresh_token_reused | has already been used to generate a new access token -> FM-01
refresh token was revoked | refresh_token_invalidated | token_revoked -> FM-12
refresh token has expired | refresh_token_expired | token_expired -> FM-01 (token_expired alone may map to FM-01 or FM-26 or FM-25; add a row/pattern if needed)
since logged out or signed in to another account -> FM-16
Missing scopes: api.responses.write -> FM-04
{"detail":"Unauthorized"} -> FM-04
exceeded retry limit, last status: 401 -> FM-07/04/23
ERR_CONNECTION_REFUSED | localhost refused to connect -> FM-02
Address in use (os error 98) | is already in use | os error 10013 -> FM-10
Login was not completed -> FM-11
Token exchange failed: error sending request for url | token_exchange_failed -> FM-09
Token exchange failed: token endpoint returned status 403 -> FM-03 or FM-15
State mismatch | invalid_state | 400 Invalid Session -> FM-19
stream disconnected before completion | Reconnecting... | os error 10061 -> FM-08
UnknownIssuer | CERTIFICATE_VERIFY_FAILED | selected by SSL_CERT_FILE -> FM-13
unsupported_country_region_territory | Just a moment... | cf-mitigated -> FM-15
No eligible ChatGPT workspaces found | chatgpt_account_missing | codex_cli_workspace_disabled | missing_codex_entitlement | Usage not included with the plan | upgrade to Plus -> FM-05
enable device code authentication | Enable device code authorization for Codex -> FM-14
failed to write OAuth tokens to keyring | failed to load CLI auth from keyring -> FM-21
Invalid 'refresh_token': empty string | premature end of input | Permission denied (os error 13) | Read-only file system -> FM-18
CODEX_HOME points to "/x", but that path does not exist -> FM-17
Missing environment variable: | account/read failed during TUI bootstrap | missing api key -> FM-20/22
Agent runtime has been deleted | deleted_agent_runtime_id | Personal access token owner is inactive -> FM-24
token_invalidated | authentication token has been invalidated -> FM-25
OPENAI_BASE_URL is deprecated -> FM-04
stream error: Failed to refresh token: 401 Unauthorized; retrying 1/5 in 187ms… -> refresh (FM-01)
Error checking login status: failed to request agent identity JWKS -> FM-24
"""  # noqa: E501 - verbatim from the reference, one row per line


def _cases() -> list[tuple[str, tuple[str, ...], str | None]]:
    """(message, acceptable FM ids, required category) for every message of the index."""
    out = []
    for row in INDEX.splitlines():
        messages, _, target = row.partition(" -> ")
        category = S.REFRESH if target.startswith("refresh ") else None
        numbers = re.findall(r"FM-(\d\d)|/(\d\d)", target.split(" (")[0] if category is None else target)
        ids = [f"FM-{a or b}" for a, b in numbers]
        # "FM-03 or FM-15" accepts either; "FM-07/04/23" names the likeliest first.
        wanted = tuple(ids) if " or " in target else (ids[0],)
        for message in messages.split(" | "):
            accept = ("FM-01", "FM-26", "FM-25") if message == "token_expired" else wanted
            out.append((message, accept, category))
    return out


CASES = _cases()


@pytest.fixture(autouse=True)
def _own_secret_registry(monkeypatch: pytest.MonkeyPatch) -> None:
    """Secrets other tests registered (some are ordinary words such as "before") would be scrubbed from excerpts here."""
    monkeypatch.setattr(REGISTRY, "_values", set())


def args(*text: str, file: str | None = None, no_local: bool = True, as_json: bool = False, home: str | None = None) -> argparse.Namespace:
    return argparse.Namespace(
        text=list(text), file=file, no_local=no_local, home=home, json=as_json, no_color=True, ascii=True, verbose=False, no_exec=True
    )


def stdin_of(data: bytes) -> io.TextIOWrapper:
    return io.TextIOWrapper(io.BytesIO(data), encoding="utf-8")


def run(argv: list[str], env: dict[str, str], stdin: bytes | None = None) -> subprocess.CompletedProcess[bytes]:
    return subprocess.run(
        [sys.executable, "-m", "authdoctor", *argv],
        env=env,
        input=stdin if stdin is not None else b"",
        capture_output=True,
        timeout=60,
        check=False,
    )


def main_json(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, dict[str, Any]]:
    code = cli.main(["explain", "--json", *argv])
    return code, load_json(capsys.readouterr().out)


# --- the error-string index ---------------------------------------------------------------


def test_the_index_is_complete() -> None:
    assert len(INDEX.splitlines()) == 27
    assert len(CASES) == 60
    assert len({m for m, _, _ in CASES}) == len(CASES)


@pytest.mark.parametrize(("message", "accept", "category"), CASES, ids=[c[0][:48] for c in CASES])
def test_every_indexed_message_is_recognised(
    capsys: pytest.CaptureFixture[str], message: str, accept: tuple[str, ...], category: str | None
) -> None:
    code, body = main_json(capsys, "--no-local", message)
    assert code == ExitCode.OK
    assert body["recognised"] is True
    [cause] = body["causes"]
    assert set(accept) & set(cause["failure_modes"]), (message, cause["signature"], cause["failure_modes"])
    if category is not None:
        assert cause["category"] == category
    assert cause["permanence"] in (S.PERMANENT, S.TRANSIENT)
    assert cause["finding"] and cause["next_step"]
    assert cause["matches"] == {"count": 1, "first_line": 1, "excerpt": message}


def _sid(line: str) -> str | None:
    sig = S.classify(line)
    return sig.id if sig else None


def test_token_expired_row_keeps_refresh_token_expired_apart() -> None:
    assert _sid("code: refresh_token_expired") == "refresh-token-expired"
    assert _sid('"code":"token_expired"') == "access-token-expired"
    # A refresh rejected with that code is still a refresh rejection (the log rules count it).
    assert _sid("Failed to refresh token: 401 Unauthorized token_expired") == "refresh-token-rejected"


def test_retyped_messages_are_recognised_ignoring_case_and_spacing() -> None:
    for text, sid in (
        ("Refresh Token Was Already Used", "refresh-token-reused"),
        ('{"detail": "Unauthorized"}', "backend-unauthorized"),
        ("  login was NOT completed  ", "login-not-completed"),
    ):
        result = explain(args(text))
        assert [c.signature.id for c in result.causes] == [sid], text


def test_unquoted_words_are_one_message() -> None:
    result = explain(args("refresh", "token", "was", "already", "used"))
    assert [c.signature.id for c in result.causes] == ["refresh-token-reused"]


# --- whole logs -------------------------------------------------------------------------------


LOGS = {
    "refresh-reused.log": "refresh-token-reused",
    "refresh-expired.log": "refresh-token-expired",
    "refresh-invalidated.log": "refresh-token-invalidated",
    "refresh-unknown-401.log": "refresh-token-rejected",
    "refresh-server-500.log": "refresh-server-error",
    "refresh-unreachable.log": "connection-failed",
    "daemon.stderr.log": "refresh-token-reused",
}


@pytest.mark.parametrize("name", sorted(LOGS))
def test_real_logs_via_stdin_and_file_agree(name: str) -> None:
    path = FIXTURES / name
    piped = explain(args("-"), stdin=stdin_of(path.read_bytes()))
    filed = explain(args(file=str(path)))
    for result in (piped, filed):
        assert result.recognised and exit_code(result) == ExitCode.OK
        assert result.causes[0].signature.id == LOGS[name]
        for c in result.causes:
            assert "\x1b" not in c.excerpt
    assert [(c.signature.id, c.hits, c.first_line) for c in piped.causes] == [(c.signature.id, c.hits, c.first_line) for c in filed.causes]
    assert piped.input.matched == filed.input.matched
    assert piped.input.lines == len(path.read_bytes().splitlines())


def test_reused_log_says_already_used_permanent_refresh_failed() -> None:
    path = FIXTURES / "refresh-reused.log"
    lines = path.read_text().splitlines()
    result = explain(args(file=str(path)))
    top = result.causes[0]
    assert "already used" in top.signature.cause
    assert top.signature.permanence == S.PERMANENT
    assert top.signature.finding == "refresh-failed"
    assert top.hits == sum("already used" in line for line in lines)
    assert top.first_line == 1 + next(i for i, line in enumerate(lines) if "already used" in line)
    assert "already used" in top.excerpt
    text = render_explain_text(result, PLAIN)
    assert "already used" in text and "permanent" in text and "refresh-failed" in text and "$ codex login" in text


def test_unreachable_log_is_transport_not_a_dead_login() -> None:
    result = explain(args(file=str(FIXTURES / "refresh-unreachable.log")))
    top = result.causes[0]
    assert top.signature.category == S.TRANSPORT
    assert top.signature.finding == "network-failure"
    assert top.signature.permanence == S.TRANSIENT
    assert all(c.signature.finding != "refresh-failed" for c in result.causes)


def test_stdin_through_the_real_command(tmp_path: Path) -> None:
    home = tmp_path / "home"
    home.mkdir()
    env = clean_env(home)
    data = (FIXTURES / "refresh-reused.log").read_bytes()
    # No argument and a pipe reads standard input, as `-` does.
    for argv in (["explain", "--json", "--no-local"], ["explain", "--json", "--no-local", "-"]):
        proc = run(argv, env, stdin=data)
        assert proc.returncode == 0, proc.stderr
        body = load_json(proc.stdout.decode())
        assert body["input"]["source"] == "stdin"
        assert body["causes"][0]["signature"] == "refresh-token-reused"
    proc = run(["explain", "--no-local", "--file", str(FIXTURES / "refresh-unreachable.log")], env)
    assert proc.returncode == 0, proc.stderr
    assert b"transient" in proc.stdout and b"network-failure" in proc.stdout


def test_undecodable_bytes_are_read_leniently() -> None:
    result = explain(args("-"), stdin=stdin_of(b"\xff\xfe garbage\nFailed to refresh token: 401 \xc3\x28\n"))
    assert [c.signature.id for c in result.causes] == ["refresh-token-rejected"]
    assert result.causes[0].first_line == 2


# --- unknown text -----------------------------------------------------------------------------


def test_unknown_text_is_not_recognised_and_gets_three_closest(capsys: pytest.CaptureFixture[str]) -> None:
    code, body = main_json(capsys, "--no-local", "my printer is on fire")
    assert code == ExitCode.FINDINGS
    assert body["recognised"] is False and body["causes"] == []
    assert len(body["closest"]) == 3
    assert all(0 <= c["score"] <= 1 for c in body["closest"])
    code = cli.main(["explain", "--no-local", "--ascii", "my printer is on fire"])
    out = capsys.readouterr().out
    assert code == ExitCode.FINDINGS
    assert "Not recognised" in out
    assert sum(line.startswith("  - ") for line in out.splitlines()) == 3


def test_closest_causes_forgive_typos_and_retyped_codes() -> None:
    assert closest_causes("refresh tokn was reusd")[0].signature.id == "refresh-token-reused"
    assert closest_causes("keyring is locked")[0].signature.id == "keyring-failure"
    assert "login-port-busy" in [c.signature.id for c in closest_causes("the login port 1455 is already taken")]


# --- the local cross-check -------------------------------------------------------------------


def test_cross_check_names_the_variable_and_the_line(machine: Machine) -> None:
    seed = build_seed_home(machine.home, FIXED_NOW)
    machine.env["SHELL"] = "/bin/zsh"
    result = explain(args("Error: Agent runtime has been deleted.", no_local=False), host=machine.host())
    assert result.local_checked
    [cause] = result.causes
    assert cause.signature.id == "agent-runtime-deleted"
    assert cause.local is not None
    ids = [f.id for f in cause.local]
    assert "access-token-overrides-login" in ids
    text = render_explain_text(result, PLAIN)
    assert "CODEX_ACCESS_TOKEN" in text
    assert f"~/.zshrc:{seed.export_line}" in text
    body = explain_json(result)
    [local] = [f for f in body["causes"][0]["on_this_machine"] if f["id"] == "access-token-overrides-login"]
    assert local["origin"]["path"] == str(seed.zshrc) and local["origin"]["line"] == seed.export_line
    assert seed.access_token not in text + json.dumps(body)


def test_cross_check_says_when_nothing_local_bears_on_it(machine: Machine) -> None:
    machine.write_auth(chatgpt_auth(FIXED_NOW))
    result = explain(args("Personal access token owner is inactive", no_local=False), host=machine.host())
    assert result.causes[0].local == ()
    assert "nothing related found" in render_explain_text(result, PLAIN)


def test_no_local_skips_the_cross_check(machine: Machine) -> None:
    build_seed_home(machine.home, FIXED_NOW)
    result = explain(args("Agent runtime has been deleted"), host=None)
    assert not result.local_checked and result.causes[0].local is None
    assert explain_json(result)["causes"][0]["on_this_machine"] is None
    assert "--no-local" in render_explain_text(result, PLAIN)


def test_cross_check_through_the_real_command(tmp_path: Path) -> None:
    home = tmp_path / "home"
    home.mkdir()
    seed = build_seed_home(home, FIXED_NOW)
    proc = run(["explain", "--home", str(home), "Agent runtime has been deleted"], clean_env(home, SHELL="/bin/zsh"))
    assert proc.returncode == 0, proc.stderr
    out = proc.stdout.decode()
    assert "CODEX_ACCESS_TOKEN" in out and f"~/.zshrc:{seed.export_line}" in out
    assert seed.access_token not in out


# --- JSON and secrets ----------------------------------------------------------------------------

SIGNATURE_KEYS = {"signature", "category", "cause", "permanence", "finding", "next_step", "commands", "failure_modes", "related_findings"}


def test_json_shape(machine: Machine) -> None:
    build_seed_home(machine.home, FIXED_NOW)
    machine.env["SHELL"] = "/bin/zsh"
    text = "Agent runtime has been deleted\nstream disconnected before completion"
    body = explain_json(explain(args(text, no_local=False), host=machine.host()))
    assert set(body) == {"schema_version", "tool", "command", "input", "recognised", "local_checked", "causes", "closest"}
    assert body["schema_version"] == 1 and body["command"] == "explain"
    assert body["tool"] == {"name": "authdoctor", "version": "0.1.0"}
    assert body["input"] == {"source": "argument", "path": None, "lines": 2, "bytes": body["input"]["bytes"], "matched_lines": 2}
    assert body["recognised"] is True and body["local_checked"] is True and body["closest"] == []
    assert [c["signature"] for c in body["causes"]] == ["agent-runtime-deleted", "connection-failed"]  # permanent first
    for cause in body["causes"]:
        assert set(cause) == SIGNATURE_KEYS | {"matches", "on_this_machine"}
        assert set(cause["matches"]) == {"count", "first_line", "excerpt"}
        for f in cause["on_this_machine"]:
            assert set(f) == {"id", "severity", "title", "origin"}
            assert f["origin"] is None or set(f["origin"]) == {"path", "line", "text"}
    closest = explain_json(explain(args("nothing to see here")))["closest"]
    assert all(set(c) == SIGNATURE_KEYS | {"score"} for c in closest)


def _planted() -> dict[str, str]:
    jwt = agent_identity_jwt(FIXED_NOW, expires_in=timedelta(days=1))
    return {
        "jwt": jwt,
        "unsigned": make_jwt({"sub": "someone"}, alg="none").rsplit(".", 1)[0] + ".",
        "api_key": api_key(),
        "refresh": "rt_" + "Q7" * 20,
        "pat": personal_access_token(),
        "bearer": "opaqueBearerValue0123456789",
        "named": "plainopaquevalue0123",
    }


def _pasted(s: dict[str, str]) -> str:
    return "\n".join(
        (
            f"ERROR codex_login::auth::manager: Failed to refresh token: 401 Unauthorized id_token={s['jwt']}",
            f"refresh token was already used; key {s['api_key']} and {s['refresh']} and {s['pat']}",
            f'{{"detail":"Unauthorized"}} Authorization: Bearer {s["bearer"]} token {s["unsigned"]}',
            f'missing api key "refresh_token": "{s["named"]}"',
            f"some unrelated line holding {s['jwt']} and {s['api_key']}",
        )
    )


def _fragments(secret: str) -> list[str]:
    # The value itself and any 16-character piece of its secret part (a cut excerpt must not leak the start either).
    body = secret.split(".", 1)[1] if secret.startswith("eyJ") else secret[3:]
    return [secret] + [body[i : i + 16] for i in range(0, max(1, len(body) - 16), 8)]


def _assert_clean(output: str, planted: dict[str, str]) -> None:
    for name, secret in planted.items():
        for piece in _fragments(secret):
            assert piece not in output, f"{name} leaked"


def test_secrets_in_pasted_text_never_reach_the_output(capsys: pytest.CaptureFixture[str]) -> None:
    planted = _planted()
    text = _pasted(planted)
    code, body = main_json(capsys, "--no-local", text)
    assert code == ExitCode.OK and len(body["causes"]) == 4
    _assert_clean(json.dumps(body), planted)
    assert cli.main(["explain", "--no-local", text]) == ExitCode.OK
    _assert_clean(capsys.readouterr().out, planted)
    # Unrecognised text is never echoed either.
    assert cli.main(["explain", "--no-local", "--json", f"hello {planted['jwt']} {planted['api_key']}"]) == ExitCode.FINDINGS
    _assert_clean(capsys.readouterr().out, planted)


def test_secrets_in_a_log_file_never_reach_the_output(tmp_path: Path) -> None:
    planted = _planted()
    log = tmp_path / "codex-tui.log"
    log.write_text(_pasted(planted) + "\n")
    result = explain(args(file=str(log)))
    assert len(result.causes) == 4
    _assert_clean(json.dumps(explain_json(result)) + render_explain_text(result, PLAIN), planted)


def test_a_token_cut_by_the_excerpt_is_still_redacted(tmp_path: Path) -> None:
    jwt = _planted()["jwt"]
    head = "ERROR codex_login: token_revoked "
    log = tmp_path / "codex-tui.log"
    # The scanner cuts excerpts at 300 characters: here only the token's first 20 remain.
    log.write_text(head + "x" * (299 - len(head) - 21) + " " + jwt + "\n")
    result = explain(args(file=str(log)))
    [cause] = result.causes
    assert "<redacted>" in cause.excerpt  # redacted whole before the excerpt is cut
    assert jwt[:12] not in json.dumps(explain_json(result)) + render_explain_text(result, PLAIN)


def test_redact_tokens_blanks_shapes_and_keeps_prose() -> None:
    jwt = make_jwt({"sub": "x"})
    assert redact_tokens(f"token={jwt} done") == "token=<redacted> done"
    assert redact_tokens(jwt[:30] + "…") == "<redacted>…"  # a JWT cut by an excerpt
    assert redact_tokens("key sk-proj-AbCdEf0123456789xyz") == "key <redacted>"
    assert redact_tokens("rt_AbCdEf0123456789xyz at-Zz0123456789abcdefgh") == "<redacted> <redacted>"
    assert redact_tokens("Bearer abcdefghijklmnop1") == "Bearer <redacted>"
    assert redact_tokens("export CODEX_ACCESS_TOKEN=whatever-opaque-value") == "export CODEX_ACCESS_TOKEN=<redacted>"
    prose = "at-least-once delivery via task-runner; sk-learn; rt_stats; the desk-top login was not completed"
    assert redact_tokens(prose) == prose


# --- usage ------------------------------------------------------------------------------------


@pytest.mark.parametrize("text", ["", "   ", "\n\n  \n"])
def test_empty_input_is_a_usage_error(text: str) -> None:
    with pytest.raises(AuthdoctorError) as exc:
        explain(args(text))
    assert exc.value.hint


def test_usage_errors_exit_2_with_a_hint(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    empty = tmp_path / "empty.log"
    empty.write_bytes(b"")
    for argv in (
        ["explain", "--no-local", ""],
        ["explain", "--no-local", "--file", str(empty)],
        ["explain", "--no-local", "--file", str(tmp_path / "missing.log")],
        ["explain", "--no-local", "--file", str(tmp_path)],
        ["explain", "--no-local", "--file", str(empty), "some text"],
    ):
        assert cli.main(argv) == ExitCode.FAILURE, argv
        err = capsys.readouterr().err
        assert err.startswith("authdoctor: error:") and "hint:" in err, argv
    with pytest.raises(AuthdoctorError):
        explain(args("-"), stdin=stdin_of(b""))


def test_no_text_at_a_terminal_is_a_usage_error() -> None:
    class Terminal(io.StringIO):
        def isatty(self) -> bool:
            return True

    with pytest.raises(AuthdoctorError, match="nothing to explain"):
        explain(args(), stdin=Terminal())


def test_explain_is_a_registered_command() -> None:
    assert "explain" in cli.COMMANDS
    parsed = cli.build_parser("explain").parse_args(["explain", "--file", "x.log", "--no-local", "--home", "/h"])
    assert parsed.file == "x.log" and parsed.no_local and parsed.home == "/h" and parsed.text == []
