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
  name the table, never the view);
- leaves out of ``save()`` the hidden columns the current app user cannot see: their value in the
  instance is the mask, and writing it would overwrite the stored value (the trigger refuses
  it). A holder saves them like any field.

``HiddenColumnsAdminMixin`` shows those columns read-only in the admin's change form (a masked
NOT NULL column would otherwise fail validation), with the mask as value.

Joins from another model's queryset (``select_related``, a filter across a relation) name the
table itself: on it the app role may read only the columns that are not hidden, if the DBA
granted it so (README "Hidden columns"); use ``prefetch_related`` for such relations.
"""

from django.db import connections, models, router
from django.db.models.sql import Query
from django.db.models.sql.datastructures import BaseTable

VIEW_SUFFIX = "_visible"
# PostgreSQL cuts identifiers at NAMEDATALEN - 1 bytes, as authz.protect names the view.
MAX_IDENTIFIER_BYTES = 63


def view_name(table):
    """The name of the view ``authz.protect`` generates for ``table`` (unquoted, unqualified)."""
    name = (table + VIEW_SUFFIX).encode()[:MAX_IDENTIFIER_BYTES]
    return name.decode(errors="ignore")


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


class VisibleManager(models.Manager.from_queryset(VisibleQuerySet)):
    """The manager of a model with hidden columns: every read goes through the view."""


# The hidden columns the current app user cannot see: of each hidden entry of the table's spec,
# the columns whose ``unless`` the user does not hold (superusers hold every entry).
_MASKED_COLUMNS = """
SELECT coalesce(array_agg(DISTINCT c.name), '{}')
  FROM authz.protected_relations pr
 CROSS JOIN LATERAL jsonb_array_elements(CASE WHEN jsonb_typeof(pr.spec->'hidden') = 'array'
                                              THEN pr.spec->'hidden' ELSE '[]' END) AS e(entry)
 CROSS JOIN LATERAL jsonb_array_elements_text(e.entry->'columns') AS c(name)
 WHERE pr.relation = %s::regclass
   AND NOT (authz.is_superuser() OR coalesce(
        (SELECT bool_or(CASE WHEN u LIKE 'group:%%' THEN authz.in_group(substr(u, 7)) ELSE authz.has_perm(u) END)
           FROM jsonb_array_elements_text(coalesce(e.entry->'unless', '[]')) AS u), false))
"""


def masked_columns(model, using=None):
    """The columns of ``model``'s table that the current app user sees masked (a set of names)."""
    connection = connections[using or router.db_for_read(model)]
    with connection.cursor() as cursor:
        cursor.execute(_MASKED_COLUMNS, [connection.ops.quote_name(model._meta.db_table)])
        return set(cursor.fetchone()[0])


def masked_fields(model, using=None):
    """The concrete fields of ``model`` that the current app user sees masked."""
    columns = masked_columns(model, using)
    return [f for f in model._meta.concrete_fields if f.column in columns]


class HiddenColumnsModel(models.Model):
    """An abstract model whose reads go through the view of hidden columns and whose ``save()``
    leaves out the hidden columns the current app user cannot see (see the module's doc)."""

    objects = VisibleManager()

    class Meta:
        abstract = True
        base_manager_name = "objects"

    def save(self, *args, force_insert=False, update_fields=None, using=None, **kwargs):
        adding = self._state.adding or force_insert
        if not adding:
            using = using or router.db_for_write(type(self), instance=self)
            masked = {name for f in masked_fields(type(self), using) for name in (f.name, f.attname)}
            if masked:
                if update_fields is None:
                    update_fields = [
                        f.name for f in self._meta.concrete_fields if not f.primary_key and f.name not in masked
                    ]
                else:
                    update_fields = [name for name in update_fields if name not in masked]
                if not update_fields:
                    return
        super().save(*args, force_insert=force_insert, update_fields=update_fields, using=using, **kwargs)


class HiddenColumnsAdminMixin:
    """Put it before ``admin.ModelAdmin``: the hidden columns the admin's user cannot see are
    read-only in the change form (they show the mask)."""

    def get_readonly_fields(self, request, obj=None):
        readonly = list(super().get_readonly_fields(request, obj))
        return readonly + [f.name for f in masked_fields(self.model) if f.name not in readonly]
