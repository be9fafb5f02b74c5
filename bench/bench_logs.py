#!/usr/bin/env python3
"""Time authdoctor's log scanner against ``grep -c -E`` on a generated 1 GiB codex-tui.log.

The log is made of the lines Codex writes to ``~/.codex/log/codex-tui.log``
(``tracing`` INFO/DEBUG/TRACE lines, timestamps increasing), with about one
line in 2000 taken from the real Codex 0.169.0 error lines in
``tests/fixtures/codex-0.169.0``.  Both tools get the same signatures: grep
the ERE ``alternation()`` of the signature table, authdoctor its scanner
(``scan_lines`` from offset 0 on the whole file).  They must report the same
number of matching lines.  Every timed command runs in its own process, after
the file is in the page cache; the best of ``--runs`` counts, and the peak RSS
is the child's own (``wait4``).

Also timed: the stdlib ``re`` fallback (used when RE2 is missing), the "since
the login" path (``scan_file`` with a ``since`` in the last 1% of the file:
a binary search, then only the tail is read), and a smaller log to show that
the scanner's memory does not grow with the file.

Target: authdoctor's throughput at least half of grep's, in constant memory.

    python bench/bench_logs.py [--size 1G] [--small 256M] [--runs 3] [--dir DIR] [--keep]
"""

from __future__ import annotations

import argparse
import json
import random
import re
import shutil
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, NamedTuple

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "src"))

from authdoctor.codex import signatures as S  # noqa: E402

FIXTURES = REPO / "tests" / "fixtures" / "codex-0.169.0"
SIGNATURE_EVERY = 2000  # about one signature line per this many lines
_STAMP = re.compile(r"^(?:\x1b\[[0-9;]*m)*\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d+Z(?:\x1b\[[0-9;]*m)*\s*")
_ANSI = re.compile(r"\x1b\[[0-9;]*m")


# --- the log --------------------------------------------------------------------------------------


def parse_size(text: str) -> int:
    m = re.fullmatch(r"(\d+(?:\.\d+)?)\s*([KMGkmg]?)(?:i?[Bb])?", text.strip())
    if m is None:
        raise argparse.ArgumentTypeError(f"not a size: {text!r} (try 1G, 256M)")
    return int(float(m.group(1)) * 1024 ** " KMG".index((m.group(2) or " ").upper()))


def human(n: int) -> str:
    for unit, scale in (("GiB", 1 << 30), ("MiB", 1 << 20), ("KiB", 1 << 10)):
        if n >= scale:
            return f"{n / scale:.4g} {unit}"
    return f"{n} B"


def signature_lines() -> list[str]:
    """The real error lines Codex 0.169.0 logged, without their timestamps and colours."""
    pattern = re.compile(S.alternation())
    lines: list[str] = []
    for path in sorted(FIXTURES.glob("*.log")):
        for line in path.read_text(encoding="utf-8").splitlines():
            if pattern.search(line) and _STAMP.match(line):
                lines.append(_ANSI.sub("", _STAMP.sub("", line)))
    return sorted(set(lines))


_WORDS = (
    "the",
    "a",
    "to",
    "of",
    "and",
    "in",
    "is",
    "for",
    "that",
    "file",
    "test",
    "function",
    "return",
    "value",
    "path",
    "config",
    "src",
    "let",
    "me",
    "now",
)
_TOOLS = ("rg -n TODO src", "ls -la", "cargo test -p core", "git status --short", "sed -n 1,80p README.md", "pytest -q tests/unit")
_MODELS = ("gpt-5.1-codex", "gpt-5.1-codex-mini", "gpt-5.2")


