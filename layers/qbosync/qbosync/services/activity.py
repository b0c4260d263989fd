"""The activity log as services use it (docs/architecture.md "Activity log"): an entry written on its
own must never fail (or repeat) the copy, payment or connection change it records, so a failure to
write one is logged and counted, not raised. Entries written inside another write (a finished copy,
a payment mapping, a copy job's item) share that write's fate instead."""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime

from qbosync.domain.activity import Activity, ActivityKind, ActivityLog, ActivityPage
from qbosync.domain.connection import existing
from qbosync.domain.ports import ConnectionRepository

logger = logging.getLogger(__name__)


class QuietActivityLog:
    """An ActivityLog whose `record` never raises. `on_failure` counts a failure (wiring: a metric);
    `failures` counts them for this process too. Reads raise as the log underneath does."""

    def __init__(self, log: ActivityLog, on_failure: Callable[[Activity], None] | None = None) -> None:
        self._log = log
        self._on_failure = on_failure
        self.failures = 0

    def record(self, activity: Activity) -> None:
        try:
            self._log.record(activity)
        except Exception as error:
            self.failures += 1
            logger.warning(
                "activity entry not written",
                extra={
                    "connection_id": activity.connection_id,
                    "activity_kind": activity.kind,
                    "error_class": type(error).__name__,
                },
            )
            if self._on_failure is not None:
                try:
                    self._on_failure(activity)
                except Exception:  # counting is best effort too
                    logger.warning("activity failure not counted", exc_info=True)

    def page(
        self,
        connection_id: str,
        *,
        invoice_id: str | None = None,
        kind: ActivityKind | None = None,
        limit: int = 50,
        cursor: str | None = None,
    ) -> ActivityPage:
        return self._log.page(connection_id, invoice_id=invoice_id, kind=kind, limit=limit, cursor=cursor)

    def count_since(self, connection_id: str, kind: ActivityKind, since: datetime) -> int:
        return self._log.count_since(connection_id, kind, since)


class ActivityService:
    """The activity route: one connection's entries (or one invoice's), newest first, a page at a time."""

    def __init__(self, *, connections: ConnectionRepository, log: ActivityLog) -> None:
        self._connections = connections
        self._log = log

    def page(
        self,
        connection_id: str,
        *,
        invoice_id: str | None = None,
        kind: ActivityKind | None = None,
        limit: int = 50,
        cursor: str | None = None,
    ) -> ActivityPage:
        existing(self._connections.get(connection_id))
        return self._log.page(connection_id, invoice_id=invoice_id, kind=kind, limit=limit, cursor=cursor)
