"""Every writable entity through the one engine, table-driven: create, read, query, sparse and full
update with SyncToken (5010 when stale), a required field (2020), a reference to nothing (2500), and
delete, void or deactivation as QuickBooks offers it."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest

from local.qbo_emulator.entities import SPECS
from tests.emulators.qbo.helpers import Api

Body = dict[str, Any]


def ref(value: str) -> dict[str, str]:
    return {"value": value}


def sales_line(item: str = "2", amount: str = "150") -> Body:
    return {
        "DetailType": "SalesItemLineDetail",
        "Amount": amount,
        "SalesItemLineDetail": {"ItemRef": ref(item), "TaxCodeRef": ref("NON")},
    }


def expense_line(account: str = "91", amount: str = "40") -> Body:
    return {
        "DetailType": "AccountBasedExpenseLineDetail",
        "Amount": amount,
        "AccountBasedExpenseLineDetail": {"AccountRef": ref(account)},
    }


def created(api: Api, path: str, body: Body, key: str) -> Body:
    response = api.post(path, body)
    assert response.status_code == 200, response.text
    return dict(response.json()[key])


def error(response: httpx.Response) -> Body:
    assert response.status_code == 400, response.text
    return dict(response.json()["Fault"]["Error"][0])


def bill_payment(api: Api) -> Body:
    bill = created(api, "bill", {"VendorRef": ref("8"), "Line": [expense_line(amount="75")]}, "Bill")
    return {
        "VendorRef": ref("8"),
        "PayType": "Check",
        "CheckPayment": {"BankAccountRef": ref("6")},
        "TotalAmt": "75",
        "Line": [{"Amount": "75", "LinkedTxn": [{"TxnId": bill["Id"], "TxnType": "Bill"}]}],
    }


@dataclass
class Case:
    entity: str
    body: Callable[[Api], Body]
    change: Body  # a sparse update, echoed back
    kept: str  # a field of the created record a sparse update keeps
    removal: str  # delete, void, inactive (never deleted), none (neither)
    required: str | None = None  # a field whose absence is 2020
    bad_ref: tuple[str, ...] | None = None  # path to a reference set to an id that does not exist
    realm: str = "us"
    expect: Body = field(default_factory=dict)  # fields a create answers with

    @property
    def path(self) -> str:
        return SPECS[self.entity].path

    @property
    def key(self) -> str:
        return SPECS[self.entity].wire


CASES = [
    Case(
        "Customer",
        lambda a: {"DisplayName": "Engine Co"},
        {"Notes": "n"},
        "DisplayName",
        "inactive",
        bad_ref=("SalesTermRef",),
        expect={"FullyQualifiedName": "Engine Co", "Job": False},
    ),
    Case(
        "Vendor",
        lambda a: {"DisplayName": "Engine Vendor", "CompanyName": "EV"},
        {"AcctNum": "77"},
        "CompanyName",
        "inactive",
        bad_ref=("TermRef",),
    ),
    Case(
        "Employee",
        lambda a: {"GivenName": "Eng", "FamilyName": "Ine"},
        {"EmployeeNumber": "E-9"},
        "GivenName",
        "inactive",
        expect={"DisplayName": "Eng Ine"},
    ),
    Case(
        "Item",
        lambda a: {"Name": "Engine Item", "Type": "Service", "IncomeAccountRef": ref("1")},
        {"UnitPrice": 12},
        "Type",
        "inactive",
        required="Name",
        bad_ref=("IncomeAccountRef",),
        expect={"IncomeAccountRef": {"value": "1", "name": "Services"}},
    ),
    Case(
        "Account",
        lambda a: {"Name": "Engine Bank", "AccountType": "Bank"},
        {"Description": "d"},
        "AccountType",
        "inactive",
        required="Name",
        bad_ref=("TaxCodeRef",),
        expect={"Classification": "Asset", "AccountSubType": "Checking", "CurrentBalance": 0},
    ),
    Case(
        "Term",
        lambda a: {"Name": "Net 45", "DueDays": 45},
        {"DueDays": 50},
        "Name",
        "inactive",
        required="Name",
        expect={"Type": "STANDARD", "Active": True},
    ),
    Case(
        "Class",
        lambda a: {"Name": "Engine Class"},
        {"Name": "Engine Class 2"},
        "Active",
        "inactive",
        required="Name",
        expect={"FullyQualifiedName": "Engine Class", "SubClass": False},
    ),
    Case(
        "Department",
        lambda a: {"Name": "Engine Dept"},
        {"Name": "Engine Dept 2"},
        "Active",
        "inactive",
        required="Name",
        expect={"FullyQualifiedName": "Engine Dept", "SubDepartment": False},
    ),
    Case(
        "PaymentMethod",
        lambda a: {"Name": "Wire"},
        {"Name": "Wire transfer"},
        "Type",
        "inactive",
        required="Name",
        expect={"Type": "NON_CREDIT_CARD"},
    ),
    Case(
        "CompanyCurrency",
        lambda a: {"Code": "CAD"},
        {"Active": False},
        "Code",
        "inactive",
        required="Code",
        realm="uk",
        expect={"Name": "Canadian Dollar"},
    ),
    Case(
        "Invoice",
        lambda a: {"CustomerRef": ref("1"), "Line": [sales_line()]},
        {"PrivateNote": "x"},
        "CustomerRef",
        "void",
        required="CustomerRef",
        bad_ref=("CustomerRef",),
        expect={"TotalAmt": 150, "Balance": 150},
    ),
    Case(
        "Estimate",
        lambda a: {"CustomerRef": ref("1"), "Line": [sales_line()]},
        {"PrivateNote": "x"},
        "CustomerRef",
        "delete",
        required="CustomerRef",
        bad_ref=("Line", "SalesItemLineDetail", "ItemRef"),
        expect={"TxnStatus": "Pending", "TotalAmt": 150},
    ),
    Case(
        "CreditMemo",
        lambda a: {"CustomerRef": ref("1"), "Line": [sales_line()]},
        {"PrivateNote": "x"},
        "CustomerRef",
        "delete",
        required="Line",
        bad_ref=("CustomerRef",),
        expect={"TotalAmt": 150, "RemainingCredit": 150},
    ),
    Case(
        "SalesReceipt",
        lambda a: {"CustomerRef": ref("1"), "Line": [sales_line()]},
        {"PrivateNote": "x"},
        "CustomerRef",
        "void",
        required="Line",
        bad_ref=("DepositToAccountRef",),
        expect={"TotalAmt": 150, "DepositToAccountRef": {"value": "4", "name": "Undeposited Funds"}},
    ),
    Case(
        "RefundReceipt",
        lambda a: {"DepositToAccountRef": ref("6"), "Line": [sales_line()]},
        {"PrivateNote": "x"},
        "DepositToAccountRef",
        "delete",
        required="DepositToAccountRef",
        bad_ref=("PaymentMethodRef",),
        expect={"TotalAmt": 150, "Balance": 0},
    ),
    Case(
        "Payment",
        lambda a: {"CustomerRef": ref("1"), "TotalAmt": "10"},
        {"PaymentRefNum": "X"},
        "CustomerRef",
        "void",
        required="CustomerRef",
        bad_ref=("PaymentMethodRef",),
        expect={"UnappliedAmt": 10},
    ),
    Case(
        "Bill",
        lambda a: {"VendorRef": ref("8"), "Line": [expense_line()]},
        {"PrivateNote": "x"},
        "VendorRef",
        "delete",
        required="VendorRef",
        bad_ref=("Line", "AccountBasedExpenseLineDetail", "AccountRef"),
        expect={"TotalAmt": 40, "Balance": 40, "APAccountRef": {"value": "33", "name": "Accounts Payable (A/P)"}},
    ),
    Case(
        "VendorCredit",
        lambda a: {"VendorRef": ref("8"), "Line": [expense_line()]},
        {"PrivateNote": "x"},
        "VendorRef",
        "delete",
        required="Line",
        bad_ref=("VendorRef",),
        expect={"TotalAmt": 40, "Balance": 40},
    ),
    Case(
        "PurchaseOrder",
        lambda a: {
            "VendorRef": ref("8"),
            "Line": [
                {
                    "DetailType": "ItemBasedExpenseLineDetail",
                    "ItemBasedExpenseLineDetail": {"ItemRef": ref("8"), "Qty": 3, "UnitPrice": 10},
                }
            ],
        },
        {"PrivateNote": "x"},
        "VendorRef",
        "delete",
        required="VendorRef",
        bad_ref=("Line", "ItemBasedExpenseLineDetail", "ItemRef"),
        expect={"TotalAmt": 30, "POStatus": "Open"},
    ),
    Case(
        "Purchase",
        lambda a: {"PaymentType": "Cash", "AccountRef": ref("6"), "Line": [expense_line()]},
        {"PrivateNote": "x"},
        "AccountRef",
        "delete",
        required="AccountRef",
        bad_ref=("AccountRef",),
        expect={"TotalAmt": 40},
    ),
    Case(
        "BillPayment",
        bill_payment,
        {"PrivateNote": "x"},
        "VendorRef",
        "void",
        required="PayType",
        bad_ref=("CheckPayment", "BankAccountRef"),
        expect={"TotalAmt": 75},
    ),
    Case(
        "Deposit",
        lambda a: {
            "DepositToAccountRef": ref("36"),
            "Line": [{"Amount": "5", "DetailType": "DepositLineDetail", "DepositLineDetail": {"AccountRef": ref("6")}}],
        },
        {"PrivateNote": "x"},
        "DepositToAccountRef",
        "delete",
        required="DepositToAccountRef",
        bad_ref=("Line", "DepositLineDetail", "AccountRef"),
        expect={"TotalAmt": 5},
    ),
    Case(
        "Transfer",
        lambda a: {"Amount": "5", "FromAccountRef": ref("6"), "ToAccountRef": ref("36")},
        {"Amount": 6},
        "FromAccountRef",
        "delete",
        required="Amount",
        bad_ref=("ToAccountRef",),
    ),
    Case(
        "CreditCardPayment",
        lambda a: {"Amount": "5", "BankAccountRef": ref("6"), "CreditCardAccountRef": ref("42")},
        {"Amount": 6},
        "BankAccountRef",
        "delete",
        required="CreditCardAccountRef",
        bad_ref=("BankAccountRef",),
    ),
    Case(
        "JournalEntry",
        lambda a: {
            "Line": [
                {
                    "DetailType": "JournalEntryLineDetail",
                    "Amount": "9",
                    "JournalEntryLineDetail": {"PostingType": "Debit", "AccountRef": ref("91")},
                },
                {
                    "DetailType": "JournalEntryLineDetail",
                    "Amount": "9",
                    "JournalEntryLineDetail": {"PostingType": "Credit", "AccountRef": ref("6")},
                },
            ]
        },
        {"PrivateNote": "x"},
        "Line",
        "delete",
        required="Line",
        bad_ref=("Line", "JournalEntryLineDetail", "AccountRef"),
        expect={"TotalAmt": 9},
    ),
    Case(
        "TimeActivity",
        lambda a: {"NameOf": "Employee", "EmployeeRef": ref("9"), "Hours": 1, "Minutes": 30},
        {"Description": "d"},
        "EmployeeRef",
        "delete",
        required="NameOf",
        bad_ref=("EmployeeRef",),
        expect={"BillableStatus": "NotBillable"},
    ),
    Case(
        "TaxAgency",
        lambda a: {"DisplayName": "Engine Tax Agency"},
        {},
        "DisplayName",
        "none",
        required="DisplayName",
        expect={"TaxTrackedOnSales": True},
    ),
]
IDS = [case.entity for case in CASES]


@pytest.fixture
def api(case: Case, request: pytest.FixtureRequest) -> Api:
    return request.getfixturevalue(case.realm)


@pytest.fixture(params=CASES, ids=IDS)
def case(request: pytest.FixtureRequest) -> Case:
    return request.param


def test_create_read_query(case: Case, api: Api) -> None:
    record = created(api, case.path, case.body(api), case.key)
    assert record["Id"]
    assert record["SyncToken"] == "0"
    assert record["MetaData"]["CreateTime"] == record["MetaData"]["LastUpdatedTime"]
    for name, value in case.expect.items():
        assert record[name] == value, name
    read = api.get(f"{case.path}/{record['Id']}")
    assert read.status_code == 200, read.text
    assert read.json()[case.key] == record
    rows = api.rows(f"select * from {case.entity} where Id = '{record['Id']}'", case.key)
    assert [row["Id"] for row in rows] == [record["Id"]]


def test_sparse_and_full_update_with_sync_token(case: Case, api: Api) -> None:
    if not SPECS[case.entity].allows("update"):
        response = api.post(case.path, {"Id": "1", "SyncToken": "0", "sparse": True})
        assert error(response)["code"] == "500"
        return
    record = created(api, case.path, case.body(api), case.key)
    sparse = api.post(case.path, {"Id": record["Id"], "SyncToken": "0", "sparse": True, **case.change})
    assert sparse.status_code == 200, sparse.text
    changed = sparse.json()[case.key]
    assert changed["SyncToken"] == "1"
    for name, value in case.change.items():
        assert changed[name] == value, name
    assert changed[case.kept] == record[case.kept]
    # a full update sends the record back as read (python-quickbooks' way)
    full = api.post(case.path, {**changed, "sparse": False})
    assert full.status_code == 200, full.text
    assert full.json()[case.key]["SyncToken"] == "2"
    assert error(api.post(case.path, {**changed, "sparse": False}))["code"] == "5010"


@pytest.mark.parametrize("case", [c for c in CASES if c.required], ids=lambda c: c.entity)
def test_required_field(case: Case, api: Api) -> None:
    assert case.required is not None
    body = case.body(api)
    body.pop(case.required)
    fault = error(api.post(case.path, body))
    assert fault["code"] == "2020"
    assert case.required in fault["element"]


@pytest.mark.parametrize("case", [c for c in CASES if c.bad_ref], ids=lambda c: c.entity)
def test_reference_to_nothing(case: Case, api: Api) -> None:
    assert case.bad_ref is not None
    body = case.body(api)
    node: Any = body
    for part in case.bad_ref[:-1]:
        node = node[part][0] if isinstance(node[part], list) else node[part]
    node[case.bad_ref[-1]] = ref("424242")
    fault = error(api.post(case.path, body))
    assert fault["code"] == "2500"
    assert fault["Message"] == "Invalid Reference Id"
    assert fault["element"] == ".".join(case.bad_ref)


def test_removal(case: Case, api: Api) -> None:
    record = created(api, case.path, case.body(api), case.key)
    stamp = {"Id": record["Id"], "SyncToken": record["SyncToken"]}
    if case.removal == "delete":
        deleted = api.post(case.path, stamp, operation="delete")
        assert deleted.status_code == 200, deleted.text
        assert deleted.json()[case.key] == {"Id": record["Id"], "status": "Deleted", "domain": "QBO"}
        assert api.get(f"{case.path}/{record['Id']}").status_code == 404
        assert api.rows(f"select * from {case.entity} where Id = '{record['Id']}'", case.key) == []
    elif case.removal == "void":
        voided = api.post(case.path, {**stamp, "sparse": True}, operation="update", include="void")
        assert voided.status_code == 200, voided.text
        body = voided.json()[case.key]
        assert body["TotalAmt"] == 0
        assert body["PrivateNote"].startswith("Voided")
        assert (
            error(
                api.post(
                    case.path,
                    {"Id": record["Id"], "SyncToken": body["SyncToken"], "sparse": True, "PrivateNote": "again"},
                )
            )["code"]
            == "6000"
        )
    else:
        refused = api.post(case.path, stamp, operation="delete")
        assert error(refused)["code"] == "500"
        if case.removal == "inactive":
            off = api.post(case.path, {**stamp, "sparse": True, "Active": False})
            assert off.json()[case.key]["Active"] is False
            listed = api.rows(f"select * from {case.entity} where Id = '{record['Id']}'", case.key)
            assert listed == []
