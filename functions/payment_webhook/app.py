"""Intuit webhooks (POST /webhooks/intuit): verify the signature on the raw body, queue the Payment and
Invoice events of companies that sync payments, answer 200 fast. Never logs the body or the signature.

401 for a missing or wrong signature (nothing queued); 200 for everything we will not use (malformed,
nested too deeply, unknown company or entity: a logged, counted skip, since Intuit would retry them
forever); 500 only when the queue or the table is really down, so that Intuit delivers the notification
again. Any delivery that reaches the function is answered within Intuit's 3 s: Lambda takes request
payloads up to 6 MB (API Gateway's own limit, 10 MB, is never reached), about 20,000 CloudEvents; they
are parsed in linear time and queued in chunks (qbosync.domain.events)."""

from __future__ import annotations

import base64
import binascii
from typing import Any

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext

from qbosync import wiring
from qbosync.api.errors import raw_error_response
from qbosync.domain.events import QueueUnavailable
from qbosync.domain.webhooks import InvalidWebhookSignature

logger = Logger(service="qbosync")
metrics = Metrics()
MAX_LOGGED_SKIPS = 20

OK = {
    "statusCode": 200,
    "headers": {"Content-Type": "application/json"},
    "body": '{"ok":true}',
    "isBase64Encoded": False,
}


def _raw_body(event: dict[str, Any]) -> bytes | None:
    body = event.get("body") or ""
    if not event.get("isBase64Encoded"):
        return str(body).encode("utf-8", "surrogatepass")  # whatever it holds, the signature decides
    try:
        return base64.b64decode(body, validate=True)
    except (binascii.Error, ValueError):
        return None


def _header(event: dict[str, Any], name: str) -> str | None:
    for key, value in (event.get("headers") or {}).items():
        if key.lower() == name:
            return str(value)
    return None


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_HTTP)
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    body = _raw_body(event)
    if body is None:
        metrics.add_metric(name="WebhookRejected", unit=MetricUnit.Count, value=1)
        return raw_error_response(400, "malformed_body", "The request body is not valid base64.")
    try:
        outcome = wiring.webhook_service().receive(body, _header(event, "intuit-signature"))
    except InvalidWebhookSignature as error:
        logger.warning("webhook refused", extra={"reason": error.message})
        metrics.add_metric(name="WebhookRejected", unit=MetricUnit.Count, value=1)
        return raw_error_response(401, error.code, error.message)
    except QueueUnavailable as error:
        logger.exception("payment events queue unavailable; Intuit will redeliver", extra=error.details)
        metrics.add_metric(name="WebhookQueueFailures", unit=MetricUnit.Count, value=1)
        return raw_error_response(500, error.code, "The events could not be queued; please deliver them again.")
    except Exception as error:
        logger.exception("webhook failed", extra={"error_class": type(error).__name__})
        metrics.add_metric(name="WebhookFailures", unit=MetricUnit.Count, value=1)
        return raw_error_response(500, "internal_error", "Something went wrong on our side; it has been logged.")

    metrics.add_metric(name="WebhookEventsQueued", unit=MetricUnit.Count, value=len(outcome.queued))
    skipped = outcome.skipped_by_reason()
    # One metric for the skips, the reasons as a property of the same record (counted, searchable).
    metrics.add_metric(name="WebhookEventsSkipped", unit=MetricUnit.Count, value=sum(skipped.values()))
    if skipped:
        metrics.add_metadata(key="skipped_by_reason", value=skipped)
    logger.info(
        "webhook received",
        extra={
            "format": outcome.format,
            "queued": len(outcome.queued),
            "skipped": skipped,
            "unchecked_realms": outcome.unchecked_realms,
            "queued_events": [f"{e.realm_id}/{e.entity}/{e.entity_id}/{e.operation}" for e in outcome.queued[:50]],
        },
    )
    if outcome.skipped:
        logger.info(
            "webhook events skipped",
            extra={
                "skips": [
                    {
                        "reason": skip.reason,
                        "detail": skip.detail,
                        "realm_id": skip.realm_id,
                        "entity": skip.entity,
                        "entity_id": skip.entity_id,
                    }
                    for skip in outcome.skipped[:MAX_LOGGED_SKIPS]
                ]
            },
        )
    return OK
