"""Token refresh when Intuit's answer is lost, and under load, against the emulator's strict rotation:
the emulator records every refresh token presented to it, so the tests can count stale ones."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
import time
from collections import Counter
from pathlib import Path

import boto3

from local.template import REPO_ROOT
from tests.integration.conftest import connect
from tests.integration.test_tokens import _secret

TOKEN_PATH = "/oauth2/v1/tokens/bearer"


def _first_refresh_token(stack, connection_id: str) -> str:
    """The refresh token the code exchange issued: the emulator's name for this connection's chain."""
    return str(_secret(stack, connection_id)["qbo"]["refresh_token"])


def _presented(stack, family: str) -> list[tuple[str, str]]:
    return [(p.token, p.outcome) for p in stack.emulator.presented_refresh_tokens(family=family)]


def test_a_lost_answer_to_a_rotation_is_sent_again_once_then_the_connection_needs_reconnect(app, stack) -> None:
    connection = connect(app, stack)
    first = _first_refresh_token(stack, connection.connection_id)
    stack.emulator.reset_request_log()
    stack.emulator.faults.commit_then_drop_next_token_requests(1)
    stack.emulator.clock.advance(3700)  # Intuit considers the access token expired: a 401, then a refresh
    response = app.get(f"/connections/{connection.connection_id}/quickbooks/items")
    assert ("POST", TOKEN_PATH, 0) in stack.emulator.request_log, "no answer was lost: the test tested nothing"
    # Intuit rotated and the answer with the successor was lost: no client can refresh this grant any
    # more. The same token was sent exactly once more, after re-reading the stored tokens, which is
    # how we learn that (had Intuit not acted, or returned the same token, that send would have worked).
    assert _presented(stack, first) == [(first, "accepted"), (first, "already_rotated")]
    assert response.status_code == 409, response.text
    assert response.json()["error"]["code"] == "needs_reconnect"
    body = app.get(f"/connections/{connection.connection_id}").json()
    assert (body["status"], body["status_reason"]) == ("needs_reconnect", "invalid_grant")
    # Nothing sends it again: the connection waits for the user.
    assert app.get(f"/connections/{connection.connection_id}/quickbooks/items").status_code == 409
    assert len(_presented(stack, first)) == 2


def test_a_lost_answer_within_intuits_rotation_window_keeps_the_connection(app, stack) -> None:
    stack.emulator.set_rotation("intuit")  # within 24 h of its issue, a refresh returns the same value
    connection = connect(app, stack)
    first = _first_refresh_token(stack, connection.connection_id)
    before = _secret(stack, connection.connection_id)["qbo"]["access_token"]
    stack.emulator.reset_request_log()
    stack.emulator.faults.commit_then_drop_next_token_requests(1)
    stack.emulator.clock.advance(3700)
    response = app.get(f"/connections/{connection.connection_id}/quickbooks/items")
    assert ("POST", TOKEN_PATH, 0) in stack.emulator.request_log, "no answer was lost: the test tested nothing"
    assert response.status_code == 200, response.text
    assert _presented(stack, first) == [(first, "accepted"), (first, "accepted")]
    stored = _secret(stack, connection.connection_id)["qbo"]
    assert stored["refresh_token"] == first
    assert stored["access_token"] != before
    assert app.get(f"/connections/{connection.connection_id}").json()["status"] == "connected"
    assert app.get(f"/connections/{connection.connection_id}/quickbooks/tax-codes").status_code == 200


def test_a_token_endpoint_500_is_not_retried_blindly_and_the_refresh_succeeds(app, stack) -> None:
    connection = connect(app, stack)
    first = _first_refresh_token(stack, connection.connection_id)
    stack.emulator.faults.fail_next_token_requests(1, status=500)  # Intuit did not act, but a 500 does not say so
    stack.emulator.clock.advance(3700)
    response = app.get(f"/connections/{connection.connection_id}/quickbooks/items")
    assert response.status_code == 200, response.text
    assert _presented(stack, first) == [(first, "accepted")]
    assert app.get(f"/connections/{connection.connection_id}").json()["status"] == "connected"


CHILD = textwrap.dedent(
    """
    import json, os, sys, time

    from qbosync import wiring

    service = wiring.token_service()
    wiring.repository(), wiring.vault(), wiring.app_secrets().intuit()
    import qbosync.adapters.intuit_oauth  # noqa: F401 - everything imported before the start line

    open(sys.argv[1] + "." + str(os.getpid()), "w").close()
    while not os.path.exists(sys.argv[2]):
        time.sleep(0.01)
    report = service.refresh_due()
    print(json.dumps({"refreshed": report.refreshed, "failed": report.failed, "lost": report.needs_reconnect}))
    """
)


def test_scheduled_refreshes_in_separate_processes_never_send_a_stale_refresh_token(app, stack, tmp_path: Path) -> None:
    """Like the token_refresh function in several Lambda instances at once, with 3-second access tokens
    (so every instance finds the tokens expiring and refreshes them again) and strict rotation."""
    processes = 6
    stack.emulator.set_token_lifetimes(access_seconds=3)
    connections = [connect(app, stack) for _ in range(2)]
    families = {c.connection_id: _first_refresh_token(stack, c.connection_id) for c in connections}
    table = boto3.resource("dynamodb", endpoint_url=stack.aws.endpoint_url).Table(os.environ["TABLE_NAME"])
    for connection in connections:  # due now, so every instance's query finds them
        table.update_item(
            Key={"pk": f"CONNECTION#{connection.connection_id}", "sk": "CONNECTION"},
            UpdateExpression="SET next_refresh_at = :past, gsi1sk = :past",
            ExpressionAttributeValues={":past": "2000-01-01T00:00:00+00:00"},
        )
    ready, start = tmp_path / "ready", tmp_path / "start"
    environment = {**os.environ, "PYTHONPATH": os.pathsep.join([str(REPO_ROOT), str(REPO_ROOT / "layers/qbosync")])}
    children = [
        subprocess.Popen(
            [sys.executable, "-c", CHILD, str(ready), str(start)],
            env=environment,
            cwd=REPO_ROOT,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(processes)
    ]
    interval = sys.getswitchinterval()
    try:
        deadline = time.monotonic() + 120
        while len(list(tmp_path.glob("ready.*"))) < processes and time.monotonic() < deadline:
            assert all(child.poll() is None for child in children), [child.communicate() for child in children]
            time.sleep(0.05)
        sys.setswitchinterval(1e-5)  # load: the threads serving them here (moto's among them) switch often
        start.touch()
        outputs = [child.communicate(timeout=120) for child in children]
    finally:
        sys.setswitchinterval(interval)
        for child in children:
            child.kill()
    reports = [json.loads(out.strip().splitlines()[-1]) for out, _ in outputs if out.strip()]
    assert len(reports) == processes, [err[-2000:] for _, err in outputs]
    for connection_id, family in families.items():
        presented = _presented(stack, family)
        outcomes = Counter(outcome for _, outcome in presented)
        refreshed = sum(connection_id in report["refreshed"] for report in reports)
        assert outcomes == {"accepted": refreshed}, presented  # not one stale refresh token
        assert len({token for token, _ in presented}) == refreshed  # each rotation used the newest token
        assert refreshed >= 2, reports  # the instances did race for it
        assert all(connection_id not in report["lost"] for report in reports)
        assert app.get(f"/connections/{connection_id}").json()["status"] == "connected"
        stored = _secret(stack, connection_id)["qbo"]["refresh_token"]
        assert stored not in {token for token, _ in presented}  # the newest, never presented yet
        assert stored in stack.emulator.issued_tokens()
