"""auth.json as Codex 0.169.0 deserialises it: every mode, every broken shape, every odd file.

Cases marked "oracle" were checked against the real ``codex login status`` 0.169.0
(see docs/codex-0.169.0-oracle.md): Codex refuses exactly the files we call unparsable.
"""

from __future__ import annotations

import json
import os
import time
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from authdoctor.codex import knowledge as K
from authdoctor.collect.auth_file import collect_auth_file, parse_auth_bytes
from authdoctor.collect.evidence import AuthFileEvidence, Problem, StoredLogin
from authdoctor.host import MAX_STATE_FILE_BYTES
from authdoctor.sandbox import agent_identity_jwt, api_key, chatgpt_auth, make_jwt, personal_access_token
from tests.conftest import FIXED_NOW, Machine


def _login(payload: dict[str, Any]) -> StoredLogin:
    parsed = parse_auth_bytes(json.dumps(payload).encode())
    assert isinstance(parsed, StoredLogin), parsed
    return parsed


def _problem(data: bytes | dict[str, Any]) -> Problem:
    parsed = parse_auth_bytes(data if isinstance(data, bytes) else json.dumps(data).encode())
    assert isinstance(parsed, Problem), parsed
    return parsed


def _collect(machine: Machine) -> AuthFileEvidence:
    return collect_auth_file(machine.host(), machine.codex_home)


def _agent_record() -> dict[str, Any]:
    return {
        "agent_runtime_id": "ar_1",
        "agent_private_key": "UFJJVkFURUtFWU1BVEVSSUFM" + os.urandom(8).hex(),
        "account_id": "acct-1",
        "chatgpt_user_id": "user-1",
        "email": "",
        "plan_type": "business",
        "chatgpt_account_is_fedramp": False,
    }


# --- every auth_mode ------------------------------------------------------------


def test_apikey_mode() -> None:
    key = api_key()
    login = _login({"auth_mode": "apikey", "OPENAI_API_KEY": key})
    assert login.resolved_mode == K.MODE_APIKEY
    assert login.auth_mode == "apikey"
    assert login.api_key is not None
    assert login.api_key.reveal() == key
    assert login.incomplete == ()


def test_chatgpt_mode_reads_claims_and_refresh_time() -> None:
    payload = chatgpt_auth(FIXED_NOW, account_id="acct-9", access_expires_in=timedelta(days=2), last_refresh_ago=timedelta(hours=3))
    login = _login(payload)
    assert login.resolved_mode == K.MODE_CHATGPT
    assert login.incomplete == ()
    assert login.account_id == "acct-9"
    assert login.last_refresh == FIXED_NOW - timedelta(hours=3)
    assert login.access_claims is not None
    assert login.access_claims.expires_at == FIXED_NOW + timedelta(days=2)
    assert login.id_claims is not None
    assert login.id_claims.email == "dev@example.com"
    assert login.refresh_token is not None
    assert login.refresh_token.reveal() == payload["tokens"]["refresh_token"]


def test_account_id_falls_back_to_the_id_token() -> None:
    payload = chatgpt_auth(FIXED_NOW, account_id="acct-from-claims")
    del payload["tokens"]["account_id"]
    assert _login(payload).account_id == "acct-from-claims"


def test_host_managed_tokens_with_empty_refresh_token_are_complete() -> None:
    payload = chatgpt_auth(FIXED_NOW)
    payload["auth_mode"] = K.MODE_CHATGPT_HOST
    payload["tokens"]["refresh_token"] = ""
    login = _login(payload)
    assert login.resolved_mode == K.MODE_CHATGPT_HOST
    assert login.incomplete == ()


def test_host_managed_without_tokens_is_incomplete() -> None:
    login = _login({"auth_mode": K.MODE_CHATGPT_HOST})
    assert login.incomplete == ("there are no ChatGPT tokens",)


def test_agent_identity_jwt() -> None:
    token = agent_identity_jwt(FIXED_NOW, expires_in=timedelta(days=5), account_id="acct-3")
    login = _login({"auth_mode": "agentIdentity", "agent_identity": token})
    assert login.resolved_mode == K.MODE_AGENT_IDENTITY
    assert login.agent_identity is not None
    assert login.agent_claims is not None
    assert login.agent_claims.account_id == "acct-3"
    assert login.agent_claims.expires_at == FIXED_NOW + timedelta(days=5)
    assert login.incomplete == ()


