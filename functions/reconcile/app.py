"""Scheduled: Change Data Capture per connected company (payments only where payment sync is on); what
changed goes to the payment events queue, and each company's cursor moves only after the queue accepted it."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext

from qbosync import observability, wiring

wiring.configure("reconcile")
logger, metrics = observability.logger, observability.metrics


@observability.handler(publish_metrics=True)
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    report = wiring.reconcile_service().run()
    # One per finished run: ReconcileNotRunAlarm goes off when none came for 7 hours (docs/runbook.md).
    metrics.add_metric(name="ReconcileRuns", unit=MetricUnit.Count, value=1)
    metrics.add_metric(name="ReconcileEventsQueued", unit=MetricUnit.Count, value=report.queued)
    metrics.add_metric(name="ReconcileCompaniesFailed", unit=MetricUnit.Count, value=len(report.failed))
    # Every 6 hours, how many connections have each status (the dashboard's "connections by status").
    observability.count_by("Connections", "status", wiring.reconcile_service().connections_by_status())
    summary = {
        "companies": len(report.swept),
        "queued": report.queued,
        "cdc_calls": sum(sweep.cdc_calls for sweep in report.swept),
        "failed": report.failed,
    }
    logger.info("reconcile run", extra=summary)
    return summary
