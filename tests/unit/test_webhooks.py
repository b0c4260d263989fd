"""Intuit webhooks: signature, both payload formats, which events are queued, the SQS adapter."""

from __future__ import annotations

import base64
import json
import threading
from datetime import UTC, datetime
from typing import Any

import pytest

from qbosync.adapters.sqs import SqsEventQueue
from qbosync.domain.connection import CompanyProfile, Connection, ConnectionSettings, ConnectionStatus
from qbosync.domain.events import EntityEvent, QueueUnavailable, decode_message
from qbosync.domain.signing import intuit_webhook_signature
from qbosync.domain.webhooks import (
    MAX_SKIPS_KEPT,
    InvalidWebhookSignature,
    legacy_event_id,
    parse_time,
    parse_webhook,
    signature_matches,
)
from qbosync.services.webhooks import WebhookService
from tests.fakes import InMemoryEventQueue

TOKEN = "verifier-token-0123456789"
REALM = "9341453012345678"
OTHER_REALM = "9341453087654321"


def legacy(*entities: dict[str, Any], realm: str = REALM) -> dict[str, Any]:
    return {"eventNotifications": [{"realmId": realm, "dataChangeEvent": {"entities": list(entities)}}]}


def entity(name: str = "Payment", entity_id: str = "173", operation: str = "Create", **extra: Any) -> dict[str, Any]:
    return {"name": name, "id": entity_id, "operation": operation, "lastUpdated": "2026-07-15T14:42:19.000Z", **extra}


def cloud(
    event_type: str = "qbo.payment.created.v1", entity_id: str = "173", realm: str = REALM, event_id: str = "ev-1"
) -> dict[str, Any]:
    return {
        "specversion": "1.0",
        "id": event_id,
        "source": "intuit.abc",
        "type": event_type,
        "datacontenttype": "application/json",
        "time": "2026-07-15T21:31:25.179851517Z",
        "intuitentityid": entity_id,
        "intuitaccountid": realm,
        "data": {},
    }


def body_of(payload: Any) -> bytes:
    return json.dumps(payload).encode()


# --------------------------------------------------------------------------- signature


def test_signature_of_the_raw_body_matches() -> None:
    body = body_of(legacy(entity()))
    assert signature_matches(TOKEN, body, intuit_webhook_signature(TOKEN, body))


@pytest.mark.parametrize(
    "change",
    [
        lambda b: b.replace(b": ", b":"),  # re-serialised / whitespace changed
        lambda b: b + b"\n",
        lambda b: b.replace(b"173", b"174"),
    ],
    ids=["whitespace", "trailing-newline", "value"],
)
def test_signature_fails_for_a_changed_body(change: Any) -> None:
    body = body_of(legacy(entity()))
    changed = change(body)
    assert changed != body
    assert not signature_matches(TOKEN, changed, intuit_webhook_signature(TOKEN, body))


def test_signature_with_the_wrong_key_fails() -> None:
    body = body_of(legacy(entity()))
    assert not signature_matches(TOKEN, body, intuit_webhook_signature("another-token", body))


@pytest.mark.parametrize("header", [None, "", "   ", "not base64 !!", "c2hvcnQ=", "%%%", "AAAA"])
def test_missing_or_garbage_signature_fails(header: str | None) -> None:
    assert not signature_matches(TOKEN, b"{}", header)


def test_no_verifier_token_never_matches() -> None:
    assert not signature_matches("", b"{}", intuit_webhook_signature("", b"{}"))


def test_signature_header_may_carry_surrounding_whitespace() -> None:
    body = b'{"eventNotifications":[]}'
    assert signature_matches(TOKEN, body, " " + intuit_webhook_signature(TOKEN, body) + "\n")


# --------------------------------------------------------------------------- parsing: legacy


def test_legacy_payload_is_normalised() -> None:
    parsed = parse_webhook(body_of(legacy(entity(), entity("Invoice", "130", "Void"))))
    assert parsed.format == "legacy"
    assert not parsed.skipped
    payment, invoice = (item.event for item in parsed.events)
    assert payment.realm_id == REALM
    assert (payment.entity, payment.entity_id, payment.operation) == ("Payment", "173", "create")
    assert payment.occurred_at == datetime(2026, 7, 15, 14, 42, 19, tzinfo=UTC)
    assert payment.source == "webhook"
    assert payment.event_id == legacy_event_id(REALM, "Payment", "173", "create", "2026-07-15T14:42:19.000Z")
    assert (invoice.entity, invoice.operation) == ("Invoice", "void")


