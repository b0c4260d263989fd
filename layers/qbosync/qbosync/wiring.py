"""The composition root: builds services with their adapters from the function's settings.

Each handler names its function at import (`configure`), which checks the function's environment
(qbosync.config) then, so a missing or invalid variable fails the cold start by name. Everything is
built on first use and kept for the life of the execution environment, so a cold start imports only
what its handler needs (httpx and Authlib load on the first outbound call)."""

from __future__ import annotations

from functools import cache
from typing import TYPE_CHECKING, Any, TypeVar, cast

from qbosync.adapters.clock import SystemClock
from qbosync.config import (
    FUNCTION_SETTINGS,
    AppSigningSettings,
    ConnectionSecretSettings,
    CopyJobsSettings,
    EnvironmentSettings,
    FunctionName,
    IntuitAppSettings,
    IntuitOAuthSettings,
    NotifySettings,
    PaymentEventsSettings,
    ProductiveSettings,
    QuickBooksSettings,
    ReturnUrlSettings,
    TableSettings,
)

if TYPE_CHECKING:
    import boto3
    import httpx
    from aws_lambda_powertools.utilities.idempotency import DynamoDBPersistenceLayer

    from qbosync.adapters.rate_budget import DynamoRateBudget
    from qbosync.adapters.secrets import AppSecrets
    from qbosync.adapters.sqs import SqsCopyJobQueue
    from qbosync.domain.activity import ActivityLog
    from qbosync.domain.connection import Connection, TokenSet
    from qbosync.domain.copies import CopyRepository
    from qbosync.domain.events import EventQueue
    from qbosync.domain.health import QuickBooksCallLog, ReconnectNotifier
    from qbosync.domain.payments import PaymentRepository
    from qbosync.domain.ports import (
        AccessTokenProvider,
        ConnectionRepository,
        IntuitOAuth,
        QuickBooksApi,
        TokenVault,
    )
    from qbosync.domain.productive import ProductiveApi
    from qbosync.services.activity import ActivityService
    from qbosync.services.attention import AttentionService
    from qbosync.services.connections import ConnectionService
    from qbosync.services.copies import CopyService
    from qbosync.services.copy_jobs import CopyJobService, CopyJobWorker
    from qbosync.services.health import HealthService, QuickBooksCallRecorder
    from qbosync.services.lookups import LookupService
    from qbosync.services.payment_sync import PaymentEventWorker, PaymentSyncService
    from qbosync.services.reconcile import ReconcileService
    from qbosync.services.reconnect_warnings import ReconnectWarningService
    from qbosync.services.tokens import TokenService
    from qbosync.services.webhooks import WebhookService

clock = SystemClock()
Part = TypeVar("Part", bound=EnvironmentSettings)
Service = TypeVar("Service")
_functions: list[type[EnvironmentSettings]] = []  # the settings of the functions whose handlers were imported


def configure(function: FunctionName) -> None:
    """Called by each handler when it is imported: checks the function's environment now. The values
    are read on first use, like everything else here (`reset` forgets them)."""
    model = FUNCTION_SETTINGS[function]
    model.from_env()
    if model not in _functions:
        _functions.append(model)


def settings(part: type[Part]) -> Part:
    """One part of the settings, from the function's settings (locally several functions share this
    process: any of them that has the part). Without a handler (tools, tests), the part alone."""
    model = next((function for function in _functions if issubclass(function, part)), part)
    return cast(Part, _read(model))


@cache
def _read(model: type[EnvironmentSettings]) -> EnvironmentSettings:
    return model.from_env()


@cache
def _boto3_session() -> boto3.session.Session:
    import boto3

    from qbosync import observability

    observability.trace_library("botocore")
    return boto3.session.Session()


# One client (and one DynamoDB Table) of a kind for every adapter: each one built costs a cold start
# milliseconds (bench/cold_start.py). Powertools' layers send DynamoDB's typed values, so they get a plain
# client, not the Table's (a resource's client converts Python values).


@cache
def _secrets_client() -> Any:
    return _boto3_session().client("secretsmanager")


