"""Payment sync rules with in-memory fakes: desired state, create/update/delete, idempotency, crash
recovery through the marker, scope (copies, sync on, sync date, connected), and failures that must be
retried."""

from __future__ import annotations

import itertools
import random
import re
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest

from qbosync.domain.connection import CompanyProfile, ConnectionSecret, ConnectionSettings, TokenSet
from qbosync.domain.copies import CopyRecord, QuickBooksType
from qbosync.domain.errors import ConnectionNotReady, NotFound, ReauthorizationRequired, UpstreamUnavailable
from qbosync.domain.events import EntityEvent
from qbosync.domain.payments import carries_marker, desired_payments, note_for
from qbosync.domain.productive import ProductivePayment
from qbosync.services.activity import QuietActivityLog
from qbosync.services.payment_sync import PaymentInProgress, PaymentSyncService
from qbosync.services.tokens import TokenService
from tests.fakes import (
    FakeClock,
    InMemoryActivityLog,
    InMemoryCopies,
    InMemoryPayments,
    InMemoryRepository,
    InMemoryVault,
    QuickBooksStub,
    StrictRotatingOAuth,
    connected,
)

REALM = "9130350000000001"


class FakeQuickBooks(QuickBooksStub):
    def __init__(self) -> None:
        self.payments: dict[str, dict[str, Any]] = {}
        self.invoices: dict[str, dict[str, Any]] = {}
        self.memos: dict[str, dict[str, Any]] = {}
        self.reads = 0
        self.queries: list[str] = []
        self.fail: Exception | None = None

    def get(self, entity: str, entity_id: str) -> dict[str, Any] | None:
        self.reads += 1
        if self.fail is not None:
            raise self.fail
        store = {"Payment": self.payments, "Invoice": self.invoices, "CreditMemo": self.memos}[entity]
        return store.get(entity_id)

    def query(self, statement: str) -> list[dict[str, Any]]:
        """Only what the sync asks: payments by a list of ids."""
        self.reads += 1
        self.queries.append(statement)
        if self.fail is not None:
            raise self.fail
        match = re.fullmatch(r"select \* from Payment where Id in \(((?:'\d+'(?:, )?)+)\)", statement)
        assert match, statement
        return [self.payments[i] for i in re.findall(r"'(\d+)'", match.group(1)) if i in self.payments]

    def pay(self, payment_id: str, txn_date: str, *lines: tuple[str, str], ref: str = "") -> None:
        self.payments[payment_id] = {
            "Id": payment_id,
            "TxnDate": txn_date,
            "TotalAmt": sum((Decimal(a) for _, a in lines), Decimal(0)),
            "PaymentRefNum": ref,
            "Line": [{"Amount": Decimal(a), "LinkedTxn": [{"TxnId": i, "TxnType": "Invoice"}]} for i, a in lines],
        }

    def void(self, payment_id: str) -> None:
        self.payments[payment_id] = {**self.payments[payment_id], "TotalAmt": Decimal(0), "Line": []}


