"""Customer and Item writes: names, uniqueness, currency, SyncToken, full and sparse update."""

from __future__ import annotations

import pytest

from tests.emulators.qbo.helpers import Api


def create_customer(api: Api, **fields: object) -> dict[str, object]:
    response = api.post("customer", fields)
    assert response.status_code == 200, response.text
    return dict(response.json()["Customer"])


def fault(response: object) -> dict[str, str]:
    import httpx

    assert isinstance(response, httpx.Response)
    assert response.status_code == 400, response.text
    return dict(response.json()["Fault"]["Error"][0])


def test_create_customer_defaults(us: Api) -> None:
    customer = create_customer(us, DisplayName="New Co", PrimaryEmailAddr={"Address": "a@new.example"})
    assert customer["Id"]
    assert customer["SyncToken"] == "0"
    assert customer["Active"] is True
    assert customer["FullyQualifiedName"] == "New Co"
    assert customer["CurrencyRef"] == {"value": "USD", "name": "United States Dollar"}
    assert customer["Balance"] == 0
    meta = customer["MetaData"]
    assert isinstance(meta, dict)
    assert meta["CreateTime"] == meta["LastUpdatedTime"]
    rows = us.rows("select * from Customer where DisplayName = 'New Co'")
    assert rows[0]["Id"] == customer["Id"]


def test_display_name_built_from_parts(us: Api) -> None:
    customer = create_customer(us, GivenName="Ada", FamilyName="Lovelace")
    assert customer["DisplayName"] == "Ada Lovelace"


def test_name_required(us: Api) -> None:
    assert fault(us.post("customer", {"CompanyName": "No name"}))["code"] == "6000"


@pytest.mark.parametrize("name", ["Parent:Child", "Tab\tName", "New\nLine"])
def test_forbidden_characters(us: Api, name: str) -> None:
    error = fault(us.post("customer", {"DisplayName": name}))
    assert "colon" in error["Detail"]


@pytest.mark.parametrize(
    "name", ["Amy's Bird Sanctuary", "amy's bird sanctuary", "Northwind Traders", "Emily Platt", "Dormant Dynamics"]
)
def test_duplicate_names_across_customers_vendors_employees_inactive(us: Api, name: str) -> None:
    error = fault(us.post("customer", {"DisplayName": name}))
    assert error["code"] == "6240"
    assert error["Message"] == "Duplicate Name Exists Error"


def test_currency_defaults_and_is_fixed(uk: Api, us: Api) -> None:
    eur = create_customer(uk, DisplayName="Euro Kunde", CurrencyRef={"value": "EUR"})
    assert eur["CurrencyRef"] == {"value": "EUR", "name": "Euro"}
    gbp = create_customer(uk, DisplayName="Pound Client")
    assert gbp["CurrencyRef"]["value"] == "GBP"  # type: ignore[index]
    change = uk.post(
        "customer", {"Id": eur["Id"], "SyncToken": eur["SyncToken"], "sparse": True, "CurrencyRef": {"value": "GBP"}}
    )
    assert fault(change)["code"] == "6000"
    # multicurrency is off in the US company
    assert fault(us.post("customer", {"DisplayName": "Euro US", "CurrencyRef": {"value": "EUR"}}))["code"] == "6000"


def test_sparse_update_keeps_other_fields_and_bumps_sync_token(us: Api) -> None:
    customer = create_customer(us, DisplayName="Sparse Co", CompanyName="Sparse Co", Notes="keep me")
    response = us.post("customer", {"Id": customer["Id"], "SyncToken": "0", "sparse": True, "Notes": "changed"})
    assert response.status_code == 200, response.text
    updated = response.json()["Customer"]
    assert updated["SyncToken"] == "1"
    assert updated["Notes"] == "changed"
    assert updated["CompanyName"] == "Sparse Co"
    assert updated["DisplayName"] == "Sparse Co"


def test_full_update_clears_omitted_fields(us: Api) -> None:
    customer = create_customer(us, DisplayName="Full Co", CompanyName="Full Co", Notes="gone soon")
    response = us.post("customer", {"Id": customer["Id"], "SyncToken": "0", "DisplayName": "Full Co Renamed"})
    updated = response.json()["Customer"]
    assert updated["DisplayName"] == "Full Co Renamed"
    assert "Notes" not in updated
    assert "CompanyName" not in updated


