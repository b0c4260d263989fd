"""Fixture handlers for the local gateway tests: they echo what they receive."""

from __future__ import annotations

import base64
import json
import os
import time
from typing import Any

PROCESSED: list[str] = []  # bodies the worker handled, in order
TICKS: list[Any] = []


def lambda_handler(event: dict[str, Any], context: Any) -> Any:
    path = event["rawPath"]
    if path == "/boom":
        raise RuntimeError("boom")
    if path == "/slow":
        time.sleep(3)  # the function's Timeout is 2 s
        return {"statusCode": 200, "body": "late"}
    if path == "/plain":
        return {"answer": 42}  # no statusCode: API Gateway infers a 200 JSON response
    if path == "/malformed":
        return {"statusCode": 200, "body": {"not": "a string"}}
    if path == "/binary":
        raw = base64.b64decode(event["body"]) if event["isBase64Encoded"] else event["body"].encode()
        return {
            "statusCode": 200,
            "headers": {"content-type": "application/octet-stream"},
            "body": base64.b64encode(raw[::-1]).decode(),
            "isBase64Encoded": True,
        }
    if path == "/cookies":
        return {
            "statusCode": 204,
            "headers": {"x-single": "1"},
            "multiValueHeaders": {"x-multi": ["a", "b"]},
            "cookies": ["a=1; Path=/", "b=2; HttpOnly"],
        }
    if path == "/context":
        return {
            "statusCode": 200,
            "body": json.dumps(
                {
                    "function_name": context.function_name,
                    "memory_limit_in_mb": context.memory_limit_in_mb,
                    "invoked_function_arn": context.invoked_function_arn,
                    "aws_request_id": context.aws_request_id,
                    "remaining_ms": context.get_remaining_time_in_millis(),
                    "env": {k: v for k, v in os.environ.items() if k.startswith("FIXTURE_")},
                }
            ),
        }
    return {"statusCode": 200, "headers": {"content-type": "application/json"}, "body": json.dumps(event)}


def worker_handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    failures = []
    for record in event["Records"]:
        if record["body"] == "crash":
            raise RuntimeError("the whole batch fails")
        if record["body"].startswith("fail"):
            failures.append({"itemIdentifier": record["messageId"]})
        else:
            PROCESSED.append(record["body"])
    return {"batchItemFailures": failures}


def tick_handler(event: Any, context: Any) -> dict[str, Any]:
    TICKS.append(event)
    if isinstance(event, dict) and event.get("fail"):
        raise RuntimeError("tick failed")
    return {"ticked": True, "event": event}
