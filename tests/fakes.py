"""In-memory stand-ins for the adapters, for narrow unit tests of the services."""

from __future__ import annotations

import itertools
import threading
from collections.abc import Mapping, Sequence
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

from qbosync.domain.activity import Activity, ActivityKind, ActivityPage
from qbosync.domain.connection import (
    CallError,
    CompanyProfile,
    Connection,
    ConnectionSecret,
    ConnectionSettings,
    ConnectionStatus,
    TokenSet,
)
from qbosync.domain.copies import (
    AttentionItem,
    CopyFlag,
    CopyRecord,
    CustomerMapping,
    InvoiceHead,
    PendingCopy,
    QuickBooksType,
)
from qbosync.domain.errors import ReauthorizationRequired
from qbosync.domain.events import EntityEvent, QueuedItem, QueueUnavailable
from qbosync.domain.health import NotificationFailed, ReconnectWarning
from qbosync.domain.payments import PaymentLink
from qbosync.domain.ports import ChangeSet, OAuthState
from qbosync.domain.quickbooks_batch import BatchAnswer, BatchOperation


class FakeClock:
    def __init__(self, start: datetime | None = None):
        self.current = start or datetime(2026, 11, 1, 12, 0, tzinfo=UTC)

    def now(self) -> datetime:
        return self.current

    def advance(self, **kwargs: float) -> None:
        self.current += timedelta(**kwargs)


class InMemoryRepository:
    def __init__(self) -> None:
        self.connections: dict[str, Connection] = {}
        self.states: dict[str, OAuthState] = {}
        self.leases: dict[str, tuple[str, datetime]] = {}
        self.lock = threading.Lock()

    def get(self, connection_id: str) -> Connection | None:
        return self.connections.get(connection_id)

    def save(self, connection: Connection) -> None:
        self.connections[connection.connection_id] = connection

    def update_settings(self, connection_id: str, settings: ConnectionSettings, now: datetime) -> None:
        self.connections[connection_id] = replace(self.connections[connection_id], settings=settings, updated_at=now)

    def record_token_expiry(
        self, connection_id: str, tokens: TokenSet, next_refresh_at: datetime, now: datetime
    ) -> None:
        self.connections[connection_id] = replace(
            self.connections[connection_id],
            access_expires_at=tokens.access_expires_at,
            refresh_expires_at=tokens.refresh_expires_at,
            refresh_hard_expires_at=tokens.refresh_hard_expires_at,
            next_refresh_at=next_refresh_at,
            updated_at=now,
        )

    def mark_needs_reconnect(self, connection_id: str, reason: str, now: datetime) -> None:
        self.connections[connection_id] = replace(
            self.connections[connection_id],
            status=ConnectionStatus.NEEDS_RECONNECT,
            status_reason=reason,
            next_refresh_at=None,
        )

    def mark_disconnected(self, connection_id: str, now: datetime) -> None:
        self.connections[connection_id] = replace(
            self.connections[connection_id], status=ConnectionStatus.DISCONNECTED, next_refresh_at=None
        )

    def connection_ids_for_realm(self, realm_id: str) -> list[str]:
        return [c.connection_id for c in self.connections.values() if c.realm_id == realm_id]

    def put_oauth_state(self, state_hash: str, state: OAuthState) -> None:
        self.states[state_hash] = state

    def bind_oauth_state(
        self, state_hash: str, browser_hash: str, previous_browser_hash: str | None, now: datetime
    ) -> OAuthState | None:
        with self.lock:
            state = self.states.get(state_hash)
            if state is None or state.expires_at <= now:
                return None
            if state.browser_hash not in {None, previous_browser_hash}:
                return None
            self.states[state_hash] = bound = replace(state, browser_hash=browser_hash)
            return bound

    def consume_oauth_state(self, state_hash: str, browser_hash: str) -> OAuthState | None:
        with self.lock:
            state = self.states.get(state_hash)
            if state is None or state.browser_hash != browser_hash:
                return None
            return self.states.pop(state_hash)

    def try_acquire_refresh_lease(self, connection_id: str, owner: str, now: datetime, until: datetime) -> bool:
        with self.lock:
            held = self.leases.get(connection_id)
            if held and held[1] > now:
                return False
            self.leases[connection_id] = (owner, until)
            return True

    def release_refresh_lease(self, connection_id: str, owner: str) -> None:
        with self.lock:
            if self.leases.get(connection_id, ("", None))[0] == owner:
                del self.leases[connection_id]

    def due_for_refresh(self, now: datetime, limit: int) -> list[str]:
        return [
            c.connection_id
            for c in self.connections.values()
            if c.status is ConnectionStatus.CONNECTED and c.next_refresh_at and c.next_refresh_at <= now
        ][:limit]


