"""Throttling and injected faults: 429s, 5xx, latency, and writes whose answer is lost."""

from __future__ import annotations

import threading
import time
from typing import Any

import httpx
import pytest

from local.qbo_emulator import QboEmulator
from tests.emulators.qbo.helpers import Api, Tokens, authorize, callback_params, token_request


def test_ten_per_second_per_realm_and_app(emu: QboEmulator, us: Api) -> None:
    emu.set_throttling(enabled=True)
    statuses = [us.get("preferences").status_code for _ in range(11)]
    if statuses.count(200) < 10:  # a very slow machine spread the burst over more than a second
        pytest.skip("burst took longer than a second")
    assert statuses[-1] == 429
    response = us.get("preferences")
    if response.status_code == 429:
        body = response.json()
        error = body["Fault"]["Error"][0]
        assert error["code"] == "3001"
        assert "ThrottleExceeded" in error["Message"]
        assert response.headers["intuit_tid"]
    time.sleep(1.05)
    assert us.get("preferences").status_code == 200


def test_five_hundred_per_minute_per_realm(emu: QboEmulator, us: Api) -> None:
    emu.set_throttling(enabled=True)
    emu.throttle.limits.per_second = 10_000
    emu.throttle.limits.per_minute = 15
    statuses = [us.get("preferences").status_code for _ in range(16)]
    assert statuses[:15] == [200] * 15
    assert statuses[15] == 429


