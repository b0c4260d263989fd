"""Rules of the small lists: Account, Term, PaymentMethod, CompanyCurrency. (Class, Department and
TaxAgency need nothing beyond the table.)

Account
  * Name: at most 100 characters, no ``:`` or ``"``, unique among accounts (6240). ``AccountType`` or
    ``AccountSubType`` is required (2020); the type must be one QuickBooks knows (2170), a sub-type given
    alone picks its type, a type alone gets its usual sub-type. ``Classification`` follows the type.
  * ``AcctNum``: no ``:``, unique (6240). ``SubAccount`` with ``ParentRef`` nests it (FullyQualifiedName
    ``Parent:Child``); a sub-account has its parent's type.
  * Never deleted: make it inactive. ``CurrentBalance`` is computed (``ledger.py``).
Term: ``DueDays`` makes a STANDARD term, ``DayOfMonthDue`` a DATE_DRIVEN one (one of them is required).
PaymentMethod: ``Type`` CREDIT_CARD or NON_CREDIT_CARD; Name at most 31 characters.
CompanyCurrency: needs multicurrency on; ``Code`` an ISO code QuickBooks offers, not the home currency,
fixed once created; ``Name`` follows the code.
"""

from __future__ import annotations

from local.qbo_emulator import faults
from local.qbo_emulator.entities import common
from local.qbo_emulator.entities.currency import CURRENCY_NAMES, multicurrency
from local.qbo_emulator.entities.engine import Rules, Write
from local.qbo_emulator.store import Record

# AccountType -> (Classification, the sub-type an account of that type gets by default)
ACCOUNT_TYPES: dict[str, tuple[str, str]] = {
    "Bank": ("Asset", "Checking"),
    "Other Current Asset": ("Asset", "OtherCurrentAssets"),
    "Fixed Asset": ("Asset", "MachineryAndEquipment"),
    "Other Asset": ("Asset", "OtherLongTermAssets"),
    "Accounts Receivable": ("Asset", "AccountsReceivable"),
    "Equity": ("Equity", "OwnersEquity"),
    "Expense": ("Expense", "OtherMiscellaneousServiceCost"),
    "Other Expense": ("Expense", "OtherMiscellaneousExpense"),
    "Cost of Goods Sold": ("Expense", "SuppliesMaterialsCogs"),
    "Accounts Payable": ("Liability", "AccountsPayable"),
    "Credit Card": ("Liability", "CreditCard"),
    "Long Term Liability": ("Liability", "NotesPayable"),
    "Other Current Liability": ("Liability", "OtherCurrentLiabilities"),
    "Income": ("Revenue", "ServiceFeeIncome"),
    "Other Income": ("Revenue", "OtherMiscellaneousIncome"),
}
# Sub-types that say which type they belong to (the common ones; others need AccountType).
SUBTYPE_TYPES: dict[str, str] = {
    "CashOnHand": "Bank",
    "Checking": "Bank",
    "MoneyMarket": "Bank",
    "Savings": "Bank",
    "TrustAccounts": "Bank",
    "UndepositedFunds": "Other Current Asset",
    "Inventory": "Other Current Asset",
    "PrepaidExpenses": "Other Current Asset",
    "OtherCurrentAssets": "Other Current Asset",
    "AccountsReceivable": "Accounts Receivable",
    "AccountsPayable": "Accounts Payable",
    "CreditCard": "Credit Card",
    "SalesOfProductIncome": "Income",
    "ServiceFeeIncome": "Income",
    "DiscountsRefundsGiven": "Income",
    "OtherPrimaryIncome": "Income",
    "SuppliesMaterialsCogs": "Cost of Goods Sold",
    "CostOfLaborCos": "Cost of Goods Sold",
    "AdvertisingPromotional": "Expense",
    "OfficeGeneralAdministrativeExpenses": "Expense",
    "Travel": "Expense",
    "Utilities": "Expense",
    "RentOrLeaseOfBuildings": "Expense",
    "LegalProfessionalFees": "Expense",
    "OtherMiscellaneousServiceCost": "Expense",
    "OpeningBalanceEquity": "Equity",
    "RetainedEarnings": "Equity",
    "OwnersEquity": "Equity",
    "GlobalTaxPayable": "Other Current Liability",
    "SalesTaxPayable": "Other Current Liability",
    "OtherCurrentLiabilities": "Other Current Liability",
    "NotesPayable": "Long Term Liability",
    "MachineryAndEquipment": "Fixed Asset",
    "FurnitureAndFixtures": "Fixed Asset",
}
TERM_TYPES = ("STANDARD", "DATE_DRIVEN")
PAYMENT_METHOD_TYPES = ("CREDIT_CARD", "NON_CREDIT_CARD")


