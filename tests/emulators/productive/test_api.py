"""The Productive emulator through real HTTP: auth, JSON:API documents, filters, pagination,
money, errors and files."""

from __future__ import annotations

import base64
import io
from decimal import Decimal

import httpx
import pytest
from pypdf import PdfReader

from local.productive_emulator import ApiError, DemoIds, ProductiveEmulator
from tests.emulators.productive.conftest import JSONAPI, doc, rel

WRITE = {"Content-Type": JSONAPI}


def _errors(response: httpx.Response) -> list[dict[str, object]]:
    assert response.headers["content-type"].startswith(JSONAPI)
    errors = response.json()["errors"]
    assert isinstance(errors, list)
    assert errors
    return errors


# ---------------------------------------------------------------------------------------------- auth


def test_missing_token_is_401_with_errors_body(emu: ProductiveEmulator, demo: DemoIds) -> None:
    response = httpx.get(f"{emu.base_url}/invoices", headers={"X-Organization-Id": demo.organization_id})
    assert response.status_code == 401
    error = _errors(response)[0]
    assert error["status"] == "401"
    assert error["title"] == "Unauthenticated"
    assert error["detail"]


def test_unknown_token_is_401_and_is_not_echoed(emu: ProductiveEmulator, demo: DemoIds) -> None:
    headers = {"X-Auth-Token": "pat-not-a-real-token", "X-Organization-Id": demo.organization_id}
    response = httpx.get(f"{emu.base_url}/invoices", headers=headers)
    assert response.status_code == 401
    assert "pat-not-a-real-token" not in response.text


def test_missing_organization_header_is_401(emu: ProductiveEmulator, demo: DemoIds) -> None:
    response = httpx.get(f"{emu.base_url}/invoices", headers={"X-Auth-Token": demo.api_token})
    assert response.status_code == 401


def test_token_of_another_organization_is_403(emu: ProductiveEmulator, demo: DemoIds) -> None:
    other_org, other_token = emu.create_organization(name="Other agency")
    response = httpx.get(
        f"{emu.base_url}/invoices",
        headers={"X-Auth-Token": other_token, "X-Organization-Id": demo.organization_id},
    )
    assert response.status_code == 403
    assert _errors(response)[0]["title"] == "Access Denied"
    # ...and with its own organization it sees none of the demo's records
    own = httpx.get(
        f"{emu.base_url}/invoices/{demo.invoice_usd_id}",
        headers={"X-Auth-Token": other_token, "X-Organization-Id": other_org},
    )
    assert own.status_code == 404


def test_token_without_financial_access_gets_403_on_invoices_only(emu: ProductiveEmulator, demo: DemoIds) -> None:
    token = emu.create_token(demo.organization_id, financial_access=False)
    headers = {"X-Auth-Token": token, "X-Organization-Id": demo.organization_id}
    assert httpx.get(f"{emu.base_url}/invoices", headers=headers).status_code == 403
    assert httpx.get(f"{emu.base_url}/payments", headers=headers).status_code == 403
    assert httpx.get(f"{emu.base_url}/companies", headers=headers).status_code == 200


def test_revoked_token_is_401(emu: ProductiveEmulator, demo: DemoIds, api: httpx.Client) -> None:
    emu.revoke_token(demo.api_token)
    assert api.get("/companies").status_code == 401


# ---------------------------------------------------------------------------------------------- documents


def test_get_invoice_with_includes(api: httpx.Client, demo: DemoIds) -> None:
    response = api.get(f"/invoices/{demo.invoice_usd_id}", params={"include": "company,bill_to,subsidiary"})
    assert response.status_code == 200
    assert response.headers["content-type"].startswith(JSONAPI)
    body = response.json()
    data = body["data"]
    assert data["type"] == "invoices"
    assert data["id"] == demo.invoice_usd_id
    attrs = data["attributes"]
    assert attrs["number"] == "2025-041"
    assert attrs["purchase_order_number"] == "PO-7781"
    assert attrs["currency"] == "USD"
    assert attrs["custom_fields"] == {
        demo.custom_field_text_id: "ACME-WEB-2025",
        demo.custom_field_select_id: demo.custom_field_option_ids["North America"],
    }
    assert attrs["exported"] is False
    assert data["relationships"]["company"]["data"] == {"type": "companies", "id": demo.company_acme_id}
    included = {(r["type"], r["id"]): r for r in body["included"]}
    assert included[("companies", demo.company_acme_id)]["attributes"]["name"] == "Acme & Sons"
    contact = included[("contact_entries", demo.company_acme_billing_contact_id)]["attributes"]
    assert contact["billing_email"] == "ap@acme-sons.example"
    assert contact["city"] == "San Francisco"
    assert ("subsidiaries", demo.subsidiary_us_id) in included


