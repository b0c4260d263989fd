"""Productive's line amounts are the truth, through the real path: a Productive (emulator) that rounds
half to even, copied over sockets into the QuickBooks emulator, which checks Amount = Qty x UnitPrice
rounded half up (6070 otherwise) and totals the invoice itself."""

from __future__ import annotations

from decimal import Decimal

from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from tests.integration.copy_world import World

quantities = st.decimals(min_value=Decimal("0.0001"), max_value=Decimal("500"), places=4)
prices = st.decimals(min_value=Decimal("0.01"), max_value=Decimal("5000"), places=3)
line_discounts = st.one_of(st.just(Decimal(0)), st.decimals(min_value=Decimal(0), max_value=Decimal(50), places=2))
# An odd quantity of an odd number of half cents lands exactly on a half cent, where half even and half
# up part: so that every example has lines on which the two roundings disagree.
tie = st.tuples(
    st.integers(0, 20).map(lambda n: Decimal(2 * n + 1)),
    st.integers(0, 2000).map(lambda n: Decimal(2 * n + 1) * Decimal("0.005")),
    st.just(Decimal(0)),
)
lines = st.lists(st.one_of(tie, st.tuples(quantities, prices, line_discounts)), min_size=2, max_size=6)
invoice_discounts = st.one_of(st.just(Decimal(0)), st.decimals(min_value=Decimal(0), max_value=Decimal(30), places=1))


@settings(
    max_examples=4,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(lines=lines, discount=invoice_discounts)
@example(
    lines=[(Decimal("1.5"), Decimal("0.07"), Decimal(0)), (Decimal(3), Decimal("0.015"), Decimal(0))],
    discount=Decimal(75),  # 75 % of 0.14 is 0.105: 0.10 half even, 0.11 in QuickBooks' percent
)
def test_half_even_productive_is_copied_to_the_cent(
    us: World, lines: list[tuple[Decimal, Decimal, Decimal]], discount: Decimal
) -> None:
    us.productive.set_rounding("half_even")  # put back after the test (tests/integration/conftest.py)
    invoice_id = _invoice(us, lines, discount)
    response = us.copy(invoice_id, tax_code_id=None)
    assert response.status_code == 201, response.text
    assert response.json()["warnings"] == []  # no tax here, so nothing for the totals check to report
    [qbo] = us.qbo_invoices(invoice_id)
    sales = [line for line in qbo["Line"] if line["DetailType"] == "SalesItemLineDetail"]
    productive_lines = us.productive.line_items(invoice_id)
    assert [line["Amount"] for line in sales] == [Decimal(line["amount"]) for line in productive_lines]
    assert qbo["TotalAmt"] == Decimal(us.productive.invoice(invoice_id)["amount"])


def test_the_example_lines_do_round_differently_in_productive(us: World) -> None:
    """The integration test above is not vacuous: its example's lines are ones where half even and half
    up disagree."""
    tie_lines = [(Decimal("1.5"), Decimal("0.07"), Decimal(0)), (Decimal(3), Decimal("0.015"), Decimal(0))]
    amounts = {}
    for rounding in ("half_up", "half_even"):
        us.productive.set_rounding(rounding)
        invoice_id = _invoice(us, tie_lines, Decimal(0))
        amounts[rounding] = [line["amount"] for line in us.productive.line_items(invoice_id)]
    assert amounts == {"half_up": ["0.11", "0.05"], "half_even": ["0.10", "0.04"]}


def _invoice(world: World, lines: list[tuple[Decimal, Decimal, Decimal]], discount: Decimal) -> str:
    return str(
        world.productive.create_invoice(
            world.demo.organization_id,
            world.demo.company_acme_id,
            currency="USD",
            subsidiary_id=world.demo.subsidiary_us_id,
            invoiced_on="2025-05-02",
            discount=str(discount),
            line_items=[
                {
                    "description": f"Line {position}",
                    "quantity": str(quantity),
                    "unit_price": str(price),
                    "discount": str(line_discount),
                    "service_type_id": world.demo.service_type_ids["Design"],
                    "tax_rate_id": world.demo.tax_rate_us_exempt_id,
                }
                for position, (quantity, price, line_discount) in enumerate(lines, start=1)
            ],
        )
    )
