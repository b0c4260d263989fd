"""Balances: what transactions owe, what parties owe, what accounts hold. Everything here is derived from
the stored transactions again after each write, so a change, void or delete can never leave a balance
behind.

* Documents with an open amount (``EntitySpec.open_amount``: Invoice and Bill ``Balance``, CreditMemo
  ``RemainingCredit``, VendorCredit ``Balance``) are reduced by the lines of the transactions that apply
  to them (``EntitySpec.applies``: Payment lines link invoices and credit memos, BillPayment lines bills
  and vendor credits): open = TotalAmt - the amounts applied. Their ``LinkedTxn`` lists those
  transactions, and each change of it is an update of the document (SyncToken, LastUpdatedTime, webhook).
* A document with something applied to it cannot be deleted or voided (6000), and its total cannot drop
  below what is applied.
* Customers' and vendors' ``Balance`` is the sum of their transactions' ``EntitySpec.party_balance``
  (open invoices, minus remaining credits and unapplied payments; open bills minus vendor credits);
  a customer's ``BalanceWithJobs`` adds its sub-customers'.
* Accounts' ``CurrentBalance`` (balance-sheet accounts only; income and expense accounts report 0) is
  the opening balance plus the debits and credits of ``EntitySpec.postings``, in the home currency;
  Accounts Receivable holds the customers' balances and Accounts Payable the vendors'.
  ``CurrentBalanceWithSubAccounts`` adds the sub-accounts'.

Party and account balances change quietly: their SyncToken stays, as QuickBooks' does.
"""

from __future__ import annotations

import copy
from collections.abc import Iterator
from decimal import Decimal
from typing import Any

from local.qbo_emulator.api import ApiContext
from local.qbo_emulator.entities import common
from local.qbo_emulator.entities.base import SPECS, EntitySpec, Posting
from local.qbo_emulator.entities.common import money
from local.qbo_emulator.store import Realm, Record

ZERO = Decimal("0")
DEBIT_NATURED = ("Asset", "Expense")
BALANCE_SHEET = ("Asset", "Liability", "Equity")


def links(record: Record | None) -> list[tuple[str, str, Decimal]]:
    """The (entity, id, amount) each line of an applying transaction (a payment) applies."""
    out: list[tuple[str, str, Decimal]] = []
    for line in (record or {}).get("Line", []):
        for linked in line.get("LinkedTxn", []) or []:
            out.append((str(linked.get("TxnType")), str(linked.get("TxnId")), Decimal(line.get("Amount", 0))))
    return out


def appliers(entity: str) -> list[EntitySpec]:
    return [spec for spec in SPECS.values() if entity in spec.applies]


def applied_to(realm: Realm, entity: str, doc_id: str, *, excluding: tuple[str, str] | None = None) -> Decimal:
    """What other transactions apply to one document (``excluding`` one applying transaction)."""
    total = ZERO
    for spec in appliers(entity):
        for record in realm.all(spec.name):
            if excluding == (spec.name, str(record["Id"])):
                continue
            total += sum((amount for kind, txn, amount in links(record) if (kind, txn) == (entity, doc_id)), ZERO)
    return total


def check_unapplied(ctx: ApiContext, spec: EntitySpec, record: Record, operation: str) -> None:
    if spec.open_amount is None:
        return
    if applied_to(ctx.realm, spec.name, str(record["Id"])) > 0:
        raise common.business_fault(
            f"{spec.name} {record['Id']} has payments applied; remove them before you {operation} it"
        )


def set_open_amount(ctx: ApiContext, spec: EntitySpec, record: Record, previous: Record | None) -> None:
    """A document's open amount after a create or update: its total less what is already applied."""
    applied = applied_to(ctx.realm, spec.name, str(previous["Id"])) if previous is not None else ZERO
    total = Decimal(record.get("TotalAmt", 0))
    if total < applied:
        raise common.business_fault(
            f"The {spec.name.lower()} total ({total}) cannot be less than the payments applied to it ({applied})"
        )
    _set_open(spec, record, applied)
    record["LinkedTxn"] = _kept_links(record.get("LinkedTxn") or (previous or {}).get("LinkedTxn", []), spec)
    record["LinkedTxn"] += _derived_links(ctx.realm, spec.name, str(previous["Id"])) if previous is not None else []


