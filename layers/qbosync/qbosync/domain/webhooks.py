"""Intuit webhooks, pure: the signature check and both payload formats, normalised to `EntityEvent`.

Two formats arrive at the same endpoint (docs/architecture.md "QuickBooks webhooks"):

* legacy: ``{"eventNotifications": [{"realmId", "dataChangeEvent": {"entities": [{"name", "id",
  "operation", "lastUpdated", "deletedId"?}]}}]}``; it has no event id, so ours is a digest of
  realm|entity|id|operation|lastUpdated (a redelivery of the same change gets the same id);
* CloudEvents: a JSON array of ``{"specversion", "id", "type": "qbo.<entity>.<verb>.v1", "time",
  "intuitentityid", "intuitaccountid", ...}``; one array may hold events of several companies.

Nothing here raises on bad input: what cannot be used is reported as a `Skip` with a reason, so the
endpoint can acknowledge (Intuit would otherwise retry a bad notification forever) and count it.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Final, Literal, get_args

from pydantic import ValidationError

from qbosync.domain.errors import DomainError
from qbosync.domain.events import EntityEvent, Operation

#: Why an event (or a whole body) was not queued. Stable: they are the values of a metric dimension.
SkipReason = Literal[
    "malformed_body",  # not JSON, or neither format
    "malformed_event",  # an event without a realm, id, time... or with values out of range
    "unknown_entity",  # an entity QuickBooks webhooks do not have
    "unknown_operation",  # an operation or verb QuickBooks webhooks do not have
    "not_synced",  # a known entity/operation payment sync does not act on (Customer, Invoice create...)
    "unknown_realm",  # no connection of ours for this company
    "not_connected",  # our connections for this company are pending, disconnected or need a reconnect
    "sync_off",  # a Payment change of a company connected with payment sync switched off
    "duplicate",  # the same event twice in one delivery
]
SKIP_REASONS: Final[tuple[str, ...]] = get_args(SkipReason)

#: Entities QuickBooks can send webhooks for, by the lowercase name CloudEvents types use.
KNOWN_ENTITIES: Final[dict[str, str]] = {
    name.lower(): name
    for name in (
        "Account",
        "Bill",
        "BillPayment",
        "Budget",
        "Class",
        "CreditMemo",
        "Currency",
        "Customer",
        "Department",
        "Deposit",
        "Employee",
        "Estimate",
        "Invoice",
        "Item",
        "JournalCode",
        "JournalEntry",
        "Payment",
        "PaymentMethod",
        "Preferences",
        "Purchase",
        "PurchaseOrder",
        "RefundReceipt",
        "SalesReceipt",
        "TaxAgency",
        "Term",
        "TimeActivity",
        "Transfer",
        "Vendor",
        "VendorCredit",
    )
}

#: Legacy operation names (any case) and CloudEvents verbs -> our operation.
LEGACY_OPERATIONS: Final[dict[str, Operation]] = {
    "create": "create",
    "update": "update",
    "delete": "delete",
    "void": "void",
    "merge": "merge",
    "emailed": "emailed",
}
CLOUDEVENT_VERBS: Final[dict[str, Operation]] = {
    "created": "create",
    "updated": "update",
    "deleted": "delete",
    "voided": "void",
    "merged": "merge",
    "emailed": "emailed",
}

#: What the payment events worker acts on: every change of a Payment (applying or unapplying it is a
#: Payment update too); an Invoice or CreditMemo updated, voided or deleted, which may be one of our
#: copies changed in QuickBooks (docs/architecture.md "Changes made in QuickBooks"); an invoice's
#: update also recounts the credit QuickBooks-made credit memos give it.
SYNCED_OPERATIONS: Final[dict[str, frozenset[str]]] = {
    "Payment": frozenset({"create", "update", "delete", "void"}),
    "Invoice": frozenset({"update", "delete", "void"}),
    "CreditMemo": frozenset({"update", "delete", "void"}),
}

WebhookFormat = Literal["legacy", "cloudevents"]


class InvalidWebhookSignature(DomainError):
    """The `intuit-signature` header is missing or is not the body's HMAC with our verifier token."""

    code = "invalid_signature"


