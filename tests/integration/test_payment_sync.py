"""Payment sync through the real path: a payment written to the QuickBooks emulator over HTTP → signed
webhook → payment_webhook (gateway) → SQS (moto) → payment_sync (Powertools Batch) → the Productive
emulator; and reconcile (CDC) → the same queue. Each scenario of the demo, plus scope, throttling and
a poison message."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import date
from decimal import Decimal
from typing import Any

import pytest

from local.qbo_payments import PaymentDriver, drain
from tests.integration.conftest import wiring
from tests.integration.copy_world import World
from tests.integration.test_copies import _invoice


@pytest.fixture(scope="module")
def quiet_pollers(stack: Any) -> Iterator[None]:
    """Stop the stack's background SQS pollers for this module: the tests drain the queues themselves,
    with failed messages visible again at once (Lambda would wait for the visibility timeout)."""
    gateway = stack.gateway
    for poller in gateway._pollers:
        poller.stop()
    gateway._pollers.clear()
    stack.emulator.set_webhook(stack.client_id, f"{stack.api_url}/webhooks/intuit", format="cloudevents")
    yield
    stack.emulator.set_webhook(stack.client_id, None)
    gateway.start_sqs_pollers(sqs_client=stack.aws.client("sqs"))


class Payments(PaymentDriver):
    """A connected US subsidiary (a copy-test World) with payment sync on, driven by the shared payment
    driver (local/qbo_payments.py)."""

    def __init__(self, app: Any, stack: Any, productive: Any) -> None:
        self.world = World(app, stack, productive, stack.emulator.US_REALM)
        self.world.configure(sync_payments=True, default_item_id="1")
        super().__init__(stack, productive, self.world.cid, self.world.realm)

    def copied_invoice(self) -> tuple[str, str]:
        """A fresh Productive invoice copied to QuickBooks: (Productive id, QuickBooks id)."""
        invoice_id = _invoice(self.world, number=None, tax_rate_id=self.world.demo.tax_rate_us_exempt_id)
        response = self.world.copy(invoice_id)
        assert response.status_code == 201, response.text
        return invoice_id, str(response.json()["quickbooks_invoice_id"])


def queue_url(stack: Any, logical_id: str) -> str:
    return str(stack.gateway.names.get_att(logical_id, "QueueUrl"))


@pytest.fixture
def w(app: Any, stack: Any, productive: Any, quiet_pollers: None) -> Iterator[Payments]:
    with Payments(app, stack, productive) as world:
        yield world
        world.world.configure(sync_payments=False, default_item_id="1")  # later tests' payments skip this connection


def test_partial_tranche_edit_void_delete(w: Payments) -> None:
    invoice_id, qbo_id = w.copied_invoice()
    total = w.world.qbo("Invoice", qbo_id)["TotalAmt"]
    first = w.pay((qbo_id, "100.00"))
    w.settle()
    assert w.mirrored(invoice_id) == [(Decimal("100.00"), w.today())]
    assert w.unpaid(invoice_id) == w.balance(qbo_id) == total - Decimal("100.00")
    [payment] = w.productive.payments(invoice_id)
    assert payment["note"].startswith(f"QuickBooks payment {first}")
    # The second tranche pays it off.
    second = w.pay((qbo_id, str(total - Decimal("100.00"))))
    w.settle()
    assert w.balance(qbo_id) == 0 == w.unpaid(invoice_id)
    # The first payment's amount is edited down: the invoice reopens by the difference.
    w.edit(first, (qbo_id, "60.00"), txn_date="2026-11-20")
    w.settle()
    assert w.mirrored(invoice_id) == sorted([(Decimal("60.00"), date(2026, 11, 20)), (total - 100, w.today())])
    assert w.unpaid(invoice_id) == w.balance(qbo_id) == Decimal("40.00")
    # Void the second, delete the first: nothing left, the invoice fully open on both sides.
    w.void(second)
    w.settle()
    assert w.mirrored(invoice_id) == [(Decimal("60.00"), date(2026, 11, 20))]
    w.delete(first)
    w.settle()
    assert w.mirrored(invoice_id) == []
    assert w.unpaid(invoice_id) == w.balance(qbo_id) == total
    # Duplicated deliveries changed nothing on the way: one mapping per live payment, none now.
    assert wiring().payment_repository().for_invoice(w.cid, invoice_id) == []


def test_one_payment_applied_to_two_copied_invoices(w: Payments) -> None:
    (a, qa), (b, qb) = w.copied_invoice(), w.copied_invoice()
    payment = w.pay((qa, "120.00"), (qb, "80.50"), total="250.00")  # 49.50 left unapplied
    w.settle()
    assert w.mirrored(a) == [(Decimal("120.00"), w.today())]
    assert w.mirrored(b) == [(Decimal("80.50"), w.today())]
    assert w.unpaid(a) == w.balance(qa)
    assert w.unpaid(b) == w.balance(qb)
    w.void(payment)
    w.settle()
    assert w.mirrored(a) == w.mirrored(b) == []


def test_ignored_not_copied_and_before_sync_and_sync_off(w: Payments) -> None:
    invoice_id, qbo_id = w.copied_invoice()
    # An invoice made in QuickBooks directly (not a copy): its payment stays in QuickBooks only.
    foreign = w.call(
        "POST",
        "/invoice",
        {
            "CustomerRef": w.world.qbo("Invoice", qbo_id)["CustomerRef"],
            "Line": [
                {
                    "DetailType": "SalesItemLineDetail",
                    "Amount": "50.00",
                    "SalesItemLineDetail": {"ItemRef": {"value": "1"}, "TaxCodeRef": {"value": "NON"}},
                }
            ],
        },
    )["Invoice"]
    w.pay((foreign["Id"], "50.00"))
    # Dated before payment sync was switched on.
    w.pay((qbo_id, "10.00"), txn_date="2020-01-15")
    w.settle()
    assert w.mirrored(invoice_id) == []
    # Sync off: nothing mirrored.
    w.world.configure(sync_payments=False, default_item_id="1")
    w.pay((qbo_id, "11.00"))
    w.settle()
    assert w.mirrored(invoice_id) == []


def test_payment_on_an_older_copy_of_a_re_copied_invoice(w: Payments) -> None:
    invoice_id, old_qbo_id = w.copied_invoice()
    again = w.world.copy(invoice_id, mode="create")
    assert again.status_code == 201, again.text
    new_qbo_id = str(again.json()["quickbooks_invoice_id"])
    assert new_qbo_id != old_qbo_id
    w.pay((old_qbo_id, "33.00"))
    w.settle()
    assert w.mirrored(invoice_id) == [(Decimal("33.00"), w.today())]


def test_productive_throttling_is_retried_not_lost(w: Payments, monkeypatch: pytest.MonkeyPatch) -> None:
    # The payment's event shares its message with its invoice's update, which succeeds: the failed event
    # is queued again on its own, at once here (30 s later in Lambda).
    monkeypatch.setattr(wiring().payment_event_worker(), "_retry_delay_seconds", 0)
    invoice_id, qbo_id = w.copied_invoice()
    w.productive.faults.fail_next(8, status=429, method="POST", path_contains="payments", reset_seconds=0)
    w.pay((qbo_id, "70.00"))
    w.settle()
    assert w.mirrored(invoice_id) == [(Decimal("70.00"), w.today())]
    assert w.productive.faults.pending == 0  # every 429 was answered, and the message came back after them
    dead = w.stack.aws.client("sqs").receive_message(QueueUrl=queue_url(w.stack, "PaymentEventsDeadLetterQueue"))
    assert dead.get("Messages", []) == []


def test_a_poison_message_goes_to_the_dlq_and_the_rest_of_the_batch_is_processed(w: Payments) -> None:
    invoice_id, qbo_id = w.copied_invoice()
    sqs = w.stack.aws.client("sqs")
    # Webhooks off for a moment: the good event goes into the same batch as the poison one.
    w.webhooks_off()
    try:
        payment = w.pay((qbo_id, "15.00"))
    finally:
        w.webhooks_on()
    good = {
        "realm_id": w.realm,
        "entity": "Payment",
        "entity_id": payment,
        "operation": "create",
        "occurred_at": "2026-11-25T10:00:00Z",
        "event_id": "test-" + uuid.uuid4().hex,
        "source": "webhook",
    }
    queue = queue_url(w.stack, "PaymentEventsQueue")
    sqs.send_message_batch(
        QueueUrl=queue,
        Entries=[
            {"Id": "poison", "MessageBody": '{"realm_id": "x", "entity": '},
            {"Id": "good", "MessageBody": json.dumps(good)},
        ],
    )
    drain(w.stack)
    assert w.mirrored(invoice_id) == [(Decimal("15.00"), w.today())]
    dead_queue = queue_url(w.stack, "PaymentEventsDeadLetterQueue")
    dead = sqs.receive_message(QueueUrl=dead_queue, MaxNumberOfMessages=10).get("Messages", [])
    assert [message["Body"] for message in dead] == ['{"realm_id": "x", "entity": ']
    sqs.delete_message(QueueUrl=dead_queue, ReceiptHandle=dead[0]["ReceiptHandle"])


def test_reconcile_catches_up_after_lost_webhooks(w: Payments) -> None:
    invoice_id, qbo_id = w.copied_invoice()
    kept = w.pay((qbo_id, "5.00"))
    w.settle()
    w.webhooks_off()  # webhooks lost from here on
    try:
        w.pay((qbo_id, "6.00"))
        w.edit(kept, (qbo_id, "7.00"))
        assert w.mirrored(invoice_id) == [(Decimal("5.00"), w.today())]
        result = w.stack.run_schedule("ReconcileFunction")
        assert result["queued"] >= 2, result
        drain(w.stack)
    finally:
        w.webhooks_on()
    assert w.mirrored(invoice_id) == [(Decimal("6.00"), w.today()), (Decimal("7.00"), w.today())]
    assert w.unpaid(invoice_id) == w.balance(qbo_id)


def test_invoice_void_event_re_reads_the_payments_mapped_to_it(w: Payments) -> None:
    invoice_id, qbo_id = w.copied_invoice()
    payment = w.pay((qbo_id, "9.00"))
    w.settle()
    assert w.mirrored(invoice_id) == [(Decimal("9.00"), w.today())]
    w.webhooks_off()
    try:
        w.void(payment)  # this payment's own event is lost
    finally:
        w.webhooks_on()
    w.settle()
    assert w.mirrored(invoice_id) == [(Decimal("9.00"), w.today())]
    # The invoice is voided next: its event makes the worker re-read the payments mapped to it.
    w.void_invoice(qbo_id)
    w.settle()
    assert w.mirrored(invoice_id) == []


def test_ten_copies_of_one_event_at_once_make_one_productive_payment(w: Payments) -> None:
    invoice_id, qbo_id = w.copied_invoice()
    w.webhooks_off()
    try:
        payment = w.pay((qbo_id, "21.00"))
    finally:
        w.webhooks_on()
    body = json.dumps(
        {
            "realm_id": w.realm,
            "entity": "Payment",
            "entity_id": payment,
            "operation": "create",
            "occurred_at": "2026-11-25T10:00:00Z",
            "event_id": "dup-" + uuid.uuid4().hex,
        }
    )

    def invoke(n: int) -> Any:
        record = {
            "messageId": f"m{n}",
            "receiptHandle": f"r{n}",
            "body": body,
            "attributes": {},
            "eventSource": "aws:sqs",
        }
        return w.stack.invoke("PaymentSyncFunction", {"Records": [record]})

    with ThreadPoolExecutor(max_workers=10) as pool:
        results = list(pool.map(invoke, range(10)))
    assert all(result == {"batchItemFailures": []} for result in results), results
    assert w.mirrored(invoice_id) == [(Decimal("21.00"), w.today())]


def test_quickbooks_throttling_is_retried_not_lost(w: Payments) -> None:
    invoice_id, qbo_id = w.copied_invoice()
    w.pay((qbo_id, "44.00"))
    assert w.stack.emulator.webhooks.wait_idle(15)
    w.stack.emulator.reset_request_log()
    w.stack.emulator.faults.throttle_next(2)  # the worker's reads of the payment get 429 twice
    drain(w.stack)
    assert w.mirrored(invoice_id) == [(Decimal("44.00"), w.today())]
    throttled = [entry for entry in w.stack.emulator.request_log if entry[2] == 429 and "/payment/" in entry[1]]
    assert len(throttled) == 2
