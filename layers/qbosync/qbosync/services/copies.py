"""Copy a Productive invoice to QuickBooks Online, or update its last copy (docs/architecture.md "Copy";
README "Copy to QuickBooks"; docs/decisions/0002-head-lock-and-copy-marker.md). A Productive credit note
goes the same way as a QuickBooks CreditMemo (the document type is part of the prepared copy), and is
then applied to its parent invoice's copy (qbosync.domain.credit_notes).

No duplicates, ever:
- one copy of an invoice runs at a time (a lock per invoice);
- a create records its attempt (sequence, requestid, marker) before calling QuickBooks, so a retry
  after an uncertain outcome sends the same requestid (QuickBooks replays the first response) and,
  before creating again, looks for its own marker among the customer's invoices;
- the history entry, the customer mapping and Productive's export fields are written only once
  the QuickBooks invoice exists.

Nothing left behind by a refusal (README "Copy to QuickBooks", "Nothing left behind"):
- every read and every check comes first (the Productive invoice, its lines and client, the
  QuickBooks references, the whole QuickBooks invoice built once); the lock is the first write;
- a customer that has to be created (or reactivated) is created only after the references it would
  be used with were checked in QuickBooks (items, tax codes, the invoice number);
- a request that still ends in a refusal undoes what it wrote: the lock and its attempt go (the
  invoice's state item too, if no copy exists), and a customer it created or reactivated is made
  inactive again (QuickBooks cannot delete customers). A fault (5xx, timeout, lost answer) undoes
  nothing that a retry needs: the attempt stays, so the retry finds its marker."""

from __future__ import annotations

import logging
import threading
import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any, Literal

from qbosync.domain import activity
from qbosync.domain.activity import ActivityLog
from qbosync.domain.connection import CompanyProfile, Connection, ConnectionSettings, connected_company, existing
from qbosync.domain.copies import (
    CopyFlag,
    CopyMode,
    CopyRecord,
    CopyRepository,
    CopyRequest,
    CopyWarning,
    CreditApplication,
    CustomerMapping,
    InvoiceHead,
    PendingCopy,
    QuickBooksType,
    credit_application_marker,
    request_id_for,
)
from qbosync.domain.credit_notes import (
    ParentCopy,
    application_amount,
    application_payment,
    not_applied,
    partly_applied,
)
from qbosync.domain.errors import (
    Conflict,
    InvalidInput,
    NotFound,
    QuickBooksFault,
    ReauthorizationRequired,
)
from qbosync.domain.invoice_copy import (
    SourceInvoice,
    SourceLine,
    TaxChoice,
    build_invoice,
    copy_marker,
    copy_marker_prefix,
    memo_for,
    zero_rate_rank,
)
from qbosync.domain.money import cents, decimal_or_zero
from qbosync.domain.ports import Clock, ConnectionRepository, QuickBooksApi, QuickBooksApiFactory
from qbosync.domain.productive import (
    ProductiveApi,
    ProductiveInvoice,
    ProductiveLineItem,
    ProductiveProject,
    in_invoice_order,
)
from qbosync.domain.qbo_query import quote, quote_list
from qbosync.domain.quickbooks_changes import (
    changed_parts,
    details_digest,
    gone_in_quickbooks,
    lines_digest,
    resolved_by_update,
)
from qbosync.domain.tracking import NO_CLASSES, ClassChoice, uses_tracking
from qbosync.services.customers import CustomerPlan, CustomerResolver, ResolvedCustomer, UseCustomer
from qbosync.services.together import together
from qbosync.services.tokens import TokenService
from qbosync.services.tracking import CompanyTracking, for_copy, read_tracking

COPY_LOCK = timedelta(seconds=60)
ZERO_RATE_CACHE_KEY = "zero_rate_tax_code"

logger = logging.getLogger(__name__)


class CopyService:
    def __init__(
        self,
        *,
        connections: ConnectionRepository,
        copies: CopyRepository,
        tokens: TokenService,
        quickbooks: QuickBooksApiFactory,
        productive: Callable[[Connection, str], ProductiveApi],
        clock: Clock,
        quickbooks_app_url: str,
        activity: ActivityLog,
    ):
        self._activity = activity
        self._connections = connections
        self._copies = copies
        self._tokens = tokens
        self._quickbooks = quickbooks
        self._productive = productive
        self._clock = clock
        self._app_url = quickbooks_app_url.rstrip("/")

    # -- reads -----------------------------------------------------------------------------------

    def history(self, connection_id: str, invoice_id: str) -> list[CopyRecord]:
        self._connection(connection_id)
        return self._copies.history(connection_id, invoice_id)

    # -- the copy --------------------------------------------------------------------------------

    def copy(self, request: CopyRequest) -> CopyRecord:
        session = self.session(request.connection_id)
        try:
            return session.copy(request)
        except Exception as error:
            self._record_failure(request, error)
            raise

    def _record_failure(self, request: CopyRequest, error: Exception) -> None:
        """copy_failed in the activity log (a finished copy's entry is part of its `complete` write). A
        copy refused because another one of the invoice is running has not failed."""
        if isinstance(error, Conflict) and error.code == "copy_in_progress":
            return
        code, message, details = activity.error_summary(error)
        self._activity.record(
            activity.copy_failed(
                request.connection_id,
                request.invoice_id,
                self._clock.now(),
                code=code,
                message=message,
                details=details,
            )
        )

    def session(self, connection_id: str) -> CopySession:
        """What copies of this connection share: its QuickBooks and Productive clients and its customer
        resolver. 409 unless connected; needs_reconnect and friends surface here, before any other work."""
        connection = self._connection(connection_id)
        company = connected_company(connection)
        credentials = self._tokens.provider_for(connection.connection_id, connection)
        credentials.current()
        productive = self._productive(connection, credentials.secret().productive_api_token)
        qbo = self._quickbooks(company.realm_id, credentials)
        return CopySession(
            connection=connection,
            company=company,
            qbo=qbo,
            productive=productive,
            customers=CustomerResolver(
                connection_id=connection_id,
                company=company,
                quickbooks=qbo,
                productive=productive,
                mappings=self._copies,
            ),
            copies=self._copies,
            connections=self._connections,
            clock=self._clock,
            app_url=self._app_url,
        )

    # -- internals -------------------------------------------------------------------------------

    def _connection(self, connection_id: str) -> Connection:
        return existing(self._connections.get(connection_id))


