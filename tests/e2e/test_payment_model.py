"""Model-based: a seeded random walk of 300+ payment operations in the QuickBooks emulator (create,
partial, several invoices, overpayments, edit amount, edit date, move between invoices, void, delete;
and credit memos made in QuickBooks applied through payments, their credit edited, voided and deleted)
across several copied invoices. The worker (payment_sync, fed through SQS) sees 20 % of the events
dropped, 20 % duplicated and all of them reordered, some across rounds. One reconcile run afterwards
(CDC through the same queue) must leave Productive's payments equal to QuickBooks' cash: the cash
applied in total to the cent, per invoice the same amounts and dates, nothing extra, nothing missing;
and every credit flagged: each copy's newest `credited_in_quickbooks` flag names the credit QuickBooks
applies to it, which is also what separates Productive's amount unpaid from QuickBooks' balance.

A payment using a credit applies to one invoice here, so the cash of each invoice does not depend on
the allocation rule of README "Payment sync" (tests/unit/test_payment_credits.py covers that)."""

from __future__ import annotations

import json
import os
import random
import subprocess
import sys
import uuid
from collections.abc import Iterator
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from local.app_client import AppClient
from local.productive_emulator import ProductiveEmulator
from local.qbo_payments import PaymentDesk, drain
from local.stack import LocalStack

SEED = 20261125
OPERATIONS = 320
ROUND = 16
INVOICES = 4
CENT = Decimal("0.01")


INNER = "QBOSYNC_PAYMENT_MODEL_INNER"
ROOT = Path(__file__).resolve().parents[2]


def test_payment_model_in_its_own_process() -> None:
    """The walk starts a local stack of its own; handlers' environment is process-wide, so it runs in a
    child process (the integration tests' stack may be running in this one)."""
    env = {
        **os.environ,
        INNER: "1",
        "PYTHONPATH": os.pathsep.join([str(ROOT), str(ROOT / "layers" / "qbosync")]),
    }
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            f"{__file__}::test_random_walk_with_lost_duplicated_reordered_events_then_reconcile",
            "-q",
            "-p",
            "no:cacheprovider",
            "-x",
        ],
        check=False,
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stdout[-4000:] + done.stderr[-2000:]
    assert "1 passed" in done.stdout


@pytest.fixture(scope="module")
def desk() -> Iterator[PaymentDesk]:
    if not os.environ.get(INNER):
        pytest.skip("runs in a child process (test_payment_model_in_its_own_process)")
    with ProductiveEmulator() as productive:
        productive.set_rate_limit(enabled=False)
        environment = {
            "PRODUCTIVE_API_BASE_URL": productive.base_url,
            "POWERTOOLS_LOG_LEVEL": "ERROR",
            "POWERTOOLS_METRICS_DISABLED": "true",
        }
        with (
            LocalStack(environment=environment, sqs_pollers=False) as stack,
            AppClient(stack.api_url, stack.signing_secret) as app,
        ):
            stack.emulator.set_throttling(enabled=False)
            world = PaymentDesk(stack, app, productive)
            yield world
            world.close()


def send(stack: LocalStack, events: list[dict[str, Any]]) -> None:
    sqs = stack.aws.client("sqs")
    url = stack.gateway.names.get_att("PaymentEventsQueue", "QueueUrl")

    for start in range(0, len(events), 10):
        chunk = events[start : start + 10]
        sqs.send_message_batch(
            QueueUrl=url, Entries=[{"Id": str(i), "MessageBody": json.dumps(e)} for i, e in enumerate(chunk)]
        )


