"""The measurements behind spec/sources/gvisor-2022-12.md, re-run: every fact as a script.

    python benchmarks/probes/gvisor/measure.py [--raw]      (root; runsc installed)

Each script runs on `--target gvisor` (the kernel executor inside one `runsc --network=none do`
sandbox) and is printed next to what the `linux` and `gvisor` profiles say; a `*` marks a line
where a profile and gVisor differ (`unsupported(...)` lines are never marked). `--raw` first
prints what the executor's known-answer probes found (the handshake) and a few facts read
directly inside the sandbox, below the executor (/proc files, the TUN device, netlink).
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import textwrap
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[3]))

from listenspec.models.profiles import get
from listenspec.results import Unsupported, matches, render
from listenspec.runner import run_model
from listenspec.script import parse
from listenspec.targets import target

#: section of the digest -> scripts
FACTS: dict[str, list[str]] = {
    "§1 listen(): the backlog and a re-listen": [
        """
        s = socket(AF_INET, SOCK_STREAM)
        listen(s, 0)
        c1 = socket(AF_INET, SOCK_STREAM)
        connect(c1, s)
        c2 = socket(AF_INET, SOCK_STREAM)
        connect(c2, s)
        listen(s, 1)
        connect(c2, s)
        """,
        """
        s = socket(AF_INET, SOCK_STREAM)
        listen(s, 2)
        c1 = socket(AF_INET, SOCK_STREAM)
        connect(c1, s)
        c2 = socket(AF_INET, SOCK_STREAM)
        connect(c2, s)
        listen(s, 0)
        listen(s, 1)
        c3 = socket(AF_INET, SOCK_STREAM)
        connect(c3, s)
        """,
        """
        u = socket(AF_UNIX, SOCK_STREAM)
        bind(u)
        listen(u, 1)
        c1 = socket(AF_UNIX, SOCK_STREAM)
        connect(c1, u)
        c2 = socket(AF_UNIX, SOCK_STREAM)
        connect(c2, u)
        c3 = socket(AF_UNIX, SOCK_STREAM)
        connect(c3, u)
        listen(u, 0)
        getsockopt(u, SO_ACCEPTCONN)
        """,
    ],
    "§2 admission and half-open connections": [
        """
        s = socket(AF_INET, SOCK_STREAM)
        listen(s, 1)
        syn(s)
        syn(s)
        syn(s)
        c = socket(AF_INET, SOCK_STREAM)
        connect(c, s)
        d = socket(AF_INET, SOCK_STREAM)
        connect(d, s)
        e = socket(AF_INET, SOCK_STREAM)
        connect(e, s)
        """,
        """
        s = socket(AF_INET6, SOCK_STREAM)
        listen(s, 0)
        syn(s)
        c = socket(AF_INET, SOCK_STREAM)
        connect(c, s)
        t = socket(AF_INET, SOCK_STREAM)
        bind(t)
        listen(t, 3)
        syn(t)
        """,
    ],
    "§3 connect(): families, listeners, refusals, resets, UDP": [
        """
        l = socket(AF_INET, SOCK_STREAM)
        listen(l, 1)
        c = socket(AF_INET6, SOCK_STREAM)
        connect(c, l)
        a = accept(l)
        l6 = socket(AF_INET6, SOCK_STREAM)
        listen(l6, 1)
        e = socket(AF_INET, SOCK_STREAM)
        connect(e, l6)
        u = socket(AF_UNIX, SOCK_STREAM)
        bind(u)
        connect(e, u)
        connect(l, l)
        """,
        """
        s = socket(AF_INET, SOCK_STREAM)
        connect(s, s)
        send(s, "x")
        getsockopt(s, SO_ERROR)
        getsockopt(s, SO_ERROR)
        bind(s)
        listen(s, 1)
        connect(s, s)
        """,
        """
        l = socket(AF_INET, SOCK_STREAM)
        listen(l, 5)
        y = socket(AF_INET, SOCK_STREAM)
        connect(y, l)
        connect(y, l)
        close(l)
        connect(y, l)
        getsockopt(y, SO_ERROR)
        connect(y, l)
        send(y, "x")
        bind(y)
        """,
        """
        s = socket(AF_INET, SOCK_STREAM)
        listen(s, 1)
        t = socket(AF_INET, SOCK_STREAM)
        listen(t, 1)
        u = socket(AF_INET, SOCK_DGRAM)
        connect(u, s)
        connect(u, s)
        connect(u, t)
        connect(u, s)
        """,
        """
        l4 = socket(AF_INET, SOCK_STREAM)
        listen(l4, 1)
        l6 = socket(AF_INET6, SOCK_STREAM)
        listen(l6, 1)
        u4 = socket(AF_INET, SOCK_STREAM)
        a = socket(AF_INET6, SOCK_DGRAM)
        connect(a, l6)
        connect(a, l4)
        b = socket(AF_INET6, SOCK_DGRAM)
        connect(b, u4)
        connect(b, l6)
        connect(b, u4)
        d = socket(AF_INET6, SOCK_STREAM)
        bind(d)
        connect(d, l4)
        e = socket(AF_INET6, SOCK_DGRAM)
        send(e, "x")
        connect(e, l4)
        """,
    ],
    "§4 AF_UNIX": [
        """
        u = socket(AF_UNIX, SOCK_STREAM)
        bind(u)
        connect(u, u)
        listen(u, 1)
        connect(u, u)
        c = socket(AF_UNIX, SOCK_STREAM)
        connect(c, u)
        close(u)
        send(c, "x")
        getsockopt(c, SO_ERROR)
        connect(c, u)
        """,
        """
        d = socket(AF_UNIX, SOCK_DGRAM)
        bind(d)
        s = socket(AF_UNIX, SOCK_STREAM)
        connect(s, d)
        l = socket(AF_UNIX, SOCK_STREAM)
        bind(l)
        listen(l, 1)
        e = socket(AF_UNIX, SOCK_DGRAM)
        connect(e, l)
        q = socket(AF_UNIX, SOCK_SEQPACKET)
        connect(q, l)
        """,
    ],
    "§5 socket options": [
        """
        s = socket(AF_INET, SOCK_STREAM)
        setsockopt(s, TCP_DEFER_ACCEPT, 4)
        getsockopt(s, TCP_DEFER_ACCEPT)
        setsockopt(s, TCP_DEFER_ACCEPT, 5)
        getsockopt(s, TCP_DEFER_ACCEPT)
        setsockopt(s, TCP_DEFER_ACCEPT, 200)
        getsockopt(s, TCP_DEFER_ACCEPT)
        setsockopt(s, TCP_DEFER_ACCEPT, -1)
        getsockopt(s, TCP_DEFER_ACCEPT)
        u = socket(AF_UNIX, SOCK_STREAM)
        setsockopt(u, TCP_DEFER_ACCEPT, 5)
        getsockopt(u, TCP_DEFER_ACCEPT)
        q = socket(AF_UNIX, SOCK_SEQPACKET)
        setsockopt(q, TCP_DEFER_ACCEPT, 5)
        d = socket(AF_INET, SOCK_DGRAM)
        getsockopt(d, TCP_DEFER_ACCEPT)
        """,
        """
        s = socket(AF_INET, SOCK_STREAM)
        setsockopt(s, SO_ACCEPTFILTER, "dataready")
        setsockopt(s, SO_ACCEPTFILTER, NULL)
        setsockopt(s, SO_ACCEPTCONN, 1)
        setsockopt(s, SO_LISTENQLIMIT, 1)
        getsockopt(s, SO_ACCEPTFILTER)
        getsockopt(s, SO_LISTENQLIMIT)
        """,
    ],
    "§6 socket() and sysctl": [
        """
        s = socket(AF_INET, SOCK_SEQPACKET)
        t = socket(AF_INET6, SOCK_SEQPACKET)
        sysctl("net.core.somaxconn")
        sysctl("net.core.somaxconn", 8)
        sysctl("net.core.somaxconn", -1)
        sysctl("net.ipv4.tcp_syncookies")
        sysctl("net.ipv4.tcp_max_syn_backlog")
        """,
    ],
    "§7 what can be observed": [
        """
        s = socket(AF_INET, SOCK_STREAM)
        listen(s, 3)
        netstat(s)
        u = socket(AF_UNIX, SOCK_STREAM)
        bind(u)
        netstat(u)
        listen(u, 3)
        netstat(u)
        counter("ListenOverflows")
        counter("ActiveOpens")
        syslog()
        b = socket(AF_INET, SOCK_STREAM)
        bind(b)
        listen(b, 3)
        syn(b)
        """,
    ],
}

RAW = r"""
import os, socket
s = socket.socket(); s.bind(("127.0.0.1", 0)); s.listen(3)
c = socket.socket(); c.connect(s.getsockname())
for path in ("/proc/net/tcp", "/proc/net/netstat", "/dev/kmsg"):
    try:
        print("==", path); print(open(path).read()[:600])
    except OSError as e:
        print("  ", e)