class CopySession:
    """The copies of one connection, made one by one (`copy`) or in steps a bulk job interleaves:
    `prepare` (reads and checks only), `lock`, then the locked copy's `plan`, `send` (or a batch), and
    `complete`, with `undo` after a failure."""

    def __init__(
        self,
        *,
        connection: Connection,
        company: CompanyProfile,
        qbo: QuickBooksApi,
        productive: ProductiveApi,
        customers: CustomerResolver,
        copies: CopyRepository,
        connections: ConnectionRepository,
        clock: Clock,
        app_url: str,
    ) -> None:
        self.connection = connection
        self.company = company
        self.qbo = qbo
        self.productive = productive
        self.customers = customers
        self._copies = copies
        self._connections = connections
        self._clock = clock
        self._app_url = app_url
        self._tracking: CompanyTracking | None = None
        self._tracking_read = threading.Lock()

    def tracking(self) -> CompanyTracking | None:
        """The company's class and location tracking as the settings need it, read once per session
        (a bulk job's invoices share it); None when the settings put no class or location on copies."""
        if not uses_tracking(self.connection.settings):
            return None
        with self._tracking_read:
            if self._tracking is None:
                self._tracking = read_tracking(self.connection.settings, self.qbo)
            return self._tracking

    def copy(self, request: CopyRequest) -> CopyRecord:
        # Reads and checks only: a request refused here has written nothing.
        prepared = self.prepare(request)
        job = self.lock(request, prepared)
        if job is None:
            raise Conflict(
                "This invoice is being copied right now; try again in a moment.",
                code="copy_in_progress",
                details={"retry_after_seconds": 2},
            )
        try:
            # A finished copy frees the lock in the same write that records it.
            return job.run()
        except BaseException as error:
            job.undo_quietly(error)
            raise

    def prepare(
        self,
        request: CopyRequest,
        invoice: ProductiveInvoice | None = None,
        lines: list[ProductiveLineItem] | None = None,
        projects: Sequence[ProductiveProject] | None = None,
    ) -> PreparedCopy:
        """Everything that can refuse the request before the lock; `invoice`, `lines` and `projects` when
        the caller read them already (a bulk job reads them by the hundred)."""
        return _prepare(
            request,
            self.connection,
            self.company,
            qbo=self.qbo,
            productive=self.productive,
            copies=self._copies,
            connections=self._connections,
            customers=self.customers,
            tracking=self.tracking,
            known_invoice=invoice,
            known_lines=lines,
            known_projects=projects,
        )

    def lock(self, request: CopyRequest, prepared: PreparedCopy, lease: timedelta = COPY_LOCK) -> LockedCopy | None:
        """The invoice's lock, with the create attempt recorded (None: someone else holds it)."""
        owner = uuid.uuid4().hex
        now = self._clock.now()
        head = self._copies.lock(request.connection_id, request.invoice_id, owner, now, now + lease, pending_since=now)
        if head is None:
            return None
        return LockedCopy(
            request=request,
            prepared=prepared,
            head=head,
            owner=owner,
            qbo=self.qbo,
            productive=self.productive,
            customers=self.customers,
            copies=self._copies,
            clock=self._clock,
            app_url=self._app_url,
        )


def _is_refusal(error: BaseException) -> bool:
    """The request ends in a 4xx: it was refused, and what it wrote must not outlive it."""
    if isinstance(error, QuickBooksFault):
        return error.is_refusal
    return isinstance(error, NotFound | InvalidInput | Conflict | ReauthorizationRequired)


def _refuse_update_of_gone(last: CopyRecord) -> None:
    """A copy voided or deleted in QuickBooks is not updated (docs/architecture.md "Changes made in
    QuickBooks")."""
    gone = gone_in_quickbooks(last)
    if gone is not None:
        what = gone.kind.removesuffix("_in_quickbooks")
        raise Conflict(
            f"The last QuickBooks copy of this invoice was {what} in QuickBooks; copy it with mode 'create'.",
            code=f"copy_{gone.kind}",
            details={"quickbooks_id": last.quickbooks_id, "suggested_mode": "create"},
        )


def _no_customer() -> InvalidInput:
    return InvalidInput("The invoice has no client company; pick a QuickBooks customer.", code="no_customer")


# -- before the first write ----------------------------------------------------------------------


@dataclass(frozen=True)
class PreparedCopy:
    """What the reads and checks before the lock found: the invoice as it will be sent, and where its
    customer comes from."""

    settings: ConnectionSettings
    company: CompanyProfile
    #: "CreditMemo" for a Productive credit note (its source amounts are already turned positive).
    document: QuickBooksType
    source: SourceInvoice
    #: The Productive client company, the key of the customer mapping saved with the copy.
    company_id: str | None
    memo: str | None
    tax: TaxChoice
    #: None: no customer can be planned, and only an update of the last copy keeps its customer.
    customer: CustomerPlan | None
    #: What was looked up in QuickBooks to be cached; saved with the copy, never by a refused request.
    cache: Mapping[str, str]
    #: A credit note's parent invoice as copied to this company (None: not copied, or not a credit note).
    parent: ParentCopy | None = None
    #: The classes (per line or for the whole copy) and the location the settings give this copy.
    classes: ClassChoice = NO_CLASSES
    location_id: str | None = None
    #: What the copy will report whatever happens next (its project could not be told, its lines' classes
    #: disagree).
    warnings: tuple[CopyWarning, ...] = ()

    def body(self, customer_id: str, marker: str) -> dict[str, Any]:
        """The QuickBooks Invoice or CreditMemo body: the same rules; a CreditMemo has no due date."""
        body = build_invoice(
            invoice=self.source,
            settings=self.settings,
            company=self.company,
            customer_id=customer_id,
            tax=self.tax,
            memo=self.memo,
            marker=marker,
            line_classes=self.classes.lines,
            transaction_class=self.classes.transaction,
            location_id=self.location_id,
        )
        if self.document == "CreditMemo":
            body.pop("DueDate", None)
        return body


