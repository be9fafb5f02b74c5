"""Listening sockets from sock_diag netlink: the parser on crafted replies, and the real kernel with real sockets on loopback."""

from __future__ import annotations

import errno
import os
import socket
import struct
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path

import pytest

from authdoctor.host import Host
from authdoctor.host import sockdiag as D
from tests.porttools import listening
from tests.proctools import linux_only

NLM_F_MULTI = 0x2


# --- crafted replies -----------------------------------------------------------------------------


def nlmsg(kind: int, payload: bytes = b"", *, seq: int = 1, flags: int = NLM_F_MULTI, length: int | None = None) -> bytes:
    """One netlink message, padded to 4 bytes as the kernel sends it; ``length`` overrides its header's length field."""
    size = D.HEADER.size + len(payload)
    data = D.HEADER.pack(size if length is None else length, kind, flags, seq, 0) + payload
    return data + bytes(-len(data) % 4)


def diag(family: int, state: int, port: int, raw: bytes, uid: int = 1000, inode: int = 4242, attrs: bytes = b"") -> bytes:
    """A ``struct inet_diag_msg`` (72 bytes) with trailing attributes, as in a SOCK_DIAG_BY_FAMILY reply."""
    sockid = port.to_bytes(2, "big") + (0).to_bytes(2, "big") + raw.ljust(16, b"\0") + bytes(16) + bytes(4) + bytes(8)
    return struct.pack("=BBBB", family, state, 0, 0) + sockid + struct.pack("=IIIII", 0, 0, 0, uid, inode) + attrs


def done(error: int = 0, *, seq: int = 1) -> bytes:
    return nlmsg(D.NLMSG_DONE, struct.pack("=i", -error), seq=seq)


# INET_DIAG_SHUTDOWN, a one-byte attribute the kernel always adds: 5 bytes, so the message needs padding.
SHUTDOWN_ATTR = struct.pack("=HH", 5, 8) + b"\0"
V4_LOOPBACK = bytes([127, 0, 0, 1])
V6_LOOPBACK = bytes(15) + b"\x01"


def test_a_reply_with_both_families_and_the_end() -> None:
    data = (
        nlmsg(D.SOCK_DIAG_BY_FAMILY, diag(D.AF_INET, D.TCP_LISTEN, 1455, V4_LOOPBACK, attrs=SHUTDOWN_ATTR))
        + nlmsg(D.SOCK_DIAG_BY_FAMILY, diag(D.AF_INET6, D.TCP_LISTEN, 1457, V6_LOOPBACK, uid=0, inode=7))
        + done()
    )
    assert D.parse(data, 1) == ([(10, "127.0.0.1", 1455, 1000, 4242), (10, "::1", 1457, 0, 7)], True)


def test_a_multipart_reply_goes_on_until_done() -> None:
    first = nlmsg(D.SOCK_DIAG_BY_FAMILY, diag(D.AF_INET, D.TCP_LISTEN, 1455, V4_LOOPBACK)) + nlmsg(
        D.SOCK_DIAG_BY_FAMILY, diag(D.AF_INET, D.TCP_LISTEN, 8080, bytes(4), inode=5)
    )
    second = nlmsg(D.SOCK_DIAG_BY_FAMILY, diag(D.AF_INET, D.TCP_LISTEN, 1457, V4_LOOPBACK, inode=6)) + done()
    assert D.parse(first, 1) == ([(10, "127.0.0.1", 1455, 1000, 4242), (10, "0.0.0.0", 8080, 1000, 5)], False)
    assert D.parse(second, 1) == ([(10, "127.0.0.1", 1457, 1000, 6)], True)
    # The end alone, in a datagram of its own.
    assert D.parse(done(), 1) == ([], True)


def test_the_end_of_an_old_kernel_has_no_error_field() -> None:
    assert D.parse(nlmsg(D.NLMSG_DONE), 1) == ([], True)


def test_messages_for_another_request_and_noops_are_skipped() -> None:
    data = (
        nlmsg(D.SOCK_DIAG_BY_FAMILY, diag(D.AF_INET, D.TCP_LISTEN, 1455, V4_LOOPBACK), seq=7)
        + done(seq=7)
        + nlmsg(D.NLMSG_NOOP)
        + nlmsg(D.SOCK_DIAG_BY_FAMILY, diag(D.AF_INET, D.TCP_LISTEN, 1457, V4_LOOPBACK))
    )
    assert D.parse(data, 1) == ([(10, "127.0.0.1", 1457, 1000, 4242)], False)


def test_a_socket_of_another_family_is_skipped() -> None:
    assert D.parse(nlmsg(D.SOCK_DIAG_BY_FAMILY, diag(1, D.TCP_LISTEN, 1455, V4_LOOPBACK)) + done(), 1) == ([], True)


