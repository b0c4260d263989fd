"""Disconnecting revokes at Intuit, deletes the secret, and can be undone by connecting again."""

from __future__ import annotations

import os

import boto3
import pytest
from botocore.exceptions import ClientError

from tests.integration.conftest import connect, follow_consent, outcome, start_connection


def test_disconnect_revokes_deletes_secret_and_allows_reconnect(app, stack) -> None:
    company = stack.emulator.add_company()  # no other connection uses it, so disconnecting revokes
    connection = connect(app, stack, realm_id=company)
    assert stack.emulator.is_connected(company, stack.client_id)
    response = app.delete(f"/connections/{connection.connection_id}")
    assert response.status_code == 204
    assert response.content == b""
    assert not stack.emulator.is_connected(company, stack.client_id)
    body = app.get(f"/connections/{connection.connection_id}").json()
    assert body["status"] == "disconnected"
    secrets = boto3.client("secretsmanager", endpoint_url=stack.aws.endpoint_url)
    with pytest.raises(ClientError):
        secrets.get_secret_value(SecretId=os.environ["CONNECTION_SECRET_PREFIX"] + connection.connection_id)
    lookup = app.get(f"/connections/{connection.connection_id}/quickbooks/items")
    assert lookup.status_code == 409
    # Disconnecting twice is fine.
    assert app.delete(f"/connections/{connection.connection_id}").status_code == 204
    again = start_connection(app, org=connection.organization_id, sub=connection.subsidiary_id)
    assert again["status"] == "pending"
    location = follow_consent(stack, again["authorize_url"], realm_id=company)
    assert outcome(location)["status"] == "connected"
    assert app.get(f"/connections/{connection.connection_id}/quickbooks/items").status_code == 200


def test_disconnect_unknown_connection_is_404(app) -> None:
    response = app.delete("/connections/00000000-0000-0000-0000-000000000000")
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "connection_not_found"
