-- +goose Up
-- Recording a result must not touch the journal's indexes, so that PostgreSQL can
-- update the row in place on its page (a HOT update: no new index entries). An
-- update is HOT only when no indexed column changes (a partial index's predicate
-- counts) and the page has room for the new row version. Measured on 100k results
-- in batches of 200 (docs/benchmarks-store.md): the server's time per batch fell
-- from 5.7 ms to 2.1 ms.
--
-- 1. The Salesforce Id a result reports (the Id of a created user) goes to its own,
--    unindexed column; salesforce_id keeps the Id known when the plan was saved and
--    stays indexed. Readers see result_salesforce_id when set, else salesforce_id.
ALTER TABLE actions ADD COLUMN result_salesforce_id TEXT NOT NULL DEFAULT '';
-- 2. Held and approved work is found through pending, which a result never changes
--    (a result is refused for a held action and, for an approved one, turns pending
--    false: the rare non-HOT update). The old partial index named status, which
--    every result changes. Adding a stored column rewrites the table once, under
--    an exclusive lock (0.8 s for 400k actions here, before their indexes).
ALTER TABLE actions ADD COLUMN pending BOOLEAN GENERATED ALWAYS AS (status IN ('held', 'approved')) STORED;
DROP INDEX actions_pending;
CREATE INDEX actions_pending ON actions (pending) WHERE pending;
-- 3. Room on every page for the new versions of its rows: a batch of results
--    updates neighbouring rows of one plan, usually every row of a page at once,
--    and the old versions stay until the transaction ends.
ALTER TABLE actions SET (fillfactor = 45);

-- +goose Down
ALTER TABLE actions RESET (fillfactor);
DROP INDEX actions_pending;
ALTER TABLE actions DROP COLUMN pending;
CREATE INDEX actions_pending ON actions (status) WHERE status IN ('held', 'approved');
UPDATE actions SET salesforce_id = result_salesforce_id WHERE result_salesforce_id <> '';
ALTER TABLE actions DROP COLUMN result_salesforce_id;