def test_nested_include_and_sparse_fields(api: httpx.Client, demo: DemoIds) -> None:
    response = api.get(
        f"/invoices/{demo.invoice_gbp_id}",
        params={
            "include": "company.contact_entries",
            "fields[invoices]": "number,company",
            "fields[companies]": "name",
        },
    )
    assert response.status_code == 200
    body = response.json()
    assert body["data"]["attributes"] == {"number": "UK-2025-007"}
    assert list(body["data"]["relationships"]) == ["company"]
    types = sorted(r["type"] for r in body["included"])
    assert types == ["companies", "contact_entries"]
    company = next(r for r in body["included"] if r["type"] == "companies")
    assert company["attributes"] == {"name": "Café Zürich Ltd"}


def test_line_items_are_not_an_invoice_include(api: httpx.Client, demo: DemoIds) -> None:
    response = api.get(f"/invoices/{demo.invoice_usd_id}", params={"include": "line_items"})
    assert response.status_code == 400
    assert _errors(response)[0]["source"] == {"parameter": "include"}


def test_custom_field_with_options(api: httpx.Client, demo: DemoIds) -> None:
    response = api.get(f"/custom_fields/{demo.custom_field_select_id}", params={"include": "options"})
    assert response.status_code == 200
    body = response.json()
    assert body["data"]["attributes"]["data_type_id"] == 3
    names = {r["id"]: r["attributes"]["name"] for r in body["included"]}
    assert names == {v: k for k, v in demo.custom_field_option_ids.items()}


def test_unknown_id_is_404(api: httpx.Client) -> None:
    response = api.get("/invoices/999999")
    assert response.status_code == 404
    assert _errors(response)[0]["title"] == "Record Not Found"


def test_unknown_route_and_method(api: httpx.Client, demo: DemoIds) -> None:
    assert api.get("/unicorns").status_code == 404
    response = api.delete(f"/companies/{demo.company_acme_id}")
    assert response.status_code == 405
    assert _errors(response)[0]["status"] == "405"


# ---------------------------------------------------------------------------------------------- money


def test_invoice_money_is_computed_per_line(api: httpx.Client, demo: DemoIds) -> None:
    attrs = api.get(f"/invoices/{demo.invoice_usd_id}").json()["data"]["attributes"]
    # lines: 1500.00; 4537.50 less 5% = 4310.625 -> 4310.63; 550.00; 99.99 -> subtotal 6460.62
    # invoice discount 10%: 646.06 -> amount 5814.56
    # tax (4% + 4.875%, per component, on the discounted base): 119.81 + 344.31 + 0 + 7.99 = 472.11
    assert attrs["discount"] == "10"
    assert attrs["amount"] == "5814.56"
    assert attrs["amount_tax"] == "472.11"
    assert attrs["amount_with_tax"] == "6286.67"
    assert attrs["amount_paid"] == "0.00"
    assert attrs["amount_unpaid"] == "6286.67"

    gbp = api.get(f"/invoices/{demo.invoice_gbp_id}").json()["data"]["attributes"]
    # 1.5 * 850 = 1275.00; 7.25 * 95.50 = 692.375 -> 692.38; VAT 20% = 255.00 + 138.48
    assert gbp["amount"] == "1967.38"
    assert gbp["amount_tax"] == "393.48"
    assert gbp["amount_with_tax"] == "2360.86"


def test_line_items_filtered_by_invoice_carry_their_amounts(api: httpx.Client, demo: DemoIds) -> None:
    response = api.get("/line_items", params={"filter[invoice_id]": demo.invoice_usd_id})
    body = response.json()
    assert [r["id"] for r in body["data"]] == demo.invoice_usd_line_item_ids
    second = body["data"][1]
    assert second["attributes"]["quantity"] == "30.25"
    assert second["attributes"]["unit_price"] == "150.00"
    assert second["attributes"]["discount"] == "5"
    assert second["attributes"]["amount"] == "4310.63"
    assert second["attributes"]["tax_value"] == "8.875"
    assert second["relationships"]["service_type"]["data"]["id"] == demo.service_type_ids["Development"]
    assert body["meta"]["total_count"] == 4