def test_the_state_is_kept_for_the_caller_to_judge() -> None:
    data = nlmsg(D.SOCK_DIAG_BY_FAMILY, diag(D.AF_INET, D.TCP_ESTABLISHED, 1455, V4_LOOPBACK))
    assert D.parse(data, 1) == ([(1, "127.0.0.1", 1455, 1000, 4242)], False)


def test_a_failed_dump_is_an_os_error() -> None:
    entries = nlmsg(D.SOCK_DIAG_BY_FAMILY, diag(D.AF_INET, D.TCP_LISTEN, 1455, V4_LOOPBACK))
    with pytest.raises(OSError, match="dump failed") as failed:
        D.parse(entries + done(errno.ENOBUFS), 1)
    assert failed.value.errno == errno.ENOBUFS


def test_an_error_message_is_an_os_error() -> None:
    request = D.dump_request(D.AF_INET, 1)
    with pytest.raises(OSError, match="refused") as refused:
        D.parse(nlmsg(D.NLMSG_ERROR, struct.pack("=i", -errno.EPERM) + request[:16], flags=0), 1)
    assert refused.value.errno == errno.EPERM
    # Error 0 is an acknowledgement: the answer is complete.
    assert D.parse(nlmsg(D.NLMSG_ERROR, struct.pack("=i", 0) + request[:16], flags=0), 1) == ([], True)


