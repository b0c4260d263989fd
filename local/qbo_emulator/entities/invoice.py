"""Invoice writes: create, full and sparse update, delete, void.

Lines
  * ``SalesItemLineDetail``: ItemRef must name an active item. When both Qty and UnitPrice are sent
    (and are not both zero, which is how python-quickbooks sends "unset"), Amount must equal
    Qty x UnitPrice rounded half-up to cents, else fault 6070. A missing Amount is computed. A line
    without ItemRef is documentation: its Amount is ignored (counted as 0).
  * ``DiscountLineDetail``: at most one; PercentBased with DiscountPercent of the subtotal, or a fixed
    Amount. Needs Preferences.SalesFormsPrefs.AllowDiscount.
  * ``DescriptionOnly`` lines are kept; ``SubTotalLineDetail`` lines sent in are dropped and one is
    added to every response. ``GroupLineDetail`` is not emulated (fault).
  * Sending ``Line`` replaces the whole collection, in sparse updates too. Lines whose Id matches a
    current line keep it; others get new Ids.

Tax (computed per line, each line's tax rounded half-up to cents, then summed per tax rate)
  * US: lines carry the pseudo codes ``TAX``/``NON`` (default TAX when both item and customer are
    taxable). ``TxnTaxDetail.TxnTaxCodeRef`` names the code whose rates apply to every TAX line;
    without it no tax is charged. ``ApplyTaxAfterDiscount`` true lets a discount reduce the base.
  * Non-US: every sales line needs ``TaxCodeRef`` with a real TaxCode Id (no TAX/NON, no
    TxnTaxCodeRef). ``GlobalTaxCalculation`` TaxExcluded (default), TaxInclusive or NotApplicable.
    A discount reduces every line's base proportionally.
  * Any incoming ``TxnTaxDetail.TotalTax`` is ignored: there is no AST override in a sandbox.

Numbers and currency
  * DocNumber: given -> used (<= 21 chars, unique among the company's invoices unless
    ``include=allowduplicatedocnum`` -> 6140); omitted -> auto-numbered last+1 when
    CustomTxnNumbers is off, left null when it is on.
  * CurrencyRef must equal the customer's currency. ExchangeRate is 1 for the home currency, else
    the request's value or the company's rate. HomeTotalAmt = TotalAmt x ExchangeRate.
"""

from __future__ import annotations

import copy
import re
from datetime import timedelta
from decimal import Decimal
from typing import Any

from local.qbo_emulator import faults
from local.qbo_emulator.api import ApiContext, ApiResult, json_body, json_result
from local.qbo_emulator.entities import common
from local.qbo_emulator.entities.common import money
from local.qbo_emulator.entities.ledger import ZERO, applied_to, set_balance
from local.qbo_emulator.seed import CURRENCY_NAMES
from local.qbo_emulator.store import Record

HUNDRED = Decimal("100")
KNOWN = {
    "CustomerRef",
    "Line",
    "DocNumber",
    "TxnDate",
    "DueDate",
    "ShipDate",
    "TrackingNum",
    "SalesTermRef",
    "CustomerMemo",
    "PrivateNote",
    "CustomField",
    "CurrencyRef",
    "ExchangeRate",
    "BillEmail",
    "BillEmailCc",
    "BillEmailBcc",
    "BillAddr",
    "ShipAddr",
    "ShipFromAddr",
    "EmailStatus",
    "PrintStatus",
    "DeliveryInfo",
    "Balance",
    "TotalAmt",
    "HomeBalance",
    "HomeTotalAmt",
    "LinkedTxn",
    "AllowOnlineCreditCardPayment",
    "AllowOnlineACHPayment",
    "AllowIPNPayment",
    "AllowOnlinePayment",
    "ApplyTaxAfterDiscount",
    "GlobalTaxCalculation",
    "TxnTaxDetail",
    "DepartmentRef",
    "ClassRef",
    "ShipMethodRef",
    "DepositToAccountRef",
    "Deposit",
    "InvoiceLink",
    "FreeFormAddress",
    "EInvoiceStatus",
    "RecurDataRef",
    "TaxExemptionRef",
    "TxnSource",
    "TransactionLocationType",
    "ProjectRef",
    "ARAccountRef",
    "HomeAmtTotal",
    "TxnStatus",
}
# Kept as sent (after removing empty values).
PASS_THROUGH = (
    "SalesTermRef",
    "CustomerMemo",
    "PrivateNote",
    "CustomField",
    "BillEmail",
    "BillEmailCc",
    "BillEmailBcc",
    "BillAddr",
    "ShipAddr",
    "ShipFromAddr",
    "ShipDate",
    "TrackingNum",
    "DeliveryInfo",
    "DepartmentRef",
    "ClassRef",
    "ShipMethodRef",
    "AllowOnlineCreditCardPayment",
    "AllowOnlineACHPayment",
    "ProjectRef",
)
LINE_TYPES = ("SalesItemLineDetail", "DiscountLineDetail", "DescriptionOnly", "SubTotalLineDetail", "GroupLineDetail")


