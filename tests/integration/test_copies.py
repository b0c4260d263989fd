"""Copy to QuickBooks through the real path: signed HTTP → gateway → copy_invoice → the Productive
emulator and the QuickBooks emulator over sockets, state in moto."""

from __future__ import annotations

import io
import threading
import uuid
from decimal import Decimal
from typing import Any

import pytest
from pypdf import PdfReader

from tests.integration.copy_world import World


def test_us_invoice_copy_maps_customer_lines_tax_memo_and_writes_back(us: World) -> None:
    invoice_id = us.demo.invoice_usd_id
    response = us.copy(invoice_id, tax_code_id="2")
    assert response.status_code == 201, response.text
    copy = response.json()
    assert copy["mode"] == "create"
    assert copy["currency"] == "USD"
    assert copy["quickbooks_url"].endswith(f"txnId={copy['quickbooks_invoice_id']}")
    [qbo] = us.qbo_invoices(invoice_id)
    assert qbo["Id"] == copy["quickbooks_invoice_id"]
    assert Decimal(copy["total_amount"]) == qbo["TotalAmt"]
    # The customer was created from Acme's billing data.
    customer = us.qbo("Customer", qbo["CustomerRef"]["value"])
    assert customer["DisplayName"] == "Acme & Sons, LLC"
    assert customer["PrimaryEmailAddr"]["Address"] == "ap@acme-sons.example"
    assert customer["BillAddr"]["City"] == "San Francisco"
    # Lines: items by service type (Consulting falls back to the default item), TAX/NON by tax rate.
    sales = [line for line in qbo["Line"] if line["DetailType"] == "SalesItemLineDetail"]
    assert [line["SalesItemLineDetail"]["ItemRef"]["value"] for line in sales] == ["2", "3", "1", "3"]
    assert [line["SalesItemLineDetail"]["TaxCodeRef"]["value"] for line in sales] == ["TAX", "TAX", "NON", "TAX"]
    assert qbo["TxnTaxDetail"]["TxnTaxCodeRef"]["value"] == "2"
    assert any(line["DetailType"] == "DiscountLineDetail" for line in qbo["Line"])
    assert qbo["CustomerMemo"]["value"] == "PO-7781"
    # QuickBooks numbered it; the number and the export fields went back to Productive.
    assert copy["doc_number"] == qbo["DocNumber"]
    productive_invoice = us.productive.invoice(invoice_id)
    assert productive_invoice["exported"] is True
    assert productive_invoice["export_id"] == qbo["Id"]
    assert productive_invoice["export_invoice_url"] == copy["quickbooks_url"]
    assert productive_invoice["number"] == qbo["DocNumber"]
    # QuickBooks' PDF is attached to the Productive invoice, and it is a real PDF.
    [attachment] = us.productive.attachments(invoice_id)
    assert len(PdfReader(io.BytesIO(attachment["content"])).pages) >= 1
    # History.
    assert [entry["copy_id"] for entry in us.history(invoice_id)] == [copy["copy_id"]]


def test_total_mismatch_is_a_warning_with_both_amounts(us: World) -> None:
    # Productive taxes these lines at 8.875 %, the QuickBooks code "Mountain View" at 9 %.
    copy = us.copy(us.demo.invoice_usd_id, tax_code_id="2").json()
    productive_total = Decimal(us.productive.invoice(us.demo.invoice_usd_id)["amount_with_tax"])
    [mismatch] = [w for w in copy["warnings"] if w["code"] == "total_mismatch"]
    assert Decimal(mismatch["quickbooks_total"]) == Decimal(copy["total_amount"])
    assert Decimal(mismatch["productive_total"]) == productive_total
    assert Decimal(mismatch["difference"]) == Decimal(copy["total_amount"]) - productive_total != 0


def test_no_warning_when_the_totals_agree(us: World) -> None:
    invoice_id = _invoice(us, number=None, tax_rate_id=us.demo.tax_rate_us_exempt_id)
    copy = us.copy(invoice_id, tax_code_id=None)
    assert copy.status_code == 201, copy.text
    assert copy.json()["warnings"] == []
    assert Decimal(copy.json()["total_amount"]) == Decimal(us.productive.invoice(invoice_id)["amount_with_tax"])


def _invoice(world: World, *, number: str | None, tax_rate_id: str, discount: str = "0") -> str:
    """Another invoice of the same organization, for the same client."""
    return str(
        world.productive.create_invoice(
            world.demo.organization_id,
            world.demo.company_acme_id,
            currency="USD",
            subsidiary_id=world.demo.subsidiary_us_id,
            number=number,
            invoiced_on="2025-05-02",
            discount=discount,
            line_items=[
                {
                    "description": "Design sprint",
                    "quantity": "3.5",
                    "unit_price": "149.99",
                    "service_type_id": world.demo.service_type_ids["Design"],
                    "tax_rate_id": tax_rate_id,
                }
            ],
        )
    )


