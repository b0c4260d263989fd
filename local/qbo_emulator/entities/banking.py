"""Money moved between accounts: Deposit, Transfer, CreditCardPayment, JournalEntry.

* Deposit: ``DepositToAccountRef`` and lines, each an amount from an account (``DepositLineDetail.AccountRef``,
  with an optional payer ``Entity``) or a payment or sales receipt waiting in Undeposited Funds
  (``LinkedTxn``; each can be deposited once, and the line's amount is its total). TotalAmt is the sum of
  the lines less ``CashBack.Amount``.
* Transfer: ``Amount`` (> 0) from ``FromAccountRef`` to another account ``ToAccountRef``.
* CreditCardPayment: ``Amount`` (> 0) paid from ``BankAccountRef`` (an asset account) to
  ``CreditCardAccountRef`` (a credit card account, else "Invalid account type", 6000).
* JournalEntry: ``JournalEntryLineDetail`` lines with ``PostingType`` Debit or Credit and ``AccountRef``;
  debits must equal credits (6000); a line on Accounts Receivable needs a customer and one on Accounts
  Payable a vendor in ``Entity`` (6000). TotalAmt is the sum of the debits. (Its effect on customer and
  vendor balances is not emulated; account balances are.)
"""

from __future__ import annotations

import copy
from decimal import Decimal

from local.qbo_emulator import faults
from local.qbo_emulator.api import ApiContext
from local.qbo_emulator.entities import common
from local.qbo_emulator.entities.common import money
from local.qbo_emulator.entities.currency import currency_ref, exchange_rate
from local.qbo_emulator.entities.engine import Rules, Write
from local.qbo_emulator.store import Realm, Record

ZERO = Decimal("0")
DEPOSITABLE = ("Payment", "SalesReceipt", "RefundReceipt")


def _home_currency(w: Write, record: Record) -> Decimal:
    code = common.ref_value(w.record.get("CurrencyRef")) or w.realm.home_currency
    record["CurrencyRef"] = currency_ref(w.realm, code)
    rate = exchange_rate(w.ctx, w.record, code)
    record["ExchangeRate"] = rate
    return rate


def _positive_amount(w: Write, field: str = "Amount") -> Decimal:
    amount = common.decimal_field(w.record.get(field), field)
    if amount is None:
        raise faults.required_param(field, w.spec.name)
    if amount <= 0:
        raise common.business_fault(f"{field} must be more than zero", field)
    return money(amount)


def build_deposit(w: Write) -> Record:
    body = w.record
    record: Record = {k: v for k, v in body.items() if k not in ("Line", "TotalAmt", "TxnDate")}
    rate = _home_currency(w, record)
    own = str(w.previous["Id"]) if w.previous is not None else None
    out: list[Record] = []
    total = ZERO
    for index, raw in enumerate(body.get("Line") or []):
        line: Record = {"Id": str(index + 1), "LineNum": index + 1}
        linked = raw.get("LinkedTxn") or []
        if linked:
            line["Amount"] = _deposited(w, linked, index, own)
            line["LinkedTxn"] = [{"TxnId": str(t["TxnId"]), "TxnType": t["TxnType"]} for t in linked]
            line["DetailType"] = "DepositLineDetail"
            line["DepositLineDetail"] = {"AccountRef": common.undeposited_funds(w.ctx)}
        else:
            detail = copy.deepcopy(raw.get("DepositLineDetail") or {})
            if "AccountRef" not in detail:
                raise faults.required_param(f"Line[{index}].DepositLineDetail.AccountRef", "Deposit")
            amount = common.decimal_field(raw.get("Amount"), "Amount")
            if amount is None:
                raise faults.required_param(f"Line[{index}].Amount", "Deposit")
            line["Amount"] = money(amount)
            line["DetailType"] = "DepositLineDetail"
            line["DepositLineDetail"] = detail
        if raw.get("Description") not in (None, ""):
            line["Description"] = raw["Description"]
        total += line["Amount"]
        out.append(line)
    cash_back = (body.get("CashBack") or {}).get("Amount")
    if cash_back is not None:
        total -= money(common.decimal_field(cash_back, "CashBack.Amount") or ZERO)
    record["Line"] = out
    record["TotalAmt"] = money(total)
    record["HomeTotalAmt"] = money(total * rate)
    record["TxnDate"] = common.txn_date(w.ctx, body).isoformat()
    return record


def _deposited(w: Write, linked: list[Record], index: int, own: str | None) -> Decimal:
    if len(linked) != 1:
        raise common.business_fault("Each deposit line links one transaction", f"Line[{index}].LinkedTxn")
    kind, txn_id = str(linked[0].get("TxnType")), str(linked[0].get("TxnId"))
    where = f"Line[{index}].LinkedTxn"
    if kind not in DEPOSITABLE:
        raise common.business_fault(f"A deposit line can link {', '.join(DEPOSITABLE)} only (got {kind})", where)
    txn = w.realm.get(kind, txn_id)
    if txn is None:
        raise common.invalid_reference(kind, txn_id, where)
    if common.ref_value(txn.get("DepositToAccountRef")) != common.UNDEPOSITED_FUNDS:
        raise common.business_fault(f"{kind} {txn_id} was not received into Undeposited Funds", where)
    holder = deposit_of(w.realm, kind, txn_id)
    if holder is not None and holder != own:
        raise common.business_fault(f"{kind} {txn_id} is already in deposit {holder}", where)
    return money(Decimal(txn.get("TotalAmt", 0)))


