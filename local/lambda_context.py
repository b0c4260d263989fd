"""The `context` Lambda passes to a handler, locally. Standard library only: bench/first_invocation.py
builds one in a fresh process before it starts measuring a handler's import."""

from __future__ import annotations

import secrets
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime


@dataclass
class LambdaContext:
    """What Lambda passes as `context` (the attributes Powertools and handlers read)."""

    function_name: str
    memory_limit_in_mb: int
    invoked_function_arn: str
    aws_request_id: str
    timeout_seconds: float
    function_version: str = "$LATEST"
    log_group_name: str = ""
    log_stream_name: str = ""
    _deadline: float = field(default=0.0, repr=False)

    def __post_init__(self) -> None:
        self.log_group_name = self.log_group_name or f"/aws/lambda/{self.function_name}"
        self.log_stream_name = self.log_stream_name or (
            f"{datetime.now(UTC):%Y/%m/%d}/[$LATEST]{secrets.token_hex(16)}"
        )
        self.start_clock()

    def start_clock(self) -> None:
        """The invocation starts now: the remaining time counts down from the Timeout."""
        self._deadline = time.monotonic() + self.timeout_seconds

    def get_remaining_time_in_millis(self) -> int:
        return max(0, int((self._deadline - time.monotonic()) * 1000))
