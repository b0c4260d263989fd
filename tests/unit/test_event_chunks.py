"""Events on the queue in chunks: the message format (qbosync.domain.events) and the worker's fan-out of
a chunk (qbosync.services.payment_sync.PaymentEventWorker): every event handled once, a failure of one
event neither loses nor repeats the others, a poison event ends alone in a message that fails whole."""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

import pytest

from qbosync.domain.errors import UpstreamUnavailable
from qbosync.domain.events import (
    MAX_MESSAGE_BYTES,
    Budget,
    ChunkFailed,
    EntityEvent,
    QueuedItem,
    QueueUnavailable,
    UnreadableEvent,
    UnreadableMessage,
    decode_message,
    encode_chunks,
)
from qbosync.services.payment_sync import PaymentEventWorker, SyncReport
from tests.fakes import InMemoryEventQueue

REALM = "9130350000000001"


def event(number: int, **changes: Any) -> EntityEvent:
    fields: dict[str, Any] = {
        "realm_id": REALM,
        "entity": "Payment",
        "entity_id": str(number),
        "operation": "update",
        "occurred_at": datetime(2026, 7, 15, 12, tzinfo=UTC),
        "event_id": f"ev-{number}",
        **changes,
    }
    return EntityEvent(**fields)


# --------------------------------------------------------------------------- the message format


def test_chunks_hold_every_event_once_in_order() -> None:
    events = [event(n) for n in range(250)]
    bodies = encode_chunks(events)
    assert [len(decode_message(body)) for body in bodies] == [100, 100, 50]
    assert [item for body in bodies for item in decode_message(body)] == events


def test_chunks_stay_within_their_byte_limit() -> None:
    events = [event(n, event_id=f"{n}-" + "x" * 190) for n in range(300)]
    bodies = encode_chunks(events, max_bytes=10_000)
    assert all(len(body.encode()) <= 10_000 for body in bodies)
    assert [item for body in bodies for item in decode_message(body)] == events


def test_an_item_larger_than_a_chunk_travels_alone() -> None:
    huge = UnreadableEvent({"blob": "y" * 30_000}, "not an entity event")
    bodies = encode_chunks([event(1), huge, event(2)])
    assert len(bodies) == 3
    assert all(len(body.encode()) <= MAX_MESSAGE_BYTES for body in bodies)


def test_a_single_event_message_from_before_chunks_is_still_read() -> None:
    assert decode_message(event(7).model_dump_json()) == [event(7)]


def test_an_element_that_is_not_an_event_is_kept_as_it_came() -> None:
    body = json.dumps({"events": [json.loads(event(1).model_dump_json()), {"realm_id": "x", "entity": 5}, 42]})
    first, second, third = decode_message(body)
    assert first == event(1)
    assert isinstance(second, UnreadableEvent)
    assert second.raw == {"realm_id": "x", "entity": 5}
    assert isinstance(third, UnreadableEvent)
    assert third.raw == 42
    # sent on again, it comes back the same
    assert decode_message(encode_chunks([second])[0]) == [second]


@pytest.mark.parametrize(
    "body",
    ['{"realm_id": "x", "entity": ', "", "[]", '{"events": {}}', '{"events": [], "more": 1}', '{"realm_id": "x"}'],
)
def test_a_message_that_is_neither_a_chunk_nor_an_event_is_refused(body: str) -> None:
    with pytest.raises(UnreadableMessage):
        decode_message(body)


def test_a_message_nested_too_deeply_is_refused_not_a_crash() -> None:
    with pytest.raises(UnreadableMessage):
        decode_message("[" * 100_000 + "]" * 100_000)


# --------------------------------------------------------------------------- the worker's fan-out


class FakeSync:
    """PaymentSyncService.handle: events whose entity id is in `poison` always fail, those in `flaky`
    fail the given number of times."""

    def __init__(self, poison: Sequence[int] = (), flaky: dict[int, int] | None = None, seconds: float = 0.0) -> None:
        self.poison = {str(n) for n in poison}
        self.flaky = {str(n): times for n, times in (flaky or {}).items()}
        self.handled: list[str] = []
        self.attempts: list[str] = []
        self.seconds = seconds
        self.clock: list[float] | None = None

    def handle(self, item: EntityEvent) -> SyncReport:
        self.attempts.append(item.entity_id)
        if self.clock is not None:
            self.clock[0] -= self.seconds
        if item.entity_id in self.poison:
            raise RuntimeError("poison")
        if self.flaky.get(item.entity_id, 0) > 0:
            self.flaky[item.entity_id] -= 1
            raise UpstreamUnavailable("throttled", service="quickbooks")
        self.handled.append(item.entity_id)
        return SyncReport(created=1)


def worker(sync: FakeSync, queue: InMemoryEventQueue) -> PaymentEventWorker:
    return PaymentEventWorker(sync=sync, queue=queue, retry_delay_seconds=30)  # type: ignore[arg-type]


def plenty() -> Budget:
    return Budget(lambda: 80.0)


def test_every_event_of_a_chunk_is_handled_once() -> None:
    sync, queue = FakeSync(), InMemoryEventQueue()
    outcome = worker(sync, queue).handle_message([event(n) for n in range(100)], plenty())
    assert sync.handled == [str(n) for n in range(100)]
    assert len(outcome.handled) == 100
    assert queue.messages == []


