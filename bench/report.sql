-- The report of the pg_authz benchmark: one row per line of the table, built from the raw
-- samples (medians) and the notes that bench/run recorded. Loaded after bench/functions.sql.
\set ON_ERROR_STOP on
SET client_min_messages = warning;

-- What each line compares. ratio = a/b ('time': lower is better for pg_authz; 'tps': pg_authz's
-- throughput over the baseline's) or b/a ('speedup': how many times faster pg_authz is;
-- 'overhead': the same over the time each adds to base_variant, the work both add to it);
-- 'absolute': the goal is on pg_authz's own figure (in its unit), b_variant is shown beside it;
-- 'paired': like 'time', but the median of the per-round ratios a/b (runs interleaved in pairs,
-- so that a slow moment of a shared machine hits both sides of a ratio alike).
CREATE TABLE bench.report_lines (
    pos        int PRIMARY KEY,
    key        text NOT NULL,      -- also the metric whose notes apply
    label      text NOT NULL,
    metric     text NOT NULL,
    a_variant  text NOT NULL,      -- pg_authz side
    b_variant  text NOT NULL,      -- baseline side
    kind       text NOT NULL CHECK (kind IN ('time', 'speedup', 'overhead', 'tps', 'absolute', 'paired')),
    op         text CHECK (op IN ('<=', '>=')),
    goal       double precision,
    base_variant text CHECK ((kind = 'overhead') = (base_variant IS NOT NULL))
);
INSERT INTO bench.report_lines (pos, key, label, metric, a_variant, b_variant, kind, op, goal, base_variant) VALUES
 (1, '1a', '1a has_perm warm vs floor (SQL fn returning true)', '1_has_perm_warm', 'pg_authz', 'floor_sql', 'time', '<=', 2, NULL),
 (2, '1a_plpgsql', '1a has_perm warm vs PL/pgSQL fn returning true', '1_has_perm_warm', 'pg_authz', 'floor_plpgsql', 'time', '<=', 0.7, NULL),
 (3, '1a_c', '1a (stretch) has_perm warm vs C builtin of the same signature', '1_has_perm_warm', 'pg_authz', 'floor_c', 'time', '<=', 1.5, NULL),
 (4, '1b', '1b has_perm warm vs plain SQL check', '1_has_perm_warm', 'pg_authz', 'plain_sql', 'speedup', '>=', 20, NULL),
 (5, '2', '2 first has_perm after a change to the user vs plain SQL', '2_has_perm_cold', 'pg_authz', 'plain_sql', 'time', NULL, NULL, NULL),
 (6, '2_us', '2 first has_perm after a change to the user (us, goal 20, stretch 5)', '2_has_perm_cold', 'pg_authz', 'plain_sql', 'absolute', '<=', 20, NULL),
 (7, '2_cached', '2 (info) the same for users already cached (a change to the row: flags read again, us)', '2_has_perm_cold', 'pg_authz_cached', 'plain_sql', 'absolute', NULL, NULL, NULL),
 (8, '2_full', '2 first has_perm after a change invalidating everything (us)', '2_has_perm_cold', 'pg_authz_full', 'plain_sql', 'absolute', '<=', 20000, NULL),
 (9, '3', '3 owner SELECT under RLS vs WHERE', '3_rls_owner', 'pg_authz', 'baseline', 'time', '<=', 1.2, NULL),
 (10, '4', '4 tenant count under RLS vs WHERE (superusers pass)', '4_rls_tenant', 'pg_authz', 'baseline', 'time', '<=', 1.2, NULL),
 (11, '4_confined', '4 tenant count under RLS vs WHERE (superusers confined)', '4_rls_confined', 'pg_authz', 'baseline', 'time', '<=', 1.1, NULL),
 (12, '5a', '5a 100k-row UPDATE: enable_audit vs bare', '5_audit_update', 'pg_authz', 'bare', 'time', '<=', 2, NULL),
 (13, '5b', '5b audit cost (time added to the bare UPDATE): enable_audit vs row trigger', '5_audit_update', 'pg_authz', 'row_trigger', 'overhead', '>=', 3, 'bare'),
 (14, '5b_total', '5b (info) total time: enable_audit vs row trigger', '5_audit_update', 'pg_authz', 'row_trigger', 'speedup', NULL, NULL, NULL),
 (15, '5_info', '5 (info) row trigger vs bare UPDATE', '5_audit_update', 'row_trigger', 'bare', 'time', NULL, NULL, NULL),
 (16, '6', '6 pgbench TPS, protected vs unprotected', '6_pgbench', 'pg_authz', 'baseline', 'tps', '>=', 0.85, NULL),
 (17, '6_hit_rate', '6 (info) cache hit rate of the protected runs'' checks', '6_pgbench', 'hit_rate', 'baseline_hit_rate', 'absolute', NULL, NULL, NULL),
 (18, '6_churn', '6 pgbench TPS with 1 catalog write per 100 transactions, protected vs unprotected', '6_pgbench', 'churn', 'churn_baseline', 'tps', '>=', 0.8, NULL),
 (19, '6_churn_hit_rate', '6 (info) cache hit rate of the churn runs'' checks', '6_pgbench', 'churn_hit_rate', 'baseline_hit_rate', 'absolute', NULL, NULL, NULL),
 (20, '6_token', '6 (info) pgbench TPS, set_user_token per transaction vs unprotected', '6_pgbench', 'token', 'baseline', 'tps', NULL, NULL, NULL),
 (21, '6_bound', '6 (info) pgbench TPS as a bound role vs unprotected, one user', '6_pgbench', 'bound', 'baseline_one_user', 'tps', NULL, NULL, NULL),
 (22, '6_same_round_trips', '6 (info) pgbench TPS, protected vs unprotected with the same four statements', '6_pgbench', 'pg_authz', 'baseline_4_statements', 'tps', NULL, NULL, NULL),
 (23, '6_fourth_statement', '6 (info) the fourth statement alone: unprotected with a trivial SELECT vs without', '6_pgbench', 'baseline_4_statements', 'baseline', 'tps', NULL, NULL, NULL);

