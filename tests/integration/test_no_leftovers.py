"""A copy request that ends in a 4xx leaves nothing behind (issue 7, part 10): no DynamoDB item (no
invoice HEAD, no lock, no pending attempt, no cache entry, no customer mapping) and no QuickBooks
customer, new or reactivated. The only records allowed to stay are idempotency/replay records that
expire by TTL within a day, and the failure's copy_failed entry in the activity log (issue 12). A
fault (a lost answer) is not a 4xx: there the attempt is kept, and the retry finishes it with exactly
one invoice.

Each test snapshots the whole table and the QuickBooks company's customers (active and inactive,
straight from the emulator) before the request and compares after it."""

from __future__ import annotations

import os
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import boto3
import pytest

from qbosync.adapters.dynamodb_common import every_item
from qbosync.adapters.dynamodb_copies import DynamoCopyRepository
from tests.integration.copy_world import World

DAY_SECONDS = 24 * 3600


def _table(world: World) -> Any:
    return boto3.resource("dynamodb", endpoint_url=world.stack.aws.endpoint_url).Table(os.environ["TABLE_NAME"])


@dataclass(frozen=True)
class Snapshot:
    items: dict[tuple[str, str], dict[str, Any]]
    customers: dict[str, bool]  # QuickBooks customer id -> Active, inactive ones included

    @classmethod
    def of(cls, world: World) -> Snapshot:
        every = every_item(_table(world).scan, ConsistentRead=True)
        items = {(item["pk"], item["sk"]): item for item in every}
        realm = world.stack.emulator.store.require(world.realm)
        customers = {str(c["Id"]): c.get("Active", True) is not False for c in realm.all("Customer")}
        return cls(items, customers)

    def durable(self) -> dict[tuple[str, str], dict[str, Any]]:
        """The items that do not expire by TTL."""
        return {key: item for key, item in self.items.items() if "expires_at" not in item}


@contextmanager
def nothing_left(world: World, *watched: str) -> Iterator[Snapshot]:
    """Asserts that the block changed neither the table (beyond records that expire within a day)
    nor the company's customers. Items under the watched partition keys must be unchanged too."""
    before = Snapshot.of(world)
    started = time.time()
    yield before
    after = Snapshot.of(world)
    added = {key: item for key, item in after.items.items() if key not in before.items}
    for key, item in added.items():
        if item.get("type") == "activity":  # the failure's own entry in the activity log (kept 400 days)
            assert item["kind"] == "copy_failed", (key, item)
            continue
        if "expires_at" in item:  # an idempotency or replay record: it must go away by itself, soon
            assert started < int(item["expires_at"]) <= time.time() + DAY_SECONDS + 60, (key, item)
    assert len(after.durable()) == len(before.durable())
    assert after.durable().keys() == before.durable().keys()
    assert after.customers == before.customers
    for key in before.items.keys() | after.items.keys():
        if key[0] in watched:
            assert after.items.get(key) == before.items.get(key), key


def _invoice_pk(world: World, invoice_id: str) -> str:
    return f"INVOICE#{world.cid}#{invoice_id}"


def _new_client_invoice(
    world: World,
    *,
    currency: str = "USD",
    number: str | None = None,
    discount: str | None = None,
    service_type: str = "Design",
    name: str | None = None,
) -> str:
    """An invoice of a client QuickBooks has never seen (by default): copying it needs a new customer."""
    name = name or f"Leftover Test {uuid.uuid4().hex[:8]}"
    us_side = world.realm == world.stack.emulator.US_REALM
    company = world.productive.create_company(
        world.demo.organization_id,
        name,
        default_currency=currency,
        default_subsidiary_id=world.demo.subsidiary_us_id if us_side else world.demo.subsidiary_uk_id,
    )
    return str(
        world.productive.create_invoice(
            world.demo.organization_id,
            company,
            currency=currency,
            subsidiary_id=world.demo.subsidiary_us_id if us_side else world.demo.subsidiary_uk_id,
            invoiced_on="2025-05-02",
            number=number,
            discount=discount,
            line_items=[
                {
                    "description": "Work",
                    "quantity": "2",
                    "unit_price": "150",
                    "service_type_id": world.demo.service_type_ids[service_type],
                    "tax_rate_id": world.demo.tax_rate_us_exempt_id if us_side else world.demo.tax_rate_uk_zero_id,
                }
            ],
        )
    )


