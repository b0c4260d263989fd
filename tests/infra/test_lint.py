"""The template lints clean: cfn-lint's own rules and the serverless rules (cfn-lint-serverless)."""

from __future__ import annotations

from pathlib import Path

import pytest
from cfnlint.api import ManualArgs, lint_file

from local.template import TEMPLATE_PATH


@pytest.mark.parametrize("extra_rules", [[], ["cfn_lint_serverless.rules"]], ids=["cfn-lint", "cfn-lint-serverless"])
def test_template_lints_clean(extra_rules: list[str]) -> None:
    matches = lint_file(TEMPLATE_PATH, ManualArgs(append_rules=extra_rules, regions=["us-east-1"]))
    assert [str(match) for match in matches] == []


def test_linter_reports_a_broken_template(tmp_path: Path) -> None:
    """The check above can fail: a template without retention on a log group is reported."""
    broken = TEMPLATE_PATH.read_text().replace(
        "      RetentionInDays: !Ref LogRetentionDays\n", "      RetentionInDays: 42\n", 1
    )
    path = tmp_path / "template.yaml"
    path.write_text(broken)
    matches = lint_file(path, ManualArgs(regions=["us-east-1"]))
    assert any("42" in str(match) for match in matches)
