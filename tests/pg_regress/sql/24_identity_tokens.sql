-- Signed tokens (issue #10): authz.set_user_token verifies a compact JWT against authz.jwt_keys
-- and acts as its sub, from any role that is not bound. The key is chosen by the header's kid
-- and fixes the algorithm. Bad tokens: 28000 and no identity. Tokens below come from
-- tests/pg_regress/tools/make_tokens.py (deterministic signatures, test keys only).
\set hs_secret 'regress-secret-0123456789-abcdefghij'
\set ed_public '-----BEGIN PUBLIC KEY-----\nMCowBQYDK2VwAyEAA6EHv/POEL4dcN0Y50vAmWfk1jCbpQ1fHdyGZBJVMbg=\n-----END PUBLIC KEY-----'
\set rs_public '-----BEGIN PUBLIC KEY-----\nMIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8AMIIBCgKCAQEAuYimhmZwcg/GKP3OnQG7\nIbJn80lC9awjudrAEidAyqkN653op+zi91pOJ45DGF4tNkvq0gllP7EOH8wYufJo\nDRwWdFLWkNp8IqC/0SStmspRVgd9ot9F5f7ZtHfBgPGxLEBMck9wWzGaR2azqnxg\n38WW0oVqGhjX3ZlDfMUgkCfVnpVp97X692JcQxAyw5/nptc2vmuEVB1u9CSJ3h2e\nxboD2tHWBig/yjnkJZqmbYu3V3TSQcvVcbRjcE/SOhfLL7AFppQWvatLJMRtf9UB\nLwSTKg3mZYvJ98X1L+17M48xmHEMrE5gZkwMb/+TDt4TdIaIulqaabuaD53Oh/1l\n7wIDAQAB\n-----END PUBLIC KEY-----'
\set hs_ann 'eyJhbGciOiJIUzI1NiIsImtpZCI6ImhzIiwidHlwIjoiSldUIn0.eyJzdWIiOiJhbm4iLCJleHAiOjQxMDI0NDQ4MDB9.gt4q2EJKXvSrM_eZbE7z4muEdECZoMnTOhJWH_egnIw'
\set hs_numeric 'eyJhbGciOiJIUzI1NiIsImtpZCI6ImhzIiwidHlwIjoiSldUIn0.eyJzdWIiOjQyLCJleHAiOjQxMDI0NDQ4MDAsImlhdCI6MTcwMDAwMDAwMH0.r9RN50pjpJ0mIJQbTbIZDO6jOmmEGrw_V4dntG1DHgQ'
\set ed_ben 'eyJhbGciOiJFZERTQSIsImtpZCI6ImVkIiwidHlwIjoiSldUIn0.eyJzdWIiOiJiZW4iLCJleHAiOjQxMDI0NDQ4MDAsImlzcyI6Imh0dHBzOi8vbG9naW4uZXhhbXBsZSIsImF1ZCI6WyJzaG9wIiwib3RoZXIiXX0.rV7c4TTAtbx5KX7Fq-iH7LIglRC_tThdE2l4fyP37wsb1FYLxSyo_kKZH_Ji3hV0j3-HLOMq53MMb83-fz3GCg'
\set expired 'eyJhbGciOiJIUzI1NiIsImtpZCI6ImhzIiwidHlwIjoiSldUIn0.eyJzdWIiOiJhbm4iLCJleHAiOjEwMDAwMDAwMDB9.dDFpZKSvHHFZl166jsO1GHM_mGCSyKUOrC9W9cyfh1M'
\set not_yet 'eyJhbGciOiJIUzI1NiIsImtpZCI6ImhzIiwidHlwIjoiSldUIn0.eyJzdWIiOiJhbm4iLCJleHAiOjQxMDI0NDQ4MDAsIm5iZiI6NDAwMDAwMDAwMH0.fgWnRUKYOuX1lh_SLgu2Rjd0A72KApqdGzsur48_3Rw'
\set future_iat 'eyJhbGciOiJIUzI1NiIsImtpZCI6ImhzIiwidHlwIjoiSldUIn0.eyJzdWIiOiJhbm4iLCJleHAiOjQxMDI0NDQ4MDAsImlhdCI6NDAwMDAwMDAwMH0.BhvUCeiKiyobKRkUQ9G-AVc30TKIEjbLE5gOySfjGmY'
\set no_exp 'eyJhbGciOiJIUzI1NiIsImtpZCI6ImhzIiwidHlwIjoiSldUIn0.eyJzdWIiOiJhbm4ifQ.92pG_Vbwor1Zb2smXINifvUdfbwC8r2eAvo5NPd6kYs'
\set no_sub 'eyJhbGciOiJIUzI1NiIsImtpZCI6ImhzIiwidHlwIjoiSldUIn0.eyJleHAiOjQxMDI0NDQ4MDB9.RwyromSbCXMP2wvzAyAaJCfiiyj-z0WUndczNhZtwHM'
\set nul_sub 'eyJhbGciOiJIUzI1NiIsImtpZCI6ImhzIiwidHlwIjoiSldUIn0.eyJzdWIiOiI5OVx1MDAwMGp1bmsiLCJleHAiOjQxMDI0NDQ4MDB9.ZUmJnprlONoGzgnpnf26ANVMUE3QO9KZ2PxctdpSpU4'
\set tampered 'eyJhbGciOiJIUzI1NiIsImtpZCI6ImhzIiwidHlwIjoiSldUIn0.eyJzdWIiOiJyb290IiwiZXhwIjo0MTAyNDQ0ODAwfQ.gt4q2EJKXvSrM_eZbE7z4muEdECZoMnTOhJWH_egnIw'
\set unknown_kid 'eyJhbGciOiJIUzI1NiIsImtpZCI6Im5vcGUifQ.eyJzdWIiOiJhbm4iLCJleHAiOjQxMDI0NDQ4MDB9.HFp_ovnD3dNJsFf6TkA2l575-lia1Sxkwh3uaOCFzpk'
\set no_kid 'eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJhbm4iLCJleHAiOjQxMDI0NDQ4MDB9.RkNPpSCIz8wvgEEzG5x0XlujBgN7RvbcpBVUBmi_pos'
\set alg_none 'eyJhbGciOiJub25lIiwia2lkIjoiaHMifQ.eyJzdWIiOiJyb290IiwiZXhwIjo0MTAyNDQ0ODAwfQ.'
\set alg_confusion 'eyJhbGciOiJIUzI1NiIsImtpZCI6ImVkIn0.eyJzdWIiOiJyb290IiwiZXhwIjo0MTAyNDQ0ODAwLCJpc3MiOiJodHRwczovL2xvZ2luLmV4YW1wbGUiLCJhdWQiOiJzaG9wIn0.unn_RQcvfodasQpdvWfLqjN_PYhiJonnAwCPCZ7H7p0'
\set rs_carol 'eyJhbGciOiJSUzI1NiIsImtpZCI6InJzIn0.eyJzdWIiOiJjYXJvbCIsImV4cCI6NDEwMjQ0NDgwMH0.Ddpn8LtExb4HMWbdq6ADBBuJiz8yXKMccg42089Vu0i9xrxTzwJukKmCep3-c6nCT7bqvRgUkrb_bDb-JsTnH_XthLxCFMic1xFLGTeIuBGDAMjXyHDNhW5abFpC1Ba-hFumVZ1W9l5dPFRmQ1tsrft19n5EchNZakAOw57TvTfSLEcJTJzUWKym2PQge96hStUveWSF8DcDu35TSzQoEPE_6wZijHnBRs8qLxceM1HqOsXyvRJE1vKtboHq5C2Yb8vQteRLBMgO5wKCDFusypB6D8utDNMtfBS1EgLcAlMvFLE6mLNSXG1tOyireeuOCOP1iwyzJnbVjGKUsPQj8g'
\set rs_as_hs 'eyJhbGciOiJIUzI1NiIsImtpZCI6InJzIn0.eyJzdWIiOiJyb290IiwiZXhwIjo0MTAyNDQ0ODAwfQ.RFA02Xa3ZoUWcqe_Fj-U3giELpQ25uHeDjvZVfW8Q44'
\set wrong_iss 'eyJhbGciOiJFZERTQSIsImtpZCI6ImVkIiwidHlwIjoiSldUIn0.eyJzdWIiOiJiZW4iLCJleHAiOjQxMDI0NDQ4MDAsImlzcyI6Imh0dHBzOi8vZXZpbC5leGFtcGxlIiwiYXVkIjoic2hvcCJ9.S79orPFONSciJUaXGbfHcuFTokt_GMuASBRZ99H20TCHCSDgwnQL4INFMtIvvtq-hDjhNNvzFMInlunCAwDVAg'
\set wrong_aud 'eyJhbGciOiJFZERTQSIsImtpZCI6ImVkIiwidHlwIjoiSldUIn0.eyJzdWIiOiJiZW4iLCJleHAiOjQxMDI0NDQ4MDAsImlzcyI6Imh0dHBzOi8vbG9naW4uZXhhbXBsZSIsImF1ZCI6ImJpbGxpbmcifQ.qb9p2yquraEaNkAdmvUwP0nCKDQe820AaJH1OfkaHaK7uBXW9TNFbe1yAhQ_e0Ch-Hz2dfkXlNhGl7n4YtNgDA'

CREATE SCHEMA tok;
CREATE TABLE tok.notes (id int PRIMARY KEY, owner_id text NOT NULL);
INSERT INTO tok.notes VALUES (1, 'ann'), (2, 'ann'), (3, 'ben'), (4, '42');
GRANT USAGE ON SCHEMA tok TO PUBLIC;
GRANT SELECT ON tok.notes TO PUBLIC;
-- Tokens whose times depend on the clock are signed here: HMAC-SHA256 (RFC 2104) over the
-- core sha256(), so that no pgcrypto is needed (the PostgreSQL 18 wheel the tests use has none).
CREATE FUNCTION tok.xor_pad(k bytea, pad int) RETURNS bytea LANGUAGE sql IMMUTABLE
    AS $$ SELECT string_agg(set_byte('\x00'::bytea, 0, CASE WHEN i < length(k) THEN get_byte(k, i) ELSE 0 END # pad), '' ORDER BY i)
            FROM generate_series(0, 63) i $$;
CREATE FUNCTION tok.hmac_sha256(message bytea, secret bytea) RETURNS bytea LANGUAGE sql IMMUTABLE
    AS $$ SELECT sha256(tok.xor_pad(k, 92) || sha256(tok.xor_pad(k, 54) || message))
            FROM (SELECT CASE WHEN length(secret) > 64 THEN sha256(secret) ELSE secret END) AS t(k) $$;
CREATE FUNCTION tok.b64url(bytea) RETURNS text LANGUAGE sql IMMUTABLE
    AS $$ SELECT translate(encode($1, 'base64'), E'+/=\n', '-_') $$;
CREATE FUNCTION tok.hs256(header text, claims text, secret text) RETURNS text LANGUAGE sql IMMUTABLE
    AS $$ SELECT h || '.' || tok.b64url(tok.hmac_sha256(convert_to(h, 'UTF8'), convert_to(secret, 'UTF8')))
            FROM (SELECT tok.b64url(convert_to(header, 'UTF8')) || '.' || tok.b64url(convert_to(claims, 'UTF8'))) AS t(h) $$;
-- Seconds since the epoch, plus some.
CREATE FUNCTION tok.in_seconds(s int) RETURNS text LANGUAGE sql VOLATILE
    AS $$ SELECT (extract(epoch FROM clock_timestamp())::int + s)::text $$;
-- How an authz_admin might delete a key while a client session stays open.
CREATE FUNCTION tok.delete_key(kid text) RETURNS void LANGUAGE sql SECURITY DEFINER SET search_path = pg_catalog
    AS $$ DELETE FROM authz.jwt_keys k WHERE k.kid = $1 $$;
SELECT authz.register_model('tok.Note', 'tok.notes') > 0 AS registered;
INSERT INTO authz.users (id) VALUES ('42') ON CONFLICT DO NOTHING;
INSERT INTO authz.user_permissions (user_id, permission_id)
SELECT u.id, p.id FROM authz.users u, authz.permissions p JOIN authz.content_types ct ON ct.id = p.content_type_id
 WHERE u.id IN ('ann', 'ben', '42') AND ct.app_label = 'tok' AND p.codename = 'view_note';
SELECT authz.protect('tok.notes', '{"model": "tok.Note", "owner": {"column": "owner_id"}}') IS NOT NULL AS protected;

DROP ROLE IF EXISTS regress_tok_client, regress_tok_bound, regress_tok_keeper;
CREATE ROLE regress_tok_client LOGIN;
CREATE ROLE regress_tok_bound LOGIN;
CREATE ROLE regress_tok_keeper LOGIN IN ROLE authz_admin;
SELECT authz.bind_role('regress_tok_bound', 'ben');

-- Keys: authz_admin writes them and can list them, but reads no secret back.
\c - regress_tok_keeper
INSERT INTO authz.jwt_keys (kid, alg, key) VALUES ('hs', 'HS256', :'hs_secret');
INSERT INTO authz.jwt_keys (kid, alg, key, issuer, audience) VALUES ('ed', 'EdDSA', :'ed_public', 'https://login.example', 'shop');
INSERT INTO authz.jwt_keys (kid, alg, key) VALUES ('rs', 'RS256', :'rs_public');
SELECT kid, alg, issuer, audience FROM authz.jwt_keys ORDER BY kid;
SELECT key FROM authz.jwt_keys;
\echo :LAST_ERROR_SQLSTATE
-- Unusable keys are refused when written, saying why.
INSERT INTO authz.jwt_keys (kid, alg, key) VALUES ('short', 'HS256', 'too short');
\echo :LAST_ERROR_SQLSTATE
INSERT INTO authz.jwt_keys (kid, alg, key) VALUES ('bad', 'EdDSA', 'not a pem key');
\echo :LAST_ERROR_SQLSTATE
INSERT INTO authz.jwt_keys (kid, alg, key) VALUES ('bad', 'RS256', :'ed_public');
\echo :LAST_ERROR_SQLSTATE
INSERT INTO authz.jwt_keys (kid, alg, key) VALUES ('small', 'RS256', E'-----BEGIN PUBLIC KEY-----\nMIGfMA0GCSqGSIb3DQEBAQUAA4GNADCBiQKBgQCpn9x4CIBZ82xpGwOGH0umC54u\nsHCLI9PCd8K2KEqI+KayjRbUWmc1XpkpxvehWcI+d09OT/QFiGKya2rOe2TeA5Zk\nLIGzo8xMxfkWh2oeKDD+M2qtvqYHlWUgGcSdsOrclxjnNwe+fKYLIFI6B2Afjda1\nhNp8H0gcQDX44qTuvwIDAQAB\n-----END PUBLIC KEY-----');
\echo :LAST_ERROR_SQLSTATE
\set VERBOSITY terse
INSERT INTO authz.jwt_keys (kid, alg, key) VALUES ('none', 'none', :'hs_secret');
\echo :LAST_ERROR_SQLSTATE
\set VERBOSITY default

-- No ordinary role reads or writes them.
\c - regress_tok_client
SELECT count(*) FROM authz.jwt_keys;
\echo :LAST_ERROR_SQLSTATE
INSERT INTO authz.jwt_keys (kid, alg, key) VALUES ('mine', 'HS256', :'hs_secret');
\echo :LAST_ERROR_SQLSTATE

-- A role that is neither bound nor an authenticator becomes the token's subject.
SELECT authz.current_user_id() AS before_token, (SELECT count(*) FROM tok.notes) AS notes_seen;
BEGIN;
SELECT authz.set_user_token(:'hs_ann') AS acting_as;
SELECT authz.current_user_id() AS acting_as, (SELECT string_agg(id::text, ',' ORDER BY id) FROM tok.notes) AS notes_seen;
-- The same token again in the transaction is verified once (memo); another token replaces it.
SELECT authz.set_user_token(:'hs_ann') AS again;
SELECT authz.set_user_token(:'ed_ben') AS eddsa;
SELECT authz.set_user_token(:'rs_carol') AS rs256;
SELECT authz.set_user_token(:'ed_ben') AS eddsa_again;
SELECT authz.current_user_id() AS acting_as, (SELECT string_agg(id::text, ',' ORDER BY id) FROM tok.notes) AS notes_seen;
COMMIT;
-- Transaction-local by default: gone after commit.
SELECT authz.current_user_id() AS after_commit;
-- A numeric sub is its decimal text; only integers are accepted (below: 42.0 and 1e2 are not).
BEGIN;
SELECT authz.set_user_token(:'hs_numeric') AS numeric_sub;
-- Parallel workers see the verified subject (copied with the leader's settings).
SELECT regress_force_parallel(true, is_local => true) AS parallel;
SET LOCAL parallel_leader_participation = off;
SELECT regress_explain_analyze('SELECT authz.current_user_id()') AS plan;
SELECT authz.current_user_id() AS in_worker;
SELECT string_agg(id::text, ',' ORDER BY id) AS notes_seen_by_worker FROM tok.notes;
COMMIT;
-- Savepoints: a token presented inside a rolled-back savepoint is forgotten with it.
BEGIN;
SELECT authz.set_user_token(:'hs_ann') AS outer_token;
SAVEPOINT s;
SELECT authz.set_user_token(:'ed_ben') AS inner_token;
ROLLBACK TO SAVEPOINT s;
SELECT authz.current_user_id() AS after_rollback_to;
-- A bad token inside the transaction raises and leaves no identity behind in its subtransaction.
SAVEPOINT t;
SELECT authz.set_user_token(:'tampered');
ROLLBACK TO SAVEPOINT t;
SELECT authz.current_user_id() AS still_outer;
ROLLBACK;
-- Session-wide when asked; DISCARD ALL (what poolers send) forgets it.
SELECT authz.set_user_token(:'hs_ann', is_local => false) AS session_token;
SELECT authz.current_user_id() AS in_next_transaction;
DISCARD ALL;
SELECT authz.current_user_id() AS after_discard_all;
-- The setting that holds the verified subject cannot be written any other way.
SET authz.verified_user_id = 'root';
\echo :LAST_ERROR_SQLSTATE
SELECT set_config('authz.verified_user_id', 'root', true);
\echo :LAST_ERROR_SQLSTATE
SELECT authz.current_user_id() AS still_nobody;

-- Every kind of bad token: 28000, a message saying what is wrong, and no identity.
SELECT authz.set_user_token(:'expired');
\echo :LAST_ERROR_SQLSTATE
SELECT authz.set_user_token(:'not_yet');
\echo :LAST_ERROR_SQLSTATE
SELECT authz.set_user_token(:'future_iat');
\echo :LAST_ERROR_SQLSTATE
SELECT authz.set_user_token(:'no_exp');
\echo :LAST_ERROR_SQLSTATE
SELECT authz.set_user_token(:'no_sub');
\echo :LAST_ERROR_SQLSTATE
SELECT authz.set_user_token(:'tampered');
\echo :LAST_ERROR_SQLSTATE
SELECT authz.set_user_token(:'unknown_kid');
\echo :LAST_ERROR_SQLSTATE
SELECT authz.set_user_token(:'no_kid');
\echo :LAST_ERROR_SQLSTATE
SELECT authz.set_user_token(:'alg_none');
\echo :LAST_ERROR_SQLSTATE
SELECT authz.set_user_token(:'alg_confusion');
\echo :LAST_ERROR_SQLSTATE
SELECT authz.set_user_token(:'rs_as_hs');
\echo :LAST_ERROR_SQLSTATE
SELECT authz.set_user_token(:'wrong_iss');
\echo :LAST_ERROR_SQLSTATE
SELECT authz.set_user_token(:'wrong_aud');
\echo :LAST_ERROR_SQLSTATE
SELECT authz.set_user_token('not-a-token');
\echo :LAST_ERROR_SQLSTATE
SELECT authz.set_user_token('e30.e30.');
\echo :LAST_ERROR_SQLSTATE
SELECT authz.set_user_token(NULL);
\echo :LAST_ERROR_SQLSTATE
-- A subject holding a NUL byte is refused (22023), never cut short to "99".
SELECT authz.set_user_token(:'nul_sub');
\echo :LAST_ERROR_SQLSTATE
-- A sub that is a number with a fraction or an exponent names nobody (it would read "100.0").
SELECT authz.set_user_token(tok.hs256('{"alg":"HS256","kid":"hs"}', '{"sub":1e2,"exp":4102444800}', :'hs_secret'));
\echo :LAST_ERROR_SQLSTATE
SELECT authz.set_user_token(tok.hs256('{"alg":"HS256","kid":"hs"}', '{"sub":42.0,"exp":4102444800}', :'hs_secret'));
\echo :LAST_ERROR_SQLSTATE
-- An unknown kid is echoed, cut to 64 characters.
SELECT authz.set_user_token(tok.hs256(format('{"alg":"HS256","kid":"%s"}', repeat('k', 500)), '{"sub":"ann","exp":4102444800}', :'hs_secret'));
\echo :LAST_ERROR_SQLSTATE
SELECT authz.current_user_id() AS nobody_after_bad_tokens;

-- A session-wide token stops counting once it expires, though nothing presents it again: a
-- statement that starts after exp (plus the 30 s leeway that verification allows) acts as nobody.
-- This token's exp is 27 s ago: it verifies, and lapses 3 s later.
SELECT authz.set_user_token(tok.hs256('{"alg":"HS256","kid":"hs"}', format('{"sub":"ann","exp":%s}', tok.in_seconds(-27)), :'hs_secret'), false) AS session_token;
SELECT authz.current_user_id() AS before_exp, (SELECT count(*) FROM tok.notes) AS notes_seen;
SELECT pg_sleep(4);
SELECT authz.current_user_id() AS after_exp, (SELECT count(*) FROM tok.notes) AS notes_seen;
-- Presented again, it is refused as expired (the message, naming exp, is not shown here).
\set VERBOSITY sqlstate
SELECT authz.set_user_token(tok.hs256('{"alg":"HS256","kid":"hs"}', format('{"sub":"ann","exp":%s}', tok.in_seconds(-31)), :'hs_secret'), false);
\set VERBOSITY default
\echo :LAST_ERROR_SQLSTATE
SELECT :'LAST_ERROR_MESSAGE' LIKE 'invalid token: expired at % (exp) (key "hs")' AS says_expired;

-- A bound role always acts as its user: it cannot present a token for another.
\c - regress_tok_bound
SELECT authz.set_user_token(:'hs_ann');
\echo :LAST_ERROR_SQLSTATE
SELECT authz.current_user_id() AS bound_user;

-- A key deleted by authz_admin no longer verifies, and the tokens it verified stop counting at
-- the next statement, session-wide ones included.
\c - regress_tok_client
SELECT authz.set_user_token(:'hs_ann', false) AS with_key;
SELECT authz.current_user_id() AS session_wide, (SELECT count(*) FROM tok.notes) AS notes_seen;
SELECT tok.delete_key('hs');
SELECT authz.current_user_id() AS key_deleted, (SELECT count(*) FROM tok.notes) AS notes_seen;
SELECT authz.set_user_token(:'hs_ann');
\echo :LAST_ERROR_SQLSTATE

\c - postgres
DROP SCHEMA tok CASCADE;
DELETE FROM authz.jwt_keys;
DELETE FROM authz.user_permissions WHERE permission_id IN (SELECT p.id FROM authz.permissions p JOIN authz.content_types ct ON ct.id = p.content_type_id WHERE ct.app_label = 'tok');
SELECT authz.unbind_role('regress_tok_bound');
DROP ROLE regress_tok_client, regress_tok_bound, regress_tok_keeper;
