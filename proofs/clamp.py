"""Property 1: the backlog clamp, for every 32-bit backlog and every accepted limit.

Evaluated in C's arithmetic: backlog and limit are 32-bit bit-vectors (signed comparisons where
the C code compares ints, unsigned ones where the rules say `u32`). Also: FreeBSD computes the
admission bound `3 * sol_qlimit / 2` in u_int; the sysctl's range (at most UINT_MAX/3) is what
keeps that from wrapping, and Z3 shows the wrap once the range check is gone.

    python -m listenspec.proofs.clamp
"""

from __future__ import annotations

import attrs
import z3

from listenspec.models.arith import Term, and_
from listenspec.models.profiles import INT_MAX, Profile
from listenspec.results import Err, Queue

from . import listener as L
from . import smt
from .listener import implies
from .property import Property, Verdict
from .ruleset import Rules
from .witness import Script, run, sysctl_line


def _claims(p: Profile, b: Term, limit: Term, q: Term, q2: Term) -> dict[str, Term]:
    """The clamp's sub-claims, for backlog b, limit, q = eff(b), q2 = eff(q): ints or terms."""
    negative_target = 0 if p.clamp == "zero-min" else limit  # 4.4BSD: `if (backlog < 0) = 0`
    return {
        "range": and_(q >= 0, q <= limit),
        "idempotent": q2 == q,
        "identity": implies(and_(b >= 0, b <= limit), q == b),
        "negatives": implies(b < 0, q == negative_target),
    }


def _limit_ok(p: Profile, r: Rules, limit: Term, hi: int | None = None) -> Term:
    """Accepted by the limit sysctl (or `hi` replacing its upper bound), or the fixed limit."""
    ss = L.limit_sysctls(p)
    if not ss:
        return limit == p.default("limit")
    return z3.Or(*[r.sysctl_accepts(s.lo, s.hi if hi is None else hi, limit) for s in ss])


def check_clamp(p: Profile, r: Rules) -> Verdict:
    b, limit = z3.BitVec("backlog", 32), z3.BitVec("limit", 32)
    q = r.effective_backlog(p, b, limit)
    q2 = r.effective_backlog(p, q, limit)
    hyps = [_limit_ok(p, r, limit)]
    smt.require_sat("an accepted limit", hyps)
    smt.require_sat("a backlog in [0, limit]", [*hyps, b >= 0, b <= limit])
    smt.require_sat("a negative backlog", [*hyps, b < 0])
    small_b = [b >= -2, b <= 8]
    hints = [[limit == p.default("limit"), *small_b], [limit >= -1, limit <= 8, *small_b], small_b]
    failed: dict[str, z3.ModelRef] = {}
    for name, claim in _claims(p, b, limit, q, q2).items():
        m = smt.refute(hyps, claim, hints)
        if m is not None:
            failed[name] = m
    if not failed:
        return Verdict("proved")
    name, m = next(iter(failed.items()))
    vals = smt.values(m, {"backlog": b, "limit": limit, "qlimit": q, "eff(qlimit)": q2})
    held = [n for n in _claims(p, 0, 0, 0, 0) if n not in failed]
    text = (f"{', '.join(failed)} fail{'s' if len(failed) == 1 else ''} "
            f"({', '.join(held) or 'none'} proved): {smt.show(vals)}")
    return _with_script(p, r, name, text, int(vals["backlog"]), int(vals["limit"]))


def _with_script(p: Profile, r: Rules, name: str, text: str, b: int, limit: int) -> Verdict:
    sc = Script()
    if limit != p.default("limit"):
        ss = L.limit_sysctls(p)
        if not ss:  # a fixed limit the rules were told to read otherwise
            return Verdict("counterexample", text)
        sc.add(sysctl_line(ss[0].name, limit))
    sc.add("s = socket(AF_INET, SOCK_STREAM)", f"listen(s, {b})", "netstat(s)")
    if not r.is_real:
        return Verdict("counterexample", f"{text}\n{sc.text()}\n# (rules injected: not run)")
    ran = run(p, sc, 1)
    first = ran.results[-1]
    assert isinstance(first, Queue)
    sc.add(f"listen(s, {first.maxqlen})", "netstat(s)")  # eff(eff(b)): re-listen with qlimit
    ran = run(p, sc, 1)
    q, q2 = (res.maxqlen for res in ran.results if isinstance(res, Queue))
    shown = not _claims(p, b, limit, q, q2)[name]
    status = "counterexample" if shown else "unconfirmed"
    return Verdict(status, f"{text}\n{ran.annotated}")