def _prepare(
    request: CopyRequest,
    connection: Connection,
    company: CompanyProfile,
    *,
    qbo: QuickBooksApi,
    productive: ProductiveApi,
    copies: CopyRepository,
    connections: ConnectionRepository,
    customers: CustomerResolver,
    tracking: Callable[[], CompanyTracking | None],
    known_invoice: ProductiveInvoice | None = None,
    known_lines: list[ProductiveLineItem] | None = None,
    known_projects: Sequence[ProductiveProject] | None = None,
) -> PreparedCopy:
    """Everything that can refuse the request without QuickBooks' answer to the invoice write: reads
    and checks only."""
    iid = request.invoice_id
    settings = connection.settings

    def projects() -> Sequence[ProductiveProject]:
        if known_projects is not None or settings.customer_level != "project":
            return known_projects or ()
        return productive.projects_of_invoices([iid]).get(iid, ())

    if known_invoice is not None and known_lines is not None:  # a bulk job read them by the hundred
        invoice, lines = known_invoice, known_lines
        (tax, cache), facts, billed = _tax_choice(request, company, copies, qbo), tracking(), projects()
    else:  # the invoice, its lines, the tax choice, the company's tracking and the projects do not depend
        # on each other: read at once
        invoice, lines, ((tax, cache), facts, billed) = together(
            lambda: known_invoice or productive.get_invoice(iid),
            lambda: productive.list_line_items(iid) if known_lines is None else known_lines,
            lambda: together(lambda: _tax_choice(request, company, copies, qbo), tracking, projects),
        )
    document: QuickBooksType = "CreditMemo" if invoice.is_credit_note else "Invoice"
    # A credit note whose parent went to another company is refused before anything is checked.
    parent = _parent_copy(invoice, connection, company, copies, connections, productive)
    source = _source_invoice(invoice, lines, credit=invoice.is_credit_note)
    memo = memo_for(source, settings, _custom_field_text(invoice, settings, productive))
    classes_and_location = for_copy(source.lines, settings, facts)
    # The project's sub-customer, unless a customer was picked or the credit memo goes to its parent's.
    by_project = settings.customer_level == "project" and parent is None and not request.customer_id
    project, project_warnings = _project_of(billed) if by_project and invoice.company_id else (None, ())
    prepared = PreparedCopy(
        settings=settings,
        company=company,
        document=document,
        source=source,
        company_id=invoice.company_id,
        memo=memo,
        tax=tax,
        customer=None,
        cache=cache,
        parent=parent,
        classes=classes_and_location.classes,
        location_id=classes_and_location.location_id,
        warnings=classes_and_location.warnings + project_warnings,
    )
    # The whole QuickBooks invoice (or credit memo), built once with stand-ins for the customer and the
    # marker: lines, items, tax, currency, number and memo are all checked here.
    draft = prepared.body("0", copy_marker(request.connection_id, iid, 0))
    plan: CustomerPlan | None
    if parent is not None:
        # The credit memo goes to the parent's customer: only then can it be applied to the parent.
        if request.customer_id and request.customer_id != parent.customer_id:
            raise InvalidInput(
                "A credit note goes to the QuickBooks customer its parent invoice was copied to; "
                "leave the customer empty or pick that one.",
                code="credit_note_customer_mismatch",
                details={"parent_customer_id": parent.customer_id},
            )
        plan = UseCustomer(parent.customer_id)
    else:
        plan = customers.plan(picked=request.customer_id, invoice=invoice, currency=source.currency, project=project)
    if plan is None and request.mode == "create":
        raise _no_customer()
    if plan is not None and plan.writes:
        _check_references(draft, request, qbo, document)
    return replace(prepared, customer=plan)


def _parent_copy(
    invoice: ProductiveInvoice,
    connection: Connection,
    company: CompanyProfile,
    copies: CopyRepository,
    connections: ConnectionRepository,
    productive: ProductiveApi,
) -> ParentCopy | None:
    """Where a credit note's parent invoice went in this connection's QuickBooks company: its last copy by
    this connection; else the copy its Productive export fields name, made by another connection of the
    same organization to the same company. None when the parent was not copied. 409 when it was exported
    somewhere else: a credit memo here could never be applied to it."""
    parent_id = invoice.parent_invoice_id
    if not invoice.is_credit_note or not parent_id:
        return None
    last = next(iter(copies.history(connection.connection_id, parent_id)), None)
    if last is not None and last.quickbooks_type == "Invoice":
        return ParentCopy(parent_id, last.quickbooks_id, last.customer_id)
    parent = productive.get_invoice(parent_id)
    if not parent.export_id:
        return None
    found = copies.copy_of_quickbooks_object(company.realm_id, "Invoice", parent.export_id)
    if found is not None and found.invoice_id == parent_id:
        owner = connections.get(found.connection_id)
        if owner is not None and owner.organization_id == connection.organization_id:
            return ParentCopy(parent_id, found.quickbooks_id, found.customer_id)
    raise Conflict(
        f"The credit note's parent invoice {parent.number or parent_id} was copied to another QuickBooks "
        f"company (or by another tool), not to {company.company_name}; copy the credit note through the "
        "connection its invoice was copied with.",
        code="parent_copied_elsewhere",
        details={"parent_invoice_id": parent_id, "parent_export_id": parent.export_id},
    )


