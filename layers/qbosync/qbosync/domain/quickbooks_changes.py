"""Changes made in QuickBooks to what we copied (docs/architecture.md "Changes made in QuickBooks").

A copy is flagged: voided, deleted, or changed (total, customer or lines) in QuickBooks; credited there
by a credit memo Productive does not know. Our own writes are not changes: QuickBooks gives every write
a new SyncToken, and the copy record keeps the one our last write produced. A payment applied to an
invoice also moves its SyncToken (its Balance and LinkedTxn change), which is why a change is the total,
the customer or the lines differing from what our last write left, not a new SyncToken alone. Our next
update puts Productive's invoice back, so it resolves a change flag and an earlier total mismatch."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
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


#: The flags our own update makes untrue: QuickBooks holds Productive's invoice again.
RESOLVED_BY_OUR_UPDATE = ("changed_in_quickbooks", "total_mismatch")


def resolved_by_update(flags: Sequence[CopyFlag]) -> tuple[CopyFlag, ...]:
    return tuple(flag for flag in flags if flag.kind in RESOLVED_BY_OUR_UPDATE)


def _plain_number(value: Any) -> str:
    """A number as one spelling (10, 10.0 and 10.00 are the same amount)."""
    if value is None or value == "":
        return ""
    return f"{Decimal(str(value)).normalize():f}"


def lines_digest(row: dict[str, Any]) -> str:
    """A fingerprint of what a QuickBooks invoice's or credit memo's lines say: per line, in order, its
    kind, description, amount, item, quantity, unit price, tax code and class. QuickBooks' own subtotal
    line and the lines' ids are left out: they are not what anyone edits."""
    lines = []
    for line in row.get("Line") or []:
        kind = str(line.get("DetailType", ""))
        if kind == "SubTotalLineDetail":
            continue
        detail = line.get(kind) or {}
        lines.append(
            [
                kind,
                str(line.get("Description") or "").strip(),
                _plain_number(line.get("Amount")),
                str((detail.get("ItemRef") or {}).get("value", "")),
                _plain_number(detail.get("Qty")),
                _plain_number(detail.get("UnitPrice")),
                str((detail.get("TaxCodeRef") or {}).get("value", "")),
                str((detail.get("ClassRef") or {}).get("value", "")),
                _plain_number(detail.get("DiscountPercent")),
            ]
        )
    return hashlib.sha256(json.dumps(lines).encode()).hexdigest()[:32]


#: What else our writes set on a copy, beyond its total, customer and lines.
WRITTEN_DETAILS = ("PrivateNote", "CustomerMemo", "TxnDate", "DueDate", "DocNumber", "CurrencyRef")


#: Written only when the settings ask for them; counted only when present, so that the fingerprint of a
#: copy without them is what it was before classes and locations were copied.
WRITTEN_REFERENCES = ("ClassRef", "DepartmentRef")


def details_digest(row: dict[str, Any]) -> str:
    """A fingerprint of the other fields our writes set (memo, private note, dates, number, currency; the
    class and location of the whole invoice)."""
    details = [json.dumps(row.get(name), sort_keys=True, default=str) for name in WRITTEN_DETAILS]
    details.extend(f"{name}={(row.get(name) or {}).get('value')}" for name in WRITTEN_REFERENCES if row.get(name))
    return hashlib.sha256(json.dumps(details).encode()).hexdigest()[:32]


def changed_parts(record: CopyRecord, current: dict[str, Any], *, details: bool = False) -> list[str]:
    """What of the copy differs in QuickBooks from what our last write left: total, customer, lines and,
    with `details`, the other fields our writes set (an update overwrites them all; a change flag is
    about the first three)."""
    total = cents(decimal_or_zero(current.get("TotalAmt")))
    customer = str((current.get("CustomerRef") or {}).get("value", ""))
    return [
        name
        for name, differs in (
            ("total", total != cents(record.total_amount)),
            ("customer", bool(record.customer_id) and customer != record.customer_id),
            ("lines", record.lines_digest is not None and lines_digest(current) != record.lines_digest),
            (
                "details",
                details and (record.details_digest is None or details_digest(current) != record.details_digest),
            ),
        )
        if differs
    ]


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
    changed = changed_parts(record, current)
    if not changed:
        return None
    total = cents(decimal_or_zero(current.get("TotalAmt")))
    customer = str((current.get("CustomerRef") or {}).get("value", ""))
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