def deposit_of(realm: Realm, kind: str, txn_id: str) -> str | None:
    """The deposit holding a payment or sales receipt, if any."""
    for deposit in realm.all("Deposit"):
        for line in deposit.get("Line", []):
            for linked in line.get("LinkedTxn", []):
                if (linked.get("TxnType"), str(linked.get("TxnId"))) == (kind, txn_id):
                    return str(deposit["Id"])
    return None


def build_transfer(w: Write) -> Record:
    record = dict(w.record)
    record["Amount"] = _positive_amount(w)
    if record["FromAccountRef"]["value"] == record["ToAccountRef"]["value"]:
        raise common.business_fault("A transfer needs two different accounts", "ToAccountRef")
    _home_currency(w, record)
    record["TxnDate"] = common.txn_date(w.ctx, w.record).isoformat()
    return record


def build_credit_card_payment(w: Write) -> Record:
    record = dict(w.record)
    record["Amount"] = _positive_amount(w)
    if w.targets["CreditCardAccountRef"].get("AccountType") != "Credit Card":
        raise _invalid_account_type("CreditCardAccountRef")
    if w.targets["BankAccountRef"].get("Classification") != "Asset":
        raise _invalid_account_type("BankAccountRef")
    _home_currency(w, record)
    record["TxnDate"] = common.txn_date(w.ctx, w.record).isoformat()
    return record


def _invalid_account_type(element: str) -> faults.QboFault:
    return common.business_fault(
        "Invalid account type: You need to select a different type of account for this transaction.", element
    )


def build_journal_entry(w: Write) -> Record:
    body = w.record
    record: Record = {k: v for k, v in body.items() if k not in ("Line", "TotalAmt", "TxnDate")}
    rate = _home_currency(w, record)
    debits = credits = ZERO
    out: list[Record] = []
    for index, raw in enumerate(body.get("Line") or []):
        line: Record = {"Id": str(raw.get("Id") or index), "LineNum": index + 1}
        kind = raw.get("DetailType") or ("JournalEntryLineDetail" if "JournalEntryLineDetail" in raw else None)
        if raw.get("Description") not in (None, ""):
            line["Description"] = raw["Description"]
        if kind == "DescriptionOnly":
            out.append({**line, "DetailType": kind, "Amount": ZERO, "DescriptionOnly": {}})
            continue
        if kind != "JournalEntryLineDetail":
            raise faults.invalid_enum(f"Line[{index}].DetailType", kind)
        detail = copy.deepcopy(raw.get(kind) or {})
        where = f"Line[{index}].JournalEntryLineDetail"
        posting = detail.get("PostingType")
        if posting not in ("Debit", "Credit"):
            raise faults.invalid_enum(f"{where}.PostingType", posting)
        if "AccountRef" not in detail:
            raise faults.required_param(f"{where}.AccountRef", "JournalEntry")
        amount = common.decimal_field(raw.get("Amount"), "Amount")
        if amount is None:
            raise faults.required_param(f"Line[{index}].Amount", "JournalEntry")
        amount = money(amount)
        _check_entity(w, detail, where)
        if posting == "Debit":
            debits += amount
        else:
            credits += amount
        out.append({**line, "DetailType": kind, "Amount": amount, kind: detail})
    if not out:
        raise faults.required_param("Line", "JournalEntry")
    if debits != credits:
        raise common.business_fault(
            f"Your transaction must balance: the debits ({debits}) are not equal to the credits ({credits})", "Line"
        )
    record["Line"] = out
    record["TotalAmt"] = money(debits)
    record["HomeTotalAmt"] = money(debits * rate)
    record["TxnDate"] = common.txn_date(w.ctx, body).isoformat()
    record["Adjustment"] = body.get("Adjustment") is True
    return record


def _check_entity(w: Write, detail: Record, where: str) -> None:
    account = w.realm.get("Account", str(detail["AccountRef"]["value"])) or {}
    entity = detail.get("Entity") or {}
    kind = entity.get("Type") if isinstance(entity, dict) else None
    if account.get("AccountType") == "Accounts Receivable" and kind != "Customer":
        raise common.business_fault(
            "When you use Accounts Receivable, you must choose a customer in the Name field.", f"{where}.Entity"
        )
    if account.get("AccountType") == "Accounts Payable" and kind != "Vendor":
        raise common.business_fault(
            "When you use Accounts Payable, you must select a vendor in the Name field.", f"{where}.Entity"
        )


# What a deposit depends on: a deposited transaction may change anything else (a memo, a reference number).
DEPOSITED_FIELDS = ("TotalAmt", "Line", "CustomerRef", "DepositToAccountRef", "CurrencyRef", "ExchangeRate")


def check_not_deposited(ctx: ApiContext, record: Record, operation: str, after: Record | None) -> None:
    """A payment or sales receipt in a deposit cannot be deleted, voided or have its amounts changed until
    the deposit lets it go (6540)."""
    kind = "Payment" if "UnappliedAmt" in record else "SalesReceipt"
    holder = deposit_of(ctx.realm, kind, str(record["Id"]))
    if after is not None and all(after.get(key) == record.get(key) for key in DEPOSITED_FIELDS):
        return
    if holder is not None:
        raise faults.QboFault(
            400,
            "6540",
            "Deposited Transaction cannot be changed",
            f"This transaction has been deposited (deposit {holder}). If you want to {operation} it, you must "
            "edit the deposit it appears on and remove it first.",
        )


DEPOSIT = Rules(build=build_deposit)
TRANSFER = Rules(build=build_transfer)
CREDIT_CARD_PAYMENT = Rules(build=build_credit_card_payment)
JOURNAL_ENTRY = Rules(build=build_journal_entry)
