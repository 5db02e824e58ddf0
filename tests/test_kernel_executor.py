"""The kernel executor (listenspec.kernel): reference/linux.md §1–5 measured through it, and its
reliability (no leaked descriptor, process or namespace; bounded waits; Ctrl-C).

Tests that need a private network namespace skip, saying why, where one cannot be made.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import tempfile
import textwrap
import time
from pathlib import Path

import pytest

if not sys.platform.startswith("linux"):
    pytest.skip("the kernel executor runs on Linux only", allow_module_level=True)

from listenspec.errors import ListenspecError
from listenspec.kernel import kernel_environment, run_on_kernel
from listenspec.kernel.libc import errno_name
from listenspec.kernel.netns import isolation_problem
from listenspec.models.profiles import get
from listenspec.results import Err, Lines, NewFd, Queue, Result, Ret, Unsupported, render
from listenspec.runner import run_model
from listenspec.script import parse

ROOT = Path(__file__).resolve().parents[1]
PROBLEM = isolation_problem()
needs_netns = pytest.mark.skipif(
    PROBLEM is not None, reason=f"no private network namespace here: {PROBLEM}"
)
linux_only = pytest.mark.skipif(sys.platform != "linux", reason="the kernel executor is Linux's")


def run(text: str, **kw: object) -> list[Result]:
    script = parse(textwrap.dedent(text).strip() + "\n", "<test>")
    results = run_on_kernel(script, **kw)  # type: ignore[arg-type]
    assert len(results) == len(script.steps)
    return results


def trace(text: str, **kw: object) -> list[str]:
    """The trace lines (`CALL = RESULT`) of a script run on the kernel."""
    script = parse(textwrap.dedent(text).strip() + "\n", "<test>")
    results = run_on_kernel(script, **kw)  # type: ignore[arg-type]
    return [f"{s.text} = {render(r)}" for s, r in zip(script.steps, results, strict=True)]


def results_of(text: str, call: str, **kw: object) -> list[Result]:
    """The results of the lines that start with `call`."""
    script = parse(textwrap.dedent(text).strip() + "\n", "<test>")
    results = run_on_kernel(script, **kw)  # type: ignore[arg-type]
    return [r for s, r in zip(script.steps, results, strict=True) if s.text.startswith(call)]


# --------------------------------------------------------------------------- plumbing


@linux_only
def test_errno_names_follow_the_contract() -> None:
    import errno

    assert errno_name(errno.EWOULDBLOCK) == "EAGAIN"
    assert errno_name(errno.ENOTSUP) == "EOPNOTSUPP"
    assert errno_name(errno.EINVAL) == "EINVAL"


@linux_only
def test_environment_says_how_runs_are_isolated() -> None:
    line = kernel_environment()
    assert "\n" not in line
    if PROBLEM is None:
        assert line.startswith("private network namespace")
    else:
        assert PROBLEM in line
    assert "refused" in kernel_environment(isolate=False)


@linux_only
def test_time_limit_must_be_positive() -> None:
    with pytest.raises(ListenspecError):
        run("s = socket(AF_INET, SOCK_STREAM)", timeout=0)


@linux_only
def test_an_empty_script_runs_nothing() -> None:
    assert run_on_kernel(parse("# nothing\n", "<empty>")) == []


# --------------------------------------------------------------------------- linux.md §1


@needs_netns
def test_listen_errors_section_1() -> None:
    lines = trace("""
        g = socket(AF_INET, SOCK_DGRAM)
        listen(g, 1)
        listen(400, 0)
        n = open()
        listen(n, 0)
        t = socket(AF_INET, SOCK_STREAM)
        listen(t, 5)
        netstat(t)
        x = socket(AF_INET, SOCK_SEQPACKET)
        listen(x, 1)
        close(t)
        listen(t, 1)
    """)
    assert lines == [
        "g = socket(AF_INET, SOCK_DGRAM) = fd",
        "listen(g, 1) = -1 EOPNOTSUPP",  # sock_no_listen
        "listen(400, 0) = -1 EBADF",
        "n = open() = fd",
        "listen(n, 0) = -1 ENOTSOCK",
        "t = socket(AF_INET, SOCK_STREAM) = fd",
        "listen(t, 5) = 0",  # unbound TCP: autobinds an ephemeral port
        "netstat(t) = 0/0/5",
        "x = socket(AF_INET, SOCK_SEQPACKET) = -1 ESOCKTNOSUPPORT",
        "listen(x, 1) = -1 EBADF",  # a NAME whose socket() failed is not open
        "close(t) = 0",
        "listen(t, 1) = -1 EBADF",  # a NAME whose descriptor was closed is not open
    ]


@needs_netns
def test_negative_and_large_backlogs_clamp_to_somaxconn() -> None:
    # __sys_listen_socket(): (unsigned)backlog > somaxconn ? somaxconn : backlog (linux.md §1).
    got = results_of("""
        sysctl("net.core.somaxconn", 8)
        s = socket(AF_INET, SOCK_STREAM)
        bind(s)
        listen(s, -1)
        netstat(s)
        listen(s, -2147483648)
        netstat(s)
        listen(s, 100)
        netstat(s)
        listen(s, 0)
        netstat(s)
        listen(s, 5)
        netstat(s)
    """, "netstat")
    assert got == [Queue(0, 0, 8), Queue(0, 0, 8), Queue(0, 0, 8), Queue(0, 0, 0), Queue(0, 0, 5)]


@needs_netns
def test_listen_goes_through_libc_unclamped() -> None:
    # CPython's socket.listen(-1) would give a backlog of 0 (linux.md §7); the kernel gives
    # somaxconn, 4096 by default in a fresh namespace.
    got = results_of("""
        s = socket(AF_INET6, SOCK_STREAM)
        bind(s)
        listen(s, -1)
        netstat(s)
    """, "netstat")
    assert got == [Queue(0, 0, 4096)]


@needs_netns
def test_sysctl_names_map_to_proc_sys() -> None:
    got = results_of("""
        sysctl("kern.ipc.somaxconn")
        sysctl("kern.ipc.somaxconn", 128)
        sysctl("net.inet.tcp.syncache.rst_on_sock_fail", 1)
        sysctl("net.core.somaxconn")
        sysctl("net.core.somaxconn", -1)
        sysctl("net.core.somaxconn", 65536)
        sysctl("net.core.somaxconn")
        sysctl("net..core")
    """, "sysctl")
    assert got == [
        Err("ENOENT"), Err("ENOENT"), Err("ENOENT"),  # FreeBSD names: nothing emulated
        Ret(4096), Err("EINVAL"), Ret(0), Ret(65536),
        Err("ENOENT"),
    ]


# --------------------------------------------------------------------------- linux.md §2


@needs_netns
def test_tcp_backlog_0_admits_one_then_drops_silently() -> None:
    lines = trace("""
        s = socket(AF_INET, SOCK_STREAM)
        bind(s)
        listen(s, 0)
        c1 = socket(AF_INET, SOCK_STREAM)
        connect(c1, s)
        c2 = socket(AF_INET, SOCK_STREAM)
        connect(c2, s)
        counter("ListenOverflows")
        counter("ListenDrops")
        netstat(s)
        getsockopt(c2, SO_ERROR)
        sleep(1.2)
        counter("ListenOverflows")
        a = accept(s)
        accept(s)
    """)
    assert lines == [
        "s = socket(AF_INET, SOCK_STREAM) = fd",
        "bind(s) = 0",
        "listen(s, 0) = 0",
        "c1 = socket(AF_INET, SOCK_STREAM) = fd",
        "connect(c1, s) = 0",
        "c2 = socket(AF_INET, SOCK_STREAM) = fd",
        "connect(c2, s) = -1 EINPROGRESS",
        'counter("ListenOverflows") = 1',  # tcp_conn_request(): +1 ListenOverflows
        'counter("ListenDrops") = 1',  # ... and +1 ListenDrops (tcp_listendrop)
        "netstat(s) = 1/0/0",
        "getsockopt(c2, SO_ERROR) = -1 EBADF",  # the dropped client was closed
        "sleep(1.2) = 0",
        # No SYN retransmission at 1.02 s (linux.md §2 Exp2b): the attempt was abandoned.
        'counter("ListenOverflows") = 1',
        "a = accept(s) = fd",
        "accept(s) = -1 EAGAIN",
    ]


@needs_netns
@pytest.mark.parametrize("backlog", [1, 2, 5])
def test_tcp_capacity_is_backlog_plus_one(backlog: int) -> None:
    clients = "\n".join(f"c{i} = socket(AF_INET, SOCK_STREAM)\nconnect(c{i}, s)"
                        for i in range(backlog + 3))
    got = results_of(f"""
