"""What a move reads and writes, as bit sets, and when two moves are independent.

The partial-order reduction (listenspec.sleep) may skip a move only where another order of the
same moves reaches the same state with the same checks, which holds when the two moves are
*independent* in the state where both are enabled: neither writes what the other reads or
writes (Bernstein's condition). Resources are the parts of a Host the model's transitions touch:

* one bit per socket (by socket id): its fields, its listener and queues, its descriptor
  entries and its address-table entry. The model reaches another socket only through ids it
  holds (`queued_on`, `peer`, a queue entry's `client`) or through the address table (a
  connect/syn target is whatever socket holds that address);
* `sysctl` (read by listen: the limit; by connect and syn: syncookies, the overflow log's
  settings), `clock` (read by connect's overflow rate check, written by sleep), `log`
  (appended by overflows, read and cleared by syslog), `counters` (bumped, read by counter()).

A move's *writes* are measured: the parts whose objects changed between the state and its
successor (the model is copy-on-write, so an untouched socket is the very same object). Its
*reads* are over-approximated from the model's structure (`reads`): the sockets its
descriptors name, the socket holding a target's address, one step along every id those hold
(a listener's queued clients, the listener a client is queued on, the peer), the listeners
syn() sums over, and the globals its call consults. Ids and descriptor numbers drawn for new
objects are not resources: the state key renames them (statekey.py), so two orders that draw
them differently reach the same key.

A move that crashed, or a composite move, reads and writes everything (`ALL`): it is
independent of nothing.
"""

from __future__ import annotations

from collections.abc import Sequence

from .models.state import FILE, Host

SYSCTL, CLOCK, LOG, COUNTERS = 1, 2, 4, 8
_SOCK0 = 4  # socket id s is bit s + _SOCK0
ALL = -1  # every bit: independent of nothing

#: what each call reads besides the sockets it names (module docstring)
GLOBAL_READS: dict[str, int] = {
    "listen": SYSCTL,
    "connect": SYSCTL | CLOCK,
    "syn": SYSCTL | CLOCK,  # a half-open entry is stamped with the clock
    "sysctl": SYSCTL,
    "sleep": ALL,  # the retransmission timers it fires read every listener
    "syslog": LOG,
    "counter": COUNTERS,
}


#: the calls that read every listener: syn() (the syncache total sums over them)
READS_EVERY_LISTENER = frozenset({"syn"})


def sock_bit(sid: int) -> int:
    return 1 << (sid + _SOCK0)


def below(next_id: int) -> int:
    """The globals and the sockets with ids below next_id (not ones made after)."""
    return (1 << (next_id + _SOCK0)) - 1


def socket_ids(bits: int, next_id: int) -> list[int]:
    """The ids of the sockets in a bit set (of a state whose next id is next_id)."""
    ids = []
    x = (bits & below(next_id)) >> _SOCK0
    while x:
        low = x & -x
        ids.append(low.bit_length() - 1)
        x ^= low
    return ids


def _file_bit(fd: int) -> int:
    return 1 << (fd + _SOCK0 + 4096)  # a descriptor that is not a socket (open())


def _related(h: Host, sid: int) -> int:
    """The socket and one step along each id it holds."""
    s = h.socks.get(sid)
    bits = sock_bit(sid)
    if s is None:
        return bits
    if s.queued_on is not None:
        bits |= sock_bit(s.queued_on)
    if s.peer is not None:
        bits |= sock_bit(s.peer)
    lst = s.listener
    if lst is not None:
        for e in lst.comp:
            bits |= sock_bit(e.client)
        for e in lst.incomp:
            bits |= sock_bit(e.client)
    return bits


def reads(h: Host, call: str, fds: Sequence[int], target: int | None) -> int:
    """What a move may read in h: `fds` are the descriptors it names, `target` the one whose
    address it aims at (connect, syn), if any."""
    return Reads(h)(call, fds, target)


