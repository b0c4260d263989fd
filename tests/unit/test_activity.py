"""The activity log's entries (domain/activity.py), the store's cursors (adapters/dynamodb_activity.py,
against a table that records what it is asked) and the log services get (services/activity.py). The
store itself runs against moto in tests/integration/test_dynamodb_activity.py."""

from __future__ import annotations

import base64
import hashlib
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest

from qbosync.adapters.dynamodb_activity import DynamoActivityLog
from qbosync.domain import activity
from qbosync.domain.activity import Activity
from qbosync.domain.connection import ConnectionSettings
from qbosync.domain.errors import InvalidInput, QuickBooksFault, UpstreamUnavailable
from qbosync.domain.payments import PaymentLink
from qbosync.services.activity import QuietActivityLog
from tests.fakes import FakeClock, InMemoryActivityLog

T0 = datetime(2026, 11, 25, 10, 0, tzinfo=UTC)
MINE = "6f1b8a52-3c1e-4f0e-9a57-2d8f3b7c9e10"
THEIRS = "0d2c4b6a-8e9f-4a1b-9c3d-5e7f9a1b3c5d"


class RecordingTable:
    """Answers every query with `pages` (one per call) and keeps what it was asked."""

    name = "table"

    def __init__(self, *pages: dict[str, Any]) -> None:
        self.pages = list(pages)
        self.queries: list[dict[str, Any]] = []

    @property
    def meta(self) -> Any:
        return self

    @property
    def client(self) -> Any:
        return self

    def query(self, **kwargs: Any) -> dict[str, Any]:
        self.queries.append(kwargs)
        return self.pages.pop(0) if self.pages else {"Items": []}


def stored(connection_id: str, minute: int) -> dict[str, Any]:
    at = T0 + timedelta(minutes=minute)
    return {
        "pk": f"ACTIVITY#{connection_id}",
        "sk": at.strftime("%Y-%m-%dT%H:%M:%S.000Z") + f"#id{minute}",
        "connection_id": connection_id,
        "activity_id": f"id{minute}",
        "kind": "copy_created",
        "at": at.isoformat(),
        "summary": f"entry {minute}",
        "details": "{}",
    }


def forged(scope_of: str, invoice_id: str | None, sort_key: str) -> str:
    scope = hashlib.sha256(f"{scope_of}|{invoice_id or ''}".encode()).hexdigest()[:16]
    return base64.urlsafe_b64encode(f"{scope}.{sort_key}".encode()).decode().rstrip("=")


def key_condition(query: dict[str, Any]) -> tuple[str, str]:
    """(attribute, value) of a query's partition key condition."""
    name, value = query["KeyConditionExpression"].get_expression()["values"]
    return name.name, value


# -- cursors -------------------------------------------------------------------------------------


def test_a_cursor_positions_the_next_page_after_the_last_entry_of_this_one() -> None:
    table = RecordingTable({"Items": [stored(MINE, 3), stored(MINE, 2), stored(MINE, 1)]})
    log = DynamoActivityLog(table, FakeClock(T0))
    page = log.page(MINE, limit=2)
    assert [e.summary for e in page.entries] == ["entry 3", "entry 2"]
    assert page.next_cursor is not None
    log.page(MINE, limit=2, cursor=page.next_cursor)
    assert table.queries[1]["ExclusiveStartKey"] == {"pk": f"ACTIVITY#{MINE}", "sk": stored(MINE, 2)["sk"]}
    assert table.queries[1]["Limit"] == 3  # one more than asked: is there a next page?