def _fault_6000(detail: str, element: str = "") -> faults.QboFault:
    return faults.business_validation(f"Business Validation Error: {detail}", element=element)


def _tax_code(ctx: ApiContext, code_id: str, element: str) -> Record:
    code = ctx.realm.get("TaxCode", code_id)
    if code is None:
        raise faults.invalid_reference("TaxCode", code_id, element=element)
    if code.get("Active") is False:
        raise faults.inactive_reference("TaxCode", code_id, element=element)
    return code


def _rates(ctx: ApiContext, code: Record) -> list[Record]:
    rates = []
    for detail in code.get("SalesTaxRateList", {}).get("TaxRateDetail", []):
        rate = ctx.realm.get("TaxRate", str(detail["TaxRateRef"]["value"]))
        if rate is not None:
            rates.append(rate)
    return rates


class _Line:
    def __init__(self, raw: Record, index: int) -> None:
        self.raw = raw
        self.index = index
        self.detail_type = raw.get("DetailType")
        self.amount = ZERO
        self.out: Record = {}
        self.tax_code: Record | None = None
        self.taxable = False


def _sales_line(ctx: ApiContext, line: _Line, customer: Record) -> None:
    raw = line.raw
    detail: Record = common.prune(copy.deepcopy(raw.get("SalesItemLineDetail") or {}))
    where = f"Line[{line.index}].SalesItemLineDetail"
    amount = common.decimal_field(raw.get("Amount"), "Amount")
    qty = common.decimal_field(detail.get("Qty"), "Qty")
    price = common.decimal_field(detail.get("UnitPrice"), "UnitPrice")
    item_id = common.ref_value(detail.get("ItemRef"))
    if item_id is not None:
        item = ctx.realm.get("Item", item_id)
        if item is None:
            raise faults.invalid_reference("Item", item_id, element=f"{where}.ItemRef")
        if item.get("Active") is False:
            raise faults.inactive_reference("Item", item_id, element=f"{where}.ItemRef")
        detail["ItemRef"] = {"value": str(item["Id"]), "name": item["Name"]}
        if "ItemAccountRef" not in detail and "IncomeAccountRef" in item:
            detail["ItemAccountRef"] = dict(item["IncomeAccountRef"])
    else:
        item = None
    both_given = qty is not None and price is not None and not (qty == 0 and price == 0)
    if both_given and qty is not None and price is not None:
        expected = money(qty * price)
        if amount is None:
            amount = expected
        elif money(amount) != expected:
            raise faults.QboFault(
                400,
                "6070",
                "Amount is not equal to UnitPrice * Qty",
                f"Amount is not equal to UnitPrice * Qty. Supplied value:{amount} (UnitPrice {price} x Qty {qty}"
                f" = {expected})",
                element=f"Line[{line.index}].Amount",
            )
    elif amount is None:
        if price is not None and qty is None and price != 0:
            amount = money(price)
            detail["Qty"] = Decimal("1")
        else:
            raise faults.required_param(f"Line[{line.index}].Amount", "Invoice")
    if item is None:
        amount = ZERO  # documentation line: Amount ignored
    line.amount = money(amount)
    # Tax code on the line
    code_id = common.ref_value(detail.get("TaxCodeRef"))
    if ctx.realm.is_us:
        if code_id is None:
            taxable = bool(item and item.get("Taxable")) and customer.get("Taxable") is not False
            code_id = "TAX" if taxable else "NON"
        if code_id not in ("TAX", "NON"):
            raise _fault_6000(
                f"US sales lines carry TaxCodeRef TAX or NON; put tax code {code_id} in "
                "TxnTaxDetail.TxnTaxCodeRef instead",
                f"{where}.TaxCodeRef",
            )
        detail["TaxCodeRef"] = {"value": code_id}
        line.taxable = code_id == "TAX"
    elif code_id is not None:
        if code_id in ("TAX", "NON"):
            raise faults.invalid_reference("TaxCode", code_id, element=f"{where}.TaxCodeRef")
        line.tax_code = _tax_code(ctx, code_id, f"{where}.TaxCodeRef")
        detail["TaxCodeRef"] = {"value": code_id}
    for key in ("Qty", "UnitPrice"):
        if key in detail:
            value = common.decimal_field(detail[key], key)
            if value is not None:
                detail[key] = value
    if "ServiceDate" in detail:
        detail["ServiceDate"] = common.parse_date(detail["ServiceDate"], "ServiceDate").isoformat()
    line.out = {
        "DetailType": "SalesItemLineDetail",
        "Amount": line.amount,
        "SalesItemLineDetail": detail,
    }
    if raw.get("Description") not in (None, ""):
        line.out["Description"] = raw["Description"]
    elif item is not None and item.get("Description"):
        line.out["Description"] = item["Description"]


