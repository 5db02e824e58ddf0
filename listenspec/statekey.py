"""The explorer's state key: a canonical, compact, decodable encoding of a `Host` up to renaming.

The key is bytes (listenspec.packing), and it is a faithful description of the state up to:

* renaming ids: socket, address and connection ids are numbered 1, 2, ... by first appearance.
  The model only ever compares ids for equality (fresh ones come from `next_id`, above every id
  in use), so states that differ by a renaming behave identically;
* translating time: the clock is left out and every time the state holds (a listener's
  last-logged overflow, when a queued connection or a half-open SYN arrived) is kept relative
  to it. The model reads the clock only as a difference from one of these (rules.ratecheck,
  the retransmission timers) and no call returns it, so shifting every time by the same
  amount changes nothing observable;
* renaming descriptors (symmetry on): descriptors are listed by what their socket looks like
  (its shape, ties by number) and their numbers are left out. No transition and no invariant
  looks at a descriptor's number except to find the lowest free one for a new descriptor, a
  result no call returns (`NewFd` carries no number); the alphabet treats every open
  descriptor alike. So states that differ by any one-to-one renaming of descriptors are
  bisimilar (each step of one is matched by the renamed step of the other, with the same
  result, extending the renaming to the new descriptor if any): this is stronger than
  permuting the numbers in use, which also kept the set of numbers (and so told apart a state
  that closed descriptor 3 and opened 4 from one that just opened 3).

Equal keys therefore mean isomorphic states (the reduction is sound); isomorphic states may
still get different keys when two descriptors have the same shape (it is not complete), which
only costs time: at depth 7 on freebsd-src the shape order is within 0.1% of the exact
canonical form (measured by trying every permutation).

`decode(key, profile)` builds the canonical representative back: ids as numbered in the key,
descriptors 3, 4, ... in key order, the clock at 0 (so a last-logged time is zero or negative:
the model only subtracts it from the clock). The explorer expands decoded states, so everything
it does depends on keys only (not on which path reached a state first, nor on which worker
process holds it).
"""

from __future__ import annotations

import itertools
import operator
from collections.abc import Callable, Iterable, Mapping
from typing import Any

import attrs

from .models.profiles import Profile
from .models.state import FILE, ORPHAN, FMap, HalfOpen, Host, Listener, Pending, Socket
from .packing import packed, read_varint, unpacked, varint

Key = bytes

#: Fields that hold ids (renamed in the key), structure (walked) or a time (translated). Every
#: other field of these classes is plain data and goes into the key as it is; a test checks
#: that each field of the model's classes is classified here or reviewed as plain, so a new
#: field holding an id cannot slip into the key unrenamed.
ID_FIELDS: dict[type, tuple[str, ...]] = {
    Socket: ("sid", "addr", "queued_on", "peer", "dgram_peer"),
    Listener: ("half_open",),  # half-open peers: stamps drawn from next_id (walked below)
    Pending: ("conn", "client"),
    HalfOpen: ("stamp",),
    Host: ("fds", "socks", "addrs", "next_id"),
}
STRUCT_FIELDS: dict[type, tuple[str, ...]] = {Socket: ("listener", "stale_requests"),
                                               Listener: ("comp", "incomp")}
TIME_FIELDS: dict[type, tuple[str, ...]] = {Listener: ("lastover",), Host: ("clock",),
                                             Socket: ("stale",),
                                             Pending: ("born",), HalfOpen: ("born",)}


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
_halfopen_plain = _getter(HalfOpen)
assert plain_fields(HalfOpen) == ("ticks",)
assert plain_fields(Host) == ("sysctl", "counters", "log")


def _items(m: Mapping[Any, Any]) -> Iterable[tuple[Any, Any]]:
    # FMap inherits Mapping's generic (slow) items(); its dict is what we want to walk.
    d = getattr(m, "_d", None)
    return d.items() if isinstance(d, dict) else m.items()


# --------------------------------------------------------------------------- shapes

#: the shape of a non-socket descriptor, as keys hold it (a socket's shape is never empty)
_FILE_SHAPE = b"\x00"
_CACHE_LIMIT = 50_000
_shape_cache: dict[tuple[Any, ...], bytes] = {}
_host_cache: dict[tuple[Any, ...], bytes] = {}


