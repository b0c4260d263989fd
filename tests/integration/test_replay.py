"""Replayed signed requests (README "HTTP API"): identical signed bytes are one request. A signed write
sent again within its window gets the first response and does not write again; the Idempotency-Key
header is covered by the signature."""

from __future__ import annotations

import json
import os
import threading
import time
from typing import Any

import boto3
import httpx
import pytest

from qbosync.adapters.dynamodb_common import query_all
from tests.integration.conftest import connect, follow_consent, outcome, start_connection, unique, wiring


class Signed:
    """One signed request, kept as bytes, so it can be sent again exactly."""

    def __init__(
        self,
        stack: Any,
        method: str,
        path: str,
        body: Any = None,
        *,
        key: str | None = None,
        timestamp: int | None = None,
    ):
        self.stack, self.method, self.path = stack, method, path
        self.body = json.dumps(body).encode() if body is not None else b""
        self.headers = stack.sign(method, path, self.body, timestamp=timestamp, idempotency_key=key)
        if self.body:
            self.headers["Content-Type"] = "application/json"

    def send(self, **header_changes: str) -> httpx.Response:
        headers = {**self.headers, **header_changes}
        return httpx.request(
            self.method, self.stack.api_url + self.path, content=self.body, headers=headers, timeout=30
        )

    @property
    def signature(self) -> str:
        return self.headers["X-Qbosync-Signature"]


class World:
    """A connected US subsidiary whose demo invoice can be copied."""

    def __init__(self, app: Any, stack: Any, productive: Any):
        self.app, self.stack, self.productive = app, stack, productive
        self.demo = productive.seed_demo()
        self.connection = connect(
            app,
            stack,
            realm_id=stack.emulator.US_REALM,
            org=self.demo.organization_id,
            sub=self.demo.subsidiary_us_id,
            productive_token=self.demo.api_token,
        )
        services = self.demo.service_type_ids
        response = app.put(
            f"/connections/{self.cid}/settings",
            {"default_item_id": "1", "service_type_items": {services["Design"]: "2", services["Development"]: "3"}},
        )
        assert response.status_code == 200, response.text

    @property
    def cid(self) -> str:
        return self.connection.connection_id

    @property
    def copies_path(self) -> str:
        return f"/connections/{self.cid}/invoices/{self.demo.invoice_usd_id}/copies"

    def qbo_invoices(self) -> list[dict[str, Any]]:
        marker = f"qbosync:{self.cid[:8]}:{self.demo.invoice_usd_id}:"
        realm = self.stack.emulator.store.require(self.stack.emulator.US_REALM)
        return [record for record in realm.all("Invoice") if marker in str(record.get("PrivateNote", ""))]


@pytest.fixture
def world(app, stack, productive) -> World:
    return World(app, stack, productive)


def _table(stack: Any) -> Any:
    return boto3.resource("dynamodb", endpoint_url=stack.aws.endpoint_url).Table(os.environ["TABLE_NAME"])


def _replay_records(stack: Any) -> list[dict[str, Any]]:
    return query_all(_table(stack), KeyConditionExpression="pk = :pk", ExpressionAttributeValues={":pk": "IDEMPOTENCY"})


# --------------------------------------------------------------------------- copies


def test_the_same_signed_create_sent_twice_makes_one_invoice_and_answers_the_same(world: World) -> None:
    create = Signed(world.stack, "POST", world.copies_path, {"mode": "create"})
    first = create.send()
    assert first.status_code == 201, first.text
    again = create.send()
    assert again.status_code == 201
    assert again.json() == first.json()
    assert len(world.qbo_invoices()) == 1
    # The signature's hex is case-insensitive: the same request in capitals is still the same request.
    shouted = create.send(**{"X-Qbosync-Signature": create.signature.upper()})
    assert shouted.status_code == 201
    assert shouted.json() == first.json()
    assert len(world.qbo_invoices()) == 1
    # Signed again (a new timestamp), the create is a new request and makes a new invoice.
    later = Signed(world.stack, "POST", world.copies_path, {"mode": "create"}, timestamp=int(time.time()) + 1)
    assert later.send().status_code == 201
    assert len(world.qbo_invoices()) == 2