@pytest.mark.parametrize(
    "cursor",
    [
        "not-a-cursor",
        "====",
        "\u00e9t\u00e9",
        base64.urlsafe_b64encode(b"\xff\xfe").decode(),
        base64.urlsafe_b64encode(b"2026-11-25T10:00:00.000Z#id1").decode(),  # a sort key without its scope
        forged(MINE, None, "2026-11-25T10:00:00.000Z"),  # a scope without an entry's sort key
        forged(MINE, None, "ACTIVITY#x"),
        forged(MINE, None, "2026-11-25T10:00:00.000Z#" + "a" * 65),
        "A" * 201,
    ],
)
def test_a_forged_cursor_is_invalid_and_reads_nothing(cursor: str) -> None:
    table = RecordingTable()
    with pytest.raises(InvalidInput) as refused:
        DynamoActivityLog(table, FakeClock(T0)).page(MINE, cursor=cursor)
    assert refused.value.code == "invalid_cursor"
    assert table.queries == []


def test_another_connections_cursor_is_invalid_here() -> None:
    table = RecordingTable({"Items": [stored(THEIRS, 2), stored(THEIRS, 1)]})
    log = DynamoActivityLog(table, FakeClock(T0))
    theirs = log.page(THEIRS, limit=1).next_cursor
    assert theirs is not None
    for connection_id, invoice_id in [(MINE, None), (MINE, "41"), (THEIRS, "41")]:
        with pytest.raises(InvalidInput) as refused:
            log.page(connection_id, invoice_id=invoice_id, cursor=theirs)
        assert refused.value.code == "invalid_cursor"
    assert len(table.queries) == 1


@pytest.mark.parametrize("invoice_id", [None, "41"])
def test_a_cursor_can_only_ever_read_the_partition_the_route_names(invoice_id: str | None) -> None:
    """Even a cursor made with this connection's scope (a forger who knows how) positions the read inside
    this connection's entries: the partition comes from the path, never from the cursor."""
    table = RecordingTable()
    sort_key = "2026-11-25T10:00:00.000Z#anything"
    DynamoActivityLog(table, FakeClock(T0)).page(MINE, invoice_id=invoice_id, cursor=forged(MINE, invoice_id, sort_key))
    [query] = table.queries
    start = query["ExclusiveStartKey"]
    assert start["pk"] == f"ACTIVITY#{MINE}"
    if invoice_id is None:
        assert key_condition(query) == ("pk", f"ACTIVITY#{MINE}")
    else:
        assert key_condition(query) == ("gsi1pk", f"ACTIVITY#{MINE}#INVOICE#41")
        assert start["gsi1pk"] == f"ACTIVITY#{MINE}#INVOICE#41"


def test_a_page_stops_reading_after_a_few_queries_and_goes_on_from_there() -> None:
    """A kind filter that skips most entries never turns one page into a scan of the whole log."""
    empty = {"Items": [], "LastEvaluatedKey": {"pk": f"ACTIVITY#{MINE}", "sk": stored(MINE, 0)["sk"]}}
    table = RecordingTable(*[empty] * 20)
    page = DynamoActivityLog(table, FakeClock(T0)).page(MINE, kind="copy_job")
    assert page.entries == []
    assert page.next_cursor is not None
    assert len(table.queries) == 8


# -- entries -------------------------------------------------------------------------------------


def test_an_entry_holds_no_email_address_and_only_plain_values() -> None:
    entry = Activity(
        connection_id=MINE,
        kind="copy_failed",
        at=T0,
        summary="Customer jane.doe+billing@example.co.uk was refused",
        details={
            "message": "Duplicate e-mail <ops@acme.example>",
            "nested": {"list": ["a@b.io", Decimal("1.50"), date(2026, 1, 2)], "ok": True, "n": 3},
        },
    )
    assert entry.summary == "Customer [e-mail] was refused"
    assert entry.details == {
        "message": "Duplicate e-mail <[e-mail]>",
        "nested": {"list": ["[e-mail]", "1.50", "2026-01-02"], "ok": True, "n": 3},
    }


def test_an_entry_needs_a_known_kind_and_an_aware_time() -> None:
    with pytest.raises(ValueError):
        Activity(connection_id=MINE, kind="coffee", at=T0, summary="x")  # type: ignore[arg-type]
    with pytest.raises(ValueError):
        Activity(connection_id=MINE, kind="connected", at=datetime(2026, 1, 1), summary="x")


