"""The Productive → QuickBooks invoice mapping, with Productive's own arithmetic (the emulator's
money module) as the reference: amounts agree to the cent, computed with Decimal only."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from local.productive_emulator.money import LineInput, compute_invoice
from qbosync.domain.connection import CompanyProfile, ConnectionSettings
from qbosync.domain.errors import InvalidInput
from qbosync.domain.invoice_copy import (
    SourceInvoice,
    SourceLine,
    TaxChoice,
    build_invoice,
    doc_number_for,
    memo_for,
    zero_rate_rank,
)
from qbosync.domain.money import cents, dumps, loads

US = CompanyProfile(
    realm_id="1",
    company_name="US Co",
    country="US",
    home_currency="USD",
    multicurrency_enabled=False,
    custom_txn_numbers=False,
    automated_sales_tax=False,
    using_sales_tax=True,
)
UK = CompanyProfile(
    realm_id="2",
    company_name="UK Co",
    country="GB",
    home_currency="GBP",
    multicurrency_enabled=True,
    custom_txn_numbers=True,
    automated_sales_tax=False,
    using_sales_tax=True,
)
MAPPED = ConnectionSettings(default_item_id="1", service_type_items={"14": "2", "15": "3"})

quantities = st.decimals(min_value=Decimal("0.001"), max_value=Decimal("1000"), places=3)
prices = st.decimals(min_value=Decimal("0"), max_value=Decimal("100000"), places=4)
percents = st.decimals(min_value=Decimal("0"), max_value=Decimal("100"), places=2)
source_lines = st.builds(
    SourceLine,
    description=st.text(max_size=40),
    quantity=quantities,
    unit_price=prices,
    discount_percent=st.one_of(st.just(Decimal(0)), percents),
    service_type_id=st.sampled_from(["14", "15", "99", None]),
    taxable=st.booleans(),
)


def _invoice(lines: list[SourceLine], discount: Decimal, currency: str = "USD") -> SourceInvoice:
    totals = compute_invoice(
        [
            LineInput(
                quantity=line.quantity,
                unit_price=line.unit_price,
                discount=line.discount_percent,
                tax_components=(Decimal(10),) if line.taxable else (),
            )
            for line in lines
        ],
        discount,
        [],
    )
    return SourceInvoice(
        invoice_id="123",
        number="2026-041",
        subject="March retainer",
        note="Thanks!",
        po_number="PO-77",
        invoiced_on=date(2026, 3, 31),
        pay_on=date(2026, 4, 30),
        currency=currency,
        discount_percent=discount,
        amount=totals.amount,
        amount_with_tax=totals.amount_with_tax,
        lines=tuple(lines),
    )


@settings(max_examples=300, deadline=None)
@given(lines=st.lists(source_lines, min_size=1, max_size=40), discount=st.one_of(st.just(Decimal(0)), percents))
def test_amounts_agree_with_productive_to_the_cent(lines: list[SourceLine], discount: Decimal) -> None:
    invoice = _invoice(lines, discount)
    body = build_invoice(
        invoice=invoice, settings=MAPPED, company=US, customer_id="58", tax=TaxChoice("7"), memo=None, marker="m"
    )
    sales = [line for line in body["Line"] if line["DetailType"] == "SalesItemLineDetail"]
    discounts = [line for line in body["Line"] if line["DetailType"] == "DiscountLineDetail"]
    for line in sales:
        detail = line["SalesItemLineDetail"]
        # QuickBooks' own rule: Amount = Qty x UnitPrice, to the cent.
        assert line["Amount"] == cents(detail["Qty"] * detail["UnitPrice"])
        assert all(isinstance(v, Decimal) for v in (line["Amount"], detail["Qty"], detail["UnitPrice"]))
    subtotal = sum((line["Amount"] for line in sales), Decimal(0))
    discount_amount = sum((line["Amount"] for line in discounts), Decimal(0))
    assert subtotal - discount_amount == invoice.amount
    assert len(sales) == len(lines)
    # What goes on the wire is numbers, not floats and not strings, and reads back exactly.
    assert loads(dumps(body)) == body


@given(lines=st.lists(source_lines, min_size=1, max_size=5))
def test_us_lines_are_tax_or_non_and_the_code_goes_on_the_transaction(lines: list[SourceLine]) -> None:
    body = build_invoice(
        invoice=_invoice(lines, Decimal(0)),
        settings=MAPPED,
        company=US,
        customer_id="1",
        tax=TaxChoice("7"),
        memo=None,
        marker="m",
    )
    assert body["TxnTaxDetail"] == {"TxnTaxCodeRef": {"value": "7"}}
    for line, source in zip(body["Line"], lines, strict=True):
        assert line["SalesItemLineDetail"]["TaxCodeRef"]["value"] == ("TAX" if source.taxable else "NON")


def test_us_without_a_tax_code_sends_every_line_non() -> None:
    lines = [SourceLine("a", Decimal(1), Decimal(10), Decimal(0), "14")]
    body = build_invoice(
        invoice=_invoice(lines, Decimal(0)),
        settings=MAPPED,
        company=US,
        customer_id="1",
        tax=TaxChoice(None),
        memo=None,
        marker="m",
    )
    assert "TxnTaxDetail" not in body
    assert body["Line"][0]["SalesItemLineDetail"]["TaxCodeRef"] == {"value": "NON"}


def test_non_us_puts_the_code_on_every_line_and_names_the_currency() -> None:
    lines = [
        SourceLine("a", Decimal(1), Decimal(10), Decimal(0), "14"),
        SourceLine("b", Decimal(2), Decimal(5), Decimal(0), "15"),
    ]
    body = build_invoice(
        invoice=_invoice(lines, Decimal(0), "EUR"),
        settings=MAPPED,
        company=UK,
        customer_id="1",
        tax=TaxChoice("3"),
        memo=None,
        marker="m",
    )
    assert {line["SalesItemLineDetail"]["TaxCodeRef"]["value"] for line in body["Line"]} == {"3"}
    assert "TxnTaxDetail" not in body
    assert body["CurrencyRef"] == {"value": "EUR"}
    assert body["GlobalTaxCalculation"] == "TaxExcluded"


def test_items_by_service_type_then_default_else_a_clear_error() -> None:
    lines = [
        SourceLine("a", Decimal(1), Decimal(1), Decimal(0), "14"),
        SourceLine("b", Decimal(1), Decimal(1), Decimal(0), "77"),
    ]
    body = build_invoice(
        invoice=_invoice(lines, Decimal(0)),
        settings=MAPPED,
        company=US,
        customer_id="1",
        tax=TaxChoice(None),
        memo=None,
        marker="m",
    )
    assert [line["SalesItemLineDetail"]["ItemRef"]["value"] for line in body["Line"]] == ["2", "1"]
    unmapped = SourceLine("c", Decimal(1), Decimal(1), Decimal(0), "77", service_type_name="Travel")
    with pytest.raises(InvalidInput, match="Travel") as error:
        build_invoice(
            invoice=_invoice([unmapped], Decimal(0)),
            settings=ConnectionSettings(service_type_items={"14": "2"}),
            company=US,
            customer_id="1",
            tax=TaxChoice(None),
            memo=None,
            marker="m",
        )
    assert error.value.code == "unmapped_service_type"


def test_other_currency_without_multicurrency_is_refused() -> None:
    lines = [SourceLine("a", Decimal(1), Decimal(1), Decimal(0), "14")]
    with pytest.raises(InvalidInput) as error:
        build_invoice(
            invoice=_invoice(lines, Decimal(0), "EUR"),
            settings=MAPPED,
            company=US,
            customer_id="1",
            tax=TaxChoice(None),
            memo=None,
            marker="m",
        )
    assert error.value.code == "currency_not_supported"


@pytest.mark.parametrize(
    ("source", "expected"),
    [("subject", "March retainer"), ("note", "Thanks!"), ("po_number", "PO-77"), ("custom_field", "Cost centre A")],
)
def test_memo_sources(source: str, expected: str) -> None:
    settings_ = ConnectionSettings(
        memo_source=source, memo_custom_field_id="5511" if source == "custom_field" else None
    )
    invoice = _invoice([SourceLine("a", Decimal(1), Decimal(1), Decimal(0), "14")], Decimal(0))
    assert memo_for(invoice, settings_, "Cost centre A") == expected


def test_numbering() -> None:
    invoice = _invoice([SourceLine("a", Decimal(1), Decimal(1), Decimal(0), "14")], Decimal(0))
    assert doc_number_for(invoice, ConnectionSettings(invoice_numbering="quickbooks")) is None
    assert doc_number_for(invoice, ConnectionSettings(invoice_numbering="productive")) == "2026-041"
    long = SourceInvoice(**{**invoice.__dict__, "number": "X" * 22})
    with pytest.raises(InvalidInput):
        doc_number_for(long, ConnectionSettings(invoice_numbering="productive"))


@pytest.mark.parametrize(
    ("name", "rank"),
    [
        ("0.0% Z", 0),
        ("0% ECG", 0),
        ("Zero-rated", 1),
        ("Exempt", 1),
        ("No VAT", 1),
        ("20.0% S", None),
        ("5.0% R", None),
        ("10% GST", None),
        ("100% Recoverable", None),
    ],
)
def test_zero_rate_tax_codes_are_recognised_by_name(name: str, rank: int | None) -> None:
    assert zero_rate_rank(name) == rank


def test_lines_have_one_order_position_first_then_numeric_id() -> None:
    from qbosync.domain.productive import ProductiveLineItem, in_invoice_order

    def line(line_id: str, position: int | None) -> ProductiveLineItem:
        return ProductiveLineItem(line_id, "1", "x", Decimal(1), Decimal(1), position=position)

    lines = [line("10", None), line("9", None), line("3", 2), line("12", 1), line("2", 2)]
    assert [li.id for li in in_invoice_order(lines)] == ["12", "2", "3", "9", "10"]
