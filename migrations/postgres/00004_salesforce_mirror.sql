-- +goose Up
-- The Salesforce mirror (issue 13): what syncd last saw of each Salesforce user it
-- reads, so that a delta cycle plans against the mirror overlaid with the users
-- changed since the watermark instead of reading the whole org. A full read
-- replaces both tables; a delta read and syncd's own successful writes patch them.
--
-- The managed fields are stored, not hashed: the plan diffs against their values
-- and records each change's before and after, so a hash would say only that a user
-- changed and force a re-read of every such user, which is the read a delta cycle
-- exists to avoid. At about 1 KiB a user, 100,000 users are some 100 MB at most.

-- mirror_state: one row, what the mirror holds and how fresh it is.
CREATE TABLE mirror_state (
    id           INTEGER     PRIMARY KEY CHECK (id = 1),
    org_id       TEXT        NOT NULL,
    fields       TEXT        NOT NULL, -- JSON array of the managed field names, sorted
    names        TEXT        NOT NULL, -- JSON {"profiles": {name: Id}, "roles": {name: Id}}
    watermark    TIMESTAMPTZ NOT NULL, -- where the next delta read starts, less its overlap (Salesforce's clock)
    full_read_at TIMESTAMPTZ NOT NULL, -- when the last full read was taken (syncd's clock)
    updated_at   TIMESTAMPTZ NOT NULL
);

-- mirror_users: one row per Salesforce user, by its 18-character Id.
CREATE TABLE mirror_users (
    salesforce_id   TEXT        PRIMARY KEY,
    username        TEXT        NOT NULL,
    email           TEXT        NOT NULL,
    federation_id   TEXT        NOT NULL,
    is_active       BOOLEAN     NOT NULL,
    user_type       TEXT        NOT NULL,
    profile_id      TEXT        NOT NULL,
    fields          TEXT        NOT NULL, -- JSON object: managed field name -> value, "" for null
    system_modstamp TIMESTAMPTZ NOT NULL
);

-- +goose Down
DROP TABLE mirror_users;
DROP TABLE mirror_state;
