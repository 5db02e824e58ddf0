"""An exhaustive bounded explorer of the model.

`explore(profile, depth, max_backlog, max_limit)` enumerates every sequence of calls up to
`depth` over a small finite alphabet (listenspec.alphabet, derived from the calls'
declarations; or the SPIN anchor's six composite moves, listenspec.anchor), breadth first, runs
each call through the model's own transitions (`listenspec.models.host`), checks every named
invariant (`listenspec.models.invariants`) on every transition it takes, and deduplicates
visited states by `statekey` (a canonical encoding up to renaming ids and descriptors: sound,
see that module). Counterexamples are scripts in the format, runnable with
`listenspec run FILE --profile P`.

The search is split into shares by state key (listenspec.layers); `workers=N` runs the shares
in N processes (listenspec.workers), with the same results for any N. The reductions are
switchable: `symmetry` (descriptors renamed), `por` (partial-order reduction by sleep sets,
listenspec.expand; it skips moves, never states) and `lazy` (sockets are created where they are
first used, listenspec.lazy). docs/explorer.md says why each is sound.

Pure reads (netstat, counter, the other getsockopts) cannot change the state; `reads=True` adds
them anyway, to check `refused-unchanged` and friends on them too.
"""

from __future__ import annotations

import gc
import time
from collections.abc import Callable
from typing import Any, Protocol

import attrs

from .alphabet import (
    Action,
    Alphabet,
    Prepared,
    counterexample_script,
    rename_action,
    resolve_action,
)
from .anchor import prepare_anchor
from .composite import Composite, run_call
from .expand import Expander
from .layers import Candidate, Share, better
from .lazy import Fresh, split
from .models.host import Outcome, initial
from .models.invariants import check_state
from .models.profiles import Profile, get
from .models.state import Host
from .progress import Progress
from .runner import ModelRun
from .statekey import Key, decode, encode


@attrs.frozen
class ExploreResult:
    profile: str
    depth: int  # the depth asked for
    depth_done: int  # the deepest layer fully explored (== depth unless the budget ran out)
    distinct_states: int  # states stored (distinct keys)
    transitions: int  # calls made
    seconds: float
    states_per_second: float
    violations: list[str]  # counterexample scripts, shortest first
    broken: list[list[str]]  # the invariants each counterexample breaks
    layers: tuple[int, ...]  # new distinct states found at each depth (index 0: the start)
    complete: bool
    alphabet: str
    states: frozenset[Any] | None = None  # collect(state) for every state, when asked for
    workers: int = 1
    reductions: tuple[str, ...] = ()
    moves_tried: int = 0  # moves tried (a composite move makes several calls)
    depths: tuple[int, ...] = ()  # the length (in calls) of each counterexample

    def json(self) -> dict[str, Any]:
        return {
            "profile": self.profile, "depth": self.depth, "depth_done": self.depth_done,
            "distinct_states": self.distinct_states, "transitions": self.transitions,
            "seconds": round(self.seconds, 3),
            "states_per_second": round(self.states_per_second, 1),
            "violations": self.violations, "broken": self.broken,
            "layers": list(self.layers), "complete": self.complete,
            "workers": self.workers, "reductions": list(self.reductions),
        }


class Shares(Protocol):
    """The search's shares, in this process or in workers (listenspec.workers)."""

    def add_root(self, key: Key) -> None: ...
    def layer(self, depth: int, deadline: float | None, bar: Progress, note: str
              ) -> tuple[int, dict[frozenset[str], Candidate], int, bool, list[Any]]: ...
    def node(self, gid: int) -> tuple[Key, int, int]: ...
    def stored(self) -> int: ...
    def close(self) -> None: ...