def test_legacy_event_id_is_stable_and_distinguishes_changes() -> None:
    first = parse_webhook(body_of(legacy(entity()))).events[0].event.event_id
    again = parse_webhook(body_of(legacy(entity()))).events[0].event.event_id
    update = parse_webhook(body_of(legacy(entity(operation="Update")))).events[0].event.event_id
    later = parse_webhook(body_of(legacy(entity(lastUpdated="2026-07-15T14:50:00.000Z")))).events[0].event.event_id
    other_realm = parse_webhook(body_of(legacy(entity(), realm=OTHER_REALM))).events[0].event.event_id
    assert first == again
    assert len({first, update, later, other_realm}) == 4


def test_legacy_merge_keeps_the_deleted_id() -> None:
    parsed = parse_webhook(body_of(legacy(entity("Customer", "44", "Merge", deletedId="45"))))
    (item,) = parsed.events
    assert item.event.operation == "merge"
    assert item.deleted_id == "45"


def test_legacy_several_realms_and_odd_cases() -> None:
    payload = {
        "eventNotifications": [
            legacy(entity(operation="UPDATE"))["eventNotifications"][0],
            legacy(entity("payment", "9", "delete"), realm=OTHER_REALM)["eventNotifications"][0],
        ]
    }
    parsed = parse_webhook(body_of(payload))
    assert [(e.event.realm_id, e.event.entity, e.event.operation) for e in parsed.events] == [
        (REALM, "Payment", "update"),
        (OTHER_REALM, "Payment", "delete"),
    ]
    assert parsed.realm_ids == sorted([REALM, OTHER_REALM])


def test_numeric_ids_are_accepted() -> None:
    parsed = parse_webhook(body_of(legacy({**entity(), "id": 173})))
    assert parsed.events[0].event.entity_id == "173"


@pytest.mark.parametrize(
    ("item", "reason"),
    [
        ({"name": "Payment", "id": "1", "lastUpdated": "2026-07-15T14:42:19.000Z"}, "malformed_event"),
        ({"name": "Payment", "operation": "Create", "lastUpdated": "2026-07-15T14:42:19.000Z"}, "malformed_event"),
        (entity(lastUpdated="yesterday"), "malformed_event"),
        ({k: v for k, v in entity().items() if k != "lastUpdated"}, "malformed_event"),
        (entity("Spaceship"), "unknown_entity"),
        (entity(operation="Teleport"), "unknown_operation"),
        (entity(entity_id="9" * 41), "malformed_event"),
        ("Payment", "malformed_event"),
    ],
)
def test_legacy_bad_entities_are_skipped_with_a_reason(item: Any, reason: str) -> None:
    parsed = parse_webhook(body_of(legacy(item, entity(entity_id="200"))))
    assert [skip.reason for skip in parsed.skipped] == [reason]
    assert [e.event.entity_id for e in parsed.events] == ["200"]  # the good one next to it survives


@pytest.mark.parametrize(
    ("payload", "reason"),
    [
        ({"eventNotifications": []}, "malformed_body"),
        ({"eventNotifications": "nope"}, "malformed_body"),
        ({"eventNotifications": [{"realmId": REALM}]}, "malformed_event"),
        ({"eventNotifications": [{"dataChangeEvent": {"entities": [entity()]}}]}, "malformed_event"),
        ({"eventNotifications": [42]}, "malformed_event"),
    ],
)
def test_legacy_bad_notifications_are_skipped(payload: Any, reason: str) -> None:
    """A body without a usable list is malformed as a whole; a notification without realmId and
    dataChangeEvent is one malformed event."""
    parsed = parse_webhook(body_of(payload))
    assert parsed.events == []
    assert [skip.reason for skip in parsed.skipped] == [reason]


def test_duplicate_in_one_body_is_queued_once() -> None:
    parsed = parse_webhook(body_of(legacy(entity(), entity())))
    assert len(parsed.events) == 1
    assert [skip.reason for skip in parsed.skipped] == ["duplicate"]


# --------------------------------------------------------------------------- parsing: CloudEvents


