"""The SPIN anchor's alphabet (../shared/anchors/): one listener, six moves, made of the model's
own calls.

The anchor (`listenq_calls.template.pml`) is one FreeBSD-source listener with a completed and an
accept-filter queue, and these options, each one indivisible step: a connection arrives
(`connect`), the oldest completed one is accepted (`accept`), `re-listen(b)` for b in 0..MAXB,
data arrives on the oldest filtered connection (`data`), the accept filter goes on or off. Here
each is a move of the explorer made of the calls a program would make, run through the model
and checked call by call, so the explorer and SPIN search the same system side by side
(benchmarks/bench_anchor.py):

* setup (once): `L = socket(AF_INET, SOCK_STREAM); listen(L, 0)` (SPIN starts at qlimit 0);
* connect: `c = socket(AF_INET, SOCK_STREAM); connect(c, L)`, then `close` every client the
  arrival reset (an evicted connection, or the connection itself when the queue was full:
  in SPIN their ids vanish);
* accept (when the completed queue is not empty): `a = accept(L)`, then `close` its client and
  `close(a)` (SPIN drops the id);
* re-listen(b): `listen(L, b)`;
* data (when the filter queue is not empty): `send(c, "x")` from the client of the oldest
  filtered connection;
* filter on / off (when it is off / on): `setsockopt(L, SO_ACCEPTFILTER, "dataready")` / `NULL`.

The model keeps more than SPIN's abstraction does (overflow counters, the overflow log, the
rate limiter's count), so the two state counts differ; what benchmarks compare is states
stored per second.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from .alphabet import Action, Move, Prepared, Resolver, resolve_action
from .composite import Composite, Step, run_call
from .models.host import Outcome, initial
from .models.profiles import Profile
from .models.state import FILE, Host, Socket, SockState
from .runner import ModelRun

SETUP: tuple[Action, ...] = (("socket", "AF_INET", "SOCK_STREAM"), ("listen", 3, 0))
_SOCKET: Action = ("socket", "AF_INET", "SOCK_STREAM")


def _listener(h: Host) -> tuple[int, Socket] | None:
    for fd, sid in h.fds._d.items():
        if sid != FILE:
            s = h.socks._d[sid]
            if s.listener is not None:
                return fd, s
    return None


def _fd_of(h: Host, sid: int) -> int | None:
    for fd, s in h.fds._d.items():
        if s == sid:
            return fd
    return None


_resolvers: dict[str, Resolver] = {}


def _step(p: Profile, h: Host, a: Action) -> Step:
    r = _resolvers.get(p.name)
    if r is None or r.profile is not p:
        r = _resolvers[p.name] = Resolver(p)
    call, args = r(h, a)
    return a, call, args


def _reset_client(h: Host) -> int | None:
    for fd, sid in h.fds._d.items():
        if sid != FILE and h.socks._d[sid].state is SockState.DISCONNECTED:
            return fd
    return None


def _plan_connect(p: Profile, h: Host, done: Sequence[Outcome]) -> Step | None:
    if not done:
        return _step(p, h, _SOCKET)
    if len(done) == 1:
        found = _listener(h)
        c = done[0].fd
        if found is None or c is None:
            return None
        return _step(p, h, ("connect", c, found[0]))
    reset = _reset_client(h)
    return None if reset is None else _step(p, h, ("close", reset))


def _plan_accept(p: Profile, h: Host, done: Sequence[Outcome]) -> Step | None:
    found = _listener(h)
    if not done:
        return None if found is None else _step(p, h, ("accept", found[0]))
    a = done[0].fd
    if a is None or a not in h.fds._d:
        return None
    server = h.socks._d[h.fds._d[a]]
    client = _fd_of(h, server.peer) if server.peer is not None else None
    if len(done) == 1 and client is not None:
        return _step(p, h, ("close", client))
    if len(done) <= 2:
        return _step(p, h, ("close", a))
    return None


CONNECT = Composite(("anchor-connect",), _plan_connect)
ACCEPT = Composite(("anchor-accept",), _plan_accept)


def anchor_moves(p: Profile, max_backlog: int) -> Callable[[Host], list[Move]]:
    """The moves of a state (module docstring); SPIN's guards decide which are enabled."""
    backlogs = range(max_backlog + 1)
    filters = bool(p.accept_filters)
    resolve = Resolver(p)

    def prim(a: Action) -> Move:
        call, args = resolve.static(a)
        return a, call, args

    def moves(h: Host) -> list[Move]:
        found = _listener(h)
        if found is None:
            return []
        fd, lsock = found
        lst = lsock.listener
        assert lst is not None
        out: list[Move] = [(CONNECT.action, "", CONNECT)]
        if lst.comp:
            out.append((ACCEPT.action, "", ACCEPT))
        out += [prim(("listen", fd, b)) for b in backlogs]
        if lst.incomp:
            client = _fd_of(h, lst.incomp[0].client)
            if client is not None:
                out.append(prim(("send", client, "x")))
        if filters:
            if lst.accept_filter is None:
                out.append(prim(("setsockopt", fd, "SO_ACCEPTFILTER", "dataready")))
            else:
                out.append(prim(("setsockopt", fd, "SO_ACCEPTFILTER", None)))
        return out

    return moves


def prepare_anchor(p: Profile, max_backlog: int) -> Prepared:
    """The anchor alphabet from its setup (module docstring)."""
    h = initial(p)
    broken: list[str] = []
    for a in SETUP:
        call, args = resolve_action(ModelRun(p, h), a)
        out, got = run_call(p, h, call, args)
        broken += got
        if out is None:
            break
        h = out.state
    describe = (f"anchor (MAXB={max_backlog}): connect; accept; listen(L, 0..{max_backlog}); "
                "data on the oldest filtered connection; filter on; filter off")
    return Prepared(h, anchor_moves(p, max_backlog), describe, SETUP, tuple(broken))
