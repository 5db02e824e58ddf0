"""The explorer's state key: a canonical hashable projection of a `Host` up to renaming.

* socket, address and connection ids are renumbered by first appearance. The model only ever
  compares ids for equality (fresh ones come from `next_id`, above every id in use), so states
  that differ by a renaming behave identically;
* time is translated: the clock is left out and each listener's last-logged-overflow time is
  kept relative to it. The model reads the clock only as `now - lastover` (rules.ratecheck) and
  no call returns it, so shifting every time by the same amount changes nothing observable;
* descriptors are permuted among the descriptor numbers in use. The alphabet treats every open
  descriptor alike and the model allocates the lowest free number, which depends only on the
  *set* of numbers in use, so this too is an isomorphism. Descriptors are ordered by (a hash
  of) what their socket looks like, ties by number, which catches most symmetric states cheaply.

Equal keys therefore mean isomorphic states (the reduction is sound); isomorphic states may still
get different keys (it is not complete), which only costs time.
"""

from __future__ import annotations

import operator
from collections.abc import Callable, Iterable, Mapping
from typing import Any

import attrs

from .models.state import FILE, Host, Listener, Pending, Socket

#: Fields that hold ids (renamed in the key), structure (walked) or a time (translated). Every
#: other field of these classes is plain data and goes into the key as it is; a test checks
#: that each field of the model's classes is classified here or reviewed as plain, so a new
#: field holding an id cannot slip into the key unrenamed.
ID_FIELDS: dict[type, tuple[str, ...]] = {
    Socket: ("sid", "addr", "queued_on", "peer"),
    Listener: ("half_open",),  # half-open peers: stamps drawn from next_id (walked below)
    Pending: ("conn", "client"),
    Host: ("fds", "socks", "addrs", "next_id"),
}
STRUCT_FIELDS: dict[type, tuple[str, ...]] = {Socket: ("listener",), Listener: ("comp", "incomp")}
TIME_FIELDS: dict[type, tuple[str, ...]] = {Listener: ("lastover",), Host: ("clock",),
                                             Pending: ("born",)}


def plain_fields(cls: type) -> tuple[str, ...]:
    special = {*ID_FIELDS.get(cls, ()), *STRUCT_FIELDS.get(cls, ()), *TIME_FIELDS.get(cls, ())}
    return tuple(f.name for f in attrs.fields(cls) if f.name not in special)


def _getter(cls: type) -> Callable[[Any], tuple[Any, ...]]:
    names = plain_fields(cls)
    get_all = operator.attrgetter(*names)
    if len(names) == 1:
        return lambda o: (get_all(o),)
    return get_all


_socket_plain = _getter(Socket)
_listener_plain = _getter(Listener)
_pending_plain = _getter(Pending)
_host_plain = _getter(Host)


def _items(m: Mapping[Any, Any]) -> Iterable[tuple[Any, Any]]:
    # FMap inherits Mapping's generic (slow) items(); its dict is what we want to walk.
    d = getattr(m, "_d", None)
    return d.items() if isinstance(d, dict) else m.items()


def _shape(s: Socket, clock: int) -> tuple[Any, ...]:
    """What a socket looks like with every id left out (state_key adds the ids).

    Times (the last logged overflow, when a connection or a SYN arrived) are kept relative to
    the clock (see state_key).
    """
    lst = s.listener
    if lst is None:
        return (_socket_plain(s), None)
    return (_socket_plain(s), (
        _listener_plain(lst), tuple(_pending_shape(e, clock) for e in lst.comp),
        tuple(_pending_shape(e, clock) for e in lst.incomp),
        tuple((e.born - clock, e.ticks) for e in lst.half_open),
        None if lst.lastover is None else lst.lastover - clock,
    ))


def _pending_shape(e: Pending, clock: int) -> tuple[Any, ...]:
    return (*_pending_plain(e), e.born - clock)


_FILE_SHAPE = ("file",)


def state_key(h: Host, symmetry: bool = True) -> Any:
    """A canonical hashable projection of `h` up to renaming ids (and permuting descriptors).

    With symmetry=False descriptors keep their numbers (ids are still renamed).
    """
    socks = h.socks
    clock = h.clock
    rows: list[tuple[int, int, Any, Socket | None]] = []
    for fd, sid in _items(h.fds):
        if sid == FILE:
            rows.append((hash(_FILE_SHAPE), fd, _FILE_SHAPE, None))
        else:
            sock = socks[sid]
            shape = _shape(sock, clock)
            # Any fixed order of descriptors gives a sound key (the key spells out every
            # shape); ordering by the shape's hash makes symmetric states meet without
            # needing shapes (which hold None) to be comparable.
            rows.append((hash(shape) if symmetry else 0, fd, shape, sock))
    rows.sort()  # by (hash, fd): fds are distinct, so the rest is never compared
    # id -> label by first appearance; setdefault does the lookup-or-insert in one C call.
    label: dict[int | None, int] = {None: -1}
    lab = label.setdefault
    out: list[Any] = []
    for _, fd, shape, s in rows:
        if s is None:
            out.append(shape if symmetry else (fd, shape))
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
                refs.append(lab(x.stamp, len(label)))
        out.append((shape, tuple(refs)) if symmetry else (fd, shape, tuple(refs)))
    orphans = [(sid, s) for sid, s in _items(socks) if sid not in label]
    if orphans:  # sockets no descriptor names (none in a healthy state): keep them too
        for sid, s in sorted(orphans, key=lambda kv: kv[0]):
            out.append(("orphan", _shape(s, clock), lab(sid, len(label)),
                        lab(s.addr, len(label))))
    addrs = tuple(sorted([(lab(a, len(label)), tuple(lab(sid, len(label)) for sid in held))
                          for a, held in _items(h.addrs)]))
    fdset = tuple(sorted([r[1] for r in rows])) if symmetry else ()
    return (tuple(out), fdset, addrs, _host_plain(h))
