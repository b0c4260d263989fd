"""The one lease of the table (adapters/dynamodb_lease.py) against moto server: taken when free, run out
or already the taker's; refused while another holds it; given back only by its holder; one winner of a
race. Then the three leases built on it (token refresh, copy lock, payment lock), and a connection
saved while its refresh lease is held. Clocks are the tests' own instants, never the wall clock."""

from __future__ import annotations

import os
import sys
import threading
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import boto3
import pytest

from qbosync.adapters.dynamodb_connections import DynamoConnectionRepository
from qbosync.adapters.dynamodb_copies import DynamoCopyRepository
from qbosync.adapters.dynamodb_lease import Clause, Lease
from qbosync.adapters.dynamodb_payments import DynamoPaymentRepository
from qbosync.domain.connection import CompanyProfile, Connection, ConnectionStatus

LEASE = Lease(owner_attribute="lease_owner", until_attribute="lease_until")
T0 = datetime(2026, 11, 25, 10, 0, tzinfo=UTC)
MINUTE = timedelta(seconds=60)


@pytest.fixture(scope="module")
def endpoint(stack: Any) -> str:
    return str(stack.aws.endpoint_url)


@pytest.fixture
def table(endpoint: str) -> Any:
    return boto3.resource("dynamodb", endpoint_url=endpoint).Table(os.environ["TABLE_NAME"])


@pytest.fixture
def key(table: Any) -> Any:
    """A fresh item's key; the item is deleted after the test."""
    fresh = {"pk": f"LEASETEST#{uuid.uuid4().hex}", "sk": "LEASE"}
    yield fresh
    table.delete_item(Key=fresh)


def stored(table: Any, key: dict[str, str]) -> dict[str, Any] | None:
    item = table.get_item(Key=key, ConsistentRead=True).get("Item")
    return dict(item) if item is not None else None


def millis(moment: datetime) -> int:
    return int(moment.timestamp() * 1000)


# -- the lease -------------------------------------------------------------------------------------


def test_a_free_lease_is_taken_and_the_item_created(table: Any, key: dict[str, str]) -> None:
    assert LEASE.acquire(table, key, "a", T0, T0 + MINUTE) == {}  # the item as it was: none
    assert stored(table, key) == {**key, "lease_owner": "a", "lease_until": millis(T0 + MINUTE)}


def test_a_held_lease_is_refused_to_another_owner(table: Any, key: dict[str, str]) -> None:
    assert LEASE.acquire(table, key, "a", T0, T0 + MINUTE) is not None
    assert LEASE.acquire(table, key, "b", T0 + MINUTE - timedelta(milliseconds=1), T0 + 2 * MINUTE) is None
    assert LEASE.acquire(table, key, "b", T0 + MINUTE, T0 + 2 * MINUTE) is None  # runs out only after `until`
    assert stored(table, key) == {**key, "lease_owner": "a", "lease_until": millis(T0 + MINUTE)}


def test_a_lease_that_ran_out_is_taken_over(table: Any, key: dict[str, str]) -> None:
    assert LEASE.acquire(table, key, "a", T0, T0 + MINUTE) is not None
    later = T0 + MINUTE + timedelta(milliseconds=1)
    before = LEASE.acquire(table, key, "b", later, later + MINUTE)
    assert before == {**key, "lease_owner": "a", "lease_until": millis(T0 + MINUTE)}
    assert stored(table, key) == {**key, "lease_owner": "b", "lease_until": millis(later + MINUTE)}


def test_the_holder_takes_its_own_lease_again(table: Any, key: dict[str, str]) -> None:
    assert LEASE.acquire(table, key, "a", T0, T0 + MINUTE) is not None
    assert LEASE.acquire(table, key, "a", T0 + timedelta(seconds=1), T0 + 2 * MINUTE) is not None
    assert stored(table, key) == {**key, "lease_owner": "a", "lease_until": millis(T0 + 2 * MINUTE)}


