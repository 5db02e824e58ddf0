"""One share of a breadth-first search by layers: the state keys it owns, their parents, and its
part of the frontier.

The keys are split among shares by a stable hash (`owner`), as TLC splits its fingerprint set
among workers; each share expands the frontier states it owns and sends every successor to the
share that owns it. A share stores, per state it owns, the key (bytes), the parent's node id
and the index of the move that reached it: the concrete state is rebuilt from the key
(statekey.decode) when it is expanded, so the frontier costs one reference per state.

Everything is decided by keys, never by the order arrivals come in: of all the ways one layer
reaches a new state, the parent kept is the one with the least (parent key, move index), the
sleep set is the intersection of theirs, and a layer's new states are numbered in key order.
So any number of shares gives the same states, the same counts and the same counterexamples.
"""

from __future__ import annotations

import time
import zlib
from array import array
from collections.abc import Callable
from typing import Any

from .expand import Expander, Sleep
from .statekey import Key

#: an arrival at a state: (parent key, move index, parent node, sleep set)
Arrival = tuple[Key, int, int, Sleep | None]
#: a violation found: (depth, parent key, move index, parent node, broken invariants)
Candidate = tuple[int, Key, int, int, list[str]]


def owner(key: Key, shares: int) -> int:
    """The share that owns a key: a hash that is the same in every process."""
    return 0 if shares == 1 else zlib.crc32(key) % shares


def merge(into: dict[Key, Arrival], key: Key, a: Arrival) -> None:
    """Record one more arrival at `key` in this layer (module docstring)."""
    old = into.get(key)
    if old is None:
        into[key] = a
        return
    best = a if (a[0], a[1]) < (old[0], old[1]) else old
    into[key] = (best[0], best[1], best[2], meet(old[3], a[3]))


def meet(x: Sleep | None, y: Sleep | None) -> Sleep | None:
    """What a state reached two ways may skip: the commuting moves both ways allow, and the
    moves either way shows change nothing (docs/explorer.md)."""
    cx, lx = x if x is not None else (None, None)
    cy, ly = y if y is not None else (None, None)
    commuting = cx & cy if cx is not None and cy is not None else None
    looping = lx | ly if lx is not None and ly is not None else (lx if ly is None else ly)
    if not commuting and not looping:
        return None
    return (commuting or None, looping or None)


def better(c: Candidate, old: Candidate | None) -> bool:
    return old is None or c[:3] < old[:3]


#: arrivals by the layer they reach (a move of k calls reaches k layers down)
Arrivals = dict[int, dict[Key, Arrival]]


class Share:
    """Share `index` of `shares` (module docstring)."""

    def __init__(self, index: int, shares: int, expander: Expander, *, depth: int,
                 dedup: bool = True, collect: Callable[[Any], Any] | None = None) -> None:
        self.index = index
        self.shares = shares
        self.expander = expander
        self.depth = depth  # the deepest layer searched
        self.dedup = dedup
        self.collect = collect
        self.seen: dict[Key, int] = {}
        self.keys: list[Key] = []
        self.parent = array("q")
        self.via = array("l")
        self.frontier: list[tuple[int, Sleep | None]] = []
        self.pending: Arrivals = {}
        self.tree: dict[int, list[tuple[Key, Arrival]]] = {}  # when not deduplicating

    def gid(self, node: int) -> int:
        return node * self.shares + self.index

    def add_root(self, key: Key) -> None:
        if owner(key, self.shares) == self.index:
            self._store(key, -1, -1, None)

    def _store(self, key: Key, parent: int, via: int, sleep: Sleep | None) -> None:
        node = len(self.keys)
        if self.dedup:
            self.seen[key] = node
        self.keys.append(key)
        self.parent.append(parent)
        self.via.append(via)
        self.frontier.append((node, sleep))

    def expand_layer(self, depth: int, deadline: float | None,
                     tick: Callable[[int], None] | None = None
                     ) -> tuple[list[Arrivals], dict[frozenset[str], Candidate], int, bool,
                                list[Any]]:
        """Expand this share's frontier (the states at depth - 1). Returns the arrivals for
        each share (this one's are merged already), the violations found, the calls made,
        whether the deadline stopped it, and what `collect` gave."""
        out: list[Arrivals] = [{} for _ in range(self.shares)]
        out[self.index] = self.pending
        found: dict[frozenset[str], Candidate] = {}
        transitions = 0
        stopped = False
        collected: list[Any] = []
        expand = self.expander.expand
        remaining = self.depth - depth + 1
        frontier, self.frontier = self.frontier, []
        for done, (node, sleep) in enumerate(frontier):
            if done & 63 == 0:
                if tick is not None:
                    tick(done)
                if deadline is not None and time.monotonic() > deadline:
                    stopped = True
                    break
            key = self.keys[node]
            g = self.gid(node)
            e = expand(key, sleep, self.collect, remaining, self._known)
            transitions += e.transitions
            collected += e.collected
            for broken, i, at in e.violations:
                c: Candidate = (depth - 1 + at, key, i, g, broken)
                fs = frozenset(broken)
                if better(c, found.get(fs)):
                    found[fs] = c
            for k, i, z, cost in e.successors:
                a: Arrival = (key, i, g, z)
                layer = depth - 1 + cost
                if not self.dedup:
                    self.tree.setdefault(layer, []).append((k, a))
                    continue
                o = owner(k, self.shares)
                if o == self.index and k in self.seen:
                    continue
                into = out[o].get(layer)
                if into is None:
                    into = out[o][layer] = {}
                merge(into, k, a)
        if tick is not None:
            tick(len(frontier))
        self.pending = out[self.index]
        out[self.index] = {}
        return out, found, transitions, stopped, collected

    def _known(self, key: Key) -> bool:
        """Whether a key is stored already (as far as this share can tell)."""
        return owner(key, self.shares) == self.index and key in self.seen

    def receive(self, arrivals: Arrivals) -> None:
        """Arrivals another share found at states this one owns."""
        for layer, got in arrivals.items():
            into = self.pending.get(layer)
            if into is None:
                self.pending[layer] = got
                continue
            for k, a in got.items():
                merge(into, k, a)

    def close_layer(self, depth: int) -> int:
        """Store the new states of layer `depth` (in key order); how many there are."""
        if not self.dedup:
            tree = self.tree.pop(depth, [])
            for k, (_pk, i, g, z) in tree:
                self._store(k, g, i, z)
            return len(tree)
        pending = self.pending.pop(depth, {})
        new = 0
        seen = self.seen
        for k in sorted(pending):
            if k in seen:  # reached by a shorter way meanwhile (a move of several calls)
                continue
            _pk, i, g, z = pending[k]
            self._store(k, g, i, z)
            new += 1
        return new

    def node(self, node: int) -> tuple[Key, int, int]:
        """(key, parent node id, move index) of one of this share's nodes."""
        return self.keys[node], self.parent[node], self.via[node]

    def stored(self) -> int:
        return len(self.keys)

    def frontier_size(self) -> int:
        return len(self.frontier)
