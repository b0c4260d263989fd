"""What each emulated resource looks like: writable attributes and their kinds, relationships,
required fields, filters, sort keys and allowed methods. Names follow the Productive API reference."""

from __future__ import annotations

from dataclasses import dataclass, field

# Attribute kinds: str, currency, date, money, price, decimal, percent, bool, int, custom_fields, tags.


@dataclass(frozen=True)
class Rel:
    name: str
    target: str
    key: str | None = None  # foreign key stored on this record (to-one)
    reverse_key: str | None = None  # key on the target pointing back here (to-many, read-only)


@dataclass(frozen=True)
class Filter:
    kind: str  # id, str, date, datetime, decimal, bool, int, export_status, custom_fields
    source: str | None = None  # attribute name when it differs from the filter name
    fixed_op: str | None = None  # filters such as paid_after that imply an operator


@dataclass(frozen=True)
class Spec:
    type: str
    fields: dict[str, str]
    rels: tuple[Rel, ...] = ()
    required: tuple[str, ...] = ()
    filters: dict[str, Filter] = field(default_factory=dict)
    sorts: tuple[str, ...] = ("id",)
    methods: frozenset[str] = frozenset({"list", "get", "create", "update"})
    financial: bool = False

    def rel(self, name: str) -> Rel | None:
        for rel in self.rels:
            if rel.name == name:
                return rel
        return None

    def rel_by_key(self, key: str) -> Rel | None:
        for rel in self.rels:
            if rel.key == key:
                return rel
        return None


ID = Filter("id")
ALL_METHODS = frozenset({"list", "get", "create", "update", "delete"})