def test_only_the_holder_gives_the_lease_back(table: Any, key: dict[str, str]) -> None:
    table.put_item(Item={**key, "kept": "yes", "pending": "p"})
    assert LEASE.acquire(table, key, "a", T0, T0 + MINUTE) is not None
    LEASE.release(table, key, "b", also_remove=("pending",))  # not b's: nothing changes
    assert stored(table, key) == {
        **key,
        "kept": "yes",
        "pending": "p",
        "lease_owner": "a",
        "lease_until": millis(T0 + MINUTE),
    }
    LEASE.release(table, key, "a", also_remove=("pending",))
    assert stored(table, key) == {**key, "kept": "yes"}
    assert LEASE.acquire(table, key, "b", T0, T0 + MINUTE) is not None  # free again, at once


def test_a_lease_taken_over_is_not_given_back_by_its_old_holder(table: Any, key: dict[str, str]) -> None:
    assert LEASE.acquire(table, key, "a", T0, T0 + MINUTE) is not None
    assert LEASE.acquire(table, key, "b", T0 + 2 * MINUTE, T0 + 3 * MINUTE) is not None
    LEASE.release(table, key, "a")
    LEASE.release_deleting(table, key, "a")
    assert stored(table, key) == {**key, "lease_owner": "b", "lease_until": millis(T0 + 3 * MINUTE)}


def test_only_the_holder_deletes_the_item_and_only_if_its_condition_holds(table: Any, key: dict[str, str]) -> None:
    done = Clause("done = :done", values={":done": 1})
    assert LEASE.acquire(table, key, "a", T0, T0 + MINUTE, also_set=done) is not None
    never_done = Clause("attribute_not_exists(done)")
    LEASE.release_deleting(table, key, "a", only_if=never_done)
    assert stored(table, key) is not None
    LEASE.release_deleting(table, key, "b")
    assert stored(table, key) is not None
    LEASE.release_deleting(table, key, "a")
    assert stored(table, key) is None


def test_what_is_set_with_the_lease_is_written_only_with_it(table: Any, key: dict[str, str]) -> None:
    attempt = Clause("attempt = if_not_exists(attempt, :attempt)", values={":attempt": "first"})
    assert LEASE.acquire(table, key, "a", T0, T0 + MINUTE, also_set=attempt) is not None
    second = Clause("attempt = :attempt", values={":attempt": "second"})
    assert LEASE.acquire(table, key, "b", T0, T0 + MINUTE, also_set=second) is None
    assert stored(table, key) == {**key, "attempt": "first", "lease_owner": "a", "lease_until": millis(T0 + MINUTE)}


def test_a_lease_that_needs_an_existing_item_creates_none(table: Any, key: dict[str, str]) -> None:
    assert LEASE.acquire(table, key, "a", T0, T0 + MINUTE, only_if=Clause("attribute_exists(pk)")) is None
    assert stored(table, key) is None


def test_a_placeholder_with_two_meanings_is_refused() -> None:
    with pytest.raises(ValueError, match=":lease_owner"):
        Clause.join(", ", LEASE.taken("a", T0), Clause("x = :lease_owner", values={":lease_owner": "b"}))


def _race(tables: list[Any], key: dict[str, str], now: datetime) -> list[str]:
    """Every table handle tries to take the lease at once, as its own owner; returns who got it."""
    barrier = threading.Barrier(len(tables))
    winners: list[str] = []

    def take(index: int) -> None:
        barrier.wait()
        if LEASE.acquire(tables[index], key, f"owner-{index}", now, now + MINUTE) is not None:
            winners.append(f"owner-{index}")

    threads = [threading.Thread(target=take, args=(index,)) for index in range(len(tables))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return winners


def test_of_many_owners_racing_for_one_lease_one_wins(endpoint: str, table: Any, key: dict[str, str]) -> None:
    """DynamoDB checks the condition and writes in one step (moto here too: docs/decisions/0011). A tiny
    thread switch interval makes a check-then-write lose this race every few rounds."""
    tables = [boto3.resource("dynamodb", endpoint_url=endpoint).Table(table.name) for _ in range(12)]
    interval = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)
    try:
        for round_number in range(5):
            winners = _race(tables, key, T0 + round_number * 2 * MINUTE)  # the last round's lease ran out
            assert len(winners) == 1, winners
            assert (stored(table, key) or {}).get("lease_owner") == winners[0]
    finally:
        sys.setswitchinterval(interval)


