-- Every row of the SPEC's tenant-name table, through create_tenant and
-- rename_tenant: the right SQLSTATE, and nothing left behind.
BEGIN;
SET LOCAL client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS pgtap;
CREATE EXTENSION pg_tenancy;
SELECT plan(38);

SELECT tenancy.create_tenant('existing');

CREATE FUNCTION pg_temp.nothing_left(name text) RETURNS boolean LANGUAGE sql AS $$
    SELECT NOT EXISTS (SELECT FROM pg_namespace WHERE nspname = name)
       AND NOT EXISTS (SELECT FROM tenancy.tenant_registry WHERE tenant = name)
$$;

-- name, SQLSTATE, why
CREATE TEMP TABLE bad_names (name text, sqlstate text, why text);
INSERT INTO bad_names VALUES
    (NULL,                         '22004', 'NULL'),
    ('',                           '42622', 'empty'),
    (repeat('a', 64),              '42622', '64 bytes'),
    (repeat('a', 62) || 'é',       '42622', 'a 2-byte character across byte 63'),
    (repeat('é', 32),              '42622', '32 characters, 64 bytes'),
    ('has space',                  '42602', 'a space'),
    ('dot.ted',                    '42602', 'a dot'),
    ('quo"te',                     '42602', 'a double quote'),
    ('back\slash',                 '42602', 'a backslash'),
    ('café',                       '42602', 'a letter outside the pattern'),
    ('public',                     '42939', 'public'),
    ('information_schema',         '42939', 'information_schema'),
    ('tenancy',                    '42939', 'the extension''s schema'),
    ('pg_anything',                '42939', 'the pg_ prefix');

SELECT throws_ok(format('SELECT tenancy.create_tenant(%L)', name), sqlstate, NULL,
                 'create_tenant refuses ' || why)
FROM bad_names ORDER BY sqlstate, why;

SELECT throws_ok(format('SELECT tenancy.rename_tenant(%L, %L)', 'existing', name), sqlstate, NULL,
                 'rename_tenant refuses ' || why)
FROM bad_names ORDER BY sqlstate, why;

SELECT ok(bool_and(pg_temp.nothing_left(name)), 'no refused name left a schema or a registry row')
FROM bad_names WHERE name IS NOT NULL AND sqlstate <> '42939';
SELECT ok(NOT EXISTS (SELECT FROM tenancy.tenant_registry JOIN bad_names ON tenant = name),
          'no reserved name was registered');
SELECT results_eq('SELECT * FROM tenancy.all_tenants()', ARRAY['existing'],
                  'the tenant renamed onto refused names is unchanged');

-- The boundaries that pass.
SELECT lives_ok(format('SELECT tenancy.create_tenant(%L)', repeat('a', 63)), '63 bytes are accepted');
SELECT lives_ok(format('SELECT tenancy.create_tenant(%L)', 'PG_upper'), 'PG_ (upper case) is not the reserved prefix');

-- The GUCs.
SET tenancy.reserved_names = 'admin, www';
SELECT throws_ok($$SELECT tenancy.create_tenant('www')$$, '42939', NULL,
                 'a name listed in tenancy.reserved_names is refused');
SELECT lives_ok($$SELECT tenancy.create_tenant('Admin')$$, 'reserved names match case-sensitively');
RESET tenancy.reserved_names;

SET tenancy.tenant_name_pattern = '^org_[0-9]+$';
SELECT throws_ok($$SELECT tenancy.create_tenant('acme')$$, '42602', NULL,
                 'tenancy.tenant_name_pattern narrows the accepted names');
SELECT lives_ok($$SELECT tenancy.create_tenant('org_7')$$, 'a name matching the narrowed pattern is accepted');
RESET tenancy.tenant_name_pattern;
SELECT throws_ok($$SET tenancy.tenant_name_pattern = '(unclosed'$$, '2201B', NULL,
                 'an invalid pattern is refused when set');

SELECT * FROM finish();
ROLLBACK;
