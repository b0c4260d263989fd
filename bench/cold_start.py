"""Cold start of each handler, in fresh processes (bench/first_invocation.py), median of RUNS runs:

* import: the handler module's import, against bare `import boto3` (target: at most 2.0x);
* first invocation: the import plus the handler's first request against the local stack (moto, the
  QuickBooks and Productive emulators, bench/stack.py), against the floor: a process that imports boto3
  and makes one DynamoDB GetItem and one Secrets Manager GetSecretValue (issue 11 target: at most 1.5x).

Handlers build their clients on first use (docs/decisions/0016-build-on-first-use.md), so the import
alone flatters them: the first request pays for boto3, httpx and Authlib. Each handler gets a realistic
first request, whose state is set up before its process starts (untimed): a signed read of the connection,
the copy of a new invoice of a known customer, the OAuth start page of a connection just started, an
Intuit webhook for a new payment, the queued event of a new payment, the reconcile schedule, and the
token refresh schedule with one connection due. The answer must show that the request did its work.

Each figure also counts the remote calls its process made (requests moto and both emulators received)
and prices the ones beyond the floor's two at the floor's warm call (a GetItem or GetSecretValue on a
client already made; an emulator call is priced the same): the least first invocation a handler could
have with its calls and nothing else but boto3. Where that least is already over the target, no import
or code change can meet it; only fewer calls in the first request can.

The floor and the handlers take turns, run after run, so that load from elsewhere on the machine weighs
on all of them alike; the median also drops the one run that writes bytecode caches (which a deployed
package ships). Tracing is off, as anywhere outside Lambda."""

from __future__ import annotations

import dataclasses
import importlib.metadata
import json
import os
import re
import statistics
import subprocess
import sys
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from bench.first_invocation import REPORT_PREFIX, WARM_CALLS
from bench.stack import bench_stack
from local.app_client import AppClient
from local.http_api import CompiledRoute, build_http_event, find_route
from local.productive_emulator import ProductiveEmulator
from local.qbo_emulator import jsonutil
from local.qbo_emulator.api import Event
from local.qbo_emulator.webhooks import cloudevents_payload, sign
from local.qbo_payments import PaymentDesk
from local.sqs_poller import SqsPoller
from local.stack import APP_SIGNING_SECRET, LocalStack
from local.template import HttpRoute

ROOT = Path(__file__).resolve().parent.parent
IMPORT_TARGET = 2.0
FIRST_INVOCATION_TARGET = 1.5
RUNS = 5
RUNTIME_REQUIREMENTS = ROOT / "requirements" / "runtime.txt"  # what the layer ships (Makefile `lock`)
OUR_PACKAGES = frozenset({"bench", "functions", "local", "qbosync", "tests"})


@dataclass(frozen=True)
class RemoteCalls:
    """Requests the local stack's servers received: AWS (moto), QuickBooks (Intuit's OAuth and API) and
    Productive."""

    aws: int = 0
    quickbooks: int = 0
    productive: int = 0

    @property
    def total(self) -> int:
        return self.aws + self.quickbooks + self.productive

    def __sub__(self, other: RemoteCalls) -> RemoteCalls:
        return RemoteCalls(self.aws - other.aws, self.quickbooks - other.quickbooks, self.productive - other.productive)


@dataclass(frozen=True)
class Sample:
    """One fresh process: seconds to import (the handler's module, or boto3 for the floor), and in
    total (the import plus the first request, or plus the floor's two calls); the remote calls it made
    in that time, and for the floor the seconds of one warm call."""

    import_seconds: float
    total_seconds: float
    calls: RemoteCalls = RemoteCalls()
    warm_call_seconds: float = 0.0


@dataclass(frozen=True)
class FirstRequest:
    """A handler's first request: `event()` sets up its state and returns a fresh event (untimed);
    `succeeded(result)` tells from the handler's answer that the request did its work."""

    function_id: str
    label: str
    event: Callable[[], Any]
    succeeded: Callable[[Any], bool]


# --------------------------------------------------------------------------- one fresh process


