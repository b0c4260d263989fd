"""Bulk copy jobs (README "Bulk copy"; docs/architecture.md "Copy jobs").

`CopyJobService` takes a job in (checks, claims, queues) and shows it. `CopyJobWorker` copies its
invoices in chunks of at most 30, each chunk: the Productive invoices and their lines read by id lists;
each invoice prepared and locked as a single copy would be (the same per-invoice lock, so a job and a
single copy never copy one invoice at once); its customer found or created first; then one QuickBooks
batch request for the creates and updates, recorded with its requestid before it is sent; then, per
invoice, the PDF, the write-back and the history entry. An item fails alone, with our error or with
QuickBooks' own code and text. Credit notes go one by one (their credit application is its own write).

A worker killed anywhere runs again: a batch recorded but never answered is re-sent exactly (same
requestid, same invoices in the same bId order), so QuickBooks replays what it did; an invoice whose
create was started elsewhere is looked for by its marker before it is created again."""

from __future__ import annotations

import contextvars
import logging
import threading
from collections.abc import Callable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from qbosync.domain import activity
from qbosync.domain.connection import connected_company, existing
from qbosync.domain.copies import CopyMode, CopyRecord, CopyRequest
from qbosync.domain.copy_jobs import (
    RECENT_JOBS,
    CopyJob,
    CopyJobQueue,
    CopyJobRepository,
    ItemError,
    SentBatch,
    batch_request_id,
    checked_invoice_ids,
    job_id_for,
)
from qbosync.domain.errors import (
    ConnectionNotReady,
    DomainError,
    NotFound,
    QuickBooksFault,
    ReauthorizationRequired,
)
from qbosync.domain.ports import Clock, ConnectionRepository
from qbosync.domain.productive import ProductiveInvoice, ProductiveLineItem, ProductiveProject
from qbosync.domain.quickbooks_batch import BATCH_MAX_ITEMS, BatchAnswer, BatchItemFault, BatchWrite
from qbosync.domain.rate_limits import RateBudget
from qbosync.services.copies import CopyService, CopySession, LockedCopy, PlannedWrite

logger = logging.getLogger(__name__)

#: A job's invoices stay locked while their chunk is worked on (a single copy's lock is 60 s).
JOB_COPY_LOCK = timedelta(minutes=5)
#: A batch recorded longer ago than this is not re-sent with its requestid (QuickBooks keeps requestids
#: for a limited time); its invoices are looked for by their markers instead.
REPLAY_WINDOW = timedelta(hours=1)
#: Seconds before an invocation ends in which no new chunk starts (a chunk takes seconds, at worst about
#: a minute when QuickBooks and Productive are slow).
CHUNK_TIME_RESERVE_SECONDS = 90.0
#: When invoices were locked by someone else, or failed for a while, the job comes back this much later.
RETRY_DELAY_SECONDS = 10
#: A job that has been taken up this often gives up on what is still pending.
MAX_ROUNDS = 30
#: Invoices of a batch whose PDF, write-back and history entry are done at once (each of them runs its
#: own three calls at once too); the rate budget keeps them within the published limits.
FINISHING_AT_ONCE = 6


class CopyJobService:
    def __init__(
        self,
        *,
        connections: ConnectionRepository,
        jobs: CopyJobRepository,
        queue: CopyJobQueue,
        clock: Clock,
    ) -> None:
        self._connections = connections
        self._jobs = jobs
        self._queue = queue
        self._clock = clock

    def submit(
        self, connection_id: str, invoice_ids: Sequence[str], mode: CopyMode, idempotency_key: str | None
    ) -> CopyJob:
        ids = checked_invoice_ids(invoice_ids)
        connected_company(existing(self._connections.get(connection_id)))
        now = self._clock.now()
        job = CopyJob(
            job_id=job_id_for(connection_id, idempotency_key),
            connection_id=connection_id,
            mode=mode,
            status="queued",
            total=len(ids),
            created_at=now,
        )
        job = self._jobs.create(job, ids, now)
        # Sent again for a job that exists already: a worker ignores a job that is done, and the lease of
        # each invoice keeps two workers from copying one invoice.
        self._queue.send(connection_id, job.job_id)
        return job

    def get(self, connection_id: str, job_id: str) -> CopyJob:
        existing(self._connections.get(connection_id))
        job = self._jobs.get(job_id, with_items=True)
        if job is None or job.connection_id != connection_id:
            raise NotFound("No such copy job for this connection.", code="copy_job_not_found")
        return job

    def recent(self, connection_id: str) -> list[CopyJob]:
        existing(self._connections.get(connection_id))
        return self._jobs.recent(connection_id, RECENT_JOBS)


