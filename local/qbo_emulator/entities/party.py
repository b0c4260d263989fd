"""Customer, Vendor and Employee rules.

* DisplayName is unique across Customer, Vendor and Employee, inactive ones and sub-customers included,
  compared case-insensitively -> 6240 "Duplicate Name Exists Error".
* DisplayName and the name parts must not contain ``:``, tab or newline.
* Without DisplayName it is built from Title/GivenName/MiddleName/FamilyName/Suffix; one is required.
* Customer.CurrencyRef (and Vendor's) is fixed at creation and defaults to the home currency.
* Sub-customers and jobs: ``Job: true`` with ``ParentRef`` (an active customer, not itself) makes a
  sub-customer at ``Level`` parent+1 (at most 4 levels below a top-level customer) with
  ``FullyQualifiedName`` ``Parent:Child``; renaming a customer renames its sub-customers' names too.
  ``BillWithParent`` only for sub-customers.
* Balances are computed (``ledger.py``); customers are never deleted: ``operation=delete`` is
  unsupported; set ``Active: false`` instead.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from local.qbo_emulator import faults
from local.qbo_emulator.api import ApiContext
from local.qbo_emulator.entities import common
from local.qbo_emulator.entities.currency import check_available, currency_ref
from local.qbo_emulator.entities.engine import Rules, Write, is_descendant, rename_children
from local.qbo_emulator.store import Record

NAME_PARTS = ("Title", "GivenName", "MiddleName", "FamilyName", "Suffix")
NAME_FIELDS = (*NAME_PARTS, "DisplayName", "PrintOnCheckName")
PARTIES = ("Customer", "Vendor", "Employee")
MAX_LEVEL = 4
ZERO = Decimal("0")


def _display_name(body: Record) -> str | None:
    display = body.get("DisplayName")
    if isinstance(display, str) and display.strip():
        return display.strip()
    parts = [str(body[p]).strip() for p in NAME_PARTS if isinstance(body.get(p), str) and body[p].strip()]
    return " ".join(parts) if parts else None


def _check_unique(ctx: ApiContext, name: str, own: tuple[str, str] | None) -> None:
    wanted = name.casefold()
    for kind in PARTIES:
        for record in ctx.realm.all(kind):
            if own == (kind, str(record["Id"])):
                continue
            if str(record.get("DisplayName", "")).strip().casefold() == wanted:
                raise faults.duplicate_name(name, kind, str(record["Id"]))


def build(w: Write) -> Record:
    ctx, data, previous, entity = w.ctx, w.record, w.previous, w.spec.name
    for field in NAME_FIELDS:
        common.check_name_chars(data.get(field), field)
    name = _display_name(data)
    if name is None and previous is not None:
        name = str(previous.get("DisplayName"))
    if name is None:
        raise faults.validation(
            "6000",
            "A business validation error has occurred while processing your request",
            "Business Validation Error: You must specify a name (DisplayName or at least one of Title, "
            "GivenName, MiddleName, FamilyName, Suffix).",
            "DisplayName",
        )
    if len(name) > 500:
        raise faults.validation(
            "2050",
            "String length is either shorter or longer than supported by specification",
            "DisplayName is longer than 500 characters",
            "DisplayName",
        )
    _check_unique(ctx, name, (entity, str(previous["Id"])) if previous else None)
    record: Record = dict(data)
    record["DisplayName"] = name
    record.setdefault("PrintOnCheckName", name)
    record["Active"] = data.get("Active", True) is not False
    if entity == "Customer":
        record.update(_customer_fields(w, name))
        for key in ("ParentRef", "Level"):
            if record.get(key) is None:
                record.pop(key, None)
        if previous is not None and previous.get("FullyQualifiedName") != record["FullyQualifiedName"]:
            rename_children(ctx, "Customer", {**record, "Id": previous["Id"]}, "DisplayName")
    elif entity == "Vendor":
        record["Balance"] = previous.get("Balance", ZERO) if previous else ZERO
        record["CurrencyRef"] = _fixed_currency(w)
    return record


def _fixed_currency(w: Write) -> dict[str, str]:
    realm, previous = w.realm, w.previous
    if previous is not None:
        currency: dict[str, str] = previous["CurrencyRef"]
        sent = common.ref_value(w.record.get("CurrencyRef"))
        if sent is not None and sent != currency["value"]:
            raise common.business_fault(
                f"a {w.spec.name.lower()}'s currency cannot be changed once it is set", "CurrencyRef"
            )
        return currency
    wanted = common.ref_value(w.record.get("CurrencyRef")) or realm.home_currency
    check_available(realm, wanted)
    return currency_ref(realm, wanted)


def _customer_fields(w: Write, name: str) -> dict[str, Any]:
    ctx, data, previous = w.ctx, w.record, w.previous
    fields: dict[str, Any] = {"CurrencyRef": _fixed_currency(w)}
    parent_id = common.ref_value(data.get("ParentRef"))
    job = data.get("Job") is True and parent_id is not None
    if job and parent_id is not None:
        parent = common.require_ref(ctx, data, "ParentRef", "Customer")
        if previous is not None and is_descendant(ctx.realm, "Customer", parent_id, str(previous["Id"])):
            raise common.business_fault("a customer cannot be placed under itself or its sub-customers", "ParentRef")
        level = int(parent.get("Level", 0)) + 1
        if level > MAX_LEVEL:
            raise common.business_fault("sub-customers go at most 5 levels deep", "ParentRef")
        parent_name = str(parent.get("FullyQualifiedName") or parent["DisplayName"])
        fields["ParentRef"] = {"value": parent_id, "name": parent_name}
        fields["Level"] = level
        fields["FullyQualifiedName"] = f"{parent_name}:{name}"
    else:
        fields["FullyQualifiedName"] = name
        fields["ParentRef"] = None
        fields["Level"] = None
    fields["Job"] = job
    fields["BillWithParent"] = bool(data.get("BillWithParent", False)) and job
    fields["Taxable"] = data.get("Taxable", ctx.realm.is_us) is not False
    fields["IsProject"] = False
    fields["PreferredDeliveryMethod"] = data.get("PreferredDeliveryMethod", "Print")
    fields["Balance"] = previous.get("Balance", ZERO) if previous else ZERO
    fields["BalanceWithJobs"] = previous.get("BalanceWithJobs", ZERO) if previous else ZERO
    return fields


def sparse_source(previous: Record, body: Record) -> Record:
    source = common.merged_for_sparse(previous, body)
    for key in ("Balance", "BalanceWithJobs", "FullyQualifiedName", "Level", "V4IDPseudonym", "PrintOnCheckName"):
        if key not in body:
            source.pop(key, None)
    if "PrintOnCheckName" in previous and "PrintOnCheckName" not in body:
        source["PrintOnCheckName"] = previous["PrintOnCheckName"]
    return {k: v for k, v in source.items() if not k.startswith("_")}


RULES = Rules(build=build, sparse_source=sparse_source)
