-- A partitioned managed table: its row triggers fire on the partitions, and
-- the partitions' rows are governed by the partitioned table's settings.
-- A managed table in another schema, with a quoted name, works the same.
BEGIN;
SET LOCAL client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS pgtap;
CREATE EXTENSION pg_tenancy;
SELECT plan(16);

CREATE TABLE organizations (region text NOT NULL, id int NOT NULL, PRIMARY KEY (region, id))
    PARTITION BY LIST (region);
CREATE TABLE organizations_eu PARTITION OF organizations FOR VALUES IN ('eu');
CREATE TABLE organizations_us PARTITION OF organizations FOR VALUES IN ('us');
SELECT tenancy.manage_tenant('organizations', ARRAY[':region', '_', ':id'], on_delete => 'drop');

SELECT lives_ok($$INSERT INTO organizations VALUES ('eu', 1), ('us', 1), ('eu', 2)$$,
                'rows land in partitions');
SELECT results_eq($$SELECT * FROM tenancy.all_tenants()$$, ARRAY['eu_1', 'eu_2', 'us_1'],
                  'each gets its tenant');
UPDATE organizations SET id = 3 WHERE region = 'eu' AND id = 2;
SELECT results_eq($$SELECT * FROM tenancy.all_tenants()$$, ARRAY['eu_1', 'eu_3', 'us_1'],
                  'an update within a partition renames');
DELETE FROM organizations WHERE region = 'us';
SELECT results_eq($$SELECT * FROM tenancy.all_tenants()$$, ARRAY['eu_1', 'eu_3'],
                  'a delete drops (on_delete => ''drop'')');

SELECT throws_ok($$UPDATE organizations SET region = 'us' WHERE region = 'eu' AND id = 1$$, '0A000',
                 'a row of a managed table cannot move to another partition',
                 'moving a row to another partition is refused');
SELECT results_eq($$SELECT * FROM tenancy.all_tenants()$$, ARRAY['eu_1', 'eu_3'], 'and changes nothing');

-- Names do not depend on the session's settings.
CREATE TABLE events (day date PRIMARY KEY);
SELECT tenancy.manage_tenant('events', ARRAY['day_', ':day'], on_delete => 'drop');
SET LOCAL DateStyle = 'German';
INSERT INTO events VALUES ('2024-01-15');
SELECT results_eq($$SELECT * FROM tenancy.all_tenants() t WHERE t LIKE 'day%'$$, ARRAY['day_2024-01-15'],
                  'a date renders in ISO whatever DateStyle says');
SET LOCAL DateStyle = 'SQL, DMY';
DELETE FROM events;
SELECT is((SELECT count(*)::int FROM tenancy.all_tenants() t WHERE t LIKE 'day%'), 0,
          'so another session''s DateStyle finds the same tenant to drop');
RESET DateStyle;

-- A row with a NULL in a template column never had a tenant: it may be
-- updated and deleted all the same.
CREATE TABLE teams (id int PRIMARY KEY, code text);
INSERT INTO teams VALUES (1, NULL);
SELECT tenancy.manage_tenant('teams', ARRAY['team_', ':code'], on_delete => 'drop');
SELECT lives_ok($$UPDATE teams SET code = 'red' WHERE id = 1$$, 'a row without a tenant gets one when it can');
SELECT throws_ok($$UPDATE teams SET code = NULL WHERE id = 1$$, '22004', NULL,
                 'a NULL new name is refused');
INSERT INTO teams VALUES (2, 'blue');
SELECT tenancy.manage_tenant('teams', ARRAY['team_', ':code'], "create" => false, on_delete => 'drop');
INSERT INTO teams VALUES (3, NULL);
SELECT lives_ok($$UPDATE teams SET id = 4 WHERE id = 3$$,
                'a row with NULL in the template updates its other columns');
SELECT lives_ok($$DELETE FROM teams WHERE id = 4$$, 'a row with NULL in the template deletes');
INSERT INTO teams VALUES (5, 'gray');
UPDATE teams SET code = 'white' WHERE id = 5;
SELECT is((SELECT count(*)::int FROM tenancy.all_tenants() t WHERE t IN ('team_gray', 'team_white')), 0,
          'with "create" => false, rows without a tenant get none, on insert or update');

CREATE SCHEMA "Billing Data";
CREATE TABLE "Billing Data"."Accounts" ("Account Id" int PRIMARY KEY);
SELECT tenancy.manage_tenant('"Billing Data"."Accounts"', ARRAY['acct_', ':Account Id']);
SELECT lives_ok($$INSERT INTO "Billing Data"."Accounts" VALUES (7)$$,
                'a quoted table in another schema, with a quoted column, is managed');
SELECT results_eq($$SELECT * FROM tenancy.all_tenants() t WHERE t LIKE 'acct%'$$, ARRAY['acct_7'],
                  'and its rows get their tenants');
SELECT lives_ok($$SELECT tenancy.unmanage_tenant('"Billing Data"."Accounts"')$$, 'and it can be unmanaged');

SELECT * FROM finish();
ROLLBACK;
