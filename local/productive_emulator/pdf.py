"""A real, small invoice PDF rendered with fpdf2 (core fonts, so text is reduced to Latin-1)."""

from __future__ import annotations

from decimal import Decimal
from typing import TYPE_CHECKING

from fpdf import FPDF
from fpdf.enums import XPos, YPos

from local.productive_emulator.money import money_str, plain_str, price_str

if TYPE_CHECKING:
    from local.productive_emulator.store import Organization, Record, Store

_REPLACEMENTS = {
    "\u2013": "-",
    "\u2014": "-",
    "\u2018": "'",
    "\u2019": "'",
    "\u201c": '"',
    "\u201d": '"',
    "\u20ac": "EUR",
}


def _latin1(text: object) -> str:
    value = "" if text is None else str(text)
    for old, new in _REPLACEMENTS.items():
        value = value.replace(old, new)
    return value.encode("latin-1", "replace").decode("latin-1")


def render_invoice_pdf(store: Store, org: Organization, invoice: Record) -> bytes:
    totals, lines = store.invoice_totals(org, invoice)
    company = org.tables["companies"].get(invoice.get("company_id") or "")
    subsidiary = org.tables["subsidiaries"].get(invoice.get("subsidiary_id") or "")
    bill_to = org.tables["contact_entries"].get(invoice.get("bill_to_id") or "")
    currency = invoice.get("currency") or ""

    pdf = FPDF(format="A4")
    pdf.set_title(_latin1(f"Invoice {invoice.get('number') or invoice['id']}"))
    pdf.set_creator("Productive emulator")
    pdf.add_page()
    pdf.set_font("Helvetica", "B", 18)
    pdf.cell(0, 10, _latin1(f"Invoice {invoice.get('number') or '(draft)'}"), new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    pdf.set_font("Helvetica", "", 10)
    header = [
        f"From: {subsidiary['name'] if subsidiary else org.name}",
        f"Bill to: {(company or {}).get('billing_name') or (company or {}).get('name') or ''}",
    ]
    if bill_to:
        address = ", ".join(
            str(bill_to[k]) for k in ("address", "city", "state", "zipcode", "country") if bill_to.get(k)
        )
        if address:
            header.append(f"         {address}")
    header += [
        f"Invoice date: {invoice.get('invoiced_on') or ''}    Due: {invoice.get('pay_on') or ''}",
        f"Subject: {invoice.get('subject') or ''}",
    ]
    if invoice.get("purchase_order_number"):
        header.append(f"PO number: {invoice['purchase_order_number']}")
    for text in header:
        pdf.cell(0, 6, _latin1(text), new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    pdf.ln(4)

    widths = (80, 22, 30, 18, 40)
    pdf.set_font("Helvetica", "B", 10)
    for width, title in zip(widths, ("Description", "Qty", "Unit price", "Disc.%", "Amount"), strict=True):
        pdf.cell(width, 7, title, border=1)
    pdf.ln()
    pdf.set_font("Helvetica", "", 10)
    for line, line_totals in zip(lines, totals.lines, strict=True):
        cells = (
            str(line.get("description") or "")[:45],
            plain_str(line["quantity"]),
            price_str(line["unit_price"]),
            plain_str(line.get("discount") or Decimal(0)),
            money_str(line_totals.amount),
        )
        for width, text in zip(widths, cells, strict=True):
            pdf.cell(width, 7, _latin1(text), border=1)
        pdf.ln()
    pdf.ln(3)
    summary = [("Subtotal", totals.subtotal)]
    if totals.discount_amount:
        summary.append((f"Discount {plain_str(invoice.get('discount') or Decimal(0))}%", -totals.discount_amount))
    summary += [
        ("Net", totals.amount),
        ("Tax", totals.amount_tax),
        ("Total", totals.amount_with_tax),
        ("Paid", totals.amount_paid),
        ("Balance due", totals.amount_unpaid),
    ]
    for label, value in summary:
        pdf.cell(150, 6, _latin1(label), align="R")
        pdf.cell(40, 6, _latin1(f"{money_str(value)} {currency}"), align="R", new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    if invoice.get("note"):
        pdf.ln(4)
        pdf.multi_cell(0, 5, _latin1(invoice["note"]))
    return bytes(pdf.output())
