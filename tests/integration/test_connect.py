"""Connecting a subsidiary: the OAuth dance through the real callback, and every way it can fail."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import httpx

from tests.integration.conftest import connect, follow_consent, outcome, start_connection


def test_connect_reads_company_and_records_expiry_dates(app, stack) -> None:
    connection = connect(app, stack, realm_id=stack.emulator.US_REALM)
    body = app.get(f"/connections/{connection.connection_id}").json()
    assert body["status"] == "connected"
    assert body["realm_id"] == stack.emulator.US_REALM
    assert body["company_name"]
    assert body["country"] == "US"
    now = datetime.now(UTC)
    access = datetime.fromisoformat(body["access_expires_at"])
    refresh = datetime.fromisoformat(body["refresh_expires_at"])
    hard = datetime.fromisoformat(body["refresh_hard_expires_at"])
    assert timedelta(minutes=55) < access - now <= timedelta(hours=1)
    assert timedelta(days=99) < refresh - now <= timedelta(days=101)
    assert timedelta(days=4 * 365) < hard - now <= timedelta(days=5 * 365 + 2)
    assert body["settings"]["invoice_numbering"] == "quickbooks"


def test_uk_company_is_read_as_non_us(app, stack) -> None:
    connection = connect(app, stack, realm_id=stack.emulator.UK_REALM)
    body = app.get(f"/connections/{connection.connection_id}").json()
    assert body["country"] == "GB"
    assert body["home_currency"] == "GBP"


def test_same_subsidiary_gets_the_same_connection(app) -> None:
    first = start_connection(app)
    again = start_connection(app, org=first["organization_id"], sub=first["subsidiary_id"])
    assert again["connection_id"] == first["connection_id"]
    assert again["status"] == "pending"
    other = start_connection(app, org=first["organization_id"])
    assert other["connection_id"] != first["connection_id"]


def test_authorize_url_asks_for_accounting_scope_and_carries_state(app) -> None:
    started = start_connection(app)
    query = httpx.URL(started["authorize_url"]).params
    assert query["scope"] == "com.intuit.quickbooks.accounting"
    assert query["response_type"] == "code"
    assert query["state"].startswith(started["connection_id"] + ".")
    assert query["redirect_uri"].endswith("/oauth/callback")


def _callback(stack, **params: str) -> httpx.Response:
    with httpx.Client(follow_redirects=False, timeout=30) as browser:
        return browser.get(f"{stack.api_url}/oauth/callback", params=params)


def test_forged_state_changes_nothing_and_returns_an_error(app, stack) -> None:
    started = start_connection(app)
    forged = _callback(stack, code="x", realmId=stack.emulator.US_REALM, state=started["connection_id"] + ".forged")
    assert forged.status_code == 302
    assert outcome(forged.headers["location"]) == {"tab": "1", "status": "error", "reason": "invalid_state"}
    assert forged.headers["location"].startswith(started["return_url"].split("?")[0])
    assert app.get(f"/connections/{started['connection_id']}").json()["status"] == "pending"


def test_state_naming_no_connection_gets_a_page_not_a_redirect(stack) -> None:
    response = _callback(stack, code="x", realmId="1", state="not-a-connection.abc")
    assert response.status_code == 400
    assert "not valid" in response.text


def test_reused_state_is_refused(app, stack) -> None:
    started = start_connection(app)
    stack.emulator.next_consent(realm_id=stack.emulator.US_REALM)
    with httpx.Client(follow_redirects=False, timeout=30) as browser:
        callback_url = browser.get(started["authorize_url"]).headers["location"]
        first = browser.get(callback_url)
        replay = browser.get(callback_url)
    assert outcome(first.headers["location"])["status"] == "connected"
    assert outcome(replay.headers["location"]) == {"tab": "1", "status": "error", "reason": "invalid_state"}
    assert app.get(f"/connections/{started['connection_id']}").json()["status"] == "connected"


def test_expired_state_is_refused(app, stack, shift_clock) -> None:
    started = start_connection(app)
    shift_clock(minutes=11)
    location = follow_consent(stack, started["authorize_url"], realm_id=stack.emulator.US_REALM)
    assert outcome(location)["reason"] == "expired_state"
    assert app.get(f"/connections/{started['connection_id']}").json()["status"] == "pending"


def test_denied_consent_leaves_the_connection_pending(app, stack) -> None:
    started = start_connection(app)
    stack.emulator.next_consent(realm_id=stack.emulator.US_REALM, deny=True)
    location = follow_consent(stack, started["authorize_url"])
    assert outcome(location)["reason"] == "access_denied"
    assert app.get(f"/connections/{started['connection_id']}").json()["status"] == "pending"


def test_a_code_intuit_refuses_is_an_error_not_a_crash(app, stack) -> None:
    started = start_connection(app)
    state = httpx.URL(started["authorize_url"]).params["state"]
    response = _callback(stack, code="made-up-code", realmId=stack.emulator.US_REALM, state=state)
    assert outcome(response.headers["location"])["reason"] == "authorization_failed"
    assert app.get(f"/connections/{started['connection_id']}").json()["status"] == "pending"
