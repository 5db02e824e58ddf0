"""Hypothesis strategies for any declared call's arguments, by kind (listenspec/calls.py).

The machines and the conformance generator have hand-tuned rules for the calls they know; a
call declared later gets a rule from these strategies without anyone writing one, so a new call
is exercised from the day it is declared.
"""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal
from typing import Any

from hypothesis import strategies as st

from .calls import KINDS, CallSpec
from .models.profiles import Profile
from .script import Call, Const, Name, Null

BACKLOGS = (-2147483648, -1, 0, 1, 2, 3, 5, 2147483647)
VALUES = (-1, 0, 1, 2, 3, 60, 4096, 2147483647)
SECONDS = (Decimal("0.1"), Decimal(1), Decimal(60), Decimal(61))
DATA = ("x", "", "GET / HTTP/1.0\r\n\r\n", "\x00")


def value_strategy(kind: str, p: Profile) -> st.SearchStrategy[Any]:
    """Script-level values (an int, a str, a constant's name, None for NULL) for a
    non-descriptor parameter of this kind under profile p."""
    k = KINDS[kind]
    if k.syntax == "const":
        return st.sampled_from(k.group)
    if kind == "backlog":
        return st.sampled_from(BACKLOGS)
    if kind == "seconds":
        return st.sampled_from(SECONDS)
    if kind == "data":
        return st.sampled_from(DATA)
    if kind == "sysctl":
        return st.sampled_from([*(s.name for s in p.sysctls), "kern.nonesuch"])
    if kind == "counter":
        return st.sampled_from([*p.counters, "nonesuch"])
    if kind == "optval":
        return st.one_of(st.none(), st.sampled_from(VALUES), st.sampled_from(("dataready", "z")))
    return st.sampled_from(VALUES)


def draw_call(draw: Any, c: CallSpec, p: Profile, names: Sequence[str]) -> Call | None:
    """A call of `c` with its descriptors drawn from `names` (None if it needs one and there
    is none) and its other arguments by kind."""
    form = draw(st.sampled_from(c.forms))
    args: list[Any] = []
    for prm in form:
        k = KINDS[prm.kind]
        if k.syntax == "desc":
            if not names:
                return None
            args.append(Name(draw(st.sampled_from(list(names)))))
            continue
        v = draw(value_strategy(prm.kind, p))
        if k.syntax == "const":
            v = Const(v)
        elif k.syntax == "optval" and v is None:
            v = Null()
        args.append(v)
    return Call(c.name, tuple(args))