class InMemoryVault:
    def __init__(self) -> None:
        self.secrets: dict[str, ConnectionSecret] = {}
        self.writes = 0

    def read(self, connection_id: str) -> ConnectionSecret | None:
        return self.secrets.get(connection_id)

    def write(self, connection_id: str, secret: ConnectionSecret) -> None:
        self.writes += 1
        self.secrets[connection_id] = secret

    def delete(self, connection_id: str) -> None:
        self.secrets.pop(connection_id, None)


class StrictRotatingOAuth:
    """Like Intuit under the strict reading: each refresh rotates, the previous token dies at once."""

    def __init__(self, clock: FakeClock):
        self.clock = clock
        self.counter = itertools.count(1)
        self.valid_refresh: set[str] = set()
        self.refresh_calls = 0
        self.revoked: list[str] = []
        self.lock = threading.Lock()

    def issue(self) -> TokenSet:
        n = next(self.counter)
        token = TokenSet(
            access_token=f"access-{n}",
            refresh_token=f"refresh-{n}",
            access_expires_at=self.clock.now() + timedelta(hours=1),
            refresh_expires_at=self.clock.now() + timedelta(days=100),
            refresh_hard_expires_at=self.clock.now() + timedelta(days=5 * 365),
        )
        self.valid_refresh = {token.refresh_token}
        return token

    def redirect_uri(self) -> str:
        return "https://api.qbosync.example/oauth/callback"

    def authorization_url(self, state: str) -> str:
        return f"https://intuit.example/connect?state={state}"

    def exchange_code(self, code: str) -> TokenSet:
        return self.issue()

    def refresh(self, refresh_token: str) -> TokenSet:
        with self.lock:
            self.refresh_calls += 1
            if refresh_token not in self.valid_refresh:
                raise ReauthorizationRequired("invalid_grant")
            return self.issue()

    def revoke(self, token: str) -> None:
        self.revoked.append(token)
        self.valid_refresh.clear()


def connected(connection_id: str = "c1", *, clock: FakeClock) -> Connection:
    now = clock.now()
    return Connection(
        connection_id=connection_id,
        organization_id="org",
        subsidiary_id="sub",
        status=ConnectionStatus.CONNECTED,
        return_url="https://app.example/back",
        created_at=now,
        updated_at=now,
        next_refresh_at=now + timedelta(hours=24),
    )


# ---------------------------------------------------------------------- QuickBooks


class QuickBooksStub:
    """The whole QuickBooksApi port, every call failing the test: a test's fake overrides the calls
    it expects, so a call it does not expect is seen."""

    def company_profile(self) -> CompanyProfile:
        raise AssertionError("unexpected QuickBooks call: company_profile")

    def query(self, statement: str) -> list[dict[str, Any]]:
        raise AssertionError(f"unexpected QuickBooks call: query {statement}")

    def get(self, entity: str, entity_id: str) -> dict[str, Any] | None:
        raise AssertionError(f"unexpected QuickBooks call: get {entity}")

    def cdc(self, entities: Sequence[str], changed_since: datetime) -> ChangeSet:
        raise AssertionError("unexpected QuickBooks call: cdc")

    def download_pdf(self, entity: str, entity_id: str) -> bytes:
        raise AssertionError(f"unexpected QuickBooks call: download_pdf {entity}")

    def create(self, entity: str, payload: dict[str, Any], *, request_id: str) -> dict[str, Any]:
        raise AssertionError(f"unexpected QuickBooks call: create {entity}")

    def update(
        self, entity: str, payload: dict[str, Any], *, request_id: str, operation: str | None = None
    ) -> dict[str, Any]:
        raise AssertionError(f"unexpected QuickBooks call: update {entity}")

    def upload_attachment(
        self, *, entity: str, entity_id: str, filename: str, content: bytes, content_type: str, request_id: str
    ) -> dict[str, Any]:
        raise AssertionError(f"unexpected QuickBooks call: upload_attachment {entity}")

    def batch(self, operations: Sequence[BatchOperation], *, request_id: str) -> dict[str, BatchAnswer]:
        raise AssertionError(f"unexpected QuickBooks call: batch of {len(operations)}")


