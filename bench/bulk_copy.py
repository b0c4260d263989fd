"""Bulk copy: a copy job of INVOICES invoices (QBOSYNC_BENCH_BULK_INVOICES, default 300) into one realm,
against the least time the published rate limits allow for the calls it made.

Targets (issue 11), with 200 ms of injected latency on every QuickBooks and Productive call: wall time at
most 1.5x the minimum the published limits impose; at most 1.1 QuickBooks calls per invoice (PDF moves
included) and 2.1 Productive calls per invoice; 429s received are printed.

The job runs through the local stack as a user's would: submitted through the signed app API, its worker
fed by draining the copy-jobs queue (local.qbo_payments.drain), polled until done. The invoices all belong
to one Productive company whose customer is known (an invoice of it is copied first), so the job measures
invoices. Both emulators enforce the published limits meanwhile, so 429s are real:

* QuickBooks (Intuit's published throttling limits for the Accounting API): 500 requests/min per realm;
  10 requests/s and 10 concurrent requests per realm and app; batch requests also 40/min per realm and
  app and 120/min per realm (a batch counts as one request against the others).
* Productive (the rate limits in Productive's API documentation): 100 requests per 10 s per API token;
  4,000 requests per 30 min per organization.

Calls and 429s are counted from the emulators' request logs (the Accounting API's `/v3/` calls for
QuickBooks). Calls per invoice count every request sent, 429s included; the minimum counts the calls each
limit admitted (a client that never hit a 429 makes only those):

    window(C, N, W) = floor((C - 1) / N) * W + L   C calls, at most N in any W seconds: the (k+N)-th call
                                                   starts W after the k-th, and the last one's answer
                                                   takes the latency L
    slots(C, K)     = ceil(C / K) * L               C calls, at most K at once, each holding a slot for L
    chain           = (longest chain of dependent calls of one invoice) * L   (bench/critical_path.py)
    minimum         = max(window(C_i, N_i, W_i) over the limits i, slots(QuickBooks calls, 10), chain)

A window limit is not a rate: a long window lets a short job burst. 620 Productive calls fit in one window
of 4,000 per 30 min at once, where calls / (N / W) would charge them 279 s."""

from __future__ import annotations

import math
import os
import time
import uuid
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from bench.critical_path import LATENCY_SECONDS, RemoteCall, describe, kind_of, longest_chain, remote_call
from bench.stack import bench_stack, configure, connect_demo, demo_settings, injected_latency
from local.qbo_payments import drain

INVOICES = int(os.environ.get("QBOSYNC_BENCH_BULK_INVOICES", "300"))
TARGET_RATIO = 1.5
TARGET_QUICKBOOKS_PER_INVOICE = 1.1
TARGET_PRODUCTIVE_PER_INVOICE = 2.1
JOB_TIMEOUT_SECONDS = 3600.0

# The published limits (see the module docstring), as (requests, window in seconds).
QBO_PER_REALM = (500, 60.0)
QBO_PER_REALM_AND_APP = (10, 1.0)
QBO_CONCURRENT = 10
QBO_BATCH_PER_REALM_AND_APP = (40, 60.0)
QBO_BATCH_PER_REALM = (120, 60.0)
PRODUCTIVE_PER_TOKEN = (100, 10.0)
PRODUCTIVE_PER_ORGANIZATION = (4000, 1800.0)

LogEntry = tuple[str, str, int]  # method, full path, status


@dataclass(frozen=True)
class JobCalls:
    """The remote calls a job made, from the emulators' request logs."""

    quickbooks: tuple[LogEntry, ...]
    productive: tuple[LogEntry, ...]

    @staticmethod
    def from_logs(quickbooks: Iterable[LogEntry], productive: Iterable[LogEntry]) -> JobCalls:
        return JobCalls(
            tuple(entry for entry in quickbooks if entry[1].startswith("/v3/")),
            tuple(productive),
        )

    @property
    def quickbooks_429s(self) -> int:
        return sum(1 for _, _, status in self.quickbooks if status == 429)

    @property
    def productive_429s(self) -> int:
        return sum(1 for _, _, status in self.productive if status == 429)

    def admitted(self) -> tuple[list[RemoteCall], list[RemoteCall]]:
        """The calls the limits let through (QuickBooks', Productive's), each named by its API path."""
        return (
            [remote_call("QuickBooks", m, p) for m, p, status in self.quickbooks if status != 429],
            [remote_call("Productive", m, p) for m, p, status in self.productive if status != 429],
        )


