"""The small arithmetic interface the rules are written over.

Every rule in `rules.py` is a function of plain Python ints *or* Z3 terms (Int or 32-bit BitVec):
the runner calls it with ints, the proofs call the very same function with symbols. Operators
`+ - * < <= > >=` work on both as they are; what differs (if-then-else, boolean connectives,
unsigned division and comparison as C's `u_int` does them) goes through these helpers.

Z3 is imported lazily so the runner never pays for it.
"""

from __future__ import annotations

from typing import Any

#: An int, a bool, or a Z3 expression of either.
Term = Any

U32 = 2**32


def is_concrete(*xs: Term) -> bool:
    return all(isinstance(x, int) for x in xs)  # bool is an int subclass


def _z3() -> Any:
    import z3

    return z3


def _is_bv(x: Term) -> bool:
    return not isinstance(x, int) and _z3().is_bv(x)


def ite(cond: Term, then: Term, other: Term) -> Term:
    if isinstance(cond, bool):
        return then if cond else other
    return _z3().If(cond, then, other)


def and_(*xs: Term) -> Term:
    if all(isinstance(x, bool) for x in xs):
        return all(xs)
    return _z3().And(*xs)


def or_(*xs: Term) -> Term:
    if all(isinstance(x, bool) for x in xs):
        return any(xs)
    return _z3().Or(*xs)


def not_(x: Term) -> Term:
    if isinstance(x, bool):
        return not x
    return _z3().Not(x)


def min_(a: Term, b: Term) -> Term:
    return ite(a <= b, a, b)


def u32(x: Term) -> Term:
    """x reduced to C's `u_int` (mod 2^32): a no-op on a 32-bit BitVec."""
    if isinstance(x, int):
        return x % U32
    if _is_bv(x):
        return x
    return x % U32


def udiv(a: Term, b: int) -> Term:
    """a / b as C divides non-negative integers (truncation = floor for a >= 0)."""
    if isinstance(a, int):
        return a // b
    if _is_bv(a):
        return _z3().UDiv(a, b)
    return a / b  # Z3 Int division is floor division for a positive divisor


def ugt(a: Term, b: Term) -> Term:
    """a > b compared as C's unsigned int."""
    if is_concrete(a, b):
        return u32(a) > u32(b)
    if _is_bv(a) or _is_bv(b):
        return _z3().UGT(a, b)
    return u32(a) > u32(b)


def uge(a: Term, b: Term) -> Term:
    if is_concrete(a, b):
        return u32(a) >= u32(b)
    if _is_bv(a) or _is_bv(b):
        return _z3().UGE(a, b)
    return u32(a) >= u32(b)


def slt(a: Term, b: Term) -> Term:
    """a < b compared as C's signed int (signed BitVec comparison)."""
    return a < b  # Python ints, Z3 Ints and Z3 BitVecs all read `<` as signed