# ---------------------------------------------------------------------- the payment events queue


class InMemoryEventQueue:
    """The payment events queue (EventQueue): each send() is one message of what it was given, with
    its delay. While `fail` is set it refuses every send, as SqsEventQueue does, with QueueUnavailable."""

    def __init__(self, fail: bool = False) -> None:
        self.messages: list[tuple[list[QueuedItem], int]] = []
        self.fail = fail

    def send(self, events: Sequence[QueuedItem], *, delay_seconds: int = 0) -> None:
        if self.fail:
            raise QueueUnavailable("The payment events queue did not accept every event.")
        self.messages.append((list(events), delay_seconds))

    @property
    def sent(self) -> list[EntityEvent]:
        """Every event sent so far, in order."""
        events = [item for items, _ in self.messages for item in items]
        assert all(isinstance(item, EntityEvent) for item in events)
        return [item for item in events if isinstance(item, EntityEvent)]


# ---------------------------------------------------------------------- payment sync


class InMemoryPayments:
    """Payment mappings, per-payment leases, reconcile cursors and connected ids (DynamoPaymentRepository)."""

    def __init__(self) -> None:
        self.links: dict[tuple[str, str, str], PaymentLink] = {}
        self.locks: dict[tuple[str, str], tuple[str, datetime]] = {}
        self.cursors: dict[str, datetime] = {}
        self.connected: list[str] = []
        self.lock = threading.Lock()
        #: The activity entries written with the mappings, in order.
        self.activities: list[Activity] = []

    def for_payment(self, connection_id: str, quickbooks_payment_id: str) -> list[PaymentLink]:
        return [v for (c, p, _), v in self.links.items() if c == connection_id and p == quickbooks_payment_id]

    def for_invoice(self, connection_id: str, invoice_id: str) -> list[PaymentLink]:
        return [v for (c, _, i), v in self.links.items() if c == connection_id and i == invoice_id]

    def save(self, link: PaymentLink, *, activity: Activity | None = None) -> None:
        self.links[(link.connection_id, link.quickbooks_payment_id, link.invoice_id)] = link
        if activity is not None:
            self.activities.append(activity)

    def delete(
        self, connection_id: str, quickbooks_payment_id: str, invoice_id: str, *, activity: Activity | None = None
    ) -> None:
        self.links.pop((connection_id, quickbooks_payment_id, invoice_id), None)
        if activity is not None:
            self.activities.append(activity)

    def try_lock(self, connection_id: str, payment_id: str, owner: str, now: datetime, until: datetime) -> bool:
        with self.lock:
            held = self.locks.get((connection_id, payment_id))
            if held and held[1] > now:
                return False
            self.locks[(connection_id, payment_id)] = (owner, until)
            return True

    def unlock(self, connection_id: str, payment_id: str, owner: str) -> None:
        with self.lock:
            if self.locks.get((connection_id, payment_id), ("", None))[0] == owner:
                del self.locks[(connection_id, payment_id)]

    def connected_connection_ids(self) -> list[str]:
        return list(self.connected)

    def connections_by_status(self) -> dict[str, int]:
        return {"pending": 0, "connected": len(self.connected), "needs_reconnect": 0, "disconnected": 0}

    def cursor(self, realm_id: str) -> datetime | None:
        return self.cursors.get(realm_id)

    def save_cursor(self, realm_id: str, cursor: datetime) -> None:
        self.cursors[realm_id] = cursor


# ---------------------------------------------------------------------- copies


