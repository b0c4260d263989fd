"""RecurringTransaction: a template of another transaction with a schedule, kept as QuickBooks shows it:
``{"Invoice": {..., "RecurringInfo": {...}}}``.

* ``POST /recurringtransaction`` carries exactly one template (Invoice, Bill, Purchase, CreditMemo,
  Deposit, Estimate, JournalEntry, RefundReceipt, SalesReceipt, Transfer, VendorCredit, PurchaseOrder);
  its Id and SyncToken (inside the template) make it an update; ``operation=delete`` deletes it.
* The template is checked like the transaction itself (required fields, references, totals) but is not
  numbered and moves no balance.
* ``RecurringInfo``: ``Name`` (required, unique among recurring transactions: 6240), ``RecurType``
  Automated (default), Reminded or UnScheduled, ``Active``; a scheduled one needs ``ScheduleInfo`` with
  ``IntervalType`` Daily, Weekly, Monthly or Yearly, ``NumInterval`` (>= 1, default 1) and ``StartDate``
  (default today). ``NextDate`` is computed.
* Query: ``select * from RecurringTransaction [where Type = 'Bill']``.
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from datetime import date, timedelta

from local.qbo_emulator import faults
from local.qbo_emulator.api import ApiContext, ApiResult, json_body, json_result
from local.qbo_emulator.entities import common, engine
from local.qbo_emulator.entities.base import SPECS, render
from local.qbo_emulator.store import Record

TEMPLATES = (
    "Invoice",
    "Bill",
    "Purchase",
    "CreditMemo",
    "Deposit",
    "Estimate",
    "JournalEntry",
    "RefundReceipt",
    "SalesReceipt",
    "Transfer",
    "VendorCredit",
    "PurchaseOrder",
)
RECUR_TYPES = ("Automated", "Reminded", "UnScheduled")
INTERVALS = ("Daily", "Weekly", "Monthly", "Yearly")
ENTITY = "RecurringTransaction"


def make_writer(rules_for: Callable[[str], engine.Rules]) -> Callable[[ApiContext], ApiResult]:
    def write(ctx: ApiContext) -> ApiResult:
        body = json_body(ctx)
        operation = common.operation(ctx)
        kinds = [key for key in body if key in TEMPLATES]
        if len(kinds) != 1 or not isinstance(body[kinds[0]], dict):
            raise faults.request_has_invalid_or_unsupported(
                f"A RecurringTransaction carries exactly one of {', '.join(TEMPLATES)}"
            )
        kind = kinds[0]
        inner: Record = body[kind]
        realm = ctx.realm
        with realm.lock:
            if operation == "delete":
                gone = _existing(ctx, inner)
                realm.remove(ENTITY, str(gone["_Id"]), ctx.now)
                ctx.emit(ENTITY, str(gone["_Id"]), "Delete")
                return json_result(ctx, {ENTITY: {kind: {"Id": gone["_Id"], "status": "Deleted", "domain": "QBO"}}})
            if operation not in ("", "create", "update"):
                raise faults.unsupported_operation(f"Operation {operation} is not supported for {ENTITY}.")
            previous: Record | None = None
            if inner.get("Id") not in (None, "") and operation != "create":
                previous = _existing(ctx, inner)
                if previous["_Type"] != kind:
                    raise common.business_fault(f"Recurring transaction {inner['Id']} is a {previous['_Type']}")
            record = _build(ctx, kind, inner, previous, rules_for(kind))
            realm.records.setdefault(ENTITY, {})[record["_Id"]] = record
            ctx.emit(ENTITY, record["_Id"], "Update" if previous else "Create")
            return json_result(ctx, {ENTITY: render(record)})

    return write


def _existing(ctx: ApiContext, inner: Record) -> Record:
    """The stored recurring transaction a template's Id names, after its SyncToken check."""
    object_id = common.ref_value({"value": inner.get("Id")})
    if object_id is None:
        raise faults.required_param("Id", ENTITY)
    record = ctx.realm.get(ENTITY, object_id)
    if record is None:
        raise faults.object_not_found(ENTITY, object_id, status=400)
    current = str(record[record["_Type"]].get("SyncToken", "0"))
    sent = inner.get("SyncToken")
    if sent is None or sent == "":
        raise faults.required_param("SyncToken", ENTITY)
    if str(sent) != current:
        raise faults.stale_object(ENTITY, object_id, current, sent)
    return record


