"""Changes made in QuickBooks to what we copied (docs/architecture.md "Changes made in QuickBooks").

A copy is flagged, never changed back: voided, deleted, or changed (total or customer) in QuickBooks;
credited there by a credit memo Productive does not know. Our own writes are not changes: QuickBooks
gives every write a new SyncToken, and the copy record keeps the one our last write produced. A payment
applied to an invoice also moves its SyncToken (its Balance and LinkedTxn change), which is why a
change is the total or the customer differing from the copy, not a new SyncToken alone."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any

from qbosync.domain.copies import CopyFlag, CopyRecord
from qbosync.domain.money import cents, decimal_or_zero

DELETED_VERSION = "deleted"


def is_voided(row: dict[str, Any]) -> bool:
    """A voided invoice or credit memo keeps its record with amounts zeroed, its lines cleared and
    "Voided" at the start of its private note."""
    note = str(row.get("PrivateNote") or "")
    return note.startswith("Voided") or (decimal_or_zero(row.get("TotalAmt")) == 0 and not row.get("Line"))


def gone_in_quickbooks(record: CopyRecord) -> CopyFlag | None:
    """The flag saying the copy was voided or deleted in QuickBooks, if it was."""
    return next((f for f in record.flags if f.kind in ("voided_in_quickbooks", "deleted_in_quickbooks")), None)


def productive_total(record: CopyRecord) -> Decimal:
    """Productive's total when the copy was made: the copy's total unless they differed then."""
    for warning in record.warnings:
        if warning.code == "total_mismatch" and "productive_total" in warning.details:
            return Decimal(str(warning.details["productive_total"]))
    return record.total_amount


def change_flag(record: CopyRecord, current: dict[str, Any] | None, now: datetime) -> CopyFlag | None:
    """The flag QuickBooks' current state of a copy calls for, or None. `current` None: deleted."""
    reference = {"quickbooks_type": record.quickbooks_type, "quickbooks_id": record.quickbooks_id}
    if current is None or str(current.get("status", "")).lower() == "deleted":
        return CopyFlag("deleted_in_quickbooks", now, DELETED_VERSION, reference)
    version = str(current.get("SyncToken", ""))
    if version == record.sync_token:
        return None  # the state our own last write produced
    if is_voided(current):
        return CopyFlag("voided_in_quickbooks", now, version, {**reference, "quickbooks_sync_token": version})
    total = cents(decimal_or_zero(current.get("TotalAmt")))
    customer = str((current.get("CustomerRef") or {}).get("value", ""))
    changed = [
        name
        for name, differs in (
            ("total", total != cents(record.total_amount)),
            ("customer", bool(record.customer_id) and customer != record.customer_id),
        )
        if differs
    ]
    if not changed:
        return None
    return CopyFlag(
        "changed_in_quickbooks",
        now,
        version,
        {
            **reference,
            "changed": changed,
            "quickbooks_total": str(total),
            "productive_total": str(cents(productive_total(record))),
            "quickbooks_customer_id": customer,
            "quickbooks_sync_token": version,
        },
    )


def credit_flag(
    record: CopyRecord, invoice: dict[str, Any], amount: Decimal, credit_memo_ids: tuple[str, ...], now: datetime
) -> CopyFlag | None:
    """A `credited_in_quickbooks` flag when the credit QuickBooks-made credit memos give this invoice
    (over all its payments) is not what the copy's newest such flag says (none: zero)."""
    last = record.flagged("credited_in_quickbooks")
    known = Decimal(str(last.details.get("amount", "0"))) if last is not None else Decimal(0)
    if cents(amount) == cents(known):
        return None
    return CopyFlag(
        "credited_in_quickbooks",
        now,
        str(invoice.get("SyncToken", "")),
        {
            "quickbooks_type": record.quickbooks_type,
            "quickbooks_id": record.quickbooks_id,
            "amount": str(cents(amount)),
            "credit_memo_ids": list(credit_memo_ids),
            "quickbooks_total": str(cents(decimal_or_zero(invoice.get("TotalAmt")))),
        },
    )