def build(ctx: ApiContext, body: Record, previous: Record | None) -> Record:
    """Validate an invoice body and compute everything QBO computes. Does not store.

    The steps run in QBO's order, so the first fault a bad body meets is the one QBO reports.
    """
    common.check_known(body, KNOWN, "Invoice")
    customer = common.require_ref(ctx, body, "CustomerRef", "Customer")
    record: Record = {"CustomerRef": {"value": str(customer["Id"]), "name": customer["DisplayName"]}}
    rate = _currency(ctx, body, customer, record)
    lines, discount = _lines(ctx, body, customer)
    sales = [line for line in lines if line.detail_type == "SalesItemLineDetail"]
    if not sales:
        raise _fault_6000("An invoice needs at least one sales line", "Line")
    subtotal = sum((line.amount for line in sales), ZERO)
    discount_amount = _discount(ctx, discount, subtotal) if discount is not None else ZERO
    tax_detail, total_tax, inclusive = _tax(ctx, body, sales, subtotal, discount_amount)
    record["TxnTaxDetail"] = tax_detail
    record["Line"] = _numbered_lines(lines, discount, subtotal, previous)
    _number_and_dates(ctx, body, customer, previous, record)
    _pass_through(body, record)
    _calculation_flags(ctx, body, record)
    total = subtotal - discount_amount if inclusive else subtotal - discount_amount + total_tax
    _totals(record, total, rate)
    return record


def _currency(ctx: ApiContext, body: Record, customer: Record, record: Record) -> Decimal:
    """The customer's currency (a different one sent is refused) and its exchange rate."""
    realm = ctx.realm
    currency = customer.get("CurrencyRef", {}).get("value", realm.home_currency)
    sent_currency = common.ref_value(body.get("CurrencyRef"))
    if sent_currency is not None and sent_currency != currency:
        raise _fault_6000(
            f"The transaction currency ({sent_currency}) must match the customer's currency ({currency})",
            "CurrencyRef",
        )
    record["CurrencyRef"] = {"value": currency, "name": CURRENCY_NAMES.get(currency, currency)}
    if currency == realm.home_currency:
        rate = Decimal("1")
    else:
        rate = common.decimal_field(body.get("ExchangeRate"), "ExchangeRate") or realm.exchange_rates[currency]
        if rate <= 0:
            raise _fault_6000("ExchangeRate must be positive", "ExchangeRate")
    record["ExchangeRate"] = rate
    return rate


