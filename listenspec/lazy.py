"""Lazy socket creation: a socket is created where it is first used, not before.

A fresh socket nothing has used yet (an *idle* one) is inert: no transition and no invariant
looks at it unless a call names its descriptor (socket() reads only the id counter and the
set of descriptors in use, both renamed by the key; syn() sums over listeners only; close()
looks for other descriptors of its own socket). So socket() commutes with every call that does
not name the new descriptor, and any call sequence can be reordered, keeping its length and
every call's checks, so that each socket() comes just before the first call naming it, or at
the end. The explorer with `lazy=True` therefore never stores a state that is a stored state
plus idle sockets:

* socket() is no move of its own. From each stored state s, socket(d) for each domain d is
  run (and checked) as a *leaf*: its state is checked and collected but not stored; so are
  further socket() calls after it, up to the depth (the states s + k idle sockets);
* a *lazy move* is socket(d) followed by a call naming the new descriptor (2 calls deep), or
  socket(d1), socket(d2) followed by a connect() between the two new descriptors (3 deep).
  These are run from the leaves, so each socket() is run once per stored state.

The same states are visited and every call is checked at the same depth as without the
reduction (a test compares the violations and the states seen); states are counted in calls.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import attrs

from .alphabet import Action, Move, fd_positions
from .composite import run_call
from .models.profiles import Profile
from .models.state import Host

NEW1, NEW2 = -1, -2  # the new descriptors in a lazy move's action (no descriptor is negative)


def names(a: Action, fd: int) -> bool:
    """Whether an action names the descriptor fd."""
    at, target = fd_positions(a)
    return any(a[j] == fd for j in at) or (target is not None and a[target] == fd)


def placeholder(a: Action, new: dict[int, int]) -> Action:
    """The action with the new descriptors (new: fd -> NEW1/NEW2) as placeholders."""
    at, target = fd_positions(a)
    out = list(a)
    for j in (*at, *(() if target is None else (target,))):
        out[j] = new.get(out[j], out[j])
    return tuple(out)


def lazy_action(domains: tuple[str, ...], inner: Action) -> Action:
    """A lazy move's identity: the domains of its new sockets and the call, placeholders in."""
    return ("lazy", domains, inner)


def rename_lazy(a: Action, fds: dict[int, int]) -> Action:
    """A lazy move's identity with the existing descriptors renamed (placeholders kept)."""
    _, domains, inner = a
    at, target = fd_positions(inner)
    out = list(inner)
    for j in (*at, *(() if target is None else (target,))):
        if out[j] >= 0:
            out[j] = fds[out[j]]
    return ("lazy", domains, tuple(out))


@attrs.frozen
class LazyMove:
    """One lazy move of a state: the sockets it creates (their domains), the call after them
    (an alphabet move on the state they leave), and that state."""

    domains: tuple[str, ...]
    move: Move
    state: Host  # the state the sockets leave (where `move` runs)
    new: tuple[int, ...]  # the new descriptors in `state`

    @property
    def action(self) -> Action:
        new = {fd: (NEW1, NEW2)[i] for i, fd in enumerate(self.new)}
        return lazy_action(self.domains, placeholder(self.move[0], new))


#: what `Fresh.events` gives, in a fixed order: a socket() call run as a leaf
#: ("leaf", (domains so far, state before, outcome, broken invariants)) or a lazy move to try
#: ("move", LazyMove)
Event = tuple[str, Any]


@attrs.frozen
class Fresh:
    """The lazy part of an alphabet (module docstring): its socket() moves, one per domain,
    and the rest of the alphabet."""

    profile: Profile
    sockets: tuple[Move, ...]
    base: Callable[[Host], list[Move]]

    def events(self, h: Host, remaining: int) -> Iterator[Event]:
        """Every leaf and lazy move from h within `remaining` calls, in a fixed order (the
        explorer numbers them after h's other moves)."""
        yield from self._from(h, (), (), 0, remaining)

    def _from(self, h: Host, domains: tuple[str, ...], new: tuple[int, ...], first: int,
              remaining: int) -> Iterator[Event]:
        if len(domains) >= remaining:
            return
        for i in range(first, len(self.sockets)):
            action, call, args = self.sockets[i]
            out, broken = run_call(self.profile, h, call, args)
            doms = (*domains, action[1])
            yield "leaf", (doms, h, out, broken)
            if out is None or out.fd is None or out.state is h:
                continue  # refused (or a crash): no new socket
            fds = (*new, out.fd)
            if len(doms) < remaining:
                yield from self._moves(out.state, doms, fds)
            yield from self._from(out.state, doms, fds, i, remaining)

    def _moves(self, h: Host, domains: tuple[str, ...], new: tuple[int, ...]
               ) -> Iterator[Event]:
        """The lazy moves after the sockets `new` were made: calls naming every one of them
        (one new socket: any call naming it; two: a connect between them)."""
        if len(new) > 2:
            return
        for m in self.base(h):
            a = m[0]
            if not all(names(a, fd) for fd in new):
                continue
            if len(new) == 2 and domains[0] == domains[1] and a[1] == new[1]:
                continue  # connect(n2, n1) of two alike idle sockets: connect(n1, n2) renamed
            yield "move", LazyMove(domains, m, h, new)


def split(moves: Callable[[Host], list[Move]], static: list[Move]
          ) -> tuple[tuple[Move, ...], Callable[[Host], list[Move]]]:
    """An alphabet's socket() moves (from its state-independent moves) and the rest of it."""
    sockets = tuple(m for m in static if m[1] == "socket")

    def base(h: Host) -> list[Move]:
        return [m for m in moves(h) if m[1] != "socket"]

    return sockets, base