def _ideal(p: Profile) -> Profile:
    """The profile with its admission bound computed in unbounded integers."""
    return attrs.evolve(p, admit_u32=False)


def _wrap_query(p: Profile, r: Rules, hi: int | None) -> tuple[list[Term], Term, dict[str, Term]]:
    b, limit, qlen = z3.BitVec("backlog", 32), z3.BitVec("limit", 32), z3.BitVec("qlen", 32)
    q = r.effective_backlog(p, b, limit)
    u32 = r.admits(p, qlen, 0, q)
    # Unbounded arithmetic, exactly: u_int operands zero-extended to 64 bits, where 3 * q
    # (< 2^34) cannot wrap. (Z3 Int with BV2Int says the same but is far slower.)
    ideal = r.admits(_ideal(p), z3.ZeroExt(32, qlen), 0, z3.ZeroExt(32, q))
    hyps = [_limit_ok(p, r, limit, hi)]
    named = {"limit": limit, "backlog": b, "qlimit": q, "qlen": qlen, "admits(u_int)": u32,
             "admits(ideal)": ideal}
    return hyps, u32 == ideal, named


def check_no_wrap(p: Profile, r: Rules) -> Verdict:
    hyps, claim, _ = _wrap_query(p, r, None)
    smt.require_sat("an accepted limit", hyps)
    m = smt.refute(hyps, claim)
    if m is None:
        return Verdict("proved")
    return _wrap_counterexample(p, m, _wrap_query(p, r, None)[2])


def check_wrap_unchecked(p: Profile, r: Rules) -> Verdict:
    """The same claim with the sysctl's upper bound raised to INT_MAX (no UINT_MAX/3 check)."""
    hyps, claim, named = _wrap_query(p, r, INT_MAX)
    smt.require_sat("a limit up to INT_MAX", hyps)
    qlen, b = named["qlen"], named["backlog"]
    m = smt.refute(hyps, claim, [[b == -1, z3.ULE(qlen, 4)], [z3.ULE(qlen, 4)]])
    if m is None:
        return Verdict("proved")
    return _wrap_counterexample(p, m, named)


def _wrap_counterexample(p: Profile, m: z3.ModelRef, named: dict[str, Term]) -> Verdict:
    vals = smt.values(m, named)
    limit = int(vals["limit"])
    text = f"u_int and ideal admission differ: {smt.show(vals)}"
    ss = L.limit_sysctls(p)
    if ss:
        sc = Script()
        sc.add(sysctl_line(ss[0].name, limit))
        ran = run(p, sc, 1)
        refused = ran.results[0] == Err("EINVAL")
        text += (f"\nnot a run: the model's range check refuses the write ({ran.annotated.strip()})"
                 if refused else f"\nthe model accepts the write: {ran.annotated.strip()}")
    return Verdict("counterexample", text)


def _u32_three_halves(p: Profile) -> bool:
    return bool(p.admit_u32 and p.admit_base == "3q/2")


PROPERTIES = (
    Property("clamp", "for every 32-bit backlog and accepted limit: 0 <= eff <= limit, "
             "eff(eff(b)) = eff(b), eff(b) = b on [0, limit], negatives give the limit "
             "(0 on a zero-min clamp)", check_clamp,
             # DragonFly's kern.ipc.somaxconn is a plain SYSCTL_INT: a negative limit is accepted
             expected=lambda p: "counterexample" if L.qlimit_range(p)[0] < 0 else "proved"),
    Property("clamp-no-wrap", "admission computed in u_int (C) admits exactly what unbounded "
             "arithmetic admits, for every accepted limit", check_no_wrap,
             applies=lambda p: p.admit_u32),
    Property("clamp-wrap-unchecked", "the same without the sysctl's UINT_MAX/3 range check "
             "(limit up to INT_MAX): 3*qlimit/2 wraps", check_wrap_unchecked,
             applies=_u32_three_halves, expected=lambda p: "counterexample"),
)


if __name__ == "__main__":
    from .run import module_main

    raise SystemExit(module_main(PROPERTIES))
