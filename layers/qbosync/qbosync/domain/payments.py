"""Payment sync rules (docs/architecture.md "Payment sync"): what Productive should hold for one QuickBooks
payment.

One Productive payment per (QuickBooks payment, Productive invoice): the cash the payment applies to
QuickBooks invoices this service copied from that Productive invoice (any copy, older ones of a
re-copied invoice included), dated with the payment's TxnDate. A voided payment (no lines, zero
amounts) or a deleted one wants nothing.

Cash only (README "Payment sync"): a payment's lines apply cash and credit memos together, and its
cash is TotalAmt. QuickBooks does not say which invoice a credit settles, so `applications` allocates
the credit to the invoice lines in line order, the first invoice first, and what is left of each line
is cash. Credit from a credit memo we copied is known to Productive already; credit from one made in
QuickBooks is flagged on the invoice's copy, never mirrored as money. What a payment leaves unapplied
(an overpayment) is on no invoice, so it is mirrored nowhere.

The mapping kept for each Productive payment is what makes a deleted QuickBooks payment reversible: it
can no longer be read."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import TYPE_CHECKING, Any, Protocol

from qbosync.domain.money import cents, decimal_or_zero

if TYPE_CHECKING:
    from qbosync.domain.activity import Activity

MARKER_PREFIX = "QuickBooks payment"
EARLIEST_OFFSET = timedelta(hours=12)  # UTC-12, the westernmost time zone


@dataclass(frozen=True)
class DesiredPayment:
    """What one Productive invoice should carry for one QuickBooks payment."""

    invoice_id: str
    amount: Decimal
    paid_on: date
    quickbooks_invoice_ids: tuple[str, ...]


@dataclass(frozen=True)
class Application:
    """One invoice line of a QuickBooks payment once credit is allocated: the line's amount is its cash
    plus the credit (credit memo id, amount) it was given; a credit memo id of None is credit the
    payment's lines hold beyond its credit memo lines (QuickBooks keeps these consistent, so never
    in practice)."""

    quickbooks_invoice_id: str
    amount: Decimal
    cash: Decimal
    credits: tuple[tuple[str | None, Decimal], ...] = ()


@dataclass(frozen=True)
class PaymentLink:
    """The mapping: a Productive payment made for (connection, QuickBooks payment, Productive invoice).

    `productive_payment_id` is None while a create is in flight: a retry then looks for the marker
    among the invoice's payments before creating again."""

    connection_id: str
    quickbooks_payment_id: str
    invoice_id: str
    productive_payment_id: str | None
    amount: Decimal
    paid_on: date
    updated_at: datetime

    @property
    def pending(self) -> bool:
        return self.productive_payment_id is None


def marker(quickbooks_payment_id: str) -> str:
    return f"{MARKER_PREFIX} {quickbooks_payment_id}"


def note_for(payment: dict[str, Any]) -> str:
    """The Productive payment's note: the marker, then the reference number when there is one."""
    text = marker(str(payment["Id"]))
    reference = str(payment.get("PaymentRefNum") or "").strip()
    return f"{text} (ref {reference[:40]})" if reference else text


def carries_marker(note: str | None, quickbooks_payment_id: str) -> bool:
    if not note:
        return False
    return re.match(rf"{re.escape(marker(quickbooks_payment_id))}(?!\w)", note.strip()) is not None


def txn_date(payment: dict[str, Any]) -> date | None:
    raw = payment.get("TxnDate")
    if not raw:
        return None
    try:
        return date.fromisoformat(str(raw)[:10])
    except ValueError:
        return None


def in_scope(payment: dict[str, Any], sync_since: datetime | None) -> bool:
    """Payments dated before sync was switched on are not ours to mirror. TxnDate is a date in the
    company's time zone, which we do not know: the cutoff is the earliest calendar date anywhere on
    Earth at the moment sync was switched on (UTC-12), so a payment recorded right after switching on
    is never taken for an older one."""
    when = txn_date(payment)
    if when is None:
        return False
    return sync_since is None or when >= (sync_since - EARLIEST_OFFSET).date()


def _linked_lines(payment: dict[str, Any], txn_type: str) -> list[tuple[str, Decimal]]:
    """(linked id, line amount) of the payment's lines linking a `txn_type`, in line order."""
    found: list[tuple[str, Decimal]] = []
    for line in payment.get("Line") or []:
        if not isinstance(line, dict):
            continue
        amount = max(decimal_or_zero(line.get("Amount")), Decimal(0))
        for linked in line.get("LinkedTxn") or []:
            if isinstance(linked, dict) and linked.get("TxnType") == txn_type and linked.get("TxnId"):
                found.append((str(linked["TxnId"]), amount))
    return found


def applications(payment: dict[str, Any] | None) -> list[Application]:
    """The payment's invoice lines, in line order, each split into cash and allocated credit.

    The cash is TotalAmt less what stays unapplied: min(TotalAmt, invoice lines - credit memo lines),
    never below zero. The rest of the invoice lines is credit, allocated line by line, first invoice
    first, taken from the credit memo lines in their order."""
    if payment is None or str(payment.get("status", "")).lower() == "deleted":
        return []
    invoice_lines = _linked_lines(payment, "Invoice")
    credit_lines = _linked_lines(payment, "CreditMemo")
    lines_total = sum((amount for _, amount in invoice_lines), Decimal(0))
    credit_total = sum((amount for _, amount in credit_lines), Decimal(0))
    total = max(decimal_or_zero(payment.get("TotalAmt")), Decimal(0))
    cash_total = max(min(total, lines_total - credit_total), Decimal(0))
    credit_left = lines_total - cash_total
    memos: list[tuple[str | None, Decimal]] = [(memo_id, amount) for memo_id, amount in credit_lines if amount > 0]
    if credit_left > credit_total:
        memos.append((None, credit_left - credit_total))
    result: list[Application] = []
    for invoice_id, amount in invoice_lines:
        wanted = min(amount, credit_left)
        credit_left -= wanted
        given: list[tuple[str | None, Decimal]] = []
        while wanted > 0 and memos:
            memo_id, available = memos[0]
            taken = min(wanted, available)
            given.append((memo_id, taken))
            wanted -= taken
            if taken == available:
                memos.pop(0)
            else:
                memos[0] = (memo_id, available - taken)
        credit = sum((taken for _, taken in given), Decimal(0))
        result.append(Application(invoice_id, amount, amount - credit, tuple(given)))
    return result


