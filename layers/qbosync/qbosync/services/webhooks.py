"""Receiving Intuit webhooks: check the signature, keep the events payment sync acts on for companies
that sync payments, queue them. Everything else is acknowledged and reported as a skip, so Intuit
never retries a notification we will never use (its queue is ordered: one stuck notification would
hold back every later one)."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from qbosync.domain.connection import ConnectionStatus
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

#: How long "this company syncs payments" is remembered per execution environment. Only that answer is
#: cached: the worker checks the connection and its settings again for every event, so a stale "yes"
#: queues an event the worker then ignores, while a "no" (sync off, unknown company) is always re-read,
#: so switching sync on takes effect at once.
SYNCING_REALM_TTL_SECONDS = 60.0

#: How long one delivery may spend asking the table which of its companies sync payments (a read per
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
        syncing_realm_ttl: float = SYNCING_REALM_TTL_SECONDS,
        realm_check_budget: float = REALM_CHECK_BUDGET_SECONDS,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self._verifier_token = verifier_token
        self._connections = connections
        self._queue = queue
        self._syncing_realm_ttl = syncing_realm_ttl
        self._realm_check_budget = realm_check_budget
        self._monotonic = monotonic
        self._syncing_until: dict[str, float] = {}  # realm id -> when the cached "it syncs" expires

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
        realm_verdicts: dict[str, SkipReason | None] = {}
        unchecked: set[str] = set()
        checks_end = self._monotonic() + self._realm_check_budget
        for item in parsed.events:
            event = item.event
            if not is_synced(event):
                skips.count("not_synced", "", event.realm_id, event.entity, event.entity_id)
                continue
            if event.realm_id not in realm_verdicts:
                if self._monotonic() < checks_end:
                    realm_verdicts[event.realm_id] = self._realm_verdict(event.realm_id)
                else:  # out of time: queued as it is, the worker checks the company again
                    realm_verdicts[event.realm_id] = None
                    unchecked.add(event.realm_id)
            reason = realm_verdicts[event.realm_id]
            if reason is not None:
                skips.count(reason, "", event.realm_id, event.entity, event.entity_id)
                continue
            accepted.append(event)
        if accepted:
            self._queue.send(accepted)
        return WebhookOutcome(parsed.format, accepted, skips, len(unchecked))

    def _realm_verdict(self, realm_id: str) -> SkipReason | None:
        """None when some connection of ours is connected to this company and syncs payments."""
        now = self._monotonic()
        if self._syncing_until.get(realm_id, 0.0) > now:
            return None
        verdict = self._read_realm_verdict(realm_id)
        if verdict is None and self._syncing_realm_ttl > 0:
            self._syncing_until[realm_id] = now + self._syncing_realm_ttl
        else:
            self._syncing_until.pop(realm_id, None)
        return verdict

    def _read_realm_verdict(self, realm_id: str) -> SkipReason | None:
        connection_ids = self._connections.connection_ids_for_realm(realm_id)
        connected = False
        for connection_id in connection_ids:
            connection = self._connections.get(connection_id)
            if connection is None or connection.realm_id != realm_id:
                continue
            if connection.syncs_payments:
                return None
            connected = connected or connection.status is ConnectionStatus.CONNECTED
        if not connection_ids:
            return "unknown_realm"
        return "sync_off" if connected else "not_connected"


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