def test_agent_identity_record() -> None:
    record = _agent_record()
    login = _login({"auth_mode": "agentIdentity", "agent_identity": record})
    assert login.resolved_mode == K.MODE_AGENT_IDENTITY
    assert login.agent_identity is not None
    assert login.agent_claims is None  # a record is not a JWT
    assert record["agent_private_key"] not in repr(login)


@pytest.mark.parametrize(
    "field", ["agent_runtime_id", "agent_private_key", "account_id", "chatgpt_user_id", "plan_type", "chatgpt_account_is_fedramp"]
)
def test_agent_identity_record_missing_a_field_is_unparsable(field: str) -> None:  # oracle
    record = _agent_record()
    del record[field]
    problem = _problem({"auth_mode": "agentIdentity", "agent_identity": record})
    assert field in problem.message
    assert record.get("agent_private_key", "-") not in problem.message


def test_agent_identity_record_without_email_is_fine() -> None:  # oracle
    record = _agent_record()
    del record["email"]
    assert _login({"auth_mode": "agentIdentity", "agent_identity": record}).incomplete == ()


def test_agent_identity_of_another_type_is_unparsable() -> None:  # oracle
    assert "unexpected shape" in _problem({"auth_mode": "agentIdentity", "agent_identity": 5}).message


def test_agent_identity_mode_without_identity_is_refused() -> None:  # oracle: "missing agent identity auth material"
    login = _login({"auth_mode": "agentIdentity"})
    assert login.refused == "agent_identity is missing"
    assert login.incomplete == ()


def test_personal_access_token_without_auth_mode() -> None:
    pat = personal_access_token()
    login = _login({"OPENAI_API_KEY": None, "personal_access_token": pat})
    assert login.auth_mode is None
    assert login.resolved_mode == K.MODE_PAT
    assert login.personal_access_token is not None
    assert login.personal_access_token.reveal() == pat


def test_empty_personal_access_token_still_selects_the_mode() -> None:  # oracle: "present (even "")"
    login = _login({"personal_access_token": "", "OPENAI_API_KEY": api_key()})
    assert login.resolved_mode == K.MODE_PAT
    # Codex still sends "" to whoami, so it is not refused -- just useless.
    assert login.refused is None
    assert login.incomplete == ("personal_access_token is empty",)


def test_bedrock_api_key() -> None:  # oracle
    login = _login({"bedrock_api_key": {"api_key": "bedrock-secret-value", "region": "us-east-1"}})
    assert login.resolved_mode == K.MODE_BEDROCK
    assert login.bedrock_api_key is not None
    assert login.bedrock_api_key.reveal() == "bedrock-secret-value"


@pytest.mark.parametrize(
    "value",
    [{"api_key": "k"}, {"region": "r"}, {"api_key": "k", "region": 5}, "k", ["k"]],
)
def test_bedrock_api_key_needs_key_and_region(value: object) -> None:  # oracle
    assert "bedrock_api_key" in _problem({"bedrock_api_key": value}).message


def test_bedrock_mode_without_key_is_refused() -> None:  # oracle: "missing a Bedrock API key"
    assert _login({"auth_mode": "bedrockApiKey"}).refused == "bedrock_api_key is missing"


def test_bedrock_access_keys() -> None:  # oracle: a mode knowledge.AUTH_MODES lacks
    keys = {"access_key_id": "AKIAEXAMPLE", "secret_access_key": "aws-secret-value", "session_token": "aws-session-value"}
    for payload in ({"bedrock_access_keys": keys}, {"auth_mode": "bedrockAccessKeys", "bedrock_access_keys": keys}):
        login = _login(payload)
        assert login.resolved_mode == "bedrockAccessKeys"
        assert login.bedrock_access_keys is not None
        assert login.bedrock_access_keys.reveal() == "aws-secret-value"
        assert "aws-secret-value" not in repr(login)
        assert "aws-session-value" not in repr(login)


def test_bedrock_access_keys_need_both_parts() -> None:  # oracle
    assert "secret_access_key" in _problem({"bedrock_access_keys": {"access_key_id": "a"}}).message


# --- mode inference -------------------------------------------------------------


