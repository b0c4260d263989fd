"""Connection health (docs/architecture.md "Connection health"): what `GET /connections/{id}` shows, and
how the last successful and failed QuickBooks calls are recorded cheaply.

Every QuickBooks client built for a connection is wrapped (`QuickBooksCallRecorder.watch`): a call that
raises a domain error writes `last_error` on the connection item at once; a successful one writes
`last_success_at` at most once per SUCCESS_INTERVAL per connection and execution environment, so a copy
costs no extra write in the common case and the field is never more than that interval behind."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Sequence
from datetime import datetime, timedelta
from typing import Any, TypeVar

from qbosync.domain.activity import ActivityLog
from qbosync.domain.connection import CompanyProfile, Connection
from qbosync.domain.errors import DomainError
from qbosync.domain.health import HEALTH_WINDOW, ConnectionHealth, QuickBooksCallLog, call_error, connection_health
from qbosync.domain.ports import ChangeSet, Clock, QuickBooksApi
from qbosync.domain.quickbooks_batch import BatchAnswer, BatchOperation

logger = logging.getLogger(__name__)

#: At most one `last_success_at` write per connection and execution environment in this interval.
SUCCESS_INTERVAL = timedelta(minutes=15)
Result = TypeVar("Result")


class HealthService:
    def __init__(self, *, activity: ActivityLog, clock: Clock):
        self._activity = activity
        self._clock = clock

    def health(self, connection: Connection) -> ConnectionHealth:
        """The connection's health now: its expiry figures and last calls, and two counts of the
        activity log over the last 7 days (two queries)."""
        now = self._clock.now()
        since = now - HEALTH_WINDOW
        return connection_health(
            connection,
            now,
            failed_copies_7d=self._activity.count_since(connection.connection_id, "copy_failed", since),
            skipped_payment_events_7d=self._activity.count_since(
                connection.connection_id, "payment_event_skipped", since
            ),
        )


class QuickBooksCallRecorder:
    """Records the outcome of QuickBooks calls per connection; one per execution environment."""

    def __init__(self, *, log: QuickBooksCallLog, clock: Clock, success_interval: timedelta = SUCCESS_INTERVAL):
        self._log = log
        self._clock = clock
        self._interval = success_interval
        self._written: dict[str, datetime] = {}  # connection id -> last success written from here
        self._lock = threading.Lock()

    def watch(self, api: QuickBooksApi, connection_id: str) -> QuickBooksApi:
        """The same client, recording each call's outcome for the connection."""
        return RecordedQuickBooksApi(api, connection_id, self)

    def succeeded(self, connection_id: str) -> None:
        now = self._clock.now()
        with self._lock:
            last = self._written.get(connection_id)
            # A clock that went back (a test moving it) counts as due, so the mark is never stuck.
            if last is not None and last <= now < last + self._interval:
                return
            self._written[connection_id] = now
        try:
            self._log.succeeded(connection_id, now)
        except Exception:
            # Never fail a call that worked because its mark could not be written; try again next call.
            with self._lock:
                self._written.pop(connection_id, None)
            logger.warning("last success not recorded", extra={"connection_id": connection_id}, exc_info=True)

    def failed(self, connection_id: str, error: DomainError) -> None:
        try:
            self._log.failed(connection_id, call_error(error, self._clock.now()))
        except Exception:
            logger.warning("last error not recorded", extra={"connection_id": connection_id}, exc_info=True)


class RecordedQuickBooksApi:
    """A QuickBooksApi that reports each call's outcome to a recorder (errors propagate unchanged)."""

    def __init__(self, api: QuickBooksApi, connection_id: str, recorder: QuickBooksCallRecorder):
        self._api = api
        self._connection_id = connection_id
        self._recorder = recorder

    def _call(self, call: Callable[[], Result]) -> Result:
        try:
            result = call()
        except DomainError as error:
            self._recorder.failed(self._connection_id, error)
            raise
        self._recorder.succeeded(self._connection_id)
        return result

    def company_profile(self) -> CompanyProfile:
        return self._call(self._api.company_profile)

    def query(self, statement: str) -> list[dict[str, Any]]:
        return self._call(lambda: self._api.query(statement))

    def get(self, entity: str, entity_id: str) -> dict[str, Any] | None:
        return self._call(lambda: self._api.get(entity, entity_id))

    def cdc(self, entities: Sequence[str], changed_since: datetime) -> ChangeSet:
        return self._call(lambda: self._api.cdc(entities, changed_since))

    def download_pdf(self, entity: str, entity_id: str) -> bytes:
        return self._call(lambda: self._api.download_pdf(entity, entity_id))

    def create(self, entity: str, payload: dict[str, Any], *, request_id: str) -> dict[str, Any]:
        return self._call(lambda: self._api.create(entity, payload, request_id=request_id))

    def update(
        self, entity: str, payload: dict[str, Any], *, request_id: str, operation: str | None = None
    ) -> dict[str, Any]:
        return self._call(lambda: self._api.update(entity, payload, request_id=request_id, operation=operation))

    def upload_attachment(
        self, *, entity: str, entity_id: str, filename: str, content: bytes, content_type: str, request_id: str
    ) -> dict[str, Any]:
        return self._call(
            lambda: self._api.upload_attachment(
                entity=entity,
                entity_id=entity_id,
                filename=filename,
                content=content,
                content_type=content_type,
                request_id=request_id,
            )
        )

    def batch(self, operations: Sequence[BatchOperation], *, request_id: str) -> dict[str, BatchAnswer]:
        return self._call(lambda: self._api.batch(operations, request_id=request_id))
