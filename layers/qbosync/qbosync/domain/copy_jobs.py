"""Bulk copy jobs (README "Bulk copy"; docs/architecture.md "Copy jobs"): up to 500 invoices of one
connection copied by a worker through QuickBooks' batch endpoint, each item an ordinary copy that fails
alone. The job and its items live in DynamoDB; an invoice belongs to at most one queued or running job
of its connection (its claim)."""

from __future__ import annotations

import json
import uuid
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any, Literal, Protocol

from qbosync.domain.copies import CopyMode, CopyRecord, request_id_for
from qbosync.domain.errors import Conflict, InvalidInput

if TYPE_CHECKING:
    from qbosync.domain.activity import Activity

MAX_JOB_INVOICES = 500
#: How many jobs the list route shows.
RECENT_JOBS = 50

JobStatus = Literal["queued", "running", "done"]
ItemStatus = Literal["pending", "copied", "failed"]


@dataclass(frozen=True)
class ItemError:
    """Why one invoice of a job was not copied: our error vocabulary, or QuickBooks' own code and text."""

    code: str
    message: str
    details: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class CopyJobItem:
    invoice_id: str
    status: ItemStatus = "pending"
    copy: CopyRecord | None = None
    error: ItemError | None = None


@dataclass(frozen=True)
class CopyJob:
    job_id: str
    connection_id: str
    mode: CopyMode
    status: JobStatus
    total: int
    created_at: datetime
    copied: int = 0
    failed: int = 0
    started_at: datetime | None = None
    finished_at: datetime | None = None
    #: How many times the worker took the job up; bounds a job that cannot make progress.
    rounds: int = 0
    #: Filled only when read with its items, in the order they were submitted.
    items: tuple[CopyJobItem, ...] = ()

    @property
    def pending(self) -> int:
        return self.total - self.copied - self.failed

    def pending_invoice_ids(self) -> list[str]:
        return [item.invoice_id for item in self.items if item.status == "pending"]


@dataclass(frozen=True)
class SentBatch:
    """A batch request recorded before it is sent: its requestid, and the invoices it carries in bId
    order (bId = position). A worker that finds one never answered re-sends exactly it, so QuickBooks
    replays what it did instead of doing it twice."""

    number: int
    request_id: str
    invoice_ids: tuple[str, ...]
    recorded_at: datetime
    answered: bool = False


def job_id_for(connection_id: str, idempotency_key: str | None) -> str:
    """A new job's id; with an Idempotency-Key, the same key of the same connection gives the same id."""
    if idempotency_key:
        return str(uuid.uuid5(uuid.NAMESPACE_URL, f"qbosync-copy-job:{connection_id}:{idempotency_key}"))
    return str(uuid.uuid4())


def batch_request_id(job_id: str, number: int) -> str:
    """A job's batch `number` has one requestid (36 characters: QuickBooks' limit for a batch)."""
    return request_id_for(job_id, "batch", number)


def checked_invoice_ids(invoice_ids: Sequence[str]) -> tuple[str, ...]:
    """1 to 500 distinct invoice ids, or a 422 that says what is wrong."""
    ids = tuple(str(invoice_id).strip() for invoice_id in invoice_ids)
    if not ids:
        raise InvalidInput("A copy job needs at least one invoice id.", code="no_invoices")
    if len(ids) > MAX_JOB_INVOICES:
        raise InvalidInput(
            f"A copy job takes at most {MAX_JOB_INVOICES} invoices; split the {len(ids)} into several jobs.",
            code="too_many_invoices",
            details={"limit": MAX_JOB_INVOICES, "count": len(ids)},
        )
    if any(not invoice_id for invoice_id in ids):
        raise InvalidInput("An invoice id is empty.", code="invalid_invoice_id")
    repeated = sorted(invoice_id for invoice_id, count in Counter(ids).items() if count > 1)
    if repeated:
        raise InvalidInput(
            "Each invoice may appear once in a copy job.",
            code="duplicate_invoice_ids",
            details={"invoice_ids": repeated},
        )
    return ids


class InvoicesInRunningJob(Conflict):
    code = "invoice_in_running_job"

    def __init__(self, invoice_ids: Sequence[str]) -> None:
        super().__init__(
            "Some invoices are in a copy job that is still queued or running; wait for it to finish.",
            details={"invoice_ids": sorted(invoice_ids)},
        )


class CopyJobRepository(Protocol):
    def create(self, job: CopyJob, invoice_ids: Sequence[str], now: datetime) -> CopyJob:
        """Claim the invoices for the job, then write its items and the job itself. Idempotent: a job
        that exists already is returned as it is. InvoicesInRunningJob, naming every invoice another
        queued or running job of the connection holds (and nothing claimed), otherwise."""
        ...

    def get(self, job_id: str, *, with_items: bool) -> CopyJob | None: ...

    def recent(self, connection_id: str, limit: int) -> list[CopyJob]:
        """Newest first, without items."""
        ...

    def start_round(self, job_id: str, now: datetime) -> int:
        """The job is running (started at its first round); returns the round's number (1, 2, ...)."""
        ...

    def settle(
        self,
        job: CopyJob,
        invoice_id: str,
        *,
        copy: CopyRecord | None = None,
        error: ItemError | None = None,
        activity: Activity | None = None,
    ) -> bool:
        """A pending item becomes copied (`copy`) or failed (`error`), the job's counters move, the
        invoice's claim is released and `activity` is logged, in one transaction. False: it was not
        pending any more (and nothing was written)."""
        ...

    def finish(self, job_id: str, now: datetime, *, activity: Activity | None = None) -> bool:
        """The job is done (no item pending), with `activity` logged in the same write. False: it was
        done already (and nothing was written)."""
        ...

    def record_batch(self, job_id: str, batch: SentBatch) -> None: ...

    def batch_answered(self, job_id: str, number: int) -> None: ...

    def last_batch(self, job_id: str) -> SentBatch | None:
        """The job's newest recorded batch (its number + 1 is the next)."""
        ...


def encode_job_message(connection_id: str, job_id: str) -> str:
    return json.dumps({"connection_id": connection_id, "job_id": job_id})


def decode_job_message(body: str) -> tuple[str, str]:
    """(connection id, job id) of a copy jobs queue message; ValueError when it is not one."""
    try:
        message = json.loads(body)
        return str(message["connection_id"]), str(message["job_id"])
    except (ValueError, KeyError, TypeError) as error:
        raise ValueError("not a copy job message") from error


class CopyJobQueue(Protocol):
    def send(self, connection_id: str, job_id: str, *, delay_seconds: int = 0) -> None:
        """Ask a worker to take the job up (again)."""
        ...
