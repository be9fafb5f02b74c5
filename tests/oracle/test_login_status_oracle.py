"""Oracle tests: the real ``codex login status`` (0.169.0) decides which credential wins.

Every case builds a state on a temporary home, runs the real Codex CLI on it
(offline, stdin closed, environment built from scratch), and runs authdoctor's
precedence model on the same home and environment.  The two must agree on
which credential Codex uses.

Offline, Codex cannot finish checking a personal access token, an agent
identity or a workload identity (each needs a network call), but the error it
prints names the path it took -- which is exactly what we compare.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from authdoctor.collect import collect
from authdoctor.collect.evidence import Evidence
from authdoctor.diagnose.precedence import Resolution, resolve
from authdoctor.host import Host
from authdoctor.host.keyring import default_keyring_probe
from authdoctor.sandbox import agent_identity_jwt, api_key, chatgpt_auth, make_jwt, personal_access_token, write_auth, write_private
from tests.conftest import IN_CI

pytestmark = pytest.mark.oracle

NOW = datetime.now(UTC)


def codex_binary() -> str:
    found = os.environ.get("AUTHDOCTOR_CODEX") or shutil.which("codex")
    if not found:
        if IN_CI:
            pytest.fail("the real Codex CLI is required on CI (scripts/test installs it)")
        pytest.skip("the real Codex CLI is not installed (scripts/test installs it with npm)")
    return found


# --- labels: what each side says won -----------------------------------------

CODEX_LINES = [
    ("Logged in using ChatGPT", "chatgpt"),
    ("API key configured", "api-key"),
    ("Logged in using personal access token", "personal-access-token"),
    ("failed to request personal access token metadata", "personal-access-token"),
    ("Logged in using access token", "agent-identity"),
    ("agent identity JWKS", "agent-identity"),
    ("failed to decode agent identity JWT", "agent-identity"),
    ("Logged in using Amazon Bedrock API key", "bedrock-api-key"),
    ("workload identity", "workload-identity"),
    ("Error loading configuration", "config-error"),
    ("Not logged in", "none"),
    ("Error checking login status", "none"),  # unreadable store: nothing usable
]


def codex_label(stderr: str) -> str:
    lines = [line for line in stderr.splitlines() if line.strip() and not line.startswith("WARNING:")]
    text = "\n".join(lines)
    for needle, label in CODEX_LINES:
        if needle in text:
            return label
    raise AssertionError(f"unrecognised codex output: {text!r}")


def our_label(ev: Evidence, res: Resolution) -> str:
    if ev.codex_home.problem or (ev.config.problem and ev.config.problem.kind != "unreadable"):
        return "config-error"
    c = res.interactive
    # Codex's error names the path it took for tokens it must check online, so
    # those compare by kind even when unusable; a refused stored login is "none".
    if not c.present or (not c.usable and c.kind not in ("workload-identity", "agent-identity", "personal-access-token", "invalid")):
        return "none"
    return {"invalid": "agent-identity", "chatgpt-host-managed": "chatgpt"}.get(c.kind, c.kind)


# --- the grid ---------------------------------------------------------------


@dataclass
class State:
    home: Path
    codex_home: Path
    cwd: Path
    env: dict[str, str]

    def auth(self, payload: dict[str, object] | str | bytes) -> None:
        self.codex_home.mkdir(parents=True, exist_ok=True)
        write_auth(self.codex_home, payload)

    def config(self, text: str) -> None:
        self.codex_home.mkdir(parents=True, exist_ok=True)
        write_private(self.codex_home / "config.toml", text, 0o644)


def chatgpt(s: State) -> None:
    s.auth(chatgpt_auth(NOW, account_id="acct-1"))


def apikey(s: State) -> None:
    s.auth({"auth_mode": "apikey", "OPENAI_API_KEY": api_key()})


def with_env(**extra: str) -> Callable[[State], None]:
    def apply(s: State) -> None:
        s.env.update(extra)

    return apply


def combine(*steps: Callable[[State], None]) -> Callable[[State], None]:
    def apply(s: State) -> None:
        for step in steps:
            step(s)

    return apply


def chatgpt_fields(**changes: object) -> Callable[[State], None]:
    def apply(s: State) -> None:
        payload = chatgpt_auth(NOW, account_id="acct-1")
        for key, value in changes.items():
            if value is None:
                payload.pop(key, None)
            else:
                payload[key] = value
        s.auth(payload)

    return apply


def tokens_without(key: str) -> Callable[[State], None]:
    def apply(s: State) -> None:
        payload = chatgpt_auth(NOW)
        del payload["tokens"][key]
        s.auth(payload)

    return apply


def custom_home(kind: str) -> Callable[[State], None]:
    def apply(s: State) -> None:
        chatgpt(s)  # a login in ~/.codex that a custom CODEX_HOME hides
        target = s.home.parent / "custom"
        if kind == "dir":
            target.mkdir()
            write_auth(target, {"auth_mode": "apikey", "OPENAI_API_KEY": api_key()})
        elif kind == "empty-dir":
            target.mkdir()
        elif kind == "file":
            target.write_text("x")
        elif kind == "symlink":
            real = s.home.parent / "real"
            real.mkdir()
            write_auth(real, {"auth_mode": "apikey", "OPENAI_API_KEY": api_key()})
            target.symlink_to(real)
        elif kind == "dangling":
            target.symlink_to(s.home.parent / "nowhere")
        s.env["CODEX_HOME"] = str(target) if kind != "missing" else str(s.home.parent / "missing")

    return apply


def agent_jwt() -> str:
    return agent_identity_jwt(NOW, expires_in=timedelta(days=10))


def expired_agent_jwt() -> str:
    return agent_identity_jwt(NOW, expires_in=-timedelta(days=300))


def wif(s: State, *, both: bool = True) -> None:
    token_file = s.home.parent / "wif-token"
    token_file.write_text("assertion")
    s.env["OPENAI_FEDERATION_RULE_ID"] = "rule-1"
    if both:
        s.env["OPENAI_IDENTITY_TOKEN_FILE"] = str(token_file)


def dotenv(text: str) -> Callable[[State], None]:
    def apply(s: State) -> None:
        s.codex_home.mkdir(parents=True, exist_ok=True)
        write_private(s.codex_home / ".env", text)

    return apply


def claim_only(*, keep_last_refresh: bool) -> Callable[[State], None]:
    """A ChatGPT login whose account is only in the id_token claim (no tokens.account_id)."""

    def apply(s: State) -> None:
        payload = chatgpt_auth(NOW, account_id="acct-1")
        del payload["tokens"]["account_id"]
        if not keep_last_refresh:
            del payload["last_refresh"]
        s.auth(payload)

    return apply


def dangling_auth(s: State) -> None:
    s.codex_home.mkdir()
    (s.codex_home / "auth.json").symlink_to(s.home / "nowhere")


def store(mode: str) -> Callable[[State], None]:
    return lambda s: s.config(f'cli_auth_credentials_store = "{mode}"\n')


def nothing(_: State) -> None:
    return None


def empty_codex_dir(s: State) -> None:
    s.codex_home.mkdir()


CASES: dict[str, Callable[[State], None]] = {
    # no login
    "no-codex-dir": nothing,
    "empty-codex-dir": empty_codex_dir,
    # every stored mode
    "chatgpt": chatgpt,
    "chatgpt-expired-long-ago": lambda s: s.auth(
        chatgpt_auth(NOW, access_expires_in=-timedelta(days=60), last_refresh_ago=timedelta(days=30))
    ),
    "chatgpt-host-managed": chatgpt_fields(auth_mode="chatgptAuthTokens"),
    "apikey": apikey,
    "apikey-inferred": lambda s: s.auth({"OPENAI_API_KEY": api_key()}),
    "apikey-null-key": lambda s: s.auth({"auth_mode": "apikey", "OPENAI_API_KEY": None}),
    "apikey-empty-key": lambda s: s.auth({"auth_mode": "apikey", "OPENAI_API_KEY": ""}),
    "pat-stored": lambda s: s.auth({"personal_access_token": personal_access_token()}),
    "agent-identity-stored": lambda s: s.auth({"auth_mode": "agentIdentity", "agent_identity": agent_jwt()}),
    "bedrock": lambda s: s.auth({"auth_mode": "bedrockApiKey", "bedrock_api_key": {"api_key": api_key(), "region": "us-east-1"}}),
    "empty-object-is-chatgpt": lambda s: s.auth({}),
    "only-agent-identity-field-is-chatgpt": lambda s: s.auth({"agent_identity": "x"}),
    # malformed auth.json
    "invalid-json": lambda s: s.auth("{not json"),
    "empty-file": lambda s: s.auth(""),
    "json-array": lambda s: s.auth("[]"),
    "missing-refresh-token": tokens_without("refresh_token"),
    "missing-id-token": tokens_without("id_token"),
    "id-token-not-a-jwt": lambda s: s.auth({**chatgpt_auth(NOW), "tokens": {**chatgpt_auth(NOW)["tokens"], "id_token": "notajwt"}}),
    "unknown-auth-mode": chatgpt_fields(auth_mode="bogus"),
    "caller-provided-mode": chatgpt_fields(auth_mode="callerProvided"),
    "bad-last-refresh": chatgpt_fields(last_refresh="yesterday"),
    "non-utf8": lambda s: s.auth(b'{"auth_mode":"apikey","OPENAI_API_KEY":"sk-\xff\xfe"}'),
    "utf8-bom": lambda s: s.auth(b"\xef\xbb\xbf" + json.dumps({"auth_mode": "apikey", "OPENAI_API_KEY": api_key()}).encode()),
    "crlf-json": lambda s: s.auth(json.dumps(chatgpt_auth(NOW), indent=2).replace("\n", "\r\n")),
    "trailing-garbage": lambda s: s.auth(json.dumps({"auth_mode": "apikey", "OPENAI_API_KEY": api_key()}) + " x"),
    "auth-is-directory": lambda s: (s.codex_home / "auth.json").mkdir(parents=True),
    "dangling-symlink": dangling_auth,
    # environment overrides
    "access-token-pat": combine(chatgpt, with_env(CODEX_ACCESS_TOKEN=personal_access_token())),
    "access-token-agent": combine(chatgpt, with_env(CODEX_ACCESS_TOKEN=agent_jwt())),
    "access-token-agent-expired": combine(chatgpt, with_env(CODEX_ACCESS_TOKEN=expired_agent_jwt())),
    "access-token-garbage": combine(chatgpt, with_env(CODEX_ACCESS_TOKEN="hello")),
    "access-token-empty": combine(chatgpt, with_env(CODEX_ACCESS_TOKEN="")),
    "access-token-blank": combine(chatgpt, with_env(CODEX_ACCESS_TOKEN="   ")),
    "access-token-bare-prefix": combine(chatgpt, with_env(CODEX_ACCESS_TOKEN="at-")),
    "access-token-over-broken-auth": combine(lambda s: s.auth("{broken"), with_env(CODEX_ACCESS_TOKEN=personal_access_token())),
    "access-token-no-login": with_env(CODEX_ACCESS_TOKEN=agent_jwt()),
    "codex-api-key-ignored": combine(chatgpt, with_env(CODEX_API_KEY=api_key())),
    "codex-api-key-alone": with_env(CODEX_API_KEY=api_key()),
    "openai-api-key-ignored": with_env(OPENAI_API_KEY=api_key()),
    "openai-base-url-ignored": combine(chatgpt, with_env(OPENAI_BASE_URL="http://127.0.0.1:9/v1")),
    "workload-identity": combine(chatgpt, wif, with_env(CODEX_ACCESS_TOKEN="hello")),
    "workload-identity-partial": combine(chatgpt, lambda s: wif(s, both=False)),
    "workload-identity-empty": combine(chatgpt, with_env(OPENAI_FEDERATION_RULE_ID="", OPENAI_IDENTITY_TOKEN_FILE="")),
    # CODEX_HOME
    "codex-home-custom": custom_home("dir"),
    "codex-home-empty-dir": custom_home("empty-dir"),
    "codex-home-missing": custom_home("missing"),
    "codex-home-file": custom_home("file"),
    "codex-home-symlink": custom_home("symlink"),
    "codex-home-dangling": custom_home("dangling"),
    "codex-home-empty-string": combine(chatgpt, with_env(CODEX_HOME="")),
    "codex-home-blank": combine(chatgpt, with_env(CODEX_HOME="   ")),
    "codex-home-tilde": combine(chatgpt, with_env(CODEX_HOME="~/.codex")),
    # credential stores
    **{
        f"store-{mode}-{'auth' if has_auth else 'noauth'}": combine(chatgpt if has_auth else nothing, store(mode))
        for mode in ("file", "keyring", "auto", "ephemeral")
        for has_auth in (True, False)
    },
    "store-bogus": combine(chatgpt, lambda s: s.config('cli_auth_credentials_store = "bogus"\n')),
    "store-wrong-type": combine(chatgpt, lambda s: s.config("cli_auth_credentials_store = 5\n")),
    "config-bad-toml": combine(chatgpt, lambda s: s.config("model = o3\n")),
    "store-ephemeral-pat": combine(
        lambda s: s.config('cli_auth_credentials_store = "ephemeral"\n'), with_env(CODEX_ACCESS_TOKEN=personal_access_token())
    ),
    "store-keyring-pat": combine(
        lambda s: s.config('cli_auth_credentials_store = "keyring"\n'), with_env(CODEX_ACCESS_TOKEN=personal_access_token())
    ),
    # login restrictions
    "forced-api-chatgpt": combine(chatgpt, lambda s: s.config('forced_login_method = "api"\n')),
    "forced-api-apikey": combine(apikey, lambda s: s.config('forced_login_method = "api"\n')),
    "forced-chatgpt-apikey": combine(apikey, lambda s: s.config('forced_login_method = "chatgpt"\n')),
    "forced-api-skips-access-token": combine(
        apikey, lambda s: s.config('forced_login_method = "api"\n'), with_env(CODEX_ACCESS_TOKEN="hello")
    ),
    "forced-method-bogus": combine(chatgpt, lambda s: s.config('forced_login_method = "bogus"\n')),
    "workspace-mismatch": combine(chatgpt, lambda s: s.config('forced_chatgpt_workspace_id = "acct-OTHER"\n')),
    "workspace-match": combine(chatgpt, lambda s: s.config('forced_chatgpt_workspace_id = "acct-1"\n')),
    "workspace-list": combine(chatgpt, lambda s: s.config('forced_chatgpt_workspace_id = ["acct-OTHER", "acct-1"]\n')),
    "workspace-apikey-ignored": combine(apikey, lambda s: s.config('forced_chatgpt_workspace_id = "acct-OTHER"\n')),
    "workspace-claim-only": combine(claim_only(keep_last_refresh=True), lambda s: s.config('forced_chatgpt_workspace_id = "acct-1"\n')),
    "workspace-claim-only-no-refresh": combine(
        claim_only(keep_last_refresh=False), lambda s: s.config('forced_chatgpt_workspace_id = "acct-1"\n')
    ),
    "workspace-claim-only-other": combine(
        claim_only(keep_last_refresh=True), lambda s: s.config('forced_chatgpt_workspace_id = "acct-OTHER"\n')
    ),
    "workspace-field-beats-claim": combine(
        lambda s: s.auth(
            {
                **chatgpt_auth(NOW, account_id="acct-1"),
                "tokens": {**chatgpt_auth(NOW, account_id="acct-1")["tokens"], "account_id": "acct-2"},
            }
        ),
        lambda s: s.config('forced_chatgpt_workspace_id = "acct-1"\n'),
    ),
    # $CODEX_HOME/.env
    "dotenv-access-token-ignored": combine(chatgpt, dotenv(f"CODEX_ACCESS_TOKEN={personal_access_token()}\n")),
    "dotenv-openai-api-key": dotenv(f"OPENAI_API_KEY={api_key()}\n"),
    "unsigned-jwt-access-token": combine(chatgpt, with_env(CODEX_ACCESS_TOKEN=make_jwt({"exp": 1}))),
}


@pytest.fixture(scope="module")
def codex() -> str:
    return codex_binary()


@pytest.mark.parametrize("name", sorted(CASES))
def test_precedence_agrees_with_codex_login_status(name: str, codex: str, tmp_path: Path) -> None:
    home = tmp_path / "home"
    home.mkdir()
    cwd = tmp_path / "cwd"
    cwd.mkdir()
    state = State(home=home, codex_home=home / ".codex", cwd=cwd, env={"HOME": str(home), "PATH": "/usr/local/bin:/usr/bin:/bin"})
    CASES[name](state)

    proc = subprocess.run(
        [codex, "login", "status"],
        env=state.env,
        cwd=cwd,
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    actual = codex_label(proc.stderr)

    host = Host(env=dict(state.env), home=home, keyring=default_keyring_probe())
    ev = collect(host)
    expected = our_label(ev, resolve(ev))
    assert expected == actual, f"authdoctor says {expected!r}, codex login status says {actual!r}: {proc.stderr.strip()[-300:]}"