def _error(response: Any, status: int, code: str | None = None) -> dict[str, Any]:
    assert response.status_code == status, response.text
    error = dict(response.json()["error"])
    assert set(error) == {"code", "message", "details"}
    if code is not None:
        assert error["code"] == code, error
    return error


# -- 404s ----------------------------------------------------------------------------------------


@pytest.mark.parametrize("key", [None, "retry-1"])
def test_an_invoice_productive_does_not_have_leaves_nothing(us: World, key: str | None) -> None:
    invoice_id = str(900_000_000 + uuid.uuid4().int % 99_999_999)
    with nothing_left(us, _invoice_pk(us, invoice_id)):
        _error(us.copy(invoice_id, key=key), 404, "invoice_not_found")
    assert "Item" not in _table(us).get_item(Key={"pk": _invoice_pk(us, invoice_id), "sk": "HEAD"})


def test_an_unknown_connection_leaves_nothing(us: World) -> None:
    path = f"/connections/{uuid.uuid4()}/invoices/{us.demo.invoice_usd_id}/copies"
    with nothing_left(us):
        _error(us.app.post(path, {"mode": "create"}), 404)


# -- 422s the mapping finds ----------------------------------------------------------------------


def test_an_unmapped_service_type_leaves_no_customer_and_no_item(us: World) -> None:
    us.configure(default_item_id=None, service_type_items={}, memo_source="subject")
    invoice_id = _new_client_invoice(us)
    with nothing_left(us, _invoice_pk(us, invoice_id)):
        _error(us.copy(invoice_id), 422, "unmapped_service_type")


def test_a_gbp_invoice_for_a_us_company_leaves_no_attempt_and_no_customer(us: World) -> None:
    invoice_id = _new_client_invoice(us, currency="GBP")
    with nothing_left(us, _invoice_pk(us, invoice_id)):
        error = _error(us.copy(invoice_id, mode="create"), 422, "currency_not_supported")
    assert error["details"] == {"invoice_currency": "GBP", "home_currency": "USD"}


def test_an_invoice_without_a_number_under_productive_numbering_leaves_nothing(us: World) -> None:
    us.configure(invoice_numbering="productive", default_item_id="1")
    invoice_id = _new_client_invoice(us, number=None)
    us.productive.update_record("invoices", invoice_id, number=None)
    with nothing_left(us, _invoice_pk(us, invoice_id)):
        _error(us.copy(invoice_id), 422, "invoice_has_no_number")


def test_no_zero_rate_code_leaves_no_cache_entry_and_no_customer(uk: World) -> None:
    realm = uk.stack.emulator.store.require(uk.realm)
    zero_rated = ["5", "6", "7"]  # "0.0% Z", "Exempt", "No VAT"
    with realm.lock:
        for code_id in zero_rated:
            code = realm.get("TaxCode", code_id)
            assert code is not None
            code["Active"] = False
    try:
        invoice_id = _new_client_invoice(uk, currency="GBP")
        with nothing_left(uk, _invoice_pk(uk, invoice_id), f"CONNECTION#{uk.cid}"):
            _error(uk.copy(invoice_id, tax_code_id=None), 422, "tax_code_required")
    finally:
        with realm.lock:
            for code_id in zero_rated:
                code = realm.get("TaxCode", code_id)
                assert code is not None
                code["Active"] = True


# -- refusals QuickBooks gives -------------------------------------------------------------------


@contextmanager
def _item_inactive(world: World, item_id: str) -> Iterator[None]:
    realm = world.stack.emulator.store.require(world.realm)
    with realm.lock:
        item = realm.get("Item", item_id)
        assert item is not None
        item["Active"] = False
    try:
        yield
    finally:
        with realm.lock:
            item["Active"] = True


def test_a_quickbooks_validation_fault_for_a_known_customer_leaves_nothing(us: World) -> None:
    # The customer is picked, so the invoice create is the first QuickBooks write and it is refused.
    picked = next(
        str(c["Id"])
        for c in us.stack.emulator.store.require(us.realm).all("Customer")
        if c["DisplayName"] == "Acme Corporation"
    )
    invoice_id = _new_client_invoice(us)
    with _item_inactive(us, "2"), nothing_left(us, _invoice_pk(us, invoice_id)):
        error = _error(us.copy(invoice_id, customer_id=picked), 422)
    assert error["details"]["quickbooks_code"] == "610"
    assert us.qbo_invoices(invoice_id) == []


