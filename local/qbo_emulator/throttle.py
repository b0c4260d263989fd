"""Intuit's published throttles: 500 requests/min per realm, 10 requests/s and 10 concurrent
requests per realm+app; a batch counts as one request there and also against the batch endpoint's
own 40/min per realm+app and 120/min per realm. Windows use the real monotonic clock, not the
emulated one."""

from __future__ import annotations

import threading
import time
from collections import deque
from dataclasses import dataclass


@dataclass
class Limits:
    per_minute: int = 500
    per_second: int = 10
    concurrent: int = 10
    batch_per_minute_app: int = 40  # per realm+app
    batch_per_minute_realm: int = 120


class Throttle:
    def __init__(self, limits: Limits | None = None) -> None:
        self.limits = limits or Limits()
        self.enabled = True
        self._lock = threading.Lock()
        self._minute: dict[str, deque[float]] = {}
        self._second: dict[tuple[str, str], deque[float]] = {}
        self._active: dict[tuple[str, str], int] = {}
        self._batch_app: dict[tuple[str, str], deque[float]] = {}
        self._batch_realm: dict[str, deque[float]] = {}

    def reset(self) -> None:
        with self._lock:
            self._minute.clear()
            self._second.clear()
            self._batch_app.clear()
            self._batch_realm.clear()

    def acquire_batch(self, realm_id: str, client_id: str) -> bool:
        """The extra batch-endpoint limits, checked on top of :meth:`acquire`."""
        now = time.monotonic()
        with self._lock:
            if not self.enabled:
                return True
            per_app = self._batch_app.setdefault((realm_id, client_id), deque())
            per_realm = self._batch_realm.setdefault(realm_id, deque())
            for window in (per_app, per_realm):
                while window and now - window[0] >= 60:
                    window.popleft()
            if len(per_app) >= self.limits.batch_per_minute_app or len(per_realm) >= self.limits.batch_per_minute_realm:
                return False
            per_app.append(now)
            per_realm.append(now)
            return True

    def acquire(self, realm_id: str, client_id: str) -> bool:
        """Admit a request (True) or refuse it (False). An admitted request must be released."""
        key = (realm_id, client_id)
        now = time.monotonic()
        with self._lock:
            if not self.enabled:
                self._active[key] = self._active.get(key, 0) + 1
                return True
            minute = self._minute.setdefault(realm_id, deque())
            second = self._second.setdefault(key, deque())
            while minute and now - minute[0] >= 60:
                minute.popleft()
            while second and now - second[0] >= 1:
                second.popleft()
            if (
                len(minute) >= self.limits.per_minute
                or len(second) >= self.limits.per_second
                or self._active.get(key, 0) >= self.limits.concurrent
            ):
                return False
            minute.append(now)
            second.append(now)
            self._active[key] = self._active.get(key, 0) + 1
            return True

    def active(self, realm_id: str, client_id: str) -> int:
        """The requests of this app to this company admitted and not yet answered."""
        with self._lock:
            return self._active.get((realm_id, client_id), 0)

    def release(self, realm_id: str, client_id: str) -> None:
        key = (realm_id, client_id)
        with self._lock:
            self._active[key] = max(0, self._active.get(key, 0) - 1)
