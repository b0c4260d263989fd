"""Connection health and reconnect warnings (docs/architecture.md "Connection health"): the pure rules,
and the ports the health service and the warning job use.

Days left are whole days counted up (`days_left`): a token with 29 days and 1 hour left has 30 days
left, so "warn 30 days before" and "days left <= 30" say the same thing at any hour. QuickBooks does not
tell us a company's time zone, so the date a user must reconnect by is the last calendar date on which
the connection still works all day in every time zone (`reconnect_required_by`)."""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta, timezone
from typing import Any, Literal, Protocol, get_args

from qbosync.domain.activity import without_email_addresses
from qbosync.domain.connection import CallError, Connection, ConnectionStatus
from qbosync.domain.errors import DomainError, QuickBooksFault

DAY = timedelta(days=1)
#: Days before the refresh token's 5-year hard expiry at which a warning is sent (most urgent first).
HARD_EXPIRY_THRESHOLDS: tuple[int, ...] = (1, 7, 30)
#: A connected connection whose earlier expiry is this close is `reconnect_soon`.
RECONNECT_SOON_DAYS = max(HARD_EXPIRY_THRESHOLDS)
#: The window of the health counters (`failed_copies_7d`, `skipped_payment_events_7d`).
HEALTH_WINDOW = timedelta(days=7)
#: Where a calendar date ends last (UTC-12): a date over there is over everywhere.
_LATEST_ZONE = timezone(timedelta(hours=-12))
# Hard expiry instants are "now + what Intuit says remains", so one grant's value moves by a second or
# two between refreshes; a value further away than this is another grant (a reconnect after expiry).
_SAME_GRANT = DAY
_MESSAGE_LIMIT = 300
# Anything that could be a token or key: a long run without spaces. Our messages and QuickBooks' carry
# none, but last_error is shown to people, so it is scrubbed anyway.
_TOKEN_LIKE = re.compile(r"[A-Za-z0-9._~+/=-]{40,}")
_WARNING_NAMESPACE = uuid.UUID("2f6e0c1a-8b4d-4b7e-9a51-6c3d2e1f0a9b")

WarningReason = Literal["hard_expiry_30d", "hard_expiry_7d", "hard_expiry_1d", "needs_reconnect"]
WARNING_REASONS: tuple[WarningReason, ...] = get_args(WarningReason)
HealthStatus = Literal["ok", "reconnect_soon", "needs_reconnect", "not_connected"]


def _utc(moment: datetime) -> datetime:
    # Python subtracts and compares two datetimes of the same zone by their wall clocks, which is wrong
    # across a daylight-saving change: instants are compared in UTC.
    return moment.astimezone(UTC)