def test_one_failing_event_goes_back_alone_and_later() -> None:
    sync, queue = FakeSync(flaky={5: 1}), InMemoryEventQueue()
    outcome = worker(sync, queue).handle_message([event(n) for n in range(10)], plenty())
    assert sync.handled == [str(n) for n in range(10) if n != 5]
    assert [reason for _, reason in outcome.failed] == ["upstream_unavailable"]
    assert queue.messages == [([event(5)], 30)]
    assert outcome.requeued == 1
    # the message it became succeeds next time, and nothing else is repeated
    worker(sync, queue).handle_message(queue.messages[0][0], plenty())
    assert sorted(sync.handled, key=int) == [str(n) for n in range(10)]


def test_a_poison_event_ends_alone_in_a_message_that_fails_whole() -> None:
    sync, queue = FakeSync(poison=[3]), InMemoryEventQueue()
    chunk: list[QueuedItem] = [event(n) for n in range(6)]
    worker(sync, queue).handle_message(chunk, plenty())
    ((left, delay),) = queue.messages
    assert left == [event(3)]
    assert delay == 30
    for _ in range(5):  # SQS brings the message back until its maximum receives, then the DLQ
        with pytest.raises(ChunkFailed) as failed:
            worker(sync, queue).handle_message(left, plenty())
        assert failed.value.details == {"failed": 1, "reasons": ["RuntimeError"]}
    assert len(queue.messages) == 1  # never sent again by the worker: SQS counts its receives
    assert sync.handled == ["0", "1", "2", "4", "5"]


def test_unreadable_elements_of_a_chunk_are_poison_too() -> None:
    sync, queue = FakeSync(), InMemoryEventQueue()
    bad = UnreadableEvent({"realm_id": "x"}, "not an entity event")
    worker(sync, queue).handle_message([event(1), bad, event(2)], plenty())
    assert sync.handled == ["1", "2"]
    assert queue.messages == [([bad], 30)]
    with pytest.raises(ChunkFailed):
        worker(sync, queue).handle_message([bad], plenty())


def test_a_chunk_whose_every_event_fails_is_retried_whole_by_sqs() -> None:
    sync, queue = FakeSync(flaky={1: 1, 2: 1}), InMemoryEventQueue()
    with pytest.raises(ChunkFailed):
        worker(sync, queue).handle_message([event(1), event(2)], plenty())
    assert queue.messages == []
    worker(sync, queue).handle_message([event(1), event(2)], plenty())  # the next receive
    assert sync.handled == ["1", "2"]


def test_a_single_event_message_fails_as_before() -> None:
    sync, queue = FakeSync(flaky={1: 1}), InMemoryEventQueue()
    with pytest.raises(ChunkFailed):
        worker(sync, queue).handle_message(decode_message(event(1).model_dump_json()), plenty())
    assert queue.messages == []


def test_what_is_not_started_before_the_reserve_goes_back_at_once() -> None:
    left = [60.0]
    sync, queue = FakeSync(seconds=10.0), InMemoryEventQueue()
    sync.clock = left
    budget = Budget(lambda: left[0], reserve=30.0)
    outcome = worker(sync, queue).handle_message([event(n) for n in range(10)], budget)
    assert sync.handled == ["0", "1", "2"]  # 60 s, 50 s, 40 s left when they started
    assert queue.messages == [([event(n) for n in range(3, 10)], 0)]
    assert outcome.not_started == [event(n) for n in range(3, 10)]
    # the next message of the same invocation does not start at all, and is not a failure
    later = worker(sync, queue).handle_message([event(20)], budget)
    assert later.not_started == [event(20)]
    assert queue.messages[-1] == ([event(20)], 0)


def test_every_invocation_starts_at_least_one_event() -> None:
    sync, queue = FakeSync(), InMemoryEventQueue()
    worker(sync, queue).handle_message([event(1), event(2)], Budget(lambda: 5.0, reserve=30.0))
    assert sync.handled == ["1"]
    assert queue.messages == [([event(2)], 0)]


def test_not_started_events_go_first_so_a_slow_failure_cannot_starve_them() -> None:
    left = [40.0]
    sync, queue = FakeSync(poison=[1], seconds=20.0), InMemoryEventQueue()
    sync.clock = left
    worker(sync, queue).handle_message([event(1), event(2), event(3)], Budget(lambda: left[0], reserve=30.0))
    assert queue.messages == [([event(2), event(3), event(1)], 30)]
    left[0] = 80.0
    sync.clock = None
    worker(sync, queue).handle_message(queue.messages[0][0], Budget(lambda: left[0], reserve=30.0))
    assert sync.handled == ["2", "3"]
    assert queue.messages[-1] == ([event(1)], 30)


def test_when_the_rest_cannot_be_queued_again_the_message_is_retried_whole() -> None:
    sync, queue = FakeSync(poison=[2]), InMemoryEventQueue(fail=True)
    with pytest.raises(QueueUnavailable):
        worker(sync, queue).handle_message([event(1), event(2)], plenty())
    assert sync.handled == ["1"]  # handled again on the retry: harmless, the worker reads current state
