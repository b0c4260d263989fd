"""Copy to QuickBooks: calls per copy (per PDF setting) and in-process latency over 200 copies.

Targets (issue 3): 2 QuickBooks calls (the invoice write + one to move the PDF; no read of anything
cached) and at most 4 Productive calls (invoice, line items, PDF, write-back) for a copy whose
customer is known and whose items are mapped; p50 <= 40 ms with the emulators at zero latency.
AWS calls per copy are listed too (connection, token secret, customer mapping, the lock that also
records the attempt, the one batch write that finishes the copy).

A credit note copied with apply_credit_notes on (parent copied, known customer): target 3 QuickBooks
calls (the credit memo create, the PDF move, the Payment that applies it), plus the read of the parent
invoice's open balance that the amount applied depends on."""

from __future__ import annotations

import importlib
import resource
import statistics
import time
import tracemalloc
from typing import Any

from bench.stack import aws_calls, bench_stack, configure, connect_demo, demo_settings

COPIES = 200


def run() -> list[str]:
    lines = ["Copy to QuickBooks (known customer, mapped items, emulators at zero added latency)"]
    with bench_stack() as (productive, stack, app):
        demo = productive.seed_demo()
        connection_id = connect_demo(stack, app, demo, stack.emulator.US_REALM)
        wiring = importlib.import_module("qbosync.wiring")
        domain_copies = importlib.import_module("qbosync.domain.copies")

        def copy(pdf_source: str) -> float:
            started = time.perf_counter()
            wiring.copy_service().copy(
                domain_copies.CopyRequest(
                    connection_id=connection_id,
                    invoice_id=demo.invoice_usd_id,
                    customer_id=None,
                    tax_code_id="2",
                    mode="create",
                )
            )
            return time.perf_counter() - started

        for pdf_source in ("quickbooks", "productive"):
            configure(app, connection_id, demo_settings(demo, pdf_source=pdf_source))
            copy(pdf_source)  # first copy: finds or creates the customer, caches what it can
            stack.emulator.reset_request_log()
            productive.reset_request_log()
            with aws_calls() as calls:
                copy(pdf_source)
            qbo_calls = [e for e in stack.emulator.request_log if e[1].startswith("/v3/")]
            productive_calls = productive.request_log
            lines.append(
                f"  pdf_source={pdf_source:<10}  QuickBooks calls: {len(qbo_calls)} (target 2)   "
                f"Productive calls: {len(productive_calls)} (target <= 4)"
            )
            lines.append(f"      AWS calls: {len(calls)}  ({', '.join(map(str, calls))})")
            lines.append("      QuickBooks:  " + ", ".join(f"{m} {_short(p)}" for m, p, _ in qbo_calls))
            lines.append("      Productive:  " + ", ".join(f"{e.method} {e.path}" for e in productive_calls))

        lines.extend(_credit_note_lines(productive, stack, demo, connection_id, wiring, domain_copies))

        samples = [copy("productive") for _ in range(COPIES)]
        # Allocation tracing slows Python down, so memory is measured on separate copies.
        tracemalloc.start()
        for _ in range(20):
            copy("productive")
        _, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
        p50 = statistics.median(samples) * 1000
        p95 = statistics.quantiles(samples, n=20)[18] * 1000
        verdict = "ok" if p50 <= 40 else "OVER TARGET"
        lines.append(
            f"  latency over {COPIES} copies: p50 {p50:.1f} ms, p95 {p95:.1f} ms  (target p50 <= 40 ms) {verdict}"
        )
        max_rss_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        lines.append(
            f"  memory: peak Python allocations during a copy {peak / 1e6:.1f} MB; "
            f"process peak RSS {max_rss_mb:.0f} MB (whole process: emulators, moto, gateway included)"
        )
    return lines


def _credit_note_lines(
    productive: Any, stack: Any, demo: Any, connection_id: str, wiring: Any, domain_copies: Any
) -> list[str]:
    """One credit note copy with apply_credit_notes on, its parent invoice copied before."""

    def copy(invoice_id: str) -> Any:
        return wiring.copy_service().copy(
            domain_copies.CopyRequest(
                connection_id=connection_id, invoice_id=invoice_id, customer_id=None, tax_code_id="2", mode="create"
            )
        )

    parent = copy(demo.invoice_usd_id)
    note_id = productive.create_credit_note(
        demo.organization_id,
        demo.invoice_usd_id,
        line_items=[
            {"description": "Credit", "quantity": "1", "unit_price": "-100", "tax_rate_id": demo.tax_rate_us_exempt_id}
        ],
    )
    stack.emulator.reset_request_log()
    productive.reset_request_log()
    with aws_calls() as calls:
        record = copy(note_id)
    assert record.credit_application is not None, record
    assert record.credit_application.quickbooks_invoice_id == parent.quickbooks_id
    qbo_calls = [e for e in stack.emulator.request_log if e[1].startswith("/v3/")]
    return [
        f"  credit note, applied: QuickBooks calls: {len(qbo_calls)} (target 3)   "
        f"Productive calls: {len(productive.request_log)}",
        f"      AWS calls: {len(calls)}  ({', '.join(map(str, calls))})",
        "      QuickBooks:  " + ", ".join(f"{m} {_short(p)}" for m, p, _ in qbo_calls),
        "      Productive:  " + ", ".join(f"{e.method} {e.path}" for e in productive.request_log),
    ]


def _short(path: str) -> str:
    parts = path.split("/")
    return "/".join(parts[4:]) if len(parts) > 4 else path
