"""The payment events queue (SQS): entity events as JSON message bodies, sent ten at a time."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Sequence
from typing import Any

from qbosync.domain.events import EntityEvent
from qbosync.domain.webhooks import QueueUnavailable

logger = logging.getLogger("qbosync.adapters.sqs")

MAX_BATCH = 10  # SendMessageBatch's limit
ATTEMPTS = 3  # per chunk: the first send and two retries of what was rejected
BACKOFF_SECONDS = (0.05, 0.2)


class SqsEventQueue:
    """`send()` uses SendMessageBatch in chunks of ten; entries SQS rejects are sent again (with a short
    backoff) and a chunk that still fails raises QueueUnavailable, so the caller can ask for a redelivery."""

    def __init__(self, client: Any, queue_url: str, *, sleep: Callable[[float], None] = time.sleep) -> None:
        self._client = client
        self._queue_url = queue_url
        self._sleep = sleep

    def send(self, events: Sequence[EntityEvent]) -> None:
        for start in range(0, len(events), MAX_BATCH):
            self._send_chunk(events[start : start + MAX_BATCH])

    def _send_chunk(self, chunk: Sequence[EntityEvent]) -> None:
        pending = {str(index): event for index, event in enumerate(chunk)}
        problem = ""
        for attempt in range(ATTEMPTS):
            if attempt:
                self._sleep(BACKOFF_SECONDS[min(attempt, len(BACKOFF_SECONDS)) - 1])
            try:
                answer = self._client.send_message_batch(
                    QueueUrl=self._queue_url,
                    Entries=[
                        {"Id": entry_id, "MessageBody": event.model_dump_json()} for entry_id, event in pending.items()
                    ],
                )
            except Exception as error:  # botocore ClientError, endpoint and connection errors alike
                problem = type(error).__name__
                logger.warning("SendMessageBatch failed", extra={"error_class": problem, "attempt": attempt + 1})
                continue
            failed = answer.get("Failed") or []
            if not failed:
                return
            codes = sorted({str(entry.get("Code", "")) for entry in failed})
            problem = ",".join(codes)
            logger.warning(
                "SendMessageBatch rejected entries",
                extra={"rejected": len(failed), "codes": codes, "attempt": attempt + 1},
            )
            if any(entry.get("SenderFault") for entry in failed):  # our fault: a retry cannot help
                break
            retry = {str(entry.get("Id")) for entry in failed}
            if not retry <= set(pending):  # an answer about entries we did not send: trust nothing
                break
            pending = {entry_id: pending[entry_id] for entry_id in sorted(retry)}
        raise QueueUnavailable(
            "The payment events queue did not accept every event.", details={"problem": problem, "events": len(pending)}
        )

    def publish(self, events: Sequence[EntityEvent]) -> None:
        """The same as send() (the name reconcile's EventPublisher port uses)."""
        self.send(events)