def test_cloudevents_array_with_several_realms() -> None:
    payload = [
        cloud(),
        cloud("qbo.invoice.voided.v1", "130", OTHER_REALM, "ev-2"),
        cloud("qbo.payment.deleted.v1", "174", REALM, "ev-3"),
        cloud("qbo.billpayment.updated.v1", "5", OTHER_REALM, "ev-4"),
    ]
    parsed = parse_webhook(body_of(payload))
    assert parsed.format == "cloudevents"
    assert not parsed.skipped
    events = [item.event for item in parsed.events]
    assert [(e.realm_id, e.entity, e.entity_id, e.operation, e.event_id) for e in events] == [
        (REALM, "Payment", "173", "create", "ev-1"),
        (OTHER_REALM, "Invoice", "130", "void", "ev-2"),
        (REALM, "Payment", "174", "delete", "ev-3"),
        (OTHER_REALM, "BillPayment", "5", "update", "ev-4"),
    ]
    assert events[0].occurred_at == datetime(2026, 7, 15, 21, 31, 25, 179851, tzinfo=UTC)


def test_cloudevent_merge_keeps_the_deleted_id() -> None:
    item = {**cloud("qbo.customer.merged.v1", "44"), "intuitdeletedentityid": "45"}
    (parsed,) = parse_webhook(body_of([item])).events
    assert parsed.event.operation == "merge"
    assert parsed.deleted_id == "45"


def test_a_single_cloudevent_object_is_accepted() -> None:
    parsed = parse_webhook(body_of(cloud()))
    assert parsed.format == "cloudevents"
    assert [e.event.event_id for e in parsed.events] == ["ev-1"]


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        ({"type": "qbo.spaceship.created.v1"}, "unknown_entity"),
        ({"type": "qbo.payment.teleported.v1"}, "unknown_operation"),
        ({"type": "payment.created"}, "malformed_event"),
        ({"type": None}, "malformed_event"),
        ({"specversion": None}, "malformed_event"),
        ({"id": ""}, "malformed_event"),
        ({"intuitaccountid": None}, "malformed_event"),
        ({"intuitentityid": None}, "malformed_event"),
        ({"time": "not a time"}, "malformed_event"),
        ({"intuitaccountid": "1" * 33}, "malformed_event"),
    ],
)
def test_bad_cloudevents_are_skipped_with_a_reason(change: dict[str, Any], reason: str) -> None:
    parsed = parse_webhook(body_of([{**cloud(event_id="bad"), **change}, cloud(event_id="good")]))
    assert [skip.reason for skip in parsed.skipped] == [reason]
    assert [e.event.event_id for e in parsed.events] == ["good"]


def test_duplicate_cloudevent_ids_in_one_body() -> None:
    parsed = parse_webhook(body_of([cloud(), cloud()]))
    assert len(parsed.events) == 1
    assert [skip.reason for skip in parsed.skipped] == ["duplicate"]


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        *((body, "malformed_body") for body in (b"", b"not json", b"{", b"null", b"42", b'"text"', b"{}")),
        *((body, "malformed_body") for body in (b'{"foo": 1}', b"[]", b"\xff\xfe")),
        (b"[1, 2]", "malformed_event"),  # a CloudEvents array whose elements are not events
    ],
)
def test_malformed_bodies(body: bytes, reason: str) -> None:
    parsed = parse_webhook(body)
    assert parsed.events == []
    assert [skip.reason for skip in parsed.skipped] == [reason]


def nested(depth: int, inner: bytes = b"1") -> bytes:
    return b"[" * depth + inner + b"]" * depth


@pytest.mark.parametrize("depth", [1_000, 100_000])
@pytest.mark.parametrize(
    "wrap",
    [
        lambda deep: deep,
        lambda deep: b'{"eventNotifications": [{"realmId": "1", "dataChangeEvent": {"entities": ' + deep + b"}}]}",
        lambda deep: b'[{"specversion": "1.0", "id": "a", "data": ' + deep + b"}]",
    ],
    ids=["body", "legacy-entities", "cloudevent-data"],
)
def test_deeply_nested_bodies_are_a_skip_not_an_error(depth: int, wrap: Any) -> None:
    parsed = parse_webhook(wrap(nested(depth)))
    assert parsed.events == []
    assert [skip.reason for skip in parsed.skipped] == ["malformed_body"]


