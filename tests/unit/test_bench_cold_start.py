"""bench/cold_start.py's arithmetic and its fresh-process measurement (bench/first_invocation.py), on the
local stack's fixture handler. No figure is asserted: only what the bench computes from them."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from bench.cold_start import (
    RemoteCalls,
    Sample,
    least_first_invocation,
    measure,
    not_shipped,
    parse_report,
    report_lines,
)
from bench.first_invocation import REPORT_PREFIX

CONTEXT = {
    "function_name": "EchoFunction",
    "memory_limit_in_mb": 256,
    "invoked_function_arn": "arn:aws:lambda:us-east-1:123456789012:function:EchoFunction",
    "timeout_seconds": 2,
}
FIXTURE_HANDLER = "tests.local.fixture_app.app.lambda_handler"


def test_the_report_is_the_last_prefixed_line_after_the_handlers_logs() -> None:
    report = {"import_seconds": 0.25, "total_seconds": 0.5, "result": {"statusCode": 200}}
    stdout = '{"level":"INFO","message":"REPORT_PREFIX lookalike"}\n' + REPORT_PREFIX + json.dumps(report) + "\n"
    assert parse_report(stdout) == (Sample(0.25, 0.5), {"statusCode": 200})
    with pytest.raises(ValueError, match="no report"):
        parse_report('{"level":"ERROR"}\n')


def test_handlers_are_compared_with_boto3_for_imports_and_with_the_floor_for_first_invocations() -> None:
    floor = [Sample(0.100, 0.200), Sample(0.300, 0.900), Sample(0.100, 0.200)]  # medians 100 ms, 200 ms
    handlers = {
        "functions.fast.app": ("GET /fast", [Sample(0.150, 0.300)]),
        "functions.slow.app": ("POST /slow", [Sample(0.250, 0.250), Sample(0.100, 0.600), Sample(0.250, 0.500)]),
    }
    lines = report_lines(floor, handlers)
    fast = next(line for line in lines if "functions.fast.app" in line)
    slow = next(line for line in lines if "functions.slow.app" in line)
    assert "150.0 ms 1.50x boto3 ok" in fast
    assert "300.0 ms 1.50x floor ok" in fast
    assert "250.0 ms 2.50x boto3 OVER TARGET" in slow
    assert "500.0 ms 2.50x floor OVER TARGET" in slow
    assert "      first request: POST /slow" in lines
    assert lines[-2].endswith("(worst 2.50x); first invocation <= 1.5x floor (worst 2.50x)")


def test_calls_beyond_the_floors_are_priced_at_its_warm_call_and_name_the_handlers_they_put_over() -> None:
    two = RemoteCalls(aws=2)
    floor = [Sample(0.100, 0.200, two, 0.005), Sample(0.100, 0.200, two, 0.007), Sample(0.100, 0.200, two, 0.006)]
    few = RemoteCalls(aws=3, quickbooks=1, productive=2)  # 4 more than the floor's: 24 ms at 6 ms
    many = RemoteCalls(aws=40, quickbooks=4, productive=8)  # 50 more: 300 ms
    assert least_first_invocation(Sample(0.1, 0.2, two, 0.006), few) == pytest.approx(0.224)
    assert least_first_invocation(Sample(0.1, 0.2, two, 0.006), RemoteCalls(aws=1)) == pytest.approx(0.2)
    handlers = {
        "functions.few.app": ("GET /few", [Sample(0.150, 0.448, few)]),
        "functions.many.app": ("POST /many", [Sample(0.150, 0.600, many), Sample(0.150, 0.700, many)]),
    }
    lines = report_lines(floor, handlers)
    assert "  floor: remote calls                      2    (a warm call: 6.0 ms)" in lines
    assert (
        "      remote calls: 6 (AWS 3, QuickBooks 1, Productive 2); least with these calls: 224.0 ms "
        "1.12x floor; the rest: 2.00x that"
    ) in lines
    assert "least with these calls: 500.0 ms 2.50x floor; the rest: 1.30x that" in lines[-3]
    assert lines[-1] == (
        "  least first invocation the calls allow: worst 2.50x floor; over the target by its calls alone: "
        "functions.many.app"
    )


def test_the_calls_of_a_process_are_what_the_servers_received_meanwhile_less_the_floors_untimed_ones() -> None:
    counts = iter([RemoteCalls(10, 5, 7), RemoteCalls(13, 6, 7)])
    order = {"handler": FIXTURE_HANDLER, "event": {"rawPath": "/plain"}, "context": CONTEXT}
    sample, _ = measure(order, {}, lambda: next(counts))
    assert sample.calls == RemoteCalls(3, 1, 0)
    assert sample.warm_call_seconds == 0.0


def test_not_shipped_is_what_no_pinned_distribution_provides(tmp_path: Path) -> None:
    requirements = tmp_path / "runtime.txt"
    requirements.write_text(
        "# pinned\nTyping_Extensions==4.16.0 \\\n    --hash=sha256:00\nhttpx==0.28.1\n", encoding="utf-8"
    )
    installed = {
        "typing_extensions": ["typing-extensions"],
        "httpx": ["httpx"],
        "rich": ["rich"],
        "yaml": ["PyYAML"],
        "tests": ["some-sloppy-dist"],  # our own package name, never blocked
    }
    assert not_shipped(requirements, installed) == ["rich", "yaml"]


def test_a_fresh_process_runs_the_handler_with_the_environment_and_context_given() -> None:
    order = {"handler": FIXTURE_HANDLER, "event": {"rawPath": "/context"}, "context": CONTEXT}
    sample, result = measure(order, {"FIXTURE_STAGE": "bench"})
    seen = json.loads(result["body"])
    assert seen["env"]["FIXTURE_STAGE"] == "bench"
    assert seen["function_name"] == "EchoFunction"
    assert 0 < seen["remaining_ms"] <= 2000
    assert 0 < sample.import_seconds <= sample.total_seconds


def test_a_module_not_shipped_fails_to_import_in_the_fresh_process() -> None:
    order = {"handler": FIXTURE_HANDLER, "event": {"rawPath": "/plain"}, "context": CONTEXT}
    assert measure(order, {})[1] == {"answer": 42}
    with pytest.raises(RuntimeError, match="ModuleNotFoundError"):
        measure({**order, "not_shipped": ["tests"]}, {})