def test_an_inactive_item_is_found_before_a_customer_is_created(us: World) -> None:
    invoice_id = _new_client_invoice(us)
    with _item_inactive(us, "2"), nothing_left(us, _invoice_pk(us, invoice_id)):
        error = _error(us.copy(invoice_id), 422, "quickbooks_item_unavailable")
    assert error["details"]["item_ids"] == ["2"]


def test_an_inactive_customer_is_not_reactivated_for_a_copy_that_fails(us: World) -> None:
    invoice_id = _new_client_invoice(us, name="Dormant Dynamics")
    realm = us.stack.emulator.store.require(us.realm)
    with realm.lock:  # as seeded (another test may have reactivated it)
        [dormant] = [c for c in realm.all("Customer") if c["DisplayName"] == "Dormant Dynamics"]
        dormant["Active"] = False
    with _item_inactive(us, "2"), nothing_left(us, _invoice_pk(us, invoice_id)):
        _error(us.copy(invoice_id), 422, "quickbooks_item_unavailable")
    assert dormant["Active"] is False


def _numbered(world: World) -> str:
    """Productive numbering on, and a number QuickBooks already has on another invoice."""
    world.configure(invoice_numbering="productive", default_item_id="1", memo_source="subject")
    number = f"L-{uuid.uuid4().hex[:8]}"
    first = world.copy(_new_client_invoice(world, number=number))
    assert first.status_code == 201, first.text
    return number


def test_a_duplicate_number_for_a_known_customer_leaves_nothing(us: World) -> None:
    number = _numbered(us)
    picked = next(
        str(c["Id"])
        for c in us.stack.emulator.store.require(us.realm).all("Customer")
        if c["DisplayName"] == "Acme Corporation"
    )
    twin = _new_client_invoice(us, number=number)
    with nothing_left(us, _invoice_pk(us, twin)):
        error = _error(us.copy(twin, customer_id=picked), 409)
    assert error["details"]["quickbooks_code"] == "6140"


def test_a_duplicate_number_is_found_before_a_customer_is_created(us: World) -> None:
    number = _numbered(us)
    twin = _new_client_invoice(us, number=number)
    with nothing_left(us, _invoice_pk(us, twin)):
        error = _error(us.copy(twin, mode="create"), 409, "duplicate_doc_number")
    assert error["details"]["doc_number"] == number


def test_a_refusal_nobody_could_foresee_leaves_the_new_customer_inactive_and_unused(us: World) -> None:
    # Discounts switched off in QuickBooks after the connection read the company's preferences: only
    # QuickBooks' answer to the invoice tells. A customer cannot be deleted in QuickBooks, so the one
    # created for this copy is made inactive, and the next copy of that client takes it up again.
    invoice_id = _new_client_invoice(us, discount="10")
    emulator = us.stack.emulator
    emulator.set_preference(us.realm, "SalesFormsPrefs.AllowDiscount", False)
    try:
        before = Snapshot.of(us)
        error = _error(us.copy(invoice_id), 422)
        after = Snapshot.of(us)
    finally:
        emulator.set_preference(us.realm, "SalesFormsPrefs.AllowDiscount", True)
    assert error["details"]["quickbooks_code"] == "6000"
    assert after.durable().keys() == before.durable().keys()
    [new] = [cid for cid in after.customers if cid not in before.customers]
    assert after.customers[new] is False
    assert {k: v for k, v in after.customers.items() if k != new} == before.customers
    realm = emulator.store.require(us.realm)
    assert [i for i in realm.all("Invoice") if i["CustomerRef"]["value"] == new] == []
    # The next copy of that client reactivates and uses it: no second customer.
    again = us.copy(invoice_id)
    assert again.status_code == 201, again.text
    assert us.qbo("Invoice", again.json()["quickbooks_invoice_id"])["CustomerRef"]["value"] == new
    assert us.qbo("Customer", new)["Active"] is True
    assert len(Snapshot.of(us).customers) == len(after.customers)


