"""Signed webhook delivery: legacy and CloudEvents payloads, ordering and retries."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import threading
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from werkzeug.serving import make_server
from werkzeug.wrappers import Request, Response

from local.qbo_emulator import QboEmulator
from local.qbo_emulator.emulator import DEFAULT_VERIFIER_TOKEN
from tests.emulators.qbo.helpers import Api, connect


class Receiver:
    """A webhook endpoint that records what it gets and can fail the first N calls."""

    def __init__(self) -> None:
        self.calls: list[tuple[dict[str, str], bytes]] = []
        self.fail_first = 0
        self._lock = threading.Lock()
        self.server = make_server("127.0.0.1", 0, self.app, threaded=True)
        self.url = f"http://127.0.0.1:{self.server.server_port}/hooks"
        self.thread = threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.1}, daemon=True)
        self.thread.start()

    def app(self, environ: dict[str, Any], start_response: Any) -> Any:
        request = Request(environ)
        with self._lock:
            self.calls.append((dict(request.headers), request.get_data()))
            failing = self.fail_first > 0
            if failing:
                self.fail_first -= 1
        return Response("no" if failing else "ok", status=500 if failing else 200)(environ, start_response)

    def bodies(self) -> list[Any]:
        with self._lock:
            return [json.loads(body) for _, body in self.calls]


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    rec = Receiver()
    yield rec
    rec.server.shutdown()
    rec.server.server_close()


def customer(api: Api, name: str) -> str:
    response = api.post("customer", {"DisplayName": name})
    assert response.status_code == 200, response.text
    return str(response.json()["Customer"]["Id"])


def test_legacy_payload_and_signature(emu: QboEmulator, us: Api, receiver: Receiver) -> None:
    emu.set_webhook(emu.DEFAULT_CLIENT_ID, receiver.url)
    new_id = customer(us, "Hooked Ltd")
    assert emu.webhooks.wait_idle(10)
    headers, body = receiver.calls[0]
    expected = base64.b64encode(hmac.new(DEFAULT_VERIFIER_TOKEN.encode(), body, hashlib.sha256).digest()).decode()
    assert headers["Intuit-Signature"] == expected
    payload = json.loads(body)
    notification = payload["eventNotifications"][0]
    assert notification["realmId"] == emu.US_REALM
    entity = notification["dataChangeEvent"]["entities"][0]
    assert entity["name"] == "Customer"
    assert entity["id"] == new_id
    assert entity["operation"] == "Create"
    assert entity["lastUpdated"].endswith("Z")


def test_python_quickbooks_validates_the_signature(emu: QboEmulator, us: Api, receiver: Receiver) -> None:
    from quickbooks import QuickBooks

    emu.set_webhook(emu.DEFAULT_CLIENT_ID, receiver.url)
    customer(us, "Signed Ltd")
    assert emu.webhooks.wait_idle(10)
    headers, body = receiver.calls[0]
    qb = QuickBooks(minorversion=75, verifier_token=DEFAULT_VERIFIER_TOKEN)
    assert qb.validate_webhook_signature(body.decode("utf-8"), headers["Intuit-Signature"])


def test_cloudevents_payload(emu: QboEmulator, us: Api, receiver: Receiver) -> None:
    emu.set_webhook(emu.DEFAULT_CLIENT_ID, receiver.url, format="cloudevents")
    line = [{"DetailType": "SalesItemLineDetail", "Amount": 10, "SalesItemLineDetail": {"ItemRef": {"value": "1"}}}]
    invoice = us.post("invoice", {"CustomerRef": {"value": "1"}, "Line": line}).json()["Invoice"]
    us.post("invoice", {"Id": invoice["Id"], "SyncToken": "0"}, operation="void")
    assert emu.webhooks.wait_idle(10)
    events = [event for body in receiver.bodies() for event in body]
    assert [event["type"] for event in events] == ["qbo.invoice.created.v1", "qbo.invoice.voided.v1"]
    first = events[0]
    assert first["specversion"] == "1.0"
    assert first["intuitentityid"] == invoice["Id"]
    assert first["intuitaccountid"] == emu.US_REALM
    assert first["data"] == {}
    assert first["id"] != events[1]["id"]


def test_payment_updates_linked_invoice_events(emu: QboEmulator, us: Api, receiver: Receiver) -> None:
    emu.set_webhook(emu.DEFAULT_CLIENT_ID, receiver.url, entities=["Payment", "Invoice"])
    line = [{"DetailType": "SalesItemLineDetail", "Amount": 10, "SalesItemLineDetail": {"ItemRef": {"value": "1"}}}]
    invoice = us.post("invoice", {"CustomerRef": {"value": "1"}, "Line": line}).json()["Invoice"]
    customer(us, "Not Subscribed Co")
    us.post(
        "payment",
        {
            "CustomerRef": {"value": "1"},
            "TotalAmt": 10,
            "Line": [{"Amount": 10, "LinkedTxn": [{"TxnId": invoice["Id"], "TxnType": "Invoice"}]}],
        },
    )
    assert emu.webhooks.wait_idle(10)
    seen = [
        (entity["name"], entity["operation"])
        for body in receiver.bodies()
        for note in body["eventNotifications"]
        for entity in note["dataChangeEvent"]["entities"]
    ]
    assert seen == [("Invoice", "Create"), ("Payment", "Create"), ("Invoice", "Update")]


def test_retries_hold_later_events_in_order(emu: QboEmulator, us: Api, receiver: Receiver) -> None:
    emu.webhooks.time_scale = 0.01  # 10 s -> 0.1 s
    emu.set_webhook(emu.DEFAULT_CLIENT_ID, receiver.url)
    receiver.fail_first = 2
    first = customer(us, "First Hook")
    second = customer(us, "Second Hook")
    assert emu.webhooks.wait_idle(20)
    ids = [body["eventNotifications"][0]["dataChangeEvent"]["entities"][0]["id"] for body in receiver.bodies()]
    assert ids == [first, first, first, second]
    attempts = [(d.attempt, d.status) for d in emu.webhooks.deliveries]
    assert attempts == [(1, 500), (2, 500), (3, 200), (1, 200)]


def test_only_connected_companies_notify(emu: QboEmulator, http: httpx.Client, receiver: Receiver) -> None:
    emu.register_app(
        "second-app", "second-secret", redirect_uris=["http://localhost:9/cb"], webhook_verifier_token="v2"
    )
    emu.set_webhook("second-app", receiver.url)
    api = Api(http, emu, connect(http, emu))  # the default app, not second-app
    customer(api, "Nobody Listening")
    emu.set_preference(emu.US_REALM, "SalesFormsPrefs.CustomTxnNumbers", True)
    assert emu.webhooks.wait_idle(5)
    assert receiver.calls == []
