"""An exhaustive bounded explorer of the model, and counterexample scripts.

`explore(profile, depth, max_backlog, max_limit)` enumerates every sequence of calls up to
`depth` over a small finite alphabet (below), breadth first, runs each through the model
(`listenspec.models.host`), checks every named invariant (`listenspec.models.invariants`) on
every transition, and deduplicates visited states. A state is deduplicated by `state_key`, a
canonical hashable projection of the `Host` up to renaming:

* socket, address and connection ids are renumbered by first appearance. The model only ever
  compares ids for equality (fresh ones come from `next_id`, above every id in use), so states
  that differ by a renaming behave identically;
* time is translated: the clock is left out and each listener's last-logged-overflow time is
  kept relative to it. The model reads the clock only as `now - lastover` (rules.ratecheck) and
  no call returns it, so shifting every time by the same amount changes nothing observable;
* descriptors are permuted among the descriptor numbers in use. The alphabet treats every open
  descriptor alike and the model allocates the lowest free number, which depends only on the
  *set* of numbers in use, so this too is an isomorphism. Descriptors are ordered by (a hash
  of) what their socket looks like, ties by number, which catches most symmetric states cheaply.

Equal keys therefore mean isomorphic states (the reduction is sound); isomorphic states may still
get different keys (it is not complete), which only costs time. The explorer keeps the first
concrete state it met for each key, so every path it reports is a real sequence of calls.

The alphabet, over the descriptors open in the state (all of them sockets):
  socket(D, SOCK_STREAM) for each domain D; bind(s); listen(s, b) for b in -1..max_backlog;
  connect(c, s) for every ordered pair; syn(s); accept(s); send(c, "x"); close(s);
  getsockopt(s, SO_ERROR) (it clears the pending error, so it changes the state);
  setsockopt(s, SO_ACCEPTFILTER, "dataready" / NULL) where the profile has accept filters;
  setsockopt(s, TCP_DEFER_ACCEPT, 1) where it has TCP_DEFER_ACCEPT;
  sysctl(<hard limit>, m) for m in lo..max_limit where a sysctl sets the hard limit;
  sleep(<overflow interval>) and syslog() where the profile logs overflows.
Pure reads (netstat, counter, the other getsockopts) cannot change the state; `reads=True` adds
them anyway, to check `refused-unchanged` and friends on them too.

A violation is reported as a script in the format (SCRIPT_FORMAT.md), runnable with
`listenspec run FILE --profile P`; `replay` re-checks such a script against the invariants.
This module also holds what the Hypothesis machines (machines.py) share with the explorer:
`CheckedRun` (a ModelRun that checks the invariants on every step and records the script) and
the counterexample file helpers.
"""

from __future__ import annotations

import argparse
import json
import operator
import sys
import time
from collections.abc import Callable, Iterable, Mapping
from datetime import datetime
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING, Any, TextIO

import attrs

from .errors import ListenspecError
from .models import host
from .models.host import Outcome
from .models.invariants import INVARIANTS, check_state, check_step
from .models.profiles import PROFILES, Profile, get
from .models.state import FILE, Host, Listener, Pending, Socket
from .runner import ModelRun
from .script import Call, Const, Name, Null, Step, format_call, parse

if TYPE_CHECKING:
    from .verify import StageResult

# --------------------------------------------------------------------------- checked runs