def test_line_item_changes_move_the_invoice_totals(api: httpx.Client, demo: DemoIds) -> None:
    created = api.post(
        "/line_items",
        headers=WRITE,
        json=doc(
            "line_items",
            {"description": "Extra", "quantity": "2", "unit_price": "10.005"},
            {"invoice": rel("invoices", demo.invoice_gbp_id), "tax_rate": rel("tax_rates", demo.tax_rate_uk_zero_id)},
        ),
    )
    assert created.status_code == 201, created.text
    line = created.json()["data"]
    assert line["attributes"]["unit_price"] == "10.005"
    assert line["attributes"]["amount"] == "20.01"
    totals = api.get(f"/invoices/{demo.invoice_gbp_id}").json()["data"]["attributes"]
    assert totals["amount"] == "1987.39"
    assert totals["amount_tax"] == "393.48"

    patched = api.patch(
        f"/line_items/{line['id']}", headers=WRITE, json=doc("line_items", {"quantity": "3"}, resource_id=line["id"])
    )
    assert patched.status_code == 200
    assert patched.json()["data"]["attributes"]["amount"] == "30.02"

    assert api.delete(f"/line_items/{line['id']}").status_code == 204
    assert api.get(f"/invoices/{demo.invoice_gbp_id}").json()["data"]["attributes"]["amount"] == "1967.38"


def test_line_item_tax_rate_must_belong_to_the_invoice_subsidiary(api: httpx.Client, demo: DemoIds) -> None:
    response = api.post(
        "/line_items",
        headers=WRITE,
        json=doc(
            "line_items",
            {"description": "x", "quantity": "1", "unit_price": "1"},
            {"invoice": rel("invoices", demo.invoice_gbp_id), "tax_rate": rel("tax_rates", demo.tax_rate_us_sales_id)},
        ),
    )
    assert response.status_code == 422
    assert _errors(response)[0]["source"] == {"pointer": "/data/relationships/tax_rate"}


def test_line_item_requires_tax_rate_quantity_and_price(api: httpx.Client, demo: DemoIds) -> None:
    response = api.post(
        "/line_items",
        headers=WRITE,
        json=doc("line_items", {"description": "x", "invoice_id": demo.invoice_gbp_id}),
    )
    assert response.status_code == 422
    pointers = {e["source"]["pointer"] for e in _errors(response)}  # type: ignore[index]
    assert pointers == {"/data/attributes/quantity", "/data/attributes/unit_price", "/data/relationships/tax_rate"}


# ---------------------------------------------------------------------------------------------- writes


def test_patch_invoice_export_fields_and_number(api: httpx.Client, demo: DemoIds) -> None:
    body = doc(
        "invoices",
        {
            "exported": True,
            "export_id": "1875",
            "export_invoice_url": "https://app.sandbox.qbo.intuit.com/app/invoice?txnId=1875",
            "number": "1042",
            "amount": "1.00",  # read-only: ignored
        },
        resource_id=demo.invoice_usd_id,
    )
    response = api.patch(f"/invoices/{demo.invoice_usd_id}", headers=WRITE, json=body)
    assert response.status_code == 200, response.text
    attrs = response.json()["data"]["attributes"]
    assert attrs["exported"] is True
    assert attrs["export_id"] == "1875"
    assert attrs["number"] == "1042"
    assert attrs["exported_at"]
    assert attrs["amount"] == "5814.56"
    exported = api.get("/invoices", params={"filter[export_status]": "2"}).json()["data"]
    assert [r["id"] for r in exported] == [demo.invoice_usd_id]
    not_exported = api.get("/invoices", params={"filter[export_status]": "1"}).json()["data"]
    assert [r["id"] for r in not_exported] == [demo.invoice_gbp_id]