def test_concurrency_limit(emu: QboEmulator, us: Api) -> None:
    emu.set_throttling(enabled=True)
    emu.throttle.limits.per_second = 10_000
    emu.faults.latency(1.5)
    statuses: list[int] = []
    lock = threading.Lock()

    def call() -> None:
        with httpx.Client(timeout=10) as client:
            status = client.get(f"{us.base}/preferences", headers=us.headers()).status_code
        with lock:
            statuses.append(status)

    threads = [threading.Thread(target=call) for _ in range(12)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    # 10 are admitted at once; the rest are refused while those are in flight
    assert statuses.count(200) >= 10
    assert statuses.count(429) >= 1
    assert statuses.count(200) + statuses.count(429) == 12


def test_throttling_can_be_switched_off(emu: QboEmulator, us: Api) -> None:
    emu.set_throttling(enabled=False)
    assert {us.get("preferences").status_code for _ in range(15)} == {200}


def test_throttle_next(emu: QboEmulator, us: Api) -> None:
    emu.faults.throttle_next(2)
    assert [us.get("preferences").status_code for _ in range(3)] == [429, 429, 200]


@pytest.mark.parametrize("status", [500, 503])
def test_fail_next(emu: QboEmulator, us: Api, status: int) -> None:
    emu.faults.fail_next(1, status=status)
    response = us.get("preferences")
    assert response.status_code == status
    assert response.json()["Fault"]["type"] == "SystemFault"
    assert us.get("preferences").status_code == 200


def test_latency(emu: QboEmulator, us: Api) -> None:
    emu.faults.latency(0.3)
    started = time.monotonic()
    us.get("preferences")
    assert time.monotonic() - started >= 0.3
    emu.faults.latency(0)


def test_commit_then_drop_and_requestid_retry(emu: QboEmulator, us: Api) -> None:
    emu.faults.commit_then_drop_next(1)
    body = {"DisplayName": "Dropped Answer Ltd"}
    with pytest.raises(httpx.TransportError):
        us.post("customer", body, requestid="cust-1")
    # the write happened
    rows = us.rows("select * from Customer where DisplayName = 'Dropped Answer Ltd'")
    assert len(rows) == 1
    # the retry with the same requestid gets the original answer and creates nothing
    retry = us.post("customer", body, requestid="cust-1")
    assert retry.status_code == 200
    assert retry.json()["Customer"]["Id"] == rows[0]["Id"]
    assert len(us.rows("select * from Customer where DisplayName = 'Dropped Answer Ltd'")) == 1
    # without the requestid a retry is a duplicate name
    assert us.post("customer", body).json()["Fault"]["Error"][0]["code"] == "6240"
    assert ("POST", f"/v3/company/{emu.US_REALM}/customer", 0) in emu.request_log


def test_reads_are_not_dropped(emu: QboEmulator, us: Api) -> None:
    emu.faults.commit_then_drop_next(1)
    assert us.get("preferences").status_code == 200
    with pytest.raises(httpx.TransportError):
        us.post("customer", {"DisplayName": "Second Write"})


def test_batch_limit_per_realm_and_app(emu: QboEmulator, us: Api) -> None:
    emu.set_throttling(enabled=True)
    emu.throttle.limits.per_second = 10_000
    emu.throttle.limits.batch_per_minute_app = 3
    body = {"BatchItemRequest": [{"bId": "1", "Query": "select * from Item"}]}
    statuses = [us.post("batch", body).status_code for _ in range(4)]
    assert statuses == [200, 200, 200, 429]
    assert us.get("preferences").status_code == 200  # plain calls are not batch-limited


# --- batch: the same injected faults and throttles as single calls

BATCH_PATH = "/v3/company/{realm}/batch"
LINE = [
    {
        "DetailType": "SalesItemLineDetail",
        "Amount": 100,
        "SalesItemLineDetail": {"ItemRef": {"value": "1"}, "TaxCodeRef": {"value": "NON"}},
    }
]


def one_customer(name: str) -> dict[str, Any]:
    return {"BatchItemRequest": [{"bId": "c", "operation": "create", "Customer": {"DisplayName": name}}]}


def batch_statuses(emu: QboEmulator) -> list[int]:
    path = BATCH_PATH.format(realm=emu.US_REALM)
    return [status for _, logged, status in emu.request_log if logged == path]


@pytest.mark.parametrize("status", [500, 503])
def test_fail_next_answers_a_batch_with_a_system_fault_and_runs_nothing(emu: QboEmulator, us: Api, status: int) -> None:
    emu.faults.fail_next(1, status=status)
    failed = us.post("batch", one_customer("Failed Batch Co"), requestid="fb-1")
    assert failed.status_code == status
    assert failed.json()["Fault"]["type"] == "SystemFault"
    assert us.rows("select * from Customer where DisplayName = 'Failed Batch Co'") == []
    retried = us.post("batch", one_customer("Failed Batch Co"), requestid="fb-1")
    assert retried.json()["BatchItemResponse"][0]["Customer"]["DisplayName"] == "Failed Batch Co"


def test_throttle_next_answers_a_batch_with_429_and_runs_nothing(emu: QboEmulator, us: Api) -> None:
    emu.faults.throttle_next(1)
    throttled = us.post("batch", one_customer("Throttled Batch Co"), requestid="tb-1")
    assert throttled.status_code == 429
    assert throttled.json()["Fault"]["Error"][0]["code"] == "3001"
    assert us.rows("select * from Customer where DisplayName = 'Throttled Batch Co'") == []


def test_latency_delays_a_batch(emu: QboEmulator, us: Api) -> None:
    emu.faults.latency(0.3)
    started = time.monotonic()
    assert us.post("batch", {"BatchItemRequest": [{"bId": "q", "Query": "select * from Term"}]}).status_code == 200
    assert time.monotonic() - started >= 0.3
    emu.faults.latency(0)


def test_commit_then_drop_on_a_batch_then_the_replay_creates_nothing(emu: QboEmulator, us: Api) -> None:
    body = {
        "BatchItemRequest": [
            {"bId": "c", "operation": "create", "Customer": {"DisplayName": "Dropped Batch Ltd"}},
            {"bId": "i", "operation": "create", "Invoice": {"CustomerRef": {"value": "1"}, "Line": LINE}},
            {"bId": "dup", "operation": "create", "Customer": {"DisplayName": "Smith & Sons"}},
        ]
    }
    invoices_before = len(emu.store.require(emu.US_REALM).all("Invoice"))
    emu.faults.commit_then_drop_next(1)
    with pytest.raises(httpx.TransportError):
        us.post("batch", body, requestid="drop-batch-1")
    committed = us.rows("select * from Customer where DisplayName = 'Dropped Batch Ltd'")
    assert len(committed) == 1
    assert len(emu.store.require(emu.US_REALM).all("Invoice")) == invoices_before + 1
    replay = us.post("batch", body, requestid="drop-batch-1")
    assert replay.status_code == 200
    answers = {item["bId"]: item for item in replay.json()["BatchItemResponse"]}
    assert answers["c"]["Customer"]["Id"] == committed[0]["Id"]
    assert answers["dup"]["Fault"]["Error"][0]["code"] == "6240"  # the stored answer, faults included
    assert len(us.rows("select * from Customer where DisplayName = 'Dropped Batch Ltd'")) == 1
    assert len(emu.store.require(emu.US_REALM).all("Invoice")) == invoices_before + 1
    assert batch_statuses(emu) == [0, 200]


def test_a_batch_counts_against_the_requests_per_minute(emu: QboEmulator, us: Api) -> None:
    emu.set_throttling(enabled=True)
    emu.throttle.limits.per_second = 10_000
    emu.throttle.limits.per_minute = 3
    body = {"BatchItemRequest": [{"bId": "q", "Query": "select * from Term"}]}
    assert [us.post("batch", body).status_code for _ in range(3)] == [200, 200, 200]
    assert us.get("preferences").status_code == 429
    assert us.post("batch", body).status_code == 429


def test_a_batch_counts_against_the_requests_per_second(emu: QboEmulator, us: Api) -> None:
    emu.set_throttling(enabled=True)
    emu.throttle.limits.per_second = 2
    body = {"BatchItemRequest": [{"bId": "q", "Query": "select * from Term"}]}
    statuses = [us.post("batch", body).status_code for _ in range(2)] + [us.get("preferences").status_code]
    if statuses.count(200) < 2:  # a very slow machine spread the calls over more than a second
        pytest.skip("calls took longer than a second")
    assert statuses == [200, 200, 429]


def test_a_batch_in_flight_holds_a_concurrency_slot(emu: QboEmulator, us: Api) -> None:
    emu.set_throttling(enabled=True)
    emu.throttle.limits.per_second = 10_000
    emu.throttle.limits.concurrent = 1
    emu.faults.latency(2)
    client_id = emu.DEFAULT_CLIENT_ID
    statuses: list[int] = []

    def batch() -> None:
        with httpx.Client(timeout=10) as client:
            body = {"BatchItemRequest": [{"bId": "q", "Query": "select * from Term"}]}
            statuses.append(
                client.post(
                    f"{us.base}/batch", json=body, headers=us.headers({"Content-Type": "application/json"})
                ).status_code
            )

    thread = threading.Thread(target=batch)
    thread.start()
    deadline = time.monotonic() + 5
    while emu.throttle.active(emu.US_REALM, client_id) == 0 and time.monotonic() < deadline:
        time.sleep(0.01)
    assert emu.throttle.active(emu.US_REALM, client_id) == 1
    assert us.get("preferences").status_code == 429  # the one slot is the batch's
    thread.join()
    emu.faults.latency(0)
    assert statuses == [200]
    assert us.get("preferences").status_code == 200


def connect_app(http: httpx.Client, emu: QboEmulator, client_id: str, secret: str) -> Tokens:
    """A second app (client id) connected to the US company."""
    emu.register_app(client_id, secret, redirect_uris=[emu.DEFAULT_REDIRECT_URI])
    emu.next_consent(realm_id=emu.US_REALM)
    params = callback_params(authorize(http, emu, client_id=client_id))
    response = token_request(
        http,
        emu,
        {"grant_type": "authorization_code", "code": params["code"], "redirect_uri": emu.DEFAULT_REDIRECT_URI},
        client_id=client_id,
        secret=secret,
    )
    assert response.status_code == 200, response.text
    body = response.json()
    return Tokens(body["access_token"], body["refresh_token"], params["realmId"], body)


def test_batch_limit_per_realm_is_shared_by_the_apps(emu: QboEmulator, us: Api, http: httpx.Client) -> None:
    other = Api(http, emu, connect_app(http, emu, "second-app", "second-secret"))
    emu.set_throttling(enabled=True)
    emu.throttle.limits.per_second = 10_000
    emu.throttle.limits.batch_per_minute_app = 2
    emu.throttle.limits.batch_per_minute_realm = 3
    body = {"BatchItemRequest": [{"bId": "1", "Query": "select * from Item"}]}
    assert [us.post("batch", body).status_code for _ in range(3)] == [200, 200, 429]  # the app's 2
    assert other.post("batch", body).status_code == 200  # the realm's third
    refused = other.post("batch", body)  # the realm's 3 are used, though this app sent only one
    assert refused.status_code == 429
    assert refused.json()["Fault"]["Error"][0]["code"] == "3001"
    assert other.get("preferences").status_code == 200
