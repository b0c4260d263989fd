"""SQS: mirror QuickBooks payments into Productive. A message is a chunk of entity events (or, queued
before chunks, a single event); each event is handled on its own (qbosync.services.payment_sync).

Powertools Batch reports partial failures: a message whose events all fail (QuickBooks or Productive
throttled or down, another worker on the same payment, an unreadable event or message) goes back to the
queue alone and reaches the dead-letter queue after the queue's maximum receives; the rest of the batch is
unaffected. A message with some events done sends what is left back to the queue as a smaller chunk."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord
from aws_lambda_powertools.utilities.typing import LambdaContext

from qbosync import observability, wiring
from qbosync.domain.events import Budget, ChunkFailed, decode_message

wiring.configure("payment_sync")
logger, metrics = observability.logger, observability.metrics
processor = BatchProcessor(event_type=EventType.SQS)


def record_handler(record: SQSRecord, budget: Budget) -> None:
    items = decode_message(record.body)  # neither a chunk nor an event: this record fails, alone
    try:
        outcome = wiring.payment_event_worker().handle_message(items, budget)
    except ChunkFailed as error:
        logger.warning(
            "payment events failed; the message comes back", extra={"message_id": record.message_id, **error.details}
        )
        raise
    reports = [report for _, report in outcome.handled]
    metrics.add_metric(name="PaymentsCreated", unit=MetricUnit.Count, value=sum(r.created for r in reports))
    metrics.add_metric(name="PaymentsUpdated", unit=MetricUnit.Count, value=sum(r.updated for r in reports))
    metrics.add_metric(name="PaymentsDeleted", unit=MetricUnit.Count, value=sum(r.deleted for r in reports))
    now = wiring.clock.now()
    for event, report in outcome.handled:
        if report.created or report.updated or report.deleted:
            # From the change in QuickBooks to Productive agreeing: webhook delay, queue, retries, our work.
            lag_ms = max((now - event.occurred_at).total_seconds() * 1000, 0.0)
            metrics.add_metric(name="PaymentEndToEndLag", unit=MetricUnit.Milliseconds, value=lag_ms)
    for event, report in outcome.handled:
        logger.info(
            "payment event handled",
            extra={
                "realm_id": event.realm_id,
                "entity": event.entity,
                "entity_id": event.entity_id,
                "operation": event.operation,
                "source": event.source,
                "payments_created": report.created,
                "payments_updated": report.updated,
                "payments_deleted": report.deleted,
                "payments_adopted": report.adopted,
                "payments_unchanged": report.unchanged,
                "skipped": report.skipped,
            },
        )
    if outcome.requeued:
        metrics.add_metric(name="PaymentEventsRequeued", unit=MetricUnit.Count, value=outcome.requeued)
        logger.info(
            "payment events queued again",
            extra={
                "message_id": record.message_id,
                "handled": len(outcome.handled),
                "failed": [reason for _, reason in outcome.failed],
                "not_started": len(outcome.not_started),
            },
        )


@observability.handler(publish_metrics=True)
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> Any:
    budget = Budget(lambda: context.get_remaining_time_in_millis() / 1000)
    return process_partial_response(
        event=event,
        record_handler=lambda record: record_handler(record, budget),
        processor=processor,
        context=context,
    )