def test_write_without_jsonapi_content_type_is_415(api: httpx.Client, demo: DemoIds) -> None:
    body = doc("invoices", {"export_id": "1"})
    assert api.patch(f"/invoices/{demo.invoice_usd_id}", json=body).status_code == 415
    response = api.patch(f"/invoices/{demo.invoice_usd_id}", json=body, headers={"Content-Type": "application/json"})
    assert response.status_code == 415
    assert _errors(response)[0]["title"] == "Unsupported Media Type"
    assert api.get(f"/invoices/{demo.invoice_usd_id}").json()["data"]["attributes"]["export_id"] is None


@pytest.mark.parametrize(
    ("attributes", "pointer"),
    [
        ({"currency": "dollars"}, "/data/attributes/currency"),
        ({"invoiced_on": "31/03/2025"}, "/data/attributes/invoiced_on"),
        ({"discount": "150"}, "/data/attributes/discount"),
        ({"exported": "yes"}, "/data/attributes/exported"),
        ({"custom_fields": {"424242": "x"}}, "/data/attributes/custom_fields"),
    ],
)
def test_invalid_invoice_attributes_are_422_with_pointer(
    api: httpx.Client, demo: DemoIds, attributes: dict[str, object], pointer: str
) -> None:
    response = api.patch(f"/invoices/{demo.invoice_usd_id}", headers=WRITE, json=doc("invoices", attributes))
    assert response.status_code == 422
    error = _errors(response)[0]
    assert error["status"] == "422"
    assert error["title"] == "Invalid Attribute"
    assert error["source"] == {"pointer": pointer}


def test_select_custom_field_takes_option_ids(api: httpx.Client, demo: DemoIds) -> None:
    field = demo.custom_field_select_id
    bad = api.patch(
        f"/invoices/{demo.invoice_gbp_id}", headers=WRITE, json=doc("invoices", {"custom_fields": {field: "Europe"}})
    )
    assert bad.status_code == 422
    europe = demo.custom_field_option_ids["Asia Pacific"]
    good = api.patch(
        f"/invoices/{demo.invoice_gbp_id}", headers=WRITE, json=doc("invoices", {"custom_fields": {field: europe}})
    )
    assert good.status_code == 200
    assert good.json()["data"]["attributes"]["custom_fields"] == {field: europe}
    found = api.get("/invoices", params={f"filter[custom_fields][{field}]": europe}).json()["data"]
    assert [r["id"] for r in found] == [demo.invoice_gbp_id]


def test_type_mismatch_is_409_and_malformed_json_is_400(api: httpx.Client, demo: DemoIds) -> None:
    response = api.patch(f"/invoices/{demo.invoice_usd_id}", headers=WRITE, json=doc("payments", {}))
    assert response.status_code == 409
    response = api.patch(f"/invoices/{demo.invoice_usd_id}", headers=WRITE, content=b"{not json")
    assert response.status_code == 400


# ---------------------------------------------------------------------------------------------- payments


def test_payment_lifecycle_moves_amount_paid(emu: ProductiveEmulator, api: httpx.Client, demo: DemoIds) -> None:
    created = api.post(
        "/payments",
        headers=WRITE,
        json=doc(
            "payments",
            {"amount": "2000.00", "paid_on": "2025-04-12", "note": "QBO payment 77"},
            {"invoice": rel("invoices", demo.invoice_usd_id)},
        ),
    )
    assert created.status_code == 201, created.text
    payment = created.json()["data"]
    assert payment["attributes"]["amount"] == "2000.00"
    assert payment["relationships"]["invoice"]["data"]["id"] == demo.invoice_usd_id

    by_attribute = api.post(
        "/payments",
        headers=WRITE,
        json=doc("payments", {"amount": 286.67, "invoice_id": demo.invoice_usd_id, "paid_on": "2025-04-20"}),
    )
    assert by_attribute.status_code == 201

    attrs = api.get(f"/invoices/{demo.invoice_usd_id}").json()["data"]["attributes"]
    assert attrs["amount_paid"] == "2286.67"
    assert attrs["amount_unpaid"] == "4000.00"

    patched = api.patch(
        f"/payments/{payment['id']}",
        headers=WRITE,
        json=doc("payments", {"amount": "6000.00"}, resource_id=payment["id"]),
    )
    assert patched.status_code == 200
    attrs = api.get(f"/invoices/{demo.invoice_usd_id}").json()["data"]["attributes"]
    assert attrs["amount_unpaid"] == "0.00"
    assert attrs["paid_on"] == "2025-04-20"

    listed = api.get("/payments", params={"filter[invoice_id]": demo.invoice_usd_id}).json()
    assert listed["meta"]["total_count"] == 2
    assert api.delete(f"/payments/{payment['id']}").status_code == 204
    assert api.get(f"/payments/{payment['id']}").status_code == 404
    assert api.delete(f"/payments/{payment['id']}").status_code == 404
    assert [p["amount"] for p in emu.payments(demo.invoice_usd_id)] == [Decimal("286.67")]


