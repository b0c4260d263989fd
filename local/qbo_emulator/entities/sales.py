"""Sales forms: Invoice, Estimate, CreditMemo, SalesReceipt, RefundReceipt share their lines, discount,
tax (``tax.py``), currency and totals.

Lines
  * ``SalesItemLineDetail``: ItemRef must name an active item. When both Qty and UnitPrice are sent
    (and are not both zero, which is how python-quickbooks sends "unset"), Amount must equal
    Qty x UnitPrice rounded half-up to cents, else fault 6070. A missing Amount is computed. A line
    without ItemRef is documentation: its Amount is ignored (counted as 0).
  * ``DiscountLineDetail``: at most one; PercentBased with DiscountPercent of the subtotal, or a fixed
    Amount. Needs Preferences.SalesFormsPrefs.AllowDiscount. DiscountAccountRef defaults to
    SalesFormsPrefs.DefaultDiscountAccount.
  * ``DescriptionOnly`` lines are kept; ``SubTotalLineDetail`` lines sent in are dropped and one is
    added to every response. ``GroupLineDetail`` is not emulated (fault).
  * Sending ``Line`` replaces the whole collection, in sparse updates too. Lines whose Id matches a
    current line keep it; others get new Ids.

Currency: CurrencyRef must equal the customer's currency (the home currency without a customer).
ExchangeRate is 1 for the home currency, else the request's value or the company's rate.
HomeTotalAmt = TotalAmt x ExchangeRate.

Per form: an invoice's DueDate is sent or TxnDate plus the sales term's days (the term sent, else the
customer's, else the company default); a sales receipt deposits to DepositToAccountRef (Undeposited
Funds unless sent) and a refund receipt pays out of it; an estimate's TxnStatus starts Pending.
"""

from __future__ import annotations

import copy
from datetime import date, timedelta
from decimal import Decimal

from local.qbo_emulator import faults
from local.qbo_emulator.api import ApiContext
from local.qbo_emulator.entities import common, tax
from local.qbo_emulator.entities.common import money
from local.qbo_emulator.entities.currency import currency_ref, exchange_rate
from local.qbo_emulator.entities.engine import Rules, Write
from local.qbo_emulator.store import Record

ZERO = Decimal("0")
HUNDRED = Decimal("100")
LINE_TYPES = ("SalesItemLineDetail", "DiscountLineDetail", "DescriptionOnly", "SubTotalLineDetail", "GroupLineDetail")
# Kept as sent (after removing empty values), on every sales form.
PASS_THROUGH = (
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
    "ProjectRef",
    "PaymentMethodRef",
)
# ... and on one form only.
FORM_PASS_THROUGH = {
    "Invoice": ("AllowOnlineCreditCardPayment", "AllowOnlineACHPayment"),
    "Estimate": ("ExpirationDate", "AcceptedBy", "AcceptedDate", "DueDate"),
    "CreditMemo": (),
    "SalesReceipt": ("PaymentRefNum", "CreditCardPayment"),
    "RefundReceipt": ("PaymentRefNum", "PaymentType", "CheckPayment", "CreditCardPayment"),
}


class _Line:
    def __init__(self, raw: Record, index: int) -> None:
        self.raw = raw
        self.index = index
        self.detail_type = raw.get("DetailType")
        self.amount = ZERO
        self.out: Record = {}
        self.tax_code: Record | None = None
        self.taxable = False


def build(w: Write) -> Record:
    """Validate a sales form and compute everything QBO computes. Does not store.

    The steps run in QBO's order, so the first fault a bad body meets is the one QBO reports.
    """
    ctx, body = w.ctx, w.record
    customer = w.targets.get("CustomerRef")
    record: Record = {}
    if customer is not None:
        record["CustomerRef"] = body["CustomerRef"]
    rate = _currency(ctx, body, customer, record)
    lines, discount = _lines(ctx, w.spec.name, body, customer)
    sales = [line for line in lines if line.detail_type == "SalesItemLineDetail"]
    if not sales:
        raise common.business_fault(f"A {w.spec.name} needs at least one sales line", "Line")
    subtotal = sum((line.amount for line in sales), ZERO)
    discount_amount = _discount(ctx, discount, subtotal) if discount is not None else ZERO
    taxed = [tax.TaxedLine(line.index, line.amount, _has_item(line), line.taxable, line.tax_code) for line in sales]
    result = tax.compute(ctx, body, taxed, subtotal, discount_amount)
    record["TxnTaxDetail"] = result.detail
    record["Line"] = _numbered_lines(lines, discount, subtotal, w.previous)
    _dates(ctx, w, customer, record)
    _pass_through(w.spec.name, body, record)
    _calculation_flags(ctx, body, record)
    total = subtotal - discount_amount if result.inclusive else subtotal - discount_amount + result.total
    _totals(w.spec.name, ctx, body, record, total, rate)
    return record


