"""After the state and its cookie checked out, every failure goes back to Productive with a reason and
revokes what it got, but never the grant another connection to the same QuickBooks company still uses
(Intuit's revoke ends the app's whole grant for that company). The return_url rules."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from qbosync.domain.connection import connection_id_for
from tests.integration.conftest import connect, outcome, start_connection, unique


@pytest.fixture
def emulator_faults(stack) -> Iterator[None]:
    yield
    stack.emulator.faults.reset()


def _callback_url(stack, browser: httpx.Client, authorize_url: str, consent_realm: str) -> httpx.URL:
    stack.emulator.next_consent(realm_id=consent_realm)
    start = browser.get(authorize_url)
    assert start.status_code == 302, start.text
    return httpx.URL(browser.get(start.headers["location"]).headers["location"])


def _finish(stack, authorize_url: str, consent_realm: str, **override: str) -> tuple[httpx.Response, httpx.Client]:
    browser = httpx.Client(follow_redirects=False, timeout=30)
    url = _callback_url(stack, browser, authorize_url, consent_realm)
    for name, value in override.items():
        url = url.copy_set_param(name, value)
    return browser.get(url), browser


def _items_status(app, connection_id: str) -> int:
    return app.get(f"/connections/{connection_id}/quickbooks/items").status_code


# -- part 5: the callback ---------------------------------------------------------------------------


def test_another_companys_realm_id_goes_back_with_an_error_and_revokes(app, stack) -> None:
    consented = stack.emulator.add_company()
    named = stack.emulator.add_company()
    started = start_connection(app)
    back, browser = _finish(stack, started["authorize_url"], consented, realmId=named)
    try:
        assert back.status_code == 302
        assert outcome(back.headers["location"]) == {"tab": "1", "status": "error", "reason": "quickbooks_unavailable"}
        assert not stack.emulator.is_connected(consented, stack.client_id)  # the fresh tokens were revoked
        assert app.get(f"/connections/{started['connection_id']}").json()["status"] == "pending"
        # The cookie is cleared and the state used up: the same callback again is the page.
        assert browser.get(back.request.url).status_code == 400
    finally:
        browser.close()


def test_a_realm_id_that_is_not_digits_never_reaches_quickbooks(app, stack) -> None:
    company = stack.emulator.add_company()
    started = start_connection(app)
    stack.emulator.reset_request_log()
    back, browser = _finish(stack, started["authorize_url"], company, realmId="../../x")
    browser.close()
    assert outcome(back.headers["location"])["reason"] == "invalid_realm"
    paths = [path for _, path, _ in stack.emulator.request_log]
    assert not any(path.startswith("/v3") or path == "/x" for path in paths), paths
    assert not any("tokens/bearer" in path for path in paths)  # the code was not even exchanged
    assert app.get(f"/connections/{started['connection_id']}").json()["status"] == "pending"


def test_reconnecting_to_another_company_is_refused_and_keeps_the_first(app, stack) -> None:
    first_company = stack.emulator.add_company()
    other_company = stack.emulator.add_company()
    connection = connect(app, stack, realm_id=first_company)
    again = start_connection(app, org=connection.organization_id, sub=connection.subsidiary_id)
    back, browser = _finish(stack, again["authorize_url"], other_company)
    browser.close()
    assert outcome(back.headers["location"])["reason"] == "different_company"
    body = app.get(f"/connections/{connection.connection_id}").json()
    assert (body["status"], body["realm_id"]) == ("connected", first_company)
    assert _items_status(app, connection.connection_id) == 200
    assert not stack.emulator.is_connected(other_company, stack.client_id)


# -- part 4: two connections to one company ---------------------------------------------------------


def test_a_failed_second_connection_does_not_revoke_the_first(app, stack, emulator_faults) -> None:
    company = stack.emulator.add_company()
    first = connect(app, stack, realm_id=company)
    second = start_connection(app)
    stack.emulator.next_consent(realm_id=company)
    with httpx.Client(follow_redirects=False, timeout=30) as browser:
        start = browser.get(second["authorize_url"])
        callback_url = browser.get(start.headers["location"]).headers["location"]
        stack.emulator.faults.fail_next(20, status=500)  # the company read after the code exchange fails
        back = browser.get(callback_url)
        stack.emulator.faults.reset()
    assert outcome(back.headers["location"])["reason"] == "quickbooks_unavailable"
    assert app.get(f"/connections/{second['connection_id']}").json()["status"] == "pending"
    assert stack.emulator.is_connected(company, stack.client_id)
    assert _items_status(app, first.connection_id) == 200


def test_a_failed_only_connection_revokes(app, stack, emulator_faults) -> None:
    company = stack.emulator.add_company()
    started = start_connection(app)
    stack.emulator.next_consent(realm_id=company)
    with httpx.Client(follow_redirects=False, timeout=30) as browser:
        start = browser.get(started["authorize_url"])
        callback_url = browser.get(start.headers["location"]).headers["location"]
        stack.emulator.faults.fail_next(20, status=500)
        back = browser.get(callback_url)
        stack.emulator.faults.reset()
    assert outcome(back.headers["location"])["reason"] == "quickbooks_unavailable"
    assert not stack.emulator.is_connected(company, stack.client_id)


def test_deleting_one_of_two_connections_keeps_the_grant_and_the_last_revokes(app, stack) -> None:
    company = stack.emulator.add_company()
    first = connect(app, stack, realm_id=company)
    second = connect(app, stack, realm_id=company)
    assert app.delete(f"/connections/{second.connection_id}").status_code == 204
    assert app.get(f"/connections/{second.connection_id}").json()["status"] == "disconnected"
    assert stack.emulator.is_connected(company, stack.client_id)
    assert _items_status(app, first.connection_id) == 200
    assert app.delete(f"/connections/{first.connection_id}").status_code == 204
    assert not stack.emulator.is_connected(company, stack.client_id)


# -- part 7: return_url -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "return_url",
    [
        "https://user:pw@app.productive.io/",
        "https://app.productive.io@evil.example/",
        "https://evil.example/",
        "https://app.productive.io.evil.example/",
        "https://productive.example/",  # "*.productive.example" is its subdomains only
        "https://[::1]/",
        "https://127.0.0.1/",
        "https://2130706433/",
        "http://app.productive.io/",
        "javascript:alert(1)//app.productive.io",
        "https://app.productive.io\\@evil.example/",
        "https://app.productive.io /x",
        "//app.productive.io/",
    ],
)
def test_return_urls_off_the_allowed_hosts_are_refused_and_nothing_is_written(app, return_url: str) -> None:
    org, sub = unique("org"), unique("sub")
    response = app.post(
        "/connections",
        {"organization_id": org, "subsidiary_id": sub, "productive_api_token": "pat-x", "return_url": return_url},
    )
    assert response.status_code == 422, response.text
    assert response.json()["error"]["code"] == "return_url_not_allowed"
    assert app.get(f"/connections/{connection_id_for(org, sub)}").status_code == 404


@pytest.mark.parametrize(
    "return_url",
    ["https://app.productive.io/settings", "https://eu.app.productive.example/x", "https://APP.Productive.io/"],
)
def test_allowed_hosts_exact_and_wildcard(app, return_url: str) -> None:
    response = app.post(
        "/connections",
        {
            "organization_id": unique("org"),
            "subsidiary_id": unique("sub"),
            "productive_api_token": "pat-x",
            "return_url": return_url,
        },
    )
    assert response.status_code == 201, response.text


def test_status_and_reason_already_in_the_return_url_are_replaced(app, stack) -> None:
    company = stack.emulator.add_company()
    started = app.post(
        "/connections",
        {
            "organization_id": unique("org"),
            "subsidiary_id": unique("sub"),
            "productive_api_token": "pat-x",
            "return_url": "https://app.productive.io/back?status=connected&reason=spoofed&tab=2",
        },
    ).json()
    stack.emulator.next_consent(realm_id=company, deny=True)
    with httpx.Client(follow_redirects=False, timeout=30) as browser:
        start = browser.get(started["authorize_url"])
        back = browser.get(browser.get(start.headers["location"]).headers["location"])
    query = httpx.URL(back.headers["location"]).params
    assert query.get_list("status") == ["error"]
    assert query.get_list("reason") == ["access_denied"]
    assert query["tab"] == "2"
