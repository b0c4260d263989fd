"""A local API Gateway (HTTP API) and Lambda runtime for the template's functions, in-process.

`sam local` needs Docker; this does what the local stack needs without it:

* serves every HttpApi route of template.yaml on a werkzeug server (threaded, 127.0.0.1, free port),
  turning each request into an API Gateway HTTP API payload-format-2.0 event and calling the real
  `lambda_handler(event, context)` imported from the function's CodeUri (functions/<name>/ +
  app.lambda_handler -> functions.<name>.app), then turning its result into the HTTP response;
* behaves like API Gateway where callers can tell: no route -> 404 {"message":"Not Found"}, body over
  10 MB -> 413, handler exception or timeout -> 500 {"message":"Internal Server Error"} (logged);
* `invoke()` calls a function with any event (like `sam local invoke`), `invoke_async()` adds
  Lambda's asynchronous retries and DeadLetterQueue, `run_schedule()` runs a scheduled function once
  with the event its schedule sends, and `SqsPoller` feeds a function from its SQS event source
  (BatchSize, ReportBatchItemFailures) the way Lambda's poller does.

All handlers share one process, so the template's Globals environment (resolved to local names) and
each function's own variables go into os.environ once, at start(); a variable with two different
values across functions is refused. Handler modules are imported on their first invocation. When a
gateway starts after an earlier one (now stopped) had imported handlers, it simulates a cold start:
those handler modules and the layer packages (qbosync) are dropped from sys.modules and imported
afresh, so a restarted stack never uses clients, config or cached secrets of the previous one. The
first gateway of a process imports into whatever is already loaded (tests that imported qbosync
share its module objects with the handlers).
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import importlib
import json
import logging
import re
import secrets
import sys
import threading
import time
import uuid
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from http import HTTPStatus
from pathlib import Path
from types import TracebackType
from typing import Any
from urllib.parse import parse_qsl, unquote

from local.template import (
    REPO_ROOT,
    EnvironmentPatch,
    FunctionSpec,
    HttpRoute,
    Names,
    http_routes,
    layer_dirs,
    list_functions,
    load_template,
    parameter_values,
    references,
    resolve,
)

logger = logging.getLogger("local.gateway")

MAX_BODY_BYTES = 10 * 1024 * 1024  # API Gateway's payload limit
ACCOUNT_ID = "123456789012"
REGION = "us-east-1"

#: Content types API Gateway passes as text; everything else arrives base64-encoded.
_TEXT_TYPE = re.compile(
    r"^(text/.*|application/(json|xml|javascript|graphql|[\w.+-]+\+json|[\w.+-]+\+xml))$", re.IGNORECASE
)

#: Defaults for running handlers locally (the caller's environment overrides them).
LOCAL_DEFAULTS: dict[str, str] = {
    "POWERTOOLS_TRACE_DISABLED": "true",  # no X-Ray daemon here
    "AWS_DEFAULT_REGION": REGION,
    "AWS_REGION": REGION,
}

StartResponse = Callable[[str, list[tuple[str, str]]], Any]
JSON_HEADERS = [("Content-Type", "application/json")]


class HandlerTimeout(Exception):
    """The handler did not return within the function's Timeout."""


# --------------------------------------------------------------------------- Lambda context


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


# --------------------------------------------------------------------------- routes


@dataclass(frozen=True)
class CompiledRoute:
    route: HttpRoute
    segments: tuple[str, ...]

    @classmethod
    def of(cls, route: HttpRoute) -> CompiledRoute:
        return cls(route, tuple(route.path.strip("/").split("/")) if route.path != "/" else ())

    @property
    def is_default(self) -> bool:
        return self.route.path == "$default"

    def match(self, method: str, path: str) -> dict[str, str] | None:
        """Path parameters if this route serves `method path`, else None."""
        if self.route.method not in ("ANY", method):
            return None
        if self.is_default:
            return {}
        parts = path[1:].split("/") if path not in ("", "/") else []  # a trailing slash is a segment
        params: dict[str, str] = {}
        for index, segment in enumerate(self.segments):
            if segment.startswith("{") and segment.endswith("+}"):  # greedy, always last
                rest = parts[index:]
                if not rest or not all(rest):
                    return None
                params[segment[1:-2]] = unquote("/".join(rest))
                return params
            if index >= len(parts):
                return None
            if segment.startswith("{") and segment.endswith("}"):
                if not parts[index]:
                    return None
                params[segment[1:-1]] = unquote(parts[index])
            elif segment != unquote(parts[index]):
                return None
        return params if len(parts) == len(self.segments) else None

    def specificity(self) -> tuple[int, ...]:
        """Lower is more specific: literal < {param} < {greedy+} per segment; a method beats ANY."""
        ranks = [2 if s.endswith("+}") else 1 if s.startswith("{") else 0 for s in self.segments] or [0]
        return (1 if self.is_default else 0, *ranks, 1 if self.route.method == "ANY" else 0)


