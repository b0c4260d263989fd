"""Invoices: lines, tax per locale, discounts, DocNumber policy, currency, SyncToken, delete, void."""

from __future__ import annotations

import io
from decimal import Decimal
from typing import Any

import httpx
from pypdf import PdfReader

from local.qbo_emulator import QboEmulator
from tests.emulators.qbo.helpers import Api, next_doc_number


def sales_line(item: str, qty: str, price: str, amount: str | None = None, tax: str | None = None) -> dict[str, Any]:
    detail: dict[str, Any] = {"ItemRef": {"value": item}, "Qty": Decimal(qty), "UnitPrice": Decimal(price)}
    if tax is not None:
        detail["TaxCodeRef"] = {"value": tax}
    line: dict[str, Any] = {"DetailType": "SalesItemLineDetail", "SalesItemLineDetail": detail}
    line["Amount"] = Decimal(amount) if amount is not None else Decimal(qty) * Decimal(price)
    return line


def post_json(api: Api, path: str, body: dict[str, Any], **params: str) -> httpx.Response:
    # Decimal-safe JSON for the request
    from local.qbo_emulator import jsonutil

    return api.http.post(
        f"{api.base}/{path}",
        params={"minorversion": "75", **params},
        content=jsonutil.dumps(body).encode(),
        headers=api.headers({"Content-Type": "application/json"}),
    )


def create(api: Api, body: dict[str, Any], **params: str) -> dict[str, Any]:
    response = post_json(api, "invoice", body, **params)
    assert response.status_code == 200, response.text
    return dict(response.json()["Invoice"])


def error(response: httpx.Response) -> dict[str, str]:
    assert response.status_code == 400, response.text
    return dict(response.json()["Fault"]["Error"][0])


def money(value: Any) -> Decimal:
    return Decimal(str(value))


US_BODY: dict[str, Any] = {
    "CustomerRef": {"value": "1"},
    "Line": [sales_line("2", "10", "75", tax="TAX"), sales_line("4", "2.5", "150", tax="NON")],
    "TxnTaxDetail": {"TxnTaxCodeRef": {"value": "2"}},
    "PrivateNote": "src:INV-1",
    "CustomerMemo": {"value": "Thanks!"},
    "TxnDate": "2026-07-01",
}


def test_us_invoice_tax_and_totals(emu: QboEmulator, us: Api) -> None:
    number = next_doc_number(emu, emu.US_REALM)
    inv = create(us, US_BODY)
    assert inv["DocNumber"] == number  # the sample company's invoices are numbered before it
    assert inv["TxnDate"] == "2026-07-01"
    assert inv["DueDate"] == "2026-07-31"  # company default terms: Net 30
    assert inv["CurrencyRef"]["value"] == "USD"
    tax = inv["TxnTaxDetail"]
    assert tax["TxnTaxCodeRef"]["value"] == "2"
    assert money(tax["TotalTax"]) == Decimal("67.51")  # 54.375 -> 54.38 and 13.125 -> 13.13
    assert sorted(money(line["Amount"]) for line in tax["TaxLine"]) == [Decimal("13.13"), Decimal("54.38")]
    assert all(money(line["TaxLineDetail"]["NetAmountTaxable"]) == 750 for line in tax["TaxLine"])
    assert money(inv["TotalAmt"]) == Decimal("1192.51")
    assert money(inv["Balance"]) == Decimal("1192.51")
    assert money(inv["HomeTotalAmt"]) == Decimal("1192.51")
    kinds = [line["DetailType"] for line in inv["Line"]]
    assert kinds == ["SalesItemLineDetail", "SalesItemLineDetail", "SubTotalLineDetail"]
    assert money(inv["Line"][2]["Amount"]) == 1125
    assert inv["Line"][0]["SalesItemLineDetail"]["ItemRef"] == {"value": "2", "name": "Design"}
    assert inv["PrivateNote"] == "src:INV-1"
    assert inv["CustomerMemo"] == {"value": "Thanks!"}
    assert inv["SyncToken"] == "0"
    assert inv["MetaData"]["CreateTime"]
    assert create(us, US_BODY)["DocNumber"] == str(int(number) + 1)


