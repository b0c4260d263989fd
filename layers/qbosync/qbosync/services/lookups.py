"""What the "Copy to QuickBooks" dialog and the settings screen list: customers (searched), items, tax
codes, classes and locations."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from qbosync.domain.connection import existing
from qbosync.domain.ports import ConnectionRepository, QuickBooksApi, QuickBooksApiFactory
from qbosync.domain.qbo_query import like_contains
from qbosync.services.tokens import TokenService

CUSTOMER_SEARCH_LIMIT = 50


@dataclass(frozen=True)
class LookupEntry:
    id: str
    name: str
    extra: dict[str, Any]


class LookupService:
    def __init__(self, *, repository: ConnectionRepository, tokens: TokenService, quickbooks: QuickBooksApiFactory):
        self._repository = repository
        self._tokens = tokens
        self._quickbooks = quickbooks

    def customers(self, connection_id: str, search: str | None) -> list[LookupEntry]:
        where = f" where DisplayName like {like_contains(search.strip())}" if search and search.strip() else ""
        rows = self._api(connection_id).query(
            f"select * from Customer{where} orderby DisplayName maxresults {CUSTOMER_SEARCH_LIMIT}"
        )
        return [
            LookupEntry(
                id=row["Id"],
                name=row.get("DisplayName", ""),
                extra={
                    "currency": (row.get("CurrencyRef") or {}).get("value"),
                    "email": (row.get("PrimaryEmailAddr") or {}).get("Address"),
                    "company_name": row.get("CompanyName"),
                },
            )
            for row in rows
        ]

    def items(self, connection_id: str) -> list[LookupEntry]:
        rows = self._api(connection_id).query("select * from Item orderby Name")
        return [
            LookupEntry(
                id=row["Id"],
                name=row.get("Name", ""),
                extra={"type": row.get("Type"), "description": row.get("Description")},
            )
            for row in rows
            if row.get("Type") not in {"Category", "Group"}
        ]

    def tax_codes(self, connection_id: str) -> list[LookupEntry]:
        rows = self._api(connection_id).query("select * from TaxCode orderby Name")
        return [
            LookupEntry(
                id=row["Id"],
                name=row.get("Name", ""),
                extra={"description": row.get("Description"), "taxable": row.get("Taxable")},
            )
            for row in rows
        ]

    def classes(self, connection_id: str) -> list[LookupEntry]:
        """Active classes (a plain query finds only those), sub-classes named Parent:Child."""
        return self._tracking_list(connection_id, "Class")

    def locations(self, connection_id: str) -> list[LookupEntry]:
        """Active locations: QuickBooks' Department entity, which its screens call locations."""
        return self._tracking_list(connection_id, "Department")

    def _tracking_list(self, connection_id: str, entity: str) -> list[LookupEntry]:
        rows = self._api(connection_id).query(f"select * from {entity}")
        entries = [
            LookupEntry(
                id=str(row["Id"]),
                name=str(row.get("FullyQualifiedName") or row.get("Name", "")),
                extra={"parent_id": (row.get("ParentRef") or {}).get("value")},
            )
            for row in rows
        ]
        return sorted(entries, key=lambda entry: entry.name.casefold())

    def _api(self, connection_id: str) -> QuickBooksApi:
        connection = existing(self._repository.get(connection_id))
        provider = self._tokens.provider_for(connection_id, connection)
        provider.current()  # fails fast with a clear status when the connection is not connected
        assert connection.realm_id is not None
        return self._quickbooks(connection.realm_id, provider)
