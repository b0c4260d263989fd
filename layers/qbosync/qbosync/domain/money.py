"""Money is Decimal end to end. QuickBooks rounds each line to cents, half up; so do we wherever we compute
an amount (a copy carries Productive's own line amounts: domain/invoice_copy.py)."""

from __future__ import annotations

import json
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

CENT = Decimal("0.01")
HUNDRED = Decimal(100)


def cents(value: Decimal) -> Decimal:
    return value.quantize(CENT, rounding=ROUND_HALF_UP)


def decimal_or_zero(value: Any) -> Decimal:
    if value is None or value == "":
        return Decimal(0)
    if isinstance(value, float):  # never expected; kept exact through its shortest repr
        return Decimal(repr(value))
    return Decimal(str(value))


def loads(text: str | bytes) -> Any:
    """JSON with every non-integer number as Decimal."""
    return json.loads(text, parse_float=Decimal)


def dumps(value: Any) -> str:
    """JSON where Decimals are written as plain numbers (json.dumps cannot do this itself)."""
    if isinstance(value, Decimal):
        text = format(value, "f")
        return text
    if isinstance(value, dict):
        return "{" + ",".join(f"{json.dumps(str(k))}:{dumps(v)}" for k, v in value.items()) + "}"
    if isinstance(value, list | tuple):
        return "[" + ",".join(dumps(item) for item in value) + "]"
    if isinstance(value, float):
        raise TypeError("floats are not money: use Decimal")
    return json.dumps(value, ensure_ascii=False)