@pytest.mark.parametrize(
    "body",
    [
        b"\xc3\x28",  # invalid UTF-8
        b'[{"specversion": "1.0", "id": "a\xff"}]',
        b'{"eventNotifications": [{"realmId": "\xed\xa0\x80"}]}',  # an encoded surrogate
        b'"\\ud800"',
        b'[{"specversion": "1.0", "id": "\\ud800", "type": "qbo.payment.created.v1", "intuitaccountid": "1",'
        b' "intuitentityid": "2", "time": "2026-07-15T00:00:00Z"}]',
        b"1" * 5000,  # beyond int's digit limit
        b'{"eventNotifications": [{"realmId": '
        + b"9" * 4000
        + b', "dataChangeEvent": {"entities": [{"name": "Payment", "id": "1",'
        b' "operation": "Create", "lastUpdated": "2026-07-15T00:00:00Z"}]}}]}',
        b'{"eventNotifications": {"realmId": "1"}}',
        b'{"eventNotifications": [{"realmId": ["1"], "dataChangeEvent": {"entities": {"name": "Payment"}}}]}',
        b'{"eventNotifications": [{"realmId": "1", "dataChangeEvent": {"entities": [{"name": {"a": 1}, "id": [],'
        b' "operation": 1.5, "lastUpdated": true}]}}]}',
        b'[{"specversion": 1, "id": 1e999, "type": ["qbo"], "intuitaccountid": null, "intuitentityid": {}}]',
        b'[{"specversion": "1.0", "id": "a", "type": "qbo.payment.created.v1", "intuitaccountid": "1",'
        b' "intuitentityid": "2", "time": "9999-12-31T23:59:59-23:59"}]',
        b'[{"specversion": "1.0", "id": "' + b"a" * 500 + b'", "type": "qbo.payment.created.v1",'
        b' "intuitaccountid": "1", "intuitentityid": "2", "time": "2026-07-15T00:00:00Z"}]',
        b"\xef\xbb\xbf[]",  # a byte order mark
        b"\x00" * 10,
    ],
)
def test_bodies_of_the_wrong_encoding_or_types_never_raise(body: bytes) -> None:
    parsed = parse_webhook(body)
    assert parsed.skipped or parsed.events
    for item in parsed.events:  # whatever got through is a valid event that serialises
        EntityEvent.model_validate_json(item.event.model_dump_json())


def test_duplicates_anywhere_in_a_large_body_are_dropped_once_each() -> None:
    items = [cloud(event_id=f"ev-{n % 1000}", entity_id=str(n % 1000)) for n in range(3000)]
    parsed = parse_webhook(body_of(items))
    assert [p.event.event_id for p in parsed.events] == [f"ev-{n}" for n in range(1000)]
    assert parsed.skips.counts == {"duplicate": 2000}
    assert len(parsed.skipped) == MAX_SKIPS_KEPT  # the first ones whole, for the log


@pytest.mark.parametrize(
    "body",
    [
        b"[" + b"1," * 300_000 + b"1]",
        b"[" + b"{}," * 300_000 + b"{}]",
        b'{"eventNotifications": [{"realmId": "1", "dataChangeEvent": {"entities": [' + b"[]," * 300_000 + b"[]]}}]}",
        b'{"eventNotifications": [' + b"null," * 300_000 + b"null]}",
    ],
    ids=["numbers", "empty-objects", "legacy-entities", "legacy-notifications"],
)
def test_every_bad_element_is_counted_and_only_some_are_kept_whole(body: bytes) -> None:
    parsed = parse_webhook(body)
    assert parsed.events == []
    assert parsed.skips.counts == {"malformed_event": 300_001}
    assert 1 <= len(parsed.skipped) <= MAX_SKIPS_KEPT


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2026-07-15T21:31:25.179851517Z", datetime(2026, 7, 15, 21, 31, 25, 179851, tzinfo=UTC)),
        ("2026-07-15T14:42:19.000Z", datetime(2026, 7, 15, 14, 42, 19, tzinfo=UTC)),
        ("2026-07-15T07:42:19.5-07:00", datetime(2026, 7, 15, 14, 42, 19, 500000, tzinfo=UTC)),
        ("2026-07-15T14:42:19", datetime(2026, 7, 15, 14, 42, 19, tzinfo=UTC)),
        ("garbage", None),
        (None, None),
        (12, None),
    ],
)
def test_parse_time(text: Any, expected: datetime | None) -> None:
    assert parse_time(text) == expected


# --------------------------------------------------------------------------- the service


def connection(
    connection_id: str, realm: str, *, status: ConnectionStatus = ConnectionStatus.CONNECTED, sync: bool = True
) -> Connection:
    now = datetime(2026, 7, 1, tzinfo=UTC)
    company = CompanyProfile(
        realm_id=realm,
        company_name="Acme",
        country="US",
        home_currency="USD",
        multicurrency_enabled=False,
        custom_txn_numbers=False,
        automated_sales_tax=False,
        using_sales_tax=True,
    )
    return Connection(
        connection_id=connection_id,
        organization_id="org",
        subsidiary_id=connection_id,
        status=status,
        return_url="https://example.test/",
        created_at=now,
        updated_at=now,
        settings=ConnectionSettings(sync_payments=sync),
        company=company,
    )


