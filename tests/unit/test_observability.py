"""qbosync.observability: metrics written once per invocation (and never piling up while disabled),
traces of handlers and service entry points that never hold a response, nothing traced while off."""

from __future__ import annotations

import contextlib
import importlib
import json
import warnings
from collections.abc import Iterator
from types import ModuleType
from typing import Any

import pytest
from aws_lambda_powertools import Tracer
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.tracing.base import BaseProvider, BaseSegment

from local.template import EnvironmentPatch, load_template, placeholder_names, resolved_environment

# What the template gives every function for Powertools (POWERTOOLS_SERVICE_NAME, ..._METRICS_NAMESPACE),
# with the parameters' defaults (Stage=dev).
POWERTOOLS = {
    name: value
    for name, value in resolved_environment(load_template(), placeholder_names(load_template())).items()
    if name.startswith("POWERTOOLS_")
}
NAMESPACE = "qbosync-dev"  # one per stage (template.yaml Globals)


@pytest.fixture(scope="module")
def observability() -> ModuleType:
    """The module as a handler imports it: with the template's Globals in the environment (it reads
    them when imported, and other tests of this process may import it after us)."""
    patch = EnvironmentPatch(POWERTOOLS).apply()
    try:
        return importlib.import_module("qbosync.observability")
    finally:
        patch.restore()


@pytest.fixture
def metrics(observability: ModuleType) -> Iterator[Any]:
    observability.metrics.clear_metrics()
    yield observability.metrics
    observability.metrics.clear_metrics()


class Context:
    function_name = "qbosync-dev-PaymentWebhookFunction"
    memory_limit_in_mb = 1769
    invoked_function_arn = "arn:aws:lambda:us-east-1:123456789012:function:qbosync-dev-PaymentWebhookFunction"
    aws_request_id = "c6af9ac6-7b61-11e6-9a41-93e812345678"