def _lines(ctx: ApiContext, body: Record, customer: Record) -> tuple[list[_Line], _Line | None]:
    """The sent lines, checked and priced (subtotal lines dropped), and the one discount line if any."""
    raw_lines = body.get("Line")
    if not isinstance(raw_lines, list) or not raw_lines:
        raise faults.required_param("Line", "Invoice")
    lines: list[_Line] = []
    discount: _Line | None = None
    for index, raw in enumerate(raw_lines):
        if not isinstance(raw, dict):
            raise faults.request_has_invalid_or_unsupported(f"Line[{index}] must be an object")
        line = _Line(raw, index)
        kind = line.detail_type
        if kind not in LINE_TYPES:
            raise faults.invalid_enum(f"Line[{index}].DetailType", kind)
        if kind == "SubTotalLineDetail":
            continue
        if kind == "GroupLineDetail":
            raise _fault_6000("GroupLineDetail lines are not supported by the emulator", f"Line[{index}]")
        if kind == "SalesItemLineDetail":
            _sales_line(ctx, line, customer)
        elif kind == "DescriptionOnly":
            _description_line(line)
        else:
            _check_discount_allowed(ctx, discount, index)
            discount = line
        lines.append(line)
    return lines, discount


def _description_line(line: _Line) -> None:
    line.out = {
        "DetailType": "DescriptionOnly",
        "Amount": ZERO,
        "DescriptionOnly": common.prune(copy.deepcopy(line.raw.get("DescriptionOnly") or {})),
    }
    if line.raw.get("Description") not in (None, ""):
        line.out["Description"] = line.raw["Description"]


def _check_discount_allowed(ctx: ApiContext, earlier: _Line | None, index: int) -> None:
    if earlier is not None:
        raise _fault_6000("Only one discount line is allowed per transaction", f"Line[{index}]")
    if not ctx.realm.preferences.get("SalesFormsPrefs", {}).get("AllowDiscount"):
        raise _fault_6000("Discounts are turned off in this company (SalesFormsPrefs.AllowDiscount)", f"Line[{index}]")


def _discount(ctx: ApiContext, discount: _Line, subtotal: Decimal) -> Decimal:
    """Price the discount line (percent of the subtotal or a fixed amount) and return its amount."""
    detail = common.prune(copy.deepcopy(discount.raw.get("DiscountLineDetail") or {}))
    percent_based = detail.get("PercentBased") is True
    if percent_based:
        percent = common.decimal_field(detail.get("DiscountPercent"), "DiscountPercent")
        if percent is None:
            raise faults.required_param("DiscountPercent", "Invoice")
        if not ZERO <= percent <= HUNDRED:
            raise _fault_6000("DiscountPercent must be between 0 and 100", "DiscountPercent")
        amount = money(subtotal * percent / HUNDRED)
        detail["DiscountPercent"] = percent
    else:
        fixed = common.decimal_field(discount.raw.get("Amount"), "Amount")
        if fixed is None:
            raise faults.required_param("Amount", "Invoice")
        amount = money(fixed)
        detail.pop("DiscountPercent", None)
    if amount < 0 or amount > subtotal:
        raise _fault_6000("The discount must be between zero and the subtotal", "Amount")
    detail["PercentBased"] = percent_based
    detail["DiscountAccountRef"] = _discount_account(ctx, detail)
    discount.amount = amount
    discount.out = {"DetailType": "DiscountLineDetail", "Amount": amount, "DiscountLineDetail": detail}
    if discount.raw.get("Description") not in (None, ""):
        discount.out["Description"] = discount.raw["Description"]
    return amount


def _discount_account(ctx: ApiContext, detail: Record) -> Record:
    realm = ctx.realm
    account_id = common.ref_value(detail.get("DiscountAccountRef")) or str(
        realm.preferences.get("SalesFormsPrefs", {}).get("DefaultDiscountAccount") or "3"
    )
    account = realm.get("Account", account_id)
    if account is None:
        raise faults.invalid_reference("Account", account_id, element="DiscountAccountRef")
    return {"value": str(account["Id"]), "name": account["Name"]}


