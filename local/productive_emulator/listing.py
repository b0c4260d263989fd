"""The list engine of the emulator: filters, sort and paging (page numbers and keyset cursors).

It works on records and query arguments only; the WSGI app renders the chosen records as JSON:API.
The rules it follows are listed in this package's README.
"""

from __future__ import annotations

import base64
import binascii
import json
import math
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode

from werkzeug.datastructures import MultiDict

from local.productive_emulator.errors import bad_request
from local.productive_emulator.money import to_decimal
from local.productive_emulator.resources import Filter, Spec
from local.productive_emulator.store import Organization, Record, Store

DEFAULT_PAGE_SIZE = 30
MAX_PAGE_SIZE = 200
OPERATORS = frozenset({"eq", "not_eq", "contains", "not_contain", "gt", "gt_eq", "lt", "lt_eq"})
_SEGMENT = re.compile(r"\[([^\[\]]*)\]")

Predicate = Callable[[Record], bool]
Args = MultiDict[str, str]


@dataclass(frozen=True)
class Page:
    """The records of one page, with the JSON:API ``links`` and ``meta`` that describe it."""

    records: list[Record]
    links: dict[str, str]
    meta: dict[str, Any] = field(default_factory=dict)


def list_page(store: Store, org: Organization, spec: Spec, args: Args, base_url: str) -> Page:
    """Filter, sort and page the organization's records of one type as the query ``args`` ask."""
    predicate = parse_filters(store, org, spec, args)
    records = [r for r in store.all(org, spec.type) if predicate(r)]
    sort = args.get("sort")
    if sort:
        records = sort_records(store, org, spec, records, sort)
    page_args = {k: v for k, v in args.items() if k.startswith("page[")}
    unknown = set(page_args) - {"page[number]", "page[size]", "page[after]"}
    if unknown:
        raise bad_request("Bad Request", f"Unsupported page parameter {sorted(unknown)[0]}", parameter="page")
    size = _int_arg(page_args.get("page[size]"), DEFAULT_PAGE_SIZE, "page[size]")
    size = max(1, min(size, MAX_PAGE_SIZE))
    links = _Links(args, base_url)
    if "page[after]" in page_args:
        return _keyset_page(records, size, page_args, sort, links)
    return _numbered_page(records, size, page_args, links)


def _numbered_page(records: list[Record], size: int, page_args: dict[str, str], links: _Links) -> Page:
    number = max(1, _int_arg(page_args.get("page[number]"), 1, "page[number]"))
    total = len(records)
    total_pages = max(1, math.ceil(total / size))
    chunk = records[(number - 1) * size : number * size]
    out = {
        "self": links.to({"page[number]": str(number), "page[size]": str(size)}),
        "first": links.to({"page[number]": "1", "page[size]": str(size)}),
        "last": links.to({"page[number]": str(total_pages), "page[size]": str(size)}),
    }
    if number < total_pages:
        out["next"] = links.to({"page[number]": str(number + 1), "page[size]": str(size)})
    if number > 1:
        out["prev"] = links.to({"page[number]": str(number - 1), "page[size]": str(size)})
    meta = {
        "current_page": number,
        "total_pages": total_pages,
        "total_count": total,
        "page_size": size,
        "max_page_size": MAX_PAGE_SIZE,
    }
    return Page(chunk, out, meta)


def _keyset_page(records: list[Record], size: int, page_args: dict[str, str], sort: str | None, links: _Links) -> Page:
    if "page[number]" in page_args:
        raise bad_request("Keyset Conflict", "page[after] cannot be combined with page[number]", code="keyset_conflict")
    if sort:
        raise bad_request(
            "Unsupported Sort", "Cursor pagination only supports the default order", code="keyset_unsupported_sort"
        )
    cursor = page_args["page[after]"]
    after = 0
    if cursor:
        try:
            after = int(json.loads(base64.urlsafe_b64decode(cursor.encode()))["after"])
        except (ValueError, KeyError, TypeError, binascii.Error) as exc:
            raise bad_request("Invalid Cursor", "The cursor is not valid", code="keyset_invalid_cursor") from exc
    remaining = [r for r in records if int(r["id"]) > after]
    chunk = remaining[:size]
    out = {"self": links.to({"page[after]": cursor, "page[size]": str(size)})}
    if len(remaining) > size:
        token = base64.urlsafe_b64encode(json.dumps({"after": int(chunk[-1]["id"])}).encode()).decode()
        out["next"] = links.to({"page[after]": token, "page[size]": str(size)})
    return Page(chunk, out, {"page_size": size, "max_page_size": MAX_PAGE_SIZE})


