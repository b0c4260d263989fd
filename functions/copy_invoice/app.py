"""App-facing copy routes: "Copy to QuickBooks" (create or update), the copy history, the copies that
need a human, and bulk copy jobs (taken in here, copied by functions/copy_jobs)."""

from __future__ import annotations

import time
from typing import Any

from aws_lambda_powertools.event_handler import Response, content_types
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext

from qbosync import observability, wiring
from qbosync.api.docs import documented
from qbosync.api.errors import status_for
from qbosync.api.idempotency import IdempotencyKeyed
from qbosync.api.models import (
    AttentionList,
    AttentionView,
    ConnectionIdPath,
    CopyJobAccepted,
    CopyJobList,
    CopyJobRequestBody,
    CopyJobSummaryView,
    CopyJobView,
    CopyList,
    CopyRequestBody,
    CopyView,
    IdempotencyKeyHeader,
    InvoiceIdPath,
    JobIdPath,
)
from qbosync.api.replay import ReplayGuard
from qbosync.api.resolver import build_resolver, make_signature_check
from qbosync.domain.copies import CopyRequest
from qbosync.domain.errors import DomainError

wiring.configure("copy_invoice")
logger, metrics = observability.logger, observability.metrics
app = build_resolver(reject_unknown_query=True)
require_app_signature = make_signature_check(
    wiring.signing_secrets,
    # A copy that carries an Idempotency-Key (signed) is kept once by its key record below.
    replay_guard=ReplayGuard(
        wiring.replay_store,
        keyed_routes={
            "POST /connections/{connection_id}/invoices/{invoice_id}/copies",
            "POST /connections/{connection_id}/copy-jobs",
        },
    ),
)


def _copy(request: dict[str, Any]) -> dict[str, Any]:
    """The copy itself; its Idempotency-Key records are named after this function (keep it here)."""
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


_copy_once = IdempotencyKeyed(
    _copy,
    wiring.idempotency_store,
    key_jmespath="[connection_id, invoice_id, idempotency_key]",
    body_jmespath="body",
)


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
    started = time.perf_counter()
    try:
        result = _copy_once(request, idempotency_key, app.lambda_context) if idempotency_key else _copy(request)
    except Exception as error:
        # Copies by outcome (docs/runbook.md "CopyErrorRateAlarm"): a refusal (4xx) is the user's to fix,
        # a failure (5xx: QuickBooks or Productive down, a defect) is ours.
        refused = isinstance(error, DomainError) and status_for(error) < 500
        metrics.add_metric(name="CopiesRefused" if refused else "CopiesFailed", unit=MetricUnit.Count, value=1)
        raise
    metrics.add_metric(
        name="CopiesCreated" if result["mode"] == "create" else "CopiesUpdated", unit=MetricUnit.Count, value=1
    )
    elapsed_ms = (time.perf_counter() - started) * 1000
    metrics.add_metric(name="CopyLatency", unit=MetricUnit.Milliseconds, value=elapsed_ms)
    logger.info("invoice copied", extra={"connection_id": connection_id, "invoice_id": invoice_id})
    return Response(status_code=201, content_type=content_types.APPLICATION_JSON, body=CopyView.model_validate(result))


@app.get(
    "/connections/<connection_id>/invoices/<invoice_id>/copies",
    responses=documented(200, "Copies of the invoice, newest first", CopyList, (404,)),
)
def list_copies(connection_id: ConnectionIdPath, invoice_id: InvoiceIdPath) -> CopyList:
    records = wiring.copy_service().history(connection_id, invoice_id)
    return CopyList(items=[CopyView.of(record) for record in records])


@app.get(
    "/connections/<connection_id>/attention",
    responses=documented(
        200,
        "Copies voided, deleted, changed or credited in QuickBooks, or with a total mismatch",
        AttentionList,
        (404,),
    ),
)
def list_attention(connection_id: ConnectionIdPath) -> AttentionList:
    items = wiring.attention_service().list(connection_id)
    return AttentionList(items=[AttentionView.of(item) for item in items])


def _submit_job(request: dict[str, Any]) -> dict[str, Any]:
    """A new copy job; its Idempotency-Key records are named after this function (keep it here)."""
    body = request["body"]
    job = wiring.copy_job_service().submit(
        request["connection_id"], body["invoice_ids"], body.get("mode", "update"), request.get("idempotency_key")
    )
    return CopyJobAccepted.of(job).model_dump(mode="json")


_submit_job_once = IdempotencyKeyed(
    _submit_job,
    wiring.idempotency_store,
    key_jmespath="[connection_id, idempotency_key]",
    body_jmespath="body",
)


@app.post(
    "/connections/<connection_id>/copy-jobs",
    responses=documented(202, "The job, queued", CopyJobAccepted, (404, 409, 422), write=True),
)
def submit_copy_job(
    connection_id: ConnectionIdPath,
    body: CopyJobRequestBody,
    idempotency_key: IdempotencyKeyHeader = None,
) -> Response[CopyJobAccepted]:
    request = {"connection_id": connection_id, "body": body.model_dump(mode="json"), "idempotency_key": idempotency_key}
    result = _submit_job_once(request, idempotency_key, app.lambda_context) if idempotency_key else _submit_job(request)
    logger.info("copy job submitted", extra={"connection_id": connection_id, "job_id": result["job_id"]})
    return Response(
        status_code=202, content_type=content_types.APPLICATION_JSON, body=CopyJobAccepted.model_validate(result)
    )


@app.get(
    "/connections/<connection_id>/copy-jobs",
    responses=documented(200, "The connection's recent copy jobs, newest first, without items", CopyJobList, (404,)),
)
def list_copy_jobs(connection_id: ConnectionIdPath) -> CopyJobList:
    jobs = wiring.copy_job_service().recent(connection_id)
    return CopyJobList(items=[CopyJobSummaryView.of(job) for job in jobs])


@app.get(
    "/connections/<connection_id>/copy-jobs/<job_id>",
    responses=documented(200, "The job with its items: progress, copies and errors", CopyJobView, (404,)),
)
def get_copy_job(connection_id: ConnectionIdPath, job_id: JobIdPath) -> CopyJobView:
    return CopyJobView.of(wiring.copy_job_service().get(connection_id, job_id))


@observability.handler(correlation_id_path=correlation_paths.API_GATEWAY_HTTP, publish_metrics=True)
@require_app_signature
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return app.resolve(event, context)
