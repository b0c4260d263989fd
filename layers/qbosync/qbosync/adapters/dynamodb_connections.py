"""Connections, OAuth states and refresh leases in the single DynamoDB table.

Item layout (pk / sk):
- CONNECTION#<id> / CONNECTION   the connection; while connected it carries gsi1pk=TOKEN_REFRESH and
                                 gsi1sk=<next refresh time> so the scheduled job finds what is due,
                                 and gsi2pk=HARD_EXPIRY, gsi2sk=<refresh token hard expiry, UTC> so the
                                 warning job finds what expires soon; otherwise
                                 gsi1pk=CONNECTION_STATUS#<status>, gsi1sk=<id>, so that reconcile counts
                                 connections by status (the dashboard) with queries; from becoming
                                 needs_reconnect until that warning is sent, gsi2pk=RECONNECT_WARNING,
                                 gsi2sk=<when, UTC>; and the last QuickBooks calls, last_success_at and
                                 last_error {code, message, at} (DynamoQuickBooksCallLog;
                                 docs/architecture.md "Connection health")
- OAUTH_STATE#<sha256> / OAUTH_STATE   a pending authorization, deleted when used, TTL expires_at; once a
                                 browser opened the start page, browser_hash = sha256 of its cookie
No token is ever written here; tokens live in Secrets Manager (qbosync.adapters.secrets)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from botocore.exceptions import ClientError

from qbosync.adapters.dynamodb_common import is_conditional_failure, query_all
from qbosync.adapters.dynamodb_lease import Clause, Lease
from qbosync.domain.connection import (
    CallError,
    CompanyProfile,
    Connection,
    ConnectionSettings,
    ConnectionStatus,
    TokenSet,
)
from qbosync.domain.errors import NotFound
from qbosync.domain.ports import OAuthState

REFRESH_INDEX = "gsi1"
REFRESH_PARTITION = "TOKEN_REFRESH"
STATUS_PARTITION_PREFIX = "CONNECTION_STATUS#"  # connections outside REFRESH_PARTITION, by status


def status_partition(status: ConnectionStatus) -> str:
    return STATUS_PARTITION_PREFIX + status.value


# The reconnect warnings' index (adapters/dynamodb_warnings.py reads it): sparse, on the connection item.
WARNING_INDEX = "gsi2"
HARD_EXPIRY_PARTITION = "HARD_EXPIRY"
RECONNECT_WARNING_PARTITION = "RECONNECT_WARNING"
_WARNING_INDEX_KEYS = ("gsi2pk", "gsi2sk")
# One refresh per connection at a time (docs/decisions/0001-one-token-refresh-per-connection.md).
REFRESH_LEASE = Lease(owner_attribute="refresh_lease_owner", until_attribute="refresh_lease_until")
# What `save` writes only when the connection has it, and removes otherwise.
_OPTIONAL_ATTRIBUTES = (
    "status_reason",
    "access_expires_at",
    "refresh_expires_at",
    "refresh_hard_expires_at",
    "next_refresh_at",
    "company",
    "realm_id",
    "gsi1pk",
    "gsi1sk",
)


def _connection_key(connection_id: str) -> dict[str, str]:
    return {"pk": f"CONNECTION#{connection_id}", "sk": "CONNECTION"}


def _state_key(state_hash: str) -> dict[str, str]:
    return {"pk": f"OAUTH_STATE#{state_hash}", "sk": "OAUTH_STATE"}


def _to_state(item: dict[str, Any]) -> OAuthState:
    valid_until = _dt(item["valid_until"])
    assert valid_until is not None
    return OAuthState(
        connection_id=str(item["connection_id"]), expires_at=valid_until, browser_hash=item.get("browser_hash")
    )


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value else None


def _dt(value: Any) -> datetime | None:
    return datetime.fromisoformat(value) if value else None


def index_instant(moment: datetime) -> str:
    """An instant as the warning index sorts it: UTC, fixed width, so strings compare as instants."""
    return moment.astimezone(UTC).isoformat(timespec="microseconds")


def _call_error(value: Any) -> CallError | None:
    if not isinstance(value, dict) or not value.get("at"):
        return None
    at = _dt(value["at"])
    assert at is not None
    return CallError(code=str(value.get("code", "")), message=str(value.get("message", "")), at=at)


class DynamoConnectionRepository:
    def __init__(self, table: Any, *, on_needs_reconnect: Callable[[], None] | None = None):
        """`table` is a boto3 DynamoDB Table resource; `on_needs_reconnect` is told of each connection
        marked needs_reconnect, whichever function found it (the dashboard's count and its alarm)."""
        self._table = table
        self._on_needs_reconnect = on_needs_reconnect

    # -- connections -----------------------------------------------------------------------------

    def get(self, connection_id: str) -> Connection | None:
        item = self._table.get_item(Key=_connection_key(connection_id), ConsistentRead=True).get("Item")
        return self._to_connection(item) if item else None

    def save(self, connection: Connection) -> None:
        """Write the connection's own attributes (one UpdateItem, not a put: a refresh lease held meanwhile
        stays where it is); those the connection does not have are removed."""
        item: dict[str, Any] = {
            "type": "connection",
            "connection_id": connection.connection_id,
            "organization_id": connection.organization_id,
            "subsidiary_id": connection.subsidiary_id,
            "status": connection.status.value,
            "return_url": connection.return_url,
            "created_at": _iso(connection.created_at),
            "updated_at": _iso(connection.updated_at),
            "settings": connection.settings.model_dump(mode="json"),
        }
        optional = {
            "status_reason": connection.status_reason,
            "access_expires_at": _iso(connection.access_expires_at),
            "refresh_expires_at": _iso(connection.refresh_expires_at),
            "refresh_hard_expires_at": _iso(connection.refresh_hard_expires_at),
            "next_refresh_at": _iso(connection.next_refresh_at),
        }
        item.update({key: value for key, value in optional.items() if value is not None})
        if connection.company is not None:
            item["company"] = {
                "realm_id": connection.company.realm_id,
                "company_name": connection.company.company_name,
                "country": connection.company.country,
                "home_currency": connection.company.home_currency,
                "multicurrency_enabled": connection.company.multicurrency_enabled,
                "custom_txn_numbers": connection.company.custom_txn_numbers,
                "automated_sales_tax": connection.company.automated_sales_tax,
                "using_sales_tax": connection.company.using_sales_tax,
                "allow_discount": connection.company.allow_discount,
            }
            item["realm_id"] = connection.company.realm_id
        if connection.status is ConnectionStatus.CONNECTED and connection.next_refresh_at is not None:
            item["gsi1pk"] = REFRESH_PARTITION
            item["gsi1sk"] = _iso(connection.next_refresh_at)
        else:
            item["gsi1pk"] = status_partition(connection.status)
            item["gsi1sk"] = connection.connection_id
        if connection.status is ConnectionStatus.CONNECTED and connection.refresh_hard_expires_at is not None:
            item["gsi2pk"] = HARD_EXPIRY_PARTITION
            item["gsi2sk"] = index_instant(connection.refresh_hard_expires_at)
        absent = [name for name in _OPTIONAL_ATTRIBUTES if name not in item]
        if connection.status is not ConnectionStatus.NEEDS_RECONNECT:
            # A needs_reconnect connection keeps its place in the warning index until it is warned about.
            absent += [name for name in _WARNING_INDEX_KEYS if name not in item]
        expression = "SET " + ", ".join(f"#{name} = :{name}" for name in item)
        if absent:
            expression += " REMOVE " + ", ".join(f"#{name}" for name in absent)
        self._table.update_item(
            Key=_connection_key(connection.connection_id),
            UpdateExpression=expression,
            ExpressionAttributeNames={f"#{name}": name for name in [*item, *absent]},
            ExpressionAttributeValues={f":{name}": value for name, value in item.items()},
        )
        if connection.company is not None:
            # Webhooks name a realm: this index finds the connection(s) of that QuickBooks company.
            self._table.put_item(
                Item={
                    "pk": f"REALM#{connection.company.realm_id}",
                    "sk": f"CONNECTION#{connection.connection_id}",
                    "type": "realm_connection",
                    "connection_id": connection.connection_id,
                }
            )

    def connection_ids_for_realm(self, realm_id: str) -> list[str]:
        """Connections that are or were linked to this QuickBooks company (check their status)."""
        items = query_all(
            self._table,
            KeyConditionExpression="pk = :pk AND begins_with(sk, :prefix)",
            ExpressionAttributeValues={":pk": f"REALM#{realm_id}", ":prefix": "CONNECTION#"},
        )
        return [str(item["connection_id"]) for item in items]

    def update_settings(self, connection_id: str, settings: ConnectionSettings, now: datetime) -> None:
        self._update(
            connection_id,
            "SET settings = :settings, updated_at = :now",
            {":settings": settings.model_dump(mode="json"), ":now": _iso(now)},
        )

    def record_token_expiry(
        self, connection_id: str, tokens: TokenSet, next_refresh_at: datetime, now: datetime
    ) -> None:
        values: dict[str, Any] = {
            ":access": _iso(tokens.access_expires_at),
            ":refresh": _iso(tokens.refresh_expires_at),
            ":next": _iso(next_refresh_at),
            ":partition": REFRESH_PARTITION,
            ":now": _iso(now),
            ":connected": ConnectionStatus.CONNECTED.value,
        }
        expression = (
            "SET access_expires_at = :access, refresh_expires_at = :refresh, next_refresh_at = :next, "
            "gsi1pk = :partition, gsi1sk = :next, updated_at = :now"
        )
        if tokens.refresh_hard_expires_at is not None:
            expression += ", refresh_hard_expires_at = :hard, gsi2pk = :hard_partition, gsi2sk = :hard_key"
            values[":hard"] = _iso(tokens.refresh_hard_expires_at)
            values[":hard_partition"] = HARD_EXPIRY_PARTITION
            values[":hard_key"] = index_instant(tokens.refresh_hard_expires_at)
        self._update(connection_id, expression, values, condition="#status = :connected")

    def mark_needs_reconnect(self, connection_id: str, reason: str, now: datetime) -> None:
        """Also puts the connection on the reconnect warnings' waiting list, in the same write."""
        self._update(
            connection_id,
            "SET #status = :status, status_reason = :reason, updated_at = :now, gsi1pk = :partition, gsi1sk = :id, "
            "gsi2pk = :waiting, gsi2sk = :since REMOVE next_refresh_at",
            {
                ":status": ConnectionStatus.NEEDS_RECONNECT.value,
                ":reason": reason,
                ":now": _iso(now),
                ":partition": status_partition(ConnectionStatus.NEEDS_RECONNECT),
                ":id": connection_id,
                ":waiting": RECONNECT_WARNING_PARTITION,
                ":since": index_instant(now),
            },
        )
        if self._on_needs_reconnect is not None:
            self._on_needs_reconnect()

    def mark_disconnected(self, connection_id: str, now: datetime) -> None:
        self._update(
            connection_id,
            "SET #status = :status, updated_at = :now, gsi1pk = :partition, gsi1sk = :id "
            "REMOVE gsi2pk, gsi2sk, next_refresh_at, status_reason, access_expires_at",
            {
                ":status": ConnectionStatus.DISCONNECTED.value,
                ":now": _iso(now),
                ":partition": status_partition(ConnectionStatus.DISCONNECTED),
                ":id": connection_id,
            },
        )

    def due_for_refresh(self, now: datetime, limit: int) -> list[str]:
        items = query_all(
            self._table,
            at_most=limit,
            IndexName=REFRESH_INDEX,
            KeyConditionExpression="gsi1pk = :partition AND gsi1sk <= :now",
            ExpressionAttributeValues={":partition": REFRESH_PARTITION, ":now": _iso(now)},
            ProjectionExpression="connection_id",
        )
        return [str(item["connection_id"]) for item in items]

    # -- OAuth states ----------------------------------------------------------------------------

    def put_oauth_state(self, state_hash: str, state: OAuthState) -> None:
        self._table.put_item(
            Item={
                **_state_key(state_hash),
                "type": "oauth_state",
                "connection_id": state.connection_id,
                "valid_until": _iso(state.expires_at),
                "expires_at": int(state.expires_at.timestamp()),
            }
        )

    def bind_oauth_state(
        self, state_hash: str, browser_hash: str, previous_browser_hash: str | None, now: datetime
    ) -> OAuthState | None:
        holder = "attribute_not_exists(browser_hash)"
        values: dict[str, Any] = {":browser": browser_hash, ":now": _iso(now)}
        if previous_browser_hash:
            holder = f"({holder} OR browser_hash = :previous)"
            values[":previous"] = previous_browser_hash
        try:
            item = self._table.update_item(
                Key=_state_key(state_hash),
                UpdateExpression="SET browser_hash = :browser",
                ConditionExpression=f"attribute_exists(pk) AND valid_until > :now AND {holder}",
                ExpressionAttributeValues=values,
                ReturnValues="ALL_NEW",
            ).get("Attributes")
        except ClientError as error:
            if is_conditional_failure(error):
                return None
            raise
        return _to_state(item) if item else None

    def consume_oauth_state(self, state_hash: str, browser_hash: str) -> OAuthState | None:
        try:
            old = self._table.delete_item(
                Key=_state_key(state_hash),
                ConditionExpression="attribute_exists(pk) AND browser_hash = :browser",
                ExpressionAttributeValues={":browser": browser_hash},
                ReturnValues="ALL_OLD",
            ).get("Attributes")
        except ClientError as error:
            if is_conditional_failure(error):
                return None
            raise
        return _to_state(old) if old else None

    # -- refresh lease ---------------------------------------------------------------------------

    def try_acquire_refresh_lease(self, connection_id: str, owner: str, now: datetime, until: datetime) -> bool:
        taken = REFRESH_LEASE.acquire(
            self._table, _connection_key(connection_id), owner, now, until, only_if=Clause("attribute_exists(pk)")
        )
        return taken is not None

    def release_refresh_lease(self, connection_id: str, owner: str) -> None:
        REFRESH_LEASE.release(self._table, _connection_key(connection_id), owner)

    # -- internals -------------------------------------------------------------------------------

    def _update(
        self, connection_id: str, expression: str, values: dict[str, Any], condition: str | None = None
    ) -> None:
        names = {"#status": "status"} if "#status" in expression or (condition and "#status" in condition) else {}
        full_condition = "attribute_exists(pk)" + (f" AND {condition}" if condition else "")
        try:
            self._table.update_item(
                Key=_connection_key(connection_id),
                UpdateExpression=expression,
                ConditionExpression=full_condition,
                ExpressionAttributeValues=values,
                **({"ExpressionAttributeNames": names} if names else {}),
            )
        except ClientError as error:
            if is_conditional_failure(error):
                raise NotFound("No such connection in this state.", code="connection_not_found") from error
            raise

    @staticmethod
    def _to_connection(item: dict[str, Any]) -> Connection:
        company = item.get("company")
        return Connection(
            connection_id=item["connection_id"],
            organization_id=item["organization_id"],
            subsidiary_id=item["subsidiary_id"],
            status=ConnectionStatus(item["status"]),
            return_url=item["return_url"],
            created_at=_dt(item["created_at"]),  # type: ignore[arg-type]
            updated_at=_dt(item["updated_at"]),  # type: ignore[arg-type]
            settings=ConnectionSettings.model_validate(item.get("settings") or {}),
            company=CompanyProfile(**company) if company else None,
            access_expires_at=_dt(item.get("access_expires_at")),
            refresh_expires_at=_dt(item.get("refresh_expires_at")),
            refresh_hard_expires_at=_dt(item.get("refresh_hard_expires_at")),
            status_reason=item.get("status_reason"),
            next_refresh_at=_dt(item.get("next_refresh_at")),
            last_success_at=_dt(item.get("last_success_at")),
            last_error=_call_error(item.get("last_error")),
        )


class DynamoQuickBooksCallLog:
    """The last successful and failed QuickBooks calls, on the connection item (never creating one)."""

    def __init__(self, table: Any):
        self._table = table

    def succeeded(self, connection_id: str, at: datetime) -> None:
        self._set(
            connection_id,
            "SET last_success_at = :at",
            {":at": index_instant(at)},
            "attribute_exists(pk) AND (attribute_not_exists(last_success_at) OR last_success_at < :at)",
        )

    def failed(self, connection_id: str, error: CallError) -> None:
        value = {"code": error.code, "message": error.message, "at": index_instant(error.at)}
        self._set(connection_id, "SET last_error = :error", {":error": value}, "attribute_exists(pk)")

    def _set(self, connection_id: str, expression: str, values: dict[str, Any], condition: str) -> None:
        try:
            self._table.update_item(
                Key=_connection_key(connection_id),
                UpdateExpression=expression,
                ConditionExpression=condition,
                ExpressionAttributeValues=values,
            )
        except ClientError as error:
            # A connection deleted meanwhile, or a later success written already: nothing to do.
            if not is_conditional_failure(error):
                raise
