-- Malformed calls where an error is the honest answer: SQLSTATE 22023, a message naming the
-- input, and nothing written.

SELECT count(*) AS content_types_before FROM authz.content_types;

SELECT authz.register_model('nodot');
\echo :LAST_ERROR_SQLSTATE
SELECT authz.register_model('.Model');
\echo :LAST_ERROR_SQLSTATE
SELECT authz.register_model('app.');
\echo :LAST_ERROR_SQLSTATE
SELECT authz.register_model('app.Mo del');
\echo :LAST_ERROR_SQLSTATE
SELECT authz.register_model('a.b.c');
\echo :LAST_ERROR_SQLSTATE
SELECT authz.register_model(NULL);
SELECT authz.register_model('shop.Order', 'no_such_table'::regclass);
\echo :LAST_ERROR_SQLSTATE

SELECT count(*) AS content_types_after FROM authz.content_types;

SELECT authz.set_user('');
\echo :LAST_ERROR_SQLSTATE

-- The catalogs refuse rows that could never match a permission string.
INSERT INTO authz.content_types (app_label, model) VALUES ('shop', 'Order');
\echo :LAST_ERROR_SQLSTATE
INSERT INTO authz.users (id) VALUES ('');
\echo :LAST_ERROR_SQLSTATE
