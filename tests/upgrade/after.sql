-- After the upgrade (and in the fresh install, for comparison): the extension still works. An
-- audited update, an admin action and a denial write the next audit entries, shown as JSON
-- without their time, transaction, id and the
-- rows' updated_at stamps.
\set ON_ERROR_STOP 1
SELECT COALESCE(max(id), 0) AS last_id FROM authz.audit_log \gset
UPDATE shop.orders SET note = 'after the upgrade' WHERE id IN (6, 7);
BEGIN;
DO $$ BEGIN PERFORM authz.set_user('alice'); PERFORM authz.perform_action('shop.Order', 'export', ARRAY['6']); END $$;
COMMIT;
DO $$
BEGIN
    PERFORM authz.set_user('bob');
    PERFORM authz.perform_action('shop.Order', 'export', ARRAY['7']);
    RAISE EXCEPTION 'bob may not export';
EXCEPTION WHEN insufficient_privilege THEN NULL;
END
$$;
SELECT pg_catalog.jsonb_build_object('audit entries written after the upgrade',
           (SELECT pg_catalog.jsonb_agg(pg_catalog.to_jsonb(a) - 'logged_at' - 'xid' - 'id'
                                        || pg_catalog.jsonb_build_object('new_rows',
                                               (SELECT pg_catalog.jsonb_agg(r - 'updated_at')
                                                  FROM pg_catalog.jsonb_array_elements(a.new_rows) r))
                                        ORDER BY a.id)
              FROM authz.audit_log a WHERE a.id > :last_id),
       'first new audit id follows the kept ones', (SELECT min(id) = :last_id + 1 FROM authz.audit_log WHERE id > :last_id));