def find_route(routes: Iterable[CompiledRoute], method: str, path: str) -> tuple[HttpRoute, dict[str, str]] | None:
    """The route API Gateway would pick: the most specific match, `$default` last."""
    candidates = []
    for compiled in routes:
        params = compiled.match(method, path)
        if params is not None:
            candidates.append((compiled.specificity(), compiled, params))
    if not candidates:
        return None
    _, best, params = min(candidates, key=lambda candidate: candidate[0])
    return best.route, params


# --------------------------------------------------------------------------- events and responses


def is_text_content(content_type: str | None) -> bool:
    if not content_type:
        return False
    return bool(_TEXT_TYPE.match(content_type.split(";", 1)[0].strip()))


def build_http_event(
    *,
    method: str,
    raw_path: str,
    raw_query_string: str = "",
    headers: Mapping[str, str] | Iterable[tuple[str, str]] = (),
    body: bytes = b"",
    route_key: str,
    path_parameters: Mapping[str, str] | None = None,
    source_ip: str = "127.0.0.1",
    protocol: str = "HTTP/1.1",
    api_id: str = "local",
    domain_name: str | None = None,
    request_id: str | None = None,
    now: datetime | None = None,
) -> dict[str, Any]:
    """An API Gateway HTTP API payload-format-2.0 event, as API Gateway builds it: header names in
    lower case, repeated headers and query parameters joined with commas, cookies taken out of the
    headers, the body as text for text content types and base64 otherwise."""
    now = now or datetime.now(UTC)
    joined: dict[str, str] = {}
    cookies: list[str] = []
    for name, value in headers.items() if isinstance(headers, Mapping) else headers:
        lower = name.lower()
        if lower == "cookie":
            cookies.extend(part.strip() for part in value.split(";") if part.strip())
            continue
        joined[lower] = f"{joined[lower]},{value}" if lower in joined else value
    domain = domain_name or joined.get("host", "localhost")
    joined.setdefault("host", domain)
    joined["x-forwarded-for"] = (
        f"{joined['x-forwarded-for']}, {source_ip}" if "x-forwarded-for" in joined else source_ip
    )
    joined.setdefault("x-forwarded-proto", "http")
    if ":" in domain:
        joined.setdefault("x-forwarded-port", domain.rsplit(":", 1)[1])
    joined.setdefault("x-amzn-trace-id", f"Root=1-{int(now.timestamp()):08x}-{secrets.token_hex(12)}")
    request_id = request_id or base64.b64encode(secrets.token_bytes(10)).decode()

    event: dict[str, Any] = {
        "version": "2.0",
        "routeKey": route_key,
        "rawPath": raw_path,
        "rawQueryString": raw_query_string,
    }
    if cookies:
        event["cookies"] = cookies
    event["headers"] = joined
    if raw_query_string:
        query: dict[str, str] = {}
        for name, value in parse_qsl(raw_query_string, keep_blank_values=True):
            query[name] = f"{query[name]},{value}" if name in query else value
        event["queryStringParameters"] = query
    event["requestContext"] = {
        "accountId": ACCOUNT_ID,
        "apiId": api_id,
        "domainName": domain,
        "domainPrefix": domain.split(".", 1)[0].split(":", 1)[0],
        "http": {
            "method": method,
            "path": raw_path,
            "protocol": protocol,
            "sourceIp": source_ip,
            "userAgent": joined.get("user-agent", ""),
        },
        "requestId": request_id,
        "routeKey": route_key,
        "stage": "$default",
        "time": now.strftime("%d/%b/%Y:%H:%M:%S +0000"),
        "timeEpoch": int(now.timestamp() * 1000),
    }
    if path_parameters:
        event["pathParameters"] = dict(path_parameters)
    if body:
        text: str | None = None
        if is_text_content(joined.get("content-type")):
            try:
                text = body.decode("utf-8")
            except UnicodeDecodeError:
                text = None
        event["body"] = text if text is not None else base64.b64encode(body).decode("ascii")
        event["isBase64Encoded"] = text is None
    else:
        event["isBase64Encoded"] = False
    return event


