-- +goose Up
-- The same table as the PostgreSQL migration of this number; see there. Times are
-- INTEGER microseconds since the Unix epoch.
CREATE TABLE transfers (
    run_id      INTEGER NOT NULL,
    seq         INTEGER NOT NULL,
    idp_id      TEXT    NOT NULL,
    object      TEXT    NOT NULL,
    record_id   TEXT    NOT NULL,
    from_id     TEXT    NOT NULL,
    to_id       TEXT    NOT NULL,
    created_at  INTEGER NOT NULL,
    returned_at INTEGER,
    PRIMARY KEY (run_id, seq, record_id)
) WITHOUT ROWID;
CREATE INDEX transfers_pending ON transfers (idp_id) WHERE returned_at IS NULL;

-- +goose Down
DROP TABLE transfers;
