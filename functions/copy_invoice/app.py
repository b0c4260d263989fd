"""App-facing copy routes: "Copy to QuickBooks" (create or update) and the copy history."""

from __future__ import annotations

from collections.abc import Callable
from functools import cache
from typing import Any, cast

from aws_lambda_powertools import Logger
from aws_lambda_powertools.event_handler import Response, content_types
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.typing import LambdaContext

from qbosync import wiring
from qbosync.api.docs import documented
from qbosync.api.models import (
    ConnectionIdPath,
    CopyList,
    CopyRequestBody,
    CopyView,
    IdempotencyKeyHeader,
    InvoiceIdPath,
)
from qbosync.api.replay import ReplayGuard
from qbosync.api.resolver import build_resolver, make_signature_check
from qbosync.domain.copies import CopyRequest
from qbosync.domain.errors import Conflict, InvalidInput

logger = Logger(service="qbosync")
app = build_resolver(reject_unknown_query=True)
require_app_signature = make_signature_check(
    lambda force_fetch=False: wiring.app_secrets().signing_secrets(force_fetch=force_fetch),
    # A copy that carries an Idempotency-Key (signed) is kept once by its key record below.
    replay_guard=ReplayGuard(
        wiring.replay_store, keyed_routes={"POST /connections/{connection_id}/invoices/{invoice_id}/copies"}
    ),
)


def _copy(request: dict[str, Any]) -> dict[str, Any]:
    body = request["body"]
    record = wiring.copy_service().copy(
        CopyRequest(
            connection_id=request["connection_id"],
            invoice_id=request["invoice_id"],
            customer_id=body.get("customer_id"),
            tax_code_id=body.get("tax_code_id"),
            mode=body.get("mode", "update"),
        )
    )
    return CopyView.of(record).model_dump(mode="json")


@cache
def _idempotent_copy() -> tuple[Any, Callable[..., dict[str, Any]]]:
    """Powertools Idempotency around the copy, built on first use (it imports boto3): a repeated
    Idempotency-Key returns the first response for a day; the same key with another body is refused."""
    from aws_lambda_powertools.utilities.idempotency import IdempotencyConfig, idempotent_function

    config = IdempotencyConfig(
        event_key_jmespath="[connection_id, invoice_id, idempotency_key]",
        payload_validation_jmespath="body",
        expires_after_seconds=24 * 3600,
    )
    decorate = idempotent_function(
        data_keyword_argument="request", config=config, persistence_store=wiring.idempotency_store()
    )
    return config, cast(Callable[..., dict[str, Any]], decorate(_copy))


def _copy_once(request: dict[str, Any], idempotency_key: str) -> dict[str, Any]:
    from aws_lambda_powertools.utilities.idempotency.exceptions import (
        IdempotencyAlreadyInProgressError,
        IdempotencyValidationError,
    )

    config, copy = _idempotent_copy()
    # In-progress records expire with this invocation, so a crashed attempt does not block retries.
    config.register_lambda_context(app.lambda_context)
    try:
        return copy(request={**request, "idempotency_key": idempotency_key})
    except IdempotencyAlreadyInProgressError:
        raise Conflict(
            "A request with this Idempotency-Key is still running; retry in a moment.",
            code="request_in_progress",
            details={"retry_after_seconds": 2},
        ) from None
    except IdempotencyValidationError:
        raise InvalidInput(
            "This Idempotency-Key was already used with a different request body.", code="idempotency_key_reused"
        ) from None


@app.post(
    "/connections/<connection_id>/invoices/<invoice_id>/copies",
    responses=documented(201, "The copy (with warnings)", CopyView, (404, 409, 502, 503), write=True),
)
def copy_invoice(
    connection_id: ConnectionIdPath,
    invoice_id: InvoiceIdPath,
    body: CopyRequestBody,
    idempotency_key: IdempotencyKeyHeader = None,
) -> Response[CopyView]:
    request = {"connection_id": connection_id, "invoice_id": invoice_id, "body": body.model_dump(mode="json")}
    result = _copy_once(request, idempotency_key) if idempotency_key else _copy(request)
    logger.info("invoice copied", extra={"connection_id": connection_id, "invoice_id": invoice_id})
    return Response(status_code=201, content_type=content_types.APPLICATION_JSON, body=CopyView.model_validate(result))


@app.get(
    "/connections/<connection_id>/invoices/<invoice_id>/copies",
    responses=documented(200, "Copies of the invoice, newest first", CopyList, (404,)),
)
def list_copies(connection_id: ConnectionIdPath, invoice_id: InvoiceIdPath) -> CopyList:
    records = wiring.copy_service().history(connection_id, invoice_id)
    return CopyList(items=[CopyView.of(record) for record in records])


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_HTTP)
@require_app_signature
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return app.resolve(event, context)
