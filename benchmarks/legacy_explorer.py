"""The explorer as it was before issue 13, kept for benchmarks only: the figure the new one is
measured against in the same run (speed and bytes per stored state).

Its state key is nested tuples (statekey.py at 6c8d9cc: ids renamed, descriptors ordered by the
hash of their shape, the set of descriptor numbers kept); its frontier holds the concrete state
of every node; socket() is a move like any other. It runs the model's own calls and checks,
through the same alphabet as the new explorer without lazy creation.
"""

from __future__ import annotations

import operator
from collections.abc import Callable
from typing import Any

from listenspec.alphabet import Action, Alphabet
from listenspec.models import host
from listenspec.models.invariants import check_step
from listenspec.models.profiles import get
from listenspec.models.state import FILE, Host, Listener, Pending, Socket
from listenspec.statekey import plain_fields


def _getter(cls: type) -> Callable[[Any], tuple[Any, ...]]:
    names = plain_fields(cls)
    get_all = operator.attrgetter(*names)
    if len(names) == 1:
        return lambda o: (get_all(o),)
    return get_all  # type: ignore[no-any-return]


_socket_plain = _getter(Socket)
_listener_plain = _getter(Listener)
_pending_plain = _getter(Pending)
_host_plain = _getter(Host)
_FILE_SHAPE = ("file",)


def _shape(s: Socket, clock: int) -> tuple[Any, ...]:
    lst = s.listener
    if lst is None:
        return (_socket_plain(s), None)
    return (_socket_plain(s), (
        _listener_plain(lst), tuple(map(_pending_plain, lst.comp)),
        tuple(map(_pending_plain, lst.incomp)), len(lst.half_open),
        None if lst.lastover is None else lst.lastover - clock,
    ))


def state_key(h: Host) -> Any:
    """statekey.state_key at 6c8d9cc (symmetry on)."""
    socks = h.socks
    clock = h.clock
    rows: list[tuple[int, int, Any, Socket | None]] = []
    for fd, sid in h.fds._d.items():
        if sid == FILE:
            rows.append((hash(_FILE_SHAPE), fd, _FILE_SHAPE, None))
        else:
            sock = socks[sid]
            shape = _shape(sock, clock)
            rows.append((hash(shape), fd, shape, sock))
    rows.sort()
    label: dict[int | None, int] = {None: -1}
    lab = label.setdefault
    out: list[Any] = []
    for _, _fd, shape, s in rows:
        if s is None:
            out.append(shape)
            continue
        refs = [lab(s.sid, len(label)), lab(s.addr, len(label)), lab(s.queued_on, len(label)),
                lab(s.peer, len(label))]
        lst = s.listener
        if lst is not None:
            for e in lst.comp:
                refs.append(lab(e.conn, len(label)))
                refs.append(lab(e.client, len(label)))
            for e in lst.incomp:
                refs.append(lab(e.conn, len(label)))
                refs.append(lab(e.client, len(label)))
            for x in lst.half_open:
                refs.append(lab(x, len(label)))
        out.append((shape, tuple(refs)))
    orphans = [(sid, s) for sid, s in socks._d.items() if sid not in label]
    for sid, s in sorted(orphans, key=lambda kv: kv[0]):
        out.append(("orphan", _shape(s, clock), lab(sid, len(label)), lab(s.addr, len(label))))
    addrs = tuple(sorted([(lab(a, len(label)), lab(sid, len(label)))
                          for a, sid in h.addrs._d.items()]))
    fdset = tuple(sorted([r[1] for r in rows]))
    return (tuple(out), fdset, addrs, _host_plain(h))


def explore(profile: str, depth: int, max_backlog: int = 2, max_limit: int = 2
            ) -> tuple[int, int]:
    """(distinct states, calls): the breadth-first search of 6c8d9cc's explore.py, without
    its counterexample and progress parts."""
    p = get(profile)
    moves = Alphabet(p, max_backlog, max_limit).compile()
    calls = host.CALLS
    h0 = host.initial(p)
    k0 = state_key(h0)
    index: dict[Any, int] = {k0: 0}
    keys: set[Any] = {k0}
    parent: list[int] = [-1]
    via: list[Action | None] = [None]
    frontier: list[tuple[int, Host]] = [(0, h0)]
    transitions = 0
    for _d in range(1, depth + 1):
        nxt: list[tuple[int, Host]] = []
        for node, h in frontier:
            for action, call, args in moves(h):
                transitions += 1
                try:
                    out = calls[call](p, h, *args)
                    check_step(p, h, call, args, out)
                except Exception:
                    continue
                s = out.state
                if s is h:
                    continue
                k = state_key(s)
                if k in index:
                    continue
                index[k] = len(parent)
                keys.add(k)
                parent.append(node)
                via.append(action)
                nxt.append((len(parent) - 1, s))
        frontier = nxt
    return len(keys), transitions