def parse_report(stdout: str) -> tuple[Sample, Any]:
    """The sample and the handler's result from a bench.first_invocation process's output."""
    for line in reversed(stdout.splitlines()):
        if line.startswith(REPORT_PREFIX):
            report = json.loads(line.removeprefix(REPORT_PREFIX))
            sample = Sample(
                float(report["import_seconds"]),
                float(report["total_seconds"]),
                warm_call_seconds=float(report.get("warm_call_seconds", 0.0)),
            )
            return sample, report["result"]
    raise ValueError("the process printed no report")


def measure(
    order: Mapping[str, Any],
    environment: Mapping[str, str],
    calls_made: Callable[[], RemoteCalls] = RemoteCalls,
) -> tuple[Sample, Any]:
    """Run one order (see bench/first_invocation.py) in a fresh interpreter with `environment`;
    `calls_made()` counts the requests the servers have received (the sample's calls are the difference
    over the process, less the floor's untimed warm calls, which go to AWS)."""
    env = {
        **os.environ,
        **environment,
        "PYTHONPATH": os.pathsep.join([str(ROOT), str(ROOT / "layers" / "qbosync")]),
        "PYTHONDONTWRITEBYTECODE": "0",  # bytecode caches, as a deployed package has them
    }
    before = calls_made()
    out = subprocess.run(
        [sys.executable, "-m", "bench.first_invocation"],
        input=json.dumps(order),
        capture_output=True,
        text=True,
        env=env,
        cwd=ROOT,
        check=False,
    )
    made = calls_made() - before
    if out.returncode != 0:
        raise RuntimeError(f"bench.first_invocation failed ({out.returncode}):\n{out.stderr[-3000:]}")
    sample, result = parse_report(out.stdout)
    untimed = RemoteCalls(aws=WARM_CALLS * 2) if "floor" in order else RemoteCalls()
    return dataclasses.replace(sample, calls=made - untimed), result


def not_shipped(
    requirements: Path = RUNTIME_REQUIREMENTS, installed: Mapping[str, list[str]] | None = None
) -> list[str]:
    """Top-level modules installed here (module -> its distributions; default: this environment's) that
    come from no distribution of the function's package (`requirements`, a pinned list)."""
    shipped = {
        _distribution_key(line.split("==", 1)[0])
        for line in requirements.read_text(encoding="utf-8").splitlines()
        if "==" in line and not line.lstrip().startswith("#")
    }
    modules = importlib.metadata.packages_distributions() if installed is None else installed
    return sorted(
        module
        for module, distributions in modules.items()
        if module not in OUR_PACKAGES and not any(_distribution_key(d) in shipped for d in distributions)
    )


def _distribution_key(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name.strip()).lower()


# --------------------------------------------------------------------------- figures


def median_sample(samples: Iterable[Sample]) -> Sample:
    samples = list(samples)
    return Sample(
        statistics.median(s.import_seconds for s in samples),
        statistics.median(s.total_seconds for s in samples),
        RemoteCalls(
            statistics.median_low(s.calls.aws for s in samples),
            statistics.median_low(s.calls.quickbooks for s in samples),
            statistics.median_low(s.calls.productive for s in samples),
        ),
        statistics.median(s.warm_call_seconds for s in samples),
    )


def least_first_invocation(base: Sample, calls: RemoteCalls) -> float:
    """Seconds a first invocation needs for `calls` and boto3 alone: the floor, and each call beyond the
    floor's at the floor's warm call."""
    return base.total_seconds + max(0, calls.total - base.calls.total) * base.warm_call_seconds


def _verdict(ratio: float, target: float) -> str:
    return "ok" if ratio <= target else "OVER TARGET"


