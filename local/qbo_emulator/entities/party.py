"""Customer (and Vendor, Employee) writes.

* DisplayName is unique across Customer, Vendor and Employee, inactive ones included, compared
  case-insensitively -> 6240 "Duplicate Name Exists Error".
* DisplayName and the name parts must not contain ``:``, tab or newline.
* Without DisplayName it is built from Title/GivenName/MiddleName/FamilyName/Suffix; one is required.
* Customer.CurrencyRef is fixed at creation and defaults to the home currency.
* Customers are never deleted: ``operation=delete`` is unsupported; set ``Active: false`` instead.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from local.qbo_emulator import faults
from local.qbo_emulator.api import ApiContext, ApiResult, json_body
from local.qbo_emulator.entities import common
from local.qbo_emulator.seed import CURRENCY_NAMES
from local.qbo_emulator.store import Record

NAME_PARTS = ("Title", "GivenName", "MiddleName", "FamilyName", "Suffix")
NAME_FIELDS = (*NAME_PARTS, "DisplayName", "PrintOnCheckName")
PARTIES = ("Customer", "Vendor", "Employee")
READ_ONLY = frozenset({"Balance", "BalanceWithJobs", "FullyQualifiedName", "Level", "V4IDPseudonym"})

_COMMON = {
    *NAME_FIELDS,
    "CompanyName",
    "Active",
    "PrimaryPhone",
    "AlternatePhone",
    "Mobile",
    "Fax",
    "PrimaryEmailAddr",
    "WebAddr",
    "Notes",
    "Balance",
    "Other",
    "OtherContactInfo",
    "V4IDPseudonym",
}
KNOWN: dict[str, set[str]] = {
    "Customer": _COMMON
    | {
        "FullyQualifiedName",
        "BillAddr",
        "ShipAddr",
        "Taxable",
        "Job",
        "BillWithParent",
        "ParentRef",
        "Level",
        "IsProject",
        "BalanceWithJobs",
        "PreferredDeliveryMethod",
        "ResaleNum",
        "OpenBalanceDate",
        "PrimaryTaxIdentifier",
        "SecondaryTaxIdentifier",
        "DefaultTaxCodeRef",
        "SalesTermRef",
        "PaymentMethodRef",
        "CurrencyRef",
        "ARAccountRef",
        "CustomerTypeRef",
        "TaxExemptionReasonId",
        "GSTIN",
        "GSTRegistrationType",
        "BusinessNumber",
        "ClientEntityId",
        "Source",
        "CustomField",
        "TaxRegimeId",
        "TaxIdentifier",
    },
    "Vendor": _COMMON
    | {
        "BillAddr",
        "OtherAddr",
        "TaxIdentifier",
        "AcctNum",
        "Vendor1099",
        "CurrencyRef",
        "TermRef",
        "APAccountRef",
        "BillRate",
        "CostRate",
        "VendorPaymentBankDetail",
        "TaxReportingBasis",
        "GSTIN",
        "BusinessNumber",
        "T4AEligible",
        "T5018Eligible",
        "HasTPAR",
        "Source",
    },
    "Employee": _COMMON
    | {
        "PrimaryAddr",
        "EmployeeNumber",
        "SSN",
        "BillableTime",
        "BillRate",
        "CostRate",
        "BirthDate",
        "Gender",
        "HiredDate",
        "ReleasedDate",
        "Organization",
    },
}


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


def _currency(ctx: ApiContext, body: Record) -> dict[str, str]:
    realm = ctx.realm
    home = realm.home_currency
    wanted = common.ref_value(body.get("CurrencyRef")) or home
    multicurrency = bool(realm.preferences.get("CurrencyPrefs", {}).get("MultiCurrencyEnabled"))
    if wanted != home and (not multicurrency or wanted not in realm.exchange_rates):
        raise faults.business_validation(
            f"Business Validation Error: currency {wanted} is not available in this company "
            f"(multicurrency {'on' if multicurrency else 'off'}, home currency {home})",
            element="CurrencyRef",
        )
    return {"value": wanted, "name": CURRENCY_NAMES.get(wanted, wanted)}


def _build(ctx: ApiContext, entity: str, body: Record, previous: Record | None) -> Record:
    common.check_known(body, KNOWN[entity], entity)
    data = common.prune({k: v for k, v in body.items() if k not in common.ENVELOPE and k not in READ_ONLY})
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
        record.update(_customer_fields(ctx, data, previous, name))
    elif entity == "Vendor":
        record["Balance"] = previous.get("Balance", Decimal("0")) if previous else Decimal("0")
        record["CurrencyRef"] = previous["CurrencyRef"] if previous else _currency(ctx, data)
    return record


def _customer_fields(ctx: ApiContext, data: Record, previous: Record | None, name: str) -> dict[str, Any]:
    fields: dict[str, Any] = {}
    if previous is not None:
        currency = previous["CurrencyRef"]
        sent = common.ref_value(data.get("CurrencyRef"))
        if sent is not None and sent != currency["value"]:
            raise faults.business_validation(
                "Business Validation Error: a customer's currency cannot be changed once it is set",
                element="CurrencyRef",
            )
    else:
        currency = _currency(ctx, data)
    fields["CurrencyRef"] = currency
    parent_id = common.ref_value(data.get("ParentRef"))
    job = data.get("Job") is True and parent_id is not None
    if job and parent_id is not None:
        parent = common.require_ref(ctx, data, "ParentRef", "Customer")
        if previous is not None and parent_id == str(previous["Id"]):
            raise faults.business_validation("Business Validation Error: a customer cannot be its own parent")
        level = int(parent.get("Level", 0)) + 1
        if level > 4:
            raise faults.business_validation("Business Validation Error: sub-customers go at most 5 levels deep")
        fields["ParentRef"] = {"value": parent_id}
        fields["Level"] = level
        fields["FullyQualifiedName"] = f"{parent.get('FullyQualifiedName', parent['DisplayName'])}:{name}"
    else:
        fields["FullyQualifiedName"] = name
        fields.pop("ParentRef", None)
    fields["Job"] = job
    fields["BillWithParent"] = bool(data.get("BillWithParent", False)) and job
    fields["Taxable"] = data.get("Taxable", ctx.realm.is_us) is not False
    fields["IsProject"] = False
    fields["PreferredDeliveryMethod"] = data.get("PreferredDeliveryMethod", "Print")
    zero = Decimal("0")
    fields["Balance"] = previous.get("Balance", zero) if previous else zero
    fields["BalanceWithJobs"] = previous.get("BalanceWithJobs", zero) if previous else zero
    return fields


def make_writer(entity: str) -> Any:
    def write(ctx: ApiContext) -> ApiResult:
        body = json_body(ctx)
        op = common.operation(ctx)
        realm = ctx.realm
        with realm.lock:
            if op in ("delete", "void"):
                raise faults.unsupported_operation(
                    f"Operation {op} is not supported for {entity}; make it inactive (Active=false) instead."
                )
            if op not in ("", "create", "update"):
                raise faults.unsupported_operation(f"Operation {op} is not supported for {entity}.")
            if body.get("Id") not in (None, "") and op != "create":
                previous = common.existing_for_write(ctx, body, entity)
                if common.is_sparse(body):
                    source = common.merged_for_sparse(previous, body)
                    for key in READ_ONLY | {"PrintOnCheckName"}:
                        if key not in body:
                            source.pop(key, None)
                    if "PrintOnCheckName" in previous and "PrintOnCheckName" not in body:
                        source["PrintOnCheckName"] = previous["PrintOnCheckName"]
                else:
                    source = body
                record = _build(ctx, entity, source, previous)
                common.stamp_update(ctx, record, previous)
                ctx.emit(entity, record["Id"], "Update")
            else:
                record = _build(ctx, entity, body, None)
                common.stamp_new(ctx, record, entity)
                ctx.emit(entity, record["Id"], "Create")
            realm.put(entity, record)
            return common.entity_result(ctx, entity, record)

    return write
