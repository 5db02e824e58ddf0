"""Topic 0: what a TCP client socket answers after its connection attempt or connection ended.

For each client state below, a fresh socket is brought into that state, then ONE call is made
(on a fresh copy each time, since most calls change the state), followed where it tells
something by the calls a program would make next. Printed per state:
  state: TCP state (TCP_INFO), getsockname, whether the port is still in the bind table (a
         plain bind of another socket to it gives EADDRINUSE), SO_ACCEPTCONN, poll() flags;
  then `call = result` lines, each from its own fresh copy of the state.

Run: python benchmarks/probes/linux/drift_client_states.py
"""

from __future__ import annotations

import select
import socket
import struct
from collections.abc import Callable

from _probe import (
    acceptconn,
    arm,
    c_connect_raw,
    c_listen,
    closed_port,
    header,
    isolate,
    linger0,
    listener,
    peername,
    poll_flags,
    port_held,
    recv_nb,
    res,
    send_nb,
    settle,
    so_error,
    sockname,
    tcp_socket,
    tcp_state,
    wait_for,
)


class World:
    def __init__(self) -> None:
        self.listener = listener(64)
        self.laddr = self.listener.getsockname()
        self.closed, port = closed_port()
        self.naddr = ("127.0.0.1", port)
        self.keep: list[socket.socket] = []

    def drain(self) -> None:
        while True:
            try:
                self.keep.append(self.listener.accept()[0])
            except BlockingIOError:
                return

    def close(self) -> None:
        self.drain()
        for s in self.keep:
            s.close()
        self.keep = []


def st_fresh(w: World) -> tuple[socket.socket, list[str]]:
    return tcp_socket(), []


def st_refused(w: World, *, bind_first: bool = False, read_err: bool = False,
               again: int = 0) -> tuple[socket.socket, list[str]]:
    s = tcp_socket()
    log = []
    if bind_first:
        s.bind(("127.0.0.1", 0))
        log.append("bind(127.0.0.1:0) = 0")
    log.append(f"connect(N) = {res(s.connect, w.naddr)}")
    settle(s)
    if read_err:
        log.append(f"getsockopt(SO_ERROR) = {so_error(s)}")
    for _ in range(again):
        log.append(f"connect(N) = {res(s.connect, w.naddr)}")
        settle(s)
    return s, log


def blocking_socket() -> socket.socket:
    """A really blocking socket (CPython's settimeout() would make it non-blocking and read
    SO_ERROR itself); SO_SNDTIMEO bounds how long a blocking connect() may wait."""
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.setblocking(True)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_SNDTIMEO, struct.pack("ll", 2, 0))
    return s


def st_refused_blocking(w: World) -> tuple[socket.socket, list[str]]:
    s = blocking_socket()
    log = [f"connect(N) [blocking] = {res(s.connect, w.naddr)}"]
    s.setblocking(False)
    return s, log


def st_connected(w: World, *, confirm: bool) -> tuple[socket.socket, list[str]]:
    s = tcp_socket()
    log = [f"connect(L) = {res(s.connect, w.laddr)}"]
    settle(s)
    if confirm:
        log.append(f"connect(L) = {res(s.connect, w.laddr)}")
    w.drain()
    return s, log


def st_reset_queued(w: World, *, blocking: bool, read_err: bool = False,
                    bind_first: bool = False) -> tuple[socket.socket, list[str]]:
    """Client connected; the listener is closed with the connection still queued -> RST."""
    lst = listener(4)
    addr = lst.getsockname()
    s = blocking_socket() if blocking else tcp_socket()
    log = []
    if bind_first:
        s.bind(("127.0.0.1", 0))
        log.append("bind(127.0.0.1:0) = 0")
    log.append(f"connect(L2){' [blocking]' if blocking else ''} = {res(s.connect, addr)}")
    s.setblocking(False)
    settle(s)
    lst.close()
    log.append("close(L2) = 0  [connection still queued]")
    wait_for(s, select.POLLERR | select.POLLHUP, 1.0)
    if read_err:
        log.append(f"getsockopt(SO_ERROR) = {so_error(s)}")
    return s, log


def st_reset_accepted(w: World) -> tuple[socket.socket, list[str]]:
    s = blocking_socket()
    log = [f"connect(L) [blocking] = {res(s.connect, w.laddr)}"]
    s.setblocking(False)
    a, _ = w.listener.accept()
    linger0(a)
    a.close()
    log.append("accept(L) = fd A; setsockopt(A, SO_LINGER, {1,0}); close(A) = 0")
    wait_for(s, select.POLLERR | select.POLLHUP, 1.0)
    return s, log


def st_peer_fin(w: World) -> tuple[socket.socket, list[str]]:
    s = blocking_socket()
    log = [f"connect(L) [blocking] = {res(s.connect, w.laddr)}"]
    s.setblocking(False)
    a, _ = w.listener.accept()
    a.close()
    log.append("accept(L) = fd A; close(A) = 0  [FIN]")
    wait_for(s, select.POLLRDHUP, 1.0)
    return s, log


