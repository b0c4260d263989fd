"""The list engine (filters, sort, paging) on its own, without HTTP: records in a store, query arguments in."""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from werkzeug.datastructures import MultiDict

from local.productive_emulator.errors import ApiError
from local.productive_emulator.listing import MAX_PAGE_SIZE, list_page
from local.productive_emulator.resources import SPECS
from local.productive_emulator.store import Clock, Organization, Store

BASE = "http://127.0.0.1/api/v2/service_types"
SPEC = SPECS["service_types"]
NAMES = ["Design", "Audit", "Coding", "Consulting", "Support"]
Shop = tuple[Store, Organization, list[str]]


@pytest.fixture
def shop() -> Shop:
    store = Store(Clock())
    org = store.add_organization("Agency")
    ids = [store.create(org, "service_types", {"name": name})["id"] for name in NAMES]
    return store, org, ids


def _page(shop: Shop, *args: tuple[str, str]) -> tuple[list[str], dict[str, str], dict[str, Any]]:
    store, org, _ = shop
    page = list_page(store, org, SPEC, MultiDict(list(args)), BASE)
    return [r["name"] for r in page.records], page.links, page.meta


def _error(shop: Shop, *args: tuple[str, str]) -> dict[str, Any]:
    with pytest.raises(ApiError) as caught:
        _page(shop, *args)
    assert caught.value.status == 400
    error: dict[str, Any] = caught.value.errors[0]
    return error


def test_filters_combine_with_and_by_default_and_with_or_when_asked(
    shop: Shop,
) -> None:
    assert _page(shop, ("filter[name][contains]", "co"))[0] == ["Coding", "Consulting"]
    assert _page(shop, ("filter[name][contains]", "co"), ("filter[name][not_eq]", "Coding"))[0] == ["Consulting"]
    either = _page(shop, ("filter[$op]", "or"), ("filter[0][name][eq]", "Audit"), ("filter[1][name][eq]", "Support"))
    assert either[0] == ["Audit", "Support"]


def test_id_filter_takes_a_comma_list(shop: Shop) -> None:
    _, _, ids = shop
    assert _page(shop, ("filter[id]", f"{ids[0]},{ids[4]}"))[0] == ["Design", "Support"]
    assert _page(shop, ("filter[id][not_eq]", f"{ids[0]},{ids[4]}"))[0] == ["Audit", "Coding", "Consulting"]


def test_unknown_filter_operator_and_malformed_parameter_are_refused(
    shop: Shop,
) -> None:
    assert _error(shop, ("filter[price]", "1"))["title"] == "Unsupported Filter"
    assert _error(shop, ("filter[name][like]", "x"))["title"] == "Unsupported Filter"
    assert _error(shop, ("filter[name", "x"))["title"] == "Unsupported Filter"


def test_sort_by_several_keys_and_descending(shop: Shop) -> None:
    assert _page(shop, ("sort", "name"))[0] == sorted(NAMES)
    assert _page(shop, ("sort", "-name"))[0] == sorted(NAMES, reverse=True)
    assert _page(shop, ("sort", "-id"))[0] == list(reversed(NAMES))
    assert _error(shop, ("sort", "price"))["title"] == "Unsupported Sort"


def test_numbered_pages_report_totals_and_keep_the_query_in_their_links(
    shop: Shop,
) -> None:
    names, links, meta = _page(shop, ("sort", "name"), ("page[number]", "2"), ("page[size]", "2"))
    assert names == ["Consulting", "Design"]
    assert meta == {
        "current_page": 2,
        "total_pages": 3,
        "total_count": 5,
        "page_size": 2,
        "max_page_size": MAX_PAGE_SIZE,
    }
    assert set(links) == {"self", "first", "last", "next", "prev"}
    assert parse_qs(urlsplit(links["next"]).query) == {"sort": ["name"], "page[number]": ["3"], "page[size]": ["2"]}
    assert parse_qs(urlsplit(links["prev"]).query)["page[number]"] == ["1"]
    last_names, last_links, _ = _page(shop, ("sort", "name"), ("page[number]", "3"), ("page[size]", "2"))
    assert last_names == ["Support"]
    assert "next" not in last_links


def test_page_size_is_clamped_and_bad_page_arguments_are_refused(shop: Shop) -> None:
    assert _page(shop, ("page[size]", "100000"))[2]["page_size"] == MAX_PAGE_SIZE
    assert _page(shop, ("page[size]", "0"))[2]["page_size"] == 1
    assert _error(shop, ("page[size]", "ten"))["source"]["parameter"] == "page[size]"
    assert _error(shop, ("page[offset]", "3"))["source"]["parameter"] == "page"


def test_keyset_cursor_walks_every_record_once(shop: Shop) -> None:
    seen: list[str] = []
    cursor = ""
    for _ in range(10):
        names, links, meta = _page(shop, ("page[after]", cursor), ("page[size]", "2"))
        assert meta == {"page_size": 2, "max_page_size": MAX_PAGE_SIZE}
        seen += names
        if "next" not in links:
            break
        cursor = parse_qs(urlsplit(links["next"]).query)["page[after]"][0]
    assert seen == NAMES


def test_keyset_refuses_page_numbers_sorting_and_bad_cursors(shop: Shop) -> None:
    assert _error(shop, ("page[after]", ""), ("page[number]", "2"))["code"] == "keyset_conflict"
    assert _error(shop, ("page[after]", ""), ("sort", "name"))["code"] == "keyset_unsupported_sort"
    assert _error(shop, ("page[after]", "not-a-cursor"))["code"] == "keyset_invalid_cursor"
