"""Connection health and reconnect warnings through the local stack (docs/architecture.md "Connection
health"): `GET /connections/{id}` shows the health, and the hourly token refresh job POSTs each warning
once, signed with the notify signing secret, to a receiver on loopback standing in for Productive's
backend. Each test connects a company of its own, so its grant (and hard expiry) is its own."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from typing import Any

import boto3
import httpx
import pytest

from local.notify_receiver import NotifyReceiver, ReceivedRequest
from local.stack import LocalStack
from qbosync.domain.activity import Activity, ActivityKind
from qbosync.domain.signing import signature_problem
from tests.integration.conftest import connect, wiring

DAY = 24 * 3600


@pytest.fixture
def receiver(stack: LocalStack) -> Iterator[NotifyReceiver]:
    """Productive's backend's warning endpoint, checking signatures with the notify signing secret on the
    service's clock, and NOTIFY_URL pointing at it while the test runs."""
    secrets = stack.notify_signing_secrets

    def keys() -> list[str]:
        return [value for value in (secrets["current"], secrets.get("previous")) if value]

    with (
        NotifyReceiver(secrets=keys, now_epoch=lambda: wiring().clock.now().timestamp()) as running,
        stack.function_environment(NOTIFY_URL=running.url),
    ):
        yield running


def run_job(stack: LocalStack) -> dict[str, int]:
    return dict(stack.run_schedule("TokenRefreshFunction"))


def warnings_for(receiver: NotifyReceiver, connection_id: str, *, accepted_only: bool = True) -> list[Any]:
    bodies = receiver.accepted if accepted_only else [request.json() for request in receiver.requests]
    return [body for body in bodies if body["connection_id"] == connection_id]


def requests_for(receiver: NotifyReceiver, connection_id: str) -> list[ReceivedRequest]:
    return [request for request in receiver.requests if request.json()["connection_id"] == connection_id]


def health(app: Any, connection_id: str) -> dict[str, Any]:
    response = app.get(f"/connections/{connection_id}")
    assert response.status_code == 200, response.text
    return dict(response.json()["health"])


def activity(connection_id: str, kind: Any) -> list[Activity]:
    return list(wiring().activity_log().page(connection_id, kind=kind, limit=50).entries)


def connect_company_expiring_in(app: Any, stack: LocalStack, seconds: int) -> str:
    """A connection to a new company whose grant reaches its hard expiry `seconds` from now."""
    realm = stack.emulator.add_company("US")
    stack.emulator.set_token_lifetimes(hard_seconds=seconds)
    return connect(app, stack, realm_id=realm).connection_id


def revoke_at_intuit(stack: LocalStack, connection_id: str) -> None:
    """What happens when the user disconnects the app from inside QuickBooks."""
    secrets = boto3.client("secretsmanager", endpoint_url=stack.aws.endpoint_url)
    name = os.environ["CONNECTION_SECRET_PREFIX"] + connection_id
    refresh_token = json.loads(secrets.get_secret_value(SecretId=name)["SecretString"])["qbo"]["refresh_token"]
    credentials = wiring().app_secrets().intuit()
    response = httpx.post(
        f"{stack.emulator.base_url}/v2/oauth2/tokens/revoke",
        json={"token": refresh_token},
        auth=(credentials.client_id, credentials.client_secret),
    )
    assert response.status_code == 200


# -- health ---------------------------------------------------------------------------------------


def test_the_health_of_a_connection(app: Any, stack: LocalStack) -> None:
    cid = connect(app, stack, realm_id=stack.emulator.add_company("US")).connection_id
    body = health(app, cid)
    assert body["status"] == "ok"
    assert body["days_until_refresh_expiry"] == 101  # Intuit answers 8,726,400 s (the emulator too)
    assert body["days_until_hard_expiry"] in {1825, 1826}  # 5 years of 365 days, counted up
    refresh_expires_at = datetime.fromisoformat(app.get(f"/connections/{cid}").json()["refresh_expires_at"])
    assert date.fromisoformat(body["reconnect_required_by"]) == (refresh_expires_at - timedelta(hours=12)).astimezone(
        UTC
    ).date() - timedelta(days=1)
    assert (body["failed_copies_7d"], body["skipped_payment_events_7d"]) == (0, 0)
    assert body["last_error"] is None

    # A QuickBooks call that works is the last success ...
    assert app.get(f"/connections/{cid}/quickbooks/items").status_code == 200
    after_success = health(app, cid)
    assert after_success["last_success_at"] is not None
    # ... and one that fails is the last error, with our code and sentence and nothing secret.
    stack.emulator.faults.fail_next(3, status=503)
    assert app.get(f"/connections/{cid}/quickbooks/items").status_code == 503
    error = health(app, cid)["last_error"]
    assert error["code"] == "upstream_unavailable"
    assert "503" in error["message"]
    assert datetime.fromisoformat(error["at"]) >= datetime.fromisoformat(after_success["last_success_at"])

    # The 7-day counters read the activity log.
    now = wiring().clock.now()
    log = wiring().activity_log()
    entries: list[tuple[int, ActivityKind]] = [
        (1, "copy_failed"),
        (2, "copy_failed"),
        (8, "copy_failed"),
        (3, "payment_event_skipped"),
    ]
    for age, kind in entries:
        log.record(Activity(connection_id=cid, kind=kind, at=now - timedelta(days=age), summary="test entry"))
    body = health(app, cid)
    assert (body["failed_copies_7d"], body["skipped_payment_events_7d"]) == (2, 1)


