"""Productive credit notes as QuickBooks credit memos, applied to their parent invoice's copy (README "Copy
to QuickBooks", "Credit notes"; docs/architecture.md "Copy").

Pure rules: no I/O. The copy service finds the parent's copy, reads the parent invoice's open balance in
QuickBooks and sends what this module builds."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any

from qbosync.domain.copies import CopyWarning
from qbosync.domain.money import cents

ZERO = Decimal(0)


@dataclass(frozen=True)
class ParentCopy:
    """The QuickBooks invoice a credit note's parent invoice was copied to, in the connection's company."""

    invoice_id: str  # the Productive parent invoice
    quickbooks_invoice_id: str
    customer_id: str


def application_amount(credit_total: Decimal, invoice_balance: Decimal, applied_before: Decimal = ZERO) -> Decimal:
    """What the credit memo should apply to the invoice: all of it, but never more than the invoice has open.
    `applied_before` is what our application payment already applies (the balance read is net of it)."""
    return max(ZERO, min(cents(credit_total), cents(invoice_balance + applied_before)))


def application_payment(
    *,
    customer_id: str,
    quickbooks_invoice_id: str,
    credit_memo_id: str,
    amount: Decimal,
    txn_date: date | None,
    marker: str,
) -> dict[str, Any]:
    """The QuickBooks Payment that applies a credit memo to an invoice: total 0, one line taking `amount`
    off the invoice and one taking the same amount from the credit memo."""
    body: dict[str, Any] = {
        "CustomerRef": {"value": customer_id},
        "TotalAmt": ZERO,
        "Line": [
            {"Amount": amount, "LinkedTxn": [{"TxnId": quickbooks_invoice_id, "TxnType": "Invoice"}]},
            {"Amount": amount, "LinkedTxn": [{"TxnId": credit_memo_id, "TxnType": "CreditMemo"}]},
        ],
        "PrivateNote": f"Credit note applied by qbosync [{marker}]",
    }
    if txn_date is not None:
        body["TxnDate"] = txn_date.isoformat()
    return body


def partly_applied(credit_total: Decimal, applied: Decimal, currency: str) -> CopyWarning:
    remaining = cents(credit_total) - applied
    return CopyWarning(
        code="credit_partly_applied",
        message=f"The credit memo ({cents(credit_total)} {currency}) is more than the parent invoice has open in "
        f"QuickBooks; {applied} {currency} was applied and {remaining} {currency} stays as credit on the "
        "customer's account.",
        details={
            "credit_amount": str(cents(credit_total)),
            "applied_amount": str(applied),
            "remaining_credit": str(remaining),
        },
    )


def not_applied(reason: str, message: str) -> CopyWarning:
    return CopyWarning(code="credit_not_applied", message=message, details={"reason": reason})
