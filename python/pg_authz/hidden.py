"""Hidden columns (``"hidden"`` in a ``Protect`` spec) for Django models: reads through the view,
writes to the table.

``authz.protect`` makes a view ``<table>_visible`` that shows each hidden column as NULL, or its
mask, to everyone but the entry's ``unless`` holders and active superusers. The view is for
reading (it is not updatable); the table takes the writes, and its readonly trigger refuses a
change of a hidden column by anyone else (42501). So a model with hidden columns::

    from pg_authz.hidden import HiddenColumnsModel

    class Customer(HiddenColumnsModel):
        name = models.CharField(max_length=100)
        api_key = models.CharField(max_length=64, null=True)

        class Meta(HiddenColumnsModel.Meta):   # keeps base_manager_name
            permissions = [("view_customer_secrets", "See API keys")]

- reads every row through the view: its manager (also the base manager, which related objects
  and ``refresh_from_db`` use) selects ``FROM "<table>_visible" "<table>"``, the view under the
  table's own name, so the rest of Django's SQL is unchanged. Changelists, change forms,
  querysets, ``values()``, aggregates: all see what the database lets the app user see;
- writes to the table, as Django always does (``save``, ``update``, ``delete``, ``bulk_create``
  name the table, never the view), and reads the hidden columns an INSERT returns
  (``db_default`` and generated fields) through the view, since the app role may not read them on
  the table;
- leaves out of ``save()`` the hidden columns the current app user cannot see: their value in the
  instance is the mask, and writing it would overwrite the stored value (the trigger refuses
  it). A holder saves them like any field. An instance read for another app user (a job that
  loads as one user and saves under ``acting_as`` another) writes none of them back. A new row
  of such a user gets the column default in them (give a NOT NULL hidden field a
  ``db_default``); a value given there is refused (42501). On Django 4.2, which has no database
  defaults, leave them at a model default equal to the column's;
- ``update()`` chooses its rows through the view, as reads do (a filter on a hidden column
  matches the mask, never the stored value), and changes them in the table.

``HiddenColumnsAdminMixin`` shows those columns read-only in the admin's change form (a masked
NOT NULL column would otherwise fail validation), with the mask as value.

Joins from another model's queryset (``select_related``, a filter across a relation) name the
table itself: on it the app role may read only the columns that are not hidden, if the DBA
granted it so (README "Hidden columns"); use ``prefetch_related`` for such relations.
"""

import json

from django.db import connections, models, router
from django.db.models import Value
from django.db.models.sql import Query
from django.db.models.sql.datastructures import BaseTable

from pg_authz.identity import current_user_id

try:
    from django.db.models.expressions import DatabaseDefault
except ImportError:  # Django before 5.0 has no database defaults
    DatabaseDefault = None

VIEW_SUFFIX = "_visible"
# PostgreSQL cuts identifiers at NAMEDATALEN - 1 bytes; authz.protect cuts the table's name to
# leave the suffix whole, as PostgreSQL names an index.
MAX_IDENTIFIER_BYTES = 63


def view_name(table):
    """The name of the view ``authz.protect`` generates for ``table`` (unquoted, unqualified)."""
    base = table.encode()[: MAX_IDENTIFIER_BYTES - len(VIEW_SUFFIX)]
    return base.decode(errors="ignore") + VIEW_SUFFIX


class _VisibleTable(BaseTable):
    """``FROM "<table>_visible" "<table>"``: the view under the table's alias."""

    def as_sql(self, compiler, connection):
        if self.table_alias == self.table_name:
            alias = compiler.quote_name_unless_alias(self.table_name)
        else:
            # Django's own aliases (T2, U0) are written unquoted, as Django refers to them.
            alias = self.table_alias
        return f"{connection.ops.quote_name(view_name(self.table_name))} {alias}", []


class VisibleQuery(Query):
    """A query whose base table is read through the view of hidden columns. An UPDATE or DELETE
    made from it (``queryset.update()``) still writes the table: Django names its base table by
    alias, which is the table's name."""

    base_table_class = _VisibleTable


class VisibleQuerySet(models.QuerySet):
    def __init__(self, model=None, query=None, using=None, hints=None):
        super().__init__(model, VisibleQuery(model) if query is None else query, using, hints)

    def update(self, **kwargs):
        """Change the rows this queryset reads, in the table: the rows are chosen through the
        view (a filter on a hidden column matches its mask, as reads do, never the stored
        value), then updated by primary key."""
        if not self.query.where:
            return super().update(**kwargs)
        return models.QuerySet(self.model, using=self._db).filter(pk__in=self.values("pk")).update(**kwargs)

    update.alters_data = True

    def _insert(self, objs, fields, returning_fields=None, raw=False, using=None, **kwargs):
        """Every INSERT of the model (``save``, ``create``, ``bulk_create``): Django reads back a
        field with a database default (``db_default``) or a generated one with RETURNING, but the
        app role may not read a hidden column on the table. Those are read back through the view
        instead, as any read is (the value for holders, the mask for others), never left at what
        the instance held (a ``DatabaseDefault`` that a later ``save()`` would write as DEFAULT)."""
        using = using or self.db
        returning_fields = returning_fields or []
        reads_back = any(not f.primary_key for f in returning_fields)
        hidden = set(hidden_columns(self.model, using)) if reads_back else set()
        kept = [f for f in returning_fields if f.column not in hidden]
        if len(kept) == len(returning_fields):
            return super()._insert(objs, fields, returning_fields or None, raw, using, **kwargs)
        pk = self.model._meta.pk
        if pk not in kept:
            kept.insert(0, pk)
        rows = super()._insert(objs, fields, kept, raw, using, **kwargs) or []
        keys = [row[kept.index(pk)] for row in rows]
        later = [f for f in returning_fields if f not in kept]
        seen = {
            values[0]: values[1:]
            for values in self.model._base_manager.db_manager(using)
            .filter(pk__in=keys)
            .values_list("pk", *(f.attname for f in later))
        }
        for obj in objs:
            obj._pg_authz_read_for = current_user_id()  # its hidden fields: what this user sees
        return [
            # A row the user may add but not see (no view permission) reads back as NULL there.
            tuple(
                row[kept.index(f)] if f in kept else seen.get(key, [None] * len(later))[later.index(f)]
                for f in returning_fields
            )
            for key, row in zip(keys, rows)
        ]

    _insert.alters_data = True
    _insert.queryset_only = False


