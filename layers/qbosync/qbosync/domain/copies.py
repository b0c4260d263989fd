"""Copies: each QuickBooks invoice made from a Productive invoice, and the in-flight attempt."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Any, Literal, Protocol

CopyMode = Literal["create", "update"]


@dataclass(frozen=True)
class CopyWarning:
    code: str
    message: str
    details: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class CopyRecord:
    """One QuickBooks invoice made from a Productive invoice (the history lists these)."""

    connection_id: str
    invoice_id: str
    sequence: int
    copy_id: str
    quickbooks_invoice_id: str
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


@dataclass(frozen=True)
class PendingCopy:
    """A create that was started and not finished. Kept so a retry reuses the same requestid and
    marker: QuickBooks may have committed the first attempt, and the retry must find it."""

    sequence: int
    request_id: str
    marker: str
    started_at: datetime


@dataclass(frozen=True)
class InvoiceHead:
    """One invoice's copy state, read as its lock is taken: the last copy's sequence and the create
    in flight, if any."""

    last_sequence: int
    pending: PendingCopy | None


def request_id_for(*parts: object) -> str:
    """Deterministic QuickBooks requestid (<= 50 chars): the same logical write, the same id."""
    return hashlib.sha256("|".join(str(p) for p in parts).encode()).hexdigest()[:36]


class CopyRepository(Protocol):
    def history(self, connection_id: str, invoice_id: str) -> list[CopyRecord]:
        """Newest first."""
        ...

    def lock(
        self, connection_id: str, invoice_id: str, owner: str, now: datetime, until: datetime
    ) -> InvoiceHead | None:
        """Take the invoice's copy lock (None while someone else holds it) and read its state."""
        ...

    def unlock(self, connection_id: str, invoice_id: str, owner: str) -> None:
        """Give the lock back after a failure; the create in flight, if any, stays."""
        ...

    def copy(self, connection_id: str, invoice_id: str, sequence: int) -> CopyRecord | None: ...

    def save_pending(self, connection_id: str, invoice_id: str, pending: PendingCopy) -> None: ...

    def clear_pending(self, connection_id: str, invoice_id: str) -> None: ...

    def complete(self, record: CopyRecord, *, company_id: str | None) -> None:
        """In one write: the copy (new or updated), its QuickBooks invoice index entry, the customer
        mapping of the Productive company, and the invoice's state (this copy is the last, nothing
        in flight, unlocked)."""
        ...

    def customer_for(self, connection_id: str, company_id: str, currency: str) -> str | None: ...

    def copy_of_quickbooks_invoice(self, realm_id: str, quickbooks_invoice_id: str) -> CopyRecord | None: ...

    def cached(self, connection_id: str, key: str) -> str | None: ...

    def cache(self, connection_id: str, key: str, value: str) -> None: ...
