"""QuickBooks' batch request as the services see it (docs/architecture.md "QuickBooks batch"): at most
30 independent operations in one POST, each named by a `bId`, answered item by item. The adapter
(qbosync.adapters.quickbooks) speaks the wire format; the limits are checked here, once, for it and
for the fakes."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal

from qbosync.domain.errors import QuickBooksFault

BATCH_MAX_ITEMS = 30
# With a requestid (ours always carry one), QuickBooks allows bIds of at most 10 characters and a
# requestid of at most 36 (not the 50 of single writes).
BATCH_ID_MAX_LENGTH = 10
BATCH_REQUEST_ID_MAX_LENGTH = 36

BatchWriteOperation = Literal["create", "update"]


def _check_bid(bid: str) -> None:
    if not bid or len(bid) > BATCH_ID_MAX_LENGTH:
        raise ValueError(f"a batch item's bId must be 1 to {BATCH_ID_MAX_LENGTH} characters: {bid!r}")


@dataclass(frozen=True)
class BatchWrite:
    """Create or update one entity ("Invoice", "Customer"...); `payload` is QuickBooks JSON, and an
    update carries `Id` and `SyncToken` (and `"sparse": True` for a partial one), as for `update`."""

    bid: str
    entity: str
    payload: dict[str, Any]
    operation: BatchWriteOperation = "create"

    def __post_init__(self) -> None:
        _check_bid(self.bid)
        if self.operation not in ("create", "update"):
            raise ValueError(f"a batch write is a create or an update, not {self.operation!r}")


@dataclass(frozen=True)
class BatchQuery:
    """One SELECT, answered as one page: QuickBooks' default of 100 rows unless it sets MAXRESULTS
    (at most 1000)."""

    bid: str
    statement: str

    def __post_init__(self) -> None:
        _check_bid(self.bid)


BatchOperation = BatchWrite | BatchQuery


@dataclass(frozen=True)
class BatchItemFault:
    """The Fault QuickBooks answered for one item (inside an HTTP 200): its own code, message and
    detail, as QuickBooksFault carries them for a whole request."""

    code: str
    message: str
    detail: str = ""
    fault_type: str = ""
    element: str = ""

    def error(self) -> QuickBooksFault:
        """The same fault as the error a single call would have raised."""
        return QuickBooksFault(
            self.message,
            fault_code=self.code,
            fault_type=self.fault_type,
            detail=self.detail,
            element=self.element,
            http_status=200,
        )

    @property
    def is_conflict(self) -> bool:
        return self.error().is_conflict

    @property
    def is_refusal(self) -> bool:
        """QuickBooks refused this item and wrote nothing for it; a SystemFault leaves it unknown."""
        return self.error().is_refusal


#: One item's answer: the entity QuickBooks wrote (a write), its `QueryResponse` object (a query: see
#: `query_rows`), or its fault.
BatchAnswer = dict[str, Any] | BatchItemFault


def check_batch(operations: Sequence[BatchOperation], request_id: str) -> None:
    """Refuse (ValueError) what QuickBooks would refuse as a whole: no item, more than 30, a bId used
    twice, a requestid empty or longer than 36 characters."""
    if not operations:
        raise ValueError("a batch needs at least one operation")
    if len(operations) > BATCH_MAX_ITEMS:
        raise ValueError(f"a batch holds at most {BATCH_MAX_ITEMS} operations, not {len(operations)}")
    bids = [operation.bid for operation in operations]
    if len(set(bids)) != len(bids):
        raise ValueError("each operation of a batch needs a bId of its own")
    if not request_id or len(request_id) > BATCH_REQUEST_ID_MAX_LENGTH:
        raise ValueError(f"a batch's requestid must be 1 to {BATCH_REQUEST_ID_MAX_LENGTH} characters")


def query_rows(query_response: dict[str, Any]) -> list[dict[str, Any]]:
    """The rows of a `QueryResponse` object (`{"Invoice": [...], "startPosition": 1, ...}`; `{}`
    when nothing matched)."""
    return next((list(value) for value in query_response.values() if isinstance(value, list)), [])