@pytest.mark.parametrize(
    ("fields", "mode"),
    [
        ({"personal_access_token": "at-x", "bedrock_api_key": {"api_key": "b", "region": "r"}, "OPENAI_API_KEY": "sk-x"}, K.MODE_PAT),
        (
            {"bedrock_api_key": {"api_key": "b", "region": "r"}, "bedrock_access_keys": {"access_key_id": "a", "secret_access_key": "s"}},
            K.MODE_BEDROCK,
        ),
        ({"bedrock_access_keys": {"access_key_id": "a", "secret_access_key": "s"}, "OPENAI_API_KEY": "sk-x"}, "bedrockAccessKeys"),
        ({"OPENAI_API_KEY": "sk-x", "personal_access_token": None}, K.MODE_APIKEY),
        ({"OPENAI_API_KEY": None}, K.MODE_CHATGPT),
        ({}, K.MODE_CHATGPT),
        ({"agent_identity": "x"}, K.MODE_CHATGPT),  # oracle: agent_identity alone does not select a mode
    ],
)
def test_mode_inference_without_auth_mode(fields: dict[str, Any], mode: str) -> None:
    login = _login(fields)
    assert login.auth_mode is None
    assert login.resolved_mode == mode


def test_explicit_auth_mode_wins_over_inference() -> None:
    login = _login(
        {"auth_mode": "chatgpt", "OPENAI_API_KEY": api_key(), **{k: v for k, v in chatgpt_auth(FIXED_NOW).items() if k != "auth_mode"}}
    )
    assert login.resolved_mode == K.MODE_CHATGPT


def test_chatgpt_without_tokens_is_incomplete() -> None:
    assert _login({"auth_mode": "chatgpt"}).incomplete == ("there are no ChatGPT tokens",)
    assert _login({"auth_mode": "chatgpt", "tokens": None}).incomplete == ("there are no ChatGPT tokens",)


def test_chatgpt_without_last_refresh_is_complete() -> None:  # Codex loads it and refreshes as needed
    payload = chatgpt_auth(FIXED_NOW)
    del payload["last_refresh"]
    login = _login(payload)
    assert login.incomplete == ()
    assert login.refused is None


def test_apikey_mode_with_a_null_key_is_refused() -> None:  # oracle: null -> "API key auth is missing a key."
    login = _login({"auth_mode": "apikey", "OPENAI_API_KEY": None})
    assert login.refused is not None
    assert "missing" in login.refused


def test_apikey_mode_with_an_empty_key_is_accepted_but_incomplete() -> None:  # oracle: "" -> "API key configured - ***"
    login = _login({"auth_mode": "apikey", "OPENAI_API_KEY": ""})
    assert login.refused is None
    assert login.incomplete == ("OPENAI_API_KEY is empty",)


# --- broken shapes -------------------------------------------------------------------


@pytest.mark.parametrize("mode", ["bogus", "callerProvided", "workloadIdentity", "", "ChatGPT"])
def test_unknown_auth_mode(mode: str) -> None:  # oracle: all rejected, case-sensitive
    problem = _problem({"auth_mode": mode})
    assert problem.kind == "unparsable"
    assert f"auth_mode {mode!r}" in problem.message
    assert K.CHECKED_AGAINST in problem.message


@pytest.mark.parametrize("length", [25, 35, 300])
def test_long_unknown_auth_mode_is_not_quoted(length: int) -> None:
    mode = "x" * length  # as long as a pasted token: do not echo it
    problem = _problem({"auth_mode": mode})
    assert mode not in problem.message
    assert f"{length} characters" in problem.message


@pytest.mark.parametrize("mode", [5, ["apikey"], {"a": 1}, True])
def test_auth_mode_of_another_type(mode: object) -> None:
    assert "`auth_mode` must be a string" in _problem({"auth_mode": mode}).message


@pytest.mark.parametrize("field", ["id_token", "access_token", "refresh_token"])
def test_missing_token_field_is_unparsable(field: str) -> None:  # oracle [E-SHAPE]
    payload = chatgpt_auth(FIXED_NOW)
    del payload["tokens"][field]
    problem = _problem(payload)
    assert f"tokens.{field}" in problem.message
    assert "missing" in problem.message


@pytest.mark.parametrize("field", ["id_token", "access_token", "refresh_token"])
def test_null_token_field_is_unparsable(field: str) -> None:  # oracle
    payload = chatgpt_auth(FIXED_NOW)
    payload["tokens"][field] = None
    assert f"`tokens.{field}` must be a string" in _problem(payload).message


@pytest.mark.parametrize("id_token", ["notajwt", "", "a.b.c"])
def test_undecodable_id_token_is_unparsable(id_token: str) -> None:  # oracle
    payload = chatgpt_auth(FIXED_NOW)
    payload["tokens"]["id_token"] = id_token
    assert "`tokens.id_token` is not a valid JWT" in _problem(payload).message


