"""POST /webhooks/intuit through the local gateway: the QuickBooks emulator delivers real signed
webhooks (legacy and CloudEvents) and the events land on the real (moto) SQS queue; bad signatures,
malformed bodies and unknown companies are answered as Intuit needs, with nothing queued.

The payment sync worker's SQS poller is paused in these tests, so what the webhook queued can be read
from the queue itself."""

from __future__ import annotations

import json
import os
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest

from local.app_client import AppClient
from local.qbo_emulator.webhooks import Subscription
from local.stack import INTUIT_APP_SECRET, LocalStack
from qbosync.domain.events import EntityEvent, decode_message
from qbosync.domain.signing import intuit_webhook_signature
from tests.integration.conftest import RecordingHandler, connect, wiring

UNKNOWN_REALM = "4620816365999999999"


class EventsQueue:
    """Reads the payment events queue; takes (deletes) only the messages a test is looking for."""

    def __init__(self, stack: LocalStack) -> None:
        self.sqs = stack.aws.client("sqs")
        self.url = stack.environment["PAYMENT_EVENTS_QUEUE_URL"]

    def depth(self) -> int:
        names = [
            "ApproximateNumberOfMessages",
            "ApproximateNumberOfMessagesNotVisible",
            "ApproximateNumberOfMessagesDelayed",
        ]
        attributes = self.sqs.get_queue_attributes(QueueUrl=self.url, AttributeNames=names)["Attributes"]
        return sum(int(attributes.get(name, 0)) for name in names)

    def take(self, wanted: Callable[[EntityEvent], bool], count: int, timeout: float = 5.0) -> list[EntityEvent]:
        """Wait until `count` wanted events were read (or `timeout`), then look once more for extras."""
        found: list[EntityEvent] = []
        deadline = time.monotonic() + timeout
        while True:
            found += self._receive(wanted)
            if len(found) >= count and count > 0:
                found += self._receive(wanted)
                return found
            if time.monotonic() > deadline:
                return found
            time.sleep(0.05)

    def _receive(self, wanted: Callable[[EntityEvent], bool]) -> list[EntityEvent]:
        """The wanted events of every message holding one (a message is a chunk of one delivery)."""
        mine: list[EntityEvent] = []
        while True:
            messages = self.sqs.receive_message(
                QueueUrl=self.url, MaxNumberOfMessages=10, VisibilityTimeout=30, WaitTimeSeconds=0
            ).get("Messages", [])
            if not messages:
                return mine
            found = False
            for message in messages:
                events = [item for item in decode_message(message["Body"]) if isinstance(item, EntityEvent)]
                if any(wanted(event) for event in events):
                    found = True
                    mine += [event for event in events if wanted(event)]
                    self.sqs.delete_message(QueueUrl=self.url, ReceiptHandle=message["ReceiptHandle"])
                else:  # somebody else's: put it back at once
                    self.sqs.change_message_visibility(
                        QueueUrl=self.url, ReceiptHandle=message["ReceiptHandle"], VisibilityTimeout=0
                    )
            if not found:
                return mine


@dataclass
class Company:
    stack: LocalStack
    connection_id: str
    realm_id: str
    http: httpx.Client

    def _token(self) -> str:
        client = self.stack.aws.client("secretsmanager")
        name = os.environ["CONNECTION_SECRET_PREFIX"] + self.connection_id
        return str(json.loads(client.get_secret_value(SecretId=name)["SecretString"])["qbo"]["access_token"])

    def qbo(self, entity: str, body: dict[str, Any], **params: str) -> dict[str, Any]:
        response = self.http.post(
            f"{self.stack.emulator.base_url}/v3/company/{self.realm_id}/{entity.lower()}",
            params={"minorversion": "75", **params},
            json=body,
            headers={"Authorization": f"Bearer {self._token()}", "Accept": "application/json"},
        )
        assert response.status_code == 200, response.text
        return dict(response.json()[entity])

    def payment(self, amount: int = 25) -> dict[str, Any]:
        return self.qbo("Payment", {"CustomerRef": {"value": "1"}, "TotalAmt": amount})