s = socket(AF_INET, SOCK_STREAM)
bind(s)
listen(s, {backlog})
{clients}
netstat(s)
counter("ListenOverflows")
""", "")
    connects = [r for r in got if r in (Ret(0), Err("EINPROGRESS"))][2:]  # skip bind, listen
    assert connects == [Ret(0)] * (backlog + 1) + [Err("EINPROGRESS")] * 2
    assert got[-2:] == [Queue(backlog + 1, 0, backlog), Ret(2)]


@needs_netns
def test_connect_to_nobody_is_refused() -> None:
    got = results_of("""
        s = socket(AF_INET, SOCK_STREAM)
        bind(s)
        c = socket(AF_INET, SOCK_STREAM)
        connect(c, s)
        close(s)
        d = socket(AF_INET, SOCK_STREAM)
        connect(d, s)
    """, "connect")
    assert got == [Err("ECONNREFUSED"), Err("ECONNREFUSED")]  # S's address is remembered


@needs_netns
def test_defer_accept_keeps_the_connection_half_open() -> None:
    # linux.md §5: seconds round up to SYN-ACK retransmissions (5 -> 7); the connection waits
    # as a request socket (incqlen) until data arrives.
    lines = trace("""
        s = socket(AF_INET, SOCK_STREAM)
        bind(s)
        setsockopt(s, TCP_DEFER_ACCEPT, 5)
        getsockopt(s, TCP_DEFER_ACCEPT)
        listen(s, 3)
        c = socket(AF_INET, SOCK_STREAM)
        connect(c, s)
        netstat(s)
        accept(s)
        send(c, "GET / HTTP/1.0\\r\\n\\r\\n")
        netstat(s)
        a = accept(s)
    """)
    assert lines[3:] == [
        "getsockopt(s, TCP_DEFER_ACCEPT) = 7",
        "listen(s, 3) = 0",
        "c = socket(AF_INET, SOCK_STREAM) = fd",
        "connect(c, s) = 0",
        "netstat(s) = 0/1/3",
        "accept(s) = -1 EAGAIN",
        'send(c, "GET / HTTP/1.0\\r\\n\\r\\n") = 18',
        "netstat(s) = 1/0/3",
        "a = accept(s) = fd",
    ]


@needs_netns
@pytest.mark.parametrize(
    ("abort", "error", "last"), [(0, "0", "2/1/0"), (1, "ECONNRESET", "2/0/0")]
)
def test_ack_time_overflow_exp3(abort: int, error: str, last: str) -> None:
    # linux.md §2 Exp3: three deferred connections wait as request sockets; two become
    # children; listen(s, 0) shrinks the limit; the third's data overflows the queue at ACK time
    # (tcp_v4_syn_recv_sock(): +1/+1), and tcp_abort_on_overflow decides drop vs RST.
    lines = trace(f"""
        sysctl("net.ipv4.tcp_abort_on_overflow", {abort})
        s = socket(AF_INET, SOCK_STREAM)
        bind(s)
        setsockopt(s, TCP_DEFER_ACCEPT, 5)
        listen(s, 3)
        c1 = socket(AF_INET, SOCK_STREAM)
        connect(c1, s)
        c2 = socket(AF_INET, SOCK_STREAM)
        connect(c2, s)
        c3 = socket(AF_INET, SOCK_STREAM)
        connect(c3, s)
        netstat(s)
        send(c1, "a")
        send(c2, "b")
        listen(s, 0)
        netstat(s)
        send(c3, "c")
        counter("ListenOverflows")
        counter("ListenDrops")
        getsockopt(c3, SO_ERROR)
        netstat(s)
    """)
    assert lines[11] == "netstat(s) = 0/3/3"
    assert lines[15:] == [
        "netstat(s) = 2/1/0",  # re-listen only rewrites the limit: nothing evicted (§1)
        'send(c3, "c") = 1',
        'counter("ListenOverflows") = 1',
        'counter("ListenDrops") = 1',
        f"getsockopt(c3, SO_ERROR) = {error}",
        f"netstat(s) = {last}",  # abort 0: the request stays SYN_RECV; 1: it is reset
    ]


@needs_netns
def test_listen_on_connected_or_accepted_sockets_is_einval() -> None:
    got = results_of("""
        s = socket(AF_INET, SOCK_STREAM)
        bind(s)
        listen(s, 2)
        c = socket(AF_INET, SOCK_STREAM)
        connect(c, s)
        a = accept(s)
        listen(c, 1)
        listen(a, 1)
        listen(s, 7)
        netstat(s)
    """, "")[6:]
    assert got == [Err("EINVAL"), Err("EINVAL"), Ret(0), Queue(0, 0, 7)]


# --------------------------------------------------------------------------- linux.md §4


@needs_netns
@pytest.mark.parametrize("kind", ["SOCK_STREAM", "SOCK_SEQPACKET"])
def test_unix_backlog_1_admits_two_then_eagain(kind: str) -> None:
    lines = trace(f"""
        u = socket(AF_UNIX, {kind})
        listen(u, 1)
        bind(u)
        listen(u, 1)
        c1 = socket(AF_UNIX, {kind})
        connect(c1, u)
        c2 = socket(AF_UNIX, {kind})
        connect(c2, u)
        c3 = socket(AF_UNIX, {kind})
        connect(c3, u)
        netstat(u)
        a = accept(u)
        connect(c3, u)
        d = socket(AF_UNIX, SOCK_DGRAM)
        bind(d)
        listen(d, 1)
    """)
    assert [line.split(" = ")[-1] for line in lines] == [
        "fd", "-1 EINVAL",  # unix_listen(): no listens on an unbound socket
        "0", "0",
        "fd", "0", "fd", "0", "fd", "-1 EAGAIN",  # full: skb queue length > backlog
        "2/0/1",
        "fd", "0",
        "fd", "0", "-1 EOPNOTSUPP",
    ]


# --------------------------------------------------------------------------- FreeBSD-only calls


@needs_netns
def test_freebsd_options_reach_the_kernel() -> None:
    got = results_of("""
        s = socket(AF_INET, SOCK_STREAM)
        bind(s)
        listen(s, 5)
        getsockopt(s, SO_ACCEPTCONN)
        getsockopt(s, SO_LISTENQLIMIT)
        getsockopt(s, SO_LISTENQLEN)
        getsockopt(s, SO_LISTENINCQLEN)
        getsockopt(s, SO_ACCEPTFILTER)
        setsockopt(s, SO_ACCEPTFILTER, "dataready")
        setsockopt(s, SO_LISTENQLIMIT, 5)
        setsockopt(s, SO_ACCEPTCONN, 0)
        getsockopt(s, SO_ERROR)
    """, "")[3:]
    assert got == [Ret(1)] + [Err("ENOPROTOOPT")] * 7 + [Ret(0)]


@needs_netns
def test_sock_diag_takes_one_descriptor_and_answers_by_inode() -> None:
    # The executor's own netlink (listenspec/kernel/diag.py), in a namespace of its own: one
    # descriptor; each family's listener found by its inode; SO_REUSEPORT members observed
    # while their port has no half-open request and refused once it has one (requests name no
    # listener); a socket not in the dump is NotFound, not a guess.
    script = textwrap.dedent("""
        import os, socket, sys
        from listenspec.kernel.netns import enter_private_netns
        from listenspec.kernel.diag import Diag, NotFound
        enter_private_netns()
        d = Diag()
        before = len(os.listdir("/proc/self/fd"))
        d.open()
        assert len(d.fds()) == 1 and len(os.listdir("/proc/self/fd")) == before + 1, d.fds()
        got = []
        for fam, host in ((socket.AF_INET, "127.0.0.1"), (socket.AF_INET6, "::1")):
            lsock = socket.socket(fam)
            lsock.bind((host, 0))
            lsock.listen(4)
            c = socket.socket(fam)
            c.connect(lsock.getsockname())
            q = d.listener_queue(lsock.fileno(), fam)
            got.append((q.qlen, q.incqlen, q.maxqlen))
        u = socket.socket(socket.AF_UNIX)
        u.bind("\\0listenspec-diag-test")
        u.listen(2)
        q = d.listener_queue(u.fileno(), socket.AF_UNIX)
        got.append((q.qlen, q.incqlen, q.maxqlen))
        pair = []
        for _ in range(2):
            r = socket.socket()
            r.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
            r.bind(("127.0.0.1", 5555))
            r.listen(1)
            pair.append(r)
        idle = socket.socket()

        def look(fd):
            try:
                q = d.listener_queue(fd, socket.AF_INET)
                got.append((q.qlen, q.incqlen, q.maxqlen))
            except NotFound as exc:
                got.append(str(exc).split(":")[0])

        look(pair[0].fileno())  # no half-open request on the port: each member has none
        for r in pair:  # the client's ACK is held back: a request stays half-open
            r.setsockopt(socket.IPPROTO_TCP, socket.TCP_DEFER_ACCEPT, 5)
        c = socket.socket()
        c.connect(("127.0.0.1", 5555))
        look(pair[0].fileno())
        look(idle.fileno())
        d.close()
        assert d.fds() == []
        print(got)
    """)
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                         timeout=60, cwd=ROOT)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == str([(1, 0, 4), (1, 0, 4), (0, 0, 2), (0, 0, 1),
                                      "2 listeners share port 5555 (SO_REUSEPORT) and it has "
                                      "half-open requests, which name no listener, so incqlen "
                                      "is not observable",
                                      "listener not in the inet_diag dump"])


# --------------------------------------------------------------------------- syn()


@needs_netns
@pytest.mark.parametrize("domain", ["AF_INET", "AF_INET6"])
def test_syn_leaves_half_open_connections(domain: str) -> None:
    # Backlog 1: two request sockets (reqsk queue bound, `>` since 3479c7549fb1, linux.md §2),
    # the third SYN is answered with a syncookie.
    got = results_of(f"""
        s = socket({domain}, SOCK_STREAM)
        bind(s)
        listen(s, 1)
        syn(s)
        syn(s)
        netstat(s)
        syn(s)
        netstat(s)
        counter("SyncookiesSent")
    """, "")[3:]
    assert got == [Ret(0), Ret(0), Queue(0, 2, 1), Ret(0), Queue(0, 2, 1), Ret(1)]


@needs_netns
def test_syn_to_a_full_accept_queue_is_dropped() -> None:
    got = results_of("""
        s = socket(AF_INET, SOCK_STREAM)
        bind(s)
        listen(s, 0)
        c = socket(AF_INET, SOCK_STREAM)
        connect(c, s)
        syn(s)
        counter("ListenOverflows")
        close(s)
        syn(s)
        u = socket(AF_UNIX, SOCK_STREAM)
        syn(u)
    """, "")[5:]
    assert got[:4] == [Err("EINPROGRESS"), Ret(1), Ret(0), Err("ECONNREFUSED")]
    assert isinstance(got[-1], Unsupported) and "AF_UNIX" in got[-1].reason


#: an accepted socket, closed, still names its address for syn() (as the model's runner has
#: it): the address is remembered when accept() makes the NAME, not only when a call uses it.
#: Found by `listenspec conform --examples 400 --seed 3` (stop 26): the executors said EBADF.
SYN_TO_A_CLOSED_CHILD = """s = socket(AF_INET, SOCK_STREAM)
listen(s, 2)
c = socket(AF_INET, SOCK_STREAM)
connect(c, s)
a = accept(s)
close(a)
syn(a)
netstat(s)
"""


@needs_netns
def test_syn_to_a_closed_accepted_socket_goes_to_its_port() -> None:
    got = results_of(SYN_TO_A_CLOSED_CHILD, "")[-2:]
    assert got == [Ret(0), Queue(0, 1, 2)]
    script = parse(textwrap.dedent(SYN_TO_A_CLOSED_CHILD).strip() + "\n", "<syn>")
    assert [t.result for t in run_model(script, get("linux"))][-2:] == got


@needs_netns
def test_syslog_shows_this_runs_syn_flood_warning() -> None:
    script = """
        s = socket(AF_INET, SOCK_STREAM)
        bind(s)
        listen(s, 0)
        syslog()
        syn(s)
        syn(s)
        syslog()
        syslog()
    """
    got = results_of(script, "syslog")
    if got[1] == Lines(()):
        # tcp_syn_flood_action() logs through net_info_ratelimited(): another burst of these
        # messages in the last 5 s may have used up the budget; wait for a fresh one, once.
        time.sleep(5.5)
        got = results_of(script, "syslog")
    assert got[0] == Lines(())
    assert isinstance(got[1], Lines) and len(got[1].lines) == 1
    assert "Possible SYN flooding on port 127.0.0.1:" in got[1].lines[0]
    assert got[2] == Lines(())


@needs_netns
def test_counters() -> None:
    got = results_of("""
        counter("ListenOverflows")
        counter("TcpExtListenDrops")
        counter("Tcp.ActiveOpens")
        counter("tcps_listendrop")
    """, "counter")
    assert got == [Ret(0), Ret(0), Ret(0), Err("ENOENT")]


# --------------------------------------------------------------------------- host safety


@linux_only
@pytest.mark.skipif(os.geteuid() != 0, reason="only root could change the host's limits")
def test_without_isolation_host_changing_calls_are_refused() -> None:
    before = Path("/proc/sys/net/core/somaxconn").read_text()
    got = run("""
        sysctl("net.core.somaxconn", 7)
        sysctl("kern.ipc.somaxconn", 7)
        s = socket(AF_INET, SOCK_STREAM)
        bind(s)
        listen(s, 0)
        syn(s)
        netstat(s)
    """, isolate=False)
    assert isinstance(got[0], Unsupported) and "private network namespace" in got[0].reason
    assert got[1] == Err("ENOENT")  # no such file: harmless, and what Linux answers
    assert isinstance(got[5], Unsupported)
    assert got[6] == Queue(0, 0, 0)
    assert Path("/proc/sys/net/core/somaxconn").read_text() == before


@needs_netns
def test_namespace_changes_stay_in_the_namespace() -> None:
    before = Path("/proc/sys/net/core/somaxconn").read_text()
    assert run('sysctl("net.core.somaxconn", 3)') == [Ret(0)]
    assert Path("/proc/sys/net/core/somaxconn").read_text() == before
    # each run has its own namespace: the next one starts from the default again
    assert run('sysctl("net.core.somaxconn")') == [Ret(4096)]


@needs_netns
def test_global_sysctls_are_never_written() -> None:
    # kernel.* is not per network namespace; write back the value it has so that even a broken
    # refusal could not change anything.
    value = int(Path("/proc/sys/kernel/pid_max").read_text())
    got = run(f'sysctl("kernel.pid_max", {value})')
    assert isinstance(got[0], Unsupported) and "not per network namespace" in got[0].reason


@needs_netns
def test_raw_descriptors_cannot_reach_the_executors_own() -> None:
    closes = "\n".join(f"close({n})" for n in range(64))
    got = run(f"""
        s = socket(AF_INET, SOCK_STREAM)
        {closes}
        t = socket(AF_INET, SOCK_STREAM)
        bind(t)
        listen(t, 0)
        netstat(t)
    """)
    opened = [r for r in got[1:65] if r == Ret(0)]
    assert len(opened) == 1  # only the script's own socket s could be closed
    assert got[-1] == Queue(0, 0, 0)


_UNPRIVILEGED = textwrap.dedent("""
    import ctypes, os, stat, sys
    # this interpreter's files are root's: import all before becoming nobody
    import listenspec.kernel.runner, listenspec.kernel.synpeer, listenspec.kernel.rtnl
    from listenspec.kernel import kernel_environment, run_on_kernel
    from listenspec.results import render
    from listenspec.script import parse
    if sys.argv[1] == "user-tun":
        # As on the many systems where /dev/net/tun is 0666: a TUN node of that mode over it,
        # in a mount namespace of this process alone (the host's /dev is never touched).
        libc = ctypes.CDLL(None, use_errno=True)
        CLONE_NEWNS, MS_REC, MS_PRIVATE = 0x20000, 0x4000, 0x40000
        assert libc.unshare(CLONE_NEWNS) == 0, ctypes.get_errno()
        assert libc.mount(b"none", b"/", None, MS_REC | MS_PRIVATE, None) == 0
        assert libc.mount(b"tmpfs", b"/dev/net", b"tmpfs", 0, None) == 0, ctypes.get_errno()
        os.mknod("/dev/net/tun", 0o666 | stat.S_IFCHR, os.makedev(10, 200))
        os.chmod("/dev/net/tun", 0o666)
    os.setgroups([]); os.setgid(65534); os.setuid(65534)
    if sys.argv[1].startswith("user"):  # PR_SET_DUMPABLE: as a process that never was root
        ctypes.CDLL(None).prctl(4, 1, 0, 0, 0)
    print(kernel_environment())
    script = parse(sys.stdin.read())
    for step, result in zip(script.steps, run_on_kernel(script)):
        print(step.text, "=", render(result))
