"""How a Productive invoice becomes a QuickBooks Online invoice (README "Copy to QuickBooks";
docs/architecture.md "Copy").

Pure rules: no I/O. The copy service gathers the inputs (Productive invoice and lines, the
customer, the tax choice, the company's preferences) and sends what this module builds."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date
from decimal import ROUND_CEILING, ROUND_HALF_UP, Decimal
from typing import Any

from qbosync.domain.connection import CompanyProfile, ConnectionSettings
from qbosync.domain.errors import InvalidInput
from qbosync.domain.money import CENT, HUNDRED, cents

DOC_NUMBER_MAX = 21
PRIVATE_NOTE_MAX = 4000
CUSTOMER_MEMO_MAX = 1000
DESCRIPTION_MAX = 4000
# QuickBooks keeps up to 7 decimals of a line's Qty and UnitPrice, and checks that its Amount is
# Qty x UnitPrice rounded half up to the cent (fault 6070 otherwise).
UNIT_PRICE_STEP = Decimal("1E-7")


@dataclass(frozen=True)
class SourceLine:
    description: str
    quantity: Decimal
    unit_price: Decimal
    discount_percent: Decimal
    service_type_id: str | None
    service_type_name: str | None = None
    taxable: bool = True
    amount: Decimal | None = None  # Productive's line amount (net of the line discount); None: computed


@dataclass(frozen=True)
class SourceInvoice:
    invoice_id: str
    number: str | None
    subject: str | None
    note: str | None
    po_number: str | None
    invoiced_on: date | None
    pay_on: date | None
    currency: str
    discount_percent: Decimal
    amount: Decimal
    amount_with_tax: Decimal
    lines: tuple[SourceLine, ...]
    custom_fields: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class TaxChoice:
    """US: a tax code id for TxnTaxCodeRef, lines TAX/NON. Non-US: the code id put on every line."""

    code_id: str | None


def line_amount(line: SourceLine) -> Decimal:
    """Productive's own line amount, whatever rounding made it; only when Productive gave none,
    quantity x unit price less the line discount, rounded half up to cents."""
    if line.amount is not None:
        return line.amount
    return cents(line.quantity * effective_unit_price(line))


def effective_unit_price(line: SourceLine) -> Decimal:
    # QuickBooks has no line discount: it is folded into the unit price (kept unrounded, so that
    # Amount = Qty x UnitPrice still holds to the cent, which QuickBooks checks).
    if not line.discount_percent:
        return line.unit_price
    return line.unit_price * (HUNDRED - line.discount_percent) / HUNDRED


def unit_price(line: SourceLine) -> Decimal:
    """The line's QuickBooks UnitPrice: Productive's (less the line discount) while QuickBooks' rounding
    of Qty x UnitPrice gives Productive's line amount; else one fitted to that amount."""
    price = effective_unit_price(line)
    amount = line_amount(line)
    if cents(line.quantity * price) == amount:
        return price
    return unit_price_for(line.quantity, amount)


def unit_price_for(quantity: Decimal, amount: Decimal) -> Decimal:
    """A UnitPrice of at most 7 decimals with quantity x price rounding (half up) to `amount`: the one
    nearest amount / quantity, so that the product lies within quantity x 0.00000005 of the amount and any
    rounding of it, half up or half even or away from zero, gives the amount. Sign-symmetric: negating the
    quantity or the amount negates the price (credit notes carry negative prices). Beyond about 100,000
    units no 7-decimal price may fit; the exact quotient is sent then."""
    if not quantity:
        if amount:
            raise InvalidInput(
                f"A line with no quantity cannot carry the amount {amount} in QuickBooks.",
                code="line_amount_without_quantity",
                details={"amount": str(amount)},
            )
        return Decimal(0)
    magnitude, size = abs(amount), abs(quantity)
    exact = magnitude / size
    nearest = exact.quantize(UNIT_PRICE_STEP, rounding=ROUND_HALF_UP)
    lowest = ((magnitude - CENT / 2) / size).quantize(UNIT_PRICE_STEP, rounding=ROUND_CEILING)
    price = next((p for p in (nearest, lowest) if cents(size * p) == magnitude), exact)
    return -price if (amount < 0) != (quantity < 0) and price else price


