"""Productive's records as the services see them (docs/architecture.md "Productive API"). Money is
`Decimal`; ids are strings. The adapter (qbosync.adapters.productive) builds these from JSON:API."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from typing import Protocol

# Productive's custom field `data_type_id` values.
CUSTOM_FIELD_DATA_TYPES: Mapping[int, str] = {
    1: "text",
    2: "number",
    3: "select",
    4: "date",
    5: "multi_select",
    6: "person",
    7: "attachment",
}

CustomFieldValue = str | tuple[str, ...] | None


@dataclass(frozen=True)
class ProductiveAddress:
    """The billing contact entry's address."""

    address: str | None = None  # street lines
    city: str | None = None
    state: str | None = None
    zipcode: str | None = None
    country: str | None = None

    @property
    def is_empty(self) -> bool:
        return not any((self.address, self.city, self.state, self.zipcode, self.country))


@dataclass(frozen=True)
class ProductiveCompany:
    id: str
    name: str
    billing_name: str | None = None
    default_currency: str | None = None
    vat: str | None = None
    billing_contact_id: str | None = None
    billing_email: str | None = None
    billing_address: ProductiveAddress = field(default_factory=ProductiveAddress)

    @property
    def display_name(self) -> str:
        """What a customer should be called elsewhere: the billing name, else the name."""
        return (self.billing_name or "").strip() or self.name.strip()


@dataclass(frozen=True)
class ProductiveCustomFieldOption:
    id: str
    name: str


@dataclass(frozen=True)
class ProductiveCustomField:
    id: str
    name: str
    data_type: str  # text, number, select, date, multi_select, person, attachment
    data_type_id: int
    customizable_type: str | None = None
    options: tuple[ProductiveCustomFieldOption, ...] = ()

    def option_name(self, option_id: str) -> str | None:
        for option in self.options:
            if option.id == option_id:
                return option.name
        return None

    def display_value(self, raw: CustomFieldValue) -> str | None:
        """The human text of a value stored on a record: option ids become option names; person and
        attachment fields have no text and give None."""
        if raw is None or self.data_type in {"person", "attachment"}:
            return None
        if self.data_type in {"select", "multi_select"}:
            ids = (raw,) if isinstance(raw, str) else raw
            names = [self.option_name(option_id) or option_id for option_id in ids]
            return ", ".join(names) or None
        text = raw if isinstance(raw, str) else ", ".join(raw)
        return text.strip() or None


@dataclass(frozen=True)
class ProductiveLineItem:
    id: str
    invoice_id: str
    description: str
    quantity: Decimal
    unit_price: Decimal
    discount: Decimal = Decimal(0)  # percent
    amount: Decimal | None = None  # net after the line discount, as Productive computed it
    position: int | None = None
    service_type_id: str | None = None
    service_type_name: str | None = None
    tax_rate_id: str | None = None
    tax_rate_name: str | None = None
    tax_rate_value: Decimal | None = None  # percent (sum of the rate's components)


def in_invoice_order(lines: list[ProductiveLineItem]) -> list[ProductiveLineItem]:
    """The one order of an invoice's lines: by Productive's position (unpositioned lines last), then by
    id as a number (Productive ids are digits; "9" comes before "10")."""

    def key(line: ProductiveLineItem) -> tuple[bool, int, int, str]:
        numeric = int(line.id) if line.id.isdigit() else 1 << 62
        return (line.position is None, line.position or 0, numeric, line.id)

    return sorted(lines, key=key)


#: Productive's `invoice_type_id` of a credit note (1 is an invoice); the API also names it in
#: `invoice_type` ("credit_note"). See docs/architecture.md "Productive API".
CREDIT_NOTE_TYPE_ID = 2


@dataclass(frozen=True)
class ProductiveInvoice:
    id: str
    number: str | None
    currency: str
    invoiced_on: date | None
    company_id: str | None
    subject: str | None = None
    note: str | None = None
    purchase_order_number: str | None = None
    pay_on: date | None = None
    discount: Decimal | None = None  # percent
    amount: Decimal = Decimal(0)
    amount_tax: Decimal = Decimal(0)
    amount_with_tax: Decimal = Decimal(0)
    amount_paid: Decimal = Decimal(0)
    amount_unpaid: Decimal = Decimal(0)
    custom_fields: Mapping[str, CustomFieldValue] = field(default_factory=dict)
    exported: bool = False
    export_id: str | None = None
    export_invoice_url: str | None = None
    subsidiary_id: str | None = None
    bill_to_id: str | None = None
    company: ProductiveCompany | None = None
    invoice_type_id: int | None = None
    invoice_type: str | None = None
    #: A credit note's invoice: the one it credits.
    parent_invoice_id: str | None = None
    #: On an invoice: what its credit notes take off it (positive), net and with tax.
    amount_credited: Decimal = Decimal(0)
    amount_credited_with_tax: Decimal = Decimal(0)

    @property
    def is_credit_note(self) -> bool:
        return self.invoice_type_id == CREDIT_NOTE_TYPE_ID or self.invoice_type == "credit_note"


@dataclass(frozen=True)
class ProductiveProject:
    """A project an invoice bills (through the budgets it is attributed to)."""

    id: str
    name: str
    project_number: str | None = None


@dataclass(frozen=True)
class ProductivePayment:
    id: str
    invoice_id: str
    amount: Decimal
    paid_on: date | None
    note: str | None = None
    written_off_on: date | None = None


class ProductiveApi(Protocol):
    """The Productive calls the services make; qbosync.adapters.productive.ProductiveClient
    implements it."""

    def get_invoice(self, invoice_id: str) -> ProductiveInvoice: ...

    def get_invoices(self, invoice_ids: Sequence[str]) -> dict[str, ProductiveInvoice]:
        """Many invoices by id, as get_invoice gives one; ids Productive does not show are left out.
        A few list requests (`filter[id]=a,b,c`, paged), never one per invoice."""
        ...

    def list_line_items(self, invoice_id: str) -> list[ProductiveLineItem]: ...

    def list_line_items_of_invoices(self, invoice_ids: Sequence[str]) -> dict[str, list[ProductiveLineItem]]:
        """The line items of many invoices, by invoice id: every id asked for is a key (an empty list
        when none). A few list requests (`filter[invoice_id]=a,b,c`, paged), never one per invoice."""
        ...

    def projects_of_invoices(self, invoice_ids: Sequence[str]) -> dict[str, tuple[ProductiveProject, ...]]:
        """The projects each invoice bills: invoice -> invoice attributions -> budget (a deal with
        `budget: true`) -> project. Every id asked for is a key (an empty tuple when none). A few list
        requests (`filter[invoice_id]=a,b,c`, paged), never one per invoice."""
        ...

    def get_company(self, company_id: str) -> ProductiveCompany: ...

    def get_custom_field(self, field_id: str) -> ProductiveCustomField: ...

    def update_invoice_export(
        self, invoice_id: str, *, export_id: str, export_invoice_url: str, number: str | None = None
    ) -> ProductiveInvoice: ...

    def download_invoice_pdf(self, invoice_id: str) -> bytes: ...

    def attach_pdf_to_invoice(self, invoice_id: str, filename: str, content: bytes) -> str: ...

    def create_payment(
        self, invoice_id: str, amount: Decimal, paid_on: date, note: str | None
    ) -> ProductivePayment: ...

    def update_payment(
        self, payment_id: str, amount: Decimal, paid_on: date, note: str | None
    ) -> ProductivePayment: ...

    def delete_payment(self, payment_id: str) -> None: ...

    def list_payments(self, invoice_id: str) -> list[ProductivePayment]: ...
