"""The edwards25519 constants the weak-key check uses are written out in
``authentic.py`` (computing them at import costs about 0.2 ms): they are the values the
formulas give, and the check still refuses every small-order point and accepts real keys."""

from __future__ import annotations

from pepperpy.bundle.keys import SigningKey
from pepperpy.trust import authentic

P = 2**255 - 19


def test_the_written_out_constants_are_the_computed_ones():
    assert authentic._P == P
    assert authentic._D == (-121665 * pow(121666, P - 2, P)) % P
    assert authentic._SQRT_M1 == pow(2, (P - 1) // 4, P)
    assert authentic._SQRT_M1 ** 2 % P == P - 1


def test_small_order_points_are_weak_and_real_keys_are_not():
    order_eight = 2707385501144840649318225287225658788936804267575313519463743609750303402022
    # y of the points of order 1, 2, 4 (x = +-sqrt(-1)) and 8, each with both signs of x
    for y in (1, P - 1, 0, order_eight, P - order_eight):
        for sign in (0, 1 << 255):
            if y in (1, P - 1) and sign:
                continue  # x = 0: a set sign bit is the non-canonical "negative zero"
            problem = authentic.weak_key_problem.__wrapped__((y | sign).to_bytes(32, "little"))
            assert problem is not None and "small-order" in problem, (y, sign, problem)
    for _ in range(5):
        assert authentic.weak_key_problem(SigningKey.generate().public_key.raw) is None
