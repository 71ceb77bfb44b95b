"""Models timed against each other each run in a process of its own, taking turns block by block."""

from __future__ import annotations

import operator
from functools import partial

import pytest

from models.apart import Apart, turns


def test_who_goes_first_alternates_from_block_to_block() -> None:
    assert [turns(2, b) for b in range(4)] == [[0, 1], [1, 0], [0, 1], [1, 0]]
    assert turns(3, 1) == [2, 1, 0]


def test_each_arm_answers_every_item_of_a_block_with_the_time_its_call_took() -> None:
    with Apart([partial(int, 10), partial(int, 3)], operator.mul, ["ten", "three"]) as arms:
        tens, threes = arms.run(0, [1, 2, 5]), arms.run(1, [1, 2])

    assert [out for _, out in tens] == [10, 20, 50] and [out for _, out in threes] == [3, 6]
    assert all(ms >= 0 for ms, _ in tens + threes)


def test_an_arm_that_cannot_build_its_model_is_named_in_the_error() -> None:
    with pytest.raises(RuntimeError, match="the process timing broken failed: ValueError"):
        Apart([partial(int, 1), partial(int, "not a number")], operator.mul, ["fine", "broken"])


def test_an_arm_whose_call_fails_is_named_and_the_others_go_on() -> None:
    with Apart([partial(int, 2), partial(int, 6)], operator.floordiv, ["two", "six"]) as arms:
        with pytest.raises(RuntimeError, match="the process timing two failed: ZeroDivisionError"):
            arms.run(0, [0])
        assert [out for _, out in arms.run(1, [3])] == [2]