CREATE VIEW bench.report AS
WITH med AS (
    SELECT metric, variant, min(unit) AS unit, count(*) AS n,
           percentile_cont(0.5) WITHIN GROUP (ORDER BY value) AS median
      FROM bench.samples GROUP BY metric, variant
), lines AS (
    SELECT l.*, a.median - coalesce(c.median, 0) AS a_med, b.median - coalesce(c.median, 0) AS b_med,
           coalesce(a.unit, b.unit) AS unit, least(a.n, b.n) AS reps,
           CASE WHEN l.kind = 'absolute' THEN a.median
                WHEN l.kind = 'paired' THEN
                (SELECT percentile_cont(0.5) WITHIN GROUP (ORDER BY sa.value / sb.value)
                   FROM bench.samples sa
                   JOIN bench.samples sb ON sb.metric = sa.metric AND sb.rep = sa.rep AND sb.variant = l.b_variant
                  WHERE sa.metric = l.metric AND sa.variant = l.a_variant AND sb.value > 0)
                WHEN a.median - coalesce(c.median, 0) > 0 AND b.median - coalesce(c.median, 0) > 0 THEN
                CASE WHEN l.kind IN ('speedup', 'overhead')
                     THEN (b.median - coalesce(c.median, 0)) / (a.median - coalesce(c.median, 0))
                     ELSE a.median / b.median END
           END AS ratio,
           (SELECT string_agg(n.note, '; ' ORDER BY n.note NOT LIKE 'status:%') FROM bench.notes n
             WHERE n.metric = l.key OR n.metric = l.metric) AS notes
      FROM bench.report_lines l
      LEFT JOIN med a ON a.metric = l.metric AND a.variant = l.a_variant
      LEFT JOIN med b ON b.metric = l.metric AND b.variant = l.b_variant
      LEFT JOIN med c ON c.metric = l.metric AND c.variant = l.base_variant
)
SELECT pos, key, label, unit, reps, a_med AS pg_authz, b_med AS baseline, ratio, kind, op, goal,
       CASE WHEN notes LIKE 'status:%' THEN substr(split_part(notes, ';', 1), 8)
            WHEN ratio IS NULL THEN 'n/a'
            WHEN op IS NULL THEN 'info'
            WHEN (op = '<=' AND ratio <= goal) OR (op = '>=' AND ratio >= goal) THEN 'pass'
            ELSE 'FAIL'
       END || coalesce(' (' || substring(notes FROM 'label:([^;]*)') || ')', '') AS status,
       notes
  FROM lines;

-- The table as printed.
CREATE VIEW bench.report_text AS
SELECT label AS metric,
       CASE WHEN pg_authz IS NULL THEN '-' ELSE round(pg_authz::numeric, 2) || ' ' || unit END AS pg_authz,
       CASE WHEN baseline IS NULL THEN '-' ELSE round(baseline::numeric, 2) || ' ' || unit END AS baseline,
       CASE WHEN ratio IS NULL THEN '-'
            WHEN kind = 'speedup' THEN round(ratio::numeric, 1) || 'x faster'
            WHEN kind = 'overhead' THEN round(ratio::numeric, 1) || 'x less'
            WHEN kind = 'absolute' THEN round(ratio::numeric, 2) || ' ' || unit
            ELSE round(ratio::numeric, 2) || 'x' END AS ratio,
       CASE WHEN op IS NULL THEN '-'
            WHEN kind = 'speedup' THEN '>= ' || goal || 'x faster'
            WHEN kind = 'overhead' THEN '>= ' || goal || 'x less'
            WHEN kind = 'absolute' THEN op || ' ' || goal || ' ' || unit
            ELSE op || ' ' || goal || 'x' END AS goal,
       status
  FROM bench.report ORDER BY pos;
