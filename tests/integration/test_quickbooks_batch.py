"""QuickBooksClient.batch against the QuickBooks emulator over real sockets: typed operations in, each
bId's entity or fault out; a whole-request failure retried with the same requestid, so a batch whose
answer was lost is answered again, never written twice."""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from local.qbo_emulator import QboEmulator
from qbosync.adapters.quickbooks import QuickBooksClient
from qbosync.domain.errors import QuickBooksFault, UpstreamUnavailable
from qbosync.domain.quickbooks_batch import BatchItemFault, BatchQuery, BatchWrite, query_rows
from qbosync.services.tokens import StaticAccessToken
from tests.emulators.qbo.helpers import connect

LINE = [
    {
        "DetailType": "SalesItemLineDetail",
        "Amount": 100,
        "SalesItemLineDetail": {"ItemRef": {"value": "1"}, "TaxCodeRef": {"value": "NON"}},
    }
]


@pytest.fixture(scope="module")
def emu() -> Iterator[QboEmulator]:
    with QboEmulator() as emulator:
        emulator.set_throttling(enabled=False)
        yield emulator


@pytest.fixture
def sent(emu: QboEmulator) -> Iterator[list[httpx.Request]]:
    """Every request the client put on the wire, retries included."""
    emu.faults.reset()
    emu.reset_request_log()
    yield []
    emu.faults.reset()


@pytest.fixture
def token(emu: QboEmulator) -> str:
    with httpx.Client(timeout=10) as http:
        return connect(http, emu, emu.US_REALM).access_token


def recording_http(sent: list[httpx.Request], *, timeout: float = 10) -> httpx.Client:
    return httpx.Client(timeout=timeout, event_hooks={"request": [sent.append]})


def client_for(emu: QboEmulator, token: str, http: httpx.Client, realm_id: str | None = None) -> QuickBooksClient:
    return QuickBooksClient(
        http=http,
        base_url=emu.base_url,
        realm_id=realm_id or emu.US_REALM,
        access_token=StaticAccessToken(token),
        retry_wait_max_seconds=0.05,
    )


@pytest.fixture
def qbo(emu: QboEmulator, token: str, sent: list[httpx.Request]) -> Iterator[QuickBooksClient]:
    with recording_http(sent) as http:
        yield client_for(emu, token, http)


def customers_named(emu: QboEmulator, name: str) -> list[dict[str, Any]]:
    realm = emu.store.require(emu.US_REALM)
    with realm.lock:
        return [dict(row) for row in realm.all("Customer") if row.get("DisplayName") == name]


def batch_requests(sent: list[httpx.Request]) -> list[httpx.Request]:
    return [request for request in sent if request.url.path.endswith("/batch")]


def test_writes_and_queries_answer_by_bid_with_per_item_faults(
    emu: QboEmulator, qbo: QuickBooksClient, sent: list[httpx.Request]
) -> None:
    invoice = qbo.create("Invoice", {"CustomerRef": {"value": "1"}, "Line": LINE}, request_id="bb-inv-1")
    answers = qbo.batch(
        [
            BatchWrite("c1", "Customer", {"DisplayName": "Batch Adapter Ltd"}),
            BatchWrite("c2", "Customer", {"DisplayName": "Smith & Sons"}),  # taken: 6240
            BatchWrite(
                "u1",
                "Invoice",
                {"Id": invoice["Id"], "SyncToken": invoice["SyncToken"], "sparse": True, "PrivateNote": "batched"},
                operation="update",
            ),
            BatchWrite("u2", "Invoice", {"Id": invoice["Id"], "SyncToken": "99", "sparse": True}, operation="update"),
            BatchQuery("q1", "select * from Customer where DisplayName = 'Café Olé'"),
            BatchQuery("q2", "select * from Customer where DisplayName = 'Nobody At All'"),
        ],
        request_id="bb-mixed-1",
    )
    assert len(batch_requests(sent)) == 1
    assert set(answers) == {"c1", "c2", "u1", "u2", "q1", "q2"}
    created = answers["c1"]
    assert isinstance(created, dict)
    assert created["DisplayName"] == "Batch Adapter Ltd"
    assert customers_named(emu, "Batch Adapter Ltd")[0]["Id"] == created["Id"]
    duplicate = answers["c2"]
    assert isinstance(duplicate, BatchItemFault)
    assert duplicate.code == QuickBooksFault.DUPLICATE_NAME
    assert duplicate.message
    assert duplicate.detail
    assert duplicate.is_conflict
    assert duplicate.is_refusal
    assert duplicate.error().details["quickbooks_code"] == "6240"
    updated = answers["u1"]
    assert isinstance(updated, dict)
    assert updated["PrivateNote"] == "batched"
    stale = answers["u2"]
    assert isinstance(stale, BatchItemFault)
    assert stale.code == QuickBooksFault.STALE_OBJECT
    found = answers["q1"]
    assert isinstance(found, dict)
    assert [row["DisplayName"] for row in query_rows(found)] == ["Café Olé"]
    nothing = answers["q2"]
    assert isinstance(nothing, dict)
    assert query_rows(nothing) == []


@pytest.mark.parametrize(
    ("operations", "request_id", "message"),
    [
        ([BatchQuery(str(n), "select * from Item") for n in range(31)], "bb-limit", "at most 30"),
        ([], "bb-limit", "at least one"),
        ([BatchQuery("1", "select * from Item"), BatchQuery("1", "select * from Term")], "bb-limit", "bId of its own"),
        ([BatchQuery("1", "select * from Item")], "r" * 37, "1 to 36 characters"),
        ([BatchQuery("1", "select * from Item")], "", "1 to 36 characters"),
    ],
)
def test_limits_are_refused_before_anything_is_sent(
    qbo: QuickBooksClient, sent: list[httpx.Request], operations: list[BatchQuery], request_id: str, message: str
) -> None:
    with pytest.raises(ValueError, match=message):
        qbo.batch(operations, request_id=request_id)
    assert sent == []


