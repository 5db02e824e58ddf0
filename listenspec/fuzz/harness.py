"""The fuzzing loop: draw inputs for one entry point, drive it, count how each ended.

Hypothesis only generates here (no shrinking, no database): a crash is counted and kept, not
raised, so that one bug does not hide the others, and the run always does the number of inputs
asked for. An input that takes more than HANG_SECONDS of CPU time is stopped (SIGPROF) and
counted as a hang, and so is one that takes more than WALL_SECONDS in all (SIGALRM: one that
blocks). CPU time, because the machines this runs on are shared: a busy neighbour makes an
input slower in wall time, not in the work it does.
"""

from __future__ import annotations

import signal
import time
from collections import Counter
from collections.abc import Callable
from types import FrameType
from typing import Any

import attrs
from hypothesis import HealthCheck, Phase, given, seed, settings

from .entries import Crash, entries

HANG_SECONDS = 5.0
WALL_SECONDS = 60.0
#: Inputs drawn by one Hypothesis run: it remembers every example it drew (to draw new ones),
#: which grew a 2,000-input run to 800 MB; fresh runs of this size, each with its own seed,
#: keep memory flat however many inputs are asked for.
BATCH = 500
KEPT = 20  # findings kept whole per kind, for reproducing them


class _Hang(BaseException):
    """The alarm went off: the input took longer than HANG_SECONDS."""


def _alarm(_signum: int, _frame: FrameType | None) -> None:
    raise _Hang


@attrs.frozen
class Finding:
    kind: str  # "crash" or "hang"
    what: str
    input: Any  # the drawn input, to reproduce it


@attrs.define
class Tally:
    entry: str
    inputs: int = 0
    ok: int = 0
    errors: int = 0  # clean errors: a FILE:LINE:COL message, or a usage error
    crashes: int = 0
    hangs: int = 0
    slowest: float = 0.0  # CPU seconds, the longest single input
    seconds: float = 0.0
    kinds: Counter[str] = attrs.field(factory=Counter)  # what crashed, by message
    findings: list[Finding] = attrs.field(factory=list)

    def record(self, verdict: str | Crash, spent: float, value: Any) -> None:
        self.inputs += 1
        self.slowest = max(self.slowest, spent)
        if verdict == "ok":
            self.ok += 1
        elif verdict == "error":
            self.errors += 1
        else:
            kind = "hang" if verdict == "hang" else "crash"
            what = (verdict.what if isinstance(verdict, Crash)
                    else f"over {HANG_SECONDS:g} s of CPU or {WALL_SECONDS:g} s in all")
            if kind == "hang":
                self.hangs += 1
            else:
                self.crashes += 1
            self.kinds[f"{kind}: {what[:120]}"] += 1
            if sum(f.kind == kind for f in self.findings) < KEPT:
                self.findings.append(Finding(kind, what, value))

    def as_dict(self) -> dict[str, Any]:
        return {"entry": self.entry, "inputs": self.inputs, "ok": self.ok, "errors": self.errors,
                "crashes": self.crashes, "hangs": self.hangs, "slowest": round(self.slowest, 3),
                "seconds": round(self.seconds, 1), "kinds": dict(self.kinds.most_common())}


def fuzz(entry: str, inputs: int, seed_value: int = 0,
         progress: Callable[[Tally], None] | None = None) -> Tally:
    """Drive one entry point with `inputs` drawn inputs; count how each ended."""
    chosen = entries()[entry]
    tally = Tally(entry)
    started = time.monotonic()
    previous = {s: signal.signal(s, _alarm) for s in (signal.SIGALRM, signal.SIGPROF)}

    def one(value: Any) -> None:
        t0 = time.process_time()
        signal.setitimer(signal.ITIMER_PROF, HANG_SECONDS)
        signal.setitimer(signal.ITIMER_REAL, WALL_SECONDS)
        try:
            verdict: str | Crash = chosen.run(value)
        except _Hang:
            verdict = "hang"
        except Exception as e:  # an exception is what the fuzzer looks for
            verdict = Crash(f"{type(e).__name__}: {str(e)[:200]}")
        finally:
            signal.setitimer(signal.ITIMER_PROF, 0)
            signal.setitimer(signal.ITIMER_REAL, 0)
        spent = time.process_time() - t0
        tally.record("hang" if spent > HANG_SECONDS else verdict, spent, value)
        if progress is not None:
            progress(tally)

    try:
        for batch in range(0, inputs, BATCH):
            size = min(BATCH, inputs - batch)
            run = seed(seed_value * 1_000_003 + batch)(
                settings(max_examples=size, phases=[Phase.generate], database=None,
                         deadline=None, suppress_health_check=list(HealthCheck))(
                    given(chosen.strategy)(one)))
            run()
    finally:
        signal.setitimer(signal.ITIMER_PROF, 0)
        signal.setitimer(signal.ITIMER_REAL, 0)
        for signum, handler in previous.items():
            signal.signal(signum, handler)
    tally.seconds = time.monotonic() - started
    return tally
