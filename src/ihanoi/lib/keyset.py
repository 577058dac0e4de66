"""Keyset (seek) pagination: a page is "the rows after this key", never "skip N rows".

An offset page costs as much as every row before it (page 500 of a list reads 10,000 rows
to throw them away), and rows added meanwhile shift every page. A keyset page starts at the
key of the last row shown, which an index finds directly: page 500 costs what page 1 costs.

A list is paged by an ``Ordering``: columns that are all ascending or all descending and
never NULL, the last one unique (the id), so that every row has exactly one place. The
index that serves a list has the same columns in the same order (``feedback.ordering``).

The cursor handed to clients is the key of a page's first or last row, which way to go from
it, and the ordering's tag, as URL-safe base64 of JSON. It is opaque but carries no secret:
a changed cursor can only name another place in the same list, whose filters the caller
does not choose through it. Anything that does not decode to a key of this ordering raises
``InvalidCursor``; each surface decides whether that is a 400 or the first page.
"""

from __future__ import annotations

import base64
import binascii
import datetime
import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from django.db.models import BooleanField, DateTimeField, Expression, F, Func, QuerySet, Value
from django.db.models.expressions import OrderBy

T = TypeVar("T")

# A cursor is a few dozen characters; anything much longer is not one of ours.
MAX_CURSOR_LENGTH = 400
MAX_TEXT_LENGTH = 200
BIGINT = 2**63 - 1
# Ours are "a" (after: the next page) and "b" (before: the previous page).
AFTER, BEFORE = "a", "b"


class InvalidCursor(ValueError):
    """The cursor is malformed, tampered with, or belongs to another ordering."""


@dataclass(frozen=True)
class Column:
    """One part of the key: read as ``name`` on each row; ordered by ``expression`` (a field
    name, or an expression that the ordering annotates on the rows as ``name``)."""

    name: str
    kind: type  # datetime.datetime, int or str
    expression: Expression | None = None

    def ordered_by(self) -> Expression | F:
        return F(self.name) if self.expression is None else self.expression


@dataclass(frozen=True)
class Ordering:
    tag: str
    columns: tuple[Column, ...]
    descending: bool = False

    def prepare(self, queryset: QuerySet[Any]) -> QuerySet[Any]:
        """The rows with the key's expressions annotated, in this order."""
        annotations = {c.name: c.expression for c in self.columns if c.expression is not None}
        if annotations:
            queryset = queryset.annotate(**annotations)
        return queryset.order_by(*self.order_by())

    def order_by(self, *, reverse: bool = False) -> list[OrderBy]:
        descending = self.descending != reverse
        return [
            OrderBy(
                F(c.name) if c.expression is not None else c.ordered_by(), descending=descending
            )
            for c in self.columns
        ]

    def key_of(self, row: Any) -> tuple[Any, ...]:
        if isinstance(row, dict):
            return tuple(row[c.name] for c in self.columns)
        return tuple(getattr(row, c.name) for c in self.columns)

    def beyond(self, key: Sequence[Any], *, before: bool = False) -> RowCompare:
        """The condition "comes after ``key``" in this order (or before it)."""
        later = self.descending == before
        return RowCompare(
            [c.ordered_by() for c in self.columns],
            [_value(c, v) for c, v in zip(self.columns, key, strict=True)],
            ">" if later else "<",
        )


def _value(column: Column, value: Any) -> Value:
    if column.kind is datetime.datetime:
        return Value(value, output_field=DateTimeField())
    return Value(value)


class RowCompare(Func):
    """``(a, b, c) > (x, y, z)``: one condition that a B-tree index on (a, b, c) answers by
    seeking to the key (PostgreSQL, and SQLite's row values). The equivalent OR of ANDs is
    not an index range, and the seek would become a scan."""

    output_field = BooleanField()
    conditional = True

    def __init__(self, left: Sequence[Any], right: Sequence[Expression], operator: str):
        if len(left) != len(right) or not left or operator not in ("<", ">"):
            raise ValueError("a row comparison needs two rows of the same length")
        self.width = len(left)
        self.operator = operator
        super().__init__(*left, *right)

    def as_sql(self, compiler: Any, connection: Any, **extra: Any) -> tuple[str, list[Any]]:  # type: ignore[override]
        sql: list[str] = []
        params: list[Any] = []
        for expression in self.get_source_expressions():
            part, part_params = compiler.compile(expression)
            sql.append(part)
            params.extend(part_params)
        left, right = ", ".join(sql[: self.width]), ", ".join(sql[self.width :])
        return f"({left}) {self.operator} ({right})", params


