"""TimeActivity rules.

* ``NameOf`` Employee (``EmployeeRef`` required) or Vendor (``VendorRef`` required).
* The time: ``Hours``/``Minutes``, or ``StartTime`` and ``EndTime`` (the end after the start; Hours and
  Minutes are then computed, less ``BreakHours``/``BreakMinutes``). One of them is required.
* ``BillableStatus`` Billable, NotBillable (default) or HasBeenBilled; Billable needs CustomerRef.
* ``TxnDate`` defaults to today in the company's time zone.
"""

from __future__ import annotations

from datetime import datetime

from local.qbo_emulator import faults
from local.qbo_emulator.clock import parse_qbo_datetime
from local.qbo_emulator.entities import common
from local.qbo_emulator.entities.engine import Rules, Write
from local.qbo_emulator.entities.expenses import BILLABLE
from local.qbo_emulator.store import Record

WHO = {"Employee": "EmployeeRef", "Vendor": "VendorRef"}


def build(w: Write) -> Record:
    record = w.record
    name_of = record["NameOf"]
    if name_of not in WHO:
        raise faults.invalid_enum("NameOf", name_of)
    if WHO[name_of] not in record:
        raise faults.required_param(WHO[name_of], "TimeActivity")
    record.pop(WHO["Vendor" if name_of == "Employee" else "Employee"], None)
    status = record.get("BillableStatus") or "NotBillable"
    if status not in BILLABLE:
        raise faults.invalid_enum("BillableStatus", status)
    if status == "Billable" and "CustomerRef" not in record:
        raise common.business_fault("Billable time needs the customer to bill", "CustomerRef")
    _time(w, record)
    for field in ("HourlyRate", "CostRate"):
        if field in record:
            record[field] = common.decimal_field(record[field], field)
    record["TxnDate"] = common.txn_date(w.ctx, record).isoformat()
    return record


def _time(w: Write, record: Record) -> None:
    start, end = record.get("StartTime"), record.get("EndTime")
    if start is not None or end is not None:
        begins = _moment(w, start, "StartTime")
        ends = _moment(w, end, "EndTime")
        if ends <= begins:
            raise common.business_fault("EndTime must be after StartTime", "EndTime")
        minutes = int((ends - begins).total_seconds() // 60)
        minutes -= int(record.get("BreakHours") or 0) * 60 + int(record.get("BreakMinutes") or 0)
        if "Hours" not in record and "Minutes" not in record:
            record["Hours"], record["Minutes"] = divmod(max(minutes, 0), 60)
        return
    if record.get("Hours") is None and record.get("Minutes") is None:
        raise faults.required_param("Hours", "TimeActivity")
    for field in ("Hours", "Minutes"):
        value = common.decimal_field(record.get(field, 0), field)
        if value is None or value < 0 or value != value.to_integral_value():
            raise faults.invalid_enum(field, record.get(field))
        record[field] = int(value)


def _moment(w: Write, value: object, field: str) -> datetime:
    if value is None:
        raise faults.required_param(field, "TimeActivity")
    parsed = parse_qbo_datetime(str(value), w.realm.tz)
    if parsed is None:
        raise faults.validation("2170", "Invalid Date", f"{field} is not a date-time: {value}", field)
    return parsed


RULES = Rules(build=build)