class CheckedRun:
    """A ModelRun that checks every invariant on every step and records the script it ran.

    Shared by the Hypothesis machines and the explorer's counterexample replay, so both judge a
    step the same way: `check_step` on (state before, call, resolved arguments, outcome).
    """

    def __init__(self, profile: Profile) -> None:
        self.profile = profile
        self.model = ModelRun(profile)
        self.steps: list[Step] = []
        self.broken: list[str] = []  # the invariants the last step broke
        self._counts: dict[str, int] = {}

    @property
    def state(self) -> Host:
        return self.model.state

    def fresh(self, prefix: str) -> str:
        """A NAME not used before in this run: s1, s2, ... (per prefix)."""
        n = self._counts.get(prefix, 0) + 1
        self._counts[prefix] = n
        return f"{prefix}{n}"

    def do(self, call: Call, bind: str | None = None) -> tuple[Outcome, Any, Host]:
        """Run one call; return (outcome, resolved arguments, state before).

        `self.broken` holds the invariants the step broke. A model exception propagates; the
        step is recorded first so the script up to it reproduces the exception.
        """
        step = Step(line=len(self.steps) + 1, text=format_call(call, bind), call=call, bind=bind)
        self.steps.append(step)
        # ModelRun.arguments resolves names exactly as ModelRun.step is about to.
        args = self.model.arguments(call)
        before = self.model.state
        outcome = self.model.step(step).outcome
        self.broken = check_step(self.profile, before, call.name, args, outcome)
        return outcome, args, before

    def script(self, header: Iterable[str] = (), last_comment: str = "") -> str:
        return render_script([s.text for s in self.steps], header, last_comment)


def render_script(lines: list[str], header: Iterable[str] = (), last_comment: str = "") -> str:
    out = [f"# {h}" if h else "#" for h in header]
    for i, text in enumerate(lines):
        out.append(f"{text}   # {last_comment}" if last_comment and i == len(lines) - 1
                   else text)
    return "\n".join(out) + "\n"


def describe(broken: Iterable[str]) -> list[str]:
    """Header lines naming each broken invariant and what it says."""
    return [f"breaks {name}: {INVARIANTS[name]}" if name in INVARIANTS else name
            for name in broken]


def replay(profile: str | Profile, text: str) -> list[tuple[int, list[str]]]:
    """Run a script under a profile, checking the invariants: (line, broken names) per bad step.

    A model exception is reported as the pseudo-invariant `model-error`.
    """
    p = get(profile) if isinstance(profile, str) else profile
    run = CheckedRun(p)
    bad: list[tuple[int, list[str]]] = []
    for step in parse(text, "<counterexample>").steps:
        try:
            args = run.model.arguments(step.call)
            before = run.model.state
            outcome = run.model.step(step).outcome
        except Exception as e:  # a model crash is a finding, not an error of replay
            bad.append((step.line, [f"model-error: {type(e).__name__}: {e}"]))
            break
        broken = check_step(p, before, step.call.name, args, outcome)
        if broken:
            bad.append((step.line, broken))
    return bad


def save_counterexample(text: str, profile: str, directory: str | Path,
                        origin: str = "") -> Path:
    """Write a counterexample script to DIR/<profile>[-origin]-<timestamp>.lsn; return its path."""
    d = Path(directory)
    d.mkdir(parents=True, exist_ok=True)
    stamp = datetime.now().strftime("%Y%m%d-%H%M%S-%f")
    stem = f"{profile}-{origin}-{stamp}" if origin else f"{profile}-{stamp}"
    path = d / f"{stem}.lsn"
    path.write_text(text, encoding="utf-8")
    return path


# --------------------------------------------------------------------------- the state key

#: Fields that hold ids (renamed in the key), structure (walked) or a time (translated). Every
#: other field of these classes is plain data and goes into the key as it is; a test checks
#: that each field of the model's classes is classified here or reviewed as plain, so a new
#: field holding an id cannot slip into the key unrenamed.
ID_FIELDS: dict[type, tuple[str, ...]] = {
    Socket: ("sid", "addr", "queued_on", "peer"),
    Listener: ("half_open",),  # half-open peers are stamps drawn from next_id
    Pending: ("conn", "client"),
    Host: ("fds", "socks", "addrs", "next_id"),
}
STRUCT_FIELDS: dict[type, tuple[str, ...]] = {Socket: ("listener",), Listener: ("comp", "incomp")}
TIME_FIELDS: dict[type, tuple[str, ...]] = {Listener: ("lastover",), Host: ("clock",)}


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
_host_plain = _getter(Host)


