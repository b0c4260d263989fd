"""The local stack as the benchmarks run it: emulators at zero added latency, no throttling (we
measure our cost, not Intuit's or Productive's limits), handlers quiet, SQS pollers off unless a
benchmark starts them (idle pollers compete for this process's CPU)."""

from __future__ import annotations

import warnings
from collections.abc import Iterator
from contextlib import contextmanager

from local.app_client import AppClient
from local.productive_emulator import ProductiveEmulator
from local.stack import LocalStack

QUIET = {"POWERTOOLS_LOG_LEVEL": "ERROR", "POWERTOOLS_METRICS_DISABLED": "true"}


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