@dataclass(frozen=True)
class Bound:
    """The least seconds one limit (or the latency) imposes on the job, and why."""

    name: str
    calls: int
    seconds: float


def window_seconds(calls: int, requests: int, window: float, latency: float) -> float:
    """C calls with at most N in any window of W seconds: floor((C - 1) / N) * W + L (module docstring)."""
    if calls <= 0:
        return 0.0
    return ((calls - 1) // requests) * window + latency


def slot_seconds(calls: int, concurrent: int, latency: float) -> float:
    """C calls with at most K at once, each holding a slot for L: ceil(C / K) * L."""
    return math.ceil(calls / concurrent) * latency


def bounds(
    quickbooks: Sequence[RemoteCall], productive: Sequence[RemoteCall], chain: int, latency: float
) -> list[Bound]:
    """Every limit's least time for these admitted calls, the one invoice's chain last."""
    qbo = len(quickbooks)
    batches = sum(1 for call in quickbooks if call.method == "POST" and call.path == "/batch")
    prod = len(productive)

    def window(name: str, calls: int, limit: tuple[int, float]) -> Bound:
        return Bound(name, calls, window_seconds(calls, limit[0], limit[1], latency))

    return [
        window("QuickBooks 500 requests/min per realm", qbo, QBO_PER_REALM),
        window("QuickBooks 10 requests/s per realm and app", qbo, QBO_PER_REALM_AND_APP),
        Bound(
            f"QuickBooks {QBO_CONCURRENT} concurrent requests per realm and app",
            qbo,
            slot_seconds(qbo, QBO_CONCURRENT, latency),
        ),
        window("QuickBooks 40 batch requests/min per realm and app", batches, QBO_BATCH_PER_REALM_AND_APP),
        window("QuickBooks 120 batch requests/min per realm", batches, QBO_BATCH_PER_REALM),
        window("Productive 100 requests/10 s per token", prod, PRODUCTIVE_PER_TOKEN),
        window("Productive 4,000 requests/30 min per organization", prod, PRODUCTIVE_PER_ORGANIZATION),
        Bound(f"one invoice's chain of {chain} dependent calls", chain, chain * latency),
    ]


def kinds_and_unknown(calls: Iterable[RemoteCall]) -> tuple[list[str], list[RemoteCall]]:
    """The kinds of the calls, and the calls no kind fits (left out of the chain)."""
    kinds: list[str] = []
    unknown: list[RemoteCall] = []
    for call in calls:
        try:
            kinds.append(kind_of(call))
        except ValueError:
            unknown.append(call)
    return kinds, unknown


def report_lines(invoices: int, wall_seconds: float, calls: JobCalls, latency: float = LATENCY_SECONDS) -> list[str]:
    quickbooks, productive = calls.admitted()
    kinds, unknown = kinds_and_unknown([*quickbooks, *productive])
    limits = bounds(quickbooks, productive, len(longest_chain(kinds)), latency)
    binding = max(limits, key=lambda bound: bound.seconds)
    ratio = wall_seconds / binding.seconds if binding.seconds else math.inf
    qbo_each = len(calls.quickbooks) / invoices
    prod_each = len(calls.productive) / invoices

    def verdict(ok: bool) -> str:
        return "ok" if ok else "OVER TARGET"

    lines = [
        f"  wall {wall_seconds:.1f} s; minimum the published limits impose {binding.seconds:.1f} s ({binding.name}); "
        f"{ratio:.2f}x (target <= {TARGET_RATIO}x) {verdict(ratio <= TARGET_RATIO)}",
        f"  QuickBooks calls per invoice {qbo_each:.3f} (target <= {TARGET_QUICKBOOKS_PER_INVOICE}) "
        f"{verdict(qbo_each <= TARGET_QUICKBOOKS_PER_INVOICE)}; {len(calls.quickbooks)} calls, "
        f"429s received: {calls.quickbooks_429s}",
        f"  Productive calls per invoice {prod_each:.3f} (target <= {TARGET_PRODUCTIVE_PER_INVOICE}) "
        f"{verdict(prod_each <= TARGET_PRODUCTIVE_PER_INVOICE)}; {len(calls.productive)} calls, "
        f"429s received: {calls.productive_429s}",
        "      QuickBooks:  " + _by_kind(quickbooks),
        "      Productive:  " + _by_kind(productive),
        f"      steps of one invoice: {describe(kinds)}",
        "      least time per limit, for the calls it admitted:",
    ]
    lines.extend(f"        {bound.seconds:7.1f} s  {bound.name} ({_calls(bound.calls)})" for bound in limits)
    if unknown:
        lines.append("      calls of no known kind (left out of the chain): " + _listed(unknown))
    return lines


def _calls(count: int) -> str:
    return f"{count} call" if count == 1 else f"{count} calls"


def _by_kind(calls: Sequence[RemoteCall]) -> str:
    kinds = Counter(_kind_or_path(call) for call in calls)
    return ", ".join(f"{kind} {count}" for kind, count in kinds.most_common())


def _kind_or_path(call: RemoteCall) -> str:
    try:
        return kind_of(call)
    except ValueError:
        return f"{call.method} {call.path}"


def _listed(calls: Sequence[RemoteCall]) -> str:
    return ", ".join(f"{call.service} {call.method} {call.path}" for call in calls[:10])


def run() -> list[str]:
    lines = [
        f"Bulk copy: {INVOICES} invoices of one company (its customer known) into one realm as one job, "
        f"{LATENCY_SECONDS * 1000:.0f} ms added to every QuickBooks and Productive call, both emulators' rate "
        "limits on"
    ]
    with bench_stack() as (productive, stack, app):
        demo = productive.seed_demo()
        connection_id = connect_demo(stack, app, demo, stack.emulator.US_REALM)
        configure(app, connection_id, demo_settings(demo))
        invoice_ids = [_invoice(productive, demo, index) for index in range(INVOICES + 1)]

        def copy_job(ids: list[str]) -> dict[str, Any]:
            accepted = app.post(f"/connections/{connection_id}/copy-jobs", {"invoice_ids": ids, "mode": "create"})
            assert accepted.status_code == 202, accepted.text
            job_id = accepted.json()["job_id"]
            started = time.monotonic()
            while True:
                drain(stack)
                job = app.get(f"/connections/{connection_id}/copy-jobs/{job_id}").json()
                if job["status"] == "done":
                    return dict(job)
                if time.monotonic() - started > JOB_TIMEOUT_SECONDS:
                    raise TimeoutError(f"the copy job is not done after {JOB_TIMEOUT_SECONDS:.0f} s: {job}")
                time.sleep(0.5)  # a job queued again with a delay comes back later

        # The customer is found or created once, the tax codes and the token cached: not the job's cost.
        warm = copy_job(invoice_ids[:1])
        assert warm["copied"] == 1, warm
        stack.emulator.reset_request_log()
        productive.reset_request_log()
        stack.emulator.set_throttling(enabled=True)
        productive.set_rate_limit(
            requests=PRODUCTIVE_PER_TOKEN[0],
            window_seconds=PRODUCTIVE_PER_TOKEN[1],
            organization_requests=PRODUCTIVE_PER_ORGANIZATION[0],
            organization_window_seconds=PRODUCTIVE_PER_ORGANIZATION[1],
        )
        with injected_latency(stack, productive, LATENCY_SECONDS):
            started = time.perf_counter()
            job = copy_job(invoice_ids[1:])
            wall = time.perf_counter() - started
        stack.emulator.set_throttling(enabled=False)
        productive.set_rate_limit(enabled=False)
        calls = JobCalls.from_logs(
            stack.emulator.request_log, [(e.method, e.path, e.status) for e in productive.request_log]
        )
        lines.extend(report_lines(INVOICES, wall, calls))
        lines.append(f"      job: {job['copied']} copied, {job['failed']} failed")
    return lines


def _invoice(productive: Any, demo: Any, index: int) -> str:
    return str(
        productive.create_invoice(
            demo.organization_id,
            demo.company_acme_id,
            currency="USD",
            subsidiary_id=demo.subsidiary_us_id,
            number=f"B-{uuid.uuid4().hex[:10]}",
            line_items=[
                {
                    "description": f"Work {index}",
                    "quantity": "2",
                    "unit_price": "100",
                    "service_type_id": demo.service_type_ids["Design"],
                    "tax_rate_id": demo.tax_rate_us_exempt_id,
                }
            ],
        )
    )
