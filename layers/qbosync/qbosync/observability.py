"""Logs, metrics and traces in one place: Powertools' Logger, Metrics and Tracer, configured from the
environment the template gives every function (POWERTOOLS_SERVICE_NAME names the service: the log
key, the metrics' `service` dimension, the traces' `Service` annotation; POWERTOOLS_METRICS_NAMESPACE
is the metrics' namespace; qbosync.config checks both at the cold start).

Only the handlers and wiring import this module, since it reads the environment when imported (the
layer contracts in pyproject.toml keep services, api, adapters and domain out). Module loggers
(`logging.getLogger(__name__)` under `qbosync.`) are children of the service's logger, so their
lines carry the same keys.

Tracing (template Globals `Tracing: Active`) is on in Lambda unless POWERTOOLS_TRACE_DISABLED is true;
the local stack turns it off. Powertools' Tracer loads the X-Ray SDK (and botocore) even when it is
off, so it is built only when tracing is on. Traces never hold responses (capture_response off): a
response can carry an OAuth state or a token."""

from __future__ import annotations

import functools
import os
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any, Literal, TypeVar, cast

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.metrics import MetricUnit, single_metric
from aws_lambda_powertools.metrics.functions import is_metrics_disabled
from aws_lambda_powertools.shared.functions import strtobool

if TYPE_CHECKING:
    from aws_lambda_powertools import Tracer

Handler = TypeVar("Handler", bound=Callable[..., Any])
Service = TypeVar("Service")

logger = Logger()
metrics = Metrics()


def _tracing_on() -> bool:
    """Powertools' rule: in Lambda (not `sam local`), unless POWERTOOLS_TRACE_DISABLED says otherwise."""
    if strtobool(os.getenv("POWERTOOLS_TRACE_DISABLED", "false")):
        return False
    return bool(os.getenv("LAMBDA_TASK_ROOT")) and not os.getenv("AWS_SAM_LOCAL")


def _build_tracer() -> Tracer | None:
    if not _tracing_on():
        return None
    from aws_lambda_powertools import Tracer

    # Client libraries are patched as wiring builds the clients (trace_library), so a cold start
    # still loads httpx on first use only.
    return Tracer(auto_patch=False)


tracer = _build_tracer()


def handler(*, correlation_id_path: str | None = None, publish_metrics: bool = False) -> Callable[[Handler], Handler]:
    """A Lambda handler's observability: its log lines carry the invocation's context (and the
    correlation id found at `correlation_id_path` in the event), it is traced while tracing is on,
    and with `publish_metrics` the metrics it added are written once, at its end (EMF)."""

    def decorate(function: Handler) -> Handler:
        wrapped: Handler = _publishing_metrics(function) if publish_metrics else function
        if tracer is not None:
            wrapped = cast(Handler, tracer.capture_lambda_handler(wrapped, capture_response=False))
        return logger.inject_lambda_context(wrapped, correlation_id_path=correlation_id_path)

    return decorate


def _publishing_metrics(function: Handler) -> Handler:
    @functools.wraps(function)
    def publish(*args: Any, **kwargs: Any) -> Any:
        try:
            return function(*args, **kwargs)
        finally:
            # An invocation that counted nothing (an app route that met no 429) writes nothing, rather
            # than Powertools' "no metrics" warning.
            if metrics.metric_set:
                metrics.flush_metrics()
            # With POWERTOOLS_METRICS_DISABLED Powertools keeps what it did not write, and writes the
            # pile anyway once a metric holds 100 values: start every invocation empty.
            metrics.clear_metrics()

    return cast(Handler, publish)


def count_by(name: str, dimension: str, counts: Mapping[str, int]) -> None:
    """`name` counted per value of one more dimension (a skip reason, a connection status), beside the
    `service` dimension. The handler's record gives all its metrics one dimension set, so each value is
    a record of its own, written at once. Nothing is written while metrics are disabled."""
    if is_metrics_disabled():
        return
    for value, count in sorted(counts.items()):
        dimensions = {"service": str(metrics.service), dimension: value} if metrics.service else {dimension: value}
        with single_metric(
            name=name, unit=MetricUnit.Count, value=count, namespace=metrics.namespace, default_dimensions=dimensions
        ):
            pass


def traced(service: Service, *methods: str) -> Service:
    """`service`, each of whose named methods is traced while tracing is on (a subsegment per call,
    "## qbosync.services.copies.CopyService.copy"). Wiring wraps the services' entry points this way,
    so services stay free of Powertools."""
    if tracer is None:
        return service
    capture = tracer.capture_method(capture_response=False)
    for name in methods:
        setattr(service, name, capture(getattr(service, name)))
    return service


def count_at_once(name: str) -> None:
    """One count of `name`, written now as its own EMF line rather than with the handler's metrics:
    some handlers publish none (the HTTP routes), and a rare failure must still be counted. Nothing
    with POWERTOOLS_METRICS_DISABLED (the local stack)."""
    from aws_lambda_powertools.metrics import MetricUnit, single_metric
    from aws_lambda_powertools.metrics.functions import is_metrics_disabled

    if is_metrics_disabled():
        return
    # Namespace and the `service` dimension come from the environment, as for `metrics`.
    with single_metric(name=name, unit=MetricUnit.Count, value=1):
        pass


def trace_library(name: Literal["botocore", "httpx"]) -> None:
    """Trace every call the library makes from now on, while tracing is on. Wiring calls it before it
    builds the library's clients (patching imports the library)."""
    if tracer is not None:
        tracer.patch([name])
