"""Signed webhook delivery, in Intuit's legacy shape or as CloudEvents.

One ordered queue per subscribed app: a notification that is not answered with HTTP 200 within
``timeout`` seconds is retried on Intuit's schedule (0 s, 10 s, 20 s, 30 s, 5 min, 20 min, 2 h, 4 h,
6 h), and later notifications wait behind it. ``time_scale`` shrinks the schedule for tests. Only
companies the app is connected to produce notifications. The ``intuit-signature`` header is the
base64 HMAC-SHA256 of the raw body keyed with the app's verifier token.

Delivery knobs (what a webhook consumer must survive; decisions come from one seeded random generator,
so a run is reproducible with ``seed(n)``):

* ``drop(fraction=, count=)``: a fraction of notifications, or the next ``count``, are never delivered
  (kept in ``dropped``);
* ``duplicate(fraction=, count=)``: a notification is delivered twice, with the identical body (the
  same CloudEvents ids), as after an Intuit retry;
* ``delay(seconds)``: each notification goes out no sooner than ``seconds`` after its change;
* ``reorder(window)``: notifications are held until ``window`` of them are waiting, then delivered in
  shuffled order; ``release()`` delivers (shuffled) whatever is held; ``reorder(0)`` turns it off.
  Held notifications do not count for ``wait_idle``: call ``release()`` first.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import random
import threading
import time
import urllib.error
import urllib.request
import uuid
from collections import deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Literal

from local.qbo_emulator import jsonutil
from local.qbo_emulator.api import Event

WebhookFormat = Literal["legacy", "cloudevents"]
INTUIT_RETRY_SCHEDULE = (0.0, 10.0, 20.0, 30.0, 300.0, 1200.0, 7200.0, 14400.0, 21600.0)
VERBS = {
    "Create": "created",
    "Update": "updated",
    "Delete": "deleted",
    "Void": "voided",
    "Emailed": "emailed",
    "Merge": "merged",
}


def sign(body: bytes, verifier_token: str) -> str:
    digest = hmac.new(verifier_token.encode("utf-8"), body, hashlib.sha256).digest()
    return base64.b64encode(digest).decode("ascii")


@dataclass
class Subscription:
    client_id: str
    url: str
    verifier_token: str
    format: WebhookFormat = "legacy"
    entities: frozenset[str] | None = None  # None: every entity


@dataclass
class Delivery:
    """One attempt to deliver one notification."""

    client_id: str
    url: str
    body: bytes
    headers: dict[str, str]
    attempt: int
    status: int | None
    error: str | None
    events: list[Event]
    duplicate: bool = False  # the second delivery made by the duplicate knob

    @property
    def ok(self) -> bool:
        return self.status == 200


def _utc(moment: datetime, nanos: bool = False) -> str:
    value = moment.astimezone(UTC)
    if nanos:
        return value.strftime("%Y-%m-%dT%H:%M:%S.") + f"{value.microsecond:06d}000Z"
    return value.strftime("%Y-%m-%dT%H:%M:%S.") + f"{value.microsecond // 1000:03d}Z"


def legacy_payload(events: Iterable[Event]) -> dict[str, Any]:
    by_realm: dict[str, list[dict[str, Any]]] = {}
    for event in events:
        entry: dict[str, Any] = {
            "name": event.entity,
            "id": event.entity_id,
            "operation": event.operation,
            "lastUpdated": _utc(event.at),
        }
        if event.deleted_id is not None:
            entry["deletedId"] = event.deleted_id
        by_realm.setdefault(event.realm_id, []).append(entry)
    return {
        "eventNotifications": [
            {"realmId": realm_id, "dataChangeEvent": {"entities": entities}} for realm_id, entities in by_realm.items()
        ]
    }


def cloudevents_payload(
    events: Iterable[Event], client_id: str, event_ids: list[str] | None = None
) -> list[dict[str, Any]]:
    out = []
    for index, event in enumerate(events):
        item: dict[str, Any] = {
            "specversion": "1.0",
            "id": event_ids[index] if event_ids is not None else str(uuid.uuid4()),
            "source": f"intuit.{client_id[:12]}",
            "type": f"qbo.{event.entity.lower()}.{VERBS.get(event.operation, event.operation.lower())}.v1",
            "datacontenttype": "application/json",
            "time": _utc(event.at, nanos=True),
            "intuitentityid": event.entity_id,
            "intuitaccountid": event.realm_id,
            "data": {},
        }
        if event.deleted_id is not None:
            item["intuitdeletedentityid"] = event.deleted_id
        out.append(item)
    return out


@dataclass
class Notification:
    """One POST's worth of events. CloudEvents ids are fixed when the change happens, so a duplicate or
    a retry carries the same ids."""

    events: list[Event]
    event_ids: list[str]
    not_before: float = 0.0  # time.monotonic() before which it is not delivered (delay knob)
    duplicate: bool = False


@dataclass
class DeliveryKnobs:
    drop_fraction: float = 0.0
    drop_count: int = 0
    duplicate_fraction: float = 0.0
    duplicate_count: int = 0
    delay_seconds: float = 0.0
    reorder_window: int = 0  # 0: in order


@dataclass
class _Queue:
    subscription: Subscription
    pending: deque[Notification] = field(default_factory=deque)
    held: list[Notification] = field(default_factory=list)  # reorder knob
    busy: bool = False
    thread: threading.Thread | None = None


class WebhookDispatcher:
    def __init__(self, connected: Callable[[str, str], bool]) -> None:
        self._connected = connected
        self._lock = threading.Condition()
        self._queues: dict[str, _Queue] = {}
        self._deliveries: list[Delivery] = []
        self._stopped = False
        self.retry_schedule: tuple[float, ...] = INTUIT_RETRY_SCHEDULE
        self.time_scale = 1.0
        self.timeout = 3.0
        self.knobs = DeliveryKnobs()
        self._random = random.Random(0)
        self._dropped: list[Notification] = []

    # --- configuration -----------------------------------------------------------------------

    def subscribe(self, subscription: Subscription) -> None:
        with self._lock:
            queue = self._queues.get(subscription.client_id)
            if queue is None:
                self._queues[subscription.client_id] = _Queue(subscription)
            else:
                queue.subscription = subscription

    def subscription(self, client_id: str) -> Subscription | None:
        """The app's current subscription (None: not subscribed)."""
        with self._lock:
            queue = self._queues.get(client_id)
            return queue.subscription if queue is not None else None

    def unsubscribe(self, client_id: str) -> None:
        with self._lock:
            queue = self._queues.pop(client_id, None)
            if queue is not None:
                queue.pending.clear()
                queue.held.clear()
            self._lock.notify_all()

    # --- delivery knobs ------------------------------------------------------------------------

    def seed(self, value: int) -> None:
        """Seed the generator behind drop, duplicate and reorder decisions."""
        with self._lock:
            self._random.seed(value)

    def drop(self, fraction: float = 0.0, count: int = 0) -> None:
        """Never deliver a fraction (0..1) of the notifications from now on, and/or the next `count`."""
        _check_fraction(fraction)
        with self._lock:
            self.knobs.drop_fraction, self.knobs.drop_count = float(fraction), int(count)

    def duplicate(self, fraction: float = 0.0, count: int = 0) -> None:
        """Deliver a fraction (0..1) of the notifications twice, and/or the next `count`."""
        _check_fraction(fraction)
        with self._lock:
            self.knobs.duplicate_fraction, self.knobs.duplicate_count = float(fraction), int(count)

    def delay(self, seconds: float) -> None:
        """Deliver each notification no sooner than `seconds` after the change (0: at once)."""
        if seconds < 0:
            raise ValueError("delay is a number of seconds >= 0")
        with self._lock:
            self.knobs.delay_seconds = float(seconds)

    def reorder(self, window: int) -> None:
        """Hold notifications until `window` are waiting, then deliver them shuffled (0: in order again,
        and what is held goes out)."""
        if window < 0:
            raise ValueError("window is a number of notifications >= 0")
        with self._lock:
            self.knobs.reorder_window = int(window)
            if window == 0:
                self._release_all()

    def release(self) -> None:
        """Deliver the notifications the reorder knob holds, in shuffled order."""
        with self._lock:
            self._release_all()

    def reset_knobs(self) -> None:
        """Every knob off (held notifications are released); the generator is left as it is."""
        with self._lock:
            self.knobs = DeliveryKnobs()
            self._release_all()

    @property
    def held(self) -> int:
        with self._lock:
            return sum(len(queue.held) for queue in self._queues.values())

    @property
    def dropped(self) -> list[list[Event]]:
        """The events of every notification the drop knob swallowed."""
        with self._lock:
            return [list(note.events) for note in self._dropped]

    def _release_all(self) -> None:
        for queue in self._queues.values():
            self._release(queue)

    def _release(self, queue: _Queue) -> None:
        if not queue.held:
            return
        held, queue.held = queue.held, []
        self._random.shuffle(held)
        queue.pending.extend(held)
        self._ensure_worker(queue)
        self._lock.notify_all()

    def _decide(self, fraction: float, count_name: str) -> bool:
        count = getattr(self.knobs, count_name)
        if count > 0:
            setattr(self.knobs, count_name, count - 1)
            return True
        return fraction > 0 and self._random.random() < fraction

    def _admit(self, queue: _Queue, events: list[Event]) -> None:
        note = Notification(
            events, [str(uuid.uuid4()) for _ in events], not_before=time.monotonic() + self.knobs.delay_seconds
        )
        if self._decide(self.knobs.drop_fraction, "drop_count"):
            self._dropped.append(note)
            return
        notes = [note]
        if self._decide(self.knobs.duplicate_fraction, "duplicate_count"):
            notes.append(Notification(note.events, note.event_ids, note.not_before, duplicate=True))
        if self.knobs.reorder_window > 0:
            queue.held.extend(notes)
            if len(queue.held) >= self.knobs.reorder_window:
                self._release(queue)
            return
        queue.pending.extend(notes)
        self._ensure_worker(queue)

    # --- events --------------------------------------------------------------------------------

    def publish(self, events: list[Event]) -> None:
        if not events:
            return
        with self._lock:
            if self._stopped:
                return
            for queue in self._queues.values():
                sub = queue.subscription
                chosen = [
                    event
                    for event in events
                    if (sub.entities is None or event.entity in sub.entities)
                    and self._connected(event.realm_id, sub.client_id)
                ]
                if chosen:
                    self._admit(queue, chosen)
            self._lock.notify_all()

    def _ensure_worker(self, queue: _Queue) -> None:
        if queue.thread is None or not queue.thread.is_alive():
            queue.thread = threading.Thread(target=self._work, args=(queue,), name="qbo-webhooks", daemon=True)
            queue.thread.start()

    def _work(self, queue: _Queue) -> None:
        while True:
            with self._lock:
                while not queue.pending and not self._stopped:
                    if not self._lock.wait(timeout=1.0) and not queue.pending:
                        queue.busy = False
                        self._lock.notify_all()
                        queue.thread = None
                        return
                if self._stopped:
                    return
                batch = queue.pending[0]
                queue.busy = True
                sub = queue.subscription
            wait = batch.not_before - time.monotonic()
            if wait > 0 and not self._sleep(wait):  # stopped while delaying: keep it for resume()
                with self._lock:
                    queue.busy = False
                    queue.thread = None
                    self._lock.notify_all()
                return
            self._deliver(sub, batch)
            with self._lock:
                if queue.pending and queue.pending[0] is batch:
                    queue.pending.popleft()
                queue.busy = False
                self._lock.notify_all()

    def _deliver(self, sub: Subscription, note: Notification) -> None:
        events = note.events
        payload: Any = (
            cloudevents_payload(events, sub.client_id, note.event_ids)
            if sub.format == "cloudevents"
            else legacy_payload(events)
        )
        body = jsonutil.dumps(payload).encode("utf-8")
        headers = {
            "Content-Type": "application/json",
            "intuit-signature": sign(body, sub.verifier_token),
            "User-Agent": "QBO-emulator-webhooks",
            "intuit-created-time": _utc(datetime.now(UTC)),
            "intuit-t-id": str(uuid.uuid4()),
        }
        for attempt, delay in enumerate(self.retry_schedule, start=1):
            if delay and not self._sleep(delay * self.time_scale):
                return
            status: int | None = None
            error: str | None = None
            request = urllib.request.Request(sub.url, data=body, headers=headers, method="POST")  # noqa: S310
            try:
                with urllib.request.urlopen(request, timeout=self.timeout) as response:  # noqa: S310
                    status = response.status
            except urllib.error.HTTPError as exc:
                status = exc.code
            except (urllib.error.URLError, OSError, TimeoutError) as exc:
                error = str(exc)
            with self._lock:
                self._deliveries.append(
                    Delivery(
                        sub.client_id,
                        sub.url,
                        body,
                        dict(headers),
                        attempt,
                        status,
                        error,
                        list(events),
                        note.duplicate,
                    )
                )
                self._lock.notify_all()
            if status == 200:
                return

    def _sleep(self, seconds: float) -> bool:
        deadline = time.monotonic() + seconds
        with self._lock:
            while not self._stopped:
                left = deadline - time.monotonic()
                if left <= 0:
                    return True
                self._lock.wait(timeout=left)
            return False

    # --- observation ---------------------------------------------------------------------------

    @property
    def deliveries(self) -> list[Delivery]:
        with self._lock:
            return list(self._deliveries)

    def clear_deliveries(self) -> None:
        with self._lock:
            self._deliveries.clear()

    def wait_idle(self, timeout: float = 10.0) -> bool:
        """Block until every queued notification was delivered or given up; False on timeout."""
        deadline = time.monotonic() + timeout
        with self._lock:
            while any(q.pending or q.busy for q in self._queues.values()):
                left = deadline - time.monotonic()
                if left <= 0:
                    return False
                self._lock.wait(timeout=min(left, 0.1))
            return True

    def stop(self) -> None:
        with self._lock:
            self._stopped = True
            self._lock.notify_all()

    def resume(self) -> None:
        with self._lock:
            self._stopped = False
            for queue in self._queues.values():
                if queue.pending:
                    self._ensure_worker(queue)


def _check_fraction(fraction: float) -> None:
    if not 0.0 <= fraction <= 1.0:
        raise ValueError("fraction is between 0 and 1")