class LocalShares:
    """`n` shares in this process (n > 1 only to test the split without processes)."""

    def __init__(self, n: int, expander: Expander, depth: int, dedup: bool,
                 collect: Callable[[Host], Any] | None) -> None:
        self.shares = [Share(i, n, expander, depth=depth, dedup=dedup, collect=collect)
                       for i in range(n)]

    def add_root(self, key: Key) -> None:
        for s in self.shares:
            s.add_root(key)

    def layer(self, depth: int, deadline: float | None, bar: Progress, note: str
              ) -> tuple[int, dict[frozenset[str], Candidate], int, bool, list[Any]]:
        total = sum(s.frontier_size() for s in self.shares)
        found: dict[frozenset[str], Candidate] = {}
        transitions = 0
        stopped = False
        collected: list[Any] = []
        outs = []
        base = 0
        for s in self.shares:
            size = s.frontier_size()
            start = base

            def tick(done: int, start: int = start) -> None:
                bar.update(start + done, total, note)

            out, f, t, st, col = s.expand_layer(depth, deadline, tick)
            base += size
            outs.append(out)
            for fs, c in f.items():
                if better(c, found.get(fs)):
                    found[fs] = c
            transitions += t
            stopped = stopped or st
            collected += col
        for j, s in enumerate(self.shares):
            for i, out in enumerate(outs):
                if i != j:
                    s.receive(out[j])
        new = sum(s.close_layer(depth) for s in self.shares)
        return new, found, transitions, stopped, collected

    def node(self, gid: int) -> tuple[Key, int, int]:
        n = len(self.shares)
        return self.shares[gid % n].node(gid // n)

    def stored(self) -> int:
        return sum(s.stored() for s in self.shares)

    def close(self) -> None:
        pass


def explore(profile: str | Profile, depth: int = 8, max_backlog: int = 2, max_limit: int = 2,
            *, domains: tuple[str, ...] = ("AF_INET",), reads: bool = False,
            dedup: bool = True, symmetry: bool = True, por: bool = False, lazy: bool = True,
            alphabet: str = "full", workers: int = 1, shares: int | None = None,
            time_budget: float | None = None, max_violations: int = 5,
            progress: bool | None = None,
            collect: Callable[[Host], Any] | None = None) -> ExploreResult:
    """Every call sequence of length <= depth over the alphabet, breadth first (module doc).

    dedup=False expands every sequence (a tree: for tests); symmetry=False keeps descriptor
    numbers in the key; por=True skips moves by sleep sets; lazy=False makes socket() a move
    of its own (lazy=True creates sockets where they are first used). `alphabet` is "full"
    (every declared call) or "anchor" (the SPIN anchor's moves; `max_backlog` is its MAXB).
    `workers` processes share the search (`shares` splits it that many ways in this process
    instead, for tests). A time budget stops
    early (`complete` is then False). Counterexamples are kept for the first `max_violations`
    distinct sets of broken invariants, shortest first. `collect`, if given, is applied to
    every state reached; the set of its values is `result.states`.
    """
    p = get(profile) if isinstance(profile, str) else profile
    if alphabet not in ALPHABETS:
        raise ValueError(f"unknown alphabet {alphabet!r}: one of {', '.join(ALPHABETS)}")
    if not dedup and (workers > 1 or (shares or 1) > 1):
        raise ValueError("dedup=False explores a tree in one process")
    prep = _prepare(p, alphabet, max_backlog, max_limit, tuple(domains), reads, lazy)
    expander = Expander(p, prep, symmetry=symmetry, por=por)
    bar = Progress("explore", progress)
    started = time.monotonic()
    deadline = None if time_budget is None else started + time_budget

    h0 = prep.initial
    k0 = encode(h0, symmetry)[0]
    collected: set[Any] = set() if collect is None else {collect(h0)}
    found: dict[frozenset[str], Candidate] = {}
    initial_broken = [*prep.broken, *check_state(p, h0)]
    if initial_broken:
        found[frozenset(initial_broken)] = (0, b"", -1, -1, initial_broken)
    search: Shares
    if workers > 1:
        from .workers import WorkerShares

        search = WorkerShares(workers, expander, depth, collect)
    else:
        search = LocalShares(shares or 1, expander, depth, dedup, collect)
    layers = [1]
    transitions = 0
    depth_done = 0
    out_of_time = False
    # The search allocates millions of short-lived objects and makes no reference cycles
    # (states are trees of frozen values): the cyclic collector would only rescan them.
    collecting = gc.isenabled()
    gc.disable()
    try:
        search.add_root(k0)
        for d in range(1, depth + 1):
            stored = search.stored()
            rate = stored / max(time.monotonic() - started, 1e-9)
            note = f"depth {d}/{depth}, {stored:,} states, {rate:,.0f}/s"
            new, f, t, stopped, col = search.layer(d, deadline, bar, note)
            transitions += t
            collected.update(col)
            for fs, c in f.items():
                if fs not in found or better(c, found[fs]):
                    found[fs] = c
            if stopped:
                out_of_time = True
                break
            layers.append(new)
            depth_done = d
            if max_violations and len(found) >= max_violations:
                break
        bar.close()
        seconds = time.monotonic() - started
        distinct = search.stored()
        chosen = sorted(found.values(), key=lambda c: c[:3])[:max(max_violations, 1)]
        scripts: list[str] = []
        broken_sets: list[list[str]] = []
        lengths: list[int] = []
        options = f"--alphabet anchor --max-backlog {max_backlog}" if alphabet == "anchor" else ""
        for c in chosen:
            path = _actions(p, prep, search, expander, c, symmetry, depth)
            scripts.append(counterexample_script(p, path, c[4], depth, options))
            broken_sets.append(c[4])
            lengths.append(len(path))
    finally:
        search.close()
        if collecting:
            gc.enable()
    reductions = tuple(name for name, on in (("symmetry", symmetry), ("por", por),
                                             ("lazy", lazy)) if on)
    return ExploreResult(
        profile=p.name, depth=depth, depth_done=depth_done, distinct_states=distinct,
        transitions=transitions, seconds=seconds,
        states_per_second=distinct / seconds if seconds > 0 else 0.0,
        violations=scripts, broken=broken_sets, layers=tuple(layers),
        complete=not out_of_time and depth_done == depth, alphabet=prep.describe,
        states=frozenset(collected) if collect is not None else None,
        workers=workers, reductions=reductions, depths=tuple(lengths),
    )


#: the alphabets `explore(alphabet=...)` knows
ALPHABETS = ("full", "anchor")


def _prepare(p: Profile, alphabet: str, max_backlog: int, max_limit: int,
             domains: tuple[str, ...], reads: bool, lazy: bool) -> Prepared:
    if alphabet == "anchor":
        return prepare_anchor(p, max_backlog)
    a = Alphabet(p, max_backlog, max_limit, domains, reads)
    h0 = initial(p)
    moves = a.compile()
    if not lazy:
        return Prepared(h0, moves, a.describe())
    sockets, base = split(moves, moves(h0))
    return Prepared(h0, base, a.describe() + " (sockets made where first used)",
                    fresh=Fresh(p, sockets, base))


# --------------------------------------------------------------------------- counterexamples


def _actions(p: Profile, prep: Prepared, search: Shares, expander: Expander, c: Candidate,
             symmetry: bool, max_depth: int) -> list[Action]:
    """The calls of a counterexample, as actions on one concrete run from the initial state.

    The search stores keys, and moves as numbers in a decoded state's list of moves; this
    replays the path on a concrete state, renaming each move's descriptors from the decoded
    state's to the concrete one's (the two have the same key, so the renaming is an
    isomorphism), checks that every step lands on the stored key, and stops at the call that
    broke the invariants.
    """
    depth, _pk, last, gid, broken = c
    if depth == 0:
        return list(prep.prefix)
    chain: list[tuple[Key, int]] = []  # (key of a state, move taken from it)
    move = last
    while gid >= 0:
        key, parent, via = search.node(gid)
        chain.append((key, move))
        move, gid = via, parent
    chain.reverse()
    run = ModelRun(p, prep.initial)
    actions: list[Action] = list(prep.prefix)
    layer = 0  # the depth reached so far

    def call(a: Action) -> Outcome | None:
        actions.append(a)
        name, args = resolve_action(run, a)
        out, _ = run_call(p, run.state, name, args)
        if out is not None:
            run.state = out.state
        return out

    for n, (key, index) in enumerate(chain):
        ck, order = encode(run.state, symmetry)
        assert ck == key, "a counterexample replay left the stored path"
        decoded = decode(key, p, symmetry)
        rename = ({3 + j: fd for j, fd in enumerate(order)} if symmetry
                  else {fd: fd for fd in run.state.fds})
        final = n == len(chain) - 1
        moves = expander.moves(decoded)
        if index < len(moves):
            action, _call, args = moves[index]
            if isinstance(args, Composite):
                for step, out, got in args.steps(p, run.state):
                    actions.append(step[0])
                    if out is None or (final and frozenset(got) == frozenset(broken)):
                        return actions
                    run.state = out.state
                    if not args.unit:
                        layer += 1
                layer += 1 if args.unit else 0
            elif call(rename_action(action, rename)) is None:
                return actions
            else:
                layer += 1
            continue
        # a lazy move or leaf (listenspec.lazy): its sockets, then the call naming them
        fresh = expander.fresh
        assert fresh is not None
        events = fresh.events(decoded, max_depth - layer)
        kind, data = next(e for j, e in enumerate(events) if j == index - len(moves))
        domains = data[0] if kind == "leaf" else data.domains
        budget = depth - layer if final else max_depth
        made: list[int] = []
        for dom in domains:
            a = next(m[0] for m in fresh.sockets if m[0][1] == dom)
            out = call(a)
            layer += 1
            budget -= 1
            if out is None or budget == 0 or out.fd is None:
                return actions
            made.append(out.fd)
        if kind == "move":
            new = dict(zip(data.new, made, strict=True))
            inner = rename_action(data.move[0], {**rename, **new})
            if call(inner) is None:
                return actions
            layer += 1
    return actions
