"""`python -m local.qbo_emulator` in a process of its own, for the bench and the command-line tests."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]
READY = "QBO emulator listening on "


@contextmanager
def emulator_process(
    args: Sequence[str] = (), environment: Mapping[str, str] | None = None
) -> Iterator[tuple[subprocess.Popen[str], str]]:
    """The running process and its base URL (from its first line); stopped on exit."""
    env = {**os.environ, "PYTHONPATH": str(REPO_ROOT), **(environment or {})}
    process = subprocess.Popen(  # noqa: S603 - our own module, with the caller's flags
        [sys.executable, "-m", "local.qbo_emulator", *args], cwd=REPO_ROOT, env=env, stdout=subprocess.PIPE, text=True
    )
    try:
        assert process.stdout is not None
        first = process.stdout.readline()
        if not first.startswith(READY):
            raise RuntimeError(f"the emulator did not start: {first!r}")
        yield process, first.split()[-1]
    finally:
        process.terminate()
        process.wait(timeout=10)