def _project_of(projects: Sequence[ProductiveProject]) -> tuple[ProductiveProject | None, tuple[CopyWarning, ...]]:
    """The one project an invoice bills; with none, or several, the client's customer and a warning."""
    if len(projects) == 1:
        return projects[0], ()
    if not projects:
        return None, (
            CopyWarning(
                code="no_project",
                message="The invoice bills no Productive project (none of its budgets has one); it was copied "
                "to the client's customer.",
            ),
        )
    names = ", ".join(project.name or f"#{project.id}" for project in projects)
    return None, (
        CopyWarning(
            code="several_projects",
            message=f"The invoice bills several Productive projects ({names}); it was copied to the client's customer.",
            details={"projects": [{"id": project.id, "name": project.name} for project in projects]},
        ),
    )


def _check_references(draft: dict[str, Any], request: CopyRequest, qbo: QuickBooksApi, document: str) -> None:
    """Before a customer is created or reactivated for this invoice: would QuickBooks take the
    invoice? Its items and tax codes must be active, its number free. (QuickBooks cannot delete
    a customer, so a refusal found only after creating one would leave it behind.)"""
    sales = [line["SalesItemLineDetail"] for line in draft["Line"] if "SalesItemLineDetail" in line]
    items = sorted({str(detail["ItemRef"]["value"]) for detail in sales})
    active = {str(row["Id"]) for row in qbo.query(f"select * from Item where Id in {quote_list(items)}")}
    if missing := [item for item in items if item not in active]:
        raise InvalidInput(
            f"The QuickBooks item(s) {', '.join(missing)} used by this invoice are inactive or deleted in "
            "QuickBooks; map the service types to active items in the QuickBooks settings.",
            code="quickbooks_item_unavailable",
            details={"item_ids": missing},
        )
    codes = {str(detail["TaxCodeRef"]["value"]) for detail in sales if "TaxCodeRef" in detail}
    codes.discard("TAX")
    codes.discard("NON")
    if txn_code := (draft.get("TxnTaxDetail") or {}).get("TxnTaxCodeRef"):
        codes.add(str(txn_code["value"]))
    if codes:
        rows = qbo.query(f"select * from TaxCode where Id in {quote_list(sorted(codes))}")
        if missing := sorted(codes - {str(row["Id"]) for row in rows}):
            raise InvalidInput(
                f"The QuickBooks tax code(s) {', '.join(missing)} are inactive or deleted in QuickBooks; "
                "pick another tax code.",
                code="quickbooks_tax_code_unavailable",
                details={"tax_code_ids": missing},
            )
    if number := draft.get("DocNumber"):
        rows = qbo.query(f"select * from {document} where DocNumber = {quote(str(number))}")
        if request.mode == "update":  # the last copy keeps its number
            ours = copy_marker_prefix(request.connection_id, request.invoice_id)
            rows = [row for row in rows if ours not in str(row.get("PrivateNote", ""))]
        if rows:
            raise Conflict(
                f"QuickBooks already has {'a credit memo' if document == 'CreditMemo' else 'an invoice'} numbered "
                f"{number}; change the number in Productive or let QuickBooks number the invoices.",
                code="duplicate_doc_number",
                details={"doc_number": str(number), "quickbooks_invoice_id": str(rows[0]["Id"])},
            )


def _custom_field_text(
    invoice: ProductiveInvoice, settings: ConnectionSettings, productive: ProductiveApi
) -> str | None:
    if settings.memo_source != "custom_field" or not settings.memo_custom_field_id:
        return None
    field_id = settings.memo_custom_field_id
    raw = invoice.custom_fields.get(field_id)
    if raw is None:
        return None
    definition = productive.get_custom_field(field_id)
    return definition.display_value(raw)


def _tax_choice(
    request: CopyRequest, company: CompanyProfile, copies: CopyRepository, qbo: QuickBooksApi
) -> tuple[TaxChoice, dict[str, str]]:
    """The tax choice, and what was looked up in QuickBooks to find it (to be cached with the copy)."""
    if company.is_us or request.tax_code_id:
        return TaxChoice(code_id=request.tax_code_id), {}
    cached = copies.cached(request.connection_id, ZERO_RATE_CACHE_KEY)
    if cached:
        return TaxChoice(code_id=cached), {}
    rows = qbo.query("select * from TaxCode")
    ranked = sorted(
        (rank, str(row["Id"])) for row in rows if (rank := zero_rate_rank(str(row.get("Name", "")))) is not None
    )
    if ranked:
        code_id = ranked[0][1]
        return TaxChoice(code_id=code_id), {ZERO_RATE_CACHE_KEY: code_id}
    raise InvalidInput(
        "This QuickBooks company needs a tax code on every line and has no zero-rate code; pick a tax code.",
        code="tax_code_required",
    )


def _source_invoice(invoice: ProductiveInvoice, lines: list[ProductiveLineItem], *, credit: bool) -> SourceInvoice:
    """The invoice as the copy rules see it. A credit note's prices and totals are negative in Productive
    and positive on a QuickBooks credit memo: `credit` turns their sign."""
    ordered = in_invoice_order(lines)
    sign = Decimal(-1) if credit else Decimal(1)
    return SourceInvoice(
        invoice_id=invoice.id,
        number=invoice.number,
        subject=invoice.subject,
        note=invoice.note,
        po_number=invoice.purchase_order_number,
        invoiced_on=invoice.invoiced_on,
        pay_on=invoice.pay_on,
        currency=invoice.currency.upper(),
        discount_percent=invoice.discount or Decimal(0),
        amount=sign * invoice.amount,
        amount_with_tax=sign * invoice.amount_with_tax,
        lines=tuple(
            SourceLine(
                description=line.description,
                quantity=line.quantity,
                unit_price=sign * line.unit_price,
                discount_percent=line.discount or Decimal(0),
                service_type_id=line.service_type_id,
                service_type_name=line.service_type_name,
                taxable=bool(line.tax_rate_value and line.tax_rate_value > 0),
                amount=None if line.amount is None else sign * line.amount,
            )
            for line in ordered
        ),
        custom_fields=dict(invoice.custom_fields),
    )


