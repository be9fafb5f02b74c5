"""logged-error: other known auth errors in the logs since the current login."""

from __future__ import annotations

from datetime import timedelta

from authdoctor.diagnose.finding import Severity
from tests.conftest import Machine
from tests.diagnose.rules.conftest import one, quiet
from tests.logtools import add_rows, create_db, tracing_line, write_text_log
from tests.logtools import stored_login as _login

ID = "logged-error"


def _log(machine: Machine, message: str, *, target: str = "codex_core::client", name: str = "codex-tui.log") -> None:
    write_text_log(machine.codex_home / "log" / name, [tracing_line(machine.now - timedelta(minutes=5), message, target=target)])


def test_agent_runtime_deleted(machine: Machine) -> None:
    _login(machine)
    _log(machine, 'unexpected status 401: {"error":{"code":"deleted_agent_runtime_id","message":"Agent runtime has been deleted"}}')
    f = one(machine, ID, Severity.WARNING)
    assert "deleted on the server" in f.detail and "see access-token-invalid" in f.detail
    assert "CODEX_ACCESS_TOKEN" in f.fix.summary


def test_workspace_and_plan_in_the_database(machine: Machine) -> None:
    _login(machine)
    db = create_db(machine.codex_home / "logs_2.sqlite")
    add_rows(db, [(machine.now - timedelta(minutes=3), "No eligible ChatGPT workspaces found")], target="codex_core::auth")
    add_rows(db, [(machine.now - timedelta(minutes=2), "Usage not included with the plan")], target="codex_core::client")
    f = one(machine, ID, Severity.WARNING)
    assert "no workspace where Codex is enabled" in f.detail and "does not include Codex usage" in f.detail
    assert f.fix.commands == ("codex logout", "codex login")
    assert len(f.origins) == 2


def test_login_callback_errors_in_codex_login_log(machine: Machine) -> None:
    _login(machine)
    _log(machine, "login callback state mismatch", target="codex_cli::login", name="codex-login.log")
    f = one(machine, ID, Severity.WARNING)
    assert "different login attempt" in f.detail


def test_generic_words_on_unrelated_lines_are_ignored(machine: Machine) -> None:
    """`Permission denied (os error 13)` from a shell command the agent ran is not about auth.json."""
    _login(machine)
    _log(machine, "exec command failed: Permission denied (os error 13)", target="codex_core::exec")
    _log(machine, "bind 127.0.0.1:3000: Address already in use", target="codex_core::exec")
    quiet(machine, ID)


def test_generic_words_on_auth_lines_count(machine: Machine) -> None:
    _login(machine)
    _log(
        machine, "failed to persist refreshed tokens to auth.json: Read-only file system (os error 30)", target="codex_login::auth::storage"
    )
    f = one(machine, ID, Severity.WARNING)
    assert "cannot be written" in f.detail


def test_refresh_and_network_lines_are_not_repeated_here(machine: Machine) -> None:
    _login(machine)
    _log(
        machine,
        "Failed to refresh token: error sending request for url (https://auth.openai.com/oauth/token)",
        target="codex_login::auth::manager",
    )
    quiet(machine, ID)
