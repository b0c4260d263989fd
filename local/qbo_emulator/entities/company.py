"""Preferences and CompanyInfo: one record per company, read, queried and updated (full or sparse, with
SyncToken; 5010 when stale), never created or deleted.

Preferences
  * ``POST /preferences``: the preference groups sent are merged into the stored ones (QuickBooks updates
    the writable subset and keeps the rest; a full update does not clear groups left out). Lists
    (``OtherPrefs.NameValue``, custom field definitions) are replaced. Unknown groups are refused (2010).
  * Read-only, kept whatever is sent: ``CurrencyPrefs.HomeCurrency``, ``TaxPrefs.PartnerTaxEnabled``,
    ``AccountingInfoPrefs.FirstMonthOfFiscalYear``, ``AccountingInfoPrefs.TaxYearMonth``,
    ``ReportPrefs.CalcAgingReportFromTxnDate``.
  * Multicurrency cannot be turned off once on (6000).
  * An update is announced (webhook, CDC) as a Preferences Update.
CompanyInfo
  * ``POST /companyinfo``: CompanyName is required in a full update; the writable fields are the names,
    addresses, phone, email, web address and ``NameValue``; ``Country``, ``SupportedLanguages`` and
    ``CompanyStartDate`` are kept.
"""

from __future__ import annotations

import copy
from typing import Any

from local.qbo_emulator import faults
from local.qbo_emulator.api import ApiContext, ApiResult, json_body
from local.qbo_emulator.entities import common

PREFERENCE_GROUPS = frozenset(
    {
        "AccountingInfoPrefs",
        "ProductAndServicesPrefs",
        "SalesFormsPrefs",
        "EmailMessagesPrefs",
        "VendorAndPurchasesPrefs",
        "TimeTrackingPrefs",
        "TaxPrefs",
        "CurrencyPrefs",
        "ReportPrefs",
        "OtherPrefs",
    }
)
READ_ONLY_PREFERENCES = frozenset(
    {
        ("CurrencyPrefs", "HomeCurrency"),
        ("TaxPrefs", "PartnerTaxEnabled"),
        ("AccountingInfoPrefs", "FirstMonthOfFiscalYear"),
        ("AccountingInfoPrefs", "TaxYearMonth"),
        ("ReportPrefs", "CalcAgingReportFromTxnDate"),
    }
)
COMPANY_WRITABLE = (
    "CompanyName",
    "LegalName",
    "CompanyAddr",
    "CustomerCommunicationAddr",
    "LegalAddr",
    "CustomerCommunicationEmailAddr",
    "PrimaryPhone",
    "Email",
    "WebAddr",
    "NameValue",
    "FiscalYearStartMonth",
)
COMPANY_KNOWN = frozenset({*COMPANY_WRITABLE, "Country", "SupportedLanguages", "CompanyStartDate"})


def _check_update(ctx: ApiContext, entity: str) -> None:
    operation = common.operation(ctx)
    if operation not in ("", "update"):
        raise faults.unsupported_operation(f"Operation {operation} is not supported for {entity}.")


def write_preferences(ctx: ApiContext) -> ApiResult:
    _check_update(ctx, "Preferences")
    body = json_body(ctx)
    realm = ctx.realm
    with realm.lock:
        previous = common.existing_for_write(ctx, body, "Preferences")
        common.check_known(body, PREFERENCE_GROUPS, "Preferences")
        record = copy.deepcopy(previous)
        for group, sent in common.prune({k: v for k, v in body.items() if k in PREFERENCE_GROUPS}).items():
            if not isinstance(sent, dict):
                raise faults.request_has_invalid_or_unsupported(f"{group} must be an object", group)
            stored = record.setdefault(group, {})
            for key, value in sent.items():
                if (group, key) in READ_ONLY_PREFERENCES:
                    continue
                stored[key] = _merged(stored.get(key), value)
        currency = record.get("CurrencyPrefs", {})
        if previous.get("CurrencyPrefs", {}).get("MultiCurrencyEnabled") and not currency.get("MultiCurrencyEnabled"):
            raise common.business_fault("Multicurrency cannot be turned off once it is on", "MultiCurrencyEnabled")
        common.stamp_update(ctx, record, previous)
        realm.preferences = record
        ctx.emit("Preferences", str(record["Id"]), "Update")
        return common.entity_result(ctx, "Preferences", record)


def _merged(stored: Any, sent: Any) -> Any:
    if isinstance(stored, dict) and isinstance(sent, dict):
        out = dict(stored)
        for key, value in sent.items():
            out[key] = _merged(stored.get(key), value)
        return out
    return copy.deepcopy(sent)


def write_company_info(ctx: ApiContext) -> ApiResult:
    _check_update(ctx, "CompanyInfo")
    body = json_body(ctx)
    realm = ctx.realm
    with realm.lock:
        previous = common.existing_for_write(ctx, body, "CompanyInfo")
        common.check_known(body, COMPANY_KNOWN, "CompanyInfo")
        sent = common.prune({k: v for k, v in body.items() if k in COMPANY_WRITABLE})
        record = copy.deepcopy(previous)
        if not common.is_sparse(body):
            if not sent.get("CompanyName"):
                raise faults.required_param("CompanyName", "CompanyInfo")
            for key in COMPANY_WRITABLE:
                record.pop(key, None)
        record.update(sent)
        common.stamp_update(ctx, record, previous)
        realm.company_info = record
        ctx.emit("CompanyInfo", str(record["Id"]), "Update")
        return common.entity_result(ctx, "CompanyInfo", record)