# --------------------------------------------------------------------------- signature


def signature_matches(verifier_token: str, body: bytes, signature: str | None) -> bool:
    """True when `signature` (base64, as sent in `intuit-signature`) is the HMAC-SHA256 of the raw
    `body` keyed with `verifier_token`. Digests are compared in constant time; garbage is False."""
    if not verifier_token or not signature:
        return False
    try:
        sent = base64.b64decode(signature.strip(), validate=True)
    except (binascii.Error, ValueError):
        return False
    expected = hmac.new(verifier_token.encode("utf-8"), body, hashlib.sha256).digest()
    return hmac.compare_digest(expected, sent)


# --------------------------------------------------------------------------- parsing


@dataclass(frozen=True)
class Skip:
    """Something not queued, and why. Ids only: never a body or a header."""

    reason: SkipReason
    detail: str = ""
    realm_id: str | None = None
    entity: str | None = None
    entity_id: str | None = None


@dataclass(frozen=True)
class ParsedEvent:
    event: EntityEvent
    deleted_id: str | None = None  # legacy Merge: the id merged away


#: Skips kept whole (for the log); beyond them, skips are only counted, so that a body of millions of
#: tiny bad elements costs a counter increment each.
MAX_SKIPS_KEPT: Final = 100


@dataclass
class Skips:
    """Every skip, counted by reason; the first MAX_SKIPS_KEPT kept whole."""

    kept: list[Skip] = field(default_factory=list)
    counts: Counter[str] = field(default_factory=Counter)

    def add(self, skip: Skip) -> None:
        self.counts[skip.reason] += 1
        if len(self.kept) < MAX_SKIPS_KEPT:
            self.kept.append(skip)

    def count(
        self,
        reason: SkipReason,
        detail: str = "",
        realm_id: str | None = None,
        entity: str | None = None,
        entity_id: str | None = None,
        *,
        times: int = 1,
    ) -> None:
        """add() `times` alike skips, building one Skip, and only if it is kept."""
        if times <= 0:
            return
        self.counts[reason] += times
        if len(self.kept) < MAX_SKIPS_KEPT:
            self.kept.append(Skip(reason, detail, realm_id, entity, entity_id))


@dataclass
class ParsedWebhook:
    format: WebhookFormat | None
    events: list[ParsedEvent] = field(default_factory=list)
    skips: Skips = field(default_factory=Skips)
    _event_ids: set[str] = field(default_factory=set, repr=False)  # what `events` holds, for the dedupe

    @classmethod
    def malformed(cls, detail: str) -> ParsedWebhook:
        parsed = cls(None)
        parsed.skips.count("malformed_body", detail)
        return parsed

    @property
    def skipped(self) -> list[Skip]:
        """The skips kept whole (all of them, up to MAX_SKIPS_KEPT)."""
        return self.skips.kept

    @property
    def realm_ids(self) -> list[str]:
        return sorted({parsed.event.realm_id for parsed in self.events})

    def add(self, outcome: ParsedEvent | Skip) -> None:
        """An event (unless the body held its id already) or a skip."""
        if isinstance(outcome, Skip):
            self.skips.add(outcome)
            return
        event = outcome.event
        if event.event_id in self._event_ids:
            self.skips.count("duplicate", "", event.realm_id, event.entity, event.entity_id)
            return
        self._event_ids.add(event.event_id)
        self.events.append(outcome)


#: What a CloudEvent, a legacy notification and a legacy entity cannot do without: an element lacking
#: one of these keys is counted at once, without a closer look.
CLOUDEVENT_KEYS: Final = frozenset({"specversion", "id", "type", "intuitaccountid", "intuitentityid"})
LEGACY_NOTIFICATION_KEYS: Final = frozenset({"realmId", "dataChangeEvent"})
LEGACY_ENTITY_KEYS: Final = frozenset({"name", "id", "operation"})


