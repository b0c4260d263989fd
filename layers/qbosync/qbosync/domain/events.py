"""What travels on the payment events queue: one change of one QuickBooks entity, normalised from
either webhook format (legacy eventNotifications or CloudEvents) or from a CDC sweep.

The event says only *that* something changed: the worker reads the entity's current state from
QuickBooks, so the order and duplicates of events do not matter.

On the queue, events travel in chunks, one message per chunk: ``{"events": [<event>, ...]}``, so a
delivery of 20,000 events is 200 messages (20 SendMessageBatch calls), not 20,000. A message that is a
single event (what was queued before chunks) is still read."""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Final, Literal, Protocol

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from qbosync.domain.errors import DomainError

Operation = Literal["create", "update", "delete", "void", "merge", "emailed"]

#: SQS's limit for one message, and for all the messages of one SendMessageBatch call together.
MAX_MESSAGE_BYTES: Final = 256 * 1024
#: A chunk holds at most this many events, so the worker gets through one well within its Timeout...
CHUNK_MAX_EVENTS: Final = 100
#: ...and at most this many bytes, so that ten chunks fill one SendMessageBatch call.
CHUNK_MAX_BYTES: Final = MAX_MESSAGE_BYTES // 10


class EntityEvent(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    realm_id: str = Field(min_length=1, max_length=32)
    entity: str = Field(min_length=1, max_length=40, description="QuickBooks entity name, e.g. Payment, Invoice")
    entity_id: str = Field(min_length=1, max_length=40)
    operation: Operation
    occurred_at: datetime
    event_id: str = Field(min_length=1, max_length=200, description="CloudEvents id, or a digest for legacy events")
    source: Literal["webhook", "reconcile"] = "webhook"


@dataclass(frozen=True)
class UnreadableEvent:
    """An element of a queued chunk that is not an EntityEvent. It is kept as it came (a JSON value),
    so that it can travel on alone and end in the dead-letter queue, where somebody can look at it."""

    raw: Any
    problem: str


QueuedItem = EntityEvent | UnreadableEvent


class UnreadableMessage(ValueError):
    """A queue message that is neither a chunk nor an event (it fails, and so ends in the DLQ)."""


def encode_chunks(
    items: Sequence[QueuedItem], *, max_events: int = CHUNK_MAX_EVENTS, max_bytes: int = CHUNK_MAX_BYTES
) -> list[str]:
    """Message bodies holding every item once, in order: at most `max_events` items and `max_bytes`
    bytes (UTF-8) per message; an item larger than `max_bytes` goes alone."""
    bodies: list[str] = []
    parts: list[str] = []
    size = 0
    overhead = len('{"events":[]}')
    for item in items:
        part = item.model_dump_json() if isinstance(item, EntityEvent) else json.dumps(item.raw)
        part_size = len(part.encode("utf-8")) + 1  # and its comma
        if parts and (len(parts) >= max_events or overhead + size + part_size > max_bytes):
            bodies.append(_chunk(parts))
            parts, size = [], 0
        parts.append(part)
        size += part_size
    if parts:
        bodies.append(_chunk(parts))
    return bodies


def _chunk(parts: list[str]) -> str:
    return '{"events":[' + ",".join(parts) + "]}"


def decode_message(body: str) -> list[QueuedItem]:
    """The items of one queue message: every element of a chunk (an element that is not an event
    becomes an UnreadableEvent, alone), or the one event of a single-event message. Raises
    UnreadableMessage for anything else."""
    try:
        message = json.loads(body)
    except (ValueError, RecursionError) as error:
        raise UnreadableMessage("the message is not JSON") from error
    if isinstance(message, dict) and set(message) == {"events"} and isinstance(message["events"], list):
        return [_item(element) for element in message["events"]]
    try:
        return [EntityEvent.model_validate(message)]
    except ValidationError as error:
        raise UnreadableMessage("the message is neither a chunk of events nor an event") from error


def _item(element: Any) -> QueuedItem:
    try:
        return EntityEvent.model_validate(element)
    except ValidationError as error:
        fields = ",".join(sorted({str(problem["loc"][0]) for problem in error.errors() if problem["loc"]}))
        return UnreadableEvent(element, f"not an entity event ({fields or 'not an object'})")


# No event of a chunk starts once the invocation has less time than this left (the worker's Timeout is
# 90 s): the rest goes back on the queue rather than being cut off mid-write by the Timeout.
EVENT_TIME_RESERVE_SECONDS = 30.0


class Budget:
    """One invocation's time. Its first event always starts, so that every invocation makes progress;
    after that an event starts only while more than `reserve` seconds are left."""

    def __init__(self, seconds_left: Callable[[], float], reserve: float = EVENT_TIME_RESERVE_SECONDS) -> None:
        self._seconds_left = seconds_left
        self._reserve = reserve
        self.started = 0

    def start_another(self) -> bool:
        if self.started and self._seconds_left() <= self._reserve:
            return False
        self.started += 1
        return True


class ChunkFailed(DomainError):
    """Every event of a queued message failed: the message is retried whole (and after the queue's
    maximum receives it moves to the dead-letter queue)."""

    code = "chunk_failed"


# --------------------------------------------------------------------------- the queue and its port


class QueueUnavailable(DomainError):
    """The payment events queue did not take every event, even after retrying the rejected ones."""

    code = "queue_unavailable"


class EventQueue(Protocol):
    """The payment events queue (qbosync.adapters.sqs), the one way events reach the payment sync
    worker: the webhook and reconcile send to it, and the worker sends back what is left of a chunk it
    could not finish."""

    def send(self, events: Sequence[QueuedItem], *, delay_seconds: int = 0) -> None:
        """Queue every event (in chunks) or raise QueueUnavailable (some may then have been queued: the
        worker reads current state, so a resend after a failure is harmless)."""
        ...
