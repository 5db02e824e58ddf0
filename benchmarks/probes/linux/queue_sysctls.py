"""Topic 9: the sysctls that shape a listener's queues, and the counters each mode bumps.

1. What each sysctl accepts: a list of values written to the private namespace's copy, each
   followed by a read-back.
2. net.ipv4.tcp_syncookies 0 / 1 / 2 / 3: ten bare SYNs from the raw peer (192.0.2.2, never
   completing) to a listener with backlog 4; then a real client connects; then the peer sends
   an ACK carrying a wrong cookie. Printed: SYN-ACKs seen, SYN_RECV entries, the client's
   connect and the listener's queue, and the counter deltas.
3. net.ipv4.tcp_max_syn_backlog: the same flood (sixteen SYNs) to a listener with backlog 64,
   with tcp_max_syn_backlog 8 and syncookies 0, then 1.
4. net.ipv4.tcp_abort_on_overflow 1: an overflow at ACK time (the peer's SYN accepted while
   the queue had room, its ACK after a real client filled it) and one at SYN time.

Run: python benchmarks/probes/linux/queue_sysctls.py
"""

from __future__ import annotations

import random
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
    res,
    settle,
    show_delta,
    so_error,
    syn_recv_count,
    tcp_state,
    write_sysctl,
)
from _rawpeer import ACK, RST, SYN, RawPeer

VALUES = (-2147483648, -1, 0, 1, 2, 3, 4, 100, 255, 256, 65535, 2147483647, 2147483648)
SYSCTLS = ("net.ipv4.tcp_syncookies", "net.ipv4.tcp_abort_on_overflow",
           "net.ipv4.tcp_max_syn_backlog", "net.ipv4.tcp_synack_retries",
           "net.ipv4.tcp_migrate_req", "net.core.somaxconn")


def listener(backlog: int) -> socket.socket:
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    c_listen(s, backlog)
    s.setblocking(False)
    return s


def ranges() -> None:
    print("## 1. values each sysctl accepts (write = 0 or errno; then the value read back)")
    for name in SYSCTLS:
        default = read_sysctl(name)
        cells = []
        for v in VALUES:
            r = write_sysctl(name, v)
            cells.append(f"{v}:{'ok' if r == '0' else r}->{read_sysctl(name)}")
        write_sysctl(name, default)
        print(f"   {name} (default {default}): " + ", ".join(cells))


def flood(peer: RawPeer, port: int, n: int) -> tuple[int, list[int]]:
    """n SYNs from distinct ports; SYN-ACKs answering them (count) and the ports used."""
    peer.read(0.01)
    ports = random.sample(range(20000, 60000), n)
    for sp in ports:
        peer.send(port, sp, 7000, 0, SYN)
    got = peer.read(0.2)
    answered = {dp for _t, sp, dp, _s, _a, fl in got if sp == port and fl & SYN and fl & ACK}
    return len(answered & set(ports)), ports


def syncookie_modes(peer: RawPeer) -> None:
    print("## 2. tcp_syncookies modes: 10 bare SYNs to a listener with backlog 4")
    for mode in (0, 1, 2, 3):
        write_sysctl("net.ipv4.tcp_syncookies", mode)
        lst = listener(4)
        port = lst.getsockname()[1]
        before = counters()
        answered, _ports = flood(peer, port, 10)
        half = syn_recv_count(port)
        mid = counters()
        c = socket.socket()
        c.setblocking(False)
        r = res(c.connect, lst.getsockname())
        settle(c)
        after_c = counters()
        cstate = f"{r}, then {tcp_state(c)}/{so_error(c)}; L: {listen_queue(lst)}"
        # a bare ACK with a wrong cookie from a port that sent no SYN
        peer.send(port, 61000 + mode, 12345, 99999, ACK)
        rst = [x for x in peer.read(0.1) if x[1] == port and x[2] == 61000 + mode]
        end = counters()
        print(f"   syncookies={mode}: SYN-ACKs {answered}/10, SYN_RECV entries {half}; "
              f"counters: {show_delta(before, mid)}")
        print(f"      real client: connect = {cstate}; counters: {show_delta(mid, after_c)}")
        print(f"      bogus ACK: answered by {'RST' if rst and rst[0][5] & RST else rst}; "
              f"counters: {show_delta(after_c, end)}")
        c.close()
        lst.close()
        time.sleep(0.05)
    write_sysctl("net.ipv4.tcp_syncookies", 1)


