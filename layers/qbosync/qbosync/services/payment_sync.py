"""Mirror QuickBooks payments into Productive (docs/architecture.md "Payment sync").

An event only says that a payment (or an invoice) changed. For each connection of the company that
acts on it (`Connection.acts_on`: a Payment event, connected with payment sync on; an Invoice or
CreditMemo event, connected), the worker reads the payment as QuickBooks holds it now (one read;
missing = deleted), works out what Productive should hold (qbosync.domain.payments) and makes
Productive agree with it through the mapping: create, update (amount or date changed) or delete. So
the order and duplicates of events do not matter, and a replayed event changes nothing.

- one worker per (connection, QuickBooks payment) at a time (a lease in DynamoDB); the payment is read
  inside the lease, so an older read can never overwrite a newer one;
- a create first records a pending mapping, and the Productive payment carries a marker in its note
  ("QuickBooks payment 173"): after a crash, or a create whose outcome is unknown, the retry adopts the
  payment carrying the marker instead of creating a second one;
- throttling or an outage on either side raises: the message is retried, never dropped;
- payments dated before sync was switched on (and never mirrored), invoices this service did not copy
  and, for payments, connections with sync off are left alone;
- cash only: credit a payment gives an invoice from a credit memo made in QuickBooks flags the
  invoice's copy instead, and the zero-total payment a copy made to apply a copied credit note is
  not looked at (qbosync.domain.payments);
- an Invoice or CreditMemo event for one of our copies flags it when it was voided, deleted or changed
  in QuickBooks; a void or delete also clears Productive's export fields, so the invoice can be copied
  again (qbosync.domain.quickbooks_changes). That holds whether payment sync is on or off; only with it
  on are the payments of a voided or deleted invoice read again and mirrored.

Events arrive in chunks (one queue message, many events; qbosync.domain.events). `PaymentEventWorker`
hands each event of a chunk to the service on its own, so one failing event does not hold the others:
- every event done: the message is done;
- some done, or some not started because the invocation was running short of time: what is left goes
  back on the queue as a new chunk and the message is done. The chunk shrinks with every event done,
  and the events not started go first in it, so a slow failing event cannot keep the others from their
  turn; re-processing an event is harmless anyway;
- every event failed: the message fails as a whole and comes back after the visibility timeout, so a
  poison event (or several) ends alone in the dead-letter queue after the queue's maximum receives."""

from __future__ import annotations

import logging
import time
import uuid
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import timedelta
from decimal import Decimal
from typing import Any

from qbosync.domain import activity
from qbosync.domain.activity import ActivityLog, PaymentChange
from qbosync.domain.connection import ChangeKind, Connection, change_kind
from qbosync.domain.copies import CopyFlag, CopyRecord, CopyRepository, QuickBooksType
from qbosync.domain.errors import Conflict, ConnectionNotReady, DomainError, NotFound, ReauthorizationRequired
from qbosync.domain.events import Budget, ChunkFailed, EntityEvent, EventQueue, QueuedItem, UnreadableEvent
from qbosync.domain.payments import (
    DesiredPayment,
    PaymentLink,
    PaymentMappingRepository,
    carries_marker,
    credit_from_quickbooks,
    desired_payments,
    has_credit,
    in_scope,
    linked_invoice_ids,
    linked_payment_ids,
    note_for,
    txn_date,
)
from qbosync.domain.ports import Clock, ConnectionRepository, QuickBooksApiFactory
from qbosync.domain.productive import ProductiveApi
from qbosync.domain.qbo_query import quote_list
from qbosync.domain.quickbooks_changes import change_flag, credit_flag, is_voided
from qbosync.services.tokens import TokenService

logger = logging.getLogger(__name__)