class Connections:
    def __init__(self, *connections: Connection) -> None:
        self.by_id = {c.connection_id: c for c in connections}
        self.realm_queries: list[str] = []

    def connection_ids_for_realm(self, realm_id: str) -> list[str]:
        self.realm_queries.append(realm_id)
        return [c.connection_id for c in self.by_id.values() if c.realm_id == realm_id]

    def get(self, connection_id: str) -> Connection | None:
        return self.by_id.get(connection_id)


class Tokens:
    """The cached secret returns `cached`; a forced fetch returns (and caches) `fresh`."""

    def __init__(self, cached: str, fresh: str | None = None) -> None:
        self.cached = cached
        self.fresh = fresh or cached
        self.forced = 0

    def __call__(self, *, force_fetch: bool = False) -> str:
        if force_fetch:
            self.forced += 1
            self.cached = self.fresh
        return self.cached


def service(
    connections: Connections | None = None, queue: InMemoryEventQueue | None = None, tokens: Tokens | None = None
) -> tuple[WebhookService, InMemoryEventQueue, Connections, Tokens]:
    connections = connections or Connections(connection("c1", REALM))
    queue = queue or InMemoryEventQueue()
    tokens = tokens or Tokens(TOKEN)
    svc = WebhookService(verifier_token=tokens, connections=connections, queue=queue)  # type: ignore[arg-type]
    return svc, queue, connections, tokens


def signed(payload: Any, token: str = TOKEN) -> tuple[bytes, str]:
    body = body_of(payload)
    return body, intuit_webhook_signature(token, body)


def test_service_queues_payment_invoice_and_credit_memo_changes_only() -> None:
    svc, queue, _, _ = service()
    body, signature = signed(
        legacy(
            entity(),
            entity("Payment", "174", "Void"),
            entity("Invoice", "130", "Update"),
            entity("Invoice", "131", "Delete"),
            entity("Invoice", "132", "Create"),
            entity("Invoice", "133", "Emailed"),
            entity("CreditMemo", "140", "Void"),
            entity("CreditMemo", "141", "Create"),
            entity("Customer", "44", "Merge", deletedId="45"),
        )
    )
    outcome = svc.receive(body, signature)
    assert [(e.entity, e.entity_id, e.operation) for e in queue.sent] == [
        ("Payment", "173", "create"),
        ("Payment", "174", "void"),
        ("Invoice", "130", "update"),  # may be one of our copies changed in QuickBooks
        ("Invoice", "131", "delete"),
        ("CreditMemo", "140", "void"),
    ]
    assert outcome.queued == queue.sent
    assert outcome.skipped_by_reason() == {"not_synced": 4}


def test_service_routes_each_realm_of_a_cloudevents_array() -> None:
    connections = Connections(
        connection("c1", REALM),
        connection("c2", OTHER_REALM, sync=False),
        connection("c3", "111", status=ConnectionStatus.DISCONNECTED),
        connection("c4", "222", status=ConnectionStatus.NEEDS_RECONNECT),
    )
    svc, queue, connections, _ = service(connections)
    body, signature = signed(
        [
            cloud(event_id="a"),
            cloud(realm=OTHER_REALM, event_id="b"),
            cloud(realm="111", event_id="c"),
            cloud(realm="222", event_id="d"),
            cloud(realm="333", event_id="e"),
            cloud(realm=REALM, event_id="f", entity_id="174"),
        ]
    )
    outcome = svc.receive(body, signature)
    assert [e.event_id for e in queue.sent] == ["a", "f"]
    assert outcome.skipped_by_reason() == {"sync_off": 1, "not_connected": 2, "unknown_realm": 1}
    assert sorted(connections.realm_queries) == sorted([REALM, OTHER_REALM, "111", "222", "333"])  # once per realm


