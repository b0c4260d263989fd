"""Settings are validated against QuickBooks; the look-ups the copy dialog needs."""

from __future__ import annotations

import pytest

from tests.integration.conftest import connect, start_connection


@pytest.fixture
def us(app, stack):
    return connect(app, stack, realm_id=stack.emulator.US_REALM)


def _items(app, connection_id: str) -> list[dict]:
    response = app.get(f"/connections/{connection_id}/quickbooks/items")
    assert response.status_code == 200, response.text
    return response.json()["items"]


def test_settings_round_trip(app, us) -> None:
    items = _items(app, us.connection_id)
    settings = {
        "invoice_numbering": "productive",
        "pdf_source": "productive",
        "sync_payments": True,
        "memo_source": "custom_field",
        "memo_custom_field_id": "5511",
        "default_item_id": items[0]["id"],
        "service_type_items": {"14": items[1]["id"]},
    }
    saved = app.put(f"/connections/{us.connection_id}/settings", settings)
    assert saved.status_code == 200, saved.text
    assert saved.json()["sync_payments_since"] is not None
    read = app.get(f"/connections/{us.connection_id}").json()["settings"]
    assert {key: read[key] for key in settings} == settings
    # Switching sync off and on again records the new moment; leaving it on keeps the first.
    again = app.put(f"/connections/{us.connection_id}/settings", settings).json()
    assert again["sync_payments_since"] == saved.json()["sync_payments_since"]


def test_unknown_item_is_a_clear_422_and_nothing_changes(app, us) -> None:
    before = app.get(f"/connections/{us.connection_id}").json()["settings"]
    response = app.put(f"/connections/{us.connection_id}/settings", {"default_item_id": "999999"})
    assert response.status_code == 422
    error = response.json()["error"]
    assert error["code"] == "unknown_item"
    assert "999999" in error["message"]
    assert app.get(f"/connections/{us.connection_id}").json()["settings"] == before


@pytest.mark.parametrize(
    ("settings", "fragment"),
    [
        ({"memo_source": "custom_field"}, "memo_custom_field_id"),
        ({"colour": "blue"}, "colour"),
        ({"invoice_numbering": "both"}, "invoice_numbering"),
        ({"sync_payments": "maybe"}, "sync_payments"),
        ({"service_type_items": {"14": 22}}, "service_type_items"),
    ],
)
def test_invalid_settings_are_422_with_the_field_named(app, us, settings, fragment) -> None:
    response = app.put(f"/connections/{us.connection_id}/settings", settings)
    assert response.status_code == 422, response.text
    assert response.json()["error"]["code"] == "validation_error"
    assert fragment in response.text


def test_item_mappings_need_a_connected_company(app) -> None:
    started = start_connection(app)
    response = app.put(f"/connections/{started['connection_id']}/settings", {"default_item_id": "1"})
    assert response.status_code == 409
    assert response.json()["error"]["code"] == "connection_not_ready"
    plain = app.put(f"/connections/{started['connection_id']}/settings", {"pdf_source": "productive"})
    assert plain.status_code == 200


def test_items_and_tax_codes_of_a_us_company(app, us) -> None:
    names = {item["name"] for item in _items(app, us.connection_id)}
    assert names
    codes = app.get(f"/connections/{us.connection_id}/quickbooks/tax-codes")
    assert codes.status_code == 200
    assert codes.json()["items"]


def test_tax_codes_of_a_uk_company_are_per_line_codes(app, stack) -> None:
    uk = connect(app, stack, realm_id=stack.emulator.UK_REALM)
    names = {code["name"] for code in app.get(f"/connections/{uk.connection_id}/quickbooks/tax-codes").json()["items"]}
    assert any("20.0%" in name for name in names), names


@pytest.mark.parametrize("search", ["O'Brien", "Smith & Sons", "Café"])
def test_customer_search_is_quote_ampersand_and_unicode_safe(app, us, search) -> None:
    response = app.get(f"/connections/{us.connection_id}/quickbooks/customers", params={"search": search})
    assert response.status_code == 200, response.text
    names = [customer["name"] for customer in response.json()["items"]]
    assert any(search in name for name in names), names


def test_customer_list_without_search(app, us) -> None:
    response = app.get(f"/connections/{us.connection_id}/quickbooks/customers")
    assert response.status_code == 200
    assert len(response.json()["items"]) >= 3


def test_lookups_on_a_pending_connection_are_409(app) -> None:
    started = start_connection(app)
    response = app.get(f"/connections/{started['connection_id']}/quickbooks/items")
    assert response.status_code == 409
    assert response.json()["error"]["details"]["status"] == "pending"
