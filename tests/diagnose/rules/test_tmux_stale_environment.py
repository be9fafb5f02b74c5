"""tmux-stale-environment: real tmux servers on private sockets, real start-up files on a temporary home."""

from __future__ import annotations

import subprocess
from collections.abc import Iterator

import pytest

from authdoctor.apply.apply import apply_plan
from authdoctor.apply.journal import Journal
from authdoctor.apply.tmux_writer import TmuxWriter
from authdoctor.apply.undo import undo
from authdoctor.collect import collect
from authdoctor.diagnose import Diagnosis, diagnose, origin_reports
from authdoctor.diagnose.finding import Finding, Severity
from authdoctor.diagnose.precedence import resolve
from authdoctor.diagnose.rules.base import Facts
from authdoctor.diagnose.rules.tmux_stale_environment import DIFFERENT, NOT_SET, RULE, UNCHECKED, stale
from authdoctor.plan.model import TmuxUnset
from authdoctor.plan.planner import make_plan
from authdoctor.sandbox import chatgpt_auth, personal_access_token
from tests.conftest import Machine
from tests.diagnose.rules.conftest import assert_no_secret, one, quiet, well_formed
from tests.tmuxtools import Servers, tmux_servers

ID = "tmux-stale-environment"
TOKEN = "CODEX_ACCESS_TOKEN"


@pytest.fixture
def servers(machine: Machine) -> Iterator[Servers]:
    """Servers the machine's Host finds: its TMUX_TMPDIR is theirs (never the developer's tmux)."""
    with tmux_servers() as s:
        machine.env["TMUX_TMPDIR"] = str(s.tmpdir)
        yield s


def profile(machine: Machine, text: str) -> None:
    (machine.home / ".profile").write_text(text)


def findings(machine: Machine) -> list[Finding]:
    return machine.findings(ID)


def _facts(machine: Machine) -> Facts:
    ev = machine.evidence()
    return Facts(ev, resolve(ev), origin_reports(ev))


def _facts_from(diagnosis: Diagnosis) -> Facts:
    return Facts(diagnosis.evidence, diagnosis.resolution, diagnosis.origins)


# --- (a) the start-up files do not set it (any more) ----------------------------------------


def test_files_no_longer_set_it(machine: Machine, servers: Servers) -> None:
    proxy = "http://user:s3cretpass@proxy.example:3128"
    sock = servers.start(HTTPS_PROXY=proxy)
    profile(machine, "export EDITOR=vim\n")
    f = one(machine, ID, Severity.WARNING)
    pid = servers.pids[sock]
    assert f.title == "The tmux server 'default' hands stale HTTPS_PROXY to new panes"
    assert f"The tmux server on {sock} (pid {pid}, started " in f.detail
    assert "Its global environment holds HTTPS_PROXY, which your start-up files do not set (any more)" in f.detail
    assert "every new pane still starts with that value" in f.detail
    assert "Panes opened before keep the value they started with" in f.detail
    assert f.fix.automatic is True
    assert f.fix.commands == (f"tmux -S {sock} set-environment -gu HTTPS_PROXY", "unset HTTPS_PROXY")
    assert f"`tmux -S {sock} kill-server`, which closes every pane" in f.fix.summary
    [origin] = f.origins
    assert origin.context == "tmux" and origin.path == str(sock)
    assert origin.text == "HTTPS_PROXY=<redacted> (tmux global environment; no start-up file sets it)"
    assert_no_secret([f], proxy, "s3cretpass")
    # What the fix machinery will need: socket, scope, name, value, pid.
    [entry] = stale(_facts(machine))
    assert entry.reason == NOT_SET and entry.server.socket == sock and entry.server.pid == pid
    assert entry.variable.session is None and entry.variable.value is not None and entry.variable.value.reveal() == proxy


# --- (b) they set another value ----------------------------------------------------------------


def test_files_set_a_different_value(machine: Machine, servers: Servers) -> None:
    sock = servers.start(OPENAI_BASE_URL="http://127.0.0.1:9/v1")
    profile(machine, "export EDITOR=vim\nexport OPENAI_BASE_URL=https://api.openai.com/v1\n")
    f = one(machine, ID, Severity.WARNING)
    where = f"{machine.home / '.profile'}:2"
    assert f"Its global environment holds OPENAI_BASE_URL with a different value from the one your start-up files set ({where})" in f.detail
    assert "commands tmux starts directly (`tmux new-window codex`" in f.detail
    assert "only under a condition" not in f.detail
    assert f.fix.commands[0] == f"tmux -S {sock} set-environment -gu OPENAI_BASE_URL"
    assert f.origins[0].text.endswith(f"start-up files set another value at {where})")
    [entry] = stale(_facts(machine))
    assert entry.reason == DIFFERENT and entry.files == where and not entry.conditional


