"""The batch vocabulary of the domain (qbosync.domain.quickbooks_batch), and the adapter's reading of
answers the QuickBooks emulator never gives (tests/integration/test_quickbooks_batch.py has the rest)."""

from __future__ import annotations

import json

import httpx
import pytest

from qbosync.adapters.quickbooks import QuickBooksClient
from qbosync.domain.errors import QuickBooksFault, UpstreamUnavailable
from qbosync.domain.quickbooks_batch import BatchItemFault, BatchQuery, BatchWrite, check_batch, query_rows
from qbosync.services.tokens import StaticAccessToken


def test_an_item_fault_speaks_as_quickbooks_fault_does() -> None:
    stale = BatchItemFault(
        code="5010", message="Stale Object Error", detail="old SyncToken", fault_type="ValidationFault"
    )
    assert stale.is_conflict
    assert stale.is_refusal
    error = stale.error()
    assert isinstance(error, QuickBooksFault)
    assert (error.fault_code, error.detail, error.http_status) == ("5010", "old SyncToken", 200)
    outage = BatchItemFault(code="10000", message="An application error has occurred", fault_type="SystemFault")
    assert not outage.is_refusal  # the item's outcome is unknown
    assert not outage.is_conflict


def test_a_write_is_a_create_or_an_update() -> None:
    assert BatchWrite("1", "Invoice", {}).operation == "create"
    with pytest.raises(ValueError, match="create or an update"):
        BatchWrite("1", "Invoice", {}, operation="delete")  # type: ignore[arg-type]


def test_check_batch_accepts_the_limits_themselves() -> None:
    check_batch([BatchQuery(f"b{n:09d}", "select * from Item") for n in range(30)], "r" * 36)


def test_query_rows() -> None:
    assert query_rows({"Customer": [{"Id": "1"}], "startPosition": 1, "maxResults": 1}) == [{"Id": "1"}]
    assert query_rows({}) == []


def client_answering(body: dict[str, object]) -> QuickBooksClient:
    def answer(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, content=json.dumps(body).encode())

    return QuickBooksClient(
        http=httpx.Client(transport=httpx.MockTransport(answer)),
        base_url="https://qbo.example",
        realm_id="1",
        access_token=StaticAccessToken("t"),
    )


def test_an_item_missing_from_the_answer_is_an_outage_not_a_silent_gap() -> None:
    client = client_answering({"BatchItemResponse": [{"bId": "a", "Customer": {"Id": "1"}}]})
    with pytest.raises(UpstreamUnavailable, match="lacks item b"):
        client.batch(
            [BatchWrite("a", "Customer", {"DisplayName": "A"}), BatchWrite("b", "Customer", {"DisplayName": "B"})],
            request_id="r1",
        )


def test_a_lowercase_item_fault_is_read_too() -> None:
    client = client_answering(
        {
            "BatchItemResponse": [
                {"bId": "a", "fault": {"type": "ValidationFault", "error": [{"code": "6240", "message": "Duplicate"}]}}
            ]
        }
    )
    answer = client.batch([BatchWrite("a", "Customer", {"DisplayName": "A"})], request_id="r1")["a"]
    assert answer == BatchItemFault(code="6240", message="Duplicate", fault_type="ValidationFault")
