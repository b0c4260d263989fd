"""Intuit OAuth 2.0 over real HTTP: authorize, code exchange, refresh rotation, expiry, revoke."""

from __future__ import annotations

import httpx
import pytest

from local.qbo_emulator import QboEmulator
from tests.emulators.qbo.helpers import (
    Api,
    authorize,
    basic,
    callback_params,
    connect,
    refresh,
    token_request,
)

DAY = 86_400


def test_authorize_redirects_with_code_state_and_realm(emu: QboEmulator, http: httpx.Client) -> None:
    response = authorize(http, emu, state="xyz")
    params = callback_params(response)
    assert response.headers["location"].startswith(emu.DEFAULT_REDIRECT_URI + "?")
    assert params["state"] == "xyz"
    assert params["realmId"] == emu.US_REALM
    assert params["code"]


def test_next_consent_picks_realm_and_is_one_shot(emu: QboEmulator, http: httpx.Client) -> None:
    emu.next_consent(realm_id=emu.UK_REALM)
    assert callback_params(authorize(http, emu))["realmId"] == emu.UK_REALM
    assert callback_params(authorize(http, emu))["realmId"] == emu.US_REALM


def test_denied_consent_redirects_with_access_denied(emu: QboEmulator, http: httpx.Client) -> None:
    emu.next_consent(deny=True)
    params = callback_params(authorize(http, emu, state="s1"))
    assert params == {"error": "access_denied", "state": "s1"}


def test_unknown_client_gets_error_page_without_redirect(emu: QboEmulator, http: httpx.Client) -> None:
    response = authorize(http, emu, client_id="nope")
    assert response.status_code == 400
    assert "location" not in response.headers
    assert "text/html" in response.headers["content-type"]


def test_unregistered_redirect_uri_gets_error_page(emu: QboEmulator, http: httpx.Client) -> None:
    response = authorize(http, emu, redirect_uri="http://localhost:8000/callback/other")
    assert response.status_code == 400
    assert "location" not in response.headers


def test_bad_response_type_and_scope_redirect_with_error(emu: QboEmulator, http: httpx.Client) -> None:
    assert callback_params(authorize(http, emu, response_type="token", state="a")) == {
        "error": "unsupported_response_type",
        "state": "a",
    }
    assert callback_params(authorize(http, emu, scope="openid email", state="b")) == {
        "error": "invalid_scope",
        "state": "b",
    }


def test_code_exchange_returns_intuit_token_shape(emu: QboEmulator, http: httpx.Client) -> None:
    tokens = connect(http, emu)
    body = tokens.raw
    assert set(body) == {"token_type", "access_token", "expires_in", "refresh_token", "x_refresh_token_expires_in"}
    assert body["token_type"] == "bearer"
    assert body["expires_in"] == 3600
    assert body["x_refresh_token_expires_in"] == 8_726_400
    assert body["access_token"].startswith("eyJ")
    assert len(body["access_token"]) > 200
    assert body["refresh_token"].startswith("RT1-")
    assert body["access_token"] in emu.issued_tokens()
    assert body["refresh_token"] in emu.issued_tokens()
    assert emu.is_connected(emu.US_REALM, emu.DEFAULT_CLIENT_ID)


def test_code_is_single_use(emu: QboEmulator, http: httpx.Client) -> None:
    code = callback_params(authorize(http, emu))["code"]
    data = {"grant_type": "authorization_code", "code": code, "redirect_uri": emu.DEFAULT_REDIRECT_URI}
    assert token_request(http, emu, data).status_code == 200
    again = token_request(http, emu, data)
    assert again.status_code == 400
    assert again.json()["error"] == "invalid_grant"
    assert again.json()["error_description"]


def test_code_expires_after_ten_minutes(emu: QboEmulator, http: httpx.Client) -> None:
    code = callback_params(authorize(http, emu))["code"]
    emu.clock.advance(601)
    data = {"grant_type": "authorization_code", "code": code, "redirect_uri": emu.DEFAULT_REDIRECT_URI}
    response = token_request(http, emu, data)
    assert response.status_code == 400
    assert response.json()["error"] == "invalid_grant"