def test_a_connection_29_days_before_its_hard_expiry_is_warned_once_signed(
    app: Any, stack: LocalStack, receiver: NotifyReceiver, shift_clock: Any
) -> None:
    cid = connect_company_expiring_in(app, stack, 29 * DAY - 3600)
    body = health(app, cid)
    assert (body["status"], body["days_until_hard_expiry"], body["days_until_refresh_expiry"]) == (
        "reconnect_soon",
        29,
        29,
    )
    # Its refresh is not due for a day: the job warns anyway, once however often it runs.
    for _ in range(2):
        summary = run_job(stack)
        assert summary["warnings_failed"] == 0
    (warning,) = warnings_for(receiver, cid)
    assert warning == {
        "event": "reconnect_warning",
        "warning_id": warning["warning_id"],
        "connection_id": cid,
        "organization_id": warning["organization_id"],
        "subsidiary_id": warning["subsidiary_id"],
        "reason": "hard_expiry_30d",
        "reconnect_required_by": body["reconnect_required_by"],
        "days_left": 29,
    }
    (request,) = requests_for(receiver, cid)
    # Signed with the notify signing secret, the way our app requests are signed ...
    check = {
        "timestamp": request.headers["x-qbosync-timestamp"],
        "signature": request.headers["x-qbosync-signature"],
        "method": "POST",
        "path_and_query": receiver.path,
        "body": request.body,
        "now_epoch": wiring().clock.now().timestamp(),
        "idempotency_key": request.headers["idempotency-key"],
    }
    assert signature_problem(secrets=[stack.notify_signing_secrets["current"]], **check) is None
    # ... and not with the app signing secret.
    assert signature_problem(secrets=[stack.signing_secret], **check) == "signature does not match"
    assert "token" not in request.body.decode().lower()
    (entry,) = activity(cid, "reconnect_warning")
    assert entry.details["reason"] == "hard_expiry_30d"

    # 22 days later (for us and for Intuit) the 7-day warning is due, and the token refresh is too.
    shift_clock(days=22)
    stack.emulator.clock.advance(22 * DAY)
    summary = run_job(stack)
    assert summary["refreshed"] >= 1
    run_job(stack)
    assert [(w["reason"], w["days_left"]) for w in warnings_for(receiver, cid)] == [
        ("hard_expiry_30d", 29),
        ("hard_expiry_7d", 7),
    ]
    assert all(request.signature_problem is None for request in requests_for(receiver, cid))
    assert health(app, cid)["days_until_hard_expiry"] == 7


def test_a_receiver_failing_once_gets_the_warning_once_after_a_retry(
    app: Any, stack: LocalStack, receiver: NotifyReceiver
) -> None:
    cid = connect_company_expiring_in(app, stack, 20 * DAY)
    receiver.fail_next(1, status=500)
    run_job(stack)
    run_job(stack)
    assert len(warnings_for(receiver, cid)) == 1
    statuses = [request.status for request in requests_for(receiver, cid)]
    assert statuses in ([204], [500, 204])  # the 500 went to this warning, or to another one's
    assert 500 in [request.status for request in receiver.requests]
    assert len(activity(cid, "reconnect_warning")) == 1


def test_a_receiver_down_for_a_whole_run_gets_the_warning_from_the_next_run(
    app: Any, stack: LocalStack, receiver: NotifyReceiver
) -> None:
    cid = connect_company_expiring_in(app, stack, 6 * DAY)
    receiver.fail_next(3, status=503)  # every attempt of the run's first send
    summary = run_job(stack)
    assert summary["warnings_failed"] >= 1
    assert warnings_for(receiver, cid) == []
    assert activity(cid, "reconnect_warning") == []
    run_job(stack)
    run_job(stack)
    (warning,) = warnings_for(receiver, cid)
    assert (warning["reason"], warning["days_left"]) == ("hard_expiry_7d", 6)


def test_a_connection_that_needs_a_reconnect_is_warned_once(
    app: Any, stack: LocalStack, receiver: NotifyReceiver
) -> None:
    cid = connect(app, stack, realm_id=stack.emulator.add_company("US")).connection_id
    revoke_at_intuit(stack, cid)
    # A request finds out (in the connections function): Intuit refuses the grant.
    assert app.get(f"/connections/{cid}/quickbooks/items").status_code == 409
    body = health(app, cid)
    assert body["status"] == "needs_reconnect"
    assert body["days_until_hard_expiry"] is body["reconnect_required_by"] is None
    assert body["last_error"]["code"] == "needs_reconnect"
    (lost,) = activity(cid, "needs_reconnect")
    assert lost.details["intuit_reason"].startswith("invalid_grant")
    for _ in range(2):
        run_job(stack)
    (warning,) = warnings_for(receiver, cid)
    assert (warning["reason"], warning["days_left"], warning["reconnect_required_by"]) == ("needs_reconnect", 0, None)
    assert len(activity(cid, "reconnect_warning")) == 1


def test_without_notify_url_nothing_is_posted_and_the_warning_is_logged(
    app: Any, stack: LocalStack, log_records: Any
) -> None:
    cid = connect_company_expiring_in(app, stack, 10 * DAY)
    with NotifyReceiver() as receiver, stack.function_environment(NOTIFY_URL=None):
        mark = len(log_records.lines)
        summary = run_job(stack)
        assert receiver.requests == []
    assert summary["warnings_not_sent"] >= 1
    lines = [json.loads(line) for line in log_records.lines[mark:]]
    assert any(
        line.get("msg") == "reconnect warning not sent: NOTIFY_URL is not set"
        and line.get("connection_id") == cid
        and line.get("reason") == "hard_expiry_30d"
        for line in lines
    ), lines
    assert activity(cid, "reconnect_warning") == []