for proto in (4, 0):
    try:
        socket.socket(socket.AF_NETLINK, socket.SOCK_RAW, proto).close()
        print("netlink protocol", proto, "opens")
    except OSError as e:
        print("netlink protocol", proto, e)
try:
    socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_RAW)
except OSError as e:
    print("SOCK_RAW:", e)
"""


def show(stack: object, text: str) -> None:
    script = parse(textwrap.dedent(text).strip() + "\n", "<fact>")
    got = stack.run(script)  # type: ignore[attr-defined]
    profiles = [get("linux"), get("gvisor")]
    models = [[e.result for e in run_model(script, p)] for p in profiles]
    width = max(len(s.text) for s in script.steps) + 2
    print("script".ljust(width) + "gVisor".ljust(24) + "".join(p.name.ljust(20) for p in profiles))
    for i, step in enumerate(script.steps):
        r = got[i]
        cells = ""
        for m in models:
            mark = " " if isinstance(r, Unsupported) or matches(m[i], r) else "*"
            cells += (mark + render(m[i]))[:19].ljust(20)
        print(step.text.ljust(width) + render(r)[:23].ljust(24) + cells)
    print()


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--raw", action="store_true", help="also the facts below the executor")
    args = ap.parse_args()
    with target("gvisor") as stack:
        print(f"# {stack.describe()}\n")
        if args.raw:
            hs = stack.handshake()  # type: ignore[attr-defined]
            for key, how in hs.observes.items():
                print(f"observes {key}: {how}")
            print()
            done = subprocess.run(["runsc", "--network=none", "do", sys.executable, "-c", RAW],
                                  stdout=subprocess.PIPE, text=True, timeout=120)
            print(done.stdout)
        for section, scripts in FACTS.items():
            print(f"## {section}\n")
            for text in scripts:
                show(stack, text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
