"""What the emulator knows about each entity, as data: one ``EntitySpec`` per entity in ``SPECS``.

A spec says where the entity lives (URL path, id space), what a request body may carry (``fields``),
what must be there (``required``), what QuickBooks computes and ignores when sent (``read_only``), which
fields name other entities (``refs``, checked on every write: an unknown id is fault 2500 "Invalid
Reference Id", an inactive one 610), which operations exist (``operations``), how queries filter and
sort it, and how it moves balances (``postings``, ``party_balance``, ``open_amount``, ``applies``).

The generic write handler (``engine.py``) does everything a plain entity needs from this table; the few
entities with rules of their own (tax, payment and credit application, names shared by customers,
vendors and employees, ...) add them in small modules next to it, wired in ``registry.py``.
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

META = frozenset({"MetaData.CreateTime", "MetaData.LastUpdatedTime"})
READ_QUERY = frozenset({"read", "query"})
CRUD = READ_QUERY | {"create", "update"}
TXN_OPS = CRUD | {"delete"}
VOIDABLE = TXN_OPS | {"void"}


@dataclass(frozen=True)
class Ref:
    """A field that names another entity: ``{"value": id, "name": ...}``.

    ``path`` is dotted; a list on the way (``Line``) means every element, e.g.
    ``Line.SalesItemLineDetail.ItemRef``. ``target`` is the entity (or, for polymorphic references such
    as ``EntityRef``, the entities: the reference's own ``type`` picks one, else the first that has the id).
    """

    path: str
    target: str | tuple[str, ...]
    required: bool = False
    active: bool = True  # an inactive target is refused (610)
    named: bool = True  # the stored reference carries the target's name

    @property
    def targets(self) -> tuple[str, ...]:
        return (self.target,) if isinstance(self.target, str) else self.target


@dataclass(frozen=True)
class Posting:
    """Money a transaction moves in an account: a debit or a credit of ``amount`` to the account named at
    ``account`` (a dotted path; a path through ``Line`` posts each line with that line's ``amount``).
    ``when`` limits it to records whose field has one value, e.g. ``("PayType", "Check")``."""

    account: str
    debit: bool
    amount: str = "TotalAmt"
    when: tuple[str, str] | None = None


@dataclass(frozen=True)
class PartyBalance:
    """How a transaction counts in its customer's or vendor's ``Balance``: ``sign`` x the record's
    ``amount`` field, for the party named by ``party`` (a reference field)."""

    party: str
    amount: str
    sign: int = 1


@dataclass(frozen=True)
class Hierarchy:
    """Parent/child name lists: ``flag`` (e.g. SubClass) true needs a ``ParentRef`` of the same entity;
    ``FullyQualifiedName`` is ``Parent:Child``, at most ``max_depth`` levels below the top."""

    flag: str
    max_depth: int = 4


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
    # --- writes --------------------------------------------------------------------------------
    operations: frozenset[str] = READ_QUERY  # of read, query, create, update, delete, void
    fields: frozenset[str] = frozenset()  # the top-level properties a body may carry (others: 2010)
    required: tuple[str, ...] = ()  # 2020 when missing on create and full update
    read_only: frozenset[str] = frozenset()  # computed here; values sent are ignored
    refs: tuple[Ref, ...] = ()
    defaults: Mapping[str, Any] = field(default_factory=dict)  # what a new record gets for a field left out
    unique: str | None = None  # a name unique among the entity's records, inactive ones too (6240)
    hierarchy: Hierarchy | None = None
    label: str = "Name"  # the field a reference to this entity shows as its name
    id_space: str | None = None  # entities sharing an id sequence: "name" (people), "txn" (transactions)
    # transactions: sales forms auto-number DocNumber when Preferences.SalesFormsPrefs.CustomTxnNumbers is
    # off; a DocNumber already used by the entity is 6140 unless include=allowduplicatedocnum
    auto_number: bool = False
    unique_doc_number: bool = False
    # --- ledger --------------------------------------------------------------------------------
    postings: tuple[Posting, ...] = ()
    party_balance: tuple[PartyBalance, ...] = ()
    open_amount: str | None = None  # what other transactions' LinkedTxn lines reduce (Invoice: Balance)
    applies: tuple[str, ...] = ()  # the entities this one's lines apply to (Payment: Invoice, CreditMemo)
    # --- other ---------------------------------------------------------------------------------
    cdc: bool = False  # reported by change data capture
    # fields shown only when the request says include=<word> (lowercase), e.g. {"invoicelink": "InvoiceLink"};
    # they are stored as "_<field>", so nothing else (CDC, batch) ever shows them
    on_include: Mapping[str, str] = field(default_factory=dict)
    singleton: bool = False  # one record per company (Preferences, CompanyInfo)
    # ids a query lists first on its first page, beyond MAXRESULTS (the US TaxCode pseudo codes, as
    # QuickBooks does: python-quickbooks' integration suite notes "maxresults 1" answering 4 tax codes)
    listed_first: tuple[str, ...] = ()
    json_name: str = ""  # the entity's name in answers when it is not ``name`` (CreditCardPaymentTxn)

    def allows(self, operation: str) -> bool:
        return operation in self.operations

    @property
    def wire(self) -> str:
        """What answers call the entity: ``{"<wire>": {...}}`` and ``QueryResponse.<wire>``."""
        return self.json_name or self.name


def _fields(*names: str) -> frozenset[str]:
    return frozenset(names) | META | {"Id"}


def _known(*groups: Iterable[str]) -> frozenset[str]:
    out: set[str] = set()
    for group in groups:
        out.update(group)
    return frozenset(out)


# --- shared field groups --------------------------------------------------------------------------

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
PARTY_FIELDS = (
    "Title",
    "GivenName",
    "MiddleName",
    "FamilyName",
    "Suffix",
    "DisplayName",
    "PrintOnCheckName",
    "CompanyName",
    "Active",
    "PrimaryPhone",
    "AlternatePhone",
    "Mobile",
    "Fax",
    "PrimaryEmailAddr",
    "WebAddr",
    "Notes",
    "Balance",
    "Other",
    "OtherContactInfo",
    "V4IDPseudonym",
)
TXN_FIELDS = (
    "DocNumber",
    "TxnDate",
    "PrivateNote",
    "CurrencyRef",
    "ExchangeRate",
    "LinkedTxn",
    "TxnSource",
    "TransactionLocationType",
    "CustomField",
    "AttachableRef",
    "DepartmentRef",
    "TxnStatus",
    "GlobalTaxCalculation",
    "TxnTaxDetail",
    "Line",
    "TotalAmt",
    "HomeTotalAmt",
    "ProjectRef",
    "RecurDataRef",
    "TaxExemptionRef",
)
SALES_FIELDS = (
    "CustomerRef",
    "CustomerMemo",
    "BillAddr",
    "ShipAddr",
    "ShipFromAddr",
    "FreeFormAddress",
    "BillEmail",
    "BillEmailCc",
    "BillEmailBcc",
    "ClassRef",
    "SalesTermRef",
    "ShipMethodRef",
    "ShipDate",
    "TrackingNum",
    "ApplyTaxAfterDiscount",
    "PrintStatus",
    "EmailStatus",
    "DeliveryInfo",
    "Balance",
    "HomeBalance",
    "DueDate",
    "DepositToAccountRef",
    "PaymentMethodRef",
    "PaymentRefNum",
    "ARAccountRef",
    "HomeAmtTotal",
)
EXPENSE_FIELDS = (
    "VendorRef",
    "APAccountRef",
    "VendorAddr",
    "SalesTermRef",
    "DueDate",
    "Balance",
    "HomeBalance",
    "ClassRef",
)
# References every sales form checks (Invoice, Estimate, CreditMemo, SalesReceipt, RefundReceipt).
SALES_LINE_REFS = (
    Ref("Line.SalesItemLineDetail.ItemRef", "Item"),
    Ref("Line.SalesItemLineDetail.TaxCodeRef", "TaxCode", named=False),
    Ref("Line.SalesItemLineDetail.ClassRef", "Class"),
    Ref("Line.DiscountLineDetail.ClassRef", "Class"),
)
TRACKING_REFS = (Ref("ClassRef", "Class"), Ref("DepartmentRef", "Department"))
EXPENSE_LINE_REFS = (
    Ref("Line.AccountBasedExpenseLineDetail.AccountRef", "Account"),
    Ref("Line.AccountBasedExpenseLineDetail.CustomerRef", "Customer"),
    Ref("Line.AccountBasedExpenseLineDetail.ClassRef", "Class"),
    Ref("Line.AccountBasedExpenseLineDetail.TaxCodeRef", "TaxCode", named=False),
    Ref("Line.ItemBasedExpenseLineDetail.ItemRef", "Item"),
    Ref("Line.ItemBasedExpenseLineDetail.CustomerRef", "Customer"),
    Ref("Line.ItemBasedExpenseLineDetail.ClassRef", "Class"),
    Ref("Line.ItemBasedExpenseLineDetail.TaxCodeRef", "TaxCode", named=False),
)
EXPENSE_LINE_POSTINGS = (
    Posting("Line.AccountBasedExpenseLineDetail.AccountRef", True, "Amount"),
    Posting("Line.ItemBasedExpenseLineDetail.ItemAccountRef", True, "Amount"),
)
_TXN_FILTERS = ("DocNumber", "TxnDate", "TotalAmt", "PrivateNote")
_TXN_SORTS = ("DocNumber", "TxnDate", "TotalAmt")
_CUSTOMER_ALIAS = {"CustomerRef": "CustomerRef.value"}
_VENDOR_ALIAS = {"VendorRef": "VendorRef.value"}


def _name_list(name: str, path: str, *extra: str, fields: Iterable[str] = (), **kwargs: Any) -> EntitySpec:
    """A simple list entity (Class, Department, PaymentMethod, Term, ...): Name, Active, no delete."""
    kwargs.setdefault("unique", "Name")
    return EntitySpec(
        name,
        path,
        name_list=True,
        filterable=_fields("Name", "Active", "FullyQualifiedName", *extra),
        sortable=_fields("Name", "FullyQualifiedName"),
        numeric=frozenset({"Id"}),
        operations=CRUD,
        fields=_known(("Name", "Active", "FullyQualifiedName"), fields),
        required=("Name",),
        cdc=True,
        **kwargs,
    )


def _sales_form(name: str, path: str, **kwargs: Any) -> EntitySpec:
    kwargs.setdefault("required", ("CustomerRef", "Line"))
    kwargs.setdefault("operations", TXN_OPS)
    extra_refs = kwargs.pop("refs", ())
    return EntitySpec(
        name,
        path,
        filterable=_fields(*_TXN_FILTERS, "CustomerRef", "Balance", "DueDate"),
        sortable=_fields(*_TXN_SORTS, "Balance", "DueDate"),
        aliases=_CUSTOMER_ALIAS,
        numeric=frozenset({"TotalAmt", "Balance", "Id"}),
        fields=_known(TXN_FIELDS, SALES_FIELDS, kwargs.pop("fields", ())),
        read_only=frozenset({"TotalAmt", "HomeTotalAmt", "Balance", "HomeBalance", "LinkedTxn"})
        | kwargs.pop("read_only", frozenset()),
        refs=(
            Ref("CustomerRef", "Customer"),
            Ref("SalesTermRef", "Term"),
            Ref("PaymentMethodRef", "PaymentMethod"),
            Ref("DepositToAccountRef", "Account"),
            *TRACKING_REFS,
            *SALES_LINE_REFS,
            *extra_refs,
        ),
        label="DocNumber",
        id_space="txn",
        auto_number=True,
        unique_doc_number=True,
        cdc=True,
        **kwargs,
    )


def _expense_form(name: str, path: str, **kwargs: Any) -> EntitySpec:
    kwargs.setdefault("operations", TXN_OPS)
    extra_refs = kwargs.pop("refs", ())
    return EntitySpec(
        name,
        path,
        filterable=_fields(*_TXN_FILTERS, "VendorRef", "Balance", "DueDate"),
        sortable=_fields(*_TXN_SORTS, "Balance", "DueDate"),
        aliases=_VENDOR_ALIAS,
        numeric=frozenset({"TotalAmt", "Balance", "Id"}),
        fields=_known(TXN_FIELDS, EXPENSE_FIELDS, kwargs.pop("fields", ())),
        read_only=frozenset({"TotalAmt", "HomeTotalAmt", "Balance", "HomeBalance", "LinkedTxn"})
        | kwargs.pop("read_only", frozenset()),
        refs=(*TRACKING_REFS, *EXPENSE_LINE_REFS, *extra_refs),
        label="DocNumber",
        id_space="txn",
        cdc=True,
        **kwargs,
    )


SPECS: dict[str, EntitySpec] = {
    spec.name: spec
    for spec in [
        EntitySpec(
            "Customer",
            "customer",
            name_list=True,
            filterable=_fields(*_PARTY, "FullyQualifiedName", "Job", "ParentRef", "Notes", "Level"),
            sortable=_fields(*_PARTY, "FullyQualifiedName"),
            aliases={"PrimaryEmailAddr": "PrimaryEmailAddr.Address", "ParentRef": "ParentRef.value"},
            numeric=frozenset({"Balance", "Id", "Level"}),
            operations=CRUD,
            fields=_known(
                PARTY_FIELDS,
                (
                    "FullyQualifiedName",
                    "BillAddr",
                    "ShipAddr",
                    "Taxable",
                    "Job",
                    "BillWithParent",
                    "ParentRef",
                    "Level",
                    "IsProject",
                    "BalanceWithJobs",
                    "PreferredDeliveryMethod",
                    "ResaleNum",
                    "OpenBalanceDate",
                    "PrimaryTaxIdentifier",
                    "SecondaryTaxIdentifier",
                    "DefaultTaxCodeRef",
                    "SalesTermRef",
                    "PaymentMethodRef",
                    "CurrencyRef",
                    "ARAccountRef",
                    "CustomerTypeRef",
                    "TaxExemptionReasonId",
                    "GSTIN",
                    "GSTRegistrationType",
                    "BusinessNumber",
                    "ClientEntityId",
                    "Source",
                    "CustomField",
                    "TaxRegimeId",
                    "TaxIdentifier",
                ),
            ),
            read_only=frozenset({"Balance", "BalanceWithJobs", "FullyQualifiedName", "Level", "V4IDPseudonym"}),
            refs=(
                Ref("SalesTermRef", "Term"),
                Ref("PaymentMethodRef", "PaymentMethod"),
                Ref("DefaultTaxCodeRef", "TaxCode"),
                Ref("ARAccountRef", "Account"),
            ),
            label="FullyQualifiedName",
            id_space="name",
            cdc=True,
        ),
        EntitySpec(
            "Vendor",
            "vendor",
            name_list=True,
            filterable=_fields(*_PARTY),
            sortable=_fields(*_PARTY),
            aliases={"PrimaryEmailAddr": "PrimaryEmailAddr.Address"},
            numeric=frozenset({"Balance", "Id"}),
            operations=CRUD,
            fields=_known(
                PARTY_FIELDS,
                (
                    "Title",
                    "Suffix",
                    "BillAddr",
                    "OtherAddr",
                    "TaxIdentifier",
                    "AcctNum",
                    "Vendor1099",
                    "CurrencyRef",
                    "TermRef",
                    "APAccountRef",
                    "BillRate",
                    "CostRate",
                    "VendorPaymentBankDetail",
                    "TaxReportingBasis",
                    "GSTIN",
                    "BusinessNumber",
                    "T4AEligible",
                    "T5018Eligible",
                    "HasTPAR",
                    "Source",
                    "GSTRegistrationType",
                    "IsSalesTaxAgency",
                ),
            ),
            read_only=frozenset({"Balance", "V4IDPseudonym"}),
            refs=(Ref("TermRef", "Term"), Ref("APAccountRef", "Account")),
            label="DisplayName",
            id_space="name",
            cdc=True,
        ),
        EntitySpec(
            "Employee",
            "employee",
            name_list=True,
            filterable=_fields("DisplayName", "GivenName", "FamilyName", "PrimaryEmailAddr", "Active"),
            sortable=_fields("DisplayName", "GivenName", "FamilyName"),
            aliases={"PrimaryEmailAddr": "PrimaryEmailAddr.Address"},
            numeric=frozenset({"Id"}),
            operations=CRUD,
            fields=_known(
                PARTY_FIELDS,
                (
                    "PrimaryAddr",
                    "EmployeeNumber",
                    "SSN",
                    "BillableTime",
                    "BillRate",
                    "CostRate",
                    "BirthDate",
                    "Gender",
                    "HiredDate",
                    "ReleasedDate",
                    "Organization",
                ),
            ),
            read_only=frozenset({"V4IDPseudonym"}),
            label="DisplayName",
            id_space="name",
            cdc=True,
        ),
        EntitySpec(
            "Item",
            "item",
            name_list=True,
            filterable=_fields(
                "Name", "Sku", "Type", "Active", "FullyQualifiedName", "UnitPrice", "Taxable", "QtyOnHand"
            ),
            sortable=_fields("Name", "Sku", "Type", "FullyQualifiedName", "UnitPrice", "QtyOnHand"),
            numeric=frozenset({"UnitPrice", "Id", "QtyOnHand"}),
            operations=CRUD,
            fields=frozenset(
                {
                    "Name",
                    "Description",
                    "Active",
                    "SubItem",
                    "ParentRef",
                    "Level",
                    "FullyQualifiedName",
                    "Taxable",
                    "SalesTaxIncluded",
                    "UnitPrice",
                    "Type",
                    "IncomeAccountRef",
                    "PurchaseDesc",
                    "PurchaseTaxIncluded",
                    "PurchaseCost",
                    "ExpenseAccountRef",
                    "AssetAccountRef",
                    "TrackQtyOnHand",
                    "QtyOnHand",
                    "InvStartDate",
                    "SalesTaxCodeRef",
                    "PurchaseTaxCodeRef",
                    "Sku",
                    "AbatementRate",
                    "ReverseChargeRate",
                    "ServiceType",
                    "ItemCategoryType",
                    "PrefVendorRef",
                    "ClassRef",
                    "UQCDisplayText",
                    "UQCId",
                    "ReorderPoint",
                    "ItemEx",
                    "TaxClassificationRef",
                    "Source",
                }
            ),
            required=("Name", "Type"),
            read_only=frozenset({"FullyQualifiedName", "Level"}),
            unique="Name",
            refs=(
                Ref("IncomeAccountRef", "Account"),
                Ref("ExpenseAccountRef", "Account"),
                Ref("AssetAccountRef", "Account"),
                Ref("SalesTaxCodeRef", "TaxCode"),
                Ref("PurchaseTaxCodeRef", "TaxCode"),
                Ref("PrefVendorRef", "Vendor"),
                Ref("ClassRef", "Class"),
            ),
            cdc=True,
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
                "AcctNum",
                "SubAccount",
            ),
            sortable=_fields("Name", "AccountType", "FullyQualifiedName", "CurrentBalance", "AcctNum"),
            numeric=frozenset({"CurrentBalance", "Id"}),
            operations=CRUD,
            fields=frozenset(
                {
                    "Name",
                    "SubAccount",
                    "ParentRef",
                    "Description",
                    "FullyQualifiedName",
                    "Active",
                    "Classification",
                    "AccountType",
                    "AccountSubType",
                    "AcctNum",
                    "CurrentBalance",
                    "CurrentBalanceWithSubAccounts",
                    "CurrencyRef",
                    "TaxCodeRef",
                    "AccountAlias",
                    "TxnLocationType",
                }
            ),
            required=("Name",),
            read_only=frozenset(
                {"FullyQualifiedName", "Classification", "CurrentBalance", "CurrentBalanceWithSubAccounts"}
            ),
            refs=(Ref("TaxCodeRef", "TaxCode"), Ref("ParentRef", "Account")),
            unique="Name",
            hierarchy=Hierarchy("SubAccount"),
            cdc=True,
        ),
        EntitySpec(
            "TaxCode",
            "taxcode",
            name_list=True,
            filterable=_fields("Name", "Active", "Taxable", "TaxGroup"),
            sortable=_fields("Name"),
            cdc=True,
            listed_first=("TAX", "NON", "CustomSalesTax"),
        ),
        EntitySpec(
            "TaxRate",
            "taxrate",
            name_list=True,
            filterable=_fields("Name", "Active", "RateValue"),
            sortable=_fields("Name", "RateValue"),
            numeric=frozenset({"RateValue", "Id"}),
        ),
        _name_list(
            "Term",
            "term",
            "DueDays",
            fields=(
                "Type",
                "DueDays",
                "DiscountPercent",
                "DiscountDays",
                "DayOfMonthDue",
                "DueNextMonthDays",
                "DiscountDayOfMonth",
            ),
            defaults=MappingProxyType({"Active": True}),
        ),
        _name_list(
            "Class",
            "class",
            fields=("SubClass", "ParentRef"),
            refs=(Ref("ParentRef", "Class"),),
            unique="FullyQualifiedName",
            hierarchy=Hierarchy("SubClass"),
            defaults=MappingProxyType({"Active": True}),
        ),
        _name_list(
            "Department",
            "department",
            fields=("SubDepartment", "ParentRef"),
            refs=(Ref("ParentRef", "Department"),),
            unique="FullyQualifiedName",
            hierarchy=Hierarchy("SubDepartment"),
            defaults=MappingProxyType({"Active": True}),
        ),
        _name_list(
            "PaymentMethod",
            "paymentmethod",
            "Type",
            fields=("Type",),
            defaults=MappingProxyType({"Active": True, "Type": "NON_CREDIT_CARD"}),
        ),
        EntitySpec(
            "TaxAgency",
            "taxagency",
            filterable=_fields("DisplayName"),
            sortable=_fields("DisplayName"),
            numeric=frozenset({"Id"}),
            operations=READ_QUERY | {"create"},
            fields=frozenset(
                {
                    "DisplayName",
                    "TaxRegistrationNumber",
                    "TaxTrackedOnSales",
                    "TaxTrackedOnPurchases",
                    "TaxAgencyConfig",
                    "LastFileDate",
                    "TaxTrackedOnSalesAccountId",
                    "TaxTrackedOnPurchasesAccountId",
                }
            ),
            required=("DisplayName",),
            read_only=frozenset({"TaxAgencyConfig", "LastFileDate"}),
            defaults=MappingProxyType({"TaxTrackedOnSales": True, "TaxTrackedOnPurchases": False}),
            unique="DisplayName",
            label="DisplayName",
        ),
        EntitySpec(
            "CompanyCurrency",
            "companycurrency",
            name_list=True,
            filterable=_fields("Code", "Name", "Active"),
            sortable=_fields("Code", "Name"),
            numeric=frozenset({"Id"}),
            operations=CRUD,
            fields=frozenset({"Code", "Name", "Active", "CustomField"}),
            required=("Code",),
            read_only=frozenset({"Name"}),
            defaults=MappingProxyType({"Active": True}),
            unique="Code",
        ),
        EntitySpec(
            "ExchangeRate",
            "exchangerate",
            filterable=_fields("SourceCurrencyCode", "TargetCurrencyCode", "AsOfDate"),
            sortable=_fields("SourceCurrencyCode", "AsOfDate"),
            numeric=frozenset({"Rate"}),
            readable=False,
            fields=frozenset({"SourceCurrencyCode", "TargetCurrencyCode", "AsOfDate", "Rate", "CustomField"}),
        ),
        _sales_form(
            "Invoice",
            "invoice",
            operations=VOIDABLE,
            fields=(
                "AllowOnlineCreditCardPayment",
                "AllowOnlineACHPayment",
                "AllowIPNPayment",
                "AllowOnlinePayment",
                "Deposit",
                "InvoiceLink",
                "EInvoiceStatus",
            ),
            read_only=frozenset({"Deposit", "InvoiceLink"}),
            party_balance=(PartyBalance("CustomerRef", "Balance"),),
            open_amount="Balance",
            on_include=MappingProxyType({"invoicelink": "InvoiceLink"}),
        ),
        _sales_form(
            "Estimate",
            "estimate",
            fields=("ExpirationDate", "AcceptedBy", "AcceptedDate"),
        ),
        _sales_form(
            "CreditMemo",
            "creditmemo",
            fields=("RemainingCredit",),
            read_only=frozenset({"RemainingCredit"}),
            party_balance=(PartyBalance("CustomerRef", "RemainingCredit", -1),),
            open_amount="RemainingCredit",
        ),
        _sales_form(
            "SalesReceipt",
            "salesreceipt",
            required=("Line",),
            operations=VOIDABLE,
            fields=("CreditCardPayment",),
            postings=(Posting("DepositToAccountRef", True),),
        ),
        _sales_form(
            "RefundReceipt",
            "refundreceipt",
            required=("Line", "DepositToAccountRef"),
            fields=("CheckPayment", "CreditCardPayment", "PaymentType"),
            postings=(Posting("DepositToAccountRef", False),),
        ),
        EntitySpec(
            "Payment",
            "payment",
            filterable=_fields("TxnDate", "CustomerRef", "TotalAmt", "PaymentRefNum", "UnappliedAmt"),
            sortable=_fields("TxnDate", "TotalAmt", "PaymentRefNum"),
            aliases=_CUSTOMER_ALIAS,
            numeric=frozenset({"TotalAmt", "UnappliedAmt", "Id"}),
            operations=VOIDABLE,
            fields=frozenset(
                {
                    "CustomerRef",
                    "TotalAmt",
                    "Line",
                    "TxnDate",
                    "PaymentRefNum",
                    "PaymentMethodRef",
                    "DepositToAccountRef",
                    "ARAccountRef",
                    "CurrencyRef",
                    "ExchangeRate",
                    "PrivateNote",
                    "UnappliedAmt",
                    "ProcessPayment",
                    "CreditCardPayment",
                    "TxnSource",
                    "TransactionLocationType",
                    "ProjectRef",
                    "DocNumber",
                    "TaxExemptionRef",
                    "LinkedTxn",
                    "TxnStatus",
                    "HomeTotalAmt",
                }
            ),
            read_only=frozenset({"UnappliedAmt", "HomeTotalAmt", "LinkedTxn"}),
            refs=(
                Ref("CustomerRef", "Customer", required=True),
                Ref("PaymentMethodRef", "PaymentMethod"),
                Ref("ARAccountRef", "Account"),
                Ref("DepositToAccountRef", "Account"),
            ),
            id_space="txn",
            party_balance=(PartyBalance("CustomerRef", "UnappliedAmt", -1),),
            postings=(Posting("DepositToAccountRef", True),),
            applies=("Invoice", "CreditMemo"),
            cdc=True,
        ),
        _expense_form(
            "Bill",
            "bill",
            required=("VendorRef", "Line"),
            refs=(
                Ref("VendorRef", "Vendor"),
                Ref("APAccountRef", "Account"),
                Ref("SalesTermRef", "Term"),
            ),
            party_balance=(PartyBalance("VendorRef", "Balance"),),
            postings=EXPENSE_LINE_POSTINGS,
            open_amount="Balance",
        ),
        _expense_form(
            "VendorCredit",
            "vendorcredit",
            required=("VendorRef", "Line"),
            refs=(Ref("VendorRef", "Vendor"), Ref("APAccountRef", "Account")),
            party_balance=(PartyBalance("VendorRef", "Balance", -1),),
            postings=tuple(Posting(p.account, False, p.amount) for p in EXPENSE_LINE_POSTINGS),
            open_amount="Balance",
        ),
        _expense_form(
            "PurchaseOrder",
            "purchaseorder",
            required=("VendorRef", "Line"),
            fields=("POStatus", "POEmail", "ShipAddr", "ShipMethodRef", "Memo", "TaxCodeRef", "ManuallyClosed"),
            refs=(
                Ref("VendorRef", "Vendor"),
                Ref("APAccountRef", "Account"),
                Ref("SalesTermRef", "Term"),
                Ref("TaxCodeRef", "TaxCode", named=False),
            ),
        ),
        _expense_form(
            "Purchase",
            "purchase",
            required=("PaymentType", "AccountRef", "Line"),
            fields=(
                "AccountRef",
                "PaymentType",
                "EntityRef",
                "Credit",
                "RemitToAddr",
                "PrintStatus",
                "PaymentMethodRef",
                "PurchaseEx",
            ),
            refs=(
                Ref("AccountRef", "Account"),
                Ref("EntityRef", ("Vendor", "Customer", "Employee")),
                Ref("PaymentMethodRef", "PaymentMethod"),
            ),
            postings=(*EXPENSE_LINE_POSTINGS, Posting("AccountRef", False)),
            unique_doc_number=True,
        ),
        EntitySpec(
            "BillPayment",
            "billpayment",
            filterable=_fields("TxnDate", "VendorRef", "TotalAmt", "DocNumber", "PayType"),
            sortable=_fields("TxnDate", "TotalAmt", "DocNumber"),
            aliases=_VENDOR_ALIAS,
            numeric=frozenset({"TotalAmt", "Id"}),
            operations=VOIDABLE,
            fields=_known(
                TXN_FIELDS,
                ("VendorRef", "PayType", "CheckPayment", "CreditCardPayment", "APAccountRef", "ProcessBillPayment"),
            ),
            required=("VendorRef", "PayType", "TotalAmt", "Line"),
            read_only=frozenset({"HomeTotalAmt", "LinkedTxn"}),
            refs=(
                Ref("VendorRef", "Vendor"),
                Ref("APAccountRef", "Account"),
                Ref("CheckPayment.BankAccountRef", "Account"),
                Ref("CreditCardPayment.CCAccountRef", "Account"),
                Ref("DepartmentRef", "Department"),
            ),
            label="DocNumber",
            id_space="txn",
            postings=(
                Posting("CheckPayment.BankAccountRef", False, when=("PayType", "Check")),
                Posting("CreditCardPayment.CCAccountRef", False, when=("PayType", "CreditCard")),
            ),
            applies=("Bill", "VendorCredit"),
            cdc=True,
        ),
        EntitySpec(
            "Deposit",
            "deposit",
            filterable=_fields(*_TXN_FILTERS),
            sortable=_fields(*_TXN_SORTS),
            numeric=frozenset({"TotalAmt", "Id"}),
            operations=TXN_OPS,
            fields=_known(TXN_FIELDS, ("DepositToAccountRef", "CashBack")),
            required=("DepositToAccountRef", "Line"),
            read_only=frozenset({"TotalAmt", "HomeTotalAmt"}),
            refs=(
                Ref("DepositToAccountRef", "Account"),
                Ref("Line.DepositLineDetail.AccountRef", "Account"),
                Ref("Line.DepositLineDetail.Entity", ("Customer", "Vendor", "Employee")),
                Ref("Line.DepositLineDetail.PaymentMethodRef", "PaymentMethod"),
                Ref("Line.DepositLineDetail.ClassRef", "Class"),
                *TRACKING_REFS,
            ),
            label="DocNumber",
            id_space="txn",
            postings=(
                Posting("DepositToAccountRef", True),
                Posting("Line.DepositLineDetail.AccountRef", False, "Amount"),
            ),
            cdc=True,
        ),
        EntitySpec(
            "Transfer",
            "transfer",
            filterable=_fields("TxnDate", "Amount"),
            sortable=_fields("TxnDate", "Amount"),
            numeric=frozenset({"Amount", "Id"}),
            operations=TXN_OPS,
            fields=frozenset(
                {
                    "Amount",
                    "FromAccountRef",
                    "ToAccountRef",
                    "TxnDate",
                    "PrivateNote",
                    "TxnSource",
                    "TransactionLocationType",
                    "CurrencyRef",
                    "ExchangeRate",
                    "RecurDataRef",
                }
            ),
            required=("Amount", "FromAccountRef", "ToAccountRef"),
            refs=(Ref("FromAccountRef", "Account"), Ref("ToAccountRef", "Account")),
            id_space="txn",
            postings=(Posting("FromAccountRef", False, "Amount"), Posting("ToAccountRef", True, "Amount")),
            cdc=True,
        ),
        EntitySpec(
            "CreditCardPayment",
            "creditcardpayment",
            filterable=_fields("TxnDate", "Amount"),
            sortable=_fields("TxnDate", "Amount"),
            numeric=frozenset({"Amount", "Id"}),
            operations=TXN_OPS,
            fields=frozenset(
                {
                    "Amount",
                    "BankAccountRef",
                    "CreditCardAccountRef",
                    "TxnDate",
                    "PrivateNote",
                    "Memo",
                    "CheckNum",
                    "PrintStatus",
                    "VendorRef",
                    "CurrencyRef",
                    "ExchangeRate",
                }
            ),
            required=("Amount", "BankAccountRef", "CreditCardAccountRef"),
            refs=(
                Ref("BankAccountRef", "Account"),
                Ref("CreditCardAccountRef", "Account"),
                Ref("VendorRef", "Vendor"),
            ),
            id_space="txn",
            json_name="CreditCardPaymentTxn",
            postings=(
                Posting("BankAccountRef", False, "Amount"),
                Posting("CreditCardAccountRef", True, "Amount"),
            ),
        ),
        EntitySpec(
            "JournalEntry",
            "journalentry",
            filterable=_fields(*_TXN_FILTERS),
            sortable=_fields(*_TXN_SORTS),
            numeric=frozenset({"TotalAmt", "Id"}),
            operations=TXN_OPS,
            fields=_known(TXN_FIELDS, ("Adjustment", "HomeTotalAmt", "JournalCodeRef")),
            required=("Line",),
            read_only=frozenset({"TotalAmt", "HomeTotalAmt"}),
            refs=(
                Ref("Line.JournalEntryLineDetail.AccountRef", "Account"),
                Ref("Line.JournalEntryLineDetail.Entity.EntityRef", ("Customer", "Vendor", "Employee")),
                Ref("Line.JournalEntryLineDetail.ClassRef", "Class"),
                Ref("Line.JournalEntryLineDetail.DepartmentRef", "Department"),
                Ref("Line.JournalEntryLineDetail.TaxCodeRef", "TaxCode", named=False),
                Ref("DepartmentRef", "Department"),
            ),
            label="DocNumber",
            id_space="txn",
            postings=(
                Posting(
                    "Line.JournalEntryLineDetail.AccountRef",
                    True,
                    "Amount",
                    when=("JournalEntryLineDetail.PostingType", "Debit"),
                ),
                Posting(
                    "Line.JournalEntryLineDetail.AccountRef",
                    False,
                    "Amount",
                    when=("JournalEntryLineDetail.PostingType", "Credit"),
                ),
            ),
            cdc=True,
        ),
        EntitySpec(
            "TimeActivity",
            "timeactivity",
            filterable=_fields("TxnDate", "NameOf", "EmployeeRef", "VendorRef", "CustomerRef", "BillableStatus"),
            sortable=_fields("TxnDate"),
            aliases={"EmployeeRef": "EmployeeRef.value", "VendorRef": "VendorRef.value", **_CUSTOMER_ALIAS},
            numeric=frozenset({"Id", "Hours", "Minutes"}),
            operations=TXN_OPS,
            fields=frozenset(
                {
                    "NameOf",
                    "EmployeeRef",
                    "VendorRef",
                    "CustomerRef",
                    "ItemRef",
                    "ClassRef",
                    "DepartmentRef",
                    "PayrollItemRef",
                    "BillableStatus",
                    "Taxable",
                    "HourlyRate",
                    "CostRate",
                    "Hours",
                    "Minutes",
                    "BreakHours",
                    "BreakMinutes",
                    "StartTime",
                    "EndTime",
                    "Description",
                    "TxnDate",
                    "AttachableRef",
                    "ProjectRef",
                    "TimeChargeId",
                    "TransactionLocationType",
                }
            ),
            required=("NameOf",),
            refs=(
                Ref("EmployeeRef", "Employee"),
                Ref("VendorRef", "Vendor"),
                Ref("CustomerRef", "Customer"),
                Ref("ItemRef", "Item"),
                *TRACKING_REFS,
            ),
            defaults=MappingProxyType({"BillableStatus": "NotBillable", "Taxable": False}),
            id_space="txn",
            cdc=True,
        ),
        EntitySpec(
            "RecurringTransaction",
            "recurringtransaction",
            filterable=_fields("Type", "Name"),
            sortable=_fields("Name"),
            aliases={
                "Id": "_Id",
                "Type": "_Type",
                "Name": "_Name",
                "MetaData.CreateTime": "_Created",
                "MetaData.LastUpdatedTime": "_Updated",
            },
            numeric=frozenset({"Id"}),
            operations=TXN_OPS,
            id_space="txn",
        ),
        # One of each per company, read at their own paths (api.Api.handle); queryable as well.
        EntitySpec(
            "Attachable",
            "attachable",
            filterable=_fields(
                "FileName", "ContentType", "AttachableRef.EntityRef.Type", "AttachableRef.EntityRef.value"
            ),
            sortable=_fields("FileName"),
            numeric=frozenset({"Id"}),
            cdc=True,
        ),
        EntitySpec(
            "Preferences",
            "preferences",
            filterable=_fields(),
            sortable=_fields(),
            readable=False,
            operations=frozenset({"query", "update"}),
            singleton=True,
            cdc=True,
        ),
        EntitySpec(
            "CompanyInfo",
            "companyinfo",
            filterable=_fields("CompanyName", "Country"),
            sortable=_fields("CompanyName"),
            readable=False,
            operations=frozenset({"query", "update"}),
            singleton=True,
        ),
    ]
}

BY_PATH: dict[str, EntitySpec] = {spec.path: spec for spec in SPECS.values()}
BY_WIRE: dict[str, EntitySpec] = {spec.wire: spec for spec in SPECS.values()}


def render(record: Mapping[str, Any]) -> dict[str, Any]:
    """A stored record as the API returns it (a deep copy; never hand out the stored dict)."""
    out = copy.deepcopy({key: value for key, value in record.items() if not key.startswith("_")})
    out.setdefault("domain", "QBO")
    out.setdefault("sparse", False)
    return out


def shown(
    spec: EntitySpec | None, stored: Mapping[str, Any] | None, row: dict[str, Any], included: Callable[[str], bool]
) -> dict[str, Any]:
    """Add to a rendered record the fields QuickBooks returns only when asked for with ``include=``
    (e.g. InvoiceLink); ``included`` says whether the request includes a word (``ApiContext.includes``)."""
    if spec is not None and stored is not None:
        for word, name in spec.on_include.items():
            if included(word) and stored.get(f"_{name}") is not None:
                row[name] = stored[f"_{name}"]
    return row