def _set_open(spec: EntitySpec, record: Record, applied: Decimal) -> None:
    assert spec.open_amount is not None
    open_amount = money(Decimal(record.get("TotalAmt", 0)) - applied)
    record[spec.open_amount] = open_amount
    record["Balance"] = open_amount
    if "HomeBalance" in record or "HomeTotalAmt" in record:
        record["HomeBalance"] = money(open_amount * Decimal(record.get("ExchangeRate", 1)))


def _kept_links(linked: list[Record], spec: EntitySpec) -> list[Record]:
    """Links that are not applications (e.g. an invoice's estimate) stay as they are."""
    applying = {s.name for s in appliers(spec.name)}
    return [copy.deepcopy(link) for link in linked if link.get("TxnType") not in applying]


def _derived_links(realm: Realm, entity: str, doc_id: str) -> list[Record]:
    found: list[tuple[int, str, str]] = []
    for spec in appliers(entity):
        for record in realm.all(spec.name):
            if any((kind, txn) == (entity, doc_id) for kind, txn, _ in links(record)):
                found.append((_numeric(record["Id"]), str(record["Id"]), spec.name))
    return [{"TxnId": txn_id, "TxnType": kind} for _, txn_id, kind in sorted(found)]


def _numeric(value: Any) -> int:
    text = str(value)
    return int(text) if text.isdigit() else 0


def settle(ctx: ApiContext, spec: EntitySpec, before: Record | None, after: Record | None) -> None:
    """After a write of ``spec``: the documents its old and new lines applied to, then every balance."""
    realm = ctx.realm
    if spec.applies:
        docs = {(kind, txn) for kind, txn, _ in links(before) + links(after)}
        for entity, doc_id in sorted(docs):
            refresh_document(ctx, entity, doc_id)
    refresh_balances(realm)


def refresh_document(ctx: ApiContext, entity: str, doc_id: str) -> None:
    realm = ctx.realm
    spec = SPECS[entity]
    document = realm.get(entity, doc_id)
    if document is None or spec.open_amount is None:
        return
    previous = copy.deepcopy(document)
    _set_open(spec, document, applied_to(realm, entity, doc_id))
    document["LinkedTxn"] = _kept_links(document.get("LinkedTxn", []), spec) + _derived_links(realm, entity, doc_id)
    common.stamp_update(ctx, document, previous)
    ctx.emit(entity, doc_id, "Update")


def refresh_balances(realm: Realm) -> None:
    """Customers', vendors' and accounts' balances from the stored transactions."""
    party = _party_totals(realm)
    _set_party_balances(realm, party)
    _set_account_balances(realm)


def _party_totals(realm: Realm) -> dict[tuple[str, str], Decimal]:
    totals: dict[tuple[str, str], Decimal] = {}
    for spec in SPECS.values():
        for rule in spec.party_balance:
            target = next(ref.targets[0] for ref in spec.refs if ref.path == rule.party)
            for record in realm.all(spec.name):
                party_id = common.ref_value(record.get(rule.party))
                if party_id is None:
                    continue
                key = (target, party_id)
                totals[key] = totals.get(key, ZERO) + rule.sign * Decimal(record.get(rule.amount, 0))
    return totals


