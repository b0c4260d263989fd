"""The browser comes back from Intuit's consent screen here; we finish the connection and send it on."""

from __future__ import annotations

from typing import Annotated, Any

from aws_lambda_powertools import Logger
from aws_lambda_powertools.event_handler import Response, content_types
from aws_lambda_powertools.event_handler.openapi.params import Query
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.typing import LambdaContext

from qbosync import wiring
from qbosync.api.resolver import build_resolver
from qbosync.domain.errors import NotFound

logger = Logger(service="qbosync")
app = build_resolver()

OptionalParam = Annotated[str | None, Query(max_length=2048)]


@app.get(
    "/oauth/callback",
    responses={
        302: {"description": "Back to the return_url with ?status=connected or ?status=error&reason=..."},
        400: {"description": "The link names no connection (an HTML page)."},
    },
)
def oauth_callback(
    code: OptionalParam = None,
    state: OptionalParam = None,
    realmId: OptionalParam = None,
    error: OptionalParam = None,
) -> Response[str]:
    try:
        location = wiring.connection_service().complete_authorization(
            state=state, code=code, realm_id=realmId, error=error
        )
    except NotFound:
        # No connection to send the browser back to: say so on a page of our own.
        return Response(
            status_code=400,
            content_type=content_types.TEXT_HTML,
            body="<!doctype html><title>Link expired</title>"
            "<p>This QuickBooks authorization link is not valid. Start again from Productive.</p>",
        )
    logger.info(
        "authorization finished",
        extra={"outcome": "connected" if "status=connected" in location else "error"},
    )
    return Response(status_code=302, body="", headers={"Location": location, "Cache-Control": "no-store"})


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_HTTP)
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return app.resolve(event, context)
