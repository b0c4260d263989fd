"""The HTTP API resolver every app-facing function uses: Powertools' Event Handler with request
and response validation (pydantic), the error map above, and the app request signature check."""

from __future__ import annotations

import base64
import json
import logging
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from aws_lambda_powertools.event_handler import APIGatewayHttpResolver, Response
from aws_lambda_powertools.event_handler.exceptions import NotFoundError
from aws_lambda_powertools.event_handler.openapi.exceptions import (
    RequestUnsupportedContentType,
    RequestValidationError,
)
from aws_lambda_powertools.middleware_factory import lambda_handler_decorator

from qbosync.api.errors import (
    domain_error_response,
    error_response,
    raw_error_response,
    validation_error_response,
)
from qbosync.api.events import header
from qbosync.domain.errors import DomainError
from qbosync.domain.signing import signature_problem

if TYPE_CHECKING:
    from qbosync.api.replay import ReplayGuard

MAX_BODY_BYTES = 256 * 1024
# Our bodies are a few levels deep; deeper JSON is refused before anything recurses through it.
MAX_JSON_DEPTH = 32
logger = logging.getLogger(__name__)


def build_resolver(*, reject_unknown_query: bool = False) -> APIGatewayHttpResolver:
    """reject_unknown_query: the app routes, like their bodies (extra="forbid"), take only the query
    parameters they declare (422 otherwise); the browser's and Intuit's routes stay lenient."""
    # A response that fails its own model is our bug: 500, not a 422 blaming the caller.
    app = APIGatewayHttpResolver(enable_validation=True, response_validation_error_http_code=500)

    @app.exception_handler(RequestValidationError)  # type: ignore[untyped-decorator]
    def _invalid_request(error: RequestValidationError) -> Response[str]:
        return validation_error_response(list(error.errors()))

    @app.exception_handler(RequestUnsupportedContentType)  # type: ignore[untyped-decorator]
    def _unsupported_content_type(_: RequestUnsupportedContentType) -> Response[str]:
        return error_response(
            415, "unsupported_media_type", "The request body must be JSON, sent with Content-Type: application/json."
        )

    @app.exception_handler(DomainError)  # type: ignore[untyped-decorator]
    def _domain_error(error: DomainError) -> Response[str]:
        logger.info("request failed", extra={"error_code": error.code, "error_class": type(error).__name__})
        return domain_error_response(error)

    @app.not_found
    def _no_route(_: NotFoundError) -> Response[str]:
        return error_response(404, "route_not_found", "There is no such route.")

    @app.exception_handler(Exception)  # type: ignore[untyped-decorator]
    def _unexpected(error: Exception) -> Response[str]:
        logger.exception("unexpected error", extra={"error_class": type(error).__name__})
        return error_response(500, "internal_error", "Something went wrong on our side; it has been logged.")

    if reject_unknown_query:
        app.use(middlewares=[_known_query_parameters_only])
    return app


def _known_query_parameters_only(app: APIGatewayHttpResolver, next_middleware: Callable[..., Any]) -> Any:
    route = app.context.get("_route")
    known = {field.alias for field in route.dependant.query_params} if route is not None else set()
    sent = app.current_event.query_string_parameters or {}
    unknown = sorted(name for name in sent if name not in known)
    if unknown:
        return validation_error_response(
            [{"loc": ("query", name), "msg": "Unknown query parameter", "type": "extra_forbidden"} for name in unknown]
        )
    return next_middleware(app)


def raw_body(event: dict[str, Any]) -> bytes:
    body = event.get("body") or ""
    if event.get("isBase64Encoded"):
        return base64.b64decode(body)
    return body.encode("utf-8")


def _json_depth_exceeds(value: Any, limit: int) -> bool:
    stack = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, dict | list):
            if depth > limit:
                return True
            stack.extend((child, depth + 1) for child in (item.values() if isinstance(item, dict) else item))
    return False


def body_problem(event: dict[str, Any], body: bytes) -> dict[str, Any] | None:
    """Why a signed request's body cannot be read as our JSON, as the response to send; None if it can.

    Every app route takes JSON or nothing: a body needs Content-Type application/json (a missing
    one included: 415), UTF-8 (400), valid JSON (400) at most MAX_JSON_DEPTH deep (400)."""
    if not body:
        return None
    media_type = (header(event, "content-type") or "").split(";", 1)[0].strip().lower()
    if media_type != "application/json":
        return raw_error_response(
            415, "unsupported_media_type", "The request body must be JSON, sent with Content-Type: application/json."
        )
    # Media types are case-insensitive; Powertools' body parser compares in lower case.
    headers = event["headers"]
    for name in [name for name in headers if name.lower() == "content-type"]:
        headers[name] = str(headers[name]).lower()
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError:
        return raw_error_response(400, "malformed_json", "The request body is not valid JSON: it is not UTF-8.")
    try:
        parsed = json.loads(text)
    except RecursionError:
        return raw_error_response(400, "malformed_json", "The request body is not valid JSON: it is nested too deeply.")
    except ValueError:  # JSONDecodeError, and integers longer than Python converts
        return raw_error_response(400, "malformed_json", "The request body is not valid JSON.")
    if _json_depth_exceeds(parsed, MAX_JSON_DEPTH):
        return raw_error_response(400, "malformed_json", "The request body is not valid JSON: it is nested too deeply.")
    return None


def make_signature_check(
    secrets: Callable[..., list[str]],
    now: Callable[[], float] = time.time,
    *,
    replay_guard: ReplayGuard | None = None,
) -> Callable[..., Any]:
    """A handler decorator that rejects oversized and unsigned requests before anything else runs,
    then bodies that are not our JSON, then answers repeated signed writes from their record.

    `secrets(force_fetch=...)` returns the current and previous signing secrets; on a mismatch
    the secrets are fetched once more, so a rotation is picked up without waiting for the cache."""

    @lambda_handler_decorator
    def require_app_signature(
        handler: Callable[[dict[str, Any], Any], Any], event: dict[str, Any], context: Any
    ) -> Any:
        body = raw_body(event)
        if len(body) > MAX_BODY_BYTES:
            return raw_error_response(413, "payload_too_large", "The request body is too large.")
        query = event.get("rawQueryString") or ""
        path_and_query = (event.get("rawPath") or "/") + (f"?{query}" if query else "")
        method = str((event.get("requestContext") or {}).get("http", {}).get("method", "GET"))
        timestamp = header(event, "x-qbosync-timestamp")
        signature = header(event, "x-qbosync-signature")
        idempotency_key = header(event, "idempotency-key")

        def problem(force: bool) -> str | None:
            return signature_problem(
                secrets=secrets(force_fetch=force),
                timestamp=timestamp,
                signature=signature,
                method=method,
                path_and_query=path_and_query,
                body=body,
                now_epoch=now(),
                idempotency_key=idempotency_key,
            )

        found = problem(False)
        if found == "signature does not match":
            found = problem(True)
        if found is not None:
            logger.warning("rejected unsigned request", extra={"reason": found})
            return raw_error_response(401, "invalid_signature", f"The request signature is not valid: {found}.")
        refused = body_problem(event, body)
        if refused is not None:
            return refused
        if replay_guard is not None and signature is not None and replay_guard.applies_to(event):
            return replay_guard.run(event, context, signature, lambda: handler(event, context))
        return handler(event, context)

    return require_app_signature
