"""The streaming log scanner, on real bytes in temporary files.

The fixtures are real Codex 0.169.0 output (``tests/fixtures/codex-0.169.0``);
everything else is built here byte by byte.  Nothing reads the real home.
"""

from __future__ import annotations

import random
import re
import shutil
import subprocess
import tracemalloc
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from authdoctor.codex import signatures as S
from authdoctor.collect.logs import scan
from authdoctor.collect.logs.model import LogSummary
from authdoctor.collect.logs.scan import Aggregator, Matcher, TextScan, matcher, parse_timestamp, scan_file, scan_lines, seek_since
from authdoctor.secret import REDACTED, REGISTRY, Secret

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "codex-0.169.0"
LOGS = sorted(FIXTURES.glob("*.log"))
T0 = datetime(2026, 11, 21, 1, 48, 0, tzinfo=UTC)

REUSED = (
    b"ERROR codex_login::auth::manager: Failed to refresh token: "
    b"Your access token could not be refreshed because your refresh token was already used."
)
REJECTED = b"ERROR codex_login::auth::manager: Failed to refresh token status=401 Unauthorized"
UNREACHABLE = b"ERROR codex_login::auth::manager: Failed to refresh token: error sending request for url (http://127.0.0.1:1/oauth/token)"
CHATTER = b'DEBUG hyper_util::client::legacy::pool: reuse idle connection for ("https", chatgpt.com)'


def stamp(at: datetime) -> bytes:
    return at.strftime("%Y-%m-%dT%H:%M:%S.%fZ").encode()


def line(at: datetime, body: bytes) -> bytes:
    return stamp(at) + b" " + body + b"\n"


def std_matcher() -> Matcher:
    return Matcher(re.compile(S.alternation().encode()), "re")


def re2_matcher() -> Matcher:
    pytest.importorskip("re2")
    found = matcher(1 << 30)
    assert found.engine == "re2"
    return found


def run(
    path: Path, *, match: Matcher | None = None, since: datetime | None = None, start: int = 0
) -> tuple[TextScan, dict[str, LogSummary]]:
    agg = Aggregator()
    with path.open("rb") as fh:
        result = scan_lines(fh, path.name, match or matcher(path.stat().st_size - start), agg, since=since, start=start)
    return result, {s.signature: s for s in agg.summaries()}


def write(tmp_path: Path, data: bytes, name: str = "codex-tui.log") -> Path:
    path = tmp_path / name
    path.write_bytes(data)
    return path


def digest(found: dict[str, LogSummary]) -> dict[str, tuple[object, ...]]:
    """What a scan concluded, independent of how it read the file."""
    return {
        k: (s.hits, s.first.line, s.last.line, s.first.at, s.last.at, s.first.excerpt, s.last.excerpt, s.auth_requests)
        for k, s in found.items()
    }


@pytest.fixture
def no_secrets(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setattr(REGISTRY, "_values", set())
    yield


# --- the real Codex output ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("refresh-reused.log", {"refresh-token-reused": 21, "refresh-token-rejected": 3, "connection-failed": 8}),
        ("refresh-invalidated.log", {"refresh-token-invalidated": 20, "refresh-token-rejected": 3, "connection-failed": 7}),
        ("refresh-expired.log", {"refresh-token-expired": 20, "refresh-token-rejected": 3, "connection-failed": 7}),
        ("refresh-unknown-401.log", {"refresh-token-rejected": 23, "connection-failed": 7}),
        ("refresh-server-500.log", {"refresh-server-error": 40, "connection-failed": 7}),
        ("refresh-unreachable.log", {"connection-failed": 23}),
        ("daemon.stderr.log", {"refresh-token-reused": 3, "connection-failed": 1}),
    ],
)
def test_every_fixture_classifies_as_codex_meant_it(name: str, expected: dict[str, int]) -> None:
    path = FIXTURES / name
    agg = Aggregator()
    result = scan_file(path, name, agg, since=None, size=path.stat().st_size)
    found = {s.signature: s for s in agg.summaries()}
    assert {k: s.hits for k, s in found.items()} == expected
    assert result.lines_matched == sum(expected.values())
    assert result.scanned_bytes == path.stat().st_size
    for summary in found.values():
        assert summary.first.at is not None and summary.first.at.tzinfo is not None
        assert summary.first.at <= summary.last.at  # type: ignore[operator]
        assert "\x1b" not in summary.first.excerpt + summary.last.excerpt
    refresh = [s for s in found.values() if S.BY_ID[s.signature].category in (S.REFRESH, S.SERVER)]
    assert all(s.auth_requests == s.hits for s in refresh)


