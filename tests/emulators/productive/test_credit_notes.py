"""Credit notes in the Productive emulator: invoices of invoice_type_id 2 with a parent invoice, negative
amounts, and what they take off their parent (`amount_credited`, `amount_unpaid`)."""

from __future__ import annotations

from decimal import Decimal

import httpx

from local.productive_emulator import DemoIds, ProductiveEmulator
from tests.emulators.productive.conftest import doc, rel


def _credit_line(demo: DemoIds, price: str = "-100") -> dict[str, object]:
    return {"description": "Goodwill", "quantity": "1", "unit_price": price, "tax_rate_id": demo.tax_rate_us_exempt_id}


def test_a_credit_note_is_typed_negative_and_lowers_its_parents_unpaid_amount(
    emu: ProductiveEmulator, demo: DemoIds, api: httpx.Client
) -> None:
    parent_before = emu.invoice(demo.invoice_usd_id)
    note_id = emu.create_credit_note(demo.organization_id, demo.invoice_usd_id, line_items=[_credit_line(demo)])
    response = api.get(f"/invoices/{note_id}", params={"include": "parent_invoice"})
    assert response.status_code == 200, response.text
    data = response.json()["data"]
    assert data["attributes"]["invoice_type_id"] == 2
    assert data["attributes"]["invoice_type"] == "credit_note"
    assert data["attributes"]["amount_with_tax"] == "-100.00"
    assert data["attributes"]["amount_unpaid"] == "0.00"
    assert data["relationships"]["parent_invoice"]["data"] == {"type": "invoices", "id": demo.invoice_usd_id}
    [included] = response.json()["included"]
    assert included["id"] == demo.invoice_usd_id
    parent = api.get(f"/invoices/{demo.invoice_usd_id}").json()["data"]["attributes"]
    assert parent["invoice_type"] == "invoice"
    assert parent["amount_credited"] == "100.00"
    assert parent["amount_credited_with_tax"] == "100.00"
    assert parent["credited"] is True
    assert Decimal(parent["amount_unpaid"]) == Decimal(parent_before["amount_unpaid"]) - 100
    # Filtered by parent and by type.
    notes = api.get("/invoices", params={"filter[parent_invoice_id]": demo.invoice_usd_id}).json()["data"]
    assert [n["id"] for n in notes] == [note_id]
    types = api.get("/invoices", params={"filter[invoice_type_id]": "2"}).json()["data"]
    assert [n["id"] for n in types] == [note_id]


def test_a_credit_note_over_the_http_api_needs_an_invoice_of_the_same_client_as_parent(
    emu: ProductiveEmulator, demo: DemoIds, api: httpx.Client
) -> None:
    usd = emu.invoice(demo.invoice_usd_id)
    attributes = {"currency": usd["currency"], "invoiced_on": "2025-06-01", "invoice_type_id": 2}
    acme = rel("companies", demo.company_acme_id)
    missing = api.post(
        "/invoices",
        json=doc("invoices", attributes, {"company": acme}),
        headers={"Content-Type": "application/vnd.api+json"},
    )
    assert missing.status_code == 422
    assert missing.json()["errors"][0]["source"]["pointer"] == "/data/relationships/parent_invoice"
    other_client = api.post(
        "/invoices",
        json=doc(
            "invoices",
            {**attributes, "currency": "GBP"},
            {"company": rel("companies", demo.company_cafe_id), "parent_invoice": rel("invoices", demo.invoice_usd_id)},
        ),
        headers={"Content-Type": "application/vnd.api+json"},
    )
    assert other_client.status_code == 422
    created = api.post(
        "/invoices",
        json=doc("invoices", attributes, {"company": acme, "parent_invoice": rel("invoices", demo.invoice_usd_id)}),
        headers={"Content-Type": "application/vnd.api+json"},
    )
    assert created.status_code == 201, created.text
    note_id = created.json()["data"]["id"]
    # A credit note cannot be the parent of another, nor become an invoice.
    nested = api.post(
        "/invoices",
        json=doc("invoices", attributes, {"company": acme, "parent_invoice": rel("invoices", note_id)}),
        headers={"Content-Type": "application/vnd.api+json"},
    )
    assert nested.status_code == 422
    retyped = api.patch(
        f"/invoices/{note_id}",
        json=doc("invoices", {"invoice_type_id": 1}, resource_id=note_id),
        headers={"Content-Type": "application/vnd.api+json"},
    )
    assert retyped.status_code == 422


def test_an_invoice_has_no_parent(emu: ProductiveEmulator, demo: DemoIds, api: httpx.Client) -> None:
    response = api.post(
        "/invoices",
        json=doc(
            "invoices",
            {"currency": "USD", "invoiced_on": "2025-06-01"},
            {"company": rel("companies", demo.company_acme_id), "parent_invoice": rel("invoices", demo.invoice_usd_id)},
        ),
        headers={"Content-Type": "application/vnd.api+json"},
    )
    assert response.status_code == 422
