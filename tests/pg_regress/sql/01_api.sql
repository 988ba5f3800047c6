-- The SQL reference: every function pg_authz installs, with its signature and comment.
SELECT p.oid::regprocedure AS function,
       pg_catalog.pg_get_function_result(p.oid) AS returns,
       p.provolatile AS volatility,
       p.prosecdef AS security_definer,
       pg_catalog.obj_description(p.oid, 'pg_proc') AS comment
  FROM pg_proc p
 WHERE p.pronamespace = 'authz'::regnamespace
 ORDER BY p.proname, p.oid::regprocedure::text;

-- Nothing is left without a comment.
SELECT count(*) AS functions_without_comment
  FROM pg_proc p
 WHERE p.pronamespace = 'authz'::regnamespace
   AND pg_catalog.obj_description(p.oid, 'pg_proc') IS NULL;

-- Every function that is SECURITY DEFINER pins search_path.
SELECT p.oid::regprocedure AS definer_without_search_path
  FROM pg_proc p
 WHERE p.pronamespace = 'authz'::regnamespace AND p.prosecdef
   AND NOT EXISTS (SELECT 1 FROM unnest(p.proconfig) c WHERE c LIKE 'search_path=%');
