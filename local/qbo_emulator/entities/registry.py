"""Wire the entities into the API router: the generic write handler of every writable entity in the
table, with the rules of the entities that have their own, and the operations outside it."""

from __future__ import annotations

from local.qbo_emulator import changes
from local.qbo_emulator.api import Api
from local.qbo_emulator.entities import attachable, engine, invoice, item, lists, party, payment, sales
from local.qbo_emulator.entities.base import SPECS
from local.qbo_emulator.entities.engine import Rules

RULES: dict[str, Rules] = {
    "Customer": party.RULES,
    "Vendor": party.RULES,
    "Employee": party.RULES,
    "Item": item.RULES,
    "Account": lists.ACCOUNT,
    "Term": lists.TERM,
    "PaymentMethod": lists.PAYMENT_METHOD,
    "CompanyCurrency": lists.COMPANY_CURRENCY,
    "Invoice": invoice.RULES,
    "Estimate": sales.RULES,
    "CreditMemo": sales.RULES,
    "SalesReceipt": sales.RULES,
    "RefundReceipt": sales.RULES,
    "Payment": payment.RULES,
}
# Entities written by a handler of their own rather than the engine.
OWN_WRITERS = {"Attachable": attachable.write}


def rules_for(entity: str) -> Rules:
    return RULES.get(entity, engine.PLAIN)


def register(api: Api) -> None:
    for spec in SPECS.values():
        if spec.name in OWN_WRITERS:
            api.writers[spec.path] = OWN_WRITERS[spec.name]
        elif spec.operations & {"create", "update", "delete", "void"} and not spec.singleton:
            api.writers[spec.path] = engine.writer(spec, rules_for(spec.name))
    api.subresources[("invoice", "pdf")] = invoice.pdf
    api.subresources[("invoice", "send")] = invoice.send
    api.operations["upload"] = lambda ctx: api.write(ctx, attachable.upload)
    api.operations["cdc"] = changes.cdc
    api.operations["batch"] = changes.make_batch(api)