@pytest.fixture(scope="module")
def company(stack: LocalStack) -> Iterator[Company]:
    """A connection to the US company with payment sync switched on."""
    with AppClient(stack.api_url, stack.signing_secret) as app, httpx.Client(timeout=30) as http:
        connected = connect(app, stack)
        settings = app.get(f"/connections/{connected.connection_id}").json()["settings"]
        settings.pop("sync_payments_since", None)
        response = app.put(f"/connections/{connected.connection_id}/settings", {**settings, "sync_payments": True})
        assert response.status_code == 200, response.text
        yield Company(stack, connected.connection_id, stack.emulator.US_REALM, http)


@pytest.fixture
def queue(stack: LocalStack) -> Iterator[EventsQueue]:
    """The payment events queue with the worker's poller paused (restarted afterwards)."""
    pollers = list(getattr(stack.gateway, "_pollers", []))
    for poller in pollers:
        poller.stop()
    try:
        yield EventsQueue(stack)
    finally:
        for poller in pollers:
            poller.start()


@pytest.fixture
def subscribe(stack: LocalStack) -> Iterator[Callable[[str], None]]:
    """Point the emulator's webhooks for our app at the stack, in a format; put the old one back after."""
    emulator = stack.emulator
    before: Subscription | None = emulator.webhooks.subscription(stack.client_id)

    def set_format(fmt: str) -> None:
        emulator.set_webhook(stack.client_id, stack.api_url + "/webhooks/intuit", format=fmt)  # type: ignore[arg-type]

    yield set_format
    assert emulator.webhooks.wait_idle(30)
    if before is None:
        emulator.set_webhook(stack.client_id, None)
    else:
        emulator.webhooks.subscribe(before)


def post_webhook(stack: LocalStack, body: bytes, signature: str | None) -> httpx.Response:
    headers = {"Content-Type": "application/json"}
    if signature is not None:
        headers["intuit-signature"] = signature
    return httpx.post(stack.api_url + "/webhooks/intuit", content=body, headers=headers, timeout=30)


def signed_post(stack: LocalStack, payload: Any) -> httpx.Response:
    body = json.dumps(payload).encode()
    return post_webhook(stack, body, intuit_webhook_signature(stack.webhook_verifier_token, body))


def legacy(realm: str, *entities: tuple[str, str, str]) -> dict[str, Any]:
    return {
        "eventNotifications": [
            {
                "realmId": realm,
                "dataChangeEvent": {
                    "entities": [
                        {"name": name, "id": entity_id, "operation": op, "lastUpdated": "2026-07-15T14:42:19.000Z"}
                        for name, entity_id, op in entities
                    ]
                },
            }
        ]
    }


def cloud_event(realm: str, entity: str, entity_id: str, verb: str) -> dict[str, Any]:
    return {
        "specversion": "1.0",
        "id": str(uuid.uuid4()),
        "source": "intuit.test",
        "type": f"qbo.{entity}.{verb}.v1",
        "time": "2026-07-15T21:31:25.179851517Z",
        "intuitentityid": entity_id,
        "intuitaccountid": realm,
        "data": {},
    }


def unique_id() -> str:
    return "9" + str(uuid.uuid4().int)[:12]


def deliveries_since(stack: LocalStack, mark: int) -> list[Any]:
    return stack.emulator.webhooks.deliveries[mark:]


# --------------------------------------------------------------------------- the emulator delivers


def test_legacy_webhook_from_quickbooks_is_queued(
    stack: LocalStack, company: Company, queue: EventsQueue, subscribe: Callable[[str], None]
) -> None:
    subscribe("legacy")
    mark = len(stack.emulator.webhooks.deliveries)
    payment = company.payment()
    assert stack.emulator.webhooks.wait_idle(20)
    delivered = deliveries_since(stack, mark)
    assert delivered
    assert all(d.status == 200 for d in delivered), [(d.status, d.error) for d in delivered]
    assert "eventNotifications" in json.loads(delivered[0].body)

    (event,) = queue.take(lambda e: e.entity == "Payment" and e.entity_id == payment["Id"], 1)
    assert (event.realm_id, event.operation, event.source) == (company.realm_id, "create", "webhook")
    assert event.event_id.startswith("legacy-")


