"""A local API Gateway (HTTP API) and Lambda runtime for the template's functions, in-process.

`sam local` needs Docker; this does what the local stack needs without it. `LocalGateway` composes
the five stand-ins, each in its own module:

* local/lambda_runtime.py -- the Lambda runtime: imports handlers, builds contexts, cold starts,
  runs each invocation within its Timeout (`invoke()`, like `sam local invoke`);
* local/http_api.py -- API Gateway: every HttpApi route of template.yaml on a werkzeug server
  (threaded, 127.0.0.1, free port), payload-format-2.0 events and responses;
* local/scheduler.py -- EventBridge Scheduler: `run_schedule()` runs a scheduled function once with
  the event its schedule sends;
* local/async_invoke.py -- asynchronous invocation: `invoke_async()` adds Lambda's retries and the
  DeadLetterQueue;
* local/sqs_poller.py -- SQS event source mappings: `SqsPoller` feeds a function from its queue
  (BatchSize, ReportBatchItemFailures) the way Lambda's poller does.
"""

from __future__ import annotations

import logging
import threading
from datetime import datetime
from pathlib import Path
from types import TracebackType
from typing import Any, Unpack

from local.async_invoke import invoke_async
from local.http_api import (
    MAX_BODY_BYTES,
    CompiledRoute,
    HttpApi,
    HttpResult,
    MalformedResponse,
    build_http_event,
    decode_body,
    find_route,
    http_result,
    is_text_content,
)
from local.lambda_context import LambdaContext
from local.lambda_runtime import (
    ACCOUNT_ID,
    LOCAL_DEFAULTS,
    REGION,
    HandlerTimeout,
    LambdaRuntime,
    RuntimeOptions,
)
from local.scheduler import schedule_event
from local.sqs_poller import SqsPoller, sqs_pollers
from local.template import HttpRoute, http_routes

__all__ = [
    "ACCOUNT_ID",
    "LOCAL_DEFAULTS",
    "MAX_BODY_BYTES",
    "REGION",
    "CompiledRoute",
    "HandlerTimeout",
    "HttpResult",
    "LambdaContext",
    "LocalGateway",
    "MalformedResponse",
    "SqsPoller",
    "build_http_event",
    "decode_body",
    "find_route",
    "http_result",
    "is_text_content",
]

logger = logging.getLogger("local.gateway")


class LocalGateway(LambdaRuntime):
    """The Lambda runtime with API Gateway, the scheduler, async invoke and SQS pollers around it.
    See LambdaRuntime for the arguments; host/port is where the HTTP API listens."""

    def __init__(
        self,
        template_path: Path | str | None = None,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        api_id: str = "local",
        **options: Unpack[RuntimeOptions],
    ) -> None:
        super().__init__(template_path, **options)
        self.host = host
        self.port = port
        self.api_id = api_id
        self.routes: list[HttpRoute] = http_routes(self.template)
        self.http_api = HttpApi(self.routes, self.invoke, api_id)
        self.wsgi_app = self.http_api.wsgi_app
        self._server: Any = None
        self._thread: threading.Thread | None = None
        self._pollers: list[SqsPoller] = []

    # ------------------------------------------------------------------ lifecycle

    def start(self) -> str:
        """Apply the environment, bind the server and serve in a thread; returns the base URL."""
        from werkzeug.serving import WSGIRequestHandler, make_server

        class QuietHandler(WSGIRequestHandler):
            def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
                logger.debug("%s %s -> %s", self.command, self.path, code)

        if self._server is not None:
            return self.url
        self.start_runtime()
        try:
            self._server = make_server(self.host, self.port, self.wsgi_app, threaded=True, request_handler=QuietHandler)
        except BaseException:
            self.stop_runtime()
            raise
        self.port = self._server.server_port
        self._thread = threading.Thread(target=self._server.serve_forever, name="local-gateway", daemon=True)
        self._thread.start()
        return self.url

    def stop(self) -> None:
        for poller in self._pollers:
            poller.stop()
        self._pollers = []
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None
        if self._thread is not None:
            self._thread.join(timeout=10)
            self._thread = None
        self.stop_runtime()

    def __enter__(self) -> LocalGateway:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop()

    @property
    def url(self) -> str:
        if self._server is None:
            raise RuntimeError("the gateway is not running")
        return f"http://{self.host}:{self.port}"

    # ------------------------------------------------------------------ schedules and async invoke

    def schedule_event(self, function_id: str, event_name: str | None = None, *, now: datetime | None = None) -> Any:
        """The event the function's schedule (ScheduleV2 or Schedule) sends, rendered for `now`."""
        return schedule_event(self.functions[function_id], self.names, event_name, now=now)

    def run_schedule(self, function_id: str, event_name: str | None = None, *, now: datetime | None = None) -> Any:
        """Run a scheduled function once, now, with its schedule's event; returns the handler's result."""
        return self.invoke(function_id, self.schedule_event(function_id, event_name, now=now))

    def invoke_async(self, function_id: str, event: Any, sqs_client: Any = None) -> bool:
        """Invoke like Lambda's asynchronous invocation; see local/async_invoke.py."""
        return invoke_async(self.invoke, self.functions[function_id], self.names, event, sqs_client)

    # ------------------------------------------------------------------ SQS

    def sqs_pollers(self, sqs_client: Any = None, failure_visibility_timeout: int | None = None) -> list[SqsPoller]:
        """One poller per SQS event source of the template (not started); see local/sqs_poller.py."""
        return sqs_pollers(self, self.functions.values(), self.names, sqs_client, failure_visibility_timeout)

    def start_sqs_pollers(
        self, interval: float = 0.2, sqs_client: Any = None, failure_visibility_timeout: int | None = None
    ) -> list[SqsPoller]:
        """Start polling every SQS event source in background threads (stopped by stop())."""
        pollers = self.sqs_pollers(sqs_client, failure_visibility_timeout)
        for poller in pollers:
            poller.start(interval)
        self._pollers.extend(pollers)
        return pollers