class _Links:
    """Page links: the request's own query with its page parameters replaced."""

    def __init__(self, args: Args, base_url: str) -> None:
        self.params = [(k, v) for k, v in args.items(multi=True) if not k.startswith("page[")]
        self.base_url = base_url

    def to(self, page: dict[str, str]) -> str:
        return f"{self.base_url}?{urlencode([*self.params, *page.items()])}"


def _int_arg(value: str | None, default: int, name: str) -> int:
    if value is None or value == "":
        return default
    try:
        return int(value)
    except ValueError as exc:
        raise bad_request("Bad Request", f"{name} must be an integer", parameter=name) from exc


def sort_records(store: Store, org: Organization, spec: Spec, records: list[Record], sort: str) -> list[Record]:
    """Sort by ``a,-b`` (stable, key by key); records without a value go last."""
    keys = [k.strip() for k in sort.split(",") if k.strip()]
    for key in reversed(keys):
        name = key.lstrip("-")
        if name not in spec.sorts:
            raise bad_request("Unsupported Sort", f"Sorting {spec.type} by {name!r} is not supported", parameter="sort")
        descending = key.startswith("-")

        def sort_key(record: Record, name: str = name) -> tuple[int, Any]:
            value = store.value_of(org, spec.type, record, name)
            if name == "id":
                value = int(value)
            elif isinstance(value, str) and name in {"amount"}:
                value = to_decimal(value)
            return (0, value) if value is not None else (1, 0)

        present = [r for r in records if sort_key(r)[0] == 0]
        missing = [r for r in records if sort_key(r)[0] == 1]
        present.sort(key=lambda r: sort_key(r)[1], reverse=descending)
        records = present + missing
    return records


def parse_filters(store: Store, org: Organization, spec: Spec, args: Args) -> Predicate:
    """One predicate for all ``filter[...]`` arguments (``$op`` and numbered groups included)."""
    entries: list[tuple[list[str], str]] = []
    for key, value in args.items(multi=True):
        if not key.startswith("filter"):
            continue
        rest = key[len("filter") :]
        segments = _SEGMENT.findall(rest)
        if not segments or "".join(f"[{s}]" for s in segments) != rest:
            raise bad_request("Unsupported Filter", f"Malformed filter parameter {key!r}", parameter=key)
        entries.append((segments, value))
    return _Filters(store, org, spec).predicate(entries)