def test_a_changed_idempotency_key_under_the_old_signature_is_401(world: World) -> None:
    keyed = Signed(world.stack, "POST", world.copies_path, {"mode": "create"}, key="key-a")
    assert keyed.send().status_code == 201
    changed = keyed.send(**{"Idempotency-Key": "key-b"})
    assert changed.status_code == 401
    assert changed.json()["error"]["code"] == "invalid_signature"
    # Adding a key to a request signed without one is a changed request too.
    unkeyed = Signed(world.stack, "POST", world.copies_path, {"mode": "create"})
    added = unkeyed.send(**{"Idempotency-Key": "key-c"})
    assert added.status_code == 401
    # And dropping the key from a request signed with one.
    dropped = Signed(world.stack, "POST", world.copies_path, {"mode": "create"}, key="key-d")
    del dropped.headers["Idempotency-Key"]
    assert dropped.send().status_code == 401
    assert len(world.qbo_invoices()) == 1


def test_the_full_flow_with_keys(world: World) -> None:
    first = Signed(world.stack, "POST", world.copies_path, {"mode": "create"}, key="order-1")
    answered = first.send()
    assert answered.status_code == 201, answered.text
    # The identical bytes again (a retry after a lost answer): the first response.
    assert first.send().json() == answered.json()
    # Signed again with the same key (a retry a client re-signs): still the first response, for a day.
    resigned = Signed(
        world.stack, "POST", world.copies_path, {"mode": "create"}, key="order-1", timestamp=int(time.time()) + 1
    )
    assert resigned.send().json() == answered.json()
    # The same key with another body is refused.
    reused = Signed(world.stack, "POST", world.copies_path, {"mode": "update"}, key="order-1")
    assert reused.send().json()["error"]["code"] == "idempotency_key_reused"
    # A new key is a new copy.
    second = Signed(world.stack, "POST", world.copies_path, {"mode": "create"}, key="order-2").send()
    assert second.status_code == 201
    assert second.json()["copy_id"] != answered.json()["copy_id"]
    assert len(world.qbo_invoices()) == 2
    # The client library signs the key too.
    via_client = world.app.post(world.copies_path, {"mode": "create"}, headers={"Idempotency-Key": "order-2"})
    assert via_client.json() == second.json()
    assert len(world.qbo_invoices()) == 2


def test_a_failed_request_is_not_kept_and_its_retry_runs(world: World) -> None:
    create = Signed(world.stack, "POST", world.copies_path, {"mode": "create"})
    world.productive.faults.fail_next(20, status=503)
    try:
        failed = create.send()
    finally:
        world.productive.faults.clear()
    assert failed.status_code == 503
    retried = create.send()
    assert retried.status_code == 201, retried.text
    assert len(world.qbo_invoices()) == 1


# --------------------------------------------------------------------------- connections


def test_a_replayed_settings_change_does_not_undo_a_later_one(world: World) -> None:
    path = f"/connections/{world.cid}/settings"
    on = Signed(world.stack, "PUT", path, {"default_item_id": "1", "sync_payments": True})
    answered = on.send()
    assert answered.status_code == 200, answered.text
    off = Signed(world.stack, "PUT", path, {"default_item_id": "1", "sync_payments": False})
    assert off.send().json()["sync_payments"] is False
    replayed = on.send()
    assert replayed.status_code == 200
    assert replayed.json() == answered.json()  # the first response...
    current = world.app.get(f"/connections/{world.cid}").json()["settings"]
    assert current["sync_payments"] is False  # ...and no second write


def test_a_replayed_disconnect_does_not_disconnect_the_reconnected_subsidiary(app, stack) -> None:
    connection = connect(app, stack)
    disconnect = Signed(stack, "DELETE", f"/connections/{connection.connection_id}")
    assert disconnect.send().status_code == 204
    again = start_connection(app, org=connection.organization_id, sub=connection.subsidiary_id)
    assert outcome(follow_consent(stack, again["authorize_url"], realm_id=stack.emulator.US_REALM))["status"] == (
        "connected"
    )
    replayed = disconnect.send()
    assert replayed.status_code == 204
    assert app.get(f"/connections/{connection.connection_id}").json()["status"] == "connected"
    assert app.get(f"/connections/{connection.connection_id}/quickbooks/items").status_code == 200