def test_us_discount_before_and_after_tax(us: Api) -> None:
    discount = {
        "DetailType": "DiscountLineDetail",
        "Amount": 0,
        "DiscountLineDetail": {"PercentBased": True, "DiscountPercent": 10},
    }
    inv = create(us, {**US_BODY, "Line": [*US_BODY["Line"], discount]})
    assert [line["DetailType"] for line in inv["Line"]][-1] == "DiscountLineDetail"
    assert money(inv["Line"][-1]["Amount"]) == Decimal("112.50")
    assert money(inv["TotalAmt"]) == Decimal("1080.01")
    after = create(us, {**US_BODY, "Line": [*US_BODY["Line"], discount], "ApplyTaxAfterDiscount": True})
    assert money(after["TxnTaxDetail"]["TotalTax"]) == Decimal("60.75")
    assert money(after["TotalAmt"]) == Decimal("1073.25")
    fixed = {"DetailType": "DiscountLineDetail", "Amount": 25, "DiscountLineDetail": {"PercentBased": False}}
    inv = create(us, {**US_BODY, "Line": [*US_BODY["Line"], fixed]})
    assert money(inv["TotalAmt"]) == Decimal("1167.51")


def test_discount_needs_allow_discount(emu: QboEmulator, us: Api) -> None:
    emu.set_preference(emu.US_REALM, "SalesFormsPrefs.AllowDiscount", False)
    fixed = {"DetailType": "DiscountLineDetail", "Amount": 25, "DiscountLineDetail": {"PercentBased": False}}
    assert error(post_json(us, "invoice", {**US_BODY, "Line": [*US_BODY["Line"], fixed]}))["code"] == "6000"


def test_us_without_txn_tax_code_charges_no_tax(us: Api) -> None:
    inv = create(us, {"CustomerRef": {"value": "1"}, "Line": [sales_line("2", "1", "75", tax="TAX")]})
    assert money(inv["TxnTaxDetail"]["TotalTax"]) == 0
    assert money(inv["TotalAmt"]) == 75


def test_us_line_must_use_tax_or_non(us: Api) -> None:
    body = {"CustomerRef": {"value": "1"}, "Line": [sales_line("2", "1", "75", tax="2")]}
    assert error(post_json(us, "invoice", body))["code"] == "6000"


def test_uk_per_line_vat(uk: Api) -> None:
    body = {
        "CustomerRef": {"value": "1"},
        "Line": [
            sales_line("3", "3", "120", tax="3"),
            sales_line("5", "1", "500", tax="4"),
            sales_line("1", "1", "40", tax="5"),
        ],
    }
    inv = create(uk, body)
    assert inv["CurrencyRef"]["value"] == "GBP"
    assert inv["GlobalTaxCalculation"] == "TaxExcluded"
    tax = inv["TxnTaxDetail"]
    assert "TxnTaxCodeRef" not in tax
    assert money(tax["TotalTax"]) == 97
    by_rate = {line["TaxLineDetail"]["TaxRateRef"]["name"]: money(line["Amount"]) for line in tax["TaxLine"]}
    assert by_rate == {"20.0% S": 72, "5.0% R": 25, "0.0% Z": 0}
    assert money(inv["TotalAmt"]) == 997


def test_uk_tax_rounded_per_line(uk: Api) -> None:
    body = {
        "CustomerRef": {"value": "1"},
        "Line": [sales_line("1", "1", "0.03", tax="3"), sales_line("1", "1", "0.03", tax="3")],
    }
    inv = create(uk, body)
    assert money(inv["TxnTaxDetail"]["TotalTax"]) == Decimal("0.02")  # 0.006 -> 0.01 per line


def test_uk_tax_inclusive(uk: Api) -> None:
    body = {
        "CustomerRef": {"value": "1"},
        "GlobalTaxCalculation": "TaxInclusive",
        "Line": [sales_line("1", "1", "120", tax="3")],
    }
    inv = create(uk, body)
    assert money(inv["TxnTaxDetail"]["TotalTax"]) == 20
    assert money(inv["TotalAmt"]) == 120


def test_uk_tax_faults(uk: Api) -> None:
    missing = {"CustomerRef": {"value": "1"}, "Line": [sales_line("1", "1", "10")]}
    assert "VAT" in error(post_json(uk, "invoice", missing))["Detail"]
    pseudo = {"CustomerRef": {"value": "1"}, "Line": [sales_line("1", "1", "10", tax="TAX")]}
    assert error(post_json(uk, "invoice", pseudo))["code"] == "2500"
    txn_code = {
        **missing,
        "Line": [sales_line("1", "1", "10", tax="3")],
        "TxnTaxDetail": {"TxnTaxCodeRef": {"value": "3"}},
    }
    assert error(post_json(uk, "invoice", txn_code))["code"] == "6000"