class FakeProductive:
    def __init__(self) -> None:
        self.payments: dict[str, ProductivePayment] = {}
        self.ids = itertools.count(500)
        self.writes = 0
        self.fail_next: list[Exception] = []
        self.commit_then_fail = False
        self.invoices = {"P1", "P2", "P3"}
        self.exports: dict[str, str] = {}  # invoice -> export id written

    def update_invoice_export(
        self, invoice_id: str, *, export_id: str, export_invoice_url: str, number: str | None = None
    ) -> None:
        self.writes += 1
        self.exports[invoice_id] = export_id

    def _maybe_fail(self) -> None:
        if self.fail_next:
            raise self.fail_next.pop(0)

    def create_payment(self, invoice_id: str, amount: Decimal, paid_on: date, note: str | None) -> ProductivePayment:
        self._maybe_fail()
        if invoice_id not in self.invoices:
            raise NotFound("no invoice", code="invoice_not_found")
        self.writes += 1
        payment = ProductivePayment(str(next(self.ids)), invoice_id, amount, paid_on, note)
        self.payments[payment.id] = payment
        if self.commit_then_fail:
            self.commit_then_fail = False
            raise UpstreamUnavailable(
                "timeout", service="productive", details={"outcome_unknown": True}, retry_after_seconds=5
            )
        return payment

    def update_payment(self, payment_id: str, amount: Decimal, paid_on: date, note: str | None) -> ProductivePayment:
        self._maybe_fail()
        if payment_id not in self.payments:
            raise NotFound("gone", code="productive_not_found")
        self.writes += 1
        self.payments[payment_id] = replace(self.payments[payment_id], amount=amount, paid_on=paid_on, note=note)
        return self.payments[payment_id]

    def delete_payment(self, payment_id: str) -> None:
        self._maybe_fail()
        self.writes += 1
        self.payments.pop(payment_id, None)

    def list_payments(self, invoice_id: str) -> list[ProductivePayment]:
        return [p for p in self.payments.values() if p.invoice_id == invoice_id]

    def on(self, invoice_id: str) -> list[tuple[Decimal, date | None]]:
        return sorted((p.amount, p.paid_on) for p in self.list_payments(invoice_id))


class FakeCopies(InMemoryCopies):
    def add(
        self,
        qbo_id: str,
        invoice_id: str,
        connection_id: str = "c1",
        *,
        quickbooks_type: QuickBooksType = "Invoice",
        total: str = "0",
        sync_token: str = "0",
        customer_id: str = "1",
    ) -> CopyRecord:
        sequence = 1 + sum(1 for (c, i, _) in self.copies if (c, i) == (connection_id, invoice_id))
        now = datetime(2026, 11, 1, tzinfo=UTC)
        record = CopyRecord(
            connection_id=connection_id,
            invoice_id=invoice_id,
            sequence=sequence,
            copy_id=f"{invoice_id}-{sequence}",
            quickbooks_id=qbo_id,
            doc_number=None,
            total_amount=Decimal(total),
            currency="USD",
            quickbooks_url="",
            mode="create",
            created_at=now,
            updated_at=now,
            sync_token=sync_token,
            customer_id=customer_id,
            realm_id=REALM,
            quickbooks_type=quickbooks_type,
        )
        self.complete(record)
        return record

    def invoice_of(self, qbo_id: str) -> str | None:
        record = self.copy_of_quickbooks_invoice(REALM, qbo_id)
        return record.invoice_id if record is not None else None


class World:
    def __init__(self, *, sync: bool = True, since: datetime | None = None) -> None:
        self.clock = FakeClock()
        self.repo = InMemoryRepository()
        self.vault = InMemoryVault()
        profile = CompanyProfile(REALM, "Co", "US", "USD", False, False, False, True)
        settings = ConnectionSettings(
            sync_payments=sync, sync_payments_since=since or datetime(2026, 10, 1, 9, 30, tzinfo=UTC)
        )
        self.repo.save(replace(connected("c1", clock=self.clock), company=profile, settings=settings))
        tokens = TokenSet("a", "r", self.clock.now() + timedelta(hours=1), self.clock.now() + timedelta(days=90))
        self.vault.write("c1", ConnectionSecret("pat", tokens))
        self.qbo = FakeQuickBooks()
        self.productive = FakeProductive()
        self.copies = FakeCopies()
        self.copies.add("101", "P1")
        self.copies.add("102", "P2")
        self.copies.add("100", "P1")  # an older copy of the re-copied invoice P1
        self.mappings = InMemoryPayments()
        self.activity = InMemoryActivityLog()
        self.service = PaymentSyncService(
            connections=self.repo,
            copies=self.copies,
            payments=self.mappings,
            tokens=TokenService(
                repository=self.repo, vault=self.vault, oauth=StrictRotatingOAuth(self.clock), clock=self.clock
            ),
            quickbooks=lambda realm, token: self.qbo,
            productive=lambda connection, token: self.productive,  # type: ignore[arg-type, return-value]
            clock=self.clock,
            activity=self.activity,
            sleep=lambda seconds: self.clock.advance(seconds=seconds),
        )
        self.events = itertools.count(1)

    def event(self, entity_id: str, entity: str = "Payment", operation: str = "update") -> Any:
        return self.service.handle(
            EntityEvent(
                realm_id=REALM,
                entity=entity,
                entity_id=entity_id,
                operation=operation,
                occurred_at=self.clock.now(),
                event_id=f"e{next(self.events)}",
            )
        )


