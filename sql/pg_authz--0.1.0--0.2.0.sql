-- pg_authz 0.1.0 -> 0.2.0
--
-- Every schema change since the 0.1.0 release goes here, and into the fresh-install sources
-- (sql/bootstrap.sql, sql/finalize.sql, the #[pg_extern] functions) in the same commit. The
-- upgrade test compares `ALTER EXTENSION pg_authz UPDATE` from 0.1.0 with a fresh 0.2.0 install.
-- sql/pg_authz--0.1.0.sql is the released install script: it is never edited.

\echo Use "ALTER EXTENSION pg_authz UPDATE TO '0.2.0'" to load this file. \quit
