"""authdoctor: find out why an AI coding CLI will not stay logged in, and fix it safely."""

__version__ = "0.1.0"
