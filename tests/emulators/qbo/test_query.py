"""The query language: grammar, escaping, operators, paging, count, Active filtering, errors."""

from __future__ import annotations

from typing import Any

import pytest

from tests.emulators.qbo.helpers import Api, seeded


def names(rows: list[dict[str, Any]], key: str = "DisplayName") -> list[Any]:
    return [row[key] for row in rows]


def active(api: Api, entity: str = "Customer") -> int:
    """How many active records of an entity the seed put in the company."""
    return len(seeded(api.emu, api.tokens.realm_id, entity))


def test_select_all_customers_envelope(us: Api) -> None:
    response = us.query("select * from Customer")
    body = response.json()
    qr = body["QueryResponse"]
    assert qr["startPosition"] == 1
    assert qr["maxResults"] == len(qr["Customer"]) == active(us)
    assert "totalCount" not in qr
    assert "time" in body
    assert "Dormant Dynamics" not in names(qr["Customer"])


def test_post_query_with_application_text(us: Api) -> None:
    response = us.query_post("SELECT * FROM Customer WHERE DisplayName = 'Café Olé'")
    assert response.status_code == 200, response.text
    assert names(response.json()["QueryResponse"]["Customer"]) == ["Café Olé"]


def test_keywords_and_entity_names_are_case_insensitive(us: Api) -> None:
    assert len(us.rows("SeLeCt * FrOm Customer wHeRe Active = true")) == active(us)
    # node-quickbooks writes entity names in camelCase (billPayment) or lower case (exchangerate);
    # Intuit answers under the entity's own name.
    body = us.query("select * from customer").json()["QueryResponse"]
    assert len(body["Customer"]) == active(us)
    assert set(body) == {"Customer", "startPosition", "maxResults"}
    assert len(us.rows("Select * From taxCode Where Name = 'TAX'", "TaxCode")) == 1
    assert us.query("select count(*) from CUSTOMER").json()["QueryResponse"] == {"totalCount": active(us)}


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        # node-quickbooks: lower-case keywords, "and" chains, orderby, startposition/maxresults always
        (
            "select * from customer where DisplayName like '%& %' and Active = true orderby DisplayName desc "
            "startposition 1 maxresults 1000",
            ["Smith & Sons", "O'Brien & Co."],
        ),
        # python-quickbooks: upper-case keywords, ORDER BY, escaped quotes
        ("SELECT * FROM Customer WHERE DisplayName = 'O\\'Brien & Co.' ORDER BY DisplayName", ["O'Brien & Co."]),
        # quickbooks-ruby / the PHP SDK: mixed case, IN lists, MAXRESULTS before STARTPOSITION
        (
            "Select * From Customer Where Id In ('1', '2', '3') And DisplayName Like 'A%' "
            "MaxResults 10 StartPosition 1",
            ["Amy's Bird Sanctuary"],
        ),
        # projections are accepted; every field comes back
        ("select Id, DisplayName from Customer where DisplayName = 'Café Olé'", ["Café Olé"]),
    ],
)
def test_what_long_lived_clients_send(us: Api, text: str, expected: list[str]) -> None:
    assert names(us.rows(text, "Customer")) == expected


def test_company_info_and_preferences_are_queryable(us: Api, uk: Api) -> None:
    info = us.rows("select * from CompanyInfo", "CompanyInfo")
    assert [row["CompanyName"] for row in info] == ["Sandbox Company US"]
    assert info == [us.get(f"companyinfo/{us.tokens.realm_id}").json()["CompanyInfo"]]
    assert names(uk.rows("SELECT * FROM companyinfo", "CompanyInfo"), "CompanyName") == ["Sandbox Company UK"]
    preferences = us.rows("select * from Preferences", "Preferences")
    assert preferences == [us.get("preferences").json()["Preferences"]]
    assert us.query("select count(*) from preferences").json()["QueryResponse"] == {"totalCount": 1}


@pytest.mark.parametrize(
    ("literal", "expected"),
    [
        (r"'Amy\'s Bird Sanctuary'", "Amy's Bird Sanctuary"),
        (r"'O\'Brien & Co.'", "O'Brien & Co."),
        ("'Smith & Sons'", "Smith & Sons"),
        ("'Café Olé'", "Café Olé"),
        ("'100% Juice Bar'", "100% Juice Bar"),
    ],
)
def test_escaping_and_special_characters(us: Api, literal: str, expected: str) -> None:
    assert names(us.rows(f"select * from Customer where DisplayName = {literal}")) == [expected]


def test_like_in_and_comparisons(us: Api) -> None:
    assert names(us.rows("select * from Customer where DisplayName like 'A%'")) == [
        "Amy's Bird Sanctuary",
        "Acme Corporation",
    ]
    assert names(us.rows("select * from Customer where DisplayName like '%& %'")) == [
        "Smith & Sons",
        "O'Brien & Co.",
    ]
    rows = us.rows("select * from Item where Name in ('Design', 'Consulting', 'Nope')", "Item")
    assert sorted(names(rows, "Name")) == ["Consulting", "Design"]
    rows = us.rows("select * from Item where UnitPrice >= 120 and UnitPrice < 500", "Item")
    assert sorted(names(rows, "Name")) == ["Consulting", "Development"]
    rows = us.rows("select * from Customer where Id in ('1', '2')")
    assert len(rows) == 2


