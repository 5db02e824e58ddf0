"""Expanding one state of the explorer: every move of the alphabet through the model's own
transitions (`host.CALLS`) and invariants (`check_step`), the successors' keys, and, with the
partial-order reduction on, the moves each successor may skip.

A state comes as its key and is decoded to the canonical representative (statekey.decode), so
what an expansion does depends on the key only. A move is a primitive `(action, call,
arguments)` of the alphabet, a `Composite` (several calls, each decided on the state the
previous one left; it counts as one step of depth), or, with lazy socket creation, a leaf or a
lazy move (listenspec.lazy; each call counts). Every call a move makes is checked. Moves are
numbered in a fixed order (the alphabet's, then the lazy ones): a successor records the number
of the move that reached it, and that is how a path is replayed.

Partial-order reduction (sleep sets of depth one; docs/explorer.md has the argument): after a
state p, the successor p·b need not try a move t that p tried *before* b when t and b are
independent in p (listenspec.footprint): p·t·b is the same state as p·b·t, the search reaches
it through p·t (where b is tried, as it comes after t), and t from p·b makes the same checks as
t from p. A successor reached several ways in one layer skips only what every way allows.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import attrs

from . import footprint as fp
from .alphabet import Action, Prepared, fd_positions, rename_action
from .composite import Composite, run_call
from .lazy import LazyMove, rename_lazy
from .models.profiles import Profile
from .models.state import Host
from .statekey import Key, Memo, decode, encode

Sleep = frozenset[Action]
#: a successor: its key, the number of the move that reached it, the moves it may skip, and
#: how many layers down it is (the calls the move made, or 1 for a composite move)
Successor = tuple[Key, int, Sleep | None, int]
#: a violation: the invariants broken, the move's number, how many layers down the call was
Violation = tuple[list[str], int, int]


@attrs.frozen
class Expansion:
    successors: list[Successor]
    violations: list[Violation]
    transitions: int  # calls made
    collected: list[Any]
    moves: int  # moves tried (not skipped)


class Expander:
    """Expands states of one profile over one alphabet (module docstring)."""

    def __init__(self, profile: Profile, prep: Prepared, *, symmetry: bool = True,
                 por: bool = False) -> None:
        self.profile = profile
        self.moves = prep.moves
        self.fresh = prep.fresh
        self.symmetry = symmetry
        self.por = por

    def state(self, key: Key) -> Host:
        return decode(key, self.profile, self.symmetry)

    def expand(self, key: Key, sleep: Sleep | None = None,
               collect: Callable[[Host], Any] | None = None,
               remaining: int = 1) -> Expansion:
        """Every move of the state `key` within `remaining` layers of the depth bound, but
        those in `sleep`."""
        p = self.profile
        h = self.state(key)
        moves = self.moves(h)
        memo: Memo = {}
        encode(h, self.symmetry, memo)  # the shapes of h's sockets, shared by its successors
        successors: list[Successor] = []
        violations: list[Violation] = []
        collected: list[Any] = []
        transitions = tried = 0
        por = self.por
        done: list[tuple[Action, int, int]] = []  # (action, reads, writes) of moves tried

        def successor(s: Host | None, i: int, action: Action, r: int, w: int,
                      cost: int) -> None:
            if s is None or s is h:
                if por:
                    done.append((action, r, w))
                return
            k, order = encode(s, self.symmetry, memo)
            z = self._sleep_after(done, r, w, order) if por and done else None
            successors.append((k, i, z, cost))
            if por:
                done.append((action, r, w))

        for i, (action, call, args) in enumerate(moves):
            if sleep is not None and action in sleep:
                continue
            tried += 1
            r = w = 0
            if isinstance(args, Composite):
                state: Host | None = h
                for n, (_step, out, broken) in enumerate(args.steps(p, h), 1):
                    transitions += 1
                    if broken:
                        violations.append((broken, i, 1 if args.unit else n))
                    if out is None:
                        state = None
                        break
                    state = out.state
                    if collect is not None and state is not h:
                        collected.append(collect(state))
                successor(state, i, action, fp.ALL, fp.ALL, 1 if args.unit else n)
                continue
            transitions += 1
            out, broken = run_call(p, h, call, args)
            if broken:
                violations.append((broken, i, 1))
            s = None if out is None else out.state
            if por:
                r, w = self._footprint(h, action, call, s)
            if collect is not None and s is not None and s is not h:
                collected.append(collect(s))
            successor(s, i, action, r, w, 1)
        if self.fresh is not None:
            i = len(moves)
            for kind, data in self.fresh.events(h, remaining):
                if kind == "leaf":
                    domains, before, out, broken = data
                    transitions += 1
                    if broken:
                        violations.append((broken, i, len(domains)))
                    if collect is not None and out is not None and out.state is not before:
                        collected.append(collect(out.state))
                else:
                    lm: LazyMove = data
                    lazy = lm.action
                    if sleep is None or lazy not in sleep:
                        tried += 1
                        transitions += 1
                        (a, call, args), at = lm.move, len(lm.domains) + 1
                        out, broken = run_call(p, lm.state, call, args)
                        if broken:
                            violations.append((broken, i, at))
                        s = None if out is None or out.state is lm.state else out.state
                        r = w = 0
                        if por:
                            r, w = self._footprint(lm.state, a, call, s)
                            if s is not None:
                                w = fp.writes(h, s)
                        if collect is not None and s is not None:
                            collected.append(collect(s))
                        successor(s, i, lazy, r, w, at)
                i += 1
        return Expansion(successors, violations, transitions, collected, tried)

    @staticmethod
    def _footprint(h: Host, action: Action, call: str, s: Host | None) -> tuple[int, int]:
        """(reads, writes) of a primitive move from h that led to s (None: it crashed)."""
        if s is None:
            return fp.ALL, fp.ALL
        fds_at, target_at = fd_positions(call)
        r = fp.reads(h, call, [action[j] for j in fds_at],
                     None if target_at is None else action[target_at])
        return r, fp.writes(h, s)

    def _sleep_after(self, done: list[tuple[Action, int, int]], r: int, w: int,
                     order: list[int]) -> Sleep | None:
        """The moves tried before b (reads r, writes w) and independent of it, in the
        coordinates of the successor (whose descriptors in key order are `order`)."""
        pos = {fd: 3 + j for j, fd in enumerate(order)} if self.symmetry else None
        out = []
        for action, r2, w2 in done:
            if not (w2 & (r | w)) and not (w & r2):
                if pos is None:
                    out.append(action)
                elif action[0] == "lazy":
                    out.append(rename_lazy(action, pos))
                else:
                    out.append(rename_action(action, pos))
        return frozenset(out) if out else None
