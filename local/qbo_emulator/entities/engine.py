"""The one write handler every entity goes through: create, full and sparse update, delete, void.

It does what the table (``base.SPECS``) describes, in this order: the operation must exist for the entity;
an update names the stored record and its current ``SyncToken`` (5010 otherwise); a sparse update merges
the body into the stored record; unknown properties are refused (2010); read-only fields sent are
ignored; required fields must be there (2020); every reference must name an existing (2500) and, where
QuickBooks insists, active (610) record, and is stored with the target's name; class and department
references need the preferences that switch them on; parent/child lists get their FullyQualifiedName;
unique names stay unique (6240); then the entity's own rules (``Rules``) compute the rest; DocNumbers are
numbered and checked (6140); the record is stamped (Id, SyncToken, MetaData), stored, announced
(webhooks, CDC), and the ledger settles every balance the change moves.
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from local.qbo_emulator import faults
from local.qbo_emulator.api import ApiContext, ApiResult, Handler, json_body, json_result
from local.qbo_emulator.entities import common, ledger, numbering
from local.qbo_emulator.entities.base import SPECS, EntitySpec, Ref
from local.qbo_emulator.store import Realm, Record

ZERO = Decimal("0")


@dataclass
class Write:
    """One create or update on its way to the store."""

    ctx: ApiContext
    spec: EntitySpec
    source: Record  # the body; for a sparse update, merged into the stored record
    previous: Record | None  # the stored record an update replaces
    record: Record  # the cleaned body with references resolved: what the rules complete and the store keeps
    targets: dict[str, Record] = field(default_factory=dict)  # top-level reference field -> record it names

    @property
    def realm(self) -> Realm:
        return self.ctx.realm


@dataclass(frozen=True)
class Rules:
    """An entity's own rules, beyond the table."""

    # complete the record (computed fields, checks of its own); returns what is stored
    build: Callable[[Write], Record] | None = None
    # the source of a sparse update, when merging the body into the stored record is not enough
    sparse_source: Callable[[Record, Record], Record] | None = None
    # refuse a change of a stored record (e.g. a deposited payment): the stored record, the operation
    # (update, delete, void) and, for an update, the record it would become
    check_change: Callable[[ApiContext, Record, str, Record | None], None] | None = None


PLAIN = Rules()


def writer(spec: EntitySpec, rules: Rules = PLAIN) -> Handler:
    """The ``POST /{entity}`` handler of one entity."""

    def write(ctx: ApiContext) -> ApiResult:
        body = json_body(ctx)
        op = common.operation(ctx)
        with ctx.realm.lock:
            if op == "delete":
                return _delete(ctx, spec, rules, body)
            if op == "void" or (op == "update" and ctx.includes("void")):
                return _void(ctx, spec, rules, body)
            if op not in ("", "create", "update"):
                raise faults.unsupported_operation(f"Operation {op} is not supported for {spec.name}.")
            if body.get("Id") not in (None, "") and op != "create":
                record = update(ctx, spec, rules, body)
            else:
                record = create(ctx, spec, rules, body)
            return common.entity_result(ctx, spec.name, record)

    return write


def create(ctx: ApiContext, spec: EntitySpec, rules: Rules, body: Record) -> Record:
    if not spec.allows("create"):
        raise faults.unsupported_operation(f"Operation create is not supported for {spec.name}.")
    record = build(ctx, spec, rules, body, None)
    common.stamp_new(ctx, record, spec.name)
    return _store(ctx, spec, None, record, "Create")


def update(ctx: ApiContext, spec: EntitySpec, rules: Rules, body: Record) -> Record:
    if not spec.allows("update"):
        raise faults.unsupported_operation(f"Operation update is not supported for {spec.name}.")
    previous = common.existing_for_write(ctx, body, spec.name)
    _check_change(ctx, spec, rules, previous, "update", None)
    if common.is_sparse(body):
        source = rules.sparse_source(previous, body) if rules.sparse_source else sparse_source(spec, previous, body)
    else:
        source = body
    record = build(ctx, spec, rules, source, previous)
    _check_change(ctx, spec, rules, previous, "update", record)
    common.stamp_update(ctx, record, previous)
    if spec.hierarchy is not None and record.get("FullyQualifiedName") != previous.get("FullyQualifiedName"):
        rename_children(ctx, spec.name, record, "Name")
    return _store(ctx, spec, previous, record, "Update")