def test_foreign_currency_invoice(uk: Api) -> None:
    body = {"CustomerRef": {"value": "4"}, "Line": [sales_line("1", "1", "100", tax="3")]}
    inv = create(uk, body)
    assert inv["CurrencyRef"]["value"] == "EUR"
    assert money(inv["ExchangeRate"]) == Decimal("0.85")
    assert money(inv["TotalAmt"]) == 120
    assert money(inv["HomeTotalAmt"]) == 102
    wrong = {**body, "CurrencyRef": {"value": "GBP"}}
    assert error(post_json(uk, "invoice", wrong))["code"] == "6000"


def test_amount_must_equal_qty_times_price(us: Api) -> None:
    ok = create(us, {"CustomerRef": {"value": "1"}, "Line": [sales_line("2", "3", "33.333", amount="100.00")]})
    assert money(ok["TotalAmt"]) == 100
    bad = {"CustomerRef": {"value": "1"}, "Line": [sales_line("2", "3", "33.333", amount="99.99")]}
    assert error(post_json(us, "invoice", bad))["code"] == "6070"


def test_reference_faults(us: Api) -> None:
    assert error(post_json(us, "invoice", {"Line": US_BODY["Line"]}))["code"] == "2020"
    assert error(post_json(us, "invoice", {"CustomerRef": {"value": "999"}, "Line": US_BODY["Line"]}))["code"] == "2500"
    inactive = us.rows("select * from Customer where Active = false")[0]["Id"]
    assert (
        error(post_json(us, "invoice", {"CustomerRef": {"value": inactive}, "Line": US_BODY["Line"]}))["code"] == "610"
    )
    legacy_item = {"CustomerRef": {"value": "1"}, "Line": [sales_line("6", "1", "90")]}
    assert error(post_json(us, "invoice", legacy_item))["code"] == "610"
    assert error(post_json(us, "invoice", {"CustomerRef": {"value": "1"}}))["code"] == "2020"


def test_doc_number_given_duplicate_and_allowed(us: Api) -> None:
    first = create(us, {**US_BODY, "DocNumber": "APP-1000"})
    assert first["DocNumber"] == "APP-1000"
    dup = error(post_json(us, "invoice", {**US_BODY, "DocNumber": "APP-1000"}))
    assert dup["code"] == "6140"
    assert dup["Message"] == "Duplicate Document Number Error"
    assert first["Id"] in dup["Detail"]
    allowed = create(us, {**US_BODY, "DocNumber": "APP-1000"}, include="allowduplicatedocnum")
    assert allowed["DocNumber"] == "APP-1000"
    # auto-numbering continues from the last number, prefix included
    assert create(us, US_BODY)["DocNumber"] == "APP-1001"
    too_long = error(post_json(us, "invoice", {**US_BODY, "DocNumber": "X" * 22}))
    assert too_long["code"] == "2050"


def test_custom_txn_numbers_leaves_doc_number_null(emu: QboEmulator, us: Api) -> None:
    emu.set_preference(emu.US_REALM, "SalesFormsPrefs.CustomTxnNumbers", True)
    inv = create(us, US_BODY)
    assert "DocNumber" not in inv


def test_sparse_update_line_replaces_all_and_sync_token(emu: QboEmulator, us: Api) -> None:
    inv = create(us, US_BODY)
    emu.clock.advance(1800)
    only_line = inv["Line"][0]
    response = post_json(
        us, "invoice", {"Id": inv["Id"], "SyncToken": "0", "sparse": True, "Line": [only_line], "PrivateNote": "edited"}
    )
    assert response.status_code == 200, response.text
    updated = response.json()["Invoice"]
    assert updated["SyncToken"] == "1"
    assert [line["DetailType"] for line in updated["Line"]] == ["SalesItemLineDetail", "SubTotalLineDetail"]
    assert updated["Line"][0]["Id"] == only_line["Id"]
    assert updated["PrivateNote"] == "edited"
    assert updated["CustomerMemo"] == {"value": "Thanks!"}
    assert updated["DocNumber"] == inv["DocNumber"]
    assert money(updated["TotalAmt"]) == Decimal("817.51")  # 750 + 54.38 + 13.13
    assert updated["MetaData"]["CreateTime"] == inv["MetaData"]["CreateTime"]
    assert updated["MetaData"]["LastUpdatedTime"] != inv["MetaData"]["LastUpdatedTime"]
    stale = post_json(us, "invoice", {"Id": inv["Id"], "SyncToken": "0", "sparse": True, "PrivateNote": "x"})
    assert error(stale)["code"] == "5010"