def build_account(w: Write) -> Record:
    record = w.record
    name = str(record["Name"]).strip()
    if len(name) > 100:
        raise common.too_long("Name", 100)
    if any(ch in name for ch in (":", '"')):
        raise common.business_fault('Account.Name can not contain a colon (:) or double quotes (")', "Name")
    record["Name"] = name
    if record.get("SubAccount"):
        parent = w.targets["ParentRef"]
        record["AccountType"] = parent["AccountType"]
        record.setdefault("AccountSubType", parent.get("AccountSubType"))
    account_type = record.get("AccountType")
    sub_type = record.get("AccountSubType")
    if account_type is None and sub_type is None:
        raise faults.required_param("AccountType", "Account")
    if account_type is None:
        account_type = SUBTYPE_TYPES.get(str(sub_type))
        if account_type is None:
            raise faults.invalid_enum("AccountSubType", sub_type)
    if account_type not in ACCOUNT_TYPES:
        raise faults.invalid_enum("AccountType", account_type)
    known_type = SUBTYPE_TYPES.get(str(sub_type)) if sub_type is not None else None
    if known_type is not None and known_type != account_type:
        raise faults.invalid_enum("AccountSubType", sub_type)
    classification, default_sub_type = ACCOUNT_TYPES[account_type]
    record["AccountType"] = account_type
    record["AccountSubType"] = sub_type or default_sub_type
    record["Classification"] = classification
    record["Active"] = record.get("Active", True) is not False
    record.setdefault("CurrencyRef", {"value": w.realm.home_currency})
    number = record.get("AcctNum")
    if number is not None:
        common.check_name_chars(str(number), "AcctNum")
        own = str(w.previous["Id"]) if w.previous is not None else None
        for other in w.realm.all("Account"):
            if str(other["Id"]) != own and str(other.get("AcctNum", "")) == str(number):
                raise faults.QboFault(
                    400,
                    "6240",
                    "Duplicate Name Exists Error",
                    f"The account number supplied already exists. : Another account is already using this "
                    f"number. Id={other['Id']}",
                    element="AcctNum",
                )
    return record


def build_term(w: Write) -> Record:
    record = w.record
    if record.get("DayOfMonthDue") is not None:
        record["Type"] = "DATE_DRIVEN"
    elif record.get("DueDays") is not None:
        record["Type"] = "STANDARD"
    else:
        raise faults.required_param("DueDays", "Term")
    for field in ("DueDays", "DiscountDays", "DayOfMonthDue", "DueNextMonthDays", "DiscountDayOfMonth"):
        if field in record:
            value = common.decimal_field(record[field], field)
            if value is None or value < 0 or value != value.to_integral_value():
                raise faults.invalid_enum(field, record[field])
            record[field] = int(value)
    if "DiscountPercent" in record:
        record["DiscountPercent"] = common.decimal_field(record["DiscountPercent"], "DiscountPercent")
    return record


def build_payment_method(w: Write) -> Record:
    record = w.record
    if len(str(record["Name"])) > 31:
        raise common.too_long("Name", 31)
    if record["Type"] not in PAYMENT_METHOD_TYPES:
        raise faults.invalid_enum("Type", record["Type"])
    return record


def build_company_currency(w: Write) -> Record:
    record, realm = w.record, w.realm
    if not multicurrency(realm):
        raise common.business_fault(
            "Multicurrency is turned off in this company (Preferences.CurrencyPrefs.MultiCurrencyEnabled)", "Code"
        )
    code = str(record["Code"]).upper()
    if w.previous is not None and code != w.previous["Code"]:
        raise common.business_fault("A currency's Code cannot be changed; add another currency instead", "Code")
    if code not in CURRENCY_NAMES:
        raise faults.invalid_enum("Code", record["Code"])
    if code == realm.home_currency:
        raise common.business_fault(f"{code} is the home currency", "Code")
    record["Code"] = code
    record["Name"] = CURRENCY_NAMES[code]
    return record


ACCOUNT = Rules(build=build_account)
TERM = Rules(build=build_term)
PAYMENT_METHOD = Rules(build=build_payment_method)
COMPANY_CURRENCY = Rules(build=build_company_currency)