def test_code_bound_to_redirect_uri_and_client(emu: QboEmulator, http: httpx.Client) -> None:
    emu.register_app("other-app", "other-secret", redirect_uris=["http://localhost:9000/cb"])
    code = callback_params(authorize(http, emu))["code"]
    wrong_uri = {"grant_type": "authorization_code", "code": code, "redirect_uri": "http://localhost:8000/x"}
    assert token_request(http, emu, wrong_uri).json()["error"] == "invalid_grant"
    code = callback_params(authorize(http, emu))["code"]
    data = {"grant_type": "authorization_code", "code": code, "redirect_uri": emu.DEFAULT_REDIRECT_URI}
    other = token_request(http, emu, data, client_id="other-app", secret="other-secret")
    assert other.status_code == 400
    assert other.json()["error"] == "invalid_grant"


@pytest.mark.parametrize("secret", ["wrong-secret", None])
def test_bad_client_credentials_are_invalid_client(emu: QboEmulator, http: httpx.Client, secret: str | None) -> None:
    code = callback_params(authorize(http, emu))["code"]
    data = {"grant_type": "authorization_code", "code": code, "redirect_uri": emu.DEFAULT_REDIRECT_URI}
    if secret is None:
        response = http.post(f"{emu.base_url}/oauth2/v1/tokens/bearer", data=data)
    else:
        response = token_request(http, emu, data, secret=secret)
    assert response.status_code == 401
    assert response.json()["error"] == "invalid_client"


def test_unsupported_grant_type(emu: QboEmulator, http: httpx.Client) -> None:
    response = token_request(http, emu, {"grant_type": "client_credentials"})
    assert response.status_code == 400
    assert response.json()["error"] == "unsupported_grant_type"


def test_intuit_rotation_keeps_the_value_for_24_hours(emu: QboEmulator, http: httpx.Client) -> None:
    assert emu.oauth.rotation == "intuit"  # the default
    first = connect(http, emu)
    emu.clock.advance(DAY - 60)
    body = refresh(http, emu, first.refresh_token).json()
    assert body["refresh_token"] == first.refresh_token
    assert body["access_token"] != first.access_token
    assert body["x_refresh_token_expires_in"] == 8_726_400  # the use extended the rolling window
    assert refresh(http, emu, first.refresh_token).json()["refresh_token"] == first.refresh_token
    outcomes = [p.outcome for p in emu.presented_refresh_tokens(family=first.refresh_token)]
    assert outcomes == ["accepted", "accepted"]


def test_intuit_rotation_keeps_a_replaced_value_working_for_24_hours(emu: QboEmulator, http: httpx.Client) -> None:
    first = connect(http, emu)
    emu.clock.advance(DAY)
    second = refresh(http, emu, first.refresh_token).json()["refresh_token"]
    assert second != first.refresh_token
    emu.clock.advance(DAY - 60)
    # The replaced value still works, and answers with the newest value, not a third one.
    again = refresh(http, emu, first.refresh_token)
    assert again.status_code == 200
    assert again.json()["refresh_token"] == second
    emu.clock.advance(60)
    stale = refresh(http, emu, first.refresh_token)
    assert stale.status_code == 400
    assert stale.json()["error"] == "invalid_grant"
    assert refresh(http, emu, second).status_code == 200
    outcomes = [p.outcome for p in emu.presented_refresh_tokens(family=first.refresh_token)]
    assert outcomes == ["accepted", "superseded", "already_rotated", "accepted"]


def test_intuit_rotation_replaces_a_value_older_than_24_hours_even_when_the_old_one_is_used(
    emu: QboEmulator, http: httpx.Client
) -> None:
    first = connect(http, emu)
    emu.clock.advance(DAY)
    second = refresh(http, emu, first.refresh_token).json()["refresh_token"]
    emu.clock.advance(DAY - 1)  # the first value still works; the second is just under a day old
    assert refresh(http, emu, first.refresh_token).json()["refresh_token"] == second
    emu.clock.advance(1)  # the second value is a day old: the next refresh replaces it
    third = refresh(http, emu, second).json()["refresh_token"]
    assert third not in (first.refresh_token, second)
    assert refresh(http, emu, first.refresh_token).status_code == 400  # its 24 hours are over
    assert refresh(http, emu, second).json()["refresh_token"] == third


def test_strict_rotation_kills_the_old_refresh_token_at_once(emu: QboEmulator, http: httpx.Client) -> None:
    emu.set_rotation("strict")
    first = connect(http, emu)
    response = refresh(http, emu, first.refresh_token)
    assert response.status_code == 200
    second = response.json()
    assert second["refresh_token"] != first.refresh_token
    assert second["access_token"] != first.access_token
    stale = refresh(http, emu, first.refresh_token)
    assert stale.status_code == 400
    assert stale.json()["error"] == "invalid_grant"
    assert refresh(http, emu, second["refresh_token"]).status_code == 200
    outcomes = [p.outcome for p in emu.presented_refresh_tokens(family=first.refresh_token)]
    assert outcomes == ["accepted", "already_rotated", "accepted"]