def _has_item(line: _Line) -> bool:
    return common.ref_value((line.raw.get("SalesItemLineDetail") or {}).get("ItemRef")) is not None


def _currency(ctx: ApiContext, body: Record, customer: Record | None, record: Record) -> Decimal:
    """The customer's currency (a different one sent is refused) and its exchange rate."""
    realm = ctx.realm
    sent_currency = common.ref_value(body.get("CurrencyRef"))
    if customer is not None:
        currency = customer.get("CurrencyRef", {}).get("value", realm.home_currency)
        if sent_currency is not None and sent_currency != currency:
            raise common.business_fault(
                f"The transaction currency ({sent_currency}) must match the customer's currency ({currency})",
                "CurrencyRef",
            )
    else:
        currency = sent_currency or realm.home_currency
    record["CurrencyRef"] = currency_ref(realm, currency)
    rate = exchange_rate(ctx, body, currency)
    record["ExchangeRate"] = rate
    return rate


def _lines(ctx: ApiContext, entity: str, body: Record, customer: Record | None) -> tuple[list[_Line], _Line | None]:
    """The sent lines, checked and priced (subtotal lines dropped), and the one discount line if any."""
    raw_lines = body.get("Line")
    if not isinstance(raw_lines, list) or not raw_lines:
        raise faults.required_param("Line", entity)
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
            raise common.business_fault("GroupLineDetail lines are not supported by the emulator", f"Line[{index}]")
        if kind == "SalesItemLineDetail":
            _sales_line(ctx, entity, line, customer)
        elif kind == "DescriptionOnly":
            _description_line(line)
        else:
            _check_discount_allowed(ctx, discount, index)
            discount = line
        lines.append(line)
    return lines, discount


def _sales_line(ctx: ApiContext, entity: str, line: _Line, customer: Record | None) -> None:
    raw = line.raw
    detail: Record = copy.deepcopy(raw.get("SalesItemLineDetail") or {})
    where = f"Line[{line.index}].SalesItemLineDetail"
    amount = common.decimal_field(raw.get("Amount"), "Amount")
    qty = common.decimal_field(detail.get("Qty"), "Qty")
    price = common.decimal_field(detail.get("UnitPrice"), "UnitPrice")
    item_id = common.ref_value(detail.get("ItemRef"))
    item = ctx.realm.get("Item", item_id) if item_id is not None else None
    if item is not None and "ItemAccountRef" not in detail and "IncomeAccountRef" in item:
        detail["ItemAccountRef"] = dict(item["IncomeAccountRef"])
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
            raise faults.required_param(f"Line[{line.index}].Amount", entity)
    if item is None:
        amount = ZERO  # documentation line: Amount ignored
    line.amount = money(amount)
    _line_tax_code(ctx, line, detail, item, customer, where)
    for key in ("Qty", "UnitPrice"):
        if key in detail:
            value = common.decimal_field(detail[key], key)
            if value is not None:
                detail[key] = value
    if "ServiceDate" in detail:
        detail["ServiceDate"] = common.parse_date(detail["ServiceDate"], "ServiceDate").isoformat()
    line.out = {"DetailType": "SalesItemLineDetail", "Amount": line.amount, "SalesItemLineDetail": detail}
    if raw.get("Description") not in (None, ""):
        line.out["Description"] = raw["Description"]
    elif item is not None and item.get("Description"):
        line.out["Description"] = item["Description"]


