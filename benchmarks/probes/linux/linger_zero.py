"""Topic 6: SO_LINGER {1, 0} then close(): an accepted connection, a client still queued on
a listener, a listener with queued connections (compared with a plain close), a SYN_SENT
client. Counters are this namespace's TcpExt/Tcp deltas around the close.

Run: python benchmarks/probes/linux/linger_zero.py
"""

from __future__ import annotations

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
    poll_flags,
    recv_nb,
    res,
    send_nb,
    show_delta,
    so_error,
    tcp_state,
)


def listener(backlog: int = 4) -> socket.socket:
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    c_listen(s, backlog)
    s.setblocking(False)
    return s


def main() -> None:
    arm(60)
    isolate()
    header("SO_LINGER {1,0} and close()")
    print("## an accepted connection A, SO_LINGER{1,0}, close(A)")
    lst = listener()
    c = socket.socket()
    c.connect(lst.getsockname())
    c.setblocking(False)
    a, _ = lst.accept()
    print(f"   setsockopt(A, SO_LINGER, {{1,0}}) = {res(linger0, a)}; getsockopt = "
          f"{a.getsockopt(socket.SOL_SOCKET, socket.SO_LINGER, 8).hex()}")
    before = counters()
    print(f"   close(A) = {res(a.close)}")
    time.sleep(0.02)
    print(f"   C: tcp_state={tcp_state(c)} poll={poll_flags(c)} recv={recv_nb(c)} "
          f"send={send_nb(c)} SO_ERROR={so_error(c)}; counters: {show_delta(before, counters())}")
    c.close()
    lst.close()

    print("## a client C queued on L (not accepted), SO_LINGER{1,0}, close(C)")
    lst = listener()
    c = socket.socket()
    c.connect(lst.getsockname())
    c2 = socket.socket()
    c2.connect(lst.getsockname())
    print(f"   L before: {listen_queue(lst)} poll={poll_flags(lst)}")
    linger0(c)
    before = counters()
    print(f"   close(C) = {res(c.close)}")
    time.sleep(0.02)
    print(f"   L after: {listen_queue(lst)} poll={poll_flags(lst)}; "
          f"counters: {show_delta(before, counters())}")
    a1, _ = lst.accept()
    a1.setblocking(False)
    print(f"   accept(L) = fd (the reset one first, FIFO): tcp_state={tcp_state(a1)} "
          f"poll={poll_flags(a1)} SO_ERROR={so_error(a1)} recv={recv_nb(a1)} send={send_nb(a1)}")
    a2, _ = lst.accept()
    print(f"   accept(L) = fd (C2): tcp_state={tcp_state(a2)}; accept(L) = {res(lst.accept)}; "
          f"L: {listen_queue(lst)}")
    for s in (a1, a2, c2, lst):
        s.close()

    for how in ("close()", "SO_LINGER{1,0} + close()"):
        print(f"## a listener with 2 queued connections: {how}")
        lst = listener()
        cs = []
        for _ in range(2):
            c = socket.socket()
            c.connect(lst.getsockname())
            c.setblocking(False)
            cs.append(c)
        if "LINGER" in how:
            linger0(lst)
        before = counters()
        lst.close()
        time.sleep(0.02)
        print("   clients: " + "; ".join(
            f"tcp_state={tcp_state(c)} SO_ERROR={so_error(c)} recv={recv_nb(c)}" for c in cs)
              + f"; counters: {show_delta(before, counters())}")
        for c in cs:
            c.close()

    print("## a SYN_SENT client (SYN dropped by a full listener), SO_LINGER{1,0}, close()")
    lst = listener(0)
    q = socket.socket()
    q.connect(lst.getsockname())
    c = socket.socket()
    c.setblocking(False)
    r = res(c.connect, lst.getsockname())
    time.sleep(0.02)
    state = tcp_state(c)
    linger0(c)
    before = counters()
    c.close()
    time.sleep(0.02)
    print(f"   connect = {r} [{state}]; close(); counters: {show_delta(before, counters())}; "
          f"L: {listen_queue(lst)}")
    q.close()
    lst.close()

    print("## SO_LINGER{1,0} on a listener's own queued child vs. the client's view")
    lst = listener()
    c = socket.socket()
    c.connect(lst.getsockname())
    c.setblocking(False)
    a, _ = lst.accept()
    a.setblocking(False)
    c.send(b"unread")
    time.sleep(0.02)
    before = counters()
    a.close()  # plain close with unread data: RST (tcp_close: data_was_unread)
    time.sleep(0.02)
    print(f"   A had unread data, plain close(A): C tcp_state={tcp_state(c)} SO_ERROR="
          f"{so_error(c)}; counters: {show_delta(before, counters())}")
    c.close()
    lst.close()


if __name__ == "__main__":
    main()
