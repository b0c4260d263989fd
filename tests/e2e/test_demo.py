"""The README's demo command runs the whole story and exits 0."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_demo_runs_the_story_to_the_end() -> None:
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT), str(ROOT / "layers" / "qbosync")])}
    done = subprocess.run(
        [sys.executable, "-m", "local.demo"],
        check=False,
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    out = done.stdout
    for expected in (
        "status=connected",
        "Sandbox Company US",
        "QuickBooks companies' zone",
        "unknown item id            422",
        "'refreshed': 2",
        "warning total_mismatch",
        "same copy                  True",
        "(update) -> QuickBooks invoice",
        "(create) -> QuickBooks invoice",
        "number                     UK-2025-007",
        "total in QuickBooks        2360.86 GBP",
        "attached in QuickBooks     productive-invoice-",
        "copy history kept          2",
        "A partial payment of 400.00 on invoice A",
        "-> void: in Productive after",
        "-> delete: in Productive after",
        "Productive is behind QuickBooks.",
        "-> caught up: in Productive after",
        "DELETE /connections/{id}   204",
        "still connected at Intuit  False",
        "Demo finished.",
    ):
        assert expected in out, expected
    assert '"level"' not in out  # the story, not the handlers' JSON logs
    assert '"_aws"' not in out  # nor their metrics
    assert "(DIFFER)" in out  # once, while webhooks are lost ...
    assert out.split("Productive is behind QuickBooks.")[1].count("(DIFFER)") == 0  # ... and never after
