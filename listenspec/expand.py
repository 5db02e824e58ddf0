"""Expanding one state of the explorer: every move of the alphabet through the model's own
transitions (`host.CALLS`) and invariants (`check_step`), the successors' keys, and, with the
partial-order reduction on, the moves each successor may skip.

A state comes as its key and is decoded to the canonical representative (statekey.decode), so
what an expansion does depends on the key only. A move is a primitive `(action, call,
arguments)` of the alphabet or a `Composite` (several calls, each decided on the state the
previous one left); every call a move makes is checked.

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
from .alphabet import Action, Move, fd_positions, rename_action
from .composite import Composite, run_call
from .models.profiles import Profile
from .models.state import Host
from .statekey import Key, Memo, decode, encode

Sleep = frozenset[Action]
#: a successor: its key, the index of the move that reached it, the moves it may skip
Successor = tuple[Key, int, Sleep | None]


@attrs.frozen
class Expansion:
    successors: list[Successor]
    violations: list[tuple[list[str], int]]  # broken invariants, index of the move
    transitions: int  # calls made
    collected: list[Any]
    moves: int  # moves tried (not skipped)


class Expander:
    """Expands states of one profile over one alphabet (module docstring)."""

    def __init__(self, profile: Profile, moves: Callable[[Host], list[Move]], *,
                 symmetry: bool = True, por: bool = False) -> None:
        self.profile = profile
        self.moves = moves
        self.symmetry = symmetry
        self.por = por

    def state(self, key: Key) -> Host:
        return decode(key, self.profile, self.symmetry)

    def expand(self, key: Key, sleep: Sleep | None = None,
               collect: Callable[[Host], Any] | None = None) -> Expansion:
        p = self.profile
        h = self.state(key)
        moves = self.moves(h)
        memo: Memo = {}
        encode(h, self.symmetry, memo)  # the shapes of h's sockets, shared by its successors
        successors: list[Successor] = []
        violations: list[tuple[list[str], int]] = []
        collected: list[Any] = []
        transitions = tried = 0
        por = self.por
        done: list[tuple[Action, int, int]] = []  # (action, reads, writes) of moves tried
        for i, (action, call, args) in enumerate(moves):
            if sleep is not None and action in sleep:
                continue
            tried += 1
            r = w = 0
            if isinstance(args, Composite):
                state = h
                crashed = False
                for _step, out, broken in args.steps(p, h):
                    transitions += 1
                    if broken:
                        violations.append((broken, i))
                    if out is None:
                        crashed = True
                        break
                    state = out.state
                    if collect is not None and state is not h:
                        collected.append(collect(state))
                s: Host | None = None if crashed else state
                r = w = fp.ALL
            else:
                transitions += 1
                out, broken = run_call(p, h, call, args)
                if broken:
                    violations.append((broken, i))
                s = None if out is None else out.state
                if por:
                    if s is None:
                        r = w = fp.ALL
                    else:
                        fds_at, target_at = fd_positions(call)
                        r = fp.reads(h, call, [action[j] for j in fds_at],
                                     None if target_at is None else action[target_at])
                        w = fp.writes(h, s)
                if collect is not None and s is not None and s is not h:
                    collected.append(collect(s))
            if s is None or s is h:
                if por:
                    done.append((action, r, w))
                continue
            k, order = encode(s, self.symmetry, memo)
            z: Sleep | None = None
            if por and done:
                z = self._sleep_after(done, r, w, order)
            successors.append((k, i, z))
            if por:
                done.append((action, r, w))
        return Expansion(successors, violations, transitions, collected, tried)

    def _sleep_after(self, done: list[tuple[Action, int, int]], r: int, w: int,
                     order: list[int]) -> Sleep | None:
        """The moves tried before b (reads r, writes w) and independent of it, in the
        coordinates of the successor (whose descriptors in key order are `order`)."""
        pos = {fd: 3 + j for j, fd in enumerate(order)} if self.symmetry else None
        out = []
        for action, r2, w2 in done:
            if not (w2 & (r | w)) and not (w & r2):
                out.append(action if pos is None else rename_action(action, pos))
        return frozenset(out) if out else None