def test_cloudevents_webhooks_carry_every_payment_change(
    stack: LocalStack, company: Company, queue: EventsQueue, subscribe: Callable[[str], None]
) -> None:
    subscribe("cloudevents")
    mark = len(stack.emulator.webhooks.deliveries)
    payment = company.payment(40)
    updated = company.qbo(
        "Payment", {"Id": payment["Id"], "SyncToken": payment["SyncToken"], "sparse": True, "TotalAmt": 45}
    )
    voided = company.qbo(
        "Payment", {"Id": payment["Id"], "SyncToken": updated["SyncToken"]}, operation="update", include="void"
    )
    company.qbo("Payment", {"Id": payment["Id"], "SyncToken": voided["SyncToken"]}, operation="delete")
    assert stack.emulator.webhooks.wait_idle(20)
    delivered = deliveries_since(stack, mark)
    assert all(d.status == 200 for d in delivered), [(d.status, d.error) for d in delivered]
    sent_ids = {item["id"] for d in delivered for item in json.loads(d.body) if item["intuitentityid"] == payment["Id"]}

    events = queue.take(lambda e: e.entity == "Payment" and e.entity_id == payment["Id"], 4)
    assert sorted(e.operation for e in events) == ["create", "delete", "update", "void"]
    assert {e.event_id for e in events} == sent_ids  # CloudEvents ids are kept: the dedupe key


def test_changes_payment_sync_does_not_use_are_acknowledged_not_queued(
    stack: LocalStack, company: Company, queue: EventsQueue, subscribe: Callable[[str], None]
) -> None:
    subscribe("cloudevents")
    mark = len(stack.emulator.webhooks.deliveries)
    customer = company.qbo("Customer", {"DisplayName": f"Webhook Test {uuid.uuid4().hex[:8]}"})
    assert stack.emulator.webhooks.wait_idle(20)
    delivered = deliveries_since(stack, mark)
    assert delivered
    assert all(d.status == 200 for d in delivered)
    assert queue.take(lambda e: e.entity == "Customer" and e.entity_id == customer["Id"], 0, timeout=1) == []


# --------------------------------------------------------------------------- posted directly


def test_several_realms_in_one_cloudevents_array(stack: LocalStack, company: Company, queue: EventsQueue) -> None:
    ours, theirs = unique_id(), unique_id()
    response = signed_post(
        stack,
        [
            cloud_event(company.realm_id, "payment", ours, "created"),
            cloud_event(UNKNOWN_REALM, "payment", theirs, "created"),
            cloud_event(company.realm_id, "invoice", ours, "voided"),
        ],
    )
    assert response.status_code == 200, response.text
    events = queue.take(lambda e: e.entity_id in {ours, theirs}, 2)
    assert sorted((e.realm_id, e.entity, e.operation) for e in events) == [
        (company.realm_id, "Invoice", "void"),
        (company.realm_id, "Payment", "create"),
    ]


def test_unknown_realm_is_200_and_nothing_is_queued(stack: LocalStack, company: Company, queue: EventsQueue) -> None:
    entity_id = unique_id()
    response = signed_post(stack, legacy(UNKNOWN_REALM, ("Payment", entity_id, "Create")))
    assert response.status_code == 200, response.text
    assert queue.take(lambda e: e.entity_id == entity_id, 0, timeout=1) == []


@pytest.mark.parametrize(
    "body",
    [b"not json at all", b"{}", b"[]", b'{"eventNotifications": [{"realmId": "1"}]}', b"\x00\xff"],
    ids=["text", "empty-object", "empty-array", "no-entities", "binary"],
)
def test_malformed_body_is_200_and_nothing_is_queued(
    stack: LocalStack, company: Company, queue: EventsQueue, body: bytes
) -> None:
    before = queue.depth()
    response = post_webhook(stack, body, intuit_webhook_signature(stack.webhook_verifier_token, body))
    assert response.status_code == 200, response.text
    assert queue.depth() == before


def test_unknown_entity_is_200_and_nothing_is_queued(stack: LocalStack, company: Company, queue: EventsQueue) -> None:
    entity_id = unique_id()
    response = signed_post(stack, [cloud_event(company.realm_id, "spaceship", entity_id, "created")])
    assert response.status_code == 200
    assert queue.take(lambda e: e.entity_id == entity_id, 0, timeout=1) == []


