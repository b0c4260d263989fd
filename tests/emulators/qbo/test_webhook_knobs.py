"""Webhook delivery knobs: drop, duplicate, delay and reorder, reproducible with a seed."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from typing import Any

import pytest

from local.qbo_emulator import QboEmulator
from tests.emulators.qbo.helpers import Api
from tests.emulators.qbo.test_webhooks import Receiver


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    rec = Receiver()
    yield rec
    rec.server.shutdown()
    rec.server.server_close()


@pytest.fixture
def hooked(emu: QboEmulator, us: Api, receiver: Receiver) -> QboEmulator:
    emu.set_webhook(emu.DEFAULT_CLIENT_ID, receiver.url, entities=["Customer"])
    return emu


def customers(api: Api, count: int, prefix: str = "Knob") -> list[str]:
    ids = []
    for number in range(count):
        response = api.post("customer", {"DisplayName": f"{prefix} {number} {time.monotonic_ns()}"})
        assert response.status_code == 200, response.text
        ids.append(str(response.json()["Customer"]["Id"]))
    return ids


def delivered_ids(receiver: Receiver) -> list[str]:
    return [
        entity["id"]
        for body in receiver.bodies()
        for note in body["eventNotifications"]
        for entity in note["dataChangeEvent"]["entities"]
    ]


def test_without_knobs_every_notification_arrives_once_in_order(
    hooked: QboEmulator, us: Api, receiver: Receiver
) -> None:
    ids = customers(us, 5)
    assert hooked.webhooks.wait_idle(10)
    assert delivered_ids(receiver) == ids


def test_drop_the_next_n(hooked: QboEmulator, us: Api, receiver: Receiver) -> None:
    hooked.drop_webhooks(count=2)
    ids = customers(us, 4)
    assert hooked.webhooks.wait_idle(10)
    assert delivered_ids(receiver) == ids[2:]
    assert [[event.entity_id for event in events] for events in hooked.webhooks.dropped] == [[ids[0]], [ids[1]]]


def test_drop_a_fraction(hooked: QboEmulator, us: Api, receiver: Receiver) -> None:
    hooked.set_webhook_delivery(drop=0.5, seed=7)
    ids = customers(us, 30)
    assert hooked.webhooks.wait_idle(10)
    delivered = delivered_ids(receiver)
    dropped = [events[0].entity_id for events in hooked.webhooks.dropped]
    assert 5 <= len(dropped) <= 25
    assert sorted(delivered + dropped, key=int) == ids  # every change either delivered or dropped, never both
    assert delivered == [i for i in ids if i not in dropped]  # the rest in order


def test_duplicates_have_identical_bodies(hooked: QboEmulator, us: Api, receiver: Receiver) -> None:
    hooked.set_webhook(hooked.DEFAULT_CLIENT_ID, receiver.url, format="cloudevents", entities=["Customer"])
    hooked.duplicate_webhooks(count=1)
    ids = customers(us, 2)
    assert hooked.webhooks.wait_idle(10)
    bodies = [body for _, body in receiver.calls]
    assert len(bodies) == 3
    assert bodies[0] == bodies[1]  # the same CloudEvents ids: a consumer can dedupe
    assert [json.loads(body)[0]["intuitentityid"] for body in bodies] == [ids[0], ids[0], ids[1]]
    assert [d.duplicate for d in hooked.webhooks.deliveries] == [False, True, False]


def test_duplicate_a_fraction(hooked: QboEmulator, us: Api, receiver: Receiver) -> None:
    hooked.set_webhook_delivery(duplicate=0.5, seed=3)
    ids = customers(us, 20)
    assert hooked.webhooks.wait_idle(10)
    delivered = delivered_ids(receiver)
    assert set(delivered) == set(ids)
    assert 20 < len(delivered) < 40


def test_delay_holds_each_notification(hooked: QboEmulator, us: Api, receiver: Receiver) -> None:
    hooked.delay_webhooks(0.5)
    started = time.monotonic()
    customers(us, 1)
    time.sleep(0.2)
    assert receiver.calls == []
    assert hooked.webhooks.wait_idle(10)
    assert len(receiver.calls) == 1
    assert time.monotonic() - started >= 0.5


def test_reorder_shuffles_a_window(hooked: QboEmulator, us: Api, receiver: Receiver) -> None:
    hooked.set_webhook_delivery(reorder=6, seed=11)
    ids = customers(us, 6)
    assert hooked.webhooks.wait_idle(10)
    delivered = delivered_ids(receiver)
    assert sorted(delivered, key=int) == ids
    assert delivered != ids  # seed 11 does shuffle these six


def test_reorder_holds_until_released(hooked: QboEmulator, us: Api, receiver: Receiver) -> None:
    hooked.reorder_webhooks(100)
    ids = customers(us, 3)
    assert hooked.webhooks.wait_idle(5)
    assert receiver.calls == []
    assert hooked.webhooks.held == 3
    hooked.release_webhooks()
    assert hooked.webhooks.wait_idle(10)
    assert sorted(delivered_ids(receiver), key=int) == ids
    assert hooked.webhooks.held == 0


def run_with_seed(seed: int) -> tuple[list[str], list[str]]:
    """Deliver 20 changes with every knob on; returns (delivered ids in order, dropped ids)."""
    import httpx

    from tests.emulators.qbo.helpers import connect

    with QboEmulator() as emu, httpx.Client(timeout=10) as http:
        emu.set_throttling(enabled=False)
        api = Api(http, emu, connect(http, emu, emu.US_REALM))
        rec = Receiver()
        try:
            emu.set_webhook(emu.DEFAULT_CLIENT_ID, rec.url, entities=["Customer"])
            emu.set_webhook_delivery(drop=0.2, duplicate=0.2, reorder=5, seed=seed)
            ids = customers(api, 20)
            emu.release_webhooks()
            assert emu.webhooks.wait_idle(10)
            position = {entity_id: index for index, entity_id in enumerate(ids)}
            return (
                [str(position[i]) for i in delivered_ids(rec)],
                [str(position[e[0].entity_id]) for e in emu.webhooks.dropped],
            )
        finally:
            rec.server.shutdown()
            rec.server.server_close()


def test_a_seed_reproduces_the_same_run() -> None:
    first, second, other = run_with_seed(5), run_with_seed(5), run_with_seed(6)
    assert first == second
    assert first != other
    delivered, dropped = first
    assert dropped
    assert len(delivered) != len(set(delivered))  # something was duplicated
    assert set(delivered) | set(dropped) == {str(i) for i in range(20)}


@pytest.mark.parametrize(
    ("knob", "value"), [("drop", 1.5), ("duplicate", -0.1), ("delay", -1), ("reorder", -2)], ids=str
)
def test_bad_knob_values_are_refused(emu: QboEmulator, knob: str, value: Any) -> None:
    with pytest.raises(ValueError):
        getattr(emu.webhooks, knob)(value)


def test_reset_turns_everything_off_and_releases(hooked: QboEmulator, us: Api, receiver: Receiver) -> None:
    hooked.set_webhook_delivery(drop=0.0, duplicate=1.0, reorder=50, delay=0.1)
    customers(us, 2)
    hooked.webhooks.reset_knobs()
    assert hooked.webhooks.wait_idle(10)
    assert len(receiver.calls) == 4  # the two held, each duplicated
    receiver.calls.clear()
    customers(us, 1)
    assert hooked.webhooks.wait_idle(10)
    assert len(receiver.calls) == 1
