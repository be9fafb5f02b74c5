"""authdoctor: find out why an AI coding CLI will not stay logged in, and fix it safely."""

from authdoctor._startup import fast_namedtuples

__version__ = "0.1.0"

# Before any module of ours defines its NamedTuples (see _startup.py).
fast_namedtuples()
