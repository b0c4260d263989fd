"""Item rules (the name is unique among items through the table: 6240).

* Name may not contain ``:`` (colons separate sub-items in FullyQualifiedName), tab or newline, and is at
  most 100 characters.
* Type is one of Service, NonInventory, Inventory, Group, Category (2170 otherwise).
* Service and NonInventory items need an active IncomeAccountRef; Inventory items also need
  AssetAccountRef, ExpenseAccountRef, QtyOnHand and InvStartDate, and track their quantity.
* Non-US companies may give SalesTaxCodeRef / PurchaseTaxCodeRef; US companies use Taxable.
"""

from __future__ import annotations

from decimal import Decimal

from local.qbo_emulator import faults
from local.qbo_emulator.entities import common
from local.qbo_emulator.entities.engine import Rules, Write
from local.qbo_emulator.store import Record

TYPES = ("Service", "NonInventory", "Inventory", "Group", "Category")


def build(w: Write) -> Record:
    data = w.record
    name = str(data["Name"]).strip()
    common.check_name_chars(name, "Name")
    if len(name) > 100:
        raise faults.validation(
            "2050",
            "String length is either shorter or longer than supported by specification",
            "Name is longer than 100 characters",
            "Name",
        )
    item_type = data["Type"]
    if item_type not in TYPES:
        raise faults.invalid_enum("Type", item_type)
    record: Record = dict(data)
    record["Name"] = name
    record["FullyQualifiedName"] = name
    record["Active"] = data.get("Active", True) is not False
    record["Taxable"] = bool(data.get("Taxable", False))
    record["UnitPrice"] = common.decimal_field(data.get("UnitPrice"), "UnitPrice") or Decimal("0")
    if item_type in ("Service", "NonInventory", "Inventory") and "IncomeAccountRef" not in data:
        raise faults.required_param("IncomeAccountRef", "Item")
    if item_type == "Inventory":
        for field in ("AssetAccountRef", "ExpenseAccountRef", "QtyOnHand", "InvStartDate"):
            if data.get(field) is None:
                raise faults.required_param(field, "Item")
        record["TrackQtyOnHand"] = True
        record["QtyOnHand"] = common.decimal_field(data["QtyOnHand"], "QtyOnHand")
        record["InvStartDate"] = common.parse_date(data["InvStartDate"], "InvStartDate").isoformat()
    else:
        record["TrackQtyOnHand"] = False
        record.pop("QtyOnHand", None)
    for field in ("SalesTaxCodeRef", "PurchaseTaxCodeRef"):
        if field in data and w.realm.is_us:
            raise common.business_fault(f"{field} is not used in US companies; set Taxable instead", field)
    return record


RULES = Rules(build=build)
