"""Lambda's asynchronous invocation, locally: retries, then the function's DeadLetterQueue."""

from __future__ import annotations

import json
import logging
import uuid
from collections.abc import Callable
from typing import Any

from local.template import FunctionSpec, Names, references

logger = logging.getLogger("local.gateway")


def invoke_async(
    invoke: Callable[[str, Any], Any], function: FunctionSpec, names: Names, event: Any, sqs_client: Any = None
) -> bool:
    """Invoke like Lambda's asynchronous invocation (what schedules do): on an error, retry up to
    EventInvokeConfig.MaximumRetryAttempts (default 2) times, then send the event to the
    function's DeadLetterQueue (SQS) with Lambda's RequestID/ErrorCode/ErrorMessage attributes.
    Runs in the caller's thread; returns True if an attempt succeeded."""
    function_id = function.logical_id
    props = function.properties
    attempts = 1 + int(props.get("EventInvokeConfig", {}).get("MaximumRetryAttempts", 2))
    error: Exception | None = None
    for _ in range(attempts):
        try:
            invoke(function_id, event)
            return True
        except Exception as failure:
            error = failure
            logger.warning("%s failed asynchronously: %s", function_id, failure)
    dead_letter = props.get("DeadLetterQueue")
    if dead_letter and dead_letter.get("Type") == "SQS" and error is not None:
        queue_ids = references(dead_letter.get("TargetArn")) - set(names.parameters)
        if len(queue_ids) == 1:
            (queue_id,) = queue_ids
            if sqs_client is None:
                import boto3

                sqs_client = boto3.client("sqs")
            sqs_client.send_message(
                QueueUrl=names.get_att(queue_id, "QueueUrl"),
                MessageBody=json.dumps(event),
                MessageAttributes={
                    "RequestID": {"DataType": "String", "StringValue": str(uuid.uuid4())},
                    "ErrorCode": {"DataType": "Number", "StringValue": "200"},
                    "ErrorMessage": {"DataType": "String", "StringValue": str(error)[:256] or type(error).__name__},
                },
            )
    return False