def _shape_value(s: Socket, clock: int) -> tuple[Any, ...]:
    """What a socket looks like with every id left out (encode adds the ids): its plain
    fields and its listener's, with times relative to the clock."""
    lst = s.listener
    stale = tuple((born - clock, ticks) for born, ticks in s.stale)
    requests = tuple((*_pending_plain(e), e.born - clock) for e in s.stale_requests)
    if lst is None:
        return (_socket_plain(s), None, stale, requests)
    return (_socket_plain(s), (
        _listener_plain(lst), tuple((*_pending_plain(e), e.born - clock) for e in lst.comp),
        tuple((*_pending_plain(e), e.born - clock) for e in lst.incomp),
        tuple((*_halfopen_plain(e), e.born - clock) for e in lst.half_open),
        None if lst.lastover is None else lst.lastover - clock,
    ), stale, requests)


def _ids(s: Socket) -> tuple[int | None, ...]:
    """The ids a socket holds, in key order: its own, its address, the listener it is queued
    on, its peer, then each queued connection's (connection, client), then half-open stamps,
    then a stopped listener's requests' (connection, client)."""
    lst = s.listener
    out: list[int | None] = [s.sid, s.addr, s.queued_on, s.peer, s.dgram_peer]
    if lst is not None:
        for e in lst.comp:
            out += (e.conn, e.client)
        for e in lst.incomp:
            out += (e.conn, e.client)
        out += [e.stamp for e in lst.half_open]
    for e in s.stale_requests:
        out += (e.conn, e.client)
    return tuple(out)


#: per socket object (by id): (the object, the clock its shape is relative to, shape, ids);
#: and at -1 the host part of the last state: (sysctl, counters, log, bytes)
Memo = dict[int, tuple[Any, ...]]


def _entry(s: Socket, clock: int) -> tuple[Socket, int, bytes, tuple[int | None, ...]]:
    """(s, clock, its shape with the length byte in front, its ids)"""
    v = _shape_value(s, clock)
    b = _shape_cache.get(v)
    if b is None:
        if len(_shape_cache) > _CACHE_LIMIT:
            _shape_cache.clear()
        body = packed(v)
        assert 0 < len(body) < 256, "a socket shape of more than 255 bytes"
        b = _shape_cache[v] = bytes([len(body)]) + body
    return s, clock, b, _ids(s)


def _host_part(h: Host, memo: Memo | None = None) -> bytes:
    if memo is not None:  # successors mostly share these objects with the expanded state
        hit = memo.get(-1)
        if hit is not None and hit[0] is h.sysctl and hit[1] is h.counters and hit[2] is h.log:
            host: bytes = hit[3]
            return host
    v = (h.sysctl, h.counters, h.log)
    b = _host_cache.get(v)
    if b is None:
        if len(_host_cache) > _CACHE_LIMIT:
            _host_cache.clear()
        body = packed((tuple(sorted(_items(h.sysctl))), tuple(sorted(_items(h.counters))),
                       h.log))
        out = bytearray()
        varint(len(body), out)
        b = _host_cache[v] = bytes(out + body)
    if memo is not None:
        memo[-1] = (h.sysctl, h.counters, h.log, b)
    return b


# --------------------------------------------------------------------------- the key
#
# host part (varint length, packed (sysctl items, counters items, log)), the number of rows,
# each row (with symmetry off: its descriptor number, as a varint) a shape (one length byte,
# then packed; empty for a non-socket) followed by one byte per id label; the number of
# sockets no descriptor names and each as a row; the address table as (address, number of
# holders, each holder) labels. Labels are 2, 3, ... by first appearance (0 is None, 1 is
# state.ORPHAN, what holds the address of a closed TCP socket), one byte each.


