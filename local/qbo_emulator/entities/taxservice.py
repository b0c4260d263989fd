"""``POST /taxservice/taxcode``: create a tax code and the tax rates it applies (QuickBooks' only way to
create either).

* ``TaxCode`` (the new code's name, unique among tax codes: 6240) and ``TaxRateDetails`` are required.
* Each detail names an existing rate (``TaxRateId``, 2500 if unknown) or a new one: ``TaxRateName``
  (unique among rates), ``RateValue`` (0-100) and ``TaxAgencyId`` (an existing TaxAgency, 2500 if not).
  ``TaxApplicableOn`` is Sales (default) or Purchase and puts the rate in the code's sales or purchase
  rate list.
* The answer is the request completed with ``TaxCodeId`` and each detail's ``TaxRateId``, at the top level
  (not wrapped in an entity name), as QuickBooks answers.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from local.qbo_emulator import faults
from local.qbo_emulator.api import ApiContext, ApiResult, json_body, json_result
from local.qbo_emulator.entities import common
from local.qbo_emulator.store import Record

APPLICABLE = ("Sales", "Purchase")


def create(ctx: ApiContext) -> ApiResult:
    if ctx.request.method != "POST":
        raise faults.unsupported_operation("taxservice/taxcode accepts POST only", status=405)
    body = json_body(ctx)
    realm = ctx.realm
    with realm.lock:
        common.check_known(body, {"TaxCode", "TaxCodeId", "TaxRateDetails"}, "TaxService")
        name = str(body.get("TaxCode") or "").strip()
        if not name:
            raise faults.required_param("TaxCode", "TaxService")
        for code in realm.all("TaxCode"):
            if str(code.get("Name", "")).casefold() == name.casefold():
                raise common.duplicate_list_name("TaxCode", str(code["Id"]))
        details = body.get("TaxRateDetails")
        if not isinstance(details, list) or not details:
            raise faults.required_param("TaxRateDetails", "TaxService")
        planned = [_plan(ctx, detail, index) for index, detail in enumerate(details)]
        answered: list[dict[str, Any]] = []
        sales: list[Record] = []
        purchase: list[Record] = []
        for detail, existing in planned:
            rate = existing or _new_rate(ctx, detail)
            entry = {
                "TaxRateRef": {"value": str(rate["Id"]), "name": rate["Name"]},
                "TaxTypeApplicable": "TaxOnAmount",
                "TaxOrder": 0,
            }
            (purchase if detail["TaxApplicableOn"] == "Purchase" else sales).append(entry)
            answered.append(
                {
                    "TaxRateName": rate["Name"],
                    "TaxRateId": str(rate["Id"]),
                    "RateValue": rate["RateValue"],
                    "TaxAgencyId": str(rate["AgencyRef"]["value"]),
                    "TaxApplicableOn": detail["TaxApplicableOn"],
                }
            )
        created: Record = {
            "Name": name,
            "Description": name,
            "Active": True,
            "Hidden": False,
            "Taxable": True,
            "TaxGroup": len(answered) > 1,
            "SalesTaxRateList": {"TaxRateDetail": sales},
            "PurchaseTaxRateList": {"TaxRateDetail": purchase},
        }
        common.stamp_new(ctx, created, "TaxCode")
        realm.put("TaxCode", created)
        ctx.emit("TaxCode", created["Id"], "Create")
        return json_result(ctx, {"TaxCode": name, "TaxCodeId": str(created["Id"]), "TaxRateDetails": answered})


def _plan(ctx: ApiContext, detail: Any, index: int) -> tuple[Record, Record | None]:
    where = f"TaxRateDetails[{index}]"
    if not isinstance(detail, dict):
        raise faults.request_has_invalid_or_unsupported(f"{where} must be an object")
    detail = common.prune(dict(detail))
    applicable = detail.get("TaxApplicableOn") or "Sales"
    if applicable not in APPLICABLE:
        raise faults.invalid_enum(f"{where}.TaxApplicableOn", applicable)
    detail["TaxApplicableOn"] = applicable
    rate_id = detail.get("TaxRateId")
    if rate_id not in (None, ""):
        rate = ctx.realm.get("TaxRate", str(rate_id))
        if rate is None:
            raise common.invalid_reference("TaxRate", str(rate_id), f"{where}.TaxRateId")
        return detail, rate
    rate_name = str(detail.get("TaxRateName") or "").strip()
    if not rate_name:
        raise faults.required_param(f"{where}.TaxRateName", "TaxService")
    for rate in ctx.realm.all("TaxRate"):
        if str(rate.get("Name", "")).casefold() == rate_name.casefold():
            raise common.duplicate_list_name("TaxRate", str(rate["Id"]))
    value = common.decimal_field(detail.get("RateValue"), "RateValue")
    if value is None:
        raise faults.required_param(f"{where}.RateValue", "TaxService")
    if not Decimal("0") <= value <= Decimal("100"):
        raise common.business_fault("RateValue must be between 0 and 100", f"{where}.RateValue")
    agency_id = str(detail.get("TaxAgencyId") or "")
    if not agency_id:
        raise faults.required_param(f"{where}.TaxAgencyId", "TaxService")
    if ctx.realm.get("TaxAgency", agency_id) is None:
        raise common.invalid_reference("TaxAgency", agency_id, f"{where}.TaxAgencyId")
    detail.update(TaxRateName=rate_name, RateValue=value, TaxAgencyId=agency_id)
    return detail, None


def _new_rate(ctx: ApiContext, detail: Record) -> Record:
    rate: Record = {
        "Name": detail["TaxRateName"],
        "Description": detail["TaxRateName"],
        "Active": True,
        "RateValue": detail["RateValue"],
        "AgencyRef": {"value": detail["TaxAgencyId"]},
        "SpecialTaxType": "NONE",
        "DisplayType": "ReadOnly",
        "EffectiveTaxRate": [{"RateValue": detail["RateValue"], "EffectiveDate": common.today(ctx).isoformat()}],
    }
    common.stamp_new(ctx, rate, "TaxRate")
    ctx.realm.put("TaxRate", rate)
    ctx.emit("TaxRate", rate["Id"], "Create")
    return rate
