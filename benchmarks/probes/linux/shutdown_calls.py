"""Topic 3: shutdown(SHUT_RD / SHUT_WR / SHUT_RDWR) on a listener, a connection, an
unconnected socket; TCP and AF_UNIX (stream, seqpacket).

Listener cases: L (backlog 4) with two completed connections queued (clients C1, C2) and a
blocked-free poll; then shutdown(L, how) and what follows: its return, L's poll flags,
SO_ACCEPTCONN, netstat, accept(), the queued clients' state/SO_ERROR/recv, a new connect, and
listen() again (with a connect after it).

Run: python benchmarks/probes/linux/shutdown_calls.py
"""

from __future__ import annotations

import os
import socket
import time

from _probe import (
    acceptconn,
    arm,
    c_listen,
    header,
    isolate,
    listen_queue,
    poll_flags,
    recv_nb,
    res,
    send_nb,
    settle,
    so_error,
    sockname,
    ss,
    tcp_state,
)

HOWS = (("SHUT_RD", socket.SHUT_RD), ("SHUT_WR", socket.SHUT_WR), ("SHUT_RDWR", socket.SHUT_RDWR))


def unix_queue(s: socket.socket) -> str:
    ino = os.fstat(s.fileno()).st_ino
    for line in ss("-xae"):
        if f" {ino} " in f" {line} ":
            f = line.split()
            return f"{f[1]} Recv-Q={f[2]} Send-Q={f[3]}"
    return "not listed"


def tcp_listener_case(name: str, how: int) -> None:
    print()
    print(f"## TCP listener, two connections queued: shutdown(L, {name})")
    lst = socket.socket()
    lst.bind(("127.0.0.1", 0))
    c_listen(lst, 4)
    lst.setblocking(False)
    addr = lst.getsockname()
    clients = []
    for _ in range(2):
        c = socket.socket()
        c.connect(addr)
        c.setblocking(False)
        clients.append(c)
    print(f"   before: {listen_queue(lst)} poll={poll_flags(lst)}")
    r = res(lst.shutdown, how)
    time.sleep(0.02)
    print(f"   shutdown(L, {name}) = {r}; L: poll={poll_flags(lst)} SO_ACCEPTCONN={acceptconn(lst)}"
          f" tcp_state={tcp_state(lst)} getsockname={sockname(lst)} netstat: {listen_queue(lst)}")
    kept: list[socket.socket] = []
    print(f"   accept(L) = {res(lambda: kept.append(lst.accept()[0]) or 'fd')}")
    for i, c in enumerate(clients, 1):
        print(f"   C{i}: tcp_state={tcp_state(c)} poll={poll_flags(c)} SO_ERROR={so_error(c)}"
              f" recv={recv_nb(c)} send={send_nb(c)}")
    n = socket.socket()
    n.setblocking(False)
    r1 = res(n.connect, addr)
    settle(n)
    print(f"   a new connect to L's address = {r1}, SO_ERROR={so_error(n)}")
    n.close()
    r2 = res(c_listen, lst, 4)
    print(f"   listen(L, 4) again = {r2}; getsockname={sockname(lst)} {listen_queue(lst)}")
    if r2 == "0":
        m = socket.socket()
        m.setblocking(False)
        r3 = res(m.connect, lst.getsockname())
        settle(m)
        print(f"   connect to it = {r3}, SO_ERROR={so_error(m)}; accept(L) = {res(lst.accept)}")
        m.close()
    for c in clients + kept:
        c.close()
    lst.close()


def tcp_blocked_accept_case() -> None:
    """shutdown(SHUT_RD) wakes a thread blocked in accept()?"""
    import threading
    print()
    print("## TCP listener, accept() blocked in another thread, then shutdown(L, SHUT_RD)")
    lst = socket.socket()
    lst.bind(("127.0.0.1", 0))
    c_listen(lst, 4)
    result: list[str] = []

    def run() -> None:
        t0 = time.monotonic()
        result.append(res(lst.accept))
        result.append(f"{time.monotonic() - t0:.2f}s")
    t = threading.Thread(target=run)
    t.start()
    time.sleep(0.2)
    print(f"   shutdown(L, SHUT_RD) = {res(lst.shutdown, socket.SHUT_RD)}")
    t.join(2.0)
    print(f"   blocked accept() returned: {result if result else 'still blocked after 2 s'}")
    if not result:
        lst.close()
        t.join(2.0)
    else:
        lst.close()