def report_lines(floor: Iterable[Sample], handlers: Mapping[str, tuple[str, Iterable[Sample]]]) -> list[str]:
    """The section's lines: the floor, then per handler (module -> (first request, samples)) its
    import against the floor's `import boto3`, its first invocation against the whole floor, and its
    remote calls with the least first invocation they allow."""
    base = median_sample(floor)
    lines = [
        f"  {'floor: import boto3':<34} {base.import_seconds * 1000:7.1f} ms",
        f"  {'floor: + GetItem + GetSecretValue':<34} {'':7} {'':25} {base.total_seconds * 1000:7.1f} ms",
        f"  {'floor: remote calls':<34} {base.calls.total:7}    (a warm call: {base.warm_call_seconds * 1000:.1f} ms)",
    ]
    worst_import = worst_first = worst_least = 0.0
    unreachable = []
    for module, (label, samples) in handlers.items():
        figures = median_sample(samples)
        import_ratio = figures.import_seconds / base.import_seconds
        first_ratio = figures.total_seconds / base.total_seconds
        least = least_first_invocation(base, figures.calls)
        least_ratio = least / base.total_seconds
        worst_import, worst_first = max(worst_import, import_ratio), max(worst_first, first_ratio)
        worst_least = max(worst_least, least_ratio)
        if least_ratio > FIRST_INVOCATION_TARGET:
            unreachable.append(module)
        lines.append(
            f"  {module:<34} {figures.import_seconds * 1000:7.1f} ms {import_ratio:4.2f}x boto3 "
            f"{_verdict(import_ratio, IMPORT_TARGET):<11}  {figures.total_seconds * 1000:7.1f} ms "
            f"{first_ratio:4.2f}x floor {_verdict(first_ratio, FIRST_INVOCATION_TARGET)}"
        )
        lines.append(f"      first request: {label}")
        calls = figures.calls
        lines.append(
            f"      remote calls: {calls.total} (AWS {calls.aws}, QuickBooks {calls.quickbooks}, "
            f"Productive {calls.productive}); least with these calls: {least * 1000:.1f} ms "
            f"{least_ratio:4.2f}x floor; the rest: {figures.total_seconds / least:4.2f}x that"
        )
    lines.append(
        f"  targets: import <= {IMPORT_TARGET:.1f}x boto3 (worst {worst_import:.2f}x); "
        f"first invocation <= {FIRST_INVOCATION_TARGET:.1f}x floor (worst {worst_first:.2f}x)"
    )
    lines.append(
        f"  least first invocation the calls allow: worst {worst_least:.2f}x floor; over the target by its "
        f"calls alone: {', '.join(unreachable) if unreachable else 'none'}"
    )
    return lines


# --------------------------------------------------------------------------- first requests


