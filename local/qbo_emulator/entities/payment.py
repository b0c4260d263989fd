"""Payments (money received from a customer) and the application rule they share with bill payments.

Payment
  * Required: CustomerRef (active) and TotalAmt (>= 0). ``CurrencyRef`` is the customer's.
  * Lines apply amounts through ``LinkedTxn[{TxnId, TxnType}]``: to the customer's invoices (a charge: the
    invoice's Balance goes down) and credit memos (a credit: the memo's RemainingCredit goes down and
    the credit pays the invoices on the other lines). So a payment of TotalAmt 0 with one line of 100
    linking an invoice and one of 100 linking a credit memo applies the credit to the invoice.
  * Each line links one document of the same customer that is not void; a line may not exceed what is
    still open on its document; the charges less the credits may not exceed TotalAmt nor be negative.
    ``UnappliedAmt`` = TotalAmt - (charges - credits): a credit on the customer's account.
  * Update (full or sparse; Line replaces all lines), delete (``operation=delete``) and void
    (``operation=update&include=void``, python-quickbooks' way; ``operation=void`` also accepted)
    take the old application back first, so the documents reopen (``ledger.py``).
  * DepositToAccountRef defaults to Undeposited Funds.
"""

from __future__ import annotations

import copy
from decimal import Decimal

from local.qbo_emulator import faults
from local.qbo_emulator.entities import common
from local.qbo_emulator.entities.common import money
from local.qbo_emulator.entities.currency import currency_ref, exchange_rate
from local.qbo_emulator.entities.engine import Rules, Write
from local.qbo_emulator.entities.ledger import ZERO, applied_to
from local.qbo_emulator.store import Record

WORDS = {"Invoice": "invoice", "CreditMemo": "credit memo", "Bill": "bill", "VendorCredit": "vendor credit"}


def build(w: Write) -> Record:
    body = w.record
    customer = w.targets["CustomerRef"]
    total = required_total(body, w.spec.name)
    record: Record = {"CustomerRef": body["CustomerRef"]}
    party_currency(w, customer, record, "customer")
    record["TotalAmt"] = total
    lines, net = apply_lines(w, "CustomerRef", str(customer["Id"]), charges=("Invoice",), credits=("CreditMemo",))
    if net > total:
        raise common.business_fault(
            f"The amounts applied ({net}) are more than the payment's total ({total})", "TotalAmt"
        )
    record["Line"] = lines
    record["UnappliedAmt"] = money(total - net)
    record["TxnDate"] = common.txn_date(w.ctx, body).isoformat()
    record["DepositToAccountRef"] = body.get("DepositToAccountRef") or common.undeposited_funds(w.ctx)
    for key in ("PaymentRefNum", "PaymentMethodRef", "PrivateNote", "ARAccountRef", "CreditCardPayment"):
        if body.get(key) not in (None, "", {}):
            record[key] = copy.deepcopy(body[key])
    record["ProcessPayment"] = body.get("ProcessPayment") is True
    return record


def required_total(body: Record, entity: str) -> Decimal:
    total = common.decimal_field(body.get("TotalAmt"), "TotalAmt")
    if total is None:
        raise faults.required_param("TotalAmt", entity)
    total = money(total)
    if total < 0:
        raise common.business_fault("TotalAmt cannot be negative", "TotalAmt")
    return total


def party_currency(w: Write, party: Record, record: Record, who: str) -> Decimal:
    """The party's currency (a different one sent is refused) and the transaction's exchange rate."""
    realm = w.realm
    currency = party.get("CurrencyRef", {}).get("value", realm.home_currency)
    sent = common.ref_value(w.record.get("CurrencyRef"))
    if sent is not None and sent != currency:
        raise common.business_fault(
            f"The transaction currency ({sent}) must match the {who}'s currency ({currency})", "CurrencyRef"
        )
    record["CurrencyRef"] = currency_ref(realm, currency)
    rate = exchange_rate(w.ctx, w.record, currency)
    record["ExchangeRate"] = rate
    return rate


def apply_lines(
    w: Write, party_field: str, party_id: str, *, charges: tuple[str, ...], credits: tuple[str, ...]
) -> tuple[list[Record], Decimal]:
    """Check the lines that apply this transaction to documents; returns them and charges less credits."""
    realm = w.realm
    own = (w.spec.name, str(w.previous["Id"])) if w.previous is not None else None
    lines: list[Record] = []
    net = ZERO
    per_doc: dict[tuple[str, str], Decimal] = {}
    for index, raw in enumerate(w.record.get("Line") or []):
        if not isinstance(raw, dict):
            raise faults.request_has_invalid_or_unsupported(f"Line[{index}] must be an object")
        amount = common.decimal_field(raw.get("Amount"), "Amount")
        if amount is None:
            raise faults.required_param(f"Line[{index}].Amount", w.spec.name)
        amount = money(amount)
        if amount < 0:
            raise common.business_fault("A payment line cannot be negative", f"Line[{index}].Amount")
        where = f"Line[{index}].LinkedTxn"
        linked_out = []
        for linked in raw.get("LinkedTxn") or []:
            kind = str(linked.get("TxnType", ""))
            txn_id = str(linked.get("TxnId", ""))
            if kind not in charges + credits:
                allowed = ", ".join(charges + credits)
                raise common.business_fault(
                    f"A {w.spec.name} line can be applied to {allowed} only (got {kind})", where
                )
            document = realm.get(kind, txn_id)
            if document is None:
                raise common.invalid_reference(kind, txn_id, where)
            word = WORDS.get(kind, kind)
            if common.ref_value(document.get(party_field)) != party_id:
                owner = party_field.removesuffix("Ref").lower()
                raise common.business_fault(f"{word.capitalize()} {txn_id} belongs to another {owner}", where)
            if document.get("_voided"):
                raise common.business_fault(f"{word.capitalize()} {txn_id} is void", where)
            others = applied_to(realm, kind, txn_id, excluding=own)
            per_doc[(kind, txn_id)] = per_doc.get((kind, txn_id), ZERO) + amount
            document_total = Decimal(document.get("TotalAmt", 0))
            if others + per_doc[(kind, txn_id)] > document_total:
                raise common.business_fault(
                    f"The amount applied to {word} {txn_id} ({amount}) is more than its open balance "
                    f"({money(document_total - others)})",
                    f"Line[{index}].Amount",
                )
            linked_out.append({"TxnId": txn_id, "TxnType": kind})
        if len(linked_out) != 1:
            raise common.business_fault("Each payment line links exactly one transaction", where)
        net += -amount if linked_out[0]["TxnType"] in credits else amount
        lines.append({"Amount": amount, "LinkedTxn": linked_out})
    if net < 0:
        raise common.business_fault(
            f"The credits applied are {-net} more than the charges they pay; apply them to a charge", "Line"
        )
    return lines, net


def sparse_source(previous: Record, body: Record) -> Record:
    source = common.merged_for_sparse(previous, body)
    return {k: v for k, v in source.items() if not k.startswith("_") and k != "UnappliedAmt"}


RULES = Rules(build=build, sparse_source=sparse_source)
