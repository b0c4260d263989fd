"""The Lambda runtime's part of the local stack: the template's functions, run in this process.

Imports each function's handler from its CodeUri (functions/<name>/ + app.lambda_handler ->
functions.<name>.app) on its first invocation, and calls it with a Lambda context, one invocation at
a time per function, within the function's Timeout.

All handlers share one process, so the template's Globals environment (resolved to local names) and
each function's own variables go into os.environ once, at start; a variable with two different
values across functions is refused. When a runtime starts after an earlier one (now stopped) had
imported handlers, it simulates a cold start: those handler modules and the layer packages (qbosync)
are dropped from sys.modules and imported afresh, so a restarted stack never uses clients, config or
cached secrets of the previous one. The first runtime of a process imports into whatever is already
loaded (tests that imported qbosync share its module objects with the handlers).

The handlers also share one Powertools logger, whose Lambda-context keys are process-wide; each
invocation therefore runs in its own contextvars context carrying its function's keys, so its log
lines name its own function and request id even while another function runs.
"""

from __future__ import annotations

import contextlib
import contextvars
import importlib
import sys
import threading
import uuid
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any, TypedDict, Unpack

from local.lambda_context import LambdaContext
from local.template import (
    REPO_ROOT,
    EnvironmentPatch,
    FunctionSpec,
    Names,
    layer_dirs,
    list_functions,
    load_template,
    parameter_values,
    resolve,
)

ACCOUNT_ID = "123456789012"
REGION = "us-east-1"


#: Defaults for running handlers locally (the caller's environment overrides them).
LOCAL_DEFAULTS: dict[str, str] = {
    "POWERTOOLS_TRACE_DISABLED": "true",  # no X-Ray daemon here
    "POWERTOOLS_METRICS_DISABLED": "true",  # nothing reads metrics here: they would only fill stdout
    "AWS_DEFAULT_REGION": REGION,
    "AWS_REGION": REGION,
}

StartResponse = Callable[[str, list[tuple[str, str]]], Any]
JSON_HEADERS = [("Content-Type", "application/json")]


class HandlerTimeout(Exception):
    """The handler did not return within the function's Timeout."""


def _log_keys(context: LambdaContext) -> dict[str, Any]:
    """The keys Powertools' inject_lambda_context adds for this context."""
    return {
        "function_name": context.function_name,
        "function_memory_size": context.memory_limit_in_mb,
        "function_arn": context.invoked_function_arn,
        "function_request_id": context.aws_request_id,
    }


def _in_invocation_context(context: LambdaContext, call: Callable[[], None]) -> None:
    """Run `call` in a fresh contextvars context whose Powertools log keys are this invocation's
    (they take precedence over the process-wide keys) and vanish when it returns."""
    from aws_lambda_powertools.logging.formatter import clear_context_keys, set_context_keys

    def run() -> None:
        clear_context_keys()
        set_context_keys(**_log_keys(context))
        call()

    contextvars.copy_context().run(run)


class RuntimeOptions(TypedDict, total=False):
    """LambdaRuntime's keyword arguments (LocalGateway passes them on)."""

    names: Names | None
    parameters: Mapping[str, str] | None
    environment: Mapping[str, str] | None
    code_root: Path | str | None
    cold_start: bool
    serialize_invocations: bool
    enforce_timeouts: bool


class LambdaRuntime:
    """The template's functions, invokable in-process. See module docstring.

    names: how intrinsics resolve locally (LocalAws.names); None if the functions' environment
        refers to no resources (parameters then resolve to their defaults, or to `parameters`).
    environment: extra variables for the handlers (e.g. QBO_AUTHORIZE_URL), applied last.
    code_root: where CodeUri and layer ContentUri paths start (the repository root).
    cold_start: on a restart in the same process, import handler modules and layer packages afresh.
    serialize_invocations: one invocation at a time per function, like one Lambda instance.
    enforce_timeouts: a handler running past its Timeout raises HandlerTimeout (the thread is not killed).
    """

    _registry_lock = threading.Lock()
    _running: list[LambdaRuntime] = []
    _loaded_modules: set[str] = set()

    def __init__(self, template_path: Path | str | None = None, **options: Unpack[RuntimeOptions]) -> None:
        self.template = load_template(template_path)
        names, code_root = options.get("names"), options.get("code_root")
        self.names = names or Names(refs={}, parameters=parameter_values(self.template, options.get("parameters")))
        self.extra_environment = dict(options.get("environment") or {})
        self.code_root = Path(code_root) if code_root else REPO_ROOT
        self.cold_start = options.get("cold_start", True)
        self.serialize_invocations = options.get("serialize_invocations", True)
        self.enforce_timeouts = options.get("enforce_timeouts", True)
        self.functions: dict[str, FunctionSpec] = {f.logical_id: f for f in list_functions(self.template)}
        self._handlers: dict[str, Callable[[Any, Any], Any]] = {}
        self._import_lock = threading.Lock()
        self._function_locks = {function_id: threading.Lock() for function_id in self.functions}
        self._env_patch: EnvironmentPatch | None = None

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

    def start_runtime(self) -> None:
        """Apply the environment, make the code importable, and cold-start if an earlier runtime ran."""
        self._env_patch = EnvironmentPatch(self.environment()).apply()
        for path in [self.code_root, *layer_dirs(self.template, self.code_root)]:
            if str(path) not in sys.path:  # kept after stop: other code may import lazily from there
                sys.path.insert(0, str(path))
        with LambdaRuntime._registry_lock:
            restart = not LambdaRuntime._running and bool(LambdaRuntime._loaded_modules & set(sys.modules))
            LambdaRuntime._running.append(self)
        if self.cold_start and restart:
            self._forget_modules()

    def stop_runtime(self) -> None:
        with LambdaRuntime._registry_lock:
            if self in LambdaRuntime._running:
                LambdaRuntime._running.remove(self)
        if self._env_patch is not None:
            self._env_patch.restore()
            self._env_patch = None

    def _forget_modules(self) -> None:
        """Drop what earlier gateways imported (their handler modules, and the packages of their
        layers) from sys.modules -- a cold start -- and the caches that would carry clients or
        secrets over."""
        with LambdaRuntime._registry_lock:
            prefixes = set(LambdaRuntime._loaded_modules)
            LambdaRuntime._loaded_modules.clear()
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
                with LambdaRuntime._registry_lock:
                    LambdaRuntime._loaded_modules.update(self._module_prefixes(function))
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

        def call(outcome: dict[str, Any]) -> None:
            try:
                outcome["result"] = handler(event, context)
            except BaseException as error:  # handed to the caller below
                outcome["error"] = error

        def run() -> None:
            with lock:
                context.start_clock()
                started.set()
                _in_invocation_context(context, lambda: call(outcome))

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