STATES: list[tuple[str, Callable[[World], tuple[socket.socket, list[str]]]]] = [
    ("fresh socket", st_fresh),
    ("non-blocking connect refused, nothing read yet", lambda w: st_refused(w)),
    ("refused, SO_ERROR read", lambda w: st_refused(w, read_err=True)),
    ("refused, connect() again (SO_ERROR unread)", lambda w: st_refused(w, again=1)),
    ("refused, SO_ERROR read, connect() again = ECONNABORTED",
     lambda w: st_refused(w, read_err=True, again=1)),
    ("blocking connect refused", st_refused_blocking),
    ("bind() first, then non-blocking connect refused, SO_ERROR read, connect() again",
     lambda w: st_refused(w, bind_first=True, read_err=True, again=1)),
    ("connected, non-blocking connect settled, not confirmed",
     lambda w: st_connected(w, confirm=False)),
    ("connected, confirmed by a second connect()", lambda w: st_connected(w, confirm=True)),
    ("blocking connect, then peer reset (listener closed with it queued)",
     lambda w: st_reset_queued(w, blocking=True)),
    ("blocking connect, peer reset, SO_ERROR read",
     lambda w: st_reset_queued(w, blocking=True, read_err=True)),
    ("non-blocking connect (unconfirmed), then peer reset (listener closed)",
     lambda w: st_reset_queued(w, blocking=False)),
    ("bind() first, blocking connect, peer reset (listener closed)",
     lambda w: st_reset_queued(w, blocking=True, bind_first=True)),
    ("blocking connect, accepted, peer SO_LINGER{1,0} close (RST)", st_reset_accepted),
    ("blocking connect, accepted, peer close() (FIN)", st_peer_fin),
]


def describe(s: socket.socket) -> str:
    name = sockname(s)
    port = int(name.rsplit(":", 1)[1]) if ":" in name else 0
    held = ("yes" if port_held(port) else "no") if port else "-"
    return (f"tcp_state={tcp_state(s)} getsockname={name} port-in-bind-table={held} "
            f"getpeername={peername(s)} SO_ACCEPTCONN={acceptconn(s)} poll={poll_flags(s)}")


def calls(w: World) -> list[tuple[str, Callable[[socket.socket], list[str]]]]:
    def after(s: socket.socket) -> str:
        return f"      then: tcp_state={tcp_state(s)} getsockname={sockname(s)}"

    def do_listen(s: socket.socket) -> list[str]:
        out = [f"listen(1) = {res(c_listen, s, 1)}", after(s)]
        return out

    def do_bind(s: socket.socket) -> list[str]:
        out = [f"bind(127.0.0.1:0) = {res(s.bind, ('127.0.0.1', 0))}", after(s)]
        out.append(f"      then listen(1) = {res(c_listen, s, 1)}")
        return out

    def do_connect_l(s: socket.socket) -> list[str]:
        r1 = res(s.connect, w.laddr)
        settle(s)
        r2 = res(s.connect, w.laddr)
        out = [f"connect(L) = {r1}; connect(L) = {r2}", after(s)]
        w.drain()
        return out

    def do_connect_n(s: socket.socket) -> list[str]:
        r1 = res(s.connect, w.naddr)
        settle(s)
        return [f"connect(N) = {r1}", after(s)]

    def do_send(s: socket.socket) -> list[str]:
        return [f"send('x') = {send_nb(s)}; send('x') = {send_nb(s)}"]

    def do_recv(s: socket.socket) -> list[str]:
        return [f"recv() = {recv_nb(s)}; recv() = {recv_nb(s)}"]

    def do_soerror(s: socket.socket) -> list[str]:
        return [f"getsockopt(SO_ERROR) = {so_error(s)}; again = {so_error(s)}"]

    def do_shutdown(s: socket.socket) -> list[str]:
        return [f"shutdown(SHUT_WR) = {res(s.shutdown, socket.SHUT_WR)}",
                f"      then listen(1) = {res(c_listen, s, 1)}"]

    return [("SO_ERROR", do_soerror), ("listen", do_listen), ("bind", do_bind),
            ("connect L", do_connect_l), ("connect N", do_connect_n), ("send", do_send),
            ("recv", do_recv), ("shutdown", do_shutdown)]


def _unspec(s: socket.socket) -> str:
    """connect(S, {AF_UNSPEC}): the explicit disconnect (tcp_disconnect())."""
    return res(c_connect_raw, s, struct.pack("=H", socket.AF_UNSPEC) + bytes(14))


def _sockstat_inuse() -> int:
    with open("/proc/self/net/sockstat") as f:
        line = next(ln for ln in f if ln.startswith("TCP:"))
    return int(line.split()[2])


