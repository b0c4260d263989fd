"""SQS: the bulk copy worker. A message names one copy job; the worker copies what is pending of it
until its time runs short, then queues the job again (qbosync.services.copy_jobs).

Powertools Batch reports partial failures: a message whose job could not go on (QuickBooks or Productive
down, a batch request left unanswered) comes back alone, and the next receive re-sends that batch
exactly; after the queue's maximum receives it goes to the dead-letter queue."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord
from aws_lambda_powertools.utilities.typing import LambdaContext

from qbosync import observability, wiring
from qbosync.domain.copy_jobs import decode_job_message

wiring.configure("copy_jobs")
logger, metrics = observability.logger, observability.metrics
processor = BatchProcessor(event_type=EventType.SQS)


def record_handler(record: SQSRecord, context: LambdaContext) -> None:
    connection_id, job_id = decode_job_message(record.body)  # not a job message: this record fails, alone
    report = wiring.copy_job_worker().run(connection_id, job_id, lambda: context.get_remaining_time_in_millis() / 1000)
    metrics.add_metric(name="JobInvoicesCopied", unit=MetricUnit.Count, value=report.copied)
    metrics.add_metric(name="JobInvoicesFailed", unit=MetricUnit.Count, value=report.failed)
    logger.info(
        "copy job worked on",
        extra={
            "connection_id": connection_id,
            "job_id": job_id,
            "copied": report.copied,
            "failed": report.failed,
            "deferred": len(report.deferred),
            "batches": report.batches,
            "requeued": report.requeued,
            "done": report.done,
        },
    )


@observability.handler(publish_metrics=True)
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> Any:
    return process_partial_response(
        event=event,
        record_handler=lambda record: record_handler(record, context),
        processor=processor,
        context=context,
    )