def test_an_unreachable_auth_server_is_network_trouble_on_auth_requests() -> None:
    path = FIXTURES / "refresh-unreachable.log"
    agg = Aggregator()
    scan_file(path, "x", agg, since=None, size=path.stat().st_size)
    (summary,) = agg.summaries()
    assert summary.signature == "connection-failed"
    # 18 refreshes that never reached the auth server; the rest is model and MCP traffic.
    assert summary.auth_requests == 18
    assert 0 < summary.auth_requests < summary.hits


def test_ansi_coloured_stderr_is_dated_and_clean(tmp_path: Path) -> None:
    _, found = run(FIXTURES / "daemon.stderr.log")
    reused = found["refresh-token-reused"]
    assert reused.first.at == datetime(2026, 11, 21, 1, 46, 11, 363947, tzinfo=UTC)
    assert reused.first.line == 3 and reused.last.line == 5
    assert reused.first.excerpt.startswith("2026-11-21T01:46:11.363947Z ERROR codex_login::auth::manager: Failed to refresh token")


# --- reading: blocks, line ends, odd bytes -------------------------------------------------------------


def all_fixtures() -> bytes:
    return b"".join(p.read_bytes() for p in LOGS)


@pytest.mark.parametrize("block", [5, 64, 333, 4096])
def test_the_block_size_changes_nothing(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, block: int) -> None:
    path = write(tmp_path, all_fixtures())
    expected_scan, expected = run(path)
    monkeypatch.setattr(scan, "BLOCK", block)
    result, found = run(path)
    assert result == expected_scan
    assert digest(found) == digest(expected)


@pytest.mark.parametrize("offset", range(40, 70, 3))
def test_a_match_straddling_a_block_boundary(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, offset: int) -> None:
    monkeypatch.setattr(scan, "BLOCK", 64)
    head = b"x" * offset + b" "
    path = write(tmp_path, head + UNREACHABLE + b"\n" + line(T0, REJECTED))
    result, found = run(path)
    assert result.lines_matched == 2
    assert found["connection-failed"].first.line == 1
    assert found["refresh-token-rejected"].first.line == 2
    assert found["refresh-token-rejected"].first.at == T0


def test_crlf_lines(tmp_path: Path) -> None:
    data = (line(T0, CHATTER) + line(T0 + timedelta(seconds=1), REUSED) + line(T0 + timedelta(seconds=2), REJECTED)).replace(b"\n", b"\r\n")
    result, found = run(write(tmp_path, data))
    assert result.lines_matched == 2
    hit = found["refresh-token-reused"].first
    assert hit.line == 2 and hit.at == T0 + timedelta(seconds=1)
    assert not hit.excerpt.endswith("\r") and hit.excerpt.endswith("already used.")
    assert found["refresh-token-rejected"].first.excerpt.endswith("401 Unauthorized")


def test_binary_garbage_around_a_match(tmp_path: Path) -> None:
    garbage = bytes(random.Random(7).randrange(256) for _ in range(20000))
    data = garbage + b"\n\xff\xfe\x00 " + REUSED + b" \x80\x81\n" + garbage + b"\n" + line(T0, REJECTED) + garbage
    path = write(tmp_path, data)
    result, found = run(path)
    assert set(found) == {"refresh-token-reused", "refresh-token-rejected"}
    assert "\ufffd" in found["refresh-token-reused"].first.excerpt
    assert found["refresh-token-rejected"].first.at == T0
    assert result.lines_matched == 2 and result.scanned_bytes == len(data)


