"""The activity log: one entry per event that matters to a user of a connection, newest first, kept
400 days (docs/architecture.md "Activity log"). Nothing in an entry is a token, a secret or an e-mail
address; customer names are fine (the app shows them). Every entry is made here, by the builders at
the end of this module, so what an entry of a kind holds is said in one place."""

from __future__ import annotations

import re
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import TYPE_CHECKING, Any, Literal, Protocol, get_args

from qbosync.domain.errors import DomainError, QuickBooksFault

if TYPE_CHECKING:
    from qbosync.domain.connection import Connection, ConnectionSettings
    from qbosync.domain.copies import CopyRecord
    from qbosync.domain.copy_jobs import CopyJob
    from qbosync.domain.payments import PaymentLink

ActivityKind = Literal[
    "connected",
    "disconnected",
    "needs_reconnect",
    "settings_changed",
    "copy_created",
    "copy_updated",
    "copy_failed",
    "payment_mirrored",
    "payment_updated",
    "payment_removed",
    "payment_event_skipped",
    "reconcile_run",
    "token_refreshed",
    "reconnect_warning",
    "copy_job",
]
ACTIVITY_KINDS: frozenset[str] = frozenset(get_args(ActivityKind))

#: How long an entry is kept (the table's TTL removes it after).
ACTIVITY_RETENTION = timedelta(days=400)
#: The most entries one page of the activity route returns.
MAX_PAGE_SIZE = 200
#: A longer text in an entry (QuickBooks' fault detail...) is cut here: an entry stays a small item.
MAX_TEXT = 2000

_EMAIL = re.compile(r"[^\s@<>\"'(),;:\[\]]+@[^\s@<>\"'(),;:\[\]]+\.[A-Za-z]{2,}")


@dataclass(frozen=True)
class Activity:
    """One entry. `activity_id` orders entries of the same instant and names the entry in the log.

    `summary` and `details` lose every e-mail address and are cut to MAX_TEXT when the entry is made;
    `details` becomes plain JSON values (Decimals and dates as strings).

    `once_key`: the entry is written at most once per connection and key (ActivityLog.record), for
    events that may come twice (a QuickBooks change is delivered by the webhook and again by the
    reconcile sweep). Entries written inside another write (a copy's, a payment mapping's) need none:
    that write happens once."""

    connection_id: str
    kind: ActivityKind
    at: datetime
    summary: str
    details: Mapping[str, Any] = field(default_factory=dict)
    invoice_id: str | None = None
    activity_id: str = field(default_factory=lambda: uuid.uuid4().hex)
    once_key: str | None = None

    def __post_init__(self) -> None:
        if self.kind not in ACTIVITY_KINDS:
            raise ValueError(f"unknown activity kind {self.kind!r}")
        if self.at.tzinfo is None:
            raise ValueError("an activity's time must be timezone-aware")
        object.__setattr__(self, "summary", _text(self.summary))
        object.__setattr__(self, "details", {str(key): _plain(value) for key, value in self.details.items()})


def without_email_addresses(text: str) -> str:
    """The text with every e-mail address replaced: the log shows no PII beyond what the app shows."""
    return _EMAIL.sub("[e-mail]", text)


def _text(text: str) -> str:
    cleaned = without_email_addresses(text)
    return cleaned if len(cleaned) <= MAX_TEXT else cleaned[: MAX_TEXT - 1] + "…"


def _plain(value: Any) -> Any:
    """A detail as a plain JSON value, without e-mail addresses."""
    if isinstance(value, str):
        return _text(value)
    if isinstance(value, bool | int) or value is None:
        return value
    if isinstance(value, Decimal | float):
        return str(value)
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, Mapping):
        return {str(key): _plain(item) for key, item in value.items()}
    if isinstance(value, Sequence | set | frozenset):
        return [_plain(item) for item in value]
    return _text(str(value))


@dataclass(frozen=True)
class ActivityPage:
    entries: Sequence[Activity]
    #: Opaque; passed back as `cursor` for the next (older) page. None on the last page.
    next_cursor: str | None


class ActivityLog(Protocol):
    """Where activity entries are written and read (adapters/dynamodb_activity.py). The log services get
    from wiring never raises from `record`: a failure to write is logged and counted
    (services/activity.py `QuietActivityLog`), since an entry must never fail what it records."""

    def record(self, activity: Activity) -> None:
        """Write one entry on its own (callers that have a write of their own put the entry in it). With
        a `once_key` already recorded for the connection, nothing is written."""

    def page(
        self,
        connection_id: str,
        *,
        invoice_id: str | None = None,
        kind: ActivityKind | None = None,
        limit: int = 50,
        cursor: str | None = None,
    ) -> ActivityPage:
        """Entries of the connection (or of one of its invoices), newest first. A cursor that this log
        did not hand out for the same connection and invoice raises InvalidInput (`invalid_cursor`)."""
        ...

    def count_since(self, connection_id: str, kind: ActivityKind, since: datetime) -> int:
        """How many entries of this kind the connection has from `since` on."""
        ...


