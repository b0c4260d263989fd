"""Wall-clock time in UTC. Services receive a clock so tests can move time."""

from __future__ import annotations

from datetime import UTC, datetime


class SystemClock:
    def now(self) -> datetime:
        return datetime.now(UTC)
