"""Everything `sam local` does up to Docker, for tests/local/test_sam_local.py: SAM CLI's own environment
for each function (sam_environment.py), `sam local generate-event`, and the function run in a fresh
interpreter with exactly that environment (lambda_process.py)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

from local.template import REPO_ROOT, FunctionSpec, layer_dirs, load_template

SAM = REPO_ROOT / ".venv-sam" / "bin" / "sam"
SAM_PYTHON = REPO_ROOT / ".venv-sam" / "bin" / "python"
HERE = Path(__file__).parent


def _clean_environment(extra: dict[str, str] | None = None) -> dict[str, str]:
    """No AWS_*, QBO_*, PYTHONPATH... of ours: only what a bare shell has, plus `extra`."""
    keep = {name: os.environ[name] for name in ("PATH", "HOME", "LANG", "TMPDIR") if name in os.environ}
    return {**keep, "PYTHONDONTWRITEBYTECODE": "1", **(extra or {})}


def sam_environments(template: Path, env_json: Path, shell: dict[str, str] | None = None) -> dict[str, Any]:
    """Logical id -> {"environment": ..., "handler": ...} as SAM CLI computes them (`shell`: variables of
    the shell sam is started from, e.g. a user's real AWS credentials)."""
    completed = subprocess.run(
        [str(SAM_PYTHON), str(HERE / "sam_environment.py"), str(template), str(env_json)],
        env=_clean_environment(shell),
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert completed.returncode == 0, completed.stderr[-3000:]
    environments: dict[str, Any] = json.loads(completed.stdout)
    return environments


def generate_event(*arguments: str) -> dict[str, Any]:
    """`sam local generate-event ...` (needs no Docker)."""
    completed = subprocess.run(
        [str(SAM), "local", "generate-event", *arguments],
        env=_clean_environment({"SAM_CLI_TELEMETRY": "0"}),
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert completed.returncode == 0, completed.stderr[-3000:]
    event: dict[str, Any] = json.loads(completed.stdout)
    return event


def invoke(
    function: FunctionSpec, environment: dict[str, str], events: list[tuple[str, Any]], work_dir: Path
) -> dict[str, Any]:
    """Run the function's handler on each event in a fresh interpreter with exactly `environment`
    (what the container gets); label -> {"result": ...} or {"error": ..., "message": ...}."""
    events_path = work_dir / f"{function.logical_id}-events.json"
    results_path = work_dir / f"{function.logical_id}-results.json"
    events_path.write_text(json.dumps(events))
    (layer,) = layer_dirs(load_template())
    completed = subprocess.run(
        [
            sys.executable,
            str(HERE / "lambda_process.py"),
            str(REPO_ROOT / function.code_uri),
            str(layer),
            function.handler,
            str(events_path),
            str(results_path),
        ],
        env={**environment, **_clean_environment({"HOME": str(work_dir)})},  # no ~/.aws of this machine
        cwd=work_dir,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert completed.returncode == 0, completed.stdout[-3000:] + completed.stderr[-3000:]
    results: dict[str, Any] = json.loads(results_path.read_text())
    return results
