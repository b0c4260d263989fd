"""Intuit OAuth 2.0 (QBO reference §1) through Authlib's httpx client, with transient failures
retried by tenacity. invalid_grant becomes ReauthorizationRequired and is never retried."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

import httpx
from authlib.common.urls import add_params_to_uri
from authlib.integrations.httpx_client import OAuth2Client, OAuthError
from tenacity import (
    RetryError,
    Retrying,
    retry_if_exception,
    stop_after_attempt,
    wait_random_exponential,
)

from qbosync.domain.connection import TokenSet
from qbosync.domain.errors import DomainError, ReauthorizationRequired, UpstreamUnavailable

SCOPE = "com.intuit.quickbooks.accounting"
HARD_EXPIRY_HEADER = {"x-include-refresh-token-hard-expires-in": "true"}
ATTEMPTS = 4


def _transient(error: BaseException) -> bool:
    if isinstance(error, httpx.TransportError):
        return True
    return isinstance(error, httpx.HTTPStatusError) and (
        error.response.status_code >= 500 or error.response.status_code == 429
    )


class IntuitClientRejected(DomainError):
    """Intuit refused our app credentials (invalid_client): a deployment problem, not the user's."""

    code = "intuit_client_rejected"


class AuthlibIntuitOAuth:
    def __init__(
        self,
        *,
        client_id: str,
        client_secret: str,
        redirect_uri: str,
        authorize_url: str,
        token_url: str,
        revoke_url: str,
        now: Callable[[], datetime],
        timeout_seconds: float = 10.0,
        retry_wait_max_seconds: float = 2.0,
    ):
        self._client_id = client_id
        self._client_secret = client_secret
        self._redirect_uri = redirect_uri
        self._authorize_url = authorize_url
        self._token_url = token_url
        self._revoke_url = revoke_url
        self._now = now
        self._timeout = timeout_seconds
        self._retry_wait_max = retry_wait_max_seconds

    def redirect_uri(self) -> str:
        return self._redirect_uri

    def authorization_url(self, state: str) -> str:
        return str(
            add_params_to_uri(
                self._authorize_url,
                [
                    ("client_id", self._client_id),
                    ("response_type", "code"),
                    ("scope", SCOPE),
                    ("redirect_uri", self._redirect_uri),
                    ("state", state),
                ],
            )
        )

    def exchange_code(self, code: str) -> TokenSet:
        def call(client: OAuth2Client) -> dict[str, Any]:
            return dict(
                client.fetch_token(
                    self._token_url,
                    grant_type="authorization_code",
                    code=code,
                    headers=HARD_EXPIRY_HEADER,
                )
            )

        return self._token_set(self._with_retries(call))

    def refresh(self, refresh_token: str) -> TokenSet:
        def call(client: OAuth2Client) -> dict[str, Any]:
            return dict(client.refresh_token(self._token_url, refresh_token=refresh_token, headers=HARD_EXPIRY_HEADER))

        return self._token_set(self._with_retries(call))

    def revoke(self, token: str) -> None:
        def call(client: OAuth2Client) -> dict[str, Any]:
            # Intuit documents a JSON body here, not RFC 7009's form body.
            response = client.request(
                "POST",
                self._revoke_url,
                json={"token": token},
                headers={"Accept": "application/json"},
                auth=httpx.BasicAuth(self._client_id, self._client_secret),
                withhold_token=True,
            )
            if response.status_code >= 500 or response.status_code == 429:
                response.raise_for_status()
            # 400: the token was already revoked or expired, which is what we wanted.
            return {}

        self._with_retries(call)

    # -- internals -------------------------------------------------------------------------------

    def _with_retries(self, call: Callable[[OAuth2Client], dict[str, Any]]) -> dict[str, Any]:
        retrying = Retrying(
            retry=retry_if_exception(_transient),
            wait=wait_random_exponential(multiplier=0.2, max=self._retry_wait_max),
            stop=stop_after_attempt(ATTEMPTS),
        )
        try:
            with OAuth2Client(
                client_id=self._client_id,
                client_secret=self._client_secret,
                token_endpoint_auth_method="client_secret_basic",  # noqa: S106 - a method name, not a secret
                redirect_uri=self._redirect_uri,
                scope=SCOPE,
                timeout=self._timeout,
            ) as client:
                return retrying(call, client)
        except RetryError as exc:
            raise UpstreamUnavailable(
                "Intuit's OAuth service is not answering; try again shortly.",
                service="quickbooks",
                retry_after_seconds=30,
            ) from exc
        except OAuthError as exc:
            if exc.error == "invalid_grant":
                raise ReauthorizationRequired(
                    "QuickBooks no longer accepts this connection's authorization; reconnect it."
                ) from None
            if exc.error == "invalid_client":
                raise IntuitClientRejected("Intuit rejected this app's client credentials.") from None
            raise DomainError(f"Intuit's OAuth service answered {exc.error}.", code="intuit_oauth_error") from None

    def _token_set(self, data: dict[str, Any]) -> TokenSet:
        now = self._now()
        hard = data.get("x_refresh_token_hard_expires_in")
        return TokenSet(
            access_token=str(data["access_token"]),
            refresh_token=str(data["refresh_token"]),
            access_expires_at=now + timedelta(seconds=int(data.get("expires_in", 3600))),
            refresh_expires_at=now + timedelta(seconds=int(data.get("x_refresh_token_expires_in", 8640000))),
            refresh_hard_expires_at=now + timedelta(seconds=int(hard)) if hard is not None else None,
        )
