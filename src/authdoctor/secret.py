"""Secrets that cannot leak by accident.

A credential read from the machine is wrapped in :class:`Secret` the moment it is
read.  Its ``repr`` and ``str`` show only a fingerprint, so a secret that slips
into an f-string, a log call or a traceback's message still prints nothing
sensitive.  Every secret also registers itself with the process-wide
:data:`REGISTRY`; the CLI passes all output through :func:`scrub` as a last
line of defence.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from authdoctor._hash import sha256_hex

REDACTED = "<redacted>"

# Values shorter than this are too common to scrub from text without mangling
# ordinary words (and are not plausible credentials anyway).
_MIN_SCRUB_LEN = 6


def fingerprint(value: str) -> str:
    """A short, stable, non-reversible name for a secret: ``sha256:1f2e3d4c``."""
    return "sha256:" + sha256_hex(value.encode("utf-8", "surrogateescape"))[:8]


class SecretRegistry:
    """Every secret value this process has seen, so output can be scrubbed."""

    def __init__(self) -> None:
        # Adding to a set is atomic under the GIL; no lock (and no threading import).
        self._values: set[str] = set()

    def add(self, value: str) -> None:
        value = value.strip()
        if len(value) >= _MIN_SCRUB_LEN:
            self._values.add(value)

    def discard(self, value: str) -> None:
        self._values.discard(value.strip())

    def values(self) -> list[str]:
        # Longest first, so a token that contains another is replaced whole.
        return sorted(self._values, key=len, reverse=True)

    def clear(self) -> None:
        self._values.clear()


REGISTRY = SecretRegistry()
# Values kept wrapped, but never scrubbed from output: places (a folder, a CA file, a password-less proxy).
UNLISTED = SecretRegistry()


class Secret:
    """A credential value.  Only :meth:`reveal` returns the value itself."""

    __slots__ = ("_fp", "_value")

    def __init__(self, value: str, *, registry: SecretRegistry = REGISTRY) -> None:
        self._value = value
        self._fp = fingerprint(value)
        registry.add(value)

    def reveal(self) -> str:
        return self._value

    @property
    def fingerprint(self) -> str:
        return self._fp

    def __bool__(self) -> bool:
        return bool(self._value.strip())

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Secret) and other._value == self._value

    def __hash__(self) -> int:
        return hash(self._fp)

    def __repr__(self) -> str:
        return f"Secret({self._fp})"

    __str__ = __repr__

    def __reduce__(self) -> tuple[object, ...]:
        # Pickling would be a way to write the value somewhere; refuse it.
        raise TypeError("Secret values cannot be pickled")


def scrub(text: str, extra: Iterable[str] = ()) -> str:
    """Replace every known secret value in ``text`` with ``<redacted>``."""
    values = REGISTRY.values()
    values.extend(v for v in extra if len(v) >= _MIN_SCRUB_LEN)
    for value in values:
        if value in text:
            text = text.replace(value, REDACTED)
    return text


# Token shapes worth blanking even when authdoctor never saw the value before (a log line
# quoting an old refresh token, a pasted error).  The lower bounds stay short on purpose: a
# log excerpt is cut at a few hundred characters, and the cut can leave only a token's start.
# Compiled on first use: most runs never show a log line.
_BODY = r"[A-Za-z0-9._~+/=-]"
_TOKEN_SHAPES = "|".join(
    (
        # A JWT (header.payload.signature): base64url JSON always starts "eyJ"; the later
        # segments may be missing when an excerpt was cut, or empty for an unsigned token.
        r"eyJ[A-Za-z0-9_-]{8,}(?:\.[A-Za-z0-9_-]*){0,2}",
        # OpenAI API keys (sk-…, sk-proj-…), refresh tokens (rt_…), personal access tokens (at-…).
        # The body must hold a digit or a capital, so prose such as "at-least-once-semantics" survives.
        r"(?<![A-Za-z0-9_-])(?:sk-|rt_|at-)(?=[A-Za-z0-9._-]*[0-9A-Z])[A-Za-z0-9._-]{12,}",
        # "Authorization: Bearer …" with any opaque value.
        r"(?<=Bearer )" + _BODY + r"{12,}",
    )
)
# NAME=value / "name": "value" for the credentials Codex reads: whatever the value looks like.
_NAMED_VALUE = (
    r"""((?:CODEX_ACCESS_TOKEN|CODEX_API_KEY|OPENAI_API_KEY|access_token|refresh_token|id_token|api_key)"?\s*[=:]\s*["']?)"""
    r"""(?!<redacted>)([^\s"',;}]{8,})"""
)
# Secrets inside URLs: sensitive query parameters (what codex-login.log redacts itself:
# `code`, `state`, `*_token` …) and the password of `scheme://user:password@host`.
_URL_SECRETS = (
    r"((?:[?&#](?:code|state|token|key|api_key|apikey|password|secret|client_secret|[A-Za-z]*_token)=))(?!<redacted>)([^&#\s)\"'<>]+)"
    r"|(://[^/\s:@]+:)(?!<redacted>)([^@/\s]+)(?=@)"
)
_compiled: list[Any] = []


def _patterns() -> list[Any]:
    if not _compiled:
        import re

        _compiled.extend((re.compile(_NAMED_VALUE), re.compile(_TOKEN_SHAPES), re.compile(_URL_SECRETS)))
    return _compiled


def looks_secret(text: str) -> bool:
    """Whether ``text`` holds a credential-shaped string, a named credential or a URL password or query secret."""
    return any(p.search(text) for p in _patterns())


def place(value: str) -> Secret:
    """A value that names a place: wrapped like a secret, but shown when a finding quotes it -- unless it holds a password
    or a token, which stay hidden."""
    plain = "@" not in value and not looks_secret(value)
    return Secret(value, registry=UNLISTED if plain else REGISTRY)


def redact_tokens(text: str) -> str:
    """``text`` with every known secret and every credential-shaped string replaced by ``<redacted>``."""
    named, shapes, urls = _patterns()
    text = scrub(text)
    text = named.sub(lambda m: m.group(1) + REDACTED, text)
    text = urls.sub(lambda m: (m.group(1) or m.group(3)) + REDACTED, text)
    return str(shapes.sub(REDACTED, text))