@dataclass
class HttpResult:
    status: int
    headers: list[tuple[str, str]]
    body: bytes


class MalformedResponse(ValueError):
    """The handler returned something API Gateway cannot turn into a response (it answers 500)."""


def http_result(result: Any) -> HttpResult:
    """Turn a handler's return value into the HTTP response, as API Gateway (payload 2.0) does:
    a dict with statusCode is a response (headers, multiValueHeaders, cookies, body as a string,
    isBase64Encoded); anything else is a 200 application/json body. A response API Gateway would
    reject (statusCode not an integer, body not a string, headers not strings...) raises
    MalformedResponse."""
    if not (isinstance(result, dict) and "statusCode" in result):
        return HttpResult(200, list(JSON_HEADERS), json.dumps(result).encode())
    status = result["statusCode"]
    if isinstance(status, bool) or not isinstance(status, int) or not 100 <= status <= 599:
        raise MalformedResponse(f"statusCode must be an integer HTTP status, got {status!r}")
    raw_headers = result.get("headers") or {}
    if not isinstance(raw_headers, dict):
        raise MalformedResponse("headers must be an object")
    headers = []
    for name, value in raw_headers.items():
        if not isinstance(value, str | int | float | bool):
            raise MalformedResponse(f"header {name} must be a string, got {type(value).__name__}")
        headers.append((str(name), str(value).lower() if isinstance(value, bool) else str(value)))
    single = {name.lower() for name, _ in headers}
    for name, values in (result.get("multiValueHeaders") or {}).items():
        if name.lower() not in single:
            headers.extend((str(name), str(value)) for value in values)
    cookies = result.get("cookies") or []
    if not isinstance(cookies, list) or not all(isinstance(cookie, str) for cookie in cookies):
        raise MalformedResponse("cookies must be a list of strings")
    headers.extend(("Set-Cookie", cookie) for cookie in cookies)
    body = result.get("body")
    if body is not None and not isinstance(body, str):
        raise MalformedResponse(f"body must be a string, got {type(body).__name__}")
    if not body:
        payload = b""
    elif result.get("isBase64Encoded"):
        try:
            payload = base64.b64decode(body, validate=True)
        except binascii.Error as error:
            raise MalformedResponse("isBase64Encoded is true but body is not base64") from error
    else:
        payload = body.encode("utf-8")
    return HttpResult(status, headers, payload)


def _message(status: int, message: str) -> HttpResult:
    return HttpResult(status, list(JSON_HEADERS), json.dumps({"message": message}).encode())


# --------------------------------------------------------------------------- the gateway


