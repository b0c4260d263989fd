"""The customer of a copied invoice: the pure name rules (qbosync.domain.customers) and the order in which
CustomerResolver looks (picked → remembered → found by name, inactive ones too, in the invoice's currency
→ created under the first free name), with a QuickBooks fake that holds customers and names taken by
vendors or employees."""

from __future__ import annotations

import itertools
import re
from datetime import date
from typing import Any

import pytest

from qbosync.domain.connection import CompanyProfile
from qbosync.domain.customers import (
    candidate_names,
    clean_display_name,
    is_usable,
    new_customer,
    new_sub_customer,
    sub_customer_names,
)
from qbosync.domain.errors import DomainError, InvalidInput, QuickBooksFault
from qbosync.domain.productive import ProductiveAddress, ProductiveCompany, ProductiveInvoice, ProductiveProject
from qbosync.services.customers import (
    CreateCustomer,
    CustomerResolver,
    ReactivateCustomer,
    ResolvedCustomer,
    SubCustomerPlan,
    UseCustomer,
)
from tests.fakes import InMemoryCopies, QuickBooksStub

CLIENT = ProductiveCompany(id="7", name="Acme Ltd")
ONE_CURRENCY = CompanyProfile("1", "Co", "US", "USD", False, False, False, True)
MULTICURRENCY = CompanyProfile("1", "Co", "GB", "GBP", True, False, False, True)


# -- the pure rules ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "cleaned"),
    [("Acme: Design", "Acme- Design"), ("O'Brien\tLtd\n", "O'Brien Ltd"), ("Café  Zürich", "Café Zürich")],
)
def test_display_names_lose_what_quickbooks_forbids(name: str, cleaned: str) -> None:
    assert clean_display_name(name) == cleaned


def test_candidate_names_are_the_name_then_with_the_currency_then_with_the_productive_id() -> None:
    client = ProductiveCompany(id="7", name="Acme Ltd", billing_name="Acme: Billing ")
    assert candidate_names(client, "EUR") == ("Acme- Billing", "Acme- Billing (EUR)", "Acme- Billing (Productive 7)")
    assert candidate_names(CLIENT, "USD")[0] == "Acme Ltd"


def test_every_candidate_name_fits_quickbooks_display_name_limit() -> None:
    # QuickBooks refuses a DisplayName over 100 characters: a long name is shortened before its suffix.
    names = candidate_names(ProductiveCompany(id="12345", name="Agency " * 20), "USD")
    assert [len(name) for name in names] == [100, 100, 100]
    assert names[1].endswith(" (USD)")
    assert names[2].endswith(" (Productive 12345)")
    assert names[1].startswith("Agency Agency")
    assert names[1] != names[2]


def test_a_client_without_a_name_has_no_candidate() -> None:
    with pytest.raises(InvalidInput) as refused:
        candidate_names(ProductiveCompany(id="7", name=" \t", billing_name=" "), "USD")
    assert refused.value.code == "no_customer"
    with pytest.raises(InvalidInput):
        candidate_names(ProductiveCompany(id="7", name="   "), "USD")


def test_a_customer_is_usable_in_its_own_currency_or_in_a_company_with_one_currency() -> None:
    euro = {"Id": "1", "CurrencyRef": {"value": "eur"}}
    home = {"Id": "2"}  # no CurrencyRef: the home currency
    assert is_usable(euro, "EUR", MULTICURRENCY)
    assert not is_usable(euro, "GBP", MULTICURRENCY)
    assert is_usable(home, "GBP", MULTICURRENCY)
    assert not is_usable(home, "EUR", MULTICURRENCY)
    assert is_usable(euro, "USD", ONE_CURRENCY)


