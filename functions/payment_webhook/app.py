"""Intuit webhooks (POST /webhooks/intuit): verify the signature on the raw body, queue the Payment events
of companies that sync payments and the Invoice and CreditMemo events of connected companies, answer 200
fast. Never logs the body or the signature.

401 for a missing or wrong signature (nothing queued); 200 for everything we will not use (malformed,
nested too deeply, unknown company or entity: a logged, counted skip, since Intuit would retry them
forever); 500 only when the queue or the table is really down, so that Intuit delivers the notification
again. Any delivery that reaches the function is answered within Intuit's 3 s: Lambda takes request
payloads up to 6 MB (API Gateway's own limit, 10 MB, is never reached), about 20,000 CloudEvents; they
are parsed in linear time and queued in chunks (qbosync.domain.events)."""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext

from qbosync import observability, wiring
from qbosync.api.errors import raw_error_response
from qbosync.api.events import exact_body, header
from qbosync.domain.events import QueueUnavailable
from qbosync.domain.webhooks import InvalidWebhookSignature

wiring.configure("payment_webhook")
logger, metrics = observability.logger, observability.metrics
MAX_LOGGED_SKIPS = 20

OK = {
    "statusCode": 200,
    "headers": {"Content-Type": "application/json"},
    "body": '{"ok":true}',
    "isBase64Encoded": False,
}


@observability.handler(correlation_id_path=correlation_paths.API_GATEWAY_HTTP, publish_metrics=True)
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    body = exact_body(event)
    if body is None:
        metrics.add_metric(name="WebhookRejected", unit=MetricUnit.Count, value=1)
        return raw_error_response(400, "malformed_body", "The request body is not valid base64.")
    try:
        outcome = wiring.webhook_service().receive(body, header(event, "intuit-signature"))
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
    # The skips in all, the reasons as a property of the same record (searchable in the logs), and once
    # per reason with a `reason` dimension (the dashboard's "events skipped by reason").
    metrics.add_metric(name="WebhookEventsSkipped", unit=MetricUnit.Count, value=sum(skipped.values()))
    if skipped:
        metrics.add_metadata(key="skipped_by_reason", value=skipped)
        observability.count_by("WebhookEventsSkipped", "reason", skipped)
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
        skips = [asdict(skip) for skip in outcome.skipped[:MAX_LOGGED_SKIPS]]  # ids only (domain.webhooks.Skip)
        logger.info("webhook events skipped", extra={"skips": skips})
    return OK
