"""models/arith.py: the helpers the rules are written over give the same answer on Python ints,
on Z3 Ints and on 32-bit Z3 BitVecs, as C's int and u_int arithmetic does (the proofs run the
rules over the symbolic kinds, the model over ints; the mutation run's survivors of issue 14)."""

from __future__ import annotations

import itertools

import pytest
import z3

from listenspec.models import arith

VALUES = [0, 1, 2, 7, 2**31 - 1, 2**31, 2**32 - 1, -1, -(2**31)]


def _c_u32(x: int) -> int:
    return x & 0xFFFFFFFF


def _c_s32(x: int) -> int:
    x = _c_u32(x)
    return x - 2**32 if x >= 2**31 else x


def _eval(t: object) -> object:
    if isinstance(t, bool | int):
        return t
    v = z3.simplify(t)  # type: ignore[arg-type]
    if z3.is_true(v) or z3.is_false(v):
        return z3.is_true(v)
    if z3.is_bv_value(v):
        return v.as_long()
    assert z3.is_int_value(v), v
    return v.as_long()


def _kinds(x: int) -> list[object]:
    """x as the model holds it (an int), as a proof's Int and as its 32-bit BitVec."""
    return [x, z3.IntVal(x), z3.BitVecVal(_c_u32(x), 32)]


def test_u32_is_c_unsigned_int() -> None:
    assert arith.U32 == 2**32
    for x in [*VALUES, 2**32, 2**33 + 5]:
        assert arith.u32(x) == _c_u32(x)
        assert _eval(arith.u32(z3.IntVal(x))) == _c_u32(x)
        assert _eval(arith.u32(z3.BitVecVal(_c_u32(x), 32))) == _c_u32(x)


@pytest.mark.parametrize(("a", "b"), list(itertools.product(VALUES, VALUES)))
def test_unsigned_and_signed_comparisons_are_cs(a: int, b: int) -> None:
    for x, y in zip(_kinds(a), _kinds(b), strict=True):
        assert _eval(arith.ugt(x, y)) == (_c_u32(a) > _c_u32(b)), (x, y)
        assert _eval(arith.uge(x, y)) == (_c_u32(a) >= _c_u32(b)), (x, y)
    # mixed: a BitVec against a plain int constant, as a rule meets them
    bv = z3.BitVecVal(_c_u32(a), 32)
    assert _eval(arith.ugt(bv, _c_u32(b))) == (_c_u32(a) > _c_u32(b))
    assert _eval(arith.uge(_c_u32(b), bv)) == (_c_u32(b) >= _c_u32(a))
    # signed: ints and Ints as they are; BitVecs as C's int
    assert _eval(arith.slt(a, b)) == (a < b)
    assert _eval(arith.slt(z3.IntVal(a), z3.IntVal(b))) == (a < b)
    assert _eval(arith.slt(z3.BitVecVal(_c_u32(a), 32), z3.BitVecVal(_c_u32(b), 32))) == (
        _c_s32(a) < _c_s32(b))


def test_a_symbolic_int_is_not_a_bitvector() -> None:
    x = z3.Int("x")
    # u32 of an Int is reduced (a BitVec is already), and udiv of an Int is floor division
    assert _eval(z3.substitute(arith.u32(x), (x, z3.IntVal(2**32 + 3)))) == 3
    assert _eval(z3.substitute(arith.udiv(x, 4), (x, z3.IntVal(11)))) == 2
    assert _eval(arith.udiv(z3.BitVecVal(2**32 - 1, 32), 2)) == 2**31 - 1
    assert arith.udiv(11, 4) == 2
    assert not arith.is_concrete(x) and arith.is_concrete(1, True)
