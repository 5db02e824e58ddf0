"""One trace line taken in every way of reading the trace at once (the checker's worlds).

Where the system may answer a call several ways (which SO_REUSEPORT listener a connection
reaches), the checker follows every way that matches the trace (`checker.check`), and the
ways multiply: a conformance script with two SO_REUSEPORT groups reaches 2**7 of them. They
differ only in a few sockets (the group's listeners and the connections queued on them), so
most later lines do the very same thing in each: a call on another listener, a new socket.

`branches(worlds, step)` computes such a line once, in the first world, and carries it to every
other world that agrees with the first on all the line *reads*: the same model arguments, the
same host apart from its sockets (descriptors, addresses, sysctls, counters, log, clock, id
counter), and the same sockets among those the call may read (`footprint.Reads`: the sockets
its descriptors name, every holder of the address it aims at, one step along the ids those
hold, every listener for syn(); sleep() reads everything, so it is never carried). The model's
transitions reach a socket only through those (the frame property the partial-order reduction
rests on, footprint.py, tested there by running independent moves in both orders); so in such
a world the call gives the same result and writes the same values, and its new state is its
own with the first world's changed sockets put in. A line with several outcomes in the first
world is computed in each world, as is a line in a world that does not agree.

The results are exactly those of computing the line in every world (`share=False`), in the
same order: `audit=True` computes both and raises AssertionError where they differ
(tests/test_worlds.py does so over generated scripts). Carrying a line costs a comparison of
the sockets it reads and a copy of the ones it changed, instead of the model's call.
"""

from __future__ import annotations

import operator
from typing import Any, Final

import attrs

from .footprint import ALL, READS_EVERY_LISTENER, Reads, socket_ids
from .models import host
from .models.outcome import Outcome
from .models.state import Host, Socket, Target, evolve
from .runner import Executed, ModelRun, model_forms
from .script import Step

#: the host's fields other than its sockets: a carried line needs them equal
_globals: Final = operator.attrgetter(*(f.name for f in attrs.fields(Host) if f.name != "socks"))
_GONE: Final = object()  # a socket the line closed
#: the worlds a line was computed in that a later world is compared with (the latest first):
#: a few, as worlds that do the same mostly come together (each fork's ways are adjacent)
KEEP: Final = 4


@attrs.frozen
class _Computed:
    """A line computed in one world: what it read there, and what each of its outcomes did."""

    before: Host
    globals: tuple[Any, ...]  # its fields other than its sockets (_globals)
    args: tuple[Any, ...]
    read: list[int]  # the sockets it may read, by id
    listeners: int | None  # for a call that reads every listener: which they were (bits)
    outcomes: tuple[tuple[Outcome, list[tuple[int, Socket | object]]], ...]


def branches(worlds: list[ModelRun], step: Step, *, share: bool = True,
             audit: bool = False) -> list[list[tuple[Executed, ModelRun]]]:
    """`w.branches(step)` for every world w, in order (module docstring)."""
    if not share or len(worlds) < 2:
        return [w.branches(step) for w in worlds]
    computed: list[_Computed] = []
    taken = []
    for w in worlds:
        args = w.resolve(step)
        done = next((c for c in computed if c.args == args and _agrees(w.state, c)), None)
        if done is None:
            out = host.apply(w.profile, w.state, step.call.name, *args)
            c = _computed(w.state, step, args, out)
            if c is not None:
                computed.insert(0, c)
                del computed[KEEP:]
            taken.append(w.branches(step, out))
            continue
        ways = [_carried(w.state, done.before, o, changed) for o, changed in done.outcomes]
        if audit:
            _audit(w, step, args, ways)
        mine = ways[0] if len(ways) == 1 else attrs.evolve(ways[0], alternatives=tuple(ways[1:]))
        taken.append(w.branches(step, mine))
    return taken


def _computed(h: Host, step: Step, args: tuple[Any, ...], out: Outcome) -> _Computed | None:
    """What a later world needs to take the line as h did; None: it may read everything."""
    name = step.call.name
    fds = [a for form, a in zip(model_forms(name), args, strict=False)
           if form == "fd" and isinstance(a, int)]
    reads = Reads(h)
    bits = reads(name, fds, None)
    if bits == ALL:
        return None
    for a in args:
        if isinstance(a, Target) and a.addr is not None:
            bits |= reads.at_address(a.addr)
    read = socket_ids(bits, h.next_id)
    listeners = reads.listeners() if name in READS_EVERY_LISTENER else None
    return _Computed(h, _globals(h), args, read, listeners,
                     tuple((o, _changes(h, o.state)) for o in out.outcomes))


def _agrees(mine: Host, c: _Computed) -> bool:
    """Does this world hold what the computed line read (module docstring)?"""
    first = c.before
    if mine is first:
        return True
    if _globals(mine) != c.globals:  # (a tuple compares its items by identity first)
        return False
    ms, fs = mine.socks, first.socks
    for sid in c.read:
        a, b = ms.get(sid), fs.get(sid)
        if a is not b and a != b:
            return False
    # the line read every listener there; here there may be one more, outside what it read
    return c.listeners is None or Reads(mine).listeners() == c.listeners


def _changes(before: Host, after: Host) -> list[tuple[int, Socket | object]]:
    """The sockets the line changed, each with what it became (_GONE: closed)."""
    if after.socks is before.socks:
        return []
    b, a = dict(before.socks.items()), after.socks
    out: list[tuple[int, Socket | object]] = [(sid, s) for sid, s in a.items()
                                              if b.get(sid) is not s]
    out += [(sid, _GONE) for sid in b if sid not in a]
    return out


def _carried(mine: Host, before: Host, o: Outcome,
             changed: list[tuple[int, Socket | object]]) -> Outcome:
    """The outcome o (from `before`) in this world: its state is the outcome's, with this
    world's own sockets where the line changed none."""
    if o.state is before:  # nothing changed (a refusal, a read): the very state, as the model
        return Outcome(mine, o.result, o.refused, o.fd)
    socks = mine.socks
    for sid, s in changed:
        socks = socks.remove(sid) if s is _GONE else socks.set(sid, s)  # type: ignore[arg-type]
    return Outcome(evolve(o.state, socks=socks), o.result, o.refused, o.fd)


def _audit(w: ModelRun, step: Step, args: tuple[Any, ...], carried: list[Outcome]) -> None:
    own = host.apply(w.profile, w.state, step.call.name, *args).outcomes
    for i, (a, b) in enumerate(zip(own, carried, strict=False)):
        if (a.state, a.result, a.fd, a.refused) != (b.state, b.result, b.fd, b.refused):
            raise AssertionError(
                f"line {step.line}: {step.call.name}, way {i + 1}: carried from another world "
                f"it gives {b.result!r}, computed here {a.result!r}"
                f"{'' if a.state == b.state else ' (and the states differ)'}")
    if len(own) != len(carried):
        raise AssertionError(f"line {step.line}: {step.call.name}: {len(carried)} ways carried "
                             f"from another world, {len(own)} computed here")
