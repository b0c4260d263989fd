"""The token lifecycle against the emulator's strict rotation: on-demand refresh, 20 concurrent
refreshes, the scheduled job, invalid_grant, and reconnecting."""

from __future__ import annotations

import json
import os
import sys
import threading
from datetime import UTC, datetime

import boto3
import httpx

from tests.integration.conftest import connect, follow_consent, outcome, start_connection, wiring


def _secret(stack, connection_id: str) -> dict:
    client = boto3.client("secretsmanager", endpoint_url=stack.aws.endpoint_url)
    name = os.environ["CONNECTION_SECRET_PREFIX"] + connection_id
    return json.loads(client.get_secret_value(SecretId=name)["SecretString"])


def _revoke_at_intuit(stack, refresh_token: str) -> None:
    """What happens when the user disconnects the app from inside QuickBooks."""
    credentials = wiring().app_secrets().intuit()
    response = httpx.post(
        f"{stack.emulator.base_url}/v2/oauth2/tokens/revoke",
        json={"token": refresh_token},
        auth=(credentials.client_id, credentials.client_secret),
    )
    assert response.status_code == 200


def _run_token_refresh(stack) -> dict:
    return stack.run_schedule("TokenRefreshFunction")


def test_expired_access_token_is_refreshed_during_a_request(app, stack) -> None:
    connection = connect(app, stack)
    before = _secret(stack, connection.connection_id)["qbo"]
    stack.emulator.clock.advance(3700)  # Intuit now considers the access token expired
    try:
        response = app.get(f"/connections/{connection.connection_id}/quickbooks/items")
    finally:
        stack.emulator.clock.advance(-3700)
    assert response.status_code == 200, response.text
    after = _secret(stack, connection.connection_id)["qbo"]
    assert after["refresh_token"] != before["refresh_token"]
    assert after["access_token"] != before["access_token"]
    assert app.get(f"/connections/{connection.connection_id}").json()["status"] == "connected"


def test_access_token_near_expiry_is_refreshed_before_use(app, stack, shift_clock) -> None:
    connection = connect(app, stack)
    before = _secret(stack, connection.connection_id)["qbo"]
    shift_clock(minutes=58)
    assert app.get(f"/connections/{connection.connection_id}/quickbooks/items").status_code == 200
    assert _secret(stack, connection.connection_id)["qbo"]["refresh_token"] != before["refresh_token"]


def test_twenty_threads_refreshing_at_once_keep_the_connection(app, stack) -> None:
    connection = connect(app, stack)
    stored = _secret(stack, connection.connection_id)["qbo"]
    current = stored["access_token"]
    service = wiring().token_service()
    barrier = threading.Barrier(20)
    results: list[str] = []
    errors: list[BaseException] = []

    def worker() -> None:
        barrier.wait()
        try:
            results.append(service.refresh(connection.connection_id, rejected_access_token=current).access_token)
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=worker) for _ in range(20)]
    interval = sys.getswitchinterval()
    sys.setswitchinterval(1e-5)  # as under load: every thread here (moto's too) is preempted often
    try:
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    finally:
        sys.setswitchinterval(interval)
    assert errors == []
    assert len(set(results)) == 1  # everyone ends up with the one new token
    # One refresh at Intuit, with the stored refresh token: none of the twenty sent a stale copy.
    presented = stack.emulator.presented_refresh_tokens(family=stored["refresh_token"])
    assert [(p.token, p.outcome) for p in presented] == [(stored["refresh_token"], "accepted")]
    assert app.get(f"/connections/{connection.connection_id}").json()["status"] == "connected"
    # And the saved refresh token is the one Intuit still accepts.
    assert app.get(f"/connections/{connection.connection_id}/quickbooks/items").status_code == 200


