"""Emulated time.

The emulator never reads the wall clock directly: everything that expires (authorization codes,
access and refresh tokens) or is timestamped (MetaData, CDC) asks this clock. By default it follows
real time; tests move it forward with :meth:`Clock.advance` or pin it with :meth:`Clock.freeze`.

Each company (realm) has a time zone (US Pacific unless set, see :func:`zone`): QuickBooks dates
(``TxnDate``, ``DueDate``) are calendar dates in that zone, and timestamps are rendered in it.
"""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta, tzinfo
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

DEFAULT_ZONE = "America/Los_Angeles"


def pacific() -> tzinfo:
    """QBO renders timestamps in US Pacific time (e.g. ``2026-07-01T10:00:00-07:00``)."""
    try:
        return ZoneInfo(DEFAULT_ZONE)
    except ZoneInfoNotFoundError:  # pragma: no cover - machines without a tz database
        return UTC


def zone(name: str | tzinfo | None) -> tzinfo:
    """A company time zone from an IANA name (``Pacific/Kiritimati``); None or "" is US Pacific.
    Raises ValueError for a name the tz database does not know."""
    if isinstance(name, tzinfo):
        return name
    if not name:
        return pacific()
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError, OSError) as error:  # "Pacific" is a directory of the tz database
        raise ValueError(f"unknown time zone {name!r}: give an IANA name such as Pacific/Kiritimati") from error


def zone_name(tz: tzinfo) -> str:
    """The IANA name of a zone made by :func:`zone` (e.g. for a banner)."""
    return str(getattr(tz, "key", None) or tz)


class Clock:
    """UTC-aware emulated clock: real time plus an offset, or a frozen instant."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._offset = timedelta()
        self._frozen: datetime | None = None

    def now(self) -> datetime:
        with self._lock:
            if self._frozen is not None:
                return self._frozen
            return datetime.now(UTC) + self._offset

    def advance(self, seconds: float) -> datetime:
        """Move emulated time forward (or back, with a negative value); returns the new now()."""
        with self._lock:
            delta = timedelta(seconds=seconds)
            if self._frozen is not None:
                self._frozen += delta
            else:
                self._offset += delta
        return self.now()

    def freeze(self, at: datetime | None = None) -> datetime:
        """Stop the clock at ``at`` (default: the current emulated time)."""
        instant = at if at is not None else self.now()
        if instant.tzinfo is None:
            raise ValueError("freeze() needs a timezone-aware datetime")
        with self._lock:
            self._frozen = instant.astimezone(UTC)
        return instant

    def unfreeze(self) -> None:
        """Resume following real time from the frozen instant."""
        with self._lock:
            if self._frozen is not None:
                self._offset = self._frozen - datetime.now(UTC)
                self._frozen = None


def qbo_time(moment: datetime, tz: tzinfo | None = None) -> str:
    """Render like QBO's MetaData: ``2026-07-01T10:00:00-07:00`` (local company time, seconds)."""
    local = moment.astimezone(tz or pacific())
    return local.replace(microsecond=0).isoformat()


def qbo_fault_time(moment: datetime, tz: tzinfo | None = None) -> str:
    """Render like the ``time`` field of responses: ``2026-07-01T10:00:00.123-07:00``."""
    local = moment.astimezone(tz or pacific())
    return local.isoformat(timespec="milliseconds")


def parse_qbo_datetime(text: str, tz: tzinfo | None = None) -> datetime | None:
    """Parse a QBO date or date-time literal; naive values are taken in company time."""
    value = text.strip()
    if not value:
        return None
    if value.endswith("Z"):
        value = value[:-1] + "+00:00"
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        return None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=tz or pacific())
    return parsed