""")

_UNPRIVILEGED_SCRIPT = """\
sysctl("net.core.somaxconn", 8)
u = socket(AF_UNIX, SOCK_STREAM)
bind(u)
listen(u, -1)
netstat(u)
s = socket(AF_INET, SOCK_STREAM)
bind(s)
listen(s, 0)
c = socket(AF_INET, SOCK_STREAM)
connect(c, s)
d = socket(AF_INET, SOCK_STREAM)
connect(d, s)
syn(s)
"""


def _run_unprivileged(mode: str) -> list[str]:
    proc = subprocess.run(
        [sys.executable, "-c", _UNPRIVILEGED, mode], input=_UNPRIVILEGED_SCRIPT, cwd=ROOT,
        capture_output=True, text=True, timeout=60,
    )
    assert proc.returncode == 0, proc.stderr
    return proc.stdout.splitlines()


@linux_only
@pytest.mark.skipif(os.geteuid() != 0, reason="needs root to become an unprivileged user")
def test_without_privilege_runs_in_the_current_namespace() -> None:
    # A process that can make no namespace at all (here: one that dropped root, so the kernel
    # refuses it its own /proc/self/uid_map) runs in the current namespace and refuses what
    # would change the host. The reason names the step that failed (not unshare(CLONE_NEWNET),
    # which is never reached).
    lines = _run_unprivileged("none")
    assert lines[0].startswith("current network namespace (the user namespace's id maps failed")
    host = Path("/proc/sys/net/core/somaxconn").read_text().strip()
    assert lines[1].startswith('sysctl("net.core.somaxconn", 8) = unsupported(')
    assert lines[5] == f"netstat(u) = 0/0/{host}"
    assert lines[12] == "connect(d, s) = -1 EINPROGRESS"
    assert lines[13].startswith("syn(s) = unsupported(")


@linux_only
@pytest.mark.skipif(os.geteuid() != 0, reason="needs root to become an unprivileged user")
@pytest.mark.parametrize("mode", ["user", "user-tun"], ids=["tun-as-here", "tun-0666"])
def test_without_root_a_user_namespace_isolates_the_run(mode: str) -> None:
    # Whether syn() can make its TUN device depends on /dev/net/tun's mode, which differs
    # between systems (0600 here, 0666 on many): the banner says what was probed, and syn()
    # does what the banner says. "user-tun" puts a 0666 node in place, in a sandbox.
    lines = _run_unprivileged(mode)
    if not lines[0].startswith("private network namespace in a user namespace"):
        pytest.skip(f"no unprivileged user namespaces here: {lines[0]}")
    assert lines[1] == 'sysctl("net.core.somaxconn", 8) = 0'
    assert lines[5] == "netstat(u) = 0/0/8"
    assert lines[12] == "connect(d, s) = -1 EINPROGRESS"
    if mode == "user-tun":
        assert "syn() available" in lines[0]
    if "syn() available" in lines[0]:
        assert lines[13] == "syn(s) = -1 EINPROGRESS"  # the accept queue is full: dropped
    else:
        assert "syn() unsupported (/dev/net/tun: " in lines[0]
        assert lines[13].startswith("syn(s) = unsupported(") and "/dev/net/tun" in lines[13]


# --------------------------------------------------------------------------- reliability


def _stat(pid: int) -> list[str] | None:
    """The fields of /proc/PID/stat after "(comm)" (state, ppid, ...), or None once the
    process is gone: it may exit between the listing of /proc and the read."""
    try:
        text = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    fields = text.rsplit(")", 1)[-1].split()
    return fields if len(fields) > 19 else None


def _children(pid: int) -> list[int]:
    return [int(e) for e in os.listdir("/proc")
            if e.isdigit() and (f := _stat(int(e))) is not None and f[1] == str(pid)]


def _run_dirs(pid: int | None = None) -> set[str]:
    """The AF_UNIX directories of the runs of process `pid` (runner.run_steps makes one per
    run, named after the caller, so that runs of other processes on this machine don't count)."""
    pattern = f"listenspec-{os.getpid() if pid is None else pid}-*"
    return {str(p) for p in Path(tempfile.gettempdir()).glob(pattern)}


def _start_time(pid: int) -> int | None:
    fields = _stat(pid)
    return None if fields is None else int(fields[19])


def _holders(ns: str, started_by: int) -> list[int]:
    """Processes in network namespace `ns` that started no later than `started_by` (clock
    ticks): a namespace inode freed by our run may be reused by a later, unrelated one."""
    found = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                if os.readlink(f"/proc/{entry}/ns/net") == ns and (
                    (started := _start_time(int(entry))) is not None and started <= started_by
                ):
                    found.append(int(entry))
            except OSError:
                continue
    return found


@linux_only
def test_proc_readers_take_a_process_that_is_gone_as_gone() -> None:
    # Issue 14.13: a process can exit between listing /proc and reading its stat file.
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()  # reaped: /proc/PID is gone (unless the pid is reused at once)
    assert _start_time(proc.pid) is None or Path(f"/proc/{proc.pid}").exists()
    assert _stat(proc.pid) is None or Path(f"/proc/{proc.pid}").exists()
    me = _stat(os.getpid())
    assert me is not None and me[1] == str(os.getppid())  # fields after "(comm)", from state on
    listing = subprocess.run([sys.executable, "-c", _GUARDED_CHILDREN + _LIST_VANISHING],
                             capture_output=True, text=True, timeout=30)
    assert listing.returncode == 0, listing.stderr
    assert listing.stdout.strip() == "[]"


# A listing of /proc whose every entry vanishes before its stat file is read.
_LIST_VANISHING = textwrap.dedent("""
    import builtins
    real_open = builtins.open
    def vanishing(path, *a, **k):
        if str(path).startswith("/proc/") and str(path).endswith("/stat"):
            raise FileNotFoundError(2, "No such file or directory", path)
        return real_open(path, *a, **k)
    builtins.open = vanishing
    print(children(os.getpid()))
""")


def _leak_check(runs: int) -> None:
    script = parse(
        "s = socket(AF_INET, SOCK_STREAM)\nbind(s)\nlisten(s, 0)\n"
        "c = socket(AF_INET, SOCK_STREAM)\nconnect(c, s)\n"
        "d = socket(AF_INET, SOCK_STREAM)\nconnect(d, s)\n"
        "u = socket(AF_UNIX, SOCK_STREAM)\nbind(u)\nlisten(u, 0)\nnetstat(u)\n"
        "n = open()\nsyslog()\n",
        "<leak>",
    )
    # Each run's namespace is held by its child process alone (nothing is bind-mounted, no
    # descriptor leaves the child), so "no child left" is "no namespace left".
    dirs = _run_dirs()
    fds = sorted(os.listdir("/proc/self/fd"))
    for _ in range(runs):
        results = run_on_kernel(script)
        assert results[6] == Err("EINPROGRESS")
    assert sorted(os.listdir("/proc/self/fd")) == fds
    assert _children(os.getpid()) == []
    assert _run_dirs() <= dirs


@needs_netns
def test_no_descriptor_process_or_namespace_leaks_after_50_scripts() -> None:
    _leak_check(50)


@needs_netns
@pytest.mark.slow
def test_no_descriptor_process_or_namespace_leaks_after_1000_scripts() -> None:
    _leak_check(1000)


@needs_netns
def test_a_stuck_run_is_stopped_at_its_time_limit() -> None:
    dirs = _run_dirs()
    started = time.monotonic()
    got = run("""
        s = socket(AF_INET, SOCK_STREAM)
        u = socket(AF_UNIX, SOCK_STREAM)
        bind(u)
        sleep(30)
        listen(s, 0)
    """, timeout=0.5)
    got = got[:1] + got[3:]
    assert time.monotonic() - started < 3
    assert got[0] == NewFd()
    assert isinstance(got[1], Unsupported) and "time limit" in got[1].reason
    assert isinstance(got[2], Unsupported) and got[2].reason.startswith("not run")
    assert _children(os.getpid()) == []
    assert _run_dirs() <= dirs


@needs_netns
def test_every_connect_outcome_is_settled_quickly() -> None:
    started = time.monotonic()
    got = results_of("\n".join(
        ["s = socket(AF_INET, SOCK_STREAM)", "bind(s)", "listen(s, 0)"]
        + [f"c{i} = socket(AF_INET, SOCK_STREAM)\nconnect(c{i}, s)" for i in range(10)]
    ), "connect")
    assert got == [Ret(0)] + [Err("EINPROGRESS")] * 9
    assert time.monotonic() - started < 2.0  # drops are detected from the counters, not waited


#: children(pid) for the subprocesses below, as guarded as _children.
_GUARDED_CHILDREN = textwrap.dedent("""
    import os
    def children(pid):
        kids = []
        for p in os.listdir("/proc"):
            if not p.isdigit():
                continue
            try:
                with open(f"/proc/{p}/stat") as f:
                    fields = f.read().rsplit(")", 1)[-1].split()
            except OSError:
                continue  # it exited since the listing
            if len(fields) > 1 and fields[1] == str(pid):
                kids.append(p)
        return kids
""")

_INTERRUPTED = _GUARDED_CHILDREN + textwrap.dedent("""
    import os, sys
    from listenspec.kernel import kernel_environment, run_on_kernel
    from listenspec.script import parse
    kernel_environment()  # probe the namespace first: its throw-away child is not the run's
    script = parse("s = socket(AF_UNIX, SOCK_STREAM)\\nbind(s)\\nlisten(s, 0)\\nsleep(30)\\n")
    print("ready", flush=True)
    try:
        run_on_kernel(script)
    except KeyboardInterrupt:
        print("interrupted", children(os.getpid()), flush=True)
        sys.exit(130)
    print("not interrupted", flush=True)
""")


def _wait_for_namespaced_child(pid: int) -> tuple[int, str]:
    mine = os.readlink("/proc/self/ns/net")
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        # the run's directory exists once the run has begun (the known-answer probes' throw-away
        # child, in a namespace of its own too, comes and goes before it)
        for kid in _children(pid) if _run_dirs(pid) else ():
            try:
                ns = os.readlink(f"/proc/{kid}/ns/net")
            except OSError:
                continue
            if ns != mine:
                return kid, ns
        time.sleep(0.01)
    raise AssertionError("the run's child never entered its namespace")


@needs_netns
@pytest.mark.parametrize("whole_group", [False, True], ids=["sigint", "ctrl-c-to-group"])
def test_ctrl_c_leaves_nothing_behind(whole_group: bool) -> None:
    proc = subprocess.Popen(
        [sys.executable, "-c", _INTERRUPTED], cwd=ROOT, stdout=subprocess.PIPE, text=True,
        start_new_session=True,
    )
    try:
        assert proc.stdout is not None
        assert proc.stdout.readline().strip() == "ready"
        kid, ns = _wait_for_namespaced_child(proc.pid)
        kid_start = _start_time(kid)
        assert kid_start is not None  # the run sleeps for 30 s
        assert len(_run_dirs(proc.pid)) == 1
        if whole_group:  # a terminal's Ctrl-C reaches the whole foreground process group
            os.killpg(proc.pid, signal.SIGINT)
        else:
            os.kill(proc.pid, signal.SIGINT)
        out, _ = proc.communicate(timeout=10)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.returncode == 130
    assert out.strip() == "interrupted []"
    assert not Path(f"/proc/{kid}").exists()
    assert _holders(ns, kid_start) == []
    assert _run_dirs(proc.pid) == set()


@needs_netns
def test_killing_the_caller_kills_the_run() -> None:
    proc = subprocess.Popen(
        [sys.executable, "-c", _INTERRUPTED], cwd=ROOT, stdout=subprocess.PIPE, text=True,
    )
    try:
        assert proc.stdout is not None
        assert proc.stdout.readline().strip() == "ready"
        kid, ns = _wait_for_namespaced_child(proc.pid)
        kid_start = _start_time(kid)
        assert kid_start is not None  # the run sleeps for 30 s
        proc.kill()  # SIGKILL: no finally runs in the caller; PR_SET_PDEATHSIG must act
        proc.wait()
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline and _holders(ns, kid_start):
        time.sleep(0.01)
    assert _holders(ns, kid_start) == []
    # The orphan may linger as a zombie until init reaps it, and it may take a moment to get
    # there after it left the namespace; a pid reused by another process counts as gone.
    state = "R"
    while time.monotonic() < deadline + 5:
        state = ""
        fields = _stat(kid)
        if fields is not None and int(fields[19]) == kid_start:
            state = fields[0]
        if state in ("", "Z", "X"):
            break
        time.sleep(0.01)
    assert state in ("", "Z", "X")
    # A caller killed outright cannot remove its run's AF_UNIX directory (documented limit).
    for leftover in _run_dirs(proc.pid):
        shutil.rmtree(leftover, ignore_errors=True)


_STOPPED_SCRIPT = """\
s = socket(AF_UNIX, SOCK_STREAM)
bind(s)
listen(s, 0)
sleep(30)
netstat(s)
"""
#: clock_nanosleep and nanosleep on x86_64 and aarch64: the run's child is in sleep(30) then.
_SLEEPING = {"x86_64": {"230", "35"}, "aarch64": {"115", "101"}}


def _wait_for_sleeping_run(pid: int) -> tuple[int, str]:
    """The run's child of `pid` once it is in its namespace and in sleep(): the results of
    the steps before it are written by then. (The banner's probes fork namespaced children of
    their own first, which never sleep.)"""
    calls = _SLEEPING.get(os.uname().machine)
    mine = os.readlink("/proc/self/ns/net")
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        for kid in _children(pid):
            try:
                ns = os.readlink(f"/proc/{kid}/ns/net")
                current = Path(f"/proc/{kid}/syscall").read_text().split()[0]
            except (OSError, IndexError):
                continue
            if ns == mine:
                continue
            if calls is None:  # an architecture this table lacks: give the steps a moment
                time.sleep(1)
                return kid, ns
            if current in calls:
                time.sleep(0.05)  # and the parent a moment to read them
                return kid, ns
        time.sleep(0.01)
    raise AssertionError("the run never reached its sleep()")


@needs_netns
@pytest.mark.parametrize(("signum", "group", "code"), [
    (signal.SIGINT, True, 130),  # a terminal's Ctrl-C: the whole foreground process group
    (signal.SIGTERM, False, 143),
    (signal.SIGHUP, False, 129),
], ids=["ctrl-c", "sigterm", "sighup"])
def test_a_stopped_run_prints_what_it_ran_and_leaves_nothing_behind(
        tmp_path: Path, signum: signal.Signals, group: bool, code: int) -> None:
    script = tmp_path / "stopped.lsn"
    script.write_text(_STOPPED_SCRIPT)
    proc = subprocess.Popen(
        [sys.executable, "-m", "listenspec.cli", "run", str(script), "--kernel"], cwd=ROOT,
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, start_new_session=True,
    )
    try:
        kid, ns = _wait_for_sleeping_run(proc.pid)
        kid_start = _start_time(kid)
        assert kid_start is not None
        assert len(_run_dirs(proc.pid)) == 1
        if group:
            os.killpg(proc.pid, signum)
        else:
            os.kill(proc.pid, signum)
        out, err = proc.communicate(timeout=10)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.returncode == code, err
    assert out.splitlines() == ["s = socket(AF_UNIX, SOCK_STREAM) = fd", "bind(s) = 0",
                                "listen(s, 0) = 0"]
    lines = err.splitlines()
    assert lines[0].startswith("# kernel: ") and len(lines) == 2, err
    assert lines[1].startswith(f"{script}:4: stopped by {signum.name} at sleep(30)"), err
    assert "Traceback" not in err
    assert _holders(ns, kid_start) == []
    assert _run_dirs(proc.pid) == set()
    assert _stat(kid) is None or int(_stat(kid)[19]) != kid_start  # type: ignore[index]


_EXHAUSTED = "\n".join(
    ["s = socket(AF_INET, SOCK_STREAM)", "bind(s)", "listen(s, 5)",
     "u = socket(AF_UNIX, SOCK_STREAM)", "bind(u)", "listen(u, 5)",
     'sysctl("net.core.somaxconn")']
    + [f"k{i} = socket(AF_INET, SOCK_STREAM)" for i in range(60)]
    + ["c = socket(AF_INET, SOCK_STREAM)", "connect(c, s)", "netstat(s)", "netstat(u)",
       'sysctl("net.core.somaxconn")', 'sysctl("net.core.somaxconn", 100)', "syn(s)",
       "n = open()", "a = accept(s)", "close(k0)", "close(k1)", "d = socket(AF_INET, SOCK_STREAM)",
       "connect(d, s)", "netstat(s)", "syslog()", 'counter("ListenOverflows")']
) + "\n"


@needs_netns
@pytest.mark.parametrize("limit", [64, 30])
def test_running_out_of_descriptors_is_a_result_and_the_run_goes_on(
        tmp_path: Path, limit: int) -> None:
    script = tmp_path / "exhausted.lsn"
    script.write_text(_EXHAUSTED)

    def low_limit() -> None:
        import resource

        resource.setrlimit(resource.RLIMIT_NOFILE, (limit, limit))

    proc = subprocess.run(
        [sys.executable, "-m", "listenspec.cli", "run", str(script), "--kernel"], cwd=ROOT,
        capture_output=True, text=True, timeout=120, preexec_fn=low_limit,
    )
    assert proc.returncode == 0, proc.stderr
    assert "Traceback" not in proc.stderr
    lines = [line.rsplit(" = ", 1) for line in proc.stdout.splitlines()]
    sockets = [r for call, r in lines if call.startswith("k")]
    assert sockets[0] == "fd" and sockets[-1] == "-1 EMFILE"
    assert sockets == sorted(sockets, key=lambda r: r != "fd")  # fds, then EMFILE only
    somaxconn = lines[6][1]
    after = [r for call, r in lines[7 + 60:]]
    read, write, syn = after[4:7]
    # What the executor observes without a new descriptor of its own still works; what it
    # would need one for is unsupported, never an errno the call did not return.
    assert read == somaxconn or read.startswith("unsupported("), read
    assert write == "0" or write.startswith("unsupported("), write
    assert syn in ("0", "-1 EINPROGRESS") or syn.startswith("unsupported("), syn
    half_open = "1" if syn == "0" else "0"
    # accept() takes its descriptor before it looks at the queue (measured on Linux 6.18);
    # once two descriptors are freed, the next socket gets one and the run goes on with it.
    assert after[:4] + after[7:] == [
        "-1 EMFILE", "-1 EBADF", "0/0/5", "0/0/5",  # c, connect(c, s): c names none
        "-1 EMFILE", "-1 EMFILE", "0", "0", "fd", "0", f"1/{half_open}/5", "[]", "0",
    ]