class InMemoryCopies:
    """The copy repository (DynamoCopyRepository) in memory. `journal` gets "ddb:<method>" for each
    call, so tests can check what was written and in which order; `items()` counts what is stored
    as the table would (one HEAD per invoice, one item per copy, mapping and cache entry)."""

    WRITES = frozenset({"ddb:lock", "ddb:unlock", "ddb:forget", "ddb:complete"})

    def __init__(self, journal: list[str] | None = None) -> None:
        self.journal = journal if journal is not None else []
        self.heads: dict[tuple[str, str], dict[str, Any]] = {}
        self.copies: dict[tuple[str, str, int], CopyRecord] = {}
        self.customers: dict[tuple[str, str, str], str] = {}
        self.project_customers: dict[tuple[str, str, str], str] = {}
        self.caches: dict[tuple[str, str], str] = {}
        self.credit_applications: dict[tuple[str, str], tuple[str, str, int]] = {}
        self.lock_calls: list[datetime | None] = []
        self.flags: dict[tuple[str, str, int], list[CopyFlag]] = {}
        #: The activity entries written with the copies, in order.
        self.activities: list[Activity] = []

    def _with_flags(self, record: CopyRecord | None) -> CopyRecord | None:
        if record is None:
            return None
        flags = self.flags.get((record.connection_id, record.invoice_id, record.sequence), [])
        newest_first = sorted(enumerate(flags), key=lambda pair: (pair[1].detected_at, pair[0]), reverse=True)
        return replace(record, flags=tuple(flag for _, flag in newest_first))

    def items(self) -> int:
        return len(self.heads) + len(self.copies) + len(self.customers) + len(self.project_customers) + len(self.caches)

    def history(self, connection_id: str, invoice_id: str) -> list[CopyRecord]:
        self.journal.append("ddb:history")
        found = [self._with_flags(r) for (c, i, _), r in self.copies.items() if (c, i) == (connection_id, invoice_id)]
        return sorted((r for r in found if r is not None), key=lambda r: r.sequence, reverse=True)

    def lock(
        self,
        connection_id: str,
        invoice_id: str,
        owner: str,
        now: datetime,
        until: datetime,
        *,
        pending_since: datetime | None = None,
    ) -> InvoiceHead | None:
        self.journal.append("ddb:lock")
        self.lock_calls.append(pending_since)
        head = self.heads.get((connection_id, invoice_id))
        if head is not None and head.get("lock_until") and head["lock_until"] >= now:
            return None
        old = dict(head or {})
        new = self.heads.setdefault((connection_id, invoice_id), {})
        new.update(lock_owner=owner, lock_until=until)
        last = int(old.get("last_sequence", 0))
        if old.get("pending_since") is not None:
            return InvoiceHead(last, PendingCopy.starting(connection_id, invoice_id, last + 1, old["pending_since"]))
        if pending_since is None:
            return InvoiceHead(last, None)
        new["pending_since"] = pending_since
        return InvoiceHead(last, PendingCopy.starting(connection_id, invoice_id, last + 1, pending_since), True)

    def unlock(self, connection_id: str, invoice_id: str, owner: str, *, drop_pending: bool = False) -> None:
        self.journal.append("ddb:unlock")
        head = self.heads.get((connection_id, invoice_id))
        if head is not None and head.get("lock_owner") == owner:
            head.pop("lock_owner")
            head.pop("lock_until")
            if drop_pending:
                head.pop("pending_since", None)

    def forget(self, connection_id: str, invoice_id: str, owner: str) -> None:
        self.journal.append("ddb:forget")
        head = self.heads.get((connection_id, invoice_id))
        if head is not None and head.get("lock_owner") == owner and not head.get("last_sequence"):
            del self.heads[(connection_id, invoice_id)]

    def copy(self, connection_id: str, invoice_id: str, sequence: int) -> CopyRecord | None:
        self.journal.append("ddb:copy")
        return self._with_flags(self.copies.get((connection_id, invoice_id, sequence)))

    def complete(
        self,
        record: CopyRecord,
        *,
        mappings: Sequence[CustomerMapping] = (),
        cache: Mapping[str, str] | None = None,
        resolves: Sequence[CopyFlag] = (),
        activity: Activity | None = None,
    ) -> None:
        self.journal.append("ddb:complete")
        if activity is not None:
            self.activities.append(activity)
        standing = self.flags.get((record.connection_id, record.invoice_id, record.sequence), [])
        standing[:] = [flag for flag in standing if flag not in resolves]
        self.copies[(record.connection_id, record.invoice_id, record.sequence)] = replace(record, flags=())
        for warning in record.warnings:
            if warning.code == "total_mismatch":
                self.flag(
                    record.connection_id,
                    record.invoice_id,
                    record.sequence,
                    CopyFlag("total_mismatch", record.updated_at, record.sync_token, dict(warning.details)),
                )
        for mapping in mappings:
            memory = self.customers if mapping.kind == "client" else self.project_customers
            memory[(record.connection_id, mapping.productive_id, mapping.currency)] = mapping.customer_id
        for key, value in (cache or {}).items():
            self.caches[(record.connection_id, key)] = value
        self.heads[(record.connection_id, record.invoice_id)] = {"last_sequence": record.sequence}

    def customer_for(self, connection_id: str, company_id: str, currency: str) -> str | None:
        self.journal.append("ddb:customer_for")
        return self.customers.get((connection_id, company_id, currency))

    def project_customer_for(self, connection_id: str, project_id: str, currency: str) -> str | None:
        self.journal.append("ddb:project_customer_for")
        return self.project_customers.get((connection_id, project_id, currency))

    def copy_of_quickbooks_invoice(self, realm_id: str, quickbooks_invoice_id: str) -> CopyRecord | None:
        return self.copy_of_quickbooks_object(realm_id, "Invoice", quickbooks_invoice_id)

    def copy_of_quickbooks_object(
        self, realm_id: str, quickbooks_type: QuickBooksType, quickbooks_id: str
    ) -> CopyRecord | None:
        found = next(
            (
                r
                for r in self.copies.values()
                if (r.realm_id, r.quickbooks_type, r.quickbooks_id) == (realm_id, quickbooks_type, quickbooks_id)
            ),
            None,
        )
        return self._with_flags(found)

    def record_credit_application(
        self, realm_id: str, quickbooks_payment_id: str, *, connection_id: str, invoice_id: str, sequence: int
    ) -> None:
        self.journal.append("ddb:record_credit_application")
        self.credit_applications[(realm_id, quickbooks_payment_id)] = (connection_id, invoice_id, sequence)

    def is_our_credit_application(self, realm_id: str, quickbooks_payment_id: str) -> bool:
        return (realm_id, quickbooks_payment_id) in self.credit_applications

    def flag(self, connection_id: str, invoice_id: str, sequence: int, flag: CopyFlag) -> bool:
        if (connection_id, invoice_id, sequence) not in self.copies:
            return False
        flags = self.flags.setdefault((connection_id, invoice_id, sequence), [])
        if any((f.kind, f.version) == (flag.kind, flag.version) for f in flags):
            return False
        flags.append(flag)
        return True

    def attention(self, connection_id: str, limit: int) -> list[AttentionItem]:
        items: list[AttentionItem] = []
        for (cid, iid, sequence), flags in self.flags.items():
            record = self._with_flags(self.copies[(cid, iid, sequence)])
            if cid != connection_id or not flags or record is None:
                continue
            items.append(AttentionItem(iid, record.copy_id, record.quickbooks_type, record.quickbooks_id, record.flags))
        items.sort(key=lambda item: item.flags[0].detected_at, reverse=True)
        return items[:limit]

    def cached(self, connection_id: str, key: str) -> str | None:
        self.journal.append("ddb:cached")
        return self.caches.get((connection_id, key))


