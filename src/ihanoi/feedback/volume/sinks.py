"""Bulk writing of generated rows: COPY through psycopg on PostgreSQL, ``executemany``
elsewhere (SQLite: fine for small volumes).

Rows are plain tuples of Python values in the order of the columns named; every other
column of the model gets its field default, so that a field added to a model later keeps
the generator working (a new required field without a default fails loudly instead).
Rows wait in memory until they are sent, table by table in foreign-key order (accounts
before reports before events).

On PostgreSQL a :class:`BatchWriter` sends each batch from one background thread while the
caller makes the next: the server's work (indexes, foreign keys) overlaps the generation.
It uses the same connection, hence the same transaction; psycopg's connection lock makes
any query of the caller meanwhile wait for the COPY under way.
"""

from __future__ import annotations

import contextlib
from collections.abc import Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any

from django.db import connection, models

# Rows buffered per table before they are sent (memory stays flat at any volume).
FLUSH_ROWS = 100_000
_CONVERTED_FIELDS = (
    models.DateField,  # DateTimeField too
    models.TimeField,
    models.UUIDField,
    models.JSONField,
    models.DecimalField,
    models.DurationField,
)

Rows = list[tuple[Any, ...]]


class Table:
    """One table's pending rows."""

    def __init__(self, model: type[models.Model], columns: Sequence[str]) -> None:
        fields = {field.attname: field for field in model._meta.concrete_fields}
        unknown = [name for name in columns if name not in fields]
        if unknown:
            raise ValueError(f"{model._meta.label} has no column(s) {', '.join(unknown)}")
        others = [
            field for name, field in fields.items() if name not in columns and not field.primary_key
        ]
        self.model = model
        self.table = model._meta.db_table
        self.fields = [fields[name] for name in columns] + others
        self.columns = [str(field.column) for field in self.fields]
        self.defaults = tuple(None if f.null else f.get_default() for f in others)
        self.json_positions = tuple(
            i for i, field in enumerate(self.fields) if isinstance(field, models.JSONField)
        )
        quote = connection.ops.quote_name
        names = ", ".join(quote(c) for c in self.columns)
        self.copy_statement = f"COPY {quote(self.table)} ({names}) FROM STDIN"
        marks = ", ".join(["%s"] * len(self.columns))
        self.insert_statement = f"INSERT INTO {quote(self.table)} ({names}) VALUES ({marks})"  # noqa: S608
        self.rows: Rows = []
        self.sent = 0  # rows handed over for writing

    def add(self, row: tuple[Any, ...]) -> None:
        self.rows.append(row)

    def full(self) -> bool:
        return len(self.rows) >= FLUSH_ROWS

    def take(self) -> Rows:
        rows, self.rows = self.rows, []
        self.sent += len(rows)
        return rows

    def flush(self) -> None:
        """Write the pending rows now, in the caller's thread."""
        rows = self.take()
        if not rows:
            return
        if connection.vendor == "postgresql":
            self.copy(rows, connection.connection)
        else:
            self.insert(rows)

    def copy(self, rows: Rows, raw: Any) -> None:
        """COPY through ``raw``, the driver's own connection (unlike Django's wrapper, it
        may be used from another thread)."""
        from psycopg.types.json import Jsonb

        tail, positions = self.defaults, self.json_positions
        with raw.cursor() as cursor, cursor.copy(self.copy_statement) as copy:
            for row in rows:
                values: Any = row + tail if tail else row
                if positions:
                    values = list(values)
                    for i in positions:
                        values[i] = Jsonb(values[i])
                copy.write_row(values)

    def insert(self, rows: Rows) -> None:
        tail = self.defaults
        # The driver takes numbers, text and None as they are; dates, UUIDs and JSON go
        # through their fields (SQLite keeps UUIDs as hex, datetimes as UTC text).
        converters = [
            (i, field)
            for i, field in enumerate(self.fields)
            if isinstance(field, _CONVERTED_FIELDS)
        ]
        prepared = []
        for row in rows:
            values = list(row + tail)
            for i, field in converters:
                values[i] = field.get_db_prep_save(values[i], connection)
            prepared.append(values)
        with connection.cursor() as cursor:
            cursor.executemany(self.insert_statement, prepared)


class BatchWriter:
    """Sends the pending rows of several tables, in their order; on PostgreSQL in the
    background, one batch at a time (``send`` waits for the previous one)."""

    def __init__(self, tables: Sequence[Table]) -> None:
        self.tables = tables
        self._pool: ThreadPoolExecutor | None = None
        self._raw: Any = None
        if connection.vendor == "postgresql":
            connection.ensure_connection()
            self._raw = connection.connection
            self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="copy")
        self._pending: Future[None] | None = None

    def send(self) -> None:
        batch = [(table, table.take()) for table in self.tables if table.rows]
        self.wait()
        if self._pool is None:
            for table, rows in batch:
                table.insert(rows)
        else:
            self._pending = self._pool.submit(self._copy, batch)

    def wait(self) -> None:
        """Until the batch under way is written (its error, if any, is raised here)."""
        pending, self._pending = self._pending, None
        if pending is not None:
            pending.result()

    def close(self, *, send: bool = True) -> None:
        """Send what is pending (unless the work is abandoned: an error is on its way up)
        and wait for it; the writer thread ends."""
        try:
            if send:
                self.send()
                self.wait()
            else:
                with contextlib.suppress(Exception):
                    self.wait()
        finally:
            if self._pool is not None:
                self._pool.shutdown(wait=True)
                self._pool = None

    def _copy(self, batch: list[tuple[Table, Rows]]) -> None:
        for table, rows in batch:
            table.copy(rows, self._raw)


def next_id(model: type[models.Model]) -> int:
    """The first free primary key above every existing row."""
    highest = model._default_manager.aggregate(highest=models.Max("pk"))["highest"]
    return (highest or 0) + 1


def sequences_reset(tables: Sequence[type[models.Model]]) -> None:
    """Point the id sequences past the rows written with explicit ids, as
    ``sqlsequencereset`` does (a no-op on SQLite, whose AUTOINCREMENT follows by itself)."""
    from django.core.management.color import no_style

    statements = connection.ops.sequence_reset_sql(no_style(), list(tables))
    if statements:
        with connection.cursor() as cursor:
            for statement in statements:
                cursor.execute(statement)


def analyze(tables: Sequence[type[models.Model]]) -> None:
    """Fresh planner statistics after a bulk load (PostgreSQL only)."""
    if connection.vendor != "postgresql":
        return
    with connection.cursor() as cursor:
        for model in tables:
            cursor.execute(f"ANALYZE {connection.ops.quote_name(model._meta.db_table)}")
