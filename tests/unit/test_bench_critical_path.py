"""bench/critical_path.py's arithmetic: the kind of each remote call, the longest chain of dependent
calls, the calls that ran one after another, and the report. No figure is measured here."""

from __future__ import annotations

import pytest

from bench.critical_path import (
    DEPENDS_ON,
    CopyRun,
    RemoteCall,
    describe,
    kind_of,
    longest_chain,
    remote_call,
    report_lines,
    run_in_sequence,
    steps,
)

REALM = "/v3/company/9341453200000101"


def _warm_copy(pdf_source: str = "quickbooks") -> list[RemoteCall]:
    """The calls of a warm invoice copy, as the emulators see them, on a timeline in ms."""
    pdf = (
        [
            remote_call("QuickBooks", "GET", f"{REALM}/invoice/1044/pdf", started=0.4, ended=0.6),
            remote_call("Productive", "POST", "/api/v2/attachments", started=0.6, ended=0.8),
        ]
        if pdf_source == "quickbooks"
        else [
            remote_call("Productive", "GET", "/api/v2/invoices/1019/pdf", started=0.4, ended=0.6),
            remote_call("QuickBooks", "POST", f"{REALM}/upload", started=0.6, ended=0.8),
        ]
    )
    return [
        remote_call("Productive", "GET", "/api/v2/invoices/1019", "include=company", 0.0, 0.2),
        remote_call("Productive", "GET", "/api/v2/line_items", "filter%5Binvoice_id%5D=1019", 0.0, 0.2),
        remote_call("QuickBooks", "POST", f"{REALM}/invoice", started=0.2, ended=0.4),
        *pdf,
        remote_call("Productive", "PATCH", "/api/v2/invoices/1019", started=0.4, ended=0.6),
    ]


@pytest.mark.parametrize("pdf_source", ["quickbooks", "productive"])
def test_a_warm_invoice_copy_has_a_chain_of_four_whichever_way_the_pdf_goes(pdf_source: str) -> None:
    calls = _warm_copy(pdf_source)
    kinds = [kind_of(call) for call in calls]
    assert kinds[:3] == ["read invoice", "read lines", "write"]
    assert sorted(kinds[3:]) == ["download PDF", "upload PDF", "write-back"]
    assert longest_chain(kinds) == ["read invoice", "write", "download PDF", "upload PDF"]
    assert describe(kinds) == "[read invoice | read lines] -> write -> [download PDF | write-back] -> upload PDF"


def test_the_api_prefixes_come_off_and_a_query_for_customers_is_a_customer_lookup() -> None:
    assert remote_call("QuickBooks", "post", f"{REALM}/batch").path == "/batch"
    assert remote_call("Productive", "GET", "/api/v2/invoices").path == "/invoices"
    customers = remote_call("QuickBooks", "GET", f"{REALM}/query", "query=select+%2A+from+Customer+where+x")
    tax = remote_call("QuickBooks", "GET", f"{REALM}/query", "query=select%20*%20from%20TaxCode")
    assert (kind_of(customers), kind_of(tax)) == ("find customer", "read QuickBooks")
    assert kind_of(remote_call("QuickBooks", "POST", f"{REALM}/batch")) == "write"
    assert kind_of(remote_call("Productive", "GET", "/api/v2/invoices")) == "read invoice"  # by id list


def test_a_call_of_no_known_kind_is_refused_rather_than_left_out() -> None:
    with pytest.raises(ValueError, match="no kind for the QuickBooks call DELETE /invoice"):
        kind_of(remote_call("QuickBooks", "DELETE", f"{REALM}/invoice"))


def test_a_customer_found_and_created_first_lengthens_the_chain_and_a_credit_applies_after_the_write() -> None:
    cold = ["read invoice", "read lines", "read QuickBooks", "find customer", "create customer", "write", "write-back"]
    assert longest_chain(cold) == ["read invoice", "find customer", "create customer", "write", "write-back"]
    credit = ["read invoice", "read lines", "write", "read QuickBooks", "apply credit", "download PDF", "upload PDF"]
    assert len(longest_chain(credit)) == 4
    assert steps(credit)[-1] == ["upload PDF"]
    assert longest_chain([]) == []


def test_dependencies_that_go_round_are_an_error() -> None:
    with pytest.raises(ValueError, match="circle"):
        longest_chain(["a", "b"], {"a": ("b",), "b": ("a",)})
    assert all(needed in DEPENDS_ON for needs in DEPENDS_ON.values() for needed in needs)


def test_as_run_counts_the_most_calls_that_ran_one_after_another() -> None:
    assert len(run_in_sequence(_warm_copy())) == 4  # reads, write, PDF download (or write-back), upload
    one_by_one = [RemoteCall("Productive", "GET", f"/{i}", started=i * 0.2, ended=(i + 1) * 0.2) for i in range(6)]
    assert run_in_sequence(one_by_one) == one_by_one
    long_then_short = [
        RemoteCall("QuickBooks", "GET", "/long", started=0.0, ended=1.0),
        RemoteCall("QuickBooks", "GET", "/a", started=0.1, ended=0.2),
        RemoteCall("QuickBooks", "GET", "/b", started=0.3, ended=0.4),
    ]
    assert [call.path for call in run_in_sequence(long_then_short)] == ["/a", "/b"]


def test_the_report_takes_the_median_copy_against_its_chain_times_the_latency() -> None:
    runs = [CopyRun(wall, tuple(_warm_copy()), 0.0) for wall in (0.95, 0.90, 0.99)]
    lines = report_lines("pdf_source=quickbooks", runs, latency=0.2)
    assert "wall 950 ms (median of 3)" in lines[0]
    assert "4 x 200 ms = 800 ms; 1.19x (target <= 1.15x) OVER TARGET" in lines[0]
    assert lines[2] == "      as run: 4 of 6 calls one after another"
    fast = report_lines("x", [CopyRun(0.9, tuple(_warm_copy()), 0.0)], latency=0.2)
    assert fast[0].endswith("1.12x (target <= 1.15x) ok")


def test_copies_whose_chains_differ_are_not_summed_up_as_one() -> None:
    short = tuple(call for call in _warm_copy() if kind_of(call) != "upload PDF")
    with pytest.raises(ValueError, match=r"chains differ in length: \[3, 4\]"):
        report_lines("x", [CopyRun(0.9, tuple(_warm_copy()), 0.0), CopyRun(0.9, short, 0.0)])
