"""Remote calls that do not depend on each other, made at the same time (docs/architecture.md "Copy":
a copy waits only on the calls that truly depend on each other)."""

from __future__ import annotations

import contextvars
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar

A = TypeVar("A")
B = TypeVar("B")
C = TypeVar("C")


def together(first: Callable[[], A], second: Callable[[], B], third: Callable[[], C]) -> tuple[A, B, C]:
    """Run the three calls at once and return their results in order. Every call runs to its end, then the
    first failure in argument order is raised, so what the caller sees does not depend on timing."""
    calls: tuple[Callable[[], Any], ...] = (first, second, third)
    with ThreadPoolExecutor(max_workers=len(calls) - 1) as pool:
        # Each thread sees the caller's context (its log keys and correlation id).
        futures = [pool.submit(contextvars.copy_context().run, call) for call in calls[1:]]
        outcomes: list[tuple[Any, BaseException | None]] = [_outcome(calls[0])]
        outcomes.extend(_outcome(future.result) for future in futures)
    for _, error in outcomes:
        if error is not None:
            raise error
    return outcomes[0][0], outcomes[1][0], outcomes[2][0]


def _outcome(call: Callable[[], Any]) -> tuple[Any, BaseException | None]:
    try:
        return call(), None
    except Exception as error:
        return None, error
