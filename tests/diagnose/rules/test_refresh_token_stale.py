"""refresh-token-stale: the stored ChatGPT login has not been refreshed for too long."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest

from authdoctor.diagnose.finding import Severity
from authdoctor.sandbox import api_key, chatgpt_auth, personal_access_token
from tests.conftest import Machine
from tests.diagnose.rules.conftest import one, quiet

ID = "refresh-token-stale"


def _login(machine: Machine, *, expired_ago: timedelta, refreshed_ago: timedelta | None) -> dict[str, Any]:
    payload = chatgpt_auth(machine.now, access_expires_in=-expired_ago, last_refresh_ago=refreshed_ago or timedelta(0))
    if refreshed_ago is None:
        del payload["last_refresh"]
    return payload


def test_expired_and_not_refreshed_for_nine_days(machine: Machine) -> None:
    path = machine.write_auth(_login(machine, expired_ago=timedelta(hours=1), refreshed_ago=timedelta(days=9)))
    f = one(machine, ID, Severity.WARNING)
    assert f.title == "The stored ChatGPT login has probably gone stale"
    assert str(path) in f.detail
    assert "expired 1 hour ago" in f.detail
    assert "last refreshed 9 days ago" in f.detail and "8-day" in f.detail
    assert "Failed to refresh token: 401 Unauthorized" in f.detail
    assert "codex logout && codex login" in f.fix.summary
    assert f.fix.commands == ("codex logout", "codex login")
    assert f.origins == ()


def test_expired_and_no_last_refresh(machine: Machine) -> None:
    machine.write_auth(_login(machine, expired_ago=timedelta(days=2), refreshed_ago=None))
    f = one(machine, ID, Severity.WARNING)
    assert "no last refresh" in f.detail
    assert "refreshed" not in f.detail.split("records")[0]  # the login is not described twice


def test_still_fires_while_an_access_token_overrides_the_login(machine: Machine) -> None:
    # The login is what Codex falls back to once the variable is gone.
    machine.write_auth(_login(machine, expired_ago=timedelta(days=1), refreshed_ago=timedelta(days=30)))
    machine.env["CODEX_ACCESS_TOKEN"] = personal_access_token()
    one(machine, ID, Severity.WARNING)


# --- no false alarms ----------------------------------------------------------


def test_quiet_when_expired_an_hour_ago_and_refreshed_an_hour_ago(machine: Machine) -> None:
    machine.write_auth(_login(machine, expired_ago=timedelta(hours=1), refreshed_ago=timedelta(hours=1)))
    quiet(machine, ID)


def test_quiet_when_the_access_token_is_still_valid(machine: Machine) -> None:
    payload = chatgpt_auth(machine.now, access_expires_in=timedelta(hours=3), last_refresh_ago=timedelta(days=40))
    machine.write_auth(payload)
    quiet(machine, ID)


@pytest.mark.parametrize("refreshed_ago", [timedelta(days=8), timedelta(days=7, hours=23)])
def test_quiet_within_the_refresh_interval(machine: Machine, refreshed_ago: timedelta) -> None:
    machine.write_auth(_login(machine, expired_ago=timedelta(days=1), refreshed_ago=refreshed_ago))
    quiet(machine, ID)


def test_quiet_for_app_managed_tokens(machine: Machine) -> None:
    # The desktop app refreshes those itself.
    payload = _login(machine, expired_ago=timedelta(days=1), refreshed_ago=timedelta(days=30))
    payload["auth_mode"] = "chatgptAuthTokens"
    payload["tokens"]["refresh_token"] = ""
    machine.write_auth(payload)
    quiet(machine, ID)


def test_quiet_when_the_access_token_has_no_readable_expiry(machine: Machine) -> None:
    payload = _login(machine, expired_ago=timedelta(days=1), refreshed_ago=timedelta(days=30))
    payload["tokens"]["access_token"] = "opaque-" + "z" * 40
    machine.write_auth(payload)
    quiet(machine, ID)


def test_quiet_for_an_api_key_login(machine: Machine) -> None:
    machine.write_auth({"auth_mode": "apikey", "OPENAI_API_KEY": api_key()})
    quiet(machine, ID)


def test_quiet_without_a_login(machine: Machine) -> None:
    quiet(machine, ID)


def test_a_logged_refresh_failure_settles_it(machine: Machine) -> None:
    """The logs turn "probably stale" into refresh-failed (an error); the guess is not repeated."""
    from tests.logtools import REUSED, set_login_time, tracing_line, write_text_log

    auth = machine.write_auth(_login(machine, expired_ago=timedelta(hours=1), refreshed_ago=timedelta(days=9)))
    set_login_time(auth, machine.now - timedelta(days=9))
    write_text_log(machine.codex_home / "log" / "codex-tui.log", [tracing_line(machine.now - timedelta(hours=1), REUSED)])
    quiet(machine, ID)
    assert "refresh-failed" in machine.ids()


def test_refreshes_failing_in_transit_point_at_the_network(machine: Machine) -> None:
    from tests.logtools import UNREACHABLE, set_login_time, tracing_line, write_text_log

    auth = machine.write_auth(_login(machine, expired_ago=timedelta(hours=1), refreshed_ago=timedelta(days=9)))
    set_login_time(auth, machine.now - timedelta(days=9))
    write_text_log(machine.codex_home / "log" / "codex-tui.log", [tracing_line(machine.now - timedelta(hours=1), UNREACHABLE)])
    f = one(machine, ID, Severity.WARNING)
    assert "failing in transit" in f.detail and "fix the network first" in f.detail