def test_a_new_customer_carries_the_billing_data_and_a_currency_only_where_there_are_several() -> None:
    client = ProductiveCompany(
        id="7",
        name="Acme: Holdings",
        billing_email="billing@acme.example",
        billing_address=ProductiveAddress(address="1 Main St", city="Springfield", zipcode="12345"),
    )
    body = new_customer(client, "Acme Ltd (EUR)", "EUR", MULTICURRENCY)
    assert body == {
        "DisplayName": "Acme Ltd (EUR)",
        "CompanyName": "Acme- Holdings",
        "PrimaryEmailAddr": {"Address": "billing@acme.example"},
        "BillAddr": {"Line1": "1 Main St", "City": "Springfield", "PostalCode": "12345"},
        "CurrencyRef": {"value": "EUR"},
    }
    bare = new_customer(ProductiveCompany(id="7", name="::"), "Acme Ltd", "USD", ONE_CURRENCY)
    assert bare == {"DisplayName": "Acme Ltd", "CompanyName": "--"}


# -- the resolver ----------------------------------------------------------------------------------


def _fault(code: str) -> QuickBooksFault:
    return QuickBooksFault("refused", fault_code=code, fault_type="ValidationFault", http_status=400)


class FakeQuickBooks(QuickBooksStub):
    """Customers by display name (active or not), names held by vendors or employees, and the invoices
    of each customer. `taken_at_create` are names someone else takes between plan() and resolve()."""

    def __init__(self) -> None:
        self.customers: dict[str, dict[str, Any]] = {}
        self.other_names: set[str] = set()
        self.taken_at_create: dict[str, dict[str, Any] | None] = {}
        self.invoices: dict[str, list[dict[str, Any]]] = {}
        self.calls: list[str] = []
        self.ids = itertools.count(100)

    def add(self, name: str, *, currency: str | None = None, active: bool = True, parent: str | None = None) -> str:
        customer_id = str(next(self.ids))
        self.customers[customer_id] = {"Id": customer_id, "DisplayName": name, "Active": active, "SyncToken": "2"}
        if currency:
            self.customers[customer_id]["CurrencyRef"] = {"value": currency}
        if parent:
            self.customers[customer_id].update(Job=True, ParentRef={"value": parent})
        return customer_id

    def query(self, statement: str) -> list[dict[str, Any]]:
        [value, *_] = re.findall(r"'([^']*)'", statement)
        if "from Customer" in statement:
            self.calls.append(f"find {value}")
            return [dict(c) for c in self.customers.values() if c["DisplayName"] == value]
        self.calls.append(f"invoices of {value}")
        return self.invoices.get(value, [])

    def create(self, entity: str, payload: dict[str, Any], *, request_id: str) -> dict[str, Any]:
        name = payload["DisplayName"]
        self.calls.append(f"create {name}")
        if name in self.taken_at_create:
            holder = self.taken_at_create.pop(name)
            if holder is None:
                self.other_names.add(name)
            else:
                self.customers[holder["Id"]] = holder
        if name in self.other_names or any(c["DisplayName"] == name for c in self.customers.values()):
            raise _fault(QuickBooksFault.DUPLICATE_NAME)
        customer_id = self.add(name, currency=(payload.get("CurrencyRef") or {}).get("value"))
        self.customers[customer_id].update(payload)
        return dict(self.customers[customer_id])

    def update(
        self, entity: str, payload: dict[str, Any], *, request_id: str, operation: str | None = None
    ) -> dict[str, Any]:
        customer = self.customers[str(payload["Id"])]
        self.calls.append(f"{'activate' if payload['Active'] else 'deactivate'} {customer['DisplayName']}")
        customer.update(Active=payload["Active"], SyncToken=str(int(customer["SyncToken"]) + 1))
        return dict(customer)


class FakeProductive:
    def __init__(self, client: ProductiveCompany) -> None:
        self.client = client
        self.reads = 0

    def get_company(self, company_id: str) -> ProductiveCompany:
        self.reads += 1
        assert company_id == self.client.id
        return self.client