@pytest.mark.parametrize(
    ("data", "message"),
    [
        # A header that claims more than the datagram holds.
        (nlmsg(D.SOCK_DIAG_BY_FAMILY, diag(D.AF_INET, D.TCP_LISTEN, 1455, V4_LOOPBACK))[:60], "message of 88 bytes in 60"),
        # Half a header at the end.
        (done()[:10], "header cut short"),
        # A length below the header's own size would never move on.
        (nlmsg(D.SOCK_DIAG_BY_FAMILY, bytes(72), length=0), "message of 0 bytes"),
        # A whole message whose payload is too short for an inet_diag_msg.
        (nlmsg(D.SOCK_DIAG_BY_FAMILY, bytes(40)), "sock_diag message cut short"),
        (nlmsg(D.NLMSG_ERROR, b"\xff\xff", flags=0), "error message cut short"),
        (nlmsg(D.NLMSG_OVERRUN), "overrun"),
        (nlmsg(99, bytes(8)), "unexpected netlink message"),
    ],
)
def test_cut_short_or_unknown_replies_are_value_errors(data: bytes, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        D.parse(data, 1)


def test_the_request() -> None:
    data = D.dump_request(D.AF_INET6, 7)
    assert len(data) == 72
    assert D.HEADER.unpack_from(data) == (72, D.SOCK_DIAG_BY_FAMILY, D.NLM_F_REQUEST | D.NLM_F_DUMP, 7, 0)
    assert struct.unpack_from("=BBBxI", data, 16) == (D.AF_INET6, D.IPPROTO_TCP, 0, 1 << D.TCP_LISTEN)
    assert data[24:] == bytes(48)


@pytest.mark.parametrize(
    ("raw", "text"),
    [
        (V4_LOOPBACK, "127.0.0.1"),
        (bytes(4), "0.0.0.0"),
        (V6_LOOPBACK, "::1"),
        (bytes(16), "::"),
        (bytes(10) + b"\xff\xff" + V4_LOOPBACK, "::ffff:127.0.0.1"),
        (bytes.fromhex("fe80000000000000025800ff1c2a3dfe"), "fe80:0000:0000:0000:0258:00ff:1c2a:3dfe"),
    ],
)
def test_address_text(raw: bytes, text: str) -> None:
    assert D.address_text(raw) == text


# --- the real kernel ------------------------------------------------------------------------------


def socket_inode(s: socket.socket) -> int:
    """The inode behind the socket's ``/proc/self/fd`` link (``socket:[N]``), the one the owner search looks for."""
    link = os.readlink(f"/proc/self/fd/{s.fileno()}")
    assert link.startswith("socket:[") and link.endswith("]"), link
    inode = int(link[len("socket:[") : -1])
    assert inode == os.fstat(s.fileno()).st_ino
    return inode


def _on(port: int, found: list[D.Listening] | None) -> list[D.Listening]:
    assert found is not None, "sock_diag did not answer"
    return [li for li in found if li[1] == port]


@linux_only
@pytest.mark.parametrize(
    ("address", "shown"),
    [
        ("127.0.0.1", "127.0.0.1"),
        ("0.0.0.0", "0.0.0.0"),
        ("127.0.0.2", "127.0.0.2"),
        ("::1", "::1"),
        ("::", "::"),
        ("::ffff:127.0.0.1", "::ffff:127.0.0.1"),
    ],
)
def test_a_real_listener_with_its_uid_and_inode(address: str, shown: str) -> None:
    if ":" in address and not socket.has_ipv6:
        pytest.skip("no IPv6 here")
    with listening(address) as s:
        port = s.getsockname()[1]
        assert _on(port, D.listening_sockets()) == [(shown, port, os.getuid(), socket_inode(s))]


@linux_only
def test_a_bound_socket_that_does_not_listen_is_not_reported() -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        assert _on(s.getsockname()[1], D.listening_sockets()) == []


@linux_only
def test_connected_sockets_are_not_listeners() -> None:
    with listening() as server:
        port = server.getsockname()[1]
        client = socket.create_connection(("127.0.0.1", port))
        accepted, _ = server.accept()
    with client, accepted:
        # The port now has only the two ends of a connection: the kernel has them, and leaves them out.
        assert _on(port, D.listening_sockets()) == []
        established = D.ask([D.dump_request(D.AF_INET, 1, states=1 << D.TCP_ESTABLISHED)], D.TIMEOUT)
        mine = {e for e in established if e[2] in (port, client.getsockname()[1])}
        uid = os.getuid()
        assert mine == {
            (D.TCP_ESTABLISHED, "127.0.0.1", port, uid, socket_inode(accepted)),
            (D.TCP_ESTABLISHED, "127.0.0.1", client.getsockname()[1], uid, socket_inode(client)),
        }


@contextmanager
def many_listeners(count: int) -> Iterator[list[socket.socket]]:
    with ExitStack() as stack:
        yield [stack.enter_context(listening()) for _ in range(count)]


@linux_only
def test_a_dump_over_several_datagrams() -> None:
    with many_listeners(300) as sockets:
        expected = {(s.getsockname()[1], socket_inode(s)) for s in sockets}
        # One datagram at a time, as ask() reads them: the kernel needs several for 300 sockets.
        import _socket

        nl = _socket.socket(_socket.AF_NETLINK, _socket.SOCK_RAW, D.NETLINK_SOCK_DIAG)
        try:
            nl.settimeout(D.TIMEOUT)
            nl.sendto(D.dump_request(D.AF_INET, 3), (0, 0))
            datagrams, entries, finished = 0, [], False
            while not finished:
                got, finished = D.parse(nl.recv(D.RECV_BYTES), 3)
                datagrams += 1
                entries += got
        finally:
            nl.close()
        assert datagrams > 1
        assert expected <= {(e[2], e[4]) for e in entries}
        # And through the whole path, both families.
        found = D.listening_sockets()
        assert found is not None and expected <= {(li[1], li[3]) for li in found}


@linux_only
def test_the_kernel_refuses_an_unknown_family() -> None:
    # sock_diag answers NLMSG_ERROR, -EINVAL.
    with pytest.raises(OSError, match="refused") as refused:
        D.ask([D.dump_request(200, 1)], D.TIMEOUT)
    assert refused.value.errno == errno.EINVAL


@linux_only
def test_the_kernel_fails_a_dump_of_an_unknown_protocol() -> None:
    # inet_diag starts the dump, then ends it with NLMSG_DONE carrying -ENOENT.
    with pytest.raises(OSError, match="dump failed") as failed:
        D.ask([D.dump_request(D.AF_INET, 1, protocol=255)], D.TIMEOUT)
    assert failed.value.errno == errno.ENOENT
    assert D.listening_sockets(protocol=255) is None


@linux_only
def test_no_answer_times_out() -> None:
    # The kernel answers a NOOP request only when asked for an acknowledgement: nothing comes back.
    noop = D.HEADER.pack(D.HEADER.size, D.NLMSG_NOOP, D.NLM_F_REQUEST, 1, 0)
    started = time.monotonic()
    with pytest.raises(TimeoutError):
        D.ask([noop], 0.2)
    assert 0.15 < time.monotonic() - started < 2
    # listening_sockets() turns a timeout into "cannot tell".
    assert D.listening_sockets(timeout=0.0) is None


@linux_only
def test_a_truncated_datagram_is_not_trusted(monkeypatch: pytest.MonkeyPatch) -> None:
    # A buffer smaller than one message (88 bytes): the kernel cuts the datagram and says so (MSG_TRUNC).
    monkeypatch.setattr(D, "RECV_BYTES", 64)
    with listening():
        with pytest.raises(ValueError, match="larger than 64 bytes"):
            D.ask([D.dump_request(D.AF_INET, 1)], D.TIMEOUT)
        assert D.listening_sockets() is None


# --- Host.tcp_listeners -------------------------------------------------------------------------------


@linux_only
def test_the_host_asks_the_kernel_only_for_the_real_proc(tmp_path: Path) -> None:
    host = Host(env={}, home=tmp_path, platform="linux", uid=os.getuid(), proc=Path("/proc"))
    with listening() as s:
        port = s.getsockname()[1]
        assert _on(port, host.tcp_listeners()) == [("127.0.0.1", port, os.getuid(), socket_inode(s))]
        # A stand-in /proc (a test's, or the real one under another name) is read as files, never replaced by netlink.
        (tmp_path / "proc").symlink_to("/proc")
        assert host._replace(proc=tmp_path / "proc").tcp_listeners() is None
        assert host._replace(proc=None).tcp_listeners() is None