@cache
def _table() -> Any:
    return _boto3_session().resource("dynamodb").Table(settings(TableSettings).table_name)


@cache
def _dynamodb_client() -> Any:
    return _boto3_session().client("dynamodb")


@cache
def app_secrets() -> AppSecrets:
    from qbosync.adapters.secrets import AppSecrets

    return AppSecrets(settings(IntuitAppSettings).intuit_app_secret_id, client=_secrets_client())


def signing_secrets(*, force_fetch: bool = False) -> list[str]:
    """The app routes' request signing secrets (APP_SIGNING_SECRET_ID)."""
    secret_id = settings(AppSigningSettings).app_signing_secret_id
    return app_secrets().signing_secrets(secret_id, force_fetch=force_fetch)


@cache
def repository() -> ConnectionRepository:
    from qbosync import observability
    from qbosync.adapters.dynamodb_connections import DynamoConnectionRepository

    # Counted where the status is written, so a connection found out by any function is counted once.
    return DynamoConnectionRepository(
        _table(), on_needs_reconnect=lambda: observability.count_at_once("ConnectionsNeedReconnect")
    )


@cache
def vault() -> TokenVault:
    from qbosync.adapters.secrets import SecretsManagerTokenVault

    prefix = settings(ConnectionSecretSettings).connection_secret_prefix
    return SecretsManagerTokenVault(_secrets_client(), prefix)


@cache
def http_client() -> httpx.Client:
    import httpx

    from qbosync import observability

    observability.trace_library("httpx")
    # A bulk copy job's requests wait for their turn in the published rate limits (rate_budget()); every
    # answer of QuickBooks and Productive that says "too many" or "broken" is counted (the dashboard).
    return httpx.Client(
        timeout=httpx.Timeout(20.0, connect=5.0),
        event_hooks={"request": [_budget_request], "response": [_count_upstream_trouble]},
    )


#: The metric of each answer counted: (upstream, 429 or not) -> name (docs/runbook.md).
UPSTREAM_TROUBLE_METRICS = {
    ("quickbooks", True): "QuickBooksThrottled",
    ("quickbooks", False): "QuickBooksServerErrors",
    ("productive", True): "ProductiveThrottled",
    ("productive", False): "ProductiveServerErrors",
}


def _count_upstream_trouble(response: httpx.Response) -> None:
    """Each 429 and 5xx of QuickBooks' or Productive's API, retried ones too (each is a request we made)."""
    status = response.status_code
    if status != 429 and status < 500:
        return
    url = str(response.request.url)
    if url.startswith(settings(QuickBooksSettings).qbo_api_base_url.rstrip("/")):
        upstream = "quickbooks"
    elif url.startswith(str(settings(ProductiveSettings).productive_api_base_url).rstrip("/")):
        upstream = "productive"
    else:
        return
    from aws_lambda_powertools.metrics import MetricUnit

    from qbosync import observability

    observability.metrics.add_metric(
        name=UPSTREAM_TROUBLE_METRICS[upstream, status == 429], unit=MetricUnit.Count, value=1
    )


_budgets: list[DynamoRateBudget] = []


def _budget_request(request: httpx.Request) -> None:
    for budget in _budgets:
        budget.on_request(request)


@cache
def rate_budget() -> DynamoRateBudget:
    """The rate limits shared by every copy job worker (qbosync.adapters.rate_budget)."""
    from qbosync.adapters.rate_budget import DynamoRateBudget

    budget = DynamoRateBudget(
        _table(),
        clock,
        quickbooks_base_url=settings(QuickBooksSettings).qbo_api_base_url,
        productive_base_url=str(settings(ProductiveSettings).productive_api_base_url),
    )
    _budgets[:] = [budget]
    return budget