@pytest.fixture
def w() -> World:
    return World()


def test_partial_then_tranche_then_edit_then_delete(w: World) -> None:
    w.qbo.pay("173", "2026-11-02", ("101", "400.00"))
    assert w.event("173").created == 1
    assert w.productive.on("P1") == [(Decimal("400.00"), date(2026, 11, 2))]
    [payment] = w.productive.list_payments("P1")
    assert carries_marker(payment.note, "173")
    assert not carries_marker(payment.note, "17")
    w.qbo.pay("174", "2026-11-03", ("101", "600.00"))
    w.event("174")
    w.qbo.pay("173", "2026-11-04", ("101", "450.00"))
    assert w.event("173").updated == 1
    assert w.productive.on("P1") == [(Decimal("450.00"), date(2026, 11, 4)), (Decimal("600.00"), date(2026, 11, 3))]
    del w.qbo.payments["173"]
    assert w.event("173", operation="delete").deleted == 1
    assert w.productive.on("P1") == [(Decimal("600.00"), date(2026, 11, 3))]
    assert w.mappings.for_payment("c1", "173") == []


def test_duplicates_change_nothing_and_cost_one_read(w: World) -> None:
    w.qbo.pay("173", "2026-11-02", ("101", "400.00"))
    w.event("173")
    writes, reads = w.productive.writes, w.qbo.reads
    report = w.event("173")
    assert report.unchanged == 1
    assert report.writes == 0
    assert w.productive.writes == writes
    assert w.qbo.reads == reads + 1


def test_one_payment_two_invoices_and_void(w: World) -> None:
    w.qbo.pay("200", "2026-11-05", ("101", "1350.00"), ("102", "500.00"), ref="CHK-5521")
    assert w.event("200").created == 2
    assert w.productive.on("P1") == [(Decimal("1350.00"), date(2026, 11, 5))]
    assert w.productive.on("P2") == [(Decimal("500.00"), date(2026, 11, 5))]
    assert w.productive.list_payments("P2")[0].note == "QuickBooks payment 200 (ref CHK-5521)"
    w.qbo.void("200")
    assert w.event("200", operation="void").deleted == 2
    assert w.productive.payments == {}


def test_moving_a_payment_between_invoices(w: World) -> None:
    w.qbo.pay("300", "2026-11-05", ("101", "10.00"))
    w.event("300")
    w.qbo.pay("300", "2026-11-05", ("102", "10.00"))
    report = w.event("300")
    assert (report.created, report.deleted) == (1, 1)
    assert w.productive.on("P1") == []
    assert w.productive.on("P2") == [(Decimal("10.00"), date(2026, 11, 5))]


def test_older_copy_and_newer_copy_of_one_invoice_sum_into_one_payment(w: World) -> None:
    w.qbo.pay("301", "2026-11-05", ("100", "25.00"), ("101", "75.00"))
    w.event("301")
    assert w.productive.on("P1") == [(Decimal("100.00"), date(2026, 11, 5))]