def test_invoice_and_credit_memo_changes_are_kept_for_every_connected_company() -> None:
    # Copies changed in QuickBooks are flagged whether payment sync is on or off; payments only with it on.
    connections = Connections(
        connection("c2", OTHER_REALM, sync=False),
        connection("c3", "111", sync=False, status=ConnectionStatus.DISCONNECTED),
    )
    svc, queue, connections, _ = service(connections)
    body, signature = signed(
        [
            cloud(realm=OTHER_REALM, event_id="payment"),
            cloud("qbo.invoice.voided.v1", "130", realm=OTHER_REALM, event_id="void"),
            cloud("qbo.creditmemo.updated.v1", "140", realm=OTHER_REALM, event_id="memo"),
            cloud("qbo.invoice.deleted.v1", "131", realm="111", event_id="disconnected"),
            cloud("qbo.invoice.updated.v1", "132", realm="333", event_id="unknown"),
            cloud(realm="333", event_id="unknown-payment"),
        ]
    )
    outcome = svc.receive(body, signature)
    assert [(e.event_id, e.entity, e.operation) for e in queue.sent] == [
        ("void", "Invoice", "void"),
        ("memo", "CreditMemo", "update"),
    ]
    assert outcome.skipped_by_reason() == {"sync_off": 1, "not_connected": 1, "unknown_realm": 2}
    assert sorted(connections.realm_queries) == sorted([OTHER_REALM, "111", "333"])  # once per realm


def test_the_remembered_yes_is_per_company_and_kind_of_change() -> None:
    now = [1000.0]
    connections = Connections(connection("c1", REALM, sync=False))
    queue = InMemoryEventQueue()
    svc = WebhookService(
        verifier_token=Tokens(TOKEN),
        connections=connections,  # type: ignore[arg-type]
        queue=queue,
        monotonic=lambda: now[0],
    )
    for number in range(2):
        svc.receive(*signed(legacy(entity("Invoice", str(number), "Void"))))
    assert connections.realm_queries == [REALM]  # the invoices' "yes" is remembered
    for _ in range(2):  # the payments' "no" is not, however often it is asked
        assert svc.receive(*signed(legacy(entity()))).skipped_by_reason() == {"sync_off": 1}
    assert connections.realm_queries == [REALM] * 3
    connections.by_id["c1"] = connection("c1", REALM, sync=True)
    svc.receive(*signed(legacy(entity("Payment", "9"))))
    svc.receive(*signed(legacy(entity("Payment", "10"), entity("CreditMemo", "11", "Delete"))))
    assert connections.realm_queries == [REALM] * 4  # then both kinds' "yes" are remembered
    assert [(e.entity, e.entity_id) for e in queue.sent] == [
        ("Invoice", "0"),
        ("Invoice", "1"),
        ("Payment", "9"),
        ("Payment", "10"),
        ("CreditMemo", "11"),
    ]


def test_one_syncing_connection_of_several_is_enough() -> None:
    connections = Connections(connection("old", REALM, status=ConnectionStatus.DISCONNECTED), connection("new", REALM))
    svc, queue, _, _ = service(connections)
    svc.receive(*signed(legacy(entity())))
    assert len(queue.sent) == 1


def test_a_syncing_realm_is_remembered_for_a_minute_only() -> None:
    now = [1000.0]
    connections = Connections(connection("c1", REALM))
    queue = InMemoryEventQueue()
    svc = WebhookService(
        verifier_token=Tokens(TOKEN),
        connections=connections,  # type: ignore[arg-type]
        queue=queue,
        monotonic=lambda: now[0],
    )
    for number in range(3):
        svc.receive(*signed(legacy(entity(entity_id=str(number)))))
    assert connections.realm_queries == [REALM]
    now[0] += 61
    svc.receive(*signed(legacy(entity(entity_id="9"))))
    assert connections.realm_queries == [REALM, REALM]
    assert len(queue.sent) == 4


def test_switching_sync_on_takes_effect_at_once() -> None:
    connections = Connections(connection("c1", REALM, sync=False))
    svc, queue, _, _ = service(connections)
    assert svc.receive(*signed(legacy(entity()))).skipped_by_reason() == {"sync_off": 1}
    connections.by_id["c1"] = connection("c1", REALM, sync=True)
    svc.receive(*signed(legacy(entity(entity_id="2"))))
    assert [e.entity_id for e in queue.sent] == ["2"]


def test_unknown_realm_is_skipped() -> None:
    svc, queue, _, _ = service()
    outcome = svc.receive(*signed(legacy(entity(), realm="123")))
    assert queue.sent == []
    assert outcome.skipped_by_reason() == {"unknown_realm": 1}


def test_malformed_body_is_skipped_not_an_error() -> None:
    svc, queue, connections, _ = service()
    body = b'{"eventNotifications": [{"realmId": '
    outcome = svc.receive(body, intuit_webhook_signature(TOKEN, body))
    assert queue.sent == []
    assert outcome.format is None
    assert outcome.skipped_by_reason() == {"malformed_body": 1}
    assert connections.realm_queries == []