def test_full_update(us: Api) -> None:
    inv = create(us, US_BODY)
    body = {
        "Id": inv["Id"],
        "SyncToken": inv["SyncToken"],
        "CustomerRef": {"value": "2"},
        "Line": [sales_line("3", "1", "120", tax="NON")],
    }
    updated = dict(post_json(us, "invoice", body).json()["Invoice"])
    assert updated["CustomerRef"]["value"] == "2"
    assert "PrivateNote" not in updated
    assert money(updated["TotalAmt"]) == 120


def test_delete_and_void(us: Api) -> None:
    doomed = create(us, US_BODY)
    response = post_json(us, "invoice", {"Id": doomed["Id"], "SyncToken": "0"}, operation="delete")
    assert response.status_code == 200
    assert response.json()["Invoice"]["status"] == "Deleted"
    assert us.get(f"invoice/{doomed['Id']}").status_code == 404
    voided_src = create(us, US_BODY)
    response = post_json(us, "invoice", {"Id": voided_src["Id"], "SyncToken": "0"}, operation="void")
    voided = response.json()["Invoice"]
    assert money(voided["TotalAmt"]) == 0
    assert money(voided["Balance"]) == 0
    assert voided["PrivateNote"].startswith("Voided")
    assert voided["SyncToken"] == "1"
    assert us.get(f"invoice/{voided_src['Id']}").json()["Invoice"]["SyncToken"] == "1"


def test_requestid_replays_first_response(us: Api) -> None:
    before = us.query("select count(*) from Invoice").json()["QueryResponse"]["totalCount"]
    first = post_json(us, "invoice", US_BODY, requestid="req-123")
    second = post_json(us, "invoice", US_BODY, requestid="req-123")
    assert first.status_code == second.status_code == 200
    assert first.json()["Invoice"]["Id"] == second.json()["Invoice"]["Id"]
    assert us.query("select count(*) from Invoice").json()["QueryResponse"]["totalCount"] == before + 1
    other = post_json(us, "invoice", US_BODY, requestid="req-456")
    assert other.json()["Invoice"]["Id"] != first.json()["Invoice"]["Id"]


def test_invoice_query(us: Api) -> None:
    inv = create(us, {**US_BODY, "DocNumber": "Q-1"})
    rows = us.rows("select * from Invoice where DocNumber = 'Q-1'")
    assert rows[0]["Id"] == inv["Id"]
    rows = us.rows("select * from Invoice where CustomerRef = '1' and TotalAmt > '1000'")
    assert [row["Id"] for row in rows] == [inv["Id"]]


def test_invoice_pdf(us: Api) -> None:
    inv = create(us, US_BODY)
    response = us.http.get(f"{us.base}/invoice/{inv['Id']}/pdf", headers=us.headers({"Accept": "application/pdf"}))
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/pdf"
    assert response.content.startswith(b"%PDF")
    text = "".join(page.extract_text() for page in PdfReader(io.BytesIO(response.content)).pages)
    assert f"Invoice no. {inv['DocNumber']}" in text
    assert "Amy's Bird Sanctuary" in text
    assert "1,192.51" in text
    assert "Sandbox Company US" in text
    missing = us.http.get(f"{us.base}/invoice/424242/pdf", headers=us.headers())
    assert missing.status_code == 404
    assert missing.json()["Fault"]["Error"][0]["code"] == "610"


def test_credit_memo_pdf(us: Api) -> None:
    response = post_json(us, "creditmemo", US_BODY)
    assert response.status_code == 200, response.text
    memo = response.json()["CreditMemo"]
    pdf = us.http.get(f"{us.base}/creditmemo/{memo['Id']}/pdf", headers=us.headers({"Accept": "application/pdf"}))
    assert pdf.status_code == 200
    assert pdf.headers["content-type"] == "application/pdf"
    text = "".join(page.extract_text() for page in PdfReader(io.BytesIO(pdf.content)).pages)
    assert "CREDIT MEMO" in text
    assert f"Credit memo no. {memo['DocNumber']}" in text
    assert "Remaining credit" in text
    assert "Due date" not in text
    # An invoice's id is no credit memo.
    inv = create(us, US_BODY)
    missing = us.http.get(f"{us.base}/creditmemo/{inv['Id']}/pdf", headers=us.headers())
    assert missing.status_code == 404