def test_ignored_not_copied_sync_off_and_before_sync(w: World) -> None:
    w.qbo.pay("400", "2026-11-05", ("999", "10.00"))
    assert w.event("400").skipped
    assert w.productive.payments == {}
    w.qbo.pay("401", "2026-09-29", ("101", "10.00"))  # before sync was switched on (2026-10-01 09:30 UTC)
    assert w.event("401").skipped
    assert w.productive.payments == {}
    w.qbo.pay("402", "2026-09-30", ("101", "10.00"))  # still 2026-09-30 west of UTC-9:30 at that moment
    assert w.event("402").created == 1
    w.copies.add("555", "P3", connection_id="other")  # another connection's copy
    w.qbo.pay("403", "2026-11-05", ("555", "10.00"))
    assert w.event("403").skipped
    assert w.productive.on("P3") == []
    off = World(sync=False)
    off.qbo.pay("173", "2026-11-02", ("101", "400.00"))
    report = off.event("173")
    assert report.skipped
    assert off.qbo.reads == 0
    assert off.productive.payments == {}
    assert w.event("7", entity="Customer").skipped


def test_disconnected_connection_is_ignored(w: World) -> None:
    w.repo.mark_disconnected("c1", w.clock.now())
    w.qbo.pay("173", "2026-11-02", ("101", "400.00"))
    assert w.event("173").skipped
    assert w.event("101", entity="Invoice", operation="void").skipped == ["no connection of this company is connected"]
    assert w.qbo.reads == 0


def test_throttling_on_either_side_raises_and_a_retry_completes(w: World) -> None:
    w.qbo.pay("173", "2026-11-02", ("101", "400.00"))
    w.qbo.fail = UpstreamUnavailable("429", service="quickbooks", retry_after_seconds=60)
    with pytest.raises(UpstreamUnavailable):
        w.event("173")
    w.qbo.fail = None
    w.productive.fail_next = [UpstreamUnavailable("429", service="productive", retry_after_seconds=10)]
    with pytest.raises(UpstreamUnavailable):
        w.event("173")
    assert w.mappings.locks == {}  # the lease was let go
    w.event("173")
    assert w.productive.on("P1") == [(Decimal("400.00"), date(2026, 11, 2))]


def test_unknown_outcome_create_is_adopted_not_duplicated(w: World) -> None:
    w.qbo.pay("173", "2026-11-02", ("101", "400.00"))
    w.productive.commit_then_fail = True
    with pytest.raises(UpstreamUnavailable):
        w.event("173")
    [pending] = w.mappings.for_payment("c1", "173")
    assert pending.pending
    report = w.event("173")
    assert report.adopted == 1
    assert report.created == 0
    assert len(w.productive.list_payments("P1")) == 1
    [link] = w.mappings.for_payment("c1", "173")
    assert link.productive_payment_id == w.productive.list_payments("P1")[0].id


def test_payment_deleted_by_hand_in_productive_is_created_again_on_edit(w: World) -> None:
    w.qbo.pay("173", "2026-11-02", ("101", "400.00"))
    w.event("173")
    w.productive.payments.clear()
    w.qbo.pay("173", "2026-11-02", ("101", "300.00"))
    w.event("173")
    assert w.productive.on("P1") == [(Decimal("300.00"), date(2026, 11, 2))]


def test_productive_invoice_gone_is_skipped_not_retried(w: World) -> None:
    w.copies.add("103", "P9")
    w.qbo.pay("173", "2026-11-02", ("103", "400.00"))
    report = w.event("173")
    assert report.skipped
    assert w.mappings.links == {}


def test_another_worker_on_the_same_payment_means_retry_later(w: World) -> None:
    w.qbo.pay("173", "2026-11-02", ("101", "400.00"))
    assert w.mappings.try_lock("c1", "173", "someone", w.clock.now(), w.clock.now() + timedelta(seconds=60))
    with pytest.raises(PaymentInProgress):  # waited two seconds for it, then gave the message back
        w.event("173")
    assert w.mappings.for_payment("c1", "173") == []
    w.clock.advance(seconds=61)  # a crashed worker's lease runs out
    assert w.event("173").created == 1


