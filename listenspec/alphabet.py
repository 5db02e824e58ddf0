"""The explorer's alphabet: the calls it tries in every state, derived from the declarations
(listenspec/calls.py: each call's `explore` samples), and actions as script lines.

An action is `(call, *arguments)` in script terms with descriptors as numbers: `("listen", 3,
1)`, `("connect", 4, 3)`, `("setsockopt", 3, "SO_ACCEPTFILTER", None)`. A call's descriptor
parameters are filled with every assignment of distinct open descriptors, its other parameters
with each of its samples. The model arguments of a move are what the runner makes of the
action's script call, so the explorer runs exactly what its counterexample scripts say.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterable, Mapping
from decimal import Decimal
from typing import Any

import attrs

from .calls import CALLS, KINDS, CallSpec, Kind, spec
from .calls import limit_sysctl as limit_sysctl
from .checked import CheckedRun, describe, render_script
from .models.profiles import Profile
from .models.state import FILE, Host
from .runner import ModelRun
from .script import Call, Const, Name, Null, format_call

#: an action: the call name and its script-level arguments, descriptors as numbers
Action = tuple[Any, ...]
#: (action, model call, model arguments), or (action, "", a composite.Composite move)
Move = tuple[Action, str, Any]


def _items(m: Mapping[Any, Any]) -> Iterable[tuple[Any, Any]]:
    # FMap inherits Mapping's generic (slow) items(); its dict is what we want to walk.
    d = getattr(m, "_d", None)
    return d.items() if isinstance(d, dict) else m.items()


@attrs.frozen
class _Entry:
    """A call of the alphabet: its parameter kinds, where its descriptors go, its samples."""

    spec: CallSpec
    kinds: tuple[Kind, ...]
    slots: tuple[int, ...]  # positions of descriptor parameters
    samples: tuple[tuple[Any, ...], ...]

    @property
    def targets(self) -> bool:
        return any(self.kinds[i].model == "target" for i in self.slots)

    def action(self, fds: tuple[int, ...], sample: tuple[Any, ...]) -> Action:
        it_fd, it_s = iter(fds), iter(sample)
        return (self.spec.name, *(next(it_fd) if i in self.slots else next(it_s)
                                  for i in range(len(self.kinds))))


@attrs.frozen
class Alphabet:
    """The calls the explorer tries in every state (module docstring)."""

    profile: Profile
    max_backlog: int = 2
    max_limit: int = 2
    domains: tuple[str, ...] = ("AF_INET",)
    reads: bool = False

    def entries(self) -> list[_Entry]:
        """One entry per call and argument form: a sample fills the first form whose
        non-descriptor parameters it has values for (bind(S) rather than bind(S, T))."""
        out = []
        for c in CALLS:
            samples = tuple(c.explore(self)) if c.explore is not None else ()
            by_form: dict[int, list[tuple[Any, ...]]] = {}
            for sample in samples:
                n = next(i for i, f in enumerate(c.forms)
                         if sum(KINDS[prm.kind].syntax != "desc" for prm in f) == len(sample))
                by_form.setdefault(n, []).append(sample)
            for n, group in by_form.items():
                kinds = tuple(KINDS[prm.kind] for prm in c.forms[n])
                slots = tuple(i for i, k in enumerate(kinds) if k.syntax == "desc")
                out.append(_Entry(c, kinds, slots, tuple(group)))
        return out

    def describe(self) -> str:
        parts = []
        for e in self.entries():
            labels = [k.label for k in e.kinds]
            shown = [", ".join("NULL" if v is None else str(v) for v in s) for s in e.samples]
            values = "" if shown == [""] else " " + "|".join(shown)
            parts.append(f"{e.spec.name}({', '.join(labels)}){values}")
        return "; ".join(parts)

    def compile(self) -> Callable[[Host], list[Move]]:
        """A function giving the moves of a state (the state-independent parts made once)."""
        p = self.profile
        resolve = Resolver(p)
        entries = self.entries()

        def move(a: Action) -> Move:
            call, args = resolve.static(a)
            return a, call, args

        static = [move(e.action((), s)) for e in entries if not e.slots for s in e.samples]
        per_fd = [e for e in entries if e.slots and not e.targets]
        aimed = [e for e in entries if e.targets]
        cache: dict[tuple[int, tuple[int, ...]], list[Move]] = {}

        def fd_moves(n: int, fds: tuple[int, ...]) -> list[Move]:
            got = cache.get((n, fds))
            if got is None:
                e = per_fd[n]
                got = cache[(n, fds)] = [move(e.action(fds, s)) for s in e.samples]
            return got

        def moves(h: Host) -> list[Move]:
            out = list(static)
            open_fds = [fd for fd, sid in _items(h.fds) if sid != FILE]
            for n, e in enumerate(per_fd):
                for fds in itertools.permutations(open_fds, len(e.slots)):
                    out += fd_moves(n, fds)
            if aimed:
                # a target is where the named socket is (or was) bound now: resolved by the
                # runner itself, as for `syn(3)` in a script, once per descriptor and state
                run = ModelRun(p, h)
                targets = {fd: run.convert("target", fd) for fd in open_fds}
                for e in aimed:
                    for fds in itertools.permutations(open_fds, len(e.slots)):
                        for s in e.samples:
                            a = e.action(fds, s)
                            out.append((a, *resolve.on(targets, a)))
            return out

        return moves


class Resolver:
    """The model call and arguments of actions, as the runner makes them of the actions'
    script calls (descriptors as numbers): made once per action, except a target, which is
    where the named socket is bound in the state at hand."""

    def __init__(self, profile: Profile) -> None:
        self.profile = profile
        self.base = ModelRun(profile)
        self.cache: dict[Action, tuple[str, tuple[Any, ...], int | None]] = {}

    def _template(self, a: Action) -> tuple[str, tuple[Any, ...], int | None]:
        got = self.cache.get(a)
        if got is None:
            _, target = fd_positions(a)
            # the target's place is filled by `on`: what base resolves it to is never used
            args = self.base.arguments(action_call(a, _number))
            got = self.cache[a] = (a[0], args, None if target is None else target - 1)
        return got

    def static(self, a: Action) -> tuple[str, tuple[Any, ...]]:
        """An action that has no target."""
        call, args, t = self._template(a)
        assert t is None, f"{a}: a target needs a state"
        return call, args

    def on(self, targets: Mapping[int, Any], a: Action) -> tuple[str, tuple[Any, ...]]:
        """An action, its target taken from `targets` (descriptor -> what it aims at)."""
        call, args, t = self._template(a)
        if t is None:
            return call, args
        return call, (*args[:t], targets[a[t + 1]], *args[t + 1:])

    def __call__(self, h: Host, a: Action) -> tuple[str, tuple[Any, ...]]:
        """An action on the state h."""
        call, args, t = self._template(a)
        if t is None:
            return call, args
        target = ModelRun(self.profile, h).convert("target", a[t + 1])
        return call, (*args[:t], target, *args[t + 1:])


def _number(fd: int) -> int:
    return fd


# --------------------------------------------------------------------------- prepared alphabets


@attrs.frozen
class Prepared:
    """What the explorer needs of an alphabet: the state it starts from (after `prefix`, calls
    that set it up, which broke the invariants `broken`), the moves of a state, and a line
    describing them."""

    initial: Host
    moves: Callable[[Host], list[Move]]
    describe: str
    prefix: tuple[Action, ...] = ()
    broken: tuple[str, ...] = ()
    fresh: Any = None  # with lazy socket creation: its lazy.Fresh (`moves` has no socket())


def fd_positions(a: Action) -> tuple[tuple[int, ...], int | None]:
    """Positions in an action tuple of the descriptors its call names, and of its target (the
    call's form of the action's arity: bind(S) has no target, bind(S, T) has one)."""
    got = _POSITIONS.get((a[0], len(a)))
    if got is None:
        got = _POSITIONS[(a[0], len(a))] = _positions(spec(a[0]), len(a) - 1)
    return got


def _positions(c: CallSpec, arity: int) -> tuple[tuple[int, ...], int | None]:
    form = next((f for f in c.forms if len(f) == arity), c.params)
    models = [KINDS[prm.kind].model for prm in form]
    fds = tuple(i + 1 for i, m in enumerate(models) if m == "fd")
    targets = [i + 1 for i, m in enumerate(models) if m == "target"]
    return fds, targets[0] if targets else None


_POSITIONS: dict[tuple[str, int], tuple[tuple[int, ...], int | None]] = {}


def rename_action(a: Action, fds: Mapping[int, int]) -> Action:
    """The action with its descriptors renamed by `fds`."""
    at, target = fd_positions(a)
    if not at and target is None:
        return a
    out = list(a)
    for j in at:
        out[j] = fds[out[j]]
    if target is not None:
        out[target] = fds[out[target]]
    return tuple(out)


def resolve_action(run: ModelRun, a: Action) -> tuple[str, tuple[Any, ...]]:
    """The model call and arguments of an action on the run's state (as the runner makes them
    of the action's script call, descriptors as numbers)."""
    return a[0], run.arguments(action_call(a, _number))


