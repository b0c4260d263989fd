"""The activity log's store (adapters/dynamodb_activity.py) against moto server: newest first per
connection and per invoice, pages that give each entry once, the kind filter, cursors confined to the
connection and invoice they were handed out for, entries past their 400 days skipped, an entry with a
once key written once, and the entries other repositories put inside their own writes."""

from __future__ import annotations

import os
import uuid
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

import boto3
import pytest
from boto3.dynamodb.conditions import Key

from qbosync.adapters.dynamodb_activity import DynamoActivityLog, activity_item
from qbosync.adapters.dynamodb_payments import DynamoPaymentRepository
from qbosync.domain import activity
from qbosync.domain.activity import Activity, ActivityKind
from qbosync.domain.errors import InvalidInput
from qbosync.domain.payments import PaymentLink
from tests.fakes import FakeClock

T0 = datetime(2026, 11, 25, 10, 0, tzinfo=UTC)


@pytest.fixture(scope="module")
def table(stack: Any) -> Any:
    return boto3.resource("dynamodb", endpoint_url=stack.aws.endpoint_url).Table(os.environ["TABLE_NAME"])


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(T0 + timedelta(days=1))


@pytest.fixture
def log(table: Any, clock: FakeClock) -> DynamoActivityLog:
    return DynamoActivityLog(table, clock)


def entry(
    connection_id: str, minute: int, kind: ActivityKind = "copy_created", invoice_id: str | None = None, **more: Any
) -> Activity:
    return Activity(
        connection_id=connection_id,
        kind=kind,
        at=T0 + timedelta(minutes=minute),
        summary=f"entry {minute}",
        details={"minute": minute, **more},
        invoice_id=invoice_id,
    )


def fresh() -> str:
    return str(uuid.uuid4())


def every_page(log: DynamoActivityLog, connection_id: str, **query: Any) -> list[list[int]]:
    pages: list[list[int]] = []
    cursor = None
    while True:
        page = log.page(connection_id, cursor=cursor, **query)
        pages.append([int(e.details["minute"]) for e in page.entries])
        if page.next_cursor is None:
            return pages
        cursor = page.next_cursor


def test_entries_come_back_newest_first_as_they_were_written(log: DynamoActivityLog) -> None:
    cid = fresh()
    written = entry(cid, 5, "copy_failed", invoice_id="41", code="x", amount=Decimal("1.50"))
    for item in (entry(cid, 1), written, entry(cid, 3)):
        log.record(item)
    page = log.page(cid)
    assert [e.summary for e in page.entries] == ["entry 5", "entry 3", "entry 1"]
    assert page.next_cursor is None
    assert page.entries[0] == written  # every field, details as plain JSON values (the Decimal as a string)
    assert page.entries[0].details == {"minute": 5, "code": "x", "amount": "1.50"}


def test_pages_give_every_entry_once_across_more_than_two_pages(log: DynamoActivityLog) -> None:
    cid = fresh()
    for minute in range(11):
        log.record(entry(cid, minute, invoice_id="7" if minute % 2 else None))
    assert every_page(log, cid, limit=3) == [[10, 9, 8], [7, 6, 5], [4, 3, 2], [1, 0]]
    assert every_page(log, cid, limit=11) == [list(range(10, -1, -1))]
    # One invoice's entries (through the index), paged the same way.
    assert every_page(log, cid, invoice_id="7", limit=2) == [[9, 7], [5, 3], [1]]
    assert log.page(cid, invoice_id="8").entries == []


def test_the_kind_filter_pages_too(log: DynamoActivityLog) -> None:
    cid = fresh()
    for minute in range(9):
        log.record(entry(cid, minute, "payment_mirrored" if minute % 3 == 0 else "copy_created"))
    assert every_page(log, cid, kind="payment_mirrored", limit=2) == [[6, 3], [0]]
    assert every_page(log, cid, kind="copy_job") == [[]]
    assert log.count_since(cid, "payment_mirrored", T0 + timedelta(minutes=3)) == 2
    assert log.count_since(cid, "copy_created", T0) == 6


