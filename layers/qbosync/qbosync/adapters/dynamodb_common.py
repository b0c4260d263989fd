"""What every repository of the single table needs: recognising a failed condition, and reading every
page of a query (or scan). The lease the three locks share is in dynamodb_lease."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from botocore.exceptions import ClientError


def is_conditional_failure(error: ClientError) -> bool:
    """The write's condition did not hold (someone else holds the lease, the item is gone...)."""
    return bool(error.response.get("Error", {}).get("Code") == "ConditionalCheckFailedException")


def every_item(read: Callable[..., Any], *, at_most: int | None = None, **kwargs: Any) -> list[dict[str, Any]]:
    """Every item a paged read (a Table's query or scan) returns, or the first `at_most`, following
    LastEvaluatedKey page by page."""
    items: list[dict[str, Any]] = []
    while at_most is None or len(items) < at_most:
        page = read(**kwargs)
        items.extend(page.get("Items", []))
        if "LastEvaluatedKey" not in page:
            break
        kwargs = {**kwargs, "ExclusiveStartKey": page["LastEvaluatedKey"]}
    return items if at_most is None else items[:at_most]


def query_all(table: Any, *, at_most: int | None = None, **kwargs: Any) -> list[dict[str, Any]]:
    """Every item a Table.query matches (or the first `at_most`)."""
    return every_item(table.query, at_most=at_most, **kwargs)
