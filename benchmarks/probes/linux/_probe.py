"""What every Linux probe needs: a private network namespace, errno names, readiness, counters.

Each probe is its own process. `isolate()` moves that process into a new network namespace
(unshare(CLONE_NEWNET)) with only `lo`, brought up; every sysctl a probe writes is written
there, to that namespace's own copy of the net.* tables, and vanishes with the process. The
probes refuse to write a sysctl unless the namespace is a fresh one (`write_sysctl` checks).
`arm(seconds)` bounds the whole run with SIGALRM, so no wait can hang.
"""

from __future__ import annotations

import ctypes
import errno
import fcntl
import os
import platform
import select
import signal
import socket
import struct
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from typing import Any

_libc = ctypes.CDLL(None, use_errno=True)
_libc.unshare.argtypes = [ctypes.c_int]
_libc.listen.argtypes = [ctypes.c_int, ctypes.c_int]
_libc.connect.argtypes = [ctypes.c_int, ctypes.c_char_p, ctypes.c_uint]
CLONE_NEWNET = 0x40000000
SIOCGIFFLAGS = 0x8913
SIOCSIFFLAGS = 0x8914
IFF_UP = 0x1

_HOST_NETNS: str | None = None

POLL_BITS = (
    ("POLLIN", select.POLLIN),
    ("POLLPRI", select.POLLPRI),
    ("POLLOUT", select.POLLOUT),
    ("POLLERR", select.POLLERR),
    ("POLLHUP", select.POLLHUP),
    ("POLLRDHUP", getattr(select, "POLLRDHUP", 0x2000)),
    ("POLLNVAL", select.POLLNVAL),
)
ALL_EVENTS = 0
for _n, _b in POLL_BITS:
    if _n != "POLLNVAL":
        ALL_EVENTS |= _b

TCP_STATES = {
    1: "ESTABLISHED", 2: "SYN_SENT", 3: "SYN_RECV", 4: "FIN_WAIT1", 5: "FIN_WAIT2",
    6: "TIME_WAIT", 7: "CLOSE", 8: "CLOSE_WAIT", 9: "LAST_ACK", 10: "LISTEN", 11: "CLOSING",
}

LINGER0 = struct.pack("ii", 1, 0)


def header(title: str) -> None:
    print(f"# {title}")
    print(f"# kernel {platform.release()}, private network namespace, loopback only")


def arm(seconds: int) -> None:
    """Kill this probe if it runs longer than `seconds` (every wait bounded)."""
    def _expired(signum: int, frame: Any) -> None:
        print(f"# probe exceeded its {seconds} s bound", file=sys.stderr)
        os._exit(3)
    signal.signal(signal.SIGALRM, _expired)
    signal.alarm(seconds)


def isolate() -> None:
    """Enter a new network namespace with `lo` up; refuse to go on if that fails."""
    global _HOST_NETNS
    if os.geteuid() != 0:
        sys.exit("the probes need root: they unshare a network namespace and write its sysctls")
    _HOST_NETNS = os.readlink("/proc/self/ns/net")
    if _libc.unshare(CLONE_NEWNET) != 0:
        e = ctypes.get_errno()
        sys.exit(f"unshare(CLONE_NEWNET): {errno.errorcode.get(e, e)}")
    if os.readlink("/proc/self/ns/net") == _HOST_NETNS:
        sys.exit("unshare() returned but the network namespace is the host's")
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        ifr = struct.pack("16sH22x", b"lo", 0)
        flags = struct.unpack("16sH22x", fcntl.ioctl(s, SIOCGIFFLAGS, ifr))[1]
        fcntl.ioctl(s, SIOCSIFFLAGS, struct.pack("16sH22x", b"lo", flags | IFF_UP))


def in_private_netns() -> bool:
    return _HOST_NETNS is not None and os.readlink("/proc/self/ns/net") != _HOST_NETNS


def _sysctl_path(name: str) -> str:
    if not name.startswith("net.") or "/" in name:
        raise ValueError(f"only net.* sysctls are written by the probes: {name}")
    return "/proc/sys/" + name.replace(".", "/")


def read_sysctl(name: str) -> str:
    with open(_sysctl_path(name)) as f:
        return f.read().strip()


