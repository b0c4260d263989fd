"""The published request limits a bulk copy job shares with every worker of the same QuickBooks
company and Productive organization (docs/architecture.md "Copy jobs"), as token buckets: a bucket
holds at most `capacity` requests and refills at `per_second`; a request waits for its token.

Each bucket keeps under its limit in any window of the limit's length, bursts included:
capacity + per_second x window <= the limit.

- QuickBooks, per company (realm): 500 requests a minute and 10 a second, batch requests included;
  40 batch requests a minute per app (and 120 per company, which one app never reaches first).
- Productive: 100 requests per 10 s per API token (one per connection), 4,000 per 30 minutes per
  organization."""

from __future__ import annotations

from contextlib import AbstractContextManager
from dataclasses import dataclass
from typing import Protocol


@dataclass(frozen=True)
class Bucket:
    key: str
    capacity: int
    per_second: float
    #: A worker takes up to this many tokens in one write, to spend within `reserve_seconds`: a token
    #: spent late shifts a request by at most that much, small next to the limit's window.
    reserve: int = 4
    reserve_seconds: float = 0.5


def quickbooks_requests(realm_id: str) -> Bucket:
    # 2 at once, then 8 a second: at most 2 + 8 = 10 in any second, 2 + 480 = 482 in any minute.
    return Bucket(f"QBO#{realm_id}", capacity=2, per_second=8.0, reserve=2, reserve_seconds=0.25)


def quickbooks_batches(realm_id: str) -> Bucket:
    # 5 at once, then 35 a minute: at most 40 in any minute.
    return Bucket(f"QBOBATCH#{realm_id}", capacity=5, per_second=35 / 60, reserve=1)


def productive_token(connection_id: str) -> Bucket:
    # 10 at once, then 9 a second: at most 10 + 90 = 100 in any 10 s.
    return Bucket(f"PRODUCTIVE#{connection_id}", capacity=10, per_second=9.0)


def productive_organization(organization_id: str) -> Bucket:
    # 3,000 at once, then one every 2 s: at most 3,000 + 900 = 3,900 in any 30 minutes. A month-end job
    # (500 invoices, about 1,000 requests) never waits on it.
    return Bucket(f"PRODUCTIVEORG#{organization_id}", capacity=3000, per_second=0.5, reserve=50, reserve_seconds=10)


class RateBudget(Protocol):
    def applying(self, *, realm_id: str, connection_id: str, organization_id: str) -> AbstractContextManager[None]:
        """Inside, every QuickBooks and Productive request (retries included) first takes its tokens
        from the buckets of this company, connection and organization, shared by every worker."""
        ...
