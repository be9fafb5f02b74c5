"""The JSON model: schema version 1, statuses, and nothing secret in it."""

from __future__ import annotations

import json
from datetime import timedelta

from authdoctor.report.as_json import render_json
from authdoctor.report.model import credential_status
from authdoctor.sandbox import agent_identity_jwt, api_key, chatgpt_auth, personal_access_token
from tests.conftest import Machine


def test_credential_statuses(machine: Machine) -> None:
    # An expired ChatGPT access token is refreshed by Codex: still "ok".
    machine.write_auth(chatgpt_auth(machine.now, access_expires_in=-timedelta(hours=1), last_refresh_ago=timedelta(hours=1)))
    res = machine.diagnosis().resolution
    assert credential_status(res.interactive, machine.now) == "ok"
    machine.env["CODEX_ACCESS_TOKEN"] = agent_identity_jwt(machine.now, expires_in=-timedelta(days=1))
    res = machine.diagnosis().resolution
    assert credential_status(res.interactive, machine.now) == "expired"
    machine.env["CODEX_ACCESS_TOKEN"] = "not-a-token"
    assert credential_status(machine.diagnosis().resolution.interactive, machine.now) == "invalid"


def test_json_is_stable_and_secret_free(machine: Machine) -> None:
    auth = chatgpt_auth(machine.now, api_key=api_key())
    machine.write_auth(auth)
    pat = personal_access_token()
    machine.env["CODEX_ACCESS_TOKEN"] = pat
    text = render_json(machine.report())
    data = json.loads(text)
    assert data["schema_version"] == 1
    assert data["credential"]["source"] == "env:CODEX_ACCESS_TOKEN"
    assert data["credential"]["kind"] == "personal-access-token"
    assert data["credential"]["used_by"] == ["codex", "codex exec"]
    assert data["shadowed"][0]["used_by"] == []
    for secret in (pat, auth["OPENAI_API_KEY"], *auth["tokens"].values()):
        if secret != auth["tokens"]["account_id"]:
            assert secret not in text


def test_collector_failure_becomes_an_info_finding(machine: Machine) -> None:
    from authdoctor.collect.evidence import GathererFailure
    from authdoctor.diagnose import diagnose
    from authdoctor.report.model import CheckReport

    ev = machine.evidence()
    ev = ev._replace(failures=(GathererFailure("keyring", "RuntimeError: boom"),))
    report = CheckReport.build(diagnose(ev))
    [note] = [f for f in report.findings if f.id == "collector-failed"]
    assert note.severity.value == "info"
    assert "keyring" in note.title
