"""Webhook deliveries of any size, through the local stack (issue 7, part 11): a signed delivery of
20,000 events is answered 200 and every distinct event reaches the payment sync worker once; bodies
that do not parse (nested 1,000 or 100,000 deep, not UTF-8, wrong types, 6 MB of elements that are
not events) are a counted skip, never a 500; duplicates inside one delivery are queued once; a chunk
with a poison event has its other events processed and the poison one ends, alone, in the dead-letter
queue.

The 20,000 events are checked on the queue, decoded as the worker decodes them; that the worker fans
every event of a chunk out once is checked on fewer events, with its per-event sync replaced by a
recorder (the real sync is proven by test_payment_sync.py, whose events travel in the same chunks)."""

from __future__ import annotations

import importlib
import json
import threading
import time
import uuid
from collections import Counter
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from local.app_client import AppClient
from local.gateway import build_http_event
from local.stack import LocalStack
from qbosync.domain.events import EntityEvent, decode_message
from qbosync.domain.signing import intuit_webhook_signature
from tests.integration.conftest import RecordingHandler, connect, wiring

BIG = 20_000


@pytest.fixture(scope="module")
def realm(stack: LocalStack) -> str:
    """The US company, connected with payment sync on."""
    with AppClient(stack.api_url, stack.signing_secret) as app:
        connected = connect(app, stack)
        settings = app.get(f"/connections/{connected.connection_id}").json()["settings"]
        settings.pop("sync_payments_since", None)
        response = app.put(f"/connections/{connected.connection_id}/settings", {**settings, "sync_payments": True})
        assert response.status_code == 200, response.text
    return str(stack.emulator.US_REALM)


class Worker:
    """The payment events queue, its dead-letter queue, and the worker fed from it on demand (the
    stack's background pollers are paused), with the per-event sync replaced by a recorder."""

    def __init__(self, stack: LocalStack) -> None:
        self.stack = stack
        self.sqs = stack.aws.client("sqs")
        self.url = str(stack.gateway.names.get_att("PaymentEventsQueue", "QueueUrl"))
        self.dead_url = str(stack.gateway.names.get_att("PaymentEventsDeadLetterQueue", "QueueUrl"))
        self.handled: list[tuple[str, str, str, str]] = []  # (event id, entity, entity id, operation)
        self.poison: set[str] = set()  # entity ids whose sync always fails
        self._lock = threading.Lock()

    def handle(self, event: Any) -> Any:
        """Stands in for PaymentSyncService.handle."""
        if event.entity_id in self.poison:
            raise RuntimeError("this event always fails")
        with self._lock:
            self.handled.append((event.event_id, event.entity, event.entity_id, event.operation))
        return importlib.import_module("qbosync.services.payment_sync").SyncReport()

    def depth(self, url: str | None = None) -> dict[str, int]:
        names = [
            "ApproximateNumberOfMessages",
            "ApproximateNumberOfMessagesNotVisible",
            "ApproximateNumberOfMessagesDelayed",
        ]
        found = self.sqs.get_queue_attributes(QueueUrl=url or self.url, AttributeNames=names)["Attributes"]
        return {name: int(found.get(name, 0)) for name in names}

    def drain(self, rounds: int = 20) -> int:
        """Feed the worker until the queue shows nothing (failed messages visible again at once); a queue
        still busy after `rounds` rounds is a failure, not a test that never ends."""
        handled = 0
        for _ in range(rounds):
            pollers = self.stack.gateway.sqs_pollers(sqs_client=self.sqs, failure_visibility_timeout=0)
            count = sum(poller.drain(max_batches=1000) for poller in pollers)
            handled += count
            if not count:
                return handled
        raise AssertionError(f"the payment events queue was still busy after {rounds} rounds")

    def take_all(self) -> list[str]:
        """Every message on the queue (deleted): their bodies."""
        bodies: list[str] = []
        while True:
            messages = self.sqs.receive_message(
                QueueUrl=self.url, MaxNumberOfMessages=10, VisibilityTimeout=60, WaitTimeSeconds=0
            ).get("Messages", [])
            if not messages:
                return bodies
            bodies += [message["Body"] for message in messages]
            self.sqs.delete_message_batch(
                QueueUrl=self.url,
                Entries=[{"Id": str(n), "ReceiptHandle": m["ReceiptHandle"]} for n, m in enumerate(messages)],
            )

    def dead_letters(self, *markers: str) -> list[dict[str, Any]]:
        """Take the dead-letter messages whose body holds one of `markers`."""
        taken = []
        while True:
            messages = self.sqs.receive_message(
                QueueUrl=self.dead_url, MaxNumberOfMessages=10, VisibilityTimeout=5, WaitTimeSeconds=0
            ).get("Messages", [])
            mine = [m for m in messages if any(marker in m["Body"] for marker in markers)]
            for message in mine:
                self.sqs.delete_message(QueueUrl=self.dead_url, ReceiptHandle=message["ReceiptHandle"])
            for message in messages:
                if message not in mine:
                    self.sqs.change_message_visibility(
                        QueueUrl=self.dead_url, ReceiptHandle=message["ReceiptHandle"], VisibilityTimeout=0
                    )
            taken += mine
            if not mine:
                return taken


