"""What the emulator knows about each entity: URL path, query fields, name-list behaviour."""

from __future__ import annotations

import copy
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

META = frozenset({"MetaData.CreateTime", "MetaData.LastUpdatedTime"})


@dataclass(frozen=True)
class EntitySpec:
    name: str  # as in JSON and queries: "Customer"
    path: str  # URL segment: "customer"
    name_list: bool = False  # queries hide Active=false records unless the WHERE names Active
    filterable: frozenset[str] = frozenset()
    sortable: frozenset[str] = frozenset()
    # query names that read a nested value, e.g. CustomerRef -> CustomerRef.value
    aliases: Mapping[str, str] = field(default_factory=dict)
    # fields compared as numbers / as timestamps by the query engine
    numeric: frozenset[str] = frozenset()
    datetimes: frozenset[str] = META
    readable: bool = True  # GET /{path}/{id}
    queryable: bool = True


def _fields(*names: str) -> frozenset[str]:
    return frozenset(names) | META | {"Id"}


_PARTY = (
    "DisplayName",
    "GivenName",
    "MiddleName",
    "FamilyName",
    "CompanyName",
    "PrintOnCheckName",
    "PrimaryEmailAddr",
    "Active",
    "Balance",
)

SPECS: dict[str, EntitySpec] = {
    spec.name: spec
    for spec in [
        EntitySpec(
            "Customer",
            "customer",
            name_list=True,
            filterable=_fields(*_PARTY, "FullyQualifiedName", "Job", "ParentRef", "Notes"),
            sortable=_fields(*_PARTY, "FullyQualifiedName"),
            aliases={"PrimaryEmailAddr": "PrimaryEmailAddr.Address", "ParentRef": "ParentRef.value"},
            numeric=frozenset({"Balance", "Id"}),
        ),
        EntitySpec(
            "Vendor",
            "vendor",
            name_list=True,
            filterable=_fields(*_PARTY),
            sortable=_fields(*_PARTY),
            aliases={"PrimaryEmailAddr": "PrimaryEmailAddr.Address"},
            numeric=frozenset({"Balance", "Id"}),
        ),
        EntitySpec(
            "Employee",
            "employee",
            name_list=True,
            filterable=_fields("DisplayName", "GivenName", "FamilyName", "PrimaryEmailAddr", "Active"),
            sortable=_fields("DisplayName", "GivenName", "FamilyName"),
            aliases={"PrimaryEmailAddr": "PrimaryEmailAddr.Address"},
            numeric=frozenset({"Id"}),
        ),
        EntitySpec(
            "Item",
            "item",
            name_list=True,
            filterable=_fields("Name", "Sku", "Type", "Active", "FullyQualifiedName", "UnitPrice", "Taxable"),
            sortable=_fields("Name", "Sku", "Type", "FullyQualifiedName", "UnitPrice"),
            numeric=frozenset({"UnitPrice", "Id"}),
        ),
        EntitySpec(
            "Account",
            "account",
            name_list=True,
            filterable=_fields(
                "Name",
                "Active",
                "AccountType",
                "AccountSubType",
                "Classification",
                "FullyQualifiedName",
                "CurrentBalance",
            ),
            sortable=_fields("Name", "AccountType", "FullyQualifiedName", "CurrentBalance"),
            numeric=frozenset({"CurrentBalance", "Id"}),
        ),
        EntitySpec(
            "TaxCode",
            "taxcode",
            name_list=True,
            filterable=_fields("Name", "Active", "Taxable", "TaxGroup"),
            sortable=_fields("Name"),
        ),
        EntitySpec(
            "TaxRate",
            "taxrate",
            name_list=True,
            filterable=_fields("Name", "Active", "RateValue"),
            sortable=_fields("Name", "RateValue"),
            numeric=frozenset({"RateValue", "Id"}),
        ),
        EntitySpec(
            "Term",
            "term",
            name_list=True,
            filterable=_fields("Name", "Active", "DueDays"),
            sortable=_fields("Name"),
            numeric=frozenset({"DueDays", "Id"}),
        ),
        EntitySpec(
            "Invoice",
            "invoice",
            filterable=_fields(
                "DocNumber",
                "TxnDate",
                "DueDate",
                "CustomerRef",
                "TotalAmt",
                "Balance",
                "PrivateNote",
            ),
            sortable=_fields("DocNumber", "TxnDate", "DueDate", "TotalAmt", "Balance"),
            aliases={"CustomerRef": "CustomerRef.value"},
            numeric=frozenset({"TotalAmt", "Balance", "Id"}),
        ),
        EntitySpec(
            "Payment",
            "payment",
            filterable=_fields("TxnDate", "CustomerRef", "TotalAmt", "PaymentRefNum", "UnappliedAmt"),
            sortable=_fields("TxnDate", "TotalAmt", "PaymentRefNum"),
            aliases={"CustomerRef": "CustomerRef.value"},
            numeric=frozenset({"TotalAmt", "UnappliedAmt", "Id"}),
        ),
        # One of each per company, read at their own paths (api.Api.handle); queryable as well.
        EntitySpec("CompanyInfo", "companyinfo", filterable=_fields("CompanyName"), readable=False),
        EntitySpec("Preferences", "preferences", filterable=_fields(), readable=False),
        EntitySpec(
            "Attachable",
            "attachable",
            filterable=_fields(
                "FileName", "ContentType", "AttachableRef.EntityRef.Type", "AttachableRef.EntityRef.value"
            ),
            sortable=_fields("FileName"),
            numeric=frozenset({"Id"}),
        ),
    ]
}

BY_PATH: dict[str, EntitySpec] = {spec.path: spec for spec in SPECS.values()}


def render(record: Mapping[str, Any]) -> dict[str, Any]:
    """A stored record as the API returns it (a deep copy; never hand out the stored dict)."""
    out = copy.deepcopy({key: value for key, value in record.items() if not key.startswith("_")})
    out.setdefault("domain", "QBO")
    out.setdefault("sparse", False)
    return out