def test_a_long_text_is_cut() -> None:
    entry = Activity(connection_id=MINE, kind="copy_failed", at=T0, summary="x" * 5000, details={"d": "y" * 5000})
    assert len(entry.summary) == activity.MAX_TEXT
    assert len(entry.details["d"]) == activity.MAX_TEXT


def test_settings_changed_names_the_fields_and_nothing_when_none_changed() -> None:
    before = ConnectionSettings(pdf_source="quickbooks", sync_payments=False)
    after = ConnectionSettings(pdf_source="productive", sync_payments=True, sync_payments_since=T0)
    entry = activity.settings_changed(MINE, T0, before, after)
    assert entry is not None
    assert entry.details["fields"] == ["pdf_source", "sync_payments", "sync_payments_since"]
    assert entry.details["changes"]["pdf_source"] == {"from": "quickbooks", "to": "productive"}
    assert activity.settings_changed(MINE, T0, after, after) is None


def test_a_quickbooks_fault_is_logged_with_quickbooks_own_code_and_text() -> None:
    fault = QuickBooksFault(
        "Duplicate Document Number Error", fault_code="6140", fault_type="ValidationFault", detail="DocNumber=1001"
    )
    assert activity.error_summary(fault) == (
        "quickbooks_6140",
        "Duplicate Document Number Error",
        {"quickbooks_code": "6140", "quickbooks_detail": "DocNumber=1001"},
    )
    down = UpstreamUnavailable("QuickBooks is down", service="quickbooks", retry_after_seconds=30)
    assert activity.error_summary(down)[0] == "upstream_unavailable"
    assert activity.error_summary(KeyError("x"))[0] == "internal_error"


def test_payment_entries_say_amount_date_and_invoice() -> None:
    link = PaymentLink(MINE, "173", "41", "p9", Decimal("350"), date(2026, 11, 20), T0)
    before = PaymentLink(MINE, "173", "41", "p9", Decimal("400"), date(2026, 11, 19), T0)
    updated = activity.payment_changed("payment_updated", link, T0, before=before)
    assert updated.invoice_id == "41"
    assert updated.details["amount"] == "350.00"
    assert updated.details["paid_on"] == "2026-11-20"
    assert updated.details["previous"] == {"amount": "400.00", "paid_on": "2026-11-19"}
    assert "400.00 on 2026-11-19" in updated.summary
    removed = activity.payment_changed("payment_removed", link, T0, why="the payment was deleted in QuickBooks")
    assert removed.summary.endswith("the payment was deleted in QuickBooks.")


# -- the log services get --------------------------------------------------------------------------


class BrokenLog(InMemoryActivityLog):
    def record(self, activity: Activity) -> None:
        raise ConnectionError("DynamoDB unreachable")


def test_a_failed_write_is_logged_and_counted_never_raised(caplog: pytest.LogCaptureFixture) -> None:
    counted: list[str] = []
    log = QuietActivityLog(BrokenLog(), on_failure=lambda entry: counted.append(entry.kind))
    log.record(Activity(connection_id=MINE, kind="connected", at=T0, summary="Connected."))
    assert log.failures == 1
    assert counted == ["connected"]
    assert "activity entry not written" in caplog.text


def test_a_failing_counter_is_not_raised_either() -> None:
    def count(_: Activity) -> None:
        raise RuntimeError("metrics down")

    log = QuietActivityLog(BrokenLog(), on_failure=count)
    log.record(Activity(connection_id=MINE, kind="connected", at=T0, summary="Connected."))
    assert log.failures == 1


def test_reads_go_through() -> None:
    inner = InMemoryActivityLog()
    log = QuietActivityLog(inner)
    log.record(Activity(connection_id=MINE, kind="connected", at=T0, summary="Connected."))
    assert [e.kind for e in log.page(MINE).entries] == ["connected"]
    assert log.count_since(MINE, "connected", T0) == 1
    assert log.count_since(MINE, "connected", T0 + timedelta(seconds=1)) == 0
