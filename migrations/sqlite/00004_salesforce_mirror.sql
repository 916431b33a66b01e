-- +goose Up
-- The Salesforce mirror (issue 13); see the PostgreSQL migration of this number.

CREATE TABLE mirror_state (
    id           INTEGER PRIMARY KEY CHECK (id = 1),
    org_id       TEXT    NOT NULL,
    fields       TEXT    NOT NULL,
    names        TEXT    NOT NULL,
    watermark    INTEGER NOT NULL,
    full_read_at INTEGER NOT NULL,
    updated_at   INTEGER NOT NULL
);

CREATE TABLE mirror_users (
    salesforce_id   TEXT    PRIMARY KEY,
    username        TEXT    NOT NULL,
    email           TEXT    NOT NULL,
    federation_id   TEXT    NOT NULL,
    is_active       INTEGER NOT NULL,
    user_type       TEXT    NOT NULL,
    profile_id      TEXT    NOT NULL,
    fields          TEXT    NOT NULL,
    system_modstamp INTEGER NOT NULL
) WITHOUT ROWID;

-- +goose Down
DROP TABLE mirror_users;
DROP TABLE mirror_state;