class World:
    def __init__(self, company: CompanyProfile = ONE_CURRENCY, client: ProductiveCompany = CLIENT) -> None:
        self.qbo = FakeQuickBooks()
        self.productive = FakeProductive(client)
        self.mappings = InMemoryCopies()
        self.resolver = CustomerResolver(
            connection_id="c1",
            company=company,
            quickbooks=self.qbo,
            productive=self.productive,  # type: ignore[arg-type]
            mappings=self.mappings,
        )

    def plan(
        self,
        *,
        picked: str | None = None,
        company_id: str | None = "7",
        currency: str = "USD",
        project: ProductiveProject | None = None,
    ) -> Any:
        invoice = ProductiveInvoice(
            id="41", number="1", currency=currency, invoiced_on=date(2026, 1, 2), company_id=company_id
        )
        return self.resolver.plan(picked=picked, invoice=invoice, currency=currency, project=project)

    def remember(self, customer_id: str, currency: str = "USD") -> None:
        self.mappings.customers[("c1", "7", currency)] = customer_id


def test_a_picked_customer_wins_without_a_single_read() -> None:
    w = World()
    w.remember("5")
    w.qbo.add("Acme Ltd")
    assert w.plan(picked="9") == UseCustomer("9")
    assert w.qbo.calls == []
    assert w.mappings.journal == []


def test_a_remembered_customer_comes_next_and_is_not_looked_up_by_name() -> None:
    w = World()
    w.remember("5")
    w.qbo.add("Acme Ltd")
    assert w.plan() == UseCustomer("5")
    assert w.qbo.calls == []
    assert w.productive.reads == 0


def test_remembered_customers_are_per_currency() -> None:
    w = World(MULTICURRENCY)
    w.remember("5", "EUR")
    assert isinstance(w.plan(currency="GBP"), CreateCustomer)


def test_no_client_company_and_nothing_picked_is_no_plan() -> None:
    w = World()
    assert w.plan(company_id=None) is None
    assert w.qbo.calls == []


def test_an_active_customer_found_by_name_is_used_and_nothing_is_written() -> None:
    w = World()
    found = w.qbo.add("Acme Ltd")
    plan = w.plan()
    assert plan == UseCustomer(found)
    assert not plan.writes
    assert w.resolver.resolve(plan) == ResolvedCustomer(found)
    assert w.qbo.calls == ["find Acme Ltd"]


def test_an_inactive_customer_found_by_name_is_reactivated_only_by_resolve() -> None:
    w = World()
    sleeping = w.qbo.add("Acme Ltd", active=False)
    plan = w.plan()
    assert isinstance(plan, ReactivateCustomer)
    assert plan.writes
    assert w.qbo.customers[sleeping]["Active"] is False
    resolved = w.resolver.resolve(plan)
    assert resolved.customer_id == sleeping
    [touched] = resolved.touched
    assert touched["Active"] is True
    assert w.qbo.calls == ["find Acme Ltd", "activate Acme Ltd"]


def test_a_customer_in_another_currency_sends_a_multicurrency_company_to_the_next_name() -> None:
    w = World(MULTICURRENCY)
    w.qbo.add("Acme Ltd", currency="GBP")
    euro = w.qbo.add("Acme Ltd (EUR)", currency="EUR")
    assert w.plan(currency="EUR") == UseCustomer(euro)
    assert w.qbo.calls == ["find Acme Ltd", "find Acme Ltd (EUR)"]


def test_with_one_currency_the_customer_holding_the_name_is_used_whatever_its_currency() -> None:
    w = World(ONE_CURRENCY)
    holder = w.qbo.add("Acme Ltd", currency="CAD")
    assert w.plan() == UseCustomer(holder)


def test_an_unknown_client_is_planned_as_new_and_created_only_by_resolve() -> None:
    w = World(MULTICURRENCY)
    w.qbo.add("Acme Ltd", currency="GBP")
    plan = w.plan(company_id="7", currency="eur")
    assert plan == CreateCustomer(CLIENT, "EUR", ("Acme Ltd", "Acme Ltd (EUR)", "Acme Ltd (Productive 7)"), 1)
    assert w.productive.reads == 1
    assert [c for c in w.qbo.calls if c.startswith("create")] == []
    resolved = w.resolver.resolve(plan)
    created = w.qbo.customers[resolved.customer_id]
    assert (created["DisplayName"], created["CurrencyRef"]) == ("Acme Ltd (EUR)", {"value": "EUR"})
    [touched] = resolved.touched
    assert touched["Id"] == resolved.customer_id


