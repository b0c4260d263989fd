"""Copy a Productive invoice to QuickBooks Online, or update its last copy (docs/architecture.md "Copy";
README "Copy to QuickBooks"; docs/decisions/0002-head-lock-and-copy-marker.md).

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
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any, Literal

from qbosync.domain.connection import CompanyProfile, Connection, ConnectionSettings, ConnectionStatus, existing
from qbosync.domain.copies import (
    CopyMode,
    CopyRecord,
    CopyRepository,
    CopyRequest,
    CopyWarning,
    InvoiceHead,
    PendingCopy,
    request_id_for,
)
from qbosync.domain.errors import (
    Conflict,
    ConnectionNotReady,
    DomainError,
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
    clean_display_name,
    copy_marker,
    copy_marker_prefix,
    memo_for,
    zero_rate_rank,
)
from qbosync.domain.money import cents, decimal_or_zero
from qbosync.domain.ports import Clock, ConnectionRepository
from qbosync.domain.productive import (
    ProductiveApi,
    ProductiveCompany,
    ProductiveInvoice,
    ProductiveLineItem,
    in_invoice_order,
)
from qbosync.domain.qbo_query import quote, quote_list
from qbosync.services.tokens import TokenService

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
        quickbooks: Callable[[str, Any], Any],
        productive: Callable[[Connection, str], ProductiveApi],
        clock: Clock,
        quickbooks_app_url: str,
    ):
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
        connection = self._connection(request.connection_id)
        if connection.status is not ConnectionStatus.CONNECTED or connection.company is None:
            raise ConnectionNotReady(
                f"The connection is {connection.status.value}; connect it to QuickBooks first.",
                details={"status": connection.status.value, "reason": connection.status_reason},
            )
        credentials = self._tokens.provider_for(connection.connection_id, connection)
        credentials.current()  # needs_reconnect and friends surface before any other work
        productive = self._productive(connection, credentials.secret().productive_api_token)
        qbo = self._quickbooks(connection.company.realm_id, credentials)
        job = _CopyJob(self, connection, request, qbo, productive)
        job.prepare()  # reads and checks only: a request refused here has written nothing
        owner = uuid.uuid4().hex
        now = self._clock.now()
        head = self._copies.lock(
            request.connection_id, request.invoice_id, owner, now, now + COPY_LOCK, pending_since=now
        )
        if head is None:
            raise Conflict(
                "This invoice is being copied right now; try again in a moment.",
                code="copy_in_progress",
                details={"retry_after_seconds": 2},
            )
        try:
            # A finished copy frees the lock in the same write that records it.
            return job.run(head)
        except BaseException as error:
            try:
                job.undo(head, owner, error)
            except Exception as failure:  # the caller gets the first error; the lease runs out by itself
                logger.warning(
                    "could not undo a failed copy",
                    extra={
                        "connection_id": request.connection_id,
                        "invoice_id": request.invoice_id,
                        "error_class": type(failure).__name__,
                    },
                )
            raise

    # -- internals -------------------------------------------------------------------------------

    def _connection(self, connection_id: str) -> Connection:
        return existing(self._connections.get(connection_id))


def _is_refusal(error: BaseException) -> bool:
    """The request ends in a 4xx: it was refused, and what it wrote must not outlive it."""
    if isinstance(error, QuickBooksFault):
        return error.is_refusal
    return isinstance(error, NotFound | InvalidInput | Conflict | ReauthorizationRequired)


@dataclass(frozen=True)
class _CustomerPlan:
    """Where the customer will come from, decided before anything is written: an existing active
    customer (`customer_id`), an inactive one to reactivate, or a new one (`resolver`, from its
    candidate name number `start` on)."""

    customer_id: str | None = None
    inactive: dict[str, Any] | None = None
    resolver: _CustomerResolver | None = None
    start: int = 0

    @property
    def writes(self) -> bool:
        return self.customer_id is None


class _CopyJob:
    """One copy request, with the state it gathers along the way."""

    def __init__(
        self, service: CopyService, connection: Connection, request: CopyRequest, qbo: Any, productive: ProductiveApi
    ):
        assert connection.company is not None
        self.s = service
        self.connection = connection
        self.company: CompanyProfile = connection.company
        self.settings: ConnectionSettings = connection.settings
        self.request = request
        self.qbo = qbo
        self.productive = productive
        self.warnings: list[CopyWarning] = []
        self.cache: dict[str, str] = {}  # looked up in QuickBooks; saved with the copy
        self.plan: _CustomerPlan | None = None  # None: the last copy's customer (update only)
        # What this request did in QuickBooks, for undo(): the customer it created or reactivated,
        # whether it sent the invoice create, and what may now exist of the invoice write.
        self.touched_customer: dict[str, Any] | None = None
        self.create_sent = False
        self.invoice_write: Literal["none", "uncertain", "done"] = "none"

    # -- before the first write ------------------------------------------------------------------

    def prepare(self) -> None:
        """Everything that can refuse the request without QuickBooks' answer to the invoice write:
        reads and checks only."""
        iid = self.request.invoice_id
        invoice = self.productive.get_invoice(iid)
        self.company_id = invoice.company_id
        lines = self.productive.list_line_items(iid)
        self.source = _source_invoice(invoice, lines)
        self.memo = memo_for(self.source, self.settings, self._custom_field_text(invoice))
        self.tax = self._tax_choice()
        # The whole QuickBooks invoice, built once with stand-ins for the customer and the marker:
        # lines, items, tax, currency, number and memo are all checked here.
        draft = self._body("0", copy_marker(self.request.connection_id, iid, 0))
        self.plan = self._customer_plan(invoice)
        if self.plan is None and self.request.mode == "create":
            raise self._no_customer()
        if self.plan is not None and self.plan.writes:
            self._check_references(draft)

    def _customer_plan(self, invoice: ProductiveInvoice) -> _CustomerPlan | None:
        if self.request.customer_id:
            return _CustomerPlan(customer_id=self.request.customer_id)
        if not invoice.company_id:
            return None
        currency = self.source.currency
        mapped = self.s._copies.customer_for(self.request.connection_id, invoice.company_id, currency)
        if mapped:
            return _CustomerPlan(customer_id=mapped)
        company = invoice.company or self.productive.get_company(invoice.company_id)
        return _CustomerResolver(self, company, currency).plan()

    def _check_references(self, draft: dict[str, Any]) -> None:
        """Before a customer is created or reactivated for this invoice: would QuickBooks take the
        invoice? Its items and tax codes must be active, its number free. (QuickBooks cannot delete
        a customer, so a refusal found only after creating one would leave it behind.)"""
        sales = [line["SalesItemLineDetail"] for line in draft["Line"] if "SalesItemLineDetail" in line]
        items = sorted({str(detail["ItemRef"]["value"]) for detail in sales})
        active = {str(row["Id"]) for row in self.qbo.query(f"select * from Item where Id in {quote_list(items)}")}
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
            rows = self.qbo.query(f"select * from TaxCode where Id in {quote_list(sorted(codes))}")
            if missing := sorted(codes - {str(row["Id"]) for row in rows}):
                raise InvalidInput(
                    f"The QuickBooks tax code(s) {', '.join(missing)} are inactive or deleted in QuickBooks; "
                    "pick another tax code.",
                    code="quickbooks_tax_code_unavailable",
                    details={"tax_code_ids": missing},
                )
        if number := draft.get("DocNumber"):
            rows = self.qbo.query(f"select * from Invoice where DocNumber = {quote(str(number))}")
            if self.request.mode == "update":  # the last copy keeps its number
                ours = copy_marker_prefix(self.request.connection_id, self.request.invoice_id)
                rows = [row for row in rows if ours not in str(row.get("PrivateNote", ""))]
            if rows:
                raise Conflict(
                    f"QuickBooks already has an invoice numbered {number}; change the number in Productive or "
                    "let QuickBooks number the invoices.",
                    code="duplicate_doc_number",
                    details={"doc_number": str(number), "quickbooks_invoice_id": str(rows[0]["Id"])},
                )

    # -- under the lock --------------------------------------------------------------------------

    def run(self, head: InvoiceHead) -> CopyRecord:
        cid, iid = self.request.connection_id, self.request.invoice_id
        if self.request.mode == "update" and head.last_sequence:
            last = self.s._copies.copy(cid, iid, head.last_sequence)
            if last is not None:
                return self._update(last)
        return self._create(head)

    def undo(self, head: InvoiceHead, owner: str, error: BaseException) -> None:
        """After a failure under the lock: give the lock back, keep the attempt only while QuickBooks
        may hold its invoice, and take back a customer nobody uses after a refusal."""
        cid, iid = self.request.connection_id, self.request.invoice_id
        # The attempt recorded with the lock means something only once its create was sent; a create
        # QuickBooks refused left nothing there.
        refused_create = self.create_sent and self.invoice_write == "none"
        drop_pending = head.pending is not None and (refused_create or (head.pending_is_new and not self.create_sent))
        try:
            if self.touched_customer is not None and self.invoice_write == "none" and _is_refusal(error):
                self._retire_customer(self.touched_customer)
        finally:
            if head.last_sequence == 0 and (head.pending is None or drop_pending):
                self.s._copies.forget(cid, iid, owner)
            else:
                self.s._copies.unlock(cid, iid, owner, drop_pending=drop_pending)

    def _retire_customer(self, customer: dict[str, Any]) -> None:
        """Make a customer this request created or reactivated inactive again, unless an invoice of
        it appeared meanwhile (another copy of the same client found it by name)."""
        customer_id = str(customer["Id"])
        try:
            since = str((customer.get("MetaData") or {}).get("LastUpdatedTime") or "")
            used = self.qbo.query(
                f"select * from Invoice where CustomerRef = {quote(customer_id)}"
                + (f" and MetaData.CreateTime >= {quote(since)}" if since else "")
                + " maxresults 1"
            )
            if used:
                return
            self.qbo.update(
                "Customer",
                {"Id": customer_id, "SyncToken": customer["SyncToken"], "Active": False, "sparse": True},
                request_id=request_id_for("deactivate", customer_id, customer["SyncToken"]),
            )
        except DomainError as failure:  # the caller gets the refusal; the customer stays, active
            logger.warning(
                "could not make an unused customer inactive again",
                extra={"customer_id": customer_id, "reason": failure.code},
            )

    def _body(self, customer_id: str, marker: str) -> dict[str, Any]:
        return build_invoice(
            invoice=self.source,
            settings=self.settings,
            company=self.company,
            customer_id=customer_id,
            tax=self.tax,
            memo=self.memo,
            marker=marker,
        )

    # -- create ----------------------------------------------------------------------------------

    def _create(self, head: InvoiceHead) -> CopyRecord:
        cid, iid = self.request.connection_id, self.request.invoice_id
        now = self.s._clock.now()
        customer_id = self._customer_id()
        # The attempt was recorded with the lock, before QuickBooks may commit anything.
        pending = head.pending or PendingCopy.starting(cid, iid, head.last_sequence + 1, now)
        created = None if head.pending_is_new else self._find_by_marker(customer_id, pending)
        if created is None:
            self.create_sent = True
            self.invoice_write = "uncertain"
            try:
                created = self.qbo.create(
                    "Invoice", self._body(customer_id, pending.marker), request_id=pending.request_id
                )
            except QuickBooksFault as fault:
                if fault.is_refusal:
                    self.invoice_write = "none"  # QuickBooks refused it: nothing exists there
                raise
        self.invoice_write = "done"
        # A failure from here on leaves the pending record: the retry finds this invoice by its
        # marker and finishes the job (moving the PDF again at worst).
        self._move_pdf(str(created["Id"]), pending.request_id)
        return self._finish(created, sequence=pending.sequence, mode="create", created_at=now)

    def _find_by_marker(self, customer_id: str, pending: PendingCopy) -> dict[str, Any] | None:
        """After an uncertain outcome, our own invoice may already exist: look before creating."""
        since = (pending.started_at - timedelta(minutes=5)).isoformat()
        rows = self.qbo.query(
            f"select * from Invoice where CustomerRef = {quote(customer_id)} and MetaData.CreateTime >= {quote(since)}"
        )
        for row in rows:
            if pending.marker in str(row.get("PrivateNote", "")):
                return dict(row)
        return None

    # -- update ----------------------------------------------------------------------------------

    def _update(self, last: CopyRecord) -> CopyRecord:
        customer_id = self._customer_id() if self.plan is not None else last.customer_id
        body = self._body(customer_id, copy_marker(self.request.connection_id, self.request.invoice_id, last.sequence))
        if self.settings.invoice_numbering == "quickbooks" and last.doc_number:
            body["DocNumber"] = last.doc_number  # keep the number QuickBooks gave it
        update_number = last.update_count + 1
        request_id = request_id_for(
            self.request.connection_id, self.request.invoice_id, last.sequence, "update", update_number
        )
        sync_token = last.sync_token
        for attempt in range(2):
            try:
                self.invoice_write = "uncertain"
                updated = self.qbo.update(
                    "Invoice",
                    {**body, "Id": last.quickbooks_invoice_id, "SyncToken": sync_token, "sparse": True},
                    request_id=f"{request_id[:33]}-{attempt}",
                )
                break
            except QuickBooksFault as fault:
                if fault.is_refusal:
                    self.invoice_write = "none"
                if fault.fault_code == QuickBooksFault.STALE_OBJECT and attempt == 0:
                    current = self.qbo.get("Invoice", last.quickbooks_invoice_id)
                    if current is None:
                        raise self._copy_gone() from fault
                    sync_token = str(current["SyncToken"])
                    self.warnings.append(
                        CopyWarning(
                            code="quickbooks_edits_overwritten",
                            message="The QuickBooks invoice had been edited in QuickBooks since the last copy; "
                            "those edits were replaced by this update.",
                        )
                    )
                    continue
                if fault.fault_code == QuickBooksFault.OBJECT_NOT_FOUND or fault.http_status == 404:
                    raise self._copy_gone() from fault
                raise
        self.invoice_write = "done"
        self._move_pdf(str(updated["Id"]), request_id)
        return self._finish(
            updated,
            sequence=last.sequence,
            mode="update",
            created_at=last.created_at,
            update_count=update_number,
        )

    @staticmethod
    def _copy_gone() -> Conflict:
        return Conflict(
            "The last QuickBooks copy of this invoice no longer exists; copy it with mode 'create'.",
            code="copy_missing_in_quickbooks",
        )

    @staticmethod
    def _no_customer() -> InvalidInput:
        return InvalidInput("The invoice has no client company; pick a QuickBooks customer.", code="no_customer")

    # -- shared steps ----------------------------------------------------------------------------

    def _finish(
        self,
        qbo_invoice: dict[str, Any],
        *,
        sequence: int,
        mode: CopyMode,
        created_at: datetime,
        update_count: int = 0,
    ) -> CopyRecord:
        cid, iid = self.request.connection_id, self.request.invoice_id
        source = self.source
        qbo_id = str(qbo_invoice["Id"])
        doc_number = qbo_invoice.get("DocNumber")
        url = f"{self.s._app_url}/app/invoice?txnId={qbo_id}"
        total = decimal_or_zero(qbo_invoice.get("TotalAmt"))
        number_back = doc_number if self.settings.invoice_numbering == "quickbooks" and doc_number else None
        if self.settings.invoice_numbering == "quickbooks" and not doc_number:
            self.warnings.append(
                CopyWarning(
                    code="no_quickbooks_number",
                    message="QuickBooks did not number the invoice (custom transaction numbers are on in "
                    "QuickBooks); the Productive number was kept.",
                )
            )
        self.productive.update_invoice_export(iid, export_id=qbo_id, export_invoice_url=url, number=number_back)
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
        now = self.s._clock.now()
        record = CopyRecord(
            connection_id=cid,
            invoice_id=iid,
            sequence=sequence,
            copy_id=f"{iid}-{sequence}",
            quickbooks_invoice_id=qbo_id,
            doc_number=str(doc_number) if doc_number else None,
            total_amount=total,
            currency=source.currency,
            quickbooks_url=url,
            mode=mode,
            created_at=created_at,
            updated_at=now,
            sync_token=str(qbo_invoice.get("SyncToken", "0")),
            customer_id=str((qbo_invoice.get("CustomerRef") or {}).get("value", "")),
            realm_id=self.company.realm_id,
            warnings=tuple(self.warnings),
            update_count=update_count,
        )
        self.s._copies.complete(record, company_id=self.company_id, cache=self.cache)
        return record

    def _move_pdf(self, qbo_id: str, request_id: str) -> None:
        iid = self.request.invoice_id
        if self.settings.pdf_source == "quickbooks":
            pdf = self.qbo.download_pdf("Invoice", qbo_id)
            self.productive.attach_pdf_to_invoice(iid, f"quickbooks-invoice-{qbo_id}.pdf", pdf)
        else:
            pdf = self.productive.download_invoice_pdf(iid)
            self.qbo.upload_attachment(
                entity="Invoice",
                entity_id=qbo_id,
                filename=f"productive-invoice-{iid}.pdf",
                content=pdf,
                content_type="application/pdf",
                request_id=f"{request_id[:30]}-pdf",
            )

    def _customer_id(self) -> str:
        """The planned customer; a new or inactive one is created or reactivated only now."""
        plan = self.plan
        if plan is None:
            raise self._no_customer()
        if plan.customer_id:
            return plan.customer_id
        if plan.inactive is not None:
            return self._activated(plan.inactive)
        assert plan.resolver is not None
        return plan.resolver.create(plan.start)

    def _activated(self, customer: dict[str, Any]) -> str:
        if customer.get("Active", True) is not False:
            return str(customer["Id"])
        updated = self.qbo.update(
            "Customer",
            {"Id": customer["Id"], "SyncToken": customer["SyncToken"], "Active": True, "sparse": True},
            request_id=request_id_for("activate", customer["Id"], customer["SyncToken"]),
        )
        self.touched_customer = {**customer, **updated}
        return str(updated.get("Id", customer["Id"]))

    def _custom_field_text(self, invoice: ProductiveInvoice) -> str | None:
        if self.settings.memo_source != "custom_field" or not self.settings.memo_custom_field_id:
            return None
        field_id = self.settings.memo_custom_field_id
        raw = invoice.custom_fields.get(field_id)
        if raw is None:
            return None
        definition = self.productive.get_custom_field(field_id)
        return definition.display_value(raw)

    def _tax_choice(self) -> TaxChoice:
        if self.company.is_us or self.request.tax_code_id:
            return TaxChoice(code_id=self.request.tax_code_id)
        cid = self.request.connection_id
        cached = self.s._copies.cached(cid, ZERO_RATE_CACHE_KEY)
        if cached:
            return TaxChoice(code_id=cached)
        rows = self.qbo.query("select * from TaxCode")
        ranked = sorted(
            (rank, str(row["Id"])) for row in rows if (rank := zero_rate_rank(str(row.get("Name", "")))) is not None
        )
        if ranked:
            code_id = ranked[0][1]
            self.cache[ZERO_RATE_CACHE_KEY] = code_id  # saved with the copy, not by a refused request
            return TaxChoice(code_id=code_id)
        raise InvalidInput(
            "This QuickBooks company needs a tax code on every line and has no zero-rate code; pick a tax code.",
            code="tax_code_required",
        )


class _CustomerResolver:
    """Find the customer by name (inactive ones included), else create it from the billing data.
    plan() only reads; create() runs under the lock, once everything else has been checked."""

    def __init__(self, job: _CopyJob, company: ProductiveCompany, currency: str):
        self.job = job
        self.company = company
        self.currency = currency.upper()
        base = clean_display_name(company.display_name)
        if not base:
            raise InvalidInput("The client company has no name to give the QuickBooks customer.", code="no_customer")
        self.base = base
        self.candidates = [base, f"{base} ({self.currency})", f"{base} (Productive {company.id})"]

    def plan(self) -> _CustomerPlan:
        for index, name in enumerate(self.candidates):
            found = self._find(name)
            if found is None:
                return _CustomerPlan(resolver=self, start=index)
            if self._usable(found):
                if found.get("Active", True) is False:
                    return _CustomerPlan(inactive=found)
                return _CustomerPlan(customer_id=str(found["Id"]))
        raise self._taken()

    def create(self, start: int) -> str:
        for index in range(start, len(self.candidates)):
            name = self.candidates[index]
            if index > start:
                found = self._find(name)
                if found is not None:
                    if self._usable(found):
                        return self.job._activated(found)
                    continue
            try:
                return self._create(name)
            except QuickBooksFault as fault:
                if fault.fault_code != QuickBooksFault.DUPLICATE_NAME:
                    raise
                # Taken meanwhile by a customer (another copy of this client) or by a vendor or an
                # employee: use that customer, or try the next name.
                found = self._find(name)
                if found is not None and self._usable(found):
                    return self.job._activated(found)
        raise self._taken()

    def _taken(self) -> Conflict:
        return Conflict(
            f"Could not find or create a QuickBooks customer for {self.base!r}; pick one in the dialog.",
            code="customer_name_taken",
        )

    def _usable(self, customer: dict[str, Any]) -> bool:
        # A customer has one currency: look for (or make) one in this currency.
        return self._currency_of(customer) == self.currency or not self.job.company.multicurrency_enabled

    def _find(self, name: str) -> dict[str, Any] | None:
        rows = self.job.qbo.query(
            f"select * from Customer where DisplayName = {quote(name)} and Active in (true, false)"
        )
        return dict(rows[0]) if rows else None

    def _currency_of(self, customer: dict[str, Any]) -> str:
        return str((customer.get("CurrencyRef") or {}).get("value") or self.job.company.home_currency).upper()

    def _create(self, name: str) -> str:
        company = self.company
        body: dict[str, Any] = {"DisplayName": name, "CompanyName": clean_display_name(company.name) or name}
        if company.billing_email:
            body["PrimaryEmailAddr"] = {"Address": company.billing_email}
        address = company.billing_address
        if not address.is_empty:
            body["BillAddr"] = {
                key: value
                for key, value in {
                    "Line1": address.address,
                    "City": address.city,
                    "CountrySubDivisionCode": address.state,
                    "PostalCode": address.zipcode,
                    "Country": address.country,
                }.items()
                if value
            }
        if self.job.company.multicurrency_enabled:
            body["CurrencyRef"] = {"value": self.currency}
        created = self.job.qbo.create(
            "Customer",
            body,
            request_id=request_id_for(self.job.request.connection_id, "customer", company.id, self.currency, name),
        )
        self.job.touched_customer = dict(created)
        return str(created["Id"])


def _source_invoice(invoice: ProductiveInvoice, lines: list[ProductiveLineItem]) -> SourceInvoice:
    ordered = in_invoice_order(lines)
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
        amount=invoice.amount,
        amount_with_tax=invoice.amount_with_tax,
        lines=tuple(
            SourceLine(
                description=line.description,
                quantity=line.quantity,
                unit_price=line.unit_price,
                discount_percent=line.discount or Decimal(0),
                service_type_id=line.service_type_id,
                service_type_name=line.service_type_name,
                taxable=bool(line.tax_rate_value and line.tax_rate_value > 0),
            )
            for line in ordered
        ),
        custom_fields=dict(invoice.custom_fields),
    )
