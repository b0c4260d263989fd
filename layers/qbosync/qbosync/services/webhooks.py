"""Receiving Intuit webhooks: check the signature, keep the events we act on (Payment changes for companies
a connection syncs payments of; Invoice and CreditMemo changes, which may be our copies changed in
QuickBooks, for companies a connection is connected to), queue them. Everything else is acknowledged and
reported as a skip, so Intuit never retries a notification we will never use (its queue is ordered: one
stuck notification would hold back every later one)."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from qbosync.domain.connection import CHANGE_KINDS, ChangeKind, ConnectionStatus, change_kind
from qbosync.domain.events import EntityEvent, EventQueue
from qbosync.domain.ports import ConnectionRepository
from qbosync.domain.webhooks import (
    InvalidWebhookSignature,
    ParsedWebhook,
    Skip,
    SkipReason,
    Skips,
    WebhookFormat,
    is_synced,
    parse_webhook,
    signature_matches,
)

logger = logging.getLogger(__name__)

#: verifier_token(force_fetch=...) -> the current verifier token (cached; force_fetch re-reads it).
VerifierToken = Callable[..., str]

#: How long "some connection acts on this kind of change of this company" is remembered per execution
#: environment, per company and kind of change (Connection.acts_on). Only that answer is cached: the worker
#: checks the connections and their settings again for every event, so a stale "yes" queues an event the
#: worker then ignores, while a "no" (sync off, unknown company) is always re-read, so switching sync on
#: takes effect at once.
WATCHING_REALM_TTL_SECONDS = 60.0

#: How long one delivery may spend asking the table which of its companies we act on (a read per
#: company). Intuit waits 3 s for the answer; the events of companies not checked by then are queued
#: unchecked, since the worker checks every event's company again (it costs it one read).
REALM_CHECK_BUDGET_SECONDS = 1.0


@dataclass(frozen=True)
class WebhookOutcome:
    format: WebhookFormat | None
    queued: list[EntityEvent] = field(default_factory=list)
    skips: Skips = field(default_factory=Skips)
    unchecked_realms: int = 0  # companies whose events were queued without the check (out of time)

    @property
    def skipped(self) -> list[Skip]:
        """The first skips, whole (see MAX_SKIPS_KEPT); skipped_by_reason() counts them all."""
        return self.skips.kept

    def skipped_by_reason(self) -> dict[str, int]:
        return dict(self.skips.counts)


class WebhookService:
    def __init__(
        self,
        *,
        verifier_token: VerifierToken,
        connections: ConnectionRepository,
        queue: EventQueue,
        watching_realm_ttl: float = WATCHING_REALM_TTL_SECONDS,
        realm_check_budget: float = REALM_CHECK_BUDGET_SECONDS,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self._verifier_token = verifier_token
        self._connections = connections
        self._queue = queue
        self._watching_realm_ttl = watching_realm_ttl
        self._realm_check_budget = realm_check_budget
        self._monotonic = monotonic
        # (realm id, kind of change) -> when the cached "some connection acts on it" expires
        self._watching_until: dict[tuple[str, ChangeKind], float] = {}

    def verify(self, body: bytes, signature: str | None) -> None:
        """Raise InvalidWebhookSignature unless `signature` signs the raw `body`. On a mismatch the
        token is read once more, bypassing the cache, so a rotated verifier token is picked up."""
        if not signature or not signature.strip():
            raise InvalidWebhookSignature("The intuit-signature header is missing.")
        if signature_matches(self._verifier_token(force_fetch=False), body, signature):
            return
        if signature_matches(self._verifier_token(force_fetch=True), body, signature):
            return
        raise InvalidWebhookSignature("The intuit-signature header does not match the body.")

    def receive(self, body: bytes, signature: str | None) -> WebhookOutcome:
        """Verify, parse, filter and queue. Raises InvalidWebhookSignature (nothing queued) and
        QueueUnavailable (the caller answers 5xx so that Intuit delivers the notification again)."""
        self.verify(body, signature)
        parsed = _parse(body)
        skips = parsed.skips
        accepted: list[EntityEvent] = []
        realm_verdicts: dict[tuple[str, ChangeKind], SkipReason | None] = {}
        unchecked: set[str] = set()
        checks_end = self._monotonic() + self._realm_check_budget
        for item in parsed.events:
            event = item.event
            if not is_synced(event):
                skips.count("not_synced", "", event.realm_id, event.entity, event.entity_id)
                continue
            key = (event.realm_id, change_kind(event.entity))
            if key not in realm_verdicts:
                if self._monotonic() < checks_end:
                    for kind, verdict in self._realm_verdicts(*key).items():
                        realm_verdicts[(event.realm_id, kind)] = verdict
                else:  # out of time: queued as it is, the worker checks the company again
                    realm_verdicts[key] = None
                    unchecked.add(event.realm_id)
            reason = realm_verdicts[key]
            if reason is not None:
                skips.count(reason, "", event.realm_id, event.entity, event.entity_id)
                continue
            accepted.append(event)
        if accepted:
            self._queue.send(accepted)
        return WebhookOutcome(parsed.format, accepted, skips, len(unchecked))

    def _realm_verdicts(self, realm_id: str, kind: ChangeKind) -> dict[ChangeKind, SkipReason | None]:
        """The verdict on `kind` (None: some connection of ours acts on it), from the cache when it is a
        cached yes; else one read of the company's connections answers every kind."""
        now = self._monotonic()
        if self._watching_until.get((realm_id, kind), 0.0) > now:
            return {kind: None}
        verdicts = self._read_realm_verdicts(realm_id)
        for each, verdict in verdicts.items():
            if verdict is None and self._watching_realm_ttl > 0:
                self._watching_until[(realm_id, each)] = now + self._watching_realm_ttl
            else:
                self._watching_until.pop((realm_id, each), None)
        return verdicts

    def _read_realm_verdicts(self, realm_id: str) -> dict[ChangeKind, SkipReason | None]:
        connection_ids = self._connections.connection_ids_for_realm(realm_id)
        if not connection_ids:
            return dict.fromkeys(CHANGE_KINDS, "unknown_realm")
        connections = [
            connection
            for connection_id in connection_ids
            if (connection := self._connections.get(connection_id)) is not None and connection.realm_id == realm_id
        ]
        connected = any(connection.status is ConnectionStatus.CONNECTED for connection in connections)
        reason: SkipReason = "sync_off" if connected else "not_connected"
        return {
            kind: None if any(connection.acts_on(kind) for connection in connections) else reason
            for kind in CHANGE_KINDS
        }


def _parse(body: bytes) -> ParsedWebhook:
    """parse_webhook, which reports what it cannot use as skips; should it still raise (a defect),
    the body is one logged skip too: a 5xx would make Intuit deliver it again and again, holding
    back every later notification behind it."""
    try:
        return parse_webhook(body)
    except Exception as error:
        # No traceback: its message could quote the body, which is never logged.
        logger.error("webhook body could not be parsed", extra={"error_class": type(error).__name__})  # noqa: TRY400
        return ParsedWebhook.malformed(f"unreadable ({type(error).__name__})")
