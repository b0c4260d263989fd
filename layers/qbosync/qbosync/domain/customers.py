"""Which QuickBooks customer a Productive client becomes, and which sub-customer a Productive project
becomes under it (README "Copy to QuickBooks", "Customer"; docs/architecture.md "Copy"): the names a
customer for it may take, whether a customer found by name can be used, and the body of a new one.

Pure rules: no I/O. qbosync.services.customers looks customers up and writes them."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from qbosync.domain.connection import CompanyProfile
from qbosync.domain.errors import InvalidInput
from qbosync.domain.productive import ProductiveCompany, ProductiveProject

DISPLAY_NAME_MAX = 100


def clean_display_name(name: str) -> str:
    """QuickBooks forbids ':' (it separates sub-customers), tabs and newlines in names."""
    cleaned = " ".join(name.replace(":", "-").replace("\t", " ").replace("\n", " ").split())
    return cleaned[:DISPLAY_NAME_MAX]


def candidate_names(client: ProductiveCompany, currency: str) -> tuple[str, ...]:
    """The display names a customer for this client may have, best first: its name; then with the
    currency (a customer has one currency, so the client in a second currency needs a second customer);
    then with its Productive id (the name is held by another customer, a vendor or an employee: QuickBooks
    display names are unique across all of them). Raises InvalidInput when the client has no name."""
    base = clean_display_name(client.display_name)
    if not base:
        raise InvalidInput("The client company has no name to give the QuickBooks customer.", code="no_customer")
    return (base, _suffixed(base, f" ({currency})"), _suffixed(base, f" (Productive {client.id})"))


def sub_customer_names(project: ProductiveProject, currency: str) -> tuple[str, ...]:
    """The display names a project's sub-customer may have, best first: the project's name; with the
    currency (the client's customer in another currency has its own sub-customers); with the project's
    Productive id (display names are unique across the whole list, sub-customers of other clients too)."""
    base = clean_display_name(project.name) or f"Project {project.id}"
    return (base, _suffixed(base, f" ({currency})"), _suffixed(base, f" (Productive project {project.id})"))


def parent_id(customer: Mapping[str, Any]) -> str | None:
    """The customer a sub-customer is under (None for a top-level customer)."""
    if customer.get("Job") is not True:
        return None
    value = (customer.get("ParentRef") or {}).get("value")
    return str(value) if value is not None else None


def new_sub_customer(
    client: ProductiveCompany | None, display_name: str, parent: str, currency: str, company: CompanyProfile
) -> dict[str, Any]:
    """The QuickBooks Customer body of a project's sub-customer (a job under the client's customer), with
    the client's billing e-mail and address when the client is known."""
    body: dict[str, Any] = (
        new_customer(client, display_name, currency, company) if client is not None else {"DisplayName": display_name}
    )
    if company.multicurrency_enabled:
        body["CurrencyRef"] = {"value": currency}
    return {**body, "Job": True, "ParentRef": {"value": parent}}


def _suffixed(base: str, suffix: str) -> str:
    """The name with a suffix, the name shortened so that the whole stays within QuickBooks' limit."""
    return base[: DISPLAY_NAME_MAX - len(suffix)].rstrip() + suffix


def customer_currency(customer: Mapping[str, Any], company: CompanyProfile) -> str:
    """A customer's currency; one without CurrencyRef is in the company's home currency."""
    return str((customer.get("CurrencyRef") or {}).get("value") or company.home_currency).upper()


def is_usable(customer: Mapping[str, Any], currency: str, company: CompanyProfile) -> bool:
    """Whether an invoice in `currency` can go to this customer: one in that currency, or any customer
    when the company works in one currency only."""
    return customer_currency(customer, company) == currency or not company.multicurrency_enabled


def is_inactive(customer: Mapping[str, Any]) -> bool:
    return customer.get("Active", True) is False


def new_customer(
    client: ProductiveCompany, display_name: str, currency: str, company: CompanyProfile
) -> dict[str, Any]:
    """The QuickBooks Customer body for a client: its name, billing e-mail and address, and its
    currency when the company has more than one."""
    body: dict[str, Any] = {"DisplayName": display_name, "CompanyName": clean_display_name(client.name) or display_name}
    if client.billing_email:
        body["PrimaryEmailAddr"] = {"Address": client.billing_email}
    address = client.billing_address
    if not address.is_empty:
        body["BillAddr"] = {
            key: value
            for key, value in {
                "Line1": address.address,
                "City": address.city,
                "CountrySubDivisionCode": address.state,
                "PostalCode": address.zipcode,
                "Country": address.country,
            }.items()
            if value
        }
    if company.multicurrency_enabled:
        body["CurrencyRef"] = {"value": currency}
    return body
