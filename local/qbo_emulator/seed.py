"""The two sandbox companies every emulator starts with.

US ("Sandbox Company US"): USD, no multicurrency, US sales-tax model (TAX/NON pseudo codes on lines,
one tax code per transaction), no Automated Sales Tax, CustomTxnNumbers off.
UK ("Sandbox Company UK"): GBP, multicurrency on, per-line VAT codes ("20.0% S", "5.0% R", ...).

Both companies are in one time zone, US Pacific unless ``build_realms(now, tz=...)`` names another
(``QboEmulator(tz=...)``, ``--tz``, ``QBO_EMULATOR_TZ`` for the local stack).

Names are chosen to exercise escaping (``'``, ``&``, non-ASCII) and the shared Customer/Vendor/Employee
name space: the Vendor "Northwind Traders" and the Employee "Emily Platt" exist as no customer yet.
"""

from __future__ import annotations

from datetime import datetime, timedelta, tzinfo
from decimal import Decimal
from typing import Any

from local.qbo_emulator.clock import qbo_time, zone
from local.qbo_emulator.entities.currency import CURRENCY_NAMES
from local.qbo_emulator.entities.lists import ACCOUNT_TYPES
from local.qbo_emulator.entities.rates import put_rate
from local.qbo_emulator.seed_history import seed_uk_history, seed_us_history
from local.qbo_emulator.store import Realm, Record

US_REALM = "9341453200000101"
UK_REALM = "9341453200000202"


def _meta(when: datetime, tz: tzinfo) -> dict[str, str]:
    stamp = qbo_time(when, tz)
    return {"CreateTime": stamp, "LastUpdatedTime": stamp}


def _ref(value: str, name: str | None = None) -> dict[str, str]:
    return {"value": value, "name": name} if name is not None else {"value": value}


def _address(line1: str, city: str, region: str, postal: str, country: str, addr_id: str) -> dict[str, str]:
    return {
        "Id": addr_id,
        "Line1": line1,
        "City": city,
        "CountrySubDivisionCode": region,
        "PostalCode": postal,
        "Country": country,
    }


def _company_info(realm: Realm, name: str, addr: dict[str, str], email: str, when: datetime) -> Record:
    return {
        "CompanyName": name,
        "LegalName": name,
        "CompanyAddr": addr,
        "CustomerCommunicationAddr": dict(addr),
        "LegalAddr": dict(addr),
        "PrimaryPhone": {"FreeFormNumber": "(650) 555-0100" if realm.is_us else "020 7946 0100"},
        "CompanyStartDate": "2024-01-01",
        "FiscalYearStartMonth": "January" if realm.is_us else "April",
        "Country": realm.country,
        "Email": {"Address": email},
        "WebAddr": {},
        "SupportedLanguages": "en",
        "NameValue": [
            {"Name": "NeoEnabled", "Value": "true"},
            {"Name": "IndustryType", "Value": "Professional Services"},
            {"Name": "CompanyType", "Value": "Other"},
            {"Name": "SubscriptionStatus", "Value": "SUBSCRIBED"},
            {"Name": "OfferingSku", "Value": "QuickBooks Online Plus"},
            {"Name": "IsQbdtMigrated", "Value": "false"},
        ],
        "domain": "QBO",
        "sparse": False,
        "Id": "1",
        "SyncToken": "0",
        "MetaData": _meta(when, realm.tz),
    }


