"""Scheduled: refresh every connection whose tokens are due; flag those Intuit will not refresh."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext

from qbosync import observability, wiring

wiring.configure("token_refresh")
logger, metrics = observability.logger, observability.metrics


@observability.handler(publish_metrics=True)
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, int]:
    report = wiring.token_service().refresh_due()
    metrics.add_metric(name="TokensRefreshed", unit=MetricUnit.Count, value=len(report.refreshed))
    metrics.add_metric(name="ConnectionsNeedReconnect", unit=MetricUnit.Count, value=len(report.needs_reconnect))
    metrics.add_metric(name="TokenRefreshFailures", unit=MetricUnit.Count, value=len(report.failed))
    for connection_id in report.needs_reconnect:
        logger.warning("connection needs reconnect", extra={"connection_id": connection_id})
    for connection_id in report.hard_expiry_soon:
        logger.warning("refresh token reaches its 5-year limit soon", extra={"connection_id": connection_id})
    summary = {
        "refreshed": len(report.refreshed),
        "needs_reconnect": len(report.needs_reconnect),
        "failed": len(report.failed),
        "hard_expiry_soon": len(report.hard_expiry_soon),
    }
    logger.info("token refresh run", extra=summary)
    return summary
