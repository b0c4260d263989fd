"""No token issued by the emulator (nor the Productive API token) appears in any response, log
line or DynamoDB item of the connection flows."""

from __future__ import annotations

import json
import os

import boto3

from tests.integration.conftest import connect, start_connection


def test_tokens_never_leave_secrets_manager(app, stack, productive, log_records, responses_seen, shift_clock) -> None:
    demo = productive.seed_demo()
    productive_tokens: list[str] = [demo.api_token]
    connection = connect(
        app, stack, org=demo.organization_id, sub=demo.subsidiary_us_id, productive_token=demo.api_token
    )
    # Each call is asserted to have done what it is there for: a leak check over calls that silently
    # failed early would prove nothing.
    assert app.put(f"/connections/{connection.connection_id}/settings", {"default_item_id": "1"}).status_code == 200
    copied = app.post(f"/connections/{connection.connection_id}/invoices/{demo.invoice_usd_id}/copies", {})
    assert copied.status_code == 201, copied.text
    missing = app.post(f"/connections/{connection.connection_id}/invoices/999999/copies", {})
    assert missing.status_code == 404, missing.text  # a Productive 404, read with the Productive token
    uk = connect(app, stack, realm_id=stack.emulator.UK_REALM)
    for conn in (connection, uk):
        assert app.get(f"/connections/{conn.connection_id}").status_code == 200
        assert app.get(f"/connections/{conn.connection_id}/quickbooks/items").status_code == 200
        customers = app.get(f"/connections/{conn.connection_id}/quickbooks/customers", params={"search": "a"})
        assert customers.status_code == 200, customers.text
        refused = app.put(f"/connections/{conn.connection_id}/settings", {"default_item_id": "does-not-exist"})
        assert refused.status_code == 422, refused.text
    refreshes_before = len(stack.emulator.issued_tokens())
    stack.emulator.clock.advance(3700)
    try:
        tax_codes = app.get(f"/connections/{connection.connection_id}/quickbooks/tax-codes")
    finally:
        stack.emulator.clock.advance(-3700)
    assert tax_codes.status_code == 200, tax_codes.text
    assert len(stack.emulator.issued_tokens()) > refreshes_before  # the expired access token was refreshed
    shift_clock(hours=25)
    assert stack.run_schedule("TokenRefreshFunction")["refreshed"] >= 1
    pending = start_connection(app)
    productive_tokens.append(pending["productive_api_token"])
    assert app.delete(f"/connections/{uk.connection_id}").status_code == 204
    refused = app.post("/connections", {"organization_id": "x", "productive_api_token": "pat-leak-check-123456"})
    assert refused.status_code == 422, refused.text  # the body is refused, and its token is not echoed
    productive_tokens.append("pat-leak-check-123456")

    issued = stack.emulator.issued_tokens()
    assert len(issued) >= 6
    secrets = [*issued, *productive_tokens]

    table = boto3.resource("dynamodb", endpoint_url=stack.aws.endpoint_url).Table(os.environ["TABLE_NAME"])
    items = json.dumps(table.scan()["Items"], default=str)
    logs = "\n".join(log_records.lines)
    responses = "\n".join(responses_seen)
    assert logs
    assert responses
    assert items
    for value in secrets:
        assert value not in logs, "a token appears in a log line"
        assert value not in responses, "a token appears in a response"
        assert value not in items, "a token appears in a DynamoDB item"
