"""SQS: mirror QuickBooks payments into Productive, one entity event per message.

Powertools Batch reports partial failures: a message that fails (QuickBooks or Productive throttled or
down, another worker on the same payment, a malformed body) goes back to the queue alone and reaches
the dead-letter queue after the queue's maximum receives; the rest of the batch is unaffected."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord
from aws_lambda_powertools.utilities.typing import LambdaContext

from qbosync import wiring
from qbosync.domain.events import EntityEvent

logger = Logger(service="qbosync")
metrics = Metrics(namespace="qbosync")
processor = BatchProcessor(event_type=EventType.SQS)


def record_handler(record: SQSRecord) -> None:
    event = EntityEvent.model_validate_json(record.body)  # malformed: this record fails, alone
    report = wiring.payment_sync_service().handle(event)
    metrics.add_metric(name="PaymentsCreated", unit=MetricUnit.Count, value=report.created)
    metrics.add_metric(name="PaymentsUpdated", unit=MetricUnit.Count, value=report.updated)
    metrics.add_metric(name="PaymentsDeleted", unit=MetricUnit.Count, value=report.deleted)
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


@metrics.log_metrics
@logger.inject_lambda_context
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> Any:
    return process_partial_response(event=event, record_handler=record_handler, processor=processor, context=context)