PAYMENT_LOCK = timedelta(seconds=60)
LOCK_ATTEMPTS = 20
LOCK_WAIT_SECONDS = 0.1
ENTITIES = frozenset({"Payment", "Invoice", "CreditMemo"})
INVOICE_OPERATIONS = frozenset({"void", "delete"})
#: Payments read by one query (QuickBooks' default page; the adapter pages past it anyway).
PAYMENTS_PER_QUERY = 100
#: A void or delete in QuickBooks frees the Productive invoice to be copied again.
RELEASING_FLAGS = frozenset({"voided_in_quickbooks", "deleted_in_quickbooks"})
#: The failed events of a chunk that made progress come back this much later (a throttled company, a
#: payment another worker holds); a chunk that failed whole comes back after the visibility timeout.
RETRY_DELAY_SECONDS = 30


class PaymentInProgress(Conflict):
    """Another worker holds this payment right now: the message is retried a little later."""

    code = "payment_in_progress"


@dataclass
class SyncReport:
    """What one event did, for logs and metrics."""

    created: int = 0
    updated: int = 0
    deleted: int = 0
    adopted: int = 0
    unchanged: int = 0
    payments_seen: int = 0
    flagged: int = 0
    skipped: list[str] = field(default_factory=list)

    @property
    def writes(self) -> int:
        return self.created + self.updated + self.deleted


class PaymentSyncService:
    def __init__(
        self,
        *,
        connections: ConnectionRepository,
        copies: CopyRepository,
        payments: PaymentMappingRepository,
        tokens: TokenService,
        quickbooks: QuickBooksApiFactory,
        productive: Callable[[Connection, str], ProductiveApi],
        clock: Clock,
        activity: ActivityLog,
        sleep: Callable[[float], None] = time.sleep,
    ):
        self._activity = activity
        self._sleep = sleep
        self._connections = connections
        self._copies = copies
        self._payments = payments
        self._tokens = tokens
        self._quickbooks = quickbooks
        self._productive = productive
        self._clock = clock

    def eligible_connections(self, realm_id: str, kind: ChangeKind) -> list[Connection]:
        """Connections of this company that act on this kind of change (Connection.acts_on)."""
        found: list[Connection] = []
        for connection_id in self._connections.connection_ids_for_realm(realm_id):
            connection = self._connections.get(connection_id)
            if connection is not None and connection.acts_on(kind) and connection.realm_id == realm_id:
                found.append(connection)
        return found

    def handle(self, event: EntityEvent) -> SyncReport:
        report = SyncReport()
        if event.entity not in ENTITIES:
            report.skipped.append(f"entity {event.entity} is not synced")
            return report
        kind = change_kind(event.entity)
        connections = self.eligible_connections(event.realm_id, kind)
        if not connections:
            report.skipped.append(
                "no connection of this company has payment sync on"
                if kind == "payment"
                else "no connection of this company is connected"
            )
            return report
        for connection in connections:
            try:
                _Job(self, connection, report).run(event)
            except (ReauthorizationRequired, ConnectionNotReady) as error:
                # Only the user can fix this by reconnecting; the reconcile sweep catches up afterwards.
                logger.warning(
                    "payment event skipped: connection not usable",
                    extra={"connection_id": connection.connection_id, "reason": error.code},
                )
                report.skipped.append(f"connection {connection.connection_id}: {error.code}")
                if error.code != "needs_reconnect":
                    continue  # disconnected meanwhile (or never connected): nothing the user waits for
                self._activity.record(
                    activity.payment_event_skipped(
                        connection.connection_id,
                        self._clock.now(),
                        reason=error.code,
                        entity=event.entity,
                        entity_id=event.entity_id,
                        version=event.occurred_at.isoformat(),
                        details={"operation": event.operation},
                    )
                )
        return report


@dataclass
class ChunkOutcome:
    """What became of the events of one queue message."""

    handled: list[tuple[EntityEvent, SyncReport]] = field(default_factory=list)
    failed: list[tuple[QueuedItem, str]] = field(default_factory=list)  # and why (an error code)
    not_started: list[QueuedItem] = field(default_factory=list)
    requeued: int = 0


