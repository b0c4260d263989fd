"""Each function's settings (README "Configuration"): a pydantic model of exactly the environment
variables the function reads, checked when its handler is imported (the cold start).

A model is made of parts, one per thing the code needs (the table, the Intuit app secret, the payment
events queue...); `FUNCTION_SETTINGS` names the parts of each function, and template.yaml gives each
function exactly those variables (tests/unit/test_config.py holds the two together). The composition root
(qbosync.wiring) reads the parts it builds from; services receive plain values."""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Annotated, Literal, Self
from urllib.parse import urlsplit

from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict, Field, ValidationError
from pydantic_core import ErrorDetails

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

#: Variables the template never sets: the local stack points them at the emulators; on AWS the
#: defaults apply (Intuit's URLs for QBO_ENVIRONMENT).
LOCAL_OVERRIDES = frozenset({"QBO_AUTHORIZE_URL", "QBO_TOKEN_URL", "QBO_REVOKE_URL", "QBO_API_BASE_URL", "QBO_APP_URL"})

BaseUrl = Annotated[str, AfterValidator(lambda url: url.rstrip("/"))]


class ConfigurationError(RuntimeError):
    """A required environment variable is missing or has an unexpected value."""


class EnvironmentSettings(BaseModel):
    """Settings read from environment variables: each field's alias is its variable. An empty or
    blank variable counts as unset."""

    # Schemas are built on first validation: a cold start builds only its own function's.
    model_config = ConfigDict(frozen=True, extra="ignore", defer_build=True)

    @classmethod
    def variables(cls) -> frozenset[str]:
        return frozenset(field.alias or name for name, field in cls.model_fields.items())

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> Self:
        source = os.environ if env is None else env
        values = {name: source[name].strip() for name in cls.variables() if source.get(name, "").strip()}
        try:
            return cls.model_validate(values)
        except ValidationError as error:
            raise ConfigurationError("; ".join(_problem(problem) for problem in error.errors())) from None


def _problem(problem: ErrorDetails) -> str:
    name = problem["loc"][0] if problem["loc"] else "?"
    if problem["type"] == "missing":
        return f"environment variable {name} is not set"
    return f"environment variable {name} is invalid: {problem['msg'].removeprefix('Value error, ')}"


# --------------------------------------------------------------------------- parts


class ObservabilitySettings(EnvironmentSettings):
    """Read by Powertools itself (qbosync.observability). The service is the package's name: the
    `qbosync.*` module loggers are children of the service's logger."""

    service_name: Literal["qbosync"] = Field(alias="POWERTOOLS_SERVICE_NAME")
    metrics_namespace: str = Field(alias="POWERTOOLS_METRICS_NAMESPACE")


class TableSettings(EnvironmentSettings):
    table_name: str = Field(alias="TABLE_NAME")


class IntuitAppSettings(EnvironmentSettings):
    intuit_app_secret_id: str = Field(alias="INTUIT_APP_SECRET_ID")


class IntuitOAuthSettings(EnvironmentSettings):
    """Intuit's OAuth endpoints: the same for sandbox and production companies."""

    qbo_authorize_url: str = Field(INTUIT_AUTHORIZE_URL, alias="QBO_AUTHORIZE_URL")
    qbo_token_url: str = Field(INTUIT_TOKEN_URL, alias="QBO_TOKEN_URL")
    qbo_revoke_url: str = Field(INTUIT_REVOKE_URL, alias="QBO_REVOKE_URL")


class AppSigningSettings(EnvironmentSettings):
    app_signing_secret_id: str = Field(alias="APP_SIGNING_SECRET_ID")


class ConnectionSecretSettings(EnvironmentSettings):
    connection_secret_prefix: str = Field(alias="CONNECTION_SECRET_PREFIX")


class QuickBooksSettings(EnvironmentSettings):
    qbo_environment: Literal["sandbox", "production"] = Field("sandbox", alias="QBO_ENVIRONMENT")
    qbo_api_base_url_override: BaseUrl | None = Field(None, alias="QBO_API_BASE_URL")
    qbo_app_url_override: BaseUrl | None = Field(None, alias="QBO_APP_URL")

    @property
    def qbo_api_base_url(self) -> str:
        return self.qbo_api_base_url_override or QBO_API_BASE_URLS[self.qbo_environment]

    @property
    def qbo_app_url(self) -> str:
        """The QuickBooks web app, for the links to copied invoices."""
        return self.qbo_app_url_override or QBO_APP_URLS[self.qbo_environment]


class ProductiveSettings(EnvironmentSettings):
    productive_api_base_url: BaseUrl = Field(PRODUCTIVE_API_BASE_URL, alias="PRODUCTIVE_API_BASE_URL")


class PaymentEventsSettings(EnvironmentSettings):
    payment_events_queue_url: str = Field(alias="PAYMENT_EVENTS_QUEUE_URL")


class CopyJobsSettings(EnvironmentSettings):
    copy_jobs_queue_url: str = Field(alias="COPY_JOBS_QUEUE_URL")