def test_not_equal_which_intuit_accepts_undocumented(us: Api) -> None:
    # python-quickbooks' integration suite sends this to the sandbox (tests/peer, test_transfer.py).
    rows = us.rows("select * from Customer where DisplayName != 'Smith & Sons' and DisplayName like 'S%'")
    assert names(rows) == []
    others = names(us.rows("select * from Customer where DisplayName != 'Smith & Sons'"))
    assert len(others) == active(us) - 1
    assert "Smith & Sons" not in others
    items = us.rows("select * from Item where UnitPrice != 150", "Item")
    assert "Consulting" not in names(items, "Name")
    at_150 = us.rows("select * from Item where UnitPrice = 150", "Item")
    assert len(items) + len(at_150) == active(us, "Item")


def test_metadata_filter(us: Api) -> None:
    everyone = "select * from Customer where MetaData.LastUpdatedTime >= '2000-01-01T00:00:00-08:00'"
    assert len(us.rows(everyone)) == active(us)
    assert us.rows("select * from Customer where MetaData.LastUpdatedTime > '2999-01-01'") == []


def test_orderby_startposition_maxresults(us: Api) -> None:
    ordered = names(us.rows("select * from Customer orderby DisplayName"))
    assert ordered == sorted(ordered, key=str.casefold)
    desc = names(us.rows("select * from Customer order by DisplayName desc"))
    assert desc == list(reversed(ordered))
    page = us.query("select * from Customer orderby DisplayName startposition 2 maxresults 3").json()
    qr = page["QueryResponse"]
    assert names(qr["Customer"]) == ordered[1:4]
    assert qr["startPosition"] == 2
    assert qr["maxResults"] == 3
    beyond = us.query("select * from Customer startposition 50").json()
    assert beyond["QueryResponse"] == {}


def test_maxresults_is_capped_at_1000(us: Api) -> None:
    response = us.query("select * from Customer maxresults 5000")
    assert response.status_code == 200
    assert response.json()["QueryResponse"]["maxResults"] == active(us)


def test_count(us: Api) -> None:
    body = us.query("select count(*) from Customer").json()
    assert body["QueryResponse"] == {"totalCount": active(us)}
    body = us.query("select COUNT(*) from Customer where Active in (true, false)").json()
    assert body["QueryResponse"] == {"totalCount": active(us) + 1}  # and Dormant Dynamics


def test_active_filtering(us: Api) -> None:
    assert "Dormant Dynamics" not in names(us.rows("select * from Customer where DisplayName = 'Dormant Dynamics'"))
    both = us.rows("select * from Customer where DisplayName = 'Dormant Dynamics' and Active in (true, false)")
    assert names(both) == ["Dormant Dynamics"]
    inactive = us.rows("select * from Customer where Active = false")
    assert names(inactive) == ["Dormant Dynamics"]
    items = us.rows("select * from Item", "Item")
    assert "Legacy Support" not in names(items, "Name")


def test_empty_result(us: Api) -> None:
    body = us.query("select * from Customer where DisplayName = 'Nobody'").json()
    assert body["QueryResponse"] == {}


@pytest.mark.parametrize(
    "text",
    [
        "select * from Customer where DisplayName = 'a' or DisplayName = 'b'",
        "select * from Customer where DisplayName = 'unterminated",
        "select from Customer",
        "select * Customer",
        "select * from Customer where DisplayName <> 'x'",
        "select * from Customer maxresults ten",
        "",
    ],
)
def test_parse_errors(us: Api, text: str) -> None:
    response = us.query(text)
    assert response.status_code == 400
    error = response.json()["Fault"]["Error"][0]
    assert error["code"] == "4000"
    assert "QueryParserError" in error["Detail"]
    assert response.json()["Fault"]["type"] == "ValidationFault"


@pytest.mark.parametrize(
    "text",
    [
        "select * from Customer where Nonsense = 'x'",
        "select * from Customer where BillAddr = 'x'",
        "select * from Customer orderby Nonsense",
        "select * from Widget",
    ],
)
def test_unknown_or_unfilterable_property(us: Api, text: str) -> None:
    response = us.query(text)
    assert response.status_code == 400
    assert response.json()["Fault"]["Error"][0]["code"] == "4001"


def test_taxcodes_per_locale(us: Api, uk: Api) -> None:
    us_codes = names(us.rows("select * from TaxCode", "TaxCode"), "Name")
    assert {"TAX", "NON", "Mountain View"} <= set(us_codes)
    uk_codes = names(uk.rows("select * from TaxCode", "TaxCode"), "Name")
    assert {"20.0% S", "5.0% R", "0.0% Z", "Exempt", "No VAT"} <= set(uk_codes)
    assert "TAX" not in uk_codes


def test_item_query_with_sku_projection(us: Api) -> None:
    rows = us.rows("SELECT *, Sku FROM Item MAXRESULTS 100", "Item")
    assert len(rows) == active(us, "Item")
