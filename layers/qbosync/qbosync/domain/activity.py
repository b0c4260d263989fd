"""The activity log: one entry per event that matters to a user of a connection, newest first, kept
400 days (docs/architecture.md "Activity log"). Nothing in an entry is a token, a secret or an e-mail
address; customer names are fine (the app shows them)."""

from __future__ import annotations

import re
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Literal, Protocol, get_args

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

_EMAIL = re.compile(r"[^\s@<>\"']+@[^\s@<>\"']+\.[A-Za-z]{2,}")


@dataclass(frozen=True)
class Activity:
    """One entry. `activity_id` orders entries of the same instant and names the entry in the log."""

    connection_id: str
    kind: ActivityKind
    at: datetime
    summary: str
    details: Mapping[str, Any] = field(default_factory=dict)
    invoice_id: str | None = None
    activity_id: str = field(default_factory=lambda: uuid.uuid4().hex)

    def __post_init__(self) -> None:
        if self.kind not in ACTIVITY_KINDS:
            raise ValueError(f"unknown activity kind {self.kind!r}")
        if self.at.tzinfo is None:
            raise ValueError("an activity's time must be timezone-aware")


def without_email_addresses(text: str) -> str:
    """The text with every e-mail address replaced: the log shows no PII beyond what the app shows."""
    return _EMAIL.sub("[e-mail]", text)


@dataclass(frozen=True)
class ActivityPage:
    entries: Sequence[Activity]
    #: Opaque; passed back as `cursor` for the next (older) page. None on the last page.
    next_cursor: str | None


class ActivityLog(Protocol):
    """Where activity entries are written and read (adapters/dynamodb_activity.py)."""

    def record(self, activity: Activity) -> None:
        """Write one entry on its own (callers that have a write of their own put the entry in it)."""

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
