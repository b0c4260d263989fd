"""Reconnect warnings (docs/architecture.md "Connection health"): run by the hourly token refresh job
after its refreshes. It looks at every connected connection whose refresh token reaches its 5-year hard
expiry within 30 days (an index on that date, refresh due or not) and at every connection that became
needs_reconnect and was not warned about yet, and tells Productive's backend once per warning.

Each warning is claimed in the ledger before it is sent (so a rerun, or a second run at the same time,
never sends it twice), marked sent after, and recorded in the activity log; a send that fails after the
notifier's retries is released for the next run. Without a notifier (no NOTIFY_URL) the due warnings are
only reported, and stay due."""

from __future__ import annotations

import logging
import uuid
from dataclasses import dataclass, field
from datetime import timedelta

from qbosync.domain.activity import Activity, ActivityLog
from qbosync.domain.health import (
    RECONNECT_SOON_DAYS,
    NotificationFailed,
    ReconnectNotifier,
    ReconnectWarning,
    ReconnectWarningLedger,
    hard_expiry_warning,
    needs_reconnect_warning,
)
from qbosync.domain.ports import Clock, ConnectionRepository

logger = logging.getLogger(__name__)

# Longer than one send with its retries (adapters/notify.py): a claim outlives the run that took it.
CLAIM_LEASE = timedelta(minutes=5)
MAX_CONNECTIONS_PER_RUN = 1000


@dataclass
class WarningReport:
    sent: list[ReconnectWarning] = field(default_factory=list)
    #: Due but not delivered: the notifier failed (or an earlier send of this run did); tried next run.
    failed: list[ReconnectWarning] = field(default_factory=list)
    #: Due, and no notifier is configured (NOTIFY_URL unset).
    unsent: list[ReconnectWarning] = field(default_factory=list)


class ReconnectWarningService:
    def __init__(
        self,
        *,
        connections: ConnectionRepository,
        ledger: ReconnectWarningLedger,
        notifier: ReconnectNotifier | None,
        activity: ActivityLog,
        clock: Clock,
    ):
        self._connections = connections
        self._ledger = ledger
        self._notifier = notifier
        self._activity = activity
        self._clock = clock

    def run(self) -> WarningReport:
        report = WarningReport()
        for warning in self._due():
            if self._notifier is None:
                report.unsent.append(warning)
            elif report.failed:
                # The receiver failed this run already: the rest waits for the next run rather than
                # spending the run's time on retries that will fail the same way.
                report.failed.append(warning)
            else:
                self._deliver(warning, self._notifier, report)
        return report

    def _due(self) -> list[ReconnectWarning]:
        """The warnings due now, needs_reconnect first (the connection is broken already)."""
        now = self._clock.now()
        due: list[ReconnectWarning] = []
        for connection_id, since in self._ledger.awaiting_reconnect_warning(MAX_CONNECTIONS_PER_RUN):
            connection = self._connections.get(connection_id)
            warning = needs_reconnect_warning(connection, since) if connection else None
            if warning is not None:
                due.append(warning)
            else:  # reconnected or gone meanwhile: nothing to warn about
                self._ledger.reconnect_warning_done(connection_id, since)
        horizon = now + timedelta(days=RECONNECT_SOON_DAYS)
        for connection_id in self._ledger.nearing_hard_expiry(now, horizon, MAX_CONNECTIONS_PER_RUN):
            connection = self._connections.get(connection_id)
            warning = hard_expiry_warning(connection, now) if connection else None
            if warning is not None:
                due.append(warning)
        return due

    def _deliver(self, warning: ReconnectWarning, notifier: ReconnectNotifier, report: WarningReport) -> None:
        owner = uuid.uuid4().hex
        now = self._clock.now()
        if not self._ledger.claim(warning, owner, now, now + CLAIM_LEASE):
            return  # sent already, or another run is sending it
        try:
            notifier.send(warning)
        except NotificationFailed:
            self._ledger.release(warning, owner)
            report.failed.append(warning)
            return
        except BaseException:
            self._ledger.release(warning, owner)
            raise
        self._ledger.mark_sent(warning, owner, self._clock.now())
        report.sent.append(warning)
        if warning.reason == "needs_reconnect":
            self._ledger.reconnect_warning_done(warning.connection_id, warning.episode)
        try:
            self._activity.record(
                Activity(
                    connection_id=warning.connection_id,
                    kind="reconnect_warning",
                    at=self._clock.now(),
                    summary=warning.summary(),
                    details={key: value for key, value in warning.payload().items() if key != "event"},
                )
            )
        except Exception:
            # Sent and marked: the entry is the only thing lost.
            logger.exception("activity entry not recorded", extra={"connection_id": warning.connection_id})
