"""Where this user's tmux servers listen, and whether any of them still answers.

What this relies on (see collect/tmux.py, which reads what the servers hold):
without ``-S``, tmux puts a server's Unix socket in ``$TMUX_TMPDIR/tmux-<uid>/``
(``/tmp`` when TMUX_TMPDIR is unset or empty); inside tmux, the first field of
``$TMUX`` names the socket of the server this terminal runs in.  A socket file
outlives a server that was killed, and connecting to it is refused.

This part runs on every check, so it stays small: collect/tmux.py (the
evidence records, the client calls, the parser) is imported only when a
server may answer.  Listing the folder and one ``connect`` per socket is all
it costs; no tmux program is ever started here.
"""

from __future__ import annotations

import stat
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from authdoctor.host import Host


# What a tmux client may see of our environment: nothing that could hold a credential.
CLIENT_ENV = ("PATH", "HOME", "LANG", "LC_ALL", "LC_CTYPE")


def client_env(host: Host) -> dict[str, str]:
    """The environment a tmux client runs with (the collector's, and fix's and undo's)."""
    return {k: v for k in CLIENT_ENV if (v := host.env.get(k)) is not None}


def socket_folder(host: Host) -> Path:
    """tmux's own folder for this user's sockets (only looked at)."""
    return host.path(host.env.get("TMUX_TMPDIR") or "/tmp") / f"tmux-{host.uid}"  # noqa: S108 - tmux's own default


def current_socket(host: Host) -> Path | None:
    """The socket of the server this terminal runs in: the first field of ``$TMUX``."""
    raw = host.env.get("TMUX", "").split(",")[0]
    return host.path(raw) if raw else None


def may_find_server(host: Host) -> bool:
    """Whether :func:`authdoctor.collect.tmux.collect_tmux` could find anything: False only when it
    would return None without running tmux.

    That is: ``$TMUX`` is unset, and tmux's socket folder is missing or every
    socket in it refuses a connection (files left by servers that died).  A
    check then neither imports the tmux collector nor starts the thread it
    runs in (``threading`` alone takes about 1.5 ms to import).
    """
    if host.uid is None or host.is_windows:
        return False
    if current_socket(host) is not None:
        return True
    folder = socket_folder(host)
    try:
        entries = host.list_dir(folder)
    except FileNotFoundError:
        return False
    except OSError:
        return True  # collect_tmux reports the folder it cannot list
    if not entries:
        return False
    real = host.realpath(folder)  # the path collect_tmux connects to
    return any(answers(real / p.name) is not False for p in entries if is_socket(host, p))


def is_socket(host: Host, path: Path) -> bool:
    st = host.stat(path, follow=False)
    return st is not None and stat.S_ISSOCK(st.st_mode)


def answers(path: Path) -> bool | None:
    """Whether a server listens on this Unix socket; False for a file a dead server left behind (no tmux to start).

    ``_socket``, not ``socket``: the wrapper module costs milliseconds of imports a check does not need.
    """
    import _socket

    sock = _socket.socket(_socket.AF_UNIX, _socket.SOCK_STREAM)
    try:
        sock.settimeout(0.2)
        sock.connect(str(path))
    except ConnectionRefusedError:
        return False
    except OSError:
        return None  # too long a path, no permission …: let tmux itself say
    finally:
        sock.close()
    return True