class _Filters:
    def __init__(self, store: Store, org: Organization, spec: Spec) -> None:
        self.store = store
        self.org = org
        self.spec = spec

    def predicate(self, entries: list[tuple[list[str], str]]) -> Predicate:
        op = "and"
        groups: dict[str, list[tuple[list[str], str]]] = {}
        predicates: list[Predicate] = []
        for segments, value in entries:
            head = segments[0]
            if head == "$op":
                if value not in {"and", "or"}:
                    raise bad_request(
                        "Unsupported Filter", "filter[$op] must be 'and' or 'or'", parameter="filter[$op]"
                    )
                op = value
            elif head.isdigit():
                if len(segments) < 2:
                    raise bad_request("Unsupported Filter", "A filter group needs operands", parameter="filter")
                groups.setdefault(head, []).append((segments[1:], value))
            else:
                predicates.append(self._condition(segments, value))
        predicates.extend(self.predicate(group) for _, group in sorted(groups.items()))
        if not predicates:
            return lambda record: True
        if op == "or":
            return lambda record: any(p(record) for p in predicates)
        return lambda record: all(p(record) for p in predicates)

    def _condition(self, segments: list[str], raw: str) -> Predicate:
        org, spec = self.org, self.spec
        name = segments[0]
        definition = spec.filters.get(name)
        param = "filter" + "".join(f"[{s}]" for s in segments)
        if definition is None:
            raise bad_request("Unsupported Filter", f"Filter {name!r} is not supported on {spec.type}", parameter=param)
        if definition.kind == "custom_fields":
            if len(segments) < 2:
                raise bad_request("Unsupported Filter", "Use filter[custom_fields][<id>]=value", parameter=param)
            field_id = segments[1]
            operator = segments[2] if len(segments) > 2 else "eq"
            self._check_operator(operator, param)
            return lambda record: _compare(
                "str", operator, (record.get("custom_fields") or {}).get(field_id), raw, param
            )
        operator = segments[1] if len(segments) > 1 else (definition.fixed_op or "eq")
        if len(segments) > 2:
            raise bad_request("Unsupported Filter", f"Malformed filter {param!r}", parameter=param)
        self._check_operator(operator, param)
        if definition.kind == "export_status":
            if raw not in {"1", "2"}:
                raise bad_request(
                    "Unsupported Filter Value", "export_status is 1 (not exported) or 2 (exported)", parameter=param
                )
            wanted = raw == "2"
            return lambda record: (
                bool(record.get("exported")) == wanted if operator == "eq" else bool(record.get("exported")) != wanted
            )
        _validate_value(definition, raw, param)
        source = definition.source or name
        store = self.store
        return lambda record: _compare(
            definition.kind, operator, store.value_of(org, spec.type, record, source), raw, param
        )

    @staticmethod
    def _check_operator(operator: str, param: str) -> None:
        if operator not in OPERATORS:
            raise bad_request("Unsupported Filter", f"Unknown filter operator {operator!r}", parameter=param)


def _validate_value(definition: Filter, raw: str, param: str) -> None:
    from datetime import date

    values = raw.split(",") if definition.kind == "id" else [raw]
    for value in values:
        try:
            if definition.kind in {"date", "datetime"}:
                date.fromisoformat(value[:10])
            elif definition.kind == "decimal" and to_decimal(value) is None:
                raise ValueError(value)
            elif definition.kind == "int":
                int(value)
            elif definition.kind == "bool" and value not in {"true", "false"}:
                raise ValueError(value)
        except ValueError as exc:
            raise bad_request(
                "Unsupported Filter Value", f"{value!r} is not a valid value for {param}", parameter=param
            ) from exc


def _compare(kind: str, operator: str, actual: Any, raw: str, param: str) -> bool:
    if kind == "id":
        wanted = {v.strip() for v in raw.split(",")}
        if operator == "eq":
            return actual is not None and str(actual) in wanted
        if operator == "not_eq":
            return actual is None or str(actual) not in wanted
    if actual is None:
        return operator in {"not_eq", "not_contain"} and raw != ""
    if isinstance(actual, list):
        text_values = [str(v) for v in actual]
        hit = raw in text_values
        return hit if operator in {"eq", "contains"} else not hit
    left: Any
    right: Any
    if kind in {"date", "datetime"}:
        left, right = str(actual)[:10], raw[:10]
    elif kind == "decimal":
        left, right = to_decimal(actual), to_decimal(raw)
    elif kind == "int":
        left, right = int(actual), int(raw)
    elif kind == "bool":
        left, right = bool(actual), raw == "true"
    else:
        left, right = str(actual), raw
    if operator == "contains":
        return str(right).lower() in str(left).lower()
    if operator == "not_contain":
        return str(right).lower() not in str(left).lower()
    if operator == "eq":
        return bool(left == right)
    if operator == "not_eq":
        return bool(left != right)
    try:
        if operator == "gt":
            return bool(left > right)
        if operator == "gt_eq":
            return bool(left >= right)
        if operator == "lt":
            return bool(left < right)
        if operator == "lt_eq":
            return bool(left <= right)
    except TypeError as exc:
        raise bad_request("Unsupported Filter", f"{operator} does not apply to {param}", parameter=param) from exc
    return False