def test_a_giant_line_without_newline_stays_in_bounded_memory(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(scan, "BLOCK", 16 * 1024)
    monkeypatch.setattr(scan, "MAX_LINE", 64 * 1024)
    blob = bytearray(b"A" * (2 * 1024 * 1024))
    blob[1_000_000 : 1_000_000 + len(REUSED)] = REUSED
    # Pieces of such a line are BLOCK + MAX_LINE long: this one sits past the first MAX_LINE bytes of its piece.
    blob[15 * 80 * 1024 - 8000 : 15 * 80 * 1024 - 8000 + len(UNREACHABLE)] = UNREACHABLE
    path = write(tmp_path, bytes(blob) + b"\n" + line(T0, REJECTED))
    tracemalloc.start()
    try:
        result, found = run(path)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 512 * 1024  # the file is 2 MiB; the buffer 84 KiB
    assert set(found) == {"refresh-token-reused", "connection-failed", "refresh-token-rejected"}
    assert len(found["refresh-token-reused"].first.excerpt) <= scan.EXCERPT
    assert found["refresh-token-rejected"].first.at == T0
    assert result.scanned_bytes == path.stat().st_size


def test_an_empty_file(tmp_path: Path) -> None:
    path = write(tmp_path, b"")
    assert run(path) == (TextScan(0, 0, 0), {})
    agg = Aggregator()
    assert scan_file(path, "x", agg, since=T0, size=0) == TextScan(0, 0, 0)
    assert agg.summaries() == []


def test_a_last_line_without_newline(tmp_path: Path) -> None:
    result, found = run(write(tmp_path, line(T0, CHATTER) + line(T0, CHATTER) + stamp(T0) + b" " + REUSED))
    assert result.lines_matched == 1
    hit = found["refresh-token-reused"].first
    assert hit.line == 3 and hit.at == T0 and hit.excerpt.endswith("already used.")


def test_line_numbers_are_one_based_from_the_start_and_unknown_after_a_seek(tmp_path: Path) -> None:
    lines = [line(T0 + timedelta(seconds=i), CHATTER) for i in range(10)]
    lines[2] = line(T0 + timedelta(seconds=2), REJECTED)
    lines[8] = line(T0 + timedelta(seconds=8), REUSED)
    lines[9] = line(T0 + timedelta(seconds=9), REJECTED)
    data = b"".join(lines)
    path = write(tmp_path, data)
    _, found = run(path)
    assert (found["refresh-token-rejected"].first.line, found["refresh-token-rejected"].last.line) == (3, 10)
    assert found["refresh-token-reused"].first.line == 9
    start = len(b"".join(lines[:5]))
    result, found = run(path, start=start)
    assert result.start_offset == start and result.scanned_bytes == len(data) - start
    assert found["refresh-token-reused"].first.line is None
    assert found["refresh-token-rejected"].hits == 1


# --- time ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("block", [None, 40, 90])
def test_a_continuation_line_takes_the_time_of_the_dated_line_above(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, block: int | None
) -> None:
    if block is not None:  # the dated line and its continuation land in different blocks
        monkeypatch.setattr(scan, "BLOCK", block)
    first = T0 + timedelta(minutes=5)
    data = (
        line(T0, CHATTER)
        + stamp(first)
        + b" ERROR codex_core::client: request failed:\n"
        + b"    caused by: Failed to refresh token: 401 Unauthorized\n"
        + b"    caused by: "
        + UNREACHABLE
        + b"\n"
    )
    _, found = run(write(tmp_path, data))
    assert found["refresh-token-rejected"].first.at == first
    assert found["refresh-token-rejected"].first.line == 3
    assert found["connection-failed"].first.at == first


def test_a_continuation_line_with_nothing_dated_above_has_no_time(tmp_path: Path) -> None:
    _, found = run(write(tmp_path, b"request failed:\n    caused by: Failed to refresh token: 401\n"))
    assert found["refresh-token-rejected"].first.at is None


def test_since_drops_older_hits_and_keeps_newer_and_undated_ones(tmp_path: Path) -> None:
    since = T0 + timedelta(hours=1)
    data = (
        line(since - timedelta(seconds=1), REUSED)
        + stamp(since - timedelta(seconds=1)) + b" ERROR request failed:\n    " + REUSED + b"\n"
        + line(since, REJECTED)
        + line(since + timedelta(days=1), REUSED)
    )  # fmt: skip
    _, found = run(write(tmp_path, data), since=since)
    assert {k: s.hits for k, s in found.items()} == {"refresh-token-reused": 1, "refresh-token-rejected": 1}
    assert found["refresh-token-reused"].first.at == since + timedelta(days=1)
    _, undated = run(write(tmp_path, REUSED + b"\n" + REUSED + b"\n"), since=since)
    assert undated["refresh-token-reused"].hits == 2 and undated["refresh-token-reused"].first.at is None


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        (b"2026-11-21T01:48:16.858802Z ERROR x", datetime(2026, 11, 21, 1, 48, 16, 858802, tzinfo=UTC)),
        (b"2026-11-21T03:48:16.858802+02:00 ERROR x", datetime(2026, 11, 21, 1, 48, 16, 858802, tzinfo=UTC)),
        (b"2026-11-21T03:48:16+0200 x", datetime(2026, 11, 21, 1, 48, 16, tzinfo=UTC)),
        (b"2026-11-20T20:48:16.5-05:00 x", datetime(2026, 11, 21, 1, 48, 16, 500000, tzinfo=UTC)),
        (b"[2026-11-21T01:48:16.123456789Z] nanoseconds", datetime(2026, 11, 21, 1, 48, 16, 123456, tzinfo=UTC)),
        (b"\x1b[2m2026-11-21T01:46:11.353594Z\x1b[0m \x1b[31mERROR\x1b[0m", datetime(2026, 11, 21, 1, 46, 11, 353594, tzinfo=UTC)),
        (b"  2026-11-21 01:48:16 indented", datetime(2026, 11, 21, 1, 48, 16).astimezone(UTC)),
        (b"2026-11-21 01:48:16.858 [error] VS Code, local time", datetime(2026, 11, 21, 1, 48, 16, 858000).astimezone(UTC)),
        (b"2026-13-45T99:99:99Z not a date", None),
        (b"ERROR no date 2026-11-21T01:48:16Z", None),
        (b"\xff\xfe\x00", None),
        (b"", None),
    ],
)
def test_parse_timestamp(raw: bytes, expected: datetime | None) -> None:
    got = parse_timestamp(raw)
    assert got == expected
    if got is not None:
        assert got.tzinfo is not None