class FirstRequests:
    """The state the first requests need: a US company connected, syncing payments, with one invoice
    copied (its customer is known); each request then made fresh (a new invoice, payment, state...)."""

    def __init__(self, productive: ProductiveEmulator, stack: LocalStack, app: AppClient) -> None:
        self.stack, self.app = stack, app
        self.desk = PaymentDesk(stack, app, productive)
        self.cid = self.desk.cid
        _, self.qbo_invoice_id = self.desk.copied_invoice()
        self.routes = [CompiledRoute.of(route) for route in stack.gateway.routes]
        self.not_shipped = not_shipped()
        pollers = stack.gateway.sqs_pollers(sqs_client=stack.aws.client("sqs"))
        self.events_queue = next(poller for poller in pollers if poller.function_id == "PaymentSyncFunction")
        self.jobs_queue = next(poller for poller in pollers if poller.function_id == "CopyJobsFunction")

    def close(self) -> None:
        self.desk.close()

    def all(self) -> list[FirstRequest]:
        status = _status_is
        requests = [
            self._http("GET", f"/connections/{self.cid}", succeeded=status(200)),
            FirstRequest("CopyInvoiceFunction", "POST /connections/{id}/invoices/{id}/copies", self._copy, status(201)),
            FirstRequest("OAuthCallbackFunction", "GET /oauth/start?state=...", self._oauth_start, status(302)),
            FirstRequest("PaymentWebhookFunction", "POST /webhooks/intuit (1 payment)", self._webhook, status(200)),
            FirstRequest(
                "PaymentSyncFunction",
                "SQS batch: 1 payment event",
                self._payment_event,
                lambda result: result == {"batchItemFailures": []},
            ),
            FirstRequest(
                "CopyJobsFunction",
                "SQS batch: a copy job of 1 invoice",
                self._copy_job,
                lambda result: result == {"batchItemFailures": []},
            ),
            FirstRequest(
                "ReconcileFunction",
                "schedule (1 company syncing payments)",
                lambda: self.stack.gateway.schedule_event("ReconcileFunction"),
                lambda result: result["companies"] == 1 and not result["failed"],
            ),
            FirstRequest(
                "TokenRefreshFunction",
                "schedule (1 connection due)",
                self._token_refresh,
                lambda result: result["refreshed"] == 1,
            ),
        ]
        missing = set(self.stack.gateway.functions) - {request.function_id for request in requests}
        if missing:
            raise LookupError(f"no first request for {sorted(missing)}")
        return requests

    def _http(self, method: str, path: str, *, succeeded: Callable[[Any], bool]) -> FirstRequest:
        route = self._route(method, path)[0]
        return FirstRequest(route.function_id, route.route_key, lambda: self._event(method, path)[1], succeeded)

    def _route(self, method: str, path: str) -> tuple[HttpRoute, dict[str, str]]:
        found = find_route(self.routes, method, path)
        if found is None:
            raise LookupError(f"no route for {method} {path}")
        return found

    def _event(
        self,
        method: str,
        path_and_query: str,
        body: bytes = b"",
        *,
        signed: bool = True,
        headers: Mapping[str, str] | None = None,
    ) -> tuple[str, dict[str, Any]]:
        """The function of the route and the event API Gateway sends it, signed like the app's requests."""
        path, _, query = path_and_query.partition("?")
        route, parameters = self._route(method, path)
        sent = {"host": urlsplit(self.stack.api_url).netloc, "content-type": "application/json", **(headers or {})}
        if signed:
            sent.update(self.stack.sign(method, path_and_query, body))
        event = build_http_event(
            method=method,
            raw_path=path,
            raw_query_string=query,
            headers=sent,
            body=body,
            route_key=route.route_key,
            path_parameters=parameters,
        )
        return route.function_id, event

    def _copy(self) -> dict[str, Any]:
        invoice_id = self.desk.new_invoice()
        return self._event("POST", f"/connections/{self.cid}/invoices/{invoice_id}/copies", b"{}")[1]

    def _oauth_start(self) -> dict[str, Any]:
        demo = self.desk.demo
        started = self.app.post(
            "/connections",
            {
                "organization_id": demo.organization_id,
                "subsidiary_id": demo.subsidiary_uk_id,
                "productive_api_token": demo.api_token,
                "return_url": "https://app.productive.io/bench",
            },
        )
        if started.status_code != 201:
            raise RuntimeError(f"POST /connections answered {started.status_code}: {started.text}")
        link = urlsplit(started.json()["authorize_url"])
        return self._event("GET", f"{link.path}?{link.query}", signed=False, headers={"content-type": "text/html"})[1]

    def _webhook(self) -> dict[str, Any]:
        """Intuit's CloudEvents delivery of a payment just recorded, signed with the app's verifier token."""
        payment_id = self.desk.pay((self.qbo_invoice_id, "1.00"))
        change = Event(self.desk.realm, "Payment", payment_id, "Create", datetime.now(UTC))
        body = jsonutil.dumps(cloudevents_payload([change], self.stack.client_id)).encode()
        signature = sign(body, self.stack.webhook_verifier_token)
        return self._event("POST", "/webhooks/intuit", body, signed=False, headers={"intuit-signature": signature})[1]

    def _payment_event(self) -> dict[str, Any]:
        """What the event source hands payment_sync: the message the webhook queued for a new payment."""
        return self._queued(self.events_queue, "PaymentWebhookFunction", self._webhook, 200)

    def _copy_job(self) -> dict[str, Any]:
        """What the event source hands copy_jobs: the message of a job just submitted (one new invoice)."""

        def submit() -> dict[str, Any]:
            body = json.dumps({"invoice_ids": [self.desk.new_invoice()], "mode": "update"}).encode()
            return self._event("POST", f"/connections/{self.cid}/copy-jobs", body)[1]

        return self._queued(self.jobs_queue, "CopyInvoiceFunction", submit, 202)

    def _queued(
        self, queue: SqsPoller, function_id: str, event: Callable[[], dict[str, Any]], status: int
    ) -> dict[str, Any]:
        """The SQS event of the one message the `event()` makes `function_id` queue (what earlier runs
        queued, the webhook's or reconcile's, is taken away first)."""
        while self._take(queue):
            pass
        answer = self.stack.invoke(function_id, event())
        if answer["statusCode"] != status:
            raise RuntimeError(f"{function_id} answered {answer['statusCode']}")
        messages = self._take(queue)
        if len(messages) != 1:
            raise RuntimeError(f"{len(messages)} messages queued, not one")
        return queue.event(messages)

    @staticmethod
    def _take(queue: SqsPoller) -> list[dict[str, Any]]:
        """Receive a batch and delete it at once, as the event source does after a handled batch."""
        messages = queue.receive()
        for message in messages:
            queue.client.delete_message(QueueUrl=queue.queue_url, ReceiptHandle=message["ReceiptHandle"])
        return messages

    def _token_refresh(self) -> Any:
        table = self.stack.aws.physical_ids["Table"]
        self.stack.aws.client("dynamodb").update_item(  # due now, as the schedule's query reads it
            TableName=table,
            Key={"pk": {"S": f"CONNECTION#{self.cid}"}, "sk": {"S": "CONNECTION"}},
            UpdateExpression="SET next_refresh_at = :past, gsi1sk = :past",
            ExpressionAttributeValues={":past": {"S": "2000-01-01T00:00:00+00:00"}},
        )
        return self.stack.gateway.schedule_event("TokenRefreshFunction")

    def floor_order(self) -> dict[str, Any]:
        """The floor's calls: the connection's item and the app signing secret."""
        return {
            "floor": {
                "table": self.stack.aws.physical_ids["Table"],
                "key": {"pk": {"S": f"CONNECTION#{self.cid}"}, "sk": {"S": "CONNECTION"}},
                "secret_id": self.stack.aws.physical_ids[APP_SIGNING_SECRET],
            },
            "not_shipped": self.not_shipped,
        }

    def order(self, request: FirstRequest) -> dict[str, Any]:
        function = self.stack.gateway.functions[request.function_id]
        context = self.stack.gateway.context(request.function_id)
        return {
            "handler": f"{function.module_name}.{function.handler_name}",
            "event": request.event(),
            "context": {
                "function_name": context.function_name,
                "memory_limit_in_mb": context.memory_limit_in_mb,
                "invoked_function_arn": context.invoked_function_arn,
                "timeout_seconds": context.timeout_seconds,
            },
            "not_shipped": self.not_shipped,
        }


