"""Topic 2: send()/recv() on a connection the other side reset or closed, TCP and AF_UNIX.

Each case builds a fresh connected pair (C = client, A = the accepted socket), makes A end the
connection in one way, waits 20 ms (loopback delivers at once; the wait only removes doubt),
then makes C's calls in the order printed. Orders differ between cases on purpose: the pending
error (sk_err) is reported by whichever call comes first.

Run: python benchmarks/probes/linux/send_after_reset.py
"""

from __future__ import annotations

import os
import socket
import time

from _probe import (
    arm,
    counters,
    header,
    isolate,
    linger0,
    poll_flags,
    recv_nb,
    send_nb,
    show_delta,
    so_error,
    tcp_state,
)

PAUSE = 0.02


def tcp_pair() -> tuple[socket.socket, socket.socket, socket.socket]:
    lst = socket.socket()
    lst.bind(("127.0.0.1", 0))
    lst.listen(4)
    c = socket.socket()
    c.connect(lst.getsockname())
    a, _ = lst.accept()
    c.setblocking(False)
    a.setblocking(False)
    return lst, c, a


def unix_pair(kind: int) -> tuple[socket.socket, socket.socket, socket.socket]:
    addr = f"\0probe-send-{os.getpid()}-{time.monotonic_ns()}"
    lst = socket.socket(socket.AF_UNIX, kind)
    lst.bind(addr)
    lst.listen(4)
    c = socket.socket(socket.AF_UNIX, kind)
    c.connect(addr)
    a, _ = lst.accept()
    c.setblocking(False)
    a.setblocking(False)
    return lst, c, a


def steps(c: socket.socket, order: str, tcp: bool) -> str:
    out = []
    for step in order.split():
        if step == "send":
            out.append(f"send={send_nb(c)}")
        elif step == "recv":
            out.append(f"recv={recv_nb(c)}")
        elif step == "err":
            out.append(f"SO_ERROR={so_error(c)}")
        elif step == "poll":
            out.append(f"poll={poll_flags(c)}")
        elif step == "state" and tcp:
            out.append(f"tcp_state={tcp_state(c)}")
        elif step == "wait":
            time.sleep(PAUSE)
            out.append("(20 ms)")
    return "; ".join(out)


def case(title: str, make: str, end: str, order: str) -> None:
    """make: tcp | stream | seqpacket; end: how A ends it."""
    tcp = make == "tcp"
    if tcp:
        lst, c, a = tcp_pair()
    else:
        kind = socket.SOCK_STREAM if make == "stream" else socket.SOCK_SEQPACKET
        lst, c, a = unix_pair(kind)
    before = counters()
    did = []
    if "c-sends" in end:
        c.send(b"to-A")
        did.append("C: send('to-A')")
    if "a-sends" in end:
        a.send(b"bye")
        did.append("A: send('bye')")
    time.sleep(PAUSE)
    if "linger0" in end:
        linger0(a)
        did.append("A: SO_LINGER{1,0}")
    a.close()
    did.append("A: close()" + (" with unread data" if "c-sends" in end else ""))
    time.sleep(PAUSE)
    print()
    print(f"## {make}: {title}")
    print(f"   {'; '.join(did)}")
    print(f"   C: {steps(c, 'state poll', tcp)}")
    print(f"   C: {steps(c, order, tcp)}")
    if tcp:
        print(f"   counters: {show_delta(before, counters())}")
    c.close()
    lst.close()


def main() -> None:
    arm(60)
    isolate()
    header("send()/recv() after the peer reset or closed")
    # TCP: the peer resets (SO_LINGER {1,0} close)
    case("peer reset; send first", "tcp", "linger0", "send send err recv recv")
    case("peer reset; SO_ERROR first", "tcp", "linger0", "err send send recv")
    case("peer reset; recv first", "tcp", "linger0", "recv recv send")
    case("peer sent 'bye', then reset; recv first", "tcp", "a-sends linger0",
         "recv recv recv send")
    case("peer sent 'bye', then reset; send first", "tcp", "a-sends linger0",
         "send send recv recv")
    # TCP: closing with unread data resets the peer (tcp_close())
    case("C's data unread by A, A close(); recv first", "tcp", "c-sends",
         "recv recv send send err")
    case("C's data unread by A, A close(); send first", "tcp", "c-sends",
         "send send recv err")
    case("A sent 'bye', C's data unread, A close(); recv first", "tcp", "c-sends a-sends",
         "recv recv recv send")
    # TCP: the peer closed normally (FIN): C's first send provokes the RST
    case("peer close() (FIN); send, send", "tcp", "fin",
         "recv send wait state err send send recv")
    case("peer close() (FIN); send, wait, send", "tcp", "fin",
         "send wait state send send recv")
    # AF_UNIX
    for kind in ("stream", "seqpacket"):
        case("peer close(); send first", kind, "fin", "send send err recv recv")
        case("peer close(); recv first", kind, "fin", "recv recv send err")
        case("peer close() with C's data unread; recv first", kind, "c-sends",
             "recv recv send err")
        case("peer close() with C's data unread; SO_ERROR first", kind, "c-sends",
             "err recv send")
        case("peer close() with C's data unread; send first", kind, "c-sends",
             "send recv err")
        case("peer sent 'bye', close() with C's data unread; recv first", kind,
             "c-sends a-sends", "recv recv recv send")


if __name__ == "__main__":
    main()