def credit_from_quickbooks(
    payment: dict[str, Any] | None, quickbooks_invoice_id: str, *, is_ours: Callable[[str], bool]
) -> tuple[Decimal, tuple[str, ...]]:
    """The credit this payment allocates to one QuickBooks invoice from credit memos made in
    QuickBooks (not copied by us: `is_ours(credit_memo_id)` is False), and those credit memos."""
    amount = Decimal(0)
    memo_ids: set[str] = set()
    for application in applications(payment):
        if application.quickbooks_invoice_id != quickbooks_invoice_id:
            continue
        for memo_id, taken in application.credits:
            if memo_id is None or not is_ours(memo_id):
                amount += taken
                if memo_id is not None:
                    memo_ids.add(memo_id)
    return cents(amount), tuple(sorted(memo_ids))


def has_credit(payment: dict[str, Any] | None) -> bool:
    return bool(payment) and bool(_linked_lines(payment or {}, "CreditMemo"))


def desired_payments(
    payment: dict[str, Any] | None, *, invoice_for: Callable[[str], str | None]
) -> dict[str, DesiredPayment]:
    """Productive invoice id -> the payment it should carry, for a payment as QuickBooks holds it now:
    the cash of `applications`.

    `invoice_for(quickbooks_invoice_id)` names the Productive invoice a QuickBooks invoice was copied
    from for this connection, or None when this service did not copy it. A missing (deleted) or voided
    payment wants nothing."""
    if payment is None:
        return {}
    when = txn_date(payment)
    if when is None:
        return {}
    amounts: dict[str, Decimal] = {}
    sources: dict[str, list[str]] = {}
    for application in applications(payment):
        qbo_invoice_id = application.quickbooks_invoice_id
        invoice_id = invoice_for(qbo_invoice_id)
        if invoice_id is None:
            continue
        amounts[invoice_id] = amounts.get(invoice_id, Decimal(0)) + application.cash
        sources.setdefault(invoice_id, []).append(qbo_invoice_id)
    return {
        invoice_id: DesiredPayment(invoice_id, cents(total), when, tuple(sorted(set(sources[invoice_id]))))
        for invoice_id, total in amounts.items()
        if total > 0
    }


def linked_invoice_ids(payment: dict[str, Any] | None) -> list[str]:
    """The QuickBooks invoices a payment is applied to."""
    if not payment:
        return []
    ids: list[str] = []
    for line in payment.get("Line") or []:
        for linked in (line or {}).get("LinkedTxn") or []:
            if isinstance(linked, dict) and linked.get("TxnType") == "Invoice" and linked.get("TxnId"):
                ids.append(str(linked["TxnId"]))
    return ids


def linked_payment_ids(invoice: dict[str, Any] | None) -> list[str]:
    """The QuickBooks payments an invoice lists in its LinkedTxn."""
    if not invoice:
        return []
    return [
        str(linked["TxnId"])
        for linked in invoice.get("LinkedTxn") or []
        if isinstance(linked, dict) and linked.get("TxnType") == "Payment" and linked.get("TxnId")
    ]


class PaymentMappingRepository(Protocol):
    """Per (connection, QuickBooks payment, Productive invoice): the Productive payment made for it.
    Kept after a disconnect."""

    def for_payment(self, connection_id: str, quickbooks_payment_id: str) -> list[PaymentLink]: ...

    def for_invoice(self, connection_id: str, invoice_id: str) -> list[PaymentLink]: ...

    def save(self, link: PaymentLink, *, activity: Activity | None = None) -> None:
        """Write the mapping; with `activity`, the activity entry in the same (transactional) write."""
        ...

    def delete(
        self, connection_id: str, quickbooks_payment_id: str, invoice_id: str, *, activity: Activity | None = None
    ) -> None:
        """Remove the mapping; with `activity`, the activity entry in the same (transactional) write."""
        ...

    def try_lock(
        self, connection_id: str, quickbooks_payment_id: str, owner: str, now: datetime, until: datetime
    ) -> bool: ...

    def unlock(self, connection_id: str, quickbooks_payment_id: str, owner: str) -> None: ...


class ReconcileStateRepository(Protocol):
    """The per-realm CDC cursor, which connections are connected, and how many there are by status."""

    def connected_connection_ids(self) -> list[str]: ...

    def connections_by_status(self) -> dict[str, int]:
        """Every ConnectionStatus value -> how many connections have it."""
        ...

    def cursor(self, realm_id: str) -> datetime | None: ...

    def save_cursor(self, realm_id: str, cursor: datetime) -> None: ...


class PaymentRepository(PaymentMappingRepository, ReconcileStateRepository, Protocol):
    """Both, as the one table holds them (qbosync.adapters.dynamodb_payments)."""
