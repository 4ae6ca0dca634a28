-- \dx+ pg_tenancy, \df+ tenancy.* and \d+ tenancy.* explain themselves: every
-- function, procedure, table, view and column of the extension has a comment,
-- and the internal helpers say they are internal.
BEGIN;
SET LOCAL client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS pgtap;
CREATE EXTENSION pg_tenancy;
SELECT plan(6);

CREATE TEMP VIEW members AS
SELECT d.classid, d.objid FROM pg_depend d
WHERE d.refclassid = 'pg_extension'::regclass AND d.deptype = 'e'
  AND d.refobjid = (SELECT oid FROM pg_extension WHERE extname = 'pg_tenancy');

SELECT is(
    (SELECT array_agg(p.oid::regprocedure::text ORDER BY 1)
     FROM members m JOIN pg_proc p ON m.classid = 'pg_proc'::regclass AND p.oid = m.objid
     WHERE coalesce(obj_description(p.oid, 'pg_proc'), '') = ''),
    NULL,
    'every function and procedure has a comment');
SELECT is(
    (SELECT array_agg(p.proname::text ORDER BY 1)
     FROM members m JOIN pg_proc p ON m.classid = 'pg_proc'::regclass AND p.oid = m.objid
     WHERE p.proname LIKE '\_%' AND obj_description(p.oid, 'pg_proc') NOT LIKE 'Internal to pg_tenancy: %'),
    NULL,
    'every internal helper (a name beginning with _) says it is internal');
SELECT is(
    (SELECT array_agg(p.proname::text ORDER BY 1)
     FROM members m JOIN pg_proc p ON m.classid = 'pg_proc'::regclass AND p.oid = m.objid
     WHERE p.proname NOT LIKE '\_%' AND obj_description(p.oid, 'pg_proc') LIKE 'Internal%'),
    NULL,
    'and no public function says it is internal');
SELECT is(
    (SELECT array_agg(c.oid::regclass::text ORDER BY 1)
     FROM members m JOIN pg_class c ON m.classid = 'pg_class'::regclass AND c.oid = m.objid
     WHERE c.relkind IN ('r', 'v', 'p', 'm') AND coalesce(obj_description(c.oid, 'pg_class'), '') = ''),
    NULL,
    'every table and view has a comment');
SELECT is(
    (SELECT array_agg(c.oid::regclass::text || '.' || a.attname ORDER BY 1)
     FROM members m JOIN pg_class c ON m.classid = 'pg_class'::regclass AND c.oid = m.objid
     JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped
     WHERE c.relkind IN ('r', 'v', 'p', 'm') AND coalesce(col_description(c.oid, a.attnum), '') = ''),
    NULL,
    'every column of every table and view has a comment');
SELECT cmp_ok(
    (SELECT count(*) FROM members m WHERE m.classid IN ('pg_proc'::regclass, 'pg_class'::regclass)),
    '>=', 25::bigint,
    'the checks above looked at the extension''s functions, tables and views');

SELECT * FROM finish();
ROLLBACK;