# --- Cursors ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Cursor:
    key: tuple[Any, ...]
    before: bool = False  # the page before the key (newer, in a newest-first list)


def encode(ordering: Ordering, key: Sequence[Any], *, before: bool = False) -> str:
    values: list[Any] = []
    for column, value in zip(ordering.columns, key, strict=True):
        if column.kind is datetime.datetime:
            value = value.astimezone(datetime.UTC).isoformat()
        values.append(value)
    raw = json.dumps([ordering.tag, BEFORE if before else AFTER, *values], separators=(",", ":"))
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


def decode(ordering: Ordering, cursor: str) -> Cursor:
    if not isinstance(cursor, str) or not 0 < len(cursor) <= MAX_CURSOR_LENGTH:
        raise InvalidCursor(cursor)
    try:
        text = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
        data = json.loads(text)
    except (binascii.Error, UnicodeDecodeError, ValueError, RecursionError):
        raise InvalidCursor(cursor) from None
    if (
        not isinstance(data, list)
        or len(data) != 2 + len(ordering.columns)
        or data[0] != ordering.tag
        or data[1] not in (AFTER, BEFORE)
    ):
        raise InvalidCursor(cursor)
    key = tuple(_read(c, v) for c, v in zip(ordering.columns, data[2:], strict=True))
    return Cursor(key=key, before=data[1] == BEFORE)


def _read(column: Column, value: Any) -> Any:
    if column.kind is datetime.datetime:
        if not isinstance(value, str) or len(value) > 40:
            raise InvalidCursor(value)
        try:
            moment = datetime.datetime.fromisoformat(value)
            if moment.tzinfo is None:
                raise InvalidCursor(value)
            return moment.astimezone(datetime.UTC)
        except (ValueError, OverflowError):
            raise InvalidCursor(value) from None
    if column.kind is int:
        if type(value) is not int or not -BIGINT <= value <= BIGINT:
            raise InvalidCursor(value)
        return value
    if not isinstance(value, str) or len(value) > MAX_TEXT_LENGTH or "\x00" in value:
        raise InvalidCursor(value)
    return value


# --- Pages -----------------------------------------------------------------------------------


@dataclass
class Page(Generic[T]):
    items: list[T]
    next: str | None  # the cursor of the page after this one
    previous: str | None  # the cursor of the page before; None on the first page

    def __iter__(self) -> Any:
        return iter(self.items)

    def __len__(self) -> int:
        return len(self.items)


def paginate(
    queryset: QuerySet[Any], ordering: Ordering, *, size: int, cursor: Cursor | None = None
) -> Page[Any]:
    """One page of ``size`` rows from the cursor's key (the first page without one), in one
    query: it reads one row more than it shows, which says whether a next page exists. A page
    before the first full one is the first page itself (one more query, at that edge only)."""
    prepared = ordering.prepare(queryset)
    if cursor is not None and cursor.before:
        rows = list(
            prepared.filter(ordering.beyond(cursor.key, before=True)).order_by(
                *ordering.order_by(reverse=True)
            )[: size + 1]
        )
        if len(rows) <= size:  # reached the start: show the first page, full
            return paginate(queryset, ordering, size=size)
        items = rows[:size][::-1]
        return Page(
            items=items,
            next=encode(ordering, ordering.key_of(items[-1])),
            previous=encode(ordering, ordering.key_of(items[0]), before=True),
        )
    if cursor is not None:
        prepared = prepared.filter(ordering.beyond(cursor.key))
    rows = list(prepared[: size + 1])
    items = rows[:size]
    more = len(rows) > size
    previous = None
    if cursor is not None:
        first = ordering.key_of(items[0]) if items else cursor.key
        previous = encode(ordering, first, before=True)
    return Page(
        items=items,
        next=encode(ordering, ordering.key_of(items[-1])) if more else None,
        previous=previous,
    )


def offset_page(
    queryset: QuerySet[Any], ordering: Ordering, *, offset: int, size: int
) -> Page[Any]:
    """A page by number, for the clients that still ask for one: the rows after ``offset``
    in the same order, and the cursor of the page after them, so that such a client can
    switch to cursors. It costs what an offset costs (the rows before it are read)."""
    rows = list(ordering.prepare(queryset)[offset : offset + size + 1])
    items = rows[:size]
    following = encode(ordering, ordering.key_of(items[-1])) if len(rows) > size else None
    return Page(items=items, next=following, previous=None)
