"""The human report: grouping, marks, fallback, wording of the credential lines."""

from __future__ import annotations

import io
from datetime import timedelta

from authdoctor.report.as_text import render_text
from authdoctor.report.style import ASCII, UNICODE, Style, make_style, use_color
from authdoctor.sandbox import agent_identity_jwt, api_key, chatgpt_auth
from tests.conftest import Machine

PLAIN = Style(color=False, **UNICODE)
PLAIN_ASCII = Style(color=False, **ASCII)


def seed(machine: Machine) -> None:
    machine.write_auth(chatgpt_auth(machine.now, email="me@example.com"))
    machine.env["CODEX_ACCESS_TOKEN"] = agent_identity_jwt(machine.now, expires_in=-timedelta(days=300))


def test_groups_and_order(machine: Machine) -> None:
    seed(machine)
    machine.env["OPENAI_API_KEY"] = api_key()
    text = render_text(machine.report(), PLAIN)
    sections = [line for line in text.splitlines() if line and not line.startswith(" ")]
    assert sections[1:] == [
        "Credential Codex uses",
        "Shadowed (present, but not used by interactive codex)",
        "Errors",
        "Warnings",
        "Passed",
        "2 errors, 1 warning.",
        "Run `authdoctor fix` to see the repair as a diff; nothing changes until you say yes.",
    ]
    assert "`authdoctor fix` does this for you, with a backup (`authdoctor undo` reverts it)." in text
    assert "✗ CODEX_ACCESS_TOKEN (environment)" in text
    assert "expired 300 days ago" in text
    assert "• ✓ ~/.codex/auth.json — ChatGPT" in text
    assert "me@example.com" in text


def test_paths_under_home_are_shortened(machine: Machine) -> None:
    seed(machine)
    text = render_text(machine.report(), PLAIN)
    assert str(machine.home) not in text
    assert "~/.codex/auth.json" in text


def test_ascii_marks(machine: Machine) -> None:
    seed(machine)
    text = render_text(machine.report(), PLAIN_ASCII)
    assert text.isascii() or all(ch.isascii() for ch in text.replace("…", ""))
    assert "[x] CODEX_ACCESS_TOKEN overrides" in text


def test_healthy_report(machine: Machine) -> None:
    machine.write_auth(chatgpt_auth(machine.now))
    text = render_text(machine.report(), PLAIN)
    assert "✓ No problems found." in text
    assert "Errors" not in text
    verbose = render_text(machine.report(), PLAIN, verbose=True)
    assert "✓ no CODEX_ACCESS_TOKEN overrides the stored login" in verbose


def test_not_logged_in_shows_none(machine: Machine) -> None:
    text = render_text(machine.report(), PLAIN)
    assert "Credential Codex uses\n  ✗ none" in text


class FakeStream(io.StringIO):
    def __init__(self, encoding: str, tty: bool) -> None:
        super().__init__()
        self._encoding, self._tty = encoding, tty

    @property
    def encoding(self) -> str:  # type: ignore[override]
        return self._encoding

    def isatty(self) -> bool:
        return self._tty


def test_style_choice() -> None:
    tty = FakeStream("utf-8", tty=True)
    assert use_color(tty, {}, no_color=False)
    assert not use_color(tty, {"NO_COLOR": ""}, no_color=False)
    assert not use_color(tty, {}, no_color=True)
    assert not use_color(tty, {"TERM": "dumb"}, no_color=False)
    assert use_color(FakeStream("utf-8", tty=False), {"FORCE_COLOR": "1"}, no_color=False)
    assert not use_color(FakeStream("utf-8", tty=False), {}, no_color=False)
    assert make_style(FakeStream("cp1252", tty=False), {}, no_color=False).error == "[x]"
    assert make_style(FakeStream("utf-8", tty=False), {}, no_color=False).error == "✗"
    assert make_style(FakeStream("utf-8", tty=False), {}, no_color=False, ascii_only=True).ok == "[ok]"
    coloured = make_style(tty, {}, no_color=False)
    assert coloured.paint("x", "red") == "\033[31mx\033[0m"
