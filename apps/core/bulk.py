"""Fast row writes for hot paths (the OCPP group-commit writer), on PostgreSQL and SQLite.

Django's bulk_create and bulk_update build a model instance per row and compile expressions per row and field
(py-spy on the OCPP writer: model __init__ and its signals, CASE WHEN / UNNEST array dumping were most of a batch).
These take plain values instead:

- `rows_insert`: PostgreSQL `COPY … FROM STDIN` (one stream, no per-row statement); elsewhere one executemany INSERT.
- `rows_update`: PostgreSQL one `UPDATE … FROM unnest(typed arrays)` for the whole list; elsewhere one parameterised
  UPDATE per row with executemany.

Values are written as given: no save() signals, no auto_now, no defaults (pass every column the row needs)."""
from __future__ import annotations

from typing import Any, Iterable, Sequence

import ujson
from django.db import connections, router
from django.db.models import JSONField, Model


def _json_text(value: Any) -> str | None:
    # JSONField stores what json.dumps produces; ujson writes the same JSON text, faster.
    return None if value is None else ujson.dumps(value, ensure_ascii=False, escape_forward_slashes=False)


def rows_insert(*, model: type[Model], fields: Sequence[str], rows: Iterable[Sequence[Any]]) -> int:
    """INSERT rows (tuples of attribute values in the order of `fields`, e.g. "station_id" for a foreign key).
    Returns the number of rows written. Primary keys come from the database and are not returned."""
    rows = list(rows)
    if not rows:
        return 0
    connection = connections[router.db_for_write(model)]
    meta = model._meta
    columns = [meta.get_field(name) for name in fields]
    quote = connection.ops.quote_name
    names = ", ".join(quote(c.column) for c in columns)
    if connection.vendor == "postgresql":
        json_at = [i for i, c in enumerate(columns) if isinstance(c, JSONField)]
        # psycopg dumps an Enum by its name; a Django choices member must be stored by its value.
        choice_at = [i for i, c in enumerate(columns) if c.choices]
        with connection.cursor() as cursor, cursor.cursor.copy(
                f"COPY {quote(meta.db_table)} ({names}) FROM STDIN") as copy:
            for row in rows:
                if json_at or choice_at:
                    row = list(row)
                    for i in json_at:
                        row[i] = _json_text(row[i])
                    for i in choice_at:
                        row[i] = getattr(row[i], "value", row[i])
                copy.write_row(row)
        return len(rows)
    sql = f"INSERT INTO {quote(meta.db_table)} ({names}) VALUES ({', '.join(['%s'] * len(columns))})"
    params = [[c.get_db_prep_save(value, connection) for c, value in zip(columns, row, strict=True)] for row in rows]
    with connection.cursor() as cursor:
        cursor.executemany(sql, params)
    return len(rows)


def rows_update(*, objs: Iterable[Any], fields: list[str], model: type[Model] | None = None) -> int:
    """UPDATE each object's `fields` (attribute values as they are, no save() signals, no auto_now) by primary key.
    `objs` are model instances, or any objects with `pk` and those attributes when `model` is given.
    Returns the number of objects sent."""
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
        with connection.cursor() as cursor:
            cursor.execute(sql, arrays)
        return len(objs)
    sql = (f"UPDATE {quote(meta.db_table)} SET " + ", ".join(f"{quote(c.column)} = %s" for c in columns)
           + f" WHERE {quote(meta.pk.column)} = %s")
    params = [[c.get_db_prep_save(getattr(obj, c.attname), connection) for c in columns] + [obj.pk] for obj in objs]
    with connection.cursor() as cursor:
        cursor.executemany(sql, params)
    return len(objs)