def max_syn_backlog(peer: RawPeer) -> None:
    print("## 3. tcp_max_syn_backlog = 8, listener backlog 64, 16 bare SYNs")
    print(f"   default in this namespace: {read_sysctl('net.ipv4.tcp_max_syn_backlog')}")
    write_sysctl("net.ipv4.tcp_max_syn_backlog", 8)
    for mode in (0, 1):
        write_sysctl("net.ipv4.tcp_syncookies", mode)
        lst = listener(64)
        port = lst.getsockname()[1]
        before = counters()
        answered, _ = flood(peer, port, 16)
        print(f"   syncookies={mode}: SYN-ACKs {answered}/16, SYN_RECV entries "
              f"{syn_recv_count(port)}; counters: {show_delta(before, counters())}")
        lst.close()
        time.sleep(0.05)
    write_sysctl("net.ipv4.tcp_max_syn_backlog", 128)
    for mode in (0, 1):
        write_sysctl("net.ipv4.tcp_syncookies", mode)
        lst = listener(4)
        port = lst.getsockname()[1]
        before = counters()
        answered, _ = flood(peer, port, 8)
        print(f"   tcp_max_syn_backlog=128, backlog 4, syncookies={mode}: SYN-ACKs {answered}/8,"
              f" SYN_RECV entries {syn_recv_count(port)}; counters: "
              f"{show_delta(before, counters())}")
        lst.close()
    write_sysctl("net.ipv4.tcp_syncookies", 1)


def abort_on_overflow(peer: RawPeer) -> None:
    print("## 4. tcp_abort_on_overflow")
    for value in (0, 1):
        write_sysctl("net.ipv4.tcp_abort_on_overflow", value)
        lst = listener(0)
        port = lst.getsockname()[1]
        sport = random.randint(20000, 60000)
        peer.read(0.01)
        peer.send(port, sport, 100, 0, SYN)
        synack = [x for x in peer.read(0.1) if x[1] == port and x[5] & SYN]
        c = socket.socket()
        c.connect(lst.getsockname())
        before = counters()
        peer.send(port, sport, 101, synack[0][3] + 1, ACK)
        ans = [x for x in peer.read(0.1) if x[1] == port and x[2] == sport]
        flags = ["RST" if x[5] & RST else hex(x[5]) for x in ans]
        print(f"   abort_on_overflow={value}, ACK-time overflow (raw peer): answer "
              f"{flags or 'none'}; SYN_RECV entries {syn_recv_count(port)}; counters: "
              f"{show_delta(before, counters())}")
        # SYN-time: the queue is full when the SYN arrives
        c2 = socket.socket()
        c2.setblocking(False)
        before = counters()
        r = res(c2.connect, lst.getsockname())
        time.sleep(0.05)
        print(f"   abort_on_overflow={value}, SYN-time overflow (real client): connect = {r}, "
              f"then {tcp_state(c2)}/{so_error(c2)}; counters: {show_delta(before, counters())}")
        c2.close()
        c.close()
        lst.close()
        # a real client whose final segment overflows: TCP_DEFER_ACCEPT holds the handshake
        lst = listener(3)
        lst.setsockopt(socket.IPPROTO_TCP, socket.TCP_DEFER_ACCEPT, 30)
        cs = []
        for _ in range(2):
            c = socket.socket()
            c.connect(lst.getsockname())
            c.setblocking(False)
            cs.append(c)
        cs[0].send(b"one")
        time.sleep(0.02)
        c_listen(lst, 0)
        before = counters()
        s1 = cs[1].send(b"two")
        time.sleep(0.05)
        print(f"   abort_on_overflow={value}, real client's data overflows at ACK time: connect "
              f"had returned 0, send = {s1}; then {tcp_state(cs[1])}, SO_ERROR="
              f"{so_error(cs[1])}; counters: {show_delta(before, counters())}")
        for c in cs:
            c.close()
        lst.close()
    write_sysctl("net.ipv4.tcp_abort_on_overflow", 0)


def main() -> None:
    arm(90)
    isolate()
    header("the sysctls that shape the queues")
    ranges()
    peer = RawPeer()
    try:
        syncookie_modes(peer)
        max_syn_backlog(peer)
        abort_on_overflow(peer)
    finally:
        peer.close()


if __name__ == "__main__":
    main()