def test_payment_validation(api: httpx.Client, demo: DemoIds) -> None:
    missing = api.post("/payments", headers=WRITE, json=doc("payments", {"paid_on": "2025-04-01"}))
    assert missing.status_code == 422
    pointers = {e["source"]["pointer"] for e in _errors(missing)}  # type: ignore[index]
    assert pointers == {"/data/attributes/amount", "/data/relationships/invoice"}
    bad_invoice = api.post("/payments", headers=WRITE, json=doc("payments", {"amount": "1", "invoice_id": "987654"}))
    assert bad_invoice.status_code == 422
    bad_amount = api.post(
        "/payments", headers=WRITE, json=doc("payments", {"amount": "ten", "invoice_id": demo.invoice_usd_id})
    )
    assert _errors(bad_amount)[0]["source"] == {"pointer": "/data/attributes/amount"}


def test_write_off_counts_separately(emu: ProductiveEmulator, api: httpx.Client, demo: DemoIds) -> None:
    emu.create_payment(demo.organization_id, demo.invoice_gbp_id, "2000.00", paid_on="2025-05-01")
    api.post(
        "/payments",
        headers=WRITE,
        json=doc(
            "payments",
            {"amount": "360.86", "written_off_on": "2025-05-02", "invoice_id": demo.invoice_gbp_id},
        ),
    )
    attrs = api.get(f"/invoices/{demo.invoice_gbp_id}").json()["data"]["attributes"]
    assert attrs["amount_paid"] == "2000.00"
    assert attrs["amount_written_off"] == "360.86"
    assert attrs["amount_unpaid"] == "0.00"


# ---------------------------------------------------------------------------------------------- filters, sort


def test_unknown_filter_and_operator_are_400(api: httpx.Client) -> None:
    response = api.get("/invoices", params={"filter[colour]": "blue"})
    assert response.status_code == 400
    assert _errors(response)[0]["title"] == "Unsupported Filter"
    assert api.get("/invoices", params={"filter[invoiced_on][between]": "x"}).status_code == 400
    assert api.get("/invoices", params={"filter[invoiced_on][gt]": "soon"}).status_code == 400


def test_filter_operators_and_groups(emu: ProductiveEmulator, api: httpx.Client, demo: DemoIds) -> None:
    for day in ("2025-04-01", "2025-04-15", "2025-05-01"):
        emu.create_payment(demo.organization_id, demo.invoice_usd_id, "10", paid_on=day)
    emu.create_payment(demo.organization_id, demo.invoice_gbp_id, "20", paid_on="2025-04-15")

    def ids(params: dict[str, str]) -> list[str]:
        response = api.get("/payments", params=params)
        assert response.status_code == 200, response.text
        return [r["attributes"]["paid_on"] for r in response.json()["data"]]

    assert ids({"filter[paid_on][gt_eq]": "2025-04-15"}) == ["2025-04-15", "2025-05-01", "2025-04-15"]
    assert ids({"filter[paid_after]": "2025-04-15", "filter[invoice_id]": demo.invoice_usd_id}) == [
        "2025-04-15",
        "2025-05-01",
    ]
    assert ids({"filter[paid_before]": "2025-04-01"}) == ["2025-04-01"]
    assert ids({"filter[amount][gt]": "15"}) == ["2025-04-15"]
    assert len(ids({"filter[invoice_id]": f"{demo.invoice_usd_id},{demo.invoice_gbp_id}"})) == 4
    grouped = {
        "filter[$op]": "or",
        "filter[0][paid_on][eq]": "2025-04-01",
        "filter[1][paid_on][eq]": "2025-05-01",
    }
    assert ids(grouped) == ["2025-04-01", "2025-05-01"]
    company = ids({"filter[company_id]": demo.company_cafe_id})
    assert company == ["2025-04-15"]
    assert ids({"sort": "-paid_on", "filter[invoice_id]": demo.invoice_usd_id}) == [
        "2025-05-01",
        "2025-04-15",
        "2025-04-01",
    ]


