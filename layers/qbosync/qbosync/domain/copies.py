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


def request_id_for(*parts: object) -> str:
    """Deterministic QuickBooks requestid (<= 50 chars): the same logical write, the same id."""
    return hashlib.sha256("|".join(str(p) for p in parts).encode()).hexdigest()[:36]


class CopyRepository(Protocol):
    def history(self, connection_id: str, invoice_id: str) -> list[CopyRecord]:
        """Newest first."""
        ...

    def invoice_state(self, connection_id: str, invoice_id: str) -> tuple[list[CopyRecord], PendingCopy | None]:
        """The last copy (as a one-item history, or none) and the create in flight, in one read."""
        ...

    def try_lock(self, connection_id: str, invoice_id: str, owner: str, now: datetime, until: datetime) -> bool: ...

    def unlock(self, connection_id: str, invoice_id: str, owner: str) -> None: ...

    def save_pending(self, connection_id: str, invoice_id: str, pending: PendingCopy) -> None: ...

    def clear_pending(self, connection_id: str, invoice_id: str) -> None: ...

    def complete(self, record: CopyRecord, *, company_id: str | None) -> None:
        """In one write: the copy (new or updated), its QuickBooks invoice index entry, the customer
        mapping of the Productive company, and the end of the create in flight."""
        ...

    def customer_for(self, connection_id: str, company_id: str, currency: str) -> str | None: ...

    def copy_of_quickbooks_invoice(self, realm_id: str, quickbooks_invoice_id: str) -> CopyRecord | None: ...

    def cached(self, connection_id: str, key: str) -> str | None: ...

    def cache(self, connection_id: str, key: str, value: str) -> None: ...