def test_metrics_are_written_once_per_invocation_with_one_namespace_and_service(
    observability: ModuleType, metrics: Any, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.delenv("POWERTOOLS_METRICS_DISABLED", raising=False)
    monkeypatch.delenv("POWERTOOLS_DEV", raising=False)

    def queue(event: dict[str, Any], context: Any) -> None:
        metrics.add_metric(name="WebhookEventsQueued", unit=MetricUnit.Count, value=event["queued"])

    handle = observability.handler(publish_metrics=True)(queue)
    handle({"queued": 3}, Context())
    handle({"queued": 4}, Context())
    written = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert [record["WebhookEventsQueued"] for record in written] == [[3.0], [4.0]]
    for record in written:
        (directive,) = record["_aws"]["CloudWatchMetrics"]
        assert directive["Namespace"] == NAMESPACE
        assert directive["Dimensions"] == [["service"]]
        assert record["service"] == "qbosync"


def test_disabled_metrics_do_not_pile_up_and_print(
    observability: ModuleType, metrics: Any, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """Powertools keeps metrics it did not write and prints them once one holds 100 values."""
    monkeypatch.setenv("POWERTOOLS_METRICS_DISABLED", "true")

    def sync(event: dict[str, Any], context: Any) -> None:
        metrics.add_metric(name="PaymentsCreated", unit=MetricUnit.Count, value=1)

    handle = observability.handler(publish_metrics=True)(sync)
    for _ in range(150):
        handle({}, Context())
    assert capsys.readouterr().out == ""


def test_an_invocation_that_counted_nothing_writes_nothing_and_does_not_warn(
    observability: ModuleType, metrics: Any, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.delenv("POWERTOOLS_METRICS_DISABLED", raising=False)
    monkeypatch.delenv("POWERTOOLS_DEV", raising=False)
    handle = observability.handler(publish_metrics=True)(lambda event, context: "done")
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # Powertools' "No application metrics to publish" would raise
        assert handle({}, Context()) == "done"
    assert capsys.readouterr().out == ""


def test_counts_by_a_dimension_are_a_record_per_value(
    observability: ModuleType, metrics: Any, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.delenv("POWERTOOLS_METRICS_DISABLED", raising=False)
    monkeypatch.delenv("POWERTOOLS_DEV", raising=False)
    observability.count_by("WebhookEventsSkipped", "reason", {"unknown_realm": 3, "duplicate": 1})
    written = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert [(record["reason"], record["WebhookEventsSkipped"]) for record in written] == [
        ("duplicate", [1.0]),
        ("unknown_realm", [3.0]),
    ]
    for record in written:
        (directive,) = record["_aws"]["CloudWatchMetrics"]
        assert directive["Namespace"] == NAMESPACE
        assert sorted(directive["Dimensions"][0]) == ["reason", "service"]
        assert record["service"] == "qbosync"
    assert not metrics.metric_set  # nothing left for the handler's own record

    monkeypatch.setenv("POWERTOOLS_METRICS_DISABLED", "true")
    observability.count_by("Connections", "status", {"connected": 2})
    assert capsys.readouterr().out == ""


@pytest.fixture
def wiring(observability: ModuleType, monkeypatch: pytest.MonkeyPatch) -> Iterator[ModuleType]:
    """wiring with Intuit's sandbox and Productive's own API as the upstreams (no local stack)."""
    for name in ("QBO_API_BASE_URL", "PRODUCTIVE_API_BASE_URL"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("QBO_ENVIRONMENT", "sandbox")
    module = importlib.import_module("qbosync.wiring")
    module.reset()
    yield module
    module.reset()


@pytest.mark.parametrize(
    ("url", "status", "counted"),
    [
        ("https://sandbox-quickbooks.api.intuit.com/v3/company/1/invoice", 429, "QuickBooksThrottled"),
        ("https://sandbox-quickbooks.api.intuit.com/v3/company/1/query", 503, "QuickBooksServerErrors"),
        ("https://api.productive.io/api/v2/invoices/7", 429, "ProductiveThrottled"),
        ("https://api.productive.io/api/v2/payments", 500, "ProductiveServerErrors"),
        ("https://sandbox-quickbooks.api.intuit.com/v3/company/1/invoice", 400, None),
        ("https://api.productive.io/api/v2/invoices/7", 200, None),
        ("https://oauth.platform.intuit.com/oauth2/v1/tokens/bearer", 429, None),
    ],
)
def test_upstream_429s_and_5xx_are_counted_per_answer(
    wiring: ModuleType, metrics: Any, url: str, status: int, counted: str | None
) -> None:
    import httpx

    response = httpx.Response(status, request=httpx.Request("GET", url))
    wiring._count_upstream_trouble(response)
    wiring._count_upstream_trouble(response)  # a retry is another answer
    recorded = {name: [float(value) for value in entry["Value"]] for name, entry in metrics.metric_set.items()}
    assert recorded == ({counted: [1.0, 1.0]} if counted else {})


def test_log_lines_carry_the_invocation_and_its_correlation_id(observability: ModuleType) -> None:
    seen: dict[str, Any] = {}

    def look(event: dict[str, Any], context: Any) -> str:
        seen.update(observability.logger.get_current_keys())
        return "done"

    handle = observability.handler(correlation_id_path="requestContext.requestId")(look)
    assert handle({"requestContext": {"requestId": "req-1"}}, Context()) == "done"
    assert seen["function_request_id"] == Context.aws_request_id
    assert seen["function_name"] == Context.function_name
    assert seen["correlation_id"] == "req-1"


class Segment(BaseSegment):
    def __init__(self, name: str) -> None:
        self.name = name
        self.annotations: dict[str, Any] = {}
        self.metadata: dict[str, Any] = {}

    def close(self, end_time: int | None = None) -> None:
        pass

    def add_subsegment(self, subsegment: Any) -> None:
        pass

    def remove_subsegment(self, subsegment: Any) -> None:
        pass

    def put_annotation(self, key: str, value: Any) -> None:
        self.annotations[key] = value

    def put_metadata(self, key: str, value: Any, namespace: str = "default") -> None:
        self.metadata[key] = value

    def add_exception(self, exception: BaseException, stack: Any, remote: bool = False) -> None:
        pass


class Provider(BaseProvider):
    """Records what a traced call would send to X-Ray."""

    def __init__(self) -> None:
        self.segments: list[Segment] = []
        self.patched: list[str] = []

    @contextlib.contextmanager
    def in_subsegment(self, name: Any = None, **kwargs: Any) -> Iterator[Segment]:
        segment = Segment(str(name))
        self.segments.append(segment)
        yield segment

    def in_subsegment_async(self, name: Any = None, **kwargs: Any) -> Any:
        raise NotImplementedError

    def put_annotation(self, key: str, value: Any) -> None:
        pass

    def put_metadata(self, key: str, value: Any, namespace: str = "default") -> None:
        pass

    def patch(self, modules: Any) -> None:
        self.patched.extend(modules)

    def patch_all(self) -> None:
        raise AssertionError("only the libraries in use are patched")


@pytest.fixture
def provider(observability: ModuleType, monkeypatch: pytest.MonkeyPatch) -> Iterator[Provider]:
    """Tracing on, as in Lambda, with a provider that records instead of sending."""
    for name, value in POWERTOOLS.items():
        monkeypatch.setenv(name, value)
    recording = Provider()
    monkeypatch.setattr(observability, "tracer", Tracer(disabled=False, auto_patch=False, provider=recording))
    yield recording
    Tracer._reset_config()  # Powertools keeps a Tracer's configuration on the class


class CopyService:
    def copy(self, invoice_id: str) -> dict[str, str]:
        return {"invoice_id": invoice_id, "access_token": "secret-token"}

    def history(self, invoice_id: str) -> list[str]:
        return [invoice_id]


def test_service_entry_points_are_traced_without_their_responses(observability: ModuleType, provider: Provider) -> None:
    service = observability.traced(CopyService(), "copy")
    assert service.copy("42") == {"invoice_id": "42", "access_token": "secret-token"}
    assert service.history("42") == ["42"]  # not named: not traced
    assert [segment.name for segment in provider.segments] == [f"## {__name__}.CopyService.copy"]
    assert provider.segments[0].metadata == {}


def test_handlers_are_traced_without_their_responses(observability: ModuleType, provider: Provider) -> None:
    def lambda_handler(event: dict[str, Any], context: Any) -> dict[str, str]:
        return {"authorize_url": "https://example.test/oauth/start?state=secret"}

    observability.handler()(lambda_handler)({}, Context())
    (segment,) = provider.segments
    assert segment.name == "## lambda_handler"
    assert segment.annotations["Service"] == "qbosync"
    assert segment.metadata == {}


def test_client_libraries_are_patched_one_by_one(observability: ModuleType, provider: Provider) -> None:
    observability.trace_library("httpx")
    assert provider.patched == ["httpx"]


def test_nothing_is_traced_while_tracing_is_off(observability: ModuleType, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(observability, "tracer", None)
    service = CopyService()
    copy = service.copy
    assert observability.traced(service, "copy") is service
    assert service.copy == copy
    assert "copy" not in vars(service)

    def handle(event: dict[str, Any], context: Any) -> str:
        return "done"

    assert observability.handler()(handle)({}, Context()) == "done"
    observability.trace_library("httpx")  # no tracer: nothing to patch


def test_tracing_is_off_outside_lambda_and_when_disabled(
    observability: ModuleType, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("POWERTOOLS_TRACE_DISABLED", raising=False)
    monkeypatch.delenv("AWS_SAM_LOCAL", raising=False)
    monkeypatch.delenv("LAMBDA_TASK_ROOT", raising=False)
    assert not observability._tracing_on()
    monkeypatch.setenv("LAMBDA_TASK_ROOT", "/var/task")
    assert observability._tracing_on()
    monkeypatch.setenv("POWERTOOLS_TRACE_DISABLED", "true")
    assert not observability._tracing_on()
    monkeypatch.setenv("POWERTOOLS_TRACE_DISABLED", "false")
    monkeypatch.setenv("AWS_SAM_LOCAL", "true")
    assert not observability._tracing_on()


def test_a_count_at_once_is_its_own_emf_line_and_nothing_while_metrics_are_off(
    observability: ModuleType, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    for name, value in POWERTOOLS.items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("POWERTOOLS_METRICS_DISABLED", "true")
    observability.count_at_once("ActivityWriteFailures")
    assert capsys.readouterr().out == ""
    monkeypatch.setenv("POWERTOOLS_METRICS_DISABLED", "false")
    observability.count_at_once("ActivityWriteFailures")
    [line] = capsys.readouterr().out.splitlines()
    emf = json.loads(line)
    assert emf["ActivityWriteFailures"] == [1.0]
    assert emf["service"] == POWERTOOLS["POWERTOOLS_SERVICE_NAME"]
    [directive] = emf["_aws"]["CloudWatchMetrics"]
    assert directive["Namespace"] == POWERTOOLS["POWERTOOLS_METRICS_NAMESPACE"]