def _numbered_lines(
    lines: list[_Line], discount: _Line | None, subtotal: Decimal, previous: Record | None
) -> list[Record]:
    """Output lines with Id and LineNum, then the subtotal line, then the discount line.

    A line keeps the Id it has on the stored invoice; new lines get fresh ones.
    """
    old_ids = {str(line.get("Id")) for line in (previous or {}).get("Line", []) if line.get("Id")}
    next_id = max([int(i) for i in old_ids if i.isdigit()] + [0]) + 1
    out_lines: list[Record] = []
    line_num = 0
    for line in lines:
        if line is discount:
            continue
        sent_id = str(line.raw.get("Id") or "")
        if sent_id and sent_id in old_ids:
            line_id = sent_id
        else:
            line_id = str(next_id)
            next_id += 1
        line_num += 1
        out_lines.append({"Id": line_id, "LineNum": line_num, **line.out})
    out_lines.append({"Amount": subtotal, "DetailType": "SubTotalLineDetail", "SubTotalLineDetail": {}})
    if discount is not None:
        sent_id = str(discount.raw.get("Id") or "")
        line_id = sent_id if sent_id in old_ids else str(next_id)
        out_lines.append({"Id": line_id, "LineNum": line_num + 1, **discount.out})
    return out_lines


def _number_and_dates(ctx: ApiContext, body: Record, customer: Record, previous: Record | None, record: Record) -> None:
    """DocNumber, TxnDate, and DueDate (sent, or TxnDate plus the sales term's days) with SalesTermRef."""
    doc_number = _doc_number(ctx, body, previous)
    if doc_number is not None:
        record["DocNumber"] = doc_number
    txn_date = common.parse_date(body["TxnDate"], "TxnDate") if body.get("TxnDate") else common.today(ctx)
    record["TxnDate"] = txn_date.isoformat()
    if body.get("DueDate"):
        record["DueDate"] = common.parse_date(body["DueDate"], "DueDate").isoformat()
    else:
        term = _sales_term(ctx, body, customer)
        days = int(term.get("DueDays", 0)) if term else 0
        record["DueDate"] = (txn_date + timedelta(days=days)).isoformat()
        if term is not None and "SalesTermRef" not in body:
            record["SalesTermRef"] = {"value": str(term["Id"]), "name": term["Name"]}
    if body.get("SalesTermRef"):
        term = common.require_ref(ctx, body, "SalesTermRef", "Term")
        record["SalesTermRef"] = {"value": str(term["Id"]), "name": term["Name"]}


def _sales_term(ctx: ApiContext, body: Record, customer: Record) -> Record | None:
    """The term sent, else the customer's, else the company default."""
    realm = ctx.realm
    term_id = (
        common.ref_value(body.get("SalesTermRef"))
        or common.ref_value(customer.get("SalesTermRef"))
        or common.ref_value(realm.preferences.get("SalesFormsPrefs", {}).get("DefaultTerms"))
    )
    return realm.get("Term", term_id) if term_id else None


def _pass_through(body: Record, record: Record) -> None:
    """Copy the fields QBO stores as sent, and check the lengths it limits."""
    for key in PASS_THROUGH:
        if key in body and key != "SalesTermRef":
            value = common.prune(copy.deepcopy(body[key]))
            if value not in (None, "", {}, []):
                record[key] = value
    note = record.get("PrivateNote")
    if isinstance(note, str) and len(note) > 4000:
        raise _too_long("PrivateNote", 4000)
    memo = record.get("CustomerMemo")
    if isinstance(memo, dict) and len(str(memo.get("value", ""))) > 1000:
        raise _too_long("CustomerMemo", 1000)


def _too_long(field: str, limit: int) -> faults.QboFault:
    return faults.validation(
        "2050",
        "String length is either shorter or longer than supported by specification",
        f"{field} is longer than {limit} characters",
        field,
    )


def _calculation_flags(ctx: ApiContext, body: Record, record: Record) -> None:
    if ctx.realm.is_us:
        record["ApplyTaxAfterDiscount"] = body.get("ApplyTaxAfterDiscount") is True
    else:
        record["GlobalTaxCalculation"] = body.get("GlobalTaxCalculation") or "TaxExcluded"
    record["EmailStatus"] = body.get("EmailStatus") or "NotSet"
    record["PrintStatus"] = body.get("PrintStatus") or "NotSet"


def _totals(record: Record, total: Decimal, rate: Decimal) -> None:
    """A new invoice: nothing paid, so the balance is the total."""
    record["TotalAmt"] = money(total)
    record["Balance"] = money(total)
    record["HomeTotalAmt"] = money(total * rate)
    record["HomeBalance"] = money(total * rate)
    record["Deposit"] = ZERO
    record["LinkedTxn"] = []