def _preferences(realm: Realm, *, multicurrency: bool, when: datetime, tax_group: str | None) -> Record:
    tax_prefs: dict[str, Any] = {"UsingSalesTax": True, "PartnerTaxEnabled": False}
    if tax_group is not None:
        tax_prefs["TaxGroupCodeRef"] = _ref(tax_group)
    return {
        "AccountingInfoPrefs": {
            "TrackDepartments": False,
            "ClassTrackingPerTxn": False,
            "ClassTrackingPerTxnLine": False,
            "CustomerTerminology": "Customers",
            "DepartmentTerminology": "Location",
            "UseAccountNumbers": False,
            "FirstMonthOfFiscalYear": "January" if realm.is_us else "April",
            "TaxYearMonth": "January" if realm.is_us else "April",
        },
        "ProductAndServicesPrefs": {
            "ForSales": True,
            "ForPurchase": True,
            "QuantityWithPriceAndRate": True,
            "QuantityOnHand": True,
        },
        "SalesFormsPrefs": {
            "CustomField": [
                {
                    "CustomField": [
                        {"Name": "SalesFormsPrefs.UseSalesCustom1", "Type": "BooleanType", "BooleanValue": False},
                        {"Name": "SalesFormsPrefs.UseSalesCustom2", "Type": "BooleanType", "BooleanValue": False},
                        {"Name": "SalesFormsPrefs.UseSalesCustom3", "Type": "BooleanType", "BooleanValue": False},
                    ]
                },
            ],
            "CustomTxnNumbers": False,
            "AllowDeposit": True,
            "AllowDiscount": True,
            "DefaultDiscountAccount": "86",
            "AllowEstimates": True,
            "AllowServiceDate": False,
            "AllowShipping": False,
            "DefaultTerms": _ref("3"),
            "ETransactionEnabledStatus": "NotApplicable",
            "ETransactionPaymentEnabled": False,
            "IPNSupportEnabled": False,
            "UsingPriceLevels": False,
            "UsingProgressInvoicing": False,
            "EstimateMessage": "",
            "DefaultCustomerMessage": "",
        },
        "EmailMessagesPrefs": {
            "InvoiceMessage": {
                "Subject": "Invoice [Invoice No.] from [Company Name]",
                "Message": "Your invoice is attached.",
            },
            "EstimateMessage": {
                "Subject": "Estimate [Estimate No.] from [Company Name]",
                "Message": "Please review the estimate below.",
            },
            "SalesReceiptMessage": {
                "Subject": "Sales Receipt [Sales Receipt No.] from [Company Name]",
                "Message": "Your sales receipt is attached.",
            },
            "StatementMessage": {
                "Subject": "Statement from [Company Name]",
                "Message": "Your statement is attached.",
            },
        },
        "VendorAndPurchasesPrefs": {"TrackingByCustomer": True, "BillableExpenseTracking": True, "POCustomField": []},
        "TimeTrackingPrefs": {
            "UseServices": True,
            "BillCustomers": False,
            "ShowBillRateToAll": False,
            "WorkWeekStartDate": "Monday",
            "MarkTimeEntriesBillable": False,
        },
        "TaxPrefs": tax_prefs,
        "CurrencyPrefs": {
            "MultiCurrencyEnabled": multicurrency,
            "HomeCurrency": _ref(realm.home_currency),
        },
        "ReportPrefs": {"ReportBasis": "Accrual", "CalcAgingReportFromTxnDate": False},
        "OtherPrefs": {
            "NameValue": [
                {"Name": "SalesFormsPrefs.DefaultCustomerMessage", "Value": ""},
                {"Name": "SalesFormsPrefs.DefaultItem", "Value": "1"},
            ]
        },
        "domain": "QBO",
        "sparse": False,
        "Id": "1",
        "SyncToken": "0",
        "MetaData": _meta(when, realm.tz),
    }


def _put(realm: Realm, entity: str, record: Record, when: datetime) -> Record:
    if "Id" not in record:
        record["Id"] = realm.next_id(entity)
    elif str(record["Id"]).isdigit():
        realm.reserve_ids(entity, int(record["Id"]))
    record.setdefault("SyncToken", "0")
    record.setdefault("MetaData", _meta(when, realm.tz))
    return realm.put(entity, record)


def _currencies(realm: Realm, when: datetime, rates: dict[str, str]) -> None:
    """The company's foreign currencies and their rates to the home currency."""
    for code, rate in rates.items():
        _put(realm, "CompanyCurrency", {"Code": code, "Name": CURRENCY_NAMES[code], "Active": True}, when)
        put_rate(realm, code, Decimal(rate), when.astimezone(realm.tz).date().isoformat(), when, None)