@pytest.fixture
def worker(stack: LocalStack, monkeypatch: pytest.MonkeyPatch) -> Iterator[Worker]:
    pollers = list(stack.gateway._pollers)
    for poller in pollers:
        poller.stop()
    recorder = Worker(stack)
    recorder.drain()  # what earlier tests left behind goes to the real worker first
    monkeypatch.setattr(wiring().payment_sync_service(), "handle", recorder.handle)
    try:
        yield recorder
    finally:
        # What a test here queued is for its recorder only: a test that failed before taking its 20,000
        # events must not hand them to the real worker of the next test.
        recorder.take_all()
        monkeypatch.undo()
        for poller in pollers:
            poller.start()


def post(stack: LocalStack, body: bytes, content_type: str = "application/json") -> httpx.Response:
    signature = intuit_webhook_signature(stack.webhook_verifier_token, body)
    return httpx.post(
        stack.api_url + "/webhooks/intuit",
        content=body,
        headers={"Content-Type": content_type, "intuit-signature": signature},
        timeout=60,
    )


def cloud_events(realm: str, ids: list[str], verb: str = "updated") -> list[dict[str, Any]]:
    return [
        {
            "specversion": "1.0",
            "id": f"ce-{entity_id}-{verb}",
            "source": "intuit.test",
            "type": f"qbo.payment.{verb}.v1",
            "datacontenttype": "application/json",
            "time": "2026-07-15T21:31:25.179851517Z",
            "intuitentityid": entity_id,
            "intuitaccountid": realm,
            "data": {},
        }
        for entity_id in ids
    ]


def legacy(realm: str, ids: list[str], operation: str = "Update") -> dict[str, Any]:
    entities = [
        {"name": "Payment", "id": entity_id, "operation": operation, "lastUpdated": "2026-07-15T14:42:19.000Z"}
        for entity_id in ids
    ]
    return {"eventNotifications": [{"realmId": realm, "dataChangeEvent": {"entities": entities}}]}


def fresh_ids(count: int) -> list[str]:
    base = uuid.uuid4().int % 10**12 * 10**5
    return [str(base + n) for n in range(count)]


def last_received(log_records: RecordingHandler, seen: int) -> dict[str, Any]:
    """What the handler logged about the last delivery: its queued count and skips by reason."""
    received = [json.loads(line) for line in log_records.lines[seen:] if '"webhook received"' in line]
    assert received, "the handler logged no 'webhook received'"
    return dict(received[-1])


# --------------------------------------------------------------------------- any size


@pytest.mark.parametrize("fmt", ["cloudevents", "legacy"])
def test_twenty_thousand_events_are_answered_and_every_one_is_queued_once(
    stack: LocalStack, realm: str, worker: Worker, fmt: str
) -> None:
    ids = fresh_ids(BIG)
    payload: Any = cloud_events(realm, ids) if fmt == "cloudevents" else legacy(realm, ids)
    body = json.dumps(payload).encode()
    assert len(body) > 2_000_000  # 20,000 CloudEvents are about 5 MB, legacy entities about 2 MB

    response = post(stack, body)
    assert response.status_code == 200, response.text[:500]

    messages = worker.take_all()
    assert len(messages) <= BIG // 100  # chunks, not one message per event
    items = [item for message in messages for item in decode_message(message)]  # what the worker reads
    queued = [item for item in items if isinstance(item, EntityEvent)]
    assert len(queued) == len(items)
    assert sorted(event.entity_id for event in queued) == sorted(ids)  # every event, exactly once
    assert {(event.realm_id, event.entity, event.operation, event.source) for event in queued} == {
        (realm, "Payment", "update", "webhook")
    }
    assert len({event.event_id for event in queued}) == BIG


# --------------------------------------------------------------------------- bodies that do not parse


@pytest.mark.parametrize(
    "body",
    [
        b"[" * 1_000 + b"]" * 1_000,
        b"[" * 100_000 + b"]" * 100_000,
        b'{"eventNotifications": [{"realmId": "1", "dataChangeEvent": {"entities": '
        + b"[" * 1_000
        + b"]" * 1_000
        + b"}}]}",
        b'[{"specversion": "1.0", "id": "x", "data": ' + b'{"a": ' * 100_000 + b"1" + b"}" * 100_000 + b"}]",
        b"\xc3\x28\xff\xfe",
        b'{"eventNotifications": [{"realmId": 1e999, "dataChangeEvent": {"entities": "Payment"}}]}',
        b"9" * 5000,
        b"[" + b"1," * 2_900_000 + b"1]",  # 6 MB of elements that are not events
        b'{"eventNotifications": [' + b"{}," * 1_900_000 + b"{}]}",
    ],
    ids=[
        "array-1000-deep",
        "array-100000-deep",
        "legacy-entities-1000-deep",
        "cloudevent-data-100000-deep",
        "not-utf8",
        "wrong-types",
        "huge-number",
        "three-million-numbers",
        "two-million-empty-notifications",
    ],
)
def test_a_body_that_does_not_parse_is_a_counted_skip(
    stack: LocalStack, realm: str, worker: Worker, log_records: RecordingHandler, body: bytes
) -> None:
    seen = len(log_records.lines)
    response = post(stack, body)
    assert response.status_code == 200, response.text
    assert response.json() == {"ok": True}
    logged = last_received(log_records, seen)
    assert logged["queued"] == 0
    assert logged["skipped"], logged  # counted (the WebhookEventsSkipped metric is their sum)
    assert set(logged["skipped"]) <= {"malformed_body", "malformed_event"}, logged