@dataclass
class RoundReport:
    """What one worker invocation did with a job."""

    copied: int = 0
    failed: int = 0
    deferred: list[str] = field(default_factory=list)
    batches: int = 0
    #: True when the job still has pending invoices and was queued again.
    requeued: bool = False
    done: bool = False


class CopyJobWorker:
    def __init__(
        self,
        *,
        copies: CopyService,
        jobs: CopyJobRepository,
        queue: CopyJobQueue,
        clock: Clock,
        budget: RateBudget,
        chunk_size: int = BATCH_MAX_ITEMS,
        finishing_at_once: int = FINISHING_AT_ONCE,
    ) -> None:
        self._copies = copies
        self._jobs = jobs
        self._queue = queue
        self._clock = clock
        self._budget = budget
        self._chunk_size = chunk_size
        self._finishing_at_once = finishing_at_once

    def run(self, connection_id: str, job_id: str, seconds_left: Callable[[], float]) -> RoundReport:
        report = RoundReport()
        job = self._jobs.get(job_id, with_items=True)
        if job is None or job.connection_id != connection_id or job.status == "done":
            report.done = True
            return report
        rounds = self._jobs.start_round(job_id, self._clock.now())
        try:
            session = self._copies.session(connection_id)
        except (ReauthorizationRequired, ConnectionNotReady, NotFound) as error:
            # Only the user can fix this: the job ends, its remaining invoices failed with the reason.
            self._fail_all(job, job.pending_invoice_ids(), _item_error(error), report)
            self._finish(job, report)
            return report
        company = session.company
        with self._budget.applying(
            realm_id=company.realm_id,
            connection_id=connection_id,
            organization_id=session.connection.organization_id,
        ):
            retry_later = self._chunks(session, job, report, seconds_left)
        left = self._jobs.get(job_id, with_items=False)
        assert left is not None
        if left.pending == 0:
            self._finish(job, report)
        elif rounds >= MAX_ROUNDS:
            still = self._jobs.get(job_id, with_items=True)
            assert still is not None
            gave_up = ItemError("copy_job_gave_up", "The invoice could not be copied after many attempts.")
            self._fail_all(job, still.pending_invoice_ids(), gave_up, report)
            self._finish(job, report)
        else:
            self._queue.send(connection_id, job_id, delay_seconds=RETRY_DELAY_SECONDS if retry_later else 0)
            report.requeued = True
        return report

    def _chunks(
        self, session: CopySession, job: CopyJob, report: RoundReport, seconds_left: Callable[[], float]
    ) -> bool:
        """The job's pending invoices, chunk after chunk while time lasts; True when some must be tried
        again later (locked by someone else, or failing for now)."""
        chunk_run = _Round(session, job, self._jobs, self._clock, report, self._finishing_at_once)
        try:
            self._each_chunk(chunk_run, job, seconds_left)
        finally:
            chunk_run.wait()
        return chunk_run.retry_later

    def _each_chunk(self, chunk_run: _Round, job: CopyJob, seconds_left: Callable[[], float]) -> None:
        job_id = job.job_id
        last = self._jobs.last_batch(job_id)
        pending = job.pending_invoice_ids()
        if last is not None and not last.answered and last.recorded_at > self._clock.now() - REPLAY_WINDOW:
            # The last run sent this batch and never heard back: send exactly it again. (Older, its
            # invoices go into new batches, each looked for by its marker first.)
            chunk_run.chunk([i for i in last.invoice_ids if i in pending], replay=last, number=last.number)
            pending = [i for i in pending if i not in last.invoice_ids]
        next_number = (last.number + 1) if last is not None else 1
        started = False
        for start in range(0, len(pending), self._chunk_size):
            if chunk_run.stalled or (started and seconds_left() < CHUNK_TIME_RESERVE_SECONDS):
                break
            started = True
            if chunk_run.chunk(pending[start : start + self._chunk_size], replay=None, number=next_number):
                next_number += 1

    def _fail_all(self, job: CopyJob, invoice_ids: Sequence[str], error: ItemError, report: RoundReport) -> None:
        for invoice_id in invoice_ids:
            entry = _failure_entry(job, invoice_id, error, self._clock.now())
            if self._jobs.settle(job, invoice_id, error=error, activity=entry):
                report.failed += 1

    def _finish(self, job: CopyJob, report: RoundReport) -> None:
        """The job is done; its totals go into the activity log with it (once: a job done already stays
        as it is)."""
        now = self._clock.now()
        counted = self._jobs.get(job.job_id, with_items=False) or job
        self._jobs.finish(job.job_id, now, activity=activity.copy_job_finished(counted, now))
        report.done = True


