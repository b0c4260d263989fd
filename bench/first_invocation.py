"""One cold start, measured inside a fresh process (bench/cold_start.py starts one per measurement):

    python -m bench.first_invocation < order.json

The order (JSON on stdin) is either a handler's first invocation,
    {"handler": "functions.connections.app.lambda_handler", "event": {...}, "context": {...}}
(`context`: LambdaContext's fields but the request id), timed as the import of the handler's module
plus its first call; or the floor,
    {"floor": {"table": ..., "key": {...}, "secret_id": ...}}
timed as `import boto3` plus one DynamoDB GetItem and one Secrets Manager GetSecretValue with fresh
clients; after the clock stops, the floor makes WARM_CALLS more of each on the same clients and reports
their mean as `warm_call_seconds` (what one more remote call costs a warm process). Either may name
`not_shipped`: modules installed here but not in the function's package, which then fail to import as
they would in Lambda (httpx, for one, loads its command line's rich and click when they are installed).
The last line on stdout is REPORT_PREFIX followed by the report as JSON: {"import_seconds",
"total_seconds", "result"} (`result`: what the handler returned; the handler's own log lines come before
it), and for the floor "warm_call_seconds" and "untimed_calls" (the warm calls made after the clock
stopped).

Only the standard library (and the stdlib-only LambdaContext) is loaded before the clock starts: whatever
the handler needs, its import and its first request pay for.
"""

from __future__ import annotations

import importlib
import json
import sys
import time
import uuid
from typing import Any

from local.lambda_context import LambdaContext

REPORT_PREFIX = "first-invocation-report "
WARM_CALLS = 10


def first_invocation(handler: str, event: Any, context_fields: dict[str, Any]) -> dict[str, Any]:
    module_name, function_name = handler.rsplit(".", 1)
    context = LambdaContext(**context_fields, aws_request_id=str(uuid.uuid4()))
    started = time.perf_counter()
    module = importlib.import_module(module_name)
    imported = time.perf_counter()
    context.start_clock()
    result = getattr(module, function_name)(event, context)
    finished = time.perf_counter()
    return {"import_seconds": imported - started, "total_seconds": finished - started, "result": result}


def floor(table: str, key: dict[str, Any], secret_id: str) -> dict[str, Any]:
    started = time.perf_counter()
    import boto3

    imported = time.perf_counter()
    dynamodb = boto3.client("dynamodb")
    dynamodb.get_item(TableName=table, Key=key)
    secrets = boto3.client("secretsmanager")
    secrets.get_secret_value(SecretId=secret_id)
    finished = time.perf_counter()
    for _ in range(WARM_CALLS):
        dynamodb.get_item(TableName=table, Key=key)
        secrets.get_secret_value(SecretId=secret_id)
    warm_call_seconds = (time.perf_counter() - finished) / (2 * WARM_CALLS)
    return {
        "import_seconds": imported - started,
        "total_seconds": finished - started,
        "result": None,
        "warm_call_seconds": warm_call_seconds,
        "untimed_calls": 2 * WARM_CALLS,
    }


def run(order: dict[str, Any]) -> dict[str, Any]:
    for name in order.get("not_shipped", ()):
        sys.modules.setdefault(name, None)  # type: ignore[arg-type]  # None: `import name` fails
    if "floor" in order:
        return floor(**order["floor"])
    return first_invocation(order["handler"], order["event"], order["context"])


def main() -> int:
    report = run(json.loads(sys.stdin.read()))
    sys.stdout.flush()  # the handler's log lines first: the report is the last line
    print(REPORT_PREFIX + json.dumps(report, default=str), flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
