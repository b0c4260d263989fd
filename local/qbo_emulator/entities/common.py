"""Helpers shared by the entity write handlers: cleaning request bodies, SyncToken, MetaData, money."""

from __future__ import annotations

import copy
import re
from collections.abc import Iterable
from datetime import date
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Any

from local.qbo_emulator import faults
from local.qbo_emulator.api import ApiContext, ApiResult, json_result
from local.qbo_emulator.clock import qbo_time
from local.qbo_emulator.entities.base import SPECS, render, shown
from local.qbo_emulator.store import Record

CENT = Decimal("0.01")
# Present in every entity body; never stored from a request.
ENVELOPE = frozenset({"Id", "SyncToken", "sparse", "domain", "MetaData", "status"})


def money(value: Decimal) -> Decimal:
    return value.quantize(CENT, rounding=ROUND_HALF_UP)


def decimal_field(value: Any, name: str) -> Decimal | None:
    if value is None or value == "":
        return None
    if isinstance(value, bool):
        raise faults.validation("2170", "Invalid Number", f"{name} must be a number", name)
    try:
        result = Decimal(str(value))
    except (InvalidOperation, ValueError) as exc:
        raise faults.validation("2170", "Invalid Number", f"{name} must be a number: {value}", name) from exc
    if not result.is_finite():
        raise faults.validation("2170", "Invalid Number", f"{name} must be a finite number", name)
    return result


def prune(value: Any) -> Any:
    """Drop empty strings, nulls and then-empty objects (clients such as python-quickbooks send
    every attribute, unset ones as ``""``); QBO stores and returns only fields with values."""
    if isinstance(value, dict):
        out = {}
        for key, item in value.items():
            cleaned = prune(item)
            if cleaned is None or cleaned in ("", {}):
                continue
            out[key] = cleaned
        return out
    if isinstance(value, list):
        return [prune(item) for item in value]
    return value


def check_known(body: Record, known: Iterable[str], entity: str) -> None:
    allowed = set(known) | ENVELOPE
    for key in body:
        if key not in allowed:
            raise faults.request_has_invalid_or_unsupported(
                f"Property Name:{key} specified is unsupported or invalid for entity {entity}", element=key
            )


def ref_value(ref: Any) -> str | None:
    if isinstance(ref, dict):
        value = ref.get("value")
        if value is None or value == "":
            return None
        return str(value)
    if isinstance(ref, str | int) and not isinstance(ref, bool) and str(ref):
        return str(ref)
    return None


def require_ref(ctx: ApiContext, body: Record, field: str, entity: str, *, active: bool = True) -> Record:
    value = ref_value(body.get(field))
    if value is None:
        raise faults.required_param(field, entity)
    record = ctx.realm.get(entity, value)
    if record is None:
        raise invalid_reference(entity, value, field)
    if active and record.get("Active") is False:
        raise faults.inactive_reference(entity, value, element=field)
    return record


def stamp_new(ctx: ApiContext, record: Record, entity: str) -> Record:
    record["Id"] = ctx.realm.next_id(entity)
    record["SyncToken"] = "0"
    stamp = qbo_time(ctx.now, ctx.realm.tz)
    record["MetaData"] = {"CreateTime": stamp, "LastUpdatedTime": stamp}
    return record


def stamp_update(ctx: ApiContext, record: Record, previous: Record) -> Record:
    record["Id"] = previous["Id"]
    record["SyncToken"] = str(int(previous.get("SyncToken", "0")) + 1)
    record["MetaData"] = {
        "CreateTime": previous.get("MetaData", {}).get("CreateTime", qbo_time(ctx.now, ctx.realm.tz)),
        "LastUpdatedTime": qbo_time(ctx.now, ctx.realm.tz),
    }
    return record


def existing_for_write(ctx: ApiContext, body: Record, entity: str) -> Record:
    """The stored record a write (update/delete/void) refers to, after the SyncToken check."""
    object_id = ref_value({"value": body.get("Id")})
    if object_id is None:
        raise faults.required_param("Id", entity)
    record = ctx.realm.get(entity, object_id)
    if record is None:
        raise faults.object_not_found(entity, object_id, status=400)
    sent = body.get("SyncToken")
    if sent is None or sent == "":
        raise faults.required_param("SyncToken", entity)
    if str(sent) != str(record.get("SyncToken", "0")):
        raise faults.stale_object(entity, object_id, str(record.get("SyncToken", "0")), sent)
    return record