def _accounts(realm: Realm, when: datetime) -> None:
    """A chart of accounts with every account type, at the ids clients of the sample company expect
    (Undeposited Funds 4, Accounts Payable 33, Visa 42, Discounts given 86, ...)."""
    cur = _ref(realm.home_currency, CURRENCY_NAMES[realm.home_currency])
    bank = "Checking" if realm.is_us else "Current Account"
    rows: list[tuple[str, str, str, str, str]] = [
        ("1", "Services", "Income", "ServiceFeeIncome", "0"),
        ("2", "Accounts Receivable (A/R)", "Accounts Receivable", "AccountsReceivable", "0"),
        ("3", "Sales Discounts", "Income", "DiscountsRefundsGiven", "0"),
        ("4", "Undeposited Funds", "Other Current Asset", "UndepositedFunds", "0"),
        ("5", "Sales of Product Income", "Income", "SalesOfProductIncome", "0"),
        ("6", bank, "Bank", "Checking", "12000"),
        (
            "7",
            "VAT Control" if not realm.is_us else "Advertising",
            *(
                ("Other Current Liability", "GlobalTaxPayable")
                if not realm.is_us
                else ("Expense", "AdvertisingPromotional")
            ),
            "0",
        ),
        ("33", "Accounts Payable (A/P)", "Accounts Payable", "AccountsPayable", "0"),
        ("36", "Savings", "Bank", "Savings", "800"),
        ("41", "Mastercard", "Credit Card", "CreditCard", "0"),
        ("42", "Visa", "Credit Card", "CreditCard", "0"),
        ("80", "Cost of Goods Sold", "Cost of Goods Sold", "SuppliesMaterialsCogs", "0"),
        ("81", "Inventory Asset", "Other Current Asset", "Inventory", "0"),
        ("86", "Discounts given", "Income", "DiscountsRefundsGiven", "0"),
        ("90", "Opening Balance Equity", "Equity", "OpeningBalanceEquity", "12800"),
        ("91", "Office Expenses", "Expense", "OfficeGeneralAdministrativeExpenses", "0"),
        ("92", "Rent or Lease", "Expense", "RentOrLeaseOfBuildings", "0"),
        ("93", "Legal & Professional Fees", "Expense", "LegalProfessionalFees", "0"),
        ("94", "Truck", "Fixed Asset", "Vehicles", "0"),
        ("95", "Security Deposits", "Other Asset", "SecurityDeposits", "0"),
        ("96", "Notes Payable", "Long Term Liability", "NotesPayable", "0"),
        ("97", "Loan Payable", "Other Current Liability", "OtherCurrentLiabilities", "0"),
        ("98", "Depreciation", "Other Expense", "Depreciation", "0"),
        ("99", "Interest Earned", "Other Income", "InterestEarned", "0"),
        ("100", "Retained Earnings", "Equity", "RetainedEarnings", "0"),
    ]
    if realm.is_us:
        rows.append(("101", "Sales Tax Payable", "Other Current Liability", "SalesTaxPayable", "0"))
    for acc_id, name, acc_type, sub_type, opening in rows:
        _put(
            realm,
            "Account",
            {
                "Id": acc_id,
                "Name": name,
                "SubAccount": False,
                "FullyQualifiedName": name,
                "Active": True,
                "Classification": ACCOUNT_TYPES[acc_type][0],
                "AccountType": acc_type,
                "AccountSubType": sub_type,
                "CurrentBalance": Decimal("0"),
                "CurrentBalanceWithSubAccounts": Decimal("0"),
                "CurrencyRef": dict(cur),
                # what the account held before the seeded history (P&L accounts report no balance)
                "_opening": Decimal(opening)
                if ACCOUNT_TYPES[acc_type][0] in ("Asset", "Liability", "Equity")
                else Decimal("0"),
            },
            when,
        )


def _terms(realm: Realm, when: datetime) -> None:
    for term_id, name, days in (
        ("1", "Due on receipt", 0),
        ("2", "Net 15", 15),
        ("3", "Net 30", 30),
        ("4", "Net 60", 60),
        ("5", "Net 10", 10),
    ):
        _put(
            realm,
            "Term",
            {"Id": term_id, "Name": name, "Active": True, "Type": "STANDARD", "DueDays": days, "DiscountDays": 0},
            when,
        )


def _tax_rate(realm: Realm, rate_id: str, name: str, value: str, when: datetime, agency: str) -> None:
    _put(
        realm,
        "TaxRate",
        {
            "Id": rate_id,
            "Name": name,
            "Description": name,
            "Active": True,
            "RateValue": Decimal(value),
            "AgencyRef": _ref(agency),
            "SpecialTaxType": "NONE",
            "DisplayType": "ReadOnly",
            "EffectiveTaxRate": [{"RateValue": Decimal(value), "EffectiveDate": "2024-01-01T00:00:00-08:00"}],
        },
        when,
    )


def _tax_code(
    realm: Realm,
    code_id: str,
    name: str,
    rates: list[tuple[str, str]],
    when: datetime,
    *,
    taxable: bool = True,
    group: bool = False,
    description: str | None = None,
) -> None:
    detail = [
        {"TaxRateRef": _ref(rate_id, rate_name), "TaxTypeApplicable": "TaxOnAmount", "TaxOrder": 0}
        for rate_id, rate_name in rates
    ]
    _put(
        realm,
        "TaxCode",
        {
            "Id": code_id,
            "Name": name,
            "Description": description or name,
            "Active": True,
            "Hidden": False,
            "Taxable": taxable,
            "TaxGroup": group,
            "SalesTaxRateList": {"TaxRateDetail": detail},
            "PurchaseTaxRateList": {"TaxRateDetail": []},
        },
        when,
    )


