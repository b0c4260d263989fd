"""Payment writes: receive money from a customer and apply it to invoices.

* Required: CustomerRef (active) and TotalAmt (>= 0). Lines apply amounts to the customer's open
  invoices through ``LinkedTxn[{TxnId, TxnType: "Invoice"}]``; a line may not exceed the invoice's
  open balance and the lines may not exceed TotalAmt. ``UnappliedAmt`` = TotalAmt - applied.
* Applying changes the invoice: Balance goes down, the invoice's LinkedTxn lists the payment and its
  SyncToken and LastUpdatedTime move (so it shows up in CDC).
* Update (full or sparse; Line replaces all lines), delete (``operation=delete``) and void
  (``operation=update&include=void``, python-quickbooks' way; ``operation=void`` also accepted)
  take the old application back first, so the invoices reopen.
* DepositToAccountRef defaults to Undeposited Funds.
"""

from __future__ import annotations

import copy
from decimal import Decimal
from typing import Any

from local.qbo_emulator import faults
from local.qbo_emulator.api import ApiContext, ApiResult, json_body, json_result
from local.qbo_emulator.entities import common
from local.qbo_emulator.entities.common import money
from local.qbo_emulator.entities.ledger import ZERO, applied_to, links, set_balance
from local.qbo_emulator.seed import CURRENCY_NAMES
from local.qbo_emulator.store import Record

KNOWN = {
    "CustomerRef",
    "TotalAmt",
    "Line",
    "TxnDate",
    "PaymentRefNum",
    "PaymentMethodRef",
    "DepositToAccountRef",
    "ARAccountRef",
    "CurrencyRef",
    "ExchangeRate",
    "PrivateNote",
    "UnappliedAmt",
    "ProcessPayment",
    "CreditCardPayment",
    "TxnSource",
    "TransactionLocationType",
    "ProjectRef",
    "DocNumber",
    "TaxExemptionRef",
    "LinkedTxn",
    "TxnStatus",
}


def _refresh_invoice(ctx: ApiContext, invoice_id: str, touched: set[str]) -> None:
    realm = ctx.realm
    invoice = realm.get("Invoice", invoice_id)
    if invoice is None:
        return
    previous = copy.deepcopy(invoice)
    set_balance(invoice, applied_to(realm, invoice_id))
    invoice["LinkedTxn"] = [
        {"TxnId": str(p["Id"]), "TxnType": "Payment"}
        for p in sorted(realm.all("Payment"), key=lambda p: int(p["Id"]))
        if any(txn_id == invoice_id for txn_id, _ in links(p))
    ]
    if invoice_id not in touched:
        touched.add(invoice_id)
        common.stamp_update(ctx, invoice, previous)
        ctx.emit("Invoice", invoice_id, "Update")