# -- under the lock ------------------------------------------------------------------------------


@dataclass(frozen=True)
class PlannedWrite:
    """The QuickBooks write a locked copy needs: a create of copy `sequence`, or an update of `last`."""

    #: The Invoice or CreditMemo body (an update's carries Id, SyncToken and sparse).
    body: dict[str, Any]
    request_id: str
    sequence: int
    created_at: datetime
    #: The copy an update changes (None: a create).
    last: CopyRecord | None = None
    update_number: int = 0
    #: A credit memo's application as it stands before the write.
    application: CreditApplication | None = None
    #: An earlier attempt's create, found by its marker: nothing left to write.
    found: dict[str, Any] | None = None

    @property
    def is_create(self) -> bool:
        return self.last is None


class LockedCopy:
    """One prepared copy request, under its lock: the QuickBooks write (planned, then sent alone or in a
    batch), the PDF, the write-back and the history entry; and undo() after a failure. Everything it
    knows is given to it; what it did so far is kept for undo()."""

    def __init__(
        self,
        *,
        request: CopyRequest,
        prepared: PreparedCopy,
        head: InvoiceHead,
        owner: str,
        qbo: QuickBooksApi,
        productive: ProductiveApi,
        customers: CustomerResolver,
        copies: CopyRepository,
        clock: Clock,
        app_url: str,
    ) -> None:
        self.request = request
        self.prepared = prepared
        self.settings = prepared.settings
        self.document = prepared.document
        self.head = head  # as read by the lock that `owner` holds
        self.owner = owner
        self.qbo = qbo
        self.productive = productive
        self.customers = customers
        self.copies = copies
        self.clock = clock
        self.app_url = app_url
        self.warnings: list[CopyWarning] = list(prepared.warnings)
        # What this request did in QuickBooks, for undo(): the customer it created or reactivated,
        # whether it sent the invoice create, and what may now exist of the invoice write.
        self.customer: ResolvedCustomer | None = None
        self.create_sent = False
        self.invoice_write: Literal["none", "uncertain", "done"] = "none"

    def run(self) -> CopyRecord:
        planned = self.plan()
        written = planned.found if planned.found is not None else self.send(planned)
        return self.complete(planned, written)

    def plan(self, *, replaying: bool = False) -> PlannedWrite:
        """The write this copy needs: an update of the last copy, or a create (a customer to create or
        reactivate is written now). `replaying`: the caller re-sends the batch that carried this
        create, with its requestid, so QuickBooks answers with what it made; no marker look-up."""
        cid, iid = self.request.connection_id, self.request.invoice_id
        if self.request.mode == "update" and self.head.last_sequence:
            last = self.copies.copy(cid, iid, self.head.last_sequence)
            if last is not None:
                _refuse_update_of_gone(last)
                return self._plan_update(last)
        return self._plan_create(replaying=replaying)

    def sending(self, planned: PlannedWrite) -> None:
        """Called just before the write goes out (alone or in a batch): QuickBooks may hold it from now."""
        if planned.last is None:
            self.create_sent = True
        self.invoice_write = "uncertain"

    def refused(self, fault: QuickBooksFault) -> None:
        """QuickBooks answered the write with `fault`: after a refusal, nothing of it exists there."""
        if fault.is_refusal:
            self.invoice_write = "none"

    def send(self, planned: PlannedWrite, *, stale: bool = False) -> dict[str, Any]:
        """The write, alone. `stale`: an update QuickBooks already refused for its SyncToken."""
        if planned.last is not None:
            return self._send_update(planned, planned.last, stale=stale)
        self.sending(planned)
        try:
            return self.qbo.create(self.document, planned.body, request_id=planned.request_id)
        except QuickBooksFault as fault:
            self.refused(fault)
            raise

    def complete(self, planned: PlannedWrite, written: dict[str, Any]) -> CopyRecord:
        """After QuickBooks made `written`: the PDF, a credit memo's application, the write-back and the
        history entry. A failure from here on leaves a create's pending record: the retry finds the
        invoice by its marker and finishes the job (moving the PDF again at worst)."""
        self.invoice_write = "done"
        last, earlier = planned.last, planned.application
        written = self._without_stale_class(planned, written)
        application = self._after_write(
            written,
            planned.request_id,
            lambda: self._apply_credit(
                written, sequence=planned.sequence, previous=earlier, step=planned.update_number
            ),
        )
        if last is None:
            return self._finish(
                written,
                sequence=planned.sequence,
                mode="create",
                created_at=planned.created_at,
                credit_application=application,
            )
        return self._finish(
            written,
            sequence=last.sequence,
            mode="update",
            created_at=last.created_at,
            update_count=planned.update_number,
            credit_application=application,
            resolves=resolved_by_update(last.flags),
        )

    def undo_quietly(self, error: BaseException) -> None:
        """undo(), whose own failure is logged: the caller reports the first error, and the lease runs
        out by itself."""
        try:
            self.undo(error)
        except Exception as failure:
            logger.warning(
                "could not undo a failed copy",
                extra={
                    "connection_id": self.request.connection_id,
                    "invoice_id": self.request.invoice_id,
                    "error_class": type(failure).__name__,
                },
            )

    def undo(self, error: BaseException) -> None:
        """After a failure under the lock: give the lock back, keep the attempt only while QuickBooks
        may hold its invoice, and take back a customer nobody uses after a refusal."""
        cid, iid, head = self.request.connection_id, self.request.invoice_id, self.head
        # The attempt recorded with the lock means something only once its create was sent; a create
        # QuickBooks refused left nothing there.
        refused_create = self.create_sent and self.invoice_write == "none"
        drop_pending = head.pending is not None and (refused_create or (head.pending_is_new and not self.create_sent))
        try:
            if self.customer is not None and self.invoice_write == "none" and _is_refusal(error):
                for touched in reversed(self.customer.touched):  # a sub-customer before its parent
                    self.customers.retire(touched)
        finally:
            if head.last_sequence == 0 and (head.pending is None or drop_pending):
                self.copies.forget(cid, iid, self.owner)
            else:
                self.copies.unlock(cid, iid, self.owner, drop_pending=drop_pending)

    def _customer_id(self) -> str:
        """The planned customer; a new or inactive one is created or reactivated only now."""
        plan = self.prepared.customer
        if plan is None:
            raise _no_customer()
        self.customer = self.customers.resolve(plan)
        return self.customer.customer_id

    # -- create ----------------------------------------------------------------------------------

    def _plan_create(self, *, replaying: bool) -> PlannedWrite:
        cid, iid, head = self.request.connection_id, self.request.invoice_id, self.head
        now = self.clock.now()
        customer_id = self._customer_id()
        # The attempt was recorded with the lock, before QuickBooks may commit anything.
        pending = head.pending or PendingCopy.starting(cid, iid, head.last_sequence + 1, now)
        found = None if head.pending_is_new or replaying else self._find_by_marker(customer_id, pending)
        return PlannedWrite(
            body=self.prepared.body(customer_id, pending.marker),
            request_id=pending.request_id,
            sequence=pending.sequence,
            created_at=now,
            found=found,
        )

    def _find_by_marker(self, customer_id: str, pending: PendingCopy) -> dict[str, Any] | None:
        """After an uncertain outcome, our own invoice may already exist: look before creating."""
        since = (pending.started_at - timedelta(minutes=5)).isoformat()
        rows = self.qbo.query(
            f"select * from {self.document} where CustomerRef = {quote(customer_id)} "
            f"and MetaData.CreateTime >= {quote(since)}"
        )
        for row in rows:
            if pending.marker in str(row.get("PrivateNote", "")):
                return dict(row)
        return None

    # -- update ----------------------------------------------------------------------------------

    def _plan_update(self, last: CopyRecord) -> PlannedWrite:
        customer_id = self._customer_id() if self.prepared.customer is not None else last.customer_id
        body = self.prepared.body(
            customer_id, copy_marker(self.request.connection_id, self.request.invoice_id, last.sequence)
        )
        if self.settings.invoice_numbering == "quickbooks" and last.doc_number:
            body["DocNumber"] = last.doc_number  # keep the number QuickBooks gave it
        update_number = last.update_count + 1
        return PlannedWrite(
            body={**body, "Id": last.quickbooks_id, "SyncToken": last.sync_token, "sparse": True},
            request_id=request_id_for(
                self.request.connection_id, self.request.invoice_id, last.sequence, "update", update_number
            ),
            sequence=last.sequence,
            created_at=last.created_at,
            last=last,
            update_number=update_number,
            application=self._make_room_for(last, update_number),
        )

    def _send_update(self, planned: PlannedWrite, last: CopyRecord, *, stale: bool) -> dict[str, Any]:
        """A 5010 (stale SyncToken) reads the copy again and overwrites it once."""
        attempt = 1 if stale else 0
        sync_token = self._overwrite_token(last) if stale else last.sync_token
        while True:
            self.sending(planned)
            try:
                return self.qbo.update(
                    self.document,
                    {**planned.body, "SyncToken": sync_token},
                    request_id=f"{planned.request_id[:33]}-{attempt}",
                )
            except QuickBooksFault as fault:
                self.refused(fault)
                if fault.fault_code == QuickBooksFault.STALE_OBJECT and attempt == 0:
                    attempt, sync_token = 1, self._overwrite_token(last)
                    continue
                if fault.fault_code == QuickBooksFault.OBJECT_NOT_FOUND or fault.http_status == 404:
                    raise self._copy_gone() from fault
                raise

    def _without_stale_class(self, planned: PlannedWrite, written: dict[str, Any]) -> dict[str, Any]:
        """An update whose body has no invoice-level class (its lines now disagree, or classes went per
        line) leaves the class an earlier copy set: a sparse update cannot clear a field. When this
        connection sets classes, a full update of what QuickBooks answered, without it, clears it
        (docs/architecture.md "Projects, classes and locations")."""
        if (
            planned.last is None
            or self.settings.class_source == "none"
            or "ClassRef" in planned.body
            or not written.get("ClassRef")
        ):
            return written
        full = {name: value for name, value in written.items() if name not in ("ClassRef", "sparse")}
        return self.qbo.update(self.document, full, request_id=f"{planned.request_id[:33]}-c")

    def _overwrite_token(self, last: CopyRecord) -> str:
        """The copy's SyncToken now, with a warning when what our last write left was edited."""
        current = self.qbo.get(self.document, last.quickbooks_id)
        if current is None:
            raise self._copy_gone()
        # A payment or a credit applied moves the SyncToken too: only a change to what we wrote is
        # someone's edit.
        if changed_parts(last, current, details=True):
            self.warnings.append(
                CopyWarning(
                    code="quickbooks_edits_overwritten",
                    message="The QuickBooks invoice had been edited in QuickBooks since the last copy; "
                    "those edits were replaced by this update.",
                )
            )
        return str(current["SyncToken"])

    @staticmethod
    def _copy_gone() -> Conflict:
        return Conflict(
            "The last QuickBooks copy of this invoice no longer exists; copy it with mode 'create'.",
            code="copy_missing_in_quickbooks",
        )

    # -- shared steps ----------------------------------------------------------------------------

    def _after_write(
        self, written: dict[str, Any], request_id: str, apply_credit: Callable[[], CreditApplication | None]
    ) -> CreditApplication | None:
        """What follows the QuickBooks write, none depending on another: the PDF move, a credit memo's
        application, and the write-back to Productive. Returns the application."""
        _, application, _ = together(
            lambda: self._move_pdf(str(written["Id"]), request_id),
            apply_credit,
            lambda: self._write_back(written),
        )
        return application

    def _write_back(self, written: dict[str, Any]) -> None:
        """Productive's export fields, and the QuickBooks number when QuickBooks numbers the invoices."""
        qbo_id = str(written["Id"])
        doc_number = written.get("DocNumber")
        number_back = doc_number if self.settings.invoice_numbering == "quickbooks" and doc_number else None
        self.productive.update_invoice_export(
            self.request.invoice_id, export_id=qbo_id, export_invoice_url=self._url(qbo_id), number=number_back
        )

    def _url(self, qbo_id: str) -> str:
        return f"{self.app_url}/app/{self.document.lower()}?txnId={qbo_id}"

    def _finish(
        self,
        qbo_invoice: dict[str, Any],
        *,
        sequence: int,
        mode: CopyMode,
        created_at: datetime,
        update_count: int = 0,
        credit_application: CreditApplication | None = None,
        resolves: tuple[CopyFlag, ...] = (),
    ) -> CopyRecord:
        cid, iid = self.request.connection_id, self.request.invoice_id
        source = self.prepared.source
        qbo_id = str(qbo_invoice["Id"])
        doc_number = qbo_invoice.get("DocNumber")
        url = self._url(qbo_id)
        total = decimal_or_zero(qbo_invoice.get("TotalAmt"))
        if self.settings.invoice_numbering == "quickbooks" and not doc_number:
            self.warnings.append(
                CopyWarning(
                    code="no_quickbooks_number",
                    message="QuickBooks did not number the invoice (custom transaction numbers are on in "
                    "QuickBooks); the Productive number was kept.",
                )
            )
        if cents(total) != cents(source.amount_with_tax):
            self.warnings.append(
                CopyWarning(
                    code="total_mismatch",
                    message=f"The QuickBooks total {total} {source.currency} differs from Productive's "
                    f"{source.amount_with_tax} {source.currency}.",
                    details={
                        "quickbooks_total": str(cents(total)),
                        "productive_total": str(cents(source.amount_with_tax)),
                        "difference": str(cents(total - source.amount_with_tax)),
                    },
                )
            )
        now = self.clock.now()
        record = CopyRecord(
            connection_id=cid,
            invoice_id=iid,
            sequence=sequence,
            copy_id=f"{iid}-{sequence}",
            quickbooks_id=qbo_id,
            doc_number=str(doc_number) if doc_number else None,
            total_amount=total,
            currency=source.currency,
            quickbooks_url=url,
            mode=mode,
            created_at=created_at,
            updated_at=now,
            sync_token=str(qbo_invoice.get("SyncToken", "0")),
            customer_id=str((qbo_invoice.get("CustomerRef") or {}).get("value", "")),
            realm_id=self.prepared.company.realm_id,
            warnings=tuple(self.warnings),
            update_count=update_count,
            quickbooks_type=self.document,
            credit_application=credit_application,
            lines_digest=lines_digest(qbo_invoice),
            details_digest=details_digest(qbo_invoice),
        )
        entry = activity.copy_done(record, invoice_number=source.number)
        self.copies.complete(
            record, mappings=self._mappings(record), cache=self.prepared.cache, resolves=resolves, activity=entry
        )
        return record

    def _mappings(self, record: CopyRecord) -> tuple[CustomerMapping, ...]:
        """What this copy teaches about customers: the client's customer (the one picked, found or
        created), and its project's sub-customer. A credit memo that went to its parent invoice's customer
        teaches nothing (that customer may be a project's)."""
        company_id, currency = self.prepared.company_id, record.currency
        if company_id is None or self.prepared.parent is not None:
            return ()
        resolved = self.customer
        if resolved is not None and resolved.project_id and resolved.parent_id:
            return (
                CustomerMapping("client", company_id, currency, resolved.parent_id),
                CustomerMapping("project", resolved.project_id, currency, record.customer_id),
            )
        return (CustomerMapping("client", company_id, currency, record.customer_id),)

    def _move_pdf(self, qbo_id: str, request_id: str) -> None:
        iid = self.request.invoice_id
        if self.settings.pdf_source == "quickbooks":
            pdf = self.qbo.download_pdf(self.document, qbo_id)
            kind = "credit-memo" if self.document == "CreditMemo" else "invoice"
            self.productive.attach_pdf_to_invoice(iid, f"quickbooks-{kind}-{qbo_id}.pdf", pdf)
        else:
            pdf = self.productive.download_invoice_pdf(iid)
            self.qbo.upload_attachment(
                entity=self.document,
                entity_id=qbo_id,
                filename=f"productive-invoice-{iid}.pdf",
                content=pdf,
                content_type="application/pdf",
                request_id=f"{request_id[:30]}-pdf",
            )

    # -- a credit memo's application to its parent invoice ------------------------------------------

    def _make_room_for(self, last: CopyRecord, update_number: int) -> CreditApplication | None:
        """Before a credit memo's update: QuickBooks refuses a credit memo total below what is applied from
        it, so an application larger than the new total (Productive's) is lowered to it first."""
        previous = last.credit_application
        expected = cents(self.prepared.source.amount_with_tax)
        if previous is None or previous.amount <= expected:
            return previous
        return self._write_application(
            previous,
            max(expected, Decimal(0)),
            credit_memo_id=last.quickbooks_id,
            sequence=last.sequence,
            request_id=request_id_for(
                self.request.connection_id, self.request.invoice_id, last.sequence, "apply-room", update_number
            ),
        )

    def _apply_credit(
        self, credit_memo: dict[str, Any], *, sequence: int, previous: CreditApplication | None, step: int
    ) -> CreditApplication | None:
        """Apply the credit memo to its parent invoice's copy, up to what the invoice has open, or bring an
        earlier application in line with the credit memo as it is now. A refusal by QuickBooks becomes a
        warning: the credit memo exists either way, and the credit stays on the customer's account."""
        parent = self.prepared.parent
        if parent is None or not self.settings.apply_credit_notes:
            return previous
        currency = self.prepared.source.currency
        credit_total = decimal_or_zero(credit_memo.get("TotalAmt"))
        if str((credit_memo.get("CustomerRef") or {}).get("value", "")) != parent.customer_id:
            self.warnings.append(
                not_applied("customer_differs", "The credit memo's customer is not the parent invoice's customer.")
            )
            return previous
        if previous is None and (whole := self._apply_whole(credit_memo, sequence=sequence, step=step)) is not None:
            return whole
        invoice = self.qbo.get("Invoice", parent.quickbooks_invoice_id)
        if invoice is None:
            self.warnings.append(
                not_applied("parent_missing_in_quickbooks", "The parent invoice's copy no longer exists in QuickBooks.")
            )
            return previous
        # Our earlier payment counts only while the invoice still lists it (it may have been deleted).
        linked = {
            str(txn.get("TxnId"))
            for txn in invoice.get("LinkedTxn") or []
            if txn.get("TxnType") == "Payment" and txn.get("TxnId") is not None
        }
        if previous is not None and (
            previous.payment_id not in linked or previous.quickbooks_invoice_id != parent.quickbooks_invoice_id
        ):
            previous = None
        applied_before = previous.amount if previous is not None else Decimal(0)
        amount = application_amount(credit_total, decimal_or_zero(invoice.get("Balance")), applied_before)
        try:
            application = self._write_application(
                previous,
                amount,
                credit_memo_id=str(credit_memo["Id"]),
                sequence=sequence,
                request_id=request_id_for(self.request.connection_id, self.request.invoice_id, sequence, "apply", step),
            )
        except QuickBooksFault as fault:
            if not fault.is_refusal:
                raise
            self.warnings.append(
                not_applied("quickbooks_refused", f"QuickBooks refused to apply the credit memo: {fault}")
            )
            return previous
        if amount == 0:
            self.warnings.append(
                not_applied(
                    "parent_not_open",
                    "The parent invoice has nothing open in QuickBooks; the credit stays on the customer's account.",
                )
            )
        elif amount < cents(credit_total):
            self.warnings.append(partly_applied(credit_total, amount, currency))
        return application

    def _apply_whole(self, credit_memo: dict[str, Any], *, sequence: int, step: int) -> CreditApplication | None:
        """A first application of all of the credit, without reading the invoice first: QuickBooks refuses
        a payment line above the invoice's open balance, and only then is the invoice read to apply what
        it has open (docs/architecture.md "Credit notes"). None: refused, or nothing to apply."""
        parent = self.prepared.parent
        assert parent is not None
        amount = cents(decimal_or_zero(credit_memo.get("TotalAmt")))
        if amount <= 0:
            return None
        try:
            return self._write_application(
                None,
                amount,
                credit_memo_id=str(credit_memo["Id"]),
                sequence=sequence,
                request_id=request_id_for(
                    self.request.connection_id, self.request.invoice_id, sequence, "apply-whole", step
                ),
            )
        except QuickBooksFault as fault:
            if not fault.is_refusal:
                raise
            return None

    def _write_application(
        self,
        previous: CreditApplication | None,
        amount: Decimal,
        *,
        credit_memo_id: str,
        sequence: int,
        request_id: str,
    ) -> CreditApplication | None:
        """Make our application payment apply `amount`: create it, change it, or delete it (amount 0)."""
        parent = self.prepared.parent
        assert parent is not None
        cid, iid = self.request.connection_id, self.request.invoice_id
        if previous is not None and previous.amount == amount:
            return previous
        body = application_payment(
            customer_id=parent.customer_id,
            quickbooks_invoice_id=parent.quickbooks_invoice_id,
            credit_memo_id=credit_memo_id,
            amount=amount,
            txn_date=self.prepared.source.invoiced_on,
            marker=credit_application_marker(cid, iid, sequence),
        )
        if previous is None:
            if amount == 0:
                return None
            created = self.qbo.create("Payment", body, request_id=request_id)
            payment_id = str(created["Id"])
            # Recorded at once, so payment sync knows this payment is ours before the copy completes.
            self.copies.record_credit_application(
                self.prepared.company.realm_id, payment_id, connection_id=cid, invoice_id=iid, sequence=sequence
            )
            return CreditApplication(
                payment_id, parent.quickbooks_invoice_id, amount, str(created.get("SyncToken", "0"))
            )
        sync_token = previous.sync_token
        for attempt in range(2):
            try:
                if amount == 0:
                    self.qbo.update(
                        "Payment",
                        {"Id": previous.payment_id, "SyncToken": sync_token},
                        request_id=f"{request_id[:33]}-{attempt}",
                        operation="delete",
                    )
                    return None
                updated = self.qbo.update(
                    "Payment",
                    {**body, "Id": previous.payment_id, "SyncToken": sync_token, "sparse": True},
                    request_id=f"{request_id[:33]}-{attempt}",
                )
                return replace(previous, amount=amount, sync_token=str(updated.get("SyncToken", sync_token)))
            except QuickBooksFault as fault:
                if fault.fault_code != QuickBooksFault.STALE_OBJECT or attempt:
                    raise
                current = self.qbo.get("Payment", previous.payment_id)
                if current is None:
                    return self._write_application(
                        None, amount, credit_memo_id=credit_memo_id, sequence=sequence, request_id=request_id
                    )
                sync_token = str(current["SyncToken"])
        raise AssertionError("unreachable")  # pragma: no cover
