"""Invoice and credit memo PDFs (``GET /invoice/{id}/pdf``, ``GET /creditmemo/{id}/pdf``), drawn with
fpdf2's core fonts."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from fpdf import FPDF

from local.qbo_emulator.store import Record


def _text(value: Any) -> str:
    # The PDF core fonts cover Latin-1; anything else is shown as "?".
    return str(value).encode("latin-1", "replace").decode("latin-1")


def _money(value: Any, currency: str) -> str:
    amount = Decimal(str(value or 0)).quantize(Decimal("0.01"))
    return f"{currency} {amount:,.2f}"


def invoice_pdf(invoice: Record, company: Record, entity: str = "Invoice") -> bytes:
    credit = entity == "CreditMemo"
    word = "Credit memo" if credit else "Invoice"
    currency = invoice.get("CurrencyRef", {}).get("value", "")
    pdf = FPDF(format="A4")
    pdf.set_title(_text(f"{word} {invoice.get('DocNumber') or invoice['Id']}"))
    pdf.set_creator("QBO emulator")
    pdf.set_author(_text(company.get("CompanyName", "")))
    pdf.add_page()
    pdf.set_font("Helvetica", "B", 16)
    pdf.cell(0, 10, _text(company.get("CompanyName", "")), new_x="LMARGIN", new_y="NEXT")
    addr = company.get("CompanyAddr", {})
    pdf.set_font("Helvetica", "", 9)
    line = ", ".join(str(addr[k]) for k in ("Line1", "City", "PostalCode", "Country") if addr.get(k))
    pdf.cell(0, 5, _text(line), new_x="LMARGIN", new_y="NEXT")
    pdf.ln(6)
    pdf.set_font("Helvetica", "B", 20)
    title = word.upper() if not invoice.get("_voided") else f"{word.upper()} (VOID)"
    pdf.cell(0, 12, title, new_x="LMARGIN", new_y="NEXT")
    pdf.set_font("Helvetica", "", 10)
    facts = [
        (f"{word} no.", invoice.get("DocNumber") or "-"),
        ("Date", invoice.get("TxnDate", "")),
        ("Bill to", invoice.get("CustomerRef", {}).get("name", "")),
    ]
    if not credit:
        facts.insert(2, ("Due date", invoice.get("DueDate", "")))
    if invoice.get("SalesTermRef", {}).get("name"):
        facts.append(("Terms", invoice["SalesTermRef"]["name"]))
    for label, value in facts:
        pdf.cell(35, 6, _text(label))
        pdf.cell(0, 6, _text(value), new_x="LMARGIN", new_y="NEXT")
    pdf.ln(4)
    widths = (95, 20, 35, 40)
    pdf.set_font("Helvetica", "B", 10)
    for width, head in zip(widths, ("Description", "Qty", "Rate", "Amount"), strict=True):
        pdf.cell(width, 7, head, border="B", align="L" if head == "Description" else "R")
    pdf.ln()
    pdf.set_font("Helvetica", "", 10)
    for item in invoice.get("Line", []):
        kind = item.get("DetailType")
        if kind not in ("SalesItemLineDetail", "DescriptionOnly"):
            continue
        detail = item.get("SalesItemLineDetail", {})
        desc = item.get("Description") or detail.get("ItemRef", {}).get("name", "")
        qty = detail.get("Qty", "")
        rate = detail.get("UnitPrice")
        pdf.cell(widths[0], 7, _text(desc)[:60])
        pdf.cell(widths[1], 7, _text(qty), align="R")
        pdf.cell(widths[2], 7, _money(rate, currency) if rate is not None else "", align="R")
        pdf.cell(widths[3], 7, _money(item.get("Amount"), currency) if kind != "DescriptionOnly" else "", align="R")
        pdf.ln()
    pdf.ln(3)
    subtotal = next(
        (ln["Amount"] for ln in invoice.get("Line", []) if ln.get("DetailType") == "SubTotalLineDetail"), Decimal("0")
    )
    totals = [("Subtotal", subtotal)]
    for item in invoice.get("Line", []):
        if item.get("DetailType") == "DiscountLineDetail":
            totals.append(("Discount", -Decimal(str(item["Amount"]))))
    totals.append(("Tax", invoice.get("TxnTaxDetail", {}).get("TotalTax", Decimal("0"))))
    totals.append(("Total", invoice.get("TotalAmt", Decimal("0"))))
    if credit:
        totals.append(("Remaining credit", invoice.get("RemainingCredit", Decimal("0"))))
    else:
        totals.append(("Balance due", invoice.get("Balance", Decimal("0"))))
    for label, value in totals:
        pdf.set_font("Helvetica", "B" if label in ("Total", "Balance due") else "", 10)
        pdf.cell(sum(widths[:3]), 7, label, align="R")
        pdf.cell(widths[3], 7, _money(value, currency), align="R", new_x="LMARGIN", new_y="NEXT")
    memo = invoice.get("CustomerMemo", {}).get("value")
    if memo:
        pdf.ln(6)
        pdf.set_font("Helvetica", "I", 10)
        pdf.multi_cell(0, 6, _text(memo))
    return bytes(pdf.output())
