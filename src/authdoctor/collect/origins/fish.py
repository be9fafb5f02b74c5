"""fish: ``config.fish``, ``conf.d/*.fish`` and universal variables in ``fish_variables``.

What fish 3.6 does at start-up (checked with the real shell, see
``tests/collect/origins/test_fish.py``):

1. Universal variables are loaded from ``$__fish_config_dir/fish_variables``
   (``~/.config/fish``, or ``$XDG_CONFIG_HOME/fish``).  ``set -Ux`` writes
   them there; they are in no config file, which is what makes a stale token
   set once with ``set -Ux`` so hard to find.
2. ``conf.d`` snippets: ``$__fish_config_dir/conf.d/*.fish``, then
   ``/etc/fish/conf.d/*.fish``, then the vendor ``conf.d`` folders, each folder
   sorted the way fish sorts globs (natural order, case-insensitive); a file
   name seen in an earlier folder masks the same name in later ones.
3. ``/etc/fish/config.fish``, then ``$__fish_config_dir/config.fish``.

The same files are read by login, interactive and non-interactive shells;
only ``status is-login`` / ``is-interactive`` tests tell them apart, and
those are ``if`` blocks, which we mark conditional.

A global variable shadows a universal one, and an *exported* global is what
child processes get.  But an unexported global does **not** hide an exported
universal variable from children (fish's ``create_export_array`` erases it,
then adds the universal one back: a known fish quirk, verified).  So a
fish trail is not listed strictly in evaluation order: per variable, the layer
(universal or global) that decides what children see is listed last, each
layer in evaluation order, so that :func:`~authdoctor.collect.origins.model.winner`
picks what fish really exports.  (A variable the session inherits, e.g. from
PAM, is a global too and so also beats a universal one: whoever merges the PAM
trail in front of this one must keep that in mind.)

Statements are read with a line grammar of fish (``_fishlang.py``: quotes,
escapes, ``;``/``and``/``or``/``&&``, blocks, ``set``, ``export``, ``setenv``,
``source``), loaded only when a file names a watched variable or sources
another file.
"""

from __future__ import annotations

import re
from functools import cmp_to_key
from pathlib import Path
from typing import TYPE_CHECKING

from authdoctor.collect.origins._textfile import LazyRegex, is_regular, list_dir, read_raw, xdg_config_home, xdg_data_home
from authdoctor.collect.origins.model import OriginScan, ScanNote, Trail

if TYPE_CHECKING:
    from authdoctor.host import Host

LOGIN = "fish login shell"
INTERACTIVE = "fish interactive shell"
# A file that could matter: it names a watched variable (checked separately) or sources another file.
_MAY_SOURCE = LazyRegex(rb"(?:^|[\s;&|(])(?:source|\.)\s", re.MULTILINE)

# --- fish's glob order --------------------------------------------------------------------


def _leading_number(s: str, i: int) -> tuple[int, int]:
    j = i
    while j < len(s) and s[j].isdigit() and s[j].isascii():
        j += 1
    return int(s[i:j]), j


def glob_compare(a: str, b: str) -> int:
    """fish's ``wcsfilecmp_glob``: natural order (numbers by value), case-insensitive, then by code point."""
    i = j = 0
    while i < len(a) and j < len(b):
        ca, cb = a[i], b[j]
        if ca.isdigit() and ca.isascii() and cb.isdigit() and cb.isascii():
            na, i2 = _leading_number(a, i)
            nb, j2 = _leading_number(b, j)
            if na != nb:
                return -1 if na < nb else 1
            i, j = i2, j2
            if i >= len(a) or j >= len(b):
                break
            ca, cb = a[i], b[j]
        la, lb = ca.lower(), cb.lower()
        if la != lb:
            return -1 if la < lb else 1
        i += 1
        j += 1
    if i >= len(a) and j >= len(b):
        return (a > b) - (a < b)
    return -1 if i >= len(a) else 1