# ---------------------------------------------------------------------- activity log


class InMemoryActivityLog:
    """The activity log (DynamoActivityLog) in memory: `entries` in the order they were recorded."""

    def __init__(self) -> None:
        self.entries: list[Activity] = []
        self._once: set[tuple[str, str]] = set()

    def record(self, activity: Activity) -> None:
        if activity.once_key is not None:
            key = (activity.connection_id, activity.once_key)
            if key in self._once:
                return
            self._once.add(key)
        self.entries.append(activity)

    def page(
        self,
        connection_id: str,
        *,
        invoice_id: str | None = None,
        kind: ActivityKind | None = None,
        limit: int = 50,
        cursor: str | None = None,
    ) -> ActivityPage:
        chosen = sorted(
            (
                entry
                for entry in self.entries
                if entry.connection_id == connection_id
                and (invoice_id is None or entry.invoice_id == invoice_id)
                and (kind is None or entry.kind == kind)
            ),
            key=lambda entry: (entry.at, entry.activity_id),
            reverse=True,
        )
        start = int(cursor) if cursor is not None else 0
        rest = chosen[start : start + limit]
        more = start + limit < len(chosen)
        return ActivityPage(rest, str(start + limit) if more else None)

    def count_since(self, connection_id: str, kind: ActivityKind, since: datetime) -> int:
        return sum(
            1
            for entry in self.entries
            if entry.connection_id == connection_id and entry.kind == kind and entry.at >= since
        )


