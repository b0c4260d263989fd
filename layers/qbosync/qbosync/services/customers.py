"""The QuickBooks customer of a copied invoice (README "Copy to QuickBooks", "Customer"; docs/architecture.md
"Copy"): the one picked in the dialog; else the one remembered for the Productive client in this currency;
else one found by name, inactive ones too; else a new one, under the first of the candidate names that is
free (qbosync.domain.customers). With `customer_level` "project", the invoice goes to its project's
sub-customer under that customer, found the same way (remembered for the project; else found by name
under that customer; else created under the first free name).

- plan() only reads, so a request refused by a later check has written nothing;
- resolve() creates or reactivates what the plan says, under the copy's lock, once everything else about
  the copy has been checked; a name taken meanwhile (6240) moves on to the next candidate;
- retire() makes a customer that resolve() created or reactivated inactive again after a refusal
  (QuickBooks cannot delete customers)."""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, ClassVar

from qbosync.domain.connection import CompanyProfile
from qbosync.domain.copies import CopyRepository, request_id_for
from qbosync.domain.customers import (
    candidate_names,
    is_inactive,
    is_usable,
    new_customer,
    new_sub_customer,
    parent_id,
    sub_customer_names,
)
from qbosync.domain.errors import Conflict, DomainError, QuickBooksFault
from qbosync.domain.ports import QuickBooksApi
from qbosync.domain.productive import ProductiveApi, ProductiveCompany, ProductiveInvoice, ProductiveProject
from qbosync.domain.qbo_query import quote

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class UseCustomer:
    """An active customer: nothing to write."""

    writes: ClassVar[bool] = False
    customer_id: str


@dataclass(frozen=True)
class ReactivateCustomer:
    """An inactive customer found by name (as QuickBooks returned it): made active again."""

    writes: ClassVar[bool] = True
    customer: dict[str, Any]


@dataclass(frozen=True)
class CreateCustomer:
    """No usable customer holds `names[start]`: a new one is created under it, or under a later name."""

    writes: ClassVar[bool] = True
    client: ProductiveCompany
    currency: str
    names: tuple[str, ...]
    start: int


#: Where a client's customer will come from, decided before anything is written.
ClientPlan = UseCustomer | ReactivateCustomer | CreateCustomer


@dataclass(frozen=True)
class SubCustomerPlan:
    """The invoice goes to its project's sub-customer under the client's customer (`parent`): `existing`
    (remembered for the project, or found by name under that customer), else a new one under
    `names[start]` or a later name."""

    parent: ClientPlan
    project: ProductiveProject
    client: ProductiveCompany | None
    currency: str
    names: tuple[str, ...]
    existing: UseCustomer | ReactivateCustomer | None
    start: int = 0

    @property
    def writes(self) -> bool:
        return self.parent.writes or self.existing is None or self.existing.writes


#: Where the invoice's customer will come from, decided before anything is written.
CustomerPlan = UseCustomer | ReactivateCustomer | CreateCustomer | SubCustomerPlan


@dataclass(frozen=True)
class ResolvedCustomer:
    customer_id: str
    #: The customers this request created or reactivated, parents first (for retire()).
    touched: tuple[dict[str, Any], ...] = ()
    #: For a project's sub-customer: the client's customer it is under, and the project.
    parent_id: str | None = None
    project_id: str | None = None


