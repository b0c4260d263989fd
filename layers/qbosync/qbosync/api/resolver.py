"""The HTTP API resolver every app-facing function uses: Powertools' Event Handler with request
and response validation (pydantic), the error map above, and the app request signature check."""

from __future__ import annotations

import base64
import time
from collections.abc import Callable
from typing import Any

from aws_lambda_powertools import Logger
from aws_lambda_powertools.event_handler import APIGatewayHttpResolver, Response
from aws_lambda_powertools.event_handler.exceptions import NotFoundError
from aws_lambda_powertools.event_handler.openapi.exceptions import RequestValidationError
from aws_lambda_powertools.middleware_factory import lambda_handler_decorator

from qbosync.api.errors import (
    domain_error_response,
    error_response,
    raw_error_response,
    validation_error_response,
)
from qbosync.domain.errors import DomainError
from qbosync.domain.signing import signature_problem

MAX_BODY_BYTES = 256 * 1024
logger = Logger(service="qbosync")


def build_resolver() -> APIGatewayHttpResolver:
    # A response that fails its own model is our bug: 500, not a 422 blaming the caller.
    app = APIGatewayHttpResolver(enable_validation=True, response_validation_error_http_code=500)

    @app.exception_handler(RequestValidationError)  # type: ignore[untyped-decorator]
    def _invalid_request(error: RequestValidationError) -> Response[str]:
        return validation_error_response(list(error.errors()))

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

    return app


def raw_body(event: dict[str, Any]) -> bytes:
    body = event.get("body") or ""
    if event.get("isBase64Encoded"):
        return base64.b64decode(body)
    return body.encode("utf-8")


def _header(event: dict[str, Any], name: str) -> str | None:
    headers = event.get("headers") or {}
    for key, value in headers.items():
        if key.lower() == name:
            return str(value)
    return None


def make_signature_check(secrets: Callable[..., list[str]], now: Callable[[], float] = time.time) -> Callable[..., Any]:
    """A handler decorator that rejects oversized and unsigned requests before anything else runs.

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
        timestamp = _header(event, "x-qbosync-timestamp")
        signature = _header(event, "x-qbosync-signature")

        def problem(force: bool) -> str | None:
            return signature_problem(
                secrets=secrets(force_fetch=force),
                timestamp=timestamp,
                signature=signature,
                method=method,
                path_and_query=path_and_query,
                body=body,
                now_epoch=now(),
            )

        found = problem(False)
        if found == "signature does not match":
            found = problem(True)
        if found is not None:
            logger.warning("rejected unsigned request", extra={"reason": found})
            return raw_error_response(401, "invalid_signature", f"The request signature is not valid: {found}.")
        return handler(event, context)

    return require_app_signature
