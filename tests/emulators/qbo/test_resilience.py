"""Throttling and injected faults: 429s, 5xx, latency, and writes whose answer is lost."""

from __future__ import annotations

import threading
import time

import httpx
import pytest

from local.qbo_emulator import QboEmulator
from tests.emulators.qbo.helpers import Api


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
