"""Intuit's query language: ``SELECT * | count(*) FROM Entity [WHERE ...] [ORDERBY ...] [STARTPOSITION n]
[MAXRESULTS n]``.

Keywords and entity names are case-insensitive (``select * from billPayment``, ``Select * From
exchangerate``: what long-lived clients such as node-quickbooks send, and Intuit answers them under the
entity's own name). Property names are as documented. Conditions are joined by AND only (OR is a
parse error, as at Intuit); operators ``= < > <= >= IN LIKE`` (LIKE knows only ``%``), and ``!=``,
which Intuit does not document but accepts: python-quickbooks' own integration suite sends
``FullyQualifiedName != 'Accounts Receivable (A/R)'`` to the sandbox. ``<>`` is a parse error.
String literals use single quotes with backslash escapes (``'O\\'Brien'``). A string of one space
(``' '``) stands for null. ``ORDERBY`` may be written ``ORDER BY``; projections (``SELECT Id, Name``,
``SELECT *, Sku``) are accepted and every field comes back, as at Intuit.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, tzinfo
from decimal import Decimal, InvalidOperation
from typing import Any

from local.qbo_emulator import faults
from local.qbo_emulator.clock import parse_qbo_datetime
from local.qbo_emulator.entities import SPECS, EntitySpec, render
from local.qbo_emulator.store import Realm

DEFAULT_MAX_RESULTS = 100
MAX_MAX_RESULTS = 1000

Literal = str | Decimal | bool


@dataclass(frozen=True)
class Token:
    kind: str  # WORD, STRING, NUMBER, OP, "(", ")", ",", "*", EOF
    text: str
    value: Any
    column: int


@dataclass(frozen=True)
class Condition:
    field: str
    op: str  # "=", "!=", "<", ">", "<=", ">=", "IN", "LIKE"
    values: tuple[Literal, ...]


@dataclass(frozen=True)
class OrderKey:
    field: str
    descending: bool = False


@dataclass
class Query:
    entity: str
    count: bool = False
    conditions: list[Condition] = field(default_factory=list)
    order: list[OrderKey] = field(default_factory=list)
    start_position: int = 1
    max_results: int = DEFAULT_MAX_RESULTS


_OPS = ("<=", ">=", "!=", "<>", "=", "<", ">")
_WORD = re.compile(r"[A-Za-z_][A-Za-z0-9_.]*")
_NUMBER = re.compile(r"-?\d+(?:\.\d+)?")
KEYWORDS = {
    "SELECT",
    "FROM",
    "WHERE",
    "AND",
    "OR",
    "NOT",
    "IN",
    "LIKE",
    "ORDERBY",
    "ORDER",
    "BY",
    "ASC",
    "DESC",
    "STARTPOSITION",
    "MAXRESULTS",
    "COUNT",
    "TRUE",
    "FALSE",
}


def _error_at(token: Token, expecting: str) -> faults.QboFault:
    shown = "<EOF>" if token.kind == "EOF" else token.text
    return faults.parse_error(
        f'Encountered " {shown} " at line 1, column {token.column}.\nWas expecting one of: {expecting}'
    )


def tokenize(text: str) -> list[Token]:
    tokens: list[Token] = []
    i = 0
    n = len(text)
    while i < n:
        ch = text[i]
        column = i + 1
        if ch.isspace():
            i += 1
            continue
        if ch == "'":
            i += 1
            chars: list[str] = []
            while True:
                if i >= n:
                    raise faults.parse_error(f"Lexical error at line 1, column {n + 1}. Unterminated string")
                ch = text[i]
                if ch == "\\" and i + 1 < n:
                    chars.append(text[i + 1])
                    i += 2
                    continue
                if ch == "'":
                    i += 1
                    break
                chars.append(ch)
                i += 1
            value = "".join(chars)
            tokens.append(Token("STRING", text[column - 1 : i], value, column))
            continue
        if ch in "(),*":
            tokens.append(Token(ch, ch, ch, column))
            i += 1
            continue
        op = next((candidate for candidate in _OPS if text.startswith(candidate, i)), None)
        if op is not None:
            tokens.append(Token("OP", op, op, column))
            i += len(op)
            continue
        number = _NUMBER.match(text, i)
        if number:
            tokens.append(Token("NUMBER", number.group(), Decimal(number.group()), column))
            i = number.end()
            continue
        word = _WORD.match(text, i)
        if word:
            tokens.append(Token("WORD", word.group(), word.group(), column))
            i = word.end()
            continue
        raise faults.parse_error(f'Lexical error at line 1, column {column}. Encountered: "{ch}"')
    tokens.append(Token("EOF", "", None, n + 1))
    return tokens


class _Parser:
    def __init__(self, text: str) -> None:
        self.tokens = tokenize(text)
        self.pos = 0

    @property
    def current(self) -> Token:
        return self.tokens[self.pos]

    def advance(self) -> Token:
        token = self.tokens[self.pos]
        if token.kind != "EOF":
            self.pos += 1
        return token

    def is_keyword(self, *words: str) -> bool:
        token = self.current
        return token.kind == "WORD" and token.text.upper() in words

    def expect_keyword(self, word: str) -> Token:
        if not self.is_keyword(word):
            raise _error_at(self.current, f'"{word}"')
        return self.advance()

    def expect(self, kind: str, expecting: str) -> Token:
        if self.current.kind != kind:
            raise _error_at(self.current, expecting)
        return self.advance()

    def identifier(self) -> str:
        token = self.current
        if token.kind != "WORD" or token.text.upper() in KEYWORDS:
            raise _error_at(token, "<IDENTIFIER>")
        self.advance()
        return token.text

    def literal(self) -> Literal:
        token = self.current
        if token.kind == "STRING":
            self.advance()
            return str(token.value)
        if token.kind == "NUMBER":
            self.advance()
            return Decimal(token.value)
        if self.is_keyword("TRUE", "FALSE"):
            self.advance()
            return token.text.upper() == "TRUE"
        raise _error_at(token, "<STRING> | <NUMBER> | true | false")

    def integer(self) -> int:
        token = self.expect("NUMBER", "<INTEGER>")
        value = Decimal(token.value)
        if value != value.to_integral_value():
            raise _error_at(token, "<INTEGER>")
        return int(value)

    def parse(self) -> Query:
        self.expect_keyword("SELECT")
        count = False
        if self.is_keyword("COUNT"):
            self.advance()
            self.expect("(", '"("')
            self.expect("*", '"*"')
            self.expect(")", '")"')
            count = True
        elif self.current.kind == "*":
            self.advance()
            while self.current.kind == ",":  # "SELECT *, Sku FROM Item" (python-quickbooks Item.all)
                self.advance()
                self.identifier()
        else:  # projections are accepted; all fields come back anyway
            self.identifier()
            while self.current.kind == ",":
                self.advance()
                self.identifier()
        self.expect_keyword("FROM")
        entity = self.identifier()
        query = Query(entity=entity, count=count)
        if self.is_keyword("WHERE"):
            self.advance()
            query.conditions.append(self.condition())
            while self.is_keyword("AND"):
                self.advance()
                query.conditions.append(self.condition())
        if self.is_keyword("ORDERBY", "ORDER"):
            if self.advance().text.upper() == "ORDER":
                self.expect_keyword("BY")
            query.order.append(self.order_key())
            while self.current.kind == ",":
                self.advance()
                query.order.append(self.order_key())
        seen: set[str] = set()
        while self.is_keyword("STARTPOSITION", "MAXRESULTS") and self.current.text.upper() not in seen:
            word = self.advance().text.upper()
            seen.add(word)
            if word == "STARTPOSITION":
                query.start_position = self.integer()
            else:
                query.max_results = self.integer()
        if self.current.kind != "EOF":
            raise _error_at(self.current, '"AND" | "ORDERBY" | "STARTPOSITION" | "MAXRESULTS" | <EOF>')
        return query

    def condition(self) -> Condition:
        name = self.identifier()
        if self.is_keyword("IN"):
            self.advance()
            self.expect("(", '"("')
            values = [self.literal()]
            while self.current.kind == ",":
                self.advance()
                values.append(self.literal())
            self.expect(")", '")"')
            return Condition(name, "IN", tuple(values))
        if self.is_keyword("LIKE"):
            self.advance()
            token = self.expect("STRING", "<STRING>")
            return Condition(name, "LIKE", (str(token.value),))
        token = self.current
        if token.kind != "OP" or token.text == "<>":
            raise _error_at(token, '"=" | "!=" | "<" | ">" | "<=" | ">=" | "IN" | "LIKE"')
        self.advance()
        return Condition(name, token.text, (self.literal(),))

    def order_key(self) -> OrderKey:
        name = self.identifier()
        descending = False
        if self.is_keyword("ASC", "DESC"):
            descending = self.advance().text.upper() == "DESC"
        return OrderKey(name, descending)


def parse(text: str) -> Query:
    if not text or not text.strip():
        raise faults.parse_error('Encountered <EOF> at line 1, column 1. Was expecting: "SELECT"')
    return _Parser(text).parse()


# --- evaluation -------------------------------------------------------------------------------


def _lookup(record: dict[str, Any], path: str) -> Any:
    """Follow a dotted path; through a list (e.g. AttachableRef) it yields a list of values."""
    value: Any = record
    parts = path.split(".")
    for index, part in enumerate(parts):
        if isinstance(value, list):
            rest = ".".join(parts[index:])
            found = [_lookup(item, rest) for item in value if isinstance(item, dict)]
            return [item for item in found if item is not None]
        if not isinstance(value, dict):
            return None
        value = value.get(part)
    return value


def _as_decimal(value: Any) -> Decimal | None:
    if isinstance(value, bool) or value is None:
        return None
    try:
        return Decimal(str(value))
    except (InvalidOperation, ValueError):
        return None


class _Evaluator:
    def __init__(self, spec: EntitySpec, tz: tzinfo) -> None:
        self.spec = spec
        self.tz = tz

    def value(self, record: dict[str, Any], name: str) -> Any:
        return _lookup(record, self.spec.aliases.get(name, name))

    def normalise(self, name: str, value: Any) -> Any:
        """Comparable form of a stored value."""
        if value is None:
            return None
        if name in self.spec.datetimes and isinstance(value, str):
            return parse_qbo_datetime(value, self.tz)
        if name in self.spec.numeric or (isinstance(value, Decimal | int) and not isinstance(value, bool)):
            return _as_decimal(value)
        if isinstance(value, bool):
            return value
        return str(value).casefold()

    def literal(self, name: str, literal: Literal) -> Any:
        if isinstance(literal, bool):
            return literal
        if name in self.spec.datetimes and isinstance(literal, str):
            parsed = parse_qbo_datetime(literal, self.tz)
            if parsed is None:
                raise faults.query_validation(f"invalid date/time literal '{literal}' for {name}")
            return parsed
        if name in self.spec.numeric:
            number = _as_decimal(literal)
            if number is None:
                return str(literal).casefold()
            return number
        if isinstance(literal, Decimal):
            return literal
        return literal.casefold()

    def matches(self, record: dict[str, Any], cond: Condition) -> bool:
        raw = self.value(record, cond.field)
        if isinstance(raw, list):
            return any(self.matches_value(item, cond) for item in raw)
        return self.matches_value(raw, cond)

    def matches_value(self, raw: Any, cond: Condition) -> bool:
        if cond.op in ("=", "IN"):
            for literal in cond.values:
                if literal == " ":  # null
                    if raw is None or raw == "":
                        return True
                    continue
                if self._equal(cond.field, raw, literal):
                    return True
            return False
        if cond.op == "!=":  # a missing value is neither equal nor unequal, as in SQL
            return raw is not None and raw != "" and not self._equal(cond.field, raw, cond.values[0])
        if cond.op == "LIKE":
            if raw is None:
                return False
            pattern = "".join(".*" if ch == "%" else re.escape(ch) for ch in str(cond.values[0]))
            return re.fullmatch(pattern, str(raw), flags=re.IGNORECASE | re.DOTALL) is not None
        left = self.normalise(cond.field, raw)
        right = self.literal(cond.field, cond.values[0])
        if left is None or type(left) is not type(right) or isinstance(left, bool):
            return False
        if cond.op == "<":
            return bool(left < right)
        if cond.op == ">":
            return bool(left > right)
        if cond.op == "<=":
            return bool(left <= right)
        return bool(left >= right)

    def _equal(self, name: str, raw: Any, literal: Literal) -> bool:
        left = self.normalise(name, raw)
        right = self.literal(name, literal)
        if left is None:
            return False
        if isinstance(left, bool) or isinstance(right, bool):
            return isinstance(left, bool) and isinstance(right, bool) and left == right
        if type(left) is not type(right):
            return str(raw).casefold() == str(literal).casefold()
        return bool(left == right)

    def sort_key(self, record: dict[str, Any], name: str) -> tuple[int, Any]:
        value = self.normalise(name, self.value(record, name))
        if value is None:
            return (0, "")
        if isinstance(value, bool):
            return (1, int(value))
        if isinstance(value, datetime):
            return (2, value.timestamp())
        if isinstance(value, Decimal):
            return (3, value)
        return (4, value)


def _check_field(spec: EntitySpec, name: str, allowed: Iterable[str], what: str) -> None:
    if name not in allowed:
        raise faults.query_validation(f"property '{name}' is not {what} for entity {spec.name}")


def entity_spec(name: str) -> EntitySpec:
    """The queryable entity a query names, whatever the case of the name."""
    spec = SPECS.get(name) or {key.casefold(): spec for key, spec in SPECS.items()}.get(name.casefold())
    if spec is None or not spec.queryable:
        raise faults.query_validation(f"Entity '{name}' is not supported or does not exist")
    return spec


def run(text: str, realm: Realm) -> dict[str, Any]:
    """Parse and run a query against a company; returns the ``QueryResponse`` object."""
    parsed = parse(text)
    spec = entity_spec(parsed.entity)
    with realm.lock:
        return execute(parsed, realm.all(spec.name), realm.tz)


def execute(query: Query, records: Sequence[dict[str, Any]], tz: tzinfo) -> dict[str, Any]:
    """Run a parsed query over one entity's records; returns the ``QueryResponse`` object."""
    spec = entity_spec(query.entity)
    for cond in query.conditions:
        _check_field(spec, cond.field, spec.filterable, "queryable")
    for key in query.order:
        _check_field(spec, key.field, spec.sortable, "sortable")
    if query.start_position < 1:
        raise faults.query_validation("STARTPOSITION must be 1 or greater")
    if query.max_results < 0:
        raise faults.query_validation("MAXRESULTS must be 0 or greater")
    evaluator = _Evaluator(spec, tz)
    conditions = list(query.conditions)
    if spec.name_list and not any(cond.field == "Active" for cond in conditions):
        conditions.append(Condition("Active", "=", (True,)))
    rows = [r for r in records if all(evaluator.matches(r, cond) for cond in conditions)]
    if query.count:
        return {"totalCount": len(rows)}
    rows.sort(key=lambda r: evaluator.sort_key(r, "Id"))
    for key in reversed(query.order):
        rows.sort(key=lambda r, k=key: evaluator.sort_key(r, k.field), reverse=key.descending)  # type: ignore[misc]
    max_results = min(query.max_results, MAX_MAX_RESULTS)
    start = query.start_position
    first = sorted(
        (r for r in rows if str(r.get("Id")) in spec.listed_first),
        key=lambda r: spec.listed_first.index(str(r.get("Id"))),
    )
    if first:
        rows = [r for r in rows if str(r.get("Id")) not in spec.listed_first]
    page = rows[start - 1 : start - 1 + max_results]
    if start == 1:
        page = first + page
    if not page:
        return {}
    return {spec.wire: [render(r) for r in page], "startPosition": start, "maxResults": len(page)}