def test_a_name_taken_by_a_vendor_meanwhile_moves_on_to_the_next_free_name() -> None:
    w = World()
    plan = w.plan()
    assert plan == CreateCustomer(CLIENT, "USD", ("Acme Ltd", "Acme Ltd (USD)", "Acme Ltd (Productive 7)"), 0)
    w.qbo.taken_at_create["Acme Ltd"] = None  # a vendor took it
    w.qbo.other_names.add("Acme Ltd (USD)")  # and an employee holds the next one
    w.qbo.calls.clear()
    resolved = w.resolver.resolve(plan)
    assert w.qbo.customers[resolved.customer_id]["DisplayName"] == "Acme Ltd (Productive 7)"
    assert w.qbo.calls == [
        "create Acme Ltd",
        "find Acme Ltd",
        "find Acme Ltd (USD)",
        "create Acme Ltd (USD)",
        "find Acme Ltd (USD)",
        "find Acme Ltd (Productive 7)",
        "create Acme Ltd (Productive 7)",
    ]


def test_a_customer_created_meanwhile_by_another_copy_is_used_not_duplicated() -> None:
    w = World()
    plan = w.plan()
    other = {"Id": "55", "DisplayName": "Acme Ltd", "Active": True, "SyncToken": "0"}
    w.qbo.taken_at_create["Acme Ltd"] = other
    resolved = w.resolver.resolve(plan)
    assert resolved == ResolvedCustomer("55")  # not touched: this request wrote nothing to it
    assert [c["DisplayName"] for c in w.qbo.customers.values()] == ["Acme Ltd"]


def test_every_name_held_by_someone_unusable_is_customer_name_taken() -> None:
    w = World(MULTICURRENCY)
    for name in ("Acme Ltd", "Acme Ltd (EUR)", "Acme Ltd (Productive 7)"):
        w.qbo.add(name, currency="GBP")
    with pytest.raises(DomainError) as refused:
        w.plan(currency="EUR")
    assert refused.value.code == "customer_name_taken"
    assert "Acme Ltd" in str(refused.value)


def test_retire_makes_an_unused_customer_inactive_and_leaves_a_used_one_alone() -> None:
    w = World()
    resolved = w.resolver.resolve(w.plan())
    [touched] = resolved.touched
    w.qbo.invoices[resolved.customer_id] = [{"Id": "900"}]  # another copy of this client used it
    w.resolver.retire(touched)
    assert w.qbo.customers[resolved.customer_id]["Active"] is True
    w.qbo.invoices.clear()
    w.resolver.retire(touched)
    assert w.qbo.customers[resolved.customer_id]["Active"] is False


# -- a project's sub-customer ------------------------------------------------------------------------

WEBSITE = ProductiveProject(id="31", name="Website: relaunch")


def test_sub_customer_names_are_the_projects_then_with_the_currency_then_with_its_productive_id() -> None:
    assert sub_customer_names(WEBSITE, "EUR") == (
        "Website- relaunch",
        "Website- relaunch (EUR)",
        "Website- relaunch (Productive project 31)",
    )
    assert sub_customer_names(ProductiveProject(id="9", name=" "), "USD")[0] == "Project 9"
    assert [len(name) for name in sub_customer_names(ProductiveProject(id="9", name="P" * 120), "USD")] == [100] * 3


def test_a_sub_customer_is_a_job_under_its_parent_with_the_clients_billing_data() -> None:
    client = ProductiveCompany(id="7", name="Acme Ltd", billing_email="ap@acme.example")
    body = new_sub_customer(client, "Website", "55", "EUR", MULTICURRENCY)
    assert body == {
        "DisplayName": "Website",
        "CompanyName": "Acme Ltd",
        "PrimaryEmailAddr": {"Address": "ap@acme.example"},
        "CurrencyRef": {"value": "EUR"},
        "Job": True,
        "ParentRef": {"value": "55"},
    }
    assert new_sub_customer(None, "Website", "55", "USD", ONE_CURRENCY) == {
        "DisplayName": "Website",
        "Job": True,
        "ParentRef": {"value": "55"},
    }


