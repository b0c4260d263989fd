"""The activity log in the single table (docs/architecture.md "Activity log"):

- ACTIVITY#<connection> / <at, UTC ISO to the ms>#<activity id>     one entry; on gsi1 also as
  ACTIVITY#<connection>#INVOICE#<invoice> / the same sort key, when the entry names an invoice

Every entry expires (TTL) 400 days after it happened. `activity_item` is the item itself, so a
repository can put the entry in the same write as the change it records."""

from __future__ import annotations

import base64
import binascii
import json
import re
from datetime import UTC, datetime
from typing import Any, cast

from boto3.dynamodb.conditions import Attr, Key

from qbosync.domain.activity import (
    ACTIVITY_RETENTION,
    MAX_PAGE_SIZE,
    Activity,
    ActivityKind,
    ActivityPage,
)
from qbosync.domain.errors import InvalidInput

INDEX = "gsi1"
_SORT_KEY = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z#[0-9A-Za-z_-]{1,64}")


def _pk(connection_id: str) -> str:
    return f"ACTIVITY#{connection_id}"


def _invoice_pk(connection_id: str, invoice_id: str) -> str:
    return f"ACTIVITY#{connection_id}#INVOICE#{invoice_id}"


def _instant(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


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
        # JSON, not a map: details hold Decimals as strings and nested values of any shape.
        "details": json.dumps(dict(activity.details), default=str, sort_keys=True),
        "expires_at": int((activity.at + ACTIVITY_RETENTION).timestamp()),
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


def _cursor(sort_key: str) -> str:
    return base64.urlsafe_b64encode(sort_key.encode()).decode().rstrip("=")


def _sort_key_of(cursor: str) -> str:
    """The sort key a cursor names. A cursor only ever positions a read inside the partition the
    route's path names, so a forged one can skip entries but never reach another connection's."""
    try:
        decoded = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
    except (binascii.Error, UnicodeDecodeError, ValueError):
        decoded = ""
    if len(cursor) > 200 or not _SORT_KEY.fullmatch(decoded):
        raise InvalidInput("The cursor is not one this route handed out.", code="invalid_cursor")
    return decoded


class DynamoActivityLog:
    def __init__(self, table: Any) -> None:
        self._table = table

    def record(self, activity: Activity) -> None:
        self._table.put_item(Item=activity_item(activity))

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
        query: dict[str, Any] = {"ScanIndexForward": False}
        if invoice_id is None:
            query["KeyConditionExpression"] = Key("pk").eq(_pk(connection_id))
        else:
            query["IndexName"] = INDEX
            query["KeyConditionExpression"] = Key("gsi1pk").eq(_invoice_pk(connection_id, invoice_id))
        if kind is not None:
            query["FilterExpression"] = Attr("kind").eq(kind)
        else:
            query["Limit"] = limit + 1  # one more than asked says whether there is a next page
        if cursor is not None:
            sort_key = _sort_key_of(cursor)
            start = {"pk": _pk(connection_id), "sk": sort_key}
            if invoice_id is not None:
                start |= {"gsi1pk": _invoice_pk(connection_id, invoice_id), "gsi1sk": sort_key}
            query["ExclusiveStartKey"] = start
        items: list[dict[str, Any]] = []
        while len(items) <= limit:
            answer = self._table.query(**query)
            items.extend(answer.get("Items", []))
            if "LastEvaluatedKey" not in answer:
                break
            query["ExclusiveStartKey"] = answer["LastEvaluatedKey"]
        entries = [activity_from_item(item) for item in items[:limit]]
        more = len(items) > limit
        return ActivityPage(entries, _cursor(str(items[limit - 1]["sk"])) if more else None)

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
