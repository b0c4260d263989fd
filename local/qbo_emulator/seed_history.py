"""What the sample companies hold beyond their reference lists: more names (customers with jobs, vendors,
employees), payment methods, tax agencies, classes, departments, items of every type, and a few months of
transactions.

Everything is written through the same engine as API requests (``entities.engine``), so totals, tax,
balances and links are what QuickBooks would compute. Transaction dates are days before today in the
company's time zone, so the history always ends today; every record is stamped at the seed time (30 days
ago), which keeps the seeded history out of change data capture and webhooks. Nothing is random: two
emulators started on the same day hold the same data.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Any

from werkzeug.wrappers import Request

from local.qbo_emulator.api import ApiContext
from local.qbo_emulator.entities import attachable, engine, recurring
from local.qbo_emulator.entities.base import SPECS
from local.qbo_emulator.entities.registry import rules_for
from local.qbo_emulator.store import Realm, Record


class Seeder:
    """Writes records into one company as the API would, stamped at ``when``."""

    def __init__(self, realm: Realm, when: datetime, today: date) -> None:
        self.realm = realm
        self.when = when
        self.today = today
        self._request = Request.from_values()

    def context(self, body: Record | None = None) -> ApiContext:
        return ApiContext(
            realm=self.realm,
            client_id="seed",
            request=self._request,
            now=self.when,
            segments=[],
            body_override=body,
            params_override={},
        )

    def create(self, entity: str, body: Record) -> Record:
        with self.realm.lock:
            return engine.create(self.context(), SPECS[entity], rules_for(entity), body)

    def day(self, days_ago: int) -> str:
        return (self.today - timedelta(days=days_ago)).isoformat()

    def recurring(self, kind: str, template: Record) -> None:
        recurring.make_writer(rules_for)(self.context({kind: template}))

    def note(self, entity: str, entity_id: str, text: str) -> None:
        attachable.write(
            self.context({"Note": text, "AttachableRef": [{"EntityRef": {"type": entity, "value": entity_id}}]})
        )


def ref(value: str) -> dict[str, str]:
    return {"value": value}


def sales_line(item: str, qty: str, price: str, tax: str | None = None, description: str | None = None) -> Record:
    detail: Record = {"ItemRef": ref(item), "Qty": qty, "UnitPrice": price}
    if tax is not None:
        detail["TaxCodeRef"] = ref(tax)
    line: Record = {"DetailType": "SalesItemLineDetail", "SalesItemLineDetail": detail}
    if description is not None:
        line["Description"] = description
    return line


def expense_line(account: str, amount: str, description: str | None = None) -> Record:
    line: Record = {
        "DetailType": "AccountBasedExpenseLineDetail",
        "Amount": amount,
        "AccountBasedExpenseLineDetail": {"AccountRef": ref(account)},
    }
    if description is not None:
        line["Description"] = description
    return line


def item_expense_line(item: str, qty: str, price: str) -> Record:
    return {
        "DetailType": "ItemBasedExpenseLineDetail",
        "ItemBasedExpenseLineDetail": {"ItemRef": ref(item), "Qty": qty, "UnitPrice": price},
    }


def applied(*links: tuple[str, str, str]) -> list[Record]:
    """Payment lines: (entity, id, amount)."""
    return [{"Amount": amount, "LinkedTxn": [{"TxnId": txn, "TxnType": kind}]} for kind, txn, amount in links]


def seed_lists(seeder: Seeder, *, us: bool) -> None:
    """Payment methods, tax agencies, classes, departments and the items beyond the first six."""
    methods = [
        ("Cash", "NON_CREDIT_CARD"),
        ("Check" if us else "Cheque", "NON_CREDIT_CARD"),
        ("Visa", "CREDIT_CARD"),
        ("MasterCard", "CREDIT_CARD"),
        ("American Express" if us else "BACS", "CREDIT_CARD" if us else "NON_CREDIT_CARD"),
    ]
    for name, kind in methods:
        seeder.create("PaymentMethod", {"Name": name, "Type": kind})
    agencies = (
        ["California Department of Tax and Fee Administration", "Arizona Department of Revenue"]
        if us
        else ["HM Revenue & Customs"]
    )
    for agency in agencies:
        seeder.create("TaxAgency", {"DisplayName": agency, "TaxTrackedOnSales": True, "TaxTrackedOnPurchases": not us})
    for name in ("Consulting", "Design Studio", "Training"):
        seeder.create("Class", {"Name": name})
    seeder.create("Class", {"Name": "Workshops", "SubClass": True, "ParentRef": ref("3")})
    for name in ("Headquarters", "Online"):
        seeder.create("Department", {"Name": name})
    seeder.create("Department", {"Name": "Marketplace", "SubDepartment": True, "ParentRef": ref("2")})
    sales_tax: Record = {} if us else {"SalesTaxCodeRef": ref("3")}
    start = seeder.day(365)
    items: list[Record] = [
        {
            "Name": "Hosting",
            "Type": "Service",
            "UnitPrice": "40",
            "Description": "Website hosting, per month",
            "IncomeAccountRef": ref("1"),
            "Taxable": us,
        },
        {
            "Name": "Widget",
            "Type": "Inventory",
            "UnitPrice": "25",
            "PurchaseCost": "10",
            "Sku": "WID-001",
            "Description": "Standard widget",
            "IncomeAccountRef": ref("5"),
            "ExpenseAccountRef": ref("80"),
            "AssetAccountRef": ref("81"),
            "QtyOnHand": "100",
            "InvStartDate": start,
            "Taxable": us,
        },
        {
            "Name": "Office Supplies",
            "Type": "NonInventory",
            "UnitPrice": "15",
            "PurchaseCost": "9",
            "Description": "Paper, pens and toner",
            "IncomeAccountRef": ref("5"),
            "ExpenseAccountRef": ref("91"),
            "Taxable": us,
        },
        {
            "Name": "Pest Control",
            "Type": "Service",
            "UnitPrice": "35",
            "Description": "Pest control visit",
            "IncomeAccountRef": ref("1"),
            "Taxable": False,
        },
        {
            "Name": "Sprinkler Heads",
            "Type": "Inventory",
            "UnitPrice": "2",
            "PurchaseCost": "0.75",
            "Sku": "SPR-002",
            "Description": "Sprinkler heads",
            "IncomeAccountRef": ref("5"),
            "ExpenseAccountRef": ref("80"),
            "AssetAccountRef": ref("81"),
            "QtyOnHand": "25",
            "InvStartDate": start,
            "Taxable": us,
        },
    ]
    for body in items:
        seeder.create("Item", {**body, **sales_tax})


def seed_us_history(realm: Realm, when: datetime, today: date) -> None:
    s = Seeder(realm, when, today)
    seed_lists(s, us=True)
    freeman = s.create(
        "Customer",
        {
            "DisplayName": "Freeman Sporting Goods",
            "CompanyName": "Freeman Sporting Goods",
            "PrimaryEmailAddr": {"Address": "sports@freeman.example"},
        },
    )
    ocean = s.create(
        "Customer",
        {"DisplayName": "0969 Ocean View Road", "Job": True, "ParentRef": ref(freeman["Id"]), "BillWithParent": True},
    )
    twin = s.create("Customer", {"DisplayName": "55 Twin Lane", "Job": True, "ParentRef": ref(freeman["Id"])})
    geeta = s.create(
        "Customer",
        {
            "DisplayName": "Geeta Kalapatapu",
            "GivenName": "Geeta",
            "FamilyName": "Kalapatapu",
            "PrimaryEmailAddr": {"Address": "geeta@kal.example"},
        },
    )
    kathy = s.create(
        "Customer", {"DisplayName": "Kookies by Kathy", "CompanyName": "Kookies by Kathy", "SalesTermRef": ref("2")}
    )
    hall = s.create("Vendor", {"DisplayName": "Hall Properties", "CompanyName": "Hall Properties", "TermRef": ref("3")})
    bessie = s.create("Vendor", {"DisplayName": "Books by Bessie", "CompanyName": "Books by Bessie", "AcctNum": "1345"})
    phone = s.create("Vendor", {"DisplayName": "Cal Telephone", "CompanyName": "Cal Telephone"})
    john = s.create(
        "Employee",
        {
            "GivenName": "John",
            "FamilyName": "Johnson",
            "EmployeeNumber": "E-2",
            "BillableTime": True,
            "HiredDate": s.day(400),
        },
    )
    northwind, emily = "8", "9"
    tax = {"TxnTaxCodeRef": ref("2")}

    def invoice(customer: str, days_ago: int, *lines: Record, **extra: Any) -> Record:
        return s.create(
            "Invoice", {"CustomerRef": ref(customer), "TxnDate": s.day(days_ago), "Line": list(lines), **extra}
        )

    i8 = invoice(twin["Id"], 95, sales_line("9", "10", "15", "NON"))
    i1 = invoice("1", 85, sales_line("2", "10", "75", "TAX", "Garden design"), TxnTaxDetail=tax)
    i2 = invoice("2", 70, sales_line("4", "5", "150", "NON"))
    i3 = invoice("3", 55, sales_line("3", "8", "120", "TAX"), TxnTaxDetail=tax)
    i4 = invoice(ocean["Id"], 45, sales_line("10", "3", "35", "NON"), sales_line("8", "4", "25", "NON"))
    i5 = invoice(geeta["Id"], 30, sales_line("5", "1", "500", "NON"))
    i6 = invoice(kathy["Id"], 12, sales_line("7", "3", "40", "NON"))
    invoice(
        "4",
        5,
        sales_line("4", "2", "150", "NON"),
        {"DetailType": "DiscountLineDetail", "DiscountLineDetail": {"PercentBased": True, "DiscountPercent": "10"}},
    )
    del i6, i8
    cm1 = s.create(
        "CreditMemo",
        {
            "CustomerRef": ref(geeta["Id"]),
            "TxnDate": s.day(25),
            "Line": [sales_line("5", "1", "100", "NON", "Session cancelled")],
        },
    )
    s.create(
        "CreditMemo",
        {
            "CustomerRef": ref(kathy["Id"]),
            "TxnDate": s.day(4),
            "Line": [sales_line("7", "1", "40", "NON", "Hosting outage credit")],
        },
    )

    def payment(customer: str, days_ago: int, total: str, *links: tuple[str, str, str], **extra: Any) -> Record:
        return s.create(
            "Payment",
            {
                "CustomerRef": ref(customer),
                "TxnDate": s.day(days_ago),
                "TotalAmt": total,
                "Line": applied(*links),
                **extra,
            },
        )

    p1 = payment(
        "1",
        60,
        str(i1["TotalAmt"]),
        ("Invoice", i1["Id"], str(i1["TotalAmt"])),
        PaymentMethodRef=ref("2"),
        PaymentRefNum="1042",
    )
    p2 = payment("2", 40, "300", ("Invoice", i2["Id"], "300"), PaymentMethodRef=ref("1"))
    payment(ocean["Id"], 20, str(i4["TotalAmt"]), ("Invoice", i4["Id"], str(i4["TotalAmt"])), PaymentMethodRef=ref("3"))
    payment(geeta["Id"], 10, "400", ("Invoice", i5["Id"], "500"), ("CreditMemo", cm1["Id"], "100"))
    payment("6", 8, "50", PaymentMethodRef=ref("1"), PrivateNote="Prepayment")
    payment("3", 3, "46.40", ("Invoice", i3["Id"], "46.40"), PaymentMethodRef=ref("2"), PaymentRefNum="2210")
    s.create(
        "SalesReceipt",
        {
            "CustomerRef": ref("5"),
            "TxnDate": s.day(50),
            "PaymentMethodRef": ref("1"),
            "Line": [sales_line("5", "1", "500", "NON")],
        },
    )
    s.create(
        "SalesReceipt",
        {
            "CustomerRef": ref(geeta["Id"]),
            "TxnDate": s.day(7),
            "PaymentMethodRef": ref("3"),
            "DepositToAccountRef": ref("6"),
            "Line": [sales_line("7", "2", "40", "NON")],
        },
    )
    s.create(
        "RefundReceipt",
        {
            "CustomerRef": ref("5"),
            "TxnDate": s.day(6),
            "DepositToAccountRef": ref("6"),
            "PaymentMethodRef": ref("2"),
            "Line": [sales_line("5", "1", "100", "NON")],
        },
    )
    s.create(
        "Deposit",
        {
            "TxnDate": s.day(15),
            "DepositToAccountRef": ref("6"),
            "Line": [
                {"Amount": str(p1["TotalAmt"]), "LinkedTxn": [{"TxnId": p1["Id"], "TxnType": "Payment"}]},
                {"Amount": str(p2["TotalAmt"]), "LinkedTxn": [{"TxnId": p2["Id"], "TxnType": "Payment"}]},
            ],
        },
    )
    s.create(
        "Estimate",
        {
            "CustomerRef": ref(freeman["Id"]),
            "TxnDate": s.day(35),
            "TxnStatus": "Accepted",
            "Line": [sales_line("3", "20", "120", "NON")],
        },
    )
    s.create(
        "Estimate",
        {
            "CustomerRef": ref("4"),
            "TxnDate": s.day(2),
            "ExpirationDate": s.day(-28),
            "Line": [sales_line("4", "10", "150", "NON")],
        },
    )

    def bill(vendor: str, days_ago: int, *lines: Record, **extra: Any) -> Record:
        return s.create("Bill", {"VendorRef": ref(vendor), "TxnDate": s.day(days_ago), "Line": list(lines), **extra})

    b1 = bill(hall["Id"], 62, expense_line("92", "1200", "Office rent"))
    b2 = bill(bessie["Id"], 40, expense_line("93", "300", "Bookkeeping"))
    bill(northwind, 20, item_expense_line("8", "10", "10"))
    bill(phone["Id"], 3, expense_line("91", "89.99", "Telephone"))
    check = {"BankAccountRef": ref("6"), "PrintStatus": "NotSet"}
    s.create(
        "BillPayment",
        {
            "VendorRef": ref(hall["Id"]),
            "TxnDate": s.day(32),
            "PayType": "Check",
            "CheckPayment": check,
            "TotalAmt": "1200",
            "DocNumber": "5001",
            "Line": applied(("Bill", b1["Id"], "1200")),
        },
    )
    s.create(
        "BillPayment",
        {
            "VendorRef": ref(bessie["Id"]),
            "TxnDate": s.day(9),
            "PayType": "Check",
            "CheckPayment": check,
            "TotalAmt": "100",
            "DocNumber": "5002",
            "Line": applied(("Bill", b2["Id"], "100")),
        },
    )
    s.create(
        "VendorCredit",
        {"VendorRef": ref(bessie["Id"]), "TxnDate": s.day(8), "Line": [expense_line("93", "50", "Billing correction")]},
    )
    s.create(
        "Purchase",
        {
            "PaymentType": "CreditCard",
            "AccountRef": ref("42"),
            "TxnDate": s.day(18),
            "EntityRef": {"type": "Vendor", "value": northwind},
            "Line": [expense_line("91", "65.40", "Printer toner")],
        },
    )
    s.create(
        "Purchase",
        {
            "PaymentType": "Check",
            "AccountRef": ref("6"),
            "TxnDate": s.day(14),
            "DocNumber": "1050",
            "EntityRef": {"type": "Vendor", "value": phone["Id"]},
            "Line": [expense_line("91", "120", "Phone installation")],
        },
    )
    s.create(
        "Purchase",
        {
            "PaymentType": "Cash",
            "AccountRef": ref("6"),
            "TxnDate": s.day(2),
            "Line": [expense_line("7", "18.25", "Flyers")],
        },
    )
    s.create(
        "PurchaseOrder",
        {"VendorRef": ref(northwind), "TxnDate": s.day(11), "Line": [item_expense_line("8", "50", "10")]},
    )
    s.create(
        "Transfer",
        {
            "Amount": "1000",
            "FromAccountRef": ref("6"),
            "ToAccountRef": ref("36"),
            "TxnDate": s.day(28),
            "PrivateNote": "Monthly savings",
        },
    )
    s.create(
        "CreditCardPayment",
        {"Amount": "65.40", "BankAccountRef": ref("6"), "CreditCardAccountRef": ref("42"), "TxnDate": s.day(1)},
    )
    s.create(
        "JournalEntry",
        {
            "TxnDate": s.day(31),
            "DocNumber": "JE-1",
            "Line": [
                {
                    "DetailType": "JournalEntryLineDetail",
                    "Amount": "150",
                    "Description": "Truck depreciation",
                    "JournalEntryLineDetail": {"PostingType": "Debit", "AccountRef": ref("98")},
                },
                {
                    "DetailType": "JournalEntryLineDetail",
                    "Amount": "150",
                    "Description": "Truck depreciation",
                    "JournalEntryLineDetail": {"PostingType": "Credit", "AccountRef": ref("94")},
                },
            ],
        },
    )
    s.create(
        "TimeActivity",
        {
            "NameOf": "Employee",
            "EmployeeRef": ref(emily),
            "CustomerRef": ref("1"),
            "ItemRef": ref("4"),
            "BillableStatus": "Billable",
            "HourlyRate": "150",
            "Hours": 3,
            "Minutes": 0,
            "TxnDate": s.day(6),
            "Description": "Site visit",
        },
    )
    s.create(
        "TimeActivity",
        {
            "NameOf": "Employee",
            "EmployeeRef": ref(john["Id"]),
            "Hours": 2,
            "Minutes": 30,
            "TxnDate": s.day(4),
            "Description": "Inventory count",
            "CostRate": "40",
        },
    )
    schedule = {"IntervalType": "Monthly", "NumInterval": 1, "DayOfMonth": 1, "StartDate": s.day(60)}
    s.recurring(
        "Invoice",
        {
            "CustomerRef": ref(kathy["Id"]),
            "Line": [sales_line("7", "1", "40", "NON")],
            "RecurringInfo": {
                "Name": "Monthly hosting",
                "RecurType": "Automated",
                "Active": True,
                "ScheduleInfo": schedule,
            },
        },
    )
    s.recurring(
        "Bill",
        {
            "VendorRef": ref(hall["Id"]),
            "Line": [expense_line("92", "1200", "Office rent")],
            "RecurringInfo": {
                "Name": "Office rent",
                "RecurType": "Automated",
                "Active": True,
                "ScheduleInfo": schedule,
            },
        },
    )
    s.note("Vendor", northwind, "Preferred supplier for widgets")


def seed_uk_history(realm: Realm, when: datetime, today: date) -> None:
    s = Seeder(realm, when, today)
    seed_lists(s, us=False)
    bakery = s.create(
        "Customer",
        {
            "DisplayName": "Kensington Bakery",
            "CompanyName": "Kensington Bakery",
            "PrimaryEmailAddr": {"Address": "orders@kensington-bakery.example"},
        },
    )
    refit = s.create("Customer", {"DisplayName": "Shop Refit", "Job": True, "ParentRef": ref(bakery["Id"])})
    thames = s.create("Vendor", {"DisplayName": "Thames Office Supplies", "CompanyName": "Thames Office Supplies"})
    s.create("Employee", {"GivenName": "Priya", "FamilyName": "Patel", "EmployeeNumber": "E-2"})
    northwind = "7"

    def invoice(customer: str, days_ago: int, *lines: Record) -> Record:
        return s.create("Invoice", {"CustomerRef": ref(customer), "TxnDate": s.day(days_ago), "Line": list(lines)})

    invoice("2", 95, sales_line("5", "1", "500", "4"))
    i1 = invoice("1", 60, sales_line("2", "10", "75", "3"))
    i2 = invoice("4", 40, sales_line("4", "4", "150", "5"))
    invoice(refit["Id"], 20, sales_line("10", "3", "35", "3"))
    s.create(
        "Payment",
        {
            "CustomerRef": ref("1"),
            "TxnDate": s.day(30),
            "TotalAmt": str(i1["TotalAmt"]),
            "PaymentMethodRef": ref("5"),
            "Line": applied(("Invoice", i1["Id"], str(i1["TotalAmt"]))),
        },
    )
    s.create(
        "Payment",
        {
            "CustomerRef": ref("4"),
            "TxnDate": s.day(15),
            "TotalAmt": "200",
            "Line": applied(("Invoice", i2["Id"], "200")),
        },
    )
    s.create("CreditMemo", {"CustomerRef": ref("2"), "TxnDate": s.day(10), "Line": [sales_line("5", "1", "100", "4")]})
    s.create(
        "SalesReceipt",
        {
            "CustomerRef": ref("3"),
            "TxnDate": s.day(8),
            "PaymentMethodRef": ref("3"),
            "Line": [sales_line("7", "2", "40", "3")],
        },
    )
    b1 = s.create(
        "Bill",
        {"VendorRef": ref(thames["Id"]), "TxnDate": s.day(25), "Line": [expense_line("91", "250", "Stationery")]},
    )
    s.create(
        "BillPayment",
        {
            "VendorRef": ref(thames["Id"]),
            "TxnDate": s.day(5),
            "PayType": "Check",
            "CheckPayment": {"BankAccountRef": ref("6")},
            "TotalAmt": "250",
            "Line": applied(("Bill", b1["Id"], "250")),
        },
    )
    s.create(
        "Purchase",
        {
            "PaymentType": "CreditCard",
            "AccountRef": ref("42"),
            "TxnDate": s.day(12),
            "EntityRef": {"type": "Vendor", "value": northwind},
            "Line": [expense_line("91", "40", "Printer paper")],
        },
    )
    s.create(
        "TimeActivity",
        {
            "NameOf": "Employee",
            "EmployeeRef": ref("8"),
            "CustomerRef": ref("1"),
            "Hours": 2,
            "Minutes": 0,
            "TxnDate": s.day(3),
            "Description": "Design review",
        },
    )
    schedule = {"IntervalType": "Monthly", "NumInterval": 1, "DayOfMonth": 1, "StartDate": s.day(30)}
    s.recurring(
        "Invoice",
        {
            "CustomerRef": ref(bakery["Id"]),
            "Line": [sales_line("7", "1", "40", "3")],
            "RecurringInfo": {"Name": "Monthly hosting", "ScheduleInfo": schedule},
        },
    )
    s.recurring(
        "Bill",
        {
            "VendorRef": ref(thames["Id"]),
            "Line": [expense_line("91", "30", "Paper subscription")],
            "RecurringInfo": {"Name": "Paper subscription", "ScheduleInfo": schedule},
        },
    )
    s.note("Vendor", northwind, "Preferred supplier for widgets")