def rename_children(ctx: ApiContext, entity: str, parent: Record, name_field: str) -> None:
    """A renamed parent's FullyQualifiedName flows down to its children (Parent:Child:Grandchild)."""
    parent_id = str(parent["Id"])
    for child in ctx.realm.all(entity):
        if common.ref_value(child.get("ParentRef")) != parent_id:
            continue
        wanted = f"{parent['FullyQualifiedName']}:{child[name_field]}"
        if child.get("FullyQualifiedName") != wanted:
            child["FullyQualifiedName"] = wanted
            child["ParentRef"] = {"value": parent_id, "name": parent["FullyQualifiedName"]}
            rename_children(ctx, entity, child, name_field)


def sparse_source(spec: EntitySpec, previous: Record, body: Record) -> Record:
    """The stored record with the body's fields over it; computed fields are left to be computed again."""
    merged = common.merged_for_sparse(previous, body)
    return {k: v for k, v in merged.items() if not k.startswith("_") and (k in body or k not in spec.read_only)}


def _store(ctx: ApiContext, spec: EntitySpec, previous: Record | None, record: Record, operation: str) -> Record:
    ctx.realm.put(spec.name, record)
    ctx.emit(spec.name, record["Id"], operation)
    ledger.settle(ctx, spec, previous, record)
    return record


def _check_change(
    ctx: ApiContext, spec: EntitySpec, rules: Rules, previous: Record, operation: str, record: Record | None = None
) -> None:
    """Before an update is built (``record`` None: only the voided check) and after; before a delete or void."""
    if record is None and previous.get("_voided") and operation != "delete":
        raise common.business_fault("A voided transaction cannot be edited")
    if rules.check_change is not None and (record is not None or operation != "update"):
        rules.check_change(ctx, previous, operation, record)


def _delete(ctx: ApiContext, spec: EntitySpec, rules: Rules, body: Record) -> ApiResult:
    if not spec.allows("delete"):
        hint = "; make it inactive (Active=false) instead" if spec.name_list else ""
        raise faults.unsupported_operation(f"Operation delete is not supported for {spec.name}{hint}.")
    previous = common.existing_for_write(ctx, body, spec.name)
    _check_change(ctx, spec, rules, previous, "delete")
    ledger.check_unapplied(ctx, spec, previous, "delete")
    object_id = str(previous["Id"])
    ctx.realm.remove(spec.name, object_id, ctx.now)
    ctx.emit(spec.name, object_id, "Delete")
    ledger.settle(ctx, spec, previous, None)
    return json_result(ctx, {spec.wire: {"Id": object_id, "status": "Deleted", "domain": "QBO"}})


def _void(ctx: ApiContext, spec: EntitySpec, rules: Rules, body: Record) -> ApiResult:
    if not spec.allows("void"):
        raise faults.unsupported_operation(f"Operation void is not supported for {spec.name}.")
    previous = common.existing_for_write(ctx, body, spec.name)
    _check_change(ctx, spec, rules, previous, "void")
    ledger.check_unapplied(ctx, spec, previous, "void")
    record = voided(spec, previous)
    common.stamp_update(ctx, record, previous)
    _store(ctx, spec, previous, record, "Void")
    return common.entity_result(ctx, spec.name, record)


def voided(spec: EntitySpec, previous: Record) -> Record:
    """QuickBooks keeps a voided transaction with every amount zeroed and "Voided" before its note;
    a payment's lines are removed (the documents it paid reopen)."""
    record = copy.deepcopy(previous)
    if spec.applies:
        record["Line"] = []
    else:
        for line in record.get("Line", []):
            line["Amount"] = ZERO
            for detail_name in ("SalesItemLineDetail", "ItemBasedExpenseLineDetail"):
                detail = line.get(detail_name)
                if isinstance(detail, dict):
                    detail.pop("Qty", None)
                    detail["UnitPrice"] = ZERO
    tax = record.get("TxnTaxDetail")
    if isinstance(tax, dict):
        tax["TotalTax"] = ZERO
        for tax_line in tax.get("TaxLine", []):
            tax_line["Amount"] = ZERO
            tax_line.get("TaxLineDetail", {})["NetAmountTaxable"] = ZERO
    for key in ("TotalAmt", "Balance", "HomeTotalAmt", "HomeBalance", "UnappliedAmt", "RemainingCredit", "Amount"):
        if key in record:
            record[key] = ZERO
    note = record.get("PrivateNote")
    record["PrivateNote"] = f"Voided - {note}" if note else "Voided"
    record["_voided"] = True
    return record