def subtotal(invoice: SourceInvoice) -> Decimal:
    return sum((line_amount(line) for line in invoice.lines), Decimal(0))


def discount_amount(invoice: SourceInvoice) -> Decimal:
    """What QuickBooks takes off for the invoice's discount percent (half up, on the subtotal)."""
    return cents(subtotal(invoice) * invoice.discount_percent / HUNDRED)


def item_for(line: SourceLine, settings: ConnectionSettings) -> str:
    if line.service_type_id and line.service_type_id in settings.service_type_items:
        return settings.service_type_items[line.service_type_id]
    if settings.default_item_id:
        return settings.default_item_id
    name = line.service_type_name or (f"#{line.service_type_id}" if line.service_type_id else "(none)")
    raise InvalidInput(
        f"No QuickBooks item is mapped to the service type {name} and no default item is set; "
        "map it in the QuickBooks settings.",
        code="unmapped_service_type",
        details={"service_type_id": line.service_type_id, "service_type_name": line.service_type_name},
    )


def memo_for(invoice: SourceInvoice, settings: ConnectionSettings, custom_field_text: str | None) -> str | None:
    source = settings.memo_source
    value = {
        "subject": invoice.subject,
        "note": invoice.note,
        "po_number": invoice.po_number,
        "custom_field": custom_field_text,
    }[source]
    value = (value or "").strip()
    return value[:CUSTOMER_MEMO_MAX] or None


def doc_number_for(invoice: SourceInvoice, settings: ConnectionSettings) -> str | None:
    if settings.invoice_numbering != "productive":
        return None
    number = (invoice.number or "").strip()
    if not number:
        raise InvalidInput(
            "The invoice has no number yet; finalize it in Productive or let QuickBooks number it.",
            code="invoice_has_no_number",
        )
    if len(number) > DOC_NUMBER_MAX:
        raise InvalidInput(
            f"QuickBooks invoice numbers are at most {DOC_NUMBER_MAX} characters; {number!r} is longer.",
            code="doc_number_too_long",
            details={"number": number},
        )
    return number


def build_invoice(
    *,
    invoice: SourceInvoice,
    settings: ConnectionSettings,
    company: CompanyProfile,
    customer_id: str,
    tax: TaxChoice,
    memo: str | None,
    marker: str,
    line_classes: Sequence[str | None] = (),
    transaction_class: str | None = None,
    location_id: str | None = None,
) -> dict[str, Any]:
    """The QuickBooks Invoice body (without Id/SyncToken). Amounts are Decimals. `line_classes` (one per
    line, in line order), `transaction_class` and `location_id` are what qbosync.domain.tracking chose."""
    if not invoice.lines:
        raise InvalidInput("The invoice has no line items to copy.", code="invoice_has_no_lines")
    if len(invoice.lines) > 750:
        raise InvalidInput("QuickBooks accepts at most 750 lines on a taxable invoice.", code="too_many_lines")
    lines = _sales_lines(invoice, settings, company, tax, line_classes)
    body: dict[str, Any] = {
        "CustomerRef": {"value": customer_id},
        "Line": lines,
        "PrivateNote": _private_note(invoice, marker),
        **_transaction_refs(transaction_class, location_id),
    }
    if company.is_us:
        if tax.code_id:
            body["TxnTaxDetail"] = {"TxnTaxCodeRef": {"value": tax.code_id}}
        body["ApplyTaxAfterDiscount"] = True
    else:
        body["GlobalTaxCalculation"] = "TaxExcluded" if tax.code_id else "NotApplicable"
    if company.multicurrency_enabled:
        body["CurrencyRef"] = {"value": invoice.currency}
    elif invoice.currency.upper() != company.home_currency.upper():
        raise InvalidInput(
            f"The invoice is in {invoice.currency} but the QuickBooks company works only in "
            f"{company.home_currency} (multicurrency is off).",
            code="currency_not_supported",
            details={"invoice_currency": invoice.currency, "home_currency": company.home_currency},
        )
    if invoice.invoiced_on:
        body["TxnDate"] = invoice.invoiced_on.isoformat()
    if invoice.pay_on:
        body["DueDate"] = invoice.pay_on.isoformat()
    doc_number = doc_number_for(invoice, settings)
    if doc_number:
        body["DocNumber"] = doc_number
    if memo:
        body["CustomerMemo"] = {"value": memo}
    return body


