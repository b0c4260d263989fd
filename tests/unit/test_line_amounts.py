"""Productive's line amounts are the truth of a copy, whatever rounding made them: each QuickBooks line
carries Productive's amount and a UnitPrice that QuickBooks' check (Amount = Qty x UnitPrice rounded
half up to the cent) accepts. Productive's arithmetic is the emulator's money module, set to round half
to even, the case where its rounding and QuickBooks' disagree."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from local.productive_emulator.money import LineInput, Rounding, compute_invoice
from qbosync.domain.connection import ConnectionSettings
from qbosync.domain.errors import InvalidInput
from qbosync.domain.invoice_copy import (
    SourceInvoice,
    SourceLine,
    TaxChoice,
    build_invoice,
    effective_unit_price,
    unit_price_for,
)
from qbosync.domain.money import cents
from tests.unit.test_invoice_mapping import US

MAPPED = ConnectionSettings(default_item_id="1")


def _decimals(value: Decimal) -> int:
    exponent = value.as_tuple().exponent
    assert isinstance(exponent, int)
    return max(0, -exponent)


quantities = st.decimals(min_value=Decimal("0.0001"), max_value=Decimal("10000"), places=4)
prices = st.decimals(min_value=Decimal("0"), max_value=Decimal("100000"), places=4)
percents = st.decimals(min_value=Decimal("0"), max_value=Decimal("100"), places=2)
# An odd quantity of an odd number of half cents lands exactly on a half cent: where half up and half
# even part (3 x 0.015 = 0.045 is 0.05 half up, 0.04 half even).
tie_lines = st.builds(
    lambda units, half_cents: (Decimal(2 * units + 1), Decimal(2 * half_cents + 1) * Decimal("0.005")),
    st.integers(0, 50),
    st.integers(0, 20000),
)
random_lines = st.tuples(quantities, prices)
line_inputs = st.tuples(st.one_of(tie_lines, random_lines), st.one_of(st.just(Decimal(0)), percents))


def _productive(
    lines: list[tuple[tuple[Decimal, Decimal], Decimal]], discount: Decimal, rounding: Rounding
) -> SourceInvoice:
    """The invoice as Productive (the emulator's arithmetic) shows it, line amounts included."""
    inputs = [LineInput(quantity=q, unit_price=p, discount=d, tax_components=()) for (q, p), d in lines]
    totals = compute_invoice(inputs, discount, [], rounding)
    return SourceInvoice(
        invoice_id="1",
        number="1",
        subject=None,
        note=None,
        po_number=None,
        invoiced_on=date(2026, 3, 31),
        pay_on=None,
        currency="USD",
        discount_percent=discount,
        amount=totals.amount,
        amount_with_tax=totals.amount_with_tax,
        lines=tuple(
            SourceLine("line", q, p, d, None, amount=line_totals.amount)
            for ((q, p), d), line_totals in zip(lines, totals.lines, strict=True)
        ),
    )


def _built(invoice: SourceInvoice) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    body = build_invoice(
        invoice=invoice, settings=MAPPED, company=US, customer_id="1", tax=TaxChoice(None), memo=None, marker="m"
    )
    sales = [line for line in body["Line"] if line["DetailType"] == "SalesItemLineDetail"]
    discounts = [line for line in body["Line"] if line["DetailType"] == "DiscountLineDetail"]
    return sales, discounts


def _quickbooks_discount(line: dict[str, Any], subtotal: Decimal) -> Decimal:
    """What QuickBooks makes of a discount line: a percent of the subtotal (half up), or the amount."""
    detail = line["DiscountLineDetail"]
    return cents(subtotal * detail["DiscountPercent"] / 100) if detail["PercentBased"] else line["Amount"]


@settings(max_examples=400, deadline=None)
@given(
    lines=st.lists(line_inputs, min_size=1, max_size=20),
    discount=st.one_of(st.just(Decimal(0)), percents),
    rounding=st.sampled_from(["half_even", "half_up"]),
)
@example(lines=[((Decimal(3), Decimal("0.015")), Decimal(0))], discount=Decimal(0), rounding="half_even")
@example(lines=[((Decimal("1.5"), Decimal("0.07")), Decimal(0))], discount=Decimal("10"), rounding="half_even")
def test_quickbooks_lines_carry_productives_amounts(
    lines: list[tuple[tuple[Decimal, Decimal], Decimal]], discount: Decimal, rounding: Rounding
) -> None:
    invoice = _productive(lines, discount, rounding)
    sales, discounts = _built(invoice)
    for line, source in zip(sales, invoice.lines, strict=True):
        detail = line["SalesItemLineDetail"]
        assert line["Amount"] == source.amount  # Productive's, to the cent
        assert cents(detail["Qty"] * detail["UnitPrice"]) == line["Amount"]  # QuickBooks' check (6070)
        assert detail["Qty"] == source.quantity
        if cents(source.quantity * effective_unit_price(source)) == source.amount:
            assert detail["UnitPrice"] == effective_unit_price(source)  # as before: rounding agrees
        else:
            assert _decimals(detail["UnitPrice"]) <= 7
    subtotal = sum((line["Amount"] for line in sales), Decimal(0))
    quickbooks_discount = sum((_quickbooks_discount(line, subtotal) for line in discounts), Decimal(0))
    assert subtotal - quickbooks_discount == invoice.amount  # QuickBooks' total before tax is Productive's


@given(
    quantity=st.decimals(min_value=Decimal("0.0001"), max_value=Decimal("10000"), places=4),
    amount=st.decimals(min_value=Decimal("-1000000"), max_value=Decimal("1000000"), places=2),
)
@example(quantity=Decimal("1.5"), amount=Decimal("0.10"))
@example(quantity=Decimal(3), amount=Decimal("0.04"))
def test_unit_price_rounds_to_the_amount_for_either_sign(quantity: Decimal, amount: Decimal) -> None:
    price = unit_price_for(quantity, amount)
    assert _decimals(price) <= 7  # what QuickBooks keeps of a UnitPrice
    assert cents(quantity * price) == amount
    # Far from any half cent, so QuickBooks' tie rule (half up, away from zero or not) cannot matter.
    assert abs(quantity * price - amount) <= quantity * Decimal("0.00000005")
    # Sign-symmetric: credit notes carry negative unit prices (or are copied with the signs turned).
    assert unit_price_for(quantity, -amount) == -price
    assert unit_price_for(-quantity, amount) == -price
    assert unit_price_for(-quantity, -amount) == price


def test_a_half_even_tie_gets_productives_amount_and_a_fitted_price() -> None:
    # Productive (half even): 1.5 x 0.07 = 0.105 -> 0.10; QuickBooks would make 0.11 of 1.5 x 0.07.
    invoice = _productive([((Decimal("1.5"), Decimal("0.07")), Decimal(0))], Decimal(0), "half_even")
    [line], _ = _built(invoice)
    assert line["Amount"] == Decimal("0.10")
    assert line["SalesItemLineDetail"]["UnitPrice"] == Decimal("0.0666667")


def test_a_half_even_invoice_discount_is_sent_as_productives_amount() -> None:
    # Lines 2.50; 10.1 % of it is 0.2525 -> 0.25 either way; 2.50 x 21 % = 0.525 -> 0.52 half even, 0.53 half up.
    agreeing = _productive([((Decimal(1), Decimal("2.50")), Decimal(0))], Decimal("10.1"), "half_even")
    [_], [percent] = _built(agreeing)
    assert percent["DiscountLineDetail"] == {"PercentBased": True, "DiscountPercent": Decimal("10.1")}
    parting = _productive([((Decimal(1), Decimal("2.50")), Decimal(0))], Decimal(21), "half_even")
    [_], [fixed] = _built(parting)
    assert fixed == {
        "DetailType": "DiscountLineDetail",
        "Amount": Decimal("0.52"),
        "DiscountLineDetail": {"PercentBased": False},
    }


def test_beyond_seven_decimals_the_exact_quotient_is_sent() -> None:
    # 1,234,567 units: no 7-decimal price makes 1.00 (8E-7 gives 0.99, 9E-7 gives 1.11).
    price = unit_price_for(Decimal(1234567), Decimal("1.00"))
    assert cents(Decimal(1234567) * price) == Decimal("1.00")


def test_a_line_without_quantity_cannot_carry_an_amount() -> None:
    assert unit_price_for(Decimal(0), Decimal(0)) == 0
    with pytest.raises(InvalidInput) as raised:
        unit_price_for(Decimal(0), Decimal("5.00"))
    assert raised.value.code == "line_amount_without_quantity"


def test_without_productives_amount_the_line_is_computed_half_up_as_before() -> None:
    line = SourceLine("a", Decimal("1.5"), Decimal("0.07"), Decimal(0), None)
    invoice = _productive([((Decimal("1.5"), Decimal("0.07")), Decimal(0))], Decimal(0), "half_up")
    [sent], _ = _built(SourceInvoice(**{**invoice.__dict__, "lines": (line,)}))
    assert sent["Amount"] == Decimal("0.11")
    assert sent["SalesItemLineDetail"]["UnitPrice"] == Decimal("0.07")