# --------------------------------------------------------------------------- actions as script


def action_call(a: Action, desc: Callable[[int], Name | int]) -> Call:
    """The script call of an action, with descriptors written by `desc` (a NAME or a number)."""
    c = spec(a[0])
    form = next(f for f in c.forms if len(f) == len(a) - 1)
    args: list[Any] = []
    for prm, v in zip(form, a[1:], strict=True):
        k = KINDS[prm.kind]
        if k.syntax == "desc":
            args.append(desc(v))
        elif k.syntax == "const":
            args.append(Const(v))
        elif k.syntax == "optval" and v is None:
            args.append(Null())
        elif k.syntax == "num":
            args.append(Decimal(v))
        else:
            args.append(v)
    return Call(a[0], tuple(args))


#: the NAME prefix a descriptor-returning call's result is bound to in a counterexample
_BIND_PREFIX = {"socket": "s", "accept": "a", "open": "f"}


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
        raw = action_call(a, _number)
        named = action_call(a, lambda fd: Name(names[fd]) if fd in names else fd)
        call = named if run.model.arguments(named) == run.model.arguments(raw) else raw
        bind = run.fresh(_BIND_PREFIX.get(a[0], a[0][0])) if spec(a[0]).new_fd else None
        lines.append((call, bind))
        try:
            outcome, _, _ = run.do(call, bind)
        except Exception:
            break  # the model crashed on the last call: the script ends here
        if outcome.fd is not None and bind is not None:
            names[outcome.fd] = bind
    return lines


def counterexample_script(p: Profile, path: list[Action], broken: list[str],
                          depth: int | None = None, options: str = "") -> str:
    lines = [format_call(c, b) for c, b in action_calls(p, path)]
    origin = (f"listenspec explore --profile {p.name}" + (f" --depth {depth}" if depth else "")
              + (f" {options}" if options else ""))
    header = [f"counterexample found by `{origin}`", *describe(broken),
              f"reproduce: listenspec run FILE --profile {p.name}", ""]
    return render_script(lines, header, "<- " + ", ".join(broken) if lines else "")
