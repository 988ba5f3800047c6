from django.db import migrations

from pg_authz.operations import EnableAudit

# The handler of the "Mark shipped" action (shopsite/actions.py): perform_action runs it after its
# checks, as the calling role; the audit trigger makes its bulk UPDATE one entry and one NOTIFY.
MARK_SHIPPED = """
CREATE FUNCTION public.order_mark_shipped(ids text[], params jsonb) RETURNS jsonb
LANGUAGE sql SET search_path = pg_catalog, public AS $$
    WITH changed AS (
        UPDATE public.order_order SET status = 'shipped'
         WHERE id = ANY (ids::bigint[]) AND status <> 'shipped' RETURNING 1)
    SELECT jsonb_build_object('shipped', count(*)) FROM changed
$$
"""


class Migration(migrations.Migration):
    dependencies = [("order", "0002_initial"), ("pg_authz", "0001_initial")]

    operations = [
        EnableAudit("order.Order", channel="orders", updated_at="updated_at"),
        migrations.RunSQL(MARK_SHIPPED, "DROP FUNCTION public.order_mark_shipped(text[], jsonb)"),
    ]