def intuit_oauth() -> IntuitOAuth:
    """Built per use: the app credentials come from a cached secret that may rotate."""
    from qbosync.adapters.intuit_oauth import AuthlibIntuitOAuth

    endpoints = settings(IntuitOAuthSettings)
    credentials = app_secrets().intuit()
    return AuthlibIntuitOAuth(
        client_id=credentials.client_id,
        client_secret=credentials.client_secret,
        redirect_uri=credentials.redirect_uri,
        authorize_url=endpoints.qbo_authorize_url,
        token_url=endpoints.qbo_token_url,
        revoke_url=endpoints.qbo_revoke_url,
        now=clock.now,
    )


class _LazyOAuth:
    """Defers reading the Intuit app secret until an OAuth call is made."""

    def redirect_uri(self) -> str:
        return app_secrets().intuit().redirect_uri

    def authorization_url(self, state: str) -> str:
        return intuit_oauth().authorization_url(state)

    def exchange_code(self, code: str) -> TokenSet:
        return intuit_oauth().exchange_code(code)

    def refresh(self, refresh_token: str) -> TokenSet:
        return intuit_oauth().refresh(refresh_token)

    def revoke(self, token: str) -> None:
        intuit_oauth().revoke(token)


def quickbooks_api(realm_id: str, access_token: AccessTokenProvider) -> QuickBooksApi:
    """The QuickBooksApiFactory every service gets. A connection's client records its calls' outcomes on
    the connection (docs/architecture.md "Connection health"); a code exchange's token names none yet."""
    from qbosync.adapters.quickbooks import QuickBooksClient
    from qbosync.services.tokens import ConnectionAccessToken

    client = QuickBooksClient(
        http=http_client(),
        base_url=settings(QuickBooksSettings).qbo_api_base_url,
        realm_id=realm_id,
        access_token=access_token,
    )
    if isinstance(access_token, ConnectionAccessToken):
        return quickbooks_calls().watch(client, access_token.connection_id)
    return client


@cache
def quickbooks_call_log() -> QuickBooksCallLog:
    from qbosync.adapters.dynamodb_connections import DynamoQuickBooksCallLog

    return DynamoQuickBooksCallLog(_table())


@cache
def quickbooks_calls() -> QuickBooksCallRecorder:
    """One per execution environment: it remembers when it last wrote each connection's last success."""
    from qbosync.services.health import QuickBooksCallRecorder

    return QuickBooksCallRecorder(log=quickbooks_call_log(), clock=clock)


@cache
def token_service() -> TokenService:
    from qbosync.services.tokens import TokenService

    service = TokenService(
        repository=repository(),
        vault=vault(),
        oauth=_LazyOAuth(),
        clock=clock,
        activity=activity_log(),
        calls=quickbooks_call_log(),
    )
    return _traced(service, "refresh", "refresh_due")


@cache
def health_service() -> HealthService:
    from qbosync.services.health import HealthService

    return _traced(HealthService(activity=activity_log(), clock=clock), "health")


@cache
def reconnect_notifier() -> ReconnectNotifier | None:
    """Productive's backend at NOTIFY_URL, or None when it is not set (warnings are only logged)."""
    notify = settings(NotifySettings)
    if notify.notify_url is None:
        return None
    import httpx

    from qbosync.adapters.notify import HttpReconnectNotifier

    def signing_secret() -> str:
        from qbosync.domain.health import NotificationFailed

        keys = app_secrets().signing_secrets(notify.notify_signing_secret_id)
        if not keys:
            raise NotificationFailed("The notify signing secret has no current value.")
        return keys[0]

    return HttpReconnectNotifier(
        http=httpx.Client(timeout=httpx.Timeout(10.0, connect=5.0)),
        url=notify.notify_url,
        signing_secret=signing_secret,
        now_epoch=lambda: clock.now().timestamp(),
    )


@cache
def reconnect_warning_service() -> ReconnectWarningService:
    from qbosync.adapters.dynamodb_warnings import DynamoReconnectWarningLedger
    from qbosync.services.reconnect_warnings import ReconnectWarningService

    service = ReconnectWarningService(
        connections=repository(),
        ledger=DynamoReconnectWarningLedger(_table()),
        notifier=reconnect_notifier(),
        activity=activity_log(),
        clock=clock,
    )
    return _traced(service, "run")