@pytest.mark.parametrize("case", ["wrong-key", "missing", "garbage", "body-reformatted"])
def test_bad_signature_is_401_and_nothing_is_queued(
    stack: LocalStack, company: Company, queue: EventsQueue, case: str
) -> None:
    entity_id = unique_id()
    body = json.dumps(legacy(company.realm_id, ("Payment", entity_id, "Create"))).encode()
    good = intuit_webhook_signature(stack.webhook_verifier_token, body)
    signature, sent = {
        "wrong-key": (intuit_webhook_signature("not-our-verifier-token", body), body),
        "missing": (None, body),
        "garbage": ("%%% not base64 %%%", body),
        "body-reformatted": (good, json.dumps(json.loads(body), indent=1).encode()),
    }[case]
    response = post_webhook(stack, sent, signature)
    assert response.status_code == 401, response.text
    error = response.json()["error"]
    assert error["code"] == "invalid_signature"
    assert set(error) == {"code", "message", "details"}
    assert queue.take(lambda e: e.entity_id == entity_id, 0, timeout=1) == []


def test_rotated_verifier_token_is_picked_up_at_once(stack: LocalStack, company: Company, queue: EventsQueue) -> None:
    wiring().app_secrets().intuit()  # the old token is cached now
    rotated = {**stack.intuit_app, "webhook_verifier_token": "rotated-" + uuid.uuid4().hex}
    original = stack.intuit_app
    stack.aws.put_secret_value(INTUIT_APP_SECRET, rotated)
    try:
        entity_id = unique_id()
        body = json.dumps(legacy(company.realm_id, ("Payment", entity_id, "Update"))).encode()
        response = post_webhook(stack, body, intuit_webhook_signature(rotated["webhook_verifier_token"], body))
        assert response.status_code == 200, response.text
        assert len(queue.take(lambda e: e.entity_id == entity_id, 1)) == 1
        old = post_webhook(stack, body, intuit_webhook_signature(stack.webhook_verifier_token, body))
        assert old.status_code == 401
    finally:
        stack.aws.put_secret_value(INTUIT_APP_SECRET, original)
        wiring().app_secrets().intuit(force_fetch=True)


def test_queue_down_is_500_so_intuit_delivers_again(
    stack: LocalStack, company: Company, queue: EventsQueue, monkeypatch: pytest.MonkeyPatch
) -> None:
    sender = wiring().event_queue()
    monkeypatch.setattr(sender, "_queue_url", queue.url + "-gone")
    monkeypatch.setattr(sender, "_sleep", lambda _: None)
    response = signed_post(stack, legacy(company.realm_id, ("Payment", unique_id(), "Create")))
    assert response.status_code == 500
    assert response.json()["error"]["code"] == "queue_unavailable"


def test_body_and_signature_are_never_logged(
    stack: LocalStack, company: Company, queue: EventsQueue, log_records: RecordingHandler
) -> None:
    marker = "secret-marker-" + uuid.uuid4().hex
    entity_id = unique_id()
    payload = legacy(company.realm_id, ("Payment", entity_id, "Create"))
    payload["eventNotifications"][0]["dataChangeEvent"]["entities"][0]["memo"] = marker
    body = json.dumps(payload).encode()
    signature = intuit_webhook_signature(stack.webhook_verifier_token, body)
    seen = len(log_records.lines)
    assert post_webhook(stack, body, signature).status_code == 200
    assert post_webhook(stack, body, intuit_webhook_signature("wrong", body)).status_code == 401
    assert post_webhook(stack, b"garbage " + marker.encode(), signature).status_code == 401
    queue.take(lambda e: e.entity_id == entity_id, 1)
    logged = "\n".join(log_records.lines[seen:])
    assert "webhook received" in logged  # the handler did log (so the check below can fail)
    assert marker not in logged
    assert signature not in logged
    assert stack.webhook_verifier_token not in logged


@pytest.mark.parametrize("name", ["legacy", "cloudevents"])
def test_sample_events_are_answered(stack: LocalStack, queue: EventsQueue, name: str) -> None:
    """events/payment_webhook/*.json: signed with a sample token, so 401 here; re-signed with ours, 200
    (their companies are not connected: nothing is queued)."""
    from local.template import REPO_ROOT

    event = json.loads((REPO_ROOT / "events" / "payment_webhook" / f"{name}.json").read_text())
    assert stack.invoke("PaymentWebhookFunction", event)["statusCode"] == 401
    before = queue.depth()
    event["headers"]["intuit-signature"] = intuit_webhook_signature(
        stack.webhook_verifier_token, event["body"].encode()
    )
    result = stack.invoke("PaymentWebhookFunction", event)
    assert result["statusCode"] == 200, result
    assert queue.depth() == before