def parse_webhook(body: bytes | str) -> ParsedWebhook:
    """Detect the format and normalise every event; duplicates within the body are skipped. Linear in
    the size of the body, and cheap per bad element. Never raises: a body that does not parse is one
    `malformed_body` skip."""
    try:
        payload = json.loads(body)
    except (ValueError, UnicodeDecodeError):  # not JSON, not UTF-8, a number beyond int's digit limit
        return ParsedWebhook.malformed("not JSON")
    except RecursionError:  # nested deeper than the recursion limit (no real webhook is)
        return ParsedWebhook.malformed("nested too deeply")
    if isinstance(payload, list):
        result = ParsedWebhook("cloudevents")
        if not payload:
            result.skips.count("malformed_body", "an empty CloudEvents array")
        candidates = [item for item in payload if isinstance(item, dict) and item.keys() >= CLOUDEVENT_KEYS]
        result.skips.count(
            "malformed_event",
            "not an object with specversion, id, type, intuitaccountid and intuitentityid",
            times=len(payload) - len(candidates),
        )
        for item in candidates:
            result.add(_cloud_event(item))
        return result
    if isinstance(payload, dict) and "eventNotifications" in payload:
        result = ParsedWebhook("legacy")
        notifications = payload["eventNotifications"]
        if not isinstance(notifications, list) or not notifications:
            result.skips.count("malformed_body", "eventNotifications is not a non-empty list")
            return result
        candidates = [n for n in notifications if isinstance(n, dict) and n.keys() >= LEGACY_NOTIFICATION_KEYS]
        result.skips.count(
            "malformed_event",
            "a notification that is not an object with realmId and dataChangeEvent",
            times=len(notifications) - len(candidates),
        )
        for notification in candidates:
            _legacy_notification(result, notification)
        return result
    if isinstance(payload, dict) and "specversion" in payload:  # a single CloudEvent, not in an array
        result = ParsedWebhook("cloudevents")
        result.add(_cloud_event(payload))
        return result
    return ParsedWebhook.malformed("neither eventNotifications nor a CloudEvents array")


def _text(value: Any) -> str | None:
    """A non-empty string, or an id sent as a number; None for anything else."""
    if isinstance(value, str):
        return value.strip() or None
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    return None


def parse_time(value: Any) -> datetime | None:
    """ISO 8601 with Z or an offset, any fraction (CloudEvents send nanoseconds); naive = UTC."""
    text = _text(value)
    if text is None:
        return None
    try:  # the usual case, at once (Python 3.11+ reads Z and keeps microseconds of any fraction)
        moment = datetime.fromisoformat(text)
    except ValueError:
        pass
    else:
        return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)
    if "." in text:  # keep at most microseconds
        head, _, rest = text.partition(".")
        digits = len(rest) - len(rest.lstrip("0123456789"))
        text = f"{head}.{rest[:digits][:6].ljust(6, '0')}{rest[digits:]}" if digits else text
    try:
        moment = datetime.fromisoformat(text.replace("Z", "+00:00").replace("z", "+00:00"))
    except ValueError:
        return None
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


def legacy_event_id(realm_id: str, entity: str, entity_id: str, operation: str, last_updated: str) -> str:
    """Legacy notifications carry no id: a digest of what identifies the change (stable across redeliveries)."""
    key = "|".join((realm_id, entity, entity_id, operation, last_updated))
    return "legacy-" + hashlib.sha256(key.encode("utf-8")).hexdigest()


def _event(
    *,
    realm_id: str,
    entity: str,
    entity_id: str,
    operation: Operation,
    occurred_at: datetime,
    event_id: str,
    deleted_id: str | None,
) -> ParsedEvent | Skip:
    try:
        event = EntityEvent(
            realm_id=realm_id,
            entity=entity,
            entity_id=entity_id,
            operation=operation,
            occurred_at=occurred_at,
            event_id=event_id,
            source="webhook",
        )
    except ValidationError as error:
        fields = ",".join(sorted({str(problem["loc"][0]) for problem in error.errors() if problem["loc"]}))
        return Skip("malformed_event", f"invalid {fields}", realm_id[:40], entity, entity_id[:40])
    return ParsedEvent(event, deleted_id)


