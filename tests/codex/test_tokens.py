"""Reading JWT claims offline, classifying CODEX_ACCESS_TOKEN values, and the age wording."""

from __future__ import annotations

import base64
import re
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from authdoctor.codex import knowledge as K
from authdoctor.codex.tokens import MalformedToken, TokenKind, classify_access_token, decode_claims, describe_age, relative, try_decode
from authdoctor.sandbox import agent_identity_jwt, chatgpt_auth, make_jwt, personal_access_token
from authdoctor.secret import Secret
from tests.conftest import FIXED_NOW


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _jwt_with_payload(payload: bytes) -> str:
    """A JWT whose payload segment carries exactly these bytes."""
    return ".".join((_b64(b'{"alg":"none"}'), _b64(payload), _b64(b"sig")))


def _ts(when: datetime) -> int:
    return int(when.timestamp())


# --- decode_claims ------------------------------------------------------------


def test_decode_reads_chatgpt_claims() -> None:
    auth = chatgpt_auth(FIXED_NOW, email="a@example.com", plan="pro", account_id="acct-42", access_expires_in=timedelta(days=3))
    claims = decode_claims(auth["tokens"]["access_token"])
    assert claims.email == "a@example.com"
    assert claims.plan == "pro"
    assert claims.account_id == "acct-42"
    assert claims.user_id == "user-sandbox-1"
    assert claims.issuer == "https://auth.openai.com"
    assert claims.expires_at == FIXED_NOW + timedelta(days=3)
    assert claims.issued_at is not None
    assert claims.issued_at < claims.expires_at
    assert K.AUTH_CLAIMS in claims.claim_names


def test_decode_reads_agent_identity_claims() -> None:
    claims = decode_claims(agent_identity_jwt(FIXED_NOW, expires_in=timedelta(days=1), account_id="acct-7"))
    assert claims.issuer == K.AGENT_IDENTITY_ISSUER
    assert claims.audience == (K.AGENT_IDENTITY_AUDIENCE,)
    assert claims.account_id == "acct-7"
    assert claims.plan == "business"
    assert claims.email == "agent@example.com"
    assert claims.agent_runtime_id is not None
    assert claims.agent_runtime_id.startswith("ar_")
    assert claims.expires_at == FIXED_NOW + timedelta(days=1)


def test_decode_reads_profile_email_and_audience_list() -> None:
    token = make_jwt({K.PROFILE_CLAIMS: {"email": "p@example.com"}, "aud": ["a", 3, "b"], "exp": 1.5e9})
    claims = decode_claims(token)
    assert claims.email == "p@example.com"
    assert claims.audience == ("a", "b")
    assert claims.expires_at == datetime.fromtimestamp(1.5e9, tz=UTC)


@pytest.mark.parametrize("exp", [True, "1700000000", 10**30, float("inf"), None, [1]])
def test_decode_ignores_unusable_timestamps(exp: object) -> None:
    # json.dumps writes inf as Infinity, which json.loads reads back.
    claims = decode_claims(make_jwt({"exp": exp, "iat": exp}))
    assert claims.expires_at is None
    assert claims.issued_at is None


def test_decode_tolerates_whitespace_and_padding() -> None:
    token = make_jwt({"exp": _ts(FIXED_NOW)})
    assert decode_claims(f"  {token}\n").expires_at == FIXED_NOW


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("", "this value has 1"),
        ("abc", "this value has 1"),
        ("a.b", "this value has 2"),
        ("a.b.c.d", "this value has 4"),
        (".payload.sig", "must not be empty"),
        ("header..sig", "must not be empty"),
    ],
)
def test_decode_rejects_wrong_segment_counts(value: str, message: str) -> None:
    with pytest.raises(MalformedToken, match=message):
        decode_claims(value)


@pytest.mark.parametrize(
    "token",
    [
        pytest.param("@@@@.@@@@.sig", id="not-base64"),
        pytest.param(_b64(b'{"alg":"none"}') + ".a.sig", id="one-char-too-short"),
        pytest.param(_jwt_with_payload(b"not json"), id="not-json"),
        pytest.param(_jwt_with_payload(b"[1, 2]"), id="json-array"),
        pytest.param(_jwt_with_payload(b'"text"'), id="json-string"),
        pytest.param(_jwt_with_payload(b'{"email": "\xff\xfe"}'), id="not-utf8"),
        pytest.param(_jwt_with_payload(b"[" * 100_000), id="deeply-nested"),
        pytest.param("héader.päyload.sig", id="non-ascii"),
        pytest.param(_b64(b"[]") + "." + _b64(b"{}") + ".sig", id="header-not-object"),
    ],
)
def test_decode_rejects_malformed_segments(token: str) -> None:
    with pytest.raises(MalformedToken) as info:
        decode_claims(token)
    # Nothing of the value is chained either (a --verbose traceback prints causes).
    assert info.value.__cause__ is None
    assert info.value.__context__ is None or info.value.__suppress_context__


def test_try_decode() -> None:
    assert try_decode(None) is None
    assert try_decode(Secret("   ")) is None
    assert try_decode(Secret("not-a-jwt")) is None
    claims = try_decode(Secret(make_jwt({"email": "x@example.com"})))
    assert claims is not None
    assert claims.email == "x@example.com"


