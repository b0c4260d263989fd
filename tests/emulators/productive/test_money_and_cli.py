"""The emulator's money rules against an independent exact-fraction computation, and its CLI."""

from __future__ import annotations

import json
import subprocess
import sys
from decimal import Decimal
from fractions import Fraction

import httpx
from hypothesis import given, settings
from hypothesis import strategies as st

from local.productive_emulator.money import LineInput, compute_invoice


def _round_half_up(value: Fraction) -> Fraction:
    cents = value * 100
    sign = -1 if cents < 0 else 1
    whole, rest = divmod(abs(cents), 1)
    if rest >= Fraction(1, 2):
        whole += 1
    return Fraction(sign * int(whole), 100)


quantities = st.decimals(min_value=Decimal("0.25"), max_value=Decimal("500"), places=2)
prices = st.decimals(min_value=Decimal("0"), max_value=Decimal("5000"), places=3)
percents = st.sampled_from([Decimal(v) for v in ("0", "5", "7.5", "10", "12.5", "33.33")])
rates = st.sampled_from([(), (Decimal("20"),), (Decimal("4"), Decimal("4.875")), (Decimal("13"),)])
lines = st.lists(st.tuples(quantities, prices, percents, rates), min_size=1, max_size=6)


@settings(max_examples=200, deadline=None)
@given(lines=lines, discount=percents, paid=st.decimals(min_value=0, max_value=1000, places=2))
def test_invoice_totals_match_exact_reference(
    lines: list[tuple[Decimal, Decimal, Decimal, tuple[Decimal, ...]]], discount: Decimal, paid: Decimal
) -> None:
    totals = compute_invoice([LineInput(q, p, d, r) for q, p, d, r in lines], discount, [(paid, False)])
    factor = 1 - Fraction(discount) / 100
    nets = [_round_half_up(Fraction(q) * Fraction(p) * (1 - Fraction(d) / 100)) for q, p, d, _ in lines]
    subtotal = sum(nets, Fraction(0))
    amount = subtotal - _round_half_up(subtotal * Fraction(discount) / 100)
    tax = sum(
        (
            _round_half_up(net * factor * Fraction(rate) / 100)
            for net, (_, _, _, rs) in zip(nets, lines, strict=True)
            for rate in rs
        ),
        Fraction(0),
    )
    assert Fraction(totals.amount) == amount
    assert Fraction(totals.amount_tax) == tax
    assert Fraction(totals.amount_with_tax) == amount + tax
    assert Fraction(totals.amount_unpaid) == amount + tax - Fraction(paid)
    for value in (totals.amount, totals.amount_tax, totals.amount_with_tax):
        assert value == value.quantize(Decimal("0.01"))


def test_cli_serves_a_seeded_demo() -> None:
    process = subprocess.Popen(
        [sys.executable, "-m", "local.productive_emulator", "--port", "0", "--json"],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert process.stdout is not None
        info = json.loads(process.stdout.readline())
        headers = {"X-Auth-Token": info["api_token"], "X-Organization-Id": info["organization_id"]}
        response = httpx.get(f"{info['base_url']}/invoices/{info['invoice_usd_id']}", headers=headers)
        assert response.status_code == 200
        assert response.json()["data"]["attributes"]["amount_with_tax"] == "6286.67"
    finally:
        process.terminate()
        assert process.wait(timeout=10) == 0
