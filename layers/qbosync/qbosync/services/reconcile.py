"""The reconcile sweep (docs/architecture.md "Reconcile"): Change Data Capture per connected company, so
what missed or failed webhooks left behind reaches the same queue and the same worker.

Per company (realm):
- the window starts at the stored cursor; the first time, when payment sync was switched on (the
  earliest of its connections that sync payments), else 30 days back; never more than 30 days back
  (CDC's limit);
- one CDC call per entity, since the 1000-object cap is shared across the entities of one call: Invoice
  and CreditMemo (which may be our copies changed in QuickBooks) always, Payment only when a connection
  of the company syncs payments (Connection.acts_on);
- a full answer (1000 objects) may be cut short. CDC has no upper bound, only `changedSince`, and
  answers oldest first, so the window is split at the latest change the answer holds: everything
  before it is complete and the rest is asked for again from there (inclusive; a change seen twice is
  only a duplicate event, which the worker absorbs);
- every changed entity (deleted ones too) becomes an EntityEvent(source="reconcile") on the queue;
- the cursor moves to QuickBooks' time of the last answer (less a small overlap) only after the queue
  accepted every event: a failed sweep is simply done again next time."""

from __future__ import annotations

import hashlib
import logging
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from qbosync.domain import activity
from qbosync.domain.activity import ActivityLog
from qbosync.domain.connection import Connection, change_kind
from qbosync.domain.errors import ConnectionNotReady, DomainError, ReauthorizationRequired, UpstreamUnavailable
from qbosync.domain.events import EntityEvent, EventQueue
from qbosync.domain.payments import ReconcileStateRepository
from qbosync.domain.ports import Clock, ConnectionRepository, QuickBooksApi, QuickBooksApiFactory
from qbosync.domain.quickbooks_changes import is_voided
from qbosync.services.tokens import TokenService

logger = logging.getLogger(__name__)

CDC_MAX_OBJECTS = 1000
CDC_LOOKBACK = timedelta(days=30)
LOOKBACK_MARGIN = timedelta(minutes=10)  # stay inside the 30 days even with clock skew
CURSOR_OVERLAP = timedelta(minutes=2)  # changes committed while QuickBooks answered
MAX_PAGES = 50
ENTITIES = ("Payment", "Invoice", "CreditMemo")


@dataclass
class RealmSweep:
    realm_id: str
    since: datetime
    entities: tuple[str, ...] = ()
    cursor: datetime | None = None
    queued: int = 0
    cdc_calls: int = 0
    splits: int = 0


@dataclass
class ReconcileReport:
    swept: list[RealmSweep] = field(default_factory=list)
    failed: dict[str, str] = field(default_factory=dict)

    @property
    def queued(self) -> int:
        return sum(sweep.queued for sweep in self.swept)


def _stamp(row: dict[str, Any]) -> datetime | None:
    raw = (row.get("MetaData") or {}).get("LastUpdatedTime")
    if not isinstance(raw, str) or not raw:
        return None
    try:
        parsed = datetime.fromisoformat(raw.replace("Z", "+00:00"))
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def _deleted(row: dict[str, Any]) -> bool:
    return str(row.get("status", "")).lower() == "deleted"


