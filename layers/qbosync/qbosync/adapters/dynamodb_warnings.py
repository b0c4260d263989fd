"""The reconnect warnings' ledger in the single table (docs/architecture.md "Connection health"):

- the connection items on gsi2 (written by adapters/dynamodb_connections.py): HARD_EXPIRY / <hard expiry>
  for connected connections, RECONNECT_WARNING / <when it became needs_reconnect> until that is warned of
- CONNECTION#<id> / WARNING#<reason>   "sent" per connection and reason: `episode` (the hard expiry or
  the needs_reconnect instant it warned of), `state` (`sending` under a claim: `claim_owner`,
  `claim_until` epoch ms; then `sent` with `sent_at`, or `released` when the send failed), `warning_id`,
  TTL `expires_at`

A claim is one conditional write: the record is absent, of an earlier episode (an earlier grant, or an
earlier needs_reconnect), released, or a claim whose lease ran out (a run that died while sending)."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from botocore.exceptions import ClientError

from qbosync.adapters.dynamodb_common import is_conditional_failure, query_all
from qbosync.adapters.dynamodb_connections import (
    HARD_EXPIRY_PARTITION,
    RECONNECT_WARNING_PARTITION,
    WARNING_INDEX,
    index_instant,
)
from qbosync.domain.health import ReconnectWarning

# A sent record is kept past the episode it guards (then the table's TTL removes it).
_KEPT_AFTER_EPISODE = timedelta(days=400)


def _key(warning: ReconnectWarning) -> dict[str, str]:
    return {"pk": f"CONNECTION#{warning.connection_id}", "sk": f"WARNING#{warning.reason}"}


def _epoch_ms(moment: datetime) -> int:
    return int(moment.timestamp() * 1000)


class DynamoReconnectWarningLedger:
    def __init__(self, table: Any):
        self._table = table

    def nearing_hard_expiry(self, start: datetime, end: datetime, limit: int) -> list[str]:
        items = query_all(
            self._table,
            at_most=limit,
            IndexName=WARNING_INDEX,
            KeyConditionExpression="gsi2pk = :partition AND gsi2sk BETWEEN :start AND :end",
            ExpressionAttributeValues={
                ":partition": HARD_EXPIRY_PARTITION,
                ":start": index_instant(start),
                ":end": index_instant(end),
            },
        )
        return [str(item["connection_id"]) for item in items]

    def awaiting_reconnect_warning(self, limit: int) -> list[tuple[str, datetime]]:
        items = query_all(
            self._table,
            at_most=limit,
            IndexName=WARNING_INDEX,
            KeyConditionExpression="gsi2pk = :partition",
            ExpressionAttributeValues={":partition": RECONNECT_WARNING_PARTITION},
        )
        return [(str(item["connection_id"]), datetime.fromisoformat(str(item["gsi2sk"]))) for item in items]

    def claim(self, warning: ReconnectWarning, owner: str, now: datetime, until: datetime) -> bool:
        try:
            self._table.update_item(
                Key=_key(warning),
                UpdateExpression=(
                    "SET #type = :type, connection_id = :connection, reason = :reason, episode = :episode, "
                    "warning_id = :warning_id, #state = :sending, claim_owner = :owner, claim_until = :until, "
                    "expires_at = :expires REMOVE sent_at"
                ),
                ConditionExpression=(
                    "attribute_not_exists(pk) OR episode < :floor OR #state = :released "
                    "OR (#state = :sending AND claim_until < :now)"
                ),
                ExpressionAttributeNames={"#type": "type", "#state": "state"},
                ExpressionAttributeValues={
                    ":type": "reconnect_warning",
                    ":connection": warning.connection_id,
                    ":reason": warning.reason,
                    ":episode": index_instant(warning.episode),
                    ":warning_id": warning.warning_id,
                    ":sending": "sending",
                    ":released": "released",
                    ":owner": owner,
                    ":until": _epoch_ms(until),
                    ":now": _epoch_ms(now),
                    ":floor": index_instant(warning.episode_floor),
                    ":expires": int((max(warning.episode, now) + _KEPT_AFTER_EPISODE).timestamp()),
                },
            )
        except ClientError as error:
            if is_conditional_failure(error):
                return False
            raise
        return True

    def mark_sent(self, warning: ReconnectWarning, owner: str, now: datetime) -> None:
        try:
            self._table.update_item(
                Key=_key(warning),
                UpdateExpression="SET #state = :sent, sent_at = :now REMOVE claim_owner, claim_until",
                ConditionExpression="claim_owner = :owner",
                ExpressionAttributeNames={"#state": "state"},
                ExpressionAttributeValues={":sent": "sent", ":now": index_instant(now), ":owner": owner},
            )
        except ClientError as error:
            # Our claim ran out and another run took it: that run marks it.
            if not is_conditional_failure(error):
                raise

    def release(self, warning: ReconnectWarning, owner: str) -> None:
        try:
            self._table.update_item(
                Key=_key(warning),
                UpdateExpression="SET #state = :released REMOVE claim_owner, claim_until",
                ConditionExpression="claim_owner = :owner",
                ExpressionAttributeNames={"#state": "state"},
                ExpressionAttributeValues={":released": "released", ":owner": owner},
            )
        except ClientError as error:
            if not is_conditional_failure(error):
                raise

    def reconnect_warning_done(self, connection_id: str, since: datetime) -> None:
        try:
            self._table.update_item(
                Key={"pk": f"CONNECTION#{connection_id}", "sk": "CONNECTION"},
                UpdateExpression="REMOVE gsi2pk, gsi2sk",
                ConditionExpression="gsi2pk = :waiting AND gsi2sk = :since",
                ExpressionAttributeValues={":waiting": RECONNECT_WARNING_PARTITION, ":since": index_instant(since)},
            )
        except ClientError as error:
            # Reconnected (or disconnected) meanwhile: it left the waiting list already.
            if not is_conditional_failure(error):
                raise