def days_left(until: datetime, now: datetime) -> int:
    """Whole days from `now` to `until`, counted up; 0 once it has passed."""
    remaining = _utc(until) - _utc(now)
    if remaining <= timedelta(0):
        return 0
    return -(-remaining // DAY)


def reconnect_required_by(deadline: datetime) -> date:
    """The last date that, in every time zone, ends at or before `deadline`: reconnecting by the end of it
    is in time wherever the company is."""
    return deadline.astimezone(_LATEST_ZONE).date() - DAY


def due_hard_expiry_reason(hard_expires_at: datetime, now: datetime) -> WarningReason | None:
    """The most urgent hard-expiry warning due now (30, 7 or 1 days before), or None (more than 30 days
    left, or already expired: the refresh then fails and the needs_reconnect warning follows). A run
    that finds a connection past several thresholds sends only the most urgent one."""
    if _utc(hard_expires_at) <= _utc(now):
        return None
    left = days_left(hard_expires_at, now)
    for threshold in HARD_EXPIRY_THRESHOLDS:
        if left <= threshold:
            reason: WarningReason = f"hard_expiry_{threshold}d"  # type: ignore[assignment]
            return reason
    return None


# -- last QuickBooks call -------------------------------------------------------------------------


def scrubbed(message: str) -> str:
    """A message fit to store and show: one line, no e-mail address, nothing token-like, bounded."""
    text = " ".join(without_email_addresses(message).split())
    text = _TOKEN_LIKE.sub("[redacted]", text)
    return text if len(text) <= _MESSAGE_LIMIT else text[: _MESSAGE_LIMIT - 1] + "…"


def call_error(error: DomainError, at: datetime) -> CallError:
    """What is kept of a failed call: QuickBooks' own fault code when it gave one (`quickbooks_6140`),
    else our error code; the message scrubbed."""
    code = error.code
    if isinstance(error, QuickBooksFault) and error.fault_code:
        code = f"quickbooks_{error.fault_code}"
    return CallError(code=code, message=scrubbed(error.message), at=at)


class QuickBooksCallLog(Protocol):
    """Where the outcome of QuickBooks calls is kept per connection (on the connection item)."""

    def succeeded(self, connection_id: str, at: datetime) -> None:
        """The connection's last successful call is at `at` (never moved backwards)."""

    def failed(self, connection_id: str, error: CallError) -> None:
        """The connection's last failed call."""


# -- health ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ConnectionHealth:
    status: HealthStatus
    days_until_refresh_expiry: int | None
    days_until_hard_expiry: int | None
    reconnect_required_by: date | None
    last_success_at: datetime | None
    last_error: CallError | None
    failed_copies_7d: int
    skipped_payment_events_7d: int


def connection_health(
    connection: Connection, now: datetime, *, failed_copies_7d: int, skipped_payment_events_7d: int
) -> ConnectionHealth:
    """The health of a connection at `now`. The expiry figures are given only while it is connected:
    otherwise its stored dates belong to a grant that no longer works."""
    refresh_days = hard_days = None
    required_by = None
    if connection.status is ConnectionStatus.CONNECTED:
        expiries = [moment for moment in (connection.refresh_expires_at, connection.refresh_hard_expires_at) if moment]
        if connection.refresh_expires_at is not None:
            refresh_days = days_left(connection.refresh_expires_at, now)
        if connection.refresh_hard_expires_at is not None:
            hard_days = days_left(connection.refresh_hard_expires_at, now)
        if expiries:
            required_by = reconnect_required_by(min(expiries, key=_utc))
    soonest = min((days for days in (refresh_days, hard_days) if days is not None), default=None)
    status: HealthStatus
    if connection.status is ConnectionStatus.NEEDS_RECONNECT:
        status = "needs_reconnect"
    elif connection.status is not ConnectionStatus.CONNECTED:
        status = "not_connected"
    elif soonest is not None and soonest <= RECONNECT_SOON_DAYS:
        status = "reconnect_soon"
    else:
        status = "ok"
    return ConnectionHealth(
        status=status,
        days_until_refresh_expiry=refresh_days,
        days_until_hard_expiry=hard_days,
        reconnect_required_by=required_by,
        last_success_at=connection.last_success_at,
        last_error=connection.last_error,
        failed_copies_7d=failed_copies_7d,
        skipped_payment_events_7d=skipped_payment_events_7d,
    )


# -- reconnect warnings ---------------------------------------------------------------------------


@dataclass(frozen=True)
class ReconnectWarning:
    """One warning to Productive's backend. `episode` is what it warns of: the hard expiry instant, or
    when the connection became needs_reconnect; each (connection, reason) is sent once per episode."""

    connection_id: str
    organization_id: str
    subsidiary_id: str
    reason: WarningReason
    episode: datetime
    days_left: int
    reconnect_required_by: date | None

    @property
    def episode_floor(self) -> datetime:
        """A "sent" record for an episode before this one is of an earlier grant or needs_reconnect."""
        return self.episode - _SAME_GRANT if self.reason != "needs_reconnect" else self.episode

    @property
    def warning_id(self) -> str:
        """Stable across runs and retries, so the receiver can drop a repeat (a send whose answer was
        lost is sent again)."""
        episode = self.episode.astimezone(UTC)
        name = episode.date().isoformat() if self.reason != "needs_reconnect" else episode.isoformat()
        return str(uuid.uuid5(_WARNING_NAMESPACE, f"{self.connection_id}:{self.reason}:{name}"))

    def payload(self) -> dict[str, Any]:
        """The body POSTed to NOTIFY_URL: ids, the reason and dates, never a token."""
        return {
            "event": "reconnect_warning",
            "warning_id": self.warning_id,
            "connection_id": self.connection_id,
            "organization_id": self.organization_id,
            "subsidiary_id": self.subsidiary_id,
            "reason": self.reason,
            "reconnect_required_by": self.reconnect_required_by.isoformat() if self.reconnect_required_by else None,
            "days_left": self.days_left,
        }

    def summary(self) -> str:
        if self.reason == "needs_reconnect":
            return "Reconnect warning sent: QuickBooks no longer accepts the connection; the user must reconnect."
        return (
            f"Reconnect warning sent: the QuickBooks authorization ends in {self.days_left} "
            f"day{'s' if self.days_left != 1 else ''}; reconnect by {self.reconnect_required_by}."
        )


def hard_expiry_warning(connection: Connection, now: datetime) -> ReconnectWarning | None:
    """The hard-expiry warning due now for a connected connection, if any."""
    hard = connection.refresh_hard_expires_at
    if connection.status is not ConnectionStatus.CONNECTED or hard is None:
        return None
    reason = due_hard_expiry_reason(hard, now)
    if reason is None:
        return None
    return ReconnectWarning(
        connection_id=connection.connection_id,
        organization_id=connection.organization_id,
        subsidiary_id=connection.subsidiary_id,
        reason=reason,
        episode=hard,
        days_left=days_left(hard, now),
        reconnect_required_by=reconnect_required_by(hard),
    )


def needs_reconnect_warning(connection: Connection, since: datetime) -> ReconnectWarning | None:
    """The warning for a connection that became needs_reconnect at `since` (None if it is not, any more)."""
    if connection.status is not ConnectionStatus.NEEDS_RECONNECT:
        return None
    return ReconnectWarning(
        connection_id=connection.connection_id,
        organization_id=connection.organization_id,
        subsidiary_id=connection.subsidiary_id,
        reason="needs_reconnect",
        episode=since,
        days_left=0,
        reconnect_required_by=None,
    )


class NotificationFailed(Exception):
    """The warning could not be delivered (after the notifier's own retries); the next run tries again."""


class ReconnectNotifier(Protocol):
    """Productive's backend, told by a signed POST to NOTIFY_URL (adapters/notify.py)."""

    def send(self, warning: ReconnectWarning) -> None:
        """Deliver the warning or raise NotificationFailed."""


class ReconnectWarningLedger(Protocol):
    """Which connections may need a warning, and which warnings were sent (adapters/dynamodb_warnings.py).

    A warning is claimed before it is sent (a conditional write: absent, of an earlier episode, or a
    claim whose lease ran out), marked sent after, or released when the send failed; so two runs never
    send the same warning at once, and a failed one is tried again by the next run."""

    def nearing_hard_expiry(self, start: datetime, end: datetime, limit: int) -> list[str]:
        """Connected connections whose refresh token's hard expiry is between `start` and `end`."""
        ...

    def awaiting_reconnect_warning(self, limit: int) -> list[tuple[str, datetime]]:
        """Connections that became needs_reconnect and were not warned about yet, with when."""
        ...

    def claim(self, warning: ReconnectWarning, owner: str, now: datetime, until: datetime) -> bool: ...

    def mark_sent(self, warning: ReconnectWarning, owner: str, now: datetime) -> None: ...

    def release(self, warning: ReconnectWarning, owner: str) -> None: ...

    def reconnect_warning_done(self, connection_id: str, since: datetime) -> None:
        """The needs_reconnect warning of that episode was sent: the connection leaves the waiting list."""
