"""Shared helpers for the QBO emulator tests: the OAuth dance over real HTTP."""

from __future__ import annotations

import base64
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx

from local.qbo_emulator import QboEmulator

SCOPE = "com.intuit.quickbooks.accounting"


def basic(client_id: str, secret: str) -> str:
    return "Basic " + base64.b64encode(f"{client_id}:{secret}".encode()).decode()


@dataclass
class Tokens:
    access_token: str
    refresh_token: str
    realm_id: str
    raw: dict[str, Any]


def authorize(
    http: httpx.Client,
    emu: QboEmulator,
    *,
    client_id: str = QboEmulator.DEFAULT_CLIENT_ID,
    redirect_uri: str = QboEmulator.DEFAULT_REDIRECT_URI,
    scope: str = SCOPE,
    state: str = "st-123",
    response_type: str = "code",
) -> httpx.Response:
    return http.get(
        f"{emu.base_url}/connect/oauth2",
        params={
            "client_id": client_id,
            "redirect_uri": redirect_uri,
            "scope": scope,
            "state": state,
            "response_type": response_type,
        },
        follow_redirects=False,
    )


def callback_params(response: httpx.Response) -> dict[str, str]:
    assert response.status_code == 302, response.text
    query = parse_qs(urlsplit(response.headers["location"]).query)
    return {key: values[0] for key, values in query.items()}


def token_request(
    http: httpx.Client,
    emu: QboEmulator,
    data: dict[str, str],
    *,
    client_id: str = QboEmulator.DEFAULT_CLIENT_ID,
    secret: str = QboEmulator.DEFAULT_CLIENT_SECRET,
    headers: dict[str, str] | None = None,
) -> httpx.Response:
    return http.post(
        f"{emu.base_url}/oauth2/v1/tokens/bearer",
        data=data,
        headers={"Authorization": basic(client_id, secret), "Accept": "application/json", **(headers or {})},
    )


def connect(http: httpx.Client, emu: QboEmulator, realm_id: str | None = None) -> Tokens:
    """Authorize (auto-consent) and exchange the code; returns the first token pair."""
    if realm_id is not None:
        emu.next_consent(realm_id=realm_id)
    params = callback_params(authorize(http, emu))
    response = token_request(
        http,
        emu,
        {"grant_type": "authorization_code", "code": params["code"], "redirect_uri": emu.DEFAULT_REDIRECT_URI},
    )
    assert response.status_code == 200, response.text
    body = response.json()
    return Tokens(body["access_token"], body["refresh_token"], params["realmId"], body)


def refresh(http: httpx.Client, emu: QboEmulator, refresh_token: str, **kwargs: Any) -> httpx.Response:
    return token_request(http, emu, {"grant_type": "refresh_token", "refresh_token": refresh_token}, **kwargs)


class Api:
    """A tiny client for the API part of the emulator."""

    def __init__(self, http: httpx.Client, emu: QboEmulator, tokens: Tokens) -> None:
        self.http = http
        self.emu = emu
        self.tokens = tokens

    @property
    def base(self) -> str:
        return f"{self.emu.base_url}/v3/company/{self.tokens.realm_id}"

    def headers(self, extra: dict[str, str] | None = None) -> dict[str, str]:
        return {
            "Authorization": f"Bearer {self.tokens.access_token}",
            "Accept": "application/json",
            **(extra or {}),
        }

    def get(self, path: str, **params: Any) -> httpx.Response:
        return self.http.get(f"{self.base}/{path}", params={"minorversion": "75", **params}, headers=self.headers())

    def post(self, path: str, body: Any, **params: Any) -> httpx.Response:
        return self.http.post(
            f"{self.base}/{path}",
            params={"minorversion": "75", **params},
            json=body,
            headers=self.headers({"Content-Type": "application/json"}),
        )

    def query(self, text: str) -> httpx.Response:
        return self.get("query", query=text)

    def query_post(self, text: str) -> httpx.Response:
        return self.http.post(
            f"{self.base}/query",
            params={"minorversion": "75"},
            content=text.encode("utf-8"),
            headers=self.headers({"Content-Type": "application/text"}),
        )

    def rows(self, text: str, entity: str | None = None) -> list[dict[str, Any]]:
        response = self.query(text)
        assert response.status_code == 200, response.text
        body = response.json()["QueryResponse"]
        name = entity or text.split()[3]
        return list(body.get(name, []))


def seeded(emu: QboEmulator, realm_id: str, entity: str, *, active_only: bool = True) -> list[dict[str, Any]]:
    """What the seed put in a company (read from the store, not through the API under test)."""
    records = emu.store.require(realm_id).all(entity)
    return [r for r in records if not active_only or r.get("Active", True) is not False]


def next_doc_number(emu: QboEmulator, realm_id: str, entity: str = "Invoice") -> str:
    """The DocNumber QuickBooks gives the next transaction: the seeded history's last number plus one."""
    numbers = [int(r["DocNumber"]) for r in seeded(emu, realm_id, entity) if str(r.get("DocNumber", "")).isdigit()]
    return str(max(numbers, default=1000) + 1)