def test_a_cursor_works_only_for_the_connection_and_invoice_it_was_handed_out_for(log: DynamoActivityLog) -> None:
    mine, theirs = fresh(), fresh()
    for minute in range(4):
        log.record(entry(mine, minute, invoice_id="41"))
        log.record(entry(theirs, minute, invoice_id="41"))
    cursor = log.page(mine, limit=1).next_cursor
    invoice_cursor = log.page(mine, invoice_id="41", limit=1).next_cursor
    assert cursor is not None
    assert invoice_cursor is not None
    for connection_id, invoice_id, handed_out in [
        (theirs, None, cursor),
        (theirs, "41", invoice_cursor),
        (mine, "41", cursor),  # the connection's cursor on one invoice's entries
        (mine, None, invoice_cursor),
        (mine, "42", invoice_cursor),
    ]:
        with pytest.raises(InvalidInput) as refused:
            log.page(connection_id, invoice_id=invoice_id, cursor=handed_out)
        assert refused.value.code == "invalid_cursor"
    # The kind and the page size may change between pages.
    assert [e.summary for e in log.page(mine, cursor=cursor, kind="copy_created", limit=5).entries] == [
        "entry 2",
        "entry 1",
        "entry 0",
    ]


@pytest.mark.parametrize("cursor", ["", "x", "!!!", "a" * 201, "MjAyNi0xMS0yNQ", "Zm9vLmJhcg"])
def test_a_made_up_cursor_is_invalid(log: DynamoActivityLog, cursor: str) -> None:
    with pytest.raises(InvalidInput) as refused:
        log.page(fresh(), cursor=cursor)
    assert refused.value.code == "invalid_cursor"


def test_entries_past_their_400_days_are_not_shown_though_dynamodb_still_holds_them(
    log: DynamoActivityLog, table: Any, clock: FakeClock
) -> None:
    cid = fresh()
    log.record(entry(cid, 0))
    log.record(entry(cid, -401 * 24 * 60))  # 401 days older
    assert [e.summary for e in log.page(cid).entries] == ["entry 0"]
    stored = table.query(KeyConditionExpression=Key("pk").eq(f"ACTIVITY#{cid}"))["Items"]
    assert len(stored) == 2
    assert {int(item["expires_at"]) for item in stored} == {
        int((T0 + timedelta(days=400)).timestamp()),
        int((T0 - timedelta(minutes=401 * 24 * 60) + timedelta(days=400)).timestamp()),
    }
    clock.advance(days=400)
    assert log.page(cid).entries == []


def test_an_entry_with_a_once_key_is_written_once(log: DynamoActivityLog) -> None:
    cid = fresh()

    def skipped(hours: int, version: str) -> Activity:
        return activity.payment_event_skipped(
            cid,
            T0 + timedelta(hours=hours),
            reason="before_sync_start",
            entity="Payment",
            entity_id="173",
            version=version,
            invoice_id="41",
        )

    log.record(skipped(0, "0"))
    log.record(skipped(0, "0"))  # the webhook's event delivered twice
    log.record(skipped(6, "0"))  # and found again by the reconcile sweep
    log.record(skipped(7, "1"))  # the payment edited: a new state
    kept = log.page(cid).entries
    assert [(e.at, e.details["version"]) for e in kept] == [(T0 + timedelta(hours=7), "1"), (T0, "0")]


def test_a_payment_mapping_and_its_entry_are_one_write(table: Any, log: DynamoActivityLog) -> None:
    cid = fresh()
    payments = DynamoPaymentRepository(table)
    link = PaymentLink(cid, "173", "41", "p-9", Decimal("100.00"), date(2026, 11, 20), T0)
    payments.save(link, activity=activity.payment_changed("payment_mirrored", link, T0))
    payments.delete(cid, "173", "41", activity=activity.payment_changed("payment_removed", link, T0))
    assert payments.for_payment(cid, "173") == []
    kinds = [e.kind for e in log.page(cid, invoice_id="41").entries]
    assert sorted(kinds) == ["payment_mirrored", "payment_removed"]


def test_an_entry_item_holds_nothing_but_the_entry(table: Any) -> None:
    cid = fresh()
    item = activity_item(entry(cid, 0, invoice_id="41"))
    assert set(item) == {
        "pk",
        "sk",
        "type",
        "connection_id",
        "activity_id",
        "kind",
        "at",
        "summary",
        "details",
        "expires_at",
        "invoice_id",
        "gsi1pk",
        "gsi1sk",
    }
    assert item["gsi1pk"] == f"ACTIVITY#{cid}#INVOICE#41"
    assert item["gsi1sk"] == item["sk"]
