"""bench/bulk_copy.py's arithmetic: the least time the published limits allow for a job's calls, and
its report from the emulators' request logs. No figure is measured here."""

from __future__ import annotations

import pytest

from bench.bulk_copy import JobCalls, bounds, report_lines, slot_seconds, window_seconds

REALM = "/v3/company/9341453200000101"


@pytest.mark.parametrize(
    ("calls", "requests", "window", "seconds"),
    [
        (0, 100, 10.0, 0.0),  # no calls: the limit costs nothing
        (1, 100, 10.0, 0.2),
        (100, 100, 10.0, 0.2),  # a full window's worth goes at once
        (101, 100, 10.0, 10.2),  # the 101st waits for the first one's window to pass
        (620, 100, 10.0, 60.2),
        (620, 4000, 1800.0, 0.2),  # a long window lets a short job burst
        (310, 10, 1.0, 30.2),
    ],
)
def test_a_window_limit_spaces_every_nth_call_one_window_apart(
    calls: int, requests: int, window: float, seconds: float
) -> None:
    assert window_seconds(calls, requests, window, latency=0.2) == pytest.approx(seconds)


def test_ten_slots_take_calls_in_waves_of_ten() -> None:
    assert slot_seconds(31, 10, 0.2) == pytest.approx(0.8)
    assert slot_seconds(30, 10, 0.2) == pytest.approx(0.6)
    assert slot_seconds(0, 10, 0.2) == 0.0


def _logs(invoices: int, *, qbo_429s: int = 0, productive_429s: int = 0) -> JobCalls:
    """A job of `invoices` in batches of 30 with the PDF from QuickBooks, as the emulators log it."""
    batches = -(-invoices // 30)
    quickbooks = [
        ("POST", "/oauth2/v1/tokens/bearer", 200),  # not the Accounting API: not counted
        *[("POST", f"{REALM}/batch", 200)] * batches,
        *[("GET", f"{REALM}/invoice/{n}/pdf", 200) for n in range(invoices)],
        *[("GET", f"{REALM}/invoice/1/pdf", 429)] * qbo_429s,
    ]
    productive = [
        *[("GET", "/api/v2/invoices", 200), ("GET", "/api/v2/line_items", 200)] * batches,
        *[("POST", "/api/v2/attachments", 200)] * invoices,
        *[("PATCH", f"/api/v2/invoices/{n}", 200) for n in range(invoices)],
        *[("PATCH", "/api/v2/invoices/1", 429)] * productive_429s,
    ]
    return JobCalls.from_logs(quickbooks, productive)


def test_each_limit_counts_the_calls_it_admitted_and_the_chain_is_one_invoices() -> None:
    quickbooks, productive = _logs(300, qbo_429s=5).admitted()
    by_name = {bound.name: bound for bound in bounds(quickbooks, productive, chain=4, latency=0.2)}
    assert by_name["QuickBooks 10 requests/s per realm and app"].calls == 310
    assert by_name["QuickBooks 10 requests/s per realm and app"].seconds == pytest.approx(30.2)
    assert by_name["QuickBooks 500 requests/min per realm"].seconds == pytest.approx(0.2)
    assert by_name["QuickBooks 10 concurrent requests per realm and app"].seconds == pytest.approx(6.2)
    assert by_name["QuickBooks 40 batch requests/min per realm and app"].calls == 10
    assert by_name["Productive 100 requests/10 s per token"].seconds == pytest.approx(60.2)
    assert by_name["Productive 4,000 requests/30 min per organization"].seconds == pytest.approx(0.2)
    assert by_name["one invoice's chain of 4 dependent calls"].seconds == pytest.approx(0.8)


def test_the_report_sets_the_wall_time_against_the_binding_limit_and_counts_429s_per_invoice() -> None:
    lines = report_lines(300, 84.28, _logs(300, qbo_429s=6, productive_429s=3), latency=0.2)
    assert lines[0] == (
        "  wall 84.3 s; minimum the published limits impose 60.2 s (Productive 100 requests/10 s per token); "
        "1.40x (target <= 1.5x) ok"
    )
    assert lines[1] == "  QuickBooks calls per invoice 1.053 (target <= 1.1) ok; 316 calls, 429s received: 6"
    assert lines[2] == "  Productive calls per invoice 2.077 (target <= 2.1) ok; 623 calls, 429s received: 3"
    assert (
        "      steps of one invoice: [read invoice | read lines] -> write -> [download PDF | write-back] -> upload PDF"
        in lines
    )
    slow = report_lines(300, 120.0, _logs(300), latency=0.2)
    assert slow[0].endswith("1.99x (target <= 1.5x) OVER TARGET")


def test_calls_of_no_known_kind_are_listed_and_counted_but_left_out_of_the_chain() -> None:
    calls = JobCalls.from_logs(
        [("POST", f"{REALM}/batch", 200), ("DELETE", f"{REALM}/invoice", 200)],
        [("GET", "/api/v2/invoices", 200)],
    )
    lines = report_lines(1, 1.0, calls, latency=0.2)
    assert "QuickBooks calls per invoice 2.000 (target <= 1.1) OVER TARGET" in lines[1]
    assert "      steps of one invoice: read invoice -> write" in lines
    assert lines[-1] == "      calls of no known kind (left out of the chain): QuickBooks DELETE /invoice"