# -- the three leases built on it ------------------------------------------------------------------


def _connection(connection_id: str, **changes: Any) -> Connection:
    connection = Connection(
        connection_id=connection_id,
        organization_id="org-lease",
        subsidiary_id="sub-lease",
        status=ConnectionStatus.CONNECTED,
        return_url="https://app.productive.example/settings",
        created_at=T0,
        updated_at=T0,
        company=CompanyProfile(
            realm_id="realm-" + connection_id,
            company_name="Lease Test Co",
            country="US",
            home_currency="USD",
            multicurrency_enabled=False,
            custom_txn_numbers=True,
            automated_sales_tax=False,
            using_sales_tax=True,
        ),
        access_expires_at=T0 + MINUTE * 60,
        refresh_expires_at=T0 + timedelta(days=100),
        next_refresh_at=T0 + timedelta(hours=24),
    )
    return connection.with_changes(**changes)


@pytest.fixture
def connection_id(table: Any) -> Any:
    cid = "lease-" + uuid.uuid4().hex
    yield cid
    table.delete_item(Key={"pk": f"CONNECTION#{cid}", "sk": "CONNECTION"})
    table.delete_item(Key={"pk": f"REALM#realm-{cid}", "sk": f"CONNECTION#{cid}"})


def test_the_refresh_lease_needs_the_connection(table: Any, connection_id: str) -> None:
    connections = DynamoConnectionRepository(table)
    assert connections.try_acquire_refresh_lease(connection_id, "a", T0, T0 + MINUTE) is False
    assert connections.get(connection_id) is None
    connections.save(_connection(connection_id))
    assert connections.try_acquire_refresh_lease(connection_id, "a", T0, T0 + MINUTE) is True
    assert connections.try_acquire_refresh_lease(connection_id, "b", T0, T0 + MINUTE) is False
    connections.release_refresh_lease(connection_id, "a")
    assert connections.try_acquire_refresh_lease(connection_id, "b", T0, T0 + MINUTE) is True


def test_a_refresh_lease_held_while_the_connection_is_saved_survives_the_save(table: Any, connection_id: str) -> None:
    connections = DynamoConnectionRepository(table)
    key = {"pk": f"CONNECTION#{connection_id}", "sk": "CONNECTION"}
    connections.save(_connection(connection_id))
    assert connections.try_acquire_refresh_lease(connection_id, "refresher", T0, T0 + MINUTE) is True
    # e.g. a settings change or a reconnect saving the whole connection while a refresh runs
    changed = _connection(connection_id, status=ConnectionStatus.NEEDS_RECONNECT, status_reason="invalid_grant")
    connections.save(changed.with_changes(next_refresh_at=None, access_expires_at=None))
    item = stored(table, key)
    assert item is not None
    assert (item["refresh_lease_owner"], item["refresh_lease_until"]) == ("refresher", millis(T0 + MINUTE))
    assert connections.try_acquire_refresh_lease(connection_id, "other", T0, T0 + MINUTE) is False
    # What the saved connection no longer has is gone, as a put would have left it; it left the refresh
    # partition for its status's (counted by reconcile).
    assert {"next_refresh_at", "access_expires_at"}.isdisjoint(item)
    assert (item["gsi1pk"], item["gsi1sk"]) == ("CONNECTION_STATUS#needs_reconnect", connection_id)
    assert connections.get(connection_id) == changed.with_changes(next_refresh_at=None, access_expires_at=None)
    connections.release_refresh_lease(connection_id, "refresher")
    assert {"refresh_lease_owner", "refresh_lease_until"}.isdisjoint(stored(table, key) or {})


