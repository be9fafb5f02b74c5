from __future__ import annotations

from datetime import timedelta

from authdoctor.sandbox import agent_identity_jwt, chatgpt_auth
from tests.conftest import Machine


def test_seed_story(machine: Machine) -> None:
    machine.write_auth(chatgpt_auth(machine.now))
    machine.env["CODEX_ACCESS_TOKEN"] = agent_identity_jwt(machine.now, expires_in=-timedelta(days=300))
    assert {"access-token-overrides-login", "access-token-invalid"} <= machine.ids()
