-- Who is asking: authz.set_user is transaction-local by default; request.jwt.claims is the fallback.
-- These tests run as postgres, a superuser: PostgreSQL makes superusers members of every role,
-- so postgres is an authenticator (23_identity_roles shows the other kinds of session).
SELECT pg_has_role('authz_authenticator', 'MEMBER') AS is_authenticator;

-- Nobody is set: current_user_id is NULL and the one-argument has_perm is false.
SELECT authz.current_user_id() AS nobody, authz.has_perm('shop.change_order') AS allowed;

BEGIN;
SELECT authz.set_user('alice');
SELECT authz.current_user_id() AS acting_as, authz.has_perm('shop.change_order') AS allowed;
COMMIT;
-- Transaction-local: gone after commit (and current_setting is '' now, which still means nobody).
SELECT authz.current_user_id() AS after_commit, current_setting('authz.user_id') AS raw_setting;

-- Session-wide when asked.
SELECT authz.set_user('bob', is_local => false);
SELECT authz.current_user_id() AS session_user_id, authz.has_perm('shop.add_order') AS allowed;
SELECT authz.set_user(NULL, is_local => false);
SELECT authz.current_user_id() AS cleared;

-- PostgREST / Supabase: the sub claim of request.jwt.claims.
BEGIN;
SELECT set_config('request.jwt.claims', '{"sub": "alice", "role": "authenticated"}', true);
SELECT authz.current_user_id() AS from_jwt, authz.has_perm('shop.change_order') AS allowed;
-- An explicit set_user wins over the claims.
SELECT authz.set_user('eve');
SELECT authz.current_user_id() AS explicit_wins, authz.has_perm('shop.change_order') AS allowed;
ROLLBACK;

-- Claims that do not name anyone fail closed.
BEGIN;
SELECT set_config('request.jwt.claims', 'not json', true);
SELECT authz.current_user_id() AS unparsable;
SELECT set_config('request.jwt.claims', '{"role": "anon"}', true);
SELECT authz.current_user_id() AS no_sub;
SELECT set_config('request.jwt.claims', '{"sub": ""}', true);
SELECT authz.current_user_id() AS empty_sub;
SELECT set_config('request.jwt.claims', '{"sub": 42}', true);
SELECT authz.current_user_id() AS numeric_sub, authz.has_perm('shop.view_order') AS allowed;
ROLLBACK;

-- An inactive user set as current holds nothing.
BEGIN;
SELECT authz.set_user('carol');
SELECT authz.has_perm('shop.change_order') AS inactive_superuser;
ROLLBACK;
