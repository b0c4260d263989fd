"""ExchangeRate: each foreign currency's rate to the home currency (multicurrency companies).

* ``GET /exchangerate?sourcecurrencycode=EUR[&asofdate=2026-07-01]`` reads one rate (2020 without the
  code; 610 for a currency the company has no rate for). The emulator keeps the latest rate per
  currency: an asofdate is accepted and the current rate returned.
* Query: ``select * from ExchangeRate [where SourceCurrencyCode = 'EUR']``.
* ``POST /exchangerate`` with SourceCurrencyCode, Rate (> 0) and optionally AsOfDate (default today) and
  the SyncToken (5010 when stale) sets the rate that new transactions in that currency use. The currency
  must be one of the company's (CompanyCurrency) and multicurrency on (6000); TargetCurrencyCode, when
  sent, must be the home currency.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from local.qbo_emulator import faults
from local.qbo_emulator.api import ApiContext, ApiResult, json_body
from local.qbo_emulator.clock import qbo_time
from local.qbo_emulator.entities import common
from local.qbo_emulator.entities.currency import available, multicurrency
from local.qbo_emulator.store import Realm, Record


def put_rate(realm: Realm, code: str, rate: Decimal, as_of: str, when: datetime, previous: Record | None) -> Record:
    stamp = qbo_time(when, realm.tz)
    record: Record = {
        "SourceCurrencyCode": code,
        "TargetCurrencyCode": realm.home_currency,
        "Rate": rate,
        "AsOfDate": as_of,
        "SyncToken": str(int(previous.get("SyncToken", "0")) + 1) if previous else "0",
        "MetaData": {"LastUpdatedTime": stamp},
    }
    realm.records.setdefault("ExchangeRate", {})[code] = record
    return record


def handle(ctx: ApiContext) -> ApiResult:
    if ctx.request.method == "GET":
        return _read(ctx)
    if ctx.request.method != "POST":
        raise faults.unsupported_operation("exchangerate accepts GET and POST only", status=405)
    operation = common.operation(ctx)
    if operation not in ("", "update"):
        raise faults.unsupported_operation(f"Operation {operation} is not supported for ExchangeRate.")
    body = json_body(ctx)
    realm = ctx.realm
    with realm.lock:
        common.check_known(
            body, {"SourceCurrencyCode", "TargetCurrencyCode", "AsOfDate", "Rate", "CustomField"}, "ExchangeRate"
        )
        code = str(body.get("SourceCurrencyCode") or "").upper()
        if not code:
            raise faults.required_param("SourceCurrencyCode", "ExchangeRate")
        if not multicurrency(realm):
            raise common.business_fault(
                "Multicurrency is turned off in this company (Preferences.CurrencyPrefs.MultiCurrencyEnabled)",
                "SourceCurrencyCode",
            )
        if code == realm.home_currency or not available(realm, code):
            raise common.business_fault(f"{code} is not one of this company's foreign currencies", "SourceCurrencyCode")
        target = body.get("TargetCurrencyCode")
        if target not in (None, "", realm.home_currency):
            raise common.business_fault(f"Rates are to the home currency {realm.home_currency}", "TargetCurrencyCode")
        rate = common.decimal_field(body.get("Rate"), "Rate")
        if rate is None:
            raise faults.required_param("Rate", "ExchangeRate")
        if rate <= 0:
            raise common.business_fault("Rate must be more than zero", "Rate")
        previous = realm.records.get("ExchangeRate", {}).get(code)
        sent = body.get("SyncToken")
        if previous is not None and sent not in (None, "") and str(sent) != str(previous.get("SyncToken", "0")):
            raise faults.stale_object("ExchangeRate", code, str(previous.get("SyncToken", "0")), sent)
        as_of = body.get("AsOfDate")
        day = common.parse_date(as_of, "AsOfDate") if as_of else common.today(ctx)
        record = put_rate(realm, code, rate, day.isoformat(), ctx.now, previous)
        result = common.entity_result(ctx, "ExchangeRate", record)
    result.is_write = True
    return result


def _read(ctx: ApiContext) -> ApiResult:
    code = (ctx.param("sourcecurrencycode") or ctx.param("SourceCurrencyCode") or "").upper()
    if not code:
        raise faults.required_param("sourcecurrencycode", "ExchangeRate")
    as_of = ctx.param("asofdate")
    if as_of:
        common.parse_date(as_of, "asofdate")
    record = ctx.realm.records.get("ExchangeRate", {}).get(code)
    if record is None:
        raise faults.object_not_found("ExchangeRate", code)
    return common.entity_result(ctx, "ExchangeRate", record)
