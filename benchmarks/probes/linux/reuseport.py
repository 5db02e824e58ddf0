"""Topic 5: SO_REUSEPORT listener groups on 127.0.0.1.

A and B: TCP listeners, SO_REUSEPORT set before bind, same 127.0.0.1:P, backlogs 1 and 3.
Which listener a connection reached is read from the listeners' own queues (ss by inode, and
accept() on each). Client ports are fixed where the 4-tuple matters (SO_REUSEADDR on the
client, SO_LINGER {1,0} close so no TIME_WAIT keeps the tuple).

Run: python benchmarks/probes/linux/reuseport.py
"""

from __future__ import annotations

import os
import socket
import time

from _probe import (
    arm,
    c_listen,
    counters,
    header,
    isolate,
    linger0,
    listen_queue,
    res,
    settle,
    show_delta,
    so_error,
    tcp_state,
    write_sysctl,
)


def rp_listener(port: int, backlog: int) -> socket.socket:
    s = socket.socket()
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
    s.bind(("127.0.0.1", port))
    c_listen(s, backlog)
    s.setblocking(False)
    return s


def free_port() -> int:
    t = socket.socket()
    t.bind(("127.0.0.1", 0))
    p = t.getsockname()[1]
    t.close()
    return p


def client_from(cport: int) -> socket.socket:
    c = socket.socket()
    c.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    c.bind(("127.0.0.1", cport))
    c.setblocking(False)
    return c


def drain(s: socket.socket) -> int:
    n = 0
    while True:
        try:
            a, _ = s.accept()
        except BlockingIOError:
            return n
        linger0(a)
        a.close()
        n += 1


def which(a: socket.socket, b: socket.socket, cport: int, addr: tuple[str, int]) -> str:
    """Connect once from cport; say which listener queued it; clean up."""
    c = client_from(cport)
    r = res(c.connect, addr)
    settle(c)
    na, nb = drain(a), drain(b)
    linger0(c)
    c.close()
    return f"{r}:{'A' if na else ''}{'B' if nb else ''}{'' if na or nb else 'none'}"