def _tax(
    ctx: ApiContext, body: Record, sales: list[Any], subtotal: Decimal, discount: Decimal
) -> tuple[Record, Decimal, bool]:
    realm = ctx.realm
    sent = body.get("TxnTaxDetail") if isinstance(body.get("TxnTaxDetail"), dict) else {}
    txn_code_id = common.ref_value((sent or {}).get("TxnTaxCodeRef"))
    factor = (subtotal - discount) / subtotal if subtotal else Decimal("1")
    # tax rate id -> [rate record, net taxable, tax]
    per_rate: dict[str, list[Any]] = {}
    inclusive = False
    detail: Record = {}
    if realm.is_us:
        apply_after = body.get("ApplyTaxAfterDiscount") is True
        base_factor = factor if apply_after else Decimal("1")
        if txn_code_id is not None:
            if txn_code_id in ("TAX", "NON"):
                raise faults.invalid_reference("TaxCode", txn_code_id, element="TxnTaxDetail.TxnTaxCodeRef")
            code = _tax_code(ctx, txn_code_id, "TxnTaxDetail.TxnTaxCodeRef")
            detail["TxnTaxCodeRef"] = {"value": str(code["Id"]), "name": code["Name"]}
            rates = _rates(ctx, code)
            for line in sales:
                if not line.taxable:
                    continue
                base = line.amount * base_factor
                for rate in rates:
                    entry = per_rate.setdefault(str(rate["Id"]), [rate, ZERO, ZERO])
                    entry[1] += base
                    entry[2] += money(base * Decimal(rate["RateValue"]) / HUNDRED)
    else:
        if txn_code_id is not None:
            raise _fault_6000(
                "TxnTaxCodeRef is only used by US companies; give each line a TaxCodeRef instead",
                "TxnTaxDetail.TxnTaxCodeRef",
            )
        mode = body.get("GlobalTaxCalculation") or "TaxExcluded"
        if mode not in ("TaxExcluded", "TaxInclusive", "NotApplicable"):
            raise faults.invalid_enum("GlobalTaxCalculation", mode)
        inclusive = mode == "TaxInclusive"
        if mode != "NotApplicable":
            for line in sales:
                if line.tax_code is None:
                    if line.amount == 0 and not common.ref_value(
                        (line.raw.get("SalesItemLineDetail") or {}).get("ItemRef")
                    ):
                        continue
                    raise _fault_6000(
                        "Make sure all your transactions have a VAT rate before you save (each line needs "
                        "SalesItemLineDetail.TaxCodeRef).",
                        f"Line[{line.index}].SalesItemLineDetail.TaxCodeRef",
                    )
                gross = line.amount * factor
                for rate in _rates(ctx, line.tax_code):
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
    return detail, money(total_tax), inclusive


_TRAILING_DIGITS = re.compile(r"^(.*?)(\d+)$")


def _increment(doc_number: str) -> str:
    match = _TRAILING_DIGITS.match(doc_number)
    if not match:
        return doc_number + "1"
    prefix, digits = match.groups()
    return prefix + str(int(digits) + 1).zfill(len(digits))


def _doc_number(ctx: ApiContext, body: Record, previous: Record | None) -> str | None:
    realm = ctx.realm
    sent = body.get("DocNumber")
    others = [inv for inv in realm.all("Invoice") if previous is None or str(inv["Id"]) != str(previous["Id"])]
    if sent not in (None, ""):
        value = str(sent)
        if len(value) > 21:
            raise faults.validation(
                "2050",
                "String length is either shorter or longer than supported by specification",
                f"String length specified does not match the supported length. Min:0 Max:21 supported. "
                f"Supplied length:{len(value)}",
                "DocNumber",
            )
        if not ctx.includes("allowduplicatedocnum"):
            for other in others:
                if other.get("DocNumber") == value:
                    raise faults.duplicate_doc_number(value, "Invoice", str(other["Id"]))
        return value
    if previous is not None and previous.get("DocNumber"):
        return str(previous["DocNumber"])
    if realm.preferences.get("SalesFormsPrefs", {}).get("CustomTxnNumbers"):
        return None
    numbered = [inv for inv in others if inv.get("DocNumber")]
    if not numbered:
        candidate = "1001"
    else:
        last = max(numbered, key=lambda inv: (inv.get("_seq", 0), int(inv["Id"])))
        candidate = _increment(str(last["DocNumber"]))
    used = {inv.get("DocNumber") for inv in others}
    while candidate in used:
        candidate = _increment(candidate)
    return candidate


