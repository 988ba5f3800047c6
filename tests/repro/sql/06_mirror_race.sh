#!/bin/bash
# Finding 11 (LOW, not fixed): the mirror misses a committed Django row. A link inserted while its
# user's insert is still uncommitted is skipped (its parent is not in the mirror yet), and the
# user's own statement did not see the link (uncommitted then); Django's deferred foreign key
# passes at the link's commit. main and review3: django_rows 1, mirrored 0, in_group f.
P="psql -X -h ${PG_AUTHZ_BASE:-/var/tmp/pg_authz} -p ${PG_AUTHZ_PORT:-55432} -U postgres"
cd "$(dirname "$0")"
$P -q -d postgres -f setup.sql >/dev/null 2>&1
$P -q -d repro3 -c "BEGIN; INSERT INTO auth_user (id, username) VALUES (50, 'late'); SELECT pg_sleep(2); COMMIT;" >/dev/null &
sleep 0.5
$P -q -d repro3 -c "BEGIN; INSERT INTO auth_user_groups (user_id, group_id) VALUES (50, 1); SELECT pg_sleep(3); COMMIT;" >/dev/null
wait
$P -d repro3 -c "SELECT (SELECT count(*) FROM auth_user_groups WHERE user_id = 50) AS django_rows,
                         (SELECT count(*) FROM authz.user_groups WHERE user_id = '50') AS mirrored,
                         authz.in_group('50', 'Editors') AS in_group"
$P -q -d postgres -f teardown.sql >/dev/null 2>&1