def test_offset_and_naive_stamps_are_compared_as_instants(tmp_path: Path) -> None:
    since = datetime(2026, 11, 21, 1, 0, tzinfo=UTC)
    naive_new = (since + timedelta(hours=30)).astimezone().replace(tzinfo=None)  # local time, a day after whatever the zone
    data = (
        b"2026-11-21T02:30:00+02:00 " + REUSED + b"\n"  # 00:30 UTC: before the login
        + b"2026-11-20T23:30:00-02:00 " + REJECTED + b"\n"  # 01:30 UTC: after it
        + naive_new.strftime("%Y-%m-%d %H:%M:%S").encode() + b" " + UNREACHABLE + b"\n"
    )  # fmt: skip
    _, found = run(write(tmp_path, data), since=since)
    assert set(found) == {"refresh-token-rejected", "connection-failed"}
    assert found["refresh-token-rejected"].first.at == datetime(2026, 11, 21, 1, 30, tzinfo=UTC)
    assert found["connection-failed"].first.at == since + timedelta(hours=30)


def dated_log(lines: int = 24_000, seed: int = 11) -> tuple[bytes, list[tuple[int, datetime | None]]]:
    """A few MB of tracing lines: seconds repeat, some messages run over undated lines."""
    rng = random.Random(seed)
    parts: list[bytes] = []
    index: list[tuple[int, datetime | None]] = []  # (offset, stamp) of every line
    offset = 0
    at = T0
    for n in range(lines):
        if rng.randrange(4) == 0:
            at += timedelta(seconds=rng.randrange(1, 5))
        body = REUSED if n % 997 == 0 else CHATTER + b" " + b"z" * rng.randrange(0, 60)
        for chunk in (line(at, body), *([b"    continued output\n"] * (rng.randrange(3) if n % 50 == 0 else 0))):
            parts.append(chunk)
            index.append((offset, at if chunk[:4] == b"2026" else None))
            offset += len(chunk)
    return b"".join(parts), index