def test_a_replayed_connect_answers_the_same_and_keeps_no_secret(app, stack) -> None:
    org, sub = unique("org"), unique("sub")
    body = {
        "organization_id": org,
        "subsidiary_id": sub,
        "productive_api_token": "pat-first-" + unique(""),
        "return_url": "https://app.productive.example/integrations",
    }
    started = Signed(stack, "POST", "/connections", body)
    first = started.send()
    assert first.status_code == 201, first.text
    # The subsidiary's token is then changed by a fresh request...
    newer = app.post("/connections", {**body, "productive_api_token": "pat-second-" + unique("")})
    assert newer.status_code == 201
    # ...and the old bytes sent again get the first answer without writing the old token back.
    replayed = started.send()
    assert replayed.status_code == 201
    assert replayed.json() == first.json()
    secrets = boto3.client("secretsmanager", endpoint_url=stack.aws.endpoint_url)
    stored = secrets.get_secret_value(SecretId=os.environ["CONNECTION_SECRET_PREFIX"] + first.json()["connection_id"])
    assert json.loads(stored["SecretString"])["productive_api_token"].startswith("pat-second-")
    # No record holds the token, the authorize URL (its state finishes an authorization) or the signature.
    dumped = json.dumps(_replay_records(stack), default=str)
    state = httpx.URL(first.json()["authorize_url"]).params.get("state")
    assert state
    for secret in (body["productive_api_token"], state, first.json()["authorize_url"], started.signature):
        assert secret not in dumped


def test_replay_records_expire_within_the_signature_window(world: World) -> None:
    before = {(item["pk"], item["sk"]) for item in _replay_records(world.stack)}
    started = int(time.time())
    assert Signed(world.stack, "POST", world.copies_path, {"mode": "create"}).send().status_code == 201
    new = [item for item in _replay_records(world.stack) if (item["pk"], item["sk"]) not in before]
    assert len(new) == 1
    assert started < int(new[0]["expires_at"]) <= int(time.time()) + 15 * 60


def test_reads_and_refused_requests_leave_no_replay_record(world: World) -> None:
    before = len(_replay_records(world.stack))
    assert world.app.get(f"/connections/{world.cid}").status_code == 200
    assert world.app.get(world.copies_path).status_code == 200
    assert world.app.post(world.copies_path, {"mode": "sideways"}).status_code == 422
    assert world.app.post(f"/connections/{world.cid}/invoices/999999/copies", {}).status_code == 404
    assert world.app.request("POST", world.copies_path, raw_body=b"{nope").status_code == 400
    assert len(_replay_records(world.stack)) == before


def test_a_repeat_while_the_first_is_running_is_409_then_gets_the_first_response(app, stack) -> None:
    """The first request runs on another instance (a guard of our own here); the repeat comes through
    the API while it is still running."""
    from qbosync.api.replay import ReplayGuard

    connection = connect(app, stack)
    request = Signed(stack, "PUT", f"/connections/{connection.connection_id}/settings", {"pdf_source": "productive"})
    event = {"requestContext": {"http": {"method": "PUT"}}, "routeKey": "PUT /connections/{connection_id}/settings"}
    running, release = threading.Event(), threading.Event()
    first_answer = {"statusCode": 200, "headers": {"Content-Type": "application/json"}, "body": '{"first": true}'}

    def slow_first() -> dict[str, Any]:
        running.set()
        assert release.wait(20)
        return first_answer

    guard = ReplayGuard(wiring().replay_store)
    context = stack.gateway.context("ConnectionsFunction")
    results: list[dict[str, Any]] = []
    worker = threading.Thread(target=lambda: results.append(guard.run(event, context, request.signature, slow_first)))
    worker.start()
    try:
        assert running.wait(20)
        busy = request.send()
        assert busy.status_code == 409
        assert busy.json()["error"]["code"] == "request_in_progress"
        assert busy.json()["error"]["details"]["retry_after_seconds"] == int(busy.headers["retry-after"])
    finally:
        release.set()
        worker.join(20)
    assert results == [first_answer]
    later = request.send()
    assert later.status_code == 200
    assert later.json() == {"first": True}
    # The settings were never written by the repeat.
    assert app.get(f"/connections/{connection.connection_id}").json()["settings"]["pdf_source"] == "quickbooks"
