-- +goose Up
-- The same three changes as the PostgreSQL migration of this number; see there.

-- 1. The plain journal again: one column per fact.
DROP INDEX actions_pending;
ALTER TABLE actions DROP COLUMN pending;
UPDATE actions SET salesforce_id = result_salesforce_id WHERE result_salesforce_id <> '';
ALTER TABLE actions DROP COLUMN result_salesforce_id;
CREATE INDEX actions_pending ON actions (status) WHERE status IN ('held', 'approved');

-- 2. leader_epoch: one row, the current leader epoch. SQLite has one writer at a
--    time, so checking it inside a write transaction is enough to fence.
CREATE TABLE leader_epoch (
    id    INTEGER PRIMARY KEY CHECK (id = 1),
    epoch INTEGER NOT NULL
);
INSERT INTO leader_epoch (id, epoch) VALUES (1, 0);
ALTER TABLE runs ADD COLUMN epoch INTEGER NOT NULL DEFAULT 0;

-- 3. backoffs: per user and kind of write, when a failed write may be tried again.
CREATE TABLE backoffs (
    idp_id          TEXT    NOT NULL,
    kind            TEXT    NOT NULL,
    attempts        INTEGER NOT NULL,
    error_code      TEXT    NOT NULL DEFAULT '',
    error_message   TEXT    NOT NULL DEFAULT '',
    next_attempt_at INTEGER NOT NULL,
    updated_at      INTEGER NOT NULL,
    PRIMARY KEY (idp_id, kind)
) WITHOUT ROWID;

-- +goose Down
DROP TABLE backoffs;
ALTER TABLE runs DROP COLUMN epoch;
DROP TABLE leader_epoch;
DROP INDEX actions_pending;
ALTER TABLE actions ADD COLUMN result_salesforce_id TEXT NOT NULL DEFAULT '';
ALTER TABLE actions ADD COLUMN pending INTEGER GENERATED ALWAYS AS (status IN ('held', 'approved')) VIRTUAL;
CREATE INDEX actions_pending ON actions (status) WHERE pending;
