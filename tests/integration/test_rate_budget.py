"""The copy jobs' rate budget (qbosync.adapters.rate_budget) on the stack's DynamoDB table (moto over a
socket), with a controlled clock: buckets shared by workers, and the request hook choosing them."""

from __future__ import annotations

import os
import uuid
from typing import Any

import boto3
import httpx
import pytest

from qbosync.adapters.rate_budget import DynamoRateBudget
from qbosync.domain.rate_limits import Bucket
from tests.fakes import FakeClock

QBO = "https://quickbooks.example/v3"
PRODUCTIVE = "https://productive.example/api/v2"


@pytest.fixture
def table(stack: Any) -> Any:
    return boto3.resource("dynamodb", endpoint_url=stack.aws.endpoint_url).Table(os.environ["TABLE_NAME"])


def _budget(table: Any, clock: FakeClock, slept: list[float]) -> DynamoRateBudget:
    def sleep(seconds: float) -> None:
        slept.append(seconds)
        clock.advance(seconds=seconds)

    return DynamoRateBudget(table, clock, quickbooks_base_url=QBO, productive_base_url=PRODUCTIVE, sleep=sleep)


def test_a_bucket_gives_its_capacity_at_once_then_its_rate_to_every_worker_together(table: Any) -> None:
    clock, slept = FakeClock(), list[float]()
    first, second = _budget(table, clock, slept), _budget(table, clock, slept)
    bucket = Bucket(f"test-{uuid.uuid4().hex}", capacity=10, per_second=5.0)
    start = clock.now()
    for index in range(30):  # two workers taking turns
        (first if index % 2 else second).take(bucket)
    elapsed = (clock.now() - start).total_seconds()
    # The burst of 10, then 5 a second: never faster than the limit; reservations a worker dropped
    # unused cost a little time, never tokens beyond it.
    assert (30 - 10) / 5.0 * 0.95 <= elapsed <= (30 - 10) / 5.0 * 2, elapsed
    assert sum(slept) == pytest.approx(elapsed)


def test_the_hook_takes_from_the_buckets_of_the_scope_only(table: Any) -> None:
    clock, slept = FakeClock(), list[float]()
    budget = _budget(table, clock, slept)
    realm, connection, organization = (uuid.uuid4().hex for _ in range(3))
    budget.on_request(httpx.Request("GET", f"{QBO}/company/{realm}/invoice/1"))  # outside a scope: nothing
    assert _tokens(table, f"QBO#{realm}") is None
    with budget.applying(realm_id=realm, connection_id=connection, organization_id=organization):
        budget.on_request(httpx.Request("POST", f"{QBO}/company/{realm}/batch"))
        budget.on_request(httpx.Request("GET", f"{PRODUCTIVE}/invoices"))
        budget.on_request(httpx.Request("GET", "https://elsewhere.example/"))
    assert _tokens(table, f"QBO#{realm}") is not None
    assert _tokens(table, f"QBOBATCH#{realm}") is not None
    assert _tokens(table, f"PRODUCTIVE#{connection}") is not None
    assert _tokens(table, f"PRODUCTIVEORG#{organization}") is not None


def _tokens(table: Any, key: str) -> str | None:
    item = table.get_item(Key={"pk": f"RATE#{key}", "sk": "BUCKET"}, ConsistentRead=True).get("Item")
    return None if item is None else str(item["tokens"])
