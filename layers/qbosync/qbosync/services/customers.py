"""The QuickBooks customer of a copied invoice (README "Copy to QuickBooks", "Customer"; docs/architecture.md
"Copy"): the one picked in the dialog; else the one remembered for the Productive client in this currency;
else one found by name, inactive ones too; else a new one, under the first of the candidate names that is
free (qbosync.domain.customers).

- plan() only reads, so a request refused by a later check has written nothing;
- resolve() creates or reactivates what the plan says, under the copy's lock, once everything else about
  the copy has been checked; a name taken meanwhile (6240) moves on to the next candidate;
- retire() makes a customer that resolve() created or reactivated inactive again after a refusal
  (QuickBooks cannot delete customers)."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any, ClassVar

from qbosync.domain.connection import CompanyProfile
from qbosync.domain.copies import CopyRepository, request_id_for
from qbosync.domain.customers import candidate_names, is_inactive, is_usable, new_customer
from qbosync.domain.errors import Conflict, DomainError, QuickBooksFault
from qbosync.domain.ports import QuickBooksApi
from qbosync.domain.productive import ProductiveApi, ProductiveCompany, ProductiveInvoice
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


#: Where the customer will come from, decided before anything is written.
CustomerPlan = UseCustomer | ReactivateCustomer | CreateCustomer


@dataclass(frozen=True)
class ResolvedCustomer:
    customer_id: str
    #: The customer as this request created or reactivated it (for retire()); None when it wrote nothing.
    touched: dict[str, Any] | None = None


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
        # Customers this resolver created, by Productive client and currency: the invoices of one client
        # in a bulk job are planned before any is resolved, and the first creates it for all.
        self._created: dict[tuple[str, str], str] = {}
        # Mappings read once per resolver (a bulk job plans many invoices of few clients).
        self._mapped: dict[tuple[str, str], str] = {}

    def plan(self, *, picked: str | None, invoice: ProductiveInvoice, currency: str) -> CustomerPlan | None:
        """Reads only. None when nothing was picked and the invoice has no client company."""
        if picked:
            return UseCustomer(picked)
        if not invoice.company_id:
            return None
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

    def resolve(self, plan: CustomerPlan) -> ResolvedCustomer:
        """The planned customer; a new or inactive one is created or reactivated only now."""
        if isinstance(plan, UseCustomer):
            return ResolvedCustomer(plan.customer_id)
        if isinstance(plan, ReactivateCustomer):
            return self._activated(plan.customer)
        made = self._created.get((plan.client.id, plan.currency))
        if made is not None:
            return ResolvedCustomer(made)
        resolved = self._create(plan)
        self._created[(plan.client.id, plan.currency)] = resolved.customer_id
        return resolved

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

    def _create(self, plan: CreateCustomer) -> ResolvedCustomer:
        for index in range(plan.start, len(plan.names)):
            name = plan.names[index]
            if index > plan.start:
                found = self._find(name)
                if found is not None:
                    if is_usable(found, plan.currency, self._company):
                        return self._activated(found)
                    continue
            try:
                created = self._qbo.create(
                    "Customer",
                    new_customer(plan.client, name, plan.currency, self._company),
                    request_id=request_id_for(self._connection_id, "customer", plan.client.id, plan.currency, name),
                )
            except QuickBooksFault as fault:
                if fault.fault_code != QuickBooksFault.DUPLICATE_NAME:
                    raise
                # Taken meanwhile by a customer (another copy of this client) or by a vendor or an
                # employee: use that customer, or try the next name.
                found = self._find(name)
                if found is not None and is_usable(found, plan.currency, self._company):
                    return self._activated(found)
                continue
            return ResolvedCustomer(str(created["Id"]), touched=dict(created))
        raise _names_taken(plan.names)

    def _activated(self, customer: dict[str, Any]) -> ResolvedCustomer:
        if not is_inactive(customer):
            return ResolvedCustomer(str(customer["Id"]))
        updated = self._qbo.update(
            "Customer",
            {"Id": customer["Id"], "SyncToken": customer["SyncToken"], "Active": True, "sparse": True},
            request_id=request_id_for("activate", customer["Id"], customer["SyncToken"]),
        )
        return ResolvedCustomer(str(updated.get("Id", customer["Id"])), touched={**customer, **updated})

    def _find(self, name: str) -> dict[str, Any] | None:
        """The customer holding a display name, active or not (a plain query finds only active ones)."""
        rows = self._qbo.query(f"select * from Customer where DisplayName = {quote(name)} and Active in (true, false)")
        return dict(rows[0]) if rows else None


def _names_taken(names: tuple[str, ...]) -> Conflict:
    return Conflict(
        f"Could not find or create a QuickBooks customer for {names[0]!r}; pick one in the dialog.",
        code="customer_name_taken",
    )
