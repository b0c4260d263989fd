"""Item writes.

* Name is required, unique among items (inactive ones included, case-insensitive) -> 6240, and may
  not contain ``:`` (colons separate sub-items in FullyQualifiedName), tab or newline.
* Type is one of Service, NonInventory, Inventory, Group, Category (2170 otherwise).
* Service and NonInventory items need an active IncomeAccountRef; Inventory items also need
  AssetAccountRef, ExpenseAccountRef, QtyOnHand and InvStartDate.
* Non-US companies may give SalesTaxCodeRef / PurchaseTaxCodeRef; they must be real tax codes.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from local.qbo_emulator import faults
from local.qbo_emulator.api import ApiContext, ApiResult, json_body
from local.qbo_emulator.entities import common
from local.qbo_emulator.store import Record

TYPES = ("Service", "NonInventory", "Inventory", "Group", "Category")
READ_ONLY = frozenset({"FullyQualifiedName", "Level"})
KNOWN = {
    "Name",
    "Description",
    "Active",
    "SubItem",
    "ParentRef",
    "Level",
    "FullyQualifiedName",
    "Taxable",
    "SalesTaxIncluded",
    "UnitPrice",
    "Type",
    "IncomeAccountRef",
    "PurchaseDesc",
    "PurchaseTaxIncluded",
    "PurchaseCost",
    "ExpenseAccountRef",
    "AssetAccountRef",
    "TrackQtyOnHand",
    "QtyOnHand",
    "InvStartDate",
    "SalesTaxCodeRef",
    "PurchaseTaxCodeRef",
    "Sku",
    "AbatementRate",
    "ReverseChargeRate",
    "ServiceType",
    "ItemCategoryType",
    "PrefVendorRef",
    "ClassRef",
    "UQCDisplayText",
    "UQCId",
    "ReorderPoint",
    "ItemEx",
    "TaxClassificationRef",
    "Source",
}


def _build(ctx: ApiContext, body: Record, previous: Record | None) -> Record:
    common.check_known(body, KNOWN, "Item")
    data: Record = common.prune({k: v for k, v in body.items() if k not in common.ENVELOPE and k not in READ_ONLY})
    name = data.get("Name")
    if not isinstance(name, str) or not name.strip():
        raise faults.required_param("Name", "Item")
    name = name.strip()
    common.check_name_chars(name, "Name")
    if len(name) > 100:
        raise faults.validation(
            "2050",
            "String length is either shorter or longer than supported by specification",
            "Name is longer than 100 characters",
            "Name",
        )
    wanted = name.casefold()
    for other in ctx.realm.all("Item"):
        if previous is not None and str(other["Id"]) == str(previous["Id"]):
            continue
        if str(other.get("Name", "")).strip().casefold() == wanted:
            raise faults.QboFault(
                400,
                "6240",
                "Duplicate Name Exists Error",
                f"The name supplied already exists. : Another product or service is already using this name. "
                f"Please use a different name. Id={other['Id']}",
            )
    item_type = data.get("Type")
    if item_type is None:
        raise faults.required_param("Type", "Item")
    if item_type not in TYPES:
        raise faults.invalid_enum("Type", item_type)
    record: Record = dict(data)
    record["Name"] = name
    record["FullyQualifiedName"] = name
    record["Active"] = data.get("Active", True) is not False
    record["Taxable"] = bool(data.get("Taxable", False))
    record["UnitPrice"] = common.decimal_field(data.get("UnitPrice"), "UnitPrice") or Decimal("0")
    if item_type in ("Service", "NonInventory", "Inventory"):
        account = common.require_ref(ctx, data, "IncomeAccountRef", "Account")
        record["IncomeAccountRef"] = {"value": str(account["Id"]), "name": account["Name"]}
    if item_type == "Inventory":
        for field in ("AssetAccountRef", "ExpenseAccountRef"):
            account = common.require_ref(ctx, data, field, "Account")
            record[field] = {"value": str(account["Id"]), "name": account["Name"]}
        for field in ("QtyOnHand", "InvStartDate"):
            if data.get(field) is None:
                raise faults.required_param(field, "Item")
        record["TrackQtyOnHand"] = True
    else:
        record["TrackQtyOnHand"] = False
        record.pop("QtyOnHand", None)
    for field in ("SalesTaxCodeRef", "PurchaseTaxCodeRef"):
        if field in data:
            if ctx.realm.is_us:
                raise faults.business_validation(
                    f"Business Validation Error: {field} is not used in US companies; set Taxable instead",
                    element=field,
                )
            code = common.require_ref(ctx, data, field, "TaxCode")
            record[field] = {"value": str(code["Id"]), "name": code["Name"]}
    return record


def write(ctx: ApiContext) -> ApiResult:
    body = json_body(ctx)
    op = common.operation(ctx)
    realm = ctx.realm
    with realm.lock:
        if op not in ("", "create", "update"):
            raise faults.unsupported_operation(
                f"Operation {op} is not supported for Item; make it inactive (Active=false) instead."
            )
        previous: Any = None
        if body.get("Id") not in (None, ""):
            previous = common.existing_for_write(ctx, body, "Item")
            source = common.merged_for_sparse(previous, body) if common.is_sparse(body) else body
            record = _build(ctx, source, previous)
            common.stamp_update(ctx, record, previous)
            ctx.emit("Item", record["Id"], "Update")
        else:
            record = _build(ctx, body, None)
            common.stamp_new(ctx, record, "Item")
            ctx.emit("Item", record["Id"], "Create")
        realm.put("Item", record)
        return common.entity_result(ctx, "Item", record)