def test_a_deep_body_sent_as_binary_is_a_skip_too(
    stack: LocalStack, realm: str, worker: Worker, log_records: RecordingHandler
) -> None:
    seen = len(log_records.lines)
    response = post(stack, b"[" * 100_000 + b"]" * 100_000, content_type="application/octet-stream")
    assert response.status_code == 200, response.text
    assert last_received(log_records, seen)["skipped"] == {"malformed_body": 1}


def test_a_body_that_is_not_even_text_is_a_skip(stack: LocalStack, realm: str) -> None:
    """A lone surrogate in the event's body (API Gateway never sends one; the handler must not choke)."""
    raw = '[{"specversion": "1.0", "id": "\ud800"}]'.encode("utf-8", "surrogatepass")
    event = build_http_event(
        method="POST",
        raw_path="/webhooks/intuit",
        headers={
            "content-type": "application/json",
            "intuit-signature": intuit_webhook_signature(stack.webhook_verifier_token, raw),
        },
        body=b"{}",
        route_key="POST /webhooks/intuit",
    )
    event["body"] = raw.decode("utf-8", "surrogatepass")
    assert stack.invoke("PaymentWebhookFunction", event)["statusCode"] == 200


# --------------------------------------------------------------------------- duplicates


def test_duplicates_inside_one_delivery_are_queued_once(stack: LocalStack, realm: str, worker: Worker) -> None:
    ids = fresh_ids(300)
    events = cloud_events(realm, ids)
    response = post(stack, json.dumps(events + events[::-1] + events[:50]).encode())
    assert response.status_code == 200
    legacy_ids = fresh_ids(300)
    response = post(stack, json.dumps(legacy(realm, legacy_ids + legacy_ids[100:] + legacy_ids)).encode())
    assert response.status_code == 200
    worker.drain()
    counts = Counter(entry[2] for entry in worker.handled)
    assert {entity_id: counts[entity_id] for entity_id in ids + legacy_ids} == dict.fromkeys(ids + legacy_ids, 1)


# --------------------------------------------------------------------------- poison


def test_a_poison_event_ends_alone_in_the_dlq_and_the_rest_of_its_chunk_is_processed(
    stack: LocalStack, realm: str, worker: Worker, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(wiring().payment_event_worker(), "_retry_delay_seconds", 1)
    ids = fresh_ids(250)
    poison_id, marker = ids[123], "poison-" + uuid.uuid4().hex
    worker.poison.add(poison_id)
    response = post(stack, json.dumps(cloud_events(realm, ids)).encode())  # three chunks
    assert response.status_code == 200
    unreadable = {"realm_id": realm, "entity": "Payment", "entity_id": marker}  # not an event: poison too
    good = cloud_events(realm, fresh_ids(2))
    chunk = {"events": [_event_json(realm, good[0]), unreadable, _event_json(realm, good[1])]}
    single = _event_json(realm, cloud_events(realm, fresh_ids(1))[0])  # a message queued before chunks
    worker.sqs.send_message_batch(
        QueueUrl=worker.url,
        Entries=[
            {"Id": "chunk", "MessageBody": json.dumps(chunk)},
            {"Id": "single", "MessageBody": json.dumps(single)},
        ],
    )

    worker.drain()
    # every other event is done, once; the two poison ones wait, delayed, in messages of their own
    expected = [i for i in ids if i != poison_id] + [e["intuitentityid"] for e in good] + [single["entity_id"]]
    counts = Counter(entry[2] for entry in worker.handled)
    assert {i: counts[i] for i in expected} == dict.fromkeys(expected, 1)
    assert worker.depth()["ApproximateNumberOfMessagesDelayed"] == 2

    time.sleep(1.5)
    worker.drain()  # each fails whole, five times, and moves to the dead-letter queue
    dead = [json.loads(message["Body"]) for message in worker.dead_letters(f'"{poison_id}"', marker)]
    assert len(dead) == 2, dead
    assert all(len(body["events"]) == 1 for body in dead)  # alone: nothing else went with them
    assert counts == Counter(entry[2] for entry in worker.handled)  # nothing handled twice meanwhile


def _event_json(realm: str, cloud_event: dict[str, Any]) -> dict[str, Any]:
    return {
        "realm_id": realm,
        "entity": "Payment",
        "entity_id": cloud_event["intuitentityid"],
        "operation": "update",
        "occurred_at": "2026-07-15T21:31:25Z",
        "event_id": cloud_event["id"],
        "source": "webhook",
    }
