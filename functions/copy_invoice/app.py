"""App-facing copy routes: "Copy to QuickBooks" (create or update) and the copy history."""

from __future__ import annotations

from typing import Annotated, Any

from aws_lambda_powertools import Logger
from aws_lambda_powertools.event_handler import Response, content_types
from aws_lambda_powertools.event_handler.openapi.params import Header
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.idempotency import IdempotencyConfig, idempotent_function
from aws_lambda_powertools.utilities.typing import LambdaContext

from qbosync import wiring
from qbosync.api.docs import documented
from qbosync.api.models import CopyList, CopyRequestBody, CopyView
from qbosync.api.resolver import build_resolver, make_signature_check, register_idempotency_errors
from qbosync.services.copies import CopyRequest

logger = Logger(service="qbosync")
app = build_resolver()
register_idempotency_errors(app)
require_app_signature = make_signature_check(
    lambda force_fetch=False: wiring.app_secrets().signing_secrets(force_fetch=force_fetch)
)
# A repeated Idempotency-Key returns the first response for a day; the same key with another body is refused.
idempotency = IdempotencyConfig(
    event_key_jmespath="[connection_id, invoice_id, idempotency_key]",
    payload_validation_jmespath="body",
    expires_after_seconds=24 * 3600,
)


class _LazyStore:
    """Powertools wants the persistence layer at decoration time; ours is built on first use."""

    def __getattr__(self, name: str) -> Any:
        return getattr(wiring.idempotency_store(), name)


@idempotent_function(data_keyword_argument="request", config=idempotency, persistence_store=_LazyStore())  # type: ignore[arg-type,untyped-decorator]
def _copy_once(request: dict[str, Any]) -> dict[str, Any]:
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


@app.post(
    "/connections/<connection_id>/invoices/<invoice_id>/copies",
    responses=documented(201, "The copy (with warnings)", CopyView, (404, 409, 502, 503)),
)
def copy_invoice(
    connection_id: str,
    invoice_id: str,
    body: CopyRequestBody,
    idempotency_key: Annotated[str | None, Header(alias="idempotency-key", max_length=200)] = None,
) -> Response[CopyView]:
    request = {"connection_id": connection_id, "invoice_id": invoice_id, "body": body.model_dump(mode="json")}
    if idempotency_key:
        idempotency.register_lambda_context(app.lambda_context)
        result = _copy_once(request={**request, "idempotency_key": idempotency_key})
    else:
        result = _copy_once.__wrapped__(request=request)
    logger.info("invoice copied", extra={"connection_id": connection_id, "invoice_id": invoice_id})
    return Response(status_code=201, content_type=content_types.APPLICATION_JSON, body=CopyView.model_validate(result))


@app.get(
    "/connections/<connection_id>/invoices/<invoice_id>/copies",
    responses=documented(200, "Copies of the invoice, newest first", CopyList, (404,)),
)
def list_copies(connection_id: str, invoice_id: str) -> CopyList:
    records = wiring.copy_service().history(connection_id, invoice_id)
    return CopyList(items=[CopyView.of(record) for record in records])


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_HTTP)
@require_app_signature
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return app.resolve(event, context)