@cache
def connection_service() -> ConnectionService:
    from qbosync.services.connections import ConnectionService

    service = ConnectionService(
        return_urls=settings(ReturnUrlSettings).return_urls,
        repository=repository(),
        vault=vault(),
        oauth=_LazyOAuth(),
        quickbooks=quickbooks_api,
        tokens=token_service(),
        clock=clock,
        activity=activity_log(),
    )
    methods = ("start", "get", "update_settings", "disconnect", "begin_authorization", "complete_authorization")
    return _traced(service, *methods)


@cache
def lookup_service() -> LookupService:
    from qbosync.services.lookups import LookupService

    service = LookupService(repository=repository(), tokens=token_service(), quickbooks=quickbooks_api)
    return _traced(service, "customers", "items", "tax_codes")


@cache
def activity_log() -> ActivityLog:
    """The activity log (docs/architecture.md "Activity log"); an entry that cannot be written is logged
    and counted (metric ActivityWriteFailures), never raised to what it records."""
    from qbosync.adapters.dynamodb_activity import DynamoActivityLog
    from qbosync.services.activity import QuietActivityLog

    def count_failure(_: Any) -> None:
        from qbosync import observability

        observability.count_at_once("ActivityWriteFailures")

    return QuietActivityLog(DynamoActivityLog(_table(), clock), on_failure=count_failure)


@cache
def activity_service() -> ActivityService:
    from qbosync.services.activity import ActivityService

    return _traced(ActivityService(connections=repository(), log=activity_log()), "page")


@cache
def copy_repository() -> CopyRepository:
    from qbosync.adapters.dynamodb_copies import DynamoCopyRepository

    return DynamoCopyRepository(_table())


def productive_api(connection: Connection, api_token: str) -> ProductiveApi:
    """Productive as the connection's API token sees it."""
    from qbosync.adapters.productive import ProductiveClient

    base_url = settings(ProductiveSettings).productive_api_base_url
    return ProductiveClient(base_url, api_token, connection.organization_id, http=http_client())


@cache
def copy_service() -> CopyService:
    from qbosync.services.copies import CopyService

    service = CopyService(
        connections=repository(),
        copies=copy_repository(),
        tokens=token_service(),
        quickbooks=quickbooks_api,
        productive=productive_api,
        clock=clock,
        quickbooks_app_url=settings(QuickBooksSettings).qbo_app_url,
        activity=activity_log(),
    )
    return _traced(service, "copy", "history")


@cache
def copy_job_service() -> CopyJobService:
    from qbosync.adapters.dynamodb_copy_jobs import DynamoCopyJobRepository
    from qbosync.services.copy_jobs import CopyJobService

    service = CopyJobService(
        connections=repository(), jobs=DynamoCopyJobRepository(_table()), queue=copy_job_queue(), clock=clock
    )
    return _traced(service, "submit", "get", "recent")


@cache
def copy_job_worker() -> CopyJobWorker:
    from qbosync.adapters.dynamodb_copy_jobs import DynamoCopyJobRepository
    from qbosync.services.copy_jobs import CopyJobWorker

    worker = CopyJobWorker(
        copies=copy_service(),
        jobs=DynamoCopyJobRepository(_table()),
        queue=copy_job_queue(),
        clock=clock,
        budget=rate_budget(),
    )
    return _traced(worker, "run")


@cache
def copy_job_queue() -> SqsCopyJobQueue:
    """The copy jobs queue (COPY_JOBS_QUEUE_URL): copy_invoice sends, copy_jobs reads and sends again."""
    from qbosync.adapters.sqs import SqsCopyJobQueue

    return SqsCopyJobQueue(_boto3_session().client("sqs"), settings(CopyJobsSettings).copy_jobs_queue_url)


@cache
def attention_service() -> AttentionService:
    from qbosync.services.attention import AttentionService

    return _traced(AttentionService(connections=repository(), copies=copy_repository()), "list")


