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


def _browser() -> httpx.Client:
    return httpx.Client(follow_redirects=False, timeout=30)


def _state_of(started: dict) -> str:
    return httpx.URL(started["authorize_url"]).params["state"]


def _intuit_callback_url(stack, browser: httpx.Client, authorize_url: str, realm_id: str | None = None) -> str:
    """Open our start page and Intuit's consent page in this browser; returns the URL Intuit sends it back to."""
    stack.emulator.next_consent(realm_id=realm_id or stack.emulator.US_REALM)
    start = browser.get(authorize_url)
    assert start.status_code == 302, start.text
    consent = browser.get(start.headers["location"])
    assert consent.status_code == 302, consent.text
    return str(consent.headers["location"])


def _callback(stack, browser: httpx.Client | None = None, **params: str) -> httpx.Response:
    with browser or _browser() as client:
        return client.get(f"{stack.api_url}/oauth/callback", params=params)


def test_authorize_url_is_our_start_page_which_binds_a_cookie_and_sends_on_to_intuit(app, stack) -> None:
    started = start_connection(app)
    authorize = httpx.URL(started["authorize_url"])
    assert str(authorize).startswith(f"{stack.api_url}/oauth/start?")
    assert _state_of(started).startswith(started["connection_id"] + ".")
    with _browser() as browser:
        start = browser.get(authorize)
    assert start.status_code == 302
    assert start.headers["cache-control"] == "no-store"
    intuit = httpx.URL(start.headers["location"])
    assert str(intuit).startswith(stack.emulator.base_url + "/connect/oauth2")
    assert intuit.params["scope"] == "com.intuit.quickbooks.accounting"
    assert intuit.params["response_type"] == "code"
    assert intuit.params["state"] == _state_of(started)
    assert intuit.params["redirect_uri"] == f"{stack.api_url}/oauth/callback"
    cookie = start.headers["set-cookie"]
    name, _, rest = cookie.partition("=")
    value = rest.split(";")[0]
    attributes = {part.strip().split("=")[0].lower(): part.strip() for part in cookie.split(";")[1:]}
    assert name == "qbosync_oauth"
    assert len(value) >= 40
    assert value not in _state_of(started)
    assert {"httponly", "path", "max-age", "samesite"} <= attributes.keys()
    assert attributes["samesite"] == "SameSite=Lax"
    assert attributes["path"] == "Path=/oauth"
    assert attributes["max-age"] == "Max-Age=600"
    # The local stack's callback is http://127.0.0.1: the one place Secure is dropped (unit-tested for https).
    assert "secure" not in attributes


def test_the_callback_clears_the_cookie(app, stack) -> None:
    started = start_connection(app)
    with _browser() as browser:
        back = browser.get(_intuit_callback_url(stack, browser, started["authorize_url"]))
    assert outcome(back.headers["location"])["status"] == "connected"
    cleared = back.headers["set-cookie"]
    assert cleared.startswith("qbosync_oauth=;") or cleared.startswith('qbosync_oauth="";')
    assert "Max-Age=0" in cleared
    assert "Path=/oauth" in cleared


def test_login_csrf_another_browsers_code_with_this_state_is_refused(app, stack) -> None:
    """RFC 6749 10.12: the attacker finishes the victim's state with a code for the attacker's own company.
    Without the victim's cookie the state does not check out; the victim can still finish."""
    victim = start_connection(app)
    attacker = start_connection(app)
    with _browser() as attacker_browser:
        attacker_callback = httpx.URL(
            _intuit_callback_url(stack, attacker_browser, attacker["authorize_url"], stack.emulator.UK_REALM)
        )
        forged = attacker_browser.get(attacker_callback.copy_set_param("state", _state_of(victim)))
    assert forged.status_code == 400
    assert forged.headers["content-type"].startswith("text/html")
    assert app.get(f"/connections/{victim['connection_id']}").json()["status"] == "pending"
    # The victim's state was not used up by the attempt.
    with _browser() as victim_browser:
        back = victim_browser.get(_intuit_callback_url(stack, victim_browser, victim["authorize_url"]))
    assert outcome(back.headers["location"])["status"] == "connected"
    body = app.get(f"/connections/{victim['connection_id']}").json()
    assert body["realm_id"] == stack.emulator.US_REALM