class Reads:
    """`reads` for many moves of one state: each descriptor's part is worked out once, when a
    move first names it (a checker asks about one call in a state of a hundred sockets)."""

    def __init__(self, h: Host) -> None:
        self.h = h
        self._fd: dict[int, int] = {}
        self._target: dict[int, int] = {}
        self._listeners: int | None = None

    def fd_bits(self, fd: int) -> int:
        """What naming a descriptor reads: its socket, one step along the ids it holds."""
        bits = self._fd.get(fd)
        if bits is None:
            sid = self.h.fds.get(fd)
            bits = 0 if sid is None else _file_bit(fd) if sid == FILE else _related(self.h, sid)
            self._fd[fd] = bits
        return bits

    def target_bits(self, fd: int) -> int:
        """What aiming at a descriptor's address reads: that, and every holder of the address
        (every member of a SO_REUSEPORT group, or an orphan)."""
        bits = self._target.get(fd)
        if bits is None:
            sid = self.h.fds.get(fd)
            bits = 0
            if sid is not None and sid != FILE:
                bits = self.fd_bits(fd)
                s = self.h.socks.get(sid)
                if s is not None and s.addr is not None:
                    bits |= self.at_address(s.addr)
            self._target[fd] = bits
        return bits

    def listeners(self) -> int:
        if self._listeners is None:
            self._listeners = 0
            for sid, s in self.h.socks.items():
                if s.listener is not None:
                    self._listeners |= sock_bit(sid)
        return self._listeners

    def at_address(self, addr: int) -> int:
        """What aiming at an address reads (a connect/syn target that a checker names by its
        address, not by a descriptor): every socket holding it, one step along its ids."""
        bits = 0
        for holder in self.h.addrs.get(addr, ()):
            bits |= _related(self.h, holder)
        return bits

    def __call__(self, call: str, fds: Sequence[int], target: int | None) -> int:
        # Any call may consult a sysctl or the clock (the data path reads abort_on_overflow and
        # migrate_req, connections are stamped with the clock): assumed, not listed per call.
        bits = GLOBAL_READS.get(call, 0) | SYSCTL | CLOCK
        for fd in fds:
            bits |= self.fd_bits(fd)
        if target is not None:
            bits |= self.target_bits(target)
        if call in READS_EVERY_LISTENER:
            bits |= self.listeners()
        return bits


def writes(before: Host, after: Host) -> int:
    """What changed from `before` to `after` (module docstring)."""
    if after is before:
        return 0
    bits = 0
    if after.socks is not before.socks:
        b, a = before.socks._d, after.socks._d
        for sid, s in a.items():
            if b.get(sid) is not s:
                bits |= sock_bit(sid)
        for sid in b:
            if sid not in a:
                bits |= sock_bit(sid)
    if after.fds is not before.fds:
        b2, a2 = before.fds._d, after.fds._d
        for fd in b2.keys() | a2.keys():
            old, new = b2.get(fd), a2.get(fd)
            if old != new:
                for x in (old, new):
                    if x is not None:
                        bits |= _file_bit(fd) if x == FILE else sock_bit(x)
    if after.addrs is not before.addrs:
        b3, a3 = before.addrs._d, after.addrs._d
        for addr in b3.keys() | a3.keys():
            was, now = b3.get(addr, ()), a3.get(addr, ())
            if was != now:
                for y in {*was, *now}:
                    bits |= sock_bit(y)
    if after.sysctl is not before.sysctl and after.sysctl != before.sysctl:
        bits |= SYSCTL
    if after.counters is not before.counters and after.counters != before.counters:
        bits |= COUNTERS
    if after.log != before.log:
        bits |= LOG
    if after.clock != before.clock:
        bits |= CLOCK
    return bits


def independent(r1: int, w1: int, r2: int, w2: int) -> bool:
    """Bernstein's condition: neither move writes what the other reads or writes."""
    return not (w1 & (r2 | w2)) and not (w2 & r1)