def test_uk_invoice_in_gbp_gets_a_tax_code_on_every_line(uk: World) -> None:
    invoice_id = uk.demo.invoice_gbp_id
    response = uk.copy(invoice_id, tax_code_id=None)
    assert response.status_code == 201, response.text
    [qbo] = uk.qbo_invoices(invoice_id)
    assert qbo["CurrencyRef"]["value"] == "GBP"
    codes = {
        line["SalesItemLineDetail"]["TaxCodeRef"]["value"] for line in qbo["Line"] if "SalesItemLineDetail" in line
    }
    assert len(codes) == 1  # the company's zero-rate code, on every line
    customer = uk.qbo("Customer", qbo["CustomerRef"]["value"])
    assert customer["DisplayName"] == "Café Zürich Ltd"


def test_productive_numbering_sends_the_number_and_a_duplicate_is_409(us: World) -> None:
    us.configure(invoice_numbering="productive", default_item_id="1", memo_source="subject")
    invoice_id = us.demo.invoice_usd_id
    unique_number = f"T-{uuid.uuid4().hex[:8]}"
    us.productive.update_record("invoices", invoice_id, number=unique_number)
    first = us.copy(invoice_id)
    assert first.status_code == 201, first.text
    assert first.json()["doc_number"] == unique_number
    [qbo] = us.qbo_invoices(invoice_id)
    assert qbo["DocNumber"] == unique_number
    assert qbo["CustomerMemo"]["value"].startswith("Website redesign")
    assert us.productive.invoice(invoice_id)["number"] == unique_number  # Productive keeps its own number
    # Another invoice with the same number: QuickBooks refuses it (6140) and nothing is written.
    twin = _invoice(us, number=unique_number, tax_rate_id=us.demo.tax_rate_us_sales_id)
    clash = us.copy(twin)
    assert clash.status_code == 409, clash.text
    error = clash.json()["error"]
    assert error["details"]["quickbooks_code"] == "6140"
    assert us.qbo_invoices(twin) == []
    assert us.history(twin) == []
    assert us.productive.invoice(twin)["exported"] is False


def test_productive_pdf_is_uploaded_to_quickbooks(us: World) -> None:
    us.configure(pdf_source="productive", default_item_id="1")
    response = us.copy(us.demo.invoice_usd_id)
    assert response.status_code == 201, response.text
    qbo_id = response.json()["quickbooks_invoice_id"]
    attachables = [
        a
        for a in us.stack.emulator.store.require(us.realm).all("Attachable")
        if any(ref["EntityRef"]["value"] == qbo_id for ref in a.get("AttachableRef", []))
    ]
    assert len(attachables) == 1
    assert attachables[0]["ContentType"] == "application/pdf"
    assert us.productive.attachments(us.demo.invoice_usd_id) == []


def test_select_custom_field_memo_resolves_the_option_name(us: World) -> None:
    us.configure(memo_source="custom_field", memo_custom_field_id=us.demo.custom_field_select_id, default_item_id="1")
    assert us.copy(us.demo.invoice_usd_id).status_code == 201
    [qbo] = us.qbo_invoices(us.demo.invoice_usd_id)
    assert qbo["CustomerMemo"]["value"] == "North America"


def test_update_changes_the_last_copy_in_place_even_after_a_quickbooks_edit(us: World) -> None:
    invoice_id = us.demo.invoice_usd_id
    first = us.copy(invoice_id).json()
    # Someone edits the invoice in QuickBooks (its SyncToken moves on).
    realm = us.stack.emulator.store.require(us.realm)
    with realm.lock:
        record = realm.get("Invoice", first["quickbooks_invoice_id"])
        assert record is not None
        record["PrivateNote"] = record["PrivateNote"] + " (edited in QBO)"
        record["SyncToken"] = str(int(record["SyncToken"]) + 1)
    # And someone changes the invoice in Productive.
    [line_id, *_] = us.demo.invoice_usd_line_item_ids
    us.productive.update_record("line_items", line_id, quantity="20")
    updated = us.copy(invoice_id, mode="update")
    assert updated.status_code == 201, updated.text
    body = updated.json()
    assert body["mode"] == "update"
    assert body["quickbooks_invoice_id"] == first["quickbooks_invoice_id"]
    assert "quickbooks_edits_overwritten" in {w["code"] for w in body["warnings"]}
    [qbo] = us.qbo_invoices(invoice_id)
    assert qbo["Line"][0]["SalesItemLineDetail"]["Qty"] == Decimal(20)
    assert len(us.history(invoice_id)) == 1