class Walk:
    def __init__(self, desk: PaymentDesk, invoices: list[tuple[str, str]], rng: random.Random) -> None:
        self.desk, self.invoices, self.rng = desk, invoices, rng
        self.live: dict[str, dict[str, Decimal]] = {}  # payment id -> QuickBooks invoice id -> amount
        self.credits: dict[str, tuple[str, Decimal]] = {}  # payment id -> (credit memo id, credit used)
        self.voided: set[str] = set()
        self.today = desk.today()  # the company's date: TxnDate is a date in its time zone
        self.counts: dict[str, int] = {}

    def room(self, qbo_invoice_id: str, payment_id: str | None = None) -> Decimal:
        mine = self.live.get(payment_id or "", {}).get(qbo_invoice_id, Decimal(0))
        return self.desk.balance(qbo_invoice_id) + mine

    def amount(self, room: Decimal) -> Decimal | None:
        cents = int(min(room, Decimal(400)) / CENT)
        return None if cents < 1 else Decimal(self.rng.randint(1, cents)) * CENT

    def date(self) -> str:
        return (self.today + timedelta(days=self.rng.randint(0, 6))).isoformat()

    def lines(self, payment_id: str | None) -> dict[str, Decimal]:
        chosen = self.rng.sample([q for _, q in self.invoices], self.rng.choice([1, 1, 1, 2, 3]))
        lines = {}
        for qbo_id in chosen:
            amount = self.amount(self.room(qbo_id, payment_id))
            if amount is not None:
                lines[qbo_id] = amount
        return lines

    def step(self) -> str | None:
        """One operation; returns the payment id it changed."""
        kind = self.rng.choices(
            ["create", "credit", "amount", "date", "move", "void", "delete"], weights=[28, 10, 24, 10, 6, 12, 14]
        )[0]
        if kind not in ("create", "credit") and not self.live:
            kind = "create"
        if kind == "credit":
            payment_id = self.pay_with_credit()
            if payment_id is None:
                return None
        elif kind == "create":
            lines = self.lines(None)
            if not lines:
                return None
            extra = Decimal(self.rng.choice([0, 0, 0, 25]))  # sometimes part of it stays unapplied
            payment_id = self.desk.pay(*lines.items(), txn_date=self.date(), total=sum(lines.values()) + extra)
            self.live[payment_id] = lines
        else:
            payment_id = self.rng.choice(sorted(self.live))
            if payment_id in self.credits and kind in ("amount", "move"):
                kind = "credit_edit"
                if not self.edit_credit(payment_id):
                    return None
            elif kind in ("amount", "move"):
                lines = (
                    self.lines(payment_id)
                    if kind == "move"
                    else {
                        q: a
                        for q, a in ((q, self.amount(self.room(q, payment_id))) for q in self.live[payment_id])
                        if a is not None
                    }
                )
                if not lines:
                    return None
                self.desk.edit(payment_id, *lines.items())
                self.live[payment_id] = lines
            elif kind == "date":
                self.desk.edit(payment_id, txn_date=self.date())
            elif kind == "void":
                self.desk.void(payment_id)
                del self.live[payment_id]
                self.credits.pop(payment_id, None)
                self.voided.add(payment_id)
            else:
                self.desk.delete(payment_id)
                del self.live[payment_id]
                self.credits.pop(payment_id, None)
        self.counts[kind] = self.counts.get(kind, 0) + 1
        return payment_id

    def pay_with_credit(self) -> str | None:
        """An accountant's credit memo for one invoice, applied with some cash (sometimes more cash than
        the invoice needs)."""
        qbo_id = self.rng.choice([q for _, q in self.invoices])
        line = self.amount(self.room(qbo_id))
        memo_amount = self.amount(Decimal(300))
        if line is None or memo_amount is None:
            return None
        memo = self.desk.credit_memo(qbo_id, memo_amount)
        credit = self.amount(min(line, memo_amount)) or line
        extra = Decimal(self.rng.choice([0, 0, 10]))
        payment_id = self.desk.pay((qbo_id, line), credits=((memo, credit),), total=line - credit + extra)
        self.live[payment_id] = {qbo_id: line}
        self.credits[payment_id] = (memo, credit)
        return payment_id

    def edit_credit(self, payment_id: str) -> bool:
        """More or less of the credit memo used, the invoice line kept: the cash makes up the rest."""
        [(qbo_id, line)] = self.live[payment_id].items()
        memo, used = self.credits[payment_id]
        credit = self.amount(min(line, self.desk.remaining_credit(memo) + used))
        if credit is None:
            return False
        self.desk.edit(payment_id, (qbo_id, line), credits=((memo, credit),))
        self.credits[payment_id] = (memo, credit)
        return True


def event(realm: str, payment_id: str) -> dict[str, Any]:
    return {
        "realm_id": realm,
        "entity": "Payment",
        "entity_id": payment_id,
        "operation": "update",
        "occurred_at": "2026-11-25T10:00:00Z",
        "event_id": uuid.uuid4().hex,
        "source": "webhook",
    }