def _legacy_notification(result: ParsedWebhook, notification: dict[str, Any]) -> None:
    realm_id = _text(notification.get("realmId"))
    change = notification.get("dataChangeEvent")
    entities = change.get("entities") if isinstance(change, dict) else None
    if realm_id is None or not isinstance(entities, list):
        result.skips.count("malformed_event", "a notification without realmId or dataChangeEvent.entities", realm_id)
        return
    candidates = [item for item in entities if isinstance(item, dict) and item.keys() >= LEGACY_ENTITY_KEYS]
    result.skips.count(
        "malformed_event",
        "an entity that is not an object with name, id and operation",
        realm_id,
        times=len(entities) - len(candidates),
    )
    for item in candidates:
        result.add(_legacy_entity(realm_id, item))


def _legacy_entity(realm_id: str, item: dict[str, Any]) -> ParsedEvent | Skip:
    name, entity_id = _text(item.get("name")), _text(item.get("id"))
    raw_operation, last_updated = _text(item.get("operation")), _text(item.get("lastUpdated"))
    if name is None or entity_id is None or raw_operation is None:
        return Skip("malformed_event", "an entity without name, id or operation", realm_id, name, entity_id)
    entity = KNOWN_ENTITIES.get(name.lower())
    if entity is None:
        return Skip("unknown_entity", name[:40], realm_id, name[:40], entity_id[:40])
    operation = LEGACY_OPERATIONS.get(raw_operation.lower())
    if operation is None:
        return Skip("unknown_operation", raw_operation[:40], realm_id, entity, entity_id[:40])
    occurred_at = parse_time(last_updated)
    if occurred_at is None or last_updated is None:
        return Skip("malformed_event", "lastUpdated missing or not a time", realm_id, entity, entity_id[:40])
    return _event(
        realm_id=realm_id,
        entity=entity,
        entity_id=entity_id,
        operation=operation,
        occurred_at=occurred_at,
        event_id=legacy_event_id(realm_id, entity, entity_id, operation, last_updated),
        deleted_id=_text(item.get("deletedId")),
    )


def _cloud_event(item: dict[str, Any]) -> ParsedEvent | Skip:
    realm_id, entity_id = _text(item.get("intuitaccountid")), _text(item.get("intuitentityid"))
    event_id, event_type = _text(item.get("id")), _text(item.get("type"))
    if not _text(item.get("specversion")) or realm_id is None or entity_id is None or event_id is None:
        return Skip(
            "malformed_event", "missing specversion, id, intuitaccountid or intuitentityid", realm_id, None, entity_id
        )
    parts = event_type.split(".") if event_type else []
    if len(parts) != 4 or parts[0] != "qbo" or not parts[3].startswith("v"):
        return Skip("malformed_event", "type is not qbo.<entity>.<verb>.v<n>", realm_id, None, entity_id)
    entity = KNOWN_ENTITIES.get(parts[1].lower())
    if entity is None:
        return Skip("unknown_entity", parts[1][:40], realm_id, parts[1][:40], entity_id[:40])
    operation = CLOUDEVENT_VERBS.get(parts[2].lower())
    if operation is None:
        return Skip("unknown_operation", parts[2][:40], realm_id, entity, entity_id[:40])
    occurred_at = parse_time(item.get("time"))
    if occurred_at is None:
        return Skip("malformed_event", "time missing or not a time", realm_id, entity, entity_id[:40])
    return _event(
        realm_id=realm_id,
        entity=entity,
        entity_id=entity_id,
        operation=operation,
        occurred_at=occurred_at,
        event_id=event_id,
        deleted_id=_text(item.get("intuitdeletedentityid")),
    )


def is_synced(event: EntityEvent) -> bool:
    """Whether payment sync acts on this event (see SYNCED_OPERATIONS)."""
    return event.operation in SYNCED_OPERATIONS.get(event.entity, frozenset())
