"""Invoice rules beyond the other sales forms (``sales.py``) and the table.

* A sparse update without ``TxnTaxDetail`` keeps only its TxnTaxCodeRef (the tax is computed again);
  one that moves TxnDate or SalesTermRef without a DueDate gets its DueDate computed again.
* ``InvoiceLink`` (returned with ``include=invoiceLink``): the customer's pay-online link, made when online
  card or bank payment is allowed and the invoice has a BillEmail, as QuickBooks makes it.
* ``GET /invoice/{id}/pdf`` renders the invoice (``GET /creditmemo/{id}/pdf`` a credit memo);
  ``POST /invoice/{id}/send[?sendTo=]`` marks it EmailSent with DeliveryInfo (an address is needed:
  BillEmail or sendTo) and announces it as Emailed.
* Delete and void are refused while payments are applied (``ledger.py``).
"""

from __future__ import annotations

import hashlib

from local.qbo_emulator import faults
from local.qbo_emulator.api import ApiContext, ApiResult
from local.qbo_emulator.clock import qbo_time
from local.qbo_emulator.entities import common, sales
from local.qbo_emulator.entities.engine import Rules, Write
from local.qbo_emulator.pdf import invoice_pdf
from local.qbo_emulator.store import Record

PAY_LINK_BASE = "https://connect.intuit.com/t/scs-v1-"


def build(w: Write) -> Record:
    record = sales.build(w)
    online = record.get("AllowOnlineCreditCardPayment") is True or record.get("AllowOnlineACHPayment") is True
    if online and (record.get("BillEmail") or {}).get("Address"):
        record["_InvoiceLink"] = (w.previous or {}).get("_InvoiceLink") or _pay_link(w)
    else:
        record["_InvoiceLink"] = None  # not kept from before: the invoice can no longer be paid online
    return record


def _pay_link(w: Write) -> str:
    seed = f"{w.realm.realm_id}:{w.realm.counters.get('txn', 0)}:{w.record.get('CustomerRef')}:{w.ctx.now.isoformat()}"
    return PAY_LINK_BASE + hashlib.sha256(seed.encode()).hexdigest()[:48] + "?locale=en_US"


def sparse_source(previous: Record, body: Record) -> Record:
    source = common.merged_for_sparse(previous, body)
    for key in ("TotalAmt", "Balance", "HomeTotalAmt", "HomeBalance", "Deposit", "LinkedTxn"):
        source.pop(key, None)
    source = {k: v for k, v in source.items() if not k.startswith("_")}
    if "TxnTaxDetail" in source and "TxnTaxDetail" not in body:
        kept = {}
        code = source["TxnTaxDetail"].get("TxnTaxCodeRef")
        if code:
            kept["TxnTaxCodeRef"] = code
        source["TxnTaxDetail"] = kept
    if "DueDate" in previous and "DueDate" not in body and ("TxnDate" in body or "SalesTermRef" in body):
        source.pop("DueDate", None)
    return source


RULES = Rules(build=build, sparse_source=sparse_source)


# The sales forms QuickBooks renders as PDF here: path segment -> entity.
PDF_ENTITIES = {"invoice": "Invoice", "creditmemo": "CreditMemo"}


def pdf(ctx: ApiContext) -> ApiResult:
    """``GET /invoice/{id}/pdf`` and ``GET /creditmemo/{id}/pdf``."""
    if ctx.request.method != "GET":
        raise faults.unsupported_operation("pdf accepts GET only", status=405)
    entity = PDF_ENTITIES[ctx.segments[0].lower()]
    record_id = ctx.segments[1]
    record = ctx.realm.snapshot(entity, record_id)
    if record is None:
        raise faults.object_not_found(entity, record_id)
    return ApiResult(200, invoice_pdf(record, ctx.realm.company_info, entity), content_type="application/pdf")


def send(ctx: ApiContext) -> ApiResult:
    if ctx.request.method != "POST":
        raise faults.unsupported_operation("send accepts POST only", status=405)
    invoice_id = ctx.segments[1]
    realm = ctx.realm
    with realm.lock:
        previous = realm.get("Invoice", invoice_id)
        if previous is None:
            raise faults.object_not_found("Invoice", invoice_id, status=400)
        record = dict(previous)
        send_to = ctx.param("sendTo")
        if send_to:
            record["BillEmail"] = {"Address": send_to}
        if not record.get("BillEmail", {}).get("Address"):
            raise faults.business_validation(
                "Business Validation Error: an email address is required (BillEmail or sendTo)", "BillEmail"
            )
        record["EmailStatus"] = "EmailSent"
        record["DeliveryInfo"] = {"DeliveryType": "Email", "DeliveryTime": qbo_time(ctx.now, realm.tz)}
        common.stamp_update(ctx, record, previous)
        realm.put("Invoice", record)
        ctx.emit("Invoice", invoice_id, "Emailed")
        result = common.entity_result(ctx, "Invoice", record)
    result.is_write = True
    return result