def _item_error(error: BaseException) -> ItemError:
    code, message, details = activity.error_summary(error)
    return ItemError(code, message, details)


def _failure_entry(job: CopyJob, invoice_id: str, error: ItemError, at: datetime) -> activity.Activity:
    """copy_failed for one invoice of the job (each copy the job makes is logged as a single copy's)."""
    return activity.copy_failed(
        job.connection_id,
        invoice_id,
        at,
        code=error.code,
        message=error.message,
        details=error.details,
        job_id=job.job_id,
    )


def _is_final(error: BaseException) -> bool:
    """The item fails now (a refusal: our checks or QuickBooks'); otherwise it is tried again later."""
    if isinstance(error, QuickBooksFault):
        return error.is_refusal
    return isinstance(error, DomainError) and not _is_transient(error)


def _is_transient(error: DomainError) -> bool:
    return error.code in ("upstream_unavailable", "copy_in_progress", "queue_unavailable")


@dataclass
class _Locked:
    invoice_id: str
    copy: LockedCopy
    plan: PlannedWrite


class _Round:
    """One worker invocation's chunks of one job."""

    def __init__(
        self,
        session: CopySession,
        job: CopyJob,
        jobs: CopyJobRepository,
        clock: Clock,
        report: RoundReport,
        finishing_at_once: int,
    ) -> None:
        self.session = session
        self.job = job
        self.jobs = jobs
        self.clock = clock
        self.report = report
        self.finishing_at_once = finishing_at_once
        self.retry_later = False
        #: A batch went unanswered: no further chunk in this round.
        self.stalled = False
        self._counting = threading.Lock()
        # The invoices of a chunk are finished here while the next chunk is read, locked and sent.
        self._finishing = ThreadPoolExecutor(max_workers=finishing_at_once)
        self._finished: list[Future[None]] = []

    def wait(self) -> None:
        """Every invoice handed to the finishing pool is done (or failed alone)."""
        self._finishing.shutdown(wait=True)
        for future in self._finished:
            future.result()

    def chunk(self, invoice_ids: Sequence[str], *, replay: SentBatch | None, number: int) -> bool:
        """Copy these invoices; True when a batch request numbered `number` was recorded."""
        writes = self._locked_writes(invoice_ids, replay)
        if not writes:
            return False
        ids = replay.invoice_ids if replay is not None else tuple(entry.invoice_id for entry in writes)
        if replay is None:
            batch = SentBatch(number, batch_request_id(self.job.job_id, number), ids, self.clock.now())
            self.jobs.record_batch(self.job.job_id, batch)
        else:
            batch = replay
        answers = self._send(writes, batch)
        if answers is None:
            return True
        self.report.batches += 1
        # Each invoice's PDF, write-back and history entry depend on nothing but its own answer: a few
        # invoices at once, each in the caller's context (its log keys and rate budget), while the next
        # chunk goes on.
        for entry in writes:
            answer = answers[str(ids.index(entry.invoice_id))]
            self._finished.append(self._finishing.submit(contextvars.copy_context().run, self._finish, entry, answer))
        return True

    def _locked_writes(self, invoice_ids: Sequence[str], replay: SentBatch | None) -> list[_Locked]:
        """The chunk's invoices read, prepared, locked and planned; in the replayed batch's bId order."""
        if not invoice_ids:
            return []
        invoices, lines, projects = self._read(invoice_ids)
        writes: list[_Locked] = []
        for invoice_id in invoice_ids:
            locked = self._lock(
                invoice_id, invoices.get(invoice_id), lines.get(invoice_id, []), projects.get(invoice_id, ()), replay
            )
            if locked is not None:
                writes.append(locked)
        if replay is not None:
            order = {invoice_id: index for index, invoice_id in enumerate(replay.invoice_ids)}
            writes.sort(key=lambda entry: order[entry.invoice_id])
        return writes

    def _send(self, writes: list[_Locked], batch: SentBatch) -> dict[str, BatchAnswer] | None:
        """The batch request, then recorded as answered; None when it was not answered."""
        operations = [
            BatchWrite(
                bid=str(batch.invoice_ids.index(entry.invoice_id)),
                entity=entry.copy.prepared.document,
                payload=entry.plan.body,
                operation="create" if entry.plan.is_create else "update",
            )
            for entry in writes
        ]
        for entry in writes:
            entry.copy.sending(entry.plan)
        try:
            answers = self.session.qbo.batch(operations, request_id=batch.request_id)
        except Exception as error:
            for entry in writes:
                if isinstance(error, QuickBooksFault):
                    entry.copy.refused(error)
                self._failed(entry.invoice_id, entry.copy, error)
            if _is_final(error):
                self.jobs.batch_answered(self.job.job_id, batch.number)
            else:
                # Unanswered (QuickBooks down, throttling us, or the answer lost): this round stops, and the
                # next one, a little later, sends exactly this batch again.
                self.stalled = True
            return None
        self.jobs.batch_answered(self.job.job_id, batch.number)
        return answers

    def _read(
        self, invoice_ids: Sequence[str]
    ) -> tuple[
        dict[str, ProductiveInvoice],
        dict[str, list[ProductiveLineItem]],
        dict[str, tuple[ProductiveProject, ...]],
    ]:
        """The invoices, their lines and (for sub-customers per project) their projects, by id lists."""
        productive = self.session.productive
        by_project = self.session.connection.settings.customer_level == "project"
        with ThreadPoolExecutor(max_workers=2) as pool:  # the lines and projects while the invoices are read
            lines = pool.submit(contextvars.copy_context().run, productive.list_line_items_of_invoices, invoice_ids)
            projects = (
                pool.submit(contextvars.copy_context().run, productive.projects_of_invoices, invoice_ids)
                if by_project
                else None
            )
            invoices = productive.get_invoices(invoice_ids)
        return invoices, lines.result(), projects.result() if projects is not None else {}

    def _lock(
        self,
        invoice_id: str,
        invoice: ProductiveInvoice | None,
        lines: list[ProductiveLineItem],
        projects: tuple[ProductiveProject, ...],
        replay: SentBatch | None,
    ) -> _Locked | None:
        """Prepared, locked and planned, or settled (failed, or copied one by one), or deferred (None)."""
        if invoice is None:
            self._settle_failed(invoice_id, NotFound(f"Productive has no invoice {invoice_id}.", code="not_found"))
            return None
        request = CopyRequest(
            connection_id=self.job.connection_id,
            invoice_id=invoice_id,
            customer_id=None,
            tax_code_id=None,
            mode=self.job.mode,
        )
        try:
            prepared = self.session.prepare(request, invoice, lines, projects)
        except Exception as error:
            self._failed(invoice_id, None, error)
            return None
        locked = self.session.lock(request, prepared, JOB_COPY_LOCK)
        if locked is None:
            self.report.deferred.append(invoice_id)  # a single copy (or another worker) holds it
            self.retry_later = True
            return None
        try:
            if prepared.document == "CreditMemo":
                self._settle_copied(invoice_id, locked.run())
                return None
            plan = locked.plan(replaying=replay is not None and invoice_id in replay.invoice_ids)
            if plan.found is not None:
                self._settle_copied(invoice_id, locked.complete(plan, plan.found))
                return None
        except BaseException as error:
            self._failed(invoice_id, locked, error)
            if not isinstance(error, Exception):
                raise
            return None
        return _Locked(invoice_id, locked, plan)

    def _finish(self, entry: _Locked, answer: dict[str, Any] | BatchItemFault) -> None:
        if isinstance(answer, BatchItemFault):
            fault = answer.error()
            if fault.fault_code != QuickBooksFault.STALE_OBJECT or entry.plan.is_create:
                entry.copy.refused(fault)
                self._failed(entry.invoice_id, entry.copy, fault)
                return
        try:
            # An update refused for its SyncToken (edited in QuickBooks) is overwritten once, alone.
            written = entry.copy.send(entry.plan, stale=True) if isinstance(answer, BatchItemFault) else answer
            self._settle_copied(entry.invoice_id, entry.copy.complete(entry.plan, written))
        except Exception as error:
            self._failed(entry.invoice_id, entry.copy, error)

    def _failed(self, invoice_id: str, locked: LockedCopy | None, error: BaseException) -> None:
        """Undo what the invoice's copy wrote, as a single copy does; a refusal fails the item, anything
        else leaves it pending for a later round."""
        if locked is not None:
            locked.undo_quietly(error)
        if _is_final(error):
            self._settle_failed(invoice_id, error)
        else:
            logger.warning(
                "copy job item will be tried again",
                extra={"job_id": self.job.job_id, "invoice_id": invoice_id, "error_class": type(error).__name__},
            )
            self.retry_later = True

    def _settle_failed(self, invoice_id: str, error: BaseException) -> None:
        failure = _item_error(error)
        entry = _failure_entry(self.job, invoice_id, failure, self.clock.now())
        if self.jobs.settle(self.job, invoice_id, error=failure, activity=entry):
            with self._counting:
                self.report.failed += 1

    def _settle_copied(self, invoice_id: str, record: CopyRecord) -> None:
        if self.jobs.settle(self.job, invoice_id, copy=record):
            with self._counting:
                self.report.copied += 1