def filler(rng: random.Random, thread: str, n: int) -> str:
    """One ordinary (non-error) codex-tui.log line, without its timestamp."""
    k = rng.randrange(100)
    if k < 28:
        word = rng.choice(_WORDS)
        return (
            f"TRACE codex_app_server::outgoing_message: app-server event: item/agentMessage/delta "
            f'{{"threadId":"{thread}","turnId":"{n % 97}","itemId":"msg_{n:08x}","delta":" {word}"}}'
        )
    if k < 50:
        return (
            f'TRACE codex_api::sse::responses: SSE event: {{"type":"response.output_text.delta","sequence_number":{n % 4096},'
            f'"item_id":"msg_{n:08x}","output_index":0,"content_index":0,"delta":" {rng.choice(_WORDS)}"}}'
        )
    if k < 62:
        return (
            f"DEBUG session_loop{{thread_id={thread}}}:turn{{turn.id={n % 97} model={rng.choice(_MODELS)}}}: "
            f"codex_client::transport: POST https://chatgpt.com/backend-api/codex/responses status=200 elapsed_ms={rng.randrange(80, 4000)}"
        )
    if k < 70:
        return 'DEBUG hyper_util::client::legacy::pool: reuse idle connection for ("https", chatgpt.com)'
    if k < 78:
        return (
            f'DEBUG session_loop{{thread_id={thread}}}:submission_dispatch{{otel.name="op.dispatch.user_input" '
            f'submission.id="{n}" codex.op="user_input"}}: codex_core::codex: close time.busy={rng.randrange(1, 900)}µs '
            f"time.idle={rng.randrange(1, 90)}ms"
        )
    if k < 84:
        return f" INFO session_loop{{thread_id={thread}}}: codex_core::codex: new"
    if k < 90:
        return (
            f" INFO session_loop{{thread_id={thread}}}:turn{{turn.id={n % 97}}}: codex_core::exec: exec_command "
            f'cmd=["bash","-lc","{rng.choice(_TOOLS)}"] cwd=/home/dev/project timeout_ms=120000'
        )
    if k < 94:
        return f"DEBUG codex_otel::otel_manager: sse.event kind=response.output_item.done item=msg_{n:08x} tokens={rng.randrange(1, 9000)}"
    if k < 97:
        return f" INFO codex_core::rollout::recorder: wrote rollout item thread_id={thread} bytes={rng.randrange(200, 20000)}"
    if k < 99:
        return f' WARN codex_core::mcp_connection_manager: MCP server "github" took {rng.randrange(1, 9)}.{rng.randrange(10)}s to start'
    # A multi-line message: the command's output follows on undated continuation lines.
    return (
        f" INFO codex_core::exec: command output (exit 0):\n    {rng.choice(_WORDS)} {rng.choice(_WORDS)} {n}\n"
        f"    ok: {rng.randrange(1, 400)} passed"
    )


def generate(path: Path, size: int, seed: int = 2026) -> None:
    """Write a codex-tui.log of at most ``size`` bytes, cut at a line end."""
    rng = random.Random(seed)
    errors = signature_lines()
    t = datetime(2026, 1, 5, 8, 0, tzinfo=UTC)
    micros = 0
    second = -1
    prefix = ""
    threads = [
        f"019c{rng.getrandbits(16):04x}-{rng.getrandbits(16):04x}-7{rng.getrandbits(12):03x}-a{rng.getrandbits(12):03x}-{rng.getrandbits(48):012x}"
        for _ in range(6)
    ]
    thread = threads[0]
    written = 0
    n = 0
    with path.open("wb") as out:
        while written < size:
            batch: list[str] = []
            for _ in range(4096):
                n += 1
                micros += rng.randrange(1, 500_000)
                if micros // 1_000_000 != second:
                    second = micros // 1_000_000
                    prefix = (t + timedelta(seconds=second)).strftime("%Y-%m-%dT%H:%M:%S")
                    if rng.randrange(3000) == 0:
                        thread = rng.choice(threads)
                body = rng.choice(errors) if rng.randrange(SIGNATURE_EVERY) == 0 else filler(rng, thread, n)
                batch.append(f"{prefix}.{micros % 1_000_000:06d}Z {body}\n")
            data = "".join(batch).encode()
            if written + len(data) > size:
                data = data[: size - written]
                data = data[: data.rfind(b"\n") + 1]
                size = written + len(data)  # stop after this batch
            out.write(data)
            written += len(data)


def ensure_log(directory: Path, size: int) -> Path:
    path = directory / f"codex-tui-{size}.log"
    if path.exists() and path.stat().st_size <= size and path.stat().st_size > size - 64 * 1024:
        return path
    start = time.perf_counter()
    print(f"generating {path} ({human(size)}) ...", end=" ", flush=True)
    generate(path.with_suffix(".tmp"), size)
    path.with_suffix(".tmp").replace(path)
    print(f"{time.perf_counter() - start:.1f} s", flush=True)
    return path


def warm(path: Path) -> None:
    with path.open("rb") as fh:
        while fh.read(16 << 20):
            pass


def stamp_at(path: Path, fraction: float) -> datetime:
    """The timestamp of the first dated line at or after ``fraction`` of the file."""
    from authdoctor.collect.logs.scan import parse_timestamp

    with path.open("rb") as fh:
        fh.seek(int(path.stat().st_size * fraction))
        fh.readline()
        for line in fh:
            when = parse_timestamp(line)
            if when is not None:
                return when
    raise SystemExit(f"no dated line after {fraction:.0%} of {path}")


# --- timing -----------------------------------------------------------------------------------------


class Run(NamedTuple):
    seconds: float  # wall time of the whole process (start-up included, as for grep)
    maxrss: int | None  # bytes: the process's own peak resident set
    stdout: str


