"""What the browser gets while connecting (docs/architecture.md "Connect"): the state cookie, the
redirects, and the one page for every link that is not valid. Never cached."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.event_handler import Response, content_types
from aws_lambda_powertools.event_handler.openapi.types import (
    OpenAPIResponseContentModel,
    OpenAPIResponseContentSchema,
)
from aws_lambda_powertools.shared.cookies import Cookie, SameSite

from qbosync.domain.oauth_flow import OAUTH_COOKIE_NAME, BrowserCookie

INVALID_LINK_PAGE = (
    '<!doctype html><html><head><meta charset="utf-8"><title>Link not valid</title></head>'
    "<body><p>This QuickBooks authorization link is not valid or has expired. Start again from Productive.</p>"
    "</body></html>"
)
NO_STORE = {"Cache-Control": "no-store"}
HTML_PAGE: dict[str, OpenAPIResponseContentSchema | OpenAPIResponseContentModel] = {
    "text/html": {"schema": {"type": "string"}}
}
START_RESPONSES: dict[int, Any] = {
    302: {"description": "On to Intuit's consent screen; sets the qbosync_oauth cookie bound to the state."},
    400: {
        "description": "The link is unknown, expired or already opened in another browser.",
        "content": HTML_PAGE,
    },
}
CALLBACK_RESPONSES: dict[int, Any] = {
    302: {
        "description": "Back to the return_url with ?status=connected or ?status=error&reason=... "
        "(every failure once the state and its cookie checked out); clears the qbosync_oauth cookie."
    },
    400: {
        "description": "The state is unknown, used, or not bound to this browser's qbosync_oauth cookie.",
        "content": HTML_PAGE,
    },
}


def state_cookie(scope: BrowserCookie, value: str, max_age: int) -> Cookie:
    """The cookie that binds the OAuth state to this browser (an empty value and max_age 0 clear it)."""
    return Cookie(
        name=OAUTH_COOKIE_NAME,
        value=value,
        path=scope.path,
        secure=scope.secure,
        http_only=True,
        same_site=SameSite.LAX_MODE,
        max_age=max_age,
    )


def sent_state_cookie(cookies: list[str] | None) -> str | None:
    """The browser's state cookie among the request's cookies ("name=value" each)."""
    for pair in cookies or []:
        name, _, value = pair.partition("=")
        if name.strip() == OAUTH_COOKIE_NAME:
            return value.strip()
    return None


def invalid_link(cookies: list[Cookie] | None = None) -> Response[str]:
    """The one answer to every refusal before the state and its cookie check out."""
    return Response(
        status_code=400,
        content_type=content_types.TEXT_HTML,
        body=INVALID_LINK_PAGE,
        headers=NO_STORE,
        cookies=cookies,
    )


def redirect(location: str, cookies: list[Cookie]) -> Response[str]:
    return Response(status_code=302, body="", headers={"Location": location, **NO_STORE}, cookies=cookies)
