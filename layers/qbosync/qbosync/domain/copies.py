"""Copies: each QuickBooks invoice (or credit memo, from a Productive credit note) made from a Productive
invoice, and the in-flight attempt."""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import TYPE_CHECKING, Any, Literal, Protocol

from qbosync.domain.invoice_copy import copy_marker

if TYPE_CHECKING:
    from qbosync.domain.activity import Activity

CopyMode = Literal["create", "update"]
#: What a copy is in QuickBooks: an Invoice, or a CreditMemo for a Productive credit note.
QuickBooksType = Literal["Invoice", "CreditMemo"]
#: Why a copy needs a human (docs/architecture.md "Changes made in QuickBooks"): the QuickBooks object
#: was voided, deleted or changed there, credited there with a credit memo Productive does not know,
#: or its total differed from Productive's when it was copied.
FlagKind = Literal[
    "voided_in_quickbooks",
    "deleted_in_quickbooks",
    "changed_in_quickbooks",
    "credited_in_quickbooks",
    "total_mismatch",
]


@dataclass(frozen=True)
class CopyRequest:
    """One "Copy to QuickBooks": the invoice, the dialog's choices, and update-or-create."""

    connection_id: str
    invoice_id: str
    customer_id: str | None
    tax_code_id: str | None
    mode: CopyMode


@dataclass(frozen=True)
class CopyWarning:
    code: str
    message: str
    details: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class CustomerMapping:
    """A QuickBooks customer remembered for the next copies, saved with a copy: the customer of a
    Productive client ("client", keyed by its company id) or the sub-customer of a Productive project
    ("project", keyed by its project id), each per currency."""

    kind: Literal["client", "project"]
    productive_id: str
    currency: str
    customer_id: str


@dataclass(frozen=True)
class CreditApplication:
    """How a credit memo copy was applied to its parent invoice's copy: one QuickBooks Payment of total
    0 with a line linking the invoice and one linking the credit memo, each of `amount`."""

    payment_id: str
    quickbooks_invoice_id: str
    amount: Decimal
    sync_token: str


@dataclass(frozen=True)
class CopyFlag:
    """Something about a copy a human should look at. One per (kind, version): `version` names the
    QuickBooks state it was seen in (the object's SyncToken, "deleted"...), so seeing the same state
    twice (a duplicated event, webhook and reconcile) records it once."""

    kind: FlagKind
    detected_at: datetime
    version: str
    details: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class CopyRecord:
    """One QuickBooks invoice (or credit memo) made from a Productive invoice (or credit note); the
    history lists these."""

    connection_id: str
    invoice_id: str
    sequence: int
    copy_id: str
    #: The QuickBooks object's id (an Invoice or a CreditMemo, as `quickbooks_type` says).
    quickbooks_id: str
    doc_number: str | None
    total_amount: Decimal
    currency: str
    quickbooks_url: str
    mode: CopyMode
    created_at: datetime
    updated_at: datetime
    sync_token: str
    customer_id: str
    realm_id: str
    warnings: tuple[CopyWarning, ...] = ()
    update_count: int = 0
    #: Copies stored before credit notes carry no type: they are invoices.
    quickbooks_type: QuickBooksType = "Invoice"
    #: A credit memo's application to its parent invoice's copy (None: not applied).
    credit_application: CreditApplication | None = None
    flags: tuple[CopyFlag, ...] = ()  # newest first
    #: What our last write made the QuickBooks lines (quickbooks_changes.lines_digest); None on copies
    #: stored before lines were compared.
    lines_digest: str | None = None
    #: The same for the other fields our writes set (quickbooks_changes.details_digest).
    details_digest: str | None = None

    @property
    def quickbooks_invoice_id(self) -> str | None:
        """The QuickBooks invoice id; None for a credit memo."""
        return self.quickbooks_id if self.quickbooks_type == "Invoice" else None

    def flagged(self, kind: FlagKind) -> CopyFlag | None:
        """The newest flag of this kind."""
        return next((flag for flag in self.flags if flag.kind == kind), None)


@dataclass(frozen=True)
class AttentionItem:
    """A copy that needs a human, with its flags (newest first)."""

    invoice_id: str
    copy_id: str
    quickbooks_type: QuickBooksType
    quickbooks_id: str
    flags: tuple[CopyFlag, ...]


@dataclass(frozen=True)
class PendingCopy:
    """A create that was started and not finished. Kept so a retry reuses the same requestid and
    marker: QuickBooks may have committed the first attempt, and the retry must find it."""

    sequence: int
    request_id: str
    marker: str
    started_at: datetime

    @classmethod
    def starting(cls, connection_id: str, invoice_id: str, sequence: int, started_at: datetime) -> PendingCopy:
        """The create of copy `sequence`: its requestid and marker follow from the sequence."""
        return cls(
            sequence=sequence,
            request_id=request_id_for(connection_id, invoice_id, sequence, "create"),
            marker=copy_marker(connection_id, invoice_id, sequence),
            started_at=started_at,
        )