# -- the entries ---------------------------------------------------------------------------------


def connected(connection: Connection, at: datetime, *, reconnect: bool) -> Activity:
    company = connection.company
    name = company.company_name if company else "?"
    return Activity(
        connection_id=connection.connection_id,
        kind="connected",
        at=at,
        summary=f"{'Reconnected' if reconnect else 'Connected'} to the QuickBooks company {name}.",
        details={
            "realm_id": company.realm_id if company else None,
            "company_name": name,
            "country": company.country if company else None,
            "home_currency": company.home_currency if company else None,
            "reconnect": reconnect,
        },
    )


def disconnected(connection: Connection, at: datetime, *, revoked: bool) -> Activity:
    company = connection.company
    name = company.company_name if company else None
    return Activity(
        connection_id=connection.connection_id,
        kind="disconnected",
        at=at,
        summary=f"Disconnected from the QuickBooks company {name}." if name else "Disconnected.",
        details={
            "realm_id": company.realm_id if company else None,
            "company_name": name,
            "previous_status": connection.status.value,
            # Intuit's grant ends only with the last connection to the company (ADR 0005).
            "access_revoked_at_intuit": revoked,
        },
    )


def settings_changed(
    connection_id: str, at: datetime, before: ConnectionSettings, after: ConnectionSettings
) -> Activity | None:
    """Which settings changed, from what to what (None: nothing changed)."""
    old, new = before.model_dump(mode="json"), after.model_dump(mode="json")
    fields = sorted(name for name in new if old.get(name) != new.get(name))
    if not fields:
        return None
    return Activity(
        connection_id=connection_id,
        kind="settings_changed",
        at=at,
        summary="Settings changed: " + ", ".join(fields) + ".",
        details={"fields": fields, "changes": {name: {"from": old.get(name), "to": new.get(name)} for name in fields}},
    )


def copy_done(record: CopyRecord, *, invoice_number: str | None) -> Activity:
    """copy_created or copy_updated, with QuickBooks' object and the copy's warnings."""
    created = record.mode == "create"
    document = "credit memo" if record.quickbooks_type == "CreditMemo" else "invoice"
    what = f"Invoice {invoice_number}" if invoice_number else f"Invoice {record.invoice_id}"
    verb = "copied to QuickBooks as" if created else "updated in QuickBooks:"
    number = f" {record.doc_number}" if record.doc_number else ""
    summary = (
        f"{what} {verb} {document}{number} (#{record.quickbooks_id}), "
        f"{record.total_amount:.2f} {record.currency}"
        + (f"; {len(record.warnings)} warning(s)." if record.warnings else ".")
    )
    return Activity(
        connection_id=record.connection_id,
        kind="copy_created" if created else "copy_updated",
        at=record.updated_at,
        invoice_id=record.invoice_id,
        summary=summary,
        details={
            "copy_id": record.copy_id,
            "invoice_number": invoice_number,
            "quickbooks_type": record.quickbooks_type,
            "quickbooks_id": record.quickbooks_id,
            "doc_number": record.doc_number,
            "total_amount": f"{record.total_amount:.2f}",
            "currency": record.currency,
            "mode": record.mode,
            "update_count": record.update_count,
            "quickbooks_url": record.quickbooks_url,
            "warnings": [
                {"code": warning.code, "message": warning.message, "details": dict(warning.details)}
                for warning in record.warnings
            ],
        },
    )


def error_summary(error: BaseException) -> tuple[str, str, dict[str, Any]]:
    """(code, message, details) of a failed copy: QuickBooks' own fault code and text
    (`quickbooks_<code>`), Productive's, or ours."""
    if isinstance(error, QuickBooksFault):
        details: dict[str, Any] = {"quickbooks_code": error.fault_code}
        if error.detail:
            details["quickbooks_detail"] = error.detail
        return f"quickbooks_{error.fault_code or 'fault'}", error.message, details
    if isinstance(error, DomainError):
        return error.code, error.message, dict(error.details)
    return "internal_error", "The invoice could not be copied because of an internal error.", {}


def copy_failed(
    connection_id: str,
    invoice_id: str,
    at: datetime,
    *,
    code: str,
    message: str,
    details: Mapping[str, Any],
    job_id: str | None = None,
) -> Activity:
    return Activity(
        connection_id=connection_id,
        kind="copy_failed",
        at=at,
        invoice_id=invoice_id,
        summary=f"Invoice {invoice_id} was not copied to QuickBooks: {message}",
        details={"code": code, "message": message, "error_details": dict(details), "job_id": job_id},
    )


