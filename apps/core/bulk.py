"""Fast row writes for hot paths (the OCPP group-commit writer), on PostgreSQL and SQLite.

Django's bulk_create and bulk_update build a model instance per row and compile expressions per row and field
(py-spy on the OCPP writer: model __init__ and its signals, CASE WHEN / UNNEST array dumping were most of a batch).
These take plain values instead:

- `rows_insert`: PostgreSQL `COPY … FROM STDIN` (one stream, no per-row statement); elsewhere one executemany INSERT.
- `rows_update`: PostgreSQL one `UPDATE … FROM unnest(typed arrays)` for the whole list; elsewhere one parameterised
  UPDATE per row with executemany.

Values are written as given: no save() signals, no auto_now, no defaults (pass every column the row needs)."""
from __future__ import annotations

import contextlib
import threading
from typing import Any, Iterable, Sequence

import psycopg
import ujson
from django.db import connections, router
from django.db.models import JSONField, Model
from django.db.models.constants import OnConflict


def _json_text(value: Any) -> str | None:
    # JSONField stores what json.dumps produces; ujson writes the same JSON text, faster.
    return None if value is None else ujson.dumps(value, ensure_ascii=False, escape_forward_slashes=False)


def rows_insert(*, model: type[Model], fields: Sequence[str], rows: Iterable[Sequence[Any]],
                ignore_conflicts: bool = False) -> int:
    """INSERT rows (tuples of attribute values in the order of `fields`, e.g. "station_id" for a foreign key,
    Decimal amounts next to their `<field>_currency` codes). Returns the number of rows written — with
    `ignore_conflicts`, the rows that did not collide with a unique constraint and were skipped. Primary keys come
    from the database and are not returned.

    On PostgreSQL rows travel by COPY (straight into the table, or through a temporary table and INSERT … ON
    CONFLICT DO NOTHING with `ignore_conflicts`); elsewhere by executemany with Django's own value adaptation.
    Never deferred: COPY cannot run in pipeline mode, and it is the cheaper of the two on the server (measured on
    a batch of 480 meter values and 160 log rows: COPY 7-8 ms, `INSERT … SELECT FROM unnest(arrays)` 25-31 ms; the
    monthly close's ~100,000 session charges and invoice lines: bulk_create's model and Money instances were most of
    its time)."""
    rows = list(rows)
    if not rows:
        return 0
    connection = connections[router.db_for_write(model)]
    meta = model._meta
    columns = [meta.get_field(name) for name in fields]
    quote = connection.ops.quote_name
    table = quote(meta.db_table)
    names = ", ".join(quote(c.column) for c in columns)
    if connection.vendor == "postgresql":
        json_at = [i for i, c in enumerate(columns) if isinstance(c, JSONField)]
        # psycopg dumps an Enum by its name; a Django choices member must be stored by its value.
        choice_at = [i for i, c in enumerate(columns) if c.choices]
        target = table
        with connection.cursor() as cursor:
            if ignore_conflicts:
                target = quote(f"{meta.db_table}_staging")
                cursor.execute(f"DROP TABLE IF EXISTS {target}")
                cursor.execute(f"CREATE TEMPORARY TABLE {target} AS SELECT {names} FROM {table} WITH NO DATA")
            with cursor.cursor.copy(f"COPY {target} ({names}) FROM STDIN") as copy:
                for row in rows:
                    if json_at or choice_at:
                        row = list(row)
                        for i in json_at:
                            row[i] = _json_text(row[i])
                        for i in choice_at:
                            row[i] = getattr(row[i], "value", row[i])
                    copy.write_row(row)
            if not ignore_conflicts:
                return len(rows)
            cursor.execute(f"INSERT INTO {table} ({names}) SELECT {names} FROM {target} ON CONFLICT DO NOTHING")
            inserted = cursor.rowcount
            cursor.execute(f"DROP TABLE {target}")
            return inserted
    statement = connection.ops.insert_statement(on_conflict=OnConflict.IGNORE if ignore_conflicts else None)
    sql = f"{statement} {table} ({names}) VALUES ({', '.join(['%s'] * len(columns))})"
    params = [[c.get_db_prep_save(value, connection) for c, value in zip(columns, row, strict=True)] for row in rows]
    inserted = 0
    with connection.cursor() as cursor:
        for first in range(0, len(params), 2000):
            cursor.executemany(sql, params[first:first + 2000])
            inserted += max(cursor.rowcount, 0)
    return inserted if ignore_conflicts else len(rows)


class Row:
    """A row for rows_update without a model instance: its primary key and the attribute values to write."""

    def __init__(self, pk: Any, **values: Any):
        self.pk = pk
        self.__dict__.update(values)