def test_invoice_event_re_reads_the_payments_mapped_to_it(w: World) -> None:
    w.qbo.pay("173", "2026-11-02", ("101", "400.00"))
    w.event("173")
    w.qbo.void("173")  # the payment's own event was lost
    w.qbo.invoices["101"] = {"Id": "101", "SyncToken": "3", "TotalAmt": "0", "Line": [], "LinkedTxn": []}
    assert w.event("101", entity="Invoice", operation="void").deleted == 1
    w.qbo.pay("174", "2026-11-02", ("101", "40.00"))  # found through the invoice's LinkedTxn
    w.qbo.invoices["101"] = {
        "Id": "101",
        "SyncToken": "4",
        "TotalAmt": "0",
        "Line": [{"Amount": "0"}],
        "LinkedTxn": [{"TxnId": "174", "TxnType": "Payment"}],
    }
    report = w.event("101", entity="Invoice")
    assert report.payments_seen == 0  # an ordinary update: no payment re-synced
    assert report.writes == 0
    assert w.event("101", entity="Invoice", operation="void").created == 1
    assert w.event("999", entity="Invoice", operation="delete").skipped


def test_random_order_and_duplicates_converge() -> None:
    rng = random.Random(7)
    w = World()
    events: list[str] = []
    for step in range(120):
        pid = str(rng.randint(1, 8))
        choice = rng.random()
        if choice < 0.15 and pid in w.qbo.payments:
            del w.qbo.payments[pid]
        elif choice < 0.25 and pid in w.qbo.payments:
            w.qbo.void(pid)
        else:
            lines = [(inv, f"{rng.randint(1, 500)}.{rng.randint(0, 99):02d}") for inv in rng.sample(["101", "102"], 2)]
            w.qbo.pay(pid, f"2026-11-{rng.randint(1, 28):02d}", *lines[: rng.randint(1, 2)])
        events.append(pid)
        if step % 10 == 9:
            batch = [e for e in events if rng.random() > 0.2] + rng.sample(events, 2)
            rng.shuffle(batch)
            for payment_id in batch:
                w.event(payment_id)
            events.clear()
    for payment_id in {str(n) for n in range(1, 9)}:  # what a reconcile would queue
        w.event(payment_id)
    expected = {
        inv: sorted(
            (desired.amount, desired.paid_on)
            for payment in w.qbo.payments.values()
            for key, desired in desired_payments(payment, invoice_for=w.copies.invoice_of).items()
            if key == inv
        )
        for inv in ("P1", "P2")
    }
    assert {inv: w.productive.on(inv) for inv in ("P1", "P2")} == expected


def test_note_and_marker() -> None:
    assert note_for({"Id": "9"}) == "QuickBooks payment 9"
    assert carries_marker("QuickBooks payment 9 (ref X)", "9")
    assert not carries_marker("QuickBooks payment 91", "9")
    assert not carries_marker(None, "9")


def test_a_mirrored_payment_moved_before_the_sync_date_stays_mirrored(w: World) -> None:
    w.qbo.pay("173", "2026-11-02", ("101", "400.00"))
    w.event("173")
    w.qbo.pay("173", "2026-09-02", ("101", "400.00"))
    assert w.event("173").updated == 1
    assert w.productive.on("P1") == [(Decimal("400.00"), date(2026, 9, 2))]


def test_a_short_wait_for_another_worker_then_the_sync_goes_ahead(w: World) -> None:
    w.qbo.pay("173", "2026-11-02", ("101", "400.00"))
    assert w.mappings.try_lock("c1", "173", "someone", w.clock.now(), w.clock.now() + timedelta(seconds=60))
    waits: list[float] = []

    def other_worker_finishes(seconds: float) -> None:
        waits.append(seconds)
        if len(waits) == 3:
            w.mappings.unlock("c1", "173", "someone")

    w.service._sleep = other_worker_finishes
    assert w.event("173").created == 1
    assert len(waits) == 3


# -- the activity log ------------------------------------------------------------------------------


