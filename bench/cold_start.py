"""Cold-start cost of each handler: the import time of its module in a fresh interpreter, with its
function's environment from template.yaml (placeholder resource names), next to the import time of bare
boto3 measured in the same run (issue target: at most 2.0x boto3). Tracing is off, as anywhere outside
Lambda."""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
from pathlib import Path

from local.template import list_functions, load_template, placeholder_names, resolved_environment

ROOT = Path(__file__).resolve().parent.parent
TARGET_RATIO = 2.0
RUNS = 7

_PROBE = "import time; t = time.perf_counter(); import {module}; print(time.perf_counter() - t)"


def handlers() -> list[tuple[str, dict[str, str]]]:
    """Each handler module with its function's environment (a handler checks it when imported)."""
    template = load_template()
    names = placeholder_names(template)
    return sorted(
        (function.module_name, resolved_environment(template, names, function.logical_id))
        for function in list_functions(template)
    )


def import_seconds(module: str, environment: dict[str, str] | None = None, runs: int = RUNS) -> float:
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join([str(ROOT), str(ROOT / "layers" / "qbosync")]),
        "PYTHONDONTWRITEBYTECODE": "0",
        "AWS_DEFAULT_REGION": os.environ.get("AWS_DEFAULT_REGION", "us-east-1"),
        **(environment or {}),
    }
    samples = []
    # One warm-up run so bytecode caches exist, as they do inside a deployed zip.
    for index in range(runs + 1):
        out = subprocess.run(
            [sys.executable, "-c", _PROBE.format(module=module)],
            check=True,
            capture_output=True,
            text=True,
            env=env,
            cwd=ROOT,
        )
        if index:
            samples.append(float(out.stdout.strip().splitlines()[-1]))
    return statistics.median(samples)


def run() -> list[str]:
    lines = [f"Cold start (median import time in a fresh process, {RUNS} runs each)"]
    baseline = import_seconds("boto3")
    lines.append(f"  {'boto3 (baseline)':<36} {baseline * 1000:8.1f} ms")
    worst = 0.0
    for module, environment in handlers():
        seconds = import_seconds(module, environment)
        ratio = seconds / baseline
        worst = max(worst, ratio)
        verdict = "ok" if ratio <= TARGET_RATIO else "OVER TARGET"
        lines.append(f"  {module:<36} {seconds * 1000:8.1f} ms  {ratio:4.2f}x boto3  {verdict}")
    lines.append(f"  target: every handler <= {TARGET_RATIO:.1f}x boto3; worst {worst:.2f}x")
    return lines
