"""network-failure: auth requests failing in transit are network trouble, not a dead login."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from authdoctor.diagnose.finding import Severity
from tests.conftest import Machine
from tests.diagnose.rules.conftest import one, quiet
from tests.logtools import FIXTURES, MODELS_OFFLINE, REUSED, UNREACHABLE, tracing_line, write_text_log
from tests.logtools import stored_login as _login

ID = "network-failure"


def _tui(machine: Machine, *messages: str, ago: timedelta = timedelta(minutes=10), target: str = "codex_login::auth::manager") -> None:
    lines = [tracing_line(machine.now - ago, m, target=target) for m in messages]
    write_text_log(machine.codex_home / "log" / "codex-tui.log", lines)


def test_captured_unreachable_refresh(machine: Machine) -> None:
    machine.now = datetime(2026, 11, 22, tzinfo=UTC)
    _login(machine, ago=timedelta(days=3))
    log = machine.codex_home / "log" / "codex-tui.log"
    log.parent.mkdir(parents=True)
    log.write_bytes((FIXTURES / "refresh-unreachable.log").read_bytes())
    f = one(machine, ID, Severity.WARNING)
    assert "not a dead login" in f.title
    assert "may be fine" in f.detail
    assert "authdoctor where" in f.fix.summary
    assert "refresh-failed" not in machine.ids()


def test_tls_interception(machine: Machine) -> None:
    _login(machine)
    _tui(
        machine,
        "Failed to refresh token: error sending request for url (https://auth.openai.com/oauth/token): "
        "invalid peer certificate: UnknownIssuer",
    )
    f = one(machine, ID, Severity.WARNING)
    assert "TLS" in f.detail and "CODEX_CA_CERTIFICATE" in f.fix.summary


def test_model_traffic_offline_is_ordinary(machine: Machine) -> None:
    """A laptop that was offline once since the login is not a finding: only auth requests count."""
    _login(machine)
    _tui(machine, MODELS_OFFLINE, MODELS_OFFLINE, target="codex_models_manager::manager")
    quiet(machine, ID)


def test_server_error_while_refreshing(machine: Machine) -> None:
    machine.now = datetime(2026, 11, 22, tzinfo=UTC)
    _login(machine, ago=timedelta(days=3))
    log = machine.codex_home / "log" / "codex-tui.log"
    log.parent.mkdir(parents=True)
    log.write_bytes((FIXTURES / "refresh-server-500.log").read_bytes())
    f = one(machine, ID, Severity.WARNING)
    assert "5xx" in f.detail
    assert "refresh-failed" not in machine.ids()


def test_both_kinds_say_so(machine: Machine) -> None:
    _login(machine)
    _tui(machine, UNREACHABLE, REUSED)
    f = one(machine, ID, Severity.WARNING)
    assert "see refresh-failed" in f.detail
    assert "refresh-failed" in machine.ids()


def test_before_the_login_is_history(machine: Machine) -> None:
    _login(machine, ago=timedelta(hours=1))
    _tui(machine, UNREACHABLE, ago=timedelta(hours=2))
    quiet(machine, ID)


def test_region_block(machine: Machine) -> None:
    _login(machine)
    _tui(machine, 'unexpected status 403 Forbidden: {"error":{"code":"unsupported_country_region_territory"}}', target="codex_core::client")
    f = one(machine, ID, Severity.WARNING)
    assert "region" in f.detail