def encode(h: Host, symmetry: bool = True, memo: Memo | None = None) -> tuple[Key, list[int]]:
    """The key of `h` and its descriptors in key order (module docstring).

    With symmetry=False descriptors keep their numbers (ids are still renamed). `memo`, if
    given, remembers the shapes of socket objects (valid while they live: the explorer passes
    one per expanded state, whose successors share most of its sockets).
    """
    socks = h.socks._d
    clock = h.clock
    rows: list[tuple[bytes, int, tuple[int | None, ...]]] = []
    if len(h.fds) >= 0x80 or len(h.addrs) >= 0x80:
        raise OverflowError("a state with 128 descriptors or addresses: beyond what keys hold")
    for fd, sid in h.fds._d.items():
        if sid == FILE:
            rows.append((_FILE_SHAPE, fd, ()))
            continue
        s = socks[sid]
        m = memo.get(id(s)) if memo is not None else None
        if m is None or m[0] is not s or m[1] != clock:
            m = _entry(s, clock)
            if memo is not None:
                memo[id(s)] = m  # the memo keeps s alive, so its id is not reused
        rows.append((m[2], fd, m[3]))
    # Any fixed order of descriptors gives a sound key (the key spells out every shape);
    # ordering by shape makes symmetric states meet. fds are distinct: ids never compared.
    if symmetry:
        rows.sort()
    else:
        rows.sort(key=operator.itemgetter(1))
    # id -> label by first appearance over the rows (0 is None), all in C: the distinct ids
    # in order, numbered
    ids: list[int | None] = [None, ORPHAN]
    for r in rows:
        ids += r[2]
    entries = []
    if len(socks) > len(rows) or not socks.keys() <= set(ids):
        # sockets no descriptor names (none in a healthy state)
        orphans = [s for sid, s in socks.items() if sid not in ids]
        entries = sorted((_entry(s, clock) for s in orphans), key=lambda e: (e[2], e[3][0]))
        assert len(entries) < 0x80
        for e in entries:
            ids += e[3]
    label = dict(zip(dict.fromkeys(ids), itertools.count()))
    ad = h.addrs._d
    if not (label.keys() >= ad.keys()
            and label.keys() >= set(itertools.chain.from_iterable(ad.values()))):
        for a, held in ad.items():  # an address no socket holds any more, say
            for x in (a, *held):
                if x not in label:
                    label[x] = len(label)
    if len(label) > 0x100:
        raise OverflowError("a state with more than 255 ids: beyond what keys hold")
    get = label.__getitem__
    parts = [_host_part(h, memo), bytes([len(rows)])]
    for shape, fd, row_ids in rows:
        if not symmetry:
            parts.append(_varint_bytes(fd))
        parts.append(shape)
        parts.append(bytes(map(get, row_ids)))
    parts.append(bytes([len(entries)]))
    for _s, _c, shape, row_ids in entries:
        parts.append(shape)
        parts.append(bytes(map(get, row_ids)))
    table = sorted((get(a), len(held), *map(get, held)) for a, held in ad.items())
    parts.append(bytes([len(table)]))
    parts.append(bytes(itertools.chain.from_iterable(table)))
    parts.append(bytes([len(label) - 1]))  # the largest label: a decoded next_id is above it
    return b"".join(parts), [r[1] for r in rows]


def _varint_bytes(n: int) -> bytes:
    out = bytearray()
    varint(n, out)
    return bytes(out)


def state_key(h: Host, symmetry: bool = True) -> Key:
    """The canonical key of `h` (module docstring); symmetry=False keeps descriptor numbers."""
    return encode(h, symmetry)[0]


# --------------------------------------------------------------------------- decoding

#: shape bytes -> (parsed shape, number of id labels that follow it)
_parsed_shapes: dict[bytes, tuple[Any, int]] = {}
#: a row's bytes (shape and labels) -> the socket (immutable, so shared between states)
_sockets: dict[bytes, Socket] = {}
_parsed_hosts: dict[bytes, tuple[FMap[str, int], FMap[str, int], tuple[str, ...]]] = {}


def _parse_shape(b: bytes) -> tuple[Any, int]:
    got = _parsed_shapes.get(b)
    if got is None:
        if len(_parsed_shapes) > _CACHE_LIMIT:
            _parsed_shapes.clear()
        v = unpacked(b)
        lshape = v[1]
        n = 5 if lshape is None else 5 + 2 * (len(lshape[1]) + len(lshape[2])) + len(lshape[3])
        n += 2 * len(v[3])
        got = _parsed_shapes[b] = (v, n)
    return got