def write_sysctl(name: str, value: int | str) -> str:
    """Write a net.* sysctl of the private namespace; '0' or the errno name."""
    if not in_private_netns():
        raise RuntimeError("refusing to write a sysctl outside a private network namespace")
    try:
        with open(_sysctl_path(name), "w") as f:
            f.write(str(value))
    except OSError as exc:
        return errname(exc.errno or 0)
    return "0"


def errname(code: int) -> str:
    name = errno.errorcode.get(code, f"E{code}")
    return {"EWOULDBLOCK": "EAGAIN", "ENOTSUP": "EOPNOTSUPP"}.get(name, name)


def res(fn: Callable[..., Any], *args: Any) -> str:
    """Call fn; the result as a trace would print it: a value, or -1 ERRNO."""
    try:
        value = fn(*args)
    except OSError as exc:
        return f"-1 {errname(exc.errno or 0)}"
    if value is None:
        return "0"
    if isinstance(value, socket.socket):
        return "fd"
    if isinstance(value, tuple) and value and isinstance(value[0], socket.socket):
        return "fd"
    return repr(value)


def c_listen(s: socket.socket, backlog: int) -> None:
    """listen(2) through libc: CPython turns a negative backlog into 0."""
    if _libc.listen(s.fileno(), backlog) != 0:
        e = ctypes.get_errno()
        raise OSError(e, os.strerror(e))


def poll_flags(s: socket.socket | int, events: int = ALL_EVENTS, timeout_ms: int = 0) -> str:
    p = select.poll()
    p.register(s, events)
    got = p.poll(timeout_ms)
    bits = got[0][1] if got else 0
    names = [n for n, b in POLL_BITS if bits & b]
    return "|".join(names) if names else "0"


def wait_for(s: socket.socket, events: int, timeout: float) -> int:
    p = select.poll()
    p.register(s, events)
    got = p.poll(int(timeout * 1000))
    return got[0][1] if got else 0


def tcp_state(s: socket.socket) -> str:
    try:
        raw = s.getsockopt(socket.IPPROTO_TCP, socket.TCP_INFO, 8)
    except OSError as exc:
        return f"-1 {errname(exc.errno or 0)}"
    return TCP_STATES.get(raw[0], str(raw[0]))


def so_error(s: socket.socket) -> str:
    v = s.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR)
    return errname(v) if v else "0"


def acceptconn(s: socket.socket) -> int:
    return s.getsockopt(socket.SOL_SOCKET, socket.SO_ACCEPTCONN)


def sockname(s: socket.socket) -> str:
    try:
        name = s.getsockname()
    except OSError as exc:
        return f"-1 {errname(exc.errno or 0)}"
    if isinstance(name, tuple):
        return f"{name[0]}:{name[1]}"
    return repr(name)


def peername(s: socket.socket) -> str:
    try:
        name = s.getpeername()
    except OSError as exc:
        return f"-1 {errname(exc.errno or 0)}"
    if isinstance(name, tuple):
        return f"{name[0]}:{name[1]}"
    return repr(name)


def port_held(port: int) -> bool:
    """Does someone hold 127.0.0.1:port in the bind table? (a plain bind conflicts)"""
    t = socket.socket()
    try:
        t.bind(("127.0.0.1", port))
    except OSError as exc:
        if exc.errno == errno.EADDRINUSE:
            return True
        raise
    finally:
        t.close()
    return False


def tcp_socket(nonblocking: bool = True) -> socket.socket:
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.setblocking(not nonblocking)
    return s


def listener(backlog: int = 16, port: int = 0, reuseport: bool = False) -> socket.socket:
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    if reuseport:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
    s.bind(("127.0.0.1", port))
    c_listen(s, backlog)
    s.setblocking(False)
    return s


def closed_port() -> tuple[socket.socket, int]:
    """A port held by a bound, non-listening socket: a SYN to it is answered by a RST."""
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.bind(("127.0.0.1", 0))
    return s, s.getsockname()[1]


def nb_connect(s: socket.socket, addr: tuple[str, int]) -> str:
    """One non-blocking connect(); its immediate return."""
    return res(s.connect, addr)


def settle(s: socket.socket, timeout: float = 1.0) -> None:
    """Wait (bounded) until a non-blocking connect has an outcome (POLLOUT or an error)."""
    wait_for(s, select.POLLOUT | select.POLLERR | select.POLLHUP, timeout)


