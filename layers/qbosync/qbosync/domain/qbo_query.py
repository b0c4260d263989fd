"""Building QuickBooks query statements safely (docs/architecture.md "QuickBooks query language"): string
literals are single quoted, with backslash escaping of quotes and backslashes. The whole statement is URL-encoded by
the HTTP client, so `&`, `%` and non-ASCII characters travel intact."""

from __future__ import annotations

from collections.abc import Iterable


def quote(value: str) -> str:
    escaped = value.replace("\\", "\\\\").replace("'", "\\'")
    return f"'{escaped}'"


def quote_list(values: Iterable[str]) -> str:
    return "(" + ", ".join(quote(value) for value in values) + ")"


def like_contains(text: str) -> str:
    """A LIKE pattern matching `text` anywhere. QBO's LIKE knows only `%`, which cannot be escaped,
    so a `%` typed by the user is treated as the wildcard it would be anyway."""
    return quote(f"%{text}%")
