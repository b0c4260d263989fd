"""The activity log in the single table (docs/architecture.md "Activity log"):

- ACTIVITY#<connection> / <at, UTC ISO to the ms>#<activity id>     one entry; on gsi1 also as
  ACTIVITY#<connection>#INVOICE#<invoice> / the same sort key, when the entry names an invoice
- ACTIVITY_ONCE#<connection>#<digest of the once key> / ONCE         an entry with a once key was
  written (put with it in one transaction, on the condition that it did not exist)

Every item expires (TTL) 400 days after the entry's time, and reads skip an entry past it (DynamoDB
deletes expired items late). `activity_item` is the entry itself, so a repository can put it in the
same write as the change it records."""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import re
from datetime import UTC, datetime
from typing import Any, cast

from boto3.dynamodb.conditions import Attr, ConditionBase, Key
from botocore.exceptions import ClientError

from qbosync.domain.activity import (
    ACTIVITY_RETENTION,
    MAX_PAGE_SIZE,
    Activity,
    ActivityKind,
    ActivityPage,
)
from qbosync.domain.errors import InvalidInput
from qbosync.domain.ports import Clock

INDEX = "gsi1"
_SORT_KEY = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z#[0-9A-Za-z_-]{1,64}")
_SCOPE = re.compile(r"[0-9a-f]{16}")
#: Query calls one page may take when a kind filter skips most entries; the page then ends early, with
#: a cursor where the reading stopped (a page is never one huge scan).
MAX_READS_PER_PAGE = 8


def _pk(connection_id: str) -> str:
    return f"ACTIVITY#{connection_id}"


def _invoice_pk(connection_id: str, invoice_id: str) -> str:
    return f"ACTIVITY#{connection_id}#INVOICE#{invoice_id}"