def tcp_conn_cases() -> None:
    for name, how in HOWS:
        print()
        print(f"## TCP connection: shutdown(C, {name})")
        lst = socket.socket()
        lst.bind(("127.0.0.1", 0))
        lst.listen(4)
        c = socket.socket()
        c.connect(lst.getsockname())
        a, _ = lst.accept()
        for s in (c, a):
            s.setblocking(False)
        a.send(b"from-A")
        time.sleep(0.02)
        r = res(c.shutdown, how)
        time.sleep(0.02)
        print(f"   shutdown(C, {name}) = {r}; C: tcp_state={tcp_state(c)} poll={poll_flags(c)}; "
              f"A: tcp_state={tcp_state(a)} poll={poll_flags(a)}")
        print(f"   C: recv={recv_nb(c)} recv={recv_nb(c)} send={send_nb(c)} SO_ERROR={so_error(c)}")
        print(f"   A: recv={recv_nb(a)} recv={recv_nb(a)} send={send_nb(a)}")
        time.sleep(0.02)
        print(f"   then C: recv={recv_nb(c)} poll={poll_flags(c)}; again shutdown(C, {name}) ="
              f" {res(c.shutdown, how)}; listen(C) = {res(c_listen, c, 1)}")
        for s in (c, a, lst):
            s.close()


def unconnected_cases() -> None:
    print()
    print("## unconnected sockets")
    for fam, typ, label in ((socket.AF_INET, socket.SOCK_STREAM, "TCP fresh"),
                            (socket.AF_UNIX, socket.SOCK_STREAM, "AF_UNIX stream bound"),
                            (socket.AF_UNIX, socket.SOCK_SEQPACKET, "AF_UNIX seqpacket bound"),
                            (socket.AF_INET, socket.SOCK_DGRAM, "UDP fresh")):
        for name, how in HOWS:
            s = socket.socket(fam, typ)
            if fam == socket.AF_UNIX:
                s.bind(f"\0probe-shut-fresh-{os.getpid()}-{typ}-{how}")
            r = res(s.shutdown, how)
            print(f"   {label}: shutdown({name}) = {r}; poll={poll_flags(s)}; "
                  f"listen after = {res(c_listen, s, 1) if typ != socket.SOCK_DGRAM else '-'}")
            s.close()
        s = socket.socket(fam, typ)
        print(f"   {label}: shutdown(how=3) = {res(s.shutdown, 3)}; shutdown(-1) = "
              f"{res(s.shutdown, -1)}")
        s.close()
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    print(f"   TCP bound: shutdown(SHUT_RDWR) = {res(s.shutdown, socket.SHUT_RDWR)}; "
          f"listen after = {res(c_listen, s, 1)}")
    s.close()


def unix_listener_case(kind: int, name: str, how: int) -> None:
    label = "stream" if kind == socket.SOCK_STREAM else "seqpacket"
    print()
    print(f"## AF_UNIX {label} listener, two connections queued: shutdown(L, {name})")
    addr = f"\0probe-shut-{os.getpid()}-{kind}-{how}"
    lst = socket.socket(socket.AF_UNIX, kind)
    lst.bind(addr)
    c_listen(lst, 4)
    lst.setblocking(False)
    clients = []
    for _ in range(2):
        c = socket.socket(socket.AF_UNIX, kind)
        c.connect(addr)
        c.setblocking(False)
        clients.append(c)
    print(f"   before: {unix_queue(lst)} poll={poll_flags(lst)}")
    r = res(lst.shutdown, how)
    time.sleep(0.02)
    print(f"   shutdown(L, {name}) = {r}; L: poll={poll_flags(lst)} SO_ACCEPTCONN="
          f"{acceptconn(lst)} {unix_queue(lst)}")
    kept: list[socket.socket] = []
    print(f"   accept(L) = {res(lambda: kept.append(lst.accept()[0]) or 'fd')}")
    for i, c in enumerate(clients, 1):
        print(f"   C{i}: poll={poll_flags(c)} SO_ERROR={so_error(c)} recv={recv_nb(c)} "
              f"send={send_nb(c)}")
    n = socket.socket(socket.AF_UNIX, kind)
    n.setblocking(False)
    print(f"   a new connect = {res(n.connect, addr)}; listen(L, 4) again = "
          f"{res(c_listen, lst, 4)}")
    n.close()
    m = socket.socket(socket.AF_UNIX, kind)
    m.setblocking(False)
    print(f"   then a connect = {res(m.connect, addr)}")
    m.close()
    for k in kept:
        k.close()
    for c in clients:
        c.close()
    lst.close()


def main() -> None:
    arm(60)
    isolate()
    header("shutdown() on listeners, connections and unconnected sockets")
    for name, how in HOWS:
        tcp_listener_case(name, how)
    tcp_blocked_accept_case()
    tcp_conn_cases()
    unconnected_cases()
    for kind in (socket.SOCK_STREAM, socket.SOCK_SEQPACKET):
        for name, how in HOWS:
            unix_listener_case(kind, name, how)


if __name__ == "__main__":
    main()
