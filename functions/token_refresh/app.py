"""Scheduled: refresh every connection whose tokens are due (flagging those Intuit will not refresh),
then send the reconnect warnings that are due (docs/architecture.md "Connection health")."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext

from qbosync import observability, wiring
from qbosync.domain.health import ReconnectWarning

wiring.configure("token_refresh")
logger, metrics = observability.logger, observability.metrics


@observability.handler(publish_metrics=True)
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, int]:
    report = wiring.token_service().refresh_due()
    metrics.add_metric(name="TokensRefreshed", unit=MetricUnit.Count, value=len(report.refreshed))
    metrics.add_metric(name="TokenRefreshFailures", unit=MetricUnit.Count, value=len(report.failed))
    for connection_id in report.needs_reconnect:
        logger.warning("connection needs reconnect", extra={"connection_id": connection_id})

    warnings = wiring.reconnect_warning_service().run()
    metrics.add_metric(name="ReconnectWarningsSent", unit=MetricUnit.Count, value=len(warnings.sent))
    metrics.add_metric(name="ReconnectWarningsFailed", unit=MetricUnit.Count, value=len(warnings.failed))
    metrics.add_metric(name="ReconnectWarningsNotSent", unit=MetricUnit.Count, value=len(warnings.unsent))
    for warning in warnings.sent:
        logger.info("reconnect warning sent", extra=_described(warning))
    for warning in warnings.failed:
        logger.warning("reconnect warning not delivered; the next run tries again", extra=_described(warning))
    for warning in warnings.unsent:
        logger.warning("reconnect warning not sent: NOTIFY_URL is not set", extra=_described(warning))

    summary = {
        "refreshed": len(report.refreshed),
        "needs_reconnect": len(report.needs_reconnect),
        "failed": len(report.failed),
        "warnings_sent": len(warnings.sent),
        "warnings_failed": len(warnings.failed),
        "warnings_not_sent": len(warnings.unsent),
    }
    logger.info("token refresh run", extra=summary)
    return summary


def _described(warning: ReconnectWarning) -> dict[str, Any]:
    return {
        "connection_id": warning.connection_id,
        "reason": warning.reason,
        "days_left": warning.days_left,
        "reconnect_required_by": str(warning.reconnect_required_by) if warning.reconnect_required_by else None,
    }
