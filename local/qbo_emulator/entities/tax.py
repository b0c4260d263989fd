"""Sales tax of a sales form (invoice, estimate, credit memo, sales receipt, refund receipt).

Tax is computed per line, each line's tax rounded half-up to cents, then summed per tax rate.

* US: lines carry the pseudo codes ``TAX``/``NON``. ``TxnTaxDetail.TxnTaxCodeRef`` names the code whose
  rates apply to every TAX line; without it no tax is charged. ``ApplyTaxAfterDiscount`` true lets a
  discount reduce the base.
* Non-US: every sales line needs ``TaxCodeRef`` with a real TaxCode Id (no TAX/NON, no TxnTaxCodeRef).
  ``GlobalTaxCalculation`` TaxExcluded (default), TaxInclusive or NotApplicable. A discount reduces every
  line's base proportionally.
* Any incoming ``TxnTaxDetail.TotalTax`` is ignored: there is no AST override in a sandbox.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from local.qbo_emulator import faults
from local.qbo_emulator.api import ApiContext
from local.qbo_emulator.entities import common
from local.qbo_emulator.entities.common import money
from local.qbo_emulator.store import Record

ZERO = Decimal("0")
HUNDRED = Decimal("100")
MODES = ("TaxExcluded", "TaxInclusive", "NotApplicable")


@dataclass
class TaxedLine:
    """What the tax computation needs of one sales line."""

    index: int
    amount: Decimal
    has_item: bool
    taxable: bool = False  # US: the line's code is TAX
    code: Record | None = None  # non-US: the line's tax code


@dataclass
class TaxResult:
    detail: Record
    total: Decimal
    inclusive: bool


def tax_code(ctx: ApiContext, code_id: str, element: str) -> Record:
    code = ctx.realm.get("TaxCode", code_id)
    if code is None:
        raise common.invalid_reference("TaxCode", code_id, element)
    if code.get("Active") is False:
        raise faults.inactive_reference("TaxCode", code_id, element=element)
    return code


def rates(ctx: ApiContext, code: Record) -> list[Record]:
    found = []
    for detail in code.get("SalesTaxRateList", {}).get("TaxRateDetail", []):
        rate = ctx.realm.get("TaxRate", str(detail["TaxRateRef"]["value"]))
        if rate is not None:
            found.append(rate)
    return found


def compute(ctx: ApiContext, body: Record, lines: list[TaxedLine], subtotal: Decimal, discount: Decimal) -> TaxResult:
    """The TxnTaxDetail of a sales form, its total tax, and whether line amounts include tax."""
    sent = body.get("TxnTaxDetail") if isinstance(body.get("TxnTaxDetail"), dict) else {}
    txn_code_id = common.ref_value((sent or {}).get("TxnTaxCodeRef"))
    factor = (subtotal - discount) / subtotal if subtotal else Decimal("1")
    # tax rate id -> [rate record, net taxable, tax]
    per_rate: dict[str, list[Any]] = {}
    inclusive = False
    detail: Record = {}
    if ctx.realm.is_us:
        apply_after = body.get("ApplyTaxAfterDiscount") is True
        base_factor = factor if apply_after else Decimal("1")
        if txn_code_id is not None:
            if txn_code_id in ("TAX", "NON"):
                raise common.invalid_reference("TaxCode", txn_code_id, "TxnTaxDetail.TxnTaxCodeRef")
            code = tax_code(ctx, txn_code_id, "TxnTaxDetail.TxnTaxCodeRef")
            detail["TxnTaxCodeRef"] = {"value": str(code["Id"]), "name": code["Name"]}
            code_rates = rates(ctx, code)
            for line in lines:
                if not line.taxable:
                    continue
                base = line.amount * base_factor
                for rate in code_rates:
                    entry = per_rate.setdefault(str(rate["Id"]), [rate, ZERO, ZERO])
                    entry[1] += base
                    entry[2] += money(base * Decimal(rate["RateValue"]) / HUNDRED)
    else:
        if txn_code_id is not None:
            raise common.business_fault(
                "TxnTaxCodeRef is only used by US companies; give each line a TaxCodeRef instead",
                "TxnTaxDetail.TxnTaxCodeRef",
            )
        mode = body.get("GlobalTaxCalculation") or "TaxExcluded"
        if mode not in MODES:
            raise faults.invalid_enum("GlobalTaxCalculation", mode)
        inclusive = mode == "TaxInclusive"
        if mode != "NotApplicable":
            for line in lines:
                if line.code is None:
                    if line.amount == 0 and not line.has_item:
                        continue
                    raise common.business_fault(
                        "Make sure all your transactions have a VAT rate before you save (each line needs "
                        "SalesItemLineDetail.TaxCodeRef).",
                        f"Line[{line.index}].SalesItemLineDetail.TaxCodeRef",
                    )
                gross = line.amount * factor
                for rate in rates(ctx, line.code):
                    value = Decimal(rate["RateValue"])
                    if inclusive:
                        tax = money(gross * value / (HUNDRED + value))
                        net = gross - tax
                    else:
                        net = gross
                        tax = money(net * value / HUNDRED)
                    entry = per_rate.setdefault(str(rate["Id"]), [rate, ZERO, ZERO])
                    entry[1] += net
                    entry[2] += tax
    tax_lines = []
    total_tax = ZERO
    for rate, net, tax in per_rate.values():
        total_tax += tax
        tax_lines.append(
            {
                "Amount": money(tax),
                "DetailType": "TaxLineDetail",
                "TaxLineDetail": {
                    "TaxRateRef": {"value": str(rate["Id"]), "name": rate["Name"]},
                    "PercentBased": True,
                    "TaxPercent": Decimal(rate["RateValue"]),
                    "NetAmountTaxable": money(net),
                },
            }
        )
    detail["TotalTax"] = money(total_tax)
    detail["TaxLine"] = tax_lines
    return TaxResult(detail, money(total_tax), inclusive)
