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
from .models.invariants import check_state
from .models.profiles import Profile
from .models.state import Host
from .statekey import Key, Memo, decode, encode

#: what a state may skip: moves that commute with the move that reached it (depth one), and
#: moves that change nothing (docs/explorer.md)
Sleep = tuple[frozenset[Action] | None, frozenset[Action] | None]
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

    #: check the state a move ends in once per key (docs/explorer.md); False: on every call
    state_once = True

    def __init__(self, profile: Profile, prep: Prepared, *, symmetry: bool = True,
                 por: bool = False) -> None:
        self.profile = profile
        self.moves = prep.moves
        self.fresh = prep.fresh
        self.symmetry = symmetry
        self.por = por
        # the state invariants' findings by key (they depend on the key only: statekey.py)
        self._verdicts: dict[Key, tuple[str, ...]] = {}

    def state(self, key: Key) -> Host:
        return decode(key, self.profile, self.symmetry)

    def expand(self, key: Key, sleep: Sleep | None = None,
               collect: Callable[[Host], Any] | None = None,
               remaining: int = 1, known: Callable[[Key], bool] | None = None) -> Expansion:
        """Every move of the state `key` within `remaining` layers of the depth bound, but
        those `sleep` lets it skip. A successor `known` says is stored already gets no sleep
        set (it will not be expanded again)."""
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
        commuting, looping = sleep if sleep is not None else (None, None)
        skip = (commuting or frozenset()) | (looping or frozenset())
        done: list[tuple[Action, int, int]] = []  # (action, reads, writes) of moves tried
        reads = fp.Reads(h) if por else None
        after_sockets: dict[int, fp.Reads] = {}  # Reads of the states lazy moves start from

        def reads_at(state: Host) -> fp.Reads:
            got = after_sockets.get(id(state))
            if got is None or got.h is not state:
                got = after_sockets[id(state)] = fp.Reads(state)
            return got

        loops: dict[int, list[Action]] = {}  # moves that change nothing, by what they read
        # successors waiting for their sleep sets: (key, move, reads, writes, order, tried)
        waiting: list[tuple[Key, int, int, int, list[int], int, int]] = []

        def successor(s: Host | None, i: int, action: Action, r: int, w: int,
                      cost: int) -> Key | None:
            if por and s is not None and w == 0:
                loops.setdefault(r, []).append(action)
            if s is None or s is h or (por and w == 0):
                if por:
                    done.append((action, r, w))
                return None
            k, order = encode(s, self.symmetry, memo)
            if por:
                waiting.append((k, i, r, w, order, len(done), cost))
                done.append((action, r, w))
            else:
                successors.append((k, i, None, cost))
            return k

        verdicts = self._verdicts
        once = self.state_once
        if len(verdicts) > _VERDICTS:
            verdicts.clear()

        def with_state(broken: list[str], s: Host, k: Key | None) -> list[str]:
            """A call's step findings and the state invariants of the state it reached, made
            once per key. A stored key needs none when the call broke nothing else: it was
            stored at a smaller depth, so the same findings were made there, shallower."""
            if k is None or not once:
                return broken + list(check_state(p, s))
            if not broken and known is not None and known(k):
                return broken
            got = verdicts.get(k)
            if got is None:
                got = verdicts[k] = tuple(check_state(p, s))
            return broken + list(got) if got else broken

        def settle(held: tuple[list[str], int, bool], s: Host, k: Key | None, i: int) -> None:
            """Record a composite call's findings once its state is known to be inner (k None:
            no key, checked in full) or the move's last (k: its key)."""
            broken, at, changed = held
            found = with_state(broken, s, k) if changed else broken
            if found:
                violations.append((found, i, at))

        for i, (action, call, args) in enumerate(moves):
            if action in skip:
                if looping is not None and action in looping:
                    assert reads is not None
                    loops.setdefault(_reads(reads, action, call), []).append(action)
                continue
            tried += 1
            if isinstance(args, Composite):
                state: Host | None = h
                # the last call's step findings, the layer it reached and whether it changed
                # the state, held until it is known whether its state is the move's last
                held: tuple[list[str], int, bool] | None = None
                for n, (_step, out, broken) in enumerate(args.steps(p, h, state=False), 1):
                    transitions += 1
                    at = 1 if args.unit else n
                    if held is not None and state is not None:  # an inner state: check it
                        settle(held, state, None, i)
                    held = None
                    if out is None:
                        if broken:
                            violations.append((broken, i, at))
                        state = None
                        break
                    held = (broken, at, out.state is not state)
                    state = out.state
                    if collect is not None and state is not h:
                        collected.append(collect(state))
                sk = successor(state, i, action, fp.ALL, fp.ALL, 1 if args.unit else n)
                if held is not None and state is not None:
                    settle(held, state, sk, i)
                continue
            transitions += 1
            out, broken = run_call(p, h, call, args, state=False)
            s = None if out is None else out.state
            r, w = (0, 0)
            if reads is not None:
                r, w = (fp.ALL, fp.ALL) if s is None else (_reads(reads, action, call),
                                                           fp.writes(h, s))
            if collect is not None and s is not None and s is not h:
                collected.append(collect(s))
            sk = successor(s, i, action, r, w, 1)
            if s is not None and s is not h:
                broken = with_state(broken, s, sk)
            if broken:
                violations.append((broken, i, 1))
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
                    (a, call, args), at = lm.move, len(lm.domains) + 1
                    if lazy in skip:
                        if looping is not None and lazy in looping:
                            rl = fp.below(h.next_id) & _reads(reads_at(lm.state), a, call)
                            loops.setdefault(rl, []).append(lazy)
                    else:
                        tried += 1
                        transitions += 1
                        out, broken = run_call(p, lm.state, call, args, state=False)
                        ls = None if out is None else out.state
                        if collect is not None and ls is not None and ls is not lm.state:
                            collected.append(collect(ls))
                        r = w = 0
                        if por:
                            r, w = (fp.ALL, fp.ALL) if ls is None else (
                                _reads(reads_at(lm.state), a, call), fp.writes(lm.state, ls))
                            if ls is lm.state:
                                loops.setdefault(fp.below(h.next_id) & r, []).append(lazy)
                            elif ls is not None:
                                w = fp.writes(h, ls)
                        if ls is not None and ls is not lm.state:
                            sk = successor(ls, i, lazy, r, w, at)
                            broken = with_state(broken, ls, sk)
                        elif por:
                            done.append((lazy, r, fp.ALL))
                        if broken:
                            violations.append((broken, i, at))
                i += 1
        for k, i, r, w, order, before, cost in waiting:
            z = None if known is not None and known(k) else self._sleep_after(
                done[:before], loops, r, w, order)
            successors.append((k, i, z, cost))
        return Expansion(successors, violations, transitions, collected, tried)

    def _sleep_after(self, done: list[tuple[Action, int, int]],
                     loops: dict[int, list[Action]], r: int, w: int,
                     order: list[int]) -> Sleep | None:
        """What the successor reached by a move b (reads r, writes w) may skip, in its own
        coordinates (its descriptors in key order are `order`): the moves tried before b and
        independent of it, and the moves that change nothing here (tried, or skipped as such;
        `loops` groups them by what they read) whose reads b does not write."""
        commuting = [a for a, r2, w2 in done if not (w2 & (r | w)) and not (w & r2)]
        looping = [a for r2, acts in loops.items() if not (w & r2) for a in acts]
        if not commuting and not looping:
            return None
        if self.symmetry and any(fd != 3 + j for j, fd in enumerate(order)):
            pos = {fd: 3 + j for j, fd in enumerate(order)}
            commuting = [_renamed(a, pos) for a in commuting]
            looping = [_renamed(a, pos) for a in looping]
        return (_interned(commuting), _interned(looping))


def _reads(reads: fp.Reads, action: Action, call: str) -> int:
    fds_at, target_at = fd_positions(action)
    return reads(call, [action[j] for j in fds_at],
                 None if target_at is None else action[target_at])


#: the most state-invariant findings an expander remembers (then it starts again)
_VERDICTS = 200_000

#: sleep sets, each stored once (states of a layer share a few hundred of them)
_SLEEPS: dict[frozenset[Action], frozenset[Action]] = {}
_ACTIONS: dict[Action, Action] = {}


def _interned(actions: list[Action]) -> frozenset[Action] | None:
    if not actions:
        return None
    z = frozenset(_ACTIONS.setdefault(a, a) for a in actions)
    if len(_SLEEPS) > 200_000:
        _SLEEPS.clear()
    return _SLEEPS.setdefault(z, z)


def _renamed(a: Action, pos: dict[int, int]) -> Action:
    return rename_lazy(a, pos) if a[0] == "lazy" else rename_action(a, pos)