class PaymentEventWorker:
    """Fans the events of one queue message out to PaymentSyncService (see the module's docstring)."""

    def __init__(
        self, *, sync: PaymentSyncService, queue: EventQueue, retry_delay_seconds: int = RETRY_DELAY_SECONDS
    ) -> None:
        self._sync = sync
        self._queue = queue
        self._retry_delay_seconds = retry_delay_seconds

    def handle_message(self, items: Sequence[QueuedItem], budget: Budget) -> ChunkOutcome:
        """Raises ChunkFailed when every event failed, and QueueUnavailable when what is left could not
        be queued again: either way the message is retried whole."""
        outcome = ChunkOutcome()
        for index, item in enumerate(items):
            if not budget.start_another():
                outcome.not_started.extend(items[index:])
                break
            if isinstance(item, UnreadableEvent):
                logger.error("queued event is unreadable", extra={"problem": item.problem})
                outcome.failed.append((item, "unreadable_event"))
                continue
            try:
                report = self._sync.handle(item)
            except Exception as error:  # this event only: the others of the chunk go on
                reason = error.code if isinstance(error, DomainError) else type(error).__name__
                logger.warning(
                    "payment event failed",
                    exc_info=True,
                    extra={"realm_id": item.realm_id, "entity": item.entity, "entity_id": item.entity_id},
                )
                outcome.failed.append((item, reason))
                continue
            outcome.handled.append((item, report))
        left = outcome.not_started + [item for item, _ in outcome.failed]
        if not left:
            return outcome
        if not outcome.handled and not outcome.not_started:
            reasons = sorted({reason for _, reason in outcome.failed})
            raise ChunkFailed(
                f"All {len(outcome.failed)} events of the message failed.",
                details={"failed": len(outcome.failed), "reasons": reasons},
            )
        self._queue.send(left, delay_seconds=self._retry_delay_seconds if outcome.failed else 0)
        outcome.requeued = len(left)
        return outcome


