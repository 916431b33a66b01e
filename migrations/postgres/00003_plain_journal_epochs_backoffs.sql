-- +goose Up
-- 1. The plain journal again. Migration 00002 bent the schema so that recording a
--    result could be a HOT update (result_salesforce_id beside salesforce_id, a
--    generated pending column, fillfactor 45) and saved about 3 ms per batch of
--    200 results, against a Salesforce Collections call of hundreds of
--    milliseconds for the same batch (docs/benchmarks-store.md). A cycle's time is
--    Salesforce's, so the store goes back to one column per fact: a result writes
--    the Salesforce Id it reports into salesforce_id, and held work is found by
--    status.
DROP INDEX actions_pending;
ALTER TABLE actions DROP COLUMN pending;
UPDATE actions SET salesforce_id = result_salesforce_id WHERE result_salesforce_id <> '';
ALTER TABLE actions DROP COLUMN result_salesforce_id;
ALTER TABLE actions RESET (fillfactor);
CREATE INDEX actions_pending ON actions (status) WHERE status IN ('held', 'approved');

-- 2. leader_epoch: one row, the current leader epoch. Taking the leader lock bumps
--    it; every leader write share-locks the row and checks its run's epoch against
--    it, so the bump waits for an old leader's write in flight and fences every
--    later one.
CREATE TABLE leader_epoch (
    id    INTEGER PRIMARY KEY CHECK (id = 1),
    epoch BIGINT  NOT NULL
);
INSERT INTO leader_epoch (id, epoch) VALUES (1, 0);
-- The epoch a run was started under; 0 for runs from before epochs.
ALTER TABLE runs ADD COLUMN epoch BIGINT NOT NULL DEFAULT 0;

-- 3. backoffs: per user and kind of write, when a write that failed may be tried
--    again.
CREATE TABLE backoffs (
    idp_id          TEXT        NOT NULL,
    kind            TEXT        NOT NULL,
    attempts        INTEGER     NOT NULL,
    error_code      TEXT        NOT NULL DEFAULT '',
    error_message   TEXT        NOT NULL DEFAULT '',
    next_attempt_at TIMESTAMPTZ NOT NULL,
    updated_at      TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (idp_id, kind)
);

-- +goose Down
DROP TABLE backoffs;
ALTER TABLE runs DROP COLUMN epoch;
DROP TABLE leader_epoch;
-- Back to the shape of 00002: a recorded Id stays in salesforce_id, which 00002's
-- readers fall back to when result_salesforce_id is empty.
DROP INDEX actions_pending;
ALTER TABLE actions ADD COLUMN result_salesforce_id TEXT NOT NULL DEFAULT '';
ALTER TABLE actions ADD COLUMN pending BOOLEAN GENERATED ALWAYS AS (status IN ('held', 'approved')) STORED;
CREATE INDEX actions_pending ON actions (pending) WHERE pending;
ALTER TABLE actions SET (fillfactor = 45);