def test_stale_sync_token(us: Api) -> None:
    customer = create_customer(us, DisplayName="Stale Co")
    assert (
        us.post("customer", {"Id": customer["Id"], "SyncToken": "0", "sparse": True, "Notes": "a"}).status_code == 200
    )
    error = fault(us.post("customer", {"Id": customer["Id"], "SyncToken": "0", "sparse": True, "Notes": "b"}))
    assert error["code"] == "5010"
    assert error["Message"] == "Stale Object Error"


def test_rename_into_a_taken_name_and_deactivate(us: Api) -> None:
    customer = create_customer(us, DisplayName="Rename Me")
    taken = us.post("customer", {"Id": customer["Id"], "SyncToken": "0", "sparse": True, "DisplayName": "Smith & Sons"})
    assert fault(taken)["code"] == "6240"
    off = us.post("customer", {"Id": customer["Id"], "SyncToken": "0", "sparse": True, "Active": False})
    assert off.json()["Customer"]["Active"] is False
    assert us.rows("select * from Customer where DisplayName = 'Rename Me'") == []
    again = us.post("customer", {"DisplayName": "Rename Me"})
    assert fault(again)["code"] == "6240"


def test_customer_delete_is_unsupported(us: Api) -> None:
    response = us.post("customer", {"Id": "1", "SyncToken": "0"}, operation="delete")
    assert response.status_code == 400
    assert response.json()["Fault"]["Error"][0]["code"] == "500"


def test_unknown_property_is_rejected(us: Api) -> None:
    error = fault(us.post("customer", {"DisplayName": "Typo Co", "DisplayNmae": "x"}))
    assert error["code"] == "2010"


def test_sub_customer(us: Api) -> None:
    job = create_customer(us, DisplayName="Kitchen", Job=True, ParentRef={"value": "1"})
    assert job["FullyQualifiedName"] == "Amy's Bird Sanctuary:Kitchen"
    assert job["Level"] == 1


def test_create_and_update_item(us: Api, uk: Api) -> None:
    response = us.post(
        "item", {"Name": "Audit", "Type": "Service", "IncomeAccountRef": {"value": "1"}, "UnitPrice": 210.5}
    )
    assert response.status_code == 200, response.text
    item = response.json()["Item"]
    assert item["UnitPrice"] == 210.5
    assert item["IncomeAccountRef"] == {"value": "1", "name": "Services"}
    assert us.get(f"item/{item['Id']}").json()["Item"]["Name"] == "Audit"
    sparse = us.post("item", {"Id": item["Id"], "SyncToken": "0", "sparse": True, "UnitPrice": 220})
    assert sparse.json()["Item"]["UnitPrice"] == 220
    assert sparse.json()["Item"]["SyncToken"] == "1"
    vat = uk.post(
        "item",
        {"Name": "Audit", "Type": "Service", "IncomeAccountRef": {"value": "1"}, "SalesTaxCodeRef": {"value": "4"}},
    )
    assert vat.json()["Item"]["SalesTaxCodeRef"] == {"value": "4", "name": "5.0% R"}


def test_item_validation(us: Api) -> None:
    assert (
        fault(us.post("item", {"Name": "design", "Type": "Service", "IncomeAccountRef": {"value": "1"}}))["code"]
        == "6240"
    )
    assert (
        fault(us.post("item", {"Name": "Legacy Support", "Type": "Service", "IncomeAccountRef": {"value": "1"}}))[
            "code"
        ]
        == "6240"
    )
    assert fault(us.post("item", {"Name": "No Account", "Type": "Service"}))["code"] == "2020"
    assert (
        fault(us.post("item", {"Name": "Bad Type", "Type": "Gizmo", "IncomeAccountRef": {"value": "1"}}))["code"]
        == "2170"
    )
    assert (
        fault(us.post("item", {"Name": "A:B", "Type": "Service", "IncomeAccountRef": {"value": "1"}}))["code"] == "6000"
    )