def _build(ctx: ApiContext, kind: str, inner: Record, previous: Record | None, rules: engine.Rules) -> Record:
    info = inner.get("RecurringInfo")
    if not isinstance(info, dict):
        raise faults.required_param(f"{kind}.RecurringInfo", ENTITY)
    template_source = {k: v for k, v in inner.items() if k not in ("RecurringInfo", "RecurDataRef")}
    previous_template: Record | None = previous[kind] if previous is not None else None
    if previous_template is not None and common.is_sparse(inner):
        template_source = common.merged_for_sparse(previous_template, template_source)
    template = engine.build(ctx, SPECS[kind], rules, template_source, previous_template, template=True)
    template["RecurringInfo"] = _recurring_info(ctx, info, previous)
    template = {k: v for k, v in template.items() if not k.startswith("_")}
    if previous_template is None:
        common.stamp_new(ctx, template, ENTITY)
    else:
        common.stamp_update(ctx, template, previous_template)
    return {
        kind: template,
        "_Id": str(template["Id"]),
        "_Type": kind,
        "_Name": template["RecurringInfo"]["Name"],
        "_Created": template["MetaData"]["CreateTime"],
        "_Updated": template["MetaData"]["LastUpdatedTime"],
    }


def _recurring_info(ctx: ApiContext, sent: Record, previous: Record | None) -> Record:
    info: Record = common.prune(copy.deepcopy(sent))
    name = str(info.get("Name") or "").strip()
    if not name:
        raise faults.required_param("RecurringInfo.Name", ENTITY)
    own = previous["_Id"] if previous is not None else None
    for other in ctx.realm.all(ENTITY):
        if other["_Id"] != own and str(other.get("_Name", "")).casefold() == name.casefold():
            raise common.duplicate_list_name(ENTITY, str(other["_Id"]))
    recur_type = info.get("RecurType") or "Automated"
    if recur_type not in RECUR_TYPES:
        raise faults.invalid_enum("RecurringInfo.RecurType", recur_type)
    info["Name"], info["RecurType"] = name, recur_type
    info["Active"] = info.get("Active", True) is not False
    if recur_type == "UnScheduled":
        info.pop("ScheduleInfo", None)
        return info
    schedule = info.get("ScheduleInfo")
    if not isinstance(schedule, dict):
        raise faults.required_param("RecurringInfo.ScheduleInfo", ENTITY)
    interval = schedule.get("IntervalType")
    if interval not in INTERVALS:
        raise faults.invalid_enum("RecurringInfo.ScheduleInfo.IntervalType", interval)
    every = int(schedule.get("NumInterval") or 1)
    if every < 1:
        raise faults.invalid_enum("RecurringInfo.ScheduleInfo.NumInterval", every)
    schedule["NumInterval"] = every
    start = common.parse_date(schedule["StartDate"], "StartDate") if schedule.get("StartDate") else common.today(ctx)
    schedule["StartDate"] = start.isoformat()
    if schedule.get("EndDate"):
        end = common.parse_date(schedule["EndDate"], "EndDate")
        if end < start:
            raise common.business_fault("EndDate must not be before StartDate", "RecurringInfo.ScheduleInfo.EndDate")
        schedule["EndDate"] = end.isoformat()
    schedule["NextDate"] = _next_date(start, interval, every, common.today(ctx)).isoformat()
    return info


def _next_date(start: date, interval: str, every: int, today: date) -> date:
    """The first scheduled date on or after today (the start itself if it is still ahead)."""
    when = start
    step = 0
    while when < today:
        step += every
        if interval == "Daily":
            when = start + timedelta(days=step)
        elif interval == "Weekly":
            when = start + timedelta(weeks=step)
        else:
            months = step * (12 if interval == "Yearly" else 1)
            year, month = divmod(start.month - 1 + months, 12)
            when = common.clamped_date(start.year + year, month + 1, start.day)
    return when