# -- 409s ----------------------------------------------------------------------------------------


def test_a_copy_held_by_another_request_leaves_nothing_of_its_own(us: World) -> None:
    invoice_id = _new_client_invoice(us)
    now = datetime.now(UTC)
    repository = DynamoCopyRepository(_table(us))
    assert repository.lock(us.cid, invoice_id, "someone-else", now, now + timedelta(seconds=60)) is not None
    try:
        with nothing_left(us, _invoice_pk(us, invoice_id)):
            _error(us.copy(invoice_id), 409, "copy_in_progress")
    finally:
        _table(us).delete_item(Key={"pk": _invoice_pk(us, invoice_id), "sk": "HEAD"})


def test_an_attempt_stored_by_the_previous_version_keeps_its_requestid_and_marker(us: World) -> None:
    invoice_id = _new_client_invoice(us)
    started = datetime(2026, 11, 1, 12, 0, tzinfo=UTC)
    _table(us).put_item(
        Item={
            "pk": _invoice_pk(us, invoice_id),
            "sk": "HEAD",
            "type": "invoice_head",
            "last_sequence": 2,
            "pending": {"sequence": 3, "request_id": "r-old", "marker": "m-old", "started_at": started.isoformat()},
        }
    )
    repository = DynamoCopyRepository(_table(us))
    try:
        now = datetime.now(UTC)
        head = repository.lock(us.cid, invoice_id, "me", now, now + timedelta(seconds=60), pending_since=now)
        assert head is not None
        assert head.pending is not None
        assert (head.pending.sequence, head.pending.request_id, head.pending.marker) == (3, "r-old", "m-old")
        assert head.pending.started_at == started
        assert head.pending_is_new is False
    finally:
        _table(us).delete_item(Key={"pk": _invoice_pk(us, invoice_id), "sk": "HEAD"})


# -- the request body ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "body",
    [{"mode": "sideways"}, {"customer_id": 5}, {"tax_code_id": ""}, {"mode": "create", "extra": True}, []],
)
def test_an_invalid_body_leaves_nothing(us: World, body: Any) -> None:
    invoice_id = _new_client_invoice(us)
    with nothing_left(us, _invoice_pk(us, invoice_id)):
        response = us.app.post(f"/connections/{us.cid}/invoices/{invoice_id}/copies", body)
        _error(response, 422, "validation_error")


# -- a fault is not a refusal --------------------------------------------------------------------


def test_lost_answers_keep_the_attempt_and_the_retry_makes_one_invoice_and_one_customer(
    us: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    invoice_id = _new_client_invoice(us)
    before = Snapshot.of(us)
    emulator = us.stack.emulator
    faults = emulator.faults
    take_drop = faults.take_drop

    def drop_then_fail() -> bool:
        # QuickBooks commits the write and the answer is lost; the adapter's replays of it then meet
        # an outage, so the request ends in a 5xx with the write done.
        dropped = take_drop()
        if dropped:
            faults.fail_next(2, status=503)
        return dropped

    monkeypatch.setattr(faults, "take_drop", drop_then_fail)
    emulator.reset_request_log()
    faults.commit_then_drop_next(2)  # the customer's create, then the invoice's
    responses = []
    try:
        for _ in range(4):
            response = us.copy(invoice_id, mode="create")
            responses.append(response)
            if response.status_code == 201:
                break
            assert response.status_code == 503, response.text
            if us.qbo_invoices(invoice_id):  # QuickBooks has it, we do not know: the attempt stays
                head = _table(us).get_item(Key={"pk": _invoice_pk(us, invoice_id), "sk": "HEAD"})["Item"]
                assert "pending" in head
    finally:
        faults.reset()
    assert [e for e in emulator.request_log if e[2] == 0], "no answer was dropped: the test tested nothing"
    assert [r.status_code for r in responses] == [503, 503, 201], [r.text for r in responses]
    assert len(us.qbo_invoices(invoice_id)) == 1
    assert len(us.history(invoice_id)) == 1
    after = Snapshot.of(us)
    [new] = [cid for cid in after.customers if cid not in before.customers]
    assert after.customers[new] is True
    assert us.qbo_invoices(invoice_id)[0]["CustomerRef"]["value"] == new
