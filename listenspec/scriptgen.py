"""A Hypothesis strategy for scripts in the format: random, well-formed, and biased towards the
states that matter: small backlogs and hard limits, queues filled past their limit, peers that
reset or close before accept(), timers that fire during a sleep(), syncookies, SO_REUSEPORT
groups, and every sysctl of the profile at its boundaries.

Used by `listenspec conform` to drive the model and a real stack side by side; any script it
draws parses, and shrinks to a shorter script that still parses. Calls it has no hand-written
lines for are drawn from their declarations (strategies.draw_call), so a call declared later is
generated from the day it is declared.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from decimal import Decimal
from typing import Any, Final

from hypothesis import strategies as st

from .calls import CALLS
from .models.profiles import INT_MAX, INT_MIN, Profile, get
from .script import Script, format_call, parse
from .strategies import draw_call

DOMAINS = ("AF_INET", "AF_INET6", "AF_UNIX")
TYPES = ("SOCK_STREAM", "SOCK_SEQPACKET", "SOCK_DGRAM")
BACKLOGS = (-2147483648, -1, 0, 1, 2, 3, 5, 2147483647)
#: TCP_DEFER_ACCEPT values across the range and at the boundaries of its rounding (1, 3, 7 s
#: retransmissions; 120 s the cap; the largest int)
DEFERS = (-1, 0, 1, 2, 3, 4, 5, 7, 8, 60, 120, 121, 2147483647)
#: one sleep per script at most, half way between the seconds where Linux's and FreeBSD's
#: retransmission timers are due, so that a kernel's timer slack cannot blur the comparison
SLEEPS = (Decimal("0.5"), Decimal("1.5"), Decimal("2.5"), Decimal("3.5"))
#: the calls the generator below writes by hand; any other declared call (calls.CALLS) is drawn
#: from its declaration (strategies.draw_call)
HANDLED = frozenset({"socket", "sysctl", "bind", "listen", "connect", "accept", "close",
                     "netstat", "send", "getsockopt", "counter", "setsockopt", "syn", "recv",
                     "shutdown", "poll", "sleep"})
#: never generated: syslog() reads the log every namespace shares (and Linux rate-limits it),
#: open() only stands for a file descriptor
NEVER = frozenset({"open", "syslog"})
OPTS_READ = ("SO_ACCEPTCONN", "SO_ERROR", "SO_REUSEPORT", "SO_LINGER", "TCP_DEFER_ACCEPT")


# Strategies made once and kept: a strategy made anew for every draw is validated and labelled
# anew each time, which took about a third of the time conform spends drawing a script.
_BOOLEANS: Final = st.booleans()


@functools.lru_cache(maxsize=4096)
def _sampled(options: tuple[Any, ...]) -> st.SearchStrategy[Any]:
    return st.sampled_from(options)


def _pick(options: Sequence[Any]) -> st.SearchStrategy[Any]:
    """st.sampled_from(options), the same strategy for the same options."""
    return _sampled(tuple(options))


@functools.lru_cache(maxsize=256)
def _ints(lo: int, hi: int) -> st.SearchStrategy[int]:
    """st.integers(lo, hi), made once."""
    return st.integers(lo, hi)


def sysctl_values(p: Profile) -> list[tuple[str, int]]:
    """Every sysctl of the profile with the values that matter: both ends of its range and just
    past them, its default, and the small values that shape a queue."""
    out: list[tuple[str, int]] = []
    for s in p.sysctls:
        values = {s.lo, s.hi, s.default, 0, 1, 2, 3, 4}
        values |= {v for v in (s.lo - 1, s.hi + 1) if INT_MIN <= v <= INT_MAX}
        out += [(s.name, v) for v in sorted(values)]
    return out


@st.composite
def scripts(draw: Any, *, max_steps: int = 25, syn: bool = True,
            profile: str = "linux") -> Script:
    """A script of up to max_steps calls over names that the script itself binds."""
    p = get(profile)
    extra = [c for c in CALLS if c.name not in HANDLED | NEVER]
    knobs = sysctl_values(p)
    lines: list[str] = []
    socks: list[str] = []  # names bound by socket() / accept()
    # send() only on stream sockets: a connected UDP socket's ICMP errors are not listen(2)'s
    streams: list[str] = []
    listeners: list[str] = []  # names the script has called listen() on
    slept = False
    n_steps = draw(_ints(1, max_steps))

    def fresh() -> str:
        return f"s{len(lines)}"

    def pick() -> str:
        return str(draw(_pick(socks)))

    def pick_listener() -> str:
        # mostly a socket the script made listen: a connect() or accept() at anything else
        # mostly tests the same refusal again
        if listeners and draw(_ints(0, 3)):
            return str(draw(_pick(listeners)))
        return pick()

    def listener(backlogs: tuple[int, ...] = (0, 1, 2, 5)) -> str:
        """An existing listener, or (half the time, or when there is none) a new one."""
        if listeners and draw(_BOOLEANS):
            return str(draw(_pick(listeners)))
        name = new()
        lines.append(f"listen({name}, {draw(_pick(backlogs))})")
        listeners.append(name)
        return name

    def new(domain: str = "AF_INET", stype: str = "SOCK_STREAM") -> str:
        name = fresh()
        lines.append(f"{name} = socket({domain}, {stype})")
        socks.append(name)
        if stype != "SOCK_DGRAM":
            streams.append(name)
        return name

    for _ in range(n_steps):
        kinds = ["socket", "socket"] + (["sysctl"] if knobs else [])  # INtime has none
        if socks:
            kinds += ["bind", "listen", "listen", "connect", "connect", "connect", "accept",
                      "close", "netstat", "netstat", "send", "getsockopt", "counter",
                      "defer", "fill", "recv", "recv", "shutdown", "poll", "poll",
                      "reset-peer", "reset-accepted", "reuseport", "linger", "timer"]
            if syn:
                kinds += ["syn", "syn-flood"]
            kinds += [c.name for c in extra]
        kind = draw(_pick(kinds))
        if kind == "socket":
            stype = draw(_pick(TYPES) if draw(_ints(0, 4)) == 0
                         else st.just("SOCK_STREAM"))
            new(draw(_pick(DOMAINS)), stype)
        elif kind == "sysctl":
            name, value = draw(_pick(knobs))
            lines.append(f'sysctl("{name}", {value})' if draw(_ints(0, 5))
                         else f'sysctl("{name}")')
        elif kind == "bind":
            if draw(_ints(0, 3)) == 0:
                lines.append(f"bind({pick()}, {pick()})")
            else:
                lines.append(f"bind({pick()})")
        elif kind == "listen":
            name = pick()
            lines.append(f"listen({name}, {draw(_pick(BACKLOGS))})")
            listeners.append(name)
        elif kind == "connect":
            lines.append(f"connect({pick()}, {pick_listener()})")
        elif kind == "fill":
            # a burst of new clients at one listener: the way to overflow a queue
            target, domain = pick_listener(), draw(_pick(DOMAINS))
            for _i in range(draw(_ints(2, 5))):
                lines.append(f"connect({new(domain)}, {target})")
        elif kind == "accept":
            name = fresh()
            lines.append(f"{name} = accept({pick_listener()})")
            socks.append(name)
            streams.append(name)
        elif kind == "close":
            lines.append(f"close({pick()})")
        elif kind == "netstat":
            lines.append(f"netstat({pick()})")
        elif kind == "send" and streams:
            target = str(draw(_pick(streams)))
            lines.append(f'send({target}, "{draw(_pick(["x", "GET / HTTP/1.0"]))}")')
        elif kind == "recv":
            lines.append(f"recv({pick()})")
        elif kind == "shutdown":
            how = draw(_pick(("SHUT_RD", "SHUT_WR", "SHUT_RDWR")))
            lines.append(f"shutdown({pick()}, {how})")
        elif kind == "poll":
            lines.append(f"poll({pick()})")
        elif kind == "getsockopt":
            lines.append(f"getsockopt({pick()}, {draw(_pick(OPTS_READ))})")
        elif kind == "counter":
            lines.append(f'counter("{draw(_pick(p.counters or ("nonesuch",)))}")')
        elif kind == "defer":
            lines.append(f"setsockopt({pick()}, TCP_DEFER_ACCEPT, "
                         f"{draw(_pick(DEFERS))})")
        elif kind == "linger":
            lines.append(f"setsockopt({pick()}, SO_LINGER, {draw(_pick((0, 1, -1)))})")
        elif kind == "syn":
            lines.append(f"syn({pick()})")
        elif kind == "syn-flood":
            # half-open connections past the request queue's bound: drops or cookies
            cookies = [s.name for s in p.sysctls if s.key == "syncookies"]
            if cookies and draw(_ints(0, 2)) == 0:
                lines.append(f'sysctl("{cookies[0]}", {draw(_pick((0, 1, 2)))})')
            target = listener((0, 1, 2))
            lines += [f"syn({target})"] * draw(_ints(2, 6))
            client = new()
            lines += [f"connect({client}, {target})", f"netstat({target})"]
            if draw(_BOOLEANS):
                lines += [f'counter("{c}")' for c in p.counters if "ookie" in c][:1]
        elif kind == "reset-peer":
            # a client that resets (SO_LINGER 0, close) before its connection is accepted; what
            # the accepted end then reports
            target, client = listener(), new()
            lines += [f"connect({client}, {target})", f"setsockopt({client}, SO_LINGER, 0)",
                      f"close({client})"]
            if draw(_ints(0, 3)):
                name = fresh()
                lines.append(f"{name} = accept({target})")
                socks.append(name)
                streams.append(name)
                lines.append(draw(_pick((f"recv({name})", f'send({name}, "x")',
                                                   f"poll({name})"))))
        elif kind == "reset-accepted":
            # the accepted end resets its connection: what the client then reports
            target, client = listener(), new()
            name = fresh()
            lines += [f"connect({client}, {target})", f"{name} = accept({target})"]
            socks.append(name)
            lines += [f"setsockopt({name}, SO_LINGER, 0)", f"close({name})"]
            lines.append(draw(_pick((f"recv({client})", f'send({client}, "x")',
                                               f"poll({client})",
                                               f"getsockopt({client}, SO_ERROR)"))))
        elif kind == "reuseport":
            # two listeners sharing one port (SO_REUSEPORT): which one a connection reaches
            a, b = new(), new()
            backlog = draw(_pick((0, 1, 2)))
            lines += [f"setsockopt({a}, SO_REUSEPORT, 1)", f"setsockopt({b}, SO_REUSEPORT, 1)",
                      f"bind({a})", f"bind({b}, {a})", f"listen({a}, {backlog})",
                      f"listen({b}, {backlog})"]
            listeners += [a, b]
            for _i in range(draw(_ints(1, 3))):
                lines.append(f"connect({new()}, {a})")
        elif kind == "timer" and not slept and "timer" in kinds:
            # a retransmission timer that fires in a sleep(): a half-open entry expiring, a
            # deferred connection becoming acceptable
            slept = True
            lst = new()
            retries = [s.name for s in p.sysctls if s.key in ("synack_retries", "rexmtlimit")]
            if retries:
                lines.append(f'sysctl("{retries[0]}", {draw(_pick((0, 1, 2)))})')
            lines.append(f"listen({lst}, {draw(_pick((1, 2, 5)))})")
            listeners.append(lst)
            if p.tcp_defer_accept and draw(_BOOLEANS):
                lines += [f"setsockopt({lst}, TCP_DEFER_ACCEPT, {draw(_pick((1, 2)))})",
                          f"connect({new()}, {lst})"]
            else:
                lines.append(f"syn({lst})")
            lines += [f"netstat({lst})", f"sleep({draw(_pick(SLEEPS))})",
                      f"netstat({lst})", f"poll({lst})"]
        elif kind in {c.name for c in extra}:
            c = next(c for c in extra if c.name == kind)
            call = draw_call(draw, c, p, socks)
            if call is not None:
                bound = fresh() if c.new_fd else None
                lines.append(format_call(call, bound))
                if bound is not None:
                    socks.append(bound)
    return parse("\n".join(lines) + "\n", "<generated>")


def script_text(script: Script) -> str:
    return "".join(format_call(s.call, s.bind) + "\n" for s in script.steps)