def test_invoice_filters_and_sort(api: httpx.Client, demo: DemoIds) -> None:
    def numbers(params: dict[str, str]) -> list[str]:
        response = api.get("/invoices", params=params)
        assert response.status_code == 200, response.text
        return [r["attributes"]["number"] for r in response.json()["data"]]

    assert numbers({"filter[company_id]": demo.company_cafe_id}) == ["UK-2025-007"]
    assert numbers({"filter[currency]": "USD"}) == ["2025-041"]
    assert numbers({"filter[invoiced_on][lt]": "2025-04-01"}) == ["2025-041"]
    assert numbers({"filter[number][contains]": "uk"}) == ["UK-2025-007"]
    assert numbers({"sort": "-invoiced_on"}) == ["UK-2025-007", "2025-041"]
    assert numbers({"sort": "amount"}) == ["UK-2025-007", "2025-041"]
    assert api.get("/invoices", params={"sort": "colour"}).status_code == 400


# ---------------------------------------------------------------------------------------------- pagination


def test_page_based_pagination(emu: ProductiveEmulator, api: httpx.Client, demo: DemoIds) -> None:
    for n in range(62):
        emu.create_service_type(demo.organization_id, f"Service {n:02d}")
    first = api.get("/service_types").json()
    assert len(first["data"]) == 30
    assert first["meta"] == {
        "current_page": 1,
        "total_pages": 3,
        "total_count": 65,
        "page_size": 30,
        "max_page_size": 200,
    }
    assert "prev" not in first["links"]
    seen = [r["id"] for r in first["data"]]
    url = first["links"].get("next")
    while url:
        page = api.get(url).json()
        seen += [r["id"] for r in page["data"]]
        url = page["links"].get("next")
    assert len(seen) == len(set(seen)) == 65
    last = api.get("/service_types", params={"page[number]": "3"}).json()
    assert len(last["data"]) == 5
    assert "next" not in last["links"]
    assert "prev" in last["links"]
    capped = api.get("/service_types", params={"page[size]": "500"}).json()
    assert capped["meta"]["page_size"] == 200
    assert len(capped["data"]) == 65
    small = api.get(
        "/service_types", params={"page[size]": "10", "page[number]": "2", "filter[name][contains]": "service"}
    ).json()
    assert small["meta"]["total_count"] == 62
    assert small["data"][0]["attributes"]["name"] == "Service 10"
    assert "filter%5Bname%5D%5Bcontains%5D=service" in small["links"]["next"]


def test_cursor_pagination(emu: ProductiveEmulator, api: httpx.Client, demo: DemoIds) -> None:
    for n in range(7):
        emu.create_service_type(demo.organization_id, f"Service {n}")
    seen: list[str] = []
    page = api.get("/service_types", params={"page[after]": "", "page[size]": "4"}).json()
    assert "total_count" not in page["meta"]
    seen += [r["id"] for r in page["data"]]
    while "next" in page["links"]:
        page = api.get(page["links"]["next"]).json()
        seen += [r["id"] for r in page["data"]]
    assert len(seen) == len(set(seen)) == 10
    conflict = api.get("/service_types", params={"page[after]": "", "page[number]": "2"})
    assert conflict.status_code == 400
    assert _errors(conflict)[0]["code"] == "keyset_conflict"
    broken = api.get("/service_types", params={"page[after]": "garbage!"})
    assert _errors(broken)[0]["code"] == "keyset_invalid_cursor"


# ---------------------------------------------------------------------------------------------- limits, faults, log


def test_rate_limit_returns_429_with_reset(emu: ProductiveEmulator, api: httpx.Client) -> None:
    emu.set_rate_limit(requests=3, window_seconds=5)
    assert [api.get("/service_types").status_code for _ in range(3)] == [200, 200, 200]
    limited = api.get("/service_types")
    assert limited.status_code == 429
    assert 1 <= int(limited.headers["X-RateLimit-Reset"]) <= 5
    error = _errors(limited)[0]
    assert error["title"] == "Too many requests"
    assert error["limit"] == 3
    emu.clock.advance(5)
    assert api.get("/service_types").status_code == 200


