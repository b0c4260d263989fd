"""Independent clients, unchanged, against the emulator: intuit-oauth (intuitlib) and python-quickbooks."""

from __future__ import annotations

import warnings
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from intuitlib.client import AuthClient
from intuitlib.enums import Scopes
from intuitlib.exceptions import AuthClientError
from quickbooks import QuickBooks
from quickbooks.exceptions import AuthorizationException
from quickbooks.objects.customer import Customer
from quickbooks.objects.item import Item

from local.qbo_emulator import QboEmulator


@pytest.fixture(autouse=True)
def _plain_http_for_oauthlib(monkeypatch: pytest.MonkeyPatch) -> None:
    # python-quickbooks signs requests with requests-oauthlib, which refuses http:// URLs unless told.
    monkeypatch.setenv("OAUTHLIB_INSECURE_TRANSPORT", "1")


def auth_client(emu: QboEmulator) -> AuthClient:
    # A discovery-document URL is accepted where "sandbox"/"production" would go.
    return AuthClient(
        client_id=emu.DEFAULT_CLIENT_ID,
        client_secret=emu.DEFAULT_CLIENT_SECRET,
        redirect_uri=emu.DEFAULT_REDIRECT_URI,
        environment=emu.discovery_url,
    )


def consent(client: AuthClient, realm_id: str | None = None) -> tuple[str, str]:
    url = client.get_authorization_url([Scopes.ACCOUNTING, Scopes.OPENID])
    response = httpx.get(url, follow_redirects=False)
    assert response.status_code == 302
    params = parse_qs(urlsplit(response.headers["location"]).query)
    assert params["state"] == [client.state_token]
    return params["code"][0], params["realmId"][0]


@pytest.fixture
def connected(emu: QboEmulator) -> AuthClient:
    client = auth_client(emu)
    code, realm_id = consent(client)
    client.get_bearer_token(code, realm_id=realm_id)
    return client


@pytest.fixture
def qb(emu: QboEmulator, connected: AuthClient) -> Any:
    client = QuickBooks(
        auth_client=connected,
        refresh_token=connected.refresh_token,
        company_id=connected.realm_id,
        minorversion=75,
    )
    client.api_url_v3 = emu.api_base_url
    return client


def test_intuitlib_endpoints_come_from_the_discovery_document(emu: QboEmulator) -> None:
    client = auth_client(emu)
    assert client.auth_endpoint == f"{emu.base_url}/connect/oauth2"
    assert client.token_endpoint == f"{emu.base_url}/oauth2/v1/tokens/bearer"
    assert client.revoke_endpoint == f"{emu.base_url}/v2/oauth2/tokens/revoke"


def test_intuitlib_full_dance_refresh_and_revoke(emu: QboEmulator) -> None:
    client = auth_client(emu)
    code, realm_id = consent(client)
    assert realm_id == emu.US_REALM
    client.get_bearer_token(code, realm_id=realm_id)
    assert client.access_token.startswith("eyJ")
    assert client.refresh_token.startswith("RT1-")
    assert client.expires_in == 3600
    assert client.x_refresh_token_expires_in == 8_726_400
    first_refresh = client.refresh_token
    client.refresh()
    assert client.refresh_token != first_refresh
    with pytest.raises(AuthClientError) as info:
        client.refresh(refresh_token=first_refresh)
    assert info.value.status_code == 400
    assert client.revoke() is True
    assert not emu.is_connected(emu.US_REALM, emu.DEFAULT_CLIENT_ID)
    with pytest.raises(AuthClientError):
        client.refresh()


def test_intuitlib_code_reuse_is_rejected(emu: QboEmulator) -> None:
    client = auth_client(emu)
    code, realm_id = consent(client)
    client.get_bearer_token(code, realm_id=realm_id)
    with pytest.raises(AuthClientError) as info:
        client.get_bearer_token(code, realm_id=realm_id)
    assert "invalid_grant" in info.value.content.decode()


def test_python_quickbooks_query_filter_all_count(qb: QuickBooks) -> None:
    customers = Customer.all(qb=qb)
    assert len(customers) == 6
    amy = Customer.filter(DisplayName="Amy's Bird Sanctuary", qb=qb)
    assert [c.DisplayName for c in amy] == ["Amy's Bird Sanctuary"]
    assert amy[0].CurrencyRef.value == "USD"
    inactive = Customer.where("Active = false", qb=qb)
    assert [c.DisplayName for c in inactive] == ["Dormant Dynamics"]
    page = Customer.filter(Active=True, order_by="DisplayName", start_position=2, max_results=2, qb=qb)
    assert len(page) == 2
    assert Customer.count(qb=qb) == 6
    picked = Customer.choose(["Smith & Sons", "O'Brien & Co."], field="DisplayName", qb=qb)
    assert sorted(c.DisplayName for c in picked) == ["O'Brien & Co.", "Smith & Sons"]
    items = Item.all(qb=qb)
    assert sorted(i.Name for i in items) == ["Consulting", "Design", "Development", "Services", "Training"]
    assert Customer.get(1, qb=qb).DisplayName == "Amy's Bird Sanctuary"


def test_python_quickbooks_non_ascii_and_quotes_in_filter(qb: QuickBooks) -> None:
    assert [c.DisplayName for c in Customer.filter(DisplayName="Café Olé", qb=qb)] == ["Café Olé"]
    assert [c.DisplayName for c in Customer.filter(DisplayName="O'Brien & Co.", qb=qb)] == ["O'Brien & Co."]


def test_python_quickbooks_company_info_and_preferences(qb: QuickBooks, emu: QboEmulator) -> None:
    from quickbooks.objects.company_info import CompanyInfo
    from quickbooks.objects.preferences import Preferences

    info = CompanyInfo.get(emu.US_REALM, qb=qb)
    assert info.CompanyName == "Sandbox Company US"
    prefs = Preferences.get(qb=qb)
    assert prefs.SalesFormsPrefs.CustomTxnNumbers is False


def test_python_quickbooks_expired_token_raises_authorization_exception(qb: QuickBooks, emu: QboEmulator) -> None:
    emu.clock.advance(3601)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with pytest.raises(AuthorizationException):
            Customer.all(qb=qb)