def test_rotation_is_intuit_or_strict(http: httpx.Client) -> None:
    with pytest.raises(ValueError, match="rotation"):
        QboEmulator(refresh_rotation="never")  # type: ignore[arg-type]
    with QboEmulator(refresh_rotation="strict") as emu:
        first = connect(http, emu)
        assert refresh(http, emu, first.refresh_token).json()["refresh_token"] != first.refresh_token
        with pytest.raises(ValueError, match="rotation"):
            emu.set_rotation("always")  # type: ignore[arg-type]


def test_refresh_token_is_bound_to_its_client(emu: QboEmulator, http: httpx.Client) -> None:
    emu.register_app("other-app", "other-secret", redirect_uris=["http://localhost:9000/cb"])
    first = connect(http, emu)
    response = refresh(http, emu, first.refresh_token, client_id="other-app", secret="other-secret")
    assert response.json()["error"] == "invalid_grant"


def test_rolling_expiry_after_100_days_unused(emu: QboEmulator, http: httpx.Client) -> None:
    emu.set_token_lifetimes(refresh_seconds=100 * DAY)
    first = connect(http, emu)
    emu.clock.advance(99 * DAY)
    body = refresh(http, emu, first.refresh_token).json()  # use extends the window
    emu.clock.advance(99 * DAY)
    body = refresh(http, emu, body["refresh_token"]).json()
    emu.clock.advance(100 * DAY + 1)
    expired = refresh(http, emu, body["refresh_token"])
    assert expired.status_code == 400
    assert expired.json()["error"] == "invalid_grant"


def test_hard_expiry_caps_refresh_and_is_never_extended(emu: QboEmulator, http: httpx.Client) -> None:
    emu.clock.freeze()
    emu.set_token_lifetimes(refresh_seconds=100 * DAY, hard_seconds=250 * DAY)
    header = {"x-include-refresh-token-hard-expires-in": "true"}
    first = connect(http, emu)
    token = first.refresh_token
    for _ in range(2):
        emu.clock.advance(90 * DAY)
        response = refresh(http, emu, token, headers=header)
        token = response.json()["refresh_token"]
    body = response.json()
    assert body["x_refresh_token_hard_expires_in"] == 70 * DAY
    assert body["x_refresh_token_expires_in"] == 70 * DAY  # the rolling window is clipped by the cap
    # reconnecting while connected does not move the cap
    again = connect(http, emu)
    emu.clock.advance(70 * DAY)
    for value in (token, again.refresh_token):
        dead = refresh(http, emu, value)
        assert dead.status_code == 400
        assert dead.json()["error"] == "invalid_grant"
    assert not emu.is_connected(emu.US_REALM, emu.DEFAULT_CLIENT_ID)
    # after the cap a fresh authorization starts a new grant
    fresh = connect(http, emu)
    assert refresh(http, emu, fresh.refresh_token).status_code == 200


def test_hard_expiry_field_only_when_asked(emu: QboEmulator, http: httpx.Client) -> None:
    first = connect(http, emu)
    plain = refresh(http, emu, first.refresh_token).json()
    assert "x_refresh_token_hard_expires_in" not in plain
    asked = refresh(
        http, emu, plain["refresh_token"], headers={"x-include-refresh-token-hard-expires-in": "true"}
    ).json()
    assert asked["x_refresh_token_hard_expires_in"] == 157_680_000
    code = callback_params(authorize(http, emu))["code"]
    data = {"grant_type": "authorization_code", "code": code, "redirect_uri": emu.DEFAULT_REDIRECT_URI}
    exchange = token_request(http, emu, data, headers={"x-include-refresh-token-hard-expires-in": "true"})
    assert "x_refresh_token_hard_expires_in" in exchange.json()


def test_access_token_expires_after_an_hour(emu: QboEmulator, http: httpx.Client) -> None:
    api = Api(http, emu, connect(http, emu))
    assert api.get(f"companyinfo/{emu.US_REALM}").status_code == 200
    emu.clock.advance(3601)
    response = api.get(f"companyinfo/{emu.US_REALM}")
    assert response.status_code == 401
    assert response.json()["fault"]["error"][0]["code"] == "3200"