def test_connections_are_counted_by_status_as_they_move(table: Any, connection_id: str) -> None:
    """Reconcile's "connections by status" (the dashboard) follows every way a status changes."""
    connections, payments = DynamoConnectionRepository(table), DynamoPaymentRepository(table)
    before = payments.connections_by_status()
    assert set(before) == {status.value for status in ConnectionStatus}

    def moved() -> dict[str, int]:
        now = payments.connections_by_status()
        return {status: now[status] - before[status] for status in now if now[status] != before[status]}

    connections.save(_connection(connection_id, status=ConnectionStatus.PENDING, next_refresh_at=None))
    assert moved() == {"pending": 1}
    connections.save(_connection(connection_id))  # connected, in the refresh partition
    assert moved() == {"connected": 1}
    connections.save(_connection(connection_id, next_refresh_at=None))  # connected, nothing due
    assert moved() == {"connected": 1}
    connections.mark_needs_reconnect(connection_id, "invalid_grant", T0)
    assert moved() == {"needs_reconnect": 1}
    connections.mark_disconnected(connection_id, T0)
    assert moved() == {"disconnected": 1}


def test_the_payment_lock_is_an_item_of_its_own_with_a_ttl(table: Any) -> None:
    payments = DynamoPaymentRepository(table)
    cid, payment_id = "lease-" + uuid.uuid4().hex, "173"
    key = {"pk": f"PAYMENT#{cid}#{payment_id}", "sk": "LOCK"}
    assert payments.try_lock(cid, payment_id, "a", T0, T0 + MINUTE) is True
    assert stored(table, key) == {
        **key,
        "owner": "a",
        "lease_until": millis(T0 + MINUTE),
        "expires_at": int((T0 + MINUTE).timestamp()) + 3600,
    }
    assert payments.try_lock(cid, payment_id, "b", T0, T0 + MINUTE) is False
    payments.unlock(cid, payment_id, "b")
    assert stored(table, key) is not None
    assert payments.try_lock(cid, payment_id, "b", T0 + 2 * MINUTE, T0 + 3 * MINUTE) is True  # ran out
    payments.unlock(cid, payment_id, "a")
    assert (stored(table, key) or {}).get("owner") == "b"
    payments.unlock(cid, payment_id, "b")
    assert stored(table, key) is None


def test_the_copy_lock_records_the_attempt_with_the_lease(table: Any) -> None:
    copies = DynamoCopyRepository(table)
    cid, invoice_id = "lease-" + uuid.uuid4().hex, "inv-1"
    key = {"pk": f"INVOICE#{cid}#{invoice_id}", "sk": "HEAD"}
    try:
        head = copies.lock(cid, invoice_id, "a", T0, T0 + MINUTE, pending_since=T0)
        assert head is not None
        assert head.pending_is_new
        assert copies.lock(cid, invoice_id, "b", T0, T0 + MINUTE, pending_since=T0) is None
        copies.unlock(cid, invoice_id, "a")  # the attempt stays with the HEAD
        again = copies.lock(cid, invoice_id, "b", T0 + MINUTE, T0 + 2 * MINUTE, pending_since=T0 + MINUTE)
        assert again is not None
        assert again.pending is not None
        assert again.pending.started_at == T0
        assert again.pending_is_new is False
        copies.forget(cid, invoice_id, "a")  # not a's any more
        assert stored(table, key) is not None
        copies.forget(cid, invoice_id, "b")
        assert stored(table, key) is None
    finally:
        table.delete_item(Key=key)


def test_marking_needs_reconnect_is_counted_once_per_mark(table: Any, connection_id: str) -> None:
    """The dashboard's ConnectionsNeedReconnect (and its spike alarm) counts here, whichever function
    found the grant refused; other writes count nothing."""
    marked: list[int] = []
    connections = DynamoConnectionRepository(table, on_needs_reconnect=lambda: marked.append(1))
    connections.save(_connection(connection_id))
    connections.mark_disconnected(connection_id, T0)
    assert marked == []
    connections.mark_needs_reconnect(connection_id, "invalid_grant", T0)
    assert marked == [1]
    item = stored(table, {"pk": f"CONNECTION#{connection_id}", "sk": "CONNECTION"}) or {}
    assert item["status"] == "needs_reconnect"