# --- building a record ------------------------------------------------------------------------------


def build(
    ctx: ApiContext,
    spec: EntitySpec,
    rules: Rules,
    source: Record,
    previous: Record | None,
    *,
    template: bool = False,
) -> Record:
    """Validate a body against the table, run the entity's rules, number it. Does not store.
    A ``template`` (a recurring transaction's) is not numbered and owes nothing."""
    if spec.fields:
        common.check_known(source, spec.fields, spec.name)
    data: Record = common.prune(
        {
            k: copy.deepcopy(v)
            for k, v in source.items()
            if k not in common.ENVELOPE and k not in spec.read_only and not k.startswith("_")
        }
    )
    for name in spec.required:
        if data.get(name) in (None, "", {}, []):
            raise faults.required_param(name, spec.name)
    targets = resolve_refs(ctx, spec, data)
    check_tracking(ctx, spec, data)
    if spec.hierarchy is not None:
        _place_in_hierarchy(ctx.realm, spec, data, previous, targets)
    for key, value in spec.defaults.items():
        data.setdefault(key, copy.deepcopy(value))
    if spec.unique is not None:
        check_unique(ctx, spec, data, previous)
    write = Write(ctx, spec, source, previous, data, targets)
    record = rules.build(write) if rules.build is not None else data
    if template:
        return record
    if spec.auto_number or spec.unique_doc_number:
        numbering.number(ctx, spec, record, source, previous)
    if spec.open_amount is not None:
        ledger.set_open_amount(ctx, spec, record, previous)
    if previous is not None:
        for key, value in previous.items():
            if key.startswith("_") and key not in record:
                record[key] = value
    return record


def check_unique(ctx: ApiContext, spec: EntitySpec, data: Record, previous: Record | None) -> None:
    assert spec.unique is not None
    value = data.get(spec.unique)
    if not isinstance(value, str) or not value.strip():
        return
    wanted = value.strip().casefold()
    own = str(previous["Id"]) if previous is not None else None
    for other in ctx.realm.all(spec.name):
        if str(other["Id"]) != own and str(other.get(spec.unique, "")).strip().casefold() == wanted:
            raise common.duplicate_list_name(spec.name, str(other["Id"]))


def is_descendant(realm: Realm, entity: str, candidate: str, ancestor: str) -> bool:
    """Whether ``candidate`` is ``ancestor`` or below it (following ParentRef upwards)."""
    seen: set[str] = set()
    current: str | None = candidate
    while current is not None and current not in seen:
        if current == ancestor:
            return True
        seen.add(current)
        record = realm.get(entity, current)
        current = common.ref_value(record.get("ParentRef")) if record else None
    return False


def _place_in_hierarchy(
    realm: Realm, spec: EntitySpec, data: Record, previous: Record | None, targets: dict[str, Record]
) -> None:
    """Parent/child lists: the child flag needs a ParentRef; FullyQualifiedName is Parent:Child."""
    assert spec.hierarchy is not None
    flag = spec.hierarchy.flag
    name = str(data.get("Name", "")).strip()
    parent = targets.get("ParentRef")
    if data.get(flag) is True or (parent is not None and flag not in data):
        if parent is None:
            raise faults.required_param("ParentRef", spec.name)
        if previous is not None and is_descendant(realm, spec.name, str(parent["Id"]), str(previous["Id"])):
            raise common.business_fault(f"A {spec.name} cannot be placed under itself or its children", "ParentRef")
        parent_name = str(parent.get("FullyQualifiedName") or parent.get("Name"))
        if parent_name.count(":") + 1 > spec.hierarchy.max_depth:
            raise common.business_fault(
                f"{spec.name} lists go at most {spec.hierarchy.max_depth + 1} levels deep", "ParentRef"
            )
        data[flag] = True
        data["ParentRef"] = {"value": str(parent["Id"]), "name": parent_name}
        data["FullyQualifiedName"] = f"{parent_name}:{name}"
    else:
        data[flag] = False
        data.pop("ParentRef", None)
        data["FullyQualifiedName"] = name


# --- references -------------------------------------------------------------------------------------


