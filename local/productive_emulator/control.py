"""Test knobs of the emulator: rate limiting, injected faults and the request log."""

from __future__ import annotations

import math
import threading
from collections import deque
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from local.productive_emulator.store import Clock


class RateLimiter:
    """Sliding windows: requests per token (Productive: 100 per 10 s) and per organization
    (Productive: 4,000 per 30 min). Only requests that were let through count."""

    def __init__(self, clock: Clock) -> None:
        self.clock = clock
        self.enabled = True
        self.token_limit = 100
        self.token_window = 10.0
        self.org_limit = 4000
        self.org_window = 1800.0
        self._hits: dict[str, deque[float]] = {}
        self._lock = threading.Lock()

    def configure(
        self,
        *,
        requests: int,
        window_seconds: float,
        enabled: bool,
        organization_requests: int,
        organization_window_seconds: float,
    ) -> None:
        with self._lock:
            self.token_limit = requests
            self.token_window = window_seconds
            self.enabled = enabled
            self.org_limit = organization_requests
            self.org_window = organization_window_seconds
            self._hits.clear()

    def check(self, token: str, organization_id: str) -> tuple[int, int, float] | None:
        """None when allowed (and counted); else (reset_seconds, limit, period)."""
        if not self.enabled:
            return None
        now = self.clock.monotonic()
        with self._lock:
            windows = (
                (f"token:{token}", self.token_limit, self.token_window),
                (f"org:{organization_id}", self.org_limit, self.org_window),
            )
            for key, limit, window in windows:
                hits = self._hits.setdefault(key, deque())
                while hits and hits[0] <= now - window:
                    hits.popleft()
                if len(hits) >= limit:
                    reset = max(1, math.ceil(hits[0] + window - now))
                    return reset, limit, window
            for key, _, _ in windows:
                self._hits[key].append(now)
        return None


@dataclass
class Fault:
    remaining: int
    status: int | None = None
    delay_seconds: float = 0.0
    method: str | None = None
    path_contains: str | None = None
    reset_seconds: int = 1

    def matches(self, method: str, path: str) -> bool:
        if self.method and self.method.upper() != method.upper():
            return False
        return not (self.path_contains and self.path_contains not in path)


class Faults:
    """Injected failures: `fail_next(2, status=503)` answers the next two matching requests with
    503 before touching any state; `delay_next(1, seconds=3)` makes one request slow (for timeouts);
    `latency` delays every request."""

    def __init__(self) -> None:
        self._queue: list[Fault] = []
        self._lock = threading.Lock()
        self.latency_seconds = 0.0

    def fail_next(
        self,
        n: int = 1,
        status: int = 503,
        *,
        method: str | None = None,
        path_contains: str | None = None,
        reset_seconds: int = 1,
    ) -> None:
        with self._lock:
            self._queue.append(
                Fault(
                    remaining=n,
                    status=status,
                    method=method,
                    path_contains=path_contains,
                    reset_seconds=reset_seconds,
                )
            )

    def delay_next(
        self, n: int = 1, seconds: float = 1.0, *, method: str | None = None, path_contains: str | None = None
    ) -> None:
        with self._lock:
            self._queue.append(Fault(remaining=n, delay_seconds=seconds, method=method, path_contains=path_contains))

    def set_latency(self, seconds: float) -> None:
        """Delay every answer by ``seconds`` (0 switches it off); also ``--latency-ms`` at startup."""
        self.latency_seconds = max(0.0, float(seconds))

    def clear(self) -> None:
        with self._lock:
            self._queue.clear()
            self.latency_seconds = 0.0

    @property
    def pending(self) -> int:
        with self._lock:
            return sum(f.remaining for f in self._queue)

    def take(self, method: str, path: str) -> Fault | None:
        with self._lock:
            for fault in self._queue:
                if fault.remaining > 0 and fault.matches(method, path):
                    fault.remaining -= 1
                    self._queue = [f for f in self._queue if f.remaining > 0]
                    return fault
        return None


@dataclass(frozen=True)
class LoggedRequest:
    method: str
    path: str
    query: dict[str, str]
    status: int
    organization_id: str | None
    body: Any
    at: datetime
    duration_ms: float = 0.0
    headers: dict[str, str] = field(default_factory=dict)
