"""Removing a variable from a real tmux server, journaled, and putting it back exactly."""

from __future__ import annotations

import json
import os
from datetime import UTC, datetime
from pathlib import Path

import pytest

from authdoctor._hash import sha256_hex
from authdoctor.apply.apply import ApplyRefused, apply_plan
from authdoctor.apply.journal import Journal
from authdoctor.apply.tmux_writer import TmuxWriter
from authdoctor.apply.undo import UndoRefused, undo
from authdoctor.host import Host
from authdoctor.plan.model import Plan, TmuxTarget, TmuxUnset
from tests.tmuxtools import Servers, tmux_servers

NOW = datetime(2026, 11, 21, tzinfo=UTC)


def _host(servers: Servers) -> Host:
    return Host(env=servers.base_env(), home=servers.tmpdir)


def _plan(servers: Servers, socket: Path, name: str, value: str, session: str | None = None) -> Plan:
    target = TmuxTarget(servers.tmux, socket, session, name)
    return Plan((TmuxUnset(target, sha256_hex(value.encode()), ("tmux-stale-environment",)),), (), ("tmux-stale-environment",), ())


def _global(servers: Servers, socket: Path, name: str) -> str:
    lines = servers.run(socket, "show-environment", "-g").splitlines()
    return next((line for line in lines if line.startswith((f"{name}=", f"-{name}"))), "")


def _tree_text(root: Path) -> str:
    return "".join(p.read_text(errors="replace") for p in root.rglob("*") if p.is_file() and p.suffix == ".json")


def test_unset_then_undo_puts_back_the_exact_value(tmp_path: Path) -> None:
    value = "at-tmux-" + os.urandom(8).hex() + " with 'quotes', $HOME and \"more\""
    with tmux_servers() as servers:
        socket = servers.start(CODEX_ACCESS_TOKEN=value)
        writer = TmuxWriter(_host(servers))
        journal = Journal(tmp_path / "journal")
        applied = apply_plan(_plan(servers, socket, "CODEX_ACCESS_TOKEN", value), journal, now=NOW, tmux=writer)
        assert _global(servers, socket, "CODEX_ACCESS_TOKEN") == ""
        # The value is in a private backup, never in the journal's JSON.
        assert value not in _tree_text(tmp_path / "journal")
        entry = journal.get(applied.entry_id)
        assert entry is not None and entry.records[0]["kind"] == "tmux"
        undo(journal, applied.entry_id, tmux=writer)
        assert _global(servers, socket, "CODEX_ACCESS_TOKEN") == f"CODEX_ACCESS_TOKEN={value}"
        assert undo(journal, applied.entry_id, tmux=writer).already


def test_a_session_variable(tmp_path: Path) -> None:
    with tmux_servers() as servers:
        socket = servers.start(session="work")
        sid = servers.run(socket, "display-message", "-p", "-t", "work", "#{session_id}").strip()
        servers.run(socket, "set-environment", "-t", sid, "HTTPS_PROXY", "http://127.0.0.1:9")
        writer = TmuxWriter(_host(servers))
        journal = Journal(tmp_path / "journal")
        applied = apply_plan(_plan(servers, socket, "HTTPS_PROXY", "http://127.0.0.1:9", session=sid), journal, now=NOW, tmux=writer)
        assert "HTTPS_PROXY=" not in servers.run(socket, "show-environment", "-t", sid)
        undo(journal, applied.entry_id, tmux=writer)
        assert "HTTPS_PROXY=http://127.0.0.1:9" in servers.run(socket, "show-environment", "-t", sid)


def test_refuses_when_the_value_changed_since_the_plan(tmp_path: Path) -> None:
    with tmux_servers() as servers:
        socket = servers.start(CODEX_API_KEY="sk-old-aaaaaaaaaaaa")
        servers.run(socket, "set-environment", "-g", "CODEX_API_KEY", "sk-new-bbbbbbbbbbbb")
        journal = Journal(tmp_path / "journal")
        with pytest.raises(ApplyRefused, match="changed since authdoctor read it"):
            apply_plan(_plan(servers, socket, "CODEX_API_KEY", "sk-old-aaaaaaaaaaaa"), journal, now=NOW, tmux=TmuxWriter(_host(servers)))
        assert _global(servers, socket, "CODEX_API_KEY") == "CODEX_API_KEY=sk-new-bbbbbbbbbbbb"


def test_undo_never_overwrites_a_value_set_since_and_skips_a_server_that_exited(tmp_path: Path) -> None:
    with tmux_servers() as servers:
        socket = servers.start(CODEX_API_KEY="sk-old-aaaaaaaaaaaa")
        other = servers.start("other", CODEX_API_KEY="sk-old-aaaaaaaaaaaa")
        writer = TmuxWriter(_host(servers))
        journal = Journal(tmp_path / "journal")
        applied = apply_plan(_plan(servers, socket, "CODEX_API_KEY", "sk-old-aaaaaaaaaaaa"), journal, now=NOW, tmux=writer)
        servers.run(socket, "set-environment", "-g", "CODEX_API_KEY", "sk-new-bbbbbbbbbbbb")
        with pytest.raises(UndoRefused, match="set to a new value after the fix"):
            undo(journal, applied.entry_id, tmux=writer)
        second = apply_plan(_plan(servers, other, "CODEX_API_KEY", "sk-old-aaaaaaaaaaaa"), journal, now=NOW, tmux=writer)
        servers.kill_hard(other)
        assert undo(journal, second.entry_id, tmux=writer).restored == ()


def test_a_value_that_spans_lines_is_not_put_back_by_guessing(tmp_path: Path) -> None:
    with tmux_servers() as servers:
        socket = servers.start()
        servers.run(socket, "set-environment", "-g", "SSL_CERT_FILE", "/a\nb")
        writer = TmuxWriter(_host(servers))
        journal = Journal(tmp_path / "journal")
        applied = apply_plan(_plan(servers, socket, "SSL_CERT_FILE", "/a\nb"), journal, now=NOW, tmux=writer)
        with pytest.raises(Exception, match="spans lines"):
            undo(journal, applied.entry_id, tmux=writer)


def test_journal_record_names_the_server_not_the_value(tmp_path: Path) -> None:
    value = "sk-" + os.urandom(12).hex()
    with tmux_servers() as servers:
        socket = servers.start(CODEX_API_KEY=value)
        journal = Journal(tmp_path / "journal")
        applied = apply_plan(_plan(servers, socket, "CODEX_API_KEY", value), journal, now=NOW, tmux=TmuxWriter(_host(servers)))
        entry = journal.get(applied.entry_id)
        assert entry is not None
        record = entry.records[0]
        assert record["socket"] == str(socket) and record["name"] == "CODEX_API_KEY" and record["session"] is None
        assert value not in json.dumps(record)
