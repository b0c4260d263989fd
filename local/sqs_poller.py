"""Lambda's SQS event source mappings, locally: a poller per SQS event of the template."""

from __future__ import annotations

import base64
import logging
import threading
from collections.abc import Iterable, Mapping
from typing import Any, Protocol

from local.lambda_runtime import REGION
from local.template import FunctionSpec, Names, references

logger = logging.getLogger("local.gateway")


class Invoker(Protocol):
    def invoke(self, function_id: str, event: Any) -> Any: ...


def sqs_pollers(
    runtime: Invoker,
    functions: Iterable[FunctionSpec],
    names: Names,
    sqs_client: Any = None,
    failure_visibility_timeout: int | None = None,
) -> list[SqsPoller]:
    """One poller per SQS event source of the template (not started). `failure_visibility_timeout`:
    make failed messages visible again after this many seconds instead of the queue's timeout."""
    pollers = []
    for function in functions:
        for event in function.events_of_type("SQS"):
            queue_ids = references(event.properties.get("Queue")) - set(names.parameters)
            if len(queue_ids) != 1:
                raise ValueError(f"{function.logical_id}.{event.name}: Queue must refer to one queue")
            (queue_id,) = queue_ids
            pollers.append(
                SqsPoller(
                    runtime,
                    function.logical_id,
                    queue_url=names.get_att(queue_id, "QueueUrl"),
                    queue_arn=names.get_att(queue_id, "Arn"),
                    batch_size=int(event.properties.get("BatchSize", 10)),
                    report_batch_item_failures="ReportBatchItemFailures"
                    in event.properties.get("FunctionResponseTypes", []),
                    sqs_client=sqs_client,
                    failure_visibility_timeout=failure_visibility_timeout,
                )
            )
    return pollers


class SqsPoller:
    """Feeds a function from a queue like Lambda's SQS event source mapping: up to BatchSize
    messages per invocation; on success the batch is deleted; on an exception nothing is deleted
    (messages come back after their visibility timeout, and the queue's RedrivePolicy applies); with
    ReportBatchItemFailures only the reported messages stay (an unknown id fails the whole batch)."""

    def __init__(
        self,
        runtime: Invoker,
        function_id: str,
        *,
        queue_url: str,
        queue_arn: str,
        batch_size: int = 10,
        report_batch_item_failures: bool = False,
        sqs_client: Any = None,
        failure_visibility_timeout: int | None = None,
    ) -> None:
        self.runtime = runtime
        self.function_id = function_id
        self.queue_url = queue_url
        self.queue_arn = queue_arn
        self.batch_size = batch_size
        self.report_batch_item_failures = report_batch_item_failures
        self.failure_visibility_timeout = failure_visibility_timeout
        self._client = sqs_client
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    @property
    def client(self) -> Any:
        if self._client is None:
            import boto3

            self._client = boto3.client("sqs")  # AWS_ENDPOINT_URL points it at the local stack
        return self._client

    def receive(self) -> list[dict[str, Any]]:
        messages: list[dict[str, Any]] = []
        while len(messages) < self.batch_size:
            batch = self.client.receive_message(
                QueueUrl=self.queue_url,
                MaxNumberOfMessages=min(10, self.batch_size - len(messages)),
                MessageSystemAttributeNames=["All"],
                MessageAttributeNames=["All"],
                WaitTimeSeconds=0,
            ).get("Messages", [])
            if not batch:
                break
            messages.extend(batch)
        return messages

    def event(self, messages: list[dict[str, Any]]) -> dict[str, Any]:
        region = self.queue_arn.split(":")[3] if self.queue_arn.count(":") >= 5 else REGION
        return {
            "Records": [
                {
                    "messageId": message["MessageId"],
                    "receiptHandle": message["ReceiptHandle"],
                    "body": message.get("Body", ""),
                    "attributes": message.get("Attributes", {}),
                    "messageAttributes": {
                        name: _lambda_message_attribute(value)
                        for name, value in message.get("MessageAttributes", {}).items()
                    },
                    "md5OfBody": message.get("MD5OfBody", ""),
                    **(
                        {"md5OfMessageAttributes": message["MD5OfMessageAttributes"]}
                        if "MD5OfMessageAttributes" in message
                        else {}
                    ),
                    "eventSource": "aws:sqs",
                    "eventSourceARN": self.queue_arn,
                    "awsRegion": region,
                }
                for message in messages
            ]
        }

    def poll_once(self) -> int:
        """Receive one batch and invoke the function with it; returns how many messages were handled."""
        messages = self.receive()
        if not messages:
            return 0
        try:
            result = self.runtime.invoke(self.function_id, self.event(messages))
        except Exception:
            logger.exception("%s failed on a batch of %d from %s", self.function_id, len(messages), self.queue_arn)
            self._release(messages)
            return len(messages)
        failed = self._failed_ids(result, messages)
        done = [message for message in messages if message["MessageId"] not in failed]
        for start in range(0, len(done), 10):
            chunk = done[start : start + 10]
            self.client.delete_message_batch(
                QueueUrl=self.queue_url,
                Entries=[{"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]} for i, m in enumerate(chunk)],
            )
        self._release([message for message in messages if message["MessageId"] in failed])
        return len(messages)

    def _failed_ids(self, result: Any, messages: list[dict[str, Any]]) -> set[str]:
        if not self.report_batch_item_failures or not isinstance(result, dict):
            return set()
        ids = {message["MessageId"] for message in messages}
        failures = result.get("batchItemFailures") or []
        reported = {str(item.get("itemIdentifier")) for item in failures if isinstance(item, dict)}
        if len(reported) != len(failures) or not reported <= ids:
            logger.error("%s reported unknown or empty item identifiers; the whole batch fails", self.function_id)
            return ids
        return reported

    def _release(self, messages: list[dict[str, Any]]) -> None:
        if self.failure_visibility_timeout is None:
            return
        for message in messages:
            self.client.change_message_visibility(
                QueueUrl=self.queue_url,
                ReceiptHandle=message["ReceiptHandle"],
                VisibilityTimeout=self.failure_visibility_timeout,
            )

    def drain(self, max_batches: int = 100) -> int:
        """Poll until the queue has nothing visible (or `max_batches`); returns messages handled."""
        handled = 0
        for _ in range(max_batches):
            count = self.poll_once()
            if not count:
                break
            handled += count
        return handled

    def start(self, interval: float = 0.2) -> None:
        def loop() -> None:
            while not self._stop.is_set():
                try:
                    if not self.poll_once():
                        self._stop.wait(interval)
                except Exception:
                    logger.exception("polling %s failed", self.queue_url)
                    self._stop.wait(interval)

        self._stop.clear()
        self._thread = threading.Thread(target=loop, name=f"sqs-{self.function_id}", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=10)
            self._thread = None


def _lambda_message_attribute(value: Mapping[str, Any]) -> dict[str, Any]:
    """SQS API message attribute -> the shape Lambda puts in SQS events."""
    converted: dict[str, Any] = {
        "stringListValues": [],
        "binaryListValues": [],
        "dataType": value.get("DataType", "String"),
    }
    if "StringValue" in value:
        converted["stringValue"] = value["StringValue"]
    if "BinaryValue" in value:
        raw = value["BinaryValue"]
        converted["binaryValue"] = base64.b64encode(raw).decode() if isinstance(raw, bytes) else raw
    return converted
