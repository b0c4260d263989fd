"""Company-wide things: Preferences and CompanyInfo (read, query, update), the preferences that switch
class and department tracking on, sub-customers, invoice pay links, tax codes made through TaxService,
exchange rates, recurring transactions, and the shape of the sample companies."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import httpx

from local.qbo_emulator import QboEmulator
from tests.emulators.qbo.helpers import Api

Body = dict[str, Any]


def ref(value: str) -> dict[str, str]:
    return {"value": value}


def ok(response: httpx.Response, key: str) -> Body:
    assert response.status_code == 200, response.text
    return dict(response.json()[key])


def fault(response: httpx.Response) -> Body:
    assert response.status_code == 400, response.text
    return dict(response.json()["Fault"]["Error"][0])


def sales_line(**detail: Any) -> Body:
    return {
        "DetailType": "SalesItemLineDetail",
        "Amount": "75",
        "SalesItemLineDetail": {"ItemRef": ref("2"), "TaxCodeRef": ref("NON"), **detail},
    }


def test_preferences_shape_and_query(us: Api) -> None:
    prefs = ok(us.get("preferences"), "Preferences")
    accounting = prefs["AccountingInfoPrefs"]
    assert accounting["TaxYearMonth"] == "January"
    assert "BookCloseDate" not in accounting
    assert set(prefs["EmailMessagesPrefs"]) == {
        "InvoiceMessage",
        "EstimateMessage",
        "SalesReceiptMessage",
        "StatementMessage",
    }
    assert prefs["VendorAndPurchasesPrefs"]["BillableExpenseTracking"] is True
    assert prefs["OtherPrefs"]["NameValue"][0]["Name"] == "SalesFormsPrefs.DefaultCustomerMessage"
    assert us.rows("select * from Preferences") == [prefs]
    info = ok(us.get(f"companyinfo/{us.tokens.realm_id}"), "CompanyInfo")
    assert us.rows("select * from CompanyInfo") == [info]


def test_preferences_update(emu: QboEmulator, us: Api) -> None:
    prefs = ok(us.get("preferences"), "Preferences")
    since = emu.clock.now() - timedelta(seconds=1)
    body = {
        "Id": prefs["Id"],
        "SyncToken": prefs["SyncToken"],
        "sparse": True,
        "EmailMessagesPrefs": {"EstimateMessage": {"Subject": "Your estimate"}},
        "CurrencyPrefs": {"HomeCurrency": ref("EUR")},
    }
    updated = ok(us.post("preferences", body), "Preferences")
    assert updated["SyncToken"] == str(int(prefs["SyncToken"]) + 1)
    assert updated["EmailMessagesPrefs"]["EstimateMessage"] == {
        "Subject": "Your estimate",
        "Message": prefs["EmailMessagesPrefs"]["EstimateMessage"]["Message"],
    }
    assert updated["CurrencyPrefs"]["HomeCurrency"] == {"value": "USD"}  # read-only: kept
    assert updated["SalesFormsPrefs"] == prefs["SalesFormsPrefs"]
    assert ok(us.get("preferences"), "Preferences") == updated
    assert fault(us.post("preferences", body))["code"] == "5010"
    assert fault(us.post("preferences", {**body, "SyncToken": updated["SyncToken"], "Nonsense": {}}))["code"] == "2010"
    cdc = us.get("cdc", entities="Preferences", changedSince=since.isoformat()).json()
    assert cdc["CDCResponse"][0]["QueryResponse"][0]["Preferences"][0]["SyncToken"] == updated["SyncToken"]
    # python-quickbooks' way: the whole object back, changed, with sparse false
    full = {**updated, "sparse": False, "TimeTrackingPrefs": {**updated["TimeTrackingPrefs"], "BillCustomers": True}}
    assert ok(us.post("preferences", full), "Preferences")["TimeTrackingPrefs"]["BillCustomers"] is True


def test_multicurrency_stays_on(uk: Api) -> None:
    prefs = ok(uk.get("preferences"), "Preferences")
    off = {"Id": "1", "SyncToken": prefs["SyncToken"], "sparse": True, "CurrencyPrefs": {"MultiCurrencyEnabled": False}}
    assert fault(uk.post("preferences", off))["code"] == "6000"


def test_company_info_update(us: Api) -> None:
    info = ok(us.get(f"companyinfo/{us.tokens.realm_id}"), "CompanyInfo")
    sparse = {
        "Id": info["Id"],
        "SyncToken": info["SyncToken"],
        "sparse": True,
        "CompanyName": "Renamed Inc",
        "Country": "FR",
    }
    updated = ok(us.post("companyinfo", sparse), "CompanyInfo")
    assert updated["CompanyName"] == "Renamed Inc"
    assert updated["Country"] == "US"  # not writable
    assert updated["CompanyAddr"] == info["CompanyAddr"]
    assert updated["SyncToken"] == "1"
    full = {"Id": info["Id"], "SyncToken": "1", "LegalName": "Renamed Legal"}
    assert fault(us.post("companyinfo", full))["code"] == "2020"
    assert fault(us.post("companyinfo", sparse))["code"] == "5010"


def test_class_and_department_need_their_preferences(emu: QboEmulator, us: Api) -> None:
    line_class = {"CustomerRef": ref("1"), "Line": [sales_line(ClassRef=ref("1"))]}
    refused = fault(us.post("invoice", line_class))
    assert refused["code"] == "6000"
    assert refused["element"] == "Line[0].SalesItemLineDetail.ClassRef"
    emu.set_preference(emu.US_REALM, "AccountingInfoPrefs.ClassTrackingPerTxnLine", True)
    invoice = ok(us.post("invoice", line_class), "Invoice")
    assert invoice["Line"][0]["SalesItemLineDetail"]["ClassRef"] == {"value": "1", "name": "Consulting"}
    header = {"CustomerRef": ref("1"), "ClassRef": ref("1"), "Line": [sales_line()]}
    assert fault(us.post("invoice", header))["element"] == "ClassRef"  # per transaction is still off
    emu.set_preference(emu.US_REALM, "AccountingInfoPrefs.ClassTrackingPerTxn", True)
    assert ok(us.post("invoice", header), "Invoice")["ClassRef"]["name"] == "Consulting"
    located = {"CustomerRef": ref("1"), "DepartmentRef": ref("2"), "Line": [sales_line()]}
    assert fault(us.post("invoice", located))["element"] == "DepartmentRef"
    emu.set_preference(emu.US_REALM, "AccountingInfoPrefs.TrackDepartments", True)
    assert ok(us.post("invoice", located), "Invoice")["DepartmentRef"] == {"value": "2", "name": "Online"}
    assert fault(us.post("invoice", {**located, "DepartmentRef": ref("424242")}))["code"] == "2500"


def test_sub_customers(us: Api) -> None:
    parent = ok(us.post("customer", {"DisplayName": "Tree Co"}), "Customer")
    chain = [parent]
    for level in range(1, 5):
        chain.append(
            ok(
                us.post("customer", {"DisplayName": f"Tree L{level}", "Job": True, "ParentRef": ref(chain[-1]["Id"])}),
                "Customer",
            )
        )
    deepest = chain[-1]
    assert deepest["Level"] == 4
    assert deepest["FullyQualifiedName"] == "Tree Co:Tree L1:Tree L2:Tree L3:Tree L4"
    assert deepest["ParentRef"] == {"value": chain[-2]["Id"], "name": chain[-2]["FullyQualifiedName"]}
    too_deep = us.post("customer", {"DisplayName": "Tree L5", "Job": True, "ParentRef": ref(deepest["Id"])})
    assert fault(too_deep)["code"] == "6000"
    # a sub-customer's name is unique like any other customer, vendor or employee name
    assert fault(us.post("customer", {"DisplayName": "Tree L2"}))["code"] == "6240"
    assert fault(us.post("customer", {"DisplayName": "Orphan", "Job": True, "ParentRef": ref("424242")}))["code"] == (
        "2500"
    )
    renamed = ok(
        us.post("customer", {"Id": parent["Id"], "SyncToken": "0", "sparse": True, "DisplayName": "Forest Co"}),
        "Customer",
    )
    assert renamed["FullyQualifiedName"] == "Forest Co"
    assert ok(us.get(f"customer/{deepest['Id']}"), "Customer")["FullyQualifiedName"].startswith("Forest Co:Tree L1")
    loop = {"Id": parent["Id"], "SyncToken": "1", "sparse": True, "Job": True, "ParentRef": ref(chain[2]["Id"])}
    assert fault(us.post("customer", loop))["code"] == "6000"
    jobs = us.rows(f"select * from Customer where ParentRef = '{parent['Id']}'")
    assert [job["DisplayName"] for job in jobs] == ["Tree L1"]
    invoice = ok(us.post("invoice", {"CustomerRef": ref(deepest["Id"]), "Line": [sales_line()]}), "Invoice")
    assert invoice["CustomerRef"]["name"] == "Forest Co:Tree L1:Tree L2:Tree L3:Tree L4"


def test_invoice_link_only_when_asked_for(us: Api) -> None:
    body = {
        "CustomerRef": ref("1"),
        "AllowOnlineCreditCardPayment": True,
        "BillEmail": {"Address": "a@b.example"},
        "Line": [sales_line()],
    }
    invoice = ok(us.post("invoice", body), "Invoice")
    assert "InvoiceLink" not in invoice
    linked = ok(us.get(f"invoice/{invoice['Id']}", include="invoiceLink"), "Invoice")
    assert linked["InvoiceLink"].startswith("https://")
    rows = us.http.get(
        f"{us.base}/query",
        headers=us.headers(),
        params={"query": f"select * from Invoice where Id = '{invoice['Id']}'", "include": "invoiceLink"},
    )
    assert rows.json()["QueryResponse"]["Invoice"][0]["InvoiceLink"] == linked["InvoiceLink"]
    assert "InvoiceLink" not in us.rows(f"select * from Invoice where Id = '{invoice['Id']}'")[0]
    updated = us.post(
        "invoice", {"Id": invoice["Id"], "SyncToken": "0", "sparse": True, "PrivateNote": "x"}, include="invoiceLink"
    )
    assert ok(updated, "Invoice")["InvoiceLink"] == linked["InvoiceLink"]  # the link stays the same
    changes = us.get("cdc", entities="Invoice", changedSince=invoice["MetaData"]["CreateTime"]).json()
    assert all("InvoiceLink" not in row for row in changes["CDCResponse"][0]["QueryResponse"][0]["Invoice"])
    offline = ok(us.post("invoice", {**body, "AllowOnlineCreditCardPayment": False}), "Invoice")
    assert "InvoiceLink" not in ok(us.get(f"invoice/{offline['Id']}", include="invoiceLink"), "Invoice")
    switched_off = {"Id": invoice["Id"], "SyncToken": "1", "sparse": True, "AllowOnlineCreditCardPayment": False}
    assert "InvoiceLink" not in ok(us.post("invoice", switched_off, include="invoiceLink"), "Invoice")


def test_tax_service_creates_a_code_and_its_rates(us: Api) -> None:
    body = {
        "TaxCode": "Reno",
        "TaxRateDetails": [
            {"TaxRateName": "Nevada", "RateValue": 6.85, "TaxAgencyId": "1", "TaxApplicableOn": "Sales"},
            {"TaxRateId": "2"},
        ],
    }
    response = us.post("taxservice/taxcode", body)
    assert response.status_code == 200, response.text
    created = response.json()
    assert created["TaxCode"] == "Reno"
    details = created["TaxRateDetails"]
    assert [d["TaxRateName"] for d in details] == ["Nevada", "Santa Clara County"]
    assert details[0]["TaxAgencyId"] == "1"
    code = ok(us.get(f"taxcode/{created['TaxCodeId']}"), "TaxCode")
    assert code["TaxGroup"] is True
    assert [r["TaxRateRef"]["value"] for r in code["SalesTaxRateList"]["TaxRateDetail"]] == [
        details[0]["TaxRateId"],
        "2",
    ]
    invoice = {
        "CustomerRef": ref("1"),
        "Line": [sales_line(TaxCodeRef=ref("TAX"))],
        "TxnTaxDetail": {"TxnTaxCodeRef": ref(created["TaxCodeId"])},
    }
    taxed = ok(us.post("invoice", invoice), "Invoice")
    assert str(taxed["TxnTaxDetail"]["TotalTax"]) == "6.45"  # 75 x 6.85% = 5.1375 -> 5.14, x 1.75% -> 1.31
    assert fault(us.post("taxservice/taxcode", body))["code"] == "6240"
    no_agency = {
        "TaxCode": "Nowhere",
        "TaxRateDetails": [{"TaxRateName": "Nowhere", "RateValue": 1, "TaxAgencyId": "424242"}],
    }
    assert fault(us.post("taxservice/taxcode", no_agency))["code"] == "2500"


def test_exchange_rates(uk: Api, us: Api) -> None:
    rows = uk.rows("select * from ExchangeRate where SourceCurrencyCode = 'EUR'")
    assert [(r["SourceCurrencyCode"], r["TargetCurrencyCode"], str(r["Rate"])) for r in rows] == [
        ("EUR", "GBP", "0.85")
    ]
    read = ok(uk.get("exchangerate", sourcecurrencycode="EUR", asofdate="2026-01-01"), "ExchangeRate")
    assert read == rows[0]
    changed = ok(uk.post("exchangerate", {**read, "Rate": 0.9}), "ExchangeRate")
    assert str(changed["Rate"]) == "0.9"
    assert changed["SyncToken"] == "1"
    assert fault(uk.post("exchangerate", {**read, "Rate": 0.95}))["code"] == "5010"
    invoice = {"CustomerRef": ref("4"), "Line": [sales_line(TaxCodeRef=ref("5"))]}
    assert str(ok(uk.post("invoice", invoice), "Invoice")["ExchangeRate"]) == "0.9"
    assert fault(us.post("exchangerate", {"SourceCurrencyCode": "EUR", "Rate": 1.1}))["code"] == "6000"
    assert uk.get("exchangerate", sourcecurrencycode="JPY").status_code == 404


def test_recurring_transactions(us: Api) -> None:
    before = ok(us.get("customer/1"), "Customer")["Balance"]
    template = {
        "Invoice": {
            "CustomerRef": ref("1"),
            "Line": [sales_line()],
            "RecurringInfo": {
                "Name": "Weekly design",
                "RecurType": "Automated",
                "Active": True,
                "ScheduleInfo": {
                    "IntervalType": "Weekly",
                    "NumInterval": 1,
                    "DayOfWeek": "Monday",
                    "StartDate": "2026-01-05",
                },
            },
        }
    }
    created = ok(us.post("recurringtransaction", template), "RecurringTransaction")
    invoice = created["Invoice"]
    assert invoice["TotalAmt"] == 75
    assert "DocNumber" not in invoice
    assert invoice["RecurringInfo"]["ScheduleInfo"]["NextDate"] >= us.emu.today(us.tokens.realm_id).isoformat()
    assert ok(us.get("customer/1"), "Customer")["Balance"] == before  # a template owes nothing
    read = ok(us.get(f"recurringtransaction/{invoice['Id']}"), "RecurringTransaction")
    assert read["Invoice"] == invoice
    bills = us.rows("select * from RecurringTransaction where Type = 'Bill'", "RecurringTransaction")
    assert bills
    assert all(set(row) >= {"Bill"} for row in bills)
    read["Invoice"]["Line"][0]["Amount"] = 150
    updated = ok(us.post("recurringtransaction", read), "RecurringTransaction")
    assert updated["Invoice"]["TotalAmt"] == 150
    assert updated["Invoice"]["SyncToken"] == "1"
    assert fault(us.post("recurringtransaction", read))["code"] == "5010"
    assert fault(us.post("recurringtransaction", template))["code"] == "6240"  # the name is taken
    deleted = us.post("recurringtransaction", updated, operation="delete")
    assert deleted.status_code == 200, deleted.text
    assert us.get(f"recurringtransaction/{invoice['Id']}").status_code == 404


def test_us_tax_codes_list_the_pseudo_codes_first(us: Api, uk: Api) -> None:
    rows = us.rows("select * from TaxCode maxresults 1", "TaxCode")
    assert [row["Id"] for row in rows][:3] == ["TAX", "NON", "CustomSalesTax"]
    assert len(rows) == 4
    assert len(us.rows("select * from TaxCode startposition 2 maxresults 1", "TaxCode")) == 1
    assert len(uk.rows("select * from TaxCode maxresults 1", "TaxCode")) == 1


def test_sample_company_shape(us: Api, uk: Api) -> None:
    accounts = {row["Id"]: row for row in us.rows("select * from Account maxresults 1000", "Account")}
    assert {k: (accounts[k]["Name"], accounts[k]["AccountType"]) for k in ("4", "33", "42", "86")} == {
        "4": ("Undeposited Funds", "Other Current Asset"),
        "33": ("Accounts Payable (A/P)", "Accounts Payable"),
        "42": ("Visa", "Credit Card"),
        "86": ("Discounts given", "Income"),
    }
    types = {row["AccountType"] for row in accounts.values()}
    assert types == {
        "Bank",
        "Other Current Asset",
        "Fixed Asset",
        "Other Asset",
        "Accounts Receivable",
        "Equity",
        "Expense",
        "Other Expense",
        "Cost of Goods Sold",
        "Accounts Payable",
        "Credit Card",
        "Long Term Liability",
        "Other Current Liability",
        "Income",
        "Other Income",
    }
    widget = us.rows("select * from Item where Type = 'Inventory'", "Item")[0]
    assert {"IncomeAccountRef", "ExpenseAccountRef", "AssetAccountRef", "QtyOnHand", "InvStartDate"} <= set(widget)
    assert {row["Type"] for row in us.rows("select * from Item", "Item")} == {"Service", "NonInventory", "Inventory"}
    jobs = us.rows("select * from Customer where Job = true")
    assert jobs
    assert all(":" in job["FullyQualifiedName"] for job in jobs)
    for entity in ("Payment", "Invoice", "Bill", "Purchase"):
        assert len(us.rows(f"select * from {entity}", entity)) >= 2, entity
    assert len(us.rows("select * from Payment", "Payment")) >= 5
    today = us.emu.today(us.tokens.realm_id).isoformat()
    dates = [row["TxnDate"] for row in us.rows("select * from Invoice", "Invoice")]
    assert max(dates) <= today
    assert min(dates) < today
    for entity in ("PaymentMethod", "TaxAgency", "Class", "Department", "Term", "TimeActivity"):
        assert us.rows(f"select * from {entity}", entity), entity
        assert uk.rows(f"select * from {entity}", entity), entity
    assert uk.rows("select * from Invoice where Balance > '0'", "Invoice")


def test_class_and_department_trees(us: Api) -> None:
    regions = ok(us.post("class", {"Name": "Regions"}), "Class")
    west = ok(us.post("class", {"Name": "West", "SubClass": True, "ParentRef": ref(regions["Id"])}), "Class")
    assert west["FullyQualifiedName"] == "Regions:West"
    assert west["ParentRef"] == {"value": regions["Id"], "name": "Regions"}
    assert fault(us.post("class", {"Name": "West", "SubClass": True, "ParentRef": ref(regions["Id"])}))["code"] == (
        "6240"
    )
    assert ok(us.post("class", {"Name": "West"}), "Class")["FullyQualifiedName"] == "West"  # another tree
    assert fault(us.post("class", {"Name": "Nowhere", "SubClass": True}))["code"] == "2020"
    renamed = {"Id": regions["Id"], "SyncToken": "0", "sparse": True, "Name": "Areas"}
    assert ok(us.post("class", renamed), "Class")["FullyQualifiedName"] == "Areas"
    assert ok(us.get(f"class/{west['Id']}"), "Class")["FullyQualifiedName"] == "Areas:West"
    under_child = {
        "Id": regions["Id"],
        "SyncToken": "1",
        "sparse": True,
        "SubClass": True,
        "ParentRef": ref(west["Id"]),
    }
    assert fault(us.post("class", under_child))["code"] == "6000"
    online = ok(us.post("department", {"Name": "EU Shop", "SubDepartment": True, "ParentRef": ref("2")}), "Department")
    assert online["FullyQualifiedName"] == "Online:EU Shop"