def _items(m: Mapping[Any, Any]) -> Iterable[tuple[Any, Any]]:
    # FMap inherits Mapping's generic (slow) items(); its dict is what we want to walk.
    d = getattr(m, "_d", None)
    return d.items() if isinstance(d, dict) else m.items()


def _shape(s: Socket, clock: int) -> tuple[Any, ...]:
    """What a socket looks like with every id left out (state_key adds the ids).

    The time of the last logged overflow is kept relative to the clock (see state_key).
    """
    lst = s.listener
    if lst is None:
        return (_socket_plain(s), None)
    return (_socket_plain(s), (
        _listener_plain(lst), tuple(map(_pending_plain, lst.comp)),
        tuple(map(_pending_plain, lst.incomp)), len(lst.half_open),
        None if lst.lastover is None else lst.lastover - clock,
    ))


_FILE_SHAPE = ("file",)


def state_key(h: Host, symmetry: bool = True) -> Any:
    """A canonical hashable projection of `h` up to renaming ids (and permuting descriptors).

    With symmetry=False descriptors keep their numbers (ids are still renamed).
    """
    socks = h.socks
    clock = h.clock
    rows: list[tuple[int, int, Any, Socket | None]] = []
    for fd, sid in _items(h.fds):
        if sid == FILE:
            rows.append((hash(_FILE_SHAPE), fd, _FILE_SHAPE, None))
        else:
            sock = socks[sid]
            shape = _shape(sock, clock)
            # Any fixed order of descriptors gives a sound key (the key spells out every
            # shape); ordering by the shape's hash makes symmetric states meet without
            # needing shapes (which hold None) to be comparable.
            rows.append((hash(shape) if symmetry else 0, fd, shape, sock))
    rows.sort()  # by (hash, fd): fds are distinct, so the rest is never compared
    # id -> label by first appearance; setdefault does the lookup-or-insert in one C call.
    label: dict[int | None, int] = {None: -1}
    lab = label.setdefault
    out: list[Any] = []
    for _, fd, shape, s in rows:
        if s is None:
            out.append(shape if symmetry else (fd, shape))
            continue
        refs = [lab(s.sid, len(label)), lab(s.addr, len(label)), lab(s.queued_on, len(label)),
                lab(s.peer, len(label))]
        lst = s.listener
        if lst is not None:
            for e in lst.comp:
                refs.append(lab(e.conn, len(label)))
                refs.append(lab(e.client, len(label)))
            for e in lst.incomp:
                refs.append(lab(e.conn, len(label)))
                refs.append(lab(e.client, len(label)))
            for x in lst.half_open:
                refs.append(lab(x, len(label)))
        out.append((shape, tuple(refs)) if symmetry else (fd, shape, tuple(refs)))
    orphans = [(sid, s) for sid, s in _items(socks) if sid not in label]
    if orphans:  # sockets no descriptor names (none in a healthy state): keep them too
        for sid, s in sorted(orphans, key=lambda kv: kv[0]):
            out.append(("orphan", _shape(s, clock), lab(sid, len(label)),
                        lab(s.addr, len(label))))
    addrs = tuple(sorted([(lab(a, len(label)), lab(sid, len(label)))
                          for a, sid in _items(h.addrs)]))
    fdset = tuple(sorted([r[1] for r in rows])) if symmetry else ()
    return (tuple(out), fdset, addrs, _host_plain(h))


# --------------------------------------------------------------------------- the alphabet

#: an action: the call name and its script-level arguments, descriptors as numbers
Action = tuple[Any, ...]
Move = tuple[Action, str, tuple[Any, ...]]  # (action, model call, model arguments)