def disconnect_section(w: World) -> None:
    """Which sockets listen() refuses: every socket that once sent a SYN and was then
    disconnected (tcp_disconnect() ran), whatever the path; and what the refused listen() did."""
    print()
    print("## listen() after a disconnect: which paths, and what the failed listen() leaves")
    cases: list[tuple[str, Callable[[], socket.socket]]] = []

    def fresh_unspec() -> socket.socket:
        s = tcp_socket()
        print(f"   connect(AF_UNSPEC) = {_unspec(s)}", end="; ")
        return s

    def unreachable() -> socket.socket:
        s = tcp_socket()
        print(f"connect(10.9.9.9:80) = {res(s.connect, ('10.9.9.9', 80))} (no route, no SYN)",
              end="; ")
        return s

    def established_unspec() -> socket.socket:
        s = tcp_socket()
        s.connect_ex(w.laddr)
        settle(s)
        w.drain()
        print(f"connect(L) established; connect(AF_UNSPEC) = {_unspec(s)}", end="; ")
        return s

    def refused_unspec() -> socket.socket:
        s = tcp_socket()
        s.connect_ex(w.naddr)
        settle(s)
        print(f"connect(N) refused; connect(AF_UNSPEC) = {_unspec(s)}", end="; ")
        return s

    def syn_sent_shutdown() -> socket.socket:
        full = listener(0)
        q = tcp_socket()
        q.connect_ex(full.getsockname())
        settle(q)
        s = tcp_socket()
        r = res(s.connect, full.getsockname())
        state = tcp_state(s)
        print(f"connect(full listener) = {r} [{state}]; shutdown(SHUT_RDWR) = "
              f"{res(s.shutdown, socket.SHUT_RDWR)} [{tcp_state(s)}]", end="; ")
        q.close()
        full.close()
        return s

    def explicit_port() -> socket.socket:
        t = socket.socket()
        t.bind(("127.0.0.1", 0))
        port = t.getsockname()[1]
        t.close()
        s = tcp_socket()
        s.bind(("127.0.0.1", port))
        s.connect_ex(w.naddr)
        settle(s)
        so_error(s)
        print(f"bind(127.0.0.1:{port}) [SOCK_BINDPORT_LOCK]; connect(N) refused; SO_ERROR read;"
              f" connect(N) = {res(s.connect, w.naddr)}; port still held={port_held(port)}",
              end="; ")
        return s

    def listener_unspec() -> socket.socket:
        s = tcp_socket()
        c_listen(s, 4)
        print(f"listen(4); connect(AF_UNSPEC) = {_unspec(s)} [{tcp_state(s)}]", end="; ")
        return s

    def listener_shutdown() -> socket.socket:
        s = tcp_socket()
        c_listen(s, 4)
        print(f"listen(4); shutdown(SHUT_RD) = {res(s.shutdown, socket.SHUT_RD)}", end="; ")
        return s

    cases = [("fresh socket, explicit disconnect", fresh_unspec),
             ("connect() failed before any SYN", unreachable),
             ("established, then explicit disconnect", established_unspec),
             ("refused, then explicit disconnect", refused_unspec),
             ("SYN_SENT, then shutdown()", syn_sent_shutdown),
             ("explicitly bound port, refused, ECONNABORTED", explicit_port),
             ("a listener, explicit disconnect", listener_unspec),
             ("a listener, shutdown(SHUT_RD)", listener_shutdown)]
    for title, build in cases:
        print(f"   [{title}]")
        print("   ", end="")
        s = build()
        before = sockname(s)
        inuse = _sockstat_inuse()
        r = res(c_listen, s, 1)
        after = sockname(s)
        port = int(after.rsplit(":", 1)[1])
        held = port_held(port) if port else False
        print(f"listen(1) = {r}")
        print(f"      getsockname before={before} after={after} port-in-bind-table={held} "
              f"SO_ACCEPTCONN={acceptconn(s)} tcp_state={tcp_state(s)} "
              f"sockstat-TCP-inuse {inuse}->{_sockstat_inuse()}")
        if r != "0":
            probe = tcp_socket()
            r1 = res(probe.connect, ("127.0.0.1", port)) if port else "-"
            settle(probe)
            print(f"      a connect to that port: {r1}, SO_ERROR={so_error(probe)}; then "
                  f"bind(127.0.0.1:0) = {res(s.bind, ('127.0.0.1', 0))}; "
                  f"connect(L) = {res(s.connect, w.laddr)}")
            probe.close()
            w.drain()
        s.close()


def main() -> None:
    arm(120)
    isolate()
    header("drift: client socket states after refusal / reset")
    w = World()
    print(f"# L = listener {w.laddr[0]}:{w.laddr[1]} (backlog 64); N = {w.naddr[0]}:"
          f"{w.naddr[1]}, a bound socket that does not listen (a SYN to it gets a RST)")
    try:
        for title, build in STATES:
            print()
            print(f"## {title}")
            s, log = build(w)
            for line in log:
                print(f"   {line}")
            print(f"   state: {describe(s)}")
            s.close()
            for _name, fn in calls(w):
                s, _ = build(w)
                for line in fn(s):
                    print(f"   {line}")
                s.close()
            w.close()
        disconnect_section(w)
    finally:
        w.close()
        w.listener.close()
        w.closed.close()


if __name__ == "__main__":
    main()