def test_rate_limit_is_per_token_and_can_be_switched_off(
    emu: ProductiveEmulator, api: httpx.Client, demo: DemoIds
) -> None:
    emu.set_rate_limit(requests=2, window_seconds=60)
    api.get("/service_types")
    api.get("/service_types")
    assert api.get("/service_types").status_code == 429
    other = emu.create_token(demo.organization_id)
    headers = {"X-Auth-Token": other, "X-Organization-Id": demo.organization_id}
    assert httpx.get(f"{emu.base_url}/service_types", headers=headers).status_code == 200
    emu.set_rate_limit(enabled=False)
    assert all(api.get("/service_types").status_code == 200 for _ in range(5))


def test_default_rate_limit_is_100_per_10_seconds(emu: ProductiveEmulator, api: httpx.Client) -> None:
    statuses = [api.get("/service_types", params={"page[size]": "1"}).status_code for _ in range(101)]
    assert statuses[:100] == [200] * 100
    assert statuses[100] == 429


def test_injected_faults(emu: ProductiveEmulator, api: httpx.Client, demo: DemoIds) -> None:
    emu.faults.fail_next(2, status=503, path_contains="/invoices")
    assert api.get("/companies").status_code == 200
    assert api.get(f"/invoices/{demo.invoice_usd_id}").status_code == 503
    assert api.get(f"/invoices/{demo.invoice_usd_id}").status_code == 503
    assert api.get(f"/invoices/{demo.invoice_usd_id}").status_code == 200
    emu.faults.delay_next(1, seconds=0.5)
    with pytest.raises(httpx.ReadTimeout):
        api.get("/companies", timeout=0.1)


def test_request_log_counts_calls(emu: ProductiveEmulator, api: httpx.Client, demo: DemoIds) -> None:
    emu.reset_request_log()
    api.get(f"/invoices/{demo.invoice_usd_id}")
    api.patch(f"/invoices/{demo.invoice_usd_id}", headers=WRITE, json=doc("invoices", {"export_id": "9"}))
    log = emu.request_log
    assert [(e.method, e.status) for e in log] == [("GET", 200), ("PATCH", 200)]
    assert log[1].body == doc("invoices", {"export_id": "9"})
    assert log[1].organization_id == demo.organization_id
    assert emu.count_requests("PATCH", "/invoices/") == 1
    assert all(demo.api_token not in str(entry) for entry in log)


# ---------------------------------------------------------------------------------------------- files


def test_invoice_pdf_is_a_real_pdf(api: httpx.Client, demo: DemoIds) -> None:
    response = api.get(f"/invoices/{demo.invoice_usd_id}/pdf")
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/pdf"
    reader = PdfReader(io.BytesIO(response.content))
    text = reader.pages[0].extract_text()
    assert "2025-041" in text
    assert "6286.67" in text
    assert "Acme & Sons, LLC" in text
    assert api.get("/invoices/424242/pdf").status_code == 404


def test_attachment_upload_multipart_and_jsonapi(emu: ProductiveEmulator, api: httpx.Client, demo: DemoIds) -> None:
    pdf = b"%PDF-1.4 fake but bytes"
    response = api.post(
        "/attachments",
        data={"invoice_id": demo.invoice_usd_id},
        files={"file": ("INV-1042.pdf", pdf, "application/pdf")},
    )
    assert response.status_code == 201, response.text
    attachment = response.json()["data"]
    assert attachment["attributes"]["name"] == "INV-1042.pdf"
    assert attachment["attributes"]["size"] == len(pdf)
    assert api.get(attachment["attributes"]["url"]).content == pdf

    encoded = base64.b64encode(b"second").decode()
    response = api.post(
        "/attachments",
        headers=WRITE,
        json=doc(
            "attachments",
            {"name": "note.txt", "content_type": "text/plain", "content": encoded},
            {"invoice": rel("invoices", demo.invoice_usd_id)},
        ),
    )
    assert response.status_code == 201
    stored = emu.attachments(demo.invoice_usd_id)
    assert [(a["name"], a["content"]) for a in stored] == [("INV-1042.pdf", pdf), ("note.txt", b"second")]
    listed = api.get("/attachments", params={"filter[invoice_id]": demo.invoice_usd_id}).json()
    assert listed["meta"]["total_count"] == 2

    missing = api.post("/attachments", data={"invoice_id": demo.invoice_usd_id}, files={"nofile": ("a", b"b")})
    assert missing.status_code == 422
    no_invoice = api.post("/attachments", files={"file": ("a.pdf", b"b", "application/pdf")})
    assert no_invoice.status_code == 422


