"""Topic 8: the timers of a listener, measured with a monotonic clock.

A. TCP_DEFER_ACCEPT 1, 2, 5 s: a client connects and sends nothing; when does the listener
   become readable (and accept() succeed)? Three listeners run at once.
B. A half-open entry (one raw SYN from the TUN peer, never answered) with
   net.ipv4.tcp_synack_retries 1 and 2: the times the listener's SYN-ACKs arrive on the TUN,
   and when the SYN_RECV entry leaves the dump (ss).
C. A handshake whose final ACK was dropped on a full accept queue (tcp_abort_on_overflow 0):
   the raw peer sends SYN while the queue has room, a real client then fills the queue, the
   peer sends its ACK (dropped: ListenOverflows), accept() makes room at t=0.3 s; the peer
   answers every SYN-ACK retransmission with an ACK (as a client's stack does): when is the
   connection in the accept queue?
D. The same with a real client that sends data (TCP_DEFER_ACCEPT keeps the handshake open
   until the data arrives): the data segment is dropped on the full queue, room is made, and
   the client's own retransmission of the data completes it.

Run: python benchmarks/probes/linux/timers.py   (about 40 s)
"""

from __future__ import annotations

import random
import select
import socket
import time

from _probe import (
    arm,
    c_listen,
    counters,
    header,
    isolate,
    listen_queue,
    read_sysctl,
    show_delta,
    syn_recv_count,
    write_sysctl,
)
from _rawpeer import ACK, SYN, RawPeer


def listener(backlog: int) -> socket.socket:
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    c_listen(s, backlog)
    s.setblocking(False)
    return s


def part_a() -> None:
    print("## A. TCP_DEFER_ACCEPT: time until the listener is readable (client sends nothing)")
    lsts, clients, t0 = {}, [], {}
    p = select.poll()
    for secs in (1, 2, 5):
        lst = listener(8)
        lst.setsockopt(socket.IPPROTO_TCP, socket.TCP_DEFER_ACCEPT, secs)
        got = lst.getsockopt(socket.IPPROTO_TCP, socket.TCP_DEFER_ACCEPT)
        c = socket.socket()
        t0[lst.fileno()] = time.monotonic()
        c.connect(lst.getsockname())
        clients.append(c)
        lsts[lst.fileno()] = (secs, got, lst)
        p.register(lst, select.POLLIN)
    time.sleep(0.05)
    for secs, got, lst in lsts.values():
        print(f"   TCP_DEFER_ACCEPT={secs} (getsockopt {got}): at 0.05 s {listen_queue(lst)}, "
              f"SYN_RECV entries {syn_recv_count(lst.getsockname()[1])}")
    before = counters()
    pending = dict(lsts)
    deadline = time.monotonic() + 20
    while pending and time.monotonic() < deadline:
        for fd, _ev in p.poll(200):
            if fd in pending:
                secs, got, lst = pending.pop(fd)
                t = time.monotonic() - t0[fd]
                a, _ = lst.accept()
                print(f"   TCP_DEFER_ACCEPT={secs}: readable at {t:.2f} s; accept() = fd")
                p.unregister(lst)
                a.close()
    for secs, _got, _lst in pending.values():
        print(f"   TCP_DEFER_ACCEPT={secs}: not readable within 20 s")
    print(f"   counters over the wait: {show_delta(before, counters())}")
    for c in clients:
        c.close()
    for _secs, _got, lst in lsts.values():
        lst.close()


def part_b(peer: RawPeer) -> None:
    print("## B. a half-open entry and tcp_synack_retries")
    print(f"   default tcp_synack_retries = {read_sysctl('net.ipv4.tcp_synack_retries')}")
    for retries in (1, 2):
        w = write_sysctl("net.ipv4.tcp_synack_retries", retries)
        print(f"   write tcp_synack_retries={retries}: {w}")
        lst = listener(8)
        port = lst.getsockname()[1]
        peer.read(0.01)
        sport = random.randint(20000, 60000)
        t0 = time.monotonic()
        peer.send(port, sport, 1000, 0, SYN)
        synacks: list[float] = []
        gone = None
        while time.monotonic() - t0 < 12:
            for t, sp, dp, _seq, _ack, fl in peer.read(0.1):
                if sp == port and dp == sport and fl & SYN and fl & ACK:
                    synacks.append(t - t0)
            if gone is None and synacks and syn_recv_count(port) == 0:
                gone = time.monotonic() - t0
                break
        print(f"   tcp_synack_retries={retries}: SYN-ACKs at {[f'{x:.2f}' for x in synacks]} s; "
              f"SYN_RECV entry gone at {gone and f'{gone:.2f}'} s")
        lst.close()
    write_sysctl("net.ipv4.tcp_synack_retries", 5)