def gnu_time() -> str | None:
    """GNU time, to read grep's peak RSS (``wait4`` in this process would report at least this process's own peak:
    Linux carries a parent's high-water mark into a forked child)."""
    path = shutil.which("time", path="/usr/bin:/bin")
    if path is None:
        return None
    probe = subprocess.run([path, "-f", "%M", "true"], capture_output=True, text=True, check=False)
    return path if probe.returncode == 0 and probe.stderr.strip().isdigit() else None


def run(argv: list[str], timer: str | None = None) -> Run:
    with tempfile.NamedTemporaryFile("r", suffix=".rss") as rss:
        full = [timer, "-f", "%M", "-o", rss.name, *argv] if timer else argv
        start = time.perf_counter()
        # No timeout: with one, Python polls the child with growing sleeps.
        proc = subprocess.run(full, stdin=subprocess.DEVNULL, capture_output=True, check=False)
        seconds = time.perf_counter() - start
        if proc.returncode not in (0, 1):  # grep -c exits 1 when nothing matched
            raise SystemExit(f"{argv[0]} failed ({proc.returncode}): {proc.stderr.decode(errors='replace')}")
        kib = rss.read().strip().splitlines()[-1:] if timer else []
    out = proc.stdout.decode()
    if out.startswith("{"):
        return Run(seconds, json.loads(out)["peak_rss"], out)
    return Run(seconds, int(kib[0]) * 1024 if kib and kib[0].isdigit() else None, out)


def best(argv: list[str], runs: int, timer: str | None = None) -> Run:
    return fastest([run(argv, timer) for _ in range(max(1, runs))])


def paired(a: list[str], b: list[str], runs: int, timer: str | None = None) -> tuple[Run, Run]:
    """Best of ``runs`` rounds of both commands, in shuffled order, so that load from elsewhere hits both alike."""
    results: tuple[list[Run], list[Run]] = ([], [])
    for _ in range(max(1, runs)):
        order = [0, 1]
        random.shuffle(order)
        for i in order:
            results[i].append(run((a, b)[i], timer if i == 0 else None))
    return fastest(results[0]), fastest(results[1])


def fastest(results: list[Run]) -> Run:
    fastest = min(results, key=lambda r: r.seconds)
    peaks = [r.maxrss for r in results if r.maxrss is not None]
    return Run(fastest.seconds, max(peaks) if peaks else None, fastest.stdout)