SPECS: dict[str, Spec] = {
    spec.type: spec
    for spec in (
        Spec(
            type="invoices",
            fields={
                "number": "str",
                "subject": "str",
                "note": "str",
                "purchase_order_number": "str",
                "invoiced_on": "date",
                "pay_on": "date",
                "delivery_on": "date",
                "sent_on": "date",
                "payment_terms_days": "int",
                "discount": "percent",
                "currency": "currency",
                "custom_fields": "custom_fields",
                "tag_list": "tags",
                "exported": "bool",
                "export_id": "str",
                "export_invoice_url": "str",
                "invoice_type_id": "int",
            },
            rels=(
                Rel("company", "companies", "company_id"),
                Rel("subsidiary", "subsidiaries", "subsidiary_id"),
                Rel("bill_to", "contact_entries", "bill_to_id"),
                Rel("bill_from", "contact_entries", "bill_from_id"),
                Rel("parent_invoice", "invoices", "parent_invoice_id"),
                Rel("attachment", "attachments", "attachment_id"),
                Rel("invoice_attributions", "invoice_attributions", reverse_key="invoice_id"),
            ),
            required=("company_id", "currency", "invoiced_on"),
            filters={
                "id": ID,
                "company_id": ID,
                "subsidiary_id": ID,
                "parent_invoice_id": ID,
                "invoice_type_id": Filter("int"),
                "number": Filter("str"),
                "purchase_order_number": Filter("str"),
                "currency": Filter("str"),
                "invoiced_on": Filter("date"),
                "pay_on": Filter("date"),
                "paid_on": Filter("date"),
                "sent_on": Filter("date"),
                "created_at": Filter("datetime"),
                "last_activity_at": Filter("datetime"),
                "export_status": Filter("export_status"),
                "custom_fields": Filter("custom_fields"),
            },
            sorts=("id", "invoiced_on", "pay_on", "number", "sent_on", "amount", "created_at"),
            financial=True,
        ),
        Spec(
            type="line_items",
            fields={
                "description": "str",
                "quantity": "decimal",
                "unit_price": "price",
                "discount": "percent",
                "position": "int",
            },
            rels=(
                Rel("invoice", "invoices", "invoice_id"),
                Rel("service_type", "service_types", "service_type_id"),
                Rel("tax_rate", "tax_rates", "tax_rate_id"),
            ),
            required=("invoice_id", "quantity", "unit_price", "tax_rate_id"),
            filters={
                "id": ID,
                "invoice_id": ID,
                "service_type_id": ID,
                "company_id": ID,
                "discount": Filter("decimal"),
                "tax_name": Filter("str"),
                "tax_value": Filter("decimal"),
            },
            sorts=("id", "position"),
            methods=ALL_METHODS,
            financial=True,
        ),
        Spec(
            type="companies",
            fields={
                "name": "str",
                "billing_name": "str",
                "company_code": "str",
                "vat": "str",
                "default_currency": "currency",
                "due_days": "int",
                "domain": "str",
                "custom_fields": "custom_fields",
                "tag_list": "tags",
            },
            rels=(
                Rel("default_subsidiary", "subsidiaries", "default_subsidiary_id"),
                Rel("default_tax_rate", "tax_rates", "default_tax_rate_id"),
                Rel("parent_company", "companies", "parent_company_id"),
                Rel("contact_entries", "contact_entries", reverse_key="company_id"),
            ),
            required=("name",),
            filters={"id": ID, "name": Filter("str"), "company_code": Filter("str")},
            sorts=("id", "name", "created_at"),
        ),
        Spec(
            type="contact_entries",
            fields={
                "type": "str",
                "name": "str",
                "email": "str",
                "billing_email": "str",
                "billing_address": "str",
                "address": "str",
                "city": "str",
                "state": "str",
                "zipcode": "str",
                "country": "str",
                "vat": "str",
                "phone": "str",
                "website": "str",
            },
            rels=(
                Rel("company", "companies", "company_id"),
                Rel("invoice", "invoices", "invoice_id"),
                Rel("subsidiary", "subsidiaries", "subsidiary_id"),
            ),
            filters={
                "id": ID,
                "company_id": ID,
                "invoice_id": ID,
                "subsidiary_id": ID,
                "type": Filter("str"),
            },
            methods=ALL_METHODS,
        ),
        Spec(
            type="service_types",
            fields={"name": "str"},
            required=("name",),
            filters={"id": ID, "name": Filter("str")},
            sorts=("id", "name"),
        ),
        Spec(
            type="custom_fields",
            fields={
                "name": "str",
                "customizable_type": "str",
                "data_type_id": "int",
                "required": "bool",
                "description": "str",
                "position": "int",
            },
            rels=(Rel("options", "custom_field_options", reverse_key="custom_field_id"),),
            required=("name", "customizable_type", "data_type_id"),
            filters={
                "id": ID,
                "name": Filter("str"),
                "customizable_type": Filter("str"),
                "data_type_id": Filter("int"),
            },
            sorts=("id", "name", "position"),
        ),
        Spec(
            type="custom_field_options",
            fields={"name": "str", "position": "int"},
            rels=(Rel("custom_field", "custom_fields", "custom_field_id"),),
            required=("name", "custom_field_id"),
            filters={"id": ID, "custom_field_id": ID, "name": Filter("str")},
            sorts=("id", "name", "position"),
        ),
        Spec(
            type="tax_rates",
            fields={
                "name": "str",
                "primary_component_name": "str",
                "primary_component_value": "percent",
                "secondary_component_name": "str",
                "secondary_component_value": "percent",
            },
            rels=(Rel("subsidiary", "subsidiaries", "subsidiary_id"),),
            required=("name", "subsidiary_id"),
            filters={
                "id": ID,
                "name": Filter("str"),
                "subsidiary_id": ID,
                "primary_component_name": Filter("str"),
                "primary_component_value": Filter("decimal"),
                "secondary_component_name": Filter("str"),
                "secondary_component_value": Filter("decimal"),
            },
            sorts=("id", "name"),
            financial=True,
        ),
        Spec(
            type="subsidiaries",
            fields={"name": "str", "invoice_number_format": "str", "show_delivery_date": "bool"},
            rels=(
                Rel("default_tax_rate", "tax_rates", "default_tax_rate_id"),
                Rel("bill_from", "contact_entries", "bill_from_id"),
            ),
            required=("name",),
            filters={"id": ID, "name": Filter("str")},
            sorts=("id", "name"),
            financial=True,
        ),
        Spec(
            type="payments",
            fields={"amount": "money", "paid_on": "date", "note": "str", "written_off_on": "date"},
            rels=(Rel("invoice", "invoices", "invoice_id"),),
            required=("amount", "invoice_id"),
            filters={
                "id": ID,
                "invoice_id": ID,
                "company_id": ID,
                "subsidiary_id": ID,
                "paid_on": Filter("date"),
                "paid_after": Filter("date", source="paid_on", fixed_op="gt_eq"),
                "paid_before": Filter("date", source="paid_on", fixed_op="lt_eq"),
                "amount": Filter("decimal"),
                "external_id": Filter("str"),
                "written_off_on": Filter("date"),
            },
            sorts=("id", "amount", "date", "paid_on", "note", "written_off_on"),
            methods=ALL_METHODS,
            financial=True,
        ),
        Spec(
            type="projects",
            fields={"name": "str", "project_number": "str", "project_type_id": "int"},
            rels=(Rel("company", "companies", "company_id"),),
            required=("name",),
            filters={"id": ID, "company_id": ID, "name": Filter("str"), "project_type_id": Filter("int")},
            sorts=("id", "name", "created_at"),
        ),
        # Deals and budgets are one resource: a budget is a deal with `budget: true`.
        Spec(
            type="deals",
            fields={"name": "str", "budget": "bool", "currency": "currency"},
            rels=(Rel("company", "companies", "company_id"), Rel("project", "projects", "project_id")),
            required=("name", "company_id"),
            filters={"id": ID, "company_id": ID, "project_id": ID, "budget": Filter("bool"), "name": Filter("str")},
            sorts=("id", "name", "created_at"),
        ),
        # The link between an invoice and a budget it bills (`budget` is a deal with `budget: true`).
        Spec(
            type="invoice_attributions",
            fields={"amount": "money", "date_from": "date", "date_to": "date"},
            rels=(Rel("invoice", "invoices", "invoice_id"), Rel("budget", "deals", "budget_id")),
            required=("invoice_id", "budget_id"),
            filters={"id": ID, "invoice_id": ID, "budget_id": ID},
            methods=ALL_METHODS,
            financial=True,
        ),
        Spec(
            type="attachments",
            fields={"name": "str", "content_type": "str"},
            rels=(Rel("invoice", "invoices", "invoice_id"),),
            required=("name", "invoice_id"),
            filters={"id": ID, "invoice_id": ID},
            methods=frozenset({"list", "get", "create", "delete"}),
        ),
    )
}

# Invoice types: an invoice, or a credit note (which credits its `parent_invoice`).
INVOICE_TYPES = {1: "invoice", 2: "credit_note"}
INVOICE = 1
CREDIT_NOTE = 2

CUSTOM_FIELD_DATA_TYPES = {
    1: "text",
    2: "number",
    3: "select",
    4: "date",
    5: "multi_select",
    6: "person",
    7: "attachment",
}
