"""Transaction numbers (DocNumber).

* A DocNumber sent is kept: at most 21 characters (2050), and, for the entities that check it, unused by
  the entity's other records unless ``include=allowduplicatedocnum`` (6140).
* Left out on create, sales forms are numbered last+1 (the entity's most recent numbered record, its
  trailing digits incremented, skipping numbers in use; "1001" for the first) when
  Preferences.SalesFormsPrefs.CustomTxnNumbers is off, and left null when it is on.
* Left out on update, the stored number stays.
"""

from __future__ import annotations

import re

from local.qbo_emulator import faults
from local.qbo_emulator.api import ApiContext
from local.qbo_emulator.entities.base import EntitySpec
from local.qbo_emulator.store import Record

MAX_LENGTH = 21
FIRST = "1001"
_TRAILING_DIGITS = re.compile(r"^(.*?)(\d+)$")


def increment(doc_number: str) -> str:
    match = _TRAILING_DIGITS.match(doc_number)
    if not match:
        return doc_number + "1"
    prefix, digits = match.groups()
    return prefix + str(int(digits) + 1).zfill(len(digits))


def number(ctx: ApiContext, spec: EntitySpec, record: Record, source: Record, previous: Record | None) -> None:
    """Set ``record["DocNumber"]`` (or leave it out) and ``record["_seq"]`` (creation order)."""
    realm = ctx.realm
    own = str(previous["Id"]) if previous is not None else None
    others = [r for r in realm.all(spec.name) if str(r["Id"]) != own]
    record["_seq"] = previous.get("_seq", 0) if previous is not None else _next_seq(others)
    sent = source.get("DocNumber")
    if sent not in (None, ""):
        value = str(sent)
        if len(value) > MAX_LENGTH:
            raise faults.validation(
                "2050",
                "String length is either shorter or longer than supported by specification",
                f"String length specified does not match the supported length. Min:0 Max:{MAX_LENGTH} supported. "
                f"Supplied length:{len(value)}",
                "DocNumber",
            )
        if spec.unique_doc_number and not ctx.includes("allowduplicatedocnum"):
            for other in others:
                if other.get("DocNumber") == value:
                    raise faults.duplicate_doc_number(value, spec.name, str(other["Id"]))
        record["DocNumber"] = value
        return
    record.pop("DocNumber", None)
    if previous is not None and previous.get("DocNumber"):
        record["DocNumber"] = str(previous["DocNumber"])
        return
    if not spec.auto_number or realm.preferences.get("SalesFormsPrefs", {}).get("CustomTxnNumbers"):
        return
    numbered = [r for r in others if r.get("DocNumber")]
    if not numbered:
        candidate = FIRST
    else:
        last = max(numbered, key=lambda r: (r.get("_seq", 0), int(r["Id"]) if str(r["Id"]).isdigit() else 0))
        candidate = increment(str(last["DocNumber"]))
    used = {r.get("DocNumber") for r in others}
    while candidate in used:
        candidate = increment(candidate)
    record["DocNumber"] = candidate


def _next_seq(others: list[Record]) -> int:
    return max([int(r.get("_seq", 0)) for r in others] + [0]) + 1
