"""Purchase-side transactions: Bill, VendorCredit, PurchaseOrder, Purchase (expense, check or credit-card
charge) share their lines; BillPayment pays bills.

Lines
  * ``AccountBasedExpenseLineDetail`` needs ``AccountRef``; ``ItemBasedExpenseLineDetail`` needs
    ``ItemRef`` and posts to the item's expense account (its inventory asset account for an inventory
    item) unless ``ItemAccountRef`` is sent. Amount is required, or computed from Qty x UnitPrice; when
    both are sent they must agree (6070). ``BillableStatus`` is Billable, NotBillable (default) or
    HasBeenBilled; Billable needs the line's CustomerRef. ``DescriptionOnly`` lines carry no amount.
  * ``TotalAmt`` is the sum of the lines. Purchase tax is not computed by the emulator.
Headers
  * Bill, VendorCredit, PurchaseOrder: ``VendorRef`` (the currency is the vendor's) and ``APAccountRef``
    (default: the first Accounts Payable account). A bill's DueDate is sent, else TxnDate plus the term's
    days (SalesTermRef, else the vendor's TermRef); its Balance is what is left after bill payments, a
    vendor credit's what is left to apply (``ledger.py``). A purchase order's POStatus is Open or Closed.
  * Purchase: ``PaymentType`` Cash, Check or CreditCard; ``AccountRef`` a bank (Cash, Check) or credit
    card (CreditCard) account, else "Invalid account type" (6000); ``EntityRef`` a vendor, customer or
    employee; ``Credit`` true (a card refund) only for CreditCard.
BillPayment
  * ``PayType`` Check (``CheckPayment.BankAccountRef`` required) or CreditCard
    (``CreditCardPayment.CCAccountRef`` required); TotalAmt; lines applied to the vendor's bills and
    vendor credits as a payment's are to invoices and credit memos (``payment.apply_lines``).
  * Void (``operation=update&include=void``) zeroes it and reopens the bills.
"""

from __future__ import annotations

import copy
from datetime import timedelta
from decimal import Decimal

from local.qbo_emulator import faults
from local.qbo_emulator.entities import common
from local.qbo_emulator.entities.common import money
from local.qbo_emulator.entities.currency import currency_ref, exchange_rate
from local.qbo_emulator.entities.engine import Rules, Write
from local.qbo_emulator.entities.payment import apply_lines, party_currency, required_total
from local.qbo_emulator.store import Realm, Record

ZERO = Decimal("0")
LINE_TYPES = ("AccountBasedExpenseLineDetail", "ItemBasedExpenseLineDetail", "DescriptionOnly")
BILLABLE = ("Billable", "NotBillable", "HasBeenBilled")
PAYMENT_TYPES = {"Cash": ("Bank",), "Check": ("Bank",), "CreditCard": ("Credit Card",)}
PO_STATUSES = ("Open", "Closed")
# Computed here: never taken from the body.
COMPUTED = ("Line", "TotalAmt", "HomeTotalAmt", "CurrencyRef", "ExchangeRate", "TxnDate", "DueDate", "Balance")


def build(w: Write) -> Record:
    body, entity = w.record, w.spec.name
    record: Record = {k: v for k, v in body.items() if k not in COMPUTED}
    party = w.targets.get("VendorRef")
    if entity == "Purchase":
        party = w.targets.get("EntityRef")
        _check_payment_account(w)
    rate = _currency(w, party, record)
    record["Line"], total = lines(w)
    record["TotalAmt"] = money(total)
    record["HomeTotalAmt"] = money(total * rate)
    when = common.txn_date(w.ctx, body)
    record["TxnDate"] = when.isoformat()
    if entity in ("Bill", "VendorCredit", "PurchaseOrder"):
        record["APAccountRef"] = body.get("APAccountRef") or payables_account(w.realm)
    if entity == "Bill":
        record["DueDate"] = _due_date(w, party, when)
    if entity == "PurchaseOrder":
        status = body.get("POStatus") or "Open"
        if status not in PO_STATUSES:
            raise faults.invalid_enum("POStatus", status)
        record["POStatus"] = status
    return record


def _check_payment_account(w: Write) -> None:
    body = w.record
    payment_type = body["PaymentType"]
    if payment_type not in PAYMENT_TYPES:
        raise faults.invalid_enum("PaymentType", payment_type)
    account = w.targets["AccountRef"]
    if account.get("AccountType") not in PAYMENT_TYPES[payment_type]:
        raise common.business_fault(
            "Invalid account type: You need to select a different type of account for this transaction.",
            "AccountRef",
        )
    if body.get("Credit") is True and payment_type != "CreditCard":
        raise common.business_fault("Only a credit card purchase can be a credit (Credit=true)", "Credit")


def _currency(w: Write, party: Record | None, record: Record) -> Decimal:
    if party is not None and "CurrencyRef" in party:
        return party_currency(w, party, record, "vendor")
    code = common.ref_value(w.record.get("CurrencyRef")) or w.realm.home_currency
    record["CurrencyRef"] = currency_ref(w.realm, code)
    rate = exchange_rate(w.ctx, w.record, code)
    record["ExchangeRate"] = rate
    return rate


