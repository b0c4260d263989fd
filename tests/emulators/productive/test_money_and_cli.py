"""The emulator's money rules (half up or half even) against an independent exact-fraction computation,
and its CLI."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from decimal import Decimal
from fractions import Fraction

import httpx
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from local.productive_emulator import ProductiveEmulator
from local.productive_emulator.money import LineInput, Rounding, compute_invoice


def _round(value: Fraction, rounding: Rounding = "half_up") -> Fraction:
    cents = value * 100
    sign = -1 if cents < 0 else 1
    whole, rest = divmod(abs(cents), 1)
    if rest > Fraction(1, 2) or (rest == Fraction(1, 2) and (rounding == "half_up" or whole % 2 == 1)):
        whole += 1
    return Fraction(sign * int(whole), 100)


quantities = st.decimals(min_value=Decimal("0.25"), max_value=Decimal("500"), places=2)
prices = st.decimals(min_value=Decimal("0"), max_value=Decimal("5000"), places=3)
percents = st.sampled_from([Decimal(v) for v in ("0", "5", "7.5", "10", "12.5", "33.33")])
rates = st.sampled_from([(), (Decimal("20"),), (Decimal("4"), Decimal("4.875")), (Decimal("13"),)])
lines = st.lists(st.tuples(quantities, prices, percents, rates), min_size=1, max_size=6)


@settings(max_examples=200, deadline=None)
@given(
    lines=lines,
    discount=percents,
    paid=st.decimals(min_value=0, max_value=1000, places=2),
    rounding=st.sampled_from(["half_up", "half_even"]),
)
def test_invoice_totals_match_exact_reference(
    lines: list[tuple[Decimal, Decimal, Decimal, tuple[Decimal, ...]]],
    discount: Decimal,
    paid: Decimal,
    rounding: Rounding,
) -> None:
    totals = compute_invoice([LineInput(q, p, d, r) for q, p, d, r in lines], discount, [(paid, False)], rounding)

    factor = 1 - Fraction(discount) / 100
    nets = [_round(Fraction(q) * Fraction(p) * (1 - Fraction(d) / 100), rounding) for q, p, d, _ in lines]
    subtotal = sum(nets, Fraction(0))
    amount = subtotal - _round(subtotal * Fraction(discount) / 100, rounding)
    tax = sum(
        (
            _round(net * factor * Fraction(rate) / 100, rounding)
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


def test_rounding_is_set_per_emulator_and_changes_line_amounts_and_totals() -> None:
    # 1.5 x 0.07 = 0.105 and 3 x 0.015 = 0.045: ties, 0.11 and 0.05 half up, 0.10 and 0.04 half even.
    with ProductiveEmulator(rounding="half_even") as emu, ProductiveEmulator() as other:
        for emulator in (emu, other):
            org, _ = emulator.create_organization(name="Agency")
            sub = emulator.create_subsidiary(org, "Agency Inc.")
            tax = emulator.create_tax_rate(org, sub, "None", "0")
            company = emulator.create_company(org, "Acme", default_currency="USD")
            invoice = emulator.create_invoice(
                org,
                company,
                currency="USD",
                subsidiary_id=sub,
                line_items=[
                    {"description": "a", "quantity": "1.5", "unit_price": "0.07", "tax_rate_id": tax},
                    {"description": "b", "quantity": "3", "unit_price": "0.015", "tax_rate_id": tax},
                ],
            )
            if emulator is emu:
                assert emu.rounding == "half_even"
                assert [line["amount"] for line in emu.line_items(invoice)] == ["0.10", "0.04"]
                assert emu.invoice(invoice)["amount"] == "0.14"
                emu.set_rounding("half_up")  # derived on every read: the same invoice follows
            assert emulator.rounding == "half_up"
            assert [line["amount"] for line in emulator.line_items(invoice)] == ["0.11", "0.05"]
            assert emulator.invoice(invoice)["amount"] == "0.16"
        with pytest.raises(ValueError, match="half_up, half_even"):
            emu.set_rounding("down")  # type: ignore[arg-type]


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


def test_cli_latency_comes_from_the_environment() -> None:
    process = subprocess.Popen(
        [sys.executable, "-m", "local.productive_emulator", "--port", "0", "--json"],
        stdout=subprocess.PIPE,
        text=True,
        env={**os.environ, "PRODUCTIVE_EMULATOR_LATENCY_MS": "300"},
    )
    try:
        assert process.stdout is not None
        info = json.loads(process.stdout.readline())
        started = time.monotonic()
        assert httpx.get(f"{info['base_url']}/service_types").status_code == 401  # every answer, errors too
        assert time.monotonic() - started >= 0.3
    finally:
        process.terminate()
        assert process.wait(timeout=10) == 0
