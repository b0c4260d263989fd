"""The browser's two stops while connecting: GET /oauth/start binds the state to a cookie and sends the
browser to Intuit's consent screen; GET /oauth/callback, where Intuit sends it back, finishes the
connection and sends it on to Productive. Both are unsigned (a browser calls them)."""

from __future__ import annotations

from typing import Annotated, Any

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.openapi.params import Query
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.typing import LambdaContext

from qbosync import observability, wiring
from qbosync.api import browser
from qbosync.api.resolver import build_resolver
from qbosync.domain.oauth_flow import OAUTH_STATE_TTL, AuthorizationNotSaved, InvalidOAuthLink

wiring.configure("oauth_callback")
logger = observability.logger
app = build_resolver()

# No length or shape rules here: a parameter Powertools refused would be a JSON 422, and every refusal
# before the state checks out must be the same page (the service bounds what it reads).
OptionalParam = Annotated[str | None, Query()]


@app.get("/oauth/start", responses=browser.START_RESPONSES)
def oauth_start(state: OptionalParam = None) -> Response[str]:
    cookie = browser.sent_state_cookie(app.current_event.cookies)
    try:
        handoff = wiring.connection_service().begin_authorization(state=state, cookie=cookie)
    except InvalidOAuthLink:
        return browser.invalid_link()
    bound = browser.state_cookie(handoff.cookie, handoff.cookie_value, int(OAUTH_STATE_TTL.total_seconds()))
    return browser.redirect(handoff.intuit_url, [bound])


@app.get("/oauth/callback", responses=browser.CALLBACK_RESPONSES)
def oauth_callback(
    code: OptionalParam = None,
    state: OptionalParam = None,
    realmId: OptionalParam = None,
    error: OptionalParam = None,
) -> Response[str]:
    service = wiring.connection_service()
    cleared = [browser.state_cookie(service.browser_cookie(), "", 0)]
    cookie = browser.sent_state_cookie(app.current_event.cookies)
    try:
        location = service.complete_authorization(state=state, cookie=cookie, code=code, realm_id=realmId, error=error)
    except InvalidOAuthLink:
        return browser.invalid_link(cleared)
    except AuthorizationNotSaved as failure:
        logger.exception("authorization could not be saved")
        return browser.redirect(failure.location, cleared)
    logger.info("authorization finished", extra={"outcome": "connected" if "status=connected" in location else "error"})
    return browser.redirect(location, cleared)


@observability.handler(correlation_id_path=correlation_paths.API_GATEWAY_HTTP, publish_metrics=True)
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return app.resolve(event, context)
