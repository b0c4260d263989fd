"""Intuit OAuth 2.0 (docs/architecture.md "QuickBooks OAuth tokens") through Authlib's httpx client, with
transient failures retried by tenacity. invalid_grant becomes ReauthorizationRequired and is never retried.

A refresh is retried only while Intuit certainly did not act on it (the request never reached it, or
it answered 429/503). Once a refresh request may have reached Intuit and its answer is lost, Intuit
may have rotated the refresh token: sending the same token again from here could present an
already-rotated token, so the adapter raises RefreshOutcomeUnknown and TokenService decides, after
re-reading the stored tokens. One refresh call, retries included, ends within refresh_budget_seconds
(TokenService's lease outlives two of them)."""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

import httpx
from authlib.common.urls import add_params_to_uri
from tenacity import (
    RetryError,
    Retrying,
    retry_if_exception,
    stop_after_attempt,
    stop_after_delay,
    wait_random_exponential,
)
from tenacity.stop import stop_base

from qbosync.domain.connection import TokenSet
from qbosync.domain.errors import DomainError, ReauthorizationRequired, RefreshOutcomeUnknown, UpstreamUnavailable

if TYPE_CHECKING:
    from authlib.integrations.httpx_client import OAuth2Client

SCOPE = "com.intuit.quickbooks.accounting"
HARD_EXPIRY_HEADER = {"x-include-refresh-token-hard-expires-in": "true"}
ATTEMPTS = 4
REFRESH_BUDGET_SECONDS = 20.0


def _transient(error: BaseException) -> bool:
    if isinstance(error, httpx.TransportError):
        return True
    return isinstance(error, httpx.HTTPStatusError) and (
        error.response.status_code >= 500 or error.response.status_code == 429
    )


def _not_acted_on(error: BaseException) -> bool:
    """Intuit certainly did not act on the request: it never reached Intuit, or Intuit refused it for
    now. A read timeout, a connection closed before the answer, a 500, 502 or 504 do not say that."""
    if isinstance(error, httpx.ConnectError | httpx.ConnectTimeout | httpx.PoolTimeout):
        return True
    return isinstance(error, httpx.HTTPStatusError) and error.response.status_code in (429, 503)


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
        refresh_budget_seconds: float = REFRESH_BUDGET_SECONDS,
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
        self._refresh_budget = refresh_budget_seconds

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
        """New tokens for this refresh token. RefreshOutcomeUnknown if the answer to a request Intuit
        may have acted on was lost (see the module docstring)."""
        deadline = time.monotonic() + self._refresh_budget

        def call(client: OAuth2Client) -> dict[str, Any]:
            timeout = min(self._timeout, max(1.0, deadline - time.monotonic()))
            return dict(
                client.refresh_token(
                    self._token_url, refresh_token=refresh_token, headers=HARD_EXPIRY_HEADER, timeout=timeout
                )
            )

        try:
            data = self._with_retries(call, retry_on=_not_acted_on, budget_seconds=self._refresh_budget)
        except (httpx.TransportError, httpx.HTTPStatusError) as exc:
            if isinstance(exc, httpx.HTTPStatusError) and exc.response.status_code < 500:
                raise
            raise RefreshOutcomeUnknown(
                "Intuit's answer to a token refresh was lost; try again shortly.",
                service="quickbooks",
                retry_after_seconds=5,
            ) from None
        return self._token_set(data)

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

    def _with_retries(
        self,
        call: Callable[[OAuth2Client], dict[str, Any]],
        *,
        retry_on: Callable[[BaseException], bool] = _transient,
        budget_seconds: float | None = None,
    ) -> dict[str, Any]:
        stop: stop_base = stop_after_attempt(ATTEMPTS)
        if budget_seconds is not None:
            stop = stop | stop_after_delay(budget_seconds)
        retrying = Retrying(
            retry=retry_if_exception(retry_on),
            wait=wait_random_exponential(multiplier=0.2, max=self._retry_wait_max),
            stop=stop,
        )
        # Authlib's client is imported on the first token call, not with this module: the start page only
        # builds a URL, and a cold start pays tens of milliseconds for the client's import
        # (bench/cold_start.py).
        from authlib.integrations.httpx_client import OAuth2Client, OAuthError

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
                    "QuickBooks no longer accepts this connection's authorization; reconnect it.",
                    intuit_reason=f"{exc.error}: {exc.description}" if exc.description else str(exc.error),
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
