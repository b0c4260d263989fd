"""Faults a test can switch on: latency, 5xx answers, 429 bursts, and writes (API writes, token
requests) whose answer is lost. Of these only latency is also a startup setting (``--latency-ms``):
the others are one-shot counts aimed at particular requests of a test."""

from __future__ import annotations

import threading


class FaultInjector:
    """``emu.faults``. Counters apply to the next API requests (``/v3/...``), in arrival order."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._latency = 0.0
        self._fail: list[int] = []
        self._throttle = 0
        self._drop = 0
        self._token_fail: list[int] = []
        self._token_drop = 0

    def latency(self, seconds: float) -> None:
        """Delay every answer by ``seconds`` (0 switches it off): API answers while the request holds
        its concurrency slot, OAuth and the other endpoints just before the answer is sent."""
        with self._lock:
            self._latency = max(0.0, float(seconds))

    def fail_next(self, n: int = 1, status: int = 500) -> None:
        """Answer the next ``n`` API requests with a SystemFault of HTTP ``status`` (500 or 503)."""
        if status not in (500, 502, 503, 504):
            raise ValueError("status must be a 5xx code")
        with self._lock:
            self._fail.extend([status] * n)

    def throttle_next(self, n: int = 1) -> None:
        """Answer the next ``n`` API requests with HTTP 429 ThrottleExceeded."""
        with self._lock:
            self._throttle += n

    def commit_then_drop_next(self, n: int = 1) -> None:
        """Perform the next ``n`` writes (POSTs) but close the connection instead of answering."""
        with self._lock:
            self._drop += n

    def fail_next_token_requests(self, n: int = 1, status: int = 503) -> None:
        """Answer the next ``n`` requests to the OAuth token endpoint with HTTP ``status`` (an outage
        of Intuit's OAuth service; the request is not acted on)."""
        if status < 500:
            raise ValueError("status must be a 5xx code")
        with self._lock:
            self._token_fail.extend([status] * n)

    def commit_then_drop_next_token_requests(self, n: int = 1) -> None:
        """Act on the next ``n`` requests to the OAuth token endpoint (a refresh rotates the refresh
        token, a code is used up) but close the connection instead of answering: the client never
        learns the new tokens."""
        with self._lock:
            self._token_drop += n

    def reset(self) -> None:
        with self._lock:
            self._latency = 0.0
            self._fail.clear()
            self._token_fail.clear()
            self._throttle = 0
            self._drop = 0
            self._token_drop = 0

    def pending(self) -> dict[str, int | float]:
        """The knobs still set: what a test switched on and has not used up (empty when clean)."""
        with self._lock:
            knobs: dict[str, int | float] = {
                "latency": self._latency,
                "fail_next": len(self._fail),
                "throttle_next": self._throttle,
                "commit_then_drop_next": self._drop,
                "fail_next_token_requests": len(self._token_fail),
                "commit_then_drop_next_token_requests": self._token_drop,
            }
        return {name: value for name, value in knobs.items() if value}

    # --- used by the server -----------------------------------------------------------------------

    def current_latency(self) -> float:
        with self._lock:
            return self._latency

    def take_throttle(self) -> bool:
        with self._lock:
            if self._throttle > 0:
                self._throttle -= 1
                return True
            return False

    def take_failure(self) -> int | None:
        with self._lock:
            return self._fail.pop(0) if self._fail else None

    def take_token_failure(self) -> int | None:
        with self._lock:
            return self._token_fail.pop(0) if self._token_fail else None

    def take_drop(self) -> bool:
        with self._lock:
            if self._drop > 0:
                self._drop -= 1
                return True
            return False

    def take_token_drop(self) -> bool:
        with self._lock:
            if self._token_drop > 0:
                self._token_drop -= 1
                return True
            return False