def glob_sorted(names: list[str]) -> list[str]:
    return sorted(names, key=cmp_to_key(glob_compare))


# --- the source ------------------------------------------------------------------------------


def _sysconf_dirs(host: Host) -> list[Path]:
    """``$__fish_sysconf_dir`` candidates: /etc/fish, or Homebrew's prefix on macOS."""
    if host.platform == "darwin":
        return [Path("/opt/homebrew/etc/fish"), Path("/usr/local/etc/fish"), Path("/etc/fish")]
    return [Path("/etc/fish")]


def _vendor_conf_dirs(host: Host) -> list[Path]:
    dirs = [xdg_data_home(host) / "fish" / "vendor_conf.d"]
    raw = host.env.get("XDG_DATA_DIRS")
    if raw:
        dirs += [host.path(Path(d.rstrip("/") or "/") / "fish" / "vendor_conf.d") for d in raw.split(":") if d and Path(d).is_absolute()]
    else:
        data = "/opt/homebrew/share/fish" if host.platform == "darwin" else "/usr/share/fish"
        dirs.append(host.path(Path(data) / "vendor_conf.d"))
    extra = host.path("/usr/share/fish/vendor_conf.d")
    if extra not in dirs:
        dirs.append(extra)
    return dirs


class FishSource:
    """``config.fish``, ``conf.d`` and ``fish_variables``, in the order fish reads them."""

    name = "fish"

    def scan(self, host: Host, names: frozenset[str]) -> OriginScan:
        if host.is_windows:
            return OriginScan(self.name)
        config_dir = xdg_config_home(host) / "fish"
        universal = config_dir / "fish_variables"
        listing: list[ScanNote] = []
        startup = self.startup_files(host, config_dir, listing)
        # Most fish files never name a watched variable: a byte search decides whether
        # the fish language (``_fishlang``) is needed at all.
        notes = list(listing)
        read: list[Path] = []
        relevant = False
        for path in (universal, *startup):
            data = read_raw(host, path, notes)
            if data is None:
                continue
            read.append(path)
            if any(n.encode() in data for n in names) or (path != universal and _MAY_SOURCE().search(data)):
                relevant = True
                break
        if not relevant:
            if not read:
                return OriginScan(self.name, (), tuple(notes))
            files = tuple(read)
            return OriginScan(self.name, (Trail(LOGIN, (), files), Trail(INTERACTIVE, (), files)), tuple(notes))
        from authdoctor.collect.origins import _fishlang

        notes = list(listing)
        ev = _fishlang.Evaluator(host, names, notes)
        ev.load_universal(universal)
        for path in startup:
            ev.run_file(path)
        if not ev.files:
            return OriginScan(self.name, (), tuple(notes))
        settings = _fishlang.ordered(ev.events, ev.state)
        files = tuple(dict.fromkeys(ev.files))
        return OriginScan(self.name, (Trail(LOGIN, settings, files), Trail(INTERACTIVE, settings, files)), tuple(notes))

    @staticmethod
    def startup_files(host: Host, config_dir: Path, notes: list[ScanNote]) -> list[Path]:
        """The files fish runs at start-up, in order (those that exist)."""
        sysconf = next((host.path(d) for d in _sysconf_dirs(host) if host.stat(host.path(d)) is not None), host.path("/etc/fish"))
        out: list[Path] = []
        seen: set[str] = set()
        for directory in (config_dir / "conf.d", sysconf / "conf.d", *_vendor_conf_dirs(host)):
            entries = {p.name: p for p in list_dir(host, directory, ".fish", notes)}
            for base in glob_sorted(list(entries)):
                if base in seen:
                    continue
                seen.add(base)
                # fish skips non-files: a symlink to /dev/null masks a snippet of the same name.
                if is_regular(host, entries[base]):
                    out.append(entries[base])
        for path in (sysconf / "config.fish", config_dir / "config.fish"):
            if host.stat(path) is not None:
                out.append(path)
        return out