@attrs.frozen
class Alphabet:
    """The calls the explorer tries in every state (see the module docstring)."""

    profile: Profile
    max_backlog: int = 2
    max_limit: int = 2
    domains: tuple[str, ...] = ("AF_INET",)
    reads: bool = False

    def describe(self) -> str:
        p = self.profile
        parts = [f"socket({'|'.join(self.domains)}, SOCK_STREAM)", "bind",
                 f"listen(-1..{self.max_backlog})", "connect", "syn", "accept", "send",
                 "close", "getsockopt(SO_ERROR)"]
        if p.accept_filters:
            parts.append("setsockopt(SO_ACCEPTFILTER, dataready|NULL)")
        if p.tcp_defer_accept:
            parts.append("setsockopt(TCP_DEFER_ACCEPT, 1)")
        lim = limit_sysctl(p)
        if lim is not None:
            parts.append(f"sysctl({lim[0]}, {lim[1]}..{self.max_limit})")
        if p.overflow_log:
            parts.append("sleep, syslog")
        if self.reads:
            parts.append("netstat, counter, getsockopt(*)")
        return ", ".join(parts)

    def compile(self) -> Callable[[Host], list[Move]]:
        """A function giving the moves of a state (static parts computed once)."""
        p = self.profile
        # The model arguments of a call are what the runner makes of it (with descriptors as
        # numbers), so the explorer runs exactly what its counterexample scripts say.
        resolve = ModelRun(p).arguments

        def move(a: Action) -> Move:
            return a, a[0], resolve(_call(a, _number))

        static = [move(("socket", d, "SOCK_STREAM")) for d in self.domains]
        lim = limit_sysctl(p)
        if lim is not None:
            static += [move(("sysctl", lim[0], m)) for m in range(lim[1], self.max_limit + 1)]
        if p.overflow_log:
            static += [move(("sleep", p.default("overinterval"))), move(("syslog",))]
        if self.reads:
            static += [move(("counter", c)) for c in p.counters]
        per_fd: dict[int, list[Move]] = {}

        def fd_moves(fd: int) -> list[Move]:
            acts: list[Action] = [("bind", fd)]
            acts += [("listen", fd, b) for b in range(-1, self.max_backlog + 1)]
            acts += [("accept", fd), ("send", fd, "x"), ("close", fd),
                     ("getsockopt", fd, "SO_ERROR")]
            if p.accept_filters:
                acts += [("setsockopt", fd, "SO_ACCEPTFILTER", "dataready"),
                         ("setsockopt", fd, "SO_ACCEPTFILTER", None)]
            if p.tcp_defer_accept:
                acts.append(("setsockopt", fd, "TCP_DEFER_ACCEPT", 1))
            if self.reads:
                acts.append(("netstat", fd))
                acts += [("getsockopt", fd, o) for o in ("SO_ACCEPTCONN", "SO_LISTENQLIMIT",
                                                         "SO_LISTENQLEN", "SO_LISTENINCQLEN")]
            return [move(a) for a in acts]

        def moves(h: Host) -> list[Move]:
            out = list(static)
            open_fds = [fd for fd, sid in _items(h.fds) if sid != FILE]
            # Targets are resolved by the runner itself, as for `syn(3)` in a script: the
            # explorer never restates how a descriptor becomes an address.
            resolver = ModelRun(p, h)
            for fd in open_fds:
                fm = per_fd.get(fd)
                if fm is None:
                    fm = per_fd[fd] = fd_moves(fd)
                out += fm
                t = resolver.arguments(Call("syn", (fd,)))[0]
                out.append((("syn", fd), "syn", (t,)))
                for c in open_fds:
                    if c != fd:
                        out.append((("connect", c, fd), "connect", (c, t)))
            return out

        return moves


def _number(fd: int) -> int:
    return fd


def limit_sysctl(p: Profile) -> tuple[str, int] | None:
    """The first (visible) sysctl that sets the hard limit, and the least value to try."""
    for s in p.sysctls:
        if s.key == "limit" and not s.hidden:
            return s.name, max(s.lo, 0)
    return None


# --------------------------------------------------------------------------- exploring


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


