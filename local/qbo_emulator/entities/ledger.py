"""Ledger rules shared by invoices and payments: what a payment applies to an invoice and the balance left.

Both entity modules import these; neither imports the other.
"""

from __future__ import annotations

from decimal import Decimal

from local.qbo_emulator.entities.common import money
from local.qbo_emulator.store import Realm, Record

ZERO = Decimal("0")


def links(payment: Record) -> list[tuple[str, Decimal]]:
    """The (invoice id, amount) pairs a payment's lines apply."""
    out = []
    for line in payment.get("Line", []):
        for linked in line.get("LinkedTxn", []):
            if linked.get("TxnType") == "Invoice":
                out.append((str(linked["TxnId"]), Decimal(line.get("Amount", 0))))
    return out


def applied_to(realm: Realm, invoice_id: str) -> Decimal:
    """The sum of all payments applied to one invoice."""
    total = ZERO
    for payment in realm.all("Payment"):
        for txn_id, amount in links(payment):
            if txn_id == invoice_id:
                total += amount
    return total


def set_balance(record: Record, applied: Decimal) -> None:
    """Balance = TotalAmt - payments applied (HomeBalance in home currency)."""
    balance = money(Decimal(record["TotalAmt"]) - applied)
    record["Balance"] = balance
    record["HomeBalance"] = money(balance * Decimal(record.get("ExchangeRate", 1)))