def linger0(s: socket.socket) -> None:
    s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, LINGER0)


def recv_nb(s: socket.socket, n: int = 100) -> str:
    try:
        data = s.recv(n, socket.MSG_DONTWAIT)
    except OSError as exc:
        return f"-1 {errname(exc.errno or 0)}"
    return repr(data) if data else "0 (EOF)"


def send_nb(s: socket.socket, data: bytes = b"x") -> str:
    try:
        return str(s.send(data, socket.MSG_DONTWAIT | socket.MSG_NOSIGNAL))
    except OSError as exc:
        return f"-1 {errname(exc.errno or 0)}"


def counters() -> dict[str, int]:
    """TcpExt.* and Tcp.* of this namespace (/proc/self/net/{netstat,snmp})."""
    out: dict[str, int] = {}
    for name in ("netstat", "snmp"):
        with open(f"/proc/self/net/{name}") as f:
            lines = f.read().splitlines()
        for head, vals in zip(lines[0::2], lines[1::2], strict=False):
            p, _, names = head.partition(":")
            _, _, nums = vals.partition(":")
            for k, v in zip(names.split(), nums.split(), strict=False):
                with suppress(ValueError):
                    out[f"{p}.{k}"] = int(v)
    return out


def delta(before: dict[str, int], after: dict[str, int]) -> dict[str, int]:
    return {k: after[k] - before.get(k, 0) for k in after if after[k] != before.get(k, 0)}


TCP_COUNTERS = (
    "TcpExt.ListenOverflows", "TcpExt.ListenDrops", "TcpExt.TCPReqQFullDoCookies",
    "TcpExt.TCPReqQFullDrop", "TcpExt.SyncookiesSent", "TcpExt.SyncookiesRecv",
    "TcpExt.SyncookiesFailed", "TcpExt.TCPAbortOnData", "TcpExt.TCPAbortOnClose",
    "TcpExt.TCPDeferAcceptDrop", "TcpExt.TCPTimeouts", "TcpExt.TCPSynRetrans",
    "TcpExt.EmbryonicRsts", "TcpExt.TCPMigrateReqSuccess", "TcpExt.TCPMigrateReqFailure",
    "Tcp.AttemptFails", "Tcp.EstabResets", "Tcp.OutRsts", "Tcp.PassiveOpens",
    "Tcp.ActiveOpens", "Tcp.RetransSegs",
)


def show_delta(before: dict[str, int], after: dict[str, int],
               keys: tuple[str, ...] = TCP_COUNTERS) -> str:
    d = delta(before, after)
    parts = [f"{k.split('.', 1)[1]}+{d[k]}" for k in keys if d.get(k)]
    return ", ".join(parts) if parts else "no counter moved"


def ss(args: str) -> list[str]:
    """`ss -H ARGS` in this namespace (sock_diag), lines without the header."""
    out = subprocess.run(["ss", "-H", *args.split()], capture_output=True, text=True,
                         timeout=5, check=True)
    return [line for line in out.stdout.splitlines() if line.strip()]


def listen_queue(s: socket.socket) -> str:
    """Recv-Q/Send-Q of listener s, found by inode in `ss -ltne` (sock_diag)."""
    ino = os.fstat(s.fileno()).st_ino
    fam = "-4" if s.family == socket.AF_INET else "-6"
    for line in ss(f"-ltne {fam}"):
        if f"ino:{ino} " in line + " ":
            f = line.split()
            return f"Recv-Q={f[1]} Send-Q={f[2]}"
    return "not listed"


def syn_recv_count(port: int) -> int:
    return sum(1 for line in ss(f"-tn state syn-recv sport = :{port}"))


@contextmanager
def closing(*socks: socket.socket) -> Iterator[None]:
    try:
        yield
    finally:
        for s in socks:
            s.close()


def elapsed(t0: float) -> str:
    return f"{time.monotonic() - t0:.2f}s"


def c_connect_raw(s: socket.socket, addr: bytes) -> None:
    """connect(2) with a raw sockaddr (e.g. AF_UNSPEC, which CPython refuses to build)."""
    if _libc.connect(s.fileno(), addr, len(addr)) != 0:
        e = ctypes.get_errno()
        raise OSError(e, os.strerror(e))