def test_twenty_concurrent_requests_after_expiry_all_succeed(app, stack) -> None:
    connection = connect(app, stack)
    stack.emulator.clock.advance(3700)
    statuses: list[int] = []
    barrier = threading.Barrier(20)

    def worker() -> None:
        barrier.wait()
        statuses.append(app.get(f"/connections/{connection.connection_id}/quickbooks/tax-codes").status_code)

    try:
        threads = [threading.Thread(target=worker) for _ in range(20)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    finally:
        stack.emulator.clock.advance(-3700)
    assert statuses == [200] * 20
    assert app.get(f"/connections/{connection.connection_id}").json()["status"] == "connected"


def test_scheduled_job_refreshes_due_connections_and_records_dates(app, stack, shift_clock) -> None:
    connection = connect(app, stack)
    before = app.get(f"/connections/{connection.connection_id}").json()
    shift_clock(hours=25)  # a day later, for us and for Intuit
    stack.emulator.clock.advance(25 * 3600)
    try:
        summary = _run_token_refresh(stack)
    finally:
        stack.emulator.clock.advance(-25 * 3600)
    assert summary["refreshed"] >= 1
    after = app.get(f"/connections/{connection.connection_id}").json()
    assert after["status"] == "connected"
    assert datetime.fromisoformat(after["access_expires_at"]) > datetime.fromisoformat(before["access_expires_at"])
    assert datetime.fromisoformat(after["refresh_expires_at"]) > datetime.fromisoformat(before["refresh_expires_at"])
    # The hard cap never moves (to the second: both are "now + what Intuit says remains").
    hard_before = datetime.fromisoformat(before["refresh_hard_expires_at"])
    hard_after = datetime.fromisoformat(after["refresh_hard_expires_at"])
    assert abs((hard_after - hard_before).total_seconds()) < 5


def test_revoked_grant_becomes_needs_reconnect_and_reconnecting_fixes_it(app, stack, shift_clock) -> None:
    connection = connect(app, stack)
    _revoke_at_intuit(stack, _secret(stack, connection.connection_id)["qbo"]["refresh_token"])
    shift_clock(hours=25)
    summary = _run_token_refresh(stack)
    assert summary["needs_reconnect"] >= 1
    body = app.get(f"/connections/{connection.connection_id}").json()
    assert body["status"] == "needs_reconnect"
    assert body["status_reason"] == "invalid_grant"
    lookup = app.get(f"/connections/{connection.connection_id}/quickbooks/items")
    assert lookup.status_code == 409
    assert lookup.json()["error"]["details"]["status"] == "needs_reconnect"
    # The user goes through OAuth again from Productive.
    again = start_connection(app, org=connection.organization_id, sub=connection.subsidiary_id)
    assert again["connection_id"] == connection.connection_id
    assert outcome(follow_consent(stack, again["authorize_url"], realm_id=stack.emulator.US_REALM))["status"] == (
        "connected"
    )
    assert app.get(f"/connections/{connection.connection_id}/quickbooks/items").status_code == 200


def test_revoked_grant_found_during_a_request_is_409_not_a_crash(app, stack) -> None:
    connection = connect(app, stack)
    _revoke_at_intuit(stack, _secret(stack, connection.connection_id)["qbo"]["refresh_token"])
    response = app.get(f"/connections/{connection.connection_id}/quickbooks/items")
    assert response.status_code == 409
    assert response.json()["error"]["code"] == "needs_reconnect"
    assert app.get(f"/connections/{connection.connection_id}").json()["status"] == "needs_reconnect"


def test_dates_are_iso_with_timezone(app, stack) -> None:
    connection = connect(app, stack)
    body = app.get(f"/connections/{connection.connection_id}").json()
    assert datetime.fromisoformat(body["access_expires_at"]).tzinfo == UTC or body["access_expires_at"].endswith(
        ("Z", "+00:00")
    )


def test_a_passing_oauth_outage_is_retried_and_the_refresh_succeeds(app, stack) -> None:
    connection = connect(app, stack)
    stack.emulator.clock.advance(3700)
    stack.emulator.faults.fail_next_token_requests(2, status=503)
    try:
        response = app.get(f"/connections/{connection.connection_id}/quickbooks/items")
    finally:
        stack.emulator.clock.advance(-3700)
        stack.emulator.faults.reset()
    assert response.status_code == 200, response.text
    assert app.get(f"/connections/{connection.connection_id}").json()["status"] == "connected"


def test_a_lasting_oauth_outage_is_503_and_the_connection_stays_connected(app, stack) -> None:
    connection = connect(app, stack)
    stack.emulator.clock.advance(3700)
    stack.emulator.faults.fail_next_token_requests(10, status=503)
    try:
        response = app.get(f"/connections/{connection.connection_id}/quickbooks/items")
    finally:
        stack.emulator.clock.advance(-3700)
        stack.emulator.faults.reset()
    assert response.status_code == 503, response.text
    assert response.json()["error"]["details"]["service"] == "quickbooks"
    assert app.get(f"/connections/{connection.connection_id}").json()["status"] == "connected"
    # Once Intuit is back, the same connection refreshes and works.
    stack.emulator.clock.advance(3700)
    try:
        assert app.get(f"/connections/{connection.connection_id}/quickbooks/items").status_code == 200
    finally:
        stack.emulator.clock.advance(-3700)
