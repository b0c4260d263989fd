"""`ProductiveEmulator`: the HTTP server plus an admin API to seed and inspect its state."""

from __future__ import annotations

import secrets
import threading
from collections.abc import Mapping, Sequence
from datetime import date
from decimal import Decimal
from types import TracebackType
from typing import TYPE_CHECKING, Any

from werkzeug.serving import BaseWSGIServer, WSGIRequestHandler, make_server

from local.productive_emulator.app import ProductiveApp
from local.productive_emulator.control import Faults, LoggedRequest, RateLimiter
from local.productive_emulator.money import ROUNDINGS, Rounding, to_decimal
from local.productive_emulator.resources import CUSTOM_FIELD_DATA_TYPES
from local.productive_emulator.store import Clock, Organization, Store

if TYPE_CHECKING:
    from local.productive_emulator.seed import DemoIds


class _RequestHandler(WSGIRequestHandler):
    """HTTP/1.1 with keep-alive, so clients reuse connections as they would with Productive."""

    protocol_version = "HTTP/1.1"


class _QuietRequestHandler(_RequestHandler):
    def log(self, type: str, message: str, *args: Any) -> None:
        if type == "error":
            super().log(type, message, *args)


_DATA_TYPE_IDS = {name: type_id for type_id, name in CUSTOM_FIELD_DATA_TYPES.items()}
Money = Decimal | str | int


def _iso(value: date | str | None) -> str | None:
    return value.isoformat() if isinstance(value, date) else value