def _build(ctx: ApiContext, body: Record, previous: Record | None) -> Record:
    realm = ctx.realm
    common.check_known(body, KNOWN, "Payment")
    customer = common.require_ref(ctx, body, "CustomerRef", "Customer")
    total = common.decimal_field(body.get("TotalAmt"), "TotalAmt")
    if total is None:
        raise faults.required_param("TotalAmt", "Payment")
    total = money(total)
    if total < 0:
        raise common_fault("TotalAmt cannot be negative", "TotalAmt")
    currency = customer.get("CurrencyRef", {}).get("value", realm.home_currency)
    sent_currency = common.ref_value(body.get("CurrencyRef"))
    if sent_currency is not None and sent_currency != currency:
        raise common_fault(
            f"The transaction currency ({sent_currency}) must match the customer's currency ({currency})",
            "CurrencyRef",
        )
    rate = Decimal("1")
    if currency != realm.home_currency:
        rate = common.decimal_field(body.get("ExchangeRate"), "ExchangeRate") or realm.exchange_rates[currency]
    record: Record = {
        "CustomerRef": {"value": str(customer["Id"]), "name": customer["DisplayName"]},
        "CurrencyRef": {"value": currency, "name": CURRENCY_NAMES.get(currency, currency)},
        "ExchangeRate": rate,
        "TotalAmt": total,
    }
    own_id = str(previous["Id"]) if previous else None
    lines: list[Record] = []
    applied = ZERO
    per_invoice: dict[str, Decimal] = {}
    for index, raw in enumerate(body.get("Line") or []):
        if not isinstance(raw, dict):
            raise faults.request_has_invalid_or_unsupported(f"Line[{index}] must be an object")
        amount = common.decimal_field(raw.get("Amount"), "Amount")
        if amount is None:
            raise faults.required_param(f"Line[{index}].Amount", "Payment")
        amount = money(amount)
        if amount < 0:
            raise common_fault("A payment line cannot be negative", f"Line[{index}].Amount")
        linked_out = []
        for linked in raw.get("LinkedTxn") or []:
            txn_type = linked.get("TxnType")
            txn_id = str(linked.get("TxnId", ""))
            if txn_type != "Invoice":
                raise common_fault(
                    f"Payments can be applied to invoices only in this emulator (got {txn_type})",
                    f"Line[{index}].LinkedTxn",
                )
            invoice = realm.get("Invoice", txn_id)
            if invoice is None:
                raise faults.invalid_reference("Invoice", txn_id, element=f"Line[{index}].LinkedTxn")
            if invoice["CustomerRef"]["value"] != str(customer["Id"]):
                raise common_fault(f"Invoice {txn_id} belongs to another customer", f"Line[{index}].LinkedTxn")
            if invoice.get("_voided"):
                raise common_fault(f"Invoice {txn_id} is void", f"Line[{index}].LinkedTxn")
            others = ZERO
            for payment in realm.all("Payment"):
                if str(payment["Id"]) == own_id:
                    continue
                others += sum((a for t, a in links(payment) if t == txn_id), ZERO)
            per_invoice[txn_id] = per_invoice.get(txn_id, ZERO) + amount
            if others + per_invoice[txn_id] > Decimal(invoice["TotalAmt"]):
                raise common_fault(
                    f"The amount applied to invoice {txn_id} ({amount}) is more than its open balance "
                    f"({money(Decimal(invoice['TotalAmt']) - others)})",
                    f"Line[{index}].Amount",
                )
            linked_out.append({"TxnId": txn_id, "TxnType": "Invoice"})
        if len(linked_out) != 1:
            raise common_fault("Each payment line links exactly one invoice", f"Line[{index}].LinkedTxn")
        applied += amount
        lines.append({"Amount": amount, "LinkedTxn": linked_out})
    if applied > total:
        raise common_fault(f"The amounts applied ({applied}) are more than the payment's total ({total})", "TotalAmt")
    record["Line"] = lines
    record["UnappliedAmt"] = money(total - applied)
    record["TxnDate"] = (
        common.parse_date(body["TxnDate"], "TxnDate") if body.get("TxnDate") else common.today(ctx)
    ).isoformat()
    deposit_id = common.ref_value(body.get("DepositToAccountRef")) or "4"
    account = realm.get("Account", deposit_id)
    if account is None:
        raise faults.invalid_reference("Account", deposit_id, element="DepositToAccountRef")
    record["DepositToAccountRef"] = {"value": str(account["Id"]), "name": account["Name"]}
    for key in ("PaymentRefNum", "PaymentMethodRef", "PrivateNote", "ProcessPayment"):
        value = common.prune(copy.deepcopy(body.get(key)))
        if value not in (None, "", {}):
            record[key] = value
    record["ProcessPayment"] = body.get("ProcessPayment") is True
    return record


def common_fault(detail: str, element: str = "") -> faults.QboFault:
    return faults.business_validation(f"Business Validation Error: {detail}", element=element)


def _voided(previous: Record) -> Record:
    record = copy.deepcopy(previous)
    record["TotalAmt"] = ZERO
    record["UnappliedAmt"] = ZERO
    record["Line"] = []
    note = record.get("PrivateNote")
    record["PrivateNote"] = f"Voided - {note}" if note else "Voided"
    record["_voided"] = True
    return record


def write(ctx: ApiContext) -> ApiResult:
    body = json_body(ctx)
    op = common.operation(ctx)
    realm = ctx.realm
    with realm.lock:
        touched: set[str] = set()
        previous: Any = None
        if body.get("Id") not in (None, ""):
            previous = common.existing_for_write(ctx, body, "Payment")
        before = {txn for txn, _ in links(previous)} if previous is not None else set()
        if op == "delete":
            if previous is None:
                raise faults.required_param("Id", "Payment")
            realm.remove("Payment", str(previous["Id"]), ctx.now)
            for invoice_id in sorted(before):
                _refresh_invoice(ctx, invoice_id, touched)
            ctx.emit("Payment", str(previous["Id"]), "Delete")
            return json_result(ctx, {"Payment": {"Id": str(previous["Id"]), "status": "Deleted", "domain": "QBO"}})
        voiding = op == "void" or (op == "update" and ctx.includes("void"))
        if voiding:
            if previous is None:
                raise faults.required_param("Id", "Payment")
            record = _voided(previous)
            common.stamp_update(ctx, record, previous)
            ctx.emit("Payment", record["Id"], "Void")
        elif op in ("", "create", "update"):
            if previous is not None:
                if previous.get("_voided"):
                    raise common_fault("A voided transaction cannot be edited")
                source = body
                if common.is_sparse(body):
                    source = common.merged_for_sparse(previous, body)
                    source = {k: v for k, v in source.items() if not k.startswith("_") and k != "UnappliedAmt"}
                record = _build(ctx, source, previous)
                common.stamp_update(ctx, record, previous)
                ctx.emit("Payment", record["Id"], "Update")
            else:
                record = _build(ctx, body, None)
                common.stamp_new(ctx, record, "Payment")
                ctx.emit("Payment", record["Id"], "Create")
        else:
            raise faults.unsupported_operation(f"Operation {op} is not supported for Payment.")
        realm.put("Payment", record)
        after = {txn for txn, _ in links(record)}
        for invoice_id in sorted(before | after):
            _refresh_invoice(ctx, invoice_id, touched)
        return common.entity_result(ctx, "Payment", record)