def test_random_walk_with_lost_duplicated_reordered_events_then_reconcile(desk: PaymentDesk) -> None:
    rng = random.Random(SEED)
    invoices = [desk.copied_invoice("10", "150.00") for _ in range(INVOICES)]
    walk = Walk(desk, invoices, rng)
    pending: list[str] = []
    delivered = dropped = duplicated = 0
    done = 0
    while done < OPERATIONS:
        changed = walk.step()
        if changed is None:
            continue
        done += 1
        pending.append(changed)
        if done % ROUND == 0 or done == OPERATIONS:
            batch: list[str] = []
            held: list[str] = []
            for payment_id in pending:
                roll = rng.random()
                if roll < 0.2:
                    dropped += 1
                    continue
                batch.append(payment_id)
                if roll < 0.4:
                    batch.append(payment_id)
                    duplicated += 1
            rng.shuffle(batch)
            if done < OPERATIONS:  # some arrive only after the next round's changes
                held, batch = batch[: len(batch) // 10], batch[len(batch) // 10 :]
            send(desk.stack, [event(desk.realm, p) for p in batch])
            delivered += len(batch)
            drain(desk.stack)
            pending = held
    assert sum(walk.counts.values()) >= 300
    assert all(walk.counts.get(kind, 0) >= 10 for kind in ("create", "amount", "void", "delete")), walk.counts
    assert dropped >= 40
    assert duplicated >= 40
    assert not all(desk.agree(p, q) for p, q in invoices), "the lost events should have left Productive behind"

    result = desk.stack.run_schedule("ReconcileFunction")
    assert result["failed"] == {}, result
    drain(desk.stack)

    mirrored = sum(
        (Decimal(str(p["amount"])) for productive_id, _ in invoices for p in desk.productive.payments(productive_id)),
        Decimal(0),
    )
    # To the cent: Productive holds QuickBooks' cash, no more.
    assert mirrored == desk.cash_applied({q for _, q in invoices})
    for productive_id, qbo_id in invoices:
        assert desk.mirrored(productive_id) == cash_on(desk, qbo_id), productive_id
        credited = credit_on(desk, qbo_id)
        assert desk.unpaid(productive_id) - desk.balance(qbo_id) == credited, productive_id
        assert newest_credit_flag(desk, productive_id) == credited, productive_id
    assert walk.counts.get("credit", 0) >= 10, walk.counts
    assert walk.counts.get("credit_edit", 0) >= 3, walk.counts
    dead = desk.stack.aws.client("sqs").receive_message(
        QueueUrl=desk.stack.gateway.names.get_att("PaymentEventsDeadLetterQueue", "QueueUrl")
    )
    assert dead.get("Messages", []) == []


def _payments(desk: PaymentDesk) -> list[dict[str, Any]]:
    return list(desk.stack.emulator.store.require(desk.realm).all("Payment"))


def _lines(payment: dict[str, Any], txn_type: str) -> list[tuple[str, Decimal]]:
    return [
        (str(linked["TxnId"]), Decimal(str(line["Amount"])))
        for line in payment.get("Line", [])
        for linked in line.get("LinkedTxn", [])
        if linked.get("TxnType") == txn_type
    ]


def cash_on(desk: PaymentDesk, qbo_id: str) -> list[tuple[Decimal, Any]]:
    """QuickBooks' cash on one invoice, (amount, TxnDate) per payment: a line's amount less the credit
    used with it (payments using a credit apply to one invoice in this walk)."""
    found = []
    for payment in _payments(desk):
        credit = sum((amount for _, amount in _lines(payment, "CreditMemo")), Decimal(0))
        for invoice_id, amount in _lines(payment, "Invoice"):
            if invoice_id == qbo_id and amount - credit > 0:
                found.append((amount - credit, date.fromisoformat(str(payment["TxnDate"])[:10])))
    return sorted(found)


def credit_on(desk: PaymentDesk, qbo_id: str) -> Decimal:
    """The credit QuickBooks' credit memos give one invoice."""
    return sum(
        (
            sum((amount for _, amount in _lines(payment, "CreditMemo")), Decimal(0))
            for payment in _payments(desk)
            if qbo_id in [invoice_id for invoice_id, _ in _lines(payment, "Invoice")]
        ),
        Decimal(0),
    )


def newest_credit_flag(desk: PaymentDesk, productive_id: str) -> Decimal:
    copies = desk.app.get(f"/connections/{desk.cid}/invoices/{productive_id}/copies").json()["items"]
    credited = [flag for flag in copies[0]["flags"] if flag["kind"] == "credited_in_quickbooks"]
    return Decimal(credited[0]["details"]["amount"]) if credited else Decimal(0)