def _set_party_balances(realm: Realm, totals: dict[tuple[str, str], Decimal]) -> None:
    customers = realm.all("Customer")
    own = {str(c["Id"]): money(totals.get(("Customer", str(c["Id"])), ZERO)) for c in customers}
    with_jobs = dict(own)
    for customer in customers:  # each balance counts for every ancestor
        parent = common.ref_value(customer.get("ParentRef"))
        seen = {str(customer["Id"])}
        while parent is not None and parent not in seen:
            seen.add(parent)
            with_jobs[parent] = with_jobs.get(parent, ZERO) + own[str(customer["Id"])]
            parent_record = realm.get("Customer", parent)
            parent = common.ref_value(parent_record.get("ParentRef")) if parent_record else None
    for customer in customers:
        customer["Balance"] = own[str(customer["Id"])]
        customer["BalanceWithJobs"] = money(with_jobs[str(customer["Id"])])
    for vendor in realm.all("Vendor"):
        vendor["Balance"] = money(totals.get(("Vendor", str(vendor["Id"])), ZERO))


def _postings(record: Record, posting: Posting) -> Iterator[tuple[str, Decimal]]:
    """(account id, amount) for one posting rule of one record; per line when the path goes through Line."""
    head, _, rest = posting.account.partition(".")
    if head == "Line" and rest:
        for line in record.get("Line", []):
            if posting.when is not None and _lookup(line, posting.when[0]) != posting.when[1]:
                continue
            account = common.ref_value(_lookup(line, rest))
            if account is not None:
                yield account, Decimal(line.get(posting.amount, 0))
        return
    if posting.when is not None and _lookup(record, posting.when[0]) != posting.when[1]:
        return
    account = common.ref_value(_lookup(record, posting.account))
    if account is not None:
        yield account, Decimal(record.get(posting.amount, 0))


def _lookup(node: Any, path: str) -> Any:
    for part in path.split("."):
        if not isinstance(node, dict):
            return None
        node = node.get(part)
    return node


def _set_account_balances(realm: Realm) -> None:
    moves: dict[str, Decimal] = {}  # account id -> debits less credits, home currency
    for spec in SPECS.values():
        if not spec.postings:
            continue
        for record in realm.all(spec.name):
            rate = Decimal(record.get("ExchangeRate", 1) or 1)
            for posting in spec.postings:
                for account_id, amount in _postings(record, posting):
                    signed = amount * rate if posting.debit else -amount * rate
                    moves[account_id] = moves.get(account_id, ZERO) + signed
    accounts = sorted(realm.all("Account"), key=lambda a: _numeric(a["Id"]))
    receivable = sum((Decimal(c.get("Balance", 0)) * _rate(realm, c) for c in realm.all("Customer")), ZERO)
    payable = sum((Decimal(v.get("Balance", 0)) * _rate(realm, v) for v in realm.all("Vendor")), ZERO)
    first_of: dict[str, str] = {}
    for account in accounts:
        first_of.setdefault(str(account.get("AccountType")), str(account["Id"]))
    own: dict[str, Decimal] = {}
    for account in accounts:
        account_id = str(account["Id"])
        classification = account.get("Classification")
        if classification not in BALANCE_SHEET:
            own[account_id] = ZERO
            continue
        natural = 1 if classification in DEBIT_NATURED else -1
        value = Decimal(account.get("_opening", 0)) + natural * moves.get(account_id, ZERO)
        if first_of.get("Accounts Receivable") == account_id:
            value += receivable
        if first_of.get("Accounts Payable") == account_id:
            value += payable
        own[account_id] = money(value)
    with_subs = dict(own)
    for account in accounts:
        parent = common.ref_value(account.get("ParentRef"))
        seen = {str(account["Id"])}
        while parent is not None and parent not in seen and parent in with_subs:
            seen.add(parent)
            with_subs[parent] += own[str(account["Id"])]
            parent_record = realm.get("Account", parent)
            parent = common.ref_value(parent_record.get("ParentRef")) if parent_record else None
    for account in accounts:
        account["CurrentBalance"] = own[str(account["Id"])]
        account["CurrentBalanceWithSubAccounts"] = with_subs[str(account["Id"])]


def _rate(realm: Realm, party: Record) -> Decimal:
    currency = (party.get("CurrencyRef") or {}).get("value", realm.home_currency)
    if currency == realm.home_currency:
        return Decimal("1")
    return realm.exchange_rates.get(currency, Decimal("1"))
