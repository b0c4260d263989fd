"""The queues (SQS). Payment events: entity events in chunks, one chunk per message (the format is in
qbosync.domain.events), sent with SendMessageBatch; the batches of a large delivery go out in parallel.
Copy jobs: one message per job (qbosync.domain.copy_jobs)."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from botocore.exceptions import ClientError

from qbosync.domain.copy_jobs import encode_job_message
from qbosync.domain.events import MAX_MESSAGE_BYTES, QueuedItem, QueueUnavailable, encode_chunks

logger = logging.getLogger("qbosync.adapters.sqs")

MAX_BATCH = 10  # SendMessageBatch's limit of entries; together they may hold MAX_MESSAGE_BYTES
ATTEMPTS = 3  # per batch: the first send and two retries of what was rejected
BACKOFF_SECONDS = (0.05, 0.2)
PARALLEL_BATCHES = 8  # below botocore's default pool of 10 connections per client


def batches(bodies: Sequence[str]) -> list[list[str]]:
    """Message bodies grouped for SendMessageBatch: at most ten, and at most 256 KiB together."""
    grouped: list[list[str]] = []
    current: list[str] = []
    size = 0
    for body in bodies:
        body_size = len(body.encode("utf-8"))
        if current and (len(current) >= MAX_BATCH or size + body_size > MAX_MESSAGE_BYTES):
            grouped.append(current)
            current, size = [], 0
        current.append(body)
        size += body_size
    if current:
        grouped.append(current)
    return grouped


class SqsEventQueue:
    """The EventQueue port (qbosync.domain.events). `send()` queues events in chunks, ten chunks per
    SendMessageBatch; entries SQS rejects are sent again (with a short backoff) and a batch that still
    fails raises QueueUnavailable once every batch has been tried, so the caller can ask for a
    redelivery."""

    def __init__(
        self,
        client: Any,
        queue_url: str,
        *,
        sleep: Callable[[float], None] = time.sleep,
        parallel_batches: int = PARALLEL_BATCHES,
    ) -> None:
        self._client = client
        self._queue_url = queue_url
        self._sleep = sleep
        self._parallel_batches = parallel_batches

    def send(self, events: Sequence[QueuedItem], *, delay_seconds: int = 0) -> None:
        grouped = batches(encode_chunks(events))
        if len(grouped) <= 1 or self._parallel_batches <= 1:
            problems = [self._try_batch(batch, delay_seconds) for batch in grouped]
        else:
            with ThreadPoolExecutor(max_workers=min(self._parallel_batches, len(grouped))) as pool:
                problems = list(pool.map(lambda batch: self._try_batch(batch, delay_seconds), grouped))
        failed = [problem for problem in problems if problem is not None]
        if failed:
            raise QueueUnavailable(
                "The payment events queue did not accept every event.",
                details={
                    "problem": ",".join(sorted({problem for problem, _ in failed})),
                    "messages": sum(count for _, count in failed),
                },
            )

    def _try_batch(self, bodies: list[str], delay_seconds: int) -> tuple[str, int] | None:
        """None once SQS took every message of the batch; else (what went wrong, messages not taken)."""
        pending = {str(index): body for index, body in enumerate(bodies)}
        delay: dict[str, Any] = {"DelaySeconds": delay_seconds} if delay_seconds else {}
        problem = ""
        for attempt in range(ATTEMPTS):
            if attempt:
                self._sleep(BACKOFF_SECONDS[min(attempt, len(BACKOFF_SECONDS)) - 1])
            entries = [{"Id": entry_id, "MessageBody": body, **delay} for entry_id, body in pending.items()]
            try:
                answer = self._client.send_message_batch(QueueUrl=self._queue_url, Entries=entries)
            except Exception as error:  # botocore ClientError, endpoint and connection errors alike
                problem = type(error).__name__
                logger.warning("SendMessageBatch failed", extra={"error_class": problem, "attempt": attempt + 1})
                continue
            failed = answer.get("Failed") or []
            if not failed:
                return None
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
        return problem, len(pending)


class SqsCopyJobQueue:
    """The CopyJobQueue port (qbosync.domain.copy_jobs): one message per job, naming it."""

    def __init__(self, client: Any, queue_url: str) -> None:
        self._client = client
        self._queue_url = queue_url

    def send(self, connection_id: str, job_id: str, *, delay_seconds: int = 0) -> None:
        try:
            self._client.send_message(
                QueueUrl=self._queue_url,
                MessageBody=encode_job_message(connection_id, job_id),
                DelaySeconds=delay_seconds,
            )
        except ClientError as error:
            raise QueueUnavailable(
                "The copy jobs queue did not take the job.",
                details={"problem": error.response.get("Error", {}).get("Code", "unknown")},
            ) from error
