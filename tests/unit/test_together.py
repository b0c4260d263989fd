"""together(): three calls at once, results in order, the first failure in argument order."""

from __future__ import annotations

import threading

import pytest

from qbosync.services.together import together


def test_the_three_calls_run_at_the_same_time_and_answer_in_order() -> None:
    # Each call waits until all three are running: run one after another, the barrier breaks.
    barrier = threading.Barrier(3, timeout=10)

    def call(value: str) -> str:
        barrier.wait()
        return value

    assert together(lambda: call("a"), lambda: call("b"), lambda: call("c")) == ("a", "b", "c")


def test_every_call_finishes_and_the_first_failure_in_argument_order_is_raised() -> None:
    finished: list[str] = []
    second_may_fail = threading.Event()

    def first() -> None:
        second_may_fail.wait(10)  # the second fails first in time, yet the first's error is raised
        finished.append("first")
        raise KeyError("first")

    def second() -> None:
        second_may_fail.set()
        finished.append("second")
        raise ValueError("second")

    def third() -> str:
        finished.append("third")
        return "third"

    with pytest.raises(KeyError):
        together(first, second, third)
    assert sorted(finished) == ["first", "second", "third"]


def test_a_failure_of_a_later_call_is_raised_when_the_first_succeeds() -> None:
    def fails() -> None:
        raise ValueError("third")

    with pytest.raises(ValueError, match="third"):
        together(lambda: 1, lambda: 2, fails)
