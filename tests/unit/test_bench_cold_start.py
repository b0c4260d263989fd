"""bench/cold_start.py's arithmetic and its fresh-process measurement (bench/first_invocation.py), on the
local stack's fixture handler. No figure is asserted: only what the bench computes from them."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from bench.cold_start import Sample, measure, not_shipped, parse_report, report_lines
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
    assert lines[-1].endswith("(worst 2.50x); first invocation <= 1.5x floor (worst 2.50x)")


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
