"""The one place where errors become HTTP responses (README "HTTP API", docs/architecture.md "HTTP edge"):
{"error": {"code": "<snake_case>", "message": "<human sentence>", "details": {...}}}"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from qbosync.domain.errors import (
    Conflict,
    DomainError,
    InvalidInput,
    NotFound,
    ProductiveError,
    QuickBooksFault,
    ReauthorizationRequired,
    UpstreamUnavailable,
)

if TYPE_CHECKING:
    from aws_lambda_powertools.event_handler import Response

DEFAULT_RETRY_AFTER_SECONDS = 30
JSON = "application/json"


def error_body(code: str, message: str, details: dict[str, Any] | None = None) -> dict[str, Any]:
    return {"error": {"code": code, "message": message, "details": details or {}}}


def error_response(
    status: int,
    code: str,
    message: str,
    details: dict[str, Any] | None = None,
    headers: dict[str, str] | None = None,
) -> Response[str]:
    # Imported here: the webhook function answers with raw_error_response only, and Powertools' event
    # handler would add tens of milliseconds to its cold start (bench/cold_start.py).
    from aws_lambda_powertools.event_handler import Response

    return Response(
        status_code=status,
        content_type=JSON,
        body=json.dumps(error_body(code, message, details)),
        headers=headers,
    )


def raw_error_response(
    status: int,
    code: str,
    message: str,
    details: dict[str, Any] | None = None,
    headers: dict[str, str] | None = None,
) -> dict[str, Any]:
    """The same shape for responses produced before the resolver runs (signature, size checks)."""
    return {
        "statusCode": status,
        "headers": {"Content-Type": JSON, **(headers or {})},
        "body": json.dumps(error_body(code, message, details)),
        "isBase64Encoded": False,
    }


def status_for(error: DomainError) -> int:
    if isinstance(error, QuickBooksFault):
        if error.fault_type.lower() in {"systemfault", "system"} or error.http_status >= 500:
            return 502
        return 409 if error.is_conflict else 422
    if isinstance(error, NotFound):
        return 404
    if isinstance(error, InvalidInput):
        return 422
    if isinstance(error, Conflict | ReauthorizationRequired):
        return 409
    if isinstance(error, UpstreamUnavailable):
        return 503
    if isinstance(error, ProductiveError):
        return 502
    return 500


def domain_error_response(error: DomainError) -> Response[str]:
    headers = {}
    details = error.details
    if isinstance(error, UpstreamUnavailable):
        # Always a retry hint: the caller (Productive's backend) decides when to try again.
        retry_after = error.retry_after_seconds or DEFAULT_RETRY_AFTER_SECONDS
        headers["Retry-After"] = str(retry_after)
        details = {**details, "retry_after_seconds": retry_after}
    return error_response(status_for(error), error.code, error.message, details, headers or None)


# A path id that does not match its pattern names nothing: the same 404 as an unknown id.
PATH_ID_NOT_FOUND = {
    "connection_id": ("connection_not_found", "No connection with this id."),
    "invoice_id": ("invoice_not_found", "No invoice with this id."),
}


def validation_error_response(errors: list[dict[str, Any]]) -> Response[str]:
    """Powertools' request validation errors, reshaped. Malformed JSON is a 400, a malformed path id
    a 404, the rest 422."""
    if any(error.get("type") == "json_invalid" for error in errors):
        return error_response(400, "malformed_json", "The request body is not valid JSON.")
    for error in errors:
        location = tuple(error.get("loc", ()))
        if location[:1] == ("path",):
            code, message = PATH_ID_NOT_FOUND.get(str(location[1:2][0]) if location[1:] else "", ("not_found", ""))
            return error_response(404, code, message or "There is no such resource.")
    problems = [
        {
            "location": ".".join(str(part) for part in error.get("loc", ())),
            "message": str(error.get("msg", "")),
            "type": str(error.get("type", "")),
        }
        for error in errors
    ]
    summary = "; ".join(f"{p['location']}: {p['message']}" for p in problems[:5])
    return error_response(422, "validation_error", f"The request is not valid: {summary}.", {"errors": problems})
