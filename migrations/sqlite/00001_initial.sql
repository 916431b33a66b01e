-- +goose Up
-- Times are INTEGER microseconds since the Unix epoch (UTC), the precision PostgreSQL
-- keeps, so both backends return the same values and comparisons are numeric.

-- runs: one reconcile cycle each. Counts of actions by status are computed from the
-- actions table when read, so that approvals applied later show up in their run.
CREATE TABLE runs (
    id               INTEGER PRIMARY KEY AUTOINCREMENT,
    trigger          TEXT    NOT NULL,
    mode             TEXT    NOT NULL,
    status           TEXT    NOT NULL,
    error            TEXT    NOT NULL DEFAULT '',
    started_at       INTEGER NOT NULL,
    planned_at       INTEGER,
    finished_at      INTEGER,
    source_records   INTEGER NOT NULL DEFAULT 0,
    rejected_records INTEGER NOT NULL DEFAULT 0,
    salesforce_users INTEGER NOT NULL DEFAULT 0,
    unmanaged_users  INTEGER NOT NULL DEFAULT 0,
    disputed         INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX runs_started_at ON runs (started_at);

-- approvals: who released which held actions of a run, and when.
CREATE TABLE approvals (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    run_id      INTEGER NOT NULL REFERENCES runs (id) ON DELETE CASCADE,
    approved_by TEXT    NOT NULL,
    comment     TEXT    NOT NULL DEFAULT '',
    approved_at INTEGER NOT NULL,
    actions     INTEGER NOT NULL
);
CREATE INDEX approvals_run_id ON approvals (run_id);

-- actions: the journal, keyed by run and position in the plan.
CREATE TABLE actions (
    run_id          INTEGER NOT NULL REFERENCES runs (id) ON DELETE CASCADE,
    seq             INTEGER NOT NULL,
    kind            TEXT    NOT NULL,
    idp_id          TEXT    NOT NULL DEFAULT '',
    salesforce_id   TEXT    NOT NULL DEFAULT '',
    username        TEXT    NOT NULL DEFAULT '',
    email           TEXT    NOT NULL DEFAULT '',
    changes         TEXT    NOT NULL DEFAULT '[]',
    reason          TEXT    NOT NULL DEFAULT '',
    status          TEXT    NOT NULL,
    error_code      TEXT    NOT NULL DEFAULT '',
    error_message   TEXT    NOT NULL DEFAULT '',
    attempts        INTEGER NOT NULL DEFAULT 0,
    next_attempt_at INTEGER,
    updated_at      INTEGER NOT NULL,
    approval_id     INTEGER REFERENCES approvals (id) ON DELETE SET NULL,
    PRIMARY KEY (run_id, seq)
) WITHOUT ROWID;
-- Look-ups for `syncd explain KEY`.
CREATE INDEX actions_idp_id ON actions (idp_id);
CREATE INDEX actions_salesforce_id ON actions (salesforce_id);
CREATE INDEX actions_email ON actions (lower(email));
CREATE INDEX actions_username ON actions (lower(username));
-- Finding held and approved work without scanning the journal.
CREATE INDEX actions_pending ON actions (status) WHERE status IN ('held', 'approved');

-- links: what syncd owns.
CREATE TABLE links (
    idp_id        TEXT    PRIMARY KEY,
    salesforce_id TEXT    NOT NULL UNIQUE,
    origin        TEXT    NOT NULL,
    created_at    INTEGER NOT NULL,
    updated_at    INTEGER NOT NULL
) WITHOUT ROWID;

-- snapshots: the size and digest of each source pull, for the shrink gate.
CREATE TABLE snapshots (
    id           INTEGER PRIMARY KEY AUTOINCREMENT,
    taken_at     INTEGER NOT NULL,
    record_count INTEGER NOT NULL,
    digest       TEXT    NOT NULL,
    complete     INTEGER NOT NULL
);
CREATE INDEX snapshots_complete ON snapshots (id) WHERE complete;

-- +goose Down
DROP TABLE snapshots;
DROP TABLE links;
DROP TABLE actions;
DROP TABLE approvals;
DROP TABLE runs;
