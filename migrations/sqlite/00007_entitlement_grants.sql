-- +goose Up
-- entitlement_grants: every assignment syncd made (a permission set, permission set
-- group or licence assignment, a public group or queue membership), so that it
-- removes only those and leaves what admins assigned by hand. A row is written
-- before the create is sent, so a crash in between leaves syncd owning what it made.
CREATE TABLE entitlement_grants (
    user_id        TEXT    NOT NULL,
    entitlement_id TEXT    NOT NULL,
    kind           TEXT    NOT NULL,
    idp_id         TEXT    NOT NULL DEFAULT '',
    created_at     INTEGER NOT NULL,
    PRIMARY KEY (user_id, entitlement_id)
) WITHOUT ROWID;

-- +goose Down
DROP TABLE entitlement_grants;
