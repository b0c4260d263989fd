"""In-memory state of the emulator: organizations, tokens and records, with Productive's validation
rules and the serialisation of records into JSON:API resource objects."""

from __future__ import annotations

import itertools
import re
import threading
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

from local.productive_emulator.errors import ApiError, invalid, not_found
from local.productive_emulator.money import (
    ZERO,
    InvoiceTotals,
    LineInput,
    Rounding,
    compute_invoice,
    money_str,
    plain_str,
    price_str,
    to_decimal,
)
from local.productive_emulator.resources import (
    CREDIT_NOTE,
    CUSTOM_FIELD_DATA_TYPES,
    INVOICE,
    INVOICE_TYPES,
    SPECS,
    Spec,
)

Record = dict[str, Any]
_CURRENCY = re.compile(r"^[A-Z]{3}$")


class Clock:
    """Wall clock and monotonic clock of the emulator, both shiftable with `advance()`."""

    def __init__(self) -> None:
        self._offset = 0.0
        self._lock = threading.Lock()

    def advance(self, seconds: float) -> None:
        with self._lock:
            self._offset += seconds

    def now(self) -> datetime:
        return datetime.now(UTC) + timedelta(seconds=self._offset)

    def today(self) -> date:
        return self.now().date()

    def monotonic(self) -> float:
        return time.monotonic() + self._offset


@dataclass
class Organization:
    id: str
    name: str
    tables: dict[str, dict[str, Record]] = field(default_factory=lambda: {name: {} for name in SPECS})


@dataclass(frozen=True)
class Token:
    value: str
    organization_id: str
    financial_access: bool = True


def _timestamp(moment: datetime) -> str:
    return moment.isoformat(timespec="milliseconds").replace("+00:00", "Z")


