"""Payment mappings, per-payment locks and the reconcile cursor in the single table.

- PAYMENT#<connection>#<qbo payment> / INVOICE#<productive invoice>   the Productive payment made for
      it (gsi1pk=PAYINVOICE#<connection>#<productive invoice>, gsi1sk=PAYMENT#<qbo payment>, so the
      payments of a Productive invoice are one index query)
- PAYMENT#<connection>#<qbo payment> / LOCK     one worker per QuickBooks payment at a time (lease)
- REALM#<realm> / RECONCILE#CURSOR              where the next CDC sweep of that company starts

Mappings have no TTL and survive a disconnect: a payment deleted in QuickBooks later can still be
taken back out of Productive after a reconnect. A mapping written or removed with an activity entry
(payment mirrored, changed, removed) is one transaction with it, so the entry exists exactly when the
change does, and a redelivered event that finds the work done writes neither."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Any

from boto3.dynamodb.conditions import Key

from qbosync.adapters.dynamodb_activity import activity_item
from qbosync.adapters.dynamodb_common import query_all
from qbosync.adapters.dynamodb_connections import REFRESH_INDEX, REFRESH_PARTITION, status_partition
from qbosync.adapters.dynamodb_lease import Clause, Lease
from qbosync.domain.activity import Activity
from qbosync.domain.connection import ConnectionStatus
from qbosync.domain.payments import PaymentLink

INDEX = "gsi1"
# The lock is an item of its own, deleted when given back; expires_at (TTL) clears one a crash left.
PAYMENT_LOCK = Lease(owner_attribute="owner", until_attribute="lease_until")


def _pk(connection_id: str, quickbooks_payment_id: str) -> str:
    return f"PAYMENT#{connection_id}#{quickbooks_payment_id}"


def _lock_key(connection_id: str, quickbooks_payment_id: str) -> dict[str, str]:
    return {"pk": _pk(connection_id, quickbooks_payment_id), "sk": "LOCK"}


class DynamoPaymentRepository:
    def __init__(self, table: Any):
        self._table = table
        # The Table's own client: it converts Python values to DynamoDB's typed ones, as the Table does.
        self._client = table.meta.client

    # -- mappings --------------------------------------------------------------------------------

    def for_payment(self, connection_id: str, quickbooks_payment_id: str) -> list[PaymentLink]:
        items = self._query(
            KeyConditionExpression=Key("pk").eq(_pk(connection_id, quickbooks_payment_id))
            & Key("sk").begins_with("INVOICE#"),
            ConsistentRead=True,
        )
        return [self._to_link(item) for item in items]

    def for_invoice(self, connection_id: str, invoice_id: str) -> list[PaymentLink]:
        items = self._query(
            IndexName=INDEX,
            KeyConditionExpression=Key("gsi1pk").eq(f"PAYINVOICE#{connection_id}#{invoice_id}"),
        )
        return [self._to_link(item) for item in items if str(item.get("sk", "")).startswith("INVOICE#")]

    def save(self, link: PaymentLink, *, activity: Activity | None = None) -> None:
        item: dict[str, Any] = {
            "pk": _pk(link.connection_id, link.quickbooks_payment_id),
            "sk": f"INVOICE#{link.invoice_id}",
            "type": "payment_mapping",
            "gsi1pk": f"PAYINVOICE#{link.connection_id}#{link.invoice_id}",
            "gsi1sk": f"PAYMENT#{link.quickbooks_payment_id}",
            "connection_id": link.connection_id,
            "quickbooks_payment_id": link.quickbooks_payment_id,
            "invoice_id": link.invoice_id,
            "amount": link.amount,
            "paid_on": link.paid_on.isoformat(),
            "updated_at": link.updated_at.isoformat(),
        }
        if link.productive_payment_id is not None:
            item["productive_payment_id"] = link.productive_payment_id
        if activity is None:
            self._table.put_item(Item=item)
        else:
            self._with_activity({"Put": {"TableName": self._table.name, "Item": item}}, activity)

    def delete(
        self, connection_id: str, quickbooks_payment_id: str, invoice_id: str, *, activity: Activity | None = None
    ) -> None:
        key = {"pk": _pk(connection_id, quickbooks_payment_id), "sk": f"INVOICE#{invoice_id}"}
        if activity is None:
            self._table.delete_item(Key=key)
        else:
            self._with_activity({"Delete": {"TableName": self._table.name, "Key": key}}, activity)

    def _with_activity(self, write: dict[str, Any], activity: Activity) -> None:
        entry = {"Put": {"TableName": self._table.name, "Item": activity_item(activity)}}
        self._client.transact_write_items(TransactItems=[write, entry])

    # -- one worker per payment ------------------------------------------------------------------

    def try_lock(
        self, connection_id: str, quickbooks_payment_id: str, owner: str, now: datetime, until: datetime
    ) -> bool:
        expires = Clause("expires_at = :expires_at", values={":expires_at": int(until.timestamp()) + 3600})
        key = _lock_key(connection_id, quickbooks_payment_id)
        taken = PAYMENT_LOCK.acquire(self._table, key, owner, now, until, also_set=expires)
        return taken is not None

    def unlock(self, connection_id: str, quickbooks_payment_id: str, owner: str) -> None:
        PAYMENT_LOCK.release_deleting(self._table, _lock_key(connection_id, quickbooks_payment_id), owner)

    # -- reconcile -------------------------------------------------------------------------------

    def connected_connection_ids(self) -> list[str]:
        """Connected connections carry the token refresh index keys (qbosync.adapters.dynamodb_connections)."""
        items = self._query(
            IndexName=REFRESH_INDEX,
            KeyConditionExpression=Key("gsi1pk").eq(REFRESH_PARTITION),
            ProjectionExpression="connection_id",
        )
        return sorted({str(item["connection_id"]) for item in items if item.get("connection_id")})

    def connections_by_status(self) -> dict[str, int]:
        """Connected connections are the refresh partition (and a connected one without a next refresh
        time, its status partition); the others are their status's partition. Counts only: no item is read."""
        counts = {status.value: self._count(status_partition(status)) for status in ConnectionStatus}
        counts[ConnectionStatus.CONNECTED.value] += self._count(REFRESH_PARTITION)
        return counts

    def _count(self, partition: str) -> int:
        request: dict[str, Any] = {
            "IndexName": REFRESH_INDEX,
            "KeyConditionExpression": Key("gsi1pk").eq(partition),
            "Select": "COUNT",
        }
        total = 0
        while True:
            page = self._table.query(**request)
            total += int(page["Count"])
            if "LastEvaluatedKey" not in page:
                return total
            request["ExclusiveStartKey"] = page["LastEvaluatedKey"]

    def cursor(self, realm_id: str) -> datetime | None:
        item = self._table.get_item(Key={"pk": f"REALM#{realm_id}", "sk": "RECONCILE#CURSOR"}, ConsistentRead=True).get(
            "Item"
        )
        return datetime.fromisoformat(str(item["cursor"])) if item else None

    def save_cursor(self, realm_id: str, cursor: datetime) -> None:
        self._table.put_item(
            Item={
                "pk": f"REALM#{realm_id}",
                "sk": "RECONCILE#CURSOR",
                "type": "reconcile_cursor",
                "cursor": cursor.isoformat(),
            }
        )

    # -- internals -------------------------------------------------------------------------------

    def _query(self, **kwargs: Any) -> list[dict[str, Any]]:
        return query_all(self._table, **kwargs)

    @staticmethod
    def _to_link(item: dict[str, Any]) -> PaymentLink:
        productive_id = item.get("productive_payment_id")
        return PaymentLink(
            connection_id=str(item["connection_id"]),
            quickbooks_payment_id=str(item["quickbooks_payment_id"]),
            invoice_id=str(item["invoice_id"]),
            productive_payment_id=str(productive_id) if productive_id is not None else None,
            amount=Decimal(str(item["amount"])),
            paid_on=date.fromisoformat(str(item["paid_on"])),
            updated_at=datetime.fromisoformat(str(item["updated_at"])),
        )