def test_thirty_items_and_a_36_character_requestid_are_accepted(qbo: QuickBooksClient) -> None:
    answers = qbo.batch([BatchQuery(f"q{n}", "select * from Term") for n in range(30)], request_id="r" * 36)
    assert len(answers) == 30
    assert all(isinstance(answer, dict) and query_rows(answer) for answer in answers.values())


@pytest.mark.parametrize("bid", ["", "b" * 11])
def test_a_bid_is_one_to_ten_characters(bid: str) -> None:
    with pytest.raises(ValueError, match="1 to 10 characters"):
        BatchQuery(bid, "select * from Item")
    with pytest.raises(ValueError, match="1 to 10 characters"):
        BatchWrite(bid, "Customer", {"DisplayName": "x"})


def test_a_5xx_is_retried_with_the_same_requestid(
    emu: QboEmulator, qbo: QuickBooksClient, sent: list[httpx.Request]
) -> None:
    emu.faults.fail_next(1, status=503)
    answers = qbo.batch([BatchWrite("c", "Customer", {"DisplayName": "Retried Batch Co"})], request_id="bb-5xx-1")
    assert isinstance(answers["c"], dict)
    requests = batch_requests(sent)
    assert len(requests) == 2
    assert [r.url.params["requestid"] for r in requests] == ["bb-5xx-1", "bb-5xx-1"]
    assert requests[0].content == requests[1].content
    assert len(customers_named(emu, "Retried Batch Co")) == 1


def test_a_lost_answer_is_replayed_not_written_twice(
    emu: QboEmulator, qbo: QuickBooksClient, sent: list[httpx.Request]
) -> None:
    emu.faults.commit_then_drop_next(1)
    answers = qbo.batch(
        [
            BatchWrite("c", "Customer", {"DisplayName": "Dropped Batch Co"}),
            BatchWrite("i", "Invoice", {"CustomerRef": {"value": "2"}, "Line": LINE}),
        ],
        request_id="bb-drop-1",
    )
    requests = batch_requests(sent)
    assert [r.url.params["requestid"] for r in requests] == ["bb-drop-1", "bb-drop-1"]
    path = f"/v3/company/{emu.US_REALM}/batch"
    assert [entry for entry in emu.request_log if entry[1] == path] == [("POST", path, 0), ("POST", path, 200)]
    customer, invoice = answers["c"], answers["i"]
    assert isinstance(customer, dict)
    assert isinstance(invoice, dict)
    stored = customers_named(emu, "Dropped Batch Co")
    assert [row["Id"] for row in stored] == [customer["Id"]]  # committed once, answered from the replay
    assert emu.store.require(emu.US_REALM).get("Invoice", invoice["Id"]) is not None


def test_a_timeout_is_retried_with_the_same_requestid_and_writes_once(
    emu: QboEmulator, token: str, sent: list[httpx.Request]
) -> None:
    emu.faults.latency(1.0)  # longer than the client waits: every attempt times out
    operations = [BatchWrite("c", "Customer", {"DisplayName": "Timed Out Batch Co"})]
    with recording_http(sent, timeout=0.3) as http, pytest.raises(UpstreamUnavailable):
        client_for(emu, token, http).batch(operations, request_id="bb-timeout-1")
    requests = batch_requests(sent)
    assert len(requests) == 3
    assert {r.url.params["requestid"] for r in requests} == {"bb-timeout-1"}
    path = f"/v3/company/{emu.US_REALM}/batch"
    deadline = time.monotonic() + 10
    while len([e for e in emu.request_log if e[1] == path]) < 3 and time.monotonic() < deadline:
        time.sleep(0.05)  # the emulator finishes the requests the client gave up on
    assert len([e for e in emu.request_log if e[1] == path]) == 3
    emu.faults.latency(0)
    stored = customers_named(emu, "Timed Out Batch Co")
    assert len(stored) == 1
    with recording_http(sent) as http:
        again = client_for(emu, token, http).batch(operations, request_id="bb-timeout-1")
    answer = again["c"]
    assert isinstance(answer, dict)
    assert answer["Id"] == stored[0]["Id"]


def test_a_lasting_5xx_is_upstream_unavailable_and_writes_nothing(
    emu: QboEmulator, qbo: QuickBooksClient, sent: list[httpx.Request]
) -> None:
    emu.faults.fail_next(3, status=500)
    with pytest.raises(UpstreamUnavailable) as raised:
        qbo.batch([BatchWrite("c", "Customer", {"DisplayName": "Never Written Co"})], request_id="bb-500-1")
    assert raised.value.details["service"] == "quickbooks"
    assert len(batch_requests(sent)) == 3
    assert customers_named(emu, "Never Written Co") == []


def test_a_short_throttle_is_waited_out(emu: QboEmulator, qbo: QuickBooksClient, sent: list[httpx.Request]) -> None:
    emu.faults.throttle_next(1)
    answers = qbo.batch([BatchQuery("q", "select * from Term")], request_id="bb-429-1")
    assert isinstance(answers["q"], dict)
    assert len(batch_requests(sent)) == 2


def test_a_fault_of_the_whole_request_is_raised(emu: QboEmulator, token: str, sent: list[httpx.Request]) -> None:
    with recording_http(sent) as http, pytest.raises(QuickBooksFault) as raised:
        client_for(emu, token, http, realm_id="4620816365999999999").batch(
            [BatchQuery("q", "select * from Term")], request_id="bb-fault-1"
        )
    assert raised.value.http_status == 403
