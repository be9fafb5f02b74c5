"""Helpers shared by the rule tests: well-formed findings, origins, and no secret in any finding.

Every test here runs on the ``machine`` fixture (a temporary home with real
files).  After each test an autouse check diagnoses that machine once more
and fails if any credential value on it -- from the environment, auth.json or
.env -- appears in a finding's title, detail, fix or origins.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

import pytest

from authdoctor.diagnose.finding import Finding, Origin, Severity
from authdoctor.secret import REDACTED
from tests.conftest import Machine

SECRET_VARS = ("CODEX_ACCESS_TOKEN", "CODEX_API_KEY", "OPENAI_API_KEY")
_SECRET_WORDS = ("KEY", "TOKEN", "SECRET", "PASSWORD")
# Shorter values could match ordinary words; no real credential is this short.
_MIN_LEN = 8


def finding_texts(f: Finding) -> list[str]:
    return [f.title, f.detail, f.fix.summary, *f.fix.commands, *(o.text for o in f.origins)]


def _pieces(value: str) -> list[str]:
    """A value and, for a JWT, each of its parts (a leaked payload is a leak too)."""
    value = value.strip()
    parts = [value]
    if value.count(".") == 2:
        parts.extend(value.split("."))
    return [p for p in parts if len(p) >= _MIN_LEN]


def assert_no_secret(findings: Iterable[Finding], *secrets: str) -> None:
    """No secret value (nor a part of a JWT) appears anywhere in the findings."""
    pieces = [p for s in secrets for p in _pieces(s)]
    for f in findings:
        for text in finding_texts(f):
            for piece in pieces:
                assert piece not in text, f"{f.id} leaks a secret in: {text[:80]}…"


def _auth_secrets(payload: Any) -> list[str]:
    if not isinstance(payload, dict):
        return []
    found: list[str] = []
    for key in ("OPENAI_API_KEY", "personal_access_token", "agent_identity"):
        if isinstance(payload.get(key), str):
            found.append(payload[key])
    tokens = payload.get("tokens")
    if isinstance(tokens, dict):
        found.extend(v for k, v in tokens.items() if k != "account_id" and isinstance(v, str))
    bedrock = payload.get("bedrock_api_key")
    if isinstance(bedrock, dict) and isinstance(bedrock.get("api_key"), str):
        found.append(bedrock["api_key"])
    return found


def machine_secrets(machine: Machine) -> list[str]:
    """Every credential value on the test machine."""
    found = [v for k, v in machine.env.items() if k in SECRET_VARS]
    for home in {machine.codex_home, machine.home / ".codex"}:
        found.extend(_file_secrets(home / "auth.json", home / ".env"))
    return found


def _read(path: Path) -> bytes | None:
    try:
        return path.read_bytes() if path.is_file() else None
    except OSError:
        return None


def _file_secrets(auth: Path, dotenv: Path) -> list[str]:
    found: list[str] = []
    data = _read(auth)
    if data is not None:
        try:
            found.extend(_auth_secrets(json.loads(data)))
        except ValueError:
            # Unparsable on purpose: any long run of token characters counts.
            text = data.decode("utf-8", "replace")
            found.extend(w for w in text.replace('"', " ").replace(",", " ").split() if len(w) >= 20)
    data = _read(dotenv)
    if data is not None:
        for line in data.decode("utf-8", "replace").splitlines():
            key, sep, value = line.partition("=")
            if sep and any(w in key.upper() for w in _SECRET_WORDS):
                found.append(value.strip().strip("'\""))
    return found


@pytest.fixture(autouse=True)
def _no_secret_in_any_finding(machine: Machine) -> Iterator[None]:
    yield
    if not machine.home.is_dir():
        return
    assert_no_secret(machine.findings(), *machine_secrets(machine))


def one(machine: Machine, finding_id: str, severity: Severity) -> Finding:
    """The single finding with this id, checked for the shape every finding must have."""
    found = machine.findings(finding_id)
    assert len(found) == 1, f"expected one {finding_id}, got {[f.title for f in found]}"
    return well_formed(found[0], finding_id, severity)


def well_formed(f: Finding, finding_id: str, severity: Severity) -> Finding:
    assert f.id == finding_id
    assert f.severity is severity
    assert f.title.strip() and not f.title.endswith(".")
    assert f.detail.strip().endswith("."), f.detail
    assert f.fix.summary.strip().endswith("."), f.fix.summary
    for text in finding_texts(f):
        # Plain words: no Python reprs or unfilled values.
        assert "Secret(" not in text and "None" not in text, text
    return f


def quiet(machine: Machine, finding_id: str) -> None:
    assert finding_id not in machine.ids()


def env_origin(f: Finding, name: str) -> Origin:
    matches = [o for o in f.origins if o.context == "environment"]
    assert len(matches) == 1, f.origins
    o = matches[0]
    assert o.text == f"{name}={REDACTED}"
    assert o.path is None and o.line is None
    return o


def dotenv_origin(f: Finding, name: str, machine: Machine, line: int) -> Origin:
    matches = [o for o in f.origins if o.context == "dotenv" and o.text.startswith(f"{name}=")]
    assert len(matches) == 1, f.origins
    o = matches[0]
    assert o.text == f"{name}={REDACTED}"
    assert o.path == str(machine.codex_home / ".env")
    assert o.line == line
    return o


def config_origin(f: Finding, machine: Machine) -> Origin:
    matches = [o for o in f.origins if o.context == "config"]
    assert len(matches) == 1, f.origins
    assert matches[0].path == str(machine.codex_home / "config.toml")
    return matches[0]
