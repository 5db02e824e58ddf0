"""proofs.smt: the solver helpers the proofs and the counterexample search share."""

from __future__ import annotations

import z3

from listenspec.proofs import smt


def test_find_keeps_the_unhinted_model_when_no_hint_holds() -> None:
    # Issue 14.6: `prove` crashed with "model is not available" when every hint was unsat,
    # because the model was asked of the solver after its last (hinted, unsat) check.
    # (Z3 keeps the model after an unsat check it settles by simplification, as x > 5 with
    # x < 0; not after one that needs search, as here.)
    x, y = z3.Ints("x y")
    m = smt.find([x > 5, y > x], hints=[[y < 3], [y == 4]])
    assert m is not None
    assert smt.value(m, y) > smt.value(m, x) > 5


def test_find_prefers_the_first_hint_that_holds() -> None:
    x = z3.Int("x")
    m = smt.find([x > 5], hints=[[x < 0], [x == 7], [x == 9]])
    assert m is not None and smt.value(m, x) == 7


def test_find_and_refute_say_none_when_nothing_holds() -> None:
    x = z3.Int("x")
    assert smt.find([x > 5, x < 0], hints=[[x == 1]]) is None
    assert smt.refute([x > 5], x > 4) is None