def rows_update(*, objs: Iterable[Any], fields: list[str], model: type[Model] | None = None,
                deferred: bool = False) -> int:
    """UPDATE each object's `fields` (attribute values as they are, no save() signals, no auto_now) by primary key.
    `objs` are model instances, or any objects with `pk` and those attributes (Row) when `model` is given.
    Returns the number of objects sent. With deferred, inside rows_deferred() on PostgreSQL, the UPDATE is queued."""
    objs = list(objs)
    if not objs:
        return 0
    model = model or type(objs[0])
    connection = connections[router.db_for_write(model)]
    meta = model._meta
    columns = [meta.get_field(name) for name in fields]
    quote = connection.ops.quote_name
    if connection.vendor == "postgresql":
        pk = meta.pk
        arrays = [[obj.pk for obj in objs]]
        types = [pk.db_type(connection)]
        for column in columns:
            values = [getattr(obj, column.attname) for obj in objs]
            if isinstance(column, JSONField):
                values = [_json_text(v) for v in values]
            elif column.choices:
                values = [getattr(v, "value", v) for v in values]
            arrays.append(values)
            types.append(column.db_type(connection))
        names = ["pk", *(f"c{i}" for i in range(len(columns)))]
        sql = (f"UPDATE {quote(meta.db_table)} AS t SET "
               + ", ".join(f"{quote(c.column)} = v.c{i}" for i, c in enumerate(columns))
               + " FROM unnest(" + ", ".join(f"%s::{t}[]" for t in types) + f") AS v({', '.join(names)})"
               + f" WHERE t.{quote(pk.column)} = v.pk")
        pending = _pending(connection) if deferred else None
        if pending is not None:
            pending.statements.append((sql, arrays))
            return len(objs)
        with connection.cursor() as cursor:
            cursor.execute(sql, arrays)
        return len(objs)
    sql = (f"UPDATE {quote(meta.db_table)} SET " + ", ".join(f"{quote(c.column)} = %s" for c in columns)
           + f" WHERE {quote(meta.pk.column)} = %s")
    params = [[c.get_db_prep_save(getattr(obj, c.attname), connection) for c in columns] + [obj.pk] for obj in objs]
    with connection.cursor() as cursor:
        cursor.executemany(sql, params)
    return len(objs)


# --- one round trip for a batch's writes and its commit (PostgreSQL pipeline mode) ------------------------------

_local = threading.local()


class DeferredWrites:
    """Writes queued by `rows_update(..., deferred=True)` / `execute_deferred` inside `rows_deferred()`, sent by
    `send()`.

    Why: on a shared, loaded box every statement of the OCPP group-commit batch was a round trip in which the
    writer thread waited for PostgreSQL to be scheduled (py-spy: 64 % of the writer's time in Connection.wait,
    ~10 round trips per batch). In psycopg's pipeline mode the queued statements and the COMMIT go out together
    and cost one round trip. Only writes nothing later in the transaction reads may be deferred (the caller opts
    in per call). On SQLite (and any other vendor) nothing is deferred: each write runs when it is called."""

    def __init__(self, connection):
        self.connection = connection
        self.statements: list[tuple[str, Any]] = []

    def send(self, *, commit: bool) -> None:
        """Run the queued statements in one pipeline, then (commit=True) COMMIT in the same round trip. Raises the
        first statement's error; the caller's transaction.atomic() then rolls back. With commit, Django's own
        commit at the end of atomic() finds no open transaction and sends nothing."""
        statements, self.statements = self.statements, []
        if self.connection.vendor != "postgresql" or (not statements and not commit):
            return  # nothing was queued (see rows_deferred); transaction.atomic() commits
        raw = self.connection.connection
        with raw.pipeline():
            cursor = psycopg.Cursor(raw)  # server-side binding: typed arrays go out in binary
            for sql, params in statements:
                cursor.execute(sql, params)
            if commit:
                raw.commit()


@contextlib.contextmanager
def rows_deferred(*, using: str = "default"):
    """Within the block, opted-in writes on PostgreSQL are queued on the returned DeferredWrites (see there)."""
    connection = connections[using]
    if connection.vendor != "postgresql":
        yield DeferredWrites(connection)
        return
    connection.ensure_connection()
    previous = getattr(_local, "pending", None)
    pending = _local.pending = DeferredWrites(connection)
    try:
        yield pending
    finally:
        _local.pending = previous


def _pending(connection) -> DeferredWrites | None:
    pending = getattr(_local, "pending", None)
    return pending if pending is not None and pending.connection is connection else None


def execute_deferred(*, sql: str, params: Sequence[Any], using: str = "default") -> None:
    """Run one statement (PostgreSQL placeholders %s), queued when rows_deferred() is active."""
    connection = connections[using]
    pending = _pending(connection)
    if pending is not None:
        pending.statements.append((sql, params))
        return
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