def merged_for_sparse(previous: Record, body: Record) -> Record:
    merged = copy.deepcopy(previous)
    for key, value in body.items():
        if key in ENVELOPE:
            continue
        merged[key] = copy.deepcopy(value)
    return merged


def is_sparse(body: Record) -> bool:
    value = body.get("sparse")
    return value is True or (isinstance(value, str) and value.lower() == "true")


def today(ctx: ApiContext) -> date:
    return ctx.realm.today(ctx.now)


def parse_date(value: Any, name: str) -> date:
    try:
        return date.fromisoformat(str(value)[:10])
    except ValueError as exc:
        raise faults.validation(
            "2170", "Invalid Date", f"{name} must be a date like 2026-07-01: {value}", name
        ) from exc


def txn_date(ctx: ApiContext, body: Record) -> date:
    """A transaction's TxnDate: the one sent, else today in the company's time zone."""
    return parse_date(body["TxnDate"], "TxnDate") if body.get("TxnDate") else today(ctx)


def clamped_date(year: int, month: int, day: int) -> date:
    """The day of that month, or its last day when the month is shorter (31 -> 30, 28 or 29)."""
    while True:
        try:
            return date(year, month, day)
        except ValueError:
            day -= 1


def too_long(field: str, limit: int) -> faults.QboFault:
    return faults.validation(
        "2050",
        "String length is either shorter or longer than supported by specification",
        f"{field} is longer than {limit} characters",
        field,
    )


UNDEPOSITED_FUNDS = "4"


def undeposited_funds(ctx: ApiContext) -> Record:
    """A reference to Undeposited Funds, where received money waits unless a transaction names an account."""
    account = ctx.realm.get("Account", UNDEPOSITED_FUNDS)
    if account is None:
        raise invalid_reference("Account", UNDEPOSITED_FUNDS, "DepositToAccountRef")
    return {"value": UNDEPOSITED_FUNDS, "name": account["Name"]}


def entity_result(ctx: ApiContext, entity: str, record: Record) -> ApiResult:
    spec = SPECS.get(entity)
    return json_result(ctx, {spec.wire if spec else entity: shown(spec, record, render(record), ctx.includes)})


def operation(ctx: ApiContext) -> str:
    return (ctx.param("operation") or "").strip().lower()


def business_fault(detail: str, element: str = "") -> faults.QboFault:
    return faults.business_validation(f"Business Validation Error: {detail}", element=element)


def invalid_reference(entity: str, object_id: str, where: str) -> faults.QboFault:
    """Intuit names the field without list positions: ``Invalid Reference Id : Line.SalesItemLineDetail.ItemRef``."""
    path = re.sub(r"\[\d+\]", "", where)
    return faults.QboFault(
        400,
        "2500",
        "Invalid Reference Id",
        f"Invalid Reference Id : {path} (no {entity} with Id {object_id})",
        element=path,
    )


# How the duplicate-name fault names each list.
LIST_WORDS = {
    "Item": "product or service",
    "PaymentMethod": "payment method",
    "TaxAgency": "tax agency",
    "CompanyCurrency": "currency",
}


def duplicate_list_name(entity: str, existing_id: str) -> faults.QboFault:
    what = LIST_WORDS.get(entity, entity.lower())
    return faults.QboFault(
        400,
        "6240",
        "Duplicate Name Exists Error",
        f"The name supplied already exists. : Another {what} is already using this name. Please use a different "
        f"name. Id={existing_id}",
    )


def check_name_chars(value: Any, name: str) -> None:
    if isinstance(value, str) and any(ch in value for ch in (":", "\t", "\n", "\r")):
        raise faults.validation(
            "6000",
            "A business validation error has occurred while processing your request",
            f"Business Validation Error: {name} can not contain a colon (:), tab or new line character.",
            name,
        )