def _idempotency_layer() -> DynamoDBPersistenceLayer:
    """Powertools Idempotency records in the single table (pk=IDEMPOTENCY / sk, TTL on expires_at)."""
    from aws_lambda_powertools.utilities.idempotency import DynamoDBPersistenceLayer

    return DynamoDBPersistenceLayer(
        table_name=settings(TableSettings).table_name,
        key_attr="pk",
        sort_key_attr="sk",
        static_pk_value="IDEMPOTENCY",
        expiry_attr="expires_at",
        boto3_client=_dynamodb_client(),
    )


@cache
def idempotency_store() -> DynamoDBPersistenceLayer:
    """The copy route's Idempotency-Key records."""
    return _idempotency_layer()


def replay_store() -> DynamoDBPersistenceLayer:
    """A new layer for replay records (qbosync.api.replay), same table and key layout: Powertools
    configures a layer once, for one config, so each guard gets its own."""
    return _idempotency_layer()


@cache
def payment_repository() -> PaymentRepository:
    """Payment mappings, per-payment leases and reconcile cursors (qbosync.adapters.dynamodb_payments)."""
    from qbosync.adapters.dynamodb_payments import DynamoPaymentRepository

    return DynamoPaymentRepository(_table())


@cache
def payment_sync_service() -> PaymentSyncService:
    from qbosync.services.payment_sync import PaymentSyncService

    service = PaymentSyncService(
        connections=repository(),
        copies=copy_repository(),
        payments=payment_repository(),
        tokens=token_service(),
        quickbooks=quickbooks_api,
        productive=productive_api,
        clock=clock,
        activity=activity_log(),
    )
    return _traced(service, "handle")


@cache
def payment_event_worker() -> PaymentEventWorker:
    """payment_sync's fan-out of queued chunks; what it cannot finish goes back on the same queue."""
    from qbosync.services.payment_sync import PaymentEventWorker

    return _traced(PaymentEventWorker(sync=payment_sync_service(), queue=event_queue()), "handle_message")


@cache
def reconcile_service() -> ReconcileService:
    from qbosync.services.reconcile import ReconcileService

    service = ReconcileService(
        connections=repository(),
        state=payment_repository(),
        tokens=token_service(),
        quickbooks=quickbooks_api,
        queue=event_queue(),
        clock=clock,
        activity=activity_log(),
    )
    return _traced(service, "run", "sweep", "connections_by_status")


@cache
def event_queue() -> EventQueue:
    """The payment events queue (PAYMENT_EVENTS_QUEUE_URL): webhook and reconcile send, payment_sync reads."""
    from qbosync.adapters.sqs import SqsEventQueue

    return SqsEventQueue(_boto3_session().client("sqs"), settings(PaymentEventsSettings).payment_events_queue_url)


@cache
def webhook_service() -> WebhookService:
    from qbosync.services.webhooks import WebhookService

    def verifier_token(*, force_fetch: bool = False) -> str:
        return app_secrets().intuit(force_fetch=force_fetch).webhook_verifier_token

    service = WebhookService(verifier_token=verifier_token, connections=repository(), queue=event_queue())
    return _traced(service, "receive")


def _traced(service: Service, *methods: str) -> Service:
    from qbosync import observability

    return observability.traced(service, *methods)


def reset() -> None:
    """Forget everything built so far (tests that change the environment between stacks)."""
    for factory in (
        _read,
        _boto3_session,
        _secrets_client,
        _table,
        _dynamodb_client,
        app_secrets,
        repository,
        vault,
        http_client,
        token_service,
        quickbooks_call_log,
        quickbooks_calls,
        health_service,
        reconnect_notifier,
        reconnect_warning_service,
        connection_service,
        lookup_service,
        activity_log,
        activity_service,
        copy_repository,
        copy_service,
        copy_job_service,
        copy_job_worker,
        copy_job_queue,
        rate_budget,
        attention_service,
        idempotency_store,
        event_queue,
        webhook_service,
        payment_repository,
        payment_sync_service,
        payment_event_worker,
        reconcile_service,
    ):
        factory.cache_clear()
    _budgets.clear()