def test_empty_access_token_is_incomplete() -> None:
    payload = chatgpt_auth(FIXED_NOW)
    payload["tokens"]["access_token"] = ""
    login = _login(payload)
    assert login.incomplete == ("tokens.access_token is empty",)
    assert login.access_claims is None


def test_empty_refresh_token_is_incomplete_for_a_managed_login() -> None:
    payload = chatgpt_auth(FIXED_NOW)
    payload["tokens"]["refresh_token"] = ""
    assert _login(payload).incomplete == ("tokens.refresh_token is empty",)


def test_undecodable_access_token_is_tolerated() -> None:
    payload = chatgpt_auth(FIXED_NOW)
    payload["tokens"]["access_token"] = "opaque-access-token"
    login = _login(payload)
    assert login.access_claims is None
    assert login.incomplete == ()


def test_tokens_must_be_an_object() -> None:
    assert "`tokens` must be an object" in _problem({"tokens": ["a"]}).message


def test_tokens_account_id_must_be_a_string() -> None:  # oracle
    payload = chatgpt_auth(FIXED_NOW)
    payload["tokens"]["account_id"] = 5
    assert "tokens.account_id" in _problem(payload).message
    payload["tokens"]["account_id"] = None
    assert _login(payload).account_id == "acct-sandbox-1"  # from the id_token


@pytest.mark.parametrize("field", ["OPENAI_API_KEY", "personal_access_token", "last_refresh"])
def test_string_fields_of_another_type(field: str) -> None:  # oracle (pat_num)
    assert f"`{field}` must be a string, not int" in _problem({field: 5}).message


@pytest.mark.parametrize(
    ("value", "ok"),
    [
        ("2025-01-01T00:00:00Z", True),
        ("2025-01-01T00:00:00.123456789Z", True),
        ("2025-01-01 00:00:00Z", True),
        ("2025-01-01t00:00:00z", True),
        ("2025-01-01T00:00:00+0000", True),
        ("2025-01-01T02:00:00+02:00", True),
        ("2025-01-01T00:00:00", False),
        ("2025-01-01", False),
        ("", False),
        ("20250101T000000Z", False),
        ("2025-01-01T00:00Z", False),
        ("garbage", False),
    ],
)
def test_last_refresh_must_be_rfc3339(value: str, ok: bool) -> None:  # oracle: all eleven rows
    payload = chatgpt_auth(FIXED_NOW)
    payload["last_refresh"] = value
    parsed = parse_auth_bytes(json.dumps(payload).encode())
    if ok:
        assert isinstance(parsed, StoredLogin)
        assert parsed.last_refresh is not None
        assert parsed.last_refresh.utcoffset() == timedelta(0)
        assert parsed.last_refresh.replace(microsecond=0).isoformat() == "2025-01-01T00:00:00+00:00"
    else:
        assert isinstance(parsed, Problem)
        assert "last_refresh" in parsed.message


def test_duplicate_known_field_is_unparsable() -> None:  # oracle: serde rejects it, json.loads keeps the last
    key = api_key()
    problem = _problem(f'{{"auth_mode":"apikey","OPENAI_API_KEY":"{key}","OPENAI_API_KEY":"{key}x"}}'.encode())
    assert "`OPENAI_API_KEY` appears twice" in problem.message
    assert key not in problem.message


def test_duplicate_token_field_is_unparsable() -> None:
    payload = chatgpt_auth(FIXED_NOW)
    text = json.dumps(payload).replace('"refresh_token":', '"refresh_token": "rt_dup", "refresh_token":')
    assert "`tokens.refresh_token` appears twice" in _problem(text.encode()).message


def test_duplicates_inside_unknown_fields_are_ignored() -> None:  # oracle
    parsed = parse_auth_bytes(b'{"auth_mode":"apikey","OPENAI_API_KEY":"sk-a","zzz":{"a":1,"a":2}}')
    assert isinstance(parsed, StoredLogin)


def test_unknown_fields_are_ignored() -> None:  # oracle
    assert _login({"auth_mode": "apikey", "OPENAI_API_KEY": "sk-x", "future_field": [1, {"x": None}]}).incomplete == ()


# --- bytes that are not a JSON object --------------------------------------------------


def test_malformed_json_gives_position_and_no_content() -> None:
    key = api_key()
    problem = _problem(f'{{\n  "auth_mode": "apikey",\n  "OPENAI_API_KEY": "{key}"\n  "x": 1\n}}'.encode())
    assert problem.kind == "unparsable"
    assert "line 4, column 3" in problem.message
    assert key not in problem.message
    assert "apikey" not in problem.message


