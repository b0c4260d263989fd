"""Each invocation's log lines carry its own function name and request id, although all handlers of
the local stack share one process and one Powertools logger."""

from __future__ import annotations

import json
import logging
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from local.gateway import LocalGateway
from local.template import REPO_ROOT

TEMPLATE = """\
Transform: AWS::Serverless-2016-10-31
Resources:
  CopyFunction:
    Type: AWS::Serverless::Function
    Properties: {CodeUri: tests/local/fixture_app/, Handler: logs.copy_handler, Runtime: python3.13, Timeout: 10}
  WebhookFunction:
    Type: AWS::Serverless::Function
    Properties: {CodeUri: tests/local/fixture_app/, Handler: logs.webhook_handler, Runtime: python3.13, Timeout: 10}
"""


class FormattedLines(logging.Handler):
    """The JSON lines Powertools would print, formatted when logged (its keys are read then)."""

    def __init__(self, formatter: logging.Formatter | None) -> None:
        super().__init__(level=logging.DEBUG)
        self.setFormatter(formatter)
        self.lines: list[dict[str, Any]] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(json.loads(self.format(record)))


def test_each_invocation_logs_under_its_own_function_name(tmp_path: Path) -> None:
    template = tmp_path / "template.yaml"
    template.write_text(TEMPLATE)
    # No cold start: other tests of this process may still hold the modules a cold start drops.
    with LocalGateway(template, code_root=REPO_ROOT, cold_start=False) as gateway:
        fixture = sys.modules[gateway.handler("CopyFunction").__module__]
        fixture.COPY_STARTED.clear()
        fixture.WEBHOOK_DONE.clear()
        service_logger = logging.getLogger("fixture-logs")
        capture = FormattedLines(service_logger.handlers[0].formatter)
        service_logger.addHandler(capture)
        try:
            with ThreadPoolExecutor(max_workers=1) as pool:
                copying = pool.submit(gateway.invoke, "CopyFunction", {"wait_for_webhook": True})
                assert fixture.COPY_STARTED.wait(timeout=5)
                webhook_request = gateway.invoke("WebhookFunction", {})  # while the copy runs
                copy_request = copying.result(timeout=10)
            second_copy_request = gateway.invoke("CopyFunction", {})  # and one after the other
        finally:
            service_logger.removeHandler(capture)

    seen = [(line["message"], line["function_name"], line["function_request_id"]) for line in capture.lines]
    assert seen == [
        ("copy started", "CopyFunction", copy_request),
        ("webhook received", "WebhookFunction", webhook_request),
        ("invoice copied", "CopyFunction", copy_request),
        ("copy started", "CopyFunction", second_copy_request),
        ("invoice copied", "CopyFunction", second_copy_request),
    ]
    assert len({copy_request, webhook_request, second_copy_request}) == 3