@pytest.mark.parametrize("header", [None, "", "garbage", base64.b64encode(b"x" * 32).decode()])
def test_bad_signature_is_refused_and_nothing_is_queued(header: str | None) -> None:
    svc, queue, connections, _ = service()
    body = body_of(legacy(entity()))
    with pytest.raises(InvalidWebhookSignature):
        svc.receive(body, header)
    assert queue.sent == []
    assert connections.realm_queries == []


def test_body_changed_after_signing_is_refused() -> None:
    svc, queue, _, _ = service()
    body, signature = signed(legacy(entity()))
    with pytest.raises(InvalidWebhookSignature):
        svc.receive(json.dumps(json.loads(body), separators=(",", ":")).encode(), signature)
    assert queue.sent == []


def test_rotated_verifier_token_is_fetched_again_once() -> None:
    tokens = Tokens(cached="old-token", fresh=TOKEN)
    svc, queue, _, _ = service(tokens=tokens)
    svc.receive(*signed(legacy(entity())))
    assert tokens.forced == 1
    assert len(queue.sent) == 1
    svc.receive(*signed(legacy(entity("Payment", "175"))))  # now cached: no second fetch
    assert tokens.forced == 1


def test_wrong_signature_costs_one_forced_fetch() -> None:
    tokens = Tokens(TOKEN)
    svc, _, _, _ = service(tokens=tokens)
    with pytest.raises(InvalidWebhookSignature):
        svc.receive(*signed(legacy(entity()), token="attacker"))
    assert tokens.forced == 1


def test_queue_down_propagates() -> None:
    svc, _, _, _ = service(queue=InMemoryEventQueue(fail=True))
    with pytest.raises(QueueUnavailable):
        svc.receive(*signed(legacy(entity())))


def test_companies_not_checked_within_the_budget_are_queued_for_the_worker_to_check() -> None:
    now = [1000.0]

    class SlowConnections(Connections):
        def connection_ids_for_realm(self, realm_id: str) -> list[str]:
            now[0] += 0.3  # each look-up takes 0.3 s
            return super().connection_ids_for_realm(realm_id)

    connections = SlowConnections(connection("c1", REALM))
    queue = InMemoryEventQueue()
    svc = WebhookService(
        verifier_token=Tokens(TOKEN),
        connections=connections,  # type: ignore[arg-type]
        queue=queue,
        watching_realm_ttl=0,
        monotonic=lambda: now[0],
    )
    realms = ["111", "222", "333", REALM, "444", "555"]
    outcome = svc.receive(*signed([cloud(realm=realm, event_id=realm) for realm in realms]))
    assert connections.realm_queries == ["111", "222", "333", REALM]  # 1.2 s: out of time after the fourth
    assert [e.event_id for e in queue.sent] == [REALM, "444", "555"]
    assert outcome.skipped_by_reason() == {"unknown_realm": 3}
    assert outcome.unchecked_realms == 2


def test_a_parser_defect_is_a_skip_not_an_error(monkeypatch: pytest.MonkeyPatch) -> None:
    import qbosync.services.webhooks as module

    def broken(body: bytes) -> Any:
        raise KeyError("part of the body")

    monkeypatch.setattr(module, "parse_webhook", broken)
    svc, queue, _, _ = service()
    outcome = svc.receive(*signed(legacy(entity())))
    assert queue.sent == []
    assert outcome.skipped_by_reason() == {"malformed_body": 1}


# --------------------------------------------------------------------------- the SQS adapter


def event(number: int) -> EntityEvent:
    return EntityEvent(
        realm_id=REALM,
        entity="Payment",
        entity_id=str(number),
        operation="update",
        occurred_at=datetime(2026, 7, 15, tzinfo=UTC),
        event_id=f"ev-{number}",
    )