def _line_tax_code(
    ctx: ApiContext, line: _Line, detail: Record, item: Record | None, customer: Record | None, where: str
) -> None:
    code_id = common.ref_value(detail.get("TaxCodeRef"))
    if ctx.realm.is_us:
        if code_id is None:
            taxable = bool(item and item.get("Taxable")) and (customer is None or customer.get("Taxable") is not False)
            code_id = "TAX" if taxable else "NON"
        if code_id not in ("TAX", "NON"):
            raise common.business_fault(
                f"US sales lines carry TaxCodeRef TAX or NON; put tax code {code_id} in "
                "TxnTaxDetail.TxnTaxCodeRef instead",
                f"{where}.TaxCodeRef",
            )
        detail["TaxCodeRef"] = {"value": code_id}
        line.taxable = code_id == "TAX"
    elif code_id is not None:
        if code_id in ("TAX", "NON"):
            raise common.invalid_reference("TaxCode", code_id, f"{where}.TaxCodeRef")
        line.tax_code = tax.tax_code(ctx, code_id, f"{where}.TaxCodeRef")
        detail["TaxCodeRef"] = {"value": code_id}


def _description_line(line: _Line) -> None:
    line.out = {
        "DetailType": "DescriptionOnly",
        "Amount": ZERO,
        "DescriptionOnly": copy.deepcopy(line.raw.get("DescriptionOnly") or {}),
    }
    if line.raw.get("Description") not in (None, ""):
        line.out["Description"] = line.raw["Description"]


def _check_discount_allowed(ctx: ApiContext, earlier: _Line | None, index: int) -> None:
    if earlier is not None:
        raise common.business_fault("Only one discount line is allowed per transaction", f"Line[{index}]")
    if not ctx.realm.preferences.get("SalesFormsPrefs", {}).get("AllowDiscount"):
        raise common.business_fault(
            "Discounts are turned off in this company (SalesFormsPrefs.AllowDiscount)", f"Line[{index}]"
        )


def _discount(ctx: ApiContext, discount: _Line, subtotal: Decimal) -> Decimal:
    """Price the discount line (percent of the subtotal or a fixed amount) and return its amount."""
    detail = copy.deepcopy(discount.raw.get("DiscountLineDetail") or {})
    percent_based = detail.get("PercentBased") is True
    if percent_based:
        percent = common.decimal_field(detail.get("DiscountPercent"), "DiscountPercent")
        if percent is None:
            raise faults.required_param("DiscountPercent", "Invoice")
        if not ZERO <= percent <= HUNDRED:
            raise common.business_fault("DiscountPercent must be between 0 and 100", "DiscountPercent")
        amount = money(subtotal * percent / HUNDRED)
        detail["DiscountPercent"] = percent
    else:
        fixed = common.decimal_field(discount.raw.get("Amount"), "Amount")
        if fixed is None:
            raise faults.required_param("Amount", "Invoice")
        amount = money(fixed)
        detail.pop("DiscountPercent", None)
    if amount < 0 or amount > subtotal:
        raise common.business_fault("The discount must be between zero and the subtotal", "Amount")
    detail["PercentBased"] = percent_based
    detail["DiscountAccountRef"] = _discount_account(ctx, detail)
    discount.amount = amount
    discount.out = {"DetailType": "DiscountLineDetail", "Amount": amount, "DiscountLineDetail": detail}
    if discount.raw.get("Description") not in (None, ""):
        discount.out["Description"] = discount.raw["Description"]
    return amount


def _discount_account(ctx: ApiContext, detail: Record) -> Record:
    sent = detail.get("DiscountAccountRef")
    if isinstance(sent, dict) and sent.get("name"):
        return dict(sent)  # checked and named with the other references
    realm = ctx.realm
    account_id = common.ref_value(sent) or str(
        realm.preferences.get("SalesFormsPrefs", {}).get("DefaultDiscountAccount") or "86"
    )
    account = realm.get("Account", account_id)
    if account is None:
        raise common.invalid_reference("Account", account_id, "DiscountAccountRef")
    return {"value": str(account["Id"]), "name": account["Name"]}


