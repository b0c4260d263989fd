"""The API gateway and the read endpoints: auth failures, faults, CompanyInfo, Preferences, reads."""

from __future__ import annotations

import httpx
import pytest

from local.qbo_emulator import QboEmulator
from tests.emulators.qbo.helpers import Api, connect

AUTH_BODY_KEYS = {
    "warnings",
    "intuitObject",
    "fault",
    "report",
    "queryResponse",
    "batchItemResponse",
    "attachableResponse",
    "syncErrorResponse",
    "requestId",
    "time",
    "status",
    "cdcresponse",
}


def test_missing_and_malformed_tokens_get_intuit_401_body(emu: QboEmulator, http: httpx.Client) -> None:
    url = f"{emu.base_url}/v3/company/{emu.US_REALM}/companyinfo/{emu.US_REALM}"
    for headers in ({}, {"Authorization": "Bearer"}, {"Authorization": "Basic abc"}, {"Authorization": "Bearer x"}):
        response = http.get(url, headers=headers)
        assert response.status_code == 401
        body = response.json()
        assert set(body) == AUTH_BODY_KEYS
        error = body["fault"]["error"][0]
        assert error["message"] == "message=AuthenticationFailed; errorCode=003200; statusCode=401"
        assert error["code"] == "3200"
        assert error["detail"].startswith("Token expired: ")
        assert error["element"] is None
        assert body["fault"]["type"] == "AUTHENTICATION"
        assert isinstance(body["time"], int)
        assert body["batchItemResponse"] == []
        assert body["cdcresponse"] == []
        assert response.headers["intuit_tid"]


def test_token_for_another_realm_is_401(emu: QboEmulator, http: httpx.Client, us: Api) -> None:
    response = http.get(f"{emu.base_url}/v3/company/{emu.UK_REALM}/companyinfo/{emu.UK_REALM}", headers=us.headers())
    assert response.status_code == 401
    assert response.json()["fault"]["error"][0]["code"] == "3200"


def test_unknown_realm_is_403(emu: QboEmulator, http: httpx.Client, us: Api) -> None:
    response = http.get(f"{emu.base_url}/v3/company/123/companyinfo/123", headers=us.headers())
    assert response.status_code == 403
    assert response.json()["fault"]["error"][0]["code"] == "3100"


def test_unknown_entity_path_is_404_fault(us: Api) -> None:
    response = us.get("widget/1")
    assert response.status_code == 404
    fault = response.json()["Fault"]
    assert fault["Error"][0]["code"] == "500"
    assert "time" in response.json()


@pytest.mark.parametrize("report", ["ProfitAndLoss", "BalanceSheet", "AgedReceivables"])
def test_reports_answer_intuits_unsupported_operation_fault(us: Api, report: str) -> None:
    response = us.get(f"reports/{report}", start_date="2026-01-01")
    assert response.status_code == 400
    fault = response.json()["Fault"]
    assert fault["type"] == "ValidationFault"
    error = fault["Error"][0]
    assert (error["code"], error["Message"]) == ("500", "Unsupported Operation")
    assert error["Detail"].startswith("Operation Could not find resource for relative : /v3/company/")
    assert error["Detail"].endswith(f"/reports/{report} is not supported.")


def test_companyinfo_us_and_uk(us: Api, uk: Api) -> None:
    response = us.get(f"companyinfo/{us.tokens.realm_id}")
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/json;charset=UTF-8"
    assert response.headers["intuit_tid"]
    info = response.json()["CompanyInfo"]
    assert info["CompanyName"] == "Sandbox Company US"
    assert info["Country"] == "US"
    assert info["CompanyAddr"]["Country"] == "USA"
    assert info["Id"]
    assert info["SyncToken"] == "0"
    assert info["MetaData"]["CreateTime"]
    assert "time" in response.json()
    uk_info = uk.get(f"companyinfo/{uk.tokens.realm_id}").json()["CompanyInfo"]
    assert uk_info["CompanyName"] == "Sandbox Company UK"
    assert uk_info["Country"] == "GB"
    assert uk_info["CompanyAddr"]["Country"] == "GBR"


def test_preferences_and_set_preference(emu: QboEmulator, us: Api, uk: Api) -> None:
    prefs = us.get("preferences").json()["Preferences"]
    assert prefs["SalesFormsPrefs"]["CustomTxnNumbers"] is False
    assert prefs["SalesFormsPrefs"]["AllowDiscount"] is True
    assert prefs["CurrencyPrefs"] == {"MultiCurrencyEnabled": False, "HomeCurrency": {"value": "USD"}}
    assert prefs["TaxPrefs"]["UsingSalesTax"] is True
    assert prefs["TaxPrefs"]["PartnerTaxEnabled"] is False
    uk_prefs = uk.get("preferences").json()["Preferences"]
    assert uk_prefs["CurrencyPrefs"] == {"MultiCurrencyEnabled": True, "HomeCurrency": {"value": "GBP"}}
    emu.set_preference(emu.US_REALM, "SalesFormsPrefs.CustomTxnNumbers", True)
    assert us.get("preferences").json()["Preferences"]["SalesFormsPrefs"]["CustomTxnNumbers"] is True


def test_read_entities_by_id(us: Api) -> None:
    customer = us.get("customer/1").json()["Customer"]
    assert customer["DisplayName"] == "Amy's Bird Sanctuary"
    assert customer["CurrencyRef"]["value"] == "USD"
    item = us.get("item/2").json()["Item"]
    assert item["Name"] == "Design"
    assert item["Type"] == "Service"
    assert item["UnitPrice"] == 75
    assert us.get("taxcode/TAX").json()["TaxCode"]["Name"] == "TAX"
    assert us.get("taxcode/2").json()["TaxCode"]["TaxGroup"] is True
    assert us.get("account/1").json()["Account"]["AccountType"] == "Income"
    vendor = us.rows("select * from Vendor")[0]
    assert us.get(f"vendor/{vendor['Id']}").json()["Vendor"]["DisplayName"] == "Northwind Traders"


def test_read_missing_object_is_610(us: Api) -> None:
    response = us.get("customer/99999")
    assert response.status_code == 404
    error = response.json()["Fault"]["Error"][0]
    assert error["code"] == "610"
    assert error["Message"] == "Object Not Found"


def test_minorversion_any_value_accepted(us: Api) -> None:
    for value in ("4", "75", "99"):
        assert (
            us.http.get(f"{us.base}/preferences", params={"minorversion": value}, headers=us.headers()).status_code
            == 200
        )
    assert us.http.get(f"{us.base}/preferences", headers=us.headers()).status_code == 200


def test_json_even_when_xml_is_accepted(us: Api) -> None:
    response = us.http.get(f"{us.base}/preferences", headers={**us.headers(), "Accept": "application/xml"})
    assert response.headers["content-type"] == "application/json;charset=UTF-8"


def test_request_log_counts_calls(emu: QboEmulator, http: httpx.Client) -> None:
    api = Api(http, emu, connect(http, emu))
    emu.reset_request_log()
    api.get("preferences")
    api.get("customer/99999")
    assert emu.request_log == [
        ("GET", f"/v3/company/{emu.US_REALM}/preferences", 200),
        ("GET", f"/v3/company/{emu.US_REALM}/customer/99999", 404),
    ]