def peak_rss() -> int:
    """This process's peak resident set since it started (``VmHWM``; ``ru_maxrss`` elsewhere)."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) * 1024
    except OSError:
        pass
    import resource

    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * (1 if sys.platform == "darwin" else 1024)


def scanner_argv(path: Path, engine: str, since: datetime | None = None, *, tail: bool = False) -> list[str]:
    argv = [sys.executable, str(Path(__file__).resolve()), "--child", str(path), "--engine", engine]
    if since is not None:
        argv += ["--since", since.isoformat()]
    if tail:
        argv.append("--tail")
    return argv


def child(path: Path, engine: str, since: datetime | None, tail: bool) -> int:
    """One scan, in this process; prints what it found as JSON."""
    from authdoctor.collect.logs import scan

    size = path.stat().st_size
    agg = scan.Aggregator()
    start = time.perf_counter()
    if tail:
        result = scan.scan_file(path, str(path), agg, since=since, size=size)
        used = scan.matcher(size - result.start_offset).engine
    else:
        match = scan.matcher(size)
        if engine == "re":
            match = scan.Matcher(re.compile(S.alternation().encode()), "re")
        used = match.engine
        with path.open("rb") as fh:
            result = scan.scan_lines(fh, str(path), match, agg, since=since, start=0)
    seconds = time.perf_counter() - start
    hits = sum(s.hits for s in agg.summaries())
    print(json.dumps({"engine": used, "seconds": seconds, "hits": hits, "peak_rss": peak_rss(), **result._asdict()}))
    return 0


def scan_run(path: Path, engine: str, runs: int, since: datetime | None = None, *, tail: bool = False) -> tuple[Run, dict[str, Any]]:
    result = best(scanner_argv(path, engine, since, tail=tail), runs)
    return result, json.loads(result.stdout)


def mbps(size: int, seconds: float) -> float:
    return size / seconds / 1e6


class Row(NamedTuple):
    size: int  # the size asked for
    nbytes: int  # the file's (cut at a line end)
    command: str
    run: Run
    note: str


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--size", type=parse_size, default=1 << 30, help="size of the generated log (default 1G)")
    parser.add_argument("--small", type=parse_size, default=256 << 20, help="a second, smaller log for the memory comparison (0: none)")
    parser.add_argument("--runs", type=int, default=3, help="best of this many runs (default 3)")
    parser.add_argument(
        "--re-on",
        choices=("small", "big", "none"),
        default="small",
        help="which log the slow stdlib-re fallback is timed on, once (default: the small one; ~4 MB/s)",
    )
    parser.add_argument("--dir", type=Path, help="where to keep the generated logs (default: a temporary directory)")
    parser.add_argument("--keep", action="store_true", help="do not delete the generated logs")
    parser.add_argument("--child", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--engine", default="re2", help=argparse.SUPPRESS)
    parser.add_argument("--since", type=datetime.fromisoformat, help=argparse.SUPPRESS)
    parser.add_argument("--tail", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child is not None:
        return child(args.child, args.engine, args.since, args.tail)

    grep = shutil.which("grep")
    if grep is None:
        raise SystemExit("grep not found")
    if args.dir is not None:
        args.dir.mkdir(parents=True, exist_ok=True)
    timer = gnu_time()
    base = args.dir or Path(tempfile.mkdtemp(prefix="authdoctor-bench-logs-"))
    sizes = [args.size] + ([args.small] if args.small and args.small != args.size else [])
    made: list[Path] = []
    rows: list[Row] = []
    failures: list[str] = []
    ratio: dict[int, float] = {}
    rss: dict[int, int] = {}
    try:
        for size in sizes:
            existed = (base / f"codex-tui-{size}.log").exists()
            path = ensure_log(base, size)
            if not existed:
                made.append(path)
            actual = path.stat().st_size
            warm(path)

            since = stamp_at(path, 0.99)
            g, r = paired([grep, "-c", "-E", S.alternation(), str(path)], scanner_argv(path, "re2", since), args.runs, timer)
            grep_count = int(g.stdout.strip() or 0)
            info = json.loads(r.stdout)
            rows.append(Row(size, actual, "grep -c -E", g, f"{grep_count} lines"))
            rows.append(
                Row(
                    size, actual, f"authdoctor ({info['engine']})", r, f"{info['lines_matched']} lines (scan alone {info['seconds']:.3f} s)"
                )
            )
            ratio[size] = g.seconds / r.seconds
            rss[size] = r.maxrss or 0
            if info["lines_matched"] != grep_count:
                failures.append(f"{human(actual)}: authdoctor matched {info['lines_matched']} lines, grep {grep_count}")

            if args.re_on == ("big" if size == args.size else "small") or (args.re_on == "small" and len(sizes) == 1):
                f, finfo = scan_run(path, "re", 1)
                rows.append(Row(size, actual, "authdoctor (stdlib re, 1 run)", f, f"{finfo['lines_matched']} lines"))
                if finfo["lines_matched"] != grep_count:
                    failures.append(f"{human(actual)}: the re fallback matched {finfo['lines_matched']} lines, grep {grep_count}")

            if size == args.size:
                t, tinfo = scan_run(path, "re2", args.runs, since, tail=True)
                read = tinfo["scanned_bytes"]
                note = f"read {human(read)} ({read / actual:.1%}), {tinfo['hits']} hits since"
                rows.append(Row(size, actual, f"since the login ({tinfo['engine']})", t, note))
                if tinfo["hits"] != info["hits"]:
                    failures.append(f"the since path found {tinfo['hits']} hits after the login, the full scan {info['hits']}")
                if read > 0.02 * actual:
                    failures.append(f"the since path read {human(read)} of {human(actual)}")
    finally:
        if not args.keep:
            for path in made:
                path.unlink(missing_ok=True)
            if args.dir is None:
                shutil.rmtree(base, ignore_errors=True)

    print(f"\nbest of {args.runs} runs (wall time, process start-up included; grep and authdoctor in paired rounds, shuffled),")
    print("page cache warm; MB/s over the whole file\n")
    print(f"{'size':>9}  {'command':32} {'seconds':>8} {'MB/s':>8} {'peak RSS':>10}  result")
    for row in rows:
        secs = row.run.seconds
        peak = f"{row.run.maxrss / (1 << 20):6.1f} MiB" if row.run.maxrss is not None else "n/a"
        print(f"{human(row.size):>9}  {row.command:32} {secs:8.3f} {mbps(row.nbytes, secs):8.0f} {peak:>10}  {row.note}")
    print()
    for size in sizes:
        print(f"throughput ratio authdoctor / grep, {human(size):>9}: {ratio[size]:.2f}")
    if len(sizes) > 1:
        big, small = rss[sizes[0]], rss[sizes[1]]
        print(f"scanner peak RSS: {human(big)} at {human(sizes[0])}, {human(small)} at {human(sizes[1])} ({big / small:.2f}x)")
    verdict = "meets" if ratio[args.size] >= 0.5 else "MISSES"
    print(f"\n{verdict} the target (throughput >= 0.5x grep's) at {human(args.size)}")
    for failure in failures:
        print(f"MISMATCH: {failure}")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
