-- Admin actions hardened after the adversarial review of 2026-12 (issue #16): handler lookup
-- that no search_path can redirect, handlers stored by name, each action checking its own
-- permission row, action_id links, jsonb passed through unchanged, bounded and always-written
-- denials, autonomously audited actions, and the cache trigger kept to the catalogs.
CREATE SCHEMA rev;
CREATE TABLE rev.orders (id bigint PRIMARY KEY, owner_id bigint, status text, note text);
INSERT INTO rev.orders VALUES (1, 1, 'new', NULL), (30, 2, 'new', NULL);
SELECT authz.register_model('rev.Order', 'rev.orders') > 0 AS registered;
SELECT authz.enable_audit('rev.orders');
INSERT INTO authz.users (id, is_staff) VALUES ('rev_u1', true), ('rev_u2', true), ('rev_clerk', true);
CREATE FUNCTION rev.approve(ids text[], params jsonb) RETURNS jsonb LANGUAGE plpgsql AS $$
BEGIN
  IF params ? 'fail' THEN RAISE EXCEPTION 'handler failed'; END IF;
  UPDATE rev.orders SET status = 'approved' WHERE id::text = ANY (ids);
  RETURN jsonb_build_object('n', cardinality(ids));
END $$;
CREATE FUNCTION rev.echo(ids text[], params jsonb) RETURNS jsonb LANGUAGE sql AS $$ SELECT params $$;
-- Shows the params exactly as the handler received them.
CREATE FUNCTION rev.echo_text(ids text[], params jsonb) RETURNS jsonb LANGUAGE sql AS $$ SELECT to_jsonb(params::text) $$;
CREATE FUNCTION rev.export_h(ids text[], params jsonb) RETURNS jsonb LANGUAGE sql AS $$ SELECT jsonb_build_object('exported', ids) $$;
-- An action whose handler writes, runs another action, catches a third one's failure, writes again.
CREATE FUNCTION rev.nested(ids text[], params jsonb) RETURNS jsonb LANGUAGE plpgsql AS $$
BEGIN
  UPDATE rev.orders SET note = 'before' WHERE id = 1;
  PERFORM authz.perform_action('rev.Order', 'echo', NULL, '{}');
  BEGIN
    PERFORM authz.perform_action('rev.Order', 'approve_order', ARRAY['1'], '{"fail": true}');
  EXCEPTION WHEN others THEN NULL;
  END;
  UPDATE rev.orders SET note = 'after' WHERE id = 1;
  RETURN '{}';
END $$;
CREATE FUNCTION rev.gone(ids text[], params jsonb) RETURNS jsonb LANGUAGE sql AS $$ SELECT '{}'::jsonb $$;
SET client_min_messages = warning;
CALL authz.sync_admin_actions($$[
 {"model": "rev.Order", "codename": "approve_order", "name": "Approve", "kind": "server", "scope": "bulk", "handler": "rev.approve"},
 {"model": "rev.Order", "codename": null, "name": "Echo", "kind": "server", "scope": "toolbar", "handler": "rev.echo"},
 {"model": "rev.Order", "codename": null, "name": "Echo text", "kind": "server", "scope": "toolbar", "handler": "rev.echo_text(text[], jsonb)"},
 {"model": "rev.Order", "codename": null, "name": "Nested", "kind": "server", "scope": "toolbar", "handler": "rev.nested"},
 {"model": "rev.Order", "codename": null, "name": "Gone", "kind": "server", "scope": "toolbar", "handler": "rev.gone"}
]$$);
RESET client_min_messages;
INSERT INTO authz.user_permissions SELECT 'rev_u1', id FROM authz.permissions WHERE codename = 'approve_order';

-- 1. The handler is stored by name, as the canonical signature (no oid: pg_upgrade refuses
-- regprocedure columns, and oids do not survive dump/restore), and no extension table has a
-- reg* column other than regclass, regrole or regtype.
SELECT key, handler, audit FROM authz.actions a JOIN authz.content_types ct ON ct.id = a.content_type_id
 WHERE ct.app_label = 'rev' ORDER BY position;
SELECT c.relname, a.attname, a.atttypid::regtype
  FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid
 WHERE c.relnamespace = 'authz'::regnamespace AND a.attnum > 0 AND NOT a.attisdropped
   AND a.atttypid::regtype::text LIKE 'reg%' AND a.atttypid NOT IN ('regclass'::regtype, 'regrole'::regtype, 'regtype'::regtype);

-- 1. An operator planted on the caller's search_path cannot redirect the handler lookup: an
-- exact-match =(oid, regprocedure) that maps echo to approve (pg_catalog has none, so it
-- used to win) changes nothing. rev_u2 may not approve, and echo stays echo.
CREATE SCHEMA rev_evil;
CREATE FUNCTION rev_evil.evil_eq(oid, regprocedure) RETURNS boolean LANGUAGE sql AS $$
  SELECT CASE WHEN $2::oid = 'rev.echo(text[],jsonb)'::regprocedure::oid
              THEN $1 = 'rev.approve(text[],jsonb)'::regprocedure::oid
              ELSE $1 = $2::oid END $$;
CREATE OPERATOR rev_evil.= (LEFTARG = oid, RIGHTARG = regprocedure, FUNCTION = rev_evil.evil_eq);
BEGIN;
SET LOCAL search_path = rev_evil, public;
SELECT authz.set_user('rev_u2');
SELECT authz.has_perm('rev.approve_order') AS may_approve;
SELECT authz.perform_action('rev.Order', 'echo', ARRAY['30'], '{"echoed": true}') -> 'result' AS echo_result;
COMMIT;
SELECT id, status FROM rev.orders WHERE id = 30;
SELECT operation, action, row_ids FROM authz.audit_log WHERE model = 'rev.order' OR relation = 'rev.orders' ORDER BY id;
DROP SCHEMA rev_evil CASCADE;

-- 1. A handler that no longer exists is P0002; recreated under the same name (as after a
-- dump and restore, with a new oid), it is found again.
DROP FUNCTION rev.gone(text[], jsonb);
BEGIN;
SELECT authz.set_user('rev_u1');
SELECT authz.perform_action('rev.Order', 'gone', NULL);
\echo :LAST_ERROR_SQLSTATE
ROLLBACK;
CREATE FUNCTION rev.gone(ids text[], params jsonb) RETURNS jsonb LANGUAGE sql AS $$ SELECT '"back"'::jsonb $$;
BEGIN;
SELECT authz.set_user('rev_u1');
SELECT authz.perform_action('rev.Order', 'gone', NULL) -> 'result' AS recreated;
ROLLBACK;

-- 14. A malformed handler name is refused like every other field: 22023 naming it.
CALL authz.sync_admin_actions('[{"model": "rev.Order", "codename": null, "name": "X", "kind": "server", "scope": "bulk", "handler": "rev.approve("}]');
\echo :LAST_ERROR_SQLSTATE
CALL authz.sync_admin_actions('[{"model": "rev.Order", "codename": null, "name": "X", "kind": "server", "scope": "bulk", "handler": "approve"}]');
\echo :LAST_ERROR_SQLSTATE
CALL authz.sync_admin_actions('[{"model": "rev.Order", "codename": null, "name": "X", "kind": "server", "scope": "bulk", "handler": "rev.approve", "audit": "sometimes"}]');
\echo :LAST_ERROR_SQLSTATE

-- 2. The same codename on two models of one app is two permissions, and each action checks
-- its own: a grant of export on rev.Customer does not open export on rev.Order. Syncing such
-- declarations warns that has_perm('rev.export'), which compares strings as Django does,
-- holds for a grant of either. Exports are audited autonomously (see 8 below).
SELECT authz.sync_admin_actions_report($$[
 {"model": "rev.Customer", "codename": "export", "name": "Export customers", "kind": "server", "scope": "bulk", "handler": "rev.export_h", "audit": "autonomous"},
 {"model": "rev.Order", "codename": "export", "name": "Export orders", "kind": "server", "scope": "bulk", "handler": "rev.export_h", "audit": "autonomous"}
]$$) -> 'permissions_created' AS permissions_created;
INSERT INTO authz.user_permissions SELECT 'rev_clerk', p.id FROM authz.permissions p
  JOIN authz.content_types ct ON ct.id = p.content_type_id
 WHERE ct.app_label = 'rev' AND ct.model = 'customer' AND p.codename = 'export';
SELECT m AS model, a ->> 'allowed' AS export_allowed
  FROM unnest(ARRAY['rev.Customer', 'rev.Order']) m,
       jsonb_array_elements(authz.allowed_actions('rev_clerk', m)) a
 WHERE a ->> 'key' = 'export';
BEGIN;
SELECT authz.set_user('rev_clerk');
SELECT authz.perform_action('rev.Order', 'export', ARRAY['1', '2']);
\echo :LAST_ERROR_SQLSTATE
ROLLBACK;
SELECT authz.has_perm('rev_clerk', 'rev.export') AS string_check_holds;

-- 8. An action declared "audit": "autonomous" keeps its entry when the caller rolls back
-- (the export's data reached the client all the same); a transactional one does not.
BEGIN;
SELECT authz.set_user('rev_clerk');
SAVEPOINT s;
SELECT authz.perform_action('rev.Customer', 'export', ARRAY['1', '2', '3']) -> 'result' AS exported;
ROLLBACK TO s;
COMMIT;
BEGIN;
SELECT authz.set_user('rev_u1');
SELECT authz.perform_action('rev.Order', 'echo', NULL, '{"rolled": "back"}') -> 'result' AS echoed;
ROLLBACK;
SELECT operation, model, action, app_user, row_ids, outcome FROM authz.audit_log
 WHERE action IN ('export', 'echo') AND model IN ('rev.customer', 'rev.order') ORDER BY id;

-- 10. action_id links: a caught handler error leaves later plain writes unlinked; inside a
-- handler, writes after a nested perform_action (and after a nested one that failed and was
-- caught) stay linked to the outer action.
BEGIN;
SELECT authz.set_user('rev_u1');
DO $$ BEGIN
  BEGIN
    PERFORM authz.perform_action('rev.Order', 'approve_order', ARRAY['1'], '{"fail": true}');
  EXCEPTION WHEN others THEN NULL;
  END;
END $$;
UPDATE rev.orders SET note = 'plain write, not an action' WHERE id = 1;
COMMIT;
SELECT operation, changed_columns, action_id FROM authz.audit_log WHERE relation = 'rev.orders' ORDER BY id DESC LIMIT 1;
BEGIN;
SELECT authz.set_user('rev_u1');
SELECT authz.perform_action('rev.Order', 'nested', NULL) -> 'action' AS ran;
COMMIT;
SELECT w.operation, w.row_ids, a.action AS linked_to
  FROM authz.audit_log w LEFT JOIN authz.audit_log a ON a.id = w.action_id
 WHERE w.relation = 'rev.orders' ORDER BY w.id DESC LIMIT 2;

-- 14. jsonb reaches the handler, the result and the log exactly as sent: numbers beyond f64
-- and high-precision numbers unrounded, nesting deeper than serde's 128 levels.
BEGIN;
SELECT authz.set_user('rev_u1');
SELECT authz.perform_action('rev.Order', 'echo_text', NULL,
  '{"amount": 12345678901234567890123456789, "p": 0.1000000000000000000001, "q": 9007199254740993.5}') -> 'result' AS handler_received;
SELECT authz.perform_action('rev.Order', 'echo', NULL, '{"a": 1e400}') -> 'result' -> 'a' = '1e400'::jsonb AS huge_number_intact;
SELECT authz.perform_action('rev.Order', 'echo', NULL, (repeat('[', 200) || repeat(']', 200))::jsonb) -> 'result'
       = (repeat('[', 200) || repeat(']', 200))::jsonb AS deep_result_intact;
COMMIT;
SELECT params FROM authz.audit_log WHERE action = 'echo_text' ORDER BY id DESC LIMIT 1;
-- Documents pg_authz must read itself refuse what it cannot represent with 22023, not XX000.
CALL authz.sync_admin_actions((repeat('[', 200) || repeat(']', 200))::jsonb);
\echo :LAST_ERROR_SQLSTATE
SELECT authz.protect('rev.orders', (repeat('[', 200) || repeat(']', 200))::jsonb, true);
\echo :LAST_ERROR_SQLSTATE

-- 7. Denials are written whatever the params: nested 127 and 130 deep, a number beyond f64
-- (the last two used to fail with XX000 before any check). Only SQLSTATEs are shown here.
\set VERBOSITY sqlstate
SELECT authz.perform_action('rev.Order', 'approve_order', ARRAY['1'], (repeat('[', 127) || repeat(']', 127))::jsonb);
SELECT authz.perform_action('rev.Order', 'approve_order', ARRAY['1'], (repeat('[', 130) || repeat(']', 130))::jsonb);
SELECT authz.perform_action('rev.Order', 'approve_order', ARRAY['1'], '{"a": 1e400}');
\set VERBOSITY default
SELECT operation, app_user, jsonb_typeof(params) AS params,
       params IN ((repeat('[', 127) || repeat(']', 127))::jsonb, (repeat('[', 130) || repeat(']', 130))::jsonb,
                  '{"a": 1e400}') AS params_as_sent, outcome
  FROM authz.audit_log WHERE operation = 'DENIED' AND model = 'rev.order' ORDER BY id DESC LIMIT 3;

-- 9. What a refused call records is bounded: the first 100 ids, their count and a sha256 of
-- all ids as a compact JSON array; params over 8 kB become their size and the sha256 of their text.
SELECT authz.perform_action('rev.Order', 'approve_order',
  (SELECT array_agg(i::text) FROM generate_series(1, 100000) i),
  jsonb_build_object('blob', repeat('A', 1000000)));
\echo :LAST_ERROR_SQLSTATE
SELECT row_count, cardinality(row_ids) AS ids_kept, row_ids[100] AS last_kept,
       outcome ->> 'ids_omitted' AS ids_omitted,
       outcome ->> 'ids_sha256' = encode(sha256(convert_to(
         (SELECT array_to_json(array_agg(i::text))::text FROM generate_series(1, 100000) i), 'UTF8')), 'hex') AS ids_digest_matches,
       params ->> 'omitted_bytes' AS params_bytes,
       params ->> 'sha256' = encode(sha256(convert_to(jsonb_build_object('blob', repeat('A', 1000000))::text, 'UTF8')), 'hex') AS params_digest_matches,
       pg_column_size(l.*) < 4000 AS entry_is_small
  FROM authz.audit_log l WHERE operation = 'DENIED' ORDER BY id DESC LIMIT 1;

-- 15. authz.catalog_changed() is the catalogs' trigger only: PUBLIC cannot execute it (so no
-- role can attach it to a table of its own), and a direct call is 39P01, not XX000.
SELECT has_function_privilege('regress_app', 'authz.catalog_changed()', 'EXECUTE') AS public_may_execute;
BEGIN;
SET LOCAL ROLE regress_app;
CREATE TEMP TABLE spam (x int);
CREATE TRIGGER inval AFTER INSERT ON spam FOR EACH STATEMENT EXECUTE FUNCTION authz.catalog_changed();
\echo :LAST_ERROR_SQLSTATE
ROLLBACK;
SELECT authz.catalog_changed();
\echo :LAST_ERROR_SQLSTATE

-- Second review (rev-a), finding 2. A refused call stays small whatever the caller sends:
-- each id is kept up to 64 bytes ("…" marks a cut, ids_cut counts them, ids_sha256 covers
-- all ids as sent), and a user id up to 256 bytes, in the entry and in the error message,
-- with its size and sha256 in the outcome. Here 100 ids of 100 kB and a 1 MB user id.
SELECT authz.perform_action('rev.Order', 'approve_order',
  ARRAY(SELECT repeat(chr(64 + j), 100000) FROM generate_series(1, 100) j));
\echo :LAST_ERROR_SQLSTATE
SELECT cardinality(row_ids) AS ids_kept, row_ids[1] = repeat('A', 64) || '…' AS first_id_cut_to_64_bytes,
       outcome ->> 'ids_cut' AS ids_cut,
       outcome ->> 'ids_sha256' = encode(sha256(convert_to(
         (SELECT array_to_json(array_agg(repeat(chr(64 + j), 100000) ORDER BY j))::text FROM generate_series(1, 100) j), 'UTF8')), 'hex') AS ids_digest_matches,
       pg_column_size(l.*) < 16384 AS entry_is_small
  FROM authz.audit_log l WHERE operation = 'DENIED' ORDER BY id DESC LIMIT 1;
BEGIN;
SELECT authz.set_user(repeat('u', 1000000));
SELECT authz.perform_action('rev.Order', 'approve_order', ARRAY['1']);
ROLLBACK;
SELECT length(app_user) AS app_user_chars, outcome ->> 'app_user_bytes' AS app_user_bytes,
       outcome ->> 'app_user_sha256' = encode(sha256(convert_to(repeat('u', 1000000), 'UTF8')), 'hex') AS user_digest_matches,
       length(outcome ->> 'reason') AS reason_chars, pg_column_size(l.*) < 16384 AS entry_is_small
  FROM authz.audit_log l WHERE operation = 'DENIED' ORDER BY id DESC LIMIT 1;

-- Second review, finding 3. A handler in a temporary schema (this session's, or another's)
-- is refused at sync, 22023: whoever gets that schema next could define the function. An
-- action that names one anyway (a catalog edited by hand) is refused at call time.
CREATE FUNCTION pg_temp.th(ids text[], params jsonb) RETURNS jsonb LANGUAGE sql AS $$ SELECT '0'::jsonb $$;
DO $$
BEGIN
  PERFORM authz.sync_admin_actions_report(jsonb_build_array(jsonb_build_object(
    'model', 'rev.Order', 'codename', NULL, 'name', 'TH', 'kind', 'server', 'scope', 'toolbar',
    'handler', pg_my_temp_schema()::regnamespace::text || '.th')));
EXCEPTION WHEN others THEN
  RAISE NOTICE '% %', SQLSTATE, replace(SQLERRM, pg_my_temp_schema()::regnamespace::text, 'pg_temp_N');
END $$;
BEGIN;
UPDATE authz.actions SET handler = format('%s.th(text[],jsonb)', pg_my_temp_schema()::regnamespace) WHERE key = 'echo';
SELECT authz.set_user('rev_u1');
DO $$
BEGIN
  PERFORM authz.perform_action('rev.Order', 'echo', NULL);
EXCEPTION WHEN others THEN
  RAISE NOTICE '% %', SQLSTATE, replace(SQLERRM, pg_my_temp_schema()::regnamespace::text, 'pg_temp_N');
END $$;
ROLLBACK;
DROP FUNCTION pg_temp.th(text[], jsonb);

-- Second review, finding 6. The handler is called by the oid its stored signature resolves
-- to: an overload of the same name with a defaulted third argument does not make the call
-- ambiguous (was 42725). Re-created with another return type it is 22023 naming it (was
-- XX000); a set-returning function is refused at sync. The caller needs EXECUTE on it, as
-- for any function it calls.
CREATE FUNCTION rev.h2(ids text[], params jsonb) RETURNS jsonb LANGUAGE sql AS $$ SELECT '"exact"'::jsonb $$;
SET client_min_messages = warning;
CALL authz.sync_admin_actions($$[
 {"model": "rev.Order", "codename": null, "name": "H2", "kind": "server", "scope": "toolbar", "handler": "rev.h2"}
]$$);
RESET client_min_messages;
CREATE FUNCTION rev.h2(ids text[], params jsonb, extra int DEFAULT 0) RETURNS jsonb LANGUAGE sql AS $$ SELECT '"overload"'::jsonb $$;
BEGIN;
SELECT authz.set_user('rev_u1');
SELECT authz.perform_action('rev.Order', 'h2', NULL) -> 'result' AS called;
ROLLBACK;
DROP FUNCTION rev.h2(text[], jsonb, int);
REVOKE EXECUTE ON FUNCTION rev.h2(text[], jsonb) FROM PUBLIC;
GRANT USAGE ON SCHEMA rev TO regress_app;
BEGIN;
SET LOCAL ROLE regress_app;
SELECT authz.set_user('rev_u1');
SELECT authz.perform_action('rev.Order', 'h2', NULL);
\echo :LAST_ERROR_SQLSTATE
ROLLBACK;
REVOKE USAGE ON SCHEMA rev FROM regress_app;
DROP FUNCTION rev.h2(text[], jsonb);
CREATE FUNCTION rev.h2(ids text[], params jsonb) RETURNS int LANGUAGE sql AS $$ SELECT 1 $$;
BEGIN;
SELECT authz.set_user('rev_u1');
SELECT authz.perform_action('rev.Order', 'h2', NULL);
\echo :LAST_ERROR_SQLSTATE
ROLLBACK;
DROP FUNCTION rev.h2(text[], jsonb);
CREATE FUNCTION rev.h2(ids text[], params jsonb) RETURNS SETOF jsonb LANGUAGE sql AS $$ SELECT '1'::jsonb $$;
CALL authz.sync_admin_actions('[{"model": "rev.Order", "codename": null, "name": "H2", "kind": "server", "scope": "toolbar", "handler": "rev.h2"}]');
\echo :LAST_ERROR_SQLSTATE
DROP FUNCTION rev.h2(text[], jsonb);

-- Second review, finding 8. Handler names are read as PostgreSQL reads them: non-ASCII
-- identifiers, and any spelling of the argument types its parser accepts, stored canonically.
-- An argument list naming another function, or one PostgreSQL cannot read, is refused.
CREATE FUNCTION rev.café(ids text[], params jsonb) RETURNS jsonb LANGUAGE sql AS $$ SELECT '"café"'::jsonb $$;
SELECT authz.sync_admin_actions_report($$[
 {"model": "rev.Cafe", "codename": null, "name": "A", "kind": "server", "scope": "toolbar", "handler": "rev.café"},
 {"model": "rev.Cafe", "codename": null, "name": "B", "kind": "server", "scope": "toolbar", "handler": "rev.approve(_text, jsonb)"},
 {"model": "rev.Cafe", "codename": null, "name": "C", "kind": "server", "scope": "toolbar", "handler": "rev.approve(pg_catalog.text[], pg_catalog.jsonb)"},
 {"model": "rev.Cafe", "codename": null, "name": "D", "kind": "server", "scope": "toolbar", "handler": "rev . \"approve\" ( text ARRAY , \"jsonb\" )"}
]$$) -> 'created' AS created;
SELECT key, handler FROM authz.actions a JOIN authz.content_types ct ON ct.id = a.content_type_id
 WHERE ct.app_label = 'rev' AND ct.model = 'cafe' ORDER BY position;
CALL authz.sync_admin_actions('[{"model": "rev.Cafe", "codename": null, "name": "E", "kind": "server", "scope": "toolbar", "handler": "rev.approve(text, jsonb)"}]');
\echo :LAST_ERROR_SQLSTATE
CALL authz.sync_admin_actions('[{"model": "rev.Cafe", "codename": null, "name": "E", "kind": "server", "scope": "toolbar", "handler": "rev.approve(text[], jsonb"}]');
\echo :LAST_ERROR_SQLSTATE
CALL authz.sync_admin_actions('[{"model": "rev.Cafe", "codename": null, "name": "E", "kind": "server", "scope": "toolbar", "handler": "rev.café(text[], no_such_type)"}]');
\echo :LAST_ERROR_SQLSTATE

-- Second review, finding 7. Row images keep every value exactly, as params do: a jsonb
-- column holding 1e400 or nesting 200 deep (was XX000 on the user's INSERT), and a numeric
-- beyond f64 precision (was rounded).
CREATE TABLE rev.docs (id bigint PRIMARY KEY, doc jsonb, amount numeric);
SELECT authz.enable_audit('rev.docs', row_images => true);
INSERT INTO rev.docs VALUES (1, '{"a": 1e400}', 1);
INSERT INTO rev.docs VALUES (2, (repeat('[', 200) || repeat(']', 200))::jsonb, 1);
INSERT INTO rev.docs VALUES (3, '{}', 12345678901234567890.123456789);
UPDATE rev.docs SET amount = 0.1000000000000000000001 WHERE id = 3;
SELECT l.operation, l.row_ids, l.new_rows -> 0 -> 'doc' = d.doc AS doc_exact,
       l.old_rows -> 0 -> 'amount' AS old_amount, l.new_rows -> 0 -> 'amount' AS new_amount
  FROM authz.audit_log l JOIN rev.docs d ON d.id = l.row_ids[1]::bigint
 WHERE l.relation = 'rev.docs' ORDER BY l.id;
SELECT authz.disable_audit('rev.docs');

-- Second review, finding 4. Under REPEATABLE READ the cache outlives each transaction, as
-- under READ COMMITTED, unless its snapshot predates a change already seen (integration
-- tests, freshness.rs): three more checks cost no catalog load.
SET default_transaction_isolation = 'repeatable read';
SELECT authz.has_perm('rev_u1', 'rev.approve_order');
SELECT (authz.cache_stats() ->> 'loads')::int AS loads_before \gset
SELECT authz.has_perm('rev_u1', 'rev.approve_order');
SELECT authz.has_perm('rev_u1', 'rev.approve_order');
SELECT authz.has_perm('rev_u1', 'rev.approve_order');
SELECT (authz.cache_stats() ->> 'loads')::int - :loads_before AS loads_after;
RESET default_transaction_isolation;

SELECT authz.disable_audit('rev.orders');
SET client_min_messages = warning;
DROP SCHEMA rev CASCADE;
RESET client_min_messages;