#: Hosts a NOTIFY_URL may reach over plain http: this machine (the local stack, `sam local`).
LOOPBACK_HOSTS = frozenset({"127.0.0.1", "localhost", "::1", "host.docker.internal"})


def _notify_url(url: str) -> str:
    parts = urlsplit(url)
    if not parts.hostname or parts.scheme not in {"https", "http"}:
        raise ValueError("not an absolute http(s) URL")
    if parts.scheme == "http" and parts.hostname not in LOOPBACK_HOSTS:
        raise ValueError("must be https (plain http only to this machine)")
    if parts.username or parts.password or parts.fragment:
        raise ValueError("must carry no user info and no fragment")
    return url


class NotifySettings(EnvironmentSettings):
    """Reconnect warnings to Productive's backend (docs/architecture.md "Connection health"): unset
    NOTIFY_URL means they are only logged and counted."""

    notify_url: Annotated[str, AfterValidator(_notify_url)] | None = Field(None, alias="NOTIFY_URL")
    notify_signing_secret_id: str = Field(alias="NOTIFY_SIGNING_SECRET_ID")


def _return_url_policy(hosts: object) -> object:
    if not isinstance(hosts, str):
        return hosts
    try:
        return ReturnUrlPolicy.parse(hosts)
    except ValueError as error:
        raise ValueError(f"not a list of host names: {error}") from None


class ReturnUrlSettings(EnvironmentSettings):
    return_urls: Annotated[ReturnUrlPolicy, BeforeValidator(_return_url_policy)] = Field(
        default_factory=lambda: ReturnUrlPolicy.parse(DEFAULT_ALLOWED_RETURN_URL_HOSTS),
        alias="ALLOWED_RETURN_URL_HOSTS",
    )


# --------------------------------------------------------------------------- functions


class FunctionSettings(ObservabilitySettings, TableSettings, IntuitAppSettings):
    """What every function reads (the template's Globals)."""


class ConnectionsSettings(
    FunctionSettings,
    IntuitOAuthSettings,
    AppSigningSettings,
    ConnectionSecretSettings,
    QuickBooksSettings,
    ReturnUrlSettings,
):
    """functions/connections: connect, settings, look-ups (QuickBooks), disconnect (revoke)."""


class CopyInvoiceSettings(
    FunctionSettings,
    IntuitOAuthSettings,
    AppSigningSettings,
    ConnectionSecretSettings,
    QuickBooksSettings,
    ProductiveSettings,
    CopyJobsSettings,
):
    """functions/copy_invoice: Productive to QuickBooks, refreshing tokens when needed; bulk copy jobs
    are taken in here and queued for functions/copy_jobs."""


class CopyJobsFunctionSettings(
    FunctionSettings,
    IntuitOAuthSettings,
    ConnectionSecretSettings,
    QuickBooksSettings,
    ProductiveSettings,
    CopyJobsSettings,
):
    """functions/copy_jobs: the bulk copy worker; a job not finished goes back on its queue."""


class OAuthCallbackSettings(
    FunctionSettings, IntuitOAuthSettings, ConnectionSecretSettings, QuickBooksSettings, ReturnUrlSettings
):
    """functions/oauth_callback: the code exchange, the company profile; the connection service it
    shares with functions/connections checks return URLs."""


class PaymentWebhookSettings(FunctionSettings, PaymentEventsSettings):
    """functions/payment_webhook: the verifier token (Intuit app secret), connections, the queue."""


class PaymentSyncSettings(
    FunctionSettings,
    IntuitOAuthSettings,
    ConnectionSecretSettings,
    QuickBooksSettings,
    ProductiveSettings,
    PaymentEventsSettings,
):
    """functions/payment_sync: QuickBooks payments into Productive; what is left goes back on the queue."""


class ReconcileSettings(
    FunctionSettings, IntuitOAuthSettings, ConnectionSecretSettings, QuickBooksSettings, PaymentEventsSettings
):
    """functions/reconcile: QuickBooks change data capture onto the queue."""


class TokenRefreshSettings(FunctionSettings, IntuitOAuthSettings, ConnectionSecretSettings, NotifySettings):
    """functions/token_refresh: Intuit's token endpoint and the connection secrets; reconnect warnings."""


FunctionName = Literal[
    "connections",
    "copy_invoice",
    "copy_jobs",
    "oauth_callback",
    "payment_webhook",
    "payment_sync",
    "reconcile",
    "token_refresh",
]

#: Each function's settings, by its directory under functions/.
FUNCTION_SETTINGS: dict[FunctionName, type[FunctionSettings]] = {
    "connections": ConnectionsSettings,
    "copy_invoice": CopyInvoiceSettings,
    "copy_jobs": CopyJobsFunctionSettings,
    "oauth_callback": OAuthCallbackSettings,
    "payment_webhook": PaymentWebhookSettings,
    "payment_sync": PaymentSyncSettings,
    "reconcile": ReconcileSettings,
    "token_refresh": TokenRefreshSettings,
}
