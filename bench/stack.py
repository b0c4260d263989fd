"""The local stack as the benchmarks run it: emulators at zero added latency, no throttling (we
measure our cost, not Intuit's or Productive's limits), handlers quiet, SQS pollers off unless a
benchmark starts them (idle pollers compete for this process's CPU)."""

from __future__ import annotations

import threading
import time
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import httpx
from botocore.client import BaseClient

from local import browser
from local.app_client import AppClient
from local.productive_emulator import ProductiveEmulator
from local.stack import LocalStack

QUIET = {"POWERTOOLS_LOG_LEVEL": "ERROR"}


@contextmanager
def bench_stack() -> Iterator[tuple[ProductiveEmulator, LocalStack, AppClient]]:
    warnings.filterwarnings("ignore", message="The httpx module is deprecated")
    with ProductiveEmulator() as productive:
        productive.set_rate_limit(enabled=False)
        environment = {**QUIET, "PRODUCTIVE_API_BASE_URL": productive.base_url}
        with (
            LocalStack(environment=environment, sqs_pollers=False) as stack,
            AppClient(stack.api_url, stack.signing_secret) as app,
        ):
            stack.emulator.set_throttling(enabled=False)
            yield productive, stack, app


def connect(
    stack: LocalStack, app: AppClient, *, organization_id: str, subsidiary_id: str, api_token: str, realm_id: str
) -> str:
    """Connect a subsidiary the way a user does (start page, consent, callback); returns its id."""
    started = app.post(
        "/connections",
        {
            "organization_id": organization_id,
            "subsidiary_id": subsidiary_id,
            "productive_api_token": api_token,
            "return_url": "https://app.productive.io/bench",
        },
    ).json()
    stack.emulator.next_consent(realm_id=realm_id)
    browser.consent(started["authorize_url"])
    return str(started["connection_id"])


def demo_settings(demo: Any, **more: Any) -> dict[str, Any]:
    """The demo's item mappings (Design and Development mapped, the rest to the default item), and `more`."""
    services = demo.service_type_ids
    return {
        "default_item_id": "1",
        "service_type_items": {services["Design"]: "2", services["Development"]: "3"},
        **more,
    }


def configure(app: AppClient, connection_id: str, settings: dict[str, Any]) -> None:
    response = app.put(f"/connections/{connection_id}/settings", settings)
    assert response.status_code == 200, response.text


def connect_demo(stack: LocalStack, app: AppClient, demo: Any, realm_id: str) -> str:
    """The Productive demo organization's subsidiary for this company (US or UK), connected."""
    subsidiary = demo.subsidiary_us_id if realm_id == stack.emulator.US_REALM else demo.subsidiary_uk_id
    return connect(
        stack,
        app,
        organization_id=demo.organization_id,
        subsidiary_id=subsidiary,
        api_token=demo.api_token,
        realm_id=realm_id,
    )


@dataclass(frozen=True)
class AwsCall:
    service: str
    operation: str
    params: dict[str, Any]

    def __str__(self) -> str:
        return f"{self.service}:{self.operation}"


@contextmanager
def aws_calls() -> Iterator[list[AwsCall]]:
    """Every AWS API call this process makes meanwhile (any thread), in order."""
    calls: list[AwsCall] = []
    lock = threading.Lock()
    original = BaseClient._make_api_call

    def recording(self: BaseClient, operation_name: str, api_params: Any) -> Any:
        with lock:
            calls.append(AwsCall(self.meta.service_model.service_name, operation_name, dict(api_params)))
        return original(self, operation_name, api_params)

    BaseClient._make_api_call = recording
    try:
        yield calls
    finally:
        BaseClient._make_api_call = original


@dataclass(frozen=True)
class HttpCall:
    """One HTTP request this process sent: its URL, and when it started and ended (perf_counter seconds)."""

    method: str
    url: httpx.URL
    started: float
    ended: float
    status: int  # 0: no answer (the request raised)


@contextmanager
def http_calls() -> Iterator[list[HttpCall]]:
    """Every httpx request this process sends meanwhile (any thread), in the order they ended."""
    calls: list[HttpCall] = []
    lock = threading.Lock()
    original = httpx.Client.send

    def recording(self: httpx.Client, request: httpx.Request, **kwargs: Any) -> httpx.Response:
        started = time.perf_counter()
        status = 0
        try:
            response = original(self, request, **kwargs)
            status = response.status_code
            return response
        finally:
            ended = time.perf_counter()
            with lock:
                calls.append(HttpCall(request.method, request.url, started, ended, status))

    httpx.Client.send = recording  # type: ignore[method-assign]
    try:
        yield calls
    finally:
        httpx.Client.send = original  # type: ignore[method-assign]


@contextmanager
def injected_latency(stack: LocalStack, productive: ProductiveEmulator, seconds: float) -> Iterator[None]:
    """Both emulators add `seconds` to every answer meanwhile."""
    stack.emulator.faults.latency(seconds)
    productive.faults.set_latency(seconds)
    try:
        yield
    finally:
        stack.emulator.faults.latency(0)
        productive.faults.set_latency(0)
