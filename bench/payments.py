"""Payment sync: end-to-end time from a payment recorded in the QuickBooks emulator to the payment
visible in Productive (p50/p95 over 100 payments), and QuickBooks read calls per payment event.

The whole real path runs locally: the emulator's signed webhook -> payment_webhook (gateway) -> SQS
(moto) -> payment_sync (SQS poller, 50 ms poll interval) -> the Productive emulator. Targets (issue 4):
p50 <= 1 s locally; 1 QuickBooks read per payment event. On AWS, the event source's batching window
(MaximumBatchingWindowInSeconds: 1 in template.yaml) adds up to a second that the local poller does not."""

from __future__ import annotations

import statistics
import time
from collections import Counter

from bench.stack import bench_stack
from local.qbo_payments import PaymentDesk, wait_until

PAYMENTS = 100


def run() -> list[str]:
    lines = [
        f"Payment sync (webhook -> SQS -> payment_sync -> Productive), {PAYMENTS} payments, emulators at zero latency"
    ]
    with bench_stack() as (productive, stack, app):
        desk = PaymentDesk(stack, app, productive)
        try:
            invoice_id, qbo_invoice_id = desk.copied_invoice("10", "150.00")
            desk.webhooks_on("cloudevents")
            stack.gateway.start_sqs_pollers(interval=0.05, sqs_client=stack.aws.client("sqs"))
            desk.pay((qbo_invoice_id, "1.00"))  # warm up: first invocation of each function
            wait_until(lambda: len(desk.mirrored(invoice_id)) == 1)
            stack.emulator.webhooks.wait_idle(10)
            stack.emulator.reset_request_log()
            samples = []
            for n in range(2, PAYMENTS + 2):
                started = time.perf_counter()
                desk.pay((qbo_invoice_id, "1.00"))
                wait_until(lambda n=n: len(desk.mirrored(invoice_id)) == n)  # type: ignore[misc]
                samples.append(time.perf_counter() - started)
            stack.emulator.webhooks.wait_idle(10)
            time.sleep(0.5)  # let the last invoice events (if any) finish
            log = [(method, path) for method, path, _ in stack.emulator.request_log if "/v3/company/" in path]
        finally:
            desk.webhooks_off()
            desk.close()
    payment_reads = sum(1 for method, path in log if method == "GET" and "/payment/" in path)
    other_reads = Counter(_read_kind(path) for method, path in log if method == "GET" and "/payment/" not in path)
    writes = sum(1 for method, _ in log if method == "POST")
    p50 = statistics.median(samples) * 1000
    p95 = statistics.quantiles(samples, n=20)[18] * 1000
    verdict = "ok" if p50 <= 1000 else "OVER TARGET"
    lines.append(f"  end to end: p50 {p50:.0f} ms, p95 {p95:.0f} ms  (target p50 <= 1000 ms) {verdict}")
    per_event = payment_reads / PAYMENTS
    lines.append(
        f"  QuickBooks reads per payment event: {per_event:.2f} (target 1) "
        f"{'ok' if per_event <= 1 else 'OVER TARGET'}; payment writes {writes}"
    )
    others = ", ".join(f"{kind} {count}" for kind, count in sorted(other_reads.items()))
    total_others = sum(other_reads.values())
    lines.append(f"  other QuickBooks reads (the invoice events' own): {total_others} ({others or 'none'})")
    return lines


def _read_kind(path: str) -> str:
    """`query` or the entity a GET reads, from a request path of the company's API."""
    entity = path.split("/v3/company/", 1)[1].split("?", 1)[0].split("/")[1:2]
    return entity[0] if entity else "?"