class FakeSqs:
    """SendMessageBatch that checks SQS's limits and can reject entries (by the entity id of their
    first event) or fail whole calls."""

    def __init__(self, reject: dict[int, int] | None = None, errors: int = 0, sender_fault: bool = False) -> None:
        self.reject = dict(reject or {})  # entity id -> how many more times to reject its message
        self.errors = errors
        self.sender_fault = sender_fault
        self.calls: list[list[dict[str, Any]]] = []
        self.accepted: list[EntityEvent] = []
        self.messages: list[str] = []
        self.lock = threading.Lock()

    def send_message_batch(self, QueueUrl: str, Entries: list[dict[str, Any]]) -> dict[str, Any]:
        assert QueueUrl == "https://queue"
        assert 1 <= len(Entries) <= 10
        assert len({entry["Id"] for entry in Entries}) == len(Entries)
        assert sum(len(entry["MessageBody"].encode()) for entry in Entries) <= 256 * 1024
        with self.lock:
            if self.errors:
                self.errors -= 1
                raise ConnectionError("endpoint unreachable")
            self.calls.append(Entries)
            failed = []
            for entry in Entries:
                sent = [item for item in decode_message(entry["MessageBody"]) if isinstance(item, EntityEvent)]
                number = int(sent[0].entity_id)
                if self.reject.get(number, 0) > 0:
                    self.reject[number] -= 1
                    failed.append({"Id": entry["Id"], "SenderFault": self.sender_fault, "Code": "InternalError"})
                else:
                    self.accepted.extend(sent)
                    self.messages.append(entry["MessageBody"])
            return {"Successful": [], "Failed": failed}


def sqs_queue(sqs: FakeSqs, **options: Any) -> SqsEventQueue:
    return SqsEventQueue(sqs, "https://queue", sleep=lambda _: None, **options)


def test_sqs_queues_events_in_chunks_of_a_hundred_ten_chunks_a_call() -> None:
    sqs = FakeSqs()
    sqs_queue(sqs, parallel_batches=1).send([event(n) for n in range(2345)])
    assert [len(call) for call in sqs.calls] == [10, 10, 4]
    assert [len(decode_message(body)) for body in sqs.messages] == [100] * 23 + [45]
    assert [int(e.entity_id) for e in sqs.accepted] == list(range(2345))  # each once, in order


def test_sqs_batches_of_a_large_delivery_go_out_in_parallel() -> None:
    sqs = FakeSqs()
    sqs_queue(sqs).send([event(n) for n in range(5000)])
    assert len(sqs.calls) == 5
    assert sorted(int(e.entity_id) for e in sqs.accepted) == list(range(5000))


def test_sqs_chunks_stay_within_sqs_limits_whatever_the_event_size() -> None:
    big = [event(n).model_copy(update={"event_id": "x" * 200}) for n in range(1000)]
    sqs = FakeSqs()
    sqs_queue(sqs).send(big)
    assert all(len(body.encode()) <= 256 * 1024 // 10 for body in sqs.messages)
    assert sorted(int(e.entity_id) for e in sqs.accepted) == list(range(1000))


def test_sqs_retries_only_the_rejected_entries() -> None:
    sqs = FakeSqs(reject={300: 1, 700: 2})
    sqs_queue(sqs).send([event(n) for n in range(1000)])
    assert [len(call) for call in sqs.calls] == [10, 2, 1]
    assert sorted(int(e.entity_id) for e in sqs.accepted) == list(range(1000))


def test_sqs_call_errors_are_retried() -> None:
    sqs = FakeSqs(errors=2)
    sqs_queue(sqs).send([event(1)])
    assert len(sqs.accepted) == 1


@pytest.mark.parametrize(
    "sqs",
    [FakeSqs(errors=6), FakeSqs(reject={100: 5}), FakeSqs(reject={100: 1}, sender_fault=True)],
    ids=["down", "rejected", "sender-fault"],
)
def test_sqs_really_down_raises_after_trying_every_batch(sqs: FakeSqs) -> None:
    with pytest.raises(QueueUnavailable):
        sqs_queue(sqs).send([event(n) for n in range(1200)])
    if sqs.accepted:  # the other batch was still sent (the worker absorbs the redelivery's duplicates)
        assert sorted(int(e.entity_id) for e in sqs.accepted) == [n for n in range(1200) if not 100 <= n < 200]


def test_delay_is_set_on_every_message_when_asked() -> None:
    sqs = FakeSqs()
    sqs_queue(sqs).send([event(1)], delay_seconds=30)
    sqs_queue(sqs).send([event(2)])
    assert [entry.get("DelaySeconds") for call in sqs.calls for entry in call] == [30, None]


def test_message_body_is_a_chunk_of_entity_events() -> None:
    sqs = FakeSqs()
    sqs_queue(sqs).send([event(5), event(6)])
    assert json.loads(sqs.messages[0]) == {
        "events": [json.loads(event(5).model_dump_json()), json.loads(event(6).model_dump_json())]
    }
    assert sqs.accepted == [event(5), event(6)]