def _sales_lines(
    invoice: SourceInvoice,
    settings: ConnectionSettings,
    company: CompanyProfile,
    tax: TaxChoice,
    line_classes: Sequence[str | None],
) -> list[dict[str, Any]]:
    lines: list[dict[str, Any]] = []
    for position, line in enumerate(invoice.lines, start=1):
        detail: dict[str, Any] = {
            "ItemRef": {"value": item_for(line, settings)},
            "Qty": line.quantity,
            "UnitPrice": unit_price(line),
        }
        if position <= len(line_classes) and (class_id := line_classes[position - 1]):
            detail["ClassRef"] = {"value": class_id}
        if company.is_us:
            detail["TaxCodeRef"] = {"value": "TAX" if tax.code_id and line.taxable else "NON"}
        elif tax.code_id:
            detail["TaxCodeRef"] = {"value": tax.code_id}
        if invoice.invoiced_on:
            detail["ServiceDate"] = invoice.invoiced_on.isoformat()
        lines.append(
            {
                "LineNum": position,
                "DetailType": "SalesItemLineDetail",
                "Amount": line_amount(line),
                "Description": (line.description or "")[:DESCRIPTION_MAX],
                "SalesItemLineDetail": detail,
            }
        )
    if invoice.discount_percent:
        lines.append(_discount_line(invoice))
    return lines


def _transaction_refs(class_id: str | None, location_id: str | None) -> dict[str, Any]:
    """The class of the whole transaction and its location (QuickBooks' Department), when there are."""
    refs = {"ClassRef": class_id, "DepartmentRef": location_id}
    return {name: {"value": value} for name, value in refs.items() if value}


def _discount_line(invoice: SourceInvoice) -> dict[str, Any]:
    """The invoice discount: a percent while QuickBooks' rounding of it gives Productive's (the subtotal
    less Productive's net `amount`); else Productive's amount, fixed."""
    productive = subtotal(invoice) - invoice.amount
    if productive == discount_amount(invoice):
        return {
            "DetailType": "DiscountLineDetail",
            "Amount": productive,
            "DiscountLineDetail": {"PercentBased": True, "DiscountPercent": invoice.discount_percent},
        }
    return {"DetailType": "DiscountLineDetail", "Amount": productive, "DiscountLineDetail": {"PercentBased": False}}


def _private_note(invoice: SourceInvoice, marker: str) -> str:
    label = f"Copied from Productive invoice {invoice.number}" if invoice.number else "Copied from Productive"
    return f"{label} [{marker}]"[:PRIVATE_NOTE_MAX]


_ZERO_PERCENT = re.compile(r"(?<![\d.])0+(\.0+)?\s*%")
_ZERO_WORDS = ("zero", "no vat", "no tax", "exempt", "out of scope")


def zero_rate_rank(tax_code_name: str) -> int | None:
    """How well a tax code's name says "no tax": 0 for an explicit 0 %, 1 for zero-rated words,
    None for anything else (e.g. "20.0% S")."""
    lowered = tax_code_name.lower()
    if _ZERO_PERCENT.search(lowered):
        return 0
    if any(word in lowered for word in _ZERO_WORDS):
        return 1
    return None


def copy_marker(connection_id: str, invoice_id: str, sequence: int) -> str:
    """Stamped into PrivateNote: how we recognise our own invoice after an uncertain outcome."""
    return f"{copy_marker_prefix(connection_id, invoice_id)}{sequence}"


def copy_marker_prefix(connection_id: str, invoice_id: str) -> str:
    """What the markers of every copy of one invoice start with."""
    return f"qbosync:{connection_id[:8]}:{invoice_id}:"
