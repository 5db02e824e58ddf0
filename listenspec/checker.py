"""The checker: does a profile allow a trace, and where does it first differ?

`check(trace, profile)` is the public entry point (also `listenspec.check`); a trace comes from
`listenspec.parse(text, file, trace=True)`. docs/format.md shows both at work.
"""

from __future__ import annotations

import attrs

from .models.profiles import Profile, get
from .results import NewFd, Result, Ret, Unsupported, matches
from .runner import ModelRun
from .script import Script, Step
from .worlds import branches


@attrs.frozen
class Verdict:
    """The checker's judgement of one trace line."""

    step: Step  #: the trace line (its number, its call text, its position)
    expected: Result  #: what the profile gives (the way that matched, else the first way)
    actual: Result  #: what the trace says
    ok: bool  #: the profile allows the line
    skipped: bool = False  #: the trace's executor did not perform the call: nothing compared
    #: no way the checker kept explains the line, but it left ways out above (MAX_WORLDS), one
    #: of which might: the line is not judged (not ok, and not a difference either); why
    undecided: str | None = None


def allows(model: Result, trace: Result) -> bool:
    """Does a trace's result agree with one the model gives? As `results.matches` (log lines'
    `<...>` placeholders match any text), and a stack's harness may print the descriptor
    number itself (`= 3`) where the format writes `fd`."""
    if isinstance(model, NewFd) and isinstance(trace, Ret):
        return trace.value >= 0
    return matches(model, trace)


#: the most ways of reading a trace the checker keeps at once (each a possible model state).
#: Each SO_REUSEPORT group a connection may reach doubles them; a conformance script of 25 steps
#: reaches 2**7 (`listenspec conform --examples 400 --seed 7`). A line no kept way explains,
#: after ways were left out, is undecided rather than a difference: a left-out way might
#: explain it.
MAX_WORLDS = 1024


def check(trace: Script, profile: Profile | str, *, keep_going: bool = False,
          share: bool = True, audit: bool = False) -> list[Verdict]:
    """Replay the trace's calls on the model; one Verdict per line, up to and including the
    first line the profile does not allow (with keep_going, every line).

    Where the system may answer a call several ways (which SO_REUSEPORT listener a connection
    reaches), every way whose result matches the trace is followed, so a later line can tell
    them apart; a line is allowed if any way explains it. A line whose result is
    `unsupported(...)` (its executor could not make the call) is neither run on the model nor
    compared; it is marked skipped.

    keep_going: after a line no way explains, go on from every way the profile allows at that
    line (the model cannot take the trace's own result there, since no state of it gives
    that); a NAME the line binds is bound as the model bound it. A later line is therefore
    judged as if the trace had shown what the profile allows at each earlier difference: a
    difference after the first may be a consequence of it.

    share: a line that does the same in several ways is computed once and carried to the
    others (`worlds.branches`); the verdicts are the same without it. audit: compute it in
    every way as well and raise AssertionError where the two differ (for tests).
    """
    if isinstance(profile, str):
        profile = get(profile)
    worlds = [ModelRun(profile)]
    verdicts: list[Verdict] = []
    left_out: tuple[int, int] | None = None  # the first line ways were left out at, and how many
    for step in trace.steps:
        assert step.expected is not None, "check() takes a parsed trace"
        if isinstance(step.expected, Unsupported):
            for w in worlds:
                w.skip(step)  # not performed there, so not here either
            verdicts.append(Verdict(step, step.expected, step.expected, True, skipped=True))
            continue
        first: Result | None = None
        matched: Result | None = None
        kept: list[ModelRun] = []
        every: list[ModelRun] = []
        for ways in branches(worlds, step, share=share, audit=audit):
            for executed, run in ways:
                if first is None:
                    first = executed.result
                every.append(run)
                if allows(executed.result, step.expected):
                    matched = matched or executed.result
                    kept.append(run)
        assert first is not None
        ok = bool(kept)
        undecided = None if ok or left_out is None else _undecided(*left_out)
        verdicts.append(Verdict(step, matched if matched is not None else first, step.expected,
                                ok, undecided=undecided))
        if not ok and not keep_going:
            break
        grew = len(kept if ok else every) > len(worlds)
        worlds = kept if ok else every
        if grew or len(worlds) > MAX_WORLDS:
            # Merged after a line that forked them, or before any are left out. Two ways that
            # meet after a line that did not fork (both lost the connection they disagreed
            # on) are merged at the next of those: until then they cost time, never a
            # verdict (equal ways give equal results).
            worlds = _distinct(worlds)
        if len(worlds) > MAX_WORLDS:
            if left_out is None:
                left_out = (step.line, len(worlds) - MAX_WORLDS)
            worlds = worlds[:MAX_WORLDS]
    return verdicts


def _undecided(line: int, dropped: int) -> str:
    return (f"no way of reading the trace the checker kept explains this line, but at line "
            f"{line} it left out {dropped} of them (it follows at most {MAX_WORLDS} at once, "
            f"docs/cli.md#undecided): one of those might")


def _distinct(runs: list[ModelRun]) -> list[ModelRun]:
    if len(runs) < 2:  # the usual case: hashing a whole host state costs more than the call
        return runs
    # by state first (its hash is cached); the names are compared only among equal states
    seen: dict[object, list[ModelRun]] = {}
    out = []
    for r in runs:
        same = seen.setdefault(r.state, [])
        if any(_names(r) == _names(o) for o in same):
            continue
        same.append(r)
        out.append(r)
    return out


def _names(r: ModelRun) -> tuple[object, ...]:
    return tuple(sorted((k, b.fd, b.sid, b.target) for k, b in r.names.items()))
