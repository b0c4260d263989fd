"""Fixture handlers that share one Powertools logger, as the real functions do (test_logging.py)."""

from __future__ import annotations

import logging
import threading
from typing import Any

from aws_lambda_powertools import Logger

logger = Logger(service="fixture-logs")
work_log = logging.getLogger("fixture-logs.work")  # like qbosync.services.*: a child of the service's logger

COPY_STARTED = threading.Event()
WEBHOOK_DONE = threading.Event()


@logger.inject_lambda_context
def copy_handler(event: dict[str, Any], context: Any) -> str:
    logger.info("copy started")
    if event.get("wait_for_webhook"):
        COPY_STARTED.set()
        WEBHOOK_DONE.wait(timeout=5)
    work_log.info("invoice copied")
    return str(context.aws_request_id)


@logger.inject_lambda_context
def webhook_handler(event: dict[str, Any], context: Any) -> str:
    logger.info("webhook received")
    WEBHOOK_DONE.set()
    return str(context.aws_request_id)