class VisibleManager(models.Manager.from_queryset(VisibleQuerySet)):
    """The manager of a model with hidden columns: every read goes through the view."""


# The hidden columns of the table's spec, each with whether the current app user sees it masked:
# of each hidden entry, the columns whose ``unless`` the user does not hold (superusers hold all).
_HIDDEN_COLUMNS = """
SELECT coalesce(jsonb_object_agg(h.name, h.masked), '{}')
  FROM (SELECT c.name, bool_and(NOT (authz.is_superuser() OR coalesce(
                (SELECT bool_or(CASE WHEN u LIKE 'group:%%' THEN authz.in_group(substr(u, 7)) ELSE authz.has_perm(u) END)
                   FROM jsonb_array_elements_text(coalesce(e.entry->'unless', '[]')) AS u), false))) AS masked
          FROM authz.protected_relations pr
         CROSS JOIN LATERAL jsonb_array_elements(CASE WHEN jsonb_typeof(pr.spec->'hidden') = 'array'
                                                      THEN pr.spec->'hidden' ELSE '[]' END) AS e(entry)
         CROSS JOIN LATERAL jsonb_array_elements_text(e.entry->'columns') AS c(name)
         WHERE pr.relation = %s::regclass
         GROUP BY c.name) AS h
"""


def hidden_columns(model, using=None):
    """``{column: masked}`` for the hidden columns of ``model``'s table: ``masked`` when the
    current app user sees the mask rather than the value."""
    connection = connections[using or router.db_for_read(model)]
    with connection.cursor() as cursor:
        cursor.execute(_HIDDEN_COLUMNS, [connection.ops.quote_name(model._meta.db_table)])
        value = cursor.fetchone()[0]
    return json.loads(value) if isinstance(value, str) else value


def masked_columns(model, using=None):
    """The columns of ``model``'s table that the current app user sees masked (a set of names)."""
    return {column for column, masked in hidden_columns(model, using).items() if masked}


def masked_fields(model, using=None):
    """The concrete fields of ``model`` that the current app user sees masked."""
    columns = masked_columns(model, using)
    return [f for f in model._meta.concrete_fields if f.column in columns]


class HiddenColumnsModel(models.Model):
    """An abstract model whose reads go through the view of hidden columns and whose writes leave
    alone the hidden columns the current app user cannot see (see the module's doc)."""

    objects = VisibleManager()

    class Meta:
        abstract = True
        base_manager_name = "objects"

    @classmethod
    def from_db(cls, db, field_names, values):
        instance = super().from_db(db, field_names, values)
        # The app user it was read for: its hidden fields hold what that user sees.
        instance._pg_authz_read_for = current_user_id()
        return instance

    def save(self, *args, force_insert=False, update_fields=None, using=None, **kwargs):
        using = using or router.db_for_write(type(self), instance=self)
        masked = masked_fields(type(self), using)
        adding = self._state.adding or force_insert
        if not adding and getattr(self, "_pg_authz_read_for", None) not in (None, current_user_id()):
            # Read for another app user, its hidden fields may hold masks: none is written back.
            hidden = set(hidden_columns(type(self), using))
            masked = [f for f in self._meta.concrete_fields if f.column in hidden]
        if masked and adding and DatabaseDefault is not None:
            # A new row: the hidden columns the user left at their model default get the column
            # default (what the readonly trigger lets anyone insert); a value given is refused.
            left = {}
            for field in masked:
                value = getattr(self, field.attname)
                if not isinstance(value, DatabaseDefault) and value == field.get_default():
                    left[field.attname] = value
                    setattr(self, field.attname, DatabaseDefault(Value(None), output_field=field))
            try:
                return super().save(*args, force_insert=force_insert, update_fields=update_fields, using=using, **kwargs)
            except BaseException:
                # Saved, they hold what the insert read back; not saved, what they held before.
                for attname, value in left.items():
                    setattr(self, attname, value)
                raise
        if masked and not adding:
            names = {name for f in masked for name in (f.name, f.attname)}
            if update_fields is None:
                update_fields = [f.name for f in self._meta.concrete_fields if not f.primary_key and f.name not in names]
            else:
                update_fields = [name for name in update_fields if name not in names]
            if not update_fields:
                return None
        return super().save(*args, force_insert=force_insert, update_fields=update_fields, using=using, **kwargs)


class HiddenColumnsAdminMixin:
    """Put it before ``admin.ModelAdmin``: the hidden columns the admin's user cannot see are
    read-only in the change form (they show the mask)."""

    def get_readonly_fields(self, request, obj=None):
        readonly = list(super().get_readonly_fields(request, obj))
        return readonly + [f.name for f in masked_fields(self.model) if f.name not in readonly]
