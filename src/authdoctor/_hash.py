"""SHA-256 without loading OpenSSL.

``hashlib`` loads the OpenSSL binding on import, which costs several
milliseconds of a check whose budget is "no slower than ``codex login
status``".  CPython's built-in implementation is plenty for fingerprints.
"""

from __future__ import annotations

try:  # CPython 3.11
    from _sha256 import sha256  # type: ignore[import-not-found,unused-ignore]
except ImportError:  # pragma: no cover - CPython 3.12+ / other interpreters
    try:
        from _sha2 import sha256  # type: ignore[import-not-found,no-redef,unused-ignore]
    except ImportError:
        from hashlib import sha256  # type: ignore[assignment,no-redef,unused-ignore]


def sha256_hex(data: bytes) -> str:
    return str(sha256(data).hexdigest())
