"""An exhaustive bounded explorer of the model.

`explore(profile, depth, max_backlog, max_limit)` enumerates every sequence of calls up to
`depth` over a small finite alphabet (listenspec.alphabet, derived from the calls'
declarations), breadth first, runs each through the model (`listenspec.models.host`), checks
every named invariant (`listenspec.models.invariants`) on every transition, and deduplicates
visited states by `statekey.state_key` (a canonical projection up to renaming ids and permuting
descriptors: sound, see that module). The explorer keeps the first concrete state it met for
each key, so every path it reports is a real sequence of calls, and reports a violation as a
script in the format, runnable with `listenspec run FILE --profile P`.

Pure reads (netstat, counter, the other getsockopts) cannot change the state; `reads=True` adds
them anyway, to check `refused-unchanged` and friends on them too.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import attrs

from .alphabet import Action, Alphabet, counterexample_script
from .models import host
from .models.invariants import check_state, check_step
from .models.profiles import Profile, get
from .models.state import Host
from .progress import Progress
from .statekey import state_key


@attrs.frozen
class ExploreResult:
    profile: str
    depth: int  # the depth asked for
    depth_done: int  # the deepest layer fully explored (== depth unless the budget ran out)
    distinct_states: int
    transitions: int
    seconds: float
    states_per_second: float
    violations: list[str]  # counterexample scripts, shortest first
    broken: list[list[str]]  # the invariants each counterexample breaks
    layers: tuple[int, ...]  # new distinct states found at each depth (index 0: the start)
    complete: bool
    alphabet: str
    states: frozenset[Any] | None = None  # collect(state) for every state, when asked for

    def json(self) -> dict[str, Any]:
        return {
            "profile": self.profile, "depth": self.depth, "depth_done": self.depth_done,
            "distinct_states": self.distinct_states, "transitions": self.transitions,
            "seconds": round(self.seconds, 3),
            "states_per_second": round(self.states_per_second, 1),
            "violations": self.violations, "broken": self.broken,
            "layers": list(self.layers), "complete": self.complete,
        }


def explore(profile: str | Profile, depth: int = 8, max_backlog: int = 2, max_limit: int = 2,
            *, domains: tuple[str, ...] = ("AF_INET",), reads: bool = False,
            dedup: bool = True, symmetry: bool = True, time_budget: float | None = None,
            max_violations: int = 5, progress: bool | None = None,
            collect: Callable[[Host], Any] | None = None) -> ExploreResult:
    """Every call sequence of length <= depth over the alphabet, breadth first (module doc).

    dedup=False expands every sequence (a tree: for tests); symmetry=False keeps descriptor
    numbers in the key. A time budget stops early (`complete` is then False). Counterexamples
    are kept for the first `max_violations` distinct sets of broken invariants. `collect`, if
    given, is applied to every state reached; the set of its values is `result.states` (tests
    compare runs with and without dedup and symmetry this way).
    """
    p = get(profile) if isinstance(profile, str) else profile
    alphabet = Alphabet(p, max_backlog, max_limit, tuple(domains), reads)
    moves = alphabet.compile()
    calls = host.CALLS
    bar = Progress("explore", progress)
    started = time.monotonic()
    deadline = None if time_budget is None else started + time_budget

    h0 = host.initial(p)
    k0 = state_key(h0, symmetry)
    index: dict[Any, int] = {k0: 0}  # state key -> node number (dedup on)
    keys: set[Any] = {k0}  # the distinct keys seen
    collected: set[Any] = set() if collect is None else {collect(h0)}
    parent: list[int] = [-1]  # node -> parent node
    via: list[Action | None] = [None]  # node -> the action that reached it
    found: dict[frozenset[str], tuple[int, Action, list[str]]] = {}
    initial_broken = list(check_state(p, h0))
    if initial_broken:
        found[frozenset(initial_broken)] = (0, ("<initial state>",), initial_broken)

    frontier: list[tuple[int, Host]] = [(0, h0)]
    layers = [1]
    transitions = 0
    depth_done = 0
    out_of_time = False
    for d in range(1, depth + 1):
        nxt: list[tuple[int, Host]] = []
        new = 0
        for done, (node, h) in enumerate(frontier):
            if done & 63 == 0:
                rate = len(keys) / max(time.monotonic() - started, 1e-9)
                bar.update(done, len(frontier), f"depth {d}/{depth}, {len(keys):,} states, "
                                                f"{rate:,.0f}/s")
                if deadline is not None and time.monotonic() > deadline:
                    out_of_time = True
                    break
            for action, call, args in moves(h):
                transitions += 1
                try:
                    out = calls[call](p, h, *args)
                    broken = check_step(p, h, call, args, out)
                except Exception as e:  # a crash of the model or of a check is a finding
                    broken = [f"model-error: {type(e).__name__}: {e}"]
                    out = None
                if broken:
                    found.setdefault(frozenset(broken), (node, action, broken))
                if out is None:
                    continue
                s = out.state
                if s is h:
                    continue  # the state it was given: known already
                k = state_key(s, symmetry)
                if dedup:
                    if k in index:
                        continue
                    index[k] = len(parent)
                keys.add(k)
                if collect is not None:
                    collected.add(collect(s))
                parent.append(node)
                via.append(action)
                nxt.append((len(parent) - 1, s))
                new += 1
        if out_of_time:
            break
        layers.append(new)
        depth_done = d
        frontier = nxt
        if max_violations and len(found) >= max_violations:
            break
    bar.close()
    seconds = time.monotonic() - started
    distinct = len(keys)
    scripts: list[str] = []
    broken_sets: list[list[str]] = []
    for node, action, broken in list(found.values())[:max(max_violations, 1)]:
        path = _path(parent, via, node)
        if action[0] != "<initial state>":
            path.append(action)
        scripts.append(counterexample_script(p, path, broken, depth))
        broken_sets.append(broken)
    return ExploreResult(
        profile=p.name, depth=depth, depth_done=depth_done, distinct_states=distinct,
        transitions=transitions, seconds=seconds,
        states_per_second=distinct / seconds if seconds > 0 else 0.0,
        violations=scripts, broken=broken_sets, layers=tuple(layers),
        complete=not out_of_time and depth_done == depth, alphabet=alphabet.describe(),
        states=frozenset(collected) if collect is not None else None,
    )


def _path(parent: list[int], via: list[Action | None], node: int) -> list[Action]:
    path: list[Action] = []
    while node > 0:
        a = via[node]
        assert a is not None
        path.append(a)
        node = parent[node]
    path.reverse()
    return path