class _Progress:
    """A one-line progress bar on stderr, only when stderr is a terminal."""

    def __init__(self, enabled: bool | None, stream: TextIO = sys.stderr) -> None:
        self.stream = stream
        self.enabled = stream.isatty() if enabled is None else enabled
        self.last = 0.0

    def show(self, depth: int, total: int, done: int, todo: int, states: int,
             started: float) -> None:
        if not self.enabled:
            return
        now = time.monotonic()
        if now - self.last < 0.2:
            return
        self.last = now
        frac = done / todo if todo else 1.0
        bar = "#" * int(frac * 20)
        rate = states / max(now - started, 1e-9)
        self.stream.write(f"\rdepth {depth}/{total} [{bar:<20}] {states:,} states "
                          f"{rate:,.0f}/s ")
        self.stream.flush()

    def close(self) -> None:
        if self.enabled:
            self.stream.write("\r" + " " * 72 + "\r")
            self.stream.flush()


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
    bar = _Progress(progress)
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
                bar.show(d, depth, done, len(frontier), len(keys), started)
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


# --------------------------------------------------------------------------- actions as script


def _call(a: Action, desc: Callable[[int], Name | int]) -> Call:
    """The script call of an action, with descriptors written by `desc` (a NAME or a number)."""
    kind = a[0]
    if kind == "socket":
        return Call("socket", (Const(a[1]), Const(a[2])))
    if kind == "connect":
        return Call("connect", (desc(a[1]), desc(a[2])))
    if kind == "listen":
        return Call("listen", (desc(a[1]), a[2]))
    if kind == "setsockopt":
        return Call("setsockopt", (desc(a[1]), Const(a[2]), Null() if a[3] is None else a[3]))
    if kind == "getsockopt":
        return Call("getsockopt", (desc(a[1]), Const(a[2])))
    if kind == "send":
        return Call("send", (desc(a[1]), a[2]))
    if kind in ("bind", "close", "syn", "netstat", "accept"):
        return Call(kind, (desc(a[1]),))
    if kind == "sysctl":
        return Call("sysctl", (a[1], a[2]))
    if kind == "sleep":
        return Call("sleep", (Decimal(a[1]),))
    if kind == "counter":
        return Call("counter", (a[1],))
    return Call(kind, ())


def action_calls(p: Profile, path: list[Action]) -> list[tuple[Call, str | None]]:
    """The script lines of an action path: descriptors become the NAMEs the path bound them to.

    Replays the path through the runner. A NAME is used only where the runner resolves it to
    exactly what the explorer passed (a raw descriptor number); otherwise the number is
    written, so the script always means what the explorer ran.
    """
    run = CheckedRun(p)
    names: dict[int, str] = {}
    lines: list[tuple[Call, str | None]] = []
    for a in path:
        raw = _call(a, _number)
        named = _call(a, lambda fd: Name(names[fd]) if fd in names else fd)
        call = named if run.model.arguments(named) == run.model.arguments(raw) else raw
        bind = {"socket": "s", "accept": "a"}.get(a[0])
        bind = run.fresh(bind) if bind else None
        lines.append((call, bind))
        try:
            outcome, _, _ = run.do(call, bind)
        except Exception:
            break  # the model crashed on the last call: the script ends here
        if outcome.fd is not None and bind is not None:
            names[outcome.fd] = bind
    return lines


def counterexample_script(p: Profile, path: list[Action], broken: list[str],
                          depth: int | None = None) -> str:
    lines = [format_call(c, b) for c, b in action_calls(p, path)]
    origin = f"listenspec explore --profile {p.name}" + (f" --depth {depth}" if depth else "")
    header = [f"counterexample found by `{origin}`", *describe(broken),
              f"reproduce: listenspec run FILE --profile {p.name}", ""]
    return render_script(lines, header, "<- " + ", ".join(broken) if lines else "")


# --------------------------------------------------------------------------- CLI and verify


def _print_result(r: ExploreResult, out: TextIO) -> None:
    print(f"explore {r.profile}: depth {r.depth_done}/{r.depth}"
          f"{'' if r.complete else ' (stopped by the time budget)'}", file=out)
    print(f"alphabet: {r.alphabet}", file=out)
    print(f"distinct states:  {r.distinct_states}", file=out)
    print(f"transitions:      {r.transitions}", file=out)
    print(f"seconds:          {r.seconds:.2f}", file=out)
    print(f"states/s:         {r.states_per_second:,.0f}", file=out)
    print(f"new states per depth: {' '.join(map(str, r.layers))}", file=out)
    print(f"violations:       {len(r.violations)}", file=out)
    for script in r.violations:
        print("\n" + script, end="", file=out)