def part_c(peer: RawPeer) -> None:
    print("## C. final ACK dropped on a full accept queue (abort_on_overflow 0), bare ACKs")
    print(f"   tcp_abort_on_overflow = {read_sysctl('net.ipv4.tcp_abort_on_overflow')}")
    lst = listener(0)
    port = lst.getsockname()[1]
    sport = random.randint(20000, 60000)
    isn = 5000
    peer.read(0.01)
    t0 = time.monotonic()
    peer.send(port, sport, isn, 0, SYN)
    synack = [x for x in peer.read(0.1) if x[1] == port and x[5] & SYN]
    s_isn = synack[0][3]
    c = socket.socket()
    c.connect(lst.getsockname())  # fills the queue: backlog 0 holds 1
    before = counters()
    peer.send(port, sport, isn + 1, s_isn + 1, ACK)
    time.sleep(0.02)
    print(f"   peer SYN at 0; SYN-ACK; a real client fills the queue ({listen_queue(lst)}); "
          f"peer's ACK: {show_delta(before, counters())}; SYN_RECV entries "
          f"{syn_recv_count(port)}")
    time.sleep(0.3 - (time.monotonic() - t0))
    a, _ = lst.accept()
    t_room = time.monotonic() - t0
    print(f"   accept() at {t_room:.2f} s makes room: {listen_queue(lst)}")
    done = None
    seen = []
    while time.monotonic() - t0 < 10 and done is None:
        for t, sp, dp, seq, _ack, fl in peer.read(0.05):
            if sp == port and dp == sport and fl & SYN and fl & ACK:
                seen.append(t - t0)
                peer.send(port, sport, isn + 1, seq + 1, ACK)
        q = listen_queue(lst)
        if q.startswith("Recv-Q=1"):
            done = time.monotonic() - t0
    print(f"   SYN-ACK retransmissions answered at {[f'{x:.2f}' for x in seen]} s; the "
          f"connection is queued at {done and f'{done:.2f}'} s ({listen_queue(lst)}); "
          f"counters since the ACK: {show_delta(before, counters())}")
    a.close()
    c.close()
    lst.close()


def part_d() -> None:
    print("## D. the same with a real client that sends data (TCP_DEFER_ACCEPT holds the "
          "handshake)")
    lst = listener(3)
    lst.setsockopt(socket.IPPROTO_TCP, socket.TCP_DEFER_ACCEPT, 30)
    cs = []
    for _ in range(3):
        c = socket.socket()
        c.connect(lst.getsockname())
        cs.append(c)
    cs[0].send(b"one")
    time.sleep(0.02)
    c_listen(lst, 0)
    before = counters()
    t0 = time.monotonic()
    cs[1].send(b"two")
    time.sleep(0.02)
    print(f"   C1 sent, child queued; listen(L, 0); C2 sends at t=0: {listen_queue(lst)}; "
          f"counters: {show_delta(before, counters())}")
    samples = []
    a = None
    t_room = 0.0
    done = None
    while time.monotonic() - t0 < 5:
        time.sleep(0.05)
        t = time.monotonic() - t0
        if a is None and t >= 0.3:
            a, _ = lst.accept()
            t_room = t
        i = cs[1].getsockopt(socket.IPPROTO_TCP, socket.TCP_INFO, 104)
        unacked = int.from_bytes(i[24:28], "little")
        samples.append(f"{t:.2f}s unacked={unacked} {listen_queue(lst)}")
        if a is not None and listen_queue(lst).startswith("Recv-Q=1"):
            done = time.monotonic() - t0
            break
    rto = int.from_bytes(i[8:12], "little") / 1e6
    print(f"   accept() at {t_room:.2f} s; C2 (tcpi_rto {rto:.3f} s): " + "; ".join(samples[-3:])
          + f"; C2's connection queued at {done and f'{done:.2f}'} s")
    print(f"   counters: {show_delta(before, counters())}")
    a.close()
    for c in cs:
        c.close()
    lst.close()


def main() -> None:
    arm(120)
    isolate()
    header("listener timers")
    # Part A's deferred handshakes measure RTTs of seconds; saved in the per-destination TCP
    # metrics they would seed later connections' RTO (part D). Not saving them keeps the parts
    # independent.
    print(f"# net.ipv4.tcp_no_metrics_save=1: {write_sysctl('net.ipv4.tcp_no_metrics_save', 1)}")
    part_a()
    peer = RawPeer()
    try:
        part_b(peer)
        part_c(peer)
    finally:
        peer.close()
    part_d()


if __name__ == "__main__":
    main()