def test_create_mode_makes_a_new_copy_and_history_is_newest_first(us: World) -> None:
    invoice_id = us.demo.invoice_usd_id
    first = us.copy(invoice_id).json()
    second = us.copy(invoice_id, mode="create").json()
    assert second["quickbooks_invoice_id"] != first["quickbooks_invoice_id"]
    assert [entry["copy_id"] for entry in us.history(invoice_id)] == [second["copy_id"], first["copy_id"]]
    assert len(us.qbo_invoices(invoice_id)) == 2
    assert us.productive.invoice(invoice_id)["export_id"] == second["quickbooks_invoice_id"]


def test_idempotency_key_returns_the_first_result(us: World) -> None:
    invoice_id = us.demo.invoice_usd_id
    first = us.copy(invoice_id, key="key-1", mode="create")
    again = us.copy(invoice_id, key="key-1", mode="create")
    assert first.status_code == again.status_code == 201
    assert again.json() == first.json()
    assert len(us.qbo_invoices(invoice_id)) == 1
    reused = us.copy(invoice_id, key="key-1", mode="update")
    assert reused.status_code == 422
    assert reused.json()["error"]["code"] == "idempotency_key_reused"


@pytest.mark.parametrize("same_key", [True, False])
def test_twenty_identical_requests_at_once_make_one_invoice(us: World, same_key: bool) -> None:
    invoice_id = us.demo.invoice_usd_id
    barrier = threading.Barrier(20)
    statuses: list[int] = []

    def worker(n: int) -> None:
        barrier.wait()
        key = "same-key" if same_key else None
        statuses.append(us.copy(invoice_id, key=key, mode="update").status_code)

    threads = [threading.Thread(target=worker, args=(n,)) for n in range(20)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(us.qbo_invoices(invoice_id)) == 1
    assert 201 in statuses
    assert set(statuses) <= {201, 409}


def test_commit_then_drop_retried_until_success_makes_one_invoice(us: World) -> None:
    invoice_id = us.demo.invoice_usd_id
    us.stack.emulator.reset_request_log()
    us.stack.emulator.faults.commit_then_drop_next(6)
    try:
        responses = [us.copy(invoice_id, mode="update") for _ in range(4)]
    finally:
        us.stack.emulator.faults.reset()
    dropped = [entry for entry in us.stack.emulator.request_log if entry[2] == 0]
    assert dropped, "the emulator dropped no connection: the test tested nothing"
    final = us.copy(invoice_id, mode="update") if responses[-1].status_code != 201 else responses[-1]
    assert final.status_code == 201, [r.text for r in responses]
    assert len(us.qbo_invoices(invoice_id)) == 1
    assert len(us.history(invoice_id)) == 1


def test_bad_requests_write_nothing(us: World) -> None:
    assert us.copy("999999").status_code == 404
    assert us.copy("999999").json()["error"]["code"] == "invoice_not_found"
    # An unmapped service type without a default item: 422 naming it; nothing written anywhere.
    us.configure(default_item_id=None, service_type_items={}, memo_source="subject")
    invoice_id = us.demo.invoice_usd_id
    response = us.copy(invoice_id)
    assert response.status_code == 422
    assert response.json()["error"]["code"] == "unmapped_service_type"
    assert "Design" in response.json()["error"]["message"]
    assert us.qbo_invoices(invoice_id) == []
    assert us.history(invoice_id) == []
    assert us.productive.invoice(invoice_id)["exported"] is False


def test_productive_down_is_503_with_a_retry_hint(us: World) -> None:
    us.productive.faults.fail_next(20, status=503)
    try:
        response = us.copy(us.demo.invoice_usd_id)
    finally:
        us.productive.faults.clear()
    assert response.status_code == 503
    assert response.json()["error"]["details"]["service"] == "productive"
    assert response.headers["retry-after"]


def test_a_connection_that_needs_reconnecting_is_409(us: World) -> None:
    from tests.integration.test_tokens import _revoke_at_intuit, _secret

    _revoke_at_intuit(us.stack, _secret(us.stack, us.cid)["qbo"]["refresh_token"])
    us.stack.emulator.clock.advance(3700)
    try:
        response = us.copy(us.demo.invoice_usd_id)
    finally:
        us.stack.emulator.clock.advance(-3700)
    assert response.status_code == 409, response.text
    assert response.json()["error"]["code"] == "needs_reconnect", response.text
    assert us.qbo_invoices(us.demo.invoice_usd_id) == []


def _invoice_for_company(world: World, name: str) -> str:
    company = world.productive.create_company(
        world.demo.organization_id, name, default_currency="USD", default_subsidiary_id=world.demo.subsidiary_us_id
    )
    return str(
        world.productive.create_invoice(
            world.demo.organization_id,
            company,
            currency="USD",
            subsidiary_id=world.demo.subsidiary_us_id,
            invoiced_on="2025-05-02",
            line_items=[
                {
                    "description": "Work",
                    "quantity": "1",
                    "unit_price": "100",
                    "service_type_id": world.demo.service_type_ids["Design"],
                    "tax_rate_id": world.demo.tax_rate_us_exempt_id,
                }
            ],
        )
    )


def _customers(world: World) -> dict[str, dict[str, Any]]:
    return {c["DisplayName"]: c for c in world.stack.emulator.store.require(world.realm).all("Customer")}


@pytest.mark.parametrize("name", ["O'Brien & Co.", "100% Juice Bar", "Smith & Sons", "Café Olé"])
def test_existing_customers_are_found_by_name_whatever_the_characters(us: World, name: str) -> None:
    before = _customers(us)
    response = us.copy(_invoice_for_company(us, name))
    assert response.status_code == 201, response.text
    assert _customers(us).keys() == before.keys()
    assert us.qbo("Invoice", response.json()["quickbooks_invoice_id"])["CustomerRef"]["value"] == before[name]["Id"]


def test_new_names_lose_colons_and_keep_everything_else(us: World) -> None:
    name = f"Zoë: Design & Co's {uuid.uuid4().hex[:4]}"
    response = us.copy(_invoice_for_company(us, name))
    assert response.status_code == 201, response.text
    customer_id = us.qbo("Invoice", response.json()["quickbooks_invoice_id"])["CustomerRef"]["value"]
    assert us.qbo("Customer", customer_id)["DisplayName"] == name.replace(":", "-")


@pytest.mark.parametrize("taken_by", ["Northwind Traders", "Emily Platt"])
def test_a_name_taken_by_a_vendor_or_employee_gets_a_distinct_customer(us: World, taken_by: str) -> None:
    response = us.copy(_invoice_for_company(us, taken_by))
    assert response.status_code == 201, response.text
    customer_id = us.qbo("Invoice", response.json()["quickbooks_invoice_id"])["CustomerRef"]["value"]
    assert us.qbo("Customer", customer_id)["DisplayName"] == f"{taken_by} (USD)"


def test_an_inactive_customer_is_reactivated_and_used(us: World) -> None:
    dormant = _customers(us)["Dormant Dynamics"]
    response = us.copy(_invoice_for_company(us, "Dormant Dynamics"))
    assert response.status_code == 201, response.text
    assert us.qbo("Invoice", response.json()["quickbooks_invoice_id"])["CustomerRef"]["value"] == dormant["Id"]
    assert us.qbo("Customer", dormant["Id"])["Active"] is True


def test_the_picked_customer_wins_and_the_mapping_is_remembered(us: World) -> None:
    picked = _customers(us)["Acme Corporation"]["Id"]
    first = us.copy(us.demo.invoice_usd_id, customer_id=picked)
    assert first.status_code == 201, first.text
    assert us.qbo("Invoice", first.json()["quickbooks_invoice_id"])["CustomerRef"]["value"] == picked
    # The next copy of another invoice of the same client needs no look-up and no pick.
    second = _invoice(us, number=None, tax_rate_id=us.demo.tax_rate_us_exempt_id)
    response = us.copy(second)
    assert us.qbo("Invoice", response.json()["quickbooks_invoice_id"])["CustomerRef"]["value"] == picked


def test_a_quickbooks_validation_fault_is_422_with_its_code_and_nothing_is_written(us: World) -> None:
    # The mapped item was made inactive in QuickBooks after the settings were saved. The customer is
    # picked: for one to be created, the item is checked first (test_no_leftovers.py).
    picked = _customers(us)["Acme Corporation"]["Id"]
    realm = us.stack.emulator.store.require(us.realm)
    with realm.lock:
        item = realm.get("Item", "2")
        assert item is not None
        item["Active"] = False
    try:
        response = us.copy(us.demo.invoice_usd_id, customer_id=picked)
    finally:
        with realm.lock:
            item["Active"] = True
    assert response.status_code == 422, response.text
    details = response.json()["error"]["details"]
    assert details["quickbooks_code"]
    assert details["quickbooks_message"]
    assert us.qbo_invoices(us.demo.invoice_usd_id) == []
    assert us.history(us.demo.invoice_usd_id) == []
    assert us.productive.invoice(us.demo.invoice_usd_id)["exported"] is False


def test_productive_throttling_is_503_with_its_reset_as_the_retry_hint(us: World) -> None:
    us.productive.set_rate_limit(requests=1, window_seconds=120)
    try:
        first = us.copy(us.demo.invoice_usd_id)  # the invoice read spends the budget, line items hit 429
    finally:
        us.productive.set_rate_limit(requests=100, window_seconds=10, enabled=True)  # Productive's own limits
    assert first.status_code == 503, first.text
    error = first.json()["error"]
    assert error["details"]["service"] == "productive"
    assert int(first.headers["retry-after"]) > 30
    assert us.qbo_invoices(us.demo.invoice_usd_id) == []