def _instant(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def _expires_at(activity: Activity) -> int:
    return int((activity.at + ACTIVITY_RETENTION).timestamp())


def activity_item(activity: Activity) -> dict[str, Any]:
    """The entry as the table holds it (for a put, alone or inside another repository's write)."""
    sort_key = f"{_instant(activity.at)}#{activity.activity_id}"
    item: dict[str, Any] = {
        "pk": _pk(activity.connection_id),
        "sk": sort_key,
        "type": "activity",
        "connection_id": activity.connection_id,
        "activity_id": activity.activity_id,
        "kind": activity.kind,
        "at": activity.at.astimezone(UTC).isoformat(),
        "summary": activity.summary,
        # JSON, not a map: details hold nested values of any shape, and DynamoDB maps would turn
        # numbers into Decimals and refuse empty keys.
        "details": json.dumps(dict(activity.details), default=str, sort_keys=True),
        "expires_at": _expires_at(activity),
    }
    if activity.invoice_id is not None:
        item["invoice_id"] = activity.invoice_id
        item["gsi1pk"] = _invoice_pk(activity.connection_id, activity.invoice_id)
        item["gsi1sk"] = sort_key
    return item


def activity_from_item(item: dict[str, Any]) -> Activity:
    return Activity(
        connection_id=str(item["connection_id"]),
        kind=cast(ActivityKind, item["kind"]),
        at=datetime.fromisoformat(str(item["at"])),
        summary=str(item["summary"]),
        details=json.loads(str(item.get("details") or "{}")),
        invoice_id=str(item["invoice_id"]) if item.get("invoice_id") is not None else None,
        activity_id=str(item["activity_id"]),
    )


def _scope(connection_id: str, invoice_id: str | None) -> str:
    """What a cursor belongs to: one connection's log, or one of its invoices'."""
    return hashlib.sha256(f"{connection_id}|{invoice_id or ''}".encode()).hexdigest()[:16]


def _cursor(scope: str, sort_key: str) -> str:
    return base64.urlsafe_b64encode(f"{scope}.{sort_key}".encode()).decode().rstrip("=")


def _sort_key_of(cursor: str, scope: str) -> str:
    """The sort key a cursor names, if it was handed out for this scope. A cursor only ever positions a
    read inside the partition the route's path names, so even a forged one cannot reach another
    connection's entries; one handed out for another connection or invoice is refused all the same."""
    decoded = ""
    if len(cursor) <= 200:
        try:
            decoded = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
        except (binascii.Error, UnicodeDecodeError, ValueError):
            decoded = ""
    found, _, sort_key = decoded.partition(".")
    if not (_SCOPE.fullmatch(found) and _SORT_KEY.fullmatch(sort_key)) or found != scope:
        raise InvalidInput(
            "The cursor is not one this route handed out for this connection and invoice.", code="invalid_cursor"
        )
    return sort_key


def _once_key(activity: Activity) -> dict[str, str]:
    assert activity.once_key is not None
    digest = hashlib.sha256(activity.once_key.encode()).hexdigest()[:32]
    return {"pk": f"ACTIVITY_ONCE#{activity.connection_id}#{digest}", "sk": "ONCE"}


class DynamoActivityLog:
    def __init__(self, table: Any, clock: Clock) -> None:
        self._table = table
        # The Table's own client: it converts Python values to DynamoDB's typed ones, as the Table does.
        self._client = table.meta.client
        self._clock = clock

    def record(self, activity: Activity) -> None:
        if activity.once_key is None:
            self._table.put_item(Item=activity_item(activity))
            return
        guard = {
            **_once_key(activity),
            "type": "activity_once",
            "connection_id": activity.connection_id,
            "activity_id": activity.activity_id,
            "expires_at": _expires_at(activity),
        }
        try:
            self._client.transact_write_items(
                TransactItems=[
                    {
                        "Put": {
                            "TableName": self._table.name,
                            "Item": guard,
                            "ConditionExpression": "attribute_not_exists(pk)",
                        }
                    },
                    {"Put": {"TableName": self._table.name, "Item": activity_item(activity)}},
                ]
            )
        except ClientError as error:
            reasons = error.response.get("CancellationReasons") or []
            if any(reason.get("Code") == "ConditionalCheckFailed" for reason in reasons):
                return  # recorded before
            raise

    def page(
        self,
        connection_id: str,
        *,
        invoice_id: str | None = None,
        kind: ActivityKind | None = None,
        limit: int = 50,
        cursor: str | None = None,
    ) -> ActivityPage:
        limit = max(1, min(limit, MAX_PAGE_SIZE))
        scope = _scope(connection_id, invoice_id)
        query: dict[str, Any] = {"ScanIndexForward": False}
        if invoice_id is None:
            query["KeyConditionExpression"] = Key("pk").eq(_pk(connection_id))
        else:
            query["IndexName"] = INDEX
            query["KeyConditionExpression"] = Key("gsi1pk").eq(_invoice_pk(connection_id, invoice_id))
        live: ConditionBase = Attr("expires_at").gt(int(self._clock.now().timestamp()))
        if kind is not None:
            live = live & Attr("kind").eq(kind)
        else:
            query["Limit"] = limit + 1  # one more than asked says whether there is a next page
        query["FilterExpression"] = live
        if cursor is not None:
            query["ExclusiveStartKey"] = self._start_key(connection_id, invoice_id, _sort_key_of(cursor, scope))
        items: list[dict[str, Any]] = []
        stopped_at: str | None = None
        for _ in range(MAX_READS_PER_PAGE):
            answer = self._table.query(**query)
            items.extend(answer.get("Items", []))
            last = answer.get("LastEvaluatedKey")
            stopped_at = str(last["sk"]) if last else None
            if len(items) > limit or last is None:
                break
            query["ExclusiveStartKey"] = last
        entries = [activity_from_item(item) for item in items[:limit]]
        if len(items) > limit:
            return ActivityPage(entries, _cursor(scope, str(items[limit - 1]["sk"])))
        # Fewer than asked: the end of the log, or the reading budget spent where the next page goes on.
        return ActivityPage(entries, _cursor(scope, stopped_at) if stopped_at else None)

    @staticmethod
    def _start_key(connection_id: str, invoice_id: str | None, sort_key: str) -> dict[str, str]:
        start = {"pk": _pk(connection_id), "sk": sort_key}
        if invoice_id is not None:
            start |= {"gsi1pk": _invoice_pk(connection_id, invoice_id), "gsi1sk": sort_key}
        return start

    def count_since(self, connection_id: str, kind: ActivityKind, since: datetime) -> int:
        query: dict[str, Any] = {
            "KeyConditionExpression": Key("pk").eq(_pk(connection_id)) & Key("sk").gte(_instant(since)),
            "FilterExpression": Attr("kind").eq(kind),
            "Select": "COUNT",
        }
        count = 0
        while True:
            answer = self._table.query(**query)
            count += int(answer.get("Count", 0))
            if "LastEvaluatedKey" not in answer:
                return count
            query["ExclusiveStartKey"] = answer["LastEvaluatedKey"]