def occurrences(data: Record, path: str) -> Iterator[tuple[Record, str, str]]:
    """Every (containing dict, key, indexed element path) for a dotted path; lists are walked."""
    parts = path.split(".")

    def walk(node: Any, index: int, where: str) -> Iterator[tuple[Record, str, str]]:
        if not isinstance(node, dict):
            return
        key = parts[index]
        here = f"{where}.{key}" if where else key
        if index == len(parts) - 1:
            if key in node:
                yield node, key, here
            return
        child = node.get(key)
        if isinstance(child, list):
            for position, element in enumerate(child):
                yield from walk(element, index + 1, f"{here}[{position}]")
        else:
            yield from walk(child, index + 1, here)

    yield from walk(data, 0, "")


def resolve_refs(ctx: ApiContext, spec: EntitySpec, data: Record) -> dict[str, Record]:
    """Check every reference the spec lists and store it as ``{"value": id, "name": label}``; returns the
    top-level references' targets."""
    targets: dict[str, Record] = {}
    for ref in spec.refs:
        found = False
        for holder, key, where in list(occurrences(data, ref.path)):
            value = common.ref_value(holder[key])
            if value is None:
                holder.pop(key, None)
                continue
            found = True
            target, target_entity = _resolve(ctx, ref, holder, key, value, where)
            holder[key] = _stored_ref(ref, holder[key], target, target_entity)
            if "." not in ref.path:
                targets[ref.path] = target
        if ref.required and not found:
            raise faults.required_param(ref.path, spec.name)
    return targets


def _resolve(ctx: ApiContext, ref: Ref, holder: Record, key: str, value: str, where: str) -> tuple[Record, str]:
    sent = holder[key]
    wanted_type = sent.get("type") if isinstance(sent, dict) else None
    wanted_type = wanted_type or holder.get("Type")  # JournalEntry lines: Entity.Type beside Entity.EntityRef
    candidates = [t for t in ref.targets if t == wanted_type] or list(ref.targets)
    for entity in candidates:
        target = ctx.realm.get(entity, value)
        if target is None:
            continue
        if ref.active and target.get("Active") is False:
            raise faults.inactive_reference(entity, value, element=where)
        return target, entity
    raise common.invalid_reference(candidates[0], value, where)


def _stored_ref(ref: Ref, sent: Any, target: Record, entity: str) -> Record:
    out: Record = {"value": str(target["Id"])}
    if ref.named:
        spec = SPECS.get(entity)
        label = target.get(spec.label if spec else "Name") or target.get("DisplayName") or target.get("Name")
        if label is not None:
            out["name"] = str(label)
    if isinstance(sent, dict) and sent.get("type"):
        out["type"] = sent["type"]
    return out


# --- class and department tracking -------------------------------------------------------------------


def check_tracking(ctx: ApiContext, spec: EntitySpec, data: Record) -> None:
    """Transactions may carry ClassRef only where the company tracks classes (per transaction or per
    line) and DepartmentRef only where it tracks departments. QuickBooks' own answer is undocumented: the
    emulator refuses with a business validation fault (6000), see the README."""
    if spec.id_space != "txn":
        return
    prefs = ctx.realm.preferences.get("AccountingInfoPrefs", {})
    if "ClassRef" in data and not prefs.get("ClassTrackingPerTxn"):
        raise common.business_fault(
            "Class tracking per transaction is turned off in this company "
            "(Preferences.AccountingInfoPrefs.ClassTrackingPerTxn)",
            "ClassRef",
        )
    for index, line in enumerate(data.get("Line") or []):
        if not isinstance(line, dict):
            continue
        for detail_name, detail in line.items():
            if not isinstance(detail, dict):
                continue
            if "ClassRef" in detail and not prefs.get("ClassTrackingPerTxnLine"):
                raise common.business_fault(
                    "Class tracking per line is turned off in this company "
                    "(Preferences.AccountingInfoPrefs.ClassTrackingPerTxnLine)",
                    f"Line[{index}].{detail_name}.ClassRef",
                )
            if "DepartmentRef" in detail and not prefs.get("TrackDepartments"):
                raise _department_fault(f"Line[{index}].{detail_name}.DepartmentRef")
    if "DepartmentRef" in data and not prefs.get("TrackDepartments"):
        raise _department_fault("DepartmentRef")


def _department_fault(element: str) -> faults.QboFault:
    return common.business_fault(
        "Location (department) tracking is turned off in this company "
        "(Preferences.AccountingInfoPrefs.TrackDepartments)",
        element,
    )