class LocalGateway:
    """Serves the template's HttpApi routes and invokes its functions in-process. See module docstring.

    names: how intrinsics resolve locally (LocalAws.names); None if the functions' environment
        refers to no resources (parameters then resolve to their defaults, or to `parameters`).
    environment: extra variables for the handlers (e.g. QBO_AUTHORIZE_URL), applied last.
    code_root: where CodeUri and layer ContentUri paths start (the repository root).
    cold_start: on a restart in the same process, import handler modules and layer packages afresh.
    serialize_invocations: one invocation at a time per function, like one Lambda instance.
    enforce_timeouts: a handler running past its Timeout gets a 500 (the thread is not killed).
    """

    _registry_lock = threading.Lock()
    _running: list[LocalGateway] = []
    _loaded_modules: set[str] = set()

    def __init__(
        self,
        template_path: Path | str | None = None,
        *,
        names: Names | None = None,
        parameters: Mapping[str, str] | None = None,
        environment: Mapping[str, str] | None = None,
        host: str = "127.0.0.1",
        port: int = 0,
        code_root: Path | str | None = None,
        cold_start: bool = True,
        serialize_invocations: bool = True,
        enforce_timeouts: bool = True,
        api_id: str = "local",
    ) -> None:
        self.template = load_template(template_path)
        self.names = names or Names(refs={}, parameters=parameter_values(self.template, parameters))
        self.extra_environment = dict(environment or {})
        self.host = host
        self.port = port
        self.code_root = Path(code_root) if code_root else REPO_ROOT
        self.cold_start = cold_start
        self.serialize_invocations = serialize_invocations
        self.enforce_timeouts = enforce_timeouts
        self.api_id = api_id
        self.functions: dict[str, FunctionSpec] = {f.logical_id: f for f in list_functions(self.template)}
        self.routes: list[HttpRoute] = http_routes(self.template)
        self._compiled = [CompiledRoute.of(route) for route in self.routes]
        self._handlers: dict[str, Callable[[Any, Any], Any]] = {}
        self._import_lock = threading.Lock()
        self._function_locks = {function_id: threading.Lock() for function_id in self.functions}
        self._server: Any = None
        self._thread: threading.Thread | None = None
        self._env_patch: EnvironmentPatch | None = None
        self._pollers: list[SqsPoller] = []

    # ------------------------------------------------------------------ lifecycle

    def environment(self) -> dict[str, str]:
        """The variables handlers see: local defaults, the template's (resolved), then the caller's."""
        merged: dict[str, str] = dict(LOCAL_DEFAULTS)
        owner: dict[str, str] = {}
        for function_id, function in self.functions.items():
            for name, value in function.environment.items():
                resolved = str(resolve(value, self.names))
                if name in owner and merged[name] != resolved:
                    raise ValueError(
                        f"{name} is {merged[name]!r} for {owner[name]} but {resolved!r} for {function_id}; "
                        "locally all functions share one process environment"
                    )
                merged[name], owner[name] = resolved, function_id
        merged.update(self.extra_environment)
        return merged

    def start(self) -> str:
        """Apply the environment, bind the server and serve in a thread; returns the base URL."""
        from werkzeug.serving import WSGIRequestHandler, make_server

        class QuietHandler(WSGIRequestHandler):
            def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
                logger.debug("%s %s -> %s", self.command, self.path, code)

        if self._server is not None:
            return self.url
        self._env_patch = EnvironmentPatch(self.environment()).apply()
        for path in [self.code_root, *layer_dirs(self.template, self.code_root)]:
            if str(path) not in sys.path:  # kept after stop: other code may import lazily from there
                sys.path.insert(0, str(path))
        with LocalGateway._registry_lock:
            restart = not LocalGateway._running and bool(LocalGateway._loaded_modules & set(sys.modules))
            LocalGateway._running.append(self)
        if self.cold_start and restart:
            self._forget_modules()
        try:
            self._server = make_server(self.host, self.port, self.wsgi_app, threaded=True, request_handler=QuietHandler)
        except BaseException:
            self._restore()
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
        self._restore()

    def _restore(self) -> None:
        with LocalGateway._registry_lock:
            if self in LocalGateway._running:
                LocalGateway._running.remove(self)
        if self._env_patch is not None:
            self._env_patch.restore()
            self._env_patch = None

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

    def _forget_modules(self) -> None:
        """Drop what earlier gateways imported (their handler modules, and the packages of their
        layers) from sys.modules -- a cold start -- and the caches that would carry clients or
        secrets over."""
        with LocalGateway._registry_lock:
            prefixes = set(LocalGateway._loaded_modules)
            LocalGateway._loaded_modules.clear()
        for name in list(sys.modules):
            if any(name == prefix or name.startswith(prefix + ".") for prefix in prefixes):
                del sys.modules[name]
        self._handlers.clear()
        try:
            from aws_lambda_powertools.utilities.parameters.constants import DEFAULT_PROVIDERS

            DEFAULT_PROVIDERS.clear()  # cached secrets and the boto3 clients behind them
        except ImportError:  # pragma: no cover - powertools is a runtime dependency
            pass
        try:
            import boto3

            boto3.DEFAULT_SESSION = None
        except ImportError:  # pragma: no cover
            pass

    # ------------------------------------------------------------------ invoking functions

    def handler(self, function_id: str) -> Callable[[Any, Any], Any]:
        """The function's handler, imported on first use (after the environment is in place)."""
        with self._import_lock:
            if function_id not in self._handlers:
                function = self.functions[function_id]
                module = importlib.import_module(function.module_name)
                self._handlers[function_id] = getattr(module, function.handler_name)
                with LocalGateway._registry_lock:
                    LocalGateway._loaded_modules.update(self._module_prefixes(function))
            return self._handlers[function_id]

    def _module_prefixes(self, function: FunctionSpec) -> set[str]:
        """What importing this handler may have loaded: its package and the layers' packages."""
        prefixes = {function.module_name.rsplit(".", 1)[0] if "." in function.module_name else function.module_name}
        for layer in layer_dirs(self.template, self.code_root):
            if layer.is_dir():
                prefixes |= {child.name for child in layer.iterdir() if (child / "__init__.py").is_file()}
        return prefixes

    def context(self, function_id: str) -> LambdaContext:
        function = self.functions[function_id]
        try:
            name = self.names.ref(function_id)
            arn = self.names.get_att(function_id, "Arn")
        except KeyError:
            name = function_id
            arn = f"arn:aws:lambda:{REGION}:{ACCOUNT_ID}:function:{function_id}"
        return LambdaContext(
            function_name=name,
            memory_limit_in_mb=function.memory_size,
            invoked_function_arn=arn,
            aws_request_id=str(uuid.uuid4()),
            timeout_seconds=function.timeout,
        )

    def invoke(self, function_id: str, event: Any) -> Any:
        """Call the function's handler with `event` (like `sam local invoke`). The handler's
        exceptions propagate; running past the function's Timeout raises HandlerTimeout (the
        Timeout counts from when the invocation starts, after waiting for a busy function)."""
        if function_id not in self.functions:
            raise KeyError(f"template has no function {function_id!r}")
        handler = self.handler(function_id)
        context = self.context(function_id)
        lock = self._function_locks[function_id] if self.serialize_invocations else contextlib.nullcontext()
        started = threading.Event()
        outcome: dict[str, Any] = {}

        def run() -> None:
            with lock:
                context.start_clock()
                started.set()
                try:
                    outcome["result"] = handler(event, context)
                except BaseException as error:  # handed to the caller below
                    outcome["error"] = error

        if not self.enforce_timeouts:
            run()
        else:
            worker = threading.Thread(target=run, name=f"invoke-{function_id}", daemon=True)
            worker.start()
            started.wait()
            worker.join(timeout=context.timeout_seconds)
            if worker.is_alive():
                raise HandlerTimeout(f"{function_id} timed out after {context.timeout_seconds:g} seconds")
        if "error" in outcome:
            raise outcome["error"]
        return outcome.get("result")

    # ------------------------------------------------------------------ HTTP

    def wsgi_app(self, environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        result = self._handle(environ)
        headers = [(name, value) for name, value in result.headers if name.lower() != "content-length"]
        headers.append(("Content-Length", str(len(result.body))))
        headers.append(("Apigw-Requestid", environ.get("local.request_id", "")))
        try:
            reason = HTTPStatus(result.status).phrase
        except ValueError:
            reason = "Unknown"
        start_response(f"{result.status} {reason}", headers)
        return [result.body]

    def _handle(self, environ: dict[str, Any]) -> HttpResult:
        method = environ["REQUEST_METHOD"].upper()
        raw_uri = environ.get("RAW_URI") or environ.get("REQUEST_URI") or environ.get("PATH_INFO", "/")
        raw_path = raw_uri.split("?", 1)[0] or "/"
        request_id = base64.b64encode(secrets.token_bytes(10)).decode()
        environ["local.request_id"] = request_id
        found = find_route(self._compiled, method, raw_path)
        if found is None:
            return _message(404, "Not Found")
        route, params = found
        declared = environ.get("CONTENT_LENGTH")
        if declared and declared.isdigit() and int(declared) > MAX_BODY_BYTES:
            return _message(413, "Request Entity Too Large")
        body = self._read_body(environ)
        if len(body) > MAX_BODY_BYTES:
            return _message(413, "Request Entity Too Large")
        event = build_http_event(
            method=method,
            raw_path=raw_path,
            raw_query_string=environ.get("QUERY_STRING", ""),
            headers=_request_headers(environ),
            body=body,
            route_key=route.route_key,
            path_parameters=params,
            source_ip=environ.get("REMOTE_ADDR", "127.0.0.1"),
            protocol=environ.get("SERVER_PROTOCOL", "HTTP/1.1"),
            api_id=self.api_id,
            request_id=request_id,
        )
        try:
            result = self.invoke(route.function_id, event)
        except HandlerTimeout:
            logger.error("%s: %s timed out", route.route_key, route.function_id)
            return _message(500, "Internal Server Error")
        except Exception:
            logger.exception("%s: %s failed", route.route_key, route.function_id)
            return _message(500, "Internal Server Error")
        try:
            return http_result(result)
        except MalformedResponse as error:
            logger.error("%s: %s returned a malformed response: %s", route.route_key, route.function_id, error)
            return _message(500, "Internal Server Error")

    @staticmethod
    def _read_body(environ: dict[str, Any]) -> bytes:
        stream = environ["wsgi.input"]
        length = environ.get("CONTENT_LENGTH")
        if length and length.isdigit():
            data: bytes = stream.read(int(length))
            return data
        if environ.get("wsgi.input_terminated") or environ.get("HTTP_TRANSFER_ENCODING", "").lower() == "chunked":
            chunks = []
            total = 0
            while total <= MAX_BODY_BYTES:
                chunk = stream.read(64 * 1024)
                if not chunk:
                    break
                chunks.append(chunk)
                total += len(chunk)
            return b"".join(chunks)
        return b""

    # ------------------------------------------------------------------ schedules

    def schedule_event(self, function_id: str, event_name: str | None = None, *, now: datetime | None = None) -> Any:
        """The event the function's schedule (ScheduleV2 or Schedule) sends, rendered for `now`."""
        function = self.functions[function_id]
        events = function.events_of_type("ScheduleV2", "Schedule")
        if event_name is not None:
            events = [event for event in events if event.name == event_name]
        if not events:
            raise KeyError(f"{function_id} has no schedule {event_name or ''}".strip())
        event = events[0]
        now = now or datetime.now(UTC)
        stamp = now.strftime("%Y-%m-%dT%H:%M:%SZ")
        execution_id = str(uuid.uuid4())
        if event.type == "ScheduleV2":
            arn = f"arn:aws:scheduler:{REGION}:{ACCOUNT_ID}:schedule/default/{function_id}{event.name}"
            raw_input = event.properties.get("Input")
            if raw_input is None:
                return {}
            text = str(resolve(raw_input, self.names))
            for placeholder, value in {
                "<aws.scheduler.execution-id>": execution_id,
                "<aws.scheduler.scheduled-time>": stamp,
                "<aws.scheduler.schedule-arn>": arn,
                "<aws.scheduler.attempt-number>": "1",
            }.items():
                text = text.replace(placeholder, value)
            return json.loads(text)
        if "Input" in event.properties:
            return json.loads(str(resolve(event.properties["Input"], self.names)))
        return {
            "version": "0",
            "id": execution_id,
            "detail-type": "Scheduled Event",
            "source": "aws.events",
            "account": ACCOUNT_ID,
            "time": stamp,
            "region": REGION,
            "resources": [f"arn:aws:events:{REGION}:{ACCOUNT_ID}:rule/{function_id}{event.name}"],
            "detail": {},
        }

    def run_schedule(self, function_id: str, event_name: str | None = None, *, now: datetime | None = None) -> Any:
        """Run a scheduled function once, now, with its schedule's event; returns the handler's result."""
        return self.invoke(function_id, self.schedule_event(function_id, event_name, now=now))

    def invoke_async(self, function_id: str, event: Any, sqs_client: Any = None) -> bool:
        """Invoke like Lambda's asynchronous invocation (what schedules do): on an error, retry up to
        EventInvokeConfig.MaximumRetryAttempts (default 2) times, then send the event to the
        function's DeadLetterQueue (SQS) with Lambda's RequestID/ErrorCode/ErrorMessage attributes.
        Runs in the caller's thread; returns True if an attempt succeeded."""
        props = self.functions[function_id].properties
        attempts = 1 + int(props.get("EventInvokeConfig", {}).get("MaximumRetryAttempts", 2))
        error: Exception | None = None
        for _ in range(attempts):
            try:
                self.invoke(function_id, event)
                return True
            except Exception as failure:
                error = failure
                logger.warning("%s failed asynchronously: %s", function_id, failure)
        dead_letter = props.get("DeadLetterQueue")
        if dead_letter and dead_letter.get("Type") == "SQS" and error is not None:
            queue_ids = references(dead_letter.get("TargetArn")) - set(self.names.parameters)
            if len(queue_ids) == 1:
                (queue_id,) = queue_ids
                if sqs_client is None:
                    import boto3

                    sqs_client = boto3.client("sqs")
                sqs_client.send_message(
                    QueueUrl=self.names.get_att(queue_id, "QueueUrl"),
                    MessageBody=json.dumps(event),
                    MessageAttributes={
                        "RequestID": {"DataType": "String", "StringValue": str(uuid.uuid4())},
                        "ErrorCode": {"DataType": "Number", "StringValue": "200"},
                        "ErrorMessage": {"DataType": "String", "StringValue": str(error)[:256] or type(error).__name__},
                    },
                )
        return False

    # ------------------------------------------------------------------ SQS

    def sqs_pollers(self, sqs_client: Any = None, failure_visibility_timeout: int | None = None) -> list[SqsPoller]:
        """One poller per SQS event source of the template (not started). `failure_visibility_timeout`:
        make failed messages visible again after this many seconds instead of the queue's timeout."""
        pollers = []
        for function in self.functions.values():
            for event in function.events_of_type("SQS"):
                queue_ids = references(event.properties.get("Queue")) - set(self.names.parameters)
                if len(queue_ids) != 1:
                    raise ValueError(f"{function.logical_id}.{event.name}: Queue must refer to one queue")
                (queue_id,) = queue_ids
                pollers.append(
                    SqsPoller(
                        self,
                        function.logical_id,
                        queue_url=self.names.get_att(queue_id, "QueueUrl"),
                        queue_arn=self.names.get_att(queue_id, "Arn"),
                        batch_size=int(event.properties.get("BatchSize", 10)),
                        report_batch_item_failures="ReportBatchItemFailures"
                        in event.properties.get("FunctionResponseTypes", []),
                        sqs_client=sqs_client,
                        failure_visibility_timeout=failure_visibility_timeout,
                    )
                )
        return pollers

    def start_sqs_pollers(
        self, interval: float = 0.2, sqs_client: Any = None, failure_visibility_timeout: int | None = None
    ) -> list[SqsPoller]:
        """Start polling every SQS event source in background threads (stopped by stop())."""
        pollers = self.sqs_pollers(sqs_client, failure_visibility_timeout)
        for poller in pollers:
            poller.start(interval)
        self._pollers.extend(pollers)
        return pollers


class SqsPoller:
    """Feeds a function from a queue like Lambda's SQS event source mapping: up to BatchSize
    messages per invocation; on success the batch is deleted; on an exception nothing is deleted
    (messages come back after their visibility timeout, and the queue's RedrivePolicy applies); with
    ReportBatchItemFailures only the reported messages stay (an unknown id fails the whole batch)."""

    def __init__(
        self,
        gateway: LocalGateway,
        function_id: str,
        *,
        queue_url: str,
        queue_arn: str,
        batch_size: int = 10,
        report_batch_item_failures: bool = False,
        sqs_client: Any = None,
        failure_visibility_timeout: int | None = None,
    ) -> None:
        self.gateway = gateway
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
            result = self.gateway.invoke(self.function_id, self.event(messages))
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


def _request_headers(environ: Mapping[str, Any]) -> list[tuple[str, str]]:
    headers = []
    for key, value in environ.items():
        if key.startswith("HTTP_"):
            headers.append((key[5:].replace("_", "-").lower(), str(value)))
        elif key in ("CONTENT_TYPE", "CONTENT_LENGTH") and value:
            headers.append((key.replace("_", "-").lower(), str(value)))
    return headers


def decode_body(event: Mapping[str, Any]) -> bytes:
    """The raw request body of a payload-2.0 event (a helper for fixture handlers and tests)."""
    body = event.get("body") or ""
    if event.get("isBase64Encoded"):
        try:
            return base64.b64decode(body, validate=True)
        except binascii.Error as error:
            raise ValueError("body is not valid base64") from error
    return str(body).encode("utf-8")