@dataclass(frozen=True)
class InvoiceHead:
    """One invoice's copy state, read as its lock is taken: the last copy's sequence and the create
    in flight. `pending_is_new`: this lock recorded the create (none was in flight); otherwise an
    earlier request left it, and QuickBooks may hold its invoice."""

    last_sequence: int
    pending: PendingCopy | None
    pending_is_new: bool = False


def credit_application_marker(connection_id: str, invoice_id: str, sequence: int) -> str:
    """Stamped into the PrivateNote of the Payment that applies a credit memo copy to its parent invoice."""
    return f"qbosync-credit:{connection_id[:8]}:{invoice_id}:{sequence}"


def request_id_for(*parts: object) -> str:
    """Deterministic QuickBooks requestid (<= 50 chars): the same logical write, the same id."""
    return hashlib.sha256("|".join(str(p) for p in parts).encode()).hexdigest()[:36]


class CopyRepository(Protocol):
    def history(self, connection_id: str, invoice_id: str) -> list[CopyRecord]:
        """Newest first."""
        ...

    def lock(
        self,
        connection_id: str,
        invoice_id: str,
        owner: str,
        now: datetime,
        until: datetime,
        *,
        pending_since: datetime | None = None,
    ) -> InvoiceHead | None:
        """Take the invoice's copy lock (None while someone else holds it) and read its state. With
        `pending_since`, the same write records a create in flight unless one already is (so a
        request has one write before QuickBooks, and a lost answer leaves its marker behind)."""
        ...

    def unlock(self, connection_id: str, invoice_id: str, owner: str, *, drop_pending: bool = False) -> None:
        """Give the lock back after a failure; the create in flight stays unless `drop_pending`."""
        ...

    def forget(self, connection_id: str, invoice_id: str, owner: str) -> None:
        """Give the lock back by deleting the invoice's state, for an invoice never copied whose
        request failed with nothing in flight: a failed request leaves no item behind."""
        ...

    def copy(self, connection_id: str, invoice_id: str, sequence: int) -> CopyRecord | None: ...

    def complete(
        self,
        record: CopyRecord,
        *,
        mappings: Sequence[CustomerMapping] = (),
        cache: Mapping[str, str] | None = None,
        resolves: Sequence[CopyFlag] = (),
        activity: Activity | None = None,
    ) -> None:
        """In one write: the copy (new or updated), its QuickBooks invoice index entry, the customer
        mappings it taught (the Productive client's customer, its project's sub-customer), what was
        looked up to be cached, the invoice's state (this copy is the last, nothing in flight, unlocked)
        and the copy's activity entry. The flags in `resolves`, which this write made untrue, are removed."""
        ...

    def customer_for(self, connection_id: str, company_id: str, currency: str) -> str | None: ...

    def project_customer_for(self, connection_id: str, project_id: str, currency: str) -> str | None:
        """The sub-customer remembered for a Productive project in this currency."""
        ...

    def copy_of_quickbooks_object(
        self, realm_id: str, quickbooks_type: QuickBooksType, quickbooks_id: str
    ) -> CopyRecord | None:
        """The copy (with its flags) a QuickBooks invoice or credit memo was made as, if this service made
        it (by any connection to that company; older copies too)."""
        ...

    def copy_of_quickbooks_invoice(self, realm_id: str, quickbooks_invoice_id: str) -> CopyRecord | None:
        """copy_of_quickbooks_object for an Invoice."""
        ...

    def record_credit_application(
        self, realm_id: str, quickbooks_payment_id: str, *, connection_id: str, invoice_id: str, sequence: int
    ) -> None:
        """Remember that this QuickBooks Payment is ours: the one that applies the credit memo of copy
        `sequence` of the Productive credit note `invoice_id`. Written as soon as QuickBooks made the
        payment (before the copy completes), and kept: the payment stays ours after an update or delete."""
        ...

    def is_our_credit_application(self, realm_id: str, quickbooks_payment_id: str) -> bool:
        """True when this QuickBooks Payment (of this company) was made by a copy to apply a credit memo to
        its parent invoice: payment sync must never mirror it into Productive (the credit note already
        lowers what the parent invoice owes there). One read by key; such payments also carry the
        `qbosync-credit:` prefix of `credit_application_marker` in their PrivateNote."""
        ...

    def flag(self, connection_id: str, invoice_id: str, sequence: int, flag: CopyFlag) -> bool:
        """Record a flag on a copy; False when one of the same kind and version is already there."""
        ...

    def attention(self, connection_id: str, limit: int) -> list[AttentionItem]:
        """Copies of this connection with flags, the most recently flagged first."""
        ...

    def cached(self, connection_id: str, key: str) -> str | None: ...