def test_each_change_in_productive_is_logged_with_its_mapping_and_only_then(w: World) -> None:
    w.qbo.pay("173", "2026-11-02", ("101", "400.00"), ("102", "50.00"))
    w.event("173")
    w.event("173")  # delivered again: nothing changes, nothing logged
    w.qbo.pay("173", "2026-11-04", ("101", "450.00"))  # edited: P1's changes, P2's goes
    w.event("173")
    del w.qbo.payments["173"]
    w.event("173", operation="delete")
    logged = [(e.kind, e.invoice_id, e.details["amount"], e.details["paid_on"]) for e in w.mappings.activities]
    assert logged == [
        ("payment_mirrored", "P1", "400.00", "2026-11-02"),
        ("payment_mirrored", "P2", "50.00", "2026-11-02"),
        ("payment_updated", "P1", "450.00", "2026-11-04"),
        ("payment_removed", "P2", "50.00", "2026-11-02"),
        ("payment_removed", "P1", "450.00", "2026-11-04"),
    ]
    updated = w.mappings.activities[2]
    assert updated.details["previous"] == {"amount": "400.00", "paid_on": "2026-11-02"}
    assert "no longer applies" in w.mappings.activities[3].summary
    assert "deleted in QuickBooks" in w.mappings.activities[4].summary
    assert w.activity.entries == []  # none written on its own


def test_a_skipped_payment_is_logged_once_per_version_with_its_reason(w: World) -> None:
    w.qbo.pay("401", "2026-09-29", ("101", "10.00"))  # before sync was switched on
    w.event("401")
    w.event("401")  # and again, as the reconcile sweep finds it
    w.qbo.pay("400", "2026-11-05", ("999", "10.00"))  # on an invoice not copied from Productive
    w.event("400")
    w.copies.add("103", "P9")  # copied, then deleted in Productive
    w.qbo.pay("173", "2026-11-02", ("103", "400.00"))
    w.event("173")
    w.qbo.payments["401"]["SyncToken"] = "1"  # edited in QuickBooks, still too old
    w.event("401")
    logged = [(e.details["reason"], e.details["entity_id"], e.invoice_id) for e in w.activity.entries]
    assert logged == [
        ("before_sync_start", "401", "P1"),
        ("invoice_not_copied", "400", None),
        ("productive_invoice_missing", "173", "P9"),
        ("before_sync_start", "401", "P1"),
    ]
    assert all(e.kind == "payment_event_skipped" for e in w.activity.entries)
    assert w.activity.entries[0].details["paid_on"] == "2026-09-29"
    assert "dated before payment sync was switched on" in w.activity.entries[0].summary


def test_an_event_for_a_connection_that_needs_reconnecting_is_logged_as_skipped(w: World) -> None:
    w.qbo.pay("173", "2026-11-02", ("101", "400.00"))
    w.qbo.fail = ReauthorizationRequired("Intuit refused the refresh token.")
    assert w.event("173").skipped
    assert w.event("173").skipped  # the same change again: logged once
    [entry] = w.activity.entries
    assert entry.details["reason"] == "needs_reconnect"
    assert entry.details["entity"] == "Payment"
    assert entry.details["entity_id"] == "173"
    assert "needs to be reconnected" in entry.summary


def test_a_failed_log_write_does_not_fail_the_payment(w: World) -> None:
    class Broken(InMemoryActivityLog):
        def record(self, activity: Any) -> None:
            raise ConnectionError("down")

    w.service._activity = QuietActivityLog(Broken())
    w.qbo.pay("400", "2026-11-05", ("999", "10.00"))
    assert w.event("400").skipped
    assert w.service._activity.failures == 1


def test_nothing_is_logged_for_a_voided_payment_or_a_connection_disconnected_meanwhile(w: World) -> None:
    w.qbo.pay("500", "2026-11-05", ("999", "10.00"))
    w.qbo.void("500")  # pays nothing now: nothing to explain
    assert w.event("500").skipped
    w.qbo.pay("173", "2026-11-02", ("101", "400.00"))
    w.qbo.fail = ConnectionNotReady("The connection is disconnected; connect it to QuickBooks first.")
    assert w.event("173").skipped
    assert w.activity.entries == []