@pytest.mark.parametrize("which", ["refresh", "access"])
def test_revoke_ends_the_grant(emu: QboEmulator, http: httpx.Client, which: str) -> None:
    tokens = connect(http, emu)
    api = Api(http, emu, tokens)
    value = tokens.refresh_token if which == "refresh" else tokens.access_token
    response = http.post(
        f"{emu.base_url}/v2/oauth2/tokens/revoke",
        json={"token": value},
        headers={"Authorization": basic(emu.DEFAULT_CLIENT_ID, emu.DEFAULT_CLIENT_SECRET)},
    )
    assert response.status_code == 200
    assert response.content == b""
    assert not emu.is_connected(emu.US_REALM, emu.DEFAULT_CLIENT_ID)
    denied = api.get(f"companyinfo/{emu.US_REALM}")
    assert denied.status_code == 401
    assert denied.json()["fault"]["error"][0]["code"] == "3200"
    assert refresh(http, emu, tokens.refresh_token).json()["error"] == "invalid_grant"


def test_revoke_is_realm_wide_for_every_authorization_of_the_app(emu: QboEmulator, http: httpx.Client) -> None:
    """Two consents to one company (two subsidiaries of ours) share Intuit's grant: revoking the tokens of
    either ends both. Another company's grant is untouched."""
    first = connect(http, emu)
    second = connect(http, emu)
    other_company = connect(http, emu, realm_id=emu.UK_REALM)
    assert first.refresh_token != second.refresh_token
    response = http.post(
        f"{emu.base_url}/v2/oauth2/tokens/revoke",
        json={"token": second.refresh_token},
        headers={"Authorization": basic(emu.DEFAULT_CLIENT_ID, emu.DEFAULT_CLIENT_SECRET)},
    )
    assert response.status_code == 200
    assert Api(http, emu, first).get(f"companyinfo/{emu.US_REALM}").status_code == 401
    assert refresh(http, emu, first.refresh_token).json()["error"] == "invalid_grant"
    assert not emu.is_connected(emu.US_REALM, emu.DEFAULT_CLIENT_ID)
    assert emu.is_connected(emu.UK_REALM, emu.DEFAULT_CLIENT_ID)
    assert refresh(http, emu, other_company.refresh_token).status_code == 200


def test_add_company_seeds_a_company_of_its_own(emu: QboEmulator, http: httpx.Client) -> None:
    realm_id = emu.add_company()
    uk = emu.add_company("GB")
    assert len({realm_id, uk, emu.US_REALM, emu.UK_REALM}) == 4
    tokens = connect(http, emu, realm_id=realm_id)
    info = Api(http, emu, tokens).get(f"companyinfo/{realm_id}")
    assert info.status_code == 200
    assert info.json()["CompanyInfo"]["Country"] == "US"
    with pytest.raises(ValueError):
        emu.add_company("FR")


def test_revoke_accepts_form_body_and_unknown_tokens(emu: QboEmulator, http: httpx.Client) -> None:
    tokens = connect(http, emu)
    auth = {"Authorization": basic(emu.DEFAULT_CLIENT_ID, emu.DEFAULT_CLIENT_SECRET)}
    unknown = http.post(f"{emu.base_url}/v2/oauth2/tokens/revoke", data={"token": "RT1-nope"}, headers=auth)
    assert unknown.status_code == 200
    assert emu.is_connected(emu.US_REALM, emu.DEFAULT_CLIENT_ID)
    form = http.post(f"{emu.base_url}/v2/oauth2/tokens/revoke", data={"token": tokens.refresh_token}, headers=auth)
    assert form.status_code == 200
    assert not emu.is_connected(emu.US_REALM, emu.DEFAULT_CLIENT_ID)


def test_revoke_needs_client_auth(emu: QboEmulator, http: httpx.Client) -> None:
    tokens = connect(http, emu)
    response = http.post(f"{emu.base_url}/v2/oauth2/tokens/revoke", json={"token": tokens.refresh_token})
    assert response.status_code == 401
    assert emu.is_connected(emu.US_REALM, emu.DEFAULT_CLIENT_ID)


def test_discovery_documents_point_at_the_emulator(emu: QboEmulator, http: httpx.Client) -> None:
    for kind in ("openid_configuration", "openid_sandbox_configuration"):
        doc = http.get(f"{emu.base_url}/.well-known/{kind}/").json()
        assert doc["authorization_endpoint"] == f"{emu.base_url}/connect/oauth2"
        assert doc["token_endpoint"] == f"{emu.base_url}/oauth2/v1/tokens/bearer"
        assert doc["revocation_endpoint"] == f"{emu.base_url}/v2/oauth2/tokens/revoke"