def test_files_set_it_only_when_missing(machine: Machine, servers: Servers) -> None:
    servers.start(HTTPS_PROXY="http://old.example:3128")
    profile(machine, 'if [ -z "$HTTPS_PROXY" ]; then\n  export HTTPS_PROXY=http://new.example:3128\nfi\n')
    f = one(machine, ID, Severity.WARNING)
    assert f"{machine.home / '.profile'}:2 sets it only under a condition, so even a new pane's shell may keep tmux's value" in f.detail


# --- (c) a credential override while a login is stored ----------------------------------------------


def test_token_re_injected_over_a_stored_login(machine: Machine, servers: Servers) -> None:
    machine.write_auth(chatgpt_auth(machine.now, email="me@example.com"))
    token = personal_access_token()
    sock = servers.start(CODEX_ACCESS_TOKEN=token, HTTPS_PROXY="http://old.example:3128")
    # The person removed the export from their files; tmux still has it.
    profile(machine, "export HTTPS_PROXY=http://old.example:3128\n")
    f = one(machine, ID, Severity.WARNING)
    assert f.title == "The tmux server 'default' re-injects CODEX_ACCESS_TOKEN into new panes, overriding your login"
    assert "You have the ChatGPT login for me@example.com" in f.detail
    assert "Codex uses CODEX_ACCESS_TOKEN instead of it" in f.detail and "signing in again changes nothing there" in f.detail
    # HTTPS_PROXY is what the files set: not tmux's problem.
    assert "HTTPS_PROXY" not in f.detail
    assert f.fix.commands == (f"tmux -S {sock} set-environment -gu CODEX_ACCESS_TOKEN", "unset CODEX_ACCESS_TOKEN")
    assert_no_secret([f], token)
    assert_no_secret(machine.findings(), token)


def test_without_origins_only_credential_overrides_over_a_login_count(machine: Machine, servers: Servers) -> None:
    machine.write_auth(chatgpt_auth(machine.now))
    token = personal_access_token()
    servers.start(CODEX_ACCESS_TOKEN=token, HTTPS_PROXY="http://old.example:3128")
    diagnosis = diagnose(collect(machine.host(), origins=False, execute=False))
    [f] = [x for x in diagnosis.findings if x.id == ID]
    well_formed(f, ID, Severity.WARNING)
    assert "CODEX_ACCESS_TOKEN; whether your start-up files set the same value was not checked" in f.detail
    assert "HTTPS_PROXY" not in f.detail
    assert [s.reason for s in stale(_facts_from(diagnosis))] == [UNCHECKED]
    assert_no_secret([f], token)


# --- scopes and servers ----------------------------------------------------------------------------


def test_session_scope_and_two_servers(machine: Machine, servers: Servers) -> None:
    one_sock = servers.start("one", session="work")
    servers.run(one_sock, "new-session", "-d", "-s", "my sess", "sleep 600")
    servers.run(one_sock, "set-environment", "-t", "work", "CODEX_HOME", "/srv/old-codex-home")
    servers.run(one_sock, "set-environment", "-t", "my sess", "SSL_CERT_FILE", "/etc/ssl/old.pem")
    two_sock = servers.start("two", HTTP_PROXY="http://old.example:8080")
    found = findings(machine)
    assert [f.title for f in found] == [
        # Sessions in tmux's order (by name).
        "The tmux server 'one' hands stale SSL_CERT_FILE and CODEX_HOME to new panes",
        "The tmux server 'two' hands stale HTTP_PROXY to new panes",
    ]
    first = well_formed(found[0], ID, Severity.WARNING)
    assert "Session 'work' holds CODEX_HOME" in first.detail and "Session 'my sess' holds SSL_CERT_FILE" in first.detail
    [sess] = [s for s in stale(_facts(machine)) if s.variable.name == "SSL_CERT_FILE"]
    assert sess.variable.session is not None and sess.variable.session.name == "my sess"
    # A plain name is targeted by name, any other by its id (quoted: `$1` must not expand).
    assert first.fix.commands == (
        f"tmux -S {one_sock} set-environment -t '{sess.variable.session.id}' -u SSL_CERT_FILE",
        f"tmux -S {one_sock} set-environment -t 'work' -u CODEX_HOME",
        "unset SSL_CERT_FILE CODEX_HOME",
    )
    assert [o.text for o in first.origins] == [
        "SSL_CERT_FILE=<redacted> (tmux environment of session 'my sess'; no start-up file sets it)",
        "CODEX_HOME=<redacted> (tmux environment of session 'work'; no start-up file sets it)",
    ]
    assert found[1].fix.commands[0] == f"tmux -S {two_sock} set-environment -gu HTTP_PROXY"


