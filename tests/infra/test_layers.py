"""The layer contracts of pyproject.toml hold (import-linter), and each one fails when the import it
forbids is added; the layer's pinned requirements are the runtime pins."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
LINT_IMPORTS = Path(sys.executable).parent / "lint-imports"


def _lint_imports(root: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(root), str(root / "layers" / "qbosync")])}
    return subprocess.run(
        [str(LINT_IMPORTS), "--no-cache"], cwd=root, env=env, capture_output=True, text=True, check=False, timeout=120
    )


def _copy_of_the_code(tmp_path: Path) -> Path:
    root = tmp_path / "repo"
    shutil.copytree(ROOT / "layers", root / "layers", ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copytree(ROOT / "functions", root / "functions", ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy(ROOT / "pyproject.toml", root / "pyproject.toml")
    return root


def test_the_layer_contracts_hold() -> None:
    done = _lint_imports(ROOT)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "4 kept, 0 broken" in done.stdout


@pytest.mark.parametrize(
    ("module", "forbidden_import", "contract"),
    [
        ("layers/qbosync/qbosync/domain/money.py", "import os", "domain imports nothing of ours outward"),
        ("layers/qbosync/qbosync/domain/money.py", "import boto3", "domain imports nothing of ours outward"),
        ("layers/qbosync/qbosync/domain/money.py", "import qbosync.services.tokens", "domain imports nothing"),
        ("layers/qbosync/qbosync/services/lookups.py", "import qbosync.adapters.secrets", "services receive"),
        ("layers/qbosync/qbosync/services/lookups.py", "import httpx", "services receive"),
        ("layers/qbosync/qbosync/services/lookups.py", "import aws_lambda_powertools", "services receive"),
        ("layers/qbosync/qbosync/api/errors.py", "import qbosync.observability", "only handlers and wiring"),
        ("functions/token_refresh/app.py", "import qbosync.services.tokens", "handlers import api and domain"),
        (
            "functions/token_refresh/app.py",
            "import qbosync.adapters.dynamodb_connections",
            "handlers import api and domain",
        ),
    ],
)
def test_each_contract_fails_when_its_forbidden_import_is_added(
    tmp_path: Path, module: str, forbidden_import: str, contract: str
) -> None:
    root = _copy_of_the_code(tmp_path)
    path = root / module
    text = path.read_text(encoding="utf-8")
    marker = "from __future__ import annotations\n"
    path.write_text(text.replace(marker, marker + forbidden_import + "  # noqa\n", 1), encoding="utf-8")
    done = _lint_imports(root)
    assert done.returncode != 0, done.stdout
    assert contract in done.stdout
    assert "BROKEN" in done.stdout


def test_the_layer_ships_the_runtime_pins() -> None:
    """`make lock` copies requirements/runtime.txt to the layer; a hand edit of either shows here."""
    layer = (ROOT / "layers" / "qbosync" / "requirements.txt").read_text(encoding="utf-8")
    assert layer == (ROOT / "requirements" / "runtime.txt").read_text(encoding="utf-8")


def test_the_git_hooks_are_valid_and_run_the_fast_checks() -> None:
    """`make hooks` installs .pre-commit-config.yaml: ruff, mypy, the layer contracts and the unit tests,
    all from the project's own .venv (nothing downloaded when they run)."""
    config = ROOT / ".pre-commit-config.yaml"
    done = subprocess.run(
        [str(Path(sys.executable).parent / "pre-commit"), "validate-config", str(config)],
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    text = config.read_text(encoding="utf-8")
    hooks = (
        "ruff check",
        "ruff format",
        ".venv/bin/mypy",
        "lint-imports",
        "pytest -q -x -p no:cacheprovider tests/unit",
    )
    for entry in hooks:
        assert entry in text, entry
    assert "repo: local" in text
    assert "language: system" in text
