"""Reconcile sweep rules with in-memory fakes: the first window, the 30-day floor, which companies and
entities are swept (payments only with payment sync on), splitting a full CDC answer, deleted entities,
and a cursor that moves only after the queue accepted the events."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

from qbosync.domain.connection import CompanyProfile, ConnectionSecret, ConnectionSettings, TokenSet
from qbosync.domain.errors import UpstreamUnavailable
from qbosync.domain.ports import ChangeSet
from qbosync.services.reconcile import CURSOR_OVERLAP, ReconcileService
from qbosync.services.tokens import TokenService
from tests.fakes import (
    FakeClock,
    InMemoryActivityLog,
    InMemoryEventQueue,
    InMemoryPayments,
    InMemoryRepository,
    InMemoryVault,
    QuickBooksStub,
    StrictRotatingOAuth,
    connected,
)

REALM = "9130350000000001"


class FakeCdc(QuickBooksStub):
    """Oldest first, at most `cap` objects per answer (like Intuit's and the emulator's CDC)."""

    def __init__(self, clock: FakeClock, cap: int = 1000) -> None:
        self.clock = clock
        self.cap = cap
        self.rows: dict[str, list[dict[str, Any]]] = {"Payment": [], "Invoice": [], "CreditMemo": []}
        self.calls: list[tuple[tuple[str, ...], datetime]] = []
        self.fail: Exception | None = None

    def change(self, entity: str, entity_id: str, at: datetime, **fields: Any) -> None:
        self.rows[entity] = [r for r in self.rows[entity] if r["Id"] != entity_id]
        self.rows[entity].append({"Id": entity_id, "MetaData": {"LastUpdatedTime": at.isoformat()}, **fields})

    def cdc(self, entities: Sequence[str], changed_since: datetime) -> ChangeSet:
        self.calls.append((tuple(entities), changed_since))
        if self.fail is not None:
            raise self.fail
        assert changed_since >= self.clock.now() - timedelta(days=30), "beyond CDC's 30-day look-back"
        budget = self.cap
        changed: dict[str, list[dict[str, Any]]] = {}
        for entity in entities:
            rows = sorted(
                (
                    r
                    for r in self.rows[entity]
                    if datetime.fromisoformat(r["MetaData"]["LastUpdatedTime"]) >= changed_since
                ),
                key=lambda r: r["MetaData"]["LastUpdatedTime"],
            )[:budget]
            budget -= len(rows)
            changed[entity] = rows
        return ChangeSet(changed=changed, answered_at=self.clock.now())


class World:
    def __init__(self, *, sync: bool = True, since: datetime | None = None, cap: int = 1000) -> None:
        self.clock = FakeClock(datetime(2026, 11, 20, 12, 0, tzinfo=UTC))
        self.repo = InMemoryRepository()
        self.vault = InMemoryVault()
        self.state = InMemoryPayments()
        self.since = since or datetime(2026, 11, 10, 8, 0, tzinfo=UTC)
        profile = CompanyProfile(REALM, "Co", "US", "USD", False, False, False, True)
        settings = ConnectionSettings(sync_payments=sync, sync_payments_since=self.since)
        self.repo.save(replace(connected("c1", clock=self.clock), company=profile, settings=settings))
        self.state.connected.append("c1")
        tokens = TokenSet("a", "r", self.clock.now() + timedelta(days=2), self.clock.now() + timedelta(days=90))
        self.vault.write("c1", ConnectionSecret("pat", tokens))
        self.qbo = FakeCdc(self.clock, cap)
        self.queue = InMemoryEventQueue()
        self.activity = InMemoryActivityLog()
        self.service = ReconcileService(
            connections=self.repo,
            state=self.state,
            tokens=TokenService(
                repository=self.repo, vault=self.vault, oauth=StrictRotatingOAuth(self.clock), clock=self.clock
            ),
            quickbooks=lambda realm, token: self.qbo,
            queue=self.queue,
            clock=self.clock,
            activity=self.activity,
            cdc_max_objects=cap,
        )


def test_first_sweep_starts_when_sync_was_switched_on_and_queues_changes_and_deletions() -> None:
    w = World()
    t = w.since + timedelta(hours=1)
    w.qbo.change("Payment", "1", t)
    w.qbo.change("Payment", "2", t + timedelta(minutes=1), status="Deleted")
    w.qbo.change("Invoice", "10", t, TotalAmt="5", Line=[{}])  # maybe one of our copies, changed in QuickBooks
    w.qbo.change("CreditMemo", "20", t, TotalAmt="5", Line=[{}])
    w.qbo.change("Invoice", "11", t, status="Deleted")
    w.qbo.change("Invoice", "12", t, PrivateNote="Voided", TotalAmt="0", Line=[])
    w.qbo.change("Payment", "0", w.since - timedelta(hours=1))  # before the window
    report = w.service.run()
    assert w.qbo.calls[0] == (("Payment",), w.since)
    got = {(e.entity, e.entity_id, e.operation) for e in w.queue.sent}
    assert got == {
        ("Payment", "1", "update"),
        ("Payment", "2", "delete"),
        ("Invoice", "10", "update"),
        ("Invoice", "11", "delete"),
        ("Invoice", "12", "void"),
        ("CreditMemo", "20", "update"),
    }
    assert all(e.source == "reconcile" and e.realm_id == REALM for e in w.queue.sent)
    assert report.queued == 6
    assert w.state.cursor(REALM) == w.clock.now() - CURSOR_OVERLAP
    # The next sweep starts at the cursor and finds nothing new.
    w.queue.messages.clear()
    w.clock.advance(hours=6)
    w.service.run()
    assert w.qbo.calls[-1][1] == w.clock.now() - timedelta(hours=6) - CURSOR_OVERLAP
    assert w.queue.sent == []


def test_never_more_than_30_days_back() -> None:
    w = World(since=datetime(2026, 9, 1, tzinfo=UTC))
    w.service.run()
    assert w.qbo.calls[0][1] >= w.clock.now() - timedelta(days=30)


def test_a_full_answer_is_split_and_nothing_is_missed() -> None:
    w = World(cap=50)
    for n in range(230):
        w.qbo.change("Payment", str(n), w.since + timedelta(minutes=n // 3))  # 3 changes per minute
    report = w.service.run()
    assert {e.entity_id for e in w.queue.sent} == {str(n) for n in range(230)}
    assert report.swept[0].splits >= 4
    assert len(w.queue.sent) == 230  # one event per entity, however often it was seen


def test_cursor_stays_when_the_queue_refuses() -> None:
    w = World()
    w.qbo.change("Payment", "1", w.since + timedelta(hours=1))
    w.queue.fail = True
    assert w.service.run().failed == {REALM: "queue_unavailable"}
    assert w.state.cursor(REALM) is None
    w.queue.fail = False
    w.service.run()
    assert [e.entity_id for e in w.queue.sent] == ["1"]


def test_quickbooks_trouble_skips_that_company_only() -> None:
    w = World()
    w.qbo.fail = UpstreamUnavailable("429", service="quickbooks", code="quickbooks_throttled")
    report = w.service.run()
    assert report.failed == {REALM: "quickbooks_throttled"}
    assert w.state.cursor(REALM) is None


def test_a_company_with_payment_sync_off_is_swept_for_invoices_and_credit_memos_only() -> None:
    # Copies changed in QuickBooks are flagged whether payment sync is on or off; payments are not read.
    w = World(sync=False)
    floor = w.clock.now() - timedelta(days=30) + timedelta(minutes=10)
    t = floor + timedelta(days=1)
    w.qbo.change("Payment", "1", t)
    w.qbo.change("Invoice", "12", t, PrivateNote="Voided", TotalAmt="0", Line=[])
    w.qbo.change("CreditMemo", "20", t, status="Deleted")
    [sweep] = w.service.run().swept
    assert sweep.entities == ("Invoice", "CreditMemo")
    # No payment sync: the first window is CDC's whole look-back (sync_payments_since is not this one's).
    assert w.qbo.calls == [(("Invoice",), floor), (("CreditMemo",), floor)]
    assert {(e.entity, e.entity_id, e.operation) for e in w.queue.sent} == {
        ("Invoice", "12", "void"),
        ("CreditMemo", "20", "delete"),
    }
    assert w.state.cursor(REALM) == w.clock.now() - CURSOR_OVERLAP
    # Payment sync switched on later: the next sweep reads payments too, from the cursor.
    w.repo.save(w.repo.get("c1").with_changes(settings=ConnectionSettings(sync_payments=True)))  # type: ignore[union-attr]
    w.clock.advance(hours=6)
    w.qbo.calls.clear()
    [sweep] = w.service.run().swept
    assert sweep.entities == ("Payment", "Invoice", "CreditMemo")
    assert {since for _, since in w.qbo.calls} == {w.clock.now() - timedelta(hours=6) - CURSOR_OVERLAP}


def test_a_disconnected_company_is_not_swept() -> None:
    for sync in (True, False):
        w = World(sync=sync)
        w.repo.mark_disconnected("c1", w.clock.now())
        assert w.service.run().swept == []
        assert w.qbo.calls == []


def test_quickbooks_client_cdc_reads_every_entity_list_and_the_answer_time() -> None:
    import httpx

    from qbosync.adapters.quickbooks import QuickBooksClient
    from qbosync.services.tokens import StaticAccessToken

    seen: list[httpx.Request] = []

    def answer(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        body = (
            '{"CDCResponse": [{"QueryResponse": [{"Payment": [{"Id": "7", "TotalAmt": 10.10},'
            ' {"Id": "8", "status": "Deleted"}], "startPosition": 1}, {}]}],'
            ' "time": "2026-11-20T04:00:00.123-08:00"}'
        )
        return httpx.Response(200, content=body.encode())

    client = QuickBooksClient(
        http=httpx.Client(transport=httpx.MockTransport(answer)),
        base_url="https://qbo.example",
        realm_id="1",
        access_token=StaticAccessToken("t"),
    )
    change = client.cdc(["Payment", "Invoice"], datetime(2026, 11, 19, 12, 0, 0, 500, tzinfo=UTC))
    assert seen[0].url.path == "/v3/company/1/cdc"
    assert seen[0].url.params["entities"] == "Payment,Invoice"
    assert seen[0].url.params["changedSince"] == "2026-11-19T12:00:00+00:00"
    assert change.changed["Invoice"] == []
    assert [row["Id"] for row in change.changed["Payment"]] == ["7", "8"]
    assert str(change.changed["Payment"][0]["TotalAmt"]) == "10.10"  # Decimal, never float
    assert change.answered_at == datetime(2026, 11, 20, 12, 0, 0, 123000, tzinfo=UTC)
    assert change.count == 2


def test_each_sweep_is_logged_for_the_connection_with_its_window_and_what_it_found() -> None:
    w = World()
    t = w.since + timedelta(hours=1)
    w.qbo.change("Payment", "1", t)
    w.qbo.change("Invoice", "10", t, TotalAmt="5", Line=[{}])
    w.service.run()
    w.clock.advance(hours=6)
    w.qbo.fail = UpstreamUnavailable("QuickBooks is down", service="quickbooks")
    w.service.run()
    failed, swept = w.activity.entries[::-1]
    assert swept.kind == failed.kind == "reconcile_run"
    assert swept.connection_id == "c1"
    assert swept.invoice_id is None
    assert swept.details["since"] == w.since.isoformat()
    assert swept.details["until"] == (w.clock.now() - timedelta(hours=6)).isoformat()
    assert swept.details["events_found"] == 2
    assert swept.details["outcome"] == "ok"
    assert swept.summary.startswith("Reconcile found 2 change(s) in QuickBooks since")
    assert failed.details["outcome"] == "failed"
    assert failed.details["error_code"] == "upstream_unavailable"