def copy_job_finished(job: CopyJob, at: datetime) -> Activity:
    return Activity(
        connection_id=job.connection_id,
        kind="copy_job",
        at=at,
        summary=f"Copy job finished: {job.copied} of {job.total} invoice(s) copied, {job.failed} failed.",
        details={
            "job_id": job.job_id,
            "mode": job.mode,
            "total": job.total,
            "copied": job.copied,
            "failed": job.failed,
            "rounds": job.rounds,
            "created_at": job.created_at,
            "started_at": job.started_at,
        },
    )


PaymentChange = Literal["payment_mirrored", "payment_updated", "payment_removed"]


def payment_changed(
    kind: PaymentChange,
    link: PaymentLink,
    at: datetime,
    *,
    before: PaymentLink | None = None,
    why: str = "it was voided, deleted or moved off the invoice in QuickBooks",
) -> Activity:
    """A QuickBooks payment's mirror in Productive created, changed (`before`: as it was) or removed
    (`why`), for one invoice."""
    amount, paid_on = f"{link.amount:.2f}", link.paid_on.isoformat()
    payment = f"QuickBooks payment {link.quickbooks_payment_id}"
    if kind == "payment_mirrored":
        summary = f"{payment} of {amount} on {paid_on} mirrored to Productive invoice {link.invoice_id}."
    elif kind == "payment_updated":
        was = f" (was {before.amount:.2f} on {before.paid_on.isoformat()})" if before is not None else ""
        summary = f"{payment} changed in Productive invoice {link.invoice_id}: {amount} on {paid_on}{was}."
    else:
        summary = f"{payment} ({amount} on {paid_on}) removed from Productive invoice {link.invoice_id}: {why}."
    details: dict[str, Any] = {
        "quickbooks_payment_id": link.quickbooks_payment_id,
        "productive_payment_id": link.productive_payment_id,
        "amount": amount,
        "paid_on": paid_on,
    }
    if before is not None:
        details["previous"] = {"amount": f"{before.amount:.2f}", "paid_on": before.paid_on.isoformat()}
    if kind == "payment_removed":
        details["reason"] = why
    return Activity(
        connection_id=link.connection_id, kind=kind, at=at, invoice_id=link.invoice_id, summary=summary, details=details
    )


#: Why a payment event changed nothing in Productive (payment_event_skipped), in words.
SKIP_REASONS: dict[str, str] = {
    "before_sync_start": "it is dated before payment sync was switched on",
    "invoice_not_copied": "it applies to no invoice copied from Productive by this connection",
    "productive_invoice_missing": "its Productive invoice no longer exists",
    "needs_reconnect": "the connection needs to be reconnected to QuickBooks",
    "connection_not_ready": "the connection is not connected to QuickBooks",
}


def payment_event_skipped(
    connection_id: str,
    at: datetime,
    *,
    reason: str,
    entity: str,
    entity_id: str,
    version: str,
    invoice_id: str | None = None,
    details: Mapping[str, Any] | None = None,
) -> Activity:
    """A QuickBooks change left alone, and why. Recorded once per connection, change and reason:
    `version` names the QuickBooks state seen (the payment's SyncToken, or the change's time)."""
    because = SKIP_REASONS.get(reason, reason)
    return Activity(
        connection_id=connection_id,
        kind="payment_event_skipped",
        at=at,
        invoice_id=invoice_id,
        summary=f"QuickBooks {entity} {entity_id} was not synced: {because}.",
        details={"reason": reason, "entity": entity, "entity_id": entity_id, "version": version, **(details or {})},
        once_key=f"skip|{entity}|{entity_id}|{version}|{reason}|{invoice_id or ''}",
    )


def reconcile_run(
    connection_id: str,
    at: datetime,
    *,
    realm_id: str,
    since: datetime | None,
    events_found: int,
    entities: Sequence[str],
    next_since: datetime | None = None,
    failed: str | None = None,
) -> Activity:
    """One reconcile sweep of the connection's company: its window (`since` to `at`) and the changes it
    found (queued for the payment worker), or why it failed; `next_since`: where the next sweep starts."""
    window = f" since {since.isoformat()}" if since is not None else ""
    if failed is None:
        summary = f"Reconcile found {events_found} change(s) in QuickBooks{window}."
    else:
        summary = f"Reconcile could not read QuickBooks' changes{window}: {failed}."
    return Activity(
        connection_id=connection_id,
        kind="reconcile_run",
        at=at,
        summary=summary,
        details={
            "realm_id": realm_id,
            "since": since,
            "until": at,
            "next_since": next_since,
            "events_found": events_found,
            "entities": list(entities),
            "outcome": "failed" if failed else "ok",
            "error_code": failed,
        },
    )