class ProductiveEmulator:
    """A faithful local stand-in for Productive's API (`/api/v2`), served on loopback.

    >>> emu = ProductiveEmulator(); base = emu.start()
    >>> org_id, token = emu.create_organization(name="Agency")
    """

    def __init__(
        self, *, host: str = "127.0.0.1", port: int = 0, access_log: bool = False, rounding: Rounding = "half_up"
    ) -> None:
        self.host = host
        self.port = port
        self.access_log = access_log
        self.clock = Clock()
        self.store = Store(self.clock)
        self.set_rounding(rounding)
        self.rate_limiter = RateLimiter(self.clock)
        self.faults = Faults()
        self._log_lock = threading.Lock()
        self._request_log: list[LoggedRequest] = []
        self.app = ProductiveApp(self)
        self._server: BaseWSGIServer | None = None
        self._thread: threading.Thread | None = None

    # ------------------------------------------------------------------ lifecycle

    def start(self) -> str:
        """Starts serving in a background thread; returns the base URL (".../api/v2")."""
        if self._server is None:
            handler = _RequestHandler if self.access_log else _QuietRequestHandler
            self._server = make_server(self.host, self.port, self.app, threaded=True, request_handler=handler)
            self._thread = threading.Thread(
                target=self._server.serve_forever, args=(0.05,), name="productive-emulator", daemon=True
            )
            self._thread.start()
        return self.base_url

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            if self._thread is not None:
                self._thread.join(timeout=5)
            self._server = None
            self._thread = None

    @property
    def base_url(self) -> str:
        if self._server is None:
            raise RuntimeError("the emulator is not running; call start()")
        return f"http://{self.host}:{self._server.server_port}/api/v2"

    def __enter__(self) -> ProductiveEmulator:
        self.start()
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()

    # ------------------------------------------------------------------ knobs

    @property
    def request_log(self) -> list[LoggedRequest]:
        with self._log_lock:
            return list(self._request_log)

    def reset_request_log(self) -> None:
        with self._log_lock:
            self._request_log.clear()

    def count_requests(self, method: str | None = None, path_contains: str | None = None) -> int:
        return sum(
            1
            for entry in self.request_log
            if (method is None or entry.method == method.upper())
            and (path_contains is None or path_contains in entry.path)
        )

    def log_request(self, entry: LoggedRequest) -> None:
        """Record one served request (the WSGI app calls this; tests read ``request_log``)."""
        with self._log_lock:
            self._request_log.append(entry)

    @property
    def rounding(self) -> Rounding:
        return self.store.rounding

    def set_rounding(self, rounding: Rounding) -> None:
        """How line amounts, discounts and taxes are rounded to cents from now on: "half_up" (the
        default) or "half_even". Amounts are derived on every read, so existing invoices follow."""
        if rounding not in ROUNDINGS:
            raise ValueError(f"rounding must be one of {', '.join(ROUNDINGS)}")
        with self.store.lock:
            self.store.rounding = rounding

    def set_rate_limit(
        self,
        requests: int = 100,
        window_seconds: float = 10,
        enabled: bool = True,
        *,
        organization_requests: int = 4000,
        organization_window_seconds: float = 1800,
    ) -> None:
        """Per-token (and per-organization) sliding windows; resets the counters."""
        self.rate_limiter.configure(
            requests=requests,
            window_seconds=window_seconds,
            enabled=enabled,
            organization_requests=organization_requests,
            organization_window_seconds=organization_window_seconds,
        )

    # ------------------------------------------------------------------ organizations

    def create_organization(
        self, name: str = "Demo Agency", *, organization_id: str | None = None, api_token: str | None = None
    ) -> tuple[str, str]:
        """Returns (organization_id, api_token)."""
        org = self.store.add_organization(name, organization_id)
        token = self.create_token(org.id, token=api_token)
        return org.id, token

    def create_token(self, organization_id: str, *, financial_access: bool = True, token: str | None = None) -> str:
        """A further token; `financial_access=False` gives 403 on invoices, payments, tax rates..."""
        value = token or f"pat-{secrets.token_hex(16)}"
        self.store.add_token(organization_id, value, financial_access=financial_access)
        return value

    def revoke_token(self, token: str) -> None:
        with self.store.lock:
            self.store.tokens.pop(token, None)

    def _org(self, organization_id: str) -> Organization:
        return self.store.org(organization_id)

    def _create(self, organization_id: str, resource_type: str, values: Mapping[str, Any]) -> str:
        clean = {k: _iso(v) if isinstance(v, date) else v for k, v in values.items()}
        return str(self.store.create(self._org(organization_id), resource_type, clean)["id"])

    # ------------------------------------------------------------------ seeding helpers

    def create_subsidiary(self, organization_id: str, name: str, **attributes: Any) -> str:
        return self._create(organization_id, "subsidiaries", {"name": name, **attributes})

    def create_tax_rate(
        self,
        organization_id: str,
        subsidiary_id: str,
        name: str,
        primary_component_value: Money = 0,
        *,
        primary_component_name: str | None = None,
        secondary_component_name: str | None = None,
        secondary_component_value: Money | None = None,
    ) -> str:
        return self._create(
            organization_id,
            "tax_rates",
            {
                "name": name,
                "subsidiary_id": subsidiary_id,
                "primary_component_name": primary_component_name or name,
                "primary_component_value": str(primary_component_value),
                "secondary_component_name": secondary_component_name,
                "secondary_component_value": None
                if secondary_component_value is None
                else str(secondary_component_value),
            },
        )

    def create_service_type(self, organization_id: str, name: str) -> str:
        return self._create(organization_id, "service_types", {"name": name})

    def create_company(
        self,
        organization_id: str,
        name: str,
        *,
        billing_name: str | None = None,
        default_currency: str | None = None,
        vat: str | None = None,
        company_code: str | None = None,
        default_subsidiary_id: str | None = None,
        billing_contact: Mapping[str, Any] | None = None,
    ) -> str:
        """`billing_contact` (e.g. {"billing_email": ..., "address": ..., "city": ...}) becomes a
        contact entry of type "billing"; read its id with `billing_contact_id(company_id)`."""
        company_id = self._create(
            organization_id,
            "companies",
            {
                "name": name,
                "billing_name": billing_name,
                "default_currency": default_currency,
                "vat": vat,
                "company_code": company_code,
                "default_subsidiary_id": default_subsidiary_id,
            },
        )
        if billing_contact is not None:
            self.create_contact_entry(organization_id, company_id=company_id, **{"type": "billing", **billing_contact})
        return company_id

    def create_contact_entry(self, organization_id: str, **attributes: Any) -> str:
        return self._create(organization_id, "contact_entries", attributes)

    def billing_contact_id(self, company_id: str) -> str | None:
        org = self.store.org_of("companies", company_id)
        entries = self.store.where(org, "contact_entries", "company_id", company_id)
        billing = [e for e in entries if e.get("type") == "billing"] or entries
        return billing[0]["id"] if billing else None

    def create_custom_field(
        self,
        organization_id: str,
        name: str,
        *,
        data_type: str = "text",
        customizable_type: str = "invoices",
        options: Sequence[str] = (),
    ) -> str:
        """data_type: text, number, select, date, multi_select, person, attachment."""
        field_id = self._create(
            organization_id,
            "custom_fields",
            {"name": name, "customizable_type": customizable_type, "data_type_id": _DATA_TYPE_IDS[data_type]},
        )
        for position, option in enumerate(options, start=1):
            self.create_custom_field_option(organization_id, field_id, option, position=position)
        return field_id

    def create_custom_field_option(
        self, organization_id: str, custom_field_id: str, name: str, *, position: int | None = None
    ) -> str:
        return self._create(
            organization_id,
            "custom_field_options",
            {"name": name, "custom_field_id": custom_field_id, "position": position},
        )

    def option_ids(self, custom_field_id: str) -> dict[str, str]:
        """Option name -> option id of a select custom field."""
        org = self.store.org_of("custom_fields", custom_field_id)
        return {
            r["name"]: r["id"]
            for r in self.store.where(org, "custom_field_options", "custom_field_id", custom_field_id)
        }

    def create_invoice(
        self,
        organization_id: str,
        company_id: str,
        *,
        currency: str = "USD",
        invoiced_on: date | str | None = None,
        pay_on: date | str | None = None,
        subsidiary_id: str | None = None,
        number: str | None = None,
        subject: str | None = None,
        note: str | None = None,
        purchase_order_number: str | None = None,
        discount: Money | None = None,
        custom_fields: Mapping[str, Any] | None = None,
        bill_to_id: str | None = None,
        line_items: Sequence[Mapping[str, Any]] = (),
        invoice_type_id: int | None = None,
        parent_invoice_id: str | None = None,
    ) -> str:
        """Line items are mappings of create_line_item's keyword arguments. `bill_to_id` defaults to
        the company's billing contact entry. A credit note is `invoice_type_id=2` with its
        `parent_invoice_id` (see create_credit_note)."""
        kind: dict[str, Any] = {}
        if invoice_type_id is not None:
            kind["invoice_type_id"] = invoice_type_id
        if parent_invoice_id is not None:
            kind["parent_invoice_id"] = parent_invoice_id
        invoice_id = self._create(
            organization_id,
            "invoices",
            {
                **kind,
                "company_id": company_id,
                "currency": currency,
                "invoiced_on": _iso(invoiced_on) or self.clock.today().isoformat(),
                "pay_on": _iso(pay_on),
                "subsidiary_id": subsidiary_id,
                "number": number,
                "subject": subject,
                "note": note,
                "purchase_order_number": purchase_order_number,
                "discount": None if discount is None else str(discount),
                "custom_fields": dict(custom_fields or {}),
                "bill_to_id": bill_to_id or self.billing_contact_id(company_id),
            },
        )
        for position, line in enumerate(line_items, start=1):
            self.create_line_item(organization_id, invoice_id, **{"position": position, **line})
        return invoice_id

    def create_credit_note(
        self,
        organization_id: str,
        parent_invoice_id: str,
        *,
        line_items: Sequence[Mapping[str, Any]],
        number: str | None = None,
        invoiced_on: date | str | None = None,
        subject: str | None = None,
        note: str | None = None,
    ) -> str:
        """A credit note of an invoice: its client, currency and subsidiary; lines with negative unit
        prices credit the parent (its `amount_credited` goes up, its `amount_unpaid` down)."""
        parent = self.invoice(parent_invoice_id)
        resource = self.resource("invoices", parent_invoice_id)
        company = resource["relationships"]["company"]["data"]["id"]
        subsidiary = (resource["relationships"]["subsidiary"]["data"] or {}).get("id")
        return self.create_invoice(
            organization_id,
            company,
            currency=parent["currency"],
            subsidiary_id=subsidiary,
            number=number,
            subject=subject,
            note=note,
            invoiced_on=invoiced_on,
            line_items=line_items,
            invoice_type_id=2,
            parent_invoice_id=parent_invoice_id,
        )

    def create_line_item(
        self,
        organization_id: str,
        invoice_id: str,
        *,
        description: str,
        quantity: Money,
        unit_price: Money,
        tax_rate_id: str,
        service_type_id: str | None = None,
        discount: Money | None = None,
        position: int | None = None,
    ) -> str:
        return self._create(
            organization_id,
            "line_items",
            {
                "invoice_id": invoice_id,
                "description": description,
                "quantity": str(quantity),
                "unit_price": str(unit_price),
                "tax_rate_id": tax_rate_id,
                "service_type_id": service_type_id,
                "discount": "0" if discount is None else str(discount),
                "position": position,
            },
        )

    def create_payment(
        self,
        organization_id: str,
        invoice_id: str,
        amount: Money,
        *,
        paid_on: date | str | None = None,
        note: str | None = None,
    ) -> str:
        values: dict[str, Any] = {"invoice_id": invoice_id, "amount": str(amount), "note": note}
        if paid_on is not None:
            values["paid_on"] = _iso(paid_on)
        return self._create(organization_id, "payments", values)

    def create_project(
        self, organization_id: str, name: str, *, company_id: str | None = None, project_number: str | None = None
    ) -> str:
        return self._create(
            organization_id,
            "projects",
            {"name": name, "company_id": company_id, "project_number": project_number, "project_type_id": 2},
        )

    def create_deal(
        self,
        organization_id: str,
        name: str,
        *,
        company_id: str,
        project_id: str | None = None,
        budget: bool = False,
        currency: str | None = None,
    ) -> str:
        """A deal of a client, in a project or not; `budget=True` makes it a budget (what invoices are
        attributed to)."""
        return self._create(
            organization_id,
            "deals",
            {"name": name, "company_id": company_id, "project_id": project_id, "budget": budget, "currency": currency},
        )

    def create_budget(self, organization_id: str, name: str, *, company_id: str, project_id: str | None) -> str:
        return self.create_deal(organization_id, name, company_id=company_id, project_id=project_id, budget=True)

    def attribute_invoice(
        self, organization_id: str, invoice_id: str, budget_id: str, amount: Money | None = None
    ) -> str:
        """Link an invoice to a budget it bills (an invoice attribution)."""
        return self._create(
            organization_id,
            "invoice_attributions",
            {"invoice_id": invoice_id, "budget_id": budget_id, "amount": None if amount is None else str(amount)},
        )

    def update_record(self, resource_type: str, resource_id: str, **attributes: Any) -> None:
        """Change any record as a Productive user would (e.g. edit an invoice after a copy)."""
        org = self.store.org_of(resource_type, resource_id)
        clean = {k: _iso(v) if isinstance(v, date) else v for k, v in attributes.items()}
        self.store.update(org, resource_type, resource_id, clean)

    def delete_record(self, resource_type: str, resource_id: str) -> None:
        org = self.store.org_of(resource_type, resource_id)
        self.store.delete(org, resource_type, resource_id)

    # ------------------------------------------------------------------ reading back

    def resource(self, resource_type: str, resource_id: str) -> dict[str, Any]:
        """A record exactly as the API would serialise it: {"id", "type", "attributes", "relationships"}."""
        with self.store.lock:
            org = self.store.org_of(resource_type, resource_id)
            record = self.store.get(org, resource_type, resource_id)
            return self.store.resource_object(org, resource_type, record)

    def invoice(self, invoice_id: str) -> dict[str, Any]:
        """The invoice's attributes (wire form: money as strings) plus "id"."""
        resource = self.resource("invoices", invoice_id)
        return {"id": resource["id"], **resource["attributes"]}

    def line_items(self, invoice_id: str) -> list[dict[str, Any]]:
        with self.store.lock:
            org = self.store.org_of("invoices", invoice_id)
            _, lines = self.store.invoice_totals(org, self.store.get(org, "invoices", invoice_id))
            return [{"id": r["id"], **self.store.resource_object(org, "line_items", r)["attributes"]} for r in lines]

    def payments(self, invoice_id: str) -> list[dict[str, Any]]:
        """Payments of an invoice: {"id", "invoice_id", "amount" (Decimal), "paid_on", "note", ...}."""
        with self.store.lock:
            org = self.store.org_of("invoices", invoice_id)
            return [
                {
                    "id": r["id"],
                    "invoice_id": r["invoice_id"],
                    "amount": to_decimal(r["amount"]),
                    "paid_on": r["paid_on"],
                    "note": r["note"],
                    "written_off_on": r["written_off_on"],
                    "created_at": r["created_at"],
                    "updated_at": r["updated_at"],
                }
                for r in self.store.where(org, "payments", "invoice_id", invoice_id)
            ]

    def attachments(self, invoice_id: str) -> list[dict[str, Any]]:
        """Files attached to an invoice: {"id", "name", "content_type", "content" (bytes)}."""
        with self.store.lock:
            org = self.store.org_of("invoices", invoice_id)
            return [
                {
                    "id": r["id"],
                    "name": r["name"],
                    "content_type": r["content_type"],
                    "content": self.store.blobs.get(r["id"], b""),
                }
                for r in self.store.where(org, "attachments", "invoice_id", invoice_id)
            ]

    def seed_demo(self) -> DemoIds:
        from local.productive_emulator.seed import seed_demo

        return seed_demo(self)