def decode(key: Key, profile: Profile | None = None, symmetry: bool = True) -> Host:
    """The canonical state a key stands for (module docstring): `encode` inverts it exactly,
    `encode(decode(k))[0] == k`. (`profile` is accepted for callers that have one; the key
    holds everything.)"""
    del profile
    n, pos = read_varint(key, 0)
    hb = key[pos:pos + n]
    host = _parsed_hosts.get(hb)
    if host is None:
        sysctl, counters, log = unpacked(hb)
        if len(_parsed_hosts) > _CACHE_LIMIT:
            _parsed_hosts.clear()
        host = _parsed_hosts[hb] = (FMap(dict(sysctl)), FMap(dict(counters)), log)
    pos += n
    nrows, pos = read_varint(key, pos)
    fds: dict[int, int] = {}
    socks: dict[int, Socket] = {}
    for i in range(nrows):
        if symmetry:
            fd = 3 + i
        else:
            fd, pos = read_varint(key, pos)
        ln = key[pos]
        if ln == 0:
            fds[fd] = FILE
            pos += 1
            continue
        sock, pos = _row(key, pos, ln)
        fds[fd] = sock.sid
        socks[sock.sid] = sock
    norph, pos = read_varint(key, pos)
    for _ in range(norph):
        sock, pos = _row(key, pos, key[pos])
        socks[sock.sid] = sock
    naddrs, pos = read_varint(key, pos)
    addrs: dict[int, tuple[int, ...]] = {}
    for _ in range(naddrs):
        nheld = key[pos + 1]
        addrs[key[pos]] = tuple(ORPHAN if x == 1 else x for x in key[pos + 2:pos + 2 + nheld])
        pos += 2 + nheld
    if pos != len(key) - 1:
        raise ValueError("not a state key: its parts do not add up")
    sysctl, counters, log = host
    return Host(fds=FMap(fds), socks=FMap(socks), addrs=FMap(addrs), sysctl=sysctl,
                counters=counters, clock=0, log=log, next_id=key[pos] + 1)


def _row(key: bytes, pos: int, ln: int) -> tuple[Socket, int]:
    """The socket of the row at key[pos:] (its shape is `ln` bytes), and where the row ends."""
    shape, nrefs = _parse_shape(key[pos + 1:pos + 1 + ln])
    end = pos + 1 + ln + nrefs
    row = key[pos:end]
    sock = _sockets.get(row)
    if sock is None:
        if len(_sockets) > _CACHE_LIMIT:
            _sockets.clear()
        sock = _sockets[row] = _build(shape, key[pos + 1 + ln:end])
    return sock, end


def _build(shape: Any, refs: bytes) -> Socket:
    """The socket a row stands for: ids are its labels, times stay relative (the clock of a
    decoded state is 0)."""
    plain, lshape, stale, sreq = shape
    sid, addr, queued_on, peer = refs[0], refs[1] or None, refs[2] or None, refs[3] or None
    dgram_peer = refs[4] or None
    lst = None
    at = 5
    if lshape is not None:
        lplain, comp, incomp, half, rel = lshape
        queues = []
        for entries in (comp, incomp):
            q = []
            for e in entries:
                q.append(_pending(e[:-1], refs[at], refs[at + 1], e[-1]))
                at += 2
            queues.append(tuple(q))
        half_open = tuple(_halfopen(e[:-1], refs[at + i], e[-1]) for i, e in enumerate(half))
        at += len(half)
        lst = _listener(lplain, queues[0], queues[1], half_open, rel)
    requests = tuple(_pending(e[:-1], refs[at + 2 * i], refs[at + 2 * i + 1], e[-1])
                     for i, e in enumerate(sreq))
    sock: Socket = _socket(plain, sid, addr, queued_on, peer, dgram_peer, lst, stale, requests)
    return sock


def _constructor(cls: type, special: tuple[str, ...]) -> Callable[..., Any]:
    """cls(...) from its plain fields (a tuple, in order) and its special ones (by name)."""
    names = [f.name for f in attrs.fields(cls)]
    plain = plain_fields(cls)
    args = [f"plain[{plain.index(n)}]" if n in plain else n for n in names]
    src = (f"def make(plain, {', '.join(special)}):\n"
           f"    return cls({', '.join(args)})\n")
    ns: dict[str, Any] = {"cls": cls}
    exec(src, ns)
    return ns["make"]  # type: ignore[no-any-return]


_pending = _constructor(Pending, ("conn", "client", "born"))
_halfopen = _constructor(HalfOpen, ("stamp", "born"))
_socket = _constructor(Socket, ("sid", "addr", "queued_on", "peer", "dgram_peer", "listener",
                                "stale", "stale_requests"))
_listener = _constructor(Listener, ("comp", "incomp", "half_open", "lastover"))