def test_truncated_file_gives_position() -> None:
    payload = json.dumps(chatgpt_auth(FIXED_NOW), indent=2)
    cut = payload[: len(payload) // 2]
    problem = _problem(cut.encode())
    assert "not valid JSON (line" in problem.message
    assert cut.splitlines()[-1].strip() not in problem.message


@pytest.mark.parametrize("data", [b"", b"   \n\t\r\n"])
def test_empty_file(data: bytes) -> None:
    assert _problem(data).message == "it is empty"


@pytest.mark.parametrize(("data", "kind"), [(b"[]", "list"), (b'"text"', "str"), (b"null", "NoneType"), (b"42", "int")])
def test_json_that_is_not_an_object(data: bytes, kind: str) -> None:
    assert _problem(data).message == f"it holds a JSON {kind}, not an object"


def test_non_utf8_bytes() -> None:  # oracle: "stream did not contain valid UTF-8"
    data = b'{"auth_mode": "apikey", "OPENAI_API_KEY": "sk-\xff\xfe"}'
    assert _problem(data).message == f"it is not UTF-8 text (bad byte at offset {data.index(0xFF)})"


def test_binary_garbage() -> None:
    assert _problem(os.urandom(64) + b"\xff").kind == "unparsable"


def test_deeply_nested_json() -> None:
    assert "nests JSON too deeply" in _problem(b"[" * 100_000).message


def test_crlf_file_parses() -> None:
    payload = chatgpt_auth(FIXED_NOW)
    login = parse_auth_bytes(json.dumps(payload, indent=2).replace("\n", "\r\n").encode())
    assert isinstance(login, StoredLogin)
    assert login.resolved_mode == K.MODE_CHATGPT
    assert login.incomplete == ()


def test_utf8_bom_is_rejected_like_codex() -> None:  # oracle: serde "expected value at line 1 column 1"
    key = api_key()
    problem = _problem(b"\xef\xbb\xbf" + json.dumps({"auth_mode": "apikey", "OPENAI_API_KEY": key}).encode())
    assert problem.kind == "unparsable"
    assert "byte-order mark (BOM)" in problem.message
    assert key not in problem.message


# --- the file on disk ------------------------------------------------------------------


def test_missing_file(machine: Machine) -> None:
    ev = _collect(machine)
    assert ev == AuthFileEvidence(machine.codex_home / "auth.json", exists=False)


def test_file_records_mode_owner_and_login(machine: Machine) -> None:
    path = machine.write_auth(chatgpt_auth(machine.now), mode=0o640)
    ev = _collect(machine)
    assert ev.path == path
    assert ev.exists
    assert ev.problem is None
    assert ev.mode == 0o640
    assert ev.uid == os.getuid()
    assert not ev.is_symlink
    assert ev.login is not None
    assert ev.login.resolved_mode == K.MODE_CHATGPT


def test_symlinked_file_is_followed(machine: Machine, tmp_path: Path) -> None:
    real = tmp_path / "dotfiles" / "auth.json"
    real.parent.mkdir()
    real.write_text(json.dumps({"auth_mode": "apikey", "OPENAI_API_KEY": api_key()}))
    real.chmod(0o600)
    machine.codex_home.mkdir(parents=True)
    (machine.codex_home / "auth.json").symlink_to(real)
    ev = _collect(machine)
    assert ev.is_symlink
    assert ev.mode == 0o600  # of the target, not of the link
    assert ev.login is not None
    assert ev.login.resolved_mode == K.MODE_APIKEY


def test_dangling_symlink(machine: Machine, tmp_path: Path) -> None:
    machine.codex_home.mkdir(parents=True)
    (machine.codex_home / "auth.json").symlink_to(tmp_path / "gone.json")
    ev = _collect(machine)
    assert ev.exists
    assert ev.is_symlink
    assert ev.problem == Problem("unreadable", "it is a symbolic link to a file that does not exist")
    assert ev.login is None


def test_directory_instead_of_file(machine: Machine) -> None:
    (machine.codex_home / "auth.json").mkdir(parents=True)
    ev = _collect(machine)
    assert ev.problem == Problem("not-a-file", "it is a directory")
    assert ev.mode is not None


def test_fifo_is_not_read(machine: Machine) -> None:
    machine.codex_home.mkdir(parents=True)
    os.mkfifo(machine.codex_home / "auth.json")
    ev = _collect(machine)  # reading a FIFO would block forever
    assert ev.problem == Problem("not-a-file", "it is not a regular file")


@pytest.mark.skipif(not hasattr(os, "geteuid") or os.geteuid() == 0, reason="root reads chmod-000 files anyway (as Codex does)")
def test_unreadable_file(machine: Machine) -> None:
    path = machine.write_auth(chatgpt_auth(machine.now), mode=0o000)
    try:
        ev = _collect(machine)
    finally:
        path.chmod(0o600)
    assert ev.problem == Problem("unreadable", "permission denied: your user cannot read it")
    assert ev.mode == 0


def test_chmod_000_as_root_is_still_parsed(machine: Machine) -> None:
    if not hasattr(os, "geteuid") or os.geteuid() != 0:
        pytest.skip("only root can read a chmod-000 file")
    machine.write_auth(chatgpt_auth(machine.now), mode=0o000)
    ev = _collect(machine)
    assert ev.mode == 0
    assert ev.login is not None


def test_huge_file_is_refused_quickly(machine: Machine) -> None:
    machine.codex_home.mkdir(parents=True)
    path = machine.codex_home / "auth.json"
    with path.open("wb") as fh:
        fh.truncate(MAX_STATE_FILE_BYTES + 1024 * 1024)  # 17 MiB, sparse
    start = time.monotonic()
    ev = _collect(machine)
    assert time.monotonic() - start < 2
    assert ev.problem == Problem("too-large", "it is larger than 16 MiB, which no real Codex file is")


def test_file_of_exactly_the_limit_is_read(machine: Machine) -> None:
    body = json.dumps({"auth_mode": "apikey", "OPENAI_API_KEY": "sk-x"}).encode()
    machine.write_auth(body + b" " * (MAX_STATE_FILE_BYTES - len(body)))
    assert _collect(machine).login is not None


def test_collect_reports_problems_in_evidence(machine: Machine) -> None:
    machine.write_auth(b'{"auth_mode": "apikey",')
    ev = machine.evidence().auth_file
    assert ev.exists
    assert ev.problem is not None
    assert ev.problem.kind == "unparsable"


# --- secrets ----------------------------------------------------------------------------


def test_no_secret_in_evidence_repr_or_messages(machine: Machine) -> None:
    payload = chatgpt_auth(machine.now, api_key=api_key())
    payload["personal_access_token"] = personal_access_token()
    payload["agent_identity"] = agent_identity_jwt(machine.now, expires_in=timedelta(days=1))
    payload["bedrock_api_key"] = {"api_key": "bedrock-" + os.urandom(12).hex(), "region": "us-east-1"}
    machine.write_auth(payload)
    ev = machine.evidence()
    secrets = [
        payload["OPENAI_API_KEY"],
        payload["personal_access_token"],
        payload["agent_identity"],
        payload["bedrock_api_key"]["api_key"],
        *payload["tokens"].values(),
    ]
    text = repr(ev)
    for value in secrets:
        if value.startswith("acct-"):
            continue  # tokens.account_id is an identifier, not a secret
        assert value not in text
        for part in value.split(".") if value.count(".") == 2 else ():
            assert part not in text


@pytest.mark.parametrize(
    "mutate",
    [
        lambda p: p["tokens"].pop("refresh_token"),
        lambda p: p["tokens"].__setitem__("id_token", "x" + p["tokens"]["access_token"][1:]),
        lambda p: p.__setitem__("last_refresh", p["tokens"]["refresh_token"]),
        lambda p: p.__setitem__("auth_mode", p["tokens"]["refresh_token"]),
        lambda p: p.__setitem__("bedrock_api_key", {"api_key": p["tokens"]["refresh_token"]}),
    ],
)
def test_problem_messages_never_quote_a_secret(machine: Machine, mutate: Any) -> None:
    payload = chatgpt_auth(machine.now, api_key=api_key())
    mutate(payload)
    problem = _problem(payload)
    for value in (payload["OPENAI_API_KEY"], *[v for v in payload["tokens"].values() if not str(v).startswith("acct-")]):
        assert value not in problem.message
        for part in value.split("."):
            assert len(part) < 6 or part not in problem.message


def test_jwt_shaped_garbage_in_id_token_does_not_leak() -> None:
    payload = chatgpt_auth(FIXED_NOW)
    bad = make_jwt({"x": 1})[:-3] + "###"
    payload["tokens"]["id_token"] = bad.replace(".", "")
    message = _problem(payload).message
    assert bad.replace(".", "") not in message
