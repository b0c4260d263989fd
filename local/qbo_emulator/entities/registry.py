"""Wire the entity handlers into the API router."""

from __future__ import annotations

from local.qbo_emulator import changes, faults
from local.qbo_emulator.api import Api, ApiContext, ApiResult
from local.qbo_emulator.clock import qbo_time
from local.qbo_emulator.entities import attachable, common, invoice, item, party, payment
from local.qbo_emulator.pdf import invoice_pdf


def _invoice_pdf(ctx: ApiContext) -> ApiResult:
    if ctx.request.method != "GET":
        raise faults.unsupported_operation("pdf accepts GET only", status=405)
    invoice_id = ctx.segments[1]
    record = ctx.realm.snapshot("Invoice", invoice_id)
    if record is None:
        raise faults.object_not_found("Invoice", invoice_id)
    return ApiResult(200, invoice_pdf(record, ctx.realm.company_info), content_type="application/pdf")


def _invoice_send(ctx: ApiContext) -> ApiResult:
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


def register(api: Api) -> None:
    for entity in party.PARTIES:
        api.writers[entity.lower()] = party.make_writer(entity)
    api.writers["item"] = item.write
    api.writers["invoice"] = invoice.write
    api.writers["attachable"] = attachable.write
    api.writers["payment"] = payment.write
    api.subresources[("invoice", "pdf")] = _invoice_pdf
    api.subresources[("invoice", "send")] = _invoice_send
    api.operations["upload"] = lambda ctx: api.write(ctx, attachable.upload)
    api.operations["cdc"] = changes.cdc
    api.operations["batch"] = changes.make_batch(api)