def lines(w: Write) -> tuple[list[Record], Decimal]:
    """The expense lines, checked and numbered, and their total."""
    raw_lines = w.record.get("Line")
    if not isinstance(raw_lines, list) or not raw_lines:
        raise faults.required_param("Line", w.spec.name)
    old_ids = {str(line.get("Id")) for line in (w.previous or {}).get("Line", []) if line.get("Id")}
    next_id = max([int(i) for i in old_ids if i.isdigit()] + [0]) + 1
    out: list[Record] = []
    total = ZERO
    for index, raw in enumerate(raw_lines):
        if not isinstance(raw, dict):
            raise faults.request_has_invalid_or_unsupported(f"Line[{index}] must be an object")
        kind = raw.get("DetailType") or next((t for t in LINE_TYPES if t in raw), None)
        if kind not in LINE_TYPES:
            raise faults.invalid_enum(f"Line[{index}].DetailType", kind)
        line: Record = {"DetailType": kind}
        if kind == "DescriptionOnly":
            line["Amount"] = ZERO
            line["DescriptionOnly"] = copy.deepcopy(raw.get("DescriptionOnly") or {})
        else:
            detail = copy.deepcopy(raw.get(kind) or {})
            line["Amount"] = _line_amount(w, raw, detail, kind, index)
            line[kind] = detail
            total += line["Amount"]
        if raw.get("Description") not in (None, ""):
            line["Description"] = raw["Description"]
        sent_id = str(raw.get("Id") or "")
        if sent_id and sent_id in old_ids:
            line_id = sent_id
        else:
            line_id = str(next_id)
            next_id += 1
        out.append({"Id": line_id, "LineNum": index + 1, **line})
    return out, total


def _line_amount(w: Write, raw: Record, detail: Record, kind: str, index: int) -> Decimal:
    where = f"Line[{index}].{kind}"
    amount = common.decimal_field(raw.get("Amount"), "Amount")
    if kind == "AccountBasedExpenseLineDetail":
        if "AccountRef" not in detail:
            raise faults.required_param(f"{where}.AccountRef", w.spec.name)
    else:
        if "ItemRef" not in detail:
            raise faults.required_param(f"{where}.ItemRef", w.spec.name)
        item = w.realm.get("Item", str(detail["ItemRef"]["value"])) or {}
        account = item.get("AssetAccountRef") if item.get("Type") == "Inventory" else item.get("ExpenseAccountRef")
        if "ItemAccountRef" not in detail and account:
            detail["ItemAccountRef"] = dict(account)
        qty = common.decimal_field(detail.get("Qty"), "Qty")
        price = common.decimal_field(detail.get("UnitPrice"), "UnitPrice")
        if qty is not None and price is not None and not (qty == 0 and price == 0):
            expected = money(qty * price)
            if amount is None:
                amount = expected
            elif money(amount) != expected:
                raise faults.QboFault(
                    400,
                    "6070",
                    "Amount is not equal to UnitPrice * Qty",
                    f"Amount is not equal to UnitPrice * Qty. Supplied value:{amount} (UnitPrice {price} x Qty "
                    f"{qty} = {expected})",
                    element=f"Line[{index}].Amount",
                )
            detail["Qty"], detail["UnitPrice"] = qty, price
    if amount is None:
        raise faults.required_param(f"Line[{index}].Amount", w.spec.name)
    status = detail.get("BillableStatus") or "NotBillable"
    if status not in BILLABLE:
        raise faults.invalid_enum(f"{where}.BillableStatus", status)
    if status == "Billable" and "CustomerRef" not in detail:
        raise common.business_fault("A billable expense line needs the customer to bill", f"{where}.CustomerRef")
    detail["BillableStatus"] = status
    return money(amount)


def payables_account(realm: Realm) -> Record:
    """The company's Accounts Payable account (the first, as QuickBooks picks it)."""
    for account in sorted(realm.all("Account"), key=lambda a: int(a["Id"]) if str(a["Id"]).isdigit() else 0):
        if account.get("AccountType") == "Accounts Payable" and account.get("Active") is not False:
            return {"value": str(account["Id"]), "name": account["Name"]}
    raise common.business_fault("This company has no Accounts Payable account", "APAccountRef")


def _due_date(w: Write, vendor: Record | None, when: object) -> str:
    body = w.record
    if body.get("DueDate"):
        return common.parse_date(body["DueDate"], "DueDate").isoformat()
    term = w.targets.get("SalesTermRef")
    if term is None and vendor is not None:
        term_id = common.ref_value(vendor.get("TermRef"))
        term = w.realm.get("Term", term_id) if term_id else None
    days = int((term or {}).get("DueDays") or 0)
    start = common.parse_date(str(when), "TxnDate")
    return (start + timedelta(days=days)).isoformat()


def build_bill_payment(w: Write) -> Record:
    body = w.record
    vendor = w.targets["VendorRef"]
    pay_type = body["PayType"]
    if pay_type not in ("Check", "CreditCard"):
        raise faults.invalid_enum("PayType", pay_type)
    detail_name, account_field = (
        ("CheckPayment", "BankAccountRef") if pay_type == "Check" else ("CreditCardPayment", "CCAccountRef")
    )
    detail = body.get(detail_name) or {}
    if account_field not in detail:
        raise faults.required_param(f"{detail_name}.{account_field}", "BillPayment")
    total = required_total(body, "BillPayment")
    record: Record = {"VendorRef": body["VendorRef"], "PayType": pay_type, detail_name: copy.deepcopy(detail)}
    party_currency(w, vendor, record, "vendor")
    record["TotalAmt"] = total
    record["Line"], net = apply_lines(w, "VendorRef", str(vendor["Id"]), charges=("Bill",), credits=("VendorCredit",))
    if net > total:
        raise common.business_fault(f"The amounts applied ({net}) are more than the payment's total ({total})")
    record["TxnDate"] = common.txn_date(w.ctx, body).isoformat()
    record["APAccountRef"] = body.get("APAccountRef") or payables_account(w.realm)
    for key in ("DocNumber", "PrivateNote", "DepartmentRef", "ProcessBillPayment"):
        if body.get(key) not in (None, "", {}):
            record[key] = copy.deepcopy(body[key])
    return record


RULES = Rules(build=build)
BILL_PAYMENT = Rules(build=build_bill_payment)
