"""Writing single rows on the message path without rebuilding SQL each time.

``Model.objects.create()`` and ``save(update_fields=…)`` compile their SQL
anew on every call: on the send path (an entry, the thread's head and a
workflow item per message) that compilation cost the worker more CPU than
running the statements. These helpers write the same rows with the same
field conversions (``pre_save`` and ``get_db_prep_save`` of every field), but
build each statement once per model, field set and database. They send no
model signals: nothing in Comity listens to them.
"""

from functools import cache
from typing import Any, TypeVar, cast

from django.db import connections, models, router
from django.db.backends.base.base import BaseDatabaseWrapper
from django.db.backends.utils import CursorWrapper

M = TypeVar("M", bound=models.Model)


@cache
def _insert_sql(model: type[models.Model], db: str) -> tuple[str, tuple[models.Field[Any, Any], ...], bool]:
    connection = connections[db]
    returning = connection.features.can_return_columns_from_insert and model._meta.auto_field is not None
    fields = tuple(f for f in model._meta.concrete_fields if not f.generated and f is not model._meta.auto_field)
    quote = connection.ops.quote_name
    table, columns = quote(model._meta.db_table), ", ".join(quote(str(f.column)) for f in fields)
    # Identifiers come from the model's metadata, quoted; values are parameters.
    sql = f"INSERT INTO {table} ({columns}) VALUES ({', '.join(['%s'] * len(fields))})"  # noqa: S608
    if returning:
        sql += f" RETURNING {quote(str(model._meta.auto_field.column))}"  # type: ignore[union-attr]
    return sql, fields, returning


@cache
def _update_sql(
    model: type[models.Model], names: tuple[str, ...], db: str
) -> tuple[str, tuple[models.Field[Any, Any], ...]]:
    connection = connections[db]
    fields = tuple(cast("models.Field[Any, Any]", model._meta.get_field(name)) for name in names)
    quote = connection.ops.quote_name
    assignments = ", ".join(f"{quote(str(f.column))} = %s" for f in fields)
    pk = quote(str(model._meta.pk.column))  # type: ignore[union-attr]
    sql = f"UPDATE {quote(model._meta.db_table)} SET {assignments} WHERE {pk} = %s"  # noqa: S608 - as above
    return sql, fields


def statement_cursor(connection: BaseDatabaseWrapper) -> CursorWrapper:
    """A cursor for a fixed statement run on every message.

    On PostgreSQL it binds parameters on the server, so psycopg prepares the
    statement once per connection (``prepare_threshold`` in the database's
    OPTIONS) and PostgreSQL skips parsing and planning it for every message.
    Elsewhere, and for every other query, Django's usual cursor.
    """
    if connection.vendor != "postgresql":
        return connection.cursor()
    from django.db.backends.postgresql.base import ServerBindingCursor

    connection.ensure_connection()
    return connection._prepare_cursor(ServerBindingCursor(connection.connection))  # type: ignore[attr-defined,call-arg,no-any-return]


def insert_row(instance: M) -> M:
    """INSERT a new ``instance`` (as ``save()`` would) and set its primary key."""
    db = router.db_for_write(type(instance), instance=instance)
    connection = connections[db]
    sql, fields, returning = _insert_sql(type(instance), db)
    params = [f.get_db_prep_save(f.pre_save(instance, True), connection) for f in fields]
    with statement_cursor(connection) as cursor:
        cursor.execute(sql, params)
        if type(instance)._meta.auto_field is not None:
            instance.pk = cursor.fetchone()[0] if returning else cursor.lastrowid
    instance._state.adding, instance._state.db = False, db
    return instance


def update_row(instance: models.Model, names: tuple[str, ...]) -> None:
    """UPDATE the fields ``names`` of a stored ``instance`` (as ``save(update_fields=names)``)."""
    db = instance._state.db or router.db_for_write(type(instance), instance=instance)
    connection = connections[db]
    sql, fields = _update_sql(type(instance), names, db)
    params = [f.get_db_prep_save(getattr(instance, f.attname), connection) for f in fields]
    with statement_cursor(connection) as cursor:
        cursor.execute(sql, [*params, instance._meta.pk.get_db_prep_value(instance.pk, connection)])  # type: ignore[union-attr]


@cache
def _converters(model: type[models.Model], db: str) -> list[tuple[Any, list[Any]]]:
    connection = connections[db]
    columns = [f.get_col(model._meta.db_table) for f in model._meta.concrete_fields]
    return [(col, connection.ops.get_db_converters(col) + col.get_db_converters(connection)) for col in columns]


def select_columns(model: type[models.Model], table_alias: str, db: str) -> str:
    """The column list that :func:`from_row` reads, for a hand-written SELECT."""
    quote = connections[db].ops.quote_name
    return ", ".join(f"{table_alias}.{quote(str(f.column))}" for f in model._meta.concrete_fields)


def from_row(model: type[M], row: tuple[Any, ...], db: str) -> tuple[M, tuple[Any, ...]]:
    """A model instance from the leading columns of a raw ``row``, and the columns after them."""
    connection = connections[db]
    columns = _converters(model, db)
    values = []
    for (col, converters), value in zip(columns, row, strict=False):
        for converter in converters:
            value = converter(value, col, connection)
        values.append(value)
    return model.from_db(db, _attnames(model), values), row[len(columns) :]


@cache
def _attnames(model: type[models.Model]) -> list[str]:
    return [f.attname for f in model._meta.concrete_fields]
