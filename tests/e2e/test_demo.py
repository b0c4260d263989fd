"""The README's demo command runs the whole story and exits 0."""

from __future__ import annotations

import os
import re
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
        capture_output=True,  # bytes: text mode would turn the progress line's carriage returns into newlines
        timeout=300,
    )
    out, err = done.stdout.decode(), done.stderr.decode(errors="replace")
    assert done.returncode == 0, out[-3000:] + err[-3000:]
    # What the story shows, not how it is laid out: a label and its value, however far apart.
    facts = {
        "status=connected": None,
        "QuickBooks companies' zone": None,
        "company_name": "Sandbox Company US",
        "unknown item id": "422",
        "'refreshed'": "2",
        "warning": "total_mismatch",
        "same copy": "True",
        "(update) -> QuickBooks invoice": None,
        "(create) -> QuickBooks invoice": None,
        "number": "UK-2025-007",
        "total in QuickBooks": "2360.86 GBP",
        "attached in QuickBooks": "productive-invoice-",
        "copy history kept": "2",
        "job summary": "done: 49 copied, 1 failed of 50",
        "failed item": "invoice 2025-137",
        "code": "currency_not_supported",
        "message": "The invoice is in EUR but the QuickBooks company works only in USD",
        "A partial payment of 400.00 on invoice A": None,
        "-> void: in Productive after": None,
        "-> delete: in Productive after": None,
        "Productive is behind QuickBooks.": None,
        "-> caught up: in Productive after": None,
        "DELETE /connections/{id}": "204",
        "still connected at Intuit": "False",
        "Demo finished.": None,
    }
    for label, value in facts.items():
        pattern = re.escape(label) + (r"[\s:]+" + re.escape(value) if value is not None else "")
        assert re.search(pattern, out), (label, value)
    # The bulk job's progress line is redrawn in place and ends complete; its copies agree with Productive.
    assert re.search(r"\r  copying +50/50 +copied +49 +failed +1 +pending +0\n", out)
    [(quickbooks_id, export_id)] = re.findall(
        r"copied item .*QuickBooks invoice #(\d+), Productive export_id (\d+)", out
    )
    assert quickbooks_id == export_id
    assert '"level"' not in out  # the story, not the handlers' JSON logs
    assert '"_aws"' not in out  # nor their metrics
    assert "(DIFFER)" in out  # once, while webhooks are lost ...
    assert out.split("Productive is behind QuickBooks.")[1].count("(DIFFER)") == 0  # ... and never after
    # The activity log after the story (the US connection's): every event once, newest first, and nothing
    # left alone (every payment of the story is mirrored).
    log = out.split("The activity log: GET /connections/{id}/activity")[1]
    [by_kind] = re.findall(r"by kind +(.+)\n", log)
    counts = {kind: int(count) for kind, count in re.findall(r"(\w+) (\d+)", by_kind)}
    assert counts == {
        "connected": 1,
        "settings_changed": 1,
        "copy_created": 53,  # two single copies, 49 of the bulk job, the payment story's two
        "copy_updated": 1,
        "copy_failed": 1,
        "copy_job": 1,
        "payment_mirrored": 6,
        "payment_updated": 1,
        "payment_removed": 3,
        "reconcile_run": 1,
        "token_refreshed": 1,  # the scheduled job's refresh, a day later
        "disconnected": 1,
    }, by_kind
    assert re.search(r"entries +71 in 2 pages", log)
    assert re.search(r"by kind .*\n +[\d:.]+ +disconnected +Disconnected from the QuickBooks company", log)
    assert re.search(r"invoice \d+ only +copy_created, copy_updated, copy_created\n", log)
    assert re.search(r"copy_failed +currency_not_supported: Invoice \d+ was not copied", log)