def test_a_state_opened_in_one_browser_is_refused_in_another(app, stack) -> None:
    started = start_connection(app)
    with _browser() as first, _browser() as second:
        callback_url = _intuit_callback_url(stack, first, started["authorize_url"])
        assert second.get(started["authorize_url"]).status_code == 400  # the start page: first browser wins
        assert second.get(callback_url).status_code == 400  # the callback: no cookie for this state
        assert first.get(started["authorize_url"]).status_code == 302  # the same browser may open it again
        back = first.get(callback_url)
    assert outcome(back.headers["location"])["status"] == "connected"


def test_every_refusal_before_the_check_is_the_same_page(app, stack) -> None:
    """An unsigned caller cannot tell an existing connection from an unknown one, nor a real state from a forged one."""
    started = start_connection(app)
    existing_id = started["connection_id"]
    answers = []
    with _browser() as browser:
        answers.append(browser.get(f"{stack.api_url}/oauth/start", params={"state": existing_id + ".x"}))
        answers.append(browser.get(f"{stack.api_url}/oauth/start", params={"state": "not-a-connection.x"}))
        answers.append(browser.get(f"{stack.api_url}/oauth/start"))
        answers.append(browser.get(f"{stack.api_url}/oauth/start", params={"state": "x" * 5000}))
    for params in (
        {"code": "x", "realmId": stack.emulator.US_REALM, "state": existing_id + ".forged"},
        {"code": "x", "realmId": "1", "state": "not-a-connection.abc"},
        {"code": "x", "realmId": "1", "state": _state_of(started)},  # a real state, but no cookie
        {"state": _state_of(started), "realmId": "x" * 5000},
        {},
    ):
        answers.append(_callback(stack, **params))
    with _browser() as browser:
        browser.cookies.set("qbosync_oauth", "A" * 43, domain="127.0.0.1", path="/oauth")
        answers.append(
            browser.get(f"{stack.api_url}/oauth/callback", params={"state": _state_of(started), "code": "x"})
        )
    assert {answer.status_code for answer in answers} == {400}
    assert len({answer.text for answer in answers}) == 1
    assert all(answer.headers["content-type"].startswith("text/html") for answer in answers)
    assert app.get(f"/connections/{existing_id}").json()["status"] == "pending"
    # None of it used up the real state.
    assert outcome(follow_consent(stack, started["authorize_url"]))["status"] == "connected"


def test_reused_state_is_refused(app, stack) -> None:
    started = start_connection(app)
    with _browser() as browser:
        callback_url = _intuit_callback_url(stack, browser, started["authorize_url"])
        first = browser.get(callback_url)
        assert outcome(first.headers["location"])["status"] == "connected"
        browser.get(started["authorize_url"])  # even with a fresh cookie: the state is gone
        replay = browser.get(callback_url)
    assert replay.status_code == 400
    assert app.get(f"/connections/{started['connection_id']}").json()["status"] == "connected"


def test_a_state_expired_before_the_start_page_is_the_page(app, stack, shift_clock) -> None:
    started = start_connection(app)
    shift_clock(minutes=11)
    with _browser() as browser:
        assert browser.get(started["authorize_url"]).status_code == 400
    assert app.get(f"/connections/{started['connection_id']}").json()["status"] == "pending"


def test_a_state_that_expires_at_intuit_goes_back_with_the_reason(app, stack, shift_clock) -> None:
    started = start_connection(app)
    with _browser() as browser:
        callback_url = _intuit_callback_url(stack, browser, started["authorize_url"])
        shift_clock(minutes=11)
        back = browser.get(callback_url)
    assert outcome(back.headers["location"]) == {"tab": "1", "status": "error", "reason": "expired_state"}
    assert app.get(f"/connections/{started['connection_id']}").json()["status"] == "pending"


def test_denied_consent_leaves_the_connection_pending(app, stack) -> None:
    started = start_connection(app)
    stack.emulator.next_consent(realm_id=stack.emulator.US_REALM, deny=True)
    with _browser() as browser:
        start = browser.get(started["authorize_url"])
        back = browser.get(browser.get(start.headers["location"]).headers["location"])
    assert outcome(back.headers["location"]) == {"tab": "1", "status": "error", "reason": "access_denied"}
    assert app.get(f"/connections/{started['connection_id']}").json()["status"] == "pending"


def test_a_code_intuit_refuses_is_an_error_not_a_crash(app, stack) -> None:
    started = start_connection(app)
    with _browser() as browser:
        callback_url = httpx.URL(_intuit_callback_url(stack, browser, started["authorize_url"]))
        back = browser.get(callback_url.copy_set_param("code", "made-up-code"))
    assert outcome(back.headers["location"])["reason"] == "authorization_failed"
    assert app.get(f"/connections/{started['connection_id']}").json()["status"] == "pending"