class Store:
    def __init__(self, clock: Clock, rounding: Rounding = "half_up") -> None:
        self.clock = clock
        self.rounding: Rounding = rounding  # how derived amounts are rounded to cents (money.py)
        self.lock = threading.RLock()
        self.organizations: dict[str, Organization] = {}
        self.tokens: dict[str, Token] = {}
        self.blobs: dict[str, bytes] = {}  # attachment id -> content
        self._ids = itertools.count(1001)
        self._org_ids = itertools.count(4201)

    # ---------------------------------------------------------------- organizations and tokens

    def add_organization(self, name: str, organization_id: str | None = None) -> Organization:
        with self.lock:
            org_id = organization_id or str(next(self._org_ids))
            if org_id in self.organizations:
                raise ValueError(f"organization {org_id} already exists")
            org = Organization(id=org_id, name=name)
            self.organizations[org_id] = org
            return org

    def add_token(self, organization_id: str, value: str, *, financial_access: bool = True) -> Token:
        with self.lock:
            self.org(organization_id)
            token = Token(value=value, organization_id=organization_id, financial_access=financial_access)
            self.tokens[value] = token
            return token

    def org(self, organization_id: str) -> Organization:
        try:
            return self.organizations[organization_id]
        except KeyError:
            raise KeyError(f"unknown organization {organization_id!r}") from None

    def org_of(self, resource_type: str, resource_id: str) -> Organization:
        """The organization holding a record (ids are unique across organizations)."""
        for org in self.organizations.values():
            if resource_id in org.tables[resource_type]:
                return org
        raise KeyError(f"unknown {resource_type} {resource_id!r}")

    # ---------------------------------------------------------------- records

    def get(self, org: Organization, resource_type: str, resource_id: str) -> Record:
        record = org.tables[resource_type].get(resource_id)
        if record is None:
            raise not_found(resource_type, resource_id)
        return record

    def all(self, org: Organization, resource_type: str) -> list[Record]:
        return sorted(org.tables[resource_type].values(), key=lambda r: int(r["id"]))

    def where(self, org: Organization, resource_type: str, key: str, value: str) -> list[Record]:
        return [r for r in self.all(org, resource_type) if r.get(key) == value]

    def create(self, org: Organization, resource_type: str, values: Mapping[str, Any]) -> Record:
        spec = SPECS[resource_type]
        with self.lock:
            record: Record = {"id": "", **dict.fromkeys(spec.fields)}
            for rel in spec.rels:
                if rel.key:
                    record[rel.key] = None
            self._defaults(org, spec, record)
            changes = self._coerce(org, spec, values, is_create=True)
            record.update(changes)
            self._check(org, spec, record, changes, is_create=True)
            now = _timestamp(self.clock.now())
            record["id"] = str(next(self._ids))
            record["created_at"] = now
            record["updated_at"] = now
            if record.get("exported"):
                record["exported_at"] = now
            org.tables[resource_type][record["id"]] = record
            self._touch_parent(org, spec, record)
            return record

    def update(self, org: Organization, resource_type: str, resource_id: str, values: Mapping[str, Any]) -> Record:
        spec = SPECS[resource_type]
        with self.lock:
            record = self.get(org, resource_type, resource_id)
            changes = self._coerce(org, spec, values, is_create=False)
            candidate = {**record, **changes}
            self._check(org, spec, candidate, changes, is_create=False)
            if "exported" in changes and changes["exported"] != record.get("exported"):
                candidate["exported_at"] = _timestamp(self.clock.now()) if changes["exported"] else None
            candidate["updated_at"] = _timestamp(self.clock.now())
            record.clear()
            record.update(candidate)
            self._touch_parent(org, spec, record)
            return record

    def delete(self, org: Organization, resource_type: str, resource_id: str) -> None:
        spec = SPECS[resource_type]
        with self.lock:
            record = self.get(org, resource_type, resource_id)
            del org.tables[resource_type][resource_id]
            self.blobs.pop(resource_id, None)
            self._touch_parent(org, spec, record)

    def _defaults(self, org: Organization, spec: Spec, record: Record) -> None:
        if spec.type == "invoices":
            record["invoice_type_id"] = INVOICE
            record["exported"] = False
            record["custom_fields"] = {}
            record["tag_list"] = []
            record["exported_at"] = None
        elif spec.type == "line_items":
            record["discount"] = ZERO
        elif spec.type == "companies":
            record["custom_fields"] = {}
            record["tag_list"] = []
        elif spec.type == "payments":
            record["paid_on"] = self.clock.today().isoformat()
        elif spec.type == "custom_fields":
            record["required"] = False
        elif spec.type == "deals":
            record["budget"] = False

    def _touch_parent(self, org: Organization, spec: Spec, record: Record) -> None:
        invoice_id = record.get("invoice_id") if spec.type in {"line_items", "payments"} else None
        if spec.type == "invoices":
            invoice_id = record["id"]
        invoice = org.tables["invoices"].get(invoice_id) if invoice_id else None
        if invoice is not None:
            invoice["last_activity_at"] = _timestamp(self.clock.now())

    # ---------------------------------------------------------------- validation

    def _coerce(self, org: Organization, spec: Spec, values: Mapping[str, Any], *, is_create: bool) -> Record:
        """Turns incoming attribute values (JSON or Python) into stored values, or raises 422."""
        errors: list[dict[str, Any]] = []
        out: Record = {}
        for name, raw in values.items():
            pointer = f"/data/attributes/{name}"
            rel = spec.rel_by_key(name)
            if rel is not None:
                if raw is None:
                    out[name] = None
                    continue
                ref = str(raw)
                if ref not in org.tables[rel.target]:
                    errors.append(invalid(f"{rel.name} with id {ref!r} does not exist", pointer))
                else:
                    out[name] = ref
                continue
            kind = spec.fields.get(name)
            if kind is None:
                continue  # read-only and unknown attributes are ignored, as Rails-style APIs do
            value, problem = self._coerce_value(org, spec, name, kind, raw)
            if problem:
                errors.append(invalid(problem, pointer))
            else:
                out[name] = value
        if errors:
            raise ApiError(422, errors)
        return out

    def _coerce_value(self, org: Organization, spec: Spec, name: str, kind: str, raw: Any) -> tuple[Any, str]:
        if raw is None:
            if kind in {"bool", "custom_fields", "tags"}:
                return None, f"{name} can't be null"
            return None, ""
        if kind == "str":
            if isinstance(raw, str | int) and not isinstance(raw, bool):
                return str(raw), ""
            return None, f"{name} must be a string"
        if kind == "currency":
            if isinstance(raw, str) and _CURRENCY.match(raw):
                return raw, ""
            return None, f"{name} must be an ISO 4217 currency code"
        if kind == "date":
            if isinstance(raw, date):
                return raw.isoformat(), ""
            if isinstance(raw, str) and len(raw) == 10:
                try:
                    return date.fromisoformat(raw).isoformat(), ""
                except ValueError:
                    pass
            return None, f"{name} must be a date (YYYY-MM-DD)"
        if kind in {"money", "price", "decimal", "percent"}:
            number = to_decimal(raw)
            if number is None:
                return None, f"{name} must be a number"
            if kind == "percent" and not ZERO <= number <= 100:
                return None, f"{name} must be between 0 and 100"
            return number, ""
        if kind == "bool":
            if isinstance(raw, bool):
                return raw, ""
            return None, f"{name} must be true or false"
        if kind == "int":
            if isinstance(raw, int) and not isinstance(raw, bool):
                return raw, ""
            if isinstance(raw, str) and raw.isdigit():
                return int(raw), ""
            return None, f"{name} must be an integer"
        if kind == "tags":
            if isinstance(raw, list) and all(isinstance(t, str) for t in raw):
                return list(raw), ""
            return None, f"{name} must be a list of strings"
        if kind == "custom_fields":
            return self._coerce_custom_fields(org, spec, raw)
        raise AssertionError(kind)

    def _coerce_custom_fields(self, org: Organization, spec: Spec, raw: Any) -> tuple[Any, str]:
        if not isinstance(raw, dict):
            return None, "custom_fields must be an object keyed by custom field id"
        result: dict[str, Any] = {}
        for key, value in raw.items():
            definition = org.tables["custom_fields"].get(str(key))
            if definition is None or definition["customizable_type"] != spec.type:
                return None, f"custom field {key!r} does not exist on {spec.type}"
            data_type = CUSTOM_FIELD_DATA_TYPES.get(definition["data_type_id"], "text")
            if value is None:
                result[str(key)] = None
                continue
            options = {r["id"] for r in self.where(org, "custom_field_options", "custom_field_id", str(key))}
            if data_type == "select":
                if str(value) not in options:
                    return None, f"custom field {key!r} takes an option id, {value!r} is not one"
                result[str(key)] = str(value)
            elif data_type == "multi_select":
                values = value if isinstance(value, list) else [value]
                if not all(str(v) in options for v in values):
                    return None, f"custom field {key!r} takes option ids"
                result[str(key)] = [str(v) for v in values]
            elif data_type == "number":
                number = to_decimal(value)
                if number is None:
                    return None, f"custom field {key!r} must be a number"
                result[str(key)] = plain_str(number)
            elif data_type == "date":
                try:
                    result[str(key)] = date.fromisoformat(str(value)).isoformat()
                except ValueError:
                    return None, f"custom field {key!r} must be a date"
            elif isinstance(value, str | int | Decimal) and not isinstance(value, bool):
                result[str(key)] = str(value)
            else:
                return None, f"custom field {key!r} must be a string"
        return result, ""

    def _check(self, org: Organization, spec: Spec, record: Record, changes: Record, *, is_create: bool) -> None:
        errors: list[dict[str, Any]] = []
        for name in spec.required:
            value = record.get(name)
            if value is None or value == "":
                pointer = (
                    f"/data/relationships/{rel.name}" if (rel := spec.rel_by_key(name)) else f"/data/attributes/{name}"
                )
                errors.append(invalid(f"{name} can't be blank", pointer))
        if errors:
            raise ApiError(422, errors)
        if spec.type == "invoices":
            errors.extend(self._check_invoice_type(org, record, is_create=is_create, changes=changes))
        elif spec.type == "line_items":
            invoice = org.tables["invoices"][record["invoice_id"]]
            rate = org.tables["tax_rates"][record["tax_rate_id"]]
            if invoice.get("subsidiary_id") and rate["subsidiary_id"] != invoice["subsidiary_id"]:
                errors.append(
                    invalid("tax rate belongs to another subsidiary than the invoice", "/data/relationships/tax_rate")
                )
            if not is_create and "invoice_id" in changes:
                errors.append(invalid("a line item cannot move to another invoice", "/data/relationships/invoice"))
        elif spec.type == "payments":
            if record["amount"] == ZERO:
                errors.append(invalid("amount must not be zero", "/data/attributes/amount"))
            if not is_create and "invoice_id" in changes:
                errors.append(invalid("a payment cannot move to another invoice", "/data/relationships/invoice"))
        elif spec.type == "custom_fields":
            if record["data_type_id"] not in CUSTOM_FIELD_DATA_TYPES:
                errors.append(invalid("data_type_id must be between 1 and 7", "/data/attributes/data_type_id"))
        elif spec.type == "deals":
            project = org.tables["projects"].get(record.get("project_id") or "")
            if project is not None and project.get("company_id") not in {None, record["company_id"]}:
                errors.append(invalid("the project belongs to another company", "/data/relationships/project"))
        elif spec.type == "invoice_attributions":
            errors.extend(self._check_attribution(org, record))
        elif spec.type == "custom_field_options":
            parent = org.tables["custom_fields"][record["custom_field_id"]]
            if CUSTOM_FIELD_DATA_TYPES.get(parent["data_type_id"]) not in {"select", "multi_select"}:
                errors.append(invalid("options belong to select fields only", "/data/relationships/custom_field"))
        if errors:
            raise ApiError(422, errors)

    def _check_invoice_type(
        self, org: Organization, record: Record, *, is_create: bool, changes: Record
    ) -> list[dict[str, Any]]:
        """A credit note credits one invoice of the same client and currency; an invoice credits nothing."""
        type_id = record.get("invoice_type_id")
        if type_id not in INVOICE_TYPES:
            return [
                invalid("invoice_type_id must be 1 (invoice) or 2 (credit note)", "/data/attributes/invoice_type_id")
            ]
        if not is_create and "invoice_type_id" in changes:
            return [invalid("invoice_type_id cannot change", "/data/attributes/invoice_type_id")]
        pointer = "/data/relationships/parent_invoice"
        parent_id = record.get("parent_invoice_id")
        if type_id == INVOICE:
            return [invalid("only a credit note has a parent invoice", pointer)] if parent_id else []
        if not parent_id:
            return [invalid("a credit note needs a parent invoice", pointer)]
        parent = org.tables["invoices"][parent_id]
        if parent.get("invoice_type_id") != INVOICE or parent_id == record.get("id"):
            return [invalid("a credit note's parent must be an invoice", pointer)]
        if parent.get("company_id") != record.get("company_id") or parent.get("currency") != record.get("currency"):
            return [invalid("a credit note has its parent invoice's company and currency", pointer)]
        return []

    @staticmethod
    def _check_attribution(org: Organization, record: Record) -> list[dict[str, Any]]:
        """An invoice is attributed to budgets (deals with `budget: true`) of its own client."""
        budget = org.tables["deals"][record["budget_id"]]
        invoice = org.tables["invoices"][record["invoice_id"]]
        pointer = "/data/relationships/budget"
        if not budget.get("budget"):
            return [invalid("an invoice is attributed to a budget, and this deal is not one", pointer)]
        if budget.get("company_id") != invoice.get("company_id"):
            return [invalid("the budget belongs to another company than the invoice", pointer)]
        return []

    def credited(self, org: Organization, invoice: Record) -> tuple[Decimal, Decimal]:
        """What an invoice's credit notes take off it: (net, with tax), as positive amounts."""
        net = with_tax = ZERO
        for note in self.where(org, "invoices", "parent_invoice_id", invoice["id"]):
            if note.get("invoice_type_id") == CREDIT_NOTE:
                totals, _ = self.invoice_totals(org, note)
                net -= totals.amount
                with_tax -= totals.amount_with_tax
        return net, with_tax

    # ---------------------------------------------------------------- derived values

    def invoice_totals(self, org: Organization, invoice: Record) -> tuple[InvoiceTotals, list[Record]]:
        lines = sorted(
            self.where(org, "line_items", "invoice_id", invoice["id"]),
            key=lambda r: (r.get("position") if r.get("position") is not None else 1 << 30, int(r["id"])),
        )
        inputs = []
        for line in lines:
            rate = org.tables["tax_rates"].get(line["tax_rate_id"] or "")
            components = (
                tuple(v for v in (rate["primary_component_value"], rate["secondary_component_value"]) if v)
                if rate
                else ()
            )
            inputs.append(
                LineInput(
                    quantity=line["quantity"],
                    unit_price=line["unit_price"],
                    discount=line.get("discount") or ZERO,
                    tax_components=components,
                )
            )
        payments = [
            (p["amount"], p.get("written_off_on") is not None)
            for p in self.where(org, "payments", "invoice_id", invoice["id"])
        ]
        return compute_invoice(inputs, invoice.get("discount"), payments, self.rounding), lines

    def computed(self, org: Organization, resource_type: str, record: Record) -> dict[str, Any]:
        """Read-only attributes of a record (wire form)."""
        extra: dict[str, Any] = {"created_at": record.get("created_at"), "updated_at": record.get("updated_at")}
        if resource_type == "invoices":
            totals, _ = self.invoice_totals(org, record)
            payments = self.where(org, "payments", "invoice_id", record["id"])
            credit_note = record.get("invoice_type_id") == CREDIT_NOTE
            credited, credited_with_tax = (ZERO, ZERO) if credit_note else self.credited(org, record)
            # A credit note owes nothing itself: what it credits comes off its parent's unpaid amount.
            unpaid = ZERO if credit_note else totals.amount_unpaid - credited_with_tax
            paid_on = None
            if totals.amount_with_tax > 0 and unpaid <= 0 and payments:
                paid_on = max(p["paid_on"] for p in payments)
            extra.update(
                invoice_type=INVOICE_TYPES.get(record.get("invoice_type_id") or INVOICE),
                amount=money_str(totals.amount),
                amount_tax=money_str(totals.amount_tax),
                amount_with_tax=money_str(totals.amount_with_tax),
                amount_paid=money_str(totals.amount_paid),
                amount_unpaid=money_str(unpaid),
                amount_credited=money_str(credited),
                amount_credited_with_tax=money_str(credited_with_tax),
                credited=credited_with_tax > 0,
                amount_written_off=money_str(totals.amount_written_off),
                paid_on=paid_on,
                exported_at=record.get("exported_at"),
                export_integration_type_id=None,
                last_activity_at=record.get("last_activity_at") or record.get("updated_at"),
            )
        elif resource_type == "line_items":
            invoice = org.tables["invoices"][record["invoice_id"]]
            totals, lines = self.invoice_totals(org, invoice)
            index = next(i for i, line in enumerate(lines) if line["id"] == record["id"])
            line_totals = totals.lines[index]
            rate = org.tables["tax_rates"].get(record["tax_rate_id"] or "")
            extra.update(
                amount=money_str(line_totals.amount),
                amount_tax=money_str(line_totals.amount_tax),
                amount_with_tax=money_str(line_totals.amount_with_tax),
                total=money_str(line_totals.amount),
                currency=invoice["currency"],
                tax_name=rate["name"] if rate else None,
                tax_value=plain_str(self.tax_value(rate)) if rate else None,
            )
        elif resource_type == "payments":
            extra["external_id"] = None
        elif resource_type == "custom_fields":
            extra["data_type"] = CUSTOM_FIELD_DATA_TYPES.get(record["data_type_id"])
            extra["archived_at"] = None
        elif resource_type in {
            "companies",
            "tax_rates",
            "service_types",
            "subsidiaries",
            "custom_field_options",
            "projects",
            "deals",
        }:
            extra["archived_at"] = None
        elif resource_type == "invoice_attributions":
            attributed = org.tables["invoices"].get(record.get("invoice_id") or "")
            extra["currency"] = attributed.get("currency") if attributed else None
        elif resource_type == "attachments":
            extra["size"] = len(self.blobs.get(record["id"], b""))
            extra["attachable_type"] = "Invoice"
        return extra

    @staticmethod
    def tax_value(rate: Record) -> Decimal:
        return (rate.get("primary_component_value") or ZERO) + (rate.get("secondary_component_value") or ZERO)

    def value_of(self, org: Organization, resource_type: str, record: Record, name: str) -> Any:
        """A record's value for filtering and sorting: stored, derived, or through its invoice."""
        if resource_type == "payments" and name == "date":
            return record.get("paid_on")
        if resource_type in {"line_items", "payments"} and name in {"company_id", "subsidiary_id"}:
            invoice = org.tables["invoices"].get(record.get("invoice_id") or "")
            return invoice.get(name) if invoice else None
        if resource_type == "invoices" and name in {"amount", "paid_on"}:
            computed = self.computed(org, resource_type, record)
            return to_decimal(computed[name]) if name == "amount" else computed[name]
        if resource_type == "line_items" and name in {"tax_name", "tax_value"}:
            rate = org.tables["tax_rates"].get(record.get("tax_rate_id") or "")
            if rate is None:
                return None
            return rate["name"] if name == "tax_name" else self.tax_value(rate)
        return record.get(name)

    # ---------------------------------------------------------------- serialisation

    def resource_object(
        self, org: Organization, resource_type: str, record: Record, fields: Iterable[str] | None = None
    ) -> dict[str, Any]:
        spec = SPECS[resource_type]
        wanted = set(fields) if fields is not None else None
        attributes: dict[str, Any] = {}
        for name, kind in spec.fields.items():
            attributes[name] = _wire(kind, record.get(name))
        attributes.update(self.computed(org, resource_type, record))
        relationships: dict[str, Any] = {}
        for rel in spec.rels:
            if rel.key:
                ref = record.get(rel.key)
                relationships[rel.name] = {"data": {"type": rel.target, "id": ref} if ref else None}
            elif rel.reverse_key:
                related = self.where(org, rel.target, rel.reverse_key, record["id"])
                relationships[rel.name] = {"data": [{"type": rel.target, "id": r["id"]} for r in related]}
        if wanted is not None:
            attributes = {k: v for k, v in attributes.items() if k in wanted}
            relationships = {k: v for k, v in relationships.items() if k in wanted}
        return {"id": record["id"], "type": resource_type, "attributes": attributes, "relationships": relationships}

    def related(self, org: Organization, resource_type: str, record: Record, rel_name: str) -> list[tuple[str, Record]]:
        rel = SPECS[resource_type].rel(rel_name)
        if rel is None:
            return []
        if rel.key:
            ref = record.get(rel.key)
            target = org.tables[rel.target].get(ref) if ref else None
            return [(rel.target, target)] if target is not None else []
        assert rel.reverse_key is not None
        return [(rel.target, r) for r in self.where(org, rel.target, rel.reverse_key, record["id"])]


def _wire(kind: str, value: Any) -> Any:
    if value is None:
        return None
    if kind == "money":
        return money_str(value)
    if kind == "price":
        return price_str(value)
    if kind in {"decimal", "percent"}:
        return plain_str(value)
    if kind == "custom_fields":
        return dict(value)
    if kind == "tags":
        return list(value)
    return value