def _numbered_lines(
    lines: list[_Line], discount: _Line | None, subtotal: Decimal, previous: Record | None
) -> list[Record]:
    """Output lines with Id and LineNum, then the subtotal line, then the discount line.

    A line keeps the Id it has on the stored record; new lines get fresh ones.
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


def _dates(ctx: ApiContext, w: Write, customer: Record | None, record: Record) -> None:
    """TxnDate; an invoice's DueDate (sent, or TxnDate plus the sales term's days) and SalesTermRef."""
    body = w.record
    when = common.txn_date(ctx, body)
    record["TxnDate"] = when.isoformat()
    term = w.targets.get("SalesTermRef")
    if term is not None:
        record["SalesTermRef"] = body["SalesTermRef"]
    if w.spec.name != "Invoice":
        return
    if body.get("DueDate"):
        record["DueDate"] = common.parse_date(body["DueDate"], "DueDate").isoformat()
        return
    if term is None:
        term = _default_term(ctx, customer)
        if term is not None:
            record["SalesTermRef"] = {"value": str(term["Id"]), "name": term["Name"]}
    record["DueDate"] = due_date(when, term).isoformat()


def _default_term(ctx: ApiContext, customer: Record | None) -> Record | None:
    """The customer's term, else the company default."""
    realm = ctx.realm
    term_id = common.ref_value((customer or {}).get("SalesTermRef")) or common.ref_value(
        realm.preferences.get("SalesFormsPrefs", {}).get("DefaultTerms")
    )
    return realm.get("Term", term_id) if term_id else None


def due_date(when: date, term: Record | None) -> date:
    """A STANDARD term is due DueDays after the transaction; a DATE_DRIVEN one on DayOfMonthDue of this
    month, or of the next when fewer than DueNextMonthDays days are left."""
    if term is None:
        return when
    if term.get("Type") == "DATE_DRIVEN" and term.get("DayOfMonthDue"):
        day = int(term["DayOfMonthDue"])
        target = common.clamped_date(when.year, when.month, day)
        if target < when or (target - when).days < int(term.get("DueNextMonthDays") or 0):
            year, month = (when.year + 1, 1) if when.month == 12 else (when.year, when.month + 1)
            target = common.clamped_date(year, month, day)
        return target
    return when + timedelta(days=int(term.get("DueDays") or 0))


def _pass_through(entity: str, body: Record, record: Record) -> None:
    """Copy the fields QBO stores as sent, and check the lengths it limits."""
    for key in (*PASS_THROUGH, *FORM_PASS_THROUGH.get(entity, ())):
        if key in body:
            value = copy.deepcopy(body[key])
            if value not in (None, "", {}, []):
                record[key] = value
    note = record.get("PrivateNote")
    if isinstance(note, str) and len(note) > 4000:
        raise common.too_long("PrivateNote", 4000)
    memo = record.get("CustomerMemo")
    if isinstance(memo, dict) and len(str(memo.get("value", ""))) > 1000:
        raise common.too_long("CustomerMemo", 1000)


def _calculation_flags(ctx: ApiContext, body: Record, record: Record) -> None:
    if ctx.realm.is_us:
        record["ApplyTaxAfterDiscount"] = body.get("ApplyTaxAfterDiscount") is True
    else:
        record["GlobalTaxCalculation"] = body.get("GlobalTaxCalculation") or "TaxExcluded"
    record["EmailStatus"] = body.get("EmailStatus") or "NotSet"
    record["PrintStatus"] = body.get("PrintStatus") or "NotSet"


def _totals(entity: str, ctx: ApiContext, body: Record, record: Record, total: Decimal, rate: Decimal) -> None:
    record["TotalAmt"] = money(total)
    record["HomeTotalAmt"] = money(total * rate)
    if entity == "Invoice":
        record["Balance"] = money(total)
        record["HomeBalance"] = money(total * rate)
        record["Deposit"] = ZERO
        record["LinkedTxn"] = []
    elif entity == "Estimate":
        record["TxnStatus"] = body.get("TxnStatus") or "Pending"
        record["LinkedTxn"] = []
    elif entity in ("SalesReceipt", "RefundReceipt"):
        record["Balance"] = ZERO
        account = body.get("DepositToAccountRef") or common.undeposited_funds(ctx)
        record["DepositToAccountRef"] = account


RULES = Rules(build=build)