# ---------------------------------------------------------------------------------------------- more writes, limits


def test_create_invoice_through_the_api(api: httpx.Client, demo: DemoIds) -> None:
    missing = api.post("/invoices", headers=WRITE, json=doc("invoices", {"subject": "No company"}))
    assert missing.status_code == 422
    pointers = {e["source"]["pointer"] for e in _errors(missing)}  # type: ignore[index]
    assert pointers == {"/data/relationships/company", "/data/attributes/currency", "/data/attributes/invoiced_on"}

    created = api.post(
        "/invoices",
        headers=WRITE,
        json=doc(
            "invoices",
            {"currency": "USD", "invoiced_on": "2025-06-01", "subject": "API made"},
            {
                "company": rel("companies", demo.company_acme_id),
                "subsidiary": rel("subsidiaries", demo.subsidiary_us_id),
            },
        ),
    )
    assert created.status_code == 201, created.text
    invoice = created.json()["data"]
    assert invoice["attributes"]["amount_with_tax"] == "0.00"
    assert invoice["attributes"]["number"] is None
    wrong_type = api.post(
        "/invoices",
        headers=WRITE,
        json=doc(
            "invoices",
            {"currency": "USD", "invoiced_on": "2025-06-01"},
            {"company": rel("subsidiaries", demo.subsidiary_us_id)},
        ),
    )
    assert wrong_type.status_code == 422
    assert _errors(wrong_type)[0]["source"] == {"pointer": "/data/relationships/company"}


def test_organization_rate_limit_is_shared_by_its_tokens(
    emu: ProductiveEmulator, api: httpx.Client, demo: DemoIds
) -> None:
    emu.set_rate_limit(requests=100, window_seconds=10, organization_requests=3, organization_window_seconds=60)
    second = {"X-Auth-Token": emu.create_token(demo.organization_id), "X-Organization-Id": demo.organization_id}
    assert api.get("/companies").status_code == 200
    assert httpx.get(f"{emu.base_url}/companies", headers=second).status_code == 200
    assert api.get("/companies").status_code == 200
    limited = httpx.get(f"{emu.base_url}/companies", headers=second)
    assert limited.status_code == 429
    assert _errors(limited)[0]["period"] == 60


def test_includes_on_lists_are_deduplicated(api: httpx.Client, demo: DemoIds) -> None:
    body = api.get(
        "/line_items", params={"filter[invoice_id]": demo.invoice_usd_id, "include": "service_type,tax_rate"}
    ).json()
    keys = [(r["type"], r["id"]) for r in body["included"]]
    assert len(keys) == len(set(keys))
    assert sorted(t for t, _ in keys) == ["service_types"] * 3 + ["tax_rates"] * 2


def test_concurrent_writes_are_consistent(emu: ProductiveEmulator, demo: DemoIds) -> None:
    from concurrent.futures import ThreadPoolExecutor

    headers = {"X-Auth-Token": demo.api_token, "X-Organization-Id": demo.organization_id, **WRITE}

    def pay(n: int) -> int:
        body = doc("payments", {"amount": "1.00", "note": f"p{n}", "invoice_id": demo.invoice_gbp_id})
        return httpx.post(f"{emu.base_url}/payments", headers=headers, json=body).status_code

    with ThreadPoolExecutor(max_workers=8) as pool:
        statuses = list(pool.map(pay, range(24)))
    assert statuses == [201] * 24
    payments = emu.payments(demo.invoice_gbp_id)
    assert len({p["id"] for p in payments}) == 24
    assert emu.invoice(demo.invoice_gbp_id)["amount_paid"] == "24.00"


def test_admin_helpers_validate_like_the_api(emu: ProductiveEmulator, demo: DemoIds) -> None:
    with pytest.raises(ApiError) as info:
        emu.create_invoice(demo.organization_id, demo.company_acme_id, currency="usd")
    assert info.value.status == 422
    assert info.value.errors[0]["source"] == {"pointer": "/data/attributes/currency"}
