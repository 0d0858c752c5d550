"""Fast row updates for hot paths. Django's bulk_update builds a CASE WHEN per row and field (its expression
compilation dominated the OCPP group-commit batch: ~0.25 s for 100 sessions); one parameterised UPDATE per row sent
with executemany (psycopg 3 pipelines it) does the same work in a few milliseconds, on PostgreSQL and SQLite."""
from __future__ import annotations

from typing import Iterable

from django.db import connections, router
from django.db.models import Model


def rows_update(*, objs: Iterable[Model], fields: list[str]) -> int:
    """UPDATE each object's `fields` (attribute values as they are, no save() signals, no auto_now) by primary key.
    Returns the number of objects sent."""
    objs = list(objs)
    if not objs:
        return 0
    model = type(objs[0])
    connection = connections[router.db_for_write(model)]
    meta = model._meta
    columns = [meta.get_field(name) for name in fields]
    quote = connection.ops.quote_name
    sql = (f"UPDATE {quote(meta.db_table)} SET " + ", ".join(f"{quote(c.column)} = %s" for c in columns)
           + f" WHERE {quote(meta.pk.column)} = %s")
    params = [[c.get_db_prep_save(getattr(obj, c.attname), connection) for c in columns] + [obj.pk] for obj in objs]
    with connection.cursor() as cursor:
        cursor.executemany(sql, params)
    return len(objs)