def _items(realm: Realm, when: datetime) -> None:
    rows = [
        ("1", "Services", "General services", "0", True),
        ("2", "Design", "Design work, per hour", "75", True),
        ("3", "Development", "Software development, per hour", "120", True),
        ("4", "Consulting", "Professional consulting, per hour", "150", True),
        ("5", "Training", "Training session", "500", True),
        ("6", "Legacy Support", "Retired support plan", "90", False),
    ]
    for item_id, name, desc, price, active in rows:
        record: Record = {
            "Id": item_id,
            "Name": name,
            "Description": desc,
            "Active": active,
            "FullyQualifiedName": name,
            "Taxable": realm.is_us,
            "UnitPrice": Decimal(price),
            "Type": "Service",
            "IncomeAccountRef": _ref("1", "Services"),
            "PurchaseCost": Decimal("0"),
            "TrackQtyOnHand": False,
        }
        if not realm.is_us:
            record["SalesTaxCodeRef"] = _ref("3", "20.0% S")
        _put(realm, "Item", record, when)


def _party(
    realm: Realm,
    entity: str,
    display: str,
    when: datetime,
    *,
    active: bool = True,
    currency: str | None = None,
    **extra: Any,
) -> Record:
    cur = currency or realm.home_currency
    record: Record = {
        "DisplayName": display,
        "PrintOnCheckName": display,
        "Active": active,
        "Balance": Decimal("0"),
        **extra,
    }
    if entity == "Customer":
        record.update(
            {
                "FullyQualifiedName": display,
                "Taxable": realm.is_us,
                "Job": False,
                "BillWithParent": False,
                "BalanceWithJobs": Decimal("0"),
                "PreferredDeliveryMethod": "Print",
                "IsProject": False,
                "CurrencyRef": _ref(cur, CURRENCY_NAMES.get(cur, cur)),
            }
        )
    elif entity == "Vendor":
        record.update({"Vendor1099": False, "CurrencyRef": _ref(cur, CURRENCY_NAMES.get(cur, cur))})
    else:
        record.pop("Balance")
        record.update({"BillableTime": False, "EmployeeNumber": "E-1"})
    return _put(realm, entity, record, when)


def seed_us(realm: Realm, now: datetime) -> None:
    when = now - timedelta(days=30)
    addr = _address("2500 Garcia Avenue", "Mountain View", "CA", "94043", "USA", "1")
    realm.company_info = _company_info(realm, "Sandbox Company US", addr, "noreply@sandbox-us.example", when)
    realm.preferences = _preferences(realm, multicurrency=False, when=when, tax_group="2")
    _accounts(realm, when)
    _terms(realm, when)
    _tax_rate(realm, "1", "California", "7.25", when, "1")
    _tax_rate(realm, "2", "Santa Clara County", "1.75", when, "1")
    _tax_rate(realm, "3", "Arizona", "5.6", when, "2")
    _tax_rate(realm, "4", "Tucson City", "2.6", when, "2")
    # TAX and NON are the pseudo codes US lines carry; the numeric codes go in TxnTaxCodeRef.
    _tax_code(realm, "TAX", "TAX", [], when, description="TAX")
    _tax_code(realm, "NON", "NON", [], when, taxable=False, description="NON")
    # what a transaction uses when its sales tax is entered by hand (QuickBooks lists it with TAX and NON)
    _tax_code(realm, "CustomSalesTax", "CustomSalesTax", [], when, description="Custom sales tax")
    _tax_code(
        realm,
        "2",
        "Mountain View",
        [("1", "California"), ("2", "Santa Clara County")],
        when,
        group=True,
        description="Mountain View, CA (9%)",
    )
    _tax_code(
        realm,
        "3",
        "Tucson",
        [("3", "Arizona"), ("4", "Tucson City")],
        when,
        group=True,
        description="Tucson, AZ (8.2%)",
    )
    _items(realm, when)
    bill = _address("123 Sierra Way", "San Pablo", "CA", "87999", "USA", "2")
    customers: list[tuple[str, dict[str, Any]]] = [
        (
            "Amy's Bird Sanctuary",
            {
                "GivenName": "Amy",
                "FamilyName": "Lauterbach",
                "CompanyName": "Amy's Bird Sanctuary",
                "PrimaryEmailAddr": {"Address": "birds@intuit.example"},
                "BillAddr": bill,
            },
        ),
        ("Smith & Sons", {"CompanyName": "Smith & Sons", "PrimaryEmailAddr": {"Address": "ap@smith.example"}}),
        ("Café Olé", {"CompanyName": "Café Olé", "PrimaryEmailAddr": {"Address": "hola@cafeole.example"}}),
        ("Acme Corporation", {"CompanyName": "Acme Corporation"}),
        ("O'Brien & Co.", {"CompanyName": "O'Brien & Co."}),
        ("100% Juice Bar", {"CompanyName": "100% Juice Bar"}),
    ]
    for name, extra in customers:
        _party(realm, "Customer", name, when, **extra)
    _party(realm, "Customer", "Dormant Dynamics", when, active=False, CompanyName="Dormant Dynamics")
    _party(realm, "Vendor", "Northwind Traders", when, CompanyName="Northwind Traders")
    _party(realm, "Employee", "Emily Platt", when, GivenName="Emily", FamilyName="Platt")
    realm.reserve_ids("Invoice", 1000)
    _currencies(realm, when, {"CAD": "0.73", "EUR": "1.08", "GBP": "1.27"})  # in use once multicurrency is on
    seed_us_history(realm, when, realm.today(now))


