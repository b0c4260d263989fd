"""OpenAPI response documentation for the routes: the success status and model, and the error
statuses a route can answer, all in the one error shape."""

from __future__ import annotations

from typing import Any

from qbosync.api.models import ErrorBody

ERRORS = {
    400: "The body is not valid JSON (malformed_json): not UTF-8, not JSON, or nested too deeply.",
    401: "The request signature is missing, wrong or older than 300 s.",
    404: "No such connection (or invoice). A path id that does not match its pattern is answered the same way.",
    409: "The connection is not connected, the request conflicts with QuickBooks' data, or the same signed "
    "request (or Idempotency-Key) is still running (request_in_progress; retry after Retry-After seconds).",
    413: "The body is too large.",
    415: "The body is not sent as Content-Type: application/json (a body without a Content-Type included).",
    422: "The request is not valid (the message names the fields), or QuickBooks refused the data.",
    502: "QuickBooks or Productive answered with an error of their own.",
    503: "QuickBooks or Productive is unavailable or throttling; retry after Retry-After seconds.",
}
SIGNED = (400, 401, 413, 415, 422)
# A signed write seen again while the first is running is a 409; recording it may be unavailable (503).
WRITES = (409, 503)


def documented(
    status: int, description: str, model: Any = None, errors: tuple[int, ...] = (), *, write: bool = False
) -> dict[int, Any]:
    success: dict[str, Any] = {"description": description}
    if model is not None:
        success["content"] = {"application/json": {"model": model}}
    responses: dict[int, Any] = {status: success}
    for code in sorted({*SIGNED, *errors, *(WRITES if write else ())}):
        responses[code] = {"description": ERRORS[code], "content": {"application/json": {"model": ErrorBody}}}
    return responses