def test_the_fix_commands_work_on_the_real_server(machine: Machine, servers: Servers) -> None:
    sock = servers.start(session="work", CODEX_ACCESS_TOKEN=personal_access_token())
    servers.run(sock, "set-environment", "-t", "work", "OPENAI_BASE_URL", "http://127.0.0.1:9/v1")
    [f] = findings(machine)
    for command in f.fix.commands[:-1]:
        subprocess.run(["sh", "-c", command], env=servers.base_env(), check=True, timeout=10)
    assert findings(machine) == []


def test_the_planner_removes_exactly_the_stale_entries(machine: Machine, servers: Servers) -> None:
    """``fix.unsets_tmux`` is what the fix machinery acts on: real changes, applied to the real server, undone."""
    token = personal_access_token()
    sock = servers.start(session="work", CODEX_ACCESS_TOKEN=token, HTTPS_PROXY="http://proxy.example:3128")
    servers.run(sock, "set-environment", "-t", "work", "CODEX_HOME", "/srv/old-codex-home")
    profile(machine, "export HTTPS_PROXY=http://proxy.example:3128\n")
    diagnosis = machine.diagnosis()
    [f] = [x for x in diagnosis.findings if x.id == ID]
    sid = servers.run(sock, "display-message", "-p", "-t", "work", "#{session_id}").strip()
    assert f.fix.unsets_tmux == ((str(sock), "", TOKEN), (str(sock), sid, "CODEX_HOME"))
    plan = make_plan(machine.host(), diagnosis, [f], stamp="2026-11-20")
    assert [(c.target.socket, c.target.session, c.target.name) for c in plan.changes if isinstance(c, TmuxUnset)] == [
        (sock, None, TOKEN),
        (sock, sid, "CODEX_HOME"),
    ]
    journal = Journal(machine.root / "journal")
    writer = TmuxWriter(machine.host()._replace(env=servers.base_env()))
    applied = apply_plan(plan, journal, now=machine.now, tmux=writer)
    quiet(machine, ID)
    # Only the stale entries went: the proxy the files also set is still there.
    assert "HTTPS_PROXY=http://proxy.example:3128" in servers.run(sock, "show-environment", "-g")
    undo(journal, applied.entry_id, tmux=writer)
    assert f"{TOKEN}={token}" in servers.run(sock, "show-environment", "-g")


# --- quiet -------------------------------------------------------------------------------------------


def test_quiet_when_tmux_holds_what_the_files_set(machine: Machine, servers: Servers) -> None:
    machine.write_auth(chatgpt_auth(machine.now))
    token = personal_access_token()
    servers.start(CODEX_ACCESS_TOKEN=token, HTTPS_PROXY="http://proxy.example:3128")
    profile(machine, f"export CODEX_ACCESS_TOKEN={token}\nexport HTTPS_PROXY=http://proxy.example:3128\n")
    quiet(machine, ID)
    # The files are the problem: the override rule points at them.
    assert "access-token-overrides-login" in machine.ids()


def test_quiet_when_the_files_compute_the_value(machine: Machine, servers: Servers) -> None:
    servers.start(HTTPS_PROXY="http://proxy.example:3128")
    profile(machine, 'export HTTPS_PROXY="$(cat ~/.proxy)"\n')
    quiet(machine, ID)


def test_quiet_without_watched_values(machine: Machine, servers: Servers) -> None:
    sock = servers.start(EDITOR="vim", CODEX_API_KEY="")
    servers.run(sock, "set-environment", "-g", "-r", "CODEX_ACCESS_TOKEN")
    quiet(machine, ID)
    assert RULE.passed in machine.diagnosis().passed


def test_quiet_when_no_server_runs(machine: Machine, servers: Servers) -> None:
    sock = servers.start(CODEX_ACCESS_TOKEN=personal_access_token())
    servers.kill_hard(sock)
    quiet(machine, ID)
    # No server was read, so nothing is claimed about tmux.
    assert RULE.passed not in machine.diagnosis().passed