def _cmd(args: argparse.Namespace) -> int:
    if args.depth < 0 or args.max_backlog < -1 or args.max_limit < 0:
        raise ListenspecError("--depth, --max-backlog and --max-limit must be non-negative")
    r = explore(args.profile, args.depth, args.max_backlog, args.max_limit,
                domains=tuple(args.domain or ("AF_INET",)), reads=args.reads,
                symmetry=not args.no_symmetry, time_budget=args.time_budget,
                progress=None if not args.json else False)
    if args.save_dir:
        for script in r.violations:
            path = save_counterexample(script, r.profile, args.save_dir, "explore")
            print(f"saved {path}", file=sys.stderr)
    if args.json:
        print(json.dumps(r.json(), indent=1))
    else:
        _print_result(r, sys.stdout)
    return 1 if r.violations else 0


def register(sub: Any) -> None:
    """Add `listenspec explore` to an argparse subparsers object."""
    p = sub.add_parser("explore", help="exhaustive bounded exploration of the model")
    p.add_argument("--profile", required=True, choices=list(PROFILES), metavar="NAME",
                   help=f"one of: {', '.join(PROFILES)}")
    p.add_argument("--depth", type=int, default=8, help="longest call sequence (default 8)")
    p.add_argument("--max-backlog", type=int, default=2,
                   help="listen() backlogs tried: -1..B (default 2)")
    p.add_argument("--max-limit", type=int, default=2,
                   help="hard-limit sysctl values tried: lo..M (default 2)")
    p.add_argument("--domain", action="append", choices=["AF_INET", "AF_INET6", "AF_UNIX"],
                   help="socket domains in the alphabet (repeatable; default AF_INET)")
    p.add_argument("--reads", action="store_true", help="also try the pure reads")
    p.add_argument("--no-symmetry", action="store_true",
                   help="keep descriptor numbers in the state key")
    p.add_argument("--time-budget", type=float, default=None, metavar="SECONDS")
    p.add_argument("--save-dir", metavar="DIR", help="also save counterexamples here")
    p.add_argument("--json", action="store_true", help="print the figures as JSON")
    p.set_defaults(func=_cmd)


#: the depth and per-profile budget `listenspec verify` explores at (quick, full)
VERIFY_DEPTH = {True: 5, False: 7}
VERIFY_BUDGET = {True: 1.0, False: 4.5}  # seconds per profile; 8 profiles stay under 40 s


def verify_stage(quick: bool) -> StageResult:
    """The `listenspec verify` stage: a bounded exploration of every profile."""
    from .verify import StageResult

    lines: list[str] = []
    figures: dict[str, object] = {}
    ok = True
    for name in PROFILES:
        r = explore(name, VERIFY_DEPTH[quick], time_budget=VERIFY_BUDGET[quick], progress=False)
        ok = ok and not r.violations
        mark = "ok" if not r.violations else f"{len(r.violations)} VIOLATION(S)"
        lines.append(f"  {name:<12} depth {r.depth_done}/{r.depth}{'' if r.complete else '*'}"
                     f"  {r.distinct_states:>7} states  {r.transitions:>8} transitions  "
                     f"{r.states_per_second:>7,.0f} states/s  {mark}")
        lines.extend("    " + line for s in r.violations for line in s.splitlines())
        figures[name] = {k: v for k, v in r.json().items() if k != "violations"}
        figures[name]["violations"] = len(r.violations)  # type: ignore[index]
    if any(not f["complete"] for f in figures.values()):  # type: ignore[index]
        lines.append("  (* the time budget stopped the exploration before that depth)")
    return StageResult("explore", ok, tuple(lines), figures)