def _next_seq(ctx: ApiContext) -> int:
    return max([int(inv.get("_seq", 0)) for inv in ctx.realm.all("Invoice")] + [0]) + 1


def write(ctx: ApiContext) -> ApiResult:
    body = json_body(ctx)
    op = common.operation(ctx)
    realm = ctx.realm
    with realm.lock:
        if op in ("delete", "void"):
            previous = common.existing_for_write(ctx, body, "Invoice")
            if applied_to(realm, str(previous["Id"])) > 0:
                raise _fault_6000(f"Invoice {previous['Id']} has payments applied; remove them before you {op} it")
            if op == "delete":
                realm.remove("Invoice", str(previous["Id"]), ctx.now)
                ctx.emit("Invoice", str(previous["Id"]), "Delete")
                return json_result(ctx, {"Invoice": {"Id": str(previous["Id"]), "status": "Deleted", "domain": "QBO"}})
            record = _voided(previous)
            common.stamp_update(ctx, record, previous)
            ctx.emit("Invoice", record["Id"], "Void")
        elif op in ("", "create", "update"):
            if body.get("Id") not in (None, ""):
                previous = common.existing_for_write(ctx, body, "Invoice")
                if previous.get("_voided"):
                    raise _fault_6000("A voided transaction cannot be edited")
                source = _sparse_source(previous, body) if common.is_sparse(body) else body
                record = build(ctx, source, previous)
                applied = applied_to(realm, str(previous["Id"]))
                if record["TotalAmt"] < applied:
                    raise _fault_6000(
                        f"The invoice total ({record['TotalAmt']}) cannot be less than the payments applied "
                        f"to it ({applied})"
                    )
                set_balance(record, applied)
                record["LinkedTxn"] = copy.deepcopy(previous.get("LinkedTxn", []))
                record["_seq"] = previous.get("_seq", 0)
                common.stamp_update(ctx, record, previous)
                ctx.emit("Invoice", record["Id"], "Update")
            else:
                record = build(ctx, body, None)
                record["_seq"] = _next_seq(ctx)
                common.stamp_new(ctx, record, "Invoice")
                ctx.emit("Invoice", record["Id"], "Create")
        else:
            raise faults.unsupported_operation(f"Operation {op} is not supported for Invoice.")
        realm.put("Invoice", record)
        return common.entity_result(ctx, "Invoice", record)


def _sparse_source(previous: Record, body: Record) -> Record:
    source = common.merged_for_sparse(previous, body)
    for key in ("TotalAmt", "Balance", "HomeTotalAmt", "HomeBalance", "Deposit", "LinkedTxn"):
        source.pop(key, None)
    source = {k: v for k, v in source.items() if not k.startswith("_")}
    if "TxnTaxDetail" in source and "TxnTaxDetail" not in body:
        kept = {}
        code = source["TxnTaxDetail"].get("TxnTaxCodeRef")
        if code:
            kept["TxnTaxCodeRef"] = code
        source["TxnTaxDetail"] = kept
    if "DueDate" in previous and "DueDate" not in body and ("TxnDate" in body or "SalesTermRef" in body):
        source.pop("DueDate", None)
    return source


def _voided(previous: Record) -> Record:
    record = copy.deepcopy(previous)
    for line in record.get("Line", []):
        line["Amount"] = ZERO
        detail = line.get("SalesItemLineDetail")
        if isinstance(detail, dict):
            detail.pop("Qty", None)
            detail["UnitPrice"] = ZERO
    tax = record.get("TxnTaxDetail", {})
    tax["TotalTax"] = ZERO
    for tax_line in tax.get("TaxLine", []):
        tax_line["Amount"] = ZERO
        tax_line.get("TaxLineDetail", {})["NetAmountTaxable"] = ZERO
    for key in ("TotalAmt", "Balance", "HomeTotalAmt", "HomeBalance"):
        record[key] = ZERO
    note = record.get("PrivateNote")
    record["PrivateNote"] = f"Voided - {note}" if note else "Voided"
    record["_voided"] = True
    return record