def main() -> None:
    arm(60)
    isolate()
    header("SO_REUSEPORT listener groups")
    port = free_port()
    a = rp_listener(port, 1)
    b = rp_listener(port, 3)
    addr = ("127.0.0.1", port)
    ra = a.getsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT)
    rb = b.getsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT)
    print(f"A: {listen_queue(a)} SO_REUSEPORT={ra}; B: {listen_queue(b)} SO_REUSEPORT={rb}")
    # distribution with kernel-chosen client ports
    counts = {"A": 0, "B": 0}
    for _ in range(40):
        c = socket.socket()
        c.setblocking(False)
        c.connect_ex(addr)
        settle(c)
        na, nb = drain(a), drain(b)
        counts["A"] += na
        counts["B"] += nb
        linger0(c)
        c.close()
    print(f"40 connects, ephemeral client ports: reached A {counts['A']}, B {counts['B']}")
    # a fixed client port always reaches the same member
    ports = [free_port() for _ in range(6)]
    for cp in ports:
        seen = [which(a, b, cp, addr) for _ in range(5)]
        print(f"client port {cp}: 5 connects -> {seen}")
    # both queued at once: each listener's own queue
    held = []
    for cp in ports:
        c = client_from(cp)
        c.connect_ex(addr)
        settle(c)
        held.append(c)
    print(f"6 clients held: A: {listen_queue(a)}; B: {listen_queue(b)}")
    for c in held:
        linger0(c)
        c.close()
    drain(a)
    drain(b)
    # A full (backlog 1 -> 2 queued): a connect that hashes to A is dropped, B has room
    to_a = [cp for cp in (free_port() for _ in range(40)) if which(a, b, cp, addr).endswith(":A")]
    fill, probe = to_a[:2], to_a[2]
    held = []
    for cp in fill:
        c = client_from(cp)
        c.connect_ex(addr)
        settle(c)
        held.append(c)
    print(f"A filled by 2 clients whose tuple hashes to A: A: {listen_queue(a)}; "
          f"B: {listen_queue(b)}")
    before = counters()
    c = client_from(probe)
    r = res(c.connect, addr)
    time.sleep(0.05)
    print(f"a third client whose tuple hashes to A: connect = {r}, tcp_state={tcp_state(c)}; "
          f"A: {listen_queue(a)}; B: {listen_queue(b)}; counters: {show_delta(before, counters())}")
    linger0(c)
    c.close()
    for c in held:
        linger0(c)
        c.close()
    drain(a)
    drain(b)
    # closing a member with queued connections: tcp_migrate_req 0 (default) and 1
    for migrate in (0, 1):
        w = write_sysctl("net.ipv4.tcp_migrate_req", migrate)
        print(f"net.ipv4.tcp_migrate_req = {migrate}: write = {w}")
        a2 = rp_listener(port, 4) if a.fileno() < 0 else a
        queued = []
        for cp in (free_port() for _ in range(40)):
            if len(queued) == 2:
                break
            c = client_from(cp)
            c.connect_ex(addr)
            settle(c)
            if drain(b):
                linger0(c)
                c.close()
                continue
            queued.append(c)
        print(f"   A: {listen_queue(a2)} (2 queued); B: {listen_queue(b)}")
        before = counters()
        a2.close()
        time.sleep(0.05)
        states = [f"{tcp_state(c)}/{so_error(c)}" for c in queued]
        print(f"   close(A): its clients -> {states}; B: {listen_queue(b)}; accept(B) x3 -> "
              f"{[res(b.accept) for _ in range(3)]}; counters: {show_delta(before, counters())}")
        for c in queued:
            c.close()
        a = rp_listener(port, 1)
    a.close()
    b.close()
    # binding without SO_REUSEPORT
    print()
    for first, second in ((False, False), (True, False), (False, True), (True, True)):
        p = free_port()
        s1 = socket.socket()
        if first:
            s1.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
        s1.bind(("127.0.0.1", p))
        c_listen(s1, 1)
        s2 = socket.socket()
        if second:
            s2.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
        r = res(s2.bind, ("127.0.0.1", p))
        print(f"first listener SO_REUSEPORT={int(first)}, second socket "
              f"SO_REUSEPORT={int(second)}: bind = {r}"
              + (f"; listen = {res(c_listen, s2, 1)}" if r == "0" else ""))
        s1.close()
        s2.close()
    # both bound but not yet listening, then listen on both
    p = free_port()
    s1 = socket.socket()
    s1.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
    s1.bind(("127.0.0.1", p))
    s2 = socket.socket()
    s2.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
    print(f"two SO_REUSEPORT sockets bound before either listens: bind = "
          f"{res(s2.bind, ('127.0.0.1', p))}; listen(1st) = {res(c_listen, s1, 1)}; "
          f"listen(2nd) = {res(c_listen, s2, 1)}")
    s1.close()
    s2.close()
    # SO_REUSEPORT set after bind has no effect
    p = free_port()
    s1 = socket.socket()
    s1.bind(("127.0.0.1", p))
    s1.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
    c_listen(s1, 1)
    s2 = socket.socket()
    s2.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
    r = res(s2.bind, ("127.0.0.1", p))
    print(f"first set SO_REUSEPORT only after bind(): second bind = {r}")
    s1.close()
    s2.close()
    # AF_UNIX
    for kind, label in ((socket.SOCK_STREAM, "stream"), (socket.SOCK_SEQPACKET, "seqpacket")):
        name = f"\0probe-rp-{os.getpid()}-{kind}"
        u1 = socket.socket(socket.AF_UNIX, kind)
        r1 = res(u1.setsockopt, socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
        u1.bind(name)
        c_listen(u1, 1)
        u2 = socket.socket(socket.AF_UNIX, kind)
        r2 = res(u2.setsockopt, socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
        print(f"AF_UNIX {label}: setsockopt(SO_REUSEPORT, 1) = {r1}/{r2}; getsockopt = "
              f"{u1.getsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT)}; second bind to the same "
              f"name = {res(u2.bind, name)}")
        u1.close()
        u2.close()


if __name__ == "__main__":
    main()
