"""The one lease of the single table: two attributes of an item say who holds it and until when (epoch
milliseconds). A lease can be taken when it is free, has run out, or is already the taker's; only its
holder gives it back. DynamoDB checks the condition and writes in one step, so of any number of takers
exactly one wins.

Three leases use it (docs/architecture.md "Data model"): the token refresh lease on the connection item
(`refresh_lease_owner`, `refresh_lease_until`), the copy lock on an invoice's HEAD item (`lock_owner`,
`lock_until`, taken in the same write that records the create in flight: docs/decisions/0002) and the
per-payment lock, an item of its own (`owner`, `lease_until`). A repository that writes more in the
same call composes the lease's `Clause`s with its own, or passes them to `acquire`/`release`."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from botocore.exceptions import ClientError

from qbosync.adapters.dynamodb_common import is_conditional_failure


@dataclass(frozen=True)
class Clause:
    """A piece of an update or condition expression, with the placeholders it uses."""

    text: str
    names: Mapping[str, str] = field(default_factory=dict)
    values: Mapping[str, Any] = field(default_factory=dict)

    @staticmethod
    def join(separator: str, *clauses: Clause | None) -> Clause:
        """The clauses' texts joined by `separator` (", " for updates, " AND " for conditions)."""
        present = [clause for clause in clauses if clause is not None and clause.text]
        names: dict[str, str] = {}
        values: dict[str, Any] = {}
        for clause in present:
            for placeholders, merged in ((clause.names, names), (clause.values, values)):
                for placeholder, value in placeholders.items():
                    if merged.get(placeholder, value) != value:
                        raise ValueError(f"placeholder {placeholder} means two things")
                    merged[placeholder] = value
        return Clause(separator.join(clause.text for clause in present), names, values)


def _millis(moment: datetime) -> int:
    return int(moment.timestamp() * 1000)


def _arguments(condition: Clause, update: Clause | None = None) -> dict[str, Any]:
    """update_item/delete_item keyword arguments: the expressions and every placeholder they use."""
    both = Clause.join(" ", update, condition)
    arguments: dict[str, Any] = {"ConditionExpression": condition.text}
    if update is not None:
        arguments["UpdateExpression"] = update.text
    if both.names:
        arguments["ExpressionAttributeNames"] = dict(both.names)
    if both.values:
        arguments["ExpressionAttributeValues"] = dict(both.values)
    return arguments


@dataclass(frozen=True)
class Lease:
    """A lease held in the attributes `owner_attribute` and `until_attribute` of an item."""

    owner_attribute: str
    until_attribute: str

    @property
    def _names(self) -> dict[str, str]:
        return {"#lease_owner": self.owner_attribute, "#lease_until": self.until_attribute}

    # -- fragments --------------------------------------------------------------------------------

    def takeable_by(self, owner: str, now: datetime) -> Clause:
        """Condition: no lease, or it has run out, or it is `owner`'s already."""
        return Clause(
            "(attribute_not_exists(#lease_until) OR #lease_until < :lease_now OR #lease_owner = :lease_owner)",
            self._names,
            {":lease_now": _millis(now), ":lease_owner": owner},
        )

    def held_by(self, owner: str) -> Clause:
        """Condition: `owner` holds the lease (whether or not it has run out: nobody took it over)."""
        return Clause("#lease_owner = :lease_owner", {"#lease_owner": self.owner_attribute}, {":lease_owner": owner})

    def taken(self, owner: str, until: datetime) -> Clause:
        """SET actions: `owner` holds the lease until `until`."""
        return Clause(
            "#lease_owner = :lease_owner, #lease_until = :lease_until",
            self._names,
            {":lease_owner": owner, ":lease_until": _millis(until)},
        )

    def cleared(self) -> Clause:
        """REMOVE actions: nobody holds the lease."""
        return Clause("#lease_owner, #lease_until", self._names)

    # -- the three writes -------------------------------------------------------------------------

    def acquire(
        self,
        table: Any,
        key: Mapping[str, str],
        owner: str,
        now: datetime,
        until: datetime,
        *,
        also_set: Clause | None = None,
        only_if: Clause | None = None,
    ) -> dict[str, Any] | None:
        """Take the lease (one conditional UpdateItem, which creates the item if there is none),
        setting `also_set` in the same write when the lease and `only_if` allow it. Returns the item as
        it was before (empty if it did not exist), or None when someone else holds the lease."""
        assignments = Clause.join(", ", self.taken(owner, until), also_set)
        update = Clause(f"SET {assignments.text}", assignments.names, assignments.values)
        condition = Clause.join(" AND ", only_if, self.takeable_by(owner, now))
        try:
            response = table.update_item(Key=dict(key), ReturnValues="ALL_OLD", **_arguments(condition, update))
        except ClientError as error:
            if is_conditional_failure(error):
                return None
            raise
        return dict(response.get("Attributes", {}))

    def release(self, table: Any, key: Mapping[str, str], owner: str, *, also_remove: tuple[str, ...] = ()) -> None:
        """Give the lease back (and remove `also_remove` in the same write) if `owner` still holds it;
        a lease that ran out and was taken over is left to its new holder."""
        cleared = self.cleared()
        update = Clause(f"REMOVE {', '.join([cleared.text, *also_remove])}", cleared.names)
        try:
            table.update_item(Key=dict(key), **_arguments(self.held_by(owner), update))
        except ClientError as error:
            if not is_conditional_failure(error):
                raise

    def release_deleting(
        self, table: Any, key: Mapping[str, str], owner: str, *, only_if: Clause | None = None
    ) -> None:
        """Give the lease back by deleting its item, if `owner` still holds it (and `only_if` holds)."""
        condition = Clause.join(" AND ", self.held_by(owner), only_if)
        try:
            table.delete_item(Key=dict(key), **_arguments(condition))
        except ClientError as error:
            if not is_conditional_failure(error):
                raise