class InMemoryCallLog:
    """The last QuickBooks calls (DynamoQuickBooksCallLog) in memory; `writes` counts every write."""

    def __init__(self) -> None:
        self.last_success: dict[str, datetime] = {}
        self.last_error: dict[str, CallError] = {}
        self.writes = 0

    def succeeded(self, connection_id: str, at: datetime) -> None:
        self.writes += 1
        if connection_id not in self.last_success or self.last_success[connection_id] < at:
            self.last_success[connection_id] = at

    def failed(self, connection_id: str, error: CallError) -> None:
        self.writes += 1
        self.last_error[connection_id] = error


class InMemoryWarningLedger:
    """The reconnect warnings' ledger (DynamoReconnectWarningLedger) in memory, with the same claim rule.
    `waiting` is the needs_reconnect waiting list (connection id -> since), filled by the test."""

    def __init__(self, repository: InMemoryRepository) -> None:
        self.repository = repository
        self.waiting: dict[str, datetime] = {}
        # (connection id, reason) -> {"episode", "state", "owner", "until"}
        self.records: dict[tuple[str, str], dict[str, Any]] = {}
        self.lock = threading.Lock()

    def nearing_hard_expiry(self, start: datetime, end: datetime, limit: int) -> list[str]:
        return [
            c.connection_id
            for c in self.repository.connections.values()
            if c.status is ConnectionStatus.CONNECTED
            and c.refresh_hard_expires_at is not None
            and start <= c.refresh_hard_expires_at <= end
        ][:limit]

    def awaiting_reconnect_warning(self, limit: int) -> list[tuple[str, datetime]]:
        return list(self.waiting.items())[:limit]

    def claim(self, warning: ReconnectWarning, owner: str, now: datetime, until: datetime) -> bool:
        with self.lock:
            record = self.records.get((warning.connection_id, warning.reason))
            claimable = (
                record is None
                or record["episode"] < warning.episode_floor
                or record["state"] == "released"
                or (record["state"] == "sending" and record["until"] < now)
            )
            if claimable:
                self.records[(warning.connection_id, warning.reason)] = {
                    "episode": warning.episode,
                    "state": "sending",
                    "owner": owner,
                    "until": until,
                }
            return claimable

    def mark_sent(self, warning: ReconnectWarning, owner: str, now: datetime) -> None:
        with self.lock:
            record = self.records.get((warning.connection_id, warning.reason))
            if record is not None and record["owner"] == owner:
                record.update(state="sent", owner=None, sent_at=now)

    def release(self, warning: ReconnectWarning, owner: str) -> None:
        with self.lock:
            record = self.records.get((warning.connection_id, warning.reason))
            if record is not None and record["owner"] == owner:
                record.update(state="released", owner=None)

    def reconnect_warning_done(self, connection_id: str, since: datetime) -> None:
        if self.waiting.get(connection_id) == since:
            del self.waiting[connection_id]


class RecordingNotifier:
    """Productive's backend for reconnect warnings: keeps what it was sent; fails while `failures` > 0."""

    def __init__(self) -> None:
        self.sent: list[ReconnectWarning] = []
        self.failures = 0

    def send(self, warning: ReconnectWarning) -> None:
        if self.failures > 0:
            self.failures -= 1
            raise NotificationFailed("the receiver is down")
        self.sent.append(warning)
