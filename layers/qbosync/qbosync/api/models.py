"""Request and response bodies of the HTTP API (README "HTTP API"). The OpenAPI document is generated
from these by Powertools and committed as openapi.json."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Any, Literal

from aws_lambda_powertools.event_handler.openapi.params import Header, Path, Query
from pydantic import BaseModel, ConfigDict, Field, model_validator

from qbosync.domain.activity import MAX_PAGE_SIZE, ActivityKind
from qbosync.domain.connection import Connection, ConnectionSettings
from qbosync.domain.health import ConnectionHealth, HealthStatus

ConnectionStatusName = Literal["pending", "connected", "needs_reconnect", "disconnected"]

# Path ids have a shape (qbosync.domain.connection.connection_id_for makes UUIDs; Productive ids are
# digits): one that does not match names nothing and gets the same 404 as an unknown id.
ConnectionIdPath = Annotated[
    str,
    Path(
        pattern=r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$",
        max_length=36,
        description="The connection id (a UUID); any other value is answered 404 connection_not_found.",
    ),
]
InvoiceIdPath = Annotated[
    str,
    Path(
        pattern=r"^[0-9]{1,20}$",
        max_length=20,
        description="The Productive invoice id (digits); any other value is answered 404 invoice_not_found.",
    ),
]
IdempotencyKeyHeader = Annotated[
    str | None,
    Header(
        alias="idempotency-key",
        min_length=1,
        max_length=200,
        pattern=r"^[!-~]+$",
        description="Visible ASCII, up to 200 characters; covered by the request signature (its own line "
        "before the body). A repeated key returns the first response for a day; the same key with "
        "another body is 422 idempotency_key_reused.",
    ),
]


class CreateConnectionRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    organization_id: str = Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_-]+$")
    subsidiary_id: str = Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_-]+$")
    productive_api_token: str = Field(min_length=1, max_length=512, repr=False)
    return_url: str = Field(
        min_length=1,
        max_length=2048,
        description="Where the browser goes after connecting: https, on a host in ALLOWED_RETURN_URL_HOSTS.",
    )


class ConnectionStarted(BaseModel):
    connection_id: str
    authorize_url: str
    status: ConnectionStatusName


class LastErrorView(BaseModel):
    code: str = Field(description="Our error code, or quickbooks_<fault code> for a QuickBooks fault.")
    message: str
    at: datetime


class ConnectionHealthView(BaseModel):
    """docs/architecture.md "Connection health"."""

    status: HealthStatus = Field(
        description="ok; reconnect_soon (connected, an expiry within 30 days); needs_reconnect; not_connected "
        "(pending or disconnected)."
    )
    days_until_refresh_expiry: int | None = Field(
        description="Whole days (counted up) until the refresh token's rolling 100-day expiry; only while connected."
    )
    days_until_hard_expiry: int | None = Field(
        description="Whole days (counted up) until the refresh token's 5-year hard expiry; only while connected."
    )
    reconnect_required_by: date | None = Field(
        description="The last date, in every time zone, before the earlier of the two expiries: reconnecting by "
        "the end of it is in time. Only while connected."
    )
    last_success_at: datetime | None = Field(
        description="The last successful QuickBooks call (recorded at most every 15 minutes)."
    )
    last_error: LastErrorView | None = Field(description="The last failed QuickBooks call or token refresh.")
    failed_copies_7d: int = Field(description="Activity entries of kind copy_failed in the last 7 days.")
    skipped_payment_events_7d: int = Field(
        description="Activity entries of kind payment_event_skipped in the last 7 days."
    )

    @classmethod
    def of(cls, health: ConnectionHealth) -> ConnectionHealthView:
        error = health.last_error
        return cls(
            status=health.status,
            days_until_refresh_expiry=health.days_until_refresh_expiry,
            days_until_hard_expiry=health.days_until_hard_expiry,
            reconnect_required_by=health.reconnect_required_by,
            last_success_at=health.last_success_at,
            last_error=LastErrorView(code=error.code, message=error.message, at=error.at) if error else None,
            failed_copies_7d=health.failed_copies_7d,
            skipped_payment_events_7d=health.skipped_payment_events_7d,
        )


class ConnectionView(BaseModel):
    connection_id: str
    organization_id: str
    subsidiary_id: str
    status: ConnectionStatusName
    status_reason: str | None = None
    realm_id: str | None = None
    company_name: str | None = None
    country: str | None = None
    home_currency: str | None = None
    access_expires_at: datetime | None = None
    refresh_expires_at: datetime | None = None
    refresh_hard_expires_at: datetime | None = None
    settings: ConnectionSettings
    health: ConnectionHealthView

    @classmethod
    def of(cls, connection: Connection, health: ConnectionHealth) -> ConnectionView:
        company = connection.company
        return cls(
            connection_id=connection.connection_id,
            organization_id=connection.organization_id,
            subsidiary_id=connection.subsidiary_id,
            status=connection.status.value,
            status_reason=connection.status_reason,
            realm_id=company.realm_id if company else None,
            company_name=company.company_name if company else None,
            country=company.country if company else None,
            home_currency=company.home_currency if company else None,
            access_expires_at=connection.access_expires_at,
            refresh_expires_at=connection.refresh_expires_at,
            refresh_hard_expires_at=connection.refresh_hard_expires_at,
            settings=connection.settings,
            health=ConnectionHealthView.of(health),
        )


class LookupItem(BaseModel):
    model_config = ConfigDict(extra="allow")

    id: str
    name: str


class LookupList(BaseModel):
    items: list[LookupItem]

    @classmethod
    def of(cls, entries: list[Any]) -> LookupList:
        return cls(items=[LookupItem(id=e.id, name=e.name, **e.extra) for e in entries])


class ErrorDetail(BaseModel):
    code: str
    message: str
    details: dict[str, Any] = Field(default_factory=dict)


class ErrorBody(BaseModel):
    error: ErrorDetail


class CopyRequestBody(BaseModel):
    model_config = ConfigDict(extra="forbid")

    customer_id: str | None = Field(default=None, min_length=1, max_length=64)
    tax_code_id: str | None = Field(default=None, min_length=1, max_length=64)
    mode: Literal["update", "create"] = Field(
        default="update",
        description="update: change the last copy in place (or create the first one); create: always a new one.",
    )


class CopyWarningView(BaseModel):
    model_config = ConfigDict(extra="allow")

    code: str
    message: str


class CreditApplicationView(BaseModel):
    quickbooks_payment_id: str = Field(description="The QuickBooks Payment (total 0) that applies the credit memo.")
    quickbooks_invoice_id: str = Field(description="The parent invoice's QuickBooks copy it is applied to.")
    amount: str = Field(description="Decimal string: the amount applied.")


class CopyFlagView(BaseModel):
    kind: Literal[
        "voided_in_quickbooks",
        "deleted_in_quickbooks",
        "changed_in_quickbooks",
        "credited_in_quickbooks",
        "total_mismatch",
    ]
    detected_at: datetime
    details: dict[str, Any] = Field(
        description="What was seen: the QuickBooks object, its new total next to Productive's, the credit..."
    )

    @classmethod
    def of(cls, flag: Any) -> CopyFlagView:
        return cls(kind=flag.kind, detected_at=flag.detected_at, details=dict(flag.details))


class CopyView(BaseModel):
    copy_id: str
    quickbooks_type: Literal["Invoice", "CreditMemo"] = Field(
        description="What the copy is in QuickBooks: an Invoice, or a CreditMemo for a Productive credit note."
    )
    quickbooks_id: str = Field(description="The QuickBooks Invoice or CreditMemo id.")
    quickbooks_invoice_id: str | None = Field(
        description="The QuickBooks invoice id (the same as quickbooks_id); null for a credit memo."
    )
    doc_number: str | None
    total_amount: str = Field(description="Decimal string, as QuickBooks computed it.")
    currency: str
    quickbooks_url: str
    mode: Literal["update", "create"]
    created_at: datetime
    updated_at: datetime
    warnings: list[CopyWarningView]
    credit_application: CreditApplicationView | None = Field(
        default=None, description="A credit memo's application to its parent invoice; null when not applied."
    )

    @model_validator(mode="before")
    @classmethod
    def _from_before_credit_memos(cls, data: Any) -> Any:
        # A copy response kept by its Idempotency-Key before credit memos existed: an invoice.
        if isinstance(data, dict) and "quickbooks_id" not in data and data.get("quickbooks_invoice_id"):
            return {"quickbooks_type": "Invoice", "quickbooks_id": data["quickbooks_invoice_id"], **data}
        return data

    flags: list[CopyFlagView] = Field(
        default_factory=list, description="Changes made in QuickBooks to this copy and other reasons to look at it."
    )

    @classmethod
    def of(cls, record: Any) -> CopyView:
        application = record.credit_application
        return cls(
            copy_id=record.copy_id,
            quickbooks_type=record.quickbooks_type,
            quickbooks_id=record.quickbooks_id,
            quickbooks_invoice_id=record.quickbooks_invoice_id,
            doc_number=record.doc_number,
            total_amount=f"{record.total_amount:.2f}",
            currency=record.currency,
            quickbooks_url=record.quickbooks_url,
            mode=record.mode,
            created_at=record.created_at,
            updated_at=record.updated_at,
            warnings=[CopyWarningView(code=w.code, message=w.message, **w.details) for w in record.warnings],
            credit_application=None
            if application is None
            else CreditApplicationView(
                quickbooks_payment_id=application.payment_id,
                quickbooks_invoice_id=application.quickbooks_invoice_id,
                amount=f"{application.amount:.2f}",
            ),
            flags=[CopyFlagView.of(flag) for flag in record.flags],
        )


class CopyList(BaseModel):
    items: list[CopyView]


class AttentionView(BaseModel):
    invoice_id: str
    copy_id: str
    quickbooks_type: Literal["Invoice", "CreditMemo"]
    quickbooks_id: str
    flags: list[CopyFlagView] = Field(description="Newest first.")

    @classmethod
    def of(cls, item: Any) -> AttentionView:
        return cls(
            invoice_id=item.invoice_id,
            copy_id=item.copy_id,
            quickbooks_type=item.quickbooks_type,
            quickbooks_id=item.quickbooks_id,
            flags=[CopyFlagView.of(flag) for flag in item.flags],
        )


class AttentionList(BaseModel):
    items: list[AttentionView] = Field(description="Copies needing a human, the most recently flagged first.")


# --------------------------------------------------------------------------- copy jobs

JobIdPath = Annotated[
    str,
    Path(
        pattern=r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$",
        max_length=36,
        description="The copy job id (a UUID); any other value is answered 404.",
    ),
]


class CopyJobRequestBody(BaseModel):
    model_config = ConfigDict(extra="forbid")

    invoice_ids: list[Annotated[str, Field(pattern=r"^[0-9]{1,20}$", max_length=20)]] = Field(
        max_length=5000,
        description="1 to 500 distinct Productive invoice ids (digits); more, repeated ids or none: 422.",
    )
    mode: Literal["update", "create"] = Field(
        default="update",
        description="As for a single copy: update the last copy of each invoice (or create the first), or "
        "always create a new one.",
    )


class CopyJobAccepted(BaseModel):
    job_id: str
    status: Literal["queued", "running", "done"]
    total: int

    @classmethod
    def of(cls, job: Any) -> CopyJobAccepted:
        return cls(job_id=job.job_id, status=job.status, total=job.total)


class CopyJobErrorView(BaseModel):
    code: str = Field(description="Our error code, or quickbooks_<QuickBooks' code> with QuickBooks' own text.")
    message: str
    details: dict[str, Any]


class CopyJobItemView(BaseModel):
    invoice_id: str
    status: Literal["pending", "copied", "failed"]
    copy_: CopyView | None = Field(alias="copy", description="The copy as POST …/copies returns it.")
    error: CopyJobErrorView | None

    model_config = ConfigDict(populate_by_name=True, serialize_by_alias=True)

    @classmethod
    def of(cls, item: Any) -> CopyJobItemView:
        error = item.error
        return cls(
            invoice_id=item.invoice_id,
            status=item.status,
            copy_=None if item.copy is None else CopyView.of(item.copy),
            error=None
            if error is None
            else CopyJobErrorView(code=error.code, message=error.message, details=dict(error.details)),
        )


class CopyJobSummaryView(BaseModel):
    job_id: str
    status: Literal["queued", "running", "done"] = Field(description="done: no invoice is pending.")
    mode: Literal["update", "create"]
    total: int
    copied: int
    failed: int
    pending: int
    created_at: datetime
    started_at: datetime | None
    finished_at: datetime | None

    @classmethod
    def summary(cls, job: Any) -> dict[str, Any]:
        return {
            "job_id": job.job_id,
            "status": job.status,
            "mode": job.mode,
            "total": job.total,
            "copied": job.copied,
            "failed": job.failed,
            "pending": job.pending,
            "created_at": job.created_at,
            "started_at": job.started_at,
            "finished_at": job.finished_at,
        }

    @classmethod
    def of(cls, job: Any) -> CopyJobSummaryView:
        return cls(**cls.summary(job))


class CopyJobView(CopyJobSummaryView):
    items: list[CopyJobItemView] = Field(description="In the order the invoices were submitted.")

    @classmethod
    def of(cls, job: Any) -> CopyJobView:
        return cls(**cls.summary(job), items=[CopyJobItemView.of(item) for item in job.items])


class CopyJobList(BaseModel):
    items: list[CopyJobSummaryView] = Field(description="The connection's recent copy jobs, newest first.")


# --------------------------------------------------------------------------- activity log

ActivityInvoiceQuery = Annotated[
    str | None,
    Query(
        pattern=r"^[0-9]{1,20}$",
        max_length=20,
        description="Only the entries of this Productive invoice (digits).",
    ),
]
ActivityKindQuery = Annotated[ActivityKind | None, Query(description="Only the entries of this kind.")]
ActivityLimitQuery = Annotated[
    int, Query(ge=1, le=MAX_PAGE_SIZE, description=f"Entries per page, 1 to {MAX_PAGE_SIZE} (default 50).")
]
ActivityCursorQuery = Annotated[
    str | None,
    Query(
        min_length=1,
        max_length=200,
        description="The previous page's next_cursor, sent with the same connection and invoice_id (kind and "
        "limit may change); any other value is answered 422 (invalid_cursor).",
    ),
]


class ActivityView(BaseModel):
    id: str = Field(description="The entry's id.")
    kind: ActivityKind
    at: datetime
    invoice_id: str | None = Field(description="The Productive invoice the entry is about; null when none.")
    summary: str = Field(description="One sentence for people.")
    details: dict[str, Any] = Field(description="What the entry's kind records (docs/architecture.md, Activity log).")

    @classmethod
    def of(cls, entry: Any) -> ActivityView:
        return cls(
            id=entry.activity_id,
            kind=entry.kind,
            at=entry.at,
            invoice_id=entry.invoice_id,
            summary=entry.summary,
            details=dict(entry.details),
        )


class ActivityList(BaseModel):
    items: list[ActivityView] = Field(description="Newest first.")
    next_cursor: str | None = Field(
        description="Pass as `cursor` for the next (older) page; null on the last page. A page may hold fewer "
        "entries than `limit` and still have a next one."
    )
