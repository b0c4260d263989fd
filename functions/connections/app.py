"""App-facing connection routes: connect, read, settings, QuickBooks look-ups, the activity log,
disconnect."""

from __future__ import annotations

from typing import Annotated, Any

from aws_lambda_powertools.event_handler import Response, content_types
from aws_lambda_powertools.event_handler.openapi.params import Query
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.typing import LambdaContext

from qbosync import observability, wiring
from qbosync.api.docs import documented
from qbosync.api.models import (
    ActivityCursorQuery,
    ActivityInvoiceQuery,
    ActivityKindQuery,
    ActivityLimitQuery,
    ActivityList,
    ActivityView,
    ConnectionIdPath,
    ConnectionStarted,
    ConnectionView,
    CreateConnectionRequest,
    LookupList,
)
from qbosync.api.replay import ReplayGuard
from qbosync.api.resolver import build_resolver, make_signature_check
from qbosync.domain.connection import ConnectionSettings

wiring.configure("connections")
logger = observability.logger
app = build_resolver(reject_unknown_query=True)
require_app_signature = make_signature_check(wiring.signing_secrets, replay_guard=ReplayGuard(wiring.replay_store))


@app.post("/connections", responses=documented(201, "Connection started", ConnectionStarted, (503,), write=True))
def create_connection(request: CreateConnectionRequest) -> Response[ConnectionStarted]:
    started = wiring.connection_service().start(
        organization_id=request.organization_id,
        subsidiary_id=request.subsidiary_id,
        productive_api_token=request.productive_api_token,
        return_url=request.return_url,
    )
    logger.info("connection started", extra={"connection_id": started.connection.connection_id})
    body = ConnectionStarted(
        connection_id=started.connection.connection_id,
        authorize_url=started.authorize_url,
        status=started.connection.status.value,
    )
    return Response(status_code=201, content_type=content_types.APPLICATION_JSON, body=body)


@app.get("/connections/<connection_id>", responses=documented(200, "The connection", ConnectionView, (404,)))
def get_connection(connection_id: ConnectionIdPath) -> ConnectionView:
    connection = wiring.connection_service().get(connection_id)
    return ConnectionView.of(connection, wiring.health_service().health(connection))


@app.put(
    "/connections/<connection_id>/settings",
    responses=documented(200, "The saved settings", ConnectionSettings, (404, 409, 503), write=True),
)
def put_settings(connection_id: ConnectionIdPath, settings: ConnectionSettings) -> ConnectionSettings:
    return wiring.connection_service().update_settings(connection_id, settings)


@app.get(
    "/connections/<connection_id>/quickbooks/customers",
    responses=documented(200, "Customers of the QuickBooks company", LookupList, (404, 409, 502, 503)),
)
def list_customers(
    connection_id: ConnectionIdPath, search: Annotated[str | None, Query(max_length=100)] = None
) -> LookupList:
    return LookupList.of(wiring.lookup_service().customers(connection_id, search))


@app.get(
    "/connections/<connection_id>/quickbooks/items",
    responses=documented(200, "Items of the QuickBooks company", LookupList, (404, 409, 502, 503)),
)
def list_items(connection_id: ConnectionIdPath) -> LookupList:
    return LookupList.of(wiring.lookup_service().items(connection_id))


@app.get(
    "/connections/<connection_id>/quickbooks/tax-codes",
    responses=documented(200, "Tax codes of the QuickBooks company", LookupList, (404, 409, 502, 503)),
)
def list_tax_codes(connection_id: ConnectionIdPath) -> LookupList:
    return LookupList.of(wiring.lookup_service().tax_codes(connection_id))


@app.get(
    "/connections/<connection_id>/activity",
    responses=documented(200, "The connection's activity log, newest first, a page at a time", ActivityList, (404,)),
)
def list_activity(
    connection_id: ConnectionIdPath,
    invoice_id: ActivityInvoiceQuery = None,
    kind: ActivityKindQuery = None,
    limit: ActivityLimitQuery = 50,
    cursor: ActivityCursorQuery = None,
) -> ActivityList:
    page = wiring.activity_service().page(connection_id, invoice_id=invoice_id, kind=kind, limit=limit, cursor=cursor)
    return ActivityList(items=[ActivityView.of(entry) for entry in page.entries], next_cursor=page.next_cursor)


@app.get(
    "/connections/<connection_id>/quickbooks/classes",
    responses=documented(200, "Active classes of the QuickBooks company", LookupList, (404, 409, 502, 503)),
)
def list_classes(connection_id: ConnectionIdPath) -> LookupList:
    return LookupList.of(wiring.lookup_service().classes(connection_id))


@app.get(
    "/connections/<connection_id>/quickbooks/locations",
    responses=documented(
        200, "Active locations (Departments) of the QuickBooks company", LookupList, (404, 409, 502, 503)
    ),
)
def list_locations(connection_id: ConnectionIdPath) -> LookupList:
    return LookupList.of(wiring.lookup_service().locations(connection_id))


@app.delete("/connections/<connection_id>", responses=documented(204, "Disconnected", None, (404, 503), write=True))
def disconnect(connection_id: ConnectionIdPath) -> Response[None]:
    wiring.connection_service().disconnect(connection_id)
    logger.info("connection disconnected", extra={"connection_id": connection_id})
    return Response(status_code=204)


@observability.handler(correlation_id_path=correlation_paths.API_GATEWAY_HTTP, publish_metrics=True)
@require_app_signature
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return app.resolve(event, context)
