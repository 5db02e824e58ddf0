"""A Hypothesis strategy for scripts in the format: random, well-formed, and biased towards the
states that matter (small backlogs and hard limits, queues filled past their limit).

Used by `listenspec conform` to drive the model and a real kernel side by side; any script it
draws parses, and shrinks to a shorter script that still parses.
"""

from __future__ import annotations

from typing import Any

from hypothesis import strategies as st

from .calls import CALLS
from .models.profiles import get
from .script import Script, format_call, parse
from .strategies import draw_call

DOMAINS = ("AF_INET", "AF_INET6", "AF_UNIX")
TYPES = ("SOCK_STREAM", "SOCK_SEQPACKET", "SOCK_DGRAM")
BACKLOGS = (-2147483648, -1, 0, 1, 2, 3, 5, 2147483647)
#: the calls the generator below writes by hand; any other declared call (calls.CALLS) is drawn
#: from its declaration (strategies.draw_call)
HANDLED = frozenset({"socket", "sysctl", "bind", "listen", "connect", "accept", "close",
                     "netstat", "send", "getsockopt", "counter", "setsockopt", "syn"})
#: never generated: sleep() is slow on a kernel, syslog() reads the log every namespace shares
#: (and Linux rate-limits), open() only stands for a file descriptor
NEVER = frozenset({"open", "sleep", "syslog"})


@st.composite
def scripts(draw: Any, *, max_steps: int = 25, sysctl_name: str = "net.core.somaxconn",
            counters: tuple[str, ...] = ("ListenOverflows", "ListenDrops"),
            syn: bool = True, profile: str = "linux") -> Script:
    """A script of up to max_steps calls over names that the script itself binds."""
    extra = [c for c in CALLS if c.name not in HANDLED | NEVER]
    lines: list[str] = []
    socks: list[str] = []  # names bound by socket() / accept()
    # send() only on stream sockets: a connected UDP socket's ICMP errors are not listen(2)'s
    streams: list[str] = []
    n_steps = draw(st.integers(1, max_steps))

    def fresh() -> str:
        return f"s{len(lines)}"

    def pick() -> str:
        return str(draw(st.sampled_from(socks)))

    for _ in range(n_steps):
        kinds = ["socket", "socket", "sysctl"]
        if socks:
            kinds += ["bind", "listen", "listen", "connect", "connect", "connect", "accept",
                      "close", "netstat", "netstat", "send", "getsockopt", "counter",
                      "defer", "fill"]
            if syn:
                kinds.append("syn")
            kinds += [c.name for c in extra]
        kind = draw(st.sampled_from(kinds))
        if kind == "socket":
            name = fresh()
            domain = draw(st.sampled_from(DOMAINS))
            stype = draw(st.sampled_from(TYPES) if draw(st.integers(0, 4)) == 0
                         else st.just("SOCK_STREAM"))
            lines.append(f"{name} = socket({domain}, {stype})")
            socks.append(name)
            if stype != "SOCK_DGRAM":
                streams.append(name)
        elif kind == "sysctl":
            value = draw(st.sampled_from((-1, 0, 1, 2, 3, 4096)))
            lines.append(f'sysctl("{sysctl_name}", {value})')
        elif kind == "bind":
            lines.append(f"bind({pick()})")
        elif kind == "listen":
            lines.append(f"listen({pick()}, {draw(st.sampled_from(BACKLOGS))})")
        elif kind == "connect":
            lines.append(f"connect({pick()}, {pick()})")
        elif kind == "fill":
            # a burst of new clients at one listener: the way to overflow a queue
            target, domain = pick(), draw(st.sampled_from(DOMAINS))
            for _i in range(draw(st.integers(2, 5))):
                name = fresh()
                lines.append(f"{name} = socket({domain}, SOCK_STREAM)")
                socks.append(name)
                streams.append(name)
                lines.append(f"connect({name}, {target})")
        elif kind == "accept":
            name = fresh()
            lines.append(f"{name} = accept({pick()})")
            socks.append(name)
            streams.append(name)
        elif kind == "close":
            lines.append(f"close({pick()})")
        elif kind == "netstat":
            lines.append(f"netstat({pick()})")
        elif kind == "send" and streams:
            target = str(draw(st.sampled_from(streams)))
            lines.append(f'send({target}, "{draw(st.sampled_from(["x", "GET / HTTP/1.0"]))}")')
        elif kind == "getsockopt":
            opt = draw(st.sampled_from(("SO_ACCEPTCONN", "SO_ERROR")))
            lines.append(f"getsockopt({pick()}, {opt})")
        elif kind == "counter":
            lines.append(f'counter("{draw(st.sampled_from(counters))}")')
        elif kind == "defer":
            lines.append(f"setsockopt({pick()}, TCP_DEFER_ACCEPT, "
                         f"{draw(st.sampled_from((0, 1, 5)))})")
        elif kind == "syn":
            lines.append(f"syn({pick()})")
        elif kind not in ("send", "defer", "fill"):  # a declared call the generator has no
            c = next(c for c in extra if c.name == kind)  # hand-written line for
            call = draw_call(draw, c, get(profile), socks)
            if call is not None:
                bound = fresh() if c.new_fd else None
                lines.append(format_call(call, bound))
                if bound is not None:
                    socks.append(bound)
    return parse("\n".join(lines) + "\n", "<generated>")


def script_text(script: Script) -> str:
    return "".join(format_call(s.call, s.bind) + "\n" for s in script.steps)