def _status_is(status: int) -> Callable[[Any], bool]:
    return lambda result: isinstance(result, dict) and result.get("statusCode") == status


# --------------------------------------------------------------------------- the section


def run() -> list[str]:
    lines = [
        f"Cold start (fresh process per figure, median of {RUNS} runs): import, and first invocation = import + "
        "first request against the local stack"
    ]
    with bench_stack() as (productive, stack, app):
        setup = FirstRequests(productive, stack, app)
        try:
            requests = setup.all()
            floor: list[Sample] = []
            samples: dict[str, list[Sample]] = {request.function_id: [] for request in requests}

            def calls_made() -> RemoteCalls:
                return RemoteCalls(
                    stack.aws.requests.served, len(stack.emulator.request_log), len(productive.request_log)
                )

            for _ in range(RUNS):
                floor.append(measure(setup.floor_order(), stack.environment, calls_made)[0])
                for request in requests:
                    sample, result = measure(setup.order(request), stack.environment, calls_made)
                    if not request.succeeded(result):
                        raise RuntimeError(f"{request.function_id} {request.label}: the handler answered {result!r}")
                    samples[request.function_id].append(sample)
            handlers = {
                stack.gateway.functions[request.function_id].module_name: (request.label, samples[request.function_id])
                for request in requests
            }
        finally:
            setup.close()
    lines.extend(report_lines(floor, handlers))
    return lines
