"""Fixtures shared by the origin tests."""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest


@pytest.fixture
def shared_home() -> Iterator[Path]:
    """A home an unprivileged user can read (tmp_path lives in root's private directory)."""
    base = Path(tempfile.mkdtemp(prefix="authdoctor-origins-"))
    base.chmod(0o755)
    home = base / "home"
    home.mkdir(mode=0o755)
    try:
        yield home
    finally:
        shutil.rmtree(base, ignore_errors=True)
