"""The browser's two stops while connecting: GET /oauth/start binds the state to a cookie and sends the
browser to Intuit's consent screen; GET /oauth/callback, where Intuit sends it back, finishes the
connection and sends it on to Productive. Both are unsigned (a browser calls them)."""

from __future__ import annotations

from typing import Annotated, Any

from aws_lambda_powertools import Logger
from aws_lambda_powertools.event_handler import Response, content_types
from aws_lambda_powertools.event_handler.openapi.params import Query
from aws_lambda_powertools.event_handler.openapi.types import (
    OpenAPIResponseContentModel,
    OpenAPIResponseContentSchema,
)
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.shared.cookies import Cookie, SameSite
from aws_lambda_powertools.utilities.typing import LambdaContext

from qbosync import wiring
from qbosync.api.resolver import build_resolver
from qbosync.domain.oauth_flow import (
    OAUTH_COOKIE_NAME,
    OAUTH_STATE_TTL,
    AuthorizationNotSaved,
    BrowserCookie,
    InvalidOAuthLink,
)

logger = Logger(service="qbosync")
app = build_resolver()

# No length or shape rules here: a parameter Powertools refused would be a JSON 422, and every refusal
# before the state checks out must be the same page (the service bounds what it reads).
OptionalParam = Annotated[str | None, Query()]
INVALID_LINK_PAGE = (
    '<!doctype html><html><head><meta charset="utf-8"><title>Link not valid</title></head>'
    "<body><p>This QuickBooks authorization link is not valid or has expired. Start again from Productive.</p>"
    "</body></html>"
)
NO_STORE = {"Cache-Control": "no-store"}
HTML_PAGE: dict[str, OpenAPIResponseContentSchema | OpenAPIResponseContentModel] = {
    "text/html": {"schema": {"type": "string"}}
}


def _cookie(scope: BrowserCookie, value: str, max_age: int) -> Cookie:
    return Cookie(
        name=OAUTH_COOKIE_NAME,
        value=value,
        path=scope.path,
        secure=scope.secure,
        http_only=True,
        same_site=SameSite.LAX_MODE,
        max_age=max_age,
    )


def _browser_cookie() -> str | None:
    for pair in app.current_event.cookies or []:
        name, _, value = pair.partition("=")
        if name.strip() == OAUTH_COOKIE_NAME:
            return value.strip()
    return None


def _invalid_link(cookies: list[Cookie] | None = None) -> Response[str]:
    """The one answer to every refusal before the state and its cookie check out."""
    return Response(
        status_code=400,
        content_type=content_types.TEXT_HTML,
        body=INVALID_LINK_PAGE,
        headers=NO_STORE,
        cookies=cookies,
    )


def _redirect(location: str, cookies: list[Cookie]) -> Response[str]:
    return Response(status_code=302, body="", headers={"Location": location, **NO_STORE}, cookies=cookies)


@app.get(
    "/oauth/start",
    responses={
        302: {"description": "On to Intuit's consent screen; sets the qbosync_oauth cookie bound to the state."},
        400: {
            "description": "The link is unknown, expired or already opened in another browser.",
            "content": HTML_PAGE,
        },
    },
)
def oauth_start(state: OptionalParam = None) -> Response[str]:
    try:
        handoff = wiring.connection_service().begin_authorization(state=state, cookie=_browser_cookie())
    except InvalidOAuthLink:
        return _invalid_link()
    cookie = _cookie(handoff.cookie, handoff.cookie_value, int(OAUTH_STATE_TTL.total_seconds()))
    return _redirect(handoff.intuit_url, [cookie])


@app.get(
    "/oauth/callback",
    responses={
        302: {
            "description": "Back to the return_url with ?status=connected or ?status=error&reason=... "
            "(every failure once the state and its cookie checked out); clears the qbosync_oauth cookie."
        },
        400: {
            "description": "The state is unknown, used, or not bound to this browser's qbosync_oauth cookie.",
            "content": HTML_PAGE,
        },
    },
)
def oauth_callback(
    code: OptionalParam = None,
    state: OptionalParam = None,
    realmId: OptionalParam = None,
    error: OptionalParam = None,
) -> Response[str]:
    service = wiring.connection_service()
    cleared = [_cookie(service.browser_cookie(), "", 0)]
    try:
        location = service.complete_authorization(
            state=state, cookie=_browser_cookie(), code=code, realm_id=realmId, error=error
        )
    except InvalidOAuthLink:
        return _invalid_link(cleared)
    except AuthorizationNotSaved as failure:
        logger.exception("authorization could not be saved")
        return _redirect(failure.location, cleared)
    logger.info(
        "authorization finished",
        extra={"outcome": "connected" if "status=connected" in location else "error"},
    )
    return _redirect(location, cleared)


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_HTTP)
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return app.resolve(event, context)
