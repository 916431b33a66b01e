-- +goose Up
-- Recording a result must not touch the journal's indexes: SQLite then rewrites
-- only the row, not an entry in each index on a changed column. The PostgreSQL
-- migration of the same number does the same for its HOT updates; see there.
--
-- 1. The Salesforce Id a result reports (the Id of a created user) goes to its own,
--    unindexed column; salesforce_id keeps the Id known when the plan was saved and
--    stays indexed. Readers see result_salesforce_id when set, else salesforce_id.
ALTER TABLE actions ADD COLUMN result_salesforce_id TEXT NOT NULL DEFAULT '';
-- 2. Held and approved work is found through pending, as on PostgreSQL, so that
--    both take the same queries. The index keeps status as its column, which SQLite
--    needs to search it for one status (it cannot use a partial index whose
--    predicate the query does not repeat), and costs a result nothing: SQLite only
--    touches a partial index entry whose predicate holds before or after.
ALTER TABLE actions ADD COLUMN pending INTEGER GENERATED ALWAYS AS (status IN ('held', 'approved')) VIRTUAL;
DROP INDEX actions_pending;
CREATE INDEX actions_pending ON actions (status) WHERE pending;

-- +goose Down
DROP INDEX actions_pending;
ALTER TABLE actions DROP COLUMN pending;
CREATE INDEX actions_pending ON actions (status) WHERE status IN ('held', 'approved');
UPDATE actions SET salesforce_id = result_salesforce_id WHERE result_salesforce_id <> '';
ALTER TABLE actions DROP COLUMN result_salesforce_id;