def seed_uk(realm: Realm, now: datetime) -> None:
    when = now - timedelta(days=30)
    addr = _address("1 Poultry", "London", "", "EC2R 8EJ", "GBR", "1")
    realm.company_info = _company_info(realm, "Sandbox Company UK", addr, "noreply@sandbox-uk.example", when)
    realm.preferences = _preferences(realm, multicurrency=True, when=when, tax_group=None)
    _currencies(realm, when, {"EUR": "0.85", "USD": "0.79"})
    _accounts(realm, when)
    _terms(realm, when)
    _tax_rate(realm, "1", "20.0% S", "20", when, "1")
    _tax_rate(realm, "2", "5.0% R", "5", when, "1")
    _tax_rate(realm, "3", "0.0% Z", "0", when, "1")
    _tax_rate(realm, "4", "Exempt", "0", when, "1")
    _tax_code(realm, "3", "20.0% S", [("1", "20.0% S")], when, description="Standard rated 20%")
    _tax_code(realm, "4", "5.0% R", [("2", "5.0% R")], when, description="Reduced rated 5%")
    _tax_code(realm, "5", "0.0% Z", [("3", "0.0% Z")], when, description="Zero rated")
    _tax_code(realm, "6", "Exempt", [("4", "Exempt")], when, description="Exempt from VAT")
    _tax_code(realm, "7", "No VAT", [], when, taxable=False, description="Outside the scope of VAT")
    _items(realm, when)
    customers: list[tuple[str, str, dict[str, Any]]] = [
        ("Britannia Widgets Ltd", "GBP", {"CompanyName": "Britannia Widgets Ltd"}),
        ("O'Neill & Partners", "GBP", {"CompanyName": "O'Neill & Partners"}),
        ("Café Rouge Ltd", "GBP", {"CompanyName": "Café Rouge Ltd"}),
        ("Müller GmbH", "EUR", {"CompanyName": "Müller GmbH"}),
        ("Smith & Sons", "GBP", {"CompanyName": "Smith & Sons"}),
    ]
    for name, currency, extra in customers:
        _party(realm, "Customer", name, when, currency=currency, **extra)
    _party(realm, "Customer", "Dormant Trading Ltd", when, active=False, CompanyName="Dormant Trading Ltd")
    _party(realm, "Vendor", "Northwind Traders", when, CompanyName="Northwind Traders")
    _party(realm, "Employee", "Emily Platt", when, GivenName="Emily", FamilyName="Platt")
    realm.reserve_ids("Invoice", 2000)
    seed_uk_history(realm, when, realm.today(now))


def build_realm(realm_id: str, country: str, now: datetime, tz: str | tzinfo | None = None) -> Realm:
    """A company shaped like the US sample company, or the UK one for country "GB", in the time zone
    ``tz`` (an IANA name; None: US Pacific)."""
    company_zone = zone(tz)
    if country == "GB":
        uk = Realm(realm_id=realm_id, country="GB", home_currency="GBP", tz=company_zone)
        seed_uk(uk, now)
        return uk
    if country != "US":
        raise ValueError(f"no sample company for country {country!r} (US or GB)")
    us = Realm(realm_id=realm_id, country="US", home_currency="USD", tz=company_zone)
    seed_us(us, now)
    return us


def build_realms(now: datetime, tz: str | tzinfo | None = None) -> list[Realm]:
    """The two companies, in the time zone ``tz`` (an IANA name; None: US Pacific)."""
    return [build_realm(US_REALM, "US", now, tz), build_realm(UK_REALM, "GB", now, tz)]
