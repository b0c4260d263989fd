"""Wire the entities into the API router: the generic write handler (``engine.py``) of every writable
entity in the table, with the rules of the entities that have their own, and the operations outside it."""

from __future__ import annotations

from dataclasses import replace

from local.qbo_emulator import changes
from local.qbo_emulator.api import Api, ApiContext, ApiResult
from local.qbo_emulator.entities import (
    attachable,
    banking,
    company,
    engine,
    expenses,
    invoice,
    item,
    lists,
    party,
    payment,
    rates,
    recurring,
    sales,
    taxservice,
    timeactivity,
)
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
    "SalesReceipt": replace(sales.RULES, check_change=banking.check_not_deposited),
    "RefundReceipt": sales.RULES,
    "Payment": replace(payment.RULES, check_change=banking.check_not_deposited),
    "Bill": expenses.RULES,
    "VendorCredit": expenses.RULES,
    "PurchaseOrder": expenses.RULES,
    "Purchase": expenses.RULES,
    "BillPayment": expenses.BILL_PAYMENT,
    "Deposit": banking.DEPOSIT,
    "Transfer": banking.TRANSFER,
    "CreditCardPayment": banking.CREDIT_CARD_PAYMENT,
    "JournalEntry": banking.JOURNAL_ENTRY,
    "TimeActivity": timeactivity.RULES,
}


def rules_for(entity: str) -> Rules:
    return RULES.get(entity, engine.PLAIN)


def register(api: Api) -> None:
    own_writers = {
        "Attachable": attachable.write,
        "Preferences": company.write_preferences,
        "CompanyInfo": company.write_company_info,
        "RecurringTransaction": recurring.make_writer(rules_for),
    }
    for spec in SPECS.values():
        if spec.name in own_writers:
            api.writers[spec.path] = own_writers[spec.name]
        elif spec.operations & {"create", "update", "delete", "void"}:
            api.writers[spec.path] = engine.writer(spec, rules_for(spec.name))
    for path in invoice.PDF_ENTITIES:
        api.subresources[(path, "pdf")] = invoice.pdf
    api.subresources[("invoice", "send")] = invoice.send
    api.operations["upload"] = lambda ctx: api.write(ctx, attachable.upload)
    api.operations["cdc"] = changes.cdc
    api.operations["batch"] = changes.make_batch(api)
    api.operations["taxservice/taxcode"] = lambda ctx: api.write(ctx, taxservice.create)

    def exchange_rate(ctx: ApiContext) -> ApiResult:
        return api.write(ctx, rates.handle) if ctx.request.method == "POST" else rates.handle(ctx)

    api.operations["exchangerate"] = exchange_rate