class _Job:
    """One event for one connection."""

    def __init__(self, service: PaymentSyncService, connection: Connection, report: SyncReport):
        assert connection.company is not None
        self.s = service
        self.connection = connection
        self.cid = connection.connection_id
        self.realm_id = connection.company.realm_id
        self.report = report
        self.credentials = service._tokens.provider_for(self.cid, connection)
        self.qbo = service._quickbooks(self.realm_id, self.credentials)
        self._productive: ProductiveApi | None = None
        self._invoice_of: dict[str, str | None] = {}
        self._payments_read: dict[str, dict[str, Any] | None] = {}

    @property
    def productive(self) -> ProductiveApi:
        if self._productive is None:
            self._productive = self.s._productive(self.connection, self.credentials.secret().productive_api_token)
        return self._productive

    def run(self, event: EntityEvent) -> None:
        if event.entity == "Payment":
            self.sync_payment(event.entity_id)
            return
        entity: QuickBooksType = "CreditMemo" if event.entity == "CreditMemo" else "Invoice"
        copy = self.copy_of(entity, event.entity_id)
        if copy is None:
            self.report.skipped.append(f"QuickBooks {entity} {event.entity_id} was not copied by this connection")
            return
        current = None if event.operation == "delete" else self.qbo.get(entity, event.entity_id)
        self._flag(copy, change_flag(copy, current, self.s._clock.now()))
        if entity != "Invoice":
            return
        if current is not None and not is_voided(current):
            # Every payment also updates its invoices (Balance, LinkedTxn), and those payments come with
            # their own events; what this event adds is the invoice's credit from QuickBooks.
            self._check_credits(copy, current)
        if event.operation not in INVOICE_OPERATIONS and (current is None or not is_voided(current)):
            return
        if not self.connection.syncs_payments:
            return  # its payments are not mirrored: nothing to re-read
        # An invoice was voided or deleted: re-read the payments applied to it.
        payment_ids = {link.quickbooks_payment_id for link in self.s._payments.for_invoice(self.cid, copy.invoice_id)}
        payment_ids.update(linked_payment_ids(current))
        for payment_id in sorted(payment_ids, key=lambda value: (len(value), value)):
            self.sync_payment(payment_id)

    def copy_of(self, entity: QuickBooksType, quickbooks_id: str) -> CopyRecord | None:
        """Our copy (with its flags) a QuickBooks invoice or credit memo is, for this connection."""
        copy = self.s._copies.copy_of_quickbooks_object(self.realm_id, entity, quickbooks_id)
        return copy if copy is not None and copy.connection_id == self.cid else None

    def _is_our_credit_memo(self, credit_memo_id: str) -> bool:
        return self.copy_of("CreditMemo", credit_memo_id) is not None

    def _flag(self, copy: CopyRecord, flag: CopyFlag | None) -> None:
        if flag is None or any((f.kind, f.version) == (flag.kind, flag.version) for f in copy.flags):
            return
        if flag.kind in RELEASING_FLAGS:
            # Before the flag: a retry after a failure here finds no flag and clears again (harmless).
            self._release_export(copy)
        if self.s._copies.flag(copy.connection_id, copy.invoice_id, copy.sequence, flag):
            self.report.flagged += 1
            logger.info(
                "copy flagged",
                extra={"connection_id": self.cid, "invoice_id": copy.invoice_id, "kind": flag.kind},
            )

    def _release_export(self, copy: CopyRecord) -> None:
        """Clear Productive's export fields, unless a later copy of the invoice holds them."""
        history = self.s._copies.history(copy.connection_id, copy.invoice_id)
        if history and history[0].sequence != copy.sequence:
            return
        try:
            self.productive.update_invoice_export(copy.invoice_id, export_id="", export_invoice_url="")
        except NotFound:
            self.report.skipped.append(f"Productive invoice {copy.invoice_id} no longer exists")

    def _check_credits(self, copy: CopyRecord, invoice: dict[str, Any]) -> None:
        """Flag the credit QuickBooks-made credit memos give this invoice, over all its payments, when it
        is not what the copy's last credit flag says."""
        amount = Decimal(0)
        memo_ids: set[str] = set()
        payment_ids = sorted(set(linked_payment_ids(invoice)))
        self._read_payments(payment_ids)
        for payment_id in payment_ids:
            payment = self._payments_read[payment_id]
            credit, ids = credit_from_quickbooks(payment, copy.quickbooks_id, is_ours=self._is_our_credit_memo)
            amount += credit
            memo_ids.update(ids)
        self._flag(copy, credit_flag(copy, invoice, amount, tuple(sorted(memo_ids)), self.s._clock.now()))

    def _read_payments(self, payment_ids: Sequence[str]) -> None:
        """Read the payments this event has not read yet, up to PAYMENTS_PER_QUERY in one query: an
        invoice paid in many tranches has every one of its events look at all its payments, and a read
        each made those events cost as many reads as the invoice had payments."""
        unread = [payment_id for payment_id in payment_ids if payment_id not in self._payments_read]
        for start in range(0, len(unread), PAYMENTS_PER_QUERY):
            chunk = unread[start : start + PAYMENTS_PER_QUERY]
            rows = self.qbo.query(f"select * from Payment where Id in {quote_list(chunk)}")
            found = {str(row.get("Id")): row for row in rows}
            for payment_id in chunk:
                self._payments_read[payment_id] = found.get(payment_id)  # None: deleted meanwhile

    def invoice_for(self, quickbooks_invoice_id: str) -> str | None:
        """The Productive invoice a QuickBooks invoice was copied from by this connection (any copy)."""
        if quickbooks_invoice_id not in self._invoice_of:
            copy = self.s._copies.copy_of_quickbooks_invoice(self.realm_id, quickbooks_invoice_id)
            self._invoice_of[quickbooks_invoice_id] = (
                copy.invoice_id if copy is not None and copy.connection_id == self.cid else None
            )
        return self._invoice_of[quickbooks_invoice_id]

    # -- one payment -----------------------------------------------------------------------------

    def sync_payment(self, payment_id: str) -> None:
        if self.s._copies.is_our_credit_application(self.realm_id, payment_id):
            # Applies a credit note we copied: Productive knows that credit, and no cash moved.
            self.report.skipped.append("our_credit_application")
            return
        with self._locked(payment_id):
            self.report.payments_seen += 1
            payment = self.qbo.get("Payment", payment_id)
            self._payments_read[payment_id] = payment
            links = {link.invoice_id: link for link in self.s._payments.for_payment(self.cid, payment_id)}
            desired = desired_payments(payment, invoice_for=self.invoice_for)
            if not desired and not links:
                self.report.skipped.append(f"payment {payment_id} applies to no invoice copied by this service")
                if payment is not None and self._only_on_foreign_invoices(payment):
                    self._skipped(payment_id, payment, "invoice_not_copied")
                return
            if (
                not links
                and payment is not None
                and not in_scope(payment, self.connection.settings.sync_payments_since)
            ):
                # Never mirrored and dated before sync was switched on: not ours. (One already mirrored
                # stays mirrored, even when its date is moved back.)
                self.report.skipped.append(f"payment {payment_id} is dated before payment sync was switched on")
                for invoice_id in sorted(desired):
                    self._skipped(payment_id, payment, "before_sync_start", invoice_id)
                return
            note = note_for(payment) if payment is not None else ""
            for invoice_id in sorted(desired.keys() | links.keys()):
                want, have = desired.get(invoice_id), links.get(invoice_id)
                if want is not None:
                    self._ensure(payment_id, want, have, note)
                elif have is not None:
                    self._remove(have, _removed_because(payment))
        if has_credit(payment):
            # A deleted or edited payment's credit changes its invoices too: their own events recount it.
            for quickbooks_invoice_id in sorted(set(linked_invoice_ids(payment))):
                copy = self.copy_of("Invoice", quickbooks_invoice_id)
                invoice = self.qbo.get("Invoice", quickbooks_invoice_id) if copy is not None else None
                if copy is not None and invoice is not None:
                    self._check_credits(copy, invoice)

    @contextmanager
    def _locked(self, payment_id: str) -> Iterator[None]:
        owner = uuid.uuid4().hex
        for attempt in range(LOCK_ATTEMPTS):
            if attempt:
                self.s._sleep(LOCK_WAIT_SECONDS)  # another worker's sync of one payment takes well under a second
            now = self.s._clock.now()
            if self.s._payments.try_lock(self.cid, payment_id, owner, now, now + PAYMENT_LOCK):
                break
        else:
            raise PaymentInProgress(
                f"QuickBooks payment {payment_id} is being synced by another worker.",
                details={"retry_after_seconds": 5},
            )
        try:
            yield
        finally:
            self.s._payments.unlock(self.cid, payment_id, owner)

    def _ensure(self, payment_id: str, want: DesiredPayment, have: PaymentLink | None, note: str) -> None:
        if have is not None and not have.pending:
            if have.amount == want.amount and have.paid_on == want.paid_on:
                self.report.unchanged += 1
                return
            assert have.productive_payment_id is not None
            try:
                self.productive.update_payment(have.productive_payment_id, want.amount, want.paid_on, note)
            except NotFound:
                logger.warning(
                    "Productive payment vanished; creating it again",
                    extra={"connection_id": self.cid, "productive_payment_id": have.productive_payment_id},
                )
                self._create(payment_id, want, note, look_first=False)
                return
            self._save(payment_id, want, have.productive_payment_id, "payment_updated", before=have)
            self.report.updated += 1
            return
        self._create(payment_id, want, note, look_first=have is not None)

    def _create(self, payment_id: str, want: DesiredPayment, note: str, *, look_first: bool) -> None:
        if look_first:
            # A previous attempt may have created it and not lived to record it: adopt it.
            for existing in self.productive.list_payments(want.invoice_id):
                if carries_marker(existing.note, payment_id):
                    if existing.amount != want.amount or existing.paid_on != want.paid_on:
                        self.productive.update_payment(existing.id, want.amount, want.paid_on, note)
                    self._save(payment_id, want, existing.id, "payment_mirrored")
                    self.report.adopted += 1
                    return
        self._save(payment_id, want, None)  # pending: the marker will find it if we crash now
        try:
            created = self.productive.create_payment(want.invoice_id, want.amount, want.paid_on, note)
        except NotFound:
            self.s._payments.delete(self.cid, payment_id, want.invoice_id)
            logger.warning(
                "Productive invoice is gone; payment not mirrored",
                extra={"connection_id": self.cid, "invoice_id": want.invoice_id, "quickbooks_payment_id": payment_id},
            )
            self.report.skipped.append(f"Productive invoice {want.invoice_id} no longer exists")
            payment = self._payments_read.get(payment_id)
            if payment is not None:
                self._skipped(payment_id, payment, "productive_invoice_missing", want.invoice_id)
            return
        self._save(payment_id, want, created.id, "payment_mirrored")
        self.report.created += 1

    def _remove(self, have: PaymentLink, why: str) -> None:
        if have.productive_payment_id is not None:
            self.productive.delete_payment(have.productive_payment_id)
        else:  # a create that may or may not have happened
            for existing in self.productive.list_payments(have.invoice_id):
                if carries_marker(existing.note, have.quickbooks_payment_id):
                    self.productive.delete_payment(existing.id)
        entry = activity.payment_changed("payment_removed", have, self.s._clock.now(), why=why)
        self.s._payments.delete(self.cid, have.quickbooks_payment_id, have.invoice_id, activity=entry)
        self.report.deleted += 1

    def _save(
        self,
        payment_id: str,
        want: DesiredPayment,
        productive_payment_id: str | None,
        change: PaymentChange | None = None,
        *,
        before: PaymentLink | None = None,
    ) -> None:
        """The mapping; a `change` done in Productive goes into the activity log in the same write."""
        link = PaymentLink(
            connection_id=self.cid,
            quickbooks_payment_id=payment_id,
            invoice_id=want.invoice_id,
            productive_payment_id=productive_payment_id,
            amount=want.amount,
            paid_on=want.paid_on,
            updated_at=self.s._clock.now(),
        )
        entry = activity.payment_changed(change, link, link.updated_at, before=before) if change else None
        self.s._payments.save(link, activity=entry)

    def _only_on_foreign_invoices(self, payment: dict[str, Any]) -> bool:
        """The payment pays invoices, none of them copied by this connection (worth an entry: "why isn't
        it in Productive?"). A voided payment pays nothing; one that only applies credit to our copies
        has its own flag on them."""
        invoices = set(linked_invoice_ids(payment))
        return bool(invoices) and not is_voided(payment) and not any(self.invoice_for(i) for i in invoices)

    def _skipped(self, payment_id: str, payment: dict[str, Any], reason: str, invoice_id: str | None = None) -> None:
        """payment_event_skipped, once per payment version (its SyncToken) and reason."""
        when = txn_date(payment)
        self.s._activity.record(
            activity.payment_event_skipped(
                self.cid,
                self.s._clock.now(),
                reason=reason,
                entity="Payment",
                entity_id=payment_id,
                version=str(payment.get("SyncToken", "")),
                invoice_id=invoice_id,
                details={
                    "amount": str(payment.get("TotalAmt", "")),
                    "paid_on": when.isoformat() if when else None,
                    "quickbooks_invoice_ids": sorted(set(linked_invoice_ids(payment))),
                    "customer_name": (payment.get("CustomerRef") or {}).get("name"),
                },
            )
        )


def _removed_because(payment: dict[str, Any] | None) -> str:
    if payment is None:
        return "the payment was deleted in QuickBooks"
    if is_voided(payment):
        return "the payment was voided in QuickBooks"
    return "the payment no longer applies to this invoice in QuickBooks"
