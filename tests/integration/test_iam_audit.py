"""The audit itself must be able to fail."""

from __future__ import annotations

from tests.integration.iam_audit import granted_actions, ungranted


def test_an_action_outside_the_role_is_reported() -> None:
    assert ungranted({"oauth_callback": {"dynamodb:Scan", "dynamodb:GetItem"}}) == {"oauth_callback": {"dynamodb:Scan"}}


def test_the_template_grants_are_read() -> None:
    grants = granted_actions()
    assert "secretsmanager:DeleteSecret" in grants["connections"]
    assert "secretsmanager:DeleteSecret" not in grants["oauth_callback"]


def test_an_explicit_role_is_read_too() -> None:
    assert "sqs:ReceiveMessage" in granted_actions()["payment_sync"]
