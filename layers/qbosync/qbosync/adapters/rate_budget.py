"""The RateBudget port (qbosync.domain.rate_limits): token buckets in the single table, shared by
every worker, taken by an httpx request hook.

- RATE#<bucket key> / BUCKET   tokens left, when they were counted, and a version for optimistic writes

A worker takes a few tokens at a time (`Bucket.reserve`) and spends them within `Bucket.reserve_seconds`,
so most requests cost no DynamoDB call; what it did not spend by then is dropped, never saved up."""

from __future__ import annotations

import contextvars
import math
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import httpx
from botocore.exceptions import ClientError

from qbosync.adapters.dynamodb_common import is_conditional_failure
from qbosync.domain.ports import Clock
from qbosync.domain.rate_limits import (
    Bucket,
    productive_organization,
    productive_token,
    quickbooks_batches,
    quickbooks_requests,
)


@dataclass
class _Reservation:
    tokens: int
    until: datetime


@dataclass(frozen=True)
class _Scope:
    realm_id: str
    connection_id: str
    organization_id: str


_scope: contextvars.ContextVar[_Scope | None] = contextvars.ContextVar("qbosync_rate_scope", default=None)


class DynamoRateBudget:
    def __init__(
        self,
        table: Any,
        clock: Clock,
        *,
        quickbooks_base_url: str,
        productive_base_url: str,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self._table = table
        self._clock = clock
        self._sleep = sleep
        self._quickbooks = quickbooks_base_url.rstrip("/")
        self._productive = productive_base_url.rstrip("/")
        self._lock = threading.Lock()
        self._reserved: dict[str, _Reservation] = {}
        self._written: dict[str, tuple[float, datetime | None, int]] = {}

    @contextmanager
    def applying(self, *, realm_id: str, connection_id: str, organization_id: str) -> Iterator[None]:
        token = _scope.set(_Scope(realm_id, connection_id, organization_id))
        try:
            yield
        finally:
            _scope.reset(token)

    def on_request(self, request: httpx.Request) -> None:
        """The httpx request hook: a request inside `applying` waits for its buckets' tokens."""
        scope = _scope.get()
        if scope is None:
            return
        url = str(request.url)
        if url.startswith(self._quickbooks):
            self.take(quickbooks_requests(scope.realm_id))
            if request.url.path.endswith("/batch"):
                self.take(quickbooks_batches(scope.realm_id))
        elif url.startswith(self._productive):
            self.take(productive_token(scope.connection_id))
            self.take(productive_organization(scope.organization_id))

    def take(self, bucket: Bucket) -> None:
        """One token of the bucket, waiting for it when there is none."""
        with self._lock:
            reservation = self._reserved.get(bucket.key)
            if reservation is not None and reservation.tokens > 0 and reservation.until > self._clock.now():
                reservation.tokens -= 1
                return
        while True:
            wait = self._reserve(bucket)
            if wait <= 0:
                return
            self._sleep(wait)

    def _reserve(self, bucket: Bucket) -> float:
        """Take one token and reserve up to `bucket.reserve` - 1 more; or the seconds until one is there.
        The bucket as this worker last wrote it is tried first, without reading: while one worker does
        most of the taking, a reservation costs one conditional write."""
        key = {"pk": f"RATE#{bucket.key}", "sk": "BUCKET"}
        with self._lock:
            state = self._written.pop(bucket.key, None)
        if state is None:
            item = self._table.get_item(Key=key, ConsistentRead=True).get("Item")
            state = (
                (float(bucket.capacity), None, 0)
                if item is None
                else (float(item["tokens"]), datetime.fromisoformat(str(item["counted_at"])), int(item["version"]))
            )
        tokens, counted_at, version = state
        now = self._clock.now()
        elapsed = 0.0 if counted_at is None else max(0.0, (now - counted_at).total_seconds())
        available = min(float(bucket.capacity), tokens + elapsed * bucket.per_second)
        if available < 1:
            with self._lock:
                self._written[bucket.key] = state  # still what the table holds, as far as we know
            return (1 - available) / bucket.per_second
        taken = min(bucket.reserve, math.floor(available))
        try:
            self._table.put_item(
                Item={
                    **key,
                    "type": "rate_bucket",
                    "tokens": str(available - taken),
                    "counted_at": now.isoformat(),
                    "version": version + 1,
                    "expires_at": int(now.timestamp()) + 86400,
                },
                ConditionExpression="attribute_not_exists(pk) OR version = :version",
                ExpressionAttributeValues={":version": version},
            )
        except ClientError as error:
            if is_conditional_failure(error):
                return 0.001  # another worker took tokens meanwhile: read and count again
            raise
        with self._lock:
            self._written[bucket.key] = (available - taken, now, version + 1)
        with self._lock:
            left = self._reserved.get(bucket.key)
            unused = left.tokens if left is not None and left.until > now else 0
            lifetime = timedelta(seconds=bucket.reserve_seconds)
            self._reserved[bucket.key] = _Reservation(unused + taken - 1, now + lifetime)
        return 0.0