def test_seek_since_lands_before_the_first_newer_line_and_skips_the_rest(tmp_path: Path) -> None:
    data, index = dated_log()
    assert len(data) > 2 * 1024 * 1024
    path = write(tmp_path, data)
    starts = {off for off, _ in index}
    dated = [(off, at) for off, at in index if at is not None]
    rng = random.Random(3)
    probes = [at for _, at in rng.sample(dated, 40)]
    probes += [dated[0][1], dated[-1][1], T0 - timedelta(days=1), dated[-1][1] + timedelta(seconds=1)]
    probes += [at + timedelta(microseconds=500) for at in probes[:10]]  # between two stamps
    with path.open("rb") as fh:
        for since in probes:
            assert since is not None
            offset = seek_since(fh, len(data), since)
            first_newer = next((off for off, at in dated if at >= since), len(data))
            assert offset <= first_newer, since  # never skips a newer line
            assert offset in starts or offset == len(data)
            assert offset >= first_newer - 256 * 1024 or offset == 0  # and skips nearly everything older
    with path.open("rb") as fh:
        assert seek_since(fh, len(data), T0 - timedelta(days=1)) == 0


def test_scan_file_reads_only_the_tail_after_the_login(tmp_path: Path) -> None:
    data, index = dated_log()
    path = write(tmp_path, data)
    dated = [(off, at) for off, at in index if at is not None]
    _, since = dated[int(len(dated) * 0.97)]
    assert since is not None
    agg = Aggregator()
    result = scan_file(path, "x", agg, since=since, size=len(data))
    assert result.start_offset > 0 and result.scanned_bytes < 0.1 * len(data)
    _, everything = run(path, since=since)
    (summary,) = agg.summaries()
    assert summary.hits == everything["refresh-token-reused"].hits > 0
    assert summary.first.at is not None and summary.first.at >= since
    assert summary.first.line is None  # unknown after a seek


def test_an_undated_log_is_read_whole(tmp_path: Path) -> None:
    data = (CHATTER + b"\n") * 40_000 + REUSED + b"\n"
    path = write(tmp_path, data)
    with path.open("rb") as fh:
        assert seek_since(fh, len(data), T0) == 0
    agg = Aggregator()
    result = scan_file(path, "x", agg, since=T0, size=len(data))
    assert result.scanned_bytes == len(data)
    (summary,) = agg.summaries()
    assert summary.first.at is None
    assert summary.first.line == 40_001


# --- engines and grep -----------------------------------------------------------------------------------


def test_the_stdlib_and_re2_engines_agree(tmp_path: Path) -> None:
    data, _ = dated_log(4000)
    path = write(tmp_path, all_fixtures() + data + all_fixtures().replace(b"\n", b"\r\n"))
    std_scan, std = run(path, match=std_matcher())
    re2_scan, found = run(path, match=re2_matcher())
    assert std_scan == re2_scan and std_scan.lines_matched > 300
    assert digest(std) == digest(found)


def test_small_inputs_use_the_stdlib_and_big_ones_re2() -> None:
    assert matcher(0).engine == "re"
    assert matcher(scan.RE2_THRESHOLD - 1).engine == "re"
    pytest.importorskip("re2")
    assert matcher(scan.RE2_THRESHOLD).engine == "re2"


@pytest.mark.skipif(shutil.which("grep") is None, reason="grep is not installed")
@pytest.mark.parametrize("name", [p.name for p in LOGS] + ["all"])
def test_lines_matched_is_what_grep_counts(tmp_path: Path, name: str) -> None:
    path = write(tmp_path, all_fixtures() + dated_log(3000)[0]) if name == "all" else FIXTURES / name
    grep = subprocess.run(["grep", "-c", "-E", S.alternation(), str(path)], capture_output=True, text=True, check=False)
    assert grep.returncode in (0, 1), grep.stderr
    for match in (std_matcher(), matcher(1 << 30)):
        assert run(path, match=match)[0].lines_matched == int(grep.stdout)


# --- secrets ----------------------------------------------------------------------------------------------


def test_registered_secrets_are_scrubbed_from_excerpts(tmp_path: Path, no_secrets: None) -> None:
    token = "rt_live_9f8e7d6c5b4a39281706"
    Secret(token)
    data = (
        line(T0, REJECTED + f' body={{"refresh_token":"{token}"}}'.encode())
        + b"    caused by: refresh token was already used ("
        + token.encode()
        + b")\n"
    )
    _, found = run(write(tmp_path, data))
    for summary in found.values():
        for hit in (summary.first, summary.last):
            assert token not in hit.excerpt
            assert REDACTED in hit.excerpt
