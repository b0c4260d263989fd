"""Money arithmetic of the emulator: how an invoice's derived amounts are computed.

Every amount is a `Decimal`; rounding is to cents and happens per line (as both Productive and
QuickBooks show money per line), half up unless the emulator is set to round half even
(`Rounding`, see the README "Money"). The steps, for an invoice with invoice-level
discount `D` percent and lines `i` with quantity `q`, unit price `p`, line discount `d` percent and
a tax rate with component percentages `t1`, `t2`:

1. line amount     L_i = round(q * p * (1 - d/100))                   (net after the line discount)
2. subtotal        S   = sum(L_i)
3. discount amount X   = round(S * D/100)
4. invoice amount  A   = S - X                                         (net, "amount")
5. taxable base    B_i = L_i * (1 - D/100)                             (not rounded)
6. line tax        T_i = round(B_i * t1/100) + round(B_i * t2/100)    (each component rounded)
7. amount_tax      = sum(T_i);  amount_with_tax = A + amount_tax
8. amount_paid     = sum of payments without `written_off_on`; amount_written_off = the others
9. amount_unpaid   = amount_with_tax - amount_paid - amount_written_off (may go below zero)
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from decimal import ROUND_HALF_EVEN, ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Literal, get_args

CENT = Decimal("0.01")
HUNDRED = Decimal(100)
ZERO = Decimal(0)

Rounding = Literal["half_up", "half_even"]
ROUNDINGS: tuple[Rounding, ...] = get_args(Rounding)
_DECIMAL_ROUNDING = {"half_up": ROUND_HALF_UP, "half_even": ROUND_HALF_EVEN}


def round_cents(value: Decimal, rounding: Rounding = "half_up") -> Decimal:
    return value.quantize(CENT, rounding=_DECIMAL_ROUNDING[rounding])


def to_decimal(value: object) -> Decimal | None:
    """A finite Decimal from a JSON value (string, int or Decimal), else None."""
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, Decimal | int):
        result = Decimal(value)
    elif isinstance(value, float):
        result = Decimal(str(value))
    elif isinstance(value, str):
        try:
            result = Decimal(value.strip())
        except InvalidOperation:
            return None
    else:
        return None
    return result if result.is_finite() else None


def money_str(value: Decimal) -> str:
    """Money on the wire: a string with exactly two decimals ("1500.00")."""
    return f"{round_cents(value):.2f}"


def plain_str(value: Decimal) -> str:
    """Quantities and percentages on the wire: no exponent, no needless trailing zeros ("12.5")."""
    text = f"{value:f}"
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    return text or "0"


def price_str(value: Decimal) -> str:
    """Unit prices keep extra precision when given, else two decimals."""
    exponent = value.as_tuple().exponent
    if isinstance(exponent, int) and exponent < -2:
        return f"{value.normalize():f}"
    return money_str(value)


@dataclass(frozen=True)
class LineInput:
    quantity: Decimal
    unit_price: Decimal
    discount: Decimal  # percent
    tax_components: tuple[Decimal, ...]  # percentages


@dataclass(frozen=True)
class LineTotals:
    amount: Decimal
    amount_tax: Decimal

    @property
    def amount_with_tax(self) -> Decimal:
        return self.amount + self.amount_tax


@dataclass(frozen=True)
class InvoiceTotals:
    subtotal: Decimal
    discount_amount: Decimal
    amount: Decimal
    amount_tax: Decimal
    amount_with_tax: Decimal
    amount_paid: Decimal
    amount_written_off: Decimal
    amount_unpaid: Decimal
    lines: tuple[LineTotals, ...]


def line_amount(line: LineInput, rounding: Rounding = "half_up") -> Decimal:
    return round_cents(line.quantity * line.unit_price * (1 - line.discount / HUNDRED), rounding)


def compute_invoice(
    lines: Iterable[LineInput],
    discount_percent: Decimal | None,
    payments: Iterable[tuple[Decimal, bool]],
    rounding: Rounding = "half_up",
) -> InvoiceTotals:
    """`payments` is (amount, written_off) pairs; `rounding` rounds every step 1-6 to cents."""
    factor = 1 - (discount_percent or ZERO) / HUNDRED
    line_totals: list[LineTotals] = []
    for line in lines:
        net = line_amount(line, rounding)
        base = net * factor
        tax = sum((round_cents(base * rate / HUNDRED, rounding) for rate in line.tax_components), ZERO)
        line_totals.append(LineTotals(amount=net, amount_tax=tax))
    subtotal = sum((lt.amount for lt in line_totals), ZERO)
    discount_amount = round_cents(subtotal * (discount_percent or ZERO) / HUNDRED, rounding)
    amount = subtotal - discount_amount
    amount_tax = sum((lt.amount_tax for lt in line_totals), ZERO)
    paid = ZERO
    written_off = ZERO
    for value, is_write_off in payments:
        if is_write_off:
            written_off += value
        else:
            paid += value
    with_tax = amount + amount_tax
    return InvoiceTotals(
        subtotal=subtotal,
        discount_amount=discount_amount,
        amount=amount,
        amount_tax=amount_tax,
        amount_with_tax=with_tax,
        amount_paid=paid,
        amount_written_off=written_off,
        amount_unpaid=with_tax - paid - written_off,
        lines=tuple(line_totals),
    )