class CustomerResolver:
    """Customers for the invoices of one connection's QuickBooks company."""

    def __init__(
        self,
        *,
        connection_id: str,
        company: CompanyProfile,
        quickbooks: QuickBooksApi,
        productive: ProductiveApi,
        mappings: CopyRepository,
    ) -> None:
        self._connection_id = connection_id
        self._company = company
        self._qbo = quickbooks
        self._productive = productive
        self._mappings = mappings
        # Customers this resolver created, by ("client", Productive client) or ("project", Productive
        # project), and currency: the invoices of one client in a bulk job are planned before any is
        # resolved, and the first creates it for all.
        self._created: dict[tuple[str, str, str], str] = {}
        # Mappings read once per resolver (a bulk job plans many invoices of few clients).
        self._mapped: dict[tuple[str, str], str] = {}
        self._mapped_projects: dict[tuple[str, str], str] = {}

    def plan(
        self,
        *,
        picked: str | None,
        invoice: ProductiveInvoice,
        currency: str,
        project: ProductiveProject | None = None,
    ) -> CustomerPlan | None:
        """Reads only. None when nothing was picked and the invoice has no client company. With a
        `project`, the project's sub-customer under the client's customer (a picked customer is used as
        it is)."""
        if picked:
            return UseCustomer(picked)
        if not invoice.company_id:
            return None
        client_plan = self._client_plan(invoice, currency)
        if project is None:
            return client_plan
        return self._sub_customer_plan(client_plan, project, invoice.company, currency.upper())

    def _client_plan(self, invoice: ProductiveInvoice, currency: str) -> ClientPlan:
        assert invoice.company_id is not None
        key = (invoice.company_id, currency)
        mapped = self._mapped.get(key) or self._mappings.customer_for(self._connection_id, *key)
        if mapped:
            self._mapped[key] = mapped
            return UseCustomer(mapped)
        client = invoice.company or self._productive.get_company(invoice.company_id)
        currency = currency.upper()
        names = candidate_names(client, currency)
        for index, name in enumerate(names):
            found = self._find(name)
            if found is None:
                return CreateCustomer(client, currency, names, index)
            if is_usable(found, currency, self._company):
                return ReactivateCustomer(found) if is_inactive(found) else UseCustomer(str(found["Id"]))
        raise _names_taken(names)

    def _sub_customer_plan(
        self, parent: ClientPlan, project: ProductiveProject, client: ProductiveCompany | None, currency: str
    ) -> SubCustomerPlan:
        names = sub_customer_names(project, currency)
        key = (project.id, currency)
        mapped = self._mapped_projects.get(key) or self._mappings.project_customer_for(self._connection_id, *key)
        if mapped:
            self._mapped_projects[key] = mapped
            return SubCustomerPlan(parent, project, client, currency, names, UseCustomer(mapped))
        under = _planned_id(parent)
        for index, name in enumerate(names):
            found = self._find(name)
            if found is None:
                return SubCustomerPlan(parent, project, client, currency, names, None, index)
            if under is not None and self._is_sub_customer(found, under, currency):
                existing = ReactivateCustomer(found) if is_inactive(found) else UseCustomer(str(found["Id"]))
                return SubCustomerPlan(parent, project, client, currency, names, existing)
        raise _names_taken(names)

    def resolve(self, plan: CustomerPlan) -> ResolvedCustomer:
        """The planned customer; a new or inactive one is created or reactivated only now."""
        if isinstance(plan, UseCustomer):
            return ResolvedCustomer(plan.customer_id)
        if isinstance(plan, ReactivateCustomer):
            return self._activated(plan.customer)
        if isinstance(plan, SubCustomerPlan):
            return self._resolve_sub_customer(plan)
        key = ("client", plan.client.id, plan.currency)
        made = self._created.get(key)
        if made is not None:
            return ResolvedCustomer(made)
        client, currency = plan.client, plan.currency
        resolved = self._create(
            plan.names,
            plan.start,
            body=lambda name: new_customer(client, name, currency, self._company),
            request=lambda name: (self._connection_id, "customer", client.id, currency, name),
            accepts=lambda found: is_usable(found, currency, self._company),
        )
        self._created[key] = resolved.customer_id
        return resolved

    def _resolve_sub_customer(self, plan: SubCustomerPlan) -> ResolvedCustomer:
        """The client's customer first (a batch cannot refer to a customer it creates), then the
        project's sub-customer under it."""
        parent = self.resolve(plan.parent)
        under, currency = parent.customer_id, plan.currency
        key = ("project", plan.project.id, currency)
        if plan.existing is not None:
            sub = self.resolve(plan.existing)
        elif (made := self._created.get(key)) is not None:
            sub = ResolvedCustomer(made)
        else:
            sub = self._create(
                plan.names,
                plan.start,
                body=lambda name: new_sub_customer(plan.client, name, under, currency, self._company),
                request=lambda name: (self._connection_id, "sub-customer", plan.project.id, currency, under, name),
                accepts=lambda found: self._is_sub_customer(found, under, currency),
            )
            self._created[key] = sub.customer_id
        return ResolvedCustomer(
            sub.customer_id, touched=parent.touched + sub.touched, parent_id=under, project_id=plan.project.id
        )

    def retire(self, customer: dict[str, Any]) -> None:
        """Make a customer resolve() created or reactivated inactive again, unless an invoice of it
        appeared meanwhile (another copy of the same client found it by name). Best effort: a failure
        is logged and the customer stays active."""
        customer_id = str(customer["Id"])
        self._created = {key: made for key, made in self._created.items() if made != customer_id}
        try:
            since = str((customer.get("MetaData") or {}).get("LastUpdatedTime") or "")
            used = self._qbo.query(
                f"select * from Invoice where CustomerRef = {quote(customer_id)}"
                + (f" and MetaData.CreateTime >= {quote(since)}" if since else "")
                + " maxresults 1"
            )
            if used:
                return
            self._qbo.update(
                "Customer",
                {"Id": customer_id, "SyncToken": customer["SyncToken"], "Active": False, "sparse": True},
                request_id=request_id_for("deactivate", customer_id, customer["SyncToken"]),
            )
        except DomainError as failure:  # the caller gets the refusal; the customer stays, active
            logger.warning(
                "could not make an unused customer inactive again",
                extra={"customer_id": customer_id, "reason": failure.code},
            )

    # -- internals -------------------------------------------------------------------------------

    def _create(
        self,
        names: tuple[str, ...],
        start: int,
        *,
        body: Callable[[str], dict[str, Any]],
        request: Callable[[str], tuple[object, ...]],
        accepts: Callable[[dict[str, Any]], bool],
    ) -> ResolvedCustomer:
        """A new customer under the first of `names[start:]` that is free; a name found taken by a customer
        it `accepts` (another copy made it meanwhile) goes to that customer."""
        for index in range(start, len(names)):
            name = names[index]
            if index > start:
                found = self._find(name)
                if found is not None:
                    if accepts(found):
                        return self._activated(found)
                    continue
            try:
                created = self._qbo.create("Customer", body(name), request_id=request_id_for(*request(name)))
            except QuickBooksFault as fault:
                if fault.fault_code != QuickBooksFault.DUPLICATE_NAME:
                    raise
                # Taken meanwhile by a customer (another copy of this client) or by a vendor or an
                # employee: use that customer, or try the next name.
                found = self._find(name)
                if found is not None and accepts(found):
                    return self._activated(found)
                continue
            return ResolvedCustomer(str(created["Id"]), touched=(dict(created),))
        raise _names_taken(names)

    def _activated(self, customer: dict[str, Any]) -> ResolvedCustomer:
        if not is_inactive(customer):
            return ResolvedCustomer(str(customer["Id"]))
        updated = self._qbo.update(
            "Customer",
            {"Id": customer["Id"], "SyncToken": customer["SyncToken"], "Active": True, "sparse": True},
            request_id=request_id_for("activate", customer["Id"], customer["SyncToken"]),
        )
        return ResolvedCustomer(str(updated.get("Id", customer["Id"])), touched=({**customer, **updated},))

    def _is_sub_customer(self, customer: dict[str, Any], under: str, currency: str) -> bool:
        """A customer found by name is the project's sub-customer when it is a job of `under`."""
        return parent_id(customer) == under and is_usable(customer, currency, self._company)

    def _find(self, name: str) -> dict[str, Any] | None:
        """The customer holding a display name, active or not (a plain query finds only active ones)."""
        rows = self._qbo.query(f"select * from Customer where DisplayName = {quote(name)} and Active in (true, false)")
        return dict(rows[0]) if rows else None


def _planned_id(plan: ClientPlan) -> str | None:
    """The client's customer id when it exists already (a sub-customer can be found under it)."""
    if isinstance(plan, UseCustomer):
        return plan.customer_id
    if isinstance(plan, ReactivateCustomer):
        return str(plan.customer["Id"])
    return None


def _names_taken(names: tuple[str, ...]) -> Conflict:
    return Conflict(
        f"Could not find or create a QuickBooks customer for {names[0]!r}; pick one in the dialog.",
        code="customer_name_taken",
    )
