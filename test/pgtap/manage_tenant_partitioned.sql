-- A partitioned managed table: its row triggers fire on the partitions, and
-- the partitions' rows are governed by the partitioned table's settings.
-- A managed table in another schema, with a quoted name, works the same.
BEGIN;
SET LOCAL client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS pgtap;
CREATE EXTENSION pg_tenancy;
SELECT plan(7);

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