_KNOWN_MESSAGE = re.compile(
    r"a JWT(?: segment is not base64url-encoded JSON| segment nests JSON too deeply| segment is not a JSON object"
    r"| has 3 dot-separated parts, this value has \d+|'s header and payload parts must not be empty)"
)


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=200) | st.builds(lambda a, b, c: f"{a}.{b}.{c}", st.text(max_size=40), st.text(max_size=40), st.text(max_size=10)))
def test_decode_never_raises_anything_else_nor_echoes_the_input(value: str) -> None:
    try:
        decode_claims(value)
    except MalformedToken as exc:
        # Every message is a fixed sentence (a count at most), so no part of the input can be in it.
        # (A substring check is not enough: the input "valu" is in "this value has 1".)
        assert _KNOWN_MESSAGE.fullmatch(str(exc)), str(exc)


@settings(max_examples=200, deadline=None)
@given(st.binary(max_size=120))
def test_decode_of_arbitrary_payload_bytes_only_raises_malformed(payload: bytes) -> None:
    token = _jwt_with_payload(payload)
    try:
        claims = decode_claims(token)
    except MalformedToken as exc:
        encoded = _b64(payload)
        assert len(encoded) < 6 or encoded not in str(exc)
    else:
        assert isinstance(claims.claim_names, frozenset)


# --- classify_access_token ---------------------------------------------------


def test_personal_access_token_is_well_formed() -> None:
    shape = classify_access_token(personal_access_token())
    assert shape.kind is TokenKind.PERSONAL_ACCESS_TOKEN
    assert shape.problem is None
    assert shape.claims is None


@pytest.mark.parametrize("value", ["at-", "  at-  ", "at-abc def"])
def test_incomplete_personal_access_token(value: str) -> None:
    shape = classify_access_token(value)
    assert shape.kind is TokenKind.PERSONAL_ACCESS_TOKEN
    assert shape.problem is not None
    assert "not a complete personal access token" in shape.problem


def test_agent_identity_with_all_claims() -> None:
    shape = classify_access_token(agent_identity_jwt(FIXED_NOW, expires_in=timedelta(days=2)))
    assert shape.kind is TokenKind.AGENT_IDENTITY
    assert shape.problem is None
    assert shape.claims is not None
    assert shape.claims.expires_at == FIXED_NOW + timedelta(days=2)


def test_expired_agent_identity_is_still_well_formed() -> None:
    # Expiry is judged by the rules against the clock, not by the classifier.
    shape = classify_access_token(agent_identity_jwt(FIXED_NOW, expires_in=-timedelta(days=300)))
    assert shape.problem is None
    assert shape.claims is not None
    assert shape.claims.expires_at is not None
    assert shape.claims.expires_at < FIXED_NOW


def test_chatgpt_access_token_in_the_variable_is_called_out() -> None:
    access = chatgpt_auth(FIXED_NOW)["tokens"]["access_token"]
    shape = classify_access_token(access)
    assert shape.kind is TokenKind.AGENT_IDENTITY
    assert shape.problem is not None
    assert "agent_runtime_id" in shape.problem
    assert "ChatGPT access token" in shape.problem
    assert access not in shape.problem


def test_jwt_without_account_gets_no_chatgpt_hint() -> None:
    shape = classify_access_token(make_jwt({"iss": K.AGENT_IDENTITY_ISSUER, "exp": _ts(FIXED_NOW)}))
    assert shape.problem is not None
    assert "missing agent_runtime_id, account_id" in shape.problem
    assert "ChatGPT" not in shape.problem


def test_wrong_issuer() -> None:
    claims: dict[str, Any] = {"iss": "https://evil.example", "agent_runtime_id": "ar_1", "account_id": "acct", "exp": _ts(FIXED_NOW)}
    shape = classify_access_token(make_jwt(claims))
    assert shape.kind is TokenKind.AGENT_IDENTITY
    assert shape.problem is not None
    assert "'https://evil.example'" in shape.problem


@pytest.mark.parametrize("value", ["garbage", "sk-proj-abcdefghijklmnopqrstuvwxyz", "a.b.c", "eyJ.eyJ.sig"])
def test_garbage_is_unknown(value: str) -> None:
    shape = classify_access_token(value)
    assert shape.kind is TokenKind.UNKNOWN
    assert shape.claims is None
    assert shape.problem is not None
    assert "neither a personal access token" in shape.problem
    assert value not in shape.problem


# --- wording ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("seconds", "words"),
    [
        (0, "less than a minute"),
        (59, "less than a minute"),
        (60, "1 minute"),
        (119, "1 minute"),
        (120, "2 minutes"),
        (3600, "1 hour"),
        (7 * 3600 + 59, "7 hours"),
        (86400, "1 day"),
        (300 * 86400, "300 days"),
        (-2 * 86400, "2 days"),
    ],
)
def test_describe_age(seconds: float, words: str) -> None:
    assert describe_age(seconds) == words


def test_relative() -> None:
    assert relative(FIXED_NOW + timedelta(hours=5), FIXED_NOW) == "in 5 hours"
    assert relative(FIXED_NOW - timedelta(days=3), FIXED_NOW) == "3 days ago"
    assert relative(FIXED_NOW, FIXED_NOW) == "less than a minute ago"


def test_claims_never_hold_the_token() -> None:
    token = agent_identity_jwt(FIXED_NOW, expires_in=timedelta(days=1))
    text = repr(decode_claims(token)) + repr(classify_access_token(token))
    for part in token.split("."):
        assert part not in text
