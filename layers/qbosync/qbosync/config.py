"""The process configuration (README "Configuration"), read from the environment once, at the edge.

Only the composition root (qbosync.wiring) and handlers use this; services receive plain values."""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Literal

from qbosync.domain.oauth_flow import DEFAULT_ALLOWED_RETURN_URL_HOSTS, ReturnUrlPolicy

INTUIT_AUTHORIZE_URL = "https://appcenter.intuit.com/connect/oauth2"
INTUIT_TOKEN_URL = "https://oauth.platform.intuit.com/oauth2/v1/tokens/bearer"  # noqa: S105 - a URL
INTUIT_REVOKE_URL = "https://developer.api.intuit.com/v2/oauth2/tokens/revoke"
QBO_API_BASE_URLS = {
    "sandbox": "https://sandbox-quickbooks.api.intuit.com",
    "production": "https://quickbooks.api.intuit.com",
}
QBO_APP_URLS = {
    "sandbox": "https://app.sandbox.qbo.intuit.com",
    "production": "https://app.qbo.intuit.com",
}
PRODUCTIVE_API_BASE_URL = "https://api.productive.io/api/v2"


class ConfigurationError(RuntimeError):
    """A required environment variable is missing or has an unexpected value."""


@dataclass(frozen=True)
class Config:
    table_name: str
    intuit_app_secret_id: str
    app_signing_secret_id: str
    connection_secret_prefix: str
    qbo_environment: Literal["sandbox", "production"]
    qbo_authorize_url: str
    qbo_token_url: str
    qbo_revoke_url: str
    qbo_api_base_url: str
    qbo_app_url: str
    productive_api_base_url: str
    payment_events_queue_url: str | None
    allowed_return_url_hosts: str = DEFAULT_ALLOWED_RETURN_URL_HOSTS

    @classmethod
    def from_env(cls, env: dict[str, str] | None = None) -> Config:
        source = dict(os.environ) if env is None else env

        def required(name: str) -> str:
            value = source.get(name, "").strip()
            if not value:
                raise ConfigurationError(f"environment variable {name} is not set")
            return value

        allowed_hosts = source.get("ALLOWED_RETURN_URL_HOSTS", "").strip() or DEFAULT_ALLOWED_RETURN_URL_HOSTS
        try:
            ReturnUrlPolicy.parse(allowed_hosts)
        except ValueError as exc:
            raise ConfigurationError(f"ALLOWED_RETURN_URL_HOSTS is not a list of host names: {exc}") from None
        environment = source.get("QBO_ENVIRONMENT", "sandbox").strip() or "sandbox"
        if environment not in QBO_API_BASE_URLS:
            raise ConfigurationError("QBO_ENVIRONMENT must be 'sandbox' or 'production'")
        return cls(
            table_name=required("TABLE_NAME"),
            intuit_app_secret_id=required("INTUIT_APP_SECRET_ID"),
            app_signing_secret_id=required("APP_SIGNING_SECRET_ID"),
            connection_secret_prefix=required("CONNECTION_SECRET_PREFIX"),
            qbo_environment=environment,  # type: ignore[arg-type]
            qbo_authorize_url=source.get("QBO_AUTHORIZE_URL") or INTUIT_AUTHORIZE_URL,
            qbo_token_url=source.get("QBO_TOKEN_URL") or INTUIT_TOKEN_URL,
            qbo_revoke_url=source.get("QBO_REVOKE_URL") or INTUIT_REVOKE_URL,
            qbo_api_base_url=(source.get("QBO_API_BASE_URL") or QBO_API_BASE_URLS[environment]).rstrip("/"),
            qbo_app_url=(source.get("QBO_APP_URL") or QBO_APP_URLS[environment]).rstrip("/"),
            productive_api_base_url=(source.get("PRODUCTIVE_API_BASE_URL") or PRODUCTIVE_API_BASE_URL).rstrip("/"),
            payment_events_queue_url=source.get("PAYMENT_EVENTS_QUEUE_URL") or None,
            allowed_return_url_hosts=allowed_hosts,
        )