def test_a_new_project_gets_a_sub_customer_under_the_clients_customer_created_only_by_resolve() -> None:
    w = World()
    w.remember("5")
    plan = w.plan(project=WEBSITE)
    assert isinstance(plan, SubCustomerPlan)
    assert plan.parent == UseCustomer("5")
    assert (plan.existing, plan.start) == (None, 0)
    assert plan.writes
    assert w.qbo.calls == ["find Website- relaunch"]
    resolved = w.resolver.resolve(plan)
    created = w.qbo.customers[resolved.customer_id]
    assert (created["DisplayName"], created["Job"], created["ParentRef"]) == ("Website- relaunch", True, {"value": "5"})
    assert (resolved.parent_id, resolved.project_id) == ("5", "31")
    assert [touched["Id"] for touched in resolved.touched] == [resolved.customer_id]
    # The next invoice of the project in the same bulk job does not create it again.
    again = w.resolver.resolve(w.plan(project=WEBSITE))
    assert again.customer_id == resolved.customer_id
    assert again.touched == ()
    assert sum(call.startswith("create") for call in w.qbo.calls) == 1


def test_a_remembered_project_uses_its_sub_customer_without_a_lookup() -> None:
    w = World()
    w.remember("5")
    w.mappings.project_customers[("c1", "31", "USD")] = "77"
    plan = w.plan(project=WEBSITE)
    assert plan == SubCustomerPlan(
        UseCustomer("5"), WEBSITE, None, "USD", sub_customer_names(WEBSITE, "USD"), UseCustomer("77")
    )
    assert not plan.writes
    assert w.qbo.calls == []
    assert w.resolver.resolve(plan) == ResolvedCustomer("77", parent_id="5", project_id="31")


def test_a_sub_customer_found_by_name_counts_only_under_the_clients_customer() -> None:
    w = World()
    w.remember("5")
    w.qbo.add("Website- relaunch", parent="99")  # another client's project of the same name
    inactive = w.qbo.add("Website- relaunch (USD)", parent="5", active=False)
    plan = w.plan(project=WEBSITE)
    assert plan.existing == ReactivateCustomer(w.qbo.customers[inactive])
    resolved = w.resolver.resolve(plan)
    assert resolved.customer_id == inactive
    assert w.qbo.customers[inactive]["Active"] is True
    assert [touched["Id"] for touched in resolved.touched] == [inactive]


def test_a_name_held_elsewhere_moves_the_sub_customer_to_the_next_name() -> None:
    w = World()
    w.remember("5")
    w.qbo.add("Website- relaunch")  # a top-level customer
    plan = w.plan(project=WEBSITE)
    assert (plan.existing, plan.start) == (None, 1)
    resolved = w.resolver.resolve(plan)
    assert w.qbo.customers[resolved.customer_id]["DisplayName"] == "Website- relaunch (USD)"


def test_a_new_client_gets_its_customer_first_then_the_projects_sub_customer_under_it() -> None:
    w = World()
    plan = w.plan(project=WEBSITE)
    assert isinstance(plan.parent, CreateCustomer)
    w.qbo.calls.clear()
    resolved = w.resolver.resolve(plan)
    parent, sub = (w.qbo.customers[touched["Id"]] for touched in resolved.touched)
    assert w.qbo.calls == ["create Acme Ltd", "create Website- relaunch"]
    assert (parent["DisplayName"], sub["ParentRef"]) == ("Acme Ltd", {"value": parent["Id"]})
    assert (resolved.customer_id, resolved.parent_id) == (sub["Id"], parent["Id"])


def test_a_sub_customer_made_meanwhile_under_the_same_parent_is_used_not_duplicated() -> None:
    w = World()
    w.remember("5")
    plan = w.plan(project=WEBSITE)
    other = {"Id": "66", "DisplayName": "Website- relaunch", "Active": True, "SyncToken": "0", "Job": True}
    w.qbo.taken_at_create["Website- relaunch"] = {**other, "ParentRef": {"value": "5"}}
    assert w.resolver.resolve(plan) == ResolvedCustomer("66", parent_id="5", project_id="31")