class ReconcileService:
    def __init__(
        self,
        *,
        connections: ConnectionRepository,
        state: ReconcileStateRepository,
        tokens: TokenService,
        quickbooks: QuickBooksApiFactory,
        queue: EventQueue,
        clock: Clock,
        activity: ActivityLog,
        cdc_max_objects: int = CDC_MAX_OBJECTS,
    ):
        self._activity = activity
        self._max_objects = cdc_max_objects
        self._connections = connections
        self._state = state
        self._tokens = tokens
        self._quickbooks = quickbooks
        self._queue = queue
        self._clock = clock

    def run(self) -> ReconcileReport:
        report = ReconcileReport()
        for realm_id, connections in sorted(self._realms().items()):
            try:
                sweep = self.sweep(realm_id, connections)
            except DomainError as error:  # throttled, outage, needs reconnect, a fault, the queue refusing
                # One company's trouble must not stop the others; its cursor stays where it was.
                logger.warning("reconcile skipped a company", extra={"realm_id": realm_id, "reason": error.code})
                report.failed[realm_id] = error.code
                self._record(connections, realm_id, None, failed=error.code)
                continue
            report.swept.append(sweep)
            self._record(connections, realm_id, sweep)
        return report

    def connections_by_status(self) -> dict[str, int]:
        """How many connections have each status (the dashboard; counted by index queries, nothing read)."""
        return self._state.connections_by_status()

    def _record(
        self, connections: list[Connection], realm_id: str, sweep: RealmSweep | None, *, failed: str | None = None
    ) -> None:
        """reconcile_run in the log of every connection the company's sweep was for."""
        now = self._clock.now()
        for connection in connections:
            self._activity.record(
                activity.reconcile_run(
                    connection.connection_id,
                    now,
                    realm_id=realm_id,
                    since=sweep.since if sweep else None,
                    events_found=sweep.queued if sweep else 0,
                    entities=sweep.entities if sweep else (),
                    next_since=sweep.cursor if sweep else None,
                    failed=failed,
                )
            )

    def _realms(self) -> dict[str, list[Connection]]:
        realms: dict[str, list[Connection]] = {}
        for connection_id in self._state.connected_connection_ids():
            connection = self._connections.get(connection_id)
            if connection is None or not connection.watches_quickbooks or connection.realm_id is None:
                continue
            realms.setdefault(connection.realm_id, []).append(connection)
        return realms

    def sweep(self, realm_id: str, connections: list[Connection]) -> RealmSweep:
        now = self._clock.now()
        floor = now - CDC_LOOKBACK + LOOKBACK_MARGIN
        start = self._state.cursor(realm_id)
        if start is None:
            syncing = [c for c in connections if c.syncs_payments]
            switched_on = [c.settings.sync_payments_since for c in syncing if c.settings.sync_payments_since]
            start = min(switched_on) if switched_on else floor
        start = max(start, floor)
        entities = tuple(e for e in ENTITIES if any(c.acts_on(change_kind(e)) for c in connections))
        sweep = RealmSweep(realm_id=realm_id, since=start, entities=entities)
        qbo = self._client(realm_id, connections)
        events: dict[tuple[str, str], EntityEvent] = {}
        answered: list[datetime] = []
        for entity in entities:
            answered.append(self._collect(qbo, realm_id, entity, start, now, events, sweep))
        if events:
            self._queue.send(list(events.values()))
        sweep.queued = len(events)
        cursor = max(start, min(answered) - CURSOR_OVERLAP)
        self._state.save_cursor(realm_id, cursor)
        sweep.cursor = cursor
        logger.info(
            "reconcile swept a company",
            extra={"realm_id": realm_id, "queued": sweep.queued, "cdc_calls": sweep.cdc_calls, "splits": sweep.splits},
        )
        return sweep

    def _client(self, realm_id: str, connections: list[Connection]) -> QuickBooksApi:
        last_error: DomainError | None = None
        for connection in connections:
            provider = self._tokens.provider_for(connection.connection_id, connection)
            try:
                provider.current()
            except (ReauthorizationRequired, ConnectionNotReady) as error:
                last_error = error
                continue
            return self._quickbooks(realm_id, provider)
        assert last_error is not None
        raise last_error

    def _collect(
        self,
        qbo: QuickBooksApi,
        realm_id: str,
        entity: str,
        start: datetime,
        now: datetime,
        events: dict[tuple[str, str], EntityEvent],
        sweep: RealmSweep,
    ) -> datetime:
        """Queue-to-be events for one entity's changes since `start`; returns QuickBooks' answer time."""
        since = start
        for _ in range(MAX_PAGES):
            change = qbo.cdc([entity], since)
            sweep.cdc_calls += 1
            rows = change.changed.get(entity, [])
            latest: datetime | None = None
            for row in rows:
                stamp = _stamp(row)
                if stamp is not None and (latest is None or stamp > latest):
                    latest = stamp
                event = self._event(realm_id, entity, row, stamp or now)
                if event is not None:
                    events[(entity, event.entity_id)] = event
            if len(rows) < self._max_objects:
                return change.answered_at or now
            # Cut short: split the window at the latest change this answer holds and ask again.
            sweep.splits += 1
            if latest is None or latest <= since:
                # 1000 changes within one second: the window cannot be split further; move on by
                # one second rather than loop (logged, the next sweep's overlap may still catch them).
                logger.error("CDC window cannot be split", extra={"realm_id": realm_id, "entity": entity})
                latest = since + timedelta(seconds=1)
            since = latest
        raise UpstreamUnavailable(
            f"QuickBooks reports more {entity} changes than one sweep reads; continuing next time.",
            service="quickbooks",
        )

    @staticmethod
    def _event(realm_id: str, entity: str, row: dict[str, Any], stamp: datetime) -> EntityEvent | None:
        entity_id = str(row.get("Id") or "")
        if not entity_id:
            return None
        deleted = _deleted(row)
        voided = entity != "Payment" and not deleted and is_voided(row)
        operation = "delete" if deleted else ("void" if voided else "update")
        digest = hashlib.sha256(f"{realm_id}|{entity}|{entity_id}|{stamp.isoformat()}".encode()).hexdigest()[:32]
        return EntityEvent(
            realm_id=realm_id,
            entity=entity,
            entity_id=entity_id,
            operation=operation,
            occurred_at=stamp,
            event_id=f"reconcile-{digest}",
            source="reconcile",
        )
