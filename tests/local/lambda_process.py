"""What a `sam local invoke` container does, without Docker: run as a script in a fresh interpreter whose
environment is exactly the one SAM CLI would give the container, with only the function's code directory
and the layer on sys.path (/var/task and /opt/python in Lambda), it imports the handler (the cold start
checks the function's settings) and invokes it with each event.

    python lambda_process.py CODE_DIR LAYER_DIR HANDLER EVENTS_JSON RESULTS_JSON

EVENTS_JSON holds [[label, event], ...]; RESULTS_JSON gets {label: {"result": ...} or {"error": ...}}
(stdout is the functions' log, as in Lambda)."""

from __future__ import annotations

import importlib
import json
import os
import sys
import time
import uuid
from typing import Any


class Context:
    """The parts of Lambda's context object the handlers and Powertools read."""

    def __init__(self, timeout_seconds: int) -> None:
        self.function_name = os.environ.get("AWS_LAMBDA_FUNCTION_NAME", "function")
        self.function_version = "$LATEST"
        self.memory_limit_in_mb = int(os.environ.get("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "128"))
        self.invoked_function_arn = f"arn:aws:lambda:us-east-1:123456789012:function:{self.function_name}"
        self.aws_request_id = str(uuid.uuid4())
        self.log_group_name = os.environ.get("AWS_LAMBDA_LOG_GROUP_NAME", "")
        self.log_stream_name = os.environ.get("AWS_LAMBDA_LOG_STREAM_NAME", "")
        self._deadline = time.monotonic() + timeout_seconds

    def get_remaining_time_in_millis(self) -> int:
        return max(0, int((self._deadline - time.monotonic()) * 1000))


def main(code_dir: str, layer_dir: str, handler: str, events_path: str, results_path: str) -> int:
    sys.path[:1] = [code_dir, layer_dir]  # instead of this script's own directory
    module_name, function_name = handler.rsplit(".", 1)
    with open(events_path, encoding="utf-8") as file:
        events: list[tuple[str, Any]] = json.load(file)
    results: dict[str, Any] = {}
    try:
        lambda_handler = getattr(importlib.import_module(module_name), function_name)
    except Exception as error:  # a cold start that fails answers every event with its error
        results = {label: {"error": type(error).__name__, "message": str(error)} for label, _ in events}
    else:
        timeout = int(os.environ.get("AWS_LAMBDA_FUNCTION_TIMEOUT", "3"))
        for label, event in events:
            try:
                results[label] = {"result": lambda_handler(event, Context(timeout))}
            except Exception as error:
                results[label] = {"error": type(error).__name__, "message": str(error)}
    with open(results_path, "w", encoding="utf-8") as file:
        json.dump(results, file, default=str)
    return 0


if __name__ == "__main__":
    sys.exit(main(*sys.argv[1:6]))
